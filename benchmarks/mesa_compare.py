"""resurgence's ``mesa`` variant against Mesa 3.5.1's own example, side by side.

    python benchmarks/mesa_compare.py [--seeds 20] [--ticks 500] [--quick] [--json PATH]

1. Makes sure a Python 3.12 venv with Mesa 3.5.1 exists at ``.bench/mesa-venv``
   (``benchmarks/mesa_env.py``), and runs Mesa there through ``benchmarks/_mesa_side.py``.
2. Statistics: both models on ``scenarios/mesa-example.toml`` (Mesa's ``EpsteinScenario``
   defaults: 40x40 von Neumann torus, densities 0.7 / 0.074, vision 7, L 0.8, Jmax 1000),
   ``--seeds`` runs each of ``--ticks`` ticks (Mesa seeds 1..N; resurgence seeds 1..N through
   ``resurgence.simulate``; the two RNGs differ, so these are independent samples). Fractions
   of citizens active and jailed per tick; ticks before ``--burn-in`` are discarded. Per run:
   the time-averaged active and jailed fractions and the peak active fraction. The per-run
   values of the two models are compared with Welch's t-test and the two-sample
   Kolmogorov-Smirnov test; the verdict is PASS if no test rejects at a family-wise
   alpha = 0.05 (Bonferroni: each p >= 0.05 / number of tests). Pooled per-tick distributions
   and the ensemble mean trajectory are printed beside them (informative: pooled ticks are
   autocorrelated, so no p-value is given for them).
3. Speed: agent-steps per second of both on the same configuration at 40x40, 100x100 and
   200x200 (Mesa's runs are kept short on the larger grids), sequentially, one process each
   (``NUMBA_NUM_THREADS=1`` unless set), after the same untimed warm-up ticks for both;
   resurgence's numba compilation is done before (warm-up call). Mesa: wall time of its
   ``model.step()`` loop (which includes its own state counting). resurgence: what
   ``resurgence.simulate`` runs, ``EpsteinRun.advance`` (one ``epstein_rules.turns`` call for
   up to ``epstein.CHUNK_AGENT_STEPS`` agent-steps: every timed tick here, each with its census
   and record), minus building the DataFrame; median of ``REPS`` repetitions (a timed
   window of a tenth of a second is easily disturbed by a job on the other core). Mesa's rate
   is the median of ``MESA_REPS`` runs, each in a fresh process (one run's rate varied by
   about 7% from run to run on the development host). The
   ratio resurgence / Mesa is the figure of the design target (DESIGN.md section 5: >= 300x,
   aim 1000x).

Agent-steps = agents on the grid (citizens, jailed included, plus cops) x ticks, for both.
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # single-core figures, like Mesa's

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mesa_env import MesaEnvError, ensure_mesa_venv  # noqa: E402
from throughput import (  # noqa: E402
    Stepper,
    command_line,
    machine_info,
    print_machine,
    scenario_dict,
)

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "mesa-example.toml"
MESA_SIDE = Path(__file__).resolve().parent / "_mesa_side.py"
FAMILY_ALPHA = 0.05
TARGET_RATIO = 300.0
AIM_RATIO = 1000.0

#: speed runs per grid size: (Mesa seeds, untimed warm-up ticks, timed ticks)
SPEED = {40: (2, 10, 200), 100: (1, 3, 20), 200: (1, 2, 8)}
SPEED_QUICK = {40: (1, 5, 50), 100: (1, 2, 5), 200: (1, 1, 2)}


# --------------------------------------------------------------------------- statistics
def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (Numerical Recipes, Lentz)."""
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + \
        b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


def welch_numpy(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Welch's two-sided t-test: (t, p)."""
    nx, ny = len(x), len(y)
    vx, vy = x.var(ddof=1) / nx, y.var(ddof=1) / ny
    diff = x.mean() - y.mean()
    if vx + vy == 0.0:
        return (0.0, 1.0) if diff == 0.0 else (math.copysign(math.inf, diff), 0.0)
    t = diff / math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (nx - 1) + vy**2 / (ny - 1))
    return t, betainc(df / 2.0, 0.5, df / (df + t * t))


