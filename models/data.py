"""Transactions to per-customer summaries, and the calibration / holdout split.

One aggregation (:mod:`models._data_sql`) turns a transaction log into the sufficient
statistics every purchase model needs, run by DuckDB inside this process, so inputs may be
pandas or polars frames, Arrow tables, or CSV / Parquet files larger than memory.

Definitions (Fader, Hardie & Lee 2005, and the CDNOW summary built from them):

- A *purchase* is a merge period with at least one kept transaction: a calendar day by default
  (``merge_period="D"``; amounts of the same day summed), or each transaction on its own
  (``merge_period=None``; only transactions with identical timestamps are merged).
- ``frequency`` (x): purchases after the first one, up to the observation end.
- ``recency`` (t_x): time from the first to the last purchase (0 when x = 0).
- ``T``: time from the first purchase to the observation end (0 for a customer whose first
  purchase falls on the observation end; the models need ``T > 0``, so choose an end after it).
- ``monetary_value``: mean value of the *repeat* purchases (first purchase excluded); 0 when
  x = 0, as in ``lifetimes``.

Durations are whole days between calendar days when merging by day, exact fractional days
between timestamps otherwise, then divided by the length of the time unit (:data:`TIME_UNITS`):
``D`` = 1 day, ``W`` = 7 days, ``M`` = 365.2425 / 12 days (the mean Gregorian month),
``Y`` = 365.2425 days. There is no 30-day month.

Amount rules, applied in this order:

1. ``negative_amounts="error"`` (default) refuses negative amounts; ``"drop"`` removes
   negative rows; ``"net"`` keeps them, so returns are netted within their merge period.
2. Rows are merged into purchases (amounts summed).
3. A purchase with a negative net value (possible only with ``"net"``) is dropped: it is a
   return, not a purchase. A purchase worth exactly 0 is kept (``zero_amounts="keep"``,
   default) or dropped (``zero_amounts="drop"``).

Customers left without any purchase are absent from the summary. Amounts are rounded to
millionths of a currency unit and added exactly (as integers), so a summary does not depend on
row order, input form or engine; amounts beyond 9e12 in absolute value are refused.
Time-zone aware timestamps, and text dates with a UTC offset or zone (``+09:00``, ``-0500``,
``Z`` or a name such as ``EST``), are taken in UTC; naive timestamps and text without one
are UTC already. The output is sorted by customer id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models import _data_sql as sql
from models import _spark
from models import _validation as v
from models._data_checks import _parse_end, _period, _period_to_timestamp, _text, _validate
from models._data_duckdb import _Engine
from models._units import TIME_UNITS

__all__ = [
    "TIME_UNITS",
    "CalibrationHoldout",
    "calibration_holdout",
    "rfm_summary",
    "spark_session",
    "to_time_units",
]

MERGE_PERIODS = ("D", None)
ZERO_RULES = ("keep", "drop")
NEGATIVE_RULES = ("error", "drop", "net")
SUMMARY_COLUMNS = (
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "n_transactions",
    "total_value",
    "first_purchase",
)
HOLDOUT_COLUMNS = ("holdout_purchases", "holdout_value", "holdout_length")


def to_time_units(days, time_unit: str = "W") -> float | np.ndarray:
    """Convert a number of days (scalar or array) to ``time_unit`` (see :data:`TIME_UNITS`).

    >>> to_time_units(273, "W")
    39.0
    """
    v.check_choice("time_unit", time_unit, tuple(TIME_UNITS))
    if np.ndim(days) == 0:
        return float(days) / TIME_UNITS[time_unit]
    return np.asarray(days, dtype=float) / TIME_UNITS[time_unit]


@dataclass(frozen=True)
class CalibrationHoldout:
    """Result of :func:`calibration_holdout`.

    Attributes
    ----------
    calibration : pandas.DataFrame
        Per-customer summary of the calibration period (columns as :func:`rfm_summary`).
    holdout : pandas.DataFrame
        Same index: ``holdout_purchases`` (purchases in the holdout), ``holdout_value``
        (their total value) and ``holdout_length`` (holdout duration in time units).
    metadata : dict
        ``calibration_end``, ``holdout_end``, ``holdout_length``, ``time_unit``,
        ``time_unit_days``, ``merge_period``, ``zero_amounts``, ``negative_amounts``,
        ``n_rows``, ``n_customers`` and ``n_new_in_holdout`` (customers first seen in the
        holdout, excluded).
    """

    calibration: pd.DataFrame
    holdout: pd.DataFrame
    metadata: dict[str, Any]


def rfm_summary(
    transactions,
    *,
    customer_id: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    observation_end=None,
    time_unit: str = "W",
    merge_period: str | None = "D",
    zero_amounts: str = "keep",
    negative_amounts: str = "error",
    date_format: str | None = None,
    duckdb_config: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Per-customer frequency, recency, T and spend from a transaction log.

    Parameters
    ----------
    transactions : pandas.DataFrame, polars.DataFrame, pyarrow.Table, str or os.PathLike
        One row per transaction; a path must end in ``.csv`` (optionally ``.gz``) or
        ``.parquet`` (globs allowed). Never modified.
    customer_id, date, amount : str
        Column names. Dates may be dates, timestamps (time-zone aware ones are taken in UTC)
        or ISO strings (an offset such as ``+09:00`` or ``Z`` is read: the instant is taken
        in UTC; text without one is UTC). Ids must be of one type (not 1 and ``"1"``).
    observation_end : date-like, optional
        Last day (with ``merge_period="D"``) or instant (with ``None``) observed, inclusive.
        Default: the last transaction. Later transactions are an error. Taken in UTC, as the
        dates are.
    time_unit : {"D", "W", "M", "Y"}
        Unit of ``recency`` and ``T``: 1, 7, 365.2425 / 12 or 365.2425 days.
    merge_period : {"D", None}
        Merge transactions of the same calendar day into one purchase (amounts summed), or
        keep each transaction as its own purchase (durations then in fractional days).
    zero_amounts : {"keep", "drop"}
        Whether a purchase worth exactly 0 counts.
    negative_amounts : {"error", "drop", "net"}
        Rule for returns (see the module docstring).
    date_format : str, optional
        ``strptime`` format for text or integer dates, e.g. ``"%Y%m%d"``; ``%z`` reads a
        UTC offset (``+0900``, ``+09:00``).
    duckdb_config : mapping, optional
        DuckDB settings (e.g. ``{"memory_limit": "2GB", "temp_directory": "/tmp/x"}``).

    Returns
    -------
    pandas.DataFrame
        Indexed by the caller's customer id (name and values kept), sorted by id, with
        columns ``frequency`` (int), ``recency``, ``T``, ``monetary_value``,
        ``n_transactions`` (purchases including the first), ``total_value`` (all kept
        amounts) and ``first_purchase`` (timestamp). ``attrs`` hold ``time_unit``,
        ``time_unit_days``, ``observation_end``, ``merge_period``, ``zero_amounts``,
        ``negative_amounts`` and ``n_rows``.

    Raises
    ------
    models.ValidationError
        For missing columns, missing ids, ids of several types (an object column holding 1
        and ``"1"``), missing or unparsable dates, non-numeric amounts, negative amounts
        (unless a rule is chosen), dates after ``observation_end``, empty input, or bad
        options; the message names the column, rule, count and first customer.
    """
    _check_options(time_unit, merge_period, zero_amounts, negative_amounts)
    end = _parse_end("observation_end", observation_end)
    columns = {"customer_id": customer_id, "date": date, "amount": amount}
    with _open_engine(transactions, columns, merge_period, date_format, duckdb_config) as engine:
        end_period = _validate(
            engine, end, end_name="observation_end", allow_negative=negative_amounts != "error"
        )
        rules = (merge_period, zero_amounts, negative_amounts)
        # No row lies after the end (validated above): no holdout split to compute.
        frame = engine.summary(end_period, time_unit, *rules, holdout=False)
        n_rows = engine.n_rows
    attrs = {
        **_attrs(time_unit, merge_period, zero_amounts, negative_amounts, n_rows),
        "observation_end": _period_to_timestamp(end_period, merge_period),
    }
    if isinstance(engine, _spark.SparkEngine):
        customers, n_customers, _ = _spark.finish_summaries(frame)
        if n_customers == 0:
            raise v.no_purchases_left(n_rows, zero_amounts, negative_amounts)
        return _spark.summary_frame(customers, engine, SUMMARY_COLUMNS, attrs)
    if frame.empty:
        raise v.no_purchases_left(n_rows, zero_amounts, negative_amounts)
    frame.attrs.update(attrs)
    return frame


