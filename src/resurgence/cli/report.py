"""``resurgence report``: one self-contained HTML report of result folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resurgence.cli.app import app, out_console, user_errors


@app.command()
@user_errors
def report(
    results: Annotated[
        list[Path],
        typer.Argument(help="Result folders written by `resurgence run` (one or more), or "
                       "the folder of a sweep (a policy study).",
                       show_default=False),
    ],
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path(
        "report.html"),
    title: Annotated[str | None, typer.Option("--title", help="Report title.")] = None,
    question: Annotated[
        str | None,
        typer.Option("--question", help="The question the report answers (default: worded "
                     "from the folders' names)."),
    ] = None,
    maps: Annotated[
        bool,
        typer.Option("--maps/--no-maps", help="Draw maps of each folder's first seed: Epstein "
                     "grids replayed at chosen ticks; insurgency theatres from the map "
                     "snapshots `resurgence run` saves."),
    ] = True,
    map_dates: Annotated[
        str | None,
        typer.Option("--map-dates", help="Insurgency: more dates to map, YYYY-MM-DD separated "
                     "by commas (each shown at the nearest snapshot; default: the start, the "
                     "peak of territory, the last policy change and the end)."),
    ] = None,
    after: Annotated[
        str | None,
        typer.Option("--after", help="Insurgency: count resurgence only after this date "
                     "(YYYY-MM-DD), e.g. the date policies branch."),
    ] = None,
    outcome: Annotated[
        str | None,
        typer.Option("--outcome", help="A policy study (a sweep's folder): the outcome whose "
                     "regret ranks the policies (default: the sweep's first outcome)."),
    ] = None,
    rule: Annotated[
        list[str] | None,
        typer.Option("--rule", help="A policy study: a threshold to satisfice, e.g. "
                     "'resurgence <= 0.5' (repeat)."),
    ] = None,
    higher_better: Annotated[
        bool, typer.Option("--higher-better", help="A policy study: more of --outcome is "
                           "better.")] = False,
) -> None:
    """Write one self-contained HTML report comparing result folders: the question, the
    settings, an outcome table (mean and 90% interval over seeds), the curves, maps, and
    provenance (version, scenario digests, seeds). Figures are embedded; the file opens
    offline and can be mailed as it is.

      resurgence run epstein-run-2 --seeds 10

      resurgence run epstein-run-4 --seeds 10

      resurgence report results/epstein-run-2 results/epstein-run-4 --out runs-2-4.html

      resurgence report results/post-mosul-military-only results/post-mosul-inclusion
      --after 2017-07-10 --map-dates 2014-06-10 --out post-mosul.html

    Given the folder of a sweep (`resurgence sweep`), it reports a policy study instead: the
    plan, the policies' regret and satisficing across the futures, where the rules fail
    (PRIM), what drives the outcome, the dose-response surface of the first levers.

      resurgence report results/post-mosul-robustness --outcome casualties_cumulative
      --rule 'resurgence <= 0.5' --out robustness.html
    """
    from resurgence.store.run_folder import out_file
    from resurgence.viz.report import write_report
    from resurgence.viz.snapshots import parse_dates

    out_file(out)
    if len(results) == 1 and (results[0] / "plan.json").exists():  # a sweep: a policy study
        _study(results[0], out, title, outcome, rule or [], higher_better)
        return
    dates = parse_dates(map_dates)
    if after is not None:
        parse_dates(after, "--after")
    write_report(results, out, title=title, question=question, maps=maps, map_dates=dates,
                 after=after)
    out_console.print(f"report: {out}")


def _study(folder: Path, out: Path, title: str | None, outcome: str | None, rules: list[str],
           higher_better: bool) -> None:
    """``report SWEEP_DIR``: the policy study's report."""
    from resurgence.experiments.robustness import parse_rules
    from resurgence.experiments.sweep import load_plan
    from resurgence.viz.study_report import write_study_report

    kept = list(load_plan(folder)["outcomes"])
    outcome = outcome or kept[0]  # the report checks it, with the folder's runs and levers
    write_study_report(folder, out, outcome, parse_rules(rules, kept),
                       lower_is_better=not higher_better, title=title)
    out_console.print(f"report: {out}")
