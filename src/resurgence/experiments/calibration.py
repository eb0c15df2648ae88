"""Calibration: fit chosen scenario parameters to an observed series or to target values.

Method (a two-stage, simulation-based least squares with common random numbers):

1. *Global*: a Latin hypercube (SALib) of ``samples`` points over the parameter box. Each point
   runs the same ``seeds`` seeds (common random numbers, so that two points differ by their
   parameters and not by their luck), and its loss is the RMSE between the mean over seeds of
   the simulated observable and the target (per tick for a series; per outcome for values).
2. *Local*: Nelder-Mead (SciPy ``minimize``) from the best point of stage 1, inside the box,
   for at most ``refine`` more evaluations; the objective is piecewise constant in the
   parameters (agents decide by thresholds), which a derivative-free simplex tolerates.

Fit statistics: RMSE, MAE, bias, R² (series only), the noise floor (the RMSE expected from the
seeds' spread alone: the standard error of the mean over seeds) and a plausible range for each
parameter: the points whose loss is within two standard errors of the best (an ABC-style
rejection step, Beaumont 2010). Evaluations run on any executor, like sweeps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resurgence.errors import Problem, UserInputError
from resurgence.experiments.outcomes import COLUMNS_I, COLUMNS_II, check_outcome, reduce
from resurgence.experiments.spec import key_kind, numeric_keys, set_key
from resurgence.scenario import Scenario

#: derived series a target may name, besides any frame column
SHARES = ("active_share", "jailed_share", "quiet_share")


@dataclass(frozen=True)
class Target:
    """What to fit: a series over ticks, or named outcome values."""

    source: str
    kind: str  # "series" or "values"
    names: list[str]  # the series name, or the outcome names
    ticks: np.ndarray  # ticks of the series (empty for values)
    values: np.ndarray


def load_target(path: str | Path, model: str = "epstein") -> Target:
    """Read a target CSV: ``tick,<series>`` (series: a frame column, or for Epstein's model
    active_share, jailed_share, quiet_share) or ``outcome,value`` (named outcomes)."""
    path = Path(path)
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise UserInputError(path, [Problem("file", str(path), "no such file")]) from None
    except Exception as exc:  # noqa: BLE001 - any parse error is the user's file
        raise UserInputError(path, [Problem("file", str(path), f"not a CSV table: {exc}")]
                             ) from None
    cols = list(df.columns)
    if cols[:2] == ["outcome", "value"] and len(cols) == 2:
        for i, name in enumerate(df.outcome):
            problem = check_outcome(str(name), model)
            if problem:
                raise UserInputError(path, [Problem(f"outcome (row {i + 1})", name, problem)])
        values = pd.to_numeric(df.value, errors="coerce")
        if values.isna().any():
            i = int(values.isna().to_numpy().argmax())
            raise UserInputError(path, [Problem(f"value (row {i + 1})", df.value[i],
                                                "must be a number")])
        return Target(str(path), "values", [str(n) for n in df.outcome], np.array([]),
                      values.to_numpy(float))
    allowed_series = SHARES + tuple(c for c in COLUMNS_I + COLUMNS_II if c != "tick")
    known = cols[1] in allowed_series if model == "epstein" and len(cols) == 2 else \
        len(cols) == 2 and str(cols[1]).isidentifier()
    if len(cols) != 2 or cols[0] != "tick" or not known:
        raise UserInputError(path, [Problem(
            "(header)", ",".join(map(str, cols)),
            "must be `tick,<series>` with <series> one of " + ", ".join(allowed_series)
            + "; or `outcome,value`")])
    ticks = pd.to_numeric(df.tick, errors="coerce")
    values = pd.to_numeric(df[cols[1]], errors="coerce")
    for name, col in (("tick", ticks), (cols[1], values)):
        if col.isna().any():
            i = int(col.isna().to_numpy().argmax())
            raise UserInputError(path, [Problem(f"{name} (row {i + 1})", df[name][i],
                                                "must be a number")])
    if (ticks < 0).any() or (ticks != ticks.round()).any():
        raise UserInputError(path, [Problem("tick", ticks.tolist()[:5],
                                            "ticks must be whole numbers >= 0")])
    return Target(str(path), "series", [cols[1]], ticks.to_numpy(int), values.to_numpy(float))


@dataclass(frozen=True)
class ObserveTask:
    """One simulation for calibration: the observable is computed on the worker."""

    scenario: dict[str, Any]
    seed: int
    target_kind: str
    names: list[str]
    ticks: list[int]
    burn_in: int


def observe(task: ObserveTask) -> list[float]:
    """Simulate and return the target's observable (series at the target ticks, or values)."""
    from resurgence.api import simulate
    from resurgence.experiments.worker import prepare_worker

    prepare_worker()
    frame = simulate(Scenario.from_dict(task.scenario), seed=task.seed)
    if task.target_kind == "values":
        summary = None
        if task.scenario.get("model", "epstein") != "epstein":
            from resurgence.analysis import summarise

            summary = summarise(Scenario.from_dict(task.scenario), frame)
        out = reduce(frame, task.names, burn_in=task.burn_in, summary=summary)
        return [out[n] for n in task.names]
    name = task.names[0]
    if name in SHARES:
        citizens = (frame.quiet + frame.active + frame.jailed).clip(lower=1)
        series = frame[name.removesuffix("_share")] / citizens
    else:
        series = frame[name]
    return series.reindex(task.ticks).astype(float).tolist()


