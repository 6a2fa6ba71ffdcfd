"""Every input check of the public API, and the wording of its error.

An error names the column, the rule, how many rows break it and the first offending
customer, then says what to try::

    ValueError: recency must be <= T; 3 of 2357 rows break this (first: customer_id=17,
    recency=40.0, T=38.9). Check the observation end date.

Checks never modify their input. Summary checks return plain float arrays in the caller's
row order, ready for the likelihood.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd


class ValidationError(ValueError):
    """Raised when user input breaks a documented rule."""


class NotFittedError(ValidationError, AttributeError):
    """Raised when a model is used before ``fit``."""


class ConvergenceError(RuntimeError):
    """Raised when an optimiser does not reach a trustworthy maximum."""


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
    return ValidationError(message)


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
        raise ValidationError(
            f"{what} is missing column(s) {missing}; it has {list(data.columns)}. "
            "Rename your columns or pass the column names explicitly."
        )


def numeric_column(data: pd.DataFrame, column: str) -> np.ndarray:
    """Return ``data[column]`` as finite float64 values, or raise naming the first bad row."""
    values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
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
        "The Gamma-Gamma model needs positive mean repeat spend; drop returns-only customers "
        "or choose a rule for negative amounts in rfm_summary.",
    )
    return {"x": x, "z": np.where(repeat, z, 0.0), "keep": repeat}


# --- transactions (models.data) -------------------------------------------------------------

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


def missing_file(path) -> ValidationError:
    """Error for a transactions path that does not exist."""
    return ValidationError(f"transactions file {str(path)!r} does not exist.")


def unreadable_transactions(detail: str) -> ValidationError:
    """Error for transactions the query engine cannot read or convert."""
    return ValidationError(
        f"transactions could not be read: {detail.rstrip('.')}. Check the file and the column "
        "types."
    )


# --- the Spark engine (models._spark) ------------------------------------------------------------

SPARK_INSTALL = 'pip install "clv-models[spark]" (or: pip install pyspark)'


def spark_not_installed() -> ImportError:
    """Error for a Spark entry point used without pyspark installed."""
    return ImportError(
        f"the Spark engine needs pyspark, which is not installed: {SPARK_INSTALL}. The pandas / "
        "DuckDB path works without it."
    )


def java_not_found() -> RuntimeError:
    """Error for starting Spark without a Java runtime."""
    return RuntimeError(
        "the Spark engine needs a Java runtime (17 or 21) and none was found (no JAVA_HOME, no "
        "`java` on PATH): install one, e.g. `apt-get install openjdk-17-jre-headless` or "
        "`conda install -c conda-forge openjdk=17`, and set JAVA_HOME. "
        f"pyspark itself comes with {SPARK_INSTALL}."
    )


def no_spark_session() -> RuntimeError:
    """Error for a Spark entry point with no active SparkSession."""
    return RuntimeError(
        "there is no active SparkSession to run on. Start one, e.g. "
        "`spark = models.data.spark_session(cores=2)` for local mode, or "
        "`SparkSession.builder.master('local[2]').getOrCreate()` / your cluster's usual "
        "session; the library then uses it."
    )


def spark_return_draws() -> ValidationError:
    """Error for asking a Spark prediction for the full draw array."""
    return ValidationError(
        "return_draws=True is not available on a Spark DataFrame: the (chain, draw, customer) "
        "array of millions of customers would not fit on the driver. Ask for interval=0.9 "
        "(mean, sd, lower, upper per customer), or collect a sample of customers to pandas."
    )


def spark_customer_id_unknown(columns) -> ValidationError:
    """Error for a Spark summary whose customer id column cannot be found."""
    return ValidationError(
        f"cannot tell which column of the Spark summary is the customer id: it has "
        f"{list(columns)} and none is marked as the id or named 'customer_id'. Build it with "
        "models.rfm_summary / calibration_holdout, or rename the id column to 'customer_id'."
    )


def spark_date_format(directive: str, date_format: str) -> ValidationError:
    """Error for a strptime directive the Spark engine cannot translate."""
    return ValidationError(
        f"date_format {date_format!r} uses {directive}, which the Spark engine cannot "
        "translate; use %Y %m %d %H %M %S %f %y %b %B %j %I %p, or parse the dates in Spark "
        "first (to_timestamp)."
    )


def recount_rows(single_row_error: ValidationError, n_bad: int, n_rows: int) -> ValidationError:
    """Restate a one-row :func:`rule_error` for ``n_bad`` of ``n_rows`` rows.

    Used when rows were checked as unique patterns with counts: the rule, the first offender
    and the hint come from the one-row check of the first offending pattern.
    """
    message = str(single_row_error).replace(
        "; 1 of 1 rows break this", f"; {n_bad} of {n_rows} rows break this", 1
    )
    return ValidationError(message)


# --- figures (models.plots) ----------------------------------------------------------------------


def plot_needs_continuous_time(model) -> ValidationError:
    """Error for a calendar-time figure asked of a discrete-time (BG/BB) model."""
    return ValidationError(
        f"this figure needs a continuous-time purchase model (BetaGeo, ParetoNBD, "
        f"ModifiedBetaGeo); {type(model).__name__} counts discrete opportunities."
    )


def plot_time_unit_unknown() -> ValidationError:
    """Error for a figure in time units of a model that does not record its unit."""
    return ValidationError(
        "the model's time unit is unknown: pass time_unit='W' (or 'D', 'M', 'Y'), or fit "
        "on a summary built by models.rfm_summary, which records it."
    )


def plot_period(period) -> ValidationError:
    """Error for a tracking period that is not positive."""
    return ValidationError(f"period must be > 0 time units, got {period}.")


def plot_holdout_before_calibration(holdout_end, calibration_end) -> ValidationError:
    """Error for a tracking holdout that ends before the calibration period does."""
    return ValidationError(
        f"holdout_end ({holdout_end.date()}) must not be before calibration_end "
        f"({calibration_end.date()})."
    )


def plot_empty_cohort(calibration_end) -> ValidationError:
    """Error for a tracking cohort without customers."""
    return ValidationError(
        f"no customer made a first purchase on or before {calibration_end.date()}."
    )


def plot_wrong_type(what: str, expected: str, value) -> ValidationError:
    """Error for an argument ``what`` of a figure that is not ``expected`` (in words)."""
    return ValidationError(f"{what} must be {expected}, got {type(value).__name__}.")


def plot_horizon_unknown() -> ValidationError:
    """Error for conditional expectations without a holdout length."""
    return ValidationError(
        "horizon (the holdout length in time units) is needed: pass horizon=39 or a "
        "holdout frame with a single holdout_length."
    )


def plot_holdout_missing(missing: pd.Index, n_customers: int) -> ValidationError:
    """Error for calibration customers (``missing``) without holdout purchases."""
    return ValidationError(
        f"holdout has no purchases for {missing.size} of {n_customers} calibration "
        f"customers (first: {missing[0]!r}); index both by the same customer ids."
    )


def plot_matrix_quantity(quantity) -> ValidationError:
    """Error for a frequency x recency matrix of an unknown quantity."""
    return ValidationError(f"quantity must be 'p_alive' or 'expected_purchases', got {quantity!r}.")


def plot_matrix_age(T) -> ValidationError:
    """Error for a frequency x recency matrix at an age that is not positive."""
    return ValidationError(f"T must be > 0, got {T}.")


def plot_matrix_recency(T: float) -> ValidationError:
    """Error for recency values of a matrix that are not increasing within ``[0, T]``."""
    return ValidationError(f"recency must be increasing values in [0, T={T:g}].")


def plot_actual_missing(n_missing: int, n_predicted: int) -> ValidationError:
    """Error for predicted customers without an actual value."""
    return ValidationError(
        f"actual is missing {n_missing} of the {n_predicted} predicted "
        "customers; index both by the same customer ids."
    )


def plot_too_few_customers(n_groups: int, n_customers: int) -> ValidationError:
    """Error for fewer customers than groups of predicted value."""
    return ValidationError(f"need at least n_groups={n_groups} customers, got {n_customers}.")


def plot_baseline_not_scalar() -> ValidationError:
    """Error for a rule of thumb with several LTVs drawn as one line."""
    return ValidationError(
        "baseline must give a single number (a float, or a RuleOfThumb with a scalar ltv "
        "such as variant='classic' or 'retention'); per-segment or per-customer rules "
        "have several."
    )


def plot_clv_shape(shape) -> ValidationError:
    """Error for CLV draws that are not a (chain, draw, customer) array."""
    return ValidationError(
        f"clv must be a Series, a frame with 'mean', or a (chain, draw, customer) "
        f"array; got an array of shape {shape}."
    )


def plot_clv_not_finite() -> ValidationError:
    """Error for CLV values with NaN or inf."""
    return ValidationError("clv has NaN or infinite values.")


def plot_log_x_nonpositive() -> ValidationError:
    """Error for a logarithmic CLV axis with CLV <= 0."""
    return ValidationError("log_x needs every CLV > 0; plot on a linear axis instead.")


def plot_coverage_range(name: str) -> ValidationError:
    """Error for coverage levels or values outside ``[0, 1]``."""
    return ValidationError(f"coverage levels and values must lie in [0, 1] ({name}).")


def plot_needs_draws() -> ValidationError:
    """Error for ArviZ diagnostics of a point fit."""
    return ValidationError(
        "diagnostic plots need parameter draws: fit with method='nuts' (or 'advi'), or call "
        ".sample_laplace(draws=2000, random_seed=...) after a maximum-likelihood fit."
    )
