"""A sweep SIGKILLed at random moments, several times, then run again: every run of the
design is there exactly once, no finished run was lost or run again.

The sweep is the real command in a subprocess. "Run again" is checked on the files: a run file
that existed after a kill must never be rewritten (same inode and mtime) by a later sweep, and
the final sweep runs exactly the runs that had no file.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from resurgence.experiments import Experiment, make_plan
from resurgence.store.catalog import Catalog, run_files

EXPERIMENT = """
name = "resume"
scenario = "scenario.toml"
seed = 5
replications = 4
[design]
kind = "latin_hypercube"
samples = 8
[uncertainties."epstein.legitimacy"]
low = 0.6
high = 0.9
[outcomes]
keep = ["mean_active_share", "outbursts"]
"""

SCENARIO = """
ticks = 20000  # long enough that kills land mid-sweep with the fast kernels
[grid]
width = 20
height = 20
[epstein]
citizen_vision = 3
cop_vision = 3
"""


def start(tmp_path: Path, i: int) -> subprocess.Popen[bytes]:
    """The real command, in its own process group, output to files (a killed sweep's
    orphans must not keep a pipe of ours open)."""
    exe = Path(sys.executable).with_name("resurgence")
    with open(tmp_path / f"out-{i}.txt", "wb") as out, open(tmp_path / f"err-{i}.txt",
                                                              "wb") as err:
        return subprocess.Popen([str(exe), "sweep", "exp.toml", "--workers", "2", "--out",
                                 "out"], cwd=tmp_path, stdout=out, stderr=err,
                                start_new_session=True, env={**os.environ, "COLUMNS": "200"})


def wait_group_gone(pgid: int, timeout: float = 30) -> None:
    """Wait until no process of a killed command (parent, forkserver, workers) is left."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.killpg(pgid, signal.SIGKILL)
    raise AssertionError("processes of a killed command stayed alive")


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {rid: (p.stat().st_ino, p.stat().st_mtime_ns) for rid, p in run_files(folder).items()}


def test_sigkilled_sweep_resumes_with_every_run_exactly_once(tmp_path: Path):
    (tmp_path / "scenario.toml").write_text(SCENARIO)
    (tmp_path / "exp.toml").write_text(EXPERIMENT)
    planned = set(make_plan(Experiment.load(tmp_path / "exp.toml")).run_ids)
    assert len(planned) == 32
    folder = tmp_path / "out"
    rng = random.Random(2024)
    seen: dict[str, tuple[int, int]] = {}
    counts = []
    for kill in range(5):
        proc = start(tmp_path, kill)
        if kill > 0:  # mid-sweep: once this sweep has finished a run, at a random moment
            end = time.monotonic() + 120
            while len(run_files(folder)) <= len(seen) and time.monotonic() < end:
                time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.2) if kill > 0 else rng.uniform(0.2, 2.0))
        if kill % 2 == 0:
            os.kill(proc.pid, signal.SIGKILL)  # the parent only: its workers must notice
        else:
            os.killpg(proc.pid, signal.SIGKILL)  # the whole sweep at once
        proc.wait()
        wait_group_gone(proc.pid)
        now = snapshot(folder)
        for rid, stamp in seen.items():
            assert now.get(rid) == stamp, f"run {rid} lost or rewritten after kill {kill}"
        assert set(now) <= planned
        seen = now
        counts.append(len(now))
    proc = start(tmp_path, 99)
    try:
        proc.wait(timeout=300)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    out, err = (tmp_path / "out-99.txt").read_text(), (tmp_path / "err-99.txt").read_text()
    assert proc.returncode == 0, err
    final = snapshot(folder)
    assert set(final) == planned
    for rid, stamp in seen.items():
        assert final[rid] == stamp, f"run {rid} was run again"
    ran = re.search(r"32 runs: (\d+) done before, (\d+) ran, 0 failed", out)
    assert ran, out
    assert int(ran.group(1)) == len(seen) and int(ran.group(2)) == 32 - len(seen)
    catalog = Catalog(folder, read_only=True)
    runs = catalog.query("SELECT run_id FROM runs")
    assert runs.run_id.is_unique and set(runs.run_id) == planned
    assert len(catalog.query("SELECT * FROM results")) == 32
    assert not [p for p in (folder / "runs").iterdir() if p.name.startswith(".")]
    assert counts == sorted(counts)  # progress is never lost between kills
    assert sum(0 < c < 32 for c in counts) >= 3, f"too few kills mid-sweep: {counts}"
