"""The insurgency model's view: curves over dates, map snapshots saved with a run, maps of the
theatre by layer (control, density by role, legitimacy by group, attacks) and the animation.

Runs use the real Iraq theatre at 50 km cells (22 x 22) and 2,000 people per agent, with a
weak state so that the group takes and loses ground within two years.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from PIL import Image

from resurgence import Scenario, simulate
from resurgence.errors import UserInputError
from resurgence.experiments import Ensemble
from resurgence.models import insurgency
from resurgence.viz.animate import animate
from resurgence.viz.insurgency_view import CONTROL, InsurgencyView, decimal_year
from resurgence.viz.palette import INSURGENCY, OKABE_ITO
from resurgence.viz.plots import figure_bytes, plot_runs
from resurgence.viz.registry import view_for
from resurgence.viz.snapshots import MapSnapshots, map_recorder, snapshot_ticks
from resurgence.viz.theatre_maps import LAYERS, default_indices, plot_layer


def weak_state(**levers: float) -> Scenario:
    return Scenario.from_dict({
        "name": "weak state", "model": "insurgency", "start": "2013-01-01",
        "end": "2014-06-30", "seed": 2,
        "insurgency": {"cell_km": 50, "people_per_agent": 2000, "vision": 50,
                       "posture_km": 100, "speed_km": 50, "initial_fighters": 6000},
        "levers": {"inclusion_sunni_arab": 0.0, "ground_forces": 0.05, **levers},
        "timeline": [{"date": "2014-01-01", "ground_forces": 0.8, "air_sorties": 150}],
    })


@pytest.fixture(scope="module")
def stored() -> tuple[list[pd.DataFrame], MapSnapshots]:
    """Two seeds of the weak state, with the first seed's snapshots."""
    scenario = weak_state()
    member = Ensemble(scenario, [2]).run({"maps": map_recorder(scenario)}).members[0]
    first, snaps = member.frame, member.observed["maps"]
    return [first, simulate(scenario, seed=3)], snaps


def pixel_std(fig) -> float:
    img = Image.open(io.BytesIO(figure_bytes(fig))).convert("L")
    return float(np.asarray(img, float).std())


# --------------------------------------------------------------------------- snapshots
def test_snapshots_do_not_change_the_run_and_keep_the_dates_asked_for(stored, tmp_path):
    runs, snaps = stored
    assert runs[0].equals(simulate(weak_state(), seed=2))  # the recorder only looks
    plan = snapshot_ticks(weak_state())
    assert plan[0] == "start" and plan[77] == "end" and plan[52] == "regular,policy"
    assert sorted(plan) == [0, 26, 52, 77]
    # every tick asked for, plus the week of peak territory
    peak = int(runs[0].territory_km2.to_numpy().argmax())
    assert set(snaps.ticks.tolist()) == {0, 26, 52, 77, peak}
    k = snaps.index_of_kind("peak")
    assert snaps.ticks[k] == peak and "peak territory" in snaps.caption(k)
    assert (snaps.states[k] == insurgency.HELD_CELL).sum() * 2500 == runs[0].territory_km2[peak]
    assert snaps.dates[0] == "2013-01-01" and snaps.caption(0) == "2013-01-01"
    assert snaps.dates[snaps.nearest_date(dt.date(2013, 6, 15))] == "2013-07-02"
    assert snaps.nearest_date(dt.date(2099, 1, 1)) == len(snaps) - 1
    assert snaps.ticks[snaps.nearest(52)] == 52 and snaps.nearest(10_000) == len(snaps) - 1
    # members by role and attacks add up to the series
    end = len(snaps) - 1
    last = runs[0].iloc[-1]
    assert snaps.fighters[end].sum(axis=(1, 2)).tolist() == [
        last.fighters_territorial, last.fighters_desert, last.sleepers]
    since = int(snaps.since[end])
    assert snaps.attacks[end].sum() == runs[0].attacks.iloc[since + 1:].sum()
    # legitimacy by group and governorate: 4 groups x 18 governorates, the raster paints it
    assert snaps.legitimacy.shape == (len(snaps), 4, 18)
    raster = snaps.legitimacy_raster(end, 0)
    assert np.isnan(raster[snaps.governorate < 0]).all()
    assert np.nanmax(raster) <= 1 and np.nanmin(raster) >= 0

    path = tmp_path / "maps-seed-2.npz"
    snaps.save(path)
    assert path.stat().st_size < 50_000  # compact
    again = MapSnapshots.load(path)
    assert again.kinds == snaps.kinds and again.dates == snaps.dates
    assert np.array_equal(again.states, snaps.states) and again.extent == snaps.extent
    path.write_bytes(b"not a zip")
    with pytest.raises(UserInputError, match="is not a map snapshot file"):
        MapSnapshots.load(path)


