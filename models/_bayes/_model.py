"""The PyMC model of a fit: one prior per parameter plus the count-weighted likelihood.

Also the prior predictive draws and the pytensor backend every compiled function uses.
Part of :mod:`models._bayes` (whose docstring describes the priors).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models._validation import ValidationError

#: Default prior: LogNormal(mu, sigma) on every parameter (see the module docstring).
PRIOR_MU = 0.0
PRIOR_SIGMA = 3.0
#: Pytensor backend of every compiled function: numba compiles this likelihood and its
#: gradient in ~1 s where the C backend takes 10-20 s, and evaluates it faster.
COMPILE_MODE = "NUMBA"


# ---------------------------------------------------------------------- the PyMC model
def _prior_specs(model) -> dict[str, Any]:
    """One spec per parameter from ``model.priors`` (validated)."""
    priors = model.priors
    names = model.PARAMS
    saved = getattr(model, "priors_text_", None)
    if priors is None and saved:
        raise ValidationError(
            f"this {type(model).__name__} was saved with custom priors ({saved}), which JSON "
            "cannot hold: set them again (model.priors = {...}) before a Bayesian refit."
        )
    if priors is None:
        return dict.fromkeys(names, "default")
    if isinstance(priors, str):
        if priors not in ("flat", "default"):
            raise ValidationError(
                f"priors must be 'flat', 'default' or a mapping name -> prior; got {priors!r}."
            )
        return dict.fromkeys(names, priors)
    if not isinstance(priors, Mapping):
        raise ValidationError(
            f"priors must be 'flat', 'default' or a mapping name -> prior; got "
            f"{type(priors).__name__}."
        )
    unknown = sorted(set(priors) - set(names))
    if unknown:
        raise ValidationError(
            f"priors names unknown parameter(s) {unknown}; {type(model).__name__} has "
            f"{list(names)}."
        )
    return {name: priors.get(name, "default") for name in names}


def _add_prior(name: str, spec: Any):
    """Create the prior of one parameter in the current model context; return its variable."""
    import pymc as pm
    from pymc.distributions.transforms import log as log_transform

    if isinstance(spec, str) and spec == "flat":
        return pm.HalfFlat(name)
    if isinstance(spec, str) and spec == "default":
        return pm.LogNormal(name, mu=PRIOR_MU, sigma=PRIOR_SIGMA)
    if callable(spec) and not hasattr(spec, "owner"):
        variable = spec(name)
        model = pm.modelcontext(None)
        if name in model.named_vars:
            return model[name]
        return pm.Deterministic(name, variable)
    if getattr(spec, "owner", None) is not None:  # an unregistered pm.X.dist(...)
        return pm.modelcontext(None).register_rv(spec, name, default_transform=log_transform)
    raise ValidationError(
        f"prior for {name!r} must be 'flat', 'default', a PyMC distribution "
        f"(e.g. pm.Gamma.dist(1, 1)) or a callable name -> variable; got {spec!r}."
    )


def build_pymc_model(model, patterns: Mapping | None = None, counts: np.ndarray | None = None):
    """The PyMC model: priors, plus the count-weighted log-likelihood when data are given.

    Parameters
    ----------
    model : BaseModel
        Supplies ``PARAMS``, ``_loglik`` and ``priors``.
    patterns : mapping, optional
        Unique sufficient-statistic rows (numpy arrays); without them only the priors.
    counts : numpy.ndarray, optional
        Number of customers behind each pattern.

    Returns
    -------
    pymc.Model

    Notes
    -----
    The likelihood is a ``pm.Potential`` of ``sum(counts * loglik)``. A ``CustomDist`` with
    the patterns as observed would need the counts smuggled in as a parameter and a random
    generator the models do not have, and its pointwise log-likelihood would be per pattern
    (not per customer) anyway; the potential says exactly what is computed.
    """
    import pymc as pm
    import pytensor.tensor as pt

    from models._ops import pytensor_ops

    specs = _prior_specs(model)
    with pm.Model() as pm_model:
        params = {name: _add_prior(name, specs[name]) for name in model.PARAMS}
        if patterns is not None:
            data = {key: np.asarray(value, dtype=float) for key, value in patterns.items()}
            weights = np.asarray(counts, dtype=float)
            loglik = model._loglik(params, data, pytensor_ops())
            pm.Potential("loglik", pt.sum(weights * loglik))
    return pm_model


def prior_predictive(model, draws: int = 500, random_seed: int | None = None):
    """Draws of the parameters from the prior (for prior predictive checks).

    Parameters
    ----------
    model : BaseModel
        Its ``priors`` setting defines the prior (flat priors cannot be drawn from).
    draws : int
        Number of draws.
    random_seed : int, optional
        Seed (default: the model's).

    Returns
    -------
    arviz.InferenceData
        Group ``prior`` with one variable per parameter, dims ``(chain=1, draw)``. Pass
        ``{n: idata.prior[n].values for n in model.PARAMS}`` to a prediction function (with
        :func:`models._draws.with_customer_axis`) to see what the prior implies.
    """
    import pymc as pm

    specs = _prior_specs(model)
    flat = [n for n, spec in specs.items() if isinstance(spec, str) and spec == "flat"]
    if flat:
        raise ValidationError(
            f"cannot draw from the flat prior of {flat}: give proper priors (the default, or "
            f"distributions in priors=...) for a prior predictive check."
        )
    seed = model.random_seed if random_seed is None else random_seed
    return pm.sample_prior_predictive(
        draws=draws, model=build_pymc_model(model), random_seed=seed, var_names=list(model.PARAMS)
    )
