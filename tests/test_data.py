"""Input validation and formulas: every error names what was expected, what came, the fix."""

import json

import numpy as np
import pandas as pd
import pytest

from nnmle.data import (
    Design,
    check_formula,
    check_weights,
    check_X,
    factor_variables,
    formula_X,
    prepare,
    spec_from_json,
    spec_to_json,
    split_offsets,
)
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


# --- formulas on raw data: offsets, missing values, columns by name -----------------------


def test_split_offsets_and_formula_variables():
    assert split_offsets("y ~ x + offset(np.log(t)) - 1") == ("y ~ x - 1", ("np.log(t)",))
    assert split_offsets("y ~ x") == ("y ~ x", ())
    assert factor_variables("C(site, levels=['a']) + I(x ** 2)") == {"site", "x"}


def test_offsets_weights_and_exposure_as_columns():
    df = pd.DataFrame(
        {"y": [1.0, 0, 2, 3, 1, 4], "x": np.arange(6.0), "t": [1.0, 2, 1, 2, 4, 1], "w": 2.0}
    )
    fam = get_family("poisson")
    prep = prepare("y ~ .", None, fam, data=df, weights="w", exposure="t")
    # named columns are not inputs of "y ~ ."
    assert prep.input_names == ("x",) and prep.w.tolist() == [2.0] * 6
    np.testing.assert_allclose(prep.offset, np.log(df.t))
    assert prep.design.exposure_column == "t" and prep.design.has_offset
    prep2 = prepare("y ~ x + offset(np.log(t))", None, fam, data=df)
    np.testing.assert_allclose(prep2.offset, np.log(df.t))
    new = df.iloc[:2]
    np.testing.assert_allclose(prep2.design.offset(new), np.log(new.t))
    np.testing.assert_allclose(prep.design.offset(new), np.log(new.t))
    np.testing.assert_allclose(prep.design.offset(new, exposure=[5.0, 5.0]), np.log([5.0, 5.0]))


@pytest.mark.parametrize(
    ("kwargs", "family", "message"),
    [
        ({"offset": "nope"}, "poisson", r"offset='nope' names no column.*it has.*Fix"),
        ({"exposure": "t"}, "gaussian", r"exposure= is for log-link families.*identity.*Fix"),
        ({"offset": "t"}, "bernoulli", r"offset is supported for .*got family='bernoulli'.*Fix"),
        ({"exposure": "z"}, "poisson", r"exposure must be finite and > 0.*got 1 value.*Fix"),
        ({"weights": "neg"}, "poisson", r"weights must be finite and >= 0.*1 negative.*Fix"),
        ({"na_action": "omit"}, "poisson", r"na_action must be 'drop'.*got 'omit'.*Fix"),
    ],
)
def test_bad_offsets_weights_and_na_action_are_explained(kwargs, family, message):
    df = pd.DataFrame({"y": [1.0, 0, 1], "x": [0.0, 1, 2], "t": [1.0, 2, 3], "z": [1.0, 0, 2],
                       "neg": [1.0, -1, 1]})  # fmt: skip
    with pytest.raises(ValueError, match=message):
        prepare("y ~ x", None, get_family(family), data=df, **kwargs)


def test_missing_values_are_dropped_or_raise():
    X = np.array([[1.0], [np.nan], [3.0], [4.0]])
    y = np.array([1.0, 2.0, None, 4.0], dtype=object)
    with pytest.warns(UserWarning, match=r"2 of 4 rows with missing values.*'X': 1.*'y': 1"):
        prep = prepare(X, y, get_family("gaussian"))
    assert prep.X[:, 0].tolist() == [1.0, 4.0] and prep.design.n_dropped == 2
    with pytest.raises(ValueError, match=r"Missing values.*'X': 1.*Fix: na_action='drop'"):
        prepare(X, y, get_family("gaussian"), na_action="raise")


@pytest.fixture(scope="module")
def site_design():
    df = pd.DataFrame({"y": [0, 1, 0, 1, 1, 0], "radius": np.arange(6.0), "site": list("abcabc")})
    return prepare("y ~ radius + C(site)", None, get_family("bernoulli"), data=df).design


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ({"radius": [1.0]}, r"lack column\(s\) \['site'\].*formula.*they have \['radius'\].*Fix"),
        (
            {"radius": [1.0], "site": ["d"]},
            r"Column 'site' has level\(s\) \['d'\] not seen.*seen were \['a', 'b', 'c'\].*Fix",
        ),
        (
            {"radius": ["1.5"], "site": ["a"]},
            r"Column 'radius' has dtype .* but was numeric at fit time.*Fix: convert",
        ),
        (
            {"radius": [np.nan], "site": ["a"]},
            r"Column 'radius' has 1 missing value.*expected complete rows.*Fix",
        ),
    ],
)
def test_new_data_are_checked_against_the_fit(site_design, new, message):
    with pytest.raises(ValueError, match=message):
        site_design.matrix(pd.DataFrame(new), 3)


def test_model_spec_to_json_and_back_gives_the_same_design():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"y": rng.normal(size=30), "x": rng.normal(size=30)})
    df["g"], df["h"] = rng.choice(list("abc"), 30), rng.choice(["u", "v"], 30)
    formula = "y ~ center(x) + C(g, contr.sum) + poly(x, 2) + x:h"
    prep = prepare(formula, None, get_family("gaussian"), data=df)
    blob = json.loads(json.dumps(spec_to_json(prep.design.model_spec)))
    spec, columns = spec_from_json(blob)
    new = df.sample(10, random_state=1)
    np.testing.assert_array_equal(formula_X(spec, new), prep.design.matrix(new, prep.X.shape[1]))
    assert [c for c in columns if c != "Intercept"] == list(prep.input_names)


@pytest.mark.parametrize(
    "formula",
    [
        "y ~ I(__import__('os').system('true'))",
        "y ~ I(open('x').read())",
        "y ~ np.load('x')",
        "y ~ I(x.__class__)",
        "y ~ I((lambda: 1)())",
        "y ~ I(getattr(x, 'y'))",
    ],
)
def test_a_formula_with_code_is_refused(formula):
    with pytest.raises(ValueError, match="unsafe formula"):
        check_formula(formula)
