"""Messages of the predictive distributions (:mod:`models.predictive`).

Templates (``str.format`` fields in braces) for the refused arguments of
:func:`models.predictive.predictive_purchases`, :func:`models.predictive.pit` and
:func:`models.predictive.predictive_spend`: horizon, quantile and interval levels, ``n_max``,
``tail_tol``, ``max_draws``, ``n_samples``, the generator, the models; the
``FloatingPointError`` for a pmf that is not finite; and the two
:class:`PredictiveTailWarning` texts for a pmf truncated with mass left in its tail. The
warning class keeps ``models.predictive`` as its module, where users import it from.
"""

from __future__ import annotations

HORIZON_MESSAGE = (
    "t must be a finite number > 0 (the horizon, in the summary's time unit); got {t!r}."
)
DISCRETE_HORIZON_MESSAGE = "t must be a whole number of future periods >= 1 for {model}; got {t!r}."
NO_PMF_MESSAGE = (
    "{model} has no conditional_probability_of_purchases(), so it has no predictive "
    "distribution of purchases; use a purchase model: BetaGeo, ParetoNBD, ModifiedBetaGeo or "
    "BetaGeoBetaBinom."
)
QUANTILES_MESSAGE = "quantiles must be levels in (0, 1), e.g. (0.05, 0.5, 0.95); got {value!r}."
INTERVAL_MESSAGE = "interval must be in (0, 1), e.g. 0.9 for a central 90% interval; got {value!r}."
N_MAX_MESSAGE = (
    "n_max must be a whole number >= 0, or None to choose it per customer; got {value!r}."
)
TAIL_TOL_MESSAGE = (
    "tail_tol must be in [1e-13, 0.5) (pmf sums are accurate to about 1e-14); got {value!r}."
)
MAX_DRAWS_MESSAGE = "max_draws must be a whole number >= 1, or None for all draws; got {value!r}."
N_SAMPLES_MESSAGE = "n_samples must be a whole number >= 2; got {value!r}."
RNG_MESSAGE = "rng must be a numpy.random.Generator (np.random.default_rng(seed)); got {kind}."
SPEND_MODEL_MESSAGE = "spend_model must be a fitted GammaGamma; {model} has no simulate_spend()."
ACTUAL_RULE = "must be whole numbers of purchases in [0, {cap}]"
NOT_FINITE_MESSAGE = (
    "{model}'s conditional pmf is not finite for {k} of {total} (draw, customer) values at "
    "n={n}; check the fitted parameters (and report the customers to the model's maintainers)."
)
CAP_WARNING = (
    "the predictive distribution of {n} of {total} customer patterns still has mass {tail:.3g} "
    "beyond n_max={n_max} purchases: their mean and sd are truncated there and quantiles in the "
    "tail are NaN. Check the horizon and the fit, or pass a larger n_max."
)

FIXED_N_MAX_WARNING = (
    "n_max={n_max} is too small for the requested quantiles of {n} of {total} customer "
    "patterns (their cumulative pmf does not reach the level by n_max): those quantiles are "
    "NaN. Leave n_max=None to choose it per customer."
)


class PredictiveTailWarning(UserWarning):
    """The predictive pmf was truncated with more than the requested mass left in its tail."""

    __module__ = "models.predictive"
