"""Hypergeometric power series, compiled, for many arguments sharing parameters.

``S(a, b; c, d; z) = sum_k (a)_k (b)_k / ((c)_k (d)_k) z^k`` for ``|z| < 1``: with
``d = 1`` this is Gauss's ``2F1(a, b; c; z)`` (DLMF 15.2.1), otherwise ``3F2(a, b, 1; c, d; z)``
(DLMF 16.2.1). Predictions evaluate it for every (parameter draw, customer pattern, horizon):
millions of elements, in long runs that share ``(a, b, c, d)`` and differ only in ``z`` (e.g.
one draw and one purchase count ``x``, every ``T`` and horizon). :func:`runs` walks such runs
once: the ratio of consecutive coefficients is computed once per run and term, and the
elements of the run advance together (a loop the compiler vectorises). Any order is correct;
runs only make it faster.
"""

from __future__ import annotations

import numba
import numpy as np

#: Relative size of the neglected tail at which an element has converged.
_TAIL = 1e-17
#: Terms below this, before ``k = -c`` (where terms may grow back), have underflowed.
_UNDERFLOW = 1e-290
MAX_TERMS = 1000


@numba.njit(cache=True, nogil=True, error_model="numpy")
def run(a, b, c, d, z, total, largest, done, max_terms=MAX_TERMS):  # pragma: no cover
    """The series for one run: scalars ``a, b, c, d``, a 1-d array ``z``; fills the outputs.

    Callable from numba code that finds its own runs (e.g. from the model's parameters).
    Every 8 terms, elements that have converged leave the working arrays, so each element
    costs about its own number of terms.
    """
    m = z.size
    # Private working arrays (the outputs are views the compiler cannot prove apart): the
    # loop over j then vectorises.
    index, zz, term, sums, big = np.arange(m), z.copy(), np.ones(m), np.ones(m), np.ones(m)
    lost = np.zeros(m, dtype=np.bool_)
    active = m
    turn = max(-c, -d)  # terms may grow back until k passes the poles of the coefficients
    for k in range(max_terms):
        ratio = (a + k) * (b + k) / ((c + k) * (d + k))
        for j in range(active):
            term[j] *= ratio * zz[j]
            sums[j] += term[j]
            big[j] = max(big[j], abs(term[j]))
        if k < turn and ratio != 0:
            for j in range(active):
                lost[j] |= term[j] != 0 and abs(term[j]) < _UNDERFLOW
        if k % 8 != 7 or k < turn:
            continue
        # Converged when the tail, bounded by a geometric series of ratio q, is negligible:
        # past the poles the term ratio moves monotonically towards its limit z.
        kept = 0
        for j in range(active):
            q = max(abs(ratio * zz[j]), abs(zz[j]))
            if q > 0.5 * (1 + abs(zz[j])) or abs(term[j]) * q > _TAIL * (1 - q) * abs(sums[j]):
                index[kept], zz[kept], term[kept] = index[j], zz[j], term[j]
                sums[kept], big[kept], lost[kept] = sums[j], big[j], lost[j]
                kept += 1
            else:
                i = index[j]
                total[i], largest[i] = sums[j], big[j]
                done[i] = not lost[j] and np.isfinite(sums[j])
        active = kept
        if active == 0:
            return
    for j in range(active):  # not converged within max_terms
        i = index[j]
        total[i], largest[i], done[i] = sums[j], big[j], False


@numba.njit(cache=True, nogil=True)
def runs(a, b, c, d, z, max_terms=MAX_TERMS):  # pragma: no cover - compiled
    """:func:`series` on contiguous 1-d float arrays of equal length, callable from numba."""
    n = z.size
    total, largest = np.empty(n), np.empty(n)
    done = np.zeros(n, dtype=np.bool_)
    start = 0
    while start < n:
        stop = start + 1
        while (
            stop < n
            and a[stop] == a[start]
            and b[stop] == b[start]
            and c[stop] == c[start]
            and d[stop] == d[start]
        ):
            stop += 1
        run(
            a[start],
            b[start],
            c[start],
            d[start],
            z[start:stop],
            total[start:stop],
            largest[start:stop],
            done[start:stop],
            max_terms,
        )
        start = stop
    return total, largest, done


def series(a, b, c, z, d=1.0, max_terms: int = MAX_TERMS):
    """``sum_k (a)_k (b)_k / ((c)_k (d)_k) z^k`` for ``|z| < 1``, elementwise.

    ``d = 1`` (default) gives ``2F1(a, b; c; z)`` (DLMF 15.2.1). Consecutive elements with
    equal ``(a, b, c, d)`` form a run evaluated together (see the module docstring); put such
    elements next to each other for speed.

    An element has converged once ``k`` is past ``-c`` and ``-d`` (negative values make terms
    grow back there) and the tail after the last term, bounded by a geometric series whose
    ratio ``q = max(|ratio z|, |z|)`` is at most ``(1 + |z|) / 2``, is below 1e-17 of the sum. A
    term that underflows before that point (its later growth would be lost) marks the element
    as not converged.

    Parameters
    ----------
    a, b, c, z, d : array_like
        Broadcast against each other; ``|z| < 1``.
    max_terms : int
        Terms summed at most.

    Returns
    -------
    total : numpy.ndarray
        The sum.
    largest : numpy.ndarray
        The largest absolute term (1 for the first): ``largest / |total|`` bounds the digits
        lost to cancellation.
    done : numpy.ndarray of bool
        Converged within ``max_terms`` terms.

    Examples
    --------
    >>> total, largest, done = series(1.0, 1.0, 2.0, [0.5])  # 2F1 = -ln(1 - z) / z
    >>> round(float(total[0]), 12), bool(done[0])
    (1.386294361120, True)
    """
    shape, flat = flat_broadcast(a, b, c, d, z)
    total, largest, done = runs(*flat, int(max_terms))
    return total.reshape(shape), largest.reshape(shape), done.reshape(shape)


def flat_broadcast(*values) -> tuple[tuple[int, ...], list[np.ndarray]]:
    """``values`` broadcast together: their shape, and each as a flat contiguous float array.

    Every array comes back read-only, whether it is a view of the caller's array or a copy
    (a broadcast repeats values): the compiled functions then see one array type and are
    compiled (and cached) once, not once per mix of writable and read-only inputs.
    """
    arrays = [np.asarray(v, dtype=float) for v in values]
    shape = np.broadcast_shapes(*(v.shape for v in arrays))
    flat = []
    for v in arrays:
        v = np.ascontiguousarray(np.broadcast_to(v, shape)).reshape(-1).view()
        v.flags.writeable = False
        flat.append(v)
    return shape, flat
