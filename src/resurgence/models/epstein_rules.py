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
    at,
    below,
    bitmap_bytes,
    inlined,
    is_set,
    mark_add,
    marks_in_window,
    nth_in_spans,
    nth_in_window,
    outlined,
    prefetch,
    random_free_cell,
    random_free_cell_xy,
    set_bit,
    shuffle,
    torus_table,
    uniform,
    window_add,
    window_bits_pair,
    wrap,
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

#: one agent's record, 32 bytes (one cache line holds two agents): what a turn reads and writes
AGENT = np.dtype({
    "names": ["cell", "nxt", "hardship", "risk", "jail", "age", "kind", "group", "state"],
    "formats": [np.int32, np.int32, np.float32, np.float32, np.int32, np.int32, np.int8,
                np.int8, np.int8],
    "offsets": [0, 4, 8, 12, 16, 20, 24, 25, 26],
    "itemsize": 32,
})

#: ``Space.grid[cell]`` holds (HEAD, OCCUPIED), one 8-byte row per cell
HEAD, OCCUPIED = 0, 1
#: the two marked layers (:mod:`resurgence.engine.kernels`): cops and active citizens, counted
#: over citizen vision. ``Space.marks[k]`` is layer ``k``'s per-cell count, ``Space.bits[k]`` its
#: bitmap, ``Space.bits[FLAGS + k]`` its flags and ``Space.extra[k]`` its extra window field
COP_WINDOW, ACTIVE_WINDOW = 0, 1
FLAGS = 2
#: worlds of more cells than this keep layered counts, smaller ones direct counts (``Space``).
#: The direct window fields of this many cells fill 1 MB in int32 (more than 32,767 agents), a
#: core's L2 cache on the machines measured: at 200 x 200 direct counts run as fast or faster,
#: at 500 x 500 and 1000 x 1000 layered ones up to twice as fast (docs/benchmarks.md)
LAYERED_CELLS = 1 << 17


class Agents(NamedTuple):
    """Agent records (``rows``, one per agent: cops and citizens together; GONE rows are free)
    and a view of each of their fields, for Python-side code."""

    rows: np.ndarray  # AGENT records
    kind: np.ndarray  # int8: CITIZEN or COP
    group: np.ndarray  # int8: BLUE or GREEN (Model I: all BLUE)
    cell: np.ndarray  # int32: position, y * width + x
    state: np.ndarray  # int8: QUIET, ACTIVE, JAILED, GONE
    jail: np.ndarray  # int32: ticks left in jail
    age: np.ndarray  # int32: ticks lived (Model II)
    hardship: np.ndarray  # float32: H ~ U(0,1), exogenous
    risk: np.ndarray  # float32: R ~ U(0,1), exogenous
    nxt: np.ndarray  # int32: next occupant of the same cell (-1: none)


def agents(capacity: int) -> Agents:
    """``capacity`` zeroed agent records and their field views."""
    rows = np.zeros(capacity, AGENT)
    return Agents(rows, *(rows[f] for f in Agents._fields[1:]))


class Space(NamedTuple):
    """The torus, its occupant lists, and the counts of cops and actives in every cell's window,
    kept one of two ways, with the same counts:

    - *layered* (large worlds, :data:`LAYERED_CELLS`): marked layers
      (:mod:`resurgence.engine.kernels`). A move costs O(1), a count O(rows of the window),
      from bitmaps that stay in the L2 cache.
    - *direct* (``bits`` has no columns): ``extra`` holds the whole window counts, kept by
      ``window_add``. A move costs O(window), a count O(1). Both fields stay in the cache, so
      this is the faster way while the world is small.
    """

    width: int
    height: int
    grid: np.ndarray  # (cells, 2) int32: HEAD and OCCUPIED below
    head: np.ndarray  # int32 view of grid: first occupant (-1: empty)
    occupied: np.ndarray  # int32 view of grid: occupants that block movement
    marks: np.ndarray  # (2, cells) int16: cops (COP_WINDOW), active citizens in the cell
    actives: np.ndarray  # view of marks: active citizens in the cell
    bits: np.ndarray  # (4, kernels.bitmap_bytes or 0) uint8: the layers' bitmaps, their flags
    extra: np.ndarray  # (2, cells) window_dtype: the layers' extra fields, or the window counts
    blocked: np.ndarray  # uint8 bitmap, bit per cell (little-endian): occupied > 0
    citizen_offs: np.ndarray  # (n, 2) int32: citizen vision
    cop_offs: np.ndarray  # (n, 2) int32: cop vision
    citizen_spans: np.ndarray  # (rows, 4) int32: citizen vision as spans (kernels.spans)
    torus: np.ndarray  # int32: kernels.torus_table for the reach of both visions


def window_dtype(marked: int) -> np.dtype:
    """The narrowest signed integer that holds any window count when at most ``marked`` agents
    can be marked (cops, or citizens, that can exist at once): int16 up to 32,767, else int32.
    A window count never exceeds the number of marked agents, so the counts stay exact (the
    extra fields hold less than the window counts)."""
    return np.dtype(np.int16) if marked <= np.iinfo(np.int16).max else np.dtype(np.int32)


