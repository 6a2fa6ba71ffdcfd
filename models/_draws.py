"""Evaluate a prediction over parameter draws and summarise it per customer.

Parameter draws are a mapping ``name -> array (chain, draw)``; a maximum-likelihood fit is
the ``1 x 1`` case. Prediction functions take such a mapping with a trailing customer axis
added (:func:`with_customer_axis`) and return ``(chain, draw, customer)``. Customers are
processed in chunks so memory stays bounded however many customers and draws there are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from models._validation.arguments import check_interval

#: Target number of (draw x customer) values held at once when summarising.
CHUNK_ELEMENTS = 2_000_000


def with_customer_axis(params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Append a length-1 customer axis to every parameter array (for broadcasting)."""
    return {name: np.asarray(value, dtype=float)[..., None] for name, value in params.items()}


def n_draws(params: Mapping[str, np.ndarray]) -> int:
    """Total number of parameter draws (chain x draw)."""
    return int(np.prod(np.shape(next(iter(params.values())))))


def interval_bounds(interval: float) -> tuple[float, float]:
    """Quantile levels of a central interval with the given coverage."""
    check_interval(interval)
    return (1 - interval) / 2, (1 + interval) / 2


def chunk_slices(n_items: int, values_per_item: int, budget: int | None = None) -> list[slice]:
    """Consecutive slices covering ``range(n_items)``, each of at most ``budget`` values.

    An item (a customer or a pattern) holds ``values_per_item`` values at once (e.g. one per
    draw); a slice has at least one item whatever the budget (default
    :data:`CHUNK_ELEMENTS`, read at each call).
    """
    budget = CHUNK_ELEMENTS if budget is None else budget
    size = max(1, budget // max(values_per_item, 1))
    return [slice(start, min(start + size, n_items)) for start in range(0, n_items, size)]


def summarize(
    compute: Callable[[slice], np.ndarray],
    n_customers: int,
    draws_per_customer: int,
    interval: float | None,
    index: pd.Index,
    name: str,
) -> pd.Series | pd.DataFrame:
    """Per-customer mean (and sd, interval) of ``compute(chunk) -> (..., chunk_size)``.

    Parameters
    ----------
    compute : callable
        Given a slice of customers, returns the prediction for those customers with every
        leading axis a draw axis.
    n_customers : int
        Number of customers.
    draws_per_customer : int
        Number of values per customer ``compute`` returns (to size chunks).
    interval : float or None
        Central interval coverage; ``None`` returns the mean only, as a Series.
    index : pandas.Index
        Customer ids, in order.
    name : str
        Name of the Series (or the DataFrame's ``attrs['quantity']``).
    """
    columns: dict[str, list[np.ndarray]] = {"mean": [], "sd": [], "lower": [], "upper": []}
    for part in chunk_slices(n_customers, draws_per_customer):
        values = np.asarray(compute(part))
        values = values.reshape(-1, values.shape[-1])
        columns["mean"].append(values.mean(axis=0))
        if interval is not None:
            low, high = interval_bounds(interval)
            columns["sd"].append(
                values.std(axis=0, ddof=1) if values.shape[0] > 1 else np.zeros(values.shape[-1])
            )
            lower, upper = np.quantile(values, [low, high], axis=0)
            columns["lower"].append(lower)
            columns["upper"].append(upper)
    if interval is None:
        return pd.Series(np.concatenate(columns["mean"]), index=index, name=name)
    frame = pd.DataFrame(
        {key: np.concatenate(parts) for key, parts in columns.items()}, index=index
    )
    frame.attrs.update({"quantity": name, "interval": interval})
    return frame


def as_data_array(values: np.ndarray, index: pd.Index, name: str):
    """Wrap a ``(chain, draw, customer)`` array as an ``xarray.DataArray``."""
    import xarray as xr

    values = np.asarray(values)
    if values.ndim == 1:
        values = values[None, None, :]
    return xr.DataArray(
        values,
        dims=("chain", "draw", index.name or "customer_id"),
        coords={index.name or "customer_id": index.to_numpy()},
        name=name,
    )
