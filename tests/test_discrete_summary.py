"""Discrete-time summaries for the BG/BB (models.discrete_summary) and calendar merge periods.

Hand-built logs with x, t_x, n worked out by hand, the calibration / holdout split, DuckDB
against Spark, and a simulate-then-recover check at the donations parameters of Fader, Hardie
& Shang (2010).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import models
from models import _spark
from models._validation import ValidationError
from models._validation.summaries import validate_discrete_summary
from models.data import DISCRETE_COLUMNS, HOLDOUT_COLUMNS

BGBB = ("frequency", "recency", "periods")


def _log(rows) -> pd.DataFrame:
    ids, dates, amounts = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "customer_id": list(ids),
            "date": pd.to_datetime(list(dates), format="ISO8601"),
            "amount": list(amounts),
        }
    )


# Yearly opportunities, observed to the end of 2001 (the donations design). By hand:
# a: years 1996 (two rows: one purchase of 15), 1998, 2000 -> first 1996, x = 2 (1998, 2000),
#    t_x = 2000 - 1996 = 4, n = 2001 - 1996 = 5, repeat values 20 and 7 -> mean 13.5.
# b: 1999 only -> x = 0, t_x = 0, n = 2.
# c: first seen in 2001, the last period -> n = 0, left out.
# d: 1997 (worth 0), 1999, 2001 -> kept: first 1997, x = 2, t_x = 4, n = 4, mean (4 + 6) / 2;
#    zero_amounts="drop": first 1999, x = 1 (2001), t_x = 2, n = 2, mean 6.
YEARLY = _log(
    [
        ("a", "1996-03-01", 10.0),
        ("a", "1996-07-15 18:30", 5.0),
        ("a", "1998-02-02", 20.0),
        ("a", "2000-12-31 23:59:59", 7.0),
        ("b", "1999-05-05", 3.0),
        ("c", "2001-01-01", 9.0),
        ("d", "1997-01-01", 0.0),
        ("d", "1999-06-01", 4.0),
        ("d", "2001-12-31", 6.0),
    ]
)
# e: returns. "net": 1996 nets 10 - 4 = 6, the lone return of 1997 (-2) is no purchase, 1998:
#    5 -> x = 1, t_x = 2, n = 5, total 11. "drop": returns removed -> 1996: 10, 1998: 5 ->
#    x = 1, t_x = 2, n = 5, total 15.
RETURNS = _log(
    [
        ("e", "1996-01-10", 10.0),
        ("e", "1996-02-01", -4.0),
        ("e", "1997-03-03", -2.0),
        ("e", "1998-08-08", 5.0),
        ("b", "1999-05-05", 3.0),
    ]
)


def _expect(table: dict) -> pd.DataFrame:
    out = pd.DataFrame.from_dict(table, orient="index", columns=[*BGBB, "monetary_value"])
    return out.astype({c: "int64" for c in BGBB})


def test_yearly_opportunities_by_hand():
    tx = YEARLY.copy()
    out = models.discrete_summary(tx, period="Y", observation_end="2001-06-30")
    want = _expect({"a": [2, 4, 5, 13.5], "b": [0, 0, 2, 0.0], "d": [2, 4, 4, 5.0]})
    assert list(out.columns) == list(DISCRETE_COLUMNS)
    assert out.index.tolist() == ["a", "b", "d"]
    assert out.index.name == "customer_id"
    assert out.index.dtype == tx["customer_id"].dtype
    pd.testing.assert_frame_equal(out[want.columns], want, check_names=False)
    assert out["n_transactions"].tolist() == [3, 1, 3]
    assert out["total_value"].tolist() == [42.0, 3.0, 10.0]
    # The first purchase is the earliest timestamp, not the start of its year.
    assert out.loc["a", "first_purchase"] == pd.Timestamp("1996-03-01")
    assert out.attrs["period"] == "Y"
    assert out.attrs["merge_period"] == out.attrs["time_unit"] == "Y"
    assert out.attrs["observation_end"] == pd.Timestamp("2001-12-31")
    assert out.attrs["n_customers"] == 3
    assert out.attrs["n_first_in_last_period"] == 1
    pd.testing.assert_frame_equal(tx, YEARLY)  # the caller's frame is unchanged
    # Default end: the last transaction's year, 2001 -> the same summary.
    pd.testing.assert_frame_equal(models.discrete_summary(tx), out)
    # The BG/BB's input checks take it as it is.
    arrays = validate_discrete_summary(out)
    np.testing.assert_array_equal(arrays["n"], [5.0, 2.0, 4.0])


def test_zero_and_negative_amount_rules():
    dropped = models.discrete_summary(YEARLY, observation_end="2001", zero_amounts="drop")
    assert dropped.loc["d", list(BGBB)].tolist() == [1, 2, 2]
    assert dropped.loc["d", "monetary_value"] == 6.0
    assert dropped.loc["d", "first_purchase"] == pd.Timestamp("1999-06-01")

    net = models.discrete_summary(RETURNS, negative_amounts="net", observation_end="2001")
    drop = models.discrete_summary(RETURNS, negative_amounts="drop", observation_end="2001")
    for out, total in ((net, 11.0), (drop, 15.0)):
        assert out.loc["e", list(BGBB)].tolist() == [1, 2, 5]
        assert out.loc["e", "total_value"] == total
        assert out.loc["e", "monetary_value"] == 5.0
    with pytest.raises(ValidationError, match="must be >= 0"):
        models.discrete_summary(RETURNS)


def test_months_and_monday_weeks_by_hand():
    # Months: a buys in 1996-03, 1996-07, 1998-02, 2000-12; end 2001-12 -> t_x = 57, n = 69.
    months = models.discrete_summary(YEARLY, period="M", observation_end="2001-12-15")
    assert months.loc["a", list(BGBB)].tolist() == [3, 57, 69]
    assert months.attrs["observation_end"] == pd.Timestamp("2001-12-31")
    # Weeks run Monday to Sunday: 2024-01-01 is a Monday, so the 1st and the 7th are one
    # week (one purchase of 3), the 8th the next; the end (Wednesday 17th) is week 2.
    weeks = _log(
        [
            (7, "2024-01-01", 1.0),
            (7, "2024-01-07 23:00", 2.0),
            (7, "2024-01-08", 4.0),
            (8, "2023-12-31", 5.0),  # a Sunday: the week before
            (8, "2024-01-15", 6.0),
        ]
    )
    out = models.discrete_summary(weeks, period="W", observation_end="2024-01-17")
    assert out.index.dtype == weeks["customer_id"].dtype
    assert out.loc[:, list(BGBB)].to_numpy().tolist() == [[1, 1, 2], [1, 3, 3]]
    assert out.loc[7, "total_value"] == 7.0
    assert out.attrs["observation_end"] == pd.Timestamp("2024-01-21")
    # Days: the same log by day.
    days = models.discrete_summary(weeks, period="D", observation_end="2024-01-17")
    assert days.loc[:, list(BGBB)].to_numpy().tolist() == [[2, 7, 16], [1, 15, 17]]


def test_calendar_merge_periods_in_rfm_summary():
    out = models.rfm_summary(YEARLY, merge_period="M", observation_end="2001-12-15")
    assert out.attrs["time_unit"] == "M"
    assert out.loc["a", ["frequency", "recency", "T"]].tolist() == [3, 57.0, 69.0]
    assert out.loc["c", ["frequency", "recency", "T"]].tolist() == [0, 0.0, 11.0]
    same = models.rfm_summary(YEARLY, merge_period="M", time_unit="M", observation_end="2001-12-01")
    pd.testing.assert_frame_equal(same, out)


def test_calibration_holdout_split_by_hand():
    # Calibration to 1998, holdout 1999-2001 (3 periods). a: 1996, 1998 | 2000 -> x = 1,
    # t_x = 2, n = 2, one holdout year. d: 1997 | 1999, 2001 -> x = 0, t_x = 0, n = 1, two.
    # b (first in 1999) and c (2001) are new in the holdout.
    split = models.discrete_calibration_holdout(
        YEARLY, calibration_end="1998-01-01", holdout_end="2001-12-31"
    )
    assert split.calibration.loc[:, list(BGBB)].to_numpy().tolist() == [[1, 2, 2], [0, 0, 1]]
    assert split.calibration.index.tolist() == ["a", "d"]
    assert list(split.holdout.columns) == list(HOLDOUT_COLUMNS)
    assert split.holdout["holdout_purchases"].tolist() == [1, 2]
    assert split.holdout["holdout_value"].tolist() == [7.0, 10.0]
    assert split.holdout["holdout_length"].tolist() == [3, 3]
    meta = split.metadata
    assert meta["holdout_length"] == 3 and isinstance(meta["holdout_length"], int)
    assert meta["calibration_end"] == pd.Timestamp("1998-12-31")
    assert meta["holdout_end"] == pd.Timestamp("2001-12-31")
    assert (meta["n_new_in_holdout"], meta["n_first_in_last_period"]) == (2, 0)
    assert meta["n_customers"] == 2 and meta["period"] == "Y"
    assert split.calibration.attrs["observation_end"] == meta["calibration_end"]
    # A customer first seen in the last calibration period is left out and counted.
    late = models.discrete_calibration_holdout(YEARLY, calibration_end="1999-07-01")
    assert late.calibration.index.tolist() == ["a", "d"]
    assert late.metadata["n_first_in_last_period"] == 1  # b, first in 1999
    assert late.metadata["holdout_length"] == 2


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: models.discrete_summary(YEARLY, period="Q"), ["period must be one of", "'Q'"]),
        (lambda: models.discrete_summary(YEARLY, period=None), ["period must be one of"]),
        (
            lambda: models.rfm_summary(YEARLY, merge_period="Y", time_unit="W"),
            ["time_unit must be 'Y'", "merge_period='Y'", "got time_unit='W'"],
        ),
        (
            lambda: models.calibration_holdout(
                YEARLY, calibration_end="1998", merge_period="W", time_unit="D"
            ),
            ["time_unit must be 'W'"],
        ),
        (
            lambda: models.discrete_summary(YEARLY.iloc[[5]]),
            ["no customer has a purchase opportunity after the first", "2001-12-31"],
        ),
        (
            lambda: models.discrete_summary(YEARLY, observation_end="1995-06-01"),
            ["observation_end 1995-06-01 is before the first transaction (1996)"],
        ),
        (
            lambda: models.discrete_summary(YEARLY, observation_end="2000-12-31"),
            ["must be on or before observation_end 2000-12-31"],
        ),
        (
            lambda: models.discrete_calibration_holdout(
                YEARLY, calibration_end="1998-01-01", holdout_end="1998-12-31"
            ),
            ["holdout_end must be after calibration_end"],
        ),
    ],
)
def test_bad_inputs_name_the_problem(call, words):
    with pytest.raises(ValidationError) as error:
        call()
    for word in words:
        assert word in str(error.value)


# --- simulate, summarise, recover ---------------------------------------------------------

#: Fader, Hardie & Shang (2010), Table 2: BG/BB estimates for the 1995 cohort of donors.
DONATIONS = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


def _simulate_donors(n_customers: int, rng: np.random.Generator):
    """A transaction log of a 1995 cohort with yearly opportunities 1996-2001 (n = 6).

    Each donor has p ~ Beta(alpha, beta) and theta ~ Beta(gamma, delta), dies at the start of
    opportunity D ~ Geometric(theta) and gives in each earlier opportunity with probability
    p. A year with a gift holds 1 + Poisson(0.5) transactions at random instants in it.
    Returns the shuffled log and the (donor, opportunity) matrix of gifts.
    """
    p = rng.beta(DONATIONS["alpha"], DONATIONS["beta"], n_customers)
    theta = rng.beta(DONATIONS["gamma"], DONATIONS["delta"], n_customers)
    first_dead = rng.geometric(theta)
    opportunity = np.arange(1, 7)
    gives = (opportunity < first_dead[:, None]) & (rng.random((n_customers, 6)) < p[:, None])
    donor, k = np.nonzero(np.column_stack([np.ones(n_customers, dtype=bool), gives]))
    copies = 1 + rng.poisson(0.5, donor.size)
    donor, year = np.repeat(donor, copies), 1995 + np.repeat(k, copies)
    start = (year - 1970).astype("datetime64[Y]").astype("datetime64[us]")
    length = (year + 1 - 1970).astype("datetime64[Y]").astype("datetime64[us]") - start
    offset = (rng.random(donor.size) * length.astype(np.int64)).astype(np.int64)
    tx = pd.DataFrame(
        {
            "donor": donor + 1000,
            "when": start + offset.astype("timedelta64[us]"),
            "gift": np.round(rng.gamma(2.0, 20.0, donor.size), 2),
        }
    )
    return tx.iloc[rng.permutation(len(tx))].reset_index(drop=True), gives


def test_simulated_donations_summarise_exactly_and_recover_the_parameters():
    rng = np.random.default_rng(20100401)
    tx, gives = _simulate_donors(100_000, rng)
    names = {"customer_id": "donor", "date": "when", "amount": "gift"}
    out = models.discrete_summary(tx, period="Y", observation_end="2001-12-31", **names)
    # The summary is exactly the simulated opportunities: x, t_x and n = 6 for every donor.
    assert out.index.tolist() == list(range(1000, 1000 + len(gives)))
    np.testing.assert_array_equal(out["frequency"], gives.sum(axis=1))
    np.testing.assert_array_equal(out["recency"], np.where(gives, np.arange(1, 7), 0).max(axis=1))
    assert (out["periods"] == 6).all()
    model = models.BetaGeoBetaBinom().fit(out)
    # Each true value inside the 99.9 % Wald interval of the fit, and within 8 % (at 100,000
    # donors the standard errors are 1-3 % of the estimates).
    table = model.summary(interval=0.999)
    for name, true in DONATIONS.items():
        assert table.loc[name, "lower"] < true < table.loc[name, "upper"], name
        assert model.params_[name] == pytest.approx(true, rel=0.08), name


# --- Spark --------------------------------------------------------------------------------


def _collect(frame, id_name) -> pd.DataFrame:
    return frame.toArrow().to_pandas().set_index(id_name).sort_index()


@pytest.mark.spark
def test_spark_gives_the_duckdb_frames(spark):
    rng = np.random.default_rng(7)
    n = 3_000
    tx = pd.DataFrame(
        {
            "shopper": rng.integers(0, 300, n).astype(str),
            "when": pd.Timestamp("2019-01-01")
            + pd.to_timedelta(rng.integers(0, 3 * 365 * 86_400_000, n), unit="ms"),
            "paid": np.round(rng.normal(20, 15, n), 2),
        }
    )
    names = {"customer_id": "shopper", "date": "when", "amount": "paid"}
    sdf = _spark.read_transactions(tx, spark)
    rules = {"negative_amounts": "net", "zero_amounts": "drop"}
    duck = models.discrete_summary(tx, period="W", **names, **rules)
    got = models.discrete_summary(sdf, period="W", **names, **rules)
    pd.testing.assert_frame_equal(_collect(got, "shopper"), duck, check_index_type=False)
    assert (
        _spark.summary_attrs(got)["n_first_in_last_period"]
        == (duck.attrs["n_first_in_last_period"])
    )
    options = {"calibration_end": "2020-06-30", "period": "M", "negative_amounts": "drop"}
    duck_split = models.discrete_calibration_holdout(tx, **names, **options)
    split = models.discrete_calibration_holdout(sdf, **names, **options)
    assert split.metadata == duck_split.metadata
    for part in ("calibration", "holdout"):
        want = getattr(duck_split, part)
        got = _collect(getattr(split, part), "shopper")
        pd.testing.assert_frame_equal(got, want, check_index_type=False)
