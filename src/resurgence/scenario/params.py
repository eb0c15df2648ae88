"""What every typed parameter table shares: numbers are finite, of their type and in range.

Every table of a scenario, experiment or theatre file derives from :class:`Params`, so a
number given as NaN or infinity, or as ``true``/``false``, is refused with the file, the key
and the value, whatever the field: pydantic's ``allow_inf_nan = False`` for the first, and
one pass over the keys before validation for the second (pydantic would read ``true`` as 1).
Ranges are per field (``Field(ge=..., le=...)``); :data:`Share` is the range of a share or
probability for the items of a tuple.
"""

from __future__ import annotations

import functools
import typing
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from resurgence.errors import keyed_error

#: a share or probability: a number in [0, 1]
Share = Annotated[float, Field(ge=0, le=1)]


class Params(BaseModel):
    """Base of the parameter tables: finite numbers, and no ``true``/``false`` for a number."""

    model_config = ConfigDict(allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, data: Any) -> Any:
        # one pass over the keys given (O(keys)), not a validator call per field: a scenario
        # validates in the same time as without this check
        if isinstance(data, dict):
            for key, value in data.items():
                if (value is True or value is False or (
                        type(value) in (list, tuple) and any(v is True or v is False
                                                             for v in value))) \
                        and key in _number_fields(cls):
                    raise keyed_error(key, value, "must be a number, not true or false")
        return data


@functools.cache
def _number_fields(model: type[BaseModel]) -> frozenset[str]:
    """Fields of ``model`` whose type is a number (or holds numbers) and takes no bool."""
    return frozenset(name for name, field in model.model_fields.items()
                     if _mentions(field.annotation, (int, float))
                     and not _mentions(field.annotation, (bool, Any)))


def _mentions(annotation: Any, kinds: tuple[Any, ...]) -> bool:
    """Whether a field's type is one of ``kinds`` or has one inside (a union, a tuple's
    items, a list of scalars, ...)."""
    if any(annotation is kind for kind in kinds):
        return True
    return any(_mentions(arg, kinds) for arg in typing.get_args(annotation))
