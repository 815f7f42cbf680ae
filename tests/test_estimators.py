"""The scikit-learn layer: the estimator contract, label handling, GLM anchors."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils import estimator_checks as checks
from sklearn.utils.estimator_checks import parametrize_with_checks

import nnmle
from nnmle import MLEClassifier, MLERegressor

# Small networks keep the contract suite fast (its time is JAX compiling the L-BFGS loop once
# per new data shape). Weight decay l2=1 makes the checks' tiny problems well posed: the
# penalized MLE is finite on their separable data sets and is reached to tol=1e-9, so that
# check_sample_weight_equivalence (weighted and repeated rows agree to 1e-7) holds. No check
# of the suite is skipped or expected to fail.
SMALL = dict(hidden=(3,), l2=1.0, max_iter=300, tol=1e-9)


def _quiet(test):
    """Silence the expected warnings of short fits on the checks' tiny data sets."""
    test = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")(test)
    return pytest.mark.filterwarnings("ignore:The network has .* parameters:UserWarning")(test)


@parametrize_with_checks(
    [MLERegressor(**SMALL), MLEClassifier(**SMALL)],
)
@_quiet
def test_sklearn_contract(estimator, check):
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks(
    [MLERegressor(family="poisson", **SMALL)],
)
@_quiet
def test_sklearn_contract_poisson(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "check",
    [
        checks.check_regressors_train,  # positive targets through the positive_only tag
        checks.check_sample_weight_equivalence_on_dense_data,
        checks.check_fit_idempotent,
        checks.check_estimators_pickle,
        checks.check_supervised_y_no_nan,
    ],
)
@_quiet
def test_sklearn_contract_poisson_quick(check):
    """The poisson-specific part of the contract (the whole suite is marked slow)."""
    check("MLERegressor", MLERegressor(family="poisson", **SMALL))


def test_tags_follow_the_family():
    assert MLERegressor(family="poisson").__sklearn_tags__().target_tags.positive_only
    assert not MLERegressor().__sklearn_tags__().target_tags.positive_only


@pytest.fixture(scope="module")
def cancer10(breast_cancer):
    """Ten standardized columns of the breast-cancer data: no separation, a finite MLE."""
    X, y = breast_cancer
    return X[:, :10], y


def test_glm_classifier_matches_logistic_regression(cancer10):
    X, y = cancer10
    clf = MLEClassifier(hidden=(), tol=1e-8).fit(X, y)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)
    assert clf.result_.converged
    np.testing.assert_allclose(clf.coefs_[0][:, 0], ref.coef_[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(clf.intercepts_[0], ref.intercept_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), ref.predict(X))


def test_string_labels_round_trip(cancer10):
    X, y = cancer10
    labels = np.where(y == 1, "benign", "malignant")
    clf = MLEClassifier(hidden=(), tol=1e-8).fit(X, labels)
    assert clf.classes_.tolist() == ["benign", "malignant"]
    assert clf.predict(X).dtype == clf.classes_.dtype
    assert set(clf.predict(X)) == {"benign", "malignant"}
    assert clf.score(X, labels) > 0.9
    # the bernoulli output models P(classes_[1]) = P(malignant) = P(y == 0)
    codes = MLEClassifier(hidden=(), tol=1e-8).fit(X, 1 - y)
    np.testing.assert_allclose(clf.predict_proba(X), codes.predict_proba(X), atol=1e-9)
    assert "P(class = 'malignant')" in str(clf.summary())


def test_binary_proba_and_decision_agree(cancer10):
    X, y = cancer10
    clf = MLEClassifier(hidden=(2,), l2=1.0).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (X.shape[0], 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-clf.decision_function(X))))
    assert [c.shape for c in clf.coefs_] == [(10, 2), (2, 1)]
    assert [b.shape for b in clf.intercepts_] == [(2,), (1,)]


def test_convergence_warning(cancer10):
    X, y = cancer10
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        MLEClassifier(hidden=(2,), l2=1.0, max_iter=2).fit(X, y)


