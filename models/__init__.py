"""Customer lifetime value: buy-till-you-die models, fitted by maximum likelihood or PyMC.

Public names only; see the README for a tour.
"""

from models import baseline, clv, datasets, evaluate, plots, predictive
from models._validation import ConvergenceError, NotFittedError, ValidationError
from models.bgbb import BetaGeoBetaBinom
from models.bgnbd import BetaGeo
from models.clv import customer_lifetime_value, residual_lifetime_value
from models.data import (
    CalibrationHoldout,
    calibration_holdout,
    discrete_calibration_holdout,
    discrete_summary,
    rfm_summary,
)
from models.gamma_gamma import GammaGamma, SpendFrequencyCorrelationWarning
from models.mbgnbd import ModifiedBetaGeo
from models.pareto_nbd import ParetoNBD
from models.predictive import PredictiveTailWarning, predictive_purchases, predictive_spend

__version__ = "0.1.0"

__all__ = [
    "BetaGeo",
    "BetaGeoBetaBinom",
    "CalibrationHoldout",
    "ConvergenceError",
    "GammaGamma",
    "ModifiedBetaGeo",
    "NotFittedError",
    "ParetoNBD",
    "PredictiveTailWarning",
    "SpendFrequencyCorrelationWarning",
    "ValidationError",
    "baseline",
    "calibration_holdout",
    "clv",
    "customer_lifetime_value",
    "datasets",
    "discrete_calibration_holdout",
    "discrete_summary",
    "evaluate",
    "plots",
    "predictive",
    "predictive_purchases",
    "predictive_spend",
    "residual_lifetime_value",
    "rfm_summary",
]
