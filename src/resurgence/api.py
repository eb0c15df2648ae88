"""The Python API: load a scenario, simulate it, get a tidy DataFrame."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from resurgence.models import epstein
from resurgence.scenario import Scenario

_MODELS = {"epstein": epstein.simulate}


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    ticks: int | None = None,
    on_tick: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Run ``scenario`` once with ``seed`` (default: the scenario's) for ``ticks`` (default: the
    scenario's); one row per tick, tick 0 being the initial state."""
    return _MODELS[scenario.model](scenario, seed=seed, ticks=ticks, on_tick=on_tick)
