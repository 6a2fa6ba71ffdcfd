"""The predictive distribution of total spend, by simulation.

Each simulated future takes a parameter draw, a purchase count from that draw's conditional
pmf (inverse CDF, :func:`_sample_counts`) and the count's total spend from the spend model's
``simulate_spend`` (module docstring of :mod:`models.predictive`). The pmf settings
(:data:`~models.predictive.purchases.N_MAX_CAP`, ``PMF_CHUNK_ELEMENTS``) are read from
:mod:`models.predictive.purchases` at call time, so one patch there covers both.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from models import _draws
from models._patterns import unique_rows
from models._stack import outside_stacklevel
from models._validation import (
    CAP_WARNING,
    N_SAMPLES_MESSAGE,
    SPEND_MODEL_MESSAGE,
    PredictiveTailWarning,
    ValidationError,
)
from models.clv import _paired_draws
from models.predictive import purchases
from models.predictive._checks import (
    _check_horizon,
    _check_levels,
    _check_rng,
    _conditional_pmf,
    _whole,
)

#: Default number of simulated futures per customer in :func:`predictive_spend`.
N_SAMPLES = 4000


def _take(params: Mapping[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    """Rows of flat parameter draws (a single draw is kept as is and broadcasts)."""
    return {k: v if v.size == 1 else v[rows] for k, v in params.items()}


def _sample_counts(pmf, params, t, patterns, u, pair):
    """Inverse-CDF counts: for each sample, the smallest ``n`` with ``F(n) >= u``.

    ``F`` is the conditional cdf of the sample's (draw, pattern) pair: ``params`` and
    ``patterns`` hold one row per pair, ``pair`` maps samples to pairs. The pmf is evaluated
    once per pair and ``n``, and only for pairs with a sample still undecided.
    """
    cdf = np.zeros(pair.max() + 1)
    u_max = np.zeros_like(cdf)
    np.maximum.at(u_max, pair, u)
    y = np.zeros(u.size)
    pairs, samples = np.arange(cdf.size), np.arange(u.size)
    n = 0
    while samples.size and n <= purchases.N_MAX_CAP:
        sub = {k: v[pairs] for k, v in patterns.items()}
        cdf[pairs] += pmf(_take(params, pairs), n, t, **sub)
        reached = cdf[pair[samples]]
        done = (reached >= u[samples]) | (1 - reached < purchases._CDF_SLACK)
        y[samples[done]] = n
        samples = samples[~done]
        pairs = pairs[(cdf[pairs] < u_max[pairs]) & (1 - cdf[pairs] >= purchases._CDF_SLACK)]
        n += 1
    if samples.size:
        y[samples] = purchases.N_MAX_CAP
        warnings.warn(
            CAP_WARNING.format(
                n=np.unique(pair[samples]).size,
                total=cdf.size,
                tail=float(1 - cdf[pair[samples]].min()),
                n_max=purchases.N_MAX_CAP,
            ),
            PredictiveTailWarning,
            stacklevel=outside_stacklevel(),
        )
    return y


def predictive_spend(
    purchase_model,
    spend_model,
    t: float,
    data: pd.DataFrame,
    *,
    rng: np.random.Generator,
    n_samples: int = N_SAMPLES,
    quantiles: Sequence[float] | None = None,
    interval: float | None = None,
) -> pd.DataFrame:
    """Predictive distribution of each customer's total spend in the next ``t`` units.

    Simulated (module docstring): ``n_samples`` futures per customer. With ``D`` parameter
    draws, ``K = min(n_samples, D)`` distinct draws are used (all of them, or a random subset),
    each by ``n_samples / K`` samples (up to one), the same for every customer; the count's
    pmf is evaluated once per (draw, customer pattern), so the cost grows with ``K``.
    Purchase and spend draws are paired by index (draw ``i`` of one with draw ``i`` of the
    other), so both models must have the same number of draws, or one of them a single draw
    (a point fit), which is then used with every draw of the other.

    Parameters
    ----------
    purchase_model : BetaGeo, ParetoNBD, ModifiedBetaGeo or BetaGeoBetaBinom
        Fitted purchase model.
    spend_model : GammaGamma
        Fitted spend model.
    t : float
        Horizon in the summary's time unit.
    data : pandas.DataFrame
        Summary with both models' columns (``frequency``, ``recency``, ``T``,
        ``monetary_value``), indexed by customer id.
    rng : numpy.random.Generator
        Source of randomness (results are reproducible for a given seed).
    n_samples : int
        Simulated futures per customer; the Monte Carlo standard error of the mean is the
        ``mcse`` column.
    quantiles, interval
        As in :func:`predictive_purchases`, for spend.

    Returns
    -------
    pandas.DataFrame
        ``mean``, ``sd``, quantile columns, ``lower``/``upper``, ``p_zero`` (the share of
        futures without a purchase, an estimate of ``P(spend = 0) = P(Y = 0)``) and ``mcse``.
    """
    _check_rng(rng)
    n_samples = _whole(n_samples, 2, N_SAMPLES_MESSAGE)
    names, levels = _check_levels(quantiles, interval)
    pmf = _conditional_pmf(purchase_model)
    t = _check_horizon(purchase_model, t)
    try:
        simulate_spend = spend_model._module_function("simulate_spend")
    except ValidationError:
        raise ValidationError(
            SPEND_MODEL_MESSAGE.format(model=type(spend_model).__name__)
        ) from None
    flat_p, flat_s = _paired_draws(purchase_model, spend_model)
    flat_p = {k: v.ravel() for k, v in flat_p.items()}
    flat_s = {k: v.ravel() for k, v in flat_s.items()}
    n_draws = max(_draws.n_draws(flat_p), _draws.n_draws(flat_s))
    single = _draws.n_draws(flat_p) == 1  # one pmf per pattern, whatever the spend draws
    arrays = {f"p_{k}": v for k, v in purchase_model._prediction_arrays(data).items()}
    arrays |= {f"s_{k}": v for k, v in spend_model._prediction_arrays(data).items()}
    patterns, inverse = unique_rows(arrays)
    n_patterns = inverse.max(initial=-1) + 1
    # Sample s uses draw used[s % K]: K = min(n_samples, draws) distinct draws, each used
    # equally often (up to one), so the pmf is evaluated for K x patterns pairs, not per sample.
    n_used = min(n_samples, n_draws)
    used = rng.permutation(n_draws)[:n_used] if n_used < n_draws else np.arange(n_draws)
    draw_of_sample = used[np.arange(n_samples) % n_used]
    pair_of_sample = np.zeros(n_samples, int) if single else np.arange(n_samples) % n_used
    pair_draws = used[:1] if single else used
    chunk = max(1, purchases.PMF_CHUNK_ELEMENTS // n_samples)
    stats: dict[str, list] = {k: [] for k in ["mean", "sd", *names, "p_zero"]}
    for start in range(0, n_patterns, chunk):
        size = min(chunk, n_patterns - start)
        block = {k: v[start : start + size] for k, v in patterns.items()}
        # pairs (k, j) = (distinct draw, pattern): row k * size + j; samples (s, j): s * size + j
        pair_draw = np.repeat(pair_draws, size)
        pair_pattern = np.tile(np.arange(size), pair_draws.size)
        pair = (pair_of_sample[:, None] * size + np.arange(size)).ravel()
        own_p = {k[2:]: v[pair_pattern] for k, v in block.items() if k.startswith("p_")}
        u = rng.random(n_samples * size)
        y = _sample_counts(pmf, _take(flat_p, pair_draw), t, own_p, u, pair)
        sample_draw = np.repeat(draw_of_sample, size)
        sample_pattern = np.tile(np.arange(size), n_samples)
        average = simulate_spend(
            _take(flat_s, sample_draw),
            y,
            block["s_x"][sample_pattern],
            block["s_z"][sample_pattern],
            rng,
        )
        total = (y * average).reshape(n_samples, size)
        stats["mean"].append(total.mean(axis=0))
        stats["sd"].append(total.std(axis=0, ddof=1))
        for name, values in zip(names, np.quantile(total, levels, axis=0), strict=True):
            stats[name].append(values)
        stats["p_zero"].append((y.reshape(n_samples, size) == 0).mean(axis=0))
    columns = {k: np.concatenate(v)[inverse] for k, v in stats.items()}
    columns["mcse"] = columns["sd"] / np.sqrt(n_samples)
    frame = pd.DataFrame(columns, index=data.index)
    frame.attrs.update(
        {"quantity": "predictive_spend", "t": t, "n_samples": n_samples, "interval": interval}
    )
    return frame
