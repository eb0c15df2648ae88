"""Kernel arguments as a NamedTuple of arrays (a record) against the arrays one by one.

The insurgency model passes its state to numba kernels as records
(:mod:`resurgence.models.insurgency_state`). This measures, for a kernel over seven citizen
columns, the time per call (dispatch for 1,000 agents, the loop for 300,000) both ways, and
checks that both leave the same arrays, sequential and ``parallel=True``. Run:

    NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/records_vs_columns.py
"""

from __future__ import annotations

import os
import platform
import sys
import time
from typing import NamedTuple

import numba
import numpy as np
from numba import njit, prange

from _machine import cpu_model


class Columns(NamedTuple):
    cell: np.ndarray
    group: np.ndarray
    hardship: np.ndarray
    risk: np.ndarray
    state: np.ndarray
    jail: np.ndarray
    recruits: np.ndarray


def _body(cell, group, hardship, risk, state, jail, recruits, det, t, i):
    net = hardship[i] * (1 + group[i]) - risk[i] * det[cell[i]]
    if jail[i] > 0:
        jail[i] -= 1
    state[i] = 1 if net > t else 0
    recruits[i] = state[i]


body = njit(inline="always")(_body)


@njit
def by_column(cell, group, hardship, risk, state, jail, recruits, det, t):
    for i in range(cell.shape[0]):
        body(cell, group, hardship, risk, state, jail, recruits, det, t, i)


@njit
def by_record(p, det, t):
    for i in range(p.cell.shape[0]):
        body(p.cell, p.group, p.hardship, p.risk, p.state, p.jail, p.recruits, det, t, i)


@njit(parallel=True)
def by_column_parallel(cell, group, hardship, risk, state, jail, recruits, det, t):
    for i in prange(cell.shape[0]):
        body(cell, group, hardship, risk, state, jail, recruits, det, t, i)


@njit(parallel=True)
def by_record_parallel(p, det, t):
    for i in prange(p.cell.shape[0]):
        body(p.cell, p.group, p.hardship, p.risk, p.state, p.jail, p.recruits, det, t, i)


def make(n: int, seed: int) -> Columns:
    rng = np.random.default_rng(seed)
    return Columns(rng.integers(0, 1000, n).astype(np.int32), rng.integers(0, 4, n).astype(np.int8),
                   rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32),
                   np.zeros(n, np.int8), np.full(n, 5, np.int16), np.zeros(n, np.int8))


def main() -> None:
    print("command:", " ".join([os.path.basename(sys.executable), *sys.argv]))
    print(f"machine: {cpu_model()}, {os.cpu_count()} cpus, numba threads "
          f"{numba.get_num_threads()}, python {platform.python_version()}, numba "
          f"{numba.__version__}, load average {os.getloadavg()[0]:.2f}")
    det = np.random.default_rng(0).random(1000)
    for name, cols, rec in (("sequential", by_column, by_record),
                            ("parallel", by_column_parallel, by_record_parallel)):
        a, b = make(300_000, 2), make(300_000, 2)
        cols(*a, det, 0.3)
        rec(b, det, 0.3)
        same = all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
        print(f"{name}: same arrays after one call: {same}")
        for n, reps in ((1000, 2000), (300_000, 50)):
            c = make(n, 1)
            best = {}
            for _ in range(3):  # alternate, keep the best of three
                for label, call in (("columns", lambda c=c, f=cols: f(*c, det, 0.1)),
                                    ("record", lambda c=c, f=rec: f(c, det, 0.1))):
                    t0 = time.perf_counter()
                    for _ in range(reps):
                        call()
                    us = (time.perf_counter() - t0) / reps * 1e6
                    best[label] = min(best.get(label, us), us)
            print(f"  {n:>7} agents: columns {best['columns']:.1f} us/call, "
                  f"record {best['record']:.1f} us/call")


if __name__ == "__main__":
    main()
