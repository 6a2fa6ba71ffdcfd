"""What each customer will actually do: the predictive distribution of purchases and spend.

A purchase model's expected purchases say what a customer does *on average*; a holdout count
is one draw from the customer's predictive distribution, which is wider. Per customer, with
history ``(x, t_x, T)`` and parameter draws ``theta_1 .. theta_D`` (a point fit is ``D = 1``):

- **Purchases** (:func:`predictive_purchases`): the predictive pmf of the count ``Y(t)`` in
  the next ``t`` time units is the mixture over draws of the model's conditional pmf,
  ``P(Y = n) = 1/D sum_d P(Y(t) = n | x, t_x, T, theta_d)`` (BG/NBD: Fader, Hardie & Lee's
  note on the conditional pmf; Pareto/NBD: note 028; MBG/NBD and BG/BB: their modules). It
  carries everything the model knows: the latent rates' conditional posterior, alive or dead,
  Poisson noise, and parameter uncertainty. Its mean is the mean over draws of the expected
  purchases. It is evaluated for ``n = 0, 1, ...`` until the mass left beyond ``n`` is below
  ``tail_tol`` for every customer (each customer drops out of the loop once it is), up to
  :data:`N_MAX_CAP`.
- **Spend** (:func:`predictive_spend`): by simulation. Each sample takes a parameter draw, a
  count ``Y`` from that draw's conditional pmf (inverse CDF), the customer's spend rate
  ``nu ~ Gamma(px + q, gamma + x zbar)`` (the Gamma-Gamma conditional posterior; the prior
  ``Gamma(q, gamma)`` for ``x = 0``), and total spend ``Gamma(Y p, nu)`` (0 when ``Y = 0``), by
  the spend model's own ``simulate_spend``. Spend is independent of the count given the
  customer's history, as the Gamma-Gamma assumes.

Both work on unique customer patterns (:func:`models._patterns.unique_rows`) in chunks of at most
:data:`PMF_CHUNK_ELEMENTS` (draw x pattern) values, and return DataFrames indexed by
the caller's customer ids, in the caller's order. :func:`pit` gives the randomised PIT of
observed counts (Czado, Gneiting & Held 2009, via :func:`models.evaluate.randomized_pit`),
whose central-interval coverage (:func:`models.evaluate.pit_coverage`) checks calibration.

The code lives in submodules; import from here: :mod:`models.predictive.purchases`
(the pmf scan, :func:`predictive_purchases`, :func:`pit`, and the settings
:data:`TAIL_TOL`, :data:`N_MAX_CAP`, :data:`PMF_CHUNK_ELEMENTS`, which the spend simulation
reads from there too), :mod:`models.predictive.spend` (:func:`predictive_spend`) and
:mod:`models.predictive._checks` (argument checks). The messages live in
:mod:`models._validation.predictive`.
"""

from models._validation.predictive import PredictiveTailWarning
from models.predictive.purchases import (
    N_MAX_CAP,
    PMF_CHUNK_ELEMENTS,
    TAIL_TOL,
    pit,
    predictive_purchases,
)
from models.predictive.spend import N_SAMPLES, predictive_spend

__all__ = [
    "N_MAX_CAP",
    "N_SAMPLES",
    "PMF_CHUNK_ELEMENTS",
    "PredictiveTailWarning",
    "TAIL_TOL",
    "pit",
    "predictive_purchases",
    "predictive_spend",
]
