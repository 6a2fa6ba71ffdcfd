"""Tests of the rule of thumb S x C x P x t and its variants (models/baseline/)."""

import numpy as np
import pandas as pd
import pytest

from models import baseline, datasets
from models._units import TIME_UNITS
from models._validation import ValidationError

DAYS_PER_MONTH = 365.2425 / 12


def _worked_example(unit: str = "M") -> pd.DataFrame:
    """One customer spending $20 once a month for 3 years: 36 purchases, observed 36 months."""
    months = {"frequency": 35.0, "recency": 35.0, "T": 36.0}
    scale = DAYS_PER_MONTH / {"D": 1.0, "W": 7.0, "M": DAYS_PER_MONTH}[unit]
    frame = pd.DataFrame(
        {
            "frequency": [35.0],
            "recency": [months["recency"] * scale],
            "T": [months["T"] * scale],
            "n_transactions": [36],
            "total_value": [720.0],
        },
        index=pd.Index(["c1"], name="customer_id"),
    )
    frame.attrs["time_unit"] = unit
    return frame


def _toy(unit: str = "M") -> pd.DataFrame:
    """Four customers; times given in months, converted to ``unit``.

    Hand computations (months): S = 240 / 10 = 24; C = 10 / (6 + 6 + 1 + 10) = 10 / 23 (C's
    age is floored to 1 month); observed t = (1 + 5 + 1.5 + 10) / 4 = 4.375; monthly
    retention: retained 0 + 4 + 0 + 9 = 13 of at-risk 1 + 5 + 0 + 10 = 16.
    """
    scale = DAYS_PER_MONTH / TIME_UNITS[unit]
    frame = pd.DataFrame(
        {
            "frequency": [0.0, 2.0, 1.0, 3.0],
            "recency": np.array([0.0, 4.0, 0.5, 9.0]) * scale,
            "T": np.array([6.0, 6.0, 0.5, 10.0]) * scale,
            "n_transactions": [1, 3, 2, 4],
            "total_value": [30.0, 60.0, 50.0, 100.0],
        },
        index=pd.Index(["A", "B", "C", "D"], name="customer_id"),
    )
    frame.attrs["time_unit"] = unit
    return frame


# --- the worked example: $20 a month for 3 years = 20 x 12 x 3 = $720 (REFERENCE.md) ---------


def test_worked_example_formula():
    assert baseline.ltv(20.0, 1.0, 1.0, 36.0) == 720.0  # 20 x 12 x 3 (REFERENCE.md)
    assert baseline.ltv(20.0, 1.0, 0.3, 36.0) == pytest.approx(216.0)  # x P for profit


@pytest.mark.parametrize("unit", ["M", "W", "D"])
def test_worked_example_from_data(unit):
    rule = baseline.rule_of_thumb(_worked_example(unit))
    assert rule.S == pytest.approx(20.0)
    assert rule.C == pytest.approx(1.0)
    assert rule.t == pytest.approx(36.0)
    assert rule.ltv == pytest.approx(720.0)
    assert baseline.rule_of_thumb(_worked_example(unit), margin=0.25).ltv == pytest.approx(180.0)


def test_worked_example_retention_gives_the_same_lifetime():
    # 35 monthly transitions kept out of 36 at risk: r = 35/36, t = 1 / (1 - r) = 36 months
    rule = baseline.rule_of_thumb(_worked_example(), variant="retention")
    assert rule.retention == pytest.approx(35 / 36)
    assert rule.t == pytest.approx(36.0)
    assert rule.ltv == pytest.approx(720.0)


def test_retention_lifetime():
    assert baseline.retention_lifetime(0.0) == 1.0
    assert baseline.retention_lifetime(0.8) == pytest.approx(5.0)
    with pytest.raises(ValidationError, match="retention rate r must be in"):
        baseline.retention_lifetime(1.0)


def test_months_per_unit_uses_the_calendar_month():
    assert baseline.months_per_unit("M") == 1.0
    assert baseline.months_per_unit("Y") == pytest.approx(12.0)
    assert baseline.months_per_unit("W") == pytest.approx(7 / 30.436875)
    with pytest.raises(ValidationError, match="time_unit must be one of"):
        baseline.months_per_unit("month")


