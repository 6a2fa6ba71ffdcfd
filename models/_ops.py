"""Operation tables: the vocabulary a log-likelihood is written in.

Every model writes its log-likelihood once, as a function of an ``ops`` table, so the very
same text runs on numpy/scipy (maximum likelihood, predictions) and on pytensor (inside a
PyMC model, where gradients come from automatic differentiation). A table is a frozen
record of functions with numpy's broadcasting semantics.

``NUMPY`` is built at import; the pytensor table is built on first use by :func:`pytensor_ops`
so that importing :mod:`models` never imports pytensor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy import special

from models import _power_integral, _special


@dataclass(frozen=True)
class Ops:
    """Elementwise functions a log-likelihood may use (all broadcast like numpy)."""

    name: str
    log: Callable
    log1p: Callable
    exp: Callable
    expm1: Callable
    gammaln: Callable
    betaln: Callable
    logaddexp: Callable
    log1mexp: Callable
    log_hyp2f1: Callable
    log_power_integral: Callable
    sum_first_axis: Callable
    where: Callable
    maximum: Callable
    minimum: Callable
    abs: Callable


def _log1mexp_numpy(x):
    """``log(1 - exp(x))`` for ``x <= 0``, accurate near 0 and for large negative x."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(x > -np.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


NUMPY = Ops(
    name="numpy",
    log=np.log,
    log1p=np.log1p,
    exp=np.exp,
    expm1=np.expm1,
    gammaln=special.gammaln,
    betaln=special.betaln,
    logaddexp=np.logaddexp,
    log1mexp=_log1mexp_numpy,
    log_hyp2f1=_special.log_hyp2f1_numpy,
    log_power_integral=_power_integral.log_power_integral_numpy,
    sum_first_axis=lambda x: np.sum(x, axis=0),
    where=np.where,
    maximum=np.maximum,
    minimum=np.minimum,
    abs=np.abs,
)


@cache
def pytensor_ops() -> Ops:
    """Return the pytensor operation table (imports pytensor on first call)."""
    import pytensor.tensor as pt

    def betaln(a, b):
        return pt.gammaln(a) + pt.gammaln(b) - pt.gammaln(a + b)

    def logaddexp(a, b):
        # pt.logaddexp is log(exp(a) + exp(b)): rewrites stabilise its value but not its
        # gradient, NaN at |a| ~ 1000 (a customer with 2,000 purchases). Equal arguments
        # (also equal infinities, where a - b is NaN) take (a + b) / 2 + ln 2: exact, with
        # the gradient 1/2 for each.
        larger = pt.maximum(a, b)
        spread = pt.log1p(pt.exp(-pt.abs(a - b)))
        return pt.switch(pt.eq(a, b), (a + b) / 2 + np.log(2.0), larger + spread)

    table = Ops(
        name="pytensor",
        log=pt.log,
        log1p=pt.log1p,
        exp=pt.exp,
        expm1=pt.expm1,
        gammaln=pt.gammaln,
        betaln=betaln,
        logaddexp=logaddexp,
        log1mexp=pt.log1mexp,
        log_hyp2f1=_special.log_hyp2f1_pytensor,
        log_power_integral=lambda *args: _power_integral.log_power_integral_quadrature(
            *args, ops=table
        ),
        sum_first_axis=lambda x: pt.sum(x, axis=0),
        where=pt.switch,
        maximum=pt.maximum,
        minimum=pt.minimum,
        abs=pt.abs,
    )
    return table
