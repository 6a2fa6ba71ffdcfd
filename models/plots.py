"""The figures users expect: tracking, conditional expectations, matrices, deciles, LTV, coverage.

References
----------
.. [FHL05] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the
   Easy Way. Marketing Science 24(2), 275-284: Figure 2 (weekly repeat transactions), Figure 3
   (cumulative repeat transactions), Figure 4 (conditional expectations of holdout purchases by
   calibration frequency).
.. [N004] Hardie, B. G. S. (2005). Implementing the BG/NBD Model for Customer Base Analysis in
   Excel (note 004): the tracking forecast as a sum over cohorts of E[X(t)].
.. [CGH09] Czado, C., Gneiting, T. & Held, L. (2009). Predictive Model Assessment for Count
   Data. Biometrics 65(4), 1254-1261: coverage of predictive intervals.
.. [GSV19] Gabry, J., Simpson, D., Vehtari, A., Betancourt, M. & Gelman, A. (2019).
   Visualization in Bayesian Workflow. JRSS A 182(2): posterior predictive checks.

Conventions shared by every function:

- it draws on ``ax`` (a new figure when ``ax`` is None) and returns the Axes; it never calls
  ``plt.show()`` and never changes ``rcParams``;
- predictions are evaluated on the model's parameter draws; a band is the central
  ``interval`` of the plotted quantity over those draws (parameter uncertainty of an expected
  value), drawn only when the model carries more than one draw (Laplace or Bayesian fit);
- time is in the model's time unit (``model.time_unit_``, or ``time_unit=``).

Calendar-time functions (tracking, matrices) need a continuous-time purchase model
(:class:`~models.BetaGeo`, Pareto/NBD, MBG/NBD); the purchase-count check also takes BG/BB.
Diagnostics of Bayesian fits are ArviZ's own (:func:`plot_trace`, :func:`plot_posterior`,
:func:`plot_pair` only hand ``model.idata`` to them).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from scipy import stats

from models import _draws
from models._base import unique_rows
from models._units import unit_days
from models._validation import (
    ValidationError,
    require_columns,
    require_dataframe,
    validate_positive_integer_weights,
)

__all__ = [
    "plot_conditional_expectations",
    "plot_cumulative_transactions",
    "plot_expected_purchases_matrix",
    "plot_frequency_recency_matrix",
    "plot_incremental_transactions",
    "plot_interval_coverage",
    "plot_ltv_distribution",
    "plot_p_alive_matrix",
    "plot_pair",
    "plot_posterior",
    "plot_purchase_count_check",
    "plot_trace",
    "plot_value_deciles",
    "tracking_table",
]

ACTUAL_COLOR = "0.15"
MODEL_COLOR = "tab:blue"
BASELINE_COLOR = "tab:red"
UNIT_NAMES = {"D": "day", "W": "week", "M": "month", "Y": "year"}


# ---------------------------------------------------------------------------------- plumbing
def _axes(ax: Axes | None, figsize=(7.0, 4.5)) -> Axes:
    if ax is None:
        import matplotlib.pyplot as plt  # only when a figure is created

        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _flat_params(model) -> dict[str, np.ndarray]:
    """The model's draws as ``(n_draws, 1)`` arrays (a point fit is one draw)."""
    model._require_fitted()
    return {name: v.reshape(-1, 1) for name, v in model._draws.items()}


def _require_continuous(function: Callable, model) -> None:
    if "T" not in inspect.signature(function).parameters:
        raise ValidationError(
            f"this figure needs a continuous-time purchase model (BetaGeo, ParetoNBD, "
            f"ModifiedBetaGeo); {type(model).__name__} counts discrete opportunities."
        )


def _time_unit(model, time_unit: str | None) -> str:
    unit = time_unit or getattr(model, "time_unit_", None)
    if unit is None:
        raise ValidationError(
            "the model's time unit is unknown: pass time_unit='W' (or 'D', 'M', 'Y'), or fit "
            "on a summary built by models.rfm_summary, which records it."
        )
    unit_days(unit)
    return unit


def _band(values: np.ndarray, interval: float | None):
    """Mean over draws (axis 0) and the central ``interval``, or None without draws."""
    mean = values.mean(axis=0)
    if interval is None or values.shape[0] < 2:
        return mean, None
    lower, upper = np.quantile(values, _draws.interval_bounds(interval), axis=0)
    return mean, (lower, upper)


def _duration(model, length: float) -> str:
    """``"39 weeks"`` when the model's time unit is known, else ``"39 time units"``."""
    unit = UNIT_NAMES.get(getattr(model, "time_unit_", None) or "", "time unit")
    return f"{length:g} {unit}{'' if length == 1 else 's'}"


