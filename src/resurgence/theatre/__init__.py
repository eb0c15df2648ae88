"""Theatres: the space of a run — a raster of terrain, governorates, population and places.

``load_theatre()`` gives the bundled Iraq theatre; ``load_theatre(path)`` a user's own
``theatre.toml``. The format and how the Iraq theatre is built: ``docs/theatre.md``.
"""

from resurgence.theatre.build import (
    available_theatres,
    build_theatre,
    load_theatre,
    theatre_path,
)
from resurgence.theatre.model import PLACE_KINDS, Place, Region, Terrain, Theatre, TheatreError

__all__ = [
    "PLACE_KINDS",
    "Place",
    "Region",
    "Terrain",
    "Theatre",
    "TheatreError",
    "available_theatres",
    "build_theatre",
    "load_theatre",
    "theatre_path",
]
