"""The state of the insurgency model (DESIGN §2.3) as named records, and how a run sets them up.

One record per kind of actor or field; each field is documented once here with its unit and
where it comes from. Agents are columns of arrays, not objects:

- :class:`Geography`: the theatre as the model sees it (fixed for a run);
- :class:`Citizens`: one row per citizen agent; :class:`Census`: their counts per cell;
- :class:`Insurgents`: one row per member (a pre-allocated table with a stack of free rows);
  :class:`RoleCounts`: members per cell and role;
- :class:`Forces`: government forces, tribal militia and sectarian militia per cell;
- :class:`Fields`: legitimacy and the cell fields the rules read and write week to week;
- :class:`Organisation`: the group's treasury, propaganda and budget;
- :class:`World`: all of them, what each step of the week takes.

The records that numba kernels take (:class:`Citizens`, :class:`Census`, :class:`Insurgents`,
:class:`RoleCounts`) are NamedTuples of arrays, changed in place; the others are dataclasses,
read and written on the Python side. The kernels are sequential: a week's work is small next to
the cost of starting threads, and an inference runs one single-threaded history per core
(``benchmarks/history_speed.py``). (Numba 0.68 also loses the writes of a ``parallel=True``
kernel to the arrays of a NamedTuple argument.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from resurgence.engine.grid import box_sum, distance_field, neighbour_table
from resurgence.errors import Problem, ScenarioError
from resurgence.models import insurgency_rules as rules
from resurgence.scenario.insurgency import GROUPS, InsurgencyConfig


@dataclass(frozen=True, eq=False)
class Geography:
    """The theatre raster as the model sees it; cells are flat row-major indices."""

    shape: tuple[int, int]     # (height, width) of the raster, cells
    cell_km: float             # side of a cell, km (theatre at the scenario's cell_km)
    area: float                # km^2 of a cell (cell_km squared)
    inside: np.ndarray         # bool per cell: part of the theatre
    terrain: np.ndarray        # int8 per cell: rules.URBAN ... rules.MOUNTAIN (theatre file)
    gov: np.ndarray            # int32 per cell: governorate index (0 for cells outside all)
    gov_names: tuple[str, ...]  # governorate names, in index order (theatre file)
    block: np.ndarray          # int32 per cell: its control block, a square of about
    #                            control_km2 (one cell at 10 km, 2 x 2 at 5 km)
    n_blocks: int              # number of control blocks
    unit: float                # least garrison of a cell: one fighter per block, fighters
    pop: np.ndarray            # (groups, cells) people at the start: theatre population
    #                            (2018) x population_scale, groups in GROUPS order
    pop_cell: np.ndarray       # people per cell (pop summed over groups)
    pop_block: np.ndarray      # people of each cell's control block, per cell
    pop_gov: np.ndarray        # (groups, governorates) people
    block_density: np.ndarray  # people per km^2 of each cell's block (inside cells)
    fort: np.ndarray           # per block: 1 + urban_defence x its urban share of cells
    nbr: np.ndarray            # (cells, 8) int32 inside Moore neighbours, -1: none
    oil: np.ndarray            # bool per cell: oil field (theatre file)
    populated: np.ndarray      # bool per cell: a town, at least 5 people per km^2 and one
    #                            agent's people
    d_desert: np.ndarray       # int32 per cell: steps to the nearest desert cell
    d_urban: np.ndarray        # int32 per cell: steps to the nearest town
    entry: np.ndarray          # int32 cells where foreign fighters cross the border
    steps: int                 # cells a fighter moves a week: speed_km / cell_km
    desert_stay: float         # chance a desert fighter stays put at a step (desert_stay())
    radius: int                # vision in cells: vision / cell_km
    pterrain: np.ndarray       # (6,) detection probability by terrain code (config)
    base: int                  # index in GROUPS of the group the insurgency draws on
    militia: int               # index in GROUPS of the community of the sectarian militias
    near_entry: np.ndarray     # bool per cell: within haven_km of a crossing (desert
    #                            fighters there can withdraw into the haven)

    @property
    def n_gov(self) -> int:
        return len(self.gov_names)


class Citizens(NamedTuple):
    """Citizen agents (Epstein 2002 with local risk), one row each, sorted by cell at the
    start; one agent stands for ``people_per_agent`` people. 18 bytes an agent."""

    cell: np.ndarray      # int32: the cell it lives in (fixed)
    group: np.ndarray     # int8: identity group, index in GROUPS (theatre population)
    hardship: np.ndarray  # float32: H ~ U(0, 1) (Epstein 2002; exogenous)
    risk: np.ndarray      # float32: risk aversion R ~ U(0, 1) (Epstein 2002; exogenous)
    state: np.ndarray     # int8: rules.QUIET, SYMPATHISER, ACTIVE, DISPLACED or DEAD
    jail: np.ndarray      # int16: weeks its arrested members are still held (0: none)
    recruits: np.ndarray  # int16: recruits this active supporter offers this week (at most
    #                       rules.MAX_OFFER: a prior's extreme rate does not wrap around)


class Census(NamedTuple):
    """Counts of citizen agents, recounted each week after they decide (rules.census)."""

    present: np.ndarray      # int32 per cell: agents present (not displaced, not dead)
    sym: np.ndarray          # int32 per cell: sympathisers, active supporters included
    act: np.ndarray          # int32 per cell: active supporters
    displaced: np.ndarray    # int32 per cell: displaced agents
    detained: np.ndarray     # int32 per cell: agents whose members are held (jail > 0)
    gov_sym: np.ndarray      # int64 (groups, governorates): sympathisers
    gov_present: np.ndarray  # int64 (groups, governorates): agents present
    base_present: np.ndarray   # int32 per cell: agents of the base group present
    gov_displaced: np.ndarray  # int64 (groups, governorates): displaced agents


class Insurgents(NamedTuple):
    """The group's members, one row each in a table of ``max_insurgents`` rows; a row whose
    role is rules.FREE is unused and on the stack of free rows."""

    cell: np.ndarray       # int32: the cell it is in
    role: np.ndarray       # int8: rules.FREE, TERRITORIAL, DESERT, SLEEPER or CAPTIVE
    origin: np.ndarray     # int8: rules.LOCAL (a recruit) or rules.FOREIGN (inflow)
    jail: np.ndarray       # int16: weeks a captive is still held
    free_rows: np.ndarray  # int32: stack of free rows, its top at n_free[0] - 1
    n_free: np.ndarray     # int64 (1,): free rows on the stack
    span: np.ndarray       # int64 (2,): rows in use lie in [0, span[0]) or [span[1], rows)


class RoleCounts(NamedTuple):
    """Members per cell and role (int32), recounted from the rows (rules.insurgent_counts)."""

    terr: np.ndarray     # territorial fighters
    desert: np.ndarray   # desert fighters
    sleeper: np.ndarray  # sleepers
    captive: np.ndarray  # captives


@dataclass(eq=False)
class Forces:
    """Government forces, tribal militia and sectarian militia (DESIGN §2.3) per cell."""

    security: np.ndarray   # security units (unit_size personnel each), army, police, foreign
    hunt: np.ndarray       # the part of ``security`` sent after insurgents, units
    militia: np.ndarray    # Sahwa militia, people (raised from quiet base-group citizens)
    power: np.ndarray      # personnel against the group: security x unit_size + militia +
    #                        mobilised (set by the fields step)
    sectarian: np.ndarray  # sectarian militia of militia_group, people (raised by its fear
    #                        and by mobilisation)
    mobilised: np.ndarray  # of them, those who fight the group (militia_mobilisation), people


@dataclass(eq=False)
class Fields:
    """Legitimacy and the cell fields the rules read and write from week to week."""

    legit: np.ndarray            # (groups, governorates) legitimacy of the government, [0, 1]
    local_legit: np.ndarray      # per cell: legitimacy weighted by its residents' groups
    deterrence: np.ndarray       # per cell: P = 1 - exp(-k forces / (d (1 + fighters))) in
    #                              vision (Epstein's arrest probability)
    near: np.ndarray             # per cell: min(1, fighters in vision / near_fighters)
    sym_share: np.ndarray        # per cell: sympathisers / agents present over its block
    pdet: np.ndarray             # per cell: detection probability (Kress-Szechtman)
    need: np.ndarray             # per cell: fighters a cell's garrison needs
    posture: np.ndarray          # int8 per cell: rules.WITHDRAW, HOLD or EXPAND
    held: np.ndarray             # bool per cell: held by the group
    damage: np.ndarray           # per cell: war damage, hardship added, [0, 1]
    battle: np.ndarray           # per cell: battle deaths per 1,000 residents of its block
    pool0: np.ndarray            # per cell: people who can ever be recruited (recruitable)
    pool: np.ndarray             # per cell: of them, not yet recruited (renews slowly)
    attacks_cell: np.ndarray     # per cell: sleeper attacks this week
    casualties_cell: np.ndarray  # per cell: civilians killed by attacks this week
    killed_cell: np.ndarray      # per cell: insurgents and security killed this week
    collateral_cell: np.ndarray  # per cell: civilians killed by air strikes this week
    engaged: np.ndarray          # per cell: fighters exposed to ground combat this week
    fear: np.ndarray             # per governorate: fear of militia_group (attacks on it, shocks)
    executions_cell: np.ndarray  # per cell: civilians the group executed this week (control)
    reprisals_cell: np.ndarray   # per cell: civilians killed in reprisal on retaken ground
    battle_cell: np.ndarray      # per cell: civilians killed in this week's ground combat
    sectarian_cell: np.ndarray   # per cell: base-group civilians the militias killed this week


@dataclass(eq=False)
class Organisation:
    """The insurgent organisation's purse and voice (DESIGN §2.3)."""

    treasury: float    # USD
    propaganda: float  # pi, multiplies recruitment and foreign inflow
    budget: float      # treasury over reserve_weeks of upkeep, [0, 1]
    last_km2: float    # territory held last week, km^2 (gains raise propaganda)
    haven: int = 0     # members in a safe haven across foreign_border (off the map)


