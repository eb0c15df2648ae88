"""One dashboard panel's run, without any UI: load a scenario, step, steer, reset, and render
what the panel shows (tick, counts, map, chart). The Solara page (:mod:`resurgence.app.dashboard`)
only wires widgets to this class, so everything here is testable without a browser.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from resurgence.errors import UserInputError
from resurgence.scenario.catalog import DEFAULT, bundled, resolve
from resurgence.viz.livechart import svg_chart
from resurgence.viz.maps import map_png, png_bytes
from resurgence.viz.registry import has_view, view_for
from resurgence.viz.views import LiveRun, View


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

    def __init__(self, scenario: str = DEFAULT, seed: int | None = None,
                 open_at: str | None = None):
        self.lock = threading.RLock()
        #: a date (YYYY-MM-DD): scenarios that change policy on it (the post-Mosul branches
        #: on 2017-07-10) open there, from the model's own state, instead of at their start
        self.open_at = open_at
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
            self.run: LiveRun = self._opening()
            self.error = None
            self._changed()

    def _opening(self) -> LiveRun:
        """A new run at the tick the panel opens at: 0, or the last week before
        :attr:`open_at` if the scenario branches there (its history computed once per seed and
        shared by every panel that opens there, :func:`history_until`)."""
        scenario = self.view.scenario
        tick = opening_tick(scenario, self.open_at)
        if tick is None:
            return self.view.start(self.seed, live=True)
        return history_until(scenario, self.seed, tick).branch(scenario)

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


def opening_tick(scenario: Any, date: str | None) -> int | None:
    """The last week before ``date`` if ``scenario`` is dated and its timeline changes policy
    on ``date`` (a branch of a history, like the post-Mosul scenarios); None otherwise."""
    from resurgence.experiments.question import branch_tick

    if date is None or getattr(scenario, "start", None) is None:
        return None
    if not any(str(entry.date) == date for entry in scenario.timeline):
        return None
    tick = branch_tick(scenario, date)
    return tick if tick > 0 else None


_HISTORY_LOCK = threading.Lock()


def history_until(scenario: Any, seed: int, tick: int) -> Any:
    """A run of ``scenario`` with ``seed`` stepped to ``tick``, to branch from (do not step
    it). Runs that agree on the mechanisms and on every lever up to ``tick`` are the same run,
    so they share one: the two post-Mosul panels compute their 2003-2017 history once."""
    schedule = scenario.schedule()
    blob = scenario.model_dump_json(include={"model", "insurgency", "start", "tick_days"})
    digest = hashlib.sha256(blob.encode())
    for name in sorted(schedule):
        digest.update(name.encode() + schedule[name][:tick + 1].tobytes())
    key = (digest.hexdigest(), seed, tick)
    with _HISTORY_LOCK:
        if key not in _HISTORIES:
            from resurgence.models.insurgency import InsurgencyRun

            run = InsurgencyRun(scenario, seed)
            for _ in range(tick):
                run.step()
            if len(_HISTORIES) >= 4:  # a few seeds' worth; oldest out
                _HISTORIES.pop(next(iter(_HISTORIES)))
            _HISTORIES[key] = run
        return _HISTORIES[key]


_HISTORIES: dict[tuple[str, int, int], Any] = {}
