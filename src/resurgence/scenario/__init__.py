"""Scenario files (TOML) -> validated configuration; the parameter timeline."""

from resurgence.scenario.epstein import EpsteinConfig
from resurgence.scenario.model import GridConfig, Scenario
from resurgence.scenario.timeline import TimelineEntry

__all__ = ["EpsteinConfig", "GridConfig", "Scenario", "TimelineEntry"]
