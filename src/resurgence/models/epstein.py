"""Epstein's civil violence model (Model I and II) as a composition of engine steps.

Read beside Epstein (2002): :mod:`resurgence.models.epstein_rules` holds the agent rules (A, C,
M and Model II's kill, clone and age), each a numba function over agent columns; this module
sets the world up, applies the scenario's timeline before each tick, runs the tick and records
the observables.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from resurgence.engine.kernels import (
    marked_layer,
    prng_state,
    spans,
    torus_table,
    window_counts,
)
from resurgence.engine.neighbourhood import offsets
from resurgence.models import epstein_rules as rules
from resurgence.scenario import EpsteinConfig, Scenario

#: the vision shape and whether it includes the own cell, per variant
SHAPES = {"netlogo": ("disc", True), "mesa": ("von_neumann", False), "paper": ("disc", False)}


def vision_offsets(cfg: EpsteinConfig) -> tuple[np.ndarray, np.ndarray]:
    """(citizen, cop) window offsets for the configured variant and vision radii."""
    shape, centre = SHAPES[cfg.variant]
    if cfg.neighbourhood != "variant":
        shape = cfg.neighbourhood
    citizen_radius = cfg.cop_vision if cfg.variant == "mesa" else cfg.citizen_vision
    return (offsets(shape, citizen_radius, centre), offsets(shape, cfg.cop_vision, centre))


@dataclass
class World:
    """Everything that changes during a run."""

    agents: rules.Agents
    space: rules.Space
    order: np.ndarray  # int32: activation order, reshuffled each tick
    free_rows: np.ndarray  # int32: stack of unused agent rows
    n_free: np.ndarray  # int64[1]: rows on that stack
    rng: np.random.Generator  # the run's generator: placement, attributes, timeline changes
    prng: np.ndarray  # uint64[4]: xoshiro256** state the ticks draw from, seeded from rng


def build(scenario: Scenario, rng: np.random.Generator, spare_cops: bool = False,
          layered: bool | None = None) -> World:
    """Place citizens and cops on the torus and build the count fields. O(cells).

    Rows are reserved for the most cops the timeline asks for (``spare_cops``: for a cop on
    every cell the citizens leave free) and, in Model II, for newborns. The window counts are
    layered in worlds of more than ``rules.LAYERED_CELLS`` cells, else direct (``layered``
    forces one way: the same counts, so the same run bit for bit)."""
    cfg, grid = scenario.epstein, scenario.grid
    cells = grid.cells
    # the placement's temporaries (8 B per cell) are freed before the world is allocated
    if cfg.variant == "mesa":  # Mesa: every cell independently citizen / cop / empty
        u = rng.random(cells)
        citizen_cells = np.flatnonzero(u < cfg.citizen_density).astype(np.int32)
        cop_cells = np.flatnonzero(
            (u >= cfg.citizen_density) & (u < cfg.citizen_density + cfg.cop_density)
        ).astype(np.int32)
        del u
    else:  # NetLogo: round(density x cells) of each, on distinct random cells
        n_cit = round(cfg.citizen_density * cells)
        n_cop = round(cfg.cop_density * cells)
        chosen = rng.permutation(cells)[: n_cit + n_cop]
        cop_cells = chosen[:n_cop].astype(np.int32)
        citizen_cells = chosen[n_cop:].astype(np.int32)
        del chosen
    n_cit, n_cop = len(citizen_cells), len(cop_cells)
    peak_cops = max([n_cop] + [round(d * cells) for d in _series(scenario, "cop_density")])
    if spare_cops:
        peak_cops = max(peak_cops, cells - n_cit)
    capacity = n_cit + peak_cops + (cells if cfg.version == "II" else 0)

    agents = rules.agents(capacity)
    agents.kind[:] = rules.CITIZEN
    agents.kind[n_cit : n_cit + peak_cops] = rules.COP
    agents.state[:] = rules.GONE
    agents.state[: n_cit + n_cop] = rules.QUIET
    agents.nxt[:] = -1
    if cfg.version == "II":
        agents.group[:n_cit] = np.where(rng.random(n_cit) < cfg.blue_share, rules.BLUE,
                                        rules.GREEN)
        agents.age[:n_cit] = rng.integers(0, cfg.max_age + 1, n_cit)  # Ascape: U(0, deathAge)
    agents.cell[:n_cit] = citizen_cells
    agents.cell[n_cit : n_cit + n_cop] = cop_cells
    _fill_uniform(agents.hardship[:n_cit], rng)
    _fill_uniform(agents.risk[:n_cit], rng)
    cell = agents.cell

    citizen_offs, cop_offs = vision_offsets(cfg)
    space = rules.space(grid.width, grid.height, citizen_offs, cop_offs, spans(citizen_offs),
                        rules.window_dtype(capacity),
                        cells > rules.LAYERED_CELLS if layered is None else layered)
    on_grid = n_cit + n_cop  # rows 0..on_grid-1, one per cell at start
    space.head[cell[:on_grid]] = np.arange(on_grid, dtype=np.int32)
    space.occupied[cell[:on_grid]] = 1
    space.blocked[:] = np.packbits(space.occupied > 0, bitorder="little")
    rebuild_windows(agents, space)
    free_rows = np.zeros(capacity, np.int32)  # a stack; Model II pushes the dead, pops newborns
    spare = np.arange(n_cit + peak_cops, capacity, dtype=np.int32)
    free_rows[: len(spare)] = spare
    return World(
        agents=agents,
        space=space,
        order=np.arange(capacity, dtype=np.int32),
        free_rows=free_rows,
        n_free=np.array([len(spare)], np.int64),
        rng=rng,
        prng=prng_state(rng),
    )


def rebuild_windows(a: rules.Agents, s: rules.Space) -> None:
    """Recompute the counts of cops and actives from scratch (start, or a vision change)."""
    for kind, on in ((rules.COP_WINDOW, (a.kind == rules.COP) & (a.state != rules.GONE)),
                     (rules.ACTIVE_WINDOW, a.state == rules.ACTIVE)):
        counts = s.marks[kind]
        counts[:] = 0
        np.add.at(counts, a.cell[on], 1)
        if s.bits.shape[1] == 0:  # direct
            s.extra[kind] = window_counts(counts, s.citizen_offs, s.width, s.height)
        else:
            marked_layer(counts, s.citizen_offs, s.width, s.height, s.bits[kind],
                         s.bits[rules.FLAGS + kind], s.extra[kind])


def _fill_uniform(out: np.ndarray, rng: np.random.Generator, chunk: int = 1 << 16) -> None:
    """``out[:] = rng.random(len(out))``, drawn in chunks so that no full-length float64
    temporary exists (the values are the same: the generator draws one double at a time)."""
    for start in range(0, len(out), chunk):
        stop = min(start + chunk, len(out))
        out[start:stop] = rng.random(stop - start)


def params(cfg: EpsteinConfig, citizen_offs: np.ndarray, cop_offs: np.ndarray,
           width: int) -> rules.Params:
    """The numba-side parameters for the configuration in force on a torus ``width`` wide."""
    magic, shift = rules.width_divisor(width)
    same = citizen_offs.shape == cop_offs.shape and bool(np.all(citizen_offs == cop_offs))
    return rules.Params(
        variant=rules.VARIANTS[cfg.variant],
        two_groups=cfg.version == "II",
        legitimacy_blue=cfg.legitimacy,
        legitimacy_green=cfg.legitimacy if cfg.legitimacy_green is None else cfg.legitimacy_green,
        threshold=cfg.threshold,
        k=cfg.k,
        max_jail_term=cfg.max_jail_term,
        movement=cfg.movement,
        same_vision=same,
        clone_probability=cfg.clone_probability,
        max_age=cfg.max_age,
        own_cell=int(bool(np.any((citizen_offs[:, 0] == 0) & (citizen_offs[:, 1] == 0)))),
        # a rounded C / A is at most the cops in a window, with one cop per cell
        risk_table=rules.risk_table(cfg.k, len(citizen_offs) + 2),
        # and C / A, rounded, for the counts a window usually holds (uint8: at most 256)
        ratio_table=rules.ratio_table(rules.VARIANTS[cfg.variant],
                                      min(len(citizen_offs) + 2, 256)),
        width_magic=magic,
        width_shift=shift,
        citizens_first=cfg.activation == "citizens_first",
    )


def set_cop_count(world: World, target: int) -> None:
    """Remove random cops, or deploy reserve cops on random unoccupied cells, to reach
    ``target`` (a cop density change on the timeline: Epstein's cop reduction, Model II's
    peacekeepers)."""
    a, s, rng = world.agents, world.space, world.rng
    cops = np.flatnonzero(a.kind == rules.COP)
    on_duty = cops[a.state[cops] != rules.GONE]
    if target < len(on_duty):
        for i in rng.choice(on_duty, len(on_duty) - target, replace=False):
            rules.lift(a, s, i)
            a.state[i] = rules.GONE
    elif target > len(on_duty):
        reserve = cops[a.state[cops] == rules.GONE][: target - len(on_duty)]
        free = np.flatnonzero(s.occupied == 0)
        for i, c in zip(reserve, rng.choice(free, min(len(reserve), len(free)), replace=False),
                        strict=False):
            a.state[i] = rules.QUIET
            rules.place(a, s, i, int(c))


OBSERVABLES_I = ("quiet", "active", "jailed")

#: :meth:`EpsteinRun.advance` runs at most this many agent-steps (and at least one tick) per
#: kernel call: about 0.1 s, so that ``on_tick`` progress stays live and a record block small
CHUNK_AGENT_STEPS = 1 << 20

#: codes of :meth:`EpsteinRun.cell_states` (what a map shows in a cell)
EMPTY, QUIET_CELL, ACTIVE_CELL, JAILED_CELL, COP_CELL, QUIET_GREEN, ACTIVE_GREEN = range(7)


class EpsteinRun:
    """One run that can be stepped, inspected and steered (``simulate`` runs it to the end).

    ``live=True`` keeps a reserve of cops large enough for any cop density set with
    :meth:`set_levers` (the dashboard's sliders); otherwise the reserve covers the timeline.
    """

    def __init__(self, scenario: Scenario, seed: int | None = None, live: bool = False):
        self.seed = scenario.seed if seed is None else seed
        self.changes = scenario.schedule()
        start = {k: v[0] for k, v in self.changes.items()}  # a tick-0 entry sets the start
        if start:
            scenario = scenario.model_copy(update={"epstein": _updated(scenario.epstein, start)})
        self.scenario = scenario
        self.rng = np.random.default_rng(self.seed)
        self.world = build(scenario, self.rng, spare_cops=live)
        self.config = scenario.epstein
        self.params = params(self.config, self.world.space.citizen_offs,
                             self.world.space.cop_offs, self.world.space.width)
        self.tick = 0
        #: ticks at which the timeline changes a parameter (tick 0 is the start, above)
        self._change_ticks = [t for t in range(1, len(next(iter(self.changes.values()), [])))
                              if any(v[t] != v[t - 1] for v in self.changes.values())]
        self._counts = np.zeros((3, 3), np.int64)
        self._tally = rules.Tally(*(np.zeros(2, np.int64) for _ in range(4)))
        self._args = self._tick_args()
        rules.census(self.world.agents.rows, self._counts)
        first = np.zeros((1, rules.RECORD), np.int64)
        rules.record(self._counts, *self._tally, first, 0)
        self._rows: list[np.ndarray] = [first]  # blocks of ticks' records (rules.record)

    def _tick_args(self) -> tuple:
        w = self.world
        return rules.tick_args(w.agents, w.space, self.params, self._tally, w.order, w.free_rows,
                               w.n_free, w.prng, self._counts)

    def step(self) -> None:
        """Advance one tick: apply the timeline's changes for it, run it, record it."""
        self.advance(1)

    def advance(self, ticks: int, on_tick: Callable[[int], None] | None = None) -> None:
        """Advance ``ticks`` ticks, bit for bit as that many :meth:`step` calls, in fewer
        kernel calls: the ticks up to the next timeline change run in one call of
        :func:`~resurgence.models.epstein_rules.turns` (in chunks of at most
        ``CHUNK_AGENT_STEPS`` agent-steps), which writes each tick's record. ``on_tick(t)`` is
        called for every tick ``t``, after the chunk that holds it."""
        end = self.tick + ticks
        chunk = max(1, CHUNK_AGENT_STEPS // max(1, len(self.world.order)))
        while self.tick < end:
            t = self.tick + 1
            changes = self.changes
            if t < len(next(iter(changes.values()), [])):
                updates = {k: v[t] for k, v in changes.items() if v[t] != v[t - 1]}
                if updates:
                    self._apply(updates)
            following = bisect_right(self._change_ticks, t)  # the next change after tick t
            stop = end if following == len(self._change_ticks) else min(
                end, self._change_ticks[following] - 1)
            stop = min(stop, self.tick + chunk)
            out = np.empty((stop - self.tick, rules.RECORD), np.int64)
            rules.turns(*self._args, out)  # the ticks, their census and events, in one call
            self._rows.append(out)
            self.tick = stop
            if on_tick is not None:
                for u in range(t, stop + 1):
                    on_tick(u)

    def set_levers(self, **values: float) -> None:
        """Change parameters now (validated like a scenario file; raises ScenarioError)."""
        data = {**self.config.model_dump(), **values}
        checked = Scenario.from_dict({**self.scenario.model_dump(), "epstein": data},
                                     source="levers")
        self._apply({k: getattr(checked.epstein, k) for k in values})

    def _apply(self, updates: dict[str, float]) -> None:
        self.params, self.config = _apply(self.world, self.config, updates)
        self._args = self._tick_args()

    def frame(self) -> pd.DataFrame:
        """Observables so far, one row per tick (see :func:`simulate`)."""
        return _frame(np.concatenate(self._rows), self.config.version, self.seed)

    def cell_states(self) -> np.ndarray:
        """(height, width) int8 map of what each cell shows: cop over active over quiet over
        jailed; Model II shows green citizens with their own codes. O(agents)."""
        a, s = self.world.agents, self.world.space
        out = np.zeros(s.width * s.height, np.int8)
        green = a.group == rules.GREEN
        citizen = a.kind == rules.CITIZEN
        layers = [
            (citizen & (a.state == rules.JAILED), JAILED_CELL),
            (citizen & (a.state == rules.QUIET) & ~green, QUIET_CELL),
            (citizen & (a.state == rules.QUIET) & green, QUIET_GREEN),
            (citizen & (a.state == rules.ACTIVE) & ~green, ACTIVE_CELL),
            (citizen & (a.state == rules.ACTIVE) & green, ACTIVE_GREEN),
            ((a.kind == rules.COP) & (a.state != rules.GONE), COP_CELL),
        ]
        for mask, code in layers:
            out[a.cell[mask]] = code
        return out.reshape(s.height, s.width)


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    ticks: int | None = None,
    on_tick: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Run the scenario once; one row per tick (0 = initial state) of counts per state.

    Model I columns: ``quiet, active, jailed, cops`` and the tick's ``arrests``; Model II adds
    per group ``blue_*``/``green_*`` counts and ``killed_blue``, ``killed_green``, ``born``,
    ``aged_out`` (events during the tick). ``seed`` defaults to the scenario's.
    """
    if ticks is not None:
        scenario = scenario.with_overrides(ticks=ticks)
    run = EpsteinRun(scenario, seed)
    run.advance(scenario.ticks, on_tick)
    return run.frame()


def _apply(world: World, cfg: EpsteinConfig, updates: dict[str, float]) -> tuple[rules.Params,
                                                                                  EpsteinConfig]:
    """Apply timeline changes; returns the new parameters and configuration."""
    cfg = _updated(cfg, updates)
    s = world.space
    if "citizen_vision" in updates or "cop_vision" in updates:
        citizen_offs, cop_offs = vision_offsets(cfg)
        world.space = s = s._replace(
            citizen_offs=citizen_offs, cop_offs=cop_offs, citizen_spans=spans(citizen_offs),
            torus=torus_table(s.width, s.height, rules.reach(citizen_offs, cop_offs)))
        rebuild_windows(world.agents, s)
    if "cop_density" in updates:
        set_cop_count(world, round(cfg.cop_density * s.width * s.height))
    return params(cfg, s.citizen_offs, s.cop_offs, s.width), cfg


def _updated(cfg: EpsteinConfig, values: dict[str, float]) -> EpsteinConfig:
    """``cfg`` with timeline values in force (integers rounded)."""
    ints = {"max_jail_term"}
    return cfg.model_copy(update={k: round(v) if k in ints else v for k, v in values.items()})


def _series(scenario: Scenario, key: str) -> list[float]:
    return list(scenario.schedule().get(key, []))


def _frame(rows: np.ndarray, version: str, seed: int) -> pd.DataFrame:
    names = ["quiet", "active", "jailed", "cops", "arrests"]
    data = rows[:, [0, 1, 2, 3, 14]]
    if version == "II":
        names += [f"{g}_{st}" for g in ("blue", "green") for st in OBSERVABLES_I]
        names += ["killed_blue", "killed_green", "born", "aged_out"]
        data = np.concatenate([data, rows[:, 4:14]], axis=1)
    df = pd.DataFrame(data, columns=names)
    df.insert(0, "tick", np.arange(len(df)))
    df.insert(0, "seed", seed)
    return df
