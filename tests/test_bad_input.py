"""A hostile but honest new user (issue 26): every mistake gets one message and exit 2, with
nothing written, and no command loses or mixes results.

The commands run in this process through Typer's runner (the `resurgence` entry point is the
same app), except where a real process must be killed."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from resurgence.cli import app
from resurgence.errors import MISSING, Problem, ScenarioError, UserInputError
from resurgence.experiments import Experiment, make_plan
from resurgence.experiments.spec import ExperimentError
from resurgence.experiments.sweep import tasks_of, write_plan
from resurgence.experiments.worker import execute
from resurgence.scenario import Scenario
from resurgence.store.catalog import Catalog, run_files
from resurgence.theatre import TheatreError

SMALL = """
name = "small"
ticks = {ticks}
seed = 1
[grid]
width = 12
height = 12
[epstein]
citizen_vision = 2
cop_vision = 2
legitimacy = {legitimacy}
"""

EXPERIMENT = """
scenario = "s.toml"
seed = 1
[design]
kind = "latin_hypercube"
samples = 2
[uncertainties."epstein.legitimacy"]
low = 0.6
high = 0.9
[outcomes]
keep = ["mean_active_share"]
"""

INSURGENCY = """
name = "tiny insurgency"
model = "insurgency"
start = 2014-01-01
end = 2014-01-29
[insurgency]
cell_km = 50
people_per_agent = 2000
vision = 50
"""


def cli(*args: str, cwd: Path) -> tuple[int, str]:
    """Run `resurgence ARGS` in ``cwd``: (exit code, stdout + stderr); a traceback fails."""
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    finally:
        os.chdir(old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def one_error(code: int, output: str) -> str:
    """A user's mistake: exit 2, one `error:` message, no traceback."""
    assert code == 2, output
    assert output.count("error: ") == 1 and "Traceback" not in output, output
    return output


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its inode and mtime."""
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def small(tmp_path: Path, name: str = "s.toml", ticks: int = 10,
          legitimacy: float = 0.8) -> Path:
    path = tmp_path / name
    path.write_text(SMALL.format(ticks=ticks, legitimacy=legitimacy))
    return path


def swept(tmp_path: Path) -> Path:
    """A finished two-run sweep, run in this process."""
    small(tmp_path)
    (tmp_path / "exp.toml").write_text(EXPERIMENT)
    plan = make_plan(Experiment.load(tmp_path / "exp.toml"))
    folder = tmp_path / "res"
    folder.mkdir()
    write_plan(plan, folder)
    for task in tasks_of(plan, folder, {}).values():
        execute(task)
    Catalog(folder).reconcile()
    return folder


# ------------------------------------------------------------------ 1. read-only queries
@pytest.mark.parametrize("query", [
    "COPY (SELECT 1 AS x) TO '{run}' (FORMAT parquet)",
    "SELECT 1; COPY (SELECT 1 AS x) TO '{run}' (FORMAT parquet)",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('{outside}')",
    "ATTACH '{outside}.db' AS other",
    "SET enable_external_access = true",
    "CREATE TABLE x AS SELECT 1",
])
def test_a_query_is_read_only_and_confined_to_the_results(tmp_path: Path, query: str):
    folder = swept(tmp_path)
    run = next(iter(run_files(folder).values()))
    (tmp_path / "secret.txt").write_text("secret")
    before = listing(tmp_path)
    sql = query.format(run=run, outside=tmp_path / "secret.txt")
    code, output = cli("results", str(folder), "--query", sql, cwd=tmp_path)
    one_error(code, output)
    assert "--query" in output and "secret" not in output.replace(sql, "")
    assert listing(tmp_path) == before


def test_read_only_queries_still_see_every_table_and_view(tmp_path: Path):
    folder = swept(tmp_path)
    for sql in ("SELECT count(*) AS n FROM results", "SELECT count(*) AS n FROM series",
                "SELECT count(*) AS n FROM runs JOIN outcomes USING (run_id)",
                "EXPLAIN SELECT * FROM design", "DESCRIBE results"):
        code, output = cli("results", str(folder), "--query", sql, "--csv", cwd=tmp_path)
        assert code == 0, output


# ------------------------------------------------------------------ 2-3. run --out
def test_run_into_a_folder_of_another_scenario_is_refused_unless_forced(tmp_path: Path):
    small(tmp_path, "s.toml")
    small(tmp_path, "s2.toml", legitimacy=0.5)
    assert cli("run", "s.toml", "--seeds", "2", "--out", "X", cwd=tmp_path)[0] == 0
    before = listing(tmp_path / "X")
    code, output = cli("run", "s2.toml", "--seeds", "1", "--out", "X", cwd=tmp_path)
    one_error(code, output)
    assert "--out" in output and "--force" in output
    assert listing(tmp_path / "X") == before
    code, output = cli("run", "s2.toml", "--seeds", "1", "--out", "X", "--force", cwd=tmp_path)
    assert code == 0, output
    assert sorted(p.name for p in (tmp_path / "X").glob("seed-*")) == ["seed-1.parquet"]
    assert json.loads((tmp_path / "X" / "run.json").read_text())["seeds"] == [1]


def test_a_rerun_of_the_same_scenario_computes_only_the_missing_seeds(tmp_path: Path):
    small(tmp_path)
    assert cli("run", "s.toml", "--seeds", "2", "--out", "X", cwd=tmp_path)[0] == 0
    first = listing(tmp_path / "X")
    code, output = cli("run", "s.toml", "--seeds", "3", "--out", "X", cwd=tmp_path)
    assert code == 0, output
    now = listing(tmp_path / "X")
    for name in ("seed-1.parquet", "seed-2.parquet"):
        assert now[name] == first[name]  # kept, not computed again
    assert "seed-3.parquet" in now
    assert json.loads((tmp_path / "X" / "run.json").read_text())["seeds"] == [1, 2, 3]


@pytest.mark.parametrize("out", ["", " "])
def test_an_empty_out_is_refused(tmp_path: Path, out: str):
    small(tmp_path)
    code, output = cli("run", "s.toml", "--out", out, cwd=tmp_path)
    one_error(code, output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_a_killed_run_leaves_no_temp_file_after_a_rerun_which_resumes(tmp_path: Path):
    """The real command, SIGKILLed once it has finished a seed: the rerun keeps the finished
    seeds (same inode and mtime), computes the others, and leaves no temporary file."""
    small(tmp_path, ticks=3000)
    exe = Path(sys.executable).with_name("resurgence")
    args = [str(exe), "run", "s.toml", "--seeds", "4", "--out", "X"]
    with open(tmp_path / "err.txt", "wb") as err:
        proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
    folder = tmp_path / "X"
    end = time.monotonic() + 120
    while not (folder / "seed-1.parquet").exists() and time.monotonic() < end:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    (folder / ".seed-4.parquet.stale1.tmp").write_bytes(b"half")  # as a kill mid-write leaves
    done = {n: s for n, s in listing(folder).items() if n.startswith("seed-")}
    assert "seed-1.parquet" in done and len(done) < 4
    rerun = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    now = listing(folder)
    for name, stamp in done.items():
        assert now[name] == stamp, f"{name} was computed again"
    assert {f"seed-{s}.parquet" for s in range(1, 5)} <= set(now)
    assert not [n for n in now if n.startswith(".") or n.endswith(".tmp")], now


# ------------------------------------------------------------------ 4. worker errors
@pytest.mark.parametrize("error", [
    ScenarioError("s.toml", [Problem("insurgency.theatre", "atlantis", "a bundled theatre")]),
    TheatreError("t.toml", [Problem("(syntax)", MISSING, "not valid TOML")]),
    ExperimentError("e.toml", [Problem("seed", -1, "at least 0")]),
])
def test_user_errors_survive_a_pickle_round_trip(error: UserInputError):
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and again.message == error.message
    assert again.problems == error.problems


def _raise_scenario_error() -> None:
    raise ScenarioError("s.toml", [Problem("k", 1, "why")])


def test_a_user_error_in_a_worker_process_keeps_its_message():
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1) as pool:
        exc = pool.submit(_raise_scenario_error).exception(timeout=120)
    assert isinstance(exc, ScenarioError) and exc.message == "s.toml: k = 1: why"


def test_a_sweep_on_a_scenario_with_an_unknown_theatre_exits_2_while_planning(tmp_path: Path):
    (tmp_path / "s.toml").write_text(INSURGENCY + 'theatre = "atlantis"\n')
    (tmp_path / "exp.toml").write_text('scenario = "s.toml"\n[levers]\n'
                                       '"levers.services" = [0.2, 0.8]\n')
    code, output = cli("sweep", "exp.toml", "--workers", "1", "--out", "res", cwd=tmp_path)
    one_error(code, output)
    assert "atlantis" in output and "insurgency.theatre" in output
    assert "BrokenProcessPool" not in output
    assert not (tmp_path / "res").exists()


def _model_land(folder: Path) -> None:
    """The tests' small theatre (test_theatre's testland) with the insurgency model's four
    groups in place of its two, so that an insurgency scenario may run on it."""
    from test_theatre import FILES, TOML, _write

    govs = (FILES["govs.csv"].replace("a_share,b_share",
                                      "sunni_arab_share,shia_arab_share,kurd_share,other_share")
            .replace("0.9,0.1", "0.9,0.1,0,0").replace("0.2,0.8", "0.2,0.8,0,0"))
    _write(folder, TOML.replace('groups = ["a", "b"]',
                                'groups = ["sunni_arab", "shia_arab", "kurd", "other"]'),
           **{"govs.csv": govs})


def test_a_user_error_raised_by_the_workers_stops_the_sweep_with_its_message(tmp_path: Path):
    """A mistake planning cannot see (here the theatre's file goes away once planning loaded
    it) reaches the parent whole and stops the sweep: no retries, no restarted pools."""
    import shutil

    from resurgence.experiments import sweep
    (tmp_path / "land").mkdir()
    _model_land(tmp_path / "land")
    (tmp_path / "s.toml").write_text(
        INSURGENCY.replace("cell_km = 50", "cell_km = 10") + 'theatre = "land"\n')
    (tmp_path / "exp.toml").write_text('scenario = "s.toml"\n[levers]\n'
                                       '"levers.services" = [0.2, 0.8]\n')
    exp = Experiment.load(tmp_path / "exp.toml")
    with pytest.raises(TheatreError) as err:
        sweep(exp, tmp_path / "res", workers=1, retries=3,
              on_start=lambda *_: shutil.rmtree(tmp_path / "land"))
    assert "theatre" in err.value.message and "land" in err.value.message


# ------------------------------------------------------------------ 5. unwritable --out
@pytest.mark.parametrize("out", ["afile/sub", "afile/sub/deeper"])
def test_an_out_below_a_file_is_refused_before_any_simulation(tmp_path: Path, out: str):
    small(tmp_path, ticks=10_000_000)  # hours of simulation if it were started
    (tmp_path / "afile").write_text("x")
    start = time.monotonic()
    code, output = cli("run", "s.toml", "--out", out, cwd=tmp_path)
    one_error(code, output)
    assert "--out" in output and time.monotonic() - start < 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "s.toml"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_is_refused_before_any_simulation(tmp_path: Path):
    small(tmp_path, ticks=10_000_000)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    code, output = cli("run", "s.toml", "--out", "locked/X", cwd=tmp_path)
    one_error(code, output)
    assert "--out" in output


@pytest.mark.parametrize("args", [
    ["compare", "E", "--out", "afile/cmp.csv"],
    ["report", "E", "--out", "afile/report.html"],
    ["animate", "s.toml", "--out", "afile/run.gif"],
    ["calibrate", "s.toml", "target.csv", "--param", "epstein.legitimacy=0.5:0.9",
     "--samples", "200", "--out", "afile/cal"],
])
def test_every_out_below_a_file_is_refused_before_the_work(tmp_path: Path, args: list[str]):
    small(tmp_path)
    assert cli("run", "s.toml", "--seeds", "1", "--out", "E", cwd=tmp_path)[0] == 0
    (tmp_path / "afile").write_text("x")
    (tmp_path / "target.csv").write_text("outcome,value\nmean_active_share,0.1\n")
    before = listing(tmp_path)
    code, output = cli(*args, cwd=tmp_path)
    one_error(code, output)
    assert "--out" in output and "afile is a file" in output
    assert listing(tmp_path) == before


def test_an_out_with_missing_parents_is_created(tmp_path: Path):
    small(tmp_path)
    code, output = cli("run", "s.toml", "--seeds", "1", "--out", "a/b/c", cwd=tmp_path)
    assert code == 0, output
    assert (tmp_path / "a/b/c/seed-1.parquet").exists()


# ------------------------------------------------------------------ 6. compare, results
def test_compare_across_models_is_one_message(tmp_path: Path):
    small(tmp_path)
    (tmp_path / "i.toml").write_text(INSURGENCY)
    assert cli("run", "s.toml", "--seeds", "1", "--out", "E", cwd=tmp_path)[0] == 0
    code, output = cli("run", "i.toml", "--seeds", "1", "--out", "I", cwd=tmp_path)
    assert code == 0, output
    code, output = cli("compare", "E", "I", "--out", "cmp", cwd=tmp_path)
    one_error(code, output)
    assert "epstein" in output and "insurgency" in output
    assert not list(tmp_path.glob("cmp*"))


def test_compare_on_a_truncated_parquet_file_is_one_message(tmp_path: Path):
    small(tmp_path)
    assert cli("run", "s.toml", "--seeds", "2", "--out", "E", cwd=tmp_path)[0] == 0
    seed = tmp_path / "E" / "seed-2.parquet"
    seed.write_bytes(seed.read_bytes()[:100])
    code, output = cli("compare", "E", "--out", "cmp", cwd=tmp_path)
    one_error(code, output)
    assert "seed-2.parquet" in output
    assert not list(tmp_path.glob("cmp*"))


@pytest.mark.parametrize("text", ['{"experiment": ', '{}', '{"experiment": 1, "samples": [], '
                                  '"policies": [], "outcomes": []}'])
@pytest.mark.parametrize("command", ["results", "sensitivity"])
def test_a_corrupt_plan_is_one_message(tmp_path: Path, command: str, text: str):
    """Not JSON, JSON without the plan's keys, or with a key of the wrong kind: one message."""
    folder = swept(tmp_path)
    (folder / "plan.json").write_text(text)
    code, output = cli(command, str(folder), cwd=tmp_path)
    one_error(code, output)
    assert "plan.json" in output


