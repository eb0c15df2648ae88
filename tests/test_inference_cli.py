"""``resurgence calibrate --priors``, ``resurgence posterior`` and ``resurgence run
--posterior`` through the real command: the posterior file and its provenance, a SIGKILLed
inference resumed with no simulation lost or run twice and the posterior of an uninterrupted
run, reproducible draws, bad priors files, and a scaled-down inference on the Iraq history."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from tests.test_experiments_resume import wait_group_gone

from resurgence.store.catalog import read_record, run_files

EXE = str(Path(sys.executable).with_name("resurgence"))
ENV = {**os.environ, "COLUMNS": "200"}

PRIORS = """
[inference]
scenario = "epstein-run-2"
patterns = "epstein-run-2-demo"
ticks = 60
population = 50
generations = 3
budget = 5000
seed = 11

[priors."epstein.legitimacy"]
distribution = "uniform"
low = 0.6
high = 0.95
source = "assumption: around Run 2's 0.82"

[priors."epstein.max_jail_term"]
distribution = "loguniform"
low = 5
high = 100
source = "assumption"
"""


def cli(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, env=ENV,
                          timeout=timeout)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An inference run once, without interruption: the folder it wrote."""
    root = tmp_path_factory.mktemp("abc")
    (root / "priors.toml").write_text(PRIORS)
    done = cli(root, "calibrate", "--priors", "priors.toml", "--out", "whole", "--workers",
               "2")
    assert done.returncode == 0, done.stderr
    return root / "whole"


