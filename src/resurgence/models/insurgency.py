"""The insurgency model (DESIGN §2.2-2.6): the article's system on a theatre raster.

Read beside ``docs/model.md`` Part II: :class:`InsurgencyRun` sets the world up from a
scenario and a theatre, and :meth:`InsurgencyRun.step` is one week, in the order of DESIGN
§2.4 — levers, legitimacy, citizens, organisation (posture, control, treasury), ground combat,
air strikes, sleeper attacks, detention, foreign inflow, deployment, record. The rules are the
numba kernels of :mod:`resurgence.models.insurgency_rules`. Nothing here knows a date: history
enters only through the levers of the scenario's timeline.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from resurgence.models import insurgency_rules as rules
from resurgence.scenario import Scenario
from resurgence.scenario.insurgency import GROUPS, InsurgencyConfig, Levers

#: codes of :meth:`InsurgencyRun.cell_states` (what a map shows in a cell)
OUTSIDE_CELL, GOVERNMENT_CELL, CONTESTED_CELL, HELD_CELL, DESERT_BASE_CELL, SLEEPER_CELL = range(6)

#: columns of :meth:`InsurgencyRun.governorate_frame` after its keys
GOV_COLUMNS = ("territory_km2", "fighters", "sleepers", "attacks", "casualties_civilian",
               "sympathisers", *(f"legitimacy_{g}" for g in GROUPS))

_STREAMS = {"citizens": 1, "posture": 2, "combat": 3, "air": 4, "attacks": 5, "foreign": 6,
            "desertion": 7, "collateral": 8, "absorb": 10, "rise": 11}


def neighbour_table(inside: np.ndarray) -> np.ndarray:
    """(cells, 8) int32: the inside Moore neighbours of every cell (-1: none). O(cells)."""
    h, w = inside.shape
    out = np.full((h * w, 8), -1, np.int32)
    idx = np.arange(h * w).reshape(h, w)
    k = 0
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dx == 0 and dy == 0:
                continue
            ys = slice(max(0, -dy), h - max(0, dy))
            xs = slice(max(0, -dx), w - max(0, dx))
            yt = slice(max(0, dy), h - max(0, -dy))
            xt = slice(max(0, dx), w - max(0, -dx))
            src = idx[ys, xs]
            tgt = np.where(inside[yt, xt], idx[yt, xt], -1)
            out[src.ravel(), k] = tgt.ravel()
            k += 1
    out[~inside.ravel()] = -1
    return out


def box_sum(field: np.ndarray, shape: tuple[int, int], radius: int) -> np.ndarray:
    """Sum of ``field`` over the (2r+1)^2 square around every cell (no wrap). O(cells)."""
    h, w = shape
    a = field.reshape(h, w).astype(np.float64)
    if radius <= 0:
        return a.ravel().copy()
    p = np.pad(a, radius)
    c = np.zeros((p.shape[0] + 1, p.shape[1] + 1))
    c[1:, 1:] = p.cumsum(0).cumsum(1)
    n = 2 * radius + 1
    s = c[n:, n:] - c[:-n, n:] - c[n:, :-n] + c[:-n, :-n]
    return s.ravel()


def desert_stay(spread_km2: float, steps: int, cell_km: float) -> float:
    """The chance a desert fighter stays put at each step of its walk inside the desert, so
    that the walk spreads ``spread_km2`` a week whatever the cell size: a walk of ``steps``
    steps of ``cell_km``, each taken w.p. ``p``, spreads as ``p * steps * cell_km**2`` (its
    mean squared displacement, up to the constant of the 8 neighbours' geometry). With ``p``
    fixed, a 5 km walk (8 steps of 5 km a week) spread half as far as a 10 km one (4 of 10 km),
    and the 5 km group's desert fighters stayed bunched (docs/calibration.md)."""
    return 1.0 - min(1.0, spread_km2 / (steps * cell_km**2))


class InsurgencyRun:
    """One run of the insurgency model that can be stepped, inspected and mapped.

    ``theatre`` defaults to ``load_theatre(cfg.theatre, cfg.cell_km)``; tests pass a small one.
    Citizens are columns (cell, group, hardship, risk, state, jail: 16 bytes an agent);
    insurgents are rows of a pre-allocated table (cell, role, origin, jail); security forces,
    militia, control and war damage are cell fields; legitimacy is a (group, governorate) table.
    """

    def __init__(self, scenario: Scenario, seed: int | None = None, theatre: Any = None):
        if scenario.model != "insurgency":
            raise ValueError(f"not an insurgency scenario: model = {scenario.model!r}")
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        cfg = self.cfg = scenario.insurgency
        if theatre is None:
            from resurgence.theatre import load_theatre

            theatre = load_theatre(cfg.theatre, cfg.cell_km)
        self.theatre = th = theatre
        self.changes = scenario.schedule()
        self.tick = 0
        rng = np.random.default_rng(self.seed)
        self._setup_space(th, cfg)
        self._setup_citizens(th, cfg, rng)
        self.levers = self._levers_at(0)
        self._setup_forces(cfg, rng)
        self._rows: list[dict[str, float]] = []
        self._gov_rows: list[np.ndarray] = []
        self._peak_km2 = 0.0
        self._refresh_fields()
        self._record({})

    # ------------------------------------------------------------------ setup
    def _setup_space(self, th: Any, cfg: InsurgencyConfig) -> None:
        self.shape = (int(th.inside.shape[0]), int(th.inside.shape[1]))
        self.inside = np.ascontiguousarray(th.inside.ravel(), dtype=np.bool_)
        cells = self.inside.size
        self.terrain = np.ascontiguousarray(th.terrain.ravel(), dtype=np.int8)
        gov = np.asarray(th.governorate).ravel().astype(np.int32)
        self.gov = np.where(gov < 0, 0, gov).astype(np.int32)
        self.gov_names = tuple(th.governorates)
        self.n_gov = len(self.gov_names)
        self.area = float(th.cell_km) ** 2
        # control blocks: squares of about control_km2 (one cell at 10 km, 2 x 2 at 5 km)
        side = max(1, round(np.sqrt(cfg.control_km2) / float(th.cell_km)))
        rows, cols = np.divmod(np.arange(cells), self.shape[1])
        per_row = -(-self.shape[1] // side)
        self.block = ((rows // side) * per_row + cols // side).astype(np.int32)
        self.n_blocks = int(self.block.max()) + 1
        self.unit = 1.0 / side**2  # least garrison of a cell: one fighter per block
        order = [list(th.groups).index(g) if g in th.groups else k for k, g in enumerate(GROUPS)]
        pop = np.asarray(th.population, dtype=np.float64)[order] * cfg.population_scale
        self.pop = pop.reshape(len(GROUPS), cells)  # people per group and cell
        self.pop[:, ~self.inside] = 0.0
        self.pop_cell = self.pop.sum(axis=0)
        self.pop_block = self._over_blocks(self.pop_cell)  # residents of each cell's block
        n_inside = np.maximum(np.bincount(self.block, weights=self.inside.astype(np.float64),
                                          minlength=self.n_blocks), 1.0)  # per block
        self.block_density = self.pop_block / (n_inside[self.block] * self.area)
        # urban ground multiplies a held block's defence by 1 + u (its urban share of cells)
        urban = np.bincount(self.block, weights=(self.terrain == rules.URBAN) & self.inside,
                            minlength=self.n_blocks)
        self.fort = 1.0 + cfg.urban_defence * urban / n_inside
        self.pop_gov = np.zeros((len(GROUPS), self.n_gov))
        for g in range(len(GROUPS)):
            self.pop_gov[g] = np.bincount(self.gov, weights=self.pop[g], minlength=self.n_gov)
        self.nbr = neighbour_table(np.asarray(th.inside, dtype=bool))
        self.oil = np.asarray(th.oil).ravel().astype(bool) & self.inside
        # a town: at least 5 residents per km2 (500 in a 10 km cell) and one agent's people
        self.populated = self.pop_cell >= max(cfg.people_per_agent, 5.0 * self.area)
        self.d_desert = rules.bfs(self.terrain == rules.DESERT_T, self.nbr)
        self.d_urban = rules.bfs(self.populated, self.nbr)
        self.steps = max(1, round(cfg.speed_km / th.cell_km))
        self.desert_stay = desert_stay(cfg.desert_spread_km2, self.steps, float(th.cell_km))
        self.radius = int(round(cfg.vision / th.cell_km))
        self.pterrain = np.zeros(6)
        self.pterrain[1:] = cfg.detection
        crossings = np.asarray(th.border_crossing).ravel().astype(bool) & self.inside
        regions = getattr(th, "regions", {})
        border = regions.get(f"border:{cfg.foreign_border}")
        if border is not None:
            near = box_sum(np.asarray(border.mask).ravel().astype(float), self.shape, 2) > 0
            if (crossings & near).any():
                crossings &= near
        self.entry = np.flatnonzero(crossings).astype(np.int32)

    def _setup_citizens(self, th: Any, cfg: InsurgencyConfig, rng: np.random.Generator) -> None:
        expected = self.pop / cfg.people_per_agent
        counts = np.floor(expected + rng.random(expected.shape)).astype(np.int64)
        cells = np.tile(np.arange(expected.shape[1]), (len(GROUPS), 1))
        groups = np.repeat(np.arange(len(GROUPS)), expected.shape[1]).reshape(cells.shape)
        order = np.argsort(cells.ravel(), kind="stable")  # sorted by cell: memory locality
        self.cell = np.repeat(cells.ravel()[order], counts.ravel()[order]).astype(np.int32)
        self.group = np.repeat(groups.ravel()[order], counts.ravel()[order]).astype(np.int8)
        n = self.cell.size
        self.hardship = rng.random(n, dtype=np.float32)
        self.risk = rng.random(n, dtype=np.float32)
        self.state = np.zeros(n, np.int8)
        self.jail = np.zeros(n, np.int16)
        self.recruits = np.zeros(n, np.int8)
        cells_n = self.inside.size
        self.present = np.zeros(cells_n, np.int32)
        self.sym = np.zeros(cells_n, np.int32)
        self.act = np.zeros(cells_n, np.int32)
        self.displaced = np.zeros(cells_n, np.int32)
        self.detained = np.zeros(cells_n, np.int32)
        self.gov_sym = np.zeros((len(GROUPS), self.n_gov), np.int64)
        self.gov_present = np.zeros((len(GROUPS), self.n_gov), np.int64)
        self.damage = np.zeros(cells_n)
        self.battle = np.zeros(cells_n)
        self.pool0 = cfg.recruitable * self.pop_cell
        self.pool = self.pool0.copy()

    def _setup_forces(self, cfg: InsurgencyConfig, rng: np.random.Generator) -> None:
        cells = self.inside.size
        cap = cfg.max_insurgents
        self.icell = np.zeros(cap, np.int32)
        self.role = np.zeros(cap, np.int8)
        self.origin = np.zeros(cap, np.int8)
        self.ijail = np.zeros(cap, np.int16)
        self.free_rows = np.arange(cap - 1, -1, -1, dtype=np.int32)
        self.n_free = np.array([cap], np.int64)
        sunni = self.pop[0] * self.populated
        if sunni.sum() > 0 and cfg.initial_fighters > 0:
            where = rng.choice(cells, size=cfg.initial_fighters, p=sunni / sunni.sum())
            rows = np.arange(cap - 1, cap - 1 - cfg.initial_fighters, -1)
            self.icell[rows] = where
            self.role[rows] = rules.SLEEPER
            self.n_free[0] -= cfg.initial_fighters
        self.legit = self._legitimacy_target(self.levers)[:, None] * np.ones((1, self.n_gov))
        self.security = self._garrison(self.levers)
        self.hunt = np.zeros(cells)  # the part of security sent after insurgents (units)
        self.militia = np.zeros(cells)
        self.held = np.zeros(cells, np.bool_)
        self.posture = np.full(cells, rules.HOLD, np.int8)
        self.terr = np.zeros(cells, np.int32)
        self.desert = np.zeros(cells, np.int32)
        self.sleeper = np.zeros(cells, np.int32)
        self.captive = np.zeros(cells, np.int32)
        self.treasury = cfg.initial_treasury
        self.propaganda = cfg.propaganda_base
        self.budget = 0.0
        self.threat = np.zeros(cells)
        self.attacks_cell = np.zeros(cells)
        self.casualties_cell = np.zeros(cells)
        self.killed_cell = np.zeros(cells)
        self.collateral_cell = np.zeros(cells)
        self.removed_terrain = np.zeros(6, np.int64)
        self.effort_terrain = np.zeros(6)
        self.engaged = np.zeros(cells)
        self._last_km2 = 0.0

    # ------------------------------------------------------------------ levers
    def _levers_at(self, t: int) -> Levers:
        i = min(t, self.scenario.ticks)
        return Levers.model_construct(**{k: float(v[i]) for k, v in self.changes.items()})

    def set_levers(self, **values: float) -> None:
        """Change levers now (validated like a scenario file; raises ScenarioError)."""
        data = {**self.levers.model_dump(), **values}
        checked = Scenario.from_dict({**self.scenario.model_dump(), "levers": data},
                                     source="levers")
        for k in values:
            self.changes[k][self.tick + 1:] = getattr(checked.levers, k)

    def branch(self, scenario: Scenario) -> InsurgencyRun:
        """A copy of this run, at this week, that goes on under ``scenario``'s levers.

        ``scenario`` must have the same mechanisms, start and week length (a post-Mosul branch
        of the history, say); its levers up to now are ignored. Random draws are keyed by
        (seed, week, stream), so every branch of one run meets the same luck: the branches
        differ by policy only (common random numbers)."""
        same = (scenario.model, scenario.insurgency, scenario.start, scenario.tick_days) == (
            self.scenario.model, self.cfg, self.scenario.start, self.scenario.tick_days)
        if not same or scenario.ticks < self.tick:
            raise ValueError("a branch needs the same mechanisms, start and week length, and "
                             "must not end before the current week")
        twin = copy.deepcopy(self, {id(self.theatre): self.theatre})  # theatre shared
        twin.scenario = scenario
        twin.changes = scenario.schedule()
        return twin

    def _legitimacy_target(self, lev: Levers) -> np.ndarray:
        """``L*[g] = l0 + l_inc inclusion[g] + l_srv services - l_occ foreign_troops``."""
        c = self.cfg
        inc = np.array(lev.inclusion())
        target = (c.legitimacy_base + c.legitimacy_inclusion * inc
                  + c.legitimacy_services * lev.services
                  - c.legitimacy_occupation * lev.foreign_troops)
        return np.clip(target, 0.0, 1.0)

    def _garrison(self, lev: Levers) -> np.ndarray:
        """Security units per cell with no threat known: by population. O(cells)."""
        units = lev.ground_forces * self.cfg.security_units + \
            lev.foreign_troops * self.cfg.foreign_units
        return units * self.pop_cell / max(self.pop_cell.sum(), 1.0)

    # ------------------------------------------------------------------ one tick
    def step(self) -> None:
        """One week, in the order of DESIGN §2.4."""
        self.tick += 1
        tally: dict[str, float] = {}
        lev = self._apply_levers()                 # 1. policy timeline
        self._legitimacy(lev)                      # 2. legitimacy field
        self._citizens(lev, tally)                 # 3. citizens decide; recruits join
        self._organisation(lev, tally)             # 4. posture, movement, control, treasury
        self._ground_combat(lev, tally)            # 5. attrition where forces meet
        self._air_strikes(lev, tally)              # 6. air strikes, collateral damage
        self._sleeper_attacks(lev, tally)          # 7. car bombs and hit-and-run
        self._detention(lev, tally)                # 8. terms served, releases
        self._foreign_inflow(lev, tally)           # 9. foreign fighters
        self._deploy(lev)                          # 10. forces move; war damage; displacement
        self._refresh_fields()
        self._record(tally)                        # 11. observables

    def _apply_levers(self) -> Levers:
        old, lev = self.levers, self._levers_at(self.tick)
        rise = lev.sectarian_shock - old.sectarian_shock
        if rise > 0:  # a sudden, one-off loss of the most excluded group's legitimacy
            g = int(np.argmin(lev.inclusion()))
            self.legit[g] = np.clip(self.legit[g] - self.cfg.shock_size * rise, 0.0, 1.0)
        self.levers = lev
        return lev

    def _legitimacy(self, lev: Levers) -> None:
        """``L += kappa (L* - L) - eta_a attack casualties - eta_d collateral`` (per 1,000
        people of the governorate), clipped to [0, 1]."""
        c = self.cfg
        per_k = np.maximum(self.pop_gov.sum(axis=0), 1.0) / 1000.0
        att = np.bincount(self.gov, weights=self.casualties_cell, minlength=self.n_gov) / per_k
        col = np.bincount(self.gov, weights=self.collateral_cell, minlength=self.n_gov) / per_k
        target = self._legitimacy_target(lev)[:, None]
        self.legit += c.legitimacy_relax * (target - self.legit)
        self.legit -= c.attack_erosion * att[None, :] + c.collateral_erosion * col[None, :]
        np.clip(self.legit, 0.0, 1.0, out=self.legit)

    def _refresh_fields(self) -> None:
        """Forces in vision, deterrence, local legitimacy and detection. O(cells)."""
        c = self.cfg
        rules.insurgent_counts(self.icell, self.role, self.inside.size, self.terr, self.desert,
                               self.sleeper, self.captive)
        self.power = self.security * c.unit_size + self.militia
        fighters = (self.terr + self.desert + self.sleeper).astype(np.float64)
        self.power_v = box_sum(self.power, self.shape, self.radius)
        self.fighters_v = box_sum(fighters, self.shape, self.radius)
        ratio = self.power_v / (c.deterrence_scale * (1.0 + self.fighters_v))
        self.deterrence = 1.0 - np.exp(-c.k * ratio)
        self.near = np.minimum(1.0, self.fighters_v / c.near_fighters)
        lg = self.legit[:, self.gov]  # (groups, cells)
        self.local_legit = (self.pop * lg).sum(axis=0) / np.maximum(self.pop_cell, 1.0)
        self.sym_share = self._block_share(self.sym, self.present)
        militia_share = self.militia / np.maximum(self.power, 1.0)
        pdet = self.pterrain[self.terrain] * (1.0 + c.tips * self.local_legit) \
            / (1.0 + c.cover * self.sym_share) * (1.0 + c.sahwa_intel * militia_share)
        self.pdet = np.clip(pdet, 0.0, 1.0)

    def _block_share(self, part: np.ndarray, whole: np.ndarray) -> np.ndarray:
        """``part / whole`` over each cell's control block, per cell (0 where the block has no
        ``whole``): the sympathiser share of the residents present. Over blocks, as control,
        so that it reads the same whatever the cell size: a 5 km cell holds a quarter of a
        10 km cell's agents, and the noise of a per-cell share passes through rules that are
        not linear in it (detection's ``1/(1 + nu s)``, the thresholds on it), which held the
        5 km group back (docs/calibration.md). At 10 km a block is one cell: the same values
        bit for bit. O(cells)."""
        part_b, whole_b = self._over_blocks(part), self._over_blocks(whole)
        return np.where(whole_b > 0, part_b / np.maximum(whole_b, 1.0), 0.0)

    def _over_blocks(self, x: np.ndarray) -> np.ndarray:
        """The sum of ``x`` over each cell's control block, per cell (float64; at 10 km,
        where a block is one cell, ``x`` itself). O(cells)."""
        return np.bincount(self.block, weights=x, minlength=self.n_blocks)[self.block]

    def _citizens(self, lev: Levers, tally: dict[str, float]) -> None:
        c = self.cfg
        term = lev.detention * c.max_internment_weeks  # an arrest: internment, not a sentence
        pay = c.volunteer_share + (1.0 - c.volunteer_share) * self.budget
        expect = c.recruit_rate / 100.0 * c.people_per_agent * self.propaganda * pay
        key = rules.stream_key(self.seed, self.tick, _STREAMS["citizens"])
        self.pool += c.pool_renewal * (self.pool0 - self.pool)
        avail = self.pool / np.maximum(self.pool0, 1e-9)
        # last week's civilian deaths (attacks, collateral) leave the residents present
        mortality = (self.casualties_cell + self.collateral_cell) / np.maximum(
            self.present * c.people_per_agent, 1.0)
        rules.citizens(self.cell, self.group, self.hardship, self.risk, self.state, self.jail,
                       self.recruits, self.gov, self.legit, np.asarray(c.affinity),
                       self.damage, self.deterrence, self.near, avail,
                       c.arrest_rate * self.deterrence,
                       self.battle, mortality, term, int(term), c.threshold_sympathy,
                       c.threshold_recruit, expect, c.displacement_rate, c.return_rate, key)
        asked = rules.census(self.cell, self.group, self.state, self.jail, self.recruits, self.gov,
                             len(GROUPS), self.n_gov, self.present, self.sym, self.act,
                             self.displaced, self.detained, self.gov_sym, self.gov_present)
        members = int(self.terr.sum() + self.desert.sum() + self.sleeper.sum())
        room = c.absorption * max(members, c.absorption_floor)
        accept = 1.0 if asked <= room else room / asked
        made = rules.spawn_recruits(self.cell, self.state, self.recruits, self.gov, self.terrain,
                                    self.posture, self.icell, self.role, self.origin, self.ijail,
                                    self.free_rows, self.n_free, accept,
                                    rules.stream_key(self.seed, self.tick, _STREAMS["absorb"]),
                                    self.pool)
        tally["recruits"] = made
        tally["recruits_asked"] = asked

    def _organisation(self, lev: Levers, tally: dict[str, float]) -> None:
        """Local posture, movement, control, treasury and propaganda."""
        c = self.cfg
        rules.insurgent_counts(self.icell, self.role, self.inside.size, self.terr, self.desert,
                               self.sleeper, self.captive)
        present_people = self.present * c.people_per_agent
        self.sym_share = self._block_share(self.sym, self.present)
        need = (c.garrison_km2 * self.area + c.garrison_people * present_people / 1000.0) \
            * (1.0 - c.sympathy_help * self.sym_share)
        self.need = np.maximum(need, self.unit)
        field = (self.terr + self.desert).astype(np.float64)
        reach = int(round(c.posture_km / self.theatre.cell_km))
        phi = c.fighter_strength * box_sum(field, self.shape, reach) / (
            box_sum(self.power, self.shape, reach) + 1.0)
        self.posture = np.where(phi >= c.hold_ratio, rules.EXPAND,
                                np.where(phi < c.withdraw_ratio, rules.WITHDRAW,
                                         rules.HOLD)).astype(np.int8)
        sunni_share = self.gov_sym[0] / np.maximum(self.gov_present[0], 1)
        return_ok = (sunni_share >= c.return_sympathy) & (self.budget >= c.return_budget)
        score = (0.05 + self.sym_share) / (1.0 + self.power / 1000.0)
        score = np.where(self.inside, score, -1.0)
        targets = self.held | (self.populated & (self.sym_share >= c.return_sympathy))
        d_target = rules.bfs(targets, self.nbr)
        # forces hold ground as firmly as the people they defend back the government
        defence = self.power * (c.morale_floor + (1.0 - c.morale_floor) * self.local_legit)
        keep = np.maximum(self.need, defence / c.fighter_strength)  # a held cell's garrison
        key = rules.stream_key(self.seed, self.tick, _STREAMS["posture"])
        rules.posture_and_move(self.icell, self.role, self.gov, self.terrain, self.posture,
                               self.populated, self.d_desert, self.d_urban, d_target, self.held,
                               keep, self.terr, score, self.nbr, self.steps,
                               c.sleeper_share, c.posture_speed, return_ok, self.desert_stay,
                               key)
        rules.insurgent_counts(self.icell, self.role, self.inside.size, self.terr, self.desert,
                               self.sleeper, self.captive)
        if c.uprising > 0:
            per_cell = (self.terr + self.desert + self.sleeper).astype(np.float64)
            key = rules.stream_key(self.seed, self.tick, _STREAMS["rise"])
            tally["risen"] = rules.uprising(self.icell, self.role, self.terr, self.sleeper,
                                            per_cell, self.need, defence, c.fighter_strength,
                                            self.inside, self.block, self.n_blocks, self.held,
                                            c.assault_ratio, self.fort, self.gov, return_ok,
                                            c.uprising, key)
        rules.control(self.terr, self.need, defence, c.fighter_strength, self.inside,
                      self.block, self.n_blocks, self.held, c.assault_ratio, self.fort)
        # treasury: taxes, oil, extortion, minus upkeep (attacks are paid in step 7)
        members = int(self.terr.sum() + self.desert.sum() + self.sleeper.sum())
        tax = c.tax_rate * float(present_people[self.held].sum())
        oil = c.oil_income * float((self.held & self.oil).sum())
        ext = c.extortion * float(self.sleeper[self.populated].sum())
        upkeep = c.upkeep * members
        self.treasury += tax + oil + ext - upkeep
        leave = c.turnover
        if self.treasury < 0.0:
            short = -self.treasury / max(upkeep, 1.0)
            self.treasury = 0.0
            leave += c.desertion * min(1.0, short)
        key = rules.stream_key(self.seed, self.tick, _STREAMS["desertion"])
        unpaid = rules.desertion(self.role, leave, key, self.free_rows, self.n_free)
        self.budget = min(1.0, self.treasury / (c.reserve_weeks * c.upkeep * (members + 1)))
        km2 = float(self.held.sum()) * self.area
        gain = max(0.0, km2 - self._last_km2) / c.propaganda_ref_km2 * 100.0
        self._last_km2 = km2
        target = c.propaganda_base + c.propaganda_territory * min(1.5, km2 / c.propaganda_ref_km2)
        target += c.propaganda_gain * gain
        self.propaganda += c.propaganda_relax * (target - self.propaganda)
        tally.update(income_tax=tax, income_oil=oil, income_extortion=ext, upkeep=upkeep,
                     deserted=unpaid)

    def _ground_combat(self, lev: Levers, tally: dict[str, float]) -> None:
        c = self.cfg
        self.killed_cell[:] = 0.0
        self.removed_terrain[:] = 0
        self.effort_terrain[:] = 0.0
        key = rules.stream_key(self.seed, self.tick, _STREAMS["combat"])
        term = lev.detention * c.max_detention_weeks
        cover = c.search_people * self.pop_cell / 1000.0 + c.search_km2 * self.area + 1.0
        # forces and fighters meet over the control block, as control is decided there: the
        # personnel of a block against the cover of its residents and ground, whatever the
        # cell size (per cell, fighters gathered in one 5 km cell met all the forces sent
        # after them on a quarter of the cover: docs/calibration.md)
        power, cover = self._over_blocks(self.power), self._over_blocks(cover)
        killed, captured, sec = rules.ground_combat(
            self.icell, self.role, self.ijail, power, self.hunt * c.unit_size, cover,
            self.pdet, c.attrition_insurgent,
            c.attrition_security, c.sleeper_exposure, c.capture_share, term, self.terrain,
            self.removed_terrain, self.effort_terrain, self.engaged, self.killed_cell, key,
            self.free_rows, self.n_free)
        tally.update(insurgents_killed=killed, insurgents_captured=captured,
                     casualties_security=sec)
        for name, code in (("urban", rules.URBAN), ("desert", rules.DESERT_T)):
            tally[f"effort_{name}"] = float(self.effort_terrain[code])
            tally[f"removed_{name}"] = float(self.removed_terrain[code])

    def _air_strikes(self, lev: Levers, tally: dict[str, float]) -> None:
        c = self.cfg
        self.collateral_cell[:] = 0.0
        detected = (self.terr + self.desert) * self.pdet
        total = detected.sum()
        killed = 0
        collateral = 0
        if lev.air_sorties > 0 and total > 0:
            sorties = lev.air_sorties * detected / total
            key = rules.stream_key(self.seed, self.tick, _STREAMS["air"])
            killed = rules.air_strikes(self.icell, self.role, sorties, self.pdet,
                                       self.terr.astype(np.float64),
                                       self.desert.astype(np.float64), c.air_kill, key,
                                       self.free_rows, self.n_free, self.killed_cell)
            # residents per km2 over the struck cell's control block: the density the
            # calibration (at 10 km, a block a cell) saw, whatever the cell size; per cell, the
            # Mosul operation's strikes on the fighters' 5 km cells in the city's core killed
            # about ten times as many as in the 10 km runs (docs/calibration.md)
            density = self.block_density
            lam = c.collateral * density / 1000.0 * (1.0 - lev.precision) * sorties
            ckey = rules.stream_key(self.seed, self.tick, _STREAMS["collateral"])
            for cell in np.flatnonzero(lam > 0):
                k = rules.poisson(float(lam[cell]), ckey, int(cell))
                self.collateral_cell[cell] = k
            collateral = int(self.collateral_cell.sum())
            self.pool += c.revenge * self.collateral_cell  # kin who seek revenge
        tally.update(air_killed=killed, casualties_collateral=collateral)

    def _sleeper_attacks(self, lev: Levers, tally: dict[str, float]) -> None:
        c = self.cfg
        self.attacks_cell[:] = 0.0
        self.casualties_cell[:] = 0.0
        # the personnel of the control block, as in ground combat: per cell, a 5 km cell held
        # a quarter of a 10 km cell's, and its attacks were stopped less (docs/calibration.md)
        prevent = 1.0 - np.exp(-(c.prevent_legitimacy * self.local_legit * self.pdet
                                 + c.prevent_security * self._over_blocks(self.power) / 1000.0))
        affordable = 1.0 if c.attack_cost <= 0 else min(1.0, max(self.budget, 0.2))
        key = rules.stream_key(self.seed, self.tick, _STREAMS["attacks"])
        term = lev.detention * c.max_detention_weeks
        attacks, stopped, dead = rules.sleeper_attacks(
            self.icell, self.role, self.ijail, self.populated,
            c.attack_probability * affordable, prevent, c.attack_casualties, c.capture_share,
            term, self.attacks_cell, self.casualties_cell, key, self.free_rows, self.n_free)
        self.treasury = max(0.0, self.treasury - c.attack_cost * attacks)
        tally.update(attacks=attacks, attacks_prevented=stopped, casualties_attacks=dead)

    def _detention(self, lev: Levers, tally: dict[str, float]) -> None:
        cap = int(lev.detention * self.cfg.max_detention_weeks)
        tally["released"] = rules.captives(self.icell, self.role, self.ijail, cap)

    def _foreign_inflow(self, lev: Levers, tally: dict[str, float]) -> None:
        c = self.cfg
        cells = self.entry
        open_ = cells[self.held[cells] | (self.power[cells] < c.open_crossing)]
        share = len(open_) / max(len(cells), 1)
        lam = c.foreign_base * self.propaganda * (1.0 - lev.border_control) * share
        key = rules.stream_key(self.seed, self.tick, _STREAMS["foreign"])
        n = rules.poisson(lam, key, 0)
        made = rules.arrivals(n, open_.astype(np.int32), self.icell, self.role, self.origin,
                              self.ijail, rules.stream_key(self.seed, self.tick, 9), self.free_rows,
                              self.n_free)
        tally["foreign_inflow"] = made

    def _deploy(self, lev: Levers) -> None:
        """Security forces relax toward a target: garrisons by population (on ground the
        government holds) plus a share sent after detected insurgents and held ground; Sahwa
        militia where tribes are engaged and Sunni legitimacy passes a threshold; war damage and
        battle intensity. O(cells)."""
        c = self.cfg
        rules.insurgent_counts(self.icell, self.role, self.inside.size, self.terr, self.desert,
                               self.sleeper, self.captive)
        units = lev.ground_forces * c.security_units + lev.foreign_troops * c.foreign_units
        threat = (self.terr + self.desert) * self.pdet + self.held * self.need \
            + self.attacks_cell * 5.0
        ruled = np.where(self.held, 0.0, self.pop_cell)  # no garrison on the group's ground
        garrison = ruled / max(ruled.sum(), 1.0)
        total = threat.sum()
        hunt = units * c.threat_weight * threat / total if total > 0 else 0.0  # sent after them
        kept = 1 - c.threat_weight if total > 0 else 1.0  # garrisons by population
        target = units * garrison * kept + hunt
        self.security += c.mobility * (target - self.security)
        self.hunt += c.mobility * (hunt - self.hunt)
        sunni_ok = self.legit[0, self.gov] >= c.sahwa_threshold
        quiet_sunni = self.pop[0] * (1.0 - self.sym_share)
        militia_target = lev.tribal_engagement * c.sahwa_rate * quiet_sunni * sunni_ok
        self.militia += c.mobility * (militia_target - self.militia)
        # battle deaths and war damage per 1,000 residents of the control block: per cell, the
        # deaths of a fight in one 5 km cell fell on a quarter of the residents a 10 km cell
        # has, and displaced and impoverished them four times as hard (docs/calibration.md)
        per_k = np.maximum(self.pop_block, 1.0) / 1000.0
        fights = self._over_blocks(self.killed_cell + self.collateral_cell)
        deaths = fights + self._over_blocks(self.casualties_cell)
        self.battle = np.where(self.inside, fights / per_k, 0.0)
        self.damage += c.war_damage * deaths / per_k
        self.damage *= 1.0 - c.damage_decay * lev.services
        np.clip(self.damage, 0.0, 1.0, out=self.damage)

    # ------------------------------------------------------------------ observe
    def _record(self, tally: dict[str, float]) -> None:
        c = self.cfg
        ppa = c.people_per_agent
        km2 = float(self.held.sum()) * self.area
        self._peak_km2 = max(self._peak_km2, km2)
        terr, desert, sleeper = int(self.terr.sum()), int(self.desert.sum()), \
            int(self.sleeper.sum())
        legit = (self.pop_gov * self.legit).sum(axis=1) / np.maximum(self.pop_gov.sum(axis=1), 1)
        row: dict[str, float] = {
            "territory_km2": km2,
            "territory_pct_peak": 100.0 * km2 / self._peak_km2 if self._peak_km2 > 0 else 0.0,
            "held_people": float(self.present[self.held].sum() * ppa),
            "fighters_territorial": terr, "fighters_desert": desert, "sleepers": sleeper,
            "members": terr + desert + sleeper, "captives": int(self.captive.sum()),
            "desert_share": desert / (terr + desert) if terr + desert > 0 else float("nan"),
            "foreign_members": int(((self.origin == rules.FOREIGN)
                                    & (self.role >= rules.TERRITORIAL)
                                    & (self.role <= rules.SLEEPER)).sum()),
            "sympathisers": float(self.sym.sum() * ppa),
            "active_supporters": float(self.act.sum() * ppa),
            "displaced": float(self.displaced.sum() * ppa),
            "detained": float(self.detained.sum() * c.arrest_people),
            "treasury": self.treasury, "propaganda": self.propaganda,
            "security_personnel": float(self.security.sum() * c.unit_size),
            "militia": float(self.militia.sum()),
        }
        for k, g in enumerate(GROUPS):
            row[f"legitimacy_{g}"] = float(legit[k])
        for name in ("recruits", "recruits_asked", "foreign_inflow", "attacks", "attacks_prevented",
                     "casualties_attacks", "casualties_collateral", "casualties_security",
                     "insurgents_killed", "insurgents_captured", "air_killed", "released",
                     "deserted", "income_tax", "income_oil", "income_extortion", "upkeep",
                     "effort_urban", "removed_urban", "effort_desert", "removed_desert", "risen"):
            row[name] = float(tally.get(name, 0.0))
        row["casualties_civilian"] = row["casualties_attacks"] + row["casualties_collateral"]
        row["casualties_insurgent"] = row["insurgents_killed"] + row["air_killed"]
        row["income"] = row["income_tax"] + row["income_oil"] + row["income_extortion"]
        for k, v in self.levers.model_dump().items():
            row[f"lever_{k}"] = v
        self._rows.append(row)
        per_cell = (self.held * self.area, self.terr + self.desert, self.sleeper,
                    self.attacks_cell, self.casualties_cell + self.collateral_cell,
                    self.sym * ppa)
        gov = np.empty((self.n_gov, len(GOV_COLUMNS)))
        for k, x in enumerate(per_cell):
            gov[:, k] = np.bincount(self.gov, weights=x.astype(np.float64), minlength=self.n_gov)
        gov[:, len(per_cell):] = self.legit.T
        self._gov_rows.append(gov)

    def frame(self) -> pd.DataFrame:
        """Observables so far, one row per tick (tick 0: the initial state), with ``date``."""
        df = pd.DataFrame(self._rows)
        df.insert(0, "tick", np.arange(len(df)))
        if self.scenario.start is not None:
            df.insert(1, "date", pd.to_datetime(self.scenario.date_of(df["tick"].to_numpy())))
        df.insert(0, "seed", self.seed)
        return df

    def governorate_frame(self) -> pd.DataFrame:
        """Per tick and governorate (tidy, long: ``seed``, ``tick``, ``date``, ``governorate``):
        ``territory_km2`` held, ``fighters`` (territorial + desert), ``sleepers``, ``attacks``
        and ``casualties_civilian`` (of the week), ``sympathisers`` (people), and the
        legitimacy of the government to each group there (``legitimacy_<group>``). Summed
        over governorates, the first six are the national series of :meth:`frame` (cells
        outside every governorate count in the first)."""
        data = np.stack(self._gov_rows)  # (ticks, gov, columns)
        t, g, n = data.shape
        df = pd.DataFrame(data.reshape(t * g, n), columns=list(GOV_COLUMNS))
        df.insert(0, "governorate", np.tile(np.array(self.gov_names, dtype=object), t))
        ticks = np.repeat(np.arange(t), g)
        df.insert(0, "tick", ticks)
        if self.scenario.start is not None:
            df.insert(1, "date", pd.to_datetime(self.scenario.date_of(ticks)))
        df.insert(0, "seed", self.seed)
        return df

    def cell_states(self) -> np.ndarray:
        """(height, width) int8 map: outside, government, contested (fighters and forces),
        held by the group, desert base, sleeper cells. O(cells)."""
        out = np.where(self.inside, GOVERNMENT_CELL, OUTSIDE_CELL).astype(np.int8)
        out[(self.sleeper > 0) & self.inside] = SLEEPER_CELL
        out[(self.desert > 0) & self.inside] = DESERT_BASE_CELL
        out[(self.terr > 0) & ~self.held] = CONTESTED_CELL
        out[self.held] = HELD_CELL
        return out.reshape(self.shape)

    def maps(self) -> dict[str, np.ndarray]:
        """(height, width) float fields for viewers: legitimacy (local), sympathiser share,
        security personnel, fighters, war damage."""
        h, w = self.shape
        return {
            "legitimacy": self.local_legit.reshape(h, w),
            "sympathy": self.sym_share.reshape(h, w),
            "security": self.power.reshape(h, w),
            "fighters": (self.terr + self.desert + self.sleeper).reshape(h, w).astype(float),
            "damage": self.damage.reshape(h, w),
        }


def run_once(
    scenario: Scenario,
    seed: int | None = None,
    ticks: int | None = None,
    on_tick: Callable[[int], None] | None = None,
    theatre: Any = None,
    on_step: Callable[[InsurgencyRun], None] | None = None,
) -> InsurgencyRun:
    """Run the scenario once and return the finished run: its national series
    (:meth:`InsurgencyRun.frame`) and its series per governorate
    (:meth:`InsurgencyRun.governorate_frame`) come from the same weeks. ``on_step`` sees the
    run after its setup and after every week; ``on_tick`` gets the week's number."""
    if ticks is not None:
        scenario = scenario.with_overrides(ticks=ticks)
    run = InsurgencyRun(scenario, seed, theatre=theatre)
    if on_step is not None:
        on_step(run)
    for t in range(1, scenario.ticks + 1):
        run.step()
        if on_step is not None:
            on_step(run)
        if on_tick is not None:
            on_tick(t)
    return run


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    ticks: int | None = None,
    on_tick: Callable[[int], None] | None = None,
    theatre: Any = None,
) -> pd.DataFrame:
    """Run the scenario once; one row per week (tick 0 = the start) of the observables of
    DESIGN §2.6 (see :meth:`InsurgencyRun.frame`)."""
    return run_once(scenario, seed, ticks, on_tick, theatre).frame()
