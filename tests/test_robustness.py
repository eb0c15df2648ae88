"""Regret and satisficing across futures (issue 22), checked against an example computed by
hand, and their bootstrap intervals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from resurgence.experiments.robustness import (
    per_future,
    regret,
    robustness,
    satisficing,
    surface,
)

EXE = str(Path(sys.executable).with_name("resurgence"))


def hand_cases() -> pd.DataFrame:
    """Three futures, two policies (A, B), two replications each; casualties and whether the
    group returned. Means per (future, policy), by hand:
    future 0: A 10, B 20; future 1: A 30, B 20; future 2: A 5, B 6 (casualties)
    resurgence: A 0, 1, 0.5; B 0, 0, 0 (shares of the replications)."""
    rows = []
    data = {(0, "A"): ([9, 11], [0, 0]), (0, "B"): ([20, 20], [0, 0]),
            (1, "A"): ([25, 35], [1, 1]), (1, "B"): ([18, 22], [0, 0]),
            (2, "A"): ([4, 6], [0, 1]), (2, "B"): ([6, 6], [0, 0])}
    for (f, p), (cas, res) in data.items():
        for r in range(2):
            rows.append({"point": f, "policy": p, "replication": r,
                         "casualties": float(cas[r]), "resurgence": float(res[r])})
    return pd.DataFrame(rows)


def test_regret_and_satisficing_match_the_hand_computed_example():
    table = per_future(hand_cases(), ["casualties", "resurgence"])
    reg = regret(table, "casualties")
    # best per future: 10 (A), 20 (B), 5 (A); regret A: 0, 10, 0; B: 10, 0, 1
    assert reg["A"].tolist() == [0.0, 10.0, 0.0] and reg["B"].tolist() == [10.0, 0.0, 1.0]
    sat = satisficing(table, {"resurgence": ("<=", 0.5), "casualties": ("<", 25.0)})
    # A: future 0 yes, 1 no (resurgence 1, casualties 30), 2 yes (0.5 <= 0.5); B: all yes
    assert sat["A"].tolist() == [True, False, True] and sat["B"].tolist() == [True, True, True]
    out = robustness(hand_cases(), "casualties", {"resurgence": ("<=", 0.5)}, resamples=500)
    a = out.set_index("policy").loc["A"]
    b = out.set_index("policy").loc["B"]
    assert a.regret_mean == pytest.approx(10 / 3) and b.regret_mean == pytest.approx(11 / 3)
    assert a.satisficing == pytest.approx(2 / 3) and b.satisficing == 1.0
    assert a.regret_p90 == pytest.approx(np.quantile([0, 10, 0], 0.9))
    assert list(out.policy) == ["A", "B"]  # by mean regret
    # higher is better: regret is the distance below the best
    assert regret(table, "casualties", lower_is_better=False)["A"].tolist() == [10.0, 0.0, 1.0]


def test_intervals_hold_the_estimate_narrow_with_more_futures_and_repeat():
    rng = np.random.default_rng(5)
    cases = pd.DataFrame({"point": np.repeat(np.arange(200), 2), "policy": ["A", "B"] * 200,
                          "casualties": rng.normal(100, 10, 400), "resurgence": 0.0})
    cases.loc[cases.policy == "B", "casualties"] += 5.0  # B is worse by 5 on average
    out = robustness(cases, "casualties", {"casualties": ("<", 110.0)}, seed=3)
    few = robustness(cases[cases.point < 20], "casualties", {"casualties": ("<", 110.0)},
                     seed=3)
    for t in (out, few):
        assert ((t.regret_mean_low <= t.regret_mean) & (t.regret_mean <= t.regret_mean_high)
                ).all()
        assert ((t.satisficing_low <= t.satisficing) & (t.satisficing <= t.satisficing_high)
                ).all()
    width = (out.regret_mean_high - out.regret_mean_low).max()
    assert width < (few.regret_mean_high - few.regret_mean_low).max()
    assert out.policy.iloc[0] == "A" and out.regret_mean.iloc[1] > 3.0
    pd.testing.assert_frame_equal(out, robustness(cases, "casualties",
                                                  {"casualties": ("<", 110.0)}, seed=3))


def test_the_commands_rank_a_sweeps_policies_and_its_inputs(tmp_path: Path):
    """A small sweep (two policies: jail terms of 10 and 30, over 3 futures x 2 seeds) through
    ``resurgence robustness``: one row per policy, the best policy's regret 0 in every future
    is its own, regret never negative, satisficing a share; a bad rule is one message."""
    from tests.test_experiments_sweep import experiment

    from resurgence.experiments import sweep

    exp = experiment(tmp_path, samples=3)
    sweep(exp, tmp_path / "out", workers=2)
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run([EXE, "robustness", str(tmp_path / "out"), "--outcome",
                           "peak_active", "--rule", "outbursts <= 1"], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "out" / "robustness-peak_active.csv")
    assert sorted(table.policy.astype(float)) == [10.0, 30.0] and (table.futures == 3).all()
    assert (table.regret_mean >= 0).all() and table.regret_mean.min() < table.regret_mean.max()
    assert table.satisficing.between(0, 1).all()
    # what drives the outcome, over the same runs (EMA Workbench feature scoring)
    scored = subprocess.run([EXE, "features", str(tmp_path / "out"), "--outcome",
                             "peak_active"], capture_output=True, text=True, env=env,
                            timeout=300)
    assert scored.returncode == 0, scored.stderr
    scores = pd.read_csv(tmp_path / "out" / "features-peak_active.csv")
    assert set(scores.input) == {"epstein.legitimacy", "epstein.citizen_vision",
                                 "epstein.max_jail_term"}
    assert scores.score.sum() == pytest.approx(1.0)
    # the study's report: plan, robustness table, PRIM where the rule fails, feature scores
    reported = subprocess.run([EXE, "report", str(tmp_path / "out"), "--outcome", "peak_active",
                               "--rule", "outbursts <= 1", "--out", str(tmp_path / "r.html")],
                              capture_output=True, text=True, env=env, timeout=300)
    assert reported.returncode == 0, reported.stderr
    page = (tmp_path / "r.html").read_text()
    for heading in ("The plan", "Robustness", "Where outbursts &gt; 1", "What drives peak_active",
                    "Provenance"):
        assert f"<h2>{heading}" in page, heading
    assert "regret_mean" in page and "10.0" in page and "30.0" in page
    not_a_lever = subprocess.run([EXE, "surface", str(tmp_path / "out"), "--x",
                                  "epstein.max_jail_term", "--y", "nonsense", "--outcome",
                                  "peak_active"], capture_output=True, text=True, env=env)
    assert not_a_lever.returncode == 2 and "--y" in not_a_lever.stderr
    twice = subprocess.run([EXE, "surface", str(tmp_path / "out"), "--x",
                            "epstein.max_jail_term", "--y", "epstein.max_jail_term",
                            "--outcome", "peak_active"], capture_output=True, text=True,
                           env=env)
    assert twice.returncode == 2 and "each named once" in twice.stderr
    assert "Traceback" not in twice.stderr
    bad = subprocess.run([EXE, "robustness", str(tmp_path / "out"), "--outcome", "peak_active",
                          "--rule", "nonsense < 1"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "--rule" in bad.stderr and "Traceback" not in bad.stderr


def test_the_surface_is_the_mean_at_each_setting_and_draws_one_map_per_facet():
    """Two levers x and y (2 x 2) and a facet (2), three cases a cell: the surface is each
    cell's mean, by hand; the figure has one heat map per facet value."""
    from resurgence.viz.experiment_plots import plot_surface

    rows = []
    for f in ("lo", "hi"):
        for xv in (0.2, 0.8):
            for yv in (0.4, 0.6):
                for k in range(3):
                    rows.append({"air": f, "inclusion": xv, "forces": yv,
                                 "resurgence": float(k == 0 and xv == 0.2)})
    table = surface(pd.DataFrame(rows), "inclusion", "forces", "resurgence", facet="air")
    assert len(table) == 8 and (table.cases == 3).all()
    assert table.set_index(["air", "forces", "inclusion"]).loc[("lo", 0.4, 0.2),
                                                               "resurgence"] == pytest.approx(1 / 3)
    assert (table[table.inclusion == 0.8].resurgence == 0).all()
    fig = plot_surface(table, "inclusion", "forces", "resurgence", facet="air")
    maps = [ax for ax in fig.get_axes() if ax.get_images()]
    assert sorted(ax.get_title() for ax in maps) == ["air = hi", "air = lo"]
