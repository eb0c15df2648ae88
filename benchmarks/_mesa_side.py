"""Run Mesa 3.5.1's own Epstein civil violence example; runs INSIDE the Mesa venv.

Imports mesa only (not resurgence). Arguments: one JSON object, as ``argv[1]`` or on stdin::

    {"width": 40, "height": 40, "citizen_density": 0.7, "cop_density": 0.074, "vision": 7,
     "legitimacy": 0.8, "max_jail_term": 1000, "ticks": 300, "seeds": [1, 2, 3],
     "threshold": 0.1, "k": 2.3, "movement": true, "warmup": 0, "counts": true}

For each seed it builds ``EpsteinCivilViolence(width, height, EpsteinScenario(..., rng=seed))``
(Mesa seeds both ``model.random`` and ``model.rng`` from ``scenario.rng``), runs ``warmup``
steps (default 0) untimed and unrecorded, then calls ``model.step()`` ``ticks`` times, reading
the model's ``ACTIVE``, ``QUIET`` and ``ARRESTED`` counts (set by the model's
``_update_counts`` at the end of each step) before the first timed step (tick 0) and after
each. Mesa builds each cell's neighbourhood lazily and caches it, so its first steps are slower
than later ones; the speed comparison gives both models the same warm-up.

Prints one JSON object on stdout: per seed the counts per tick, the number of agents (citizens
+ cops), the wall time of model construction and of the stepping loop alone
(``time.perf_counter``), and agent-steps = agents x ticks.

``model.step()`` includes Mesa's own DataCollector call; it is timed as part of the step, as
it is part of the example's step (resurgence's ``simulate`` likewise counts states each tick).
"""

from __future__ import annotations

import json
import platform
import sys
import time

import mesa
import numpy as np
from mesa.examples.advanced.epstein_civil_violence.model import (
    EpsteinCivilViolence,
    EpsteinScenario,
)


def run_one(args: dict, seed: int) -> dict:
    ticks = int(args["ticks"])
    scenario = EpsteinScenario(
        rng=int(seed),
        citizen_density=float(args["citizen_density"]),
        cop_density=float(args["cop_density"]),
        citizen_vision=int(args["vision"]),
        cop_vision=int(args["vision"]),
        legitimacy=float(args["legitimacy"]),
        max_jail_term=int(args["max_jail_term"]),
        active_threshold=float(args.get("threshold", 0.1)),
        arrest_prob_constant=float(args.get("k", 2.3)),
        movement=bool(args.get("movement", True)),
        max_iters=ticks,
        activation_order="Random",
        grid_type="Von Neumann",
    )
    t0 = time.perf_counter()
    model = EpsteinCivilViolence(width=int(args["width"]), height=int(args["height"]),
                                 scenario=scenario)
    setup = time.perf_counter() - t0
    n_agents = len(model.agents)
    n_cops = sum(1 for a in model.agents if type(a).__name__ == "Cop")
    warmup = int(args.get("warmup", 0))
    for _ in range(warmup):
        model.step()
    keep = bool(args.get("counts", True))
    active, quiet, arrested = [], [], []

    def record() -> None:
        if keep:
            active.append(int(model.ACTIVE))
            quiet.append(int(model.QUIET))
            arrested.append(int(model.ARRESTED))

    record()
    step = model.step
    if keep:
        t0 = time.perf_counter()
        for _ in range(ticks):
            step()
            record()
        elapsed = time.perf_counter() - t0
    else:
        t0 = time.perf_counter()
        for _ in range(ticks):
            step()
        elapsed = time.perf_counter() - t0
    out = {
        "seed": int(seed),
        "agents": n_agents,
        "cops": n_cops,
        "citizens": n_agents - n_cops,
        "warmup": warmup,
        "ticks": ticks,
        "setup_seconds": setup,
        "step_seconds": elapsed,
        "agent_steps": n_agents * ticks,
        "agent_steps_per_second": n_agents * ticks / elapsed if elapsed > 0 else None,
    }
    if keep:
        out.update(active=active, quiet=quiet, arrested=arrested)
    return out


def main() -> None:
    raw = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read()
    args = json.loads(raw)
    runs = [run_one(args, s) for s in args["seeds"]]
    json.dump(
        {
            "mesa_version": mesa.__version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "args": args,
            "runs": runs,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