def calibration_holdout(
    transactions,
    *,
    calibration_end,
    holdout_end=None,
    customer_id: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    time_unit: str = "W",
    merge_period: str | None = "D",
    zero_amounts: str = "keep",
    negative_amounts: str = "error",
    date_format: str | None = None,
    duckdb_config: Mapping[str, Any] | None = None,
) -> CalibrationHoldout:
    """Calibration summary and each customer's holdout purchases, in one pass.

    The calibration period runs to ``calibration_end`` (inclusive), the holdout from then to
    ``holdout_end`` (inclusive). Customers whose first purchase falls in the holdout are
    excluded and counted in ``metadata["n_new_in_holdout"]``. Arguments not listed here are
    as in :func:`rfm_summary`.

    Parameters
    ----------
    transactions : DataFrame, Table or path
        As in :func:`rfm_summary`.
    calibration_end : date-like
        Last day (instant, with ``merge_period=None``) of the calibration period.
    holdout_end : date-like, optional
        Last day of the holdout; default the last transaction. Later transactions are an
        error.
    customer_id, date, amount, time_unit, merge_period, zero_amounts, negative_amounts, \
date_format, duckdb_config
        As in :func:`rfm_summary`.

    Returns
    -------
    CalibrationHoldout
        ``calibration`` (as :func:`rfm_summary` at ``calibration_end``), ``holdout``
        (``holdout_purchases``, ``holdout_value``, ``holdout_length``, same index) and
        ``metadata``. Both frames carry the metadata in ``attrs``.
    """
    _check_options(time_unit, merge_period, zero_amounts, negative_amounts)
    rules = (merge_period, zero_amounts, negative_amounts)
    cal_end = _parse_end("calibration_end", calibration_end)
    if cal_end is None:
        raise v.bad_end_date("calibration_end", calibration_end)
    hold_end = _parse_end("holdout_end", holdout_end)
    if hold_end is not None and _period(hold_end, merge_period) <= _period(cal_end, merge_period):
        raise v.ends_out_of_order(_text(cal_end), _text(hold_end))
    columns = {"customer_id": customer_id, "date": date, "amount": amount}
    with _open_engine(transactions, columns, merge_period, date_format, duckdb_config) as engine:
        hold_period = _validate(
            engine, hold_end, end_name="holdout_end", allow_negative=negative_amounts != "error"
        )
        cal_period = _period(cal_end, merge_period)
        if cal_period < engine.first_period:
            first = _period_to_timestamp(engine.first_period, merge_period)
            raise v.end_before_data("calibration_end", _text(cal_end), _text(first))
        if hold_period <= cal_period:
            last = _period_to_timestamp(hold_period, merge_period)
            raise v.ends_out_of_order(_text(cal_end), _text(last))
        frame = engine.summary(cal_period, time_unit, merge_period, zero_amounts, negative_amounts)
        n_rows = engine.n_rows
    if isinstance(engine, _spark.SparkEngine):
        return _spark_split(frame, engine, cal_period, hold_period, n_rows, time_unit, rules)
    known = frame["n_transactions"].to_numpy() > 0
    frame = frame[known]
    if frame.empty:
        raise v.no_purchases_left(n_rows, zero_amounts, negative_amounts)
    metadata = _split_metadata(cal_period, hold_period, n_rows, time_unit, rules)
    metadata.update(n_customers=len(frame), n_new_in_holdout=int((~known).sum()))
    holdout_length = metadata["holdout_length"]
    calibration = frame.loc[:, list(SUMMARY_COLUMNS)]
    holdout = frame.loc[:, ["holdout_purchases", "holdout_value"]]
    holdout["holdout_length"] = holdout_length
    for part in (calibration, holdout):
        part.attrs.update(metadata, observation_end=metadata["calibration_end"])
    return CalibrationHoldout(calibration, holdout, metadata)


