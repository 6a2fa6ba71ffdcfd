"""BG/BB: beta-geometric / beta-Bernoulli model for discrete-time purchase opportunities.

References
----------
.. [FHS10] Fader, P. S., Hardie, B. G. S. & Shang, J. (2010). Customer-Base Analysis in a
   Discrete-Time Noncontractual Setting. Marketing Science 29(6), 1086-1108. Equation numbers
   below refer to this paper.
.. [N010] Fader, P. S. & Hardie, B. G. S. (2010). Implementing the BG/BB Model for
   Customer-Base Analysis in Excel (note 010): the spreadsheet the reference values come from.
.. [NC18] "The Normalizing Constant in the BG/BB Model" (2018), SSRN 3241680, doi
   10.2139/ssrn.3241680: eqs. 4 and 5 of FHS10 are likelihoods, not joint probabilities.

The model: there are ``n`` transaction opportunities (periods 1..n) after the first purchase.
At the start of each period a living customer becomes inactive with probability
``theta ~ Beta(gamma, delta)``; in each period it is alive, the customer transacts with
probability ``p ~ Beta(alpha, beta)``. Data per customer: ``x`` periods with a transaction,
the last in period ``t_x``, out of ``n``.

One formula, many uses. A customer alive in period ``n`` has posterior
``p ~ Beta(alpha + x, beta + n - x)`` and ``theta ~ Beta(gamma, delta + n)``, and from then on
behaves like a *new* customer with parameters ``(alpha + x, beta + n - x, gamma, delta + n)``.
So the conditional expectation (eq. 13), P(alive) in a later period and the conditional
PMF are ``P(alive in period n) x`` new-customer formulas (eq. 7, the survival function
``B(gamma, delta + m) / B(gamma, delta)``) at updated parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from scipy import special

from models._base import BaseModel
from models._ops import NUMPY, Ops
from models._validation import check_count, check_horizon, validate_discrete_summary

PARAMS = ("alpha", "beta", "gamma", "delta")


def _log_sum_over(log_first, log_term: Callable, lo, hi, ops: Ops):
    """``log(exp(log_first) + sum_{lo <= i < hi} exp(log_term(i)))``, vectorised over rows.

    ``lo`` and ``hi`` are per-row integer bounds (numpy data). The sum runs over a padded
    index ``i = 0 .. max(hi) - 1``, one ``logaddexp`` per index, each over all rows at once;
    rows where ``i`` is outside ``[lo, hi)`` keep their value (masked, never ``-inf``).
    ``log_term`` receives ``i`` clamped into each row's range so every term stays finite.
    """
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    total = log_first
    top = int(np.max(hi, initial=0))
    for i in range(top):
        inside = (i >= lo) & (i < hi)
        if not inside.any():
            continue
        i_safe = np.clip(float(i), lo, np.maximum(hi - 1, lo))
        total = ops.where(inside, ops.logaddexp(total, log_term(i_safe)), total)
    return total


def _log_alive_branch(params: Mapping, x, n, ops: Ops = NUMPY):
    """``ln[B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n)/B(gamma, delta)]``."""
    alpha, beta, gamma, delta = (params[name] for name in PARAMS)
    return (
        ops.betaln(alpha + x, beta + n - x)
        - ops.betaln(alpha, beta)
        + ops.betaln(gamma, delta + n)
        - ops.betaln(gamma, delta)
    )


def loglik(params: Mapping, data: Mapping, ops: Ops = NUMPY):
    """Per-customer log-likelihood, FHS10 eq. 5 (the marginal likelihood), in log space.

    ``L = B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n)/B(gamma, delta)
    + sum_{i=0}^{n-t_x-1} B(alpha+x, beta+t_x-x+i)/B(alpha, beta)
    B(gamma+1, delta+t_x+i)/B(gamma, delta)``: alive through period n, or inactive from
    period ``t_x + i + 1`` on. The sum is a masked log-sum-exp over a padded index.
    """
    alpha, beta, gamma, delta = (params[name] for name in PARAMS)
    x, t_x, n = data["x"], data["t_x"], data["n"]
    log_norm = ops.betaln(alpha, beta) + ops.betaln(gamma, delta)

    def log_term(i):
        return (
            ops.betaln(alpha + x, beta + t_x - x + i) + ops.betaln(gamma + 1, delta + t_x + i)
        ) - log_norm

    return _log_sum_over(_log_alive_branch(params, x, n, ops), log_term, 0.0 * n, n - t_x, ops)


def _log_survival(gamma, delta, m):
    """Log P(alive in period m) of a new customer: ``ln B(gamma, delta+m) - ln B(gamma, delta)``."""
    return special.betaln(gamma, delta + m) - special.betaln(gamma, delta)


def _log_p_alive_now(params: Mapping, x, t_x, n):
    """Log P(alive in period n | x, t_x, n)."""
    data = {"x": x, "t_x": t_x, "n": n}
    return _log_alive_branch(params, x, n) - loglik(params, data)


def _updated(params: Mapping, x, n) -> dict:
    """Parameters of a customer alive in period n: ``(alpha+x, beta+n-x, gamma, delta+n)``."""
    alpha, beta, gamma, delta = (params[name] for name in PARAMS)
    return {"alpha": alpha + x, "beta": beta + n - x, "gamma": gamma, "delta": delta + n}


def p_alive(params: Mapping, x, t_x, n, m=1):
    """P(alive in period ``n + m`` | x, t_x, n) (FHS10: P(alive) in period n + 1 for ``m = 1``).

    ``B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n+m)/B(gamma, delta) / L``. With the
    default ``m = 1`` this is the paper's "P(alive in 2002)" for the donors observed 1996-2001.
    ``m = 0`` gives P(alive in period n).
    """
    gamma, delta = params["gamma"], params["delta"]
    log_p = _log_p_alive_now(params, x, t_x, n) + _log_survival(gamma, delta + n, m)
    return np.minimum(np.exp(log_p), 1.0)


#: Stirling's series for ln Gamma is used at arguments >= this (smaller ones are shifted up).
_STIRLING_FROM = 10.0
#: ``B_2k / (2k (2k - 1))``, k = 1..8: ``ln Gamma(y) = (y - 1/2) ln y - y + ln(2 pi)/2
#: + sum_k c_k y^(1 - 2k)``; the first omitted term is below 2e-18 at y >= 9.
_STIRLING = (
    1 / 12,
    -1 / 360,
    1 / 1260,
    -1 / 1680,
    1 / 1188,
    -691 / 360360,
    1 / 156,
    -3617 / 122400,
)


def _log1p_ratio(u):
    """``log1p(u) / u``, equal to 1 at ``u = 0`` (series below ``|u| = 1e-4``)."""
    small = np.abs(u) < 1e-4
    safe = np.where(small, 1.0, u)
    return np.where(small, 1 - u / 2 + u * u / 3 - u**3 / 4, np.log1p(safe) / safe)


def _one_minus_exp_ratio(v):
    """``(1 - exp(-v)) / v``, equal to 1 at ``v = 0`` (series below ``|v| = 1e-4``)."""
    small = np.abs(v) < 1e-4
    safe = np.where(small, 1.0, v)
    return np.where(small, 1 - v / 2 + v * v / 6 - v**3 / 24, -np.expm1(-safe) / safe)


def _lgamma_slope(y, eps):
    """``[ln Gamma(y + eps) - ln Gamma(y)] / eps`` for ``y >= 1``, ``eps > -1``; ``psi(y)`` at 0.

    Computed without subtracting the two log-gammas, so it is accurate to a few ulps relative
    to its size for every ``eps`` including 0 (where it is the digamma function). Arguments
    below :data:`_STIRLING_FROM` are shifted up with ``ln Gamma(z + 1) = ln Gamma(z) + ln z``
    (each step subtracts ``log1p(eps / z) / eps``); above it Stirling's series is written as a
    divided difference in ``eps``: ``(y - 1/2) log1p(eps/y)/eps + ln(y + eps) - 1 + sum_k c_k
    [(y + eps)^(1 - 2k) - y^(1 - 2k)] / eps``, the last bracket expanded as a sum of positive
    products so that nothing cancels.
    """
    y, eps = np.broadcast_arrays(np.asarray(y, dtype=float), np.asarray(eps, dtype=float))
    shift = np.ceil(np.maximum(_STIRLING_FROM - y, 0.0))
    # sum_j log1p(eps / (y + j)) / eps = log1p(eps v) / eps with 1 + eps v the product of the
    # (1 + eps / (y + j)), accumulated as v <- v + (1 + eps v) / (y + j): positive terms only.
    v = np.zeros(y.shape)
    for j in range(int(np.max(shift, initial=0.0, where=np.isfinite(shift)))):
        v = v + (j < shift) * (1 + eps * v) / (y + j)
    correction = -_log1p_ratio(eps * v) * v
    y = y + shift
    p, q = 1 / y, 1 / (y + eps)
    slope = (1 - p / 2) * _log1p_ratio(eps * p) + np.log(y + eps) - 1
    # [q^m - p^m] / eps = -p q h_(m-1)(p, q), h the complete homogeneous symmetric polynomial
    homogeneous, p_power = np.ones(y.shape), np.ones(y.shape)  # h_0, p^0
    for c in _STIRLING:  # the term of y^(1 - 2k), m = 2k - 1
        slope -= c * p * q * homogeneous
        for _ in range(2):  # h_(j+1) = q h_j + p^(j+1), twice: h_(m-1) -> h_(m+1)
            p_power = p_power * p
            homogeneous = q * homogeneous + p_power
    return slope + correction


def _expected_new(alpha, beta, gamma, delta, n):
    """E[X(n)] for a new customer, FHS10 eq. 7.

    ``alpha/(alpha+beta) delta/(gamma-1) [1 - Gamma(gamma+delta)/Gamma(1+delta)
    Gamma(1+delta+n)/Gamma(gamma+delta+n)]``. With ``eps = gamma - 1`` and ``y = 1 + delta``
    the log of the gamma ratio is ``-eps S``, ``S = s(y + n) - s(y)`` with ``s`` the slope
    ``[ln Gamma(y + eps) - ln Gamma(y)] / eps`` (:func:`_lgamma_slope`), so eq. 7 is
    ``alpha/(alpha+beta) delta S (1 - exp(-eps S)) / (eps S)``: no division by ``gamma - 1``
    and no difference of large log-gammas (which lost all accuracy for ``gamma`` near 1 and
    large ``delta``). At ``gamma = 1`` it is the limit ``delta [psi(1+delta+n) - psi(1+delta)]``.
    ``S`` is a difference of two slopes, each accurate to a few ulps: its relative error is
    about ``1e-16 ln(y) y / n``, below 1e-10 for ``delta <= 2e5``.
    """
    eps = gamma - 1
    slope = _lgamma_slope(1 + delta + n, eps) - _lgamma_slope(1 + delta, eps)
    return alpha / (alpha + beta) * delta * slope * _one_minus_exp_ratio(eps * slope)


def expected_purchases_new_customer(params: Mapping, n):
    """Expected transactions of a new customer in periods 1..n, FHS10 eq. 7."""
    return _expected_new(*(params[name] for name in PARAMS), n)


def expected_purchases(params: Mapping, n_future, x, t_x, n):
    """E[X(n, n + n*) | x, t_x, n]: expected transactions in the next ``n*`` periods, eq. 13.

    Written as P(alive in period n) times eq. 7 at ``(alpha+x, beta+n-x, gamma, delta+n)``,
    which is algebraically identical to eq. 13.
    """
    alive = np.exp(_log_p_alive_now(params, x, t_x, n))
    updated = _updated(params, x, n)
    return alive * _expected_new(*(updated[name] for name in PARAMS), n_future)


def probability_of_purchases(params: Mapping, x, n):
    """P(X(n) = x) for a new customer (FHS10, the distribution derived from eq. 5).

    Unlike the likelihood, it carries the binomial coefficients that count the orderings of
    the transactions, so it sums to 1 over ``x = 0..n`` (see [NC18]).

    ``C(n, x) B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n)/B(gamma, delta)
    + sum_{i=x}^{n-1} C(i, x) B(alpha+x, beta+i-x)/B(alpha, beta)
    B(gamma+1, delta+i)/B(gamma, delta)``; 0 for ``x > n``.
    """
    alpha, beta, gamma, delta = (params[name] for name in PARAMS)
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    x, n = np.broadcast_arrays(x, n)
    x_ok = np.minimum(x, n)
    log_norm = special.betaln(alpha, beta) + special.betaln(gamma, delta)

    def log_choose(i):
        return special.gammaln(i + 1) - special.gammaln(x_ok + 1) - special.gammaln(i - x_ok + 1)

    def log_term(i):
        return (
            log_choose(i)
            + special.betaln(alpha + x_ok, beta + i - x_ok)
            + special.betaln(gamma + 1, delta + i)
            - log_norm
        )

    first = log_choose(n) + _log_alive_branch(params, x_ok, n)
    log_p = _log_sum_over(first, log_term, x_ok, n, NUMPY)
    return np.where(x <= n, np.exp(log_p), 0.0)


def conditional_probability_of_purchases(params: Mapping, k, n_future, x, t_x, n):
    """P(X(n, n + n*) = k | x, t_x, n): ``k`` transactions in the next ``n*`` periods.

    ``delta(k = 0) (1 - P(alive in n)) + P(alive in n) P(X(n*) = k)`` with the new-customer
    PMF at ``(alpha + x, beta + n - x, gamma, delta + n)``.
    """
    alive = np.exp(_log_p_alive_now(params, x, t_x, n))
    future = probability_of_purchases(_updated(params, x, n), k, n_future)
    return np.where(np.asarray(k) == 0, 1 - alive, 0.0) + alive * future


def simulate(params: Mapping[str, float], n, rng: np.random.Generator) -> pd.DataFrame:
    """Draw discrete-time customer summaries from the BG/BB.

    Each customer gets ``p ~ Beta(alpha, beta)`` and ``theta ~ Beta(gamma, delta)``; the first
    period in which it is inactive is ``D ~ Geometric(theta)`` on {1, 2, ...}, so it is alive in
    periods ``1 .. D - 1``; in each such period up to ``n`` it transacts with probability ``p``.

    Parameters
    ----------
    params : mapping
        ``alpha``, ``beta``, ``gamma``, ``delta``.
    n : array_like of int
        Number of transaction opportunities of each customer (one entry per customer).
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    pandas.DataFrame
        ``frequency``, ``recency``, ``periods``, indexed by ``customer_id`` 0..N-1.
    """
    n = np.asarray(n, dtype=int)
    p = rng.beta(params["alpha"], params["beta"], size=n.shape)
    theta = rng.beta(params["gamma"], params["delta"], size=n.shape)
    first_dead = rng.geometric(theta)
    periods = np.arange(1, int(n.max(initial=0)) + 1)
    active = (periods < first_dead[:, None]) & (periods <= n[:, None])
    buys = active & (rng.random((n.size, periods.size)) < p[:, None])
    x = buys.sum(axis=1)
    t_x = np.where(buys, periods, 0).max(axis=1, initial=0)
    return pd.DataFrame(
        {"frequency": x.astype(float), "recency": t_x.astype(float), "periods": n.astype(float)},
        index=pd.RangeIndex(n.size, name="customer_id"),
    )


class BetaGeoBetaBinom(BaseModel):
    """BG/BB model for discrete purchase opportunities (Fader, Hardie & Shang 2010).

    Fit on a summary with columns ``frequency`` (x, periods with a transaction), ``recency``
    (t_x, the last such period) and ``periods`` (n), one row per customer, or one row per
    pattern with a count column passed as ``weights``.

    Examples
    --------
    >>> import models
    >>> from models.bgbb import BetaGeoBetaBinom
    >>> donations = models.datasets.load_donations()
    >>> bb = BetaGeoBetaBinom().fit(donations, weights="weights")
    >>> bb.params.round(3).tolist()
    [1.204, 0.75, 0.657, 2.783]
    """

    PARAMS = PARAMS
    INITIAL = {"alpha": 1.0, "beta": 1.0, "gamma": 1.0, "delta": 1.0}
    _loglik = staticmethod(loglik)

    def _fit_arrays(self, data: pd.DataFrame) -> dict[str, np.ndarray]:
        """Validated ``x``, ``t_x``, ``n`` (frequency, recency, periods)."""
        return validate_discrete_summary(data)

    def p_alive(self, data: pd.DataFrame, m: int = 1, *, interval=None, return_draws: bool = False):
        """P(alive in period n + m) for each customer (default: the next period)."""
        check_horizon(m, "m", whole=True, scalar=True)
        return self._per_customer(
            p_alive, data, "p_alive", interval=interval, return_draws=return_draws, m=m
        )

    def expected_purchases(
        self, n_future: int, data: pd.DataFrame, *, interval=None, return_draws: bool = False
    ):
        """Expected transactions of each customer in the next ``n_future`` periods (eq. 13).

        Parameters
        ----------
        n_future : int
            Number of future transaction opportunities.
        data : pandas.DataFrame
            Summary with ``frequency``, ``recency``, ``periods``.
        interval : float, optional
            Coverage of a central interval over parameter draws (needs draws).
        return_draws : bool
            Return the ``(chain, draw, customer)`` array instead of a summary.
        """
        check_horizon(n_future, "n_future", whole=True, scalar=True)
        return self._per_customer(
            expected_purchases,
            data,
            "expected_purchases",
            interval=interval,
            return_draws=return_draws,
            n_future=n_future,
        )

    def conditional_probability_of_purchases(
        self, k: int, n_future: int, data: pd.DataFrame, *, interval=None, return_draws=False
    ):
        """P(exactly ``k`` transactions in the next ``n_future`` periods) for each customer."""
        check_count(k, "k")
        check_horizon(n_future, "n_future", whole=True, scalar=True)
        return self._per_customer(
            conditional_probability_of_purchases,
            data,
            "probability_of_purchases",
            interval=interval,
            return_draws=return_draws,
            k=k,
            n_future=n_future,
        )

    def expected_purchases_new_customer(self, n, *, interval=None):
        """Expected transactions of a new customer over the first ``n`` periods (eq. 7)."""
        check_horizon(n, "n", whole=True)
        return self._population(
            expected_purchases_new_customer, n, "expected_purchases_new_customer", interval=interval
        )

    def probability_of_purchases(self, x: int, n, *, interval=None):
        """P(X(n) = x) for a new customer."""
        check_count(x, "x")
        check_horizon(n, "n", whole=True)
        return self._population(
            lambda params, n: probability_of_purchases(params, x, n),
            n,
            "probability_of_purchases",
            interval=interval,
        )

    def simulate(self, n, rng: np.random.Generator) -> pd.DataFrame:
        """Simulate customer summaries at the fitted point estimates (see :func:`simulate`)."""
        self._require_fitted()
        return simulate(self.params_.to_dict(), n, rng)
