"""The ingredients of the rule of thumb: S, C and the lifetime t, from a calibration summary.

References
----------
.. [KM] Kissmetrics (2014). "How to Calculate Lifetime Value": average order value S, purchases
   per period C, lifetime t; the $20-a-month customer kept for 3 years is worth
   20 x 12 x 3 = $720 of revenue (times the margin P for profit).
.. [GL] Gupta, S. & Lehmann, D. R. (2003). Customers as Assets. Journal of Interactive Marketing
   17(1), 9-24: with a constant retention rate r per period the expected lifetime is
   ``1 / (1 - r)`` periods (the first period included).

Every quantity is computed from a calibration summary: one row per customer with ``frequency``
(x, repeat purchase periods), ``recency`` (t_x), ``T`` (age at the end of calibration),
``total_value`` (sum of all calibration amounts, first purchase included) and, optionally,
``n_transactions`` (purchase periods including the first; ``x + 1`` when absent). The time
unit is read from ``calibration.attrs["time_unit"]`` and converted to months explicitly with
``M = 365.2425 / 12`` days (never a 30-day month).

Definitions shared by the variants (``m(.)`` converts to months):

- ``S = sum(total_value) / sum(n_transactions)``: revenue per order, pooled over customers.
- ``C = sum(n_transactions) / sum(max(m(T), 1))``: orders per customer-month observed. A
  customer's exposure is its age, floored at one month so a customer acquired days before the
  end is not credited with dozens of orders a month.
- observed lifetime ``t = mean(m(t_x) + 1)``: months from the first to the last purchase, plus
  the month of the first purchase (a one-time buyer has a 1-month relationship). It is
  truncated by the end of calibration, as it is in practice.
- retention lifetime ``t = p / (1 - r)`` months, with ``r`` the share of customers active at
  relationship age ``k p`` who are still active at ``(k + 1) p``, pooled over ``k = 0, 1, ...``
  and over customers observed for the whole period (``T >= (k + 1) p``); "active at age a"
  means "bought at or after age a", i.e. ``t_x >= a``. Per customer this counts
  ``floor(t_x / p)`` retained periods out of ``min(floor(t_x / p) + 1, floor(T / p))`` at risk.
  It is the maximum-likelihood retention rate of a geometric lifetime under that definition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models._units import unit_ratio
from models._validation import (
    ValidationError,
    check_margin,
    check_rows,
    numeric_column,
    require_columns,
    validate_continuous_summary,
)
from models._validation.evaluation import (
    not_a_number,
    scalar_error,
)

__all__ = ["ltv", "months_per_unit", "retention_lifetime"]


def months_per_unit(time_unit: str) -> float:
    """Length of one ``time_unit`` ("D", "W", "M", "Y") in months of 365.2425 / 12 days."""
    return unit_ratio(time_unit, "M")


def _time_unit(calibration: pd.DataFrame, time_unit: str | None) -> str:
    unit = time_unit if time_unit is not None else calibration.attrs.get("time_unit")
    if unit is None:
        raise ValidationError(
            "calibration.attrs['time_unit'] is not set, so months cannot be computed; set it to "
            "'D', 'W', 'M' or 'Y' (models.rfm_summary does) or pass time_unit=..."
        )
    months_per_unit(unit)
    return unit


def _number(name: str, value) -> float:
    """``value`` as a float; refuses text, None, booleans and arrays."""
    if isinstance(value, bool | np.bool_):
        raise not_a_number(name, value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise not_a_number(name, value) from None


def _positive_scalar(name: str, value, *, allow_zero: bool = False, what: str = "") -> float:
    """``value`` as a finite float ``> 0`` (``>= 0`` with ``allow_zero``), else a clear error."""
    value = _number(name, value)
    if not (np.isfinite(value) and (value >= 0 if allow_zero else value > 0)):
        raise scalar_error(name, value, ">= 0" if allow_zero else "> 0", what)
    return value


def _margin(value, name: str = "margin") -> float:
    """The margin P: a finite fraction of revenue in ``(0, 1]``."""
    value = _number(name, value)
    check_margin(value, name)
    return value


def _customer_arrays(calibration: pd.DataFrame, unit: str) -> dict[str, np.ndarray]:
    """Validated per-customer arrays, times in months."""
    core = validate_continuous_summary(calibration, what="calibration")
    require_columns(calibration, ["total_value"], "calibration")
    value = numeric_column(calibration, "total_value")
    if "n_transactions" in calibration.columns:
        orders = numeric_column(calibration, "n_transactions")
        check_rows(
            calibration,
            "n_transactions",
            "must be a whole number >= 1 (purchases including the first)",
            (orders < 1) | (orders != np.round(orders)),
            {"n_transactions": orders},
        )
    else:
        orders = core["x"] + 1
    to_months = months_per_unit(unit)
    return {
        "x": core["x"],
        "t_x": core["t_x"] * to_months,
        "T": core["T"] * to_months,
        "value": value,
        "orders": orders,
    }


def _observed_lifetime(t_x: np.ndarray) -> float:
    """Mean months from first to last purchase, plus the month of the first purchase."""
    return float(np.mean(t_x + 1.0))


def _retention_counts(t_x: np.ndarray, T: np.ndarray, period: float):
    """Retained and at-risk period transitions per customer (see the module docstring)."""
    eps = 1e-9  # so t_x = 3 periods computed through a unit conversion still counts 3
    survived = np.floor(t_x / period + eps)
    complete = np.floor(T / period + eps)
    at_risk = np.minimum(survived + 1, complete)
    return np.minimum(survived, at_risk), at_risk


def _retention(t_x, T, period: float, label: str) -> float:
    survived, at_risk = _retention_counts(t_x, T, period)
    if at_risk.sum() == 0:
        raise ValidationError(
            f"retention rate{label} needs customers observed for at least one full period of "
            f"{period:g} months; none are. Use a shorter retention_period."
        )
    r = float(survived.sum() / at_risk.sum())
    if r >= 1:
        raise ValidationError(
            f"retention rate{label} is 1 (every customer observed for a period bought again), so "
            "t = 1 / (1 - r) is infinite. Use a longer retention_period or lifetime='observed'."
        )
    return r


def _lifetime(arrays, lifetime: str, period: float, label: str = ""):
    """(t in months, r or None)."""
    if lifetime == "observed":
        return _observed_lifetime(arrays["t_x"]), None
    r = _retention(arrays["t_x"], arrays["T"], period, label)
    return period / (1 - r), r


def _segment_labels(calibration: pd.DataFrame, segments, x: np.ndarray) -> pd.Series:
    if segments is None:
        labels = np.where(x > 0, "repeat", "one_time")
        return pd.Series(labels, index=calibration.index, name="segment")
    if isinstance(segments, str):
        require_columns(calibration, [segments], "calibration")
        labels = calibration[segments]
    elif isinstance(segments, pd.Series):
        check_rows(
            segments.to_frame("segments"),
            "segments",
            "must have one label per customer (its index repeats a customer)",
            segments.index.duplicated(),
        )
        missing = ~calibration.index.isin(segments.index)
        check_rows(
            calibration,
            "segments",
            "must have a label for every customer",
            missing,
            hint="Pass a Series indexed by customer id.",
        )
        labels = segments.reindex(calibration.index)
    else:
        raise ValidationError(
            "segments must be None (one-time vs repeat buyers), a column name or a Series of "
            f"labels indexed by customer id, got {type(segments).__name__}."
        )
    check_rows(
        calibration,
        "segments",
        "must not be missing",
        labels.isna().to_numpy(),
        {"segments": labels.to_numpy()},
    )
    return pd.Series(labels.to_numpy(), index=calibration.index, name="segment")


def ltv(S: float, C: float, P: float, t: float) -> float:
    """The rule of thumb itself: ``LTV = S x C x P x t``.

    Parameters
    ----------
    S : float
        Average order value, finite and >= 0.
    C : float
        Purchases per month, finite and >= 0.
    P : float
        Margin as a fraction of the order, in (0, 1] (1.0 for revenue).
    t : float
        Lifetime in months, finite and >= 0.

    Raises
    ------
    models.ValidationError
        When an input is not a number or is outside its range.

    Examples
    --------
    A $20 visit once a month for 3 years [KM]:

    >>> ltv(20.0, 1.0, 1.0, 36.0)
    720.0
    """
    S = _positive_scalar("S", S, allow_zero=True, what="average order value")
    C = _positive_scalar("C", C, allow_zero=True, what="purchases per month")
    P = _margin(P, "P (margin)")
    t = _positive_scalar("t", t, allow_zero=True, what="lifetime in months")
    return S * C * P * t


def retention_lifetime(r: float) -> float:
    """Expected lifetime ``1 / (1 - r)`` in periods for a retention rate ``r`` per period [GL].

    ``r`` must be a number in [0, 1) (a rate of 1 would give an infinite lifetime).

    >>> retention_lifetime(0.75)
    4.0
    """
    r = _number("retention rate r", r)
    if not 0 <= r < 1:
        raise ValidationError(f"retention rate r must be in [0, 1), got {r}.")
    return 1.0 / (1.0 - r)
