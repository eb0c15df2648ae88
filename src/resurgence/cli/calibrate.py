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


@app.command()
@user_errors
def calibrate(
    scenario: Annotated[str, typer.Argument(help="Scenario file (.toml) or bundled name.")],
    target: Annotated[Path, typer.Argument(
        help="CSV: `tick,<series>` (e.g. active_share) or `outcome,value` rows.")],
    param: Annotated[list[str], typer.Option(
        "--param", help="KEY=LOW:HIGH to fit, e.g. epstein.legitimacy=0.5:0.95 (repeat).")],
    seeds: Annotated[int, typer.Option("--seeds", min=1, max=1000,
                                       help="Seeds per evaluation (common to all).")] = 4,
    samples: Annotated[int, typer.Option("--samples", min=2, max=100_000,
                                         help="Latin hypercube points of the global stage.")
                       ] = 16,
    refine: Annotated[int, typer.Option("--refine", min=0, max=100_000,
                                        help="Nelder-Mead evaluations of the local stage.")
                      ] = 30,
    ticks: Annotated[int | None, typer.Option("--ticks", min=1, help="Override ticks.")] = None,
    burn_in: Annotated[int, typer.Option("--burn-in", min=0,
                                         help="Ticks ignored by outcome targets.")] = 0,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Root of the seeds.")] = 0,
    workers: Workers = None,
    scheduler: Scheduler = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder for calibration.csv and fit.png (default: results/calibrate-"
        "<scenario>).")] = None,
) -> None:
    """Fit scenario parameters to an observed series or to target values.

    Method: a Latin hypercube over the box (global), then Nelder-Mead from its best point
    (local); every evaluation runs the same SEEDS seeds and compares their mean with the
    target (RMSE). Prints the fit, RMSE, MAE, bias, R² (series), the noise floor and a
    plausible range per parameter.

      resurgence calibrate epstein-run-2 experiments/epstein-target.csv
      --param epstein.legitimacy=0.6:0.95 --ticks 200
    """
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
    params = parse_params(param, loaded)
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
