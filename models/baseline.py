"""The rule of thumb LTV = S x C x P x t and the variants businesses use.

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

Predicting a future window of ``h`` months (so a rule can be scored on a holdout): a customer
buys ``C`` times a month while active, each order worth ``S``; the expected number of active
months ``L(h)`` in the window is

- observed lifetime, ``cap="lifetime"`` (default): ``min(h, t)``. The rule carries no notion of
  a customer's age, so it is applied as businesses apply it to their base: every customer is
  treated as at the start of an average relationship.
- observed lifetime, ``cap="remaining"``: ``clip(t - m(T), 0, h)``, the part of an average
  relationship not yet used up by the customer's age.
- retention lifetime: ``t (1 - r^(h / p))``, the expected active time of a geometric lifetime
  over the window (memoryless, so both caps agree); tends to ``t`` as ``h`` grows.
- basket x frequency: ``h`` (no lifetime term).

Predicted purchases are ``C L(h)`` and predicted value ``S C P L(h)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models._units import unit_ratio
from models._validation import (
    ValidationError,
    check_rows,
    numeric_column,
    require_columns,
    validate_continuous_summary,
)

VARIANTS = ("classic", "retention", "per_segment", "per_customer", "basket_x_frequency")
_LIFETIMES = ("observed", "retention")
_CAPS = ("lifetime", "remaining")


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


def _positive_scalar(name: str, value, *, allow_zero: bool = False) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a number, got {value!r}.") from None
    ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValidationError(f"{name} must be a finite number {bound}, got {value}.")
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


@dataclass(frozen=True, eq=False)
class RuleOfThumb:
    """A fitted rule of thumb: its ingredients, its LTV and a window prediction.

    Attributes
    ----------
    variant : str
        One of ``VARIANTS``.
    S : float or pandas.Series
        Average order value (per segment label or per customer id for those variants).
    C : float or pandas.Series
        Purchases per month (idem).
    P : float
        Margin as a fraction of revenue.
    t : float, pandas.Series or None
        Lifetime in months (the horizon for ``basket_x_frequency``; None when no horizon).
    retention : float, pandas.Series or None
        Retention rate per ``retention_period`` months, when the lifetime comes from it.
    retention_period : float
        Period of the retention rate, in months.
    lifetime : str
        ``"observed"``, ``"retention"`` or ``"none"`` (basket x frequency).
    cap : str
        ``"lifetime"`` or ``"remaining"`` (see the module docstring).
    time_unit : str
        Time unit of the calibration summary (and of prediction horizons).
    segments : str, pandas.Series or None
        How customers were segmented (``per_segment`` only).
    formula : str
        The formula in words.
    """

    variant: str
    S: float | pd.Series
    C: float | pd.Series
    P: float
    t: float | pd.Series | None
    retention: float | pd.Series | None
    retention_period: float
    lifetime: str
    cap: str
    time_unit: str
    segments: str | pd.Series | None
    formula: str

    @property
    def ltv(self) -> float | pd.Series | None:
        """``S x C x P x t`` (per segment or customer where S, C are); None without t."""
        if self.t is None:
            return None
        return self.S * self.C * self.P * self.t

    def _ingredients(self, calibration: pd.DataFrame, arrays) -> dict[str, np.ndarray]:
        """S, C, t, r as arrays aligned with ``calibration``'s rows."""
        n = len(calibration)
        if self.variant == "per_segment":
            labels = _segment_labels(calibration, self.segments, arrays["x"])
            known = labels.isin(self.S.index).to_numpy()
            check_rows(
                calibration,
                "segments",
                f"must be one of the calibrated segments {list(self.S.index)}",
                ~known,
                {"segments": labels.to_numpy()},
            )
            out = {
                "S": self.S.reindex(labels).to_numpy(),
                "C": self.C.reindex(labels).to_numpy(),
                "t": self.t.reindex(labels).to_numpy(),
            }
            out["r"] = None if self.retention is None else self.retention.reindex(labels).to_numpy()
            return out
        if self.variant == "per_customer":
            missing = ~calibration.index.isin(self.S.index)
            check_rows(
                calibration,
                "customer_id",
                "must be a customer the per-customer rule was computed on",
                missing,
            )
            return {
                "S": self.S.reindex(calibration.index).to_numpy(),
                "C": self.C.reindex(calibration.index).to_numpy(),
                "t": np.full(n, self.t),
                "r": None if self.retention is None else np.full(n, self.retention),
            }
        return {
            "S": np.full(n, self.S),
            "C": np.full(n, self.C),
            "t": np.full(n, np.inf if self.t is None else self.t),
            "r": None if self.retention is None else np.full(n, self.retention),
        }

    def predict(self, calibration: pd.DataFrame, horizon: float) -> pd.DataFrame:
        """Each customer's predicted purchases and value over the next ``horizon`` time units.

        Parameters
        ----------
        calibration : pandas.DataFrame
            Calibration summary of the customers to predict (same columns as for fitting).
        horizon : float
            Window length in the rule's ``time_unit`` (e.g. 39 weeks for the CDNOW holdout).

        Returns
        -------
        pandas.DataFrame
            ``predicted_purchases`` (``C L(h)``) and ``predicted_value`` (``S C P L(h)``),
            indexed like ``calibration``; ``attrs`` hold variant, horizon, time unit, margin.
        """
        horizon = _positive_scalar("horizon", horizon)
        unit = getattr(calibration, "attrs", {}).get("time_unit", self.time_unit)
        if unit != self.time_unit:
            raise ValidationError(
                f"calibration is in time unit {unit!r} but the rule was computed in "
                f"{self.time_unit!r}; use summaries in the same unit."
            )
        arrays = _customer_arrays(calibration, self.time_unit)
        h = horizon * months_per_unit(self.time_unit)
        ing = self._ingredients(calibration, arrays)
        if self.lifetime == "none":
            active = np.full(len(calibration), h)
        elif self.lifetime == "retention":
            r = ing["r"]
            log_r = np.log(np.where(r > 0, r, 1.0))
            kept = np.where(r > 0, np.exp(h / self.retention_period * log_r), 0.0)
            active = ing["t"] * (1.0 - kept)
        elif self.cap == "remaining":
            active = np.clip(ing["t"] - arrays["T"], 0.0, h)
        else:
            active = np.minimum(h, ing["t"])
        purchases = ing["C"] * active
        frame = pd.DataFrame(
            {"predicted_purchases": purchases, "predicted_value": purchases * ing["S"] * self.P},
            index=calibration.index,
        )
        frame.attrs.update(
            variant=self.variant, horizon=horizon, time_unit=self.time_unit, margin=self.P
        )
        return frame


