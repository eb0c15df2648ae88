"""Map snapshots of insurgency runs: the theatre's state at a few dates, saved beside the series.

An insurgency run on the full Iraq theatre takes tens of seconds and the model is still being
recalibrated, so maps are not replayed (as Epstein's are) but kept: ``resurgence run`` writes
``maps-seed-N.npz`` next to ``seed-N.parquet`` with, at the start, every half year, the date of
the last policy change of the timeline, the week of peak territory and the end:

- ``states`` (K, H, W) int8: the control map (:meth:`InsurgencyRun.cell_states` codes);
- ``fighters`` (K, 3, H, W) int32: members per cell by role (territorial, desert, sleeper);
- ``attacks`` (K, H, W) int32: sleeper attacks per cell since the previous regular snapshot
  (``since``);
- ``legitimacy`` (K, groups, governorates) float32: legitimacy by group and governorate;
- the theatre's governorate raster, names, groups, cell size and extent (km), once.

Compressed, a 28-year run on 10 km cells takes about 0.4 MB per seed (mostly zeros).
"""

from __future__ import annotations

import datetime as dt
import functools
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from resurgence.errors import Problem, UserInputError
from resurgence.scenario import Scenario
from resurgence.store.files import write_npz

#: the snapshot file of one seed, in a result folder
MAPS_FILE = "maps-seed-{seed}.npz"
#: insurgent roles, in the order of ``fighters``' second axis
ROLES = ("territorial", "desert", "sleeper")
#: days between regular snapshots
EVERY_DAYS = 182.625


@dataclass
class MapSnapshots:
    """Maps of one run at a few ticks (see the module docstring)."""

    seed: int
    ticks: np.ndarray
    since: np.ndarray
    kinds: list[str]
    dates: list[str]
    states: np.ndarray
    fighters: np.ndarray
    attacks: np.ndarray
    legitimacy: np.ndarray
    governorate: np.ndarray
    governorates: tuple[str, ...]
    groups: tuple[str, ...]
    cell_km: float
    extent: tuple[float, float, float, float]
    tick_days: int = 7

    def __len__(self) -> int:
        return len(self.ticks)

    def caption(self, k: int) -> str:
        """'2014-06-10 (peak territory)' or 'tick 52'."""
        when = self.dates[k] or f"tick {int(self.ticks[k])}"
        extra = [kind for kind in self.kinds[k].split(",") if kind in ("peak", "policy")]
        names = {"peak": "peak territory", "policy": "last policy change"}
        return when + (f" ({', '.join(names[e] for e in extra)})" if extra else "")

    def nearest(self, tick: int) -> int:
        """Index of the snapshot closest to ``tick`` (the earlier one on a tie)."""
        return int(np.argmin(np.abs(self.ticks.astype(np.int64) - int(tick))))

    def nearest_date(self, date: dt.date) -> int:
        """Index of the snapshot closest to a calendar date (the first one if the run has no
        dates)."""
        if not self.dates or not self.dates[0]:
            return 0
        days = np.array(self.dates, dtype="datetime64[D]") - np.datetime64(date, "D")
        return int(np.argmin(np.abs(days.astype(np.int64))))

    def index_of_kind(self, kind: str) -> int | None:
        found = [k for k, kinds in enumerate(self.kinds) if kind in kinds.split(",")]
        return found[0] if found else None

    def legitimacy_raster(self, k: int, group: int) -> np.ndarray:
        """(H, W) float: the group's legitimacy in each cell's governorate; NaN outside."""
        gov = self.governorate
        values = self.legitimacy[k, group][np.maximum(gov, 0)]
        return np.where(gov >= 0, values, np.nan)

    def to_arrays(self) -> dict[str, Any]:
        return {
            "seed": np.int64(self.seed), "ticks": self.ticks, "since": self.since,
            "kinds": np.array(self.kinds), "dates": np.array(self.dates),
            "states": self.states, "fighters": self.fighters, "attacks": self.attacks,
            "legitimacy": self.legitimacy, "governorate": self.governorate,
            "governorates": np.array(self.governorates), "groups": np.array(self.groups),
            "cell_km": np.float64(self.cell_km), "extent": np.array(self.extent, float),
            "tick_days": np.int64(self.tick_days),
        }

    def save(self, path: Path) -> None:
        """Write the snapshots as one compressed ``.npz``, atomically."""
        write_npz(self.to_arrays(), path)

    @classmethod
    def load(cls, path: Path) -> MapSnapshots:
        """Read a file written by :meth:`save`; a foreign or damaged file raises
        :class:`UserInputError`."""
        try:
            with np.load(path, allow_pickle=False) as z:
                a = {k: z[k] for k in z.files}
            extent = tuple(float(x) for x in a["extent"])
            return cls(seed=int(a["seed"]), ticks=a["ticks"], since=a["since"],
                       kinds=[str(x) for x in a["kinds"]], dates=[str(x) for x in a["dates"]],
                       states=a["states"], fighters=a["fighters"], attacks=a["attacks"],
                       legitimacy=a["legitimacy"], governorate=a["governorate"],
                       governorates=tuple(str(x) for x in a["governorates"]),
                       groups=tuple(str(x) for x in a["groups"]),
                       cell_km=float(a["cell_km"]),
                       extent=(extent[0], extent[1], extent[2], extent[3]),
                       tick_days=int(a["tick_days"]))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise UserInputError(path, [Problem("file", path.name, "is not a map snapshot "
                                                f"file written by `resurgence run`: {exc}")]
                                 ) from None


