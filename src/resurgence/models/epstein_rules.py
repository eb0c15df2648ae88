"""The agent rules of Epstein's civil violence model, as numba functions over agent columns.

Each function states its rule and its source; :func:`tick` composes them in the order of the
variant's schedule. Sources (see ``docs/model.md`` for quotes):

- Epstein, J. M. (2002). Modeling civil violence: an agent-based computational approach.
  PNAS 99 (suppl. 3): 7243-7250 — rules A (activation), C (cops), M (movement), Model II.
- NetLogo *Rebellion* (Wilensky 2004, ``Sample Models/Social Science/Rebellion.nlogo``).
- Mesa 3.5.1, ``mesa/examples/advanced/epstein_civil_violence/agents.py``.
- Epstein's Ascape code (``edu/brook/cv``, Brookings 1998-2007) for the Model II details the
  paper leaves open (kill and clone rules, ages).

Variants:

``NETLOGO``
    Vision ``patches in-radius vision``: a Euclidean disc *including* the own patch, so
    ``A = 1 + actives in vision`` counts an already active agent twice;
    ``P = 1 - exp(-k floor(C / A))``. Each turtle, in one random order, moves then decides
    (citizens) or moves then enforces (cops: arrest a random active in vision, jail it for
    ``random Jmax`` = 0..Jmax-1 ticks, and move onto its patch). Cops move even with movement
    off. Jailed citizens stay on their patch but do not block it; all terms fall by one after
    every turtle has acted.
``MESA``
    Von Neumann neighbourhood of radius ``cop_vision`` for everyone (the example reads
    ``cop_vision`` for citizens too), centre excluded; ``P = 1 - exp(-k round(C / A))`` (half to
    even, as Python's ``round``). A jailed citizen's step only serves one tick (it stays
    ARRESTED until its next own step); a free citizen decides, then moves; a cop arrests a
    random active in vision (``randint(0, Jmax)``, both ends) without moving onto it, then
    moves. Arrested citizens stay on, and block, their cell. ``movement`` stops cops too.
``PAPER``
    As printed: ``P = 1 - exp(-k C / A)`` with no rounding, ``A`` = 1 + actives in vision
    excluding oneself ("the agent always counts himself as active"); the agent "moves to a
    random site within his vision, where he acts in accord with rule C (if a cop) or A";
    jail term uniform on 0..Jmax. Where the paper is silent it follows NetLogo's schedule and
    jail (a disc excluding the centre, jailed citizens do not block).

Model II (two groups; Epstein 2002, Runs 6-8): an agent may go active only if a member of the
other group is within vision; an active kills one random member of the other group within
vision per tick; each tick an agent clones itself (group, hardship, risk aversion) onto a free
adjacent cell with probability ``clone_probability`` (the clone acts from the next tick on);
agents die when older than ``max_age``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from resurgence.engine.kernels import (
    list_push,
    list_remove,
    nth_in_window,
    random_free_cell,
    shift,
    window_add,
)

NETLOGO, MESA, PAPER = 0, 1, 2
VARIANTS = {"netlogo": NETLOGO, "mesa": MESA, "paper": PAPER}

CITIZEN, COP = 0, 1
QUIET, ACTIVE, JAILED, GONE = 0, 1, 2, 3
BLUE, GREEN = 0, 1

#: the 8 cells adjacent to a cell, where a clone is born (Ascape's Moore random neighbour)
ADJACENT = np.array(
    [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)], dtype=np.int32
)


class Agents(NamedTuple):
    """Agent columns, one row per agent (cops and citizens together; GONE rows are free)."""

    kind: np.ndarray  # int8: CITIZEN or COP
    group: np.ndarray  # int8: BLUE or GREEN (Model I: all BLUE)
    cell: np.ndarray  # int32: position, y * width + x
    state: np.ndarray  # int8: QUIET, ACTIVE, JAILED, GONE
    jail: np.ndarray  # int32: ticks left in jail
    age: np.ndarray  # int32: ticks lived (Model II)
    hardship: np.ndarray  # float32: H ~ U(0,1), exogenous
    risk: np.ndarray  # float32: R ~ U(0,1), exogenous
    nxt: np.ndarray  # int32: next occupant of the same cell (-1: none)


class Space(NamedTuple):
    """The torus and the count fields that let every rule read its neighbourhood in O(1)."""

    width: int
    height: int
    head: np.ndarray  # int32 per cell: first occupant (-1: empty)
    occupied: np.ndarray  # int16 per cell: occupants that block movement
    actives: np.ndarray  # int16 per cell: active citizens in the cell
    cop_window: np.ndarray  # int32 per cell: cops within citizen vision of the cell
    active_window: np.ndarray  # int32 per cell: actives within citizen vision of the cell
    citizen_offs: np.ndarray  # (n, 2) int32: citizen vision
    cop_offs: np.ndarray  # (n, 2) int32: cop vision


class Params(NamedTuple):
    """Parameters in force this tick (rebuilt when the timeline changes one)."""

    variant: int
    two_groups: bool
    legitimacy_blue: float
    legitimacy_green: float
    threshold: float
    k: float
    max_jail_term: int
    movement: bool
    same_vision: bool  # citizen and cop windows are the same set of offsets
    clone_probability: float
    max_age: int


class Tally(NamedTuple):
    """Events counted during a tick, per group (index BLUE, GREEN)."""

    killed: np.ndarray  # int64[2]: citizens of the group killed by the other group
    born: np.ndarray  # int64[2]
    aged_out: np.ndarray  # int64[2]
    arrests: np.ndarray  # int64[2]


# --------------------------------------------------------------------------- perception
@njit(inline="always", cache=True)
def arrest_probability(cops: int, actives: int, p: Params) -> float:
    """Estimated arrest probability ``P = 1 - exp(-k f(C / A))``, ``A >= 1`` counting oneself.

    ``f`` is ``floor`` (NetLogo), round half to even (Mesa) or the identity (paper, eq. 2).
    """
    ratio = cops / actives
    if p.variant == NETLOGO:
        ratio = np.floor(ratio)
    elif p.variant == MESA:
        ratio = np.rint(ratio)
    return 1.0 - np.exp(-p.k * ratio)


@njit(inline="always", cache=True)
def count_others(a: Agents, s: Space, i: int, offs: np.ndarray) -> int:
    """Free citizens of the other group than ``i``'s within the window ``offs``. O(window)."""
    n = 0
    for k in range(offs.shape[0]):
        j = s.head[shift(a.cell[i], offs[k, 0], offs[k, 1], s.width, s.height)]
        while j >= 0:
            if a.kind[j] == CITIZEN and a.group[j] != a.group[i] and a.state[j] != JAILED:
                n += 1
            j = a.nxt[j]
    return n


