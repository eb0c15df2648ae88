"""The theatre: the default Iraq raster matches its public facts; user theatres load; bad
theatre files get one clear message naming file, key, value and what is allowed."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from resurgence.errors import UserInputError
from resurgence.theatre import Terrain, TheatreError, load_theatre, theatre_path
from resurgence.theatre.build import DATA_DIR

CIA_AREA_KM2 = 438_317  # CIA World Factbook, land + water (iraq_theatre_sources.md)
BRITANNICA_DESERT_KM2 = 168_000  # western + southern desert, "about 2/5 of Iraq" (Britannica)
ARTICLE_PLACES = {  # place the article names -> governorate it must fall in
    "Mosul": "Nineveh", "Baghdad": "Baghdad", "Fallujah": "Anbar", "Tikrit": "Salah ad Din",
    "Baiji": "Salah ad Din",
}


@pytest.fixture(scope="module")
def iraq():
    return load_theatre()


@pytest.fixture(scope="module")
def iraq10():
    return load_theatre(cell_km=10)


def _governorates_csv() -> list[dict[str, str]]:
    import csv
    with (DATA_DIR / "iraq" / "iraq_governorates.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# --------------------------------------------------------------------------- Iraq: facts
def test_iraq_total_area_is_within_one_percent_of_the_cia_figure(iraq):
    # 17,490 cells of 25 km² = 437,250 km²: the Natural Earth polygon (437,517 km² here) less
    # the cells whose centres fall outside it; CIA 438,317 km² includes 950 km² of water.
    assert iraq.area_km2 == pytest.approx(CIA_AREA_KM2, rel=0.01)


def test_governorate_areas_match_the_official_areas(iraq):
    # Official areas are rescaled to the raster total (they sum to 435,209 km², 0.5% less);
    # tolerance: 1% of the official area or one cell, whichever is larger.
    table = iraq.governorate_table()
    scale = iraq.report["governorate_area_scale"]
    target = table["official_area_km2"] * scale
    tol = np.maximum(0.01 * target, iraq.cell_area_km2)
    assert (abs(table["area_km2"] - target) <= tol).all(), table
    assert (table["area_error"].abs() < 0.015).all()


def test_population_per_governorate_equals_the_csv(iraq):
    table = iraq.governorate_table()
    for row in _governorates_csv():
        assert table.loc[row["governorate"], "population"] == pytest.approx(
            float(row["population"]), rel=1e-6)
    assert iraq.total_population.sum() == pytest.approx(38_124_182, rel=1e-6)


def test_group_totals_follow_the_governorate_shares(iraq):
    groups = iraq.population_by_group()
    expected = dict.fromkeys(iraq.groups, 0.0)
    for row in _governorates_csv():
        for g in iraq.groups:
            expected[g] += float(row["population"]) * float(row[f"{g}_share"])
    for g in iraq.groups:
        assert groups[g] == pytest.approx(expected[g], rel=1e-5)
    # national shares quoted in iraq_theatre_sources.md: 25.7 / 51.2 / 16.7 / 6.4 %
    shares = (groups / groups.sum()).round(3).to_dict()
    assert shares == {"sunni_arab": 0.257, "shia_arab": 0.512, "kurd": 0.167, "other": 0.064}


def test_every_place_is_inside_and_in_its_governorate(iraq):
    assert len(iraq.places) == 73
    for p in iraq.places.values():
        assert iraq.inside[p.row, p.col], p.name
        assert p.snapped_km <= 5.0 + iraq.cell_km * 0.75, p.name  # snap_km + half a diagonal
    assert iraq.report["mismatched_places"] == ()


def test_the_article_places_exist(iraq):
    for name, gov in ARTICLE_PLACES.items():
        r, c = iraq.cell_of(name)
        assert iraq.governorates[iraq.governorate[r, c]] == gov, name
    for gov in ("Anbar", "Salah ad Din"):
        assert iraq.resolve(gov) == ("governorate", gov)
        assert iraq.mask(gov).sum() * iraq.cell_area_km2 > 20_000
    desert = iraq.mask("Anbar desert")
    assert iraq.resolve("Anbar desert") == ("region", "Western (Anbar) Desert")
    assert (iraq.governorate[desert] == iraq.governorates.index("Anbar")).mean() > 0.8
    assert iraq.mask("Syrian border").sum() > 50


def test_mosul_and_baghdad_are_urban_and_baghdad_is_the_largest_city(iraq):
    for city in ("Mosul", "Baghdad"):
        assert iraq.terrain[iraq.cell_of(city)] == Terrain.URBAN
        assert (iraq.terrain[iraq.mask(city)] == Terrain.URBAN).all()
    assert iraq.mask("Baghdad").sum() > 4 * iraq.mask("Mosul").sum()
    density = iraq.total_population / iraq.cell_area_km2
    assert density[iraq.cell_of("Baghdad")] == pytest.approx(6800, rel=0.05)


def test_western_and_southern_desert_cover_about_two_fifths_of_iraq(iraq):
    # Britannica: the deserts of the west and south, ~168,000 km², about 2/5 of Iraq. The
    # regions are lat/lon boxes from the Library of Congress / Britannica extents, so allow 15%.
    regions = iraq.mask("Anbar desert") | iraq.mask("Southern desert")
    desert = regions & (iraq.terrain == Terrain.DESERT)
    area = desert.sum() * iraq.cell_area_km2
    assert area == pytest.approx(BRITANNICA_DESERT_KM2, rel=0.15)
    assert 0.35 < area / iraq.area_km2 < 0.48


def test_terrain_is_where_iraq_has_it(iraq):
    lon, lat = iraq.lon, iraq.lat
    desert = iraq.terrain == Terrain.DESERT
    mountain = iraq.terrain == Terrain.MOUNTAIN
    river = iraq.terrain == Terrain.RIVER
    assert lon[desert].mean() < 43.0  # west and south-west
    assert lat[mountain].min() > 34.3 and lon[mountain].mean() > 43.5  # Kurdish north-east
    assert iraq.terrain[iraq.cell_of("Sulaymaniyah")] == Terrain.URBAN
    # the valley cells of the Tigris: every listed Tigris town is river or urban
    for town in ("Tikrit", "Samarra", "Baiji", "Kut", "Amarah"):
        assert iraq.terrain[iraq.cell_of(town)] in (Terrain.URBAN, Terrain.RIVER), town
    assert river.sum() * iraq.cell_area_km2 > 60_000
    # the rural population lives mostly off the desert
    pop = iraq.total_population
    assert pop[desert].sum() / pop.sum() < 0.03


def test_oil_cells_are_at_the_listed_fields(iraq):
    fields = [p for p in iraq.places.values() if p.kind == "oil_field"]
    assert len(fields) == 10
    for p in fields:
        assert iraq.oil[p.row, p.col], p.name
    assert iraq.oil.sum() == len({(p.row, p.col) for p in fields})


def test_the_syrian_border_is_in_the_west_and_north_west_with_its_crossings(iraq):
    syria = iraq.mask("Syrian border")
    assert iraq.resolve("Syrian border") == ("region", "border:Syria")
    assert iraq.lon[syria].max() < 42.5 and iraq.lat[syria].min() > 33.0
    rows, cols = np.nonzero(syria)
    for crossing in ("Al-Qa'im – Abu Kamal crossing", "Rabia – al-Yarubiyah crossing",
                     "Al-Walid – al-Tanf crossing"):
        r, c = iraq.cell_of(crossing)
        assert iraq.border_crossing[r, c]
        assert np.min(np.hypot(rows - r, cols - c)) <= 1.5, crossing
    assert set(iraq.neighbours) == {"Iran", "Jordan", "Kuwait", "Saudi Arabia", "Syria",
                                    "Turkey", "sea"}
    assert iraq.border_crossing.sum() == 8


def test_a_coarser_grid_keeps_the_totals(iraq, iraq10):
    assert iraq10.cell_km == 10 and iraq10.shape[0] < iraq.shape[0] / 1.9
    assert iraq10.total_population.sum() == pytest.approx(iraq.total_population.sum(), rel=1e-6)
    assert iraq10.area_km2 == pytest.approx(iraq.area_km2, rel=0.01)
    pd10, pd5 = iraq10.population_by_governorate(), iraq.population_by_governorate()
    assert np.allclose(pd10.to_numpy(), pd5.to_numpy(), rtol=1e-5)
    table = iraq10.governorate_table()
    tol = np.maximum(0.02 * table["official_area_km2"], iraq10.cell_area_km2)
    assert (abs(table["area_km2"] - table["official_area_km2"]) <= tol).all()
    for name, gov in ARTICLE_PLACES.items():
        assert iraq10.governorates[iraq10.governorate[iraq10.cell_of(name)]] == gov


# --------------------------------------------------------------------------- Iraq: API
def test_load_theatre_caches_and_the_arrays_are_read_only(iraq):
    assert load_theatre("iraq") is iraq
    with pytest.raises(ValueError):
        iraq.population[0, 0, 0] = 1.0
    with pytest.raises(TypeError):
        iraq.places["Nowhere"] = iraq.places["Mosul"]  # type: ignore[index]


def test_to_xarray_has_the_layers(iraq):
    ds = iraq.to_xarray()
    assert ds.sizes == {"y": iraq.height, "x": iraq.width, "group": 4}
    assert list(ds["group"].values) == list(iraq.groups)
    assert float(ds["population"].sum()) == pytest.approx(38_124_182, rel=1e-5)
    assert ds["terrain"].attrs["flag_meanings"].split()[Terrain.DESERT] == "desert"
    r, c = iraq.cell_of("Mosul")
    assert float(ds["lat"][r, c]) == pytest.approx(36.335, abs=0.05)


def test_an_unknown_name_is_a_clear_error(iraq):
    with pytest.raises(TheatreError, match="name = 'Atlantis': a place, governorate or region"):
        iraq.cell_of("Atlantis")
    assert iraq.resolve("governorate:Baghdad") == ("governorate", "Baghdad")
    assert iraq.resolve("Baghdad") == ("place", "Baghdad")


def test_summary_and_plot(iraq, tmp_path):
    from resurgence.theatre.plot import plot_theatre

    assert "17,490 inside" in iraq.summary()
    plot_theatre(iraq, tmp_path / "map.png")
    assert (tmp_path / "map.png").stat().st_size > 10_000


# --------------------------------------------------------------------------- user theatres
TOML = """
name = "testland"
cell_km = 5.0
groups = ["a", "b"]

