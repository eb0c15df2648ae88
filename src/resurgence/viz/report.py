"""One self-contained HTML report comparing result folders written by ``resurgence run``.

The report states the question, the settings (what differs between the scenarios is marked),
an outcome table with uncertainty (mean and 90% interval over seeds), the curves, maps of the
grid at chosen ticks (replayed from the stored seed, and checked against the stored series) and
provenance (package version, scenario digests, seeds, file hashes). Figures are embedded as
base64 PNG: the file needs nothing else and opens offline.

Insurgency folders are shown against calendar dates, and their maps come from the map snapshots
``resurgence run`` saves beside each seed (``maps-seed-N.npz``, :mod:`resurgence.viz.snapshots`):
control, insurgent density by role, legitimacy by group and attacks, at the start, the peak of
territory, the last policy change, the end and any dates asked for. Folders of different models
cannot be compared in one report: that is a user error (exit 2), not a traceback.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import platform
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resurgence import __version__
from resurgence.errors import Problem, UserInputError
from resurgence.scenario import Scenario
from resurgence.store import atomic_write_bytes
from resurgence.viz.maps import plot_maps, replay
from resurgence.viz.plots import (
    figure_bytes,
    guess_view,
    interval,
    plot_comparison,
    plot_outcomes,
    plot_runs,
)
from resurgence.viz.registry import view_for
from resurgence.viz.snapshots import MAPS_FILE, MapSnapshots
from resurgence.viz.views import Outcome, View

MANIFEST = "run.json"
_SEED_FILE = re.compile(r"^seed-(\d+)\.parquet$")


@dataclass
class Results:
    """One result folder: its runs (one frame per seed) and, if present, its manifest."""

    folder: Path
    label: str
    runs: list[pd.DataFrame]
    seeds: list[int]
    manifest: dict[str, Any] | None = None
    scenario: Scenario | None = None
    hashes: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        if self.scenario is not None and self.scenario.name:
            return self.scenario.name
        return self.label

    #: count resurgence only after this date (insurgency views)
    after: str | None = None

    @property
    def model(self) -> str:
        if self.scenario is not None:
            return self.scenario.model
        return "insurgency" if "territory_km2" in self.runs[0] else "epstein"

    @property
    def view(self) -> View:
        view = view_for(self.scenario) if self.scenario is not None else guess_view(self.runs)
        if self.after is not None and hasattr(view, "after"):
            view.after = self.after
        return view


def load_results(folder: str | Path) -> Results:
    """Read ``seed-*.parquet`` (and ``run.json`` if there) from a folder written by
    ``resurgence run``; a folder that is not one raises :class:`UserInputError`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserInputError(folder, [Problem("RESULTS", str(folder),
                                              "no such folder (give folders written by "
                                              "`resurgence run`)")])
    files = sorted((int(m.group(1)), p) for p in folder.iterdir()
                   if (m := _SEED_FILE.match(p.name)))
    if not files:
        raise UserInputError(folder, [Problem("RESULTS", str(folder),
                                              "holds no seed-*.parquet: not a folder written "
                                              "by `resurgence run`")])
    runs, hashes = [], {}
    for _, path in files:
        data = path.read_bytes()
        hashes[path.name] = hashlib.sha256(data).hexdigest()[:16]
        try:
            runs.append(pd.read_parquet(path))
        except Exception as exc:  # a truncated or foreign file
            raise UserInputError(path, [Problem("file", path.name,
                                                f"cannot be read as Parquet: {exc}")]) from None
    for seed, _ in files:  # map snapshots (insurgency runs) are part of the results too
        maps = folder / MAPS_FILE.format(seed=seed)
        if maps.is_file():
            hashes[maps.name] = hashlib.sha256(maps.read_bytes()).hexdigest()[:16]
    manifest, scenario = None, None
    if (folder / MANIFEST).is_file():
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            scenario = Scenario.from_dict(manifest["scenario"]["content"],
                                          source=str(folder / MANIFEST))
        except (ValueError, KeyError, TypeError, UserInputError) as exc:
            raise UserInputError(folder / MANIFEST, [Problem(
                "file", MANIFEST, f"is not a manifest written by `resurgence run`: {exc}")]
            ) from None
    return Results(folder=folder, label=folder.name, runs=runs, seeds=[s for s, _ in files],
                   manifest=manifest, scenario=scenario, hashes=hashes)