def _interval_label(interval: float) -> str:
    return f"{interval:.0%} interval over parameter draws"


# ---------------------------------------------------------------------------------- tracking
def tracking_table(
    transactions: pd.DataFrame,
    model,
    *,
    calibration_end,
    holdout_end=None,
    customer_id: str = "customer_id",
    date: str = "date",
    time_unit: str | None = None,
    period: float = 1.0,
    interval: float | None = 0.9,
) -> pd.DataFrame:
    """Actual and expected repeat transactions of the cohort, period by period.

    The cohort is every customer whose first purchase falls on or before ``calibration_end``.
    Purchases on the same day merge into one (as in :func:`models.rfm_summary`); a customer's
    first purchase is not a repeat transaction. Customer ``i`` first buys on day ``s_i``, so the
    expected cumulative repeat transactions at calendar time ``tau`` are
    ``sum_i E[X(tau - s_i)]`` [N004], with ``E[X(t)]`` the model's expected purchases of a new
    customer (FHL05 eq. 7 for BG/NBD). Customers are grouped by first-purchase day, and the sum
    is evaluated once per parameter draw.

    Periods are ``period`` time units long and aligned so that one ends exactly at the end of
    ``calibration_end``; the first and last periods may be shorter.

    Parameters
    ----------
    transactions : pandas.DataFrame
        One row per transaction, with ``customer_id`` and ``date`` columns.
    model : fitted purchase model
        Continuous-time (BetaGeo, ParetoNBD, ModifiedBetaGeo), fitted on the calibration period.
    calibration_end, holdout_end : date-like
        Last day of calibration (inclusive) and of the holdout (default: the last transaction).
    customer_id, date : str
        Column names.
    time_unit : str, optional
        Time unit of the model (default ``model.time_unit_``).
    period : float
        Length of a period, in time units (1 week for a weekly plot when the unit is "W").
    interval : float, optional
        Central interval over parameter draws for the bands (ignored for a point fit).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``date`` (end of each period), columns ``time`` (time units since the
        cohort's first purchase), ``actual``, ``expected`` (per period), ``actual_cumulative``,
        ``expected_cumulative``, and with draws ``lower``/``upper`` and
        ``cumulative_lower``/``cumulative_upper``. ``attrs`` hold ``calibration_end``,
        ``time_unit``, ``period``, ``interval``, ``origin``.
    """
    expected_new = model._module_function("expected_purchases_new_customer")
    _require_continuous(model._module_function("expected_purchases"), model)
    unit = _time_unit(model, time_unit)
    if not period > 0:
        raise ValidationError(f"period must be > 0 time units, got {period}.")
    transactions = require_dataframe(transactions, "transactions")
    require_columns(transactions, [customer_id, date], "transactions")
    days = pd.to_datetime(transactions[date])
    if days.dt.tz is not None:  # as models.rfm_summary: aware timestamps are taken in UTC
        days = days.dt.tz_convert("UTC").dt.tz_localize(None)
    days = days.dt.normalize()
    frame = pd.DataFrame({"id": transactions[customer_id].to_numpy(), "day": days.to_numpy()})
    frame = frame.drop_duplicates()
    frame["first"] = frame.groupby("id")["day"].transform("min")
    cal_end = pd.Timestamp(calibration_end).normalize()
    hold_end = frame["day"].max() if holdout_end is None else pd.Timestamp(holdout_end)
    hold_end = hold_end.normalize()
    if hold_end < cal_end:
        raise ValidationError(
            f"holdout_end ({hold_end.date()}) must not be before calibration_end "
            f"({cal_end.date()})."
        )
    frame = frame[(frame["first"] <= cal_end) & (frame["day"] <= hold_end)]
    if frame.empty:
        raise ValidationError(f"no customer made a first purchase on or before {cal_end.date()}.")
    origin = frame["first"].min()
    day = (frame["day"] - origin).dt.days.to_numpy()
    first = (frame["first"] - origin).dt.days.to_numpy()
    repeat_days = np.sort(day[day > first])
    first_days, cohort_sizes = np.unique(first[day == first], return_counts=True)

    # period ends (in days since origin), one of them at the calibration end
    length = period * unit_days(unit)
    e, end = float((cal_end - origin).days), float((hold_end - origin).days)
    before = e - length * np.arange(max(0, int(np.floor(e / length - 1e-9))), -1, -1)
    after = e + length * np.arange(1, int(np.ceil((end - e) / length - 1e-9)))
    ends = np.concatenate([before, after, [end] if end > e else []])

    actual_cum = np.searchsorted(repeat_days, ends + 1e-9, side="right").astype(float)
    ages = ends[:, None] - first_days[None, :]  # (period end, first-purchase day)
    k_idx, j_idx = np.nonzero(ages > 0)
    unique_ages, inverse = np.unique(ages[k_idx, j_idx], return_inverse=True)
    weights = np.zeros((ends.size, unique_ages.size))
    np.add.at(weights, (k_idx, inverse), cohort_sizes[j_idx])
    per_age = expected_new(_flat_params(model), unique_ages / unit_days(unit))
    expected_cum = np.asarray(per_age).reshape(-1, unique_ages.size) @ weights.T  # (draws, K)
    expected_inc = np.diff(expected_cum, axis=1, prepend=0.0)

    table = pd.DataFrame(
        {
            "time": ends / unit_days(unit),
            "actual": np.diff(actual_cum, prepend=0.0),
            "actual_cumulative": actual_cum,
        },
        index=pd.DatetimeIndex(origin + pd.to_timedelta(ends, unit="D"), name="date"),
    )
    for suffix, values in (("", expected_inc), ("cumulative_", expected_cum)):
        mean, band = _band(values, interval)
        table["expected" + ("_cumulative" if suffix else "")] = mean
        if band is not None:
            table[suffix + "lower"], table[suffix + "upper"] = band
    table.attrs.update(
        calibration_end=cal_end, time_unit=unit, period=period, interval=interval, origin=origin
    )
    return table


