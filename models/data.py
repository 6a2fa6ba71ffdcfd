"""Transactions to per-customer summaries, and the calibration / holdout split.

One aggregation (:mod:`models._data_sql`) turns a transaction log into the sufficient
statistics every purchase model needs, run by DuckDB inside this process, so inputs may be
pandas or polars frames, Arrow tables, or CSV / Parquet files larger than memory.

Definitions (Fader, Hardie & Lee 2005, and the CDNOW summary built from them):

- A *purchase* is a merge period with at least one kept transaction: a calendar day by default
  (``merge_period="D"``; amounts of the same day summed), each transaction on its own
  (``merge_period=None``; only transactions with identical timestamps are merged), or a
  calendar week from Monday, month or year (``"W"``, ``"M"``, ``"Y"``; durations are then
  whole numbers of that period, which is also the time unit).
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

:func:`discrete_summary` (and :func:`discrete_calibration_holdout`) gives the BG/BB's input
(Fader, Hardie & Shang 2010): calendar periods are the purchase opportunities, ``frequency``
(x) and ``recency`` (t_x) count them, and ``periods`` (n) is the number of opportunities after
the first purchase's period.

Customers left without any purchase are absent from the summary. Amounts are rounded to
millionths of a currency unit and added exactly (as integers), so a summary does not depend on
row order, input form or engine; amounts beyond 9e12 in absolute value are refused.
Time-zone aware timestamps, and text dates with a UTC offset or zone (``+09:00``, ``-0500``,
``Z`` or a name such as ``EST``), are taken in UTC; naive timestamps and text without one
are UTC already. The output is sorted by customer id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from models import _spark
from models import _validation as v
from models._data_steps import (
    CALENDAR_PERIODS,
    DISCRETE_COLUMNS,
    DISCRETE_PERIODS,
    HOLDOUT_COLUMNS,
    MERGE_PERIODS,
    NEGATIVE_RULES,
    SUMMARY_COLUMNS,
    ZERO_RULES,
    CalibrationHoldout,
    _check_options,
    _discrete_columns,
    _pandas_split,
    _spark_discrete,
    _spark_split,
    _split_summary,
    _summary,
    _with_opportunities,
)
from models._units import TIME_UNITS

__all__ = [
    "CALENDAR_PERIODS",
    "DISCRETE_COLUMNS",
    "DISCRETE_PERIODS",
    "HOLDOUT_COLUMNS",
    "MERGE_PERIODS",
    "NEGATIVE_RULES",
    "SUMMARY_COLUMNS",
    "TIME_UNITS",
    "ZERO_RULES",
    "CalibrationHoldout",
    "calibration_holdout",
    "discrete_calibration_holdout",
    "discrete_summary",
    "rfm_summary",
    "spark_session",
    "to_time_units",
]


def to_time_units(days, time_unit: str = "W") -> float | np.ndarray:
    """Convert a number of days (scalar or array) to ``time_unit`` (see :data:`TIME_UNITS`).

    >>> to_time_units(273, "W")
    39.0
    """
    v.check_choice("time_unit", time_unit, tuple(TIME_UNITS))
    if np.ndim(days) == 0:
        return float(days) / TIME_UNITS[time_unit]
    return np.asarray(days, dtype=float) / TIME_UNITS[time_unit]


def rfm_summary(
    transactions,
    *,
    customer_id: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    observation_end=None,
    time_unit: str | None = None,
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
    time_unit : {"D", "W", "M", "Y"}, optional
        Unit of ``recency`` and ``T``: 1, 7, 365.2425 / 12 or 365.2425 days. Default ``"W"``,
        or the calendar ``merge_period`` (which then is the only unit allowed).
    merge_period : {"D", "W", "M", "Y", None}
        Merge transactions of the same calendar day into one purchase (amounts summed), or
        keep each transaction as its own purchase (durations then in fractional days). With
        a calendar week (from Monday), month or year, purchases of the same calendar period
        are one purchase, ``recency`` and ``T`` are whole numbers of periods (last - first,
        end - first) and ``observation_end`` is the period that contains it.
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
    time_unit = _check_options(time_unit, merge_period, zero_amounts, negative_amounts)
    columns = {"customer_id": customer_id, "date": date, "amount": amount}
    rules = (merge_period, zero_amounts, negative_amounts)
    frame, engine, attrs = _summary(
        transactions, columns, observation_end, time_unit, rules, date_format, duckdb_config
    )
    n_rows = attrs["n_rows"]
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
    time_unit: str | None = None,
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
    time_unit = _check_options(time_unit, merge_period, zero_amounts, negative_amounts)
    rules = (merge_period, zero_amounts, negative_amounts)
    columns = {"customer_id": customer_id, "date": date, "amount": amount}
    frame, engine, cal_period, hold_period, n_rows = _split_summary(
        transactions,
        columns,
        calibration_end,
        holdout_end,
        time_unit,
        rules,
        date_format,
        duckdb_config,
    )
    if isinstance(engine, _spark.SparkEngine):
        return _spark_split(frame, engine, cal_period, hold_period, n_rows, time_unit, rules)
    return _pandas_split(frame, cal_period, hold_period, n_rows, time_unit, rules)


def discrete_summary(
    transactions,
    *,
    period: str = "Y",
    observation_end=None,
    customer_id: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    zero_amounts: str = "keep",
    negative_amounts: str = "error",
    date_format: str | None = None,
    duckdb_config: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Discrete-time summary for the BG/BB: purchase opportunities are calendar periods.

    Each calendar ``period`` (day, week from Monday, month or year) is one purchase
    opportunity; a customer transacts in it or not (several transactions in one period are
    one purchase, amounts summed). As in Fader, Hardie & Shang (2010), a customer's first
    period with a purchase is opportunity 0 and the opportunities that follow, up to the
    period containing ``observation_end``, are ``1 .. n``:

    - ``frequency`` (x): opportunities ``1 .. n`` with a purchase;
    - ``recency`` (t_x): the last opportunity with a purchase (0 when x = 0);
    - ``periods`` (n): opportunities after the first, ``end period - first period``.

    Customers whose first purchase falls in the last period (n = 0) have no opportunity to
    repeat and tell the BG/BB nothing: they are left out and counted in
    ``attrs["n_first_in_last_period"]``. The amount rules are those of :func:`rfm_summary`.

    Parameters
    ----------
    transactions : DataFrame, Table, path or Spark DataFrame
        As in :func:`rfm_summary`; never modified.
    period : {"Y", "M", "W", "D"}
        The purchase opportunity: calendar year, month, week (Monday to Sunday) or day.
    observation_end : date-like, optional
        Any date in the last period observed (the whole period is observed); default the
        last transaction. Later transactions are an error.
    customer_id, date, amount, zero_amounts, negative_amounts, date_format, duckdb_config
        As in :func:`rfm_summary`.

    Returns
    -------
    pandas.DataFrame
        Indexed by the caller's customer id, sorted, with integer columns ``frequency``,
        ``recency``, ``periods``, then ``monetary_value`` (mean value of the repeat periods),
        ``n_transactions`` (periods with a purchase, the first included), ``total_value``
        and ``first_purchase`` (earliest timestamp). ``attrs`` hold ``period`` (also
        ``merge_period`` and ``time_unit``), ``observation_end`` (the last day of the last
        period), the amount rules, ``n_rows``, ``n_customers`` and
        ``n_first_in_last_period``. A Spark input gives a Spark DataFrame (as
        :func:`rfm_summary`).

    Raises
    ------
    models.ValidationError
        As :func:`rfm_summary`, for an unknown ``period``, or when every customer first
        bought in the last period.

    Examples
    --------
    >>> import pandas as pd
    >>> import models
    >>> tx = pd.DataFrame(
    ...     {
    ...         "customer_id": [1, 1, 1, 2, 3],
    ...         "date": pd.to_datetime(
    ...             ["1995-03-01", "1995-11-30", "1997-06-01", "1999-01-05", "2001-05-05"]
    ...         ),
    ...         "amount": [10.0, 5.0, 20.0, 8.0, 4.0],
    ...     }
    ... )
    >>> out = models.discrete_summary(tx, period="Y", observation_end="2001-12-31")
    >>> out[["frequency", "recency", "periods"]]
                 frequency  recency  periods
    customer_id
    1                    1        2        6
    2                    0        0        2
    >>> out.attrs["n_first_in_last_period"]
    1
    """
    v.check_choice("period", period, DISCRETE_PERIODS)
    rules = (period, zero_amounts, negative_amounts)
    _check_options(period, *rules)
    columns = {"customer_id": customer_id, "date": date, "amount": amount}
    frame, engine, attrs = _summary(
        transactions, columns, observation_end, period, rules, date_format, duckdb_config
    )
    attrs["period"] = period
    if isinstance(engine, _spark.SparkEngine):
        customers, n_customers, _ = _spark.finish_summaries(frame)
        if n_customers == 0:
            raise v.no_purchases_left(attrs["n_rows"], zero_amounts, negative_amounts)
        customers = _spark_discrete(customers, attrs, n_customers, attrs["observation_end"])
        return _spark.summary_frame(customers, engine, DISCRETE_COLUMNS, attrs)
    if frame.empty:
        raise v.no_purchases_left(attrs["n_rows"], zero_amounts, negative_amounts)
    keep = _with_opportunities(frame, attrs["observation_end"])
    out = _discrete_columns(frame[keep])
    out.attrs.update(attrs, n_customers=len(out), n_first_in_last_period=int((~keep).sum()))
    return out


