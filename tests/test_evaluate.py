"""Tests of the holdout scorecard, segments and randomised PIT (models/evaluate/)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from models import evaluate
from models._validation import ValidationError

IDS = pd.Index(["a", "b", "c", "d"], name="customer_id")


def _pair(pred, act, index=IDS):
    return pd.Series(pred, index=index, dtype=float), pd.Series(act, index=index, dtype=float)


def _random_pair(seed: int, n: int = 500):
    rng = np.random.default_rng(seed)
    index = pd.RangeIndex(n, name="customer_id")
    mu = rng.gamma(0.5, 2.0, size=n)
    return _pair(mu, rng.poisson(mu), index)


def test_hand_example():
    pred, act = _pair([1, 2, 3, 4], [0, 2, 2, 8])
    row = evaluate.scorecard(pred, act, top_share=0.25).loc["all"]
    # errors 1, 0, 1, -4
    assert row["n"] == 4
    assert row["actual_total"] == 12 and row["predicted_total"] == 10
    assert row["aggregate_error"] == -2
    assert row["aggregate_error_rel"] == pytest.approx(-2 / 12)
    assert row["mae"] == pytest.approx(1.5)
    assert row["rmse"] == pytest.approx(np.sqrt(18 / 4))
    assert row["bias"] == pytest.approx(-0.5)
    # ranks (1, 2, 3, 4) vs (1, 2.5, 2.5, 4)
    assert row["spearman"] == pytest.approx(stats.spearmanr([1, 2, 3, 4], [0, 2, 2, 8]).statistic)
    assert row["top_decile_share"] == pytest.approx(8 / 12)  # top quarter = customer d
    assert row["top_decile_lift"] == pytest.approx(8 / 12 / 0.25)
    assert row["gini"] == pytest.approx(1.0)  # sorted exactly as the actuals


def test_gini_of_reversed_ranking_by_hand():
    # sorted by prediction the actuals come as 0, 2, 2, 8: area 0.25 -> Gini -0.5;
    # perfect order 8, 2, 2, 0: area 0.75 -> Gini 0.5; normalised -1
    assert evaluate.normalized_gini([4, 3, 2, 1], [0, 2, 2, 8]) == pytest.approx(-1.0)
    assert evaluate.normalized_gini([1, 2, 3, 4], [0, 2, 2, 8]) == pytest.approx(1.0)


def test_top_share_fractional_boundary():
    # 10 % of 4 customers = 0.4 of the top one (actual 8)
    assert evaluate.top_share_captured([1, 2, 3, 4], [0, 2, 2, 8]) == pytest.approx(0.4 * 8 / 12)


def test_constant_predictions_rank_like_random():
    pred, act = _random_pair(1)
    flat = pd.Series(1.0, index=pred.index)
    row = evaluate.scorecard(flat, act).loc["all"]
    assert row["top_decile_share"] == pytest.approx(0.1)
    assert row["top_decile_lift"] == pytest.approx(1.0)
    assert row["gini"] == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(row["spearman"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_error_metric_properties(seed):
    pred, act = _random_pair(seed)
    row = evaluate.scorecard(pred, act).loc["all"]
    assert row["mae"] >= 0
    assert row["rmse"] >= row["mae"]
    assert abs(row["bias"]) <= row["mae"]
    assert row["aggregate_error"] == pytest.approx(row["bias"] * row["n"])
    assert 0 <= row["top_decile_share"] <= 1
    assert -1 <= row["gini"] <= 1


def test_ranking_metrics_ignore_monotone_transforms():
    pred, act = _random_pair(9)
    card = evaluate.scorecard(pred, act).loc["all"]
    again = evaluate.scorecard(np.log1p(pred) * 3 + 1, act).loc["all"]
    for name in ("spearman", "top_decile_share", "top_decile_lift", "gini"):
        assert again[name] == pytest.approx(card[name])
    assert again["mae"] != pytest.approx(card["mae"])


def test_perfect_predictions():
    _, act = _random_pair(4)
    row = evaluate.scorecard(act, act).loc["all"]
    for name in ("aggregate_error", "aggregate_error_rel", "mae", "rmse", "bias"):
        assert row[name] == 0
    assert row["spearman"] == pytest.approx(1.0)
    assert row["gini"] == pytest.approx(1.0)
    # the best possible top share: the largest 10 % of the actuals
    best = np.sort(act.to_numpy())[::-1][:50].sum() / act.sum()
    assert row["top_decile_share"] == pytest.approx(best)


def test_brier_and_intervals():
    pred, act = _pair([1, 2, 3, 4], [1, 0, 0, 5])
    p_alive = pd.Series([0.9, 0.2, 1.0, 0.5], index=IDS)
    inf = pd.DataFrame({"lower": -np.inf, "upper": np.inf}, index=IDS)
    narrow = pd.DataFrame({"lower": [0, 1, 0, 0], "upper": [2, 3, 0, 4]}, index=IDS)
    row = evaluate.scorecard(pred, act, p_alive=p_alive, intervals={"all": inf, "80": narrow}).loc[
        "all"
    ]
    # outcome = bought in the holdout: 1, 0, 0, 1
    assert row["brier"] == pytest.approx((0.01 + 0.04 + 1.0 + 0.25) / 4)
    assert row["coverage_all"] == 1.0
    assert row["coverage_80"] == pytest.approx(0.5)  # a and c inside
    given = pd.Series([True, True, False, False], index=IDS)
    with_outcome = evaluate.scorecard(pred, act, p_alive=p_alive, alive_outcome=given)
    assert with_outcome.loc["all", "brier"] == pytest.approx((0.01 + 0.64 + 1.0 + 0.25) / 4)
    tuple_form = evaluate.scorecard(pred, act, intervals={"80": (narrow["lower"], narrow["upper"])})
    assert tuple_form.loc["all", "coverage_80"] == pytest.approx(0.5)


def test_segments_rows_equal_scoring_the_subset():
    pred, act = _random_pair(5)
    rng = np.random.default_rng(6)
    segments = pd.DataFrame(
        {"s1": rng.uniform(size=500) < 0.3, "s2": rng.uniform(size=500) < 0.6}, index=pred.index
    )
    card = evaluate.scorecard(pred, act, segments=segments)
    assert list(card.index) == ["all", "s1", "s2"]
    mask = segments["s1"]
    alone = evaluate.scorecard(pred[mask], act[mask]).loc["all"]
    pd.testing.assert_series_equal(card.loc["s1"], alone, check_names=False)
    labels = pd.Series(np.where(mask, "in", "out"), index=pred.index)
    by_label = evaluate.scorecard(pred, act, segments=labels)
    pd.testing.assert_series_equal(by_label.loc["in"], alone, check_names=False)


def test_dataframe_input_scores_each_target():
    pred, act = _random_pair(7)
    predicted = pd.DataFrame({"purchases": pred, "value": pred * 30})
    actual = pd.DataFrame({"purchases": act, "value": act * 25})
    card = evaluate.scorecard(predicted, actual)
    assert card.index.names == ["target", "segment"]
    assert card.loc[("value", "all"), "bias"] == pytest.approx(np.mean(pred * 30 - act * 25))


def test_actual_in_another_order_is_aligned():
    pred, act = _pair([1, 2, 3, 4], [0, 2, 2, 8])
    shuffled = act.iloc[[3, 1, 0, 2]]
    pd.testing.assert_frame_equal(evaluate.scorecard(pred, shuffled), evaluate.scorecard(pred, act))


def test_inputs_not_modified():
    pred, act = _random_pair(8)
    copies = pred.copy(), act.copy()
    segments = pd.DataFrame({"big": act > 2}, index=act.index)
    seg_copy = segments.copy()
    evaluate.scorecard(pred, act, segments=segments, p_alive=pred.clip(0, 1))
    pd.testing.assert_series_equal(pred, copies[0])
    pd.testing.assert_series_equal(act, copies[1])
    pd.testing.assert_frame_equal(segments, seg_copy)


# --- the metrics match customers by id ---------------------------------------------------------

METRICS = {
    "spearman": evaluate.spearman,
    "normalized_gini": evaluate.normalized_gini,
    "top_share_captured": evaluate.top_share_captured,
    "coverage": lambda pred, act: evaluate.coverage(act, pred * 0.5, pred * 2.0),
}


@pytest.mark.parametrize("name", list(METRICS))
def test_metric_is_aligned_on_customer_ids(name):
    metric = METRICS[name]
    pred, act = _random_pair(11)
    order = np.random.default_rng(12).permutation(len(act))
    value = metric(pred, act)
    assert metric(pred, act.iloc[order]) == value
    assert metric(pred.iloc[order], act) == pytest.approx(value, rel=1e-12)
    assert metric(pred, act.sort_values()) == value
    # plain arrays have no ids: taken by position (in the order of the Series, if any)
    assert metric(pred.to_numpy(), act.to_numpy()) == value
    assert metric(pred.iloc[order], act.to_numpy()[order]) == pytest.approx(value, rel=1e-12)
    assert metric(pred.to_numpy(), act) == value


def test_coverage_bounds_are_aligned_on_ids_too():
    pred, act = _pair([1, 2, 3, 4], [1, 0, 0, 5])
    lower = pd.Series([0.0, 1.0, 0.0, 0.0], index=IDS)
    upper = pd.Series([2.0, 3.0, 0.0, 4.0], index=IDS)
    assert evaluate.coverage(act, lower, upper) == 0.5  # a and c inside
    assert evaluate.coverage(act, lower.iloc[::-1], upper.iloc[[2, 0, 3, 1]]) == 0.5
    assert evaluate.coverage(act, lower - np.inf, upper + np.inf) == 1.0
    # bounds as arrays (no ids) are taken in the order of actual, as notebook 02 passes them
    assert evaluate.coverage(act, lower.to_numpy(), upper.to_numpy()) == 0.5
    with pytest.raises(
        ValidationError,
        match=r"actual and upper must be indexed by the same customer ids; 1 id of actual is "
        r"missing from upper \(first: customer_id='d'\)\. ",
    ):
        evaluate.coverage(act, lower, upper.drop("d"))
    with pytest.raises(ValidationError, match="actual has 4, lower has 4, upper has 3"):
        evaluate.coverage(act.to_numpy(), lower.to_numpy(), upper.to_numpy()[:3])


@pytest.mark.parametrize("name", ["spearman", "normalized_gini", "top_share_captured"])
def test_metric_refuses_different_customers(name):
    metric = METRICS[name]
    pred, act = _pair([1, 2, 3, 4], [0, 2, 2, 8])
    other = act.rename(index={"c": "x", "d": "y"})
    with pytest.raises(
        ValidationError,
        match=r"same customer ids; 2 ids of predicted are missing from actual \(first: "
        r"customer_id='c'\); 2 ids of actual are missing from predicted \(first: "
        r"customer_id='x'\)",
    ):
        metric(pred, other)
    with pytest.raises(ValidationError, match=r"1 id of predicted is missing.*customer_id='b'"):
        metric(pred, act.drop("b"))
    with pytest.raises(ValidationError, match=r"must not repeat a customer.*customer_id='a'"):
        metric(pred, pd.concat([act, act.iloc[:1]]))
    with pytest.raises(ValidationError, match="predicted has 4, actual has 3"):
        metric(pred.to_numpy(), act.to_numpy()[:3])


def test_metric_input_errors():
    pred, act = _pair([1, 2, 3, 4], [0, 2, 2, 8])
    with pytest.raises(ValidationError, match="predicted has 4, actual has 3"):
        evaluate.spearman(pred, act.to_numpy()[:3])
    with pytest.raises(ValidationError, match=r"actual must be a finite.*customer_id='c'"):
        evaluate.normalized_gini(pred, act.where(act.index != "c"))
    with pytest.raises(ValidationError, match=r"predicted must be a finite.*row=1"):
        evaluate.top_share_captured([1.0, np.inf], [1.0, 2.0])
    with pytest.raises(ValidationError, match=r"lower must be a number.*customer_id='a'"):
        evaluate.coverage(act, pred.where(pred > 1), pred)
    with pytest.raises(ValidationError, match=r"share must be in \(0, 1\)"):
        evaluate.top_share_captured(pred, act, share=1.5)
    with pytest.raises(ValidationError, match=r"predicted must be one value per customer"):
        evaluate.spearman(np.ones((2, 2)), np.ones(4))


# --- segments ----------------------------------------------------------------------------------


def test_segment_customers_by_hand():
    cal = pd.DataFrame(
        {
            "frequency": [0.0, 2.0, 1.0, 5.0, 3.0],
            "recency": [0.0, 30.0, 10.0, 38.0, 20.0],
            "T": [39.0, 39.0, 39.0, 39.0, 39.0],
            "total_value": [10.0, 50.0, 20.0, 300.0, 40.0],
        },
        index=pd.Index([1, 2, 3, 4, 5], name="customer_id"),
    )
    cal.attrs["time_unit"] = "W"
    seg = evaluate.segment_customers(cal)
    # default gap: 3 months = 3 x 30.436875 / 7 = 13.04 weeks
    assert seg.attrs["lapsed_after"] == pytest.approx(3 * 30.436875 / 7)
    assert seg["one_time"].tolist() == [True, False, False, False, False]
    assert seg["repeat"].tolist() == [False, True, True, True, True]
    assert seg["top_decile"].tolist() == [False, False, False, True, False]  # ceil(0.5) = 1
    # gaps 39, 9, 29, 1, 19 weeks; one-time buyers are not "lapsed"
    assert seg["lapsed"].tolist() == [False, False, True, False, True]
    tight = evaluate.segment_customers(cal, lapsed_after=5.0, top_share=0.4)
    assert tight["lapsed"].tolist() == [False, True, True, False, True]
    assert tight["top_decile"].tolist() == [False, True, False, True, False]
    rank = pd.Series([5.0, 4.0, 3.0, 2.0, 1.0], index=cal.index)
    assert evaluate.segment_customers(cal, rank_by=rank)["top_decile"].tolist() == [
        True,
        False,
        False,
        False,
        False,
    ]
    card = evaluate.scorecard(cal["frequency"], cal["total_value"], segments=seg)
    assert list(card.index) == ["all", "one_time", "repeat", "top_decile", "lapsed"]
    assert card.loc["lapsed", "n"] == 2
    empty = seg.assign(lapsed=False)
    card = evaluate.scorecard(cal["frequency"], cal["total_value"], segments=empty)
    assert card.loc["lapsed", "n"] == 0 and np.isnan(card.loc["lapsed", "mae"])


# --- randomised PIT ----------------------------------------------------------------------------


def _poisson_pit(seed: int, n: int, scale: float):
    rng = np.random.default_rng(seed)
    mu = rng.gamma(2.0, 1.0, size=n)
    y = rng.poisson(mu)
    predictive = mu * scale
    lower = stats.poisson.cdf(y - 1, predictive)
    upper = stats.poisson.cdf(y, predictive)
    return evaluate.randomized_pit(lower, upper, np.random.default_rng(seed + 1))


def test_pit_uniform_for_correct_poisson_predictive():
    pit = _poisson_pit(11, 20_000, 1.0)
    cover = evaluate.pit_coverage(pit)
    # standard error at n = 20,000 is at most 0.0035; allow 0.015
    np.testing.assert_allclose(cover.to_numpy(), [0.5, 0.8, 0.9], atol=0.015)
    assert stats.kstest(pit, "uniform").pvalue > 0.001


def test_pit_detects_a_wrong_predictive():
    cover = evaluate.pit_coverage(_poisson_pit(12, 20_000, 2.0))
    assert abs(cover[0.9] - 0.9) > 0.05


def test_pit_is_reproducible_and_equal_to_cdf_when_continuous():
    lower = np.array([0.1, 0.3])
    a = evaluate.randomized_pit(lower, lower + 0.2, np.random.default_rng(3))
    b = evaluate.randomized_pit(lower, lower + 0.2, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert np.all((a >= lower) & (a <= lower + 0.2))
    np.testing.assert_array_equal(
        evaluate.randomized_pit(lower, lower, np.random.default_rng(0)), lower
    )


# --- clear errors ----------------------------------------------------------------------------


def test_error_missing_customer_named():
    pred, act = _pair([1, 2, 3, 4], [0, 2, 2, 8])
    with pytest.raises(ValidationError, match=r"actual must have a row.*customer_id='c'"):
        evaluate.scorecard(pred, act.drop("c"))
    with pytest.raises(ValidationError, match=r"actual must not have customers.*customer_id='z'"):
        evaluate.scorecard(pred, pd.concat([act, pd.Series([1.0], index=["z"])]))


def test_error_nan_named():
    pred, act = _pair([1, 2, 3, 4], [0, 2, np.nan, 8])
    with pytest.raises(ValidationError, match=r"actual must be a finite.*customer_id='c'"):
        evaluate.scorecard(pred, act)
    with pytest.raises(ValidationError, match=r"predicted must be a finite.*customer_id='b'"):
        evaluate.scorecard(pd.Series([1, np.nan, 3, 4], index=IDS), act.fillna(0))


def test_error_bad_inputs():
    pred, act = _pair([1, 2, 3, 4], [0, 2, 2, 8])
    with pytest.raises(ValidationError, match="predicted must be a pandas Series"):
        evaluate.scorecard(pred.to_numpy(), act)
    dup = pd.Series([1.0, 2.0], index=["a", "a"])
    with pytest.raises(ValidationError, match=r"must not repeat a customer.*customer_id='a'"):
        evaluate.scorecard(dup, dup)
    with pytest.raises(ValidationError, match=r"p_alive must be in \[0, 1\].*customer_id='d'"):
        evaluate.scorecard(pred, act, p_alive=pd.Series([0.1, 0.2, 0.3, 1.5], index=IDS))
    bad = pd.DataFrame({"lower": [0, 3, 0, 0], "upper": [1, 2, 1, 1]}, index=IDS)
    with pytest.raises(ValidationError, match=r"must be <= upper.*customer_id='b'"):
        evaluate.scorecard(pred, act, intervals={"50": bad})
    with pytest.raises(ValidationError, match="alive_outcome is only used with p_alive"):
        evaluate.scorecard(pred, act, alive_outcome=act > 0)
    with pytest.raises(ValidationError, match="top_share must be in"):
        evaluate.scorecard(pred, act, top_share=1.0)


def test_error_pit_inputs():
    rng = np.random.default_rng(0)
    with pytest.raises(ValidationError, match="rng must be a numpy.random.Generator"):
        evaluate.randomized_pit([0.1], [0.2], 42)
    with pytest.raises(ValidationError, match=r"cdf_lower must be <= cdf_upper.*row=1"):
        evaluate.randomized_pit([0.1, 0.5], [0.2, 0.4], rng)
    with pytest.raises(ValidationError, match=r"cdf_upper must be a probability.*row=0"):
        evaluate.randomized_pit([0.1], [np.nan], rng)


def test_package_reexports_every_submodule_name():
    from models.evaluate import holdout, metrics, pit

    modules = (holdout, metrics, pit)
    assert sorted(n for m in modules for n in m.__all__) == sorted(evaluate.__all__)
    assert all(getattr(evaluate, n) is getattr(m, n) for m in modules for n in m.__all__)
