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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy import special

from models import _power_integral
from models._ops import NUMPY, Ops


class Domain:
    """The axis a Dual's arrays run along: the distinct combinations of some data columns.

    ``codes`` maps each pattern to its combination, ``first`` each combination to the first
    pattern having it; both ``None`` for the full pattern axis (:data:`FULL`). A Dual whose
    domain is ``None`` has no pattern axis (parameters, scalars). Domains of one data set
    share a :class:`_Domains` registry, which builds the domain of a union of columns.
    """

    __slots__ = ("columns", "codes", "first", "registry", "maps")

    def __init__(self, columns=None, codes=None, first=None, registry=None) -> None:
        self.columns = columns
        self.codes = codes
        self.first = first
        self.registry = registry
        self.maps: dict = {}

    def map_to(self, target: Domain) -> np.ndarray:
        """Position in this domain of each element of ``target`` (a domain of more columns)."""
        key = id(target)
        if key not in self.maps:
            if target.codes is None:
                self.maps[key] = self.codes
            else:
                if target.first is None:
                    _, target.first = np.unique(target.codes, return_index=True)
                self.maps[key] = self.codes[target.first]
        return self.maps[key]


FULL = Domain()


class _Domains:
    """Registry of the domains of one data set: one per set of columns, built on demand.

    The domain of a union of columns is used only while it has at most ``max_share`` of the
    patterns' length; beyond that it is :data:`FULL` (gathering would cost more than it saves).
    """

    def __init__(self, n: int, max_share: float) -> None:
        self.n = n
        self.max_share = max_share
        self.cache: dict = {}

    def make(self, columns: frozenset, codes: np.ndarray, first=None) -> Domain:
        domain = Domain(columns, codes, first, self)
        self.cache[columns] = domain
        return domain

    def union(self, a: Domain, b: Domain) -> Domain:
        columns = a.columns | b.columns
        if columns not in self.cache:
            import pandas as pd

            key = a.codes.astype(np.int64) * (int(b.codes.max()) + 1) + b.codes
            codes, uniques = pd.factorize(key, sort=False)
            if uniques.size > self.max_share * self.n:
                self.cache[columns] = FULL
            else:
                # factorize numbers combinations by first appearance: where the running
                # maximum of the codes steps up is each combination's first pattern.
                steps = np.diff(np.maximum.accumulate(codes), prepend=-1)
                self.make(columns, codes, np.flatnonzero(steps > 0))
        return self.cache[columns]


def _union(a: Domain | None, b: Domain | None) -> Domain | None:
    """The domain of an operation on arrays of domains ``a`` and ``b``."""
    if a is None or a is b:
        return b
    if b is None:
        return a
    if a is FULL or b is FULL or a.registry is not b.registry:
        return FULL
    return a.registry.union(a, b)


def _gather(array, source: Domain | None, target: Domain | None):
    """``array`` (on ``source``) expanded to ``target``, a domain of more columns."""
    shape = getattr(array, "shape", ())
    if source is None or source is target or not shape or shape[-1] == 1:
        return array
    return np.take(array, source.map_to(target), axis=-1)


def _array_domain(array) -> Domain | None:
    """Domain of a plain numpy operand: none if it has no pattern axis, else the full one."""
    return None if np.ndim(array) == 0 or np.shape(array)[-1] == 1 else FULL