def _plot_tracking(table: pd.DataFrame, cumulative: bool, ax: Axes | None) -> Axes:
    ax = _axes(ax)
    dates = table.index.to_numpy()
    prefix = "cumulative_" if cumulative else ""
    actual = table["actual_cumulative" if cumulative else "actual"]
    expected = table["expected_cumulative" if cumulative else "expected"]
    ax.plot(dates, actual.to_numpy(), color=ACTUAL_COLOR, label="actual")
    ax.plot(dates, expected.to_numpy(), color=MODEL_COLOR, linestyle="--", label="model")
    if prefix + "lower" in table:
        ax.fill_between(
            dates,
            table[prefix + "lower"].to_numpy(),
            table[prefix + "upper"].to_numpy(),
            color=MODEL_COLOR,
            alpha=0.25,
            linewidth=0,
            label=_interval_label(table.attrs["interval"]),
        )
    ax.axvline(
        table.attrs["calibration_end"].to_datetime64(),
        color="0.5",
        linestyle=":",
        label="end of calibration",
    )
    ax.set_xlabel("date (end of period)")
    unit, period = table.attrs["time_unit"], table.attrs["period"]
    name = UNIT_NAMES[unit] if period == 1 else f"{period:g} {UNIT_NAMES[unit]}s"
    kind = "cumulative repeat transactions" if cumulative else f"repeat transactions per {name}"
    ax.set_ylabel(kind)
    ax.set_title(f"Tracking: {kind}")
    ax.legend(loc="upper left" if cumulative else "upper right")
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    return ax


