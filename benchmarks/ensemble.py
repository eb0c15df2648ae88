"""Ensemble throughput, overhead per run and memory over a long sweep.

    .venv/bin/python benchmarks/ensemble.py            # full (about 3-4 minutes on 2 cores)
    .venv/bin/python benchmarks/ensemble.py --quick    # smaller, for a smoke test

Each run uses one numba thread (the sweep's workers are the parallelism); the bare model too.

1. Throughput (runs per minute) of the same sweep on a local pool of 1 and 2 workers and on a
   local Dask cluster (2 worker processes, 1 thread each, on 127.0.0.1), beside the bare model
   (``simulate`` in a loop, no executor, no files) on the same runs.
2. Overhead per run against the bare model: (sweep wall time - bare time) / runs on 1 worker,
   and the same without start-up (from the first finished run on).
3. Memory over 1,000 runs: resident set size (RSS) of the sweep's parent and of its workers,
   sampled every 0.25 s; flat means the last samples are no higher than those after warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from _machine import cpu_model
from resurgence import __version__, simulate
from resurgence.experiments import Experiment, make_plan, sweep
from resurgence.experiments.worker import prepare_worker
from resurgence.scenario import Scenario

SCENARIO = """
name = "bench"
ticks = {ticks}
[grid]
width = {size}
height = {size}
[epstein]
citizen_vision = {vision}
cop_vision = {vision}
legitimacy = 0.8
"""

EXPERIMENT = """
name = "bench"
scenario = "scenario.toml"
seed = 1
replications = {reps}
[design]
kind = "latin_hypercube"
samples = {points}
[uncertainties."epstein.legitimacy"]
low = 0.7
high = 0.9
[outcomes]
keep = ["mean_active_share", "peak_active", "outbursts"]
"""


def machine() -> str:
    cpu = cpu_model()
    mem = psutil.virtual_memory().total / 2**30
    return (f"{cpu}; {os.cpu_count()} cores; {mem:.0f} GiB; Python {platform.python_version()}; "
            f"numpy {np.__version__}; resurgence {__version__}; {platform.platform()}")


def make(root: Path, size: int, vision: int, ticks: int, points: int, reps: int) -> Experiment:
    root.mkdir(parents=True, exist_ok=True)
    (root / "scenario.toml").write_text(SCENARIO.format(size=size, vision=vision, ticks=ticks))
    (root / "exp.toml").write_text(EXPERIMENT.format(points=points, reps=reps))
    return Experiment.load(root / "exp.toml")


def bare(exp: Experiment) -> float:
    """Seconds to simulate every run of the plan in this process, one after another."""
    plan = make_plan(exp)
    scenarios = [(Scenario.from_dict(plan.scenarios[r.run_id]), int(r.seed))
                 for r in plan.design.itertuples()]
    prepare_worker()  # as in the workers
    simulate(scenarios[0][0], seed=0, ticks=2)  # compile / load the kernels first
    clock = time.perf_counter()
    for scenario, seed in scenarios:
        simulate(scenario, seed=seed)
    return time.perf_counter() - clock


def timed_sweep(exp: Experiment, folder: Path, **kw: object) -> tuple[float, float, int]:
    """(wall seconds, seconds from the first finished run on, runs)."""
    first: list[float] = []
    clock = time.perf_counter()

    def on_progress(p: object) -> None:
        if not first:
            first.append(time.perf_counter())

    report = sweep(exp, folder, on_progress=on_progress, **kw)  # type: ignore[arg-type]
    wall = time.perf_counter() - clock
    assert report.complete, report.failed
    return wall, time.perf_counter() - first[0] if first else wall, report.ran


def memory(exp: Experiment, folder: Path, workers: int) -> list[tuple[int, float, float]]:
    """(runs done, parent RSS MiB, workers' RSS MiB) sampled during a sweep."""
    me = psutil.Process()
    samples: list[tuple[int, float, float]] = []
    done = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            kids = [p for p in me.children(recursive=True) if p.ppid() != me.pid]
            try:
                work = sum(p.memory_info().rss for p in kids) / 2**20
            except psutil.Error:
                work = float("nan")
            samples.append((done[0], me.memory_info().rss / 2**20, work))
            stop.wait(0.25)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()

    def on_progress(p: object) -> None:
        done[0] = p.done  # type: ignore[attr-defined]

    sweep(exp, folder, workers=workers, on_progress=on_progress)
    stop.set()
    thread.join()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter runs")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print("machine:", machine())
    points, reps = (8, 2) if args.quick else (16, 4)
    mem_runs = 200 if args.quick else 1000
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        exp = make(root / "tp", size=40, vision=7, ticks=200, points=points, reps=reps)
        runs = points * reps
        print(f"\n1. throughput: {runs} runs of a 40x40 torus (Run 2 densities), 200 ticks each")
        t_bare = bare(exp)
        rows = [("bare model (simulate in a loop)", t_bare, t_bare, runs)]
        rows.append(("local pool, 1 worker", *timed_sweep(exp, root / "w1", workers=1)))
        rows.append(("local pool, 2 workers", *timed_sweep(exp, root / "w2", workers=2)))
        from distributed import LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=50) as cluster:
            rows.append(("Dask LocalCluster, 2 workers",
                         *timed_sweep(exp, root / "dask", scheduler=cluster.scheduler_address)))
        print(f"   {'executor':32s} {'wall s':>8s} {'runs/min':>9s} {'runs/min*':>10s}")
        for name, wall, steady, n in rows:
            per_min = 60 * n / wall
            steady_per_min = 60 * (n - 1) / steady if steady < wall else per_min
            print(f"   {name:32s} {wall:8.2f} {per_min:9.1f} {steady_per_min:10.1f}")
            figures[name] = {"wall_s": wall, "runs_per_min": per_min,
                             "runs_per_min_after_first": steady_per_min}
        print("   * from the first finished run on (start-up excluded)")
        one_wall, one_steady = rows[1][1], rows[1][2]
        over = (one_wall - t_bare) / runs
        over_steady = (one_steady - t_bare * (runs - 1) / runs) / (runs - 1)
        print(f"\n2. overhead per run, 1 worker vs bare: {1000 * over:.1f} ms with start-up, "
              f"{1000 * over_steady:.1f} ms without (bare run: {1000 * t_bare / runs:.1f} ms)")
        figures["overhead_ms"] = {"with_startup": 1000 * over, "steady": 1000 * over_steady,
                                  "bare_run_ms": 1000 * t_bare / runs}

        exp = make(root / "mem", size=20, vision=3, ticks=50, points=mem_runs // 2, reps=2)
        print(f"\n3. memory: {mem_runs} runs (20x20, 50 ticks) on 2 local workers")
        clock = time.perf_counter()
        samples = memory(exp, root / "mem-out", workers=2)
        wall = time.perf_counter() - clock
        arr = np.array(samples)
        print(f"   {mem_runs} runs in {wall:.1f} s ({60 * mem_runs / wall:.0f} runs/min)")
        print(f"   {'runs done':>10s} {'parent MiB':>11s} {'workers MiB':>12s}")
        marks = sorted({int(f * mem_runs) for f in (0.1, 0.25, 0.5, 0.75, 1.0)})
        up = arr[arr[:, 2] > 0]
        for mark in marks:
            i = min(int(np.searchsorted(up[:, 0], mark)), len(up) - 1)
            print(f"   {int(up[i, 0]):10d} {up[i, 1]:11.1f} {up[i, 2]:12.1f}")
        warm = arr[(arr[:, 0] >= 0.1 * mem_runs) & (arr[:, 2] > 0)]  # pool still up
        growth_parent = warm[-1, 1] - warm[0, 1]
        growth_workers = warm[-1, 2] - warm[0, 2]
        print(f"   growth from 10% to 100% of the runs: parent {growth_parent:+.1f} MiB, "
              f"workers {growth_workers:+.1f} MiB")
        figures["memory"] = {"runs": mem_runs, "wall_s": wall,
                             "parent_mib_growth": growth_parent,
                             "workers_mib_growth": growth_workers,
                             "parent_mib_end": warm[-1, 1], "workers_mib_end": warm[-1, 2]}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    from resurgence.startup import prepare

    prepare()  # numba's cache in step with the kernels' sources, before any kernel runs
    main()
