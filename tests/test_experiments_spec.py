"""Experiment files: validation (one message naming file, key, value; exit 2) and the plan
(design sizes, levers, seeds that depend only on a run's place in the design)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from resurgence.cli import app
from resurgence.experiments import Experiment, ExperimentError, make_plan
from resurgence.experiments.outcomes import COLUMNS_I, COLUMNS_II, reduce
from resurgence.scenario import Scenario
from resurgence.scenario.catalog import resolve

BASE = """
name = "t"
scenario = "epstein-run-2"
seed = 7
replications = 2
ticks = 20
"""

RANGES = """
[uncertainties."epstein.legitimacy"]
low = 0.6
high = 0.9
[uncertainties."epstein.citizen_vision"]
low = 1
high = 5
"""


def load(tmp_path: Path, text: str) -> Experiment:
    path = tmp_path / "exp.toml"
    path.write_text(text)
    return Experiment.load(path)


BAD = [
    ("replicatoins = 3\n", "replicatoins = 3: unknown key (allowed: name, description, "
     "scenario"),
    ('[uncertainties."epstein.legitimcy"]\nlow = 0.1\nhigh = 0.2\n',
     'uncertainties."epstein.legitimcy" = \'epstein.legitimcy\': not a scenario key'),
    ('[uncertainties."epstein.legitimacy"]\nlow = 0.5\nhigh = 1.5\n',
     'uncertainties."epstein.legitimacy".high = 1.5: gives an invalid scenario: '
     "epstein.legitimacy = 1.5: Input should be less than or equal to 1"),
    ('[uncertainties."epstein.legitimacy"]\nlow = 0.5\nhigh = 0.2\n',
     'uncertainties."epstein.legitimacy".high = 0.2: must be greater than low (0.5)'),
    ('[uncertainties."epstein.legitimacy"]\nlow = 0.5\nhigh = "x"\n',
     'uncertainties."epstein.legitimacy".high = \'x\': Input should be a valid number'),
    ('[uncertainties."epstein.legitimacy"]\ndistribution = "triangular"\nlow = 0.5\n'
     'high = 0.9\n', 'uncertainties."epstein.legitimacy".mode = (missing): required for a '
     "triangular distribution"),
    ('[uncertainties."epstein.legitimacy"]\ndistribution = "normal"\nmean = 0.8\nsd = 0.1\n',
     'uncertainties."epstein.legitimacy".distribution = \'normal\': a full_factorial design '
     "samples uniform ranges only"),
    ('[design]\nkind = "sobol"\nsamples = 100\n' + RANGES,
     "design.samples = 100: must be a power of 2"),
    ('[design]\nkind = "grid"\n', "design.kind = 'grid': Input should be 'full_factorial', "
     "'latin_hypercube', 'sobol' or 'morris'"),
    ('[outcomes]\nkeep = ["mean_actve_share"]\n',
     "outcomes.keep.0 = 'mean_actve_share': unknown outcome (allowed: mean_active_share"),
    ('[levers]\n"epstein.cop_density" = [0.04, 0.5]\n',
     'levers."epstein.cop_density".1 = 0.5: gives an invalid scenario: '
     "epstein.citizen_density + epstein.cop_density = 1.2: must be at most 1"),
    ('[levers.shock]\nsudden = { timeline = [{ tick = 5, legitimacy = 2 }] }\n',
     'levers."shock".sudden.timeline.0.legitimacy = 2: Input should be less than or equal'),
    ('[uncertainties."seed"]\nlow = 1\nhigh = 5\n', "seeds come from the experiment's seed"),
]


@pytest.mark.parametrize("extra,expected", BAD)
def test_bad_experiment_names_file_key_value_and_what_is_allowed(tmp_path: Path, extra: str,
                                                                 expected: str):
    with pytest.raises(ExperimentError) as err:
        load(tmp_path, BASE + extra)
    assert err.value.message.startswith(f"{tmp_path / 'exp.toml'}: ")
    assert expected in err.value.message


def test_unknown_base_scenario_lists_the_bundled_ones(tmp_path: Path):
    with pytest.raises(ExperimentError) as err:
        load(tmp_path, BASE.replace("epstein-run-2", "epstein-run-99"))
    assert "scenario = 'epstein-run-99': a scenario .toml file" in err.value.message
    assert "epstein-run-2" in err.value.message


def test_cli_sweep_of_a_bad_file_exits_2_with_one_line_and_writes_nothing(tmp_path: Path):
    (tmp_path / "exp.toml").write_text(BASE + '[design]\nkind = "sobol"\nsamples = 3\n'
                                       + RANGES)
    result = CliRunner().invoke(app, ["sweep", str(tmp_path / "exp.toml"), "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "exp.toml: design.samples = 3: must be a power of 2" in result.stderr
    assert not (tmp_path / "out").exists()


def test_real_command_reports_a_toml_syntax_error_with_exit_2(tmp_path: Path):
    (tmp_path / "exp.toml").write_text(BASE + "seed = \n")
    exe = Path(sys.executable).with_name("resurgence")
    done = subprocess.run([str(exe), "sweep", "exp.toml"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 2
    assert done.stderr.startswith("error: exp.toml: (syntax) = (missing): not valid TOML")
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("kind,samples,points", [
    ("full_factorial", 1, 4 * 4),  # levels=4 per range; vision 1..5 on 4 levels
    ("latin_hypercube", 10, 10),
    ("sobol", 8, 8 * (2 + 2)),  # Saltelli: N (D + 2)
    ("morris", 3, 3 * (2 + 1)),  # N trajectories of D + 1 points
])
def test_design_sizes_follow_salib(tmp_path: Path, kind: str, samples: int, points: int):
    exp = load(tmp_path, BASE + f'[design]\nkind = "{kind}"\nsamples = {samples}\n' + RANGES
               + '[levers]\n"epstein.max_jail_term" = [10, 30]\n')
    plan = make_plan(exp)
    assert len(plan.samples) == points
    assert len(plan.design) == points * 2 * 2  # x 2 policies x 2 replications
    assert plan.design.run_id.is_unique
    lo, hi = plan.design["epstein.legitimacy"].agg(["min", "max"])
    assert 0.6 <= lo and hi <= 0.9


def test_seeds_depend_on_the_design_place_only_and_runs_are_content_addressed(tmp_path: Path):
    text = BASE + '[design]\nkind = "latin_hypercube"\nsamples = 5\n' + RANGES
    a, b = make_plan(load(tmp_path, text)), make_plan(load(tmp_path, text))
    assert a.design.equals(b.design)
    assert a.design.seed.nunique() == len(a.design)
    crn = make_plan(load(tmp_path, text.replace("ticks = 20", "ticks = 20\n"
                                                "common_random_numbers = true")))
    per_rep = crn.design.groupby("replication").seed.nunique()
    assert (per_rep == 1).all()  # replication r: one seed at every point


def test_lever_options_can_be_named_partial_scenarios(tmp_path: Path):
    exp = load(tmp_path, BASE + "[levers.shock]\nnone = {}\n"
               'sudden = { timeline = [{ tick = 10, legitimacy = 0.5 }] }\n')
    plan = make_plan(exp)
    assert list(plan.design.shock.unique()) == ["none", "sudden"]
    timelines = [plan.scenarios[r]["timeline"] for r in plan.design.run_id]
    assert [len(t) for t in timelines] == [0, 0, 1, 1]


def test_outcome_columns_match_the_model(tmp_path: Path):
    """The static column lists that validate `<stat>_<column>` outcomes are the model's."""
    from resurgence import simulate

    one = simulate(resolve("epstein-run-2"), seed=1, ticks=3)
    two = simulate(resolve("epstein-run-7"), seed=1, ticks=3)
    assert set(one.columns) - {"seed"} == set(COLUMNS_I)
    assert set(two.columns) - {"seed"} == set(COLUMNS_I + COLUMNS_II)
    out = reduce(two, ["mean_active_share", "killed", "max_blue_active", "mean_wait"])
    assert np.isnan(out["mean_wait"]) and out["killed"] >= 0


