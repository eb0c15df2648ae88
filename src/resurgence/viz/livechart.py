"""A small SVG line chart for live displays (the dashboard): about a millisecond per redraw,
where a matplotlib figure takes a hundred. Same panels, series and colours as the static plots
(:mod:`resurgence.viz.plots`); one run, no bands.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd

from resurgence.viz.views import Panel

#: at most this many points per line (longer series are thinned, keeping the last point)
MAX_POINTS = 600


def _nice_max(value: float) -> float:
    """The next 1, 2 or 5 times a power of ten at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** np.floor(np.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def svg_chart(frame: pd.DataFrame, panels: Sequence[Panel], title: str = "",
              width: int = 560, panel_height: int = 150) -> str:
    """An inline SVG with one stacked plot per panel, one polyline per series (``data-series``
    names its column), x = tick (labelled with dates when the frame has a ``date`` column).
    O(ticks) per call, thinned to :data:`MAX_POINTS`."""
    left, right, top, gap, bottom = 46, 160, 22 if title else 8, 26, 28
    plot_w = width - left - right
    height = top + len(panels) * (panel_height + gap) - gap + bottom
    ticks = frame["tick"].to_numpy(dtype=float)
    keep = np.arange(len(ticks))
    if len(keep) > MAX_POINTS:
        keep = np.unique(np.append(np.linspace(0, len(ticks) - 1, MAX_POINTS).astype(int),
                                   len(ticks) - 1))
    t_max = max(float(ticks[-1]), 1.0)
    xs = left + ticks[keep] / t_max * plot_w
    e = html.escape
    out = [f'<svg class="live-chart" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" '
           'font-size="10">']
    if title:
        out.append(f'<text x="{left}" y="14" font-size="11" font-weight="600">{e(title)}</text>')
    for k, panel in enumerate(panels):
        y0 = top + k * (panel_height + gap)
        peak = max((float(frame[s.column].max()) for s in panel.series), default=1.0)
        y_max = _nice_max(peak)
        out.append(f'<rect x="{left}" y="{y0}" width="{plot_w}" height="{panel_height}" '
                   'fill="none" stroke="#bbb"/>')
        for frac in (0.0, 0.5, 1.0):
            y = y0 + panel_height * (1 - frac)
            out.append(f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" '
                       f'fill="#555">{y_max * frac:g}</text>')
        out.append(f'<text x="{left + 4}" y="{y0 + 12}" fill="#333">{e(panel.title)}</text>')
        for j, s in enumerate(panel.series):
            ys = y0 + panel_height * (1 - frame[s.column].to_numpy(dtype=float)[keep] / y_max)
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
            dash = ' stroke-dasharray="4 3"' if s.dashed else ""
            out.append(f'<polyline data-series="{e(s.column)}" points="{points}" fill="none" '
                       f'stroke="{s.colour}" stroke-width="1.5"{dash}/>')
            ly = y0 + 10 + 14 * j
            out.append(f'<line x1="{left + plot_w + 8}" y1="{ly}" x2="{left + plot_w + 24}" '
                       f'y2="{ly}" stroke="{s.colour}" stroke-width="2"{dash}/>')
            out.append(f'<text x="{left + plot_w + 28}" y="{ly + 3}">{e(s.label)}</text>')
    axis_y = height - bottom + 14
    if "date" in frame:  # calendar runs: the first and the last date, years between
        first, last = (str(pd.Timestamp(frame["date"].iloc[i]).date()) for i in (0, -1))
        axis = ""
        out += _year_marks(frame, ticks, t_max, left, plot_w, height - bottom, axis_y)
    else:
        first, last, axis = "0", str(int(t_max)), "tick"
    out.append(f'<text x="{left}" y="{axis_y}" fill="#555">{first}</text>')
    out.append(f'<text x="{left + plot_w}" y="{axis_y}" text-anchor="end" fill="#555">'
               f"{last}</text>")
    if axis:
        out.append(f'<text x="{left + plot_w / 2}" y="{axis_y}" text-anchor="middle" '
                   f'fill="#555">{axis}</text>')
    out.append("</svg>")
    return "".join(out)


#: at most this many year labels on a dated chart's axis
MAX_YEARS = 8
#: no year label closer than this (px) to the first or last date, which are labelled in full
END_GAP = 80


def _year_marks(frame: pd.DataFrame, ticks: np.ndarray, t_max: float, left: float,
                plot_w: float, axis_top: float, axis_y: float) -> list[str]:
    """A tick mark and a label at the first week of every year (every 2nd, 5th... year on
    long runs, at most :data:`MAX_YEARS`), below the last panel. O(ticks)."""
    years = pd.DatetimeIndex(frame["date"]).year.to_numpy()
    starts = np.flatnonzero(years[1:] != years[:-1]) + 1
    if len(starts) == 0:
        return []
    every = next(n for n in (1, 2, 5, 10, 20, 50, 100, 10**9)
                 if len(starts) / n <= MAX_YEARS)
    out = []
    for i in starts:
        year, x = int(years[i]), left + ticks[i] / t_max * plot_w
        if year % every or x < left + END_GAP or x > left + plot_w - END_GAP:
            continue
        out.append(f'<line x1="{x:.1f}" y1="{axis_top}" x2="{x:.1f}" y2="{axis_top + 4}" '
                   'stroke="#999"/>')
        out.append(f'<text class="year" x="{x:.1f}" y="{axis_y}" text-anchor="middle" '
                   f'fill="#555">{year}</text>')
    return out
