"""Robustness of policies across futures (robust decision making: Lempert, Popper & Bankes
2003, *Shaping the Next One Hundred Years*, RAND; the EMA Workbench's workflow, Kwakkel 2017).

A *case* is one run: a future (a design point: a posterior draw and a setting of the
uncertainties), a policy and a replication (seed). Per future and policy the outcome is the
mean over replications. Then, per policy and across futures:

- *regret* of a policy in a future: how much worse its outcome is than the best policy's in
  that future (Savage 1951); reported as the mean and the 90th percentile over futures;
- *satisficing*: the share of futures in which the policy meets every threshold (Simon 1956;
  "no resurgence in most runs and casualties under a bound");

each with a bootstrap interval over futures (``scipy.stats.bootstrap``, percentile method,
seeded), the futures being the sample that the study draws.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resurgence.errors import Problem, UserInputError

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_RULE = re.compile(r"^\s*(\w+)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")


def parse_rules(texts: Sequence[str], outcomes: Sequence[str]) -> dict[str, tuple[str, float]]:
    """``["resurgence <= 0.5", ...]`` -> ``{"resurgence": ("<=", 0.5)}``; a rule that is not
    ``OUTCOME OP NUMBER`` with one of ``outcomes`` raises UserInputError (``--rule``)."""
    rules = {}
    for text in texts:
        m = _RULE.match(text)
        if m is None or m.group(1) not in outcomes:
            raise UserInputError("--rule", [Problem("--rule", text, (
                "OUTCOME OP NUMBER with OP one of <, <=, >, >= and OUTCOME one of "
                + ", ".join(outcomes)))])
        rules[m.group(1)] = (m.group(2), float(m.group(3)))
    return rules


@dataclass(frozen=True)
class Study:
    """A sweep read as a policy study: its plan, its levers, and its finished runs with a
    ``policy`` column (the levers' options, joined)."""

    plan: dict[str, Any]
    levers: list[str]
    cases: pd.DataFrame


def load_study(folder: Path, outcome: str | None = None,
               levers: Mapping[str, str | None] | None = None) -> Study:
    """The finished runs of the sweep in ``folder`` as a policy study. A folder that is not a
    sweep, an ``outcome`` it did not keep, a lever named in ``levers`` (option -> name) that
    is not one of its levers (or is named twice), a sweep of one policy or of no finished run
    is a UserInputError."""
    from resurgence.experiments.sweep import load_plan
    from resurgence.store.catalog import Catalog

    plan = load_plan(folder)
    kept = list(plan["outcomes"])
    if outcome is not None and outcome not in kept:
        raise UserInputError("--outcome", [Problem("--outcome", outcome, "an outcome of this "
                                                   "sweep: " + ", ".join(kept))])
    names = list(plan["experiment"]["levers"])
    if not names:
        raise UserInputError(str(folder), [Problem(
            "levers", {}, "the experiment has one policy: nothing to compare")])
    given = {key: name for key, name in (levers or {}).items() if name is not None}
    for key, name in given.items():
        if name not in names or list(given.values()).count(name) > 1:
            raise UserInputError(key, [Problem(key, name, "a lever of this sweep, each named "
                                               "once: " + ", ".join(names))])
    cases = Catalog(folder, read_only=True).query("SELECT * FROM results ORDER BY row")
    if cases.empty:
        raise UserInputError(str(folder), [Problem("runs", 0, "no finished runs yet")])
    cases["policy"] = cases[names].astype(str).agg(", ".join, axis=1)
    return Study(plan, names, cases)


def per_future(cases: pd.DataFrame, outcomes: Sequence[str], future: str = "point",
               policy: str = "policy") -> pd.DataFrame:
    """The mean of each outcome over the replications of every (future, policy): one row
    per pair, in (future, policy) order. O(cases)."""
    return cases.groupby([future, policy], sort=True)[list(outcomes)].mean().reset_index()


def regret(table: pd.DataFrame, outcome: str, lower_is_better: bool = True,
           future: str = "point", policy: str = "policy") -> pd.DataFrame:
    """A (future x policy) table of regret: the outcome's distance to the best policy's in
    the same future (0 for the best), from a :func:`per_future` table. O(rows)."""
    wide = table.pivot(index=future, columns=policy, values=outcome)
    best = wide.min(axis=1) if lower_is_better else wide.max(axis=1)
    return (wide.sub(best, axis=0) if lower_is_better else -wide.sub(best, axis=0))


def satisficing(table: pd.DataFrame, rules: Mapping[str, tuple[str, float]],
                future: str = "point", policy: str = "policy") -> pd.DataFrame:
    """A (future x policy) table of booleans: the policy meets every rule (outcome -> (op,
    threshold), e.g. ``{"resurgence": ("<=", 0.5)}``) in that future. O(rows x rules)."""
    ok = pd.Series(True, index=table.index)
    for outcome, (op, threshold) in rules.items():
        ok &= OPS[op](table[outcome], threshold)
    return table.assign(_ok=ok).pivot(index=future, columns=policy, values="_ok").astype(bool)


def interval(values: np.ndarray, stat, level: float = 0.9, resamples: int = 1000,
             seed: int = 0) -> tuple[float, float]:
    """A percentile bootstrap interval of ``stat`` over ``values`` (the futures)."""
    from scipy import stats

    if len(values) < 2 or np.all(values == values[0]):
        v = float(stat(values))
        return v, v
    res = stats.bootstrap((values,), stat, confidence_level=level, n_resamples=resamples,
                          method="percentile", random_state=np.random.default_rng(seed),
                          vectorized=False)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def robustness(cases: pd.DataFrame, outcome: str, rules: Mapping[str, tuple[str, float]],
               lower_is_better: bool = True, level: float = 0.9, resamples: int = 1000,
               seed: int = 0, future: str = "point", policy: str = "policy") -> pd.DataFrame:
    """Per policy: mean and 90th-percentile regret on ``outcome`` and the satisficing share
    under ``rules``, each with a ``level`` bootstrap interval over futures; sorted by mean
    regret. The same cases and seed give the same table."""
    table = per_future(cases, sorted({outcome, *rules}), future, policy)
    reg = regret(table, outcome, lower_is_better, future, policy)
    sat = satisficing(table, rules, future, policy)
    rows = []
    for p in reg.columns:
        r = reg[p].to_numpy(float)
        s = sat[p].to_numpy(float)
        mean_lo, mean_hi = interval(r, np.mean, level, resamples, seed)
        p90 = lambda x: np.quantile(x, 0.9)  # noqa: E731
        q_lo, q_hi = interval(r, p90, level, resamples, seed)
        s_lo, s_hi = interval(s, np.mean, level, resamples, seed)
        rows.append({"policy": p, "futures": len(r),
                     "regret_mean": float(r.mean()), "regret_mean_low": mean_lo,
                     "regret_mean_high": mean_hi, "regret_p90": float(p90(r)),
                     "regret_p90_low": q_lo, "regret_p90_high": q_hi,
                     "satisficing": float(s.mean()), "satisficing_low": s_lo,
                     "satisficing_high": s_hi})
    return pd.DataFrame(rows).sort_values("regret_mean", kind="stable").reset_index(drop=True)


def surface(cases: pd.DataFrame, x: str, y: str, outcome: str,
            facet: str | None = None) -> pd.DataFrame:
    """The dose-response surface: the mean of ``outcome`` over every case (futures and
    replications) at each (``facet``,) ``y``, ``x`` setting of the levers; one row per
    setting with its mean and the number of cases. O(cases)."""
    keys = [k for k in (facet, y, x) if k is not None]
    out = cases.groupby(keys, sort=True)[outcome].agg(["mean", "count"]).reset_index()
    return out.rename(columns={"mean": outcome, "count": "cases"})