def _split_metadata(cal_period, hold_period, n_rows, time_unit, rules) -> dict[str, Any]:
    merge_period = rules[0]
    unit_days = TIME_UNITS[time_unit]
    return {
        **_attrs(time_unit, *rules, n_rows),
        "calibration_end": _period_to_timestamp(cal_period, merge_period),
        "holdout_end": _period_to_timestamp(hold_period, merge_period),
        "holdout_length": (hold_period - cal_period)
        / (sql.PERIODS_PER_DAY[merge_period] * unit_days),
    }


def _spark_split(frame, engine, cal_period, hold_period, n_rows, time_unit, rules):
    """Finish :func:`calibration_holdout` in Spark: persisted frames, metadata counted."""
    metadata = _split_metadata(cal_period, hold_period, n_rows, time_unit, rules)
    attrs = {**metadata, "observation_end": metadata["calibration_end"]}
    customers, n_customers, n_new = _spark.finish_summaries(frame)
    if n_customers == 0:
        raise v.no_purchases_left(n_rows, *rules[1:])
    metadata.update(n_customers=n_customers, n_new_in_holdout=n_new)
    attrs.update(n_customers=n_customers, n_new_in_holdout=n_new)
    customers = customers.selectExpr(
        "*", f"CAST({float(metadata['holdout_length'])!r} AS DOUBLE) AS holdout_length"
    )
    calibration = _spark.summary_frame(customers, engine, SUMMARY_COLUMNS, attrs)
    holdout = _spark.summary_frame(customers, engine, HOLDOUT_COLUMNS, attrs)
    return CalibrationHoldout(calibration, holdout, metadata)


