"""The report of a policy study (a sweep of policies over futures; issue 22): the question,
the plan, the robustness table with its intervals, where the rules fail (PRIM and CART), what drives
the outcome (feature scoring), the dose-response surface of the first levers, provenance. One
self-contained HTML file, figures embedded. The experiments layer computes; this lays it out."""

from __future__ import annotations

import datetime as dt
import html
import platform
import sys
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from resurgence import __version__
from resurgence.errors import UserInputError
from resurgence.store import atomic_write_bytes
from resurgence.viz.plots import figure_bytes
from resurgence.viz.report import _CSS, _img

_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(df: pd.DataFrame, digits: int = 3) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    rows = []
    for _, row in df.iterrows():
        cells = "".join(
            f"<td class='num'>{v:,.{digits}g}</td>" if isinstance(v, float) else
            f"<td>{_e(v)}</td>" for v in row)
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def build_study_report(folder: Path, outcome: str, rules: Mapping[str, tuple[str, float]],
                       lower_is_better: bool = True, title: str | None = None) -> str:
    """The report of the sweep in ``folder`` (see the module docstring) as one HTML string."""
    from resurgence.experiments.discovery import OPS, discover, feature_scores, find_leaves
    from resurgence.experiments.discovery import cases as cases_of
    from resurgence.experiments.robustness import load_study, robustness, surface
    from resurgence.viz.experiment_plots import plot_surface, plot_tradeoff

    study = load_study(folder, outcome)
    plan, levers, cases = study.plan, study.levers, study.cases
    exp = plan["experiment"]
    title = title or f"Policy study: {exp.get('name') or folder.name}"
    futures = int(cases["point"].nunique())
    varied = [*exp["uncertainties"], *plan.get("posterior_keys", [])]
    rule_text = " and ".join(f"{k} {op} {v:g}" for k, (op, v) in rules.items()) or "(none)"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p class='meta'>Written {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC} by resurgence "
        f"{_e(__version__)} from <code>{_e(folder)}</code>.</p>",
        "<h2>Question</h2>", f"<p class='question'>{_e(exp.get('description') or '')}</p>",
        "<h2>The plan</h2>",
        f"<p>{len(plan['policies'])} policies, {futures} futures (varied: "
        f"{_e(', '.join(varied) or 'nothing')}), {exp['replications']} replications; "
        f"{len(cases)} runs finished. Base scenario: <code>{_e(exp['scenario'])}</code>.</p>",
        _table(pd.DataFrame({"policy": sorted(cases["policy"].unique())})),
        "<h2>Robustness</h2>",
        f"<p>Regret on <code>{_e(outcome)}</code> ({'less' if lower_is_better else 'more'} is "
        f"better): how far a policy falls short of the best one in each future, averaged over "
        f"its replications; satisficing: the share of futures where {_e(rule_text)}; "
        "90% bootstrap intervals over futures.</p>",
        _table(robustness(cases, outcome, rules, lower_is_better=lower_is_better)),
    ]
    for name, (op, value) in rules.items():  # where a rule fails
        condition = f"{_NEGATE[op]} {value:g}"
        parts.append(f"<h2>Where {_e(name)} {_e(condition)} (scenario discovery, PRIM "
                     "and CART)</h2>")
        try:
            found = discover(folder, name, condition)
        except UserInputError as exc:  # too few or too many cases of interest: say so
            parts.append(f"<p class='note'>No box: {_e(exc)}</p>")
            continue
        s = found.stats
        x, values = cases_of(folder, name)
        leaves = find_leaves(x, OPS[_NEGATE[op]](values, value))
        parts += [f"<p>{found.of_interest} of {found.cases} runs; PRIM's box coverage "
                  f"{s['coverage']:.2f}, density {s['density']:.2f}.</p>",
                  _table(found.limits), _img(figure_bytes(plot_tradeoff(found)), "PRIM"),
                  "<p>CART's leaves where the rule fails in most runs:</p>",
                  _table(leaves[leaves.density >= 0.5])]
    scores = feature_scores(folder, outcome)
    parts += [f"<h2>What drives {_e(outcome)} (feature scoring)</h2>", _table(scores)]
    if len(levers) >= 2:
        x, y = levers[0], levers[1]
        facet = levers[2] if len(levers) > 2 else None
        table = surface(cases, x, y, outcome, facet)
        parts += ["<h2>Dose-response surface</h2>",
                  _img(figure_bytes(plot_surface(table, x, y, outcome, facet)), "surface"),
                  _table(table)]
    parts += [
        "<h2>Provenance</h2>",
        f"<p>Experiment <code>{_e(plan.get('source'))}</code>, digest "
        f"<code>{_e(plan.get('digest'))}</code>, written by resurgence "
        f"{_e(plan.get('package_version'))}; report by resurgence {_e(__version__)}, Python "
        f"{_e(platform.python_version())}, {_e(sys.platform)}. Every run's seed comes from "
        "the experiment's seed and its place in the design: the same file gives the same "
        "runs, bit for bit, on any executor.</p>",
        "</body></html>"]
    return "\n".join(parts)


def write_study_report(folder: Path, out: Path, outcome: str,
                       rules: Mapping[str, tuple[str, float]], lower_is_better: bool = True,
                       title: str | None = None) -> Path:
    """Build the study's report and write it to ``out`` atomically."""
    page = build_study_report(folder, outcome, rules, lower_is_better, title)
    atomic_write_bytes(out, page.encode("utf-8"))
    return out
