"""Accuracy and ranking metrics of per-customer predictions.

Every metric compares per-customer inputs matched by customer: pandas Series are aligned on
their index (the customer ids), so their order does not matter, and they must hold the same
ids, each once; plain arrays (lists, numpy arrays) carry no ids and are taken by position (in
the order of the first Series, if any), so they must have the same length. Values must be
finite numbers (interval bounds may be infinite).

Ranking metrics treat tied predictions as randomly ordered (their expectation is reported), so a
rule that gives every customer the same number captures exactly the top share of value and has
Gini 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from models._validation import ValidationError, rule_error
from models._validation.evaluation import ids_differ, lengths_differ, not_one_dimensional

__all__ = ["coverage", "normalized_gini", "spearman", "top_share_captured"]


def _values(values, name: str, ids, id_name: str, allow_infinite: bool) -> np.ndarray:
    """``values`` as float64, refusing missing or non-numeric values (and inf unless allowed)."""
    raw = np.asarray(values)
    if raw.dtype.kind in "biuf":
        out = raw.astype(float)
    else:
        out = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(out) if allow_infinite else ~np.isfinite(out)
    if bad.any():
        rule = "must be a finite number (not missing, NaN, inf or text)"
        if allow_infinite:
            rule = "must be a number (not missing, NaN or text; +-inf allowed)"
        raise rule_error(name, rule, bad, ids, {name: raw}, id_name=id_name)
    return out


def _aligned(inputs: dict, infinite: tuple[str, ...] = ()) -> list[np.ndarray]:
    """The per-customer ``inputs`` (name -> values) as float arrays in one customer order.

    Series are aligned on their ids, in the order of the first Series; plain arrays carry no
    ids and are taken as they are, so they must already be in that order (as with pandas
    arithmetic between a Series and an array). Raises :class:`~models.ValidationError` for
    repeated ids, differing id sets (how many are missing on each side, and the first),
    differing lengths, or values that are not finite numbers (inputs named in ``infinite``
    may be +-inf).
    """
    names = list(inputs)
    series = [n for n in names if isinstance(inputs[n], pd.Series)]
    values = {}
    ids, id_name = None, "row"
    if series:
        reference = series[0]
        ids = inputs[reference].index
        id_name = ids.name if isinstance(ids.name, str) else "customer_id"
        for name in series:
            column = inputs[name]
            duplicated = column.index.duplicated()
            if duplicated.any():
                raise rule_error(
                    f"{name}'s index",
                    "must not repeat a customer",
                    duplicated,
                    column.index,
                    id_name=id_name,
                )
            if not column.index.equals(ids):
                missing = ids[~ids.isin(column.index)]
                extra = column.index[~column.index.isin(ids)]
                if len(missing) or len(extra):
                    raise ids_differ(reference, name, missing, extra, id_name)
                column = column.reindex(ids)
            values[name] = column.to_numpy()
    for name in names:
        if name not in values:
            values[name] = np.asarray(inputs[name])
            if values[name].ndim != 1:
                raise not_one_dimensional(name, values[name].shape)
    sizes = {name: len(values[name]) for name in names}
    if len(set(sizes.values())) > 1:
        raise lengths_differ(sizes)
    if ids is None:
        ids = np.arange(sizes[names[0]])
    return [_values(values[n], n, ids, id_name, n in infinite) for n in names]


def _tie_groups(score: np.ndarray, actual: np.ndarray):
    """Group customers by tied score, highest first: (sizes, actual sums)."""
    order = np.argsort(-score, kind="stable")
    sorted_score = score[order]
    new = np.r_[True, sorted_score[1:] != sorted_score[:-1]]
    group = np.cumsum(new) - 1
    return np.bincount(group).astype(float), np.bincount(group, weights=actual[order])


def top_share_captured(predicted, actual, share: float = 0.1) -> float:
    """Share of the total actual captured by the customers with the highest predictions.

    The top ``share`` of customers (``share x n`` of them, fractional at the boundary) by
    prediction; customers tied at the boundary count in proportion (random tie-breaking).
    NaN when the actual total is 0. ``share`` must be in (0, 1).
    """
    if not 0 < float(share) < 1:
        raise ValidationError(f"share must be in (0, 1), e.g. 0.1; got {share}.")
    predicted, actual = _aligned({"predicted": predicted, "actual": actual})
    total = actual.sum()
    if total == 0:
        return float("nan")
    sizes, sums = _tie_groups(predicted, actual)
    before = np.r_[0.0, np.cumsum(sizes)[:-1]]
    included = np.clip(share * predicted.size - before, 0.0, sizes) / sizes
    return float(np.sum(included * sums) / total)


def _gini(score: np.ndarray, actual: np.ndarray, total: float) -> float:
    """Gini of the cumulative-actual curve when customers are sorted by ``score``."""
    sizes, sums = _tie_groups(score, actual)
    x = np.r_[0.0, np.cumsum(sizes)] / score.size
    y = np.r_[0.0, np.cumsum(sums)] / total
    area = np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2)
    return float(2 * area - 1)


def normalized_gini(predicted, actual) -> float:
    """Gini of the ranking by ``predicted`` divided by the Gini of the perfect ranking.

    The curve plots the share of total actual value captured against the share of customers,
    customers sorted by decreasing prediction (ties as a straight segment); Gini is twice the
    area between it and the diagonal. 1 for a ranking as good as sorting by the actual values,
    0 for no better than random. NaN when the actual total is 0 or all actuals are equal.
    """
    predicted, actual = _aligned({"predicted": predicted, "actual": actual})
    total = actual.sum()
    if total == 0:
        return float("nan")
    best = _gini(actual, actual, total)
    if best == 0:
        return float("nan")
    return _gini(predicted, actual, total) / best


def spearman(predicted, actual) -> float:
    """Spearman rank correlation (ties get average ranks); NaN if either side is constant."""
    predicted, actual = _aligned({"predicted": predicted, "actual": actual})
    if predicted.size < 2 or np.ptp(predicted) == 0 or np.ptp(actual) == 0:
        return float("nan")
    return float(np.corrcoef(stats.rankdata(predicted), stats.rankdata(actual))[0, 1])


def coverage(actual, lower, upper) -> float:
    """Share of ``actual`` inside the closed interval ``[lower, upper]``."""
    actual, lower, upper = _aligned(
        {"actual": actual, "lower": lower, "upper": upper}, infinite=("lower", "upper")
    )
    return float(np.mean((actual >= lower) & (actual <= upper)))
