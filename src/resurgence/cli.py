"""The ``resurgence`` command."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from resurgence import __version__
from resurgence.api import simulate, summarise
from resurgence.errors import Problem, UserInputError
from resurgence.scenario import Scenario
from resurgence.scenario.catalog import DEFAULT, bundled, resolve
from resurgence.store import atomic_write_bytes, write_frame

#: the per-governorate series of one insurgency seed, in a result folder (.parquet, .csv)
GOVERNORATES_FILE = "governorates-seed-{seed}"

app = typer.Typer(
    help=(
        "Simulate how an insurgent group survives territorial defeat.\n\n"
        "resurgence runs agent-based models of civil violence from scenario files (TOML). "
        "Start with Epstein's civil violence model, the core of the insurgency model:\n\n"
        "  resurgence scenarios                      # what ships with the package\n\n"
        "  resurgence run                            # Epstein Run 2, 4 seeds -> results/\n\n"
        "  resurgence run epstein-run-4 --seeds 10   # a legitimacy shock, 10 seeds\n\n"
        "  resurgence run my.toml --ticks 1000 --out out/   # your own scenario file\n\n"
        "Scenario files are validated on load: a mistake is reported with file, key, value "
        "and what is allowed, and the command exits with status 2."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
console = Console(stderr=True)
out_console = Console()


def user_errors(command: Callable[..., None]) -> Callable[..., None]:
    """A user's mistake prints one message (file, key, value, allowed) and exits with 2."""

    @functools.wraps(command)
    def wrapper(*args: object, **kwargs: object) -> None:
        try:
            command(*args, **kwargs)
        except UserInputError as exc:
            console.print(f"error: {exc.message}", highlight=False, markup=False,
                          soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        print(f"resurgence {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Simulate how an insurgent group survives territorial defeat."""


@app.command()
@user_errors
def run(
    scenario: Annotated[
        str,
        typer.Argument(help="Scenario file (.toml) or the name of a bundled scenario."),
    ] = DEFAULT,
    seeds: Annotated[
        int, typer.Option("--seeds", min=1, max=100_000, help="Number of seeds (replications).")
    ] = 4,
    seed: Annotated[
        int | None,
        typer.Option("--seed", min=0, help="First seed; seeds are SEED, SEED+1, ... "
                     "(default: the scenario's)."),
    ] = None,
    ticks: Annotated[
        int | None,
        typer.Option("--ticks", min=1, max=10_000_000, help="Ticks to run (default: the "
                     "scenario's)."),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option("--out", help="Output folder (default: results/<scenario name>). A "
                     "folder of the same scenario is resumed: only seeds not yet there run."),
    ] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Also write CSV next to Parquet.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace the results of another "
                                        "scenario in --out (refused without it).")] = False,
) -> None:
    """Run a scenario over several seeds; write one Parquet file of per-tick observables per
    seed, a plot (plot.png) and print a summary.

    Each row of seed-<N>.parquet is one tick (tick 0 = the initial state). Epstein's model:
    the number of quiet, active and jailed citizens and of cops; Model II adds the same per
    group (blue, green) and the killings, births and deaths of the tick. The insurgency model:
    its date, territory, fighters by role, members, sympathisers, attacks, casualties,
    legitimacy per group, treasury and the levers in force; governorates-seed-<N>.parquet
    holds one row per tick and governorate (territory, fighters, sleepers, attacks, civilian
    casualties, sympathisers, legitimacy per group), and maps-seed-<N>.npz its maps at a few
    dates. The same seed gives the same result, bit for bit.
    """
    from resurgence.api import check
    from resurgence.store import run_folder

    loaded = resolve(scenario)
    if ticks is not None:
        loaded = loaded.with_overrides(ticks=ticks)
    check(loaded)
    stem = Path(scenario).stem
    folder = run_folder.out_folder(out, Path("results") / stem)
    first = loaded.seed if seed is None else seed
    seed_list = list(range(first, first + seeds))

    with run_folder.folder_lock(folder, "another `resurgence run` writes in this folder",
                                remove=True):
        done = run_folder.claim(folder, loaded.digest(), loaded.name or stem, force=force)
        run_folder.write_manifest(folder, loaded, done, __version__)
        todo = [s for s in seed_list if s not in done]
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      MofNCompleteColumn(), TimeRemainingColumn(), console=console,
                      transient=not console.is_terminal) as progress:
            task = progress.add_task(f"{stem}", total=len(todo) * loaded.ticks)
            for s in todo:
                _run_seed(loaded, s, folder, csv, lambda _t: progress.advance(task))
                done.append(s)
                run_folder.write_manifest(folder, loaded, sorted(done), __version__)
        if done and len(todo) < len(seed_list):
            console.print(f"{folder}: {len(seed_list) - len(todo)} of the seeds were done "
                          f"before; ran {len(todo)}", highlight=False)
        runs = {s: run_folder.read_frame(folder / f"seed-{s}.parquet") for s in sorted(done)}
        if csv:  # seeds done before without CSV
            for s, df in runs.items():
                if not (folder / f"seed-{s}.csv").exists():
                    write_frame(df, folder / f"seed-{s}.csv")

        from resurgence.viz.plots import plot_runs
        from resurgence.viz.views import has_view, view_for

        fig = plot_runs(list(runs.values()), loaded.name or stem,
                        view=view_for(loaded) if has_view(loaded) else None)
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120)
        atomic_write_bytes(folder / "plot.png", buf.getvalue())
    _print_summary(loaded.name or stem, [summarise(loaded, runs[s]) for s in seed_list])
    maps = (", governorates-seed-*.parquet, maps-seed-*.npz" if loaded.model == "insurgency"
            else "")
    out_console.print(f"results: {folder}/ (seed-*.parquet{maps}, plot.png, run.json)")


