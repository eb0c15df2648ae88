"""An inference's folder: its files, who may write there, and the posterior file.

Layout (``resurgence calibrate --priors``)::

    inference.json      what the folder holds: the priors file (contents and digest), scenario
                        digest, pattern set (written first: a folder of the same digest resumes)
    abc.db              pyabc's history (SQLite): every finished generation
    runs/<id>.parquet   every simulation, written as it ends (store.simulations)
    posterior.parquet   the last generation: one row per particle (parameters, weight, distance,
                        generation), provenance in the file's metadata
    generations.csv     t, epsilon, accepted, simulations, ess
    catalog.duckdb      the results catalog (store.catalog): runs, outcomes; view posterior

A folder holding another inference (another digest), or files of ours without a manifest, is
refused unless forced, which deletes those files first; other files are left alone.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from resurgence.errors import Problem, UserInputError
from resurgence.store.catalog import CATALOG, POSTERIOR, RUNS, remove_partial_files
from resurgence.store.files import atomic_write_bytes

MANIFEST = "inference.json"
HISTORY = "abc.db"
GENERATIONS = "generations.csv"
_META_KEY = b"resurgence.posterior"
#: the files and folders an inference writes
OURS = (MANIFEST, HISTORY, HISTORY + "-journal", RUNS, POSTERIOR, GENERATIONS, CATALOG,
        CATALOG + ".wal")


def claim(folder: Path, digest: str, name: str, force: bool = False,
          key: str = "--out") -> bool:
    """Make ``folder`` ready for the inference with ``digest``; True if it holds that inference
    already (resume), False if it starts afresh. Another inference's files raise
    :class:`UserInputError` unless ``force``, which deletes them."""
    remove_partial_files(folder)
    present = [folder / n for n in OURS if (folder / n).exists()]
    if not present:
        return False
    held = _held(folder)
    if held == digest:
        return True
    if not force:
        what = "files of an inference without its inference.json" if held is None else \
            f"another inference (digest {held})"
        raise UserInputError(key, [Problem(key, str(folder), (
            f"holds {what}, not this one ({name}, digest {digest}); give another folder, or "
            "--force to replace it"))])
    for path in present:
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    return False


def _held(folder: Path) -> str | None:
    try:
        return str(json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["digest"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    atomic_write_bytes(folder / MANIFEST, json.dumps(manifest, indent=1).encode())


def write_posterior(path: Path, particles: pd.DataFrame, provenance: dict[str, Any]) -> None:
    """``posterior.parquet``: the particles, with ``provenance`` (JSON) in the metadata."""
    table = pa.Table.from_pandas(particles, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[_META_KEY] = json.dumps(provenance).encode()
    buf = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(meta), buf)
    atomic_write_bytes(path, buf.getvalue())


def read_posterior(path: Path, key: str = "POSTERIOR") -> tuple[pd.DataFrame, dict[str, Any]]:
    """The particles and provenance of a posterior file; a file that is not one raises
    :class:`UserInputError` naming ``key``."""
    try:
        table = pq.read_table(path)
        provenance = json.loads((table.schema.metadata or {})[_META_KEY])
    except FileNotFoundError:
        raise UserInputError(key, [Problem(key, str(path), "no such file")]) from None
    except (KeyError, ValueError):
        raise UserInputError(key, [Problem(key, str(path), "not a posterior written by "
                                           "`resurgence calibrate --priors` (no provenance)")]
                             ) from None
    except Exception as exc:  # pyarrow raises several kinds for a broken file
        raise UserInputError(key, [Problem(key, str(path),
                                           f"cannot be read as Parquet: {exc}")]) from None
    particles = table.to_pandas()
    keys = provenance.get("parameters", [])
    missing = [c for c in [*keys, "weight"] if c not in particles.columns]
    if missing or not keys:
        raise UserInputError(key, [Problem(key, str(path), "not a posterior: no column "
                                           + ", ".join(missing or ["of parameters"]))])
    return particles, provenance