def test_a_corrupt_run_manifest_is_one_message(tmp_path: Path):
    small(tmp_path)
    assert cli("run", "s.toml", "--seeds", "1", "--out", "E", cwd=tmp_path)[0] == 0
    (tmp_path / "E" / "run.json").write_text("{")
    code, output = cli("compare", "E", cwd=tmp_path)
    one_error(code, output)
    assert "run.json" in output


# ------------------------------------------------------------------ 7. checked at load
def test_an_insurgency_experiment_cannot_keep_an_epstein_outcome(tmp_path: Path):
    (tmp_path / "s.toml").write_text(INSURGENCY)
    (tmp_path / "exp.toml").write_text(
        'scenario = "s.toml"\n[outcomes]\nkeep = ["resurgence", "mean_active_share"]\n')
    with pytest.raises(ExperimentError) as err:
        Experiment.load(tmp_path / "exp.toml")
    assert "outcomes.keep.1 = 'mean_active_share'" in err.value.message


def test_scenario_and_theatre_allow_the_same_cell_sizes():
    from resurgence.scenario.insurgency import InsurgencyConfig
    from resurgence.theatre.spec import TheatreSpec

    def bounds(model: type) -> tuple[float, float]:
        meta = model.model_fields["cell_km"].metadata
        return (next(m.ge for m in meta if hasattr(m, "ge")),
                next(m.le for m in meta if hasattr(m, "le")))

    assert bounds(InsurgencyConfig) == bounds(TheatreSpec)


