"""From an experiment to the list of runs: design points (SALib's samplers), policies (the
levers' options crossed), replications, and each run's seed and identity.

A run is identified by what it computes: ``run_id = hash(run scenario, seed)``. Its seed comes
from the experiment's seed through ``numpy.random.SeedSequence(seed, spawn_key=(point, policy,
replication))``, so it depends on where the run sits in the design and on nothing else: not on
the executor, the number of workers or the order in which runs finish.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from resurgence.errors import Problem, UserInputError
from resurgence.experiments.spec import (
    Experiment,
    ExperimentError,
    deep_merge,
    key_kind,
    set_key,
)
from resurgence.scenario import Scenario
from resurgence.scenario.model import free_length


@dataclass(frozen=True)
class Plan:
    """Every run of an experiment, in design order."""

    experiment: Experiment
    problem: dict[str, Any]  # SALib problem: names, num_vars, bounds, dists
    samples: np.ndarray  # (points, D) design matrix as sampled (before rounding integer keys)
    # ``design`` holds the values the runs got (integer keys rounded)
    policies: list[dict[str, Any]]  # lever name -> value or option name
    design: pd.DataFrame  # one row per run: row, point, policy, replication, seed, run_id, ...
    scenarios: dict[str, dict[str, Any]]  # run_id -> validated run scenario (as a mapping)

    @property
    def run_ids(self) -> list[str]:
        """Distinct runs in design order (a point repeated with the same seed runs once)."""
        return list(dict.fromkeys(self.design.run_id))


def problem_of(experiment: Experiment) -> dict[str, Any]:
    """The SALib problem of the experiment's ranged uncertainties."""
    names, bounds, dists = [], [], []
    for key, unc in experiment.uncertainties.items():
        names.append(key)
        if unc.values is not None:
            dists.append("unif")
            bounds.append([0.0, 1.0])  # placeholder: a list of values is not sampled by SALib
        else:
            dist, b = unc.salib()
            dists.append(dist)
            bounds.append(b)
    return {"num_vars": len(names), "names": names, "bounds": bounds, "dists": dists}


#: a sweep of more runs than this needs ``--yes`` (``confirmed``); of more than MAX_RUNS it is
#: refused: its design table alone would not fit in memory
CONFIRM_RUNS, MAX_RUNS = 100_000, 10_000_000


def count_runs(experiment: Experiment) -> int:
    """How many runs the plan of ``experiment`` has (points x policies x replications),
    computed from the design without sampling it. O(uncertainties + levers)."""
    design, uncs = experiment.design, experiment.uncertainties
    d = len(uncs)
    if not uncs:
        points = _bare_points(experiment)
    elif design.kind == "full_factorial":
        points = 1
        base = experiment.base_dict()
        for key, unc in uncs.items():
            if unc.values is not None:
                points *= len(unc.values)
            elif key_kind(key, base) == "int":  # the grid rounded to distinct whole numbers
                points *= len(np.unique(np.round(np.linspace(unc.low, unc.high,  # type: ignore[arg-type]
                                                             design.levels))))
            else:
                points *= design.levels
    elif design.kind == "latin_hypercube":
        points = design.samples
    elif design.kind == "sobol":
        points = design.samples * ((2 * d + 2) if design.second_order else (d + 2))
    else:
        points = design.samples * (d + 1)
    policies = 1
    for options in experiment.levers.values():
        policies *= len(options)
    return points * policies * experiment.replications


def check_size(experiment: Experiment, confirmed: bool = False) -> int:
    """The number of runs, checked against :data:`MAX_RUNS` and (unless ``confirmed``)
    :data:`CONFIRM_RUNS`; too many raises :class:`ExperimentError`."""
    runs = count_runs(experiment)
    if runs > MAX_RUNS or (runs > CONFIRM_RUNS and not confirmed):
        rule = (f"at most {MAX_RUNS:,} runs in one sweep; make the design smaller (fewer "
                "levels or samples, fewer policies or replications)" if runs > MAX_RUNS else
                f"more than {CONFIRM_RUNS:,} runs: give --yes to run them all, or make the "
                "design smaller")
        raise ExperimentError(experiment.source, [Problem(
            "design", f"{runs:,} runs", rule)])
    return runs


def _bare_points(experiment: Experiment) -> int:
    """Design points of an experiment without uncertainties: one, or with a posterior, one
    per draw (``design.samples`` of them)."""
    return experiment.design.samples if experiment.posterior is not None else 1


