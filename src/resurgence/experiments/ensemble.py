"""An ensemble: one scenario over several seeds (DESIGN §4), the unit behind ``resurgence run``.

:class:`Ensemble` runs each seed of a scenario, in this process or in a pool of worker
processes, and returns each member's tidy per-tick frame (as :func:`resurgence.simulate` gives
it, bit for bit) with what its *observers* kept. An observer watches one run: made from the run
after its setup (``make(run)``), it is told after the setup and after every tick
(``observe()``) and gives what it kept at the end (``result()``). The viz layer's map recorder
(:func:`resurgence.viz.snapshots.map_recorder`) is one; :class:`GovernorateSeries` is another.

    from resurgence import Scenario
    from resurgence.experiments import Ensemble

    ens = Ensemble(Scenario.load("scenarios/epstein-run-2.toml"), seeds=range(1, 11))
    df = ens.run().frame()        # one row per seed and tick

Observers that cross into worker processes must pickle: a class, or a
:func:`functools.partial` of one, defined at module level.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from resurgence.scenario import Scenario


class Observer(Protocol):
    """Watches one run (see the module docstring)."""

    def observe(self) -> None:
        """Look at the run: after its setup and after every tick."""
        ...

    def result(self) -> Any:
        """What was kept, once the run has ended."""
        ...


#: makes an observer for a run (given the run after its setup)
ObserverFactory = Callable[[Any], Observer]


class GovernorateSeries:
    """An insurgency run's series per governorate (tidy, one row per tick and governorate;
    :meth:`~resurgence.models.insurgency.InsurgencyRun.governorate_frame`)."""

    def __init__(self, run: Any):
        self.run = run

    def observe(self) -> None:
        """Nothing to do per tick: the run keeps the series."""

    def result(self) -> pd.DataFrame:
        return self.run.governorate_frame()


@dataclass
class Member:
    """One seed of an ensemble: its per-tick frame and its observers' results by name."""

    seed: int
    frame: pd.DataFrame
    observed: dict[str, Any] = field(default_factory=dict)


@dataclass
class EnsembleResult:
    """The members of a finished ensemble, in the order of their seeds."""

    scenario: Scenario
    members: list[Member]

    def frame(self) -> pd.DataFrame:
        """All members' frames, one below the other (each row has its ``seed``)."""
        return pd.concat([m.frame for m in self.members], ignore_index=True)

    def frames(self) -> list[pd.DataFrame]:
        """Each member's frame, in seed order."""
        return [m.frame for m in self.members]


def run_member(scenario: Scenario, seed: int,
               observers: Mapping[str, ObserverFactory] | None = None,
               on_tick: Callable[[int], None] | None = None) -> Member:
    """Run one seed of ``scenario`` with the given observers (the same run, bit for bit, as
    :func:`resurgence.simulate`)."""
    from resurgence.models import epstein, insurgency

    made: dict[str, Observer] = {}

    def observe(run: Any) -> None:
        if not made and observers:
            made.update({name: make(run) for name, make in observers.items()})
        for watcher in made.values():
            watcher.observe()

    if scenario.model == "insurgency":
        run = insurgency.run_once(scenario, seed, on_tick=on_tick,
                                  on_step=observe if observers else None)
    else:
        run = epstein.EpsteinRun(scenario, seed)
        if not observers:  # whole chunks of ticks per kernel call
            run.advance(scenario.ticks, on_tick)
        else:
            observe(run)
            for t in range(1, scenario.ticks + 1):
                run.step()
                observe(run)
                if on_tick is not None:
                    on_tick(t)
    return Member(int(run.seed), run.frame(), {k: w.result() for k, w in made.items()})


def _run_task(scenario: dict[str, Any], seed: int,
              observers: Mapping[str, ObserverFactory] | None) -> Member:
    from resurgence.experiments.worker import prepare_worker

    prepare_worker()
    return run_member(Scenario.from_dict(scenario), seed, observers)


class Ensemble:
    """One scenario, several seeds (see the module docstring)."""

    def __init__(self, scenario: Scenario, seeds: Iterable[int] | int | None = None,
                 ticks: int | None = None,
                 variants: Mapping[int, Mapping[str, float]] | None = None):
        """``seeds``: the seeds, or how many from the scenario's seed on (default: the
        scenario's seed alone); ``ticks`` overrides the scenario's; ``variants``: numeric
        scenario keys to set for a seed (seed -> {key: value}), such as a parameter set drawn
        from a posterior (an integer key takes the nearest whole number)."""
        if ticks is not None:
            scenario = scenario.with_overrides(ticks=ticks)
        self.scenario = scenario
        if seeds is None:
            seeds = 1
        self.seeds = (list(range(scenario.seed, scenario.seed + seeds)) if isinstance(seeds, int)
                      else [int(s) for s in seeds])
        self.variants = dict(variants or {})

    def scenario_for(self, seed: int) -> Scenario:
        """The scenario seed ``seed`` runs: the ensemble's, with the seed's variant if any."""
        values = self.variants.get(seed)
        if not values:
            return self.scenario
        from resurgence.experiments.spec import set_numbers

        return Scenario.from_dict(set_numbers(self.scenario.model_dump(mode="json"),
                                              dict(values)), source=self.scenario.source)

    def members(self, observers: Mapping[str, ObserverFactory] | None = None,
                on_tick: Callable[[int], None] | None = None, workers: int | None = None
                ) -> Iterator[Member]:
        """Run the seeds, yielding each member as it ends, in seed order.

        ``on_tick(t)`` is called after every tick of every member run in this process;
        ``workers`` > 1 runs the members in that many local worker processes (then
        ``on_tick`` is called for all the ticks of a member when it ends)."""
        if workers is None or workers <= 1:
            for seed in self.seeds:
                yield run_member(self.scenario_for(seed), seed, observers, on_tick)
            return
        from resurgence.experiments.executors import Pool

        with Pool(workers=workers) as pool:
            futures = [pool.executor.submit(_run_task,
                                            self.scenario_for(s).model_dump(mode="json"), s,
                                            observers) for s in self.seeds]
            for future in futures:
                member = future.result()
                if on_tick is not None:
                    for t in range(1, self.scenario.ticks + 1):
                        on_tick(t)
                yield member

    def run(self, observers: Mapping[str, ObserverFactory] | None = None,
            on_tick: Callable[[int], None] | None = None,
            workers: int | None = None) -> EnsembleResult:
        """Run every seed (see :meth:`members`) and return them all."""
        return EnsembleResult(self.scenario, list(self.members(observers, on_tick, workers)))
