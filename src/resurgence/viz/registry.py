"""Which view shows which model: model name -> a factory of its :class:`~resurgence.viz.views.View`.

A view module registers its model's view on import (:func:`register_view`); the package
:mod:`resurgence.viz` imports the views of the bundled models (``epstein``, ``insurgency``), so
``view_for`` knows them whatever viz module was imported first. The registry itself imports no
view, so no view module and the modules that draw with views import each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from resurgence.errors import Problem, ScenarioError
from resurgence.scenario import Scenario

if TYPE_CHECKING:
    from resurgence.viz.views import View

_VIEWS: dict[str, Callable[[Scenario], View]] = {}


def register_view(model: str, factory: Callable[[Scenario], View]) -> None:
    """Make ``model``'s scenarios showable (``factory(scenario)`` returns its view)."""
    _VIEWS[model] = factory


def has_view(scenario: Scenario) -> bool:
    """True if the scenario's model can be shown (plots, maps, report, dashboard)."""
    return scenario.model in _VIEWS


def view_for(scenario: Scenario) -> View:
    """The view of the scenario's model; a :class:`ScenarioError` if it has none yet."""
    if scenario.model not in _VIEWS:
        allowed = "has no view yet (plots, maps, report, dashboard show: " + ", ".join(
            sorted(_VIEWS)) + ")"
        raise ScenarioError(scenario.source, [Problem("model", scenario.model, allowed)])
    return _VIEWS[scenario.model](scenario)
