"""nnmle: maximum (penalized) likelihood for feed-forward neural networks.

Fit a network the way a statistician fits a GLM, and see what classical MLE
theory does not give you for it (uniqueness, convexity, identifiability).
"""

from . import (
    _config,  # noqa: F401  (float64, compilation cache: before any array)
    symmetry,
)
from .estimators import MLEClassifier, MLERegressor
from .families import FAMILIES, Family, get_family
from .fit import FitResult, StartResult, fit
from .identifiability import identifiability
from .inference import bootstrap, infer, information_criteria, lr_test, wald_inputs
from .interop import from_nnet, from_sklearn
from .landscape import escape_saddle, hessian_spectrum, loss_barrier, nonconvexity_certificate
from .multistart import Campaign, landscape_report, multistart
from .networks import Architecture, Layer, Params
from .penalties import Penalty
from .regularization import path
from .store import Store, load

__version__ = "0.1.0"

__all__ = [
    "FAMILIES",
    "Architecture",
    "Campaign",
    "Family",
    "FitResult",
    "Layer",
    "MLEClassifier",
    "MLERegressor",
    "Params",
    "Penalty",
    "StartResult",
    "Store",
    "bootstrap",
    "escape_saddle",
    "fit",
    "from_nnet",
    "from_sklearn",
    "get_family",
    "hessian_spectrum",
    "identifiability",
    "infer",
    "information_criteria",
    "landscape_report",
    "load",
    "loss_barrier",
    "lr_test",
    "multistart",
    "nonconvexity_certificate",
    "path",
    "symmetry",
    "wald_inputs",
]
