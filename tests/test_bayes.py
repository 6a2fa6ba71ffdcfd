"""Bayesian estimation (models._bayes): same log-likelihood, same predictions, two estimators.

Parametrized over the model classes whose Bayesian fit is checked here (add each new model to
MODELS with a generator of random valid summaries).

Warnings: importing pymc imports arviz, which emits a ``FutureWarning`` ("ArviZ is undergoing a
major refactor") on the first import of each day; it is not about this code, so this module
ignores exactly that message. Our own ``SamplingWarning`` is asserted where it is expected.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import models
from models import _bayes
from models._validation import ValidationError
from models.bgnbd import BetaGeo
from models.gamma_gamma import GammaGamma
from models.mbgnbd import ModifiedBetaGeo
from models.pareto_nbd import ParetoNBD

# arviz warns once a day, on import, from a stamp file: whichever test imports it first
pytestmark = pytest.mark.filterwarnings(
    "ignore:\\s*ArviZ is undergoing a major refactor:FutureWarning"
)


def _random_bgnbd_summary(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Valid (x, t_x, T) rows, including x = 0 and very frequent buyers."""
    T = rng.uniform(0.5, 80.0, n)
    x = np.where(rng.random(n) < 0.3, 0, rng.integers(1, 300, n)).astype(float)
    t_x = np.where(x > 0, T * rng.random(n), 0.0)
    return pd.DataFrame(
        {"frequency": x, "recency": t_x, "T": T}, index=pd.RangeIndex(n, name="customer_id")
    )


#: (model class, random valid summary generator)
MODELS = [pytest.param(BetaGeo, _random_bgnbd_summary, id="BetaGeo")]
CLASSES = [pytest.param(p.values[0], id=p.id) for p in MODELS]


@pytest.fixture(scope="module")
def cal() -> pd.DataFrame:
    return models.datasets.load_cdnow_summary()


@pytest.fixture(scope="module")
def mle(cal) -> BetaGeo:
    return BetaGeo().fit(cal)


@pytest.fixture(scope="module")
def flat_map(cal) -> BetaGeo:
    return BetaGeo(priors="flat").fit(cal, method="map")


