"""What an experiment will cost before it runs: the plan in numbers (``resurgence sweep FILE
--plan``) and the time per run, measured on this machine on a few ticks of the base scenario."""

from __future__ import annotations

import time
from typing import Any

from resurgence.experiments.design import Plan
from resurgence.experiments.spec import Experiment

#: ticks timed to estimate a run (after two that compile the kernels and warm the caches)
SAMPLE_TICKS = 26


def seconds_per_run(experiment: Experiment, sample_ticks: int = SAMPLE_TICKS) -> float:
    """Seconds one run of the base scenario takes on one core of this machine: the time of
    ``sample_ticks`` ticks scaled to the run's length (the setup counted once). A run's
    length varies with its design point; this is the base's."""
    from resurgence.api import simulate

    base = experiment.base
    ticks = experiment.ticks or base.ticks
    simulate(base, ticks=2)  # compile / load the kernels
    sample = min(sample_ticks, ticks)
    clock = time.perf_counter()
    simulate(base, ticks=sample)
    return (time.perf_counter() - clock) * ticks / sample


def describe(plan: Plan, seconds: float, workers: int) -> dict[str, Any]:
    """The plan in numbers: policies (their labels), futures (design points: what varies in
    them), replications, runs (distinct), and the estimated hours on ``workers`` cores."""
    exp = plan.experiment
    runs = len(plan.run_ids)
    return {
        "experiment": exp.name or exp.source,
        "base scenario": exp.base.name or exp.scenario,
        "ticks a run": exp.ticks or exp.base.ticks,
        "policies": [", ".join(f"{k}={v}" for k, v in labels.items()) or "(base)"
                     for labels in plan.policies],
        "futures": int(plan.design["point"].nunique()),
        "varied in a future": [*exp.uncertainties, *exp.posterior_keys],
        "replications": exp.replications,
        "runs": runs,
        "seconds a run (measured)": round(seconds, 2),
        "workers": workers,
        "estimated hours": round(runs * seconds / max(workers, 1) / 3600, 2),
    }
