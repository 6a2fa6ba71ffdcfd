"""Customer lifetime value: buy-till-you-die models, fitted by maximum likelihood or PyMC.

Public names only; see the README for a tour.
"""

from models import baseline, clv, datasets, evaluate, plots
from models._validation import ConvergenceError, NotFittedError, ValidationError
from models.bgbb import BetaGeoBetaBinom
from models.bgnbd import BetaGeo
from models.clv import customer_lifetime_value, residual_lifetime_value
from models.data import CalibrationHoldout, calibration_holdout, rfm_summary
from models.gamma_gamma import GammaGamma, SpendFrequencyCorrelationWarning
from models.mbgnbd import ModifiedBetaGeo
from models.pareto_nbd import ParetoNBD

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
    "SpendFrequencyCorrelationWarning",
    "ValidationError",
    "baseline",
    "calibration_holdout",
    "clv",
    "customer_lifetime_value",
    "datasets",
    "evaluate",
    "plots",
    "residual_lifetime_value",
    "rfm_summary",
]
