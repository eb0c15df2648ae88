"""Hashes of the frames of every bundled scenario: the same runs, bit for bit, after a change.

For each bundled scenario (``resurgence scenarios``) and seed, runs it and prints a SHA-256 of
its frame (:func:`resurgence.api.simulate`; the insurgency's also of its governorate frame).
``--write`` records them in ``benchmarks/frame_hashes.json``; ``--check`` compares them with
that file and exits 1 on any difference (a restructuring that must not change a run keeps it
green). ``tests/test_frame_hashes.py`` checks a short subset with every test run. Run:

    .venv/bin/python benchmarks/frame_hashes.py [--check | --write] [--seeds 1 2]
        [--only NAME ...] [--ticks N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from resurgence import Scenario
from resurgence.api import simulate
from resurgence.models import insurgency
from resurgence.scenario.catalog import bundled

EXPECTED = Path(__file__).with_name("frame_hashes.json")


def frame_hash(df: pd.DataFrame) -> str:
    """SHA-256 of a frame's column names, dtypes and values, column by column (bits, so a
    change in the last place of a float or a NaN's position changes it; text columns, object
    or string dtype, by their text). O(cells of df)."""
    h = hashlib.sha256()
    for name in df.columns:
        col = df[name]
        h.update(f"{name}:{col.dtype}".encode())
        if col.dtype.kind in "biufcmM":
            h.update(np.ascontiguousarray(col.to_numpy()).tobytes())
        else:
            h.update("\x1f".join(map(str, col.tolist())).encode())
    return h.hexdigest()


def hashes(name: str, seed: int, ticks: int | None = None) -> dict[str, str]:
    """The hashes of one run of bundled scenario ``name``: ``frame``, and for an insurgency
    scenario ``governorates`` too (both from the same run)."""
    s = Scenario.load(bundled()[name])
    if s.model == "insurgency":
        run = insurgency.run_once(s, seed, ticks)
        return {"frame": frame_hash(run.frame()),
                "governorates": frame_hash(run.governorate_frame())}
    return {"frame": frame_hash(simulate(s, seed=seed, ticks=ticks))}


def check(recorded: dict[str, str] | None, got: dict[str, str]) -> str:
    """``ok`` if every recorded hash of a run is the one computed (``ok, frame only`` when the
    governorate frame was not recorded), else ``DIFFERS: <parts>`` or ``MISSING``."""
    if recorded is None:
        return "MISSING"
    differ = [part for part, h in recorded.items() if got.get(part) != h]
    if differ:
        return "DIFFERS: " + ", ".join(differ)
    return "ok" if set(got) <= set(recorded) else "ok, " + ", ".join(recorded) + " only"


def key(name: str, seed: int, ticks: int | None) -> str:
    return f"{name}/seed={seed}" + ("" if ticks is None else f"/ticks={ticks}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="compare with frame_hashes.json")
    mode.add_argument("--write", action="store_true", help="record into frame_hashes.json")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--only", nargs="+", help="these bundled scenarios only")
    ap.add_argument("--ticks", type=int, help="shorter runs (recorded under their own key)")
    a = ap.parse_args()
    print("command:", " ".join([os.path.basename(sys.executable), *sys.argv]))
    names = a.only or sorted(bundled())
    expected = json.loads(EXPECTED.read_text()) if EXPECTED.exists() else {}
    got: dict[str, dict[str, str]] = {}
    bad = 0
    for name in names:
        for seed in a.seeds:
            k = key(name, seed, a.ticks)
            t0 = time.perf_counter()
            got[k] = hashes(name, seed, a.ticks)
            status = ""
            if a.check:
                status = check(expected.get(k), got[k])
                bad += not status.startswith("ok")
            print(f"{k:48s} {got[k]['frame'][:16]} {time.perf_counter() - t0:6.1f} s {status}",
                  flush=True)
    if a.write:
        EXPECTED.write_text(json.dumps({**expected, **got}, indent=1, sort_keys=True) + "\n")
        print(f"wrote {len(got)} runs into {EXPECTED}")
    if a.check:
        print(f"{len(got) - bad} of {len(got)} runs the same bit for bit")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