@dataclass
class Calibration:
    """The fit: best parameters, statistics and every evaluation (drawn by
    :func:`resurgence.viz.experiment_plots.plot_fit`)."""

    params: dict[str, float]
    stats: dict[str, float]
    plausible: dict[str, tuple[float, float]]
    evaluations: pd.DataFrame
    fitted: np.ndarray  # mean over seeds at the best point
    spread: np.ndarray  # sd over seeds at the best point
    target: Target
    notes: list[str] = field(default_factory=list)


def parse_params(specs: list[str], scenario: Scenario) -> dict[str, tuple[float, float]]:
    """``["epstein.legitimacy=0.5:0.95", ...]`` -> {key: (low, high)}; raises UserInputError."""
    out: dict[str, tuple[float, float]] = {}
    base = scenario.model_dump(mode="json")
    for spec in specs:
        key, _, rng = spec.partition("=")
        low, _, high = rng.partition(":")
        try:
            lo, hi = float(low), float(high)
        except ValueError:
            raise UserInputError("--param", [Problem("--param", spec,
                                 "KEY=LOW:HIGH, e.g. epstein.legitimacy=0.5:0.95")]) from None
        if key_kind(key.strip(), base) not in ("int", "float"):
            raise UserInputError("--param", [Problem("--param", key, "a numeric scenario key: "
                                                     + ", ".join(numeric_keys()))])
        if not lo < hi:
            raise UserInputError("--param", [Problem("--param", spec, "LOW must be below HIGH")])
        for value in (lo, hi):
            data = scenario.model_dump(mode="json")
            set_key(data, key.strip(), value)
            try:
                Scenario.from_dict(data)
            except UserInputError as exc:
                p = exc.problems[0]
                raise UserInputError("--param", [Problem("--param", spec,
                                     f"{p.key} = {p.value!r}: {p.allowed}")]) from None
        out[key.strip()] = (lo, hi)
    if not out:
        raise UserInputError("--param", [Problem("--param", None, "give at least one "
                                                 "KEY=LOW:HIGH")])
    return out


