"""User-facing errors: one clear message naming file, key, value and what is allowed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


class _Missing:
    """The value of a key the user left out (one object, kept through pickling)."""

    def __repr__(self) -> str:
        return "(missing)"

    def __reduce__(self) -> str:
        return "MISSING"  # pickled by name: unpickles as this module's MISSING


_MISSING = MISSING = _Missing()


class UserInputError(Exception):
    """A mistake in a file or an option the user gave; the CLI prints it and exits with 2."""

    def __init__(self, source: str | Path, problems: list[Problem]):
        self.source = str(source)
        self.problems = problems
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return "\n".join(p.render(self.source) for p in self.problems)

    def __reduce__(self) -> tuple[type[UserInputError], tuple[str, list[Problem]]]:
        # rebuilt from (source, problems), not from the message: a mistake found in a sweep's
        # worker process reaches the parent whole
        return type(self), (self.source, self.problems)


class ScenarioError(UserInputError):
    """A scenario file that cannot be loaded or validated."""


def keyed_error(key: str, value: object, allowed: str) -> PydanticCustomError:
    """An error for a cross-field check that still names its key and value in the message."""
    context = {"key": key, "value": value, "allowed": allowed}
    return PydanticCustomError("keyed", "{allowed}", context)


def read_toml(path: Path, error: type[UserInputError]) -> dict[str, object]:
    """Read a TOML file; a missing, unreadable or malformed file raises ``error`` (one message
    naming the file and what is wrong)."""
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(path, [Problem("file", str(path), "no such file")]) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise error(path, [Problem("file", str(path), f"cannot be read as text: {exc}")]
                    ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(path, [Problem("(syntax)", MISSING, f"not valid TOML: {exc}")]) from None


def pydantic_problem(err: Mapping[str, Any], key: str, allowed_keys: str) -> Problem:
    """One pydantic error as a :class:`Problem` at ``key``: the value given (the keyed value
    of a cross-field check, "(missing)", "{...}" for a table) and the rule it broke
    (``allowed_keys`` is appended to "unknown key")."""
    value = err.get("input", MISSING)
    if err["type"] == "keyed":
        value = (err.get("ctx") or {})["value"]
    if err["type"] == "missing":
        value = MISSING
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key" + allowed_keys
    if isinstance(value, dict) and err["type"] not in ("missing", "extra_forbidden"):
        value = "{...}"
    return Problem(key, value, msg)
