"""Statistics of runs, one module per model: :mod:`~resurgence.analysis.epstein` (outbursts,
waiting times, elimination) and :mod:`~resurgence.analysis.insurgency` (territory lost and
regained). :func:`summarise` gives the headline outcomes of one run of either model."""

from __future__ import annotations

from typing import Any

import pandas as pd

from resurgence.analysis import epstein, insurgency
from resurgence.analysis.epstein import Outburst, elimination_tick, outbursts, waiting_times
from resurgence.scenario import Scenario


def summarise(scenario: Scenario, df: pd.DataFrame, after: str | None = None) -> dict[str, Any]:
    """Headline outcomes of one run of ``scenario`` (one seed), by its model: outbursts and
    shares for Epstein's; territory loss, resurgence, casualties and members for the insurgency
    (``after``: count resurgence only after this date, e.g. a policy branch)."""
    if scenario.model == "insurgency":
        return {"seed": int(df.seed.iloc[0]), **insurgency.summarise(df, after=after)}
    return epstein.summarise(df)


__all__ = ["Outburst", "elimination_tick", "outbursts", "summarise", "waiting_times"]
