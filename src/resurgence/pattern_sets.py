"""The pattern sets a priors file may name (``[inference] patterns``), by name: the observed
patterns of Iraq (:mod:`resurgence.patterns`) and the demonstration sets of Epstein's model
(:mod:`resurgence.epstein_patterns`)."""

from __future__ import annotations

from resurgence.epstein_patterns import EPSTEIN_SETS
from resurgence.errors import Problem, UserInputError
from resurgence.patterns import IRAQ, IRAQ_UNTIL_2012, IRAQ_VIOLENCE, Pattern

PATTERN_SETS: dict[str, tuple[Pattern, ...]] = {
    "iraq": IRAQ, "iraq-until-2012": IRAQ_UNTIL_2012,
    "iraq-violence": IRAQ + IRAQ_VIOLENCE,  # with the facts of the sectarian war (issue 21)
    **EPSTEIN_SETS}


def pattern_set(name: str) -> tuple[Pattern, ...]:
    """The pattern set called ``name``, one of :data:`PATTERN_SETS`; an unknown name raises
    :class:`~resurgence.errors.UserInputError`."""
    if name not in PATTERN_SETS:
        raise UserInputError("patterns", [Problem("patterns", name,
                                                  "one of " + ", ".join(sorted(PATTERN_SETS)))])
    return PATTERN_SETS[name]
