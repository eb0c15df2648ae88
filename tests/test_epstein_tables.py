"""The tables that replace arithmetic in Epstein's rule A give its values bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from resurgence.models import epstein_rules as rules


@njit
def _probabilities(p, n):
    out = np.empty((n, n))
    for a in range(1, n):
        for c in range(n):
            out[a, c] = rules.arrest_probability(c, a, p)
    return out


@njit
def _by_arithmetic(k, variant, n):
    out = np.empty((n, n))
    for a in range(1, n):
        for c in range(n):
            out[a, c] = 1.0 - np.exp(-k * rules.rounded_ratio(c, a, variant))
    return out


def _params(variant: int, k: float, tables: int, magic: int = 0, shift: int = 0) -> rules.Params:
    """Run-2-like kernel parameters with rule tables of size ``tables``."""
    return rules.Params(variant=variant, two_groups=False, legitimacy_blue=0.8,
                        legitimacy_green=0.8, threshold=0.1, k=k, max_jail_term=30,
                        movement=True, same_vision=True, clone_probability=0.0, max_age=0,
                        own_cell=0, risk_table=rules.risk_table(k, tables),
                        ratio_table=rules.ratio_table(variant, tables), width_magic=magic,
                        width_shift=shift, citizens_first=False)


@pytest.mark.parametrize("variant", [rules.NETLOGO, rules.MESA, rules.PAPER])
@pytest.mark.parametrize("k", [2.3, 0.7])
def test_arrest_probability_from_tables_equals_the_arithmetic(variant, k):
    n = 40
    p = _params(variant, k, 12)
    got = _probabilities(p, n)  # counts past the tables (12) take the arithmetic path
    want = _by_arithmetic(k, variant, n)
    assert np.array_equal(got[1:], want[1:])


def test_ratio_table_rounds_as_the_variants_do():
    mesa = rules.ratio_table(rules.MESA, 8)
    netlogo = rules.ratio_table(rules.NETLOGO, 8)
    assert mesa[2, 1] == 0 and mesa[2, 3] == 2 and mesa[2, 5] == 2  # half to even
    assert mesa[3, 2] == 1 and netlogo[3, 2] == 0 and netlogo[2, 7] == 3
    assert rules.ratio_table(rules.PAPER, 8).shape == (0, 0)


@njit
def _xy_all(width, height, p):
    bad = 0
    for cell in range(width * height):
        x, y = rules.cell_xy(cell, width, p)
        if x != cell % width or y != cell // width:
            bad += 1
    return bad


@pytest.mark.parametrize("width", [1, 2, 3, 7, 40, 64, 100, 127, 250, 1000, 1023, 4096, 32767])
def test_cell_xy_divides_exactly(width):
    magic, shift = rules.width_divisor(width)
    assert magic < 2**32 and shift < 63
    p = _params(rules.MESA, 2.3, 4, magic, shift)
    assert _xy_all(width, min(200, 2**31 // width), p) == 0
    for cell in (2**31 - 1, 2**31 - width, 2**31 - 1 - (2**31 - 1) % width, 123456789):
        assert (cell * magic) >> shift == cell // width  # the largest cells too (Python ints)
