"""The engine kernels: random draws, window spans and window updates, marked layers, free-cell
choice."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from resurgence.engine.kernels import (
    below,
    bit_run_count,
    bitmap_bytes,
    mark_add,
    marked_layer,
    marks_in_window,
    next_u64,
    nth_in_spans,
    nth_in_window,
    prefetch,
    prng_state,
    random_free_cell,
    random_free_cell_xy,
    scan_free_cell,
    shuffle,
    spans,
    torus_table,
    uniform,
    window_add,
)
from resurgence.engine.neighbourhood import offsets
from resurgence.models import epstein_rules as rules
from resurgence.models.epstein import EpsteinRun
from resurgence.scenario import Scenario


@njit
def _below_counts(st, n, draws):
    out = np.zeros(n, np.int64)
    for _ in range(draws):
        out[below(st, n)] += 1
    return out


@njit
def _below_draws(st, n, draws):
    out = np.empty(draws, np.int64)
    for k in range(draws):
        out[k] = below(st, n)
    return out


@njit
def _uniforms(st, draws):
    out = np.empty(draws)
    for k in range(draws):
        out[k] = uniform(st)
    return out


@njit
def _free_cell_counts(cell, offs, blocked, width, height, st, draws):
    out = np.zeros(width * height, np.int64)
    for _ in range(draws):
        c = random_free_cell(cell, offs, blocked, width, height, st)
        if c >= 0:
            out[c] += 1
    return out


@njit
def _window_add(field, cell, sp, delta, width, height):
    window_add(field, cell, sp, delta, width, height)


@njit
def _nth_both(cell, offs, sp, counts, width, height):
    total = 0
    for k in range(offs.shape[0]):
        c = (((cell // width + offs[k, 1]) % height) * width + (cell % width + offs[k, 0]) % width)
        total += counts[c]
    out = np.empty((total + 1, 4), np.int64)
    for nth in range(total + 1):
        a, b = nth_in_window(cell, offs, counts, nth, width, height)
        c, d = nth_in_spans(cell, sp, counts, nth, width, height)
        out[nth] = a, b, c, d
    return out


@njit
def _bit_runs(bits, starts, lengths):
    out = np.empty(starts.shape[0], np.int64)
    for k in range(starts.shape[0]):
        out[k] = bit_run_count(bits, starts[k], lengths[k])
    return out


@njit
def _mark_and_read(counts, bits, flags, extra, cells, deltas, sp, width, height):
    """Apply the marks one by one; after each, the layer's count in every cell's window."""
    out = np.empty((cells.shape[0], width * height), np.int64)
    for k in range(cells.shape[0]):
        mark_add(counts, bits, flags, extra, cells[k], sp, deltas[k], width, height)
        for c in range(width * height):
            out[k, c] = marks_in_window(bits, flags, extra, c, c % width, c // width, sp, width,
                                        height)
    return out


@njit
def _prefetch_all(a):
    total = 0
    for i in range(a.shape[0]):
        prefetch(a, a.shape[0] - 1 - i)
        total += a[i]
    return total


def chi2_ok(counts: np.ndarray) -> bool:
    """True unless the counts reject uniformity at about 1e-6 (normal approximation)."""
    expected = counts.sum() / len(counts)
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    dof = len(counts) - 1
    return chi2 < dof + 5 * np.sqrt(2 * dof)


def test_same_generator_seed_same_state_and_draws():
    a, b = prng_state(np.random.default_rng(5)), prng_state(np.random.default_rng(5))
    assert a.dtype == np.uint64 and a.shape == (4,) and a.any()
    assert np.array_equal(_uniforms(a, 50), _uniforms(b, 50))
    assert not np.array_equal(a, prng_state(np.random.default_rng(6)))


@pytest.mark.parametrize("n", [1, 2, 3, 7, 149, 1000, 2**31 + 11])
def test_bounded_draws_stay_in_range_and_are_uniform(n):
    st = prng_state(np.random.default_rng(n))
    if n > 10_000:  # too many values to count one by one: count them in 64 equal bins
        x = _below_draws(st, n, 64_000)
        assert x.min() >= 0 and x.max() < n
        assert chi2_ok(np.bincount(x * 64 // n, minlength=64))
        return
    counts = _below_counts(st, n, 200 * n)
    assert counts.sum() == 200 * n
    assert n == 1 or chi2_ok(counts)


def test_uniform_floats_in_unit_interval_with_the_right_moments():
    x = _uniforms(prng_state(np.random.default_rng(1)), 200_000)
    assert x.min() >= 0.0 and x.max() < 1.0
    assert abs(x.mean() - 0.5) < 0.005 and abs(x.var() - 1 / 12) < 0.002
    assert chi2_ok(np.bincount((x * 50).astype(int), minlength=50))


def test_shuffle_is_a_permutation_and_every_order_is_equally_likely():
    st = prng_state(np.random.default_rng(2))
    seen = {}
    for _ in range(24_000):
        order = np.arange(4, dtype=np.int32)
        shuffle(order, st)
        key = tuple(order.tolist())
        seen[key] = seen.get(key, 0) + 1
    assert len(seen) == 24 and all(sorted(k) == [0, 1, 2, 3] for k in seen)
    assert chi2_ok(np.array(list(seen.values())))


def test_citizens_first_puts_every_citizen_before_every_cop_each_in_a_uniform_order():
    """Epstein's Ascape schedule (``activation = "citizens_first"``): after the tick's shuffle,
    :func:`rules.citizens_first` moves the citizens ahead of the cops. Each kind's order must
    stay uniformly random (24 orders of 4 citizens times 2 of 2 cops; chi-squared over the
    24,000 partitioned of 48,000 shuffles), and with the partition skipped a cop must lead in a
    third of the other 24,000 (the mixed order)."""
    rows = np.zeros(6, rules.AGENT)
    rows["kind"][:] = [rules.COP, rules.CITIZEN, rules.CITIZEN, rules.COP, rules.CITIZEN,
                       rules.CITIZEN]
    citizens = np.flatnonzero(rows["kind"] == rules.CITIZEN)
    st = prng_state(np.random.default_rng(5))
    seen: dict[tuple[int, ...], int] = {}
    cop_first_place = 0
    for k in range(48_000):
        order = np.arange(6, dtype=np.int32)
        shuffle(order, st)
        if k % 2:  # the mixed order, unpartitioned: a cop leads in a third of the shuffles
            cop_first_place += rows["kind"][order[0]] == rules.COP
            continue
        rules.citizens_first(rows, order)
        assert sorted(order.tolist()) == list(range(6))
        assert set(order[:4].tolist()) == set(citizens.tolist())
        key = tuple(order.tolist())
        seen[key] = seen.get(key, 0) + 1
    assert len(seen) == 48
    assert chi2_ok(np.array(list(seen.values())))
    assert abs(cop_first_place / 24_000 - 1 / 3) < 0.015


WINDOWS = pytest.mark.parametrize("shape,radius,centre", [
    (shape, radius, centre) for shape in ("moore", "von_neumann", "disc")
    for radius, centre in ((1, True), (1.7, False), (3, True), (7, False))])
#: a 17x16 torus and cells at its corners, edges and middle
WIDTH, HEIGHT = 17, 16
CELLS = (0, 5, WIDTH - 1, WIDTH * HEIGHT - 1, 8 * WIDTH + 8)


@WINDOWS
def test_window_add_over_spans_equals_adding_over_every_offset(shape, radius, centre):
    width, height = WIDTH, HEIGHT
    offs = offsets(shape, radius, centre)
    for dtype in (np.int16, np.int32):
        for cell in CELLS:
            field = np.zeros(width * height, dtype)
            _window_add(field, cell, spans(offs), 3, width, height)
            expected = np.zeros(width * height, np.int32)
            x, y = cell % width, cell // width
            for dx, dy in offs:
                expected[((y + dy) % height) * width + (x + dx) % width] += 3
            assert np.array_equal(field, expected)


@WINDOWS
def test_nth_in_spans_finds_what_nth_in_window_finds(shape, radius, centre):
    offs = offsets(shape, radius, centre)
    counts = np.random.default_rng(5).integers(0, 3, WIDTH * HEIGHT).astype(np.int16)
    for cell in CELLS:
        out = _nth_both(cell, offs, spans(offs), counts, WIDTH, HEIGHT)
        assert np.array_equal(out[:, :2], out[:, 2:])
        assert tuple(out[-1]) == (-1, -1, -1, -1)  # past the last item: none


def test_spans_reject_a_window_with_a_gap():
    with pytest.raises(ValueError, match="not contiguous"):
        spans(np.array([[-2, 0], [2, 0]], np.int32))


def test_random_free_cell_is_uniform_over_the_free_cells_only():
    width = height = 9
    offs = offsets("moore", 2, False)
    rng = np.random.default_rng(3)
    occupied = rng.random(width * height) < 0.8
    blocked = np.packbits(occupied, bitorder="little")
    cell = 4 * width + 4
    counts = _free_cell_counts(cell, offs, blocked, width, height, prng_state(rng), 60_000)
    x, y = cell % width, cell // width
    window = {((y + dy) % height) * width + (x + dx) % width for dx, dy in offs}
    free = sorted(c for c in window if not occupied[c])
    assert len(free) >= 2
    assert set(np.flatnonzero(counts)) == set(free)
    assert chi2_ok(counts[free])


def test_random_free_cell_when_nearly_full_and_when_full():
    width = height = 9
    offs = offsets("disc", 3, True)
    occupied = np.ones(width * height, bool)
    blocked = np.packbits(occupied, bitorder="little")
    st = prng_state(np.random.default_rng(4))
    assert _free_cell_counts(40, offs, blocked, width, height, st, 10).sum() == 0
    occupied[41] = False  # one free cell: found by the exact scan after the draws miss
    blocked = np.packbits(occupied, bitorder="little")
    counts = _free_cell_counts(40, offs, blocked, width, height, st, 200)
    assert counts[41] == 200 and counts.sum() == 200


def test_scan_free_cell_is_uniform_over_the_free_cells_and_none_when_full():
    # the exact scan (out of line: random_free_cell's draws rarely all miss) on its own, on a
    # window that wraps both edges of the torus
    width, height = 11, 7
    offs = offsets("disc", 3, False)
    rng = np.random.default_rng(5)
    occupied = rng.random(width * height) < 0.85
    blocked = np.packbits(occupied, bitorder="little")
    st = prng_state(rng)
    x0, y0 = 1, 6
    counts = np.zeros(width * height, np.int64)
    for _ in range(20_000):
        counts[scan_free_cell(x0, y0, offs, blocked, width, height, st)] += 1
    window = {((y0 + dy) % height) * width + (x0 + dx) % width for dx, dy in offs}
    free = sorted(c for c in window if not occupied[c])
    assert len(free) >= 2
    assert set(np.flatnonzero(counts)) == set(free)
    assert chi2_ok(counts[free])
    full = np.packbits(np.ones(width * height, bool), bitorder="little")
    assert scan_free_cell(x0, y0, offs, full, width, height, st) == -1


def test_prefetch_changes_nothing():
    a = np.arange(1000)
    assert _prefetch_all(a) == a.sum()


@njit
def _free_cell_by_fields(cell, offs, blocked, width, height, st):
    """random_free_cell written plainly, one candidate at a time: a window of at most 256 cells
    reads its candidates from the bytes of each 64-bit output (the low k bits of each, k the
    bits of n - 1, kept if below n and free), 4 outputs; a larger one draws ``below(n)`` 16
    times. -2: all missed (the exact scan follows; not compared here)."""
    n = offs.shape[0]
    x0, y0 = cell % width, cell // width
    if n <= 256:
        k = 0
        while (1 << k) < n:
            k += 1
        for _ in range(4):
            r = next_u64(st)
            for j in range(8):
                i = int((r >> np.uint64(8 * j)) & np.uint64((1 << k) - 1))
                if i < n:
                    c = ((y0 + offs[i, 1]) % height) * width + (x0 + offs[i, 0]) % width
                    if not (blocked[c >> 3] >> (c & 7)) & 1:
                        return c
        return -2
    for _ in range(16):
        i = below(st, n)
        c = ((y0 + offs[i, 1]) % height) * width + (x0 + offs[i, 0]) % width
        if not (blocked[c >> 3] >> (c & 7)) & 1:
            return c
    return -2


@njit
def _free_cell_pairs(offs, blocked, width, height, st_a, st_b, cells):
    out = np.empty((cells.shape[0], 2), np.int64)
    for k in range(cells.shape[0]):
        out[k, 0] = random_free_cell(cells[k], offs, blocked, width, height, st_a)
        out[k, 1] = _free_cell_by_fields(cells[k], offs, blocked, width, height, st_b)
        same = True
        for j in range(4):
            same = same and st_a[j] == st_b[j]
        if out[k, 1] == -2:  # the exact scan drew once more: start the next call level
            st_b[:] = st_a
        elif not same:
            out[k, 1] = -3
    return out


@pytest.mark.parametrize("shape,radius,density",
                         [("von_neumann", 7, 0.3), ("von_neumann", 7, 0.77),
                          ("von_neumann", 7, 0.9), ("moore", 1, 0.77), ("disc", 7, 0.77),
                          ("moore", 7.5, 0.77), ("moore", 8, 0.77)])
def test_random_free_cell_draws_as_written_plainly(shape, radius, density):
    # the batched, branch-free draws are the plain loop's draws: same cells, same state after,
    # for windows of 8, 112, 148 and 224 cells (fields of 3, 7, 8 and 8 bits) and of 288 cells
    # (one exact draw at a time)
    width, height = 37, 29
    offs = offsets(shape, radius, False)
    rng = np.random.default_rng(11)
    blocked = np.packbits(rng.random(width * height) < density, bitorder="little")
    st = prng_state(rng)
    st_a, st_b = st.copy(), st.copy()
    cells = rng.integers(0, width * height, 5000)
    out = _free_cell_pairs(offs, blocked, width, height, st_a, st_b, cells)
    drawn = out[:, 1] != -2
    assert drawn.sum() > 3000
    assert np.array_equal(out[drawn, 0], out[drawn, 1])  # same cell, same state after (-3)


@njit
def _free_cells_both_ways(offs, torus, blocked, width, height, st_a, st_b, cells):
    out = np.empty((cells.shape[0], 2), np.int64)
    for k in range(cells.shape[0]):
        c = cells[k]
        out[k, 0] = random_free_cell_xy(c % width, c // width, offs, torus, blocked, width,
                                        height, st_a)
        out[k, 1] = random_free_cell(c, offs, blocked, width, height, st_b)
    return out


@pytest.mark.parametrize("shape,width,height,radius",
                         [("von_neumann", 40, 40, 7), ("moore", 37, 29, 7), ("moore", 9, 8, 3),
                          ("disc", 23, 61, 4.5)])
def test_the_wrap_table_gives_the_same_cells_and_draws(shape, width, height, radius):
    """random_free_cell_xy with the world's wrap table (``torus_table``) draws the cells the
    wrapping path draws, in the same order and leaving the same state, on worlds as narrow as
    the vision (9 x 8 with reach 3) and with the reach of a wider vision than the offsets'."""
    offs = offsets(shape, radius, False)
    reach = int(np.abs(offs).max())
    xs, ys = np.arange(-reach, width + reach), np.arange(-reach, height + reach)
    torus = torus_table(width, height, reach + 2)  # a table may reach further than the offsets
    assert np.array_equal(torus_table(width, height, reach),
                          np.concatenate([xs % width, ys % height * width]))
    rng = np.random.default_rng(5)
    found = []
    for density in (0.3, 0.77, 0.95):
        blocked = np.packbits(rng.random(width * height) < density, bitorder="little")
        st_a = prng_state(rng)
        st_b = st_a.copy()
        out = _free_cells_both_ways(offs, torus, blocked, width, height, st_a, st_b,
                                    rng.integers(0, width * height, 3000))
        assert np.array_equal(out[:, 0], out[:, 1]) and np.array_equal(st_a, st_b)
        found.append((out[:, 0] >= 0).mean())
    assert found[0] > 0.9 and found[1] > 0.5, found  # draws, not only "no free cell"


