"""Holdout scorecard: predicted purchases and value against what customers then did.

Every metric compares two per-customer Series indexed by the same customer ids: a prediction
(expected holdout purchases or value) and the actual holdout outcome. Ranking metrics treat
tied predictions as randomly ordered (their expectation is reported), so a rule that gives
every customer the same number captures exactly the top share of value and has Gini 0.

The parts, each with its references; import the names from here:

- :mod:`models.evaluate.holdout`: :func:`scorecard` (overall and by segment) and
  :func:`segment_customers` (``SEGMENTS``);
- :mod:`models.evaluate.metrics`: :func:`top_share_captured`, :func:`normalized_gini`,
  :func:`spearman`, :func:`coverage`, on Series aligned on their customer ids (or plain
  arrays matched by position);
- :mod:`models.evaluate.pit`: :func:`randomized_pit` and :func:`pit_coverage`, the
  calibration of predictive distributions of counts.
"""

from models.evaluate.holdout import SEGMENTS, scorecard, segment_customers
from models.evaluate.metrics import coverage, normalized_gini, spearman, top_share_captured
from models.evaluate.pit import pit_coverage, randomized_pit

__all__ = [
    "SEGMENTS",
    "coverage",
    "normalized_gini",
    "pit_coverage",
    "randomized_pit",
    "scorecard",
    "segment_customers",
    "spearman",
    "top_share_captured",
]
