"""``resurgence run``: a scenario over several seeds, into a result folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from resurgence import __version__
from resurgence.analysis import summarise
from resurgence.cli.app import app, console, fmt, out_console, user_errors
from resurgence.errors import Problem, UserInputError
from resurgence.inference.draws import MAX_DRAWS, MAX_SEED
from resurgence.scenario import Scenario
from resurgence.scenario.catalog import DEFAULT, resolve
from resurgence.store import atomic_write_bytes, write_frame

if TYPE_CHECKING:
    import pandas as pd

    from resurgence.experiments.ensemble import Member

#: the per-governorate series of one insurgency seed, in a result folder (.parquet, .csv)
GOVERNORATES_FILE = "governorates-seed-{seed}"


@app.command()
@user_errors
def run(
    scenario: Annotated[
        str,
        typer.Argument(help="Scenario file (.toml) or the name of a bundled scenario."),
    ] = DEFAULT,
    seeds: Annotated[
        int | None, typer.Option("--seeds", min=1, max=100_000,
                                 help="Number of seeds (replications; default 4).")
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", min=0, max=MAX_SEED, help="First seed; seeds are SEED, SEED+1, "
                     "... (default: the scenario's; with --posterior, 10000).")
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
    posterior: Annotated[Path | None, typer.Option(
        "--posterior", help="posterior.parquet of `resurgence calibrate --priors`: run --draws "
        "parameter sets drawn from it (weighted resampling), draw i with seed SEED+i and its "
        "own random pick; SEED defaults to 10000, and the inference's own simulations use "
        "seeds of 2**62 and above, so the draws never repeat one of them. Writes draws.csv "
        "(draw, seed, particle, parameters).")] = None,
    draws: Annotated[int | None, typer.Option(
        "--draws", min=1, max=MAX_DRAWS, help="With --posterior: how many parameter sets to "
        "draw and run.")] = None,
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

    Under parameter uncertainty: --posterior POSTERIOR.parquet --draws N runs N parameter sets
    drawn from an inference's posterior, each with its own seed (same command, same files).

      resurgence run post-mosul-inclusion --posterior results/posterior-iraq/posterior.parquet
      --draws 16
    """
    from resurgence.api import check
    from resurgence.store import run_folder

    loaded = resolve(scenario)
    if ticks is not None:
        loaded = loaded.with_overrides(ticks=ticks)
    check(loaded)
    stem = Path(scenario).stem
    drawn = _posterior_draws(loaded, posterior, draws, seeds, seed)
    folder = run_folder.out_folder(out, Path("results") / stem)
    first = loaded.seed if seed is None else seed
    seed_list = list(range(first, first + (seeds or 4)))
    digest, origin = loaded.digest(), None
    if drawn is not None:
        seed_list = [int(s) for s in drawn["seed"]]
        origin = {"file": str(posterior), "draws": len(drawn), "first_seed": seed_list[0]}
        digest = run_folder.draws_digest(loaded, posterior, seed_list[0])  # type: ignore[arg-type]

    from resurgence.experiments.ensemble import Ensemble, GovernorateSeries
    from resurgence.viz.plots import figure_bytes, plot_runs
    from resurgence.viz.registry import has_view, view_for
    from resurgence.viz.snapshots import map_recorder

    observers = ({"governorates": GovernorateSeries, "maps": map_recorder(loaded)}
                 if loaded.model == "insurgency" else {})  # per governorate; maps for reports
    with run_folder.folder_lock(folder, "another `resurgence run` writes in this folder",
                                remove=True):
        done = run_folder.claim(folder, digest, loaded.name or stem, force=force)
        run_folder.write_manifest(folder, loaded, done, __version__, digest, origin)
        if drawn is not None:
            write_frame(drawn, folder / "draws.csv")
        todo = [s for s in seed_list if s not in done]
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      MofNCompleteColumn(), TimeRemainingColumn(), console=console,
                      transient=not console.is_terminal) as progress:
            task = progress.add_task(f"{stem}", total=len(todo) * loaded.ticks)
            variants = None if drawn is None else {
                int(row.pop("seed")): row for row in
                drawn.drop(columns=["draw", "particle"]).to_dict("records")}
            for member in Ensemble(loaded, todo, variants=variants).members(
                    observers, on_tick=lambda _t: progress.advance(task)):
                _write_seed(member, folder, csv)
                done.append(member.seed)
                run_folder.write_manifest(folder, loaded, sorted(done), __version__, digest,
                                          origin)
        if done and len(todo) < len(seed_list):
            console.print(f"{folder}: {len(seed_list) - len(todo)} of the seeds were done "
                          f"before; ran {len(todo)}", highlight=False)
        runs = {s: run_folder.read_frame(folder / f"seed-{s}.parquet") for s in sorted(done)}
        if csv:  # seeds done before without CSV
            for s, df in runs.items():
                if not (folder / f"seed-{s}.csv").exists():
                    write_frame(df, folder / f"seed-{s}.csv")
        fig = plot_runs(list(runs.values()), loaded.name or stem,
                        view=view_for(loaded) if has_view(loaded) else None)
        atomic_write_bytes(folder / "plot.png", figure_bytes(fig, dpi=120))
    _print_summary(loaded.name or stem, [summarise(loaded, runs[s]) for s in seed_list])
    maps = (", governorates-seed-*.parquet, maps-seed-*.npz" if loaded.model == "insurgency"
            else "")
    draws_file = ", draws.csv" if drawn is not None else ""
    out_console.print(f"results: {folder}/ (seed-*.parquet{maps}, plot.png, run.json"
                      f"{draws_file})")


