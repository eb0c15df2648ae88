"""Run an experiment's plan into a results folder, resumably.

The parent process plans, submits runs to an executor, and keeps the catalog; the workers
simulate and write one file per run (write, then rename). A run is done when its file exists,
so a sweep killed at any moment and started again skips every finished run and runs every
other one: none lost, none run twice. Only one sweep works in a folder at a time (a lock
file); a run whose worker died is retried (``retries`` times), a run that raised is reported
as failed and tried again by the next sweep.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resurgence import __version__
from resurgence.errors import Problem, UserInputError
from resurgence.experiments.design import Plan, check_size, make_plan
from resurgence.experiments.executors import Pool, is_retryable
from resurgence.experiments.spec import Experiment
from resurgence.experiments.worker import RunTask, execute
from resurgence.store import run_folder
from resurgence.store.catalog import (
    PLAN,
    Catalog,
    remove_partial_files,
    run_path,
    write_design,
    write_json,
)


@dataclass
class SweepReport:
    """What a sweep did."""

    folder: Path
    planned: int  # distinct runs in the plan
    done_before: int  # already finished when the sweep started
    ran: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # run_id -> error
    retried: int = 0
    seconds: float = 0.0
    executor: str = ""

    @property
    def complete(self) -> bool:
        return not self.failed and self.done_before + self.ran == self.planned


@dataclass
class Progress:
    """Counts passed to the ``on_progress`` callback after every finished or failed run."""

    total: int
    done: int
    failed: int
    retried: int


def git_commit() -> str | None:
    """The commit of the source tree the package runs from (``+dirty`` if modified)."""
    root = Path(__file__).resolve().parents[3]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=5)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def folder_lock(folder: Path) -> contextlib.AbstractContextManager[None]:
    """Hold ``folder/.lock`` (released by the OS if the process dies)."""
    return run_folder.folder_lock(folder, "another sweep is running in this folder")


def check_resources(plan: Plan) -> None:
    """Load every theatre the plan's runs need (once per theatre and cell size), so that a
    scenario naming an unknown theatre is reported while planning, not by every worker."""
    from resurgence.api import check
    from resurgence.scenario import Scenario

    seen = set()
    for data in plan.scenarios.values():
        if data.get("model") != "insurgency":
            continue
        key = (data["insurgency"]["theatre"], data["insurgency"]["cell_km"])
        if key not in seen:
            seen.add(key)
            check(Scenario.from_dict(data, source=plan.experiment.base.source))


def write_plan(plan: Plan, folder: Path) -> None:
    """Write ``plan.json`` and ``design.parquet`` (what the analysis commands read)."""
    exp = plan.experiment
    write_json(folder / PLAN, {
        "experiment": exp.model_dump(mode="json"),
        "source": exp.source,
        "digest": exp.digest(),
        "base_scenario": exp.base_dict(),
        "problem": plan.problem,
        "samples": plan.samples.tolist(),
        "policies": plan.policies,
        "posterior_keys": exp.posterior_keys,
        "outcomes": exp.outcome_names,
        "package_version": __version__,
    })
    write_design(folder, plan.design)


def tasks_of(plan: Plan, folder: Path, provenance: dict[str, Any]) -> dict[str, RunTask]:
    """The task of every distinct run of the plan."""
    exp = plan.experiment
    params_cols = [*exp.uncertainties, *exp.posterior_keys, *exp.levers]
    if exp.posterior is not None:
        params_cols.append("particle")
    first = plan.design.drop_duplicates("run_id")
    out = {}
    for row in first.itertuples(index=False):
        rid = row.run_id
        values = dict(zip(first.columns, row, strict=True))
        out[rid] = RunTask(
            run_id=rid, scenario=plan.scenarios[rid], seed=int(values["seed"]),
            params={k: values[k] for k in params_cols}, outcomes=exp.outcome_names,
            burn_in=exp.outcomes.burn_in, outburst_threshold=exp.outcomes.outburst_threshold,
            series=exp.outcomes.series, path=str(run_path(folder, rid)),
            provenance=provenance,
            after=None if exp.outcomes.after is None else exp.outcomes.after.isoformat(),
        )
    return out


def sweep(
    experiment: Experiment,
    folder: Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    jobs: int | None = None,
    retries: int = 3,
    on_progress: Callable[[Progress], None] | None = None,
    on_start: Callable[[int, int, str], None] | None = None,
    pool: Pool | None = None,
    confirmed: bool = False,
) -> SweepReport:
    """Run every run of ``experiment`` not yet in ``folder``; see the module docstring.

    ``on_start(total, done_before, executor)`` is called once, ``on_progress`` after each run.
    A ``pool`` given is used (and not closed); otherwise one is opened from ``workers``,
    ``scheduler`` or ``cluster``/``jobs``. Before anything is written: the design's size is
    checked (more than ``CONFIRM_RUNS`` runs need ``confirmed``), a Dask scheduler or cluster
    is reached, every run's scenario is validated and its theatre loaded.
    """
    clock = time.perf_counter()
    folder = Path(folder)
    check_size(experiment, confirmed)
    own = pool is None
    if own and (scheduler is not None or cluster is not None):  # a mistake writes nothing
        pool = Pool(workers=workers, scheduler=scheduler, cluster=cluster, jobs=jobs)
    try:
        plan = make_plan(experiment)
        check_resources(plan)
        with folder_lock(folder):
            write_plan(plan, folder)
            remove_partial_files(folder)
            catalog = Catalog(folder)
            present = catalog.reconcile()
            provenance = {"experiment": experiment.name or Path(experiment.source).stem,
                          "package_version": __version__, "git_commit": git_commit()}
            tasks = tasks_of(plan, folder, provenance)
            todo = [rid for rid in tasks if rid not in present]
            report = SweepReport(folder=folder, planned=len(tasks),
                                 done_before=len(tasks) - len(todo))
            if todo:
                pool = pool or Pool(workers=workers, scheduler=scheduler, cluster=cluster,
                                    jobs=jobs)
            report.executor = pool.describe if pool else "nothing to run"
            if on_start:
                on_start(report.planned, report.done_before, report.executor)
            try:
                if todo:
                    assert pool is not None
                    _drive(pool, tasks, todo, catalog, report, retries, on_progress)
            finally:
                if own and pool is not None:  # its last runs written before the catalog
                    pool.close()
                    pool = None
                catalog.reconcile()
            report.seconds = time.perf_counter() - clock
            return report
    finally:
        if own and pool is not None:
            pool.close()


def _drive(pool: Pool, tasks: dict[str, RunTask], todo: list[str], catalog: Catalog,
           report: SweepReport, retries: int,
           on_progress: Callable[[Progress], None] | None) -> None:
    """Keep a window of runs in flight; record results in batches; retry lost workers."""
    queue = list(reversed(todo))  # pop() from the end: design order
    attempts: dict[str, int] = {}
    running: dict[Future, str] = {}
    window = max(4, 2 * pool.parallelism)
    batch: list[dict[str, Any]] = []
    last_flush = last_size = time.monotonic()

    def flush() -> None:
        nonlocal batch, last_flush
        catalog.add(batch)
        batch, last_flush = [], time.monotonic()

    try:
        while queue or running:
            if time.monotonic() - last_size > 5.0:  # a cluster may grow (batch jobs start)
                window, last_size = max(4, 2 * pool.parallelism), time.monotonic()
            while queue and len(running) < window:
                rid = queue.pop()
                attempts[rid] = attempts.get(rid, 0) + 1
                try:
                    running[pool.executor.submit(execute, tasks[rid])] = rid
                except RuntimeError:  # the pool broke while submitting
                    queue.append(rid)
                    attempts[rid] -= 1
                    report.retried += _restart(pool, running, queue)
                    break
            finished, _ = wait(list(running), timeout=1.0, return_when=FIRST_COMPLETED)
            broken = False
            for fut in finished:
                rid = running.pop(fut)
                try:
                    batch.append(fut.result())
                    report.ran += 1
                except BaseException as exc:  # noqa: BLE001 - classified below
                    if isinstance(exc, UserInputError):  # the same mistake in every run
                        raise
                    if is_retryable(exc) and attempts[rid] <= retries:
                        report.retried += 1
                        queue.append(rid)
                        broken = broken or type(exc).__name__ == "BrokenProcessPool"
                    else:
                        error = "".join(traceback.format_exception_only(exc)).strip()
                        report.failed[rid] = error
                        catalog.add_failure(rid, attempts[rid], error)
                if on_progress:
                    on_progress(Progress(report.planned, report.done_before + report.ran,
                                         len(report.failed), report.retried))
            if broken:
                report.retried += _restart(pool, running, queue)
            if batch and time.monotonic() - last_flush > 2.0:
                flush()
    finally:
        for fut in running:
            fut.cancel()
        flush()


def _restart(pool: Pool, running: dict[Future, str], queue: list[str]) -> int:
    """A local pool lost a worker: every run in flight failed with it; start a new pool and
    put those runs back in the queue. Returns how many: retries the caller has not counted
    (it counted the runs it collected; the break can also show first when a submit fails)."""
    again = 0
    for fut, rid in list(running.items()):
        if fut.done() and fut.exception() is None:
            continue  # finished before the break; collected on the next wait
        queue.append(rid)
        running.pop(fut)
        again += 1
    pool.restart()
    return again


#: what the commands that read a plan take from it, and of what kind
_PLAN_KEYS = {"experiment": dict, "samples": list, "policies": list, "outcomes": list}


def load_plan(folder: Path) -> dict[str, Any]:
    """``plan.json`` of a results folder (raises UserInputError if it is not one)."""
    path = Path(folder) / PLAN
    if not path.exists():
        raise UserInputError(str(folder), [Problem(
            "DIR", str(folder), "not a results folder of `resurgence sweep` (no plan.json)")])
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(plan, dict):
            raise ValueError("not a table")
        for key, kind in _PLAN_KEYS.items():
            if not isinstance(plan.get(key), kind):
                raise ValueError(f"{key!r} missing or not a {kind.__name__}")
    except (OSError, ValueError) as exc:
        raise UserInputError(path, [Problem("file", PLAN, "is not a plan written by "
                                            f"`resurgence sweep`: {exc}")]) from None
    return plan
