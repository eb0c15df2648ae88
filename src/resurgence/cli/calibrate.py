"""``resurgence calibrate``: fit scenario parameters to an observed series or target values."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from resurgence.cli.app import (
    Scheduler,
    Workers,
    app,
    out_console,
    sweep_progress,
    user_errors,
    write_csv,
    write_png,
)
from resurgence.errors import Problem, UserInputError


@app.command()
@user_errors
def calibrate(
    scenario: Annotated[str | None, typer.Argument(
        help="Scenario file (.toml) or bundled name (target mode).")] = None,
    target: Annotated[Path | None, typer.Argument(
        help="CSV: `tick,<series>` (e.g. active_share) or `outcome,value` rows (target mode)."
    )] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", help="KEY=LOW:HIGH to fit, e.g. epstein.legitimacy=0.5:0.95 (repeat; "
        "target mode).")] = None,
    priors: Annotated[Path | None, typer.Option(
        "--priors", help="Priors file (.toml): infer a posterior over its parameters from its "
        "pattern set by ABC-SMC, instead of fitting a target (docs/evidence.md).")] = None,
    seeds: Annotated[int, typer.Option(
        "--seeds", min=1, max=1000, help="Seeds per evaluation, common to all (target mode).")
    ] = 4,
    samples: Annotated[int, typer.Option(
        "--samples", min=2, max=100_000,
        help="Latin hypercube points of the global stage (target mode).")] = 16,
    refine: Annotated[int, typer.Option(
        "--refine", min=0, max=100_000,
        help="Nelder-Mead evaluations of the local stage (target mode).")] = 30,
    ticks: Annotated[int | None, typer.Option(
        "--ticks", min=1, help="Override ticks (target mode; with --priors, `ticks` in the "
        "priors file).")] = None,
    burn_in: Annotated[int, typer.Option(
        "--burn-in", min=0, help="Ticks ignored by outcome targets (target mode).")] = 0,
    seed: Annotated[int, typer.Option(
        "--seed", min=0, help="Root of the seeds (target mode; with --priors, `seed` in the "
        "priors file).")] = 0,
    workers: Workers = None,
    scheduler: Scheduler = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder for the results (default: results/calibrate-<scenario>, or "
        "results/posterior-<priors file name> with --priors).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="--priors: replace another inference's files in --out (a folder of "
        "the same inference resumes).")] = False,
    finish: Annotated[bool, typer.Option(
        "--finish", help="--priors: run no more simulations; write the posterior of the "
        "generations finished so far in --out (the same command without --finish goes on "
        "from there).")] = False,
) -> None:
    """Fit scenario parameters to an observed series or target values, or infer their
    posterior from patterns.

    Target mode (SCENARIO TARGET --param ...): a Latin hypercube over the box (global), then
    Nelder-Mead from its best point (local); every evaluation runs the same SEEDS seeds and
    compares their mean with the target (RMSE). Prints the fit, RMSE, MAE, bias, R² (series),
    the noise floor and a plausible range per parameter.

      resurgence calibrate epstein-run-2 experiments/epstein-target.csv
      --param epstein.legitimacy=0.6:0.95 --ticks 200

    Posterior mode (--priors PRIORS.toml): ABC-SMC over the priors file's parameters, the
    distance being the patterns' misses of their ranges; writes posterior.parquet (the last
    generation's weighted particles, provenance in its metadata), generations.csv, every
    simulation (runs/) and catalog.duckdb. The seed in the priors file fixes the posterior bit
    for bit on any number of workers or a Dask cluster; killed, the same command resumes
    without running any finished simulation again; with --finish it writes the posterior of
    the generations finished so far instead (an inference longer than a sitting). Then:
    resurgence posterior DIR/posterior.parquet.

      resurgence calibrate --priors experiments/epstein-priors.toml --workers 2
    """
    if priors is not None:
        if scenario is not None or target is not None or param:
            raise UserInputError("--priors", [Problem(
                "--priors", str(priors), "give either SCENARIO TARGET --param ... (fit a "
                "target) or --priors PRIORS.toml (infer a posterior), not both")])
        if ticks is not None:
            raise UserInputError("--ticks", [Problem("--ticks", ticks, "with --priors, set "
                                                     "`ticks` in the priors file's [inference]")])
        _posterior_mode(priors, out, workers, scheduler, force, finish)
        return
    if finish:
        raise UserInputError("--finish", [Problem("--finish", True, "only with --priors (an "
                                                  "inference into a folder)")])
    if scenario is None or target is None:
        raise UserInputError("calibrate", [Problem(
            "SCENARIO TARGET" if scenario is None else "TARGET", None,
            "give SCENARIO TARGET --param KEY=LOW:HIGH (fit a target), or --priors "
            "PRIORS.toml (infer a posterior)")])
    from resurgence.experiments.calibration import (
        calibrate as fit,
    )
    from resurgence.experiments.calibration import (
        load_target,
        parse_params,
    )
    from resurgence.experiments.executors import Pool
    from resurgence.scenario.catalog import resolve
    from resurgence.viz.experiment_plots import plot_fit

    loaded = resolve(scenario)
    if ticks is not None:
        loaded = loaded.with_overrides(ticks=ticks)
    goal = load_target(target, loaded.model)
    params = parse_params(param or [], loaded)
    from resurgence.store.run_folder import out_folder

    folder = out_folder(out, Path("results") / f"calibrate-{Path(scenario).stem}",
                        create=False)
    total = samples + refine
    with Pool(workers=workers, scheduler=scheduler) as pool, sweep_progress() as progress:
        task = progress.add_task("calibrate", total=total, failed=0, retried=0)
        cal = fit(loaded, goal, params, pool.executor, seeds=seeds, samples=samples,
                  refine=refine, seed=seed, burn_in=burn_in,
                  on_eval=lambda n, _loss: progress.update(task, completed=min(n, total)))
        progress.update(task, completed=total)
    table = Table(title=f"calibration of {loaded.name or scenario} to {target.name}")
    for col in ("parameter", "fitted", "plausible range", "search box"):
        table.add_column(col, justify="right")
    for key, value in cal.params.items():
        lo, hi = cal.plausible[key]
        table.add_row(key, f"{value:.4g}", f"{lo:.4g} .. {hi:.4g}",
                      f"{params[key][0]:g} .. {params[key][1]:g}")
    out_console.print(table)
    out_console.print("fit: " + ", ".join(f"{k} {v:.4g}" for k, v in cal.stats.items()),
                      highlight=False)
    write_csv(cal.evaluations, folder / "calibration.csv")
    write_png(plot_fit(cal, loaded.name or scenario), folder / "fit.png")
    out_console.print(f"written: {folder}/calibration.csv, {folder}/fit.png", highlight=False)


def _posterior_mode(priors_path: Path, out: Path | None, workers: int | None,
                    scheduler: str | None, force: bool, finish: bool = False) -> None:
    """``calibrate --priors``: ABC-SMC into a folder (see :mod:`resurgence.inference.job`)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from resurgence.api import check
    from resurgence.cli.app import console, frame_table
    from resurgence.experiments.executors import Pool, is_retryable
    from resurgence.inference import job
    from resurgence.inference.priors import load_priors
    from resurgence.store.run_folder import out_folder

    loaded = load_priors(priors_path)
    check(loaded.scenario)
    folder = out_folder(out, Path("results") / f"posterior-{priors_path.stem}",
                        create=not finish)
    budget = loaded.inference.budget
    with Pool(workers=workers, scheduler=scheduler, preload=("pyabc",)) as pool, Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("simulations (budget)"), TimeElapsedColumn(), console=console,
            transient=not console.is_terminal) as progress:
        task = progress.add_task(priors_path.stem, total=budget)

        def started(resumed: bool) -> None:
            console.print(f"{'resuming' if resumed else 'starting'} in {folder}; "
                          f"{pool.describe}", highlight=False)

        try:
            result, _ = job.run(loaded, folder, pool.executor, pool.describe, force,
                                on_simulation=lambda: progress.advance(task),
                                on_start=started, finish=finish)
        except Exception as exc:
            if not is_retryable(exc):
                raise
            console.print(f"error: a worker was lost ({type(exc).__name__}); the simulations "
                          "that ended are kept: run the same command again to resume",
                          highlight=False)
            raise typer.Exit(1) from None
    out_console.print(frame_table(result.generations, title="generations"))
    out_console.print(frame_table(_summary(result.particles, loaded),
                                  title=f"posterior ({result.stopped} reached; "
                                  f"{result.simulations} simulations)"))
    out_console.print(f"written: {folder}/posterior.parquet, generations.csv, runs/, "
                      f"catalog.duckdb; next: resurgence posterior {folder}/posterior.parquet",
                      highlight=False)


def _summary(particles, priors):  # type: ignore[no-untyped-def]
    """Weighted mean, sd and 5-95% range per parameter, with the prior's range."""
    import pandas as pd

    from resurgence.inference.identification import weighted_quantiles

    w = particles["weight"].to_numpy(float)
    rows = []
    for key, prior in priors.priors.items():
        x = particles[key].to_numpy(float)
        mean = float((w * x).sum())
        lo, hi = weighted_quantiles(x, w, (0.05, 0.95))
        rows.append({"parameter": key, "mean": mean,
                     "sd": float((w * (x - mean) ** 2).sum() ** 0.5), "5%": lo, "95%": hi,
                     "prior": f"{prior.distribution} {prior.low:g}..{prior.high:g}"})
    return pd.DataFrame(rows)
