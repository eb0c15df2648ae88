"""Analysis of sweeps: Sobol' indices (Ishigami, then the Epstein model), PRIM scenario
discovery, calibration that recovers a known parameter, and the results command."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from resurgence.cli import app
from resurgence.experiments import Experiment, make_plan, sweep
from resurgence.experiments.calibration import Target, calibrate
from resurgence.experiments.discovery import cases, discover, feature_scores, find_leaves
from resurgence.experiments.executors import Pool
from resurgence.experiments.outcomes import reduce
from resurgence.experiments.sensitivity import analyse
from resurgence.experiments.sweep import write_plan
from resurgence.scenario import Scenario
from resurgence.store.catalog import Catalog

SCENARIO = """
name = "20x20"
ticks = 150
[grid]
width = 20
height = 20
[epstein]
citizen_vision = 3
cop_vision = 3
"""

#: Ishigami (a = 7, b = 0.1) on U(-pi, pi)^3: Saltelli et al. (2008), Global Sensitivity
#: Analysis: The Primer, section 4.4
ISHIGAMI_S1 = [0.3139, 0.4424, 0.0]
ISHIGAMI_ST = [0.5576, 0.4424, 0.2437]


#: three scenario keys spanning a unit cube (cop density up to 0.3)
CUBE = """
[uncertainties."epstein.legitimacy"]
low = 0
high = 1
[uncertainties."epstein.threshold"]
low = 0
high = 1
[uncertainties."epstein.cop_density"]
low = 0
high = 0.3
"""


def synthetic(tmp_path: Path, design: str, outcome: str,
              model: Callable[[pd.DataFrame], np.ndarray]) -> Path:
    """A sweep's results folder whose outcome comes from ``model(design table)`` instead of
    runs: the whole path of a sweep's outputs (design order, catalog) without simulating."""
    (tmp_path / "s.toml").write_text(SCENARIO)
    (tmp_path / "exp.toml").write_text(f'scenario = "s.toml"\n{design}{CUBE}[outcomes]\n'
                                       f'keep = ["{outcome}"]\n')
    plan = make_plan(Experiment.load(tmp_path / "exp.toml"))
    folder = tmp_path / "out"
    folder.mkdir()
    write_plan(plan, folder)
    d = plan.design
    Catalog(folder).add({"run_id": rid, "seed": int(seed), "outcomes": {outcome: float(y)}}
                        for rid, seed, y in zip(d.run_id, d.seed, model(d), strict=True))
    Catalog(folder).set_design()
    return folder


def test_sobol_indices_of_the_ishigami_function_match_the_known_values(tmp_path: Path):
    """The whole path a sweep's outputs take (design order, catalog, averaging per point,
    SALib), with the Ishigami function standing in for the model. Three scenario keys span
    the inputs; each is mapped affinely onto (-pi, pi), which leaves Sobol' indices unchanged.
    Saltelli sample N = 1024 (5,120 points): tolerance 0.03 on every index (the estimates
    land within 0.005; SALib's 95% bootstrap half-widths at this N are 0.03-0.06)."""
    from SALib.test_functions import Ishigami

    def ishigami(d: pd.DataFrame) -> np.ndarray:
        u = np.stack([d["epstein.legitimacy"], d["epstein.threshold"],
                      d["epstein.cop_density"] / 0.3], axis=1)
        return Ishigami.evaluate(-np.pi + 2 * np.pi * u)

    folder = synthetic(tmp_path, 'seed = 1\n[design]\nkind = "sobol"\nsamples = 1024\n',
                       "mean_active_share", ishigami)
    table = analyse(folder)[("mean_active_share", "all")]
    assert np.allclose(table.S1, ISHIGAMI_S1, atol=0.03), table
    assert np.allclose(table.ST, ISHIGAMI_ST, atol=0.03), table
    # and each known value lies inside SALib's 95% bootstrap interval
    assert (np.abs(table.S1 - ISHIGAMI_S1) <= table.S1_conf).all()
    assert (np.abs(table.ST - ISHIGAMI_ST) <= table.ST_conf).all()


@pytest.fixture(scope="module")
def epstein_sweep(tmp_path_factory) -> Path:
    """Sobol' design over legitimacy (0.6-0.95) and citizen vision (1-7) on a 20x20 torus,
    150 ticks, N = 32: 128 runs, one seed each."""
    root = tmp_path_factory.mktemp("epstein")
    (root / "s.toml").write_text(SCENARIO)
    (root / "exp.toml").write_text("""
name = "legitimacy vs vision"
scenario = "s.toml"
seed = 3
[design]
kind = "sobol"
samples = 32
[uncertainties."epstein.legitimacy"]
low = 0.6
high = 0.95
[uncertainties."epstein.citizen_vision"]
low = 1
high = 7
[outcomes]
keep = ["mean_active_share", "outbursts", "peak_active"]
burn_in = 30
outburst_threshold = 20
""")
    report = sweep(Experiment.load(root / "exp.toml"), root / "out", workers=2)
    assert report.complete and report.ran == 128
    return root / "out"


