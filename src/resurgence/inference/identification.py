"""Does a posterior identify its parameters? Contraction of each marginal, and correlations.

For each parameter, the *contraction* ``1 - var_post / var_prior`` (the posterior variance
weighted by the particles' weights, the prior's from its distribution; for a loguniform prior,
both of the logarithm, the scale on which that prior is flat) says how much the patterns
narrowed it: 1 pins it down, 0 leaves the prior as it was. The verdict:

- ``identified``: contraction >= 0.5 (the posterior sd at most 71% of the prior's);
- ``weakly``: 0.2 <= contraction < 0.5;
- ``not identified``: contraction < 0.2 (the patterns say little about it).

A parameter can be unidentified alone yet constrained jointly with another (a ridge): the
weighted pairwise correlations of the posterior show it (|r| near 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from resurgence.inference.priors import Prior

IDENTIFIED, WEAK = 0.5, 0.2


def weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Quantiles of ``x`` under weights ``w`` (the inverse of the weighted CDF)."""
    order = np.argsort(x, kind="stable")
    x, cw = x[order], np.cumsum(w[order]) / w.sum()
    return [float(x[min(np.searchsorted(cw, q), len(x) - 1)]) for q in qs]


def verdict(contraction: float) -> str:
    if contraction >= IDENTIFIED:
        return "identified"
    if contraction >= WEAK:
        return "weakly"
    return "not identified"


def identification(particles: pd.DataFrame, priors: dict[str, Prior]) -> pd.DataFrame:
    """One row per parameter: prior and posterior mean and sd, the 5-95% posterior range,
    the contraction and the verdict (module docstring)."""
    w = particles["weight"].to_numpy(float)
    w = w / w.sum()
    rows = []
    for key, prior in priors.items():
        x = particles[key].to_numpy(float)
        mean = float((w * x).sum())
        var = float((w * (x - mean) ** 2).sum())
        dist = prior.scipy()
        contraction = 1.0 - _spread(x, w, prior) / _prior_spread(prior)
        lo, hi = weighted_quantiles(x, w, (0.05, 0.95))
        rows.append({"parameter": key, "prior_mean": float(dist.mean()),
                     "prior_sd": float(dist.std()), "posterior_mean": mean,
                     "posterior_sd": var ** 0.5, "posterior_5%": lo, "posterior_95%": hi,
                     "contraction": contraction, "verdict": verdict(contraction)})
    return pd.DataFrame(rows)


def _spread(x: np.ndarray, w: np.ndarray, prior: Prior) -> float:
    """The weighted variance of ``x`` (of its logarithm under a loguniform prior)."""
    if prior.distribution == "loguniform":
        x = np.log(x)
    mean = (w * x).sum()
    return float((w * (x - mean) ** 2).sum())


def _prior_spread(prior: Prior) -> float:
    if prior.distribution == "loguniform":
        return (np.log(prior.high) - np.log(prior.low)) ** 2 / 12  # log X is uniform
    return float(prior.scipy().var())


def correlations(particles: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Weighted Pearson correlations of the parameters under the posterior."""
    w = particles["weight"].to_numpy(float)
    x = particles[list(keys)].to_numpy(float)
    cov = np.cov(x, rowvar=False, aweights=w, ddof=0).reshape(len(keys), len(keys))
    sd = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.outer(sd, sd)
    return pd.DataFrame(r, index=list(keys), columns=list(keys))


def markdown(table: pd.DataFrame, source: str) -> str:
    """The identification table as a Markdown fragment (for docs/evidence.md)."""
    lines = [f"Identification of the parameters by the patterns ({source}); contraction = "
             "1 - var_post/var_prior (of the logarithm for a loguniform prior; the means and "
             f"sds are of the value): identified >= {IDENTIFIED}, weakly >= {WEAK}, else "
             "not identified.", "",
             "| parameter | prior mean (sd) | posterior mean (sd) | posterior 5-95% | "
             "contraction | verdict |", "| --- | --- | --- | --- | --- | --- |"]
    for r in table.to_dict("records"):
        lines.append(
            f"| `{r['parameter']}` | {r['prior_mean']:.4g} ({r['prior_sd']:.3g}) | "
            f"{r['posterior_mean']:.4g} ({r['posterior_sd']:.3g}) | {r['posterior_5%']:.4g} – "
            f"{r['posterior_95%']:.4g} | {r['contraction']:.2f} | {r['verdict']} |")
    return "\n".join(lines) + "\n"
