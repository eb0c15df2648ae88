"""The tolerance schedule of the inference, read from the stored generations."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

from resurgence.inference.history import distances, weighted_quantile


def HistoryQuantile(db: Path, alpha: float = 0.5, run: int = 1) -> Any:  # noqa: N802
    """The tolerance of the class below, a pyabc ``Epsilon``: pyabc is imported when one is
    made, not with this module (pyabc imports matplotlib's pyplot)."""
    return _epsilon_class()(db, alpha, run)


@functools.cache
def _epsilon_class() -> type:
    from pyabc.epsilon import Epsilon

    class HistoryQuantile(Epsilon):
        """Generation 0 accepts every simulation (it samples the prior); generation ``t`` > 0
        accepts up to the weighted ``alpha`` quantile (the median by default) of the distances of
        generation ``t - 1`` as stored in the history file ``db``. pyabc's own quantile epsilon
        reads them from memory in a run and from the file in a resumed one, whose particle order
        differs; reading them from the file both times gives the same tolerance to the bit."""

        def __init__(self, db: Path, alpha: float = 0.5, run: int = 1):
            super().__init__()
            self.db, self.alpha, self.run = str(db), alpha, run
            self.values: dict[int, float] = {}

        def initialize(self, t: int, *args: Any, **kwargs: Any) -> None:
            self._set(t)

        def update(self, t: int, *args: Any, **kwargs: Any) -> None:
            self._set(t)

        def _set(self, t: int) -> None:
            if t == 0:
                self.values[0] = math.inf
                return
            d, w = distances(Path(self.db), t - 1, self.run)
            self.values[t] = weighted_quantile(d, w, self.alpha)

        def __call__(self, t: int) -> float:
            return self.values[t]

        def get_config(self) -> dict[str, Any]:
            return {"name": "HistoryQuantile", "alpha": self.alpha}

    return HistoryQuantile
