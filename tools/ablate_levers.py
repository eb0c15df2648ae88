"""Lever audit: the history's assumed lever values, each ablated on fresh seeds (issue 25).

The 2003-2020 timeline enters history through dated levers; where a size is not cited it is an
assumption, and each assumption is run here with its alternatives, on seeds never used to
calibrate (301 and up; the calibration used 1-4), with the shipped parameters. Outcomes per
run: whether the group takes ground in 2013-14 (10,000 km2 or more in some week: a tenth of the
reported peak), its peak territory and year, members in August 2018, and how many of the 19
patterns of ``resurgence.patterns.IRAQ`` hold; for the post-Mosul variants, resurgence by 2030
(:func:`resurgence.analysis.summarise`). Writes one row per run (``--out``, CSV, written then
renamed) and prints the table by variant. Run:

    .venv/bin/python tools/ablate_levers.py --seeds 8 --workers 2 --out docs/data/lever-audit.csv
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

FIRST_SEED = 301
TAKES_GROUND_KM2 = 10_000.0

PRISON_BREAK = ("2013-07-21", "2013-08-04")  # the shipped entries: detention 0 for two weeks


def _drop(timeline: list[dict], dates: tuple[str, ...]) -> list[dict]:
    return [e for e in timeline if str(e["date"]) not in dates]


def _escapes(n: float):
    def edit(timeline: list[dict]) -> list[dict]:
        return [*_drop(timeline, PRISON_BREAK), {"date": "2013-07-21", "escapes": n},
                {"date": "2013-07-28", "escapes": 0.0}]
    return edit


def _inclusion(level: float):
    def edit(timeline: list[dict]) -> list[dict]:
        return [{**e, "inclusion_sunni_arab": level} if str(e["date"]) == "2017-07-10" else e
                for e in timeline]
    return edit


#: variant -> (scenario, timeline edit, what it tests)
VARIANTS = {
    "shipped": ("iraq-2003-2020", lambda t: t, "as shipped: detention 0 for two weeks frees "
                "every captive and internee"),
    "prison break 500": ("iraq-2003-2020", _escapes(500.0), "the reported size: 'more than "
                         "500' (Reuters, 22 Jul 2013)"),
    "prison break 1000": ("iraq-2003-2020", _escapes(1000.0), "the high reports, about 1,000"),
    "no prison break": ("iraq-2003-2020", lambda t: _drop(t, PRISON_BREAK), "no break"),
    "no mobilisation ramp": ("iraq-2003-2020", lambda t: _drop(t, ("2014-06-13",)),
                             "the assumed 2014-16 ramp of ground forces to 0.6 removed"),
    "no army rebuilding": ("iraq-2003-2020", lambda t: _drop(t, ("2004-01-01",)),
                           "the assumed 2004-08 ramp of ground forces to 0.5 removed (they "
                           "stay at 0.05, the dissolved army's, until 2014)"),
    "no drawdown": ("iraq-2003-2020", lambda t: _drop(t, ("2008-07-01",)),
                    "the assumed 2008-10 drawdown of foreign troops to 0.3 removed (they stay "
                    "at the surge's level until the last troops leave in December 2011)"),
    "inclusion 0.7 (shipped)": ("post-mosul-inclusion", lambda t: t, "post-Mosul inclusion "
                                "of Sunni Arabs 0.7"),
    "inclusion 0.5": ("post-mosul-inclusion", _inclusion(0.5), "0.5: the 2003 level"),
    "inclusion 0.3": ("post-mosul-inclusion", _inclusion(0.3), "0.3: after de-Baathification"),
}


def run_one(variant: str, seed: int) -> dict:
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    import pandas as pd

    from resurgence import patterns
    from resurgence.analysis import summarise
    from resurgence.models.insurgency import simulate
    from resurgence.scenario import Scenario
    from resurgence.scenario.catalog import resolve

    name, edit, _ = VARIANTS[variant]
    data = resolve(name).model_dump(mode="json")
    data["timeline"] = edit(data["timeline"])
    data.pop("extends", None)
    scenario = Scenario.from_dict(data, source=f"ablation {variant}")
    t0 = time.perf_counter()
    df = simulate(scenario, seed=seed)
    d = pd.to_datetime(df["date"])
    row = {"variant": variant, "seed": seed, "seconds": time.perf_counter() - t0}
    ground = df.loc[(d >= "2013-01-01") & (d < "2015-01-01"), "territory_km2"]
    row["takes_ground_2013_14"] = bool(ground.max() >= TAKES_GROUND_KM2)
    row["peak_territory_km2"] = float(df["territory_km2"].max())
    row["peak_year"] = int(d[df["territory_km2"].idxmax()].year)
    row["members_aug_2018"] = float(df.loc[(d >= "2018-07-01") & (d < "2018-09-01"),
                                           "members"].mean())
    row["members_jul_2013_before"] = float(df.loc[(d >= "2013-07-01") & (d < "2013-07-15"),
                                                  "members"].mean())
    row["patterns_held"] = int(sum(p.distance(df) == 0 for p in patterns.IRAQ))
    if name.startswith("post-mosul"):
        row["resurgence_by_2030"] = bool(summarise(scenario, df, after="2017-07-10")[
            "resurgence"])
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", nargs="+", choices=list(VARIANTS))
    ap.add_argument("--out", type=Path, default=Path("docs/data/lever-audit.csv"))
    a = ap.parse_args(argv)
    import pandas as pd

    print("command:", " ".join(["python", *sys.argv]))
    seeds = range(FIRST_SEED, FIRST_SEED + a.seeds)
    jobs = [(v, s) for v in (a.only or VARIANTS) for s in seeds]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(a.workers) as pool:
        rows = list(pool.map(run_one, [v for v, _ in jobs], [s for _, s in jobs]))
    df = pd.DataFrame(rows)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_suffix(".tmp")
    df.to_csv(tmp, index=False)
    tmp.replace(a.out)
    agg = {"takes_ground_2013_14": "sum", "peak_territory_km2": "median",
           "peak_year": "median", "members_aug_2018": "median", "patterns_held": "median",
           "seed": "count"}
    if "resurgence_by_2030" in df:
        agg["resurgence_by_2030"] = "sum"
    table = df.groupby("variant", sort=False).agg(agg).rename(columns={"seed": "runs"})
    print(table.to_string())
    print(f"{len(df)} runs in {time.perf_counter() - t0:.0f} s; rows in {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
