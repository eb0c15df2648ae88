"""Plots of run results: observables over time, median and band across seeds."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

#: Okabe-Ito colour-blind-safe palette
PALETTE = {"quiet": "#0072B2", "active": "#D55E00", "jailed": "#009E73", "cops": "#000000",
           "blue": "#0072B2", "green": "#009E73"}


def _band(ax: plt.Axes, runs: Sequence[pd.DataFrame], column: str, label: str,
          colour: str) -> None:
    values = np.stack([run[column].to_numpy() for run in runs])
    ticks = runs[0].tick.to_numpy()
    ax.plot(ticks, np.median(values, axis=0), color=colour, label=label, lw=1.4)
    if len(runs) > 1:
        lo, hi = np.percentile(values, [10, 90], axis=0)
        ax.fill_between(ticks, lo, hi, color=colour, alpha=0.2, lw=0)


def plot_runs(runs: Sequence[pd.DataFrame], title: str) -> Figure:
    """Citizens by state over ticks (median across seeds, 10-90% band); Model II adds a panel
    of each group's size."""
    two_groups = "blue_quiet" in runs[0]
    fig, axes = plt.subplots(2 if two_groups else 1, 1, figsize=(9, 6 if two_groups else 4),
                             sharex=True, squeeze=False)
    ax = axes[0, 0]
    for column in ("active", "jailed", "quiet"):
        _band(ax, runs, column, column, PALETTE[column])
    ax.set_ylabel("citizens")
    seeds = f"{len(runs)} seeds: median, 10-90% band" if len(runs) > 1 else "1 seed"
    ax.set_title(f"{title}\n({seeds})", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    if two_groups:
        ax2 = axes[1, 0]
        for group in ("blue", "green"):
            sized = [run.assign(size=run[f"{group}_quiet"] + run[f"{group}_active"]
                                + run[f"{group}_jailed"]) for run in runs]
            _band(ax2, sized, "size", f"{group} population", PALETTE[group])
        ax2.set_ylabel("citizens")
        ax2.legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("tick")
    fig.tight_layout()
    return fig