def test_multinomial_on_iris():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = MLEClassifier(hidden=(2,), l2=0.1).fit(X, names)
    assert clf.result_.family.name == "multinomial"
    assert clf.result_.arch.n_outputs == 2  # K - 1: the first class is the baseline
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_array_equal(clf.decision_function(X)[:, 0], 0.0)
    assert clf.score(X, names) > 0.95
    text = str(clf.summary())
    assert "y[versicolor]" in text and "baseline class: 'setosa'" in text


def test_summary_and_feature_names(cancer10):
    X, y = cancer10
    names = [f"f{j}" for j in range(10)]
    clf = MLEClassifier(hidden=(), tol=1e-8).fit(pd.DataFrame(X, columns=names), y)
    np.testing.assert_array_equal(clf.feature_names_in_, names)
    text = str(clf.summary())
    assert "bernoulli" in text and "f3->y" in text and "P(class = 1.0)" in text
    assert clf.objective_ == pytest.approx(-clf.loglik_)  # no penalty: objective = NLL
    assert clf.n_iter_ == clf.result_.n_iter >= 1


def test_regressor_gaussian_glm_is_least_squares(rng):
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=50)
    reg = MLERegressor(hidden=(), tol=1e-9).fit(X, y)
    coef, *_ = np.linalg.lstsq(np.column_stack([X, np.ones(50)]), y, rcond=None)
    np.testing.assert_allclose(reg.coefs_[0][:, 0], coef[:3], atol=1e-7)
    np.testing.assert_allclose(reg.intercepts_[0], coef[3:], atol=1e-7)
    assert "gaussian" in str(reg.summary())


def test_poisson_regressor_needs_counts(rng):
    X = rng.normal(size=(30, 2))
    with pytest.raises(ValueError, match="counts >= 0"):
        MLERegressor(family="poisson", hidden=()).fit(X, -np.ones(30))
    y = rng.poisson(np.exp(0.5 * X[:, 0]))
    reg = MLERegressor(family="poisson", hidden=()).fit(X, y)
    assert np.all(reg.predict(X) > 0)
    again = pickle.loads(pickle.dumps(reg))  # a Family travels by name
    assert again.result_.family is nnmle.get_family("poisson")
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))


def test_regressor_rejects_classification_family(rng):
    with pytest.raises(ValueError, match="MLEClassifier"):
        MLERegressor(family="bernoulli").fit(rng.normal(size=(5, 2)), np.ones(5))


def test_one_class_after_weights_is_explained(rng):
    X = rng.normal(size=(10, 2))
    y = np.arange(10) % 2
    with pytest.raises(ValueError, match="only one class"):
        MLEClassifier().fit(X, y, sample_weight=y)


