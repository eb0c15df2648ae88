"""Claims S6, S1 and S2 of DESIGN §2.7 on the shipped Iraq scenarios (10 km cells).

One ensemble serves every test, on seeds the calibration never ran (SEEDS): for each,
``iraq-2003-2020`` runs to the branch date
(2017-07-10, Mosul retaken) and is then branched (:meth:`InsurgencyRun.branch`) into the four
post-Mosul scenarios, each run to END. The branches of one seed share their history and their
random draws, so they differ by policy only. ``post-mosul-military-only`` keeps the levers of
the history after 2017, so its frame cut at 2020 is the ``iraq-2003-2020`` run. Each test
states its ensemble size and tolerance, and shows that the opposite policy gives the opposite
result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from resurgence import patterns
from resurgence.analysis import insurgency as analysis
from resurgence.models import insurgency as model
from resurgence.scenario import Scenario
from resurgence.scenario.catalog import resolve

#: seeds never used to calibrate (the hand-directed rounds looked at 1-4; docs/calibration.md)
SEEDS = (101, 102, 103, 104)
BRANCH = "2017-07-10"
END = "2025-01-01"
POLICIES = ("military-only", "inclusion", "both", "withdrawal")
ARMS = ("withdrawal-inclusion", "normal", "mid", "mid-inclusion")
MID = {"ground_forces": 0.5, "air_sorties": 0}  # between the withdrawal's effort and normal


def _weeks_until(s: Scenario, date: str) -> int:
    return int((pd.Timestamp(date) - pd.Timestamp(s.start)).days // s.tick_days)


def _run_to(run: model.InsurgencyRun, date: str) -> None:
    for _ in range(_weeks_until(run.scenario, date) - run.tick):
        run.step()


S5_DATE = "2016-10-17"  # the Mosul operation: 300 sorties a week against held cities


def _variant(base: Scenario, date: str, **levers: float) -> Scenario:
    """``base`` with one more timeline entry: ``levers`` from ``date`` on."""
    data = base.model_dump()
    data["timeline"] = [*data["timeline"], {"date": date, **levers}]
    return Scenario.from_dict(data)


def _s5_year(run: model.InsurgencyRun, base: Scenario, precision: float) -> pd.DataFrame:
    """The 52 weeks from S5_DATE of a branch of ``run`` (a week before it) whose air strikes
    have ``precision`` from S5_DATE on."""
    s5 = run.branch(_variant(base, S5_DATE, precision=precision))
    _run_to(s5, S5_DATE)
    for _ in range(52):
        s5.step()
    return s5.frame().iloc[-52:]


def _mosul_held(run: model.InsurgencyRun) -> pd.DataFrame:
    cells = run.theatre.places["Mosul"].cells
    held = run.world.fields.held.reshape(run.shape)[tuple(np.array(cells).T)]
    return pd.DataFrame({"date": [run.frame()["date"].iloc[-1]], "held": [bool(held.any())]})


@pytest.fixture(scope="module")
def ensemble() -> dict[str, list[pd.DataFrame]]:
    """policy -> one frame per seed, 2003-03-20 to END; "s5-precise"/"s5-blunt": the year
    from S5_DATE (the Mosul operation, 300 sorties a week) at precision 0.95 or 0.2;
    "no-mosul": to January 2018 without the Mosul operation's levers; "s5-*-no-revenge": the
    two S5 arms of a history with the revenge channel off (``revenge = 0``);
    "no-uprising": the history to 2017 with sleepers that never rise and forces whose hold on
    ground does not depend on legitimacy (``uprising = 0``, ``morale_floor = 1``);
    "mosul-held" and "mosul-held-open-field": one frame per seed of one row, whether the
    group holds Mosul on 2016-10-10 (a week before the operation), in the history and with
    the defender's urban advantage off (``urban_defence = 0``);
    "withdrawal-inclusion": the withdrawal branch with the inclusion branch's Sunni Arab
    inclusion and services; "normal": the inclusion branch's military effort without its
    inclusion and services; "mid" and "mid-inclusion": ground forces 0.5 and no air campaign,
    without and with them."""
    history = resolve("iraq-2003-2020")
    s5 = ("s5-precise", "s5-blunt")
    out: dict[str, list[pd.DataFrame]] = {
        p: [] for p in (*POLICIES, *s5, *(f"{a}-no-revenge" for a in s5), "no-mosul",
                        "no-uprising", "mosul-held", "mosul-held-open-field", *ARMS)}
    inclusion = next(e.values for e in resolve("post-mosul-inclusion").timeline
                     if str(e.date) == BRANCH)
    politics = {k: inclusion[k] for k in ("inclusion_sunni_arab", "services")}
    arms = {"withdrawal-inclusion": _variant(resolve("post-mosul-withdrawal"), BRANCH, **politics),
            "normal": _variant(history, BRANCH, ground_forces=inclusion["ground_forces"],
                               air_sorties=inclusion["air_sorties"]),
            "mid": _variant(history, BRANCH, **MID),
            "mid-inclusion": _variant(history, BRANCH, **MID, **politics)}
    data = resolve("iraq-2003-2020").model_dump()
    data["insurgency"]["revenge"] = 0.0
    no_revenge = Scenario.from_dict(data)
    data = resolve("iraq-2003-2020").model_dump()
    data["insurgency"].update(uprising=0.0, morale_floor=1.0)
    no_uprising = Scenario.from_dict(data)
    data = resolve("iraq-2003-2020").model_dump()
    data["insurgency"]["urban_defence"] = 0.0
    open_field = Scenario.from_dict(data)
    for seed in SEEDS:
        run = model.InsurgencyRun(open_field, seed)
        _run_to(run, "2016-10-10")
        out["mosul-held-open-field"].append(_mosul_held(run))
        run = model.InsurgencyRun(no_uprising, seed)
        _run_to(run, "2017-01-02")
        out["no-uprising"].append(run.frame())
        run = model.InsurgencyRun(no_revenge, seed)
        _run_to(run, "2016-10-10")
        for name, precision in zip(s5, (0.95, 0.2), strict=True):
            out[f"{name}-no-revenge"].append(_s5_year(run, no_revenge, precision))
        run = model.InsurgencyRun(history, seed)
        _run_to(run, "2016-10-10")
        out["mosul-held"].append(_mosul_held(run))
        for name, precision in zip(s5, (0.95, 0.2), strict=True):
            out[name].append(_s5_year(run, history, precision))
        twin = run.branch(_variant(history, S5_DATE, ground_forces=0.5, air_sorties=150))
        _run_to(twin, "2018-01-08")
        out["no-mosul"].append(twin.frame())
        _run_to(run, BRANCH)
        for p in POLICIES:
            branch = resolve(f"post-mosul-{p}")
            twin = run.branch(branch)
            _run_to(twin, END)
            out[p].append(twin.frame())
        for name, scenario in arms.items():
            twin = run.branch(scenario)
            _run_to(twin, END)
            out[name].append(twin.frame())
    return out


def held(pattern: patterns.Pattern, runs: list[pd.DataFrame]) -> int:
    return sum(pattern.distance(df) == 0.0 for df in runs)


S6 = ("civilian deaths 2006-07 peak / 2009-12", "civilian deaths 2014-15 peak / 2009-12",
      "year of peak territory", "territory 2009-12 / peak", "territory Dec 2017 / peak")


@pytest.mark.parametrize("name", S6)
def test_s6_history_shape(ensemble, name):
    """S6, 4 seeds of 2003-2020: each part of the historical shape (two violence peaks around
    a 2009-12 trough, territory peaking in 2014-15 after a territory-less 2009-12 and almost
    gone by December 2017) holds in at least 3 of the 4 runs. Ranges and sources:
    :data:`resurgence.patterns.IRAQ`."""
    pattern = next(p for p in patterns.IRAQ if p.name == name)
    runs = [df[df["date"] < "2021-01-01"] for df in ensemble["military-only"]]
    values = [round(pattern.value(df), 3) for df in runs]
    assert held(pattern, runs) >= 3, f"{name}: {values} vs [{pattern.lo}, {pattern.hi}]"


def test_s6_territory_collapses_because_of_the_mosul_operation(ensemble):
    """The opposite policy: the same runs without the 2016 Mosul operation (ground forces and
    air sorties kept at 0.5 and 150 on 2016-10-17), 4 seeds: territory in December 2017 stays
    above 10% of its peak in at least 3 of 4 runs, where the history collapses."""
    base = resolve("iraq-2003-2020")
    assert [e.values for e in base.timeline if str(e.date) == "2016-10-17"] == [
        {"ground_forces": 0.8, "air_sorties": 300}]
    pattern = next(p for p in patterns.IRAQ if p.name == "territory Dec 2017 / peak")
    runs = ensemble["no-mosul"]
    assert held(pattern, runs) <= 1, [round(pattern.value(df), 3) for df in runs]


def _outcomes(runs: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.DataFrame([analysis.summarise(df, after=BRANCH) for df in runs])


def test_s6_mosul_holds_until_its_operation(ensemble):
    """timeline.csv: the group held Mosul from June 2014 until the operation of October 2016
    - July 2017 retook it. A week before the operation began (2016-10-10) it still holds the
    city in at least 3 of 4 runs. The disabled mechanism: without the defender's advantage on
    urban ground (``urban_defence = 0``) the forces have retaken it by then in at least 3 of 4
    (docs/calibration.md)."""
    held = [df["held"].iloc[0] for df in ensemble["mosul-held"]]
    lost = [not df["held"].iloc[0] for df in ensemble["mosul-held-open-field"]]
    assert sum(held) >= 3, held
    assert sum(lost) >= 3, lost


def test_s1_territorial_defeat_is_not_the_end(ensemble):
    """S1, 4 seeds: even under Mosul-level pressure kept up to 2024, after losing over 60% of
    its peak territory the group keeps more than 1,000 members (sleepers included; ISI's low
    point in 2011 was 700-1,000 fighters, fighters.csv) in every year to 2024 — between 4,000
    and 30,000 in August 2018 (the UN's 20,000-30,000 covers Iraq and Syria) — and its attacks
    go on every year, at a lower level: in every run the yearly attacks of 2018-24 stay below
    the peak year of 2014-15 (a model that leaves too many sleepers behind and finds them too
    slowly fails this). Its return when pressure is withdrawn is the next test; the level of
    its violence after the defeat, a calibration target, the one after."""
    aug_2018 = next(p for p in patterns.IRAQ if p.name == "members Aug 2018")
    for df in ensemble["military-only"]:
        assert analysis.summarise(df)["lost_60pct_date"] is not None
        after = df[df["date"] >= "2018-01-01"]
        by_year = after.groupby(pd.to_datetime(after["date"]).dt.year)
        assert (by_year["members"].min() > 1_000).all(), by_year["members"].min().to_dict()
        attacks = patterns.yearly(df, "attacks")
        assert (attacks.loc[2018:2024] > 0).all(), attacks.loc[2018:2024].to_dict()
        assert attacks.loc[2018:2024].max() < attacks.loc[2014:2015].max(), attacks.to_dict()
        assert aug_2018.distance(df) == 0.0, aug_2018.value(df)


@pytest.mark.xfail(strict=True, reason=(
    "a miss on fresh seeds, reported (docs/evidence.md): civilian deaths 2018-20 over the "
    "2014-15 peak year are 0.377, 0.449, 0.417, 0.392 on seeds 101-104 (2 of 4 within the "
    "pattern's 0.4; Iraq Body Count about 0.11); on the calibration's seeds 1-4 it held in 3 "
    "or more. A calibration target, not an emergent claim"))
def test_s1_violence_after_the_defeat_is_at_most_0_4_of_the_peak(ensemble):
    """S1's level, 4 seeds: civilian deaths 2018-20 are at most 0.4 of the 2014-15 peak year
    in at least 3 runs (Iraq Body Count: about 0.11). This pattern was a target of the
    hand-directed calibration (docs/calibration.md), so it is not counted as emergent; the
    test stays, expected to fail, until an inference fits it (strict: a pass is reported)."""
    lower = next(p for p in patterns.IRAQ if p.name == "civilian deaths 2018-20 / 2014-15 peak")
    runs = [df[df["date"] < "2021-01-01"] for df in ensemble["military-only"]]
    assert held(lower, runs) >= 3, [round(lower.value(df), 3) for df in runs]


def test_s1_withdrawing_pressure_brings_it_back(ensemble):
    """S1, 4 seeds: when pressure is withdrawn in 2017 while exclusion persists, the group
    regains 25% of its peak territory by 2025 in at least 3 of 4 runs. The opposite policy is
    the next test."""
    back = _outcomes(ensemble["withdrawal"])["resurgence"].sum()
    assert back >= 3, back


def test_s1_continued_pressure_keeps_it_down(ensemble):
    """S1's opposite policy, 4 seeds: under continued pressure (the military-only branch) the
    group regains 25% of its peak territory by 2025 in at most 1 of 4 runs (a model that
    leaves twice the sleepers behind and finds them half as fast fails this: 3 of 4 in
    docs/calibration.md)."""
    kept = _outcomes(ensemble["military-only"])["resurgence"].sum()
    assert kept <= 1, kept


def _casualties_after(runs: list[pd.DataFrame]) -> float:
    """Civilian and security casualties from the branch date on, mean per run."""
    return sum(df.loc[df["date"] >= BRANCH, ["casualties_civilian", "casualties_security"]]
               .to_numpy().sum() for df in runs) / len(runs)


def test_s2_inclusion_works_at_the_same_military_effort(ensemble):
    """S2, 4 seeds per branch, same military effort (the history's: ground forces 0.8, 300
    sorties): raising Sunni Arab inclusion and services in 2017 cuts cumulative casualties
    2017-2024 by at least 20% (ensemble means). At this
    effort neither branch returns (the next test); the casualties discriminate here."""
    assert _casualties_after(ensemble["both"]) < 0.8 * _casualties_after(ensemble["military-only"])


#: (arm without, arm with) the inclusion branch's Sunni Arab inclusion and services, by effort
EFFORTS = {"history (0.8, 300 sorties)": ("military-only", "both"),
           "normal (0.6, 50 sorties)": ("normal", "inclusion"),
           "mid (0.5, no air)": ("mid", "mid-inclusion"),
           "withdrawal (0.35, no air)": ("withdrawal", "withdrawal-inclusion")}


def test_s2_inclusion_makes_resurgence_rarer_at_every_effort(ensemble):
    """S2, 4 seeds per arm and four military efforts from 2017-07-10 (EFFORTS; the policy
    branches and three more arms of the same runs): with the inclusion branch's Sunni Arab
    inclusion and services the group returns (``summarise`` after the branch: its territory
    climbs by a quarter of its peak above its low since the branch) in no more runs than
    without them at any effort, and in at least 4 fewer of the 16 in all (the counts measured
    at the kept point are in docs/calibration.md). Without
    inclusion the group returns in every run at the two low efforts, and beyond its 2014-15
    peak, and in 2 of 4 at the normal one (the opposite result); at the history's it returns
    in neither arm, which cannot discriminate there."""
    counts = {}
    for effort, (bare, inc) in EFFORTS.items():
        counts[effort] = tuple(int(_outcomes(ensemble[arm])["resurgence"].sum())
                               for arm in (bare, inc))
    assert all(inc <= bare for bare, inc in counts.values()), counts
    total_bare = sum(bare for bare, _ in counts.values())
    total_inc = sum(inc for _, inc in counts.values())
    assert total_inc <= total_bare - 4, counts


def test_s2_inclusion_works_at_the_withdrawal_effort_too(ensemble):
    """S2 at a low military effort, 4 seeds: pressure withdrawn in 2017 (ground forces 0.35, no
    air campaign), with or without the inclusion branch's Sunni Arab inclusion and services.
    With them, the ground the group holds in January 2025 is under a tenth of what it holds
    without them in every run, and casualties 2017-2024 fall by at least 40% (ensemble
    means; the values measured at the kept point are in docs/calibration.md)."""
    for inc, bare in zip(ensemble["withdrawal-inclusion"], ensemble["withdrawal"], strict=True):
        end = {k: float(df["territory_km2"].iloc[-1]) for k, df in (("inc", inc), ("bare", bare))}
        assert end["inc"] < 0.1 * end["bare"], end

    cut = _casualties_after(ensemble["withdrawal-inclusion"])
    assert cut < 0.6 * _casualties_after(ensemble["withdrawal"])


def _total(ensemble, name: str, col: str) -> float:
    return float(sum(df[col].sum() for df in ensemble[name]))


def test_s5_low_precision_kills_more_civilians(ensemble):
    """S5 (first half), 4 seeds: the year from the start of the Mosul operation (17 October
    2016: 300 sorties a week against held cities; article: the bombardment of Mosul came "at
    the cost of hundreds of Iraqi civilian lives") at precision 0.2 against 0.95 (the same runs
    up to then, the same random draws after): low precision kills at least 3x the civilians
    (ensemble totals)."""
    assert _total(ensemble, "s5-blunt", "casualties_collateral") > 3 * _total(
        ensemble, "s5-precise", "casualties_collateral")


def _effect(ensemble, suffix: str, col: str) -> float:
    """Relative rise of ``col`` (ensemble total) from the precise to the blunt arm."""
    return _total(ensemble, f"s5-blunt{suffix}", col) / max(
        _total(ensemble, f"s5-precise{suffix}", col), 1.0) - 1.0


def test_s5_collateral_damage_raises_recruitment(ensemble):
    """S5, 4 seeds, the same two arms: low precision brings more recruits offered
    (``recruits_asked``) and taken (ensemble totals, by at least 5%). The mechanism is the
    revenge channel (each collateral death adds ``revenge`` people to its cell's recruitable
    pool): in a history with it switched off, the rise is less than a tenth of that. Where few
    people live the effect fades (strikes on remnants in the desert kill few and bring few
    recruits), so the arms strike during the Mosul operation."""
    for col in ("recruits_asked", "recruits"):
        on, off = _effect(ensemble, "", col), _effect(ensemble, "-no-revenge", col)
        assert on > 0.05, (col, on)
        assert abs(off) < 0.1 * on, (col, on, off)


def _year_mean(df: pd.DataFrame, col: str, years: tuple[int, int]) -> float:
    y = pd.to_datetime(df["date"]).dt.year
    return float(df.loc[(y >= years[0]) & (y <= years[1]), col].mean())


def test_s3_desert_share_rises_as_territory_falls(ensemble):
    """S3, 4 seeds: the desert share of field fighters is higher in 2018-19, after the
    territorial defeat, than in 2014-15, when the group held territory (every run, by at
    least 0.1). The opposite policy — pressure withdrawn in 2017 — brings fighters back out of
    the desert: their desert share in 2021-24 is lower than under continued pressure
    (ensemble means)."""
    for df in ensemble["military-only"]:
        peak = _year_mean(df, "desert_share", (2014, 2015))
        after = _year_mean(df, "desert_share", (2018, 2019))
        assert after > peak + 0.1, (peak, after)
    late = {p: float(pd.Series([_year_mean(df, "desert_share", (2021, 2024))
                                for df in ensemble[p]]).mean())
            for p in ("military-only", "withdrawal")}
    assert late["withdrawal"] < late["military-only"], late


def test_s3_removing_an_insurgent_costs_more_in_the_desert(ensemble):
    """S3, 4 seeds, 2003-2020: personnel-weeks of the forces sent after insurgents, in cells
    with field fighters, per field fighter removed there is higher in desert cells than in
    urban cells (ensemble totals, by at least 2x): low detection in the desert (Kress &
    Szechtman 2009). A model in which the group holds only empty desert, and hunters follow
    detected fighters there, costs no more in the desert than in the cities, so the test can
    fail (docs/calibration.md)."""
    runs = [df[df["date"] < "2021-01-01"] for df in ensemble["military-only"]]

    def cost(where):
        return sum(df[f"effort_{where}"].sum() for df in runs) / max(
            1.0, sum(df[f"removed_{where}"].sum() for df in runs))

    assert cost("desert") > 2 * cost("urban"), (cost("desert"), cost("urban"))


def _fall(df: pd.DataFrame, col: str) -> float:
    """``col`` in 2018 (territory lost) over 2015 (territory held)."""
    return _year_mean(df, col, (2018, 2018)) / max(_year_mean(df, col, (2015, 2015)), 1e-9)


def test_s7_losing_ground_cuts_territorial_capacity_more_than_attacks(ensemble):
    """S7, 4 seeds: from 2015 (territory held) to 2018 (lost) territorial fighters fall by a
    larger share than sleeper attacks do, in every run: cheap attacks outlast the taxes and
    oil that paid for holding ground."""
    for df in ensemble["military-only"]:
        ratio = {c: _fall(df, c) for c in ("fighters_territorial", "attacks")}
        assert ratio["fighters_territorial"] < ratio["attacks"], ratio


def test_s7_income_falls_after_the_defeat(ensemble):
    """S7, 4 seeds: from 2015 to 2018 income falls by at least 60% in every run (revenue.csv:
    -80% from Q2 2015 to Q2 2017); a group that leaves many sleepers behind, extorting, fails
    it."""
    for df in ensemble["military-only"]:
        assert _fall(df, "income") < 0.4, _fall(df, "income")


def _people_held_peak(df: pd.DataFrame) -> float:
    return next(p for p in patterns.IRAQ if p.name == "peak people held 2014-16").value(df)


def test_s6_the_group_takes_sunni_cities(ensemble):
    """S6 (timeline.csv: Fallujah and Mosul fall in 2014 and are held for two to three years),
    4 seeds: the people under the group's control peak at 1 million or more in 2014-16 in at
    least 3 runs. The opposite, with the uprising of sleepers and the morale of the defence
    switched off (``uprising = 0``, ``morale_floor = 1``; the same seeds): the peak stays
    below 0.5 million in at least 3 runs — fighters from outside do not mass enough to storm a
    defended city."""
    runs = ensemble["military-only"]
    assert sum(_people_held_peak(df) >= 1e6 for df in runs) >= 3, [
        _people_held_peak(df) for df in runs]
    off = ensemble["no-uprising"]
    assert sum(_people_held_peak(df) < 5e5 for df in off) >= 3, [
        _people_held_peak(df) for df in off]
    # the observable ``risen``: sleepers take up arms in 2013-16 only where the uprising is on
    risen = [df.loc[(df["date"] >= "2013-01-01") & (df["date"] < "2017-01-01"), "risen"].sum()
             for df in runs]
    assert min(risen) > 1_000 and all(df["risen"].sum() == 0 for df in off), risen


def test_s7_the_treasury_rests_on_taxes_and_oil_while_ground_is_held(ensemble):
    """S7's mechanism (article: "it has lost petroleum-rich strongholds ... losing the taxes";
    revenue.csv: oil -88% and taxes -79% from Q2 2015 to Q2 2017), 4 seeds: in 2015 taxes and
    oil bring at least half the income in at least 3 of 4 runs (a model in which the group holds
    no city gets about 0.01-0.02 from them, so the test can fail)."""
    shares = []
    for df in ensemble["military-only"]:
        y = pd.to_datetime(df["date"]).dt.year == 2015
        shares.append(df.loc[y, ["income_tax", "income_oil"]].to_numpy().sum() / max(
            df.loc[y, "income"].sum(), 1.0))
    assert sum(v >= 0.5 for v in shares) >= 3, shares
