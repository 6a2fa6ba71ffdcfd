"""Tracking plots: repeat transactions of the cohort over calendar time, actual vs model.

References
----------
.. [FHL05] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the
   Easy Way. Marketing Science 24(2), 275-284: Figure 2 (weekly repeat transactions), Figure 3
   (cumulative repeat transactions).
.. [N004] Hardie, B. G. S. (2005). Implementing the BG/NBD Model for Customer Base Analysis in
   Excel (note 004): the tracking forecast as a sum over cohorts of E[X(t)].

These figures need a continuous-time purchase model (:class:`~models.BetaGeo`, Pareto/NBD,
MBG/NBD) whose time unit is known (``model.time_unit_``, or ``time_unit=``).
"""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from models import _validation
from models._units import unit_days
from models._validation import require_columns, require_dataframe
from models.plots._common import (
    ACTUAL_COLOR,
    MODEL_COLOR,
    UNIT_NAMES,
    _axes,
    _band,
    _flat_params,
    _interval_label,
    _require_continuous,
    _time_unit,
)

__all__ = ["plot_cumulative_transactions", "plot_incremental_transactions", "tracking_table"]


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
        raise _validation.plot_period(period)
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
        raise _validation.plot_holdout_before_calibration(hold_end, cal_end)
    frame = frame[(frame["first"] <= cal_end) & (frame["day"] <= hold_end)]
    if frame.empty:
        raise _validation.plot_empty_cohort(cal_end)
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
