"""Numba kernels shared by the models: window counts, marked layers, random choices in vision,
and the random number generator the tick kernels draw from.

Space is a torus of ``width x height`` cells indexed ``cell = y * width + x``. A *window* is a
neighbourhood given as (dx, dy) offsets (see :mod:`resurgence.engine.neighbourhood`), or, for
adding over it, as row *spans* ``(dy, lo, hi)``: every supported shape is row-convex, so each
row of the window is the contiguous range ``dx = lo..hi``. A window count field holds, for
every cell, how many marked agents lie in that cell's window; it is built once in
O(cells x rows of the window) and can be kept exact incrementally, O(window) per marked agent
that moves or changes mark (:func:`window_add`), so that any agent reads its count in O(1). A
*marked layer* (below) answers the same question from a bitmap in O(rows of the window), and
costs O(1) per marked agent that moves: the models use it where marked agents move often.

Random numbers come from xoshiro256** (Blackman and Vigna 2018) whose 256-bit state is a
``uint64[4]`` array seeded from the run's ``numpy.random.Generator`` (:func:`prng_state`).
Bounded integers use Lemire's multiply-and-reject method (exactly uniform), floats the top 53
bits. numba's own ``Generator.integers`` costs about 78 ns a call; these cost a few ns. Every
kernel here is sequential, so a seed fixes the result whatever the number of threads.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_M32 = np.uint64(0xFFFFFFFF)

#: the decorator of a hot kernel that its callers inline: numba compiles it on its own, once per
#: signature, and LLVM inlines it into every caller (``forceinline``: LLVM's ``alwaysinline``).
#: numba's own inlining (``inline="always"``) copies the kernel's IR into each call site before
#: typing, at a cost that grew with the square of the kernel's size: it took most of the tick's
#: first compilation, about 6 times as long (docs/benchmarks.md). ``_nrt=False``: no reference
#: counts (nothing allocates). No C-callable wrapper (nothing takes their address); the Python
#: wrapper stays, since tests call some from Python (without it such a call crashes)
inlined = njit(forceinline=True, _nrt=False, no_cfunc_wrapper=True, cache=True)
#: a kernel the hot path calls but keeps out of line (a rare branch), with no reference counts
#: whoever compiles it first (numba passes its caller's ``forceinline`` and ``_nrt`` on otherwise)
outlined = njit(forceinline=False, _nrt=False, cache=True)


# --------------------------------------------------------------------------- random numbers
def prng_state(rng: np.random.Generator) -> np.ndarray:
    """A fresh xoshiro256** state (``uint64[4]``, never all zero) drawn from ``rng``."""
    state = rng.integers(np.iinfo(np.uint64).max, size=4, dtype=np.uint64, endpoint=True)
    if not state.any():
        state[0] = 1
    return state


@inlined
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@inlined
def _xoshiro(s0: np.uint64, s1: np.uint64, s2: np.uint64,
             s3: np.uint64) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64, np.uint64]:
    """:func:`next_u64` on a state held in four locals: (the 64 bits, the next state)."""
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    return result, s0, s1, s2, _rotl(s3, 45)


@inlined
def next_u64(st: np.ndarray) -> np.uint64:
    """The next 64 random bits of the xoshiro256** state ``st`` (advanced in place)."""
    result, s0, s1, s2, s3 = _xoshiro(st[0], st[1], st[2], st[3])
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3
    return result


@inlined
def uniform(st: np.ndarray) -> float:
    """A uniform float in [0, 1) with 53 random bits."""
    return float(next_u64(st) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@inlined
def _below(bound: np.uint64, s0: np.uint64, s1: np.uint64, s2: np.uint64,
           s3: np.uint64) -> tuple[int, np.uint64, np.uint64, np.uint64, np.uint64]:
    """A uniform integer in ``0..bound-1`` for ``1 <= bound < 2**32`` (Lemire 2019, exact),
    drawn from the xoshiro256** state ``s0..s3`` held in locals; returns it and the state."""
    r, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
    m = (r >> np.uint64(32)) * bound
    low = m & _M32
    if low < bound:
        floor = ((_M32 + np.uint64(1)) - bound) % bound
        while low < floor:
            r, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
            m = (r >> np.uint64(32)) * bound
            low = m & _M32
    return int(m >> np.uint64(32)), s0, s1, s2, s3


@inlined
def below(st: np.ndarray, n: int) -> int:
    """A uniform integer in ``0..n-1`` for ``1 <= n < 2**32`` (Lemire 2019, exact)."""
    i, s0, s1, s2, s3 = _below(np.uint64(n), st[0], st[1], st[2], st[3])
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3
    return i


@outlined
def shuffle(order: np.ndarray, st: np.ndarray) -> None:
    """Fisher-Yates shuffle of ``order`` in place: every permutation equally likely. O(n)."""
    for i in range(order.shape[0] - 1, 0, -1):
        j = below(st, i + 1)
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp


@intrinsic
def prefetch(typingctx, arr, idx):
    """Hint the CPU to fetch the cache line of ``arr[idx]`` (for a 2-D array: of row ``idx``)
    (``llvm.prefetch``: read, keep in all cache levels). No effect on results; ``idx`` must be
    in bounds."""
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        aryty, idxty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        stride = cgutils.unpack_tuple(builder, ary.strides, aryty.ndim)[0]
        offset = builder.mul(context.cast(builder, args[1], idxty, types.intp), stride)
        i8p = ir.IntType(8).as_pointer()
        ptr = builder.gep(builder.bitcast(ary.data, i8p), [offset])
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


@intrinsic
def load_u64(typingctx, arr, idx):
    """The 8 bytes of the uint8 array ``arr`` from byte ``idx`` on, as a little-endian uint64
    (one unaligned load). ``idx + 8`` must not exceed the array's length."""
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        aryty, idxty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        i8p = ir.IntType(8).as_pointer()
        offset = context.cast(builder, args[1], idxty, types.intp)
        ptr = builder.gep(builder.bitcast(ary.data, i8p), [offset])
        value = builder.load(builder.bitcast(ptr, ir.IntType(64).as_pointer()), align=1)
        return value

    return types.uint64(arr, idx), codegen


