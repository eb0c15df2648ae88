"""The results folder of ``resurgence run``: where a run may write, what it already holds, and
reading it back.

Layout::

    run.json                        what produced the folder: scenario (content and digest),
                                    seeds present, package version (written first, then after
                                    every run)
    seed-<N>.parquet                one row per tick of seed N (written last of the seed's
                                    files: a seed is done when it exists)
    governorates-seed-<N>.parquet   insurgency: one row per tick and governorate
    maps-seed-<N>.npz               insurgency: maps at a few dates
    draws.csv                       with ``--posterior``: each draw's seed and parameters
    seed-<N>.csv, ...               with ``--csv``
    plot.png

A folder holds the results of one scenario (with ``--posterior``: of one scenario, posterior
file and first seed, one digest for the three). A run into a folder of the same scenario (same
digest) resumes: it computes only the seeds not yet there. A run into a folder holding another
scenario's results (or seed files without a manifest) is refused unless forced, which deletes
those results first; every other file of the folder is left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from resurgence.errors import Problem, UserInputError
from resurgence.store.files import atomic_write_bytes

MANIFEST = "run.json"
SEED_FILE = re.compile(r"^seed-(\d+)\.parquet$")
#: files a run writes (for one seed: the name with its seed); other files are not ours
_OURS = re.compile(r"^(seed-\d+|governorates-seed-\d+)\.(parquet|csv)$|^maps-seed-\d+\.npz$"
                   r"|^plot\.png$|^run\.json$|^draws\.csv$")
#: temporary files of an interrupted atomic write of one of ours (see store.files)
_OUR_TEMP = re.compile(
    r"^\.(seed-\d+|governorates-seed-\d+|maps-seed-\d+|plot|run|draws)\..*\.tmp$")


def out_folder(out: str | Path | None, default: Path, key: str = "--out",
               create: bool = True) -> Path:
    """The folder a command writes to: ``out`` as given (``default`` if None), checked before
    any work starts and (``create``) made with its missing parents. An empty path, a file in
    the way or a folder that cannot be written raises :class:`UserInputError` naming ``key``."""
    if out is not None and not str(out).strip():
        raise UserInputError(key, [Problem(key, str(out), "an empty path: give a folder")])
    folder = Path(out).expanduser() if out is not None else default
    blocked = _blocked(folder)
    if blocked is None and create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".probe.", suffix=".tmp", dir=folder)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            blocked = f"cannot be written: {exc.strerror or exc}"
    if blocked is not None:
        raise UserInputError(key, [Problem(key, str(folder), blocked)])
    return folder


def out_file(path: Path, key: str = "--out") -> Path:
    """A file a command will write: refused before any work if it is a folder, or if its
    folder cannot be made or written (nothing is created)."""
    blocked = ("must be a file, not a folder" if path.is_dir()
               else _blocked(path.parent, given=False))
    if blocked is not None:
        raise UserInputError(key, [Problem(key, str(path), blocked)])
    return path


def _blocked(folder: Path, given: bool = True) -> str | None:
    """Why ``folder`` cannot be made (with its parents) and written, or None; ``given``: the
    user named this folder (not the folder of a file they named)."""
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                return ("must be a folder, not an existing file" if above == folder and given
                        else f"cannot be made: {above} is a file, not a folder")
            if not os.access(above, os.W_OK | os.X_OK):
                return f"cannot be written: no permission to write in {above}"
            return None
    return None


@contextlib.contextmanager
def folder_lock(folder: Path, busy: str, key: str = "--out",
                remove: bool = False) -> Iterator[None]:
    """Hold ``folder/.lock`` (released by the OS if the process dies); ``busy`` is the message
    when another process holds it. ``remove``: delete the file when done (a process that
    opened it in that instant may then hold a lock of its own: fine for the short work of a
    `resurgence run`, whose folder then keeps no hidden file)."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / ".lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    held = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserInputError(key, [Problem(key, str(folder), busy)]) from None
        held = True
        yield
    finally:
        if held and remove:
            lock.unlink(missing_ok=True)
        os.close(fd)


