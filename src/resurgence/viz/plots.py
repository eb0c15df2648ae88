"""Plots of run results: observables over time (median and band across seeds), scenarios or
policies side by side, and outcome charts with their uncertainty.

Every function returns a matplotlib :class:`~matplotlib.figure.Figure` (the caller saves or
shows it); colours come from the Okabe-Ito palette (:mod:`resurgence.viz.palette`). What a
model's panels contain comes from its :class:`~resurgence.viz.views.View`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from resurgence.scenario import Scenario
from resurgence.viz.canvas import new_figure
from resurgence.viz.palette import CYCLE
from resurgence.viz.registry import view_for
from resurgence.viz.views import Outcome, Panel, Series, View

#: the band drawn around the median across seeds, in percent
BAND = (10, 90)
TIME_LABEL = "tick (one round of agent activation)"


def _band(ax: Axes, runs: Sequence[pd.DataFrame], column: str, label: str,
          colour: str, dashed: bool = False, time: str = "tick") -> None:
    values = np.stack([run[column].to_numpy(dtype=float) for run in runs])
    ticks = runs[0][time].to_numpy()
    ax.plot(ticks, np.median(values, axis=0), color=colour, label=label, lw=1.4,
            ls="--" if dashed else "-")
    if len(runs) > 1:
        lo, hi = np.percentile(values, BAND, axis=0)
        ax.fill_between(ticks, lo, hi, color=colour, alpha=0.18, lw=0)


def _tidy(ax: Axes, time: str) -> None:
    """Readable axes: thousands separators on large counts, concise calendar dates."""
    if ax.get_ylim()[1] >= 10_000:
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    if time == "date":
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _same_length(runs: Sequence[pd.DataFrame]) -> list[pd.DataFrame]:
    shortest = min(len(run) for run in runs)
    return [run.iloc[:shortest] for run in runs]


def _seeds_note(n: int) -> str:
    return f"{n} seeds: median, {BAND[0]}-{BAND[1]}% band" if n > 1 else "1 seed"


def guess_view(runs: Sequence[pd.DataFrame]) -> View:
    """A view matching the frames' columns: the insurgency model's if they have territory,
    else Epstein's (Model II if they have group counts)."""
    if "territory_km2" in runs[0]:
        return view_for(Scenario.from_dict({"model": "insurgency"}))
    version = "II" if "blue_quiet" in runs[0] else "I"
    return view_for(Scenario.from_dict({"epstein": {"version": version, "cop_density": 0.0}}))


def generic_panels(runs: Sequence[pd.DataFrame], most: int = 6) -> list[Panel]:
    """One panel per numeric observable (the first ``most``), for a model without a view:
    everything but ``seed``, ``tick``, ``date`` and timeline inputs (``lever_*``)."""
    frame = runs[0]
    columns = [c for c in frame.columns if c not in ("seed", "tick", "date")
               and not str(c).startswith("lever_") and pd.api.types.is_numeric_dtype(frame[c])]
    return [Panel(str(c), str(c), (Series(str(c), str(c), CYCLE[i % len(CYCLE)]),))
            for i, c in enumerate(columns[:most])]


def plot_timeseries(runs: Sequence[pd.DataFrame], panels: Sequence[Panel], title: str,
                    xlabel: str | None = None, width: float = 9, panel_height: float = 3.2
                    ) -> Figure:
    """One axes per panel, one median line (and band over seeds) per series; against the
    calendar date if the frames have a ``date`` column, else the tick."""
    runs = _same_length(runs)
    time = "date" if "date" in runs[0] else "tick"
    xlabel = xlabel or ("date" if time == "date" else TIME_LABEL)
    fig = new_figure(figsize=(width, 0.8 + panel_height * len(panels)))
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)
    for ax, panel in zip(axes[:, 0], panels, strict=True):
        for s in panel.series:
            _band(ax, runs, s.column, s.label, s.colour, s.dashed, time)
        ax.set_ylabel(panel.ylabel)
        _tidy(ax, time)
        ax.set_title(panel.title, fontsize=9, loc="left")
        ax.grid(alpha=0.25)
        ax.legend(loc="upper right", fontsize=7, framealpha=0.85)
    axes[-1, 0].set_xlabel(xlabel)
    fig.suptitle(f"{title}\n({_seeds_note(len(runs))})", fontsize=10)
    fig.tight_layout()
    return fig


