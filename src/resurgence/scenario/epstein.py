"""Typed parameters of Epstein's civil violence model (Epstein 2002, PNAS 99 suppl. 3: 7243-7250).

Names follow the paper and NetLogo's *Rebellion*; defaults are the NetLogo defaults.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from resurgence.errors import keyed_error
from resurgence.scenario.params import Params

Variant = Literal["netlogo", "mesa", "paper"]


class EpsteinConfig(Params):
    """Model I (citizens and cops) or Model II (two ethnic groups and peacekeepers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal["I", "II"] = Field(
        "I", description="I: citizens vs. cops; II: two ethnic groups, inter-group killing"
    )
    variant: Variant = Field(
        "netlogo",
        description="rule set: netlogo (Rebellion), mesa (Mesa 3.5 example), paper (as printed)",
    )
    citizen_density: float = Field(0.7, ge=0.0, le=1.0, description="citizens per cell")
    cop_density: float = Field(0.04, ge=0.0, le=1.0, description="cops per cell")
    citizen_vision: float = Field(7.0, gt=0, le=100, description="citizen vision radius, cells")
    cop_vision: float = Field(7.0, gt=0, le=100, description="cop vision radius, cells")
    neighbourhood: Literal["variant", "disc", "moore", "von_neumann"] = Field(
        "variant",
        description="vision shape; 'variant' uses the variant's own (netlogo/paper: disc, "
        "mesa: von_neumann)",
    )
    activation: Literal["mixed", "citizens_first"] = Field(
        "mixed",
        description="turn order in a tick: mixed (citizens and cops in one random order: "
        "NetLogo, Mesa, the paper's words) or citizens_first (Epstein's Ascape code: every "
        "citizen in random order, then every cop in random order)",
    )
    legitimacy: float = Field(0.82, ge=0.0, le=1.0, description="regime legitimacy L")
    max_jail_term: int = Field(30, ge=0, le=1_000_000, description="Jmax, ticks")
    threshold: float = Field(0.1, ge=0.0, le=1.0, description="activation threshold T")
    k: float = Field(2.3, ge=0.0, le=100.0, description="arrest probability constant")
    movement: bool = Field(
        True, description="citizens move each tick (netlogo/paper: cops always move)"
    )
    # Model II (Epstein 2002, Runs 6-8; Ascape CVModelII)
    legitimacy_green: float | None = Field(
        None, ge=0.0, le=1.0, description="Model II: legitimacy seen by green (default: legitimacy)"
    )
    blue_share: float = Field(0.5, ge=0.0, le=1.0, description="Model II: share of blue citizens")
    clone_probability: float = Field(
        0.05, ge=0.0, le=1.0, description="Model II: chance per tick to clone onto a free neighbour"
    )
    max_age: int = Field(200, ge=1, le=1_000_000, description="Model II: agents die when older")

    @model_validator(mode="after")
    def _densities_fit(self) -> EpsteinConfig:
        total = self.citizen_density + self.cop_density
        if total > 1.0 + 1e-12:
            raise keyed_error(
                "citizen_density + epstein.cop_density",
                round(total, 12),
                "must be at most 1 (one agent per cell)",
            )
        return self


#: parameters a timeline may change during a run
EPSTEIN_TIMELINE_KEYS = frozenset(
    {"legitimacy", "legitimacy_green", "cop_density", "max_jail_term", "threshold", "k",
     "citizen_vision", "cop_vision", "clone_probability"}
)
