"""Typed parameters of the insurgency model (DESIGN §2.3-2.8): mechanisms and policy levers.

Mechanism parameters (:class:`InsurgencyConfig`, the ``[insurgency]`` table) are fixed for a
run; levers (:class:`Levers`, the ``[levers]`` table) are the policy numbers an analyst moves,
on a dated timeline. Symbols follow ``docs/model.md`` Part II; defaults are the hand
calibration of ``docs/calibration.md``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from resurgence.errors import keyed_error
from resurgence.scenario.params import Params, Share

#: the identity groups of the model, in the order of its per-group levers and parameters; a
#: theatre must have these groups (in any order)
GROUPS = ("sunni_arab", "shia_arab", "kurd", "other")
Group = Literal["sunni_arab", "shia_arab", "kurd", "other"]


class Levers(Params):
    """Policy levers, each a number in [0, 1] unless stated (DESIGN §2.5)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ground_forces: float = Field(0.5, ge=0, le=1, description="national army and police "
                                 "deployed, as a share of full strength (security_units)")
    foreign_troops: float = Field(0.0, ge=0, le=1, description="foreign (coalition) ground "
                                  "troops, as a share of foreign_units; also lowers legitimacy")
    air_sorties: float = Field(0.0, ge=0, le=5000, description="coalition air sorties per week")
    precision: float = Field(0.8, ge=0, le=1, description="rules of engagement: 1 = no "
                             "collateral damage, 0 = indiscriminate")
    border_control: float = Field(0.2, ge=0, le=1, description="share of foreign recruits "
                                  "stopped at the borders")
    inclusion_sunni_arab: float = Field(0.5, ge=0, le=1, description="political inclusion of "
                                        "Sunni Arabs (the article's 'new political system')")
    inclusion_shia_arab: float = Field(0.8, ge=0, le=1, description="inclusion of Shia Arabs")
    inclusion_kurd: float = Field(0.7, ge=0, le=1, description="inclusion of Kurds")
    inclusion_other: float = Field(0.5, ge=0, le=1, description="inclusion of other groups")
    services: float = Field(0.4, ge=0, le=1, description="stabilisation and services spending")
    tribal_engagement: float = Field(0.0, ge=0, le=1, description="Sahwa: arming and paying "
                                     "Sunni tribes")
    detention: float = Field(0.5, ge=0, le=1, description="detention policy: terms as a share "
                             "of max_detention_weeks (a drop releases detainees: prison breaks)")
    sectarian_shock: float = Field(0.0, ge=0, le=1, description="one-off legitimacy loss of "
                                   "the excluded group when this lever rises (Samarra 2006, "
                                   "Hawija 2013); the rise is applied once, not held")
    escapes: float = Field(0.0, ge=0, le=1e6, description="captured members who escape in a "
                           "week (a prison break, by its reported size; set for one week)")
    militia_integration: float = Field(0.0, ge=0, le=1, description="share of the sectarian "
                                       "militias inside the security forces: the forces no "
                                       "longer curb them, and their killings cost the "
                                       "government the legitimacy of the group they target")
    militia_crackdown: float = Field(0.0, ge=0, le=1, description="curb on the sectarian "
                                     "militias (a freeze ordered by their leaders, operations "
                                     "against them): cuts their numbers and their killings")
    militia_mobilisation: float = Field(0.0, ge=0, le=1, description="call to arms of the "
                                        "sectarian militias against the group (the Popular "
                                        "Mobilisation of 2014): they grow by militia_mobilised "
                                        "and this share of them fights the group")
    civilian_protection: float = Field(0.0, ge=0, le=1, description="protection of civilians "
                                       "in assaults and after them: cuts civilian battle deaths "
                                       "and reprisals on retaken ground")

    def inclusion(self) -> tuple[float, float, float, float]:
        return (self.inclusion_sunni_arab, self.inclusion_shia_arab, self.inclusion_kurd,
                self.inclusion_other)


#: levers a timeline may change
LEVER_KEYS = frozenset(Levers.model_fields)


