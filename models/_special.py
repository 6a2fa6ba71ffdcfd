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
"""

from __future__ import annotations

import numpy as np
from scipy import special


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
    >>> float(np.exp(log_hyp2f1_numpy(1.0, 1.0, 2.0, 0.5)))  # -log(1 - z) / z
    1.3862943611198906
    """
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, c, z)))
    a2, b2, log_prefactor = _euler_arguments(a, b, c, z, np.where, np.log1p)
    return log_prefactor + np.log(special.hyp2f1(a2, b2, c, z))


def log_hyp2f1_pytensor(a, b, c, z):
    """Pytensor twin of :func:`log_hyp2f1_numpy` (same transformation, symbolic)."""
    import pytensor.tensor as pt

    a2, b2, log_prefactor = _euler_arguments(a, b, c, z, pt.switch, pt.log1p)
    return log_prefactor + pt.log(pt.hyp2f1(a2, b2, c, z))
