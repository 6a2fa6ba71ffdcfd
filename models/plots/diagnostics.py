"""Diagnostics of parameter draws: ArviZ's own trace, posterior and pair plots.

References
----------
.. [GSV19] Gabry, J., Simpson, D., Vehtari, A., Betancourt, M. & Gelman, A. (2019).
   Visualization in Bayesian Workflow. JRSS A 182(2): trace, posterior and pair plots.

These functions only hand ``model.idata`` (or the Laplace draws of a maximum-likelihood fit)
to ArviZ, with ``var_names`` defaulting to the model's parameters; they return what ArviZ
returns.
"""

from __future__ import annotations

from models import _validation

__all__ = ["plot_pair", "plot_posterior", "plot_trace"]


def _inference_data(model):
    import arviz as az

    idata = getattr(model, "idata", None)
    if idata is not None:
        return idata
    model._require_fitted()
    if model.n_draws < 2:
        raise _validation.plot_needs_draws()
    return az.from_dict(posterior=model.draws)


def plot_trace(model, **kwargs):
    """ArviZ trace plot of the model's draws (``model.idata``, or Laplace draws).

    Thin wrapper: ``arviz.plot_trace(idata, var_names=model.PARAMS, **kwargs)``; returns
    what ArviZ returns (an array of Axes).
    """
    import arviz as az

    kwargs.setdefault("var_names", list(model.PARAMS))
    return az.plot_trace(_inference_data(model), **kwargs)


def plot_posterior(model, **kwargs):
    """ArviZ posterior densities with HDI (``arviz.plot_posterior``) of the model's draws."""
    import arviz as az

    kwargs.setdefault("var_names", list(model.PARAMS))
    return az.plot_posterior(_inference_data(model), **kwargs)


def plot_pair(model, **kwargs):
    """ArviZ pair plot (``arviz.plot_pair``) of the model's draws: correlations between params."""
    import arviz as az

    kwargs.setdefault("var_names", list(model.PARAMS))
    return az.plot_pair(_inference_data(model), **kwargs)
