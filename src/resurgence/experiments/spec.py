"""The experiment file: TOML -> validated, immutable configuration (pydantic).

An experiment names a base scenario and what varies around it: *uncertainties* (ranges or
distributions over scenario keys such as ``epstein.legitimacy``), *levers* (policy options,
crossed with every design point), the *design* that samples the uncertainties, the number of
*replications* (seeds) per point and policy, and the *outcomes* kept from every run. Mistakes
are reported like scenario mistakes: file, key, value and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from resurgence.errors import (
    MISSING,
    Problem,
    UserInputError,
    keyed_error,
    pydantic_problem,
    read_toml,
)
from resurgence.experiments.outcomes import DEFAULTS, check_outcome
from resurgence.scenario import Scenario
from resurgence.scenario.catalog import bundled
from resurgence.scenario.epstein import EPSTEIN_TIMELINE_KEYS
from resurgence.scenario.model import free_length
from resurgence.scenario.params import Params


class ExperimentError(UserInputError):
    """An experiment file that cannot be loaded or validated."""


Distribution = Literal["uniform", "triangular", "normal", "truncnormal", "lognormal"]

#: the numbers each distribution needs (SALib's ``dists``: unif, triang, norm, truncnorm, lognorm)
NEEDS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "triangular": ("low", "high", "mode"),
    "normal": ("mean", "sd"),
    "truncnormal": ("low", "high", "mean", "sd"),
    "lognormal": ("mean", "sd"),
}

Scalar = bool | int | float | str


class Uncertainty(Params):
    """A range, a distribution or a list of values for one scenario key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    distribution: Distribution = Field("uniform", description="shape of the range")
    low: float | None = Field(None, description="lower bound (uniform, triangular, truncnormal)")
    high: float | None = Field(None, description="upper bound (uniform, triangular, truncnormal)")
    mode: float | None = Field(None, description="peak (triangular)")
    mean: float | None = Field(None, description="mean (normal, truncnormal; lognormal: of ln)")
    sd: float | None = Field(None, gt=0, description="standard deviation (lognormal: of ln)")
    values: list[Scalar] | None = Field(
        None, min_length=1, description="explicit values (full_factorial design only)"
    )

    @model_validator(mode="after")
    def _complete(self) -> Uncertainty:
        if self.values is not None:
            given = [k for k in ("low", "high", "mode", "mean", "sd")
                     if getattr(self, k) is not None]
            if given:
                raise keyed_error(given[0], getattr(self, given[0]),
                                  "give either `values` or a range, not both")
            return self
        for key in NEEDS[self.distribution]:
            if getattr(self, key) is None:
                raise keyed_error(key, MISSING,
                                  f"required for a {self.distribution} distribution "
                                  f"(needs {', '.join(NEEDS[self.distribution])})")
        extra = [k for k in ("low", "high", "mode", "mean", "sd")
                 if getattr(self, k) is not None and k not in NEEDS[self.distribution]]
        if extra:
            raise keyed_error(extra[0], getattr(self, extra[0]),
                              f"not used by a {self.distribution} distribution (it takes "
                              f"{', '.join(NEEDS[self.distribution])})")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise keyed_error("high", self.high, f"must be greater than low ({self.low})")
        if self.distribution == "triangular":
            assert self.low is not None and self.high is not None and self.mode is not None
            if not self.low <= self.mode < self.high:
                raise keyed_error("mode", self.mode,
                                  f"must be in [low, high) = [{self.low}, {self.high})")
        return self

    @property
    def bounded(self) -> tuple[float, float] | None:
        """(low, high) when every sampled value lies in that range, else None."""
        if self.low is not None and self.high is not None:
            return (self.low, self.high)
        return None

    def salib(self) -> tuple[str, list[float]]:
        """SALib's (dist, bounds) for this range."""
        if self.distribution == "uniform":
            return "unif", [self.low, self.high]  # type: ignore[list-item]
        if self.distribution == "triangular":
            low, high, mode = self.low, self.high, self.mode
            assert low is not None and high is not None and mode is not None
            return "triang", [low, high, (mode - low) / (high - low)]
        if self.distribution == "normal":
            return "norm", [self.mean, self.sd]  # type: ignore[list-item]
        if self.distribution == "truncnormal":
            return "truncnorm", [self.low, self.high, self.mean, self.sd]  # type: ignore[list-item]
        return "lognorm", [self.mean, self.sd]  # type: ignore[list-item]


