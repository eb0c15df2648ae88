"""Figures drawn without pyplot: a :class:`~matplotlib.figure.Figure` with an Agg canvas of its
own, so that drawing and saving work whatever backend the process chose (a Jupyter user's inline
or widget backend is left as it is) and no figure is kept in pyplot's list of open figures."""

from __future__ import annotations

from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def new_figure(**kwargs: Any) -> Figure:
    """``Figure(**kwargs)`` on an Agg canvas (``fig.savefig`` writes PNG, SVG, PDF...)."""
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig
