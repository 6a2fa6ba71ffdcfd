"""Messages of the figures (:mod:`models.plots`).

One small function per refused argument of a figure: a model or time unit the figure cannot
use, tracking periods and cohorts, holdout and actual values that do not match the
customers, frequency x recency matrices, CLV arrays, coverage levels and diagnostics asked
of a fit without draws. Each returns the :class:`ValidationError` for the caller to raise.
"""

from __future__ import annotations

import pandas as pd

from models._validation._core import ValidationError


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
