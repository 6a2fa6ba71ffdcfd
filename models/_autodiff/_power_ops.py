"""The Pareto/NBD power integral ``ln int (alpha + tau)^-a (beta + tau)^-b d tau`` on Duals.

A fast path from the tails' series (:func:`_log_power_integral`) and the general path from
closed-form values and differences (:func:`_log_power_integral_by_differences`), which takes
the patterns the series cannot (:func:`_redo_columns`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models import _power_integral
from models._autodiff._dual import (
    FULL,
    Dual,
    _align,
    _array_domain,
    _combine,
    _gather,
    _has_dual,
    _lift,
    _union,
)
from models._autodiff._elementwise import _directional_differences
from models._ops import NUMPY


def _domains(alpha, a, beta, b, t0, t1):
    """The arguments as Duals, the exponents' domain, each tail's domain, the output domain.

    The tail at ``t0`` lives on the union of the parameters', the exponents' and ``t0``'s
    domains (for a Pareto/NBD fit: the distinct ``(x, t_x)``), likewise at ``t1`` (the
    distinct ``(x, T)``); the result on the union of both.
    """
    alpha, beta, t0, t1 = (_lift(v) for v in (alpha, beta, t0, t1))
    a, b, exponents = _align(a, b)
    parameters = _union(alpha.domain, beta.domain)
    tail_domains = [_union(_union(parameters, exponents), t.domain) for t in (t0, t1)]
    domain = _union(*tail_domains)
    for t in (t0, t1):
        domain = _union(domain, t.domain)
    return (alpha, a, beta, b, t0, t1), exponents, tail_domains, domain


def _log_power_integral(alpha, a, beta, b, t0, t1):
    """``ln I = ln int_{t0}^{t1} (alpha + tau)^-a (beta + tau)^-b d tau`` with derivatives.

    ``I = G(t0) - G(t1)``: each tail and its partial derivatives in ``alpha, beta, a, b`` come
    from one series (:func:`models._power_integral.log_tail_series`), evaluated on the tail's
    own domain (the distinct ``(x, t_x)`` and ``(x, T)`` of a Pareto/NBD fit), then combined
    on the patterns: with ``rho = G(t1) / G(t0)``,
    ``d ln I = (d ln G(t0) - rho d ln G(t1)) / (1 - rho)``. Patterns where the series does not
    apply (``z`` near 1) or the tails nearly cancel are evaluated by
    :func:`_log_power_integral_by_differences`, as the numpy value is. The limits are data and
    carry no derivatives.
    """
    if not _has_dual(alpha, a, beta, b, t0, t1):
        return NUMPY.log_power_integral(alpha, a, beta, b, t0, t1)
    (alpha, a, beta, b, t0, t1), exponents, tail_domains, domain = _domains(
        alpha, a, beta, b, t0, t1
    )
    tails = []
    for target, t in zip(tail_domains, (t0, t1), strict=True):
        # the exponents stay on their own (smaller) domain: the series' coefficients are
        # computed once per distinct exponent
        exponents_differ = exponents not in (None, FULL, target)
        log_g, partials, usable = _power_integral.log_tail_series(
            _gather(alpha.val, alpha.domain, target),
            a.val,
            _gather(beta.val, beta.domain, target),
            b.val,
            _gather(t.val, t.domain, target),
            index=exponents.map_to(target) if exponents_differ else None,
        )
        tails.append([_gather(v, target, domain) for v in (log_g, *partials, usable)])
    (log_g0, *partials0, usable0), (log_g1, *partials1, usable1) = tails
    t0_all, t1_all = (_gather(v.val, v.domain, domain) for v in (t0, t1))
    empty = t1_all <= t0_all
    log_ratio = log_g1 - log_g0
    with np.errstate(all="ignore"):
        remainder = -np.expm1(log_ratio)  # 1 - rho
        val = log_g0 + np.log(remainder)
        ratio = np.exp(log_ratio)
        partials = [
            np.where(empty, 0.0, (p0 - ratio * p1) / remainder)
            for p0, p1 in zip(partials0, partials1, strict=True)
        ]
    val = np.where(empty, 0.0, val)  # placeholder, as the numpy value
    good = usable0 & usable1 & np.isfinite(val)
    good &= log_ratio <= np.log(_power_integral.CLOSED_FORM_MAX_RATIO)
    der: dict = {}
    for source, partial in zip((alpha, beta, a, b), partials, strict=True):
        moved = {i: _gather(d, source.domain, domain) for i, d in source.der.items()}
        der = _combine(der, moved, None, partial)
    redo = ~(good | empty)
    if np.any(redo):
        # whole columns (every parameter point) of the patterns the series cannot take
        columns = np.flatnonzero(np.reshape(redo, (-1, np.shape(redo)[-1])).any(axis=0))
        val, der = _redo_columns(columns, val, der, (alpha, a, beta, b, t0, t1), domain)
    return Dual(val, der, domain)


def _redo_columns(columns, val, der: dict, args: Sequence[Dual], domain):
    """``val`` and ``der`` with the given pattern columns from the slow path."""

    def pick(dual: Dual) -> Dual:
        def cut(v):
            v = _gather(v, dual.domain, domain)
            return v if np.ndim(v) == 0 or np.shape(v)[-1] == 1 else v[..., columns]

        value = cut(dual.val)
        return Dual(value, {i: cut(d) for i, d in dual.der.items()}, _array_domain(value))

    alpha, a, beta, b, t0, t1 = (pick(v) for v in args)
    slow = _log_power_integral_by_differences(alpha, a, beta, b, t0.val, t1.val)
    shape = np.broadcast_shapes(np.shape(val), *(np.shape(d) for d in der.values()))
    val = np.array(np.broadcast_to(val, shape))
    val[..., columns] = slow.val
    out = {}
    for i in der.keys() | slow.der.keys():
        out[i] = np.array(np.broadcast_to(der.get(i, 0.0), shape))
        out[i][..., columns] = slow.der.get(i, 0.0)
    return val, out


def _log_power_integral_by_differences(alpha, a, beta, b, t0, t1):
    """:func:`_log_power_integral` from closed-form values only (the general path).

    The closed-form tails are evaluated on their own domains, then combined on the patterns.
    ``d ln I / d alpha = -a I(a + 1) / I`` and ``d ln I / d beta = -b I(b + 1) / I`` (the
    integrand's derivatives stay in the family); through the exponents ``a, b`` by central
    differences. The limits are data and carry no derivatives.
    """
    # The domains (and the fixed arguments on them) are the same for every exponent tried.
    (alpha, a, beta, b, t0, t1), exponents, tail_domains, domain = _domains(
        alpha, a, beta, b, t0, t1
    )

    def on(target, *values):
        return [_gather(v.val, v.domain, target) for v in values]

    tail_fixed = [
        on(target, alpha, beta, t) for target, t in zip(tail_domains, (t0, t1), strict=True)
    ]
    alpha_all, beta_all, t0_all, t1_all = on(domain, alpha, beta, t0, t1)

    def log_i(a_val, b_val):
        """``ln I`` at exponents ``a_val, b_val`` (on the exponents' domain), on ``domain``."""
        log_tails = []
        for target, (alpha_t, beta_t, t) in zip(tail_domains, tail_fixed, strict=True):
            a_t, b_t = (_gather(v, exponents, target) for v in (a_val, b_val))
            log_g = _power_integral.log_tail_closed(alpha_t, a_t, beta_t, b_t, t)
            log_tails.append(_gather(log_g, target, domain))
        a_all, b_all = (_gather(v, exponents, domain) for v in (a_val, b_val))
        return _power_integral.from_tails(
            *log_tails, alpha_all, a_all, beta_all, b_all, t0_all, t1_all
        )

    val = log_i(a.val, b.val)
    der: dict = {}
    # d ln I / d alpha = -a I(a + 1) / I and d ln I / d beta = -b I(b + 1) / I
    for shift, exponent, a_step, b_step in ((alpha, a, 1.0, 0.0), (beta, b, 0.0, 1.0)):
        if shift.der:
            shifted = log_i(a.val + a_step, b.val + b_step)
            scale = -_gather(exponent.val, exponents, domain) * np.exp(shifted - val)
            moved = {i: _gather(d, shift.domain, domain) for i, d in shift.der.items()}
            der = _combine(der, moved, None, scale)
    in_exponents = _directional_differences(
        log_i, (a, b), 2, to_output=lambda h: _gather(h, exponents, domain)
    )
    return Dual(val, _combine(der, in_exponents), domain)