@dataclass(eq=False)
class World:
    """Everything a week of the model reads and writes."""

    geo: Geography
    people: Citizens
    census: Census
    insurgents: Insurgents
    counts: RoleCounts
    forces: Forces
    fields: Fields
    org: Organisation


def desert_stay(spread_km2: float, steps: int, cell_km: float) -> float:
    """The chance a desert fighter stays put at each step of its walk inside the desert, so
    that the walk spreads ``spread_km2`` a week whatever the cell size: a walk of ``steps``
    steps of ``cell_km``, each taken w.p. ``p``, spreads as ``p * steps * cell_km**2`` (its
    mean squared displacement, up to the constant of the 8 neighbours' geometry): with ``p``
    fixed, a walk of 5 km steps would spread half as far as one of 10 km steps."""
    return 1.0 - min(1.0, spread_km2 / (steps * cell_km**2))


def over_blocks(geo: Geography, x: np.ndarray) -> np.ndarray:
    """The sum of ``x`` over each cell's control block, per cell (float64; at 10 km, where a
    block is one cell, ``x`` itself). O(cells)."""
    if geo.n_blocks == geo.block.size:  # each cell its own block: the sums are x
        return x.astype(np.float64)
    return np.bincount(geo.block, weights=x, minlength=geo.n_blocks)[geo.block]


