"""Statistics of an Epstein run's observables: outbursts, waiting times, group elimination, and
the headline numbers of one run."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Outburst:
    """A spell with more than ``threshold`` actives: ticks ``start`` .. ``end - 1``."""

    start: int
    end: int
    activation: int  # sum of actives over the spell (Epstein's "total activation")


def outbursts(active: np.ndarray, threshold: int = 50) -> list[Outburst]:
    """Spells where ``active > threshold`` (Epstein 2002: an outburst starts when actives
    exceed 50 and ends when they fall back). A spell still running at the end is included."""
    above = np.asarray(active) > threshold
    edges = np.diff(np.concatenate([[0], above.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [Outburst(int(s), int(e), int(np.sum(active[s:e]))) for s, e in zip(starts, ends,
                                                                                  strict=True)]


def waiting_times(spells: list[Outburst]) -> np.ndarray:
    """Ticks of calm between the end of one outburst and the start of the next."""
    return np.array([b.start - a.end for a, b in zip(spells, spells[1:], strict=False)], int)


def elimination_tick(df: pd.DataFrame) -> int | None:
    """Model II: the first tick at which one group has no member left, or None."""
    blue = df.blue_quiet + df.blue_active + df.blue_jailed
    green = df.green_quiet + df.green_active + df.green_jailed
    gone = np.flatnonzero(((blue == 0) | (green == 0)).to_numpy())
    return int(df.tick.iloc[gone[0]]) if len(gone) else None


def summarise(df: pd.DataFrame, burn_in: int = 0) -> dict[str, float | int | None]:
    """Headline numbers of one run (one seed)."""
    body = df[df.tick >= burn_in]
    citizens = (body.quiet + body.active + body.jailed).clip(lower=1)
    spells = outbursts(df.active.to_numpy())
    waits = waiting_times(spells)
    out: dict[str, float | int | None] = {
        "seed": int(df.seed.iloc[0]),
        "ticks": int(df.tick.iloc[-1]),
        "mean_active_share": float((body.active / citizens).mean()),
        "mean_jailed_share": float((body.jailed / citizens).mean()),
        "peak_active": int(df.active.max()),
        "outbursts": len(spells),
        "mean_wait": float(waits.mean()) if len(waits) else None,
    }
    if "blue_quiet" in df:
        out["elimination_tick"] = elimination_tick(df)
        out["killed"] = int(df.killed_blue.sum() + df.killed_green.sum())
    return out
