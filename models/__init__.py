"""Customer lifetime value: buy-till-you-die models, fitted by maximum likelihood or PyMC.

Public names only; see the README for a tour.
"""

from models import datasets
from models._validation import ConvergenceError, NotFittedError, ValidationError
from models.bgnbd import BetaGeo

__version__ = "0.1.0"

__all__ = [
    "BetaGeo",
    "ConvergenceError",
    "NotFittedError",
    "ValidationError",
    "datasets",
]
