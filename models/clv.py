"""Customer lifetime value: a purchase model and a spend model combined, with uncertainty.

Value is to the business: revenue times a user-given ``margin`` (``P`` of the rule of thumb;
default 1.0, i.e. revenue). Two quantities:

- **Fixed-horizon CLV** over ``horizon`` time units, in steps of ``step`` units, discounted at
  the end of each step::

      CLV = margin * sum_k  E[spend] * (E[Y(t_k)] - E[Y(t_(k-1))]) / (1 + d_s)^(t_k / s)

  where ``t_k = k s`` (the last step ends at ``horizon``, so it may be shorter and is
  discounted at its own end), ``E[Y(t)]`` is the model's conditional expected purchases in
  the next ``t`` units and ``d_s`` the discount rate per step. With no discounting and one
  step this is exactly expected purchases x expected spend x margin.
- **Residual lifetime value** with continuous discounting at force ``delta`` per time unit::

      RLV = margin * E[spend] * DERT,   DERT = int_0^inf e^(-delta t) dE[Y(t)]
          = int_0^inf delta e^(-delta t) E[Y(t)] dt  (by parts)

  evaluated as ``DERT ~ sum_i w_i E[Y(u_i / delta)]`` with ``u = delta t`` and the
  midpoint rule in ``ln u`` (:func:`_dert_nodes`): one mechanism for every purchase model
  (for the Pareto/NBD it reproduces the closed-form DERT of Fader, Hardie & Lee 2005, JMR
  eq. 2).

Uncertainty: every quantity is computed per parameter draw. Purchase-model and spend-model
draws are *paired* (draw i of one with draw i of the other), never averaged first, so the
interval carries both purchase and spend parameter uncertainty. A point fit is one draw.

Units: ``horizon`` and ``step`` are in the summary's time unit (``attrs["time_unit"]``);
``discount_rate`` is the rate per ``discount_period`` (a time-unit code, default one year),
converted with the exact unit lengths of :data:`models._units.TIME_UNITS`, never a 30-day
month.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models import _draws, _spark
from models._patterns import summarize_by_pattern, unique_rows
from models._units import unit_days, unit_ratio
from models._validation import (
    ValidationError,
    check_margin,
    check_number,
    check_positive_whole,
    time_unit_conflict,
)


def _time_unit(model, data: pd.DataFrame, time_unit: str | None) -> str:
    """The summary's time unit (its attrs, else ``time_unit``, else the fit's), checked.

    ``time_unit`` names the unit of a summary that records none; it may not contradict the
    summary's ``attrs["time_unit"]``, and the unit must be the fit's.
    """
    recorded = data.attrs.get("time_unit")
    if time_unit is not None and recorded is not None and time_unit != recorded:
        raise time_unit_conflict(time_unit, recorded)
    unit = recorded or time_unit or getattr(model, "time_unit_", None)
    if unit is None:
        raise ValidationError(
            "the time unit of the summary is unknown: pass time_unit='W' (or 'D', 'M', 'Y'), "
            "or build the summary with models.rfm_summary, which records it."
        )
    unit_days(unit)  # a known code
    model._check_time_unit(unit)
    return unit


def _paired_draws(purchase_model, spend_model) -> tuple[dict, dict]:
    """Flatten both models' draws to ``(1, n)`` and pair them (a single draw broadcasts)."""
    flat = []
    for model in (purchase_model, spend_model):
        model._require_fitted()
        flat.append({k: v.reshape(1, -1) for k, v in model._draws.items()})
    n_p, n_s = (_draws.n_draws(f) for f in flat)
    if n_p != n_s and 1 not in (n_p, n_s):
        raise ValidationError(
            f"the purchase model has {n_p} parameter draws and the spend model {n_s}; pairing "
            "needs equal numbers (or a point fit on one side). Fit both with the same chains "
            "and draws, or draw the same number of Laplace draws."
        )
    return flat[0], flat[1]