class Dual:
    """A value with derivatives w.r.t. the model parameters (forward-mode AD).

    Parameters
    ----------
    val : numpy.ndarray
        The value.
    der : dict
        ``{parameter index: d val / d parameter}``; missing indices mean zero.
    domain : Domain, optional
        The axis the last dimension runs along (see :class:`Domain`).
    """

    __slots__ = ("val", "der", "domain")
    # ndarray <op> Dual then defers to Dual's reflected operators; numpy ufuncs refuse Duals.
    __array_ufunc__ = None

    def __init__(self, val, der: dict | None = None, domain: Domain | None = None) -> None:
        self.val = val
        self.der = {} if der is None else der
        self.domain = domain

    def __array__(self, dtype=None, copy=None):
        """Data (no derivatives) become a plain array on the pattern axis; Duals refuse."""
        if self.der:
            raise TypeError("a Dual with derivatives cannot become a numpy array")
        return np.asarray(_gather(self.val, self.domain, FULL), dtype=dtype)

    def __repr__(self) -> str:
        return f"Dual(val={self.val!r}, der={self.der!r})"

    # -------------------------------------------------------------- arithmetic
    def __add__(self, other):
        a, b, domain = _align(self, other)
        return Dual(a.val + b.val, _combine(a.der, b.der), domain)

    __radd__ = __add__

    def __sub__(self, other):
        a, b, domain = _align(self, other)
        return Dual(a.val - b.val, _combine(a.der, b.der, subtract=True), domain)

    def __rsub__(self, other):
        b, a, domain = _align(self, other)
        return Dual(a.val - b.val, _combine(a.der, b.der, subtract=True), domain)

    def __neg__(self):
        return Dual(-self.val, {i: -d for i, d in self.der.items()}, self.domain)

    def __pos__(self):
        return self

    def __mul__(self, other):
        a, b, domain = _align(self, other)
        return Dual(a.val * b.val, _combine(a.der, b.der, b.val, a.val), domain)

    __rmul__ = __mul__

    def __truediv__(self, other):
        a, b, domain = _align(self, other)
        return _divide(a, b, domain)

    def __rtruediv__(self, other):
        b, a, domain = _align(self, other)
        return _divide(a, b, domain)

    def __pow__(self, other):
        a, b, domain = _align(self, other)
        return _power(a, b, domain)

    def __rpow__(self, other):
        b, a, domain = _align(self, other)
        return _power(a, b, domain)

    # -------------------------------------------------------------- comparisons (no derivative)
    def _compare(self, other, compare: Callable):
        a, b, domain = _align(self, other)
        return Dual(compare(a.val, b.val), None, domain)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    __hash__ = None

    def __and__(self, other):
        return self._compare(other, np.logical_and)

    __rand__ = __and__

    def __or__(self, other):
        return self._compare(other, np.logical_or)

    __ror__ = __or__

    def __invert__(self):
        return Dual(np.logical_not(self.val), None, self.domain)


def _lift(value) -> Dual:
    if isinstance(value, Dual):
        return value
    value = np.asarray(value)
    return Dual(value, None, _array_domain(value))


def _align(*values) -> tuple:
    """Lift operands to Duals on one common domain (gathering where domains differ).

    Returns the aligned Duals followed by their domain.
    """
    duals = [v if isinstance(v, Dual) else _lift(v) for v in values]
    target = None
    for d in duals:
        target = _union(target, d.domain)
    out = []
    for d in duals:
        if d.domain is None or d.domain is target:
            out.append(d)
        else:
            der = {i: _gather(v, d.domain, target) for i, v in d.der.items()}
            out.append(Dual(_gather(d.val, d.domain, target), der, target))
    return (*out, target)


def _combine(der_a: dict, der_b: dict, scale_a=None, scale_b=None, subtract=False) -> dict:
    """``scale_a * der_a +- scale_b * der_b`` sparse over parameter indices (None: scale 1).

    Sums go in place into arrays made here (never into the inputs, which other Duals share):
    on large inputs, allocating a temporary costs more than the arithmetic.
    """
    out = {}
    fresh = set()
    for i, d in der_a.items():
        if scale_a is None:
            out[i] = d
        else:
            out[i] = d * scale_a
            fresh.add(i)
    for i, d in der_b.items():
        term = d if scale_b is None else d * scale_b
        if i not in out:
            if not subtract:
                out[i] = term
            elif scale_b is None:
                out[i] = -term
            else:
                out[i] = np.negative(term, out=term)
            continue
        acc = out[i]
        same_shape = getattr(acc, "shape", None) == getattr(term, "shape", ())
        if same_shape and i in fresh:
            (np.subtract if subtract else np.add)(acc, term, out=acc)
        elif same_shape and scale_b is not None and not subtract:
            out[i] = np.add(term, acc, out=term)
        else:
            out[i] = acc - term if subtract else acc + term
    return out


def _divide(a: Dual, b: Dual, domain) -> Dual:
    val = a.val / b.val
    if not b.der:
        return Dual(val, {i: d / b.val for i, d in a.der.items()}, domain)
    inverse = 1.0 / b.val
    return Dual(val, _combine(a.der, b.der, inverse, val * inverse, subtract=True), domain)


def _power(a: Dual, b: Dual, domain) -> Dual:
    val = a.val**b.val
    der = {}
    if a.der:
        der = _scale(a.der, b.val * a.val ** (b.val - 1))
    if b.der:
        der = _combine(der, b.der, None, val * np.log(a.val))
    return Dual(val, der, domain)