# --- each variant on the hand-computed toy data -------------------------------------------------


@pytest.mark.parametrize("unit", ["M", "W", "D", "Y"])
def test_classic_on_toy(unit):
    rule = baseline.rule_of_thumb(_toy(unit), margin=0.5)
    assert rule.S == pytest.approx(24.0)
    assert rule.C == pytest.approx(10 / 23)
    assert rule.t == pytest.approx(4.375)
    assert rule.ltv == pytest.approx(24 * 10 / 23 * 0.5 * 4.375)
    h = 3.0 / baseline.months_per_unit(unit)  # 3 months in the summary's unit
    pred = rule.predict(_toy(unit), h)
    np.testing.assert_allclose(pred["predicted_purchases"], 3 * 10 / 23)
    np.testing.assert_allclose(pred["predicted_value"], 3 * 10 / 23 * 24 * 0.5)
    # a 6-month window is capped at the 4.375-month lifetime
    longer = rule.predict(_toy(unit), 2 * h)
    np.testing.assert_allclose(longer["predicted_purchases"], 4.375 * 10 / 23)


def test_classic_remaining_cap_on_toy():
    rule = baseline.rule_of_thumb(_toy(), cap="remaining")
    pred = rule.predict(_toy(), 3.0)
    # clip(4.375 - T, 0, 3) for T = 6, 6, 0.5, 10 months
    np.testing.assert_allclose(pred["predicted_purchases"], np.array([0, 0, 3, 0]) * 10 / 23)


def test_retention_on_toy():
    rule = baseline.rule_of_thumb(_toy(), variant="retention")
    assert rule.retention == pytest.approx(13 / 16)
    assert rule.t == pytest.approx(16 / 3)
    assert rule.ltv == pytest.approx(24 * 10 / 23 * 16 / 3)
    pred = rule.predict(_toy(), 2.0)
    # expected active months over 2 months: 1 + r = 29/16
    np.testing.assert_allclose(pred["predicted_purchases"], 29 / 16 * 10 / 23)


def test_retention_period_of_three_months_on_toy():
    # floor(t_x / 3) retained of min(floor(t_x / 3) + 1, floor(T / 3)) at risk:
    # A 0 of 1, B 1 of 2, C 0 of 0, D 3 of 3 -> r = 4/6; t = 3 / (1 - r) = 9 months
    rule = baseline.rule_of_thumb(_toy(), variant="retention", retention_period=3.0)
    assert rule.retention == pytest.approx(2 / 3)
    assert rule.t == pytest.approx(9.0)
    pred = rule.predict(_toy(), 6.0)  # two periods: 3 (1 + r) months active
    np.testing.assert_allclose(pred["predicted_purchases"], 3 * (1 + 2 / 3) * 10 / 23)


def test_per_segment_on_toy():
    rule = baseline.rule_of_thumb(_toy(), variant="per_segment")
    # one_time = {A}; repeat = {B, C, D}
    assert rule.S.to_dict() == pytest.approx({"one_time": 30.0, "repeat": 210 / 9})
    assert rule.C.to_dict() == pytest.approx({"one_time": 1 / 6, "repeat": 9 / 17})
    assert rule.t.to_dict() == pytest.approx({"one_time": 1.0, "repeat": 5.5})
    assert rule.ltv.to_dict() == pytest.approx({"one_time": 5.0, "repeat": 1155 / 17})
    pred = rule.predict(_toy(), 3.0)
    expected = [1 / 6 * 1, 9 / 17 * 3, 9 / 17 * 3, 9 / 17 * 3]
    np.testing.assert_allclose(pred["predicted_purchases"], expected)


def test_per_segment_with_user_labels_and_retention():
    labels = pd.Series(["x", "x", "y", "y"], index=["A", "B", "C", "D"])
    rule = baseline.rule_of_thumb(
        _toy(), variant="per_segment", segments=labels, lifetime="retention"
    )
    # x: retained 0 + 4 of 1 + 5 -> r = 2/3, t = 3; y: 0 + 9 of 0 + 10 -> r = 0.9, t = 10
    assert rule.retention.to_dict() == pytest.approx({"x": 2 / 3, "y": 0.9})
    assert rule.t.to_dict() == pytest.approx({"x": 3.0, "y": 10.0})
    assert rule.S.to_dict() == pytest.approx({"x": 90 / 4, "y": 150 / 6})
    frame = _toy().assign(group=labels)
    by_column = baseline.rule_of_thumb(
        frame, variant="per_segment", segments="group", lifetime="retention"
    )
    pd.testing.assert_frame_equal(by_column.predict(frame, 3.0), rule.predict(_toy(), 3.0))