# --------------------------------------------------------------------------- bookkeeping
@njit(inline="always", cache=True)
def set_active(a: Agents, s: Space, i: int, active: bool) -> None:
    """Mark citizen ``i`` active or quiet, keeping the active count fields exact."""
    was = a.state[i] == ACTIVE
    a.state[i] = ACTIVE if active else QUIET
    if was != active:
        delta = 1 if active else -1
        s.actives[a.cell[i]] += delta
        window_add(s.active_window, a.cell[i], s.citizen_offs, delta, s.width, s.height)


@njit(inline="always", cache=True)
def place(a: Agents, s: Space, i: int, cell: int) -> None:
    """Put agent ``i`` (quiet or a cop) on ``cell``. O(window) for a cop, else O(1)."""
    a.cell[i] = cell
    list_push(s.head, a.nxt, cell, i)
    s.occupied[cell] += 1
    if a.kind[i] == COP:
        window_add(s.cop_window, cell, s.citizen_offs, 1, s.width, s.height)


@njit(inline="always", cache=True)
def lift(a: Agents, s: Space, i: int) -> None:
    """Take agent ``i`` off its cell (it must not be active). O(window) for a cop, else O(1)."""
    cell = a.cell[i]
    list_remove(s.head, a.nxt, cell, i)
    s.occupied[cell] -= 1
    if a.kind[i] == COP:
        window_add(s.cop_window, cell, s.citizen_offs, -1, s.width, s.height)


@njit(inline="always", cache=True)
def relocate(a: Agents, s: Space, i: int, target: int) -> None:
    """Move agent ``i`` to ``target``; O(window) if it is a cop or active, else O(1)."""
    active = a.state[i] == ACTIVE
    if active:
        set_active(a, s, i, False)
    lift(a, s, i)
    place(a, s, i, target)
    if active:
        set_active(a, s, i, True)


# --------------------------------------------------------------------------- rules
@njit(inline="always", cache=True)
def decide(a: Agents, s: Space, i: int, p: Params) -> None:
    """Rule A: be active iff ``G - N > T``, grievance ``G = H (1 - L)``, net risk ``N = R P``.

    Model II adds: only if a member of the other group is within vision.
    """
    c = a.cell[i]
    legitimacy = p.legitimacy_green if a.group[i] == GREEN else p.legitimacy_blue
    grievance = a.hardship[i] * (1.0 - legitimacy)
    net_risk = a.risk[i] * arrest_probability(s.cop_window[c], 1 + s.active_window[c], p)
    active = grievance - net_risk > p.threshold
    if active and p.two_groups:
        active = count_others(a, s, i, s.citizen_offs) > 0
    set_active(a, s, i, active)