def block_share(geo: Geography, part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """``part / whole`` over each cell's control block, per cell (0 where the block has no
    ``whole``): the sympathiser share of the residents present. Over blocks, as control, so
    that it reads the same whatever the cell size: per cell, the noise of a share over a
    quarter of the agents would pass through rules not linear in it (detection's
    ``1/(1 + nu s)``, the thresholds on it). At 10 km a block is one cell. O(cells)."""
    part_b, whole_b = over_blocks(geo, part), over_blocks(geo, whole)
    return np.where(whole_b > 0, part_b / np.maximum(whole_b, 1.0), 0.0)


def theatre_groups(th: Any, cfg: InsurgencyConfig) -> list[int]:
    """The theatre's population row of each group of GROUPS; a theatre whose groups are not
    GROUPS (the levers and affinities are per group of GROUPS), or lack the scenario's
    ``base_group``, is a :class:`ScenarioError`."""
    have = [str(g) for g in th.groups]
    source = str(getattr(th, "source", None) or f"theatre {cfg.theatre!r}")
    if sorted(have) != sorted(GROUPS):
        raise ScenarioError(source, [Problem(
            "groups", have, f"the insurgency model's groups, {', '.join(GROUPS)} (in any order)")])
    return [have.index(g) for g in GROUPS]


def make_geography(th: Any, cfg: InsurgencyConfig) -> Geography:
    """The model's view of theatre ``th`` under ``cfg``. O(cells)."""
    shape = (int(th.inside.shape[0]), int(th.inside.shape[1]))
    inside = np.ascontiguousarray(th.inside.ravel(), dtype=np.bool_)
    cells = inside.size
    terrain = np.ascontiguousarray(th.terrain.ravel(), dtype=np.int8)
    gov = np.asarray(th.governorate).ravel().astype(np.int32)
    gov = np.where(gov < 0, 0, gov).astype(np.int32)
    gov_names = tuple(th.governorates)
    n_gov = len(gov_names)
    area = float(th.cell_km) ** 2
    side = max(1, round(np.sqrt(cfg.control_km2) / float(th.cell_km)))
    rows, cols = np.divmod(np.arange(cells), shape[1])
    per_row = -(-shape[1] // side)
    block = ((rows // side) * per_row + cols // side).astype(np.int32)
    n_blocks = int(block.max()) + 1
    order = theatre_groups(th, cfg)
    pop = np.asarray(th.population, dtype=np.float64)[order] * cfg.population_scale
    pop = pop.reshape(len(GROUPS), cells)
    pop[:, ~inside] = 0.0
    pop_cell = pop.sum(axis=0)
    pop_block = np.bincount(block, weights=pop_cell, minlength=n_blocks)[block]
    n_inside = np.maximum(np.bincount(block, weights=inside.astype(np.float64),
                                      minlength=n_blocks), 1.0)  # per block
    block_density = pop_block / (n_inside[block] * area)
    urban = np.bincount(block, weights=(terrain == rules.URBAN) & inside, minlength=n_blocks)
    pop_gov = np.zeros((len(GROUPS), n_gov))
    for g in range(len(GROUPS)):
        pop_gov[g] = np.bincount(gov, weights=pop[g], minlength=n_gov)
    nbr = neighbour_table(np.asarray(th.inside, dtype=bool))
    populated = pop_cell >= max(cfg.people_per_agent, 5.0 * area)
    steps = max(1, round(cfg.speed_km / th.cell_km))
    pterrain = np.zeros(6)
    pterrain[1:] = cfg.detection
    crossings = np.asarray(th.border_crossing).ravel().astype(bool) & inside
    border = getattr(th, "regions", {}).get(f"border:{cfg.foreign_border}")
    if border is not None:
        near = box_sum(np.asarray(border.mask).ravel().astype(float), shape, 2) > 0
        if (crossings & near).any():
            crossings &= near
    return Geography(
        shape=shape, cell_km=float(th.cell_km), area=area, inside=inside, terrain=terrain,
        gov=gov, gov_names=gov_names,
        block=block, n_blocks=n_blocks, unit=1.0 / side**2, pop=pop, pop_cell=pop_cell,
        pop_block=pop_block, pop_gov=pop_gov, block_density=block_density,
        fort=1.0 + cfg.urban_defence * urban / n_inside, nbr=nbr,
        oil=np.asarray(th.oil).ravel().astype(bool) & inside, populated=populated,
        d_desert=distance_field(terrain == rules.DESERT_T, nbr),
        d_urban=distance_field(populated, nbr), entry=np.flatnonzero(crossings).astype(np.int32),
        steps=steps, desert_stay=desert_stay(cfg.desert_spread_km2, steps, float(th.cell_km)),
        radius=int(round(cfg.vision / th.cell_km)), pterrain=pterrain,
        base=GROUPS.index(cfg.base_group), militia=GROUPS.index(cfg.militia_group),
        near_entry=_near(crossings, nbr, cfg.haven_km / float(th.cell_km)))


def _near(cells: np.ndarray, nbr: np.ndarray, steps: float) -> np.ndarray:
    """Cells within ``steps`` moves of one of ``cells`` (bool per cell). O(cells)."""
    if not cells.any():
        return np.zeros(cells.shape, np.bool_)
    return distance_field(cells, nbr) <= steps


def make_citizens(geo: Geography, cfg: InsurgencyConfig,
                  rng: np.random.Generator) -> tuple[Citizens, Census]:
    """Citizen agents for the theatre's people, by cell and group (a cell's expected agents
    randomly rounded), with ``H``, ``R`` ~ U(0, 1), all quiet; and their empty census."""
    expected = geo.pop / cfg.people_per_agent
    counts = np.floor(expected + rng.random(expected.shape)).astype(np.int64)
    cells = np.tile(np.arange(expected.shape[1]), (len(GROUPS), 1))
    groups = np.repeat(np.arange(len(GROUPS)), expected.shape[1]).reshape(cells.shape)
    order = np.argsort(cells.ravel(), kind="stable")  # sorted by cell: memory locality
    cell = np.repeat(cells.ravel()[order], counts.ravel()[order]).astype(np.int32)
    group = np.repeat(groups.ravel()[order], counts.ravel()[order]).astype(np.int8)
    n = cell.size
    hardship = rng.random(n, dtype=np.float32)
    risk = rng.random(n, dtype=np.float32)
    people = Citizens(cell, group, hardship, risk, np.zeros(n, np.int8), np.zeros(n, np.int16),
                      np.zeros(n, np.int16))
    c = geo.inside.size
    per_gov = (len(GROUPS), geo.n_gov)
    census = Census(*(np.zeros(c, np.int32) for _ in range(5)),
                    np.zeros(per_gov, np.int64), np.zeros(per_gov, np.int64),
                    np.zeros(c, np.int32), np.zeros(per_gov, np.int64))
    return people, census


def make_insurgents(geo: Geography, cfg: InsurgencyConfig,
                    rng: np.random.Generator) -> Insurgents:
    """The member table with ``initial_fighters`` sleepers in towns, placed by the base
    group's people, in the last rows; the other rows free, on the stack in the order they are
    taken: from the first row after as many rows as the initial members up, then the first
    rows (so the rows in use stay together at both ends of the table)."""
    cap = cfg.max_insurgents
    k = 0
    base = geo.pop[geo.base] * geo.populated
    if base.sum() > 0 and cfg.initial_fighters > 0:
        k = cfg.initial_fighters
    taken_first = np.concatenate((np.arange(k, cap - k), np.arange(min(k, cap - k))))
    stack = np.zeros(cap, np.int32)  # room for every row: its top at n_free - 1
    stack[:taken_first.size] = taken_first[::-1]
    ins = Insurgents(np.zeros(cap, np.int32), np.zeros(cap, np.int8), np.zeros(cap, np.int8),
                     np.zeros(cap, np.int16), stack, np.array([taken_first.size], np.int64),
                     np.array([0, cap], np.int64))
    if k:
        where = rng.choice(geo.inside.size, size=k, p=base / base.sum())
        rows = np.arange(cap - 1, cap - 1 - k, -1)
        ins.cell[rows] = where
        ins.role[rows] = rules.SLEEPER
    fit_span(ins)
    return ins


def fit_span(ins: Insurgents) -> None:
    """Set ``ins.span`` from the rows: around the longest run of FREE rows, so that the
    kernels' loops over the rows in use (``rules.live_row``) skip it. Needed after rows are
    edited other than through ``rules.new_row``. O(rows)."""
    cap = ins.role.size
    used = np.flatnonzero(ins.role != rules.FREE)
    edges = np.concatenate(([-1], used, [cap]))
    k = int(np.argmax(np.diff(edges)))
    ins.span[:] = (edges[k] + 1, edges[k + 1])


def make_fields(geo: Geography, cfg: InsurgencyConfig, legit: np.ndarray) -> Fields:
    """Week-0 fields: legitimacy ``legit`` (per group) in every governorate, no war, the
    recruitable pool full; the derived fields are set by the first fields step."""
    c = geo.inside.size
    pool0 = cfg.recruitable * geo.pop_cell
    return Fields(
        legit=legit[:, None] * np.ones((1, geo.n_gov)), local_legit=np.zeros(c),
        deterrence=np.zeros(c), near=np.zeros(c), sym_share=np.zeros(c), pdet=np.zeros(c),
        need=np.zeros(c), posture=np.full(c, rules.HOLD, np.int8),
        held=np.zeros(c, np.bool_), damage=np.zeros(c), battle=np.zeros(c), pool0=pool0,
        pool=pool0.copy(), attacks_cell=np.zeros(c), casualties_cell=np.zeros(c),
        killed_cell=np.zeros(c), collateral_cell=np.zeros(c), engaged=np.zeros(c),
        fear=np.zeros(geo.n_gov), executions_cell=np.zeros(c), reprisals_cell=np.zeros(c),
        battle_cell=np.zeros(c), sectarian_cell=np.zeros(c))


def role_counts(cells: int) -> RoleCounts:
    """Empty per-cell member counts."""
    return RoleCounts(*(np.zeros(cells, np.int32) for _ in range(4)))
