"""Regenerate docs/evidence-iraq.md: the Iraq posteriors, what they identify, and what draws of
the posterior fitted to 2003-2012 foretell of 2013-2020 against the record (issue 25).

For each posterior given (``posteriors/<name>.parquet``, copied from an inference folder by
``--ship``), runs ``resurgence posterior`` (identification table and plots into
``docs/img/evidence/<name>/``) and, for the predictive check, ``resurgence run SCENARIO
--posterior POSTERIOR --draws N`` for the shipped 2003-2020 history and for the history with
the July 2013 prison breaks at their reported size
(``experiments/iraq-2003-2020-reported-prison-break.toml``), two at a time; then
:func:`resurgence.forecast.check` on the draws. Every command is a user's command, so each
step resumes where it stopped; with ``--reuse`` a predictive table already in ``docs/data``
is read back instead of rerun when its record (``forecast-<name>.json``) names the same
posterior file (SHA-256) and number of draws. Writes the page, written then renamed. Run:

    .venv/bin/python tools/evidence_iraq.py --draws 100 [--reuse] \
        [--ship posteriors/runs/iraq-until-2012]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "resurgence"
PAGE = ROOT / "docs" / "evidence-iraq.md"
HISTORIES = {"shipped history": "iraq-2003-2020",
             "prison breaks at their reported size":
                 "experiments/iraq-2003-2020-reported-prison-break.toml"}


def sh(*args: str) -> None:
    print("$", " ".join(args), flush=True)
    subprocess.run(args, check=True, cwd=ROOT, env={**os.environ, "NUMBA_NUM_THREADS": "1"})


def ship(folder: Path) -> Path:
    """Copy an inference folder's posterior and generations table to posteriors/."""
    name = folder.name
    dest = ROOT / "posteriors" / f"{name}.parquet"
    shutil.copyfile(folder / "posterior.parquet", dest)
    shutil.copyfile(folder / "generations.csv", ROOT / "posteriors" / f"{name}.generations.csv")
    return dest


def _record(posterior: Path) -> Path:
    return ROOT / "docs" / "data" / f"forecast-{posterior.stem}.json"


def _made_from(posterior: Path, draws: int) -> dict[str, object]:
    return {"posterior_sha256": hashlib.sha256(posterior.read_bytes()).hexdigest(),
            "draws": draws}


def reused(posterior: Path, draws: int) -> dict[str, pd.DataFrame] | None:
    """The predictive tables of an earlier run of this tool on the same posterior file and
    draws (None if there are none, or they were made from another)."""
    rec = _record(posterior)
    if not rec.exists() or json.loads(rec.read_text()) != _made_from(posterior, draws):
        return None
    return {label: pd.read_csv(ROOT / "docs" / "data" / f"forecast-{posterior.stem}-{i}.csv")
            for i, label in enumerate(HISTORIES)}


def predictive(posterior: Path, draws: int) -> dict[str, pd.DataFrame]:
    from resurgence.forecast import check
    from resurgence.store.run_folder import read_frame

    outs = {label: ROOT / "results" / "evidence" / f"{posterior.stem}-{i}"
            for i, label in enumerate(HISTORIES)}
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda item: sh(str(BIN), "run", HISTORIES[item[0]], "--posterior",
                                      str(posterior), "--draws", str(draws), "--out",
                                      str(item[1])), outs.items()))
    tables = {}
    for label, out in outs.items():
        runs = [read_frame(p) for p in sorted(out.glob("seed-*.parquet"))]
        tables[label] = check(runs)
        tables[label].to_csv(ROOT / "docs" / "data" / f"forecast-{posterior.stem}-"
                             f"{list(HISTORIES).index(label)}.csv", index=False)
    _record(posterior).write_text(json.dumps(_made_from(posterior, draws)) + "\n")
    return tables


def _md(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines)


