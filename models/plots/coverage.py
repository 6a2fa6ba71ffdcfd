"""Calibration of predictive intervals: empirical against nominal coverage.

References
----------
.. [CGH09] Czado, C., Gneiting, T. & Held, L. (2009). Predictive Model Assessment for Count
   Data. Biometrics 65(4), 1254-1261: coverage of predictive intervals.

The coverage itself is measured by :func:`models.evaluate.pit_coverage` (randomised PIT).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from scipy import stats

from models import _validation
from models.plots._common import _axes

__all__ = ["plot_interval_coverage"]


def plot_interval_coverage(
    coverage,
    *,
    n_customers: int | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Empirical vs nominal coverage of predictive intervals, with the diagonal.

    Points on the dotted diagonal mean intervals cover as often as they claim; below it they
    are too narrow. With ``n_customers``, the grey band is the 95 % sampling range of the
    empirical coverage of a correct model (normal approximation to the binomial).

    Parameters
    ----------
    coverage : mapping or pandas.Series or pandas.DataFrame
        Nominal level -> empirical coverage (e.g. :func:`models.evaluate.pit_coverage`); a
        DataFrame (levels as index) or a mapping of name -> such a mapping draws one line each.
    n_customers : int, optional
        Number of customers the coverage was measured on.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if isinstance(coverage, pd.DataFrame):
        lines = {str(c): coverage[c] for c in coverage.columns}
    elif isinstance(coverage, Mapping) and all(
        isinstance(v, Mapping | pd.Series) for v in coverage.values()
    ):
        lines = {str(k): pd.Series(v) for k, v in coverage.items()}
    else:
        lines = {"empirical": pd.Series(coverage)}
    ax = _axes(ax, figsize=(5.0, 5.0))
    ax.plot([0, 1], [0, 1], color="0.5", linestyle=":", label="nominal = empirical")
    if n_customers is not None:
        grid = np.linspace(0, 1, 201)
        half = stats.norm.ppf(0.975) * np.sqrt(grid * (1 - grid) / n_customers)
        ax.fill_between(
            grid,
            grid - half,
            grid + half,
            color="0.85",
            linewidth=0,
            label=f"95 % sampling range (n = {n_customers})",
        )
    for name, series in lines.items():
        series = series.sort_index()
        levels = series.index.to_numpy(dtype=float)
        values = series.to_numpy(dtype=float)
        if ((levels <= 0) | (levels >= 1) | (values < 0) | (values > 1)).any():
            raise _validation.plot_coverage_range(name)
        ax.plot(levels, values, "o-", label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("nominal coverage of the interval")
    ax.set_ylabel("share of actual outcomes inside")
    ax.set_title("Interval coverage")
    ax.legend(loc="upper left", fontsize="small")
    return ax
