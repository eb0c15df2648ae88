"""Where runs execute: any ``concurrent.futures.Executor``.

- a local process pool (default): ``ProcessPoolExecutor`` on the ``forkserver`` start method
  (``spawn`` where there is none), safe with the threads of the parent (progress bar, Dask);
- a Dask cluster given its scheduler address: ``distributed.Client(address).get_executor()``;
- a SLURM or PBS cluster through dask-jobqueue: the jobs are configured the usual
  dask-jobqueue way (``~/.config/dask/jobqueue.yaml`` or ``DASK_JOBQUEUE__SLURM__*``
  variables) and ``jobs`` of them are submitted before the first run (a job the batch system
  refuses is the user's mistake, not a wait without end); closing the pool cancels them.

A :class:`Pool` can be restarted: a local pool whose worker died is broken for good
(``BrokenProcessPool``), so the sweep makes a new one and submits the unfinished runs again.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from resurgence.errors import Problem, UserInputError
from resurgence.experiments.worker import process_identity, watch_parent

#: exceptions that say a worker was lost, not that the run is wrong: the run is retried
RETRYABLE = {"BrokenProcessPool", "KilledWorker", "CommClosedError", "CancelledError",
             "FutureCancelledError", "StreamClosedError"}


def is_retryable(exc: BaseException) -> bool:
    return type(exc).__name__ in RETRYABLE


def _context(preload: tuple[str, ...] = ()) -> Any:
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:  # import the model once in the server, not in every worker
        ctx.set_forkserver_preload(["resurgence.experiments.worker", "resurgence.api",
                                    *preload])
    return ctx


class Pool:
    """An executor and what is needed to replace it."""

    def __init__(self, workers: int | None = None, scheduler: str | None = None,
                 cluster: str | None = None, jobs: int | None = None,
                 preload: tuple[str, ...] = ()):
        """``preload``: modules a local pool's forkserver imports once for all its workers
        (when it starts the server)."""
        self.preload = preload
        self.workers = workers
        self.scheduler = scheduler
        self.cluster = cluster
        self.jobs = jobs
        self.client: Any = None
        self._cluster: Any = None
        self.executor: Executor = self._open()

    def _open(self) -> Executor:
        if self.cluster is not None and self.cluster not in CLUSTERS:
            raise UserInputError("--cluster", [Problem(
                "--cluster", self.cluster, " or ".join(CLUSTERS))])
        if self.scheduler is not None and self.client is None:
            _reachable(self.scheduler)
        if self.scheduler is None and self.cluster is None:
            n = self.workers or os.cpu_count() or 1
            return ProcessPoolExecutor(max_workers=n, mp_context=_context(self.preload),
                                       initializer=watch_parent,
                                       initargs=(process_identity(),))
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - distributed is a dependency
            raise UserInputError("--scheduler", [Problem(
                "--scheduler", self.scheduler, "needs dask.distributed: pip install distributed"
            )]) from None
        if self.client is None:
            if self.cluster is not None:
                self._cluster = _jobqueue_cluster(self.cluster, self.jobs or 1)
                self.client = Client(self._cluster)
            else:
                try:
                    self.client = Client(self.scheduler, timeout="20s")
                except OSError as exc:
                    raise UserInputError("--scheduler", [Problem(
                        "--scheduler", self.scheduler,
                        f"no Dask scheduler answers there ({exc}); start one with "
                        "`dask scheduler` and workers with `dask worker ADDRESS`")]) from None
        return self.client.get_executor(pure=False)

    @property
    def parallelism(self) -> int:
        """How many runs can execute at once (to size the submission window)."""
        if self.client is None:
            return self.workers or os.cpu_count() or 1
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:
            return 1

    @property
    def describe(self) -> str:
        if self.client is None:
            return f"local process pool, {self.parallelism} workers"
        if self.cluster is not None:
            return (f"Dask on {self.jobs or 1} {self.cluster} job(s) through dask-jobqueue, "
                    f"{self.parallelism} worker threads so far (more as the jobs start)")
        return f"Dask {self.scheduler}, {self.parallelism} worker threads"

    def restart(self) -> None:
        """Replace a broken local pool (Dask replaces lost workers by itself)."""
        if self.client is None:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = self._open()

    def close(self) -> None:
        if self.client is None:
            self.executor.shutdown(wait=True, cancel_futures=True)
        else:
            self.executor.shutdown(wait=False)
            self.client.close()
            if self._cluster is not None:
                self._cluster.close()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def ended_cleanly() -> Iterator[None]:
    """SIGTERM and SIGHUP raise ``SystemExit(128 + signal)`` in the main thread while this is
    open, so that a sweep on batch jobs runs its ``finally`` blocks: its catalog written, its
    jobs cancelled (``scancel``), pending ones included. Without it a sweep ended by the
    batch system (its wall time) or a closed login session would leave its pending jobs in the
    queue, to start later and find no scheduler. A second signal while closing is ignored
    (SIGKILL still ends it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = (signal.SIGTERM, signal.SIGHUP)

    def handler(signum: int, frame: object) -> None:
        for sig in caught:
            signal.signal(sig, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    before = {sig: signal.signal(sig, handler) for sig in caught}
    try:
        yield
    finally:
        for sig, previous in before.items():
            signal.signal(sig, previous)


#: --cluster kinds: dask-jobqueue's class for each
CLUSTERS = {"slurm": "SLURMCluster", "pbs": "PBSCluster"}


def _reachable(address: str) -> None:
    """Refuse at once a scheduler address that is malformed or where nothing listens (Dask
    itself waits its whole timeout); other protocols than tcp are left to Dask."""
    from urllib.parse import urlsplit

    def refuse(why: str) -> UserInputError:
        return UserInputError("--scheduler", [Problem("--scheduler", address, why)])

    text = address if "://" in address else f"tcp://{address}"
    parts = urlsplit(text)
    if parts.scheme != "tcp":
        return
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number
        host = port = None
    if not host or port is None or parts.path not in ("", "/"):
        raise refuse("an address such as tcp://10.0.0.5:8786 (host and port)")
    import socket

    try:
        socket.create_connection((host, port), timeout=10).close()
    except OSError as exc:
        raise refuse(f"no Dask scheduler answers there ({exc.strerror or exc}); start one with "
                     "`dask scheduler` and workers with `dask worker ADDRESS`") from None


def _jobqueue_cluster(kind: str, jobs: int) -> Any:
    """A dask-jobqueue cluster (SLURM or PBS), configured by dask config, with ``jobs`` jobs
    submitted: what the batch system refuses (a queue or account that does not exist, more
    memory than a node has) is a UserInputError with its own words, raised here."""
    import shutil

    def refuse(why: str) -> UserInputError:
        return UserInputError("--cluster", [Problem("--cluster", kind, why)])

    try:
        import dask
        import dask_jobqueue
    except ImportError:  # pragma: no cover - dask-jobqueue is a dependency
        raise refuse("needs dask-jobqueue: pip install dask-jobqueue") from None
    cls = getattr(dask_jobqueue, CLUSTERS[kind])
    submit = cls.job_cls.submit_command
    if shutil.which(submit) is None:
        raise refuse(f"needs {submit} on this machine's PATH: run the sweep where {kind} "
                     f"jobs are submitted (a login node of the cluster)")
    missing = [key for key in ("cores", "memory")
               if dask.config.get(f"jobqueue.{kind}.{key}", None) is None]
    if missing:
        raise refuse("needs the size of one job: set " + " and ".join(
            f"jobqueue.{kind}.{key}" for key in missing) + " in ~/.config/dask/jobqueue.yaml "
            "(or " + " and ".join(f"DASK_JOBQUEUE__{kind.upper()}__{key.upper()}"
                                  for key in missing) + "); see docs/experiments.md")
    try:
        cluster = cls()
    except (ValueError, TypeError, OSError, RuntimeError) as exc:  # a bad value, no interface
        raise refuse(f"dask-jobqueue refused its configuration: {_first_line(exc)}") from None
    try:
        cluster.sync(_submit, cluster, jobs)
    except BaseException as exc:
        cluster.close()
        if isinstance(exc, RuntimeError) and f"{submit} " in str(exc):
            raise refuse(f"{submit} refused the job: {_stderr(exc)}") from None
        raise
    return cluster


async def _submit(cluster: Any, jobs: int) -> None:
    """Ask for ``jobs`` jobs and wait until each is submitted, an error of the submit command
    raised here. ``cluster.scale`` only schedules the submission on the cluster's event loop,
    where an error is logged and the sweep would wait for workers that never come; this does
    what ``scale`` does, then awaits the submission itself (``SpecCluster._correct_state``,
    as the cluster does when it starts). Jobs never submitted are marked failed, so that
    closing the cluster (which cancels the submitted ones) does not trip on them."""
    from distributed.core import Status

    while len(cluster.worker_spec) < jobs:
        cluster.worker_spec.update(cluster.new_worker_spec())
    try:
        await cluster._correct_state()
    except BaseException:
        for job in cluster.workers.values():
            if job.status == Status.created:  # its submit failed: nothing to cancel
                job.status = Status.failed
        raise


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _stderr(exc: BaseException) -> str:
    """The submit command's own error lines out of dask-jobqueue's RuntimeError, without
    their ``sbatch: error:`` prefixes."""
    import re

    _, _, err = str(exc).partition("stderr:")
    lines = [re.sub(r"^\S+: error: ", "", line.strip()) for line in err.splitlines()]
    return "; ".join(line for line in lines if line) or _first_line(exc)
