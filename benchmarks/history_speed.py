"""Benchmark: one 10 km history of ``iraq-2003-2020`` (2003-2020, weekly) on one core, the unit
of work of an inference (issue 25's target: 1 s a history), side by side with another commit.

Each tree runs in its own subprocess with ``NUMBA_NUM_THREADS=1`` (an inference runs one
single-threaded history per worker), warms its kernels on a 5-week run, then times
``--repeats`` rounds of the seeds ``--seeds``, alternating the trees round by round so that
both see the same load. ``--against REF`` checks REF out in a temporary git worktree;
``--scenario`` times another scenario (a bundled name or a file), and ``--against-scenario S``
times this tree on ``S`` side by side instead of another commit (the cost of a mechanism a
scenario switches on). Prints the command, the machine, seconds per history (median of the
rounds) for each side, the ratio, and histories per hour on all of the machine's cores. Run:

    .venv/bin/python benchmarks/history_speed.py [--against HEAD~1 | --against-scenario S]
        [--scenario iraq-2003-2020] [--seeds 1 2] [--repeats 3] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
import resurgence
resurgence.refresh_kernel_cache()
from resurgence import Scenario
from resurgence.models.insurgency import simulate
from resurgence.scenario.catalog import resolve
s = resolve(sys.argv[3])
simulate(s, 1, ticks=5)
seeds = json.loads(sys.argv[1])
if sys.argv[2] == "profile":
    import cProfile, pstats
    cProfile.run("simulate(s, seeds[0])", "/tmp/history.prof")
    pstats.Stats("/tmp/history.prof").sort_stats("tottime").print_stats(20)
    sys.exit(0)
out = []
for seed in seeds:
    t = time.perf_counter()
    simulate(s, seed)
    out.append(time.perf_counter() - t)
print(json.dumps(out))
"""


def time_tree(src: Path, seeds: list[int], mode: str = "time",
              scenario: str = "iraq-2003-2020") -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(src), "NUMBA_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(seeds), mode, scenario],
                          env=env, capture_output=mode == "time", text=True, check=True,
                          cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1]) if mode == "time" else []


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--against", help="a git commit to time side by side (e.g. HEAD~1)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="cProfile one history of this tree")
    ap.add_argument("--scenario", default="iraq-2003-2020", help="bundled name or file")
    ap.add_argument("--against-scenario", help="time this tree on this scenario side by side")
    a = ap.parse_args()
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()}, "
          f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}")
    here = ROOT / "src"
    if a.profile:
        time_tree(here, a.seeds[:1], "profile", a.scenario)
        return
    sides = {"this tree": (here, a.scenario)}
    other = None
    tmp = None
    if a.against:
        tmp = tempfile.mkdtemp(prefix="history-speed-")
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", tmp, a.against],
                       check=True, capture_output=True)
        other = a.against
        sides = {other: (Path(tmp) / "src", a.scenario), **sides}
    elif a.against_scenario:
        other = a.against_scenario
        sides = {other: (here, other), **sides}
    try:
        times: dict[str, list[float]] = {k: [] for k in sides}
        for _ in range(a.repeats):
            for name, (src, scenario) in sides.items():
                times[name] += time_tree(src, a.seeds, scenario=scenario)
    finally:
        if tmp:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", tmp],
                           check=False)
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, v in times.items():
        print(f"{name:>12} ({sides[name][1]}): {med[name]:.2f} s a history (median of {len(v)}; "
              f"{min(v):.2f}-{max(v):.2f}), {3600 * (os.cpu_count() or 1) / med[name]:,.0f} "
              f"histories an hour on {os.cpu_count()} cores")
    if other:
        print(f"this tree on {a.scenario}: {med[other] / med['this tree']:.2f}x faster than "
              f"{other}")


if __name__ == "__main__":
    main()
