"""An inference from a priors file into a folder: the glue between the core
(:mod:`resurgence.inference.smc`) and the store (:mod:`resurgence.store.posterior`), behind
``resurgence calibrate --priors``."""

from __future__ import annotations

import os
import platform
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from resurgence import __version__
from resurgence.errors import Problem as InputProblem
from resurgence.errors import UserInputError
from resurgence.inference.priors import PriorsFile
from resurgence.inference.smc import Posterior, Problem, infer
from resurgence.store import posterior as store


def problem_of(priors: PriorsFile) -> Problem:
    """The inference a priors file asks for, on its scenario."""
    from resurgence.inference.simulator import ScenarioRuns

    runs = ScenarioRuns(priors.scenario.model_dump(mode="json"))
    s = priors.inference
    return Problem(dict(priors.priors), runs, priors.patterns(), s.population, s.generations,
                   s.budget, s.min_epsilon, s.seed)


def manifest(priors: PriorsFile) -> dict[str, Any]:
    """What identifies the inference (``inference.json``)."""
    scenario = priors.scenario
    return {"digest": priors.digest(), "priors_file": priors.source, "priors": priors.text,
            "scenario": {"name": scenario.name, "source": scenario.source,
                         "digest": scenario.digest()},
            "patterns": priors.inference.patterns, "resurgence": __version__}


def run(priors: PriorsFile, folder: Path, executor: Any, describe: str = "",
        force: bool = False, on_simulation: Callable[[], None] | None = None,
        on_start: Callable[[bool], None] | None = None,
        finish: bool = False) -> tuple[Posterior, dict[str, Any]]:
    """Run or resume the inference of ``priors`` in ``folder`` on ``executor``; write the
    posterior, generations.csv and the catalog; return the posterior and its provenance.
    ``on_start(resumed)`` is called once the folder is claimed; ``finish``: run nothing more,
    write the posterior of the generations finished so far."""
    from resurgence.experiments.sweep import git_commit
    from resurgence.store.catalog import POSTERIOR, Catalog
    from resurgence.store.files import write_frame
    from resurgence.store.run_folder import folder_lock
    from resurgence.store.simulations import SimulationRecords

    clock = time.perf_counter()
    if finish and not (folder / store.HISTORY).exists():
        raise UserInputError("--out", [InputProblem("--out", str(folder), (
            "holds no inference to finish (--finish): run the inference without --finish "
            "first"))])
    folder.mkdir(parents=True, exist_ok=True)
    with folder_lock(folder, "another `resurgence calibrate` works in this folder"):
        resumed = store.claim(folder, priors.digest(), priors.inference.scenario, force)
        if not resumed:
            store.write_manifest(folder, manifest(priors))
        if on_start is not None:
            on_start(resumed)
        records = SimulationRecords(folder, {
            "scenario_digest": priors.scenario.digest(), "experiment": f"abc-smc "
            f"{priors.digest()}", "package_version": __version__, "git_commit": git_commit(),
            "ticks": priors.scenario.ticks})
        problem = problem_of(priors)
        result = infer(problem, executor, folder / store.HISTORY, records, on_simulation,
                       finish)
        provenance = _provenance(priors, problem, result, time.perf_counter() - clock,
                                 describe, git_commit())
        store.write_posterior(folder / POSTERIOR, result.particles, provenance)
        write_frame(result.generations, folder / store.GENERATIONS)
        Catalog(folder).reconcile()
    return result, provenance


def _provenance(priors: PriorsFile, problem: Problem, result: Posterior, seconds: float,
                executor: str, commit: str | None) -> dict[str, Any]:
    import numpy
    import pandas
    import pyabc
    import scipy

    scenario = priors.scenario
    return {
        "method": "ABC-SMC (pyabc), tolerance: weighted median of the last generation's "
                  "distances; distance: root of the sum of squared pattern distances",
        "parameters": list(problem.priors),
        "scenario": {"name": scenario.name, "source": scenario.source,
                     "digest": scenario.digest(), "ticks": scenario.ticks},
        "priors": {"file": priors.source, "digest": priors.digest(), "contents": priors.text,
                   "table": {k: p.model_dump(mode="json") for k, p in problem.priors.items()}},
        "patterns": {"set": priors.inference.patterns,
                     "ranges": [{"name": p.name, "lo": p.lo, "hi": p.hi, "log": p.log,
                                 "source": p.source} for p in problem.patterns]},
        "seed": problem.seed, "population": problem.population,
        "generations_max": problem.generations, "budget": problem.budget,
        "min_epsilon": problem.min_epsilon,
        "generations_run": len(result.generations), "epsilon_schedule": result.epsilons,
        "simulations": result.simulations, "stopped": result.stopped,
        "wall_seconds": round(seconds, 3), "executor": executor,
        "machine": {"host": socket.gethostname(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "python": platform.python_version()},
        "versions": {"resurgence": __version__, "git_commit": commit,
                     "pyabc": pyabc.__version__, "numpy": numpy.__version__,
                     "pandas": pandas.__version__, "scipy": scipy.__version__},
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
