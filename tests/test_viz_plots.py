"""Plots: each figure has the axes, titles and series it promises, in Okabe-Ito colours, and
renders to a PNG that is not blank."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from PIL import Image

from resurgence import Scenario, simulate
from resurgence.viz.epstein_view import EpsteinView
from resurgence.viz.palette import CYCLE, GREY, OKABE_ITO
from resurgence.viz.plots import (
    figure_bytes,
    interval,
    plot_comparison,
    plot_outcomes,
    plot_runs,
)
from resurgence.viz.registry import view_for

SAFE = {c.lower() for c in OKABE_ITO.values()} | {GREY.lower()}


def small(version: str = "I", legitimacy: float = 0.7, ticks: int = 40) -> Scenario:
    return Scenario.from_dict({
        "name": f"small model {version}", "ticks": ticks, "seed": 3,
        "grid": {"width": 20, "height": 20},
        "epstein": {"version": version, "citizen_vision": 2, "cop_vision": 2,
                    "legitimacy": legitimacy, "cop_density": 0.04 if version == "I" else 0.0},
    })


@pytest.fixture(scope="module")
def runs_i() -> list[pd.DataFrame]:
    return [simulate(small("I"), seed=s) for s in (1, 2, 3)]


@pytest.fixture(scope="module")
def runs_ii() -> list[pd.DataFrame]:
    return [simulate(small("II", 0.5, 60), seed=s) for s in (1, 2, 3, 4)]


def pixel_std(fig: Figure) -> float:
    """Standard deviation of the rendered PNG's grey levels (0 for a blank image)."""
    image = Image.open(io.BytesIO(figure_bytes(fig, dpi=60))).convert("L")
    return float(np.asarray(image, dtype=float).std())


def line_labels(ax) -> list[str]:
    return [line.get_label() for line in ax.get_lines()]


def test_model_i_figure_has_one_panel_of_states_with_bands(runs_i):
    fig = plot_runs(runs_i, "small model I")
    axes = fig.get_axes()
    assert len(axes) == 1
    ax = axes[0]
    assert line_labels(ax) == ["active", "jailed", "quiet"]
    assert "small model I" in fig.get_suptitle()
    assert "3 seeds: median, 10-90% band" in fig.get_suptitle()
    assert ax.get_xlabel().startswith("tick")
    assert ax.get_ylabel() == "citizens (agents)"
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 3  # bands
    assert {line.get_color().lower() for line in ax.get_lines()} <= SAFE
    # the median line is the median across seeds, tick by tick
    active = np.median(np.stack([r.active.to_numpy() for r in runs_i]), axis=0)
    assert np.allclose(ax.get_lines()[0].get_ydata(), active)
    assert pixel_std(fig) > 10


def test_one_seed_draws_no_band(runs_i):
    fig = plot_runs(runs_i[:1], "one seed")
    ax = fig.get_axes()[0]
    assert not [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert "(1 seed)" in fig.get_suptitle()
    plt.close(fig)


def test_model_ii_ensemble_ranks_groups_larger_and_smaller(runs_ii):
    fig = plot_runs(runs_ii, "small model II")
    states, groups = fig.get_axes()
    assert line_labels(states) == ["active", "jailed", "quiet"]
    assert line_labels(groups) == [
        "larger group at end: members", "larger group at end: active",
        "smaller group at end: members", "smaller group at end: active",
    ]
    assert "ranked by size" in groups.get_title(loc="left")
    assert [line.get_linestyle() for line in groups.get_lines()] == ["-", "--", "-", "--"]
    # per seed the "larger" group is the one with more members at the last tick
    prepared, _ = EpsteinView(small("II")).panels(runs_ii)
    for df in prepared:
        assert df.larger_size.iloc[-1] >= df.smaller_size.iloc[-1]
        assert {df.larger_size.iloc[-1], df.smaller_size.iloc[-1]} == {
            df.blue_size.iloc[-1], df.green_size.iloc[-1]}
    assert pixel_std(fig) > 10


def test_model_ii_single_run_shows_groups_by_colour(runs_ii):
    fig = plot_runs(runs_ii[:1], "one run")
    groups = fig.get_axes()[1]
    assert line_labels(groups)[0] == "blue group: members"
    assert line_labels(groups)[2] == "green group: members"
    assert groups.get_lines()[0].get_color().lower() == OKABE_ITO["blue"].lower()
    plt.close(fig)


def test_groups_can_be_forced_by_colour_for_an_ensemble(runs_ii):
    fig = plot_runs(runs_ii, "by colour", groups="colour")
    assert line_labels(fig.get_axes()[1])[0] == "blue group: members"
    plt.close(fig)
    with pytest.raises(ValueError, match="groups must be"):
        plot_runs(runs_ii, "bad", groups="size")


def test_comparison_puts_scenarios_side_by_side_one_colour_each(runs_i):
    other = [simulate(small("I", legitimacy=0.9), seed=s) for s in (1, 2)]
    fig = plot_comparison({"low legitimacy": runs_i, "high legitimacy": other},
                          title="legitimacy compared")
    axes = fig.get_axes()
    assert [ax.get_title(loc="left") for ax in axes] == ["active citizens", "jailed citizens"]
    for ax in axes:
        assert line_labels(ax) == ["low legitimacy (3 seeds)", "high legitimacy (2 seeds)"]
        assert [line.get_color() for line in ax.get_lines()] == CYCLE[:2]
    assert "legitimacy compared" in fig.get_suptitle()
    assert pixel_std(fig) > 10


def test_outcome_chart_shows_mean_and_interval_per_scenario():
    values = {"A": {"peak_active": [10, 20, 30, 40]}, "B": {"peak_active": [5, 6, None]}}
    outcomes = view_for(small()).outcomes
    peak = [o for o in outcomes if o.key == "peak_active"]
    fig = plot_outcomes(values, peak, "peaks")
    ax = fig.get_axes()[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["B", "A"]
    assert ax.get_title(loc="left") == "peak actives"
    mean_a, lo_a, hi_a, n_a = interval(values["A"]["peak_active"])
    assert (mean_a, n_a) == (25.0, 4) and lo_a < mean_a < hi_a
    assert interval(values["B"]["peak_active"])[3] == 2  # None (no value) is left out
    assert interval([None, None]) is None
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert sorted(float(d.get_xdata()[0]) for d in dots) == [5.5, 25.0]
    assert pixel_std(fig) > 5


def test_figure_bytes_renders_png_and_svg(runs_i):
    png = figure_bytes(plot_runs(runs_i, "png"))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    svg = figure_bytes(plot_runs(runs_i, "svg"), fmt="svg")
    assert b"<svg" in svg[:500]


def test_a_model_without_a_view_gets_a_panel_per_observable_against_dates():
    dates = pd.date_range("2014-01-05", periods=30, freq="7D")
    runs = [pd.DataFrame({"seed": s, "tick": np.arange(30), "date": dates,
                          "territory_km2": np.linspace(0, 100 + s, 30),
                          "attacks": np.arange(30) % 4 + s, "lever_inclusion": 0.5})
            for s in (1, 2)]
    fig = plot_runs(runs, "a new model")
    axes = fig.get_axes()
    assert [ax.get_title(loc="left") for ax in axes] == ["territory_km2", "attacks"]
    assert axes[-1].get_xlabel() == "date"
    assert pixel_std(fig) > 5