@intrinsic
def popcount(typingctx, x):
    """The number of set bits of the uint64 ``x`` (``llvm.ctpop``: one instruction)."""
    if not isinstance(x, types.Integer) or x.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i64, [i64]),
                                            "llvm.ctpop.i64")
        return builder.call(fn, [args[0]])

    return types.uint64(x), codegen


# --------------------------------------------------------------------------- windows
@inlined
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


def spans(offs: np.ndarray) -> np.ndarray:
    """The ``(rows, 4)`` int32 spans ``(dy, lo, hi, sign)`` of a row-convex window: adding
    ``sign`` over the cells ``(lo..hi, dy)`` of every span adds 1 over the window. Each row is
    one span of sign 1, and a window without its centre has a last span ``(0, 0, 0, -1)``.
    Raises ValueError for a window with any other gap in a row."""
    out = []
    centre_excluded = False
    for dy in np.unique(offs[:, 1]) if len(offs) else []:
        dx = np.sort(offs[offs[:, 1] == dy, 0])
        n = dx[-1] - dx[0] + 1
        if dy == 0 and dx[0] < 0 < dx[-1] and 0 not in dx and n == len(dx) + 1:
            centre_excluded = True
        elif n != len(dx):
            raise ValueError(f"window row dy={dy} is not contiguous")
        out.append((dy, dx[0], dx[-1], 1))
    if centre_excluded:
        out.append((0, 0, 0, -1))
    return np.array(out, np.int32).reshape(-1, 4)


