"""Frequency x recency matrices: P(alive) and expected purchases of every purchase history.

Each cell is the model's own prediction (its P(alive), or its conditional expectation of
purchases in the next ``horizon``; see the model's module for the equations) for one
``(x, t_x)`` at a fixed age ``T``, averaged over parameter draws. They need a continuous-time
purchase model (:class:`~models.BetaGeo`, Pareto/NBD, MBG/NBD).
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes

from models import _validation
from models.plots._common import _axes, _duration, _flat_params, _require_continuous

__all__ = [
    "plot_expected_purchases_matrix",
    "plot_frequency_recency_matrix",
    "plot_p_alive_matrix",
]


def plot_frequency_recency_matrix(
    model,
    T: float,
    *,
    quantity: str = "p_alive",
    horizon: float = 1.0,
    max_frequency: int = 20,
    n_recency: int = 40,
    recency=None,
    cmap: str = "viridis",
    ax: Axes | None = None,
) -> Axes:
    """Heatmap of P(alive) or expected purchases over frequency x recency, at age ``T``.

    Each cell is a customer with ``x`` repeat purchases (rows, 0 at the bottom), the last at
    recency ``t_x`` (columns, 0 to ``T``), observed for ``T`` time units; its colour is the
    prediction averaged over parameter draws. Customers with ``x = 0`` have ``t_x = 0`` only,
    so the rest of the bottom row is blank.

    Parameters
    ----------
    model : fitted continuous-time purchase model
    T : float
        Customer age (time since first purchase) the matrix is drawn for.
    quantity : {"p_alive", "expected_purchases"}
        What to colour by: probability of being alive at ``T``, or expected purchases in the
        next ``horizon`` time units.
    horizon : float
        Horizon of ``expected_purchases``.
    max_frequency : int
        Largest frequency shown.
    n_recency : int
        Number of recency values, evenly spaced on ``[0, T]``.
    recency : array_like, optional
        Explicit increasing recency values in ``[0, T]`` (replaces ``n_recency``).
    cmap : str
        Matplotlib colormap.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Its first collection is the ``QuadMesh``; ``get_array()`` gives the values
        (``max_frequency + 1`` rows by one column per recency, masked where impossible).
    """
    if quantity not in ("p_alive", "expected_purchases"):
        raise _validation.plot_matrix_quantity(quantity)
    if not T > 0:
        raise _validation.plot_matrix_age(T)
    function = model._module_function(quantity)
    _require_continuous(function, model)
    frequency = np.arange(max_frequency + 1, dtype=float)
    if recency is None:
        recency = np.linspace(0.0, T, n_recency)
    recency = np.asarray(recency, dtype=float)
    if recency.ndim != 1 or (np.diff(recency) <= 0).any() or recency[0] < 0 or recency[-1] > T:
        raise _validation.plot_matrix_recency(T)
    x, t_x = (g.ravel() for g in np.meshgrid(frequency, recency, indexing="ij"))
    extra = {"t": horizon} if quantity == "expected_purchases" else {}
    values = function(_flat_params(model), x=x, t_x=t_x, T=np.full_like(x, T), **extra)
    grid = np.asarray(values).reshape(-1, x.size).mean(axis=0).reshape(frequency.size, -1)
    grid = np.ma.masked_where((frequency[:, None] == 0) & (recency[None, :] > 0), grid)

    ax = _axes(ax)
    mesh = ax.pcolormesh(recency, frequency, grid, cmap=cmap, shading="nearest")
    if quantity == "p_alive":
        mesh.set_clim(0.0, 1.0)
    label = (
        "P(alive)"
        if quantity == "p_alive"
        else f"expected purchases in next {_duration(model, horizon)}"
    )
    ax.figure.colorbar(mesh, ax=ax, label=label)
    ax.set_xlabel("recency t_x (time of last purchase)")
    ax.set_ylabel("frequency x (repeat purchases)")
    ax.set_title(f"{label}, customers of age T = {T:g}")
    return ax


def plot_p_alive_matrix(model, T: float, **kwargs) -> Axes:
    """P(alive) over frequency x recency (see :func:`plot_frequency_recency_matrix`)."""
    return plot_frequency_recency_matrix(model, T, quantity="p_alive", **kwargs)


def plot_expected_purchases_matrix(model, T: float, horizon: float = 1.0, **kwargs) -> Axes:
    """Expected purchases in the next ``horizon`` over frequency x recency (see above)."""
    return plot_frequency_recency_matrix(
        model, T, quantity="expected_purchases", horizon=horizon, **kwargs
    )
