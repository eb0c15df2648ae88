"""The priors file of ``resurgence calibrate --priors``: TOML -> validated inference settings.

::

    [inference]
    scenario = "iraq-2003-2020"   # bundled name, or a .toml path relative to this file
    patterns = "iraq"             # a pattern set (resurgence.pattern_sets)
    ticks = 60                    # optional: overrides the scenario's length (default: up to
                                  # the first date no pattern reads, if it ends earlier)
    population = 200              # accepted particles per generation
    generations = 8               # at most
    budget = 10000                # at most this many simulations in all
    min_epsilon = 0.0             # stop once a generation's tolerance is at most this
    seed = 1

    [priors."insurgency.recruit_rate"]
    distribution = "uniform"      # uniform | loguniform | truncnormal
    low = 0.02
    high = 0.05
    source = "assumption"         # where the range comes from (required)

Every key a prior names must be a numeric key of the scenario, and both ends of its range
must give a valid scenario (as ``--param`` ranges are checked); the pattern set must exist.
A mistake raises :class:`PriorsError`: file, key, value and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from resurgence.errors import (
    MISSING,
    Problem,
    UserInputError,
    keyed_error,
    pydantic_problem,
    read_toml,
)
from resurgence.scenario import Scenario
from resurgence.scenario.params import Params

#: the corners of the prior box are checked jointly up to this many priors (2**n scenarios)
CORNERS_UP_TO = 10


class PriorsError(UserInputError):
    """A priors file that cannot be loaded or validated."""


Distribution = Literal["uniform", "loguniform", "truncnormal"]
#: the numbers each distribution takes
NEEDS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "loguniform": ("low", "high"),
    "truncnormal": ("low", "high", "mean", "sd"),
}


class Prior(Params):
    """The prior of one scenario key: a bounded distribution and where it comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    distribution: Distribution = Field(description="uniform | loguniform | truncnormal")
    low: float = Field(description="lower bound")
    high: float = Field(description="upper bound")
    mean: float | None = Field(None, description="truncnormal: mean before truncation")
    sd: float | None = Field(None, gt=0, description="truncnormal: sd before truncation")
    source: str = Field(min_length=1, description="a citation, or 'assumption'")

    @model_validator(mode="after")
    def _complete(self) -> Prior:
        if not self.low < self.high:
            raise keyed_error("high", self.high, f"must be greater than low ({self.low})")
        if self.distribution == "loguniform" and self.low <= 0:
            raise keyed_error("low", self.low, "must be above 0 for a loguniform prior")
        for key in ("mean", "sd"):
            given = getattr(self, key) is not None
            if given != (key in NEEDS[self.distribution]):
                raise keyed_error(key, getattr(self, key) if given else MISSING,
                                  f"a {self.distribution} prior takes "
                                  f"{', '.join(NEEDS[self.distribution])}")
        return self

    def scipy(self) -> Any:
        """The frozen SciPy distribution."""
        from scipy import stats

        if self.distribution == "uniform":
            return stats.uniform(self.low, self.high - self.low)
        if self.distribution == "loguniform":
            return stats.loguniform(self.low, self.high)
        assert self.mean is not None and self.sd is not None
        return stats.truncnorm((self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd,
                               loc=self.mean, scale=self.sd)

    def pyabc(self) -> Any:
        """The same distribution as a pyabc random variable."""
        import pyabc

        if self.distribution == "uniform":
            return pyabc.RV("uniform", self.low, self.high - self.low)
        if self.distribution == "loguniform":
            return pyabc.RV("loguniform", self.low, self.high)
        assert self.mean is not None and self.sd is not None
        return pyabc.RV("truncnorm", (self.low - self.mean) / self.sd,
                        (self.high - self.mean) / self.sd, loc=self.mean, scale=self.sd)


class Settings(Params):
    """The ``[inference]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: str = Field(min_length=1, description="bundled scenario name, or a .toml path "
                                                    "relative to the priors file")
    patterns: str = Field(min_length=1, description="a pattern set name")
    ticks: int | None = Field(None, ge=1, le=10_000_000, description="overrides the scenario's "
                              "length (default: to the first date no pattern reads)")
    population: int = Field(ge=10, le=100_000, description="accepted particles per generation")
    generations: int = Field(ge=1, le=1000, description="generations at most")
    budget: int = Field(ge=10, le=100_000_000, description="simulations at most, in all")
    min_epsilon: float = Field(0.0, ge=0, description="stop at this tolerance")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="root of every random number")

    @model_validator(mode="after")
    def _budget_fits_one_generation(self) -> Settings:
        if self.budget < self.population:
            raise keyed_error("budget", self.budget, f"must be at least the population "
                                                     f"({self.population}): generation 0 "
                                                     "runs one simulation per particle")
        return self


class PriorsFile(Params):
    """A whole priors file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    inference: Settings
    priors: dict[str, Prior] = Field(min_length=1)

    _source: str = PrivateAttr(default="<priors>")
    _text: str = PrivateAttr(default="")
    _scenario: Scenario | None = PrivateAttr(default=None)

    @property
    def source(self) -> str:
        return self._source

    @property
    def text(self) -> str:
        """The file's contents, as read (kept as provenance)."""
        return self._text

    @property
    def scenario(self) -> Scenario:
        """The scenario the patterns are fitted on (with ``ticks`` applied)."""
        assert self._scenario is not None
        return self._scenario

    @property
    def keys(self) -> list[str]:
        return list(self.priors)

    def patterns(self) -> tuple[Any, ...]:
        from resurgence.pattern_sets import pattern_set

        return pattern_set(self.inference.patterns)

    def digest(self) -> str:
        """A short hash of what fixes the inference's result: settings, priors, the scenario's
        content and the pattern set's ranges."""
        ranges = [(p.name, p.lo, p.hi, p.log) for p in self.patterns()]
        blob = json.dumps([self.model_dump(mode="json"), self.scenario.digest(), ranges],
                          sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_priors(path: str | Path) -> PriorsFile:
    """Read and check a priors file (see the module docstring)."""
    path = Path(path)
    data = read_toml(path, PriorsError)
    try:
        priors = PriorsFile.model_validate(data)
    except ValidationError as exc:
        raise PriorsError(path, _problems(exc)) from None
    priors._source = str(path)
    priors._text = path.read_text(encoding="utf-8")
    settings = priors.inference
    scenario = _resolve(settings.scenario, path)
    try:
        patterns = priors.patterns()
    except UserInputError as exc:
        raise PriorsError(path, [Problem("inference.patterns", settings.patterns,
                                         exc.problems[0].allowed)]) from None
    if settings.ticks is not None:
        scenario = scenario.with_overrides(ticks=settings.ticks)
    else:
        scenario = _to_horizon(scenario, patterns)
    priors._scenario = scenario
    _check_keys(priors, path)
    return priors


def _to_horizon(scenario: Scenario, patterns: tuple[Any, ...]) -> Scenario:
    """``scenario`` cut at the first date none of ``patterns`` reads (the week that holds it),
    if it is dated and ends later: a fit to 2003-2012 simulates no later week."""
    from resurgence.patterns import horizon

    end = horizon(patterns)
    if end is None or scenario.start is None:
        return scenario
    weeks = -(-(dt.date.fromisoformat(end) - scenario.start).days // scenario.tick_days)
    return scenario.with_overrides(ticks=weeks) if weeks < scenario.ticks else scenario


def _resolve(name: str, path: Path) -> Scenario:
    from resurgence.scenario.catalog import bundled

    candidate = Path(name) if Path(name).is_absolute() else path.parent / name
    if candidate.is_file():
        return Scenario.load(candidate)
    shipped = bundled()
    if name in shipped:
        return Scenario.load(shipped[name])
    raise PriorsError(path, [Problem("inference.scenario", name,
                                     "a scenario .toml file (relative to the priors file), or "
                                     "one of: " + ", ".join(sorted(shipped)))])


def _check_keys(priors: PriorsFile, path: Path) -> None:
    """Every prior's key is a numeric scenario key, valid at both ends of its range; with up
    to CORNERS_UP_TO priors, every corner of their box is a valid scenario too (keys checked
    together, such as two densities that may not sum above 1)."""
    import itertools

    from resurgence.experiments.spec import key_kind, model_ignores, numeric_keys, set_numbers

    base = priors.scenario.model_dump(mode="json")

    def refuse(where: str, value: object, exc: UserInputError) -> PriorsError:
        p = exc.problems[0]
        return PriorsError(path, [Problem(where, value, f"gives an invalid scenario: {p.key} "
                                                        f"= {p.value!r}: {p.allowed}")])

    for key, prior in priors.priors.items():
        where = f'priors."{key}"'
        model = priors.scenario.model
        if key_kind(key, base) not in ("int", "float") or model_ignores(key, model):
            allowed = [k for k in numeric_keys() if key_kind(k, base) in ("int", "float")
                       and not model_ignores(k, model)]
            raise PriorsError(path, [Problem(where, key, "a numeric key of the scenario "
                                             "(timeline.<i>.<key> for an entry's number): "
                                             + ", ".join(allowed))])
        for end in ("low", "high"):
            try:
                Scenario.from_dict(set_numbers(base, {key: getattr(prior, end)}))
            except UserInputError as exc:
                raise refuse(f"{where}.{end}", getattr(prior, end), exc) from None
    if len(priors.priors) > CORNERS_UP_TO:
        return
    for corner in itertools.product(*[(p.low, p.high) for p in priors.priors.values()]):
        values = dict(zip(priors.priors, corner, strict=True))
        try:
            Scenario.from_dict(set_numbers(base, values))
        except UserInputError as exc:
            raise refuse("priors", values, exc) from None


def _problems(exc: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        if err["type"] == "keyed":
            loc = [*loc, (err.get("ctx") or {})["key"]]
        if len(loc) >= 2 and loc[0] == "priors":
            loc = [loc[0], f'"{loc[1]}"', *loc[2:]]
        key = ".".join(loc) or "(priors file)"
        allowed = ""
        if err["type"] == "extra_forbidden":
            allowed = " (allowed: " + ", ".join(_model_at(err["loc"]).model_fields) + ")"
        if key not in {p.key for p in problems}:
            problems.append(pydantic_problem(err, key, allowed))
    return problems[:1]  # one message: the first mistake


def _model_at(loc: tuple[Any, ...]) -> Any:
    if loc[:1] == ("inference",):
        return Settings
    if loc[:1] == ("priors",) and len(loc) > 2:
        return Prior
    return PriorsFile