def test_a_cell_size_the_theatre_refuses_names_the_scenario_key(tmp_path: Path):
    from resurgence.api import check
    from test_theatre import _write

    theatre = tmp_path / "land"
    theatre.mkdir()
    _write(theatre)  # about 110 km across: 100 km cells are larger than it
    (tmp_path / "s.toml").write_text(
        INSURGENCY.replace("cell_km = 50", "cell_km = 100") + 'theatre = "land"\n')
    with pytest.raises(ScenarioError) as err:
        check(Scenario.load(tmp_path / "s.toml"))
    assert err.value.message.startswith(f"{tmp_path / 's.toml'}: insurgency.cell_km = 100")


def test_a_bad_key_in_a_base_is_blamed_on_the_base(tmp_path: Path):
    (tmp_path / "base.toml").write_text("tickz = 3\n")
    (tmp_path / "child.toml").write_text('extends = "base.toml"\nticks = 5\n')
    with pytest.raises(ScenarioError) as err:
        Scenario.load(tmp_path / "child.toml")
    assert err.value.message.startswith(f"{tmp_path / 'base.toml'}: tickz = 3: unknown key")


def test_a_relative_theatre_path_is_relative_to_the_scenario_file(tmp_path: Path):
    from resurgence.api import check
    (tmp_path / "maps" / "land").mkdir(parents=True)
    _model_land(tmp_path / "maps" / "land")
    (tmp_path / "scen").mkdir()
    (tmp_path / "scen" / "s.toml").write_text(
        INSURGENCY.replace("cell_km = 50", "cell_km = 10") + 'theatre = "../maps/land"\n')
    scenario = Scenario.load(tmp_path / "scen" / "s.toml")
    check(scenario)  # from any current folder
    assert Path(scenario.insurgency.theatre) == (tmp_path / "maps" / "land").resolve()