@inlined
def span_run(x0: int, y0: int, sp: np.ndarray, r: int, width: int,
             height: int) -> tuple[int, int, int]:
    """Span ``r`` of a window around the cell (x0, y0): (first cell of its torus row, first x,
    last x), x possibly one width off either side (the run wraps there)."""
    y = y0 + sp[r, 0]
    if y < 0:
        y += height
    elif y >= height:
        y -= height
    return y * width, x0 + sp[r, 1], x0 + sp[r, 2]


@inlined
def window_add(field: np.ndarray, cell: int, sp: np.ndarray, delta: int, width: int,
               height: int) -> None:
    """Add ``delta`` to the per-cell count ``field`` (1-D, any integer dtype) over the window
    (given by its :func:`spans`) around ``cell``. O(window), one contiguous run (two where the
    torus wraps) per row.

    The runs index ``field`` with unsigned integers (:func:`at`): numba then does not check each
    index for a negative value, and the loops can be vectorised."""
    x0 = cell % width
    y0 = cell // width
    for r in range(sp.shape[0]):
        base, a, b = span_run(x0, y0, sp, r, width, height)
        d = delta * sp[r, 3]
        if a < 0:
            for x in range(a + width, width):
                field[at(base + x)] += d
            a = 0
        if b >= width:
            for x in range(0, b - width + 1):
                field[at(base + x)] += d
            b = width - 1
        for x in range(a, b + 1):
            field[at(base + x)] += d


@inlined
def at(i: int) -> np.uint64:
    """``i`` (a valid, so non-negative, index) as an unsigned index: numba indexes an array with
    a signed integer through ``i + n if i < 0 else i`` on every access (Python's negative
    indices), which costs a few instructions and keeps loops over consecutive cells from being
    vectorised; an unsigned index skips it."""
    return np.uint64(i)


