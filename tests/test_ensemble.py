"""Ensemble (DESIGN §4): the seeds of a scenario, run here or in worker processes, with
observers that watch every tick; the same runs, bit for bit, as simulate()."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

import resurgence
from resurgence import Ensemble, Scenario, simulate
from resurgence.experiments.ensemble import GovernorateSeries
from resurgence.viz.snapshots import map_recorder

SMALL = {"name": "small", "ticks": 40, "seed": 5, "grid": {"width": 20, "height": 20},
         "epstein": {"citizen_vision": 2, "cop_vision": 2, "legitimacy": 0.7}}


class Ticks:
    """Records the tick and the number of cells showing an active citizen, every time it is
    told to look."""

    def __init__(self, run: object, code: int):
        self.run, self.code, self.seen = run, code, []

    def observe(self) -> None:
        r = self.run
        self.seen.append((r.tick, int((r.cell_states() == self.code).sum())))

    def result(self) -> list[tuple[int, int]]:
        return self.seen


def test_members_are_simulate_bit_for_bit_and_observers_see_every_tick():
    from resurgence.models.epstein import ACTIVE_CELL

    scenario = Scenario.from_dict(SMALL)
    ens = Ensemble(scenario, seeds=2)
    assert ens.seeds == [5, 6]
    plain = ens.run()
    watched = ens.run({"ticks": functools.partial(Ticks, code=ACTIVE_CELL)})
    for m, w in zip(plain.members, watched.members, strict=True):
        expected = simulate(scenario, seed=m.seed)
        pd.testing.assert_frame_equal(m.frame, expected)
        pd.testing.assert_frame_equal(w.frame, expected)  # stepping tick by tick: the same
        seen = w.observed["ticks"]
        assert [t for t, _ in seen] == list(range(41))  # after the setup and every tick
        assert [a for _, a in seen] == expected.active.tolist()  # it saw each tick's state
    tidy = plain.frame()
    assert len(tidy) == 82 and tidy.seed.tolist() == [5] * 41 + [6] * 41


def test_worker_processes_give_the_same_members_in_seed_order():
    scenario = Scenario.from_dict(SMALL)
    here = Ensemble(scenario, seeds=[9, 3, 4]).run()
    ticks: list[int] = []
    there = Ensemble(scenario, seeds=[9, 3, 4]).run(workers=2, on_tick=ticks.append)
    assert [m.seed for m in there.members] == [9, 3, 4]
    for a, b in zip(here.members, there.members, strict=True):
        pd.testing.assert_frame_equal(a.frame, b.frame)
    assert len(ticks) == 3 * 40


def test_an_insurgency_member_keeps_its_maps_and_governorates_without_changing_the_run():
    scenario = Scenario.from_dict({
        "model": "insurgency", "start": "2013-01-01", "end": "2013-12-31", "seed": 2,
        "insurgency": {"cell_km": 50, "people_per_agent": 2000, "vision": 50,
                       "posture_km": 100, "speed_km": 50, "initial_fighters": 6000},
        "levers": {"inclusion_sunni_arab": 0.0, "ground_forces": 0.05}})
    member = Ensemble(scenario, [2]).run(
        {"maps": map_recorder(scenario), "governorates": GovernorateSeries}).members[0]
    pd.testing.assert_frame_equal(member.frame, simulate(scenario, seed=2))
    snaps = member.observed["maps"]
    assert snaps.ticks[0] == 0 and snaps.ticks[-1] == scenario.ticks
    gov = member.observed["governorates"]
    weekly = gov.groupby("tick").territory_km2.sum().to_numpy()
    assert np.allclose(weekly, member.frame.territory_km2.to_numpy())


def test_ensemble_is_part_of_the_top_level_api_and_loads_when_asked():
    """``from resurgence import Ensemble`` (DESIGN §4) is the experiments' class, imported only
    when first asked for; an unknown name is still an AttributeError."""
    import subprocess
    import sys

    from resurgence.experiments.ensemble import Ensemble as Inner

    assert resurgence.Ensemble is Inner is Ensemble
    probe = ("import sys, resurgence; print('resurgence.experiments.ensemble' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
    try:
        resurgence.Ensembel  # noqa: B018
    except AttributeError as exc:
        assert "Ensembel" in str(exc)
    else:
        raise AssertionError("an unknown attribute must raise")
