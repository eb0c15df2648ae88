"""The incremental count fields stay equal to a brute-force recount after every tick."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from resurgence import Scenario
from resurgence.engine.kernels import window_counts
from resurgence.engine.neighbourhood import offsets
from resurgence.models import epstein
from resurgence.models import epstein_rules as rules


def brute_window(marks: np.ndarray, offs: np.ndarray, width: int, height: int) -> np.ndarray:
    out = np.zeros(width * height, np.int64)
    for c in range(width * height):
        x, y = c % width, c // width
        for dx, dy in offs:
            out[c] += marks[((y + dy) % height) * width + (x + dx) % width]
    return out


@pytest.mark.parametrize("shape", ["moore", "von_neumann", "disc"])
@pytest.mark.parametrize("radius,centre", [(1, True), (1.7, False), (3, True), (5, False)])
def test_window_counts_match_brute_force(shape, radius, centre):
    rng = np.random.default_rng(7)
    width, height = 17, 13
    marks = rng.integers(0, 3, width * height)
    offs = offsets(shape, radius, centre)
    got = window_counts(marks, offs, width, height)
    assert np.array_equal(got, brute_window(marks, offs, width, height))


def test_disc_sizes_match_netlogo_and_ascape():
    # NetLogo `patches in-radius 7` holds 149 patches; Ascape excludes self: 148; 1.7 = 3x3 block
    assert len(offsets("disc", 7, True)) == 149
    assert len(offsets("disc", 7, False)) == 148
    assert len(offsets("disc", 1.7, True)) == 9
    assert len(offsets("von_neumann", 7, False)) == 112


def check_world(world: epstein.World) -> None:
    a, s = world.agents, world.space
    cells = s.width * s.height
    seen = np.zeros(cells, np.int64)
    for c in range(cells):
        j = s.head[c]
        while j >= 0:
            assert a.cell[j] == c
            assert a.state[j] != rules.GONE
            seen[c] += 1
            j = a.nxt[j]
    assert np.array_equal(seen, s.occupied)
    blocked = np.unpackbits(s.blocked, count=cells, bitorder="little")
    assert np.array_equal(blocked, s.occupied > 0)
    active = np.bincount(a.cell[a.state == rules.ACTIVE], minlength=cells)
    cops = np.bincount(a.cell[(a.kind == rules.COP) & (a.state != rules.GONE)], minlength=cells)
    assert np.array_equal(active, s.actives)
    assert np.array_equal(cops, s.marks[rules.COP_WINDOW])
    for kind, marks in ((rules.ACTIVE_WINDOW, active), (rules.COP_WINDOW, cops)):
        window = brute_window(marks, s.citizen_offs, s.width, s.height)
        assert np.array_equal(window_field(s, kind), window)  # what the rules read
        if s.bits.shape[1] == 0:  # direct: the window counts themselves
            assert np.array_equal(s.extra[kind], window)
            continue
        # layered: the layer's parts, each as defined
        extra = brute_window(np.maximum(marks - 1, 0), s.citizen_offs, s.width, s.height)
        assert np.array_equal(s.extra[kind], extra)
        assert np.array_equal(unpack(s.bits[kind], cells), marks > 0)
        assert np.array_equal(unpack(s.bits[rules.FLAGS + kind], cells), extra != 0)


def unpack(bitmap: np.ndarray, cells: int) -> np.ndarray:
    """The bitmap's bits for the cells, and a check that its padding holds none."""
    bits = np.unpackbits(bitmap, bitorder="little")
    assert not bits[cells:].any()
    return bits[:cells].astype(bool)


@njit
def _window_field(bits, win, kind, sp, width, height):
    out = np.zeros((2, width * height), np.int64)
    for c in range(width * height):
        x, y = c % width, c // width
        out[0, c] = rules.marked(bits, win, kind, c, x, y, sp, width, height)
        out[1, c] = rules.marked_both(bits, win, c, x, y, sp, width, height)[kind]
    return out


def window_field(s: rules.Space, kind: int) -> np.ndarray:
    """What the rules read as the count of ``kind`` in every cell's window (``marked``, and the
    pair the decisions read, ``marked_both``, which must agree)."""
    single, pair = _window_field(s.bits, s.extra, kind, s.citizen_spans, s.width, s.height)
    assert np.array_equal(single, pair)
    return single


@pytest.mark.parametrize("variant", ["netlogo", "mesa", "paper"])
@pytest.mark.parametrize("version", ["I", "II"])
@pytest.mark.parametrize("activation", ["mixed", "citizens_first"])
@pytest.mark.parametrize("layered", [True, False])
def test_fields_stay_exact_through_ticks_and_cop_changes(variant, version, activation, layered):
    vision = (3, 4) if version == "I" else (1.7, 1.7)
    scenario = Scenario.from_dict({
        "ticks": 1,
        "grid": {"width": 23, "height": 19},
        "epstein": {"version": version, "variant": variant, "legitimacy": 0.7,
                    "activation": activation,
                    "max_jail_term": 10, "cop_density": 0.05,
                    "citizen_vision": vision[0], "cop_vision": vision[1]},
    })
    rng = np.random.default_rng(3)
    world = epstein.build(scenario, rng, layered=layered)
    assert (world.space.bits.shape[1] > 0) == layered
    p = epstein.params(scenario.epstein, world.space.citizen_offs, world.space.cop_offs,
                       world.space.width)
    tally = rules.Tally(*(np.zeros(2, np.int64) for _ in range(4)))
    counts, census = np.zeros((3, 3), np.int64), np.zeros((3, 3), np.int64)
    args = rules.tick_args(world.agents, world.space, p, tally, world.order, world.free_rows,
                           world.n_free, world.prng, counts)
    actives = 0
    for t in range(40):
        if t % 2:  # the one-call tick EpsteinRun uses: its census must be the census
            out = np.zeros((1, rules.RECORD), np.int64)
            rules.turns(*args, out)
            rules.census(world.agents.rows, census)
            assert np.array_equal(counts, census)
            assert np.array_equal(out[0, 4:7], census[0])
            assert out[0, 3] == census[2, 0]
        else:
            rules.tick(world.agents, world.space, p, tally, world.order, world.free_rows,
                       world.n_free, world.prng)
        if t == 20:
            epstein.set_cop_count(world, 3)
        check_world(world)
        actives += int((world.agents.state == rules.ACTIVE).sum())
    assert actives > 0  # the check ran on a world where the fields had something to track
