"""``resurgence robustness`` and ``resurgence surface``: regret and satisficing of a sweep's
policies across its futures, and the dose-response surface of its levers
(:mod:`resurgence.experiments.robustness`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resurgence.cli.app import app, frame_table, out_console, user_errors, write_csv


@app.command()
@user_errors
def robustness(
    folder: Annotated[Path, typer.Argument(help="Results folder of a sweep.")],
    outcome: Annotated[str, typer.Option(
        "--outcome", help="The outcome whose regret is measured (e.g. casualties_cumulative).")],
    rule: Annotated[list[str] | None, typer.Option(
        "--rule", help="A threshold a policy must meet in a future to satisfice, e.g. "
        "'resurgence <= 0.5' (repeat; all must hold).")] = None,
    higher_better: Annotated[bool, typer.Option(
        "--higher-better", help="More of the outcome is better (default: less).")] = False,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the bootstrap.")] = 0,
) -> None:
    """Robustness of the policies (the levers' options) across the futures (design points):
    per policy, mean and 90th-percentile regret on --outcome, and the share of futures in which
    every --rule holds (outcomes averaged over each future's replications), with 90% bootstrap
    intervals over futures.

      resurgence robustness results/post-mosul-robustness --outcome casualties_cumulative
      --rule 'resurgence <= 0.5'

    Writes DIR/robustness-<outcome>.csv.
    """
    from resurgence.experiments.robustness import load_study, parse_rules
    from resurgence.experiments.robustness import robustness as table_of

    study = load_study(folder, outcome)
    rules = parse_rules(rule or [], study.plan["outcomes"])
    cases = study.cases
    result = table_of(cases, outcome, rules, lower_is_better=not higher_better, seed=seed)
    out_console.print(frame_table(result, title=f"robustness on {outcome} over "
                                                f"{result['futures'].iloc[0]} futures"))
    write_csv(result, folder / f"robustness-{outcome}.csv")
    out_console.print(f"written: {folder}/robustness-{outcome}.csv", highlight=False)


@app.command()
@user_errors
def surface(
    folder: Annotated[Path, typer.Argument(help="Results folder of a sweep.")],
    x: Annotated[str, typer.Option("--x", help="A lever of the sweep (columns).")],
    y: Annotated[str, typer.Option("--y", help="Another lever (rows).")],
    outcome: Annotated[str, typer.Option("--outcome", help="An outcome the sweep kept.")],
    facet: Annotated[str | None, typer.Option(
        "--facet", help="A third lever: one map per option.")] = None,
) -> None:
    """The dose-response surface of a sweep: the mean outcome over its futures and
    replications at each setting of two (or three) levers, as a table and heat maps.

      resurgence surface results/post-mosul-dose-response --x inclusion --y forces
      --facet air --outcome resurgence

    Writes DIR/surface-<outcome>.csv and .png.
    """
    from resurgence.cli.app import write_png
    from resurgence.experiments.robustness import load_study
    from resurgence.experiments.robustness import surface as surface_of
    from resurgence.viz.experiment_plots import plot_surface

    cases = load_study(folder, outcome, {"--x": x, "--y": y, "--facet": facet}).cases
    table = surface_of(cases, x, y, outcome, facet)
    out_console.print(frame_table(table, title=f"{outcome} by {x} and {y}"))
    write_csv(table, folder / f"surface-{outcome}.csv")
    write_png(plot_surface(table, x, y, outcome, facet), folder / f"surface-{outcome}.png")
    out_console.print(f"written: {folder}/surface-{outcome}.csv, .png", highlight=False)
