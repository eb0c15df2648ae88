"""Fields on a bounded raster (no wrap): neighbour tables, box sums and distance fields.

Cells are numbered row-major (``y * width + x``); a mask ``inside`` marks the cells of the
theatre. These are the theatre-side counterparts of the torus windows of
:mod:`resurgence.engine.kernels`, and know nothing of any theatre.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: distance of a cell that no source reaches (:func:`distance_field`)
UNREACHED = 1 << 30


def neighbour_table(inside: np.ndarray) -> np.ndarray:
    """(cells, 8) int32: the inside Moore neighbours of every cell of the (height, width) mask
    ``inside`` (-1: none; a cell outside has none). O(cells)."""
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
    """Sum of ``field`` over the (2r+1)^2 square around every cell (no wrap), float64, flat:
    the four corners of a summed-area table (:func:`_box_sum`). O(cells)."""
    h, w = shape
    a = field.reshape(h, w).astype(np.float64)
    if radius <= 0:
        return a.ravel().copy()
    return _box_sum(a, radius).ravel()


@njit(cache=True)
def _box_sum(a: np.ndarray, r: int) -> np.ndarray:
    """The box sums of :func:`box_sum` on the (h, w) array ``a``: a summed-area table of
    ``a`` padded by ``r`` zeros, added down the columns and then along the rows (the order
    of ``cumsum(0).cumsum(1)``), read at the corners of each box. O(cells)."""
    h, w = a.shape
    n = 2 * r + 1
    ph, pw = h + 2 * r, w + 2 * r
    c = np.zeros((ph + 1, pw + 1))
    for i in range(ph):
        for j in range(pw):
            y, x = i - r, j - r
            v = a[y, x] if 0 <= y < h and 0 <= x < w else 0.0
            c[i + 1, j + 1] = c[i, j + 1] + v  # down the column
    for i in range(1, ph + 1):
        for j in range(2, pw + 1):
            c[i, j] += c[i, j - 1]  # then along the row
    out = np.empty((h, w))
    for y in range(h):
        for x in range(w):
            out[y, x] = c[y + n, x + n] - c[y, x + n] - c[y + n, x] + c[y, x]
    return out


@njit(cache=True)
def distance_field(sources: np.ndarray, nbr: np.ndarray) -> np.ndarray:
    """Steps from every cell to the nearest ``sources`` cell over the neighbours of ``nbr``
    (breadth-first; :data:`UNREACHED` where none is reachable), int32. O(cells)."""
    n = sources.shape[0]
    dist = np.full(n, UNREACHED, np.int32)
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
def step_down(c: int, dist: np.ndarray, nbr: np.ndarray) -> int:
    """The neighbour of ``c`` with the smallest ``dist`` (the first in ``nbr``'s order among
    equals; ``c`` itself if none is smaller). O(8)."""
    best = c
    bd = dist[c]
    for k in range(nbr.shape[1]):
        m = nbr[c, k]
        if m >= 0 and dist[m] < bd:
            bd = dist[m]
            best = m
    return best
