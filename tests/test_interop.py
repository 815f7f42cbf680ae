"""Tests of nnmle.interop: scikit-learn MLPs and R nnet weight vectors."""

import copy
import shutil
import subprocess
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

import nnmle
from nnmle import symmetry as S

RNG = np.random.default_rng(0)
X = RNG.normal(size=(120, 3))


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def fitted(model, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def test_sklearn_binary_classifier():
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    m = fitted(
        MLPClassifier(hidden_layer_sizes=(4,), activation="tanh", max_iter=200, random_state=0), y
    )
    imp = nnmle.from_sklearn(m)
    assert imp.arch.describe() == "3-4-1 tanh"
    assert imp.family.name == "bernoulli" and imp.classes == (0, 1)
    np.testing.assert_allclose(imp.predict(X), m.predict_proba(X)[:, 1], rtol=1e-12, atol=1e-14)


def test_sklearn_multiclass_becomes_a_baseline_multinomial():
    y = np.digitize(X[:, 0] + 0.5 * X[:, 2], [-0.5, 0.5])
    m = fitted(
        MLPClassifier(hidden_layer_sizes=(5, 3), activation="relu", max_iter=300, random_state=1), y
    )
    imp = nnmle.from_sklearn(m)
    assert imp.arch.n_outputs == 2 and imp.family.name == "multinomial"  # K - 1 outputs
    assert imp.arch.output_names == ("y[1]", "y[2]")
    np.testing.assert_allclose(imp.predict(X), m.predict_proba(X), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("act", ["logistic", "identity", "relu"])
def test_sklearn_regressor(act):
    y = np.sin(X[:, 0]) + X[:, 1]
    m = fitted(
        MLPRegressor(hidden_layer_sizes=(6,), activation=act, max_iter=200, random_state=0), y
    )
    imp = nnmle.from_sklearn(m)
    assert imp.family.name == "gaussian" and imp.output == "identity"
    np.testing.assert_allclose(imp.predict(X), m.predict(X), rtol=1e-12, atol=1e-12)


def test_sklearn_multi_output_has_no_family_but_exact_weights():
    Y = np.column_stack([X[:, 0], X[:, 1] * X[:, 2]])
    m = fitted(MLPRegressor(hidden_layer_sizes=(5,), max_iter=100, random_state=0), Y)
    imp = nnmle.from_sklearn(m)
    assert imp.family is None
    np.testing.assert_allclose(imp.predict(X), m.predict(X), rtol=1e-12, atol=1e-12)


def test_are_two_sklearn_models_the_same_network():
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    m = fitted(
        MLPClassifier(hidden_layer_sizes=(6,), activation="tanh", max_iter=300, random_state=0), y
    )
    twin = copy.deepcopy(m)
    perm, signs = RNG.permutation(6), RNG.choice([-1.0, 1.0], 6)
    twin.coefs_[0] = m.coefs_[0][:, perm] * signs
    twin.intercepts_[0] = m.intercepts_[0][perm] * signs
    twin.coefs_[1] = m.coefs_[1][perm] * signs[:, None]
    np.testing.assert_allclose(twin.predict_proba(X), m.predict_proba(X), atol=1e-12)
    a, b = nnmle.from_sklearn(m), nnmle.from_sklearn(twin)
    assert not np.allclose(a.theta, b.theta)
    assert S.equivalent(a.params, b.params, a.arch)
    other = nnmle.from_sklearn(
        fitted(
            MLPClassifier(hidden_layer_sizes=(6,), activation="tanh", max_iter=300, random_state=1),
            y,
        )
    )
    assert not S.equivalent(a.params, other.params, a.arch)


def test_from_sklearn_rejects_unfitted_models():
    with pytest.raises(ValueError, match="fitted"):
        nnmle.from_sklearn(MLPClassifier())


# --- R nnet -----------------------------------------------------------------------------------

#   b->h1 i1->h1 i2->h1 | b->h2 i1->h2 i2->h2 | b->o h1->o h2->o i1->o i2->o
WTS = [0.5, 1.0, -2.0, -0.3, 0.7, 0.4, 0.2, 1.5, -1.1, 0.8, -0.6]


def direct(x, wts, skip=True):
    """nnet's documented formula for a 2-2-1 network, written out by hand."""
    h1 = sigmoid(wts[0] + wts[1] * x[:, 0] + wts[2] * x[:, 1])
    h2 = sigmoid(wts[3] + wts[4] * x[:, 0] + wts[5] * x[:, 1])
    out = wts[6] + wts[7] * h1 + wts[8] * h2
    return out + (wts[9] * x[:, 0] + wts[10] * x[:, 1] if skip else 0.0)


def test_from_nnet_hand_constructed_weights():
    x = X[:, :2]
    imp = nnmle.from_nnet(WTS, (2, 2, 1), skip=True, linout=True)
    assert imp.arch.describe() == "2-2-1 logistic +skip" and imp.family.name == "gaussian"
    np.testing.assert_allclose(imp.predict(x), direct(x, WTS), rtol=1e-14)
    logit = nnmle.from_nnet(WTS, (2, 2, 1), skip=True)
    assert logit.family.name == "bernoulli"
    np.testing.assert_allclose(logit.predict(x), sigmoid(direct(x, WTS)), rtol=1e-14)
    no_skip = nnmle.from_nnet(WTS[:9], (2, 2, 1), linout=True)
    np.testing.assert_allclose(no_skip.predict(x), direct(x, WTS, skip=False), rtol=1e-14)


def test_from_nnet_softmax_converts_to_k_minus_1_outputs():
    x = X[:, :2]
    # 2-1-3 softmax: hidden (b, i1, i2), then per output (b, h1)
    wts = [0.1, 1.0, -1.0, 0.3, 2.0, -0.2, -1.0, 0.5, 0.5]
    h = sigmoid(0.1 + x[:, 0] - x[:, 1])
    logits = np.column_stack([0.3 + 2.0 * h, -0.2 - h, 0.5 + 0.5 * h])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    imp = nnmle.from_nnet(wts, (2, 1, 3), softmax=True, classes=["a", "b", "c"])
    assert imp.arch.n_outputs == 2 and imp.family.name == "multinomial"
    np.testing.assert_allclose(imp.predict(x), p, rtol=1e-13)


def test_from_nnet_size_zero_is_a_glm():
    imp = nnmle.from_nnet([0.5, 1.0, -2.0], (2, 0, 1), skip=True)
    assert imp.arch.hidden == ()
    np.testing.assert_allclose(imp.predict(X[:, :2]), sigmoid(0.5 + X[:, 0] - 2 * X[:, 1]))


def test_from_nnet_checks_the_length():
    with pytest.raises(ValueError, match="has 11"):
        nnmle.from_nnet(WTS[:10], (2, 2, 1), skip=True)
    with pytest.raises(ValueError, match="skip"):
        nnmle.from_nnet([1.0], (2, 0, 1))


R_SCRIPT = r"""
suppressMessages(library(nnet))
d <- read.csv("{data}")
x <- as.matrix(d[, c("x1", "x2", "x3")])
set.seed(1)
m1 <- nnet(x, d$y, size = 3, linout = TRUE, skip = TRUE, decay = 0.01, trace = FALSE, maxit = 200)
cls <- factor(d$k)
m2 <- nnet(x, class.ind(cls), size = 2, softmax = TRUE, decay = 0.01, trace = FALSE, maxit = 200)
m3 <- nnet(x, d$b, size = 2, entropy = TRUE, decay = 0.01, trace = FALSE, maxit = 200)
w <- function(v) cat(sprintf("%.17g", v), sep = " ", fill = FALSE)
for (m in list(m1, m2, m3)) {{ w(m$wts); cat("\n"); w(t(fitted(m))); cat("\n") }}
"""


def _have_r_nnet() -> bool:
    if shutil.which("Rscript") is None:
        return False
    ok = subprocess.run(
        ["Rscript", "-e", "library(nnet)"], capture_output=True, timeout=60, check=False
    )
    return ok.returncode == 0


@pytest.mark.skipif(not _have_r_nnet(), reason="Rscript with the nnet package is not installed")
def test_from_nnet_matches_r(tmp_path):
    y = X[:, 0] - X[:, 1] + 0.1 * np.random.default_rng(3).normal(size=X.shape[0])
    k = np.digitize(X[:, 2], [-0.5, 0.5])
    b = (X[:, 0] + X[:, 2] > 0).astype(int)
    path = tmp_path / "d.csv"
    rows = ["x1,x2,x3,y,k,b"] + [
        ",".join(f"{v:.17g}" for v in (*X[i], y[i])) + f",{k[i]},{b[i]}" for i in range(len(y))
    ]
    path.write_text("\n".join(rows) + "\n")
    out = subprocess.run(
        ["Rscript", "-e", R_SCRIPT.format(data=path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split("\n")
    vec = [np.array(line.split(), dtype=float) for line in out[:6]]
    models = [
        nnmle.from_nnet(vec[0], (3, 3, 1), skip=True, linout=True),
        nnmle.from_nnet(vec[2], (3, 2, 3), softmax=True),
        nnmle.from_nnet(vec[4], (3, 2, 1)),
    ]
    for imp, r_fitted in zip(models, (vec[1], vec[3], vec[5]), strict=True):
        # nnet's C code rounds sigmoid(z) to 0 or 1 for |z| > 15 (an error of at most
        # exp(-15) = 3.1e-7 per unit, times its outgoing weight); nnmle does not. Rows
        # where no hidden unit reaches |z| = 15 agree to rounding.
        pred = imp.predict(X).reshape(X.shape[0], -1)
        ref = r_fitted.reshape(pred.shape)
        W, b = (np.asarray(a) for a in imp.params.layers[0])
        exact = np.abs(X @ W + b).max(axis=1) < 15
        assert exact.sum() >= 10
        np.testing.assert_allclose(pred[exact], ref[exact], rtol=1e-12, atol=1e-14)
        bound = 3.1e-7 * np.abs(np.asarray(imp.params.layers[-1].W)).sum()
        np.testing.assert_allclose(pred, ref, rtol=0, atol=bound)
