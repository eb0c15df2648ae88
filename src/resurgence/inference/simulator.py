"""What pyabc calls a model, a summary statistic and a distance, for a model and pattern set.

- *Summary statistics*: a simulation's frame reduced by each pattern (``Pattern.value``), one
  number per pattern.
- *Distance*: each pattern's distance to its observed range (``Pattern.distance_of``: 0
  inside, else to the nearer end, in log10 units or the value's own), combined as the root of
  the sum of squares, :func:`distance`. A tolerance ``epsilon`` accepts a simulation whose
  misses, taken together, are at most ``epsilon``; ``epsilon = 0`` accepts only simulations
  in which every pattern holds within its stated range. A value that cannot be measured (NaN)
  is infinitely far.

:class:`PatternModel` runs one simulation for pyabc: the parameters and the slot's model seed
(:mod:`resurgence.inference.seeds`) go to a ``simulate(params, seed) -> frame`` function, such
as :class:`ScenarioRuns`, and what it gives is recorded (``records``: see
:class:`resurgence.store.simulations.SimulationRecords`); a simulation already recorded with
the same parameters and seed is not run again, so an inference resumed after a kill repeats
none.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from resurgence.inference import seeds
from resurgence.patterns import Pattern

#: the key of the combined distance among a record's outcomes
DISTANCE = "distance"


def distance(patterns: Sequence[Pattern], values: Mapping[str, float]) -> float:
    """sqrt(sum over patterns of distance_of(value)**2): 0 iff every pattern holds."""
    total = 0.0
    for p in patterns:
        v = float(values[p.name])
        d = p.distance_of(v) if math.isfinite(v) else math.inf
        total += d * d
    return math.sqrt(total)


class Records(Protocol):
    """Where simulations are kept (:class:`resurgence.store.simulations.SimulationRecords`)."""

    def get(self, s: seeds.Slot, params: dict[str, float]) -> dict[str, float] | None: ...

    def put(self, s: seeds.Slot, params: dict[str, float], outcomes: dict[str, float],
            seconds: float) -> None: ...


@dataclass(frozen=True)
class PatternModel:
    """pyabc's model: parameters -> each pattern's value in one simulation (module doc)."""

    simulate: Callable[[dict[str, float], int], pd.DataFrame]
    patterns: tuple[Pattern, ...]
    keys: tuple[str, ...]
    records: Records | None = None

    def __call__(self, parameters: Mapping[str, Any]) -> dict[str, float]:
        s = seeds.current()
        if s is None:
            raise RuntimeError("PatternModel runs inside a slot of SeededSampler")
        params = {k: float(parameters[k]) for k in self.keys}
        if self.records is not None:
            kept = self.records.get(s, params)
            if kept is not None:
                return {p.name: kept[p.name] for p in self.patterns}
        with seeds.released():
            clock = time.perf_counter()
            frame = self.simulate(params, s.model_seed)
            values = {p.name: p.value(frame) for p in self.patterns}
            if self.records is not None:
                self.records.put(s, params, {**values, DISTANCE: distance(self.patterns,
                                                                          values)},
                                 time.perf_counter() - clock)
        return values


def pattern_distance(patterns: tuple[Pattern, ...]) -> Any:
    """The pyabc distance of :func:`distance` (the observed data, ``x_0``, are the ranges the
    patterns carry)."""
    import pyabc

    return pyabc.distance.FunctionDistance(_Distance(patterns))


@dataclass(frozen=True)
class _Distance:
    patterns: tuple[Pattern, ...]

    def __call__(self, x: Mapping[str, float], x_0: Any) -> float:
        return distance(self.patterns, x)


@dataclass(frozen=True)
class ScenarioRuns:
    """``simulate`` for a scenario: its keys set to the parameters (an integer key rounded to
    the nearest whole number), run with the seed."""

    scenario: dict[str, Any]

    def __call__(self, params: dict[str, float], seed: int) -> pd.DataFrame:
        from resurgence.api import simulate
        from resurgence.experiments.spec import set_numbers
        from resurgence.experiments.worker import prepare_worker
        from resurgence.scenario import Scenario

        prepare_worker()
        data = set_numbers(self.scenario, params)
        return simulate(Scenario.from_dict(data, source="inference"), seed=seed)
