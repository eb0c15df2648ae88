"""Every simulation of an inference, kept as it ends: one run file each, in the layout of a
sweep's results (:mod:`resurgence.store.catalog`), so that the same catalog indexes them.

``runs/<model seed, 16 hex digits>.parquet`` holds one row (the parameters, the seed, the
generation and slot, each pattern's value and the distance) and, in its metadata, the run
record: ``params``, ``seed``, ``outcomes`` (pattern values and ``distance``), provenance and
timing. The file is written by the worker that ran the simulation (write, then rename), so a
simulation is kept even if the inference is killed the moment after; asked again for the same
slot with the same parameters, :meth:`SimulationRecords.get` gives back what was kept.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from resurgence.inference.seeds import Slot
from resurgence.store.catalog import read_record, run_path, write_run


def sim_id(s: Slot) -> str:
    """The run id of a slot's simulation: its model seed in hex (unique per slot)."""
    return f"{s.model_seed:016x}"


@dataclass(frozen=True)
class SimulationRecords:
    """The simulations of the inference in ``folder`` (see the module docstring);
    ``provenance`` goes into every record (scenario digest, inference digest, versions)."""

    folder: Path
    provenance: dict[str, Any] = field(default_factory=dict)

    def get(self, s: Slot, params: dict[str, float]) -> dict[str, float] | None:
        """The outcomes kept for slot ``s`` if it ran with these parameters, else None."""
        path = run_path(self.folder, sim_id(s))
        if not path.exists():
            return None
        try:
            record = read_record(path)
        except Exception:  # a file that is not a finished record: run again
            return None
        if record.get("params") != params:
            return None
        return record["outcomes"]

    def put(self, s: Slot, params: dict[str, float], outcomes: dict[str, float],
            seconds: float) -> None:
        rid = sim_id(s)
        path = run_path(self.folder, rid)
        record = {"run_id": rid, "seed": s.model_seed, "params": params,
                  "generation": s.t, "slot": s.index, **self.provenance,
                  "host": socket.gethostname(), "pid": os.getpid(),
                  "started_at": time.time() - seconds, "seconds": seconds,
                  "file": path.name, "outcomes": outcomes}
        row = {"run_id": rid, "seed": s.model_seed, "generation": s.t, "slot": s.index,
               **params, **outcomes}
        write_run(path, pd.DataFrame([row]), record)
