"""The scenario file: TOML -> validated, immutable configuration (pydantic)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from resurgence.errors import (
    Problem,
    ScenarioError,
    keyed_error,
    pydantic_problem,
    read_toml,
)
from resurgence.scenario.epstein import EPSTEIN_TIMELINE_KEYS, EpsteinConfig
from resurgence.scenario.insurgency import LEVER_KEYS, InsurgencyConfig, Levers
from resurgence.scenario.params import Params
from resurgence.scenario.timeline import TimelineEntry, resolve_dates, schedule


class GridConfig(Params):
    """A torus of ``width`` x ``height`` cells."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    width: int = Field(40, ge=3, le=20_000, description="cells along x")
    height: int = Field(40, ge=3, le=20_000, description="cells along y")

    @property
    def cells(self) -> int:
        return self.width * self.height


class Scenario(Params):
    """Everything one run needs: model, parameters, grid, length, default seed and timeline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    description: str = ""
    model: Literal["epstein", "insurgency"] = "epstein"
    ticks: int = Field(200, ge=1, le=10_000_000, description="ticks to run")
    seed: int = Field(0, ge=0, description="default seed")
    start: dt.date | None = Field(None, description="calendar date of tick 0 (timeline entries "
                                  "may then use `date`)")
    end: dt.date | None = Field(None, description="last date to run to: sets `ticks` (give "
                                "one of them, or both in agreement)")
    tick_days: int = Field(7, ge=1, le=366, description="days per tick when `start` is given")
    grid: GridConfig = GridConfig()
    epstein: EpsteinConfig = EpsteinConfig()
    insurgency: InsurgencyConfig = InsurgencyConfig()
    levers: Levers = Levers()
    timeline: list[TimelineEntry] = Field(default_factory=list)

    _source: str = PrivateAttr(default="<scenario>")

    @model_validator(mode="before")
    @classmethod
    def _ticks_from_end(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("end") is not None:
            start, end, days = data.get("start"), data.get("end"), data.get("tick_days", 7)
            try:
                start, end = (TypeAdapter(dt.date).validate_python(v) for v in (start, end))
            except ValidationError:
                return data  # reported by field validation
            if isinstance(start, dt.date) and isinstance(end, dt.date) and isinstance(days, int):
                if end <= start:
                    raise keyed_error("end", end, f"must be after start ({start})")
                if days >= 1:
                    ticks = max(1, (end - start).days // days)
                    given = data.get("ticks")
                    if isinstance(given, int) and not isinstance(given, bool) and given != ticks:
                        raise keyed_error("ticks", given, f"must be {ticks}, the ticks of "
                                          f"{days} days from start ({start}) to end ({end}); "
                                          "give one of ticks and end")
                    data = {**data, "ticks": ticks}
        return data

    @model_validator(mode="after")
    def _dates_need_start(self) -> Scenario:
        if self.start is None:
            for i, entry in enumerate(self.timeline):
                if entry.date is not None:
                    raise keyed_error(f"timeline.{i}.date", entry.date,
                                      "a dated entry needs the scenario's `start` date")
            if self.end is not None:
                raise keyed_error("end", self.end, "needs the scenario's `start` date")
        return self

    @model_validator(mode="after")
    def _vision_fits_grid(self) -> Scenario:
        if self.model != "epstein":
            return self
        for key in ("citizen_vision", "cop_vision"):
            self._check_vision(f"epstein.{key}", getattr(self.epstein, key))
        return self

    def _check_vision(self, where: str, radius: float) -> None:
        widest = min(self.grid.width, self.grid.height)
        if 2 * int(radius) + 1 > widest:
            raise keyed_error(
                where, radius,
                f"the vision window must fit the {self.grid.width}x{self.grid.height} torus: "
                f"at most {(widest - 1) // 2}",
            )

    @model_validator(mode="after")
    def _timeline_keys(self) -> Scenario:
        if self.model == "insurgency":
            return self._lever_keys()
        for i, entry in enumerate(self.timeline):
            for key, value in entry.values.items():
                where = f"timeline.{i}.{key}"
                if key not in EPSTEIN_TIMELINE_KEYS:
                    allowed = ", ".join(sorted(EPSTEIN_TIMELINE_KEYS))
                    rule = f"cannot change on a timeline (allowed: {allowed})"
                    raise keyed_error(where, value, rule)
                try:
                    EpsteinConfig.model_validate({**self.epstein.model_dump(), key: value})
                except ValidationError as exc:
                    raise keyed_error(where, value, exc.errors()[0]["msg"]) from None
                if key.endswith("_vision"):
                    self._check_vision(where, float(value))  # type: ignore[arg-type]
        return self

    def _lever_keys(self) -> Scenario:
        for i, entry in enumerate(self.timeline):
            for key, value in entry.values.items():
                where = f"timeline.{i}.{key}"
                if key not in LEVER_KEYS:
                    allowed = ", ".join(sorted(LEVER_KEYS))
                    raise keyed_error(where, value, f"not a lever (allowed: {allowed})")
                try:
                    Levers.model_validate({**self.levers.model_dump(), key: value})
                except ValidationError as exc:
                    raise keyed_error(where, value, exc.errors()[0]["msg"]) from None
        return self

    # ----------------------------------------------------------------- loading
    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """Read and validate a TOML scenario; raise :class:`ScenarioError` on any mistake.

        ``extends = "NAME"`` (a bundled scenario, or a .toml path relative to this file) starts
        from that scenario: its tables are updated key by key, its timeline runs first and this
        file's timeline entries follow; any other key replaces the base's."""
        path = Path(path)
        return cls.from_dict(_read_extended(path, ()), source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<scenario>") -> Scenario:
        """Validate a mapping (as read from TOML); raise :class:`ScenarioError` on any mistake."""
        try:
            scenario = cls.model_validate(data)
        except ValidationError as exc:
            raise ScenarioError(source, _problems(exc)) from None
        scenario._source = source
        return scenario

    # ----------------------------------------------------------------- use
    @property
    def source(self) -> str:
        return self._source

    def with_overrides(self, **changes: Any) -> Scenario:
        """A copy with top-level fields replaced (validated again); a new ``ticks`` or ``end``
        replaces both."""
        data = {**free_length(self.model_dump(), changes), **changes}
        return Scenario.from_dict(data, source=self._source)

    def schedule(self) -> dict[str, Any]:
        """Per-tick values of the parameters the timeline changes (see ``timeline.schedule``);
        for the insurgency model, of every lever."""
        if self.model == "insurgency":
            levers = self.levers.model_dump()
            every = schedule(levers, self.resolved_timeline(), self.ticks)
            return {k: every.get(k, np.full(self.ticks + 1, float(v))) for k, v in levers.items()}
        base = self.epstein.model_dump()
        if base["legitimacy_green"] is None:
            base["legitimacy_green"] = base["legitimacy"]
        return schedule(base, self.resolved_timeline(), self.ticks)

    def resolved_timeline(self) -> list[TimelineEntry]:
        """The timeline with dates turned into ticks (see ``timeline.resolve_dates``)."""
        if self.start is None:
            return list(self.timeline)
        return resolve_dates(self.timeline, self.start, self.tick_days)

    def date_of(self, ticks: np.ndarray) -> np.ndarray:
        """Calendar dates (datetime64[D]) of ticks; needs ``start``."""
        assert self.start is not None
        return np.datetime64(self.start, "D") + np.asarray(ticks) * np.timedelta64(
            self.tick_days, "D")

    def digest(self) -> str:
        """A short hash of the validated content (provenance for stored results)."""
        unused = {"insurgency", "levers"} if self.model == "epstein" else {"epstein", "grid"}
        blob = json.dumps(self.model_dump(mode="json", exclude=unused), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def free_length(base: dict[str, Any], changes: Iterable[str]) -> dict[str, Any]:
    """A shallow copy of the scenario mapping ``base`` without its run length (``ticks`` and
    ``end``) if the keys ``changes`` set one: a new length replaces the old, whichever way it
    was given. O(keys)."""
    out = dict(base)
    if {"ticks", "end"} & set(changes):
        out.pop("ticks", None)
        out.pop("end", None)
    return out


def _read_extended(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    data = read_toml(path, ScenarioError)
    if not data:  # an empty file would otherwise run the defaults (Epstein's) without a word
        raise ScenarioError(path, [Problem("(contents)", "", "the file holds no settings "
                                           "(empty, blank or only comments); a scenario sets "
                                           "at least `model` or `extends`")])
    data = _theatre_beside(data, path)
    base_name = data.pop("extends", None)
    if base_name is None:
        return data
    base_path = path.parent / str(base_name)
    if not isinstance(base_name, str) or not base_path.is_file():
        from importlib import resources

        shipped = resources.files("resurgence") / "scenarios" / f"{base_name}.toml"
        base_path = Path(str(shipped))
        if not isinstance(base_name, str) or not base_path.is_file():
            raise ScenarioError(path, [Problem("extends", repr(base_name), "a bundled "
                                               "scenario name or a .toml file next to this one")])
    if base_path.resolve() in seen:
        raise ScenarioError(path, [Problem("extends", repr(base_name), "a scenario that does "
                                           "not extend this one again (a cycle)")])
    base = _read_extended(base_path, (*seen, path.resolve()))
    Scenario.from_dict(base, source=str(base_path))  # a base's own mistakes name the base
    merged = free_length(base, data)
    for key, value in data.items():
        if key == "timeline":
            merged["timeline"] = [*merged.get("timeline", []), *value]
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _theatre_beside(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """``data`` of the scenario file ``path`` with a relative theatre path (``[insurgency]
    theatre``, not a bundled theatre's name) made absolute against the file's folder, so that
    the scenario runs the same from any current folder and on any worker."""
    table = data.get("insurgency")
    theatre = table.get("theatre") if isinstance(table, dict) else None
    if not isinstance(theatre, str) or not theatre or Path(theatre).is_absolute():
        return data
    from resurgence.theatre import available_theatres

    beside = path.parent / theatre
    if theatre in available_theatres() or not beside.exists():
        return data  # a bundled theatre, or a mistake the theatre check reports
    return {**data, "insurgency": {**table, "theatre": str(beside.resolve())}}


def _problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        if err["type"] == "keyed":
            key = (err.get("ctx") or {})["key"]
            loc = [key] if key.startswith("timeline.") else [*loc, key]
        allowed = _allowed_keys(err["loc"]) if err["type"] == "extra_forbidden" else ""
        problems.append(pydantic_problem(err, ".".join(loc) or "(scenario)", allowed))
    return problems


def _allowed_keys(loc: tuple[Any, ...]) -> str:
    model: type[BaseModel] = Scenario
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        ann = getattr(field, "annotation", None) if field else None
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            return ""
    return " (allowed: " + ", ".join(model.model_fields) + ")"
