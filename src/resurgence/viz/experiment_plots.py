"""Figures of the experiment commands: sensitivity indices, a calibration's fit and PRIM's
coverage-density trade-off. The experiments (:mod:`resurgence.experiments`) compute; these
draw what they return."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from resurgence.experiments.calibration import Calibration
from resurgence.experiments.discovery import Discovery
from resurgence.viz.canvas import new_figure


def plot_indices(tables: dict[tuple[str, str], pd.DataFrame], title: str) -> Figure:
    """Bar chart of the indices with their confidence intervals, one panel per outcome and
    policy (:func:`resurgence.experiments.sensitivity.analyse`)."""
    n = len(tables)
    fig = new_figure(figsize=(8, 2.6 * n + 0.6))
    axes = fig.subplots(n, 1, squeeze=False)
    for ax, ((outcome, policy), table) in zip(axes[:, 0], tables.items(), strict=True):
        pos = np.arange(len(table))
        pairs = [("S1", "#0072B2"), ("ST", "#D55E00")] if "ST" in table else \
            [("mu_star", "#0072B2")] if "mu_star" in table else [("S1", "#0072B2")]
        width = 0.8 / len(pairs)
        for j, (col, colour) in enumerate(pairs):
            ax.bar(pos + (j - (len(pairs) - 1) / 2) * width, table[col], width,
                   yerr=table[f"{col}_conf"], capsize=3, color=colour, label=col)
        ax.set_xticks(pos, table.parameter)
        ax.axhline(0, color="black", lw=0.6)
        ax.set_title(f"{outcome}" + ("" if policy == "all" else f" ({policy})"), fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def plot_fit(cal: Calibration, title: str) -> Figure:
    """Target against the fitted model (mean over seeds, ±1 sd band)
    (:func:`resurgence.experiments.calibration.calibrate`)."""
    fig = new_figure(figsize=(8, 4))
    ax = fig.subplots()
    t = cal.target
    if t.kind == "series":
        ax.plot(t.ticks, t.values, "o", ms=3, color="#000000", label="target")
        ax.plot(t.ticks, cal.fitted, color="#D55E00", label="fitted (mean over seeds)")
        ax.fill_between(t.ticks, cal.fitted - cal.spread, cal.fitted + cal.spread,
                        color="#D55E00", alpha=0.2, lw=0, label="±1 sd over seeds")
        ax.set_xlabel("tick")
        ax.set_ylabel(t.names[0])
    else:
        pos = np.arange(len(t.names))
        ax.bar(pos - 0.2, t.values, 0.4, color="#000000", label="target")
        ax.bar(pos + 0.2, cal.fitted, 0.4, yerr=cal.spread, color="#D55E00", capsize=3,
               label="fitted")
        ax.set_xticks(pos, t.names)
    fitted = ", ".join(f"{k} = {v:.4g}" for k, v in cal.params.items())
    ax.set_title(f"{title}\n{fitted}; RMSE {cal.stats['rmse']:.4g}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_tradeoff(found: Discovery) -> Figure:
    """PRIM's peeling trajectory: density against coverage of each box, coloured by how many
    inputs it restricts, the chosen box ringed
    (:func:`resurgence.experiments.discovery.discover`)."""
    tr = found.trajectory
    fig = new_figure(figsize=(6, 4.5))
    ax = fig.subplots()
    dims = tr.res_dim.to_numpy(dtype=int)
    top = max(int(dims.max()), 1)
    points = ax.scatter(tr.coverage, tr.density, c=dims, cmap="viridis", vmin=0, vmax=top, s=18)
    chosen = tr.loc[found.box]
    ax.scatter([chosen.coverage], [chosen.density], s=90, facecolors="none",
               edgecolors="#D55E00", linewidths=1.5, label=f"box {found.box} (chosen)")
    ax.set_xlabel("coverage")
    ax.set_ylabel("density")
    ax.set_xlim(0, 1.05)
    ax.set_ylim(0, 1.05)
    bar = fig.colorbar(points, ax=ax, ticks=range(top + 1))
    bar.set_label("restricted inputs")
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(f"PRIM: {found.outcome} {found.condition} (box {found.box} chosen)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_surface(table: pd.DataFrame, x: str, y: str, outcome: str,
                 facet: str | None = None) -> Figure:
    """Heat maps of a dose-response surface (:func:`resurgence.experiments.robustness.surface`),
    one per ``facet`` value, each cell labelled with its mean."""
    facets = [None] if facet is None else list(dict.fromkeys(table[facet]))
    fig = new_figure(figsize=(3.6 * len(facets) + 0.8, 3.4))
    axes = fig.subplots(1, len(facets), squeeze=False)[0]
    lo, hi = float(table[outcome].min()), float(table[outcome].max())
    for ax, value in zip(axes, facets, strict=True):
        part = table if value is None else table[table[facet] == value]
        grid = part.pivot(index=y, columns=x, values=outcome)
        image = ax.imshow(grid.to_numpy(float), origin="lower", cmap="viridis", vmin=lo,
                          vmax=hi if hi > lo else lo + 1, aspect="auto")
        ax.set_xticks(range(grid.shape[1]), [str(c) for c in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [str(r) for r in grid.index])
        for (i, j), v in np.ndenumerate(grid.to_numpy(float)):
            ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=7, color="white")
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        if value is not None:
            ax.set_title(f"{facet} = {value}", fontsize=9)
    fig.colorbar(image, ax=list(axes), label=outcome, shrink=0.9)
    return fig
