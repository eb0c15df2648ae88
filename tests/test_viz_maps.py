"""Maps: the lookup table paints each code in its legend colour, the PNG decodes to the same
image, map figures carry a legend of what is on them, replays match the live run, and the
animation is a GIF with one frame per tick asked for."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from resurgence import Scenario, simulate
from resurgence.models import epstein
from resurgence.viz.animate import animate
from resurgence.viz.epstein_view import EPSTEIN_I, EPSTEIN_II
from resurgence.viz.maps import map_png, plot_map, plot_maps, png_bytes, replay, to_rgb
from resurgence.viz.palette import GREY, LIGHT, OKABE_ITO, hex_to_rgb
from resurgence.viz.registry import view_for


def small(version: str = "I", ticks: int = 30) -> Scenario:
    return Scenario.from_dict({
        "name": f"small {version}", "ticks": ticks, "seed": 2,
        "grid": {"width": 24, "height": 18},
        "epstein": {"version": version, "citizen_vision": 2, "cop_vision": 2,
                    "legitimacy": 0.6, "cop_density": 0.04 if version == "I" else 0.0},
    })


def test_lookup_table_paints_every_code_in_its_legend_colour():
    for legend in (EPSTEIN_I, EPSTEIN_II):
        codes = np.array([[c.code for c in legend.categories]], np.int8)
        rgb = to_rgb(codes, legend.lut())
        assert rgb.dtype == np.uint8 and rgb.shape == (1, len(legend.categories), 3)
        for i, cat in enumerate(legend.categories):
            assert tuple(rgb[0, i]) == hex_to_rgb(cat.colour)
    # a code no legend knows is drawn light grey, not an error
    assert tuple(to_rgb(np.array([[99]], np.int8), EPSTEIN_I.lut())[0, 0]) == hex_to_rgb(LIGHT)


def test_legends_use_colour_blind_safe_colours_and_distinct_ones():
    safe = {c.lower() for c in OKABE_ITO.values()} | {GREY.lower(), "#ffffff"}
    for legend in (EPSTEIN_I, EPSTEIN_II):
        colours = [c.colour.lower() for c in legend.categories]
        assert set(colours) <= safe
        assert len(set(colours)) == len(colours)
    assert [c.label for c in EPSTEIN_I.categories] == ["empty", "quiet", "active", "jailed",
                                                       "cop"]


def test_png_decodes_to_the_same_image_and_scales_by_whole_cells():
    run = epstein.EpsteinRun(small(), 1)
    codes = run.cell_states()
    data = map_png(codes, EPSTEIN_I)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert decoded.shape == (18, 24, 3)
    assert np.array_equal(decoded, to_rgb(codes, EPSTEIN_I.lut()))
    big = np.asarray(Image.open(io.BytesIO(png_bytes(decoded, scale=3))).convert("RGB"))
    assert big.shape == (54, 72, 3)
    assert np.array_equal(big[::3, ::3], decoded)


def test_map_figure_shows_the_grid_with_titles_axes_and_a_legend_of_what_is_there():
    run = epstein.EpsteinRun(small(), 1)
    for _ in range(5):
        run.step()
    codes = run.cell_states()
    fig = plot_map(codes, EPSTEIN_I, "tick 5")
    ax = fig.get_axes()[0]
    assert ax.get_title() == "tick 5"
    assert ax.get_xlabel() == "x (cell, 24 across)"
    assert ax.get_images()[0].get_array().shape == (18, 24, 3)
    present = {c.label for c in EPSTEIN_I.categories if c.code in set(codes.ravel().tolist())}
    labels = {t.get_text() for t in fig.legends[0].get_texts()}
    assert labels == present | {"empty"}
    image = np.asarray(Image.open(io.BytesIO(_png(fig))).convert("L"), float)
    assert image.std() > 10


def test_maps_at_chosen_ticks_match_the_live_run_and_the_stored_series():
    scenario = small("II", ticks=20)
    live = epstein.EpsteinRun(scenario, 4)
    expected = {0: live.cell_states().copy()}
    for _ in range(20):
        live.step()
        if live.tick in (7, 20):
            expected[live.tick] = live.cell_states().copy()
    maps, frame = replay(view_for(scenario), 4, [20, 0, 7])
    assert sorted(maps) == [0, 7, 20]
    for tick, codes in expected.items():
        assert np.array_equal(maps[tick], codes)
    assert frame.equals(simulate(scenario, seed=4))
    fig = plot_maps([(f"tick {t}", maps[t]) for t in (0, 7, 20)], EPSTEIN_II, "three ticks")
    assert [ax.get_title() for ax in fig.get_axes()] == ["tick 0", "tick 7", "tick 20"]
    assert fig.get_suptitle() == "three ticks"
    assert "green quiet" in {t.get_text() for t in fig.legends[0].get_texts()}
    plt.close(fig)


def test_animation_is_a_gif_with_one_frame_every_n_ticks(tmp_path: Path):
    out = tmp_path / "anim" / "run.gif"
    n = animate(view_for(small()), out, seed=1, ticks=10, every=2, fps=5)
    assert n == 6
    with Image.open(out) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == 6
        first = np.asarray(gif.convert("RGB"), float)
        gif.seek(5)
        last = np.asarray(gif.convert("RGB"), float)
    assert first.std() > 10
    assert not np.array_equal(first, last)  # the grid changed over ten ticks
    assert sorted(p.name for p in out.parent.iterdir()) == ["run.gif"]  # no partial file


def test_animation_refuses_other_formats(tmp_path: Path):
    with pytest.raises(ValueError, match="gif or .mp4"):
        animate(view_for(small()), tmp_path / "run.avi", ticks=2)
    assert not list(tmp_path.iterdir())


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    plt.close(fig)
    return buf.getvalue()


def test_animate_command_writes_a_gif_and_refuses_a_bad_name(tmp_path: Path):
    exe = Path(sys.executable).with_name("resurgence")
    env = {**os.environ, "COLUMNS": "200"}
    (tmp_path / "s.toml").write_text(
        'ticks = 6\n[grid]\nwidth = 20\nheight = 20\n[epstein]\ncitizen_vision = 2\n'
        'cop_vision = 2\n')
    done = subprocess.run([str(exe), "animate", "s.toml", "--out", "s.gif"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    with Image.open(tmp_path / "s.gif") as gif:
        assert gif.n_frames == 7
    bad = subprocess.run([str(exe), "animate", "s.toml", "--out", "s.avi"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300, env=env)
    assert bad.returncode == 2
    assert "error: --out: --out = 's.avi': must end in .gif or .mp4" in bad.stderr
    assert not (tmp_path / "s.avi").exists()