def _evaluators(purchase_model, spend_model, params_p: dict, params_s: dict, data):
    """Per-pattern evaluators of expected purchases and expected spend, and their arrays.

    Both models' customer arrays are joined (prefixed ``p_`` and ``s_``) so CLV is evaluated
    once per unique joint pattern.
    """
    purchase_fn = purchase_model._module_function("expected_purchases")
    spend_fn = spend_model._module_function("conditional_expected_average_spend")
    arrays = {f"p_{k}": v for k, v in purchase_model._prediction_arrays(data).items()}
    arrays |= {f"s_{k}": v for k, v in spend_model._prediction_arrays(data).items()}
    p_params = _draws.with_customer_axis(params_p)
    s_params = _draws.with_customer_axis(params_s)

    def own(patterns: dict, prefix: str) -> dict:
        return {k.removeprefix(prefix): v for k, v in patterns.items() if k.startswith(prefix)}

    def purchases(t: float | np.ndarray, patterns: dict) -> np.ndarray:
        return purchase_fn(p_params, t, **own(patterns, "p_"))

    def spend(patterns: dict) -> np.ndarray:
        return spend_fn(s_params, **own(patterns, "s_"))

    return purchases, spend, arrays


def _discount_per_step(discount_rate: float, discount_period: str, unit: str, step: float):
    check_number(discount_rate, "discount_rate")
    steps_per_period = unit_ratio(discount_period, unit) / step
    return (1 + discount_rate) ** (1 / steps_per_period) - 1


@dataclass(frozen=True)
class _Plan:
    """What a fixed-horizon computation needs, checked once."""

    rate: float
    step: float
    ends: np.ndarray
    params_p: dict
    params_s: dict
    purchases: Callable
    spend: Callable
    arrays: dict


def _fixed_horizon(
    purchase_model,
    spend_model,
    data,
    horizon,
    discount_rate,
    discount_period,
    margin,
    step,
    time_unit,
) -> _Plan:
    """Validate a fixed-horizon request and prepare its steps, discount and evaluators."""
    check_margin(margin)
    check_number(horizon, "horizon", zero=False)
    check_number(step, "step", zero=False)
    horizon, step = float(horizon), float(step)
    unit = _time_unit(purchase_model, data, time_unit)
    rate = _discount_per_step(discount_rate, discount_period, unit, step)
    params_p, params_s = _paired_draws(purchase_model, spend_model)
    purchases, spend, arrays = _evaluators(purchase_model, spend_model, params_p, params_s, data)
    # Whole steps, the last one ending at horizon (shorter when step does not divide it; a
    # remainder below 1e-12 of a step is rounding, not a step).
    n_steps = max(1, int(np.ceil(horizon / step * (1 - 1e-12))))
    ends = np.minimum(step * np.arange(1.0, n_steps + 1), horizon)
    return _Plan(rate, step, ends, params_p, params_s, purchases, spend, arrays)


def _discount_factors(plan: _Plan) -> np.ndarray:
    """Discount factor at each step end: ``(1 + rate)^-(t_k / step)``.

    ``t_k / step`` is ``k`` for whole steps; a last, shorter step is discounted at its own
    end, not at a whole step's.
    """
    return np.exp(-(plan.ends / plan.step) * np.log1p(plan.rate))


