"""Start the dashboard's web server (Solara on uvicorn) on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import warnings

from resurgence.errors import Problem, UserInputError
from resurgence.startup import prepare

HOST = "127.0.0.1"
APP = "resurgence.app.dashboard"


def port_free(port: int, host: str = HOST) -> bool:
    """True if nothing listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def serve(port: int, host: str = HOST) -> None:
    """Serve the dashboard until interrupted (Ctrl-C).

    Solara runs in production mode, with its version check and telemetry off; its browser
    assets come from the installed ``solara-assets`` package, so the page works offline."""
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    # a page that vanished without closing (sleep, lost network) frees its runs after this
    os.environ.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", "10m")
    try:
        import solara  # noqa: F401
    except ImportError:
        raise UserInputError("dashboard", [Problem(
            "solara", "not installed", "the dashboard needs the dashboard dependencies: "
            "pip install -e '.[dashboard]' (solara, solara-assets)")]) from None
    if not port_free(port, host):
        raise UserInputError("--port", [Problem("--port", port, f"is in use on {host}: "
                                                "choose another")])
    prepare()  # the dashboard's runs are in this process: numba's cache, matplotlib off screen
    from solara.__main__ import cli

    # on plain http on 127.0.0.1 Solara falls back to SameSite=Lax and says so on every page
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")

    print(f"dashboard: http://{host}:{port}  (Ctrl-C stops it)", flush=True)
    cli.main(args=["run", APP, "--host", host, "--port", str(port), "--production",
                   "--no-open", "--no-check-version"], prog_name="resurgence dashboard",
             standalone_mode=False)
