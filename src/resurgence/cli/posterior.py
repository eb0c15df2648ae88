"""``resurgence posterior``: which parameters a posterior identifies, with its figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from resurgence.cli.app import (
    Workers,
    app,
    frame_table,
    out_console,
    user_errors,
    write_csv,
    write_png,
)


@app.command()
@user_errors
def posterior(
    path: Annotated[Path, typer.Argument(
        help="posterior.parquet written by `resurgence calibrate --priors`.")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder for the outputs (default: the posterior's folder).")] = None,
    point: Annotated[int | None, typer.Option(
        "--point", min=1, max=1000, help="Also choose the representative point: run the K "
        "particles nearest the patterns on fresh seeds and keep the best (point.toml).")] = None,
    seeds: Annotated[int, typer.Option(
        "--seeds", min=1, max=100, help="With --point: fresh seeds per particle, from 201.")] = 4,
    priors_path: Annotated[Path | None, typer.Option(
        "--priors", help="With --point: the priors file of the inference (default: the one its "
        "provenance names, from the current folder).")] = None,
    workers: Workers = None,
) -> None:
    """Say per parameter whether the patterns identify it, and draw prior against posterior.

    Contraction = 1 - var_post / var_prior (posterior variance weighted by the particles'
    weights): identified >= 0.5, weakly 0.2-0.5, not identified < 0.2. Writes
    identification.csv, identification.md (a fragment for docs/evidence.md), marginals.png
    (prior density and posterior histogram per parameter) and correlations.png (the
    posterior's weighted pairwise correlations: a ridge between two parameters shows as |r|
    near 1).

    With --point K: the K particles of the last generation nearest the patterns each run on
    --seeds fresh seeds (201, 202, ...: never used by the fit, the claim tests or posterior
    draws), and the one with the smallest mean distance over them is the representative point.
    Writes point.csv (per particle), point-runs.csv (per particle and seed) and point.toml, a
    scenario that extends the fitted one with the point's values (resurgence run point.toml).

      resurgence posterior results/posterior-epstein/posterior.parquet
      resurgence posterior posteriors/iraq-2003-2020.parquet --point 10 --out results/point
    """
    import pandas as pd

    from resurgence.inference.identification import correlations, identification, markdown
    from resurgence.inference.priors import Prior
    from resurgence.store import atomic_write_bytes
    from resurgence.store.posterior import read_posterior
    from resurgence.store.run_folder import out_folder
    from resurgence.viz.posterior_plots import plot_correlations, plot_marginals

    particles, provenance = read_posterior(path)
    priors_file = _priors_file(priors_path, provenance, point)
    priors = {k: Prior.model_validate(v) for k, v in provenance["priors"]["table"].items()}
    folder = out_folder(out, path.parent)
    table = identification(particles, priors)
    corr = correlations(particles, list(priors))
    name = provenance["scenario"].get("name") or provenance["scenario"].get("source", "")
    title = (f"{name}\n{provenance['patterns']['set']} patterns, generation "
             f"{int(particles['generation'].max())}, {len(particles)} particles")
    shown = pd.DataFrame({
        "parameter": table["parameter"],
        "posterior": [f"{m:.4g} ± {s:.3g}" for m, s in zip(table["posterior_mean"],
                                                            table["posterior_sd"],
                                                            strict=True)],
        "5-95%": [f"{a:.4g}..{b:.4g}" for a, b in zip(table["posterior_5%"],
                                                      table["posterior_95%"], strict=True)],
        "contraction": table["contraction"], "verdict": table["verdict"]})
    out_console.print(frame_table(shown, title=f"identification: {title}"))
    out_console.print(frame_table(corr.reset_index(names="parameter"),
                                  title="posterior correlations"))
    write_csv(table, folder / "identification.csv")
    atomic_write_bytes(folder / "identification.md",
                       markdown(table, title.replace("\n", ": ")).encode())
    write_png(plot_marginals(particles, priors, table, title), folder / "marginals.png")
    write_png(plot_correlations(corr, title), folder / "correlations.png")
    out_console.print(f"written: {folder}/identification.csv, identification.md, "
                      "marginals.png, correlations.png", highlight=False)
    if point is not None:
        _representative_point(particles, provenance, priors_file, folder, point, seeds,
                              workers)


def _priors_file(given: Path | None, provenance: dict, point: int | None) -> Any:
    """The inference's priors file, loaded, for --point (None without it)."""
    from resurgence.errors import Problem, UserInputError
    from resurgence.inference.priors import load_priors

    if point is None:
        if given is not None:
            raise UserInputError("--priors", [Problem("--priors", str(given),
                                                      "is used with --point K only")])
        return None
    path = given if given is not None else Path(provenance["priors"]["file"])
    if not path.is_file():
        raise UserInputError("--priors", [Problem("--priors", str(path), (
            "no such file: give the inference's priors file (--priors PRIORS.toml)"))])
    loaded = load_priors(path)
    if sorted(loaded.keys) != sorted(provenance["parameters"]):
        raise UserInputError("--priors", [Problem("--priors", str(path), (
            "its parameters are not the posterior's: "
            + ", ".join(provenance["parameters"])))])
    return loaded


