"""The user's entry point ``nnmle.fit`` and the ``FitResult`` façade: a network without hidden
layer is a GLM (statsmodels is the truth); gradients against finite differences; determinism,
statuses, multi-start; model files through the façade; clear errors for bad input."""

import json
import shutil
import subprocess
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

import nnmle
from nnmle.api import FitResult
from nnmle.data import Data
from nnmle.estimation import Estimate
from nnmle.families import FAMILIES
from nnmle.networks import ACTIVATIONS, Architecture, unravel
from nnmle.penalties import Penalty
from nnmle.problem import Problem, objective
from nnmle.starts import LocalExecutor, starting_values

TIGHT = dict(tol=1e-9, max_iter=20000)


def _standardize(X):
    return (X - X.mean(0)) / X.std(0)


def _check_glm(res, sm_res, n_params):
    """Coefficients (bias last in nnmle's order) and fit statistics equal statsmodels'."""
    coef = np.concatenate([res.theta[-1:], res.theta[:-1]])
    np.testing.assert_allclose(coef, np.asarray(sm_res.params), rtol=1e-6, atol=1e-8)
    assert res.loglik == pytest.approx(sm_res.llf, rel=1e-6)
    assert res.aic == pytest.approx(sm_res.aic, rel=1e-6)
    assert res.bic == pytest.approx(-2 * sm_res.llf + n_params * np.log(res.n_obs), rel=1e-6)
    assert res.n_params == n_params
    assert res.status == "converged"


def test_gaussian_glm_equals_statsmodels():
    X, y = load_diabetes(return_X_y=True)
    res = nnmle.fit(X, y, hidden=(), family="gaussian", **TIGHT)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Gaussian()).fit()
    _check_glm(res, ref, 11)
    assert res.deviance == pytest.approx(ref.deviance, rel=1e-6)
    assert res.null_deviance == pytest.approx(ref.null_deviance, rel=1e-9)
    assert res.scale == pytest.approx(ref.scale, rel=1e-6)  # statsmodels': Pearson / df_resid
    assert res.estimate.scale == pytest.approx(ref.deviance / res.n_obs, rel=1e-6)  # sigma^2, ML


def test_bernoulli_glm_equals_statsmodels():
    X, y = load_breast_cancer(return_X_y=True)
    X = _standardize(X[:, [0, 1, 4]])
    res = nnmle.fit(X, y, hidden=(), family="bernoulli", **TIGHT)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit()
    _check_glm(res, ref, 4)
    assert res.deviance == pytest.approx(ref.deviance, rel=1e-6)
    assert res.null_deviance == pytest.approx(ref.null_deviance, rel=1e-9)


def test_binomial_proportions_with_trials_equal_statsmodels(rng):
    X = rng.normal(size=(80, 2))
    trials = rng.integers(1, 15, size=80)
    p = 1 / (1 + np.exp(-(0.3 + X @ [1.0, -0.5])))
    k = rng.binomial(trials, p)
    res = nnmle.fit(X, k / trials, hidden=(), family="binomial", weights=trials, **TIGHT)
    ref = sm.GLM(
        np.column_stack([k, trials - k]), sm.add_constant(X), family=sm.families.Binomial()
    ).fit()
    _check_glm(res, ref, 3)
    assert res.deviance == pytest.approx(ref.deviance, rel=1e-6)


def test_poisson_glm_equals_statsmodels():
    X, y = load_diabetes(return_X_y=True)
    X = _standardize(X)
    res = nnmle.fit(X, y, hidden=(), family="poisson", **TIGHT)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit()
    _check_glm(res, ref, 11)
    assert res.deviance == pytest.approx(ref.deviance, rel=1e-6)
    assert res.null_deviance == pytest.approx(ref.null_deviance, rel=1e-9)