def test_legitimacy_matters_more_than_vision_for_the_active_share(epstein_sweep: Path):
    """Epstein (2002): rebellion is driven by grievance H(1 - L); vision changes how many
    cops and actives an agent sees, i.e. the local risk, but the mean active share after
    burn-in hardly moves with it (found: ST ~ 1 for legitimacy, ~ 0.05 for vision). The
    ranking must hold beyond the 95% bootstrap intervals."""
    table = analyse(epstein_sweep, ["mean_active_share"])[("mean_active_share", "all")]
    leg, vis = table.set_index("parameter").loc[["epstein.legitimacy",
                                                 "epstein.citizen_vision"]].itertuples()
    assert leg.ST - leg.ST_conf > vis.ST + vis.ST_conf, table
    assert leg.S1 > vis.S1


def test_sensitivity_command_writes_table_and_plot(epstein_sweep: Path):
    result = CliRunner().invoke(app, ["sensitivity", str(epstein_sweep), "--outcome",
                                      "outbursts"])
    assert result.exit_code == 0, result.output
    assert "epstein.legitimacy" in result.stdout
    assert (epstein_sweep / "sensitivity.png").read_bytes()[:4] == b"\x89PNG"
    assert "ST_conf" in (epstein_sweep / "sensitivity.csv").read_text()


def test_prim_finds_that_low_legitimacy_makes_rebellion_widespread(epstein_sweep: Path):
    """Runs with a mean active share above 5%: PRIM's box restricts legitimacy from above
    (found: <= 0.83 of 0.6-0.95) and leaves vision free. (Above 10% is no good question on
    this grid: the share saturates near 0.1 for every legitimacy below ~0.67.)"""
    found = discover(epstein_sweep, "mean_active_share", "> 0.05")
    assert 0 < found.of_interest < found.cases
    limits = found.limits.set_index("input")
    assert list(limits.index) == ["epstein.legitimacy"]
    assert limits.loc["epstein.legitimacy", "high"] < 0.9  # only below some legitimacy
    assert found.stats["density"] >= 0.8 and found.stats["coverage"] >= 0.5
    # the trade-off plot (viz): every box of the peeling trajectory, the chosen one ringed
    from resurgence.viz.experiment_plots import plot_tradeoff

    ax = plot_tradeoff(found).axes[0]
    boxes, chosen = (c.get_offsets() for c in ax.collections[:2])
    assert len(boxes) == len(found.trajectory)
    row = found.trajectory.loc[found.box]
    assert list(chosen[0]) == [row.coverage, row.density]
    assert row.density == found.stats["density"] and row.coverage == found.stats["coverage"]


