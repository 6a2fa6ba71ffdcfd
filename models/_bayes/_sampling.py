"""The ``"nuts"`` estimator (nutpie or PyMC) and the diagnostics of its draws.

Part of :mod:`models._bayes` (whose docstring compares the samplers).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from models._bayes._model import COMPILE_MODE
from models._stack import outside_stacklevel
from models._validation import ValidationError

#: Samplers for method="nuts" (the default is nutpie when it can be imported).
SAMPLERS = ("nutpie", "pymc")
#: Diagnostic thresholds (Vehtari, Gelman, Simpson, Carpenter & Buerkner 2021, "Rank-
#: normalization, folding, and localization: an improved R-hat", Bayesian Analysis 16(2)):
#: R-hat below 1.01 and bulk/tail ESS of at least 100 per chain.
MAX_R_HAT = 1.01
MIN_ESS_PER_CHAIN = 100


class SamplingWarning(UserWarning):
    """The sampler's diagnostics suggest the draws may not represent the posterior."""


def default_sampler() -> str:
    """``"nutpie"`` if it can be imported (faster here: see the module docstring), else "pymc"."""
    try:
        import nutpie  # noqa: F401
    except ImportError:
        return "pymc"
    return "nutpie"


def _fit_nuts(
    model,
    pm_model,
    n_customers,
    start,
    *,
    random_seed=None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    cores: int | None = None,
    sampler: str | None = None,
    target_accept: float = 0.8,
    progressbar: bool = False,
) -> tuple:
    """NUTS by nutpie (default when installed) or PyMC; then the diagnostics.

    ``start`` (the optimiser's starting point) is not used: both samplers start from
    jittered points of the model's own initial point.
    """
    import pymc as pm

    if sampler is None:
        sampler = default_sampler()
    if sampler not in SAMPLERS:
        raise ValidationError(f"sampler must be one of {list(SAMPLERS)}; got {sampler!r}.")
    cores = min(chains, 2) if cores is None else cores
    options: dict[str, Any] = {
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "random_seed": random_seed,
        "target_accept": target_accept,
        "progressbar": progressbar,
        "model": pm_model,
        "nuts_sampler": sampler,
    }
    if sampler == "nutpie":
        options["nuts_sampler_kwargs"] = {"cores": cores, "low_rank_modified_mass_matrix": True}
    else:
        options.update(
            cores=cores, compute_convergence_checks=False, compile_kwargs={"mode": COMPILE_MODE}
        )
    idata = pm.sample(**options)
    info = {"method": "nuts", "sampler": sampler, "chains": chains, "draws": draws, "tune": tune}
    info.update(check_sampling(idata, model.PARAMS, target_accept=target_accept))
    return idata, info


def check_sampling(idata, names, *, target_accept: float = 0.8, warn: bool = True) -> dict:
    """Divergences, largest R-hat and smallest bulk/tail ESS; warn when any is off.

    Warns (:class:`SamplingWarning`) when there is any divergent transition, an R-hat above
    ``MAX_R_HAT`` or a bulk or tail ESS below ``MIN_ESS_PER_CHAIN`` per chain, naming the
    remedy. Returns the numbers.
    """
    import arviz as az

    posterior = idata.posterior[list(names)]
    chains = posterior.sizes["chain"]
    diverging = idata.sample_stats["diverging"] if "sample_stats" in idata else None
    divergences = 0 if diverging is None else int(np.asarray(diverging).sum())
    r_hat = float(az.rhat(posterior).to_array().max())
    ess_bulk = float(az.ess(posterior, method="bulk").to_array().min())
    ess_tail = float(az.ess(posterior, method="tail").to_array().min())
    problems = []
    if divergences:
        problems.append(
            f"{divergences} divergent transition(s): raise target_accept (now "
            f"{target_accept}, try 0.95) or reparameterise/use tighter priors"
        )
    if not r_hat <= MAX_R_HAT:
        problems.append(
            f"max R-hat {r_hat:.3f} > {MAX_R_HAT}: chains disagree; run more tune and draws"
        )
    need = MIN_ESS_PER_CHAIN * chains
    if not min(ess_bulk, ess_tail) >= need:
        problems.append(
            f"min ESS (bulk {ess_bulk:.0f}, tail {ess_tail:.0f}) < {need} "
            f"({MIN_ESS_PER_CHAIN} per chain): run more draws (or chains)"
        )
    if problems and warn:
        message = "NUTS diagnostics: " + "; ".join(problems) + "."
        warnings.warn(message, SamplingWarning, stacklevel=outside_stacklevel())
    return {
        "divergences": divergences,
        "max_r_hat": r_hat,
        "min_ess_bulk": ess_bulk,
        "min_ess_tail": ess_tail,
    }
