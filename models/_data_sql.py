"""The SQL that turns transactions into per-customer summaries, written once for every engine.

Each template reads a relation of clean transactions ``(customer_id, ts, amount)`` — ``ts`` a
time-zone-free timestamp holding UTC wall-clock time (DuckDB ``TIMESTAMP``, Spark
``TIMESTAMP_NTZ``, so no session time zone can move a purchase to another day), ``amount`` a
double — and uses only standard SQL (``GROUP BY``, ``CASE``,
``MIN``/``MAX``/``SUM``/``COUNT``). The few functions that differ between engines (day
numbers, epoch microseconds, finiteness, value at the minimum) come from :data:`DIALECTS`, so
DuckDB (the embedded default) and Spark SQL run the same text.

Amounts are summed as ``DECIMAL(38, 9)`` (exact to 1e-9 of a currency unit), so totals and
means do not depend on the order in which an engine happens to add rows: the same data gives
bit-identical summaries from every input form and every thread count.

A *period* is the unit purchases are merged in: a calendar day (``merge_period="D"``, the
integer day number since 1970-01-01) or the exact timestamp (``merge_period=None``, integer
microseconds since 1970-01-01; transactions with identical timestamps are one purchase).
Period numbers are integers, so every comparison with an end date is exact;
:data:`PERIODS_PER_DAY` converts period differences to days.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Functions that differ between engines, with argument ``{x}`` (and ``{by}``).
DIALECTS: dict[str, dict[str, str]] = {
    "duckdb": {
        "day_number": "datediff('day', DATE '1970-01-01', CAST({x} AS DATE))",
        "epoch_micros": "epoch_us({x})",
        "is_finite": "isfinite({x})",
        "value_at_min": "arg_min({x}, {by})",
    },
    "spark": {
        "day_number": "datediff(CAST({x} AS DATE), DATE '1970-01-01')",
        "epoch_micros": "timestampdiff(MICROSECOND, TIMESTAMP_NTZ '1970-01-01 00:00:00', {x})",
        "is_finite": "(NOT isnan({x}) AND abs({x}) < double('Infinity'))",
        "value_at_min": "min_by({x}, {by})",
    },
}

#: Period numbers per day, by merge_period.
PERIODS_PER_DAY: dict[str | None, int] = {"D": 1, None: 86_400_000_000}


def _call(dialect: str, function: str, argument: str, by: str = "") -> str:
    return DIALECTS[dialect][function].format(x=argument, by=by)


def period_expression(ts: str, merge_period: str | None, dialect: str = "duckdb") -> str:
    """SQL for the integer period number of timestamp expression ``ts``."""
    function = "day_number" if merge_period == "D" else "epoch_micros"
    return _call(dialect, function, ts)


# Per-customer summary up to period {end}, with holdout purchases in ({end}, ...] when the
# relation holds later rows. Purchases are merged periods, unique per customer, so the first
# purchase (earliest period) is well defined. Customers whose first purchase lies after {end}
# come back with n_purchases = 0 (the caller drops them).
_SUMMARY = """
WITH periods AS (
    SELECT customer_id, {period} AS p, MIN(ts) AS first_ts,
           SUM(CAST(amount AS DECIMAL(38, 9))) AS value
    FROM {source}
    WHERE {row_filter}
    GROUP BY customer_id, {period}
),
purchases AS (
    SELECT customer_id, p, first_ts, value FROM periods WHERE {period_filter}
),
per_customer AS (
    SELECT customer_id,
           COUNT(CASE WHEN p <= {end} THEN 1 END) AS n_purchases,
           MIN(p) AS first_p,
           MAX(CASE WHEN p <= {end} THEN p END) AS last_p,
           MIN(first_ts) AS first_purchase,
           SUM(CASE WHEN p <= {end} THEN value ELSE 0 END) AS total_value,
           {first_value} AS first_value,
           COUNT(CASE WHEN p > {end} THEN 1 END) AS holdout_purchases,
           SUM(CASE WHEN p > {end} THEN value ELSE 0 END) AS holdout_value
    FROM purchases
    GROUP BY customer_id
)
SELECT customer_id,
       n_purchases - 1 AS frequency,
       (last_p - first_p) / {unit} AS recency,
       ({end} - first_p) / {unit} AS T,
       CASE WHEN n_purchases > 1
            THEN CAST(CAST(total_value AS DECIMAL(37, 9)) - CAST(first_value AS DECIMAL(37, 9))
                      AS DOUBLE) / (n_purchases - 1)
            ELSE 0.0 END AS monetary_value,
       n_purchases AS n_transactions,
       CAST(total_value AS DOUBLE) AS total_value,
       first_purchase,
       holdout_purchases,
       CAST(holdout_value AS DOUBLE) AS holdout_value
