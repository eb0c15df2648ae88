"""``resurgence discover``: scenario discovery (PRIM) over a sweep's runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resurgence.cli.app import app, frame_table, out_console, user_errors, write_csv, write_png


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
    """Scenario discovery with PRIM (EMA Workbench) and CART: which ranges of the
    uncertainties (and which levers) make the condition happen.

      resurgence discover DIR --outcome outbursts --condition '> 5'

    Writes DIR/discover-<outcome>.csv (PRIM's box), .png (its coverage-density trade-off) and
    discover-<outcome>-cart.csv (the leaves of a classification tree, densest first).
    """
    from resurgence.experiments.discovery import OPS, cases, find_leaves, parse_condition
    from resurgence.experiments.discovery import discover as run_prim
    from resurgence.viz.experiment_plots import plot_tradeoff

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
        out_console.print(frame_table(found.limits, title="inputs restricted by the box "
                                                     "(qp: quasi p-value)"))
    x, values = cases(folder, outcome)
    op, value = parse_condition(condition, outcome)
    leaves = find_leaves(x, OPS[op](values, value))
    out_console.print(frame_table(leaves[leaves.density >= 0.5], title="CART: the leaves where "
                                  "the condition holds in most runs"))
    write_csv(found.limits, folder / f"discover-{outcome}.csv")
    write_png(plot_tradeoff(found), folder / f"discover-{outcome}.png")
    write_csv(leaves, folder / f"discover-{outcome}-cart.csv")
    out_console.print(f"written: {folder}/discover-{outcome}.csv, .png, -cart.csv",
                      highlight=False)




@app.command()
@user_errors
def features(
    folder: Annotated[Path, typer.Argument(help="Results folder of a sweep.")],
    outcome: Annotated[str, typer.Option("--outcome", help="An outcome the sweep kept.")],
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the trees.")] = 0,
) -> None:
    """Feature scoring (EMA Workbench, extra trees): which inputs (uncertainties, parameters
    drawn from a posterior, levers) drive the outcome, as shares of importance.

      resurgence features DIR --outcome casualties_cumulative

    Writes DIR/features-<outcome>.csv.
    """
    from resurgence.experiments.discovery import feature_scores

    scores = feature_scores(folder, outcome, seed=seed)
    out_console.print(frame_table(scores, title=f"what drives {outcome}"))
    write_csv(scores, folder / f"features-{outcome}.csv")
    out_console.print(f"written: {folder}/features-{outcome}.csv", highlight=False)
