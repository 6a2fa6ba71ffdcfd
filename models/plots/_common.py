"""Plumbing shared by the figure modules: axes, parameter draws, bands, labels, colours."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np
from matplotlib.axes import Axes

from models import _draws, _validation
from models._units import unit_days

ACTUAL_COLOR = "0.15"
MODEL_COLOR = "tab:blue"
BASELINE_COLOR = "tab:red"
UNIT_NAMES = {"D": "day", "W": "week", "M": "month", "Y": "year"}


def _axes(ax: Axes | None, figsize=(7.0, 4.5)) -> Axes:
    if ax is None:
        import matplotlib.pyplot as plt  # only when a figure is created

        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _flat_params(model) -> dict[str, np.ndarray]:
    """The model's draws as ``(n_draws, 1)`` arrays (a point fit is one draw)."""
    model._require_fitted()
    return {name: v.reshape(-1, 1) for name, v in model._draws.items()}


def _require_continuous(function: Callable, model) -> None:
    if "T" not in inspect.signature(function).parameters:
        raise _validation.plot_needs_continuous_time(model)


def _time_unit(model, time_unit: str | None) -> str:
    unit = time_unit or getattr(model, "time_unit_", None)
    if unit is None:
        raise _validation.plot_time_unit_unknown()
    unit_days(unit)
    return unit


def _band(values: np.ndarray, interval: float | None):
    """Mean over draws (axis 0) and the central ``interval``, or None without draws."""
    mean = values.mean(axis=0)
    if interval is None or values.shape[0] < 2:
        return mean, None
    lower, upper = np.quantile(values, _draws.interval_bounds(interval), axis=0)
    return mean, (lower, upper)


def _duration(model, length: float) -> str:
    """``"39 weeks"`` when the model's time unit is known, else ``"39 time units"``."""
    unit = UNIT_NAMES.get(getattr(model, "time_unit_", None) or "", "time unit")
    return f"{length:g} {unit}{'' if length == 1 else 's'}"


def _interval_label(interval: float) -> str:
    return f"{interval:.0%} interval over parameter draws"
