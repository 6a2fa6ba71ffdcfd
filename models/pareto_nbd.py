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

from models._ops import NUMPY, Ops
from models._purchase import ContinuousPurchaseModel
from models._validation import ValidationError

PARAMS = ("r", "alpha", "s", "beta")

#: The pmf's death-time integral is cut where its integrand is exp(-_PMF_DROP) of its peak, at
#: most _PMF_FAR from it in ln tau, found in at most _PMF_NEWTON_STEPS (4 suffice over r, s
#: 1e-3-1e4, n up to 3,000, t up to 1e6; CDNOW-like inputs stop after 2).
_PMF_DROP, _PMF_FAR, _PMF_NEWTON_STEPS = 30.0, 1e4, 8
#: Longest panel of the pmf integral in w = ln(1 + tau/m), and most panels either side of its
#: peak (singularities lie pi off the real axis, so a longer panel would lose digits).
_PMF_PANEL, _PMF_MAX_PANELS = 6.0, 8
#: Gauss-Legendre rule on [0, 1] used on each panel.
_PMF_NODES, _PMF_WEIGHTS = np.polynomial.legendre.leggauss(20)
_PMF_NODES, _PMF_WEIGHTS = (_PMF_NODES + 1) / 2, _PMF_WEIGHTS / 2
_FLOOR = 1e-280  # keeps Newton steps finite where a slope vanishes


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


def _positive_root(q2, q1, q0):
    """The root ``>= 0`` of ``q2 x^2 - q1 x - q0`` (``q2 > 0``, ``q0 >= 0``), no cancellation."""
    disc = np.hypot(q1, 2 * np.sqrt(q2 * q0))
    large = q1 > 0
    denominator = np.where(large, 2 * q2, disc - q1)
    return np.where(large, q1 + disc, 2 * q0) / np.where(denominator > 0, denominator, 1.0)


def _death_cuts(r, alpha, s, beta, n: int, t):
    """Times ``tau_lo < tau_hi <= t`` outside which :func:`_log_death_integral` is negligible.

    In ``v = ln tau`` the log of ``tau^(n+1) (alpha+tau)^-(r+n) (beta+tau)^-(s+1)`` is concave,
    its slope falling from ``n + 1`` to ``-(r + s)``, with its peak at the positive root of
    ``(r+s) tau^2 - ((n-s) alpha + (1-r) beta) tau - (n+1) alpha beta``. Newton's method finds
    where it is :data:`_PMF_DROP` below the peak (or reaches ``t``): on a concave function each
    step after the first stays outside the cut, so each neglected tail is below
    ``exp(-_PMF_DROP)`` of the integral.
    """
    a, c, k = r + n, s + 1, n + 1

    def log_f(v):  # the log-integrand in v and its slope
        tau = np.exp(v)
        value = k * v - a * np.log(alpha + tau) - c * np.log(beta + tau)
        return value, k - a * tau / (alpha + tau) - c * tau / (beta + tau)

    v_t = np.log(t)
    q1 = (n - s) * alpha + (1 - r) * beta
    v_top = np.minimum(np.log(_positive_root(r + s, q1, k * alpha * beta)), v_t)
    top, slope = log_f(v_top)
    tau = np.exp(v_top)
    width = np.sqrt(
        2 * _PMF_DROP / (a * alpha * tau / (alpha + tau) ** 2 + c * beta * tau / (beta + tau) ** 2)
    )
    v_end = np.minimum(v_t + 1, 700.0)  # right-hand iterates stay within exp's range
    lo = v_top - np.minimum(width, _PMF_DROP / np.maximum(slope, _FLOOR))
    lo, hi = np.maximum(lo, v_top - _PMF_FAR), np.minimum(v_top + width, v_end)
    for step in range(_PMF_NEWTON_STEPS):
        value, slope_lo = log_f(lo)
        gap_lo = value - top + _PMF_DROP
        value, slope_hi = log_f(hi)
        gap_hi = value - top + _PMF_DROP
        done_hi = (np.abs(gap_hi) < 0.5) | ((hi >= v_t) & (gap_hi >= 0))
        if step and np.all(np.abs(gap_lo) < 0.5) and np.all(done_hi):
            break  # both outside their cuts, within 0.5 of the target drop
        lo = np.clip(lo - gap_lo / np.maximum(slope_lo, _FLOOR), v_top - _PMF_FAR, v_top)
        hi = np.clip(hi - gap_hi / np.minimum(slope_hi, -_FLOOR), v_top, v_end)
    return np.exp(lo), np.exp(np.minimum(hi, v_t))


