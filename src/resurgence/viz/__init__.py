"""Plots (matplotlib) of run results."""