class Design(Params):
    """How the uncertainties are sampled (SALib's samplers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["full_factorial", "latin_hypercube", "sobol", "morris"] = Field(
        "full_factorial", description="sampling design"
    )
    samples: int = Field(
        16, ge=1, le=10_000_000,
        description="latin_hypercube: points; sobol: base sample N (a power of 2), giving "
        "N*(D+2) points, N*(2D+2) with second_order; morris: trajectories, N*(D+1) points",
    )
    levels: int = Field(4, ge=2, le=1000,
                        description="full_factorial: values per range; morris: grid levels")
    second_order: bool = Field(False, description="sobol: also second-order indices")

    @model_validator(mode="after")
    def _sobol_power_of_two(self) -> Design:
        if self.kind == "sobol" and self.samples & (self.samples - 1):
            raise keyed_error("samples", self.samples,
                              "must be a power of 2 for a sobol design (Saltelli's scheme)")
        return self


class Outcomes(Params):
    """What each run keeps: named reductions of its per-tick frame (and the frame itself)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keep: list[str] | None = Field(
        None, min_length=1,
        description="outcome names (see resurgence.experiments.outcomes; default by model)",
    )
    burn_in: int = Field(0, ge=0, description="ticks ignored by the reductions")
    outburst_threshold: int = Field(50, ge=0,
                                    description="an outburst: more actives than this")
    series: bool = Field(True, description="keep each run's per-tick frame in its Parquet file")
    after: dt.date | None = Field(None, description="insurgency: count a resurgence only after "
                                  "this date (a policy's branch date, e.g. 2017-07-10)")

    @model_validator(mode="after")
    def _unique(self) -> Outcomes:
        if self.keep is not None and len(set(self.keep)) != len(self.keep):
            raise keyed_error("keep", self.keep, "names must be unique")
        return self


LeverOptions = list[Scalar] | dict[str, dict[str, Any]]


#: the design table's own columns, which no lever may be named
DESIGN_COLUMNS = ("row", "point", "policy", "replication", "seed", "run_id", "particle")