def _scale(der: dict, factor) -> dict:
    return {i: d * factor for i, d in der.items()}


def _has_dual(*values) -> bool:
    return any(isinstance(v, Dual) for v in values)


# ------------------------------------------------------------------ elementwise functions
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
    alpha, beta, t0, t1 = (_lift(v) for v in (alpha, beta, t0, t1))
    a, b, exponents = _align(a, b)
    parameters = _union(alpha.domain, beta.domain)
    tail_domains = [_union(_union(parameters, exponents), t.domain) for t in (t0, t1)]
    domain = _union(*tail_domains)
    for t in (t0, t1):
        domain = _union(domain, t.domain)
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
    alpha, beta, t0, t1 = (_lift(v) for v in (alpha, beta, t0, t1))
    a, b, exponents = _align(a, b)
    # The domains (and the fixed arguments on them) are the same for every exponent tried.
    parameters = _union(alpha.domain, beta.domain)
    tail_domains = [_union(_union(parameters, exponents), t.domain) for t in (t0, t1)]
    domain = _union(*tail_domains)
    for t in (t0, t1):
        domain = _union(domain, t.domain)

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


def _sum_first_axis(x):
    """Sum over the leading axis (a quadrature's nodes), derivatives included."""
    if not isinstance(x, Dual):
        return np.sum(x, axis=0)
    shape = np.shape(x.val)
    der = {i: np.sum(np.broadcast_to(d, shape), axis=0) for i, d in x.der.items()}
    return Dual(np.sum(x.val, axis=0), der, x.domain)


DUAL = Ops(
    name="dual",
    log=_unary(np.log, lambda x, v: 1.0 / x),
    log1p=_unary(np.log1p, lambda x, v: 1.0 / (1.0 + x)),
    exp=_unary(np.exp, lambda x, v: v),
    expm1=_unary(np.expm1, lambda x, v: v + 1.0),
    gammaln=_unary(special.gammaln, lambda x, v: special.digamma(x)),
    betaln=_betaln,
    logaddexp=_logaddexp,
    log1mexp=_unary(NUMPY.log1mexp, _log1mexp_derivative),
    log_hyp2f1=_log_hyp2f1,
    log_power_integral=_log_power_integral,
    sum_first_axis=_sum_first_axis,
    where=_where,
    maximum=_maximum,
    minimum=_minimum,
    abs=_abs,
)


