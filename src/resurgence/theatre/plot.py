"""A plain map of a theatre for checking it: terrain, governorate boundaries, borders, places."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from resurgence.theatre.model import Terrain, Theatre

TERRAIN_COLOURS = {
    Terrain.OUTSIDE: "#eef2f5",
    Terrain.URBAN: "#c0392b",
    Terrain.RIVER: "#7fb069",
    Terrain.STEPPE: "#e8deb0",
    Terrain.DESERT: "#f3c77c",
    Terrain.MOUNTAIN: "#9c7b5b",
}
BORDER_COLOURS = ["#6a3d9a", "#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#b15928", "#a6cee3",
                  "#fb9a99"]


def plot_theatre(theatre: Theatre, path: str | Path | None = None, *, label_min_pop: float = 3e5,
                 always_label: tuple[str, ...] = (), title: str | None = None) -> Figure:
    """Draw the theatre; save it to ``path`` (PNG/SVG by suffix) when given.

    Cities and towns above ``label_min_pop`` and every place in ``always_label`` get a label.
    Cost O(cells).
    """
    fig = Figure(figsize=(9, 9.5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    c = theatre.cell_km
    x, y = theatre.x_km, theatre.y_km
    extent = (x[0] - c / 2, x[-1] + c / 2, y[-1] - c / 2, y[0] + c / 2)
    cmap = ListedColormap([TERRAIN_COLOURS[t] for t in Terrain])
    ax.imshow(theatre.terrain, cmap=cmap, vmin=-0.5, vmax=len(Terrain) - 0.5, extent=extent,
              interpolation="nearest")

    # governorate boundaries: edges between cells of different governorates (inside)
    g = theatre.governorate
    segs = []
    for r, cc in zip(*np.nonzero((g[:, :-1] != g[:, 1:]) & (g[:, :-1] >= 0) & (g[:, 1:] >= 0)),
                     strict=True):
        xb = x[cc] + c / 2
        segs.append([(xb, y[r] - c / 2), (xb, y[r] + c / 2)])
    for r, cc in zip(*np.nonzero((g[:-1, :] != g[1:, :]) & (g[:-1, :] >= 0) & (g[1:, :] >= 0)),
                     strict=True):
        yb = y[r] - c / 2
        segs.append([(x[cc] - c / 2, yb), (x[cc] + c / 2, yb)])
    ax.add_collection(LineCollection(segs, colors="#333333", linewidths=0.6))
    for k, name in enumerate(theatre.governorates):
        rr, cc = np.nonzero(g == k)
        if len(rr):
            ax.text(x[cc].mean(), y[rr].mean() - 2 * c, name, fontsize=6.5, style="italic",
                    color="#555555", ha="center", va="top", zorder=2, clip_on=True)

    # border cells by neighbour
    handles: list[Artist] = [Patch(color=TERRAIN_COLOURS[t], label=t.name.lower())
                             for t in Terrain if t]
    for k, country in enumerate(theatre.neighbours):
        rr, cc = np.nonzero(theatre.border == k)
        colour = BORDER_COLOURS[k % len(BORDER_COLOURS)]
        ax.scatter(x[cc], y[rr], s=2, marker="s", color=colour)
        handles.append(Patch(color=colour, label=f"border: {country}"))

    # places
    style = {"city": ("o", "black", 14), "town": ("o", "black", 8),
             "border_crossing": ("^", "#6a3d9a", 30), "oil_field": ("D", "#111111", 16),
             "dam": ("s", "#1f78b4", 12), "base": ("P", "#555555", 12),
             "desert_region": ("*", "#8a5a00", 40)}
    for p in theatre.places.values():
        marker, colour, size = style.get(p.kind, ("x", "grey", 10))
        ax.scatter(x[p.col], y[p.row], s=size, marker=marker, color=colour, zorder=3)
        if (p.kind in ("city", "town") and (p.population or 0) >= label_min_pop) \
                or p.name in always_label:
            ax.annotate(p.name, (x[p.col], y[p.row]), xytext=(3, 3), textcoords="offset points",
                        fontsize=7, zorder=4, annotation_clip=True)
    for kind, (marker, colour, _) in style.items():
        handles.append(Line2D([], [], linestyle="", marker=marker, color=colour,
                              label=kind.replace("_", " ")))

    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("km east of the central meridian")
    ax.set_ylabel("km north of the equator")
    ax.set_title(title or f"theatre '{theatre.name}': {theatre.height}x{theatre.width} cells "
                          f"of {theatre.cell_km:g} km")
    ax.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    return fig


def main(argv: list[str] | None = None) -> None:
    """``python -m resurgence.theatre.plot [THEATRE] [OUT.png] [CELL_KM]``: draw a theatre."""
    import sys

    from resurgence.theatre.build import load_theatre

    args = sys.argv[1:] if argv is None else argv
    name = args[0] if args else "iraq"
    out = args[1] if len(args) > 1 else "theatre.png"
    theatre = load_theatre(name, float(args[2]) if len(args) > 2 else None)
    plot_theatre(theatre, out, label_min_pop=7e4)
    print(theatre.summary())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
