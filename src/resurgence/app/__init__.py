"""The interactive dashboard (Solara): ``resurgence dashboard``."""
