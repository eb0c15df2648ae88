"""The article's question as one experiment: after Mosul, which policy keeps the group down?

For each seed, ``iraq-2003-2020`` runs from the invasion to the branch date (2017-07-10, Mosul
retaken); that state is branched (:meth:`InsurgencyRun.branch`) into the four post-Mosul
scenarios (military pressure only, the article's inclusion, both, early withdrawal) and each
branch runs to its end (2030-12-31). The branches of one seed share their history and their
random draws, so they differ by policy only (common random numbers). Seeds run on a process
pool; each seed is one task whose results depend on the seed alone, so the answer is the same
bit for bit whatever the number of workers.

:func:`answer` writes, under one folder, a result folder per policy in the layout of
``resurgence run`` (``seed-N.parquet``, ``governorates-seed-N.parquet``, ``maps-seed-N.npz``,
``run.json``: ``resurgence compare`` and ``resurgence report`` read them), the tidy per-seed
outcomes (``per-seed.csv``), the headline comparison with intervals (``answer.csv``) and one
self-contained HTML report (``report.html``).

What the numbers rest on: one hand-calibrated parameter point (docs/calibration.md) and the
seeds run; a posterior over the parameters is to replace the point (issue 25).
"""

from __future__ import annotations

import copy
import datetime as dt
import html
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from resurgence import __version__
from resurgence.api import summarise
from resurgence.compare import outcome_intervals
from resurgence.errors import Problem, UserInputError
from resurgence.scenario import Scenario
from resurgence.scenario.catalog import resolve
from resurgence.store import atomic_write_bytes, write_frame

HISTORY = "iraq-2003-2020"
BRANCH = "2017-07-10"
POLICIES = ("military-only", "inclusion", "both", "withdrawal")
DEFAULT_SEEDS = 4
QUESTION = ("After Mosul fell (July 2017), does the group come back, and which policy keeps it "
            "down: military pressure alone, the article's inclusion of Sunni Arabs with "
            "services, both, or an early withdrawal?")
#: what the numbers rest on, printed under the table and written into the report
BASIS = ("One hand-calibrated parameter point (docs/calibration.md), {seeds} seed{s} per "
         "policy, each seed one history branched on {branch}; intervals: Wilson 95% for the "
         "share of runs, Student t 95% for means. A posterior over the parameters is to "
         "replace the single point (issue 25).")
#: the headline outcomes, in table order: key of the per-seed row -> label
HEADLINE = {
    "resurgence": "resurgence by {end} (share of runs)",
    "casualties_since_branch": "casualties since {branch}",
    "members_end": "members at {end}",
    "territory_end_km2": "territory at {end}, km2",
}


def policy_scenario(policy: str, end: dt.date | None = None) -> Scenario:
    """The bundled ``post-mosul-POLICY`` scenario, run to ``end`` if given."""
    scenario = resolve(f"post-mosul-{policy}")
    return scenario if end is None else scenario.with_overrides(end=end)


def branch_tick(scenario: Scenario, date: str = BRANCH) -> int:
    """The last week of a dated scenario before ``date`` (the branch's: its levers apply
    from the next week on)."""
    assert scenario.start is not None
    return (dt.date.fromisoformat(date) - scenario.start).days // scenario.tick_days


@dataclass
class Branch:
    """One policy's run of one seed: national and per-governorate series, map snapshots."""

    policy: str
    scenario: Scenario
    frame: pd.DataFrame
    governorates: pd.DataFrame
    maps: Any  # resurgence.viz.snapshots.MapSnapshots


def run_seed(seed: int, end: dt.date | None = None,
             policies: Sequence[str] = POLICIES) -> list[Branch]:
    """One seed of the question: the history to :data:`BRANCH`, then each policy's branch of
    it to its end (``end``, if given). The same seed gives the same branches, bit for bit."""
    from resurgence.models.insurgency import InsurgencyRun
    from resurgence.viz.snapshots import MapRecorder, snapshot_ticks

    scenarios = {p: policy_scenario(p, end) for p in policies}
    run = InsurgencyRun(resolve(HISTORY), seed)
    first = scenarios[policies[0]]
    recorder = MapRecorder(run, snapshot_ticks(first))
    recorder.observe()
    for _ in range(branch_tick(first)):
        run.step()
        recorder.observe()
    out = []
    for policy, scenario in scenarios.items():
        twin = run.branch(scenario)
        maps = copy.deepcopy(recorder, {id(run): twin})  # the history's maps, then the twin's
        maps.wanted = snapshot_ticks(scenario)
        while twin.tick < scenario.ticks:
            twin.step()
            maps.observe()
        out.append(Branch(policy, scenario, twin.frame(), twin.governorate_frame(),
                          maps.result()))
    return out