# --------------------------------------------------------------------------- curves
def test_a_frame_stored_before_the_violence_columns_still_plots(stored):
    """A result folder written before the deaths by perpetrator existed: the panel shows
    what the frame holds (the group's attacks and air strikes), nothing is invented."""
    runs, _ = stored
    old = [df.drop(columns=[c for c in df.columns if c.startswith("casualties_") and c not in (
        "casualties_attacks", "casualties_collateral", "casualties_civilian",
        "casualties_security", "casualties_insurgent")]) for df in runs]
    _, panels = view_for(weak_state()).panels(old)
    by = [p for p in panels if p.title.startswith("civilian deaths by perpetrator")][0]
    assert [s.label for s in by.series] == ["the group's attacks", "air strikes"]


def test_curves_show_territory_members_violence_legitimacy_and_treasury_over_dates(stored):
    runs, _ = stored
    view = view_for(weak_state())
    assert isinstance(view, InsurgencyView)
    fig = plot_runs(runs, "weak state", view=view)
    axes = fig.get_axes()
    assert [ax.get_title(loc="left") for ax in axes] == [
        "territory held by the group", "members by role",
        "attacks and casualties (13-week running mean)",
        "civilian deaths by perpetrator (13-week running mean)",
        "legitimacy of the state, by group (population-weighted)", "the group's treasury"]
    assert [ax.get_ylabel() for ax in axes] == ["km²", "members", "per week", "per week",
                                                "legitimacy (0-1)", "million USD"]
    labels = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in axes]
    assert labels[1] == ["territorial fighters", "desert fighters", "sleepers", "all members"]
    assert labels[3] == ["the group's attacks", "the group's executions", "sectarian militias",
                         "ground combat", "reprisals", "air strikes"]
    assert labels[4] == ["Sunni Arab", "Shia Arab", "Kurd", "other"]
    # median line and a band per series (two seeds); the time axis is the calendar
    members = axes[1]
    assert len(members.get_lines()) == 4 and len(members.collections) == 4
    assert to_hex(members.get_lines()[0].get_color()) == INSURGENCY["territorial"].lower()
    x = members.get_lines()[0].get_xdata()
    assert pd.Timestamp(x[0]) == pd.Timestamp("2013-01-01") and len(x) == 78
    assert axes[-1].get_xlabel() == "date"
    assert "2 seeds" in fig._suptitle.get_text()
    territory = axes[0].get_lines()[0].get_ydata()
    assert territory.max() > 0  # the weak state loses ground: the curve is not flat
    assert pixel_std(fig) > 5


def _story(weeks: int = 157) -> pd.DataFrame:
    """A made-up run: territory 0, 1,000 km² from week 10, 300 from week 30 (lost: at most
    40% of the peak), 700 from week 80 (back: up by 25% of the peak and more); 2 attacks,
    1 civilian (a quarter of them killed by sectarian militias) and 0.5 security casualties a
    week; 9,000 displaced at the end."""
    tick = np.arange(weeks)
    km2 = np.select([tick < 10, tick < 30, tick < 80], [0.0, 1000.0, 300.0], 700.0)
    return pd.DataFrame({
        "seed": 1, "tick": tick, "date": pd.date_range("2014-01-01", periods=weeks, freq="7D"),
        "territory_km2": km2, "attacks": 2.0, "casualties_civilian": 1.0,
        "casualties_security": 0.5, "members": np.linspace(0, 1234, weeks),
        "sympathisers": np.linspace(0, 5678, weeks), "casualties_sectarian": 0.25,
        "displaced": np.linspace(0, 9000, weeks)})


