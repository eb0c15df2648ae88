"""The insurgency model (DESIGN §2.2-2.6): the article's system on a theatre raster.

Read beside ``docs/model.md`` Part II. The state is the named records of
:mod:`resurgence.models.insurgency_state`; :class:`InsurgencyRun` sets them up from a scenario
and a theatre, and :meth:`InsurgencyRun.step` is one week: one function per step of DESIGN
§2.4, in its order — :func:`policy`, :func:`legitimacy`, :func:`citizens`,
:func:`organisation`, :func:`control_violence`, :func:`ground_combat`, :func:`air_strikes`,
:func:`sleeper_attacks`, :func:`militias`, :func:`detention`, :func:`foreign_inflow`,
:func:`movement`, then the record. Each takes the
world, the mechanisms and the week's levers and random streams, and returns its tally. The
rules are the numba kernels of :mod:`resurgence.models.insurgency_rules`. Nothing here knows a
date: history enters only through the levers of the scenario's timeline.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from resurgence.engine.counter_rng import counter_poisson, counter_poisson_each, stream_key
from resurgence.engine.grid import box_sum, distance_field
from resurgence.models import insurgency_rules as rules
from resurgence.models.insurgency_state import (
    Forces,
    Organisation,
    World,
    block_share,
    fit_span,
    make_citizens,
    make_fields,
    make_geography,
    make_insurgents,
    over_blocks,
    role_counts,
)
from resurgence.scenario import Scenario
from resurgence.scenario.insurgency import GROUPS, InsurgencyConfig, Levers

#: codes of :meth:`InsurgencyRun.cell_states` (what a map shows in a cell)
OUTSIDE_CELL, GOVERNMENT_CELL, CONTESTED_CELL, HELD_CELL, DESERT_BASE_CELL, SLEEPER_CELL = range(6)

#: civilian deaths by perpetrator, ``casualties_<name>`` in the frames: the group's attacks
#: and executions, sectarian militias' killings, ground combat, reprisals, air strikes
PERPETRATORS = ("attacks", "executions", "sectarian", "battle", "reprisals", "collateral")

#: columns of :meth:`InsurgencyRun.governorate_frame` after its keys
GOV_COLUMNS = ("territory_km2", "fighters", "sleepers", "attacks", "casualties_civilian",
               "sympathisers", *(f"legitimacy_{g}" for g in GROUPS), *(
                   f"casualties_{k}" for k in PERPETRATORS), "militia_sectarian",
               *(f"displaced_{g}" for g in GROUPS))

#: the random streams of a week, by name (part of a seed's meaning: never renumber)
STREAMS = {"citizens": 1, "posture": 2, "combat": 3, "air": 4, "attacks": 5, "foreign": 6,
           "desertion": 7, "collateral": 8, "arrivals": 9, "absorb": 10, "rise": 11,
           "escape": 12, "battle": 13, "executions": 14, "reprisals": 15, "sectarian": 16,
           "haven_exit": 17, "haven_return": 18, "haven_in": 19, "haven_arrivals": 20,
           "returned": 21}

#: the inclusion levers, one per group
INCLUSION = tuple(f"inclusion_{g}" for g in GROUPS)

Tally = dict[str, float]


@dataclass(frozen=True)
class Streams:
    """The random streams of one week of one run: draws keyed by (seed, week, stream), so
    every policy branch of a run meets the same luck (common random numbers)."""

    seed: int
    tick: int

    def key(self, name: str) -> np.uint64:
        """The key of stream ``name`` (one of :data:`STREAMS`) this week."""
        return stream_key(self.seed, self.tick, STREAMS[name])


def delivered_inclusion(changes: dict[str, np.ndarray],
                        cfg: InsurgencyConfig) -> dict[str, np.ndarray]:
    """The inclusion in force each week when the announced one (the timeline's, ``changes``)
    is delivered late, in part, or not for good: a rise is delivered ``inclusion_delay_weeks``
    later and ``inclusion_credibility`` of it, and undone ``inclusion_lapse_weeks`` after that
    (0: kept); a fall is delivered at once and in full. Empty when all three are at their
    defaults (the announced inclusion is in force). O(weeks)."""
    d, c, lapse = cfg.inclusion_delay_weeks, cfg.inclusion_credibility, cfg.inclusion_lapse_weeks
    if d == 0 and c == 1.0 and lapse == 0:
        return {}
    out = {}
    for k in INCLUSION:
        a = changes[k]
        step = np.diff(a, prepend=a[0])
        rise = np.clip(step, 0.0, None) * c
        moved = np.minimum(step, 0.0)
        n = len(a)
        if d < n:
            moved[d:] += rise[:n - d]
        if lapse and d + lapse < n:
            moved[d + lapse:] -= rise[:n - d - lapse]
        out[k] = np.clip(a[0] + np.cumsum(moved), 0.0, 1.0)
    return out


def legitimacy_target(cfg: InsurgencyConfig, lev: Levers) -> np.ndarray:
    """``L*[g] = l0 + l_inc inclusion[g] + l_srv services - l_occ foreign_troops``, clipped
    to [0, 1], per group."""
    inc = np.array(lev.inclusion())
    target = (cfg.legitimacy_base + cfg.legitimacy_inclusion * inc
              + cfg.legitimacy_services * lev.services
              - cfg.legitimacy_occupation * lev.foreign_troops)
    return np.clip(target, 0.0, 1.0)


def security_units(cfg: InsurgencyConfig, lev: Levers) -> float:
    """Security units deployed: national at ``ground_forces`` plus foreign at
    ``foreign_troops`` of full strength."""
    return lev.ground_forces * cfg.security_units + lev.foreign_troops * cfg.foreign_units


# ---------------------------------------------------------------------- the steps of a week
def policy(w: World, cfg: InsurgencyConfig, old: Levers, lev: Levers) -> None:
    """1. Policy timeline: this week's levers ``lev`` replace ``old``; a rise of
    ``sectarian_shock`` costs the most excluded group ``shock_size`` times the rise of
    legitimacy, and adds ``fear_shock`` times the rise to the fear of the militias'
    community, once. Backlash: a rise of a group's (delivered) inclusion costs every other
    group ``backlash`` times the rise of legitimacy, and adds ``fear_shock backlash`` times it
    to that fear, once."""
    rise = lev.sectarian_shock - old.sectarian_shock
    legit = w.fields.legit
    if rise > 0:
        g = int(np.argmin(lev.inclusion()))
        legit[g] = np.clip(legit[g] - cfg.shock_size * rise, 0.0, 1.0)
        w.fields.fear += cfg.fear_shock * rise
    if cfg.backlash > 0:
        up = np.clip(np.array(lev.inclusion()) - np.array(old.inclusion()), 0.0, None)
        if up.any():
            lost = cfg.backlash * (up.sum() - up)  # what the others gained
            legit -= lost[:, None]
            np.clip(legit, 0.0, 1.0, out=legit)
            w.fields.fear += cfg.fear_shock * cfg.backlash * up.sum()


def legitimacy(w: World, cfg: InsurgencyConfig, lev: Levers) -> None:
    """2. Legitimacy field: ``L += kappa (L* - L) - eta_a (attack and execution deaths) -
    eta_d (collateral, battle and reprisal deaths)`` (last week's, per 1,000 people of the
    governorate: the group's violence, and the state's), and the base group's ``L`` also
    ``- eta_d militia_integration (sectarian killings)`` (militias inside the forces kill in
    the state's name); clipped to [0, 1]. O(cells)."""
    g, f = w.geo, w.fields
    per_k = np.maximum(g.pop_gov.sum(axis=0), 1.0) / 1000.0
    att = np.bincount(g.gov, weights=f.casualties_cell + f.executions_cell,
                      minlength=g.n_gov) / per_k
    col = np.bincount(g.gov, weights=f.collateral_cell + f.battle_cell + f.reprisals_cell,
                      minlength=g.n_gov) / per_k
    target = legitimacy_target(cfg, lev)[:, None]
    f.legit += cfg.legitimacy_relax * (target - f.legit)
    f.legit -= cfg.attack_erosion * att[None, :] + cfg.collateral_erosion * col[None, :]
    if lev.militia_integration > 0:
        sect = np.bincount(g.gov, weights=f.sectarian_cell, minlength=g.n_gov) / per_k
        f.legit[g.base] -= cfg.collateral_erosion * lev.militia_integration * sect
    np.clip(f.legit, 0.0, 1.0, out=f.legit)


def citizens(w: World, cfg: InsurgencyConfig, lev: Levers, rng: Streams) -> Tally:
    """3. Citizens decide and are counted (:func:`rules.citizens`), and recruits join
    (:func:`rules.spawn_recruits`, as many as the organisation can absorb).

    The citizen kernel also does, in the same pass and on the same draws, what a citizen
    undergoes this week: its members' arrest (and their term: the arrest rule of step 8, which
    has to come before the agent's choice of the week), death from last week's civilian deaths
    and flight from last week's battles (the displacement of step 10). O(citizens)."""
    g, f, cen, org = w.geo, w.fields, w.census, w.org
    term = lev.detention * cfg.max_internment_weeks  # an arrest: internment, not a sentence
    pay = cfg.volunteer_share + (1.0 - cfg.volunteer_share) * org.budget
    expect = cfg.recruit_rate / 100.0 * cfg.people_per_agent * org.propaganda * pay
    f.pool += cfg.pool_renewal * (f.pool0 - f.pool)
    avail = f.pool / np.maximum(f.pool0, 1e-9)
    # last week's civilian deaths (attacks, collateral; executions, reprisals, battle) leave
    # the residents present; sectarian killings, the base group's present
    dead = f.casualties_cell + f.collateral_cell + f.executions_cell + f.reprisals_cell \
        + f.battle_cell
    mortality = dead / np.maximum(cen.present * cfg.people_per_agent, 1.0)
    sect_kill = sect_flee = f.sectarian_cell  # zeros while no militia kills
    if f.sectarian_cell.any():
        sect_kill = f.sectarian_cell / np.maximum(cen.base_present * cfg.people_per_agent, 1.0)
        sect_flee = np.minimum(1.0, cfg.sectarian_flight * 1000.0 * sect_kill)
    asked = rules.citizens(w.people, g.gov, f.legit, np.asarray(cfg.affinity), f.damage,
                           f.deterrence, f.near, avail, cfg.arrest_rate * f.deterrence,
                           f.battle, mortality, term, int(term), cfg.threshold_sympathy,
                           cfg.threshold_recruit, expect, cfg.displacement_rate,
                           cfg.return_rate, g.base, sect_kill, sect_flee, rng.key("citizens"),
                           cen)
    cnt = w.counts
    members = int(cnt.terr.sum() + cnt.desert.sum() + cnt.sleeper.sum())
    room = cfg.absorption * max(members, cfg.absorption_floor)
    accept = 1.0 if asked <= room else room / asked
    made = rules.spawn_recruits(w.people, f.posture, w.insurgents, cnt, accept,
                                rng.key("absorb"), f.pool)
    return {"recruits": made, "recruits_asked": asked}


def organisation(w: World, cfg: InsurgencyConfig, rng: Streams) -> Tally:
    """4. Insurgent posture, territory control, treasury and propaganda.

    Posture per cell from the balance of force within ``posture_km``; the fighters then act
    on it in the same pass (:func:`rules.posture_and_move`: withdrawal to the desert, return,
    and their week's moves — the insurgents' part of step 10's movement, which has to come
    before the week's combat); sleepers rise where the group could take their block; control;
    the treasury (taxes, oil, extortion, minus upkeep: unpaid members desert); propaganda.
    No lever acts here. O(rows x steps + cells)."""
    g, f, cen, cnt, fo, org = w.geo, w.fields, w.census, w.counts, w.forces, w.org
    present_people = cen.present * cfg.people_per_agent
    f.sym_share = block_share(g, cen.sym, cen.present)
    need = (cfg.garrison_km2 * g.area + cfg.garrison_people * present_people / 1000.0) \
        * (1.0 - cfg.sympathy_help * f.sym_share)
    f.need = np.maximum(need, g.unit)
    field = (cnt.terr + cnt.desert).astype(np.float64)
    reach = int(round(cfg.posture_km / g.cell_km))
    phi = cfg.fighter_strength * box_sum(field, g.shape, reach) / (
        box_sum(fo.power, g.shape, reach) + 1.0)
    f.posture = np.where(phi >= cfg.hold_ratio, rules.EXPAND,
                         np.where(phi < cfg.withdraw_ratio, rules.WITHDRAW,
                                  rules.HOLD)).astype(np.int8)
    base_share = cen.gov_sym[g.base] / np.maximum(cen.gov_present[g.base], 1)
    return_ok = (base_share >= cfg.return_sympathy) & (org.budget >= cfg.return_budget)
    score = (0.05 + f.sym_share) / (1.0 + fo.power / 1000.0)
    score = np.where(g.inside, score, -1.0)
    targets = f.held | (g.populated & (f.sym_share >= cfg.return_sympathy))
    d_target = distance_field(targets, g.nbr)
    # forces hold ground as firmly as the people they defend back the government
    defence = fo.power * (cfg.morale_floor + (1.0 - cfg.morale_floor) * f.local_legit)
    keep = np.maximum(f.need, defence / cfg.fighter_strength)  # a held cell's garrison
    rules.posture_and_move(w.insurgents, g.gov, g.terrain, f.posture, g.populated, g.d_desert,
                           g.d_urban, d_target, f.held, keep, cnt.terr, score, g.nbr, g.steps,
                           cfg.sleeper_share, cfg.posture_speed, return_ok, g.desert_stay,
                           rng.key("posture"))
    rules.insurgent_counts(w.insurgents, cnt)
    tally: Tally = {}
    if cfg.uprising > 0:
        per_cell = (cnt.terr + cnt.desert + cnt.sleeper).astype(np.float64)
        tally["risen"] = rules.uprising(w.insurgents, cnt, per_cell, f.need, defence,
                                        cfg.fighter_strength, g.inside, g.block, g.n_blocks,
                                        f.held, cfg.assault_ratio, g.fort, g.gov, return_ok,
                                        cfg.uprising, rng.key("rise"))
    rules.control(cnt.terr, f.need, defence, cfg.fighter_strength, g.inside, g.block,
                  g.n_blocks, f.held, cfg.assault_ratio, g.fort)
    # treasury: taxes, oil, extortion, minus upkeep (attacks are paid in step 7)
    members = int(cnt.terr.sum() + cnt.desert.sum() + cnt.sleeper.sum())
    tax = cfg.tax_rate * float(present_people[f.held].sum())
    oil = cfg.oil_income * float((f.held & g.oil).sum())
    ext = cfg.extortion * float(cnt.sleeper[g.populated].sum())
    upkeep = cfg.upkeep * members
    org.treasury += tax + oil + ext - upkeep
    leave = cfg.turnover
    if org.treasury < 0.0:
        short = -org.treasury / max(upkeep, 1.0)
        org.treasury = 0.0
        leave += cfg.desertion * min(1.0, short)
    unpaid = rules.desertion(w.insurgents, leave, rng.key("desertion"))
    org.budget = min(1.0, org.treasury / (cfg.reserve_weeks * cfg.upkeep * (members + 1)))
    km2 = float(f.held.sum()) * g.area
    gain = max(0.0, km2 - org.last_km2) / cfg.propaganda_ref_km2 * 100.0
    org.last_km2 = km2
    target = cfg.propaganda_base + cfg.propaganda_territory * min(
        1.5, km2 / cfg.propaganda_ref_km2)
    target += cfg.propaganda_gain * gain
    org.propaganda += cfg.propaganda_relax * (target - org.propaganda)
    tally.update(income_tax=tax, income_oil=oil, income_extortion=ext, upkeep=upkeep,
                 deserted=unpaid)
    return tally


def control_violence(w: World, cfg: InsurgencyConfig, lev: Levers, rng: Streams,
                     was_held: np.ndarray) -> Tally:
    """4b. Violence that follows control (Kalyvas 2006): where the group took a populated cell
    this week it executes ``Poisson(executions N / 1000)`` civilians, and where it holds one
    it kills ``Poisson(coercion N / 1000)`` a week, ``N`` the residents present who do not
    back it; where the government retook a cell, ``Poisson(reprisals S / 1000 (1 -
    civilian_protection) (1 + m))`` of its ``S`` sympathisers are killed, ``m`` the share of
    mobilised sectarian militia in the forces there. The group's counter-move against
    inclusion: its sleepers assassinate ``Poisson(counter_move s L_b)`` cooperators a week in a
    cell with ``s`` sleepers where the base group's legitimacy is ``L_b`` (counted with the
    executions). ``was_held``: control before this week's step 4. O(cells)."""
    f, cen = w.fields, w.census
    f.executions_cell[:] = 0.0
    f.reprisals_cell[:] = 0.0
    ppa = cfg.people_per_agent
    if cfg.executions > 0 or cfg.coercion > 0 or cfg.counter_move > 0:
        taken = f.held & ~was_held & w.geo.populated
        rate = cfg.executions * taken + cfg.coercion * f.held
        lam = rate * (cen.present - cen.sym) * ppa / 1000.0
        if cfg.counter_move > 0:
            lam = lam + cfg.counter_move * w.counts.sleeper * f.legit[w.geo.base][w.geo.gov]
        f.executions_cell[:] = counter_poisson_each(lam, rng.key("executions"))
    if cfg.reprisals > 0:
        fo = w.forces
        lost = was_held & ~f.held
        mob = fo.mobilised / np.maximum(fo.power, 1.0)
        lam = cfg.reprisals * lost * cen.sym * ppa / 1000.0 \
            * (1.0 - lev.civilian_protection) * (1.0 + mob)
        f.reprisals_cell[:] = counter_poisson_each(lam, rng.key("reprisals"))
    return {"casualties_executions": float(f.executions_cell.sum()),
            "casualties_reprisals": float(f.reprisals_cell.sum())}


def ground_combat(w: World, cfg: InsurgencyConfig, lev: Levers, rng: Streams) -> Tally:
    """5. Attrition where forces meet (:func:`rules.ground_combat`), over control blocks: the
    personnel of a block against the cover of its residents and ground, whatever the cell
    size. Fighters removed are captured (detained: step 8's rule for fighters) or killed; the
    effort and removals by terrain are tallied. Civilians die in the fighting:
    ``Poisson(battle_civilians K D / 1000 (1 - civilian_protection))`` in a cell with ``K``
    combatants killed, ``D`` the people per km^2 of its block (urban battles kill the most).
    O(rows + cells)."""
    g, f = w.geo, w.fields
    f.killed_cell[:] = 0.0
    removed = np.zeros(6, np.int64)
    effort = np.zeros(6)
    term = lev.detention * cfg.max_detention_weeks
    cover = cfg.search_people * g.pop_cell / 1000.0 + cfg.search_km2 * g.area + 1.0
    power, cover = over_blocks(g, w.forces.power), over_blocks(g, cover)
    killed, captured, sec = rules.ground_combat(
        w.insurgents, power, w.forces.hunt * cfg.unit_size, cover, f.pdet,
        cfg.attrition_insurgent, cfg.attrition_security, cfg.sleeper_exposure,
        cfg.capture_share, term, g.terrain, removed, effort, f.engaged, f.killed_cell,
        rng.key("combat"))
    f.battle_cell[:] = 0.0
    if cfg.battle_civilians > 0:
        lam = cfg.battle_civilians * f.killed_cell * g.block_density / 1000.0 \
            * (1.0 - lev.civilian_protection)
        f.battle_cell[:] = counter_poisson_each(lam, rng.key("battle"))
    tally: Tally = {"insurgents_killed": killed, "insurgents_captured": captured,
                    "casualties_security": sec, "casualties_battle": float(f.battle_cell.sum())}
    for name, code in (("urban", rules.URBAN), ("desert", rules.DESERT_T)):
        tally[f"effort_{name}"] = float(effort[code])
        tally[f"removed_{name}"] = float(removed[code])
    return tally


def air_strikes(w: World, cfg: InsurgencyConfig, lev: Levers, rng: Streams) -> Tally:
    """6. Air strikes: ``air_sorties`` shared by detected field fighters (as counted after
    the week's moves), kills (:func:`rules.air_strikes`) and collateral deaths
    ``Poisson(zeta density (1 - precision) sorties)`` per cell, the density of residents over
    the struck cell's control block; the collateral dead add kin who seek revenge to the
    recruitable pool. O(rows + cells)."""
    g, f, cnt = w.geo, w.fields, w.counts
    f.collateral_cell[:] = 0.0
    detected = (cnt.terr + cnt.desert) * f.pdet
    total = detected.sum()
    killed = 0
    collateral = 0
    if lev.air_sorties > 0 and total > 0:
        sorties = lev.air_sorties * detected / total
        killed = rules.air_strikes(w.insurgents, sorties, f.pdet, cnt.terr.astype(np.float64),
                                   cnt.desert.astype(np.float64), cfg.air_kill,
                                   rng.key("air"), f.killed_cell)
        lam = cfg.collateral * g.block_density / 1000.0 * (1.0 - lev.precision) * sorties
        f.collateral_cell[:] = counter_poisson_each(lam, rng.key("collateral"))
        collateral = int(f.collateral_cell.sum())
        f.pool += cfg.revenge * f.collateral_cell  # kin who seek revenge
    return {"air_killed": killed, "casualties_collateral": collateral}


def sleeper_attacks(w: World, cfg: InsurgencyConfig, lev: Levers, rng: Streams) -> Tally:
    """7. Sleeper attacks in towns (:func:`rules.sleeper_attacks`) while the treasury can pay;
    prevented w.p. ``1 - exp(-(mu_p L_local p_det + s_p E_block / 1000))`` (tips, and the
    personnel of the control block), a prevented attacker captured. O(rows + cells)."""
    g, f, org = w.geo, w.fields, w.org
    f.attacks_cell[:] = 0.0
    f.casualties_cell[:] = 0.0
    prevent = 1.0 - np.exp(-(cfg.prevent_legitimacy * f.local_legit * f.pdet
                             + cfg.prevent_security * over_blocks(g, w.forces.power) / 1000.0))
    affordable = 1.0 if cfg.attack_cost <= 0 else min(1.0, max(org.budget, 0.2))
    term = lev.detention * cfg.max_detention_weeks
    attacks, stopped, dead = rules.sleeper_attacks(
        w.insurgents, g.populated, cfg.attack_probability * affordable, prevent,
        cfg.attack_casualties, cfg.capture_share, term, f.attacks_cell, f.casualties_cell,
        rng.key("attacks"))
    org.treasury = max(0.0, org.treasury - cfg.attack_cost * attacks)
    return {"attacks": attacks, "attacks_prevented": stopped, "casualties_attacks": dead}


def militias(w: World, cfg: InsurgencyConfig, lev: Levers, rng: Streams) -> Tally:
    """7b. Sectarian militias (Epstein 2002, Model II's inter-group violence, on the theatre's
    groups): the fear ``F`` of ``militia_group`` in a governorate decays by ``fear_decay`` and
    grows by ``fear_attacks`` per death at the insurgents' hands (this week's attacks and
    executions, by the group's share of each cell) per 1,000 of its people there (shocks add
    in step 1); its militia relaxes toward ``P_m / 1000 (militia_rate F + militia_mobilised
    mobilisation) (1 - crackdown)`` per cell (``P_m`` its people there), ``mobilisation`` of
    them fighting the group; they kill ``Poisson(militia_kill M F / (1 + F) b (1 - crackdown)
    (1 - C (1 - integration)))`` base-group residents a week (the afraid among them take
    revenge: a militia raised to fight the group kills few once fear has passed), ``b`` the
    base group's share of the residents present (mixed areas only) and
    ``C = E / (E + search_people N / 1000 + 1)`` the cover of the block's ``N`` residents by
    its ``E`` security personnel (half at FM 3-24's 20 per 1,000): the forces curb the
    militias they do not include. The victims' kin join the recruitable pool (``revenge``);
    the killings drive the base group out and kill its residents next week (step 3).
    O(cells)."""
    g, f, fo, cen = w.geo, w.fields, w.forces, w.census
    f.sectarian_cell[:] = 0.0
    if cfg.militia_rate <= 0 and cfg.militia_mobilised <= 0:
        return {}
    m = g.militia
    share = g.pop[m] / np.maximum(g.pop_cell, 1.0)
    hit = np.bincount(g.gov, weights=(f.casualties_cell + f.executions_cell) * share,
                      minlength=g.n_gov) / (np.maximum(g.pop_gov[m], 1.0) / 1000.0)
    f.fear = f.fear * (1.0 - cfg.fear_decay) + cfg.fear_attacks * hit
    drive = cfg.militia_rate * f.fear[g.gov] + cfg.militia_mobilised * lev.militia_mobilisation
    target = g.pop[m] / 1000.0 * drive * (1.0 - lev.militia_crackdown)
    fo.sectarian += cfg.militia_relax * (target - fo.sectarian)
    fo.mobilised = fo.sectarian * lev.militia_mobilisation
    base_share = cen.base_present / np.maximum(cen.present, 1)
    police = over_blocks(g, fo.security * cfg.unit_size)
    covered = police / (police + cfg.search_people * g.pop_block / 1000.0 + 1.0)
    curb = 1.0 - covered * (1.0 - lev.militia_integration)
    afraid = f.fear[g.gov] / (1.0 + f.fear[g.gov])  # the share of them out for revenge
    lam = cfg.militia_kill * fo.sectarian * afraid * base_share \
        * (1.0 - lev.militia_crackdown) * curb
    f.sectarian_cell[:] = counter_poisson_each(lam, rng.key("sectarian"))
    f.pool += cfg.revenge * f.sectarian_cell  # kin who seek revenge
    return {"casualties_sectarian": float(f.sectarian_cell.sum())}


def detention(w: World, cfg: InsurgencyConfig, lev: Levers, rng: Streams) -> Tally:
    """8. Detention: captured fighters serve their terms, capped by the week's policy (a drop
    of ``detention`` releases them); ``escapes`` of them break out (a prison break, by its
    reported size: each captive w.p. ``escapes / captives``); the released and escaped go back
    to the desert. (Arrests of citizens' members are drawn and served in step 3, captures in
    steps 5 and 7, on the draws of those steps.) O(rows)."""
    cap = int(lev.detention * cfg.max_detention_weeks)
    released = rules.captives(w.insurgents, cap)
    if lev.escapes > 0:
        released += rules.escape(w.insurgents, lev.escapes, rng.key("escape"))
    return {"released": released}


def foreign_inflow(w: World, cfg: InsurgencyConfig, lev: Levers, rng: Streams) -> Tally:
    """9. Foreign fighters: ``Poisson(f0 pi (1 - border_control) open share)`` arrive as desert
    fighters at the open crossings (held by the group, or lightly guarded). O(crossings)."""
    f = w.fields
    cells = w.geo.entry
    open_ = cells[f.held[cells] | (w.forces.power[cells] < cfg.open_crossing)]
    share = len(open_) / max(len(cells), 1)
    lam = cfg.foreign_base * w.org.propaganda * (1.0 - lev.border_control) * share
    n = counter_poisson(lam, rng.key("foreign"), 0)
    made = rules.arrivals(n, open_.astype(np.int32), w.insurgents, rng.key("arrivals"),
                          rules.FOREIGN)
    tally: Tally = {"foreign_inflow": made}
    if cfg.haven_inflow > 0 or cfg.haven_exit > 0:
        tally |= haven(w, cfg, lev, rng, open_.astype(np.int32), share)
    return tally


def haven(w: World, cfg: InsurgencyConfig, lev: Levers, rng: Streams, open_: np.ndarray,
          share: float) -> Tally:
    """9b. A safe haven across ``foreign_border`` (the Syrian war from 2011: *A*, "with the war
    in Syria, ISIS has become a more international organization"): ``Poisson(haven_inflow
    (1 - border_control) open share)`` fighters arrive whatever the group's propaganda; desert
    fighters within ``haven_km`` of a crossing withdraw into the haven w.p. ``haven_exit`` a
    week, out of reach; members there come back w.p. ``haven_return`` a week, as desert
    fighters at an open crossing (none while every crossing is closed). O(rows)."""
    org, ins = w.org, w.insurgents
    lam = cfg.haven_inflow * (1.0 - lev.border_control) * share
    came = rules.arrivals(counter_poisson(lam, rng.key("haven_in"), 0), open_, ins,
                          rng.key("haven_arrivals"), rules.FOREIGN)
    back = 0
    if org.haven > 0 and len(open_):
        due = min(org.haven, counter_poisson(org.haven * cfg.haven_return,
                                             rng.key("haven_return"), 0))
        back = rules.arrivals(due, open_, ins, rng.key("returned"), rules.LOCAL)
    left = rules.to_haven(ins, w.geo.near_entry, cfg.haven_exit, rng.key("haven_exit")) \
        if cfg.haven_exit > 0 else 0
    org.haven += left - back
    return {"foreign_inflow_haven": came, "haven_left": left, "haven_back": back}


def movement(w: World, cfg: InsurgencyConfig, lev: Levers) -> None:
    """10. Security forces move toward a target: garrisons by population (on ground the
    government holds) plus a share sent after detected insurgents and held ground; Sahwa
    militia where tribes are engaged and the base group's legitimacy passes a threshold;
    battle intensity and war damage (which displace citizens next week, step 3); then the
    fields next week reads (:func:`sense`). The insurgents moved in step 4. O(rows + cells)."""
    g, f, cnt, fo = w.geo, w.fields, w.counts, w.forces
    rules.insurgent_counts(w.insurgents, cnt)
    units = security_units(cfg, lev)
    threat = (cnt.terr + cnt.desert) * f.pdet + f.held * f.need + f.attacks_cell * 5.0
    ruled = np.where(f.held, 0.0, g.pop_cell)  # no garrison on the group's ground
    garrison = ruled / max(ruled.sum(), 1.0)
    total = threat.sum()
    hunt = units * cfg.threat_weight * threat / total if total > 0 else 0.0  # sent after them
    kept = 1 - cfg.threat_weight if total > 0 else 1.0  # garrisons by population
    target = units * garrison * kept + hunt
    fo.security += cfg.mobility * (target - fo.security)
    fo.hunt += cfg.mobility * (hunt - fo.hunt)
    base_ok = f.legit[g.base, g.gov] >= cfg.sahwa_threshold
    quiet_base = g.pop[g.base] * (1.0 - f.sym_share)
    militia_target = lev.tribal_engagement * cfg.sahwa_rate * quiet_base * base_ok
    fo.militia += cfg.mobility * (militia_target - fo.militia)
    # battle deaths and war damage per 1,000 residents of the control block, as control and
    # combat are decided there, so that they read the same whatever the cell size
    per_k = np.maximum(g.pop_block, 1.0) / 1000.0
    fights = over_blocks(g, f.killed_cell + f.collateral_cell + f.battle_cell)
    deaths = fights + over_blocks(g, f.casualties_cell + f.executions_cell
                                  + f.reprisals_cell + f.sectarian_cell)
    f.battle = np.where(g.inside, fights / per_k, 0.0)
    f.damage += cfg.war_damage * deaths / per_k
    f.damage *= 1.0 - cfg.damage_decay * lev.services
    np.clip(f.damage, 0.0, 1.0, out=f.damage)
    sense(w, cfg)


def sense(w: World, cfg: InsurgencyConfig) -> None:
    """The fields the next week reads from where everyone now is (run at the end of step 10
    and at the start): personnel per cell, forces and fighters in vision, deterrence, local
    legitimacy, sympathiser share and detection. Needs ``w.counts`` up to date. O(cells)."""
    g, f, cnt, fo = w.geo, w.fields, w.counts, w.forces
    fo.power = fo.security * cfg.unit_size + fo.militia + fo.mobilised
    fighters = (cnt.terr + cnt.desert + cnt.sleeper).astype(np.float64)
    power_v = box_sum(fo.power, g.shape, g.radius)
    fighters_v = box_sum(fighters, g.shape, g.radius)
    ratio = power_v / (cfg.deterrence_scale * (1.0 + fighters_v))
    f.deterrence = 1.0 - np.exp(-cfg.k * ratio)
    f.near = np.minimum(1.0, fighters_v / cfg.near_fighters)
    lg = f.legit[:, g.gov]  # (groups, cells)
    f.local_legit = (g.pop * lg).sum(axis=0) / np.maximum(g.pop_cell, 1.0)
    f.sym_share = block_share(g, w.census.sym, w.census.present)
    militia_share = fo.militia / np.maximum(fo.power, 1.0)
    pdet = g.pterrain[g.terrain] * (1.0 + cfg.tips * f.local_legit) \
        / (1.0 + cfg.cover * f.sym_share) * (1.0 + cfg.sahwa_intel * militia_share)
    f.pdet = np.clip(pdet, 0.0, 1.0)


def recount(w: World, cfg: InsurgencyConfig) -> None:
    """Recount the members per cell from the rows and rederive the fields (:func:`sense`):
    for a caller that has edited the rows or forces directly."""
    fit_span(w.insurgents)
    rules.insurgent_counts(w.insurgents, w.counts)
    sense(w, cfg)


class InsurgencyRun:
    """One run of the insurgency model that can be stepped, inspected and mapped.

    ``theatre`` defaults to ``load_theatre(cfg.theatre, cfg.cell_km)``; tests pass a small one.
    The state is :attr:`world` (:class:`~resurgence.models.insurgency_state.World`); the
    observables so far are :meth:`frame` and :meth:`governorate_frame`.
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
        self.theatre = theatre
        self.changes = scenario.schedule()
        self._delivered = delivered_inclusion(self.changes, cfg)
        self.tick = 0
        rng = np.random.default_rng(self.seed)
        geo = make_geography(theatre, cfg)
        people, census = make_citizens(geo, cfg, rng)
        self.levers = self._levers_at(0)
        insurgents = make_insurgents(geo, cfg, rng)
        cells = geo.inside.size
        pop = geo.pop_cell
        forces = Forces(
            security=security_units(cfg, self.levers) * pop / max(pop.sum(), 1.0),
            hunt=np.zeros(cells), militia=np.zeros(cells), power=np.zeros(cells),
            sectarian=np.zeros(cells), mobilised=np.zeros(cells))
        org = Organisation(treasury=cfg.initial_treasury, propaganda=cfg.propaganda_base,
                           budget=0.0, last_km2=0.0)
        self.world = World(geo, people, census, insurgents, role_counts(cells), forces,
                           make_fields(geo, cfg, legitimacy_target(cfg, self.levers)), org)
        self._rows: list[dict[str, float]] = []
        self._gov_rows: list[np.ndarray] = []
        self._peak_km2 = 0.0
        recount(self.world, cfg)
        self._record({})

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the theatre raster."""
        return self.world.geo.shape

    # ------------------------------------------------------------------ levers
    def _levers_at(self, t: int) -> Levers:
        i = min(t, self.scenario.ticks)
        now = {k: float(v[i]) for k, v in self.changes.items()}
        now.update({k: float(v[i]) for k, v in self._delivered.items()})  # inclusion in force
        return Levers.model_construct(**now)

    def set_levers(self, **values: float) -> None:
        """Change levers now (validated like a scenario file; raises ScenarioError)."""
        data = {**self.levers.model_dump(), **values}
        checked = Scenario.from_dict({**self.scenario.model_dump(), "levers": data},
                                     source="levers")
        for k in values:
            self.changes[k][self.tick + 1:] = getattr(checked.levers, k)
        self._delivered = delivered_inclusion(self.changes, self.cfg)

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
        twin._delivered = delivered_inclusion(twin.changes, twin.cfg)
        return twin

    # ------------------------------------------------------------------ one tick
    def step(self) -> None:
        """One week, in the order of DESIGN §2.4."""
        self.tick += 1
        w, cfg, rng = self.world, self.cfg, Streams(self.seed, self.tick)
        old, lev = self.levers, self._levers_at(self.tick)
        policy(w, cfg, old, lev)                           # 1. policy timeline
        self.levers = lev
        legitimacy(w, cfg, lev)                            # 2. legitimacy field
        tally = citizens(w, cfg, lev, rng)                 # 3. citizens decide, recruits join
        was_held = w.fields.held.copy()
        tally |= organisation(w, cfg, rng)                 # 4. posture, control, treasury
        tally |= control_violence(w, cfg, lev, rng, was_held)  # 4b. executions, reprisals
        tally |= ground_combat(w, cfg, lev, rng)           # 5. attrition where forces meet
        tally |= air_strikes(w, cfg, lev, rng)             # 6. air strikes, collateral damage
        tally |= sleeper_attacks(w, cfg, lev, rng)         # 7. car bombs and hit-and-run
        tally |= militias(w, cfg, lev, rng)                # 7b. sectarian militias kill
        tally |= detention(w, cfg, lev, rng)               # 8. terms served, releases
        tally |= foreign_inflow(w, cfg, lev, rng)          # 9. foreign fighters
        movement(w, cfg, lev)                              # 10. forces move; war damage
        self._record(tally)                                # 11. observables

    # ------------------------------------------------------------------ observe
    def _record(self, tally: Tally) -> None:
        c = self.cfg
        w = self.world
        g, f, cen, cnt, fo, ins = w.geo, w.fields, w.census, w.counts, w.forces, w.insurgents
        ppa = c.people_per_agent
        km2 = float(f.held.sum()) * g.area
        self._peak_km2 = max(self._peak_km2, km2)
        terr, desert, sleeper = int(cnt.terr.sum()), int(cnt.desert.sum()), \
            int(cnt.sleeper.sum())
        legit = (g.pop_gov * f.legit).sum(axis=1) / np.maximum(g.pop_gov.sum(axis=1), 1)
        row: dict[str, float] = {
            "territory_km2": km2,
            "territory_pct_peak": 100.0 * km2 / self._peak_km2 if self._peak_km2 > 0 else 0.0,
            "held_people": float(cen.present[f.held].sum() * ppa),
            "fighters_territorial": terr, "fighters_desert": desert, "sleepers": sleeper,
            "members": terr + desert + sleeper, "captives": int(cnt.captive.sum()),
            "desert_share": desert / (terr + desert) if terr + desert > 0 else float("nan"),
            "foreign_members": int(((ins.origin == rules.FOREIGN)
                                    & (ins.role >= rules.TERRITORIAL)
                                    & (ins.role <= rules.SLEEPER)).sum()),
            "sympathisers": float(cen.sym.sum() * ppa),
            "active_supporters": float(cen.act.sum() * ppa),
            "displaced": float(cen.displaced.sum() * ppa),
            "detained": float(cen.detained.sum() * c.arrest_people),
            "treasury": w.org.treasury, "propaganda": w.org.propaganda,
            "haven": float(w.org.haven),
            "security_personnel": float(fo.security.sum() * c.unit_size),
            "militia": float(fo.militia.sum()),
        }
        for k, name in enumerate(GROUPS):
            row[f"legitimacy_{name}"] = float(legit[k])
        row["militia_sectarian"] = float(fo.sectarian.sum())
        row["militia_mobilised"] = float(fo.mobilised.sum())
        displaced = cen.gov_displaced.sum(axis=1) * ppa
        for k, name in enumerate(GROUPS):
            row[f"displaced_{name}"] = float(displaced[k])
        for name in ("recruits", "recruits_asked", "foreign_inflow", "attacks", "attacks_prevented",
                     "casualties_attacks", "casualties_collateral", "casualties_security",
                     "insurgents_killed", "insurgents_captured", "air_killed", "released",
                     "deserted", "income_tax", "income_oil", "income_extortion", "upkeep",
                     "effort_urban", "removed_urban", "effort_desert", "removed_desert", "risen",
                     "foreign_inflow_haven",
                     *(f"casualties_{k}" for k in PERPETRATORS[1:5])):
            row[name] = float(tally.get(name, 0.0))
        row["casualties_civilian"] = row["casualties_attacks"] + row["casualties_collateral"] \
            + sum(row[f"casualties_{k}"] for k in PERPETRATORS[1:5])
        row["casualties_insurgent"] = row["insurgents_killed"] + row["air_killed"]
        row["income"] = row["income_tax"] + row["income_oil"] + row["income_extortion"]
        for k, v in self.levers.model_dump().items():
            row[f"lever_{k}"] = v
        self._rows.append(row)
        by = (f.casualties_cell, f.executions_cell, f.sectarian_cell, f.battle_cell,
              f.reprisals_cell, f.collateral_cell)  # PERPETRATORS' order
        per_cell = (f.held * g.area, cnt.terr + cnt.desert, cnt.sleeper, f.attacks_cell,
                    f.casualties_cell + f.collateral_cell + by[1] + by[2] + by[3] + by[4],
                    cen.sym * ppa)
        sums = [np.bincount(g.gov, weights=x.astype(np.float64), minlength=g.n_gov)
                if x.any() else np.zeros(g.n_gov)  # a mechanism that is off: no work
                for x in (*per_cell, *by, fo.sectarian)]
        n = len(per_cell)
        gov = np.column_stack([*sums[:n], f.legit.T, *sums[n:], cen.gov_displaced.T * ppa])
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
        df.insert(0, "governorate", np.tile(np.array(self.world.geo.gov_names, dtype=object),
                                                  t))
        ticks = np.repeat(np.arange(t), g)
        df.insert(0, "tick", ticks)
        if self.scenario.start is not None:
            df.insert(1, "date", pd.to_datetime(self.scenario.date_of(ticks)))
        df.insert(0, "seed", self.seed)
        return df

    def cell_states(self) -> np.ndarray:
        """(height, width) int8 map: outside, government, contested (fighters and forces),
        held by the group, desert base, sleeper cells. O(cells)."""
        inside, cnt, held = self.world.geo.inside, self.world.counts, self.world.fields.held
        out = np.where(inside, GOVERNMENT_CELL, OUTSIDE_CELL).astype(np.int8)
        out[(cnt.sleeper > 0) & inside] = SLEEPER_CELL
        out[(cnt.desert > 0) & inside] = DESERT_BASE_CELL
        out[(cnt.terr > 0) & ~held] = CONTESTED_CELL
        out[held] = HELD_CELL
        return out.reshape(self.shape)

    def maps(self) -> dict[str, np.ndarray]:
        """(height, width) float fields for viewers: legitimacy (local), sympathiser share,
        security personnel, fighters, war damage."""
        h, w = self.shape
        f, cnt = self.world.fields, self.world.counts
        return {
            "legitimacy": f.local_legit.reshape(h, w),
            "sympathy": f.sym_share.reshape(h, w),
            "security": self.world.forces.power.reshape(h, w),
            "fighters": (cnt.terr + cnt.desert + cnt.sleeper).reshape(h, w).astype(float),
            "damage": f.damage.reshape(h, w),
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