[files]
outline = "outline.csv"
governorates = "govs.csv"
places = "places.csv"
rivers = "rivers.csv"

[terrain]
river_buffer_km = 6.0

[[terrain.region]]
name = "Sand Sea"
terrain = "desert"
lat = [10.0, 10.4]
lon = [20.0, 20.5]
banks = { Wadi = "right" }

[terrain.mountain]
side = "left"
line = [[11.0, 20.6], [10.6, 21.0]]

[population]
urban_density_per_km2 = 2000.0

[aliases]
"the north" = "border:Northland"
"""
FILES = {
    "outline.csv": """lat,lon,neighbour
        10.0,20.0,
        10.0,21.0,
        11.0,21.0,Northland
        11.0,20.0,Westland
        """,
    "govs.csv": """governorate,capital,centroid_lat,centroid_lon,area_km2,population,a_share,b_share
        West,Oasis,10.5,20.25,6000,100000,0.9,0.1
        East,Capital,10.5,20.75,6000,200000,0.2,0.8
        """,
    "places.csv": """name,kind,lat,lon,population,governorate
        Capital,city,10.5,20.8,50000,East
        Oasis,town,10.3,20.2,5000,West
        Well,oil_field,10.2,20.4,,West
        Gate,border_crossing,10.99,20.5,,
        """,
    "rivers.csv": """river,order,lat,lon
        Wadi,1,10.95,20.1
        Wadi,2,10.05,20.9
        """,
}


def _write(tmp: Path, toml: str = TOML, **files: str) -> Path:
    for name, text in {**FILES, **files}.items():
        (tmp / name).write_text(textwrap.dedent(text).strip() + "\n", encoding="utf-8")
    (tmp / "theatre.toml").write_text(toml, encoding="utf-8")
    return tmp / "theatre.toml"


def test_a_user_theatre_loads(tmp_path):
    th = load_theatre(_write(tmp_path))
    assert th.name == "testland" and th.groups == ("a", "b")
    # 12,157 km² on the sphere; each side of a small square is quantised to whole cells
    assert th.area_km2 == pytest.approx(12_157, rel=0.05)
    assert th.report["outline_area_km2"] == pytest.approx(12_157, rel=1e-3)
    assert th.total_population.sum() == pytest.approx(300_000)
    assert th.population_by_group()["a"] == pytest.approx(0.9 * 100_000 + 0.2 * 200_000)
    assert th.terrain[th.cell_of("Capital")] == Terrain.URBAN
    assert th.places["Capital"].population == pytest.approx(50_000)
    assert len(th.places["Capital"].cells) == round(50_000 / 2000 / 25)
    assert th.oil[th.cell_of("Well")] and th.border_crossing[th.cell_of("Gate")]
    assert th.governorates[th.governorate[th.cell_of("Oasis")]] == "West"
    assert (th.terrain[th.mask("Sand Sea")] != Terrain.MOUNTAIN).all()
    assert (th.terrain == Terrain.DESERT).sum() > 10
    mountain = th.terrain == Terrain.MOUNTAIN  # north-east of the line
    assert mountain.sum() > 10 and th.lat[mountain].min() > 10.55 and th.lon[mountain].min() > 20.6
    assert set(th.neighbours) == {"Northland", "Westland", "outside"}
    assert th.lat[th.mask("the north")].min() > 10.9
    # by folder too, and the same object from the cache
    assert load_theatre(tmp_path) is th


NOTCHED = "lat,lon\n10,20\n10,21\n11,21\n10.5,20.5\n11,20\n"  # a V-shaped notch at the top
BAD_SPECS = [
    # (TOML text -> replacement, changed files, file named in the message, text in the message)
    (('places = "places.csv"', 'places = "nope.csv"'), {}, "theatre.toml",
     "files.places = 'nope.csv': no such file"),
    (("cell_km = 5.0", "cell_km = 0.5"), {}, "theatre.toml",
     "cell_km = 0.5: Input should be greater than or equal to 1"),
    (("river_buffer_km = 6.0", "river_buffer_km = -1"), {}, "theatre.toml",
     "terrain.river_buffer_km = -1: Input should be greater than or equal to 0"),
    (("urban_density_per_km2 = 2000.0", "urban_densty = 3"), {}, "theatre.toml",
     "population.urban_densty = 3: unknown key (allowed: urban_density_per_km2, rural_weight)"),
    (('terrain = "desert"', 'terrain = "jungle"'), {}, "theatre.toml",
     "terrain.region.0.terrain = 'jungle': Input should be 'desert', 'river', 'mountain'"),
    (("Wadi =", "Nile ="), {}, "theatre.toml",
     "terrain.region.0.banks.Nile = 'Nile': not a river of the rivers file (known: Wadi)"),
    (('"border:Northland"', '"Atlantis"'), {}, "theatre.toml",
     "aliases.the north = 'Atlantis': must name a place, governorate or region"),
    (("groups = [", "groups = [\"a\", "), {}, "theatre.toml",
     "groups = ['a', 'a', 'b']: Value error, group names must be unique"),
    (("lat = [10.0, 10.4]", "lat = [12.0, 12.4]"), {}, "theatre.toml",
     "terrain.region.0 = 'Sand Sea': covers no cell inside the outline"),
    (("", ""), {"places.csv": "name,kind,lon\nCapital,city,20.8\n"}, "places.csv",
     "column 'lat' = (missing): required columns: name, kind, lat, lon"),
    (("", ""), {"places.csv": "name,kind,lat,lon\nCapital,city,10.5,20.8\nFar,town,14.0,20.5\n"},
     "places.csv", "line 3 (Far), column lat/lon = (14.0, 20.5): latitude outside the theatre's "
     "bounding box 10.000..11.000 N"),
    (("", ""), {"places.csv": "name,kind,lat,lon\nCapital,city,10.5,east\n"}, "places.csv",
     "line 2 (Capital), column lon = 'east': a longitude in degrees E"),
    (("", ""), {"places.csv": "name,kind,lat,lon\nCapital,metropolis,10.5,20.8\n"}, "places.csv",
     "line 2 (Capital), column kind = 'metropolis': allowed: base, border_crossing, city"),
    (("", ""),
     {"places.csv": "name,kind,lat,lon\nCapital,city,10.5,20.8\nCapital,town,10.4,20.8\n"},
     "places.csv", "line 3 (Capital), column name = 'Capital': duplicate place name"),
    (("", ""), {"places.csv": "name,kind,lat,lon,governorate\nCapital,city,10.5,20.8,Middle\n"},
     "places.csv", "line 2 (Capital), column governorate = 'Middle': empty, a governorate"),
    (("", ""), {"outline.csv": NOTCHED, "places.csv": "name,kind,lat,lon\nPeak,town,10.9,20.5\n"},
     "places.csv", "line 2 (Peak), column lat/lon = (10.9, 20.5): outside the outline by 31.2 km; "
     "allowed: at most places.snap_km = 5 km"),
    (("", ""), {"govs.csv": FILES["govs.csv"].replace("0.9,0.1", "0.9,0.3")}, "govs.csv",
     "line 2 (West), column a_share+b_share = 1.2: the shares must sum to 1 (within 0.01)"),
    (("", ""), {"govs.csv": FILES["govs.csv"].replace("100000", "1000")}, "govs.csv",
     "governorate 'West', column population = 1000.0: must be at least the population of its"),
    (("", ""), {"govs.csv": FILES["govs.csv"].replace("area_km2", "area")}, "govs.csv",
     "column 'area_km2' = (missing): required columns: governorate, capital"),
    (("", ""), {"rivers.csv": "river,order,lat,lon\nWadi,1,10.9,20.1\n"}, "rivers.csv",
     "river 'Wadi' = 1: needs at least 2 points"),
    (("", ""), {"outline.csv": "lat,lon\n10,20\n11,21\n"}, "outline.csv",
     "part 0 = 2: a ring needs at least 3 vertices"),
]


@pytest.mark.parametrize("change,files,source,message", BAD_SPECS)
def test_a_bad_theatre_file_names_file_key_value_and_rule(tmp_path, change, files, source,
                                                          message):
    old, new = change
    assert old in TOML
    path = _write(tmp_path, TOML.replace(old, new, 1), **files)
    with pytest.raises(UserInputError) as err:
        load_theatre(path)
    assert Path(err.value.source).name == source
    assert message in str(err.value), str(err.value)


def test_a_place_just_outside_the_outline_moves_inside_within_snap_km(tmp_path):
    places = "name,kind,lat,lon\nCapital,city,10.5,21.04\n"  # 4.4 km east of the outline
    th = load_theatre(_write(tmp_path, TOML, **{"places.csv": places}))
    assert th.inside[th.cell_of("Capital")] and th.places["Capital"].snapped_km > 4.0
    with pytest.raises(TheatreError, match="longitude outside the theatre's bounding box"):
        load_theatre(_write(tmp_path, TOML + "\n[places]\nsnap_km = 2.0\n",
                            **{"places.csv": places}))


def test_an_unknown_theatre_is_a_clear_error(tmp_path):
    with pytest.raises(TheatreError, match="theatre = 'atlantis': a bundled theatre"):
        theatre_path("atlantis")
    with pytest.raises(TheatreError, match="a folder holding theatre.toml"):
        load_theatre(tmp_path)
