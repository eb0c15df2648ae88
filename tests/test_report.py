"""`resurgence report`: one self-contained HTML file with the question, the settings, an outcome
table with uncertainty, embedded figures and provenance; written whole or not at all."""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from resurgence import Scenario, __version__
from resurgence.store import files
from resurgence.viz.report import load_results, write_report

SMALL = """
name = "small, legitimacy {legitimacy}"
model = "epstein"
ticks = 40
seed = 5
[grid]
width = 20
height = 20
[epstein]
citizen_vision = 2
cop_vision = 2
legitimacy = {legitimacy}
"""


def resurgence(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("resurgence")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """Two result folders written by `resurgence run`: legitimacy 0.7 and 0.9, 3 seeds each."""
    root = tmp_path_factory.mktemp("results")
    for name, legitimacy in (("low", 0.7), ("high", 0.9)):
        (root / f"{name}.toml").write_text(SMALL.format(legitimacy=legitimacy))
        done = resurgence("run", f"{name}.toml", "--seeds", "3", "--out", name, cwd=root)
        assert done.returncode == 0, done.stderr
    return root


class Tags(HTMLParser):
    """Every tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_run_writes_a_manifest_with_digest_seeds_and_version(results: Path):
    manifest = json.loads((results / "low" / "run.json").read_text())
    scenario = Scenario.load(results / "low.toml")
    assert manifest["resurgence"] == __version__
    assert manifest["seeds"] == [5, 6, 7]
    assert manifest["scenario"]["digest"] == scenario.digest()
    assert manifest["scenario"]["file"].endswith("low.toml")
    assert Scenario.from_dict(manifest["scenario"]["content"]).digest() == scenario.digest()


def test_report_is_one_self_contained_html_file(results: Path):
    done = resurgence("report", "low", "high", "--out", "report.html", cwd=results)
    assert done.returncode == 0, done.stderr
    page = (results / "report.html").read_text(encoding="utf-8")
    parser = Tags()
    parser.feed(page)

    # nothing to fetch: no link or script tags, every src and href is inline data or a fragment
    assert not [t for t, _ in parser.tags if t in ("link", "script", "iframe")]
    refs = [a[k] or "" for _, a in parser.tags for k in ("src", "href") if k in a]
    assert refs and all(r.startswith(("data:", "#")) for r in refs)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page)

    # figures embedded as PNG, none blank: outcomes, comparison, two curves, two map strips
    images = [a["src"] for t, a in parser.tags if t == "img"]
    assert len(images) == 6
    for src in images:
        assert src.startswith("data:image/png;base64,")
        pixels = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("L")
        assert np.asarray(pixels, float).std() > 5

    # the question, the settings (what differs is marked), the outcome table with intervals
    assert "How do low and high differ in rebellion" in page
    assert re.search(r'<tr class="diff"><td><code>epstein.legitimacy</code></td>'
                     r"<td>0.7</td><td>0.9</td></tr>", page)
    table = page[page.index('<table class="outcomes">'):]
    table = table[: table.index("</table>")]
    for label in ("mean active share", "peak actives", "outbursts (actives &gt; 50)"):
        assert label in table
    assert len(re.findall(r"\[[-\d.,]+, [-\d.,]+\] n=3", table)) >= 6
    assert "90% interval" in page

    # provenance: version, scenario digests, seeds, file hashes; the maps' replay checked
    for name in ("low", "high"):
        digest = Scenario.load(results / f"{name}.toml").digest()
        assert digest in page
    assert f"resurgence {__version__}" in page
    assert "5-7 (3)" in page
    assert "seed-7.parquet" in page
    assert page.count("the replay matched the stored series tick for tick") == 2


def test_report_is_written_atomically(results: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "report.html"
    out.write_text("previous report")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_report([results / "low"], out, maps=False)
    assert out.read_text() == "previous report"  # the old file whole, nothing half-written
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary left

    monkeypatch.undo()
    write_report([results / "low"], out, maps=False)
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_folders_without_a_manifest_still_report_their_series(results: Path, tmp_path: Path):
    old = tmp_path / "old-run"
    old.mkdir()
    for p in (results / "low").glob("seed-*.parquet"):
        (old / p.name).write_bytes(p.read_bytes())
    loaded = load_results(old)
    assert loaded.seeds == [5, 6, 7] and loaded.scenario is None
    out = tmp_path / "r.html"
    write_report([old], out)
    page = out.read_text(encoding="utf-8")
    assert "Settings unknown for folders without a run.json" in page
    assert "No maps: the folder has no run.json" in page
    assert '<table class="outcomes">' in page


@pytest.mark.parametrize("make,expected", [
    (lambda root: root / "missing", "no such folder"),
    (lambda root: (root / "empty").mkdir() or root / "empty", "holds no seed-*.parquet"),
])
def test_a_folder_that_is_not_a_result_exits_2_with_one_message(tmp_path: Path, make,
                                                                  expected):
    folder = make(tmp_path)
    done = resurgence("report", str(folder), "--out", "r.html", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and expected in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "r.html").exists()


# --------------------------------------------------------------------------- insurgency
INSURGENCY = """
name = "weak state, inclusion {inclusion}"
model = "insurgency"
start = 2013-01-01
end = 2014-03-31
seed = 2
[insurgency]
cell_km = 50
people_per_agent = 2000
vision = 50
posture_km = 100
speed_km = 50
initial_fighters = 6000
[levers]
ground_forces = 0.05
inclusion_sunni_arab = {inclusion}
[[timeline]]
date = 2014-01-01
ground_forces = 0.8
air_sorties = 150
"""


def _images(page: str) -> list[tuple[str, np.ndarray]]:
    parser = Tags()
    parser.feed(page)
    out = []
    for tag, attrs in parser.tags:
        if tag == "img":
            data = base64.b64decode((attrs["src"] or "").split(",", 1)[1])
            out.append((attrs["alt"] or "", np.asarray(Image.open(io.BytesIO(data))
                                                       .convert("L"), float)))
    return out


@pytest.fixture(scope="module")
def insurgency_results(tmp_path_factory) -> Path:
    """Two insurgency folders (Sunni Arab inclusion 0 and 0.6, two seeds each) written by
    `resurgence run` on the Iraq theatre at 50 km cells."""
    root = tmp_path_factory.mktemp("insurgency")
    for name, inclusion in (("excluded", 0.0), ("included", 0.6)):
        (root / f"{name}.toml").write_text(INSURGENCY.format(inclusion=inclusion))
        done = resurgence("run", f"{name}.toml", "--seeds", "2", "--out", name, cwd=root)
        assert done.returncode == 0, done.stderr
        assert "governorates-seed-*.parquet, maps-seed-*.npz" in done.stdout
    return root


def test_insurgency_run_writes_series_per_governorate_that_add_up(insurgency_results: Path):
    """`resurgence run` writes governorates-seed-N.parquet beside seed-N.parquet: one row per
    tick and governorate of the theatre, from the same run. Summed over the governorates,
    territory, fighters, sleepers, attacks, civilian casualties and sympathisers are the
    national series, tick by tick; the ground is held in Sunni Arab governorates, not in the
    south; legitimacy is there for each group."""
    folder = insurgency_results / "excluded"
    nation = pd.read_parquet(folder / "seed-2.parquet")
    gov = pd.read_parquet(folder / "governorates-seed-2.parquet")
    names = set(gov["governorate"])
    assert {"Anbar", "Nineveh", "Salah ad Din", "Baghdad", "Basra"} <= names
    assert len(gov) == len(nation) * len(names)
    assert (gov.groupby("tick")["date"].first() == nation.set_index("tick")["date"]).all()
    sums = gov.groupby("tick").sum(numeric_only=True)
    national = {"territory_km2": nation["territory_km2"],
                "fighters": nation["fighters_territorial"] + nation["fighters_desert"],
                "sleepers": nation["sleepers"], "attacks": nation["attacks"],
                "casualties_civilian": nation["casualties_civilian"],
                "sympathisers": nation["sympathisers"]}
    for col, series in national.items():
        assert series.sum() > 0, col
        np.testing.assert_allclose(sums[col].to_numpy(), series.to_numpy(), err_msg=col)
    held = gov.groupby("governorate")["territory_km2"].max()
    assert held["Anbar"] > 0 and held["Basra"] == 0
    for group in ("sunni_arab", "shia_arab", "kurd", "other"):
        assert gov[f"legitimacy_{group}"].between(0, 1).all(), group


def test_insurgency_report_has_dated_curves_theatre_maps_and_provenance(
        insurgency_results: Path):
    root = insurgency_results
    assert sorted(p.name for p in (root / "excluded").iterdir()) == [
        "governorates-seed-2.parquet", "governorates-seed-3.parquet", "maps-seed-2.npz",
        "maps-seed-3.npz", "plot.png", "run.json", "seed-2.parquet", "seed-3.parquet"]
    done = resurgence("report", "excluded", "included", "--out", "ins.html",
                      "--map-dates", "2013-06-15", "--after", "2013-07-01", cwd=root)
    assert done.returncode == 0, done.stderr
    page = (root / "ins.html").read_text(encoding="utf-8")

    # outcomes, comparison, two panels of curves, four map layers per folder; none blank
    images = _images(page)
    assert [alt for alt, _ in images] == [
        "outcome chart", "scenarios side by side", "observables of excluded",
        "observables of included",
        *[f"{layer} maps of {name}" for name in ("excluded", "included")
          for layer in ("control", "density", "legitimacy", "attacks")]]
    assert all(pixels.std() > 5 for _, pixels in images)

    assert ("How do excluded and included differ in the group's territory, members and "
            "attacks") in html.unescape(page)
    assert re.search(r'<tr class="diff"><td><code>levers.inclusion_sunni_arab</code></td>'
                     r"<td>0.0</td><td>0.6</td></tr>", page)
    assert "2014-01-01: ground_forces = 0.8, air_sorties = 150<" in page  # dated timeline
    table = page[page.index('<table class="outcomes">'):]
    table = table[: table.index("</table>")]
    for label in ("peak territory held (km²)", "share of runs with resurgence",
                  "members at the end", "when territory fell below 40% of its peak (year)"):
        assert label in table
    assert len(re.findall(r"\[[-\d.,]+, [-\d.,]+\] n=2", table)) >= 8
    assert "Resurgence: after falling below 40% of its peak, territory climbs by 25%" in page

    # the maps: from the stored snapshots, at the date asked for too; hashed in provenance
    assert "from its map snapshots (maps-seed-2.npz" in page
    shown = re.search(r"Shown: ([^<]*)\.</p>", page).group(1).split("; ")
    assert shown[:2] == ["2013-01-01", "2013-07-02"]  # 2013-06-15: the nearest snapshot
    assert shown[-1].startswith("2014-03-25") and any("peak territory" in s for s in shown)
    assert "maps-seed-3.npz" in page and "seed-3.parquet" in page
    assert page.count(Scenario.load(root / "excluded.toml").digest()) >= 1


def test_insurgency_folder_without_snapshots_reports_its_series_and_says_why_no_maps(
        insurgency_results: Path, tmp_path: Path):
    old = tmp_path / "old"
    old.mkdir()
    for p in (insurgency_results / "excluded").iterdir():
        if not p.name.startswith("maps-"):
            (old / p.name).write_bytes(p.read_bytes())
    out = tmp_path / "old.html"
    write_report([old], out)
    page = out.read_text(encoding="utf-8")
    assert "No maps: the folder has no maps-seed-2.npz" in page
    assert [alt for alt, _ in _images(page)] == ["outcome chart", "observables of old"]


def test_report_refuses_folders_of_different_models_and_bad_dates(
        results: Path, insurgency_results: Path):
    done = resurgence("report", str(results / "low"), str(insurgency_results / "excluded"),
                      "--out", "mixed.html", cwd=insurgency_results)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert ("RESULTS = 'epstein: low; insurgency: excluded': hold runs of different models"
            in " ".join(done.stderr.split()))
    assert not (insurgency_results / "mixed.html").exists()
    done = resurgence("report", "excluded", "--map-dates", "2014-13-01", cwd=insurgency_results)
    assert done.returncode == 2
    assert "--map-dates = '2014-13-01': must be dates YYYY-MM-DD" in done.stderr
