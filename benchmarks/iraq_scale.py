"""Benchmark: the Iraq scenario at one million citizens, 20 years of weekly ticks.

Prints the command, the machine and the figures (seconds, agent-steps per second, bytes per
citizen agent) and, with ``--curve``, a scaling curve: citizens vs. seconds for the first
``--curve-ticks`` weeks at five sizes, each the median of ``--repeats`` timings taken after a
warm-up run has compiled every kernel. Run:

    .venv/bin/python benchmarks/iraq_scale.py [--ticks 1040] [--cell-km 5] [--curve]
        [--curve-ticks 260] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numba

from _machine import cpu_model
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
    n = run.world.people.cell.size
    per_agent = sum(column.itemsize for column in run.world.people)
    return n, setup, loop * ticks / max(ticks - 1, 1), per_agent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ticks", type=int, default=1040)
    ap.add_argument("--cell-km", type=float, default=5.0)
    ap.add_argument("--ppa", type=float, default=28.6, help="people per agent (28.6 at the "
                    "2003 population = 0.75 x 38.1 M: about one million citizens)")
    ap.add_argument("--curve", action="store_true", help="also time the first weeks at 5 sizes")
    ap.add_argument("--curve-ticks", type=int, default=260, help="weeks timed per curve point")
    ap.add_argument("--repeats", type=int, default=3, help="timings per curve point (median)")
    a = ap.parse_args()
    print("command:", " ".join([os.path.basename(sys.executable), *sys.argv]))
    print(f"machine: {cpu_model()}, {os.cpu_count()} cpus, numba threads "
          f"{numba.get_num_threads()}, python {platform.python_version()}, numba "
          f"{numba.__version__}, load average {os.getloadavg()[0]:.2f}")
    n, setup, secs, per = timed(a.ppa, a.cell_km, a.ticks)
    print(f"citizens {n:,}; setup {setup:.1f} s; {a.ticks} ticks in {secs:.1f} s "
          f"({n * a.ticks / secs / 1e6:.1f} M citizen-steps/s); {per} bytes per citizen agent")
    if a.curve:
        print(f"scaling curve: {a.curve_ticks} ticks from the start, median of {a.repeats} "
              "(kernels compiled by the run above)")
        print("citizens,seconds,seconds_per_tick,load_average")
        for ppa in (400, 200, 100, 50, 28.6, 14.3):
            times = []
            for _ in range(a.repeats):
                n, _, secs, _ = timed(ppa, a.cell_km, a.curve_ticks)
                times.append(secs)
            med = statistics.median(times)
            print(f"{n},{med:.2f},{med / a.curve_ticks * 1000:.1f} ms,{os.getloadavg()[0]:.2f}",
                  flush=True)


if __name__ == "__main__":
    from resurgence.startup import prepare

    prepare()  # numba's cache in step with the kernels' sources, before any kernel runs
    main()
