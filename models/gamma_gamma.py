"""Gamma-Gamma: a customer's average spend per transaction.

References
----------
.. [N025] Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma Model of Monetary Value
   (note 025). Equation numbers below refer to this note.
.. [FHL05] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using Iso-Value
   Curves for Customer Base Analysis. Journal of Marketing Research 42(4), 415-430
   (Sec. 2.1-2.2: the spend submodel and its independence check).

The model: the value of each of a customer's transactions is ``Gamma(p, nu)`` (shape ``p``,
rate ``nu``, mean ``zeta = p / nu``), and ``nu ~ Gamma(q, gamma)`` across customers. Data per
customer: ``x`` repeat transactions with mean value ``zbar`` (``monetary_value``). The sum of
``x`` values is ``Gamma(px, nu)``, so ``zbar ~ Gamma(px, nu x)``, and the posterior of ``nu``
given ``(x, zbar)`` is ``Gamma(px + q, gamma + x zbar)``: a customer's history updates the
population parameters ``(q, gamma)`` to ``(px + q, gamma + x zbar)``, which is all every
prediction here uses.

Only customers with ``x > 0`` carry spend information, so the model is fitted on repeat
customers only; the others are counted (``n_excluded_``) and predicted at the population
mean. The model assumes spend is independent of purchase frequency [FHL05, Sec. 2.2]; a fit
warns (:class:`SpendFrequencyCorrelationWarning`) when the two are visibly correlated.

Log-likelihood variants: [N025] reports ``LL = sum ln f(zbar | x)``, the density of the
*average* spend (-4055.9 on CDNOW). The density of the *total* spend ``x zbar`` differs by
``-ln x`` per customer (-4659 on CDNOW, the figure in [FHL05]). ``log_likelihood_`` is the
first; ``log_likelihood_total_spend_`` the second.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from models import _draws
from models._base import BaseModel
from models._ops import NUMPY, Ops
from models._stack import outside_stacklevel
from models._validation import (
    ValidationError,
    validate_spend_summary,
)

logger = logging.getLogger(__name__)

PARAMS = ("p", "q", "gamma")

#: |Pearson correlation| of frequency and mean spend among repeat customers above which a fit
#: warns that the independence assumption is doubtful. CDNOW's is 0.11 [FHL05, Sec. 2.2].
CORRELATION_THRESHOLD = 0.3


class SpendFrequencyCorrelationWarning(UserWarning):
    """Spend and purchase frequency are correlated; the Gamma-Gamma assumes they are not."""


def loglik(params: Mapping, data: Mapping, ops: Ops = NUMPY):
    """Per-customer log-likelihood of the mean spend ``zbar`` given ``x``, [N025] eq. 1b.

    ``f(zbar | x) = 1 / (zbar B(px, q)) (gamma / (gamma + x zbar))^q
    (x zbar / (gamma + x zbar))^(px)``, a beta distribution of the second kind, written as

    ``ln f = -ln zbar - ln B(px, q) - q ln(1 + x zbar / gamma) - px ln(1 + gamma / (x zbar))``

    (both logarithms of ratios below one, so finite for any x). Rows with ``x = 0`` carry no
    spend information and contribute 0 (their branch is kept finite with ``max(x, 1)``).
    This is the density of the *average*; subtract ``ln x`` for the total (:func:`loglik_total`).
    """
    p, q, gamma = (params[name] for name in PARAMS)
    x, z = data["x"], data["z"]
    repeat = x > 0
    x1 = np.maximum(x, 1.0)
    z1 = np.where(repeat, z, 1.0)
    total = x1 * z1
    value = (
        -np.log(z1)
        - ops.betaln(p * x1, q)
        - q * ops.log1p(total / gamma)
        - p * x1 * ops.log1p(gamma / total)
    )
    return ops.where(repeat, value, 0.0 * value)


def loglik_total(params: Mapping, data: Mapping, ops: Ops = NUMPY):
    """Per-customer log-likelihood of the *total* spend ``x zbar``: :func:`loglik` - ln x."""
    x = data["x"]
    return loglik(params, data, ops) - np.where(x > 0, np.log(np.maximum(x, 1.0)), 0.0)


def _refuse(bad, message: str) -> None:
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        raise ValidationError(message.format(n=int(bad.sum()), total=bad.size))


def mean_spend(params: Mapping):
    """Population mean spend per transaction ``E(Z) = p gamma / (q - 1)``, [N025] eq. 4.

    The mean of the inverse-gamma distribution of ``zeta = p / nu``; it exists only for
    ``q > 1``, and any draw with ``q <= 1`` raises :class:`~models.ValidationError`.
    """
    p, q, gamma = (np.asarray(params[name], dtype=float) for name in PARAMS)
    _refuse(
        q <= 1,
        "the population mean spend p*gamma/(q - 1) does not exist for q <= 1 ({n} of {total} "
        "parameter draws have q <= 1): the spend distribution's tail is too heavy. Use "
        "conditional_expected_average_spend for customers with repeat purchases, or refit "
        "(e.g. with a penalizer).",
    )
    return p * gamma / (q - 1)


def mean_spend_variance(params: Mapping):
    """Variance of mean spend across customers, ``(p gamma)^2 / ((q - 1)^2 (q - 2))``.

    [N025] eq. 4 (inverse-gamma variance); exists only for ``q > 2``.
    """
    p, q, gamma = (np.asarray(params[name], dtype=float) for name in PARAMS)
    _refuse(
        q <= 2,
        "the variance of mean spend across customers does not exist for q <= 2 ({n} of "
        "{total} parameter draws have q <= 2).",
    )
    return np.exp(2 * np.log(p * gamma) - 2 * np.log(q - 1) - np.log(q - 2))


def conditional_expected_average_spend(params: Mapping, x, z):
    """``E(Z | zbar, x) = p (gamma + x zbar) / (px + q - 1)``, [N025] eq. 5.

    Equivalently ``w E(Z) + (1 - w) zbar`` with ``w = (q - 1) / (px + q - 1)``: a weighted
    average of the population mean and the customer's own mean, computed in that form when
    ``q > 1`` (so it lies between the two). ``x = 0`` gives the population mean. It is the
    mean of ``p / nu`` under the posterior ``Gamma(px + q, gamma + x zbar)``, so it exists
    only for ``px + q > 1``: with ``q <= 1`` (no population mean) it is computed directly for
    repeat customers, and any customer with ``px + q <= 1`` raises ``ValidationError``.
    """
    p, q, gamma = (np.asarray(params[name], dtype=float) for name in PARAMS)
    x = np.asarray(x, dtype=float)
    z = np.where(x > 0, np.asarray(z, dtype=float), 0.0)
    shape = p * x + q
    _refuse(
        shape <= 1,
        "the expected spend does not exist where p*x + q <= 1 ({n} of {total} "
        "(draw, customer) pairs); with q <= 1 there is no population mean for customers "
        "without repeat purchases. Refit (e.g. with a penalizer) or drop those customers.",
    )
    safe = shape > 1  # refused above; keeps the masked branches finite
    weight = (q - 1) / np.where(safe, shape - 1, 1.0)
    population = p * gamma / np.where(q > 1, q - 1, 1.0)
    weighted = weight * population + (1 - weight) * z
    direct = p * (gamma + x * z) / np.where(safe, shape - 1, 1.0)
    return np.where(q > 1, weighted, direct)


def conditional_variance_average_spend(params: Mapping, x, z):
    """Posterior variance of a customer's mean spend ``zeta`` given ``(x, zbar)``.

    ``zeta = p / nu`` with ``nu ~ Gamma(px + q, gamma + x zbar)`` is inverse-gamma, so
    ``var = (p (gamma + x zbar))^2 / ((px + q - 1)^2 (px + q - 2))`` (the [N025] eq. 4
    variance at updated parameters), defined for ``px + q > 2``.
    """
    p, q, gamma = (np.asarray(params[name], dtype=float) for name in PARAMS)
    x = np.asarray(x, dtype=float)
    z = np.where(x > 0, np.asarray(z, dtype=float), 0.0)
    shape = p * x + q
    _refuse(
        shape <= 2,
        "the variance of expected spend does not exist where p*x + q <= 2 ({n} of {total} "
        "(draw, customer) pairs).",
    )
    return np.exp(
        2 * np.log(p) + 2 * np.log(gamma + x * z) - 2 * np.log(shape - 1) - np.log(shape - 2)
    )


def simulate_spend(
    params: Mapping, n_transactions, x, z, rng: np.random.Generator, size=None
) -> np.ndarray:
    """Draw the average value of each customer's next ``n_transactions`` transactions.

    The predictive distribution given history: ``nu ~ Gamma(px + q, gamma + x zbar)`` (the
    posterior), then the sum of ``n`` transaction values is ``Gamma(pn, nu)``, so their average
    is ``Gamma(pn, n nu)``. Customers with ``x = 0`` draw ``nu`` from the prior.

    Parameters
    ----------
    params : mapping
        ``p``, ``q``, ``gamma``: floats or arrays broadcasting with the customer arrays (e.g.
        parameter draws with a trailing customer axis).
    n_transactions : array_like
        Number of future transactions per customer (whole numbers >= 0; may itself be a draw
        from a purchase model). Where it is 0 the average is undefined and 0.0 is returned, so
        ``n * average`` is the total spend in every case.
    x, z : array_like
        Repeat transactions and their mean value (ignored where ``x = 0``).
    rng : numpy.random.Generator
        Source of randomness.
    size : int, optional
        Number of independent replicates, prepended as a leading axis.

    Returns
    -------
    numpy.ndarray
        Average spend per transaction, shape ``(size, *broadcast shape)``.
    """
    p, q, gamma = (np.asarray(params[name], dtype=float) for name in PARAMS)
    x = np.asarray(x, dtype=float)
    z = np.where(x > 0, np.asarray(z, dtype=float), 0.0)
    n = np.asarray(n_transactions, dtype=float)
    shape = np.broadcast_shapes(p.shape, q.shape, gamma.shape, x.shape, n.shape)
    if size is not None:
        shape = (int(size), *shape)
    nu = rng.gamma(p * x + q, 1.0 / (gamma + x * z), size=shape)
    n1 = np.maximum(n, 1.0)
    average = rng.gamma(p * n1, 1.0 / (n1 * nu), size=shape)
    return np.where(n > 0, average, 0.0)


def simulate(params: Mapping[str, float], x, rng: np.random.Generator) -> pd.DataFrame:
    """Draw spend summaries ``(x, zbar)`` from the Gamma-Gamma, given frequencies ``x``.

    Each customer gets ``nu ~ Gamma(q, gamma)`` and, when ``x > 0``, ``zbar ~ Gamma(px, x nu)``
    (the mean of ``x`` values ``Gamma(p, nu)``); ``zbar = 0`` when ``x = 0``.

    Returns
    -------
    pandas.DataFrame
        ``frequency``, ``monetary_value``, indexed by ``customer_id`` 0..n-1.
    """
    x = np.asarray(x, dtype=float)
    nu = rng.gamma(params["q"], 1.0 / params["gamma"], size=x.shape)
    x1 = np.maximum(x, 1.0)
    zbar = np.where(x > 0, rng.gamma(params["p"] * x1, 1.0 / (x1 * nu)), 0.0)
    return pd.DataFrame(
        {"frequency": x, "monetary_value": zbar},
        index=pd.RangeIndex(x.size, name="customer_id"),
    )


def spend_frequency_correlation(x, z, weights=None) -> float:
    """Pearson correlation of ``x`` and ``zbar`` (weighted by customer counts); NaN if undefined."""
    x, z = np.asarray(x, dtype=float), np.asarray(z, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if x.size < 3:
        return float("nan")
    dx = x - np.average(x, weights=w)
    dz = z - np.average(z, weights=w)
    sxx, szz = np.sum(w * dx * dx), np.sum(w * dz * dz)
    if sxx <= 0 or szz <= 0:
        return float("nan")
    return float(np.sum(w * dx * dz) / np.sqrt(sxx * szz))


class GammaGamma(BaseModel):
    """Gamma-Gamma spend model ([N025]; [FHL05]), fitted on repeat customers only.

    Fit on a summary with columns ``frequency`` (x, repeat transactions) and
    ``monetary_value`` (mean value of those transactions), one row per customer indexed by
    customer id. Customers with ``frequency = 0`` are excluded from the fit (counted in
    ``n_excluded_``) and predicted at the population mean.

    Examples
    --------
    >>> import models
    >>> from models.gamma_gamma import GammaGamma
    >>> cal = pd.read_csv(models.datasets.path("cdnow_customers_summary_with_transactions.csv"))
    >>> cal = cal.rename(columns={"x": "frequency", "zbar": "monetary_value"})
    >>> gg = GammaGamma().fit(cal)
    >>> gg.params.round(2).tolist(), gg.n_excluded_
    ([6.25, 3.74, 15.45], 1411.0)
    """

    PARAMS = PARAMS
    INITIAL = {"p": 1.0, "q": 1.0, "gamma": 1.0}
    _loglik = staticmethod(loglik)

    def _fit_arrays(self, data: pd.DataFrame) -> dict[str, np.ndarray]:
        return validate_spend_summary(data)

    def _prediction_arrays(self, data: pd.DataFrame) -> dict[str, np.ndarray]:
        arrays = validate_spend_summary(data)
        return {"x": arrays["x"], "z": arrays["z"]}

    def _select_fit_rows(self, arrays, weights):
        """Keep the repeat customers (``frequency > 0``), the only ones with spend information.

        Records how many customers were excluded (``n_excluded_``, also logged) and warns
        (:class:`SpendFrequencyCorrelationWarning`) when ``|corr(x, zbar)|`` among repeat
        customers exceeds :data:`CORRELATION_THRESHOLD`.
        """
        keep = arrays["keep"]
        if not keep.any():
            raise ValidationError(
                "frequency is 0 for every customer, so there is no repeat spend to fit the "
                "Gamma-Gamma model on; it needs customers with frequency > 0."
            )
        x, z, w = arrays["x"][keep], arrays["z"][keep], weights[keep]
        self.n_excluded_ = float(weights[~keep].sum())
        self.sum_log_frequency_ = float(np.sum(w * np.log(x)))
        self.spend_frequency_correlation_ = spend_frequency_correlation(x, z, w)
        if abs(self.spend_frequency_correlation_) > CORRELATION_THRESHOLD:
            warnings.warn(
                f"frequency and monetary_value are correlated among repeat customers "
                f"(Pearson r = {self.spend_frequency_correlation_:.3f}, |r| > "
                f"{CORRELATION_THRESHOLD}); the Gamma-Gamma model assumes spend is independent "
                "of purchase frequency, so its spend predictions may be biased.",
                SpendFrequencyCorrelationWarning,
                stacklevel=outside_stacklevel(),
            )
        logger.info(
            "GammaGamma: fitting on %g repeat customers (frequency > 0); %g customers with "
            "frequency = 0 excluded (no spend information).",
            w.sum(),
            self.n_excluded_,
        )
        return {"x": x, "z": z}, w

    @property
    def log_likelihood_total_spend_(self) -> float:
        """Log-likelihood of the *total* spend: the average-spend one minus ``sum(ln x)``."""
        return self.log_likelihood_ - self.sum_log_frequency_

    def summary(self, interval: float = 0.95) -> pd.DataFrame:
        """Estimates table (see :meth:`BaseModel.summary`); attrs say who was excluded."""
        table = super().summary(interval)
        table.attrs["n_excluded"] = self.n_excluded_
        table.attrs["note"] = (
            f"fitted on {self.n_customers_:g} repeat customers (frequency > 0); "
            f"{self.n_excluded_:g} customers with frequency = 0 excluded. log_likelihood is "
            "that of the average spend (Fader & Hardie note 025)."
        )
        if hasattr(self, "log_likelihood_total_spend_"):
            table.attrs["log_likelihood_total_spend"] = self.log_likelihood_total_spend_
        return table

    def conditional_expected_average_spend(
        self, data: pd.DataFrame, *, interval=None, return_draws: bool = False
    ):
        """Expected spend per future transaction of each customer, E(Z | zbar, x) (eq. 5)."""
        return self._per_customer(
            conditional_expected_average_spend,
            data,
            "expected_average_spend",
            interval=interval,
            return_draws=return_draws,
        )

    def conditional_variance_average_spend(self, data: pd.DataFrame):
        """Posterior variance of each customer's mean spend (see the module function)."""
        return self._per_customer(conditional_variance_average_spend, data, "variance_spend")

    def mean_spend(self, *, interval=None):
        """Population mean spend per transaction ``p gamma / (q - 1)`` (eq. 4).

        A float for a point fit; with ``interval``, a Series (mean, sd, lower, upper).
        """
        result = self._population(
            lambda params, t: mean_spend(params) * np.ones_like(t),
            0.0,
            "mean_spend",
            interval=interval,
        )
        return result if interval is None else result.iloc[0].rename("mean_spend")

    def mean_spend_variance(self) -> float:
        """Variance of mean spend across customers (needs q > 2)."""
        return self._population(
            lambda params, t: mean_spend_variance(params) * np.ones_like(t), 0.0, "variance"
        )

    def simulate_spend(
        self, n_transactions, data: pd.DataFrame, rng: np.random.Generator, size: int = 1
    ) -> np.ndarray:
        """Draw average spend of future transactions, ``(size, customers)``.

        Each replicate uses one parameter draw picked at random (the single estimate for a
        point fit), so replicates carry parameter and spend uncertainty.
        """
        self._require_fitted()
        arrays = self._prediction_arrays(data)
        flat = {n: v.reshape(-1) for n, v in self._draws.items()}
        pick = rng.integers(_draws.n_draws(self._draws), size=size)
        params = {n: v[pick][:, None] for n, v in flat.items()}
        return simulate_spend(params, n_transactions, arrays["x"], arrays["z"], rng)

    def simulate(self, x, rng: np.random.Generator) -> pd.DataFrame:
        """Simulate spend summaries at the fitted point estimates (see :func:`simulate`)."""
        self._require_fitted()
        return simulate(self.params_.to_dict(), x, rng)

    def to_dict(self):
        """See :meth:`BaseModel.to_dict`; adds the excluded count and ``sum(ln x)``."""
        out = super().to_dict()
        out["n_excluded"] = self.n_excluded_
        out["sum_log_frequency"] = self.sum_log_frequency_
        return out

    @classmethod
    def from_dict(cls, payload):
        """See :meth:`BaseModel.from_dict`."""
        model = super().from_dict(payload)
        model.n_excluded_ = payload.get("n_excluded")
        model.sum_log_frequency_ = payload.get("sum_log_frequency")
        return model
