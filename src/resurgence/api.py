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


def check(scenario: Scenario) -> None:
    """Check what a scenario needs beyond its own file, before any run starts: an insurgency
    scenario's theatre loads at its cell size (built once and cached, so the run that follows
    pays nothing more). A theatre that cannot be found, or that builds at its own cell size
    but not at the scenario's ``cell_km``, raises :class:`~resurgence.errors.ScenarioError`
    naming the scenario's key; a mistake inside a user's theatre files raises their own
    :class:`~resurgence.theatre.TheatreError`; a theatre whose identity groups are not the
    model's raises :class:`~resurgence.errors.ScenarioError` naming the theatre's ``groups``."""
    if scenario.model != "insurgency":
        return
    from resurgence.models.insurgency_state import theatre_groups
    from resurgence.theatre import TheatreError, load_theatre

    cfg = scenario.insurgency
    try:
        theatre_groups(load_theatre(cfg.theatre, cfg.cell_km), cfg)
    except TheatreError as exc:
        if exc.problems[0].key == "theatre":
            key, value, allowed = "insurgency.theatre", cfg.theatre, exc.problems[0].allowed
        else:
            try:
                load_theatre(cfg.theatre)  # at its own cell size: is it the scenario's?
            except TheatreError:
                raise exc from None  # a mistake in the theatre's files: they are named
            key, value = "insurgency.cell_km", cfg.cell_km
            allowed = (f"the theatre {cfg.theatre!r} cannot be built at this cell size: "
                       f"{exc.message}")
        raise ScenarioError(scenario.source, [Problem(key, value, allowed)]) from None


__all__ = ["check", "simulate", "simulate_governorates", "summarise"]