def space(width: int, height: int, citizen_offs: np.ndarray, cop_offs: np.ndarray,
          citizen_spans: np.ndarray, dtype: type = np.int32, layered: bool = True) -> Space:
    """An empty torus: no occupants, all counts zero; window fields of type ``dtype``;
    ``layered`` or direct counts (see ``Space``)."""
    cells = width * height
    grid = np.zeros((cells, 2), np.int32)
    grid[:, HEAD] = -1
    marks = np.zeros((2, cells), np.int16)
    bits = np.zeros((4, bitmap_bytes(cells) if layered else 0), np.uint8)
    return Space(width, height, grid, grid[:, HEAD], grid[:, OCCUPIED], marks,
                 marks[ACTIVE_WINDOW], bits, np.zeros((2, cells), dtype),
                 np.zeros((cells + 7) // 8, np.uint8), citizen_offs, cop_offs, citizen_spans,
                 torus_table(width, height, reach(citizen_offs, cop_offs)))


def reach(*offs: np.ndarray) -> int:
    """The largest ``|dx|`` or ``|dy|`` of the offset arrays ``offs`` (at least 1: the adjacent
    cells of Model II's births)."""
    return max([1, *(int(np.abs(o).max()) for o in offs if len(o))])


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
    own_cell: int  # 1 if citizen vision holds the own cell (NetLogo's disc), else 0
    risk_table: np.ndarray  # float64: arrest_probability per integer ratio (see risk_table)
    ratio_table: np.ndarray  # uint8 [actives, cops]: the rounded ratio (see ratio_table)
    width_magic: int  # cell // width == (cell * width_magic) >> width_shift (see cell_xy)
    width_shift: int
    citizens_first: bool  # every citizen's turn before every cop's (Epstein's Ascape code)


class Tally(NamedTuple):
    """Events counted during a tick, per group (index BLUE, GREEN)."""

    killed: np.ndarray  # int64[2]: citizens of the group killed by the other group
    born: np.ndarray  # int64[2]
    aged_out: np.ndarray  # int64[2]
    arrests: np.ndarray  # int64[2]


# The rules below take bare arrays (``rows``: AGENT records, ``grid``: Space.grid, ``win``:
# Space.extra, ``marks``, ``bits``,
# ``sp``: citizen vision spans, ``st``: the random state) rather than the NamedTuples, and read
# record fields one at a time, never as field views: either costs ~100 ns of reference counting
# per call, more than a whole agent's turn.

# --------------------------------------------------------------------------- perception
@inlined
def arrest_probability(cops: int, actives: int, p: Params) -> float:
    """Estimated arrest probability ``P = 1 - exp(-k f(C / A))``, ``A >= 1`` counting oneself.

    ``f`` is ``floor`` (NetLogo), round half to even (Mesa) or the identity (paper, eq. 2).
    With a rounding, ``f(C / A)`` comes from ``p.ratio_table`` and ``P`` from ``p.risk_table``
    (both computed once per parameter set by the same expressions, so bit for bit the same
    values) for the usual small counts: two loads instead of a division and a rounding.
    """
    if p.variant != PAPER:
        table = p.ratio_table
        if 0 < actives < table.shape[0] and 0 <= cops < table.shape[1]:
            return p.risk_table[table[at(actives), at(cops)]]
    ratio = rounded_ratio(cops, actives, p.variant)
    if p.variant == PAPER:
        return 1.0 - np.exp(-p.k * ratio)
    whole = int(ratio)  # an integer ratio: the value was computed once, by the same expression
    if whole < p.risk_table.shape[0]:
        return p.risk_table[whole]
    return 1.0 - np.exp(-p.k * ratio)


@inlined
def rounded_ratio(cops: int, actives: int, variant: int) -> float:
    """``f(C / A)`` of :func:`arrest_probability`: floored (NetLogo), rounded half to even
    (Mesa) or as is (paper)."""
    ratio = cops / actives
    if variant == NETLOGO:
        ratio = np.floor(ratio)
    elif variant == MESA:
        ratio = np.rint(ratio)
    return ratio


@njit(cache=True)
def risk_table(k: float, n: int) -> np.ndarray:
    """``1 - exp(-k r)`` for the integer ratios ``r = 0..n-1`` (:func:`arrest_probability`
    with NetLogo's or Mesa's rounding), computed by the same expression, so bit for bit."""
    out = np.empty(n)
    for r in range(n):
        ratio = float(r)
        out[r] = 1.0 - np.exp(-k * ratio)
    return out


@njit(cache=True)
def ratio_table(variant: int, n: int) -> np.ndarray:
    """``out[A, C]``: the rounded ratio ``f(C / A)`` (:func:`rounded_ratio`, the same
    expression) for ``A = 1..n-1`` actives (row 0 is unused) and ``C = 0..n-1`` cops, as uint8
    (``n <= 256``). Empty for the paper variant, which does not round."""
    if variant == PAPER:
        return np.zeros((0, 0), np.uint8)
    out = np.zeros((n, n), np.uint8)
    for a in range(1, n):
        for c in range(n):
            out[a, c] = int(rounded_ratio(c, a, variant))
    return out


def width_divisor(width: int) -> tuple[int, int]:
    """``(magic, shift)`` with ``cell // width == (cell * magic) >> shift`` for every cell
    ``0 <= cell < 2**31`` (Granlund and Montgomery 1994, Theorem 4.2: ``shift = 31 +
    ceil(log2 width)``, ``magic = 2**shift // width + 1 < 2**32``, so the product stays below
    2**63)."""
    shift = 31 + (width - 1).bit_length()
    return (1 << shift) // width + 1, shift


@inlined
def cell_xy(cell: int, width: int, p: Params) -> tuple[int, int]:
    """(x, y) of ``cell`` without a division: a multiplication and a shift (see
    :func:`width_divisor`). A division costs 20-40 cycles, and a move's draws wait for it."""
    y = (cell * p.width_magic) >> p.width_shift
    return cell - y * width, y


@inlined
def is_other(rows: np.ndarray, j: int, group: int) -> bool:
    """True if agent ``j`` is a free citizen of the other group than ``group``."""
    r = rows[j]
    return r.kind == CITIZEN and r.group != group and r.state != JAILED


@outlined
def count_others(rows: np.ndarray, grid: np.ndarray, i: int, offs: np.ndarray, width: int,
                 height: int) -> int:
    """Free citizens of the other group than ``i``'s within the window ``offs``. O(window)."""
    n = 0
    x0, y0, g = rows[i].cell % width, rows[i].cell // width, rows[i].group
    for k in range(offs.shape[0]):
        j = grid[wrap(x0 + offs[k, 0], y0 + offs[k, 1], width, height), HEAD]
        while j >= 0:
            if is_other(rows, j, g):
                n += 1
            j = rows[j].nxt
    return n


# --------------------------------------------------------------------------- bookkeeping
@inlined
def list_push(rows: np.ndarray, grid: np.ndarray, cell: int, i: int) -> None:
    """Put agent ``i`` in ``cell``'s occupant list (the cell's HEAD, then ``nxt``). O(1)."""
    rows[i].nxt = grid[cell, HEAD]
    grid[cell, HEAD] = i


@inlined
def list_remove(rows: np.ndarray, grid: np.ndarray, cell: int, i: int) -> None:
    """Take agent ``i`` out of ``cell``'s occupant list. O(occupants of the cell)."""
    prev = -1
    cur = grid[cell, HEAD]
    while cur != i:
        prev = cur
        cur = rows[cur].nxt
    if prev < 0:
        grid[cell, HEAD] = rows[i].nxt
    else:
        rows[prev].nxt = rows[i].nxt
    rows[i].nxt = -1


@inlined
def occupy(grid: np.ndarray, blocked: np.ndarray, cell: int, delta: int) -> None:
    """Add ``delta`` to ``cell``'s blocking occupants, keeping the ``blocked`` bitmap exact."""
    n = grid[cell, OCCUPIED] + delta
    grid[cell, OCCUPIED] = n
    set_bit(blocked, cell, n > 0)


@inlined
def mark(marks: np.ndarray, bits: np.ndarray, win: np.ndarray, kind: int, cell: int, sp: np.ndarray,
         delta: int, width: int, height: int) -> None:
    """Add ``delta`` (+1 or -1) cops (``kind`` COP_WINDOW) or actives (ACTIVE_WINDOW) to
    ``cell``. Layered: O(1) unless the cell holds more than one of them (kernels.mark_add);
    direct: O(window) (kernels.window_add)."""
    if is_direct(bits):
        marks[kind, cell] += delta
        window_add(win[kind], cell, sp, delta, width, height)
    else:
        mark_add(marks[kind], bits[kind], bits[FLAGS + kind], win[kind], cell, sp, delta, width,
                 height)


@inlined
def marked(bits: np.ndarray, win: np.ndarray, kind: int, cell: int, x0: int, y0: int,
           sp: np.ndarray, width: int, height: int) -> int:
    """The cops (``kind`` COP_WINDOW) or actives (ACTIVE_WINDOW) within citizen vision ``sp``
    of ``cell`` = (x0, y0). Layered: O(rows of the window) (kernels.marks_in_window); direct:
    O(1)."""
    if is_direct(bits):
        return win[kind, cell]
    return marks_in_window(bits[kind], bits[FLAGS + kind], win[kind], cell, x0, y0, sp, width,
                           height)


@inlined
def marked_both(bits: np.ndarray, win: np.ndarray, cell: int, x0: int, y0: int, sp: np.ndarray,
                width: int, height: int) -> tuple[int, int]:
    """(cops, actives) within citizen vision ``sp`` of ``cell`` = (x0, y0), as two
    :func:`marked` calls, with one walk of the window's rows when layered."""
    if is_direct(bits):
        return win[COP_WINDOW, cell], win[ACTIVE_WINDOW, cell]
    cops, actives = window_bits_pair(bits[COP_WINDOW], bits[ACTIVE_WINDOW], x0, y0, sp, width,
                                     height)
    if is_set(bits[FLAGS + COP_WINDOW], cell):
        cops += win[COP_WINDOW, cell]
    if is_set(bits[FLAGS + ACTIVE_WINDOW], cell):
        actives += win[ACTIVE_WINDOW, cell]
    return cops, actives


@inlined
def is_direct(bits: np.ndarray) -> bool:
    """True for a direct world (``Space.bits`` of no columns): ``Space.extra`` then holds the
    whole window counts, kept by :func:`resurgence.engine.kernels.window_add`."""
    return bits.shape[1] == 0


@inlined
def set_active(rows: np.ndarray, grid: np.ndarray, win: np.ndarray, blocked: np.ndarray,
               marks: np.ndarray, bits: np.ndarray, sp: np.ndarray, width: int, height: int, i: int,
               active: bool) -> None:
    """Mark citizen ``i`` active or quiet, keeping the active marked layer exact."""
    r = rows[i]
    was = r.state == ACTIVE
    r.state = ACTIVE if active else QUIET
    if was != active:
        mark(marks, bits, win, ACTIVE_WINDOW, r.cell, sp, 1 if active else -1, width, height)


@inlined
def _put(rows: np.ndarray, grid: np.ndarray, blocked: np.ndarray, i: int, cell: int) -> None:
    """Put agent ``i`` in ``cell``'s occupant list; no window count changes. O(1).

    A cell's list holds exactly its blocking occupants, so a free cell's list is empty: its row
    is then written without being read (no wait for a cache miss)."""
    rows[i].cell = cell
    if is_set(blocked, cell):
        list_push(rows, grid, cell, i)
        occupy(grid, blocked, cell, 1)
    else:
        rows[i].nxt = -1
        grid[cell, HEAD] = i
        grid[cell, OCCUPIED] = 1
        set_bit(blocked, cell, True)


@inlined
def _take(rows: np.ndarray, grid: np.ndarray, blocked: np.ndarray, i: int) -> None:
    """Take agent ``i`` out of its cell's occupant list; no window count changes."""
    cell = rows[i].cell
    list_remove(rows, grid, cell, i)
    occupy(grid, blocked, cell, -1)


@inlined
def _place(rows: np.ndarray, grid: np.ndarray, win: np.ndarray, blocked: np.ndarray,
           marks: np.ndarray, bits: np.ndarray, sp: np.ndarray, width: int, height: int, i: int,
           cell: int) -> None:
    """Put agent ``i`` (quiet or a cop) on ``cell``. O(1)."""
    _put(rows, grid, blocked, i, cell)
    if rows[i].kind == COP:
        mark(marks, bits, win, COP_WINDOW, cell, sp, 1, width, height)


@inlined
def _lift(rows: np.ndarray, grid: np.ndarray, win: np.ndarray, blocked: np.ndarray,
          marks: np.ndarray, bits: np.ndarray, sp: np.ndarray, width: int, height: int,
          i: int) -> None:
    """Take agent ``i`` off its cell (it must not be active). O(1)."""
    cell = rows[i].cell
    _take(rows, grid, blocked, i)
    if rows[i].kind == COP:
        mark(marks, bits, win, COP_WINDOW, cell, sp, -1, width, height)


@njit(cache=True)
def place(a: Agents, s: Space, i: int, cell: int) -> None:
    """Put agent ``i`` (quiet or a cop) on ``cell`` (for Python-side callers)."""
    _place(a.rows, s.grid, s.extra, s.blocked, s.marks, s.bits, s.citizen_spans, s.width,
           s.height, i, cell)


@njit(cache=True)
def lift(a: Agents, s: Space, i: int) -> None:
    """Take agent ``i`` off its cell (for Python-side callers)."""
    _lift(a.rows, s.grid, s.extra, s.blocked, s.marks, s.bits, s.citizen_spans, s.width,
          s.height, i)


@inlined
def relocate(rows: np.ndarray, grid: np.ndarray, win: np.ndarray, blocked: np.ndarray,
             marks: np.ndarray, bits: np.ndarray, sp: np.ndarray, width: int, height: int, i: int,
             target: int) -> None:
    """Move agent ``i`` to ``target``. O(1)."""
    active = rows[i].state == ACTIVE
    if active:
        set_active(rows, grid, win, blocked, marks, bits, sp, width, height, i, False)
    _lift(rows, grid, win, blocked, marks, bits, sp, width, height, i)
    _place(rows, grid, win, blocked, marks, bits, sp, width, height, i, target)
    if active:
        set_active(rows, grid, win, blocked, marks, bits, sp, width, height, i, True)


# --------------------------------------------------------------------------- rules
@inlined
def decide(rows: np.ndarray, grid: np.ndarray, win: np.ndarray, blocked: np.ndarray,
           marks: np.ndarray, bits: np.ndarray, offs: np.ndarray, sp: np.ndarray, width: int,
           height: int, i: int, p: Params) -> None:
    """Rule A: be active iff ``G - N > T``, grievance ``G = H (1 - L)``, net risk ``N = R P``.

    Model II adds: only if a member of the other group is within vision (``offs``).
    """
    active = wants_active(rows, grid, win, bits, offs, sp, width, height, i, p, 0)
    set_active(rows, grid, win, blocked, marks, bits, sp, width, height, i, active)


@inlined
def wants_active(rows: np.ndarray, grid: np.ndarray, win: np.ndarray, bits: np.ndarray,
                 offs: np.ndarray, sp: np.ndarray, width: int, height: int, i: int, p: Params,
                 unseen: int) -> bool:
    """Rule A for citizen ``i`` on its cell, whose active count is the window count plus
    ``unseen`` (the actives the count does not hold yet; see :func:`move_then_decide`)."""
    r = rows[i]
    c = r.cell
    legitimacy = p.legitimacy_green if r.group == GREEN else p.legitimacy_blue
    grievance = r.hardship * (1.0 - legitimacy)
    # N >= 0 (R >= 0, k >= 0), so G <= T already decides: quiet, with no exp and no read of
    # the cell's window counts (the same result, bit for bit)
    active = grievance > p.threshold
    if active:
        x0, y0 = cell_xy(c, width, p)
        cops, actives_seen = marked_both(bits, win, c, x0, y0, sp, width, height)
        actives_seen += unseen
        net_risk = r.risk * arrest_probability(cops, 1 + actives_seen, p)
        active = grievance - net_risk > p.threshold
    if active and p.two_groups:
        active = count_others(rows, grid, i, offs, width, height) > 0
    return active


@inlined
def move_then_decide(rows: np.ndarray, grid: np.ndarray, win: np.ndarray, blocked: np.ndarray,
                     marks: np.ndarray, bits: np.ndarray, offs: np.ndarray, torus: np.ndarray,
                     sp: np.ndarray, width: int, height: int, i: int, p: Params,
                     st: np.ndarray) -> None:
    """NetLogo and the paper: rule M (if movement is on), then rule A on the new cell.

    An active citizen that moves keeps its mark on its old cell until it has decided, then
    moves it once (or only removes it if it goes quiet): one or two mark updates instead of two
    or three. Its decision reads the same count as if the marks had moved first:
    the new cell lies in the old cell's window (the move is drawn from the vision ``offs``, the
    window's own offsets), which loses the agent, and in its own window only if the window holds
    its centre (NetLogo's disc)."""
    r = rows[i]
    old = r.cell
    target = -1
    if p.movement:
        x0, y0 = cell_xy(old, width, p)
        target = random_free_cell_xy(x0, y0, offs, torus, blocked, width, height, st)
    if target < 0 or r.state != ACTIVE:
        if target >= 0:
            _take(rows, grid, blocked, i)
            _put(rows, grid, blocked, i, target)
        decide(rows, grid, win, blocked, marks, bits, offs, sp, width, height, i, p)
        return
    _take(rows, grid, blocked, i)
    _put(rows, grid, blocked, i, target)
    stay = wants_active(rows, grid, win, bits, offs, sp, width, height, i, p, p.own_cell - 1)
    mark(marks, bits, win, ACTIVE_WINDOW, old, sp, -1, width, height)
    if stay:
        mark(marks, bits, win, ACTIVE_WINDOW, target, sp, 1, width, height)
    else:
        r.state = QUIET


@inlined
def move(rows: np.ndarray, grid: np.ndarray, win: np.ndarray, blocked: np.ndarray,
         marks: np.ndarray, bits: np.ndarray, offs: np.ndarray, torus: np.ndarray,
         sp: np.ndarray, width: int, height: int, i: int, p: Params, st: np.ndarray) -> None:
    """Rule M: move to a uniformly random unoccupied cell within vision (``offs``; ``torus``
    its wrap table), if any."""
    x0, y0 = cell_xy(rows[i].cell, width, p)
    target = random_free_cell_xy(x0, y0, offs, torus, blocked, width, height, st)
    if target >= 0:
        relocate(rows, grid, win, blocked, marks, bits, sp, width, height, i, target)


@inlined
def jail(rows: np.ndarray, grid: np.ndarray, win: np.ndarray, blocked: np.ndarray,
         marks: np.ndarray, bits: np.ndarray, sp: np.ndarray, width: int, height: int, i: int,
         p: Params, arrests: np.ndarray, st: np.ndarray) -> None:
    """Jail citizen ``i`` for a random term: 0..Jmax-1 (NetLogo ``random``), else 0..Jmax."""
    set_active(rows, grid, win, blocked, marks, bits, sp, width, height, i, False)
    r = rows[i]
    arrests[r.group] += 1
    if p.variant == NETLOGO:
        term = below(st, p.max_jail_term) if p.max_jail_term > 0 else 0
    else:
        term = below(st, p.max_jail_term + 1)
    r.jail = term
    if p.variant == MESA:
        r.state = JAILED  # ARRESTED until its next own step, even for a term of 0
    elif term > 0:
        r.state = JAILED
        list_remove(rows, grid, r.cell, i)  # still on the patch, but blocks nothing
        occupy(grid, blocked, r.cell, -1)


@inlined
def nth_occupant(rows: np.ndarray, grid: np.ndarray, cell: int, rank: int, group: int,
                 wanted: int) -> int:
    """The ``rank``-th occupant of ``cell`` that is active (``wanted`` = -1) or a free citizen of
    the other group than ``group`` (``wanted`` = that other group)."""
    j = grid[cell, HEAD]
    while j >= 0:
        if wanted < 0:
            hit = rows[j].state == ACTIVE
        else:
            hit = is_other(rows, j, group)
        if hit:
            if rank == 0:
                return j
            rank -= 1
        j = rows[j].nxt
    return -1


@inlined
def random_active_in_vision(rows: np.ndarray, grid: np.ndarray, win: np.ndarray,
                            blocked: np.ndarray, marks: np.ndarray, bits: np.ndarray,
                            cop_offs: np.ndarray, sp: np.ndarray, width: int, height: int, i: int,
                            p: Params, st: np.ndarray) -> int:
    """A uniformly random active citizen within cop ``i``'s vision, or -1. O(window).

    With ``p.same_vision`` the cop's window is the citizens' (``sp``, its spans)."""
    c = rows[i].cell
    if p.same_vision:  # O(1) when cops and citizens see the same window, and a walk by rows
        x0, y0 = cell_xy(c, width, p)
        total = marked(bits, win, ACTIVE_WINDOW, c, x0, y0, sp, width, height)
        if total == 0:
            return -1
        cell, rank = nth_in_spans(c, sp, marks[ACTIVE_WINDOW], below(st, total), width, height)
        return nth_occupant(rows, grid, cell, rank, -1, -1)
    else:
        total = 0
        x0, y0 = c % width, c // width
        for k in range(cop_offs.shape[0]):
            total += marks[ACTIVE_WINDOW, wrap(x0 + cop_offs[k, 0], y0 + cop_offs[k, 1], width,
                                               height)]
    if total == 0:
        return -1
    cell, rank = nth_in_window(c, cop_offs, marks[ACTIVE_WINDOW], below(st, total), width,
                               height)
    return nth_occupant(rows, grid, cell, rank, -1, -1)


@inlined
def enforce(rows: np.ndarray, grid: np.ndarray, win: np.ndarray, blocked: np.ndarray,
            marks: np.ndarray, bits: np.ndarray, cop_offs: np.ndarray, sp: np.ndarray, width: int,
            height: int, i: int, p: Params, arrests: np.ndarray, st: np.ndarray) -> None:
    """Mesa: rule C, arrest a random active citizen within vision (the cop stays where it is;
    NetLogo and the paper arrest within :func:`move_then_enforce`)."""
    suspect = random_active_in_vision(rows, grid, win, blocked, marks, bits, cop_offs, sp, width,
                                      height, i, p, st)
    if suspect >= 0:
        jail(rows, grid, win, blocked, marks, bits, sp, width, height, suspect, p, arrests, st)


@inlined
def move_then_enforce(rows: np.ndarray, grid: np.ndarray, win: np.ndarray, blocked: np.ndarray,
                      marks: np.ndarray, bits: np.ndarray, cop_offs: np.ndarray,
                      torus: np.ndarray, sp: np.ndarray, width: int, height: int, i: int,
                      p: Params, arrests: np.ndarray, st: np.ndarray) -> None:
    """NetLogo and the paper: a cop's rule M, then rule C (:func:`enforce`), with its mark
    moved once, from where it started to where it ends: nothing reads the cop counts during
    its turn, so they are exact again before anyone else acts."""
    start = rows[i].cell
    x0, y0 = cell_xy(start, width, p)
    target = random_free_cell_xy(x0, y0, cop_offs, torus, blocked, width, height, st)
    if target >= 0:
        _take(rows, grid, blocked, i)
        _put(rows, grid, blocked, i, target)
    suspect = random_active_in_vision(rows, grid, win, blocked, marks, bits, cop_offs, sp, width,
                                      height, i, p, st)
    if suspect >= 0:
        target = rows[suspect].cell
        jail(rows, grid, win, blocked, marks, bits, sp, width, height, suspect, p, arrests, st)
        if p.variant == NETLOGO and target != rows[i].cell:
            _take(rows, grid, blocked, i)
            _put(rows, grid, blocked, i, target)
    end = rows[i].cell
    if end != start:
        mark(marks, bits, win, COP_WINDOW, start, sp, -1, width, height)
        mark(marks, bits, win, COP_WINDOW, end, sp, 1, width, height)


@outlined
def kill_other(rows: np.ndarray, grid: np.ndarray, win: np.ndarray, blocked: np.ndarray,
               marks: np.ndarray, bits: np.ndarray, offs: np.ndarray, sp: np.ndarray, width: int,
               height: int, i: int, killed: np.ndarray, free_rows: np.ndarray, n_free: np.ndarray,
               st: np.ndarray) -> None:
    """Model II: an active kills one random free member of the other group within vision."""
    total = count_others(rows, grid, i, offs, width, height)
    if total == 0:
        return
    rank = below(st, total)
    group = rows[i].group
    other = 1 - group
    x0, y0 = rows[i].cell % width, rows[i].cell // width
    for k in range(offs.shape[0]):
        c = wrap(x0 + offs[k, 0], y0 + offs[k, 1], width, height)
        victim = nth_occupant(rows, grid, c, rank, group, other)
        if victim >= 0:
            die(rows, grid, win, blocked, marks, bits, sp, width, height, victim, free_rows, n_free)
            killed[other] += 1
            return
        j = grid[c, HEAD]
        while j >= 0:  # skip this cell's candidates
            if is_other(rows, j, group):
                rank -= 1
            j = rows[j].nxt


@inlined
def die(rows: np.ndarray, grid: np.ndarray, win: np.ndarray, blocked: np.ndarray, marks: np.ndarray,
        bits: np.ndarray, sp: np.ndarray, width: int, height: int, i: int, free_rows: np.ndarray,
        n_free: np.ndarray) -> None:
    """Remove citizen ``i`` from the world; its row goes on the stack of free rows."""
    if rows[i].state == ACTIVE:
        set_active(rows, grid, win, blocked, marks, bits, sp, width, height, i, False)
    if _occupies(rows, grid, i):  # NetLogo and paper: a jailed citizen holds no place
        _lift(rows, grid, win, blocked, marks, bits, sp, width, height, i)
    rows[i].state = GONE
    free_rows[n_free[0]] = i
    n_free[0] += 1


@inlined
def _occupies(rows: np.ndarray, grid: np.ndarray, i: int) -> bool:
    """True if ``i`` is in its cell's occupant list. O(occupants of the cell)."""
    j = grid[rows[i].cell, HEAD]
    while j >= 0:
        if j == i:
            return True
        j = rows[j].nxt
    return False


@outlined
def clone(rows: np.ndarray, grid: np.ndarray, win: np.ndarray, blocked: np.ndarray,
          marks: np.ndarray, bits: np.ndarray, sp: np.ndarray, width: int, height: int, i: int,
          free_rows: np.ndarray, n_free: np.ndarray, born: np.ndarray, st: np.ndarray) -> None:
    """Model II: a clone of ``i`` (group, H, R; quiet, age 0) on a random free adjacent cell."""
    if n_free[0] == 0:
        return
    target = random_free_cell(rows[i].cell, ADJACENT, blocked, width, height, st)
    if target < 0:
        return
    n_free[0] -= 1
    j = free_rows[n_free[0]]
    parent, child = rows[i], rows[j]
    child.kind = CITIZEN
    child.group = parent.group
    child.hardship = parent.hardship
    child.risk = parent.risk
    child.state = QUIET
    child.jail = 0
    child.age = -1  # born this tick: acts from the next tick on
    _place(rows, grid, win, blocked, marks, bits, sp, width, height, j, target)
    born[child.group] += 1


# --------------------------------------------------------------------------- schedule
#: how many turns ahead :func:`turns` prefetches an agent's record, and its cell's row
AHEAD_AGENT, AHEAD_CELL = 16, 8
#: worlds of at most this many agent rows (2 MB of records) run without the prefetches: their
#: arrays stay in the L2 cache, and the cell prefetch waits for a load of its own
PREFETCH_ROWS = 1 << 16


@njit(cache=True, _nrt=False)
def turns(rows: np.ndarray, grid: np.ndarray, win: np.ndarray, blocked: np.ndarray,
          marks: np.ndarray, bits: np.ndarray, citizen_offs: np.ndarray, cop_offs: np.ndarray,
          torus: np.ndarray, sp: np.ndarray, width: int, height: int, p: Params,
          killed: np.ndarray, born: np.ndarray,
          aged_out: np.ndarray, arrests: np.ndarray, order: np.ndarray, free_rows: np.ndarray,
          n_free: np.ndarray, st: np.ndarray, counts: np.ndarray, out: np.ndarray) -> None:
    """``len(out)`` ticks, each written to its row of ``out`` (int64, ``RECORD`` columns, see
    :func:`record`). In a tick every agent acts once, in a fresh random order (asynchronous
    activation); then the end-of-tick bookkeeping also takes the census into ``counts`` (as
    :func:`census`). The tally arrays (``killed`` ... ``arrests``) count one tick's events: they
    are zeroed at the start of each tick, and hold the last tick's afterwards. O(agents) per
    tick, plus O(rows of the window) per count read. In worlds of more
    than ``PREFETCH_ROWS`` agent rows the records of the agents next in the order, and their
    cells' rows, are prefetched: in random order nearly every record read misses the cache.

    :func:`tick_args` gives the arguments for a world but ``out``, all bare arrays (unboxing the
    NamedTuples costs a few microseconds per call). Several ticks in one call give the same
    result as one call per tick (nothing outside the arguments changes in between); they save
    the call's fixed cost, about 2 us, per tick.

    Each agent's turn is written out here, and the tick is not a function of its own: compiled
    apart, it was optimised by LLVM twice, on its own and again when linked into this one. The
    rules it calls are :data:`~resurgence.engine.kernels.inlined`: numba compiles each once, and
    LLVM inlines them here (docs/benchmarks.md, compile time)."""
    for t in range(out.shape[0]):
        for g in range(2):
            killed[g] = 0
            born[g] = 0
            aged_out[g] = 0
            arrests[g] = 0
        shuffle(order, st)
        n = order.shape[0]
        if p.citizens_first:
            citizens_first(rows, order)
        far = n > PREFETCH_ROWS  # a smaller world stays in the caches: no prefetch needed
        direct = is_direct(bits)  # a direct world's decisions read its window fields
        cop_win, active_win = win[COP_WINDOW], win[ACTIVE_WINDOW]
        for k in range(n):
            if far and k + AHEAD_AGENT < n:
                prefetch(rows, order[k + AHEAD_AGENT])
            if far and k + AHEAD_CELL < n:
                c = rows[order[k + AHEAD_CELL]].cell
                prefetch(grid, c)
                if direct:
                    prefetch(cop_win, c)
                    prefetch(active_win, c)
            i = order[k]
            if rows[i].state == GONE:
                continue
            r = rows[i]
            if r.kind == COP:  # the cop's turn: Mesa arrests then moves; NetLogo, paper reverse
                if p.variant == MESA:
                    enforce(rows, grid, win, blocked, marks, bits, cop_offs, sp, width, height, i,
                            p, arrests, st)
                    if p.movement:
                        move(rows, grid, win, blocked, marks, bits, cop_offs, torus, sp, width,
                             height, i, p, st)
                else:
                    move_then_enforce(rows, grid, win, blocked, marks, bits, cop_offs, torus, sp,
                                      width, height, i, p, arrests, st)
                continue
            # the citizen's turn, in its variant's order
            if p.two_groups:
                if r.age < 0:
                    continue  # a newborn waits for the next tick
                r.age += 1
                if r.age > p.max_age:
                    aged_out[r.group] += 1
                    die(rows, grid, win, blocked, marks, bits, sp, width, height, i, free_rows,
                        n_free)
                    continue
            if p.variant == MESA:
                if r.jail > 0:
                    r.jail -= 1  # serves one tick; stays ARRESTED until its next own step
                    continue
                decide(rows, grid, win, blocked, marks, bits, citizen_offs, sp, width, height, i, p)
                if p.movement:
                    move(rows, grid, win, blocked, marks, bits, citizen_offs, torus, sp, width,
                         height, i, p, st)
            else:
                if r.state == JAILED:
                    continue
                move_then_decide(rows, grid, win, blocked, marks, bits, citizen_offs, torus, sp,
                                 width, height, i, p, st)
            if p.two_groups:
                if r.state == ACTIVE:
                    kill_other(rows, grid, win, blocked, marks, bits, citizen_offs, sp, width,
                               height, i, killed, free_rows, n_free, st)
                if uniform(st) < p.clone_probability:
                    clone(rows, grid, win, blocked, marks, bits, sp, width, height, i, free_rows,
                          n_free, born, st)
        for g in range(3):
            for s in range(3):
                counts[g, s] = 0
        for i in range(rows.shape[0]):
            r = rows[i]
            if r.age < 0:
                r.age = 0
            if p.variant != MESA and r.state == JAILED:
                r.jail -= 1  # NetLogo: every term falls after all turtles have acted
                if r.jail <= 0:
                    r.jail = 0
                    r.state = QUIET
                    list_push(rows, grid, r.cell, i)
                    occupy(grid, blocked, r.cell, 1)
            s = r.state
            if s == GONE:
                continue
            if r.kind == COP:
                counts[2, 0] += 1
            else:
                counts[r.group, s] += 1
        record(counts, killed, born, aged_out, arrests, out, t)


#: columns of a tick's record (:func:`record`): quiet, active, jailed (both groups), cops; blue
#: quiet, active, jailed; green quiet, active, jailed; killed blue, killed green; born; aged out;
#: arrests
RECORD = 15


@njit(inline="always", cache=True)
def record(counts: np.ndarray, killed: np.ndarray, born: np.ndarray, aged_out: np.ndarray,
           arrests: np.ndarray, out: np.ndarray, t: int) -> None:
    """Row ``t`` of ``out``: the census ``counts`` (:func:`census`) and the tally of one tick."""
    for s in range(3):
        out[t, s] = counts[0, s] + counts[1, s]
        out[t, 4 + s] = counts[0, s]
        out[t, 7 + s] = counts[1, s]
    out[t, 3] = counts[2, 0]
    out[t, 10] = killed[0]
    out[t, 11] = killed[1]
    out[t, 12] = born[0] + born[1]
    out[t, 13] = aged_out[0] + aged_out[1]
    out[t, 14] = arrests[0] + arrests[1]


@njit(cache=True, _nrt=False)
def citizens_first(rows: np.ndarray, order: np.ndarray) -> None:
    """Reorder a shuffled ``order`` so that every citizen's turn comes before every cop's, in
    place, O(n): the schedule of Epstein's own Ascape code (``edu.brook.cv.CVModel``), where
    the citizens and the cops are two sub-scapes added in that order, the model runs its
    sub-scapes in order (its ``Propogate`` rule is not of random execution, so
    ``StrategyFactory`` tours them with the plain iterator), and each sub-scape runs its agents
    in a fresh random order (``Rule.isRandomExecution`` is true by default). Each kind keeps a
    uniformly random order: the swaps depend only on where the cops stand, so they permute the
    agents of one kind the same way whatever their relative order was."""
    j = 0
    for k in range(order.shape[0]):
        i = order[k]
        if rows[i].kind != COP:
            order[k] = order[j]
            order[j] = i
            j += 1


def tick_args(a: Agents, s: Space, p: Params, t: Tally, order: np.ndarray, free_rows: np.ndarray,
              n_free: np.ndarray, st: np.ndarray, counts: np.ndarray) -> tuple:
    """The arguments of :func:`turns` for a world but the last, ``out`` (rebuild them when ``s``
    or ``p`` change)."""
    return (a.rows, s.grid, s.extra, s.blocked, s.marks, s.bits, s.citizen_offs, s.cop_offs,
            s.torus, s.citizen_spans, s.width, s.height, p, t.killed, t.born, t.aged_out,
            t.arrests, order, free_rows, n_free, st, counts)


@njit(cache=True)
def tick(a: Agents, s: Space, p: Params, t: Tally, order: np.ndarray, free_rows: np.ndarray,
         n_free: np.ndarray, st: np.ndarray) -> None:
    """One tick (see :func:`turns`), adding its events to the tally ``t``."""
    counts = np.zeros((3, 3), np.int64)
    killed, born = np.zeros(2, np.int64), np.zeros(2, np.int64)
    aged_out, arrests = np.zeros(2, np.int64), np.zeros(2, np.int64)
    turns(a.rows, s.grid, s.extra, s.blocked, s.marks, s.bits, s.citizen_offs, s.cop_offs,
          s.torus, s.citizen_spans, s.width, s.height, p, killed, born, aged_out, arrests,
          order, free_rows, n_free, st, counts, np.zeros((1, RECORD), np.int64))
    t.killed[:] += killed
    t.born[:] += born
    t.aged_out[:] += aged_out
    t.arrests[:] += arrests


@njit(cache=True)
def census(rows: np.ndarray, out: np.ndarray) -> None:
    """``out[g, state]``: citizens of group ``g`` per state (QUIET, ACTIVE, JAILED); ``out[2,0]``:
    cops, over the agent records ``rows`` (``Agents.rows``). O(agents)."""
    out[:] = 0
    for i in range(rows.shape[0]):
        st = rows[i].state
        if st == GONE:
            continue
        if rows[i].kind == COP:
            out[2, 0] += 1
        else:
            out[rows[i].group, st] += 1
