"""`resurgence question` (the main job, `make run`) at reduced size: the real history branched on
2017-07-10 into the four post-Mosul policies, run four weeks past the branch instead of to 2030
(the shortest run that still branches; the answer's numbers are not checked here, only that
it is the question's answer: tests/test_history.py checks what the model says)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from resurgence.experiments import question as q

END = "2017-08-07"  # four weeks after the branch
POLICIES = ("military-only", "inclusion", "both", "withdrawal")


def resurgence(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("resurgence")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=1200, env={**os.environ, "COLUMNS": "160"})


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """Two seeds on two workers, as `make run` runs it but shorter."""
    cwd = tmp_path_factory.mktemp("question")
    run = resurgence("question", "--seeds", "2", "--workers", "2", "--end", END, "--out", "q",
                     cwd=cwd)
    assert run.returncode == 0, run.stdout + run.stderr
    return cwd / "q", run


def test_prints_the_answer_for_all_four_policies_and_what_it_rests_on(done):
    out, run = done
    text = run.stdout
    assert "After Mosul: which policy keeps the group down?" in text
    header = next(line for line in text.splitlines() if "military-only" in line)
    assert all(p in header for p in POLICIES)
    for row in ("resurgence by 2017-08-07", "casualties since 2017-07-10", "members at"):
        assert row in text
    assert "One hand-calibrated parameter point" in " ".join(text.split())
    assert "2 seeds per policy" in " ".join(text.split())
    assert "report: q/report.html" in text


def test_report_holds_the_policy_table(done):
    out, _ = done
    page = (out / "report.html").read_text()
    answer = page[page.index('<table class="answer">'):]
    answer = answer[:answer.index("</table>")]
    assert all(f"<th>{p}</th>" in answer for p in POLICIES)
    assert "resurgence by 2017-08-07 (share of runs)" in answer
    assert answer.count("<tr>") == 1 + len(q.HEADLINE)
    assert "One hand-calibrated parameter point" in page


def test_each_policy_branches_from_one_history_on_the_branch_date(done):
    out, _ = done
    frames = {p: pd.read_parquet(out / p / "seed-2.parquet") for p in POLICIES}
    first = frames["military-only"]
    branch = q.branch_tick(q.policy_scenario("military-only"))
    assert str(first["date"].iloc[branch].date()) < q.BRANCH < str(
        first["date"].iloc[branch + 1].date())
    assert 0 <= (pd.Timestamp(END) - first["date"].iloc[-1]).days < 7  # the last week
    for p, df in frames.items():
        assert df.iloc[:branch + 1].equals(first.iloc[:branch + 1]), p  # one shared history
        assert (out / p / "maps-seed-2.npz").exists()
        assert (out / p / "governorates-seed-2.parquet").exists()
    after = {p: df["lever_ground_forces"].iloc[branch + 1] for p, df in frames.items()}
    assert after == {"military-only": 0.8, "inclusion": 0.6, "both": 0.8, "withdrawal": 0.35}
    per_seed = pd.read_csv(out / "per-seed.csv")
    assert list(per_seed["policy"].unique()) == list(POLICIES)
    assert len(per_seed) == 2 * len(POLICIES)


def test_the_answer_does_not_depend_on_the_number_of_workers(done, tmp_path: Path):
    """Seed 2 alone in this process gives the same series, bit for bit, as on a worker of the
    two-worker pool."""
    out, _ = done
    alone = q.answer([2], tmp_path, end=pd.Timestamp(END).date(), workers=1, report=False)
    for p in POLICIES:
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / p / "seed-2.parquet"),
                                      pd.read_parquet(out / p / "seed-2.parquet"))
    pooled = pd.read_csv(out / "per-seed.csv")
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "per-seed.csv"),
        pooled[pooled["seed"] == 2].reset_index(drop=True))
    assert alone.seeds == [2]


def test_an_end_before_the_branch_is_a_user_error(tmp_path: Path):
    run = resurgence("question", "--end", "2017-07-01", "--out", "q", cwd=tmp_path)
    assert run.returncode == 2
    assert "error: --end: --end = '2017-07-01': must be a date after 2017-07-10" in run.stderr
    assert not (tmp_path / "q").exists()