def test_multinomial_equals_statsmodels_mnlogit():
    X, y = load_wine(return_X_y=True)
    X = _standardize(X[:, [0, 9]])
    res = nnmle.fit(X, y, hidden=(), family="multinomial", **TIGHT)
    ref = sm.MNLogit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12)
    W, b = np.asarray(res.weights.layers[0].W), np.asarray(res.weights.layers[0].b)
    np.testing.assert_allclose(np.vstack([b, W]), np.asarray(ref.params), rtol=1e-6)
    assert res.loglik == pytest.approx(ref.llf, rel=1e-6)
    assert res.aic == pytest.approx(ref.aic, rel=1e-6)
    assert res.bic == pytest.approx(ref.bic, rel=1e-6)
    assert res.classes == (0, 1, 2)


R_NNET = """
library(nnet)
d <- read.csv("{data}")
ctl <- list(size = 0, skip = TRUE, decay = 0.1, maxit = 10000, reltol = 1e-15,
            trace = FALSE)
lg <- do.call(nnet, c(list(b ~ x1 + x2 + x3, data = d, entropy = TRUE), ctl))
ls <- do.call(nnet, c(list(y ~ x1 + x2 + x3, data = d, linout = TRUE), ctl))
for (f in list(lg, ls)) {{ cat(sprintf("%.17g", c(f$value, coef(f))), "\n") }}
"""


def _have_r_nnet() -> bool:
    if shutil.which("Rscript") is None:
        return False
    ok = subprocess.run(["Rscript", "-e", "library(nnet)"], capture_output=True, timeout=60)
    return ok.returncode == 0


@pytest.mark.skipif(not _have_r_nnet(), reason="Rscript with the nnet package is not installed")
def test_weight_decay_fits_equal_r_nnet(tmp_path, rng):
    """nnet minimizes ``sum(nll) + decay * sum(w^2)`` over every weight, biases included
    (entropy fits; least squares: ``sum((y - f)^2)``, twice nnmle's gaussian NLL)."""
    X = rng.normal(size=(80, 3))
    y = X @ [1.0, -0.5, 0.0] + 0.5 * rng.normal(size=80)
    b = (X[:, 0] - X[:, 1] + rng.normal(size=80) > 0).astype(int)
    path = tmp_path / "d.csv"
    rows = ["x1,x2,x3,y,b"] + [
        ",".join(f"{v:.17g}" for v in (*X[i], y[i])) + f",{b[i]}" for i in range(80)
    ]
    path.write_text("\n".join(rows) + "\n")
    out = subprocess.run(
        ["Rscript", "-e", R_NNET.format(data=path)], capture_output=True, text=True,
        timeout=120, check=True,
    ).stdout.split("\n")  # fmt: skip
    (lg_value, *lg_coef), (ls_value, *ls_coef) = (np.array(r.split(), float) for r in out[:2])
    kw = dict(hidden=(), penalize_bias=True, **TIGHT)
    lg = nnmle.fit(X, b, family="bernoulli", l2=0.1, **kw)
    ls = nnmle.fit(X, y, family="gaussian", l2=0.05, **kw)
    for res, coef, value, scale in ((lg, lg_coef, lg_value, 1.0), (ls, ls_coef, ls_value, 2.0)):
        # nnet's order: bias first
        np.testing.assert_allclose(np.r_[res.theta[-1], res.theta[:-1]], coef, rtol=1e-6, atol=1e-7)
        assert scale * res.objective == pytest.approx(value, rel=1e-9)


def _fd_grad(f, theta, h=1e-6):
    g = np.zeros_like(theta)
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h
        g[j] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_matches_finite_differences(family, activation, rng):
    n, p = 12, 3
    X = rng.normal(size=(n, p))
    fam = FAMILIES[family]
    y = {
        "gaussian": rng.normal(size=n),
        "bernoulli": rng.integers(0, 2, n),
        "binomial": rng.uniform(size=n),
        "poisson": rng.poisson(2.0, size=n),
        "negative_binomial": rng.poisson(2.0, size=n),
        "gamma": rng.gamma(2.0, size=n),
        "multinomial": rng.integers(0, 3, n),
    }[family]
    Y, classes = fam.encode(np.asarray(y))
    arch = Architecture.build(p, (4,), fam.n_outputs(classes), activation, skip=True)
    problem = Problem.build(X, Y, rng.uniform(0.5, 2, n), fam, arch, Penalty(l2=0.1))
    theta = starting_values(arch, 1, seed=3)[0] + 0.05  # keep relu away from its kink

    def f(t):
        return float(objective(jnp.asarray(t), problem))

    grad = np.asarray(jax.grad(objective)(jnp.asarray(theta), problem))
    np.testing.assert_allclose(grad, _fd_grad(f, theta), rtol=1e-5, atol=1e-6)


