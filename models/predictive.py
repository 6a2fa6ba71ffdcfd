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

Both work on unique customer patterns (:func:`models._base.unique_rows`) in chunks of at most
:data:`PMF_CHUNK_ELEMENTS` (draw x pattern) values, and return DataFrames indexed by
the caller's customer ids, in the caller's order. :func:`pit` gives the randomised PIT of
observed counts (Czado, Gneiting & Held 2009, via :func:`models.evaluate.randomized_pit`),
whose central-interval coverage (:func:`models.evaluate.pit_coverage`) checks calibration.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from models import _draws, evaluate
from models._base import unique_rows
from models._validation import ValidationError, rule_error
from models.bgbb import BetaGeoBetaBinom
from models.clv import _paired_draws
from models.evaluate.holdout import _aligned

#: Default mass allowed beyond the largest count evaluated, per customer.
TAIL_TOL = 1e-8
#: Largest count evaluated when ``n_max`` is chosen adaptively.
N_MAX_CAP = 10_000
#: Default number of simulated futures per customer in :func:`predictive_spend`.
N_SAMPLES = 4000
#: (draw x pattern) values per pmf evaluation: below CHUNK_ELEMENTS because a model's pmf may
#: hold tens of temporaries per value (the Pareto/NBD's 64-node quadrature).
PMF_CHUNK_ELEMENTS = _draws.CHUNK_ELEMENTS // 8
#: Slack when comparing a cumulative pmf with a quantile level (summation rounding).
_CDF_SLACK = 1e-12

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


# ---------------------------------------------------------------------------- checks
def _check_horizon(model, t) -> float:
    numeric = isinstance(t, int | float | np.integer | np.floating) and not isinstance(t, bool)
    if not numeric or not np.isfinite(t) or t <= 0:
        raise ValidationError(HORIZON_MESSAGE.format(t=t))
    if isinstance(model, BetaGeoBetaBinom) and t != round(t):
        raise ValidationError(DISCRETE_HORIZON_MESSAGE.format(model=type(model).__name__, t=t))
    return float(t)


