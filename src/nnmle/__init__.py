"""nnmle: maximum (penalized) likelihood for feed-forward neural networks.

Fit a network the way a statistician fits a GLM, and see what classical MLE
theory does not give you for it (uniqueness, convexity, identifiability).

The public names are imported on first use (``import nnmle`` stays light);
``nnmle.fit`` is :func:`nnmle.api.fit`, ``nnmle.symmetry`` the symmetry package,
and so on (see ``__all__``).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

from . import _config  # noqa: F401  (float64, compilation cache: before any array)

__version__ = "0.1.0"

#: public name -> module that defines it
_NAMES = {
    "FAMILIES": "families",
    "Family": "families",
    "get_family": "families",
    "infer_family": "families",
    "Architecture": "networks",
    "Layer": "networks",
    "Params": "networks",
    "Penalty": "penalties",
    "Problem": "problem",
    "StartResult": "starts",
    "Store": "starts",
    "FitResult": "api",
    "fit": "api",
    "load": "api",
    "multistart": "api",
    "path": "api",
    "free_energy": "singular",
    "learning_coefficient": "singular",
    "select_hidden": "singular",
    "waic": "singular",
    "wbic": "singular",
    "Campaign": "multistart",
    "identifiability": "identifiability",
    "anova": "inference",
    "bootstrap": "inference",
    "infer": "inference",
    "information_criteria": "inference",
    "lr_test": "inference",
    "wald_inputs": "inference",
    "from_nnet": "interop",
    "from_sklearn": "interop",
    "escape_saddle": "landscape",
    "hessian_spectrum": "landscape",
    "loss_barrier": "landscape",
    "nonconvexity_certificate": "landscape",
    "landscape_report": "multistart",
    "MLEClassifier": "estimators",
    "MLERegressor": "estimators",
}

#: sub-packages and modules reachable as attributes (``nnmle.symmetry``)
_MODULES = {
    "api",
    "data",
    "estimation",
    "estimators",
    "families",
    "identifiability",
    "inference",
    "interop",
    "landscape",
    "modelfile",
    "multistart",
    "networks",
    "penalties",
    "problem",
    "regularization",
    "report",
    "singular",
    "solvers",
    "starts",
    "symmetry",
}

__all__ = sorted([*_NAMES, "symmetry"])


def __getattr__(name: str):
    if name in _NAMES:
        value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)  # (the import binds it)
    raise AttributeError(f"module 'nnmle' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMES) | _MODULES)


#: modules whose name is also a public function: ``nnmle.multistart`` is the function
_SHADOWED = {"identifiability", "multistart"}


class _Package(types.ModuleType):
    """Keeps ``nnmle.identifiability``/``nnmle.multistart`` the functions when the import
    system binds the submodules of the same names (they stay in ``sys.modules``)."""

    def __setattr__(self, name, value):
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


if TYPE_CHECKING:  # for type checkers and IDEs: the eager view of the lazy names
    from . import symmetry  # noqa: F401
    from .api import FitResult, fit, load, multistart, path  # noqa: F401
    from .estimators import MLEClassifier, MLERegressor  # noqa: F401
    from .families import FAMILIES, Family, get_family, infer_family  # noqa: F401
    from .identifiability import identifiability  # noqa: F401
    from .inference import (  # noqa: F401
        anova,
        bootstrap,
        infer,
        information_criteria,
        lr_test,
        wald_inputs,
    )
    from .interop import from_nnet, from_sklearn  # noqa: F401
    from .landscape import (  # noqa: F401
        escape_saddle,
        hessian_spectrum,
        loss_barrier,
        nonconvexity_certificate,
    )
    from .multistart import (
        Campaign,  # noqa: F401
        landscape_report,  # noqa: F401
    )
    from .networks import Architecture, Layer, Params  # noqa: F401
    from .penalties import Penalty  # noqa: F401
    from .problem import Problem  # noqa: F401
    from .singular import free_energy, learning_coefficient, select_hidden, waic, wbic  # noqa: F401
    from .starts import StartResult, Store  # noqa: F401
