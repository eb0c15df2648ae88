"""resurgence alone: agent-steps per second per core, and bytes per agent.

    python benchmarks/throughput.py [--sizes 40,200,500,1000] [--variants netlogo,mesa]
                                    [--quick] [--json PATH]

Configuration: Epstein (2002) Run 2 (``scenarios/epstein-run-2.toml``: citizen density 0.7, cop
density 0.04, vision 7, legitimacy 0.82, Jmax 30), on square tori of the given sizes, in the
``netlogo`` variant (the file's) and the ``mesa`` variant.

Speed: one process, ``NUMBA_NUM_THREADS=1`` (set before numba is imported, unless ``--threads``
says otherwise; the Epstein kernels are all sequential since 2026-12-07, so it changes
nothing for them). Numba compilation is excluded: every kernel is compiled (or loaded from
numba's cache) by a warm-up run on a small grid first. For each size the world is built,
``--warmup`` ticks run untimed (the opening transient), then ``ticks`` ticks are timed: what
``resurgence.simulate`` runs, ``EpsteinRun.advance`` (one ``epstein_rules.turns`` call for all
the ticks up to ``epstein.CHUNK_AGENT_STEPS`` agent-steps, at least one tick per call; each tick
with its census and record), minus building the DataFrame at the end. agent-steps = agents on
the grid (citizens, jailed included, plus cops) x ticks.
After them, ``STEADY_TICKS`` more ticks are timed once at least ``STEADY_AFTER`` ticks have run
(Run 2's opening outburst is over by then) and printed apart, labelled as informative: the
targets are checked on the ticks above only.

Memory: (1) the bytes of every array of the world (``epstein.build``'s agents and space
NamedTuples, activation order, free-row stack) divided by the agents; (2) in fresh child
processes, after imports and compilation, the peak RSS growth (``VmHWM``, reset through
``/proc/self/clear_refs``, minus ``VmRSS`` before the build) while building the world and
while then running a few ticks, and the ``tracemalloc`` peaks of the same two phases (numpy's
allocations; numba's own temporaries are only in RSS), divided by the agents.

Targets (DESIGN.md section 5): >= 5 million agent-steps/s per core at 1000x1000 (aim 10
million); < 100 bytes per agent. Printed as PASS/FAIL, never asserted.
"""

from __future__ import annotations

import argparse
import os
import sys

if __name__ == "__main__" and "--threads" not in sys.argv:
    os.environ["NUMBA_NUM_THREADS"] = "1"  # before numba is imported

import datetime as _dt
import json
import platform
import shlex
import subprocess
import time
import tomllib
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from _machine import cpu_model

ROOT = Path(__file__).resolve().parent.parent
RUN2 = ROOT / "scenarios" / "epstein-run-2.toml"

TARGET_RATE = 5e6
AIM_RATE = 10e6
TARGET_BYTES = 100.0

#: (untimed warm-up ticks, timed ticks) per grid size; other sizes: scaled to ~2M agent-steps
DEFAULT_TICKS = {40: (20, 1000), 200: (5, 50), 500: (3, 10), 1000: (3, 5)}
QUICK_TICKS = {40: (5, 200), 200: (2, 10), 500: (1, 3), 1000: (1, 2)}
#: informative second figure, printed apart and never compared with the target: STEADY_TICKS
#: ticks timed once at least STEADY_AFTER ticks have run (after Run 2's opening outburst)
STEADY_AFTER, STEADY_TICKS = 12, 8


