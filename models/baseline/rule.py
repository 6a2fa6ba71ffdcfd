"""A fitted rule of thumb and its prediction of a future window, so it can be scored.

Predicting a future window of ``h`` months (so a rule can be scored on a holdout): a customer
buys ``C`` times a month while active, each order worth ``S``; the expected number of active
months ``L(h)`` in the window is

- observed lifetime, ``cap="lifetime"`` (default): ``min(h, t)``. The rule carries no notion of
  a customer's age, so it is applied as businesses apply it to their base: every customer is
  treated as at the start of an average relationship.
- observed lifetime, ``cap="remaining"``: ``clip(t - m(T), 0, h)``, the part of an average
  relationship not yet used up by the customer's age.
- retention lifetime: ``t (1 - r^(h / p))``, the expected active time of a geometric lifetime
  over the window (memoryless, so both caps agree); tends to ``t`` as ``h`` grows.
- basket x frequency: ``h`` (no lifetime term).

Predicted purchases are ``C L(h)`` and predicted value ``S C P L(h)``. S, C, t, r, p and
``m(.)`` (conversion to months) are defined in :mod:`models.baseline.ingredients`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models._validation import ValidationError, check_rows
from models.baseline.ingredients import (
    _customer_arrays,
    _positive_scalar,
    _segment_labels,
    months_per_unit,
)

__all__ = ["RuleOfThumb"]


@dataclass(frozen=True, eq=False)
class RuleOfThumb:
    """A fitted rule of thumb: its ingredients, its LTV and a window prediction.

    Attributes
    ----------
    variant : str
        One of ``VARIANTS``.
    S : float or pandas.Series
        Average order value (per segment label or per customer id for those variants).
    C : float or pandas.Series
        Purchases per month (idem).
    P : float
        Margin as a fraction of revenue.
    t : float, pandas.Series or None
        Lifetime in months (the horizon for ``basket_x_frequency``; None when no horizon).
    retention : float, pandas.Series or None
        Retention rate per ``retention_period`` months, when the lifetime comes from it.
    retention_period : float
        Period of the retention rate, in months.
    lifetime : str
        ``"observed"``, ``"retention"`` or ``"none"`` (basket x frequency).
    cap : str
        ``"lifetime"`` or ``"remaining"`` (see the module docstring).
    time_unit : str
        Time unit of the calibration summary (and of prediction horizons).
    segments : str, pandas.Series or None
        How customers were segmented (``per_segment`` only).
    formula : str
        The formula in words.
    """

    variant: str
    S: float | pd.Series
    C: float | pd.Series
    P: float
    t: float | pd.Series | None
    retention: float | pd.Series | None
    retention_period: float
    lifetime: str
    cap: str
    time_unit: str
    segments: str | pd.Series | None
    formula: str

    @property
    def ltv(self) -> float | pd.Series | None:
        """``S x C x P x t`` (per segment or customer where S, C are); None without t."""
        if self.t is None:
            return None
        return self.S * self.C * self.P * self.t

    def _ingredients(self, calibration: pd.DataFrame, arrays) -> dict[str, np.ndarray]:
        """S, C, t, r as arrays aligned with ``calibration``'s rows."""
        n = len(calibration)
        if self.variant == "per_segment":
            labels = _segment_labels(calibration, self.segments, arrays["x"])
            known = labels.isin(self.S.index).to_numpy()
            check_rows(
                calibration,
                "segments",
                f"must be one of the calibrated segments {list(self.S.index)}",
                ~known,
                {"segments": labels.to_numpy()},
            )
            out = {
                "S": self.S.reindex(labels).to_numpy(),
                "C": self.C.reindex(labels).to_numpy(),
                "t": self.t.reindex(labels).to_numpy(),
            }
            out["r"] = None if self.retention is None else self.retention.reindex(labels).to_numpy()
            return out
        if self.variant == "per_customer":
            missing = ~calibration.index.isin(self.S.index)
            check_rows(
                calibration,
                "customer_id",
                "must be a customer the per-customer rule was computed on",
                missing,
            )
            return {
                "S": self.S.reindex(calibration.index).to_numpy(),
                "C": self.C.reindex(calibration.index).to_numpy(),
                "t": np.full(n, self.t),
                "r": None if self.retention is None else np.full(n, self.retention),
            }
        return {
            "S": np.full(n, self.S),
            "C": np.full(n, self.C),
            "t": np.full(n, np.inf if self.t is None else self.t),
            "r": None if self.retention is None else np.full(n, self.retention),
        }

    def predict(self, calibration: pd.DataFrame, horizon: float) -> pd.DataFrame:
        """Each customer's predicted purchases and value over the next ``horizon`` time units.

        Parameters
        ----------
        calibration : pandas.DataFrame
            Calibration summary of the customers to predict (same columns as for fitting).
        horizon : float
            Window length in the rule's ``time_unit`` (e.g. 39 weeks for the CDNOW holdout).

        Returns
        -------
        pandas.DataFrame
            ``predicted_purchases`` (``C L(h)``) and ``predicted_value`` (``S C P L(h)``),
            indexed like ``calibration``; ``attrs`` hold variant, horizon, time unit, margin.
        """
        horizon = _positive_scalar("horizon", horizon)
        unit = getattr(calibration, "attrs", {}).get("time_unit", self.time_unit)
        if unit != self.time_unit:
            raise ValidationError(
                f"calibration is in time unit {unit!r} but the rule was computed in "
                f"{self.time_unit!r}; use summaries in the same unit."
            )
        arrays = _customer_arrays(calibration, self.time_unit)
        h = horizon * months_per_unit(self.time_unit)
        ing = self._ingredients(calibration, arrays)
        if self.lifetime == "none":
            active = np.full(len(calibration), h)
        elif self.lifetime == "retention":
            r = ing["r"]
            log_r = np.log(np.where(r > 0, r, 1.0))
            kept = np.where(r > 0, np.exp(h / self.retention_period * log_r), 0.0)
            active = ing["t"] * (1.0 - kept)
        elif self.cap == "remaining":
            active = np.clip(ing["t"] - arrays["T"], 0.0, h)
        else:
            active = np.minimum(h, ing["t"])
        purchases = ing["C"] * active
        frame = pd.DataFrame(
            {"predicted_purchases": purchases, "predicted_value": purchases * ing["S"] * self.P},
            index=calibration.index,
        )
        frame.attrs.update(
            variant=self.variant, horizon=horizon, time_unit=self.time_unit, margin=self.P
        )
        return frame
