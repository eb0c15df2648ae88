"""Violence against civilians (docs/model.md, Part II, Violence against civilians): sectarian
militias, violence that follows control, and civilians killed in battle, one mechanism at a
time on the toy theatre of ``tests/test_insurgency.py`` (a Sunni Arab north and a Shia Arab
south, each with a few residents of the other group). Each test sets a mechanism's parameter
high enough to act in a small world and compares it with a run where it cannot act."""

from __future__ import annotations

import numpy as np
import pytest
from tests.test_insurgency import H, besiege, city_under_siege, run, scenario, toy_theatre

from resurgence.models import insurgency as model

#: militias that kill where they are not curbed: the toy's few thousand Shia Arab residents of
#: each mixed cell raise a few hundred militia after a sectarian shock
MILITIA = {"initial_fighters": 1500, "attack_probability": 0.2, "militia_rate": 5.0,
           "militia_kill": 0.2}
SHOCK = {"date": "2010-02-19", "sectarian_shock": 1.0}  # week 7
INTEGRATED = {"date": "2010-01-08", "militia_integration": 1.0}


def unmixed_theatre():
    """The toy theatre with no resident of the other group anywhere: the north all Sunni
    Arab, the south all Shia Arab."""
    th = toy_theatre()
    people = th.population.sum(axis=0)
    north = np.arange(H)[:, None] < H // 2
    th.population = np.stack([people * north, people * ~north, 0 * people, 0 * people])
    return th


def test_without_mixed_areas_there_are_no_sectarian_killings():
    s = scenario(ticks=40, timeline=[INTEGRATED, SHOCK], **MILITIA)
    mixed = run(s).frame()
    unmixed = model.InsurgencyRun(s, 3, theatre=unmixed_theatre())
    for _ in range(s.ticks):
        unmixed.step()
    apart = unmixed.frame()
    assert apart["militia_sectarian"].iloc[-1] > 1000  # militias there, and nobody to kill
    assert apart["casualties_sectarian"].sum() == 0
    assert mixed["casualties_sectarian"].sum() > 20
    # the killings drive Sunni Arabs out of the mixed cells and kill them
    assert mixed["displaced_sunni_arab"].iloc[-1] > apart["displaced_sunni_arab"].iloc[-1]


def test_a_sectarian_shock_raises_militia_and_insurgent_recruitment():
    """Samarra in the toy: the shock raises the fear of the Shia Arab community (militia) and
    costs the government the Sunni Arabs' legitimacy (the insurgents' recruits), against the
    same run without it."""
    calm = run(scenario(ticks=30, timeline=[INTEGRATED], **MILITIA)).frame()
    shocked = run(scenario(ticks=30, timeline=[INTEGRATED, SHOCK], **MILITIA)).frame()
    after = slice(8, 31)
    assert shocked["militia_sectarian"].iloc[20] > 2 * calm["militia_sectarian"].iloc[20]
    assert shocked["casualties_sectarian"][after].sum() > 1.5 * \
        calm["casualties_sectarian"][after].sum()
    assert shocked["recruits_asked"][after].sum() > 1.5 * calm["recruits_asked"][after].sum()
    assert shocked.iloc[:7].equals(calm.iloc[:7])  # the same run up to the shock


def test_the_crackdown_lever_cuts_militia_numbers_and_killings():
    crackdown = {"date": "2010-04-02", "militia_crackdown": 0.8}  # week 13
    free = run(scenario(ticks=60, timeline=[INTEGRATED, SHOCK], **MILITIA)).frame()
    curbed = run(scenario(ticks=60, timeline=[INTEGRATED, SHOCK, crackdown],
                          **MILITIA)).frame()
    later = slice(20, 61)
    assert curbed["militia_sectarian"].iloc[-1] < 0.3 * free["militia_sectarian"].iloc[-1]
    assert curbed["casualties_sectarian"][later].sum() < \
        0.2 * free["casualties_sectarian"][later].sum()
    assert free["casualties_sectarian"][later].sum() > 50


