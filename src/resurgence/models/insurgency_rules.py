"""The rules of the insurgency model, as numba kernels over agent columns and cell fields.

Each kernel states its rule in one sentence, its source (see ``docs/model.md`` Part II) and its
cost. :mod:`resurgence.models.insurgency` composes them, one tick at a time, in the order of
DESIGN §2.4.

Random numbers come from a counter-based generator: the ``j``-th draw of item ``i`` in a
kernel is a hash of ``(seed, tick, stream, i, j)`` (SplitMix64's finaliser). No kernel carries
generator state from one item to the next, so the citizen kernel runs in parallel (``prange``)
and still gives the same bits whatever the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# citizen states (detention is not a state: ``jail > 0`` marks an agent whose members are held)
QUIET, SYMPATHISER, ACTIVE, DISPLACED, DEAD = 0, 1, 2, 4, 5
# insurgent roles (FREE: an unused row)
FREE, TERRITORIAL, DESERT, SLEEPER, CAPTIVE = 0, 1, 2, 3, 4
LOCAL, FOREIGN = 0, 1
# posture of a governorate
WITHDRAW, HOLD, EXPAND = 0, 1, 2
# terrain codes (resurgence.theatre.Terrain)
OUTSIDE, URBAN, RIVER, STEPPE, DESERT_T, MOUNTAIN = 0, 1, 2, 3, 4, 5

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_STEP_KEY = np.uint64(0xD6E8FEB86659FD93)  # odd: the keys of a walk's later steps
_MORE_KEY = np.uint64(0xA0761D6478BD642F)  # odd: the keys of an item's draws 16 and later
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def stream_key(seed: int, tick: int, stream: int) -> np.uint64:
    """The key of one kernel call's random stream (Python side). O(1)."""
    mask = (1 << 64) - 1
    z = (seed * 0x9E3779B97F4A7C15 + tick * 0xD1B54A32D192ED03 + stream * 0x8CB92BA72F3D8DD7)
    z &= mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return np.uint64(z ^ (z >> 31))


@njit(inline="always", cache=True)
def uniform(key: np.uint64, i: int, j: int) -> float:
    """The ``j``-th uniform [0, 1) draw of item ``i`` under ``key`` (SplitMix64). O(1)."""
    z = key + (np.uint64(i) * np.uint64(16) + np.uint64(j) + np.uint64(1)) * _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    z = z ^ (z >> _S31)
    return float(z >> _S11) * (1.0 / 9007199254740992.0)


