"""How the insurgency model is shown: panels over calendar dates, the control map's legend, the
policy levers offered as sliders, and the outcomes of one run (registered for model
``"insurgency"`` in :mod:`resurgence.viz.registry`).

Series are read from :meth:`InsurgencyRun.frame` (one row a week, with ``date``); weekly flows
(attacks, casualties) are shown as a 13-week (quarter) running mean, added as ``*_13wk``
columns. The maps of a stored run are in :mod:`resurgence.viz.snapshots` and drawn by
:mod:`resurgence.viz.theatre_maps`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from resurgence.analysis import insurgency as analysis
from resurgence.models import insurgency
from resurgence.scenario import Scenario
from resurgence.viz.palette import INSURGENCY as C
from resurgence.viz.palette import LEGITIMACY_CMAP, SEQUENTIAL, hex_to_rgb
from resurgence.viz.registry import register_view
from resurgence.viz.views import Category, Legend, Lever, LiveRun, Outcome, Panel, Series

#: the control map (:meth:`InsurgencyRun.cell_states` codes)
CONTROL = Legend("control", (
    Category(insurgency.OUTSIDE_CELL, "outside the theatre", "#FFFFFF"),
    Category(insurgency.GOVERNMENT_CELL, "government", C["government"]),
    Category(insurgency.CONTESTED_CELL, "contested (fighters, not held)", C["contested"]),
    Category(insurgency.HELD_CELL, "held by the group", C["territorial"]),
    Category(insurgency.DESERT_BASE_CELL, "desert base", C["desert"]),
    Category(insurgency.SLEEPER_CELL, "sleeper cells", C["sleeper"]),
))

#: weekly flows smoothed over a quarter for the curves
SMOOTH_WEEKS = 13
_FLOWS = ("attacks", "casualties_civilian", "casualties_security",
          *(f"casualties_{k}" for k in insurgency.PERPETRATORS))
#: who killed the civilians, as the panel names them
_BY = {"attacks": "the group's attacks", "executions": "the group's executions",
       "sectarian": "sectarian militias", "battle": "ground combat",
       "reprisals": "reprisals", "collateral": "air strikes"}

PANELS = (
    Panel("territory held by the group", "km²", (
        Series("territory_km2", "territory held", C["territorial"]),)),
    Panel("members by role", "members", (
        Series("fighters_territorial", "territorial fighters", C["territorial"]),
        Series("fighters_desert", "desert fighters", C["desert"]),
        Series("sleepers", "sleepers", C["sleeper"]),
        Series("members", "all members", C["members"], dashed=True),
    )),
    Panel(f"attacks and casualties ({SMOOTH_WEEKS}-week running mean)", "per week", (
        Series("attacks_13wk", "sleeper attacks", C["attacks"]),
        Series("casualties_civilian_13wk", "civilian casualties", C["casualties_civilian"]),
        Series("casualties_security_13wk", "security force casualties",
               C["casualties_security"], dashed=True),
    )),
    Panel(f"civilian deaths by perpetrator ({SMOOTH_WEEKS}-week running mean)", "per week",
          tuple(Series(f"casualties_{k}_13wk", _BY[k], C[f"casualties_{k}"], dashed=k in (
              "battle", "collateral")) for k in insurgency.PERPETRATORS)),
    Panel("legitimacy of the state, by group (population-weighted)", "legitimacy (0-1)", (
        Series("legitimacy_sunni_arab", "Sunni Arab", C["sunni_arab"]),
        Series("legitimacy_shia_arab", "Shia Arab", C["shia_arab"]),
        Series("legitimacy_kurd", "Kurd", C["kurd"]),
        Series("legitimacy_other", "other", C["other"], dashed=True),
    )),
    Panel("the group's treasury", "million USD", (
        Series("treasury_musd", "treasury", C["treasury"]),)),
)

#: the levers offered as sliders (names of :class:`resurgence.scenario.insurgency.Levers`);
#: any value the scenario file allows can be typed in the number field
LEVERS = (
    Lever("inclusion_sunni_arab", "inclusion of Sunni Arabs", 0.0, 1.0, 0.01),
    Lever("ground_forces", "national ground forces", 0.0, 1.0, 0.01, unit="share of full"),
    Lever("foreign_troops", "foreign troops", 0.0, 1.0, 0.01, unit="share of full"),
    Lever("air_sorties", "air sorties", 0.0, 1000.0, 10.0, unit="per week"),
    Lever("precision", "precision of strikes", 0.0, 1.0, 0.01),
    Lever("border_control", "border control", 0.0, 1.0, 0.01, unit="share stopped"),
    Lever("tribal_engagement", "tribal engagement (Sahwa)", 0.0, 1.0, 0.01),
    Lever("services", "services and stabilisation", 0.0, 1.0, 0.01),
    Lever("detention", "detention terms", 0.0, 1.0, 0.01, unit="share of max"),
    Lever("inclusion_shia_arab", "inclusion of Shia Arabs", 0.0, 1.0, 0.01),
    Lever("inclusion_kurd", "inclusion of Kurds", 0.0, 1.0, 0.01),
    Lever("inclusion_other", "inclusion of other groups", 0.0, 1.0, 0.01),
    Lever("militia_crackdown", "crackdown on sectarian militias", 0.0, 1.0, 0.01),
    Lever("civilian_protection", "protection of civilians in assaults", 0.0, 1.0, 0.01),
)

OUTCOMES = (
    Outcome("peak_territory_km2", "peak territory held (km²)", 0),
    Outcome("lost_year", "when territory fell below 40% of its peak (year)", 1),
    Outcome("resurgence", "share of runs with resurgence (territory up by 25% of peak)", 2),
    Outcome("years_to_regain", "years from the loss to resurgence", 1),
    Outcome("territory_end_km2", "territory at the end (km²)", 0),
    Outcome("members_end", "members at the end", 0),
    Outcome("sympathisers_end", "sympathisers at the end (people)", 0),
    Outcome("attacks_total", "sleeper attacks, whole run", 0),
    Outcome("casualties_cumulative", "casualties, civilian and security, whole run", 0),
    Outcome("casualties_sectarian_total", "civilians killed by sectarian militias, whole run",
            0),
    Outcome("displaced_end", "displaced at the end (people)", 0),
)

#: the layers of the live map (the dashboard's "map" choice)
MAP_LAYERS = ("control", "members", "attacks this week", "legitimacy (Sunni Arab)")

#: the status line of a live run: label -> column
COUNTS = {"territory_km2": "territory_km2", "members": "members",
          "territorial": "fighters_territorial", "desert": "fighters_desert",
          "sleepers": "sleepers", "attacks": "attacks"}


def with_derived(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with the plotted derived columns: ``treasury_musd`` and quarter running means
    of the weekly flows (``attacks_13wk``...)."""
    out = frame.copy()
    out["treasury_musd"] = frame["treasury"] / 1e6
    for col in _FLOWS:
        if col in frame:  # a frame stored before the violence mechanisms lacks their columns
            out[f"{col}_13wk"] = frame[col].rolling(SMOOTH_WEEKS, min_periods=1).mean()
    return out