@pytest.mark.parametrize("bound", ["low", "high"])
def test_nan_in_a_range_is_reported_against_its_own_key(tmp_path: Path, bound: str):
    small(tmp_path)
    other = "high = 0.9" if bound == "low" else "low = 0.6"
    (tmp_path / "exp.toml").write_text(
        f'scenario = "s.toml"\n[uncertainties."epstein.legitimacy"]\n{bound} = nan\n{other}\n')
    with pytest.raises(ExperimentError) as err:
        Experiment.load(tmp_path / "exp.toml")
    assert f'uncertainties."epstein.legitimacy".{bound} = nan' in err.value.message


# ------------------------------------------------------------------ 8. numbers
def _numeric_fields() -> list[tuple[str, str, object]]:
    """(table, key, type) of every number of a scenario: found from the models, so that a new
    parameter is covered without a change here."""
    import typing

    from resurgence.scenario.epstein import EpsteinConfig
    from resurgence.scenario.insurgency import InsurgencyConfig, Levers
    from resurgence.scenario.model import GridConfig

    out = []
    for table, model in (("grid", GridConfig), ("epstein", EpsteinConfig),
                         ("insurgency", InsurgencyConfig), ("levers", Levers),
                         ("", Scenario)):
        for key, field in model.model_fields.items():
            kinds = set(typing.get_args(field.annotation)) | {field.annotation}
            if kinds & {int, float} and bool not in kinds:
                out.append((table, key, field.annotation))
            elif typing.get_origin(field.annotation) is tuple:
                out.append((table, key, field.annotation))
    return out


