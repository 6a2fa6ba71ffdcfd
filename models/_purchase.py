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
        return self._population(
            self._module_function("expected_purchases_new_customer"),
            t,
            "expected_purchases_new_customer",
            interval=interval,
        )

    def probability_of_purchases(self, n: int, t, *, interval=None):
        """P(X(t) = n) for a newly acquired customer."""
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