def test_same_seed_same_result_bit_for_bit(breast_cancer):
    X, y = breast_cancer
    kw = dict(hidden=(3,), activation="tanh", l2=0.01, n_restarts=3, seed=7, max_iter=300)
    a = nnmle.fit(X[:, :5], y, **kw)
    b = nnmle.fit(X[:, :5], y, **kw)
    assert np.array_equal(a.theta, b.theta)
    assert [r.objective for r in a.restarts] == [r.objective for r in b.restarts]
    c = nnmle.fit(X[:, :5], y, **{**kw, "seed": 8})
    assert not np.array_equal(a.theta, c.theta)


def test_start_does_not_depend_on_pool_layout(breast_cancer):
    X, y = breast_cancer
    kw = dict(hidden=(3,), l2=0.01, n_restarts=4, seed=1, max_iter=200)
    one = nnmle.fit(X[:, :4], y, workers=1, **kw)
    two = nnmle.fit(X[:, :4], y, workers=2, **kw)
    exe = nnmle.fit(X[:, :4], y, executor=LocalExecutor(workers=3), **kw)
    for r1, r2, r3 in zip(one.restarts, two.restarts, exe.restarts, strict=True):
        assert np.array_equal(r1.theta, r2.theta) and np.array_equal(r1.theta, r3.theta)


def test_multistart_keeps_every_start_and_returns_the_best(breast_cancer):
    X, y = breast_cancer
    res = nnmle.fit(X[:, :6], y, hidden=(4,), l2=0.05, n_restarts=5, seed=0)
    assert [r.index for r in res.restarts] == list(range(5))
    assert res.objective == min(r.objective for r in res.restarts)
    assert all(r.theta.shape == (res.arch.n_total,) for r in res.restarts)
    assert res.to_dict()["restarts"][0].keys() >= {"objective", "status"}


def test_pool_of_batched_lanes_reaches_the_same_optima(breast_cancer):
    X, y = breast_cancer
    kw = dict(hidden=(2,), l2=0.1, n_restarts=4, seed=2, tol=1e-8)
    seq = nnmle.fit(X[:, :3], y, batch=1, workers=1, **kw)
    pool = nnmle.fit(X[:, :3], y, batch=3, workers=1, **kw)
    for r1, r2 in zip(seq.restarts, pool.restarts, strict=True):
        assert r2.status == "converged"
        assert r1.objective == pytest.approx(r2.objective, rel=1e-9)


def test_result_is_a_facade_over_an_estimate_with_the_unpadded_rows(rng):
    X = rng.normal(size=(21, 2))
    y = (X[:, 0] + rng.normal(size=21) > 0).astype(float)
    w = rng.uniform(0.5, 2.0, size=21)
    res = nnmle.fit(X, y, hidden=(), weights=w)
    assert isinstance(res, FitResult) and isinstance(res.estimate, Estimate)
    assert res.problem is res.estimate.problem
    assert res.problem.data.X.shape[0] > 21  # the problem's rows are padded to a bucket ...
    assert isinstance(res.data, Data)  # ... the result's data are the real rows
    np.testing.assert_array_equal(res.data.X, X)
    np.testing.assert_array_equal(res.data.Y[:, 0], y)
    np.testing.assert_array_equal(res.data.w, w)
    assert res.n_obs == 21
    assert res.theta is res.estimate.theta and res.loglik == res.estimate.loglik
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial(), var_weights=w).fit()
    assert res.loglik == pytest.approx(ref.llf, rel=1e-6)


