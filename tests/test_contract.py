"""The contract every model keeps, checked for each model on its authors' data set.

fit returns self; a clear error before fit; numpy and pytensor log-likelihoods agree; the fit
does not depend on how customers are grouped into patterns; save/load round trip; the
caller's frame is unchanged; outputs keep the caller's ids and order; draws give intervals
and ``(chain, draw, customer)`` arrays.
"""

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

import models
from models import _mle
from models._bayes import SamplingWarning
from models._ops import NUMPY, pytensor_ops
from models._validation import NotFittedError
from models.bgbb import BetaGeoBetaBinom
from models.gamma_gamma import GammaGamma
from models.mbgnbd import ModifiedBetaGeo
from models.pareto_nbd import ParetoNBD


def _cdnow_with_spend() -> pd.DataFrame:
    frame = pd.read_csv(
        models.datasets.path("cdnow_customers_summary_with_transactions.csv"), index_col=0
    ).rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    frame.index.name = "customer_id"
    frame.attrs["time_unit"] = "W"
    return frame


def _donations_per_donor() -> pd.DataFrame:
    """The donations patterns expanded to one row per donor (11,104 rows)."""
    patterns = models.datasets.load_donations()
    rows = patterns.loc[patterns.index.repeat(patterns["weights"].astype(int))]
    frame = rows.drop(columns="weights").reset_index(drop=True)
    frame.index.name = "donor_id"
    frame.attrs["time_unit"] = "Y"
    return frame


@dataclass(frozen=True)
class Case:
    model: type
    data: Any
    predict: Any  # (model, data) -> Series of one per-customer prediction

    @property
    def id(self) -> str:
        return self.model.__name__


CASES = [
    Case(models.BetaGeo, _cdnow_with_spend, lambda m, d, **kw: m.expected_purchases(39, d, **kw)),
    Case(ParetoNBD, _cdnow_with_spend, lambda m, d, **kw: m.expected_purchases(39, d, **kw)),
    Case(ModifiedBetaGeo, _cdnow_with_spend, lambda m, d, **kw: m.expected_purchases(39, d, **kw)),
    Case(
        BetaGeoBetaBinom, _donations_per_donor, lambda m, d, **kw: m.expected_purchases(5, d, **kw)
    ),
    Case(
        GammaGamma,
        _cdnow_with_spend,
        lambda m, d, **kw: m.conditional_expected_average_spend(d, **kw),
    ),
]


@pytest.fixture(params=CASES, ids=[c.id for c in CASES], scope="module")
def case(request):
    return request.param


@pytest.fixture(scope="module")
def fitted(case):
    data = case.data()
    return case.model().fit(data), data


def test_fit_returns_self_with_positive_finite_params(case):
    model = case.model()
    assert model.fit(case.data()) is model
    assert list(model.params.index) == list(case.model.PARAMS)
    assert np.all(np.isfinite(model.params)) and np.all(model.params > 0)
    assert np.isfinite(model.log_likelihood_)


def test_not_fitted_error_says_what_to_call(case):
    model = case.model()
    with pytest.raises(NotFittedError, match=r"call \.fit"):
        model.params  # noqa: B018
    with pytest.raises(NotFittedError, match=r"call \.fit"):
        case.predict(model, case.data())


def test_numpy_and_pytensor_loglik_agree(fitted):
    import pytensor

    model, data = fitted
    arrays = model._fit_arrays(data)
    arrays = (
        {k: v[arrays["keep"]] for k, v in arrays.items() if k != "keep"}
        if "keep" in arrays
        else arrays
    )
    params = model.params.to_dict()
    expected = model._loglik(params, arrays, NUMPY)
    symbols = {name: pytensor.tensor.dscalar(name) for name in model.PARAMS}
    graph = model._loglik(symbols, arrays, pytensor_ops())
    function = pytensor.function(list(symbols.values()), graph)
    actual = function(*[params[name] for name in model.PARAMS])
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12)


