"""MBG/NBD: the modified beta-geometric / negative binomial purchase model.

References
----------
.. [BDF07] Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). Empirical validation and
   comparison of models for customer base analysis. International Journal of Research in
   Marketing 24(3), 201-209.
.. [HW07] Hoppe, D. & Wagner, U. (2007). Customer base analysis: the case for a central
   variant of the Betageometric/NBD model. Marketing: Journal of Research and Management
   (the same model, derived independently).
.. [WH08] Wagner, U. & Hoppe, D. (2008). Erratum on the MBG/NBD model. International Journal
   of Research in Marketing 25(3), 225-226 (corrected conditional expectation).
.. [FHL05] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the
   Easy Way. Marketing Science 24(2), 275-284 (the BG/NBD, see :mod:`models.bgnbd`).
   Equation numbers below refer to this paper.

The model: while active, a customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)``; right
after the first purchase *and* after each repeat purchase the customer drops out with
probability ``p ~ Beta(a, b)``. Unlike the BG/NBD, a customer with no repeat purchase may
already be inactive, so P(alive) < 1 for ``x = 0``.

One formula, many uses. Given the history ``(x, t_x, T)``, a customer alive at ``T`` has
posterior ``lambda ~ Gamma(r + x, alpha + T)`` and ``p ~ Beta(a, b + x + 1)`` (x + 1 survived
drop-out opportunities) and from ``T`` on drops out only after purchases: that is a *BG/NBD*
new customer with parameters ``(r + x, alpha + T, a, b + x + 1)``. Every prediction here is
therefore ``P(alive) x`` the BG/NBD new-customer formula (FHL05 eqs. 7, 8) at those parameters.
A new MBG/NBD customer is the case ``x = t_x = T = 0``: alive with probability ``b / (a + b)``,
then a BG/NBD customer with ``(r, alpha, a, b + 1)``. Derived from the model's assumptions, these
agree with BDF07's appendix (P(alive)), with E[X(t)] ``b/(a-1) [1 - (alpha/(alpha+t))^r
2F1(r, b+1; a+b; t/(alpha+t))]`` and with the conditional expectation as corrected in WH08,
which has ``(a + b + x)/(a - 1)`` and ``2F1(r + x, b + x + 1; a + b + x; .)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import special

from models import bgnbd
from models._ops import NUMPY, Ops
from models._purchase import ContinuousPurchaseModel

PARAMS = ("r", "alpha", "a", "b")


def loglik(params: Mapping, data: Mapping, ops: Ops = NUMPY):
    """Per-customer log-likelihood (BDF07, appendix), in log space.

    ``ln L = A1 + A2 + ln(exp(A3) + exp(A4))`` with

    - ``A1 = ln Gamma(r + x) - ln Gamma(r) + r ln alpha``
    - ``A2 = ln B(a, b + x + 1) - ln B(a, b)``
    - ``A3 = -(r + x) ln(alpha + T)``  (alive at T: survived x + 1 drop-out chances)
    - ``A4 = ln a - ln(b + x) - (r + x) ln(alpha + t_x)``  (dropped out right after t_x)

    The second branch exists for every customer, also for ``x = 0`` (drop-out right after the
    first purchase), so no masking is needed.
    """
    r, alpha, a, b = (params[name] for name in PARAMS)
    x, t_x, T = data["x"], data["t_x"], data["T"]
    a1 = ops.gammaln(r + x) - ops.gammaln(r) + r * ops.log(alpha)
    a2 = ops.betaln(a, b + x + 1) - ops.betaln(a, b)
    a3 = -(r + x) * ops.log(alpha + T)
    a4 = ops.log(a) - ops.log(b + x) - (r + x) * ops.log(alpha + t_x)
    return a1 + a2 + ops.logaddexp(a3, a4)


def _log_odds_dead(params: Mapping, x, t_x, T):
    """``ln[a / (b + x) ((alpha + T) / (alpha + t_x))^(r + x)]``: odds of inactive vs alive.

    The power's logarithm is ``log1p((T - t_x) / (alpha + t_x))``, as in :mod:`models.bgnbd`.
    """
    r, alpha, a, b = (params[name] for name in PARAMS)
    return np.log(a) - np.log(b + x) + (r + x) * np.log1p((T - t_x) / (alpha + t_x))


def p_alive(params: Mapping, x, t_x, T):
    """P(alive at T | x, t_x, T) (BDF07, appendix).

    ``1 / (1 + a/(b + x) ((alpha + T)/(alpha + t_x))^(r + x))``; below 1 also for ``x = 0``:
    ``1 / (1 + a/b ((alpha + T)/alpha)^r)``.
    """
    return special.expit(-_log_odds_dead(params, x, t_x, T))


def _future_params(params: Mapping, x, T):
    """BG/NBD parameters of a customer known to be alive at T: ``(r+x, alpha+T, a, b+x+1)``."""
    r, alpha, a, b = (params[name] for name in PARAMS)
    return r + x, alpha + T, a, b + x + 1


def expected_purchases(params: Mapping, t, x, t_x, T):
    """E[Y(t) | x, t_x, T]: expected purchases in ``(T, T + t]`` (BDF07 as corrected in WH08).

    ``P(alive) x`` FHL05 eq. 7 at ``(r + x, alpha + T, a, b + x + 1)``, i.e.
    ``(a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))]``.
    """
    alive = p_alive(params, x, t_x, T)
    return alive * bgnbd.expected_new(*_future_params(params, x, T), t)


def expected_purchases_new_customer(params: Mapping, t):
    """E[X(t)] for a new customer (BDF07): the conditional formula at ``x = t_x = T = 0``.

    ``b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))]``.
    """
    return expected_purchases(params, t, 0.0, 0.0, 0.0)


def conditional_probability_of_purchases(params: Mapping, n, t, x, t_x, T):
    """P(Y(t) = n | x, t_x, T): inactive with probability 1 - P(alive), else a BG/NBD customer.

    ``delta(n = 0) (1 - P(alive)) + P(alive) P_BG/NBD(X(t) = n; r + x, alpha + T, a, b + x + 1)``
    with the BG/NBD PMF of FHL05 eq. 8.
    """
    alive = p_alive(params, x, t_x, T)
    future = bgnbd.pmf_new(*_future_params(params, x, T), n, t)
    return np.where(n == 0, 1 - alive, 0.0) + alive * future


def probability_of_purchases(params: Mapping, n, t):
    """P(X(t) = n) for a new customer (BDF07): the conditional PMF at ``x = t_x = T = 0``.

    ``B(a, b+n+1)/B(a, b) NB(n) + B(a+1, b+n)/B(a, b) P(NB >= n)``, NB the negative binomial
    count of a gamma-Poisson process over ``t``.
    """
    return conditional_probability_of_purchases(params, n, t, 0.0, 0.0, 0.0)


def simulate(params: Mapping[str, float], T, rng: np.random.Generator) -> pd.DataFrame:
    """Draw customer summaries from the MBG/NBD.

    Each customer gets ``lambda ~ Gamma(r, alpha)`` and ``p ~ Beta(a, b)``. Drop-out chances
    come at the first purchase and after each repeat purchase, so the number of repeat purchases
    made before dropping out is ``K = Geometric(p) - 1`` on {0, 1, ...}. The Poisson process has
    ``N ~ Poisson(lambda T)`` events in ``[0, T]``; ``x = min(N, K)`` and ``t_x`` is the x-th of
    N uniform order statistics on ``[0, T]``, i.e. ``T Beta(x, N - x + 1)``.

    Parameters
    ----------
    params : mapping
        ``r``, ``alpha``, ``a``, ``b``.
    T : array_like
        Observation length of each customer (one entry per customer).
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    pandas.DataFrame
        ``frequency``, ``recency``, ``T``, indexed by ``customer_id`` 0..n-1.
    """
    T = np.asarray(T, dtype=float)
    lam = rng.gamma(params["r"], 1 / params["alpha"], size=T.shape)
    p = rng.beta(params["a"], params["b"], size=T.shape)
    n_events = rng.poisson(lam * T)
    repeats_before_dropout = rng.geometric(p) - 1
    x = np.minimum(n_events, repeats_before_dropout)
    return bgnbd.summary_from_order_statistic(x, n_events, T, rng)


class ModifiedBetaGeo(ContinuousPurchaseModel):
    """MBG/NBD purchase model (Batislam, Denizel & Filiztekin 2007).

    Fit on a summary with columns ``frequency`` (x), ``recency`` (t_x) and ``T``, one row per
    customer indexed by customer id (see :func:`models.rfm_summary`).

    Examples
    --------
    >>> import models
    >>> from models.mbgnbd import ModifiedBetaGeo
    >>> mbg = ModifiedBetaGeo().fit(models.datasets.load_cdnow_summary())
    >>> mbg.params.round(3).tolist()
    [0.525, 6.183, 0.891, 1.614]
    """

    PARAMS = PARAMS
    INITIAL = {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0}
    TIME_SCALED = ("alpha",)
    _loglik = staticmethod(loglik)
