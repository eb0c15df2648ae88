"""The policy study's experiment file (issue 22): futures drawn from a posterior, policies
that add dated entries to the history's timeline, resurgence counted after the branch, and
``resurgence sweep FILE --plan``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from resurgence.experiments import Experiment, ExperimentError, make_plan
from resurgence.experiments.worker import RunTask, execute

ROOT = Path(__file__).resolve().parents[1]
POSTERIOR = ROOT / "posteriors" / "iraq-until-2012.parquet"
STUDY = ROOT / "experiments" / "post-mosul-robustness.toml"
EXE = str(Path(sys.executable).with_name("resurgence"))


def study(tmp_path: Path, **edits: str) -> Path:
    """The shipped study file, its posterior pointed at ``posterior`` (a path), with textual
    edits ``old=new``."""
    text = STUDY.read_text().replace('file = "../posteriors/iraq-2003-2020.parquet"',
                                     f'file = "{edits.pop("posterior", POSTERIOR)}"')
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


def test_each_future_takes_its_own_posterior_draw_reproducibly(tmp_path: Path):
    exp = Experiment.load(study(tmp_path, **{"samples = 200": "samples = 6",
                                              "replications = 20": "replications = 2"}))
    plan = make_plan(exp)
    d = plan.design
    assert len(plan.policies) == 8 and d["point"].nunique() == 6
    assert len(d) == 6 * 8 * 2 and len(plan.run_ids) == len(d)
    keys = exp.posterior_keys
    assert "insurgency.recruit_rate" in keys and "particle" in d
    # one draw per future, the same under every policy and replication; from the posterior's
    # particles, and the same again from the same file and seed
    per_point = d.groupby("point")[[*keys, "particle"]].nunique()
    assert (per_point == 1).all().all()
    particles = pd.read_parquet(POSTERIOR)
    first = d.drop_duplicates("point")
    for _, row in first.iterrows():
        assert row["insurgency.recruit_rate"] == particles["insurgency.recruit_rate"].iloc[
            int(row["particle"])]
    again = make_plan(Experiment.load(study(tmp_path, **{
        "samples = 200": "samples = 6", "replications = 20": "replications = 2"})))
    pd.testing.assert_frame_equal(again.design, d)
    # a policy's dated entries come after the history's, which stay
    sc = plan.scenarios[d.run_id.iloc[0]]
    inclusion = plan.scenarios[d[d.policy == 1].run_id.iloc[0]]
    assert len(inclusion["timeline"]) == len(sc["timeline"]) + 1
    assert inclusion["timeline"][:-1] == sc["timeline"]


def test_a_posterior_parameter_that_is_also_an_uncertainty_is_one_message(tmp_path: Path):
    path = study(tmp_path, **{'[uncertainties."insurgency.backlash"]':
                              '[uncertainties."insurgency.recruit_rate"]\nlow = 0.05\nhigh = '
                              '0.1\n\n[uncertainties."insurgency.backlash"]'})
    with pytest.raises(ExperimentError, match="also an uncertainty"):
        Experiment.load(path)
    with pytest.raises(ExperimentError, match="a name the design table uses"):
        Experiment.load(study(tmp_path, **{"[levers.strategy]": "[levers.policy]"}))
    missing = study(tmp_path, posterior=tmp_path / "none.parquet")
    done = subprocess.run([EXE, "sweep", str(missing), "--plan"], capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 2 and "posterior.file" in done.stderr and "no such file" in \
        done.stderr and "Traceback" not in done.stderr


def test_the_plan_prints_policies_futures_runs_and_time_and_runs_nothing(tmp_path: Path):
    path = study(tmp_path)
    done = subprocess.run([EXE, "sweep", str(path), "--plan", "--workers", "2"], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"},
                          timeout=600)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "policies (8):" in out and "strategy=placebo" in out
    assert "futures: 200" in out and "replications: 20" in out
    assert "runs: 32000" in out and "estimated hours: " in out
    hours = float(out.split("estimated hours: ")[1].split()[0])
    seconds = float(out.split("seconds a run (measured): ")[1].split()[0])
    assert seconds > 0 and hours == pytest.approx(32000 * seconds / 2 / 3600, rel=0.01)
    assert not (tmp_path / "results").exists()


def test_the_placebo_does_nothing_and_inclusion_does_something(tmp_path: Path):
    """Run to ten weeks past the branch: the placebo's run is the military-only run, bit for
    bit (common random numbers, a lever set to the value it has); the inclusion policy's is
    not. Resurgence is counted after the branch date."""
    exp = Experiment.load(study(tmp_path, **{"samples = 200": "samples = 1",
                                              "replications = 20": "replications = 1"}))
    plan = make_plan(exp)
    rows = plan.design.set_index("policy")
    frames = {}
    for p in (0, 1, 7):  # military-only, inclusion, placebo
        rid = rows.loc[p, "run_id"]
        scenario = {**plan.scenarios[rid], "end": None, "ticks": 758}  # to 2017-09-18
        task = RunTask(run_id=rid, scenario=scenario, seed=int(rows.loc[p, "seed"]), params={},
                       outcomes=["resurgence"], burn_in=0, outburst_threshold=50, series=True,
                       path=str(tmp_path / f"{p}.parquet"), after="2017-07-10")
        execute(task)
        frames[p] = pd.read_parquet(tmp_path / f"{p}.parquet")
    assert rows.loc[0, "seed"] == rows.loc[7, "seed"] == rows.loc[1, "seed"]
    mil, inc, placebo = frames[0], frames[1], frames[7]
    cols = [c for c in mil.columns if not c.startswith("lever_") and c != "run_id"]
    pd.testing.assert_frame_equal(placebo[cols], mil[cols])
    branch = int(np.searchsorted(pd.to_datetime(mil["date"]), pd.Timestamp("2017-07-10")))
    pd.testing.assert_frame_equal(inc[cols].iloc[:branch], mil[cols].iloc[:branch])  # before it
    assert not inc["legitimacy_sunni_arab"].iloc[-1] == mil["legitimacy_sunni_arab"].iloc[-1]


def test_a_scaled_down_study_runs_through_the_whole_pipeline(tmp_path: Path):
    """The shipped study at 2 futures x 1 seed, cut ten weeks past the branch (758 weeks),
    through the real commands: `sweep` runs the 8 policies in each future, `robustness` ranks
    them, `report` renders the study with PRIM where a rule fails; the placebo's outcomes are
    military-only's in every future (so is its regret), inclusion's casualties since the
    branch are not, and no casualty before the branch counts in them."""
    from resurgence.store.catalog import Catalog

    path = study(tmp_path, **{"samples = 200": "samples = 2",
                              "replications = 20": "replications = 1",
                              "common_random_numbers = true":
                                  "common_random_numbers = true\nticks = 758"})
    out = tmp_path / "out"
    env = {**os.environ, "COLUMNS": "200"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([EXE, *args], capture_output=True, text=True, env=env,
                              timeout=900)

    done = cli("sweep", str(path), "--workers", "2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    runs = Catalog(out, read_only=True).query(
        "select d.point, d.policy, o.name, o.value from outcomes o join design d using (run_id)")
    wide = runs.pivot_table(index=["point", "policy"], columns="name", values="value")
    assert len(wide) == 16 and wide.index.get_level_values("policy").nunique() == 8
    mil, inc, placebo = (wide.xs(p, level="policy") for p in (0, 1, 7))
    pd.testing.assert_frame_equal(placebo, mil)
    assert (inc["casualties_since"] != mil["casualties_since"]).all()
    assert (wide["casualties_since"] < wide["casualties_cumulative"]).all()
    limit = float(wide["casualties_since"].median())
    rule = f"casualties_since <= {limit}"
    ranked = cli("robustness", str(out), "--outcome", "casualties_since", "--rule", rule)
    assert ranked.returncode == 0, ranked.stderr
    table = pd.read_csv(out / "robustness-casualties_since.csv").set_index("policy")
    assert len(table) == 8 and (table.futures == 2).all()
    assert table.loc["placebo", "regret_mean"] == table.loc["military-only", "regret_mean"]
    assert (table.regret_mean >= 0).all() and table.satisficing.between(0, 1).all()
    reported = cli("report", str(out), "--outcome", "casualties_since", "--rule", rule,
                   "--out", str(tmp_path / "study.html"))
    assert reported.returncode == 0, reported.stderr
    page = (tmp_path / "study.html").read_text()
    for heading in ("The plan", "Robustness", "Where casualties_since &gt;", "Provenance"):
        assert f"<h2>{heading}" in page, heading
    for policy in table.index:
        assert policy in page
