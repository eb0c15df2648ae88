"""Keep numba's on-disk cache of the kernels in step with their sources.

numba checks a cached function against a hash of its own module's source only. The Epstein tick
(``models/epstein_rules.py``) inlines kernels from ``engine/kernels.py``, so after an edit of
``kernels.py`` alone (a ``git pull`` in an editable install, or an upgrade that leaves
``epstein_rules.py`` as it was) the cached tick would still run the old kernels, and a seed
would no longer give the run the code in the tree describes.

:func:`refresh`, called by the entry points before any kernel runs (the ``resurgence`` command,
the workers, the dashboard: :func:`resurgence.startup.prepare`; in a script or Jupyter,
:func:`resurgence.refresh_kernel_cache`), hashes every module of
the package that defines numba kernels, together. Next to each module's numba cache (wherever
numba keeps it: ``__pycache__``, ``NUMBA_CACHE_DIR`` or the user's cache) it keeps that hash;
when it differs, it empties the cache index of every cached kernel of the module
(``FunctionCache.flush``), so that numba compiles them once more, then records the new hash
(written, then renamed). A cache directory it cannot write is left alone, as numba leaves it.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
from pathlib import Path
from types import ModuleType

from numba.core.caching import FunctionCache
from numba.core.dispatcher import Dispatcher

STAMP_SUFFIX = ".sources.sha256"
#: a kernel's decorator: numba's, or the engine's LLVM-inlined and out-of-line variants of it
_KERNEL = re.compile(r"^@(?:njit|inlined|outlined)\b", re.MULTILINE)


def kernel_modules(package: str) -> list[ModuleType]:
    """The modules of the importable ``package`` that define numba kernels (a line starting
    ``@njit``, ``@inlined`` or ``@outlined``), imported, in the order of their paths."""
    root = Path(importlib.import_module(package).__file__).parent
    paths = sorted(p for p in root.rglob("*.py") if _KERNEL.search(p.read_text(encoding="utf-8")))
    names = [".".join((package, *p.relative_to(root).with_suffix("").parts)) for p in paths]
    return [importlib.import_module(n) for n in names]


def sources_digest(modules: list[ModuleType]) -> str:
    """SHA-256 over the modules' names and sources."""
    digest = hashlib.sha256()
    for m in modules:
        digest.update(m.__name__.encode() + b"\0")
        digest.update(Path(m.__file__).read_bytes() + b"\0")
    return digest.hexdigest()


def cached_kernels(module: ModuleType) -> list[Dispatcher]:
    """The kernels defined in ``module`` with an on-disk cache (``cache=True``)."""
    return [f for f in vars(module).values()
            if isinstance(f, Dispatcher) and f.__module__ == module.__name__
            and isinstance(getattr(f, "_cache", None), FunctionCache)]


def refresh(package: str = "resurgence") -> list[str]:
    """Empty the numba cache of every kernel module of ``package`` whose recorded hash of the
    package's kernel sources is not the current one; returns those modules' names."""
    modules = kernel_modules(package)
    digest = sources_digest(modules)
    flushed = []
    for m in modules:
        kernels = cached_kernels(m)
        if not kernels:
            continue
        stamp = Path(kernels[0]._cache.cache_path) / (m.__name__ + STAMP_SUFFIX)
        try:
            if stamp.read_text(encoding="ascii") == digest:
                continue
        except OSError:
            pass  # no stamp yet
        partial = stamp.with_name(f"{stamp.name}.{os.getpid()}.partial")
        try:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(digest, encoding="ascii")
            for f in kernels:
                f._cache.flush()
            os.replace(partial, stamp)
        except OSError:
            partial.unlink(missing_ok=True)
            continue  # numba cannot cache there either
        flushed.append(m.__name__)
    return flushed