@njit(cache=True)
def window_counts(marks: np.ndarray, offs: np.ndarray, width: int, height: int) -> np.ndarray:
    """For every cell, the sum of ``marks`` over its window (int32 field; the marks' window sums
    must fit in int32).

    Uses row prefix sums on the torus, so each window row costs O(1): total
    O(cells x rows of the window), independent of the window's width: about 50 ms of CPU for
    Run 2's window on 1000 x 1000. Sequential: a parallel loop over the rows took numba about
    5 s longer to compile. Extra memory: one int32 prefix table, 4 bytes per cell
    (plus a row).
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
    # prefix[y, k] = sum of marks[y, 0:k]; a wrapped range adds a whole row's total
    prefix = np.zeros((height, width + 1), np.int32)
    for y in range(height):
        acc = 0
        for k in range(width):
            acc += marks[y * width + k]
            prefix[y, k + 1] = acc
    out = np.zeros(cells, np.int32)
    for y in range(height):
        for x in range(width):
            total = 0
            for j in range(2 * r + 1):
                if lo[j] > hi[j]:
                    continue
                yy = (y + j - r) % height
                a = x + lo[j]  # the half-open range [a, b), at most one width off
                b = x + hi[j] + 1
                if a < 0:
                    total += prefix[yy, width] - prefix[yy, a + width]
                    a = 0
                if b > width:
                    total += prefix[yy, b - width]
                    b = width
                total += prefix[yy, b] - prefix[yy, a]
            if not has_centre:
                total -= marks[y * width + x]
            out[y * width + x] = total
    return out


# --------------------------------------------------------------------------- choices
@inlined
def is_set(bits: np.ndarray, i: int) -> bool:
    """Bit ``i`` of the little-endian bitmap ``bits`` (uint8; ``np.packbits(...,
    bitorder="little")``)."""
    return (bits[at(i >> 3)] >> (i & 7)) & 1 != 0


@inlined
def set_bit(bits: np.ndarray, i: int, on: bool) -> None:
    """Set (``on``) or clear bit ``i`` of the bitmap ``bits``."""
    if on:
        bits[at(i >> 3)] |= np.uint8(1 << (i & 7))
    else:
        bits[at(i >> 3)] &= np.uint8(~(1 << (i & 7)) & 0xFF)


def torus_table(width: int, height: int, reach: int) -> np.ndarray:
    """The wrap table of a ``width`` x ``height`` torus for offsets up to ``reach`` cells: the
    wrapped x of every x in ``-reach .. width + reach - 1`` at ``x + reach``, then
    ``width`` x the wrapped y of every y in ``-reach .. height + reach - 1``, int32. A draw of
    :func:`random_free_cell_xy` then reads its cell as two entries of it instead of wrapping:
    the same cell, with no compare and no multiplication on the way to its bit (at 40 x 40
    with vision 7 6-7% less time per agent-step; docs/benchmarks.md). O(width + height)."""
    xs = np.arange(-reach, width + reach) % width
    ys = np.arange(-reach, height + reach) % height * width
    return np.concatenate([xs, ys]).astype(np.int32)


# A window of at most FIELD_WINDOW cells draws its candidates FIELDS at a time from one generator
# output (random_free_cell_xy)
FIELDS = 8
FIELD_WINDOW = 256
BATCHES = 4


@inlined
def random_free_cell(cell: int, offs: np.ndarray, blocked: np.ndarray, width: int, height: int,
                     st: np.ndarray) -> int:
    """A uniformly random cell whose bit in the bitmap ``blocked`` is clear in the window around
    ``cell``, or -1 if none.

    Rejection sampling over the window (O(1) expected at the densities of these models), then
    an exact scan if the draws all hit blocked cells: uniform over the free cells either way.
    The bitmap (1 bit per cell, 125 kB for 1000x1000) stays in cache, where a per-cell count
    would not.
    """
    return random_free_cell_xy(cell % width, cell // width, offs, offs[0, :0], blocked, width,
                               height, st)


@inlined
def _table_origin(x0: int, y0: int, torus: np.ndarray, width: int,
                  height: int) -> tuple[bool, int, int]:
    """(whether there is a wrap table, the entries of x0 and of y0 in it) for
    :func:`_window_cell`."""
    reach = (torus.shape[0] - width - height) // 4
    return torus.shape[0] > 0, x0 + reach, width + 2 * reach + y0 + reach


@inlined
def _window_cell(i: np.uint64, x0: int, y0: int, bx: int, by: int, offs: np.ndarray,
                 torus: np.ndarray, table: bool, width: int, height: int) -> int:
    """The cell of the window's ``i``-th offset around (x0, y0): from the wrap table (``bx``,
    ``by``: the centre's entries in it) if there is one, else by wrapping."""
    if table:
        return torus[at(by + offs[i, 1])] + torus[at(bx + offs[i, 0])]
    return wrap(x0 + offs[i, 0], y0 + offs[i, 1], width, height)


