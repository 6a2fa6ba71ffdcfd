"""Numerically stable special functions shared by the models.

The Gauss hypergeometric function appears in the Pareto/NBD likelihood and in several
closed-form predictions. Evaluated naively, ``2F1(a, b; c; z)`` overflows for the large
first parameters that frequent buyers produce (``a = r + s + x`` with x in the hundreds)
when ``z`` approaches 1. We evaluate its logarithm after Euler's transformation
(Abramowitz & Stegun 15.3.3)::

    2F1(a, b; c; z) = (1 - z)^(c - a - b) 2F1(c - a, c - b; c; z),

used whenever ``c - a - b < 0``. For ``a, b, c > 0``, ``c - a > 0``, ``c - b > 0`` and
``0 <= z < 1`` every series term of the transformed function is positive and the function is
bounded by ``(1 - z)^-(...)`` of modest size, so its logarithm is finite.

``scipy.special.hyp2f1`` returns NaN in parts of this domain (``c - a - b`` a whole number,
e.g. ``s = 1`` in the Pareto/NBD, with ``z`` near 1; large ``a`` with ``z`` near 1). Those
elements, and only those, are recomputed from Euler's integral (DLMF 15.6.1) by adaptive
quadrature (:func:`_log_hyp2f1_quadrature`); finite scipy results are returned unchanged.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, special


def _euler_arguments(a, b, c, z, where, log1p):
    """Arguments of the better-conditioned side of Euler's transformation."""
    excess = c - a - b
    use_euler = excess < 0
    a2 = where(use_euler, c - a, a)
    b2 = where(use_euler, c - b, b)
    log_prefactor = where(use_euler, excess * log1p(-z), 0.0 * z)
    return a2, b2, log_prefactor


def log_hyp2f1_numpy(a, b, c, z):
    """Log of the Gauss hypergeometric function for positive parameters and ``0 <= z < 1``.

    Parameters
    ----------
    a, b, c : array_like
        Positive parameters with ``c > a`` or ``c - a - b >= 0`` so that the transformed
        series has positive terms (true of every use in this package).
    z : array_like
        Argument in ``[0, 1)``.

    Returns
    -------
    numpy.ndarray
        ``log 2F1(a, b; c; z)``, broadcast over the inputs.

    Examples
    --------
    >>> float(np.exp(log_hyp2f1_numpy(1.0, 1.0, 2.0, 0.5)))  # -log(1 - z) / z = 2 ln 2
    1.38629436111989
    """
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, c, z)))
    a2, b2, log_prefactor = _euler_arguments(a, b, c, z, np.where, np.log1p)
    value = np.asarray(special.hyp2f1(a2, b2, c, z))
    failed = ~(np.isfinite(value) & (value > 0))
    log_value = np.log(np.where(failed, 1.0, value))
    if failed.any():
        log_value = np.array(log_value, copy=True)
        log_value[failed], unconverged = _log_hyp2f1_series(
            a2[failed], b2[failed], c[failed], z[failed]
        )
        for i in map(tuple, np.argwhere(failed)[unconverged]):
            log_value[i] = _log_hyp2f1_quadrature(a2[i], b2[i], c[i], z[i])
    return log_prefactor + log_value


#: Largest number of series terms summed before an element is left to quadrature.
SERIES_MAX_TERMS = 2_000_000
_SERIES_BLOCK = 512


