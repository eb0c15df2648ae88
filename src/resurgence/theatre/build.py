"""Build a raster :class:`Theatre` from a theatre file, and load bundled or user theatres.

The builder is generic: every fact comes from the theatre file (``theatre.toml`` + CSVs, see
``spec.py`` and ``docs/theatre.md``). Steps, each a small function below:

1. **Grid.** An equal-area (sinusoidal) grid of ``cell_km`` squares over the outline's
   bounding box; a cell is inside when its centre is inside the outline polygon.
2. **Governorates.** A power diagram (additively weighted Voronoi): every inside cell goes to
   the governorate minimising ``d² − w_g`` over that governorate's sites (its centroid and
   every place the places table puts in it). The weights ``w_g`` are iterated until each
   governorate's cell area matches its official area, rescaled to the raster's total area.
3. **Places** go to the cell holding them; a place just outside the outline (within
   ``places.snap_km``) moves to the nearest inside cell.
4. **Terrain** (precedence URBAN > RIVER > DESERT > MOUNTAIN > STEPPE): URBAN cells around each
   city or town, as many as its population needs at ``population.urban_density_per_km2``
   (at least one), the nearest free cells of its governorate; RIVER within
   ``terrain.river_buffer_km`` of a river polyline (at least half a cell); DESERT inside each
   desert region (a lat/lon box, optionally on one bank of named rivers); MOUNTAIN on one side
   of the mountain line; STEPPE for the rest.
5. **Population.** Each governorate's population: city and town populations to their urban
   cells (evenly), the remainder over its other cells weighted by terrain
   (``population.rural_weight``), then split by the governorate's identity-group shares.
6. **Flags and regions.** Oil cells at ``oil_field`` places, crossing cells at
   ``border_crossing`` places; border cells (inside cells touching outside, 8-neighbourhood)
   labelled with the country across the nearest outline edge; regions for each desert and
   ``border:<country>``.
"""

from __future__ import annotations

import functools
import math
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from resurgence.errors import Problem
from resurgence.theatre.geo import Sinusoidal, inside_rings, nearest_on_polyline, polygon_area
from resurgence.theatre.model import Place, Region, Terrain, Theatre, TheatreError
from resurgence.theatre.spec import PlaceRow, TheatreInputs, read_inputs

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_THEATRE = "iraq"
WEIGHT_ITERATIONS = 500  # weight updates of the governorate diagram (each O(cells × govs))
URBAN_KINDS = ("city", "town", "village")


# --------------------------------------------------------------------------- loading
def available_theatres() -> list[str]:
    """Names of the theatres bundled with the package."""
    return sorted(p.parent.name for p in DATA_DIR.glob("*/theatre.toml"))


def theatre_path(name_or_path: str | Path = DEFAULT_THEATRE) -> Path:
    """The ``theatre.toml`` a name (bundled theatre), folder or file stands for."""
    text = str(name_or_path)
    bundled = DATA_DIR / text / "theatre.toml"
    if "/" not in text and "\\" not in text and bundled.is_file():
        return bundled.resolve()
    p = Path(name_or_path).expanduser()
    if p.is_dir():
        p = p / "theatre.toml"
    if not p.is_file():
        allowed = (f"a bundled theatre ({', '.join(available_theatres())}), a folder holding "
                   "theatre.toml, or the path of a theatre .toml file")
        raise TheatreError(text, [Problem("theatre", text, allowed)])
    return p.resolve()


def load_theatre(name_or_path: str | Path = DEFAULT_THEATRE, cell_km: float | None = None
                 ) -> Theatre:
    """Load a theatre by bundled name (default ``"iraq"``) or path, at ``cell_km`` (default:
    the file's). Built once per (file, cell size, file stamps) and cached in memory: the
    result is read-only and shared; editing the TOML or a CSV it names builds anew.
    ``load_theatre.cache_clear()`` forgets built theatres."""
    path = theatre_path(name_or_path)
    size = None if cell_km is None else float(cell_km)
    return _load_cached(path, size, _stamp(path))


