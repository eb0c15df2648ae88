"""Scenario discovery: which ranges of the uncertainties, of the parameters drawn from a
posterior (a study's futures) and which levers make an outcome
happen, found with PRIM (Friedman & Fisher 1999) as the EMA Workbench implements it for
scenario discovery (Bryant & Lempert 2010; Kwakkel 2017).

Every finished run is a case; a case is *of interest* when its outcome meets the condition
("outbursts > 5"). PRIM peels the space of inputs to a box that holds cases of interest
densely. Its trade-off: *coverage* (share of all cases of interest inside the box), *density*
(share of cases in the box that are of interest), *mass* (share of all cases in the box). The
box reported is the one of highest coverage whose density reaches ``threshold`` (of those, the
densest).
"""

from __future__ import annotations

import operator
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resurgence.errors import Problem, UserInputError
from resurgence.experiments.sweep import load_plan
from resurgence.store.catalog import Catalog

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
       "==": operator.eq, "!=": operator.ne}
_CONDITION = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*([-+0-9.eE]+|nan)\s*$")


@dataclass
class Discovery:
    """A PRIM box: limits per restricted input, its statistics and the peeling trajectory."""

    outcome: str
    condition: str
    cases: int
    of_interest: int
    limits: pd.DataFrame  # input, low, high, qp (quasi p-value of the restriction)
    stats: dict[str, float]  # coverage, density, mass, res_dim
    trajectory: pd.DataFrame
    box: int  # the chosen box: its row of ``trajectory``


def parse_condition(condition: str, outcome: str) -> tuple[str, float]:
    """'> 5' (or 'outbursts > 5') -> ('>', 5.0); raises UserInputError."""
    text = condition.strip()
    if text.startswith(outcome):
        text = text[len(outcome):]
    match = _CONDITION.match(text)
    if not match:
        raise UserInputError("--condition", [Problem(
            "--condition", condition, "an operator and a number, e.g. '> 5' or '<= 0.1' "
            "(operators: " + ", ".join(OPS) + ")")])
    return match.group(1), float(match.group(2))


def cases(folder: Path, outcome: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The finished runs of a sweep as cases: their inputs (uncertainties, parameters drawn
    from a posterior, levers; text as categories, constant ones dropped) and ``outcome``."""
    plan = load_plan(folder)
    if outcome not in plan["outcomes"]:
        raise UserInputError("--outcome", [Problem(
            "--outcome", outcome, "not an outcome of this sweep (allowed: "
            + ", ".join(plan["outcomes"]) + ")")])
    inputs = [*plan["experiment"]["uncertainties"], *plan.get("posterior_keys", []),
              *plan["experiment"]["levers"]]
    if not inputs:
        raise UserInputError(str(folder), [Problem(
            "uncertainties", {}, "the experiment varies nothing: no ranges to discover")])
    df = Catalog(folder, read_only=True).query("SELECT * FROM results ORDER BY row")
    if df.empty:
        raise UserInputError(str(folder), [Problem("runs", 0, "no finished runs yet")])
    x = df[inputs].copy()
    for col in x.columns:
        if x[col].dtype == object or str(x[col].dtype).startswith(("str", "string")):
            x[col] = x[col].astype(str).astype("category")
        elif x[col].nunique() <= 1:
            x = x.drop(columns=col)
    return x, df[outcome].to_numpy(dtype=float)


def feature_scores(folder: Path, outcome: str, seed: int = 0) -> pd.DataFrame:
    """What drives ``outcome``: each input's share of the extra-trees importance (the EMA
    Workbench's feature scoring; Geurts et al. 2006), highest first; the seed fixes it."""
    x, y = cases(folder, outcome)
    if x.empty:
        raise UserInputError(str(folder), [Problem("inputs", {}, "no input varies")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis.feature_scoring import RuleInductionType, get_ex_feature_scores

        scores, _ = get_ex_feature_scores(x, y, mode=RuleInductionType.REGRESSION,
                                          random_state=seed)
    return scores.reset_index().set_axis(["input", "score"], axis=1)


def discover(folder: Path, outcome: str, condition: str, threshold: float = 0.8,
             peel_alpha: float = 0.05) -> Discovery:
    """Run PRIM on the finished runs of a sweep (drawn by
    :func:`resurgence.viz.experiment_plots.plot_tradeoff`)."""
    op, value = parse_condition(condition, outcome)
    x, outcomes = cases(folder, outcome)
    y = OPS[op](outcomes, value)
    if x.empty or not y.any() or y.all():
        raise UserInputError("--condition", [Problem(
            "--condition", f"{outcome} {op} {value:g}",
            f"holds in {int(y.sum())} of {len(y)} runs: PRIM needs some runs where it holds "
            "and some where it does not")])
    found = find_box(x, y, threshold, peel_alpha)
    return Discovery(outcome=outcome, condition=f"{op} {value:g}", cases=len(y),
                     of_interest=int(y.sum()), **found)


def find_box(x: pd.DataFrame, y: np.ndarray, threshold: float = 0.8,
             peel_alpha: float = 0.05) -> dict[str, Any]:
    """PRIM (EMA Workbench) on cases ``x`` (inputs, categories allowed) of interest where
    ``y``: the box of highest coverage among those of density at least ``threshold`` (the
    last if none): its ``limits``, ``stats``, the peeling ``trajectory`` and its row
    ``box``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        algorithm = prim.Prim(x, np.asarray(y).astype(int), threshold=threshold,
                              peel_alpha=peel_alpha)
        box = algorithm.find_box()
    trajectory = box.peeling_trajectory.copy()
    dense = trajectory[trajectory.density >= threshold]
    pick = int(dense.sort_values(["coverage", "density"], ascending=False).index[0]) \
        if len(dense) else int(trajectory.index[-1])
    box.select(pick)
    # the box's statistics and limits as PrimBox.inspect(style="data") gives them, read
    # directly: inspect fails on a box that restricts a categorical input (it writes the set of
    # categories into a float table; EMA Workbench 2.5.3 with pandas 2)
    stats = box.peeling_trajectory.iloc[pick]
    return {"limits": _limits(box.qp[pick], box.box_lims[pick], x),
            "stats": {k: float(stats[k]) for k in ("coverage", "density", "mass", "res_dim")},
            "trajectory": trajectory, "box": pick}


def _limits(qp_values: dict[str, list[float]], box_lim: pd.DataFrame, x: pd.DataFrame
            ) -> pd.DataFrame:
    """The restricted inputs of a box, by quasi-p value (PrimBox.inspect's order; -1: none)."""
    rows = []
    for name, qps in sorted(qp_values.items(), key=operator.itemgetter(1)):
        values = box_lim[name]
        qp = [v for v in qps if v != -1 and not pd.isna(v)]
        if x[name].dtype.name == "category":
            chosen = sorted(values.iloc[0]) if isinstance(values.iloc[0], set) else values.iloc[0]
            rows.append({"input": name, "low": str(chosen), "high": "",
                         "full_range": ", ".join(map(str, x[name].cat.categories)),
                         "qp": min(qp) if qp else np.nan})
            continue
        rows.append({"input": name, "low": float(values.iloc[0]), "high": float(values.iloc[1]),
                     "full_range": f"{x[name].min():g} .. {x[name].max():g}",
                     "qp": min(qp) if qp else np.nan})
    return pd.DataFrame(rows, columns=["input", "low", "high", "full_range", "qp"])
