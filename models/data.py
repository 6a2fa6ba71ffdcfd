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
Time-zone aware timestamps are taken in UTC. The output is sorted by customer id.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from models import _data_sql as sql
from models import _spark
from models import _validation as v
from models._units import TIME_UNITS

__all__ = [
    "TIME_UNITS",
    "CalibrationHoldout",
    "calibration_holdout",
    "rfm_summary",
    "spark_session",
    "to_time_units",
]

#: Days in one time unit.

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
#: In-memory inputs from this many rows are summarised in customer partitions, one per thread.
PARTITION_MIN_ROWS = 100_000

_EPOCH = pd.Timestamp("1970-01-01")
_TEMPORAL = ("DATE", "TIMESTAMP")
#: DuckDB errors caused by the caller's data (unreadable file, unconvertible value).
_ENGINE_DATA_ERRORS = (
    duckdb.ConversionException,
    duckdb.InvalidInputException,
    duckdb.IOException,
    duckdb.OutOfRangeException,
)


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
        or ISO strings.
    observation_end : date-like, optional
        Last day (with ``merge_period="D"``) or instant (with ``None``) observed, inclusive.
        Default: the last transaction. Later transactions are an error.
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
        ``strptime`` format for text or integer dates, e.g. ``"%Y%m%d"``.
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
        For missing columns, missing ids, missing or unparsable dates, non-numeric amounts,
        negative amounts (unless a rule is chosen), dates after ``observation_end``, empty
        input, or bad options; the message names the column, rule, count and first customer.
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
    ``local[cores]``, workers on this interpreter, UI off, UTC session time zone. On a cluster
    use your usual session. Options: ``shuffle_partitions``, ``driver_memory``, ``config``.
    Needs pyspark (``pip install "clv-models[spark]"``) and Java 17+; the error says which
    is missing.
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


