"""Tests of forward-mode automatic differentiation (the models._autodiff package) and its use by the
optimiser (models/_mle.py, BaseModel._fit_mle).

Every model's unchanged log-likelihood, run on the Dual operation table, must give the same
value as on numpy and the gradient of central finite differences and of pytensor's reverse-mode
``pytensor.grad``, on random parameters and random data, with plain and factored data columns.
The optimiser must reach the same estimates as with finite-difference gradients.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import models
from models import _autodiff, _mle
from models._autodiff import DUAL, Dual

# ----------------------------------------------------------------------------- data per model
#: Model module -> (parameter names are read from the module) a random data generator.
MODEL_MODULES = ("bgnbd", "pareto_nbd", "mbgnbd", "bgbb", "gamma_gamma")


def continuous_data(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """(x, t_x, T) in weeks at daily resolution; some x = 0 and some t_x = T rows."""
    T = np.round(rng.uniform(1.0, 40.0, n) * 7) / 7
    x = rng.poisson(rng.gamma(0.5, 4.0, n)).astype(float)
    t_x = np.where(x > 0, np.floor(rng.uniform(0.2, 1.0, n) * T * 7) / 7, 0.0)
    t_x[: n // 10] = np.where(x[: n // 10] > 0, T[: n // 10], 0.0)
    return {"x": x, "t_x": t_x, "T": T}


def discrete_data(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """(x, t_x, n) of the BG/BB: x <= t_x <= n opportunities, t_x = 0 when x = 0."""
    n_opp = rng.integers(3, 7, n).astype(float)
    x = np.floor(rng.uniform(0, 1, n) * (n_opp + 1))
    t_x = np.where(x > 0, np.minimum(n_opp, x + np.floor(rng.uniform(0, 1, n) * 3)), 0.0)
    return {"x": x, "t_x": t_x, "n": n_opp}


def spend_data(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """(x, z): repeat purchases and mean spend; x = 0 rows carry no spend information."""
    x = rng.integers(0, 8, n).astype(float)
    return {"x": x, "z": np.round(rng.gamma(3.0, 10.0, n), 2)}


DATA = {
    "bgnbd": continuous_data,
    "pareto_nbd": continuous_data,
    "mbgnbd": continuous_data,
    "bgbb": discrete_data,
    "gamma_gamma": spend_data,
}


def load_module(name: str):
    """The model module, or skip when it does not exist (yet)."""
    try:
        return importlib.import_module(f"models.{name}")
    except ImportError:
        pytest.skip(f"models/{name}.py is not available")


def random_case(name: str, seed: int, n: int = 400):
    """Module, parameters (k,), data and counts for one random test case."""
    module = load_module(name)
    rng = np.random.default_rng(seed)
    data = DATA[name](rng, n)
    theta = np.exp(rng.normal(0.0, 0.7, len(module.PARAMS)))
    counts = rng.integers(1, 5, n).astype(float)
    return module, theta, data, counts


def numpy_total(module, data, counts):
    def total(theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(theta)
        params = {p: theta[:, i, None] for i, p in enumerate(module.PARAMS)}
        with np.errstate(all="ignore"):
            return (module.loglik(params, data) * counts).sum(axis=1)

    return total


def central_differences(total, theta: np.ndarray, rel_step: float = 1e-6) -> np.ndarray:
    h = rel_step * theta
    points = np.vstack([theta + np.diag(h), theta - np.diag(h)])
    values = total(points)
    k = theta.size
    return (values[:k] - values[k:]) / (2 * h)


# ----------------------------------------------------------------------------- model gradients
@pytest.mark.parametrize("name", MODEL_MODULES)
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("factored", [False, True])
def test_model_gradient_matches_finite_differences(name, seed, factored):
    module, theta, data, counts = random_case(name, seed)
    total = numpy_total(module, data, counts)
    columns = _autodiff.factor_columns(data) if factored else data
    if factored and name == "gamma_gamma":
        columns = data  # its loglik calls numpy on data columns: runs on plain arrays only
    evaluate = _autodiff.value_and_gradient(module.loglik, module.PARAMS, columns, counts)
    value, gradient = evaluate(theta[None, :])
    np.testing.assert_allclose(value, total(theta[None, :]), rtol=1e-12)
    fd = central_differences(total, theta)
    np.testing.assert_allclose(gradient[0], fd, rtol=1e-5, atol=1e-6 * np.abs(fd).max())


@pytest.mark.parametrize("name", ["bgnbd", "pareto_nbd"])
def test_gradient_on_both_sides_of_alpha_equals_beta(name):
    # Pareto/NBD switches between FH05 eqs. 19 and 20 at alpha = beta; both must be exact.
    module, theta, data, counts = random_case(name, 5)
    total = numpy_total(module, data, counts)
    evaluate = _autodiff.value_and_gradient(module.loglik, module.PARAMS, data, counts)
    for alpha, beta in [(2.0, 5.0), (5.0, 2.0)]:
        point = theta.copy()
        point[1], point[3] = alpha, beta
        _, gradient = evaluate(point[None, :])
        fd = central_differences(total, point)
        np.testing.assert_allclose(gradient[0], fd, rtol=1e-5, atol=1e-6 * np.abs(fd).max())


def pytensor_gradient(module, theta, data, counts):
    """Total log-likelihood and its gradient by pytensor's reverse-mode differentiation."""
    pytensor = pytest.importorskip("pytensor")
    import pytensor.tensor as pt

    from models._ops import pytensor_ops

    try:
        ops = pytensor_ops()
        vector = pt.dvector("theta")
        params = {p: vector[i] for i, p in enumerate(module.PARAMS)}
        total = (module.loglik(params, data, ops) * counts).sum()
    except (AttributeError, NotImplementedError) as error:  # a half-finished pytensor table
        pytest.skip(f"pytensor log-likelihood of {module.__name__} unavailable: {error}")
    function = pytensor.function([vector], [total, pytensor.grad(total, vector)])
    value, gradient = function(theta)
    return float(value), np.asarray(gradient)


