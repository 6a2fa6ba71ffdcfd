"""Forward-mode automatic differentiation of a log-likelihood, written once against ``ops``.

A :class:`Dual` carries a value array and its derivatives with respect to the ``k`` model
parameters, stored sparsely (``{parameter index: array}``), so a term that depends on one
parameter costs one derivative array. :data:`DUAL` is an operation table with the fields of
:class:`models._ops.Ops`: running a model's unchanged ``loglik(params, data, ops=DUAL)`` with
Dual parameters returns the log-likelihood and its exact gradient in one pass, instead of the
``2k + 1`` likelihood evaluations of central finite differences.

Factored data
    Real summaries have few distinct values per column (1M simulated customers at daily
    resolution: 177,685 patterns, but 65 values of ``x``, 364 of ``T`` and ~6,800 distinct
    ``(x, T)`` pairs). A data column may enter as a constant Dual on its own *domain*: its
    distinct values plus the codes mapping patterns to them. Functions of one column (and
    parameters) are evaluated once per distinct value, functions of two columns once per
    distinct pair, and so on, while that saves work; only then are results gathered to the
    pattern axis. Values are identical elementwise; only the cost changes.

Derivative rules are the textbook ones: ``d gammaln = digamma``; ``d log 2F1 / dz =
(ab/c) 2F1(a+1, b+1; c+1; z) / 2F1`` (DLMF 15.5.1); its derivatives through ``a, b, c`` by
one central difference of that function alone per parameter reaching them, along the
parameter's direction (step ``1e-5 (1 + |a| + |b| + |c|)``; error ~1e-10 relative).
Comparisons (``x > 0``, ``alpha >= beta``) compare values and carry no derivative, as in any
automatic-differentiation system: ``where``/``maximum`` pick the derivative of the branch taken.

The code lives in private submodules; import from here (``from models import _autodiff``):

- :mod:`models._autodiff._dual`: :class:`Dual`, :class:`Domain` and the arithmetic;
- :mod:`models._autodiff._elementwise`: the elementwise functions, ``log 2F1`` included;
- :mod:`models._autodiff._power_ops`: the Pareto/NBD power integral;
- :mod:`models._autodiff._table`: :data:`DUAL`, :func:`factor_columns`,
  :func:`value_and_gradient` and :func:`gradient_for`.
"""

from models._autodiff._dual import FULL, Domain, Dual
from models._autodiff._dual import _gather as _gather
from models._autodiff._elementwise import HYP2F1_STEP
from models._autodiff._power_ops import (
    _log_power_integral_by_differences as _log_power_integral_by_differences,
)
from models._autodiff._table import DUAL, factor_columns, gradient_for, value_and_gradient

__all__ = [
    "DUAL",
    "FULL",
    "HYP2F1_STEP",
    "Domain",
    "Dual",
    "factor_columns",
    "gradient_for",
    "value_and_gradient",
]
