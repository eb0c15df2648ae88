"""Reading an inference's pyabc history (SQLite) back, in a fixed order, and its tolerances.

pyabc stores every finished generation (its particles, weights, distances, tolerance and the
simulations it took) in an SQLite file; nothing of an unfinished generation is stored. Both the
tolerance schedule and the output read the generations from that file, ordered by particle
id, so that an inference resumed from the file computes exactly what an uninterrupted one
does.
"""

from __future__ import annotations

import math
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd

_PARTICLES = """
SELECT pa.id AS particle, pa.w AS weight, s.distance AS distance, pr.name AS name,
       pr.value AS value
FROM populations po JOIN models m ON m.population_id = po.id
JOIN particles pa ON pa.model_id = m.id JOIN samples s ON s.particle_id = pa.id
JOIN parameters pr ON pr.particle_id = pa.id
WHERE po.abc_smc_id = ? AND po.t = ?
"""

_GENERATIONS = """
SELECT po.t AS t, po.epsilon AS epsilon, po.nr_samples AS simulations, count(pa.id) AS accepted
FROM populations po JOIN models m ON m.population_id = po.id
JOIN particles pa ON pa.model_id = m.id
WHERE po.abc_smc_id = ? AND po.t >= 0 GROUP BY po.t, po.epsilon, po.nr_samples ORDER BY po.t
"""


def _connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def particles(db: Path, t: int, keys: list[str], run: int = 1) -> pd.DataFrame:
    """Generation ``t``: one row per particle in id order; the parameters ``keys``, then
    ``weight`` (normalised to sum 1), ``distance`` and ``generation``."""
    with closing(_connect(db)) as con:
        long = pd.read_sql_query(_PARTICLES, con, params=(run, t))
    wide = long.pivot(index="particle", columns="name", values="value").sort_index()
    meta = long.drop_duplicates("particle").set_index("particle").sort_index()
    out = wide[keys].reset_index(drop=True)
    w = meta["weight"].to_numpy(float)
    out["weight"] = w / w.sum()
    out["distance"] = meta["distance"].to_numpy(float)
    out["generation"] = t
    return out


def generations(db: Path, run: int = 1) -> pd.DataFrame:
    """One row per stored generation: t, epsilon, accepted, simulations, ESS (the effective
    sample size of its weights, (sum w)^2 / sum w^2)."""
    with closing(_connect(db)) as con:
        df = pd.read_sql_query(_GENERATIONS, con, params=(run,))
        w = pd.read_sql_query(
            "SELECT po.t AS t, pa.w AS w FROM populations po JOIN models m ON "
            "m.population_id = po.id JOIN particles pa ON pa.model_id = m.id WHERE "
            "po.abc_smc_id = ? AND po.t >= 0 ORDER BY pa.id", con, params=(run,))
    ess = w.groupby("t")["w"].apply(lambda s: float(s.sum() ** 2 / (s ** 2).sum()))
    df["ess"] = df["t"].map(ess)
    return df[["t", "epsilon", "accepted", "simulations", "ess"]]


def stored_runs(db: Path) -> int:
    """How many analyses the file holds (0 if it does not exist yet)."""
    if not db.exists():
        return 0
    with closing(_connect(db)) as con:
        try:
            return int(con.execute("SELECT count(*) FROM abc_smc").fetchone()[0])
        except sqlite3.DatabaseError:
            return 0


def weighted_quantile(distances: np.ndarray, weights: np.ndarray, alpha: float) -> float:
    """The ``alpha`` quantile of weighted distances (pyabc's rule: interpolated at the
    midpoints of the cumulative weights), independent of their order: sorted by distance,
    then weight. An infinite distance stays infinite."""
    order = np.lexsort((weights, distances))
    d, w = distances[order], weights[order] / weights.sum()
    if not np.isfinite(d).all():
        below = np.cumsum(w) - 0.5 * w
        if alpha > below[np.isfinite(d)].max(initial=-1.0):
            return math.inf
        d, w = d[np.isfinite(d)], w[np.isfinite(d)]
    cs = np.cumsum(w)
    return float(np.interp(alpha, cs - 0.5 * w, d))


def distances(db: Path, t: int, run: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The distances and weights of generation ``t``'s particles, in id order."""
    with closing(_connect(db)) as con:
        df = pd.read_sql_query(
            "SELECT s.distance AS d, pa.w AS w FROM populations po JOIN models m ON "
            "m.population_id = po.id JOIN particles pa ON pa.model_id = m.id JOIN samples s ON "
            "s.particle_id = pa.id WHERE po.abc_smc_id = ? AND po.t = ? ORDER BY pa.id", con,
            params=(run, t))
    return df["d"].to_numpy(float), df["w"].to_numpy(float)