def snapshot_ticks(scenario: Scenario, ticks: int | None = None) -> dict[int, str]:
    """Tick -> kind of the regular snapshots: start, every half year (``EVERY_DAYS``), the last
    policy change of the timeline, the end."""
    last = scenario.ticks if ticks is None else ticks
    every = max(1, round(EVERY_DAYS / scenario.tick_days))
    wanted = {t: "regular" for t in range(0, last + 1, every)}
    wanted[0] = "start"
    if scenario.timeline:
        entries = scenario.resolved_timeline() if scenario.start is not None else \
            scenario.timeline
        change = max(int(e.tick) for e in entries if e.tick is not None)
        if 0 < change <= last:
            wanted[change] = ",".join(k for k in (wanted.get(change), "policy") if k)
    wanted[last] = ",".join(k for k in (wanted.get(last), "end") if k and k != "regular")
    return dict(sorted(wanted.items()))


class MapRecorder:
    """Watches an :class:`~resurgence.models.insurgency.InsurgencyRun` and keeps its maps at
    the snapshot ticks (and at the week of peak territory): an ensemble's observer
    (:func:`map_recorder`), told after the run's setup and after each step. O(cells) a tick."""

    def __init__(self, run: Any, wanted: dict[int, str]):
        self.run = run
        self.wanted = wanted
        self.items: list[dict[str, Any]] = []
        self.acc = np.zeros(run.world.geo.inside.size, np.int64)
        self.since = 0
        self.peak_cells = 0
        self.peak: dict[str, Any] | None = None

    def _grab(self, kind: str) -> dict[str, Any]:
        r = self.run
        h, w = r.shape
        cnt = r.world.counts
        return {"tick": r.tick, "since": self.since, "kind": kind,
                "states": r.cell_states().astype(np.int8),
                "fighters": np.stack([cnt.terr, cnt.desert, cnt.sleeper]).reshape(3, h, w)
                .astype(np.int32),
                "attacks": self.acc.reshape(h, w).astype(np.int32),
                "legitimacy": np.asarray(r.world.fields.legit, np.float32).copy()}

    def observe(self) -> None:
        r = self.run
        if r.tick > 0:
            self.acc += np.rint(r.world.fields.attacks_cell).astype(np.int64)
            held = int(r.world.fields.held.sum())
            if held > self.peak_cells:
                self.peak_cells = held
                self.peak = self._grab("peak")
        kind = self.wanted.get(r.tick)
        if kind is not None:
            self.items.append(self._grab(kind))
            self.acc[:] = 0
            self.since = r.tick

    def result(self) -> MapSnapshots:
        """The snapshots so far, in tick order (the peak merged into a regular one at its
        tick)."""
        items = list(self.items)
        if self.peak is not None:
            same = [it for it in items if it["tick"] == self.peak["tick"]]
            if same:
                same[0]["kind"] = same[0]["kind"] + ",peak"
            else:
                items.append(self.peak)
        items.sort(key=lambda it: (it["tick"], it["kind"] == "peak"))
        r = self.run
        sc: Scenario = r.scenario
        ticks = np.array([it["tick"] for it in items], np.int64)
        dates = ([str(d) for d in sc.date_of(ticks)] if sc.start is not None
                 else [""] * len(ticks))
        geo = r.world.geo
        gov = np.where(geo.inside, geo.gov, -1).reshape(r.shape).astype(np.int16)
        return MapSnapshots(
            seed=int(r.seed), ticks=ticks, since=np.array([it["since"] for it in items]),
            kinds=[it["kind"] for it in items], dates=dates,
            states=np.stack([it["states"] for it in items]),
            fighters=np.stack([it["fighters"] for it in items]),
            attacks=np.stack([it["attacks"] for it in items]),
            legitimacy=np.stack([it["legitimacy"] for it in items]),
            governorate=gov, governorates=tuple(geo.gov_names),
            groups=_groups(), cell_km=float(np.sqrt(geo.area)), extent=_extent(r),
            tick_days=int(sc.tick_days))


def _groups() -> tuple[str, ...]:
    from resurgence.scenario.insurgency import GROUPS

    return tuple(GROUPS)


def _extent(run: Any) -> tuple[float, float, float, float]:
    """(left, right, bottom, top) of the raster in km (projected, or from the north-west
    corner when the theatre has no coordinates)."""
    c = float(np.sqrt(run.world.geo.area))
    th = run.theatre
    x, y = getattr(th, "x_km", None), getattr(th, "y_km", None)
    if x is not None and y is not None:
        return (float(x[0] - c / 2), float(x[-1] + c / 2), float(y[-1] - c / 2),
                float(y[0] + c / 2))
    h, w = run.shape
    return (0.0, w * c, -h * c, 0.0)


def map_recorder(scenario: Scenario, wanted: Iterable[int] | None = None
                 ) -> Callable[[Any], MapRecorder]:
    """An observer of :class:`~resurgence.experiments.ensemble.Ensemble` runs that keeps each
    run's map snapshots (``wanted`` ticks, default :func:`snapshot_ticks`); its result is the
    run's :class:`MapSnapshots`. The recorder only looks: the run is the same, bit for bit.

        member = Ensemble(scenario, [1]).run({"maps": map_recorder(scenario)}).members[0]
        member.frame, member.observed["maps"]
    """
    plan = snapshot_ticks(scenario) if wanted is None else {int(t): "regular" for t in wanted}
    return functools.partial(MapRecorder, wanted=plan)


def parse_dates(text: str | None, option: str = "--map-dates") -> list[dt.date]:
    """'2014-06-10,2017-07-10' -> dates; a bad date raises :class:`UserInputError`."""
    if not text:
        return []
    out = []
    for part in text.split(","):
        try:
            out.append(dt.date.fromisoformat(part.strip()))
        except ValueError:
            raise UserInputError(option, [Problem(option, part.strip(), "must be dates "
                                                  "YYYY-MM-DD, separated by commas")]) from None
    return out

