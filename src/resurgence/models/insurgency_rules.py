"""The rules of the insurgency model, as numba kernels over agent columns and cell fields.

Each kernel states its rule in one sentence, its source (see ``docs/model.md`` Part II) and its
cost. :mod:`resurgence.models.insurgency` composes them, one tick at a time, in the order of
DESIGN §2.4.

Random numbers come from the counter-based generator of :mod:`resurgence.engine.counter_rng`:
the ``j``-th draw of item ``i`` in a kernel is a hash of ``(seed, tick, stream, i, j)``, so the
citizen kernel runs in parallel (``prange``) and still gives the same bits whatever the number
of threads. Kernels take the records of :mod:`resurgence.models.insurgency_state`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from resurgence.engine.counter_rng import counter_poisson as poisson
from resurgence.engine.counter_rng import counter_uniform as draw
from resurgence.engine.counter_rng import counter_uniform_any as draw_any
from resurgence.engine.grid import step_down

if TYPE_CHECKING:
    from resurgence.models.insurgency_state import Census, Citizens, Insurgents, RoleCounts

# citizen states (detention is not a state: ``jail > 0`` marks an agent whose members are held)
QUIET, SYMPATHISER, ACTIVE, DISPLACED, DEAD = 0, 1, 2, 4, 5
# insurgent roles (FREE: an unused row)
FREE, TERRITORIAL, DESERT, SLEEPER, CAPTIVE = 0, 1, 2, 3, 4
LOCAL, FOREIGN = 0, 1
# most recruits one agent offers in a week (its int16 column; far above any calibrated rate)
MAX_OFFER = 32_767
# posture of the fighters of a cell (set from the balance of force around it)
WITHDRAW, HOLD, EXPAND = 0, 1, 2
# terrain codes (resurgence.theatre.Terrain)
OUTSIDE, URBAN, RIVER, STEPPE, DESERT_T, MOUNTAIN = 0, 1, 2, 3, 4, 5

_STEP_KEY = np.uint64(0xD6E8FEB86659FD93)  # odd: the keys of a walk's later steps
SCAN = 256  # agents per block of spawn_recruits' scan


@njit(inline="always", cache=True)
def step_uniform(key: np.uint64, i: int, s: int, j: int) -> float:
    """Draw ``j`` (0: direction, 1: stay) of step ``s`` of row ``i``'s walk in the desert: its
    row's draws ``2 + s`` and ``10 + s`` for the first four steps (a 10 km run takes four),
    then the draws of a key of the step's own (under one key a row has 16 draws: drawn
    ``10 + s`` for every step, a walk of seven steps or more would read the next row's
    first draws). O(1)."""
    if s < 4:
        return draw(key, i, (2 if j == 0 else 10) + s)
    return draw(key + np.uint64(s) * _STEP_KEY, i, j)


# --------------------------------------------------------------------------- citizens
@njit(cache=True)
def citizens(people: Citizens, gov: np.ndarray, legit: np.ndarray, affinity: np.ndarray,
             damage: np.ndarray, deterrence: np.ndarray, near: np.ndarray, avail: np.ndarray,
             arrest: np.ndarray, battle: np.ndarray, mortality: np.ndarray, term: float,
             cap: int, t_s: float, t_r: float, expect: float, displacement: float,
             return_rate: float, base: int, sect_kill: np.ndarray, sect_flee: np.ndarray,
             key: np.uint64, out: Census) -> int:
    """Every citizen decides (Epstein 2002 rule A with local risk; DESIGN §2.8), and the
    census of the result is taken in the same pass; returns the recruits asked for.

    Grievance ``G = min(1, H + damage) (1 - L[g, gov]) a_g``, net risk ``N = R P`` (``P`` the
    cell's deterrence); sympathiser iff ``G - N > T_s``; active supporter iff ``G - N > T_r``
    and fighters are in vision; an active supporter is arrested w.p. ``arrest[c]``, else gives
    ``expect * near[c] * avail[c]`` recruits (randomly rounded; ``avail`` the cell's recruitable
    pool left, a share). An arrest takes the agent's active members, not its residents: they
    are held ``jail = U(1, term)`` weeks (capped by ``cap``: a release or a prison break), in
    which the agent cannot mobilise (a sympathiser at most; it can the week after); its
    residents stay, and live, flee, return and sympathise as any others. A resident dies w.p.
    ``mortality[c]`` (last week's civilian deaths per resident present), a resident of the
    ``base`` group also w.p. ``sect_kill[c]`` (last week's sectarian killings per base-group
    resident present); residents of a cell with battle deaths flee w.p.
    ``displacement * battle[c]``, base-group residents of a cell with sectarian killings w.p.
    ``sect_flee[c]``; the displaced return to quiet cells (no battle deaths, and for the base
    group no sectarian killings) w.p. ``return_rate``. Each agent's draws are its own
    (counter-based), so the result does not depend on the order of the agents.

    The census (``out``, :class:`~resurgence.models.insurgency_state.Census`) counts per cell
    the agents present, sympathetic (active included), active, displaced, those whose members
    are held (``jail > 0``) and the base group's present, and per (group, governorate) the
    sympathisers, residents present and displaced. Counts are kept in locals while the cell
    stays the same (the agents are sorted by cell) and added to ``out`` when it changes.
    Sequential: O(citizens).
    """
    cell, group, state, jail, recruits = (people.cell, people.group, people.state,
                                          people.jail, people.recruits)
    hardship, risk = people.hardship, people.risk
    for a in (out.present, out.sym, out.act, out.displaced, out.detained):
        a[:] = 0
    out.base_present[:] = 0
    out.gov_sym[:] = 0
    out.gov_present[:] = 0
    out.gov_displaced[:] = 0
    n_groups = out.gov_sym.shape[0]
    g_present = np.zeros(n_groups, np.int64)
    g_sym = np.zeros(n_groups, np.int64)
    g_displaced = np.zeros(n_groups, np.int64)
    distrust = np.zeros(n_groups)  # 1 - L[g, gov] of the cell in hand
    asked = 0
    here = -1  # the cell whose counts (and inputs) are in the locals
    present = sym = act = displaced = detained = 0
    # the cell's inputs, read once per cell (the agents are sorted by cell)
    mort = sk = bat = flee = dmg = det = arr = offer = 0.0
    hunting = near_c = False
    for i in range(cell.shape[0]):
        c = cell[i]
        if c != here:
            if here >= 0:
                _add_counts(out, here, gov[here], present, sym, act, displaced, detained,
                            g_present, g_sym, g_displaced, base)
            here = c
            present = sym = act = displaced = detained = 0
            mort, sk, bat, flee = mortality[c], sect_kill[c], battle[c], sect_flee[c]
            dmg, det, arr = damage[c], deterrence[c], arrest[c]
            near_c = near[c] > 0.0
            offer = expect * near[c] * avail[c]
            hunting = flee > 0.0
            for k in range(n_groups):
                distrust[k] = 1.0 - legit[k, gov[c]]
        st = state[i]
        g = group[i]
        hunted = hunting and g == base  # base-group residents the militias drive out
        recruits[i] = 0
        held = jail[i] > 0  # this week the agent's members are held (released at its end if 1)
        if held:  # they serve their term, whatever becomes of their residents
            jail[i] = min(jail[i] - 1, cap)
            if jail[i] > 0:
                detained += 1
        if st == DEAD:
            continue
        dies = mort + sk if g == base else mort
        if st == DISPLACED:
            if bat <= 0.0 and not hunted and draw(key, i, 0) < return_rate:
                st = QUIET
            else:
                displaced += 1
                g_displaced[g] += 1
                continue
        elif dies > 0.0 and draw(key, i, 5) < dies:
            state[i] = DEAD
            continue
        elif bat > 0.0 and draw(key, i, 1) < displacement * bat:
            state[i] = DISPLACED
            displaced += 1
            g_displaced[g] += 1
            continue
        elif hunted and draw(key, i, 6) < flee:
            state[i] = DISPLACED
            displaced += 1
            g_displaced[g] += 1
            continue
        else:
            h = hardship[i] + dmg
            if h > 1.0:
                h = 1.0
            net = h * distrust[g] * affinity[g] - risk[i] * det
            if net > t_r and near_c and not held:
                if draw(key, i, 2) < arr:
                    st = SYMPATHISER
                    jail[i] = 1 + int(draw(key, i, 3) * term)
                    detained += 1
                else:
                    st = ACTIVE
                    recruits[i] = min(int(offer + draw(key, i, 4)), MAX_OFFER)
                    asked += recruits[i]
            else:
                st = SYMPATHISER if net > t_s else QUIET
        state[i] = st
        present += 1
        g_present[g] += 1
        s = int(st != QUIET)  # counted without a branch: the states of neighbours differ
        sym += s
        g_sym[g] += s
        act += int(st == ACTIVE)
    if here >= 0:
        _add_counts(out, here, gov[here], present, sym, act, displaced, detained, g_present,
                    g_sym, g_displaced, base)
    return asked


@njit(inline="always", cache=True)
def _add_counts(out: Census, c: int, gg: int, present: int, sym: int, act: int,
                displaced: int, detained: int, g_present: np.ndarray, g_sym: np.ndarray,
                g_displaced: np.ndarray, base: int) -> None:
    """Add one cell's counts to the census and clear the per-group locals. O(groups)."""
    out.present[c] += present
    out.sym[c] += sym
    out.act[c] += act
    out.displaced[c] += displaced
    out.detained[c] += detained
    out.base_present[c] += g_present[base]
    for g in range(g_present.shape[0]):
        out.gov_present[g, gg] += g_present[g]
        out.gov_sym[g, gg] += g_sym[g]
        out.gov_displaced[g, gg] += g_displaced[g]
        g_present[g] = 0
        g_sym[g] = 0
        g_displaced[g] = 0


# --------------------------------------------------------------------------- insurgents
@njit(cache=True)
def new_row(ins: Insurgents) -> int:
    """Pop a free insurgent row (-1 if the capacity is exhausted). O(1)."""
    if ins.n_free[0] == 0:
        return -1
    ins.n_free[0] -= 1
    r = ins.free_rows[ins.n_free[0]]
    if ins.span[0] <= r < ins.span[1]:  # a row above the first part of the live rows
        ins.span[0] = r + 1
        ins.span[1] = max(ins.span[1], r + 1)
    return r


@njit(inline="always", cache=True)
def live_count(ins: Insurgents) -> int:
    """How many rows may be in use: those of ``[0, span[0])`` and ``[span[1], rows)`` (the
    other rows have never been popped, so are FREE). O(1)."""
    return ins.span[0] + ins.cell.shape[0] - ins.span[1]


@njit(inline="always", cache=True)
def live_row(ins: Insurgents, j: int) -> int:
    """The ``j``-th row that may be in use, in row order (``0 <= j < live_count``): a loop
    over them visits the rows in use in the order of a loop over every row, in
    :func:`live_count`'s steps instead of the table's. O(1)."""
    return j if j < ins.span[0] else ins.span[1] + j - ins.span[0]


@njit(cache=True)
def free_row(ins: Insurgents, i: int) -> None:
    """Return row ``i`` to the free stack. O(1)."""
    ins.role[i] = FREE
    ins.free_rows[ins.n_free[0]] = i
    ins.n_free[0] += 1


@njit(cache=True)
def spawn_recruits(people: Citizens, posture: np.ndarray, ins: Insurgents, counts: RoleCounts,
                   accept: float, key: np.uint64, pool: np.ndarray) -> int:
    """Turn the recruits of active supporters into insurgent rows at their cell, in citizen
    order: territorial where the local posture is not WITHDRAW, else sleepers (``counts``
    follow). Each recruit is taken w.p. ``accept`` (the organisation's absorptive capacity, an
    independent thinning, so no place is favoured; each recruit on a draw of its own,
    :func:`~resurgence.engine.counter_rng.counter_uniform_any`, however many a supporter
    brings); each recruit taken leaves the cell's recruitable ``pool``. O(citizens): a
    vectorised scan of blocks of ``SCAN`` agents skips those that offer none."""
    made = 0
    offers = people.recruits
    n = offers.shape[0]
    for start in range(0, n, SCAN):
        stop = min(start + SCAN, n)
        some = 0
        for i in range(start, stop):
            some |= offers[i]
        if some == 0:
            continue
        for i in range(start, stop):
            k = offers[i]
            if k == 0 or people.state[i] != ACTIVE:
                continue
            c = people.cell[i]
            for j in range(k):
                if accept < 1.0 and draw_any(key, i, j) >= accept:
                    continue
                r = new_row(ins)
                if r < 0:
                    return made
                ins.cell[r] = c
                if posture[c] != WITHDRAW:
                    ins.role[r] = TERRITORIAL
                    counts.terr[c] += 1
                else:
                    ins.role[r] = SLEEPER
                    counts.sleeper[c] += 1
                ins.origin[r] = LOCAL
                ins.jail[r] = 0
                pool[c] = max(0.0, pool[c] - 1.0)
                made += 1
    return made


@njit(cache=True)
def insurgent_counts(ins: Insurgents, counts: RoleCounts) -> None:
    """Per-cell counts of each insurgent role, from the rows. O(rows)."""
    counts.terr[:] = 0
    counts.desert[:] = 0
    counts.sleeper[:] = 0
    counts.captive[:] = 0
    for j in range(live_count(ins)):
        i = live_row(ins, j)
        r = ins.role[i]
        if r == TERRITORIAL:
            counts.terr[ins.cell[i]] += 1
        elif r == DESERT:
            counts.desert[ins.cell[i]] += 1
        elif r == SLEEPER:
            counts.sleeper[ins.cell[i]] += 1
        elif r == CAPTIVE:
            counts.captive[ins.cell[i]] += 1


@njit(cache=True)
def posture_and_move(ins: Insurgents, gov: np.ndarray, terrain: np.ndarray,
                     posture: np.ndarray, populated: np.ndarray, d_desert: np.ndarray,
                     d_urban: np.ndarray, d_target: np.ndarray, held: np.ndarray,
                     garrison: np.ndarray, terr: np.ndarray, score: np.ndarray,
                     nbr: np.ndarray, steps: int, sleeper_share: float, speed: float,
                     return_ok: np.ndarray, desert_stay: float, key: np.uint64) -> None:
    """The "return to the desert" doctrine and movement (DESIGN §2.3, the article).

    Where the local posture (of the fighter's cell) is WITHDRAW, each territorial fighter
    follows w.p. ``speed``: a share ``sigma`` stays as a sleeper (in the nearest populated
    cell), the rest become desert fighters. Where it is EXPAND and ``return_ok[gov]``
    (treasury, sympathy), desert fighters return as territorial fighters w.p. ``speed``.
    Then up to ``steps`` cells of movement: desert fighters toward the desert, and inside it
    to a random neighbouring desert cell unless they stay (w.p. ``desert_stay`` a step),
    sleepers toward population, territorial fighters beyond a held cell's ``garrison`` plus
    one into the best adjacent cell (``score``), others toward the nearest target
    (``d_target``). ``terr`` follows the territorial fighters' moves (not their changes of
    role: the rows are recounted after). Sequential in row order: O(rows x steps).
    """
    icell = ins.cell
    role = ins.role
    for j in range(live_count(ins)):
        i = live_row(ins, j)
        r = role[i]
        if r == FREE or r == CAPTIVE:
            continue
        c = icell[i]
        p = posture[c]
        if r == TERRITORIAL and p == WITHDRAW and draw(key, i, 0) < speed:
            r = SLEEPER if draw(key, i, 1) < sleeper_share else DESERT
            role[i] = r
        elif r == DESERT and p == EXPAND and return_ok[gov[c]] and draw(key, i, 0) < speed:
            r = TERRITORIAL
            role[i] = r
        for s in range(steps):
            c = icell[i]
            if r == DESERT:
                if terrain[c] != DESERT_T:
                    nc = step_down(c, d_desert, nbr)
                else:  # disperse inside the desert
                    k = int(step_uniform(key, i, s, 0) * nbr.shape[1])
                    nc = nbr[c, k]
                    if nc < 0 or terrain[nc] != DESERT_T or \
                            step_uniform(key, i, s, 1) < desert_stay:
                        nc = c
            elif r == SLEEPER:
                nc = step_down(c, d_urban, nbr) if not populated[c] else c
            else:  # territorial
                if held[c] and terr[c] > garrison[c] + 1.0:
                    best = c
                    bs = -1.0
                    for k in range(nbr.shape[1]):
                        m = nbr[c, k]
                        if m >= 0 and not held[m] and score[m] > bs:
                            bs = score[m]
                            best = m
                    nc = best
                elif held[c]:
                    nc = c
                else:
                    nc = step_down(c, d_target, nbr)
            if nc != c:
                if r == TERRITORIAL:
                    terr[c] -= 1
                    terr[nc] += 1
                icell[i] = nc


@njit(cache=True)
def can_take(fighters: np.ndarray, need: np.ndarray, power: np.ndarray,
             fighter_strength: float, inside: np.ndarray, block: np.ndarray, n_blocks: int,
             held: np.ndarray, assault: float, fort: np.ndarray) -> np.ndarray:
    """Per block (``block``: its id per cell; one cell at 10 km): could ``fighters`` take it,
    or keep it if ``held``? Take: ``sum F > 0``, ``sum F >= sum need`` and
    ``q sum F > sum E`` over the block's inside cells. Keep: the same with ``F`` worth
    ``a`` = ``assault`` times as much (the attacker's ratio: the group keeps a block until the
    forces wear its garrison down to ``1/a`` of what taking it needed), and its strength
    against ``E`` also ``fort[b]`` times (urban ground). O(cells)."""
    f = np.zeros(n_blocks)
    nd = np.zeros(n_blocks)
    e = np.zeros(n_blocks)
    mult = np.ones(n_blocks)
    walls = np.ones(n_blocks)
    for c in range(fighters.shape[0]):
        if inside[c]:
            b = block[c]
            f[b] += fighters[c]
            nd[b] += need[c]
            e[b] += power[c]
            if held[c]:
                mult[b] = assault
                walls[b] = fort[b]
    out = np.zeros(n_blocks, np.bool_)
    for b in range(n_blocks):
        x = mult[b] * f[b]
        out[b] = f[b] > 0 and x >= nd[b] and fighter_strength * x * walls[b] > e[b]
    return out


@njit(cache=True)
def control(terr: np.ndarray, need: np.ndarray, power: np.ndarray, fighter_strength: float,
            inside: np.ndarray, block: np.ndarray, n_blocks: int, held: np.ndarray,
            assault: float, fort: np.ndarray) -> None:
    """A block is held by the group when its territorial fighters could take it, or keep it
    if held (:func:`can_take`); every cell of a held block inside the theatre is held.
    O(cells)."""
    ok = can_take(terr, need, power, fighter_strength, inside, block, n_blocks, held, assault,
                  fort)
    for c in range(terr.shape[0]):
        held[c] = inside[c] and ok[block[c]]


@njit(cache=True)
def uprising(ins: Insurgents, counts: RoleCounts, members: np.ndarray, need: np.ndarray,
             power: np.ndarray, fighter_strength: float, inside: np.ndarray,
             block: np.ndarray, n_blocks: int, held: np.ndarray, assault: float,
             fort: np.ndarray, gov: np.ndarray, return_ok: np.ndarray, rate: float,
             key: np.uint64) -> int:
    """Sleepers rise where the group could take their block: where its members there
    (``members``: territorial, desert and sleepers) would take it, or keep it if ``held``, by
    the control rule (:func:`can_take`) and ``return_ok[gov]`` (treasury, base-group
    sympathy), each sleeper becomes a territorial fighter w.p. ``rate`` (``counts.terr`` and
    ``counts.sleeper`` follow). Returns the risen. O(rows + cells)."""
    ok = can_take(members, need, power, fighter_strength, inside, block, n_blocks, held,
                  assault, fort)
    risen = 0
    for j in range(live_count(ins)):
        i = live_row(ins, j)
        if ins.role[i] != SLEEPER:
            continue
        c = ins.cell[i]
        if ok[block[c]] and return_ok[gov[c]] and draw(key, i, 0) < rate:
            ins.role[i] = TERRITORIAL
            counts.terr[c] += 1
            counts.sleeper[c] -= 1
            risen += 1
    return risen


# --------------------------------------------------------------------------- combat
@njit(cache=True)
def ground_combat(ins: Insurgents, power: np.ndarray, hunters: np.ndarray, cover: np.ndarray,
                  pdet: np.ndarray, alpha: float, beta: float, sleeper_exposure: float,
                  capture: float, term: float, terrain: np.ndarray,
                  removed_by_terrain: np.ndarray, effort_by_terrain: np.ndarray,
                  engaged: np.ndarray, killed_cell: np.ndarray,
                  key: np.uint64) -> tuple[int, int, int]:
    """Attrition where forces meet (Kress & Szechtman 2009: detection sets the kill rate).

    A fighter (sleeper: times ``sleeper_exposure``) in a cell with ``E`` = ``power[c]`` security
    personnel is removed w.p. ``1 - exp(-alpha p_det E / (E + K_c))``, ``K_c`` = ``cover[c]`` the
    personnel that cover the ground halfway (residents and area to search; the model passes
    both summed over the cell's control block); removed fighters are captured w.p.
    ``capture`` (detained for ``U(1, term)`` weeks), else killed. Security casualties are
    ``Poisson(beta x engaged fighters)`` per cell. Effort (personnel-weeks of the forces sent
    after insurgents, ``hunters``, in cells with field fighters — territorial or desert, not
    sleepers; garrisons that protect the population are not counted) and the removals of field
    fighters are tallied by terrain: the cost of removing a fighter. Returns (insurgents
    killed, captured, security killed). O(rows + cells).
    """
    icell = ins.cell
    role = ins.role
    killed = 0
    captured = 0
    hunted = np.zeros(engaged.shape[0], np.bool_)
    for c in range(engaged.shape[0]):
        engaged[c] = 0.0
    for j in range(live_count(ins)):
        i = live_row(ins, j)
        r = role[i]
        if r == FREE or r == CAPTIVE:
            continue
        c = icell[i]
        expo = sleeper_exposure if r == SLEEPER else 1.0
        engaged[c] += expo
        e = power[c]
        if e <= 0.0:
            continue
        if r != SLEEPER:
            hunted[c] = True
        q = 1.0 - np.exp(-alpha * pdet[c] * expo * e / (e + cover[c]))
        if draw(key, i, 0) < q:
            if r != SLEEPER:
                removed_by_terrain[terrain[c]] += 1
            killed_cell[c] += 1.0
            if draw(key, i, 1) < capture:
                role[i] = CAPTIVE
                ins.jail[i] = 1 + int(draw(key, i, 2) * term)
                captured += 1
            else:
                free_row(ins, i)
                killed += 1
    sec = 0
    for c in range(engaged.shape[0]):
        if engaged[c] > 0.0 and power[c] > 0.0:
            if hunted[c]:
                effort_by_terrain[terrain[c]] += hunters[c]
            lost = poisson(beta * engaged[c] * min(1.0, power[c] / 100.0), key, 1_000_000_000 + c)
            lost = min(lost, int(power[c]))
            sec += lost
            killed_cell[c] += lost
    return killed, captured, sec


@njit(cache=True)
def air_strikes(ins: Insurgents, sorties: np.ndarray, pdet: np.ndarray, terr: np.ndarray,
                desert: np.ndarray, air_kill: float, key: np.uint64,
                killed_cell: np.ndarray) -> int:
    """Sorties (per cell, allocated by detected fighters) kill each territorial or desert
    fighter of the cell w.p. ``1 - exp(-air_kill sorties p_det / F)`` (``F`` = ``terr +
    desert``, the cell's field fighters as counted after movement). Returns the killed.
    O(rows)."""
    killed = 0
    for j in range(live_count(ins)):
        i = live_row(ins, j)
        r = ins.role[i]
        if r != TERRITORIAL and r != DESERT:
            continue
        c = ins.cell[i]
        s = sorties[c]
        if s <= 0.0:
            continue
        f = terr[c] + desert[c]
        q = 1.0 - np.exp(-air_kill * s * pdet[c] / max(f, 1.0))
        if draw(key, i, 0) < q:
            free_row(ins, i)
            killed += 1
            killed_cell[c] += 1.0
    return killed


@njit(cache=True)
def sleeper_attacks(ins: Insurgents, populated: np.ndarray, p_attack: float,
                    prevent: np.ndarray, casualties: float, capture: float, term: float,
                    attacks_cell: np.ndarray, casualties_cell: np.ndarray,
                    key: np.uint64) -> tuple[int, int, int]:
    """Each sleeper in a populated cell strikes w.p. ``p_attack`` (car bomb, hit and run); the
    attack is prevented w.p. ``prevent[c]`` (tips and security: the sleeper is then captured
    w.p. ``capture``), else it kills ``Poisson(lambda)``. Returns (attacks, prevented,
    casualties). O(rows)."""
    attacks = 0
    stopped = 0
    dead = 0
    for j in range(live_count(ins)):
        i = live_row(ins, j)
        if ins.role[i] != SLEEPER:
            continue
        c = ins.cell[i]
        if not populated[c] or draw(key, i, 0) >= p_attack:
            continue
        if draw(key, i, 1) < prevent[c]:
            stopped += 1
            if draw(key, i, 2) < capture:
                ins.role[i] = CAPTIVE
                ins.jail[i] = 1 + int(draw(key, i, 3) * term)
            continue
        attacks += 1
        k = poisson(casualties, key, i)
        dead += k
        attacks_cell[c] += 1.0
        casualties_cell[c] += k
    return attacks, stopped, dead


@njit(cache=True)
def captives(ins: Insurgents, cap: int) -> int:
    """Detained fighters serve their term (capped by ``cap``: a prison break releases them);
    released fighters go back to the desert. Returns the released. O(rows)."""
    released = 0
    for j in range(live_count(ins)):
        i = live_row(ins, j)
        if ins.role[i] != CAPTIVE:
            continue
        j = ins.jail[i] - 1
        if j > cap:
            j = cap
        if j <= 0:
            ins.jail[i] = 0
            ins.role[i] = DESERT
            released += 1
        else:
            ins.jail[i] = j
    return released


@njit(cache=True)
def escape(ins: Insurgents, n: float, key: np.uint64) -> int:
    """About ``n`` captives escape: each w.p. ``min(1, n / captives)`` (an independent
    thinning, so no row is favoured), back to the desert. Returns the escaped. O(rows)."""
    held = 0
    for j in range(live_count(ins)):
        if ins.role[live_row(ins, j)] == CAPTIVE:
            held += 1
    if held == 0:
        return 0
    p = min(1.0, n / held)
    out = 0
    for j in range(live_count(ins)):
        i = live_row(ins, j)
        if ins.role[i] == CAPTIVE and draw(key, i, 0) < p:
            ins.role[i] = DESERT
            ins.jail[i] = 0
            out += 1
    return out


@njit(cache=True)
def desertion(ins: Insurgents, rate: float, key: np.uint64) -> int:
    """Members leave w.p. ``rate`` per week (turnover, and desertion when unpaid). O(rows)."""
    gone = 0
    if rate <= 0.0:
        return 0
    for j in range(live_count(ins)):
        i = live_row(ins, j)
        r = ins.role[i]
        if (r == TERRITORIAL or r == DESERT or r == SLEEPER) and draw(key, i, 0) < rate:
            free_row(ins, i)
            gone += 1
    return gone


@njit(cache=True)
def arrivals(n: int, entry_cells: np.ndarray, ins: Insurgents, key: np.uint64,
             origin: int) -> int:
    """Place ``n`` fighters of ``origin`` (FOREIGN: the inflow; LOCAL: members back from a
    haven) as desert fighters at random open crossings. O(n)."""
    made = 0
    m = entry_cells.shape[0]
    if m == 0:
        return 0
    for k in range(n):
        r = new_row(ins)
        if r < 0:
            break
        ins.cell[r] = entry_cells[int(draw(key, k, 0) * m)]
        ins.role[r] = DESERT
        ins.origin[r] = origin
        ins.jail[r] = 0
        made += 1
    return made


@njit(cache=True)
def to_haven(ins: Insurgents, near: np.ndarray, rate: float, key: np.uint64) -> int:
    """Desert fighters in ``near`` cells leave the map for a safe haven w.p. ``rate`` (their
    rows are freed; the organisation counts them). O(rows)."""
    gone = 0
    for j in range(live_count(ins)):
        i = live_row(ins, j)
        if ins.role[i] == DESERT and near[ins.cell[i]] and draw(key, i, 0) < rate:
            free_row(ins, i)
            gone += 1
    return gone
