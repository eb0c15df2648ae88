"""Figures of a posterior (``resurgence posterior``): each parameter's prior against its
posterior marginal, and the posterior's pairwise correlations. The inference
(:mod:`resurgence.inference.identification`) computes; these draw."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from resurgence.inference.priors import Prior
from resurgence.viz.canvas import new_figure

PRIOR, POSTERIOR = "#7F7F7F", "#D55E00"


def plot_marginals(particles: pd.DataFrame, priors: dict[str, Prior],
                   table: pd.DataFrame, title: str) -> Figure:
    """One panel per parameter: the prior's density (line) and the posterior's weighted
    histogram, with the contraction and verdict of ``table``."""
    n = len(priors)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = new_figure(figsize=(3.6 * cols, 2.8 * rows + 0.6))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    verdicts = table.set_index("parameter")
    w = particles["weight"].to_numpy(float)
    for ax, (key, prior) in zip(axes, priors.items(), strict=False):
        grid = np.linspace(prior.low, prior.high, 200)
        log = prior.distribution == "loguniform"
        edges = np.geomspace(prior.low, prior.high, 31) if log else \
            np.linspace(prior.low, prior.high, 31)
        ax.hist(particles[key].to_numpy(float), bins=edges, weights=w, density=True,
                color=POSTERIOR, alpha=0.6, label="posterior")
        ax.plot(grid, prior.scipy().pdf(grid), color=PRIOR, lw=1.5, label="prior")
        if log:
            ax.set_xscale("log")
        row = verdicts.loc[key]
        ax.set_title(f"{key}\ncontraction {row['contraction']:.2f}: {row['verdict']}",
                     fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in axes[n:]:
        ax.set_visible(False)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def plot_correlations(corr: pd.DataFrame, title: str) -> Figure:
    """Heatmap of the posterior's pairwise correlations (-1 blue .. +1 red), values written."""
    n = len(corr)
    size = max(3.5, 0.9 * n + 2)
    fig = new_figure(figsize=(size + 1, size))
    ax = fig.subplots()
    image = ax.imshow(corr.to_numpy(float), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(n), corr.columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), corr.index, fontsize=8)
    for i in range(n):
        for j in range(n):
            value = corr.iat[i, j]
            ax.text(j, i, "-" if np.isnan(value) else f"{value:.2f}", ha="center",
                    va="center", fontsize=8, color="white" if abs(value) > 0.6 else "black")
    fig.colorbar(image, ax=ax, shrink=0.8, label="weighted correlation")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