def outcomes(branch: Branch) -> dict[str, Any]:
    """One row of the tidy per-seed results: the run's outcomes counted from the branch
    (:func:`resurgence.api.summarise` with ``after``), its casualties since the branch as
    ``casualties_since_branch``."""
    row = summarise(branch.scenario, branch.frame, after=BRANCH)
    casualties = row.pop("casualties_since")
    return {"policy": branch.policy, **row, "casualties_since_branch": casualties}


def seed_task(seed: int, out: str, end: str | None) -> list[dict[str, Any]]:
    """What a worker does for one seed: run it, write each policy's files under ``out`` (in
    the layout of ``resurgence run``), return the per-seed outcome rows."""
    from resurgence.viz.snapshots import MAPS_FILE

    rows = []
    for b in run_seed(seed, None if end is None else dt.date.fromisoformat(end)):
        folder = Path(out) / b.policy
        write_frame(b.frame, folder / f"seed-{seed}.parquet")
        write_frame(b.governorates, folder / f"governorates-seed-{seed}.parquet")
        b.maps.save(folder / MAPS_FILE.format(seed=seed))
        rows.append(outcomes(b))
    return rows


@dataclass
class Answer:
    """The question's results: tidy per-seed outcomes, the headline table, where they are."""

    per_seed: pd.DataFrame
    headline: pd.DataFrame
    folder: Path
    report: Path
    seeds: list[int]
    end: str

    @property
    def basis(self) -> str:
        n = len(self.seeds)
        return BASIS.format(seeds=n, s="s" if n != 1 else "", branch=BRANCH)


def check_end(end: dt.date | None) -> None:
    """``end`` must leave the branches at least a week after :data:`BRANCH`."""
    if end is not None and end <= dt.date.fromisoformat(BRANCH) + dt.timedelta(days=7):
        raise UserInputError("--end", [Problem("--end", str(end), f"must be a date after "
                                               f"{BRANCH} (the branch) by more than a week")])


def headline(per_seed: pd.DataFrame, end: str) -> pd.DataFrame:
    """One row per policy and headline outcome: estimate with its 95% interval over seeds
    (Wilson for the share of runs with resurgence, Student t for means)."""
    rows = []
    for policy in POLICIES:
        block = per_seed[per_seed["policy"] == policy]
        if block.empty:
            continue
        records = block[list(HEADLINE)].to_dict("records")
        for row in outcome_intervals(policy, records):
            label = HEADLINE[row["outcome"]].format(branch=BRANCH, end=end)
            rows.append({**row, "policy": row.pop("scenario"), "label": label})
    table = pd.DataFrame(rows)
    return table[["policy", "outcome", "label", "estimate", "low", "high", "seeds"]]


def answer(seeds: Sequence[int], out: Path, end: dt.date | None = None,
           workers: int | None = None, on_seed: Callable[[int], None] | None = None,
           report: bool = True) -> Answer:
    """Run the question over ``seeds`` on a local process pool of ``workers`` (default: one
    per core), write everything under ``out`` and return the answer. ``end``: run the
    branches to this date instead of 2030-12-31 (shorter, e.g. for tests)."""
    from resurgence.experiments.executors import Pool

    check_end(end)
    if out.exists() and not out.is_dir():
        raise UserInputError("--out", [Problem("--out", str(out), "must be a folder, not an "
                                               "existing file")])
    end_text = str(end) if end is not None else str(policy_scenario(POLICIES[0]).end)
    done: dict[int, list[dict[str, Any]]] = {}
    end_arg = None if end is None else str(end)
    n = min(workers or os.cpu_count() or 1, len(seeds))
    if n == 1:  # in this process: no pool to start
        for s in seeds:
            done[s] = seed_task(s, str(out), end_arg)
            if on_seed is not None:
                on_seed(s)
    else:
        with Pool(workers=n) as pool:
            futures = {pool.executor.submit(seed_task, s, str(out), end_arg): s for s in seeds}
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                if on_seed is not None:
                    on_seed(futures[future])
    per_seed = pd.DataFrame([row for s in seeds for row in done[s]])
    per_seed = per_seed.sort_values(["policy", "seed"], key=_policy_order).reset_index(drop=True)
    table = headline(per_seed, end_text)
    for policy in POLICIES:
        _write_manifest(out / policy, policy_scenario(policy, end), list(seeds))
    write_frame(per_seed, out / "per-seed.csv")
    write_frame(table, out / "answer.csv")
    result = Answer(per_seed, table, out, out / "report.html", list(seeds), end_text)
    if report:
        from resurgence.viz.report import write_report

        write_report([out / p for p in POLICIES], result.report,
                     title="After Mosul: which policy keeps the group down?",
                     question=QUESTION, after=BRANCH, lead=answer_html(result),
                     map_layers=("control",))  # who holds the ground; all four: `report`
    return result


