"""Outcomes: named reductions of a run's per-tick frame to one number each.

Named outcomes (after ``burn_in``): ``mean_active_share``, ``mean_jailed_share``,
``final_active_share``, ``peak_active``, ``peak_active_share``, ``outbursts`` (spells with more
than ``outburst_threshold`` actives, Epstein 2002), ``mean_wait`` (ticks between outbursts),
``total_arrests``, and for Model II ``elimination_tick`` (first tick a group is gone) and
``killed``. Any frame column also reduces as ``<stat>_<column>`` with stat one of mean, max,
min, final, sum, std (``max_jailed``, ``sum_arrests``, ``mean_blue_active``). A value that
does not exist for a run (a wait with fewer than two outbursts, a Model II outcome of a Model I
run) is NaN.

Insurgency runs have the headline outcomes of :func:`resurgence.analysis.summarise` (whole run,
``burn_in`` not applied): ``peak_territory_km2``, ``resurgence`` (1 if the group regained
territory after losing 60% of its peak, else 0), ``years_to_regain``,
``casualties_cumulative``, ``casualties_since`` (from the experiment's ``outcomes.after`` on;
the whole run without it), ``territory_end_km2``, ``members_end``, ``sympathisers_end``; and
``<stat>_<column>`` over any column of the insurgency frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from resurgence.analysis import elimination_tick, outbursts, waiting_times

#: the frame columns of :func:`resurgence.simulate` (Model I, then what Model II adds)
COLUMNS_I = ("tick", "quiet", "active", "jailed", "cops", "arrests")
COLUMNS_II = tuple(f"{g}_{s}" for g in ("blue", "green") for s in ("quiet", "active", "jailed")
                   ) + ("killed_blue", "killed_green", "born", "aged_out")
STATS: dict[str, Callable[[pd.Series], float]] = {
    "mean": lambda s: float(s.mean()),
    "max": lambda s: float(s.max()),
    "min": lambda s: float(s.min()),
    "final": lambda s: float(s.iloc[-1]),
    "sum": lambda s: float(s.sum()),
    "std": lambda s: float(s.std(ddof=0)),
}


def _citizens(df: pd.DataFrame) -> pd.Series:
    return (df.quiet + df.active + df.jailed).clip(lower=1)


def _spells(df: pd.DataFrame, threshold: int) -> list:
    return outbursts(df.active.to_numpy(), threshold)


def _mean_wait(df: pd.DataFrame, threshold: int) -> float:
    waits = waiting_times(_spells(df, threshold))
    return float(waits.mean()) if len(waits) else np.nan


def _elimination(df: pd.DataFrame, _threshold: int) -> float:
    if "blue_quiet" not in df:
        return np.nan
    tick = elimination_tick(df)
    return np.nan if tick is None else float(tick)


def _killed(df: pd.DataFrame, _threshold: int) -> float:
    if "killed_blue" not in df:
        return np.nan
    return float(df.killed_blue.sum() + df.killed_green.sum())


#: name -> (reduction of the frame after burn-in, given the outburst threshold)
NAMED: dict[str, Callable[[pd.DataFrame, int], float]] = {
    "mean_active_share": lambda df, _t: float((df.active / _citizens(df)).mean()),
    "mean_jailed_share": lambda df, _t: float((df.jailed / _citizens(df)).mean()),
    "final_active_share": lambda df, _t: float((df.active / _citizens(df)).iloc[-1]),
    "peak_active": lambda df, _t: float(df.active.max()),
    "peak_active_share": lambda df, _t: float((df.active / _citizens(df)).max()),
    "outbursts": lambda df, t: float(len(_spells(df, t))),
    "mean_wait": _mean_wait,
    "total_arrests": lambda df, _t: float(df.arrests.sum()),
    "elimination_tick": _elimination,
    "killed": _killed,
}


#: headline outcomes of an insurgency run (resurgence.analysis.summarise), numeric ones
INSURGENCY_SUMMARY = ("peak_territory_km2", "resurgence", "years_to_regain",
                      "casualties_cumulative", "casualties_since", "territory_end_km2",
                      "members_end", "sympathisers_end")
DEFAULTS = {"epstein": ["mean_active_share", "peak_active", "outbursts"],
            "insurgency": ["resurgence", "peak_territory_km2", "casualties_cumulative",
                           "members_end"]}


def check_outcome(name: str, model: str = "epstein") -> str | None:
    """None if ``name`` is an outcome of ``model``'s runs, else what is allowed."""
    stat, _, column = name.partition("_")
    if model == "epstein":
        if name in NAMED or (stat in STATS and column in COLUMNS_I + COLUMNS_II):
            return None
        return ("unknown outcome (allowed: " + ", ".join(NAMED) + "; or <stat>_<column> with "
                "stat in " + ", ".join(STATS) + " and column in "
                + ", ".join(COLUMNS_I + COLUMNS_II) + ")")
    if name in INSURGENCY_SUMMARY or (stat in STATS and column.isidentifier()
                                      and name not in NAMED):
        return None
    epstein = " (an outcome of Epstein's model)" if name in NAMED else ""
    return (f"unknown outcome of an insurgency run{epstein} (allowed: "
            + ", ".join(INSURGENCY_SUMMARY)
            + "; or <stat>_<column> with stat in " + ", ".join(STATS)
            + " and a column of the run's frame, e.g. max_territory_km2)")


def reduce(df: pd.DataFrame, names: list[str], burn_in: int = 0,
           outburst_threshold: int = 50, summary: dict[str, Any] | None = None
           ) -> dict[str, float]:
    """The named outcomes of one run's frame, over ticks ``>= burn_in``; names found in
    ``summary`` (a model's headline outcomes) are taken from it. O(ticks)."""
    body = df[df.tick >= burn_in]
    out: dict[str, float] = {}
    for name in names:
        if summary is not None and name in summary:
            value = summary[name]
            out[name] = np.nan if value is None else float(value)
        elif len(body) == 0:
            out[name] = np.nan
        elif name in NAMED:
            out[name] = NAMED[name](body, outburst_threshold)
        else:
            stat, _, column = name.partition("_")
            out[name] = STATS[stat](body[column]) if column in body else np.nan
    return out