@njit(inline="always", cache=True)
def any_uniform(key: np.uint64, i: int, j: int) -> float:
    """Draw ``j`` of item ``i`` for any ``j >= 0``: :func:`uniform` for the item's 16 draws, then
    ``j % 16`` under a key of each further 16 of its own (``uniform(key, i, 16)`` would be item
    ``i + 1``'s first draw). O(1)."""
    if j < 16:
        return uniform(key, i, j)
    return uniform(key + np.uint64(j // 16) * _MORE_KEY, i, j % 16)


@njit(inline="always", cache=True)
def step_uniform(key: np.uint64, i: int, s: int, j: int) -> float:
    """Draw ``j`` (0: direction, 1: stay) of step ``s`` of row ``i``'s walk in the desert: its
    row's draws ``2 + s`` and ``10 + s`` for the first four steps (the 10 km runs take four),
    then the draws of a key of the step's own. A row has 16 draws under one key: drawn
    ``10 + s`` for every step, a walk of seven steps or more (cells under 6 km) read the next
    row's first draws. O(1)."""
    if s < 4:
        return uniform(key, i, (2 if j == 0 else 10) + s)
    return uniform(key + np.uint64(s) * _STEP_KEY, i, j)


@njit(cache=True)
def poisson(lam: float, key: np.uint64, i: int) -> int:
    """A Poisson(``lam``) draw for item ``i``: inversion below 30, a rounded normal above.
    O(lam) draws below 30, O(1) above."""
    if lam <= 0.0:
        return 0
    if lam > 30.0:
        u1 = max(uniform(key, i, 0), 1e-300)
        u2 = uniform(key, i, 1)
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        return max(0, int(np.floor(lam + np.sqrt(lam) * z + 0.5)))
    u = uniform(key, i, 0)
    p = np.exp(-lam)
    cdf = p
    k = 0
    while u > cdf and k < 200:
        k += 1
        p *= lam / k
        cdf += p
    return k


# --------------------------------------------------------------------------- citizens
@njit(parallel=True, cache=True)
def citizens(cell, group, hardship, risk, state, jail, recruits, gov, legit, affinity,
             damage, deterrence, near, avail, arrest, battle, mortality, term, cap, t_s, t_r,
             expect, displacement, return_rate, key):
    """Every citizen decides at once (Epstein 2002 rule A with local risk; DESIGN §2.8).

    Grievance ``G = min(1, H + damage) (1 - L[g, gov]) a_g``, net risk ``N = R P`` (``P`` the
    cell's deterrence); sympathiser iff ``G - N > T_s``; active supporter iff ``G - N > T_r``
    and fighters are in vision; an active supporter is arrested w.p. ``arrest[c]``, else gives
    ``expect * near[c] * avail[c]`` recruits (randomly rounded; ``avail`` the cell's recruitable
    pool left, a share). An arrest takes the agent's active members, not its residents: they
    are held ``jail = U(1, term)`` weeks (capped by ``cap``: a release or a prison break), in
    which the agent cannot mobilise (a sympathiser at most; it can the week after); its
    residents stay, and live, flee, return and sympathise as any others. A resident dies w.p.
    ``mortality[c]`` (last week's civilian deaths per resident present); residents of a cell
    with battle deaths flee w.p. ``displacement * battle[c]``; the displaced return to quiet
    cells w.p. ``return_rate``. O(citizens), parallel, thread-count independent.
    """
    n = cell.shape[0]
    for i in prange(n):
        st = state[i]
        recruits[i] = 0
        held = jail[i] > 0  # this week the agent's members are held (released at its end if 1)
        if held:  # they serve their term, whatever becomes of their residents
            jail[i] = min(jail[i] - 1, cap)
        if st == DEAD:
            continue
        c = cell[i]
        if st == DISPLACED:
            if battle[c] <= 0.0 and uniform(key, i, 0) < return_rate:
                state[i] = QUIET
            continue
        if mortality[c] > 0.0 and uniform(key, i, 5) < mortality[c]:
            state[i] = DEAD
            continue
        if battle[c] > 0.0 and uniform(key, i, 1) < displacement * battle[c]:
            state[i] = DISPLACED
            continue
        g = group[i]
        h = hardship[i] + damage[c]
        if h > 1.0:
            h = 1.0
        grievance = h * (1.0 - legit[g, gov[c]]) * affinity[g]
        net = grievance - risk[i] * deterrence[c]
        if net > t_r and near[c] > 0.0 and not held:
            if uniform(key, i, 2) < arrest[c]:
                state[i] = SYMPATHISER
                jail[i] = 1 + int(uniform(key, i, 3) * term)
                continue
            state[i] = ACTIVE
            e = expect * near[c] * avail[c]
            recruits[i] = int(e + uniform(key, i, 4))
        elif net > t_s:
            state[i] = SYMPATHISER
        else:
            state[i] = QUIET


@njit(cache=True)
def census(cell, group, state, jail, recruits, gov, n_groups, n_gov, present, sym, act,
           displaced, detained, gov_sym, gov_present):
    """Per-cell counts of present, sympathetic (incl. active), active and displaced agents and
    of agents whose members are detained (``jail > 0``, whatever their residents' state), and
    per (group, governorate) sympathisers and residents; returns recruits asked for.
    Sequential: O(citizens)."""
    present[:] = 0
    sym[:] = 0
    act[:] = 0
    displaced[:] = 0
    detained[:] = 0
    gov_sym[:] = 0
    gov_present[:] = 0
    total = 0
    for i in range(cell.shape[0]):
        st = state[i]
        c = cell[i]
        if jail[i] > 0:
            detained[c] += 1
        if st == DISPLACED:
            displaced[c] += 1
            continue
        if st == DEAD:
            continue
        present[c] += 1
        gg = gov[c]
        gov_present[group[i], gg] += 1
        if st == SYMPATHISER or st == ACTIVE:
            sym[c] += 1
            gov_sym[group[i], gg] += 1
        if st == ACTIVE:
            act[c] += 1
            total += recruits[i]
    return total


# --------------------------------------------------------------------------- insurgents
@njit(cache=True)
def new_row(role, free_rows, n_free) -> int:
    """Pop a free insurgent row (-1 if the capacity is exhausted). O(1)."""
    if n_free[0] == 0:
        return -1
    n_free[0] -= 1
    return free_rows[n_free[0]]


@njit(cache=True)
def free_row(i, role, free_rows, n_free) -> None:
    """Return row ``i`` to the free stack. O(1)."""
    role[i] = FREE
    free_rows[n_free[0]] = i
    n_free[0] += 1


@njit(cache=True)
def spawn_recruits(cell, state, recruits, gov, terrain, posture, icell, role, origin, ijail,
                   free_rows, n_free, accept, key, pool) -> int:
    """Turn the recruits of active supporters into insurgent rows at their cell, in citizen
    order: territorial where the local posture is not WITHDRAW, else sleepers in
    populated cells. Each recruit is taken w.p. ``accept`` (the organisation's absorptive
    capacity, an independent thinning, so no place is favoured; each recruit on a draw of its
    own, :func:`any_uniform`, however many a supporter brings); each recruit taken leaves
    the cell's recruitable ``pool``. O(citizens)."""
    made = 0
    for i in range(cell.shape[0]):
        k = recruits[i]
        if k == 0 or state[i] != ACTIVE:
            continue
        c = cell[i]
        for j in range(k):
            if accept < 1.0 and any_uniform(key, i, j) >= accept:
                continue
            r = new_row(role, free_rows, n_free)
            if r < 0:
                return made
            icell[r] = c
            role[r] = TERRITORIAL if posture[c] != WITHDRAW else SLEEPER
            origin[r] = LOCAL
            ijail[r] = 0
            pool[c] = max(0.0, pool[c] - 1.0)
            made += 1
    return made


@njit(cache=True)
def insurgent_counts(icell, role, n_cells, terr, desert, sleeper, captive) -> None:
    """Per-cell counts of each insurgent role. O(rows)."""
    terr[:] = 0
    desert[:] = 0
    sleeper[:] = 0
    captive[:] = 0
    for i in range(icell.shape[0]):
        r = role[i]
        if r == TERRITORIAL:
            terr[icell[i]] += 1
        elif r == DESERT:
            desert[icell[i]] += 1
        elif r == SLEEPER:
            sleeper[icell[i]] += 1
        elif r == CAPTIVE:
            captive[icell[i]] += 1


@njit(cache=True)
def step_down(c, dist, nbr) -> int:
    """The neighbour of ``c`` with the smallest ``dist`` (``c`` itself if none is smaller).
    O(8)."""
    best = c
    bd = dist[c]
    for k in range(nbr.shape[1]):
        m = nbr[c, k]
        if m >= 0 and dist[m] < bd:
            bd = dist[m]
            best = m
    return best


@njit(cache=True)
def bfs(sources, nbr) -> np.ndarray:
    """Steps from every cell to the nearest source cell over inside neighbours (large where
    unreachable). O(cells)."""
    n = sources.shape[0]
    dist = np.full(n, 1 << 30, np.int32)
    queue = np.empty(n, np.int32)
    head = 0
    tail = 0
    for c in range(n):
        if sources[c]:
            dist[c] = 0
            queue[tail] = c
            tail += 1
    while head < tail:
        c = queue[head]
        head += 1
        for k in range(nbr.shape[1]):
            m = nbr[c, k]
            if m >= 0 and dist[m] > dist[c] + 1:
                dist[m] = dist[c] + 1
                queue[tail] = m
                tail += 1
    return dist


@njit(cache=True)
def posture_and_move(icell, role, gov, terrain, posture, populated, d_desert, d_urban,
                     d_target, held, garrison, terr, score, nbr, steps, sleeper_share, speed,
                     return_ok, desert_stay, key) -> None:
    """The "return to the desert" doctrine and movement (DESIGN §2.3, the article).

    Where the local posture (of the fighter's cell) is WITHDRAW, each territorial fighter
    follows w.p. ``speed``: a share ``sigma`` stays as a sleeper (in the nearest populated
    cell), the rest become desert fighters. Where it is EXPAND and ``return_ok[gov]``
    (treasury, sympathy), desert fighters return as territorial fighters w.p. ``speed``.
    Then up to ``steps`` cells of movement: desert fighters toward the desert, and inside it
    to a random neighbouring desert cell unless they stay (w.p. ``desert_stay`` a step),
    sleepers toward population, territorial fighters beyond a held cell's ``garrison`` plus
    one into the best adjacent cell (``score``), others toward the nearest target
    (``d_target``). Sequential in row order: O(rows x steps).
    """
    for i in range(icell.shape[0]):
        r = role[i]
        if r == FREE or r == CAPTIVE:
            continue
        c = icell[i]
        p = posture[c]
        if r == TERRITORIAL and p == WITHDRAW and uniform(key, i, 0) < speed:
            r = SLEEPER if uniform(key, i, 1) < sleeper_share else DESERT
            role[i] = r
        elif r == DESERT and p == EXPAND and return_ok[gov[c]] and uniform(key, i, 0) < speed:
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
def can_take(fighters, need, power, fighter_strength, inside, block, n_blocks, held,
             assault, fort) -> np.ndarray:
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
def control(terr, need, power, fighter_strength, inside, block, n_blocks, held,
            assault, fort) -> None:
    """A block is held by the group when its territorial fighters could take it, or keep it
    if held (:func:`can_take`); every cell of a held block inside the theatre is held.
    O(cells)."""
    ok = can_take(terr, need, power, fighter_strength, inside, block, n_blocks, held, assault,
                  fort)
    for c in range(terr.shape[0]):
        held[c] = inside[c] and ok[block[c]]


@njit(cache=True)
def uprising(icell, role, terr, sleeper, members, need, power, fighter_strength, inside, block,
             n_blocks, held, assault, fort, gov, return_ok, rate, key) -> int:
    """Sleepers rise where the group could take their block: where its members there
    (``members``: territorial, desert and sleepers) would take it, or keep it if ``held``, by
    the control rule (:func:`can_take`) and ``return_ok[gov]`` (treasury, Sunni sympathy),
    each sleeper becomes a territorial fighter w.p. ``rate`` (the per-cell counts ``terr``
    and ``sleeper`` follow). Returns the risen. O(rows + cells)."""
    ok = can_take(members, need, power, fighter_strength, inside, block, n_blocks, held,
                  assault, fort)
    risen = 0
    for i in range(icell.shape[0]):
        if role[i] != SLEEPER:
            continue
        c = icell[i]
        if ok[block[c]] and return_ok[gov[c]] and uniform(key, i, 0) < rate:
            role[i] = TERRITORIAL
            terr[c] += 1
            sleeper[c] -= 1
            risen += 1
    return risen


# --------------------------------------------------------------------------- combat
@njit(cache=True)
def ground_combat(icell, role, ijail, power, hunters, cover, pdet, alpha, beta, sleeper_exposure,
                  capture, term, terrain, removed_by_terrain, effort_by_terrain, engaged,
                  killed_cell, key, free_rows, n_free):
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
    killed = 0
    captured = 0
    hunted = np.zeros(engaged.shape[0], np.bool_)
    for c in range(engaged.shape[0]):
        engaged[c] = 0.0
    for i in range(icell.shape[0]):
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
        if uniform(key, i, 0) < q:
            if r != SLEEPER:
                removed_by_terrain[terrain[c]] += 1
            killed_cell[c] += 1.0
            if uniform(key, i, 1) < capture:
                role[i] = CAPTIVE
                ijail[i] = 1 + int(uniform(key, i, 2) * term)
                captured += 1
            else:
                free_row(i, role, free_rows, n_free)
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
def air_strikes(icell, role, sorties, pdet, terr, desert, air_kill, key, free_rows, n_free,
                killed_cell):
    """Sorties (per cell, allocated by detected fighters) kill each territorial or desert
    fighter of the cell w.p. ``1 - exp(-air_kill sorties p_det / F)``. Returns the killed.
    O(rows)."""
    killed = 0
    for i in range(icell.shape[0]):
        r = role[i]
        if r != TERRITORIAL and r != DESERT:
            continue
        c = icell[i]
        s = sorties[c]
        if s <= 0.0:
            continue
        f = terr[c] + desert[c]
        q = 1.0 - np.exp(-air_kill * s * pdet[c] / max(f, 1.0))
        if uniform(key, i, 0) < q:
            free_row(i, role, free_rows, n_free)
            killed += 1
            killed_cell[c] += 1.0
    return killed


@njit(cache=True)
def sleeper_attacks(icell, role, ijail, populated, p_attack, prevent, casualties, capture,
                    term, attacks_cell, casualties_cell, key, free_rows, n_free):
    """Each sleeper in a populated cell strikes w.p. ``p_attack`` (car bomb, hit and run); the
    attack is prevented w.p. ``prevent[c]`` (tips and security: the sleeper is then captured
    w.p. ``capture``), else it kills ``Poisson(lambda)``. Returns (attacks, prevented,
    casualties). O(rows)."""
    attacks = 0
    stopped = 0
    dead = 0
    for i in range(icell.shape[0]):
        if role[i] != SLEEPER:
            continue
        c = icell[i]
        if not populated[c] or uniform(key, i, 0) >= p_attack:
            continue
        if uniform(key, i, 1) < prevent[c]:
            stopped += 1
            if uniform(key, i, 2) < capture:
                role[i] = CAPTIVE
                ijail[i] = 1 + int(uniform(key, i, 3) * term)
            continue
        attacks += 1
        k = poisson(casualties, key, i)
        dead += k
        attacks_cell[c] += 1.0
        casualties_cell[c] += k
    return attacks, stopped, dead


@njit(cache=True)
def captives(icell, role, ijail, cap) -> int:
    """Detained fighters serve their term (capped by ``cap``: a prison break releases them);
    released fighters go back to the desert. Returns the released. O(rows)."""
    released = 0
    for i in range(icell.shape[0]):
        if role[i] != CAPTIVE:
            continue
        j = ijail[i] - 1
        if j > cap:
            j = cap
        if j <= 0:
            ijail[i] = 0
            role[i] = DESERT
            released += 1
        else:
            ijail[i] = j
    return released


@njit(cache=True)
def desertion(role, rate, key, free_rows, n_free) -> int:
    """Members leave w.p. ``rate`` per week (turnover, and desertion when unpaid). O(rows)."""
    gone = 0
    if rate <= 0.0:
        return 0
    for i in range(role.shape[0]):
        r = role[i]
        if (r == TERRITORIAL or r == DESERT or r == SLEEPER) and uniform(key, i, 0) < rate:
            free_row(i, role, free_rows, n_free)
            gone += 1
    return gone


@njit(cache=True)
def arrivals(n, entry_cells, icell, role, origin, ijail, key, free_rows, n_free) -> int:
    """Place ``n`` foreign fighters as desert fighters at random open crossings. O(n)."""
    made = 0
    m = entry_cells.shape[0]
    if m == 0:
        return 0
    for k in range(n):
        r = new_row(role, free_rows, n_free)
        if r < 0:
            break
        icell[r] = entry_cells[int(uniform(key, k, 0) * m)]
        role[r] = DESERT
        origin[r] = FOREIGN
        ijail[r] = 0
        made += 1
    return made
