"""Transactions -> per-customer summaries (models/data.py and its engines)."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from models import _data_duckdb, _data_sql, datasets
from models._validation import ValidationError, validate_continuous_summary
from models.data import (
    SUMMARY_COLUMNS,
    TIME_UNITS,
    CalibrationHoldout,
    calibration_holdout,
    rfm_summary,
    to_time_units,
)

CAL_END, HOLD_END = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def cdnow():
    return datasets.load_cdnow_sample()


@pytest.fixture(scope="module")
def split(cdnow):
    return calibration_holdout(cdnow, calibration_end=CAL_END, holdout_end=HOLD_END)


# --- acceptance: the published CDNOW calibration summary -------------------------------------


def test_cdnow_totals_match_published(split):
    cal, hold = split.calibration, split.holdout
    # Fader, Hardie & Lee (2005) CDNOW calibration summary; REFERENCE.md "Data: CDNOW sample".
    assert cal["frequency"].sum() == 2457
    assert (cal["frequency"] > 0).sum() == 946
    assert (cal["frequency"] == 0).sum() == 1411
    # Holdout repeat transactions 1997-10-01..1998-06-30, same-day merged (same source).
    assert hold["holdout_purchases"].sum() == 1882
    assert len(cal) == 2357
    assert split.metadata["n_new_in_holdout"] == 0
    assert split.metadata["holdout_length"] == 39.0  # 273 days / 7
    assert hold["holdout_length"].eq(39.0).all()
    assert hold.index.equals(cal.index)


def test_cdnow_summary_equals_lifetimes_file_row_by_row(split):
    cal = split.calibration
    # lifetimes 0.11.3 cdnow_customers_summary.csv (recency, T rounded to 2 decimals).
    ref = datasets.load_cdnow_summary()
    assert cal.index.equals(ref.index)
    np.testing.assert_array_equal(cal["frequency"].to_numpy(), ref["frequency"].to_numpy())
    half_cent = 0.005 + 1e-9
    assert np.abs(cal["recency"] - ref["recency"]).max() <= half_cent
    assert np.abs(cal["T"] - ref["T"]).max() <= half_cent
    # ... and zbar, the mean repeat spend (cdnow_customers_summary_with_transactions.csv).
    zbar = pd.read_csv(datasets.path("cdnow_customers_summary_with_transactions.csv"))
    assert np.abs(cal["monetary_value"].to_numpy() - zbar["zbar"].to_numpy()).max() <= half_cent


def test_cdnow_summary_is_exact_in_days(split, cdnow):
    cal = split.calibration
    # T is (1997-09-30 - first purchase) in days / 7, exactly.
    days = (pd.Timestamp(CAL_END) - cal["first_purchase"]).dt.days
    np.testing.assert_array_equal(cal["T"].to_numpy(), days.to_numpy() / 7)
    assert cal["first_purchase"].max() < pd.Timestamp("1997-04-01")  # Q1 1997 cohort
    assert (cal["n_transactions"] == cal["frequency"] + 1).all()
    in_cal = cdnow[cdnow["date"] <= CAL_END]
    assert cal["total_value"].sum() == pytest.approx(in_cal["amount"].sum(), rel=1e-12)
    in_hold = cdnow[cdnow["date"] > CAL_END]
    assert split.holdout["holdout_value"].sum() == pytest.approx(in_hold["amount"].sum(), rel=1e-12)
    validate_continuous_summary(cal)  # the models accept it as is


def test_split_metadata_and_attrs(split):
    meta = split.metadata
    assert isinstance(split, CalibrationHoldout)
    assert meta["calibration_end"] == pd.Timestamp(CAL_END)
    assert meta["holdout_end"] == pd.Timestamp(HOLD_END)
    assert meta["time_unit"] == "W" and meta["time_unit_days"] == 7.0
    assert meta["merge_period"] == "D"
    assert meta["n_rows"] == 6919
    for frame in (split.calibration, split.holdout):
        assert frame.attrs["holdout_length"] == 39.0
        assert frame.attrs["observation_end"] == pd.Timestamp(CAL_END)
    assert list(split.calibration.columns) == list(SUMMARY_COLUMNS)
    assert list(split.holdout.columns) == ["holdout_purchases", "holdout_value", "holdout_length"]
    assert split.calibration.index.name == "customer_id"


def test_rfm_summary_equals_split_calibration(split, cdnow):
    cal_rows = cdnow[cdnow["date"] <= CAL_END]
    summary = rfm_summary(cal_rows, observation_end=CAL_END)
    pd.testing.assert_frame_equal(summary, split.calibration, check_like=False, check_exact=True)


# --- every input form gives the same summary ---------------------------------------------------


def test_same_summary_from_every_input_form(cdnow, tmp_path):
    expected = rfm_summary(cdnow)
    csv, parquet = tmp_path / "tx.csv", tmp_path / "tx.parquet"
    cdnow.to_csv(csv, index=False)
    cdnow.to_parquet(parquet)
    forms = {
        "polars": pl.from_pandas(cdnow),
        "arrow": pa.Table.from_pandas(cdnow),
        "csv str": str(csv),
        "csv Path": csv,
        "parquet str": str(parquet),
        "parquet Path": Path(parquet),
    }
    for name, form in forms.items():
        got = rfm_summary(form)
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=name)


def test_customer_partitions_give_the_same_summaries(cdnow, monkeypatch):
    """Large in-memory inputs are summarised in customer partitions, one thread each; the
    result equals the one-query summary (forced here on the small CDNOW log)."""
    monkeypatch.setattr(_data_duckdb, "PARTITION_MIN_ROWS", 0)
    used = []
    partitioned = _data_duckdb._Engine._partitioned_summary

    def spy(self, summary_sql, parts):
        used.append(parts)
        return partitioned(self, summary_sql, parts)

    monkeypatch.setattr(_data_duckdb._Engine, "_partitioned_summary", spy)
    text_ids = cdnow.assign(customer_id="c" + cdnow["customer_id"].astype(str))
    for tx in (cdnow, text_ids):
        for form in (tx, pl.from_pandas(tx)):
            one, three = ({"threads": n} for n in (1, 3))
            expected = rfm_summary(form, time_unit="D", duckdb_config=one)
            got = rfm_summary(form, time_unit="D", duckdb_config=three)
            pd.testing.assert_frame_equal(got, expected, check_exact=True)
            split = calibration_holdout(form, calibration_end=CAL_END, duckdb_config=three)
            expected = calibration_holdout(form, calibration_end=CAL_END, duckdb_config=one)
            for part in ("calibration", "holdout"):
                pd.testing.assert_frame_equal(
                    getattr(split, part), getattr(expected, part), check_exact=True
                )
    assert used == [3] * 8


def test_string_ids_and_custom_column_names_are_kept():
    tx = pd.DataFrame(
        {
            "shopper": ["zed", "amy", "zed", "amy", "bob"],
            "when": pd.to_datetime(
                ["2021-01-01", "2021-01-02", "2021-01-15", "2021-01-09", "2021-01-20"]
            ),
            "paid": [10.0, 4.0, 6.0, 8.0, 1.0],
        }
    )
    out = rfm_summary(tx, customer_id="shopper", date="when", amount="paid", time_unit="D")
    assert out.index.name == "shopper"
    assert out.index.dtype == tx["shopper"].dtype
    assert list(out.index) == ["amy", "bob", "zed"]  # sorted by id
    assert out.loc["zed", "recency"] == 14.0
    assert out.loc["amy", "T"] == 18.0  # observation end = last transaction, 2021-01-20


# --- definitions on hand-made logs -------------------------------------------------------------


def _log(rows):
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).assign(
        date=lambda f: pd.to_datetime(f["date"])
    )


SMALL = _log(
    [
        (1, "2020-01-01 09:00", 10.0),
        (1, "2020-01-01 17:00", 5.0),  # same day as the first: merged
        (1, "2020-01-08 12:00", 20.0),
        (1, "2020-01-29 08:00", 40.0),
        (2, "2020-01-15 10:00", 7.0),
    ]
)


def test_same_day_merge_and_definitions():
    out = rfm_summary(SMALL, observation_end="2020-02-12", time_unit="W")
    one = out.loc[1]
    assert one["frequency"] == 2
    assert one["recency"] == 4.0  # 2020-01-01 -> 01-29 = 28 days
    assert one["T"] == 6.0  # 2020-01-01 -> 02-12 = 42 days
    assert one["monetary_value"] == 30.0  # mean of the repeat purchases 20, 40
    assert one["total_value"] == 75.0
    assert one["n_transactions"] == 3
    assert one["first_purchase"] == pd.Timestamp("2020-01-01 09:00")
    two = out.loc[2]
    assert (two["frequency"], two["recency"], two["monetary_value"]) == (0, 0.0, 0.0)
    assert two["T"] == 4.0
    assert out["frequency"].dtype == np.int64


def test_no_merge_uses_exact_timestamps():
    out = rfm_summary(SMALL, observation_end="2020-02-12", time_unit="D", merge_period=None)
    one = out.loc[1]
    assert one["frequency"] == 3
    assert one["recency"] == pytest.approx(27 + 23 / 24, abs=1e-12)  # 01-01 09:00 -> 01-29 08:00
    assert one["T"] == pytest.approx(41 + 15 / 24, abs=1e-12)  # -> 2020-02-12 00:00
    assert one["monetary_value"] == pytest.approx((5 + 20 + 40) / 3)
    assert out.attrs["merge_period"] is None


def test_split_without_merge_uses_instants():
    out = calibration_holdout(
        SMALL,
        calibration_end="2020-01-10",
        holdout_end="2020-01-31 12:00",
        merge_period=None,
        time_unit="D",
    )
    assert out.metadata["holdout_length"] == 21.5
    assert out.metadata["holdout_end"] == pd.Timestamp("2020-01-31 12:00")
    assert out.metadata["n_new_in_holdout"] == 1  # customer 2, first seen 2020-01-15
    assert out.holdout.loc[1, "holdout_purchases"] == 1
    assert out.calibration.loc[1, "frequency"] == 2
    assert out.calibration.loc[1, "T"] == pytest.approx(9 - 9 / 24, abs=1e-12)


@pytest.mark.parametrize(
    ("unit", "days"), [("D", 1.0), ("W", 7.0), ("M", 365.2425 / 12), ("Y", 365.2425)]
)
def test_time_units_are_explicit(unit, days):
    out = rfm_summary(SMALL, observation_end="2020-02-12", time_unit=unit)
    assert out.loc[1, "T"] == pytest.approx(42 / days, rel=1e-15)
    assert out.attrs["time_unit"] == unit and out.attrs["time_unit_days"] == days
    assert TIME_UNITS[unit] == days
    assert to_time_units(42, unit) == pytest.approx(42 / days, rel=1e-15)


def test_to_time_units_arrays_and_bad_unit():
    np.testing.assert_allclose(to_time_units([7, 14], "W"), [1.0, 2.0])
    with pytest.raises(ValidationError, match="time_unit must be one of"):
        to_time_units(7, "fortnight")


RETURNS = _log(
    [
        (1, "2020-01-01", 10.0),
        (1, "2020-01-05", 8.0),
        (1, "2020-01-05", -3.0),  # partial return on a purchase day
        (1, "2020-01-09", -4.0),  # a return alone on its day
        (2, "2020-01-02", 0.0),  # a free item
        (2, "2020-01-06", 6.0),
        (3, "2020-01-03", 0.0),  # only free items
    ]
)


def test_negative_amounts_error_by_default():
    with pytest.raises(
        ValidationError, match=r"amount must be >= 0 .* 2 of 7 rows .*customer_id=1"
    ):
        rfm_summary(RETURNS)


def test_negative_amounts_drop_and_net():
    drop = rfm_summary(RETURNS, negative_amounts="drop", observation_end="2020-01-10")
    net = rfm_summary(RETURNS, negative_amounts="net", observation_end="2020-01-10")
    assert drop.loc[1, "monetary_value"] == 8.0 and drop.loc[1, "frequency"] == 1
    # net: 01-05 nets to 5; 01-09 nets to -4 and is no purchase
    assert net.loc[1, "monetary_value"] == 5.0 and net.loc[1, "frequency"] == 1
    assert net.loc[1, "recency"] == drop.loc[1, "recency"] == 4 / 7
    assert net.loc[1, "total_value"] == 15.0


def test_zero_amounts_keep_or_drop():
    keep = rfm_summary(RETURNS, negative_amounts="drop", observation_end="2020-01-10")
    drop = rfm_summary(
        RETURNS, negative_amounts="drop", zero_amounts="drop", observation_end="2020-01-10"
    )
    assert keep.loc[2, "frequency"] == 1 and keep.loc[2, "monetary_value"] == 6.0
    assert 3 in keep.index
    assert drop.loc[2, "frequency"] == 0
    assert drop.loc[2, "first_purchase"] == pd.Timestamp("2020-01-06")
    assert 3 not in drop.index  # no purchase left


def test_all_rows_dropped_is_an_error():
    free = _log([(1, "2020-01-01", 0.0), (2, "2020-01-02", 0.0)])
    with pytest.raises(ValidationError, match="no purchase left"):
        rfm_summary(free, zero_amounts="drop")


def _pandas_reference(tx, end, unit_days):
    """A plain pandas summary (same-day merge) to check the SQL against."""
    tx = tx.assign(day=tx["date"].dt.normalize())
    days = tx.groupby(["customer_id", "day"])["amount"].sum().reset_index()
    rows = {}
    for cid, group in days.groupby("customer_id"):
        group = group.sort_values("day")
        x = len(group) - 1
        first, last = group["day"].iloc[0], group["day"].iloc[-1]
        rows[cid] = {
            "frequency": x,
            "recency": (last - first).days / unit_days,
            "T": (end - first).days / unit_days,
            "monetary_value": group["amount"].iloc[1:].mean() if x else 0.0,
            "total_value": group["amount"].sum(),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def test_random_log_matches_pandas_reference():
    rng = np.random.default_rng(20240601)
    n = 3000
    tx = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 300, n),
            "date": pd.Timestamp("2022-01-01")
            + pd.to_timedelta(rng.integers(0, 200 * 86400, n), unit="s"),
            "amount": rng.gamma(2.0, 10.0, n).round(2),
        }
    )
    end = pd.Timestamp("2022-08-01")
    got = rfm_summary(tx, observation_end=end, time_unit="M")
    ref = _pandas_reference(tx, end, 365.2425 / 12)
    assert (got.index.to_numpy() == ref.index.to_numpy()).all()
    for column in ref.columns:
        np.testing.assert_allclose(got[column], ref[column], rtol=1e-12, err_msg=column)


def test_new_customers_in_holdout_are_excluded_and_counted():
    tx = _log(
        [
            (1, "2020-01-01", 5.0),
            (1, "2020-02-10", 7.0),
            (2, "2020-02-05", 3.0),  # first seen in the holdout
            (3, "2020-01-20", 4.0),
        ]
    )
    out = calibration_holdout(tx, calibration_end="2020-01-31", holdout_end="2020-02-29")
    assert list(out.calibration.index) == [1, 3]
    assert out.metadata["n_new_in_holdout"] == 1
    assert out.calibration.attrs["n_new_in_holdout"] == 1
    assert list(out.holdout["holdout_purchases"]) == [1, 0]
    assert list(out.holdout["holdout_value"]) == [7.0, 0.0]
    assert out.metadata["holdout_length"] == 29 / 7


def test_time_zone_aware_dates_are_taken_in_utc():
    tx = SMALL.assign(date=SMALL["date"].dt.tz_localize("Asia/Tokyo"))  # 09:00 JST = 00:00 UTC
    out = rfm_summary(tx, observation_end="2020-02-12", merge_period=None, time_unit="D")
    assert out.loc[1, "first_purchase"] == pd.Timestamp("2020-01-01 00:00")


def test_text_and_integer_dates():
    text = SMALL.assign(date=SMALL["date"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    integer = SMALL.assign(date=SMALL["date"].dt.strftime("%Y%m%d").astype("int64"))
    expected = rfm_summary(SMALL, observation_end="2020-02-12")
    got = rfm_summary(text, observation_end="2020-02-12")
    pd.testing.assert_frame_equal(got, expected)
    got = rfm_summary(integer, observation_end="2020-02-12", date_format="%Y%m%d")
    pd.testing.assert_frame_equal(
        got.drop(columns="first_purchase"), expected.drop(columns="first_purchase")
    )


def test_date_objects_are_accepted():
    tx = SMALL.assign(date=[d.date() for d in SMALL["date"]])
    out = rfm_summary(tx, observation_end=dt.date(2020, 2, 12))
    assert out.loc[1, "T"] == 6.0


def test_shared_sql_is_one_text_for_both_engines():
    engine_specific = (
        *("datediff", "epoch_us", "timestampdiff", "arg_min", "min_by", "isfinite"),
        *("make_timestamp", "timestampadd", "date_add"),
    )
    texts = [_data_sql._SUMMARY, _data_sql._COUNTS]
    texts += [*_data_sql._CALIBRATION_ONLY.values(), *_data_sql._WITH_HOLDOUT.values()]
    for name in engine_specific:
        assert not any(name in text for text in texts), name
    spark = _data_sql.summary_sql("tx", end=10, unit_days=7.0, dialect="spark")
    assert "min_by(value, p)" in spark
    assert "datediff(CAST(ts AS DATE), DATE '1970-01-01')" in spark
    spark = _data_sql.summary_sql("tx", end=10, unit_days=1.0, merge_period=None, dialect="spark")
    assert "timestampdiff(MICROSECOND, TIMESTAMP_NTZ '1970-01-01 00:00:00', ts)" in spark


@pytest.mark.parametrize("merge_period", ["D", None])
def test_lean_summary_sql_equals_the_full_query(merge_period):
    """Without the holdout split and with first_purchase read off the first period, the query
    gives the full query's rows whenever its preconditions hold (no row after the end, every
    timestamp at the start of its period), for every amount rule."""
    rng = np.random.default_rng(20261124)
    n = 3000
    days = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 120, n), unit="D")
    amounts = rng.gamma(2.0, 10.0, n).round(2) * rng.choice([-1.0, 0.0, 1.0, 1.0, 1.0], n)
    tx = pd.DataFrame({"customer_id": rng.integers(0, 200, n), "ts": days, "amount": amounts})
    if merge_period is None:  # any instant starts its own period
        tx["ts"] += pd.to_timedelta(rng.integers(0, 4, n) * 3600, unit="s")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("tx", tx)
    period = _data_sql.period_expression("ts", merge_period)
    end = con.sql(f"SELECT MAX({period}) FROM tx").fetchall()[0][0]
    for zero, negative in itertools.product(("keep", "drop"), ("error", "drop", "net")):
        rules = {"merge_period": merge_period, "zero_amounts": zero, "negative_amounts": negative}
        full = _data_sql.summary_sql("tx", end=end, unit_days=7.0, **rules)
        lean = _data_sql.summary_sql(
            "tx",
            end=end,
            unit_days=7.0,
            holdout=False,
            first_purchase_from_period=True,
            sum_type="BIGINT",
            **rules,
        )
        assert "first_ts" not in lean and "holdout" not in lean and "DECIMAL" not in lean
        expected = con.sql(
            f"SELECT * EXCLUDE (holdout_purchases, holdout_value) FROM ({full}) "
            "WHERE n_transactions > 0 ORDER BY customer_id"
        ).fetchall()
        assert len(expected) > 150
        assert con.sql(lean).fetchall() == expected, rules


def test_summary_settings_use_64_bit_sums_only_where_they_cannot_overflow():
    counts = {"n_rows": 10_000_000, "largest_amount": 1e5, "timed_rows": 0}
    assert _data_sql.summary_settings(counts, "D") == {
        "first_purchase_from_period": True,
        "sum_type": "BIGINT",  # 1e7 rows x 1e11 micro-units = 1e18 < 2^62
    }
    counts.update(largest_amount=1e6, timed_rows=3)  # 1e19 micro-units could overflow
    assert _data_sql.summary_settings(counts, "D") == {
        "first_purchase_from_period": False,
        "sum_type": "DECIMAL(38, 0)",
    }
    assert _data_sql.summary_settings(counts, None)["first_purchase_from_period"]


def test_wide_sums_give_the_same_summary_as_64_bit_sums():
    """Amounts whose total passes 2^63 micro-units are summed as decimals, exactly."""
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2],
            "date": pd.to_datetime(["2020-01-01", "2020-01-05", "2020-01-05"] + ["2020-01-02"] * 2),
            "amount": [8e12, 8e12, 0.125, 19.99, 0.01],
        }
    )
    summary = rfm_summary(tx, observation_end="2020-01-10", time_unit="D")
    # Customer 1's repeat purchase is 8e12 + 0.125 (more than 2^53 micro-units: rounded once,
    # on conversion to a float); customer 2 made one purchase of 20.00.
    assert summary["monetary_value"].tolist() == [8e12 + 0.125, 0.0]
    assert summary["total_value"].tolist() == [16e12 + 0.125, 20.0]


# --- validation ----------------------------------------------------------------------------------

GOOD = _log(
    [
        (1, "2020-01-01", 10.0),
        (2, "2020-01-02", 5.0),
        (3, "2020-01-03", 7.0),
        (2, "2020-01-04", 3.0),
    ]
)


def _with(column, position, value, dtype=None):
    frame = GOOD.copy()
    if dtype is not None:
        frame[column] = frame[column].astype(dtype)
    frame.loc[position, column] = value
    return frame


BAD_INPUTS = {
    "missing column": (GOOD.drop(columns="amount"), {}, ["missing column", "amount"]),
    "unparsable date": (
        _with("date", 2, "not a date", object),
        {},
        ["date", "could not parse", "1 of 4 rows", "customer_id=3", "date_format"],
    ),
    "missing date": (
        _with("date", 1, pd.NaT),
        {},
        ["date must not be missing", "1 of 4 rows", "customer_id=2"],
    ),
    "missing id": (
        _with("customer_id", 3, None, "Int64"),
        {},
        ["customer_id must not be missing", "1 of 4 rows"],
    ),
    "non-numeric amount": (
        _with("amount", 1, "ten", object),
        {},
        ["amount must be a finite number", "1 of 4 rows", "customer_id=2", "'ten'"],
    ),
    "NaN amount": (
        _with("amount", 2, np.nan),
        {},
        ["amount must be a finite number", "NaN", "1 of 4 rows", "customer_id=3"],
    ),
    "inf amount": (_with("amount", 0, np.inf), {}, ["amount must be a finite number"]),
    "huge amount": (
        _with("amount", 1, -1e13),
        {"negative_amounts": "net"},
        ["amount must be at most 9e12 in absolute value", "1 of 4 rows", "customer_id=2"],
    ),
    "after observation end": (
        GOOD,
        {"observation_end": "2020-01-02"},
        ["date must be on or before observation_end 2020-01-02", "2 of 4 rows", "customer_id=3"],
    ),
    "end before all data": (
        GOOD,
        {"observation_end": "2019-12-31"},
        ["observation_end 2019-12-31 is before the first transaction (2020-01-01)"],
    ),
    "bad end": (GOOD, {"observation_end": "someday"}, ["observation_end must be a date"]),
    "empty": (GOOD.iloc[:0], {}, ["empty"]),
    "bad time unit": (GOOD, {"time_unit": "month"}, ["time_unit must be one of", "'month'"]),
    "bad merge period": (GOOD, {"merge_period": "H"}, ["merge_period must be one of"]),
    "bad zero rule": (GOOD, {"zero_amounts": "ignore"}, ["zero_amounts must be one of"]),
    "bad negative rule": (GOOD, {"negative_amounts": "abs"}, ["negative_amounts must be one of"]),
    "not a frame": ([1, 2, 3], {}, ["must be a pandas or polars DataFrame", "got list"]),
    "missing file": ("/no/such/file.parquet", {}, ["does not exist"]),
    "unknown file type": ("tx.xlsx", {}, ["path to a CSV or Parquet file"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_rfm_summary_refuses_bad_input(case):
    data, kwargs, words = BAD_INPUTS[case]
    with pytest.raises(ValidationError) as info:
        rfm_summary(data, **kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (
            {"calibration_end": "2020-01-02", "holdout_end": "2020-01-03"},
            ["holdout_end 2020-01-03", "1 of 4 rows", "customer_id=2"],
        ),
        ({"calibration_end": "2019-06-01"}, ["calibration_end 2019-06-01 is before the first"]),
        (
            {"calibration_end": "2020-01-03", "holdout_end": "2020-01-02"},
            ["holdout_end must be after calibration_end"],
        ),
        ({"calibration_end": "2020-01-05"}, ["holdout_end must be after calibration_end"]),
        ({"calibration_end": None}, ["calibration_end must be a date"]),
        ({"calibration_end": "2020-01-02", "time_unit": "week"}, ["time_unit must be one of"]),
    ],
)
def test_calibration_holdout_refuses_bad_input(kwargs, words):
    with pytest.raises(ValidationError) as info:
        calibration_holdout(GOOD, **kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_bad_values_deep_in_a_csv_file_are_reported_as_rows(tmp_path):
    n = 30_000  # beyond the CSV sniffer's sample
    tx = pd.DataFrame(
        {
            "customer_id": np.arange(n) % 97,
            "date": "2020-03-01",
            "amount": np.full(n, 2.5).astype(object),
        }
    )
    tx.loc[25_000, "date"] = "2020-13-45"
    tx.loc[26_000, "amount"] = "n/a"
    path = tmp_path / "tx.csv"
    tx.to_csv(path, index=False)
    with pytest.raises(ValidationError, match=r"date .*could not parse.*1 of 30000 rows.*=71"):
        rfm_summary(path)
    tx.loc[25_000, "date"] = "2020-03-02"
    tx.to_csv(path, index=False)
    with pytest.raises(ValidationError, match=r"amount must be a finite number.*'n/a'"):
        rfm_summary(path)


def test_unreadable_file_is_a_validation_error(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_text("not parquet")
    with pytest.raises(ValidationError, match="could not be read"):
        rfm_summary(path)


def test_calibration_holdout_validates_rows_too():
    bad = _with("amount", 1, np.nan)
    with pytest.raises(ValidationError, match="amount must be a finite number"):
        calibration_holdout(bad, calibration_end="2020-01-02")


def test_first_offender_is_first_in_input_order():
    rng = np.random.default_rng(7)
    n = 300_000
    tx = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "date": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
            "amount": rng.uniform(1, 10, n),
        }
    )
    tx.loc[[123_457, 250_000, 299_999], "amount"] = -1.0
    with pytest.raises(ValidationError, match=r"3 of 300000 rows .*customer_id=123457, amount=-1"):
        rfm_summary(tx)


def test_summary_checks_catch_corrupted_summaries(split):
    bad = split.calibration.copy()
    bad.loc[5, "recency"] = bad.loc[5, "T"] + 1
    with pytest.raises(
        ValidationError, match=r"recency must be <= T; 1 of 2357 rows .*customer_id=5"
    ):
        validate_continuous_summary(bad)
    bad = split.calibration.astype({"frequency": float})
    bad.loc[7, "frequency"] = 1.5
    with pytest.raises(ValidationError, match="frequency must be a whole number"):
        validate_continuous_summary(bad)


# --- the caller's data is never modified ----------------------------------------------------------


def test_inputs_are_not_modified(cdnow):
    frame = cdnow.copy()
    frame.attrs["note"] = "mine"
    before = frame.copy(deep=True)
    before_attrs = copy.deepcopy(frame.attrs)
    polars_frame = pl.from_pandas(cdnow)
    polars_before = polars_frame.clone()
    calls = [
        lambda f: rfm_summary(f),
        lambda f: rfm_summary(f[f["date"] <= CAL_END], observation_end=CAL_END, time_unit="M"),
        lambda f: rfm_summary(f, merge_period=None, zero_amounts="drop", negative_amounts="net"),
        lambda f: calibration_holdout(f, calibration_end=CAL_END, holdout_end=HOLD_END),
    ]
    for call in calls:
        call(frame)
        pd.testing.assert_frame_equal(frame, before, check_exact=True)
        assert frame.attrs == before_attrs
    rfm_summary(polars_frame)
    calibration_holdout(polars_frame, calibration_end=CAL_END)
    assert polars_frame.equals(polars_before)
    bad = _with("amount", 2, np.nan)
    bad_before = bad.copy(deep=True)
    with pytest.raises(ValidationError):
        rfm_summary(bad)
    pd.testing.assert_frame_equal(bad, bad_before, check_exact=True)


@pytest.mark.slow
@pytest.mark.spark
def test_spark_runs_the_same_sql_text(split, cdnow, spark):
    rows = list(
        zip(
            cdnow["customer_id"].tolist(),
            cdnow["date"].dt.to_pydatetime().tolist(),
            cdnow["amount"].tolist(),
            strict=True,
        )
    )
    spark.createDataFrame(
        rows, "customer_id long, ts timestamp, amount double"
    ).createOrReplaceTempView("tx")
    end = (pd.Timestamp(CAL_END) - pd.Timestamp("1970-01-01")).days
    query = _data_sql.summary_sql("tx", end=end, unit_days=7.0, dialect="spark")
    got = {row["customer_id"]: row for row in spark.sql(query).collect()}
    expected = split.calibration.join(split.holdout)
    assert sorted(got) == expected.index.tolist()
    for column in (
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "total_value",
        "holdout_purchases",
    ):
        values = [got[i][column] for i in expected.index]
        np.testing.assert_array_equal(values, expected[column].to_numpy(), err_msg=column)
    # The Spark text of the variant that reads first_purchase off the first period (CDNOW dates
    # are at midnight; any instant is its own period without merging) and sums 64-bit integers
    # gives the same rows.
    micros = (pd.Timestamp(CAL_END) - pd.Timestamp("1970-01-01")) // pd.Timedelta(microseconds=1)
    for merge_period, end_period in (("D", end), (None, micros)):
        full, lean = (
            _data_sql.summary_sql(
                "tx",
                end=end_period,
                unit_days=7.0,
                merge_period=merge_period,
                dialect="spark",
                first_purchase_from_period=from_period,
                sum_type=sum_type,
            )
            for from_period, sum_type in ((False, "DECIMAL(38, 0)"), (True, "BIGINT"))
        )
        assert sorted(spark.sql(lean).collect()) == sorted(spark.sql(full).collect())


def test_demo_prints_the_published_totals(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    from experiments import demo

    totals = demo.main(["--rows", "2"])
    # Fader, Hardie & Lee (2005) CDNOW calibration summary; REFERENCE.md.
    assert totals["sum_x"] == 2457 and totals["holdout_purchases"] == 1882
    assert "1,411" in capsys.readouterr().out