@inlined
def random_free_cell_xy(x0: int, y0: int, offs: np.ndarray, torus: np.ndarray,
                        blocked: np.ndarray, width: int, height: int, st: np.ndarray) -> int:
    """:func:`random_free_cell` around the cell (x0, y0): for a caller that has the cell's
    coordinates without a division (which would delay every draw's test by its latency). With
    a wrap table (``torus``, :func:`torus_table` for a reach of at least the offsets'; empty:
    none), a draw reads its cell from it: the same cells, the same draws.

    A window of n <= ``FIELD_WINDOW`` cells draws in batches: each generator output is cut
    into ``FIELDS`` bytes, and the low k bits of each (k = the bits of n - 1) are a candidate
    index, kept if it is below n and its cell is free. All the batch's candidates are tested
    without a branch, and the first kept one is the cell. Each candidate is uniform on
    0..2^k-1 and independent of the others, so the first kept one is uniform over the window's
    free cells, as with one exact draw at a time; but a draw at a time ends its loop on an
    unpredictable branch (at 77 % occupancy after 4.4 draws on average), which cost more than
    the batch's spare candidates (at 40 x 40 with vision 7, 15 % less time per agent-step;
    docs/benchmarks.md). After ``BATCHES`` batches (32 candidates) the exact scan follows. A
    larger window draws as :func:`draw_free_cell` does."""
    n = offs.shape[0]
    if n == 0:  # a vision under one cell: no window to move in (_below(0) would read offs[0])
        return -1
    if n > FIELD_WINDOW:
        return draw_free_cell(x0, y0, offs, torus, blocked, width, height, st)
    table, bx, by = _table_origin(x0, y0, torus, width, height)
    low = np.uint64(n - 1)  # the low k bits: n - 1 with every bit below its top one set
    low |= low >> np.uint64(1)
    low |= low >> np.uint64(2)
    low |= low >> np.uint64(4)
    # the generator's state held in locals: numba cannot tell that ``st`` and ``blocked`` do
    # not overlap, so it would store the state back on every draw
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
    for _ in range(BATCHES):
        r, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
        found = False
        cell = -1
        for j in range(FIELDS):
            i = (r >> np.uint64(8 * j)) & low
            inside = i < np.uint64(n)
            c = _window_cell(i if inside else np.uint64(0), x0, y0, bx, by, offs, torus, table,
                             width, height)
            free = inside & ((blocked[at(c >> 3)] >> (c & 7)) & 1 == 0)
            cell = c if free & (not found) else cell
            found |= free
        if found:
            st[0], st[1], st[2], st[3] = s0, s1, s2, s3
            return cell
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3
    return scan_free_cell(x0, y0, offs, blocked, width, height, st)


@outlined
def draw_free_cell(x0: int, y0: int, offs: np.ndarray, torus: np.ndarray, blocked: np.ndarray,
                   width: int, height: int, st: np.ndarray) -> int:
    """:func:`random_free_cell_xy` in a window of more than ``FIELD_WINDOW`` cells: one exact
    index at a time (Lemire's method), 16 times, then the exact scan. Not inlined: only a wide
    vision comes here (von Neumann radius 11 or more, Moore 8 or more)."""
    table, bx, by = _table_origin(x0, y0, torus, width, height)
    bound = np.uint64(offs.shape[0])
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
    for _ in range(16):
        i, s0, s1, s2, s3 = _below(bound, s0, s1, s2, s3)
        c = _window_cell(np.uint64(i), x0, y0, bx, by, offs, torus, table, width, height)
        if not is_set(blocked, c):
            st[0], st[1], st[2], st[3] = s0, s1, s2, s3
            return c
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3
    return scan_free_cell(x0, y0, offs, blocked, width, height, st)


@outlined
def scan_free_cell(x0: int, y0: int, offs: np.ndarray, blocked: np.ndarray, width: int,
                   height: int, st: np.ndarray) -> int:
    """The exact scan of :func:`random_free_cell_xy`, after its draws all hit blocked cells: a
    uniformly random free cell of the window around (x0, y0), or -1. O(window).

    Not inlined: it runs in about 1 % of the moves at these densities, and an inlined copy in
    each of the rules that move would only lengthen their compilation."""
    n = offs.shape[0]
    free = 0
    for i in range(n):
        if not is_set(blocked, wrap(x0 + offs[i, 0], y0 + offs[i, 1], width, height)):
            free += 1
    if free == 0:
        return -1
    pick = below(st, free)
    for i in range(n):
        c = wrap(x0 + offs[i, 0], y0 + offs[i, 1], width, height)
        if not is_set(blocked, c):
            if pick == 0:
                return c
            pick -= 1
    return -1


@inlined
def nth_in_window(cell: int, offs: np.ndarray, counts: np.ndarray, nth: int, width: int,
                  height: int) -> tuple[int, int]:
    """Walk the window around ``cell`` and return (the cell holding the ``nth`` counted item,
    its rank inside that cell). O(window)."""
    x0, y0 = cell % width, cell // width
    for i in range(offs.shape[0]):
        c = wrap(x0 + offs[i, 0], y0 + offs[i, 1], width, height)
        k = counts[c]
        if nth < k:
            return c, nth
        nth -= k
    return -1, -1