def ltv(S: float, C: float, P: float, t: float) -> float:
    """The rule of thumb itself: ``LTV = S x C x P x t``.

    Parameters
    ----------
    S : float
        Average order value.
    C : float
        Purchases per month.
    P : float
        Margin as a fraction of the order (1.0 for revenue).
    t : float
        Lifetime in months.

    Examples
    --------
    A $20 visit once a month for 3 years [KM]:

    >>> ltv(20.0, 1.0, 1.0, 36.0)
    720.0
    """
    return float(S) * float(C) * float(P) * float(t)


def retention_lifetime(r: float) -> float:
    """Expected lifetime ``1 / (1 - r)`` in periods for a retention rate ``r`` per period [GL].

    >>> retention_lifetime(0.75)
    4.0
    """
    r = float(r)
    if not 0 <= r < 1:
        raise ValidationError(f"retention rate r must be in [0, 1), got {r}.")
    return 1.0 / (1.0 - r)


def rule_of_thumb(
    calibration: pd.DataFrame,
    *,
    variant: str = "classic",
    margin: float = 1.0,
    lifetime: str | None = None,
    retention_period: float = 1.0,
    cap: str = "lifetime",
    segments: str | pd.Series | None = None,
    horizon: float | None = None,
    time_unit: str | None = None,
) -> RuleOfThumb:
    """Compute ``LTV = S x C x P x t`` (or a variant) from a calibration summary.

    Variants (definitions of S, C, observed and retention t in the module docstring):

    - ``"classic"``: ``LTV = S C P t``, population-level, t the observed lifetime; the same
      number for every customer.
    - ``"retention"``: ``LTV = S C P p / (1 - r)``, t from the retention rate r per ``p`` months.
    - ``"per_segment"``: ``LTV_g = S_g C_g P t_g`` with S, C, t computed within each segment
      ``g`` (``segments``: a column name or a Series of labels; default one-time vs repeat
      buyers); ``lifetime`` picks observed or retention t.
    - ``"per_customer"``: ``LTV_i = S_i C_i P t`` with a customer's own average order value
      ``S_i = total_value_i / n_i`` and own rate ``C_i = n_i / max(m(T_i), 1)``, and the
      population t (``lifetime`` picks which).
    - ``"basket_x_frequency"``: ``LTV = S C P h`` over a horizon of ``h`` months, no lifetime.

    Parameters
    ----------
    calibration : pandas.DataFrame
        Calibration summary indexed by customer id (``frequency``, ``recency``, ``T``,
        ``total_value``, optionally ``n_transactions``), with ``attrs["time_unit"]``.
    variant : str
        One of ``VARIANTS``.
    margin : float
        P, the profit margin as a fraction of revenue; default 1.0 (value = revenue).
    lifetime : {"observed", "retention"}, optional
        Lifetime of ``per_segment`` / ``per_customer`` (default ``"observed"``).
    retention_period : float
        Period of the retention rate, in months.
    cap : {"lifetime", "remaining"}
        How an observed lifetime limits a window prediction (module docstring).
    segments : str or pandas.Series, optional
        Segment labels for ``per_segment``.
    horizon : float, optional
        Horizon in the summary's time unit; needed for the LTV of ``basket_x_frequency``.
    time_unit : str, optional
        Overrides ``calibration.attrs["time_unit"]``.

    Returns
    -------
    RuleOfThumb

    Examples
    --------
    >>> import pandas as pd
    >>> cal = pd.DataFrame({"frequency": [35.0], "recency": [35.0], "T": [36.0],
    ...                     "total_value": [720.0]})
    >>> cal.attrs["time_unit"] = "M"
    >>> rule = rule_of_thumb(cal)
    >>> rule.S, rule.C, rule.t, rule.ltv
    (20.0, 1.0, 36.0, 720.0)
    """
    if variant not in VARIANTS:
        raise ValidationError(f"variant must be one of {list(VARIANTS)}, got {variant!r}.")
    if cap not in _CAPS:
        raise ValidationError(f"cap must be one of {list(_CAPS)}, got {cap!r}.")
    if variant in ("classic", "retention", "basket_x_frequency") and lifetime is not None:
        raise ValidationError(
            f"lifetime applies to 'per_segment' and 'per_customer' only; variant {variant!r} "
            "fixes it. Leave lifetime=None."
        )
    if lifetime is None:
        lifetime = {"retention": "retention", "basket_x_frequency": "none"}.get(variant, "observed")
    elif lifetime not in _LIFETIMES:
        raise ValidationError(f"lifetime must be one of {list(_LIFETIMES)}, got {lifetime!r}.")
    if segments is not None and variant != "per_segment":
        raise ValidationError("segments applies to variant='per_segment' only.")
    P = _positive_scalar("margin", margin, allow_zero=True)
    period = _positive_scalar("retention_period", retention_period)
    unit = _time_unit(calibration, time_unit)
    arrays = _customer_arrays(calibration, unit)
    if horizon is not None:
        horizon = _positive_scalar("horizon", horizon)

    S = float(arrays["value"].sum() / arrays["orders"].sum())
    C = float(arrays["orders"].sum() / np.maximum(arrays["T"], 1.0).sum())
    retention = None
    kind = "observed lifetime" if lifetime == "observed" else f"t = {period:g} / (1 - r) months"
    if variant == "basket_x_frequency":
        t = None if horizon is None else horizon * months_per_unit(unit)
        formula = "LTV = S x C x P x h (average basket x purchases per month x margin x horizon)"
    elif variant in ("classic", "retention"):
        t, retention = _lifetime(arrays, lifetime, period)
        formula = f"LTV = S x C x P x t ({kind}); same for every customer"
    elif variant == "per_customer":
        t, retention = _lifetime(arrays, lifetime, period)
        S = pd.Series(arrays["value"] / arrays["orders"], index=calibration.index, name="S")
        rate = arrays["orders"] / np.maximum(arrays["T"], 1.0)
        C = pd.Series(rate, index=calibration.index, name="C")
        formula = f"LTV_i = S_i x C_i x P x t (own basket and rate; population {kind})"
    else:
        labels = _segment_labels(calibration, segments, arrays["x"])
        parts = {"S": {}, "C": {}, "t": {}, "r": {}}
        for label, rows in labels.groupby(labels, sort=True).indices.items():
            sub = {k: v[rows] for k, v in arrays.items()}
            parts["S"][label] = sub["value"].sum() / sub["orders"].sum()
            parts["C"][label] = sub["orders"].sum() / np.maximum(sub["T"], 1.0).sum()
            parts["t"][label], parts["r"][label] = _lifetime(
                sub, lifetime, period, f" of segment {label!r}"
            )
        S, C, t = (pd.Series(parts[k], name=k, dtype=float) for k in ("S", "C", "t"))
        if lifetime == "retention":
            retention = pd.Series(parts["r"], name="r", dtype=float)
        formula = f"LTV_g = S_g x C_g x P x t_g within each segment g ({kind})"
    formula += f"; P = {P:g}" + (" (margin not applied: value is revenue)" if P == 1 else "")
    return RuleOfThumb(
        variant=variant,
        S=S,
        C=C,
        P=P,
        t=t,
        retention=retention,
        retention_period=period,
        lifetime=lifetime,
        cap=cap,
        time_unit=unit,
        segments=segments,
        formula=formula,
    )


