"""Parameter sets drawn from a posterior, to run a scenario under parameter uncertainty
(``resurgence run SCENARIO --posterior POSTERIOR.parquet --draws N``).

Draw ``i`` (0, 1, ...) picks one particle by weighted resampling with its own random number
(numpy's generator seeded with ``[seed, i]``), so the first draws are the same whatever ``N``,
and runs with the model seed ``seed + i``. The default ``seed``, :data:`DRAW_SEED`, keeps
the draws' seeds away from the seeds 1-4 the hand calibration looked at; the inference's own
simulations have seeds of at least 2**62 (:mod:`resurgence.inference.seeds`), so draws with a
seed below :data:`MAX_SEED` never reuse one of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from resurgence.inference.seeds import MODEL_SEED_FLOOR

#: the first seed of posterior draws unless given
DRAW_SEED = 10_000
#: the most draws a run takes
MAX_DRAWS = 100_000
#: seeds of draws stay below the inference's (MODEL_SEED_FLOOR)
MAX_SEED = MODEL_SEED_FLOOR - MAX_DRAWS


def draw(particles: pd.DataFrame, keys: list[str], n: int, seed: int = DRAW_SEED
         ) -> pd.DataFrame:
    """``n`` draws: columns ``draw``, ``seed`` (the run's model seed), ``particle`` (its row
    in the posterior file) and the parameters ``keys``."""
    w = particles["weight"].to_numpy(float)
    cdf = np.cumsum(w / w.sum())
    cdf[-1] = 1.0
    picks = [int(np.searchsorted(cdf, np.random.default_rng([seed, i]).random(), side="right"))
             for i in range(n)]
    out = pd.DataFrame({"draw": np.arange(n), "seed": seed + np.arange(n), "particle": picks})
    for key in keys:
        out[key] = particles[key].to_numpy(float)[picks]
    return out
