"""A pyabc sampler whose result depends on the seed alone, and that keeps to a budget.

pyabc's own parallel samplers accept whichever particles finish first, so their posterior
depends on timing; its ``MappingSampler`` maps a task per particle in order, but each task
reseeds from the operating system (``np.random.seed()``) and runs until it accepts, so the
result still varies and a generation cannot be capped. This sampler keeps the ordered map and
changes the rest: a generation runs numbered *slots* in batches on any
``concurrent.futures`` executor (a local process pool, a Dask client's executor), slot ``i``
proposing and simulating once with its own seeds (:mod:`resurgence.inference.seeds`); the
generation's particles are the first ``n`` accepted slots *in slot order*, whatever order the
slots finish in. The batch sizes depend only on results already in (the acceptance rate so
far), so the slots run, and hence the simulations counted, are the same on every executor.

A batch never takes the total past the budget: when the budget is spent before ``n`` slots are
accepted, the sample is returned "not ok" and pyabc stops with the generations finished so far.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from concurrent.futures import Executor, as_completed
from typing import Any

import numpy as np

from resurgence.inference import seeds

#: the largest batch, in populations (bounds the simulations past the n-th acceptance)
MAX_BATCH = 20


def run_slot(payload: bytes, s: seeds.Slot) -> Any:
    """Worker side: propose and simulate once as slot ``s`` (pyabc's ``simulate_one``)."""
    simulate_one = _unpickled(payload)
    with seeds.proposing(s):
        return simulate_one()


@functools.lru_cache(maxsize=2)
def _unpickled(payload: bytes) -> Any:
    """A generation's ``simulate_one``, unpickled once per worker process (it holds no state
    that a slot changes)."""
    import cloudpickle

    return cloudpickle.loads(payload)


def SeededSampler(executor: Executor, seed: int, budget: float = math.inf,  # noqa: N802
                  spent: Callable[[], int] = lambda: 0,
                  on_simulation: Callable[[], None] | None = None) -> Any:
    """The sampler of the module docstring, a pyabc ``Sampler``: pyabc is imported when one is
    made, not with this module (pyabc imports matplotlib's pyplot, which importing a module of
    this package must not do)."""
    return _sampler_class()(executor, seed, budget, spent, on_simulation)


@functools.cache
def _sampler_class() -> type:
    from pyabc.sampler import Sampler

    class SeededSampler(Sampler):
        """See the module docstring. ``spent()`` gives the simulations of the generations already
        stored (pyabc's history), ``on_simulation()`` is called as each simulation ends."""

        def __init__(self, executor: Executor, seed: int, budget: float = math.inf,
                     spent: Callable[[], int] = lambda: 0,
                     on_simulation: Callable[[], None] | None = None):
            super().__init__()
            self.executor = executor
            self.seed = seed
            self.budget = budget
            self.spent = spent
            self.on_simulation = on_simulation
            self.exhausted = False  # the budget ran out inside a generation
            self.unfinished = 0  # simulations of a generation the budget cut short

        def sample_until_n_accepted(self, n: int, simulate_one: Callable, t: int, *,
                                    max_eval: float = np.inf, all_accepted: bool = False,
                                    ana_vars: Any = None) -> Any:
            import cloudpickle

            seeds.seed_globals(seeds.generation_seed(self.seed, t))
            payload = cloudpickle.dumps(simulate_one)
            left = min(self.budget - self.spent(), max_eval)
            sample = self._create_empty_sample()
            accepted = ran = 0
            while accepted < n:
                size = int(min(self._batch(n - accepted, accepted, ran, n), left - ran))
                if size <= 0:
                    sample.ok = False
                    self.exhausted, self.unfinished = True, ran
                    break
                futures = [self.executor.submit(run_slot, payload, seeds.slot(self.seed, t, i))
                           for i in range(ran, ran + size)]
                if self.on_simulation is not None:
                    for _ in as_completed(futures):
                        self.on_simulation()
                for future in futures:  # in slot order, whatever order they ended in
                    particle = future.result()
                    if accepted < n:
                        sample.append(particle)
                        accepted += bool(particle.accepted)
                ran += size
            self.nr_evaluations_ = ran
            return sample

        @staticmethod
        def _batch(needed: int, accepted: int, ran: int, n: int) -> int:
            """How many slots to run next: enough for the ``needed`` acceptances at the rate so far
            (a fifth more, and at least ``needed``); a first batch of ``n``."""
            if ran == 0:
                return n
            rate = max(accepted, 1) / ran
            return max(needed, min(math.ceil(1.2 * needed / rate), MAX_BATCH * n))

    return SeededSampler
