"""The scenarios shipped with the package, found by name (``epstein-run-2``) or by path."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from resurgence.errors import Problem, ScenarioError
from resurgence.scenario.model import Scenario

DEFAULT = "epstein-run-2"


def bundled() -> dict[str, Path]:
    """Name -> path of every scenario file shipped in the package."""
    root = resources.files("resurgence") / "scenarios"
    return {Path(str(p)).stem: Path(str(p)) for p in root.iterdir() if str(p).endswith(".toml")}


def resolve(name_or_path: str) -> Scenario:
    """Load a scenario from a file path, or from the bundled scenarios by name."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return Scenario.load(path)
    shipped = bundled()
    if name_or_path in shipped:
        return Scenario.load(shipped[name_or_path])
    allowed = "a .toml file, or one of: " + ", ".join(sorted(shipped))
    raise ScenarioError(name_or_path, [Problem("scenario", name_or_path, allowed)])
