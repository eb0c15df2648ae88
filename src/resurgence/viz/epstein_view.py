"""How Epstein's civil violence model is shown: citizens by state (and, for Model II, each
group's size and actives), the grid map's legend, the parameters offered as levers, and the
headline outcomes of one run (registered for model ``"epstein"``)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from resurgence.analysis import epstein as analysis
from resurgence.models import epstein
from resurgence.scenario import Scenario
from resurgence.viz.palette import GREY, OKABE_ITO, SERIES
from resurgence.viz.registry import register_view
from resurgence.viz.views import Category, Legend, Lever, LiveRun, Outcome, Panel, Series

_EMPTY = Category(epstein.EMPTY, "empty", "#FFFFFF")
_JAILED = Category(epstein.JAILED_CELL, "jailed", GREY)

EPSTEIN_I = Legend("cell shows", (
    _EMPTY,
    Category(epstein.QUIET_CELL, "quiet", OKABE_ITO["sky_blue"]),
    Category(epstein.ACTIVE_CELL, "active", OKABE_ITO["vermillion"]),
    _JAILED,
    Category(epstein.COP_CELL, "cop", OKABE_ITO["black"]),
))
EPSTEIN_II = Legend("cell shows", (
    _EMPTY,
    Category(epstein.QUIET_CELL, "blue quiet", OKABE_ITO["sky_blue"]),
    Category(epstein.ACTIVE_CELL, "blue active", OKABE_ITO["blue"]),
    Category(epstein.QUIET_GREEN, "green quiet", OKABE_ITO["bluish_green"]),
    Category(epstein.ACTIVE_GREEN, "green active", OKABE_ITO["orange"]),
    _JAILED,
    Category(epstein.COP_CELL, "peacekeeper", OKABE_ITO["black"]),
))

_STATES = Panel("citizens by state", "citizens (agents)", (
    Series("active", "active", SERIES["active"]),
    Series("jailed", "jailed", SERIES["jailed"]),
    Series("quiet", "quiet", SERIES["quiet"]),
))


class EpsteinView:
    """Epstein's civil violence model (Model I and II)."""

    topic = ("rebellion: the share of citizens active and jailed, the peaks, and how often "
             "outbursts happen")
    outcome_note = ("The wait between outbursts needs two outbursts; an outburst is a spell "
                    "with more than 50 actives (Epstein 2002).")
    counts = {"quiet": "quiet", "active": "active", "jailed": "jailed", "cops": "cops",
              "blue": "blue_size", "green": "green_size"}
    compare_columns = (("active", "active citizens"), ("jailed", "jailed citizens"))

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.sections: tuple[str, ...] = ("grid", "epstein")
        cfg, grid = scenario.epstein, scenario.grid
        self.two_groups = cfg.version == "II"
        self.legend = EPSTEIN_II if self.two_groups else EPSTEIN_I
        widest = (min(grid.width, grid.height) - 1) // 2
        vision = min(20, widest)
        cop_label = "peacekeeper density" if self.two_groups else "cop density"
        levers = [
            Lever("legitimacy", "legitimacy L" + (" (blue)" if self.two_groups else ""),
                  0.0, 1.0, 0.01),
            Lever("cop_density", cop_label, 0.0, round(min(0.3, 1 - cfg.citizen_density), 3),
                  0.002, unit="per cell"),
            Lever("max_jail_term", "max jail term Jmax", 0, 200, 1, integer=True, unit="ticks"),
            Lever("citizen_vision", "citizen vision", 1, vision, 0.1, unit="cells"),
            Lever("cop_vision", "cop vision", 1, vision, 0.1, unit="cells"),
            Lever("threshold", "activation threshold T", 0.0, 0.5, 0.01),
        ]
        if self.two_groups:
            levers.insert(1, Lever("legitimacy_green", "legitimacy L (green)", 0.0, 1.0, 0.01))
            levers.append(Lever("clone_probability", "clone probability", 0.0, 0.2, 0.005,
                                unit="per tick"))
        self.levers = tuple(levers)
        outcomes = [
            Outcome("mean_active_share", "mean active share", 3),
            Outcome("mean_jailed_share", "mean jailed share", 3),
            Outcome("peak_active", "peak actives", 0),
            Outcome("outbursts", "outbursts (actives > 50)", 1),
            Outcome("mean_wait", "mean wait between outbursts (ticks)", 1),
        ]
        if self.two_groups:
            outcomes += [Outcome("eliminated", "share of runs with a group eliminated", 2),
                         Outcome("elimination_tick", "tick of elimination", 0),
                         Outcome("killed", "killed (inter-group)", 0)]
        self.outcomes = tuple(outcomes)

    def panels(self, runs: Sequence[pd.DataFrame], groups: str = "auto"
               ) -> tuple[list[pd.DataFrame], list[Panel]]:
        """Model I: citizens by state. Model II adds each group's size and actives: per colour
        (``groups="colour"``) or, since which colour wins is random, as the group larger /
        smaller at the end of each run (``"rank"``; ``"auto"``: rank for several seeds)."""
        if not self.two_groups:
            return list(runs), [_STATES]
        if groups not in ("auto", "colour", "rank"):
            raise ValueError(f"groups must be auto, colour or rank, not {groups!r}")
        by_rank = groups == "rank" or (groups == "auto" and len(runs) > 1)
        names = ("larger", "smaller") if by_rank else ("blue", "green")
        prepared = [_group_columns(df, by_rank) for df in runs]
        if by_rank:
            title = "groups, ranked by size at the end of each run"
            labels = {"larger": "larger group at end", "smaller": "smaller group at end"}
        else:
            title = "groups by colour"
            labels = {"blue": "blue group", "green": "green group"}
        series = []
        for name in names:
            series.append(Series(f"{name}_size", f"{labels[name]}: members", SERIES[name]))
            series.append(Series(f"{name}_active", f"{labels[name]}: active", SERIES[name],
                                 dashed=True))
        return prepared, [_STATES, Panel(title, "citizens (agents)", tuple(series))]

    def start(self, seed: int | None = None, live: bool = False) -> epstein.EpsteinRun:
        return epstein.EpsteinRun(self.scenario, seed, live=live)

    def lever_values(self, run: LiveRun) -> dict[str, float]:
        cfg = run.config  # type: ignore[attr-defined]
        values = {lever.name: getattr(cfg, lever.name) for lever in self.levers}
        if values.get("legitimacy_green", 0) is None:
            values["legitimacy_green"] = cfg.legitimacy
        return values

    def outcome_values(self, frame: pd.DataFrame) -> dict[str, float | None]:
        row = analysis.summarise(frame)
        out: dict[str, float | None] = {o.key: row.get(o.key) for o in self.outcomes}  # type: ignore[misc]
        if self.two_groups:
            out["eliminated"] = 0.0 if row.get("elimination_tick") is None else 1.0
        return out

    def caption(self, frame: pd.DataFrame) -> str:
        last = frame.iloc[-1]
        return f"tick {int(last['tick'])} · active {int(last['active'])}"


def _group_columns(df: pd.DataFrame, by_rank: bool) -> pd.DataFrame:
    out = df.copy()
    for g in ("blue", "green"):
        out[f"{g}_size"] = df[f"{g}_quiet"] + df[f"{g}_active"] + df[f"{g}_jailed"]
    if by_rank:
        blue_wins = out["blue_size"].iloc[-1] >= out["green_size"].iloc[-1]
        first, second = ("blue", "green") if blue_wins else ("green", "blue")
        for col in ("size", "active"):
            out[f"larger_{col}"] = out[f"{first}_{col}"]
            out[f"smaller_{col}"] = out[f"{second}_{col}"]
    return out


register_view("epstein", EpsteinView)
