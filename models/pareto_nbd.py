"""Pareto/NBD: Poisson purchases with exponential lifetimes, both heterogeneous.

References
----------
.. [SMC87] Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting Your
   Customers: Who Are They and What Will They Do Next? Management Science 33(1), 1-24.
.. [FH05] Fader, P. S. & Hardie, B. G. S. (2005). A Note on Deriving the Pareto/NBD Model
   and Related Expressions (note 009). Equation numbers below refer to this note.
.. [FHL05] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using Iso-Value
   Curves for Customer Base Analysis. Journal of Marketing Research 42(4), 415-430
   (discounted expected residual transactions, eq. 2).
.. [N028] Fader, P. S. & Hardie, B. G. S. (2006). Deriving the Conditional PMF of the
   Pareto/NBD Model (note 028): the new-customer pmf is its ``x = t_x = T = 0`` case.

The model: while active, a customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)``; the
lifetime is exponential with rate ``mu ~ Gamma(s, beta)``, independent of ``lambda``. Data per
customer: ``x`` repeat purchases, the last at ``t_x``, observed for ``T`` time units since the
first purchase.

Given survival to ``T``, ``lambda | data ~ Gamma(r + x, alpha + T)`` and
``mu | data ~ Gamma(s, beta + T)``; the conditional predictions below are new-customer
expressions at these updated parameters, weighted by P(alive).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import integrate, special

from models import _special
from models._ops import NUMPY, Ops
from models._purchase import ContinuousPurchaseModel
from models._validation import ValidationError

PARAMS = ("r", "alpha", "s", "beta")

#: Gauss-Legendre rule on [0, 1] for the pmf integral (where the closed form cancels).
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(64)
_NODES, _WEIGHTS = (_NODES + 1) / 2, _WEIGHTS / 2
#: Below this value of (B1 - sum) / B1 the closed-form pmf loses digits; quadrature is used.
_PMF_CANCELLATION = 1e-5


def _likelihood_terms(params: Mapping, data: Mapping, ops: Ops):
    """The pieces of [FH05] eq. 18: ``ln L = A1 + ln(exp(first) + delta(T > t_x) exp(second))``.

    - ``A1 = ln Gamma(r + x) - ln Gamma(r) + r ln alpha + s ln beta``
    - ``first = -(r + x) ln(alpha + T) - s ln(beta + T)`` (alive at T)
    - ``second = ln s + ln int_{t_x}^T (alpha + tau)^-(r+x) (beta + tau)^-(s+1) d tau`` (died
      at ``tau`` in ``(t_x, T]``; the integral is ``A0 / (r + s + x)`` of eqs. 19-20, evaluated
      by ``ops.log_power_integral``: see :mod:`models._power_integral`).

    Rows with ``t_x = T`` have no death term; the integral gives them a finite placeholder,
    masked here, so no NaN can reach a gradient.
    """
    r, alpha, s, beta = (params[name] for name in PARAMS)
    x, t_x, T = data["x"], data["t_x"], data["T"]
    a1 = ops.gammaln(r + x) - ops.gammaln(r) + r * ops.log(alpha) + s * ops.log(beta)
    first = -(r + x) * ops.log(alpha + T) - s * ops.log(beta + T)
    has_a0 = T > t_x
    second = ops.log(s) + ops.log_power_integral(alpha, r + x, beta, s + 1, t_x, T)
    return a1, first, second, has_a0


def loglik(params: Mapping, data: Mapping, ops: Ops = NUMPY):
    """Per-customer log-likelihood, [FH05] eq. 18 with ``A0`` from eqs. 19-20, in log space.

    ``L = Gamma(r+x) alpha^r beta^s / Gamma(r)
    [(alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) A0]``.
    """
    a1, first, second, has_a0 = _likelihood_terms(params, data, ops)
    return a1 + ops.where(has_a0, ops.logaddexp(first, second), first)


def _log_p_alive(params: Mapping, x, t_x, T):
    """``ln P(alive at T | x, t_x, T)`` = ``first - ln(exp(first) + exp(second))``."""
    data = {"x": x, "t_x": t_x, "T": T}
    with np.errstate(divide="ignore"):
        _, first, second, has_a0 = _likelihood_terms(params, data, NUMPY)
    return np.where(has_a0, -np.logaddexp(0.0, second - first), 0.0)


def p_alive(params: Mapping, x, t_x, T):
    """P(alive at T | x, t_x, T), [FH05] eq. 36.

    ``1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0)``; equal to 1 when ``t_x = T`` (a
    purchase at the very end of observation).
    """
    return np.exp(_log_p_alive(params, x, t_x, T))


def _survival_integral(s, u):
    """``(1 - (1 + u)^-(s - 1)) / (s - 1)``, finite through the removable point ``s = 1``.

    Times ``b``, this is ``E[integral_0^t exp(-mu tau) d tau]`` for ``mu ~ Gamma(s, b)``,
    ``u = t / b``.
    """
    log1p_u = np.log1p(u)
    e = s - 1
    near_one = np.abs(e) < 1e-8
    e_safe = np.where(near_one, 1.0, e)
    return np.where(
        near_one, log1p_u * (1 - e * log1p_u / 2), -np.expm1(-e_safe * log1p_u) / e_safe
    )


def expected_purchases_new_customer(params: Mapping, t):
    """Expected repeat purchases of a new customer in ``(0, t]``, [FH05] eq. 27.

    ``r beta / (alpha (s - 1)) [1 - (beta / (beta + t))^(s - 1)]``.
    """
    r, alpha, s, beta = (params[name] for name in PARAMS)
    return r / alpha * beta * _survival_integral(s, np.asarray(t, dtype=float) / beta)


def expected_purchases(params: Mapping, t, x, t_x, T):
    """E[Y(t) | x, t_x, T]: expected purchases in ``(T, T + t]``, [FH05] eq. 41.

    ``P(alive) (r + x)(beta + T) / ((alpha + T)(s - 1)) [1 - ((beta + T)/(beta + T + t))^(s-1)]``.
    """
    r, alpha, s, beta = (params[name] for name in PARAMS)
    rate = (r + x) / (alpha + T) * (beta + T)
    return p_alive(params, x, t_x, T) * rate * _survival_integral(s, t / (beta + T))


def _log_discounted_survival(s, z):
    """``ln K(s, z)`` with ``K = int_0^inf exp(-z t) (1 + t)^-s dt = z^(s-1) U(s, s; z)``.

    ``U`` is the confluent hypergeometric function of the second kind
    (``scipy.special.hyperu``); where scipy fails (e.g. ``s = 50``, ``z = 0.1``) the integral is
    computed by quadrature in ``w = ln(1 + t)``, split at the integrand's mode.
    """
    s, z = np.broadcast_arrays(np.asarray(s, dtype=float), np.asarray(z, dtype=float))
    with np.errstate(all="ignore"):
        value = (s - 1) * np.log(z) + np.log(special.hyperu(s, s, z))
    failed = ~np.isfinite(value)
    if failed.any():
        value = np.array(value, copy=True)
        for i in map(tuple, np.argwhere(failed)):
            value[i] = _log_discounted_survival_quadrature(float(s[i]), float(z[i]))
    return value


def _log_discounted_survival_quadrature(s: float, z: float) -> float:
    """One value of :func:`_log_discounted_survival` by quadrature (fallback)."""
    mode = np.log(max((1 - s) / z, 1.0)) if s < 1 else 0.0

    def log_h(w):
        with np.errstate(over="ignore"):  # exp(-inf) = 0 far in the tail
            return -z * np.expm1(w) + (1 - s) * w

    shift = log_h(mode)
    pieces = [(0.0, mode), (mode, np.inf)] if mode > 0 else [(0.0, np.inf)]
    total = sum(
        integrate.quad(
            lambda w: np.exp(log_h(w) - shift), lo, hi, epsabs=0.0, epsrel=1e-12, full_output=1
        )[0]
        for lo, hi in pieces
    )
    return float(np.log(total) + shift) if total > 0 else np.nan


def dert(params: Mapping, discount_rate, x, t_x, T):
    """Discounted expected residual transactions, [FHL05] eq. 2.

    ``alpha^r beta^s delta^(s-1) Gamma(r+x+1) U(s, s; delta(beta+T))
    / (Gamma(r) (alpha+T)^(r+x+1) L)``, evaluated as
    ``P(alive) (r+x)/(alpha+T) (beta+T) K(s, delta(beta+T))`` with
    ``K(s, z) = z^(s-1) U(s, s; z)`` (:func:`_log_discounted_survival`): the expected rate
    given alive times ``E[1/(mu + delta)]`` for ``mu ~ Gamma(s, beta + T)``, in log space.

    Parameters
    ----------
    discount_rate : float
        Continuously compounded discount rate per time unit ``delta > 0`` (15 % a year is
        ``ln(1.15) / 52 = 0.0027`` per week).
    """
    r, alpha, s, beta = (params[name] for name in PARAMS)
    b = beta + T
    log_k = _log_discounted_survival(s, discount_rate * b)
    log_rate = np.log(r + x) - np.log(alpha + T) + np.log(b)
    return np.exp(_log_p_alive(params, x, t_x, T) + log_rate + log_k)


def _log_hyp2f1_scipy(a, b, c, z):
    """``log 2F1`` after Euler's transformation, scipy only (NaN where scipy fails)."""
    a2, b2, log_prefactor = _special._euler_arguments(a, b, c, z, np.where, np.log1p)
    return log_prefactor + np.log(special.hyp2f1(a2, b2, c, z))


