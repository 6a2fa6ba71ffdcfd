"""BG/NBD: beta-geometric / negative binomial purchase model.

References
----------
.. [FHL05] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the
   Easy Way: An Alternative to the Pareto/NBD Model. Marketing Science 24(2), 275-284.
   Equation numbers below refer to this paper.
.. [N027] Hardie, B. G. S. & Fader, P. S. (2013). Overcoming the BG/NBD Model's #NUM! Error
   Problem (note 027): the log-space likelihood used here.
.. [N021] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2008). Computing P(alive) Using the
   BG/NBD Model (note 021).

The model: while active, a customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)``; after
each repeat purchase the customer drops out with probability ``p ~ Beta(a, b)``. Data per
customer: ``x`` repeat purchases, the last at ``t_x``, observed for ``T`` time units since
the first purchase.

A customer still alive at ``T`` with history ``(x, T)`` behaves from then on like a *new*
customer with parameters ``(r + x, alpha + T, a, b + x)`` (the posterior of lambda and p given
survival). So every conditional prediction here is the new-customer formula at updated
parameters, weighted by P(alive): one formula, two uses.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import special

from models._ops import NUMPY, Ops
from models._purchase import ContinuousPurchaseModel

PARAMS = ("r", "alpha", "a", "b")


def loglik(params: Mapping, data: Mapping, ops: Ops = NUMPY):
    """Per-customer log-likelihood, FHL05 eq. 6 in the log-space form of [N027].

    ``ln L = A1 + A2 + ln(exp(A3) + delta(x > 0) exp(A4))`` with

    - ``A1 = ln Gamma(r + x) - ln Gamma(r) + r ln alpha``
    - ``A2 = ln B(a, b + x) - ln B(a, b)``
    - ``A3 = -(r + x) ln(alpha + T)``
    - ``A4 = ln a - ln(b + x - 1) - (r + x) ln(alpha + t_x)``

    ``max(x, 1)`` keeps the masked branch finite when ``x = 0``.
    """
    r, alpha, a, b = (params[name] for name in PARAMS)
    x, t_x, T = data["x"], data["t_x"], data["T"]
    a1 = ops.gammaln(r + x) - ops.gammaln(r) + r * ops.log(alpha)
    a2 = ops.betaln(a, b + x) - ops.betaln(a, b)
    a3 = -(r + x) * ops.log(alpha + T)
    a4 = ops.log(a) - ops.log(b + ops.maximum(x, 1) - 1) - (r + x) * ops.log(alpha + t_x)
    return a1 + a2 + ops.where(x > 0, ops.logaddexp(a3, a4), a3)


def _log_odds_dead(params: Mapping, x, t_x, T):
    """``ln[a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)]`` (N021), for x > 0.

    ``ln((alpha + T) / (alpha + t_x)) = log1p((T - t_x) / (alpha + t_x))``: exact as ``t_x``
    nears ``T``, where a difference of logarithms cancels (and one vectorised log1p is faster
    than two logs).
    """
    r, alpha, a, b = (params[name] for name in PARAMS)
    return (
        np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * np.log1p((T - t_x) / (alpha + t_x))
    )


def p_alive(params: Mapping, x, t_x, T):
    """P(alive at T | x, t_x, T), [N021] eq. 2: ``1 / (1 + delta(x > 0) odds)``.

    Equal to 1 when ``x = 0`` (a customer can only drop out after a repeat purchase).
    """
    return np.where(x > 0, special.expit(-_log_odds_dead(params, x, t_x, T)), 1.0)


def expected_new(r, alpha, a, b, t):
    """E[X(t)] for a new customer, FHL05 eq. 7: see :func:`models._bgnbd_mean.expected_new`.

    Imported on first use: its compiled kernels need numba, which ``import models`` (and a
    Spark driver that only fits) does not load.
    """
    from models import _bgnbd_mean

    return _bgnbd_mean.expected_new(r, alpha, a, b, t)


def pmf_new(r, alpha, a, b, n, t):
    """P(X(t) = n) for a new customer, FHL05 eq. 8.

    ``B(a, b+n)/B(a, b) NB(n; r, alpha/(alpha+t))
    + delta(n > 0) B(a+1, b+n-1)/B(a, b) P(NB(r, alpha/(alpha+t)) >= n)``;
    the negative binomial tail is the regularised incomplete beta ``I_z(n, r)``.
    """
    z = t / (alpha + t)
    log_nb = (
        special.gammaln(r + n)
        - special.gammaln(r)
        - special.gammaln(n + 1)
        + r * np.log(alpha / (alpha + t))
        + special.xlogy(n, z)
    )
    first = np.exp(special.betaln(a, b + n) - special.betaln(a, b) + log_nb)
    n_safe = np.maximum(n, 1)
    tail = special.betainc(n_safe, r, z)
    second = np.exp(special.betaln(a + 1, b + n_safe - 1) - special.betaln(a, b)) * tail
    return first + np.where(n > 0, second, 0.0)


def expected_purchases_new_customer(params: Mapping, t):
    """Expected repeat purchases of a new customer in ``(0, t]``, FHL05 eq. 7."""
    return expected_new(params["r"], params["alpha"], params["a"], params["b"], t)


def expected_purchases(params: Mapping, t, x, t_x, T):
    """E[Y(t) | x, t_x, T]: expected purchases in ``(T, T + t]``, FHL05 eq. 10.

    ``t`` broadcasts against the customers, or holds several horizons along one extra leading
    axis (shape ``(n_t, 1, ..., 1)``, one more axis than ``P(alive)``): the result then has
    that axis first, and P(alive) is evaluated once for all horizons.
    """
    r, alpha, a, b = (params[name] for name in PARAMS)
    alive = p_alive(params, x, t_x, T)
    t = np.asarray(t, dtype=float)
    grid = t.ndim == alive.ndim + 1 and t.size == t.shape[0]
    x, T = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(T, dtype=float))
    per_draw = all(np.ndim(v) == 0 or np.shape(v)[-1] == 1 for v in (r, alpha, a, b))
    if x.ndim != 1 or not per_draw or not (grid or _broadcasts_to(t.shape, x.shape)):
        return alive * expected_new(r + x, alpha + T, a, b + x, t)
    # The new-customer term does not depend on t_x: evaluate it once per distinct (x, T)
    # (1M daily customers: 177,685 patterns but 6,790 (x, T) pairs), with the horizons on the
    # last axis so that each (draw, x) is one run of the 2F1 series. Parameters must then be
    # constant along the customer axis (draws x 1), as predictions pass them.
    horizons = t.reshape(-1) if grid else np.broadcast_to(t, x.shape)
    columns = [x, T] if grid else [x, T, horizons]
    keys, inverse = np.unique(np.stack(columns), axis=1, return_inverse=True)
    inverse = inverse.ravel()
    if grid:
        xk, Tk = keys[0][:, None], keys[1][:, None]
        r, alpha, a, b = (np.asarray(v, dtype=float)[..., None] for v in (r, alpha, a, b))
        new = expected_new(r + xk, alpha + Tk, a, b + xk, horizons)
        return alive * np.moveaxis(new, -1, 0)[..., inverse]
    xk, Tk, tk = keys
    return alive * expected_new(r + xk, alpha + Tk, a, b + xk, tk)[..., inverse]


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether an array of ``shape`` broadcasts to ``target`` without growing it."""
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def probability_of_purchases(params: Mapping, n, t):
    """P(X(t) = n) for a new customer, FHL05 eq. 8."""
    return pmf_new(params["r"], params["alpha"], params["a"], params["b"], n, t)


