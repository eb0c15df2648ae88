"""``resurgence posterior``: which parameters a posterior identifies, with its figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resurgence.cli.app import app, frame_table, out_console, user_errors, write_csv, write_png


@app.command()
@user_errors
def posterior(
    path: Annotated[Path, typer.Argument(
        help="posterior.parquet written by `resurgence calibrate --priors`.")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder for the outputs (default: the posterior's folder).")] = None,
) -> None:
    """Say per parameter whether the patterns identify it, and draw prior against posterior.

    Contraction = 1 - var_post / var_prior (posterior variance weighted by the particles'
    weights): identified >= 0.5, weakly 0.2-0.5, not identified < 0.2. Writes
    identification.csv, identification.md (a fragment for docs/evidence.md), marginals.png
    (prior density and posterior histogram per parameter) and correlations.png (the
    posterior's weighted pairwise correlations: a ridge between two parameters shows as |r|
    near 1).

      resurgence posterior results/posterior-epstein/posterior.parquet
    """
    import pandas as pd

    from resurgence.inference.identification import correlations, identification, markdown
    from resurgence.inference.priors import Prior
    from resurgence.store import atomic_write_bytes
    from resurgence.store.posterior import read_posterior
    from resurgence.store.run_folder import out_folder
    from resurgence.viz.posterior_plots import plot_correlations, plot_marginals

    particles, provenance = read_posterior(path)
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