class PosteriorFutures(Params):
    """Parameter sets drawn from a posterior, one per design point: a future's parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = Field(description="a posterior file written by `resurgence calibrate "
                      "--priors`, relative to the experiment file")


class Experiment(Params):
    """A base scenario, what varies around it, how it is sampled and what is kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    description: str = ""
    scenario: str = Field(description="bundled scenario name, or a .toml path relative to the "
                                      "experiment file")
    seed: int = Field(0, ge=0, description="root of every run's seed (numpy SeedSequence)")
    replications: int = Field(1, ge=1, le=1_000_000, description="seeds per point and policy")
    common_random_numbers: bool = Field(
        False, description="replication r uses the same seed at every point and policy"
    )
    ticks: int | None = Field(None, ge=1, le=10_000_000, description="overrides the scenario's")
    design: Design = Design.model_validate({})
    uncertainties: dict[str, Uncertainty] = Field(default_factory=dict)
    levers: dict[str, LeverOptions] = Field(default_factory=dict)
    outcomes: Outcomes = Outcomes.model_validate({})
    posterior: PosteriorFutures | None = Field(
        None, description="draw each design point's parameters from this posterior")

    _source: str = PrivateAttr(default="<experiment>")
    _base: Scenario | None = PrivateAttr(default=None)
    _particles: Any = PrivateAttr(default=None)  # the posterior's particles, if any
    _posterior_sha: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _design_fits_ranges(self) -> Experiment:
        for key, unc in self.uncertainties.items():
            if unc.values is not None and self.design.kind != "full_factorial":
                raise keyed_error(f'uncertainties."{key}".values', unc.values,
                                  f"a list of values needs design.kind = 'full_factorial' "
                                  f"(not {self.design.kind!r}); give a range instead")
            if self.design.kind in ("full_factorial", "morris") and unc.values is None \
                    and unc.distribution != "uniform":
                raise keyed_error(f'uncertainties."{key}".distribution', unc.distribution,
                                  f"a {self.design.kind} design samples uniform ranges only; "
                                  "use latin_hypercube or sobol for distributions")
        if self.design.kind in ("sobol", "morris") and not self.uncertainties:
            raise keyed_error("uncertainties", {},
                              f"a {self.design.kind} design needs at least one uncertainty")
        for name, options in self.levers.items():
            if name in DESIGN_COLUMNS:
                raise keyed_error(f'levers."{name}"', name, "a name the design table uses for "
                                  "itself (" + ", ".join(DESIGN_COLUMNS) + "): choose another")
            if not options:
                raise keyed_error(f'levers."{name}"', options, "needs at least one option")
            if isinstance(options, dict):
                for option, data in options.items():
                    if not isinstance(data, dict):
                        raise keyed_error(f'levers."{name}".{option}', data,
                                          "an option is a table of scenario keys")
        return self

    # ----------------------------------------------------------------- loading
    @classmethod
    def load(cls, path: str | Path) -> Experiment:
        """Read and validate an experiment file, its base scenario and every design key."""
        path = Path(path)
        data = read_toml(path, ExperimentError)
        return cls.from_dict(data, source=str(path), root=path.parent)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<experiment>",
                  root: Path | None = None, base: Scenario | None = None) -> Experiment:
        """Validate a mapping (as read from TOML). ``base`` skips resolving ``scenario``."""
        try:
            experiment = cls.model_validate(data)
        except ValidationError as exc:
            raise ExperimentError(source, _problems(exc)) from None
        experiment._source = source
        experiment._base = base if base is not None else _resolve_base(
            experiment.scenario, source, root)
        experiment._check_keys()
        if experiment.posterior is not None:
            experiment._load_posterior(root)
        return experiment

    def _load_posterior(self, root: Path | None) -> None:
        """Read the posterior file (``posterior.file``) and check its parameters are keys of
        the base scenario that no uncertainty also sets."""
        from resurgence.store.posterior import read_posterior

        assert self.posterior is not None
        name = self.posterior.file
        path = Path(name) if Path(name).is_absolute() or root is None else root / name
        if not path.exists() and Path(name).exists():
            path = Path(name)
        try:
            particles, provenance = read_posterior(path, "posterior.file")
        except UserInputError as exc:
            raise ExperimentError(self._source, exc.problems) from None
        keys = list(provenance["parameters"])
        base = self.base_dict()
        for key in keys:
            where = "posterior.file"
            if key in self.uncertainties:
                self._fail(where, name, f"its parameter {key} is also an uncertainty: give it "
                                        "one source")
            _kind_or_error(self._source, where, key, base)
        self._particles = particles[[*keys, "weight"]].reset_index(drop=True)
        self._posterior_sha = hashlib.sha256(path.read_bytes()).hexdigest()

    @property
    def posterior_keys(self) -> list[str]:
        """The scenario keys a posterior sets (none without one)."""
        return [] if self._particles is None else \
            [c for c in self._particles.columns if c != "weight"]

    def posterior_draws(self, n: int) -> Any:
        """``n`` parameter sets from the posterior, draw ``i`` for design point ``i``
        (weighted resampling seeded by the experiment's seed: the first draws are the same
        whatever ``n``), with the particle each came from."""
        from resurgence.inference.draws import draw

        return draw(self._particles, self.posterior_keys, n, seed=self.seed)

    def _check_keys(self) -> None:
        base = self.base_dict()
        for i, name in enumerate(self.outcomes.keep or []):
            problem = check_outcome(name, self.base.model)
            if problem:
                self._fail(f"outcomes.keep.{i}", name, problem)
        for key, unc in self.uncertainties.items():
            where = f'uncertainties."{key}"'
            kind = _kind_or_error(self._source, where, key, base)
            if unc.values is None and kind not in ("int", "float"):
                self._fail(where, key, f"a range needs a numeric key; {key} is {kind}: give "
                                       "`values` (full_factorial) or make it a lever")
            if unc.bounded:  # both ends must give valid scenarios
                for end, bound in zip(("low", "high"), unc.bounded, strict=True):
                    self._validate_at(f"{where}.{end}", {key: bound})
            for i, listed in enumerate(unc.values or []):
                self._validate_at(f"{where}.values.{i}", {key: listed})
        for name, options in self.levers.items():
            where = f'levers."{name}"'
            if isinstance(options, list):
                _kind_or_error(self._source, where, name, base)
                for i, option_value in enumerate(options):
                    self._validate_at(f"{where}.{i}", {name: option_value})
            else:
                for option, data in options.items():
                    merged = deep_merge(free_length(self.base_dict(), data), data)
                    try:
                        Scenario.from_dict(merged, source=self._source)
                    except UserInputError as exc:
                        p = exc.problems[0]
                        self._fail(f"{where}.{option}.{p.key}", p.value, p.allowed)

    def _validate_at(self, where: str, values: dict[str, Any]) -> None:
        data = self.base_dict()
        for key, value in values.items():
            set_key(data, key, value)
        try:
            Scenario.from_dict(data, source=self._source)
        except UserInputError as exc:
            p = exc.problems[0]
            value = next(iter(values.values()))
            self._fail(where, value, f"gives an invalid scenario: {p.key} = {p.value!r}: "
                                     f"{p.allowed}")

    def _fail(self, key: str, value: object, allowed: str) -> typing.NoReturn:
        raise ExperimentError(self._source, [Problem(key, value, allowed)])

    # ----------------------------------------------------------------- use
    @property
    def source(self) -> str:
        return self._source

    @property
    def base(self) -> Scenario:
        assert self._base is not None
        return self._base

    @property
    def outcome_names(self) -> list[str]:
        """The outcomes kept: ``outcomes.keep``, or the model's defaults."""
        return list(self.outcomes.keep or DEFAULTS[self.base.model])

    def base_dict(self) -> dict[str, Any]:
        """The base scenario as a mapping, with the experiment's ``ticks`` if given."""
        data = self.base.model_dump(mode="json")
        if self.ticks is not None:
            data = {**free_length(data, ["ticks"]), "ticks": self.ticks}
        return data

    def digest(self) -> str:
        """A short hash of the validated experiment and its base scenario."""
        blob = json.dumps([self.model_dump(mode="json"), self.base.digest(),
                           self._posterior_sha], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _resolve_base(name: str, source: str, root: Path | None) -> Scenario:
    candidates = [Path(name)] if Path(name).is_absolute() else \
        [p for p in ((root / name) if root else None, Path(name)) if p is not None]
    for path in candidates:
        if path.exists():
            return Scenario.load(path)
    shipped = bundled()
    if name in shipped and not name.endswith(".toml"):
        return Scenario.load(shipped[name])
    allowed = "a scenario .toml file (relative to the experiment file), or one of: " \
        + ", ".join(sorted(shipped))
    raise ExperimentError(source, [Problem("scenario", name, allowed)])


# ------------------------------------------------------------------- scenario keys
def numeric_keys() -> list[str]:
    """Every scenario key an uncertainty or lever may set (``timeline.<i>.<key>`` too)."""
    out = []
    for name, field in Scenario.model_fields.items():
        ann = field.annotation
        if inspect.isclass(ann) and issubclass(ann, BaseModel):
            out += [f"{name}.{sub}" for sub in ann.model_fields]
        elif name not in ("seed", "timeline", "name", "description", "model"):
            out.append(name)
    return out + ["timeline.<i>." + k for k in sorted(EPSTEIN_TIMELINE_KEYS)]


def model_ignores(key: str, model: str) -> bool:
    """Whether a scenario of ``model`` ignores ``key`` (a key of another model's tables)."""
    unused = ("insurgency", "levers") if model == "epstein" else ("epstein", "grid")
    return key.split(".")[0] in unused


def key_kind(key: str, base: dict[str, Any]) -> str | None:
    """'int', 'float', 'bool', 'choice' or 'str' for a settable scenario key, None if unknown."""
    parts = key.split(".")
    if parts[0] == "timeline":
        entries = base.get("timeline", [])
        if len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) >= len(entries):
            return None
        value = entries[int(parts[1])].get(parts[2])
        if parts[2] in EPSTEIN_TIMELINE_KEYS or (isinstance(value, int | float)
                                                 and not isinstance(value, bool)):
            return "float" if parts[2] not in ("tick", "until") else "int"
        return None
    model: type[BaseModel] = Scenario
    for i, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None or (i == 0 and part in ("seed", "timeline")):
            return None
        ann = field.annotation
        if inspect.isclass(ann) and issubclass(ann, BaseModel):
            if i == len(parts) - 1:
                return None
            model = ann
            continue
        if i != len(parts) - 1:
            return None
        return _scalar_kind(ann)
    return None