def _stamp(path: Path) -> tuple[tuple[str, int, int], ...]:
    """(name, mtime_ns, size) of the TOML and of the files its [files] table names."""
    paths = [path]
    try:
        files = tomllib.loads(path.read_text(encoding="utf-8")).get("files", {})
        paths += [path.parent / v for v in files.values() if isinstance(v, str)]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        pass  # the build reports it
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((str(p), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(p), -1, -1))
    return tuple(out)


@functools.cache
def _load_cached(path: Path, cell_km: float | None, stamp: tuple[object, ...]) -> Theatre:
    return build_theatre(read_inputs(path, cell_km))


load_theatre.cache_clear = _load_cached.cache_clear  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- building
@dataclass
class _Grid:
    proj: Sinusoidal
    cell: float
    x0: float  # west edge
    ytop: float  # north edge
    x_km: np.ndarray
    y_km: np.ndarray
    X: np.ndarray
    Y: np.ndarray
    inside: np.ndarray
    rings: list[np.ndarray]
    ring_labels: list[list[str]]

    def cell_index(self, x: float, y: float) -> tuple[int, int]:
        col = int(math.floor((x - self.x0) / self.cell))
        row = int(math.floor((self.ytop - y) / self.cell))
        h, w = self.inside.shape
        return min(max(row, 0), h - 1), min(max(col, 0), w - 1)


def build_theatre(inputs: TheatreInputs) -> Theatre:
    """Build the raster from validated inputs (see the module docstring for the steps)."""
    t0 = time.perf_counter()
    spec = inputs.spec
    grid = _grid(inputs)
    report: dict[str, object] = {}
    xy = {p.name: tuple(float(v) for v in grid.proj.forward(p.lat, p.lon)) for p in inputs.places}
    gov, gov_report = _governorates(inputs, grid, xy)
    report.update(gov_report)
    place_cells, snapped = _place_cells(inputs, grid, xy)
    terrain, region_masks = _terrain(inputs, grid)
    urban_cells, shortfall = _urban(inputs, grid, gov, terrain, xy, place_cells)
    population, cell_pop = _population(inputs, grid, gov, terrain, urban_cells)
    oil, crossing = _flags(inputs, grid, xy, place_cells)
    border, neighbours = _border(grid)

    gnames = [g.name for g in inputs.governorates]
    places: dict[str, Place] = {}
    mismatched = []
    for p in inputs.places:
        r, c = place_cells[p.name]
        gidx = int(gov[r, c])
        gname = gnames[gidx] if gidx >= 0 else ""
        if len(p.governorates) == 1 and p.governorates[0] != gname:
            mismatched.append(f"{p.name}: {p.governorates[0]} in the table, {gname} on the raster")
        cells = urban_cells.get(p.name) or ((r, c),)
        pop = float(cell_pop[tuple(np.array(cells).T)].sum()) if p.name in urban_cells else None
        places[p.name] = Place(p.name, p.kind, p.lat, p.lon, r, c, gname, pop, tuple(cells),
                               snapped.get(p.name, 0.0))

    regions: dict[str, Region] = {}
    empty = [Problem(f"terrain.region.{i}", d.name, "covers no cell inside the outline")
             for i, (d, mask) in enumerate(zip(spec.terrain.region, region_masks, strict=True))
             if not mask.any()]
    if empty:
        raise TheatreError(inputs.path, empty)
    for d, mask in zip(spec.terrain.region, region_masks, strict=True):
        cell = (places[d.name].row, places[d.name].col) if d.name in places else _middle(mask)
        regions[d.name] = Region(d.name, d.terrain, _frozen(mask), cell)
    for k, country in enumerate(neighbours):
        mask = border == k
        regions[f"border:{country}"] = Region(f"border:{country}", "border", _frozen(mask),
                                              _middle(mask))

    gcells: dict[str, tuple[int, int]] = {}
    for k, g in enumerate(inputs.governorates):
        cap = places.get(g.capital)
        if cap is not None and cap.governorate == g.name:
            gcells[g.name] = (cap.row, cap.col)
        else:
            gx, gy = grid.proj.forward(g.lat, g.lon)
            dist2 = np.where(gov == k, (grid.X - gx) ** 2 + (grid.Y - gy) ** 2, np.inf)
            gr, gc = np.unravel_index(int(np.argmin(dist2)), dist2.shape)
            gcells[g.name] = (int(gr), int(gc))

    aliases = _aliases(inputs, places, gnames, regions)
    lat, lon = grid.proj.inverse(grid.X, grid.Y)
    report.update({
        "mismatched_places": tuple(mismatched),
        "urban_shortfall": shortfall,
        "outline_area_km2": sum(polygon_area(r) for r in grid.rings),
        "build_seconds": time.perf_counter() - t0,
    })
    return Theatre(
        name=spec.name, source=str(inputs.path), description=spec.description,
        cell_km=spec.cell_km, projection=grid.proj.describe(),
        x_km=_frozen(grid.x_km), y_km=_frozen(grid.y_km), lat=_frozen(lat), lon=_frozen(lon),
        bbox=inputs.bbox, inside=_frozen(grid.inside), terrain=_frozen(terrain),
        governorate=_frozen(gov), governorates=tuple(gnames), groups=tuple(spec.groups),
        population=_frozen(population), oil=_frozen(oil), border_crossing=_frozen(crossing),
        border=_frozen(border), neighbours=tuple(neighbours), places=MappingProxyType(places),
        governorate_cells=MappingProxyType(gcells), regions=MappingProxyType(regions),
        aliases=MappingProxyType(aliases),
        official_area_km2=_frozen(np.array([g.area_km2 for g in inputs.governorates])),
        official_population=_frozen(np.array([g.population for g in inputs.governorates])),
        report=MappingProxyType(report),
    )


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def _middle(mask: np.ndarray) -> tuple[int, int]:
    """The cell of a mask nearest to the mask's mean position."""
    rows, cols = np.nonzero(mask)
    if len(rows) == 0:
        return -1, -1
    k = int(np.argmin((rows - rows.mean()) ** 2 + (cols - cols.mean()) ** 2))
    return int(rows[k]), int(cols[k])


