"""The maximum-likelihood point fit of a model: the optimiser run and its estimates table.

The bodies of ``BaseModel._fit_mle`` and of ``BaseModel.summary`` for ``method="mle"``. The
likelihood is summed over chunks of patterns (:func:`models._mle.row_chunks`), with exact
gradients by forward-mode differentiation where :mod:`models._autodiff` offers them; a
Bayesian fit's table comes from :func:`models._bayes.summary` instead.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from models import _allocator, _mle


def fit_mle(model, patterns: Mapping, counts: np.ndarray) -> None:
    """Maximise ``model``'s likelihood over ``patterns`` weighted by ``counts``; store the fit."""
    from models import _autodiff

    _allocator.settle()  # the evaluations' temporaries are not page-faulted in every time
    initial = model._starting_point(patterns, counts)
    rng = np.random.default_rng(model.random_seed) if model.n_starts > 1 else None
    start = [initial[name] for name in model.PARAMS]
    # Sums over chunks of patterns: an evaluation's memory is bounded whatever their number.
    chunks = _mle.row_chunks(counts.size)
    totals, gradients = [], []
    for rows in chunks:
        part = {name: values[rows] for name, values in patterns.items()}
        totals.append(model._total_loglik(part, counts[rows]))
        # Exact gradients by forward-mode AD of the same loglik (None: finite differences).
        gradients.append(
            _autodiff.gradient_for(
                model._loglik, model.PARAMS, part, counts[rows], totals[-1], np.array([start])
            )
        )
    result = _mle.maximize(
        _mle.summed(totals),
        model.PARAMS,
        start,
        n_customers=counts.sum(),
        n_rows=min(counts.size, _mle.FIT_CHUNK_ROWS),
        penalizer=model.penalizer,
        n_starts=model.n_starts,
        rng=rng,
        max_iterations=model.max_iterations,
        model_name=type(model).__name__,
        value_and_gradient=None if None in gradients else _mle.summed(gradients),
    )
    model._set_point(result.params, result.cov_log)
    model.log_likelihood_ = result.log_likelihood
    model.fit_info_ = {
        "iterations": result.n_iterations,
        "gradient_max": result.gradient_max,
        "starts": result.starts,
    }


def mle_summary(model, interval: float = 0.95) -> pd.DataFrame:
    """Table of estimates with standard errors and intervals.

    For a maximum-likelihood fit: estimate, standard error (delta method) and a Wald
    interval computed on the log scale (so it stays positive). The log-likelihood, AIC,
    BIC and customer counts are in ``.attrs``.
    """
    z = stats.norm.ppf((1 + interval) / 2)
    se_log = np.sqrt(np.diag(model.cov_log_))
    estimate = model.params_.to_numpy()
    log_estimate = np.log(estimate)
    # A parameter the data barely determine (huge se_log) gets an upper bound of inf, shown
    # as such, not a floating-point overflow warning.
    with np.errstate(over="ignore"):
        table = pd.DataFrame(
            {
                "estimate": estimate,
                "std_err": estimate * se_log,
                "lower": np.exp(log_estimate - z * se_log),
                "upper": np.exp(log_estimate + z * se_log),
            },
            index=pd.Index(model.PARAMS, name="parameter"),
        )
    table.attrs.update(
        {
            "model": type(model).__name__,
            "interval": interval,
            "log_likelihood": model.log_likelihood_,
            "aic": model.aic_,
            "bic": model.bic_,
            "n_customers": model.n_customers_,
            "n_patterns": model.n_patterns_,
            "time_unit": model.time_unit_,
        }
    )
    return table
