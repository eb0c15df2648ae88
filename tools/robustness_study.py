"""The post-Mosul policy study's page (issue 22), from the folder of a finished sweep.

Reads the results of ``resurgence sweep experiments/post-mosul-robustness-subset.toml`` (or of
the full study) and writes, whatever they are:

- per policy, over every run: the share with a resurgence by 2030, the casualties since
  2017-07-10 and the members at the end, each with a 90% bootstrap interval over futures;
- robust decision making (``resurgence.experiments.robustness``): regret on the casualties
  since the branch, satisficing under the rules stated below (chosen before the runs were
  read), with intervals;
- paired with military-only (the same futures and seeds: common random numbers), the share
  of futures in which each policy has fewer returns and fewer casualties;
- the placebo's largest difference from military-only (none, if it does nothing);
- each future's history on 2017-07-10 (the runs of weekly series): how many futures look like
  the record then (the group took at least 25,000 km2, the low end of the peak pattern, and
  held at most a third of it, the top of the July 2017 pattern) and the answer among those;
- PRIM (EMA Workbench) and CART on where inclusion fails: its runs with a resurgence.

Also renders the study with ``resurgence report`` (``--report``: an HTML artifact). The page
and the report are written, then renamed. Run:

    .venv/bin/python tools/robustness_study.py results/post-mosul-robustness-subset \\
        --page docs/robustness.md --report docs/robustness-report.html
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).with_name("resurgence")
BRANCH = "2017-07-10"
#: satisficing rules, stated before the study's runs were read: at most half of a future's
#: seeds see the group return, and at most 40,000 civilian and security casualties from the
#: branch to 2030 (about 3,000 a year; an analyst's bound, not an observation)
RULES = ("resurgence <= 0.5", "casualties_since <= 40000")
OUTCOMES = ("resurgence", "casualties_since", "members_end")
BASELINE, PLACEBO, INCLUSION = "military-only", "placebo", "inclusion"
PEAK_KM2, SHARE_LEFT = 25_000.0, 1 / 3  # a record-like 2017-07-10 (module doc)


def by_policy(cases: pd.DataFrame) -> pd.DataFrame:
    """Per policy: each outcome's mean over runs, with a 90% interval over futures."""
    from resurgence.experiments.robustness import interval, per_future

    table = per_future(cases, OUTCOMES)
    rows = []
    for policy, part in table.groupby("policy", sort=False):
        row = {"policy": policy, "futures": len(part)}
        for k in OUTCOMES:
            values = part[k].to_numpy(float)
            lo, hi = interval(values, np.mean)
            row |= {k: values.mean(), f"{k}_low": lo, f"{k}_high": hi}
        rows.append(row)
    return pd.DataFrame(rows).sort_values("casualties_since", kind="stable")


def paired(cases: pd.DataFrame) -> pd.DataFrame:
    """Per policy, against military-only in the same futures: the share of futures with
    fewer returns (and as many or fewer), with fewer casualties since the branch."""
    from resurgence.experiments.robustness import per_future

    table = per_future(cases, OUTCOMES)
    wide = {k: table.pivot(index="point", columns="policy", values=k) for k in OUTCOMES}
    rows = []
    for policy in wide["resurgence"].columns:
        if policy == BASELINE:
            continue
        r, b = wide["resurgence"][policy], wide["resurgence"][BASELINE]
        c, cb = wide["casualties_since"][policy], wide["casualties_since"][BASELINE]
        rows.append({"policy": policy, "futures": len(r),
                     "fewer returns": float((r < b).mean()),
                     "as many or fewer returns": float((r <= b).mean()),
                     "fewer casualties": float((c < cb).mean()),
                     "casualties vs military-only (median ratio)": float((c / cb).median())})
    return pd.DataFrame(rows)


def branch_states(folder: Path, cases: pd.DataFrame) -> pd.DataFrame:
    """Per future and seed: the history's territory on 2017-07-10, its peak before and the
    members then (read from the military-only run's weekly series: every policy shares it)."""
    rows = []
    base = cases[cases["policy"] == BASELINE]
    for run in base.itertuples(index=False):
        frame = pd.read_parquet(folder / "runs" / f"{run.run_id}.parquet",
                                columns=["date", "territory_km2", "members"])
        before = frame[pd.to_datetime(frame["date"]) <= pd.Timestamp(BRANCH)]
        peak = float(before["territory_km2"].max())
        rows.append({"point": run.point, "replication": run.replication, "peak_km2": peak,
                     "km2_at_branch": float(before["territory_km2"].iloc[-1]),
                     "members_at_branch": float(before["members"].iloc[-1])})
    out = pd.DataFrame(rows)
    out["left"] = np.where(out["peak_km2"] > 0, out["km2_at_branch"]
                           / out["peak_km2"].where(out["peak_km2"] > 0), np.nan)
    out["record_like"] = (out["peak_km2"] >= PEAK_KM2) & (out["left"] <= SHARE_LEFT)
    return out


