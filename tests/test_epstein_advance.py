"""Several ticks per kernel call (EpsteinRun.advance) give the same run as one tick per call."""

from __future__ import annotations

import pandas as pd
import pytest

from resurgence import Scenario, simulate
from resurgence.models import epstein
from resurgence.scenario.catalog import bundled


@pytest.mark.parametrize("name", ["epstein-run-5", "epstein-peacekeepers", "mesa-example",
                                  "epstein-run-7"])
def test_batched_ticks_equal_ticks_one_by_one(name):
    # run 5 and the peacekeepers change the cop density on the timeline (at ticks 50 and 125,
    # and 50): batches must stop there and apply the change first
    scenario = Scenario.load(bundled()[name]).with_overrides(ticks=140)
    one_by_one = epstein.EpsteinRun(scenario, seed=5)
    for _ in range(scenario.ticks):
        one_by_one.step()
    batched = epstein.EpsteinRun(scenario, seed=5)
    seen: list[int] = []
    for n in (1, 2, 47, 3, 60, 27):  # 140 ticks in uneven batches, across the change ticks
        batched.advance(n, on_tick=seen.append)
    assert batched.tick == one_by_one.tick == scenario.ticks
    assert seen == list(range(1, scenario.ticks + 1))
    expected = one_by_one.frame()
    pd.testing.assert_frame_equal(batched.frame(), expected)
    pd.testing.assert_frame_equal(simulate(scenario, seed=5), expected)
    assert expected.active.max() > 0 or expected.jailed.max() > 0


def test_small_chunks_equal_one_call(monkeypatch):
    scenario = Scenario.load(bundled()["epstein-run-2"]).with_overrides(ticks=60)
    whole = simulate(scenario, seed=3)
    monkeypatch.setattr(epstein, "CHUNK_AGENT_STEPS", 5000)  # a few ticks per kernel call
    pd.testing.assert_frame_equal(simulate(scenario, seed=3), whole)