def _log_hyp2f1_series(a, b, c, z) -> tuple[np.ndarray, np.ndarray]:
    """Log of the hypergeometric series summed term by term, vectorised over elements.

    For the (Euler-transformed) positive parameters used here every term is positive, so the
    sum is accumulated in log space in blocks of terms for all elements at once. After term
    ``t_n`` the remaining terms have ratios at most ``q = max(last ratio, z) < 1`` (ratios
    tend to ``z`` monotonically once ``n`` is large), so the tail is at most
    ``t_n q / (1 - q)``; an element stops when that is below ``1e-16`` of its sum.

    Returns
    -------
    log_sum : numpy.ndarray
        ``log 2F1`` for every element (meaningless where not converged).
    unconverged : numpy.ndarray of bool
        Elements still short of that accuracy after :data:`SERIES_MAX_TERMS` terms.
    """
    log_sum = np.zeros(z.shape)
    log_term = np.zeros(z.shape)
    active = np.ones(z.shape, dtype=bool)
    for start in range(0, SERIES_MAX_TERMS, _SERIES_BLOCK):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        n = start + np.arange(_SERIES_BLOCK, dtype=float)[:, None]
        ratio = (a[idx] + n) * (b[idx] + n) / ((c[idx] + n) * (n + 1)) * z[idx]
        log_terms = log_term[idx] + np.cumsum(np.log(ratio), axis=0)
        log_sum[idx] = np.logaddexp(log_sum[idx], special.logsumexp(log_terms, axis=0))
        log_term[idx] = log_terms[-1]
        q = np.maximum(ratio[-1], z[idx])
        with np.errstate(divide="ignore"):
            log_tail = log_terms[-1] + np.log(q) - np.log1p(-q)
        done = (q < 1) & (log_tail < log_sum[idx] + np.log(1e-16))
        active[idx[done]] = False
    return log_sum, active


def _log_hyp2f1_quadrature(a: float, b: float, c: float, z: float) -> float:
    """``log 2F1(a, b; c; z)`` from Euler's integral, for one point where scipy fails.

    ``2F1 = 1/B(b, c-b) int_0^1 u^(b-1) (1-u)^(c-b-1) (1-zu)^-a du`` for ``c > b > 0`` (the
    roles of ``a`` and ``b`` are swapped if needed; NaN outside that domain). An end-point
    singularity (``b < 1`` at 0, ``c - b < 1`` at 1) is left to the quadrature's algebraic
    weight on the piece touching that end; the integral is also split at 1/2 and at the mode
    of the remaining (bounded) factors, found on a grid dense near both ends, and scaled by
    their largest value so nothing overflows.
    """
    if not c > b > 0:
        a, b = b, a
    if not (np.isfinite(a) and c > b > 0 and 0 <= z < 1):
        return np.nan
    p = c - b - 1
    left_singular, right_singular = b < 1, p < 0

    def log_f(u, left: bool, right: bool):
        with np.errstate(divide="ignore"):  # log(0) at an end point: exp(-inf) = 0 there
            out = -a * np.log1p(-z * u)
            if left:
                out = out + (b - 1) * np.log(u)
            if right:
                out = out + p * np.log1p(-u)
        return out

    tail = np.geomspace(1e-15, 0.5, 120)
    grid = np.concatenate([tail, np.linspace(0.0, 1.0, 201)[1:-1], 1 - tail])
    bounded = log_f(grid, not left_singular, not right_singular)
    shift = bounded.max()
    mode = grid[np.argmax(bounded)]
    cuts = sorted({0.0, 0.5, 1.0} | ({mode} if 1e-9 < mode < 1 - 1e-9 else set()))
    total = 0.0
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        weight_left = left_singular and lo == 0.0
        weight_right = right_singular and hi == 1.0
        total += integrate.quad(
            lambda u, wl=weight_left, wr=weight_right: np.exp(log_f(u, not wl, not wr) - shift),
            lo,
            hi,
            weight="alg" if weight_left or weight_right else None,
            wvar=(b - 1 if weight_left else 0.0, p if weight_right else 0.0),
            epsabs=0.0,
            epsrel=1e-12,
            limit=200,
            full_output=1,
        )[0]
    if not total > 0:
        return np.nan
    return float(np.log(total) + shift - special.betaln(b, c - b))


def log_hyp2f1_pytensor(a, b, c, z):
    """Pytensor twin of :func:`log_hyp2f1_numpy` (same transformation, symbolic)."""
    import pytensor.tensor as pt

    a2, b2, log_prefactor = _euler_arguments(a, b, c, z, pt.switch, pt.log1p)
    return log_prefactor + pt.log(pt.hyp2f1(a2, b2, c, z))