def test_fit_is_the_same_on_patterns_with_weights(fitted, case):
    """Fitting per customer and on weighted unique patterns gives the same maximum."""
    model, data = fitted
    key = [c for c in ("frequency", "recency", "T", "periods", "monetary_value") if c in data]
    patterns = data.groupby(key).size().rename("n_customers").reset_index()
    patterns.attrs = dict(data.attrs)
    on_patterns = case.model().fit(patterns, weights="n_customers")
    np.testing.assert_allclose(on_patterns.params, model.params, rtol=1e-6)
    np.testing.assert_allclose(on_patterns.log_likelihood_, model.log_likelihood_, rtol=1e-9)


def test_fit_in_chunks_of_patterns_equals_the_fit_in_one(fitted, case, monkeypatch):
    """Summing the likelihood over chunks of patterns (bounded memory) moves no estimate."""
    model, data = fitted
    assert len(_mle.row_chunks(model.n_patterns_)) == 1  # the module fit: one chunk
    monkeypatch.setattr(_mle, "FIT_CHUNK_ROWS", max(2, model.n_patterns_ // 5))
    assert len(_mle.row_chunks(model.n_patterns_)) >= 5
    chunked = case.model().fit(data)
    # only the order of the sums changes (measured, relative: parameters 6.5e-8, the
    # log-likelihood 4.4e-16, the covariance 2.1e-7), far inside the standard errors
    np.testing.assert_allclose(chunked.params, model.params, rtol=1e-6)
    np.testing.assert_allclose(chunked.log_likelihood_, model.log_likelihood_, rtol=1e-12)
    np.testing.assert_allclose(chunked.cov_log_, model.cov_log_, rtol=1e-5)


def test_save_load_round_trip(fitted, case, tmp_path):
    model, data = fitted
    path = tmp_path / "model.json"
    model.save(path)
    loaded = case.model.load(path)
    pd.testing.assert_series_equal(loaded.params, model.params)
    pd.testing.assert_series_equal(case.predict(loaded, data), case.predict(model, data))
    assert "monetary_value" not in path.read_text()  # no training data in the file


def test_caller_frame_unchanged(case):
    data = case.data()
    before = data.copy()
    model = case.model().fit(data)
    case.predict(model, data)
    pd.testing.assert_frame_equal(data, before)
    assert data.attrs == before.attrs


def test_outputs_keep_caller_ids_and_order(fitted, case):
    model, data = fitted
    reference = case.predict(model, data)
    shuffled = data.sample(frac=1.0, random_state=np.random.default_rng(7))
    shuffled.index = "c-" + shuffled.index.astype(str)
    shuffled.index.name = "who"
    result = case.predict(model, shuffled)
    assert result.index.equals(shuffled.index)
    expected = reference.loc[[int(i.removeprefix("c-")) for i in shuffled.index]].to_numpy()
    np.testing.assert_allclose(result.to_numpy(), expected, rtol=1e-12)


def test_draws_give_intervals_and_arrays(fitted, case):
    model, data = fitted
    drawn = case.model.from_dict(model.to_dict()).sample_laplace(50, random_seed=11)
    head = data.iloc[:20]
    table = case.predict(drawn, head, interval=0.8)
    assert list(table.columns) == ["mean", "sd", "lower", "upper"]
    assert ((table["lower"] <= table["mean"]) & (table["mean"] <= table["upper"])).all()
    array = case.predict(drawn, head, return_draws=True)
    assert array.dims == ("chain", "draw", head.index.name)
    assert array.shape == (1, 50, 20)
    np.testing.assert_allclose(array.mean(("chain", "draw")).to_numpy(), table["mean"].to_numpy())


@pytest.mark.parametrize("model_class", [models.BetaGeo, ParetoNBD, ModifiedBetaGeo])
def test_customer_first_seen_at_observation_end_carries_no_information(model_class):
    """T = 0 (first purchase on the last day): likelihood 1, so fits on summaries built to
    the last transaction work, and such customers do not move the estimates."""
    data = _cdnow_with_spend()
    model = model_class().fit(data)
    newcomer = pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [0.0]})
    arrays = model._fit_arrays(newcomer)
    np.testing.assert_allclose(model._loglik(model.params.to_dict(), arrays), 0.0, atol=1e-12)