def where_inclusion_fails(folder: Path) -> tuple[str, pd.DataFrame | None,
                                                 pd.DataFrame | None]:
    """PRIM and CART on the inclusion policy's runs: in which futures does the group come
    back? The text, PRIM's restricted inputs and CART's leaves where most runs return."""
    from resurgence.experiments.discovery import cases, find_box, find_leaves

    x, y = cases(folder, "resurgence")
    mask = (x["strategy"] == INCLUSION).to_numpy()
    x, y = x[mask].drop(columns="strategy").reset_index(drop=True), y[mask] > 0.5
    if not y.any() or y.all():
        return (f"inclusion's runs with a return: {int(y.sum())} of {len(y)}: no box to find",
                None, None)
    found = find_box(x, y)
    leaves = find_leaves(x, y)
    s = found["stats"]
    return (f"inclusion's runs with a return: {int(y.sum())} of {len(y)}; PRIM's box "
            f"(density threshold 0.8): coverage {s['coverage']:.2f}, density "
            f"{s['density']:.2f}, mass {s['mass']:.2f}", found["limits"],
            leaves[leaves.density >= 0.5])


def _md(df: pd.DataFrame, digits: int = 2) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float | np.floating):
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(map(str, df.columns)) + " |",
             "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _with_interval(table: pd.DataFrame, k: str, scale: float = 1.0) -> list[str]:
    fmt = (lambda v: f"{v * scale:.2f}") if scale != 1.0 or k == "resurgence" else \
        (lambda v: f"{v:,.0f}")
    return [f"{fmt(m)} ({fmt(lo)}-{fmt(hi)})" for m, lo, hi in
            zip(table[k], table[f"{k}_low"], table[f"{k}_high"], strict=True)]


