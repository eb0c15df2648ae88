"""A policy timeline: scenario parameters that change at given ticks, as steps or linear ramps.

A timeline entry ``{tick = 100, legitimacy = 0.6}`` sets the value from tick 100 on; an entry
with ``until = 200`` ramps linearly from the value in force at tick 100 to 0.6 at tick 200
(Epstein 2002 contrasts exactly these two: a sudden versus a gradual loss of legitimacy).

A scenario with a ``start`` date may key entries by ``date`` instead (``{date = 2007-02-15,
ground_forces = 0.8}``, ``until`` then a date too); :func:`resolve_dates` turns them into ticks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import ConfigDict, Field, model_validator

from resurgence.errors import MISSING, keyed_error
from resurgence.scenario.params import Params


class TimelineEntry(Params):
    """Parameter values that take effect at ``tick`` (a step) or reach it by ``until`` (a ramp)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    tick: int | None = Field(default=None, ge=0, description="tick at which the change starts")
    date: dt.date | None = Field(default=None, description="date at which the change starts "
                                 "(scenarios with a `start` date)")
    until: int | dt.date | None = Field(
        default=None, description="if given, ramp linearly from `tick` (`date`) to reach the "
        "value here"
    )

    @model_validator(mode="after")
    def _until_after_tick(self) -> TimelineEntry:
        if self.tick is None and self.date is None:
            raise keyed_error("tick", MISSING, "every timeline entry needs a `tick` (or a "
                              "`date`, in a scenario with a `start` date)")
        if self.tick is not None and self.date is not None:
            raise keyed_error("date", self.date, f"give a tick or a date, not both (tick = "
                              f"{self.tick})")
        begin = self.tick if self.tick is not None else self.date
        if self.until is not None:
            if isinstance(self.until, dt.date) != isinstance(begin, dt.date):
                kind = "a date" if isinstance(begin, dt.date) else "a tick"
                raise keyed_error("until", self.until, f"must be {kind}, like the start of the "
                                  "entry")
            if self.until <= begin:  # type: ignore[operator]
                what = "tick" if self.tick is not None else "date"
                raise keyed_error("until", self.until, f"must be greater than {what} ({begin})")
        return self

    @property
    def values(self) -> dict[str, object]:
        return dict(self.model_extra or {})


def resolve_dates(entries: Sequence[TimelineEntry], start: dt.date,
                  tick_days: int) -> list[TimelineEntry]:
    """Entries with their dates turned into ticks (tick 0 = ``start``; rounded to the nearest
    tick). O(entries)."""
    def to_tick(day: dt.date) -> int:
        return max(0, round((day - start).days / tick_days))

    out = []
    for e in entries:
        if e.date is None:
            out.append(e)
            continue
        tick = to_tick(e.date)
        until = to_tick(e.until) if isinstance(e.until, dt.date) else e.until
        if until is not None and until <= tick:
            until = None
        out.append(e.model_copy(update={"tick": tick, "date": None, "until": until}))
    return out


def schedule(
    base: Mapping[str, float], entries: Sequence[TimelineEntry], ticks: int
) -> dict[str, np.ndarray]:
    """Value of every parameter the timeline touches, for ticks ``0 .. ticks`` (inclusive).

    Entries apply in order of ``tick``; a ramp starts from the value in force when it starts.
    Cost O(entries x ticks).
    """
    out: dict[str, np.ndarray] = {}
    for entry in sorted(entries, key=lambda e: e.tick or 0):
        assert entry.tick is not None, "resolve dates first (resolve_dates)"
        for key, value in entry.values.items():
            series = out.setdefault(key, np.full(ticks + 1, float(base[key])))
            start = min(entry.tick, ticks + 1)
            until = entry.until
            if until is None:
                series[start:] = float(value)  # type: ignore[arg-type]
                continue
            assert isinstance(until, int)
            origin = series[start - 1] if start > 0 else series[0]
            span = until - entry.tick
            steps = np.arange(start, min(until, ticks) + 1)
            series[steps] = origin + (float(value) - origin) * (steps - entry.tick) / span  # type: ignore[arg-type]
            series[min(until, ticks + 1) :] = float(value)  # type: ignore[arg-type]
    return out
