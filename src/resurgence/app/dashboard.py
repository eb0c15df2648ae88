"""The interactive dashboard (Solara): two runs side by side, each with its own scenario, seed
and levers; run, pause, step and reset; the map and the chart follow the run live.

Start it with ``resurgence dashboard`` (see :mod:`resurgence.app.server`). The panels' logic
lives in :class:`resurgence.app.session.Session`; this module only lays out widgets. Bad values
(a lever out of range, a density sum above one, a vision too wide for the grid) show the same
one-line message a scenario file would get, and the run goes on unchanged.
"""

from __future__ import annotations

import asyncio
import html

import solara
from solara.lab import use_task

from resurgence.app.session import Session, scenario_names
from resurgence.experiments.question import BRANCH
from resurgence.scenario.catalog import DEFAULT
from resurgence.viz.views import Legend, Lever

#: pause between redraws while running: at most 10 frames per second per panel
FRAME_SECONDS = 0.1
#: the panels the page opens on: the article's question, force alone against inclusion
QUESTION_PANELS = ("post-mosul-military-only", "post-mosul-inclusion")
#: choices of ticks advanced per frame (run) or per click (step)
TICKS_PER_STEP = [1, 5, 20, 100]

CSS = """
.resurgence-map { image-rendering: pixelated; width: 360px; height: auto;
                  border: 1px solid #999; }
.resurgence-legend span.swatch { display: inline-block; width: 12px; height: 12px;
                  border: 1px solid #777; margin: 0 4px 0 10px; vertical-align: middle; }
.resurgence-legend span.scale { display: inline-block; width: 120px; height: 12px;
                  border: 1px solid #777; margin: 0 4px 0 10px; vertical-align: middle; }
.resurgence-legend { font-size: 12px; }
.resurgence-status { font-family: monospace; font-size: 14px; }
.resurgence-lever { width: 100%; margin-top: 6px; }
.resurgence-lever .lever-label { font-size: 13px; color: #444; }
.resurgence-lever .v-input { margin-top: 0; padding-top: 0; }
.lever-group { margin-top: 12px; font-size: 14px; }
"""


def _legend_html(session: Session) -> str:
    """The map's legend: categories with swatches, or a continuous layer's colour scale."""
    scale = getattr(session.view, "layer_scale", lambda _layer: None)(session.layer)
    if scale is not None:
        caption, colours = scale
        return (f'<span class="scale" style="background:linear-gradient(to right,'
                f'{",".join(colours)})"></span> {html.escape(caption)}')
    legend: Legend = session.view.legend
    scenario = getattr(session.view, "scenario", None)
    if getattr(scenario, "model", "") == "insurgency":  # the theatre: who holds each cell
        title = f"Each {scenario.insurgency.cell_km:g} km cell this week:"
    else:
        title = f"{legend.title.capitalize()}:"
    return f'<b class="legend-title">{html.escape(title)}</b>' + "".join(
        f'<span class="swatch" style="background:{c.colour}"></span>'
        f"{html.escape(c.label)}" for c in legend.categories)


def _advance(session: Session, ticks: int) -> None:
    session.step(ticks)
    session.snapshot()  # render off the event loop


@solara.component
def LeverControl(session: Session, lever: Lever, value: float, on_change) -> None:
    """A slider for quick moves and a number field for exact (and checked) values."""
    unit = f" ({lever.unit})" if lever.unit else ""

    def set_value(v: float | None) -> None:
        session.set_lever(lever.name, v)
        on_change()

    # the name above, the slider and an unlabelled number field below it: no label of a
    # field overlaps the row above, and every slider has the same length
    with solara.Column(classes=["resurgence-lever", f"lever-{lever.name}"], gap="0px"):
        solara.Text(lever.label + unit, classes=["lever-label"])
        with solara.Row(style="align-items:center"):
            with solara.Div(style="flex: 3"):
                if lever.integer:
                    solara.SliderInt("", value=int(value), min=int(lever.low),
                                     max=int(lever.high), step=int(lever.step),
                                     on_value=set_value)
                else:
                    solara.SliderFloat("", value=float(value), min=lever.low, max=lever.high,
                                       step=lever.step, on_value=set_value)
            with solara.Div(style="flex: 1"):
                solara.InputFloat("", value=float(value), on_value=set_value, dense=True,
                                  classes=[f"input-{lever.name}"])


#: the levers the article argues about (military effort, borders, inclusion, services, the
#: tribes), shown first; the model's other levers follow under their own heading
ARTICLE_LEVERS = ("inclusion_sunni_arab", "services", "ground_forces", "air_sorties",
                  "border_control", "tribal_engagement")