def test_max_iter_status_and_message(breast_cancer):
    X, y = breast_cancer
    res = nnmle.fit(X, y, hidden=(5,), max_iter=3, l2=0.01)  # the penalty: the MLE exists
    assert res.status == "max_iter"
    assert "max_iter" in res.message
    assert "did not converge" in str(res.summary())


def test_non_finite_fit_is_reported_not_returned_as_converged():
    X = np.array([[0.0], [1.0], [2.0]])
    y = np.array([1.0, 2.0, 3.0])
    start = np.array([[800.0, 0.0]])  # exp(800) overflows: the loss is inf at the start
    res = nnmle.fit(X, y, hidden=(), family="poisson", start_values=start)
    assert res.status == "non_finite"
    assert not res.converged


SEPARATED = (np.array([[-2.0], [-1.0], [1.0], [2.0]]), np.array([0.0, 0.0, 1.0, 1.0]))


@pytest.mark.filterwarnings("ignore:The network has 7 parameters")
@pytest.mark.parametrize("hidden", [(), (2,)])
def test_separated_data_mle_does_not_exist(hidden):
    X, y = SEPARATED
    with pytest.warns(UserWarning, match="fitted probabilities numerically 0 or 1") as rec:
        res = nnmle.fit(X, y, hidden=hidden, family="bernoulli")
    assert any("l2=" in str(w.message) for w in rec)  # suggests a penalty
    assert res.status == "mle_not_exist" and not res.converged
    assert "does not exist" in res.message
    # the verdict is part of the estimate (a new value), not patched onto the result
    assert res.divergence is res.estimate.divergence and res.status == res.estimate.status
    norms = res.divergence.norms
    assert norms[-1] > norms[0] + 1 and res.divergence.diverged
    assert res.divergence.objectives[-1] < res.divergence.objectives[0]
    json.dumps(res.divergence.to_dict())
    assert json.loads(json.dumps(res.to_dict()))["status"] == "mle_not_exist"


def test_separated_data_with_a_penalty_converges_without_warning():
    X, y = SEPARATED
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="nnmle: fitted probabilities")
        pen = nnmle.fit(X, y, hidden=(), family="bernoulli", l2=0.1)
    assert pen.status == "converged" and pen.divergence is None


def test_overlapping_data_mle_exists(rng):
    X = rng.normal(size=(200, 3))
    y = (0.3 + X @ [0.8, -0.4, 0.0] + rng.logistic(size=200) > 0).astype(float)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="nnmle: fitted probabilities")
        res = nnmle.fit(X, y, hidden=(), family="bernoulli")
    assert res.status == "converged" and not res.divergence.diverged
    assert res.divergence.norms[-1] == pytest.approx(res.divergence.norms[0], abs=1e-4)


def test_skip_layer_and_no_bias_and_mask():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    y = X @ [1.0, -2.0] + 0.1 * rng.normal(size=40)
    res = nnmle.fit(X, y, hidden=(2,), family="gaussian", skip=True, bias=False, l2=1.0)
    assert res.n_params == 2 * 2 + 2 * 1 + 2  # W1, W2, skip; no biases
    assert np.all(res.theta[res.arch.bias_mask()] == 0.0)
    # a mask freezes a weight at a value (R nnet's mask)
    arch = res.arch
    mask = np.full(arch.n_total, np.nan)
    mask[0] = 0.5
    res2 = nnmle.fit(
        X, y, hidden=(2,), family="gaussian", skip=True, mask=unravel(jnp.asarray(mask), arch)
    )
    assert res2.theta[0] == 0.5
    assert res2.n_params == arch.n_total - 1  # biases on again, one frozen weight


def test_formula_interface_names_and_predicts():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x1": rng.normal(size=60), "g": rng.choice(["a", "b", "c"], 60)})
    df["y"] = (df.x1 + (df.g == "b") + rng.normal(size=60) > 0.5).astype(int)
    res = nnmle.fit("y ~ x1 + C(g)", data=df, hidden=(), family="bernoulli")
    names = [w["name"] for w in res.weight_table()]
    assert names == ["x1->y", "C(g)[T.b]->y", "C(g)[T.c]->y", "Intercept"]  # the formula's
    assert list(res.params.index) == names
    ref = sm.GLM.from_formula("y ~ x1 + C(g)", df, family=sm.families.Binomial()).fit()
    np.testing.assert_allclose(res.predict(df.iloc[:5]), ref.predict(df.iloc[:5]), rtol=1e-5)


