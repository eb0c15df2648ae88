"""The dashboard: its panel logic (no browser), and the real server driven in Debian's headless
Chromium through Playwright: move a slider, step and run, see the map and the chart change, get
a message for a bad value. A screenshot is kept in test-artifacts/dashboard.png.

Without Chromium (or Playwright) the browser test is skipped locally with the reason, and
fails under CI=true: `.ci/run` installs Chromium before the tests.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from resurgence.app.server import port_free
from resurgence.app.session import Session, scenario_names

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: generous: the machine may be busy with other work; no timing is asserted
WAIT_MS = 60_000
#: the page opens on the question: its panels compute the 2003-2017 history first
OPEN_MS = 600_000


# --------------------------------------------------------------------------- panel logic
def test_session_steps_resets_and_renders_map_and_chart():
    session = Session("epstein-run-2")
    first = session.snapshot()
    assert first.tick == 0 and first.counts["active"] == 0 and first.counts["cops"] == 64
    assert first.map_png[:8] == b"\x89PNG\r\n\x1a\n"
    assert session.snapshot() is first  # cached until something changes
    session.step(5)
    later = session.snapshot()
    assert later.tick == 5 and later.map_png != first.map_png
    assert 'data-series="active"' in later.chart_svg and later.chart_svg != first.chart_svg
    session.reset()
    assert session.snapshot().tick == 0 and session.snapshot().map_png == first.map_png


def test_session_applies_good_lever_values_and_keeps_a_message_for_bad_ones():
    session = Session("epstein-run-2")
    assert session.set_lever("legitimacy", 0.3)
    assert session.snapshot().levers["legitimacy"] == 0.3 and session.error is None

    bad = [
        ("cop_density", 0.5, "levers: epstein.citizen_density + epstein.cop_density = 1.2: "
                              "must be at most 1 (one agent per cell)"),
        ("citizen_vision", 30, "must fit the 40x40 torus: at most 19"),
        ("legitimacy", 1.5, "epstein.legitimacy = 1.5: Input should be less than or equal to 1"),
        ("max_jail_term", 2.5, "epstein.max_jail_term = 2.5: must be a whole number"),
        ("legitimacy", None, "a number is required"),
        ("citizen_density", 0.5, "not a lever of this model"),
    ]
    for name, value, message in bad:
        assert not session.set_lever(name, value)
        assert message in session.error
        assert session.snapshot().levers["legitimacy"] == 0.3  # the run is unchanged
    session.step()  # and still runs
    assert session.tick == 1


def test_session_offers_only_scenarios_it_can_show_and_explains_others():
    names = scenario_names()
    assert "epstein-run-2" in names and "epstein-run-7" in names
    session = Session("epstein-run-7")
    assert [lv.name for lv in session.view.levers][:2] == ["legitimacy", "legitimacy_green"]
    assert "green" in session.snapshot().counts
    assert not session.load("no-such-scenario")
    assert "scenario = 'no-such-scenario': not one the dashboard offers" in session.error
    assert session.name == "epstein-run-7"  # the panel keeps its run


def test_session_runs_an_insurgency_scenario_by_date_with_its_levers():
    names = scenario_names()
    assert {"iraq-2003-2020", "post-mosul-inclusion"} <= set(names)
    session = Session("post-mosul-inclusion")
    first = session.snapshot()
    assert first.tick == 0 and first.date == "2003-03-20"
    assert set(first.counts) == {"territory_km2", "members", "territorial", "desert",
                                 "sleepers", "attacks"}
    assert first.levers["inclusion_sunni_arab"] == 0.5
    assert 'data-series="territory_km2"' in first.chart_svg and ">2003-03-20<" in first.chart_svg

    # a lever acts from the next week on and shows at once; the timeline's own change of
    # inclusion (2003-05-16, to 0.3) is replaced by it
    assert session.set_lever("inclusion_sunni_arab", 0.9) and session.error is None
    assert session.snapshot().levers["inclusion_sunni_arab"] == 0.9
    session.step(10)
    later = session.snapshot()
    assert later.tick == 10 and later.date == "2003-05-29"
    assert later.levers["inclusion_sunni_arab"] == 0.9
    assert later.map_png != first.map_png and later.chart_svg != first.chart_svg

    bad = [("air_sorties", 6000, "levers: levers.air_sorties = 6000: Input should be less "
                                 "than or equal to 5000"),
           ("border_control", -0.5, "levers.border_control = -0.5: Input should be greater "
                                    "than or equal to 0"),
           ("services", None, "levers: levers.services: a number is required"),
           ("legitimacy", 0.5, "not a lever of this model")]
    for name, value, message in bad:
        assert not session.set_lever(name, value)
        assert message in session.error
    assert session.snapshot().levers["air_sorties"] == 10.0  # unchanged
    control = session.snapshot().map_png
    assert session.layers[:2] == ("control", "members") and session.layer == "control"
    assert session.set_layer("members") and session.snapshot().map_png != control
    assert not session.set_layer("rainfall") and "map: rainfall: not a layer" in session.error
    assert session.layer == "members"
    session.step()
    assert session.tick == 11


def test_question_sessions_open_at_the_branch_date_from_one_shared_history():
    """The page's two panels: the post-Mosul branches open on 2017-07-10 (the last week
    before it) from the model's own history, computed once for both; Reset goes back there;
    a scenario that does not branch on that date opens at its start."""
    a = Session("post-mosul-military-only", open_at="2017-07-10")
    b = Session("post-mosul-inclusion", open_at="2017-07-10")
    first = a.snapshot()
    assert first.date == "2017-07-06" and b.snapshot().date == "2017-07-06"
    assert a.run is not b.run and a.run.frame().equals(b.run.frame())
    assert (first.levers["ground_forces"], b.snapshot().levers["ground_forces"]) == (0.8, 0.6)
    assert b.snapshot().levers["inclusion_sunni_arab"] == 0.7
    assert ">2003-03-20<" in first.chart_svg and ">2017-07-06<" in first.chart_svg
    assert ">2010<" in first.chart_svg  # years between the first and the last date
    a.step(2)
    assert a.tick == first.tick + 2 and b.tick == first.tick
    a.reset()
    assert a.snapshot().date == "2017-07-06" and a.snapshot().map_png == first.map_png
    assert a.load("iraq-2003-2020") and a.snapshot().date == "2003-03-20"
    assert a.load("epstein-run-2") and a.tick == 0


def test_an_insurgency_session_stops_at_the_scenario_end(tmp_path):
    toml = tmp_path / "short.toml"
    toml.write_text('model = "insurgency"\nstart = 2014-01-01\nend = 2014-02-12\n'
                    "[insurgency]\ncell_km = 50\npeople_per_agent = 2000\nvision = 50\n")
    session = Session(str(toml))
    session.step(100)
    assert session.tick == 6 and session.at_end and session.snapshot().date == "2014-02-12"
    session.step()
    assert session.tick == 6 and "the scenario ends at tick 6 (2014-02-12)" in session.error
    assert not session.set_lever("services", 0.9) and "Reset first" in session.error
    session.reset()
    assert session.tick == 0 and not session.at_end and session.error is None


def test_dashboard_command_refuses_a_port_in_use():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not port_free(port)
        done = subprocess.run([str(Path(sys.executable).with_name("resurgence")), "dashboard",
                               "--port", str(port)], capture_output=True, text=True,
                              timeout=120)
    assert done.returncode == 2
    assert f"error: --port: --port = {port}: is in use on 127.0.0.1" in done.stderr


# --------------------------------------------------------------------------- in a browser
def _need_browser():
    """Playwright's sync API, or skip (locally) / fail (CI) with the reason."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("the playwright package (pip install playwright)")
        sync_playwright = None
    if missing:
        reason = "the browser test needs " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; .ci/run installs them")
        pytest.skip(reason)
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """`resurgence dashboard --port P` as a user starts it; its URL once it answers."""
    _need_browser()
    port = _free_port()
    exe = Path(sys.executable).with_name("resurgence")
    log = ARTIFACTS / "dashboard-server.log"
    ARTIFACTS.mkdir(exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen([str(exe), "dashboard", "--port", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the dashboard exited with {proc.returncode}: {log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the dashboard did not answer on {url}: {log.read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server and nothing else
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _tick(page, panel: str) -> int:
    return int(page.inner_text(f".panel-{panel} .tick").split()[1])


def _counts(page, panel: str) -> dict[str, int]:
    words = page.inner_text(f".panel-{panel} .counts").replace("·", " ").split()
    return {k: int(v) for k, v in zip(words[::2], words[1::2], strict=True)}


@contextlib.contextmanager
def _page(server: str, artifact: str, height: int) -> Iterator[Any]:
    """A headless Chromium page on the dashboard, both panels loaded; a screenshot of the
    whole page is kept as test-artifacts/<artifact>.png, or <artifact>-failure.png."""
    sync_playwright = _need_browser()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": height})
        page.set_default_timeout(WAIT_MS)
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            page.goto(server)
            page.wait_for_selector(".panel-A .tick", timeout=OPEN_MS)
            page.wait_for_selector(".panel-B .tick", timeout=OPEN_MS)
            yield page
            page.screenshot(path=str(ARTIFACTS / f"{artifact}.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / f"{artifact}-failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def _slide(page, panel: str, lever: str, fraction: float, check: str) -> None:
    """Click the lever's slider at ``fraction`` of its width; wait until its number field's
    value ``v`` passes the JavaScript ``check``."""
    slider = page.locator(f".panel-{panel} .lever-{lever} .v-slider")
    box = slider.bounding_box()
    slider.click(position={"x": box["width"] * fraction, "y": box["height"] / 2})
    page.wait_for_function(
        "() => { const v = parseFloat(document.querySelector("
        f"'.panel-{panel} .input-{lever} input').value); return {check}; }}")


def _run_until(page, panel: str, tick: int) -> None:
    """Run, wait for ``tick`` or more, pause and wait for the pause to take."""
    box = page.locator(f".panel-{panel}")
    box.locator(".run-button").click()
    page.wait_for_function(
        f"() => parseInt(document.querySelector('.panel-{panel} .tick').innerText"
        f".split(' ')[1]) >= {tick}")
    box.locator(".pause-button").click()
    page.wait_for_selector(f".panel-{panel} .run-button:not([disabled])")


def _bad_value_then_step(page, panel: str, lever: str, value: str, message: str) -> None:
    """Enter a bad value: the panel shows ``message``; a step still advances one tick."""
    field = page.locator(f".panel-{panel} .input-{lever} input")
    field.fill(value)
    field.press("Enter")
    error = page.wait_for_selector(f".panel-{panel} .lever-error")
    assert message in error.inner_text()
    before = _tick(page, panel)
    page.locator(f".panel-{panel} .step-button").click()
    page.wait_for_function(
        f"() => document.querySelector('.panel-{panel} .tick').innerText === "
        f"'tick {before + 1}'")


def test_dashboard_in_headless_chromium(server: str):
    from playwright.sync_api import expect

    with _page(server, "dashboard-epstein", 1500) as page:
        failed: list[str] = []
        page.on("requestfailed", lambda r: failed.append(r.url))
        a = page.locator(".panel-A")
        b_start = _tick(page, "B")
        _choose(page, "A", "epstein-run-2")
        page.wait_for_function(
            "() => document.querySelector('.panel-A .counts').innerText.includes('active')")
        assert _tick(page, "A") == 0 and _counts(page, "A")["active"] == 0
        map_before = a.locator("img.map").screenshot()
        chart_before = a.locator("polyline[data-series='active']").get_attribute("points")

        # move the legitimacy slider to about a fifth of its range
        _slide(page, "A", "legitimacy", 0.2, "v > 0.1 && v < 0.3")

        # step once, then run and pause: the tick counter and the counts move
        a.locator(".step-button").click()
        page.wait_for_function(
            "() => document.querySelector('.panel-A .tick').innerText === 'tick 1'")
        _run_until(page, "A", 30)
        paused_at = _tick(page, "A")
        assert paused_at >= 30
        # paused means paused: two steps, each answered after anything the server still had
        # queued, move the counter by exactly one tick each (a run still going would pass them)
        for ahead in (1, 2):
            a.locator(".step-button").click()
            expect(a.locator(".tick")).to_have_text(f"tick {paused_at + ahead}",
                                                    timeout=WAIT_MS)
        page.wait_for_selector(".panel-A .run-button:not([disabled])")
        assert _tick(page, "A") == paused_at + 2
        counts = _counts(page, "A")
        assert counts["active"] + counts["jailed"] > 0  # low legitimacy: rebellion
        assert sum(counts[k] for k in ("quiet", "active", "jailed")) == 1120

        # the map and the chart changed; the other panel did not move
        assert a.locator("img.map").screenshot() != map_before
        assert (a.locator("polyline[data-series='active']").get_attribute("points")
                != chart_before)
        assert _tick(page, "B") == b_start

        # a bad value gets a message, not a crash, and the run goes on
        _bad_value_then_step(page, "A", "cop_density", "0.5",
                             "must be at most 1 (one agent per cell)")
        assert not failed, f"requests that failed (assets must be local): {failed}"


def _choose(page, panel: str, scenario: str) -> None:
    page.locator(f".panel-{panel} .scenario-select").click()
    page.locator(".v-menu__content .v-list-item", has_text=scenario).click()


def test_dashboard_opens_on_the_question_in_headless_chromium(server: str):
    """The page opens on the article's question: panel A on post-mosul-military-only, panel
    B on post-mosul-inclusion, both on the branch date with the Iraq theatre map, its legend,
    dated charts and the levers; each runs a few weeks, B with Sunni Arab inclusion moved up
    with its slider; the maps and the charts change, another map layer shows its scale, a
    bad value gets a message. Screenshot: test-artifacts/dashboard.png."""
    with _page(server, "dashboard", 2300) as page:
        a, b = page.locator(".panel-A"), page.locator(".panel-B")
        start = _tick(page, "A")
        before = {}
        for box, panel, name in ((a, "A", "post-mosul-military-only"),
                                 (b, "B", "post-mosul-inclusion")):
            assert name in box.locator(".scenario-select").inner_text()
            assert box.locator(".date").inner_text() == "2017-07-06"  # the week before
            assert _tick(page, panel) == start > 700 and _counts(page, panel)["members"] > 0
            assert "Each 10 km cell this week:" in box.locator(".resurgence-legend").inner_text()
            assert "held by the group" in box.locator(".resurgence-legend").inner_text()
            chart = box.locator(".chart").inner_text()
            assert "2003-03-20" in chart and "2017-07-06" in chart  # dates on the axis
            assert box.locator(".lever-inclusion_sunni_arab").inner_text().startswith(
                "inclusion of Sunni Arabs")
            before[panel] = (box.locator("img.map").screenshot(),
                             box.locator("polyline[data-series='members']")
                             .get_attribute("points"))
        assert float(a.locator(".input-ground_forces input").input_value()) == 0.8
        assert float(b.locator(".input-ground_forces input").input_value()) == 0.6

        # B: Sunni Arab inclusion to about 0.9 with the slider; then a few weeks in each
        _slide(page, "B", "inclusion_sunni_arab", 0.9, "v > 0.8")
        _run_until(page, "A", start + 4)
        _run_until(page, "B", start + 4)
        for box, panel in ((a, "A"), (b, "B")):
            assert box.locator(".date").inner_text() >= "2017-08-03"
            assert box.locator("img.map").screenshot() != before[panel][0]
            assert (box.locator("polyline[data-series='members']").get_attribute("points")
                    != before[panel][1])
        assert float(b.locator(".input-inclusion_sunni_arab input").input_value()) > 0.8

        # another layer of the map: members per cell, with its colour scale
        control_map = b.locator("img.map").screenshot()
        b.locator(".layer-select").click()
        page.locator(".v-menu__content .v-list-item", has_text="members").click()
        page.wait_for_function(
            "() => document.querySelector('.panel-B .resurgence-legend').innerText"
            ".includes('members per cell')")
        assert b.locator("img.map").screenshot() != control_map

        # a bad value: one message, and the run goes on
        _bad_value_then_step(page, "A", "air_sorties", "6000", "levers.air_sorties = 6000.0: "
                             "Input should be less than or equal to 5000")
