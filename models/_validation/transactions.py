"""Messages of the transaction readers (:mod:`models.data`): raw transactions to summaries.

:data:`TRANSACTION_RULES` lists the row rules checked on raw transactions, in the order they
are reported; :func:`check_transaction_counts` raises for the first one broken from counts
computed by a query engine (DuckDB or Spark), with :func:`transaction_rule_error` giving the
same message shape as :func:`models._validation._core.rule_error`. The other functions
return the errors for wrong inputs, columns, end dates and unreadable files.
"""

from __future__ import annotations

from collections.abc import Mapping

from models._validation._core import ValidationError, _format_value

#: Rules checked on raw transactions, in the order they are reported:
#: (key, role of the column, rule in words, hint).
TRANSACTION_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("missing_id", "customer_id", "must not be missing", "Drop or fill rows without a customer."),
    ("missing_date", "date", "must not be missing", "Drop rows without a date."),
    (
        "bad_date",
        "date",
        "must be a date or timestamp (could not parse it)",
        "Convert the column to datetime, or pass date_format (e.g. date_format='%Y%m%d').",
    ),
    (
        "bad_amount",
        "amount",
        "must be a finite number (not missing, NaN, inf or text)",
        "Drop or fill those rows.",
    ),
    (
        "huge_amount",
        "amount",
        "must be at most 9e12 in absolute value (amounts are summed exactly, in millionths)",
        "Check the column's unit, or rescale it (e.g. to thousands).",
    ),
    (
        "negative_amount",
        "amount",
        "must be >= 0 (negative amounts are returns)",
        "Choose a rule for returns: negative_amounts='drop' or 'net'.",
    ),
    (
        "after_end",
        "date",
        "must be on or before {end_name} {end}",
        "Pass a later {end_name}, or filter the transactions first.",
    ),
)