def test_no_window_no_move_and_no_draw():
    """A vision under one cell (``citizen_vision = 0.5`` passes validation: floor 0, no offsets
    without the own cell) has no cell to move to: -1, the state untouched. Before, the draw of
    an index below 0 gave 0 and read ``offs[0]`` of an empty array."""
    offs = offsets("von_neumann", 0.5, False)
    assert offs.shape == (0, 2)
    blocked = np.zeros(8, np.uint8)
    st = prng_state(np.random.default_rng(2))
    before = st.copy()
    assert random_free_cell(3, offs, blocked, 8, 8, st) == -1
    assert np.array_equal(st, before)
    # a whole run of the mesa variant (von Neumann windows without the own cell): nobody moves
    s = Scenario.from_dict({"name": "blind", "model": "epstein", "ticks": 3,
                            "grid": {"width": 10, "height": 10},
                            "epstein": {"variant": "mesa", "citizen_vision": 0.5,
                                        "cop_vision": 0.5}})
    run = EpsteinRun(s, 1)
    cells = run.world.agents.cell.copy()
    run.advance(3)
    assert np.array_equal(run.world.agents.cell, cells)


def test_bit_run_count_counts_the_set_bits_of_any_run():
    # runs of 0 to 130 bits (several 56-bit loads) from any position, up to the bitmap's end
    rng = np.random.default_rng(8)
    cells = 301
    on = rng.random(cells) < 0.4
    bits = np.zeros(bitmap_bytes(cells), np.uint8)
    bits[: (cells + 7) // 8] = np.packbits(on, bitorder="little")
    starts = rng.integers(0, cells, 4000)
    lengths = np.minimum(rng.integers(0, 131, 4000), cells - starts)
    expected = [on[a : a + n].sum() for a, n in zip(starts, lengths, strict=True)]
    assert np.array_equal(_bit_runs(bits, starts, lengths), expected)


@WINDOWS
def test_a_marked_layer_counts_every_window_as_a_recount_does(shape, radius, centre):
    # marks added and removed at random, up to three in a cell (the extra field's case), on a
    # torus where the windows wrap: after every mark, the count the layer gives in each cell's
    # window is the brute-force sum, and its parts are what building it from scratch gives
    width, height = WIDTH, HEIGHT
    cells = width * height
    offs = offsets(shape, radius, centre)
    sp = spans(offs)
    rng = np.random.default_rng(9)
    counts = np.zeros(cells, np.int16)
    bits, flags = np.zeros(bitmap_bytes(cells), np.uint8), np.zeros(bitmap_bytes(cells), np.uint8)
    extra = np.zeros(cells, np.int32)
    shadow = np.zeros(cells, np.int64)
    marks, deltas = [], []
    for _ in range(300):
        c = int(rng.integers(0, 12)) * 23 % cells  # a few cells, so that marks pile up
        d = -1 if shadow[c] == 3 or (shadow[c] > 0 and rng.random() < 0.45) else 1
        shadow[c] += d
        marks.append(c)
        deltas.append(d)
    got = _mark_and_read(counts, bits, flags, extra, np.array(marks), np.array(deltas), sp,
                         width, height)
    assert shadow.max() == 3
    shadow[:] = 0
    for k, (c, d) in enumerate(zip(marks, deltas, strict=True)):
        shadow[c] += d
        if k % 25 == 24 or k == len(marks) - 1:
            expected = np.zeros(cells, np.int64)
            for dx, dy in offs:
                expected += np.roll(shadow.reshape(height, width), (-dy, -dx), (0, 1)).ravel()
            assert np.array_equal(got[k], expected), k
    assert np.array_equal(counts, shadow)
    want_bits, want_flags = np.zeros_like(bits), np.zeros_like(flags)
    want_extra = np.zeros_like(extra)
    marked_layer(counts, offs, width, height, want_bits, want_flags, want_extra)
    assert np.array_equal(bits, want_bits)
    assert np.array_equal(extra, want_extra)
    assert np.array_equal(flags, want_flags)