@njit(inline="always", cache=True)
def move(a: Agents, s: Space, i: int, rng: np.random.Generator) -> None:
    """Rule M: move to a uniformly random unoccupied cell within vision, if there is one."""
    offs = s.cop_offs if a.kind[i] == COP else s.citizen_offs
    target = random_free_cell(a.cell[i], offs, s.occupied, s.width, s.height, rng)
    if target >= 0:
        relocate(a, s, i, target)


@njit(inline="always", cache=True)
def jail(a: Agents, s: Space, i: int, p: Params, t: Tally, rng: np.random.Generator) -> None:
    """Jail citizen ``i`` for a random term: 0..Jmax-1 (NetLogo ``random``), else 0..Jmax."""
    set_active(a, s, i, False)
    t.arrests[a.group[i]] += 1
    if p.variant == NETLOGO:
        term = rng.integers(0, p.max_jail_term) if p.max_jail_term > 0 else 0
    else:
        term = rng.integers(0, p.max_jail_term + 1)
    a.jail[i] = term
    if p.variant == MESA:
        a.state[i] = JAILED  # ARRESTED until its next own step, even for a term of 0
    elif term > 0:
        a.state[i] = JAILED
        list_remove(s.head, a.nxt, a.cell[i], i)  # still on the patch, but blocks nothing
        s.occupied[a.cell[i]] -= 1


@njit(inline="always", cache=True)
def nth_occupant(a: Agents, s: Space, cell: int, rank: int, i: int, wanted: int) -> int:
    """The ``rank``-th occupant of ``cell`` that is active (``wanted`` = -1) or a free citizen of
    the other group than ``i`` (``wanted`` = that group)."""
    j = s.head[cell]
    while j >= 0:
        if wanted < 0:
            hit = a.state[j] == ACTIVE
        else:
            hit = a.kind[j] == CITIZEN and a.group[j] == wanted and a.state[j] != JAILED
        if hit:
            if rank == 0:
                return j
            rank -= 1
        j = a.nxt[j]
    return -1


@njit(inline="always", cache=True)
def random_active_in_vision(a: Agents, s: Space, i: int, p: Params,
                            rng: np.random.Generator) -> int:
    """A uniformly random active citizen within cop ``i``'s vision, or -1. O(window)."""
    c = a.cell[i]
    if p.same_vision:
        total = s.active_window[c]  # O(1) when cops and citizens see the same window
    else:
        total = 0
        for k in range(s.cop_offs.shape[0]):
            total += s.actives[shift(c, s.cop_offs[k, 0], s.cop_offs[k, 1], s.width, s.height)]
    if total == 0:
        return -1
    cell, rank = nth_in_window(c, s.cop_offs, s.actives, rng.integers(0, total), s.width,
                               s.height)
    return nth_occupant(a, s, cell, rank, i, -1)


@njit(inline="always", cache=True)
def enforce(a: Agents, s: Space, i: int, p: Params, t: Tally, rng: np.random.Generator) -> None:
    """Rule C: arrest a random active citizen within vision (NetLogo: and move onto its patch)."""
    suspect = random_active_in_vision(a, s, i, p, rng)
    if suspect < 0:
        return
    target = a.cell[suspect]
    jail(a, s, suspect, p, t, rng)
    if p.variant == NETLOGO and target != a.cell[i]:
        relocate(a, s, i, target)


@njit(inline="always", cache=True)
def kill_other(a: Agents, s: Space, i: int, t: Tally, free_rows: np.ndarray, n_free: np.ndarray,
               rng: np.random.Generator) -> None:
    """Model II: an active kills one random free member of the other group within vision."""
    total = count_others(a, s, i, s.citizen_offs)
    if total == 0:
        return
    rank = rng.integers(0, total)
    other = 1 - a.group[i]
    for k in range(s.citizen_offs.shape[0]):
        c = shift(a.cell[i], s.citizen_offs[k, 0], s.citizen_offs[k, 1], s.width, s.height)
        victim = nth_occupant(a, s, c, rank, i, other)
        if victim >= 0:
            die(a, s, victim, free_rows, n_free)
            t.killed[other] += 1
            return
        j = s.head[c]
        while j >= 0:  # skip this cell's candidates
            if a.kind[j] == CITIZEN and a.group[j] == other and a.state[j] != JAILED:
                rank -= 1
            j = a.nxt[j]


@njit(inline="always", cache=True)
def die(a: Agents, s: Space, i: int, free_rows: np.ndarray, n_free: np.ndarray) -> None:
    """Remove citizen ``i`` from the world; its row goes on the stack of free rows."""
    if a.state[i] == ACTIVE:
        set_active(a, s, i, False)
    if _occupies(a, s, i):  # NetLogo and paper: a jailed citizen holds no place on its patch
        lift(a, s, i)
    a.state[i] = GONE
    free_rows[n_free[0]] = i
    n_free[0] += 1


