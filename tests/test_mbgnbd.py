"""MBG/NBD (models/mbgnbd.py): published values, lifetimes cross-checks, simulation, properties."""

import numpy as np
import pandas as pd
import pytest
import reference_values as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from lifetimes import ModifiedBetaGeoFitter
from scipy import special

import models
from models import mbgnbd
from models.mbgnbd import ModifiedBetaGeo

# BTYDplus (Platzer), mbgnbd.EstimateParameters on the CDNOW calibration summary
# (/work/shared/REFERENCE.md, "MBG/NBD").
BTYDPLUS = {name: ref.MBGNBD[name].value for name in mbgnbd.PARAMS}
RTOL = 1e-6


@pytest.fixture(scope="module")
def cdnow():
    return models.datasets.load_cdnow_summary()


@pytest.fixture(scope="module")
def fitted(cdnow):
    return ModifiedBetaGeo().fit(cdnow)


@pytest.fixture(scope="module")
def arrays(cdnow):
    return {
        "x": cdnow["frequency"].to_numpy(float),
        "t_x": cdnow["recency"].to_numpy(float),
        "T": cdnow["T"].to_numpy(float),
    }


def lifetimes_at(params):
    """A lifetimes fitter holding the given parameters (no fit, so no time rescaling)."""
    fitter = ModifiedBetaGeoFitter()
    fitter.params_ = pd.Series(params)
    return fitter


# ----------------------------------------------------------------------------- published values
def test_mle_matches_btydplus(fitted):
    # BTYDplus on CDNOW: r = 0.525, alpha = 6.183, a = 0.891, b = 1.614 (REFERENCE.md);
    # tolerance one unit in the third decimal (tests/reference_values.py, MBGNBD).
    for name in BTYDPLUS:
        ref.MBGNBD[name].check(fitted.params[name], what=name)
    assert fitted.fit_info_["gradient_max"] < 1e-4


def test_p_alive_below_one_without_repeat_purchases(fitted, cdnow):
    # BDF07: unlike the BG/NBD, a customer can drop out right after the first purchase.
    alive = fitted.p_alive(cdnow)
    zero = cdnow["frequency"] == 0
    r, alpha, a, b = (fitted.params[k] for k in mbgnbd.PARAMS)
    expected = 1 / (1 + a / b * ((alpha + cdnow.loc[zero, "T"]) / alpha) ** r)
    np.testing.assert_allclose(alive[zero], expected, rtol=1e-12)
    assert alive[zero].max() < 0.7


# ----------------------------------------------------------------------------- lifetimes
@pytest.mark.parametrize("params", [BTYDPLUS, {"r": 0.3, "alpha": 2.0, "a": 1.7, "b": 0.6}])
def test_loglik_per_customer_matches_lifetimes(params, arrays):
    log_params = np.log([params[k] for k in mbgnbd.PARAMS])
    x, t_x, T = arrays["x"], arrays["t_x"], arrays["T"]
    # lifetimes' static objective is the weighted mean: one customer at a time gives each term.
    theirs = np.array(
        [
            -ModifiedBetaGeoFitter._negative_log_likelihood(
                log_params, x[i : i + 1], t_x[i : i + 1], T[i : i + 1], np.ones(1), 0.0
            )
            for i in range(x.size)
        ]
    )
    np.testing.assert_allclose(mbgnbd.loglik(params, arrays), theirs, rtol=RTOL)


def test_predictions_match_lifetimes(fitted, cdnow, arrays):
    theirs = lifetimes_at(fitted.params.to_dict())
    x, t_x, T = arrays["x"], arrays["t_x"], arrays["T"]
    np.testing.assert_allclose(
        fitted.p_alive(cdnow), theirs.conditional_probability_alive(x, t_x, T), rtol=RTOL
    )
    for t in (1.0, 39.0, 100.0):
        np.testing.assert_allclose(
            fitted.expected_purchases(t, cdnow),
            theirs.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T),
            rtol=RTOL,
        )
    t = np.array([0.1429, 1, 3, 31.8571, 32, 78, 500])
    np.testing.assert_allclose(
        fitted.expected_purchases_new_customer(t),
        theirs.expected_number_of_purchases_up_to_time(t),
        rtol=RTOL,
    )