def _parse_end(name: str, value) -> pd.Timestamp | None:
    """A naive (UTC) timestamp from a date-like end, or None."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise v.bad_end_date(name, value) from None
    if stamp is pd.NaT:
        raise v.bad_end_date(name, value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp


def _text(stamp: pd.Timestamp) -> str:
    """A timestamp as text for messages: the date alone when it is midnight."""
    return str(stamp.date()) if stamp == stamp.normalize() else stamp.isoformat()


def _period(stamp: pd.Timestamp, merge_period: str | None) -> int:
    """Integer period number of a timestamp (see :mod:`models._data_sql`)."""
    if merge_period == "D":
        return int((stamp.normalize() - _EPOCH).days)
    return int((stamp - _EPOCH) // pd.Timedelta(microseconds=1))


def _period_to_timestamp(period: int, merge_period: str | None) -> pd.Timestamp:
    if merge_period == "D":
        return _EPOCH + pd.Timedelta(days=int(period))
    return _EPOCH + pd.Timedelta(microseconds=int(period))


def _quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _string_literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


class _Engine:
    """One in-process DuckDB connection holding the caller's transactions as ``raw_input``."""

    dialect = "duckdb"
    source = "raw_input"

    def __init__(self, transactions, columns, merge_period, date_format, config):
        self.columns = columns
        self.merge_period = merge_period
        self.date_format = date_format
        self.id_dtype = None
        self.config = dict(config or {})
        self.in_memory = None
        self.con = duckdb.connect(config=self.config)
        # No progress bar printed into the caller's terminal or notebook.
        self.con.execute("SET enable_progress_bar = false")
        try:
            self.con.execute("SET TimeZone = 'UTC'")
            self._register(transactions)
        except BaseException as error:
            self.__exit__(type(error), error, None)
            raise

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        self.con.close()
        if isinstance(error, _ENGINE_DATA_ERRORS):
            raise v.unreadable_transactions(str(error).splitlines()[0]) from error

    def _register(self, data) -> None:
        if isinstance(data, pd.DataFrame):
            if self.columns["customer_id"] in data.columns:
                self.id_dtype = data[self.columns["customer_id"]].dtype
            self.in_memory = data
        elif type(data).__module__.split(".")[0] == "polars" and hasattr(data, "to_arrow"):
            self.in_memory = data.to_arrow()
        elif isinstance(data, pa.Table):
            self.in_memory = data
        if self.in_memory is not None or isinstance(data, pa.RecordBatchReader):
            self.con.register("raw_input", data if self.in_memory is None else self.in_memory)
        elif isinstance(data, str | os.PathLike):
            self._register_file(data)
        else:
            raise v.unsupported_transactions(data)
        described = self.con.sql("DESCRIBE raw_input").fetchall()
        types = {row[0]: row[1] for row in described}
        missing = [c for c in self.columns.values() if c not in types]
        if missing:
            raise v.transactions_missing_columns(missing, list(types))
        self.expressions = self._expressions(types)
        e = self.expressions
        self.tx_view = (
            f"CREATE TEMP VIEW tx AS SELECT {e['id']} AS customer_id, {e['ts']} AS ts, "
            f"{e['amount']} AS amount FROM raw_input"
        )
        self.con.execute(self.tx_view)

    def _register_file(self, data) -> None:
        path = os.fspath(data)
        lower, source = path.lower(), _string_literal(path)
        if not lower.endswith((".parquet", ".pq", ".csv", ".csv.gz", ".tsv", ".txt")):
            raise v.unsupported_transactions(data)
        if "*" not in path and not os.path.exists(path):
            raise v.missing_file(path)
        if lower.endswith((".parquet", ".pq")):
            reader = f"read_parquet({source})"
        else:
            # Date and amount are read as text and parsed by the checks: the CSV sniffer sees
            # only a sample, and a bad value further down must be reported like any other.
            sniffed = self.con.sql(f"DESCRIBE SELECT * FROM read_csv({source})").fetchall()
            names = {row[0] for row in sniffed}
            text = [self.columns[k] for k in ("date", "amount") if self.columns[k] in names]
            types = ", ".join(f"{_string_literal(c)}: 'VARCHAR'" for c in text)
            reader = f"read_csv({source}, types = {{{types}}})" if text else f"read_csv({source})"
        self.con.execute(f"CREATE TEMP VIEW raw_input AS SELECT * FROM {reader}")

    def _expressions(self, types) -> dict[str, str]:
        id_, date, amount = (_quote(self.columns[k]) for k in ("customer_id", "date", "amount"))
        date_type = types[self.columns["date"]].upper()
        if date_type.startswith(_TEMPORAL):
            ts = f"CAST({date} AS TIMESTAMP)"
        elif self.date_format is not None:
            ts = f"try_strptime(CAST({date} AS VARCHAR), {_string_literal(self.date_format)})"
        else:
            ts = f"TRY_CAST(CAST({date} AS VARCHAR) AS TIMESTAMP)"
        return {"id": id_, "date": date, "ts": ts, "amount": f"TRY_CAST({amount} AS DOUBLE)"}

    def quote(self, name: str) -> str:
        """Quote a column name for DuckDB SQL."""
        return _quote(name)

    def one_row(self, query: str) -> dict[str, Any]:
        """Run ``query``; its first row as a dict."""
        relation = self.con.sql(query)
        return dict(zip(relation.columns, relation.fetchall()[0], strict=True))

    def validate(self, end, *, end_name, allow_negative) -> int:
        """See :func:`_validate`."""
        return _validate(self, end, end_name=end_name, allow_negative=allow_negative)

    def summary(
        self, end_period, time_unit, merge_period, zero_amounts, negative_amounts, *, holdout=True
    ):
        """Run the shared summary SQL; a pandas frame indexed by the caller's id.

        With ``holdout=False`` (no row after ``end_period``) the frame has the columns
        :data:`SUMMARY_COLUMNS` only, and every customer in it has a purchase.
        """
        options = dict(
            end=end_period,
            unit_days=TIME_UNITS[time_unit],
            merge_period=merge_period,
            zero_amounts=zero_amounts,
            negative_amounts=negative_amounts,
            holdout=holdout,
            **self.settings,
        )
        parts = self._partitions()
        if parts > 1:
            table = self._partitioned_summary(functools.partial(sql.summary_sql, **options), parts)
        else:
            table = self.con.sql(sql.summary_sql("tx", **options)).to_arrow_table()
        frame = table.to_pandas()
        index = pd.Index(frame.pop("customer_id"), name=self.columns["customer_id"])
        if self.id_dtype is not None:
            try:
                index = index.astype(self.id_dtype)
            except (TypeError, ValueError):
                pass
        frame.index = index
        frame["n_transactions"] = frame["n_transactions"].astype("int64")
        if holdout:
            frame["holdout_purchases"] = frame["holdout_purchases"].astype("int64")
        return frame

    def _partitions(self) -> int:
        """How many customer partitions :meth:`summary` aggregates side by side.

        One per DuckDB thread for a large in-memory input; else 1 (one query on the engine's
        own connection). Files are read once only; a ``memory_limit`` is the caller's budget
        for one database, not one per partition.
        """
        if self.in_memory is None or self.n_rows < PARTITION_MIN_ROWS:
            return 1
        if "memory_limit" in self.config:
            return 1
        return int(self.con.sql("SELECT current_setting('threads')").fetchall()[0][0])

    def _partitioned_summary(self, summary_sql, parts: int) -> pa.Table:
        """The summary of ``parts`` disjoint sets of customers, one thread each, sorted by id.

        Customers are independent, so each partition (customers by the hash of their id) is
        summarised by its own single-threaded database over the same in-memory input. That
        spares DuckDB's merging of per-thread hash tables, which added 40-50 % CPU time to
        the 10M-row benchmark, where nearly every (customer, period) is its own group.
        """

        def run(part: int) -> pa.Table:
            con = duckdb.connect(config={**self.config, "threads": 1})
            try:
                con.execute("SET enable_progress_bar = false")
                con.execute("SET TimeZone = 'UTC'")
                con.register("raw_input", self.in_memory)
                con.execute(self.tx_view)
                source = f"(SELECT * FROM tx WHERE hash(customer_id) % {parts} = {part})"
                return con.sql(summary_sql(source, order_by_id=False)).to_arrow_table()
            finally:
                con.close()

        with ThreadPoolExecutor(max_workers=parts) as pool:
            tables = list(pool.map(run, range(parts)))
        self.con.register("partial_summaries", pa.concat_tables(tables))
        ordered = "SELECT * FROM partial_summaries ORDER BY customer_id"
        return self.con.sql(ordered).to_arrow_table()