def test_summary_and_to_dict(breast_cancer):
    X, y = breast_cancer
    res = nnmle.fit(X[:, :3], y, hidden=(2,), l2=0.01)
    text = str(res.summary())
    for key in ("Family", "Link", "Architecture", "Log-Likelihood", "AIC", "BIC", "x1->h1"):
        assert key in text
    d = res.to_dict()
    assert json.loads(json.dumps(d))["n_params"] == res.n_params
    assert {"name", "value"} == set(d["weights"][0])


def test_summary_shows_identified_standard_errors_and_statsmodels_header(rng):
    X = rng.normal(size=(60, 2))
    res = nnmle.fit(X, X[:, 0] + rng.normal(size=60), hidden=(), family="gaussian")
    assert "std err" not in str(res.summary(se=None))  # nothing computed yet: weights only
    text = str(res.summary())  # the default: Hessian standard errors where identified
    for key in ("std err", "P>|z|", "Df Residuals", "Df Model", "Pearson chi2", "Pseudo R-squ.",
                "Scale", "Method", "MLE"):  # fmt: skip
        assert key in text, key
    assert len(repr(res)) < 200


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(X=np.array([[np.nan], [1.0]]), y=[0, 1], na_action="raise"), "Missing values"),
        (dict(X=np.array([[np.inf], [1.0]]), y=[0, 1]), "NaN or infinite"),
        (dict(X=np.ones((3, 1)), y=[0, 1]), "3 rows but y has 2"),
        (dict(X=np.ones(3), y=[0, 1, 0]), "2-D"),
        (dict(X=np.ones((0, 2)), y=[]), "empty"),
        (dict(X=pd.DataFrame({"a": ["u", "v"]}), y=[0, 1]), "non-numeric"),
        (dict(X=np.ones((2, 1)), y=[0, 3]), "0/1 targets"),
        (dict(X=np.ones((2, 1)), y=[0, 1], family="poisson2"), "Unknown family"),
        (dict(X=np.ones((2, 1)), y=[0, 1], activation="swish"), "Unknown activation"),
        (dict(X=np.ones((2, 1)), y=[0, 1], n_restarts=0), "n_restarts"),
        (dict(X=np.ones((2, 1)), y=[0, 1], n_starts=0), r"n_starts=0 is invalid.*Fix"),
        (dict(X=np.ones((2, 1)), y=[0, 1], n_starts=2, n_restarts=2), "number of starts once"),
        (dict(X=np.ones((2, 1)), y=[0, 1], l2=-1.0), "l2 must be"),
        (dict(X=np.ones((2, 1)), y=[0, 1], hidden=(0,)), "hidden must be"),
        (dict(X=np.ones((2, 1)), y=[0, 1], restarts=3), "Unknown option"),
        (dict(X=np.ones((2, 1)), y=[0, 1], runner=None), "Unknown option"),  # use executor=
        (dict(X=np.ones((2, 1)), y=[0, 1], max_iter=0), "max_iter=0 is invalid"),
        (dict(X="y ~ x"), "needs a data frame"),
    ],
)
def test_bad_input_raises_clear_errors(kwargs, message):
    kwargs = dict(kwargs)
    X = kwargs.pop("X")
    y = kwargs.pop("y", None)
    with pytest.raises(ValueError, match=message):
        nnmle.fit(X, y, **kwargs)


def test_more_parameters_than_observations_warns():
    rng = np.random.default_rng(0)
    with pytest.warns(UserWarning, match="more parameters than observations"):
        nnmle.fit(rng.normal(size=(6, 2)), [0, 1, 0, 1, 0, 1], hidden=(3,), max_iter=20)