def customer_lifetime_value(
    purchase_model,
    spend_model,
    data: pd.DataFrame,
    *,
    horizon: float,
    discount_rate: float = 0.0,
    discount_period: str = "Y",
    margin: float = 1.0,
    step: float = 1.0,
    time_unit: str | None = None,
    interval: float | None = None,
    return_draws: bool = False,
):
    """Discounted value of each customer over the next ``horizon`` time units.

    Parameters
    ----------
    purchase_model : BetaGeo, ParetoNBD, ModifiedBetaGeo
        Fitted purchase model (point, Laplace or Bayesian).
    spend_model : GammaGamma
        Fitted spend model.
    data : pandas.DataFrame
        Summary with the columns both models need (``frequency``, ``recency``, ``T``,
        ``monetary_value``), indexed by customer id.
    horizon : float
        Length of the future window, in the summary's time unit.
    discount_rate : float
        Discount rate per ``discount_period`` (e.g. 0.10 a year).
    discount_period : str
        Time-unit code of the discount rate (default ``"Y"``).
    margin : float
        Share of revenue kept as profit (``P``), default 1.0 (revenue).
    step : float
        Cash-flow step in time units (default 1 unit).
    time_unit : str, optional
        The summary's unit when its ``attrs`` record none; it may not contradict them.
    interval : float, optional
        Central interval over parameter draws (needs draws on at least one model).
    return_draws : bool
        Return the ``(chain, draw, customer)`` array.

    Returns
    -------
    pandas.Series or pandas.DataFrame or xarray.DataArray
        Indexed by the caller's customer ids.
    """
    if _spark.is_spark_dataframe(data):  # per-customer values computed in Spark
        return _spark.lifetime_value(
            customer_lifetime_value,
            purchase_model,
            spend_model,
            data,
            "clv",
            horizon=horizon,
            discount_rate=discount_rate,
            discount_period=discount_period,
            margin=margin,
            step=step,
            time_unit=time_unit,
            interval=interval,
            return_draws=return_draws,
        )
    plan = _fixed_horizon(
        purchase_model,
        spend_model,
        data,
        horizon,
        discount_rate,
        discount_period,
        margin,
        step,
        time_unit,
    )

    # sum_k D_k (E[Y(t_k)] - E[Y(t_(k-1))]) = sum_k (D_k - D_(k+1)) E[Y(t_k)], with no term
    # k + 1 after the last step: one call evaluates every step's E[Y]. D_k - D_(k+1) =
    # -D_k expm1(-(t_(k+1) - t_k) / step * ln(1 + rate)) is formed without that subtraction.
    discount = _discount_factors(plan)
    gaps = np.diff(plan.ends) / plan.step
    weights = np.append(-discount[:-1] * np.expm1(-gaps * np.log1p(plan.rate)), discount[-1])

    def value(patterns: dict) -> np.ndarray:
        purchases = plan.purchases(_horizon_axis(plan.ends), patterns)
        return margin * _weighted_sum(weights, purchases) * plan.spend(patterns)

    return _finish(
        value,
        plan.arrays,
        data,
        plan.params_p,
        plan.params_s,
        interval,
        return_draws,
        "clv",
        plan.ends.size,
    )


