"""The experiment commands of ``resurgence``: sweep, results, sensitivity, discover, calibrate.

Registered on the app of :mod:`resurgence.cli` (imported there).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from resurgence.cli import app, console, fmt, out_console, user_errors
from resurgence.errors import Problem, UserInputError
from resurgence.store import atomic_write_bytes

Workers = Annotated[int | None, typer.Option(
    "--workers", min=1, max=4096, help="Local worker processes (default: one per core).")]
Scheduler = Annotated[str | None, typer.Option(
    "--scheduler", help="Address of a Dask scheduler, e.g. tcp://10.0.0.5:8786: run there "
    "instead of on local processes.")]


def _png(fig: object, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)  # type: ignore[attr-defined]
    atomic_write_bytes(path, buf.getvalue())


def _csv(df: pd.DataFrame, path: Path) -> None:
    atomic_write_bytes(path, df.to_csv(index=False).encode())


def _table(df: pd.DataFrame, title: str | None = None, limit: int | None = None) -> Table:
    table = Table(title=title)
    for col in df.columns:
        table.add_column(str(col), justify="right")
    for row in df.head(limit).itertuples(index=False) if limit else \
            df.itertuples(index=False):
        table.add_row(*(fmt(v) for v in row))
    return table


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("failed {task.fields[failed]}"),
                    TextColumn("retried {task.fields[retried]}"), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn(), console=console,
                    transient=not console.is_terminal)


@app.command()
@user_errors
def sweep(
    experiment: Annotated[Path, typer.Argument(help="Experiment file (.toml).")],
    out: Annotated[str | None, typer.Option(
        "--out", help="Results folder (default: results/<experiment file name>).")] = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    cluster: Annotated[str | None, typer.Option(
        "--cluster", help="slurm or pbs: start Dask workers as batch jobs with dask-jobqueue "
        "(configured in ~/.config/dask/jobqueue.yaml).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Batch jobs for --cluster.")] = 1,
    retries: Annotated[int, typer.Option(
        "--retries", min=0, max=100, help="Retries of a run whose worker died.")] = 3,
    yes: Annotated[bool, typer.Option(
        "--yes", help="Run a design of more than 100,000 runs (refused without it).")] = False,
) -> None:
    """Run every run of an experiment: design points x policies x replications.

    Each run writes results/<name>/runs/<run_id>.parquet (its per-tick frame and, in the file's
    metadata, its outcomes and provenance); catalog.duckdb indexes them. Stop it at any
    moment and run the same command again: finished runs are kept and skipped, the others run.
    The seeds come from the experiment's seed, so the results are the same bit for bit on any
    number of workers or on a Dask cluster.

      resurgence sweep experiments/legitimacy-vision.toml --workers 2

      resurgence sweep exp.toml --scheduler tcp://127.0.0.1:8786
    """
    from resurgence.experiments import Experiment
    from resurgence.experiments import sweep as run_sweep

    if scheduler and cluster:
        raise UserInputError("--cluster", [Problem("--cluster", cluster,
                                                   "give --scheduler or --cluster, not both")])
    from resurgence.store.run_folder import out_folder

    exp = Experiment.load(experiment)
    folder = out_folder(out, Path("results") / experiment.stem, create=False)
    with _progress() as progress:
        task = progress.add_task(exp.name or experiment.stem, total=None, failed=0, retried=0)

        def start(total: int, before: int, executor: str) -> None:
            progress.update(task, total=total, completed=before)
            console.print(f"{total} runs, {before} already done; {executor}", highlight=False)

        def step(p: object) -> None:
            progress.update(task, completed=p.done, failed=p.failed,  # type: ignore[attr-defined]
                            retried=p.retried)  # type: ignore[attr-defined]

        report = run_sweep(exp, folder, workers=workers, scheduler=scheduler, cluster=cluster,
                           jobs=jobs if cluster else None, retries=retries, on_start=start,
                           on_progress=step, confirmed=yes)
    out_console.print(
        f"{report.planned} runs: {report.done_before} done before, {report.ran} ran, "
        f"{len(report.failed)} failed, {report.retried} retried, {report.seconds:.1f} s",
        highlight=False)
    for rid, error in list(report.failed.items())[:5]:
        console.print(f"failed {rid}: {error}", highlight=False, markup=False)
    out_console.print(f"results: {folder}/ (runs/*.parquet, catalog.duckdb)", highlight=False)
    if report.failed:
        raise typer.Exit(1)


@app.command()
@user_errors
def results(
    folder: Annotated[Path, typer.Argument(help="Results folder of `resurgence sweep`.")],
    query: Annotated[str | None, typer.Option(
        "--query", help="SQL over tables runs, outcomes, failures, design and views results, "
        "series (quote dotted names: \"epstein.legitimacy\").")] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows shown in a table.")] = 50,
) -> None:
    """List a sweep's runs, or query them with SQL (DuckDB).

      resurgence results results/legitimacy-vision

      resurgence results DIR --query 'SELECT "epstein.legitimacy", avg(mean_active_share)
      FROM results GROUP BY 1 ORDER BY 1'
    """
    from resurgence.experiments.sweep import load_plan
    from resurgence.store.catalog import Catalog

    plan = load_plan(folder)
    catalog = Catalog(folder, read_only=True)
    if query is not None:
        df = catalog.user_query(query)
        if csv:
            print(df.to_csv(index=False), end="")
        else:
            out_console.print(_table(df, limit=limit))
            if len(df) > limit:
                out_console.print(f"({len(df)} rows; --limit or --csv for more)")
        return
    exp = plan["experiment"]
    counts = catalog.query(
        "SELECT (SELECT count(DISTINCT run_id) FROM design) AS planned, "
        "(SELECT count(DISTINCT run_id) FROM results) AS done, "
        "(SELECT count(*) FROM failures WHERE run_id IN (SELECT run_id FROM design)) AS failed"
    ).iloc[0]
    out_console.print(
        f"{exp['name'] or folder.name}: {exp['design']['kind']} design, "
        f"{len(plan['samples'])} points x {len(plan['policies'])} policies x "
        f"{exp['replications']} replications; {int(counts.planned)} runs planned, "
        f"{int(counts.done)} done, {int(counts.failed)} failed", highlight=False)
    levers = [f'"{k}"' for k in exp["levers"]]
    group = ", ".join(["policy", *levers])
    stats = ", ".join(f'avg("{n}") AS "{n}"' for n in plan["outcomes"])
    df = catalog.query(f"SELECT {group}, count(*) AS runs, {stats} FROM results "
                       f"GROUP BY {group} ORDER BY policy")
    if csv:
        print(df.to_csv(index=False), end="")
    else:
        out_console.print(_table(df, title="mean outcomes per policy", limit=limit))


@app.command()
@user_errors
def sensitivity(
    folder: Annotated[Path, typer.Argument(help="Results folder of a finished sweep.")],
    outcome: Annotated[list[str] | None, typer.Option(
        "--outcome", help="Outcome(s) to analyse (default: all the sweep kept).")] = None,
    conf: Annotated[float, typer.Option("--conf", min=0.5, max=0.999,
                                        help="Confidence level of the intervals.")] = 0.95,
) -> None:
    """Which uncertainties matter: Sobol' indices (sobol design), Morris elementary effects
    (morris design) or RBD-FAST first-order indices (other designs), with confidence
    intervals (SALib).

    Writes DIR/sensitivity.csv and DIR/sensitivity.png.
    """
    from resurgence.experiments.sensitivity import analyse, plot_indices

    tables = analyse(folder, outcome, conf)
    rows = []
    for (name, policy), table in tables.items():
        out_console.print(_table(table, title=f"{name}" + ("" if policy == "all"
                                                           else f" — {policy}")))
        rows.append(table.assign(outcome=name, policy=policy))
    _csv(pd.concat(rows), folder / "sensitivity.csv")
    _png(plot_indices(tables, f"sensitivity ({conf:.0%} confidence)"),
         folder / "sensitivity.png")
    out_console.print(f"written: {folder}/sensitivity.csv, {folder}/sensitivity.png",
                      highlight=False)


@app.command()
@user_errors
def discover(
    folder: Annotated[Path, typer.Argument(help="Results folder of a sweep.")],
    outcome: Annotated[str, typer.Option("--outcome", help="An outcome the sweep kept.")],
    condition: Annotated[str, typer.Option(
        "--condition", help="When a run is of interest, e.g. '> 5'.")],
    threshold: Annotated[float, typer.Option(
        "--threshold", min=0.0, max=1.0, help="Density the box must reach.")] = 0.8,
) -> None:
    """Scenario discovery with PRIM (EMA Workbench): which ranges of the uncertainties (and
    which levers) make the condition happen.

      resurgence discover DIR --outcome outbursts --condition '> 5'

    Writes DIR/discover-<outcome>.csv (the box) and .png (PRIM's coverage-density trade-off).
    """
    from resurgence.experiments.discovery import discover as run_prim

    found = run_prim(folder, outcome, condition, threshold=threshold)
    s = found.stats
    out_console.print(
        f"{outcome} {found.condition}: {found.of_interest} of {found.cases} runs. Box: "
        f"coverage {s['coverage']:.2f}, density {s['density']:.2f}, mass {s['mass']:.2f}, "
        f"{int(s['res_dim'])} restricted inputs", highlight=False)
    if found.limits.empty:
        out_console.print("PRIM found no box denser than the whole space: no range of the "
                          "inputs makes the condition markedly more likely (more runs may "
                          "help)", highlight=False)
    else:
        out_console.print(_table(found.limits, title="inputs restricted by the box "
                                                     "(qp: quasi p-value)"))
    _csv(found.limits, folder / f"discover-{outcome}.csv")
    if found.figure is not None:
        _png(found.figure, folder / f"discover-{outcome}.png")
    out_console.print(f"written: {folder}/discover-{outcome}.csv, .png", highlight=False)


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
        plot_fit,
    )
    from resurgence.experiments.executors import Pool
    from resurgence.scenario.catalog import resolve

    loaded = resolve(scenario)
    if ticks is not None:
        loaded = loaded.with_overrides(ticks=ticks)
    goal = load_target(target, loaded.model)
    params = parse_params(param, loaded)
    from resurgence.store.run_folder import out_folder

    folder = out_folder(out, Path("results") / f"calibrate-{Path(scenario).stem}",
                        create=False)
    total = samples + refine
    with Pool(workers=workers, scheduler=scheduler) as pool, _progress() as progress:
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
    _csv(cal.evaluations, folder / "calibration.csv")
    _png(plot_fit(cal, loaded.name or scenario), folder / "fit.png")
    out_console.print(f"written: {folder}/calibration.csv, {folder}/fit.png", highlight=False)