def _log_pmf_second_closed(r, alpha, s, beta, n, t):
    """Closed form of the dies-in-``(0, t]`` term of P(X(t) = n), [N028] with x = T = 0.

    ``alpha^r beta^s B(r+n, s+1)/B(r, s) [B1 - sum_{i=0}^n Gamma(r+s+i)/Gamma(r+s) t^i/i! B2(i)]``
    with ``B1 = 2F1(r+s, b; r+s+n+1; |alpha-beta|/m) / m^(r+s)`` and
    ``B2(i) = 2F1(r+s+i, b; r+s+n+1; |alpha-beta|/(m+t)) / (m+t)^(r+s+i)``, ``m`` and ``b``
    as in the likelihood. Returns the log of the term and ``(B1 - sum) / B1``; NaN where
    scipy's 2F1 fails (no slow fallback here: the caller then uses the quadrature).
    """
    m = np.maximum(alpha, beta)
    gap = np.abs(alpha - beta)
    b = np.where(alpha >= beta, s + 1, r + n)
    c = r + s + n + 1
    log_b1 = _log_hyp2f1_scipy(r + s, b, c, gap / m) - (r + s) * np.log(m)
    i = np.arange(n + 1)
    e = (r + s)[..., None] + i
    log_b2 = (
        special.gammaln(e)
        - special.gammaln(r + s)[..., None]
        + i * np.log(t)[..., None]
        - special.gammaln(i + 1)
        + _log_hyp2f1_scipy(e, b[..., None], c[..., None], (gap / (m + t))[..., None])
        - e * np.log(m + t)[..., None]
    )
    log_ratio = special.logsumexp(log_b2, axis=-1) - log_b1
    log_left = NUMPY.log1mexp(np.minimum(log_ratio, -1e-300))
    log_c = r * np.log(alpha) + s * np.log(beta) + special.betaln(r + n, s + 1)
    return log_c - special.betaln(r, s) + log_b1 + log_left, np.exp(log_left)