def test_forces_that_do_not_include_the_militias_curb_them():
    """Integration 0: the forces curb the militias by the share of residents they cover;
    integration 1: not at all, so more are killed."""
    outside = run(scenario(ticks=40, timeline=[SHOCK], **MILITIA)).frame()
    inside = run(scenario(ticks=40, timeline=[INTEGRATED, SHOCK], **MILITIA)).frame()
    assert inside["casualties_sectarian"].sum() > 1.5 * outside["casualties_sectarian"].sum()


@pytest.mark.parametrize("protection", [0.0, 1.0])
def test_a_city_taken_by_assault_has_civilian_battle_deaths(protection):
    """300 fighters in a city against 2,000 personnel fight (attrition on): civilians die in
    the fighting, unless civilians are protected; an uncontested city (no fighters) has
    none."""
    params = {"battle_civilians": 2.0, "attrition_insurgent": 0.3}
    r, city = city_under_siege(300, 1, **params)
    r.set_levers(civilian_protection=protection)
    besiege(r, city)
    f = r.world.fields
    assert f.killed_cell[city] > 0
    fought = f.battle_cell[city]
    quiet, city = city_under_siege(0, 1, **params)
    besiege(quiet, city)
    assert quiet.world.fields.battle_cell.sum() == 0
    if protection == 0.0:
        assert fought > 0 and r.frame()["casualties_battle"].iloc[-1] == f.battle_cell.sum()
    else:
        assert fought == 0


@pytest.mark.parametrize("floor", [1.0, 0.2])
def test_the_group_executes_where_it_takes_populated_ground(floor):
    """The city of the morale test: with ``morale_floor = 0.2`` the group takes it and
    executes residents who do not back it that week; with 1 it does not take it and
    executes nobody."""
    r, city = city_under_siege(300, 1, morale_floor=floor, executions=5.0)
    besiege(r, city)
    f = r.world.fields
    assert bool(f.held[city]) is (floor < 1.0)
    if floor < 1.0:
        nonsym = (r.world.census.present[city] - r.world.census.sym[city]) * 200
        assert nonsym > 10_000
        assert f.executions_cell[city] > 0
    else:
        assert f.executions_cell.sum() == 0


def test_reprisals_follow_the_government_back_into_a_city():
    """A city taken (morale floor 0.2), then retaken by overwhelming forces: its sympathisers
    suffer reprisals that week, none with ``reprisals = 0``."""
    def retake(rate: float) -> float:
        r, city = city_under_siege(300, 1, morale_floor=0.2, reprisals=50.0 * rate,
                                   attrition_insurgent=0.5)
        besiege(r, city)
        assert r.world.fields.held[city]
        forces = r.world.forces
        for _ in range(20):
            forces.security[:] = 0.0
            forces.security[city] = 3000.0
            model.recount(r.world, r.cfg)
            r.step()
            if not r.world.fields.held[city]:
                return float(r.world.fields.reprisals_cell[city])
        raise AssertionError("the city was not retaken")

    assert retake(1.0) > 0
    assert retake(0.0) == 0


def test_deaths_by_perpetrator_and_displaced_by_group_add_up():
    """The civilian deaths are the sum of their perpetrators; the governorate frame's new
    columns sum to the national ones."""
    s = scenario(ticks=30, timeline=[INTEGRATED, SHOCK], executions=2.0, coercion=0.05,
                 battle_civilians=1.0, **MILITIA)
    r = run(s)
    df, gov = r.frame(), r.governorate_frame()
    parts = df[[f"casualties_{k}" for k in model.PERPETRATORS]].sum(axis=1)
    np.testing.assert_allclose(df["casualties_civilian"], parts)
    cols = [f"casualties_{k}" for k in model.PERPETRATORS] + ["militia_sectarian"] + \
        [f"displaced_{g}" for g in model.GROUPS]
    sums = gov.groupby("tick")[cols].sum()
    np.testing.assert_allclose(sums.to_numpy(), df[cols].to_numpy(), rtol=1e-9)
    assert df["casualties_sectarian"].sum() > 0 and df["displaced_sunni_arab"].iloc[-1] > 0