def test_save_and_load_round_trip_through_the_facade(tmp_path, breast_cancer):
    X, y = breast_cancer
    res = nnmle.fit(X[:, :3], y, hidden=(2,), l2=0.01, n_starts=2)
    loaded = nnmle.load(res.save(tmp_path / "model.nnmle"))
    assert isinstance(loaded, FitResult) and loaded.data is None
    assert np.array_equal(loaded.theta, res.theta)
    assert np.array_equal(loaded.predict(X[:7, :3]), res.predict(X[:7, :3]))
    assert loaded.to_dict() == res.to_dict()


def test_predict_on_new_data_checks_columns(breast_cancer):
    X, y = breast_cancer
    res = nnmle.fit(X[:, :3], y, hidden=(), family="bernoulli")
    p = res.predict(X[:4, :3])
    assert p.shape == (4,) and np.all((p > 0) & (p < 1))
    with pytest.raises(ValueError, match="fitted with 3"):
        res.predict(X[:4, :4])


def test_adam_minibatch_reaches_the_glm_optimum():
    X, y = load_diabetes(return_X_y=True)
    X = _standardize(X[:, :3])
    y = (y - y.mean()) / y.std()
    exact = nnmle.fit(X, y, hidden=(), family="gaussian", **TIGHT)
    adam = nnmle.fit(
        X, y, hidden=(), family="gaussian", solver="adam", batch_size=64,
        learning_rate=0.01, max_iter=300, tol=1e-3,
    )  # fmt: skip
    assert adam.objective == pytest.approx(exact.objective, rel=1e-3)
    np.testing.assert_allclose(adam.theta, exact.theta, atol=0.02)


def test_glorot_init_has_zero_biases_and_bounded_weights():
    arch = Architecture.build(20, (30,), 1, "tanh")
    theta = starting_values(arch, 1, seed=0, init="glorot")[0]
    assert np.all(theta[arch.bias_mask()] == 0.0)
    assert np.abs(theta[:600]).max() <= np.sqrt(6 / 50)
    uniform = starting_values(arch, 1, seed=0)[0]
    assert np.abs(uniform).max() <= 0.7


def _categorical(seed):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"y": rng.integers(0, 2, 60), "x1": rng.normal(size=60), "g": rng.choice(list("abc"), 60)}
    )


def test_racing_weights_of_a_formula_network_are_flagged_with_the_fix():
    """Without a penalty a 3-unit network on a small categorical design races away: here the
    optimizer stops at its iteration limit with weights near 1e6 (it used to say 'raise
    max_iter'); the fit says the MLE does not exist and how to fix it."""
    with pytest.warns(UserWarning, match="mle_not_exist"):
        res = nnmle.fit("y ~ x1 + C(g)", data=_categorical(5), hidden=(3,))
    assert res.n_iter == 5000 and np.abs(res.theta).max() > res.divergence.limit
    assert res.status == "mle_not_exist" and "nnmle.path" in res.message
    assert not res.converged
    # the message agrees with the numbers it prints: weights that stopped are not "growing"
    check = res.divergence
    if not check.racing:
        assert "no longer move but are already implausibly large" in res.message


def test_fitted_probabilities_0_or_1_are_said_even_when_the_weights_stop():
    """Converged to the tolerance, but 20 fitted probabilities are numerically 0 or 1 with
    weights in the hundreds: possible quasi-separation, said as R's glm says it."""
    with pytest.warns(UserWarning, match="fitted probabilities numerically 0 or 1 occurred"):
        res = nnmle.fit("y ~ x1 + C(g)", data=_categorical(0), hidden=(3,))
    assert res.status == "converged" and "quasi-)separation" in res.message


# --- issue 13: offsets, one name for the starts, streaming, complete model files ------------


def test_n_restarts_is_a_deprecated_alias_of_n_starts(rng):
    X, y = rng.normal(size=(30, 1)), rng.integers(0, 2, 30)
    with pytest.warns(FutureWarning, match="n_restarts is deprecated.*use n_starts"):
        old = nnmle.fit(X, y, hidden=(), n_restarts=2)
    new = nnmle.fit(X, y, hidden=(), n_starts=2)
    assert len(old.restarts) == len(new.restarts) == 2
    assert np.array_equal(old.theta, new.theta)


