"""resurgence: how an insurgent group survives territorial defeat, as an agent-based model."""

from resurgence.api import simulate, simulate_governorates
from resurgence.scenario import Scenario

__version__ = "0.1.0"
__all__ = ["Scenario", "__version__", "simulate", "simulate_governorates"]
