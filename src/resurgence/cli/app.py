"""What every command of ``resurgence`` shares: the Typer app, the two Rich consoles (progress
and errors on stderr, results on stdout), the user-error guard, and the helpers that print
tables and write a command's files.

The command modules of this package register on :data:`app`; :mod:`resurgence.cli` imports them
in the order ``--help`` lists them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from resurgence import __version__
from resurgence.errors import UserInputError
from resurgence.store import atomic_write_bytes

app = typer.Typer(
    help=(
        "Simulate how an insurgent group survives territorial defeat.\n\n"
        "resurgence runs agent-based models of civil violence from scenario files (TOML). "
        "Start with the question the tool exists for, then Epstein's civil violence model, "
        "the core of the insurgency model:\n\n"
        "  resurgence question                       # after Mosul: which policy? 4 seeds\n\n"
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



def fmt(value: object) -> str:
    """A table cell: "-" for a missing value; thousands grouped and no decimals from 1,000 on
    (214,800 km2, not 2.148e+05 or 214800.000); four significant digits below."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float | np.floating):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


#: the options of the commands that run many simulations (sweep, calibrate)
Workers = Annotated[int | None, typer.Option(
    "--workers", min=1, max=4096, help="Local worker processes (default: one per core).")]
Scheduler = Annotated[str | None, typer.Option(
    "--scheduler", help="Address of a Dask scheduler, e.g. tcp://10.0.0.5:8786: run there "
    "instead of on local processes.")]


def write_png(fig: object, path: Path) -> None:
    """Save a matplotlib figure as PNG at ``path`` (written, then renamed)."""
    from resurgence.viz.plots import figure_bytes

    atomic_write_bytes(path, figure_bytes(fig, dpi=120))  # type: ignore[arg-type]


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Save a table as CSV at ``path`` (written, then renamed)."""
    atomic_write_bytes(path, df.to_csv(index=False).encode())


def frame_table(df: pd.DataFrame, title: str | None = None, limit: int | None = None) -> Table:
    """A Rich table of ``df``, cells formatted by :func:`fmt`, the first ``limit`` rows."""
    table = Table(title=title)
    for col in df.columns:
        table.add_column(str(col), justify="right")
    for row in df.head(limit).itertuples(index=False) if limit else \
            df.itertuples(index=False):
        table.add_row(*(fmt(v) for v in row))
    return table


def sweep_progress() -> Progress:
    """The progress bar of many runs: done of total, failed, retried, elapsed, ETA."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("failed {task.fields[failed]}"),
                    TextColumn("retried {task.fields[retried]}"), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn(), console=console,
                    transient=not console.is_terminal)