def calibrate(scenario: Scenario, target: Target, params: dict[str, tuple[float, float]],
              executor: Any, seeds: int = 4, samples: int = 16, refine: int = 30,
              seed: int = 0, burn_in: int = 0,
              on_eval: Callable[[int, float], None] | None = None) -> Calibration:
    """Fit ``params`` (key -> (low, high)) of ``scenario`` to ``target``; see module doc."""
    from SALib.sample import latin
    from scipy.optimize import minimize

    keys = list(params)
    lows = np.array([params[k][0] for k in keys])
    highs = np.array([params[k][1] for k in keys])
    base = scenario.model_dump(mode="json")
    kinds = {k: key_kind(k, base) for k in keys}
    run_seeds = [int(s.generate_state(1, np.uint64)[0] >> np.uint64(1))
                 for s in np.random.SeedSequence(seed).spawn(seeds)]
    if target.kind == "series" and target.ticks.max() > scenario.ticks:
        raise UserInputError(target.source, [Problem(
            "tick", int(target.ticks.max()), f"beyond the scenario's {scenario.ticks} ticks")])
    rows: list[dict[str, Any]] = []
    cache: dict[tuple[float, ...], tuple[float, np.ndarray, np.ndarray]] = {}

    def scenario_at(theta: np.ndarray) -> dict[str, Any]:
        data = scenario.model_dump(mode="json")
        for k, v in zip(keys, theta, strict=True):
            set_key(data, k, int(np.floor(v + 0.5)) if kinds[k] == "int" else float(v))
        return data

    def evaluate_many(thetas: list[np.ndarray]) -> list[float]:
        """Evaluate points in parallel (every seed of every point in flight at once)."""
        fresh = [t for t in thetas if tuple(np.round(t, 12)) not in cache]
        futures = {}
        for t in fresh:
            data = scenario_at(t)
            futures[tuple(np.round(t, 12))] = [
                executor.submit(observe, ObserveTask(data, s, target.kind, target.names,
                                                     target.ticks.tolist(), burn_in))
                for s in run_seeds]
        for key, futs in futures.items():
            sims = np.array([f.result() for f in futs], float)
            mean, sd = sims.mean(axis=0), sims.std(axis=0, ddof=1) if seeds > 1 else \
                np.zeros(sims.shape[1])
            loss = float(np.sqrt(np.nanmean((mean - target.values) ** 2)))
            cache[key] = (loss, mean, sd)
            rows.append({**dict(zip(keys, key, strict=True)), "loss": loss,
                         "stage": "global" if len(rows) < samples else "local"})
            if on_eval:
                on_eval(len(rows), loss)
        return [cache[tuple(np.round(t, 12))][0] for t in thetas]

    problem = {"num_vars": len(keys), "names": keys,
               "bounds": [[float(a), float(b)] for a, b in zip(lows, highs, strict=True)]}
    design = latin.sample(problem, samples, seed=int(np.random.SeedSequence(seed)
                                                          .generate_state(1)[0]))
    losses = evaluate_many(list(design))
    start = design[int(np.argmin(losses))]

    def objective(u: np.ndarray) -> float:  # u in the unit box
        theta = lows + np.clip(u, 0, 1) * (highs - lows)
        return evaluate_many([theta])[0]

    u0 = (start - lows) / (highs - lows)
    step = 1.0 / samples
    simplex = np.vstack([u0] + [np.clip(u0 + step * np.eye(len(keys))[i], 0, 1)
                                if u0[i] + step <= 1 else u0 - step * np.eye(len(keys))[i]
                                for i in range(len(keys))])
    if refine > 0:
        minimize(objective, u0, method="Nelder-Mead", bounds=[(0, 1)] * len(keys),
                 options={"maxfev": refine, "initial_simplex": simplex, "xatol": 1e-3,
                          "fatol": 1e-9})
    evaluations = pd.DataFrame(rows)
    best_i = int(evaluations.loss.idxmin())
    best = {k: float(evaluations.loc[best_i, k]) for k in keys}
    loss, fitted, spread = cache[tuple(np.round([best[k] for k in keys], 12))]
    resid = fitted - target.values
    se = spread / np.sqrt(max(seeds, 1))
    noise = float(np.sqrt(np.nanmean(se ** 2)))
    stats = {"rmse": loss, "mae": float(np.nanmean(np.abs(resid))),
             "bias": float(np.nanmean(resid)), "noise_floor_rmse": noise,
             "evaluations": float(len(evaluations)), "runs": float(len(evaluations) * seeds)}
    if target.kind == "series" and len(target.values) > 1 and np.var(target.values) > 0:
        stats["r2"] = float(1 - np.nansum(resid ** 2)
                            / np.nansum((target.values - target.values.mean()) ** 2))
    accepted = evaluations[evaluations.loss <= loss + 2 * max(noise, 1e-12)]
    plausible = {k: (float(accepted[k].min()), float(accepted[k].max())) for k in keys}
    for k in keys:
        if kinds[k] == "int":
            best[k] = float(np.floor(best[k] + 0.5))
    return Calibration(params=best, stats=stats, plausible=plausible, evaluations=evaluations,
                       fitted=fitted, spread=spread, target=target)
