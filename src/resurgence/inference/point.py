"""The representative point of a posterior: one parameter set a scenario can carry.

A posterior is a weighted cloud; a bundled scenario runs one parameter set. The point is chosen
so that it does not lean on the luck of the seed the inference happened to give a particle:
the ``k`` particles of the last generation nearest the patterns (smallest distance, then
largest weight) each run on ``seeds`` fresh seeds, and the one whose mean distance over them
is smallest is the point (ties: more patterns held on average, then the nearer in the fit).
The fresh seeds start at :data:`POINT_SEED`, away from every seed used elsewhere: the hand
calibration's 1-4, the claim tests' 101-104, posterior draws' 10,000 and up
(:data:`~resurgence.inference.draws.DRAW_SEED`) and the inference's own, of at least 2**62
(:mod:`resurgence.inference.seeds`).

:func:`overlay` writes the point as a scenario file that ``extends`` the fitted one, so that
``resurgence run POINT.toml`` runs it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import pandas as pd

from resurgence.inference.simulator import ScenarioRuns, distance
from resurgence.patterns import Pattern

#: the first of the fresh seeds the candidates run on
POINT_SEED = 201


def nearest(particles: pd.DataFrame, k: int) -> pd.DataFrame:
    """The ``k`` particles of the last generation with the smallest distance (then the largest
    weight), with their row in the file as ``particle``."""
    last = particles.assign(particle=range(len(particles)))
    last = last[last["generation"] == last["generation"].max()]
    return last.sort_values(["distance", "weight", "particle"],
                            ascending=[True, False, True]).head(k).reset_index(drop=True)


@dataclass(frozen=True)
class PatternValues:
    """One run of a scenario with a parameter set: each pattern's value (picklable, for a
    worker)."""

    runs: ScenarioRuns
    patterns: tuple[Pattern, ...]

    def __call__(self, params: dict[str, float], seed: int) -> dict[str, float]:
        frame = self.runs(params, seed)
        return {p.name: p.value(frame) for p in self.patterns}


def evaluate(scenario: dict[str, Any], patterns: tuple[Pattern, ...], candidates: pd.DataFrame,
             keys: Sequence[str], seeds: Sequence[int], executor: Executor | None = None
             ) -> pd.DataFrame:
    """Run every candidate on every seed: one row per (``particle``, ``seed``) with its
    ``distance``, ``held`` (patterns inside their range) and each pattern's value."""
    values = PatternValues(ScenarioRuns(scenario), patterns)
    jobs = [(int(row["particle"]), {k: float(row[k]) for k in keys}, int(s))
            for _, row in candidates.iterrows() for s in seeds]
    if executor is None:
        results = [values(params, s) for _, params, s in jobs]
    else:
        futures = [executor.submit(values, params, s) for _, params, s in jobs]
        results = [f.result() for f in futures]
    rows = []
    for (particle, _, s), got in zip(jobs, results, strict=True):
        held = sum(math.isfinite(got[p.name]) and p.distance_of(got[p.name]) == 0.0
                   for p in patterns)
        rows.append({"particle": particle, "seed": s, "distance": distance(patterns, got),
                     "held": held, **got})
    return pd.DataFrame(rows)


def choose(candidates: pd.DataFrame, runs: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Per candidate: its fit distance, the mean, lowest and highest distance and the mean
    patterns held over the fresh seeds, its parameters, and ``chosen`` (see the module doc)."""
    by = runs.groupby("particle", sort=False)
    table = pd.DataFrame({
        "particle": candidates["particle"].to_numpy(),
        "fit_distance": candidates["distance"].to_numpy(),
        "weight": candidates["weight"].to_numpy(),
    })
    table["mean_distance"] = table["particle"].map(by["distance"].mean())
    table["min_distance"] = table["particle"].map(by["distance"].min())
    table["max_distance"] = table["particle"].map(by["distance"].max())
    table["mean_held"] = table["particle"].map(by["held"].mean())
    for k in keys:
        table[k] = candidates[k].to_numpy()
    order = table.sort_values(["mean_distance", "mean_held", "fit_distance"],
                              ascending=[True, False, True], kind="stable")
    table["chosen"] = table.index == order.index[0]
    return table


def overlay(point: dict[str, float], base: dict[str, Any], extends: str,
            note: Sequence[str]) -> str:
    """A scenario file (TOML) that ``extends`` the fitted scenario (``base``, its mapping) with
    the point's values (an integer key at the nearest whole number, as the inference ran it)
    and the fitted length (``ticks``: a fit may cut its scenario short), ``note`` as its
    leading comments."""
    from resurgence.experiments.spec import key_kind

    sections: dict[str, list[str]] = {}
    for key, value in point.items():
        section, name = key.split(".", 1)
        value = math.floor(value + 0.5) if key_kind(key, base) == "int" else float(value)
        sections.setdefault(section, []).append(f"{name} = {value!r}")
    lines = [f"# {line}" for line in note]
    lines += ["", f"extends = {extends!r}", f"ticks = {int(base['ticks'])}"]
    for section, entries in sections.items():
        lines += ["", f"[{section}]", *entries]
    return "\n".join(lines) + "\n"
