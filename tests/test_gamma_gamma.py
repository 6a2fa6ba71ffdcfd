"""Tests of the Gamma-Gamma spend model (models/gamma_gamma.py).

Published numbers: Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value", note 025
("N025"), and Fader, Hardie & Lee (2005), "RFM and CLV", JMR 42(4) ("FHL05"); collected in
/work/shared/REFERENCE.md. Tolerance: one unit in the last published digit.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import models
from models import gamma_gamma as gg_module
from models._validation import ValidationError
from models.gamma_gamma import GammaGamma, SpendFrequencyCorrelationWarning

PUBLISHED = {"p": 6.25, "q": 3.74, "gamma": 15.44}  # N025 Sec. 3 / FHL05: CDNOW MLE


def load_cdnow_spend() -> pd.DataFrame:
    path = models.datasets.path("cdnow_customers_summary_with_transactions.csv")
    frame = pd.read_csv(path).rename(
        columns={"ID": "customer_id", "x": "frequency", "t_x": "recency", "zbar": "monetary_value"}
    )
    return frame.set_index("customer_id")


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_spend()


@pytest.fixture(scope="module")
def fitted(cdnow) -> GammaGamma:
    return GammaGamma().fit(cdnow)


def arrays(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {
        "x": frame["frequency"].to_numpy(float),
        "z": frame["monetary_value"].to_numpy(float),
    }


# ---------------------------------------------------------------- published values
def test_published_parameters(fitted):
    # N025 Sec. 3 (Excel Solver MLE on the 946 CDNOW repeat customers): p = 6.25, q = 3.74,
    # gamma = 15.44.
    assert fitted.params["p"] == pytest.approx(6.25, abs=0.01)
    assert fitted.params["q"] == pytest.approx(3.74, abs=0.01)
    assert fitted.params["gamma"] == pytest.approx(15.44, abs=0.01)


def test_fit_excludes_one_time_buyers(fitted, cdnow):
    # REFERENCE.md (FHL05 data): 946 customers with x > 0, 1,411 with x = 0.
    assert fitted.n_customers_ == 946
    assert fitted.n_excluded_ == 1411
    attrs = fitted.summary().attrs
    assert attrs["n_excluded"] == 1411
    assert "946 repeat customers" in attrs["note"] and "1411" in attrs["note"]


def test_fit_logs_exclusion(cdnow, caplog):
    with caplog.at_level(logging.INFO, logger="models.gamma_gamma"):
        GammaGamma().fit(cdnow)
    assert any("1411" in r.getMessage() and "excluded" in r.getMessage() for r in caplog.records)


def test_published_conditional_expected_spend(fitted, cdnow):
    # N025 Sec. 3 (spreadsheet): E(Z | zbar, x) for CDNOW customers 1..10 at the MLE.
    published = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17]
    ours = fitted.conditional_expected_average_spend(cdnow.head(10))
    np.testing.assert_allclose(ours.to_numpy(), published, atol=0.01)
    assert ours.index.tolist() == list(range(1, 11))
    # Customer 1 is 24.6586 here because the CSV rounds zbar = (29.73 + 14.96) / 2 = 22.345
    # (CDNOW_sample.txt, customer 0001) to 22.35; with the exact mean it rounds to 24.65.
    exact = gg_module.conditional_expected_average_spend(fitted.params.to_dict(), 2, 22.345)
    assert round(float(exact), 2) == 24.65


def test_published_log_likelihood_is_average_spend(fitted, cdnow):
    # N025 Sec. 3: LL = -4055.9 is the density of the *average* spend zbar (eq. 1a/1b).
    assert fitted.log_likelihood_ == pytest.approx(-4055.9, abs=0.1)
    assert fitted.summary().attrs["log_likelihood"] == pytest.approx(-4055.9, abs=0.1)
    # FHL05 Sec. 4: the 39-week optimum -4659 is the density of the *total* spend x * zbar,
    # i.e. the average-spend LL minus sum(ln x) over the 946 repeat customers.
    assert fitted.log_likelihood_total_spend_ == pytest.approx(-4659, abs=1)
    repeat = cdnow[cdnow["frequency"] > 0]
    sum_log_x = np.log(repeat["frequency"]).sum()
    assert fitted.log_likelihood_ - fitted.log_likelihood_total_spend_ == pytest.approx(
        sum_log_x, rel=1e-12
    )
    # The same two numbers at the published (rounded) parameters.
    data = arrays(repeat)
    assert gg_module.loglik(PUBLISHED, data).sum() == pytest.approx(-4055.9, abs=0.1)
    assert gg_module.loglik_total(PUBLISHED, data).sum() == pytest.approx(-4659, abs=1)


def test_published_population_mean(fitted, cdnow):
    repeat = cdnow[cdnow["frequency"] > 0]
    # N025 Sec. 3: observed mean of zbar over repeat customers is $35.08 ...
    assert repeat["monetary_value"].mean() == pytest.approx(35.08, abs=0.01)
    # ... and E(Z) = p gamma / (q - 1) = $35.2 (REFERENCE.md), "a mere nine cents" above it.
    assert fitted.mean_spend() == pytest.approx(35.2, abs=0.1)
    assert fitted.mean_spend() - 35.08 == pytest.approx(0.09, abs=0.01)
    assert gg_module.mean_spend(PUBLISHED) == pytest.approx(35.2, abs=0.1)


def test_cdnow_does_not_warn_about_correlation(cdnow):
    # FHL05 Sec. 2.2: correlation of average spend and number of transactions is 0.11.
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpendFrequencyCorrelationWarning)
        model = GammaGamma().fit(cdnow)
    assert model.spend_frequency_correlation_ == pytest.approx(0.11, abs=0.01)


def test_correlated_data_warns():
    rng = np.random.default_rng(11)
    x = 1 + rng.poisson(3.0, size=500)
    z = 10.0 * x * rng.gamma(20.0, 1 / 20.0, size=500)  # spend grows with frequency
    data = pd.DataFrame({"frequency": x, "monetary_value": z})
    with pytest.warns(SpendFrequencyCorrelationWarning, match="correlated") as record:
        model = GammaGamma().fit(data)
    assert model.spend_frequency_correlation_ > gg_module.CORRELATION_THRESHOLD
    assert record[0].filename == __file__  # the warning points at the caller's fit() line


# ---------------------------------------------------------------- against lifetimes
def test_matches_lifetimes(fitted, cdnow):
    from lifetimes import GammaGammaFitter

    repeat = cdnow[cdnow["frequency"] > 0]
    theirs = GammaGammaFitter(penalizer_coef=0.0).fit(repeat["frequency"], repeat["monetary_value"])
    their_ll = -theirs._negative_log_likelihood_ * len(repeat)
    assert fitted.log_likelihood_ == pytest.approx(their_ll, abs=1e-4)
    ours = fitted.params.to_numpy()
    np.testing.assert_allclose(ours, theirs.params_[["p", "q", "v"]].to_numpy(), rtol=1e-5)

    # Equal parameters: expected spend for all 2,357 customers, and the log-likelihood.
    p, q, gamma = ours
    theirs.params_ = pd.Series({"p": p, "q": q, "v": gamma})
    expected = theirs.conditional_expected_average_profit(
        cdnow["frequency"], cdnow["monetary_value"]
    )
    np.testing.assert_allclose(
        fitted.conditional_expected_average_spend(cdnow).to_numpy(),
        np.asarray(expected),
        rtol=1e-6,
    )
    nll = GammaGammaFitter._negative_log_likelihood(
        np.log(ours),
        repeat["frequency"].to_numpy(float),
        repeat["monetary_value"].to_numpy(float),
        np.ones(len(repeat)),
        0.0,
    )
    per_row = gg_module.loglik(fitted.params.to_dict(), arrays(cdnow))
    assert per_row.sum() == pytest.approx(-nll * len(repeat), rel=1e-6)


# ---------------------------------------------------------------- refusals and plumbing
def test_mean_spend_refuses_q_at_most_one(fitted):
    with pytest.raises(ValidationError, match="does not exist for q <= 1"):
        gg_module.mean_spend({"p": 2.0, "q": 0.9, "gamma": 3.0})
    with pytest.raises(ValidationError, match="does not exist for q <= 1"):
        gg_module.mean_spend({"p": 2.0, "q": 1.0, "gamma": 3.0})
    payload = fitted.to_dict()
    payload["params"] = {"p": 2.0, "q": 0.8, "gamma": 3.0}
    payload["draws"] = {"p": [[2.0]], "q": [[0.8]], "gamma": [[3.0]]}
    heavy = GammaGamma.from_dict(payload)
    with pytest.raises(ValidationError, match="q <= 1"):
        heavy.mean_spend()
    with pytest.raises(ValidationError, match="p\\*x \\+ q <= 1"):
        heavy.conditional_expected_average_spend(
            pd.DataFrame({"frequency": [0, 2], "monetary_value": [0, 5]})
        )
    # With repeat purchases the posterior mean still exists (p x + q > 1).
    value = gg_module.conditional_expected_average_spend(payload["params"], 2, 5.0)
    assert value == pytest.approx(2.0 * (3.0 + 10.0) / (4.0 + 0.8 - 1))
    with pytest.raises(ValidationError, match="q <= 2"):
        gg_module.mean_spend_variance({"p": 2.0, "q": 1.5, "gamma": 3.0})


def test_population_variance(fitted):
    p, q, gamma = fitted.params.to_numpy()
    assert fitted.mean_spend_variance() == pytest.approx(
        (p * gamma) ** 2 / ((q - 1) ** 2 * (q - 2)), rel=1e-12
    )


def test_intervals_over_laplace_draws(cdnow):
    model = GammaGamma().fit(cdnow).sample_laplace(400, random_seed=4)
    mean = model.mean_spend(interval=0.9)
    assert mean["lower"] < 35.17 < mean["upper"]  # N025 MLE-implied E(Z) inside its interval
    table = model.conditional_expected_average_spend(cdnow.head(10), interval=0.9)
    assert list(table.columns) == ["mean", "sd", "lower", "upper"]
    assert (table["lower"] < table["mean"]).all() and (table["mean"] < table["upper"]).all()
    assert model.simulate_spend(1, cdnow.head(10), np.random.default_rng(0), size=50).shape == (
        50,
        10,
    )


def test_all_one_time_buyers_refused():
    data = pd.DataFrame({"frequency": [0, 0, 0], "monetary_value": [0.0, 0.0, 0.0]})
    with pytest.raises(ValidationError, match="frequency > 0"):
        GammaGamma().fit(data)


def test_save_load_round_trip(fitted, cdnow, tmp_path):
    fitted.save(tmp_path / "gg.json")
    loaded = GammaGamma.load(tmp_path / "gg.json")
    assert loaded.n_excluded_ == 1411
    assert loaded.log_likelihood_total_spend_ == fitted.log_likelihood_total_spend_
    pd.testing.assert_series_equal(
        loaded.conditional_expected_average_spend(cdnow),
        fitted.conditional_expected_average_spend(cdnow),
    )


def test_numpy_and_pytensor_loglik_agree(cdnow):
    import pytensor
    import pytensor.tensor as pt

    from models._ops import pytensor_ops

    data = arrays(cdnow)
    values = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    symbols = {name: pt.dscalar(name) for name in gg_module.PARAMS}
    graph = gg_module.loglik(symbols, data, pytensor_ops())
    function = pytensor.function(list(symbols.values()), graph)
    np.testing.assert_allclose(
        function(*values.values()), gg_module.loglik(values, data), rtol=1e-10
    )


# ---------------------------------------------------------------- simulation
def test_simulate_spend_matches_conditional_moments(fitted):
    params = fitted.params.to_dict()
    x = np.array([0.0, 1.0, 7.0])
    z = np.array([0.0, 100.0, 20.0])
    rng = np.random.default_rng(5)
    draws = gg_module.simulate_spend(params, 4, x, z, rng, size=200_000)
    assert draws.shape == (200_000, 3)
    expected = gg_module.conditional_expected_average_spend(params, x, z)
    np.testing.assert_allclose(draws.mean(axis=0), expected, rtol=0.01)
    # Many future transactions: their average approaches the latent mean zeta, whose
    # posterior variance is the conditional variance. (Not checked at x = 0: with q < 4 the
    # prior has no fourth moment, so the sample variance converges too slowly to test.)
    many = gg_module.simulate_spend(params, 10_000, x[1:], z[1:], rng, size=200_000)
    variance = gg_module.conditional_variance_average_spend(params, x[1:], z[1:])
    np.testing.assert_allclose(many.var(axis=0), variance, rtol=0.03)
    zero = gg_module.simulate_spend(params, np.array([0, 3, 0]), x, z, rng)
    assert zero[0] == 0.0 and zero[2] == 0.0 and zero[1] > 0


def test_class_simulate_spend_shape(fitted, cdnow):
    out = fitted.simulate_spend(2, cdnow.head(5), np.random.default_rng(1), size=7)
    assert out.shape == (7, 5)
    assert np.all(np.isfinite(out)) and np.all(out > 0)


def _check_recovery(n_customers: int, seed: int, z_limit: float, rel_limit: float) -> None:
    truth = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    rng = np.random.default_rng(seed)
    x = 1 + rng.poisson(2.0, size=n_customers)
    data = gg_module.simulate(truth, x, rng)
    model = GammaGamma().fit(data)
    table = model.summary()
    for name, true_value in truth.items():
        estimate, se = table.loc[name, "estimate"], table.loc[name, "std_err"]
        assert abs(estimate - true_value) < z_limit * se, (name, estimate, se)
        assert abs(estimate / true_value - 1) < rel_limit, (name, estimate)


def test_simulate_then_fit_smoke():
    _check_recovery(3_000, seed=2, z_limit=4.0, rel_limit=0.5)


@pytest.mark.slow
def test_parameter_recovery_large():
    _check_recovery(300_000, seed=3, z_limit=4.0, rel_limit=0.05)


# ---------------------------------------------------------------- properties
positive = st.floats(1e-3, 1e6)
q_above_one = st.floats(1.0 + 1e-6, 1e6)
counts = st.integers(0, 5_000)


@settings(max_examples=50, deadline=None)
@given(p=positive, q=q_above_one, gamma=positive, x=counts, z=st.floats(1e-3, 1e6))
def test_expected_spend_is_weighted_average(p, q, gamma, x, z):
    params = {"p": p, "q": q, "gamma": gamma}
    value = float(gg_module.conditional_expected_average_spend(params, x, z))
    population = float(gg_module.mean_spend(params))
    assert np.isfinite(value) and value > 0
    low, high = (population, population) if x == 0 else sorted((population, z))
    assert low * (1 - 1e-12) <= value <= high * (1 + 1e-12)


@settings(max_examples=50, deadline=None)
@given(
    p=st.floats(1e-4, 1e6),
    q=st.floats(1e-4, 1e6),
    gamma=st.floats(1e-4, 1e6),
    x=counts,
    z=st.floats(1e-3, 1e6),
)
def test_loglik_finite_for_extreme_inputs(p, q, gamma, x, z):
    params = {"p": p, "q": q, "gamma": gamma}
    data = {"x": np.array([float(x), 0.0]), "z": np.array([z, 0.0])}
    values = gg_module.loglik(params, data)
    assert np.all(np.isfinite(values))
    assert values[1] == 0.0  # x = 0 carries no spend information
