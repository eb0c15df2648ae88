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


def find_leaves(x: pd.DataFrame, y: np.ndarray, mass_min: float = 0.05,
                seed: int = 0) -> pd.DataFrame:
    """CART for scenario discovery (Breiman et al. 1984; the EMA Workbench's use of it) on
    cases ``x`` of interest where ``y``: one row per leaf of a classification tree whose leaves
    hold at least ``mass_min`` of the cases, with its ``coverage``, ``density`` and ``mass``
    and its ``rule`` (the inputs it restricts), densest first. Categories enter as one-hot
    columns, as in the EMA Workbench's CART; the leaves are read from scikit-learn's tree
    itself: the Workbench's boxes (2.5.3) share one set of categories between leaves, so a
    split on a category corrupts the other leaves' boxes. The tree is grown with ``seed``
    (scikit-learn breaks ties between equally good splits at random)."""
    from sklearn.tree import DecisionTreeClassifier

    y = np.asarray(y).astype(bool)
    dummies = pd.get_dummies(x, prefix_sep=_SEP)
    data = dummies.to_numpy(float)
    tree = DecisionTreeClassifier(min_samples_leaf=max(1, int(mass_min * len(x))),
                                  random_state=seed).fit(data, y)
    t, leaf_of = tree.tree_, tree.apply(data)
    paths: dict[int, list[tuple[str, bool, float]]] = {}
    stack: list[tuple[int, list[tuple[str, bool, float]]]] = [(0, [])]
    while stack:
        node, conds = stack.pop()
        if t.children_left[node] == -1:
            paths[node] = conds
            continue
        name, cut = str(dummies.columns[t.feature[node]]), float(t.threshold[node])
        stack.append((int(t.children_left[node]), [*conds, (name, False, cut)]))  # <= cut
        stack.append((int(t.children_right[node]), [*conds, (name, True, cut)]))  # > cut
    rows = []
    for node, conds in sorted(paths.items()):
        inside = leaf_of == node
        rows.append({"leaf": node, "coverage": float(y[inside].sum() / max(y.sum(), 1)),
                     "density": float(y[inside].mean()), "mass": float(inside.mean()),
                     "rule": _rule(conds, x)})
    return pd.DataFrame(rows).sort_values(["density", "coverage"], ascending=False,
                                          kind="stable").reset_index(drop=True)


_SEP = "!?!"  # between an input and its category in a one-hot column's name


def _rule(conds: list[tuple[str, bool, float]], x: pd.DataFrame) -> str:
    """A leaf's path (column, above the cut?, cut) as the inputs it restricts ('all': none)."""
    low: dict[str, float] = {}
    high: dict[str, float] = {}
    kept = {c: set(map(str, x[c].cat.categories)) for c in x.columns
            if x[c].dtype.name == "category"}
    for name, above, cut in conds:
        if _SEP in name:  # a category's one-hot column: above the cut is that category
            column, category = name.split(_SEP, 1)
            kept[column] = kept[column] & {category} if above else kept[column] - {category}
        elif above:
            low[name] = max(low.get(name, -np.inf), cut)
        else:
            high[name] = min(high.get(name, np.inf), cut)
    parts = []
    for name in x.columns:
        if name in kept and len(kept[name]) < len(x[name].cat.categories):
            parts.append(f"{name} in {{{', '.join(sorted(kept[name]))}}}")
        if name in low:
            parts.append(f"{name} > {low[name]:.4g}")
        if name in high:
            parts.append(f"{name} <= {high[name]:.4g}")
    return "; ".join(parts) or "all"


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