@pytest.mark.parametrize("t", [1.0, 39.0, 78.0])
def test_probability_of_purchases_matches_lifetimes(fitted, t):
    theirs = lifetimes_at(fitted.params.to_dict())
    # n <= 10: beyond, lifetimes' 1 - finite sum loses digits at small t (see the next test).
    for n in range(11):
        assert fitted.probability_of_purchases(n, t) == pytest.approx(
            theirs.probability_of_n_purchases_up_to_time(t, n), rel=RTOL
        )


def test_probability_of_purchases_far_tail():
    # P(X(1) = 20): the negative binomial tail P(N >= 20) summed term by term (no cancellation).
    r, alpha, a, b = (BTYDPLUS[k] for k in mbgnbd.PARAMS)
    n, t = 20, 1.0
    j = np.arange(n, 5000)
    log_nb = (
        special.gammaln(r + j)
        - special.gammaln(r)
        - special.gammaln(j + 1)
        + r * np.log(alpha / (alpha + t))
        + j * np.log(t / (alpha + t))
    )
    tail = np.exp(log_nb).sum()
    expected = (
        np.exp(special.betaln(a, b + n + 1) - special.betaln(a, b) + log_nb[0])
        + np.exp(special.betaln(a + 1, b + n) - special.betaln(a, b)) * tail
    )
    p = {k: np.array([v]) for k, v in BTYDPLUS.items()}
    assert mbgnbd.probability_of_purchases(p, n, t)[0] == pytest.approx(expected, rel=1e-9)


def test_conditional_pmf_consistent_with_expectation(fitted, cdnow):
    sample = cdnow.iloc[[0, 1, 5, 10, 100]]
    n = np.arange(0, 400)
    probs = np.array([fitted.conditional_probability_of_purchases(k, 39.0, sample) for k in n])
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, rtol=1e-9)
    np.testing.assert_allclose(
        (n[:, None] * probs).sum(axis=0), fitted.expected_purchases(39.0, sample), rtol=1e-8
    )


def test_numpy_and_pytensor_logliks_agree(arrays):
    import pytensor
    import pytensor.tensor as pt

    from models._ops import pytensor_ops

    symbols = {k: pt.dscalar(k) for k in mbgnbd.PARAMS}
    graph = mbgnbd.loglik(symbols, arrays, pytensor_ops())
    function = pytensor.function(list(symbols.values()), graph)
    np.testing.assert_allclose(
        function(*BTYDPLUS.values()), mbgnbd.loglik(BTYDPLUS, arrays), rtol=1e-12
    )


# ----------------------------------------------------------------------------- simulation
def test_simulate_is_reproducible_and_matches_closed_forms():
    T = np.full(20_000, 39.0)
    first = mbgnbd.simulate(BTYDPLUS, T, np.random.default_rng(7))
    again = mbgnbd.simulate(BTYDPLUS, T, np.random.default_rng(7))
    pd.testing.assert_frame_equal(first, again)
    assert (first["recency"] <= first["T"]).all()
    assert ((first["frequency"] == 0) == (first["recency"] == 0)).all()
    p = {k: np.array([v]) for k, v in BTYDPLUS.items()}
    x = first["frequency"].to_numpy()
    mean = mbgnbd.expected_purchases_new_customer(p, 39.0)[0]
    assert abs(x.mean() - mean) < 4 * x.std() / np.sqrt(x.size)
    p0 = mbgnbd.probability_of_purchases(p, 0, 39.0)[0]
    assert abs((x == 0).mean() - p0) < 4 * np.sqrt(p0 * (1 - p0) / x.size)


