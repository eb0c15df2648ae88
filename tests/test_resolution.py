"""The Iraq history at 5 km cells against 10 km cells (the calibrated resolution).

Control is decided over blocks of about ``control_km2`` (one 10 km cell, 2 x 2 cells at 5 km),
so that finer cells do not need more fighters for the same ground; the sympathiser share,
ground combat and attack prevention are read over the same blocks, and so are the population
density that sets collateral deaths and the battle deaths that displace residents; towns are a
density, and the desert fighters' walk spreads ``desert_spread_km2`` a week whatever the cell
size. Ensemble: seed 1 at each resolution, to January 2016 (the territorial peak). Tolerance:
peak territory and peak field
fighters within a factor of 1.5 of each other (seed 1: 0.83 and 0.96; seeds 1-3: 0.83-0.95
and 0.96-1.02, docs/calibration.md). The opposites: with one cell per block at 5 km
(``control_km2 = 25``) every 25 km2 cell needs its own fighter, and the peak territory was
4,400-5,100 km2 against 36-42k at 10 km (seeds 1-2; now 1,600 against 134,100, seed 1); with
the walk's old fixed chance to move (0.3 a step, half the spread at 5 km:
``desert_spread_km2 = 60``) the 5 km run holds 0.88 of the ground it holds with the walk that
spreads alike (seed 1: 98,575 against 111,925 km2; seeds 2-3: 0.95, 0.84; at round 22's point
0.79)."""

from __future__ import annotations

import pandas as pd
import pytest

from resurgence.models import insurgency as model
from resurgence.scenario import Scenario
from resurgence.scenario.catalog import resolve


def _history(cell_km: float, end: str, **ins: float) -> pd.DataFrame:
    data = resolve("iraq-2003-2020").model_dump()
    data["end"] = end
    del data["ticks"]  # the dumped ticks would win over the new end
    data["insurgency"].update(cell_km=cell_km, **ins)
    return model.simulate(Scenario.from_dict(data), seed=1)


def _peak(cell_km: float, **ins: float) -> tuple[float, float]:
    df = _history(cell_km, "2016-01-01", **ins)
    fighters = df["fighters_territorial"] + df["fighters_desert"]
    return float(df["territory_km2"].max()), float(fighters.max())


@pytest.fixture(scope="module")
def peaks() -> pd.DataFrame:
    return pd.DataFrame({"10 km": _peak(10.0), "5 km": _peak(5.0),
                         "5 km, cell blocks": _peak(5.0, control_km2=25.0),
                         "5 km, fixed step chance": _peak(5.0, desert_spread_km2=60.0)},
                        index=["territory_km2", "field_fighters"])


def test_finer_cells_hold_about_the_same_ground(peaks):
    ratio = peaks["5 km"] / peaks["10 km"]
    assert ((ratio > 1 / 1.5) & (ratio < 1.5)).all(), peaks.to_dict()


def test_without_blocks_finer_cells_hold_far_less(peaks):
    """The disabled mechanism: one 25 km2 cell per block at 5 km holds under half the ground."""
    assert peaks.loc["territory_km2", "5 km, cell blocks"] < 0.5 * peaks.loc["territory_km2",
                                                                                "10 km"]


def test_with_a_fixed_step_chance_finer_cells_hold_less(peaks):
    """The old walk: a fixed chance to move each step spreads the 5 km desert fighters half as
    far, and the 5 km run holds under 0.92 of the ground it holds with the walk that spreads
    alike (seed 1: 0.88; 0.74 of the 10 km ground against 0.83)."""
    ground = peaks.loc["territory_km2"]
    assert ground["5 km, fixed step chance"] < 0.92 * ground["5 km"]


@pytest.mark.xfail(reason="at 5 km the group keeps 0.11-0.15 of its peak ground in December "
                   "2017 (seeds 1-4; 10 km: 0.08-0.10), and up to 0.09-0.14 in 2018-20; "
                   "15-16 of the 18 patterns hold in each run (docs/calibration.md)",
                   strict=False)
def test_finer_cells_lose_the_ground_by_the_end_of_2017():
    df = _history(5.0, "2018-01-01")
    dec = df["territory_km2"][pd.to_datetime(df["date"]) >= "2017-12-01"].mean()
    assert dec < 0.1 * df["territory_km2"].max()
