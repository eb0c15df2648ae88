"""Maps of an insurgency run's theatre at chosen dates, from its saved snapshots
(:mod:`resurgence.viz.snapshots`): one figure per layer, one column per date.

Layers (:data:`LAYERS`):

- ``control``: government, contested, held, desert bases, sleeper cells (categorical legend);
- ``density``: members per 1,000 km² by role (territorial, desert, sleeper), one row per role;
- ``legitimacy``: legitimacy of the state by group, per governorate painted on the raster, one
  row per group;
- ``attacks``: sleeper attacks per cell since the previous regular snapshot.

Axes are kilometres on the theatre's equal-area projection; governorate boundaries are drawn
on every map. Continuous layers use viridis / cividis (readable with the common colour
blindnesses), categories the Okabe-Ito colours.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from resurgence.viz.canvas import new_figure
from resurgence.viz.insurgency_view import CONTROL
from resurgence.viz.maps import boundaries, to_rgb
from resurgence.viz.palette import LEGITIMACY_CMAP, LIGHT, SEQUENTIAL
from resurgence.viz.snapshots import ROLES, MapSnapshots

LAYERS = ("control", "density", "legitimacy", "attacks")
_GROUP_NAMES = {"sunni_arab": "Sunni Arab", "shia_arab": "Shia Arab", "kurd": "Kurd",
                "other": "other"}


def _background(snaps: MapSnapshots) -> np.ndarray:
    inside = snaps.governorate >= 0
    rgb = np.full(inside.shape + (3,), 255, np.uint8)
    rgb[inside] = (int(LIGHT[1:3], 16), int(LIGHT[3:5], 16), int(LIGHT[5:7], 16))
    return rgb


def _frame(ax: Axes, snaps: MapSnapshots, title: str, first_col: bool, last_row: bool
           ) -> None:
    c = snaps.cell_km
    ax.add_collection(boundaries(snaps.governorate, snaps.extent[0], snaps.extent[3], c, c))
    ax.set_xlim(snaps.extent[0], snaps.extent[1])
    ax.set_ylim(snaps.extent[2], snaps.extent[3])
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=6)
    if last_row:
        ax.set_xlabel("km east", fontsize=7)
    if first_col:
        ax.set_ylabel("km north", fontsize=7)


def _grid(rows: int, cols: int, title: str) -> tuple[Figure, np.ndarray]:
    fig = new_figure(figsize=(2.7 * cols + 1.4, 2.6 * rows + 1.0))
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
    fig.suptitle(title, fontsize=10)
    return fig, axes


def plot_control(snaps: MapSnapshots, indices: Sequence[int], title: str = "") -> Figure:
    """Who controls each cell at the snapshots ``indices``; one legend of the categories
    present."""
    fig, axes = _grid(1, len(indices), title or "control of the theatre")
    lut = CONTROL.lut()
    for j, k in enumerate(indices):
        ax = axes[0, j]
        ax.imshow(to_rgb(snaps.states[k], lut), extent=snaps.extent, interpolation="nearest")
        _frame(ax, snaps, snaps.caption(k), j == 0, True)
    present = set(np.unique(snaps.states[list(indices)]).tolist())
    handles = [Patch(facecolor=c.colour, edgecolor="#555555", label=c.label)
               for c in CONTROL.categories if c.code in present and c.code != 0]
    fig.legend(handles=handles, loc="lower center", fontsize=7, ncol=min(len(handles), 5),
               frameon=False)
    fig.tight_layout(rect=(0, 0.5 / fig.get_figheight(), 1, 1))  # half an inch: the legend
    return fig


def _continuous(snaps: MapSnapshots, indices: Sequence[int], rows: Sequence[str],
                values: list[list[np.ndarray]], norm: Normalize, cmap: str, unit: str,
                title: str) -> Figure:
    fig, axes = _grid(len(rows), len(indices), title)
    back = _background(snaps)
    image = None
    for i, row in enumerate(rows):
        for j, k in enumerate(indices):
            ax = axes[i, j]
            ax.imshow(back, extent=snaps.extent, interpolation="nearest")
            image = ax.imshow(values[i][j], extent=snaps.extent, interpolation="nearest",
                              cmap=cmap, norm=norm)
            _frame(ax, snaps, f"{row}\n{snaps.caption(k)}" if len(rows) > 1 else
                   snaps.caption(k), j == 0, i == len(rows) - 1)
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    bar = fig.add_axes((0.915, 0.15, 0.018, 0.7))
    assert image is not None
    fig.colorbar(image, cax=bar).set_label(unit, fontsize=8)
    bar.tick_params(labelsize=7)
    return fig


def plot_density(snaps: MapSnapshots, indices: Sequence[int], title: str = "") -> Figure:
    """Members per 1,000 km² by role (rows) at the snapshots (columns); log colour scale,
    cells without members left blank."""
    per = 1000.0 / snaps.cell_km ** 2
    values = [[np.ma.masked_less_equal(snaps.fighters[k, r].astype(float), 0) * per
               for k in indices] for r in range(len(ROLES))]
    top = max(float(snaps.fighters[list(indices)].max()) * per, 10 * per)
    norm = LogNorm(vmin=per, vmax=top)
    return _continuous(snaps, indices, [f"{r} members" for r in ROLES], values, norm,
                       SEQUENTIAL, "members per 1,000 km² (log scale)",
                       title or "insurgent density by role")


def plot_legitimacy(snaps: MapSnapshots, indices: Sequence[int], title: str = "") -> Figure:
    """Legitimacy of the state for each group (rows), per governorate, at the snapshots."""
    values = [[snaps.legitimacy_raster(k, g) for k in indices] for g in range(len(snaps.groups))]
    names = [_GROUP_NAMES.get(g, g) for g in snaps.groups]
    return _continuous(snaps, indices, names, values, Normalize(0.0, 1.0), LEGITIMACY_CMAP,
                       "legitimacy (0-1)", title or "legitimacy of the state by group "
                       "(per governorate)")


def plot_attacks(snaps: MapSnapshots, indices: Sequence[int], title: str = "") -> Figure:
    """Sleeper attacks per cell since the previous regular snapshot; log scale."""
    values = [[np.ma.masked_less_equal(snaps.attacks[k].astype(float), 0) for k in indices]]
    top = max(float(snaps.attacks[list(indices)].max()), 10.0)
    weeks = [int(snaps.ticks[k] - snaps.since[k]) for k in indices]
    span = (f"the {weeks[0]} weeks before each date" if len(set(weeks)) == 1
            else "the weeks since the previous snapshot")
    return _continuous(snaps, indices, ["attacks"], values, LogNorm(vmin=1, vmax=top),
                       SEQUENTIAL, f"attacks per {snaps.cell_km:g} km cell (log scale)",
                       title or f"sleeper attacks in {span}")


def plot_layer(snaps: MapSnapshots, indices: Sequence[int], layer: str, title: str = ""
               ) -> Figure:
    """One of :data:`LAYERS` at the snapshots ``indices``."""
    if not indices:
        raise ValueError("no dates to map")
    draw = {"control": plot_control, "density": plot_density, "legitimacy": plot_legitimacy,
            "attacks": plot_attacks}
    if layer not in draw:
        raise ValueError(f"layer must be one of {', '.join(LAYERS)}, not {layer!r}")
    return draw[layer](snaps, indices, title)


def default_indices(snaps: MapSnapshots, most: int = 4) -> list[int]:
    """The start, the peak of territory, the last policy change and the end (the ones there)."""
    picks = [0]
    for kind in ("peak", "policy"):
        k = snaps.index_of_kind(kind)
        if k is not None:
            picks.append(k)
    picks.append(len(snaps) - 1)
    out = sorted(set(picks))
    return out[:most - 1] + [out[-1]] if len(out) > most else out
