"""Value figures: predicted vs actual value by group, and model CLV against the rule of thumb.

References
----------
.. [KM] Kissmetrics (2014). "How to Calculate Lifetime Value": the rule of thumb
   ``LTV = S x C x P x t`` whose single number :func:`plot_ltv_distribution` draws against the
   distribution of model CLV (see :mod:`models.baseline`).

Both figures take per-customer values (a Series, or a frame with a ``mean`` column) indexed by
customer id; :func:`plot_ltv_distribution` also takes the CLV draws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from models import _draws, _validation
from models._validation import require_columns
from models.plots._common import (
    ACTUAL_COLOR,
    BASELINE_COLOR,
    MODEL_COLOR,
    _axes,
    _interval_label,
)

__all__ = ["plot_ltv_distribution", "plot_value_deciles"]


def _mean_column(values, what: str) -> pd.Series:
    if isinstance(values, pd.DataFrame):
        require_columns(values, ["mean"], what)
        return values["mean"]
    if not isinstance(values, pd.Series):
        raise _validation.plot_wrong_type(
            what, "a pandas Series (or a frame with a 'mean' column) indexed by customer id", values
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
        raise _validation.plot_actual_missing(int(actual.isna().sum()), len(predicted))
    if len(predicted) < n_groups:
        raise _validation.plot_too_few_customers(n_groups, len(predicted))
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
        raise _validation.plot_baseline_not_scalar()
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
            raise _validation.plot_clv_shape(array.shape)
        flat = array.reshape(-1, array.shape[-1])
        values = flat.mean(axis=0)
        draws_of_mean = flat.mean(axis=1)
    if not np.isfinite(values).all():
        raise _validation.plot_clv_not_finite()
    reference = _baseline_value(baseline)
    mean = float(values.mean())
    right = max(float(np.quantile(values, upper_quantile)), mean, reference or 0.0) * 1.05
    left = min(0.0, float(values.min()))

    edges = np.linspace(left, right, bins + 1)
    if log_x:
        if values.min() <= 0:
            raise _validation.plot_log_x_nonpositive()
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
