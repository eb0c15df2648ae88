"""How a model is shown: the seam between a model and the plots, the report and the dashboard.

A model plugs in by providing a :class:`View`: its observables as panels of series (read from
the tidy per-tick frame), its categorical map with a :class:`Legend`, the levers a user may move
during a run, and the headline outcomes of one run. Plots, maps, the animation, the report and
the dashboard use only this protocol, so the insurgency model (a theatre map with control,
fighters and legitimacy layers) brings its own view and nothing else changes. A model's view
lives in its own module (:mod:`~resurgence.viz.epstein_view`,
:mod:`~resurgence.viz.insurgency_view`), which registers it with
:func:`resurgence.viz.registry.register_view`; :func:`resurgence.viz.registry.view_for` finds
it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from resurgence.scenario import Scenario
from resurgence.viz.palette import LIGHT, hex_to_rgb


@dataclass(frozen=True)
class Category:
    """One value of a categorical map: its code, what it means, its colour."""

    code: int
    label: str
    colour: str


@dataclass(frozen=True)
class Legend:
    """The categories of a map, in legend order."""

    title: str
    categories: tuple[Category, ...]

    def lut(self) -> np.ndarray:
        """(256, 3) uint8 lookup table code -> RGB; codes not in the legend are light grey."""
        table = np.tile(np.array(hex_to_rgb(LIGHT), np.uint8), (256, 1))
        for cat in self.categories:
            table[cat.code % 256] = hex_to_rgb(cat.colour)
        return table


@dataclass(frozen=True)
class Series:
    """One line of a panel: a column of the (prepared) frame."""

    column: str
    label: str
    colour: str
    dashed: bool = False


@dataclass(frozen=True)
class Panel:
    """One axes of a time-series figure."""

    title: str
    ylabel: str
    series: tuple[Series, ...]


@dataclass(frozen=True)
class Lever:
    """A parameter the user may change during a run (the dashboard's sliders)."""

    name: str
    label: str
    low: float
    high: float
    step: float
    integer: bool = False
    unit: str = ""


@dataclass(frozen=True)
class Outcome:
    """A headline number of one run, for outcome tables (mean and interval over seeds)."""

    key: str
    label: str
    digits: int = 1


class LiveRun(Protocol):
    """A run that can be stepped and looked at (``EpsteinRun`` is one)."""

    tick: int

    def step(self) -> None: ...

    def frame(self) -> pd.DataFrame: ...

    def cell_states(self) -> np.ndarray: ...

    def set_levers(self, **values: float) -> None: ...


class View(Protocol):
    """What a model offers to be seen (see the module docstring)."""

    scenario: Scenario
    legend: Legend
    levers: tuple[Lever, ...]
    outcomes: tuple[Outcome, ...]
    #: the scenario's sections that configure this model (shown in reports' settings)
    sections: tuple[str, ...]
    #: what the report's question asks about (e.g. "rebellion: ...")
    topic: str
    #: a note under the report's outcome table (definitions)
    outcome_note: str
    #: the live status line: label -> column of the (prepared) frame
    counts: dict[str, str]
    #: (column, caption) of the charts comparing scenarios side by side
    compare_columns: tuple[tuple[str, str], ...]

    def panels(self, runs: Sequence[pd.DataFrame], groups: str = "auto"
               ) -> tuple[list[pd.DataFrame], list[Panel]]:
        """The runs with any derived columns added, and the panels that plot them."""
        ...

    def start(self, seed: int | None = None, live: bool = False) -> LiveRun:
        """A new run of the scenario, at tick 0."""
        ...

    def lever_values(self, run: LiveRun) -> dict[str, float]:
        """The levers' values in force in ``run``."""
        ...

    def outcome_values(self, frame: pd.DataFrame) -> dict[str, float | None]:
        """The outcomes of one run (one seed)."""
        ...

    def caption(self, frame: pd.DataFrame) -> str:
        """One line on the run so far (its last row): animation titles, status lines."""
        ...