def plot_runs(runs: Sequence[pd.DataFrame], title: str, view: View | None = None,
              groups: str = "auto") -> Figure:
    """The model's observables over ticks: median across seeds and a 10-90% band.

    Model I: citizens by state. Model II adds each group's members and actives; with several
    seeds the groups are ranked (larger / smaller at the end of each run: which colour wins is
    random, so a median per colour would hide the elimination), with one seed they are shown by
    colour (``groups`` forces either: ``"colour"`` or ``"rank"``)."""
    if not runs:
        raise ValueError("no runs to plot")
    if view is None and "active" not in runs[0]:  # a model without a view: its observables
        panels = generic_panels(runs)
        return plot_timeseries(runs, panels, title, panel_height=2.0)
    view = view if view is not None else guess_view(runs)
    prepared, panels = view.panels(runs, groups)
    return plot_timeseries(prepared, panels, title)


def plot_comparison(scenarios: Mapping[str, Sequence[pd.DataFrame]],
                    columns: Sequence[tuple[str, str]] = (("active", "active citizens"),
                                                          ("jailed", "jailed citizens")),
                    title: str = "Scenarios compared") -> Figure:
    """Scenarios (or policies) side by side: one axes per observable, one colour per scenario
    (median and 10-90% band over its seeds). ``columns``: (column, axes title) pairs."""
    if not scenarios:
        raise ValueError("no scenarios to compare")
    n = len(columns)
    fig = new_figure(figsize=(4.6 * n + 0.6, 4.0))
    axes = fig.subplots(1, n, squeeze=False, sharex=True)
    first = next(iter(scenarios.values()))[0]
    time = "date" if "date" in first else "tick"
    for ax, (column, caption) in zip(axes[0], columns, strict=True):
        for i, (name, runs) in enumerate(scenarios.items()):
            runs = _same_length(runs)
            _band(ax, runs, column, f"{name} ({len(runs)} seeds)", CYCLE[i % len(CYCLE)],
                  time=time)
        ax.set_title(caption, fontsize=9, loc="left")
        ax.set_xlabel("date" if time == "date" else TIME_LABEL, fontsize=8)
        if column in ("quiet", "active", "jailed"):
            ax.set_ylabel("citizens (agents)", fontsize=8)
        _tidy(ax, time)
        ax.grid(alpha=0.25)
    axes[0, 0].legend(loc="upper left", fontsize=7, framealpha=0.85)
    fig.suptitle(f"{title}\n(median over seeds, {BAND[0]}-{BAND[1]}% band)", fontsize=10)
    fig.tight_layout()
    return fig


def interval(values: Sequence[float | None], level: float = 0.9
             ) -> tuple[float, float, float, int] | None:
    """(mean, low, high, n) of the values that are not None: the central ``level`` interval
    across seeds (empirical percentiles); None if there are none."""
    xs = np.array([v for v in values if v is not None], dtype=float)
    if len(xs) == 0:
        return None
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(xs, [tail, 100 - tail])
    return float(xs.mean()), float(lo), float(hi), len(xs)


def plot_outcomes(values: Mapping[str, Mapping[str, Sequence[float | None]]],
                  outcomes: Sequence[Outcome], title: str = "Outcomes") -> Figure:
    """Per outcome, each scenario's mean across seeds (dot) and 90% interval (bar).

    ``values[scenario][outcome.key]`` is the list of per-seed values."""
    n = len(outcomes)
    names = list(values)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig = new_figure(figsize=(4.2 * cols, 0.9 + (0.45 * len(names) + 1.0) * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, outcome in enumerate(outcomes):
        ax = axes[k // cols, k % cols]
        for i, name in enumerate(names):
            stat = interval(values[name].get(outcome.key, []))
            y = len(names) - 1 - i
            if stat is None:
                ax.text(0.02, y, "n/a", va="center", fontsize=7, transform=ax.get_yaxis_transform())
                continue
            mean, lo, hi, _ = stat
            colour = CYCLE[i % len(CYCLE)]
            ax.plot([lo, hi], [y, y], color=colour, lw=2.2, solid_capstyle="butt")
            ax.plot([mean], [y], "o", color=colour, ms=5)
        ax.set_yticks(range(len(names)), labels=names[::-1], fontsize=7)
        ax.set_ylim(-0.7, len(names) - 0.3)
        ax.set_title(outcome.label, fontsize=8, loc="left")
        ax.tick_params(axis="x", labelsize=7)
        ax.ticklabel_format(axis="x", style="plain", useOffset=False)
        ax.grid(axis="x", alpha=0.25)
    for k in range(n, rows * cols):
        axes[k // cols, k % cols].set_visible(False)
    fig.suptitle(f"{title}\n(mean over seeds and 90% interval)", fontsize=10)
    fig.tight_layout()
    return fig


def figure_bytes(fig: Figure, fmt: str = "png", dpi: int = 110) -> bytes:
    """The figure rendered to PNG or SVG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    return buf.getvalue()