def plot_cumulative_transactions(
    transactions: pd.DataFrame, model, *, calibration_end, ax: Axes | None = None, **kwargs
) -> Axes:
    """Cumulative repeat transactions over calendar time, actual vs model (FHL05 Figure 3).

    Draws the actual cumulative count (solid), the model's expected count (dashed), its band
    when the model has draws, and a dotted vertical line at the end of calibration. Everything
    after that line is a forecast.

    Parameters
    ----------
    transactions, model, calibration_end
        As in :func:`tracking_table`.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    **kwargs
        ``holdout_end``, ``customer_id``, ``date``, ``time_unit``, ``period``, ``interval`` of
        :func:`tracking_table`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    table = tracking_table(transactions, model, calibration_end=calibration_end, **kwargs)
    return _plot_tracking(table, True, ax)


def plot_incremental_transactions(
    transactions: pd.DataFrame, model, *, calibration_end, ax: Axes | None = None, **kwargs
) -> Axes:
    """Repeat transactions per period (weekly for a weekly model), actual vs model (FHL05 Fig. 2).

    Same lines and arguments as :func:`plot_cumulative_transactions`, per period instead of
    cumulated. The first and last periods may be shorter than the others (periods are aligned
    on the end of calibration).

    Returns
    -------
    matplotlib.axes.Axes
    """
    table = tracking_table(transactions, model, calibration_end=calibration_end, **kwargs)
    return _plot_tracking(table, False, ax)


# ---------------------------------------------------------------------- grouped predictions
def _grouped_means(model, function: Callable, data: pd.DataFrame, groups: np.ndarray, n_groups):
    """Per-draw mean of ``function(params, *args, **customer_arrays)`` within each group.

    Evaluated once per unique (pattern, group), chunked so memory stays bounded; returns
    ``(n_draws, n_groups)``.
    """
    arrays = dict(model._prediction_arrays(data))
    patterns, inverse = unique_rows({**arrays, "_group": groups})
    counts = np.bincount(inverse, minlength=patterns["_group"].size).astype(float)
    params = _flat_params(model)
    n_draws = _draws.n_draws(params)
    sums = np.zeros((n_draws, n_groups))
    chunk = max(1, _draws.CHUNK_ELEMENTS // n_draws)
    group_of = patterns.pop("_group").astype(int)
    for start in range(0, group_of.size, chunk):
        part = slice(start, start + chunk)
        values = function(params, **{k: v[part] for k, v in patterns.items()})
        values = np.broadcast_to(values, (n_draws, group_of[part].size))
        for g in np.unique(group_of[part]):
            mask = group_of[part] == g
            sums[:, g] += values[:, mask] @ counts[part][mask]
    sizes = np.bincount(groups.astype(int), minlength=n_groups).astype(float)
    return sums / np.where(sizes > 0, sizes, np.nan)


def plot_conditional_expectations(
    model,
    calibration: pd.DataFrame,
    holdout,
    *,
    horizon: float | None = None,
    max_frequency: int = 7,
    interval: float | None = 0.9,
    ax: Axes | None = None,
) -> Axes:
    """Mean holdout purchases by calibration frequency, actual vs model (FHL05 Figure 4).

    Customers are grouped by their calibration repeat purchases ``x = 0, 1, ...,
    max_frequency - 1`` and ``max_frequency+``; the plot shows, per group, the mean actual
    holdout purchases and the mean of the model's conditional expectation
    ``E[Y(horizon) | x, t_x, T]`` (with a band over parameter draws).

    Parameters
    ----------
    model : fitted purchase model
    calibration : pandas.DataFrame
        Calibration summary the model predicts from (``frequency`` ... indexed by customer id).
    holdout : pandas.DataFrame or pandas.Series
        Actual holdout purchases: a Series, or a frame with ``holdout_purchases`` (and
        ``holdout_length``), indexed by the same customer ids.
    horizon : float, optional
        Holdout length in time units (default: ``holdout["holdout_length"]``).
    max_frequency : int
        Last group, which collects every customer with at least that many repeat purchases.
    interval : float, optional
        Band over parameter draws (ignored for a point fit).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    calibration = require_dataframe(calibration, "calibration")
    if isinstance(holdout, pd.DataFrame):
        require_columns(holdout, ["holdout_purchases"], "holdout")
        if horizon is None and "holdout_length" in holdout:
            lengths = holdout["holdout_length"].unique()
            if lengths.size == 1:
                horizon = float(lengths[0])
        holdout = holdout["holdout_purchases"]
    if not isinstance(holdout, pd.Series):
        raise ValidationError(
            f"holdout must be a pandas Series or DataFrame indexed by customer id, got "
            f"{type(holdout).__name__}."
        )
    if horizon is None:
        raise ValidationError(
            "horizon (the holdout length in time units) is needed: pass horizon=39 or a "
            "holdout frame with a single holdout_length."
        )
    actual = holdout.reindex(calibration.index)
    if actual.isna().any():
        missing = calibration.index[actual.isna().to_numpy()]
        raise ValidationError(
            f"holdout has no purchases for {missing.size} of {len(calibration)} calibration "
            f"customers (first: {missing[0]!r}); index both by the same customer ids."
        )
    x = calibration["frequency"].to_numpy(dtype=float)
    groups = np.minimum(x, max_frequency).astype(int)
    n_groups = max_frequency + 1
    expected_fn = model._module_function("expected_purchases")
    predicted = _grouped_means(
        model, lambda params, **a: expected_fn(params, horizon, **a), calibration, groups, n_groups
    )
    mean, band = _band(predicted, interval)
    actual_mean = pd.Series(actual.to_numpy(dtype=float)).groupby(groups).mean()
    actual_mean = actual_mean.reindex(range(n_groups)).to_numpy()

    ax = _axes(ax)
    positions = np.arange(n_groups)
    ax.plot(positions, actual_mean, "o-", color=ACTUAL_COLOR, label="actual")
    ax.plot(positions, mean, "s--", color=MODEL_COLOR, label="model")
    if band is not None:
        ax.fill_between(
            positions, *band, color=MODEL_COLOR, alpha=0.25, label=_interval_label(interval)
        )
    sizes = np.bincount(groups, minlength=n_groups)
    labels = [f"{k}\n(n={n})" for k, n in zip(range(max_frequency), sizes, strict=False)]
    ax.set_xticks(positions, [*labels, f"{max_frequency}+\n(n={sizes[-1]})"])
    ax.set_xlabel("repeat purchases in calibration")
    ax.set_ylabel(f"mean purchases in holdout ({_duration(model, horizon)})")
    ax.set_title("Conditional expectations: holdout purchases by calibration frequency")
    ax.legend(loc="upper left")
    return ax