def test_outcomes_of_a_known_run_are_its_loss_return_and_totals_with_dates_as_years():
    frame = _story()
    values = InsurgencyView(weak_state()).outcome_values(frame)
    assert values == pytest.approx({
        "peak_territory_km2": 1000.0, "lost_year": decimal_year("2014-07-30"),  # week 30
        "resurgence": 1.0, "years_to_regain": 50 * 7 / 365.25, "territory_end_km2": 700.0,
        "members_end": 1234.0, "sympathisers_end": 5678.0, "attacks_total": 314.0,
        "casualties_cumulative": 1.5 * 157, "casualties_sectarian_total": 0.25 * 157,
        "displaced_end": 9000.0})
    # counted only after a date past the return: no resurgence, no time to regain
    late = InsurgencyView(weak_state(), after="2016-01-01").outcome_values(frame)
    assert late["resurgence"] == 0.0 and late["years_to_regain"] is None
    assert late["lost_year"] == values["lost_year"]
    assert decimal_year("2014-07-02") == pytest.approx(2014.5, abs=0.01)
    assert decimal_year(None) is None


def test_outcomes_are_numbers_per_run_with_dates_as_years(stored):
    runs, _ = stored
    view = InsurgencyView(weak_state())
    values = view.outcome_values(runs[0])
    assert set(values) == {o.key for o in view.outcomes}
    assert all(v is None or isinstance(v, float) for v in values.values())
    assert values["peak_territory_km2"] == runs[0].territory_km2.max()
    assert values["attacks_total"] == runs[0].attacks.sum()
    assert values["lost_year"] is None or 2013 < values["lost_year"] < 2014.6
    assert view.caption(runs[0]).startswith("2014-06-2")


def test_levers_are_the_scenario_levers_with_their_ranges():
    from resurgence.scenario.insurgency import Levers

    view = InsurgencyView(weak_state())
    names = [lv.name for lv in view.levers]
    assert names[:2] == ["inclusion_sunni_arab", "ground_forces"]
    assert set(names) <= set(Levers.model_fields) and "sectarian_shock" not in names
    for lever in view.levers:
        field = Levers.model_fields[lever.name]
        bounds = {type(m).__name__: m for m in field.metadata}
        assert bounds["Ge"].ge <= lever.low < lever.high <= bounds["Le"].le


# --------------------------------------------------------------------------- maps
def test_control_map_paints_held_ground_in_its_colour_with_a_legend(stored):
    _, snaps = stored
    picks = default_indices(snaps)
    assert picks[0] == 0 and picks[-1] == len(snaps) - 1
    assert snaps.index_of_kind("peak") in picks and snaps.index_of_kind("policy") in picks
    fig = plot_layer(snaps, picks, "control", "control")
    axes = fig.get_axes()
    assert len(axes) == len(picks)
    assert [ax.get_title() for ax in axes] == [snaps.caption(k) for k in picks]
    assert axes[0].get_xlabel() == "km east" and axes[0].get_ylabel() == "km north"
    assert len(axes[0].collections) == 1  # governorate boundaries
    peak = picks.index(snaps.index_of_kind("peak"))
    image = axes[peak].get_images()[0].get_array()
    held = np.array([int(INSURGENCY["territorial"][i:i + 2], 16) for i in (1, 3, 5)])
    assert (np.asarray(image) == held).all(axis=-1).any()  # held ground is drawn
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "held by the group" in legend and "government" in legend
    assert "outside the theatre" not in legend
    assert pixel_std(fig) > 5
    plt.close(fig)