class InsurgencyConfig(Params):
    """Mechanism parameters (symbols as in docs/model.md, Part II)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # space and scale
    theatre: str = Field("iraq", description="bundled theatre name or path to a theatre.toml")
    cell_km: float = Field(10.0, ge=1, le=100, description="raster cell size, km")
    people_per_agent: float = Field(100.0, ge=1, le=1e6, description="people one citizen "
                                    "agent stands for")
    population_scale: float = Field(0.75, gt=0, le=10, description="theatre population "
                                    "(2018) times this = population at the start")
    vision: float = Field(25.0, ge=0, le=500, description="local neighbourhood radius, km")
    # grievance and deterrence (Epstein 2002)
    threshold_sympathy: float = Field(0.1, ge=0, le=1, description="T_s")
    threshold_recruit: float = Field(0.3, ge=0, le=1, description="T_r")
    k: float = Field(2.3, ge=0, le=100, description="arrest probability constant")
    deterrence_scale: float = Field(20.0, gt=0, le=1e6, description="d: security personnel "
                                    "per (1 + fighters) in vision that make one unit of "
                                    "deterrence")
    affinity: tuple[Share, Share, Share, Share] = Field(
        (1.0, 0.05, 0.03, 0.3), description="a_g: propensity of each group to back the "
        "group (Sunni Arab, Shia Arab, Kurd, other)")
    recruit_rate: float = Field(0.06, ge=0, le=100, description="rho: recruits per 100 "
                                "active supporters and week at full propaganda and treasury")
    recruitable: float = Field(0.01, ge=0, le=1, description="share of the people of a cell "
                               "who can ever be recruited (the susceptible pool of contagion "
                               "models); recruits deplete it")
    revenge: float = Field(10.0, ge=0, le=1e4, description="people added to a cell's "
                           "recruitable pool per collateral death in it (kin seeking revenge: "
                           "McChrystal's 'insurgent math'; Condra et al. 2010)")
    pool_renewal: float = Field(0.0005, ge=0, le=1, description="weekly renewal of the "
                                "recruitable pool toward its full size (new cohorts: ~2.6%/yr)")
    absorption: float = Field(0.02, ge=0, le=10, description="most recruits the organisation "
                              "can take in a week, as a share of its members (training, "
                              "vetting, pay): caps growth near the 1.8%/week of ISI's 2011-14 "
                              "rebuilding (fighters.csv)")
    absorption_floor: int = Field(500, ge=0, le=1_000_000, description="members counted at "
                                  "least, so a small or new group can still grow")
    near_fighters: float = Field(5.0, gt=0, le=1e6, description="fighters in vision at which "
                                 "recruitment reaches its full rate")
    arrest_rate: float = Field(0.05, ge=0, le=1, description="weekly arrest probability of an "
                               "active supporter at deterrence P = 1")
    max_detention_weeks: int = Field(260, ge=1, le=10_000, description="most weeks a captured "
                                     "insurgent is held, at detention = 1 (a term is uniform "
                                     "on 1 .. detention x this)")
    max_internment_weeks: int = Field(173, ge=1, le=10_000, description="most weeks an arrest "
                                      "holds a citizen agent's members, at detention = 1: 173 "
                                      "makes the mean term a year at the history's detention "
                                      "0.6, the average US internment in 2007")
    arrest_people: float = Field(2.5, ge=0, le=1_000, description="people an arrest detains: "
                                 "the active members of the agent (its residents stay)")
    displacement_rate: float = Field(0.05, ge=0, le=1, description="weekly chance to flee a "
                                     "cell at one battle casualty per 1,000 residents")
    return_rate: float = Field(0.02, ge=0, le=1, description="weekly chance a displaced agent "
                               "returns to a quiet cell")
    war_damage: float = Field(0.05, ge=0, le=100, description="hardship added per collateral "
                              "or battle death per 1,000 residents of a cell")
    damage_decay: float = Field(0.01, ge=0, le=1, description="weekly repair of war damage at "
                                "services = 1")
    # legitimacy
    legitimacy_base: float = Field(0.35, ge=0, le=1, description="l0")
    legitimacy_inclusion: float = Field(0.5, ge=0, le=1, description="l_inc")
    legitimacy_services: float = Field(0.15, ge=0, le=1, description="l_srv")
    legitimacy_occupation: float = Field(0.2, ge=0, le=1, description="l_occ")
    legitimacy_relax: float = Field(0.02, ge=0, le=1, description="kappa, per week")
    attack_erosion: float = Field(0.02, ge=0, le=100, description="eta_a per casualty per "
                                  "1,000 people of the governorate")
    collateral_erosion: float = Field(0.05, ge=0, le=100, description="eta_d per collateral "
                                      "death per 1,000 people of the governorate")
    shock_size: float = Field(0.3, ge=0, le=1, description="legitimacy lost by the excluded "
                              "group for a sectarian_shock lever rise of 1")
    # combat (Kress & Szechtman 2009: detection from terrain and intelligence)
    detection: tuple[Share, Share, Share, Share, Share] = Field(
        (0.5, 0.4, 0.25, 0.04, 0.15), description="p_terrain by terrain: urban, river, "
        "steppe, desert, mountain")
    tips: float = Field(1.5, ge=0, le=100, description="mu: detection gain from legitimacy")
    cover: float = Field(2.0, ge=0, le=100, description="nu: detection loss from sympathisers")
    sahwa_intel: float = Field(2.0, ge=0, le=100, description="detection gain from local "
                               "militia, at militia = all security in a cell")
    attrition_insurgent: float = Field(0.3, ge=0, le=100, description="alpha: weekly removal "
                                       "hazard of a detected fighter where forces cover the "
                                       "cell fully")
    search_people: float = Field(20.0, ge=0, le=1e4, description="security personnel per 1,000 "
                                 "residents that cover a cell halfway (FM 3-24's 20 per 1,000)")
    search_km2: float = Field(0.5, ge=0, le=1e4, description="security personnel per km^2 that "
                              "cover a cell halfway")
    attrition_security: float = Field(0.05, ge=0, le=100, description="beta: security "
                                      "casualties per engaged fighter and week")
    sleeper_exposure: float = Field(0.1, ge=0, le=1, description="exposure of a sleeper to "
                                    "ground combat relative to a fighter")
    capture_share: float = Field(0.4, ge=0, le=1, description="share of removed fighters "
                                 "captured rather than killed, at detention = 1")
    fighter_strength: float = Field(5.0, gt=0, le=1000, description="q: security personnel "
                                    "one fighter is worth in holding ground")
    unit_size: float = Field(100.0, gt=0, le=1e5, description="personnel per security unit")
    security_units: int = Field(3_000, ge=0, le=10_000_000, description="national units at "
                                "ground_forces = 1")
    foreign_units: int = Field(1_700, ge=0, le=10_000_000, description="foreign units at "
                               "foreign_troops = 1")
    mobility: float = Field(0.1, ge=0, le=1, description="weekly relaxation of deployment "
                            "toward its target")
    threat_weight: float = Field(0.5, ge=0, le=1, description="share of forces sent after "
                                 "detected insurgents (rest: garrisons by population)")
    air_kill: float = Field(0.5, ge=0, le=100, description="fighters killed per sortie on a "
                            "fully detected concentration")
    collateral: float = Field(0.02, ge=0, le=100, description="zeta: collateral deaths per "
                              "sortie per 1,000 people/km^2 at precision 0")
    # organisation
    tax_rate: float = Field(0.5, ge=0, le=1e6, description="tau: USD per controlled person "
                            "and week")
    oil_income: float = Field(300_000.0, ge=0, le=1e9, description="omega: USD per week per "
                              "controlled oil cell")
    extortion: float = Field(400.0, ge=0, le=1e6, description="USD per sleeper and week in a "
                             "populated cell")
    upkeep: float = Field(100.0, ge=0, le=1e6, description="u: USD per member and week")
    attack_cost: float = Field(5_000.0, ge=0, le=1e9, description="c: USD per sleeper attack")
    initial_treasury: float = Field(2e6, ge=0, le=1e12, description="USD at the start")
    volunteer_share: float = Field(0.3, ge=0, le=1, description="share of the recruitment rate "
                                   "reached with an empty treasury (volunteers)")
    reserve_weeks: float = Field(8.0, gt=0, le=1000, description="weeks of upkeep in the "
                                 "treasury at which the group recruits at full rate")
    turnover: float = Field(0.0, ge=0, le=1, description="weekly chance a member leaves the "
                            "group for good (burn-out, return to civilian life), paid or not")
    desertion: float = Field(0.02, ge=0, le=1, description="weekly desertion of unpaid members")
    hold_ratio: float = Field(1.2, gt=0, le=100, description="phi_hold")
    withdraw_ratio: float = Field(0.6, gt=0, le=100, description="phi_withdraw")
    sleeper_share: float = Field(0.3, ge=0, le=1, description="sigma: share left as sleepers on "
                                 "withdrawal")
    posture_km: float = Field(50.0, ge=0, le=1000, description="radius over which fighters "
                              "weigh their strength against the forces opposing them, km")
    return_budget: float = Field(0.05, ge=0, le=1, description="treasury (as a share of the "
                                 "reserve) needed for desert fighters to return")
    assault_ratio: float = Field(1.0, ge=1, le=100, description="a: the group keeps a held "
                                 "block until the forces wear its fighters down to 1/a of what "
                                 "taking it needed (garrison and strength; the attacker's 3:1 "
                                 "rule); 1: keeping and taking ground are alike")
    urban_defence: float = Field(0.0, ge=0, le=100, description="u: a held block's fighters "
                                 "count 1 + u times as strong against the forces on its urban "
                                 "share (the defender's advantage in cities); 0: none")
    morale_floor: float = Field(1.0, ge=0, le=1, description="m: share of their strength "
                                "security forces keep where no resident backs the government "
                                "(they hold ground with E (m + (1 - m) L_local)); 1: legitimacy "
                                "does not matter")
    uprising: float = Field(0.5, ge=0, le=1, description="weekly chance a sleeper rises (becomes "
                            "a territorial fighter) where the group's members could take the "
                            "block; 0: sleepers never rise")
    posture_speed: float = Field(0.2, ge=0, le=1, description="weekly chance a fighter follows "
                                 "a change of posture")
    return_sympathy: float = Field(0.2, ge=0, le=1, description="sympathiser share of a "
                                   "governorate needed for desert fighters to return")
    control_km2: float = Field(100.0, gt=0, le=1e5, description="least area one territorial "
                               "fighter can hold: control is decided over square blocks of "
                               "cells of about this area (one 10 km cell), so that finer cells "
                               "do not need more fighters for the same ground")
    garrison_km2: float = Field(0.01, ge=0, le=100, description="fighters per km^2 needed to "
                                "hold a cell")
    garrison_people: float = Field(1.0, ge=0, le=1000, description="fighters per 1,000 "
                                   "residents needed to hold a cell")
    sympathy_help: float = Field(0.7, ge=0, le=1, description="share of the garrison a fully "
                                 "sympathetic population makes unnecessary")
    speed_km: float = Field(40.0, gt=0, le=1000, description="insurgent movement per week, km")
    desert_spread_km2: float = Field(120.0, ge=0, le=1e6, description="how far a desert "
                                     "fighter wanders inside the desert in a week: each step "
                                     "(speed_km / cell_km a week) goes to a random neighbouring "
                                     "desert cell w.p. p, with p x steps x cell_km^2 = this "
                                     "(p at most 1), so the walk spreads alike at any cell "
                                     "size; 120: p = 0.3 at 10 km")
    attack_probability: float = Field(0.05, ge=0, le=1, description="p_att per sleeper and week")
    attack_casualties: float = Field(6.0, ge=0, le=1000, description="lambda per attack")
    prevent_legitimacy: float = Field(1.0, ge=0, le=100, description="prevention hazard per "
                                      "unit of local legitimacy (tips)")
    prevent_security: float = Field(0.2, ge=0, le=100, description="prevention hazard per "
                                    "1,000 security personnel in the cell's control block")
    foreign_base: float = Field(120.0, ge=0, le=1e5, description="f0 per week at full "
                                "propaganda and open borders")
    foreign_border: str = Field("Syria", description="neighbour whose crossings let foreign "
                                "fighters in")
    open_crossing: float = Field(2_000.0, ge=0, le=1e7, description="security personnel at "
                                 "which a crossing is closed to the group")
    propaganda_base: float = Field(0.2, ge=0, le=10, description="pi0")
    propaganda_territory: float = Field(1.0, ge=0, le=10, description="pi gain at the "
                                        "reference territory")
    propaganda_gain: float = Field(1.0, ge=0, le=1000, description="pi gain per 1% of the "
                                   "reference territory won in a week")
    propaganda_ref_km2: float = Field(40_000.0, gt=0, le=1e7, description="reference territory")
    propaganda_relax: float = Field(0.05, ge=0, le=1, description="per week")
    base_group: Group = Field("sunni_arab", description="the group the insurgency recruits "
                              "its first members among and whose tribes raise the Sahwa "
                              "militia (one of the theatre's groups)")
    initial_fighters: int = Field(2_000, ge=0, le=1_000_000, description="members at the start "
                                  "(as sleepers in the base group's towns)")
    max_insurgents: int = Field(200_000, ge=10, le=50_000_000, description="row capacity")
    sahwa_threshold: float = Field(0.2, ge=0, le=1, description="legitimacy to the base group "
                                   "above which its engaged tribes raise militia")
    sahwa_rate: float = Field(0.01, ge=0, le=1, description="militia per quiet resident of "
                              "the base group at full engagement")
    # violence against civilians: the sectarian war and violence that follows control
    # (docs/model.md, Part II, Violence against civilians; all off at their defaults)
    militia_group: Group = Field("shia_arab", description="the community the sectarian "
                                 "militias come from and defend (one of the theatre's groups, "
                                 "not base_group); they kill and drive out base_group residents "
                                 "where the two live together")
    militia_rate: float = Field(0.0, ge=0, le=1000, description="sectarian militia per 1,000 "
                                "people of militia_group per unit of their fear; 0: no "
                                "militias raised by fear")
    militia_mobilised: float = Field(0.0, ge=0, le=1000, description="sectarian militia per "
                                     "1,000 people of militia_group at militia_mobilisation = 1")
    militia_relax: float = Field(0.05, ge=0, le=1, description="weekly relaxation of the "
                                 "militia toward its target")
    fear_attacks: float = Field(1.0, ge=0, le=1e4, description="fear of militia_group per "
                                "death at the insurgents' hands per 1,000 of its people in the "
                                "governorate (a week's attacks and executions)")
    fear_shock: float = Field(1.0, ge=0, le=1e4, description="fear of militia_group per unit "
                              "rise of sectarian_shock (Samarra 2006), everywhere")
    fear_decay: float = Field(0.02, ge=0, le=1, description="weekly decay of fear")
    militia_kill: float = Field(0.02, ge=0, le=100, description="killings per sectarian "
                                "militia member and week, where all residents present are of "
                                "base_group, uncurbed")
    sectarian_flight: float = Field(0.05, ge=0, le=1, description="weekly chance a base_group "
                                    "resident flees per sectarian killing per 1,000 of them "
                                    "present in the cell")
    executions: float = Field(0.0, ge=0, le=1000, description="civilians the group executes "
                              "per 1,000 residents who do not back it, in a populated cell the "
                              "week it takes it; 0: none")
    coercion: float = Field(0.0, ge=0, le=1000, description="civilians the group kills per "
                            "1,000 residents who do not back it, per week in a cell it holds; "
                            "0: none")
    reprisals: float = Field(0.0, ge=0, le=1000, description="civilians killed per 1,000 of "
                             "the group's sympathisers the week the government retakes their "
                             "cell; 0: none")
    # structural options of the policy study (issue 22; docs/model.md, Part II, Structural
    # options): each at its default is today's model
    inclusion_delay_weeks: int = Field(0, ge=0, le=1040, description="weeks between a rise "
                                       "of an inclusion lever (announced) and its delivery")
    inclusion_credibility: float = Field(1.0, ge=0, le=1, description="share of an announced "
                                         "rise of inclusion that is delivered (a fall is "
                                         "delivered in full at once)")
    inclusion_lapse_weeks: int = Field(0, ge=0, le=5200, description="weeks after which a "
                                       "delivered rise of inclusion is undone (backsliding); "
                                       "0: never")
    backlash: float = Field(0.0, ge=0, le=1, description="legitimacy every other group loses, "
                            "once, per unit rise of a group's delivered inclusion (and fear of "
                            "the militias' community: fear_shock times this)")
    counter_move: float = Field(0.0, ge=0, le=100, description="cooperators the group "
                                "assassinates per sleeper and week where the base group fully "
                                "backs the government (its answer to inclusion: the Sahwa)")
    haven_inflow: float = Field(0.0, ge=0, le=1e5, description="fighters a week from a safe "
                                "haven across foreign_border, whatever the group's propaganda, "
                                "through the open crossings (times 1 - border_control)")
    haven_exit: float = Field(0.0, ge=0, le=1, description="weekly chance a desert fighter "
                              "within haven_km of a crossing withdraws into the haven")
    haven_return: float = Field(0.05, ge=0, le=1, description="weekly chance a member in the "
                                "haven comes back (a desert fighter at an open crossing)")
    haven_km: float = Field(50.0, ge=0, le=1000, description="distance from a crossing within "
                            "which desert fighters can withdraw into the haven")
    battle_civilians: float = Field(0.0, ge=0, le=1000, description="civilians killed per "
                                    "combatant killed in ground combat per 1,000 people/km^2 "
                                    "of the cell's block; 0: none")


    @model_validator(mode="after")
    def _two_communities(self) -> InsurgencyConfig:
        militias = self.militia_rate > 0 or self.militia_mobilised > 0
        if militias and self.militia_group == self.base_group:
            raise keyed_error("militia_group", self.militia_group,
                              f"a group other than base_group ({self.base_group!r})")
        return self

#: parameters of :class:`InsurgencyConfig` that must be integers
INT_KEYS = frozenset({"absorption_floor", "security_units", "foreign_units", "initial_fighters",
                      "max_insurgents", "max_detention_weeks",
                      "max_internment_weeks", "inclusion_delay_weeks", "inclusion_lapse_weeks"})