def _grid(inputs: TheatreInputs) -> _Grid:
    o = inputs.outline
    cell = inputs.spec.cell_km
    lat_lo, lat_hi, lon_lo, lon_hi = inputs.bbox
    proj = Sinusoidal(lon0=round((lon_lo + lon_hi) / 2, 6))
    rings, labels = [], []
    part = np.array(o.part)
    for p in sorted(set(o.part)):
        sel = np.nonzero(part == p)[0]
        x, y = proj.forward(np.array(o.lat)[sel], np.array(o.lon)[sel])
        rings.append(np.column_stack([x, y]))
        labels.append([o.neighbour[i] for i in sel])
    allx = np.concatenate([r[:, 0] for r in rings])
    ally = np.concatenate([r[:, 1] for r in rings])
    x0 = math.floor(allx.min() / cell) * cell - cell
    x1 = math.ceil(allx.max() / cell) * cell + cell
    ytop = math.ceil(ally.max() / cell) * cell + cell
    ybot = math.floor(ally.min() / cell) * cell - cell
    w, h = round((x1 - x0) / cell), round((ytop - ybot) / cell)
    x_km = x0 + (np.arange(w) + 0.5) * cell
    y_km = ytop - (np.arange(h) + 0.5) * cell
    X, Y = np.meshgrid(x_km, y_km)
    inside = inside_rings(X, Y, rings)
    if not inside.any():
        raise TheatreError(inputs.path, [Problem(
            "cell_km", cell, f"larger than the outline ({inputs.spec.files.outline}): "
            "no cell centre falls inside it; use smaller cells")])
    return _Grid(proj, cell, x0, ytop, x_km, y_km, X, Y, inside, rings, labels)