def _policy_order(column: pd.Series) -> pd.Series:
    return column.map(POLICIES.index) if column.name == "policy" else column


def _write_manifest(folder: Path, scenario: Scenario, seeds: list[int]) -> None:
    """run.json as ``resurgence run`` writes it, with the history and branch date."""
    manifest = {
        "resurgence": __version__,
        "scenario": {"name": scenario.name, "file": scenario.source,
                     "digest": scenario.digest(), "content": scenario.model_dump(mode="json")},
        "seeds": seeds, "ticks": scenario.ticks,
        "branched_from": {"scenario": HISTORY, "date": BRANCH},
    }
    atomic_write_bytes(folder / "run.json", json.dumps(manifest, indent=2).encode())


def cell(row: Any, compact: bool = False) -> str:
    """An estimate and its interval: '0.25 (0.05-0.70)', '1,234 (1,000-1,500)'; ``compact``
    (a terminal's narrow table): two lines, thousands as k: '70.5k' over '65.8k-75.3k'."""
    if row.outcome == "resurgence":
        num: Callable[[float], str] = "{:.2f}".format
    else:
        num = _short if compact else "{:,.0f}".format
    if compact:
        return f"{num(row.estimate)}\n{num(row.low)}-{num(row.high)}"
    return f"{num(row.estimate)} ({num(row.low)}-{num(row.high)})"


def _short(x: float) -> str:
    """3 significant digits, thousands as k: 70517 -> '70.5k', 183916 -> '184k', 28 -> '28'."""
    if abs(x) < 1000:
        return f"{x:.0f}"
    return f"{x / 1000:.3g}k"


def table_rows(result: Answer, compact: bool = False) -> list[tuple[str, list[str]]]:
    """(outcome label, one cell per policy in :data:`POLICIES` order) per headline outcome."""
    rows = []
    for label, block in result.headline.groupby("label", sort=False):
        cells = {r.policy: cell(r, compact) for r in block.itertuples()}
        rows.append((str(label), [cells.get(p, "-") for p in POLICIES]))
    return rows


def answer_html(result: Answer) -> str:
    """The headline table (policies as columns) and what it rests on, as an HTML section."""
    e = html.escape
    head = "".join(f"<th>{e(p)}</th>" for p in POLICIES)
    rows = [f"<tr><th>outcome (95% interval)</th>{head}</tr>"]
    for label, cells in table_rows(result):
        rows.append(f"<tr><td>{e(label)}</td>"
                    + "".join(f'<td class="num">{e(c)}</td>' for c in cells) + "</tr>")
    return (f'<table class="answer">{"".join(rows)}</table>'
            f'<p class="note">{e(result.basis)} Per-seed outcomes: per-seed.csv; this table: '
            "answer.csv (beside this report).</p>")


def answer_table(result: Answer) -> Any:
    """The headline table for the terminal (a Rich table): outcomes as rows, policies as
    columns, each cell an estimate and its 95% interval; the caption says what it rests on."""
    from rich.table import Table

    table = Table(title="After Mosul: which policy keeps the group down?",
                  caption=result.basis, caption_justify="left", show_lines=True)
    table.add_column("outcome, 95% interval below")
    for policy in POLICIES:
        table.add_column(policy, justify="right")
    for label, cells in table_rows(result, compact=True):
        table.add_row(label, *cells)
    return table
