"""``resurgence sensitivity``: which uncertainties of a finished sweep matter."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from resurgence.cli.app import app, frame_table, out_console, user_errors, write_csv, write_png


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
    from resurgence.experiments.sensitivity import analyse
    from resurgence.viz.experiment_plots import plot_indices

    tables = analyse(folder, outcome, conf)
    rows = []
    for (name, policy), table in tables.items():
        out_console.print(frame_table(table, title=f"{name}" + ("" if policy == "all"
                                                           else f" — {policy}")))
        rows.append(table.assign(outcome=name, policy=policy))
    write_csv(pd.concat(rows), folder / "sensitivity.csv")
    write_png(plot_indices(tables, f"sensitivity ({conf:.0%} confidence)"),
         folder / "sensitivity.png")
    out_console.print(f"written: {folder}/sensitivity.csv, {folder}/sensitivity.png",
                      highlight=False)