def _governorates(inputs: TheatreInputs, grid: _Grid, xy: dict[str, tuple[float, ...]]
                  ) -> tuple[np.ndarray, dict[str, object]]:
    """Power diagram of governorate sites with weights fitted to the official areas."""
    govs = inputs.governorates
    index = {g.name: k for k, g in enumerate(govs)}
    sx: list[float] = []
    sy: list[float] = []
    sg: list[int] = []
    for k, g in enumerate(govs):
        gx, gy = grid.proj.forward(g.lat, g.lon)
        sx.append(float(gx))
        sy.append(float(gy))
        sg.append(k)
    for p in inputs.places:
        if len(p.governorates) == 1:
            sx.append(xy[p.name][0])
            sy.append(xy[p.name][1])
            sg.append(index[p.governorates[0]])
    rows, cols = np.nonzero(grid.inside)
    cx, cy = grid.X[rows, cols], grid.Y[rows, cols]
    # only the nearest site of each governorate can win a cell: reduce to (cells, govs)
    d2 = np.full((len(rows), len(govs)), np.inf)
    for x, y, k in zip(sx, sy, sg, strict=True):
        np.minimum(d2[:, k], (cx - x) ** 2 + (cy - y) ** 2, out=d2[:, k])
    cell_area = grid.cell * grid.cell
    raster_area = len(rows) * cell_area
    official = np.array([g.area_km2 for g in govs])
    target = official * raster_area / official.sum()
    # multiplicatively weighted Voronoi: a cell goes to argmin_g d_g / s_g (d_g: distance to
    # g's nearest site), so every site stays in its own governorate, whatever the weights
    s2 = np.ones(len(govs))
    best_err, best_assign, best_it = np.inf, None, 0
    for it in range(WEIGHT_ITERATIONS):
        assign = np.argmin(d2 / s2[None, :], axis=1)
        area = np.bincount(assign, minlength=len(govs)) * cell_area
        err = float(np.max(np.abs(area - target) / target))
        if err < best_err:
            best_err, best_assign, best_it = err, assign, it
        if np.all(np.abs(area - target) <= cell_area):
            break
        # a region's area grows about as s_g²: damped multiplicative update
        s2 *= (target / np.maximum(area, cell_area)) ** 0.5
    gov = np.full(grid.inside.shape, -1, dtype=np.int16)
    assert best_assign is not None
    gov[rows, cols] = best_assign
    return gov, {
        "governorate_area_scale": float(raster_area / official.sum()),
        "governorate_max_area_error": best_err,
        "governorate_iterations": best_it + 1,
    }


def _place_cells(inputs: TheatreInputs, grid: _Grid, xy: dict[str, tuple[float, ...]]
                 ) -> tuple[dict[str, tuple[int, int]], dict[str, float]]:
    snap = inputs.spec.places.snap_km
    rows, cols = np.nonzero(grid.inside)
    cells: dict[str, tuple[int, int]] = {}
    snapped: dict[str, float] = {}
    problems = []
    for p in inputs.places:
        x, y = xy[p.name]
        r, c = grid.cell_index(x, y)
        if grid.inside[r, c]:
            cells[p.name] = (r, c)
            continue
        px, py = np.array([x]), np.array([y])
        if not inside_rings(px, py, grid.rings)[0]:
            gap = min(float(nearest_on_polyline(px, py, np.vstack([ring, ring[:1]])).distance[0])
                      for ring in grid.rings)
            if gap > snap:
                problems.append(_place_problem(p, f"outside the outline by {gap:.1f} km; allowed: "
                                                  f"at most places.snap_km = {snap:g} km"))
                continue
        d = (grid.X[rows, cols] - x) ** 2 + (grid.Y[rows, cols] - y) ** 2
        k = int(np.argmin(d))
        cells[p.name] = (int(rows[k]), int(cols[k]))
        snapped[p.name] = float(np.sqrt(d[k]))
    if problems:
        raise TheatreError(inputs.path.parent / inputs.spec.files.places, problems)
    return cells, snapped


def _place_problem(p: PlaceRow, allowed: str) -> Problem:
    return Problem(f"line {p.line} ({p.name}), column lat/lon", (p.lat, p.lon), allowed)


