"""A policy timeline: scenario parameters that change at given ticks, as steps or linear ramps.

A timeline entry ``{tick = 100, legitimacy = 0.6}`` sets the value from tick 100 on; an entry
with ``until = 200`` ramps linearly from the value in force at tick 100 to 0.6 at tick 200
(Epstein 2002 contrasts exactly these two: a sudden versus a gradual loss of legitimacy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from resurgence.errors import keyed_error


class TimelineEntry(BaseModel):
    """Parameter values that take effect at ``tick`` (a step) or reach it by ``until`` (a ramp)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    tick: int = Field(ge=0, description="tick at which the change starts")
    until: int | None = Field(
        default=None, description="if given, ramp linearly from `tick` to reach the value here"
    )

    @model_validator(mode="after")
    def _until_after_tick(self) -> TimelineEntry:
        if self.until is not None and self.until <= self.tick:
            raise keyed_error("until", self.until, f"must be greater than tick ({self.tick})")
        return self

    @property
    def values(self) -> dict[str, object]:
        return dict(self.model_extra or {})


def schedule(
    base: Mapping[str, float], entries: Sequence[TimelineEntry], ticks: int
) -> dict[str, np.ndarray]:
    """Value of every parameter the timeline touches, for ticks ``0 .. ticks`` (inclusive).

    Entries apply in order of ``tick``; a ramp starts from the value in force when it starts.
    Cost O(entries x ticks).
    """
    out: dict[str, np.ndarray] = {}
    for entry in sorted(entries, key=lambda e: e.tick):
        for key, value in entry.values.items():
            series = out.setdefault(key, np.full(ticks + 1, float(base[key])))
            start = min(entry.tick, ticks + 1)
            if entry.until is None:
                series[start:] = float(value)  # type: ignore[arg-type]
                continue
            origin = series[start - 1] if start > 0 else series[0]
            span = entry.until - entry.tick
            steps = np.arange(start, min(entry.until, ticks) + 1)
            series[steps] = origin + (float(value) - origin) * (steps - entry.tick) / span  # type: ignore[arg-type]
            series[min(entry.until, ticks + 1) :] = float(value)  # type: ignore[arg-type]
    return out
