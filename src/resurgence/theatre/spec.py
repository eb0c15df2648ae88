"""The theatre file: ``theatre.toml`` naming CSV tables -> validated, typed inputs.

Everything a user can get wrong is checked here, before any raster is built, and reported as
a :class:`TheatreError` naming the file, the key (or line and column), the value and what is
allowed. The format is documented in ``docs/theatre.md``.
"""

from __future__ import annotations

import csv
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from resurgence.errors import MISSING, Problem
from resurgence.scenario.params import Params
from resurgence.theatre.model import PLACE_KINDS, TheatreError

MAX_PROBLEMS = 20  # problems listed per file before the rest are summarised
SHARE_TOLERANCE = 0.01  # identity-group shares of a governorate must sum to 1 within this


# --------------------------------------------------------------------------- the TOML spec
class _Strict(Params):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FilesSpec(_Strict):
    """CSV tables, relative to the folder of ``theatre.toml``."""

    outline: str = Field(description="polygon of the theatre: lat, lon[, part, neighbour]")
    governorates: str = Field(description="one row per governorate (admin unit)")
    places: str = Field(description="named places: name, kind, lat, lon[, population, ...]")
    rivers: str | None = Field(None, description="river polylines: river, order, lat, lon")


class RegionSpec(_Strict):
    """A named terrain region: a lat/lon box, optionally only on one bank of named rivers."""

    name: str = Field(min_length=1)
    terrain: Literal["desert", "river", "mountain", "steppe"] = Field(
        description="terrain class given to the region's cells (precedence still applies)"
    )
    lat: tuple[float, float]
    lon: tuple[float, float]
    banks: dict[str, Literal["left", "right"]] = Field(
        default_factory=dict,
        description="river name -> 'left' or 'right' bank (looking downstream)",
    )

    @field_validator("lat", "lon")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not v[0] < v[1]:
            raise ValueError("must be [south, north] or [west, east] with the first smaller")
        return v


class MountainSpec(_Strict):
    """Mountains lie on one side of a polyline of [lat, lon] points (walking along it)."""

    line: list[tuple[float, float]] = Field(min_length=2)
    side: Literal["left", "right"] = "left"


class TerrainSpec(_Strict):
    river_buffer_km: float = Field(10.0, ge=0, le=200, description="river valley half-width")
    region: list[RegionSpec] = Field(default_factory=list)
    mountain: MountainSpec | None = None


class RuralWeights(_Strict):
    """Relative density of the population outside the listed cities, per km², by terrain."""

    river: float = Field(100.0, ge=0)
    steppe: float = Field(20.0, ge=0)
    mountain: float = Field(10.0, ge=0)
    desert: float = Field(1.0, ge=0)


class PopulationSpec(_Strict):
    urban_density_per_km2: float = Field(6800.0, gt=0, description="people per km² in cities")
    rural_weight: RuralWeights = RuralWeights()


class PlacesSpec(_Strict):
    snap_km: float = Field(
        5.0, ge=0, le=100, description="a place this close outside the outline moves inside"
    )
    oil_radius_km: float = Field(0.0, ge=0, le=100, description="oil cells around a field")


