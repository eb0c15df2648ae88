"""resurgence: how an insurgent group survives territorial defeat, as an agent-based model."""

from resurgence.kernel_cache import refresh as _refresh_kernel_cache

_refresh_kernel_cache()  # before any kernel runs: numba's cache does not follow inlined kernels

from resurgence.api import simulate, simulate_governorates  # noqa: E402
from resurgence.scenario import Scenario  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Scenario", "__version__", "simulate", "simulate_governorates"]
