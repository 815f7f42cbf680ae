"""Shared test set-up: float64 on (importing nnmle does it), small real data sets."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

import nnmle  # noqa: F401  (enables float64 before any array is made)


@pytest.fixture(scope="session")
def breast_cancer():
    """Standardized breast-cancer inputs and 0/1 targets."""
    X, y = load_breast_cancer(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y.astype(float)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