def done_seeds(folder: Path) -> list[int]:
    """Seeds whose results are in the folder, in order."""
    return sorted(int(m.group(1)) for p in folder.glob("seed-*.parquet")
                  if (m := SEED_FILE.match(p.name)))


def claim(folder: Path, digest: str, name: str, force: bool = False,
          key: str = "--out") -> list[int]:
    """Make ``folder`` ready for runs of the scenario with ``digest``: delete temporary files
    that killed writes left, and return the seeds already done there. A folder holding another
    scenario's results raises :class:`UserInputError` unless ``force``, which deletes them.
    O(files of the folder)."""
    for p in folder.iterdir():
        if _OUR_TEMP.match(p.name):
            p.unlink(missing_ok=True)
    ours = [p for p in folder.iterdir() if _OURS.match(p.name)]
    if not ours:
        return []
    other = _other_scenario(folder, digest)
    if other is None:
        return done_seeds(folder)
    if not force:
        raise UserInputError(key, [Problem(key, str(folder), (
            f"holds the results of {other}, not of this scenario ({name or 'unnamed'}, digest "
            f"{digest}); give another folder, or --force to replace them"))])
    for p in ours:
        p.unlink(missing_ok=True)
    return []


def _other_scenario(folder: Path, digest: str) -> str | None:
    """None if the folder's results are of the scenario ``digest``; else what they are of."""
    try:
        manifest = read_manifest(folder)
    except UserInputError:
        return "an unreadable run.json"
    if manifest is None:
        return "runs without a run.json (of an unknown scenario)"
    scenario = manifest.get("scenario", {})
    if scenario.get("digest") == digest:
        return None
    return (f"another scenario ({scenario.get('name') or 'unnamed'}, model "
            f"{scenario.get('content', {}).get('model', '?')}, digest {scenario.get('digest')})")


def write_manifest(folder: Path, scenario: Any, seeds: list[int], version: str,
                   digest: str | None = None, posterior: dict[str, Any] | None = None) -> None:
    """run.json: what produced the folder (read by `resurgence compare` and `report`).
    ``digest``: what the seeds' results depend on, if more than the scenario (posterior draws:
    see :func:`draws_digest`), ``posterior``: where the draws come from."""
    manifest = {
        "resurgence": version,
        "scenario": {"name": scenario.name, "file": scenario.source,
                     "digest": digest or scenario.digest(),
                     "content": scenario.model_dump(mode="json")},
        "seeds": seeds,
        "ticks": scenario.ticks,
    }
    if posterior is not None:
        manifest["posterior"] = {**posterior, "scenario_digest": scenario.digest()}
    atomic_write_bytes(folder / MANIFEST, json.dumps(manifest, indent=2).encode())


def draws_digest(scenario: Any, posterior: Path, seed: int) -> str:
    """The digest of a run of posterior draws: the scenario's, the posterior file's bytes and
    the first seed (a draw's parameters and seed follow from these)."""
    import hashlib

    blob = scenario.digest().encode() + hashlib.sha256(posterior.read_bytes()).digest() + \
        str(seed).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's run.json (None if absent); an unreadable one raises
    :class:`UserInputError`."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or not isinstance(manifest["scenario"]["content"],
                                                            dict):
            raise TypeError("not a table")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserInputError(path, [Problem("file", MANIFEST, "is not a manifest written by "
                                            f"`resurgence run`: {exc}")]) from None
    return manifest


def read_frame(path: Path) -> pd.DataFrame:
    """A Parquet file of results; a truncated or foreign file raises :class:`UserInputError`."""
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several kinds for a broken file
        raise UserInputError(path, [Problem("file", path.name,
                                            f"cannot be read as Parquet: {exc}")]) from None
