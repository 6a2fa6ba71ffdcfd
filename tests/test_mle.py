"""Tests of the maximum-likelihood engine (models/_mle.py) and the shared model class
(models/_base.py, models/_patterns.py): compression, summary, AIC/BIC, save/load, multi-start,
penalizer, convergence errors, not-fitted errors, untouched inputs, customer ids, Laplace draws.

The engine is tested on a problem with a closed-form answer (independent Poisson rates:
MLE = sample mean, variance = mean / n, and a closed-form penalised optimum); the shared
class through BetaGeo on CDNOW, the exemplar model.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import models
from models import _blas, _mle, _patterns
from models._validation import ConvergenceError, NotFittedError, ValidationError
from models.pareto_nbd import ParetoNBD

# ----------------------------------------------------------------------------------- engine
#: Two independent Poisson rates: group sizes and sample means.
N_GROUP = np.array([50.0, 80.0])
MEAN_GROUP = np.array([3.2, 0.7])


def poisson_total_loglik(theta: np.ndarray) -> np.ndarray:
    """(m, 2) rates -> (m,) log-likelihood of the two groups (constants dropped)."""
    return (N_GROUP * (MEAN_GROUP * np.log(theta) - theta)).sum(axis=1)


def maximize_poisson(**kwargs) -> _mle.MLEResult:
    return _mle.maximize(
        poisson_total_loglik, ("lam1", "lam2"), [1.0, 1.0], N_GROUP.sum(), 2, **kwargs
    )


def test_maximize_finds_closed_form_mle_and_covariance():
    result = maximize_poisson()
    np.testing.assert_allclose(list(result.params.values()), MEAN_GROUP, rtol=1e-6)
    # Observed information n / lambda: var(lambda) = lambda / n; var(log lambda) = 1/(n lambda).
    np.testing.assert_allclose(result.cov, np.diag(MEAN_GROUP / N_GROUP), rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(
        result.cov_log, np.diag(1 / (N_GROUP * MEAN_GROUP)), rtol=1e-5, atol=1e-12
    )
    expected_ll = float(poisson_total_loglik(MEAN_GROUP[None, :])[0])
    assert abs(result.log_likelihood - expected_ll) < 1e-9
    assert result.gradient_max < _mle.GRADIENT_TOLERANCE
    assert len(result.starts) == 1


def test_maximize_penalizer_matches_closed_form():
    # Objective per customer: -LL / N + pen * sum(theta^2) (lifetimes' convention). Setting its
    # derivative to 0: 2 k lam^2 + lam - mean = 0 with k = pen * N / n_group.
    pen = 0.05
    k = pen * N_GROUP.sum() / N_GROUP
    closed_form = (-1 + np.sqrt(1 + 8 * k * MEAN_GROUP)) / (4 * k)
    result = maximize_poisson(penalizer=pen)
    np.testing.assert_allclose(list(result.params.values()), closed_form, rtol=1e-6)
    assert np.all(closed_form < MEAN_GROUP)
    # The reported log-likelihood is the unpenalised one at the penalised estimate.
    expected_ll = float(poisson_total_loglik(closed_form[None, :])[0])
    assert abs(result.log_likelihood - expected_ll) < 1e-6


def bimodal_total_loglik(theta: np.ndarray) -> np.ndarray:
    """One parameter; in u = log(theta) two maxima, near u = -0.92 (lower) and u = 1.07."""
    u = np.log(theta[:, 0])
    return -((u**2 - 1) ** 2) + 0.3 * u


def test_maximize_multistart_picks_the_best_start_reproducibly():
    start = [np.exp(-1.0)]
    single = _mle.maximize(bimodal_total_loglik, ("theta",), start, 1.0, 1)
    assert np.log(single.params["theta"]) < 0  # stuck at the lower local maximum
    runs = [
        _mle.maximize(
            bimodal_total_loglik,
            ("theta",),
            start,
            1.0,
            1,
            n_starts=8,
            rng=np.random.default_rng(2),
        )
        for _ in range(2)
    ]
    assert np.log(runs[0].params["theta"]) > 0  # the global maximum
    assert runs[0].log_likelihood > single.log_likelihood
    assert len(runs[0].starts) == 8
    assert runs[0].starts == runs[1].starts  # same seed, same starts, same results
    assert runs[0].params == runs[1].params
    best = min(run["objective"] for run in runs[0].starts)
    assert -runs[0].log_likelihood == pytest.approx(best, abs=1e-12)


def test_maximize_multistart_needs_a_generator():
    with pytest.raises(ValueError, match="random_seed"):
        maximize_poisson(n_starts=3)


HINT = "n_starts=10 with a random_seed"


def test_convergence_error_when_loglik_is_never_finite():
    def nowhere(theta):
        return np.full(theta.shape[0], np.nan)

    with pytest.raises(ConvergenceError, match="not finite at any point") as info:
        _mle.maximize(nowhere, ("p",), [1.0], 10.0, 1, model_name="Toy")
    assert str(info.value).startswith("Toy:")
    assert HINT in str(info.value)


def test_convergence_error_names_the_parameter_that_runs_away():
    def unbounded(theta):  # increases without limit in mu; sigma has a maximum at 1
        return theta[:, 0] - (np.log(theta[:, 1])) ** 2

    with pytest.raises(ConvergenceError, match=r"\['mu'\] ran to the edge") as info:
        _mle.maximize(unbounded, ("mu", "sigma"), [1.0, 1.0], 1.0, 1, model_name="Toy")
    assert HINT in str(info.value)


def test_convergence_error_on_a_flat_direction():
    def flat(theta):  # nu does not enter: the Hessian is singular
        return poisson_total_loglik(theta[:, :2])

    with pytest.raises(ConvergenceError, match="not positive definite") as info:
        _mle.maximize(flat, ("lam1", "lam2", "nu"), [1.0, 1.0, 1.0], 130.0, 2)
    assert HINT in str(info.value)


def test_convergence_error_when_iterations_run_out():
    with pytest.raises(ConvergenceError, match="gradient is") as info:
        maximize_poisson(max_iterations=1)
    assert "start(s)" in str(info.value) and HINT in str(info.value)


def test_batched_evaluation_equals_one_call(monkeypatch):
    theta = np.exp(np.random.default_rng(0).normal(size=(37, 2)))
    whole = _mle.batched(poisson_total_loglik, n_rows=2)(theta)
    monkeypatch.setattr(_mle, "MAX_BATCH_ELEMENTS", 10)  # 5 points per call
    sliced = _mle.batched(poisson_total_loglik, n_rows=2)(theta)
    np.testing.assert_array_equal(whole, sliced)
    np.testing.assert_array_equal(whole, poisson_total_loglik(theta))


# ----------------------------------------------------------------------------------- compression
def test_compress_patterns_counts_and_reconstructs(cdnow_summary):
    arrays = {
        "x": cdnow_summary["frequency"].to_numpy(),
        "t_x": cdnow_summary["recency"].to_numpy(),
        "T": cdnow_summary["T"].to_numpy(),
    }
    patterns, counts = _patterns.compress_patterns(arrays)
    assert counts.sum() == len(cdnow_summary)
    assert counts.size == len(cdnow_summary.drop_duplicates())
    stacked = np.column_stack([np.repeat(patterns[k], counts.astype(int)) for k in arrays])
    original = np.column_stack([arrays[k].astype(float) for k in arrays])
    np.testing.assert_array_equal(
        stacked[np.lexsort(stacked.T[::-1])], original[np.lexsort(original.T[::-1])]
    )


def test_compress_patterns_sums_weights():
    patterns, counts = _patterns.compress_patterns(
        {"x": np.array([1, 0, 1, 1]), "T": np.array([2.0, 2.0, 2.0, 3.0])},
        np.array([2.0, 5.0, 3.0, 1.0]),
    )
    keys = zip(patterns["x"].tolist(), patterns["T"].tolist(), strict=True)
    found = dict(zip(keys, counts.tolist(), strict=True))
    assert found == {(0.0, 2.0): 5.0, (1.0, 2.0): 5.0, (1.0, 3.0): 1.0}  # order is free


def test_fit_on_patterns_with_weights_equals_fit_on_customers(cdnow_summary):
    per_customer = models.BetaGeo().fit(cdnow_summary)
    assert per_customer.n_patterns_ == len(cdnow_summary.drop_duplicates())
    assert per_customer.n_customers_ == len(cdnow_summary)
    patterns = cdnow_summary.groupby(["frequency", "recency", "T"]).size().rename("n").reset_index()
    weighted = models.BetaGeo().fit(patterns, weights="n")
    # Same optimum up to the optimiser's precision (pattern order changes rounding): 1e-5 is
    # far inside the standard errors (5-30 % of the estimates).
    np.testing.assert_allclose(weighted.params_, per_customer.params_, rtol=1e-5)
    assert abs(weighted.log_likelihood_ - per_customer.log_likelihood_) < 1e-8
    assert weighted.n_customers_ == len(cdnow_summary)


@pytest.mark.parametrize("bad", [0.0, 1.5, -2.0])
def test_weights_must_be_positive_whole_numbers(cdnow_summary, bad):
    data = cdnow_summary.head(50).assign(n=1.0)
    data.iloc[3, data.columns.get_loc("n")] = bad
    with pytest.raises(ValidationError, match="n must be a positive whole number"):
        models.BetaGeo().fit(data, weights="n")


# ----------------------------------------------------------------------------------- results
@pytest.fixture(scope="module")
def fitted() -> models.BetaGeo:
    return models.BetaGeo().fit(models.datasets.load_cdnow_summary())


def test_summary_table_and_information_criteria(fitted):
    table = fitted.summary()
    assert list(table.columns) == ["estimate", "std_err", "lower", "upper"]
    assert list(table.index) == ["r", "alpha", "a", "b"]
    np.testing.assert_allclose(table["estimate"], fitted.params_)
    np.testing.assert_allclose(table["std_err"], np.sqrt(np.diag(fitted.cov_)))
    assert ((table["lower"] < table["estimate"]) & (table["estimate"] < table["upper"])).all()
    # Wald interval on the log scale: estimate * exp(+-1.96 se_log); symmetric in logs.
    np.testing.assert_allclose(
        np.log(table["upper"]) - np.log(table["estimate"]),
        np.log(table["estimate"]) - np.log(table["lower"]),
    )
    narrower = fitted.summary(interval=0.5)
    assert (narrower["upper"] < table["upper"]).all()
    ll, k, n = fitted.log_likelihood_, 4, 2357
    attrs = table.attrs
    assert attrs["log_likelihood"] == ll
    assert attrs["aic"] == pytest.approx(2 * k - 2 * ll, rel=1e-15)
    assert attrs["bic"] == pytest.approx(k * np.log(n) - 2 * ll, rel=1e-15)
    assert attrs["n_customers"] == n
    assert attrs["time_unit"] == "W"
    assert fitted.aic_ == attrs["aic"] and fitted.bic_ == attrs["bic"]


def test_penalizer_shrinks_and_matches_lifetimes_objective(cdnow_summary):
    # lifetimes minimises -LL / n + penalizer * sum(params^2) on time scaled by 1/max(T); its
    # static objective evaluated on *unscaled* data is the same objective as ours.
    from scipy import optimize

    lifetimes = pytest.importorskip("lifetimes")
    pen = 0.01
    ours = models.BetaGeo(penalizer=pen).fit(cdnow_summary)
    plain = models.BetaGeo().fit(cdnow_summary)
    assert (ours.params_**2).sum() < (plain.params_**2).sum()
    assert ours.log_likelihood_ < plain.log_likelihood_
    x, t_x, T = (cdnow_summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    objective = lifetimes.BetaGeoFitter._negative_log_likelihood
    weights = np.ones_like(T)
    result = optimize.minimize(
        objective,
        np.zeros(4),
        args=(x, t_x, T, weights, pen),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20_000, "maxfev": 40_000},
    )
    np.testing.assert_allclose(ours.params_, np.exp(result.x), rtol=1e-4)
    ours_objective = objective(np.log(ours.params_.to_numpy()), x, t_x, T, weights, pen)
    assert ours_objective <= result.fun + 1e-10


def test_multistart_with_seed_is_reproducible_and_agrees(cdnow_summary, fitted):
    runs = [models.BetaGeo(n_starts=4, random_seed=11).fit(cdnow_summary) for _ in range(2)]
    assert len(runs[0].fit_info_["starts"]) == 4
    assert runs[0].fit_info_["starts"] == runs[1].fit_info_["starts"]
    np.testing.assert_array_equal(runs[0].params_, runs[1].params_)
    np.testing.assert_allclose(runs[0].params_, fitted.params_, rtol=1e-5)
    starts = [run["start"] for run in runs[0].fit_info_["starts"]]
    # the first start: INITIAL, with the time scale alpha at a quarter of the mean T
    mean_T = cdnow_summary["T"].mean()
    assert starts[0] == pytest.approx({**models.BetaGeo.INITIAL, "alpha": mean_T / 4}, rel=1e-12)
    assert len({str(s) for s in starts}) == 4


def test_start_is_unit_invariant(cdnow_summary):
    # alpha and beta start at a quarter of the mean T: the path is the same in days and weeks
    days = cdnow_summary.copy()
    days[["recency", "T"]] *= 7
    weeks_fit, days_fit = ParetoNBD().fit(cdnow_summary), ParetoNBD().fit(days)
    assert days_fit.fit_info_["iterations"] == weeks_fit.fit_info_["iterations"]


def test_convergence_error_on_data_that_cannot_identify_dropout(cdnow_summary):
    # Without repeat purchases a and b drop out of the likelihood (B(a, b+0)/B(a, b) = 1).
    no_repeat = cdnow_summary[cdnow_summary["frequency"] == 0]
    with pytest.raises(ConvergenceError) as info:
        models.BetaGeo().fit(no_repeat)
    message = str(info.value)
    assert message.startswith("BetaGeo:")
    assert "not positive definite" in message or "edge of the parameter space" in message
    assert HINT in message and "penalizer" in message


def test_convergence_error_when_iterations_run_out_in_a_model(cdnow_summary):
    with pytest.raises(ConvergenceError, match=r"BetaGeo: the optimiser stopped .* gradient"):
        models.BetaGeo(max_iterations=1).fit(cdnow_summary)


def test_unknown_method_and_extra_arguments(cdnow_summary):
    with pytest.raises(ValueError, match="method must be"):
        models.BetaGeo().fit(cdnow_summary, method="bfgs")
    with pytest.raises(TypeError, match="method='mle' takes no extra arguments"):
        models.BetaGeo().fit(cdnow_summary, draws=10)


# ----------------------------------------------------------------------------------- not fitted
@pytest.mark.parametrize(
    "use",
    [
        lambda m, d: m.params,
        lambda m, d: m.draws,
        lambda m, d: m.summary(),
        lambda m, d: m.p_alive(d),
        lambda m, d: m.expected_purchases(39, d),
        lambda m, d: m.conditional_probability_of_purchases(1, 39, d),
        lambda m, d: m.expected_purchases_new_customer(39),
        lambda m, d: m.probability_of_purchases(0, 39),
        lambda m, d: m.sample_laplace(10, random_seed=0),
        lambda m, d: m.to_dict(),
        lambda m, d: m.simulate([39.0], np.random.default_rng(0)),
    ],
)
def test_not_fitted_error_says_what_to_call(cdnow_summary, use):
    with pytest.raises(NotFittedError, match=r"BetaGeo is not fitted yet: call \.fit\(data\)"):
        use(models.BetaGeo(), cdnow_summary)


def test_not_fitted_error_is_an_attribute_error():
    assert not hasattr(models.BetaGeo(), "params")  # hasattr works (AttributeError subclass)
    assert issubclass(NotFittedError, ValidationError)


# ----------------------------------------------------------------------------------- inputs, ids
def shuffled_with_string_ids(data: pd.DataFrame, seed: int) -> pd.DataFrame:
    out = data.copy()
    out.index = pd.Index([f"cust-{i:05d}" for i in data.index], name="customer_id")
    return out.iloc[np.random.default_rng(seed).permutation(len(out))]


def test_input_frame_unchanged_by_fit_and_predict(cdnow_summary):
    data = shuffled_with_string_ids(cdnow_summary, 1)
    data.attrs["time_unit"] = "W"
    before = data.copy(deep=True)
    attrs_before = dict(data.attrs)
    model = models.BetaGeo().fit(data)
    model.p_alive(data)
    model.expected_purchases(39, data)
    model.conditional_probability_of_purchases(2, 39, data)
    model.sample_laplace(50, random_seed=0)
    model.expected_purchases(39, data, interval=0.8)
    model.expected_purchases(39, data, return_draws=True)
    pd.testing.assert_frame_equal(data, before, check_exact=True)
    assert data.attrs == attrs_before
    assert data["frequency"].dtype == before["frequency"].dtype


def test_outputs_keep_caller_ids_and_order(cdnow_summary, fitted):
    data = shuffled_with_string_ids(cdnow_summary, 2)
    model = models.BetaGeo().fit(data)
    np.testing.assert_allclose(model.params_, fitted.params_, rtol=1e-5)  # order-free fit
    reference = fitted.expected_purchases(39, cdnow_summary)
    reference.index = pd.Index([f"cust-{i:05d}" for i in reference.index])
    for result in (
        model.expected_purchases(39, data),
        model.p_alive(data),
        model.conditional_probability_of_purchases(0, 39, data),
    ):
        assert result.index.equals(data.index)
    np.testing.assert_allclose(
        model.expected_purchases(39, data).to_numpy(),
        reference.loc[data.index].to_numpy(),
        rtol=1e-6,
    )
    model.sample_laplace(20, random_seed=0)
    table = model.p_alive(data, interval=0.9)
    assert table.index.equals(data.index)
    array = model.p_alive(data, return_draws=True)
    assert array.dims == ("chain", "draw", "customer_id")
    assert list(array["customer_id"].to_numpy()) == list(data.index)


# ----------------------------------------------------------------------------------- save / load
def test_save_load_round_trip(tmp_path, cdnow_summary):
    model = models.BetaGeo(n_starts=2, random_seed=5).fit(cdnow_summary)
    path = tmp_path / "bgnbd.json"
    model.save(path)
    text = path.read_text()
    payload = json.loads(text)  # plain JSON, no pickle
    assert payload["model"] == "BetaGeo"

    # Parameters and metadata only, never the customers: no list as long as the data.
    def longest_list(value) -> int:
        if isinstance(value, dict):
            return max((longest_list(v) for v in value.values()), default=0)
        if isinstance(value, list):
            return max([len(value), *(longest_list(v) for v in value)])
        return 0

    assert longest_list(payload) < 10
    loaded = models.BetaGeo.load(path)
    assert loaded.get_settings() == model.get_settings()
    pd.testing.assert_series_equal(loaded.params, model.params)
    pd.testing.assert_frame_equal(loaded.summary(), model.summary())
    assert loaded.summary().attrs == model.summary().attrs
    pd.testing.assert_series_equal(
        loaded.expected_purchases(39, cdnow_summary), model.expected_purchases(39, cdnow_summary)
    )
    assert loaded.aic_ == model.aic_ and loaded.bic_ == model.bic_


def test_save_load_keeps_laplace_draws(tmp_path, cdnow_summary, fitted):
    model = models.BetaGeo.from_dict(fitted.to_dict()).sample_laplace(100, random_seed=4)
    path = tmp_path / "laplace.json"
    model.save(path)
    loaded = models.BetaGeo.load(path)
    assert loaded.n_draws == 100
    pd.testing.assert_frame_equal(
        loaded.p_alive(cdnow_summary, interval=0.9), model.p_alive(cdnow_summary, interval=0.9)
    )


def test_load_refuses_another_model(tmp_path, fitted):
    class OtherModel(models.BetaGeo):
        pass

    path = tmp_path / "bgnbd.json"
    fitted.save(path)
    with pytest.raises(ValidationError, match="holds a BetaGeo, not a OtherModel"):
        OtherModel.load(path)


# ----------------------------------------------------------------------------------- Laplace
def test_laplace_draws_give_intervals(cdnow_summary, fitted):
    model = models.BetaGeo.from_dict(fitted.to_dict())
    with pytest.raises(ValidationError, match="sample_laplace"):
        model.expected_purchases(39, cdnow_summary, interval=0.9)
    model.sample_laplace(draws=2000, random_seed=8)
    assert model.n_draws == 2000
    assert all(v.shape == (1, 2000) and (v > 0).all() for v in model.draws.values())
    table = model.expected_purchases(39, cdnow_summary, interval=0.9)
    assert list(table.columns) == ["mean", "sd", "lower", "upper"]
    assert table.index.equals(cdnow_summary.index)
    assert (table["lower"] <= table["mean"]).all() and (table["mean"] <= table["upper"]).all()
    assert (table["sd"] > 0).all() and (table["upper"] > table["lower"]).all()
    point = fitted.expected_purchases(39, cdnow_summary)
    assert ((table["lower"] <= point) & (point <= table["upper"])).mean() > 0.99
    population = model.expected_purchases_new_customer([39.0, 78.0], interval=0.9)
    assert list(population.index) == [39.0, 78.0]
    assert (population["lower"] < population["upper"]).all()
    draws = model.expected_purchases(39, cdnow_summary.head(7), return_draws=True)
    assert draws.shape == (1, 2000, 7)
    # The log-draws have the MLE as mean and cov_log_ as covariance (4 Monte Carlo SEs).
    logs = np.log(np.column_stack([model.draws[n][0] for n in model.PARAMS]))
    se = np.sqrt(np.diag(fitted.cov_log_) / 2000)
    assert np.all(np.abs(logs.mean(axis=0) - np.log(fitted.params_.to_numpy())) < 4 * se)
    sd = np.sqrt(np.diag(fitted.cov_log_))
    np.testing.assert_allclose(logs.std(axis=0, ddof=1), sd, rtol=0.1)
    np.testing.assert_allclose(np.corrcoef(logs.T), fitted.cov_log_ / np.outer(sd, sd), atol=0.1)


def test_laplace_draws_are_reproducible(fitted):
    first = models.BetaGeo.from_dict(fitted.to_dict()).sample_laplace(30, random_seed=1)
    second = models.BetaGeo.from_dict(fitted.to_dict()).sample_laplace(30, random_seed=1)
    for name in first.PARAMS:
        np.testing.assert_array_equal(first.draws[name], second.draws[name])


def test_blas_is_held_to_one_thread_inside_the_optimiser_only():
    setter = _blas.openblas_thread_setter()
    if setter is None:  # scipy without its bundled OpenBLAS (not the case of the Linux wheels)
        pytest.skip("scipy's BLAS is not a bundled OpenBLAS here")

    def current() -> int:
        previous = setter(1)  # returns the number it replaces
        setter(previous)
        return previous

    before = current()
    with _blas.one_blas_thread():
        inside = current()
    assert inside == 1
    assert current() == before
