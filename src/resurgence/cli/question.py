"""``resurgence question``: the article's question, the post-Mosul policies side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from resurgence.cli.app import app, console, out_console, user_errors


@app.command()
@user_errors
def question(
    seeds: Annotated[
        int, typer.Option("--seeds", min=1, max=100_000, help="Seeds: histories, each branched "
                          "into the four policies.")
    ] = 4,
    seed: Annotated[int, typer.Option("--seed", min=0, help="First seed; seeds are SEED, "
                                      "SEED+1, ...")] = 1,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
        "results/question"),
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, max=4096, help="Local worker processes "
                                 "(default: one per core; the answer does not depend on it).")
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--end", help="Run the branches to this date (YYYY-MM-DD) instead of "
                     "2030-12-31: a quicker, shorter look."),
    ] = None,
) -> None:
    """The article's question: after Mosul fell, which policy keeps the group down?

    For each seed the 2003-2020 history runs to 2017-07-10 (Mosul retaken) and is branched into
    four policies, each run to 2030: military pressure only, the article's inclusion of Sunni
    Arabs with services, both, and an early withdrawal. Prints the share of runs in which the
    group comes back, the casualties after the branch and the members and territory at the end,
    each with a 95% interval over seeds; writes each policy's per-seed series (a folder per
    policy, as `resurgence run` writes them), per-seed.csv, answer.csv and one HTML report.

      resurgence question                      # 4 seeds -> results/question/

      resurgence question --seeds 16 --out q16/
    """
    from resurgence.experiments import question as q
    from resurgence.viz.snapshots import parse_dates

    last = parse_dates(end, "--end")[0] if end else None
    q.check_end(last)
    seed_list = list(range(seed, seed + seeds))
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=not console.is_terminal
                  ) as progress:
        task = progress.add_task("seeds (history + 4 branches each)", total=len(seed_list))
        result = q.answer(seed_list, out, end=last, workers=workers,
                          on_seed=lambda _s: progress.advance(task))
    out_console.print(q.answer_table(result))
    out_console.print(f"results: {out}/ ({', '.join(q.POLICIES)}: seed-*.parquet, "
                      "governorates-seed-*.parquet, maps-seed-*.npz; per-seed.csv, answer.csv)")
    out_console.print(f"report: {result.report}")
