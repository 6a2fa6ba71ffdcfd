"""Transactions -> summaries in Spark: :class:`SparkEngine` and the date-pattern translation.

Part of :mod:`models._spark`; pyspark is imported inside the functions only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models import _data_sql as sql
from models import _validation as v
from models._spark._session import require_pyspark

_EPOCH_NTZ = "TIMESTAMP_NTZ '1970-01-01 00:00:00'"
#: strptime directives and their Java (Spark) datetime patterns.
_JAVA_PATTERNS = {
    "Y": "yyyy",
    "m": "MM",
    "d": "dd",
    "H": "HH",
    "M": "mm",
    "S": "ss",
    "f": "SSSSSS",
    "y": "yy",
    "b": "MMM",
    "B": "MMMM",
    "j": "DDD",
    "I": "hh",
    "p": "a",
    # A UTC offset, as strptime's %z reads it: +HH:MM, +HHMM or +HH.
    "z": "[xxx][xx][x]",
}


# --- transactions -> summaries ---------------------------------------------------------------


def _quote(name: str) -> str:
    return "`" + str(name).replace("`", "``") + "`"


def _string_literal(text: str) -> str:
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def java_pattern(date_format: str) -> str:
    """Translate a ``strptime`` format to a Spark (Java) datetime pattern.

    >>> java_pattern("%Y%m%d")
    'yyyyMMdd'
    >>> java_pattern("%Y-%m-%dT%H:%M")
    "yyyy-MM-dd'T'HH:mm"
    """
    out, i = [], 0
    while i < len(date_format):
        char = date_format[i]
        if char == "%" and i + 1 < len(date_format):
            code = date_format[i + 1]
            if code == "%":
                out.append("%")
            elif code in _JAVA_PATTERNS:
                out.append(_JAVA_PATTERNS[code])
            else:
                raise v.spark_date_format("%" + code, date_format)
            i += 2
            continue
        out.append(f"'{char}'" if char.isalpha() else ("''" if char == "'" else char))
        i += 1
    return "".join(out)


def _utc_wall_clock(instant: str) -> str:
    """SQL for the UTC wall-clock ``TIMESTAMP_NTZ`` of ``TIMESTAMP`` (instant) ``instant``."""
    return f"timestampadd(MICROSECOND, unix_micros({instant}), {_EPOCH_NTZ})"


def text_timestamp(text: str, date_format: str | None = None) -> str:
    """SQL for the UTC wall-clock ``TIMESTAMP_NTZ`` of string SQL ``text``; NULL if unparsable.

    As DuckDB's (:func:`models._data_duckdb.text_timestamp`), whatever the session time zone:
    text with a UTC offset or zone is that instant in UTC, text without one is wall-clock
    time already. Casting to ``TIMESTAMP_NTZ`` drops an offset, and casting to ``TIMESTAMP``
    reads text without one in the session time zone, so text that may hold one
    (:data:`models._data_sql.MAY_HAVE_ZONE`) is read as an instant and the rest as
    wall-clock time.
    """
    if date_format is not None:
        parsed = f"try_to_timestamp({text}, {_string_literal(java_pattern(date_format))})"
        if "%z" in date_format:
            return _utc_wall_clock(parsed)
        return f"CAST({parsed} AS TIMESTAMP_NTZ)"
    return (
        f"CASE WHEN {text} RLIKE {_string_literal(sql.MAY_HAVE_ZONE)} "
        f"THEN {_utc_wall_clock(f'try_cast({text} AS TIMESTAMP)')} "
        f"ELSE try_cast({text} AS TIMESTAMP_NTZ) END"
    )


class SparkEngine:
    """The caller's Spark DataFrame of transactions, checked and summarised in Spark.

    Same interface as the DuckDB engine of :mod:`models.data` (``validate``, ``summary``,
    ``n_rows``, ``first_period``); queries come from :mod:`models._data_sql` with
    ``dialect="spark"``.
    """

    dialect = "spark"
    source = "{raw}"

    def __init__(self, data, columns: Mapping[str, str], merge_period, date_format) -> None:
        require_pyspark()
        from pyspark.sql import types as T

        self.data = data
        self.session = data.sparkSession
        self.columns = dict(columns)
        self.merge_period = merge_period
        types = {field.name: field.dataType for field in data.schema.fields}
        missing = [c for c in self.columns.values() if c not in types]
        if missing:
            raise v.transactions_missing_columns(missing, list(types))
        id_, date, amount = (_quote(self.columns[k]) for k in ("customer_id", "date", "amount"))
        kind = types[self.columns["date"]]
        if isinstance(kind, T.TimestampType):  # an instant: its UTC wall-clock time
            ts = _utc_wall_clock(date)
        elif isinstance(kind, T.TimestampNTZType):
            ts = date
        elif isinstance(kind, T.DateType):
            ts = f"CAST({date} AS TIMESTAMP_NTZ)"
        else:
            ts = text_timestamp(f"CAST({date} AS STRING)", date_format)
        self.expressions = {
            "id": id_,
            "date": date,
            "ts": ts,
            "amount": f"try_cast({amount} AS DOUBLE)",
        }
        self.id_field = data.schema[self.columns["customer_id"]]
        self.clean = data.selectExpr(
            f"{id_} AS customer_id", f"{ts} AS ts", f"{self.expressions['amount']} AS amount"
        )

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        return None

    def quote(self, name: str) -> str:
        """Quote a column name for Spark SQL."""
        return _quote(name)

    def one_row(self, query: str) -> dict[str, Any]:
        """Run ``query`` over the raw input; its only row as a dict (one small collect)."""
        row = self.session.sql(query, raw=self.data).first()
        return {} if row is None else row.asDict()

    def summary(
        self, end_period, time_unit, merge_period, zero_amounts, negative_amounts, *, holdout=True
    ):
        """The shared summary SQL, one shuffle by customer; a lazy Spark DataFrame."""
        from models._units import TIME_UNITS

        query = sql.summary_sql(
            "(SELECT * FROM {tx} DISTRIBUTE BY customer_id)",
            end=end_period,
            unit_days=TIME_UNITS[time_unit],
            merge_period=merge_period,
            zero_amounts=zero_amounts,
            negative_amounts=negative_amounts,
            dialect="spark",
            order_by_id=False,
            holdout=holdout,
            **self.settings,
        )
        return self.session.sql(query, tx=self.clean)
