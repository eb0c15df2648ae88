"""A counter-based random generator: draws as pure functions of a key and a counter.

The ``j``-th draw of item ``i`` under a stream's key is a hash of ``(key, i, j)`` (SplitMix64's
finaliser), and the key a hash of ``(seed, tick, stream)``. No kernel carries generator state
from one item to the next, so a kernel may run its items in parallel (``prange``) and still give
the same bits whatever the number of threads, and two runs that share a seed meet the same luck
in every stream they share (common random numbers across policy branches).

An item has 16 draws under one key (``j`` in 0..15); :func:`counter_uniform_any` reaches
further ones under keys of their own.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_MORE_KEY = np.uint64(0xA0761D6478BD642F)  # odd: the keys of an item's draws 16 and later
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)

#: draws an item has under one key
DRAWS_PER_ITEM = 16


def stream_key(seed: int, tick: int, stream: int) -> np.uint64:
    """The key of one kernel call's random stream (Python side). O(1)."""
    mask = (1 << 64) - 1
    z = (seed * 0x9E3779B97F4A7C15 + tick * 0xD1B54A32D192ED03 + stream * 0x8CB92BA72F3D8DD7)
    z &= mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return np.uint64(z ^ (z >> 31))


@njit(inline="always", cache=True)
def counter_uniform(key: np.uint64, i: int, j: int) -> float:
    """The ``j``-th uniform [0, 1) draw of item ``i`` under ``key`` (SplitMix64). O(1)."""
    z = key + (np.uint64(i) * np.uint64(16) + np.uint64(j) + np.uint64(1)) * _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    z = z ^ (z >> _S31)
    return float(z >> _S11) * (1.0 / 9007199254740992.0)


@njit(inline="always", cache=True)
def counter_uniform_any(key: np.uint64, i: int, j: int) -> float:
    """Draw ``j`` of item ``i`` for any ``j >= 0``: :func:`counter_uniform` for the item's 16
    draws, then ``j % 16`` under a key of each further 16 of its own
    (``counter_uniform(key, i, 16)`` would be item ``i + 1``'s first draw). O(1)."""
    if j < 16:
        return counter_uniform(key, i, j)
    return counter_uniform(key + np.uint64(j // 16) * _MORE_KEY, i, j % 16)


@njit(cache=True)
def counter_poisson(lam: float, key: np.uint64, i: int) -> int:
    """A Poisson(``lam``) draw for item ``i`` (its draws 0 and 1): inversion below 30, a
    rounded normal above. O(lam) below 30, O(1) above."""
    if lam <= 0.0:
        return 0
    if lam > 30.0:
        u1 = max(counter_uniform(key, i, 0), 1e-300)
        u2 = counter_uniform(key, i, 1)
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        return max(0, int(np.floor(lam + np.sqrt(lam) * z + 0.5)))
    u = counter_uniform(key, i, 0)
    p = np.exp(-lam)
    cdf = p
    k = 0
    while u > cdf and k < 200:
        k += 1
        p *= lam / k
        cdf += p
    return k


@njit(cache=True)
def counter_poisson_each(lam: np.ndarray, key: np.uint64) -> np.ndarray:
    """A :func:`counter_poisson` draw for every item: item ``i`` gets ``Poisson(lam[i])`` on
    its own draws (0 where ``lam[i] <= 0``), as float64. O(items + sum of lam below 30)."""
    out = np.zeros(lam.shape[0])
    for i in range(lam.shape[0]):
        if lam[i] > 0.0:
            out[i] = counter_poisson(lam[i], key, i)
    return out
