"""How long a fresh machine waits for numba to compile the Epstein kernels.

    python benchmarks/compile_time.py [--scenario epstein-run-2] [--ticks 2] [--repeat 1]
                                      [--src DIR] [--json PATH]

Each repetition starts a child process with ``NUMBA_CACHE_DIR`` set to a new temporary
directory, so numba's on-disk cache is empty there (the shared cache is neither read nor
changed). The child imports ``resurgence`` and runs ``simulate`` on the scenario for
``--ticks`` ticks, which compiles every kernel the run uses (what a new user's first
``make run`` waits for, per scenario). A second child then runs the same with the cache the
first one filled: the load time of every later run.

Printed: the command, the machine (CPU, cores, load average before and after), numba's
version, and per child the wall time and the CPU time (user + system) of the whole process,
numba's compile time per function (the ``numba:compile`` events; a function compiled inside
another's compilation counts in both, the exclusive figure subtracts the nested ones), and the
slowest compiler passes of the tick kernels. CPU time
is the steadier figure on a loaded machine. ``--src`` runs another checkout's ``src`` (e.g. a
``git archive`` of an earlier commit) for a side by side comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import cpu_model

ROOT = Path(__file__).resolve().parent.parent
#: the tick kernels of ``epstein_rules`` whose compiler passes are printed (those that exist)
KERNELS = ("turns", "_tick")


def child(scenario: str, ticks: int) -> dict:
    """Runs in the child: import, then one short run; the compile events per function."""
    t0, c0 = time.perf_counter(), time.process_time()
    import numba
    from numba.core import event

    from resurgence import Scenario, simulate
    from resurgence.scenario.catalog import bundled

    import_s = time.perf_counter() - t0
    path = bundled()[scenario] if scenario in bundled() else Path(scenario)
    sc = Scenario.load(path)
    rec = event.RecordingListener()
    t1, c1 = time.perf_counter(), time.process_time()
    with event.install_listener("numba:compile", rec):
        simulate(sc, seed=1, ticks=ticks)
    run_s, run_cpu = time.perf_counter() - t1, time.process_time() - c1
    # pair start and end events (they nest: a callee compiles inside its caller's compile)
    stack, funcs = [], []
    for ts, ev in rec.buffer:
        if ev.is_start:
            stack.append((ts, ev.data["dispatcher"].py_func.__qualname__, []))
        else:
            start, name, inner = stack.pop()
            total = ts - start
            if stack:
                stack[-1][2].append(total)
            funcs.append({"function": name, "seconds": total,
                          "exclusive": total - sum(inner)})
    funcs.sort(key=lambda f: -f["exclusive"])
    from resurgence.models import epstein_rules
    passes: dict[str, dict[str, float]] = {}
    for name in KERNELS:  # where the tick kernels' own time went, per compiler pass
        kernel = getattr(epstein_rules, name, None)
        for cres in getattr(kernel, "overloads", {}).values():
            times = (cres.metadata or {}).get("pipeline_times", {}).get("nopython", {})
            for step, t in times.items():  # none when loaded from the cache
                key = step.split("_", 1)[1]
                mine = passes.setdefault(f"{name} ({len(kernel.overloads)} signature(s))", {})
                mine[key] = mine.get(key, 0.0) + t.init + t.run + t.finalize
    return {"passes": {k: dict(sorted(v.items(), key=lambda kv: -kv[1])[:5])
                       for k, v in passes.items()},
            "numba": numba.__version__, "import_s": import_s, "run_s": run_s,
            "run_cpu_s": run_cpu, "process_cpu_s": time.process_time() - c0,
            "functions": funcs}


def measure(args: argparse.Namespace, cache: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    if args.src:
        env["PYTHONPATH"] = str(Path(args.src).resolve())
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", "--scenario", args.scenario,
                           "--ticks", str(args.ticks)], env=env, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"the child failed:\n{proc.stderr}")
    out = proc.stdout
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.strip().splitlines()[-1])
    result["wall_s"] = wall
    result["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["maxrss_mb"] = after.ru_maxrss / 1024
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="epstein-run-2")
    ap.add_argument("--ticks", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--src", help="a checkout's src directory to run instead of this one")
    ap.add_argument("--top", type=int, default=8, help="functions to list per fresh compile")
    ap.add_argument("--json")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.scenario, args.ticks)))
        return
    print("command:", shlex.join([Path(sys.executable).name, *sys.argv]))
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {os.getloadavg()}")
    print(f"source: {args.src or ROOT / 'src'}")
    runs = []
    for rep in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
            fresh = measure(args, cache)
            print(f"[{rep + 1}] fresh compile: wall {fresh['wall_s']:.1f} s, CPU "
                  f"{fresh['cpu_s']:.1f} s (peak RSS {fresh['maxrss_mb']:.0f} MB; numba "
                  f"{fresh['numba']}); load average after {os.getloadavg()}", flush=True)
            for name, times in fresh["passes"].items():
                print(f"    {name}, slowest passes: " + ", ".join(
                    f"{k} {v:.1f} s" for k, v in times.items()))
            for f in fresh["functions"][: args.top]:
                print(f"    {f['function']:<28} {f['exclusive']:7.1f} s exclusive"
                      f" ({f['seconds']:.1f} s with nested compiles)")
            cached = measure(args, cache)
        runs.append({"fresh": fresh, "cached": cached, "load": os.getloadavg()})
        print(f"    cached: wall {cached['wall_s']:.1f} s, CPU {cached['cpu_s']:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"command": sys.argv, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
