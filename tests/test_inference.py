"""The inference core (ABC-SMC): a known posterior recovered, the same posterior on a local
pool and on a Dask cluster, the budget kept, and the identification table."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from resurgence.inference.identification import correlations, identification, verdict
from resurgence.inference.priors import Prior, load_priors
from resurgence.inference.smc import Problem, infer
from resurgence.patterns import Pattern

# ----------------------------------------------------------------- a toy with a known answer
#: n observations x_i ~ N(mu, 1) with mean XBAR; prior mu ~ N(0, 1) (truncated at +-8 sd,
#: which changes nothing measurable). Posterior: N(n XBAR / (n + 1), 1 / (n + 1)).
N_OBS, XBAR = 10, 0.5
POST_MEAN, POST_SD = N_OBS * XBAR / (N_OBS + 1), (1 / (N_OBS + 1)) ** 0.5


def toy(params: dict[str, float], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(params["mu"], 1.0, N_OBS)})


def sample_mean(df: pd.DataFrame) -> float:
    return float(df["x"].mean())


def toy_problem(population: int = 400, generations: int = 6, budget: int = 10**6) -> Problem:
    # the summary statistic is the sample mean; the pattern's range is the one observed value
    pattern = Pattern("sample mean", XBAR, XBAR, sample_mean, "toy", log=False)
    prior = Prior(distribution="truncnormal", low=-8, high=8, mean=0, sd=1, source="toy")
    return Problem({"mu": prior}, toy, (pattern,), population, generations, budget, seed=3)


def weighted(p: pd.DataFrame, key: str) -> tuple[float, float]:
    w = p["weight"].to_numpy()
    m = float((w * p[key]).sum())
    return m, float((w * (p[key] - m) ** 2).sum()) ** 0.5


def test_the_posterior_of_a_normal_mean_matches_the_analytic_one(tmp_path: Path):
    """Mean within 0.06 (about 3 Monte Carlo standard errors at the final effective sample
    size of ~250-350: 0.30 / sqrt(250) = 0.019) and sd within 15% of the analytic ones; the
    last tolerance (about 0.05) is a sixth of the sample mean's own sd (0.32), too small to
    widen the posterior by more than 1%."""
    with ThreadPoolExecutor(2) as pool:  # two threads: the proposals' lock is exercised
        post = infer(toy_problem(), pool, tmp_path / "abc.db")
    mean, sd = weighted(post.particles, "mu")
    assert abs(mean - POST_MEAN) < 0.06, (mean, POST_MEAN)
    assert abs(sd / POST_SD - 1) < 0.15, (sd, POST_SD)
    assert post.stopped == "generations" and len(post.generations) == 6
    assert post.epsilons[0] == np.inf and post.epsilons[-1] < 0.1
    assert list(post.particles.columns) == ["mu", "weight", "distance", "generation"]
    assert len(post.particles) == 400 and (post.particles.distance <= post.epsilons[-1]).all()
    assert post.simulations == int(post.generations.simulations.sum())


def test_the_budget_stops_the_inference_cleanly_with_the_finished_generations(tmp_path: Path):
    problem = toy_problem(population=50, generations=10, budget=400)
    with ThreadPoolExecutor(2) as pool:
        post = infer(problem, pool, tmp_path / "abc.db")
    assert post.stopped == "budget"
    assert post.simulations <= 400
    assert post.particles.generation.iloc[0] == len(post.generations) - 1 < 9
    # asked again, it stops at the same place, with the same counts (nothing is recorded in
    # this test, so the cut generation is simulated again, identically)
    with ThreadPoolExecutor(1) as pool:
        again = infer(problem, pool, tmp_path / "abc.db")
    assert again.simulations == post.simulations
    pd.testing.assert_frame_equal(again.particles, post.particles)



def test_finish_ends_at_the_stored_generations_and_a_later_run_goes_on(tmp_path: Path):
    """An inference too long for a sitting: ``finish`` writes the generations done so far,
    simulating nothing, and the same inference later continues from them."""
    db = tmp_path / "abc.db"
    with ThreadPoolExecutor(2) as pool:
        two = infer(toy_problem(population=50, generations=2), pool, db)
        ran = []
        done = infer(toy_problem(population=50, generations=5), pool, db,
                     on_simulation=lambda: ran.append(1), finish=True)
        assert not ran and done.stopped == "finish" and len(done.generations) == 2
        pd.testing.assert_frame_equal(done.particles, two.particles)
        more = infer(toy_problem(population=50, generations=3), pool, db)
    assert more.stopped == "generations" and len(more.generations) == 3
    assert (more.particles.generation == 2).all()

# ----------------------------------------------------------------- executors
PRIORS = """
[inference]
scenario = "epstein-run-2"
patterns = "epstein-run-2-demo"
ticks = 60
population = 20
generations = 3
budget = 2000
seed = 7

