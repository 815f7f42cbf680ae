"""Depth 0 (a GLM) against statsmodels for the families and offsets of issue 13: gamma,
negative binomial (alpha estimated), poisson with offset and exposure, multi-output gaussian.
Coefficients, log-likelihood, deviance, null deviance and standard errors to 1e-6."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import nnmle

TIGHT = dict(hidden=(), tol=1e-9)


def close(a, b, rtol=1e-6, atol=1e-8):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=atol)


def glm_order(res) -> np.ndarray:
    """The free weights of a one-output GLM in statsmodels' order: intercept first."""
    th = res.theta[res.problem.free]
    return np.r_[th[-1], th[:-1]]


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(7)
    n = 400
    X = rng.normal(size=(n, 2))
    t = rng.uniform(0.5, 4.0, n)
    mu = t * np.exp(0.3 + 0.5 * X[:, 0] - 0.25 * X[:, 1])
    return X, t, rng.poisson(mu).astype(float), rng


def test_poisson_with_exposure_and_offset_equal_statsmodels(counts):
    X, t, y, _ = counts
    want = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson(), exposure=t).fit()
    for kwargs in ({"exposure": t}, {"offset": np.log(t)}):
        res = nnmle.fit(X, y, family="poisson", **kwargs, **TIGHT)
        inf = res.infer()
        close(glm_order(res), want.params)
        close(res.loglik, want.llf)
        close(res.deviance, want.deviance)
        close(res.null_deviance, want.null_deviance)
        close(np.r_[inf.se[-1], inf.se[:-1]], want.bse)
        close(res.aic, want.aic)
    # the formula interface: offset(log(t)) in the formula, or a column named by offset=
    df = pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "t": t, "lt": np.log(t), "y": y})
    f1 = nnmle.fit("y ~ x1 + x2 + offset(np.log(t))", data=df, family="poisson", **TIGHT)
    f2 = nnmle.fit("y ~ x1 + x2", data=df, family="poisson", offset="lt", **TIGHT)
    f3 = nnmle.fit("y ~ x1 + x2", data=df, family="poisson", exposure="t", **TIGHT)
    for f in (f1, f2, f3):
        close(glm_order(f), want.params)
        close(f.null_deviance, want.null_deviance)
    # predictions on new rows take the new rows' exposure
    new = df.iloc[:5]
    close(f3.predict(new), want.predict(sm.add_constant(X[:5]), exposure=t[:5]), rtol=1e-8)
    close(f1.predict(new), f3.predict(new), rtol=1e-10)


def test_gamma_log_link_equals_statsmodels():
    rng = np.random.default_rng(3)
    n = 300
    X = rng.normal(size=(n, 2))
    y = rng.gamma(2.5, np.exp(0.5 + 0.4 * X[:, 0] - 0.2 * X[:, 1]) / 2.5)
    res = nnmle.fit(X, y, family="gamma", **TIGHT)
    # statsmodels' GLM with the observed information (method="newton"), scaled by Pearson's φ
    want = sm.GLM(y, sm.add_constant(X), family=sm.families.Gamma(sm.families.links.Log()))
    want = want.fit(method="newton", tol=1e-12)
    inf = res.infer()
    close(glm_order(res), want.params)
    close(res.loglik, want.llf)
    close(res.deviance, want.deviance)
    close(res.null_deviance, want.null_deviance)
    close(res.scale, want.scale)  # Pearson chi2 / df_resid
    close(inf.scale, want.scale)
    close(np.r_[inf.se[-1], inf.se[:-1]], want.bse)
    close(res.aic, want.aic)
    # with an exposure
    t = rng.uniform(1, 3, n)
    yt = y * t
    want = sm.GLM(yt, sm.add_constant(X), family=sm.families.Gamma(sm.families.links.Log()),
                  exposure=t).fit(method="newton", tol=1e-12)  # fmt: skip
    res = nnmle.fit(X, yt, family="gamma", exposure=t, **TIGHT)
    close(glm_order(res), want.params)
    close(res.null_deviance, want.null_deviance)
    close(res.loglik, want.llf)


def test_negative_binomial_estimates_alpha_like_statsmodels(counts):
    X, _, _, rng = counts
    alpha = 0.6
    mu = np.exp(0.4 + 0.6 * X[:, 0] - 0.3 * X[:, 1])
    y = rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mu)).astype(float)
    res = nnmle.fit(X, y, family="negative_binomial", **TIGHT)
    names = res.arch.param_names()
    free = np.flatnonzero(res.problem.free)
    assert [names[j] for j in free] == ["x1->y", "x2->y", "bias->y", "bias->log(alpha)"]
    # statsmodels' discrete NegativeBinomial estimates alpha jointly (Newton to 1e-12)
    mod = sm.NegativeBinomial(y, sm.add_constant(X))
    want = mod.fit(start_params=mod.fit(disp=0, maxiter=200).params, method="newton",
                   tol=1e-12, maxiter=100, disp=0)  # fmt: skip
    inf = res.infer()
    th = res.theta[free]
    a_hat = np.exp(th[3])
    close(np.r_[th[2], th[:2]], want.params[:3])
    close(a_hat, want.params[3])
    close(res.loglik, want.llf)
    close(res.aic, want.aic)  # alpha is counted: k = 4
    close(res.bic, want.bic)
    close(np.r_[inf.se[2], inf.se[:2]], want.bse[:3])
    close(a_hat * inf.se[3], want.bse[3])  # se(alpha) by the delta method from log(alpha)
    # the GLM at that alpha: deviance, null deviance, log-likelihood
    glm = sm.GLM(y, sm.add_constant(X), family=sm.families.NegativeBinomial(alpha=a_hat)).fit()
    close(res.deviance, glm.deviance)
    close(res.null_deviance, glm.null_deviance)
    close(res.loglik, glm.llf)
    assert f"{a_hat:.6g}" in str(res.summary())  # alpha and its std err in a note
    # with an offset, the null model is refitted with it (statsmodels' null deviance)
    t = rng.uniform(1, 3, len(y))
    res = nnmle.fit(X, y, family="negative_binomial", exposure=t, **TIGHT)
    a_hat = np.exp(res.theta[res.problem.free][3])
    glm = sm.GLM(y, sm.add_constant(X), family=sm.families.NegativeBinomial(alpha=a_hat),
                 exposure=t).fit(tol=1e-12)  # fmt: skip
    close(res.null_deviance, glm.null_deviance)
    close(res.deviance, glm.deviance)