def decimal_year(date: str | dt.date | None) -> float | None:
    """2014-07-02 -> 2014.5; None stays None."""
    if date is None:
        return None
    d = dt.date.fromisoformat(date) if isinstance(date, str) else date
    start = dt.date(d.year, 1, 1)
    return d.year + (d - start).days / (dt.date(d.year + 1, 1, 1) - start).days


class InsurgencyView:
    """The insurgency model on a theatre (see the module docstring)."""

    #: what the report's question is about
    topic = ("the group's territory, members and attacks: does it lose its territory, and "
             "does it come back")
    outcome_note = ("Resurgence: after falling below 40% of its peak, territory climbs by 25% "
                    "of the peak above its lowest level since (counted only after the report's "
                    "--after date, if given, and from its low after it). Years are decimal "
                    "(2017.5 = early July 2017).")
    legend = CONTROL
    levers = LEVERS
    outcomes = OUTCOMES
    counts = COUNTS
    #: ticks between frames of an animation (4 weeks)
    frame_every = 4
    #: a live run stops at the scenario's end date (levers are scheduled up to it)
    ends = True
    #: where a lever's bad value is reported (``levers.air_sorties = ...``)
    lever_section = "levers"
    map_layers = MAP_LAYERS
    compare_columns = (("territory_km2", "territory held (km²)"),
                       ("members", "members (all roles)"),
                       ("attacks_13wk", f"sleeper attacks per week ({SMOOTH_WEEKS}-wk mean)"))

    def __init__(self, scenario: Scenario, after: str | None = None):
        self.scenario = scenario
        self.sections: tuple[str, ...] = ("insurgency", "levers")
        #: count resurgence only after this date (e.g. the branch of a policy)
        self.after = after

    def panels(self, runs: Sequence[pd.DataFrame], groups: str = "auto"
               ) -> tuple[list[pd.DataFrame], list[Panel]]:
        """Territory, members by role, attacks and casualties, legitimacy by group, treasury
        (``groups`` is ignored: the model has one insurgent group); a series whose column the
        runs lack (stored before it existed) is left out."""
        prepared = [with_derived(df) for df in runs]
        have = set(prepared[0].columns) if prepared else set()
        panels = [Panel(p.title, p.ylabel, tuple(s for s in p.series if s.column in have))
                  for p in PANELS]
        return prepared, [p for p in panels if p.series]

    def start(self, seed: int | None = None, live: bool = False,
              theatre: Any = None) -> insurgency.InsurgencyRun:
        return insurgency.InsurgencyRun(self.scenario, seed, theatre=theatre)

    def lever_values(self, run: LiveRun) -> dict[str, float]:
        """The levers that act at the next tick (a lever just moved, or the timeline's)."""
        changes = run.changes  # type: ignore[attr-defined]
        out = {}
        for lever in self.levers:
            values = changes[lever.name]
            out[lever.name] = float(values[min(run.tick + 1, len(values) - 1)])
        return out

    def outcome_values(self, frame: pd.DataFrame) -> dict[str, float | None]:
        row = analysis.summarise(frame, after=self.after)
        out: dict[str, float | None] = {
            o.key: (None if row.get(o.key) is None else float(row[o.key]))
            for o in self.outcomes if o.key in row}
        out["lost_year"] = decimal_year(row.get("lost_60pct_date"))
        out["attacks_total"] = float(frame["attacks"].sum())
        out["displaced_end"] = float(frame["displaced"].iloc[-1])
        if "casualties_sectarian" in frame:  # stored before the militias existed: not known
            out["casualties_sectarian_total"] = float(frame["casualties_sectarian"].sum())
        return out

    def overlay(self, run: insurgency.InsurgencyRun) -> Any:
        """The governorate boundaries of the run's theatre, in cell coordinates (for the
        animation's map)."""
        from resurgence.viz.maps import boundaries

        geo = run.world.geo
        gov = np.where(geo.inside, geo.gov, -1).reshape(run.shape)
        return boundaries(gov, -0.5, -0.5, 1.0, -1.0)

    def layer_rgb(self, run: insurgency.InsurgencyRun, layer: str) -> np.ndarray:
        """The live map of one of :data:`MAP_LAYERS` as (H, W, 3) colours. O(cells)."""
        from resurgence.viz.maps import field_rgb, to_rgb

        if layer not in MAP_LAYERS:
            raise ValueError(f"map layer must be one of {', '.join(MAP_LAYERS)}, not {layer!r}")
        w = run.world
        outside = ~w.geo.inside.reshape(run.shape)
        grey = hex_to_rgb(C["government"])
        if layer == "control":
            return to_rgb(run.cell_states(), self.legend.lut())
        if layer == "legitimacy (Sunni Arab)":
            values = w.fields.legit[w.geo.base][w.geo.gov]
            lut, top, log = _lut(LEGITIMACY_CMAP), 1.0, False
            blank = outside
        else:
            values = (w.counts.terr + w.counts.desert + w.counts.sleeper) \
                if layer == "members" else w.fields.attacks_cell
            values = values.reshape(run.shape)
            lut, top, log = _lut(SEQUENTIAL), max(float(values.max()), 5.0), True
            blank = values <= 0
        rgb = field_rgb(values.reshape(run.shape), lut, top, log, blank, grey)
        rgb[outside] = 255
        return rgb

    def layer_scale(self, layer: str) -> tuple[str, list[str]] | None:
        """A continuous layer's caption and a few colours from low to high (None: the layer
        is categorical, its legend is :attr:`legend`)."""
        scales = {"members": ("members per cell, log scale: 1 … most", SEQUENTIAL),
                  "attacks this week": ("attacks per cell this week, log scale: 1 … most",
                                        SEQUENTIAL),
                  "legitimacy (Sunni Arab)": ("legitimacy of the state for Sunni Arabs, "
                                              "per governorate: 0 … 1", LEGITIMACY_CMAP)}
        if layer not in scales:
            return None
        caption, cmap = scales[layer]
        lut = _lut(cmap)
        return caption, ["#" + bytes(lut[i]).hex().upper() for i in (0, 64, 128, 192, 255)]

    def caption(self, frame: pd.DataFrame) -> str:
        """'2014-06-12 · territory 52,300 km² · members 31,000' for the last row."""
        last = frame.iloc[-1]
        when = (str(pd.Timestamp(last["date"]).date()) if "date" in frame
                else f"tick {int(last['tick'])}")
        return (f"{when} · territory {last['territory_km2']:,.0f} km² · members "
                f"{int(last['members']):,}")


@functools.cache
def _lut(name: str) -> np.ndarray:
    from resurgence.viz.maps import colormap_lut

    return colormap_lut(name)


register_view("insurgency", InsurgencyView)
