"""The structural options of the policy study (issue 22; docs/model.md, Part II, Structural
options), one at a time on the toy theatre of ``tests/test_insurgency.py``: inclusion delivered
late, in part or not for good; backlash; the group's counter-move against inclusion; a safe
haven across the border. Each at its default is today's model (``tests/test_frame_hashes.py``);
each test compares a run with the option against the same run without it."""

from __future__ import annotations

import numpy as np
import pytest
from tests.test_insurgency import H, W, run, scenario, toy_theatre

from resurgence.models import insurgency as model
from resurgence.models import insurgency_rules as rules

RISE = {"date": "2010-03-05", "inclusion_sunni_arab": 0.7}  # week 9: from 0.2 to 0.7


def test_delivered_inclusion_is_late_partial_and_can_lapse():
    """By hand: a rise of 0.5 at week 2 with delay 3, credibility 0.6 and lapse 4 is 0.3 in
    force from week 5 to week 8 and gone from week 9; a fall is in force at once."""
    a = np.array([0.2, 0.2, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.1, 0.1])
    changes = {k: a.copy() for k in model.INCLUSION}
    cfg = scenario(inclusion_delay_weeks=3, inclusion_credibility=0.6,
                   inclusion_lapse_weeks=4).insurgency
    got = model.delivered_inclusion(changes, cfg)["inclusion_sunni_arab"]
    np.testing.assert_allclose(got, [0.2, 0.2, 0.2, 0.2, 0.2, 0.5, 0.5, 0.5, 0.5, 0.2, 0.0,
                                     0.0], atol=1e-12)
    assert model.delivered_inclusion(changes, scenario().insurgency) == {}


def test_a_delayed_inclusion_raises_legitimacy_only_when_delivered():
    now = run(scenario(ticks=14, timeline=[RISE], initial_fighters=0)).frame()
    late = run(scenario(ticks=14, timeline=[RISE], initial_fighters=0,
                        inclusion_delay_weeks=4)).frame()
    assert now["lever_inclusion_sunni_arab"].iloc[9] == 0.7
    assert late["lever_inclusion_sunni_arab"].iloc[12] == 0.2  # in force: not yet delivered
    assert late["lever_inclusion_sunni_arab"].iloc[13] == pytest.approx(0.7)
    gain = now["legitimacy_sunni_arab"].iloc[12] - now["legitimacy_sunni_arab"].iloc[8]
    late_gain = late["legitimacy_sunni_arab"].iloc[12] - late["legitimacy_sunni_arab"].iloc[8]
    assert gain > 0.01 and abs(late_gain) < gain / 4


def test_backlash_costs_the_other_groups_legitimacy_when_one_is_included():
    calm = run(scenario(ticks=10, timeline=[RISE], initial_fighters=0)).frame()
    angry = run(scenario(ticks=10, timeline=[RISE], initial_fighters=0, backlash=0.2)).frame()
    drop = calm["legitimacy_shia_arab"].iloc[9] - angry["legitimacy_shia_arab"].iloc[9]
    assert drop == pytest.approx(0.2 * 0.5, rel=0.05)  # backlash x rise, once
    assert calm["legitimacy_sunni_arab"].iloc[9] == angry["legitimacy_sunni_arab"].iloc[9]
    assert calm.iloc[:9].equals(angry.iloc[:9])


def test_the_counter_move_kills_cooperators_where_the_base_group_backs_the_state():
    """Sleepers assassinate ``counter_move`` cooperators a week each where the base group's
    legitimacy is 1: per sleeper-week, about ``counter_move`` times its legitimacy (within 20%:
    legitimacy is the North's, where the sleepers are, not the average printed), so more
    where inclusion has raised it; none without the option."""
    def per_sleeper_week(rate: float, inclusion: float) -> tuple[float, float]:
        s = scenario(ticks=60, initial_fighters=1500, attack_probability=0.0, counter_move=rate,
                     timeline=[{"date": "2010-01-08", "inclusion_sunni_arab": inclusion}])
        df = run(s).frame()
        return (float(df["casualties_executions"].sum() / df["sleepers"].sum()),
                float(df["legitimacy_sunni_arab"].mean()))

    assert per_sleeper_week(0.0, 0.9)[0] == 0
    (included, l_in), (excluded, l_ex) = per_sleeper_week(0.01, 0.9), per_sleeper_week(0.01, 0.1)
    assert included > 1.2 * excluded > 0
    for rate, legit in ((included, l_in), (excluded, l_ex)):
        assert 0.8 < rate / (0.01 * legit) < 1.2


def test_a_haven_takes_desert_fighters_out_of_reach_and_sends_them_back():
    """Desert fighters by the crossing withdraw into the haven (the stock grows, they leave
    the map) and come back through the open crossing at ``haven_return`` a week; a haven
    inflow adds fighters whatever the propaganda, none with the border closed."""
    th = toy_theatre()
    s = scenario(ticks=1, initial_fighters=0, foreign_base=0, recruit_rate=0, haven_exit=1.0,
                 haven_return=0.0, haven_km=60.0)
    r = model.InsurgencyRun(s, 3, theatre=th)
    ins = r.world.insurgents
    near = int(np.ravel_multi_index((6, 1), (H, W)))  # two cells from the crossing at (6, 0)
    far = int(np.ravel_multi_index((6, 9), (H, W)))
    assert r.world.geo.near_entry[near] and not r.world.geo.near_entry[far]
    rows = np.arange(200)
    ins.cell[rows] = np.where(rows < 100, near, far)
    ins.role[rows] = rules.DESERT
    ins.n_free[0] -= 200
    ins.free_rows[: ins.n_free[0]] = np.arange(r.cfg.max_insurgents - 1, 199, -1)[
        : ins.n_free[0]]
    model.recount(r.world, r.cfg)
    left = model.haven(r.world, r.cfg, r.levers, model.Streams(3, 1), r.world.geo.entry, 1.0)
    assert left["haven_left"] == 100 and r.world.org.haven == 100
    assert (ins.role[:100] == rules.FREE).all() and (ins.role[100:200] == rules.DESERT).all()
    back = model.haven(r.world, r.cfg.model_copy(update={"haven_return": 0.5, "haven_exit": 0}),
                       r.levers, model.Streams(3, 2), r.world.geo.entry, 1.0)
    assert 30 < back["haven_back"] < 70 and r.world.org.haven == 100 - back["haven_back"]

    def inflow(border: float) -> float:
        s = scenario(ticks=30, initial_fighters=0, foreign_base=0, recruit_rate=0,
                     haven_inflow=20.0, open_crossing=1e7,  # the crossing stays open
                     timeline=[{"date": "2010-01-08", "border_control": border}])
        return float(run(s).frame()["foreign_inflow_haven"].sum())

    assert inflow(1.0) == 0 and 450 < inflow(0.0) < 700  # about 20 a week for 29 weeks
