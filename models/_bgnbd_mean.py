"""E[X(t)] of a new BG/NBD customer, FHL05 eq. 7, accurate and fast over the whole domain.

Every conditional BG/NBD prediction is this expectation at updated parameters (see
:mod:`models.bgnbd`), evaluated for each (parameter draw, customer pattern, horizon): millions
of elements. :func:`expected_new` gives each element the first of three evaluations trusted
there; the first, for moderate horizons, is compiled and shares its series over runs of
elements (:mod:`models._hypergeometric`).

References
----------
.. [FHL05] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the
   Easy Way: An Alternative to the Pareto/NBD Model. Marketing Science 24(2), 275-284.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from scipy import special

from models import _hypergeometric, _threads

#: Eq. 7 through its series form (:func:`_moderate_w`) is used for ``w = t / alpha`` in this
#: range; beyond it the series needs many terms (``z = w / (1 + w)`` nears 1) and the
#: ``1 - z`` continuation converges fast instead. Small ``w`` is no exception: the series'
#: two parts keep the share ``r / (a + b - 1)`` of the first one as ``w -> 0``, which the trust
#: test checks (agreement with the quadrature: 8e-10 at worst over 20,000 random inputs with
#: ``w`` in 1e-10..0.01, median 3e-14); the quadrature took these at 22x the cost.
_MODERATE_W = (0.0, 5.0)
#: The series form is trusted where its largest term is at most this multiple of its sum, and
#: its two parts keep at least this share of the first: rounding errors of 1e-16 grow at most
#: to 1e-10 of the result.
_MAX_SERIES_LOSS, _MIN_DIFFERENCE_SHARE = 1e3, 1e-3
#: Beyond the moderate range, eq. 7 after the ``1 - z`` connection formula is trusted
#: where ``s = r - a + 1`` is at least this far from a whole number (its terms have poles
#: there, and the rounding of ``s`` is amplified by 1 / distance: 8.6e-8 measured at 1e-8) and
#: its bracket keeps at least this share of its largest term (measured worst case with both:
#: relative error 9e-11).
_MIN_POLE_DISTANCE, _MIN_BRACKET_SHARE = 0.01, 0.01
_BLOCK = 1 << 15  # elements per block of the 1 - z continuation
#: The first evaluation (compiled, it releases the GIL) runs in parts of at least
#: :data:`_ELEMENTS_PER_PART` elements, four per thread so that threads finish together, on
#: the threads :func:`models._threads.available` allows (the machine's cores, at most 8).
#: Every element is independent: the result is the same whatever the split. On 2 cores, CDNOW
#: x 4,000 draws x 12 horizons: 0.17 -> 0.11 s, and the 12-month CLV that makes that call
#: 1.47 -> 1.17 s.
_ELEMENTS_PER_PART, _PARTS_PER_THREAD = 1 << 16, 4


def expected_new(r, alpha, a, b, t):
    """E[X(t)] for a new customer, FHL05 eq. 7.

    Eq. 7 after Euler's transformation is ``(a + b - 1)/(a - 1) [1 - (1 - z)^(a - 1)
    2F1(a + b - 1 - r, a - 1; a + b - 1; z)]`` with ``z = t / (alpha + t)``. Each element
    takes the first of three evaluations that is trusted there, by measured accuracy (relative
    error below 1e-9 for ``r`` in 1e-3..1e3, ``a, b`` in 1e-2..1e3, ``w = t / alpha`` in
    1e-10..1e8):

    1. for ``w`` up to ``_MODERATE_W[1]``, the same expression with ``a - 1`` divided out
       (:func:`_moderate_w`), compiled;
    2. for larger ``w``, the 2F1 continued to ``1 - z = 1 / (1 + w)``
       (:func:`_expected_new_large_w`), whose two series converge fast there;
    3. everywhere else (``r - a`` near a whole number, cancellation) the mixture
       integral eq. 7 comes from, ``E_p[(1 - (1 + p w)^-r) / p]`` with ``p ~ Beta(a, b)``
       (FHL05 section 3), by :func:`_expected_new_by_quadrature`.

    Elements are evaluated in C order of the broadcast shape: put the axis along which only
    ``t`` or ``alpha`` varies last, and the first evaluation shares one series per run. On
    large inputs the first evaluation runs in parts on several threads
    (:func:`models._threads.available`).
    """
    shape, (r, alpha, a, b, t) = _hypergeometric.flat_broadcast(r, alpha, a, b, t)
    w = t / alpha
    threads, parts = _thread_parts(t.size)
    if len(parts) == 1:
        value, trusted = _moderate(r, alpha, a, b, t, w)
    else:
        with ThreadPoolExecutor(threads) as pool:
            done = list(
                pool.map(lambda s: _moderate(r[s], alpha[s], a[s], b[s], t[s], w[s]), parts)
            )
        value, trusted = (np.concatenate(column) for column in zip(*done, strict=True))
    todo = ~trusted
    if todo.any():
        large = np.flatnonzero(todo & (w > _MODERATE_W[1]))
        for idx in np.array_split(large, max(1, -(-large.size // _BLOCK))):  # blocks in cache
            large_value, good = _expected_new_large_w(r[idx], w[idx], a[idx], b[idx])
            value[idx] = np.where(good, large_value, 0.0)
            todo[idx] = ~good
        todo &= t > 0
        if todo.any():
            value[todo] = _expected_new_by_quadrature(r[todo], w[todo], a[todo], b[todo])
    return value.reshape(shape)


def _thread_parts(n: int) -> tuple[int, list[slice]]:
    """Threads to use, and equal consecutive parts of ``range(n)`` for them to share."""
    threads = _threads.available()
    if threads == 1:
        return 1, [slice(0, n)]
    count = max(1, min(threads * _PARTS_PER_THREAD, n // _ELEMENTS_PER_PART))
    bounds = np.linspace(0, n, count + 1).astype(int)
    parts = [slice(start, stop) for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]
    return min(threads, count), parts


def _moderate(r, alpha, a, b, t, w):
    """:func:`_moderate_w` on 1-d arrays, with the numpy functions it is passed."""
    with np.errstate(all="ignore"):  # untrusted elements are recomputed by the caller
        log_u = -np.log1p(w)  # ln(1 - z)
        x = (a - 1) * log_u
        return _moderate_w(r, alpha, a, b, t, log_u, x, np.expm1(x), np.exp(x), *_MODERATE_W)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _moderate_w(r, alpha, a, b, t, log_u, x, expm1_x, exp_x, w_low, w_high):  # pragma: no cover
    """Eq. 7 for moderate ``w = t / alpha``, 1-d arrays; ``(value, trusted)``.

    With ``c = a + b - 1``, ``e = a - 1``, ``L = ln(1 - z)`` and ``(a - 1)_k = e (a)_(k-1)``,
    the 2F1 of eq. 7 is ``1 + e S`` with ``S = (c - r) z / c  3F2(c - r + 1, a, 1; c + 1, 2;
    z)`` (DLMF 16.2.1), so ``E[X(t)] = c [-L (e^(e L) - 1) / (e L) - e^(e L) S]``: no division
    by ``a - 1``, so no cancellation as ``a`` nears 1. The caller passes ``L``, ``x = e L`` and
    ``expm1(x)`` and ``exp(x)`` (vectorised by numpy; here they would be scalar library calls;
    ``1 + expm1(x)`` would lose ``exp(x)`` for very negative ``x``). Elements
    outside ``[w_low, w_high]``, or where the series lost digits or the two parts cancel, come
    back untrusted (value 0); ``t = 0`` gives the exact value 0, trusted.
    """
    n = t.size
    z, total, largest = np.zeros(n), np.empty(n), np.empty(n)
    done = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        if w_low * alpha[i] <= t[i] <= w_high * alpha[i]:
            z[i] = t[i] / (alpha[i] + t[i])
    # Runs of equal (r, a, b) share the coefficients of the series.
    new_run = np.ones(n, dtype=np.bool_)
    for i in range(1, n):
        new_run[i] = r[i] != r[i - 1] or a[i] != a[i - 1] or b[i] != b[i - 1]
    starts = np.append(np.flatnonzero(new_run), n)
    for k in range(starts.size - 1):
        part, i = slice(starts[k], starts[k + 1]), starts[k]
        c = a[i] + b[i] - 1
        _hypergeometric.run(
            c - r[i] + 1, a[i], c + 1, 2.0, z[part], total[part], largest[part], done[part]
        )
    value = np.zeros(n)
    trusted = t == 0
    for i in range(n):
        if z[i] == 0 or not done[i] or largest[i] > _MAX_SERIES_LOSS * abs(total[i]):
            continue
        c, xi = a[i] + b[i] - 1, x[i]
        exprel = 1 + xi / 2 + xi * xi / 6 if abs(xi) < 1e-5 else expm1_x[i] / xi
        first = -log_u[i] * exprel
        difference = first - exp_x[i] * (c - r[i]) * z[i] / c * total[i]
        if abs(difference) >= _MIN_DIFFERENCE_SHARE * abs(first) and c * difference > 0:
            value[i] = c * difference
            trusted[i] = np.isfinite(value[i])
            if not trusted[i]:
                value[i] = 0.0
    return value, trusted


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
    if r.size == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    # The Gamma-function factors depend on (r, a, b) only: once per run of equal values.
    starts = np.flatnonzero(np.r_[True, (r[1:] != r[:-1]) | (a[1:] != a[:-1]) | (b[1:] != b[:-1])])
    lengths = np.diff(np.r_[starts, r.size])
    gammaln, sign = special.gammaln, special.gammasgn
    with np.errstate(all="ignore"):  # untrusted elements may overflow; they are discarded
        r0, a0, b0 = r[starts], a[starts], b[starts]
        c0, s0 = a0 + b0 - 1, r0 - a0 + 1
        log_g1 = gammaln(c0) + gammaln(s0) - gammaln(r0) - gammaln(b0)
        log_g2 = gammaln(c0) + gammaln(-s0) - gammaln(c0 - r0) - gammaln(a0 - 1)
        sign_1 = sign(c0) * sign(s0)
        sign_2 = sign(c0) * sign(-s0) * sign(c0 - r0) * sign(a0 - 1)
        log_g1, log_g2, sign_1, sign_2 = (
            np.repeat(v, lengths) for v in (log_g1, log_g2, sign_1, sign_2)
        )
        c, s = a + b - 1, r - a + 1
        log_u = -np.log1p(w)
        u = np.exp(log_u)
        log_g1 += (a - 1) * log_u
        log_g2 += r * log_u
        first, first_max, first_done = _hypergeometric.series(c - r, a - 1, a - r, u)
        second, second_max, second_done = _hypergeometric.series(r, b, 1 + s, u)
        g1, g2 = np.exp(log_g1), np.exp(log_g2)
        largest = np.maximum(g1 * first_max, g2 * second_max)
        bracket = 1 - sign_1 * g1 * first - sign_2 * g2 * second
        value = c / (a - 1) * bracket
        trusted = first_done & second_done & (np.abs(s - np.round(s)) >= _MIN_POLE_DISTANCE)
        trusted &= np.abs(bracket) >= _MIN_BRACKET_SHARE * np.maximum(largest, 1.0)
        trusted &= np.isfinite(value) & (value > 0)
    return value, trusted


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
