"""numba's cache of the kernels follows an edit of a module whose kernel another module inlines
(resurgence.kernel_cache)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from resurgence import kernel_cache

INLINED = """\
from numba import njit


@njit(inline="always")
def value():
    return {}
"""

CACHED = """\
from numba import njit

from {pkg}.inlined import value


@njit(cache=True)
def tick():
    return value()
"""

NOTES = '''\
"""Mentions @njit in a docstring but defines no kernel."""
'''

RUN = """\
import sys

sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "refresh":
    from resurgence.kernel_cache import refresh

    print(",".join(refresh("pkg")), file=sys.stderr)
from pkg.cached import tick

print(tick())
"""


def _package(root: Path, name: str = "pkg") -> Path:
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "inlined.py").write_text(INLINED.format(1))
    (pkg / "cached.py").write_text(CACHED.format(pkg=name))
    (pkg / "notes.py").write_text(NOTES)
    (root / "run.py").write_text(RUN)
    return pkg


def _tick(root: Path, mode: str, cache_dir: Path | None) -> int:
    env = dict(os.environ)
    env.pop("NUMBA_CACHE_DIR", None)  # numba's cache next to the sources, as installed
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    out = subprocess.run([sys.executable, str(root / "run.py"), str(root), mode], env=env,
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.parametrize("own_cache_dir", [False, True])
def test_an_edit_of_an_inlined_kernel_reaches_the_cached_caller(tmp_path, own_cache_dir):
    """The cached ``tick`` inlines ``value`` from another module. After ``value`` changes from
    1 to 2, numba alone still loads the stale ``tick`` (1): its cache checks ``tick``'s own
    module only. With :func:`kernel_cache.refresh` run first, as the entry points do,
    the new one (2), and from then on numba alone too. The same with the cache in
    ``__pycache__`` and in a ``NUMBA_CACHE_DIR``, where the hash is kept then."""
    cache_dir = tmp_path / "numba-cache" if own_cache_dir else None
    pkg = _package(tmp_path)
    assert _tick(tmp_path, "refresh", cache_dir) == 1  # compiles and caches tick, records the hash
    assert _tick(tmp_path, "refresh", cache_dir) == 1
    (pkg / "inlined.py").write_text(INLINED.format(2))
    assert _tick(tmp_path, "plain", cache_dir) == 1  # the contrast: numba's cache alone is stale
    assert _tick(tmp_path, "refresh", cache_dir) == 2
    assert _tick(tmp_path, "plain", cache_dir) == 2  # compiled and cached again
    stamps = {s.name for s in (cache_dir or pkg).rglob("*" + kernel_cache.STAMP_SUFFIX)}
    assert "pkg.cached" + kernel_cache.STAMP_SUFFIX in stamps
    assert "pkg.inlined" + kernel_cache.STAMP_SUFFIX not in stamps  # no cached kernel there


def test_refresh_flushes_once_per_change_and_only_modules_with_cached_kernels(tmp_path,
                                                                              monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    name = "kc_" + tmp_path.name.replace("-", "_")
    pkg = _package(tmp_path, name)
    modules = kernel_cache.kernel_modules(name)
    assert [m.__name__ for m in modules] == [f"{name}.cached", f"{name}.inlined"]  # not notes
    assert kernel_cache.refresh(name) == [f"{name}.cached"]  # inlined has no cache of its own
    assert kernel_cache.refresh(name) == []
    stamp = pkg / "__pycache__" / f"{name}.cached{kernel_cache.STAMP_SUFFIX}"
    assert stamp.read_text() == kernel_cache.sources_digest(modules)
    assert not list((pkg / "__pycache__").glob("*.partial"))
    (pkg / "inlined.py").write_text(INLINED.format(3))
    assert kernel_cache.refresh(name) == [f"{name}.cached"]


def test_the_package_records_its_kernels():
    names = {m.__name__ for m in kernel_cache.kernel_modules("resurgence")}
    assert {"resurgence.engine.kernels", "resurgence.models.epstein_rules",
            "resurgence.models.insurgency_rules"} <= names


def test_kernels_declared_with_the_engines_decorators_count(tmp_path, monkeypatch):
    """A module whose kernels are all ``@inlined`` or ``@outlined`` (the engine's numba
    decorators, LLVM-inlined or kept out of line) is a kernel module: an edit of it must reach
    the cached callers that inline it."""
    monkeypatch.syspath_prepend(str(tmp_path))
    name = "kd_" + tmp_path.name.replace("-", "_")
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for deco in ("inlined", "outlined"):
        (pkg / f"by_{deco}.py").write_text(
            f"from resurgence.engine.kernels import {deco}\n\n\n@{deco}\ndef value():\n"
            "    return 1\n")
    names = [m.__name__ for m in kernel_cache.kernel_modules(name)]
    assert names == [f"{name}.by_inlined", f"{name}.by_outlined"]
