"""The insurgency model's mechanisms, one at a time, on a small synthetic theatre.

The theatre (``toy_theatre``) has the attribute names of :class:`resurgence.theatre.Theatre`:
a desert in the west, a river valley and two cities in the east, two governorates (a Sunni Arab
north, a Shia Arab south), an oil field and a border crossing in the desert.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from numba import njit

from resurgence import Scenario, simulate, simulate_governorates
from resurgence.analysis import insurgency as analysis
from resurgence.engine.counter_rng import counter_uniform, stream_key
from resurgence.engine.grid import neighbour_table
from resurgence.errors import ScenarioError
from resurgence.models import insurgency as model
from resurgence.models import insurgency_rules as rules
from resurgence.models.insurgency_state import (
    Census,
    Citizens,
    Insurgents,
    RoleCounts,
    desert_stay,
)
from resurgence.scenario.catalog import bundled

H, W = 16, 24


def toy_theatre(cell_km: float = 20.0) -> SimpleNamespace:
    terrain = np.full((H, W), rules.STEPPE, np.int8)
    terrain[:, :10] = rules.DESERT_T
    terrain[:, 15] = rules.RIVER
    terrain[3:5, 16:18] = rules.URBAN  # a northern (Sunni Arab) city
    terrain[11:13, 16:18] = rules.URBAN  # a southern (Shia Arab) city
    inside = np.ones((H, W), bool)
    gov = np.where(np.arange(H)[:, None] < H // 2, 0, 1) * np.ones((1, W), int)
    people = np.where(terrain == rules.URBAN, 400_000.0,
                      np.where(terrain == rules.RIVER, 60_000.0,
                               np.where(terrain == rules.STEPPE, 8_000.0, 300.0)))
    north = gov == 0
    shares = [np.where(north, 0.85, 0.05), np.where(north, 0.05, 0.9),
              np.full((H, W), 0.05), np.where(north, 0.05, 0.0)]
    population = np.stack([people * s for s in shares]).astype(np.float32)
    oil = np.zeros((H, W), bool)
    oil[4, 12] = True
    crossing = np.zeros((H, W), bool)
    crossing[6, 0] = True
    return SimpleNamespace(inside=inside, terrain=terrain, governorate=gov.astype(np.int16),
                           governorates=("North", "South"),
                           groups=("sunni_arab", "shia_arab", "kurd", "other"),
                           population=population, oil=oil, border_crossing=crossing,
                           cell_km=cell_km, regions={})


def scenario(ticks: int = 52, timeline: list | None = None, **ins: object) -> Scenario:
    base: dict[str, object] = {"cell_km": 20, "people_per_agent": 200, "vision": 20,
                               "posture_km": 40, "speed_km": 40}
    base.update(ins)
    levers = {"ground_forces": 0.5, "inclusion_sunni_arab": 0.2, "services": 0.3}
    return Scenario.from_dict({"model": "insurgency", "start": dt_start(), "ticks": ticks,
                               "seed": 3, "insurgency": base, "levers": levers,
                               "timeline": timeline or []})


def dt_start():
    import datetime as dt

    return dt.date(2010, 1, 1)


def run(s: Scenario, seed: int = 3, theatre=None) -> model.InsurgencyRun:
    r = model.InsurgencyRun(s, seed, theatre=theatre or toy_theatre())
    for _ in range(s.ticks):
        r.step()
    return r


# ------------------------------------------------------------------ scenario
def test_dated_timeline_becomes_ticks_and_ramps():
    s = scenario(ticks=20, timeline=[
        {"date": "2010-01-29", "ground_forces": 0.9},
        {"date": "2010-02-05", "until": "2010-03-05", "inclusion_sunni_arab": 0.6}])
    sched = s.schedule()
    assert sched["ground_forces"][3] == 0.5 and sched["ground_forces"][4] == 0.9
    inc = sched["inclusion_sunni_arab"]
    assert inc[5] == pytest.approx(0.2) and inc[9] == pytest.approx(0.6)
    assert inc[7] == pytest.approx(0.4)


@pytest.mark.parametrize("data,key,allowed", [
    ({"model": "insurgency", "levers": {"ground_force": 1}}, "levers.ground_force",
     "unknown key"),
    ({"model": "insurgency", "start": "2003-01-01",
      "timeline": [{"date": "2004-01-01", "colour": 1}]}, "timeline.0.colour", "not a lever"),
    ({"model": "insurgency", "start": "2003-01-01",
      "timeline": [{"date": "2004-01-01", "precision": 2}]}, "timeline.0.precision",
     "less than or equal to 1"),
    ({"model": "insurgency", "timeline": [{"date": "2004-01-01", "precision": 0.5}]},
     "timeline.0.date", "needs the scenario's `start`"),
    ({"model": "insurgency", "start": "2003-01-01",
      "timeline": [{"date": "2004-01-01", "until": 5, "precision": 0.5}]},
     "timeline.0.until", "must be a date"),
    ({"model": "insurgency", "insurgency": {"cell_km": 0}}, "insurgency.cell_km",
     "greater than or equal to 1"),
])
def test_bad_insurgency_values_name_key_value_and_rule(data, key, allowed):
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data, source="my.toml")
    assert str(err.value).startswith(f"my.toml: {key} = ")
    assert allowed in str(err.value)


def test_end_date_sets_weekly_ticks():
    s = Scenario.from_dict({"model": "insurgency", "start": "2003-03-20", "end": "2020-12-31"})
    assert s.ticks == (pd.Timestamp("2020-12-31") - pd.Timestamp("2003-03-20")).days // 7


BRANCHES = ["post-mosul-military-only", "post-mosul-inclusion", "post-mosul-both",
            "post-mosul-withdrawal"]


@pytest.mark.parametrize("name", BRANCHES)
def test_branches_share_the_history_up_to_mosul(name):
    """A branch runs the 2003 history and diverges on 2017-07-10: its levers equal the
    history's on every week before that, and from then on they are the branch's own entry of
    that date, to its end in 2030. The military-only branch keeps the history's levers of the
    branch date (Mosul-level pressure); every other branch changes at least one of them."""
    hist = Scenario.load(bundled()["iraq-2003-2020"])
    branch = Scenario.load(bundled()[name])
    cut = round((pd.Timestamp("2017-07-10") - pd.Timestamp("2003-03-20")).days / 7)
    a, b = hist.schedule(), branch.schedule()
    for k in a:
        np.testing.assert_array_equal(a[k][:cut], b[k][:cut], err_msg=k)
    own = [e for e in branch.timeline if str(e.date) == "2017-07-10"]
    assert len(own) == 1 and own[0].values
    for k, v in own[0].values.items():
        assert (b[k][cut + 1:] == v).all(), k
    kept = all(a[k][cut] == v for k, v in own[0].values.items())
    assert kept is name.endswith("military-only")
    assert branch.insurgency == hist.insurgency  # `extends`: one place for the mechanisms


def test_extends_merges_tables_and_appends_the_timeline(tmp_path: Path):
    base = tmp_path / "base.toml"
    base.write_text('model = "insurgency"\nstart = 2010-01-01\nend = 2012-01-01\n'
                    '[insurgency]\ncell_km = 20\nvision = 40\n[levers]\nservices = 0.1\n'
                    '[[timeline]]\ndate = 2010-06-01\nservices = 0.2\n')
    child = tmp_path / "child.toml"
    child.write_text('extends = "base.toml"\nend = 2013-01-01\n[insurgency]\nvision = 60\n'
                     '[[timeline]]\ndate = 2012-06-01\nservices = 0.3\n')
    s = Scenario.load(child)
    assert (s.insurgency.cell_km, s.insurgency.vision, s.levers.services) == (20, 60, 0.1)
    assert [e.values["services"] for e in s.timeline] == [0.2, 0.3]
    assert str(s.end) == "2013-01-01"


@pytest.mark.parametrize("text, rule", [
    ('extends = "no-such-scenario"\n', "a bundled scenario name"),
    ('extends = "me.toml"\n', "a cycle"),
])
def test_bad_extends_is_one_clear_message(tmp_path: Path, text, rule):
    me = tmp_path / "me.toml"
    me.write_text(text)
    with pytest.raises(ScenarioError) as err:
        Scenario.load(me)
    assert "extends" in str(err.value) and rule in str(err.value)


# ------------------------------------------------------------------ mechanisms
def test_legitimacy_relaxes_toward_its_target_at_rate_kappa():
    """With no insurgents, L[g] follows L += kappa (L* - L) exactly after an inclusion step."""
    s = scenario(ticks=30, initial_fighters=0, foreign_base=0,
                 timeline=[{"date": "2010-01-08", "inclusion_sunni_arab": 1.0}])
    r = run(s)
    cfg = s.insurgency
    l0 = cfg.legitimacy_base + cfg.legitimacy_inclusion * 0.2 + cfg.legitimacy_services * 0.3
    l1 = cfg.legitimacy_base + cfg.legitimacy_inclusion * 1.0 + cfg.legitimacy_services * 0.3
    expected = l1 - (l1 - l0) * (1 - cfg.legitimacy_relax) ** 30
    assert r.world.fields.legit[0] == pytest.approx(np.full(2, expected), abs=1e-12)
    assert r.frame()["attacks"].sum() == 0


def test_control_needs_garrison_and_superior_strength():
    terr = np.array([10, 10, 3, 10, 0], np.int32)
    need = np.array([5.0, 5.0, 5.0, 5.0, 1.0])
    power = np.array([0.0, 60.0, 0.0, 40.0, 0.0])
    held = np.zeros(5, np.bool_)
    rules.control(terr, need, power, 5.0, np.ones(5, np.bool_), np.arange(5, dtype=np.int32), 5,
                  held, 2.0, np.ones(5))
    assert held.tolist() == [True, False, False, True, False]
    # blocks: the cells of a block are held together, by the fighters of the whole block
    block = np.array([0, 0, 1, 1, 2], np.int32)
    held[:] = False
    rules.control(np.array([1, 0, 3, 0, 0], np.int32), np.full(5, 0.25), np.zeros(5), 5.0,
                  np.ones(5, np.bool_), block, 3, held, 2.0, np.ones(3))
    assert held.tolist() == [True, True, True, True, False]


def test_held_ground_is_kept_until_the_forces_reach_the_assault_ratio():
    """With ``assault_ratio`` a, a held block is kept while ``a F >= need`` and
    ``a q F > E``: the same fighters that could not take a block keep it once held, and
    ``a = 1`` makes keeping and taking alike."""
    terr = np.array([4, 10], np.int32)  # cell 0: 4 < need 5; cell 1: 5 x 10 = 50 < 60
    need = np.array([5.0, 5.0])
    power = np.array([0.0, 60.0])
    inside, block = np.ones(2, np.bool_), np.arange(2, dtype=np.int32)
    for held0, a, kept in (([False, False], 2.0, [False, False]),
                           ([True, True], 2.0, [True, True]),
                           ([True, True], 1.0, [False, False])):
        held = np.array(held0)
        rules.control(terr, need, power, 5.0, inside, block, 2, held, a, np.ones(2))
        assert held.tolist() == kept
    held = np.array([True, True])  # worn down below 1/a of the take: lost
    rules.control(np.array([2, 5], np.int32), need, np.array([0.0, 60.0]), 5.0, inside, block,
                  2, held, 2.0, np.ones(2))
    assert held.tolist() == [False, False]


def test_urban_ground_multiplies_a_held_blocks_defence():
    """With ``urban_defence`` u, a held block's fighters count ``1 + u`` times its urban
    share as strong against the forces: of two held blocks with the same fighters and forces,
    the urban one is kept and the rural one lost; with u = 0 both are lost, and a block the
    group does not hold gains nothing (the defender's advantage): against 30 personnel its
    q F = 25 takes neither block, where 1.5 x 25 = 37.5 would take the urban one."""
    terr = np.array([5, 5], np.int32)  # a q F = 2 x 5 x 5 = 50 < 60 forces
    need = np.array([5.0, 5.0])
    inside, block = np.ones(2, np.bool_), np.arange(2, dtype=np.int32)
    for fort, held0, forces, kept in (([1.5, 1.0], [True, True], 60.0, [True, False]),
                                      ([1.0, 1.0], [True, True], 60.0, [False, False]),
                                      ([1.5, 1.0], [False, False], 60.0, [False, False]),
                                      ([1.5, 1.0], [False, False], 30.0, [False, False])):
        held = np.array(held0)
        rules.control(terr, need, np.full(2, forces), 5.0, inside, block, 2, held, 2.0,
                      np.array(fort))
        assert held.tolist() == kept
    # the model's factor per block: 1 + u x the block's share of urban cells
    r = model.InsurgencyRun(scenario(cell_km=5, urban_defence=2.0), 3,
                            theatre=toy_theatre(5.0))  # control blocks of 2 x 2 cells
    g = r.world.geo
    share = np.bincount(g.block, weights=(g.terrain == rules.URBAN) & g.inside,
                        minlength=g.n_blocks) / np.bincount(g.block, minlength=g.n_blocks)
    assert g.fort == pytest.approx(1.0 + 2.0 * share)
    assert sorted(set(np.round(g.fort, 6))) == [1.0, 2.0]  # rural, and half-urban blocks


def test_sleepers_rise_where_the_group_could_take_their_block():
    """Sleepers become territorial fighters in a block where all the group's members there
    would hold it (and the governorate lets fighters return), not where the forces outweigh
    them, nor where sympathy or money is lacking, nor with ``uprising = 0``."""
    # cells: 0-1 a block with 30 sleepers + 10 desert fighters vs 150 personnel (q = 5: 200 >
    # 150); 2 a block with 30 sleepers vs 400; 3 a block like the first, in governorate 1
    cell = np.repeat(np.array([0, 1, 2, 3], np.int32), [30, 10, 30, 40])
    role = np.full(cell.size, rules.SLEEPER, np.int8)
    role[30:40] = rules.DESERT
    role[110:] = rules.DESERT  # 10 of the 40 in cell 3 are desert fighters
    role[70:100] = rules.SLEEPER
    block = np.array([0, 0, 1, 2], np.int32)
    gov = np.array([0, 0, 0, 1], np.int32)
    counts = np.bincount(cell, minlength=4).astype(np.float64)
    need = np.array([10.0, 10.0, 10.0, 10.0])
    power = np.array([100.0, 50.0, 400.0, 150.0])
    inside = np.ones(4, np.bool_)
    key = stream_key(1, 1, 11)

    def rise(rate, ok):
        r = role.copy()
        terr, sleeper = np.zeros(4, np.int32), np.bincount(cell[role == rules.SLEEPER],
                                                           minlength=4).astype(np.int32)
        rows = Insurgents(cell, r, np.zeros_like(r), np.zeros(r.size, np.int16),
                          np.zeros(0, np.int32), np.zeros(1, np.int64),
                          np.array([r.size, r.size], np.int64))  # every row in use
        by_role = RoleCounts(terr, np.zeros(4, np.int32), sleeper, np.zeros(4, np.int32))
        n = rules.uprising(rows, by_role, counts, need, power, 5.0, inside, block, 3,
                           np.zeros(4, np.bool_), 2.0, np.ones(3), gov, np.array(ok), rate, key)
        assert terr.sum() == n and np.array_equal(  # the counts follow the roles
            sleeper, np.bincount(cell[r == rules.SLEEPER], minlength=4))
        return n, r

    n, r = rise(1.0, [True, False])
    assert n == 30 and np.all(r[:30] == rules.TERRITORIAL)  # block 0 rises at once
    assert np.all(r[40:70] == rules.SLEEPER)  # outweighed: 5 x 30 = 150 < 400
    assert np.all(r[70:110] == role[70:110])  # governorate 1: no sympathy or money
    assert np.all(r[30:40] == rules.DESERT)  # desert fighters count, but stay desert
    n, r = rise(0.5, [True, True])
    assert 20 <= n <= 50 and set(np.unique(r[40:70])) == {rules.SLEEPER}
    assert rise(0.0, [True, True])[0] == 0


def city_under_siege(fighters: int, ticks: int, **ins: object) -> tuple[model.InsurgencyRun, int]:
    """A toy run with ``fighters`` territorial fighters in the northern (Sunni Arab) city and
    20 security units (2,000 personnel) there alone; no recruits, inflow, attrition or posture
    changes (``ins`` overrides)."""
    s = scenario(ticks=ticks, **{"initial_fighters": 0, "foreign_base": 0, "recruit_rate": 0,
                                 "fighter_strength": 5.0, "garrison_people": 0.5,
                                 "return_sympathy": 0.0, "posture_speed": 0.0,
                                 "attrition_insurgent": 0.0, "air_kill": 0.0, **ins})
    r = model.InsurgencyRun(s, 3, theatre=toy_theatre())
    city = int(np.ravel_multi_index((3, 16), (H, W)))
    rows = np.arange(fighters)
    ins = r.world.insurgents
    ins.cell[rows], ins.role[rows] = city, rules.TERRITORIAL
    ins.n_free[0] -= fighters
    ins.free_rows[: ins.n_free[0]] = np.arange(r.cfg.max_insurgents - 1, fighters - 1, -1)[
        : ins.n_free[0]]
    model.recount(r.world, r.cfg)
    return r, city


def besiege(r: model.InsurgencyRun, city: int) -> float:
    """Put the 2,000 personnel back in the city alone, then step one week; returns them."""
    forces = r.world.forces
    forces.security[:] = 0.0
    forces.security[city] = 20.0
    forces.militia[:] = 0.0
    model.recount(r.world, r.cfg)
    power = float(forces.power[city])
    r.step()
    return power


@pytest.mark.parametrize("floor", [1.0, 0.2])
def test_forces_hold_ground_as_firmly_as_the_people_back_the_government(floor):
    """300 fighters (q = 5: strength 1,500) against 2,000 personnel in a Sunni Arab city of low
    legitimacy: with ``morale_floor = 1`` the forces count in full and keep the city; with 0.2
    they count ``E (0.2 + 0.8 L_local)`` and lose it."""
    r, city = city_under_siege(300, 1, morale_floor=floor)
    power = besiege(r, city)
    f = r.world.fields
    assert r.world.counts.terr[city] == 300 and f.need[city] < 300
    lowered = power * (0.2 + 0.8 * f.local_legit[city])
    assert power == 2_000.0 and lowered < 1_500.0  # the setting separates the two cases
    assert bool(f.held[city]) is (floor < 1.0)


def test_a_held_city_keeps_the_fighters_that_outweigh_its_defence():
    """400 fighters hold a city (2,000 personnel, morale floor 0.2); the next week those beyond
    its garrison move on, but the garrison is what outweighs the defence, ``max(need,
    E (m + (1 - m) L_local) / q)``, not only ``need`` (~200 here, which would lose it)."""
    r, city = city_under_siege(400, 2, morale_floor=0.2)
    for _ in range(2):
        besiege(r, city)
        assert r.world.fields.held[city]
    f = r.world.fields
    defence = 2_000.0 * (0.2 + 0.8 * f.local_legit[city])
    assert f.need[city] + 1 < defence / 5.0 < r.world.counts.terr[city] < 400


def test_forces_garrison_only_the_ground_the_government_holds():
    """Garrisons by population go to ground the government holds; a city the group holds gets
    only the forces sent after it (the hunt). From no forces, one deployment gives a held
    city exactly its hunt, and the same city, not held, its hunt plus a garrison."""
    r, city = city_under_siege(400, 1)
    r.step()
    out = {}
    forces = r.world.forces
    for held in (True, False):
        r.world.fields.held[:] = False
        r.world.fields.held[city] = held
        forces.security[:] = 0.0
        forces.hunt[:] = 0.0
        model.movement(r.world, r.cfg, r.levers)
        out[held] = (float(forces.security[city]), float(forces.hunt[city]))
    assert out[True][1] > 0 and out[True][0] == pytest.approx(out[True][1], rel=1e-12)
    assert out[False][0] > out[False][1] + 1.0  # more than a unit (100) of garrison


def test_outgunned_fighters_withdraw_to_the_desert_and_leave_sleepers():
    """Territorial fighters in a city facing overwhelming forces become desert fighters (in
    desert cells) or sleepers (in populated cells), about sigma of them sleepers."""
    s = scenario(ticks=30, initial_fighters=0, foreign_base=0, recruit_rate=0,
                 attack_probability=0, attrition_insurgent=0, attrition_security=0)
    th = toy_theatre()
    r = model.InsurgencyRun(s, 3, theatre=th)
    city = np.ravel_multi_index((3, 16), (H, W))
    rows = np.arange(600)
    ins, forces = r.world.insurgents, r.world.forces
    ins.cell[rows], ins.role[rows] = city, rules.TERRITORIAL
    ins.n_free[0] -= 600
    ins.free_rows[: ins.n_free[0]] = np.arange(r.cfg.max_insurgents - 1, 599, -1)[
        : ins.n_free[0]]
    forces.security[:] = 0.0
    forces.security[city] = 5_000.0  # 500,000 personnel
    model.recount(r.world, r.cfg)
    for _ in range(30):
        forces.security[city] = 5_000.0
        r.step()
    roles = ins.role[rows]
    assert (roles == rules.TERRITORIAL).sum() < 30
    desert = rows[roles == rules.DESERT]
    sleepers = rows[roles == rules.SLEEPER]
    assert len(desert) > 300
    assert np.all(r.world.geo.terrain[ins.cell[desert]] == rules.DESERT_T)
    assert np.all(r.world.geo.populated[ins.cell[sleepers]])
    share = len(sleepers) / (len(sleepers) + len(desert))
    assert share == pytest.approx(s.insurgency.sleeper_share, abs=0.08)


def test_treasury_is_income_minus_upkeep_and_attacks():
    s = scenario(ticks=40, initial_treasury=1e9, initial_fighters=500)
    df = run(s).frame()
    cost = s.insurgency.attack_cost
    change = df["treasury"].diff().iloc[1:]
    flows = (df["income"] - df["upkeep"] - cost * df["attacks"]).iloc[1:]
    np.testing.assert_allclose(change.to_numpy(), flows.to_numpy(), rtol=1e-9, atol=1e-3)
    assert df["upkeep"].iloc[1] == pytest.approx(s.insurgency.upkeep * df["members"].iloc[0],
                                                 rel=0.05)


def test_same_seed_same_run_other_seed_other_run():
    s = scenario(ticks=40, initial_fighters=800)
    a = model.simulate(s, seed=5, theatre=toy_theatre())
    b = model.simulate(s, seed=5, theatre=toy_theatre())
    pd.testing.assert_frame_equal(a, b)
    c = model.simulate(s, seed=6, theatre=toy_theatre())
    assert not a.drop(columns="seed").equals(c.drop(columns="seed"))


def test_branch_goes_on_like_the_run_and_diverges_by_policy_only():
    """A branch under the same scenario is the run itself (same draws); a branch under other
    levers shares the history and then differs; other mechanisms are refused."""
    s = scenario(ticks=40, initial_fighters=800)
    whole = model.simulate(s, seed=5, theatre=toy_theatre())
    r = model.InsurgencyRun(s, 5, theatre=toy_theatre())
    for _ in range(20):
        r.step()
    same = r.branch(s)
    other = r.branch(scenario(ticks=40, initial_fighters=800,
                              timeline=[{"tick": 21, "ground_forces": 1.0}]))
    for _ in range(20):
        same.step()
        other.step()
    pd.testing.assert_frame_equal(same.frame(), whole)
    diverged = other.frame()
    pd.testing.assert_frame_equal(diverged.iloc[:21], whole.iloc[:21])
    assert not diverged.iloc[21:].equals(whole.iloc[21:])
    assert r.tick == 20  # the original is untouched
    with pytest.raises(ValueError, match="same mechanisms"):
        r.branch(scenario(ticks=40, initial_fighters=900))


SCRIPT = """
import sys
from resurgence import Scenario, simulate
s = Scenario.load(sys.argv[2]).with_overrides(ticks=60, insurgency={"cell_km": 40,
    "people_per_agent": 300})
simulate(s, seed=4).to_parquet(sys.argv[1])
"""


def test_thread_count_does_not_change_the_result(tmp_path: Path):
    """The citizen kernel runs in parallel with a counter-based RNG: 1 and 2 threads agree."""
    outputs = []
    for threads in ("1", "2"):
        out = tmp_path / f"t{threads}.parquet"
        env = {**os.environ, "NUMBA_NUM_THREADS": threads}
        done = subprocess.run([sys.executable, "-c", SCRIPT, str(out),
                               str(bundled()["iraq-2003-2020"])],
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        outputs.append(pd.read_parquet(out))
    pd.testing.assert_frame_equal(outputs[0], outputs[1])


def test_simulate_dispatches_and_has_dates_and_governorate_frame():
    s = Scenario.load(bundled()["iraq-2003-2020"]).with_overrides(
        ticks=10, insurgency={"cell_km": 40, "people_per_agent": 1000})
    df = simulate(s, seed=1)
    assert len(df) == 11 and str(df["date"].iloc[0].date()) == "2003-03-20"
    for col in ("territory_km2", "desert_share", "members", "sympathisers", "recruits",
                "attacks", "casualties_civilian", "casualties_security", "treasury",
                "foreign_inflow", "displaced", "legitimacy_sunni_arab"):
        assert col in df
    r = model.run_once(s, 1)
    g = r.governorate_frame()
    assert set(g["governorate"]) >= {"Anbar", "Nineveh", "Salah ad Din", "Baghdad"}
    assert r.cell_states().shape == r.shape
    # the API's series per governorate: the same run's, bit for bit
    assert r.frame().equals(df) and simulate_governorates(s, seed=1).equals(g)
    # ... whose first six columns add up to the national series, week by week
    sums = g.groupby("tick")[list(model.GOV_COLUMNS[:6])].sum().to_numpy()
    nat = df[["territory_km2", "fighters_territorial", "sleepers", "attacks",
              "casualties_civilian", "sympathisers"]].to_numpy(dtype=float)
    nat[:, 1] += df["fighters_desert"].to_numpy()  # fighters: territorial and desert
    np.testing.assert_allclose(sums, nat)
    assert df["sympathisers"].iloc[-1] > 0 and df["sleepers"].iloc[-1] > 0
    assert (df["members"] == df["fighters_territorial"] + df["fighters_desert"]
            + df["sleepers"]).all()
    with pytest.raises(ScenarioError, match="only the insurgency model has governorates"):
        simulate_governorates(Scenario.load(bundled()["epstein-run-2"]), seed=1)
    out = analysis.summarise(df)
    assert out["peak_territory_km2"] == df["territory_km2"].max()
    assert out["casualties_cumulative"] == pytest.approx(
        (df["casualties_civilian"] + df["casualties_security"]).sum())
    assert out["members_end"] == df["members"].iloc[-1]


def _ground(km2: list[float]) -> pd.DataFrame:
    """A frame with weekly ``territory_km2`` and zero casualties, from 2014-01-06 on."""
    n = len(km2)
    return pd.DataFrame({"tick": np.arange(n), "date": pd.date_range("2014-01-06", periods=n,
                                                                       freq="7D"),
                         "territory_km2": np.asarray(km2, float), "casualties_civilian": 0.0,
                         "casualties_security": 0.0, "members": 0.0, "sympathisers": 0.0})


def test_resurgence_is_a_climb_from_the_low_after_the_loss():
    """``summarise``: the loss is read from a peak of at least 40% of the run's largest (a
    one-cell flicker before it is not a loss), and resurgence is a climb of a quarter of the
    peak above the low since the loss or since ``after``. Each case below was wrong under the
    old rule (a week after the loss or ``after`` with territory above a quarter of the running
    peak): a flicker's "loss" and "regain" in its first weeks, a branch that only loses its
    ground called a return; a level rule "from below" would miss a branch that starts at a
    quarter and grows, and a peak read over the whole run the loss of a branch that returns
    beyond its first peak."""
    flicker = [0, 100, 0, 100, 0, 0, 50_000, 100_000, 60_000, 30_000, 10_000, 20_000, 40_000]
    out = analysis.summarise(_ground(flicker))
    assert out["lost_60pct_date"] == str((pd.Timestamp("2014-01-06")
                                          + pd.Timedelta(weeks=9)).date())
    assert out["resurgence"] and out["years_to_regain"] == pytest.approx(3 * 7 / 365.25)
    short = flicker[:-1]  # the low 10,000 climbs to 20,000: a tenth of the peak, not a quarter
    assert not analysis.summarise(_ground(short))["resurgence"]

    branch = "2014-03-03"  # week 8: 27,000 held (over a quarter of the peak), then only lost
    losing = [50_000, 100_000, 90_000, 80_000, 70_000, 60_000, 60_000, 60_000, 27_000, 26_000,
              10_000, 0, 0]
    out = analysis.summarise(_ground(losing), after=branch)
    assert out["lost_60pct_date"] is not None and not out["resurgence"]
    growing = losing[:9] + [40_000, 60_000, 90_000, 120_000]
    out = analysis.summarise(_ground(growing), after=branch)
    assert out["resurgence"] and out["years_to_regain"] == pytest.approx(2 * 7 / 365.25)
    # without ``after`` the same run's loss is read from its first peak, not from the larger
    # one it regains (a branch run to 2030 without --after: post-mosul-withdrawal)
    out = analysis.summarise(_ground(growing))
    assert out["lost_60pct_date"] == "2014-03-03" and out["resurgence"]


def test_casualties_since_count_the_weeks_after_the_branch_date():
    """``casualties_since``: the casualties of the weeks dated after ``after`` (the weeks a
    branch's levers shape, as the question counts them), on a date between two weeks and on a
    week's own date; the whole run without ``after``."""
    df = _ground([0.0] * 6)
    df["casualties_civilian"] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    df["casualties_security"] = [100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0]
    assert analysis.summarise(df)["casualties_since"] == 6363.0
    week3 = str(df["date"].iloc[3].date())  # the weeks after it: 4 and 5
    assert analysis.summarise(df, after=week3)["casualties_since"] == 16 + 32 + 1600 + 3200
    between = str((df["date"].iloc[3] + pd.Timedelta(days=3)).date())  # the same weeks
    assert analysis.summarise(df, after=between)["casualties_since"] == 4848.0
    assert analysis.summarise(df, after=between)["casualties_cumulative"] == 6363.0


def test_civilian_deaths_remove_residents():
    """Last week's civilian deaths (attacks and collateral) leave the cell's residents: over a
    run, dead citizen agents x people per agent match the civilian casualties before the last
    week (each resident dies w.p. deaths / people present, so the count is a sum of Bernoulli
    draws: tolerance 4 standard deviations). With no attacks and no air strikes nobody dies."""
    s = scenario(ticks=104, initial_fighters=1500, attack_probability=0.2, collateral=50.0,
                 timeline=[{"date": "2010-01-08", "air_sorties": 200, "precision": 0.0}])
    r = run(s)
    df = r.frame()
    ppa = s.insurgency.people_per_agent
    expected = df["casualties_civilian"].iloc[:-1].sum() / ppa
    dead = int((r.world.people.state == rules.DEAD).sum())
    assert expected > 50
    assert abs(dead - expected) < 4 * np.sqrt(expected) + 1, (dead, expected)
    quiet = run(scenario(ticks=52, initial_fighters=1500, attack_probability=0.0))
    assert (quiet.world.people.state == rules.DEAD).sum() == 0


@pytest.mark.parametrize("control_km2", [400.0, 1600.0])  # one 20 km cell a block, or 2 x 2
def test_sympathy_and_ground_combat_are_read_over_the_control_block(control_km2):
    """The sympathiser share and ground combat's forces and cover are summed over the control
    block, so that they do not depend on the cell size (docs/calibration.md, Resolution).
    With 2 x 2 blocks: the share of a block is one value for its four cells, and fighters in a
    cell without forces are still engaged by the forces of the block's other cells; with one
    cell a block, per cell: four shares, and no fighter removed where no force stands. Either
    half fails if its quantity is read per cell again."""
    r = model.InsurgencyRun(scenario(ticks=1, control_km2=control_km2), 3, theatre=toy_theatre())
    blocks = control_km2 > 400.0
    a, b, c, d = 0, 1, W, W + 1  # the four cells of the first 2 x 2 block
    cen, f, ins = r.world.census, r.world.fields, r.world.insurgents
    cen.present[:] = 0
    cen.sym[:] = 0
    cen.present[[a, b, c, d]] = [10, 10, 10, 10]
    cen.sym[[a, b, c, d]] = [10, 0, 0, 2]
    model.recount(r.world, r.cfg)
    share = f.sym_share[[a, b, c, d]]
    assert share.tolist() == ([0.3] * 4 if blocks else [1.0, 0.0, 0.0, 0.2])

    rows = np.flatnonzero(ins.role != rules.FREE)
    ins.role[rows[1000:]] = rules.FREE  # 1,000 desert fighters, all in cell a, where no force is
    ins.role[rows[:1000]] = rules.DESERT
    ins.cell[rows[:1000]] = a
    r.world.forces.power[:] = 0.0
    r.world.forces.power[d] = 5_000.0
    f.pdet[:] = 1.0
    tally = model.ground_combat(r.world, r.cfg, r.levers, model.Streams(r.seed, r.tick))
    removed = tally["insurgents_killed"] + tally["insurgents_captured"]
    # blocks: each removed w.p. 1 - exp(-alpha E / (E + K)) ~ 0.26 (alpha 0.3): ~260, s.d. ~14
    assert (removed > 150) if blocks else (removed == 0), removed


def test_a_town_is_a_density_not_a_head_count():
    """A cell is populated (sleepers live and strike there) with at least 5 residents per km²:
    the toy steppe's 8,000 people a cell are a town in 20 km cells (20 per km²) and not in
    50 km cells (3.2 per km², under 12,500 a cell), where a fixed 500 would call them one."""
    steppe = toy_theatre().terrain == rules.STEPPE
    for km, town in ((20.0, True), (50.0, False)):
        r = model.InsurgencyRun(scenario(ticks=1, cell_km=km), 3, theatre=toy_theatre(km))
        assert bool(r.world.geo.populated[steppe.ravel()].all()) is town
        assert bool(r.world.geo.populated[steppe.ravel()].any()) is town


def _walk_spread(cell_km: float, stay: float | None, fighters: int = 4000) -> float:
    """Mean squared displacement (km²) of desert fighters after one week's walk from the centre
    of an all-desert square 320 km wide, in cells of ``cell_km``, steps of ``speed_km`` = 40
    (four at 10 km, eight at 5 km); ``stay`` the chance to stay each step (None: the model's
    :func:`resurgence.models.insurgency_state.desert_stay` for the default spread)."""
    n = int(320 / cell_km)
    cells = n * n
    steps = round(40 / cell_km)
    if stay is None:
        stay = desert_stay(120.0, steps, cell_km)
    centre = (n // 2) * n + n // 2
    icell = np.full(fighters, centre, np.int32)
    role = np.full(fighters, rules.DESERT, np.int8)
    zeros_i, zeros_b = np.zeros(cells, np.int32), np.zeros(cells, np.bool_)
    rows = Insurgents(icell, role, np.zeros(fighters, np.int8), np.zeros(fighters, np.int16),
                      np.zeros(0, np.int32), np.zeros(1, np.int64),
                      np.array([fighters, fighters], np.int64))  # every row in use
    rules.posture_and_move(rows, zeros_i, np.full(cells, rules.DESERT_T, np.int8),
                           np.full(cells, rules.HOLD, np.int8), zeros_b, zeros_i, zeros_i,
                           zeros_i, zeros_b, np.zeros(cells), zeros_i, np.zeros(cells),
                           neighbour_table(np.ones((n, n), bool)), steps, 0.3, 0.2,
                           np.zeros(2, np.bool_), stay, stream_key(5, 1, 2))
    dy, dx = np.divmod(icell, n)
    return float((((dy - n // 2) ** 2 + (dx - n // 2) ** 2) * cell_km**2).mean())


def test_the_desert_walk_spreads_alike_at_any_cell_size():
    """Desert fighters disperse by a random walk whose spread per week (mean squared
    displacement) is ``1.5 x desert_spread_km2`` (1.5: the mean squared length of a step to one
    of the 8 neighbours, in cell widths) at 5 and at 10 km: 4,000 fighters each, tolerance 10%
    (the estimate's s.e. is about 2%). The opposite: the old rule, a fixed chance of 0.3 to move
    each step, spreads half as far at 5 km (eight steps of 5 km against four of 10 km), which
    kept the 5 km group's desert fighters bunched (docs/calibration.md, Resolution)."""
    at10, at5 = _walk_spread(10.0, None), _walk_spread(5.0, None)
    assert at10 == pytest.approx(180.0, rel=0.1)
    assert at5 == pytest.approx(at10, rel=0.1)
    assert desert_stay(120.0, 4, 10.0) == 0.7  # the 10 km runs are unchanged
    fixed = _walk_spread(5.0, 0.7)
    assert fixed < 0.6 * at10, (fixed, at10)


@njit
def _row_draws(key, rows, steps):
    out = np.empty((rows, 2 + 2 * steps))
    for i in range(rows):
        out[i, 0], out[i, 1] = counter_uniform(key, i, 0), counter_uniform(key, i, 1)
        for s in range(steps):
            out[i, 2 + 2 * s] = rules.step_uniform(key, i, s, 0)
            out[i, 3 + 2 * s] = rules.step_uniform(key, i, s, 1)
    return out


def test_a_long_walk_draws_numbers_of_its_own():
    """Every draw of a fighter's week (posture and sleeper share, then direction and stay for
    each step of its walk) is its own, for walks of up to 12 steps (cells of 3.3 km), and the
    first four steps draw as they always did (the calibrated 10 km runs are unchanged). The
    opposite: each row has 16 draws under one key, and drawing the stays as ``10 + s`` gave a
    row's seventh and eighth steps (5 km cells walk eight) the next row's first two draws."""
    key = stream_key(5, 1, 2)
    draws = _row_draws(key, 500, 12)
    assert np.unique(draws).size == draws.size
    first = _row_draws(key, 500, 4)[:, 2:]
    old = np.array([[counter_uniform(key, i, j) for s in range(4) for j in (2 + s, 10 + s)]
                    for i in range(500)])
    assert np.array_equal(first, old)
    assert counter_uniform(key, 0, 10 + 6) == counter_uniform(key, 1, 0)  # the old overlap


@pytest.mark.parametrize("control_km2", [400.0, 1600.0])
def test_collateral_reads_the_density_of_the_control_block(control_km2):
    """Collateral deaths per sortie rise with the residents per km² of the struck cell's
    control block, as at 10 km (a block a cell), whatever the cell size. 400 sorties on
    fighters in a toy city cell (300,000 people: 400,000 x ``population_scale`` 0.75, in 400
    km², 750 per km²), zeta 2, precision 0.5: expected Poisson(400 x density/1000). With 2 x 2
    blocks of 20 km cells the block holds two city cells and two steppe ones (6,000 each): 382.5
    per km², mean 153; with one cell a block, 750 per km², mean 300. Tolerance: 4 s.d. of the
    Poisson (49 and 69), so either half fails if the density is read the other way (the means
    are 147 apart)."""
    r = model.InsurgencyRun(scenario(ticks=1, control_km2=control_km2, collateral=2.0), 3,
                            theatre=toy_theatre())
    city = int(np.ravel_multi_index((3, 16), (H, W)))
    ins, cnt = r.world.insurgents, r.world.counts
    rows = np.flatnonzero(ins.role != rules.FREE)
    ins.role[rows] = rules.FREE
    ins.role[rows[:100]], ins.cell[rows[:100]] = rules.TERRITORIAL, city
    cnt.terr[:], cnt.desert[:] = 0, 0
    cnt.terr[city] = 100
    r.world.fields.pdet[:] = 1.0
    lev = r.levers.model_copy(update={"air_sorties": 400.0, "precision": 0.5})
    tally = model.air_strikes(r.world, r.cfg, lev, model.Streams(r.seed, r.tick))
    mean = 153.0 if control_km2 > 400.0 else 300.0
    assert abs(tally["casualties_collateral"] - mean) < 4 * np.sqrt(mean), tally


@pytest.mark.parametrize("control_km2", [400.0, 1600.0])
def test_attack_prevention_and_battle_are_read_over_the_control_block(control_km2):
    """Attack prevention counts the personnel of the control block, and battle deaths and war
    damage are per 1,000 residents of the block, as at 10 km (a block a cell), whatever the
    cell size (docs/calibration.md, Resolution). With 2 x 2 blocks of 20 km cells: 500 sleepers
    in a city cell strike (p_att 1, no tips), 500 personnel stand in another cell of the block
    and stop each attack w.p. 1 - exp(-0.2 x 0.5) ~ 0.095 (about 48, s.d. 7); ten deaths in one
    cell reach the block's four cells alike. With one cell a block: no attack stopped, and only
    the cell of the deaths has a battle. Either half fails if its quantity is read the other
    way."""
    s = scenario(ticks=1, control_km2=control_km2, attack_probability=1.0, attack_cost=0.0,
                 prevent_legitimacy=0.0)
    r = model.InsurgencyRun(s, 3, theatre=toy_theatre())
    blocks = control_km2 > 400.0
    city, guard = (int(np.ravel_multi_index(rc, (H, W))) for rc in ((3, 16), (2, 17)))
    ins, f = r.world.insurgents, r.world.fields
    rows = np.flatnonzero(ins.role != rules.FREE)
    ins.role[rows] = rules.FREE
    ins.role[rows[:500]], ins.cell[rows[:500]] = rules.SLEEPER, city
    r.world.forces.power[:] = 0.0
    r.world.forces.power[guard] = 500.0
    tally = model.sleeper_attacks(r.world, r.cfg, r.levers, model.Streams(r.seed, r.tick))
    assert tally["attacks"] + tally["attacks_prevented"] == 500
    assert (25 < tally["attacks_prevented"] < 75) if blocks else tally["attacks_prevented"] == 0

    f.killed_cell[:], f.collateral_cell[:], f.casualties_cell[:] = 0.0, 0.0, 0.0
    f.killed_cell[city] = 10.0
    f.need = np.zeros(H * W)  # the garrison need, set by the week's organisation step
    model.movement(r.world, r.cfg, r.levers)
    block = [city, city + 1, guard - 1, guard]  # (3,16), (3,17), (2,16), (2,17)
    battle = f.battle[block]
    assert (battle > 0).tolist() == ([True] * 4 if blocks else [True, False, False, False])
    assert np.count_nonzero(f.battle) == (4 if blocks else 1)


def test_many_recruits_of_one_supporter_draw_numbers_of_their_own():
    """``spawn_recruits`` takes each recruit w.p. ``accept`` on a draw of its own, however many
    a supporter brings (``counter_uniform_any``). Two supporters in a row with 32 and 16
    recruits, ``accept`` 0.5, 400 keys: the numbers taken for each are uncorrelated (|r| <
    0.25; the standard error of r is 0.05). The opposite, each recruit ``j`` drawn as
    ``counter_uniform(key, i, j)``: an item has 16 draws, so the first supporter's recruits
    16-31 read the second's 0-15 and r is about 0.7 (computed below from those draws)."""
    new, old = [], []
    for week in range(400):
        key = stream_key(3, week, 7)
        cap = 64
        role = np.zeros(cap, np.int8)
        icell = np.zeros(cap, np.int32)
        people = Citizens(np.array([0, 1], np.int32), np.zeros(2, np.int8),
                          np.zeros(2, np.float32), np.zeros(2, np.float32),
                          np.full(2, rules.ACTIVE, np.int8), np.zeros(2, np.int16),
                          np.array([32, 16], np.int8))
        rows = Insurgents(icell, role, np.zeros(cap, np.int8), np.zeros(cap, np.int16),
                          np.arange(cap - 1, -1, -1, dtype=np.int32), np.array([cap], np.int64),
                          np.array([0, cap], np.int64))  # no row in use yet
        rules.spawn_recruits(people, np.full(2, rules.HOLD, np.int8), rows,
                             RoleCounts(*(np.zeros(2, np.int32) for _ in range(4))), 0.5, key,
                             np.full(2, 1e6))
        made = role == rules.TERRITORIAL
        new.append((int((made & (icell == 0)).sum()), int((made & (icell == 1)).sum())))
        old.append(tuple(sum(counter_uniform(key, i, j) < 0.5 for j in range(n))
                         for i, n in ((0, 32), (1, 16))))
    r_new = np.corrcoef(np.array(new).T)[0, 1]
    r_old = np.corrcoef(np.array(old).T)[0, 1]
    assert abs(r_new) < 0.25 and r_old > 0.5, (r_new, r_old)
    assert 14 < np.mean([a for a, _ in new]) < 18  # 32 recruits at 0.5


def test_an_arrest_takes_the_members_and_leaves_the_residents():
    """An arrest holds an active supporter's members ``U(1, term)`` weeks (``jail``), not its
    residents: the agent stays present and sympathetic, cannot mobilise while its members are
    held, mobilises again once they are out, and a lower cap (a prison break) frees them early.
    The census counts it present and detained at once (the old rule took the whole agent of
    100 people out of its cell: 1.8 M people detained in 2007; docs/calibration.md).
    800 agents of one cell, all aggrieved, arrest probability 0.5: the arrests are a binomial
    draw (tolerance 5 standard deviations, 70 agents)."""
    n, term = 800, 10
    z = np.zeros(n, np.float32)
    cell, group = np.zeros(n, np.int32), np.zeros(n, np.int8)
    state, jail, recruits = np.zeros(n, np.int8), np.zeros(n, np.int16), np.zeros(n, np.int8)
    one = np.ones(1)
    legit, affinity = np.zeros((1, 1)), np.ones(1)

    people = Citizens(cell, group, np.ones(n, np.float32), z, state, jail, recruits)
    out = Census(*(np.zeros(1, np.int32) for _ in range(5)), np.zeros((1, 1), np.int64),
                 np.zeros((1, 1), np.int64), np.zeros(1, np.int32), np.zeros((1, 1), np.int64))

    def week(t: int, cap: int = term, arrest: float = 0.5) -> None:
        rules.citizens(people, np.zeros(1, np.int16), legit, affinity, np.zeros(1),
                       np.zeros(1), one, one, np.full(1, arrest), np.zeros(1), np.zeros(1),
                       float(term), cap, 0.1, 0.2, 1.0, 0.0, 0.0, 0, np.zeros(1), np.zeros(1),
                       stream_key(5, t, 0), out)

    def census() -> tuple[int, int, int]:  # the counts the week's pass took
        return int(out.present[0]), int(out.act[0]), int(out.detained[0])

    week(0)
    held = jail > 0
    assert abs(held.sum() - n / 2) < 5 * np.sqrt(n / 4)
    assert (state[held] == rules.SYMPATHISER).all() and (state[~held] == rules.ACTIVE).all()
    assert jail[held].min() >= 1 and jail[held].max() <= term
    assert census() == (n, n - held.sum(), held.sum())  # present, active, detained
    for t in range(1, term + 1):  # held j weeks, mobilised in the week after
        before = jail.copy()
        week(t, arrest=0.0)
        assert (state[before > 0] != rules.ACTIVE).all()
        assert (jail == np.maximum(before - 1, 0)).all()
    assert (jail == 0).all()
    week(term + 1, arrest=0.0)
    assert (state == rules.ACTIVE).all()  # all out, and mobilised again
    week(term + 2, arrest=1.0)
    assert (jail > 0).all() and census() == (n, 0, n)
    week(term + 3, cap=0, arrest=0.0)  # a prison break frees them at the week's end
    assert (jail == 0).all() and census() == (n, 0, 0)
    week(term + 4, arrest=0.0)
    assert census() == (n, n, 0)


def test_an_extreme_recruitment_rate_saturates_instead_of_wrapping_around():
    """A prior may draw a rate at which an agent offers more recruits than its column holds:
    the offer stops at ``rules.MAX_OFFER`` (an int8 column wrapped to negative offers)."""
    n = 50
    z = np.zeros(n, np.float32)
    people = Citizens(np.zeros(n, np.int32), np.zeros(n, np.int8), np.ones(n, np.float32), z,
                      np.zeros(n, np.int8), np.zeros(n, np.int16), np.zeros(n, np.int16))
    out = Census(*(np.zeros(1, np.int32) for _ in range(5)), np.zeros((1, 1), np.int64),
                 np.zeros((1, 1), np.int64), np.zeros(1, np.int32), np.zeros((1, 1), np.int64))
    one = np.ones(1)
    for expect, each in ((300.0, 300), (1e9, rules.MAX_OFFER)):
        asked = rules.citizens(people, np.zeros(1, np.int16), np.zeros((1, 1)), np.ones(1),
                               np.zeros(1), np.zeros(1), one, one, np.zeros(1), np.zeros(1),
                               np.zeros(1), 1.0, 1, 0.1, 0.2, expect, 0.0, 0.0, 0,
                               np.zeros(1), np.zeros(1), stream_key(5, 1, 0), out)
        assert (people.recruits == each).all() and asked == n * each


def test_detainees_are_the_members_held_times_people_per_arrest():
    """The ``detained`` observable counts people: agents whose members are held times
    ``arrest_people``, not times the agent's residents."""
    s = scenario(ticks=30, initial_fighters=1500, arrest_rate=0.3, arrest_people=3.0)
    r = run(s)
    held = int((r.world.people.jail > 0).sum())
    assert held > 0
    assert r.frame()["detained"].iloc[-1] == held * 3.0


def test_an_arrest_interns_and_a_capture_sentences():
    """Two terms (docs/model.md, Detention): an arrest holds a citizen agent's members at most
    ``detention x max_internment_weeks`` weeks (internment, a year on average in 2007), a
    captured insurgent at most ``detention x max_detention_weeks`` (a sentence). With the two
    limits swapped, the long terms move to the other side. One run each (seed 3, 30 weeks,
    detention 0.5): exact bounds, no tolerance."""

    def held(internment: int, sentence: int) -> tuple[int, int]:
        r = run(scenario(ticks=30, initial_fighters=1500, arrest_rate=0.3,
                         max_internment_weeks=internment, max_detention_weeks=sentence))
        jail, ijail = r.world.people.jail, r.world.insurgents.jail
        assert (jail > 0).sum() > 100 and (ijail > 0).sum() > 10
        return int(jail.max()), int(ijail.max())

    citizens, captives = held(10, 400)
    assert citizens <= 5 < captives <= 200
    citizens, captives = held(400, 10)
    assert captives <= 5 < citizens <= 200


# ------------------------------------------------------------------ theatre-generic
def test_theatre_groups_are_matched_by_name_not_by_position():
    """A theatre lists its groups in any order: the same populations under the same names, in
    another order, give the same run bit for bit (matched by position, the Sunni Arab
    population would be read as the Shia Arab one and the run would differ)."""
    s = scenario(ticks=6)
    th = toy_theatre()
    order = [1, 0, 3, 2]
    shuffled = toy_theatre()
    shuffled.groups = tuple(th.groups[k] for k in order)
    shuffled.population = th.population[order]
    a = model.run_once(s, 3, theatre=th)
    b = model.run_once(s, 3, theatre=shuffled)
    pd.testing.assert_frame_equal(a.frame(), b.frame())
    pd.testing.assert_frame_equal(a.governorate_frame(), b.governorate_frame())


@pytest.mark.parametrize("base, north", [("sunni_arab", True), ("shia_arab", False)])
def test_the_base_group_is_where_the_first_members_live(base, north):
    """``base_group`` (a scenario key, not a group index): the initial sleepers are placed by
    its people in towns. On the toy theatre the Sunni Arabs live in the northern governorate
    (85% of its people, 5% in the south), the Shia Arabs in the southern one (90%), so over
    90% of 2,000 sleepers land on the base group's side."""
    r = model.InsurgencyRun(scenario(ticks=1, base_group=base), 3, theatre=toy_theatre())
    ins = r.world.insurgents
    gov = r.world.geo.gov[ins.cell[ins.role == rules.SLEEPER]]
    assert len(gov) == 2_000
    assert bool((gov == 0).mean() > 0.9) is north and bool((gov == 1).mean() > 0.9) is not north


def test_a_theatre_without_the_models_groups_is_one_clear_error():
    th = toy_theatre()
    th.groups = ("pashtun", "shia_arab", "kurd", "other")
    with pytest.raises(ScenarioError) as err:
        model.InsurgencyRun(scenario(ticks=1), 3, theatre=th)
    msg = str(err.value)
    assert "groups = ['pashtun', 'shia_arab', 'kurd', 'other']" in msg
    assert "sunni_arab, shia_arab, kurd, other" in msg and "\n" not in msg


def test_a_bad_base_group_exits_2_with_one_line_and_writes_nothing(tmp_path: Path):
    (tmp_path / "bad.toml").write_text('extends = "iraq-2003-2020"\n'
                                       '[insurgency]\nbase_group = "pashtun"\n')
    exe = Path(sys.executable).with_name("resurgence")
    done = subprocess.run([str(exe), "run", "bad.toml", "--out", "out"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "insurgency.base_group = 'pashtun'" in lines[0] and "sunni_arab" in lines[0]
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("cap", [2_500, 600])
def test_no_row_in_use_is_on_the_free_stack(cap):
    """The member table's free stack holds only FREE rows, at the start (the initial members'
    rows were on it once: a recruit could take a member's row) and after a year with recruits,
    deaths and arrivals; the rows in use lie inside ``span`` (the kernels' loops skip the
    rest). With ``cap = 600`` the 500 initial members fill most of the table and the stack is
    taken down to its last rows."""
    r = model.InsurgencyRun(scenario(ticks=52, initial_fighters=500, max_insurgents=cap), 3,
                            theatre=toy_theatre())
    for week in range(53):
        ins = r.world.insurgents
        stack = ins.free_rows[: ins.n_free[0]]
        used = np.flatnonzero(ins.role != rules.FREE)
        assert (ins.role[stack] == rules.FREE).all() and len(set(stack)) == stack.size
        assert stack.size + used.size == cap  # every row free or in use, none lost
        lo, hi = ins.span
        assert ((used < lo) | (used >= hi)).all()
        assert r.world.counts.sleeper.sum() + r.world.counts.terr.sum() \
            + r.world.counts.desert.sum() + r.world.counts.captive.sum() == used.size
        if week < 52:
            r.step()


def test_a_prison_break_frees_about_its_reported_size():
    """``escapes`` = 500 of 10,000 captives (the July 2013 breaks' reported 'more than 500'):
    each captive escapes w.p. 0.05, so about 500 go back to the desert (binomial, tolerance 5
    standard deviations: 49) and no other row changes; asking more than are held frees all,
    and none are freed from an empty prison."""
    n = 12_000
    role = np.full(n, rules.CAPTIVE, np.int8)
    role[10_000:] = rules.SLEEPER
    jail = np.full(n, 300, np.int16)
    rows = Insurgents(np.zeros(n, np.int32), role, np.zeros(n, np.int8), jail,
                      np.zeros(0, np.int32), np.zeros(1, np.int64), np.array([n, n], np.int64))
    out = rules.escape(rows, 500.0, stream_key(1, 2, 12))
    sd = np.sqrt(10_000 * 0.05 * 0.95)
    assert abs(out - 500) < 5 * sd
    assert (role[:10_000] == rules.DESERT).sum() == out and (jail[role == rules.DESERT] == 0).all()
    assert (role[10_000:] == rules.SLEEPER).all()
    assert rules.escape(rows, 1e6, stream_key(1, 3, 12)) == 10_000 - out
    assert (role[:10_000] == rules.DESERT).all()
    assert rules.escape(rows, 500.0, stream_key(1, 4, 12)) == 0
