"""nnmle: maximum (penalized) likelihood for feed-forward neural networks.

Fit a network the way a statistician fits a GLM, and see what classical MLE
theory does not give you for it (uniqueness, convexity, identifiability).
"""

from . import _config  # noqa: F401  (float64, compilation cache: before any array)
from .estimators import MLEClassifier, MLERegressor
from .families import FAMILIES, Family, get_family
from .fit import FitResult, StartResult, fit
from .networks import Architecture, Layer, Params
from .penalties import Penalty
from .store import Store, load

__version__ = "0.1.0"

__all__ = [
    "FAMILIES",
    "Architecture",
    "Family",
    "FitResult",
    "Layer",
    "MLEClassifier",
    "MLERegressor",
    "Params",
    "Penalty",
    "StartResult",
    "Store",
    "fit",
    "get_family",
    "load",
]
