"""Transactions whose text dates carry UTC offsets, and id columns of mixed types (models.data)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import polars as pl
import pytest

from models import _data_duckdb, _spark
from models._validation import ValidationError
from models.data import calibration_holdout, rfm_summary

# Three instants in UTC: customer 1 buys at 14:00 UTC on Jan 1 and 16:00 UTC on Jan 4 (in
# Tokyo, 23:00 on Jan 1 and 01:00 on Jan 5), customer 2 at 23:30 UTC on Jan 2 (in New York,
# 18:30 on Jan 2).
INSTANTS = pd.DataFrame(
    {
        "customer_id": [1, 1, 2],
        "date": pd.to_datetime(["2020-01-01 14:00", "2020-01-04 16:00", "2020-01-02 23:30"]),
        "amount": [10.0, 20.0, 5.0],
    }
)
ZONES = ["Asia/Tokyo", "Asia/Tokyo", "America/New_York"]


def _local_text(form: str) -> pd.DataFrame:
    """INSTANTS with each date as text in its customer's local time, offset written ``form``."""
    local = [
        stamp.tz_localize("UTC").tz_convert(zone)
        for stamp, zone in zip(INSTANTS["date"], ZONES, strict=True)
    ]
    if form == "+HH:MM":
        text = [stamp.isoformat() for stamp in local]
    elif form == "+HHMM":
        text = [stamp.strftime("%Y-%m-%d %H:%M:%S%z") for stamp in local]
    elif form == "Z":
        text = [f"{stamp.isoformat()}Z" for stamp in INSTANTS["date"]]
    else:  # a zone name after a space
        text = [f"{stamp.strftime('%Y-%m-%d %H:%M:%S')} {stamp.tzname()}" for stamp in local]
    return INSTANTS.assign(date=pd.Series(text, dtype=object))


@pytest.mark.parametrize("form", ["+HH:MM", "+HHMM", "Z", "zone name"])
@pytest.mark.parametrize("merge_period", ["D", None])
def test_text_dates_with_offsets_are_taken_in_utc(form, merge_period):
    text = _local_text(form)
    if form == "zone name":  # JST and EST: abbreviations DuckDB knows
        assert text["date"].str.endswith(("JST", "EST")).all()
    got = rfm_summary(text, observation_end="2020-01-10", time_unit="D", merge_period=merge_period)
    expected = rfm_summary(
        INSTANTS, observation_end="2020-01-10", time_unit="D", merge_period=merge_period
    )
    pd.testing.assert_frame_equal(got, expected)
    if merge_period == "D":
        # UTC days: Jan 1 to Jan 4 (3 days; read as Tokyo wall-clock time it would be 4), then
        # to the end on Jan 10 (9 days).
        assert got.loc[1, "recency"] == 3.0 and got.loc[1, "T"] == 9.0
        assert got.loc[2, "T"] == 8.0  # Jan 2 in UTC (and in New York)
    assert got.loc[1, "first_purchase"] == pd.Timestamp("2020-01-01 14:00")
    assert got["first_purchase"].dt.tz is None


def test_text_dates_with_and_without_offsets_mix_in_one_column():
    # Text without an offset is UTC wall-clock time, as before; a date alone is midnight UTC.
    mixed = INSTANTS.assign(
        date=pd.Series(
            ["2020-01-01T23:00:00+09:00", "2020-01-04 16:00:00", "2020-01-02"], dtype=object
        )
    )
    out = rfm_summary(mixed, observation_end="2020-01-10", time_unit="D", merge_period=None)
    assert out["first_purchase"].tolist() == [
        pd.Timestamp("2020-01-01 14:00"),
        pd.Timestamp("2020-01-02 00:00"),
    ]
    assert out.loc[1, "recency"] == 3 + 2 / 24  # Jan 1 14:00 -> Jan 4 16:00 UTC


def test_csv_dates_with_offsets_are_taken_in_utc(tmp_path):
    path = tmp_path / "tx.csv"
    _local_text("+HH:MM").to_csv(path, index=False)
    got = rfm_summary(path, observation_end="2020-01-10", time_unit="D")
    expected = rfm_summary(INSTANTS, observation_end="2020-01-10", time_unit="D")
    pd.testing.assert_frame_equal(got, expected)


def test_date_format_with_an_offset_directive():
    text = _local_text("+HHMM")
    got = rfm_summary(
        text, observation_end="2020-01-10", time_unit="D", date_format="%Y-%m-%d %H:%M:%S%z"
    )
    expected = rfm_summary(INSTANTS, observation_end="2020-01-10", time_unit="D")
    pd.testing.assert_frame_equal(got, expected)  # naive UTC first_purchase, as ever


