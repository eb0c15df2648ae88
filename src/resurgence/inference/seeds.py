"""Where every random number of the inference comes from, so that a seed fixes the posterior
bit for bit whatever executes the simulations.

A generation ``t`` runs *slots* 0, 1, 2, ...: slot ``i`` proposes one parameter set and runs
one simulation. Its random numbers come from ``(seed, t, i)`` alone (numpy's
``SeedSequence``), never from which worker runs it or when:

- its *proposal seed* seeds numpy's and Python's global generators, which pyabc draws its
  proposals from (the prior, the perturbation kernel), just before the slot proposes;
- its *model seed* is the simulation's seed. Model seeds have bit 62 set (they are at least
  2**62), so they never meet the seeds of ordinary runs, nor those of ``resurgence run
  --posterior`` draws (below 2**62).

pyabc's proposals use the global generators, which the threads of one process share (a Dask
worker runs several tasks at once in threads): a slot holds :data:`_LOCK` while it proposes,
and :func:`released` lets the others propose while it simulates, handing the slot's own
generator state back to it afterwards.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

#: every model seed of an inference is at least this (bit 62 set)
MODEL_SEED_FLOOR = 2**62


@dataclass(frozen=True)
class Slot:
    """One simulation of a generation: where it stands and its seeds."""

    t: int
    index: int
    proposal_seed: int  # for numpy's and Python's global generators (32 bits)
    model_seed: int  # the simulation's seed, in [2**62, 2**63)


def slot(seed: int, t: int, index: int) -> Slot:
    """Slot ``index`` of generation ``t`` of the inference with root ``seed``. O(1)."""
    words = np.random.SeedSequence([seed, t + 1, index]).generate_state(2, np.uint64)
    return Slot(t, index, int(words[0] >> np.uint64(32)),
                MODEL_SEED_FLOOR | int(words[1] >> np.uint64(2)))


def generation_seed(seed: int, t: int) -> int:
    """The seed of the global generators in the parent process for generation ``t`` (what
    pyabc draws there between generations draws from it)."""
    return int(np.random.SeedSequence([seed, t + 1, 2**32]).generate_state(1)[0])


def seed_globals(value: int) -> None:
    """Seed numpy's and Python's global generators."""
    np.random.seed(value)
    random.seed(value)


_LOCK = threading.Lock()
_local = threading.local()


@contextlib.contextmanager
def proposing(s: Slot) -> Iterator[None]:
    """Run slot ``s``: the global generators seeded from it and held by this thread (see the
    module docstring); :func:`current` tells the model which slot it simulates."""
    with _LOCK:
        seed_globals(s.proposal_seed)
        _local.slot = s
        try:
            yield
        finally:
            _local.slot = None


def current() -> Slot | None:
    """The slot this thread runs, or None outside :func:`proposing`."""
    return getattr(_local, "slot", None)


@contextlib.contextmanager
def released() -> Iterator[None]:
    """Inside :func:`proposing`: let other threads propose while this one simulates (which
    draws nothing from the global generators), then take back this slot's generator state."""
    if current() is None:
        yield
        return
    np_state, py_state = np.random.get_state(), random.getstate()
    _LOCK.release()
    try:
        yield
    finally:
        _LOCK.acquire()
        np.random.set_state(np_state)
        random.setstate(py_state)


@contextlib.contextmanager
def kept_globals() -> Iterator[None]:
    """Restore numpy's and Python's global generators afterwards: the inference seeds them in
    the calling process, which should not notice."""
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