# ---------------------------------------------------------------------------------- matrices
def plot_frequency_recency_matrix(
    model,
    T: float,
    *,
    quantity: str = "p_alive",
    horizon: float = 1.0,
    max_frequency: int = 20,
    n_recency: int = 40,
    recency=None,
    cmap: str = "viridis",
    ax: Axes | None = None,
) -> Axes:
    """Heatmap of P(alive) or expected purchases over frequency x recency, at age ``T``.

    Each cell is a customer with ``x`` repeat purchases (rows, 0 at the bottom), the last at
    recency ``t_x`` (columns, 0 to ``T``), observed for ``T`` time units; its colour is the
    prediction averaged over parameter draws. Customers with ``x = 0`` have ``t_x = 0`` only,
    so the rest of the bottom row is blank.

    Parameters
    ----------
    model : fitted continuous-time purchase model
    T : float
        Customer age (time since first purchase) the matrix is drawn for.
    quantity : {"p_alive", "expected_purchases"}
        What to colour by: probability of being alive at ``T``, or expected purchases in the
        next ``horizon`` time units.
    horizon : float
        Horizon of ``expected_purchases``.
    max_frequency : int
        Largest frequency shown.
    n_recency : int
        Number of recency values, evenly spaced on ``[0, T]``.
    recency : array_like, optional
        Explicit increasing recency values in ``[0, T]`` (replaces ``n_recency``).
    cmap : str
        Matplotlib colormap.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Its first collection is the ``QuadMesh``; ``get_array()`` gives the values
        (``max_frequency + 1`` rows by one column per recency, masked where impossible).
    """
    if quantity not in ("p_alive", "expected_purchases"):
        raise ValidationError(
            f"quantity must be 'p_alive' or 'expected_purchases', got {quantity!r}."
        )
    if not T > 0:
        raise ValidationError(f"T must be > 0, got {T}.")
    function = model._module_function(quantity)
    _require_continuous(function, model)
    frequency = np.arange(max_frequency + 1, dtype=float)
    if recency is None:
        recency = np.linspace(0.0, T, n_recency)
    recency = np.asarray(recency, dtype=float)
    if recency.ndim != 1 or (np.diff(recency) <= 0).any() or recency[0] < 0 or recency[-1] > T:
        raise ValidationError(f"recency must be increasing values in [0, T={T:g}].")
    x, t_x = (g.ravel() for g in np.meshgrid(frequency, recency, indexing="ij"))
    extra = {"t": horizon} if quantity == "expected_purchases" else {}
    values = function(_flat_params(model), x=x, t_x=t_x, T=np.full_like(x, T), **extra)
    grid = np.asarray(values).reshape(-1, x.size).mean(axis=0).reshape(frequency.size, -1)
    grid = np.ma.masked_where((frequency[:, None] == 0) & (recency[None, :] > 0), grid)

    ax = _axes(ax)
    mesh = ax.pcolormesh(recency, frequency, grid, cmap=cmap, shading="nearest")
    if quantity == "p_alive":
        mesh.set_clim(0.0, 1.0)
    label = (
        "P(alive)"
        if quantity == "p_alive"
        else f"expected purchases in next {_duration(model, horizon)}"
    )
    ax.figure.colorbar(mesh, ax=ax, label=label)
    ax.set_xlabel("recency t_x (time of last purchase)")
    ax.set_ylabel("frequency x (repeat purchases)")
    ax.set_title(f"{label}, customers of age T = {T:g}")
    return ax


def plot_p_alive_matrix(model, T: float, **kwargs) -> Axes:
    """P(alive) over frequency x recency (see :func:`plot_frequency_recency_matrix`)."""
    return plot_frequency_recency_matrix(model, T, quantity="p_alive", **kwargs)


def plot_expected_purchases_matrix(model, T: float, horizon: float = 1.0, **kwargs) -> Axes:
    """Expected purchases in the next ``horizon`` over frequency x recency (see above)."""
    return plot_frequency_recency_matrix(
        model, T, quantity="expected_purchases", horizon=horizon, **kwargs
    )