def _terrain(inputs: TheatreInputs, grid: _Grid) -> tuple[np.ndarray, list[np.ndarray]]:
    """Terrain without URBAN (added by :func:`_urban`), and one mask per terrain region."""
    spec = inputs.spec.terrain
    inside = grid.inside
    rows, cols = np.nonzero(inside)
    px, py = grid.X[rows, cols], grid.Y[rows, cols]
    cls = {t: np.zeros(len(rows), dtype=bool) for t in Terrain}
    if spec.mountain is not None:
        line = np.array(spec.mountain.line)
        mx, my = grid.proj.forward(line[:, 0], line[:, 1])
        side = nearest_on_polyline(px, py, np.column_stack([mx, my])).side
        cls[Terrain.MOUNTAIN] |= side == (1 if spec.mountain.side == "left" else -1)
    rivers = {r.name: np.column_stack(grid.proj.forward(np.array(r.lat), np.array(r.lon)))
              for r in inputs.rivers}
    near = {name: nearest_on_polyline(px, py, line) for name, line in rivers.items()}
    lat, lon = grid.proj.inverse(px, py)
    masks = []
    for d in spec.region:
        sel = (lat >= d.lat[0]) & (lat <= d.lat[1]) & (lon >= d.lon[0]) & (lon <= d.lon[1])
        for river, bank in d.banks.items():
            # the right bank lies on your right looking downstream (side -1 of the polyline)
            sel &= near[river].side == (1 if bank == "left" else -1)
        cls[Terrain[d.terrain.upper()]] |= sel
        mask = np.zeros(inside.shape, dtype=bool)
        mask[rows[sel], cols[sel]] = True
        masks.append(mask)
    if near:
        buffer = max(spec.river_buffer_km, grid.cell / 2)
        dist = np.min(np.stack([n.distance for n in near.values()]), axis=0)
        cls[Terrain.RIVER] |= dist <= buffer
    code = np.full(len(rows), Terrain.STEPPE, dtype=np.int8)
    for t in (Terrain.MOUNTAIN, Terrain.DESERT, Terrain.RIVER):  # lowest precedence first
        code[cls[t]] = t
    terrain = np.zeros(inside.shape, dtype=np.int8)
    terrain[rows, cols] = code
    return terrain, masks


def _urban(inputs: TheatreInputs, grid: _Grid, gov: np.ndarray, terrain: np.ndarray,
           xy: dict[str, tuple[float, ...]], place_cells: dict[str, tuple[int, int]]
           ) -> tuple[dict[str, list[tuple[int, int]]], dict[str, int]]:
    """Mark URBAN cells for each populated city/town, largest first; returns their cells."""
    density = inputs.spec.population.urban_density_per_km2
    cell_area = grid.cell * grid.cell
    index = {g.name: k for k, g in enumerate(inputs.governorates)}
    taken = np.zeros(gov.shape, dtype=bool)
    towns = [p for p in inputs.places if p.kind in URBAN_KINDS and p.population]
    towns.sort(key=lambda p: -(p.population or 0.0))
    out: dict[str, list[tuple[int, int]]] = {}
    shortfall: dict[str, int] = {}
    for p in towns:
        r0, c0 = place_cells[p.name]
        k = index[p.governorates[0]] if p.governorates else int(gov[r0, c0])
        need = max(1, round((p.population or 0.0) / (density * cell_area)))
        free = (gov == k) & ~taken
        rows, cols = np.nonzero(free)
        if len(rows) == 0:
            shortfall[p.name] = need
            continue
        x, y = xy[p.name]
        d = (grid.X[rows, cols] - x) ** 2 + (grid.Y[rows, cols] - y) ** 2
        order = np.argsort(d, kind="stable")[:need]
        if len(order) < need:
            shortfall[p.name] = need - len(order)
        cells = [(int(rows[i]), int(cols[i])) for i in order]
        for r, c in cells:
            taken[r, c] = True
            terrain[r, c] = Terrain.URBAN
        out[p.name] = cells
    return out, shortfall