# ------------------------------------------------------------------ likelihood and gradient
def _column_codes(data: Mapping[str, np.ndarray], max_share: float) -> dict:
    """``name -> (codes, unique values)`` of the columns with few distinct values.

    A column qualifies when its number of distinct values is at most ``max_share`` of its
    length (otherwise gathering would cost more than it saves).
    """
    import pandas as pd

    out = {}
    for name, column in data.items():
        column = np.asarray(column)
        if column.ndim != 1 or column.size < 16:
            continue
        sample = column[:: max(1, column.size // 4096)]
        if np.unique(sample).size > max(max_share, 0.5) * sample.size:
            continue  # visibly too many distinct values: skip the hashing
        codes, uniques = pd.factorize(column, sort=False)
        if uniques.size <= max_share * column.size:
            out[name] = (codes, np.asarray(uniques, dtype=column.dtype))
    return out


def _factored(data: Mapping[str, np.ndarray], codes: Mapping, max_share: float) -> dict:
    """``data`` with the columns in ``codes`` as constant Duals on their own domains."""
    n = len(next(iter(codes.values()))[0]) if codes else 0
    registry = _Domains(n, max_share)
    out = dict(data)
    for name, (column_codes, uniques) in codes.items():
        out[name] = Dual(uniques, None, registry.make(frozenset([name]), column_codes))
    return out


def factor_columns(data: Mapping[str, np.ndarray], max_share: float = 0.5) -> dict:
    """Wrap columns with few distinct values as constant Duals on their own domain.

    Functions of one column (and parameters) are then evaluated once per distinct value, and
    functions of a few columns once per distinct combination of them, while there are at most
    ``max_share`` as many combinations as patterns; other columns stay arrays.
    """
    return _factored(data, _column_codes(data, max_share), max_share)


def _domain_weights(domain: Domain | None, counts: np.ndarray, cache: dict) -> np.ndarray:
    """Counts summed per element of ``domain`` (so a sum over patterns is a dot product)."""
    if domain is None:
        return np.array([counts.sum()])
    if domain.codes is None:
        return counts
    key = id(domain)
    if key not in cache:
        cache[key] = (domain, np.bincount(domain.codes, weights=counts))
    return cache[key][1]


def _weighted_sum(array, weights: np.ndarray, m: int) -> np.ndarray:
    """``sum_j array[..., j] * weights[j]`` as an (m,) vector (array broadcast to (m, n))."""
    array = np.asarray(array, dtype=float)
    if array.ndim == 0 or array.shape[-1] == 1:
        out = np.reshape(array, array.shape[:-1] if array.ndim else ()) * weights.sum()
    else:
        out = np.einsum("...j,j->...", array, weights)
    return np.broadcast_to(out, (m,))


def _sorted_factored(
    patterns: Mapping[str, np.ndarray], counts: np.ndarray, max_share: float = 0.5
) -> tuple[dict, dict, np.ndarray]:
    """Factored and plain patterns, both ordered by the coarsest factored column (e.g. ``x``).

    The total log-likelihood does not depend on the order of patterns; sorted, the branch
    masks of ``where`` (``x > 0``...) come in long runs, which makes ``where`` several times
    faster on large inputs.
    """
    codes = _column_codes(patterns, max_share)
    counts = np.asarray(counts)
    if not codes:
        return dict(patterns), dict(patterns), counts
    coarsest, uniques = min(codes.values(), key=lambda item: item[1].size)
    small = coarsest.astype(np.int16) if uniques.size < 2**15 else coarsest
    order = np.argsort(small, kind="stable")
    plain = {k: np.asarray(v)[order] for k, v in patterns.items()}
    codes = {k: (c[order], u) for k, (c, u) in codes.items()}
    return _factored(plain, codes, max_share), plain, counts[order]


def value_and_gradient(
    loglik: Callable,
    names: Sequence[str],
    data: Mapping,
    counts: np.ndarray,
) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Build ``theta (m, k) -> (total (m,), gradient (m, k))`` of the count-weighted loglik.

    Parameters
    ----------
    loglik : callable
        ``loglik(params, data, ops)``, the model's per-row log-likelihood.
    names : sequence of str
        Parameter names, in the column order of ``theta``.
    data : mapping
        Pattern arrays (possibly factored by :func:`factor_columns`).
    counts : numpy.ndarray
        Number of customers per pattern.
    """
    counts = np.asarray(counts, dtype=float)
    cache: dict = {}

    def evaluate(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        m, k = theta.shape
        params = {}
        for i, name in enumerate(names):
            column = theta[:, i, None]
            params[name] = Dual(column, {i: np.ones_like(column)})
        with np.errstate(all="ignore"):
            out = loglik(params, data, DUAL)
        out = _lift(out)
        weights = _domain_weights(out.domain, counts, cache)
        total = _weighted_sum(out.val, weights, m)
        gradient = np.zeros((m, k))
        for i, d in out.der.items():
            gradient[:, i] = _weighted_sum(d, weights, m)
        return total, gradient

    evaluate.factored = any(isinstance(v, Dual) for v in data.values())
    return evaluate


def gradient_for(
    loglik: Callable,
    names: Sequence[str],
    patterns: Mapping[str, np.ndarray],
    counts: np.ndarray,
    reference: Callable[[np.ndarray], np.ndarray],
    theta: np.ndarray,
) -> Callable | None:
    """The fastest exact-gradient evaluator that runs this likelihood, or ``None``.

    Tries factored data, then plain arrays; a candidate is accepted when it runs and its
    total log-likelihood at ``theta`` (m, k) equals ``reference(theta)`` (the plain numpy
    evaluation) to 1e-9 relative. A likelihood that uses numpy functions directly on data
    columns cannot run on factored data; one that uses them on parameters cannot run here at
    all, and the caller falls back to finite differences.
    """
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    with np.errstate(all="ignore"):
        expected = np.asarray(reference(theta), dtype=float)
    factored, plain, counts = _sorted_factored(patterns, counts)
    for data in (factored, plain):
        evaluate = value_and_gradient(loglik, names, data, counts)
        try:
            total, gradient = evaluate(theta)
        except (TypeError, ValueError, AttributeError, IndexError):
            continue
        if gradient.shape == theta.shape and np.allclose(
            total, expected, rtol=1e-9, atol=0.0, equal_nan=True
        ):
            return evaluate
    return None
