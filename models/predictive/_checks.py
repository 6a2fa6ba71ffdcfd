"""Argument checks shared by the predictive distributions of purchases and spend.

The horizon (a whole number of periods for BG/BB), the model's conditional pmf (wrapped so
that a NaN or inf raises instead of reaching a cumulative sum), quantile and interval
levels, the random generator and whole-number arguments. Each raises the
:class:`~models.ValidationError` worded in :mod:`models._validation.predictive`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from models import _draws
from models._validation import (
    DISCRETE_HORIZON_MESSAGE,
    HORIZON_MESSAGE,
    NO_PMF_MESSAGE,
    NOT_FINITE_MESSAGE,
    QUANTILES_MESSAGE,
    RNG_MESSAGE,
    ValidationError,
    check_interval,
)
from models.bgbb import BetaGeoBetaBinom


def _check_horizon(model, t) -> float:
    numeric = isinstance(t, int | float | np.integer | np.floating) and not isinstance(t, bool)
    if not numeric or not np.isfinite(t) or t <= 0:
        raise ValidationError(HORIZON_MESSAGE.format(t=t))
    if isinstance(model, BetaGeoBetaBinom) and t != round(t):
        raise ValidationError(DISCRETE_HORIZON_MESSAGE.format(model=type(model).__name__, t=t))
    return float(t)


def _conditional_pmf(model) -> Callable:
    """The model's ``conditional_probability_of_purchases(params, n, t, **arrays)``, checked.

    The returned function raises ``FloatingPointError`` rather than let a NaN or inf reach
    a cumulative sum (which would then never reach the tail tolerance).
    """
    model._require_fitted()
    try:
        function = model._module_function("conditional_probability_of_purchases")
    except ValidationError:
        raise ValidationError(NO_PMF_MESSAGE.format(model=type(model).__name__)) from None

    def checked(params, count, horizon, /, **arrays):  # BG/BB's arrays include "n"
        values = np.asarray(function(params, count, horizon, **arrays), dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            raise FloatingPointError(
                NOT_FINITE_MESSAGE.format(
                    model=type(model).__name__, n=count, k=int(bad.sum()), total=bad.size
                )
            )
        return values

    return checked


def _check_levels(quantiles, interval) -> tuple[list[str], list[float]]:
    """Column names and levels of the requested quantiles (and interval bounds)."""
    names, levels = [], []
    if quantiles is not None and (isinstance(quantiles, str) or np.ndim(quantiles) != 1):
        raise ValidationError(QUANTILES_MESSAGE.format(value=quantiles))
    for level in () if quantiles is None else quantiles:
        if not isinstance(level, int | float | np.number) or not 0 < level < 1:
            raise ValidationError(QUANTILES_MESSAGE.format(value=quantiles))
        names.append(f"q{100 * float(level):02g}")
        levels.append(float(level))
    if interval is not None:
        check_interval(interval)
        names += ["lower", "upper"]
        levels += list(_draws.interval_bounds(interval))
    return names, levels


def _check_rng(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise ValidationError(RNG_MESSAGE.format(kind=type(rng).__name__))


def _whole(value, smallest: int, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer | float | np.floating):
        raise ValidationError(message.format(value=value))
    if not np.isfinite(value) or value != round(value) or value < smallest:
        raise ValidationError(message.format(value=value))
    return int(value)
