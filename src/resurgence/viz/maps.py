"""Categorical maps of the grid: fast images for the dashboard, matplotlib figures for reports.

A map is an (H, W) array of small integer codes (``EpsteinRun.cell_states()``, or a theatre's
control layer) and a :class:`~resurgence.viz.views.Legend` saying what each code means and its
colour. The fast path (:func:`to_rgb`, :func:`png_bytes`) is a NumPy lookup table and a PNG
encoder, no matplotlib: about 3 ms for a 200x200 grid (``benchmarks/map_redraw.py``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from PIL import Image

from resurgence.viz.canvas import new_figure
from resurgence.viz.views import Legend, View


def to_rgb(codes: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """(H, W) codes -> (H, W, 3) uint8 colours through a (256, 3) lookup table. O(cells)."""
    return lut[codes.astype(np.uint8, copy=False)]


def png_bytes(rgb: np.ndarray, scale: int = 1) -> bytes:
    """Encode an (H, W, 3) uint8 image as PNG, each cell ``scale`` x ``scale`` pixels (fast
    zlib level 1; the browser can enlarge a scale-1 image itself). O(pixels)."""
    if scale > 1:
        rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(buf, format="png", compress_level=1)
    return buf.getvalue()


def colormap_lut(name: str) -> np.ndarray:
    """(256, 3) uint8 lookup table of a matplotlib colormap (e.g. ``"viridis"``)."""
    return (matplotlib.colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3] * 255).round() \
        .astype(np.uint8)


def field_rgb(values: np.ndarray, lut: np.ndarray, top: float, log: bool = False,
              blank: np.ndarray | None = None, blank_colour: tuple[int, int, int] = (255,) * 3
              ) -> np.ndarray:
    """(H, W) numbers -> (H, W, 3) colours: 0..``top`` (or 1..``top`` on a log scale) through a
    (256, 3) lookup table; cells where ``blank`` is true get ``blank_colour``. O(cells)."""
    v = np.asarray(values, float)
    if log:
        scaled = np.log1p(np.maximum(v, 0.0)) / np.log1p(max(top, 1.0))
    else:
        scaled = v / top if top > 0 else np.zeros_like(v)
    index = np.clip(np.nan_to_num(scaled) * 255, 0, 255).astype(np.uint8)
    rgb = lut[index]
    if blank is not None:
        rgb[blank] = blank_colour
    return rgb


def boundaries(gov: np.ndarray, left: float, top: float, dx: float, dy: float
               ) -> LineCollection:
    """Line segments between cells of different governorates (and the theatre's outline);
    column c's left edge at ``left + c dx``, row r's top edge at ``top - r dy``."""
    segments = []
    # vertical edges: between columns c and c + 1
    rows, cols = np.nonzero((gov[:, :-1] != gov[:, 1:]) & ((gov[:, :-1] >= 0) | (gov[:, 1:] >= 0)))
    x = left + (cols + 1) * dx
    segments += [((xi, top - r * dy), (xi, top - (r + 1) * dy))
                 for xi, r in zip(x, rows, strict=True)]
    # horizontal edges: between rows r and r + 1
    rows, cols = np.nonzero((gov[:-1, :] != gov[1:, :]) & ((gov[:-1, :] >= 0) | (gov[1:, :] >= 0)))
    y = top - (rows + 1) * dy
    segments += [((left + c * dx, yi), (left + (c + 1) * dx, yi))
                 for yi, c in zip(y, cols, strict=True)]
    return LineCollection(segments, colors="#444444", linewidths=0.4)


def map_png(codes: np.ndarray, legend: Legend, scale: int = 1) -> bytes:
    """A map's PNG bytes: :func:`to_rgb` then :func:`png_bytes`."""
    return png_bytes(to_rgb(codes, legend.lut()), scale)


def _draw(ax: Axes, codes: np.ndarray, legend: Legend, title: str) -> None:
    ax.imshow(to_rgb(codes, legend.lut()), interpolation="nearest", origin="upper")
    ax.set_title(title, fontsize=9)
    h, w = codes.shape
    ax.set_xlabel(f"x (cell, {w} across)", fontsize=8)
    ax.set_ylabel(f"y (cell, {h} down)", fontsize=8)
    ax.tick_params(labelsize=7)


def _legend(fig: Figure, legend: Legend, codes: Sequence[np.ndarray]) -> None:
    present = set(np.unique(np.concatenate([c.ravel() for c in codes])).tolist())
    handles = [Patch(facecolor=c.colour, edgecolor="#555555", label=c.label)
               for c in legend.categories if c.code in present or c.label == "empty"]
    fig.legend(handles=handles, title=legend.title, loc="lower center", fontsize=8,
               title_fontsize=8, ncol=min(len(handles), 7), frameon=False)


def plot_map(codes: np.ndarray, legend: Legend, title: str = "") -> Figure:
    """One map with its legend (only the categories present, and 'empty')."""
    fig = new_figure(figsize=(5, 5.6))
    ax = fig.subplots()
    _draw(ax, codes, legend, title)
    _legend(fig, legend, [codes])
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def plot_maps(snapshots: Sequence[tuple[str, np.ndarray]], legend: Legend,
              title: str = "") -> Figure:
    """Maps side by side (e.g. the grid at chosen ticks), one shared legend.

    ``snapshots``: (caption, codes) pairs, e.g. ``("tick 100", run.cell_states())``."""
    n = len(snapshots)
    if n == 0:
        raise ValueError("no maps to plot")
    fig = new_figure(figsize=(3.2 * n + 0.4, 4.2))
    axes = fig.subplots(1, n, squeeze=False)
    for ax, (caption, codes) in zip(axes[0], snapshots, strict=True):
        _draw(ax, codes, legend, caption)
    if title:
        fig.suptitle(title, fontsize=10)
    _legend(fig, legend, [c for _, c in snapshots])
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def replay(view: View, seed: int, ticks: Sequence[int]) -> tuple[dict[int, np.ndarray],
                                                                  pd.DataFrame]:
    """Run the view's scenario from tick 0 with ``seed`` and keep the map at each of ``ticks``.

    Runs are reproducible bit for bit, so this shows the maps of a stored run without storing
    them; the returned frame lets the caller check the replay against the stored series."""
    wanted = sorted(set(int(t) for t in ticks))
    run = view.start(seed)
    maps: dict[int, np.ndarray] = {}
    while True:
        if run.tick in wanted:
            maps[run.tick] = run.cell_states().copy()
        if run.tick >= wanted[-1]:
            break
        run.step()
    return maps, run.frame()
