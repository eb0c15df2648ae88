"""Bad scenarios get one message naming file, key, value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resurgence import Scenario
from resurgence.errors import ScenarioError
from resurgence.scenario.catalog import bundled

BAD = [
    ({"tickz": 5}, "tickz", "unknown key"),
    ({"epstein": {"vision": 3}}, "epstein.vision", "unknown key"),
    ({"grid": {"widht": 3}}, "grid.widht", "allowed: width, height"),
    ({"epstein": {"citizen_density": 0.8, "cop_density": 0.3}},
     "epstein.citizen_density + epstein.cop_density", "at most 1"),
    ({"epstein": {"citizen_vision": -1}}, "epstein.citizen_vision", "greater than 0"),
    ({"epstein": {"cop_density": 1.5}}, "epstein.cop_density", "less than or equal to 1"),
    ({"epstein": {"legitimacy": "high"}}, "epstein.legitimacy", "valid number"),
    ({"epstein": {"variant": "netlog"}}, "epstein.variant", "'netlogo', 'mesa' or 'paper'"),
    ({"epstein": {"version": "III"}}, "epstein.version", "'I' or 'II'"),
    ({"ticks": 0}, "ticks", "greater than or equal to 1"),
    ({"ticks": 2.5}, "ticks", "valid integer"),
    ({"model": "sugarscape"}, "model", "'epstein'"),
    ({"timeline": [{"tick": 5, "colour": 1}]}, "timeline.0.colour", "cannot change"),
    ({"timeline": [{"tick": 5, "legitimacy": 1.2}]}, "timeline.0.legitimacy", "less than or"),
    ({"timeline": [{"tick": 9, "until": 3, "legitimacy": 0.5}]}, "timeline.0.until", "greater"),
    ({"timeline": [{"legitimacy": 0.5}]}, "timeline.0.tick", "(missing)"),
    ({"epstein": 3}, "epstein", "valid dictionary"),
    ({"epstein": {"cop_vision": 25}}, "epstein.cop_vision", "must fit the 40x40 torus: at most 19"),
    ({"timeline": [{"tick": 5, "citizen_vision": 20}]}, "timeline.0.citizen_vision", "at most 19"),
    ({"start": "2003-03-20", "end": "2003-05-01", "ticks": 10}, "ticks",
     "must be 6, the ticks of 7 days from start (2003-03-20) to end (2003-05-01); give one of "
     "ticks and end"),
]


@pytest.mark.parametrize("data,key,allowed", BAD)
def test_bad_value_names_file_key_value_and_rule(data, key, allowed):
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data, source="my.toml")
    message = str(err.value)
    assert message.startswith(f"my.toml: {key} = ")
    assert allowed in message


def test_a_new_run_length_replaces_the_old_one(tmp_path: Path):
    """``ticks`` and ``end`` are one setting: a file that extends a scenario, or an override,
    gives one of them and replaces the base's, whichever way the base gave it; both given
    must agree (above). The old silent rule (``ticks`` wins) ran a dumped, edited scenario to
    its old end."""
    child = tmp_path / "short.toml"
    child.write_text('extends = "iraq-2003-2020"\nticks = 10\n')
    short = Scenario.load(child)
    assert (short.ticks, short.end) == (10, None)
    iraq = Scenario.load(bundled()["iraq-2003-2020"])
    assert iraq.end is not None and iraq.with_overrides(ticks=5).ticks == 5
    until_2004 = iraq.with_overrides(end="2004-03-18")
    assert until_2004.ticks == 52 and str(until_2004.end) == "2004-03-18"
    again = Scenario.from_dict(until_2004.model_dump())  # both given, in agreement
    assert (again.ticks, again.end) == (until_2004.ticks, until_2004.end)


def test_missing_file_and_bad_toml(tmp_path: Path):
    with pytest.raises(ScenarioError, match="no such file"):
        Scenario.load(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("ticks = = 3\n")
    with pytest.raises(ScenarioError, match=r"broken.toml: \(syntax\).*not valid TOML"):
        Scenario.load(broken)


@pytest.mark.parametrize("name", sorted(bundled()))
def test_every_bundled_scenario_loads(name):
    assert Scenario.load(bundled()[name]).model in ("epstein", "insurgency")


FIELDS = {
    "citizen_density": st.floats(-2, 2), "cop_density": st.floats(-2, 2),
    "citizen_vision": st.floats(-5, 30), "cop_vision": st.integers(-5, 30),
    "legitimacy": st.floats(-1, 2), "max_jail_term": st.integers(-10, 2_000_000),
    "threshold": st.floats(-1, 2), "k": st.floats(-5, 200),
    "variant": st.sampled_from(["netlogo", "mesa", "paper", "Mesa", ""]),
}


def in_range(values: dict) -> bool:
    checks = {
        "citizen_density": lambda v: 0 <= v <= 1, "cop_density": lambda v: 0 <= v <= 1,
        "citizen_vision": lambda v: 0 < v < 20, "cop_vision": lambda v: 0 < v < 20,
        "legitimacy": lambda v: 0 <= v <= 1, "max_jail_term": lambda v: 0 <= v <= 1_000_000,
        "threshold": lambda v: 0 <= v <= 1, "k": lambda v: 0 <= v <= 100,
        "variant": lambda v: v in ("netlogo", "mesa", "paper"),
    }
    ok = all(checks[k](v) for k, v in values.items())
    total = values.get("citizen_density", 0.7) + values.get("cop_density", 0.04)
    return ok and total <= 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional=FIELDS))
def test_generated_scenarios_load_iff_every_value_is_allowed(values):
    """Any combination of values loads exactly when each is in its documented range; otherwise
    the error names a key of the combination."""
    try:
        Scenario.from_dict({"epstein": values}, source="gen.toml")
    except ScenarioError as exc:
        assert not in_range(values)
        assert any(f"epstein.{k}" in exc.message for k in values), exc.message
    else:
        assert in_range(values)


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), st.integers() | st.text(max_size=5),
                       min_size=1, max_size=3))
def test_generated_unknown_top_level_keys_are_reported(extra):
    data = {k: v for k, v in extra.items() if k not in Scenario.model_fields}
    if not data:
        return
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data, source="gen.toml")
    assert "unknown key" in err.value.message


def test_round_trip_through_toml(tmp_path: Path):
    scenario = Scenario.load(bundled()["epstein-run-4"])
    path = tmp_path / "copy.toml"
    path.write_text(tomli_w.dumps(scenario.model_dump(mode="json", exclude_none=True)))
    assert Scenario.load(path).model_dump() == scenario.model_dump()