NUMERIC = _numeric_fields()


def _bad(value: object, annotation: object) -> object:
    import typing

    if typing.get_origin(annotation) is tuple:
        size = len(typing.get_args(annotation))
        return [value] + [0.5] * (size - 1)
    return value


@pytest.mark.parametrize("table,key,annotation", NUMERIC,
                         ids=[f"{t}.{k}" if t else k for t, k, _ in NUMERIC])
@pytest.mark.parametrize("value", [True, float("nan"), float("inf"), -float("inf")],
                         ids=["true", "nan", "inf", "-inf"])
def test_every_number_must_be_finite_and_a_number(table: str, key: str, annotation: object,
                                                   value: object):
    model = "epstein" if table in ("grid", "epstein") else "insurgency"
    entry = _bad(value, annotation)
    data = {"model": model, **({table: {key: entry}} if table else {key: entry})}
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data, source="s.toml")
    name = f"{table}.{key}" if table else key
    assert err.value.message.startswith(f"s.toml: {name}"), err.value.message


@pytest.mark.parametrize("data,key", [
    ({"levers": {"ground_forces": True}}, "levers.ground_forces"),
    ({"insurgency": {"affinity": [float("nan"), 0.05, 0.03, 0.3]}}, "insurgency.affinity.0"),
    ({"insurgency": {"affinity": [-1.0, 0.05, 0.03, 0.3]}}, "insurgency.affinity.0"),
    ({"insurgency": {"detection": [0.5, -1, 0.25, 0.04, 0.15]}}, "insurgency.detection.1"),
    ({"insurgency": {"detection": [0.5, 0.4, 0.25, float("inf"), 0.15]}},
     "insurgency.detection.3"),
    ({"insurgency": {"detection": [0.5, 0.4, 0.25, 1.5, 0.15]}}, "insurgency.detection.3"),
    ({"timeline": [{"tick": 3, "services": True}]}, "timeline.0.services"),
    ({"timeline": [{"tick": 3, "services": float("nan")}]}, "timeline.0.services"),
])
def test_the_probed_numbers_are_refused(data: dict, key: str):
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict({"model": "insurgency", **data}, source="s.toml")
    assert err.value.message.startswith(f"s.toml: {key} = "), err.value.message