def _validate(engine, end, *, end_name, allow_negative) -> int:
    """Check the raw rows in one pass; return the end period (default: last period).

    ``engine`` is the DuckDB engine or :class:`models._spark.SparkEngine`: both expose the
    raw input as ``engine.source`` to the shared queries of :mod:`models._data_sql`, and
    return one row with ``engine.one_row``. Sets ``engine.n_rows``, ``engine.first_period`` and
    ``engine.settings`` (the summary query's options for this data,
    :func:`models._data_sql.summary_settings`).
    """
    merge_period = engine.merge_period
    end_period = None if end is None else _period(end, merge_period)
    query = sql.counts_sql(
        engine.source,
        engine.expressions,
        merge_period=merge_period,
        end=end_period,
        dialect=engine.dialect,
    )
    counts = engine.one_row(query)
    engine.n_rows = int(counts["n_rows"])
    if engine.n_rows == 0:
        raise v.empty_transactions()

    def first(key):
        return _first_offender(engine, key, end_period)

    checks = {"columns": engine.columns, "first_offender": first, "end_name": end_name}
    v.check_transaction_counts({**counts, "after_end": 0}, allow_negative=allow_negative, **checks)
    engine.first_period = int(counts["first_period"])
    engine.settings = sql.summary_settings(counts, merge_period)
    if end_period is None:
        return int(counts["last_period"])
    if end_period < engine.first_period:
        first_seen = _period_to_timestamp(engine.first_period, merge_period)
        raise v.end_before_data(end_name, _text(end), _text(first_seen))
    v.check_transaction_counts(counts, allow_negative=True, end=_text(end), **checks)
    return end_period


def _first_offender(engine, key, end_period) -> dict[str, Any]:
    """The first raw row breaking rule ``key``: id, and the amount or date shown."""
    e, columns = engine.expressions, engine.columns
    query = sql.first_offender_sql(
        engine.source,
        key,
        e,
        f"{e['id']} AS id_value, {e['date']} AS date_value, "
        f"{engine.quote(columns['amount'])} AS amount_value",
        merge_period=engine.merge_period,
        end=end_period,
        dialect=engine.dialect,
    )
    row = engine.one_row(query)
    shown = {columns["customer_id"]: row["id_value"]}
    if key in ("bad_amount", "huge_amount", "negative_amount"):
        shown[columns["amount"]] = row["amount_value"]
    else:
        shown[columns["date"]] = row["date_value"]
    return shown


def _open_engine(transactions, columns, merge_period, date_format, duckdb_config):
    """The engine the input picks: Spark for a Spark DataFrame, else in-process DuckDB."""
    if _spark.is_spark_dataframe(transactions):
        return _spark.SparkEngine(transactions, columns, merge_period, date_format)
    return _Engine(transactions, columns, merge_period, date_format, duckdb_config)
