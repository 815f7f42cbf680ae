"""Inference: standard errors, z, p, intervals and Wald tests equal statsmodels' GLM for
networks without hidden layer; the penalized sandwich equals a direct computation;
non-identified weights are named; symmetry invariance; aligned bootstrap (any executor,
the proximal solver under L1); coverage."""

import dataclasses
import json
import pickle
import warnings

import jax.numpy as jnp
import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

import nnmle
from nnmle.inference import (
    Inference,
    bootstrap,
    bootstrap_replicates,
    effective_df,
    infer,
    inference_table,
    information_criteria,
    lr_test,
    predict_interval,
    wald_inputs,
)
from nnmle.networks import linear_predictor
from nnmle.starts import LocalExecutor
from nnmle.symmetry import act_flat, group, random_element

TIGHT = dict(tol=1e-10, max_iter=20000)
SM_FAMILIES = {
    "gaussian": sm.families.Gaussian(),
    "bernoulli": sm.families.Binomial(),
    "poisson": sm.families.Poisson(),
}
ORDER = [1, 2, 3, 0]  # statsmodels: const first; nnmle: weights then bias


def _glm_data(family, n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    eta = 0.3 + X @ np.array([0.8, -0.4, 0.0])
    y = {
        "gaussian": eta + rng.normal(size=n),
        "bernoulli": (eta + rng.logistic(size=n) > 0).astype(float),
        "poisson": rng.poisson(np.exp(eta)).astype(float),
    }[family]
    return X, y


@pytest.fixture(scope="module", params=sorted(SM_FAMILIES))
def glm(request):
    family = request.param
    X, y = _glm_data(family)
    res = nnmle.fit(X, y, hidden=(), family=family, **TIGHT)
    return family, X, y, res


def _sm(family, X, y, cov="nonrobust"):
    model = sm.GLM(y, sm.add_constant(X), family=SM_FAMILIES[family])
    return model.fit(cov_type=cov, tol=1e-13)


@pytest.mark.parametrize(("se", "cov"), [("hessian", "nonrobust"), ("sandwich", "HC0")])
def test_glm_inference_equals_statsmodels(glm, se, cov):
    family, X, y, res = glm
    ref = _sm(family, X, y, cov)
    inf = infer(res, se=se)
    close = dict(rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(inf.coef, ref.params[ORDER], **close)
    np.testing.assert_allclose(inf.se, ref.bse[ORDER], **close)
    np.testing.assert_allclose(inf.z, ref.tvalues[ORDER], **close)
    np.testing.assert_allclose(inf.p, ref.pvalues[ORDER], **close)
    ci = np.asarray(ref.conf_int())[ORDER]
    np.testing.assert_allclose(inf.ci_low, ci[:, 0], **close)
    np.testing.assert_allclose(inf.ci_high, ci[:, 1], **close)
    assert inf.identified.all() and inf.edf == pytest.approx(4.0, rel=1e-9)
    # the Wald test of each input (one outgoing weight) against statsmodels' wald_test
    for i, row in enumerate(wald_inputs(res, se=se)):
        w = ref.wald_test(np.eye(4)[i + 1 : i + 2], scalar=True)
        assert row["df"] == 1
        assert row["stat"] == pytest.approx(float(w.statistic), rel=1e-6)
        assert row["p"] == pytest.approx(float(w.pvalue), rel=1e-6, abs=1e-12)


def test_glm_prediction_intervals_equal_statsmodels(glm):
    family, X, y, res = glm
    ref = _sm(family, X, y)
    frame = ref.get_prediction(sm.add_constant(X[:7])).summary_frame(alpha=0.1)
    pi = res.predict(X[:7], interval="confidence", level=0.9)
    close = dict(rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(pi.mean, frame["mean"], **close)
    np.testing.assert_allclose(pi.lower, frame["mean_ci_lower"], **close)
    np.testing.assert_allclose(pi.upper, frame["mean_ci_upper"], **close)
    np.testing.assert_allclose(pi.mean, res.predict(X[:7]), rtol=1e-12)


def test_glm_information_criteria(glm):
    family, X, y, res = glm
    ref = _sm(family, X, y)
    ic = information_criteria(res)
    assert ic["aic"] == pytest.approx(ref.aic, rel=1e-6)
    assert ic["edf"] == pytest.approx(4.0) and ic["aic_edf"] == pytest.approx(ref.aic, rel=1e-6)
    assert ic["bic_edf"] == pytest.approx(res.bic, rel=1e-9)


def test_lr_test_of_nested_glms_equals_statsmodels():
    X, y = _glm_data("poisson")
    full = nnmle.fit(X, y, hidden=(), family="poisson", **TIGHT)
    small = nnmle.fit(X[:, :1], y, hidden=(), family="poisson", **TIGHT)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit(tol=1e-13)
    ref_small = sm.GLM(y, sm.add_constant(X[:, :1]), family=sm.families.Poisson()).fit(tol=1e-13)
    t = lr_test(small, full)
    assert t.stat == pytest.approx(2 * (ref.llf - ref_small.llf), rel=1e-6)
    assert t.df == 2 and t.regular and not t.notes
    assert t.p == pytest.approx(stats.chi2.sf(t.stat, 2), rel=1e-9)


def test_binomial_trials_and_frequency_weights_equal_statsmodels(rng):
    X, yg = _glm_data("gaussian")
    trials = rng.integers(1, 15, size=200)
    k = rng.binomial(trials, 1 / (1 + np.exp(-(0.3 + X @ [1.0, -0.5, 0.0]))))
    res = nnmle.fit(X, k / trials, hidden=(), family="binomial", weights=trials, **TIGHT)
    fw = rng.integers(1, 4, 200).astype(float)
    resg = nnmle.fit(X, yg, hidden=(), family="gaussian", weights=fw, **TIGHT)
    for se, cov in (("hessian", "nonrobust"), ("sandwich", "HC0")):
        ref = sm.GLM(
            np.column_stack([k, trials - k]), sm.add_constant(X), family=sm.families.Binomial()
        ).fit(cov_type=cov, tol=1e-13)
        np.testing.assert_allclose(infer(res, se=se).se, ref.bse[ORDER], rtol=1e-6)
        refg = sm.GLM(yg, sm.add_constant(X), freq_weights=fw).fit(cov_type=cov, tol=1e-13)
        np.testing.assert_allclose(infer(resg, se=se).se, refg.bse[ORDER], rtol=1e-6)


def test_multinomial_glm_standard_errors_equal_mnlogit(rng):
    X = rng.normal(size=(150, 2))
    logits = np.column_stack([np.zeros(150), 0.5 + X @ [1.0, -1.0], -0.3 + X @ [-0.5, 0.8]])
    y = np.array([rng.choice(3, p=np.exp(r) / np.exp(r).sum()) for r in logits])
    res = nnmle.fit(X, y, hidden=(), family="multinomial", **TIGHT)
    ref = sm.MNLogit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12)
    inf = infer(res)
    # nnmle: W (2 x 2, row-major: x1->y[1], x1->y[2], x2->...), then the 2 biases
    se = np.vstack([inf.se[4:6], inf.se[:4].reshape(2, 2)])
    np.testing.assert_allclose(se, np.asarray(ref.bse), rtol=1e-6)
    pi = res.predict(X[:4], interval="confidence")
    assert pi.mean.shape == (4, 3) and np.all((pi.lower <= pi.mean) & (pi.mean <= pi.upper))


# --- penalized fits: direct computations -------------------------------------------------------


@pytest.mark.parametrize("family", ["gaussian", "bernoulli"])
def test_penalized_glm_covariances_equal_direct_computation(family):
    X, y = _glm_data(family)
    l2 = 3.0
    res = nnmle.fit(X, y, hidden=(), family=family, l2=l2, **TIGHT)
    D = np.column_stack([X, np.ones(len(y))])
    beta = res.theta
    eta = D @ beta
    if family == "gaussian":
        W, r = np.ones(len(y)), y - eta
    else:
        mu = 1 / (1 + np.exp(-eta))
        W, r = mu * (1 - mu), y - mu
    info = D.T @ (W[:, None] * D)
    H = info + 2 * l2 * np.diag([1.0, 1.0, 1.0, 0.0])  # the bias is not penalized
    Hinv = np.linalg.inv(H)
    J = D.T @ ((r**2)[:, None] * D)
    sandwich = infer(res, se="sandwich")
    np.testing.assert_allclose(sandwich.se, np.sqrt(np.diag(Hinv @ J @ Hinv)), rtol=1e-7)
    edf = np.trace(info @ Hinv)
    assert effective_df(res) == pytest.approx(edf, rel=1e-9) and edf < 4
    phi = np.sum(r**2) / (len(y) - edf) if family == "gaussian" else 1.0
    hess = infer(res, se="hessian")
    assert hess.scale == pytest.approx(phi, rel=1e-9)
    np.testing.assert_allclose(hess.se, np.sqrt(np.diag(phi * Hinv)), rtol=1e-7)


def test_l1_zeros_get_no_standard_error():
    X, y = _glm_data("gaussian")
    res = nnmle.fit(X, y, hidden=(), family="gaussian", l1=30.0, **TIGHT)
    inf = infer(res)
    assert inf.zero.any() and np.all(np.isnan(inf.se[inf.zero]))
    assert np.all(np.isfinite(inf.se[~inf.zero]))
    assert res.inference is None  # infer computes, it does not attach
    rows = inference_table(res)
    assert any(r.get("zero") for r in rows) and "zero (L1)" in str(res.summary(se="hessian"))


# --- identification and symmetry ----------------------------------------------------------------


def test_collinear_inputs_are_named_not_identified(rng):
    X = rng.normal(size=(200, 2))
    X = np.column_stack([X[:, 0], X[:, 0], X[:, 1]])  # x2 duplicates x1
    y = X[:, 0] + 0.5 * X[:, 2] + rng.normal(size=200)
    res = nnmle.fit(X, y, hidden=(), family="gaussian", **TIGHT)
    inf = infer(res)
    assert inf.not_identified == ["x1->y", "x2->y"] and inf.nullity == 1
    # the identified weights have the standard errors of the model without the duplicate
    ref = sm.GLM(y, sm.add_constant(X[:, [0, 2]]), family=sm.families.Gaussian()).fit(tol=1e-13)
    np.testing.assert_allclose(inf.se[2:], ref.bse[[2, 0]], rtol=1e-6)
    table = inference_table(res)
    assert table[0] == {
        "name": "x1->y", "value": pytest.approx(res.theta[0]), "identification": "none",
        "identified": False, "se": None, "z": None, "p": None, "ci_low": None, "ci_high": None,
    }  # fmt: skip
    json.dumps(table)
    assert wald_inputs(res)[0]["stat"] is None and wald_inputs(res)[2]["p"] < 1e-3
    assert any("collinear inputs" in n for n in inf.notes)
    text = str(res.summary(se="hessian"))
    assert "not identified" in text and "collinear inputs" in text
    pi = res.predict(X[:5], interval="confidence")  # predictions stay identified
    assert np.all(np.isfinite(pi.lower)) and np.all(pi.upper > pi.lower)


def test_unpenalized_relu_rescaling_is_not_identified(rng):
    X = rng.normal(size=(100, 1))
    y = np.maximum(X[:, 0] - 0.3, 0) - 0.5 * np.maximum(-X[:, 0] - 0.3, 0)
    y = y + 0.1 * rng.normal(size=100)
    res = nnmle.fit(X, y, hidden=(2,), activation="relu", family="gaussian", n_restarts=3)
    assert res.converged
    inf = infer(res)
    assert inf.nullity == 2  # one rescaling direction per relu unit
    assert inf.not_identified == [n for n in inf.names if n != "bias->y"]
    assert any("rescaling of relu units" in n for n in inf.notes)
    pi = res.predict(X[:5], interval="confidence")
    assert np.all(np.isfinite(pi.lower)) and np.all(pi.upper > pi.lower)


@pytest.fixture(scope="module")
def tanh_fit():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(150, 2))
    y = (1.5 * np.tanh(1.5 * X[:, 0] - 0.5) - X[:, 1] + 0.3 * rng.normal(size=150)).astype(float)
    return nnmle.fit(X, y, hidden=(2,), family="gaussian", l2=0.05, n_restarts=4, **TIGHT)


def test_units_the_penalty_makes_equal_are_identified_only_by_the_penalty(breast_cancer):
    """The demo's case: on three breast-cancer inputs, weight decay pulls two of four tanh
    units onto each other at a minimum. The Fisher information is singular there (count by
    hand: two equal units of a 3-input layer can trade their outgoing weights, 1 direction,
    and their incoming weights and biases, 4), the penalized Hessian is positive definite:
    those 10 weights get a penalized interval and no test; the other 11 keep theirs."""
    X, y = breast_cancer
    res = nnmle.fit(X[:, [0, 1, 4]], y, hidden=(4,), l2=1.0, n_restarts=4, seed=0)
    assert res.status == "converged" and res.estimate.hessian.index == 0  # a minimum
    inf = res.infer()
    assert inf.nullity == 5
    assert inf.identification.count("penalty") == 10 and inf.identification.count("data") == 11
    rep = nnmle.identifiability(res)  # the reducibility finding agrees with the rank
    assert rep.reducible and len(rep.mergeable) == 1 and rep.nullity == 5
    assert sum(e["count"] for e in rep.null_explained) == 5 and rep.unexplained == 0
    rows = inf.table()
    units = {u for r in rows if r["identification"] == "penalty" for u in r["name"].split("->")}
    units -= {"x1", "x2", "x3", "bias", "y"}
    assert len(units) == 2  # exactly the two equal units, all of whose weights
    a, b = sorted(units)
    for r in rows:
        on_pair = bool({a, b} & set(r["name"].split("->")))
        assert (r["identification"] == "penalty") == on_pair, r
        if on_pair:
            twin = r["name"].replace(a, "#").replace(b, a).replace("#", b)
            assert r["value"] == pytest.approx(next(q["value"] for q in rows if q["name"] == twin))
            assert r["z"] is None and r["p"] is None and r["interval"] == "penalized"
            assert r["se"] > 0 and r["ci_low"] < r["value"] < r["ci_high"]
        else:
            assert r["p"] is not None
    assert any("identified only by the penalty" in n for n in inf.notes)
    assert "penalty" in str(res.summary(se="hessian"))


def test_a_minimal_network_is_identified_by_the_data(tanh_fit):
    inf = infer(tanh_fit)
    assert set(inf.identification) == {"data"} and inf.nullity == 0
    assert np.all(np.isfinite(inf.p))


def test_inference_is_the_same_for_every_twin(tanh_fit):
    res = tanh_fit
    inf = infer(res, se="sandwich")
    assert inf.identified.all()
    G = group(res.problem)
    for seed in range(3):
        twin = act_flat(random_element(G, seed, continuous=False), res.theta, G)
        twin_fit = dataclasses.replace(res.estimate, theta=np.asarray(twin))
        other = infer(twin_fit, se="sandwich")
        np.testing.assert_allclose(other.coef, inf.coef, atol=1e-12)
        np.testing.assert_allclose(other.se, inf.se, rtol=1e-8)
        w0, w1 = wald_inputs(res, se="sandwich"), wald_inputs(twin_fit, se="sandwich")
        assert w0[0]["df"] == 2 and w0[0]["p"] < 1e-6
        assert w1[0]["stat"] == pytest.approx(w0[0]["stat"], rel=1e-8)


def test_network_prediction_interval_is_the_delta_method(tanh_fit):
    res = tanh_fit
    Xn = np.array([[0.0, 0.0], [1.0, -1.0], [-2.0, 0.5]])
    inf = infer(res)
    pi = res.predict(Xn, interval="confidence", level=0.8)
    # finite-difference gradient of the prediction in the active weights
    th = inf.theta.copy()
    G = np.zeros((3, inf.index.size))
    for c, j in enumerate(inf.index):
        e = np.zeros_like(th)
        e[j] = 1e-6
        up = np.asarray(linear_predictor(jnp.asarray(th + e), jnp.asarray(Xn), res.arch))[:, 0]
        dn = np.asarray(linear_predictor(jnp.asarray(th - e), jnp.asarray(Xn), res.arch))[:, 0]
        G[:, c] = (up - dn) / 2e-6
    sd = np.sqrt(np.einsum("nk,kl,nl->n", G, inf.cov, G))
    q = stats.norm.ppf(0.9)
    np.testing.assert_allclose(pi.upper - pi.mean, q * sd, rtol=1e-6)
    np.testing.assert_allclose(pi.mean, res.predict(Xn), rtol=1e-12)


def test_an_inference_is_used_only_for_its_own_fit(tanh_fit):
    res = tanh_fit
    Xn = np.array([[0.0, 0.0], [1.0, -1.0]])
    inf = infer(res.estimate, se="sandwich")
    assert isinstance(inf, Inference) and np.array_equal(inf.fit_theta, res.theta)
    pi = predict_interval(res.estimate, Xn, level=0.9, inference=inf)
    direct = predict_interval(res, Xn, level=0.9, se="sandwich")
    np.testing.assert_allclose(pi.upper, direct.upper, rtol=1e-12)
    assert wald_inputs(res, inference=inf) == wald_inputs(res, se="sandwich")
    moved = dataclasses.replace(res.estimate, theta=res.theta + 0.01)
    with pytest.raises(ValueError, match="other weights"):
        wald_inputs(moved, inference=inf)
    with pytest.raises(ValueError, match="design matrix"):
        predict_interval(res, np.zeros(2))


def test_summary_shows_statsmodels_columns(tanh_fit):
    res = dataclasses.replace(tanh_fit)
    text = str(res.summary(se="hessian"))
    for key in ("std err", "P>|z|", "[0.025", "0.975]", "Covariance type", "Effective params"):
        assert key in text
    assert "standard errors omitted" not in text and "canonical" in text
    assert res.inference.method == "hessian"


def test_lr_test_of_hidden_units_warns_non_regular(tanh_fit):
    res = tanh_fit
    X, y = np.asarray(res.data.X), np.asarray(res.data.Y)[:, 0]
    small = nnmle.fit(X, y, hidden=(1,), family="gaussian", l2=0.05)
    with pytest.warns(UserWarning, match="non-regular"):
        t = lr_test(small, res)
    assert not t.regular and t.df == 4
    with pytest.raises(ValueError, match="expected fewer"):
        lr_test(res, small)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: infer(r, se="jackknife"), "expected one of hessian"),
        (lambda r: infer(r, level=1.5), "level must be"),
        (lambda r: r.predict(np.zeros((1, 2)), interval="band"), "expected 'confidence'"),
        (lambda r: bootstrap(r, n_boot=1), "n_boot must be"),
        (lambda r: infer(r, se="sandwich", n_boot=10), "are for se='bootstrap'"),
    ],
)
def test_bad_arguments_raise_clear_errors(tanh_fit, call, message):
    with pytest.raises(ValueError, match=message):
        call(tanh_fit)


