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
from scipy import integrate, special

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
    """``ln[a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)]`` (N021), for x > 0."""
    r, alpha, a, b = (params[name] for name in PARAMS)
    return (
        np.log(a)
        - np.log(b + np.maximum(x, 1) - 1)
        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    )


def p_alive(params: Mapping, x, t_x, T):
    """P(alive at T | x, t_x, T), [N021] eq. 2: ``1 / (1 + delta(x > 0) odds)``.

    Equal to 1 when ``x = 0`` (a customer can only drop out after a repeat purchase).
    """
    return np.where(x > 0, special.expit(-_log_odds_dead(params, x, t_x, T)), 1.0)


def expected_new(r, alpha, a, b, t):
    """E[X(t)] for a new customer, FHL05 eq. 7, after Euler's transformation.

    ``(a + b - 1)/(a - 1) [1 - (alpha/(alpha + t))^r 2F1(r, b; a + b - 1; z)]`` with
    ``z = t / (alpha + t)``; Euler's transformation turns ``(1 - z)^r 2F1(r, b; c; z)`` into
    ``(1 - z)^(a - 1) 2F1(c - r, a - 1; c; z)``, which stays finite when ``r`` is large (as
    ``r + x`` is for frequent buyers) and ``z`` is near 1.

    Two regimes avoid that form: for small ``w = t / alpha`` the bracket cancels (and at
    ``a = 1`` it is 0/0), so we sum ``E = r w 3F2(1, r + 1, a; 2, a + b; -w)`` directly; and
    where ``scipy.special.hyp2f1`` fails (NaN for ``z`` near 1 with large or integer-spaced
    parameters) or the bracket still cancels, the element is recomputed from the mixture
    integral ``E_p[(1 - (1 + p w)^-r) / p]``, ``p ~ Beta(a, b)``
    (:func:`_expected_new_by_quadrature`).
    """
    r, alpha, a, b, t = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (r, alpha, a, b, t))
    )
    a_safe = np.where(np.abs(a - 1) < 1e-8, 1 + 1e-8, a)
    c = a_safe + b - 1
    z = t / (alpha + t)
    with np.errstate(all="ignore"):
        bracket = 1 - (1 - z) ** (a_safe - 1) * special.hyp2f1(c - r, a_safe - 1, c, z)
        value = np.array(c / (a_safe - 1) * bracket, dtype=float)
    w = t / alpha
    small = (r + 1) * w < 0.1  # 12 series terms: relative error < 0.1^12
    if small.any():
        term, series = np.ones_like(w), np.ones_like(w)
        for k in range(12):
            term = term * -(r + 1 + k) * (a + k) / ((a + b + k) * (k + 2)) * w
            series = series + term
        value = np.where(small, r * w * series, value)
    redo = (t > 0) & ~small
    redo &= ~np.isfinite(value) | (value <= 0) | (np.abs(bracket) < 1e-6) | (np.abs(a - 1) < 1e-4)
    for i in zip(*np.nonzero(np.atleast_1d(redo)), strict=True):
        i = i if value.ndim else ()
        value[i] = _expected_new_by_quadrature(r[i], alpha[i], a[i], b[i], t[i])
    return np.where(t > 0, value, 0.0)


def _expected_new_by_quadrature(r, alpha, a, b, t) -> float:
    """``E_p[(1 - (1 + p t / alpha)^-r) / p]`` for one element (FHL05 section 3, before eq. 7).

    Singular end-point powers of the beta density go to quad's algebraic weight; the rest of
    the density is evaluated in log space (finite for any a, b > 0); without a singular end
    the mean is passed to quad as a break point (a, b in the thousands give a narrow peak).
    """
    low, high = min(a - 1.0, 0.0), min(b - 1.0, 0.0)
    log_norm = -special.betaln(a, b)

    def integrand(p):
        per_p = r * t / alpha if p == 0 else -np.expm1(-r * np.log1p(p * t / alpha)) / p
        log_rest = log_norm
        if a - 1 > low:
            log_rest += (a - 1 - low) * np.log(p) if p > 0 else -np.inf
        if b - 1 > high:
            log_rest += (b - 1 - high) * np.log1p(-p)
        return per_p * np.exp(log_rest)

    if low == 0 and high == 0:  # no singular end: help quad find a peaked density
        total = integrate.quad(
            integrand, 0.0, 1.0, points=[a / (a + b)], epsabs=0.0, epsrel=1e-10, limit=400
        )[0]
    else:
        total = integrate.quad(
            integrand,
            0.0,
            1.0,
            weight="alg",
            wvar=(low, high),
            epsabs=0.0,
            epsrel=1e-10,
            limit=400,
        )[0]
    return float(total)


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
    """E[Y(t) | x, t_x, T]: expected purchases in ``(T, T + t]``, FHL05 eq. 10."""
    r, alpha, a, b = (params[name] for name in PARAMS)
    alive = p_alive(params, x, t_x, T)
    return alive * expected_new(r + x, alpha + T, a, b + x, t)


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
    _loglik = staticmethod(loglik)