def _population(inputs: TheatreInputs, grid: _Grid, gov: np.ndarray, terrain: np.ndarray,
                urban_cells: dict[str, list[tuple[int, int]]]) -> tuple[np.ndarray, np.ndarray]:
    """People per group and cell (float32), and the total per cell (float64)."""
    spec = inputs.spec.population
    weights = np.zeros(len(Terrain))
    weights[Terrain.RIVER] = spec.rural_weight.river
    weights[Terrain.STEPPE] = spec.rural_weight.steppe
    weights[Terrain.MOUNTAIN] = spec.rural_weight.mountain
    weights[Terrain.DESERT] = spec.rural_weight.desert
    total = np.zeros(gov.shape)
    pops = {p.name: p.population or 0.0 for p in inputs.places}
    for name, cells in urban_cells.items():
        r, c = np.array(cells).T
        total[r, c] += pops[name] / len(cells)
    problems = []
    share = np.zeros((len(inputs.spec.groups), *gov.shape))
    for k, g in enumerate(inputs.governorates):
        mine = gov == k
        if not mine.any():
            problems.append(Problem(f"governorate {g.name!r}", g.area_km2,
                                    "got no cell: its area is too small for cell_km"))
            continue
        cities = float(total[mine].sum())
        rest = g.population - cities
        if rest < -0.5:
            problems.append(Problem(
                f"governorate {g.name!r}, column population", g.population,
                f"must be at least the population of its listed cities and towns ({cities:,.0f})"))
            continue
        w = np.where(mine & (terrain != Terrain.URBAN), weights[terrain], 0.0)
        if w.sum() <= 0:
            w = mine.astype(np.float64)
        total += max(rest, 0.0) * w / w.sum()
        for j, s in enumerate(g.shares):
            share[j][mine] = s
    if problems:
        raise TheatreError(inputs.path.parent / inputs.spec.files.governorates, problems)
    return (share * total[None]).astype(np.float32), total


def _flags(inputs: TheatreInputs, grid: _Grid, xy: dict[str, tuple[float, ...]],
           place_cells: dict[str, tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    oil = np.zeros(grid.inside.shape, dtype=bool)
    crossing = np.zeros(grid.inside.shape, dtype=bool)
    radius = inputs.spec.places.oil_radius_km
    for p in inputs.places:
        r, c = place_cells[p.name]
        if p.kind == "oil_field":
            oil[r, c] = True
            if radius > 0:
                x, y = xy[p.name]
                oil |= grid.inside & ((grid.X - x) ** 2 + (grid.Y - y) ** 2 <= radius * radius)
        elif p.kind == "border_crossing":
            crossing[r, c] = True
    return oil, crossing


def _border(grid: _Grid) -> tuple[np.ndarray, list[str]]:
    """Inside cells with an outside 8-neighbour, labelled by the nearest outline edge."""
    inside = grid.inside
    pad = np.pad(inside, 1, constant_values=False)
    h, w = inside.shape
    all_in = np.ones_like(inside)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            all_in &= pad[1 + dr:1 + dr + h, 1 + dc:1 + dc + w]
    edge = inside & ~all_in
    rows, cols = np.nonzero(edge)
    px, py = grid.X[rows, cols], grid.Y[rows, cols]
    best = np.full(len(rows), np.inf)
    label = np.array([""] * len(rows), dtype=object)
    for ring, labels in zip(grid.rings, grid.ring_labels, strict=True):
        near = nearest_on_polyline(px, py, np.vstack([ring, ring[:1]]))
        closer = near.distance < best
        best = np.where(closer, near.distance, best)
        names = np.array([lab or "outside" for lab in labels], dtype=object)
        label = np.where(closer, names[near.segment], label)
    neighbours = sorted(set(label.tolist()))
    code = {n: k for k, n in enumerate(neighbours)}
    border = np.full(inside.shape, -1, dtype=np.int16)
    border[rows, cols] = [code[n] for n in label]
    return border, neighbours


def _aliases(inputs: TheatreInputs, places: dict[str, Place], governorates: list[str],
             regions: dict[str, Region]) -> dict[str, str]:
    known = {*places, *governorates, *regions}
    problems = []
    for alias, target in inputs.spec.aliases.items():
        if alias in known:
            problems.append(Problem(f"aliases.{alias}", target,
                                    "the alias is already the name of a place, governorate or "
                                    "region"))
        elif target.partition(":")[2] not in known and target not in known:
            problems.append(Problem(f"aliases.{alias}", target,
                                    "must name a place, governorate or region of the theatre "
                                    f"(regions: {', '.join(regions)})"))
    if problems:
        raise TheatreError(inputs.path, problems)
    return dict(inputs.spec.aliases)
