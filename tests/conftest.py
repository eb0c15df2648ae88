"""Compile the numba kernels once per test worker, before any test runs.

On a fresh clone numba's on-disk cache is empty, and the first run of each model compiles its
kernels (a minute or more on two busy cores). Tests that start ``resurgence`` in a subprocess
give it a time limit meant for the run, not for that compilation; compiling here first fills
the cache (``cache=True``), so those subprocesses load the kernels instead."""

from __future__ import annotations

import pytest

from resurgence import Scenario, refresh_kernel_cache, simulate
from resurgence.scenario.catalog import bundled

WARM = ("epstein-run-2", "epstein-peacekeepers", "mesa-example", "iraq-2003-2020")


@pytest.fixture(scope="session", autouse=True)
def compiled_kernels() -> None:
    refresh_kernel_cache()  # as the entry points do: importing resurgence leaves the cache be
    for name in WARM:
        simulate(Scenario.load(bundled()[name]).with_overrides(ticks=2), seed=1)
