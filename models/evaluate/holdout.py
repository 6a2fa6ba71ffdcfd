"""Holdout scorecard: predicted purchases and value against what customers then did.

References
----------
.. [FHL05] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the
   Easy Way. Marketing Science 24(2): calibration / holdout evaluation of purchase forecasts.
.. [B50] Brier, G. W. (1950). Verification of Forecasts Expressed in Terms of Probability.
   Monthly Weather Review 78(1), 1-3.

Every metric compares two per-customer Series indexed by the same customer ids: a prediction
(expected holdout purchases or value) and the actual holdout outcome; the metrics themselves
are those of :mod:`models.evaluate.metrics`, overall and by segment (:func:`segment_customers`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from models._validation import (
    ValidationError,
    check_rows,
    numeric_column,
    require_columns,
    rule_error,
    validate_continuous_summary,
)
from models.baseline import months_per_unit
from models.evaluate.metrics import coverage, normalized_gini, spearman, top_share_captured

__all__ = ["SEGMENTS", "scorecard", "segment_customers"]

SEGMENTS = ("one_time", "repeat", "top_decile", "lapsed")


def _series(values, what: str) -> pd.Series:
    if not isinstance(values, pd.Series):
        raise ValidationError(
            f"{what} must be a pandas Series indexed by customer id, got {type(values).__name__}."
        )
    duplicated = values.index.duplicated()
    if duplicated.any():
        raise rule_error(f"{what}'s index", "must not repeat a customer", duplicated, values.index)
    return values


def _aligned(values, what: str, index: pd.Index, reference: str, finite: bool = True):
    """``values`` (Series) reordered to ``index``; raises on missing/extra ids or NaN."""
    values = _series(values, what)
    missing = ~index.isin(values.index)
    if missing.any():
        raise rule_error(what, f"must have a row for every customer in {reference}", missing, index)
    extra = ~values.index.isin(index)
    if extra.any():
        raise rule_error(
            what, f"must not have customers that are not in {reference}", extra, values.index
        )
    frame = values.reindex(index).to_frame(what)
    if finite:
        return numeric_column(frame, what)
    out = pd.to_numeric(frame[what], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    check_rows(frame, what, "must be a number (not missing or NaN)", np.isnan(out), {what: out})
    return out


def _metrics(pred, act, share, alive=None, intervals=None) -> dict[str, float]:
    error = pred - act
    total = act.sum()
    out = {
        "n": float(pred.size),
        "actual_total": float(total),
        "predicted_total": float(pred.sum()),
        "aggregate_error": float(pred.sum() - total),
        "aggregate_error_rel": float((pred.sum() - total) / total) if total != 0 else np.nan,
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "bias": float(np.mean(error)),
        "spearman": spearman(pred, act),
        "top_decile_share": top_share_captured(pred, act, share),
    }
    out["top_decile_lift"] = out["top_decile_share"] / share
    out["gini"] = normalized_gini(pred, act)
    if alive is not None:
        out["brier"] = float(np.mean((alive[0] - alive[1]) ** 2))
    for label, (low, up) in (intervals or {}).items():
        out[f"coverage_{label}"] = coverage(act, low, up)
    return out


def _interval_bounds(intervals, index: pd.Index) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if intervals is None:
        return {}
    if not isinstance(intervals, Mapping):
        raise ValidationError(
            "intervals must be a mapping label -> DataFrame with 'lower' and 'upper' columns "
            f"(or a (lower, upper) pair of Series), got {type(intervals).__name__}."
        )
    out = {}
    for label, bounds in intervals.items():
        if isinstance(bounds, pd.DataFrame):
            require_columns(bounds, ["lower", "upper"], f"intervals[{label!r}]")
            bounds = (bounds["lower"], bounds["upper"])
        lower_s, upper_s = bounds
        lo = _aligned(lower_s, f"intervals[{label!r}].lower", index, "predicted", finite=False)
        up = _aligned(upper_s, f"intervals[{label!r}].upper", index, "predicted", finite=False)
        bad = lo > up
        if bad.any():
            raise rule_error(
                f"intervals[{label!r}].lower",
                "must be <= upper",
                bad,
                index,
                {"lower": lo, "upper": up},
            )
        out[str(label)] = (lo, up)
    return out


def _segment_masks(segments, index: pd.Index) -> dict[str, np.ndarray]:
    if segments is None:
        return {}
    if isinstance(segments, pd.Series):
        segments = pd.get_dummies(_series(segments, "segments")).astype(bool)
    if not isinstance(segments, pd.DataFrame):
        raise ValidationError(
            "segments must be a DataFrame of boolean membership columns (see "
            "segment_customers) or a Series of labels, indexed by customer id; got "
            f"{type(segments).__name__}."
        )
    masks = {}
    for column in segments.columns:
        values = _aligned(segments[column], f"segments[{column!r}]", index, "predicted")
        check_rows(
            pd.DataFrame(index=index),
            f"segments[{column!r}]",
            "must be True/False",
            (values != 0) & (values != 1),
            {column: values},
        )
        masks[str(column)] = values == 1
    return masks


def scorecard(
    predicted,
    actual,
    *,
    segments=None,
    p_alive: pd.Series | None = None,
    alive_outcome: pd.Series | None = None,
    intervals: Mapping | None = None,
    top_share: float = 0.1,
) -> pd.DataFrame:
    """Score per-customer predictions against holdout outcomes, overall and by segment.

    Parameters
    ----------
    predicted : pandas.Series or pandas.DataFrame
        Predicted holdout purchases or value per customer. A DataFrame scores each of its
        columns against the same-named column of ``actual`` (``p_alive`` and ``intervals``
        then apply to every column: call once per target when they differ).
    actual : pandas.Series or pandas.DataFrame
        What happened, indexed by the same customer ids.
    segments : pandas.DataFrame or pandas.Series, optional
        Boolean membership columns (segments may overlap; see :func:`segment_customers`) or
        one label per customer. Customers outside every segment still count in ``"all"``;
        a segment with no customers gets a row with ``n = 0`` and NaN metrics.
    p_alive : pandas.Series, optional
        P(alive) per customer, scored by the Brier score ``mean((p - o)^2)`` against
        ``alive_outcome``.
    alive_outcome : pandas.Series, optional
        0/1 or bool outcome for the Brier score; default ``actual > 0`` (bought at least once
        in the holdout). That is a proxy: an alive customer may not buy in the window, so a
        well-calibrated P(alive) scores worse than P(at least one purchase) would.
    intervals : mapping, optional
        ``label -> DataFrame`` with ``lower`` and ``upper`` columns (or a ``(lower, upper)``
        pair of Series); reported as ``coverage_<label>``, the share of actuals inside the
        closed interval. Bounds may be infinite.
    top_share : float
        Share of customers in the "top decile" metrics (default 0.1).

    Returns
    -------
    pandas.DataFrame
        One row per segment (``"all"`` first), columns ``n``, ``actual_total``,
        ``predicted_total``, ``aggregate_error`` (predicted - actual total),
        ``aggregate_error_rel`` (divided by the actual total; NaN if it is 0), ``mae``,
        ``rmse``, ``bias`` (mean of predicted - actual), ``spearman``, ``top_decile_share``
        (share of actual total captured by the predicted top ``top_share``),
        ``top_decile_lift`` (that share / ``top_share``), ``gini`` (normalised, see
        :func:`normalized_gini`), then
        ``brier`` and ``coverage_<label>`` when asked. Ranking metrics are NaN when undefined
        (constant predictions or actuals, zero total). A DataFrame input gives a
        ``(target, segment)`` index.
    """
    if isinstance(predicted, pd.DataFrame):
        if not isinstance(actual, pd.DataFrame):
            raise ValidationError("actual must be a DataFrame when predicted is one.")
        require_columns(actual, predicted.columns, "actual")
        tables = {
            column: scorecard(
                predicted[column],
                actual[column],
                segments=segments,
                p_alive=p_alive,
                alive_outcome=alive_outcome,
                intervals=intervals,
                top_share=top_share,
            )
            for column in predicted.columns
        }
        return pd.concat(tables, names=["target", "segment"])
    if not 0 < float(top_share) < 1:
        raise ValidationError(f"top_share must be in (0, 1), e.g. 0.1; got {top_share}.")
    predicted = _series(predicted, "predicted")
    if len(predicted) == 0:
        raise ValidationError("predicted is empty: there are no customers to score.")
    index = predicted.index
    pred = _aligned(predicted.rename("predicted"), "predicted", index, "predicted")
    act = _aligned(actual, "actual", index, "predicted")
    alive = None
    if p_alive is not None:
        p = _aligned(p_alive, "p_alive", index, "predicted")
        check_rows(pd.DataFrame(index=index), "p_alive", "must be in [0, 1]", (p < 0) | (p > 1))
        if alive_outcome is None:
            outcome = (act > 0).astype(float)
        else:
            outcome = _aligned(alive_outcome, "alive_outcome", index, "predicted")
            check_rows(
                pd.DataFrame(index=index),
                "alive_outcome",
                "must be 0/1 or True/False",
                (outcome != 0) & (outcome != 1),
                {"alive_outcome": outcome},
            )
        alive = (p, outcome)
    elif alive_outcome is not None:
        raise ValidationError("alive_outcome is only used with p_alive; pass p_alive too.")
    bounds = _interval_bounds(intervals, index)
    rows = {"all": _metrics(pred, act, top_share, alive, bounds)}
    for name, mask in _segment_masks(segments, index).items():
        if not mask.any():
            rows[name] = {"n": 0.0}
            continue
        sub_alive = None if alive is None else (alive[0][mask], alive[1][mask])
        sub_bounds = {k: (lo[mask], up[mask]) for k, (lo, up) in bounds.items()}
        rows[name] = _metrics(pred[mask], act[mask], top_share, sub_alive, sub_bounds)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "segment"
    return table


def segment_customers(
    calibration: pd.DataFrame,
    *,
    rank_by: pd.Series | None = None,
    top_share: float = 0.1,
    lapsed_after: float | None = None,
    time_unit: str | None = None,
) -> pd.DataFrame:
    """Boolean segment membership per customer, from the calibration summary.

    - ``one_time``: no repeat purchase in calibration (``frequency == 0``).
    - ``repeat``: at least one repeat purchase (``frequency > 0``).
    - ``top_decile``: the top ``top_share`` of customers by ``rank_by`` (default the
      calibration ``total_value``), i.e. ``rank_by >=`` the value of the
      ``ceil(top_share n)``-th largest; ties at that value are all included. Calibration value
      keeps the segment the same for every model compared (a decile by each model's own
      prediction would not be).
    - ``lapsed``: repeat buyers whose last purchase is more than ``lapsed_after`` time units
      before the end of calibration (``T - recency > lapsed_after``); one-time buyers are
      their own segment. Default: 3 months, converted to the summary's time unit.

    Segments overlap (a top-decile customer is also a repeat buyer).

    Parameters
    ----------
    calibration : pandas.DataFrame
        ``frequency``, ``recency``, ``T`` (and ``total_value`` unless ``rank_by`` is given).
    rank_by : pandas.Series, optional
        Values defining the top decile, indexed by customer id.
    top_share : float
        Share of customers in the top segment.
    lapsed_after : float, optional
        Gap, in the summary's time unit.
    time_unit : str, optional
        Overrides ``calibration.attrs["time_unit"]`` (used for the default gap).

    Returns
    -------
    pandas.DataFrame
        Columns ``one_time``, ``repeat``, ``top_decile``, ``lapsed`` (bool), indexed like
        ``calibration``; ``attrs["lapsed_after"]`` and ``attrs["time_unit"]`` record the gap.
    """
    core = validate_continuous_summary(calibration, what="calibration")
    if not 0 < float(top_share) < 1:
        raise ValidationError(f"top_share must be in (0, 1), e.g. 0.1; got {top_share}.")
    unit = time_unit if time_unit is not None else calibration.attrs.get("time_unit")
    if lapsed_after is None:
        if unit is None:
            raise ValidationError(
                "lapsed_after is not given and calibration.attrs['time_unit'] is not set, so the "
                "default of 3 months cannot be converted; pass lapsed_after or time_unit."
            )
        lapsed_after = 3.0 / months_per_unit(unit)
    lapsed_after = float(lapsed_after)
    if not (np.isfinite(lapsed_after) and lapsed_after >= 0):
        raise ValidationError(f"lapsed_after must be a finite number >= 0, got {lapsed_after}.")
    if rank_by is None:
        require_columns(calibration, ["total_value"], "calibration")
        value = numeric_column(calibration, "total_value")
    else:
        value = _aligned(rank_by, "rank_by", calibration.index, "calibration")
    k = int(np.ceil(top_share * value.size))
    threshold = np.sort(value)[::-1][k - 1]
    x, t_x, T = core["x"], core["t_x"], core["T"]
    frame = pd.DataFrame(
        {
            "one_time": x == 0,
            "repeat": x > 0,
            "top_decile": value >= threshold,
            "lapsed": (x > 0) & (T - t_x > lapsed_after),
        },
        index=calibration.index,
    )
    frame.attrs.update(lapsed_after=lapsed_after, time_unit=unit)
    return frame
