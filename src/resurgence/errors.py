"""User-facing errors: one clear message naming file, key, value and what is allowed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic_core import PydanticCustomError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a user's input."""

    key: str
    value: object
    allowed: str

    def render(self, source: str) -> str:
        value = "(missing)" if self.value is _MISSING else repr(self.value)
        return f"{source}: {self.key} = {value}: {self.allowed}"


_MISSING = object()
MISSING = _MISSING


class UserInputError(Exception):
    """A mistake in a file or an option the user gave; the CLI prints it and exits with 2."""

    def __init__(self, source: str | Path, problems: list[Problem]):
        self.source = str(source)
        self.problems = problems
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return "\n".join(p.render(self.source) for p in self.problems)


class ScenarioError(UserInputError):
    """A scenario file that cannot be loaded or validated."""


def keyed_error(key: str, value: object, allowed: str) -> PydanticCustomError:
    """An error for a cross-field check that still names its key and value in the message."""
    context = {"key": key, "value": value, "allowed": allowed}
    return PydanticCustomError("keyed", "{allowed}", context)
