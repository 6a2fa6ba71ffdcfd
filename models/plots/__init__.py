"""The figures users expect: tracking, conditional expectations, matrices, deciles, LTV, coverage.

Conventions shared by every function:

- it draws on ``ax`` (a new figure when ``ax`` is None) and returns the Axes; it never calls
  ``plt.show()`` and never changes ``rcParams``;
- predictions are evaluated on the model's parameter draws; a band is the central
  ``interval`` of the plotted quantity over those draws (parameter uncertainty of an expected
  value), drawn only when the model carries more than one draw (Laplace or Bayesian fit);
- time is in the model's time unit (``model.time_unit_``, or ``time_unit=``).

Calendar-time functions (tracking, matrices) need a continuous-time purchase model
(:class:`~models.BetaGeo`, Pareto/NBD, MBG/NBD); the purchase-count check also takes BG/BB.
Diagnostics of Bayesian fits are ArviZ's own (:func:`plot_trace`, :func:`plot_posterior`,
:func:`plot_pair` only hand ``model.idata`` to them).

The functions live in submodules, each with its references; import them from here:

- :mod:`models.plots.tracking`: :func:`tracking_table`, :func:`plot_cumulative_transactions`,
  :func:`plot_incremental_transactions` (calendar time, FHL05 Figures 2-3);
- :mod:`models.plots.fit`: :func:`plot_conditional_expectations` (FHL05 Figure 4),
  :func:`plot_purchase_count_check` (posterior predictive check, FHL05 Figure 1);
- :mod:`models.plots.matrices`: :func:`plot_frequency_recency_matrix`,
  :func:`plot_p_alive_matrix`, :func:`plot_expected_purchases_matrix`;
- :mod:`models.plots.value`: :func:`plot_value_deciles`, :func:`plot_ltv_distribution` (model
  CLV against the rule of thumb);
- :mod:`models.plots.coverage`: :func:`plot_interval_coverage`;
- :mod:`models.plots.diagnostics`: :func:`plot_trace`, :func:`plot_posterior`,
  :func:`plot_pair` (ArviZ).
"""

# the colours and unit names, module constants of the former single-file plots (not in __all__)
from models.plots._common import ACTUAL_COLOR as ACTUAL_COLOR
from models.plots._common import BASELINE_COLOR as BASELINE_COLOR
from models.plots._common import MODEL_COLOR as MODEL_COLOR
from models.plots._common import UNIT_NAMES as UNIT_NAMES
from models.plots.coverage import plot_interval_coverage
from models.plots.diagnostics import plot_pair, plot_posterior, plot_trace
from models.plots.fit import plot_conditional_expectations, plot_purchase_count_check
from models.plots.matrices import (
    plot_expected_purchases_matrix,
    plot_frequency_recency_matrix,
    plot_p_alive_matrix,
)
from models.plots.tracking import (
    plot_cumulative_transactions,
    plot_incremental_transactions,
    tracking_table,
)
from models.plots.value import plot_ltv_distribution, plot_value_deciles

__all__ = [
    "plot_conditional_expectations",
    "plot_cumulative_transactions",
    "plot_expected_purchases_matrix",
    "plot_frequency_recency_matrix",
    "plot_incremental_transactions",
    "plot_interval_coverage",
    "plot_ltv_distribution",
    "plot_p_alive_matrix",
    "plot_pair",
    "plot_posterior",
    "plot_purchase_count_check",
    "plot_trace",
    "plot_value_deciles",
    "tracking_table",
]
