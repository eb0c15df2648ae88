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


@pytest.mark.parametrize("name, ticks", [("iraq-2003-2020", 80), ("epstein-run-2", None)])
def test_short_runs_are_the_recorded_ones_bit_for_bit(name, ticks):
    expected = json.loads(fh.EXPECTED.read_text())[fh.key(name, 1, ticks)]
    assert fh.hashes(name, 1, ticks) == expected