def test_per_customer_on_toy():
    rule = baseline.rule_of_thumb(_toy(), variant="per_customer", margin=0.5)
    np.testing.assert_allclose(rule.S, [30.0, 20.0, 25.0, 25.0])
    np.testing.assert_allclose(rule.C, [1 / 6, 3 / 6, 2 / 1, 4 / 10])  # age floored at 1 month
    assert rule.t == pytest.approx(4.375)
    np.testing.assert_allclose(rule.ltv, rule.S * rule.C * 0.5 * 4.375)
    pred = rule.predict(_toy(), 3.0)
    np.testing.assert_allclose(pred["predicted_purchases"], rule.C * 3)
    np.testing.assert_allclose(pred["predicted_value"], rule.C * 3 * rule.S * 0.5)
    # a subset of the calibrated customers, in another order
    sub = _toy().loc[["D", "A"]]
    sub.attrs["time_unit"] = "M"
    np.testing.assert_allclose(rule.predict(sub, 3.0)["predicted_purchases"], [1.2, 0.5])


def test_basket_x_frequency_on_toy():
    rule = baseline.rule_of_thumb(_toy(), variant="basket_x_frequency", horizon=12.0)
    assert rule.t == pytest.approx(12.0)
    assert rule.ltv == pytest.approx(24 * 10 / 23 * 12)
    pred = rule.predict(_toy(), 30.0)  # no lifetime cap
    np.testing.assert_allclose(pred["predicted_purchases"], 30 * 10 / 23)
    assert baseline.rule_of_thumb(_toy(), variant="basket_x_frequency").ltv is None


def test_n_transactions_defaults_to_frequency_plus_one():
    frame = _toy().drop(columns="n_transactions")
    frame.attrs["time_unit"] = "M"
    assert baseline.rule_of_thumb(frame).S == pytest.approx(24.0)


def test_all_variants_is_tidy_and_matches_each_rule():
    cal = _toy()
    out = baseline.all_variants(cal, 3.0, margin=0.5)
    assert list(out.columns) == [
        "customer_id",
        "variant",
        "predicted_purchases",
        "predicted_value",
        "ltv",
    ]
    assert len(out) == 4 * len(baseline.ALL_VARIANTS)
    assert set(out["variant"]) == set(baseline.ALL_VARIANTS)
    per_customer = out[out["variant"] == "per_customer"].set_index("customer_id")
    rule = baseline.rule_of_thumb(cal, variant="per_customer", margin=0.5)
    np.testing.assert_allclose(per_customer["ltv"], rule.ltv)
    np.testing.assert_allclose(
        per_customer["predicted_value"], rule.predict(cal, 3.0)["predicted_value"]
    )
    per_segment = out[out["variant"] == "per_segment"].set_index("customer_id")
    np.testing.assert_allclose(per_segment["ltv"], [2.5, 1155 / 34, 1155 / 34, 1155 / 34])
    assert np.isfinite(out[["predicted_purchases", "predicted_value", "ltv"]]).all().all()


def test_inputs_not_modified():
    cal = _toy()
    before = cal.copy(deep=True)
    attrs = dict(cal.attrs)
    baseline.all_variants(cal, 3.0)
    baseline.rule_of_thumb(cal, variant="per_segment").predict(cal, 2.0)
    pd.testing.assert_frame_equal(cal, before)
    assert cal.attrs == attrs


# --- clear errors ----------------------------------------------------------------------------


def test_error_without_time_unit():
    cal = _toy()
    cal.attrs.clear()
    with pytest.raises(ValidationError, match=r"attrs\['time_unit'\] is not set"):
        baseline.rule_of_thumb(cal)
    assert baseline.rule_of_thumb(cal, time_unit="M").t == pytest.approx(4.375)


