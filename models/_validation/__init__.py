"""Every input check of the public API, and the wording of its error.

An error names the column, the rule, how many rows break it and the first offending
customer, then says what to try::

    ValueError: recency must be <= T; 3 of 2357 rows break this (first: customer_id=17,
    recency=40.0, T=38.9). Check the observation end date.

Checks never modify their input. Summary checks return plain float arrays in the caller's
row order, ready for the likelihood.

The checks and messages live in submodules, by the part of the library that uses them;
import them from here (``from models._validation import X`` or ``_validation.X``):

- :mod:`models._validation._core`: the error classes, :func:`rule_error` and the building
  blocks of row checks;
- :mod:`models._validation.summaries`: per-customer summaries (continuous, discrete, spend);
- :mod:`models._validation.transactions`: raw transactions (:mod:`models.data`);
- :mod:`models._validation.spark`: the Spark engine (:mod:`models._spark`);
- :mod:`models._validation.arguments`: arguments of predictions and fits (horizons, counts,
  intervals, draws, time units);
- :mod:`models._validation.evaluation`: evaluation metrics and the rule of thumb
  (:mod:`models.evaluate`, :mod:`models.baseline`; import from the submodule);
- :mod:`models._validation.plots`: the figures (:mod:`models.plots`);
- :mod:`models._validation.predictive`: predictive distributions (:mod:`models.predictive`).
"""

from models._validation._core import (
    ConvergenceError,
    NotFittedError,
    ValidationError,
    check_rows,
    numeric_column,
    require_columns,
    require_dataframe,
    rule_error,
)
from models._validation.arguments import (
    check_count,
    check_horizon,
    check_interval,
    check_margin,
    check_number,
    check_positive_whole,
    time_unit_conflict,
    time_unit_mismatch,
)
from models._validation.plots import (
    plot_actual_missing,
    plot_baseline_not_scalar,
    plot_clv_not_finite,
    plot_clv_shape,
    plot_coverage_range,
    plot_empty_cohort,
    plot_holdout_before_calibration,
    plot_holdout_missing,
    plot_horizon_unknown,
    plot_log_x_nonpositive,
    plot_matrix_age,
    plot_matrix_quantity,
    plot_matrix_recency,
    plot_needs_continuous_time,
    plot_needs_draws,
    plot_period,
    plot_time_unit_unknown,
    plot_too_few_customers,
    plot_wrong_type,
)
from models._validation.predictive import (
    ACTUAL_RULE,
    CAP_WARNING,
    DISCRETE_HORIZON_MESSAGE,
    FIXED_N_MAX_WARNING,
    HORIZON_MESSAGE,
    INTERVAL_MESSAGE,
    MAX_DRAWS_MESSAGE,
    N_MAX_MESSAGE,
    N_SAMPLES_MESSAGE,
    NO_PMF_MESSAGE,
    NOT_FINITE_MESSAGE,
    QUANTILES_MESSAGE,
    RNG_MESSAGE,
    SPEND_MODEL_MESSAGE,
    TAIL_TOL_MESSAGE,
    PredictiveTailWarning,
)
from models._validation.spark import (
    SPARK_INSTALL,
    java_not_found,
    no_spark_session,
    recount_rows,
    spark_customer_id_unknown,
    spark_date_format,
    spark_not_installed,
    spark_return_draws,
)
from models._validation.summaries import (
    validate_continuous_summary,
    validate_discrete_summary,
    validate_positive_integer_weights,
    validate_spend_summary,
)
from models._validation.transactions import (
    TRANSACTION_RULES,
    bad_end_date,
    calendar_time_unit,
    check_choice,
    check_transaction_counts,
    empty_transactions,
    end_before_data,
    ends_out_of_order,
    missing_file,
    mixed_id_types,
    no_opportunities,
    no_purchases_left,
    polars_object_ids,
    transaction_rule_error,
    transactions_missing_columns,
    unreadable_transactions,
    unsupported_transactions,
)

__all__ = [
    "ACTUAL_RULE",
    "CAP_WARNING",
    "ConvergenceError",
    "DISCRETE_HORIZON_MESSAGE",
    "FIXED_N_MAX_WARNING",
    "HORIZON_MESSAGE",
    "INTERVAL_MESSAGE",
    "MAX_DRAWS_MESSAGE",
    "NOT_FINITE_MESSAGE",
    "NO_PMF_MESSAGE",
    "N_MAX_MESSAGE",
    "N_SAMPLES_MESSAGE",
    "NotFittedError",
    "PredictiveTailWarning",
    "QUANTILES_MESSAGE",
    "RNG_MESSAGE",
    "SPARK_INSTALL",
    "SPEND_MODEL_MESSAGE",
    "TAIL_TOL_MESSAGE",
    "TRANSACTION_RULES",
    "ValidationError",
    "bad_end_date",
    "calendar_time_unit",
    "check_choice",
    "check_count",
    "check_horizon",
    "check_interval",
    "check_margin",
    "check_number",
    "check_positive_whole",
    "check_rows",
    "check_transaction_counts",
    "empty_transactions",
    "end_before_data",
    "ends_out_of_order",
    "java_not_found",
    "missing_file",
    "mixed_id_types",
    "no_opportunities",
    "no_purchases_left",
    "no_spark_session",
    "numeric_column",
    "plot_actual_missing",
    "plot_baseline_not_scalar",
    "plot_clv_not_finite",
    "plot_clv_shape",
    "plot_coverage_range",
    "plot_empty_cohort",
    "plot_holdout_before_calibration",
    "plot_holdout_missing",
    "plot_horizon_unknown",
    "plot_log_x_nonpositive",
    "plot_matrix_age",
    "plot_matrix_quantity",
    "plot_matrix_recency",
    "plot_needs_continuous_time",
    "plot_needs_draws",
    "plot_period",
    "plot_time_unit_unknown",
    "plot_too_few_customers",
    "plot_wrong_type",
    "polars_object_ids",
    "recount_rows",
    "require_columns",
    "require_dataframe",
    "rule_error",
    "spark_customer_id_unknown",
    "spark_date_format",
    "spark_not_installed",
    "spark_return_draws",
    "time_unit_conflict",
    "time_unit_mismatch",
    "transaction_rule_error",
    "transactions_missing_columns",
    "unreadable_transactions",
    "unsupported_transactions",
    "validate_continuous_summary",
    "validate_discrete_summary",
    "validate_positive_integer_weights",
    "validate_spend_summary",
]
