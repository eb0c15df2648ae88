"""resurgence: how an insurgent group survives territorial defeat, as an agent-based model.

Importing the package changes no global state: the ``resurgence`` command, the sweep workers
and the dashboard refresh numba's cache of the kernels and choose matplotlib's backend
themselves (:mod:`resurgence.startup`). After updating the package's code, a script or a
Jupyter session calls :func:`refresh_kernel_cache` once, before running a model.
"""

from resurgence.api import simulate, simulate_governorates
from resurgence.scenario import Scenario

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``resurgence.Ensemble`` (several seeds of a scenario, DESIGN §4), imported when first
    asked for, so that ``import resurgence`` stays light."""
    if name == "Ensemble":
        from resurgence.experiments.ensemble import Ensemble

        return Ensemble
    raise AttributeError(f"module 'resurgence' has no attribute {name!r}")


def refresh_kernel_cache() -> list[str]:
    """Bring numba's on-disk cache of the kernels in step with their sources (numba alone would
    load a cached kernel that inlines an older version of another module's kernel); call it
    after updating the code, before any kernel runs in the process. Returns the modules whose
    cache was emptied (:func:`resurgence.kernel_cache.refresh`)."""
    from resurgence.kernel_cache import refresh

    return refresh()


__all__ = ["Ensemble", "Scenario", "__version__", "refresh_kernel_cache", "simulate",
           "simulate_governorates"]
