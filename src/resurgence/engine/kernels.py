"""Numba kernels shared by the models: window counts, occupancy lists, random choices in vision.

Space is a torus of ``width x height`` cells indexed ``cell = y * width + x``. A *window* is a
neighbourhood given as (dx, dy) offsets (see :mod:`resurgence.engine.neighbourhood`). A window
count field holds, for every cell, how many marked agents lie in that cell's window; it is
built once in O(cells x rows of the window) and then kept exact incrementally, O(window) per
marked agent that moves or changes mark, so that any agent reads its count in O(1).

Agents that occupy a cell are chained in a singly linked list per cell (``head[cell]``,
``nxt[agent]``): usually one agent, briefly more where a rule allows it (NetLogo's jail).
Every kernel here is sequential and takes its random numbers from the ``numpy.random.Generator``
passed in, so a seed fixes the result whatever the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(inline="always", cache=True)
def wrap(x: int, y: int, width: int, height: int) -> int:
    """The cell at (x, y) on the torus, for x and y at most one width/height off. O(1)."""
    if x < 0:
        x += width
    elif x >= width:
        x -= width
    if y < 0:
        y += height
    elif y >= height:
        y -= height
    return y * width + x


@njit(inline="always", cache=True)
def shift(cell: int, dx: int, dy: int, width: int, height: int) -> int:
    """The cell at offset (dx, dy) from ``cell`` on the torus. O(1)."""
    return wrap(cell % width + dx, cell // width + dy, width, height)


@njit(cache=True)
def window_add(field: np.ndarray, cell: int, offs: np.ndarray, delta: int, width: int,
               height: int) -> None:
    """Add ``delta`` to ``field`` over the window around ``cell``. O(window)."""
    x0 = cell % width
    y0 = cell // width
    for i in range(offs.shape[0]):
        field[wrap(x0 + offs[i, 0], y0 + offs[i, 1], width, height)] += delta


@njit(parallel=True, cache=True)
def window_counts(marks: np.ndarray, offs: np.ndarray, width: int, height: int) -> np.ndarray:
    """For every cell, the sum of ``marks`` over its window (int32 field).

    Uses row prefix sums on the torus, so each window row costs O(1): total
    O(cells x rows of the window), independent of the window's width. Rows are computed in
    parallel; the result does not depend on the number of threads.
    """
    cells = width * height
    # contiguous dx range per dy (every supported shape is row-convex)
    r = 0
    for i in range(offs.shape[0]):
        r = max(r, abs(offs[i, 1]))
    lo = np.full(2 * r + 1, 1 << 30, np.int64)
    hi = np.full(2 * r + 1, -(1 << 30), np.int64)
    has_centre = False
    for i in range(offs.shape[0]):
        j = offs[i, 1] + r
        lo[j] = min(lo[j], offs[i, 0])
        hi[j] = max(hi[j], offs[i, 0])
        if offs[i, 0] == 0 and offs[i, 1] == 0:
            has_centre = True
    # prefix[y, k] = sum of marks[y, 0:k] over a doubled row, so that wrapped ranges are slices
    prefix = np.zeros((height, 3 * width + 1), np.int64)
    for y in prange(height):
        acc = 0
        for k in range(3 * width):
            acc += marks[y * width + (k % width)]
            prefix[y, k + 1] = acc
    out = np.zeros(cells, np.int32)
    for y in prange(height):
        for x in range(width):
            total = 0
            for j in range(2 * r + 1):
                if lo[j] > hi[j]:
                    continue
                yy = (y + j - r) % height
                a = x + lo[j] + width  # in [0, 3 * width)
                b = x + hi[j] + width + 1
                total += prefix[yy, b] - prefix[yy, a]
            if not has_centre:
                total -= marks[y * width + x]
            out[y * width + x] = total
    return out


@njit(inline="always", cache=True)
def list_push(head: np.ndarray, nxt: np.ndarray, cell: int, agent: int) -> None:
    """Put ``agent`` in ``cell``'s occupant list. O(1)."""
    nxt[agent] = head[cell]
    head[cell] = agent


@njit(cache=True)
def list_remove(head: np.ndarray, nxt: np.ndarray, cell: int, agent: int) -> None:
    """Take ``agent`` out of ``cell``'s occupant list. O(occupants of the cell)."""
    prev = -1
    cur = head[cell]
    while cur != agent:
        prev = cur
        cur = nxt[cur]
    if prev < 0:
        head[cell] = nxt[agent]
    else:
        nxt[prev] = nxt[agent]
    nxt[agent] = -1


@njit(cache=True)
def random_free_cell(cell: int, offs: np.ndarray, occupied: np.ndarray, width: int,
                     height: int, rng: np.random.Generator) -> int:
    """A uniformly random cell with no occupant in the window around ``cell``, or -1 if none.

    Rejection sampling over the window (O(1) expected at the densities of these models), then
    an exact scan if 16 draws all hit occupied cells: uniform over the free cells either way.
    """
    n = offs.shape[0]
    for _ in range(16):
        i = rng.integers(0, n)
        c = shift(cell, offs[i, 0], offs[i, 1], width, height)
        if occupied[c] == 0:
            return c
    free = 0
    for i in range(n):
        if occupied[shift(cell, offs[i, 0], offs[i, 1], width, height)] == 0:
            free += 1
    if free == 0:
        return -1
    pick = rng.integers(0, free)
    for i in range(n):
        c = shift(cell, offs[i, 0], offs[i, 1], width, height)
        if occupied[c] == 0:
            if pick == 0:
                return c
            pick -= 1
    return -1


@njit(cache=True)
def nth_in_window(cell: int, offs: np.ndarray, counts: np.ndarray, nth: int, width: int,
                  height: int) -> tuple[int, int]:
    """Walk the window around ``cell`` and return (the cell holding the ``nth`` counted item,
    its rank inside that cell). O(window)."""
    for i in range(offs.shape[0]):
        c = shift(cell, offs[i, 0], offs[i, 1], width, height)
        k = counts[c]
        if nth < k:
            return c, nth
        nth -= k
    return -1, -1
