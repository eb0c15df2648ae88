"""`resurgence compare`: outcomes of result folders with confidence intervals over seeds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from resurgence.compare import mean_interval, proportion_interval

SMALL = """
name = "{name}"
model = "insurgency"
start = 2014-01-01
ticks = 20
seed = 1
[insurgency]
cell_km = 40
people_per_agent = 5000
[levers]
inclusion_sunni_arab = {inclusion}
"""


def resurgence(*args: str, cwd: Path, columns: int = 200) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("resurgence")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "COLUMNS": str(columns)})


def test_wilson_and_t_intervals_match_known_values():
    # Wilson 95% for 8 of 10: (0.490, 0.943) (e.g. Newcombe 1998, Table I method 3)
    p, lo, hi = proportion_interval(8, 10)
    assert p == 0.8 and lo == pytest.approx(0.490, abs=1e-3) and hi == pytest.approx(0.943,
                                                                                      abs=1e-3)
    mean, lo, hi = mean_interval([1.0, 2.0, 3.0])  # t(0.975, 2) = 4.303, s = 1
    assert mean == 2.0 and hi - mean == pytest.approx(4.303 / 3**0.5, rel=1e-3)


def _whole(stdout: str) -> None:
    """Every number of a printed table whole in an 80-column terminal: none cut off ("…"), and
    large ones grouped by thousands, not in scientific notation or with three decimals."""
    assert "…" not in stdout and "e+0" not in stdout, stdout
    assert re.search(r"\d{1,3},\d{3}", stdout), stdout


def test_compare_two_policies_end_to_end(tmp_path: Path):
    for name, inclusion in (("exclusion", 0.1), ("inclusion", 0.9)):
        (tmp_path / f"{name}.toml").write_text(SMALL.format(name=name, inclusion=inclusion))
        done = resurgence("run", f"{name}.toml", "--seeds", "2", cwd=tmp_path, columns=80)
        assert done.returncode == 0, done.stderr
        assert "peak territory km2" in done.stdout and "seed 2" in done.stdout
        _whole(done.stdout)
    done = resurgence("compare", "results/exclusion", "results/inclusion", "--out", "cmp.csv",
                      cwd=tmp_path, columns=80)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "cmp.csv")
    assert set(table.scenario) == {"exclusion", "inclusion"}
    assert {"resurgence", "casualties_cumulative", "members_end"} <= set(table.outcome)
    assert (table.low <= table.estimate).all() and (table.estimate <= table.high).all()
    assert (table.seeds == 2).all()
    assert (tmp_path / "cmp.png").read_bytes()[:4] == b"\x89PNG"
    assert "members end" in done.stdout
    _whole(done.stdout)


def test_compare_a_folder_that_is_not_a_result_exits_2(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    done = resurgence("compare", "empty", cwd=tmp_path)
    assert done.returncode == 2
    assert "run.json" in done.stderr and "Traceback" not in done.stderr
