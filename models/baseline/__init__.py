"""The rule of thumb LTV = S x C x P x t and the variants businesses use.

Every quantity is computed from a calibration summary (``frequency``, ``recency``, ``T``,
``total_value``, optionally ``n_transactions``, with ``attrs["time_unit"]``), and times are
converted to months of ``365.2425 / 12`` days (never a 30-day month). The parts, each with its
definitions and references; import the names from here:

- :mod:`models.baseline.ingredients`: S, C, the observed and the retention lifetime t
  (definitions shared by the variants), :func:`ltv`, :func:`retention_lifetime`,
  :func:`months_per_unit`;
- :mod:`models.baseline.rule`: :class:`RuleOfThumb`, a computed rule and its prediction of a
  future window (how a lifetime caps the window);
- :mod:`models.baseline.variants`: :func:`rule_of_thumb` (``VARIANTS``), and
  :func:`all_variants` (``ALL_VARIANTS``), every variant's window prediction.
"""

from models.baseline.ingredients import ltv, months_per_unit, retention_lifetime
from models.baseline.rule import RuleOfThumb
from models.baseline.variants import ALL_VARIANTS, VARIANTS, all_variants, rule_of_thumb

__all__ = [
    "ALL_VARIANTS",
    "VARIANTS",
    "RuleOfThumb",
    "all_variants",
    "ltv",
    "months_per_unit",
    "retention_lifetime",
    "rule_of_thumb",
]
