"""The Iraq history at 5 km cells against 10 km cells (the calibrated resolution).

Control is decided over blocks of about ``control_km2`` (one 10 km cell, 2 x 2 cells at 5 km),
so that finer cells do not need more fighters for the same ground; the sympathiser share,
ground combat and attack prevention are read over the same blocks, and so are the population
density that sets collateral deaths and the battle deaths that displace residents; towns are a
density, and the desert fighters' walk spreads ``desert_spread_km2`` a week whatever the cell
size. Ensemble: seed 1 at each resolution, to January 2016 (the territorial peak). Tolerance:
peak territory and peak field fighters within a factor of 1.5 of each other. The opposites:
with one cell per block at 5 km (``control_km2 = 25``) every 25 km2 cell needs its own
fighter, and the peak territory falls below 1/1.5 of the 10 km run's (the opposite of the test
the blocks pass); with a fixed chance to move at each step of the desert walk (half the spread
at 5 km: ``desert_spread_km2 = 60``) the 5 km run holds markedly less ground than with the walk
that spreads alike. The point is scored at both resolutions, and the 5 km run loses its ground
by the end of 2017 as the 10 km one does. The values measured at each calibrated point are in
docs/calibration.md (Resolution).
"""

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
    """The disabled mechanism: with one 25 km2 cell per block the 5 km run's peak ground falls
    outside the tolerance the blocks meet (under 1/1.5 of the 10 km run's)."""
    assert peaks.loc["territory_km2", "5 km, cell blocks"] < peaks.loc["territory_km2",
                                                                       "10 km"] / 1.5


def test_with_a_fixed_step_chance_finer_cells_hold_less(peaks):
    """The old walk: a fixed chance to move each step spreads the 5 km desert fighters half as
    far, and the 5 km run holds under 0.92 of the ground it holds with the walk that spreads
    alike."""
    ground = peaks.loc["territory_km2"]
    assert ground["5 km, fixed step chance"] < 0.92 * ground["5 km"]


def test_finer_cells_lose_the_ground_by_the_end_of_2017():
    """SOURCES.md: 98% of the claimed land was lost by the end of 2017. At 5 km the group keeps
    under a tenth of its peak ground in December 2017, as at 10 km (a point fitted at 10 km
    only kept 0.11-0.16 of its peak at 5 km)."""
    df = _history(5.0, "2018-01-01")
    dec = df["territory_km2"][pd.to_datetime(df["date"]) >= "2017-12-01"].mean()
    assert dec < 0.1 * df["territory_km2"].max()