def spark_session(cores: int = 2, **options):
    """A local-mode SparkSession set up for this library (the running one if there is one).

    Spark DataFrames given to :func:`rfm_summary`, :func:`calibration_holdout`, ``fit`` and
    the predictions run on *their own* session; this helper only starts one for local work:
    ``local[cores]``, workers on this interpreter, UI off, UTC session time zone, the JVM's
    parallel garbage collector. On a cluster use your usual session. Options:
    ``shuffle_partitions``, ``driver_memory``, ``config``. Needs pyspark
    (``pip install "clv-models[spark]"``) and Java 17+; the error says which is missing.
    """
    return _spark.local_session(cores, **options)


# --- plumbing ---------------------------------------------------------------------------------


def _check_options(time_unit, merge_period, zero_amounts, negative_amounts) -> None:
    v.check_choice("time_unit", time_unit, tuple(TIME_UNITS))
    v.check_choice("merge_period", merge_period, MERGE_PERIODS)
    v.check_choice("zero_amounts", zero_amounts, ZERO_RULES)
    v.check_choice("negative_amounts", negative_amounts, NEGATIVE_RULES)


def _attrs(time_unit, merge_period, zero_amounts, negative_amounts, n_rows) -> dict[str, Any]:
    return {
        "time_unit": time_unit,
        "time_unit_days": TIME_UNITS[time_unit],
        "merge_period": merge_period,
        "zero_amounts": zero_amounts,
        "negative_amounts": negative_amounts,
        "n_rows": n_rows,
    }


def _open_engine(transactions, columns, merge_period, date_format, duckdb_config):
    """The engine the input picks: Spark for a Spark DataFrame, else in-process DuckDB."""
    if _spark.is_spark_dataframe(transactions):
        return _spark.SparkEngine(transactions, columns, merge_period, date_format)
    return _Engine(transactions, columns, merge_period, date_format, duckdb_config)
