"""Elementwise functions of Duals: the fields of the operation table but the power integral.

Each takes plain arrays straight to numpy and Duals through its derivative rule
(:mod:`models._autodiff` lists the rules); ``log 2F1`` differentiates through its
parameters by central differences (:func:`_directional_differences`, shared with
:mod:`models._autodiff._power_ops`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import special

from models._autodiff._dual import Dual, _align, _combine, _has_dual, _lift, _scale
from models._ops import NUMPY


def _unary(numpy_function: Callable, derivative: Callable) -> Callable:
    """Lift ``f`` with ``f'(x, f(x))`` to Duals (plain inputs go to numpy)."""

    def function(x):
        if not isinstance(x, Dual):
            return numpy_function(x)
        val = numpy_function(x.val)
        der = _scale(x.der, derivative(x.val, val)) if x.der else {}
        return Dual(val, der, x.domain)

    return function


def _log1mexp_derivative(x, val):
    """``d/dx log(1 - e^x) = -e^x / (1 - e^x) = -exp(x - val)``."""
    return -np.exp(x - val)


def _betaln(a, b):
    """``ln B(a, b)``; derivatives ``psi(a) - psi(a + b)`` and ``psi(b) - psi(a + b)``."""
    if not _has_dual(a, b):
        return special.betaln(a, b)
    a, b, domain = _align(a, b)
    val = special.betaln(a.val, b.val)
    if not (a.der or b.der):
        return Dual(val, None, domain)
    psi_ab = special.digamma(a.val + b.val)
    da = special.digamma(a.val) - psi_ab if a.der else None
    db = special.digamma(b.val) - psi_ab if b.der else None
    return Dual(val, _combine(a.der, b.der, da, db), domain)


def _logaddexp(a, b):
    if not _has_dual(a, b):
        return np.logaddexp(a, b)
    a, b, domain = _align(a, b)
    # m + log(e^(a-m) + e^(b-m)), m = max(a, b): the weights e^(a-m)/sum come for free.
    # (In-place on fresh arrays: on large inputs allocation costs more than arithmetic.)
    top = np.maximum(a.val, b.val)
    weight_a = np.exp(np.subtract(a.val, top))
    weight_b = np.exp(np.subtract(b.val, top))
    total = weight_a + weight_b
    val = np.log(total)
    val += top
    np.divide(weight_a, total, out=weight_a)
    np.divide(weight_b, total, out=weight_b)
    return Dual(val, _combine(a.der, b.der, weight_a, weight_b), domain)


def _where(condition, a, b):
    if not _has_dual(condition, a, b):
        return np.where(condition, a, b)
    condition, a, b, domain = _align(condition, a, b)
    cond = condition.val
    der = {}
    for i in a.der.keys() | b.der.keys():
        der[i] = np.where(cond, a.der.get(i, 0.0), b.der.get(i, 0.0))
    return Dual(np.where(cond, a.val, b.val), der, domain)


def _maximum(a, b):
    if not _has_dual(a, b):
        return np.maximum(a, b)
    return _where(_lift(a) >= b, a, b)


def _minimum(a, b):
    if not _has_dual(a, b):
        return np.minimum(a, b)
    return _where(_lift(a) <= b, a, b)


def _abs(x):
    if not isinstance(x, Dual):
        return np.abs(x)
    sign = np.sign(x.val)
    return Dual(np.abs(x.val), _scale(x.der, sign), x.domain)


#: Relative step of the central differences in the parameters of ``log 2F1`` and of the
#: power integral.
HYP2F1_STEP = 1e-5


def _directional_differences(
    function: Callable, args: Sequence[Dual], n_smooth: int, to_output: Callable | None = None
) -> dict:
    """Derivatives of ``function(*values)`` through its first ``n_smooth`` arguments.

    One central difference per model parameter, along the direction in which that parameter
    moves those arguments together (step ``HYP2F1_STEP (1 + sum |argument|)``; the
    remaining arguments are held at their values). ``to_output`` maps an array on the
    arguments' domain to the output's, when ``function`` returns on another domain.
    """
    values = [arg.val for arg in args]
    size = 1.0 + sum(np.abs(v) for v in values[:n_smooth])
    der: dict = {}
    for i in set().union(*(arg.der.keys() for arg in args[:n_smooth])):
        direction = [arg.der.get(i, 0.0) for arg in args[:n_smooth]]
        norm = sum(np.abs(d) for d in direction)
        h = HYP2F1_STEP * size / np.where(norm > 0, norm, 1.0)
        up = function(
            *(v + h * d for v, d in zip(values[:n_smooth], direction, strict=True)),
            *values[n_smooth:],
        )
        down = function(
            *(v - h * d for v, d in zip(values[:n_smooth], direction, strict=True)),
            *values[n_smooth:],
        )
        der[i] = (up - down) / (2 * (h if to_output is None else to_output(h)))
    return der


def _log_hyp2f1(a, b, c, z):
    """``log 2F1(a, b; c; z)`` with derivatives (see the module docstring)."""
    log_hyp2f1 = NUMPY.log_hyp2f1
    if not _has_dual(a, b, c, z):
        return log_hyp2f1(a, b, c, z)
    a, b, c, z, domain = _align(a, b, c, z)
    val = log_hyp2f1(a.val, b.val, c.val, z.val)
    der: dict = {}
    if z.der:
        shifted = log_hyp2f1(a.val + 1, b.val + 1, c.val + 1, z.val)
        dz = a.val * b.val / c.val * np.exp(shifted - val)
        der = _combine(der, z.der, None, dz)
    der = _combine(der, _directional_differences(log_hyp2f1, (a, b, c, z), 3))
    return Dual(val, der, domain)


def _sum_first_axis(x):
    """Sum over the leading axis (a quadrature's nodes), derivatives included."""
    if not isinstance(x, Dual):
        return np.sum(x, axis=0)
    shape = np.shape(x.val)
    der = {i: np.sum(np.broadcast_to(d, shape), axis=0) for i, d in x.der.items()}
    return Dual(np.sum(x.val, axis=0), der, x.domain)
