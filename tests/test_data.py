"""Input validation and formulas: every error names what was expected, what came, the fix."""

import numpy as np
import pandas as pd
import pytest

from nnmle.data import Design, check_weights, check_X, prepare
from nnmle.families import get_family


@pytest.mark.parametrize(
    ("X", "message"),
    [
        ("y ~ x", "is a string.*Fix"),
        (np.zeros(3), "must be 2-D.*Fix: X.reshape"),
        (np.zeros((0, 2)), "is empty"),
        (np.array([[1.0, np.nan]]), "NaN or infinite.*Fix"),
        (np.array([["a", "b"]]), "must be numeric.*Fix"),
        (pd.DataFrame({"a": ["u", "v"]}), r"non-numeric column\(s\) \['a'\].*Fix"),
    ],
)
def test_bad_X_is_explained(X, message):
    with pytest.raises(ValueError, match=message):
        check_X(X)


def test_columns_and_weights():
    with pytest.raises(ValueError, match="has 2 columns but the model was fitted with 3"):
        check_X(np.zeros((2, 2)), 3)
    assert check_weights(None, 3).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match=r"weights must have shape \(3,\)"):
        check_weights(np.ones(2), 3)
    with pytest.raises(ValueError, match="finite and >= 0"):
        check_weights(np.array([1.0, -1.0, 1.0]), 3)


def test_formula_and_design_of_new_data():
    df = pd.DataFrame({"y": [0, 1, 0, 1, 1, 0], "x": np.arange(6.0), "g": list("abcabc")})
    prep = prepare("y ~ x + C(g)", None, get_family("bernoulli"), data=df)
    assert prep.input_names == ("x", "C(g)[T.b]", "C(g)[T.c]")
    assert prep.X.shape == (6, 3) and prep.classes == (0, 1)
    design = prep.design
    assert isinstance(design, Design) and design.formula == "y ~ x + C(g)"
    new = pd.DataFrame({"x": [10.0], "g": ["c"]})
    np.testing.assert_array_equal(design.matrix(new, 3), [[10.0, 0.0, 1.0]])
    with pytest.raises(ValueError, match="needs a data frame"):
        prepare("y ~ x", None, get_family("bernoulli"))
    with pytest.raises(ValueError, match="has no response"):
        prepare("~ x", None, get_family("bernoulli"), data=df)
    with pytest.raises(ValueError, match="X has 6 rows but y has 5"):
        prepare(np.zeros((6, 1)), np.zeros(5), get_family("gaussian"))