def page(folder: Path, command: str) -> str:
    from resurgence.experiments.robustness import load_study, parse_rules, robustness
    from resurgence.store.catalog import Catalog

    study = load_study(folder)
    cases = study.cases
    plan = study.plan
    runs = Catalog(folder, read_only=True).query(
        "SELECT host, started_at, seconds, git_commit FROM runs")
    wall = (runs.started_at + runs.seconds).max() - runs.started_at.min()
    rules = parse_rules(list(RULES), plan["outcomes"])
    rob = robustness(cases, "casualties_since", rules)
    rob_res = robustness(cases, "resurgence", rules)
    pol = by_policy(cases)
    states = branch_states(folder, cases)
    like = states[states.record_like]
    like_keys = set(zip(like.point, like.replication, strict=True))
    in_like = cases[[(p, r) in like_keys for p, r in zip(cases.point, cases.replication,
                                                         strict=True)]]
    pol_like = by_policy(in_like) if len(in_like) else None
    placebo = cases.pivot_table(index=["point", "replication"], columns="policy",
                                values=list(OUTCOMES))
    gap = max(float((placebo[k][PLACEBO] - placebo[k][BASELINE]).abs().max())
              for k in OUTCOMES)
    prim_text, limits, leaves = where_inclusion_fails(folder)
    n_fut, n_rep = cases.point.nunique(), cases.replication.nunique()
    out = [
        "# Evidence II: does inclusion beat force after Mosul? (a stated subset)",
        "",
        f"Generated by `{command}` from `{folder}` (`{plan['source']}`); the HTML report of "
        "the same folder is [robustness-report.html](robustness-report.html). Do not edit by "
        "hand: rerun the command.",
        "",
        f"**What ran.** {len(cases):,} runs: {cases.policy.nunique()} policies x {n_fut} "
        f"futures x {n_rep} seeds (common random numbers: a future's policies share each "
        "seed, so they share the history to 2017-07-10 bit for bit and differ by policy only "
        "after it), 2003 to 2030, on "
        f"{', '.join(sorted(runs.host.unique()))} ({platform.processor() or platform.machine()}"
        f", {os.cpu_count()} cores): {runs.seconds.sum() / 3600:.1f} hours of runs, "
        f"{wall / 3600:.1f} hours of wall time on 2 workers, commit "
        f"{', '.join(sorted(set(map(str, runs.git_commit))))}. The full plan "
        "(`experiments/post-mosul-robustness.toml`, `resurgence sweep ... --plan`): 8 "
        "policies x 200 futures x 20 seeds, 32,000 runs, about two days of this machine; "
        f"this is its design at {n_fut} futures and {n_rep} seeds (a Latin hypercube of its "
        f"own, so posterior draws 0-{n_fut - 1}).",
        "",
        "**A future** is one draw of the 2003-2020 posterior "
        "(`posteriors/iraq-2003-2020.parquet`: three generations of ABC-SMC, not converged, "
        "docs/evidence.md) and one setting of the structural options (inclusion's delay and "
        "credibility, backlash, the group's counter-move, the Syrian haven's inflow and exit).",
        "",
        "## The answer, per policy (all futures)",
        "",
        "Means over runs, with 90% bootstrap intervals over futures (each future the mean of "
        "its seeds). Resurgence: the group regains a quarter of its peak after losing 60% of "
        "it, counted from the branch (`resurgence.analysis.summarise`); casualties: civilian "
        "and security, from the week after 2017-07-10 to 2030.",
        "",
        _md(pd.DataFrame({"policy": pol.policy, "futures": pol.futures,
                          "resurgence by 2030": _with_interval(pol, "resurgence"),
                          "casualties since the branch": _with_interval(pol,
                                                                        "casualties_since"),
                          "members at the end": _with_interval(pol, "members_end")})),
        "",
        "## Robustness",
        "",
        f"Rules (satisficing), stated before the runs were read: `{RULES[0]}` (at most half "
        f"of a future's seeds see a return) and `{RULES[1]}` (an analyst's bound, about "
        "3,000 a year). Regret: how much worse a policy is than the best one in the same "
        "future (Savage), mean and 90th percentile over futures; 90% bootstrap intervals.",
        "",
        "On casualties since the branch:",
        "",
        _md(rob.round(3)),
        "",
        "On resurgence (the share of a future's seeds with a return):",
        "",
        _md(rob_res.round(3)),
        "",
        "## Paired with military-only",
        "",
        "The same futures and seeds, so each comparison is within a future:",
        "",
        _md(paired(cases)),
        "",
        f"**The placebo** (the Kurds' inclusion set to the value it already has) differs "
        f"from military-only by at most {gap:g} in any outcome of any run: it does nothing, "
        "as it should.",
        "",
        "## Do the futures start from a post-Mosul world?",
        "",
        f"On 2017-07-10, {int(states.record_like.sum())} of {len(states)} histories (future "
        f"and seed) look like the record: the group took at least {PEAK_KM2:,.0f} km² and "
        f"held at most a third of it (median share left "
        f"{states.left.median():.2f}; median peak {states.peak_km2.median():,.0f} km², "
        f"median members {states.members_at_branch.median():,.0f}). "
        f"{int((states.peak_km2 < PEAK_KM2).sum())} never took {PEAK_KM2:,.0f} km² and "
        f"{int(((states.peak_km2 >= PEAK_KM2) & (states.left > SHARE_LEFT)).sum())} still "
        "held more than a third of their peak: the not-converged posterior's draws do not all "
        "reproduce the history the study branches from (docs/evidence.md).",
        "",
    ]
    if pol_like is not None:
        out += ["Among the record-like histories only:", "",
                _md(pd.DataFrame({"policy": pol_like.policy, "futures": pol_like.futures,
                                  "resurgence by 2030": _with_interval(pol_like, "resurgence"),
                                  "casualties since the branch":
                                      _with_interval(pol_like, "casualties_since"),
                                  "members at the end": _with_interval(pol_like,
                                                                       "members_end")})), ""]
    out += ["## Where inclusion fails (PRIM, CART)", "", prim_text + ".", ""]
    if limits is not None:
        out += ["PRIM's restricted inputs (qp: quasi p-value):", "", _md(limits), ""]
    if leaves is not None:
        out += ["CART's leaves where most of inclusion's runs return (a tree whose leaves hold "
                "at least 5% of the runs):", "", _md(leaves.round(3)), ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    from resurgence.store import atomic_write_bytes

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--page", type=Path, default=ROOT / "docs" / "robustness.md")
    ap.add_argument("--report", type=Path, default=ROOT / "docs" / "robustness-report.html")
    a = ap.parse_args(argv)
    command = "python tools/robustness_study.py " + " ".join(argv or sys.argv[1:])
    text = page(a.folder, command)
    atomic_write_bytes(a.page, text.encode())
    rules = [x for r in RULES for x in ("--rule", r)]
    done = subprocess.run([str(BIN), "report", str(a.folder), "--outcome", "casualties_since",
                           *rules, "--out", str(a.report), "--title",
                           "Evidence II: the post-Mosul policy study (a stated subset)"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        return done.returncode
    print(f"written: {a.page}, {a.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