def residual_lifetime_value(
    purchase_model,
    spend_model,
    data: pd.DataFrame,
    *,
    discount_rate: float,
    discount_period: str = "Y",
    margin: float = 1.0,
    time_unit: str | None = None,
    n_nodes: int = 28,
    interval: float | None = None,
    return_draws: bool = False,
):
    """Discounted value of each customer's whole remaining lifetime (DERT x spend x margin).

    ``DERT = int_0^inf e^(-u) E[Y(u / delta)] du ~ sum_i w_i E[Y(u_i / delta)]`` over
    ``n_nodes`` nodes of the midpoint rule in ``ln u`` (:func:`_dert_nodes`), where
    ``delta = ln(1 + discount_rate)`` per ``discount_period``, converted to the summary's time
    unit. The error depends on the discount over a customer's time scale (``delta`` times
    ``alpha + T`` or ``beta + T``), not on the unit. Worst relative error measured on CDNOW
    (weekly; Pareto/NBD against the closed-form DERT, BG/NBD and MBG/NBD against 200 nodes
    and adaptive quadrature, every customer plus ``T = 0.001`` and 2,000-purchase ones):

    ========  ==============  ===========  =============
    n_nodes   1-30 % a year   0.1 % a year 0.01 % a year
    ========  ==============  ===========  =============
    28        6e-8            3e-6         2e-5
    40        7e-10           5e-9         2e-7
    64        3e-13           2e-12        4e-12
    ========  ==============  ===========  =============

    Raise ``n_nodes`` for more accuracy or lower rates; the time grows about linearly. Other
    parameters as in :func:`customer_lifetime_value`.
    """
    nodes, weights = _dert_nodes(n_nodes)
    if _spark.is_spark_dataframe(data):  # per-customer values computed in Spark
        return _spark.lifetime_value(
            residual_lifetime_value,
            purchase_model,
            spend_model,
            data,
            "residual_value",
            discount_rate=discount_rate,
            discount_period=discount_period,
            margin=margin,
            time_unit=time_unit,
            n_nodes=n_nodes,
            interval=interval,
            return_draws=return_draws,
        )
    check_margin(margin)
    check_number(discount_rate, "discount_rate")
    if discount_rate <= 0:
        raise ValidationError(
            "discount_rate must be > 0 for residual lifetime value (undiscounted lifetime "
            "purchases can be infinite); use customer_lifetime_value for a fixed horizon."
        )
    unit = _time_unit(purchase_model, data, time_unit)
    delta = np.log1p(discount_rate) / unit_ratio(discount_period, unit)
    params_p, params_s = _paired_draws(purchase_model, spend_model)
    purchases, spend, arrays = _evaluators(purchase_model, spend_model, params_p, params_s, data)

    def value(patterns: dict) -> np.ndarray:
        dert = _weighted_sum(weights, purchases(_horizon_axis(nodes / delta), patterns))
        return margin * dert * spend(patterns)

    return _finish(
        value,
        arrays,
        data,
        params_p,
        params_s,
        interval,
        return_draws,
        "residual_value",
        nodes.size,
    )


#: The DERT rule's nodes lie in ``ln u <= 3.8`` (``e^-u < 4e-20`` beyond), ``n`` of them spaced
#: ``_DERT_SPREAD / sqrt(n)`` apart, so that the range (``_DERT_SPREAD sqrt(n)``) and the
#: resolution grow together as ``n_nodes`` is raised.
_LOG_U_TOP, _DERT_SPREAD = 3.8, 2.2
#: Fewer nodes than this cannot resolve E[Y]'s rise (1 node: 3x too large on CDNOW).
_MIN_NODES = 8


