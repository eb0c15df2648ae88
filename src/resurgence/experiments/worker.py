"""What a worker process does for one run: simulate, reduce, write the run file, report.

This is the code that runs on the workers of a sweep (local processes or Dask workers); it takes
plain data and returns plain data, so that any ``concurrent.futures`` executor can carry it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resurgence.experiments.outcomes import reduce


@dataclass(frozen=True)
class RunTask:
    """One run: its scenario (a validated mapping), seed, what to keep and where to write."""

    run_id: str
    scenario: dict[str, Any]
    seed: int
    params: dict[str, Any]
    outcomes: list[str]
    burn_in: int
    outburst_threshold: int
    series: bool
    path: str
    provenance: dict[str, Any] = field(default_factory=dict)
    after: str | None = None  # count a resurgence only after this date (ISO)


def process_identity(pid: int | None = None) -> tuple[int, float]:
    """(pid, start time) of a process: unlike a pid alone, never reused."""
    import psutil

    proc = psutil.Process(pid)
    return proc.pid, proc.create_time()


def watch_parent(parent: tuple[int, float], interval: float = 0.5) -> None:
    """Pool initializer: exit this worker as soon as the sweep that started it is gone.

    A local pool's workers would otherwise outlive a SIGKILLed sweep, blocked forever on their
    task queue (or finishing queued runs while a resumed sweep runs the same ones)."""
    import psutil

    def watch() -> None:
        while True:
            time.sleep(interval)
            try:
                alive = abs(psutil.Process(parent[0]).create_time() - parent[1]) < 1e-3
            except psutil.Error:
                alive = False
            if not alive:
                os._exit(70)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def prepare_worker() -> None:
    """What a worker does before a run: :func:`resurgence.startup.prepare` (numba's cache in
    step with the kernels, matplotlib off screen; once per process, local or on Dask), and one
    numba thread per run: an ensemble is parallel across runs, and parallel kernels in every
    worker would oversubscribe the cores (results do not depend on the thread count)."""
    import numba

    from resurgence.startup import prepare

    prepare()
    if numba.get_num_threads() != 1:
        numba.set_num_threads(1)


def execute(task: RunTask) -> dict[str, Any]:
    """Run one simulation and write ``task.path``; return the run's record."""
    import pandas as pd

    from resurgence.api import simulate
    from resurgence.scenario import Scenario
    from resurgence.store.catalog import write_run

    prepare_worker()
    started = time.time()
    clock = time.perf_counter()
    scenario = Scenario.from_dict(task.scenario, source=f"run {task.run_id}")
    frame = simulate(scenario, seed=task.seed)
    seconds = time.perf_counter() - clock
    summary = None
    if scenario.model != "epstein":  # the model's own headline outcomes
        from resurgence.analysis import summarise

        summary = summarise(scenario, frame, after=task.after)
    outcomes = reduce(frame, task.outcomes, task.burn_in, task.outburst_threshold, summary)
    record = {
        "run_id": task.run_id,
        "seed": task.seed,
        "scenario_digest": scenario.digest(),
        "params": task.params,
        **task.provenance,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started_at": started,
        "seconds": seconds,
        "ticks": scenario.ticks,
        "file": Path(task.path).name,
        "outcomes": outcomes,
    }
    if task.series:
        frame.insert(0, "run_id", task.run_id)
        table = frame
    else:
        table = pd.DataFrame([{"run_id": task.run_id, **outcomes}])
    write_run(Path(task.path), table, record)
    return record