def _representative_point(particles: Any, provenance: dict, priors_file: Any, folder: Path,
                          k: int, n_seeds: int, workers: int | None) -> None:
    import os

    from resurgence.experiments.executors import Pool
    from resurgence.inference import point
    from resurgence.store import atomic_write_bytes

    keys = list(provenance["parameters"])
    scenario = priors_file.scenario
    base = scenario.model_dump(mode="json")
    seeds = list(range(point.POINT_SEED, point.POINT_SEED + n_seeds))
    candidates = point.nearest(particles, k)
    if priors_file.digest() != provenance["priors"]["digest"]:
        out_console.print(f"note: the scenario or priors differ from those the inference ran "
                          f"(digest {priors_file.digest()}, the inference's "
                          f"{provenance['priors']['digest']}): keys added since run at their "
                          "defaults", highlight=False)
    with Pool(workers=workers) as pool:
        runs = point.evaluate(base, priors_file.patterns(), candidates, keys, seeds,
                              pool.executor)
    table = point.choose(candidates, runs, keys)
    best = table[table["chosen"]].iloc[0]
    named = priors_file.inference.scenario
    fitted = Path(priors_file.source).parent / named
    extends = os.path.relpath(fitted.resolve(), folder.resolve()) if fitted.is_file() else named
    seed_text = f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])
    note = [f"The representative point of {provenance['scenario'].get('name', '')}'s posterior "
            f"(generation {int(particles['generation'].max())}, {provenance['patterns']['set']} "
            "patterns):",
            f"particle {int(best['particle'])}, of the {len(table)} nearest the patterns the "
            f"one with the smallest mean distance on fresh seeds {seed_text}: "
            f"{best['mean_distance']:.3f} ({best['mean_held']:.1f} patterns held on average; "
            f"{best['fit_distance']:.3f} in the fit).",
            "Written by: resurgence posterior POSTERIOR --point "
            f"{k} --seeds {n_seeds} (resurgence.inference.point)."]
    text = point.overlay({kk: float(best[kk]) for kk in keys}, base, extends, note)
    write_csv(runs, folder / "point-runs.csv")
    write_csv(table, folder / "point.csv")
    atomic_write_bytes(folder / "point.toml", text.encode())
    shown = table[["particle", "fit_distance", "mean_distance", "min_distance",
                   "max_distance", "mean_held", "chosen"]]
    out_console.print(frame_table(shown, title=f"the {len(table)} particles nearest the "
                                  f"patterns, on fresh seeds {seed_text}"))
    out_console.print(f"the point: particle {int(best['particle'])}, mean distance "
                      f"{best['mean_distance']:.3f} on seeds {seed_text}; written: "
                      f"{folder}/point.toml, point.csv, point-runs.csv", highlight=False)
