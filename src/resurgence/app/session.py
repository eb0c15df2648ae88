"""One dashboard panel's run, without any UI: load a scenario, step, steer, reset, and render
what the panel shows (tick, counts, map, chart). The Solara page (:mod:`resurgence.app.dashboard`)
only wires widgets to this class, so everything here is testable without a browser.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

from resurgence.errors import UserInputError
from resurgence.scenario.catalog import DEFAULT, bundled, resolve
from resurgence.viz.livechart import svg_chart
from resurgence.viz.maps import map_png, png_bytes
from resurgence.viz.views import LiveRun, View, has_view, view_for


@dataclass(frozen=True)
class Snapshot:
    """What a panel shows at one tick."""

    tick: int
    counts: dict[str, int]
    levers: dict[str, float]
    map_png: bytes
    chart_svg: str
    #: the calendar date of the tick ('' for models without dates)
    date: str = ""


@functools.cache
def scenario_names() -> list[str]:
    """The bundled scenarios the dashboard can show (their model has a view), by name."""
    names = []
    for name, path in sorted(bundled().items()):
        try:
            if has_view(resolve(str(path))):
                names.append(name)
        except UserInputError:
            continue
    return names


class Session:
    """A live run of one scenario that a panel steps and steers.

    Errors a user can cause (a lever out of range, an unknown scenario) are kept in
    :attr:`error` as one message, never raised to the UI. All methods are thread-safe (the run
    loop steps in a worker thread while buttons act from the server's)."""

    def __init__(self, scenario: str = DEFAULT, seed: int | None = None):
        self.lock = threading.RLock()
        self._snapshot: Snapshot | None = None
        self._version = 0
        self._error: str | None = None
        self.closed = False
        self.name = ""
        if not self._load(scenario, seed):
            raise ValueError(self.error)

    # ------------------------------------------------------------------ actions
    def load(self, scenario: str, seed: int | None = None) -> bool:
        """Switch to one of the catalogued scenarios (:func:`scenario_names`) at tick 0; False
        (and a message) for any other name. What the page sends is never read as a path: a
        crafted widget message cannot make the server read a file."""
        if scenario not in scenario_names():
            self.error = (f"scenario = {scenario!r}: not one the dashboard offers (allowed: "
                          + ", ".join(scenario_names()) + ")")
            return False
        return self._load(scenario, seed)

    def _load(self, scenario: str, seed: int | None = None) -> bool:
        """Switch to a scenario (bundled name or file, from Python) at tick 0; False (and a
        message) if it cannot be loaded."""
        try:
            loaded = resolve(scenario)
            view = view_for(loaded)
        except UserInputError as exc:
            self.error = exc.message
            return False
        with self.lock:
            self.name = scenario
            self.view: View = view
            self.seed = loaded.seed if seed is None else seed
            self.layer = self.layers[0]
            self.reset()
        return True

    def reset(self, seed: int | None = None) -> None:
        """Back to tick 0 with the scenario's own settings (and ``seed`` if given)."""
        with self.lock:
            if seed is not None:
                self.seed = seed
            self.run: LiveRun = self.view.start(self.seed, live=True)
            self.error = None
            self._changed()

    @property
    def last_tick(self) -> int | None:
        """The tick a dated (insurgency) scenario ends at; None if the run may go on."""
        return self.view.scenario.ticks if getattr(self.view, "ends", False) else None

    @property
    def at_end(self) -> bool:
        last = self.last_tick
        return last is not None and self.run.tick >= last

    def step(self, ticks: int = 1) -> None:
        """Advance the run by ``ticks`` ticks (a dated scenario stops at its end date, with a
        message)."""
        with self.lock:
            last = self.last_tick
            if last is not None:
                ticks = min(ticks, last - self.run.tick)
                if ticks <= 0:
                    self.error = (f"the scenario ends at tick {last} ("
                                  f"{self.view.scenario.end or 'its last date'}): Reset to "
                                  "run it again")
                    return
            for _ in range(ticks):
                self.run.step()
            self._changed()

    def set_lever(self, name: str, value: float | None) -> bool:
        """Set a lever now (validated like a scenario file); False and a message if the value
        is not allowed. The scenario's own timeline still applies at the ticks it names."""
        lever = next((lv for lv in self.view.levers if lv.name == name), None)
        section = getattr(self.view, "lever_section", "epstein")
        if lever is None:
            self.error = f"levers: {name}: not a lever of this model"
            return False
        if value is None:
            self.error = f"levers: {section}.{name}: a number is required"
            return False
        if self.at_end:
            self.error = f"levers: {section}.{name}: the run is at its end: Reset first"
            return False
        if lever.integer:
            if float(value) != int(value):
                self.error = f"levers: {section}.{name} = {value}: must be a whole number"
                return False
            value = int(value)
        try:
            with self.lock:
                self.run.set_levers(**{name: value})
                self._changed()
        except UserInputError as exc:
            self.error = exc.message
            return False
        self.error = None
        return True

    @property
    def layers(self) -> tuple[str, ...]:
        """The layers the map can show (Epstein: the grid; insurgency: control, members...)."""
        return tuple(getattr(self.view, "map_layers", ("cells",)))

    def set_layer(self, layer: str | None) -> bool:
        """Show another layer on the map; False and a message if the model has no such one."""
        if layer not in self.layers:
            self.error = f"map: {layer}: not a layer of this model (one of: " \
                f"{', '.join(self.layers)})"
            return False
        with self.lock:
            self.layer = layer
            self._changed()
        return True

    def close(self) -> None:
        """Mark the session as gone (its page closed): a run loop stops at its next frame."""
        self.closed = True

    # ------------------------------------------------------------------ views
    @property
    def error(self) -> str | None:
        """The last mistake's message (None once an action succeeds)."""
        return self._error

    @error.setter
    def error(self, message: str | None) -> None:
        if message != self._error:
            self._error = message
            self._version += 1

    @property
    def tick(self) -> int:
        return self.run.tick

    def snapshot(self) -> Snapshot:
        """The panel's tick, counts, levers, map (PNG) and chart (SVG); rendered once per
        change and then cached."""
        with self.lock:
            if self._snapshot is None:
                frame = self.run.frame()
                prepared, panels = self.view.panels([frame], groups="colour")
                last = prepared[0].iloc[-1]
                counts = {k: int(last[c]) for k, c in self.view.counts.items()
                          if c in last.index}
                self._snapshot = Snapshot(
                    tick=self.run.tick,
                    counts=counts,
                    levers=self.view.lever_values(self.run),
                    map_png=self._map(),
                    chart_svg=svg_chart(prepared[0], panels,
                                        panel_height=150 if len(panels) <= 2 else 90),
                    date=str(last["date"].date()) if "date" in last.index else "",
                )
            return self._snapshot

    def _map(self) -> bytes:
        layer_rgb = getattr(self.view, "layer_rgb", None)
        if layer_rgb is None:
            return map_png(self.run.cell_states(), self.view.legend)
        return png_bytes(layer_rgb(self.run, self.layer))

    @property
    def version(self) -> int:
        """Bumped on every change (the UI re-renders when it moves)."""
        return self._version

    def _changed(self) -> None:
        self._snapshot = None
        self._version += 1