FROM per_customer{order}
"""

# One pass over the raw input: how many rows break each rule. {id}, {date}, {ts} and
# {amount} are the engine's expressions for the raw id, raw date, parsed timestamp (NULL when
# unparsable) and numeric amount (NULL when not a number).
_COUNTS = """
SELECT COUNT(*) AS n_rows,
       SUM(CASE WHEN {id} IS NULL THEN 1 ELSE 0 END) AS missing_id,
       SUM(CASE WHEN {date} IS NULL THEN 1 ELSE 0 END) AS missing_date,
       SUM(CASE WHEN {date} IS NOT NULL AND {ts} IS NULL THEN 1 ELSE 0 END) AS bad_date,
       SUM(CASE WHEN {amount} IS NULL OR NOT {amount_finite} THEN 1 ELSE 0 END) AS bad_amount,
       SUM(CASE WHEN {amount} < 0 THEN 1 ELSE 0 END) AS negative_amount,
       SUM(CASE WHEN {amount} = 0 THEN 1 ELSE 0 END) AS zero_amount,
       SUM(CASE WHEN {period} > {end} THEN 1 ELSE 0 END) AS after_end,
       MIN({period}) AS first_period,
       MAX({period}) AS last_period
FROM {source}
"""

#: Row conditions (on the same expressions as :data:`_COUNTS`) for each counted rule, used to
#: fetch the first offending row when a count is positive.
RULE_CONDITIONS: dict[str, str] = {
    "missing_id": "{id} IS NULL",
    "missing_date": "{date} IS NULL",
    "bad_date": "{date} IS NOT NULL AND {ts} IS NULL",
    "bad_amount": "{amount} IS NULL OR NOT {amount_finite}",
    "negative_amount": "{amount} < 0",
    "after_end": "{period} > {end}",
}


def _literal(value: float | int | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return f"CAST('{float(value)!r}' AS DOUBLE)"


def summary_sql(
    source: str,
    *,
    end: int,
    unit_days: float,
    merge_period: str | None = "D",
    zero_amounts: str = "keep",
    negative_amounts: str = "error",
    dialect: str = "duckdb",
    order_by_id: bool = True,
) -> str:
    """The per-customer summary query over clean transactions ``source``.

    Parameters
    ----------
    source : str
        Relation (table, view or parenthesised subquery) with columns ``customer_id``,
        ``ts`` (timestamp) and ``amount`` (double).
    end : int
        Period number of the observation (calibration) end; later periods count as holdout.
    unit_days : float
        Days per output time unit.
    merge_period, zero_amounts, negative_amounts : str
        As in :func:`models.data.rfm_summary`.
    dialect : {"duckdb", "spark"}
        Which engine runs the text.
    order_by_id : bool
        Sort the result by customer id (DuckDB). A distributed engine skips the global sort:
        its frames have no order anyway, and sorting would cost a second shuffle.
    """
    period = period_expression("ts", merge_period, dialect)
    row_filter = "amount >= 0" if negative_amounts == "drop" else "1 = 1"
    period_filter = "value > 0" if zero_amounts == "drop" else "value >= 0"
    return _SUMMARY.format(
        source=source,
        period=period,
        row_filter=row_filter,
        period_filter=period_filter,
        end=_literal(int(end)),
        first_value=_call(dialect, "value_at_min", "value", "p"),
        unit=_literal(float(PERIODS_PER_DAY[merge_period] * unit_days)),
        order="\nORDER BY customer_id" if order_by_id else "",
    )


def counts_sql(
    source: str,
    expressions: Mapping[str, str],
    *,
    merge_period: str | None,
    end: int | None,
    dialect: str = "duckdb",
) -> str:
    """The one-pass rule-count query over the raw input (see ``_COUNTS``)."""
    return _COUNTS.format(source=source, **_rule_fields(expressions, merge_period, end, dialect))


def first_offender_sql(
    source: str,
    rule: str,
    expressions: Mapping[str, str],
    select: str,
    *,
    merge_period: str | None,
    end: int | None,
    dialect: str = "duckdb",
) -> str:
    """First row (in input order) of ``source`` breaking ``rule``, selecting ``select``.

    DuckDB scans in input order, so the first match is the first offender. Spark has no scan
    order: rows are numbered by partition and position (the input order of a file or a local
    collection) and the smallest number wins, a top-1 per partition, never a collection.
    """
    condition = RULE_CONDITIONS[rule].format(
        **_rule_fields(expressions, merge_period, end, dialect)
    )
    if dialect == "spark":
        numbered = f"(SELECT *, monotonically_increasing_id() AS clv_row_number FROM {source})"
        return f"SELECT {select} FROM {numbered} WHERE {condition} ORDER BY clv_row_number LIMIT 1"
    return f"SELECT {select} FROM {source} WHERE {condition} LIMIT 1"


def _rule_fields(expressions, merge_period, end, dialect) -> dict[str, str]:
    return {
        **expressions,
        "amount_finite": _call(dialect, "is_finite", expressions["amount"]),
        "period": period_expression(expressions["ts"], merge_period, dialect),
        "end": _literal(end),
    }