def test_end_dates_with_offsets_are_taken_in_utc():
    # 05:00 on Jan 10 in Tokyo is 20:00 on Jan 9 in UTC: the observation ends on UTC day Jan 9.
    out = rfm_summary(
        _local_text("+HH:MM"), observation_end="2020-01-10T05:00:00+09:00", time_unit="D"
    )
    assert out.attrs["observation_end"] == pd.Timestamp("2020-01-09")
    assert out.loc[1, "T"] == 8.0
    # Customer 1's second purchase (01:00 on Jan 5 in Tokyo) is on UTC day Jan 4: calibration
    # at 08:00 on Jan 5 in Tokyo (23:00 on Jan 4 in UTC) still holds it.
    split = calibration_holdout(
        _local_text("+HH:MM"),
        calibration_end="2020-01-05T08:00:00+09:00",
        holdout_end="2020-01-10",
        time_unit="D",
    )
    assert split.metadata["calibration_end"] == pd.Timestamp("2020-01-04")
    assert split.calibration.loc[1, "frequency"] == 1
    assert split.holdout["holdout_purchases"].sum() == 0
    # Without merging, an end is an instant: Jan 4 15:00 UTC comes before that purchase.
    with pytest.raises(ValidationError, match=r"on or before observation_end 2020-01-04T15:00"):
        rfm_summary(
            _local_text("+HH:MM"), observation_end="2020-01-05T00:00+09:00", merge_period=None
        )


@pytest.mark.parametrize(
    "bad", ["2020-01-04T16:00:00+09:00junk", "2020-01-04 16:00:00 Nowhere/City", "+09:00"]
)
def test_unparsable_text_with_an_offset_is_reported_as_a_row(bad):
    text = _local_text("+HH:MM")
    text.loc[1, "date"] = bad
    with pytest.raises(ValidationError) as info:
        rfm_summary(text)
    message = str(info.value)
    for words in ("date must be a date or timestamp", "1 of 3 rows", "customer_id=1", repr(bad)):
        assert words in message, (words, message)


def test_customer_partitions_read_offsets_too(monkeypatch):
    # Each partition has its own connection: the same parse, whatever its time zone setting.
    monkeypatch.setattr(_data_duckdb, "PARTITION_MIN_ROWS", 0)
    text = _local_text("+HH:MM")
    options = dict(observation_end="2020-01-10", time_unit="D", merge_period=None)
    got = rfm_summary(text, duckdb_config={"threads": 3}, **options)
    pd.testing.assert_frame_equal(got, rfm_summary(INSTANTS, **options))


def test_text_dates_are_not_modified():
    text = _local_text("+HH:MM")
    text.attrs["note"] = "mine"
    before, before_attrs = text.copy(deep=True), copy.deepcopy(text.attrs)
    rfm_summary(text, observation_end="2020-01-10T05:00:00+09:00")
    calibration_holdout(text, calibration_end="2020-01-03T00:00:00-05:00")
    pd.testing.assert_frame_equal(text, before, check_exact=True)
    assert text.attrs == before_attrs
    assert text["date"].dtype == object and isinstance(text.loc[0, "date"], str)


# --- ids of mixed types ---------------------------------------------------------------------------


def _ids(values, dtype=object) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame(
        {
            "customer_id": pd.Series(values, dtype=dtype),
            "date": pd.date_range("2020-01-01", periods=n, freq="D"),
            "amount": np.arange(1.0, n + 1),
        }
    )


def test_ids_of_mixed_types_are_refused():
    # 1 and "1" are two customers; the engine's text form of the column would merge them.
    with pytest.raises(ValidationError) as info:
        rfm_summary(_ids([1, "1"]), observation_end="2020-01-10", time_unit="D")
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    for words in (
        "customer_id must hold ids of one type (found int in 1 row, str in 1 row)",
        "1 of 2 rows break this (first: customer_id='1')",
        ".astype(str)",
    ):
        assert words in message, (words, message)


def test_mixed_ids_name_the_rows_outside_the_most_common_type():
    tx = _ids(["a", "b", 7, "c", 2.5, None, "d"]).rename(columns={"customer_id": "who"})
    with pytest.raises(ValidationError) as info:
        calibration_holdout(tx, customer_id="who", calibration_end="2020-01-03")
    message = str(info.value)
    for words in (
        "who must hold ids of one type (found str in 4 rows, int in 1 row, float in 1 row)",
        "2 of 7 rows break this (first: who=7)",
    ):
        assert words in message, (words, message)


