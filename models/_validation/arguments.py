"""Checks of the arguments of predictions and fits: horizons, counts, rates, intervals, units.

Each check raises a :class:`~models._validation._core.ValidationError` that names the
argument, the rule and the first value breaking it, and returns nothing: the caller goes on
with the value it was given, so shapes and types are never changed by a check. Numbers may be
Python or numpy numbers, or 0-d arrays; booleans and text are refused.
"""

from __future__ import annotations

import numpy as np

from models._validation._core import ValidationError, _format_value
from models._validation.predictive import INTERVAL_MESSAGE

_HORIZON_RULE = "a finite number >= 0 (a horizon in the summary's time unit)"
_COUNT_RULE = "a whole number >= 0 (a number of purchases)"
_PERIODS_RULE = "a whole number >= 0 of periods"
#: The margin ``P`` (CLV, the rule of thumb, the experiments): a share of revenue.
MARGIN_RULE = "a fraction of revenue in (0, 1] (e.g. 0.3 for a 30% margin, 1.0 for revenue)"


def _numbers(value, name: str, rule: str) -> np.ndarray:
    """``value`` as a float array, if it holds (non-boolean) real numbers."""
    raw = np.asarray(value)
    if raw.dtype.kind not in "iuf" or raw.size == 0:
        raise ValidationError(f"{name} must be {rule}; got {value!r}.")
    return raw.astype(float)


def _check_values(value, name: str, rule: str, *, whole: bool, scalar: bool) -> None:
    """Finite, >= 0 (and whole) numbers; one number when ``scalar``."""
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
            f"{name} must be one number; got an array of shape {numbers.shape}. For several "
            "values, call once per value."
        )


def check_horizon(value, name: str = "t", *, whole: bool = False, scalar: bool = False) -> None:
    """Refuse horizons that are not finite and >= 0 (whole numbers of periods when ``whole``).

    ``value`` is a number or an array of them; with ``scalar``, one number (per-customer
    predictions take one horizon for every customer).
    """
    rule = _PERIODS_RULE if whole else _HORIZON_RULE
    _check_values(value, name, rule, whole=whole, scalar=scalar)


def check_count(value, name: str = "n") -> None:
    """Refuse a purchase count that is not one whole number >= 0."""
    _check_values(value, name, _COUNT_RULE, whole=True, scalar=True)


def _real(value) -> float | None:
    """``value`` as a float if it is one real, non-boolean number (0-d arrays too), else None."""
    if isinstance(value, bool | np.bool_) or np.ndim(value) != 0:
        return None
    if not isinstance(value, int | float | np.integer | np.floating | np.ndarray):
        return None
    if isinstance(value, np.ndarray) and value.dtype.kind not in "iuf":
        return None
    return float(value)


def check_number(value, name: str, *, zero: bool = True) -> None:
    """Refuse anything but one finite number ``>= 0`` (``> 0`` without ``zero``)."""
    number = _real(value)
    if number is None or not np.isfinite(number):
        raise ValidationError(f"{name} must be one finite number, got {value!r}.")
    if number < 0 or (not zero and number == 0):
        raise ValidationError(f"{name} must be {'>= 0' if zero else '> 0'}, got {value!r}.")


def check_margin(margin, name: str = "margin") -> None:
    """Refuse a margin outside ``(0, 1]``."""
    number = _real(margin)
    if number is None or not 0 < number <= 1:
        raise ValidationError(f"{name} must be {MARGIN_RULE}, got {_format_value(margin)}.")


def check_interval(interval) -> None:
    """Refuse an interval coverage outside (0, 1)."""
    number = _real(interval)
    if number is None or not 0 < number < 1:
        raise ValidationError(INTERVAL_MESSAGE.format(value=interval))


def check_positive_whole(value, name: str, example: int, smallest: int = 1) -> None:
    """Refuse a count of things (draws, nodes) that is not an integer >= ``smallest``."""
    integer = np.ndim(value) == 0 and np.asarray(value).dtype.kind in "iu"
    if isinstance(value, bool | np.bool_) or not integer or int(value) < smallest:
        raise ValidationError(
            f"{name} must be a whole number >= {smallest} (e.g. {example}), got {value!r}."
        )


def time_unit_mismatch(model: str, fitted: str, given: str) -> ValidationError:
    """A summary (or ``time_unit`` argument) in another unit than the model's fit."""
    return ValidationError(
        f"the summary is in time unit {given!r} but this {model} was fitted on a summary in "
        f"{fitted!r}: its rates are per {fitted!r}, so every prediction would be off. Build "
        f"the summary with time_unit={fitted!r} (models.rfm_summary / calibration_holdout), "
        "or refit the model on this summary."
    )


def time_unit_conflict(given: str, recorded: str) -> ValidationError:
    """A ``time_unit`` argument that contradicts the summary's recorded unit."""
    return ValidationError(
        f"time_unit={given!r} contradicts the summary's attrs['time_unit'] = {recorded!r}; "
        "time_unit only names the unit of a summary that does not record one. Omit it, or "
        "rebuild the summary in the unit you want."
    )
