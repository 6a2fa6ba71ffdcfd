"""Tests of models/_special.py: log 2F1 with Euler's transformation and its quadrature fallback.

References used here need no hypergeometric routine:

- for ``b < 1``, ``2F1(a, b; a + 1; z) = a z^-a B(a, 1 - b) I_z(a, 1 - b)`` (DLMF 8.17.7), the
  regularised incomplete beta function;
- for any ``b``, ``2F1(a, b; a + 1; z) = a int_0^inf exp(-a v) (1 - z e^-v)^-b dv`` (Euler's
  integral with ``u = e^-v``), by adaptive quadrature.

``2F1(a, b; a + 1; z)`` is the form the Pareto/NBD likelihood uses (``a = r + s + x``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, special

from models import _special
from models._special import log_hyp2f1_numpy


def log_f_incomplete_beta(a, b, z):
    """``log 2F1(a, b; a + 1; z)`` for ``b < 1`` from the incomplete beta function."""
    return (
        np.log(a) - a * np.log(z) + special.betaln(a, 1 - b) + np.log(special.betainc(a, 1 - b, z))
    )


def log_f_laplace(a, b, z):
    """``log 2F1(a, b; a + 1; z)`` from ``a int_0^inf exp(-a v) (1 - z e^-v)^-b dv``."""

    def log_g(v):
        return -a * v - b * np.log1p(-z * np.exp(-v))

    # Scale by the integrand's largest value (at v = 0 when a > b z / (1 - z), else interior).
    v = np.concatenate([[0.0], np.geomspace(1e-12, 1e3, 4000)])
    shift = log_g(v).max()
    value, _ = integrate.quad(
        lambda t: np.exp(log_g(t) - shift), 0, np.inf, epsabs=0, epsrel=1e-12, limit=400
    )
    return np.log(a * value) + shift


# Points where scipy.special.hyp2f1 itself returns NaN (checked in the first test).
SCIPY_FAILS = [
    (1000.0, 1e-6, 1001.0, 0.999),  # large a, z near 1
    (1000.0, 0.5, 1001.0, 0.999),
    (1.01, 2.0, 2.01, 0.9999),  # Pareto/NBD x = 0 with s = 1: c - a - b = -1, an integer
    (5000.01, 2.0, 5001.01, 0.989),
]


@pytest.mark.parametrize(("a", "b", "c", "z"), SCIPY_FAILS)
def test_points_where_scipy_fails_are_recomputed(a, b, c, z):
    a2, b2, _ = _special._euler_arguments(a, b, c, z, np.where, np.log1p)
    assert not np.isfinite(special.hyp2f1(a2, b2, c, z))  # the reason for the fallback
    ours = log_hyp2f1_numpy(a, b, c, z)
    assert np.isfinite(ours)
    # Compared on the log scale: atol 1e-10 there is a relative error of 1e-10 in 2F1 itself.
    np.testing.assert_allclose(ours, log_f_laplace(a, b, z), rtol=1e-9, atol=1e-10)
    if b < 1:
        np.testing.assert_allclose(ours, log_f_incomplete_beta(a, b, z), rtol=1e-9, atol=1e-10)


@given(st.floats(1e-2, 100), st.floats(1e-3, 0.999), st.floats(0.05, 0.999))
def test_matches_the_incomplete_beta_identity(a, b, z):
    np.testing.assert_allclose(
        log_hyp2f1_numpy(a, b, a + 1, z), log_f_incomplete_beta(a, b, z), rtol=1e-8, atol=1e-10
    )


@given(
    st.floats(1e-2, 5e3),
    st.floats(1e-3, 1.0),
    st.floats(0.0, 0.9999),
)
def test_quadrature_fallback_agrees_with_scipy_where_scipy_works(a, fraction, z):
    # The transformed arguments the likelihood produces: (1, b, c) with 0 < b < c.
    c = a + 1
    b = fraction * c * (1 - 1e-9)
    value = special.hyp2f1(1.0, b, c, z)
    if np.isfinite(value) and value > 0:
        np.testing.assert_allclose(
            _special._log_hyp2f1_quadrature(1.0, b, c, z), np.log(value), rtol=1e-9, atol=1e-10
        )


def test_shapes_and_domain():
    assert np.ndim(log_hyp2f1_numpy(1.0, 1.0, 2.0, 0.5)) == 0
    out = log_hyp2f1_numpy(np.array([[1.0], [1000.0]]), 1e-6, np.array([[2.0], [1001.0]]), 0.999)
    assert out.shape == (2, 1) and np.all(np.isfinite(out))
    assert log_hyp2f1_numpy(3.0, 2.0, 4.0, 0.0) == 0.0
    assert np.isnan(_special._log_hyp2f1_quadrature(2.0, 3.0, 1.5, 0.5))  # c < both a and b


def test_series_fallback_matches_quadrature_where_scipy_fails():
    """Points the Pareto/NBD optimiser visits (large b, z near 1) where scipy returns NaN."""
    from models import _special

    a = np.array([1.0, 1.0, 1.0, 0.5])
    b = np.array([340.858, 193.17, 1004.46, 2.0])
    c = np.array([342.38, 194.69, 1005.98, 3.0])
    z = np.array([0.99894, 0.99722, 0.99878, 0.9])
    log_sum, unconverged = _special._log_hyp2f1_series(a, b, c, z)
    assert not unconverged.any()
    reference = [_special._log_hyp2f1_quadrature(*point) for point in zip(a, b, c, z, strict=True)]
    np.testing.assert_allclose(log_sum, reference, rtol=1e-12)