# --------------------------------------------------------------------------- HTML pieces
_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;
 max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.25em;margin-top:1.8em;
 border-bottom:1px solid #ddd;padding-bottom:.2em} h3{font-size:1.05em}
.meta{color:#666;font-size:.9em} .question{font-size:1.1em;background:#f4f8fb;
 border-left:4px solid #0072B2;padding:.6em 1em}
table{border-collapse:collapse;margin:.8em 0;font-size:.88em}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f5f5f5} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.diff td{background:#fff6e0;font-weight:600} .ci{color:#666;font-size:.9em}
img{max-width:100%;height:auto;border:1px solid #eee;margin:.4em 0}
code{font-size:.9em} .note{color:#555;font-size:.9em}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _fmt(x: float, digits: int) -> str:
    return f"{x:,.{digits}f}"


def _labels(results: Sequence[Results]) -> list[str]:
    """Short unique names: folder names, with parents where two folders share one."""
    labels = [r.folder.name for r in results]
    if len(set(labels)) < len(labels):
        labels = [f"{r.folder.parent.name}/{r.folder.name}" for r in results]
    if len(set(labels)) < len(labels):
        labels = [f"{label} ({i + 1})" for i, label in enumerate(labels)]
    return labels


def _flat_settings(scenario: Scenario, sections: Sequence[str]) -> dict[str, str]:
    """The scenario's top-level settings and its model's ``sections`` as 'section.key' -> text
    (the timeline in one line)."""
    flat: dict[str, str] = {}

    def put(key: str, value: object) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                put(f"{key}.{k}", v)
        else:
            flat[key] = "-" if value is None else str(value)

    for key, value in scenario.model_dump(mode="json").items():
        if key in ("name", "description", "seed", "timeline"):
            continue
        if not isinstance(value, dict) or key in sections:
            put(key, value)
    steps = []
    for entry in scenario.timeline:
        begin = f"tick {entry.tick}" if entry.date is None else str(entry.date)
        span = begin + (f" to {entry.until}" if entry.until is not None else "")
        values = ", ".join(f"{k} = {v}" for k, v in entry.values.items())
        steps.append(f"{span}: {values}")
    flat["timeline"] = "; ".join(steps) if steps else "none"
    return flat


def _question(results: Sequence[Results], labels: Sequence[str]) -> str:
    topic = results[0].view.topic
    if len(results) == 1:
        n = len(results[0].seeds)
        return f"What does {labels[0]} produce over {n} seed{'s' if n > 1 else ''}: {topic}?"
    names = ", ".join(labels[:-1]) + f" and {labels[-1]}"
    return f"How do {names} differ in {topic}?"


def check_comparable(results: Sequence[Results], labels: Sequence[str]) -> None:
    """Folders of different models cannot share one report: a :class:`UserInputError` naming
    which folder holds which model."""
    models: dict[str, list[str]] = {}
    for r, label in zip(results, labels, strict=True):
        models.setdefault(r.model, []).append(label)
    if len(models) > 1:
        which = "; ".join(f"{m}: {', '.join(names)}" for m, names in models.items())
        raise UserInputError("RESULTS", [Problem(
            "RESULTS", which, "hold runs of different models, which have different "
            "observables and cannot be compared in one report: report each model's folders "
            "separately")])


def _settings_table(results: Sequence[Results], labels: Sequence[str]) -> str:
    flats = [_flat_settings(r.scenario, r.view.sections) if r.scenario is not None else None
             for r in results]
    keys: list[str] = []
    for flat in flats:
        for key in flat or {}:
            if key not in keys:
                keys.append(key)
    head = "".join(f"<th>{_e(label)}</th>" for label in labels)
    rows = [f"<tr><th>setting</th>{head}</tr>",
            "<tr><td>scenario</td>" + "".join(f"<td>{_e(r.title)}</td>" for r in results)
            + "</tr>",
            "<tr><td>seeds</td>" + "".join(f"<td>{_e(_seed_span(r.seeds))}</td>"
                                           for r in results) + "</tr>"]
    for key in keys:
        values = ["(unknown)" if flat is None else flat.get(key, "-") for flat in flats]
        diff = len(results) > 1 and len(set(values)) > 1
        cls = ' class="diff"' if diff else ""
        rows.append(f"<tr{cls}><td><code>{_e(key)}</code></td>"
                    + "".join(f"<td>{_e(v)}</td>" for v in values) + "</tr>")
    note = ""
    if any(flat is None for flat in flats):
        note = ('<p class="note">Settings unknown for folders without a run.json manifest '
                "(written before `resurgence run` recorded one).</p>")
    if len(results) > 1:
        note += '<p class="note">Highlighted rows differ between the scenarios.</p>'
    return f"<table>{''.join(rows)}</table>{note}"


def _seed_span(seeds: Sequence[int]) -> str:
    if len(seeds) > 2 and list(seeds) == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]} ({len(seeds)})"
    return ", ".join(map(str, seeds))


def _outcomes(results: Sequence[Results], labels: Sequence[str]
              ) -> tuple[list[Outcome], dict[str, dict[str, list[float | None]]]]:
    outcomes: list[Outcome] = []
    values: dict[str, dict[str, list[float | None]]] = {}
    for r, label in zip(results, labels, strict=True):
        view = r.view
        for o in view.outcomes:
            if o.key not in {x.key for x in outcomes}:
                outcomes.append(o)
        per_seed = [view.outcome_values(df) for df in r.runs]
        values[label] = {o.key: [row.get(o.key) for row in per_seed] for o in view.outcomes}
    return outcomes, values


def _outcome_table(outcomes: Sequence[Outcome], values: dict[str, dict[str, list]],
                   labels: Sequence[str], note: str) -> str:
    head = "".join(f"<th>{_e(label)}</th>" for label in labels)
    rows = [f"<tr><th>outcome (per run)</th>{head}</tr>"]
    for o in outcomes:
        cells = []
        for label in labels:
            stat = interval(values[label].get(o.key, []))
            if stat is None:
                cells.append('<td class="num">-</td>')
                continue
            mean, lo, hi, n = stat
            cells.append(f'<td class="num">{_fmt(mean, o.digits)} <span class="ci">'
                         f"[{_fmt(lo, o.digits)}, {_fmt(hi, o.digits)}] n={n}</span></td>")
        rows.append(f"<tr><td>{_e(o.label)}</td>{''.join(cells)}</tr>")
    return (f'<table class="outcomes">{"".join(rows)}</table><p class="note">Mean over seeds '
            "and, in brackets, the 90% interval (5th-95th percentile over seeds); n = seeds "
            f"with a value. {_e(note)}</p>")


def _map_ticks(r: Results) -> list[int]:
    first = r.runs[0]
    last = int(first.tick.iloc[-1])
    ticks = {0, last // 2, last}
    if "active" in first:
        ticks.add(int(first.tick.iloc[int(first.active.to_numpy().argmax())]))
    return sorted(ticks)


def _theatre_maps_section(r: Results, label: str, dates: Sequence[dt.date],
                          layers: Sequence[str] | None = None) -> str:
    """Maps of an insurgency folder's first seed from its saved snapshots, one figure per
    layer (``layers``, default all), at the default dates and ``dates`` (each at the nearest
    snapshot)."""
    from resurgence.viz.theatre_maps import LAYERS, default_indices, plot_layer

    seed = r.seeds[0]
    path = r.folder / MAPS_FILE.format(seed=seed)
    if not path.is_file():
        return (f"<h3>{_e(label)}</h3><p class='note'>No maps: the folder has no "
                f"{_e(path.name)} (`resurgence run` writes map snapshots for "
                "insurgency runs; this folder predates them): run the scenario again to get "
                "them.</p>")
    snaps = MapSnapshots.load(path)
    indices = default_indices(snaps)
    indices = sorted(set(indices) | {snaps.nearest_date(date) for date in dates})
    parts = [f"<h3>{_e(label)}</h3>"]
    for layer in layers or LAYERS:
        fig = plot_layer(snaps, indices, layer, f"{r.title}, seed {seed}: {_LAYER_TITLES[layer]}")
        parts.append(_img(figure_bytes(fig, dpi=90), f"{layer} maps of {label}"))
    step = int(round(float(np.median(np.diff(snaps.ticks))))) if len(snaps) > 2 else 0
    parts.append(f"<p class='note'>Seed {seed}, from its map snapshots ({_e(path.name)}: "
                 f"{len(snaps)} dates, every {step} ticks of {snaps.tick_days} days, plus the "
                 "peak of territory, the last policy change and the end). A date asked for "
                 "is shown at the nearest snapshot. Shown: "
                 f"{_e('; '.join(snaps.caption(k) for k in indices))}.</p>")
    return "".join(parts)


_LAYER_TITLES = {"control": "control of the theatre",
                 "density": "insurgent density by role (members per 1,000 km², log scale)",
                 "legitimacy": "legitimacy of the state by group, per governorate",
                 "attacks": "sleeper attacks since the previous snapshot"}


def _maps_section(r: Results, label: str, dates: Sequence[dt.date] = (),
                  layers: Sequence[str] | None = None) -> str:
    if r.model == "insurgency":
        return _theatre_maps_section(r, label, dates, layers)
    if r.scenario is None:
        return (f"<h3>{_e(label)}</h3><p class='note'>No maps: the folder has no run.json, "
                "so the run cannot be replayed.</p>")
    view = r.view
    seed = r.seeds[0]
    ticks = _map_ticks(r)
    maps, frame = replay(view, seed, ticks)
    stored = r.runs[0]
    common = [c for c in stored.columns if c in frame.columns]
    matches = len(frame) <= len(stored) and frame[common].reset_index(drop=True).equals(
        stored[common].iloc[: len(frame)].reset_index(drop=True))
    peak = (int(stored.tick.iloc[int(stored.active.to_numpy().argmax())])
            if "active" in stored else -1)
    captions = [(f"tick {t}" + (" (peak actives)" if t == peak else ""), maps[t])
                for t in ticks]
    fig = plot_maps(captions, view.legend, f"{r.title}: seed {seed}")
    check = ("the replay matched the stored series tick for tick" if matches else
             "WARNING: the replay did not match the stored series (a different version of "
             "the model?)")
    return (f"<h3>{_e(label)}</h3>{_img(figure_bytes(fig), f'maps of {label}')}"
            f"<p class='note'>Seed {seed} replayed from tick 0 ({check}).</p>")


def _provenance(results: Sequence[Results], labels: Sequence[str]) -> str:
    rows = ["<tr><th>results</th><th>scenario file</th><th>scenario digest</th><th>seeds</th>"
            "<th>written by</th><th>files (sha256, first 16 hex)</th></tr>"]
    for r, label in zip(results, labels, strict=True):
        m = r.manifest or {}
        sc = m.get("scenario", {})
        digest = sc.get("digest", "(no manifest)")
        if r.scenario is not None and r.scenario.digest() != digest:
            digest = f"{digest} (recomputed: {r.scenario.digest()})"
        files = "<br>".join(f"<code>{_e(k)}</code> {_e(v)}" for k, v in r.hashes.items())
        writer = f"resurgence {m['resurgence']}" if "resurgence" in m else "(unknown)"
        rows.append(f"<tr><td>{_e(label)}<br><span class='note'>{_e(r.folder)}</span></td>"
                    f"<td>{_e(sc.get('file', '(unknown)'))}</td><td><code>{_e(digest)}</code>"
                    f"</td><td>{_e(_seed_span(r.seeds))}</td><td>{_e(writer)}</td>"
                    f"<td>{files}</td></tr>")
    return f"<table>{''.join(rows)}</table>"


def build_report(results: Sequence[Results], title: str | None = None,
                 question: str | None = None, maps: bool = True,
                 map_dates: Sequence[dt.date] = (), after: str | None = None,
                 lead: str | None = None, map_layers: Sequence[str] | None = None) -> str:
    """The report as one HTML string (figures embedded). ``map_dates``: more dates to map
    (insurgency folders); ``after``: count resurgence only after this date (YYYY-MM-DD);
    ``lead``: an HTML section shown as the answer, under the question (trusted markup);
    ``map_layers``: the insurgency map layers to draw (default: all of them)."""
    if not results:
        raise ValueError("no results to report")
    labels = _labels(results)
    for r, label in zip(results, labels, strict=True):
        r.label = label
        r.after = after
    check_comparable(results, labels)
    views = [r.view for r in results]
    title = title or ("Report: " + ", ".join(labels))
    question = question or _question(results, labels)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")

    outcomes, values = _outcomes(results, labels)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p class='meta'>Written {now} by resurgence {_e(__version__)} from "
        f"{len(results)} result folder{'s' if len(results) > 1 else ''}.</p>",
        "<h2>Question</h2>", f"<p class='question'>{_e(question)}</p>",
        *(["<h2>Answer</h2>", lead] if lead else []),
        "<h2>Settings</h2>", _settings_table(results, labels),
        "<h2>Outcomes</h2>", _outcome_table(outcomes, values, labels, views[0].outcome_note),
        _img(figure_bytes(plot_outcomes(values, outcomes, "Outcomes per run")),
             "outcome chart"),
        "<h2>Curves</h2>",
    ]
    if len(results) > 1:
        prepared = {label: view.panels(r.runs)[0]
                    for r, label, view in zip(results, labels, views, strict=True)}
        fig = plot_comparison(prepared, columns=views[0].compare_columns,
                              title="Scenarios side by side")
        parts.append(_img(figure_bytes(fig), "scenarios side by side"))
    for r, label, view in zip(results, labels, views, strict=True):
        parts.append(f"<h3>{_e(label)}</h3>")
        parts.append(_img(figure_bytes(plot_runs(r.runs, r.title, view=view)),
                          f"observables of {label}"))
    if maps:
        parts.append("<h2>Maps</h2>")
        parts.extend(_maps_section(r, label, map_dates, map_layers)
                     for r, label in zip(results, labels, strict=True))
    parts += [
        "<h2>Provenance</h2>", _provenance(results, labels),
        f"<p class='note'>Report: resurgence {_e(__version__)}, Python "
        f"{_e(platform.python_version())}, {_e(sys.platform)}. The same scenario digest and "
        "seed give the same run, bit for bit.</p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(folders: Sequence[str | Path], out: Path, title: str | None = None,
                 question: str | None = None, maps: bool = True,
                 map_dates: Sequence[dt.date] = (), after: str | None = None,
                 lead: str | None = None, map_layers: Sequence[str] | None = None) -> Path:
    """Load the result folders, build the report and write it to ``out`` atomically."""
    results = [load_results(f) for f in folders]
    page = build_report(results, title=title, question=question, maps=maps,
                        map_dates=map_dates, after=after, lead=lead, map_layers=map_layers)
    atomic_write_bytes(out, page.encode("utf-8"))
    return out
