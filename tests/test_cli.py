"""The `resurgence` command as a user runs it: real process, real files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

SMALL = """
name = "small"
model = "epstein"
ticks = 30
seed = 5
[grid]
width = 20
height = 20
[epstein]
version = "{version}"
citizen_vision = 2
cop_vision = 2
legitimacy = 0.7
"""


def resurgence(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("resurgence")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "200"})


@pytest.mark.parametrize("version", ["I", "II"])
def test_run_writes_a_parquet_per_seed_a_plot_and_a_summary(tmp_path: Path, version: str):
    (tmp_path / "small.toml").write_text(SMALL.format(version=version))
    done = resurgence("run", "small.toml", "--seeds", "2", "--out", "out", "--csv",
                      cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["plot.png", "run.json", "seed-5.csv", "seed-5.parquet", "seed-6.csv",
                     "seed-6.parquet"]
    df = pd.read_parquet(tmp_path / "out" / "seed-6.parquet")
    assert list(df.tick) == list(range(31))
    assert {"quiet", "active", "jailed", "cops"} <= set(df.columns)
    if version == "II":
        assert {"blue_active", "green_active", "killed_blue", "killed_green"} <= set(df.columns)
    assert (df.quiet + df.active + df.jailed).iloc[0] == round(0.7 * 400)
    assert (tmp_path / "out" / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "mean active share" in done.stdout
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_default_run_uses_a_bundled_scenario(tmp_path: Path):
    done = resurgence("run", "--seeds", "1", "--ticks", "20", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "results" / "epstein-run-2" / "seed-1.parquet").exists()


@pytest.mark.parametrize(
    "content,expected",
    [
        ("ticks = -3\n", "bad.toml: ticks = -3: Input should be greater than or equal to 1"),
        ("[epstein]\ncop_density = 0.5\n",
         "bad.toml: epstein.citizen_density + epstein.cop_density = 1.2: must be at most 1"),
        ("[epstein]\nvisoin = 2\n", "bad.toml: epstein.visoin = 2: unknown key (allowed:"),
        ("[grid]\nwidth = 'wide'\n", "bad.toml: grid.width = 'wide': Input should be a valid"),
        ("ticks = \n", "bad.toml: (syntax)"),
    ],
)
def test_bad_scenario_exits_2_with_one_message_and_writes_nothing(tmp_path: Path, content,
                                                                   expected):
    (tmp_path / "bad.toml").write_text(content)
    done = resurgence("run", "bad.toml", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ")
    assert expected in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args,expected",
    [
        (["run", "no-such-scenario"], "a .toml file, or one of: "),
        (["run", "absent.toml"], "absent.toml: file = 'absent.toml': no such file"),
        (["run", "--seeds", "0"], "--seeds"),
        (["run", "--ticks", "-1"], "--ticks"),
        (["run", "--out", "afile"], "must be a folder"),
    ],
)
def test_bad_options_exit_2(tmp_path: Path, args, expected):
    (tmp_path / "afile").write_text("x")
    done = resurgence(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "results").exists()


def test_help_teaches_with_examples(tmp_path: Path):
    done = resurgence("--help", cwd=tmp_path)
    assert done.returncode == 0
    assert "resurgence run epstein-run-4 --seeds 10" in done.stdout
    listed = resurgence("scenarios", cwd=tmp_path)
    assert "epstein-run-7" in listed.stdout


@pytest.mark.parametrize("content", ["", "  \n\t\n", "# only a comment\n"])
def test_empty_scenario_file_is_an_error_not_epsteins_defaults(tmp_path: Path, content):
    (tmp_path / "empty.toml").write_text(content)
    done = resurgence("run", "empty.toml", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: empty.toml: (contents) = '': the file holds no settings (empty, blank or only "
        "comments); a scenario sets at least `model` or `extends`"]
    assert not (tmp_path / "out").exists()
