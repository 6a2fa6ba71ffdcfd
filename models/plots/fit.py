"""Purchase-model fit: holdout purchases by calibration frequency, and purchase counts.

References
----------
.. [FHL05] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the
   Easy Way. Marketing Science 24(2), 275-284: Figure 1 (histogram of calibration repeat
   purchases), Figure 4 (conditional expectations of holdout purchases by calibration
   frequency).
.. [GSV19] Gabry, J., Simpson, D., Vehtari, A., Betancourt, M. & Gelman, A. (2019).
   Visualization in Bayesian Workflow. JRSS A 182(2): posterior predictive checks.

Both figures take any fitted purchase model; the purchase-count check also takes BG/BB.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from models import _draws, _validation
from models._patterns import unique_rows
from models._validation import (
    require_columns,
    require_dataframe,
    validate_positive_integer_weights,
)
from models.plots._common import (
    ACTUAL_COLOR,
    MODEL_COLOR,
    _axes,
    _band,
    _duration,
    _flat_params,
    _interval_label,
)

__all__ = ["plot_conditional_expectations", "plot_purchase_count_check"]


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
    group_of = patterns.pop("_group").astype(int)
    for part in _draws.chunk_slices(group_of.size, n_draws):
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
        raise _validation.plot_wrong_type(
            "holdout", "a pandas Series or DataFrame indexed by customer id", holdout
        )
    if horizon is None:
        raise _validation.plot_horizon_unknown()
    actual = holdout.reindex(calibration.index)
    if actual.isna().any():
        missing = calibration.index[actual.isna().to_numpy()]
        raise _validation.plot_holdout_missing(missing, len(calibration))
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