def test_epstein_timeline_numbers_are_checked_too():
    with pytest.raises(ScenarioError, match="timeline.0.legitimacy"):
        Scenario.from_dict({"timeline": [{"tick": 3, "legitimacy": True}]}, source="s.toml")


# ------------------------------------------------------------------ 10. design size
def _factorial(keys: int, levels: int) -> str:
    ranges = "".join(f'[uncertainties."epstein.{k}"]\nlow = 0.1\nhigh = 0.2\n'
                     for k in ("legitimacy", "threshold", "k", "cop_density")[:keys])
    return (f'scenario = "s.toml"\n[design]\nkind = "full_factorial"\nlevels = {levels}\n'
            + ranges)


def test_a_huge_design_is_refused_before_sampling(tmp_path: Path):
    small(tmp_path)
    (tmp_path / "exp.toml").write_text(_factorial(4, 1000))  # 10^12 runs
    start = time.monotonic()
    code, output = cli("sweep", "exp.toml", "--out", "res", "--yes", cwd=tmp_path)
    one_error(code, output)
    assert "1,000,000,000,000 runs" in output and time.monotonic() - start < 30
    assert not (tmp_path / "res").exists()


def test_a_large_design_needs_yes(tmp_path: Path):
    from resurgence.experiments.design import count_runs

    small(tmp_path)
    (tmp_path / "exp.toml").write_text(_factorial(2, 400))  # 160,000 runs
    assert count_runs(Experiment.load(tmp_path / "exp.toml")) == 160_000
    code, output = cli("sweep", "exp.toml", "--out", "res", cwd=tmp_path)
    one_error(code, output)
    assert "160,000 runs" in output and "--yes" in output
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize("text,runs", [
    ('[design]\nkind = "latin_hypercube"\nsamples = 7\n', 7 * 3 * 2),
    ('[design]\nkind = "sobol"\nsamples = 8\n', 8 * (2 + 2) * 3 * 2),
    ('[design]\nkind = "sobol"\nsamples = 8\nsecond_order = true\n', 8 * (2 * 2 + 2) * 3 * 2),
    ('[design]\nkind = "morris"\nsamples = 5\n', 5 * (2 + 1) * 3 * 2),
    ('[design]\nkind = "full_factorial"\nlevels = 3\n', 3 * 3 * 3 * 2),
])
def test_the_count_is_the_plans_size(tmp_path: Path, text: str, runs: int):
    from resurgence.experiments.design import count_runs

    small(tmp_path)
    (tmp_path / "exp.toml").write_text(
        'scenario = "s.toml"\nreplications = 2\n' + text
        + '[uncertainties."epstein.legitimacy"]\nlow = 0.6\nhigh = 0.9\n'
        + '[uncertainties."epstein.threshold"]\nlow = 0.05\nhigh = 0.2\n'
        + '[levers]\n"epstein.k" = [1.0, 2.0, 3.0]\n')
    exp = Experiment.load(tmp_path / "exp.toml")
    assert count_runs(exp) == runs == len(make_plan(exp).design)