def _dert_nodes(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``u_i`` and weights ``w_i`` with ``sum_i w_i f(u_i) ~ int_0^inf e^(-u) f(u) du``.

    With ``u = e^v`` the integral is ``int e^(v - e^v) f(e^v) dv`` over the real line; the
    rule is the midpoint rule on ``n_nodes`` equal cells of width ``h`` below
    ``v = ln 45``: nodes ``u_i = e^(v_i)``, weights ``h e^(v_i - u_i)``, finite for any
    ``n_nodes``. Below the lowest cell, ``u < u_low``, ``f`` is taken linear (``E[Y(t)]`` is
    ``t E[Y]'(0) + O(t^2)``), which adds ``u_low^2 / (2 u_0)`` to the first weight. For an
    integrand analytic in a strip around the real line, as ``E[Y(u / delta)]`` is for every
    purchase model here, the error of such a rule falls like ``exp(-pi^2 / h)``, and the rise
    of ``E[Y]`` over the model's time scale is only a shift in ``v``: low rates need a wider
    range, not a finer step. Gauss-Laguerre in ``u`` (used before) converged only slowly at low
    rates (2.7e-4 relative error at 1 % a year with 64 nodes on CDNOW), and numpy's weights
    are NaN from 187 nodes on.
    """
    check_positive_whole(n_nodes, "n_nodes", 28, smallest=_MIN_NODES)
    step = _DERT_SPREAD / np.sqrt(n_nodes)
    low = _LOG_U_TOP - step * n_nodes
    log_u = low + step * (np.arange(n_nodes) + 0.5)
    nodes = np.exp(log_u)
    weights = step * np.exp(log_u - nodes)
    weights[0] += np.exp(2 * low) / (2 * nodes[0])  # int_0^(e^low) e^-u f(u_0) u / u_0 du
    return nodes, weights


def _horizon_axis(horizons: np.ndarray) -> np.ndarray:
    """Horizons on a leading axis before (chain, draw, customer), for one purchases call."""
    return np.asarray(horizons, dtype=float).reshape(-1, 1, 1, 1)


def _weighted_sum(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``sum_k weights[k] values[k]``, without BLAS (whose idle threads spin on a busy machine)."""
    return np.einsum("k,k...->...", weights, values)


def _finish(value, arrays, data, params_p, params_s, interval, return_draws, name, n_horizons):
    n_draws = max(_draws.n_draws(params_p), _draws.n_draws(params_s))
    if interval is not None and n_draws < 2:
        raise ValidationError(
            "interval needs parameter draws, but both models are point fits: call "
            ".sample_laplace(...) on them or fit with method='nuts'."
        )
    return summarize_by_pattern(
        value, arrays, (1, n_draws), data.index, name, interval, return_draws, n_horizons
    )


def cash_flow_table(
    purchase_model,
    spend_model,
    data: pd.DataFrame,
    *,
    horizon: float,
    discount_rate: float = 0.0,
    discount_period: str = "Y",
    margin: float = 1.0,
    step: float = 1.0,
    time_unit: str | None = None,
    interval: float = 0.9,
) -> pd.DataFrame:
    """Expected cash flows of the whole customer base, step by step, with intervals.

    For each step ``k`` ending at ``k * step``: expected purchases of all customers in the
    step, their value (``margin`` x spend), and that value discounted as in
    :func:`customer_lifetime_value`. Totals are formed draw by draw (purchase and spend draws
    paired), so each row's interval is that of the whole base. The discounted column sums to
    the total of :func:`customer_lifetime_value` over customers.

    Returns
    -------
    pandas.DataFrame
        Indexed by the step's end time; columns ``purchases``, ``value``,
        ``discounted_value`` (means over draws) and ``discounted_lower`` /
        ``discounted_upper`` (central ``interval``).
    """
    plan = _fixed_horizon(
        purchase_model,
        spend_model,
        data,
        horizon,
        discount_rate,
        discount_period,
        margin,
        step,
        time_unit,
    )
    ends, purchases = plan.ends, plan.purchases
    discount = _discount_factors(plan)
    patterns, inverse = unique_rows(plan.arrays)
    customers_per_pattern = np.bincount(inverse)
    spend_draws = plan.spend(patterns)
    rows, previous = [], 0.0
    for k, end in enumerate(ends, start=1):
        current = purchases(end, patterns)
        in_step = (current - previous) * customers_per_pattern
        previous = current
        count = in_step.sum(axis=-1).ravel()
        value = margin * (in_step * spend_draws).sum(axis=-1).ravel()
        discounted = value * discount[k - 1]
        lower, upper = np.quantile(discounted, _draws.interval_bounds(interval))
        rows.append(
            {
                "end": end,
                "purchases": count.mean(),
                "value": value.mean(),
                "discounted_value": discounted.mean(),
                "discounted_lower": lower,
                "discounted_upper": upper,
            }
        )
    return pd.DataFrame(rows).set_index("end")


def total_value(per_customer_draws, interval: float = 0.9) -> pd.Series:
    """Sum over customers of a ``(chain, draw, customer)`` array, summarised over draws.

    Sums are taken draw by draw, so the interval reflects the joint uncertainty of the
    whole customer base (not a sum of per-customer intervals).
    """
    totals = np.asarray(per_customer_draws).sum(axis=-1).ravel()
    lower, upper = np.quantile(totals, _draws.interval_bounds(interval))
    return pd.Series(
        {
            "mean": totals.mean(),
            "sd": totals.std(ddof=1) if totals.size > 1 else 0.0,
            "lower": lower,
            "upper": upper,
        },
        name=f"total ({interval:.0%} interval)",
    )
