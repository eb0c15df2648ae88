"""Generated bad input (Hypothesis): insurgency scenarios, theatre folders and experiment files
with hostile values. Each one loads, or is refused with one message (a ``UserInputError``
naming the file); nothing else is raised, and nothing is written.

Hundreds of examples in all, kept to seconds: a valid insurgency scenario is checked against
its theatre (the Iraq theatre at 10 km, built once and cached), never run."""

from __future__ import annotations

import datetime as dt
import math
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resurgence.api import check
from resurgence.errors import UserInputError
from resurgence.experiments import Experiment
from resurgence.experiments.design import MAX_RUNS, check_size, count_runs, make_plan
from resurgence.scenario import Scenario
from resurgence.scenario.insurgency import InsurgencyConfig, Levers
from resurgence.theatre import load_theatre
from test_theatre import FILES, TOML

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                          HealthCheck.function_scoped_fixture])


def examples(n: int) -> settings:
    return settings(SETTINGS, max_examples=n)

#: values a hostile user may put anywhere: numbers out of range or not finite, the wrong
#: type, text, tables, lists of any length
HOSTILE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10**12, 10**12),
    st.booleans(),
    st.text(max_size=6),
    st.sampled_from([float("nan"), float("inf"), -1, 0, 1, 2, 1e308, -1e-300]),
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)),
    st.lists(st.floats(-2, 2) | st.booleans() | st.sampled_from([float("nan"), float("inf")]),
             min_size=4, max_size=5),
    st.lists(st.floats(-2, 2), max_size=6),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def listing(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def loads_or_refused(path: Path, load: Any) -> Any:
    """``load(path)``: its value, or None for a refusal that names the file."""
    try:
        return load(path)
    except UserInputError as exc:
        assert exc.message and "\n" not in exc.message.split(": ", 1)[0], exc.message
        return None


@pytest.fixture(scope="module")
def iraq10() -> None:
    load_theatre("iraq", 10.0)  # the one theatre valid generated scenarios are checked against


# ------------------------------------------------------------------ insurgency scenarios
INSURGENCY_KEYS = sorted(InsurgencyConfig.model_fields) + ["no_such_key"]
LEVER_KEYS = sorted(Levers.model_fields) + ["no_such_lever"]
THEATRES = st.sampled_from(["iraq", "atlantis", "", "../elsewhere", "/etc/passwd", "iraq/"])


@st.composite
def insurgency_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly one hostile value in an otherwise valid scenario (so that a value wrongly
    accepted is seen), sometimes several anywhere."""
    many = draw(st.integers(0, 3)) == 0
    size = 3 if many else 1
    table = draw(st.dictionaries(st.sampled_from(INSURGENCY_KEYS), HOSTILE, max_size=size))
    table.pop("cell_km", None)  # one theatre build, not one per example
    if draw(st.integers(0, 4)) == 0:
        table["theatre"] = draw(THEATRES)
    data: dict[str, Any] = {"model": "insurgency", "start": dt.date(2014, 1, 1),
                            "end": dt.date(2014, 3, 1), "insurgency": table,
                            "levers": draw(st.dictionaries(st.sampled_from(LEVER_KEYS), HOSTILE,
                                                           max_size=size))}
    if not many:
        return data
    entries = draw(st.lists(st.dictionaries(
        st.sampled_from(["tick", "date", "until", *LEVER_KEYS[:4]]), HOSTILE, max_size=3),
        max_size=2))
    if entries:
        data["timeline"] = entries
    for key in draw(st.lists(st.sampled_from(["ticks", "tick_days", "seed", "start", "end"]),
                             max_size=2)):
        data[key] = draw(HOSTILE)
    return data


@examples(300)
@given(data=insurgency_scenarios())
def test_generated_insurgency_scenarios_load_or_are_refused(tmp_path: Path, iraq10: None,
                                                            data: dict[str, Any]):
    path = tmp_path / "gen.toml"
    try:
        path.write_text(tomli_w.dumps(data))
    except (TypeError, ValueError):  # not expressible in TOML
        return
    before = listing(tmp_path)

    def load_and_check(p: Path) -> Scenario:
        scenario = Scenario.load(p)
        check(scenario)
        return scenario

    scenario = loads_or_refused(path, load_and_check)
    if scenario is not None:  # accepted: no number was NaN, infinite or true/false
        for table in ("insurgency", "levers"):
            for key, value in data[table].items():
                items = value if isinstance(value, list) else [value]
                assert not any(isinstance(v, bool) or (isinstance(v, float)
                                                       and not math.isfinite(v))
                               for v in items), f"{table}.{key} = {value!r} was accepted"
    assert listing(tmp_path) == before


# ------------------------------------------------------------------ theatre folders
CSV_TOKENS = st.one_of(
    st.sampled_from(["", "nan", "inf", "-inf", "-1", "0", "1e400", "abc", '"', "a,b", "  ",
                     "1.5", "999", "-91", "181", "Capital", "West", "city", "x" * 300]),
    st.text(max_size=5),
)
TOML_KEYS = ["name", "cell_km", "groups", "files.outline", "files.places", "terrain",
             "terrain.river_buffer_km", "population.urban_density_per_km2", "aliases.x",
             "places.snap_km", "unknown", "terrain.region"]


@st.composite
def theatre_changes(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, str | None]]:
    """(changes to theatre.toml by dotted key, CSV files replaced or (None) removed)."""
    toml = {key: draw(HOSTILE) for key in draw(st.lists(st.sampled_from(TOML_KEYS),
                                                        max_size=2))}
    files: dict[str, str | None] = {}
    for name in draw(st.lists(st.sampled_from(sorted(FILES)), max_size=2)):
        rows = [r.split(",") for r in textwrap.dedent(FILES[name]).strip().splitlines()]
        how = draw(st.sampled_from(["cell", "cell", "drop_row", "drop_column", "truncate",
                                    "remove"]))
        if how == "remove":
            files[name] = None
            continue
        if how == "truncate":
            text = "\n".join(",".join(r) for r in rows)
            files[name] = text[:draw(st.integers(0, len(text)))]
            continue
        i = draw(st.integers(0 if how == "drop_column" else 1, len(rows) - 1))
        j = draw(st.integers(0, len(rows[0]) - 1))
        if how == "cell":
            rows[i][j] = draw(CSV_TOKENS)
        elif how == "drop_row":
            del rows[i]
        else:
            rows = [r[:j] + r[j + 1:] for r in rows]
        files[name] = "\n".join(",".join(r) for r in rows) + "\n"
    return toml, files


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    node = data
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[last] = value


@examples(100)
@given(change=theatre_changes())
def test_generated_theatre_folders_load_or_are_refused(tmp_path: Path,
                                                       change: tuple[dict, dict]):
    import tomllib

    toml, files = change
    folder = Path(tempfile.mkdtemp(prefix="land", dir=tmp_path))
    spec = tomllib.loads(TOML)
    for key, value in toml.items():
        _set(spec, key, value)
    try:
        (folder / "theatre.toml").write_text(tomli_w.dumps(spec))
    except (TypeError, ValueError):
        return
    for name, text in FILES.items():
        if name in files and files[name] is None:
            continue
        body = files.get(name)
        (folder / name).write_text(body if body is not None else
                                   textwrap.dedent(text).strip() + "\n")
    before = listing(tmp_path)
    loads_or_refused(folder, load_theatre)
    assert listing(tmp_path) == before


# ------------------------------------------------------------------ experiment files
SCENARIO = "ticks = 5\n[grid]\nwidth = 10\nheight = 10\n[epstein]\ncitizen_vision = 2\n" \
           "cop_vision = 2\n"
UNCERTAIN_KEYS = st.sampled_from(["epstein.legitimacy", "epstein.max_jail_term", "ticks",
                                  "epstein.variant", "epstein.movement", "grid.width",
                                  "timeline.0.legitimacy", "seed", "epstein.nope", ""])
RANGE = st.dictionaries(st.sampled_from(["low", "high", "mode", "mean", "sd", "values",
                                         "distribution", "extra"]), HOSTILE, max_size=4)


@st.composite
def experiments(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {"scenario": draw(st.sampled_from(["s.toml"] * 4 + [
        "epstein-run-2", "missing.toml", "/etc/passwd", ""]))}
    for key in draw(st.lists(st.sampled_from(["seed", "replications", "ticks", "name",
                                              "common_random_numbers", "surprise"]),
                             max_size=2)):
        data[key] = draw(HOSTILE)
    data["design"] = draw(st.fixed_dictionaries({}, optional={
        "kind": st.sampled_from(["full_factorial", "latin_hypercube", "sobol", "morris",
                                 "grid"]) | HOSTILE,
        "samples": st.integers(-5, 10**9) | HOSTILE, "levels": st.integers(-5, 10**4) | HOSTILE,
        "second_order": HOSTILE}))
    data["uncertainties"] = draw(st.dictionaries(UNCERTAIN_KEYS, RANGE, max_size=3))
    if draw(st.booleans()):
        data["levers"] = draw(st.dictionaries(UNCERTAIN_KEYS, st.lists(HOSTILE, max_size=3)
                                              | HOSTILE, max_size=2))
    if draw(st.booleans()):
        data["outcomes"] = draw(st.fixed_dictionaries({}, optional={
            "keep": st.lists(st.sampled_from(["mean_active_share", "outbursts", "resurgence",
                                              "max_jailed", "max_nope", ""]), max_size=3)
            | HOSTILE,
            "burn_in": HOSTILE, "series": HOSTILE}))
    return data


@examples(200)
@given(data=experiments())
def test_generated_experiments_load_or_are_refused(tmp_path: Path, data: dict[str, Any]):
    (tmp_path / "s.toml").write_text(SCENARIO)
    path = tmp_path / "exp.toml"
    try:
        path.write_text(tomli_w.dumps(data))
    except (TypeError, ValueError):
        return
    before = listing(tmp_path)

    def plan(p: Path) -> Experiment:
        experiment = Experiment.load(p)
        runs = count_runs(experiment)
        if runs <= 500:  # small enough to plan here; the count is the plan's size
            assert len(make_plan(experiment).design) == runs
        elif runs > MAX_RUNS:
            with pytest.raises(UserInputError):
                check_size(experiment, confirmed=True)
        return experiment

    loads_or_refused(path, plan)
    assert listing(tmp_path) == before
