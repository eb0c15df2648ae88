"""The same runs, bit for bit: short runs of bundled scenarios hash as recorded.

``benchmarks/frame_hashes.py --check`` compares every bundled scenario's full runs (seeds 1
and 2) with ``benchmarks/frame_hashes.json``; this test guards a short subset with every test
run: 80 weeks of ``iraq-2003-2020`` (national and governorate frames) and the 500 ticks of
``epstein-run-2`` (under a second once compiled), seed 1. A change that must not change a
run (a restructuring, a faster kernel) keeps them; a change of the model re-records them
(``--write``) in the same commit.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "frame_hashes.py"


def _hashes_module():
    spec = importlib.util.spec_from_file_location("frame_hashes", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fh = _hashes_module()


def test_a_hash_sees_the_last_bit_of_a_float_and_a_name():
    df = pd.DataFrame({"tick": np.arange(3), "x": [0.1, 0.2, 0.3]})
    h = fh.frame_hash(df)
    nudged = df.copy()
    nudged.loc[2, "x"] = np.nextafter(0.3, 1.0)
    assert fh.frame_hash(nudged) != h
    assert fh.frame_hash(df.rename(columns={"x": "y"})) != h
    assert fh.frame_hash(df.copy()) == h


#: ``iraq-2003-2020``, seed 1, 80 weeks, as recorded before the violence mechanisms and the
#: structural options existed (652e0c9); their columns are new, all zero while they are off
BEFORE_VIOLENCE = {
    "frame": "9f5070cff4fb52497b82da077d8d37648a7d4ef1895b56181656ca055976a9df",
    "governorates": "2dfc954ee9008eb4a9b793d734798678f3901fb7e5bdda7c4555a712df0a39e5"}
VIOLENCE_LEVERS = ("militia_integration", "militia_crackdown", "militia_mobilisation",
                   "civilian_protection")
#: the mechanisms added since, each off at its default
OFF = ("militia_rate", "militia_mobilised", "executions", "coercion", "reprisals",
       "battle_civilians", "counter_move", "backlash", "haven_inflow", "haven_exit")


def test_with_the_new_mechanisms_off_the_history_is_the_one_before_them():
    """Issues 21 and 22's promise: a scenario without militias, with the control-violence
    parameters at zero and the structural options at their defaults (as the bundled history
    has them) runs as before they existed, bit for bit, once their new columns are set aside."""
    from resurgence import Scenario
    from resurgence.models import insurgency
    from resurgence.scenario.catalog import bundled

    s = Scenario.load(bundled()["iraq-2003-2020"])
    assert all(getattr(s.insurgency, k) == 0 for k in OFF)
    assert (s.insurgency.inclusion_delay_weeks, s.insurgency.inclusion_credibility,
            s.insurgency.inclusion_lapse_weeks) == (0, 1.0, 0)
    run = insurgency.run_once(s, 1, 80)
    df, gov = run.frame(), run.governorate_frame()
    new = [c for c in df.columns if c.startswith(("militia_", "displaced_", "haven")) or c in (
        *(f"casualties_{k}" for k in insurgency.PERPETRATORS[1:5]), "foreign_inflow_haven",
        *(f"lever_{k}" for k in VIOLENCE_LEVERS))]
    by_group = [c for c in new if c.startswith("displaced_")]
    assert len(new) == 16 and (df[[c for c in new if c not in by_group]] == 0).all().all()
    assert (df[by_group].sum(axis=1) == df["displaced"]).all()
    old_gov = list(gov.columns[:4 + insurgency.GOV_COLUMNS.index("legitimacy_other") + 1])
    assert fh.frame_hash(df.drop(columns=new)) == BEFORE_VIOLENCE["frame"]
    assert fh.frame_hash(gov[old_gov]) == BEFORE_VIOLENCE["governorates"]


@pytest.mark.parametrize("name, ticks", [("iraq-2003-2020", 80), ("epstein-run-2", None)])
def test_short_runs_are_the_recorded_ones_bit_for_bit(name, ticks):
    expected = json.loads(fh.EXPECTED.read_text())[fh.key(name, 1, ticks)]
    assert fh.hashes(name, 1, ticks) == expected
