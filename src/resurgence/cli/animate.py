"""``resurgence animate``: the map of one run as a GIF or MP4."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from resurgence.cli.app import app, console, out_console, user_errors
from resurgence.errors import Problem, UserInputError
from resurgence.scenario.catalog import DEFAULT, resolve


@app.command()
@user_errors
def animate(
    scenario: Annotated[
        str, typer.Argument(help="Scenario file (.toml) or the name of a bundled scenario.")
    ] = DEFAULT,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Seed (default: the scenario's).")
    ] = None,
    ticks: Annotated[
        int | None,
        typer.Option("--ticks", min=1, max=100_000, help="Last tick (default: the "
                     "scenario's)."),
    ] = None,
    every: Annotated[
        int | None,
        typer.Option("--every", min=1, help="One frame every N ticks (default: 1 for Epstein "
                     "grids, 4 weeks for insurgency theatres)."),
    ] = None,
    fps: Annotated[int, typer.Option("--fps", min=1, max=60, help="Frames per second.")] = 10,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Animation file, .gif (always) or .mp4 (needs ffmpeg); "
                     "default: <scenario>.gif"),
    ] = None,
) -> None:
    """Animate the map of one run as a GIF or MP4: Epstein's grid (quiet, active, jailed,
    cops...) or an insurgency theatre (government, contested, held, desert bases, sleeper
    cells), titled with the tick or the date.

      resurgence animate epstein-run-4 --ticks 200 --out run4.gif

      resurgence animate iraq-2003-2020 --every 13 --out iraq.gif   # one frame a quarter
    """
    import shutil

    from resurgence.viz.animate import animate as write_animation
    from resurgence.viz.animate import frames_every
    from resurgence.viz.registry import view_for

    loaded = resolve(scenario)
    if ticks is not None:
        loaded = loaded.with_overrides(ticks=ticks)
    from resurgence.store.run_folder import out_file

    target = out_file(out if out is not None else Path(f"{Path(scenario).stem}.gif"))
    if target.suffix.lower() not in (".gif", ".mp4"):
        raise UserInputError("--out", [Problem("--out", str(target), "must end in .gif or "
                                               ".mp4")])
    if target.suffix.lower() == ".mp4" and shutil.which("ffmpeg") is None:
        raise UserInputError("--out", [Problem("--out", str(target), "writing .mp4 needs "
                                               "ffmpeg on the PATH; use .gif")])
    view = view_for(loaded)
    every = frames_every(view) if every is None else every
    frames = loaded.ticks // every + 1
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=console, transient=not console.is_terminal) as progress:
        task = progress.add_task("frames", total=frames)
        write_animation(view, target, seed=seed, every=every, fps=fps,
                        on_frame=lambda _f: progress.advance(task))
    out_console.print(f"animation: {target} ({frames} frames)")


