"""Colour-blind-safe colours: the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design").

Every figure, map and dashboard panel takes its colours from here, so that a series keeps its
colour from the plots to the report to the dashboard.
"""

from __future__ import annotations

#: the eight Okabe-Ito colours
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: neutral greys for backgrounds and "nothing here" cells (not part of the eight)
GREY = "#999999"
LIGHT = "#F2F2F2"

#: one colour per series of the Epstein observables
SERIES = {
    "quiet": OKABE_ITO["sky_blue"],
    "active": OKABE_ITO["vermillion"],
    "jailed": GREY,
    "cops": OKABE_ITO["black"],
    "blue": OKABE_ITO["blue"],
    "green": OKABE_ITO["bluish_green"],
    "larger": OKABE_ITO["blue"],
    "smaller": OKABE_ITO["orange"],
}

#: the insurgency model: roles (map codes and member series share them), groups, violence
INSURGENCY = {
    "government": "#D9D9D9",
    "contested": OKABE_ITO["orange"],
    "territorial": OKABE_ITO["vermillion"],
    "desert": OKABE_ITO["blue"],
    "sleeper": OKABE_ITO["reddish_purple"],
    "members": OKABE_ITO["black"],
    "sunni_arab": OKABE_ITO["orange"],
    "shia_arab": OKABE_ITO["bluish_green"],
    "kurd": OKABE_ITO["sky_blue"],
    "other": OKABE_ITO["black"],
    "attacks": OKABE_ITO["black"],
    "casualties_civilian": OKABE_ITO["vermillion"],
    "casualties_security": OKABE_ITO["blue"],
    "treasury": OKABE_ITO["bluish_green"],
    # civilian deaths by perpetrator
    "casualties_attacks": OKABE_ITO["black"],
    "casualties_executions": OKABE_ITO["reddish_purple"],
    "casualties_sectarian": OKABE_ITO["bluish_green"],
    "casualties_battle": OKABE_ITO["orange"],
    "casualties_reprisals": OKABE_ITO["blue"],
    "casualties_collateral": OKABE_ITO["sky_blue"],
}
#: continuous layers of maps: perceptually uniform, readable with the common colour blindnesses
SEQUENTIAL = "viridis"
#: legitimacy (0-1) on maps
LEGITIMACY_CMAP = "cividis"

#: colours in order, for comparing several scenarios or policies on one chart
CYCLE = [OKABE_ITO[k] for k in ("blue", "vermillion", "bluish_green", "orange", "reddish_purple",
                                "sky_blue", "black", "yellow")]


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """'#RRGGBB' -> (r, g, b) in 0..255."""
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
