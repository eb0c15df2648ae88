"""Sweeps: the same results on any executor (local pool, real Dask cluster on 127.0.0.1),
retries when a worker dies, a catalog rebuilt from the run files."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pandas as pd
import psutil
import pytest

from resurgence.experiments import Experiment, sweep
from resurgence.store.catalog import Catalog, run_files

SMALL = """
name = "small"
scenario = "scenario.toml"
seed = 11
replications = 2
[design]
kind = "latin_hypercube"
samples = {samples}
[uncertainties."epstein.legitimacy"]
low = 0.6
high = 0.9
[uncertainties."epstein.citizen_vision"]
low = 1
high = 4
[levers]
"epstein.max_jail_term" = [10, 30]
[outcomes]
keep = ["mean_active_share", "peak_active", "outbursts", "max_jailed"]
burn_in = 5
outburst_threshold = 20
"""

SCENARIO = """
name = "small grid"
ticks = {ticks}
[grid]
width = 20
height = 20
[epstein]
citizen_vision = 3
cop_vision = 3
"""


def experiment(tmp_path: Path, samples: int = 2, ticks: int = 40) -> Experiment:
    (tmp_path / "scenario.toml").write_text(SCENARIO.format(ticks=ticks))
    (tmp_path / "exp.toml").write_text(SMALL.format(samples=samples))
    return Experiment.load(tmp_path / "exp.toml")


def everything(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(outcomes per design row, every run's per-tick rows), sorted, without timings."""
    cat = Catalog(folder, read_only=True)
    results = cat.query("SELECT * EXCLUDE (seconds, host, started_at) FROM results ORDER BY row")
    series = cat.query("SELECT * FROM series ORDER BY run_id, tick")
    return results, series


@pytest.fixture(scope="module")
def dask_cluster():
    """A real Dask scheduler and two worker processes (with nannies) on 127.0.0.1."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       silence_logs=50)
    yield cluster
    cluster.close()


def test_dask_cluster_gives_the_local_pools_results_bit_for_bit(tmp_path: Path, dask_cluster):
    exp = experiment(tmp_path)
    local = sweep(exp, tmp_path / "local", workers=2)
    single = sweep(exp, tmp_path / "single", workers=1)
    remote = sweep(exp, tmp_path / "dask", scheduler=dask_cluster.scheduler_address)
    assert local.complete and single.complete and remote.complete
    assert local.ran == remote.ran == 2 * 2 * 2  # points x policies x replications
    assert "Dask" in remote.executor
    a, b, c = everything(tmp_path / "local"), everything(tmp_path / "single"), \
        everything(tmp_path / "dask")
    assert len(a[0]) == 8 and len(a[1]) == 8 * 41
    pd.testing.assert_frame_equal(a[0], c[0])
    pd.testing.assert_frame_equal(a[1], c[1])
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    hosts = Catalog(tmp_path / "dask", read_only=True).query("SELECT DISTINCT pid FROM runs")
    assert len(hosts) == 2  # both Dask workers ran some


def test_a_dask_worker_killed_mid_sweep_is_replaced_and_the_sweep_completes(
        tmp_path: Path, dask_cluster):
    from distributed import Client

    exp = experiment(tmp_path, samples=3, ticks=500)
    with Client(dask_cluster.scheduler_address) as client:
        pids = client.run(os.getpid)
    killed = []

    def kill_one(progress) -> None:
        if not killed:  # after the first run: the workers are busy with the next ones
            pid = sorted(pids.values())[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    report = sweep(exp, tmp_path / "out", scheduler=dask_cluster.scheduler_address,
                   on_progress=kill_one)
    assert killed
    assert report.complete and report.ran == 12
    assert set(run_files(tmp_path / "out")) == set(Catalog(tmp_path / "out", read_only=True)
                                                   .query("SELECT run_id FROM design").run_id)
    reference = sweep(exp, tmp_path / "ref", workers=2)
    assert reference.complete
    pd.testing.assert_frame_equal(everything(tmp_path / "out")[0],
                                  everything(tmp_path / "ref")[0])


def test_a_local_worker_killed_mid_sweep_breaks_the_pool_which_is_replaced(tmp_path: Path):
    exp = experiment(tmp_path, samples=3, ticks=500)
    me = os.getpid()
    killed = []

    def kill_one(progress) -> None:
        if killed:
            return
        # pool workers are forked by the forkserver (our child): its children, and not other
        # grandchildren (a module-scoped Dask cluster's workers are its nannies' children)
        forkservers = [p for p in psutil.Process(me).children()
                       if "forkserver" in " ".join(p.cmdline())]
        workers = [w for f in forkservers for w in f.children()]
        if workers:
            workers[0].kill()
            killed.append(workers[0].pid)

    report = sweep(exp, tmp_path / "out", workers=2, on_progress=kill_one)
    assert killed
    assert report.retried >= 1
    assert report.complete and report.ran == 12 and not report.failed
    results, _ = everything(tmp_path / "out")
    assert len(results) == 12 and results.run_id.is_unique


def test_catalog_is_rebuilt_from_run_files_and_missing_runs_rerun(tmp_path: Path):
    exp = experiment(tmp_path)
    folder = tmp_path / "out"
    first = sweep(exp, folder, workers=2)
    assert first.ran == 8
    before = everything(folder)
    files = sorted(run_files(folder).values())
    files[0].unlink()  # a run lost
    (folder / "catalog.duckdb").write_bytes(b"not a database")  # a catalog wrecked
    (folder / "runs" / ".x.parquet.123.tmp").write_bytes(b"half")  # a write cut short
    again = sweep(exp, folder, workers=2)
    assert again.done_before == 7 and again.ran == 1 and again.complete
    assert not list((folder / "runs").glob(".*"))
    after = everything(folder)
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])
    assert list(folder.glob("catalog.duckdb.broken-*"))