def _fmt(v: object) -> str:
    if isinstance(v, float):  # a whole number below 10,000 is a year or a count: no comma
        if v.is_integer() and abs(v) < 10_000:
            return f"{v:.0f}"
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def section(posterior: Path, draws: int, reuse: bool = False) -> str:
    from resurgence.store.posterior import read_posterior

    img = ROOT / "docs" / "img" / "evidence" / posterior.stem
    sh(str(BIN), "posterior", str(posterior), "--out", str(img))
    _, prov = read_posterior(posterior)
    gens = pd.read_csv(posterior.with_name(f"{posterior.stem}.generations.csv"))
    ident = (img / "identification.md").read_text()
    rel = img.relative_to(ROOT / "docs")
    parts = [f"## `{posterior.stem}`",
             f"Patterns: `{prov['patterns']['set']}` ({len(prov['patterns']['ranges'])}); "
             f"scenario `{prov['scenario']['name']}`, {prov['scenario']['ticks']} weeks; "
             f"priors `{prov['priors']['file']}`; seed {prov['seed']}, population "
             f"{prov['population']}; {prov['simulations']:,} simulations in "
             f"{prov['generations_run']} generations, stopped by {prov['stopped']}, "
             f"{prov['wall_seconds'] / 3600:.2f} h of wall time on {prov['machine']['cpus']} "
             f"CPUs ({prov['executor']}).", "", "Generations:", "", _md(gens), "",
             "What the patterns identify (`resurgence posterior`):", "", ident, "",
             f"The last generation's effective sample size is {gens['ess'].iloc[-1]:.0f} of "
             f"{prov['population']} particles: a contraction estimated from it has a sampling "
             f"error of about sqrt(2/ESS) = {(2 / gens['ess'].iloc[-1]) ** 0.5:.2f}, so a "
             "parameter whose contraction is not above twice that is not shown to be "
             "identified, whatever its verdict.", "",
             f"![marginals]({rel}/marginals.png)", f"![correlations]({rel}/correlations.png)"]
    if prov["patterns"]["set"] == "iraq-until-2012":
        parts += ["", f"### Out of sample: {draws} draws through 2013-2020", "",
                  "`inside`: the record meets the draws' central 90% interval (for the share "
                  "that takes ground, a 90% Wilson interval); `in_record`: the share of draws "
                  "whose value lies in the record's range. A wide interval can hold the "
                  "record while few draws do.", ""]
        tables = (reuse and reused(posterior, draws)) or predictive(posterior, draws)
        for label, table in tables.items():
            shown = table[["quantity", "low", "high", "median", "q05", "q95", "inside",
                           "in_record"]]
            parts += [f"**{label}** (`{HISTORIES[label]}`): {int(table['inside'].sum())} of "
                      f"{len(table)} observations inside the 90% predictive interval.", "",
                      _md(shown), ""]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--reuse", action="store_true", help="read back the predictive tables "
                    "of the same posterior file and draws instead of running them again")
    ap.add_argument("--ship", type=Path, nargs="*", default=[],
                    help="inference folders whose posterior to copy to posteriors/ first")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    for folder in a.ship:
        ship(folder)
    posteriors = sorted((ROOT / "posteriors").glob("*.parquet"))
    body = [section(p, a.draws, a.reuse) for p in posteriors]
    head = ["# Evidence on Iraq: the posteriors and the out-of-sample test",
            "", "Generated by `.venv/bin/python tools/evidence_iraq.py --draws "
            f"{a.draws}` on {time.strftime('%Y-%m-%d')} ({platform.machine()}, "
            f"{os.cpu_count()} CPUs, {time.perf_counter() - t0:,.0f} s for this page); the "
            "method and how to read it: [evidence.md](evidence.md). Do not edit by hand.", ""]
    tmp = PAGE.with_suffix(".tmp")
    tmp.write_text("\n".join(head + body) + "\n")
    tmp.replace(PAGE)
    print(json.dumps({"page": str(PAGE), "posteriors": [p.name for p in posteriors]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