def test_simulate_then_fit_smoke():
    truth = BTYDPLUS
    rng = np.random.default_rng(11)
    data = mbgnbd.simulate(truth, rng.uniform(26, 39, size=3000), rng)
    model = ModifiedBetaGeo().fit(data)
    estimate = model.params
    assert all(abs(np.log(estimate[k] / truth[k])) < 0.5 for k in truth), estimate.to_dict()
    total_at_truth = mbgnbd.loglik(truth, model._fit_arrays(data)).sum()
    assert model.log_likelihood_ >= total_at_truth


@pytest.mark.slow
def test_parameter_recovery_large_sample():
    truth = {"r": 0.8, "alpha": 5.0, "a": 1.2, "b": 2.5}
    rng = np.random.default_rng(2024)
    data = mbgnbd.simulate(truth, rng.uniform(30, 78, size=200_000), rng)
    estimate = ModifiedBetaGeo().fit(data).params
    for name, value in truth.items():
        assert estimate[name] == pytest.approx(value, rel=0.08), name


# ----------------------------------------------------------------------------- properties
positive = st.floats(-4, 4).map(lambda e: 10.0**e)
moderate = st.floats(-1, 1).map(lambda e: 10.0**e)


@st.composite
def customers(draw, max_x=500, min_T=0.01):
    x = draw(st.integers(0, max_x))
    T = draw(st.floats(min_T, 1000))
    t_x = 0.0 if x == 0 else T * draw(st.floats(0, 1))
    return np.array([float(x)]), np.array([t_x]), np.array([T])


def as_params(values):
    return {k: np.array([[v]]) for k, v in zip(mbgnbd.PARAMS, values, strict=True)}


@settings(max_examples=50, deadline=None)
@given(st.tuples(positive, positive, positive, positive), customers())
def test_conditional_predictions_are_valid(values, customer):
    params = as_params(values)
    x, t_x, T = customer
    assert np.isfinite(mbgnbd.loglik(params, {"x": x, "t_x": t_x, "T": T})).all()
    alive = mbgnbd.p_alive(params, x, t_x, T)
    assert np.all((alive >= 0) & (alive <= 1))
    t = np.array([0.0, 0.01, 1.0, 10.0, 100.0, 1000.0, 1e5])
    expected = np.array([mbgnbd.expected_purchases(params, s, x, t_x, T)[0, 0] for s in t])
    assert np.isfinite(expected).all()
    assert expected[0] == 0
    assert np.all(np.diff(expected) >= -1e-9 * expected[1:])
    pmf0 = mbgnbd.conditional_probability_of_purchases(params, 0, 10.0, x, t_x, T)
    assert np.all(np.isfinite(pmf0) & (pmf0 >= 0) & (pmf0 <= 1 + 1e-12))


@settings(max_examples=50, deadline=None)
@given(st.tuples(positive, positive, positive, positive))
def test_new_customer_expectation_is_valid(values):
    params = as_params(values)
    t = np.array([0.0, 1e-3, 1.0, 39.0, 1000.0, 1e6])
    expected = mbgnbd.expected_purchases_new_customer(params, t)[0]
    assert np.isfinite(expected).all() and expected[0] == 0
    assert np.all(np.diff(expected) >= -1e-9 * expected[1:])


@settings(max_examples=50, deadline=None)
@given(st.tuples(moderate, moderate, moderate, moderate), st.floats(0.1, 50), customers(50, 1.0))
def test_probabilities_sum_to_one(values, t, customer):
    params = as_params(values)
    n = np.arange(0, 20_000)
    new = mbgnbd.probability_of_purchases(params, n, t)
    assert np.isfinite(new).all() and new.min() >= 0
    assert new.sum() == pytest.approx(1.0, abs=1e-6)
    x, t_x, T = customer
    conditional = mbgnbd.conditional_probability_of_purchases(params, n, t, x, t_x, T)
    assert np.isfinite(conditional).all() and conditional.min() >= 0
    assert conditional.sum() == pytest.approx(1.0, abs=1e-6)
