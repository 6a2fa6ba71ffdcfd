"""The Pareto/NBD death-term integral: closed form, quadrature, pytensor twin, gradients."""

import warnings

import numpy as np
import pytest
from scipy import integrate

from models import _power_integral
from models._bayes import COMPILE_MODE
from models._ops import NUMPY, pytensor_ops


def reference(alpha, a, beta, b, t0, t1):
    """``ln int_{t0}^{t1} (alpha + tau)^-a (beta + tau)^-b d tau`` by adaptive quadrature.

    In ``v = ln((c + tau) / (c + t0))``, ``c = min(alpha, beta)``, on 50 equal pieces, each to
    ``epsrel = 2e-14``, with the integrand scaled by its value at ``t0``.
    """
    c = min(alpha, beta)
    start = c + t0

    def log_f(tau):
        return -a * np.log(alpha + tau) - b * np.log(beta + tau)

    shift = log_f(t0)

    def g(v):
        tau = t0 + start * np.expm1(v)
        return np.exp(log_f(tau) - shift) * start * np.exp(v)

    edges = np.linspace(0.0, np.log1p((t1 - t0) / start), 51)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        total = sum(
            integrate.quad(g, lo, hi, epsabs=0.0, epsrel=2e-14, limit=200)[0]
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        )
    return np.log(total) + shift


def random_cases(n: int, seed: int) -> np.ndarray:
    """Log-uniform ``(alpha, a, beta, b, t0, t1)`` over the ranges the module docstring states."""
    rng = np.random.default_rng(seed)
    r, s = 10 ** rng.uniform(-2, 2, (2, n))
    alpha, beta = 10 ** rng.uniform(-2, 4, (2, n))
    x = np.floor(10 ** rng.uniform(0, 3.5, n)) * (rng.uniform(size=n) < 0.8)
    t0 = np.where(x > 0, 10 ** rng.uniform(-1, 1.58, n), 0.0)  # up to 38
    t1 = t0 + 10 ** rng.uniform(-3, 5, n)
    return np.column_stack([alpha, r + x, beta, s + 1, t0, t1])


#: Hard corners: Poisson boundary (beta, s huge), alpha << beta and the reverse, long and
#: tiny ranges, thousands of purchases.
CORNERS = np.array(
    [
        [10.578, 0.553 + 2.0, 5.8e4, 1689.0, 30.0, 39.0],
        [0.01, 0.01, 1e4, 51.0, 0.0, 1e4],
        [1e4, 100.0 + 3000, 0.01, 1.6, 0.0, 1e4],
        [1.0, 0.01 + 1, 1e4, 51.0, 0.0, 1e4],
        [10.6, 0.55, 11.7, 1.6, 0.0, 1e-3],
        [10.6, 300.55, 11.7, 1.6, 38.9, 39.0],
        [1e4, 5.0, 1e4, 6.0, 0.0, 1e5],
    ]
)


@pytest.fixture(scope="module")
def cases():
    rows = np.vstack([random_cases(120, 20261124), CORNERS])
    expected = np.array([reference(*row) for row in rows])
    return rows, expected


def test_quadrature_matches_adaptive_reference(cases):
    rows, expected = cases
    got = _power_integral.log_power_integral_quadrature(*rows.T, NUMPY)
    # module docstring: largest error 4e-8 over a 6,912-case grid of these ranges
    np.testing.assert_allclose(got, expected, rtol=0.0, atol=5e-8)


def test_numpy_evaluation_matches_reference_and_is_exact_where_closed_form_is_used(cases):
    rows, expected = cases
    got = NUMPY.log_power_integral(*rows.T)
    np.testing.assert_allclose(got, expected, rtol=0.0, atol=5e-8)
    alpha, a, beta, b, t0, t1 = rows.T
    log_g0 = _power_integral.log_tail_closed(alpha, a, beta, b, t0)
    log_g1 = _power_integral.log_tail_closed(alpha, a, beta, b, t1)
    closed = np.isfinite(log_g0) & (log_g1 - log_g0 <= np.log(0.999))
    assert 20 < closed.sum() < len(rows)  # both routes are exercised
    np.testing.assert_allclose(got[closed], expected[closed], rtol=0.0, atol=2e-9)


def test_closed_form_and_quadrature_agree_on_cdnow_like_values():
    rng = np.random.default_rng(7)
    n = 500
    x = rng.integers(0, 30, n).astype(float)
    t0 = np.where(x > 0, rng.uniform(0, 38, n), 0.0)
    t1 = np.maximum(t0 + rng.uniform(0.5, 39, n), 27.0)
    args = (10.578, 0.553 + x, 11.669, 1.606, t0, t1)
    log_g0 = _power_integral.log_tail_closed(*args[:4], t0)
    log_g1 = _power_integral.log_tail_closed(*args[:4], t1)
    # every element takes the closed form here (else from_tails would use the quadrature)
    assert np.all(np.isfinite(log_g0)) and np.all(log_g1 - log_g0 <= np.log(0.999))
    closed = _power_integral.from_tails(log_g0, log_g1, *args)
    quadrature = _power_integral.log_power_integral_quadrature(*args, NUMPY)
    np.testing.assert_allclose(quadrature, closed, rtol=0.0, atol=1e-10)


def test_empty_ranges_give_finite_placeholders():
    t0 = np.array([0.0, 5.0, 39.0])
    t1 = np.array([39.0, 5.0, 39.0])  # the last two are empty (t_x = T)
    assert np.all(np.isfinite(NUMPY.log_power_integral(10.0, 2.5, 10.0, 1.6, t0, t1)))
    assert np.all(np.isfinite(NUMPY.log_power_integral(0.01, 2.5, 1e4, 1.6, t0, t1)))


def test_pytensor_twin_values_and_gradients():
    pytensor = pytest.importorskip("pytensor")
    theta = pytensor.tensor.dvector("theta")
    t0 = np.array([0.0, 3.0, 20.0, 39.0])
    t1 = np.array([39.0, 30.0, 21.0, 39.0])  # the last is empty (t_x = T): a placeholder
    graph = pytensor_ops().log_power_integral(theta[0], theta[1], theta[2], theta[3], t0, t1)
    f = pytensor.function(
        [theta], [graph, pytensor.grad(graph[:3].sum(), theta)], mode=COMPILE_MODE
    )

    def numpy_total(p):
        return NUMPY.log_power_integral(*p, t0[:3], t1[:3]).sum()

    # alpha = beta (no bend: one panel empty), alpha << beta and the reverse (quadrature in
    # numpy too), and CDNOW-like values (closed form in numpy)
    for point in [(10.0, 2.5, 10.0, 1.6), (0.5, 2.5, 40.0, 1.6), (40.0, 2.5, 0.5, 1.6)] + [
        (10.578, 3.553, 11.669, 1.606)
    ]:
        point = np.array(point)
        value, gradient = f(point)
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(gradient))
        np.testing.assert_allclose(
            value[:3], NUMPY.log_power_integral(*point, t0[:3], t1[:3]), rtol=0.0, atol=1e-9
        )
        step = 1e-6 * point
        differences = [
            (numpy_total(point + step * e) - numpy_total(point - step * e)) / (2 * step[i])
            for i, e in enumerate(np.eye(4))
        ]
        np.testing.assert_allclose(gradient, differences, rtol=1e-6)
