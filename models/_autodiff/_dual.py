"""Dual numbers of forward-mode differentiation, and the domains their arrays run along.

A :class:`Dual` holds a value and its sparse derivatives in the model parameters; its
arithmetic and comparisons are here, with the :class:`Domain` machinery that lets a data
column be evaluated once per distinct value (see :mod:`models._autodiff`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


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
