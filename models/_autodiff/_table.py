"""The operation table :data:`DUAL`, and the count-weighted log-likelihood with its gradient.

:func:`factor_columns` wraps data columns on their own domains; :func:`value_and_gradient`
builds the evaluator of a model's total log-likelihood and exact gradient;
:func:`gradient_for` picks the fastest evaluator that reproduces the numpy value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy import special

from models._autodiff._dual import Domain, Dual, _Domains, _lift
from models._autodiff._elementwise import (
    _abs,
    _betaln,
    _log1mexp_derivative,
    _log_hyp2f1,
    _logaddexp,
    _maximum,
    _minimum,
    _sum_first_axis,
    _unary,
    _where,
)
from models._autodiff._power_ops import _log_power_integral
from models._ops import NUMPY, Ops

DUAL = Ops(
    name="dual",
    log=_unary(np.log, lambda x, v: 1.0 / x),
    log1p=_unary(np.log1p, lambda x, v: 1.0 / (1.0 + x)),
    exp=_unary(np.exp, lambda x, v: v),
    expm1=_unary(np.expm1, lambda x, v: v + 1.0),
    gammaln=_unary(special.gammaln, lambda x, v: special.digamma(x)),
    betaln=_betaln,
    logaddexp=_logaddexp,
    log1mexp=_unary(NUMPY.log1mexp, _log1mexp_derivative),
    log_hyp2f1=_log_hyp2f1,
    log_power_integral=_log_power_integral,
    sum_first_axis=_sum_first_axis,
    where=_where,
    maximum=_maximum,
    minimum=_minimum,
    abs=_abs,
)


# ------------------------------------------------------------------ likelihood and gradient
def _column_codes(data: Mapping[str, np.ndarray], max_share: float) -> dict:
    """``name -> (codes, unique values)`` of the columns with few distinct values.

    A column qualifies when its number of distinct values is at most ``max_share`` of its
    length (otherwise gathering would cost more than it saves).
    """
    import pandas as pd

    out = {}
    for name, column in data.items():
        column = np.asarray(column)
        if column.ndim != 1 or column.size < 16:
            continue
        sample = column[:: max(1, column.size // 4096)]
        if np.unique(sample).size > max(max_share, 0.5) * sample.size:
            continue  # visibly too many distinct values: skip the hashing
        codes, uniques = pd.factorize(column, sort=False)
        if uniques.size <= max_share * column.size:
            out[name] = (codes, np.asarray(uniques, dtype=column.dtype))
    return out


def _factored(data: Mapping[str, np.ndarray], codes: Mapping, max_share: float) -> dict:
    """``data`` with the columns in ``codes`` as constant Duals on their own domains."""
    n = len(next(iter(codes.values()))[0]) if codes else 0
    registry = _Domains(n, max_share)
    out = dict(data)
    for name, (column_codes, uniques) in codes.items():
        out[name] = Dual(uniques, None, registry.make(frozenset([name]), column_codes))
    return out


def factor_columns(data: Mapping[str, np.ndarray], max_share: float = 0.5) -> dict:
    """Wrap columns with few distinct values as constant Duals on their own domain.

    Functions of one column (and parameters) are then evaluated once per distinct value, and
    functions of a few columns once per distinct combination of them, while there are at most
    ``max_share`` as many combinations as patterns; other columns stay arrays.
    """
    return _factored(data, _column_codes(data, max_share), max_share)


def _domain_weights(domain: Domain | None, counts: np.ndarray, cache: dict) -> np.ndarray:
    """Counts summed per element of ``domain`` (so a sum over patterns is a dot product)."""
    if domain is None:
        return np.array([counts.sum()])
    if domain.codes is None:
        return counts
    key = id(domain)
    if key not in cache:
        cache[key] = (domain, np.bincount(domain.codes, weights=counts))
    return cache[key][1]


def _weighted_sum(array, weights: np.ndarray, m: int) -> np.ndarray:
    """``sum_j array[..., j] * weights[j]`` as an (m,) vector (array broadcast to (m, n))."""
    array = np.asarray(array, dtype=float)
    if array.ndim == 0 or array.shape[-1] == 1:
        out = np.reshape(array, array.shape[:-1] if array.ndim else ()) * weights.sum()
    else:
        out = np.einsum("...j,j->...", array, weights)
    return np.broadcast_to(out, (m,))


def _sorted_factored(
    patterns: Mapping[str, np.ndarray], counts: np.ndarray, max_share: float = 0.5
) -> tuple[dict, dict, np.ndarray]:
    """Factored and plain patterns, both ordered by the coarsest factored column (e.g. ``x``).

    The total log-likelihood does not depend on the order of patterns; sorted, the branch
    masks of ``where`` (``x > 0``...) come in long runs, which makes ``where`` several times
    faster on large inputs.
    """
    codes = _column_codes(patterns, max_share)
    counts = np.asarray(counts)
    if not codes:
        return dict(patterns), dict(patterns), counts
    coarsest, uniques = min(codes.values(), key=lambda item: item[1].size)
    small = coarsest.astype(np.int16) if uniques.size < 2**15 else coarsest
    order = np.argsort(small, kind="stable")
    plain = {k: np.asarray(v)[order] for k, v in patterns.items()}
    codes = {k: (c[order], u) for k, (c, u) in codes.items()}
    return _factored(plain, codes, max_share), plain, counts[order]


def value_and_gradient(
    loglik: Callable,
    names: Sequence[str],
    data: Mapping,
    counts: np.ndarray,
) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Build ``theta (m, k) -> (total (m,), gradient (m, k))`` of the count-weighted loglik.

    Parameters
    ----------
    loglik : callable
        ``loglik(params, data, ops)``, the model's per-row log-likelihood.
    names : sequence of str
        Parameter names, in the column order of ``theta``.
    data : mapping
        Pattern arrays (possibly factored by :func:`factor_columns`).
    counts : numpy.ndarray
        Number of customers per pattern.
    """
    counts = np.asarray(counts, dtype=float)
    cache: dict = {}

    def evaluate(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        m, k = theta.shape
        params = {}
        for i, name in enumerate(names):
            column = theta[:, i, None]
            params[name] = Dual(column, {i: np.ones_like(column)})
        with np.errstate(all="ignore"):
            out = loglik(params, data, DUAL)
        out = _lift(out)
        weights = _domain_weights(out.domain, counts, cache)
        total = _weighted_sum(out.val, weights, m)
        gradient = np.zeros((m, k))
        for i, d in out.der.items():
            gradient[:, i] = _weighted_sum(d, weights, m)
        return total, gradient

    evaluate.factored = any(isinstance(v, Dual) for v in data.values())
    return evaluate


def gradient_for(
    loglik: Callable,
    names: Sequence[str],
    patterns: Mapping[str, np.ndarray],
    counts: np.ndarray,
    reference: Callable[[np.ndarray], np.ndarray],
    theta: np.ndarray,
) -> Callable | None:
    """The fastest exact-gradient evaluator that runs this likelihood, or ``None``.

    Tries factored data, then plain arrays; a candidate is accepted when it runs and its
    total log-likelihood at ``theta`` (m, k) equals ``reference(theta)`` (the plain numpy
    evaluation) to 1e-9 relative. A likelihood that uses numpy functions directly on data
    columns cannot run on factored data; one that uses them on parameters cannot run here at
    all, and the caller falls back to finite differences.
    """
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    with np.errstate(all="ignore"):
        expected = np.asarray(reference(theta), dtype=float)
    factored, plain, counts = _sorted_factored(patterns, counts)
    for data in (factored, plain):
        evaluate = value_and_gradient(loglik, names, data, counts)
        try:
            total, gradient = evaluate(theta)
        except (TypeError, ValueError, AttributeError, IndexError):
            continue
        if gradient.shape == theta.shape and np.allclose(
            total, expected, rtol=1e-9, atol=0.0, equal_nan=True
        ):
            return evaluate
    return None