def test_diabetes_with_its_raw_target_gives_a_useful_fit_or_says_why_not():
    """The diabetes target has mean 152 and sd 77, its inputs sd 0.05: starts drawn on the
    standardized scale (nnmle's convention) give R^2 >= 0.4 as standardized data do, and R
    nnet's raw starts end on the intercept-only plateau, which the status says."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    for seed in range(3):
        reg = MLERegressor(hidden=(3,), random_state=seed).fit(X, y)
        assert reg.score(X, y) >= 0.4, (seed, reg.result_.status)
    with pytest.warns(UserWarning, match="plateau"):
        raw = nnmle.fit(X, y, hidden=(3,), family="gaussian", init_scale="raw", seed=0)
    assert raw.status == "plateau" and "intercept-only" in raw.message


# --- issue 13: scikit-learn's parameter names, class weights, warm starts, more families ----


def test_random_state_and_the_deprecated_aliases(cancer10):
    X, y = cancer10
    a = MLEClassifier(hidden=(2,), l2=1.0, random_state=3, n_starts=2).fit(X, y)
    with pytest.warns(FutureWarning, match=r"seed=\.\.\.\) is deprecated.*use random_state"):
        b = MLEClassifier(hidden=(2,), l2=1.0, seed=3, n_starts=2).fit(X, y)
    with pytest.warns(FutureWarning, match=r"n_restarts=\.\.\.\) is deprecated.*use n_starts"):
        c = MLEClassifier(hidden=(2,), l2=1.0, random_state=3, n_restarts=2).fit(X, y)
    assert np.array_equal(a.result_.theta, b.result_.theta)
    assert np.array_equal(a.result_.theta, c.result_.theta) and len(c.result_.restarts) == 2
    rs = np.random.RandomState(0)
    d = MLEClassifier(hidden=(), random_state=rs).fit(X, y)  # a RandomState draws the seed
    assert d.result_.seed >= 0


def test_class_weight_balanced_equals_the_sample_weights(cancer10):
    from sklearn.utils.class_weight import compute_sample_weight

    X, y = cancer10
    a = MLEClassifier(hidden=(), class_weight="balanced").fit(X, y)
    b = MLEClassifier(hidden=()).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_allclose(a.result_.theta, b.result_.theta, rtol=1e-9)
    c = MLEClassifier(hidden=(), class_weight={0: 1.0, 1: 3.0}).fit(X, y)
    d = MLEClassifier(hidden=()).fit(X, y, sample_weight=np.where(y == 1, 3.0, 1.0))
    np.testing.assert_allclose(c.result_.theta, d.result_.theta, rtol=1e-9)


@pytest.mark.parametrize(
    ("class_weight", "message"),
    [
        ("even", r"class_weight must be None, 'balanced' or a dict.*got 'even'.*Fix"),
        (
            {0: 1.0, 7: 2.0},
            r"must map the classes \[0.0, 1.0\] to weights >= 0; got unknown labels \[7\].*Fix",
        ),
        ({0: -1.0}, r"bad weights for \[0\].*Fix"),
    ],
)
def test_bad_class_weights_are_explained(cancer10, class_weight, message):
    X, y = cancer10
    with pytest.raises(ValueError, match=message):
        MLEClassifier(hidden=(), class_weight=class_weight).fit(X, y)


def test_warm_start_starts_from_the_last_fit(cancer10, capsys):
    X, y = cancer10
    clf = MLEClassifier(hidden=(2,), l2=1.0, warm_start=True, verbose=1).fit(X, y)
    first = clf.result_
    out = capsys.readouterr().out
    assert "[MLEClassifier] start 0: objective" in out and "best of 1 start(s)" in out
    clf.fit(X, y)
    assert clf.result_.n_iter <= 2 and clf.result_.objective == pytest.approx(first.objective)
    clf.set_params(hidden=(3,))
    with pytest.warns(UserWarning, match="changed shape since the last fit, so it starts afresh"):
        clf.fit(X, y)


def test_regressors_for_counts_positive_data_and_several_outputs(rng):
    X = rng.normal(size=(200, 2))
    mu = np.exp(0.3 + 0.4 * X[:, 0])
    for family, y in (
        ("negative_binomial", rng.negative_binomial(2.0, 2.0 / (2.0 + mu)).astype(float)),
        ("gamma", rng.gamma(2.0, mu / 2.0)),
    ):
        reg = MLERegressor(family=family, hidden=()).fit(X, y)
        direct = nnmle.fit(X, y, family=family, hidden=())
        np.testing.assert_allclose(reg.predict(X[:5]), direct.predict(X[:5]), rtol=1e-9)
    Y = X @ rng.normal(size=(2, 3)) + 0.1 * rng.normal(size=(200, 3))
    reg = MLERegressor(hidden=()).fit(X, Y)
    assert reg.predict(X[:4]).shape == (4, 3) and reg.score(X, Y) > 0.9
    assert reg.__sklearn_tags__().target_tags.multi_output
    col = MLERegressor(hidden=()).fit(X, Y[:, :1])
    assert col.predict(X[:4]).shape == (4, 1)  # the shape of y, as scikit-learn's regressors
