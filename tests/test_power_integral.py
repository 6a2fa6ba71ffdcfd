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


def series_cases(n: int, seed: int) -> np.ndarray:
    """``(alpha, a, beta, b, t)`` log-uniform, including exponents with ``a + b - 1`` small."""
    rng = np.random.default_rng(seed)
    alpha, beta = 10 ** rng.uniform(-2, 3, (2, n))
    a, b = 10 ** rng.uniform(-2, 2.5, (2, n))
    a = np.maximum(a, 1.02 - b)
    t = np.where(rng.uniform(size=n) < 0.2, 0.0, 10 ** rng.uniform(-2, 1.6, n))
    return np.column_stack([alpha, a, beta, b, t])


def test_series_tail_and_its_derivatives_match_the_closed_form():
    rows = series_cases(3000, 11)
    log_g, partials, usable = _power_integral.log_tail_series(*rows.T)
    closed = _power_integral.log_tail_closed(*rows.T)
    keep = usable & np.isfinite(closed)
    assert 500 < keep.sum() < len(rows)  # both sides of SERIES_MAX_Z are drawn
    # measured: 1.1e-13 (a sum of positive terms, to 1e-17 of its value)
    np.testing.assert_allclose(log_g[keep], closed[keep], rtol=0.0, atol=1e-12)
    rows = rows[keep]
    alpha, a, beta, b, t = rows.T
    # the shifts stay in the family: d ln G / d alpha = -a G(a + 1) / G, likewise for beta
    for partial, shifted, exponent in [
        (partials[0], (alpha, a + 1, beta, b, t), a),
        (partials[1], (alpha, a, beta, b + 1, t), b),
    ]:
        expected = -exponent * np.exp(_power_integral.log_tail_closed(*shifted) - closed[keep])
        # measured: 5e-12 relative
        np.testing.assert_allclose(partial[keep], expected, rtol=1e-10, atol=0.0)
    for k, partial in zip((0, 2, 1, 3), partials, strict=True):  # alpha, beta, a, b
        # fourth-order Richardson difference of the closed form; for the exponents the step
        # is scaled by a + b - 1 too, which can be small
        scale = rows[:, k] if k in (0, 2) else np.minimum(rows[:, k], a + b - 1)
        h = 1e-3 * scale

        def difference(step, k=k):
            up, down = rows.copy(), rows.copy()
            up[:, k] += step
            down[:, k] -= step
            change = _power_integral.log_tail_closed(*up.T) - _power_integral.log_tail_closed(
                *down.T
            )
            return change / (2 * step)

        expected = (4 * difference(h) - difference(2 * h)) / 3
        # measured: 3.2e-9 of (1 + |derivative|) at most (the difference's own error)
        np.testing.assert_allclose(partial[keep], expected, rtol=1e-8, atol=1e-8)


def test_series_on_distinct_exponents_equals_the_series_on_every_element():
    rng = np.random.default_rng(3)
    x = np.arange(6.0)
    index = rng.integers(0, 6, 40)
    t = rng.uniform(0, 39, 40)
    alpha, beta = np.array([[10.6], [3.0]]), np.array([[11.7], [2.0]])  # both orderings
    a, b = 0.55 + x, np.array([[1.6], [2.4]])
    spread = _power_integral.log_tail_series(alpha, a[index], beta, b, t)
    compact = _power_integral.log_tail_series(alpha, a, beta, b, t, index=index)
    for got, expected in zip([compact[0], *compact[1]], [spread[0], *spread[1]], strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0.0)


@pytest.mark.parametrize("factored", [False, True])
def test_dual_gradient_from_the_series_equals_the_general_path(factored, monkeypatch):
    from models import _autodiff
    from models._autodiff import DUAL, Dual

    redone = []
    redo_columns = _autodiff._power_ops._redo_columns
    monkeypatch.setattr(
        _autodiff._power_ops,
        "_redo_columns",
        lambda columns, *a: redone.append(columns) or redo_columns(columns, *a),
    )

    rng = np.random.default_rng(5)
    n = 400
    x = rng.integers(0, 12, n).astype(float)
    T = rng.choice([27.0, 33.0, 39.0], n)
    t_x = np.where(x > 0, np.round(T * rng.uniform(0.5, 1, n), 1), 0.0)
    t_x[:20] = T[:20]  # empty ranges (t_x = T): placeholders
    t_x[20:40] = T[20:40] - 0.01  # G(T) / G(t_x) > 0.999: the general path
    data = {"x": x, "t_x": t_x, "T": T}
    if factored:
        data = _autodiff.factor_columns(data)
        assert isinstance(data["x"], Dual)
    # rows: CDNOW's estimates; alpha << beta (z > SERIES_MAX_Z: the general path); alpha = beta
    theta = np.array([[0.553, 10.578, 0.606, 11.669], [0.5, 0.3, 2.0, 60.0], [1.0, 8.0, 1.0, 8.0]])
    r, alpha, s, beta = (Dual(theta[:, [i]], {i: np.ones((3, 1))}) for i in range(4))
    args = (alpha, r + data["x"], beta, s + 1, data["t_x"], data["T"])
    fast = DUAL.log_power_integral(*args)
    general = _autodiff._log_power_integral_by_differences(*args)
    assert 20 < redone[0].size < np.size(fast.val[0])  # both paths are exercised
    got = _autodiff._gather(fast.val, fast.domain, _autodiff.FULL)
    expected = _autodiff._gather(general.val, general.domain, _autodiff.FULL)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0.0)  # measured: 9e-14
    assert set(fast.der) == set(general.der) == {0, 1, 2, 3}
    for i in range(4):  # (placeholders of empty ranges are masked by the caller)
        got = _autodiff._gather(fast.der[i], fast.domain, _autodiff.FULL)[:, t_x < T]
        expected = _autodiff._gather(general.der[i], general.domain, _autodiff.FULL)[:, t_x < T]
        # the general path's central differences in the exponents: ~1e-10 relative
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)
