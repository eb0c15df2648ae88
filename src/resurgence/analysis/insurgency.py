"""Headline outcomes of one insurgency run, read from its per-week frame
(:meth:`resurgence.models.insurgency.InsurgencyRun.frame`): when the group lost its territory,
whether it came back, casualties and what is left at the end."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def summarise(df: pd.DataFrame, lost: float = 0.6, regain: float = 0.25,
              after: str | None = None) -> dict[str, Any]:
    """Headline outcomes of one run (for ``resurgence run``/``compare``).

    ``lost_60pct_date``: the first week with at most ``1 - lost`` of the peak so far, counting
    only peaks of at least ``1 - lost`` of the run's largest territory (of its largest up to
    ``after``, a date, if given: a policy branch's), so that a few cells held and lost early on
    are no loss; ``resurgence``: territory then regains ``regain`` x that peak, i.e. climbs by
    that much above its lowest level since the loss (or since ``after``, if later): ground held
    at the loss or at ``after`` and only lost afterwards is no return, however much of the peak
    it is; ``years_to_regain`` from the loss (or from ``after``) to that; cumulative civilian
    and security casualties, over the whole run and (``casualties_since``) over the weeks
    dated after ``after`` (those a branch's levers shape; the whole run without it);
    territory, members and sympathisers at the end.
    """
    km2 = df["territory_km2"].to_numpy()
    dates = pd.to_datetime(df["date"]) if "date" in df else None
    i_after = None
    if after is not None and dates is not None:
        i_after = int(np.searchsorted(dates.to_numpy(), np.datetime64(after)))
    upto = len(km2) if i_after is None else min(i_after + 1, len(km2))
    peak = np.maximum.accumulate(km2)
    floor = (1.0 - lost) * (km2[:upto].max() if upto else 0.0)
    lost_at = np.flatnonzero((peak > 0) & (peak >= floor) & (km2 <= (1.0 - lost) * peak))
    i_lost = int(lost_at[0]) if len(lost_at) else None
    start = i_lost
    if i_after is not None:
        start = i_after if i_lost is None else max(i_lost, i_after)
    regained = None
    if start is not None and start < len(km2) and peak[start] > 0:
        seg = km2[start:]
        back = np.flatnonzero(seg - np.minimum.accumulate(seg) >= regain * peak[start])
        regained = start + int(back[0]) if len(back) else None
    weeks = df["tick"].to_numpy()
    out: dict[str, Any] = {"peak_territory_km2": float(km2.max())}
    out["lost_60pct_date"] = (str(dates.iloc[i_lost].date()) if dates is not None
                              and i_lost is not None else None)
    out["resurgence"] = regained is not None
    out["years_to_regain"] = (float((weeks[regained] - weeks[start]) * 7 / 365.25)
                              if regained is not None and start is not None else None)
    casualties = df["casualties_civilian"] + df["casualties_security"]
    out["casualties_cumulative"] = float(casualties.sum())
    out["casualties_since"] = (out["casualties_cumulative"] if after is None or dates is None
                               else float(casualties[dates > pd.Timestamp(after)].sum()))
    out["territory_end_km2"] = float(km2[-1])
    out["members_end"] = float(df["members"].iloc[-1])
    out["sympathisers_end"] = float(df["sympathisers"].iloc[-1])
    return out