def _log_death_integral(r, alpha, s, beta, n: int, t):
    """``ln int_0^t (tau/alpha)^n (1 + tau/alpha)^-(r+n) (1 + tau/beta)^-(s+1) d tau``.

    Taken between the cuts of :func:`_death_cuts` in ``w = ln(1 + tau/m)``,
    ``m = min(alpha, beta)``: like ``tau`` near 0 (``tau^n`` stays a polynomial), like
    ``ln tau`` for large ``tau`` (power-law tails become exponentials). The factor with the
    smaller shift is then ``exp(-e w)``; only the other one bends, with singularities ``pi``
    off the real axis. The log-integrand is concave in ``w``: it is split at its peak (again a
    quadratic's root), each side into panels no longer than :data:`_PMF_PANEL`, each
    integrated by Gauss-Legendre. Unlike the closed form of [N028] (``B1`` less ``n + 1``
    hypergeometric terms), nothing cancels.
    """
    tau_lo, tau_hi = _death_cuts(r, alpha, s, beta, n, t)
    small_alpha = alpha <= beta
    m, big = np.minimum(alpha, beta), np.maximum(alpha, beta)
    e_small = np.where(small_alpha, r + n, s + 1) - 1  # less 1: the Jacobian m + tau
    e_big = np.where(small_alpha, s + 1, r + n)
    q1 = (n - e_big) * m + (n - e_small) * big
    tau_peak = np.clip(_positive_root(r + s, q1, n * m * big), tau_lo, tau_hi)
    w_lo, w_peak, w_hi = (np.log1p(tau / m) for tau in (tau_lo, tau_peak, tau_hi))
    # The log-integrand in w, shifts scaled out (no large terms cancel):
    # n ln(tau/alpha) - e_small w - e_big ln(1 + tau/big), with tau = m expm1(w).
    peak = -e_small * w_peak - e_big * np.log1p(tau_peak / big)
    peak = peak + n * np.log(tau_peak / alpha) if n else peak
    columns = (m / big, m / alpha, e_small, e_big, peak)
    to_big, to_alpha, e_small_, e_big_, peak_ = (np.reshape(v, (-1, 1)) for v in columns)
    total = np.zeros(peak.size)
    for start, end in ((w_lo, w_peak), (w_peak, w_hi)):
        span = np.max(end - start, initial=0.0, where=np.isfinite(end - start))
        pieces = int(np.clip(np.ceil(span / _PMF_PANEL), 1, _PMF_MAX_PANELS))
        length = np.reshape((end - start) / pieces, (-1, 1))
        for i in range(pieces):  # in place: this loop is most of the pmf's time
            w = length * _PMF_NODES
            w += np.reshape(start, (-1, 1)) + i * length
            grown = np.expm1(w)
            values = np.log1p(grown * to_big)
            values *= -e_big_
            w *= e_small_
            values -= w
            if n:
                values += n * np.log(grown * to_alpha)
            values -= peak_
            total += length[:, 0] * (np.exp(values, out=values) @ _PMF_WEIGHTS)
    return np.reshape(np.log(total), np.shape(peak)) + peak + np.log(m)


def probability_of_purchases(params: Mapping, n: int, t):
    """P(X(t) = n) for a new customer ([N028] at ``x = t_x = T = 0``).

    Alive throughout ``(0, t]``: ``NB(n; r, alpha/(alpha+t)) (beta/(beta+t))^s``; or ``n``
    purchases, then death at ``tau`` in ``(0, t]``: ``Gamma(r+n) s alpha^r beta^s / (Gamma(r) n!)
    int_0^t tau^n (alpha+tau)^-(r+n) (beta+tau)^-(s+1) d tau``, the integral (times
    ``alpha^-r beta^-(s+1)``) of :func:`_log_death_integral`. Relative error at most
    2.3e-11 against 40-digit mpmath quadrature over 1,305 cases with ``r, s, alpha, beta`` in
    1e-3-1e4, ``n`` up to 3,000 and ``t`` in 1e-6-1e6 (measured offline; the tests check 13
    stored extreme cases to 1e-9, sums to 1 and means against expected purchases).
    """
    n = int(n)
    r, alpha, s, beta = (np.asarray(params[name], dtype=float) for name in PARAMS)
    t = np.asarray(t, dtype=float)
    r, alpha, s, beta, t = np.broadcast_arrays(r, alpha, s, beta, t)
    positive = t > 0
    t_safe = np.where(positive, t, 1.0)
    log_nb = special.gammaln(r + n) - special.gammaln(r) - special.gammaln(n + 1)
    alive = (
        -r * np.log1p(t_safe / alpha)
        + n * (np.log(t_safe) - np.log(alpha + t_safe))
        - s * np.log1p(t_safe / beta)
    )
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        died = _log_death_integral(r, alpha, s, beta, n, t_safe)
    died += np.log(s) - np.log(beta)
    return np.where(positive, np.exp(log_nb + alive) + np.exp(log_nb + died), float(n == 0))


def conditional_probability_of_purchases(params: Mapping, n: int, t, x, t_x, T):
    """P(Y(t) = n | x, t_x, T): purchases in ``(T, T + t]``, [N028].

    Dead at ``T`` with probability ``1 - P(alive)``; if alive, by the memoryless lifetime and
    the posterior of ``(lambda, mu)`` the customer is a new customer with parameters
    ``(r + x, alpha + T, s, beta + T)``: ``delta(n = 0)(1 - P(alive)) + P(alive) P(X(t) = n)``.
    """
    r, alpha, s, beta = (params[name] for name in PARAMS)
    log_alive = _log_p_alive(params, x, t_x, T)
    updated = {"r": r + x, "alpha": alpha + T, "s": s + 0 * x, "beta": beta + T}
    dead = np.where(n == 0, -np.expm1(log_alive), 0.0)
    return dead + np.exp(log_alive) * probability_of_purchases(updated, n, t)


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
