"""Customer lifetime value: identities, discounting, paired uncertainty, DERT cross-check."""

import numpy as np
import pandas as pd
import pytest

import models
from models import clv
from models._units import unit_ratio
from models._validation import ValidationError
from models.gamma_gamma import GammaGamma


@pytest.fixture(scope="module")
def cdnow():
    """CDNOW calibration summary with mean repeat spend (FHL 2005 data, as shipped by lifetimes)."""
    frame = pd.read_csv(
        models.datasets.path("cdnow_customers_summary_with_transactions.csv"), index_col=0
    ).rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    frame.index.name = "customer_id"
    frame.attrs["time_unit"] = "W"
    return frame


@pytest.fixture(scope="module")
def fitted(cdnow):
    return models.BetaGeo().fit(cdnow), GammaGamma().fit(cdnow)


def test_one_step_without_discount_is_purchases_times_spend_times_margin(cdnow, fitted):
    bg, gg = fitted
    value = clv.customer_lifetime_value(bg, gg, cdnow, horizon=1, margin=0.3)
    expected = 0.3 * bg.expected_purchases(1, cdnow) * gg.conditional_expected_average_spend(cdnow)
    np.testing.assert_allclose(value.to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert value.index.equals(cdnow.index)


def test_undiscounted_value_telescopes_to_horizon_purchases(cdnow, fitted):
    bg, gg = fitted
    value = clv.customer_lifetime_value(bg, gg, cdnow, horizon=52, step=4, margin=1.0)
    expected = bg.expected_purchases(52, cdnow) * gg.conditional_expected_average_spend(cdnow)
    np.testing.assert_allclose(value.to_numpy(), expected.to_numpy(), rtol=1e-10)


def test_discounting_lowers_value_and_more_discount_lowers_more(cdnow, fitted):
    bg, gg = fitted
    values = [
        clv.customer_lifetime_value(bg, gg, cdnow, horizon=104, discount_rate=rate)
        for rate in (0.0, 0.1, 0.3)
    ]
    assert (values[1] < values[0]).all() and (values[2] < values[1]).all()
    assert (values[2] > 0).all()


def test_discount_rate_units_are_explicit(cdnow, fitted):
    """An annual rate and the equivalent weekly rate give the same value."""
    bg, gg = fitted
    yearly = clv.customer_lifetime_value(bg, gg, cdnow, horizon=52, discount_rate=0.15)
    weekly_rate = 1.15 ** (7 / 365.2425) - 1
    weekly = clv.customer_lifetime_value(
        bg, gg, cdnow, horizon=52, discount_rate=weekly_rate, discount_period="W"
    )
    np.testing.assert_allclose(yearly.to_numpy(), weekly.to_numpy(), rtol=1e-12)


def test_paired_draws_carry_spend_uncertainty(cdnow):
    bg = models.BetaGeo().fit(cdnow).sample_laplace(400, random_seed=1)
    gg_fixed = GammaGamma().fit(cdnow)
    gg_draws = GammaGamma().fit(cdnow).sample_laplace(400, random_seed=2)
    kwargs = {"horizon": 52, "step": 13, "discount_rate": 0.1, "interval": 0.9}
    spend_fixed = clv.customer_lifetime_value(bg, gg_fixed, cdnow, **kwargs)
    both = clv.customer_lifetime_value(bg, gg_draws, cdnow, **kwargs)
    # One-time buyers' spend is the population mean, whose uncertainty is then added in full;
    # for frequent buyers their own average dominates and the two sds are close.
    one_time = cdnow["frequency"] == 0
    assert (both["sd"][one_time] > 1.05 * spend_fixed["sd"][one_time]).all()
    assert both["sd"].sum() > spend_fixed["sd"].sum()
    assert ((both["lower"] <= both["mean"]) & (both["mean"] <= both["upper"])).all()


def test_total_value_sums_draw_by_draw(cdnow):
    bg = models.BetaGeo().fit(cdnow).sample_laplace(300, random_seed=3)
    gg = GammaGamma().fit(cdnow).sample_laplace(300, random_seed=4)
    draws = clv.customer_lifetime_value(bg, gg, cdnow, horizon=39, return_draws=True)
    assert draws.shape == (1, 300, len(cdnow))
    total = clv.total_value(draws, interval=0.9)
    np.testing.assert_allclose(total["mean"], draws.sum("customer_id").mean().item())
    assert total["lower"] < total["mean"] < total["upper"]


def test_residual_value_matches_pareto_nbd_closed_form_dert(cdnow):
    """The DERT rule (midpoint in ln u) equals the closed form of FHL05 (JMR, eq. 2)."""
    pnbd = models.ParetoNBD().fit(cdnow)
    gg = GammaGamma().fit(cdnow)
    rate = 0.15
    residual = clv.residual_lifetime_value(pnbd, gg, cdnow, discount_rate=rate, n_nodes=100)
    delta = np.log1p(rate) / unit_ratio("Y", "W")  # continuous force per week
    closed = pnbd.dert(delta, cdnow) * gg.conditional_expected_average_spend(cdnow)
    np.testing.assert_allclose(residual.to_numpy(), closed.to_numpy(), rtol=1e-6)


def test_bad_inputs_are_refused(cdnow, fitted):
    bg, gg = fitted
    with pytest.raises(ValidationError, match="margin"):
        clv.customer_lifetime_value(bg, gg, cdnow, horizon=10, margin=0)
    with pytest.raises(ValidationError, match="discount_rate must be > 0"):
        clv.residual_lifetime_value(bg, gg, cdnow, discount_rate=0)
    with pytest.raises(ValidationError, match="interval needs parameter draws"):
        clv.customer_lifetime_value(bg, gg, cdnow, horizon=10, interval=0.9)
    unitless = cdnow.copy()
    unitless.attrs = {}
    with pytest.raises(ValidationError, match="time unit"):
        clv.customer_lifetime_value(models.BetaGeo().fit(unitless), gg, unitless, horizon=10)
    bg_draws = models.BetaGeo().fit(cdnow).sample_laplace(10, random_seed=0)
    gg_draws = GammaGamma().fit(cdnow).sample_laplace(20, random_seed=0)
    with pytest.raises(ValidationError, match="pairing"):
        clv.customer_lifetime_value(bg_draws, gg_draws, cdnow, horizon=10)


def test_input_frame_unchanged(cdnow, fitted):
    bg, gg = fitted
    before = cdnow.copy()
    clv.customer_lifetime_value(bg, gg, cdnow, horizon=10, discount_rate=0.1)
    clv.residual_lifetime_value(bg, gg, cdnow, discount_rate=0.1)
    pd.testing.assert_frame_equal(cdnow, before)


def test_cash_flow_table_adds_up_to_the_customers_values(cdnow):
    bg = models.BetaGeo().fit(cdnow).sample_laplace(100, random_seed=8)
    gg = GammaGamma().fit(cdnow).sample_laplace(100, random_seed=9)
    kwargs = {"horizon": 52, "step": 13, "discount_rate": 0.1, "margin": 0.3}
    table = clv.cash_flow_table(bg, gg, cdnow, **kwargs)
    assert list(table.index) == [13, 26, 39, 52]
    per_customer = clv.customer_lifetime_value(bg, gg, cdnow, **kwargs)
    np.testing.assert_allclose(table["discounted_value"].sum(), per_customer.sum(), rtol=1e-10)
    purchases = bg.expected_purchases(52, cdnow).sum()
    np.testing.assert_allclose(table["purchases"].sum(), purchases, rtol=1e-10)
    assert (table["discounted_value"] < table["value"]).all()
    assert (table["discounted_lower"] <= table["discounted_value"]).all()
    assert (table["discounted_value"] <= table["discounted_upper"]).all()


def test_chunk_slices_cover_every_item_once_within_the_budget(monkeypatch):
    from models import _draws

    for n, per_item, budget in [(0, 5, 10), (7, 3, 10), (10, 100, 50), (25, 4, 20)]:
        parts = _draws.chunk_slices(n, per_item, budget)
        covered = [i for part in parts for i in range(n)[part]]
        assert covered == list(range(n))
        sizes = [part.stop - part.start for part in parts]
        assert all(size == 1 or size * per_item <= budget for size in sizes)
    monkeypatch.setattr(_draws, "CHUNK_ELEMENTS", 12)  # the default budget is read per call
    assert [p.stop for p in _draws.chunk_slices(10, 3)] == [4, 8, 10]


def test_value_over_draws_is_the_discounted_sum_of_step_increments(cdnow, monkeypatch):
    """CLV (one purchases call over all step ends, in chunks of customers) equals
    sum_k (E[Y(t_k)] - E[Y(t_(k-1))]) / (1 + d)^k x spend, draw by draw, step by step."""
    from models import _draws

    bg = models.BetaGeo().fit(cdnow).sample_laplace(40, random_seed=5)
    gg = GammaGamma().fit(cdnow).sample_laplace(40, random_seed=6)
    monkeypatch.setattr(_draws, "CHUNK_ELEMENTS", 40 * 13 * 97)  # about 25 chunks
    step, horizon, rate = 4.345, 52.14, 0.01
    value = clv.customer_lifetime_value(
        bg,
        gg,
        cdnow,
        horizon=horizon,
        step=step,
        discount_rate=rate,
        discount_period="W",
        return_draws=True,
    ).to_numpy()
    per_step_rate = (1 + rate) ** step - 1
    ends = np.append(np.arange(step, horizon, step), horizon)
    purchases = [bg.expected_purchases(t, cdnow, return_draws=True).to_numpy() for t in ends]
    increments = np.diff(np.stack([np.zeros_like(purchases[0]), *purchases]), axis=0)
    discount = (1 + per_step_rate) ** -np.arange(1, ends.size + 1)
    spend = gg.conditional_expected_average_spend(cdnow, return_draws=True).to_numpy()
    expected = np.tensordot(discount, increments, axes=1) * spend
    np.testing.assert_allclose(value, expected, rtol=1e-12)


def test_residual_value_with_many_nodes_is_finite(cdnow, fitted):
    # numpy's laggauss(187+) has NaN weights, which used to drop every node: all zeros.
    bg, gg = fitted
    many = clv.residual_lifetime_value(bg, gg, cdnow, discount_rate=0.1, n_nodes=200)
    fewer = clv.residual_lifetime_value(bg, gg, cdnow, discount_rate=0.1, n_nodes=128)
    assert np.isfinite(many).all() and (many > 0).all()
    np.testing.assert_allclose(many.to_numpy(), fewer.to_numpy(), rtol=1e-10)


@pytest.mark.parametrize("rate", [0.01, 0.15])
@pytest.mark.parametrize(("n_nodes", "rtol"), [(28, 6e-8), (40, 7e-10)])
def test_residual_value_accuracy_as_documented(cdnow, rate, n_nodes, rtol):
    """RLV = margin x spend x closed-form DERT (FHL05 JMR eq. 2) to the docstring's accuracy,
    also for a customer seen for 0.001 weeks and one with 2,000 purchases."""
    extremes = pd.DataFrame(
        {"frequency": [1.0, 2000.0], "recency": [1e-3, 38.5], "T": [1e-3, 38.86]},
        index=pd.Index([-1, -2], name="customer_id"),
    ).assign(monetary_value=20.0)
    data = pd.concat([cdnow, extremes])
    data.attrs["time_unit"] = "W"
    pnbd = models.ParetoNBD().fit(cdnow)
    gg = GammaGamma().fit(cdnow)
    residual = clv.residual_lifetime_value(
        pnbd, gg, data, discount_rate=rate, margin=0.3, n_nodes=n_nodes
    )
    delta = np.log1p(rate) / unit_ratio("Y", "W")
    closed = 0.3 * pnbd.dert(delta, data) * gg.conditional_expected_average_spend(data)
    np.testing.assert_allclose(residual.to_numpy(), closed.to_numpy(), rtol=rtol)


@pytest.mark.parametrize("n_nodes", [0, -3, 2.5, 64.0, True, "64", None])
def test_residual_value_refuses_bad_node_counts(cdnow, fitted, n_nodes):
    bg, gg = fitted
    with pytest.raises(ValidationError, match="n_nodes must be a whole number >= 8"):
        clv.residual_lifetime_value(bg, gg, cdnow, discount_rate=0.1, n_nodes=n_nodes)
