"""Neighbourhood shapes on a torus grid, as arrays of (dx, dy) offsets.

Shapes (radius ``r``):
- ``moore``: the square ``max(|dx|, |dy|) <= r``;
- ``von_neumann``: the diamond ``|dx| + |dy| <= r`` (Mesa's ``OrthogonalVonNeumannGrid``);
- ``disc``: the Euclidean disc ``dx^2 + dy^2 <= r^2`` (NetLogo's ``in-radius`` on patch centres).

All three are symmetric (``o`` in the shape iff ``-o`` is), so "agents within my window" and
"agents whose window contains me" are the same set: the engine relies on that to keep window
counts up to date incrementally.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Shape = Literal["moore", "von_neumann", "disc"]


def offsets(shape: Shape, radius: float, include_centre: bool) -> np.ndarray:
    """The ``(n, 2)`` int32 offsets ``(dx, dy)`` of a neighbourhood, row-major. Cost O(r^2).

    ``radius`` may be fractional: a disc of radius 1.7 is the 3x3 block (Epstein's Model II
    vision); the square and the diamond use ``floor(radius)``.
    """
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    reach = int(np.floor(radius))
    d = np.arange(-reach, reach + 1)
    dx, dy = np.meshgrid(d, d, indexing="xy")
    if shape == "moore":
        keep = np.maximum(np.abs(dx), np.abs(dy)) <= reach
    elif shape == "von_neumann":
        keep = np.abs(dx) + np.abs(dy) <= reach
    elif shape == "disc":
        keep = dx * dx + dy * dy <= radius * radius
    else:
        raise ValueError(f"unknown neighbourhood shape {shape!r}")
    if not include_centre:
        keep &= (dx != 0) | (dy != 0)
    return np.ascontiguousarray(np.stack([dx[keep], dy[keep]], axis=1).astype(np.int32))

