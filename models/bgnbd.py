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


#: Eq. 7 through scipy's ``hyp2f1`` is used for ``w = t / alpha`` in this range: there it is
#: accurate (relative error < 1e-10 measured when the bracket has not cancelled) and fast;
#: towards ``z = 1`` it slows down (on a busy 2-core machine: 3 us an element at ``w = 15``,
#: 70 us at ``w = 1000``) and loses digits (1.8e-8 measured at ``w = 4866``).
_CLOSED_FORM_W = (0.01, 5.0)
#: Below this value of ``|1 - (1 - z)^(a-1) 2F1(...)|`` the bracket of eq. 7 has cancelled.
_MIN_BRACKET = 1e-3
#: Beyond the closed-form range, eq. 7 after the ``1 - z`` connection formula is trusted
#: where ``s = r - a + 1`` is at least this far from a whole number (its terms have poles
#: there, and the rounding of ``s`` is amplified by 1 / distance: 8.6e-8 measured at 1e-8) and
#: its bracket keeps at least this share of its largest term (measured worst case with both:
#: relative error 9e-11).
_MIN_POLE_DISTANCE, _MIN_BRACKET_SHARE = 0.01, 0.01
_BLOCK = 1 << 15  # elements per block of the 1 - z continuation


def expected_new(r, alpha, a, b, t):
    """E[X(t)] for a new customer, FHL05 eq. 7.

    Eq. 7 after Euler's transformation is ``(a + b - 1)/(a - 1) [1 - (1 - z)^(a - 1)
    2F1(a + b - 1 - r, a - 1; a + b - 1; z)]`` with ``z = t / (alpha + t)``. Each element
    takes the first of three evaluations that is trusted there, by measured accuracy (relative
    error below 1e-9 for ``r`` in 1e-3..1e3, ``a, b`` in 1e-2..1e3, ``w = t / alpha`` in
    1e-10..1e8):

    1. scipy's ``hyp2f1`` for ``w`` in :data:`_CLOSED_FORM_W`, if finite and the bracket has
       not cancelled (:data:`_MIN_BRACKET`; at ``a = 1`` it is 0/0);
    2. for larger ``w``, the same 2F1 continued to ``1 - z = 1 / (1 + w)``
       (:func:`_expected_new_large_w`), whose two series converge fast there;
    3. everywhere else (small ``w``, ``a`` near 1, ``r - a`` near a whole number) the
       mixture integral eq. 7 comes from, ``E_p[(1 - (1 + p w)^-r) / p]`` with
       ``p ~ Beta(a, b)`` (FHL05 section 3), by :func:`_expected_new_by_quadrature`.
    """
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (r, alpha, a, b, t)))
    shape = arrays[0].shape
    r, alpha, a, b, t = (v.ravel() for v in arrays)
    w = t / alpha
    value = np.zeros(w.shape)
    todo = t > 0
    closed = todo & (w >= _CLOSED_FORM_W[0]) & (w <= _CLOSED_FORM_W[1])
    if closed.any():
        rc, ac, bc, zc = r[closed], a[closed], b[closed], t[closed] / (alpha + t)[closed]
        c = ac + bc - 1
        with np.errstate(all="ignore"):  # failures are detected below and recomputed
            bracket = 1 - (1 - zc) ** (ac - 1) * special.hyp2f1(c - rc, ac - 1, c, zc)
            closed_value = c / (ac - 1) * bracket
        good = np.isfinite(closed_value) & (closed_value > 0) & (np.abs(bracket) >= _MIN_BRACKET)
        value[closed] = np.where(good, closed_value, 0.0)
        todo[closed] = ~good
    large = np.flatnonzero(todo & (w > _CLOSED_FORM_W[1]))
    for idx in np.array_split(large, max(1, -(-large.size // _BLOCK))):  # blocks in cache
        large_value, good = _expected_new_large_w(r[idx], w[idx], a[idx], b[idx])
        value[idx] = np.where(good, large_value, 0.0)
        todo[idx] = ~good
    if todo.any():
        value[todo] = _expected_new_by_quadrature(r[todo], w[todo], a[todo], b[todo])
    return value.reshape(shape)


def _expected_new_large_w(r, w, a, b):
    """Eq. 7 with its 2F1 continued to ``1 - z`` (Abramowitz & Stegun 15.3.6), for 1-d arrays.

    With ``c = a + b - 1``, ``s = r - a + 1`` and ``u = 1 - z = 1 / (1 + w)``,
    ``(1 - z)^(a-1) 2F1(c - r, a - 1; c; z) = u^(a-1) G1 2F1(c - r, a - 1; a - r; u)
    + u^r G2 2F1(r, b; 1 + s; u)`` where ``G1 = Gamma(c) Gamma(s) / (Gamma(r) Gamma(b))`` and
    ``G2 = Gamma(c) Gamma(-s) / (Gamma(c - r) Gamma(a - 1))`` (log-gamma with signs).

    Returns
    -------
    value : numpy.ndarray
        E[X(t)], meaningful where ``trusted``.
    trusted : numpy.ndarray of bool
        Both series converged, the result is finite and positive, ``s`` is at least
        :data:`_MIN_POLE_DISTANCE` from a whole number and the bracket kept
        :data:`_MIN_BRACKET_SHARE` of its largest term (no cancellation); elsewhere the
        caller integrates instead.
    """
    c, s = a + b - 1, r - a + 1
    log_u = -np.log1p(w)
    u = np.exp(log_u)
    gammaln, sign = special.gammaln, special.gammasgn
    with np.errstate(all="ignore"):  # untrusted elements may overflow; they are discarded
        log_g1 = gammaln(c) + gammaln(s) - gammaln(r) - gammaln(b) + (a - 1) * log_u
        log_g2 = gammaln(c) + gammaln(-s) - gammaln(c - r) - gammaln(a - 1) + r * log_u
        first, first_max, first_done = _hyp2f1_series(c - r, a - 1, a - r, u)
        second, second_max, second_done = _hyp2f1_series(r, b, 1 + s, u)
        terms = (
            sign(c) * sign(s) * np.exp(log_g1) * first,
            sign(c) * sign(-s) * sign(c - r) * sign(a - 1) * np.exp(log_g2) * second,
        )
        largest = np.maximum(np.exp(log_g1) * first_max, np.exp(log_g2) * second_max)
        bracket = 1 - terms[0] - terms[1]
        value = c / (a - 1) * bracket
        trusted = first_done & second_done & (np.abs(s - np.round(s)) >= _MIN_POLE_DISTANCE)
        trusted &= np.abs(bracket) >= _MIN_BRACKET_SHARE * np.maximum(largest, 1.0)
        trusted &= np.isfinite(value) & (value > 0)
    return value, trusted


def _hyp2f1_series(alpha, beta, gamma, z, max_terms: int = 400):
    """``2F1(alpha, beta; gamma; z)`` by its power series for ``0 <= z < 1``, vectorised.

    Summed in blocks of 8 terms over the elements not yet done. An element is done once
    ``k > -gamma`` (a negative ``gamma`` makes terms near ``k = -gamma`` grow back), the term
    ratio is at most 1/2 and the last term is at most 1e-17 of the sum. A term that underflows
    before ``k = -gamma`` (its later growth would be lost) marks the element not done.

    Returns
    -------
    total, largest : numpy.ndarray
        The sum and the largest absolute term (1 for the first).
    done : numpy.ndarray of bool
        Converged within ``max_terms`` terms.
    """
    total, largest, term = np.ones_like(z), np.ones_like(z), np.ones_like(z)
    done, lost = np.zeros(z.shape, dtype=bool), np.zeros(z.shape, dtype=bool)
    left = np.arange(z.size)
    for start in range(0, max_terms, 8):
        a_, b_, g_, z_ = alpha[left], beta[left], gamma[left], z[left]
        t_, s_, big, gone = term[left], total[left], largest[left], lost[left]
        for k in range(start, start + 8):
            ratio = (a_ + k) * (b_ + k) / ((g_ + k) * (k + 1)) * z_
            t_ = t_ * ratio
            s_ = s_ + t_
            big = np.maximum(big, np.abs(t_))
            gone |= (np.abs(t_) < 1e-290) & (ratio != 0) & (k < -g_)
        term[left], total[left], largest[left], lost[left] = t_, s_, big, gone
        finished = (np.abs(t_) <= 1e-17 * np.abs(s_)) & (k >= -g_) & (np.abs(ratio) <= 0.5)
        done[left[finished]] = True
        left = left[~finished]
        if left.size == 0:
            break
    return total, largest, done & ~lost


#: Gauss-Legendre nodes per panel, and the panel counts an element may get.
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(10)
_PANEL_COUNTS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
#: Widest panel in ``v = logit(p)`` (the integrand is analytic within ``pi`` of the real
#: axis), and widest panel relative to the Beta(a, b) spread ``sqrt(1/a + 1/b)`` in ``v``.
_MAX_PANEL, _MAX_PANEL_SPREADS = 3.0, 2.0
#: The Beta log-density in ``v`` is cut where it is ``45 + ln(1 + r w)`` below its maximum:
#: the integrand is that density times ``(1 - (1 + p w)^-r) / p <= r w``, so what is cut off
#: is below e^-40 of the result even where the density's slope there is as small as 0.01.
_LOG_DENSITY_DROP = 45.0
#: Terms of the end series; the k-th is below (k + 1) 0.1^k of the first.
_SERIES_TERMS = 14
_CHUNK = 1 << 17  # elements x nodes evaluated at once


def _expected_new_by_quadrature(r, w, a, b):
    """``E_p[(1 - (1 + p w)^-r) / p]``, ``p ~ Beta(a, b)``, for 1-d arrays (FHL05 section 3).

    In ``v = logit(p)`` the integrand ``p^(a-1) (1-p)^b (1 - (1 + p w)^-r) / B(a, b)`` is
    smooth (analytic within ``pi`` of the real axis) with at most one hump; it is integrated
    by composite Gauss-Legendre over ``[v_lo, v_hi]``, with ``v_lo`` and ``v_hi`` where the
    Beta density has become negligible (:data:`_LOG_DENSITY_DROP`) or, if that lies further
    out, at ``p0`` and ``1 - q0``
    beyond which the two ends are integrated exactly term by term
    (:func:`_left_end_series`, :func:`_right_end_series`): this absorbs the singular
    densities of ``a, b < 1`` and the knee of ``(1 + p w)^-r`` near ``p = 1/w`` when ``w`` is
    large. The number of panels (from :data:`_PANEL_COUNTS`) keeps each no wider than
    :data:`_MAX_PANEL` and two Beta spreads, so concentrated Beta densities are resolved.
    """
    log_beta = special.betaln(a, b)
    mode, spread = np.log(a / b), np.sqrt(1 / a + 1 / b)
    floor = _log_beta_density(a, b, mode) - _LOG_DENSITY_DROP - np.log1p(r * w)
    cut_lo = _density_cut(a, b, mode - spread, floor)
    cut_hi = _density_cut(a, b, mode + spread, floor)
    p0 = 0.1 / np.maximum(np.maximum(w * (r + 1), np.abs(b - 1)), 1.0)
    q0 = 0.1 / np.maximum(np.maximum(np.abs(a - 2), r), 1.0)
    v_p0, v_q0 = special.logit(p0), np.log1p(-q0) - np.log(q0)
    v_lo = np.maximum(cut_lo, v_p0)
    v_hi = np.maximum(np.minimum(cut_hi, v_q0), v_lo)
    total = np.zeros_like(w)
    for use, series, end in (
        (cut_lo < v_p0, _left_end_series, p0),
        (cut_hi > v_q0, _right_end_series, q0),
    ):
        if use.any():
            total[use] += series(r[use], w[use], a[use], b[use], end[use], log_beta[use])
    width = v_hi - v_lo
    needed = width / np.minimum(_MAX_PANEL, _MAX_PANEL_SPREADS * spread)
    panels = np.array(_PANEL_COUNTS)[
        np.minimum(np.searchsorted(_PANEL_COUNTS, needed), len(_PANEL_COUNTS) - 1)
    ]
    for count in np.unique(panels):
        members = np.flatnonzero(panels == count)
        per_chunk = max(1, _CHUNK // (count * _GL_NODES.size))
        for idx in np.array_split(members, -(-members.size // per_chunk)):
            total[idx] += _panel_sum(
                r[idx], w[idx], a[idx], b[idx], log_beta[idx], v_lo[idx], width[idx], count
            )
    return total


def _panel_sum(r, w, a, b, log_beta, v_lo, width, count):
    """Composite Gauss-Legendre (``count`` equal panels) of the integrand in ``v = logit(p)``.

    Evaluated in place on one ``(elements, nodes)`` block: ``ln p = min(v, 0) -
    ln(1 + e^-|v|)``, ``ln(1 - p) = ln p - v``.
    """
    offsets = (np.arange(count)[:, None] + (_GL_NODES + 1) / 2).ravel() / count
    weights = np.tile(_GL_WEIGHTS / (2 * count), count)
    v = v_lo[:, None] + width[:, None] * offsets
    log_p = np.minimum(v, 0.0)
    log_p -= np.log1p(np.exp(-np.abs(v)))
    bought = np.exp(log_p)  # then 1 - (1 + p w)^-r, in place
    bought *= w[:, None]
    np.log1p(bought, out=bought)
    bought *= -r[:, None]
    np.expm1(bought, out=bought)
    log_density = (a + b - 1)[:, None] * log_p  # (a - 1) ln p + b ln(1 - p) - ln B(a, b)
    log_density -= b[:, None] * v
    log_density -= log_beta[:, None]
    integrand = np.exp(log_density, out=log_density)
    integrand *= bought
    return -width * (integrand @ weights)


def _log_beta_density(a, b, v):
    """``ln[p^a (1 - p)^b]`` at ``v = logit(p)``: the Beta density in ``v`` up to ``B(a, b)``."""
    log_p = -np.logaddexp(0.0, -v)
    return a * log_p + b * (log_p - v)


def _density_cut(a, b, start, target):
    """Where the (concave) log density in ``v`` falls to ``target``, on the side of ``start``.

    Newton's method on a concave function started beside the mode first overshoots, then
    approaches the root from outside, so every iterate stays on its side of the mode.
    """
    v = start
    for _ in range(4):
        slope = a - (a + b) * special.expit(v)
        v = v - (_log_beta_density(a, b, v) - target) / slope
    return v


def _left_end_series(r, w, a, b, p0, log_beta):
    """``int_0^p0 p^(a-1) (1-p)^(b-1) (1 - (1 + p w)^-r) / p dp / B(a, b)``, term by term.

    ``(1 - (1 + p w)^-r) / p = sum_j F_j p^j`` with ``F_0 = r w``,
    ``F_(j+1) / F_j = -w (r + j + 1) / (j + 2)``, and ``(1-p)^(b-1) = sum_k B_k p^k`` with
    ``B_(k+1) / B_k = (k + 1 - b) / (k + 1)``; with ``p0 <= 0.1 / max(w (r+1), |b-1|, 1)``
    each ratio times ``p0`` is at most 0.1. Integrating ``p^(a-1+k)`` gives
    ``p0^(a+k) / (a+k)``.
    """
    f_terms, b_terms = [r * w], [np.ones_like(w)]
    total = f_terms[0] / a
    for k in range(1, _SERIES_TERMS):
        f_terms.append(f_terms[-1] * (-w * p0) * (r + k) / (k + 1))
        b_terms.append(b_terms[-1] * p0 * (k - b) / k)
        coefficient = sum(f_terms[j] * b_terms[k - j] for j in range(k + 1))
        total = total + coefficient / (a + k)
    return np.exp(a * np.log(p0) - log_beta) * total


def _right_end_series(r, w, a, b, q0, log_beta):
    """The integral over ``p`` in ``[1 - q0, 1]``, term by term in ``q = 1 - p``.

    There the integrand is ``q^(b-1) (1-q)^(a-2) [1 - e (1 - theta q)^-r] / B(a, b)`` with
    ``e = (1 + w)^-r`` and ``theta = w / (1 + w)``. With ``A_k`` the coefficients of
    ``(1-q)^(a-2)`` and ``R_j`` those of ``(1 - theta q)^-r``, the bracketed product has
    coefficients ``(1 - e) A_k - e sum_(j>=1) A_(k-j) R_j`` (no cancellation of the leading
    1 when ``e`` is near 1); ``q0 <= 0.1 / max(|a-2|, r, 1)``.
    """
    log_e = -r * np.log1p(w)
    e, one_minus_e = np.exp(log_e), -np.expm1(log_e)
    theta = w / (1 + w)
    a_terms, r_terms = [np.ones_like(w)], [np.ones_like(w)]
    total = one_minus_e / b
    for k in range(1, _SERIES_TERMS):
        a_terms.append(a_terms[-1] * q0 * (k + 1 - a) / k)
        r_terms.append(r_terms[-1] * theta * q0 * (r + k - 1) / k)
        mixed = sum(a_terms[k - j] * r_terms[j] for j in range(1, k + 1))
        total = total + (one_minus_e * a_terms[k] - e * mixed) / (b + k)
    return np.exp(b * np.log(q0) - log_beta) * total


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
    x, T, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, T, t)))
    per_draw = all(np.ndim(v) == 0 or np.shape(v)[-1] == 1 for v in (r, alpha, a, b))
    if x.ndim != 1 or not per_draw:
        return alive * expected_new(r + x, alpha + T, a, b + x, t)
    # The new-customer term does not depend on t_x: evaluate it once per distinct (x, T, t)
    # (1M daily customers: 177,685 patterns but 6,790 (x, T) pairs). Parameters must then
    # be constant along the customer axis (draws x 1), as predictions pass them.
    keys, inverse = np.unique(np.stack([x, T, t]), axis=1, return_inverse=True)
    x, T, t = keys
    return alive * expected_new(r + x, alpha + T, a, b + x, t)[..., inverse.ravel()]


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