def _conditional_pmf(model) -> Callable:
    """The model's ``conditional_probability_of_purchases(params, n, t, **arrays)``, checked.

    The returned function raises ``FloatingPointError`` rather than let a NaN or inf reach
    a cumulative sum (which would then never reach the tail tolerance).
    """
    model._require_fitted()
    try:
        function = model._module_function("conditional_probability_of_purchases")
    except ValidationError:
        raise ValidationError(NO_PMF_MESSAGE.format(model=type(model).__name__)) from None

    def checked(params, count, horizon, /, **arrays):  # BG/BB's arrays include "n"
        values = np.asarray(function(params, count, horizon, **arrays), dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            raise FloatingPointError(
                NOT_FINITE_MESSAGE.format(
                    model=type(model).__name__, n=count, k=int(bad.sum()), total=bad.size
                )
            )
        return values

    return checked


def _check_levels(quantiles, interval) -> tuple[list[str], list[float]]:
    """Column names and levels of the requested quantiles (and interval bounds)."""
    names, levels = [], []
    if quantiles is not None and (isinstance(quantiles, str) or np.ndim(quantiles) != 1):
        raise ValidationError(QUANTILES_MESSAGE.format(value=quantiles))
    for level in () if quantiles is None else quantiles:
        if not isinstance(level, int | float | np.number) or not 0 < level < 1:
            raise ValidationError(QUANTILES_MESSAGE.format(value=quantiles))
        names.append(f"q{100 * float(level):02g}")
        levels.append(float(level))
    if interval is not None:
        if not isinstance(interval, int | float | np.number) or not 0 < interval < 1:
            raise ValidationError(INTERVAL_MESSAGE.format(value=interval))
        names += ["lower", "upper"]
        levels += list(_draws.interval_bounds(interval))
    return names, levels


def _check_rng(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise ValidationError(RNG_MESSAGE.format(kind=type(rng).__name__))


def _whole(value, smallest: int, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer | float | np.floating):
        raise ValidationError(message.format(value=value))
    if not np.isfinite(value) or value != round(value) or value < smallest:
        raise ValidationError(message.format(value=value))
    return int(value)


# ---------------------------------------------------------------------------- the pmf scan
def _scan(pmf, params, t, patterns, *, levels, tail_tol, n_max, need, keep):
    """Mixture pmf of one chunk of patterns, summarised as it is built, ``n = 0, 1, ...``.

    A pattern leaves the loop once its tail is below ``tail_tol`` (``None``: no condition),
    every quantile level is reached and ``n >= need`` (adaptive ``n_max=None``); otherwise the
    loop runs to ``n_max``.
    Returns running sums and, with ``keep``, the ``(rows, n, pmf)`` pieces.
    """
    size = len(next(iter(patterns.values())))
    out = {
        "cdf": np.zeros(size),
        "mean": np.zeros(size),
        "second": np.zeros(size),
        "quantiles": np.full((len(levels), size), np.nan),
        "lower": np.zeros(size),
        "upper": np.zeros(size),
        "last": np.zeros(size, dtype=np.int64),
        "pieces": [],
    }
    limit = N_MAX_CAP if n_max is None else n_max
    rows = np.arange(size)
    n = 0
    while rows.size and n <= limit:
        sub = {k: v[rows] for k, v in patterns.items()}
        p = pmf(params, n, t, **sub).reshape(-1, rows.size).mean(axis=0)
        before = out["cdf"][rows]
        after = before + p
        out["cdf"][rows] = after
        out["mean"][rows] += n * p
        out["second"][rows] += float(n) ** 2 * p
        out["last"][rows] = n
        for j, level in enumerate(levels):
            hit = np.isnan(out["quantiles"][j, rows]) & (after >= level - _CDF_SLACK)
            out["quantiles"][j, rows[hit]] = n
        if need is not None:
            at = need[rows] == n
            out["lower"][rows[at]], out["upper"][rows[at]] = before[at], after[at]
        if keep:
            out["pieces"].append((rows, n, p))
        if n_max is None:
            done = 1 - after < tail_tol if tail_tol is not None else np.ones(rows.size, bool)
            done &= ~np.isnan(out["quantiles"][:, rows]).any(axis=0)
            if need is not None:
                done &= need[rows] <= n
            rows = rows[~done]
        n += 1
    return out


def _thinned(draws: Mapping[str, np.ndarray], max_draws: int | None) -> dict[str, np.ndarray]:
    """At most ``max_draws`` draws, evenly spaced over the flattened (chain, draw) axis."""
    total = _draws.n_draws(draws)
    if max_draws is None or total <= _whole(max_draws, 1, MAX_DRAWS_MESSAGE):
        return dict(draws)
    keep = np.unique(np.linspace(0, total - 1, int(max_draws)).round())
    return {k: v.reshape(1, -1)[:, keep.astype(int)] for k, v in draws.items()}


def _mixture(model, t, data, *, levels, tail_tol, n_max, need=None, keep=False, max_draws=None):
    """Run :func:`_scan` over chunks of unique patterns; per-pattern results and the map back.

    ``need`` (optional, per customer) is part of the pattern key, so :func:`pit` can ask for
    the cdf at each customer's own count.
    """
    pmf = _conditional_pmf(model)
    t = _check_horizon(model, t)
    numeric = isinstance(tail_tol, float | int | np.number) and not isinstance(tail_tol, bool)
    if tail_tol is not None and (not numeric or not 1e-13 <= tail_tol < 0.5):
        raise ValidationError(TAIL_TOL_MESSAGE.format(value=tail_tol))
    if n_max is not None:
        n_max = _whole(n_max, 0, N_MAX_MESSAGE)
    arrays = dict(model._prediction_arrays(data))
    if need is not None:
        arrays["_need"] = need
    patterns, inverse = unique_rows(arrays)
    need_p = patterns.pop("_need").astype(np.int64) if need is not None else None
    n_patterns = inverse.max(initial=-1) + 1
    draws = _thinned(model._draws, max_draws)
    params = _draws.with_customer_axis(draws)
    chunk = max(1, PMF_CHUNK_ELEMENTS // _draws.n_draws(draws))
    parts = []
    for start in range(0, n_patterns, chunk):
        block = slice(start, min(start + chunk, n_patterns))
        parts.append(
            _scan(
                pmf,
                params,
                t,
                {k: v[block] for k, v in patterns.items()},
                levels=levels,
                tail_tol=tail_tol,
                n_max=n_max,
                need=None if need_p is None else need_p[block],
                keep=keep,
            )
        )
    result = {k: np.concatenate([p[k] for p in parts], axis=-1) for k in parts[0] if k != "pieces"}
    result["tail"] = np.maximum(1 - result["cdf"], 0.0)
    result["n_draws"] = _draws.n_draws(draws)
    if n_max is not None:
        unset = np.isnan(result["quantiles"]).any(axis=0)
        if unset.any():
            warnings.warn(
                FIXED_N_MAX_WARNING.format(n=int(unset.sum()), total=unset.size, n_max=n_max),
                PredictiveTailWarning,
                stacklevel=3,
            )
    elif tail_tol is not None:
        short = result["tail"] >= tail_tol
        if short.any():
            warnings.warn(
                CAP_WARNING.format(
                    n=int(short.sum()),
                    total=short.size,
                    tail=float(result["tail"].max()),
                    n_max=N_MAX_CAP,
                ),
                PredictiveTailWarning,
                stacklevel=3,
            )
    if keep:
        width = int(result["last"].max()) + 1
        dense = np.zeros((n_patterns, width))
        for start, part in zip(range(0, n_patterns, chunk), parts, strict=True):
            for rows, n, p in part["pieces"]:
                dense[start + rows, n] = p
        result["pmf"] = dense
    return result, inverse, t


# ---------------------------------------------------------------------------- public API
def predictive_purchases(
    model,
    t: float,
    data: pd.DataFrame,
    *,
    quantiles: Sequence[float] | None = None,
    interval: float | None = None,
    n_max: int | None = None,
    tail_tol: float = TAIL_TOL,
    max_draws: int | None = None,
    return_pmf: bool = False,
):
    """Predictive distribution of each customer's purchase count in the next ``t`` units.

    The mixture over parameter draws of the model's conditional pmf (module docstring).

    Parameters
    ----------
    model : BetaGeo, ParetoNBD, ModifiedBetaGeo or BetaGeoBetaBinom
        A fitted purchase model (a point fit, Laplace draws or a Bayesian posterior).
    t : float
        Horizon in the summary's time unit (BG/BB: a whole number of periods).
    data : pandas.DataFrame
        Per-customer summary with the columns the model needs, indexed by customer id.
    quantiles : sequence of float, optional
        Levels whose quantiles of the count are returned, as columns ``q05``, ``q50``...
        (the smallest ``n`` with ``P(Y <= n) >= level``).
    interval : float, optional
        Coverage of a central predictive interval: columns ``lower``, ``upper`` (the
        ``(1 - interval)/2`` and ``(1 + interval)/2`` quantiles).
    n_max : int, optional
        Evaluate ``n = 0..n_max`` for every customer. Default: per customer, until the tail
        mass is below ``tail_tol`` (up to :data:`N_MAX_CAP`, with a
        :class:`PredictiveTailWarning` if that is not enough).
    tail_tol : float
        Tail mass allowed when ``n_max`` is chosen (default :data:`TAIL_TOL`).
    max_draws : int, optional
        Use at most this many parameter draws, evenly spaced over (chain, draw) (thinning).
        Default: all. The cost is proportional to the number of draws; parameter uncertainty
        is a small part of the predictive spread, so a few hundred draws usually suffice.
    return_pmf : bool
        Also return the pmf, an array ``(customer, n)`` in the caller's order.

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, numpy.ndarray)
        ``mean``, ``sd``, the quantile columns, ``lower``/``upper``, and ``tail_mass``
        (``P(Y > n_max)`` for that customer, not included in the other columns).

    Examples
    --------
    >>> import models
    >>> from models.predictive import predictive_purchases
    >>> cal = models.datasets.load_cdnow_summary()
    >>> bg = models.BetaGeo().fit(cal)
    >>> out = predictive_purchases(bg, 39, cal, interval=0.8)
    >>> out.loc[[1, 2], ["mean", "lower", "upper"]].round(3)
                  mean  lower  upper
    customer_id
    1            1.226    0.0    3.0
    2            0.203    0.0    1.0
    """
    names, levels = _check_levels(quantiles, interval)
    result, inverse, t = _mixture(
        model,
        t,
        data,
        levels=levels,
        tail_tol=tail_tol,
        n_max=n_max,
        keep=return_pmf,
        max_draws=max_draws,
    )
    mean = result["mean"]
    columns = {"mean": mean, "sd": np.sqrt(np.maximum(result["second"] - mean**2, 0.0))}
    columns |= dict(zip(names, result["quantiles"], strict=True))
    columns["tail_mass"] = result["tail"]
    frame = pd.DataFrame({k: v[inverse] for k, v in columns.items()}, index=data.index)
    frame.attrs.update(
        {
            "quantity": "predictive_purchases",
            "t": t,
            "n_max": int(result["last"].max()),
            "n_draws": result["n_draws"],
            "interval": interval,
        }
    )
    if return_pmf:
        return frame, result["pmf"][inverse]
    return frame


def pit(
    model,
    t: float,
    data: pd.DataFrame,
    actual: pd.Series,
    rng: np.random.Generator,
    *,
    max_draws: int | None = None,
):
    """Randomised PIT of each customer's observed count under its predictive distribution.

    ``u = F(y - 1) + v (F(y) - F(y - 1))``, ``v ~ Uniform(0, 1)``
    (:func:`models.evaluate.randomized_pit`); uniform when the predictive distribution is
    right, so :func:`models.evaluate.pit_coverage` gives the coverage of central intervals.

    Parameters
    ----------
    model, t, data, max_draws
        As in :func:`predictive_purchases`.
    actual : pandas.Series
        Observed purchases in the ``t`` units after each customer's summary (e.g. the holdout
        count), indexed by customer id; reordered to ``data``'s index.
    rng : numpy.random.Generator
        Source of the uniform draws.

    Returns
    -------
    pandas.Series
        PIT values in [0, 1], indexed like ``data``.
    """
    _check_rng(rng)
    y = _aligned(actual, "actual", data.index, "data")
    bad = (y < 0) | (y != np.round(y)) | (y > N_MAX_CAP)
    if bad.any():
        raise rule_error("actual", ACTUAL_RULE.format(cap=N_MAX_CAP), bad, data.index)
    # F(y - 1) and F(y) need the pmf up to each customer's own count only.
    result, inverse, _ = _mixture(
        model, t, data, levels=[], tail_tol=None, n_max=None, need=y, max_draws=max_draws
    )
    values = evaluate.randomized_pit(
        np.minimum(result["lower"][inverse], 1.0), np.minimum(result["upper"][inverse], 1.0), rng
    )
    return pd.Series(values, index=data.index, name="pit")


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
    while samples.size and n <= N_MAX_CAP:
        sub = {k: v[pairs] for k, v in patterns.items()}
        cdf[pairs] += pmf(_take(params, pairs), n, t, **sub)
        reached = cdf[pair[samples]]
        done = (reached >= u[samples]) | (1 - reached < _CDF_SLACK)
        y[samples[done]] = n
        samples = samples[~done]
        pairs = pairs[(cdf[pairs] < u_max[pairs]) & (1 - cdf[pairs] >= _CDF_SLACK)]
        n += 1
    if samples.size:
        y[samples] = N_MAX_CAP
        warnings.warn(
            CAP_WARNING.format(
                n=np.unique(pair[samples]).size,
                total=cdf.size,
                tail=float(1 - cdf[pair[samples]].min()),
                n_max=N_MAX_CAP,
            ),
            PredictiveTailWarning,
            stacklevel=3,
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
    chunk = max(1, PMF_CHUNK_ELEMENTS // n_samples)
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