def _scalar_kind(ann: Any) -> str:
    args = [a for a in typing.get_args(ann) if a is not type(None)]
    if isinstance(ann, types.UnionType) or typing.get_origin(ann) is typing.Union:
        ann = args[0]
    if typing.get_origin(ann) is Literal:
        return "choice"
    return {bool: "bool", int: "int", float: "float"}.get(ann, "str")


def _kind_or_error(source: str, where: str, key: str, base: dict[str, Any]) -> str:
    kind = key_kind(key, base)
    if kind is None:
        allowed = "not a scenario key an experiment can set (allowed: " + \
            ", ".join(numeric_keys()) + "; seeds come from the experiment's seed)"
        if key.startswith("timeline."):
            allowed = (f"the base scenario has {len(base.get('timeline', []))} timeline "
                       "entries; a timeline key is timeline.<i>.<key> with <key> a number "
                       "that entry sets (or its tick)")
        raise ExperimentError(source, [Problem(where, key, allowed)])
    return kind


def set_key(data: dict[str, Any], key: str, value: Any) -> None:
    """Set a dotted key (``epstein.legitimacy``, ``timeline.0.legitimacy``) in a mapping; a
    run length (``ticks`` or ``end``) replaces the mapping's, whichever way it was given."""
    parts = key.split(".")
    if len(parts) == 1 and parts[0] in ("ticks", "end"):
        data.pop("ticks", None)
        data.pop("end", None)
    node: Any = data
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    node[parts[-1]] = value


