"""What a process that runs the kernels does first: the entry points call :func:`prepare`.

Importing :mod:`resurgence` changes no global state. The processes the package starts itself
(the ``resurgence`` command, sweep and ensemble workers, local or on Dask, and the dashboard
server) call :func:`prepare` before any kernel runs:

- numba's on-disk cache is brought in step with the kernels' sources
  (:func:`resurgence.kernel_cache.refresh`: numba alone would load a cached kernel that inlines
  an older version of another module's kernel);
- matplotlib draws off screen (the ``Agg`` backend), so that nothing opens a window on a
  server or a cluster node. The package draws with the object API
  (:func:`resurgence.viz.canvas.new_figure`) and needs no backend; this is for libraries
  that use pyplot (the EMA Workbench, SALib).

A user of the Python API (a script, Jupyter) keeps their own backend; after updating the
package's code they call :func:`resurgence.refresh_kernel_cache` once, before running a model.
"""

from __future__ import annotations

import threading

_prepared = False
_lock = threading.Lock()  # a Dask worker runs tasks in threads


def prepare(backend: str | None = "Agg") -> None:
    """Refresh numba's cache of the kernels and choose matplotlib's ``backend`` (None: leave
    it); once per process, later calls do nothing."""
    global _prepared
    with _lock:
        if _prepared:
            return
        from resurgence.kernel_cache import refresh

        refresh()
        if backend is not None:
            import matplotlib

            matplotlib.use(backend)
        _prepared = True