def _log_pmf_second_quadrature(r, alpha, s, beta, n, t):
    """The term of :func:`_log_pmf_second_closed` as an integral over the time of death.

    ``Gamma(r+n) s alpha^r beta^s / (Gamma(r) n!) int_0^t tau^n (alpha+tau)^-(r+n)
    (beta+tau)^-(s+1) d tau``, by 64-point Gauss-Legendre in ``w = ln(1 + tau / m)``,
    ``m = min(alpha, beta)``, where the integrand is smooth on a unit scale whatever ``t / m``.
    """
    m = np.minimum(alpha, beta)[..., None]
    w = np.log1p(t / m[..., 0])[..., None] * _NODES
    log_tau = np.log(m) + np.log(np.expm1(w))
    log_integrand = (
        n * log_tau
        - (r + n)[..., None] * np.logaddexp(np.log(alpha)[..., None], log_tau)
        - (s + 1)[..., None] * np.logaddexp(np.log(beta)[..., None], log_tau)
        + np.log(m)
        + w
        + np.log(_WEIGHTS)
    )
    return (
        special.gammaln(r + n)
        - special.gammaln(r)
        - special.gammaln(n + 1)
        + np.log(s)
        + r * np.log(alpha)
        + s * np.log(beta)
        + np.log(np.log1p(t / m[..., 0]))
        + special.logsumexp(log_integrand, axis=-1)
    )


