"""A new customer's lifetime value: its expectation per parameter draw, and simulated customers.

Shared by :mod:`experiments.spend_check`. Value is margin x spend, each purchase discounted
continuously from the time it is made: ``exp(-delta t)`` with ``delta = ln(1 + d)`` per year
converted to the data's time unit. The first purchase is at ``t = 0`` (undiscounted).

- :func:`expected_value_curve`: per parameter draw, the expected cumulative discounted margin
  of a new customer at each time of a grid, ``margin (S1 + E[Z] D(t))`` with ``S1`` the mean
  first-purchase spend, ``E[Z]`` the Gamma-Gamma mean spend ``p gamma / (q - 1)`` and
  ``D(t) = int_0^t exp(-delta u) dE[X(u)]`` (mid-point rule on the grid), where ``E[X(u)]``
  is the purchase model's expected repeat purchases of a new customer. Purchase count and
  spend are independent in the Gamma-Gamma model, so the product is exact.
- :func:`simulate_new_customers`: individual customers: a parameter draw, a purchase history
  over the horizon from the model's own summary simulator (``x`` repeat purchases, the last
  at ``t_x``), the first ``x - 1`` purchase times uniform on ``(0, t_x)`` (given the time of
  the last of them, earlier events of a Poisson process are uniform; the drop-out processes
  of these models do not depend on the event times), a spend rate ``nu ~ Gamma(q, gamma)``
  and transaction values ``Gamma(p, nu)``; the first purchase's value is resampled from the
  observed first purchases.
- :func:`payback_times`: the first time the cumulative curve reaches a cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

import numpy as np

from models import gamma_gamma


def time_grid(horizon: float) -> np.ndarray:
    """``0, 1, 2, ..., horizon`` in the data's time unit (the last step may be shorter)."""
    steps = np.arange(0.0, np.floor(horizon) + 1.0)
    return steps if steps[-1] == horizon else np.append(steps, horizon)


def expected_value_curve(
    module: ModuleType,
    purchase_draws: Mapping[str, np.ndarray],
    spend_draws: Mapping[str, np.ndarray],
    first_spend: np.ndarray,
    times: np.ndarray,
    delta: float,
    margin: float,
) -> np.ndarray:
    """Expected cumulative discounted margin of a new customer, ``(draw, time)``.

    Parameters
    ----------
    module : module
        Purchase model module with ``expected_purchases_new_customer(params, t)``.
    purchase_draws, spend_draws : mapping
        Flat parameter draws (``name -> (n_draws,)``), paired by position.
    first_spend : numpy.ndarray
        Mean first-purchase spend per draw, ``(n_draws,)``.
    times : numpy.ndarray
        Increasing grid starting at 0.
    delta : float
        Force of discounting per time unit.
    margin : float
        Share of revenue kept.
    """
    params = {k: np.asarray(v, dtype=float)[:, None] for k, v in purchase_draws.items()}
    with np.errstate(all="ignore"):
        expected = module.expected_purchases_new_customer(params, times[None, :])
    expected = np.broadcast_to(expected, (len(first_spend), len(times)))
    if not np.all(np.isfinite(expected)):
        raise FloatingPointError(
            "expected purchases of a new customer are not finite for some parameter draws"
        )
    middle = (times[1:] + times[:-1]) / 2
    increments = np.diff(expected, axis=1) * np.exp(-delta * middle)[None, :]
    discounted = np.concatenate([np.zeros((len(first_spend), 1)), increments.cumsum(axis=1)], 1)
    spend = gamma_gamma.mean_spend({k: np.asarray(v) for k, v in spend_draws.items()})
    return margin * (first_spend[:, None] + spend[:, None] * discounted)


def payback_times(curve: np.ndarray, times: np.ndarray, cost: float) -> np.ndarray:
    """First time each row of ``curve`` reaches ``cost`` (linear between grid points).

    0 when the first purchase alone covers it; ``inf`` when the horizon does not.
    """
    curve = np.atleast_2d(curve)
    reached = curve >= cost
    first = np.argmax(reached, axis=1)
    out = np.full(curve.shape[0], np.inf)
    hit = reached.any(axis=1)
    at_zero = hit & (first == 0)
    out[at_zero] = 0.0
    inner = hit & (first > 0)
    k = first[inner]
    rows = np.flatnonzero(inner)
    below, above = curve[rows, k - 1], curve[rows, k]
    share = (cost - below) / np.where(above > below, above - below, 1.0)
    out[inner] = times[k - 1] + share * (times[k] - times[k - 1])
    return out


def simulate_new_customers(
    module: ModuleType,
    purchase_draws: Mapping[str, np.ndarray],
    spend_draws: Mapping[str, np.ndarray],
    first_spends: np.ndarray,
    horizon: float,
    delta: float,
    margin: float,
    n_customers: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Discounted margin of ``n_customers`` simulated new customers over ``horizon``.

    Each customer uses one parameter draw picked at random (the same position in the
    purchase and spend draws), so the spread carries parameter and customer uncertainty.

    Returns
    -------
    dict
        ``ltv``, ``first_spend``, ``repeat_purchases``, ``draw`` (index of the draw used),
        one entry per simulated customer.
    """
    n_draws = len(next(iter(purchase_draws.values())))
    draw = rng.integers(n_draws, size=n_customers)
    params = {k: np.asarray(v, dtype=float)[draw] for k, v in purchase_draws.items()}
    summary = module.simulate(params, np.full(n_customers, float(horizon)), rng)
    x = summary["frequency"].to_numpy().astype(np.int64)
    t_x = summary["recency"].to_numpy()
    owner = np.repeat(np.arange(n_customers), x)
    times = rng.uniform(size=owner.size) * t_x[owner]
    last = np.cumsum(x)[x > 0] - 1
    times[last] = t_x[x > 0]
    spend = {k: np.asarray(v, dtype=float)[draw] for k, v in spend_draws.items()}
    nu = rng.gamma(spend["q"], 1.0 / spend["gamma"])
    values = rng.gamma(spend["p"][owner], 1.0 / nu[owner])
    repeat_value = np.bincount(
        owner, weights=values * np.exp(-delta * times), minlength=n_customers
    )
    first = rng.choice(np.asarray(first_spends, dtype=float), size=n_customers, replace=True)
    return {
        "ltv": margin * (first + repeat_value),
        "first_spend": first,
        "repeat_purchases": x,
        "draw": draw,
    }