def _run_seed(loaded: Scenario, seed: int, folder: Path, csv: bool,
              on_tick: Callable[[int], None]) -> None:
    """Run one seed and write its files, ``seed-<N>.parquet`` last (a seed is done when it
    exists)."""
    frames = {}
    if loaded.model == "insurgency":  # per governorate, and maps for reports
        from resurgence.viz.snapshots import MAPS_FILE, run_with_maps

        done, snaps = run_with_maps(loaded, seed=seed, on_tick=on_tick)
        df = done.frame()
        frames[GOVERNORATES_FILE.format(seed=seed)] = done.governorate_frame()
        snaps.save(folder / MAPS_FILE.format(seed=seed))
    else:
        df = simulate(loaded, seed=seed, on_tick=on_tick)
    frames[f"seed-{seed}"] = df
    for name, frame in frames.items():
        if csv:
            write_frame(frame, folder / f"{name}.csv")
        write_frame(frame, folder / f"{name}.parquet")


@app.command(name="compare")
@user_errors
def compare_cmd(
    results: Annotated[
        list[Path],
        typer.Argument(help="Result folders written by `resurgence run`.", show_default=False),
    ],
    after: Annotated[
        str | None,
        typer.Option("--after", help="Count resurgence only after this date (YYYY-MM-DD), "
                     "e.g. the date policies branch."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where to save the comparison (a .csv table and a .png "
                     "plot beside it; default: compare.csv / compare.png)."),
    ] = None,
) -> None:
    """Compare policies or scenarios run with `resurgence run`: each outcome's mean over seeds
    with a 95% confidence interval (Student t; Wilson for shares such as the probability of
    resurgence), printed as a table and saved with a comparison plot.

      resurgence run post-mosul-military-only --seeds 10

      resurgence run post-mosul-inclusion --seeds 10

      resurgence compare results/post-mosul-military-only results/post-mosul-inclusion
      --after 2017-07-10
    """
    from resurgence.compare import compare, load_folder
    from resurgence.store.run_folder import out_file
    from resurgence.viz.plots import figure_bytes, plot_comparison

    target = out_file(out if out is not None else Path("compare.csv"))
    folders = [load_folder(path) for path in results]
    table = compare(folders, after=after)
    write_frame(table, target.with_suffix(".csv"))
    view = Table(title="comparison (mean over seeds, 95% interval)")
    for column in ("outcome", *[f.name for f in folders]):
        view.add_column(column, justify="left" if column == "outcome" else "right")
    for outcome, block in table.groupby("outcome", sort=False):
        cells = {r.scenario: f"{fmt(r.estimate)} ({fmt(r.low)} to {fmt(r.high)})"
                 for r in block.itertuples()}
        view.add_row(str(outcome).replace("_", " "), *(cells.get(f.name, "-") for f in folders))
    out_console.print(view)
    first = folders[0].runs[0]
    columns = ((("territory_km2", "territory held, km2"), ("members", "members (all roles)"))
               if "territory_km2" in first else (("active", "active citizens"),
                                                  ("jailed", "jailed citizens")))
    fig = plot_comparison({f.name: f.runs for f in folders}, columns=columns)
    atomic_write_bytes(target.with_suffix(".png"), figure_bytes(fig))
    out_console.print(f"saved: {target.with_suffix('.csv')}, {target.with_suffix('.png')}")


def fmt(value: object) -> str:
    """A table cell: "-" for a missing value; thousands grouped and no decimals from 1,000 on
    (214,800 km2, not 2.148e+05 or 214800.000); four significant digits below."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float | np.floating):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


#: a run's summary has a row per seed below this many outcomes; from it on (the insurgency's
#: eight), a row per outcome and a column per seed for the first SUMMARY_SEEDS seeds, so that it
#: stays readable in 80 columns
SUMMARY_COLUMNS, SUMMARY_SEEDS = 8, 4


def _print_summary(title: str, rows: list[dict]) -> None:
    keys = [k for k in rows[0] if k != "seed"]
    if len(keys) < SUMMARY_COLUMNS:
        table = Table(title=title)
        for key in rows[0]:
            table.add_column(key.replace("_", " "), justify="right")
        for row in rows:
            table.add_row(*(fmt(v) for v in row.values()))
        out_console.print(table)
        return
    shown = rows[:SUMMARY_SEEDS]
    caption = (f"the first {len(shown)} of {len(rows)} seeds; `resurgence compare` gives the "
               "mean over all" if len(rows) > len(shown) else None)
    table = Table(title=title, caption=caption)
    table.add_column("outcome")
    for row in shown:
        table.add_column(f"seed {row.get('seed', '?')}", justify="right")
    for key in keys:
        table.add_row(key.replace("_", " "), *(fmt(row[key]) for row in shown))
    out_console.print(table)


@app.command()
@user_errors
def scenarios() -> None:
    """List the scenarios shipped with the package (use the name with `resurgence run`)."""
    table = Table(title="bundled scenarios")
    table.add_column("name")
    table.add_column("description")
    for name, path in sorted(bundled().items()):
        table.add_row(name, resolve(str(path)).name)
    out_console.print(table)


@app.command()
@user_errors
def report(
    results: Annotated[
        list[Path],
        typer.Argument(help="Result folders written by `resurgence run` (one or more).",
                       show_default=False),
    ],
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path(
        "report.html"),
    title: Annotated[str | None, typer.Option("--title", help="Report title.")] = None,
    question: Annotated[
        str | None,
        typer.Option("--question", help="The question the report answers (default: worded "
                     "from the folders' names)."),
    ] = None,
    maps: Annotated[
        bool,
        typer.Option("--maps/--no-maps", help="Draw maps of each folder's first seed: Epstein "
                     "grids replayed at chosen ticks; insurgency theatres from the map "
                     "snapshots `resurgence run` saves."),
    ] = True,
    map_dates: Annotated[
        str | None,
        typer.Option("--map-dates", help="Insurgency: more dates to map, YYYY-MM-DD separated "
                     "by commas (each shown at the nearest snapshot; default: the start, the "
                     "peak of territory, the last policy change and the end)."),
    ] = None,
    after: Annotated[
        str | None,
        typer.Option("--after", help="Insurgency: count resurgence only after this date "
                     "(YYYY-MM-DD), e.g. the date policies branch."),
    ] = None,
) -> None:
    """Write one self-contained HTML report comparing result folders: the question, the
    settings, an outcome table (mean and 90% interval over seeds), the curves, maps, and
    provenance (version, scenario digests, seeds). Figures are embedded; the file opens
    offline and can be mailed as it is.

      resurgence run epstein-run-2 --seeds 10

      resurgence run epstein-run-4 --seeds 10

      resurgence report results/epstein-run-2 results/epstein-run-4 --out runs-2-4.html

      resurgence report results/post-mosul-military-only results/post-mosul-inclusion
      --after 2017-07-10 --map-dates 2014-06-10 --out post-mosul.html
    """
    from resurgence.store.run_folder import out_file
    from resurgence.viz.report import write_report
    from resurgence.viz.snapshots import parse_dates

    out_file(out)
    dates = parse_dates(map_dates)
    if after is not None:
        parse_dates(after, "--after")
    write_report(results, out, title=title, question=question, maps=maps, map_dates=dates,
                 after=after)
    out_console.print(f"report: {out}")


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
    from resurgence.viz.views import view_for

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


@app.command()
@user_errors
def dashboard(
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port on 127.0.0.1.")
                    ] = 8765,
) -> None:
    """Start the interactive dashboard on http://127.0.0.1:PORT (Ctrl-C stops it): pick a
    scenario, move the levers, run, pause, step and reset two runs side by side."""
    from resurgence.app.server import serve

    serve(port)


import resurgence.cli_experiments  # noqa: E402,F401  (registers sweep, results, ...)


def main() -> None:
    """Entry point of the ``resurgence`` command."""
    app()


if __name__ == "__main__":
    main()
