"""What every typed parameter table shares: numbers are finite, of their type and in range.

Every table of a scenario, experiment or theatre file derives from :class:`Params`, so a
number given as NaN or infinity, or as ``true``/``false``, is refused with the file, the key
and the value, whatever the field: pydantic's ``allow_inf_nan = False`` for the first, and a
check before validation for the second (pydantic would read ``true`` as 1). Ranges are per
field (``Field(ge=..., le=...)``); :data:`Share` is the range of a share or probability for
the items of a tuple.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

#: a share or probability: a number in [0, 1]
Share = Annotated[float, Field(ge=0, le=1)]


class Params(BaseModel):
    """Base of the parameter tables: finite numbers, and no ``true``/``false`` for a number."""

    model_config = ConfigDict(allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        items = value if isinstance(value, list | tuple) else (value,)
        if any(isinstance(v, bool) for v in items) and info.field_name is not None:
            annotation = cls.model_fields[info.field_name].annotation
            if _mentions(annotation, (int, float)) and not _mentions(annotation, (bool, Any)):
                raise PydanticCustomError("bool_number",
                                          "Input should be a number, not true or false")
        return value


def _mentions(annotation: Any, kinds: tuple[Any, ...]) -> bool:
    """Whether a field's type is one of ``kinds`` or has one inside (a union, a tuple's
    items, a list of scalars, ...)."""
    if any(annotation is kind for kind in kinds):
        return True
    return any(_mentions(arg, kinds) for arg in typing.get_args(annotation))