def conditional_probability_of_purchases(params: Mapping, n, t, x, t_x, T):
    """P(Y(t) = n | x, t_x, T): dead with probability 1 - P(alive), else a new customer.

    ``delta(n = 0) (1 - P(alive)) + P(alive) P(X(t) = n; r + x, alpha + T, a, b + x)``
    (Fader, Hardie & Lee, note "Deriving the conditional PMF of the BG/NBD", 2007).
    """
    r, alpha, a, b = (params[name] for name in PARAMS)
    alive = p_alive(params, x, t_x, T)
    future = pmf_new(r + x, alpha + T, a, b + x, n, t)
    return np.where(n == 0, 1 - alive, 0.0) + alive * future


def simulate(params: Mapping[str, float], T, rng: np.random.Generator) -> pd.DataFrame:
    """Draw customer summaries from the BG/NBD.

    Each customer gets ``lambda ~ Gamma(r, alpha)``, ``p ~ Beta(a, b)``; the number of repeat
    purchases before dropping out is ``K ~ Geometric(p)`` on {1, 2, ...}; in ``[0, T]`` the
    Poisson process has ``N ~ Poisson(lambda T)`` events, so ``x = min(N, K)`` and ``t_x`` is
    the x-th of N uniform order statistics on ``[0, T]``, i.e. ``T Beta(x, N - x + 1)``.

    Parameters
    ----------
    params : mapping
        ``r``, ``alpha``, ``a``, ``b``.
    T : array_like
        Observation length of each customer (one entry per customer).
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    pandas.DataFrame
        ``frequency``, ``recency``, ``T``, indexed by ``customer_id`` 0..n-1.
    """
    T = np.asarray(T, dtype=float)
    lam = rng.gamma(params["r"], 1 / params["alpha"], size=T.shape)
    p = rng.beta(params["a"], params["b"], size=T.shape)
    n_events = rng.poisson(lam * T)
    purchases_before_dropout = rng.geometric(p)
    x = np.minimum(n_events, purchases_before_dropout)
    return summary_from_order_statistic(x, n_events, T, rng)


def summary_from_order_statistic(x, n_events, T, rng) -> pd.DataFrame:
    """Summary with ``t_x`` = the x-th of ``n_events`` uniform order statistics on [0, T]."""
    has = x > 0
    t_x = np.zeros_like(T)
    t_x[has] = T[has] * rng.beta(x[has], n_events[has] - x[has] + 1)
    return pd.DataFrame(
        {"frequency": x.astype(float), "recency": t_x, "T": T},
        index=pd.RangeIndex(T.size, name="customer_id"),
    )


class BetaGeo(ContinuousPurchaseModel):
    """BG/NBD purchase model (Fader, Hardie & Lee 2005).

    Fit on a summary with columns ``frequency`` (x), ``recency`` (t_x) and ``T``, one row per
    customer indexed by customer id (see :func:`models.rfm_summary`).

    Examples
    --------
    >>> import models
    >>> cal = models.datasets.load_cdnow_summary()
    >>> bg = models.BetaGeo().fit(cal)
    >>> bg.params.round(3).tolist()
    [0.243, 4.414, 0.793, 2.426]
    """

    PARAMS = PARAMS
    INITIAL = {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0}
    TIME_SCALED = ("alpha",)
    _loglik = staticmethod(loglik)
