"""End dates, period numbers and the one-pass checks of a raw transaction log.

Shared by the engines of :mod:`models.data` (the in-process DuckDB one,
:mod:`models._data_duckdb`, and :class:`models._spark.SparkEngine`): :func:`_validate` runs
the counting query of :mod:`models._data_sql` on ``engine.source`` and reports the first row
breaking a rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models import _data_sql as sql
from models import _validation as v

_EPOCH = pd.Timestamp("1970-01-01")


#: What pandas' ``infer_dtype`` says of an object column holding values of several types.
_MIXED = ("mixed", "mixed-integer", "mixed-integer-float")


def _id_kind(value) -> str:
    """The type of an id, numpy scalars named as their Python type (np.int64 -> int)."""
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | np.integer):
        return "int"
    if isinstance(value, float | np.floating):
        return "float"
    return type(value).__name__


def check_id_types(ids: pd.Series) -> None:
    """Refuse a pandas id column whose values are of several types (``1`` and ``'1'``).

    Only object columns (or categoricals with object categories) can mix types; the engine
    turns such a column into text, so 1 and '1' would be one customer. pandas'
    ``infer_dtype`` clears a column of one type in one pass (1M string ids: about 15 ms);
    only a mixed column is typed row by row, for the message. Missing ids are left to the
    ``missing_id`` rule.
    """
    values = ids
    if isinstance(ids.dtype, pd.CategoricalDtype):
        if pd.api.types.infer_dtype(ids.cat.categories, skipna=True) not in _MIXED:
            return
        values = ids.astype(object)
    elif ids.dtype != object or pd.api.types.infer_dtype(ids, skipna=True) not in _MIXED:
        return
    array = values.to_numpy(dtype=object)
    present = np.flatnonzero(~pd.isna(array))
    kinds = np.array([_id_kind(x) for x in array[present]], dtype=object)
    codes, names = pd.factorize(kinds)  # names in order of first appearance
    if len(names) < 2:
        return
    counts = np.bincount(codes)
    order = np.argsort(-counts, kind="stable")  # most common first; ties: first seen
    bad = codes != order[0]
    first = array[present[np.argmax(bad)]]
    found = {str(names[i]): int(counts[i]) for i in order}
    raise v.mixed_id_types(str(ids.name), found, int(bad.sum()), len(array), first)


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
    if merge_period == "W":  # Monday weeks: 1970-01-01 (day 0) is a Thursday
        return (int((stamp.normalize() - _EPOCH).days) + 3) // 7
    if merge_period == "M":
        return stamp.year * 12 + stamp.month - 1
    if merge_period == "Y":
        return stamp.year
    return int((stamp - _EPOCH) // pd.Timedelta(microseconds=1))


def _period_to_timestamp(period: int, merge_period: str | None) -> pd.Timestamp:
    """The first instant of period number ``period`` (inverse of :func:`_period`)."""
    if merge_period == "D":
        return _EPOCH + pd.Timedelta(days=int(period))
    if merge_period == "W":
        return _EPOCH + pd.Timedelta(days=7 * int(period) - 3)
    if merge_period == "M":
        return pd.Timestamp(year=int(period) // 12, month=int(period) % 12 + 1, day=1)
    if merge_period == "Y":
        return pd.Timestamp(year=int(period), month=1, day=1)
    return _EPOCH + pd.Timedelta(microseconds=int(period))


def _period_end(period: int, merge_period: str | None) -> pd.Timestamp:
    """The last day of a calendar period (week, month, year); else as :func:`_period_to_timestamp`.

    Ends of calendar periods are reported as the last day they cover, so an
    ``observation_end`` of 2001 reads 2001-12-31 (inclusive, as the end dates given).
    """
    if merge_period in sql.CALENDAR_PERIODS:
        return _period_to_timestamp(int(period) + 1, merge_period) - pd.Timedelta(days=1)
    return _period_to_timestamp(period, merge_period)


def _period_text(period: int, merge_period: str | None) -> str:
    """A period for messages: its date (day, instant) or its calendar span (week, month, year)."""
    if merge_period in sql.CALENDAR_PERIODS:
        start = _period_to_timestamp(period, merge_period)
        return str(pd.Period(start, freq={"W": "W-SUN", "M": "M", "Y": "Y"}[merge_period]))
    return _text(_period_to_timestamp(period, merge_period))


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
        first_seen = _period_text(engine.first_period, merge_period)
        raise v.end_before_data(end_name, _text(end), first_seen)
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