def test_uncertainty_on_a_timeline_value(tmp_path: Path):
    exp = load(tmp_path, BASE.replace("epstein-run-2", "epstein-run-4")
               + '[design]\nkind = "latin_hypercube"\nsamples = 3\n'
               '[uncertainties."timeline.0.legitimacy"]\nlow = 0.5\nhigh = 0.8\n')
    plan = make_plan(exp)
    values = {plan.scenarios[r]["timeline"][0]["legitimacy"] for r in plan.design.run_id}
    assert len(values) == 3 and all(0.5 <= v <= 0.8 for v in values)


def test_insurgency_experiments_have_the_models_own_outcomes(tmp_path: Path):
    """Outcomes are checked against the base scenario's model: the insurgency's headline
    outcomes (resurgence, casualties, ...) and <stat>_<column> over its frame."""
    text = BASE.replace("epstein-run-2", "post-mosul-both").replace("ticks = 20", "ticks = 4")
    exp = load(tmp_path, text + '[levers]\n"levers.inclusion_sunni_arab" = [0.2, 0.8]\n')
    assert exp.outcome_names == ["resurgence", "peak_territory_km2", "casualties_cumulative",
                                 "members_end"]
    assert len(make_plan(exp).design) == 4
    with pytest.raises(ExperimentError) as err:
        load(tmp_path, text + '[outcomes]\nkeep = ["resurgence", "outbursts"]\n')
    assert "outcomes.keep.1 = 'outbursts': unknown outcome of an insurgency run" \
        in err.value.message


def test_a_lever_option_can_set_the_run_length_either_way(tmp_path: Path):
    """A run's length is ``ticks`` or ``end``: an option that gives one replaces the base's
    (here ``end`` = 2030, and the experiment's ``ticks`` = 4), so both never disagree. A date
    in an option (as ``dated`` here, or a dated timeline entry) is a valid value."""
    text = BASE.replace("epstein-run-2", "post-mosul-both").replace("ticks = 20", "ticks = 4")
    exp = load(tmp_path, text + "[levers.length]\nweeks = { ticks = 3 }\n"
                                "dated = { end = 2003-05-01 }\n")
    plan = make_plan(exp)
    ticks = {label: Scenario.from_dict(plan.scenarios[r]).ticks
             for label, r in zip(plan.design.length, plan.design.run_id, strict=True)}
    assert ticks == {"weeks": 3, "dated": 6}  # 2003-03-20 + 6 weeks