def check_choice(name: str, value, allowed) -> None:
    """Raise unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        options = ", ".join(_format_value(a) for a in allowed)
        raise ValidationError(f"{name} must be one of {options}; got {_format_value(value)}.")


def transactions_missing_columns(missing, present, what: str = "transactions") -> ValidationError:
    """Error for transactions without the named id, date or amount columns."""
    return ValidationError(
        f"{what} is missing column(s) {list(missing)}; it has {list(present)}. Rename your "
        "columns or name them with customer_id=..., date=..., amount=...."
    )


def unsupported_transactions(data, what: str = "transactions") -> ValidationError:
    """Error for an input type the transaction readers do not know."""
    return ValidationError(
        f"{what} must be a pandas or polars DataFrame, a pyarrow Table, or a path to a CSV or "
        f"Parquet file; got {type(data).__name__}{' ' + repr(str(data)) if _is_path(data) else ''}."
    )


def _is_path(data) -> bool:
    return isinstance(data, str) or hasattr(data, "__fspath__")


def empty_transactions(what: str = "transactions") -> ValidationError:
    """Error for transactions without rows."""
    return ValidationError(f"{what} is empty: there are no rows to summarise.")


def bad_end_date(name: str, value) -> ValidationError:
    """Error for an end date that is not a date."""
    return ValidationError(
        f"{name} must be a date or timestamp (e.g. '1997-09-30'); got {_format_value(value)}."
    )


def end_before_data(name: str, end, first) -> ValidationError:
    """Error for an observation or calibration end before the first transaction."""
    return ValidationError(
        f"{name} {end} is before the first transaction ({first}): no customer is observed. "
        f"Pass a later {name}."
    )


def ends_out_of_order(calibration_end, holdout_end) -> ValidationError:
    """Error for a holdout that does not start after the calibration period."""
    return ValidationError(
        f"holdout_end must be after calibration_end; got calibration_end {calibration_end} "
        f"and holdout_end {holdout_end}."
    )


def no_purchases_left(n_rows: int, zero_amounts: str, negative_amounts: str) -> ValidationError:
    """Error for transactions in which the amount rules leave no purchase."""
    return ValidationError(
        f"transactions have no purchase left: all {n_rows} rows were dropped by "
        f"zero_amounts={zero_amounts!r} and negative_amounts={negative_amounts!r}. "
        "Check the amount column."
    )


def transaction_rule_error(
    column: str,
    rule: str,
    n_bad: int,
    n_rows: int,
    first: Mapping,
    hint: str = "",
) -> ValidationError:
    """The :func:`rule_error` message from counts (for data that lives in a query engine).

    ``first`` maps column names to the first offending row's values (id first).
    """
    parts = ", ".join(f"{name}={_format_value(value)}" for name, value in first.items())
    message = f"{column} {rule}; {n_bad} of {n_rows} rows break this (first: {parts})."
    if hint:
        message += f" {hint}"
    return ValidationError(message)


def check_transaction_counts(
    counts: Mapping[str, int],
    columns: Mapping[str, str],
    first_offender,
    *,
    end_name: str = "observation_end",
    end=None,
    allow_negative: bool = False,
) -> None:
    """Raise for the first rule of :data:`TRANSACTION_RULES` that some rows break.

    Parameters
    ----------
    counts : mapping
        ``n_rows`` and, per rule key, how many rows break it.
    columns : mapping
        Role (``customer_id``, ``date``, ``amount``) -> the caller's column name.
    first_offender : callable
        ``first_offender(key)`` -> the first offending row as a mapping of column -> value
        (id first); called only when a rule is broken.
    end_name, end
        The bound that dates must not pass, for the ``after_end`` message.
    allow_negative : bool
        Whether negative amounts are allowed (a rule for returns was chosen).
    """
    n_rows = int(counts["n_rows"])
    for key, role, rule, hint in TRANSACTION_RULES:
        if key == "negative_amount" and allow_negative:
            continue
        n_bad = int(counts.get(key) or 0)
        if n_bad > 0:
            raise transaction_rule_error(
                columns[role],
                rule.format(end_name=end_name, end=end),
                n_bad,
                n_rows,
                first_offender(key),
                hint.format(end_name=end_name, end=end),
            )


def mixed_id_types(
    column: str, kinds: Mapping[str, int], n_bad: int, n_rows: int, first
) -> ValidationError:
    """Error for ids of several Python types in one column (``1`` and ``'1'`` would merge).

    ``kinds`` maps each type name to its number of rows, the most common first; ``n_bad``
    rows are not of that type and ``first`` is the first of them.
    """
    found = ", ".join(f"{kind} in {count} row{'s' * (count != 1)}" for kind, count in kinds.items())
    return transaction_rule_error(
        column,
        f"must hold ids of one type (found {found}): mixed types merge different customers "
        "such as 1 and '1'",
        n_bad,
        n_rows,
        {column: first},
        "Convert the column to one type first, e.g. with .astype(str) or .astype('int64').",
    )


def polars_object_ids(column: str) -> ValidationError:
    """Error for a polars ``Object`` id column, which reaches the engine as memory addresses."""
    return ValidationError(
        f"{column} is a polars Object column, which cannot be read (its values would arrive as "
        "memory addresses, one customer per row). Cast it first, e.g. with "
        f"pl.col({column!r}).cast(pl.String) or .cast(pl.Int64)."
    )


def missing_file(path) -> ValidationError:
    """Error for a transactions path that does not exist."""
    return ValidationError(f"transactions file {str(path)!r} does not exist.")


def unreadable_transactions(detail: str) -> ValidationError:
    """Error for transactions the query engine cannot read or convert."""
    return ValidationError(
        f"transactions could not be read: {detail.rstrip('.')}. Check the file and the column "
        "types."
    )


def calendar_time_unit(merge_period: str, time_unit) -> ValidationError:
    """Error for a time unit other than the calendar merge period (week, month, year)."""
    return ValidationError(
        f"time_unit must be {merge_period!r} with merge_period={merge_period!r}: purchases are "
        "merged per calendar period, so recency and T are whole numbers of that period; got "
        f"time_unit={_format_value(time_unit)}. Omit time_unit, or merge by day "
        "(merge_period='D') to get durations in another unit."
    )


def no_opportunities(n_customers: int, end) -> ValidationError:
    """Error for a discrete summary in which no customer has an opportunity to repeat."""
    return ValidationError(
        f"no customer has a purchase opportunity after the first: all {n_customers} customers "
        f"first bought in the last period ({end}), so periods would be 0. Pass a later "
        "observation_end (calibration_end), or filter the transactions first."
    )