def test_negative_binomial_network_keeps_alpha_out_of_the_symmetry_group():
    from nnmle import symmetry

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = rng.negative_binomial(2.0, 1 / (1 + 0.5 * np.exp(np.tanh(X[:, 0])))).astype(float)
    res = nnmle.fit(X, y, hidden=(3,), family="negative_binomial", n_starts=2, l2=0.1)
    j = res.arch.param_names().index("bias->log(alpha)")
    G = symmetry.group(res.problem)
    for seed in range(5):
        g = symmetry.random_element(G, seed=seed)
        moved = np.asarray(symmetry.act_flat(g, res.theta, G))
        assert moved[j] == res.theta[j]
        close(res.problem.objective(moved), res.objective, rtol=1e-10)


def test_multi_output_gaussian_is_per_column_ols_with_one_common_variance():
    rng = np.random.default_rng(5)
    n, q = 150, 3
    X = rng.normal(size=(n, 2))
    Y = X @ rng.normal(size=(2, q)) + rng.normal(size=(n, q))
    res = nnmle.fit(X, Y, family="gaussian", **TIGHT)
    assert res.arch.n_outputs == q and res.predict(X).shape == (n, q)
    W, b = (np.asarray(a) for a in res.estimate.params.layers[0])
    for k in range(q):  # coefficients: column by column, OLS
        close(np.r_[b[k], W[:, k]], sm.OLS(Y[:, k], sm.add_constant(X)).fit().params)
    # one common variance: the stacked regression (kron(I_q, X)) is statsmodels' ground truth
    stacked = sm.OLS(Y.T.ravel(), np.kron(np.eye(q), sm.add_constant(X))).fit()
    close(res.loglik, stacked.llf)
    close(res.deviance, stacked.ssr)
    close(res.null_deviance, sum(sm.OLS(Y[:, k], np.ones(n)).fit().ssr for k in range(q)))
    inf = res.infer()
    se = dict(zip(inf.names, inf.se, strict=True))
    want = stacked.bse.reshape(q, 3)  # per output: intercept, x1, x2
    for k in range(q):
        got = [se[f"bias->y{k + 1}"], se[f"x1->y{k + 1}"], se[f"x2->y{k + 1}"]]
        close(got, want[k])


def test_na_rows_dropped_equal_the_fit_on_complete_cases():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x": rng.normal(size=80), "g": rng.choice(["a", "b"], 80)})
    df["y"] = (df.x + (df.g == "b") + rng.normal(size=80) > 0.5).astype(float)
    df.loc[[3, 10], "x"] = np.nan
    df.loc[[20], "g"] = None
    df.loc[[30], "y"] = np.nan
    with pytest.warns(UserWarning, match="4 of 80 rows with missing values"):
        res = nnmle.fit("y ~ x + C(g)", data=df, family="bernoulli", **TIGHT)
    full = nnmle.fit("y ~ x + C(g)", data=df.dropna(), family="bernoulli", **TIGHT)
    assert res.n_obs == 76 and res.design.n_dropped == 4
    close(res.theta, full.theta, rtol=1e-10)
    close(res.loglik, full.loglik, rtol=1e-12)
    assert "4 row(s) with missing values were dropped" in str(res.summary())
    with pytest.raises(ValueError, match=r"Missing values.*expected complete rows.*Fix"):
        nnmle.fit("y ~ x + C(g)", data=df, family="bernoulli", na_action="raise", **TIGHT)
    # arrays too (R drops NA rows of a model matrix)
    X = df[["x"]].to_numpy()
    y = df.y.to_numpy()
    with pytest.warns(UserWarning, match="missing values"):
        arr = nnmle.fit(X, y, family="bernoulli", **TIGHT)
    keep = ~(np.isnan(X[:, 0]) | np.isnan(y))
    close(arr.theta, nnmle.fit(X[keep], y[keep], family="bernoulli", **TIGHT).theta, rtol=1e-10)


def test_two_level_string_response_for_bernoulli():
    rng = np.random.default_rng(4)
    x = rng.normal(size=60)
    label = np.where(x + rng.normal(size=60) > 0, "malignant", "benign")
    df = pd.DataFrame({"x": x, "diagnosis": label})
    res = nnmle.fit("diagnosis ~ x", data=df, family="bernoulli", **TIGHT)
    num = nnmle.fit(x[:, None], (label == "malignant").astype(float), family="bernoulli", **TIGHT)
    close(res.theta, num.theta, rtol=1e-10)
    assert res.classes == ("benign", "malignant")
    assert "y = 1 means 'malignant'" in str(res.summary())
    want = sm.GLM((label == "malignant").astype(float), sm.add_constant(x),
                  family=sm.families.Binomial()).fit()  # fmt: skip
    close(glm_order(res), want.params)
