"""Compare result folders written by ``resurgence run``: outcomes per seed, summarised with
confidence intervals over seeds."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from resurgence.analysis import summarise
from resurgence.errors import Problem, UserInputError
from resurgence.scenario import Scenario


@dataclass
class ResultFolder:
    """One folder: its scenario (from run.json) and one frame per seed."""

    name: str
    scenario: Scenario
    runs: list[pd.DataFrame]


def load_folder(path: Path) -> ResultFolder:
    """Read ``run.json`` and every ``seed-*.parquet`` of a folder written by ``resurgence run``;
    a folder that is not one, or a broken file in it, raises :class:`UserInputError`."""
    from resurgence.store.run_folder import MANIFEST, done_seeds, read_frame, read_manifest

    if not path.is_dir():
        raise UserInputError(path, [Problem("folder", str(path), "no such folder")])
    manifest = read_manifest(path)
    if manifest is None:
        raise UserInputError(path, [Problem(MANIFEST, str(path / MANIFEST), "missing: not a "
                                            "folder written by `resurgence run`")])
    scenario = Scenario.from_dict(manifest["scenario"]["content"], source=str(path / MANIFEST))
    seeds = done_seeds(path)
    if not seeds:
        raise UserInputError(path, [Problem("seed-*.parquet", str(path), "no result files")])
    return ResultFolder(path.name, scenario,
                        [read_frame(path / f"seed-{s}.parquet") for s in seeds])


def mean_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and its ``level`` confidence interval (Student t; exact for one value: no width)."""
    from scipy import stats

    xs = np.asarray(values, dtype=float)
    mean = float(xs.mean())
    if len(xs) < 2:
        return mean, mean, mean
    half = stats.t.ppf(0.5 + level / 2, len(xs) - 1) * xs.std(ddof=1) / math.sqrt(len(xs))
    return mean, mean - half, mean + half


def proportion_interval(hits: int, n: int, level: float = 0.95) -> tuple[float, float, float]:
    """Share and its Wilson score interval."""
    from scipy import stats

    z = stats.norm.ppf(0.5 + level / 2)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return p, max(0.0, centre - half), min(1.0, centre + half)


def outcome_intervals(name: str, per_seed: list[dict]) -> list[dict]:
    """One row per numeric outcome of the per-seed rows of ``name``: the share (Wilson) or
    mean (Student t) over seeds with its 95% interval; seeds and text outcomes are skipped,
    missing values (None, NaN) left out."""
    rows = []
    for key in per_seed[0]:
        values = [row[key] for row in per_seed]
        present = [v for v in values if v is not None and not (isinstance(v, float)
                                                               and math.isnan(v))]
        if key == "seed" or not present or isinstance(present[0], str):
            continue
        if isinstance(present[0], bool | np.bool_):
            est, lo, hi = proportion_interval(int(sum(present)), len(present))
        else:
            est, lo, hi = mean_interval([float(v) for v in present])
        rows.append({"scenario": name, "outcome": key, "estimate": est, "low": lo,
                     "high": hi, "seeds": len(present)})
    return rows


def compare(folders: list[ResultFolder], after: str | None = None) -> pd.DataFrame:
    """One row per folder and outcome: mean (or share) over seeds with a 95% interval.
    Folders of different models have different outcomes: comparing them raises
    :class:`UserInputError`."""
    models = {f.scenario.model for f in folders}
    if len(models) > 1:
        found = ", ".join(f"{f.name} ({f.scenario.model})" for f in folders)
        raise UserInputError("RESULTS", [Problem(
            "RESULTS", found, "folders of one model only: their outcomes differ")])
    rows = []
    for folder in folders:
        per_seed = [summarise(folder.scenario, df, after=after) for df in folder.runs]
        rows += outcome_intervals(folder.name, per_seed)
    return pd.DataFrame(rows)
