"""The steps behind :mod:`models.data`'s public functions: options, engine, split, output.

:mod:`models.data` holds the public summaries (:func:`~models.data.rfm_summary`,
:func:`~models.data.calibration_holdout` and their discrete-time versions for the BG/BB);
this module holds what they share: the option tables and checks, the choice of engine
(DuckDB in process, or Spark for a Spark DataFrame), the summary with or without a holdout
split, and the shaping of the pandas or Spark results. The names below are re-exported by
:mod:`models.data`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models import _data_sql as sql
from models import _spark
from models import _validation as v
from models._data_checks import _parse_end, _period, _period_end, _period_text, _text, _validate
from models._data_duckdb import _Engine
from models._units import TIME_UNITS

MERGE_PERIODS = ("D", "W", "M", "Y", None)
#: Merge periods that are calendar periods: durations are whole numbers of them.
CALENDAR_PERIODS = tuple(sql.CALENDAR_PERIODS)
#: Purchase opportunities of :func:`discrete_summary`: calendar days, weeks, months, years.
DISCRETE_PERIODS = ("D", "W", "M", "Y")
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
DISCRETE_COLUMNS = (
    "frequency",
    "recency",
    "periods",
    "monetary_value",
    "n_transactions",
    "total_value",
    "first_purchase",
)


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


def _summary(transactions, columns, observation_end, time_unit, rules, date_format, config):
    """Validate and summarise up to ``observation_end``: ``(frame, engine, attrs)``."""
    merge_period, zero_amounts, negative_amounts = rules
    end = _parse_end("observation_end", observation_end)
    with _open_engine(transactions, columns, merge_period, date_format, config) as engine:
        end_period = _validate(
            engine, end, end_name="observation_end", allow_negative=negative_amounts != "error"
        )
        # No row lies after the end (validated above): no holdout split to compute.
        frame = engine.summary(end_period, time_unit, *rules, holdout=False)
        n_rows = engine.n_rows
    attrs = {
        **_attrs(time_unit, merge_period, zero_amounts, negative_amounts, n_rows),
        "observation_end": _period_end(end_period, merge_period),
    }
    return frame, engine, attrs


def _split_summary(
    transactions, columns, calibration_end, holdout_end, time_unit, rules, date_format, config
):
    """Validate and summarise with the holdout split: ``(frame, engine, cal, hold, n_rows)``."""
    merge_period, zero_amounts, negative_amounts = rules
    cal_end = _parse_end("calibration_end", calibration_end)
    if cal_end is None:
        raise v.bad_end_date("calibration_end", calibration_end)
    hold_end = _parse_end("holdout_end", holdout_end)
    if hold_end is not None and _period(hold_end, merge_period) <= _period(cal_end, merge_period):
        raise v.ends_out_of_order(_text(cal_end), _text(hold_end))
    with _open_engine(transactions, columns, merge_period, date_format, config) as engine:
        hold_period = _validate(
            engine, hold_end, end_name="holdout_end", allow_negative=negative_amounts != "error"
        )
        cal_period = _period(cal_end, merge_period)
        if cal_period < engine.first_period:
            first = _period_text(engine.first_period, merge_period)
            raise v.end_before_data("calibration_end", _text(cal_end), first)
        if hold_period <= cal_period:
            last = _period_end(hold_period, merge_period)
            raise v.ends_out_of_order(_text(cal_end), _text(last))
        frame = engine.summary(cal_period, time_unit, merge_period, zero_amounts, negative_amounts)
        n_rows = engine.n_rows
    return frame, engine, cal_period, hold_period, n_rows


def _pandas_split(frame, cal_period, hold_period, n_rows, time_unit, rules) -> CalibrationHoldout:
    """Finish :func:`calibration_holdout` in pandas: drop customers new in the holdout."""
    zero_amounts, negative_amounts = rules[1:]
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
    if merge_period in CALENDAR_PERIODS:  # whole calendar periods, the time unit
        length = float(hold_period - cal_period)
    else:
        length = (hold_period - cal_period) / (
            sql.PERIODS_PER_DAY[merge_period] * TIME_UNITS[time_unit]
        )
    return {
        **_attrs(time_unit, *rules, n_rows),
        "calibration_end": _period_end(cal_period, merge_period),
        "holdout_end": _period_end(hold_period, merge_period),
        "holdout_length": length,
    }


def _spark_split(frame, engine, cal_period, hold_period, n_rows, time_unit, rules, discrete=False):
    """Finish :func:`calibration_holdout` (or, ``discrete``, its BG/BB form) in Spark."""
    metadata = _split_metadata(cal_period, hold_period, n_rows, time_unit, rules)
    attrs = {**metadata, "observation_end": metadata["calibration_end"]}
    customers, n_customers, n_new = _spark.finish_summaries(frame)
    if n_customers == 0:
        raise v.no_purchases_left(n_rows, *rules[1:])
    metadata.update(n_customers=n_customers, n_new_in_holdout=n_new)
    attrs.update(n_customers=n_customers, n_new_in_holdout=n_new)
    length = f"CAST({float(metadata['holdout_length'])!r} AS DOUBLE)"
    columns = SUMMARY_COLUMNS
    if discrete:
        customers = _spark_discrete(customers, attrs, n_customers, metadata["calibration_end"])
        metadata.update(
            holdout_length=int(metadata["holdout_length"]),
            n_customers=attrs["n_customers"],
            n_first_in_last_period=attrs["n_first_in_last_period"],
            period=rules[0],
        )
        attrs.update(holdout_length=metadata["holdout_length"], period=rules[0])
        length, columns = f"CAST({metadata['holdout_length']} AS BIGINT)", DISCRETE_COLUMNS
    customers = customers.selectExpr("*", f"{length} AS holdout_length")
    calibration = _spark.summary_frame(customers, engine, columns, attrs)
    holdout = _spark.summary_frame(customers, engine, HOLDOUT_COLUMNS, attrs)
    return CalibrationHoldout(calibration, holdout, metadata)


def _with_opportunities(frame: pd.DataFrame, end) -> np.ndarray:
    """Rows with at least one opportunity after the first (``T > 0``); an error if none."""
    keep = frame["T"].to_numpy() > 0
    if not keep.any():
        raise v.no_opportunities(len(frame), _text(end))
    return keep


def _discrete_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A summary with calendar periods as the time unit, in the BG/BB's columns."""
    out = frame.rename(columns={"T": "periods"}).loc[:, list(DISCRETE_COLUMNS)]
    for column in ("frequency", "recency", "periods", "n_transactions"):
        out[column] = np.rint(out[column].to_numpy()).astype(np.int64)
    out.attrs.clear()
    return out


