"""The out-of-sample check (resurgence.forecast): predictive intervals against the record."""

import numpy as np
import pandas as pd

from resurgence import forecast

# the record's path: ground taken in 2014, the peak in late 2014, 53% left in June 2016, 22% in
# August 2017, none at the end of 2017
RECORD_PATH = {"2003-03-20": 0.0, "2013-06-01": 0.0, "2014-09-01": 100_000.0,
               "2014-11-01": 100_000.0, "2016-06-01": 53_000.0, "2016-07-01": 53_000.0,
               "2017-07-10": 22_000.0, "2017-08-10": 22_000.0, "2017-12-01": 0.0,
               "2020-12-31": 0.0}


def _run(path: dict[str, float], members: float, scale: float = 1.0) -> pd.DataFrame:
    dates = pd.date_range("2003-03-20", "2020-12-31", freq="7D")
    t = pd.to_datetime(list(path)).astype("int64")
    km2 = np.interp(dates.astype("int64"), t, list(path.values())) * scale
    return pd.DataFrame({"date": dates, "territory_km2": km2,
                         "members": np.full(dates.size, members)})


def test_runs_that_follow_the_record_hold_it_inside_every_interval():
    runs = [_run(RECORD_PATH, m, s) for m, s in ((22_000, 0.9), (25_000, 1.0), (28_000, 1.1))]
    table = forecast.check(runs).set_index("quantity")
    assert table["inside"].all(), table[["median", "q05", "q95", "low", "high"]]
    assert table.loc["takes ground in 2013-14 (share of runs)", "median"] == 1.0
    assert table.loc["share of the peak held, June 2016", "median"] == np.float64(0.53)
    assert (table["in_record"] == 1.0).all()


def test_runs_that_never_take_ground_miss_the_return():
    """The check can fail: runs that stay below 10,000 km2 (the lever audit's reported prison
    break) put the 2013-14 return, the peak and the later shares outside their intervals."""
    flat = {"2003-03-20": 0.0, "2014-06-01": 500.0, "2020-12-31": 0.0}
    table = forecast.check([_run(flat, 500.0) for _ in range(8)]).set_index("quantity")
    ground = table.loc["takes ground in 2013-14 (share of runs)"]
    assert ground["median"] == 0.0 and ground["q95"] < 0.3 and not ground["inside"]
    assert not table.loc["peak territory, km2", "inside"]
    assert not table.loc["members, August 2018", "inside"]
    assert table.loc["peak territory, km2", "in_record"] == 0.0
