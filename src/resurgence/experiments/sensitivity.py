"""Global sensitivity analysis of a finished sweep with SALib.

A ``sobol`` design gives Sobol' first-order and total indices (S1, ST; S2 with second_order),
a ``morris`` design gives Morris elementary effects (mu*, sigma); any other design is analysed
with RBD-FAST first-order indices (Tarantola et al. 2006; Plischke 2010; SALib ``rbd_fast``),
which take any sample (best a Latin hypercube). Each index comes with its bootstrap
confidence interval (``*_conf``: half-width at ``conf_level``). Replications are averaged per
design point first, so the indices describe the expected outcome; with levers, each policy is
analysed on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resurgence.errors import Problem, UserInputError
from resurgence.experiments.sweep import load_plan
from resurgence.store.catalog import Catalog


def sobol_indices(problem: dict[str, Any], y: np.ndarray, second_order: bool = False,
                  conf_level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Sobol' indices of outputs ``y`` (in the order of SALib's Saltelli sample)."""
    from SALib.analyze import sobol

    res = sobol.analyze(problem, np.asarray(y, float), calc_second_order=second_order,
                        conf_level=conf_level, seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "S1": res["S1"],
                         "S1_conf": res["S1_conf"], "ST": res["ST"], "ST_conf": res["ST_conf"]})


def morris_indices(problem: dict[str, Any], x: np.ndarray, y: np.ndarray, levels: int,
                   conf_level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Morris mu, mu* (with its confidence) and sigma of outputs ``y`` at sample ``x``."""
    from SALib.analyze import morris

    res = morris.analyze(problem, np.asarray(x, float), np.asarray(y, float),
                         conf_level=conf_level, num_levels=levels, seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "mu": res["mu"],
                         "mu_star": res["mu_star"], "mu_star_conf": res["mu_star_conf"],
                         "sigma": res["sigma"]})


def rbd_fast_indices(problem: dict[str, Any], x: np.ndarray, y: np.ndarray,
                     conf_level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """First-order indices S1 (with confidence) by RBD-FAST, on any sample."""
    from SALib.analyze import rbd_fast

    res = rbd_fast.analyze(problem, np.asarray(x, float), np.asarray(y, float),
                           conf_level=conf_level, seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "S1": res["S1"],
                         "S1_conf": res["S1_conf"]})


def point_means(folder: Path, outcome: str, policy: int) -> np.ndarray:
    """Mean over replications of ``outcome`` at every design point of one policy, in design
    order; raises UserInputError if runs are missing."""
    catalog = Catalog(folder, read_only=True)
    planned = catalog.query(f"SELECT count(*) AS n FROM design WHERE policy = {policy}").n[0]
    df = catalog.query(
        f'SELECT point, avg("{outcome}") AS y, count(*) AS n FROM results '
        f"WHERE policy = {policy} GROUP BY point ORDER BY point")
    if df.n.sum() < planned:
        raise UserInputError(str(folder), [Problem(
            "runs", f"{int(df.n.sum())} of {planned}",
            "the sweep is not complete: run `resurgence sweep` again to finish it")])
    if df.y.isna().any():
        bad = int(df.y.isna().sum())
        raise UserInputError(str(folder), [Problem(
            "--outcome", outcome, f"is undefined (NaN) at {bad} design points; pick another")])
    return df.y.to_numpy()


def analyse(folder: Path, outcomes: list[str] | None = None, conf_level: float = 0.95,
            ) -> dict[tuple[str, str], pd.DataFrame]:
    """Indices of every (outcome, policy label) of a finished sweep."""
    plan = load_plan(folder)
    exp, problem = plan["experiment"], plan["problem"]
    if problem["num_vars"] == 0:
        raise UserInputError(str(folder), [Problem(
            "uncertainties", {}, "the experiment has no uncertainties to analyse")])
    if any(unc.get("values") is not None for unc in exp["uncertainties"].values()):
        raise UserInputError(str(folder), [Problem(
            "uncertainties", "values", "sensitivity needs ranged uncertainties, not lists")])
    names = outcomes or plan["outcomes"]
    for name in names:
        if name not in plan["outcomes"]:
            raise UserInputError("--outcome", [Problem(
                "--outcome", name, "not an outcome of this sweep (allowed: "
                + ", ".join(plan["outcomes"]) + ")")])
    kind = exp["design"]["kind"]
    x = np.asarray(plan["samples"], float)
    if kind not in ("sobol", "morris") and len(x) < 21:
        raise UserInputError(str(folder), [Problem(
            "design.samples", len(x), f"RBD-FAST (the analysis of a {kind} design) needs at "
            "least 21 design points; use more, or a sobol or morris design")])
    out = {}
    for p, labels in enumerate(plan["policies"]):
        label = ", ".join(f"{k}={v}" for k, v in labels.items()) or "all"
        for name in names:
            y = point_means(folder, name, p)
            if kind == "sobol":
                table = sobol_indices(problem, y, exp["design"]["second_order"], conf_level,
                                      seed=exp["seed"])
            elif kind == "morris":
                table = morris_indices(problem, x, y, exp["design"]["levels"], conf_level,
                                       seed=exp["seed"])
            else:
                table = rbd_fast_indices(problem, x, y, conf_level, seed=exp["seed"])
            out[(name, label)] = table
    return out
