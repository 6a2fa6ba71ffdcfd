"""Arguments of predictions, summaries, draws, CLV and persistence: refused with a clear error.

A horizon, count, interval, number of draws, discount rate or margin that makes no sense used
to reach the formulas and come back as NaN, 0 or a negative number. Each must now raise a
:class:`models.ValidationError` naming the argument; valid edge values (t = 0) still work.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import models
from models import BetaGeo, BetaGeoBetaBinom, GammaGamma, ModifiedBetaGeo, ParetoNBD
from models._validation import ValidationError
from models.clv import cash_flow_table, customer_lifetime_value, residual_lifetime_value

CONTINUOUS = (BetaGeo, ParetoNBD, ModifiedBetaGeo)
BAD_HORIZONS = [-1.0, np.nan, np.inf, "39", True]


@pytest.fixture(scope="module")
def cal() -> pd.DataFrame:
    """CDNOW calibration summary in weeks, with monetary_value (for the spend model)."""
    tx = models.datasets.load_cdnow_sample()
    return models.calibration_holdout(tx, calibration_end="1997-09-30", time_unit="W").calibration


@pytest.fixture(scope="module")
def fitted(cal) -> dict:
    return {cls: cls().fit(cal) for cls in CONTINUOUS}


@pytest.fixture(scope="module")
def spend(cal) -> GammaGamma:
    return GammaGamma().fit(cal)


@pytest.fixture(scope="module")
def donations():
    data = models.datasets.load_donations()
    return data, BetaGeoBetaBinom().fit(data, weights="weights")


# ---------------------------------------------------------------- horizons and counts
@pytest.mark.parametrize("cls", CONTINUOUS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("t", BAD_HORIZONS, ids=repr)
def test_bad_horizons_are_refused(fitted, cal, cls, t):
    model = fitted[cls]
    calls = [
        lambda: model.expected_purchases(t, cal),
        lambda: model.conditional_probability_of_purchases(1, t, cal),
        lambda: model.expected_purchases_new_customer(t),
        lambda: model.probability_of_purchases(1, t),
    ]
    for call in calls:
        with pytest.raises(ValidationError, match="t must be"):
            call()


@pytest.mark.parametrize("cls", CONTINUOUS, ids=lambda c: c.__name__)
def test_horizon_zero_gives_zero_and_arrays_of_horizons_work(fitted, cal, cls):
    model = fitted[cls]
    assert (model.expected_purchases(0, cal) == 0).all()
    new = model.expected_purchases_new_customer(np.array([0.0, 1.0, 39.0]))
    assert new.iloc[0] == 0 and new.is_monotonic_increasing


@pytest.mark.parametrize("cls", CONTINUOUS, ids=lambda c: c.__name__)
def test_per_customer_horizon_must_be_one_number(fitted, cal, cls):
    with pytest.raises(ValidationError, match="t must be one number"):
        fitted[cls].expected_purchases(np.array([1.0, 39.0]), cal)


@pytest.mark.parametrize("n", [-1, 1.5, np.nan, "2", np.array([0, 1])], ids=repr)
def test_counts_must_be_whole_numbers(fitted, cal, n):
    model = fitted[BetaGeo]
    with pytest.raises(ValidationError, match="n must be"):
        model.probability_of_purchases(n, 39)
    with pytest.raises(ValidationError, match="n must be"):
        model.conditional_probability_of_purchases(n, 39, cal)


def test_discrete_model_needs_whole_periods(donations):
    data, model = donations
    for call, name in [
        (lambda: model.expected_purchases(-2, data), "n_future"),
        (lambda: model.expected_purchases(2.5, data), "n_future"),
        (lambda: model.conditional_probability_of_purchases(1, 2.5, data), "n_future"),
        (lambda: model.conditional_probability_of_purchases(-1, 2, data), "k"),
        (lambda: model.expected_purchases_new_customer(-3), "n"),
        (lambda: model.probability_of_purchases(2.5, 5), "x"),
        (lambda: model.p_alive(data, m=-1), "m"),
    ]:
        with pytest.raises(ValidationError, match=f"{name} must be a whole number"):
            call()
    assert np.isfinite(model.expected_purchases_new_customer(np.array([0, 3, 6]))).all()


# ---------------------------------------------------------------- time unit
def test_summary_in_another_time_unit_is_refused(fitted, spend):
    tx = models.datasets.load_cdnow_sample()
    daily = models.calibration_holdout(tx, calibration_end="1997-09-30", time_unit="D")
    model = fitted[BetaGeo]
    assert model.time_unit_ == "W"
    calls = [
        lambda: model.expected_purchases(39, daily.calibration),
        lambda: model.p_alive(daily.calibration),
        lambda: customer_lifetime_value(model, spend, daily.calibration, horizon=52),
    ]
    for call in calls:
        with pytest.raises(ValidationError, match="time unit 'D'.*fitted on a summary in 'W'"):
            call()


def test_time_unit_argument_must_match_the_fit(fitted, spend, cal):
    bare = cal.copy()
    bare.attrs = {}
    with pytest.raises(ValidationError, match="time unit 'D'"):
        customer_lifetime_value(fitted[BetaGeo], spend, bare, horizon=52, time_unit="D")
    # a frame without attrs is taken in the fit's unit
    pd.testing.assert_series_equal(
        fitted[BetaGeo].expected_purchases(39, bare), fitted[BetaGeo].expected_purchases(39, cal)
    )


# ---------------------------------------------------------------- intervals and draws
@pytest.mark.parametrize("interval", [95, 1.0, 0, -0.5, np.nan, "0.9"], ids=repr)
def test_bad_intervals_are_refused(fitted, cal, interval):
    model = BetaGeo().fit(cal).sample_laplace(draws=50, random_seed=1)
    with pytest.raises(ValidationError, match="interval must be in"):
        fitted[BetaGeo].summary(interval=interval)
    with pytest.raises(ValidationError, match="interval must be in"):
        model.expected_purchases(39, cal.head(5), interval=interval)


@pytest.mark.parametrize("draws", [0, -1, 2.5, True], ids=repr)
def test_bad_laplace_draws_are_refused(cal, draws):
    with pytest.raises(ValidationError, match="draws must be a whole number >= 1"):
        BetaGeo().fit(cal).sample_laplace(draws=draws)


# ---------------------------------------------------------------- CLV arguments
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"discount_rate": np.nan}, "discount_rate must be one finite number"),
        ({"discount_rate": np.inf}, "discount_rate must be one finite number"),
        ({"discount_rate": -0.1}, "discount_rate must be >= 0"),
        ({"horizon": np.nan}, "horizon must be one finite number"),
        ({"horizon": np.inf}, "horizon must be one finite number"),
        ({"horizon": [12, 52]}, "horizon must be one finite number"),
        ({"horizon": 0}, "horizon must be > 0"),
        ({"step": np.nan}, "step must be one finite number"),
        ({"margin": 30}, r"margin must be .* in \(0, 1\]"),
        ({"margin": 0}, r"margin must be .* in \(0, 1\]"),
    ],
    ids=lambda value: str(value),
)
def test_bad_clv_arguments_are_refused(fitted, spend, cal, kwargs, message):
    arguments = {"horizon": 52, **kwargs}
    with pytest.raises(ValidationError, match=message):
        customer_lifetime_value(fitted[BetaGeo], spend, cal, **arguments)
    with pytest.raises(ValidationError, match=message):
        cash_flow_table(fitted[BetaGeo], spend, cal, **arguments)


@pytest.mark.parametrize("rate", [np.nan, np.inf, -1.0, 0.0], ids=repr)
def test_residual_value_needs_a_positive_finite_rate(fitted, spend, cal, rate):
    with pytest.raises(ValidationError, match="discount_rate"):
        residual_lifetime_value(fitted[BetaGeo], spend, cal.head(20), discount_rate=rate)


def test_last_short_step_is_discounted_at_its_own_end(fitted, spend, cal):
    """Horizon 50 in steps of 4: the last step (48, 50] is discounted at 50 / 4 steps."""
    bg, data = fitted[BetaGeo], cal.head(30)
    rate = 0.01  # per week, discount_period "W"
    clv = customer_lifetime_value(
        bg, spend, data, horizon=50, step=4, discount_rate=rate, discount_period="W"
    )
    ends = np.append(np.arange(4.0, 50.0, 4.0), 50.0)
    purchases = np.array([bg.expected_purchases(end, data).to_numpy() for end in ends])
    in_step = np.diff(purchases, axis=0, prepend=0.0)
    per_step_rate = (1 + rate) ** 4 - 1
    discount = (1 + per_step_rate) ** -(ends / 4)
    expected = (discount[:, None] * in_step).sum(axis=0)
    expected *= spend.conditional_expected_average_spend(data).to_numpy()
    np.testing.assert_allclose(clv.to_numpy(), expected, rtol=1e-10)
    table = cash_flow_table(
        bg, spend, data, horizon=50, step=4, discount_rate=rate, discount_period="W"
    )
    assert table["discounted_value"].sum() == pytest.approx(clv.sum(), rel=1e-10)


# ---------------------------------------------------------------- persistence
def test_model_with_pymc_priors_saves_their_text(cal, tmp_path):
    import pymc as pm

    model = BetaGeo(priors={"r": pm.Gamma.dist(2.0, 3.0)}).fit(cal, method="map", draws=20)
    path = tmp_path / "bg.json"
    model.save(path)
    payload = json.loads(path.read_text())
    assert payload["settings"]["priors"] is None
    assert "Gamma(2" in payload["priors_text"]["r"]
    loaded = BetaGeo.load(path)
    pd.testing.assert_frame_equal(
        loaded.expected_purchases(39, cal.head(20), interval=0.9),
        model.expected_purchases(39, cal.head(20), interval=0.9),
    )
    # a Bayesian refit would silently use the default priors: refused until they are set again
    with pytest.raises(ValidationError, match="saved with custom priors.*Gamma"):
        loaded.fit(cal, method="map")


def test_unknown_save_format_is_refused(fitted):
    payload = fitted[BetaGeo].to_dict()
    payload["format"] = 99
    with pytest.raises(ValidationError, match="save format 99"):
        BetaGeo.from_dict(payload)


def test_numpy_numbers_and_zero_d_arrays_are_accepted(fitted, spend, cal):
    bg, data = fitted[BetaGeo], cal.head(10)
    reference = bg.conditional_probability_of_purchases(2, 39.0, data)
    for n, t in [(np.int64(2), np.float32(39.0)), (np.array(2), np.array(39.0))]:
        np.testing.assert_allclose(bg.conditional_probability_of_purchases(n, t, data), reference)
    plain = customer_lifetime_value(bg, spend, data, horizon=52, margin=0.3, discount_rate=0.1)
    numpy_args = customer_lifetime_value(
        bg, spend, data, horizon=np.array(52.0), margin=np.float64(0.3), discount_rate=np.array(0.1)
    )
    pd.testing.assert_series_equal(numpy_args, plain)
    assert bg.summary(interval=np.array(0.9)).shape[0] == 4


def test_time_unit_argument_may_not_contradict_the_summary(fitted, spend, cal):
    daily = cal.copy()
    daily.attrs["time_unit"] = "D"
    with pytest.raises(ValidationError, match="time_unit='W' contradicts"):
        customer_lifetime_value(fitted[BetaGeo], spend, daily, horizon=52, time_unit="W")


@pytest.mark.parametrize(
    ("horizon", "step", "ends"), [(1.0, 1 / 3, 3), (3.0, 0.3, 10), (50, 4, 13)]
)
def test_cash_flow_steps_end_at_the_horizon_once(fitted, spend, cal, horizon, step, ends):
    table = cash_flow_table(fitted[BetaGeo], spend, cal.head(20), horizon=horizon, step=step)
    assert len(table) == ends and table.index.is_unique and table.index[-1] == horizon
    assert (table["purchases"] > 0).all()


@pytest.mark.parametrize("n_nodes", [1, 7], ids=repr)
def test_too_few_dert_nodes_are_refused(fitted, spend, cal, n_nodes):
    with pytest.raises(ValidationError, match="n_nodes must be a whole number >= 8"):
        residual_lifetime_value(fitted[BetaGeo], spend, cal, discount_rate=0.1, n_nodes=n_nodes)