@njit(inline="always", cache=True)
def _occupies(a: Agents, s: Space, i: int) -> bool:
    """True if ``i`` is in its cell's occupant list. O(occupants of the cell)."""
    j = s.head[a.cell[i]]
    while j >= 0:
        if j == i:
            return True
        j = a.nxt[j]
    return False


@njit(inline="always", cache=True)
def clone(a: Agents, s: Space, i: int, free_rows: np.ndarray, n_free: np.ndarray, t: Tally,
          rng: np.random.Generator) -> None:
    """Model II: a clone of ``i`` (group, H, R; quiet, age 0) on a random free adjacent cell."""
    if n_free[0] == 0:
        return
    target = random_free_cell(a.cell[i], ADJACENT, s.occupied, s.width, s.height, rng)
    if target < 0:
        return
    n_free[0] -= 1
    j = free_rows[n_free[0]]
    a.kind[j] = CITIZEN
    a.group[j] = a.group[i]
    a.hardship[j] = a.hardship[i]
    a.risk[j] = a.risk[i]
    a.state[j] = QUIET
    a.jail[j] = 0
    a.age[j] = -1  # born this tick: acts from the next tick on
    place(a, s, j, target)
    t.born[a.group[j]] += 1


# --------------------------------------------------------------------------- schedule
@njit(inline="always", cache=True)
def citizen_turn(a: Agents, s: Space, i: int, p: Params, t: Tally, free_rows: np.ndarray,
                 n_free: np.ndarray, rng: np.random.Generator) -> None:
    """One citizen's turn, in its variant's order."""
    if p.two_groups:
        if a.age[i] < 0:
            return  # a newborn waits for the next tick
        a.age[i] += 1
        if a.age[i] > p.max_age:
            t.aged_out[a.group[i]] += 1
            die(a, s, i, free_rows, n_free)
            return
    if p.variant == MESA:
        if a.jail[i] > 0:
            a.jail[i] -= 1  # serves one tick; stays ARRESTED until its next own step
            return
        decide(a, s, i, p)
        if p.movement:
            move(a, s, i, rng)
    else:
        if a.state[i] == JAILED:
            return
        if p.movement:
            move(a, s, i, rng)
        decide(a, s, i, p)
    if p.two_groups:
        if a.state[i] == ACTIVE:
            kill_other(a, s, i, t, free_rows, n_free, rng)
        if rng.random() < p.clone_probability:
            clone(a, s, i, free_rows, n_free, t, rng)


@njit(inline="always", cache=True)
def cop_turn(a: Agents, s: Space, i: int, p: Params, t: Tally, rng: np.random.Generator) -> None:
    """One cop's turn: Mesa arrests then moves; NetLogo and the paper move then arrest."""
    if p.variant == MESA:
        enforce(a, s, i, p, t, rng)
        if p.movement:
            move(a, s, i, rng)
    else:
        move(a, s, i, rng)
        enforce(a, s, i, p, t, rng)


@njit(cache=True)
def tick(a: Agents, s: Space, p: Params, t: Tally, order: np.ndarray, free_rows: np.ndarray,
         n_free: np.ndarray, rng: np.random.Generator) -> None:
    """One tick: every agent acts once, in a fresh random order (asynchronous activation).

    O(agents), plus O(window) per cop and per active that moves or changes state.
    """
    rng.shuffle(order)
    for i in order:
        if a.state[i] == GONE:
            continue
        if a.kind[i] == COP:
            cop_turn(a, s, i, p, t, rng)
        else:
            citizen_turn(a, s, i, p, t, free_rows, n_free, rng)
    for i in range(a.state.shape[0]):
        if a.age[i] < 0:
            a.age[i] = 0
        if p.variant == MESA or a.state[i] != JAILED:
            continue
        a.jail[i] -= 1  # NetLogo: every term falls after all turtles have acted
        if a.jail[i] <= 0:
            a.jail[i] = 0
            a.state[i] = QUIET
            list_push(s.head, a.nxt, a.cell[i], i)
            s.occupied[a.cell[i]] += 1


@njit(cache=True)
def census(a: Agents, out: np.ndarray) -> None:
    """``out[g, state]``: citizens of group ``g`` per state (QUIET, ACTIVE, JAILED); ``out[2,0]``:
    cops. O(agents)."""
    out[:] = 0
    for i in range(a.state.shape[0]):
        st = a.state[i]
        if st == GONE:
            continue
        if a.kind[i] == COP:
            out[2, 0] += 1
        else:
            out[a.group[i], st] += 1
