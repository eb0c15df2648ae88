"""Likelihood-free Bayesian inference of model parameters from patterns: ABC-SMC (pyabc).

Approximate Bayesian computation by sequential Monte Carlo (Toni et al. 2009; Beaumont et al.
2009; pyabc: Schälte et al. 2022) draws parameter sets from the priors, simulates each,
and keeps those whose simulation lies within a tolerance ``epsilon`` of the observations; each
generation proposes from the last one's particles (a multivariate normal kernel), weights
them by prior over proposal density, and tightens the tolerance to the weighted median of the
last generation's distances. Here the observations are *patterns* with ranges
(:mod:`resurgence.patterns`) and the distance combines each pattern's distance to its range
(:func:`resurgence.inference.simulator.distance`), so ``epsilon = 0`` means every pattern
holds.

It stops after ``generations`` generations, when a tolerance is at most ``min_epsilon``, or when
the next simulation would pass ``budget`` (the generation it cuts short is dropped); asked to
``finish``, it runs nothing and stops at the generations the history holds (an inference too
long for a sitting, taken as far as it went). The posterior is the last finished generation:
its particles with their weights.

Determinism and resumption: the sampler (:mod:`resurgence.inference.sampler`) gives the same
particles for a seed on any executor; pyabc keeps each finished generation in an SQLite
history, and the simulations are kept as they end (``records``), so :func:`infer` started again
on the same history continues where it stopped, runs no simulation twice and ends with the
posterior of an uninterrupted run, bit for bit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from resurgence.inference import history as hist
from resurgence.inference import seeds
from resurgence.inference.priors import Prior
from resurgence.inference.simulator import PatternModel, Records
from resurgence.patterns import Pattern


@dataclass(frozen=True)
class Problem:
    """What to infer: priors over parameters, a simulator, the patterns, and the stopping
    rules. ``simulate(params, seed)`` gives a frame the patterns measure."""

    priors: dict[str, Prior]
    simulate: Callable[[dict[str, float], int], pd.DataFrame]
    patterns: tuple[Pattern, ...]
    population: int
    generations: int
    budget: int
    min_epsilon: float = 0.0
    seed: int = 0


@dataclass
class Posterior:
    """The result: the last finished generation's particles (parameters, ``weight``,
    ``distance``, ``generation``), every generation's tolerance and counts, the simulations
    run in all, and why it stopped."""

    particles: pd.DataFrame
    generations: pd.DataFrame
    simulations: int
    stopped: str

    @property
    def epsilons(self) -> list[float]:
        return [float(e) for e in self.generations["epsilon"]]


def infer(problem: Problem, executor: Executor, db: Path, records: Records | None = None,
          on_simulation: Callable[[], None] | None = None, finish: bool = False) -> Posterior:
    """Run (or continue, if ``db`` holds its history) the inference; see the module doc.
    ``finish``: run no simulation, end with the generations ``db`` holds (``stopped`` is
    ``"finish"``, unless a stopping rule had already ended it)."""
    import pyabc

    from resurgence.inference.epsilon import HistoryQuantile
    from resurgence.inference.sampler import SeededSampler
    from resurgence.inference.simulator import pattern_distance

    keys = tuple(problem.priors)
    sampler = SeededSampler(executor, problem.seed, problem.budget,
                            on_simulation=on_simulation)
    abc = pyabc.ABCSMC(
        PatternModel(problem.simulate, problem.patterns, keys, records),
        pyabc.Distribution(**{k: p.pyabc() for k, p in problem.priors.items()}),
        pattern_distance(problem.patterns),
        population_size=problem.population,
        sampler=sampler,
        eps=HistoryQuantile(db),
    )
    logger = logging.getLogger("ABC")
    level = logger.level
    logger.setLevel(logging.WARNING)  # pyabc reports every generation at INFO
    try:
        with seeds.kept_globals():
            url = f"sqlite:///{Path(db).resolve()}"
            if hist.stored_runs(db):
                abc.load(url, 1)
            else:
                abc.new(url, {p.name: [p.lo, p.hi] for p in problem.patterns})
            sampler.spent = lambda: abc.history.total_nr_simulations
            reason = _stopped(problem, db)
            if reason is None and finish:
                reason = "finish"
            if reason is None:
                done = abc.history.max_t + 1
                with np.errstate(invalid="ignore"):  # pyabc compares inf with inf
                    abc.run(minimum_epsilon=problem.min_epsilon,
                            max_nr_populations=problem.generations - done,
                            max_total_nr_simulations=problem.budget)
                reason = "budget" if sampler.exhausted else _stopped(problem, db) or "budget"
    finally:
        logger.setLevel(level)
    table = hist.generations(db)
    if table.empty:
        raise RuntimeError("no generation finished within the budget")
    last = int(table["t"].iloc[-1])
    return Posterior(hist.particles(db, last, list(keys)), table,
                     int(table["simulations"].sum()) + sampler.unfinished, reason)


def _stopped(problem: Problem, db: Path) -> str | None:
    """Why the stored history is finished (None if it is not): generations, min_epsilon or
    budget, as pyabc's stopping rules would say after its last generation."""
    if not hist.stored_runs(db):
        return None
    table = hist.generations(db)
    if table.empty:
        return None
    if len(table) >= problem.generations:
        return "generations"
    if float(table["epsilon"].iloc[-1]) <= problem.min_epsilon:
        return "min_epsilon"
    if int(table["simulations"].sum()) >= problem.budget:
        return "budget"
    return None
