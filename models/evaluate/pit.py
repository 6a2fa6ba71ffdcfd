"""Calibration of predictive distributions of counts: the randomised PIT and its coverage.

References
----------
.. [CGH09] Czado, C., Gneiting, T. & Held, L. (2009). Predictive Model Assessment for Count
   Data. Biometrics 65(4), 1254-1261: the randomised PIT for discrete predictive distributions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models._validation import ValidationError, rule_error

__all__ = ["pit_coverage", "randomized_pit"]


def randomized_pit(cdf_lower, cdf_upper, rng: np.random.Generator) -> np.ndarray:
    """Randomised probability integral transform for discrete outcomes [CGH09].

    For an observed count ``y`` with predictive CDF ``F``: ``u = F(y - 1) + v (F(y) - F(y - 1))``
    with ``v ~ Uniform(0, 1)``. Under the true predictive distribution ``u`` is exactly
    Uniform(0, 1), so central intervals of level ``l`` (``u`` in ``[(1 - l)/2, (1 + l)/2]``)
    cover a share ``l`` of customers (see :func:`pit_coverage`).

    Parameters
    ----------
    cdf_lower : array_like
        ``P(Y < y) = F(y - 1)`` per customer (0 when ``y = 0``).
    cdf_upper : array_like
        ``P(Y <= y) = F(y)`` per customer.
    rng : numpy.random.Generator
        Source of the uniform draws.

    Returns
    -------
    numpy.ndarray
        PIT values in [0, 1], one per customer.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValidationError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got "
            f"{type(rng).__name__}."
        )
    lower = np.asarray(cdf_lower, dtype=float)
    upper = np.asarray(cdf_upper, dtype=float)
    if lower.shape != upper.shape:
        raise ValidationError(
            f"cdf_lower and cdf_upper must have the same shape, got {lower.shape} and "
            f"{upper.shape}."
        )
    ids = np.arange(lower.size)
    tol = 1e-12
    for name, values in (("cdf_lower", lower), ("cdf_upper", upper)):
        flat = values.ravel()
        bad = ~np.isfinite(flat) | (flat < -tol) | (flat > 1 + tol)
        if bad.any():
            raise rule_error(
                name, "must be a probability in [0, 1]", bad, ids, {name: flat}, id_name="row"
            )
    bad = (lower > upper + tol).ravel()
    if bad.any():
        raise rule_error(
            "cdf_lower",
            "must be <= cdf_upper",
            bad,
            ids,
            {"cdf_lower": lower.ravel(), "cdf_upper": upper.ravel()},
            id_name="row",
        )
    v = rng.uniform(size=lower.shape)
    return np.clip(lower + v * (upper - lower), 0.0, 1.0)


def pit_coverage(pit, levels=(0.5, 0.8, 0.9)) -> pd.Series:
    """Share of PIT values inside each central interval ``[(1 - l)/2, (1 + l)/2]``.

    Equals the empirical coverage of the central predictive intervals of level ``l``; should be
    close to ``l`` when the predictive distribution is right.

    Examples
    --------
    >>> pit_coverage([0.1, 0.4, 0.5, 0.7], levels=(0.5,)).tolist()
    [0.75]
    """
    pit = np.asarray(pit, dtype=float).ravel()
    bad = ~np.isfinite(pit) | (pit < 0) | (pit > 1)
    if bad.any():
        raise rule_error(
            "pit", "must be in [0, 1]", bad, np.arange(pit.size), {"pit": pit}, id_name="row"
        )
    out = {}
    for level in levels:
        if not 0 < level < 1:
            raise ValidationError(f"levels must be in (0, 1), got {level}.")
        lo, hi = (1 - level) / 2, (1 + level) / 2
        out[level] = float(np.mean((pit >= lo) & (pit <= hi)))
    return pd.Series(out, name="coverage").rename_axis("level")
