"""A separate Python 3.12 virtual environment with Mesa 3.5.1, for the side-by-side benchmark.

Mesa 3.5.1 needs Python >= 3.12 and resurgence's own venv may be older, so Mesa runs in its own
venv at ``.bench/mesa-venv`` (git-ignored), created on first use. ``python benchmarks/mesa_env.py``
creates it and prints its interpreter's path.

Mesa 3.5.1 imports networkx at ``import mesa`` (``mesa.discrete_space.network``) without
declaring it as a dependency, so networkx is installed beside it.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".bench" / "mesa-venv"
REQUIREMENTS = ("mesa==3.5.1", "networkx==3.7")
PYTHON_VERSION = "3.12"


class MesaEnvError(RuntimeError):
    """The Mesa venv could not be created."""


def find_python312() -> str:
    """Path of a Python 3.12 interpreter: ``python3.12`` on PATH, else pyenv's."""
    candidates = []
    on_path = shutil.which(f"python{PYTHON_VERSION}")
    if on_path:
        candidates.append(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{PYTHON_VERSION}*/bin/python"),
                         reverse=True)
    for exe in candidates:
        try:
            out = subprocess.run([exe, "-c", "import sys, venv; print(sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0 and out.stdout.strip() == "(3, 12)":
            return exe
    raise MesaEnvError(
        f"Mesa 3.5.1 needs Python {PYTHON_VERSION}, and none was found (looked for "
        f"python{PYTHON_VERSION} on PATH and {pyenv_root}/versions/{PYTHON_VERSION}*/bin/python). "
        f"Install Python {PYTHON_VERSION} (e.g. `pyenv install {PYTHON_VERSION}`) and retry."
    )


def venv_python(venv: Path = VENV) -> Path:
    return venv / "bin" / "python"


def _mesa_ok(python: Path) -> bool:
    if not python.exists():
        return False
    probe = "import mesa, sys; sys.exit(0 if mesa.__version__ == '3.5.1' else 1)"
    return subprocess.run([str(python), "-c", probe], capture_output=True).returncode == 0


def ensure_mesa_venv(venv: Path = VENV, quiet: bool = False) -> Path:
    """Create ``venv`` with Mesa 3.5.1 if it is missing or broken; return its python."""
    python = venv_python(venv)
    if _mesa_ok(python):
        return python
    log = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    base = find_python312()
    log(f"[mesa_env] creating {venv} with {base} and installing {' '.join(REQUIREMENTS)}")
    if venv.exists():
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        [base, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         *REQUIREMENTS],
    ]
    for cmd in steps:
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise MesaEnvError(f"`{' '.join(cmd)}` failed (exit {res.returncode}):\n"
                               f"{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    if not _mesa_ok(python):
        raise MesaEnvError(f"{python} was created but cannot `import mesa` 3.5.1")
    return python


if __name__ == "__main__":
    try:
        print(ensure_mesa_venv())
    except MesaEnvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