def test_many_starts_are_streamed_and_the_best_kept(rng, monkeypatch):
    import nnmle.api

    monkeypatch.setattr(nnmle.api, "STREAM_STARTS", 5)
    monkeypatch.setattr(nnmle.api, "STREAM_CHUNK", 4)
    monkeypatch.setattr(nnmle.api, "STREAM_KEEP", 3)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] + rng.normal(size=40) > 0).astype(float)
    seen = []
    res = nnmle.fit(X, y, hidden=(2,), l2=0.1, n_starts=11, on_result=seen.append)
    full = nnmle.fit(X, y, hidden=(2,), l2=0.1, n_starts=5)  # not streamed: the same draws
    assert len(seen) == 11 and len(res.restarts) == 3 and res.n_starts == 11
    assert res.objective <= full.objective + 1e-9
    assert "11 starts were streamed; the 3 best are kept" in str(res.summary())


def test_offset_and_exposure_predictions_need_the_new_rows_offset(rng):
    X = rng.normal(size=(80, 1))
    t = rng.uniform(1, 3, 80)
    y = rng.poisson(t * np.exp(0.2 + 0.4 * X[:, 0]))
    res = nnmle.fit(X, y, hidden=(), family="poisson", exposure=t)
    base = res.problem.mean(res.theta, X[:3])[:, 0]
    np.testing.assert_allclose(res.predict(X[:3], exposure=t[:3]), base * t[:3], rtol=1e-12)
    np.testing.assert_allclose(res.predict(X[:3], offset=np.log(t[:3])), base * t[:3], rtol=1e-12)
    pi = res.predict(X[:3], interval="confidence", exposure=t[:3])
    assert np.all((pi.lower < pi.mean) & (pi.mean < pi.upper))
    np.testing.assert_allclose(pi.mean, base * t[:3], rtol=1e-10)
    with pytest.raises(ValueError, match=r"fitted with an offset.*expected offset=.*got none.*Fix"):
        res.predict(X[:3])
    plain = nnmle.fit(X, y, hidden=(), family="poisson")
    with pytest.raises(ValueError, match=r"fitted without an offset.*got offset=.*Fix"):
        plain.predict(X[:3], offset=np.zeros(3))


def test_gaussian_prediction_intervals_cover_the_mean_interval(rng):
    X = rng.normal(size=(60, 1))
    y = X[:, 0] + rng.normal(size=60)
    res = nnmle.fit(X, y, hidden=(), family="gaussian")
    conf = res.predict(X[:3], interval="confidence")
    pred = res.predict(X[:3], interval="prediction")
    assert np.all(pred.lower < conf.lower) and np.all(conf.upper < pred.upper)
    with pytest.raises(ValueError, match=r"interval='band'.*expected 'confidence'.*Fix"):
        res.predict(X[:3], interval="band")


def test_a_loaded_model_is_complete(tmp_path, rng):
    df = pd.DataFrame({"x": rng.normal(size=90), "g": rng.choice(["a", "b", "c"], 90)})
    df["y"] = rng.normal(size=90) + df.x + (df.g == "b")
    res = nnmle.fit("y ~ x + C(g)", data=df, hidden=(), family="gaussian")
    loaded = nnmle.load(res.save(tmp_path / "m.nnmle"))
    new = df.iloc[:6]
    np.testing.assert_array_equal(loaded.predict(new), res.predict(new))
    for a, b in zip(loaded.predict(new, interval="confidence"),
                    res.predict(new, interval="confidence"), strict=True):  # fmt: skip
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(loaded.infer(level=0.9).ci_low, res.infer(level=0.9).ci_low,
                               rtol=1e-12)  # fmt: skip
    assert "std err" in str(loaded.summary())
    message = r"carries no data.*se='sandwich'.*keeps the 'hessian'.*Fix"
    with pytest.raises(ValueError, match=message):
        loaded.infer(se="sandwich")
