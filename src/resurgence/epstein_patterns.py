"""A demonstration pattern set for Epstein's Model I, for the likelihood-free inference.

Epstein (2002) reports no numbers a run must reproduce at Run 2's settings, only shapes
(punctuated outbursts), so these ranges are not observations: they are drawn around what the
model itself does at Run 2's settings (legitimacy 0.82) over a short run, each a factor of
about 1.5 wide, so that ``resurgence calibrate --priors`` can be tried and tested in seconds
on the classic model. Inferring legitimacy from them recovers the settings they were drawn
from; that is all they show.
"""

from __future__ import annotations

import pandas as pd

from resurgence.patterns import Pattern

#: ticks left out of the means below (the opening outburst)
BURN_IN = 10


def _citizens(df: pd.DataFrame) -> pd.Series:
    return (df["quiet"] + df["active"] + df["jailed"]).clip(lower=1)


def active_share(df: pd.DataFrame) -> float:
    """Mean share of citizens active from tick BURN_IN on."""
    return float((df["active"] / _citizens(df)).iloc[BURN_IN:].mean())


def jailed_share(df: pd.DataFrame) -> float:
    """Mean share of citizens jailed from tick BURN_IN on."""
    return float((df["jailed"] / _citizens(df)).iloc[BURN_IN:].mean())


_SOURCE = ("demonstration range around the model's own Run 2 (legitimacy 0.82, 40x40, "
           "60 ticks): not an observation")

EPSTEIN_RUN_2: tuple[Pattern, ...] = (
    Pattern("mean active share", 0.025, 0.05, active_share, _SOURCE),
    Pattern("mean jailed share", 0.15, 0.3, jailed_share, _SOURCE),
)

#: the demonstration sets, by the name a priors file gives
EPSTEIN_SETS: dict[str, tuple[Pattern, ...]] = {"epstein-run-2-demo": EPSTEIN_RUN_2}
