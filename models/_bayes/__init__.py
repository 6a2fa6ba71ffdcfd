"""Bayesian estimation in PyMC, built from the same log-likelihood as maximum likelihood.

A model's ``loglik(params, data, ops)`` is evaluated once, with the pytensor operation table
(:func:`models._ops.pytensor_ops`), on the compressed ``(pattern, count)`` data; the weighted
sum enters the PyMC model as a ``pm.Potential``. There is no second copy of any formula, and
the predictions are the model's numpy functions evaluated over the posterior draws.

Estimators (``model.fit(data, method=...)``):

- ``"map"``: the posterior mode, by L-BFGS-B on the log-parameters with exact (pytensor)
  gradients, like :mod:`models._mle`; stored as a ``1 x 1`` draw with the Laplace covariance
  of the log-parameters (``draws=n`` replaces it by ``n`` Laplace draws). Under
  ``priors="flat"`` the mode is the maximum-likelihood estimate.
- ``"nuts"``: the No-U-Turn sampler: nutpie (``sampler="nutpie"``, the default when it is
  installed) or PyMC's own with the likelihood compiled by numba (``sampler="pymc"``, the
  fallback). On BG/NBD / CDNOW, 4 chains x 1000 draws on 2 busy cores, in a fresh process
  with compilation, nutpie used 22-25 s of CPU (54-63 s wall) and PyMC 33-38 s (74-88 s);
  both gave R-hat <= 1.008, bulk ESS >= 1380 and no divergences. nutpie adapts a low-rank
  modified mass matrix (``low_rank_modified_mass_matrix=True``), which follows the strong
  posterior correlations of these models (Gamma-Gamma's ``p`` and ``gamma``, Pareto/NBD's
  ``s`` and ``beta``): on Gamma-Gamma / CDNOW at 4 x 1000 draws it took the smallest bulk ESS
  from 704 to 4,529, the largest R-hat from 1.010 to 1.003 and the wall time from 96 s to
  23 s (same busy machine). Pareto/NBD samples through the quadrature form of its death
  term (:mod:`models._power_integral`), which pytensor differentiates exactly: 4 x 1000 draws
  on CDNOW gave R-hat <= 1.001, bulk ESS >= 1,619 and no divergences, but took 869 s on the
  busy machine (98 quadrature nodes per pattern make each gradient ~100x a BG/NBD one).
- ``"advi"``: mean-field variational inference (``pm.fit``), then ``draws`` draws (1 chain).

Priors
------
Every parameter is positive and is sampled on the log scale (like the optimiser of
:mod:`models._mle`). The default prior is ``LogNormal(0, 3)``: on ``log theta`` a normal with
sd 3, so 95 % of its mass lies in ``[0.0028, 360]``. It is weakly informative *and* unit-aware
without looking at the data: changing the time unit (days, weeks, months) rescales ``alpha``
or ``beta`` by a factor 7 or 4.35, a shift of ``log 7 = 1.9``, under 2/3 of a prior sd; the
shape parameters of the published fits (0.2 to 12) sit well inside. A half-normal
would be scale-dependent and put its mode at 0; a prior centred on the MLE would use the data
twice.

``priors`` (the model constructor's argument) overrides this (``None`` or ``"default"``
keep it):

- ``"flat"``: a flat prior on every *natural-scale* parameter (``pm.HalfFlat``). Then the
  MAP (computed without the log-transform's Jacobian, i.e. the mode of the density of
  ``theta``) equals the MLE. A flat prior on ``log theta`` would be a different prior,
  ``p(theta) ~ 1/theta``, whose mode is *not* the MLE. Flat priors are for MAP; the posterior
  they give can be improper (BG/NBD's likelihood stays bounded away from 0 as ``r`` and
  ``alpha`` grow together), so sample with proper priors.
- a mapping ``name -> spec`` for some parameters (the others keep the default), where a spec
  is ``"flat"``, ``"default"``, an unregistered PyMC distribution such as
  ``pm.Gamma.dist(1, 1)`` (registered on the log scale: its support must contain
  ``(0, inf)``), or a callable ``f(name)`` that, inside the model context, creates and returns
  the variable (e.g. ``lambda name: pm.Gamma(name, 1, 1)``, or a hierarchy).

:func:`prior_predictive` draws the parameters from the prior; evaluating any prediction on
those draws (:func:`models._draws`) is the prior predictive check.

The code lives in private submodules; import from here (``from models import _bayes``):

- :mod:`models._bayes._model`: the priors, :func:`build_pymc_model`,
  :func:`prior_predictive` and :data:`COMPILE_MODE`;
- :mod:`models._bayes._mode`: the posterior mode, its Laplace covariance, and the
  ``"map"`` and ``"advi"`` estimators;
- :mod:`models._bayes._sampling`: the ``"nuts"`` estimator, :func:`check_sampling` and
  :class:`SamplingWarning`;
- :mod:`models._bayes._fit`: :func:`fit` and :func:`summary`, which ``BaseModel`` calls.
"""

from models._bayes._fit import fit, summary
from models._bayes._mode import HESSIAN_STEP, MODE_GRADIENT_TOLERANCE
from models._bayes._model import (
    COMPILE_MODE,
    PRIOR_MU,
    PRIOR_SIGMA,
    build_pymc_model,
    prior_predictive,
)
from models._bayes._sampling import (
    MAX_R_HAT,
    MIN_ESS_PER_CHAIN,
    SAMPLERS,
    SamplingWarning,
    check_sampling,
    default_sampler,
)

__all__ = [
    "COMPILE_MODE",
    "HESSIAN_STEP",
    "MAX_R_HAT",
    "MIN_ESS_PER_CHAIN",
    "MODE_GRADIENT_TOLERANCE",
    "PRIOR_MU",
    "PRIOR_SIGMA",
    "SAMPLERS",
    "SamplingWarning",
    "build_pymc_model",
    "check_sampling",
    "default_sampler",
    "fit",
    "prior_predictive",
    "summary",
]
