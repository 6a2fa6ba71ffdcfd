"""Checks of per-customer summaries: continuous-time, discrete-time (BG/BB) and spend.

Each ``validate_*`` function checks a summary frame against the rules of its model family,
raises the standard row-rule error (:func:`models._validation._core.rule_error`) for the
first rule broken, and otherwise returns plain float64 arrays in the caller's row order,
ready for the likelihood. The input frame is never modified.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from models._validation._core import (
    check_rows,
    numeric_column,
    require_columns,
    require_dataframe,
)


def validate_continuous_summary(
    data, columns: Mapping[str, str] | None = None, what: str = "data"
) -> dict[str, np.ndarray]:
    """Check a continuous-time summary (frequency, recency, T) and return its arrays.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per customer, indexed by customer id.
    columns : mapping, optional
        Maps the roles ``frequency``, ``recency``, ``T`` to the caller's column names.
    what : str
        How the data is called in messages.

    Returns
    -------
    dict
        ``x``, ``t_x``, ``T`` as float64 arrays in row order.
    """
    names = {"frequency": "frequency", "recency": "recency", "T": "T", **(columns or {})}
    data = require_dataframe(data, what)
    require_columns(data, names.values(), what)
    x = numeric_column(data, names["frequency"])
    t_x = numeric_column(data, names["recency"])
    T = numeric_column(data, names["T"])
    f, r, t = names["frequency"], names["recency"], names["T"]
    check_rows(data, f, "must be >= 0", x < 0, {f: x})
    check_rows(data, f, "must be a whole number of repeat purchases", x != np.round(x), {f: x})
    check_rows(data, t, "must be >= 0 (customer age)", T < 0, {t: T})
    check_rows(data, r, "must be >= 0", t_x < 0, {r: t_x})
    tolerance = 1e-9 * np.maximum(1.0, T)
    check_rows(
        data,
        r,
        f"must be <= {t}",
        t_x > T + tolerance,
        {r: t_x, t: T},
        "Check the observation end date and the time unit of both columns.",
    )
    check_rows(
        data,
        r,
        f"must be 0 when {f} is 0",
        (x == 0) & (t_x != 0),
        {f: x, r: t_x},
        "Recency is the time from the first to the last repeat purchase.",
    )
    return {"x": x, "t_x": np.minimum(t_x, T), "T": T}


def validate_positive_integer_weights(data: pd.DataFrame, column: str | None) -> np.ndarray:
    """Return per-row weights (customer counts), all ones when ``column`` is None."""
    if column is None:
        return np.ones(len(data))
    require_columns(data, [column])
    w = numeric_column(data, column)
    check_rows(
        data,
        column,
        "must be a positive whole number of customers",
        (w <= 0) | (w != np.round(w)),
        {column: w},
    )
    return w


def _whole(values: np.ndarray) -> np.ndarray:
    return values == np.round(values)


def validate_discrete_summary(
    data, columns: Mapping[str, str] | None = None, what: str = "data"
) -> dict[str, np.ndarray]:
    """Check a discrete-time summary (BG/BB): frequency, recency, periods.

    Rules: all three are whole numbers; ``0 <= frequency <= recency <= periods``;
    ``periods >= 1``; ``recency = 0`` exactly when ``frequency = 0``.

    Returns
    -------
    dict
        ``x``, ``t_x``, ``n`` as float64 arrays in row order.
    """
    names = {
        "frequency": "frequency",
        "recency": "recency",
        "periods": "periods",
        **(columns or {}),
    }
    data = require_dataframe(data, what)
    require_columns(data, names.values(), what)
    f, r, n_col = names["frequency"], names["recency"], names["periods"]
    x, t_x, n = (numeric_column(data, c) for c in (f, r, n_col))
    for col, values in ((f, x), (r, t_x), (n_col, n)):
        check_rows(data, col, "must be a whole number of periods", ~_whole(values), {col: values})
        check_rows(data, col, "must be >= 0", values < 0, {col: values})
    check_rows(data, n_col, "must be >= 1 (number of purchase opportunities)", n < 1, {n_col: n})
    check_rows(
        data,
        f,
        f"must be <= {r} (each purchase period is at most the last one)",
        x > t_x,
        {f: x, r: t_x},
    )
    check_rows(data, r, f"must be <= {n_col}", t_x > n, {r: t_x, n_col: n})
    check_rows(data, r, f"must be 0 exactly when {f} is 0", (x == 0) != (t_x == 0), {f: x, r: t_x})
    return {"x": x, "t_x": t_x, "n": n}


def validate_spend_summary(
    data, columns: Mapping[str, str] | None = None, what: str = "data"
) -> dict[str, np.ndarray]:
    """Check a spend summary (Gamma-Gamma): frequency and mean repeat spend.

    Rules: ``frequency`` a whole number >= 0; for customers with ``frequency > 0``,
    ``monetary_value`` finite and > 0. Rows with ``frequency = 0`` carry no spend
    information (their ``monetary_value`` is ignored, and may be missing).

    Returns
    -------
    dict
        ``x`` and ``z`` (mean spend, 0 where ``x = 0``) as float64 arrays, and ``keep``, the
        rows with ``x > 0`` that a fit uses.
    """
    names = {"frequency": "frequency", "monetary_value": "monetary_value", **(columns or {})}
    data = require_dataframe(data, what)
    require_columns(data, names.values(), what)
    f, m = names["frequency"], names["monetary_value"]
    x = numeric_column(data, f)
    check_rows(data, f, "must be >= 0", x < 0, {f: x})
    check_rows(data, f, "must be a whole number of repeat purchases", ~_whole(x), {f: x})
    z = pd.to_numeric(data[m], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    repeat = x > 0
    check_rows(
        data,
        m,
        f"must be a finite number > 0 for customers with {f} > 0",
        repeat & ~(np.isfinite(z) & (z > 0)),
        {f: x, m: data[m].to_numpy()},
        "The Gamma-Gamma model needs positive mean repeat spend. Zero-value purchases: build "
        "the summary with rfm_summary(..., zero_amounts='drop'); returns: choose a rule with "
        "negative_amounts=...; or fit and score only the customers with a positive "
        "monetary_value.",
    )
    return {"x": x, "z": np.where(repeat, z, 0.0), "keep": repeat}