def test_the_posterior_file_holds_the_last_generation_and_its_provenance(uninterrupted: Path):
    table = pq.read_table(uninterrupted / "posterior.parquet")
    df = table.to_pandas()
    assert list(df.columns) == ["epstein.legitimacy", "epstein.max_jail_term", "weight",
                                "distance", "generation"]
    assert len(df) == 50 and df.weight.sum() == pytest.approx(1)
    assert (df.generation == 2).all()
    assert df["epstein.legitimacy"].between(0.6, 0.95).all()
    meta = json.loads(table.schema.metadata[b"resurgence.posterior"])
    assert meta["scenario"]["name"].startswith("Epstein (2002) Run 2")
    assert len(meta["scenario"]["digest"]) == 16 and meta["scenario"]["ticks"] == 60
    assert meta["priors"]["contents"] == PRIORS
    assert meta["patterns"]["set"] == "epstein-run-2-demo"
    assert [r["name"] for r in meta["patterns"]["ranges"]] == ["mean active share",
                                                               "mean jailed share"]
    assert meta["seed"] == 11 and meta["population"] == 50
    assert meta["generations_run"] == 3 and meta["stopped"] == "generations"
    gens = pd.read_csv(uninterrupted / "generations.csv")
    assert list(gens.columns) == ["t", "epsilon", "accepted", "simulations", "ess"]
    assert meta["epsilon_schedule"] == gens.epsilon.tolist()
    assert meta["epsilon_schedule"][0] == float("inf")
    eps = meta["epsilon_schedule"]
    assert all(a > b for a, b in zip(eps, eps[1:], strict=False))
    assert (df.distance <= gens.epsilon.iloc[-1]).all()
    assert meta["simulations"] == gens.simulations.sum() == len(run_files(uninterrupted))
    assert meta["wall_seconds"] > 0 and meta["machine"]["cpus"] >= 1
    assert meta["versions"]["pyabc"] == "0.13.0"
    # the catalog lists every simulation (runs, outcomes) and the posterior (a view)
    con = duckdb.connect(str(uninterrupted / "catalog.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == meta["simulations"]
    assert con.execute("SELECT count(DISTINCT name) FROM outcomes").fetchone()[0] == 3
    assert con.execute("SELECT count(*) FROM posterior").fetchone()[0] == 50


def test_a_sigkilled_inference_resumes_without_repeating_a_simulation(uninterrupted: Path):
    root = uninterrupted.parent
    with open(root / "killed-err.txt", "wb") as err:
        proc = subprocess.Popen([EXE, "calibrate", "--priors", "priors.toml", "--out", "killed",
                                 "--workers", "2"], cwd=root, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True, env=ENV)
    runs = root / "killed" / "runs"
    deadline = time.monotonic() + 240
    # mid-inference: generation 0 (50 simulations) done and generation 1 under way
    while len(list(runs.glob("*.parquet")) if runs.is_dir() else []) < 75:
        assert proc.poll() is None, "the inference ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    wait_group_gone(proc.pid)
    kept = {rid: (read_record(p)["started_at"], read_record(p)["pid"])
            for rid, p in run_files(root / "killed").items()}
    whole = json.loads(pq.read_schema(uninterrupted / "posterior.parquet")
                       .metadata[b"resurgence.posterior"])
    assert 75 <= len(kept) < whole["simulations"]

    # --finish: the posterior of generation 0, the one finished, and no simulation run
    early = cli(root, "calibrate", "--priors", "priors.toml", "--out", "killed", "--finish")
    assert early.returncode == 0, early.stderr
    assert run_files(root / "killed").keys() == kept.keys()
    meta = json.loads(pq.read_schema(root / "killed" / "posterior.parquet")
                      .metadata[b"resurgence.posterior"])
    assert meta["stopped"] == "finish" and meta["generations_run"] == 1
    assert (pd.read_parquet(root / "killed" / "posterior.parquet").generation == 0).all()

    again = cli(root, "calibrate", "--priors", "priors.toml", "--out", "killed", "--workers",
                "2")
    assert again.returncode == 0, again.stderr
    assert "resuming" in again.stderr
    after = run_files(root / "killed")
    # no simulation kept before the kill was run again (its record is the same one) ...
    assert all((read_record(after[rid])["started_at"], read_record(after[rid])["pid"]) == k
               for rid, k in kept.items())
    # ... and the resumed run added exactly the ones missing: one record per simulation
    assert len(after) == whole["simulations"]
    # the posterior is the uninterrupted run's, bit for bit
    pd.testing.assert_frame_equal(pd.read_parquet(root / "killed" / "posterior.parquet"),
                                  pd.read_parquet(uninterrupted / "posterior.parquet"),
                                  check_exact=True)
    assert (root / "killed" / "generations.csv").read_bytes() == \
        (uninterrupted / "generations.csv").read_bytes()
    # a third run finds it finished: nothing more runs, the same posterior
    third = cli(root, "calibrate", "--priors", "priors.toml", "--out", "killed")
    assert third.returncode == 0, third.stderr
    assert run_files(root / "killed").keys() == after.keys()


def test_another_inference_in_the_folder_needs_force(uninterrupted: Path):
    root = uninterrupted.parent
    (root / "other.toml").write_text(PRIORS.replace("seed = 11", "seed = 12")
                                     .replace("generations = 3", "generations = 1"))
    refused = cli(root, "calibrate", "--priors", "other.toml", "--out", "whole")
    assert refused.returncode == 2
    assert "holds another inference" in refused.stderr and "--force" in refused.stderr
    assert (uninterrupted / "posterior.parquet").exists()
    (root / "copy").mkdir()
    for name in ("posterior.parquet", "inference.json"):
        (root / "copy" / name).write_bytes((uninterrupted / name).read_bytes())
    forced = cli(root, "calibrate", "--priors", "other.toml", "--out", "copy", "--force",
                 "--workers", "2")
    assert forced.returncode == 0, forced.stderr
    meta = json.loads(pq.read_schema(root / "copy" / "posterior.parquet")
                      .metadata[b"resurgence.posterior"])
    assert meta["seed"] == 12 and meta["generations_run"] == 1


def test_posterior_command_writes_the_identification(uninterrupted: Path, tmp_path: Path):
    done = cli(tmp_path, "posterior", str(uninterrupted / "posterior.parquet"), "--out", "id")
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "id" / "identification.csv")
    assert table.parameter.tolist() == ["epstein.legitimacy", "epstein.max_jail_term"]
    assert set(table.verdict) <= {"identified", "weakly", "not identified"}
    assert (table.contraction <= 1).all()
    # the demonstration patterns were drawn around legitimacy 0.82: they narrow it
    legitimacy = table.set_index("parameter").loc["epstein.legitimacy"]
    assert legitimacy.contraction > 0.2 and 0.7 < legitimacy.posterior_mean < 0.88
    assert "| `epstein.legitimacy` |" in (tmp_path / "id" / "identification.md").read_text()
    for png in ("marginals.png", "correlations.png"):
        assert (tmp_path / "id" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "identified" in done.stdout or "weakly" in done.stdout


def test_the_representative_point_is_the_best_of_the_nearest_particles_on_fresh_seeds(
        uninterrupted: Path, tmp_path: Path):
    """--point K: the K particles of the last generation nearest the patterns, each run on
    fresh seeds 201..; the point is the one with the smallest mean distance there, written as
    a scenario that extends the fitted one and runs."""
    from resurgence.api import simulate
    from resurgence.inference.priors import load_priors
    from resurgence.inference.simulator import distance
    from resurgence.scenario import Scenario

    root = uninterrupted.parent  # the priors file the provenance names is relative to here
    post = uninterrupted / "posterior.parquet"
    done = cli(root, "posterior", str(post), "--point", "3", "--seeds", "2", "--workers", "2",
               "--out", str(tmp_path / "pt"))
    assert done.returncode == 0, done.stderr
    particles = pd.read_parquet(post).reset_index(names="particle")
    last = particles[particles.generation == particles.generation.max()]
    table = pd.read_csv(tmp_path / "pt" / "point.csv")
    assert table.particle.tolist() == last.nsmallest(3, "distance", keep="all").sort_values(
        ["distance", "weight", "particle"], ascending=[True, False, True]).particle[:3].tolist()
    runs = pd.read_csv(tmp_path / "pt" / "point-runs.csv")
    assert sorted(runs.seed.unique()) == [201, 202] and len(runs) == 6
    means = runs.groupby("particle").distance.mean()
    chosen = int(table.loc[table.chosen, "particle"].iloc[0])
    assert means[chosen] == means.min()
    # a row of the table is the run itself: the same parameters and seed, run here
    priors = load_priors(root / "priors.toml")
    row = runs.iloc[-1]
    values = {k: float(particles.loc[row.particle, k]) for k in priors.keys}
    values["epstein.max_jail_term"] = int(values["epstein.max_jail_term"] + 0.5)
    frame = simulate(priors.scenario.with_overrides(epstein={
        **priors.scenario.epstein.model_dump(), **{k.split(".")[1]: v
                                                     for k, v in values.items()}}),
        seed=int(row.seed))
    got = {p.name: p.value(frame) for p in priors.patterns()}
    assert distance(priors.patterns(), got) == pytest.approx(row.distance, abs=1e-12)
    # the point as a scenario: the fitted one, its length and the chosen particle's values
    scenario = Scenario.load(tmp_path / "pt" / "point.toml")
    best = particles.loc[chosen]
    assert scenario.epstein.legitimacy == best["epstein.legitimacy"]
    assert scenario.epstein.max_jail_term == int(best["epstein.max_jail_term"] + 0.5)
    assert scenario.ticks == 60
    assert cli(tmp_path, "run", str(tmp_path / "pt" / "point.toml"), "--out", "r",
               "--ticks", "5").returncode == 0
    # --priors without --point, or a priors file of other parameters: one message, exit 2
    other = tmp_path / "other.toml"
    other.write_text(PRIORS.split('[priors."epstein.max_jail_term"]')[0])
    for bad in (["--priors", str(root / "priors.toml")],
                ["--point", "2", "--priors", str(other)],
                ["--point", "2", "--priors", str(tmp_path / "none.toml")]):
        refused = cli(tmp_path, "posterior", str(post), *bad, "--out", "refused")
        assert refused.returncode == 2 and refused.stderr.startswith("error: --priors")
        assert not (tmp_path / "refused").exists()


def test_posterior_draws_are_reproducible(uninterrupted: Path, tmp_path: Path):
    post = str(uninterrupted / "posterior.parquet")
    args = ["run", "epstein-run-2", "--ticks", "30", "--posterior", post, "--draws", "3"]
    first = cli(tmp_path, *args, "--out", "a")
    second = cli(tmp_path, *args, "--out", "b")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    draws = pd.read_csv(tmp_path / "a" / "draws.csv")
    assert draws.seed.tolist() == [10_000, 10_001, 10_002]
    assert list(draws.columns) == ["draw", "seed", "particle", "epstein.legitimacy",
                                   "epstein.max_jail_term"]
    particles = pd.read_parquet(post)
    assert draws["epstein.legitimacy"].tolist() == \
        particles["epstein.legitimacy"].iloc[draws.particle].tolist()
    for name in ("draws.csv", "seed-10000.parquet", "seed-10001.parquet", "seed-10002.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    # each draw ran with its own parameters: the frames differ by more than the seed
    manifest = json.loads((tmp_path / "a" / "run.json").read_text())
    assert manifest["posterior"]["draws"] == 3
    # more draws into the same folder keep the first ones and add the next
    more = cli(tmp_path, *args[:-1], "5", "--out", "a")
    assert more.returncode == 0, more.stderr
    assert pd.read_csv(tmp_path / "a" / "draws.csv").head(3).equals(draws)
    assert (tmp_path / "a" / "seed-10004.parquet").exists()
    # --draws without --posterior, or --seeds with it: one message, exit 2
    for bad in (["run", "epstein-run-2", "--draws", "2"],
                [*args, "--seeds", "2"],
                ["run", "epstein-run-2", "--posterior", post],
                ["run", "iraq-2003-2020", "--posterior", post, "--draws", "2"]):
        refused = cli(tmp_path, *bad, "--out", "c")
        assert refused.returncode == 2 and refused.stderr.startswith("error: ")
        assert not (tmp_path / "c").exists()


BAD = {
    "unknown key": ('[priors."epstein.legitimacy"]', '[priors."epstein.nonsense"]',
                    'priors."epstein.nonsense"'),
    "range reversed": ("low = 0.6", "low = 0.99", 'priors."epstein.legitimacy".high'),
    "range out of the scenario's": ("high = 0.95", "high = 1.5",
                                    'priors."epstein.legitimacy".high'),
    "unknown pattern set": ('patterns = "epstein-run-2-demo"', 'patterns = "nowhere"',
                            "inference.patterns"),
    "no source": ('source = "assumption"\n', "", 'priors."epstein.max_jail_term".source'),
    "unknown distribution": ('distribution = "loguniform"', 'distribution = "beta"',
                             'priors."epstein.max_jail_term".distribution'),
    "budget below one generation": ("budget = 5000", "budget = 20", "inference.budget"),
    "unknown scenario": ('scenario = "epstein-run-2"', 'scenario = "nowhere"',
                         "inference.scenario"),
    "a key the scenario's model ignores": ('scenario = "epstein-run-2"',
                                           'scenario = "iraq-2003-2020"',
                                           'priors."epstein.legitimacy"'),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_priors_file_is_one_message_and_exit_2_with_nothing_written(case: str,
                                                                          tmp_path: Path):
    old, new, key = BAD[case]
    assert old in PRIORS
    (tmp_path / "priors.toml").write_text(PRIORS.replace(old, new, 1))
    done = cli(tmp_path, "calibrate", "--priors", "priors.toml", "--out", "out", timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: priors.toml: ")
    assert key in lines[0]
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["priors.toml"]


def test_calibrate_takes_one_mode(tmp_path: Path):
    (tmp_path / "priors.toml").write_text(PRIORS)
    for args in (["calibrate", "epstein-run-2", "t.csv", "--priors", "priors.toml"],
                 ["calibrate"]):
        done = cli(tmp_path, *args, timeout=120)
        assert done.returncode == 2 and done.stderr.startswith("error: ")
    # --finish needs an inference begun in the folder, and is for --priors only
    for args in (["--priors", "priors.toml", "--out", "none", "--finish"],
                 ["epstein-run-2", "t.csv", "--param", "epstein.legitimacy=0.6:0.9",
                  "--finish"]):
        done = cli(tmp_path, "calibrate", *args, timeout=120)
        assert done.returncode == 2 and "--finish" in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "none").exists()


IRAQ = """
[inference]
scenario = "iraq-2003-2020"
patterns = "iraq"
ticks = 104        # two years: the test of the pipeline on the real model, not an inference
population = 10
generations = 2
budget = 40
seed = 1

[priors."insurgency.recruit_rate"]
distribution = "uniform"
low = 0.05
high = 0.12
source = "assumption: around the calibrated 0.0874"
"""


def test_a_scaled_down_inference_on_the_iraq_history_finishes(tmp_path: Path):
    (tmp_path / "priors.toml").write_text(IRAQ)
    clock = time.monotonic()
    done = cli(tmp_path, "calibrate", "--priors", "priors.toml", "--out", "out", "--workers",
               "2", timeout=300)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - clock < 110
    post = pd.read_parquet(tmp_path / "out" / "posterior.parquet")
    assert len(post) == 10 and post["insurgency.recruit_rate"].between(0.05, 0.12).all()
    runs = pd.read_parquet(tmp_path / "out" / "runs")
    assert len(runs) >= 20 and "peak territory km2" in runs.columns
