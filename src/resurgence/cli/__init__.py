"""The ``resurgence`` command: one module per command group, all registered on the Typer app
of :mod:`resurgence.cli.app`. They are imported here in the order ``resurgence --help`` lists
them."""

from __future__ import annotations

# isort: off
# each module registers its commands; this is the order of --help
from resurgence.cli import question  # noqa: F401
from resurgence.cli import run  # noqa: F401
from resurgence.cli import compare  # noqa: F401
from resurgence.cli import scenarios  # noqa: F401
from resurgence.cli import report  # noqa: F401
from resurgence.cli import animate  # noqa: F401
from resurgence.cli import dashboard  # noqa: F401
from resurgence.cli import sweep  # noqa: F401
from resurgence.cli import sensitivity  # noqa: F401
from resurgence.cli import discover  # noqa: F401
from resurgence.cli import robustness  # noqa: F401
from resurgence.cli import calibrate  # noqa: F401
from resurgence.cli import posterior  # noqa: F401

# isort: on
from resurgence.cli.app import app
from resurgence.startup import prepare


def main() -> None:
    """Entry point of the ``resurgence`` command: prepares the process (numba's cache,
    matplotlib off screen; :func:`resurgence.startup.prepare`), then runs the command."""
    prepare()
    app()


__all__ = ["app", "main"]
