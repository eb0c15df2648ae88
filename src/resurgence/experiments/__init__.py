"""Experiments at scale: ensembles, sweeps, sensitivity analysis, scenario discovery and
calibration, on a local process pool or a Dask cluster.

    from resurgence.experiments import Experiment, sweep
    exp = Experiment.load("experiments/legitimacy-vision.toml")
    report = sweep(exp, "results/legitimacy-vision", workers=2)

    from resurgence.experiments import Ensemble
    result = Ensemble(scenario, seeds=range(1, 11)).run(workers=2)   # one scenario, 10 seeds

The models know nothing of this package: a run is ``simulate(scenario, seed)``; this package
decides which runs, where they execute (:mod:`.executors`), and how their results are stored
(:mod:`resurgence.store.catalog`).
"""

from resurgence.experiments.design import Plan, make_plan
from resurgence.experiments.ensemble import Ensemble, EnsembleResult, Member
from resurgence.experiments.spec import Experiment, ExperimentError
from resurgence.experiments.sweep import SweepReport, sweep

__all__ = ["Ensemble", "EnsembleResult", "Experiment", "ExperimentError", "Member", "Plan",
           "SweepReport", "make_plan", "sweep"]
