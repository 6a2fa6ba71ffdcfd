"""The predictions every continuous-time purchase model offers, written once.

BG/NBD, Pareto/NBD and MBG/NBD each define, in their own module, module-level functions with
the same names and signatures (``expected_purchases(params, t, x, t_x, T)``, ``p_alive``,
``conditional_probability_of_purchases``, ``expected_purchases_new_customer``,
``probability_of_purchases``, ``simulate``); their docstrings carry the formulas and equation
numbers. This class exposes them as methods, per customer and over parameter draws, by looking
the functions up in the model's module.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models._base import BaseModel
from models._validation import check_count, check_horizon


def transactions_from_summary(summary: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A transaction log consistent with simulated summaries (``frequency``, ``recency``).

    Every customer buys at time 0; a customer with ``x`` repeat purchases, the last at
    ``t_x``, makes the other ``x - 1`` at times drawn uniformly on ``(0, t_x)``: given the
    number of events of a Poisson process and the time of the last one, the earlier event
    times are independent uniforms. Drop-out (BG/NBD, MBG/NBD) or a lifetime (Pareto/NBD)
    does not change this, so the log has exactly the distribution the model implies.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` and ``t`` (time since the first purchase, in the summary's unit),
        sorted by customer and time.
    """
    x = summary["frequency"].to_numpy(dtype=int)
    t_x = summary["recency"].to_numpy(dtype=float)
    ids = summary.index.to_numpy()
    inner = np.maximum(x - 1, 0)
    owner = np.repeat(np.arange(x.size), inner)
    times = np.concatenate(
        [np.zeros(x.size), t_x[x > 0], rng.uniform(0.0, 1.0, owner.size) * t_x[owner]]
    )
    who = np.concatenate([np.arange(x.size), np.flatnonzero(x > 0), owner])
    order = np.lexsort((times, who))
    return pd.DataFrame({"customer_id": ids[who[order]], "t": times[order]})


class ContinuousPurchaseModel(BaseModel):
    """Shared per-customer and new-customer predictions (see the module docstring)."""

    def expected_purchases(
        self, t: float, data: pd.DataFrame, *, interval=None, return_draws: bool = False
    ):
        """Expected number of purchases of each customer in the next ``t`` time units.

        Parameters
        ----------
        t : float
            Horizon, in the summary's time unit.
        data : pandas.DataFrame
            Summary with ``frequency``, ``recency``, ``T``.
        interval : float, optional
            Coverage of a central interval over parameter draws (needs draws).
        return_draws : bool
            Return the ``(chain, draw, customer)`` array instead of a summary.

        Returns
        -------
        pandas.Series or pandas.DataFrame or xarray.DataArray
            Indexed by the caller's customer ids, in the caller's order.
        """
        check_horizon(t, scalar=True)
        return self._per_customer(
            self._module_function("expected_purchases"),
            data,
            "expected_purchases",
            interval=interval,
            return_draws=return_draws,
            t=t,
        )

    def p_alive(self, data: pd.DataFrame, *, interval=None, return_draws: bool = False):
        """Probability that each customer is still active at the end of observation."""
        return self._per_customer(
            self._module_function("p_alive"),
            data,
            "p_alive",
            interval=interval,
            return_draws=return_draws,
        )

    def conditional_probability_of_purchases(
        self, n: int, t: float, data: pd.DataFrame, *, interval=None, return_draws: bool = False
    ):
        """P(exactly ``n`` purchases in the next ``t`` time units) for each customer."""
        check_count(n)
        check_horizon(t, scalar=True)
        return self._per_customer(
            self._module_function("conditional_probability_of_purchases"),
            data,
            "probability_of_purchases",
            interval=interval,
            return_draws=return_draws,
            n=n,
            t=t,
        )

    def expected_purchases_new_customer(self, t, *, interval=None):
        """Expected repeat purchases of a newly acquired customer in ``(0, t]``."""
        check_horizon(t)
        return self._population(
            self._module_function("expected_purchases_new_customer"),
            t,
            "expected_purchases_new_customer",
            interval=interval,
        )

    def probability_of_purchases(self, n: int, t, *, interval=None):
        """P(X(t) = n) for a newly acquired customer."""
        check_count(n)
        check_horizon(t)
        function = self._module_function("probability_of_purchases")
        return self._population(
            lambda params, t: function(params, n, t),
            t,
            "probability_of_purchases",
            interval=interval,
        )

    def simulate(self, T, rng: np.random.Generator) -> pd.DataFrame:
        """Simulate customer summaries at the fitted point estimates (module's ``simulate``)."""
        self._require_fitted()
        return self._module_function("simulate")(self.params_.to_dict(), T, rng)

    def simulate_transactions(self, T, rng: np.random.Generator) -> pd.DataFrame:
        """Simulate a transaction log (``customer_id``, ``t``) at the fitted point estimates.

        See :func:`transactions_from_summary`; ``T`` gives each customer's observation length.
        """
        return transactions_from_summary(self.simulate(T, rng), rng)
