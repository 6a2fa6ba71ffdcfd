"""The rule of thumb LTV = S x C x P x t and the variants businesses use.

Each variant combines the ingredients of :mod:`models.baseline.ingredients` (S, C, observed or
retention lifetime t) differently; :func:`rule_of_thumb` computes one of them and
:func:`all_variants` predicts a holdout window with every one of them (window predictions as in
:mod:`models.baseline.rule`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from models._validation import ValidationError
from models._validation.evaluation import index_name_taken
from models.baseline.ingredients import (
    _customer_arrays,
    _lifetime,
    _margin,
    _positive_scalar,
    _segment_labels,
    _time_unit,
    months_per_unit,
)
from models.baseline.rule import RuleOfThumb

__all__ = ["ALL_VARIANTS", "VARIANTS", "all_variants", "rule_of_thumb"]


VARIANTS = ("classic", "retention", "per_segment", "per_customer", "basket_x_frequency")
_LIFETIMES = ("observed", "retention")
_CAPS = ("lifetime", "remaining")
_TIDY_COLUMNS = ("variant", "predicted_purchases", "predicted_value", "ltv")


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

    Variants (definitions of S, C, observed and retention t in
    :mod:`models.baseline.ingredients`):

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
        P, the profit margin as a fraction of revenue, in (0, 1]; default 1.0 (value =
        revenue). As for :func:`models.customer_lifetime_value`, 0 is refused (it would make
        every value 0).
    lifetime : {"observed", "retention"}, optional
        Lifetime of ``per_segment`` / ``per_customer`` (default ``"observed"``).
    retention_period : float
        Period of the retention rate, in months.
    cap : {"lifetime", "remaining"}
        How an observed lifetime limits a window prediction (:mod:`models.baseline.rule`).
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
    P = _margin(margin)
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
    horizon = _positive_scalar("horizon", horizon)
    margin = _margin(margin)
    id_name = calibration.index.name or "customer_id"
    if id_name in _TIDY_COLUMNS:
        raise index_name_taken(id_name, _TIDY_COLUMNS)
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
    out.attrs.update(horizon=horizon, margin=margin, time_unit=rule.time_unit)
    return out