#: The variants computed by :func:`all_variants`: name -> keyword arguments of rule_of_thumb.
ALL_VARIANTS: Mapping[str, Mapping[str, str]] = {
    "classic": {"variant": "classic"},
    "retention": {"variant": "retention"},
    "per_segment": {"variant": "per_segment", "lifetime": "observed"},
    "per_segment_retention": {"variant": "per_segment", "lifetime": "retention"},
    "per_customer": {"variant": "per_customer", "lifetime": "observed"},
    "per_customer_retention": {"variant": "per_customer", "lifetime": "retention"},
    "basket_x_frequency": {"variant": "basket_x_frequency"},
}


def all_variants(
    calibration: pd.DataFrame,
    horizon: float,
    *,
    margin: float = 1.0,
    retention_period: float = 1.0,
    cap: str = "lifetime",
    segments: str | pd.Series | None = None,
    time_unit: str | None = None,
) -> pd.DataFrame:
    """Every variant's window prediction, one row per customer x variant (tidy).

    Parameters
    ----------
    calibration : pandas.DataFrame
        Calibration summary (see :func:`rule_of_thumb`).
    horizon : float
        Window length in the summary's time unit.
    margin, retention_period, cap, segments, time_unit
        As in :func:`rule_of_thumb`.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id`` (the index name of ``calibration``), ``variant``,
        ``predicted_purchases``, ``predicted_value``, ``ltv`` (the customer's S x C x P x t;
        for ``basket_x_frequency`` t is the horizon); variants as in ``ALL_VARIANTS``.
    """
    id_name = calibration.index.name or "customer_id"
    pieces = []
    for name, kwargs in ALL_VARIANTS.items():
        extra = {"segments": segments} if kwargs["variant"] == "per_segment" else {}
        rule = rule_of_thumb(
            calibration,
            margin=margin,
            retention_period=retention_period,
            cap=cap,
            horizon=horizon,
            time_unit=time_unit,
            **kwargs,
            **extra,
        )
        frame = rule.predict(calibration, horizon)
        value = rule.ltv
        if rule.variant == "per_segment":
            labels = _segment_labels(calibration, segments, calibration["frequency"].to_numpy())
            value = value.reindex(labels).to_numpy()
        elif rule.variant == "per_customer":
            value = value.reindex(calibration.index).to_numpy()
        frame["ltv"] = value
        frame.insert(0, "variant", name)
        pieces.append(frame.rename_axis(id_name).reset_index())
    out = pd.concat(pieces, ignore_index=True)
    out.attrs.update(horizon=float(horizon), margin=float(margin), time_unit=rule.time_unit)
    return out


__all__ = [
    "ALL_VARIANTS",
    "VARIANTS",
    "RuleOfThumb",
    "all_variants",
    "ltv",
    "months_per_unit",
    "retention_lifetime",
    "rule_of_thumb",
]
