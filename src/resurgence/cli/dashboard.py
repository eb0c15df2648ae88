"""``resurgence dashboard``: the interactive dashboard on a local port."""

from __future__ import annotations

from typing import Annotated

import typer

from resurgence.cli.app import app, user_errors


@app.command()
@user_errors
def dashboard(
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port on 127.0.0.1.")
                    ] = 8765,
) -> None:
    """Start the interactive dashboard on http://127.0.0.1:PORT (Ctrl-C stops it): pick a
    scenario, move the levers, run, pause, step and reset two runs side by side."""
    from resurgence.app.server import serve

    serve(port)

