"""Shared test set-up: float64 on (importing nnmle does it), small real data sets."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

import nnmle  # noqa: F401  (enables float64 before any array is made)
from nnmle._config import release_compiled


@pytest.fixture(autouse=True)
def _stay_under_the_map_limit():
    """A worker compiles thousands of programs: clear them before the kernel's map limit."""
    release_compiled()
    yield


@pytest.fixture(scope="session")
def breast_cancer():
    """Standardized breast-cancer inputs and 0/1 targets."""
    X, y = load_breast_cancer(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y.astype(float)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