def test_discover_and_results_commands_answer_in_one_line_on_a_mistake(epstein_sweep: Path):
    runner = CliRunner()
    bad = runner.invoke(app, ["discover", str(epstein_sweep), "--outcome", "outbursts",
                              "--condition", "lots"])
    assert bad.exit_code == 2 and "--condition = 'lots': an operator and a number" in bad.stderr
    bad = runner.invoke(app, ["results", str(epstein_sweep), "--query", "SELECT nope"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --query")
    ok = runner.invoke(app, ["results", str(epstein_sweep), "--csv", "--query",
                             'SELECT count(*) AS n, avg(outbursts) AS o FROM results '
                             'WHERE "epstein.legitimacy" < 0.7'])
    assert ok.exit_code == 0 and ok.stdout.startswith("n,o\n")
    summary = runner.invoke(app, ["results", str(epstein_sweep)])
    assert "128 runs planned, 128 done, 0 failed" in summary.stdout.replace("\n", " ")


def test_calibration_recovers_a_known_legitimacy(tmp_path: Path):
    """Target: mean active share of 8 runs at legitimacy 0.75 (seeds unlike the fit's).
    Fit: legitimacy in 0.6-0.95, 4 common seeds, 8 Latin hypercube points then 12 Nelder-Mead
    evaluations. Tolerance 0.03: the active share falls from ~0.25 to ~0.02 between
    legitimacy 0.74 and 0.85 on this grid, so 0.03 is a few seed standard errors."""
    scenario = Scenario.from_dict({**Scenario.load(_write(tmp_path, SCENARIO)).model_dump()})
    truth = scenario.model_copy(update={"epstein": scenario.epstein.model_copy(
        update={"legitimacy": 0.75})})
    from resurgence import simulate

    values = [reduce(simulate(truth, seed=1000 + s), ["mean_active_share"], burn_in=30)
              ["mean_active_share"] for s in range(8)]
    target = Target("synthetic", "values", ["mean_active_share"], np.array([]),
                    np.array([np.mean(values)]))
    with Pool(workers=2) as pool:
        fit = calibrate(scenario, target, {"epstein.legitimacy": (0.6, 0.95)}, pool.executor,
                        seeds=4, samples=8, refine=12, seed=0, burn_in=30)
    assert abs(fit.params["epstein.legitimacy"] - 0.75) < 0.03, fit.evaluations
    lo, hi = fit.plausible["epstein.legitimacy"]
    assert lo <= fit.params["epstein.legitimacy"] <= hi
    assert fit.stats["rmse"] < 0.05 and fit.stats["evaluations"] <= 8 + 12


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def test_prim_finds_a_box_that_restricts_a_policy(tmp_path: Path):
    """A box on a categorical input (a lever's options, as a policy study's): of interest
    exactly when the variant is ``mesa`` and legitimacy below 0.3. PRIM keeps ``mesa`` alone
    and legitimacy below about 0.3 (EMA Workbench's own ``inspect`` failed on such a box)."""
    def box(d: pd.DataFrame) -> np.ndarray:
        inside = (d["epstein.variant"] == "mesa") & (d["epstein.legitimacy"] < 0.3)
        return inside.to_numpy(float) * 10

    folder = synthetic(tmp_path, 'seed = 5\n[design]\nkind = "latin_hypercube"\n'
                       'samples = 400\n[levers]\n"epstein.variant" = ["netlogo", "mesa"]\n',
                       "outbursts", box)
    found = discover(folder, "outbursts", "> 5", threshold=0.8)
    limits = found.limits.set_index("input")
    assert limits.loc["epstein.variant", "low"] == "['mesa']"
    assert abs(float(limits.loc["epstein.legitimacy", "high"]) - 0.3) < 0.05
    assert found.stats["density"] >= 0.8 and found.stats["coverage"] >= 0.8
    # CART's densest leaf is the same box; the same seed grows the same tree
    x, y = cases(folder, "outbursts")
    leaves = find_leaves(x, y > 5, seed=0)
    best = leaves.iloc[0]
    assert best.density >= 0.8 and best.coverage >= 0.8
    assert "epstein.variant in {mesa}" in best.rule
    upper = re.search(r"epstein\.legitimacy <= ([0-9.]+)", best.rule)
    assert upper is not None and abs(float(upper.group(1)) - 0.3) < 0.05
    assert leaves.equals(find_leaves(x, y > 5, seed=0))
    assert leaves.mass.sum() == pytest.approx(1.0)  # the leaves partition the cases
    # the command writes both
    done = CliRunner().invoke(app, ["discover", str(folder), "--outcome", "outbursts",
                                    "--condition", "> 5"])
    assert done.exit_code == 0, done.output
    assert pd.read_csv(folder / "discover-outbursts-cart.csv").equals(leaves)
    assert (folder / "discover-outbursts.csv").exists()


def test_prim_finds_a_known_box_and_feature_scoring_its_inputs(tmp_path: Path):
    """A synthetic outcome stands in for the model: a case is of interest exactly when
    legitimacy is in [0.2, 0.5] and the threshold above 0.7 (a box of mass 0.09 in 800
    Latin-hypercube points); cop density is noise. PRIM restricts legitimacy and threshold
    to about that box (within 0.05: the points near its edges) and leaves cop density free,
    with density at least 0.8 and coverage at least 0.8."""
    def box(d: pd.DataFrame) -> np.ndarray:
        inside = d["epstein.legitimacy"].between(0.2, 0.5) & (d["epstein.threshold"] > 0.7)
        return inside.to_numpy(float) * 10

    folder = synthetic(tmp_path, 'seed = 3\n[design]\nkind = "latin_hypercube"\n'
                       'samples = 800\n', "outbursts", box)
    found = discover(folder, "outbursts", "> 5", threshold=0.8)
    # feature scoring ranks the two inputs of the box above the noise
    scores = feature_scores(folder, "outbursts", seed=1).set_index("input")["score"]
    assert scores["epstein.cop_density"] < 0.5 * min(scores["epstein.legitimacy"],
                                                     scores["epstein.threshold"])
    limits = found.limits.set_index("input")
    assert found.stats["density"] >= 0.8 and found.stats["coverage"] >= 0.8
    assert set(limits.index) == {"epstein.legitimacy", "epstein.threshold"}
    lo, hi = limits["low"].astype(float), limits["high"].astype(float)
    assert abs(lo["epstein.legitimacy"] - 0.2) < 0.05
    assert abs(hi["epstein.legitimacy"] - 0.5) < 0.05
    assert abs(lo["epstein.threshold"] - 0.7) < 0.05 and hi["epstein.threshold"] > 0.95
