"""``resurgence compare``: result folders side by side, with confidence intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from resurgence.cli.app import app, fmt, out_console, user_errors
from resurgence.store import atomic_write_bytes, write_frame


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