def probability_of_purchases(params: Mapping, n: int, t):
    """P(X(t) = n) for a new customer ([N028] at ``x = t_x = T = 0``).

    The first term is alive throughout ``(0, t]``:
    ``NB(n; r, alpha/(alpha+t)) (beta/(beta+t))^s``; the second, dying in ``(0, t]`` after ``n``
    purchases, is the closed form of :func:`_log_pmf_second_closed`, except where its bracket
    cancels to below ``1e-5`` of ``B1`` (short horizons, larger n) or scipy's 2F1 fails or
    disagrees with the exact integral of :func:`_log_pmf_second_quadrature` (relative 1e-9),
    which is used there instead.
    """
    n = int(n)
    r, alpha, s, beta = (np.asarray(params[name], dtype=float) for name in PARAMS)
    t = np.asarray(t, dtype=float)
    r, alpha, s, beta, t = np.broadcast_arrays(r, alpha, s, beta, t)
    positive = t > 0
    t_safe = np.where(positive, t, 1.0)
    log_first = (
        special.gammaln(r + n)
        - special.gammaln(r)
        - special.gammaln(n + 1)
        - r * np.log1p(t_safe / alpha)
        + n * (np.log(t_safe) - np.log(alpha + t_safe))
        - s * np.log1p(t_safe / beta)
    )
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        closed, left = _log_pmf_second_closed(r, alpha, s, beta, n, t_safe)
    quadrature = _log_pmf_second_quadrature(r, alpha, s, beta, n, t_safe)
    # scipy's 2F1 can also be silently wrong (c - a - b a whole number, z near 1, large
    # parameters): the closed form is kept only where it agrees with the integral.
    trusted = (left > _PMF_CANCELLATION) & (np.abs(closed - quadrature) < 1e-9)
    second = np.where(trusted, closed, quadrature)
    return np.where(positive, np.exp(log_first) + np.exp(second), float(n == 0))


def conditional_probability_of_purchases(params: Mapping, n: int, t, x, t_x, T):
    """P(Y(t) = n | x, t_x, T): purchases in ``(T, T + t]``, [N028].

    Dead at ``T`` with probability ``1 - P(alive)``; if alive, by the memoryless lifetime and
    the posterior of ``(lambda, mu)`` the customer is a new customer with parameters
    ``(r + x, alpha + T, s, beta + T)``: ``delta(n = 0)(1 - P(alive)) + P(alive) P(X(t) = n)``.
    """
    r, alpha, s, beta = (params[name] for name in PARAMS)
    alive = p_alive(params, x, t_x, T)
    updated = {"r": r + x, "alpha": alpha + T, "s": s + 0 * x, "beta": beta + T}
    return np.where(n == 0, 1 - alive, 0.0) + alive * probability_of_purchases(updated, n, t)


def simulate(params: Mapping[str, float], T, rng: np.random.Generator) -> pd.DataFrame:
    """Draw customer summaries from the Pareto/NBD.

    Each customer gets ``lambda ~ Gamma(r, alpha)``, ``mu ~ Gamma(s, beta)`` and a lifetime
    ``tau ~ Exponential(mu)``; purchases form a Poisson process on ``[0, min(tau, T)]``, so
    ``x ~ Poisson(lambda min(tau, T))`` and ``t_x``, the largest of ``x`` uniform points on
    that interval, is ``min(tau, T) Beta(x, 1)``.

    Parameters
    ----------
    params : mapping
        ``r``, ``alpha``, ``s``, ``beta``.
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
    mu = rng.gamma(params["s"], 1 / params["beta"], size=T.shape)
    with np.errstate(divide="ignore"):
        lifetime = rng.standard_exponential(size=T.shape) / mu
    active = np.minimum(lifetime, T)
    x = rng.poisson(lam * active)
    has = x > 0
    t_x = np.zeros_like(T)
    t_x[has] = active[has] * rng.beta(x[has], 1.0)
    return pd.DataFrame(
        {"frequency": x.astype(float), "recency": t_x, "T": T},
        index=pd.RangeIndex(T.size, name="customer_id"),
    )


class ParetoNBD(ContinuousPurchaseModel):
    """Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987).

    Fit on a summary with columns ``frequency`` (x), ``recency`` (t_x) and ``T``, one row per
    customer indexed by customer id (see :func:`models.rfm_summary`).

    Examples
    --------
    >>> import models
    >>> from models.pareto_nbd import ParetoNBD
    >>> cal = models.datasets.load_cdnow_summary()
    >>> pn = ParetoNBD().fit(cal)
    >>> pn.params[["r", "alpha"]].round(3).tolist()
    [0.553, 10.578]
    """

    PARAMS = PARAMS
    INITIAL = {"r": 1.0, "alpha": 1.0, "s": 1.0, "beta": 1.0}
    TIME_SCALED = ("alpha", "beta")
    _loglik = staticmethod(loglik)

    def dert(
        self,
        discount_rate: float,
        data: pd.DataFrame,
        *,
        interval=None,
        return_draws: bool = False,
    ):
        """Discounted expected residual transactions of each customer (FHL05 JMR eq. 2).

        ``discount_rate`` is continuously compounded, per time unit of the summary.
        """
        if not np.isfinite(discount_rate) or discount_rate <= 0:
            raise ValidationError(
                "discount_rate must be > 0 per time unit (e.g. 0.0027 a week), "
                f"got {discount_rate}."
            )
        return self._per_customer(
            dert,
            data,
            "dert",
            interval=interval,
            return_draws=return_draws,
            discount_rate=discount_rate,
        )
