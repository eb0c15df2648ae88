"""The package's layering (DESIGN §3): no import cycle among its modules, and importing it
changes no global state (matplotlib's backend, numba's cache)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import resurgence

PACKAGE = Path(resurgence.__file__).parent


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _under_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports.

    What counts as an edge: every ``import`` / ``from ... import`` statement of the module,
    at module level or inside a function or method (a function-level import still ties the two
    modules together: DESIGN §3 asks for no cycles, not for deferred ones); statements under
    ``if TYPE_CHECKING:`` do not count (they never run). ``from a.b import c`` is an edge to
    ``a.b.c`` when that is a module of the package, else to ``a.b``; importing ``a.b`` is not
    counted as an edge to its parent package ``a`` (Python imports the parent first, but the
    parent's own imports are its edges, not the child's)."""
    modules = {module_name(p, package): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or \
                    _under_type_checking(node, parents):
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: from the module's package, up level - 1
                    here = name.split(".") if is_package else name.split(".")[:-1]
                    up = here[:len(here) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules
                           else base for alias in node.names]
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as [a, b, ..., a], or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 50 and graph["resurgence.cli"], "the graph must see the package"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_sees_a_function_level_cycle(tmp_path: Path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import thing\n")
    (pkg / "b.py").write_text("thing = 1\n\ndef late():\n    from pkg import a\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from pkg import a\n")
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.c"] == set()
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.a"]


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, env={**os.environ, **env}, check=False)


IMPORT_ALL = """
import importlib, pkgutil, sys
import matplotlib
matplotlib.use("svg")  # the user's choice, not matplotlib's default
import resurgence
names = [m.name for m in pkgutil.walk_packages(resurgence.__path__, "resurgence.")
         if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
print(len(names), matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
"""


def test_importing_every_module_leaves_the_users_matplotlib_backend_and_pyplot_alone():
    """A Jupyter user sets a backend; importing resurgence and every module of it (viz, cli,
    experiments, app) keeps it, and none of them imports pyplot (the package draws with the
    object API, resurgence.viz.canvas)."""
    done = _python(IMPORT_ALL)
    assert done.returncode == 0, done.stderr
    count, backend, pyplot = done.stdout.split()
    assert int(count) > 50
    assert (backend, pyplot) == ("svg", "False")


def test_figures_draw_and_save_without_pyplot_under_any_backend():
    code = """
import io, sys
import matplotlib
matplotlib.use("svg")
import pandas as pd
from resurgence.viz.plots import figure_bytes, plot_runs
frame = pd.DataFrame({"tick": range(5), "active": [0, 3, 9, 4, 1], "jailed": 0, "quiet": 50})
png = figure_bytes(plot_runs([frame], "t"))
print(png[:4] == b"\\x89PNG", matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
"""
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "svg", "False"]


def _stamps(folder: Path) -> list[str]:
    from resurgence import kernel_cache

    return sorted(p.name for p in folder.rglob("*" + kernel_cache.STAMP_SUFFIX))


def test_importing_the_package_leaves_numbas_cache_alone_and_the_command_refreshes_it(
        tmp_path: Path):
    """With numba's cache in an empty folder: importing resurgence (and its experiments and
    viz) writes no file there (no hash, no kernel); the ``resurgence`` command, before it
    runs anything, records the kernels' hash there (kernel_cache.refresh), as do the workers
    and the dashboard (resurgence.startup.prepare, tests below)."""
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    done = _python("import resurgence, resurgence.experiments, resurgence.viz.report",
                   NUMBA_CACHE_DIR=str(cache))
    assert done.returncode == 0, done.stderr
    # numba makes its cache folders when a cached kernel is defined; nothing is written in them
    assert [p for p in cache.rglob("*") if p.is_file()] == []
    exe = Path(sys.executable).with_name("resurgence")
    done = subprocess.run([str(exe), "scenarios"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NUMBA_CACHE_DIR": str(cache)}, check=False)
    assert done.returncode == 0, done.stderr
    assert "resurgence.engine.kernels.sources.sha256" in _stamps(cache)


def test_workers_and_the_dashboard_prepare_their_process_before_running(monkeypatch, tmp_path):
    from resurgence import startup
    from resurgence.app import server
    from resurgence.experiments import worker

    calls: list[str] = []
    monkeypatch.setattr(startup, "prepare", lambda backend="Agg": calls.append("prepare"))
    worker.prepare_worker()
    assert calls == ["prepare"]

    pytest.importorskip("solara")
    import solara.__main__

    monkeypatch.setattr(server, "prepare", lambda: calls.append("server prepare"))
    monkeypatch.setattr(solara.__main__.cli, "main", lambda **_: calls.append("serve"))
    server.serve(_free_port())
    assert calls[1:] == ["server prepare", "serve"]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_sweep_run_prepares_its_worker_first(monkeypatch, tmp_path):
    """``execute`` (what a local or Dask worker runs) calls prepare_worker before simulating."""
    from resurgence.experiments import worker

    order: list[str] = []
    monkeypatch.setattr(worker, "prepare_worker", lambda: order.append("prepare"))
    import resurgence.api

    def fake(*_a: object, **_k: object) -> None:
        order.append("simulate")
        raise RuntimeError("stop here")

    monkeypatch.setattr(resurgence.api, "simulate", fake)
    task = worker.RunTask(run_id="r", scenario={"epstein": {"cop_density": 0.01}}, seed=1,
                          params={}, outcomes=[], burn_in=0, outburst_threshold=50,
                          series=False, path=str(tmp_path / "r.parquet"))
    with pytest.raises(RuntimeError, match="stop here"):
        worker.execute(task)
    assert order == ["prepare", "simulate"]