@pytest.mark.parametrize(
    ("values", "found"),
    [
        ([1, 1.0], "int in 1 row, float in 1 row"),
        ([True, 1], "bool in 1 row, int in 1 row"),
        (["1", b"1"], "str in 1 row, bytes in 1 row"),
    ],
)
def test_numbers_and_booleans_of_mixed_types_are_refused(values, found):
    with pytest.raises(ValidationError, match=f"ids of one type \\(found {found}\\)"):
        rfm_summary(_ids(values))


def test_categorical_ids_of_mixed_types_are_refused():
    with pytest.raises(ValidationError, match=r"found int in 2 rows, str in 1 row.*first: c"):
        rfm_summary(
            _ids([1, "1", 1], dtype="category").rename(columns={"customer_id": "c"}),
            customer_id="c",
        )


@pytest.mark.parametrize(
    "values",
    [
        [3, 1, 2, 1],  # object ints
        [np.int64(3), 1, np.int32(2), 1],  # numpy and Python ints: one kind
        ["x", "y", None, "x"],  # missing ids are the missing-id rule's
        [2.5, 1.0, np.nan, 2.5],
    ],
)
def test_object_ids_of_one_type_pass_the_check(values):
    tx = _ids(values)
    if pd.isna(tx["customer_id"]).any():
        with pytest.raises(ValidationError, match="customer_id must not be missing"):
            rfm_summary(tx)
    else:
        assert rfm_summary(tx)["n_transactions"].sum() == 4


def test_typed_ids_cannot_mix_types():
    # polars and Arrow columns have one type; the conversion of [1, "1"] is the caller's.
    strings = pl.DataFrame({"customer_id": ["1", "1"], "date": ["2020-01-01", "2020-01-02"]})
    out = rfm_summary(strings.with_columns(amount=pl.lit(1.0)))
    assert out.index.tolist() == ["1"] and out.loc["1", "frequency"] == 1
    # A polars Object column would reach the engine as memory addresses: refused.
    objects = pl.DataFrame(
        {
            "customer_id": pl.Series([1, "1"], dtype=pl.Object),
            "date": ["2020-01-01", "2020-01-02"],
            "amount": [1.0, 2.0],
        }
    )
    with pytest.raises(ValidationError, match=r"customer_id is a polars Object column.*cast"):
        rfm_summary(objects)


def test_mixed_ids_are_not_modified():
    tx = _ids([1, "1", 2])
    before = tx.copy(deep=True)
    with pytest.raises(ValidationError):
        rfm_summary(tx)
    pd.testing.assert_frame_equal(tx, before, check_exact=True)
    assert [type(x) for x in tx["customer_id"]] == [int, str, int]
    # The hint's conversion: the caller decides that 1 and "1" are one customer.
    fixed = tx.astype({"customer_id": str})
    assert rfm_summary(fixed)["n_transactions"].to_dict() == {"1": 2, "2": 1}


# --- Spark: the same instants -----------------------------------------------------------------


@pytest.mark.spark
@pytest.mark.parametrize("session_zone", ["UTC", "Asia/Tokyo"])
def test_spark_reads_text_offsets_as_duckdb_does(spark, session_zone):
    mixed = _local_text("+HH:MM")
    mixed.loc[2, "date"] = "2020-01-02 23:30:00"  # no offset: UTC wall-clock time
    cases = [
        (mixed, None),
        (_local_text("+HHMM"), "%Y-%m-%d %H:%M:%S%z"),
        (_local_text("+HH:MM"), "%Y-%m-%dT%H:%M:%S%z"),
    ]
    previous = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", session_zone)
    try:
        for text, date_format in cases:
            options = dict(observation_end="2020-01-10", time_unit="D", merge_period=None)
            duck = rfm_summary(text, date_format=date_format, **options)
            frame = rfm_summary(
                _spark.read_transactions(text, spark), date_format=date_format, **options
            )
            got = frame.toArrow().to_pandas().set_index("customer_id").sort_index()
            for column in ("frequency", "recency", "T", "first_purchase"):
                assert got[column].tolist() == duck[column].tolist(), (column, date_format)
            assert duck.loc[1, "first_purchase"] == pd.Timestamp("2020-01-01 14:00")
    finally:
        spark.conf.set("spark.sql.session.timeZone", previous)


@pytest.mark.parametrize("text", ["infinity", "-infinity"])
def test_infinite_text_dates_are_bad_dates(text):
    # DuckDB reads these words as infinite timestamps, which gave recency 0 without a word
    tx = pd.DataFrame(
        {"customer_id": [1, 1, 2], "date": ["2020-01-01", text, "2020-01-03"], "amount": [1.0] * 3}
    )
    with pytest.raises(ValidationError, match=f"date must be a date.*1 of 3 rows.*'{text}'"):
        rfm_summary(tx, observation_end="2020-01-10", time_unit="D")
