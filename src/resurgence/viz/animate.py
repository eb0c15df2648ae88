"""An animation of the grid over a run: GIF (Pillow, always there) or MP4 (when ffmpeg is)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter
from matplotlib.patches import Patch

from resurgence.store import atomic_write_bytes
from resurgence.viz.canvas import new_figure
from resurgence.viz.maps import to_rgb
from resurgence.viz.views import View


def frames_every(view: View) -> int:
    """Ticks between frames by default: every tick for Epstein's grid, every 4 weeks (about a
    month) for the insurgency's theatre."""
    return int(getattr(view, "frame_every", 1))


def animate(view: View, path: Path, seed: int | None = None, ticks: int | None = None,
            every: int | None = None, fps: int = 10,
            on_frame: Callable[[int], None] | None = None) -> int:
    """Write an animation of the map of one run of the view's scenario to ``path``.

    One frame every ``every`` ticks (default :func:`frames_every`) from tick 0 to ``ticks``
    (default: the scenario's), at ``fps`` frames per second; the title is the view's caption
    (Epstein: tick and actives; insurgency: date, territory, members). ``.gif`` uses Pillow,
    ``.mp4`` needs ffmpeg on the PATH. The file is written whole or not at all. Returns the
    number of frames."""
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"{path}: the animation must be a .gif or .mp4 file")
    if suffix == ".mp4" and shutil.which("ffmpeg") is None:
        raise RuntimeError("writing .mp4 needs ffmpeg on the PATH; write a .gif instead")
    last = view.scenario.ticks if ticks is None else ticks
    every = frames_every(view) if every is None else every
    run = view.start(seed)
    lut = view.legend.lut()
    title = view.scenario.name or "run"
    if len(title) > 60:
        title = title[:58] + "…"
    n_frames = last // every + 1

    fig = new_figure(figsize=(5, 5.6), dpi=90)
    ax = fig.subplots()
    image = ax.imshow(to_rgb(run.cell_states(), lut), interpolation="nearest")
    overlay = getattr(view, "overlay", None)
    if overlay is not None:
        ax.add_collection(overlay(run))
    ax.set_xticks([])
    ax.set_yticks([])
    caption = ax.set_title(f"{title}\n{view.caption(run.frame())}", fontsize=8)
    handles = [Patch(facecolor=c.colour, edgecolor="#555555", label=c.label)
               for c in view.legend.categories]
    longest = max(len(c.label) for c in view.legend.categories)
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4 if longest < 12
                                                              else 2), fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.14 if longest >= 12 else 0.1, 1, 0.98))

    def draw(frame: int) -> tuple:
        if frame > 0:
            for _ in range(every):
                run.step()
        image.set_data(to_rgb(run.cell_states(), lut))
        caption.set_text(f"{title}\n{view.caption(run.frame())}")
        if on_frame is not None:
            on_frame(frame)
        return (image, caption)

    anim = FuncAnimation(fig, draw, frames=n_frames, blit=False, repeat=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial{suffix}")
    try:
        writer = PillowWriter(fps=fps) if suffix == ".gif" else FFMpegWriter(fps=fps)
        anim.save(str(tmp), writer=writer)
        atomic_write_bytes(path, tmp.read_bytes())
    finally:
        tmp.unlink(missing_ok=True)
    return n_frames
