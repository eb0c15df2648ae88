"""Plots, maps, the animation and the HTML report (matplotlib, object API: no pyplot).

Each model is shown through its view (:mod:`resurgence.viz.views`), registered by model name in
:mod:`resurgence.viz.registry`. Importing the package registers the views of the bundled
models, whichever of its modules is imported first.
"""

from resurgence.viz import epstein_view, insurgency_view  # noqa: F401  (register their views)
