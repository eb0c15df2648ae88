"""Map redraw speed: cell codes -> RGB (NumPy lookup table) -> PNG bytes, the dashboard's map.

Measures frames per second on a SIZE x SIZE grid (default 200 x 200, Epstein Run 2's
parameters): redrawing the map only (what a paused dashboard costs), the map and the live SVG
chart (a dashboard panel), and stepping the model one tick between map redraws (a running
dashboard at one tick per frame). Target: 10 frames per second or more for the redraw.

    .venv/bin/python benchmarks/map_redraw.py [--size 200] [--frames 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable

import numpy as np

from resurgence.models.epstein import EpsteinRun
from resurgence.scenario.catalog import resolve
from resurgence.viz.livechart import svg_chart
from resurgence.viz.maps import png_bytes, to_rgb
from resurgence.viz.registry import view_for

TARGET_FPS = 10.0


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}, NumPy {np.__version__}")


def timed(frames: int, body: Callable[[], object]) -> float:
    """Seconds per call of ``body``, the best of three rounds of ``frames`` calls (the least
    disturbed by other work on the machine)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(frames):
            body()
        best = min(best, (time.perf_counter() - start) / frames)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200, help="grid width and height")
    parser.add_argument("--frames", type=int, default=200, help="frames per round")
    args = parser.parse_args()

    scenario = resolve("epstein-run-2").with_overrides(
        grid={"width": args.size, "height": args.size})
    view = view_for(scenario)
    run = EpsteinRun(scenario, 1, live=True)
    lut = view.legend.lut()
    for _ in range(20):  # compile, and leave the quiet start for a mixed map
        run.step()
    codes = run.cell_states()
    rgb = to_rgb(codes, lut)

    def redraw() -> bytes:
        return png_bytes(to_rgb(run.cell_states(), lut))

    def panel() -> str:  # the dashboard panel: the map and the live chart
        redraw()
        frames, panels = view.panels([run.frame()], groups="colour")
        return svg_chart(frames[0], panels)

    def step_and_redraw() -> bytes:
        run.step()
        return redraw()

    parts = {
        "cell_states (codes)": timed(args.frames, run.cell_states),
        "lookup table (RGB)": timed(args.frames, lambda: to_rgb(codes, lut)),
        "PNG encode": timed(args.frames, lambda: png_bytes(rgb)),
    }
    redraw_s = timed(args.frames, redraw)
    panel_s = timed(args.frames, panel)
    step_frames = max(10, args.frames // 10)
    step_s = timed(step_frames, step_and_redraw)
    png_kb = len(redraw()) / 1024

    print("command:", shlex.join([sys.executable, *sys.argv]))
    print("machine:", machine())
    print(f"grid: {args.size} x {args.size} = {args.size ** 2:,} cells, "
          f"{len(run.frame())} ticks run, PNG {png_kb:.1f} KiB per frame")
    for name, seconds in parts.items():
        print(f"  {name:<22} {seconds * 1e3:8.3f} ms")
    print(f"redraw only           {redraw_s * 1e3:8.3f} ms/frame  {1 / redraw_s:8.1f} fps")
    print(f"map + live chart      {panel_s * 1e3:8.3f} ms/frame  {1 / panel_s:8.1f} fps")
    print(f"step + redraw         {step_s * 1e3:8.3f} ms/frame  {1 / step_s:8.1f} fps")
    verdict = "meets" if 1 / redraw_s >= TARGET_FPS else "MISSES"
    print(f"target: >= {TARGET_FPS:g} fps for the redraw: {verdict} it "
          f"({1 / redraw_s / TARGET_FPS:.0f}x)")


if __name__ == "__main__":
    from resurgence.startup import prepare

    prepare()  # numba's cache in step with the kernels' sources, before any kernel runs
    main()
