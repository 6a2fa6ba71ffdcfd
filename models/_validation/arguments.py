"""Checks of the arguments of predictions and fits: horizons, counts, intervals, units.

Each check raises a :class:`~models._validation._core.ValidationError` that names the
argument, the rule and the first value breaking it, and returns nothing: the caller goes on
with the value it was given, so shapes and types are never changed by a check.
"""

from __future__ import annotations

import numpy as np

from models._validation._core import ValidationError
from models._validation.predictive import INTERVAL_MESSAGE

_HORIZON_RULE = "a finite number >= 0 (a horizon in the summary's time unit)"
_WHOLE_RULE = "a whole number >= 0"


def _numbers(value, name: str, rule: str) -> np.ndarray:
    """``value`` as a float array, if it holds (non-boolean) real numbers."""
    raw = np.asarray(value)
    if raw.dtype.kind not in "iuf" or raw.size == 0:
        raise ValidationError(f"{name} must be {rule}; got {value!r}.")
    return raw.astype(float)


def check_horizon(value, name: str = "t", *, whole: bool = False, scalar: bool = False):
    """Refuse horizons that are not finite and >= 0 (whole numbers when ``whole``).

    ``value`` is a number or an array of them; with ``scalar``, one number (per-customer
    predictions take one horizon for every customer).
    """
    rule = _WHOLE_RULE + " of periods" if whole else _HORIZON_RULE
    numbers = _numbers(value, name, rule)
    bad = ~np.isfinite(numbers) | (numbers < 0)
    if whole:
        bad |= numbers != np.round(numbers)
    if bad.any():
        first = numbers.ravel()[np.flatnonzero(bad.ravel())[0]]
        raise ValidationError(
            f"{name} must be {rule}; {int(bad.sum())} of {bad.size} value(s) break this "
            f"(first: {first!r})."
        )
    if scalar and numbers.ndim > 0:
        raise ValidationError(
            f"{name} must be one number for per-customer predictions; got an array of shape "
            f"{numbers.shape}. For several horizons, call once per horizon."
        )


def check_count(value, name: str = "n") -> None:
    """Refuse purchase counts that are not whole numbers >= 0 (a number or an array)."""
    numbers = _numbers(value, name, _WHOLE_RULE)
    bad = ~np.isfinite(numbers) | (numbers < 0) | (numbers != np.round(numbers))
    if bad.any():
        first = numbers.ravel()[np.flatnonzero(bad.ravel())[0]]
        raise ValidationError(
            f"{name} must be {_WHOLE_RULE} (a number of purchases); {int(bad.sum())} of "
            f"{bad.size} value(s) break this (first: {first!r})."
        )


def check_interval(interval) -> None:
    """Refuse an interval coverage outside (0, 1)."""
    numeric = isinstance(interval, int | float | np.integer | np.floating)
    if isinstance(interval, bool) or not numeric or not 0 < interval < 1:
        raise ValidationError(INTERVAL_MESSAGE.format(value=interval))


def check_positive_whole(value, name: str, example: int) -> None:
    """Refuse a count of things (draws, nodes) that is not a whole number >= 1."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValidationError(
            f"{name} must be a whole number >= 1 (e.g. {example}), got {value!r}."
        )


def time_unit_mismatch(model: str, fitted: str, given: str) -> ValidationError:
    """A summary (or ``time_unit`` argument) in another unit than the model's fit."""
    return ValidationError(
        f"the summary is in time unit {given!r} but this {model} was fitted on a summary in "
        f"{fitted!r}: its rates are per {fitted!r}, so every prediction would be off. Build "
        f"the summary with time_unit={fitted!r} (models.rfm_summary / calibration_holdout), "
        "or refit the model on this summary."
    )