@inlined
def nth_in_spans(cell: int, sp: np.ndarray, counts: np.ndarray, nth: int, width: int,
                 height: int) -> tuple[int, int]:
    """:func:`nth_in_window` over the window given by its :func:`spans`, with the same result
    (the offsets of a window are row-major, and so is this walk): it sums each row's run of
    ``counts`` first (contiguous, so the loads of all rows can be in flight together) and walks
    cell by cell only the row that holds the ``nth`` item. O(window)."""
    x0, y0 = cell % width, cell // width
    n_rows = sp.shape[0]
    skip_centre = n_rows > 0 and sp[n_rows - 1, 3] < 0  # the last span removes the centre
    if skip_centre:
        n_rows -= 1
    for r in range(n_rows):
        base, a, b = span_run(x0, y0, sp, r, width, height)
        total = 0
        if a < 0:
            for x in range(a + width, width):
                total += counts[at(base + x)]
            a = 0
        if b >= width:
            for x in range(0, b - width + 1):
                total += counts[at(base + x)]
            b = width - 1
        for x in range(a, b + 1):
            total += counts[at(base + x)]
        centre_row = skip_centre and sp[r, 0] == 0
        if centre_row:
            total -= counts[cell]
        if nth < total:
            for dx in range(sp[r, 1], sp[r, 2] + 1):
                if centre_row and dx == 0:
                    continue
                x = x0 + dx
                if x < 0:
                    x += width
                elif x >= width:
                    x -= width
                k = counts[base + x]
                if nth < k:
                    return base + x, nth
                nth -= k
        nth -= total
    return -1, -1


# --------------------------------------------------------------------------- marked layers
# A *marked layer* answers "how many marked agents (cops, say) lie in this cell's window" in
# O(rows of the window), without a window count field that every move of a marked agent would
# rewrite (O(window) per move, and at 1000 x 1000 each window row is a cache line of its own):
#
#   counts  per cell (int16): the marked agents in the cell
#   bits    bitmap (:func:`bitmap_bytes`): bit ``c`` set iff ``counts[c] > 0``
#   extra   window count field (any integer dtype): the window sums of ``max(counts - 1, 0)``,
#           the marked agents beyond a cell's first (cells hold one agent, so nearly all zero)
#   flags   bitmap of the same size: bit ``c`` set iff ``extra[c] != 0``
#
# The count of a window is then the set bits of ``bits`` over its rows (one popcount per row of
# up to 56 cells) plus ``extra`` where ``flags`` says it is not zero. A mark added or removed
# costs O(1), and O(window) only when its cell holds another marked agent. The bitmaps of a
# 1000 x 1000 torus are 125 kB each: they stay in the L2 cache.
def bitmap_bytes(cells: int) -> int:
    """Bytes of a marked layer's bitmap over ``cells`` cells: one bit a cell, and 8 bytes of
    padding so that :func:`bit_run_count` may load 8 bytes from any cell's byte."""
    return (cells + 7) // 8 + 8


@inlined
def bit_run_count(bits: np.ndarray, start: int, n: int) -> int:
    """The set bits of the bitmap ``bits`` at positions ``start .. start + n - 1``: one 8-byte
    load and popcount per 56 positions."""
    total = 0
    while n > 0:
        m = min(n, 56)
        word = load_u64(bits, start >> 3) >> np.uint64(start & 7)
        total += int(popcount(word & ((np.uint64(1) << np.uint64(m)) - np.uint64(1))))
        start += m
        n -= m
    return total


@inlined
def window_bits(bits: np.ndarray, x0: int, y0: int, sp: np.ndarray, width: int,
                height: int) -> int:
    """The set bits of ``bits`` over the window (given by its :func:`spans`) around the cell
    (x0, y0). O(rows of the window) for windows up to 56 cells wide."""
    total = 0
    for r in range(sp.shape[0]):
        base, a, b = span_run(x0, y0, sp, r, width, height)
        k = 0
        if a < 0:
            k += bit_run_count(bits, base + a + width, -a)
            a = 0
        if b >= width:
            k += bit_run_count(bits, base, b - width + 1)
            b = width - 1
        k += bit_run_count(bits, base + a, b - a + 1)
        total += k * sp[r, 3]
    return total


