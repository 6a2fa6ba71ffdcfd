"""The predictive distribution of purchase counts: a pmf scan over ``n = 0, 1, ...``.

:func:`predictive_purchases` mixes the model's conditional pmf over parameter draws, per
unique customer pattern, in chunks of :data:`PMF_CHUNK_ELEMENTS` (draw x pattern) values,
summarising the mixture (mean, sd, quantiles, tail mass) as it is built; :func:`pit` uses the
same scan up to each customer's own count for the randomised PIT. The settings here are also
read by :mod:`models.predictive.spend` (as ``purchases.N_MAX_CAP`` etc.), so patching them
here changes both.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from models import _draws, evaluate
from models._patterns import unique_rows
from models._stack import outside_stacklevel
from models._validation import (
    ACTUAL_RULE,
    CAP_WARNING,
    FIXED_N_MAX_WARNING,
    MAX_DRAWS_MESSAGE,
    N_MAX_MESSAGE,
    TAIL_TOL_MESSAGE,
    PredictiveTailWarning,
    ValidationError,
    rule_error,
)
from models.evaluate.holdout import _aligned
from models.predictive._checks import (
    _check_horizon,
    _check_levels,
    _check_rng,
    _conditional_pmf,
    _whole,
)

#: Default mass allowed beyond the largest count evaluated, per customer.
TAIL_TOL = 1e-8
#: Largest count evaluated when ``n_max`` is chosen adaptively.
N_MAX_CAP = 10_000
#: (draw x pattern) values per pmf evaluation: below CHUNK_ELEMENTS because a model's pmf may
#: hold tens of temporaries per value (the Pareto/NBD's 64-node quadrature).
PMF_CHUNK_ELEMENTS = _draws.CHUNK_ELEMENTS // 8
#: Slack when comparing a cumulative pmf with a quantile level (summation rounding).
_CDF_SLACK = 1e-12


def _scan(pmf, params, t, patterns, *, levels, tail_tol, n_max, need, keep):
    """Mixture pmf of one chunk of patterns, summarised as it is built, ``n = 0, 1, ...``.

    A pattern leaves the loop once its tail is below ``tail_tol`` (``None``: no condition),
    every quantile level is reached and ``n >= need`` (adaptive ``n_max=None``); otherwise the
    loop runs to ``n_max``.
    Returns running sums and, with ``keep``, the ``(rows, n, pmf)`` pieces.
    """
    size = len(next(iter(patterns.values())))
    out = {
        "cdf": np.zeros(size),
        "mean": np.zeros(size),
        "second": np.zeros(size),
        "quantiles": np.full((len(levels), size), np.nan),
        "lower": np.zeros(size),
        "upper": np.zeros(size),
        "last": np.zeros(size, dtype=np.int64),
        "pieces": [],
    }
    limit = N_MAX_CAP if n_max is None else n_max
    rows = np.arange(size)
    n = 0
    while rows.size and n <= limit:
        sub = {k: v[rows] for k, v in patterns.items()}
        p = pmf(params, n, t, **sub).reshape(-1, rows.size).mean(axis=0)
        before = out["cdf"][rows]
        after = before + p
        out["cdf"][rows] = after
        out["mean"][rows] += n * p
        out["second"][rows] += float(n) ** 2 * p
        out["last"][rows] = n
        for j, level in enumerate(levels):
            hit = np.isnan(out["quantiles"][j, rows]) & (after >= level - _CDF_SLACK)
            out["quantiles"][j, rows[hit]] = n
        if need is not None:
            at = need[rows] == n
            out["lower"][rows[at]], out["upper"][rows[at]] = before[at], after[at]
        if keep:
            out["pieces"].append((rows, n, p))
        if n_max is None:
            done = 1 - after < tail_tol if tail_tol is not None else np.ones(rows.size, bool)
            done &= ~np.isnan(out["quantiles"][:, rows]).any(axis=0)
            if need is not None:
                done &= need[rows] <= n
            rows = rows[~done]
        n += 1
    return out


def _thinned(draws: Mapping[str, np.ndarray], max_draws: int | None) -> dict[str, np.ndarray]:
    """At most ``max_draws`` draws, evenly spaced over the flattened (chain, draw) axis."""
    total = _draws.n_draws(draws)
    if max_draws is None or total <= _whole(max_draws, 1, MAX_DRAWS_MESSAGE):
        return dict(draws)
    keep = np.unique(np.linspace(0, total - 1, int(max_draws)).round())
    return {k: v.reshape(1, -1)[:, keep.astype(int)] for k, v in draws.items()}


def _mixture(model, t, data, *, levels, tail_tol, n_max, need=None, keep=False, max_draws=None):
    """Run :func:`_scan` over chunks of unique patterns; per-pattern results and the map back.

    ``need`` (optional, per customer) is part of the pattern key, so :func:`pit` can ask for
    the cdf at each customer's own count.
    """
    pmf = _conditional_pmf(model)
    t = _check_horizon(model, t)
    numeric = isinstance(tail_tol, float | int | np.number) and not isinstance(tail_tol, bool)
    if tail_tol is not None and (not numeric or not 1e-13 <= tail_tol < 0.5):
        raise ValidationError(TAIL_TOL_MESSAGE.format(value=tail_tol))
    if n_max is not None:
        n_max = _whole(n_max, 0, N_MAX_MESSAGE)
    arrays = dict(model._prediction_arrays(data))
    if need is not None:
        arrays["_need"] = need
    patterns, inverse = unique_rows(arrays)
    need_p = patterns.pop("_need").astype(np.int64) if need is not None else None
    n_patterns = inverse.max(initial=-1) + 1
    draws = _thinned(model._draws, max_draws)
    params = _draws.with_customer_axis(draws)
    blocks = _draws.chunk_slices(n_patterns, _draws.n_draws(draws), PMF_CHUNK_ELEMENTS)
    parts = []
    for block in blocks:
        parts.append(
            _scan(
                pmf,
                params,
                t,
                {k: v[block] for k, v in patterns.items()},
                levels=levels,
                tail_tol=tail_tol,
                n_max=n_max,
                need=None if need_p is None else need_p[block],
                keep=keep,
            )
        )
    result = {k: np.concatenate([p[k] for p in parts], axis=-1) for k in parts[0] if k != "pieces"}
    result["tail"] = np.maximum(1 - result["cdf"], 0.0)
    result["n_draws"] = _draws.n_draws(draws)
    if n_max is not None:
        unset = np.isnan(result["quantiles"]).any(axis=0)
        if unset.any():
            warnings.warn(
                FIXED_N_MAX_WARNING.format(n=int(unset.sum()), total=unset.size, n_max=n_max),
                PredictiveTailWarning,
                stacklevel=outside_stacklevel(),
            )
    elif tail_tol is not None:
        short = result["tail"] >= tail_tol
        if short.any():
            warnings.warn(
                CAP_WARNING.format(
                    n=int(short.sum()),
                    total=short.size,
                    tail=float(result["tail"].max()),
                    n_max=N_MAX_CAP,
                ),
                PredictiveTailWarning,
                stacklevel=outside_stacklevel(),
            )
    if keep:
        width = int(result["last"].max()) + 1
        dense = np.zeros((n_patterns, width))
        for block, part in zip(blocks, parts, strict=True):
            for rows, n, p in part["pieces"]:
                dense[block.start + rows, n] = p
        result["pmf"] = dense
    return result, inverse, t


# ---------------------------------------------------------------------------- public API
def predictive_purchases(
    model,
    t: float,
    data: pd.DataFrame,
    *,
    quantiles: Sequence[float] | None = None,
    interval: float | None = None,
    n_max: int | None = None,
    tail_tol: float = TAIL_TOL,
    max_draws: int | None = None,
    return_pmf: bool = False,
):
    """Predictive distribution of each customer's purchase count in the next ``t`` units.

    The mixture over parameter draws of the model's conditional pmf (module docstring).

    Parameters
    ----------
    model : BetaGeo, ParetoNBD, ModifiedBetaGeo or BetaGeoBetaBinom
        A fitted purchase model (a point fit, Laplace draws or a Bayesian posterior).
    t : float
        Horizon in the summary's time unit (BG/BB: a whole number of periods).
    data : pandas.DataFrame
        Per-customer summary with the columns the model needs, indexed by customer id.
    quantiles : sequence of float, optional
        Levels whose quantiles of the count are returned, as columns ``q05``, ``q50``...
        (the smallest ``n`` with ``P(Y <= n) >= level``).
    interval : float, optional
        Coverage of a central predictive interval: columns ``lower``, ``upper`` (the
        ``(1 - interval)/2`` and ``(1 + interval)/2`` quantiles).
    n_max : int, optional
        Evaluate ``n = 0..n_max`` for every customer. Default: per customer, until the tail
        mass is below ``tail_tol`` (up to :data:`N_MAX_CAP`, with a
        :class:`PredictiveTailWarning` if that is not enough).
    tail_tol : float
        Tail mass allowed when ``n_max`` is chosen (default :data:`TAIL_TOL`).
    max_draws : int, optional
        Use at most this many parameter draws, evenly spaced over (chain, draw) (thinning).
        Default: all. The cost is proportional to the number of draws; parameter uncertainty
        is a small part of the predictive spread, so a few hundred draws usually suffice.
    return_pmf : bool
        Also return the pmf, an array ``(customer, n)`` in the caller's order.

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, numpy.ndarray)
        ``mean``, ``sd``, the quantile columns, ``lower``/``upper``, and ``tail_mass``
        (``P(Y > n_max)`` for that customer, not included in the other columns).

    Examples
    --------
    >>> import models
    >>> from models.predictive import predictive_purchases
    >>> cal = models.datasets.load_cdnow_summary()
    >>> bg = models.BetaGeo().fit(cal)
    >>> out = predictive_purchases(bg, 39, cal, interval=0.8)
    >>> out.loc[[1, 2], ["mean", "lower", "upper"]].round(3)
                  mean  lower  upper
    customer_id
    1            1.226    0.0    3.0
    2            0.203    0.0    1.0
    """
    names, levels = _check_levels(quantiles, interval)
    result, inverse, t = _mixture(
        model,
        t,
        data,
        levels=levels,
        tail_tol=tail_tol,
        n_max=n_max,
        keep=return_pmf,
        max_draws=max_draws,
    )
    mean = result["mean"]
    columns = {"mean": mean, "sd": np.sqrt(np.maximum(result["second"] - mean**2, 0.0))}
    columns |= dict(zip(names, result["quantiles"], strict=True))
    columns["tail_mass"] = result["tail"]
    frame = pd.DataFrame({k: v[inverse] for k, v in columns.items()}, index=data.index)
    frame.attrs.update(
        {
            "quantity": "predictive_purchases",
            "t": t,
            "n_max": int(result["last"].max()),
            "n_draws": result["n_draws"],
            "interval": interval,
        }
    )
    if return_pmf:
        return frame, result["pmf"][inverse]
    return frame


def pit(
    model,
    t: float,
    data: pd.DataFrame,
    actual: pd.Series,
    rng: np.random.Generator,
    *,
    max_draws: int | None = None,
):
    """Randomised PIT of each customer's observed count under its predictive distribution.

    ``u = F(y - 1) + v (F(y) - F(y - 1))``, ``v ~ Uniform(0, 1)``
    (:func:`models.evaluate.randomized_pit`); uniform when the predictive distribution is
    right, so :func:`models.evaluate.pit_coverage` gives the coverage of central intervals.

    Parameters
    ----------
    model, t, data, max_draws
        As in :func:`predictive_purchases`.
    actual : pandas.Series
        Observed purchases in the ``t`` units after each customer's summary (e.g. the holdout
        count), indexed by customer id; reordered to ``data``'s index.
    rng : numpy.random.Generator
        Source of the uniform draws.

    Returns
    -------
    pandas.Series
        PIT values in [0, 1], indexed like ``data``.
    """
    _check_rng(rng)
    y = _aligned(actual, "actual", data.index, "data")
    bad = (y < 0) | (y != np.round(y)) | (y > N_MAX_CAP)
    if bad.any():
        raise rule_error("actual", ACTUAL_RULE.format(cap=N_MAX_CAP), bad, data.index)
    # F(y - 1) and F(y) need the pmf up to each customer's own count only.
    result, inverse, _ = _mixture(
        model, t, data, levels=[], tail_tol=None, n_max=None, need=y, max_draws=max_draws
    )
    values = evaluate.randomized_pit(
        np.minimum(result["lower"][inverse], 1.0), np.minimum(result["upper"][inverse], 1.0), rng
    )
    return pd.Series(values, index=data.index, name="pit")
