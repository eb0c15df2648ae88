"""The Python API: load a scenario, simulate it, get a tidy DataFrame."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from resurgence.analysis import summarise
from resurgence.errors import Problem, ScenarioError
from resurgence.models import epstein, insurgency
from resurgence.scenario import Scenario

_MODELS: dict[str, Callable[..., pd.DataFrame]] = {
    "epstein": epstein.simulate,
    "insurgency": insurgency.simulate,
}


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    ticks: int | None = None,
    on_tick: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Run ``scenario`` once with ``seed`` (default: the scenario's) for ``ticks`` (default: the
    scenario's); one row per tick, tick 0 being the initial state. Insurgency runs also have a
    ``date`` column (see :func:`resurgence.models.insurgency.simulate`)."""
    return _MODELS[scenario.model](scenario, seed=seed, ticks=ticks, on_tick=on_tick)


def simulate_governorates(
    scenario: Scenario,
    seed: int | None = None,
    ticks: int | None = None,
    on_tick: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Run an insurgency scenario once; one row per tick and governorate (tidy, long:
    territory, fighters, sleepers, attacks, civilian casualties, sympathisers, legitimacy per
    group; see :meth:`resurgence.models.insurgency.InsurgencyRun.governorate_frame`).
    Epstein's model has no governorates: its scenarios raise
    :class:`~resurgence.errors.ScenarioError`."""
    if scenario.model != "insurgency":
        raise ScenarioError(scenario.source or "scenario", [Problem(
            "model", scenario.model, "only the insurgency model has governorates")])
    return insurgency.run_once(scenario, seed, ticks, on_tick).governorate_frame()


__all__ = ["simulate", "simulate_governorates", "summarise"]
