"""Atomic file writes: a reader never sees a half-written result."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename it over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_frame(df: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as Parquet (``.parquet``) or CSV (``.csv``), atomically."""
    buf = io.BytesIO()
    if path.suffix == ".csv":
        df.to_csv(buf, index=False)
    else:
        df.to_parquet(buf, index=False)
    atomic_write_bytes(path, buf.getvalue())


def write_npz(arrays: dict[str, Any], path: Path) -> None:
    """Write NumPy arrays as one compressed ``.npz`` file, atomically."""
    import numpy as np

    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
    atomic_write_bytes(path, buf.getvalue())