def set_numbers(data: dict[str, Any], values: dict[str, float]) -> dict[str, Any]:
    """A deep copy of the scenario mapping ``data`` with numeric keys set to ``values``, an
    integer key to the nearest whole number (a fitted or drawn parameter set)."""
    import copy
    import math

    out = copy.deepcopy(data)
    for key, value in values.items():
        kind = key_kind(key, data)
        set_key(out, key, math.floor(value + 0.5) if kind == "int" else float(value))
    return out


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` merged in: tables merge key by key, a ``timeline`` is
    extended (the changes' dated entries come after the base's, so on the same date theirs
    win, as with a scenario's ``extends``), anything else replaces."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        elif key == "timeline" and isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = [*out[key], *value]
        else:
            out[key] = value
    return out


# ------------------------------------------------------------------- messages
def _problems(exc: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        if err["type"] == "keyed":
            key = (err.get("ctx") or {})["key"]
            loc = [key] if key.startswith(("uncertainties.", "levers.")) or len(loc) == 0 \
                else [*loc, key]
        if len(loc) >= 2 and loc[0] in ("uncertainties", "levers"):
            loc = [loc[0], f'"{loc[1]}"', *loc[2:]]
            loc = [p for p in loc if not p.startswith(("list[", "dict["))]
        key = ".".join(loc) or "(experiment)"
        allowed = _allowed_keys(err["loc"]) if err["type"] == "extra_forbidden" else ""
        if key not in {p.key for p in problems}:  # a union reports one mistake per member
            problems.append(pydantic_problem(err, key, allowed))
    return problems


def _allowed_keys(loc: tuple[Any, ...]) -> str:
    model: type[BaseModel] = Experiment
    parts = list(loc[:-1])
    if parts[:1] == ["uncertainties"]:
        model, parts = Uncertainty, parts[2:]
    for part in parts:
        field = model.model_fields.get(str(part))
        ann = getattr(field, "annotation", None) if field else None
        if inspect.isclass(ann) and issubclass(ann, BaseModel):
            model = ann
        else:
            return ""
    return " (allowed: " + ", ".join(model.model_fields) + ")"
