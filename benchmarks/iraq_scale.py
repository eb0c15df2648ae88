"""Benchmark: the Iraq scenario at one million citizens, 20 years of weekly ticks.

Prints the command, the machine and the figures (seconds, agent-steps per second, bytes per
citizen agent) and a scaling curve (agents vs. time for a shorter horizon). Run:

    .venv/bin/python benchmarks/iraq_scale.py [--ticks 1040] [--cell-km 5] [--curve]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numba

from resurgence import Scenario
from resurgence.models.insurgency import InsurgencyRun
from resurgence.scenario.catalog import bundled


def timed(ppa: float, cell_km: float, ticks: int, seed: int = 1) -> tuple[int, float, float, int]:
    s = Scenario.load(bundled()["iraq-2003-2020"])
    ins = {**s.insurgency.model_dump(), "people_per_agent": ppa, "cell_km": cell_km}
    s = s.with_overrides(ticks=ticks, insurgency=ins)
    t0 = time.perf_counter()
    run = InsurgencyRun(s, seed)
    setup = time.perf_counter() - t0
    run.step()  # compile / warm caches
    t1 = time.perf_counter()
    for _ in range(ticks - 1):
        run.step()
    loop = time.perf_counter() - t1
    n = run.cell.size
    per_agent = sum(getattr(run, k).itemsize for k in ("cell", "group", "hardship", "risk",
                                                        "state", "jail", "recruits"))
    return n, setup, loop * ticks / max(ticks - 1, 1), per_agent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ticks", type=int, default=1040)
    ap.add_argument("--cell-km", type=float, default=5.0)
    ap.add_argument("--ppa", type=float, default=28.6, help="people per agent (28.6 at the "
                    "2003 population = 0.75 x 38.1 M: about one million citizens)")
    ap.add_argument("--curve", action="store_true", help="also time 52 ticks at 4 sizes")
    a = ap.parse_args()
    print("command:", " ".join([os.path.basename(sys.executable), *sys.argv]))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"numba threads {numba.get_num_threads()}, python {platform.python_version()}")
    n, setup, secs, per = timed(a.ppa, a.cell_km, a.ticks)
    print(f"citizens {n:,}; setup {setup:.1f} s; {a.ticks} ticks in {secs:.1f} s "
          f"({n * a.ticks / secs / 1e6:.1f} M citizen-steps/s); {per} bytes per citizen agent")
    if a.curve:
        print("agents,seconds_per_52_ticks")
        for ppa in (400, 200, 100, 50, 28.6):
            n, _, secs, _ = timed(ppa, a.cell_km, 52)
            print(f"{n},{secs:.2f}")


if __name__ == "__main__":
    main()
