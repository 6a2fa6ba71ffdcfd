"""Predictive distribution of purchases and spend (models.predictive)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import models
from models import bgnbd, evaluate, mbgnbd, pareto_nbd, predictive
from models._purchase import transactions_from_summary
from models.bgbb import BetaGeoBetaBinom
from models.gamma_gamma import GammaGamma
from models.predictive import PredictiveTailWarning, pit, predictive_purchases, predictive_spend

CONTINUOUS = [models.BetaGeo, models.ModifiedBetaGeo, models.ParetoNBD]
HORIZON = 39.0  # weeks: the CDNOW holdout


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """300 CDNOW customers (every 8th), with mean spend for the Gamma-Gamma."""
    cal = models.datasets.load_cdnow_summary()
    spend = pd.read_csv(
        models.datasets.path("cdnow_customers_summary_with_transactions.csv"), index_col="ID"
    )
    cal = cal.iloc[::8].copy()
    cal["monetary_value"] = spend["zbar"].reindex(cal.index).to_numpy()
    return cal


@pytest.fixture(scope="module")
def fits() -> dict:
    full = models.datasets.load_cdnow_summary()
    return {model: model().fit(full) for model in CONTINUOUS}


def _cdf_quantile(cdf: np.ndarray, level: float) -> np.ndarray:
    """Smallest n with cdf[:, n] >= level (a column past the end where never reached)."""
    return (cdf < level - 1e-12).sum(axis=1).astype(float)


@pytest.mark.parametrize("model", CONTINUOUS)
def test_pmf_sums_and_mean_equal_expected_purchases(fits, cdnow, model):
    fitted = fits[model]
    out, pmf = predictive_purchases(fitted, HORIZON, cdnow, tail_tol=1e-12, return_pmf=True)
    np.testing.assert_allclose(pmf.sum(axis=1), 1 - out["tail_mass"], rtol=0, atol=1e-13)
    assert out["tail_mass"].max() < 1e-12
    # Mixture mean = mean of conditional expectations (one draw: the expectation itself).
    expected = fitted.expected_purchases(HORIZON, cdnow)
    np.testing.assert_allclose(out["mean"], expected, rtol=0, atol=1e-8)
    n = np.arange(pmf.shape[1])
    np.testing.assert_allclose(out["mean"], pmf @ n, rtol=1e-12)
    np.testing.assert_allclose(out["sd"] ** 2, pmf @ n**2 - (pmf @ n) ** 2, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("model", [models.BetaGeo, models.ModifiedBetaGeo])
def test_mean_over_laplace_draws_equals_mean_expected_purchases(fits, cdnow, model):
    fitted = model().fit(models.datasets.load_cdnow_summary()).sample_laplace(20, random_seed=3)
    out = predictive_purchases(fitted, HORIZON, cdnow, tail_tol=1e-12)
    np.testing.assert_allclose(
        out["mean"], fitted.expected_purchases(HORIZON, cdnow), rtol=0, atol=1e-8
    )
    # Parameter uncertainty widens the predictive distribution only a little, but it does.
    point = predictive_purchases(fits[model], HORIZON, cdnow)
    assert not np.allclose(out["sd"], point["sd"], rtol=1e-6)


def test_quantiles_and_interval_follow_the_pmf(fits, cdnow):
    levels = (0.05, 0.5, 0.95)
    out, pmf = predictive_purchases(
        fits[models.BetaGeo], HORIZON, cdnow, quantiles=levels, interval=0.8, return_pmf=True
    )
    assert list(out.columns) == ["mean", "sd", "q05", "q50", "q95", "lower", "upper", "tail_mass"]
    cdf = np.cumsum(pmf, axis=1)
    for level, column in zip(levels, ["q05", "q50", "q95"], strict=True):
        np.testing.assert_array_equal(out[column], _cdf_quantile(cdf, level))
    np.testing.assert_array_equal(out["lower"], _cdf_quantile(cdf, 0.1))
    np.testing.assert_array_equal(out["upper"], _cdf_quantile(cdf, 0.9))
    assert (out["q95"] > out["q05"]).any()


def test_customer_ids_and_order_are_kept(fits, cdnow):
    fitted = fits[models.BetaGeo]
    data = cdnow.copy()
    data.index = pd.Index([f"c{i}" for i in cdnow.index], name="who")
    shuffled = data.sample(frac=1.0, random_state=np.random.default_rng(0))
    out = predictive_purchases(fitted, HORIZON, shuffled, interval=0.9)
    assert out.index.equals(shuffled.index)
    reference = predictive_purchases(fitted, HORIZON, data, interval=0.9)
    pd.testing.assert_frame_equal(out, reference.loc[shuffled.index])


def test_chunks_do_not_change_the_result(fits, cdnow, monkeypatch):
    fitted = models.BetaGeo().fit(models.datasets.load_cdnow_summary())
    fitted.sample_laplace(7, random_seed=1)
    whole, pmf = predictive_purchases(fitted, HORIZON, cdnow, interval=0.5, return_pmf=True)
    monkeypatch.setattr(predictive.purchases, "PMF_CHUNK_ELEMENTS", 7 * 13)  # 13 patterns per chunk
    chunked, pmf_chunked = predictive_purchases(
        fitted, HORIZON, cdnow, interval=0.5, return_pmf=True
    )
    pd.testing.assert_frame_equal(whole, chunked)
    np.testing.assert_array_equal(pmf, pmf_chunked)


def test_bgbb_predictive_mean_and_support():
    donations = models.datasets.load_donations()
    bb = BetaGeoBetaBinom().fit(donations, weights="weights")
    out, pmf = predictive_purchases(bb, 5, donations, tail_tol=1e-12, return_pmf=True)
    np.testing.assert_allclose(out["mean"], bb.expected_purchases(5, donations), rtol=0, atol=1e-10)
    assert pmf.shape[1] <= 7  # at most 5 purchases in 5 periods (+ the n = 6 check)
    np.testing.assert_allclose(pmf[:, 6:], 0.0, atol=1e-15)
    with pytest.raises(models.ValidationError, match="whole number of future periods"):
        predictive_purchases(bb, 2.5, donations)


def _simulate_split(module, params, n, t_cal, horizon, rng) -> tuple[pd.DataFrame, pd.Series]:
    """Customers simulated over ``t_cal + horizon``: calibration summary and holdout count."""
    summary = module.simulate(params, t_cal + horizon, rng)
    log = transactions_from_summary(summary, rng)
    owner = log["customer_id"].to_numpy()
    t = log["t"].to_numpy()
    cal_t = t_cal[owner]
    repeat = (t > 0) & (t <= cal_t)
    x = np.bincount(owner[repeat], minlength=n).astype(float)
    t_x = np.zeros(n)
    np.maximum.at(t_x, owner[repeat], t[repeat])
    holdout = np.bincount(owner[t > cal_t], minlength=n)
    index = summary.index
    cal = pd.DataFrame({"frequency": x, "recency": t_x, "T": t_cal}, index=index)
    return cal, pd.Series(holdout, index=index, name="holdout_purchases")


@pytest.mark.parametrize(
    ("model", "module", "params", "n"),
    [
        # CDNOW MLE estimates (Fader, Hardie & Lee 2005, Marketing Science 24(2), Table 1).
        (models.BetaGeo, bgnbd, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, 4000),
        (models.ModifiedBetaGeo, mbgnbd, {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 3.0}, 4000),
        # Fewer customers: the Pareto/NBD pmf costs ~50 us per value.
        (models.ParetoNBD, pareto_nbd, {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}, 1500),
    ],
)
def test_predictive_intervals_are_calibrated_on_simulated_customers(model, module, params, n):
    rng = np.random.default_rng(20261124)
    t_cal = rng.uniform(27.0, 39.0, n)  # CDNOW-like ages, weeks
    cal, holdout = _simulate_split(module, params, n, t_cal, HORIZON, rng)
    fitted = model().fit(cal)
    coverage = evaluate.pit_coverage(pit(fitted, HORIZON, cal, holdout, rng))
    # Binomial sd of a coverage share: at most 0.8 points (n = 4000), 1.3 (n = 1500); allow 3
    # sd, plus a little for the fitted (not true) parameters.
    tolerance = 3 * 0.5 / np.sqrt(n) + 0.005
    np.testing.assert_allclose(coverage.to_numpy(), coverage.index.to_numpy(), atol=tolerance)


def test_pit_matches_the_pmf(fits, cdnow):
    fitted = fits[models.ParetoNBD]
    rng = np.random.default_rng(5)
    actual = pd.Series(rng.poisson(1.0, len(cdnow)), index=cdnow.index)
    actual.iloc[0] = 40  # far in the tail: the scan must reach it
    values = pit(fitted, HORIZON, cdnow, actual.iloc[::-1], np.random.default_rng(7))
    assert values.index.equals(cdnow.index)
    _, pmf = predictive_purchases(fitted, HORIZON, cdnow, n_max=60, return_pmf=True)
    cdf = np.cumsum(pmf, axis=1)
    y = actual.to_numpy()
    rows = np.arange(y.size)
    upper = cdf[rows, y]
    lower = np.where(y > 0, cdf[rows, np.maximum(y - 1, 0)], 0.0)
    expected = evaluate.randomized_pit(lower, upper, np.random.default_rng(7))
    np.testing.assert_allclose(values, expected, atol=1e-12)


def test_cdnow_holdout_coverage_within_five_points():
    tx = models.datasets.load_cdnow_sample()
    split = models.calibration_holdout(
        tx, calibration_end="1997-09-30", holdout_end="1998-06-30", time_unit="W"
    )
    cal, holdout = split.calibration, split.holdout
    fitted = models.BetaGeo().fit(cal)
    values = pit(fitted, 39.0, cal, holdout["holdout_purchases"], np.random.default_rng(1))
    coverage = evaluate.pit_coverage(values)
    # Issue 4 target: within 5 points of nominal on the CDNOW 39-week holdout.
    np.testing.assert_allclose(coverage.to_numpy(), coverage.index.to_numpy(), atol=0.05)


@pytest.fixture(scope="module")
def spend_fit():
    data = pd.read_csv(models.datasets.path("cdnow_customers_summary_with_transactions.csv"))
    data = data.rename(columns={"x": "frequency", "zbar": "monetary_value"})
    return GammaGamma().fit(data)


def test_predictive_spend_mean_and_zero_mass(fits, cdnow, spend_fit):
    fitted = fits[models.BetaGeo]
    samples = 4000

    def simulate():
        return predictive_spend(
            fitted,
            spend_fit,
            HORIZON,
            cdnow,
            rng=np.random.default_rng(11),
            n_samples=samples,
            quantiles=(0.5,),
            interval=0.9,
        )

    out = simulate()
    assert list(out.columns) == ["mean", "sd", "q50", "lower", "upper", "p_zero", "mcse"]
    # Count and spend are independent given the history: E[spend] = E[Y] E[Z | x, zbar].
    exact = fitted.expected_purchases(
        HORIZON, cdnow
    ) * spend_fit.conditional_expected_average_spend(cdnow)
    varied = out["mcse"] > 0
    z = (out["mean"] - exact)[varied] / out["mcse"][varied]
    assert np.abs(z).max() < 4.5  # 300 customers: P(any |z| > 4.5) ~ 0.002 under the truth
    assert abs(z.mean()) < 4.5 / np.sqrt(varied.sum())
    np.testing.assert_allclose(exact[~varied], 0.0, atol=1e-3)  # all samples 0: E ~ 0
    # P(spend = 0) = P(Y = 0), within 4.5 binomial standard errors.
    p0 = fitted.conditional_probability_of_purchases(0, HORIZON, cdnow)
    se = np.sqrt(p0 * (1 - p0) / samples)
    assert (np.abs(out["p_zero"] - p0) <= 4.5 * se + 1 / samples).all()
    assert ((out["lower"] <= out["q50"]) & (out["q50"] <= out["upper"])).all()
    pd.testing.assert_frame_equal(out, simulate())  # the same seed gives the same samples


def test_predictive_spend_pairs_draws(fits, cdnow):
    full = models.datasets.load_cdnow_summary()
    bg = models.BetaGeo().fit(full).sample_laplace(20, random_seed=1)
    spend = pd.read_csv(models.datasets.path("cdnow_customers_summary_with_transactions.csv"))
    spend = spend.rename(columns={"x": "frequency", "zbar": "monetary_value"})
    gg = GammaGamma().fit(spend).sample_laplace(20, random_seed=2)
    data = cdnow.iloc[:60]
    out = predictive_spend(bg, gg, HORIZON, data, rng=np.random.default_rng(1), n_samples=4000)
    # 4000 samples use each of the 20 paired draws 200 times: the mean estimates the mean over
    # draws of E[Y | draw] E[Z | draw].
    purchases = bg.expected_purchases(HORIZON, data, return_draws=True).to_numpy()
    average = gg.conditional_expected_average_spend(data, return_draws=True).to_numpy()
    exact = (purchases * average).mean(axis=(0, 1))
    varied = out["mcse"].to_numpy() > 0
    z = (out["mean"].to_numpy() - exact)[varied] / out["mcse"].to_numpy()[varied]
    assert np.abs(z).max() < 4.5
    # A point fit on one side is used with every draw of the other.
    single = predictive_spend(
        fits[models.BetaGeo], gg, HORIZON, data, rng=np.random.default_rng(1), n_samples=200
    )
    assert np.isfinite(single.to_numpy()).all()
    gg.sample_laplace(21, random_seed=2)
    with pytest.raises(models.ValidationError, match="pairing"):
        predictive_spend(bg, gg, HORIZON, data, rng=np.random.default_rng(1), n_samples=60)


def test_tail_warnings(fits, cdnow, monkeypatch):
    fitted = fits[models.BetaGeo]
    with pytest.warns(PredictiveTailWarning, match="too small for the requested quantiles"):
        out = predictive_purchases(fitted, HORIZON, cdnow, n_max=0, interval=0.9)
    assert out["upper"].isna().any() and (out["tail_mass"] > 0).any()
    monkeypatch.setattr(predictive.purchases, "N_MAX_CAP", 2)
    with pytest.warns(PredictiveTailWarning, match="beyond n_max=2"):
        out = predictive_purchases(fitted, HORIZON, cdnow)
    assert out["tail_mass"].max() > 1e-3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"t": 0.0}, "t must be a finite number > 0"),
        ({"t": -1}, "t must be a finite number > 0"),
        ({"t": float("nan")}, "t must be a finite number > 0"),
        ({"t": "39"}, "t must be a finite number > 0"),
        ({"t": [39.0]}, "t must be a finite number > 0"),
        ({"quantiles": (0.5, 1.0)}, "quantiles must be levels in"),
        ({"quantiles": 0.5}, "quantiles must be levels in"),
        ({"interval": 1.2}, "interval must be in"),
        ({"n_max": -1}, "n_max must be a whole number"),
        ({"n_max": 2.5}, "n_max must be a whole number"),
        ({"tail_tol": 0.0}, "tail_tol must be in"),
    ],
)
def test_predictive_purchases_refuses_bad_arguments(fits, cdnow, kwargs, message):
    call = {"t": HORIZON, **kwargs}
    t = call.pop("t")
    with pytest.raises(models.ValidationError, match=message):
        predictive_purchases(fits[models.BetaGeo], t, cdnow, **call)


def test_refuses_bad_models_and_data(fits, cdnow, spend_fit):
    bg = fits[models.BetaGeo]
    with pytest.raises(models.ValidationError, match="missing column"):
        predictive_purchases(bg, HORIZON, cdnow.drop(columns="recency"))
    with pytest.raises(models.ValidationError, match="GammaGamma has no conditional_probability"):
        predictive_purchases(spend_fit, HORIZON, cdnow)
    with pytest.raises(models.NotFittedError):
        predictive_purchases(models.BetaGeo(), HORIZON, cdnow)
    with pytest.raises(models.ValidationError, match="rng must be a numpy.random.Generator"):
        pit(bg, HORIZON, cdnow, pd.Series(0, index=cdnow.index), rng=1)
    bad = pd.Series(0.0, index=cdnow.index)
    bad.iloc[3] = -1
    with pytest.raises(models.ValidationError, match="actual must be whole numbers"):
        pit(bg, HORIZON, cdnow, bad, np.random.default_rng(0))
    with pytest.raises(models.ValidationError, match="must have a row for every customer"):
        pit(bg, HORIZON, cdnow, bad.iloc[1:], np.random.default_rng(0))
    with pytest.raises(models.ValidationError, match="n_samples must be a whole number >= 2"):
        predictive_spend(bg, spend_fit, HORIZON, cdnow, rng=np.random.default_rng(0), n_samples=1)
    with pytest.raises(models.ValidationError, match="spend_model must be a fitted GammaGamma"):
        predictive_spend(bg, bg, HORIZON, cdnow, rng=np.random.default_rng(0))
    with pytest.raises(models.ValidationError, match="t must be a finite number > 0"):
        predictive_spend(bg, spend_fit, 0, cdnow, rng=np.random.default_rng(0))


def test_non_finite_pmf_is_refused(cdnow):
    fitted = models.BetaGeo().fit(models.datasets.load_cdnow_summary())
    fitted._draws = {**fitted._draws, "r": np.array([[np.nan]])}  # a broken draw
    with pytest.raises(FloatingPointError, match="BetaGeo's conditional pmf is not finite"):
        predictive_purchases(fitted, HORIZON, cdnow)


def test_max_draws_thins_evenly(cdnow):
    fitted = models.BetaGeo().fit(models.datasets.load_cdnow_summary())
    fitted.sample_laplace(12, random_seed=4)
    thinned = predictive_purchases(fitted, HORIZON, cdnow, max_draws=4)
    assert thinned.attrs["n_draws"] == 4
    kept = {k: v[:, [0, 4, 7, 11]] for k, v in fitted.draws.items()}  # linspace(0, 11, 4)
    fitted._draws = kept
    pd.testing.assert_frame_equal(thinned, predictive_purchases(fitted, HORIZON, cdnow))
    with pytest.raises(models.ValidationError, match="max_draws must be a whole number"):
        predictive_purchases(fitted, HORIZON, cdnow, max_draws=0)


def test_model_method_is_the_module_function():
    cal = models.datasets.load_cdnow_summary().iloc[:300]
    fitted = models.BetaGeo().fit(cal)
    pd.testing.assert_frame_equal(
        fitted.predictive_purchases(10, cal, interval=0.8),
        models.predictive_purchases(fitted, 10, cal, interval=0.8),
    )