# ------------------------------------------------------------------------------------ value
def _mean_column(values, what: str) -> pd.Series:
    if isinstance(values, pd.DataFrame):
        require_columns(values, ["mean"], what)
        return values["mean"]
    if not isinstance(values, pd.Series):
        raise ValidationError(
            f"{what} must be a pandas Series (or a frame with a 'mean' column) indexed by "
            f"customer id, got {type(values).__name__}."
        )
    return values


def plot_value_deciles(
    predicted,
    actual: pd.Series,
    *,
    n_groups: int = 10,
    label: str = "model",
    value_name: str = "value",
    ax: Axes | None = None,
) -> Axes:
    """Mean predicted vs mean actual value in each decile of predicted value.

    Customers are ranked by ``predicted`` (ties in index order) and cut into ``n_groups``
    groups of equal size; group 1 holds the lowest predictions, group ``n_groups`` the
    highest. Bars show each group's mean predicted and mean actual value; a good model has
    pairs of equal height rising from left to right.

    Parameters
    ----------
    predicted : pandas.Series or pandas.DataFrame
        Per-customer prediction (a frame's ``mean`` column), indexed by customer id.
    actual : pandas.Series
        Per-customer actual value over the same window, same ids.
    n_groups : int
        Number of groups (10 for deciles).
    label : str
        Legend name of the prediction.
    value_name : str
        What is compared (axis label), e.g. "holdout purchases".
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Two bar containers, ``ax.containers[0]`` (predicted) and ``[1]`` (actual).
    """
    predicted = _mean_column(predicted, "predicted")
    actual = _mean_column(actual, "actual").reindex(predicted.index)
    if actual.isna().any():
        raise ValidationError(
            f"actual is missing {int(actual.isna().sum())} of the {len(predicted)} predicted "
            "customers; index both by the same customer ids."
        )
    if len(predicted) < n_groups:
        raise ValidationError(f"need at least n_groups={n_groups} customers, got {len(predicted)}.")
    rank = predicted.rank(method="first").to_numpy() - 1
    groups = (rank * n_groups // len(predicted)).astype(int)
    means = (
        pd.DataFrame({"predicted": predicted.to_numpy(float), "actual": actual.to_numpy(float)})
        .groupby(groups)
        .mean()
    )

    ax = _axes(ax)
    positions = np.arange(1, n_groups + 1)
    width = 0.4
    ax.bar(positions - width / 2, means["predicted"], width, color=MODEL_COLOR, label=label)
    ax.bar(positions + width / 2, means["actual"], width, color=ACTUAL_COLOR, label="actual")
    ax.set_xticks(positions)
    ax.set_xlabel(f"group of predicted {value_name} (1 = lowest, {n_groups} = highest)")
    ax.set_ylabel(f"mean {value_name} per customer")
    ax.set_title(f"Predicted vs actual {value_name} by group of predicted {value_name}")
    ax.legend(loc="upper left")
    return ax


def _baseline_value(baseline) -> float | None:
    if baseline is None:
        return None
    value = getattr(baseline, "ltv", baseline)
    if isinstance(value, pd.Series) or value is None:
        raise ValidationError(
            "baseline must give a single number (a float, or a RuleOfThumb with a scalar ltv "
            "such as variant='classic' or 'retention'); per-segment or per-customer rules "
            "have several."
        )
    return float(value)


def plot_ltv_distribution(
    clv,
    baseline=None,
    *,
    bins: int = 50,
    upper_quantile: float = 0.99,
    log_x: bool = False,
    interval: float | None = 0.9,
    ax: Axes | None = None,
) -> Axes:
    """Histogram of per-customer model CLV, against the rule of thumb's single number.

    Draws the histogram of each customer's expected CLV, a vertical line at the mean over
    customers (with its band over parameter draws when ``clv`` holds draws) and a vertical line
    at the baseline's LTV. Compare like with like: same margin and the same horizon.

    Parameters
    ----------
    clv : pandas.Series, pandas.DataFrame or array (chain, draw, customer)
        Per-customer CLV (e.g. :func:`models.clv.customer_lifetime_value`): a Series, a frame
        with ``mean``, or the draws (``return_draws=True``), whose per-customer means are
        plotted.
    baseline : float or RuleOfThumb, optional
        The rule of thumb's LTV (``RuleOfThumb.ltv`` must be a single number).
    bins : int
        Histogram bins.
    upper_quantile : float
        The x-axis stops at this quantile of customer CLV (or further, to show both lines);
        customers beyond are counted in a note, not drawn.
    log_x : bool
        Logarithmic x-axis with log-spaced bins (CLV is usually very skewed); needs positive
        values.
    interval : float, optional
        Band of the mean CLV over draws.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    draws_of_mean = None
    if isinstance(clv, pd.Series | pd.DataFrame):
        values = _mean_column(clv, "clv").to_numpy(dtype=float)
    else:
        array = np.asarray(clv, dtype=float)
        if array.ndim != 3:
            raise ValidationError(
                f"clv must be a Series, a frame with 'mean', or a (chain, draw, customer) "
                f"array; got an array of shape {array.shape}."
            )
        flat = array.reshape(-1, array.shape[-1])
        values = flat.mean(axis=0)
        draws_of_mean = flat.mean(axis=1)
    if not np.isfinite(values).all():
        raise ValidationError("clv has NaN or infinite values.")
    reference = _baseline_value(baseline)
    mean = float(values.mean())
    right = max(float(np.quantile(values, upper_quantile)), mean, reference or 0.0) * 1.05
    left = min(0.0, float(values.min()))

    edges = np.linspace(left, right, bins + 1)
    if log_x:
        if values.min() <= 0:
            raise ValidationError("log_x needs every CLV > 0; plot on a linear axis instead.")
        left = float(values.min())
        edges = np.geomspace(left, right, bins + 1)

    ax = _axes(ax)
    ax.hist(values, bins=edges, color="0.7", edgecolor="white")
    if log_x:
        ax.set_xscale("log")
    ax.axvline(mean, color=MODEL_COLOR, linewidth=2, label=f"model mean: {mean:,.2f}")
    if draws_of_mean is not None and interval is not None and draws_of_mean.size > 1:
        low, high = np.quantile(draws_of_mean, _draws.interval_bounds(interval))
        ax.axvspan(low, high, color=MODEL_COLOR, alpha=0.2, label=_interval_label(interval))
    if reference is not None:
        ax.axvline(
            reference,
            color=BASELINE_COLOR,
            linestyle="--",
            linewidth=2,
            label=f"rule of thumb: {reference:,.2f}",
        )
    beyond = int((values > right).sum())
    if beyond:
        ax.annotate(
            f"{beyond} customers above {right:,.0f} not shown",
            xy=(0.98, 0.6),
            xycoords="axes fraction",
            ha="right",
            fontsize="small",
        )
    ax.set_xlim(left, right)
    ax.set_xlabel("customer lifetime value")
    ax.set_ylabel("customers")
    ax.set_title(f"Distribution of model CLV ({values.size} customers)")
    ax.legend(loc="upper right")
    return ax


# --------------------------------------------------------------------------------- coverage
def plot_interval_coverage(
    coverage,
    *,
    n_customers: int | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Empirical vs nominal coverage of predictive intervals, with the diagonal.

    Points on the dotted diagonal mean intervals cover as often as they claim; below it they
    are too narrow. With ``n_customers``, the grey band is the 95 % sampling range of the
    empirical coverage of a correct model (normal approximation to the binomial).

    Parameters
    ----------
    coverage : mapping or pandas.Series or pandas.DataFrame
        Nominal level -> empirical coverage (e.g. :func:`models.evaluate.pit_coverage`); a
        DataFrame (levels as index) or a mapping of name -> such a mapping draws one line each.
    n_customers : int, optional
        Number of customers the coverage was measured on.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if isinstance(coverage, pd.DataFrame):
        lines = {str(c): coverage[c] for c in coverage.columns}
    elif isinstance(coverage, Mapping) and all(
        isinstance(v, Mapping | pd.Series) for v in coverage.values()
    ):
        lines = {str(k): pd.Series(v) for k, v in coverage.items()}
    else:
        lines = {"empirical": pd.Series(coverage)}
    ax = _axes(ax, figsize=(5.0, 5.0))
    ax.plot([0, 1], [0, 1], color="0.5", linestyle=":", label="nominal = empirical")
    if n_customers is not None:
        grid = np.linspace(0, 1, 201)
        half = stats.norm.ppf(0.975) * np.sqrt(grid * (1 - grid) / n_customers)
        ax.fill_between(
            grid,
            grid - half,
            grid + half,
            color="0.85",
            linewidth=0,
            label=f"95 % sampling range (n = {n_customers})",
        )
    for name, series in lines.items():
        series = series.sort_index()
        levels = series.index.to_numpy(dtype=float)
        values = series.to_numpy(dtype=float)
        if ((levels <= 0) | (levels >= 1) | (values < 0) | (values > 1)).any():
            raise ValidationError(f"coverage levels and values must lie in [0, 1] ({name}).")
        ax.plot(levels, values, "o-", label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("nominal coverage of the interval")
    ax.set_ylabel("share of actual outcomes inside")
    ax.set_title("Interval coverage")
    ax.legend(loc="upper left", fontsize="small")
    return ax


# ------------------------------------------------------------------- posterior predictive
def plot_purchase_count_check(
    model,
    data: pd.DataFrame,
    *,
    max_count: int = 7,
    weights: str | None = None,
    interval: float | None = 0.9,
    ax: Axes | None = None,
) -> Axes:
    """Customers with ``x = 0, 1, 2, ...`` repeat purchases: observed vs the model's expectation.

    The model's expected number of customers with ``k`` purchases is
    ``sum_i P(X(T_i) = k)`` (FHL05 eq. 8 for BG/NBD), and the last bar collects
    ``k >= max_count``; with parameter draws each bar gets an error bar (the central
    ``interval`` over draws) - a posterior predictive check of the calibration histogram
    ([GSV19]; FHL05 Figure 1).

    Parameters
    ----------
    model : fitted purchase model
        Any model with ``probability_of_purchases(params, n, t)`` (BG/BB uses periods).
    data : pandas.DataFrame
        Summary the model was fitted on.
    max_count : int
        First count pooled into the last bar.
    weights : str, optional
        Column giving how many customers each row stands for (pattern data such as the
        donations of :func:`models.datasets.load_donations`).
    interval : float, optional
        Error bars over parameter draws (ignored for a point fit).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Its two ``BarContainer`` s (in ``ax.containers``) hold the observed bars, then the
        model's.
    """
    pmf = model._module_function("probability_of_purchases")
    arrays = model._prediction_arrays(data)
    x = arrays["x"]
    w = validate_positive_integer_weights(data, weights)
    age = arrays["T"] if "T" in arrays else arrays["n"]
    ages, inverse = np.unique(age, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=w)
    params = _flat_params(model)
    per_k = [
        np.broadcast_to(pmf(params, k, ages), (_draws.n_draws(params), ages.size)) @ counts
        for k in range(max_count)
    ]
    expected = np.stack(per_k, axis=1)  # (draws, max_count)
    expected = np.concatenate([expected, w.sum() - expected.sum(axis=1, keepdims=True)], axis=1)
    mean, band = _band(expected, interval)
    observed = np.bincount(np.minimum(x, max_count).astype(int), w, minlength=max_count + 1)

    ax = _axes(ax)
    positions = np.arange(max_count + 1)
    width = 0.4
    ax.bar(positions - width / 2, observed, width, color=ACTUAL_COLOR, label="observed")
    errors = None if band is None else np.abs(np.stack(band) - mean)
    ax.bar(
        positions + width / 2,
        mean,
        width,
        color=MODEL_COLOR,
        yerr=errors,
        capsize=3,
        label="model" if band is None else f"model, {_interval_label(interval)}",
    )
    ax.set_xticks(positions, [*map(str, range(max_count)), f"{max_count}+"])
    ax.set_xlabel("repeat purchases in calibration")
    ax.set_ylabel("customers")
    ax.set_title("Purchase counts: observed vs model")
    ax.legend(loc="upper right")
    return ax


# ------------------------------------------------------------------------ ArviZ diagnostics
def _inference_data(model):
    import arviz as az

    idata = getattr(model, "idata", None)
    if idata is not None:
        return idata
    model._require_fitted()
    if model.n_draws < 2:
        raise ValidationError(
            "diagnostic plots need parameter draws: fit with method='nuts' (or 'advi'), or call "
            ".sample_laplace(draws=2000, random_seed=...) after a maximum-likelihood fit."
        )
    return az.from_dict(posterior=model.draws)


def plot_trace(model, **kwargs):
    """ArviZ trace plot of the model's draws (``model.idata``, or Laplace draws).

    Thin wrapper: ``arviz.plot_trace(idata, var_names=model.PARAMS, **kwargs)``; returns
    what ArviZ returns (an array of Axes).
    """
    import arviz as az

    kwargs.setdefault("var_names", list(model.PARAMS))
    return az.plot_trace(_inference_data(model), **kwargs)


def plot_posterior(model, **kwargs):
    """ArviZ posterior densities with HDI (``arviz.plot_posterior``) of the model's draws."""
    import arviz as az

    kwargs.setdefault("var_names", list(model.PARAMS))
    return az.plot_posterior(_inference_data(model), **kwargs)


def plot_pair(model, **kwargs):
    """ArviZ pair plot (``arviz.plot_pair``) of the model's draws: correlations between params."""
    import arviz as az

    kwargs.setdefault("var_names", list(model.PARAMS))
    return az.plot_pair(_inference_data(model), **kwargs)
