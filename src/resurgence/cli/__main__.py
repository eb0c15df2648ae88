"""``python -m resurgence.cli``: the ``resurgence`` command."""

from resurgence.cli import main

main()
