"""The entry points ``BaseModel`` calls: :func:`fit` (by estimator) and :func:`summary`.

Part of :mod:`models._bayes`.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping

import numpy as np
import pandas as pd

from models._bayes._mode import _fit_advi, _fit_map
from models._bayes._model import build_pymc_model
from models._bayes._sampling import _fit_nuts


# ---------------------------------------------------------------------- fitting
def fit(model, patterns: Mapping, counts: np.ndarray, method: str, **kwargs) -> None:
    """Fit ``model`` by ``method`` in {"map", "nuts", "advi"} (called by ``BaseModel.fit``).

    Keyword arguments (all optional): ``random_seed`` (default: the model's), ``draws``;
    for NUTS ``tune``, ``chains``, ``cores``, ``sampler``, ``target_accept``,
    ``progressbar``; for ADVI ``iterations``, ``progressbar``.

    Sets ``model.idata`` (``arviz.InferenceData``), the point estimate (posterior mean, or
    mode for MAP), ``model._draws``, ``model.log_likelihood_`` (numpy log-likelihood at the
    point estimate) and ``model.fit_info_``.
    """
    kwargs.setdefault("random_seed", model.random_seed)
    estimators = {"map": _fit_map, "nuts": _fit_nuts, "advi": _fit_advi}
    accepted = list(inspect.signature(estimators[method]).parameters)[4:]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise TypeError(f"method={method!r} does not take {unknown}; it takes {accepted}.")
    pm_model = build_pymc_model(model, patterns, counts)
    start = model._starting_point(patterns, counts)  # where a mode search starts (as the MLE)
    started = time.perf_counter()
    idata, info = estimators[method](model, pm_model, counts.sum(), start, **kwargs)
    info["seconds"] = time.perf_counter() - started
    model.idata = idata
    if method != "map":
        posterior = idata.posterior
        draws = {n: np.asarray(posterior[n].values, dtype=float) for n in model.PARAMS}
        log_draws = np.log(np.stack([draws[n].ravel() for n in model.PARAMS]))
        model._set_point({n: v.mean() for n, v in draws.items()}, np.atleast_2d(np.cov(log_draws)))
        model._draws = draws
    point = model.params_.to_numpy()[None, :]
    model.log_likelihood_ = float(model._total_loglik(patterns, counts)(point)[0])
    model.fit_info_ = info


# ---------------------------------------------------------------------- results
def summary(model, interval: float = 0.95) -> pd.DataFrame:
    """Posterior table: mean, sd, HDI bounds (``lower``, ``upper``), R-hat, bulk/tail ESS.

    For a MAP fit with a single draw the table is the Laplace one: the mode, the
    delta-method sd and a log-scale normal interval; R-hat and ESS are NaN. Fit statistics
    are in ``.attrs`` (like the maximum-likelihood summary).
    """
    import arviz as az

    from models._draws import interval_bounds

    interval_bounds(interval)  # validates
    index = pd.Index(model.PARAMS, name="parameter")
    if model.n_draws < 2:
        from scipy import stats

        estimate = model.params_.to_numpy()
        se_log = np.sqrt(np.diag(model.cov_log_)) if model.cov_log_ is not None else np.nan
        z = stats.norm.ppf((1 + interval) / 2)
        table = pd.DataFrame(
            {
                "mean": estimate,
                "sd": estimate * se_log,
                "lower": estimate * np.exp(-z * se_log),
                "upper": estimate * np.exp(z * se_log),
                "r_hat": np.nan,
                "ess_bulk": np.nan,
                "ess_tail": np.nan,
            },
            index=index,
        )
        kind = "laplace"
    else:
        posterior = az.from_dict(posterior=model.draws).posterior
        one_chain = posterior.sizes["chain"] < 2  # ADVI / Laplace draws: no R-hat
        raw = az.summary(
            posterior, hdi_prob=interval, kind="stats" if one_chain else "all", round_to="none"
        )
        low, high = (c for c in raw.columns if c.startswith("hdi_"))
        table = raw.rename(columns={low: "lower", high: "upper"})
        if one_chain:
            table["r_hat"] = np.nan
            for method in ("bulk", "tail"):
                ess = az.ess(posterior, method=method)
                table[f"ess_{method}"] = [float(ess[n]) for n in model.PARAMS]
        table = table[["mean", "sd", "lower", "upper", "r_hat", "ess_bulk", "ess_tail"]]
        table.index = index
        kind = "hdi"
    info = getattr(model, "fit_info_", {})
    table.attrs.update(
        {
            "model": type(model).__name__,
            "method": model.method_,
            "interval": interval,
            "interval_kind": kind,
            "log_likelihood": model.log_likelihood_,
            "n_customers": model.n_customers_,
            "n_patterns": model.n_patterns_,
            "time_unit": model.time_unit_,
            "n_draws": model.n_draws,
            "divergences": info.get("divergences"),
        }
    )
    return table
