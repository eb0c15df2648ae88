"""Pattern-oriented calibration of the insurgency model on the Iraq 2003-2020 history.

A Latin hypercube (SALib) over a box of mechanism parameters; each point runs
``scenarios/iraq-2003-2020.toml`` with the same seeds (common random numbers) and is scored
by :func:`resurgence.patterns.score` (sum of squared log-distances to the observed ranges of
``resurgence.patterns.IRAQ``). Writes one Parquet row per (point, seed) with the parameters,
every pattern's value and the score, then prints the best points. docs/calibration.md records
a run of it and what was kept.

    .venv/bin/python tools/calibrate_iraq.py --samples 120 --seeds 1 --workers 2 \
        --out .bench/calibration.parquet [--box tools/calibration_box.json] [--cell-km 10 5]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

#: default box: parameter -> (low, high); docs/calibration.md explains each choice
BOX = {
    "legitimacy_base": (0.18, 0.3),
    "legitimacy_inclusion": (0.4, 0.7),
    "recruit_rate": (0.06, 0.12),
    "recruitable": (0.004, 0.012),
    "absorption": (0.012, 0.03),
    "turnover": (0.0, 0.006),
    "fighter_strength": (3.0, 6.0),
    "air_kill": (2.0, 5.0),
    "return_sympathy": (0.1, 0.3),
    "hold_ratio": (1.0, 2.4),
    "threat_weight": (0.4, 0.9),
    "foreign_base": (15.0, 60.0),
    "attack_probability": (0.03, 0.06),
    "tax_rate": (0.15, 0.45),
    "oil_income": (100_000.0, 600_000.0),
    "attrition_security": (0.005, 0.03),
    "attrition_insurgent": (0.2, 0.8),
}


def evaluate(point: dict[str, float], seed: int, base: dict | None,
             cell_km: float | None = None) -> dict[str, float]:
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    from resurgence import patterns
    from resurgence.models import insurgency
    from resurgence.scenario import Scenario
    from resurgence.scenario.catalog import resolve
    from resurgence.scenario.insurgency import INT_KEYS

    d = resolve("iraq-2003-2020").model_dump()
    d["insurgency"].update(base or {})
    d["insurgency"].update({k: round(v) if k in INT_KEYS else v for k, v in point.items()})
    if cell_km is not None:
        d["insurgency"]["cell_km"] = cell_km
    df = insurgency.simulate(Scenario.from_dict(d, source="calibration"), seed=seed)
    row = {**point, "seed": seed, "cell_km": d["insurgency"]["cell_km"],
           "score": patterns.score(df)}
    row.update({p.name: p.value(df) for p in patterns.IRAQ})
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=120)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sample-seed", type=int, default=20261125)
    ap.add_argument("--box", type=Path, help="JSON {parameter: [low, high]} instead of BOX")
    ap.add_argument("--base", type=Path, help="JSON {parameter: value} fixed for every point")
    ap.add_argument("--cell-km", type=float, nargs="+", default=[None], metavar="KM",
                    help="run each point at these cell sizes (default: the scenario's); the "
                    "mean score is over seeds and sizes")
    ap.add_argument("--out", type=Path, default=Path(".bench/calibration.parquet"))
    a = ap.parse_args(argv)
    import numpy as np
    import pandas as pd
    from SALib.sample import latin

    box = {k: tuple(v) for k, v in json.loads(a.box.read_text()).items()} if a.box else BOX
    base = json.loads(a.base.read_text()) if a.base else None
    problem = {"num_vars": len(box), "names": list(box), "bounds": [list(b) for b in box.values()]}
    x = latin.sample(problem, a.samples, seed=a.sample_seed)
    points = [dict(zip(box, map(float, row), strict=True)) for row in x]
    print(f"$ {' '.join([sys.executable, *sys.argv])}")
    print(f"{len(points)} points x {a.seeds} seeds x {len(a.cell_km)} cell sizes on "
          f"{a.workers} workers")
    rows, t0 = [], time.time()
    with ProcessPoolExecutor(a.workers) as pool:
        futs = [pool.submit(evaluate, p, s, base, km) for p in points
                for s in range(1, a.seeds + 1) for km in a.cell_km]
        for k, f in enumerate(as_completed(futs), 1):
            rows.append(f.result())
            if k % 10 == 0:
                best = min(r["score"] for r in rows)
                print(f"{k}/{len(futs)} runs, {time.time() - t0:.0f} s, best score {best:.3f}",
                      flush=True)
    df = pd.DataFrame(rows)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_suffix(".tmp")
    df.to_parquet(tmp)
    tmp.replace(a.out)
    mean = df.groupby(list(box))["score"].mean().sort_values()
    pd.set_option("display.width", 200)
    print(mean.head(10).reset_index().round(3).to_string())
    print(f"wrote {a.out}; {np.isfinite(df['score']).sum()} runs")
    return 0


if __name__ == "__main__":
    from resurgence.startup import prepare

    prepare()  # numba's cache in step with the kernels' sources, before any kernel runs
    sys.exit(main())