@pytest.mark.parametrize("name", MODEL_MODULES)
def test_model_gradient_matches_pytensor(name):
    module, theta, data, counts = random_case(name, 11, n=200)
    value, gradient = pytensor_gradient(module, theta, data, counts)
    evaluate = _autodiff.value_and_gradient(module.loglik, module.PARAMS, data, counts)
    ours_value, ours_gradient = evaluate(theta[None, :])
    np.testing.assert_allclose(ours_value[0], value, rtol=1e-10)
    np.testing.assert_allclose(
        ours_gradient[0], gradient, rtol=1e-6, atol=1e-8 * np.abs(gradient).max()
    )


def test_factored_and_plain_data_agree_and_factoring_is_chosen_when_it_pays():
    module, theta, data, counts = random_case("bgnbd", 7, n=2000)
    factored = _autodiff.factor_columns(data)
    assert isinstance(factored["x"], Dual)  # ~20 distinct values among 2000 rows
    plain = _autodiff.value_and_gradient(module.loglik, module.PARAMS, data, counts)
    fast = _autodiff.value_and_gradient(module.loglik, module.PARAMS, factored, counts)
    points = theta * np.exp(np.random.default_rng(0).normal(0, 0.3, (3, theta.size)))
    for got, want in zip(fast(points), plain(points), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    unique = {"x": np.arange(100.0)}
    assert not isinstance(_autodiff.factor_columns(unique)["x"], Dual)


def test_functions_of_two_columns_are_evaluated_per_distinct_pair():
    rng = np.random.default_rng(8)
    data = {"x": rng.integers(0, 4, 1000) * 1.0, "T": rng.integers(1, 6, 1000) * 1.0}
    data["t_x"] = rng.uniform(0, 1, 1000) * data["T"]
    factored = _autodiff.factor_columns(data)
    r = Dual(np.array([[0.5]]), {0: np.ones((1, 1))})
    pair = DUAL.log(r + factored["x"] + factored["T"])
    assert pair.domain.columns == {"x", "T"} and pair.val.size <= 20  # 4 x 5 pairs at most
    everything = pair * factored["t_x"]  # t_x is not factored: back on the pattern axis
    assert everything.domain is _autodiff.FULL
    want = np.log(0.5 + data["x"] + data["T"])
    np.testing.assert_allclose(np.asarray(Dual(pair.val, None, pair.domain))[0], want)
    np.testing.assert_allclose(everything.val[0], want * data["t_x"])
    np.testing.assert_allclose(everything.der[0][0], data["t_x"] / (0.5 + data["x"] + data["T"]))


# ----------------------------------------------------------------------------- Dual arithmetic
def seeded(values, index: int = 0) -> Dual:
    """A Dual for parameter ``index`` (derivative one)."""
    values = np.asarray(values, dtype=float)
    return Dual(values, {index: np.ones_like(values)})


def dual_fd(function, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    return (function(x + h) - function(x - h)) / (2 * h)


OPS_CASES = {
    "add": (lambda o, v: v + 2.5 + v, 0.3, 5.0),
    "rsub": (lambda o, v: 1.0 - v * v, 0.3, 5.0),
    "mul_array_left": (lambda o, v: np.array([1.5, -2.0, 3.0]) * v, 0.3, 5.0),
    "div": (lambda o, v: (1.0 + v) / (2.0 + v * v), 0.3, 5.0),
    "rdiv": (lambda o, v: 3.0 / v, 0.3, 5.0),
    "pow_scalar": (lambda o, v: v**2.5, 0.3, 5.0),
    "rpow": (lambda o, v: 2.0**v, 0.3, 5.0),
    "pow_dual": (lambda o, v: v**v, 0.3, 5.0),
    "neg": (lambda o, v: -v, 0.3, 5.0),
    "log": (lambda o, v: o.log(v), 0.3, 5.0),
    "log1p": (lambda o, v: o.log1p(v), 0.3, 5.0),
    "exp": (lambda o, v: o.exp(v), 0.3, 5.0),
    "gammaln": (lambda o, v: o.gammaln(v), 0.3, 5.0),
    "betaln": (lambda o, v: o.betaln(v, 2.0 * v + 1.0), 0.3, 5.0),
    "betaln_one_side": (lambda o, v: o.betaln(1.7, v), 0.3, 5.0),
    "logaddexp": (lambda o, v: o.logaddexp(-v, v * v - 3.0), 0.3, 5.0),
    "log1mexp": (lambda o, v: o.log1mexp(-v), 0.01, 30.0),
    "log_hyp2f1": (lambda o, v: o.log_hyp2f1(v + 1.0, 2.0 * v, v + 3.0, v / (v + 1.0)), 0.3, 5.0),
    "expm1": (lambda o, v: o.expm1(v - 2.0), 0.3, 5.0),
    # every parameter of the power integral moves, closed form (alpha ~ beta) ...
    "log_power_integral": (
        lambda o, v: o.log_power_integral(
            v, v + 0.5, 1.1 * v, 2.0 * v, np.array([0.0, 1.0, 2.0]), 9.0
        ),
        0.3,
        5.0,
    ),
    # ... and quadrature (z = |alpha - beta| / (beta + t0) near 1)
    "log_power_integral_quadrature": (
        lambda o, v: o.log_power_integral(0.01 * v, v + 0.5, 50.0 * v, 2.0 * v, 0.0, 9.0),
        0.3,
        5.0,
    ),
    "sum_first_axis": (
        lambda o, v: o.sum_first_axis(o.log(v * np.array([[1.0], [2.0]]))),
        0.3,
        5.0,
    ),
    "where": (lambda o, v: o.where(np.array([True, False, True]), o.log(v), v * v), 0.3, 5.0),
    "maximum": (lambda o, v: o.maximum(v, 2.0) + o.minimum(v * v, 4.0), 0.3, 5.0),
    "abs": (lambda o, v: o.abs(v - 1.0), 0.3, 5.0),
}


@pytest.mark.parametrize("case", sorted(OPS_CASES))
def test_dual_operation_derivatives(case):
    function, low, high = OPS_CASES[case]
    x = np.random.default_rng(3).uniform(low, high, 3)
    if case in ("maximum", "abs"):
        x = np.array([0.5, 1.5, 3.0])  # away from the kinks
    out = function(DUAL, seeded(x))
    with np.errstate(all="ignore"):
        value = function(_numpy_ops(), x)
    np.testing.assert_allclose(out.val, value, rtol=1e-13)
    derivative = np.broadcast_to(out.der[0], np.shape(value))
    np.testing.assert_allclose(
        derivative, dual_fd(lambda t: function(_numpy_ops(), t), x), rtol=1e-6, atol=1e-8
    )


def _numpy_ops():
    from models._ops import NUMPY

    return NUMPY


def test_dual_identities():
    x = np.array([0.4, 1.3, 7.0])
    v = Dual(x, {0: np.ones(3), 2: 2 * x})
    w = Dual(x + 1.0, {1: np.full(3, 3.0)})
    for got, want in [
        ((v + w) - w, v),
        (v * w / w, v),
        (-(0.0 - v), v),
        (DUAL.exp(DUAL.log(v)), v),
        (v * v, v**2),
        (DUAL.logaddexp(v, v), v + np.log(2.0)),
        (DUAL.betaln(v, w), DUAL.betaln(w, v)),
        (DUAL.betaln(v, w), DUAL.gammaln(v) + DUAL.gammaln(w) - DUAL.gammaln(v + w)),
    ]:
        np.testing.assert_allclose(got.val, want.val, rtol=1e-13)
        for i in set(got.der) | set(want.der):
            np.testing.assert_allclose(
                np.broadcast_to(got.der.get(i, 0.0), x.shape),
                np.broadcast_to(want.der.get(i, 0.0), x.shape),
                rtol=1e-12,
                atol=1e-13,
            )


def test_dual_sparsity_and_numpy_interplay():
    x = np.array([1.0, 2.0, 3.0])
    r = Dual(np.array([[0.5]]), {0: np.ones((1, 1))})
    a = Dual(np.array([[2.0]]), {2: np.ones((1, 1))})
    term = DUAL.gammaln(r + x) - DUAL.log(a)
    assert set(term.der) == {0, 2}  # only the parameters it depends on
    assert isinstance(x * r, Dual) and isinstance(x - r, Dual) and isinstance(1 + r, Dual)
    np.testing.assert_array_equal((r < x).val, [[True, True, True]])
    factored = _autodiff.factor_columns({"x": np.tile([0.0, 1.0, 2.0], 20)})["x"]
    assert isinstance(factored, Dual) and factored.val.size == 3
    np.testing.assert_array_equal(np.asarray(factored == 0), np.tile([True, False, False], 20))
    assert isinstance(DUAL.maximum(x, 1), np.ndarray)  # no Dual in, no Dual out
    with pytest.raises(TypeError):
        np.log(r)  # numpy functions refuse a Dual instead of dropping its derivatives
    with pytest.raises(TypeError):
        np.asarray(r)


# ----------------------------------------------------------------------------- optimiser
@pytest.fixture(scope="module")
def cdnow():
    return models.datasets.load_cdnow_summary()


def fit_both_ways(model_class, data, monkeypatch, **settings):
    """Fit with exact gradients and with the finite-difference fallback."""
    exact = model_class(**settings).fit(data)
    with monkeypatch.context() as patch:
        patch.setattr(_autodiff, "gradient_for", lambda *args, **kwargs: None)
        finite = model_class(**settings).fit(data)
    return exact, finite


@pytest.mark.parametrize("penalizer", [0.0, 0.01])
def test_optimiser_reaches_the_same_mle_as_finite_differences(cdnow, monkeypatch, penalizer):
    exact, finite = fit_both_ways(models.BetaGeo, cdnow, monkeypatch, penalizer=penalizer)
    np.testing.assert_allclose(exact.params, finite.params, rtol=1e-6)
    assert abs(exact.log_likelihood_ / finite.log_likelihood_ - 1) < 1e-9
    # The finite-difference Hessian is the less accurate of the two (steps of 1e-4).
    np.testing.assert_allclose(exact.cov_log_, finite.cov_log_, rtol=1e-3)
    assert exact.fit_info_["gradient_max"] < _mle.GRADIENT_TOLERANCE


@pytest.mark.slow  # compiling pytensor's Hessian graph takes ~45 s
def test_hessian_from_exact_gradient_matches_pytensor(cdnow):
    pytensor = pytest.importorskip("pytensor")
    import pytensor.tensor as pt

    from models import bgnbd
    from models._ops import pytensor_ops

    model = models.BetaGeo().fit(cdnow)
    arrays = model._fit_arrays(cdnow)
    u = pt.dvector("u")
    params = {p: pt.exp(u[i]) for i, p in enumerate(bgnbd.PARAMS)}
    total = bgnbd.loglik(params, arrays, pytensor_ops()).sum()
    hessian = pytensor.function([u], pytensor.gradient.hessian(-total, u))
    expected = hessian(np.log(model.params.to_numpy()))
    np.testing.assert_allclose(np.linalg.inv(model.cov_log_), expected, rtol=1e-6)


def test_optimiser_falls_back_to_finite_differences(monkeypatch):
    # A likelihood calling numpy directly on a parameter cannot carry derivatives.
    def loglik(params, data, ops=None):
        return data["y"] * np.log(np.asarray(params["lam"])) - params["lam"]

    data = {"y": np.array([1.0, 3.0, 4.0])}
    counts = np.ones(3)

    def total(theta):
        return (loglik({"lam": theta[:, :1]}, data) * counts).sum(axis=1)

    assert _autodiff.gradient_for(loglik, ("lam",), data, counts, total, [[1.0]]) is None


def test_optimiser_uses_factored_data_on_large_samples():
    from models import bgnbd

    rng = np.random.default_rng(4)
    data = continuous_data(rng, 5000)
    counts = np.ones(5000)
    params = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    theta = np.array([[params[p] for p in bgnbd.PARAMS]])
    model = models.BetaGeo()
    evaluate = _autodiff.gradient_for(
        bgnbd.loglik, bgnbd.PARAMS, data, counts, model._total_loglik(data, counts), theta
    )
    assert evaluate is not None and evaluate.factored


def test_maximize_with_exact_gradient_reproduces_closed_form_poisson_mle():
    # Two independent Poisson rates: MLE = sample means, var(log lambda) = 1 / (n lambda).
    n_group, mean_group = np.array([50.0, 80.0]), np.array([3.2, 0.7])

    def total(theta):
        return (n_group * (mean_group * np.log(theta) - theta)).sum(axis=1)

    def value_and_gradient(theta):
        return total(theta), n_group * (mean_group / theta - 1)

    result = _mle.maximize(
        total,
        ("lam1", "lam2"),
        [1.0, 1.0],
        n_group.sum(),
        2,
        value_and_gradient=value_and_gradient,
    )
    np.testing.assert_allclose(list(result.params.values()), mean_group, rtol=1e-7)
    np.testing.assert_allclose(
        result.cov_log, np.diag(1 / (n_group * mean_group)), rtol=1e-8, atol=1e-14
    )


def test_gradient_for_falls_back_to_plain_data_when_a_loglik_needs_numpy_on_data():
    # Gamma-Gamma's loglik calls np.maximum / np.where on x: it cannot run on factored data.
    module, theta, data, counts = random_case("gamma_gamma", 9, n=3000)
    evaluate = _autodiff.gradient_for(
        module.loglik, module.PARAMS, data, counts, numpy_total(module, data, counts), theta
    )
    assert evaluate is not None and not evaluate.factored
    fd = central_differences(numpy_total(module, data, counts), theta)
    np.testing.assert_allclose(evaluate(theta[None, :])[1][0], fd, rtol=1e-5)