def test_error_names_column_and_customer():
    cal = _toy()
    cal.loc["C", "total_value"] = np.nan
    with pytest.raises(ValidationError, match=r"total_value must be a finite.*customer_id='C'"):
        baseline.rule_of_thumb(cal)
    cal = _toy()
    cal.loc["B", "recency"] = 7.0
    with pytest.raises(ValidationError, match=r"recency must be <= T.*customer_id='B'"):
        baseline.rule_of_thumb(cal)
    cal = _toy().drop(columns="total_value")
    with pytest.raises(ValidationError, match="missing column"):
        baseline.rule_of_thumb(cal)


def test_errors_on_settings():
    cal = _toy()
    with pytest.raises(ValidationError, match="variant must be one of"):
        baseline.rule_of_thumb(cal, variant="magic")
    with pytest.raises(ValidationError, match="lifetime applies to"):
        baseline.rule_of_thumb(cal, variant="classic", lifetime="retention")
    for margin in (-0.1, 0, 1.5, np.nan, "30%"):
        with pytest.raises(ValidationError, match="margin must be"):
            baseline.rule_of_thumb(cal, margin=margin)
        with pytest.raises(ValidationError, match="margin must be"):
            baseline.all_variants(cal, 3.0, margin=margin)
    with pytest.raises(ValidationError, match=r"margin must be a fraction of revenue in \(0, 1\]"):
        baseline.rule_of_thumb(cal, margin=0)
    with pytest.raises(ValidationError, match="horizon must be a finite number > 0, got nan"):
        baseline.all_variants(cal, np.nan)
    with pytest.raises(ValidationError, match="retention_period must be a finite number > 0"):
        baseline.rule_of_thumb(cal, variant="retention", retention_period=np.inf)
    with pytest.raises(ValidationError, match="horizon must be a finite number > 0"):
        baseline.rule_of_thumb(cal).predict(cal, 0)
    with pytest.raises(ValidationError, match="segments applies to"):
        baseline.rule_of_thumb(cal, segments="x")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-10, 2, 0.3, 3), r"S \(average order value\) must be a finite number >= 0, got -10"),
        ((20, np.nan, 0.3, 3), r"C \(purchases per month\) must be a finite number >= 0"),
        ((20, 1, 0, 36), r"P \(margin\) must be a fraction of revenue in \(0, 1\].*got 0\."),
        ((20, 1, 1.2, 36), r"P \(margin\) must be a fraction of revenue in \(0, 1\].*got 1.2"),
        ((20, 1, 1, np.inf), r"t \(lifetime in months\) must be a finite number >= 0, got inf"),
        ((20, 1, 1, -1), r"t \(lifetime in months\) must be a finite number >= 0"),
        (("$20", 1, 1, 36), "S must be a number, got '\\$20'"),
        ((True, 1, 1, 36), "S must be a number, got True"),
    ],
)
def test_ltv_checks_its_inputs(args, message):
    with pytest.raises(ValidationError, match=message):
        baseline.ltv(*args)


def test_ltv_of_zero_ingredients_is_zero():
    assert baseline.ltv(0.0, 1.0, 1.0, 36.0) == 0.0
    assert baseline.ltv(20.0, 0.0, 1.0, 36.0) == 0.0
    assert baseline.ltv(20.0, 1.0, 1.0, 0.0) == 0.0


def test_retention_lifetime_refuses_what_is_not_a_rate():
    for r in (np.nan, -0.1, 1.0, "high", None):
        with pytest.raises(ValidationError, match="retention rate r must be"):
            baseline.retention_lifetime(r)


def test_all_variants_refuses_an_id_named_like_an_output_column():
    with pytest.raises(ValidationError, match="index .* is named 'variant'"):
        baseline.all_variants(_toy().rename_axis("variant"), 3.0)
    out = baseline.all_variants(_toy().rename_axis("cust"), 3.0)
    assert out.columns[0] == "cust"


def test_error_on_mismatched_time_unit_and_duplicated_labels():
    rule = baseline.rule_of_thumb(_toy("M"))
    with pytest.raises(ValidationError, match="time unit 'W' but the rule was computed in 'M'"):
        rule.predict(_toy("W"), 3.0)
    labels = pd.Series(["x", "x", "y", "y", "y"], index=["A", "B", "C", "D", "D"])
    with pytest.raises(ValidationError, match=r"one label per customer.*customer_id='D'"):
        baseline.rule_of_thumb(_toy(), variant="per_segment", segments=labels)