@pytest.mark.parametrize("layer, rows, unit", [
    ("density", 3, "members per 1,000 km² (log scale)"),
    ("legitimacy", 4, "legitimacy (0-1)"),
    ("attacks", 1, "attacks per 50 km cell (log scale)"),
])
def test_continuous_layers_have_a_row_per_role_or_group_and_a_colour_bar(stored, layer, rows,
                                                                         unit):
    _, snaps = stored
    picks = default_indices(snaps)
    fig = plot_layer(snaps, picks, layer)
    axes = fig.get_axes()
    maps, bar = axes[:-1], axes[-1]
    assert len(maps) == rows * len(picks)
    assert bar.get_ylabel() == unit
    assert all(len(ax.get_images()) == 2 for ax in maps)  # background and the layer
    if layer == "density":
        assert maps[0].get_title().startswith("territorial members\n2013-01-01")
    if layer == "legitimacy":
        assert [maps[i * len(picks)].get_title().split("\n")[0] for i in range(4)] == [
            "Sunni Arab", "Shia Arab", "Kurd", "other"]
        values = maps[0].get_images()[1].get_array()
        assert 0 <= values.min() and values.max() <= 1
    if layer == "attacks":
        assert "weeks" in fig._suptitle.get_text()
        assert maps[-1].get_images()[1].get_array().count() > 0  # cells with attacks
    assert pixel_std(fig) > 5
    plt.close(fig)


def test_a_layer_must_be_known_and_dates_given(stored):
    _, snaps = stored
    with pytest.raises(ValueError, match="layer must be one of control, density"):
        plot_layer(snaps, [0], "rainfall")
    with pytest.raises(ValueError, match="no dates"):
        plot_layer(snaps, [], "control")
    assert LAYERS == ("control", "density", "legitimacy", "attacks")


def test_control_legend_is_colour_blind_safe_and_distinct():
    safe = {c.lower() for c in OKABE_ITO.values()} | {"#ffffff", INSURGENCY["government"].lower()}
    colours = [c.colour.lower() for c in CONTROL.categories]
    assert set(colours) <= safe and len(set(colours)) == len(colours)


def test_animation_of_an_insurgency_run_is_a_gif_titled_with_dates(tmp_path: Path):
    view = view_for(weak_state())
    out = tmp_path / "weak.gif"
    frames = animate(view, out, seed=2, ticks=8)  # one frame every 4 weeks by default
    assert frames == 3
    gif = Image.open(out)
    assert gif.format == "GIF" and gif.n_frames == 3
    gif.seek(2)
    assert np.asarray(gif.convert("L"), float).std() > 5


def test_live_map_layers_paint_members_attacks_and_legitimacy_over_the_theatre():
    from resurgence.viz.maps import to_rgb

    view = InsurgencyView(weak_state())
    run = view.start(2)
    for _ in range(20):
        run.step()
    outside = ~run.world.geo.inside.reshape(run.shape)
    grey = tuple(int(INSURGENCY["government"][i:i + 2], 16) for i in (1, 3, 5))
    control = view.layer_rgb(run, "control")
    assert np.array_equal(control, to_rgb(run.cell_states(), CONTROL.lut()))
    members = view.layer_rgb(run, "members")
    cnt = run.world.counts
    count = (cnt.terr + cnt.desert + cnt.sleeper).reshape(run.shape)
    assert (members[outside] == 255).all()
    assert (members[(count == 0) & ~outside] == grey).all()
    painted = members[count > 0]
    assert len(painted) > 0 and not (painted == grey).all(axis=-1).any()
    busiest = np.unravel_index(count.argmax(), count.shape)
    assert count.max() >= 5  # so the busiest cell takes the top of the scale
    top = view.layer_scale("members")[1][-1]
    assert tuple(members[busiest]) == tuple(int(top[i:i + 2], 16) for i in (1, 3, 5))
    legit = view.layer_rgb(run, "legitimacy (Sunni Arab)")
    assert (legit[outside] == 255).all() and not (legit[~outside] == 255).all()
    assert view.layer_scale("control") is None
    assert view.layer_scale("legitimacy (Sunni Arab)")[0].endswith("0 … 1")
    with pytest.raises(ValueError, match="map layer must be one of control, members"):
        view.layer_rgb(run, "rainfall")