def sample(experiment: Experiment) -> np.ndarray:
    """The design matrix, one row per point, one column per uncertainty (SALib samplers)."""
    design, problem = experiment.design, problem_of(experiment)
    seed = int(np.random.SeedSequence(experiment.seed).generate_state(1)[0])
    if not experiment.uncertainties:
        return np.zeros((_bare_points(experiment), 0))
    if design.kind == "full_factorial":
        axes = []
        for key, unc in experiment.uncertainties.items():
            if unc.values is not None:
                axes.append(list(unc.values))
            else:
                grid = np.linspace(unc.low, unc.high, design.levels)  # type: ignore[arg-type]
                if key_kind(key, experiment.base_dict()) == "int":
                    grid = np.unique(np.round(grid))
                axes.append(grid.tolist())
        return np.array(list(itertools.product(*axes)), dtype=object)
    if design.kind == "latin_hypercube":
        from SALib.sample import latin

        return latin.sample(problem, design.samples, seed=seed)
    if design.kind == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, design.samples, calc_second_order=design.second_order,
                            seed=seed)
    from SALib.sample import morris

    return morris.sample(problem, design.samples, num_levels=design.levels, seed=seed)


def policies_of(experiment: Experiment) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(labels, scenario changes) of every policy: the product of the levers' options."""
    axes = []
    for name, options in experiment.levers.items():
        if isinstance(options, list):
            axes.append([(value, _changes(name, value)) for value in options])
        else:
            axes.append([(option, data) for option, data in options.items()])
    out = []
    for combo in itertools.product(*axes):
        labels = {name: label for name, (label, _) in zip(experiment.levers, combo, strict=True)}
        changes: dict[str, Any] = {}
        for _, change in combo:
            changes = deep_merge(changes, change)
        out.append((labels, changes))
    return out


def _changes(key: str, value: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    set_key(data, key, value)
    return data


def run_seed(root: int, point: int, policy: int, replication: int, common: bool) -> int:
    """A run's seed: 63 bits drawn from SeedSequence(root, spawn_key=(point, policy, rep)),
    or (rep,) alone with common random numbers."""
    key = (replication,) if common else (point, policy, replication)
    state = np.random.SeedSequence(root, spawn_key=key).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def run_id(scenario: Scenario, seed: int) -> str:
    """Identity of a run: a hash of its validated scenario and its seed."""
    return hashlib.sha256(f"{scenario.digest()}:{seed}".encode()).hexdigest()[:20]


def make_plan(experiment: Experiment) -> Plan:
    """Sample the design, cross it with the policies and replications, and validate every
    run's scenario (a sampled value outside what a scenario allows is reported as a mistake
    in the experiment file). O(points x policies) validations."""
    samples = sample(experiment)
    keys = list(experiment.uncertainties)
    base = experiment.base_dict()
    kinds = {k: key_kind(k, base) for k in keys}
    policies = policies_of(experiment)
    drawn = experiment.posterior_draws(len(samples)) if experiment.posterior else None
    rows: list[dict[str, Any]] = []
    scenarios: dict[str, dict[str, Any]] = {}
    for p, (labels, changes) in enumerate(policies):
        with_policy = deep_merge(free_length(base, changes), changes)
        for i, point in enumerate(samples):
            data = json.loads(json.dumps(with_policy, default=str))  # a deep copy; dates: ISO
            values = {}
            for key, value in zip(keys, point, strict=True):
                if kinds[key] == "int":
                    value = int(np.floor(float(value) + 0.5))
                elif kinds[key] == "float":
                    value = float(value)
                values[key] = value
                set_key(data, key, value)
            if drawn is not None:  # the future's parameters: posterior draw i
                values["particle"] = int(drawn["particle"].iloc[i])
                for key in experiment.posterior_keys:
                    values[key] = float(drawn[key].iloc[i])
                    set_key(data, key, values[key])
            try:
                scenario = Scenario.from_dict(data, source=experiment.source)
            except UserInputError as exc:  # name the design point that made it
                problem = exc.problems[0]
                where = f"design point {i}" + (f", policy {labels}" if labels else "")
                raise ExperimentError(experiment.source, [Problem(
                    "uncertainties", values,
                    f"{where} gives an invalid scenario: {problem.key} = {problem.value!r}: "
                    f"{problem.allowed}")]) from None
            dump = scenario.model_dump(mode="json")
            for r in range(experiment.replications):
                seed = run_seed(experiment.seed, i, p, r, experiment.common_random_numbers)
                rid = run_id(scenario, seed)
                scenarios.setdefault(rid, dump)
                rows.append({"row": len(rows), "policy": p, "point": i, "replication": r,
                             "seed": seed, "run_id": rid,
                             **values, **labels})
    design = pd.DataFrame(rows)
    drawn_cols = [*experiment.posterior_keys, "particle"] if drawn is not None else []
    for name in [*keys, *drawn_cols, *experiment.levers]:  # one type a column: numbers, or text
        values = design[name].tolist()
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            design[name] = design[name].astype(float)
        else:
            design[name] = design[name].astype(str)
    return Plan(experiment=experiment, problem=problem_of(experiment),
                samples=samples.astype(float) if samples.dtype != object else samples,
                policies=[labels for labels, _ in policies], design=design, scenarios=scenarios)
