"""``resurgence sweep`` and ``resurgence results``: run an experiment, then list or query its
runs."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from resurgence.cli.app import (
    Scheduler,
    Workers,
    app,
    console,
    frame_table,
    out_console,
    sweep_progress,
    user_errors,
)
from resurgence.errors import Problem, UserInputError


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
        "(a job's cores and memory in ~/.config/dask/jobqueue.yaml or DASK_JOBQUEUE__SLURM__* "
        "variables); the jobs are cancelled when the sweep ends.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Batch jobs for --cluster.")] = 1,
    retries: Annotated[int, typer.Option(
        "--retries", min=0, max=100, help="Retries of a run whose worker died.")] = 3,
    yes: Annotated[bool, typer.Option(
        "--yes", help="Run a design of more than 100,000 runs (refused without it).")] = False,
    plan: Annotated[bool, typer.Option(
        "--plan", help="Print the plan (policies, futures, replications, runs, estimated "
        "time from a few timed ticks of the base scenario) and run nothing.")] = False,
) -> None:
    """Run every run of an experiment: design points x policies x replications.

    Each run writes results/<name>/runs/<run_id>.parquet (its per-tick frame and, in the file's
    metadata, its outcomes and provenance); catalog.duckdb indexes them. Stop it at any
    moment and run the same command again: finished runs are kept and skipped, the others run.
    The seeds come from the experiment's seed, so the results are the same bit for bit on any
    number of workers or on a Dask cluster.

      resurgence sweep experiments/legitimacy-vision.toml --workers 2

      resurgence sweep exp.toml --scheduler tcp://127.0.0.1:8786

      resurgence sweep exp.toml --cluster slurm --jobs 4 --out /shared/results/exp

      resurgence sweep experiments/post-mosul-robustness.toml --plan
    """
    from resurgence.experiments import Experiment
    from resurgence.experiments import sweep as run_sweep
    from resurgence.experiments.executors import ended_cleanly

    if scheduler and cluster:
        raise UserInputError("--cluster", [Problem("--cluster", cluster,
                                                   "give --scheduler or --cluster, not both")])
    from resurgence.store.run_folder import out_folder

    exp = Experiment.load(experiment)
    if plan:
        _print_plan(exp, workers or 1, yes)
        return
    folder = out_folder(out, Path("results") / experiment.stem, create=False)
    # batch jobs are cancelled when the sweep is ended by SIGTERM or SIGHUP too
    with ended_cleanly() if cluster else nullcontext(), sweep_progress() as progress:
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


def _print_plan(exp, workers: int, confirmed: bool) -> None:  # type: ignore[no-untyped-def]
    """``sweep --plan``: the plan in numbers, and nothing run or written."""
    from resurgence.experiments.design import check_size, make_plan
    from resurgence.experiments.estimate import describe, seconds_per_run

    check_size(exp, confirmed)
    facts = describe(make_plan(exp), seconds_per_run(exp), workers)
    for key, value in facts.items():
        if isinstance(value, list):
            out_console.print(f"{key} ({len(value)}):", highlight=False)
            for item in value:
                out_console.print(f"  {item}", highlight=False, markup=False)
        else:
            out_console.print(f"{key}: {value}", highlight=False, markup=False)


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
            out_console.print(frame_table(df, limit=limit))
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
        out_console.print(frame_table(df, title="mean outcomes per policy", limit=limit))