def ks_numpy(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test: (D, asymptotic p with Stephens' correction)."""
    x, y = np.sort(x), np.sort(y)
    pts = np.concatenate([x, y])
    d = float(np.max(np.abs(np.searchsorted(x, pts, side="right") / len(x)
                            - np.searchsorted(y, pts, side="right") / len(y))))
    en = math.sqrt(len(x) * len(y) / (len(x) + len(y)))
    lam = (en + 0.12 + 0.11 / en) * d
    if lam < 1e-3:
        return d, 1.0
    k = np.arange(1, 101)
    p = float(2.0 * np.sum((-1.0) ** (k - 1) * np.exp(-2.0 * k**2 * lam**2)))
    return d, min(1.0, max(0.0, p))


try:  # scipy's exact small-sample KS and Welch test when available
    from scipy import stats as _scipy_stats

    def welch(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        r = _scipy_stats.ttest_ind(x, y, equal_var=False)
        return float(r.statistic), float(r.pvalue)

    def ks(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        r = _scipy_stats.ks_2samp(x, y)
        return float(r.statistic), float(r.pvalue)

    STATS_IMPL = "scipy.stats (ttest_ind equal_var=False, ks_2samp)"
except ImportError:  # pragma: no cover - depends on the environment
    welch, ks = welch_numpy, ks_numpy
    STATS_IMPL = "numpy only (Welch via incomplete beta; KS asymptotic, Stephens' correction)"


# --------------------------------------------------------------------------- runs
def mesa_args(raw: dict[str, Any], width: int, height: int, ticks: int, seeds: list[int],
              warmup: int = 0, counts: bool = True) -> dict[str, Any]:
    """The scenario dict's parameters in ``_mesa_side.py``'s terms."""
    e = raw["epstein"]
    if e.get("citizen_vision", e["cop_vision"]) != e["cop_vision"]:
        print("note: Mesa's example reads cop_vision for citizens too", file=sys.stderr)
    return {
        "width": width,
        "height": height,
        "citizen_density": e["citizen_density"],
        "cop_density": e["cop_density"],
        "vision": int(e["cop_vision"]),
        "legitimacy": e["legitimacy"],
        "max_jail_term": e["max_jail_term"],
        "threshold": e.get("threshold", 0.1),
        "k": e.get("k", 2.3),
        "movement": e.get("movement", True),
        "ticks": ticks,
        "seeds": seeds,
        "warmup": warmup,
        "counts": counts,
    }


def start_mesa(python: Path, args: dict[str, Any]) -> tuple[subprocess.Popen, Any]:
    out = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([str(python), str(MESA_SIDE), json.dumps(args)], stdout=out,
                            stderr=subprocess.PIPE, text=True)
    return proc, out


def finish_mesa(proc: subprocess.Popen, out: Any) -> dict[str, Any]:
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"Mesa run failed (exit {proc.returncode}):\n{err[-3000:]}")
    out.seek(0)
    return json.loads(out.read())


def run_mesa(python: Path, args: dict[str, Any]) -> dict[str, Any]:
    return finish_mesa(*start_mesa(python, args))


def fractions(active: np.ndarray, quiet: np.ndarray, jailed: np.ndarray) -> dict[str, np.ndarray]:
    """(runs, ticks + 1) count arrays -> fractions of citizens."""
    citizens = (active + quiet + jailed).astype(float)
    return {"active": active / citizens, "jailed": jailed / citizens}


def per_run(frac: dict[str, np.ndarray], burn_in: int) -> dict[str, np.ndarray]:
    """Per-run summaries over ticks >= burn_in."""
    a, j = frac["active"][:, burn_in:], frac["jailed"][:, burn_in:]
    return {"mean active": a.mean(axis=1), "mean jailed": j.mean(axis=1),
            "peak active": a.max(axis=1)}


def describe(x: np.ndarray) -> dict[str, float]:
    return {"mean": float(x.mean()), "sd": float(x.std(ddof=1)) if len(x) > 1 else 0.0,
            "p10": float(np.quantile(x, 0.1)), "median": float(np.median(x)),
            "p90": float(np.quantile(x, 0.9)), "max": float(x.max())}


def statistics(args: argparse.Namespace, mesa_python: Path) -> dict[str, Any]:
    from resurgence import Scenario, simulate

    raw = scenario_dict(SCENARIO)
    seeds = list(range(1, args.seeds + 1))
    width, height = raw["grid"]["width"], raw["grid"]["height"]
    print(f"== statistics: {SCENARIO.relative_to(ROOT)} ({width}x{height}, variant "
          f"{raw['epstein']['variant']}), {len(seeds)} seeds x {args.ticks} ticks per model, "
          f"burn-in {args.burn_in} ticks discarded")
    jobs = max(1, min(args.jobs, len(seeds)))
    t0 = time.perf_counter()
    running = [start_mesa(mesa_python, mesa_args(raw, width, height, args.ticks, seeds[i::jobs]))
               for i in range(jobs)]
    scenario = Scenario.from_dict(raw)
    t1 = time.perf_counter()
    frames = [simulate(scenario, seed=s, ticks=args.ticks) for s in seeds]
    res_seconds = time.perf_counter() - t1
    mesa_runs = []
    for proc, out in running:
        mesa_runs += finish_mesa(proc, out)["runs"]
    mesa_seconds = time.perf_counter() - t0
    mesa_runs.sort(key=lambda r: r["seed"])
    print(f"   ran in {mesa_seconds:.0f} s (Mesa, {jobs} processes in parallel); resurgence "
          f"{res_seconds:.1f} s (one process, alongside)")

    m = fractions(*(np.array([r[k] for r in mesa_runs], float)
                    for k in ("active", "quiet", "arrested")))
    r = fractions(*(np.array([f[k].to_numpy() for f in frames], float)
                    for k in ("active", "quiet", "jailed")))
    ms, rs = per_run(m, args.burn_in), per_run(r, args.burn_in)

    n_tests = 2 * len(ms)
    threshold = FAMILY_ALPHA / n_tests
    print(f"   tests: {STATS_IMPL}; PASS if every p >= {FAMILY_ALPHA} / {n_tests} = "
          f"{threshold:.4f} (Bonferroni, family-wise alpha {FAMILY_ALPHA})")
    print()
    hdr = (f"   {'per-run value':14} {'Mesa mean (sd)':>20} {'resurgence mean (sd)':>22} "
           f"{'diff [95% CI] / Mesa mean':>30} {'Welch p':>8} {'KS D':>5} {'KS p':>6}")
    print(hdr)
    print("   " + "-" * (len(hdr) - 3))
    rows, ok = [], True
    for key in ms:
        x, y = ms[key], rs[key]
        t, p_t = welch(y, x)
        d, p_ks = ks(y, x)
        diff = y.mean() - x.mean()
        se = math.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
        rel = diff / x.mean() if x.mean() else float("nan")
        rel_ci = 1.96 * se / x.mean() if x.mean() else float("nan")
        passed = p_t >= threshold and p_ks >= threshold
        ok &= passed
        rows.append({"value": key, "mesa": describe(x), "resurgence": describe(y),
                     "diff": diff, "diff_se": se, "welch_t": t, "welch_p": p_t, "ks_d": d,
                     "ks_p": p_ks, "pass": passed})
        print(f"   {key:14} {x.mean():>9.5f} ({x.std(ddof=1):.5f}) "
              f"{y.mean():>11.5f} ({y.std(ddof=1):.5f})   "
              f"{rel:>+8.1%} [{rel - rel_ci:+.0%}, {rel + rel_ci:+.0%}]      "
              f"{p_t:>8.3f} {d:>5.2f} {p_ks:>6.3f}")

    print()
    print("   pooled per-tick fractions after burn-in (all runs; informative):")
    pooled = {}
    for key in ("active", "jailed"):
        x = m[key][:, args.burn_in:].ravel()
        y = r[key][:, args.burn_in:].ravel()
        d, _ = ks_numpy(x, y)
        pooled[key] = {"mesa": describe(x), "resurgence": describe(y), "ks_d": d}
        qs = (0.5, 0.9, 0.99)
        mq = " ".join(f"{np.quantile(x, q):.4f}" for q in qs)
        rq = " ".join(f"{np.quantile(y, q):.4f}" for q in qs)
        print(f"   {key:7} mean Mesa {x.mean():.5f} resurgence {y.mean():.5f}; p50/p90/p99 Mesa "
              f"{mq} | resurgence {rq}; max {x.max():.4f} | {y.max():.4f}; KS D {d:.3f}")

    print()
    print("   ensemble mean trajectory (mean +- standard error over runs):")
    marks = sorted({1, *np.linspace(0, args.ticks, 6).astype(int)[1:]})
    print(f"   {'tick':>6} {'active Mesa':>18} {'active resurgence':>18} {'jailed Mesa':>18} "
          f"{'jailed resurgence':>18}")
    trajectory = []
    for t in marks:
        cells = []
        row = {"tick": int(t)}
        for key in ("active", "jailed"):
            for name, src in (("mesa", m), ("resurgence", r)):
                v = src[key][:, t]
                se = v.std(ddof=1) / math.sqrt(len(v))
                cells.append(f"{v.mean():.4f} +- {se:.4f}")
                row[f"{key}_{name}"] = [float(v.mean()), float(se)]
        trajectory.append(row)
        print(f"   {t:>6} " + " ".join(f"{c:>18}" for c in cells))
    print()
    print(f"   STATISTICS: {'PASS' if ok else 'FAIL'} (no per-run value differs at family-wise "
          f"alpha {FAMILY_ALPHA})" if ok else
          f"   STATISTICS: FAIL (some p < {threshold:.4f}; see the table)")
    return {
        "scenario": str(SCENARIO.relative_to(ROOT)),
        "seeds": seeds,
        "ticks": args.ticks,
        "burn_in": args.burn_in,
        "tests": STATS_IMPL,
        "family_alpha": FAMILY_ALPHA,
        "per_test_threshold": threshold,
        "per_run": rows,
        "pooled": pooled,
        "trajectory": trajectory,
        "pass": bool(ok),
        "mesa_seconds": mesa_seconds,
        "mesa_processes": jobs,
        "resurgence_seconds": res_seconds,
        "series": {
            "mesa": {k: m[k].round(6).tolist() for k in m},
            "resurgence": {k: r[k].round(6).tolist() for k in r},
        },
    }


REPS = 9  # resurgence's timed repetitions per grid (the median is kept)
MESA_REPS = 3  # Mesa's, each a fresh process (the median rate is kept)


def speed(args: argparse.Namespace, mesa_python: Path) -> dict[str, Any]:
    from resurgence import Scenario

    plan = SPEED_QUICK if args.quick else SPEED
    sizes = [int(s) for s in args.speed_sizes.split(",") if s]
    print(f"== speed: {SCENARIO.relative_to(ROOT)} parameters on square grids, one process "
          f"each, sequential")
    hdr = (f"   {'grid':>9} {'agents':>7} {'warm-up+ticks':>13} {'Mesa steps/s':>13} "
           f"{'resurgence steps/s':>19} {'ratio':>8}")
    print(hdr)
    print("   " + "-" * (len(hdr) - 3))
    out = []
    for size in sizes:
        n_seeds, warm, ticks = plan.get(size, (1, 1, 3))
        seeds = list(range(1, n_seeds + 1))
        raw = scenario_dict(SCENARIO, width=size, height=size)
        mesa_reps = []
        for _ in range(MESA_REPS):
            mesa = run_mesa(mesa_python, mesa_args(raw, size, size, ticks, seeds, warmup=warm))
            mesa_reps.append((sum(r["step_seconds"] for r in mesa["runs"]),
                              sum(r["agent_steps"] for r in mesa["runs"])))
        m_secs, m_steps = sorted(mesa_reps, key=lambda x: x[1] / x[0])[MESA_REPS // 2]
        scenario = Scenario.from_dict(raw)
        reps = []
        agents = 0
        for _ in range(REPS):
            steps = secs = 0.0
            for s in seeds:
                st = Stepper(scenario, s)
                st.run(warm)
                secs += st.run(ticks)
                steps += st.agents * ticks
                agents = st.agents
            reps.append((secs, steps))
        r_secs, r_steps = sorted(reps)[REPS // 2]
        m_rate, r_rate = m_steps / m_secs, r_steps / r_secs
        ratio = r_rate / m_rate
        out.append({"width": size, "height": size, "seeds": seeds, "warmup_ticks": warm,
                    "ticks": ticks, "mesa_agents": [r["agents"] for r in mesa["runs"]],
                    "resurgence_agents_last": agents,
                    "mesa_setup_seconds": [r["setup_seconds"] for r in mesa["runs"]],
                    "mesa_agent_steps": m_steps, "mesa_seconds": m_secs,
                    "mesa_repetitions": [secs for secs, _ in mesa_reps],
                    "mesa_rate": m_rate, "resurgence_agent_steps": r_steps,
                    "resurgence_seconds": r_secs, "resurgence_rate": r_rate,
                    "resurgence_repetitions": [s for s, _ in reps], "ratio": ratio})
        print(f"   {f'{size}x{size}':>9} {mesa['runs'][0]['agents']:>7,} "
              f"{f'{warm}+{ticks}':>13} {m_rate:>13,.0f} {r_rate:>19,.0f} {ratio:>7.0f}x",
              flush=True)
    print()
    for row in out:
        ok = row["ratio"] >= TARGET_RATIO
        row["pass"] = bool(ok)
        print(f"   SPEED {row['width']}x{row['height']}: {'PASS' if ok else 'FAIL'} "
              f"(ratio {row['ratio']:.0f}x; target >= {TARGET_RATIO:.0f}x, aim "
              f"{AIM_RATIO:.0f}x: {row['ratio'] / TARGET_RATIO:.2f} of the target)")
    return {"mesa_version": mesa["mesa_version"], "mesa_python": mesa["python"],
            "mesa_numpy": mesa["numpy"], "sizes": out}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=None, help="runs per model (default 20)")
    ap.add_argument("--ticks", type=int, default=None, help="ticks per run (default 500)")
    ap.add_argument("--burn-in", type=int, default=None,
                    help="ticks discarded at the start (default ticks // 10)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="Mesa processes in parallel for the statistics (default: 2)")
    ap.add_argument("--speed-sizes", default="40,100,200",
                    help="grid sizes for the speed comparison (default 40,100,200)")
    ap.add_argument("--skip-stats", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--quick", action="store_true", help="6 seeds x 100 ticks, short speed runs")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = ap.parse_args(argv)
    args.seeds = args.seeds or (6 if args.quick else 20)
    args.ticks = args.ticks or (100 if args.quick else 500)
    args.burn_in = args.ticks // 10 if args.burn_in is None else args.burn_in
    if not 0 <= args.burn_in < args.ticks:
        ap.error("--burn-in must be in [0, ticks)")
    if args.seeds < 2:
        ap.error("--seeds must be at least 2")

    t_start = time.perf_counter()
    print(f"command : {command_line()}")
    info = machine_info()
    print_machine(info)
    try:
        mesa_python = ensure_mesa_venv()
    except MesaEnvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    probe = run_mesa(mesa_python, mesa_args(scenario_dict(SCENARIO), 10, 10, 1, [1]))
    print(f"mesa    : Mesa {probe['mesa_version']} on Python {probe['python']}, numpy "
          f"{probe['numpy']} ({mesa_python})")
    t0 = time.perf_counter()
    from resurgence import Scenario, simulate

    simulate(Scenario.from_dict(scenario_dict(SCENARIO, width=20, height=20)), seed=0, ticks=3)
    Stepper(Scenario.from_dict(scenario_dict(SCENARIO, width=20, height=20)), 0).run(3)
    print(f"warm-up : resurgence compiled / loaded its kernels in {time.perf_counter() - t0:.1f} s"
          " (not timed below)")
    print()

    result: dict[str, Any] = {"command": command_line(), "machine": info,
                              "mesa": {"version": probe["mesa_version"],
                                       "python": probe["python"], "numpy": probe["numpy"]}}
    if not args.skip_stats:
        result["statistics"] = statistics(args, mesa_python)
        print()
    if not args.skip_speed:
        result["speed"] = speed(args, mesa_python)
    total = time.perf_counter() - t_start
    result["total_seconds"] = total
    print(f"\ntotal time: {total:.0f} s")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    from resurgence.startup import prepare

    prepare()  # numba's cache in step with the kernels' sources, before any kernel runs
    sys.exit(main())