@inlined
def window_bits_pair(bits_a: np.ndarray, bits_b: np.ndarray, x0: int, y0: int, sp: np.ndarray,
                     width: int, height: int) -> tuple[int, int]:
    """:func:`window_bits` of two bitmaps over the same window, in one walk of its rows."""
    ta = 0
    tb = 0
    for r in range(sp.shape[0]):
        base, a, b = span_run(x0, y0, sp, r, width, height)
        ka = 0
        kb = 0
        if a < 0:
            ka += bit_run_count(bits_a, base + a + width, -a)
            kb += bit_run_count(bits_b, base + a + width, -a)
            a = 0
        if b >= width:
            ka += bit_run_count(bits_a, base, b - width + 1)
            kb += bit_run_count(bits_b, base, b - width + 1)
            b = width - 1
        ka += bit_run_count(bits_a, base + a, b - a + 1)
        kb += bit_run_count(bits_b, base + a, b - a + 1)
        ta += ka * sp[r, 3]
        tb += kb * sp[r, 3]
    return ta, tb


@inlined
def marks_in_window(bits: np.ndarray, flags: np.ndarray, extra: np.ndarray, cell: int, x0: int,
                    y0: int, sp: np.ndarray, width: int, height: int) -> int:
    """The marked agents of a marked layer (see above) in the window around ``cell`` = (x0, y0).
    O(rows of the window)."""
    total = window_bits(bits, x0, y0, sp, width, height)
    if is_set(flags, cell):
        total += extra[cell]
    return total


@inlined
def mark_add(counts: np.ndarray, bits: np.ndarray, flags: np.ndarray, extra: np.ndarray,
             cell: int, sp: np.ndarray, delta: int, width: int, height: int) -> None:
    """Add ``delta`` (+1 or -1) marked agents to ``cell`` of a marked layer (see above). O(1),
    O(window) if the cell holds more than one marked agent before or after."""
    old = counts[cell]
    new = old + delta
    counts[cell] = new
    set_bit(bits, cell, new > 0)
    if old > 1 or new > 1:
        extra_add(extra, flags, cell, sp, max(new - 1, 0) - max(old - 1, 0), width, height)


@outlined
def extra_add(extra: np.ndarray, flags: np.ndarray, cell: int, sp: np.ndarray, delta: int,
              width: int, height: int) -> None:
    """:func:`window_add` on a marked layer's ``extra`` field, keeping its ``flags`` exact.
    Not inlined: a cell rarely holds two marked agents."""
    window_add(extra, cell, sp, delta, width, height)
    x0, y0 = cell % width, cell // width
    for r in range(sp.shape[0]):
        base, a, b = span_run(x0, y0, sp, r, width, height)
        for x in range(a, b + 1):
            if x < 0:
                x += width
            elif x >= width:
                x -= width
            set_bit(flags, base + x, extra[base + x] != 0)


def marked_layer(counts: np.ndarray, offs: np.ndarray, width: int, height: int,
                 bits: np.ndarray, flags: np.ndarray, extra: np.ndarray) -> None:
    """Fill a marked layer's ``bits``, ``extra`` and ``flags`` from its per-cell ``counts``
    (start, or a change of the window). O(cells x rows of the window)."""
    cells = width * height
    bits[:] = 0
    bits[: (cells + 7) // 8] = np.packbits(counts > 0, bitorder="little")
    extra[:] = window_counts(np.maximum(counts.astype(np.int32) - 1, 0), offs, width, height)
    flags[:] = 0
    flags[: (cells + 7) // 8] = np.packbits(extra != 0, bitorder="little")