@pytest.mark.parametrize("model_class", [models.BetaGeo, ParetoNBD, ModifiedBetaGeo])
def test_simulated_transaction_log_reproduces_the_simulated_summary(model_class):
    model = model_class().fit(_cdnow_with_spend())
    rng = np.random.default_rng(41)
    T = rng.uniform(10, 60, size=3000)
    summary = model.simulate(T, np.random.default_rng(5))
    log = model.simulate_transactions(T, np.random.default_rng(5))
    per_customer = log.groupby("customer_id")["t"]
    np.testing.assert_array_equal(per_customer.size().to_numpy() - 1, summary["frequency"])
    np.testing.assert_allclose(per_customer.max().to_numpy(), summary["recency"], rtol=1e-12)
    assert (per_customer.min() == 0).all() and (per_customer.max().to_numpy() <= T).all()
    # inner purchase times are uniform on (0, t_x): their scaled positions average 1/2
    inner = log.merge(summary["recency"], left_on="customer_id", right_index=True)
    inner = inner[(inner["t"] > 0) & (inner["t"] < inner["recency"])]
    positions = inner["t"] / inner["recency"]
    assert abs(positions.mean() - 0.5) < 4 * np.sqrt(1 / 12 / len(positions))


def test_bayesian_path_with_small_draws(fitted, case):
    # MAP under flat priors is the MLE (same log-likelihood text), and a short NUTS run gives
    # draws the prediction calls use unchanged. Full-size convergence: the slow tests of
    # tests/test_bayes.py.
    mle, data = fitted
    mode = case.model(priors="flat").fit(data, method="map")
    np.testing.assert_allclose(mode.params, mle.params, rtol=1e-5)
    with warnings.catch_warnings():
        # so short a run is flagged as not converged: that is the point of the warning
        warnings.simplefilter("ignore", SamplingWarning)
        posterior = case.model().fit(
            data, method="nuts", chains=2, draws=30, tune=100, random_seed=11, sampler="nutpie"
        )
    assert posterior.idata.posterior[case.model.PARAMS[0]].shape == (2, 30)
    assert np.all(np.isfinite(posterior.params)) and np.all(posterior.params > 0)
    table = case.predict(posterior, data, interval=0.9)
    assert np.all(np.isfinite(table.to_numpy()))
    assert (table["lower"] <= table["mean"]).all() and (table["mean"] <= table["upper"]).all()


@pytest.mark.parametrize("model_class", [models.BetaGeo, ParetoNBD, ModifiedBetaGeo])
def test_expected_purchases_over_a_horizon_axis_equals_one_call_per_horizon(model_class):
    """Horizons on a leading axis (as CLV passes them) give each horizon's own call, for a
    point fit and for draws (BG/NBD takes its per-(x, T) path for both)."""
    data = _cdnow_with_spend()
    model = model_class().fit(data)
    module = model._module_function("expected_purchases")
    arrays = model._prediction_arrays(data)
    horizons = np.array([0.5, 4.345, 39.0, 52.14, 520.0])
    rng = np.random.default_rng(20261124)
    draws = {k: v * rng.lognormal(0.0, 0.05, (1, 7, 1)) for k, v in model.params.items()}
    for params, axes in ((model.params.to_dict(), 1), (draws, 3)):
        grid = module(params, horizons.reshape((-1,) + (1,) * axes), **arrays)
        one_by_one = np.stack([module(params, t, **arrays) for t in horizons])
        assert grid.shape == one_by_one.shape
        np.testing.assert_allclose(grid, one_by_one, rtol=1e-13, atol=0)