# --- bootstrap ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def switching():
    """A small tanh network whose random-start refits land on different twins."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(100, 1))
    y = 2.0 * np.tanh(2.0 * X[:, 0] - 1.0) + 1.5 * np.tanh(-1.5 * X[:, 0] - 1.0)
    y = y + 0.1 * rng.normal(size=100)
    res = nnmle.fit(X, y, hidden=(2,), family="gaussian", l2=0.01, n_restarts=4)
    return res, bootstrap(res, n_boot=24, seed=3, start="random")


def test_aligned_bootstrap_intervals_are_sensible_and_raw_ones_are_not(switching):
    res, boot = switching
    ref = boot.reference
    free = res.arch.free_mask()
    inside = (boot.ci_low <= ref) & (ref <= boot.ci_high)
    assert inside[free].all()  # aligned: every interval covers the fitted weight
    width = (boot.ci_high - boot.ci_low)[free]
    lo, hi = np.quantile(boot.raw, [0.025, 0.975], axis=0)
    raw_width = (hi - lo)[free]
    hidden = np.array(["h" in n for n in np.array(res.arch.param_names())[free]])
    # label switching: raw intervals for the hidden units' weights straddle both signs
    assert np.median(raw_width[hidden] / width[hidden]) > 3
    signs = np.sign(boot.raw[:, np.flatnonzero(free)[hidden]])
    assert np.any(np.all(signs == signs[:1], axis=0) == False)  # noqa: E712
    assert np.all(np.sign(boot.replicates[:, 0]) == np.sign(ref[0]))


class _SplitExecutor:
    """An executor that runs every key on its own, as a cluster would (and counts calls)."""

    def __init__(self):
        self.calls = []

    def map(self, fn, keys, shared=None, on_result=None):
        self.calls.append(len(keys))
        pickle.loads(pickle.dumps(shared))  # the shared job is plain, picklable data
        return [fn(shared, [k])[0] for k in keys]


def test_bootstrap_replicates_are_independent_units(switching):
    res, boot = switching
    split = _SplitExecutor()
    again = bootstrap(res, n_boot=6, seed=3, start="random", executor=split)
    np.testing.assert_allclose(again.raw, boot.raw[:6], rtol=0, atol=0)
    assert split.calls == [6] and again.status == boot.status[:6]
    with pytest.raises(ValueError, match="start must be"):
        bootstrap(res, start="warm")
    assert bootstrap_replicates.__module__.startswith("nnmle.inference")  # importable by workers


def test_bootstrap_with_two_worker_threads_equals_the_default_run(switching):
    res, boot = switching
    seen = []
    two = bootstrap(
        res, n_boot=24, seed=3, start="random", executor=LocalExecutor(workers=2),
        on_result=lambda key, out: seen.append(key),
    )  # fmt: skip
    np.testing.assert_array_equal(two.raw, boot.raw)
    np.testing.assert_array_equal(two.replicates, boot.replicates)
    assert two.status == boot.status and sorted(seen) == list(range(24))


def test_l1_bootstrap_replicates_run_the_proximal_solver():
    X, y = _glm_data("gaussian")
    res = nnmle.fit(X, y, hidden=(), family="gaussian", l1=30.0, **TIGHT)
    assert res.estimate.solver.name == "proximal" and np.any(res.theta == 0)
    boot = bootstrap(res, n_boot=8, seed=0, start="reference")
    assert boot.solver.name == "proximal" and boot.solver.tol == res.tol
    assert all(s == "converged" for s in boot.status)
    # exact zeros: the proximal step sets the third weight (true value 0) to 0 in most replicates
    assert np.mean(boot.raw[:, 2] == 0.0) >= 0.5
    assert np.all(boot.raw[:, 3] != 0.0)  # the bias is not penalized


def test_bootstrap_runs_on_a_dask_executor(switching):
    pytest.importorskip("distributed")
    from nnmle.starts import DaskExecutor, dask_client

    res, _ = switching
    local = bootstrap(res, n_boot=3, seed=5, start="reference")
    with dask_client(n_workers=1, processes=False) as client:
        remote = bootstrap(res, n_boot=3, seed=5, start="reference", executor=DaskExecutor(client))
    np.testing.assert_array_equal(remote.raw, local.raw)


def test_bootstrap_standard_errors_agree_with_the_hessian_for_a_glm():
    X, y = _glm_data("poisson")
    res = nnmle.fit(X, y, hidden=(), family="poisson", **TIGHT)
    boot = infer(res, se="bootstrap", n_boot=150, seed=1, start="reference")
    hess = infer(res, se="hessian")
    np.testing.assert_allclose(boot.se, hess.se, rtol=0.25)
    assert np.all(boot.ci_low < boot.coef) and np.all(boot.coef < boot.ci_high)
    pi = res.predict(X[:3], interval="confidence", se="bootstrap")
    assert np.all(pi.lower < pi.mean) and np.all(pi.mean < pi.upper)


# --- coverage (slow) ----------------------------------------------------------------------------


def _truth_network():
    from nnmle.networks import Architecture, Layer, Params, ravel

    arch = Architecture.build(1, hidden=(2,), activation="tanh")
    params = Params(
        (
            Layer(jnp.array([[2.0, 2.0]]), jnp.array([-2.0, 2.0])),  # steps at x = 1 and -1
            Layer(jnp.array([[1.0], [1.0]]), jnp.array([0.2])),
        )
    )
    return arch, np.asarray(ravel(params, arch))


@pytest.mark.slow
def test_coverage_of_delta_method_prediction_intervals():
    """95% intervals for the mean of a known tanh network cover it 92-98% of the time.

    The network's two units are well separated (steps at x = -1 and 1): a regular,
    identified model. (With two nearly cancelling units, e.g. ``1.5 tanh(2x - 0.5) -
    tanh(1.5x - 0.5)``, coverage fell to about 0.90: near-degenerate fits are not regular.)
    """
    arch, theta = _truth_network()
    x_eval = np.linspace(-2, 2, 9)[:, None]
    truth = np.asarray(linear_predictor(jnp.asarray(theta), jnp.asarray(x_eval), arch))[:, 0]
    rng = np.random.default_rng(2024)
    hits, n_rep = [], 300
    for r in range(n_rep):
        X = rng.uniform(-2.5, 2.5, size=(200, 1))
        mean = np.asarray(linear_predictor(jnp.asarray(theta), jnp.asarray(X), arch))[:, 0]
        y = mean + 0.3 * rng.normal(size=200)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = nnmle.fit(X, y, hidden=(2,), family="gaussian", n_restarts=4, seed=r, tol=1e-8)
            pi = res.predict(x_eval, interval="confidence", level=0.95)
        hits.append((pi.lower <= truth) & (truth <= pi.upper))
    coverage = float(np.mean(hits))
    print(f"coverage of 95% delta-method intervals: {coverage:.3f} ({n_rep} x 9 points)")
    assert 0.92 <= coverage <= 0.98
