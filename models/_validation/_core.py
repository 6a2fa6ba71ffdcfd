"""The shared core of input checking: the error classes and the standard row-rule message.

:func:`rule_error` builds the one message shape every row check uses (column, rule, how many
rows break it, the first offending customer, a hint); :func:`require_dataframe`,
:func:`require_columns`, :func:`numeric_column` and :func:`check_rows` are the building
blocks of the summary checks in :mod:`models._validation.summaries`. The error classes keep
``models._validation`` as their module, so tracebacks and pickles name them as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd


class ValidationError(ValueError):
    """Raised when user input breaks a documented rule."""

    __module__ = "models._validation"


class NotFittedError(ValidationError, AttributeError):
    """Raised when a model is used before ``fit``."""

    __module__ = "models._validation"


class ConvergenceError(RuntimeError):
    """Raised when an optimiser does not reach a trustworthy maximum."""

    __module__ = "models._validation"


def _format_value(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return repr(value) if isinstance(value, str) else str(value)


def rule_error(
    column: str,
    rule: str,
    bad: np.ndarray,
    ids: Iterable,
    shown: Mapping[str, np.ndarray] | None = None,
    hint: str = "",
    id_name: str = "customer_id",
) -> ValidationError:
    """Build the standard error for rows (boolean mask ``bad``) that break ``rule``.

    Parameters
    ----------
    column : str
        The column the rule is about (first word of the message).
    rule : str
        The rule in words, e.g. ``"must be <= T"``.
    bad : numpy.ndarray of bool
        Which rows break the rule.
    ids : iterable
        Customer ids in row order (to name the first offender).
    shown : mapping, optional
        Columns (name -> values in row order) whose value for the first offender is shown.
    hint : str, optional
        What to try next.
    id_name : str
        Name of the id in the message.

    Returns
    -------
    ValidationError
        With the mask ``bad`` as its ``rows`` attribute, for callers that restate the error
        (e.g. for rows that stand for several customers, :func:`models._spark.check_patterns`).
    """
    bad = np.asarray(bad, dtype=bool)
    positions = np.flatnonzero(bad)
    first = int(positions[0])
    first_id = list(ids)[first] if not isinstance(ids, pd.Index | np.ndarray) else ids[first]
    parts = [f"{id_name}={_format_value(first_id)}"]
    for name, values in (shown or {column: None}).items():
        if values is not None:
            parts.append(f"{name}={_format_value(np.asarray(values)[first])}")
    message = (
        f"{column} {rule}; {positions.size} of {bad.size} rows break this "
        f"(first: {', '.join(parts)})."
    )
    if hint:
        message += f" {hint}"
    error = ValidationError(message)
    error.rows = bad
    return error


def require_dataframe(data, what: str = "data") -> pd.DataFrame:
    """Refuse anything that is not a non-empty pandas DataFrame."""
    if not isinstance(data, pd.DataFrame):
        raise ValidationError(
            f"{what} must be a pandas DataFrame of per-customer summaries, got "
            f"{type(data).__name__}. Build one with models.rfm_summary(transactions)."
        )
    if len(data) == 0:
        raise ValidationError(f"{what} is empty: there are no customers to work with.")
    return data


def require_columns(data: pd.DataFrame, columns: Iterable[str], what: str = "data") -> None:
    """Raise when any of ``columns`` is missing, listing what is there."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        example = f"{what}.rename(columns={{'your_name': {missing[0]!r}}})"
        raise ValidationError(
            f"{what} is missing column(s) {missing}; it has {list(data.columns)}. "
            f"Rename your columns to these names (e.g. {example})."
        )


def numeric_column(data: pd.DataFrame, column: str) -> np.ndarray:
    """Return ``data[column]`` as finite float64 values, or raise naming the first bad row.

    A float64 column comes back as a read-only view (no copy of a large summary; nothing can
    write through it into the caller's frame); other columns are converted.
    """
    series = data[column]
    if series.dtype == np.float64:
        values = series.to_numpy().view()
        values.flags.writeable = False
    else:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise rule_error(
            column,
            "must be a finite number (not missing, NaN, inf or text)",
            bad,
            data.index,
            {column: data[column].to_numpy()},
        )
    return values


def check_rows(
    data: pd.DataFrame, column: str, rule: str, bad, shown: Mapping | None = None, hint: str = ""
) -> None:
    """Raise :func:`rule_error` if any row of ``data`` is flagged in ``bad``."""
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        raise rule_error(column, rule, bad, data.index, shown, hint)