[priors."epstein.legitimacy"]
distribution = "uniform"
low = 0.6
high = 0.95
source = "assumption"
"""


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    # one worker process with two threads: two slots propose in one process at once
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       silence_logs=50)
    yield cluster
    cluster.close()


def test_a_local_pool_and_a_dask_cluster_give_the_same_posterior_bit_for_bit(
        tmp_path: Path, dask_cluster):
    from resurgence.experiments.executors import Pool
    from resurgence.inference import job

    (tmp_path / "priors.toml").write_text(PRIORS)
    priors = load_priors(tmp_path / "priors.toml")
    with Pool(workers=2, preload=("pyabc",)) as pool:
        local, _ = job.run(priors, tmp_path / "local", pool.executor)
    with Pool(scheduler=dask_cluster.scheduler_address) as pool:
        dask, _ = job.run(priors, tmp_path / "dask", pool.executor)
    pd.testing.assert_frame_equal(local.particles, dask.particles, check_exact=True)
    pd.testing.assert_frame_equal(local.generations, dask.generations, check_exact=True)
    assert local.simulations == dask.simulations
    # every simulation was kept once, with its own seed of at least 2**62
    runs = pd.read_parquet(tmp_path / "dask" / "runs")
    assert len(runs) == dask.simulations and runs.seed.is_unique
    assert (runs.seed >= 2**62).all()


# ----------------------------------------------------------------- identification
def test_contraction_says_which_parameter_the_patterns_pin_down():
    rng = np.random.default_rng(0)
    n = 4000
    particles = pd.DataFrame({
        "a": rng.uniform(0.45, 0.55, n),  # a tenth of its prior's width: contraction 0.99
        "b": rng.uniform(0, 1, n),  # the prior itself: contraction 0
        "c": rng.uniform(np.log(1), np.log(100), n),
        "weight": np.full(n, 1 / n)})
    particles["c"] = np.exp(particles["c"])  # log-uniform, as its prior: contraction 0
    priors = {"a": Prior(distribution="uniform", low=0, high=1, source="t"),
              "b": Prior(distribution="uniform", low=0, high=1, source="t"),
              "c": Prior(distribution="loguniform", low=1, high=100, source="t")}
    table = identification(particles, priors).set_index("parameter")
    assert table.loc["a", "contraction"] == pytest.approx(0.99, abs=0.005)
    assert table.loc["a", "verdict"] == "identified"
    assert abs(table.loc["b", "contraction"]) < 0.05 and table.loc["b", "verdict"] == \
        "not identified"
    assert abs(table.loc["c", "contraction"]) < 0.05
    assert [verdict(x) for x in (0.5, 0.49, 0.2, 0.19)] == \
        ["identified", "weakly", "weakly", "not identified"]
    corr = correlations(particles, ["a", "b"])
    assert corr.loc["a", "a"] == pytest.approx(1) and abs(corr.loc["a", "b"]) < 0.05
