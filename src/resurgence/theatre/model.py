"""The theatre: an immutable raster of cells with terrain, governorate, population and places.

A :class:`Theatre` is plain data (NumPy arrays on a ``(height, width)`` grid, row 0 in the
north) built once from a theatre file (see ``build.py``) and shared read-only by the engine and
the models. Nothing here knows Iraq: names of governorates, groups, places and regions all come
from the theatre file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from resurgence.errors import Problem, UserInputError

if TYPE_CHECKING:
    import xarray as xr


class TheatreError(UserInputError):
    """A theatre file (TOML or CSV) that cannot be loaded, or a name the theatre lacks."""


class Terrain(IntEnum):
    """Terrain class of a cell (``Theatre.terrain``, int8).

    Precedence when rules overlap: URBAN > RIVER > DESERT > MOUNTAIN > STEPPE.
    """

    OUTSIDE = 0  #: not part of the theatre (foreign country or sea)
    URBAN = 1  #: a listed city or town (cells from its population at an urban density)
    RIVER = 2  #: river valley / alluvial farmland (near a river polyline, or a "river" region)
    STEPPE = 3  #: everything else: plain, steppe, rain-fed farmland, semi-desert
    DESERT = 4  #: inside a desert region of the theatre file
    MOUNTAIN = 5  #: on the mountain side of the theatre file's mountain line (or a region)


#: kinds a place may have in ``places.csv``
PLACE_KINDS = frozenset({
    "city", "town", "village", "border_crossing", "oil_field", "dam", "base", "desert_region",
    "site",
})


@dataclass(frozen=True)
class Place:
    """A named point (city, town, crossing, oil field, ...) and the cells it covers."""

    name: str
    kind: str
    lat: float
    lon: float
    row: int
    col: int
    governorate: str  # the governorate the raster gives its cell
    population: float | None  # people assigned to its urban cells (cities and towns)
    cells: tuple[tuple[int, int], ...]  # urban footprint for cities/towns, else its one cell
    snapped_km: float = 0.0  # how far it was moved to reach the nearest inside cell


@dataclass(frozen=True, eq=False)
class Region:
    """A named area: a terrain region of the theatre file (e.g. a desert) or the border with
    one neighbour (``border:<country>``)."""

    name: str
    kind: str  # the region's terrain ("desert", "river", ...) or "border"
    mask: np.ndarray  # bool (height, width), read-only
    cell: tuple[int, int]  # representative cell

    @property
    def cells(self) -> int:
        return int(self.mask.sum())


@dataclass(frozen=True, eq=False)
class Theatre:
    """An immutable raster theatre. Arrays are read-only; row 0 is the northern edge.

    Coordinates: cell ``(row, col)`` has its centre at projected ``(x_km[col], y_km[row])`` and
    geographic ``(lat[row, col], lon[row, col])``; the projection is equal-area, so every cell
    is ``cell_km²`` of ground.
    """

    name: str
    source: str
    description: str
    cell_km: float
    projection: str
    x_km: np.ndarray  # (width,) cell-centre x, west -> east
    y_km: np.ndarray  # (height,) cell-centre y, north -> south
    lat: np.ndarray  # (height, width) float64
    lon: np.ndarray  # (height, width) float64
    bbox: tuple[float, float, float, float]  # lat_min, lat_max, lon_min, lon_max of the outline
    inside: np.ndarray  # bool
    terrain: np.ndarray  # int8, Terrain codes
    governorate: np.ndarray  # int16 index into governorates, -1 outside
    governorates: tuple[str, ...]
    groups: tuple[str, ...]
    population: np.ndarray  # float32 (groups, height, width), people per cell
    oil: np.ndarray  # bool: cell of a listed oil or gas field / refinery
    border_crossing: np.ndarray  # bool: cell of a listed border crossing
    border: np.ndarray  # int16 index into neighbours for inside cells touching outside, else -1
    neighbours: tuple[str, ...]
    places: Mapping[str, Place]  # read-only mappings
    governorate_cells: Mapping[str, tuple[int, int]]  # capital's cell, else nearest centroid
    regions: Mapping[str, Region]
    aliases: Mapping[str, str]
    official_area_km2: np.ndarray  # (governorates,) from the governorates table
    official_population: np.ndarray  # (governorates,) from the governorates table
    report: Mapping[str, Any] = field(default_factory=dict)  # how the build went (build.py)

    # ------------------------------------------------------------------ shape
    @property
    def shape(self) -> tuple[int, int]:
        return int(self.inside.shape[0]), int(self.inside.shape[1])

    @property
    def height(self) -> int:
        return self.shape[0]

    @property
    def width(self) -> int:
        return self.shape[1]

    @property
    def cell_area_km2(self) -> float:
        return self.cell_km * self.cell_km

    @property
    def area_km2(self) -> float:
        return float(self.inside.sum()) * self.cell_area_km2

    @property
    def total_population(self) -> np.ndarray:
        """People per cell, all groups (float64, (height, width))."""
        return self.population.sum(axis=0, dtype=np.float64)

    # ------------------------------------------------------------------ names
    def names(self) -> list[str]:
        """Every name :meth:`cell_of` and :meth:`mask` accept (unqualified)."""
        return sorted({*self.places, *self.governorates, *self.regions, *self.aliases})

    def resolve(self, name: str) -> tuple[str, str]:
        """``(kind, name)`` for a name: kind is ``place``, ``governorate`` or ``region``.

        Unqualified names are looked up as a place, then a governorate, then a region, then
        an alias; prefix ``place:``, ``governorate:`` or ``region:`` to choose (``Baghdad`` is
        the city, ``governorate:Baghdad`` the governorate). Region names may themselves
        contain a colon (``border:Syria``).
        """
        kind, _, rest = name.partition(":")
        if rest and kind in ("place", "governorate", "region"):
            table: Any = {"place": self.places, "governorate": self.governorates,
                          "region": self.regions}[kind]
            if rest in table:
                return kind, rest
        else:
            if name in self.regions and name in self.places:
                return "region", name  # a desert region and its representative point
            if name in self.places:
                return "place", name
            if name in self.governorates:
                return "governorate", name
            if name in self.regions:
                return "region", name
            if name in self.aliases:
                return self.resolve(self.aliases[name])
        allowed = "a place, governorate or region of the theatre: " + ", ".join(self.names())
        raise TheatreError(self.name, [Problem("name", name, allowed)])

    def cell_of(self, name: str) -> tuple[int, int]:
        """The ``(row, col)`` of a named place, governorate (its capital, else nearest its
        centroid) or region (its representative point)."""
        kind, key = self.resolve(name)
        if kind == "place":
            p = self.places[key]
            return p.row, p.col
        if kind == "region":
            return self.regions[key].cell
        return self.governorate_cells[key]

    def mask(self, name: str) -> np.ndarray:
        """Bool (height, width) mask: a place's cells (a city's urban footprint), a
        governorate, or a region."""
        kind, key = self.resolve(name)
        if kind == "region":
            return self.regions[key].mask
        if kind == "governorate":
            return self.governorate == self.governorates.index(key)
        out = np.zeros(self.shape, dtype=bool)
        rows, cols = zip(*self.places[key].cells, strict=True)
        out[list(rows), list(cols)] = True
        return out

    # ------------------------------------------------------------------ summaries
    def area_by_terrain(self) -> pd.Series:
        """km² per terrain class (inside cells)."""
        counts = np.bincount(self.terrain[self.inside].astype(np.int64), minlength=len(Terrain))
        s = pd.Series(counts * self.cell_area_km2, index=[t.name.lower() for t in Terrain])
        s.index.name = "terrain"
        return s.drop("outside")

    def governorate_table(self) -> pd.DataFrame:
        """Per governorate: raster area and population against the official figures."""
        g = len(self.governorates)
        idx = self.governorate[self.inside].astype(np.int64)
        area = np.bincount(idx, minlength=g) * self.cell_area_km2
        pop = self.population_by_governorate()
        df = pd.DataFrame({
            "area_km2": area,
            "official_area_km2": self.official_area_km2,
            "population": pop["total"].to_numpy(),
            "official_population": self.official_population,
        }, index=pd.Index(self.governorates, name="governorate"))
        df["area_error"] = df["area_km2"] / df["official_area_km2"] - 1.0
        return df

    def population_by_governorate(self) -> pd.DataFrame:
        """People per governorate and group (float64), with a ``total`` column."""
        g = len(self.governorates)
        idx = self.governorate[self.inside].astype(np.int64)
        data = {grp: np.bincount(idx, weights=self.population[k][self.inside].astype(np.float64),
                                 minlength=g)
                for k, grp in enumerate(self.groups)}
        df = pd.DataFrame(data, index=pd.Index(self.governorates, name="governorate"))
        df["total"] = df.sum(axis=1)
        return df

    def population_by_group(self) -> pd.Series:
        return pd.Series(self.population.sum(axis=(1, 2), dtype=np.float64),
                         index=pd.Index(self.groups, name="group"))

    def summary(self) -> str:
        """A few lines for a terminal: grid, area, population, terrain shares."""
        terr = self.area_by_terrain()
        shares = ", ".join(f"{k} {v / self.area_km2:.0%}" for k, v in terr.items())
        groups = self.population_by_group()
        gtxt = ", ".join(f"{k} {v / groups.sum():.1%}" for k, v in groups.items())
        return "\n".join([
            f"theatre {self.name}: {self.height} x {self.width} cells of {self.cell_km:g} km "
            f"({int(self.inside.sum()):,} inside)",
            f"area {self.area_km2:,.0f} km²; population {groups.sum():,.0f} ({gtxt})",
            f"terrain: {shares}",
            f"{len(self.governorates)} governorates, {len(self.places)} places, "
            f"{len(self.regions)} regions, borders with {', '.join(self.neighbours)}",
        ])

    # ------------------------------------------------------------------ export
    def to_xarray(self) -> xr.Dataset:
        """The raster as an xarray Dataset (dims ``y``, ``x`` and ``group``)."""
        import xarray as xr

        terrain_names = " ".join(t.name.lower() for t in Terrain)
        ds = xr.Dataset(
            data_vars={
                "inside": (("y", "x"), self.inside),
                "terrain": (("y", "x"), self.terrain, {
                    "flag_values": [int(t) for t in Terrain], "flag_meanings": terrain_names}),
                "governorate": (("y", "x"), self.governorate, {
                    "names": list(self.governorates), "missing": -1}),
                "population": (("group", "y", "x"), self.population, {"units": "people"}),
                "oil": (("y", "x"), self.oil),
                "border_crossing": (("y", "x"), self.border_crossing),
                "border": (("y", "x"), self.border, {
                    "names": list(self.neighbours), "missing": -1}),
            },
            coords={
                "x": ("x", self.x_km, {"units": "km", "long_name": "projected easting"}),
                "y": ("y", self.y_km, {"units": "km", "long_name": "projected northing"}),
                "lat": (("y", "x"), self.lat, {"units": "degrees_north"}),
                "lon": (("y", "x"), self.lon, {"units": "degrees_east"}),
                "group": ("group", list(self.groups)),
            },
            attrs={"name": self.name, "source": self.source, "cell_km": self.cell_km,
                   "projection": self.projection, "description": self.description},
        )
        return ds
