"""``resurgence scenarios``: the scenarios shipped with the package."""

from __future__ import annotations

from rich.table import Table

from resurgence.cli.app import app, out_console, user_errors
from resurgence.scenario.catalog import bundled, resolve


@app.command()
@user_errors
def scenarios() -> None:
    """List the scenarios shipped with the package (use the name with `resurgence run`)."""
    table = Table(title="bundled scenarios")
    table.add_column("name")
    table.add_column("description")
    for name, path in sorted(bundled().items()):
        table.add_row(name, resolve(str(path)).name)
    out_console.print(table)