@solara.component
def RunPanel(label: str, default: str = DEFAULT, open_at: str | None = None) -> None:
    """One run: scenario, seed, buttons, status, map, chart and levers (a scenario that
    branches on ``open_at`` opens there, see :class:`Session`)."""
    session: Session = solara.use_memo(lambda: Session(default, open_at=open_at), [])
    version = solara.use_reactive(0)
    running = solara.use_reactive(False)
    per_step = solara.use_reactive(1)

    def refresh() -> None:
        version.value = session.version

    solara.use_effect(lambda: session.close, [])  # a closed page stops its run loop

    async def loop() -> None:
        while running.value and not session.closed:
            try:
                await asyncio.to_thread(_advance, session, per_step.value)
            except Exception as exc:  # a model failure stops this run, not the page
                session.error = f"the run stopped: {exc}"
                running.value = False
            if session.at_end:  # a dated scenario's last week
                running.value = False
            refresh()
            await asyncio.sleep(FRAME_SECONDS)

    use_task(loop, dependencies=[running.value], prefer_threaded=False)

    def choose(name: str | None) -> None:
        running.value = False
        if name is not None:
            session.load(name)
        refresh()

    def set_seed(seed: int | None) -> None:
        running.value = False
        if seed is None or seed < 0:
            session.error = f"seed = {seed}: must be a whole number, 0 or more"
        else:
            session.reset(seed)
        refresh()

    def set_layer(layer: str | None) -> None:
        session.set_layer(layer)
        refresh()

    def step() -> None:
        running.value = False
        session.step(per_step.value)
        refresh()

    def reset() -> None:
        running.value = False
        session.reset()
        refresh()

    _ = version.value  # re-render when the session changes
    snap = session.snapshot()
    counts = " · ".join(f"{k} {v}" for k, v in snap.counts.items())
    with solara.Card(title=f"Run {label}", classes=[f"panel-{label}"], margin=1):
        with solara.Row():
            solara.Select("scenario", values=scenario_names(), value=session.name,
                          on_value=choose, classes=["scenario-select"])
            solara.InputInt("seed", value=session.seed, on_value=set_seed,
                            classes=["seed-input"])
            solara.Select("ticks per step", values=TICKS_PER_STEP, value=per_step,
                          classes=["per-step"])
            if len(session.layers) > 1:
                solara.Select("map", values=list(session.layers), value=session.layer,
                              on_value=set_layer, classes=["layer-select"])
        with solara.Row():
            solara.Button("Run", on_click=lambda: running.set(True), color="primary",
                          disabled=running.value, classes=["run-button"])
            solara.Button("Pause", on_click=lambda: running.set(False),
                          disabled=not running.value, classes=["pause-button"])
            solara.Button("Step", on_click=step, classes=["step-button"])
            solara.Button("Reset", on_click=reset, classes=["reset-button"])
        if session.error:
            solara.Error(session.error, classes=["lever-error"])
        with solara.Div(classes=["resurgence-status"]):
            solara.Text(f"tick {snap.tick}", classes=["tick"])
            if snap.date:
                solara.Text("  ·  ")
                solara.Text(snap.date, classes=["date"])
            solara.Text("  ·  ")
            solara.Text(counts, classes=["counts"])
        solara.Image(snap.map_png, classes=["resurgence-map", "map"])
        solara.HTML(tag="div", unsafe_innerHTML=_legend_html(session),
                    classes=["resurgence-legend"])
        solara.HTML(tag="div", unsafe_innerHTML=snap.chart_svg, classes=["chart"])
        levers = list(session.view.levers)
        first = [lv for name in ARTICLE_LEVERS for lv in levers if lv.name == name]
        if first:
            solara.HTML(tag="div", unsafe_innerHTML="<b>The article's levers</b>",
                        classes=["lever-group"])
        for lever in first:
            LeverControl(session, lever, snap.levers[lever.name], refresh)
        rest = [lv for lv in levers if lv not in first]
        if first and rest:
            solara.HTML(tag="div", unsafe_innerHTML="<b>Other levers</b>",
                        classes=["lever-group"])
        for lever in rest:
            LeverControl(session, lever, snap.levers[lever.name], refresh)


@solara.component
def Page() -> None:
    solara.Title("resurgence dashboard")
    solara.Style(CSS)
    solara.HTML(tag="p", unsafe_innerHTML=(  # not Markdown: it loads KaTeX from a CDN
        "<b>After Mosul, which policy keeps the group down?</b> Both panels start from the "
        f"model's own state on {BRANCH}, when Mosul was retaken (the 2003-2017 history, one "
        "seed): <b>A</b> keeps military pressure only, <b>B</b> takes the article's way, "
        "inclusion of Sunni Arabs with services and a normal military effort. Run them and "
        "watch whether the group's territory comes back; move the levers to try other "
        "policies. A lever you move holds from the next week to the end (Reset brings the "
        "scenario back). Any other scenario, Epstein's among them, can be picked in a panel; "
        "`resurgence question` runs the four post-Mosul policies over many seeds."
    ))
    with solara.Columns([1, 1]):
        RunPanel("A", QUESTION_PANELS[0], open_at=BRANCH)
        RunPanel("B", QUESTION_PANELS[1], open_at=BRANCH)