def discrete_calibration_holdout(
    transactions,
    *,
    calibration_end,
    holdout_end=None,
    period: str = "Y",
    customer_id: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    zero_amounts: str = "keep",
    negative_amounts: str = "error",
    date_format: str | None = None,
    duckdb_config: Mapping[str, Any] | None = None,
) -> CalibrationHoldout:
    """:func:`discrete_summary` at ``calibration_end`` and each customer's holdout periods.

    The calibration runs to the period containing ``calibration_end``, the holdout over the
    following periods up to the one containing ``holdout_end``. Customers first seen in the
    holdout are excluded (``metadata["n_new_in_holdout"]``), as are those first seen in the
    last calibration period (``metadata["n_first_in_last_period"]``). Check a fitted BG/BB
    with ``model.expected_purchases(n_future, split.calibration)`` against
    ``split.holdout["holdout_purchases"]``, where
    ``n_future = split.metadata["holdout_length"]``.

    Parameters
    ----------
    transactions : DataFrame, Table, path or Spark DataFrame
        As in :func:`rfm_summary`.
    calibration_end : date-like
        Any date in the last calibration period.
    holdout_end : date-like, optional
        Any date in the last holdout period; default the last transaction.
    period, customer_id, date, amount, zero_amounts, negative_amounts, date_format, duckdb_config
        As in :func:`discrete_summary`.

    Returns
    -------
    CalibrationHoldout
        ``calibration`` (columns of :func:`discrete_summary`), ``holdout`` with
        ``holdout_purchases`` (holdout periods with a purchase), ``holdout_value`` and
        ``holdout_length`` (number of holdout periods, an integer), and ``metadata`` (as
        :func:`calibration_holdout`, plus ``period`` and ``n_first_in_last_period``).

    Examples
    --------
    >>> import pandas as pd
    >>> import models
    >>> tx = pd.DataFrame(
    ...     {
    ...         "customer_id": [1, 1, 2, 2],
    ...         "date": pd.to_datetime(["1996-02-01", "1998-07-01", "1997-03-03", "2000-01-09"]),
    ...         "amount": [10.0, 5.0, 20.0, 8.0],
    ...     }
    ... )
    >>> split = models.discrete_calibration_holdout(
    ...     tx, calibration_end="1998-12-31", holdout_end="2001-12-31"
    ... )
    >>> split.calibration[["frequency", "recency", "periods"]].to_numpy().tolist()
    [[1, 2, 2], [0, 0, 1]]
    >>> split.holdout["holdout_purchases"].tolist(), split.metadata["holdout_length"]
    ([0, 1], 3)
    """
    v.check_choice("period", period, DISCRETE_PERIODS)
    rules = (period, zero_amounts, negative_amounts)
    _check_options(period, *rules)
    columns = {"customer_id": customer_id, "date": date, "amount": amount}
    frame, engine, cal_period, hold_period, n_rows = _split_summary(
        transactions,
        columns,
        calibration_end,
        holdout_end,
        period,
        rules,
        date_format,
        duckdb_config,
    )
    if isinstance(engine, _spark.SparkEngine):
        return _spark_split(frame, engine, cal_period, hold_period, n_rows, period, rules, True)
    split = _pandas_split(frame, cal_period, hold_period, n_rows, period, rules)
    metadata = dict(split.metadata)
    keep = _with_opportunities(split.calibration, metadata["calibration_end"])
    metadata.update(
        holdout_length=int(metadata["holdout_length"]),
        n_customers=int(keep.sum()),
        n_first_in_last_period=int((~keep).sum()),
        period=period,
    )
    calibration = _discrete_columns(split.calibration[keep])
    holdout = split.holdout[keep].copy()
    holdout["holdout_length"] = np.int64(metadata["holdout_length"])
    for part in (calibration, holdout):
        part.attrs.clear()
        part.attrs.update(metadata, observation_end=metadata["calibration_end"])
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