class TheatreSpec(_Strict):
    """The whole ``theatre.toml``."""

    name: str = Field(min_length=1)
    description: str = ""
    cell_km: float = Field(5.0, ge=1.0, le=100.0, description="cell side in km")
    groups: list[str] = Field(min_length=1, description="identity groups; CSV has <group>_share")
    files: FilesSpec
    terrain: TerrainSpec = TerrainSpec()
    population: PopulationSpec = PopulationSpec()
    places: PlacesSpec = PlacesSpec()
    aliases: dict[str, str] = Field(default_factory=dict, description="other name -> name")

    @field_validator("groups")
    @classmethod
    def _unique_groups(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("group names must be unique")
        for g in v:
            if not g.isidentifier():
                raise ValueError(f"group {g!r} must be a simple name (letters, digits, _)")
        return v


# --------------------------------------------------------------------------- the tables
@dataclass(frozen=True)
class Outline:
    lat: list[float]
    lon: list[float]
    part: list[int]
    neighbour: list[str]  # country across the edge from this vertex to the next ("" unknown)


@dataclass(frozen=True)
class Governorate:
    name: str
    capital: str
    lat: float
    lon: float
    area_km2: float
    population: float
    shares: tuple[float, ...]  # per group, normalised to sum 1


@dataclass(frozen=True)
class PlaceRow:
    name: str
    kind: str
    lat: float
    lon: float
    population: float | None
    governorates: tuple[str, ...]  # () when not given; several when the row spans several
    line: int


@dataclass(frozen=True)
class River:
    name: str
    lat: list[float]
    lon: list[float]


@dataclass(frozen=True)
class TheatreInputs:
    """A validated theatre file and its tables."""

    path: Path
    spec: TheatreSpec
    outline: Outline
    governorates: list[Governorate]
    places: list[PlaceRow]
    rivers: list[River]

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(lat_min, lat_max, lon_min, lon_max) of the outline."""
        o = self.outline
        return min(o.lat), max(o.lat), min(o.lon), max(o.lon)


def read_inputs(path: Path, cell_km: float | None = None) -> TheatreInputs:
    """Read and validate ``theatre.toml`` and its CSVs; raise :class:`TheatreError`."""
    spec = _read_spec(path)
    if cell_km is not None:
        try:
            spec = TheatreSpec.model_validate({**spec.model_dump(), "cell_km": cell_km})
        except ValidationError as exc:
            raise TheatreError(path, _problems(exc)) from None
    base = path.parent
    files = spec.files
    outline = _read_outline(_csv_path(path, base, "files.outline", files.outline))
    lat_lo, lat_hi = min(outline.lat), max(outline.lat)
    lon_lo, lon_hi = min(outline.lon), max(outline.lon)
    bbox = _Box(lat_lo, lat_hi, lon_lo, lon_hi, margin_km=max(spec.places.snap_km, 1.0))
    govs = _read_governorates(
        _csv_path(path, base, "files.governorates", files.governorates), spec.groups, bbox
    )
    names = [g.name for g in govs]
    places = _read_places(_csv_path(path, base, "files.places", files.places), names, bbox)
    rivers: list[River] = []
    if files.rivers is not None:
        rivers = _read_rivers(_csv_path(path, base, "files.rivers", files.rivers), bbox)
    _check_cross_refs(path, spec, rivers)
    return TheatreInputs(path, spec, outline, govs, places, rivers)


def _read_spec(path: Path) -> TheatreSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TheatreError(path, [Problem("file", str(path), "no such file")]) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        problem = Problem("file", str(path), f"cannot be read as text: {exc}")
        raise TheatreError(path, [problem]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TheatreError(path, [Problem("(syntax)", MISSING, f"not valid TOML: {exc}")]) from None
    try:
        return TheatreSpec.model_validate(data)
    except ValidationError as exc:
        raise TheatreError(path, _problems(exc)) from None


def _problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        value: Any = MISSING if err["type"] == "missing" else err.get("input", MISSING)
        if err["type"] == "keyed":  # a check over a table that names its key
            loc.append((err.get("ctx") or {})["key"])
            value = (err.get("ctx") or {})["value"]
        key = ".".join(loc) or "(theatre)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key" + _allowed_keys(err["loc"])
        if isinstance(value, dict) and err["type"] != "extra_forbidden":
            value = "{...}"
        problems.append(Problem(key, value, msg))
    return problems


def _allowed_keys(loc: tuple[Any, ...]) -> str:
    model: type[BaseModel] = TheatreSpec
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        ann = getattr(field, "annotation", None) if field else None
        args = getattr(ann, "__args__", ())
        candidates = [ann, *args, *(getattr(a, "__args__", ()) for a in args)]
        flat = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not flat:
            return ""
        model = flat[0]
    return " (allowed: " + ", ".join(model.model_fields) + ")"


def _csv_path(toml: Path, base: Path, key: str, name: str) -> Path:
    p = (base / name).resolve()
    if not p.is_file():
        raise TheatreError(toml, [Problem(key, name, f"no such file: {p}")])
    return p


@dataclass(frozen=True)
class _Box:
    lat_lo: float
    lat_hi: float
    lon_lo: float
    lon_hi: float
    margin_km: float

    def check(self, lat: float, lon: float) -> str | None:
        dlat = self.margin_km / 111.0
        dlon = self.margin_km / (111.0 * math.cos(math.radians((self.lat_lo + self.lat_hi) / 2)))
        if not self.lat_lo - dlat <= lat <= self.lat_hi + dlat:
            return (f"latitude outside the theatre's bounding box "
                    f"{self.lat_lo:.3f}..{self.lat_hi:.3f} N (outline.csv)")
        if not self.lon_lo - dlon <= lon <= self.lon_hi + dlon:
            return (f"longitude outside the theatre's bounding box "
                    f"{self.lon_lo:.3f}..{self.lon_hi:.3f} E (outline.csv)")
        return None


class _Table:
    """A CSV file read with line numbers, collecting problems as it goes."""

    def __init__(self, path: Path, required: list[str]):
        self.path = path
        self.problems: list[Problem] = []
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                self.columns = [c.strip() for c in (reader.fieldnames or [])]
                reader.fieldnames = self.columns
                self.rows = [(reader.line_num, row) for row in reader]
        except (UnicodeDecodeError, csv.Error) as exc:
            problem = Problem("file", path.name, f"not a CSV file: {exc}")
            raise TheatreError(path, [problem]) from None
        missing = [c for c in required if c not in self.columns]
        if missing:
            found = ", ".join(self.columns) or "(none)"
            problems = [
                Problem(f"column {c!r}", MISSING, f"required columns: {', '.join(required)}; "
                        f"found: {found}")
                for c in missing
            ]
            raise TheatreError(path, problems)
        if not self.rows:
            raise TheatreError(path, [Problem("rows", 0, "the table needs at least one row")])

    def where(self, line: int, row: dict[str, str | None], column: str) -> str:
        label = (row.get("name") or row.get("governorate") or row.get("river") or "").strip()
        tag = f" ({label})" if label else ""
        return f"line {line}{tag}, column {column}"

    def text(self, line: int, row: dict[str, str | None], column: str) -> str:
        value = (row.get(column) or "").strip()
        if not value:
            self.problems.append(Problem(self.where(line, row, column), MISSING, "required"))
        return value

    def number(
        self, line: int, row: dict[str, str | None], column: str, *, lo: float = -math.inf,
        hi: float = math.inf, required: bool = True, allowed: str = "",
    ) -> float | None:
        raw = (row.get(column) or "").strip()
        key = self.where(line, row, column)
        if not raw:
            if required:
                self.problems.append(Problem(key, MISSING, allowed or "a number is required"))
            return None
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(Problem(key, raw, allowed or "must be a number"))
            return None
        if not (math.isfinite(value) and lo <= value <= hi):
            self.problems.append(Problem(key, raw, allowed or f"must be within [{lo}, {hi}]"))
            return None
        return value

    def latlon(self, line: int, row: dict[str, str | None], box: _Box | None
               ) -> tuple[float, float]:
        lat = self.number(line, row, "lat", lo=-90, hi=90, allowed="a latitude in degrees N")
        lon = self.number(line, row, "lon", lo=-180, hi=180, allowed="a longitude in degrees E")
        if lat is None or lon is None:
            return math.nan, math.nan
        if box is not None:
            why = box.check(lat, lon)
            if why:
                self.problems.append(Problem(self.where(line, row, "lat/lon"), (lat, lon), why))
        return lat, lon

    def raise_if_any(self) -> None:
        if self.problems:
            shown = self.problems[:MAX_PROBLEMS]
            if len(self.problems) > MAX_PROBLEMS:
                more = len(self.problems) - MAX_PROBLEMS
                shown.append(Problem("...", MISSING, f"{more} more problems not shown"))
            raise TheatreError(self.path, shown)


def _read_outline(path: Path) -> Outline:
    t = _Table(path, ["lat", "lon"])
    lat, lon, part, neighbour = [], [], [], []
    for line, row in t.rows:
        la, lo = t.latlon(line, row, None)
        p = 0
        if "part" in t.columns:
            pv = t.number(line, row, "part", lo=0, hi=1e6, allowed="a part number >= 0")
            p = int(pv) if pv is not None else 0
        lat.append(la)
        lon.append(lo)
        part.append(p)
        neighbour.append((row.get("neighbour") or "").strip())
    t.raise_if_any()
    for p in sorted(set(part)):
        n = part.count(p)
        if n < 3:
            t.problems.append(Problem(f"part {p}", n, "a ring needs at least 3 vertices"))
    t.raise_if_any()
    return Outline(lat, lon, part, neighbour)


def _read_governorates(path: Path, groups: list[str], box: _Box) -> list[Governorate]:
    share_cols = [f"{g}_share" for g in groups]
    required = ["governorate", "capital", "centroid_lat", "centroid_lon", "area_km2",
                "population", *share_cols]
    t = _Table(path, required)
    out: list[Governorate] = []
    seen: set[str] = set()
    for line, row in t.rows:
        name = t.text(line, row, "governorate")
        if name in seen:
            t.problems.append(Problem(t.where(line, row, "governorate"), name, "duplicate name"))
        seen.add(name)
        capital = (row.get("capital") or "").strip()
        lat = t.number(line, row, "centroid_lat", lo=-90, hi=90, allowed="a latitude")
        lon = t.number(line, row, "centroid_lon", lo=-180, hi=180, allowed="a longitude")
        if lat is not None and lon is not None and (why := box.check(lat, lon)):
            t.problems.append(Problem(t.where(line, row, "centroid_lat/lon"), (lat, lon), why))
        area = t.number(line, row, "area_km2", lo=1e-9, allowed="an area in km² > 0")
        pop = t.number(line, row, "population", lo=0, allowed="a population >= 0")
        shares = [t.number(line, row, c, lo=0, hi=1, allowed="a share within [0, 1]")
                  for c in share_cols]
        if all(s is not None for s in shares):
            total = sum(s for s in shares if s is not None)
            if abs(total - 1.0) > SHARE_TOLERANCE:
                t.problems.append(Problem(
                    t.where(line, row, "+".join(share_cols)), round(total, 6),
                    f"the shares must sum to 1 (within {SHARE_TOLERANCE})",
                ))
        if None in (lat, lon, area, pop) or None in shares:
            continue
        norm = sum(s for s in shares if s is not None)
        out.append(Governorate(
            name, capital, float(lat), float(lon), float(area), float(pop),  # type: ignore[arg-type]
            tuple(float(s) / norm for s in shares if s is not None),
        ))
    t.raise_if_any()
    return out


def _read_places(path: Path, governorates: list[str], box: _Box) -> list[PlaceRow]:
    t = _Table(path, ["name", "kind", "lat", "lon"])
    known = set(governorates)
    kinds = ", ".join(sorted(PLACE_KINDS))
    out: list[PlaceRow] = []
    seen: set[str] = set()
    for line, row in t.rows:
        name = t.text(line, row, "name")
        if name in seen:
            t.problems.append(Problem(t.where(line, row, "name"), name, "duplicate place name"))
        seen.add(name)
        kind = t.text(line, row, "kind")
        if kind and kind not in PLACE_KINDS:
            t.problems.append(Problem(t.where(line, row, "kind"), kind, f"allowed: {kinds}"))
        lat, lon = t.latlon(line, row, box)
        pop = None
        if "population" in t.columns:
            pop = t.number(line, row, "population", lo=0, required=False,
                           allowed="empty or a population >= 0")
        govs: tuple[str, ...] = ()
        raw = (row.get("governorate") or "").strip() if "governorate" in t.columns else ""
        if raw:
            govs = tuple(g.strip() for g in raw.split("/"))
            bad = [g for g in govs if g not in known]
            if bad:
                t.problems.append(Problem(
                    t.where(line, row, "governorate"), raw,
                    "empty, a governorate of the governorates table or several joined by '/' "
                    f"(known: {', '.join(governorates)})",
                ))
        if pop and len(govs) > 1:
            t.problems.append(Problem(
                t.where(line, row, "governorate"), raw,
                "a place with a population needs one governorate (or none)",
            ))
        out.append(PlaceRow(name, kind, lat, lon, pop, govs, line))
    t.raise_if_any()
    return out


def _read_rivers(path: Path, box: _Box) -> list[River]:
    t = _Table(path, ["river", "order", "lat", "lon"])
    points: dict[str, list[tuple[float, int, float, float]]] = {}
    for line, row in t.rows:
        name = t.text(line, row, "river")
        order = t.number(line, row, "order", allowed="a number giving the downstream order")
        lat, lon = t.latlon(line, row, box)
        if name and order is not None:
            points.setdefault(name, []).append((order, line, lat, lon))
    for name, pts in points.items():
        if len(pts) < 2:
            t.problems.append(Problem(f"river {name!r}", len(pts), "needs at least 2 points"))
        orders = [p[0] for p in pts]
        if len(set(orders)) != len(orders):
            t.problems.append(Problem(f"river {name!r}, column order", orders, "must be unique"))
    t.raise_if_any()
    rivers = []
    for name, pts in points.items():
        pts.sort()
        rivers.append(River(name, [p[2] for p in pts], [p[3] for p in pts]))
    return rivers


def _check_cross_refs(path: Path, spec: TheatreSpec, rivers: list[River]) -> None:
    names = {r.name for r in rivers}
    problems = []
    seen: set[str] = set()
    for i, d in enumerate(spec.terrain.region):
        if d.name in seen:
            problems.append(Problem(f"terrain.region.{i}.name", d.name, "duplicate region name"))
        seen.add(d.name)
        for river in d.banks:
            if river not in names:
                known = ", ".join(sorted(names)) or "(no rivers file)"
                problems.append(Problem(f"terrain.region.{i}.banks.{river}", river,
                                        f"not a river of the rivers file (known: {known})"))
    if problems:
        raise TheatreError(path, problems)