def _spark_discrete(customers, attrs, n_customers, end):
    """Spark form of :func:`_discrete_columns` on customers with a purchase; counts into attrs.

    Recency and T are exact whole numbers of periods (integer differences), so the casts
    to BIGINT are exact.
    """
    n_last = int(customers.selectExpr("count_if(T = 0) AS n").first()["n"] or 0)
    if n_last == n_customers:
        raise v.no_opportunities(n_customers, _text(end))
    attrs.update(n_customers=n_customers - n_last, n_first_in_last_period=n_last)
    rest = [c for c in customers.columns if c not in ("customer_id", "frequency", "recency", "T")]
    return customers.where("T > 0").selectExpr(
        "customer_id",
        "CAST(frequency AS BIGINT) AS frequency",
        "CAST(recency AS BIGINT) AS recency",
        "CAST(T AS BIGINT) AS periods",
        *rest,
    )


def _check_options(time_unit, merge_period, zero_amounts, negative_amounts) -> str:
    """Check the options; return the time unit (default: the calendar period, else weeks)."""
    if time_unit is not None:
        v.check_choice("time_unit", time_unit, tuple(TIME_UNITS))
    v.check_choice("merge_period", merge_period, MERGE_PERIODS)
    if time_unit is None:
        time_unit = merge_period if merge_period in CALENDAR_PERIODS else "W"
    elif merge_period in CALENDAR_PERIODS and time_unit != merge_period:
        raise v.calendar_time_unit(merge_period, time_unit)
    v.check_choice("zero_amounts", zero_amounts, ZERO_RULES)
    v.check_choice("negative_amounts", negative_amounts, NEGATIVE_RULES)
    return time_unit


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
