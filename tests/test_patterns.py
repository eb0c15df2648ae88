"""The Iraq patterns measure what their sources report (resurgence.patterns.IRAQ)."""

import numpy as np
import pandas as pd
import pytest

from resurgence import patterns


def _territory(points: dict[str, float]) -> pd.DataFrame:
    """A weekly 2003-2020 frame whose territory follows ``points`` (date -> km²), linearly
    between them."""
    dates = pd.date_range("2003-03-20", "2020-12-31", freq="7D")
    t = pd.to_datetime(list(points)).astype("int64")
    km2 = np.interp(dates.astype("int64"), t, list(points.values()))
    return pd.DataFrame({"date": dates, "territory_km2": km2})


def _pattern(name: str) -> patterns.Pattern:
    return next(p for p in patterns.IRAQ if p.name == name)


# the decline reported for Iraq alone: the peak in autumn 2014, 53% left in June 2016 (McGurk,
# 28 June 2016), 22% at the start of August 2017 (McGurk, 4 August 2017), none in 2018
IRAQ_DECLINE = {"2013-01-01": 0.0, "2014-09-01": 100_000.0, "2014-11-01": 100_000.0,
                "2016-06-01": 53_000.0, "2016-07-01": 53_000.0, "2017-07-10": 22_000.0,
                "2017-08-10": 22_000.0, "2017-12-01": 0.0, "2020-12-31": 0.0}


@pytest.mark.parametrize(("name", "expected"), [("territory Jun 2016 / peak", 0.53),
                                                ("territory Jul 2017 / peak", 0.22)])
def test_the_reported_decline_of_iraq_holds_both_territories(name, expected):
    df = _territory(IRAQ_DECLINE)
    pattern = _pattern(name)
    assert pattern.value(df) == pytest.approx(expected, abs=1e-9)
    assert pattern.distance(df) == 0.0


def test_a_decline_that_holds_its_peak_to_mid_2016_and_then_collapses_misses_both():
    """The kept point's shape (docs/calibration.md): 85% of the peak in June 2016, 8% in late
    July 2017. Both territories miss, each by its log distance to the nearer end."""
    late = {"2013-01-01": 0.0, "2014-09-01": 100_000.0, "2014-11-01": 100_000.0,
            "2016-06-01": 85_000.0, "2016-07-01": 85_000.0, "2017-07-10": 8_000.0,
            "2017-08-10": 8_000.0, "2017-12-01": 0.0, "2020-12-31": 0.0}
    df = _territory(late)
    june, july = _pattern("territory Jun 2016 / peak"), _pattern("territory Jul 2017 / peak")
    assert june.distance(df) == pytest.approx(np.log10(0.85 / june.hi))
    assert july.distance(df) == pytest.approx(np.log10(july.lo / 0.08))


def _random_run(seed: int) -> pd.DataFrame:
    """A weekly 2003-2020 frame of random, positive observables with every column a pattern
    reads (its peaks fall anywhere), so that a pattern that reads past its ``ends`` is
    caught."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2003-03-20", "2020-12-31", freq="7D")
    cols = ("casualties_civilian", "casualties_collateral", "territory_km2",
            "fighters_territorial", "fighters_desert", "members", "income", "income_oil",
            "foreign_inflow", "held_people", "detained", "captives")
    return pd.DataFrame({"date": dates, **{c: rng.gamma(0.5, 1_000.0, dates.size)
                                           for c in cols}})


@pytest.mark.parametrize("pattern", [*patterns.IRAQ, *patterns.IRAQ_UNTIL_2012],
                         ids=lambda p: p.name)
def test_a_pattern_reads_no_date_from_its_ends_on(pattern):
    """Each pattern's ``ends`` is honest: a run cut there gives the same value, on random
    runs whose later weeks differ (the out-of-sample fit relies on it: no pattern of
    ``IRAQ_UNTIL_2012`` may read 2013 or later)."""
    assert pattern.ends  # every Iraq pattern says which dates it reads
    for seed in range(5):
        df = _random_run(seed)
        cut = df[df["date"] < pd.Timestamp(pattern.ends)]
        assert pattern.value(cut) == pattern.value(df)
    if pattern in patterns.IRAQ_UNTIL_2012:
        assert pattern.ends <= "2013-01-01"


def test_a_pattern_that_reads_past_its_ends_is_caught():
    """The check above can fail: the full set's 'territory 2009-12 / peak' divides by the peak
    of the whole run, so it would not do as a pattern of 2003-2012."""
    whole = next(p for p in patterns.IRAQ if p.name == "territory 2009-12 / peak")
    df = _random_run(0)
    cut = df[df["date"] < pd.Timestamp("2013-01-01")]
    assert whole.value(cut) != whole.value(df)
    assert patterns.horizon(patterns.IRAQ_UNTIL_2012) == "2013-01-01"
    assert patterns.horizon(patterns.IRAQ) == "2021-01-01"
