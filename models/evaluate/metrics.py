"""Accuracy and ranking metrics of per-customer predictions, on plain arrays.

Ranking metrics treat tied predictions as randomly ordered (their expectation is reported), so a
rule that gives every customer the same number captures exactly the top share of value and has
Gini 0.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["coverage", "normalized_gini", "spearman", "top_share_captured"]


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
    NaN when the actual total is 0.
    """
    predicted, actual = np.asarray(predicted, float), np.asarray(actual, float)
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
    predicted, actual = np.asarray(predicted, float), np.asarray(actual, float)
    total = actual.sum()
    if total == 0:
        return float("nan")
    best = _gini(actual, actual, total)
    if best == 0:
        return float("nan")
    return _gini(predicted, actual, total) / best


def spearman(predicted, actual) -> float:
    """Spearman rank correlation (ties get average ranks); NaN if either side is constant."""
    predicted, actual = np.asarray(predicted, float), np.asarray(actual, float)
    if predicted.size < 2 or np.ptp(predicted) == 0 or np.ptp(actual) == 0:
        return float("nan")
    return float(np.corrcoef(stats.rankdata(predicted), stats.rankdata(actual))[0, 1])


def coverage(actual, lower, upper) -> float:
    """Share of ``actual`` inside the closed interval ``[lower, upper]``."""
    actual = np.asarray(actual, float)
    return float(
        np.mean((actual >= np.asarray(lower, float)) & (actual <= np.asarray(upper, float)))
    )
