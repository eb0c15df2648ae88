"""The out-of-sample check of issue 25: what runs fitted to 2003-2012 foretell of 2013-2020,
against the record.

Each :class:`Quantity` reduces one run (a frame with dates) to a number; :func:`check` takes
the runs of posterior draws (``resurgence run iraq-2003-2020 --posterior
posteriors/iraq-until-2012.parquet --draws N``) and gives, per quantity, the predictive
distribution (median, 5% and 95% quantiles) beside what was observed, and whether the
observation falls inside the central 90% interval. The observations are the territorial and
membership record of ``shared/data`` (the sources of :mod:`resurgence.patterns`); none is a
yearly or monthly count of civilian deaths or incidents (those series are kept back).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from resurgence.compare import proportion_interval

#: ground held in some week that counts as taking territory: a tenth of the reported peak
TAKES_GROUND_KM2 = 10_000.0


@dataclass(frozen=True)
class Quantity:
    name: str
    measure: Callable[[pd.DataFrame], float]
    low: float    # the record: a value (low == high) or a range
    high: float
    source: str
    share: bool = False  # a yes/no per run: reported as the share of runs (Wilson interval)


def _dates(df: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(df["date"])


def _window(df: pd.DataFrame, col: str, start: str, end: str, how: str) -> float:
    d = _dates(df)
    sel = df.loc[(d >= pd.Timestamp(start)) & (d < pd.Timestamp(end)), col]
    return float(getattr(sel, how)()) if len(sel) else float("nan")


def _takes_ground(df: pd.DataFrame) -> float:
    return float(_window(df, "territory_km2", "2013-01-01", "2015-01-01", "max")
                 >= TAKES_GROUND_KM2)


def _peak_year(df: pd.DataFrame) -> float:
    km2 = df["territory_km2"].to_numpy()
    return float(_dates(df).iloc[int(np.argmax(km2))].year) if km2.max() > 0 else float("nan")


def _share_of_peak(start: str, end: str) -> Callable[[pd.DataFrame], float]:
    def measure(df: pd.DataFrame) -> float:
        peak = float(df["territory_km2"].max())
        return _window(df, "territory_km2", start, end, "mean") / peak if peak > 0 else \
            float("nan")
    return measure


RECORD: tuple[Quantity, ...] = (
    Quantity("takes ground in 2013-14 (share of runs)", _takes_ground, 1.0, 1.0,
             "timeline.csv: Fallujah (January 2014) and Mosul (June 2014) fall; a run takes "
             f"ground if it holds {TAKES_GROUND_KM2:,.0f} km2 in some week of 2013-14",
             share=True),
    Quantity("peak territory, km2", lambda df: float(df["territory_km2"].max()), 25_000.0,
             120_000.0, "territory.csv: 90,800 km2 in Iraq and Syria (Jan 2015); about a "
             "third of Iraq (the range of the pattern of resurgence.patterns)"),
    Quantity("year of peak territory", _peak_year, 2014.0, 2015.0,
             "territory.csv: the peak of the IHS series, January 2015 (in Iraq, late 2014)"),
    Quantity("share of the peak held, June 2016", _share_of_peak("2016-06-07", "2016-06-28"),
             0.27, 0.8, "Iraq alone: 0.53 (47% lost, McGurk, 28 June 2016), a factor of 2 "
             "below and 1.5 above, as the pattern"),
    Quantity("share of the peak held, July 2017", _share_of_peak("2017-07-15", "2017-08-05"),
             0.11, 0.33, "Iraq alone: 0.22 (78% lost, McGurk, 4 August 2017), a factor of 2 "
             "below and 1.5 above, as the pattern"),
    Quantity("share of the peak held, December 2017",
             _share_of_peak("2017-12-01", "2018-01-01"), 0.0, 0.02,
             "SOURCES.md: 98% of claimed land lost by the end of 2017"),
    Quantity("members, August 2018",
             lambda df: _window(df, "members", "2018-07-01", "2018-09-01", "mean"), 20_000.0,
             30_000.0, "fighters.csv: 20,000-30,000 members incl. clandestine, Iraq and Syria "
             "(UN, 2018)"),
)


def check(runs: Sequence[pd.DataFrame], record: Sequence[Quantity] = RECORD) -> pd.DataFrame:
    """One row per quantity: the record (``low``, ``high``), the draws' median, 5% and 95%
    quantiles (NaN values left out; ``runs``: how many runs measured it), ``inside``: whether
    the record meets the central 90% interval (a range: overlaps it), and ``in_record``: the
    share of runs whose value lies in the record's range (a wide interval can hold the record
    while few runs do). For the share of runs that take ground, ``median`` is the share and
    the interval a 90% Wilson interval.
    """
    rows = []
    for q in record:
        values = np.array([q.measure(df) for df in runs], float)
        values = values[np.isfinite(values)]
        row = {"quantity": q.name, "low": q.low, "high": q.high, "runs": len(values)}
        if len(values) == 0:
            row.update(median=np.nan, q05=np.nan, q95=np.nan, inside=False)
        elif q.share:
            share, lo, hi = proportion_interval(int(values.sum()), len(values), level=0.9)
            row.update(median=share, q05=lo, q95=hi, inside=bool(lo <= q.high and q.low <= hi))
        else:
            lo, mid, hi = np.quantile(values, [0.05, 0.5, 0.95])
            row.update(median=float(mid), q05=float(lo), q95=float(hi),
                       inside=bool(lo <= q.high and q.low <= hi))
        row["in_record"] = float(((values >= q.low) & (values <= q.high)).mean()) \
            if len(values) else np.nan
        row["source"] = q.source
        rows.append(row)
    return pd.DataFrame(rows)