def _posterior_draws(scenario: Scenario, posterior: Path | None, draws: int | None,
                     seeds: int | None, seed: int | None) -> pd.DataFrame | None:
    """The parameter sets of ``--posterior`` (None without it), each checked on the
    scenario; a misuse of the options or a posterior that does not fit the scenario raises
    :class:`UserInputError`."""
    if posterior is None:
        if draws is not None:
            raise UserInputError("--draws", [Problem("--draws", draws,
                                                     "needs --posterior POSTERIOR.parquet")])
        return None
    if draws is None:
        raise UserInputError("--posterior", [Problem("--draws", None, "give how many "
                                                     "parameter sets to draw: --draws N")])
    if seeds is not None:
        raise UserInputError("--seeds", [Problem("--seeds", seeds, "with --posterior, give "
                                                 "--draws N (each draw has its own seed)")])
    from resurgence.experiments.spec import key_kind, model_ignores, set_numbers
    from resurgence.inference.draws import DRAW_SEED, draw
    from resurgence.store.posterior import read_posterior

    particles, provenance = read_posterior(posterior, "--posterior")
    keys = list(provenance["parameters"])
    base = scenario.model_dump(mode="json")
    for key in keys:
        if key_kind(key, base) not in ("int", "float") or model_ignores(key, scenario.model):
            raise UserInputError("--posterior", [Problem(
                "--posterior", str(posterior), f"its parameter {key} is not a numeric key of "
                f"the scenario {scenario.name or scenario.source}")])
    drawn = draw(particles, keys, draws, DRAW_SEED if seed is None else seed)
    for row in drawn.to_dict("records"):
        try:
            Scenario.from_dict(set_numbers(base, {k: row[k] for k in keys}))
        except UserInputError as exc:
            p = exc.problems[0]
            raise UserInputError("--posterior", [Problem(
                "--posterior", str(posterior), f"draw {row['draw']} gives an invalid scenario:"
                f" {p.key} = {p.value!r}: {p.allowed}")]) from None
    return drawn


def _write_seed(member: Member, folder: Path, csv: bool) -> None:
    """Write one seed's files, ``seed-<N>.parquet`` last (a seed is done when it exists)."""
    from resurgence.viz.snapshots import MAPS_FILE

    s = member.seed
    frames = {}
    if "governorates" in member.observed:
        frames[GOVERNORATES_FILE.format(seed=s)] = member.observed["governorates"]
    if "maps" in member.observed:
        member.observed["maps"].save(folder / MAPS_FILE.format(seed=s))
    frames[f"seed-{s}"] = member.frame
    for name, frame in frames.items():
        if csv:
            write_frame(frame, folder / f"{name}.csv")
        write_frame(frame, folder / f"{name}.parquet")


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