@pytest.mark.parametrize(("cls", "make_data"), MODELS)
def test_numpy_and_pytensor_logliks_agree(cls, make_data):
    import pytensor
    import pytensor.tensor as pt

    from models._ops import NUMPY, pytensor_ops

    rng = np.random.default_rng(20240601)
    model = cls()
    data = model._fit_arrays(make_data(rng, 300))
    symbols = {name: pt.dscalar(name) for name in cls.PARAMS}
    expression = cls._loglik(symbols, data, pytensor_ops())
    evaluate = pytensor.function(list(symbols.values()), expression, mode=_bayes.COMPILE_MODE)
    for _ in range(10):
        params = {name: float(np.exp(rng.uniform(-2.5, 2.5))) for name in cls.PARAMS}
        expected = cls._loglik(params, data, NUMPY)
        assert np.all(np.isfinite(expected))
        np.testing.assert_allclose(evaluate(*params.values()), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("cls", [BetaGeo, ModifiedBetaGeo, ParetoNBD], ids=lambda c: c.__name__)
def test_pytensor_gradient_is_finite_for_heavy_buyers(cls):
    """2,000 purchases put logaddexp's arguments near -1000: value and gradient stay exact."""
    import pytensor
    import pytensor.tensor as pt

    from models._ops import NUMPY, pytensor_ops

    data = {
        k: np.array(v)
        for k, v in {"x": [2000.0, 3.0], "t_x": [38.5, 20.0], "T": [38.86] * 2}.items()
    }
    symbols = {name: pt.dscalar(name) for name in cls.PARAMS}
    total = cls._loglik(symbols, data, pytensor_ops()).sum()
    gradient = pytensor.grad(total, list(symbols.values()))
    evaluate = pytensor.function(list(symbols.values()), [total, *gradient], mode="FAST_COMPILE")
    point = {"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.4, "s": 0.6, "beta": 11.0}
    values = [point[name] for name in cls.PARAMS]
    params = dict(zip(cls.PARAMS, values, strict=True))
    value, *grad = evaluate(*values)
    np.testing.assert_allclose(value, cls._loglik(params, data, NUMPY).sum(), rtol=1e-12)
    for i, name in enumerate(cls.PARAMS):  # central differences of the numpy likelihood
        step = 1e-6 * values[i]
        up, down = dict(params), dict(params)
        up[name] += step
        down[name] -= step
        numeric = (cls._loglik(up, data, NUMPY).sum() - cls._loglik(down, data, NUMPY).sum()) / (
            2 * step
        )
        assert np.isfinite(grad[i])
        np.testing.assert_allclose(grad[i], numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", CLASSES)
def test_map_under_flat_priors_is_the_mle(cls, cal):
    mle = cls().fit(cal)
    mode = cls(priors="flat").fit(cal, method="map")
    np.testing.assert_allclose(mode.params, mle.params, rtol=1e-5)
    np.testing.assert_allclose(mode.log_likelihood_, mle.log_likelihood_, rtol=1e-9)
    np.testing.assert_allclose(mode.cov_log_, mle.cov_log_, rtol=1e-3, atol=1e-7)
    assert mode.idata.posterior[cls.PARAMS[0]].shape == (1, 1)
    table = mode.summary(0.9)
    assert list(table.columns) == ["mean", "sd", "lower", "upper", "r_hat", "ess_bulk", "ess_tail"]
    assert table.attrs["method"] == "map"


def test_map_laplace_draws_carry_into_predictions(cal, mle):
    fitted = BetaGeo().fit(cal, method="map", draws=400, random_seed=5)
    # the weakly informative default prior moves the mode, but not far on 2,357 customers
    assert not np.allclose(fitted.params, mle.params, rtol=1e-5)
    np.testing.assert_allclose(fitted.params, mle.params, rtol=0.2)
    assert fitted.draws["r"].shape == (1, 400)
    assert fitted.idata.posterior["r"].shape == (1, 400)
    out = fitted.expected_purchases(39, cal.head(50), interval=0.9)
    assert (out["lower"] <= out["mean"]).all() and (out["mean"] <= out["upper"]).all()


def _fit_small_nuts(cal, seed, chains=2, draws=200, **kwargs):
    """A short run: too short for the diagnostics, which may say so (and only that)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", _bayes.SamplingWarning)
        fitted = BetaGeo().fit(
            cal, method="nuts", chains=chains, draws=draws, tune=draws, random_seed=seed, **kwargs
        )
    assert all(issubclass(w.category, _bayes.SamplingWarning) for w in caught), caught
    assert all(w.filename == __file__ for w in caught), caught  # at the caller's fit() line
    return fitted


@pytest.fixture(scope="module")
def small_nuts(cal):
    return _fit_small_nuts(cal, seed=11)


def test_nuts_draws_have_chain_and_draw_dims(small_nuts):
    posterior = small_nuts.idata.posterior
    for name in BetaGeo.PARAMS:
        assert posterior[name].dims == ("chain", "draw")
        assert posterior[name].shape == (2, 200)
        assert small_nuts.draws[name].shape == (2, 200)
    assert small_nuts.n_draws == 400
    assert small_nuts.fit_info_["sampler"] == _bayes.default_sampler()


def test_nuts_posterior_is_near_the_mle(small_nuts, mle):
    table = small_nuts.summary(0.9)
    assert list(table.columns) == ["mean", "sd", "lower", "upper", "r_hat", "ess_bulk", "ess_tail"]
    assert (np.abs(table["mean"] - mle.params) < 3 * table["sd"]).all()
    assert (table["lower"] < table["mean"]).all() and (table["mean"] < table["upper"]).all()
    assert table.attrs["n_customers"] == 2357
    np.testing.assert_allclose(small_nuts.params, table["mean"])


def test_nuts_is_reproducible_with_a_seed(small_nuts, cal):
    again = _fit_small_nuts(cal, seed=11)
    for name in BetaGeo.PARAMS:
        np.testing.assert_array_equal(again.draws[name], small_nuts.draws[name])


def test_pymc_sampler_is_available_as_fallback(cal):
    fitted = _fit_small_nuts(cal, seed=3, chains=1, draws=60, sampler="pymc", cores=1)
    assert fitted.fit_info_["sampler"] == "pymc"
    assert fitted.draws["b"].shape == (1, 60)
    with pytest.raises(ValidationError, match="sampler must be"):
        BetaGeo().fit(cal, method="nuts", sampler="stan")


def test_predictions_run_over_the_posterior(small_nuts, cal):
    out = small_nuts.expected_purchases(39, cal, interval=0.9)
    assert list(out.columns) == ["mean", "sd", "lower", "upper"]
    assert out.index.equals(cal.index)
    assert (out["lower"] <= out["mean"]).all() and (out["mean"] <= out["upper"]).all()
    assert (out["sd"] > 0).all()
    draws = small_nuts.p_alive(cal.head(5), return_draws=True)
    assert draws.shape == (2, 200, 5)


def test_advi_runs(cal, mle):
    fitted = BetaGeo().fit(cal, method="advi", iterations=3000, draws=300, random_seed=2)
    assert fitted.draws["alpha"].shape == (1, 300)
    table = fitted.summary()
    assert table["r_hat"].isna().all()
    # mean-field ADVI understates the spread; its centre still lies near the mode
    np.testing.assert_allclose(fitted.params, mle.params, rtol=0.25)
    assert np.isfinite(fitted.log_likelihood_)


def _synthetic_idata(rng, chains=4, draws=500, shift=0.0, walk=False, divergent=0):
    import arviz as az

    values = rng.normal(size=(chains, draws))
    if walk:
        values = np.cumsum(values, axis=1)
    values = values + shift * np.arange(chains)[:, None]
    diverging = np.zeros((chains, draws), dtype=bool)
    diverging.flat[:divergent] = True
    return az.from_dict(posterior={"r": values}, sample_stats={"diverging": diverging})


def test_healthy_chains_raise_no_warning():
    rng = np.random.default_rng(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", _bayes.SamplingWarning)
        stats = _bayes.check_sampling(_synthetic_idata(rng), ["r"])
    assert stats["divergences"] == 0 and stats["max_r_hat"] < 1.01


@pytest.mark.parametrize(
    ("kwargs", "remedy"),
    [
        ({"divergent": 3}, "3 divergent transition.*target_accept"),
        ({"shift": 1.0}, "R-hat .* run more tune"),
        ({"walk": True}, "ESS .* run more draws"),
    ],
    ids=["divergences", "r_hat", "ess"],
)
def test_bad_chains_warn_with_the_remedy(kwargs, remedy):
    rng = np.random.default_rng(2)
    with pytest.warns(_bayes.SamplingWarning, match=remedy) as record:
        _bayes.check_sampling(_synthetic_idata(rng, **kwargs), ["r"])
    assert record[0].filename == __file__


def test_prior_overrides(cal, flat_map):
    import pymc as pm

    with pytest.raises(ValidationError, match="unknown parameter"):
        BetaGeo(priors={"beta": "flat"}).fit(cal, method="map")
    with pytest.raises(ValidationError, match="priors must be"):
        BetaGeo(priors="vague").fit(cal, method="map")
    with pytest.raises(TypeError, match="does not take \\['chains'\\]"):
        BetaGeo().fit(cal, method="map", chains=2)
    with pytest.raises(ValidationError, match="prior for 'r'"):
        BetaGeo(priors={"r": 3.0}).fit(cal, method="map")
    # a tight prior on r pulls r towards its centre, 1
    tight = BetaGeo(priors={"r": pm.Gamma.dist(1000, 1000)}).fit(cal, method="map")
    assert flat_map.params["r"] < tight.params["r"] < 1
    # a callable creates the variable itself (here, the same as "flat")
    flat_priors = dict.fromkeys(BetaGeo.PARAMS, "flat")
    callable_prior = BetaGeo(priors={**flat_priors, "r": lambda name: pm.HalfFlat(name)})
    callable_prior.fit(cal, method="map")
    np.testing.assert_allclose(callable_prior.params, flat_map.params, rtol=1e-8)


def test_prior_predictive_draws_the_parameters():
    model = BetaGeo()
    prior = _bayes.prior_predictive(model, draws=300, random_seed=4)
    again = _bayes.prior_predictive(model, draws=300, random_seed=4)
    for name in BetaGeo.PARAMS:
        assert prior.prior[name].shape == (1, 300)
        assert (prior.prior[name].values > 0).all()
        np.testing.assert_array_equal(prior.prior[name].values, again.prior[name].values)
    # LogNormal(0, 3): the median of log(theta) is near 0, its sd near 3
    logs = np.log(prior.prior["alpha"].values)
    assert abs(np.median(logs)) < 0.5 and 2.5 < logs.std() < 3.5
    with pytest.raises(ValidationError, match="flat prior"):
        _bayes.prior_predictive(BetaGeo(priors="flat"))


def _cdnow_calibration_with_spend() -> pd.DataFrame:
    return models.calibration_holdout(
        models.datasets.load_cdnow_sample(),
        calibration_end="1997-09-30",
        holdout_end="1998-06-30",
        time_unit="W",
    ).calibration


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model_class", "published"),
    [
        # Fader, Hardie & Lee (2005), Marketing Science 24(2), MLE on CDNOW
        (BetaGeo, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}),
        # Fader, Hardie & Lee (2005), JMR 42(4), section 5: Pareto/NBD MLE on CDNOW
        (ParetoNBD, {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}),
        # Fader & Hardie (2013), note 025: Gamma-Gamma MLE on the 946 CDNOW repeat buyers
        (GammaGamma, {"p": 6.25, "q": 3.74, "gamma": 15.44}),
    ],
    ids=["BetaGeo", "ParetoNBD", "GammaGamma"],
)
def test_full_nuts_on_cdnow_matches_the_published_fit(model_class, published):
    data = _cdnow_calibration_with_spend()
    fitted = model_class().fit(
        data, method="nuts", chains=4, draws=1000, tune=1000, random_seed=2005
    )
    table = fitted.summary()
    assert fitted.fit_info_["divergences"] == 0
    assert (table["r_hat"] <= 1.01).all()
    assert (table["ess_bulk"] >= 400).all()
    assert (np.abs(table["mean"] - pd.Series(published)) <= table["sd"]).all()