# --------------------------------------------------------------------------- helpers
def scenario_dict(path: Path = RUN2, width: int | None = None, height: int | None = None,
                  **epstein: Any) -> dict[str, Any]:
    """The scenario file as a dict, with the grid and ``[epstein]`` keys overridden."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    if width is not None:
        raw["grid"] = {"width": width, "height": height or width}
    raw["epstein"] = {**raw.get("epstein", {}), **epstein}
    return raw


def machine_info() -> dict[str, Any]:
    """CPU model, cores, load, Python and library versions."""
    import numba

    cpu = cpu_model()
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average_1_5_15": load,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "numba_num_threads": numba.config.NUMBA_NUM_THREADS,
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


def print_machine(info: dict[str, Any]) -> None:
    load = info.get("load_average_1_5_15")
    load_s = " / ".join(f"{x:.2f}" for x in load) if load else "n/a"
    print(f"machine : {info['cpu']}, {info['cores']} cores, load average {load_s} (1/5/15 min)")
    print(f"software: Python {info['python']}, numpy {info['numpy']}, numba {info['numba']} "
          f"(NUMBA_NUM_THREADS={info['numba_num_threads']}), {info['platform']}")
    print(f"date    : {info['date']}")


def command_line() -> str:
    return shlex.join([Path(sys.executable).name, *sys.argv])


def world_arrays(world: Any) -> list[np.ndarray]:
    """Every numpy array a World holds, each buffer once (field views count as their base)."""
    arrays = [x for x in world.agents if isinstance(x, np.ndarray)]
    arrays += [x for x in world.space if isinstance(x, np.ndarray)]
    arrays += [world.order, world.free_rows, world.n_free, world.prng]
    out: dict[int, np.ndarray] = {}
    for x in arrays:
        while isinstance(x.base, np.ndarray):
            x = x.base
        out[id(x)] = x
    return list(out.values())


class Stepper:
    """A run stepped exactly as ``resurgence.models.epstein.simulate`` steps it: an
    ``EpsteinRun``, advanced by ``EpsteinRun.advance`` (the ticks up to the next timeline change,
    which these scenarios do not have, in one ``epstein_rules.turns`` call per chunk of
    ``epstein.CHUNK_AGENT_STEPS`` agent-steps, each tick with its census and record)."""

    def __init__(self, scenario: Any, seed: int) -> None:
        from resurgence.models import epstein
        from resurgence.models import epstein_rules as rules

        self.rules = rules
        self.sim = epstein.EpsteinRun(scenario, seed)
        self.world = self.sim.world
        self.counts = np.zeros((3, 3), np.int64)
        self.agents = int(np.count_nonzero(self.world.agents.state != rules.GONE))

    def run(self, ticks: int) -> float:
        """Run ``ticks`` ticks; returns the wall time in seconds."""
        advance = self.sim.advance
        t0 = time.perf_counter()
        advance(ticks)  # what resurgence.simulate runs, minus building the DataFrame at the end
        return time.perf_counter() - t0

    def census(self) -> dict[str, int]:
        self.rules.census(self.world.agents.rows, self.counts)
        q, act, j = (int(x) for x in self.counts[0] + self.counts[1])
        return {"quiet": q, "active": act, "jailed": j, "cops": int(self.counts[2, 0])}


def warm_up(variants: list[str]) -> float:
    """Compile (or load from cache) every kernel the timed runs use; returns the seconds."""
    from resurgence import Scenario, simulate

    t0 = time.perf_counter()
    for v in variants:
        sc = Scenario.from_dict(scenario_dict(width=20, height=20, variant=v))
        simulate(sc, seed=0, ticks=3)
        st = Stepper(sc, 0)
        st.run(3)
        # worlds of more than 32,767 agents count windows in int32 (epstein_rules.window_dtype):
        # a second compilation of the tick, done here too
        space = st.world.space
        st.world.space = space._replace(extra=space.extra.astype(np.int32))
        st.sim._args = st.sim._tick_args()
        st.run(3)
    return time.perf_counter() - t0


def measure_speed(variant: str, size: int, warmup: int, ticks: int, seed: int = 1) -> dict:
    from resurgence import Scenario

    sc = Scenario.from_dict(scenario_dict(width=size, height=size, variant=variant))
    t0 = time.perf_counter()
    st = Stepper(sc, seed)
    build_s = time.perf_counter() - t0
    st.run(warmup)
    elapsed = st.run(ticks)
    nbytes = sum(x.nbytes for x in world_arrays(st.world))
    steps = st.agents * ticks
    counts = st.census()
    st.run(max(0, STEADY_AFTER - warmup - ticks))
    steady_s = st.run(STEADY_TICKS)
    steady_steps = st.agents * STEADY_TICKS
    return {
        "variant": variant,
        "width": size,
        "height": size,
        "agents": st.agents,
        "seed": seed,
        "build_seconds": build_s,
        "warmup_ticks": warmup,
        "ticks": ticks,
        "seconds": elapsed,
        "agent_steps": steps,
        "agent_steps_per_second": steps / elapsed,
        "ns_per_agent_step": elapsed / steps * 1e9,
        "world_bytes": nbytes,
        "world_bytes_per_agent": nbytes / st.agents,
        "final_counts": counts,
        "steady_first_tick": max(STEADY_AFTER, warmup + ticks) + 1,
        "steady_ticks": STEADY_TICKS,
        "steady_agent_steps_per_second": steady_steps / steady_s,
        "steady_ns_per_agent_step": steady_s / steady_steps * 1e9,
    }


# --------------------------------------------------------------------------- memory (child)
def _proc_status(key: str) -> int:
    """A ``/proc/self/status`` field in bytes (``VmRSS``, ``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def _reset_hwm() -> bool:
    """Reset ``VmHWM`` (peak RSS) to the current RSS; False if the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def memory_child(variant: str, size: int, ticks: int, mode: str) -> dict:
    """Run in a fresh process (after imports and compilation): memory of building the world,
    then of ``ticks`` ticks. ``mode`` ``rss``: peak RSS growth over the RSS before the build;
    ``tracemalloc``: Python-visible allocation peaks (numpy arrays; not numba's own)."""
    import gc

    from resurgence import Scenario

    warm_up([variant])
    sc = Scenario.from_dict(scenario_dict(width=size, height=size, variant=variant))
    gc.collect()
    out: dict[str, Any] = {"variant": variant, "width": size, "height": size, "ticks": ticks,
                           "mode": mode}
    if mode == "rss":
        base = _proc_status("VmRSS")
        out["hwm_reset"] = _reset_hwm()
        st = Stepper(sc, 1)
        out["build_peak_growth_bytes"] = _proc_status("VmHWM") - base
        out["after_build_growth_bytes"] = _proc_status("VmRSS") - base
        _reset_hwm()
        st.run(ticks)
        out["run_peak_growth_bytes"] = _proc_status("VmHWM") - base
        out["after_run_growth_bytes"] = _proc_status("VmRSS") - base
    else:
        tracemalloc.start()
        st = Stepper(sc, 1)
        out["build_peak_bytes"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        st.run(ticks)
        current, peak = tracemalloc.get_traced_memory()
        out["run_peak_bytes"] = peak
        out["held_bytes"] = current
        tracemalloc.stop()
    n = out["agents"] = st.agents
    for key in [k for k in out if k.endswith("_bytes")]:
        out[key[: -len("_bytes")] + "_per_agent"] = out[key] / n
    return out


def measure_memory(variant: str, size: int, ticks: int) -> dict:
    """Both memory modes, each in its own fresh child process."""
    out: dict[str, Any] = {}
    for mode in ("rss", "tracemalloc"):
        spec = json.dumps({"variant": variant, "size": size, "ticks": ticks, "mode": mode})
        cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-child", spec]
        env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if res.returncode != 0:
            raise RuntimeError(f"memory child failed:\n{res.stderr[-3000:]}")
        out.update(json.loads(res.stdout.strip().splitlines()[-1]))
    out.pop("mode", None)
    return out


# --------------------------------------------------------------------------- main
def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="40,200,500,1000",
                    help="comma-separated square grid sizes (default 40,200,500,1000)")
    ap.add_argument("--variants", default="netlogo,mesa", help="default netlogo,mesa")
    ap.add_argument("--ticks", type=int, default=None,
                    help="timed ticks for every size (default: per size, see DEFAULT_TICKS)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed ticks before timing")
    ap.add_argument("--memory-sizes", default="1000",
                    help="sizes for the child-process RSS/tracemalloc measurement (default 1000;"
                    " empty to skip)")
    ap.add_argument("--quick", action="store_true", help="fewer ticks (smoke test)")
    ap.add_argument("--threads", type=int, default=None,
                    help="NUMBA_NUM_THREADS (default 1: single-core figures)")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    ap.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.memory_child:
        spec = json.loads(args.memory_child)
        res = memory_child(spec["variant"], spec["size"], spec["ticks"], spec["mode"])
        print(json.dumps(res))
        return 0
    if args.threads is not None:
        os.environ["NUMBA_NUM_THREADS"] = str(args.threads)

    sizes = [int(x) for x in args.sizes.split(",") if x]
    variants = [v for v in args.variants.split(",") if v]
    mem_sizes = [int(x) for x in args.memory_sizes.split(",") if x]
    table = QUICK_TICKS if args.quick else DEFAULT_TICKS

    t_start = time.perf_counter()
    print(f"command : {command_line()}")
    info = machine_info()
    print_machine(info)
    print(f"config  : {RUN2.relative_to(ROOT)} (density 0.7 + 0.04 cops, vision 7, L 0.82, "
          f"Jmax 30), variants {', '.join(variants)}")
    compile_s = warm_up(variants)
    print(f"warm-up : {compile_s:.1f} s (numba compilation / cache load, not timed below)")
    print()

    speed = []
    hdr = (f"{'variant':8} {'grid':>10} {'agents':>9} {'ticks':>6} {'seconds':>8} "
           f"{'agent-steps/s':>14} {'ns/step':>8} {'world B/agent':>13}")
    print(hdr)
    print("-" * len(hdr))
    for v in variants:
        for size in sizes:
            warm, ticks = table.get(size, (3, max(2, round(2e6 / (0.74 * size * size)))))
            if args.ticks is not None:
                ticks = args.ticks
            if args.warmup is not None:
                warm = args.warmup
            r = measure_speed(v, size, warm, ticks)
            speed.append(r)
            print(f"{v:8} {f'{size}x{size}':>10} {r['agents']:>9,} {ticks:>6} "
                  f"{r['seconds']:>8.2f} {r['agent_steps_per_second']:>14,.0f} "
                  f"{r['ns_per_agent_step']:>8.0f} {r['world_bytes_per_agent']:>13.1f}",
                  flush=True)
    print()
    print(f"steady state (informative, NOT the target figure): {STEADY_TICKS} more ticks timed "
          f"from tick {STEADY_AFTER + 1} on (or right after the timed ticks), once the opening "
          f"outburst has died down")
    for r in speed:
        grid = f"{r['width']}x{r['height']}"
        print(f"{r['variant']:8} {grid:>10} ticks "
              f"{r['steady_first_tick']}-{r['steady_first_tick'] + STEADY_TICKS - 1}: "
              f"{r['steady_agent_steps_per_second']:>14,.0f} agent-steps/s "
              f"{r['steady_ns_per_agent_step']:>6.0f} ns/step")

    memory = []
    if mem_sizes:
        print()
        print("memory during a run (fresh process; build + ticks):")
        for v in variants:
            for size in mem_sizes:
                m = measure_memory(v, size, 2 if args.quick else 3)
                memory.append(m)
                note = "" if m["hwm_reset"] else " (VmHWM could not be reset: upper bound)"
                print(f"  {v:8} {size}x{size}: {m['agents']:,} agents{note}\n"
                      f"    peak RSS growth: build {m['build_peak_growth_per_agent']:.1f} B/agent, "
                      f"ticks {m['run_peak_growth_per_agent']:.1f} B/agent; held after the run "
                      f"{m['after_run_growth_per_agent']:.1f} B/agent\n"
                      f"    tracemalloc peak: build {m['build_peak_per_agent']:.1f} B/agent, "
                      f"ticks {m['run_peak_per_agent']:.1f} B/agent; held "
                      f"{m['held_per_agent']:.1f} B/agent", flush=True)

    print()
    print(f"targets (DESIGN.md section 5): >= {TARGET_RATE / 1e6:.0f}M agent-steps/s per core at "
          f"1000x1000 (aim {AIM_RATE / 1e6:.0f}M); < {TARGET_BYTES:.0f} bytes/agent")
    verdicts = []
    for r in speed:
        if r["width"] != 1000:
            continue
        rate = r["agent_steps_per_second"]
        ok = rate >= TARGET_RATE
        verdicts.append({"target": f"speed {r['variant']} 1000x1000", "value": rate,
                         "pass": ok})
        print(f"  {verdict(ok)}  speed {r['variant']:8} 1000x1000: {rate / 1e6:.2f}M "
              f"agent-steps/s = {rate / TARGET_RATE:.2f}x the 5M target "
              f"({rate / AIM_RATE:.2f}x the 10M aim)")
    for r in speed:
        ok = r["world_bytes_per_agent"] < TARGET_BYTES
        verdicts.append({"target": f"world bytes/agent {r['variant']} {r['width']}",
                         "value": r["world_bytes_per_agent"], "pass": ok})
        if r["width"] == max(sizes):
            print(f"  {verdict(ok)}  world arrays {r['variant']:8} {r['width']}x{r['width']}: "
                  f"{r['world_bytes_per_agent']:.1f} bytes/agent")
    for m in memory:
        for phase in ("run", "build"):
            value = m[f"{phase}_peak_growth_per_agent"]
            ok = value < TARGET_BYTES
            what = "while stepping" if phase == "run" else "while building"
            verdicts.append({"target": f"peak RSS bytes/agent {what} {m['variant']} "
                             f"{m['width']}", "value": value, "pass": ok})
            print(f"  {verdict(ok)}  peak RSS growth {what} {m['variant']:8} "
                  f"{m['width']}x{m['width']}: {value:.1f} bytes/agent")
    total = time.perf_counter() - t_start
    print(f"\ntotal time: {total:.0f} s")

    if args.json:
        out = {"command": command_line(), "machine": info, "warmup_seconds": compile_s,
               "speed": speed, "memory": memory, "verdicts": verdicts,
               "total_seconds": total}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    from resurgence.startup import prepare

    prepare()  # numba's cache in step with the kernels' sources, before any kernel runs
    sys.exit(main())