def test_error_when_retention_is_one():
    # every customer observed for a full month bought again in it: t would be infinite
    cal = pd.DataFrame(
        {"frequency": [2.0], "recency": [2.0], "T": [2.0], "total_value": [3.0]},
        index=pd.Index([7], name="customer_id"),
    )
    cal.attrs["time_unit"] = "M"
    with pytest.raises(ValidationError, match="retention rate is 1"):
        baseline.rule_of_thumb(cal, variant="retention")


def test_error_predicting_unknown_customers_or_segments():
    cal = _toy()
    rule = baseline.rule_of_thumb(cal.loc[["A", "B"]].copy(), variant="per_customer", time_unit="M")
    with pytest.raises(ValidationError, match=r"customer_id.*customer_id='C'"):
        rule.predict(cal, 3.0)
    labels = pd.Series(["x", "x", "y", "y"], index=cal.index)
    seg_rule = baseline.rule_of_thumb(cal, variant="per_segment", segments=labels)
    with pytest.raises(ValidationError, match=r"segments must have a label.*customer_id='E'"):
        seg_rule.predict(cal.rename(index={"D": "E"}), 3.0)
    by_column = baseline.rule_of_thumb(cal.assign(g=labels), variant="per_segment", segments="g")
    with pytest.raises(ValidationError, match=r"segments must be one of.*customer_id='D'"):
        by_column.predict(cal.assign(g=["x", "x", "y", "z"]), 3.0)


# --- CDNOW sample ------------------------------------------------------------------------------


def _cdnow_frames():
    """Calibration (to 1997-09-30) and holdout (to 1998-06-30) frames of the CDNOW sample."""
    raw = pd.read_csv(
        datasets.path("CDNOW_sample.txt"),
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
        dtype={"date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    daily = raw.groupby(["customer_id", "date"], as_index=False)["amount"].sum()
    end, holdout_end = pd.Timestamp("1997-09-30"), pd.Timestamp("1998-06-30")
    cal = daily[daily["date"] <= end].groupby("customer_id")
    first, last, n = cal["date"].min(), cal["date"].max(), cal.size()
    calibration = pd.DataFrame(
        {
            "frequency": (n - 1).astype(float),
            "recency": (last - first).dt.days / 7,
            "T": (end - first).dt.days / 7,
            "n_transactions": n,
            "total_value": cal["amount"].sum(),
        }
    )
    calibration.attrs["time_unit"] = "W"
    later = daily[(daily["date"] > end) & (daily["date"] <= holdout_end)].groupby("customer_id")
    holdout = pd.DataFrame(
        {"holdout_purchases": later.size(), "holdout_value": later["amount"].sum()}
    ).reindex(calibration.index, fill_value=0)
    return calibration, holdout


def test_cdnow_all_variants():
    cal, hold = _cdnow_frames()
    # REFERENCE.md (FHL 2005): 2,357 customers, sum x = 2,457, 946 repeaters, 1,882 holdout
    assert len(cal) == 2357 and cal["frequency"].sum() == 2457
    assert (cal["frequency"] > 0).sum() == 946 and hold["holdout_purchases"].sum() == 1882
    out = baseline.all_variants(cal, 39.0)
    assert len(out) == 2357 * len(baseline.ALL_VARIANTS)
    totals = out.groupby("variant")["predicted_purchases"].sum()
    assert (totals > 0).all()
    # no lifetime term: the 39-week window (8.97 months) is longer than every lifetime
    assert totals["basket_x_frequency"] > totals.drop("basket_x_frequency").max()
    seg = baseline.rule_of_thumb(cal, variant="per_segment")
    assert seg.t["one_time"] == 1.0 and seg.t["repeat"] > 1.0


def test_package_reexports_every_submodule_name():
    from models.baseline import ingredients, rule, variants

    modules = (ingredients, rule, variants)
    assert sorted(n for m in modules for n in m.__all__) == sorted(baseline.__all__)
    assert all(getattr(baseline, n) is getattr(m, n) for m in modules for n in m.__all__)