# ------------------------------------------------------------------ 11. failed options
@pytest.mark.parametrize("option,expected", [
    (["--cluster", "foo"], "slurm or pbs"),
    (["--scheduler", "tcp://127.0.0.1:1"], "no Dask scheduler answers"),
    (["--scheduler", "not an address"], "--scheduler"),
])
def test_failed_options_leave_nothing_behind(tmp_path: Path, option: list[str], expected: str):
    small(tmp_path)
    (tmp_path / "exp.toml").write_text(EXPERIMENT)
    code, output = cli("sweep", "exp.toml", "--out", "res", *option, cwd=tmp_path)
    one_error(code, output)
    assert expected in output
    assert not (tmp_path / "res").exists()


# ------------------------------------------------------------------ 12. dashboard
def test_the_dashboard_loads_only_catalogued_scenarios(tmp_path: Path):
    from resurgence.app.session import Session, scenario_names

    secret = tmp_path / "secret.toml"
    secret.write_text('name = "top secret"\nticks = "classified"\n')
    session = Session("epstein-run-2")
    for name in (str(secret), "../../etc/x.toml", "epstein-run-2.toml"):
        assert not session.load(name)
        assert "classified" not in session.error and "top secret" not in session.error
        assert "scenario" in session.error
    assert session.name == "epstein-run-2"
    assert session.load(scenario_names()[0])


@pytest.mark.parametrize("groups", [["sunni_arab", "shia_arab"],
                                    ["sunni_arab", "shia_arab", "kurd", "other", "yazidi"]])
def test_a_theatre_with_other_groups_than_the_models_is_refused_before_any_file(
        tmp_path: Path, groups: list[str]):
    """Two groups crashed the model (IndexError), five ran silently: a theatre whose groups are
    not the insurgency model's four is one message naming its ``groups``, exit 2, before
    ``run`` writes anything."""
    import shutil
    import tomllib

    import tomli_w

    from resurgence.theatre.build import DATA_DIR

    land = tmp_path / "land"
    shutil.copytree(DATA_DIR / "iraq", land)
    spec = tomllib.loads((land / "theatre.toml").read_text())
    spec["groups"] = groups
    (land / "theatre.toml").write_text(tomli_w.dumps(spec))
    gov = land / spec["files"]["governorates"]
    import pandas as pd

    df = pd.read_csv(gov)
    if "yazidi" in groups:  # a fifth share column
        df["yazidi_share"] = 0.0
    else:  # the two groups' shares sum to 1
        df["shia_arab_share"] = 1.0 - df["sunni_arab_share"]
    df.to_csv(gov, index=False)
    (tmp_path / "s.toml").write_text('extends = "iraq-2003-2020"\nticks = 2\n'
                                     '[insurgency]\ntheatre = "land"\n')
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = CliRunner().invoke(app, ["run", str(tmp_path / "s.toml"), "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "groups" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
