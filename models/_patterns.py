"""Unique customer patterns: compress rows for fitting, evaluate predictions once per pattern.

A model sees a customer only through a few sufficient statistics (e.g. ``x``, ``t_x``, ``T``),
and many customers share them. Fitting works on the unique rows with their counts
(:func:`compress_patterns`); predictions are evaluated on the unique rows and gathered back to
the customers (:func:`summarize_by_pattern`). Pure functions of arrays, shared by
:mod:`models._base`, :mod:`models.clv`, :mod:`models.predictive` and :mod:`models.plots`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from models import _draws


def unique_rows(arrays: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Unique rows of equal-length 1-d arrays, and each row's position among them.

    Each column is hashed to integer codes and the codes are folded pairwise into one key
    (re-factorised at every step, so it never overflows): linear time, no row sort. Unique
    rows keep the order of their first occurrence.

    Returns
    -------
    patterns : dict
        The unique rows, same keys as ``arrays``.
    inverse : numpy.ndarray
        ``patterns[k][inverse] == arrays[k]`` for every key.
    """
    names = list(arrays)
    columns = [np.asarray(arrays[n], dtype=float) for n in names]
    key, _ = pd.factorize(columns[0])
    for column in columns[1:]:
        codes, uniques = pd.factorize(column)
        key, _ = pd.factorize(key.astype(np.int64) * len(uniques) + codes)
    n_unique = int(key.max()) + 1 if key.size else 0
    first_row = np.full(n_unique, key.size, dtype=np.int64)
    np.minimum.at(first_row, key, np.arange(key.size))
    return {n: c[first_row] for n, c in zip(names, columns, strict=True)}, key


def compress_patterns(
    arrays: Mapping[str, np.ndarray], weights: np.ndarray | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Collapse rows to unique patterns with their (weighted) counts.

    Parameters
    ----------
    arrays : mapping
        Equal-length 1-d arrays (the sufficient statistics, e.g. ``x``, ``t_x``, ``T``).
    weights : numpy.ndarray, optional
        Number of customers each row stands for (default 1).

    Returns
    -------
    patterns : dict
        The unique rows, same keys.
    counts : numpy.ndarray
        Total weight of each unique row.

    Examples
    --------
    >>> p, c = compress_patterns({"x": np.array([0, 1, 0]), "T": np.array([5, 5, 5])})
    >>> p["x"].tolist(), c.tolist()
    ([0.0, 1.0], [2.0, 1.0])
    """
    patterns, inverse = unique_rows(arrays)
    w = np.ones(inverse.size) if weights is None else np.asarray(weights, dtype=float)
    counts = np.bincount(inverse, weights=w, minlength=len(next(iter(patterns.values()))))
    return patterns, counts


def evaluate_on_patterns(
    function: Callable,
    draws: Mapping[str, np.ndarray],
    arrays: Mapping[str, np.ndarray],
    index: pd.Index,
    name: str,
    interval: float | None,
    return_draws: bool,
    **kwargs,
):
    """Evaluate ``function(params, **kwargs, **arrays)`` per unique pattern, then per customer.

    A prediction depends on a customer only through ``arrays`` (the sufficient statistics),
    so customers sharing a pattern share every draw of it: evaluating unique patterns and
    gathering is exact and, on real data, several times cheaper.
    """
    params = _draws.with_customer_axis(draws)
    return summarize_by_pattern(
        lambda patterns: function(params, **kwargs, **patterns),
        arrays,
        np.shape(next(iter(draws.values()))),
        index,
        name,
        interval,
        return_draws,
    )


def summarize_by_pattern(
    compute: Callable[[dict], np.ndarray],
    arrays: Mapping[str, np.ndarray],
    draw_shape: tuple[int, int],
    index: pd.Index,
    name: str,
    interval: float | None,
    return_draws: bool,
    values_per_draw: int = 1,
):
    """Summarise ``compute(pattern_arrays) -> (chain, draw, n)`` over draws, per customer.

    ``compute`` receives slices of the unique rows of ``arrays``; results are expanded back
    to the customers of ``index`` (same order). ``values_per_draw`` is how many values per
    draw and pattern ``compute`` holds at once (e.g. one per horizon): it sizes the chunks.
    """
    patterns, inverse = unique_rows(arrays)
    n_patterns = len(next(iter(patterns.values())))
    # Sorted by the columns with fewest distinct values first, so each chunk holds runs of
    # equal leading columns that a prediction may evaluate once (e.g. BG/NBD's (x, T)).
    keys = sorted(patterns, key=lambda k: pd.unique(patterns[k]).size)
    order = np.lexsort([patterns[k] for k in reversed(keys)])
    patterns = {k: v[order] for k, v in patterns.items()}
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    inverse = rank[inverse]

    def on_chunk(chunk: slice) -> np.ndarray:
        return compute({k: v[chunk] for k, v in patterns.items()})

    n_draws = int(np.prod(draw_shape))
    if return_draws:
        parts = [
            np.broadcast_to(on_chunk(part), (*draw_shape, part.stop - part.start))
            for part in _draws.chunk_slices(n_patterns, n_draws * values_per_draw)
        ]
        values = np.concatenate(parts, axis=-1) if parts else np.zeros((*draw_shape, 0))
        return _draws.as_data_array(values[..., inverse], index, name)
    summary = _draws.summarize(
        on_chunk, n_patterns, n_draws * values_per_draw, interval, pd.RangeIndex(n_patterns), name
    )
    expanded = summary.iloc[inverse]
    expanded.index = index
    return expanded
