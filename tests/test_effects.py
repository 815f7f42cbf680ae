"""The statsmodels surface, covariate effects, tests per term and prediction intervals
(``nnmle.inference._statistics``, ``_functionals``, ``_effects``, ``_terms``, ``_anova``,
``_prediction`` and ``nnmle._results``): statsmodels and scikit-learn are the truth for
networks without hidden layer and for partial dependence; finite differences for effects;
invariance under the symmetry group; honest NaN where nothing is identified."""

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from sklearn.inspection import partial_dependence as sk_partial_dependence

import nnmle
from nnmle import MLEClassifier, MLERegressor, symmetry
from nnmle.api import FitResult
from nnmle.inference import anova, margins, partial_dependence, prediction
from nnmle.inference._functionals import averages, data_rows, slopes

TIGHT = dict(tol=1e-10, max_iter=20000)
REL = 1e-6


def _close(ours, ref, rel=REL):
    np.testing.assert_allclose(np.asarray(ours, float), np.asarray(ref, float), rtol=rel, atol=0)


# --- depth 0: every attribute equals statsmodels' GLM ------------------------------------------


@pytest.fixture(scope="module")
def glm_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    return X, {
        "gaussian": (X[:, 0] - 0.5 * X[:, 1] + rng.normal(size=150), sm.families.Gaussian()),
        "bernoulli": ((X[:, 0] + rng.logistic(size=150) > 0).astype(float), sm.families.Binomial()),
        "poisson": (rng.poisson(np.exp(0.3 + 0.4 * X[:, 0])).astype(float), sm.families.Poisson()),
    }


ORDER = [3, 0, 1, 2]  # nnmle: x1, x2, x3, bias; statsmodels: const first
SCALARS = ("llf", "llnull", "deviance", "null_deviance", "pearson_chi2", "scale", "nobs",
           "df_model", "df_resid", "aic")  # fmt: skip


@pytest.mark.parametrize("family", ["gaussian", "bernoulli", "poisson"])
def test_glm_results_surface_equals_statsmodels(glm_data, family):
    X, cases = glm_data
    y, sm_family = cases[family]
    res = nnmle.fit(X, y, hidden=(), family=family, **TIGHT)
    ref = sm.GLM(y, sm.add_constant(X), family=sm_family).fit(tol=1e-12)
    assert isinstance(res.params, pd.Series) and list(res.params.index)[-1] == "bias->y"
    for name in ("params", "bse", "tvalues", "pvalues"):
        _close(getattr(res, name).to_numpy()[ORDER], getattr(ref, name))
    _close(res.conf_int().to_numpy()[ORDER], ref.conf_int())
    _close(res.conf_int(alpha=0.1).to_numpy()[ORDER], ref.conf_int(alpha=0.1))
    _close(res.cov_params().to_numpy()[np.ix_(ORDER, ORDER)], ref.cov_params())
    for name in SCALARS:
        assert getattr(res, name) == pytest.approx(getattr(ref, name), rel=REL), name
    assert res.bic == pytest.approx(ref.bic_llf, rel=REL)
    for kind in ("cs", "mcf"):
        assert res.pseudo_rsquared(kind) == pytest.approx(ref.pseudo_rsquared(kind), rel=REL)
    _close(res.fittedvalues, ref.fittedvalues)
    for kind in ("response", "pearson", "deviance", "working"):
        _close(getattr(res, f"resid_{kind}"), getattr(ref, f"resid_{kind}"), rel=1e-5)
    assert set(res.identification) == {"data"}


def test_binomial_with_trials_equals_statsmodels(rng):
    X = rng.normal(size=(80, 2))
    m = rng.integers(1, 15, 80)
    k = rng.binomial(m, 1 / (1 + np.exp(-(0.3 + X @ [1.0, -0.5]))))
    res = nnmle.fit(X, k / m, hidden=(), family="binomial", weights=m, **TIGHT)
    ref = sm.GLM(np.column_stack([k, m - k]), sm.add_constant(X), family=sm.families.Binomial())
    ref = ref.fit(tol=1e-12)
    _close(res.bse.to_numpy()[[2, 0, 1]], ref.bse)
    for name in ("llf", "llnull", "pearson_chi2", "nobs", "df_model", "df_resid"):
        assert getattr(res, name) == pytest.approx(getattr(ref, name), rel=REL), name
    assert res.pseudo_rsquared() == pytest.approx(ref.pseudo_rsquared(), rel=REL)
    for kind in ("response", "pearson", "deviance"):  # statsmodels' trials convention
        _close(getattr(res, f"resid_{kind}"), getattr(ref, f"resid_{kind}"), rel=1e-5)
    # working residuals stay on the proportion scale (statsmodels multiplies them by m^2)
    _close(res.resid_working * m**2, ref.resid_working, rel=1e-5)


def test_multinomial_equals_mnlogit(rng):
    X = rng.normal(size=(200, 2))
    P = np.exp(np.column_stack([0 * X[:, 0], 0.5 + X[:, 0], -0.3 + X[:, 1]]))
    y = np.array([rng.choice(3, p=p / p.sum()) for p in P])
    res = nnmle.fit(X, y, hidden=(), family="multinomial", **TIGHT)
    ref = sm.MNLogit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12)
    # nnmle: x1->y[1], x1->y[2], x2->y[1], x2->y[2], bias->y[1], bias->y[2]
    _close(res.params.to_numpy().reshape(3, 2)[[2, 0, 1]], ref.params)
    _close(res.bse.to_numpy().reshape(3, 2)[[2, 0, 1]], ref.bse)
    for name in ("llf", "llnull", "nobs", "df_model", "df_resid", "aic"):
        assert getattr(res, name) == pytest.approx(getattr(ref, name), rel=REL), name
    assert res.pseudo_rsquared("mcf") == pytest.approx(ref.prsquared, rel=REL)
    _close(res.fittedvalues, ref.predict())
    me, mr = res.get_margeff(), ref.get_margeff()
    _close(me.margeff, mr.margeff)
    _close(me.margeff_se, mr.margeff_se)
    frame = me.summary_frame()
    assert frame.index.names == ["endog", "exog"] and frame.shape[0] == 6


def test_predictions_equal_statsmodels_and_keep_the_index(glm_data):
    X, cases = glm_data
    new = pd.DataFrame(X[:5], index=list("abcde"))
    for family, (y, sm_family) in cases.items():
        res = nnmle.fit(X, y, hidden=(), family=family, **TIGHT)
        ref = sm.GLM(y, sm.add_constant(X), family=sm_family).fit(tol=1e-12)
        ours = res.get_prediction(new).summary_frame(alpha=0.1)
        theirs = ref.get_prediction(sm.add_constant(X[:5])).summary_frame(alpha=0.1)
        assert list(ours.index) == list("abcde")
        for col in theirs.columns:
            _close(ours[col], theirs[col])
        assert {"obs_ci_lower", "obs_ci_upper"} <= set(ours.columns)
        if family == "gaussian":  # mean interval combined with the residual variance
            q = stats.norm.ppf(0.95)
            half = q * np.sqrt(theirs["mean_se"] ** 2 + ref.scale)
            _close(ours["obs_ci_upper"], theirs["mean"] + half)
            _close(ours["obs_ci_lower"], theirs["mean"] - half)
        else:  # the predictive distribution's quantiles: integers around the mean
            obs = ours[["obs_ci_lower", "obs_ci_upper"]].to_numpy()
            assert np.all(obs == np.round(obs)) and np.all(obs[:, 0] <= ours["mean"])


@pytest.mark.parametrize(
    ("model", "family"), [(sm.Logit, "bernoulli"), (sm.Poisson, "poisson")]
)  # fmt: skip
def test_margeff_equals_statsmodels(glm_data, model, family):
    X, cases = glm_data
    y = cases[family][0]
    res = nnmle.fit(X, y, hidden=(), family=family, **TIGHT)
    ref = model(y, sm.add_constant(X)).fit(disp=0, tol=1e-12)
    for at in ("overall", "mean"):
        for method in ("dydx", "eyex"):
            me, mr = res.get_margeff(at=at, method=method), ref.get_margeff(at=at, method=method)
            _close(me.margeff, mr.margeff)
            _close(me.margeff_se, mr.margeff_se)
    frame, ref_frame = res.get_margeff().summary_frame(), ref.get_margeff().summary_frame()
    assert list(ref_frame.columns) == list(frame.columns)[:6]
    _close(frame["Conf. Int. Low"], ref_frame["Conf. Int. Low"])


@pytest.fixture(scope="module")
def formula_fit():
    rng = np.random.default_rng(2)
    n = 300
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    df["g"], df["h"] = rng.choice(list("abc"), n), rng.choice(["u", "v"], n)
    df["y"] = rng.poisson(np.exp(0.2 + 0.3 * df.x + 0.4 * (df.g == "b") - 0.3 * (df.h == "v")))
    formula = "y ~ x + z + C(g) + h"
    res = nnmle.fit(formula, data=df, hidden=(), family="poisson", **TIGHT)
    ref = smf.glm(formula, df, family=sm.families.Poisson()).fit(tol=1e-12)
    return df, formula, res, ref


def test_formula_names_the_intercept_and_tests_terms_as_statsmodels(formula_fit):
    df, formula, res, ref = formula_fit
    assert res.params.index[-1] == "Intercept" and "Intercept" in str(res.summary())
    ours, theirs = res.wald_test_terms().table, ref.wald_test_terms(skip_single=False).table
    assert set(ours.index) == set(theirs.index)
    for term in theirs.index:
        assert ours.loc[term, "statistic"] == pytest.approx(theirs.loc[term, "statistic"], rel=REL)
        assert ours.loc[term, "df_constraint"] == theirs.loc[term, "df_constraint"]


def test_anova_lr_equals_refitted_statsmodels_glms(formula_fit):
    df, formula, res, ref = formula_fit
    table = nnmle.anova(res, test="LR", n_starts=2).table
    terms = ["x", "z", "C(g)", "h"]
    assert list(table.index) == terms
    for term in terms:
        rest = " + ".join(t for t in terms if t != term)
        small = smf.glm(f"y ~ {rest}", df, family=sm.families.Poisson()).fit(tol=1e-12)
        assert table.loc[term, "lr"] == pytest.approx(2 * (ref.llf - small.llf), rel=REL)
        assert table.loc[term, "pvalue"] == pytest.approx(
            stats.chi2.sf(2 * (ref.llf - small.llf), ref.df_model - small.df_model), rel=1e-5
        )
        assert table.loc[term, "starts_at_best"] == 2 and table.loc[term, "regular"]


def test_categorical_effects_are_discrete_changes_from_the_reference(formula_fit):
    df, formula, res, ref = formula_fit
    me = res.get_margeff().summary_frame()
    dummy = smf.poisson(formula, df).fit(disp=0, tol=1e-12).get_margeff(dummy=True)
    dummy = dummy.summary_frame()
    # two levels: statsmodels' dummy effect is the change from the reference level
    for col in ("dy/dx", "Std. Err."):
        assert me.loc["h[T.v]", col] == pytest.approx(dummy.loc["h[T.v]", col], rel=REL)
    # three levels: every row set to the level minus every row at the reference
    th, prob = res.theta, res.problem
    X = prob.X.copy()
    cols = [res.design.input_names.index(c) for c in ("C(g)[T.b]", "C(g)[T.c]")]
    X[:, cols] = 0.0
    base = prob.mean(th, X).mean()
    for k, level in enumerate(("b", "c")):
        Xl = X.copy()
        Xl[:, cols[k]] = 1.0
        assert me.loc[f"C(g)[T.{level}]", "dy/dx"] == pytest.approx(
            prob.mean(th, Xl).mean() - base, rel=1e-10
        )


# --- any depth: scikit-learn, finite differences, the symmetry group ----------------------------


def test_partial_dependence_equals_scikit_learn():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 3))
    y = (np.tanh(X[:, 0]) + 0.5 * X[:, 1] ** 2 + 0.5 * rng.logistic(size=120) > 0.4).astype(int)
    clf = MLEClassifier(hidden=(3,), l2=0.1).fit(X, y)
    for features, res in (([0], 20), ([2], 20), ([0, 1], 8)):
        sk = sk_partial_dependence(clf, X, features, kind="average", method="brute",
                                   grid_resolution=res)  # fmt: skip
        ours = clf.result_.partial_dependence(features, grid_resolution=res)
        np.testing.assert_allclose(ours.average, sk["average"], rtol=0, atol=1e-10)
        for g, h in zip(ours.grid_values, sk["grid_values"], strict=True):
            np.testing.assert_array_equal(g, h)
    y3 = np.digitize(X[:, 0] + 0.5 * rng.normal(size=120), [-0.5, 0.5])
    clf3 = MLEClassifier(hidden=(2,), l2=0.1).fit(X, y3)
    sk = sk_partial_dependence(clf3, X, [1], kind="average", method="brute", grid_resolution=15)
    ours = clf3.result_.partial_dependence(1, grid_resolution=15)
    np.testing.assert_allclose(ours.average, sk["average"], rtol=0, atol=1e-10)
    reg = MLERegressor(hidden=(4,), l2=0.01).fit(X, np.sin(X[:, 0]) + 0.1 * rng.normal(size=120))
    sk = sk_partial_dependence(reg, X, [0], kind="average", method="brute")
    np.testing.assert_allclose(reg.result_.partial_dependence(0).average, sk["average"], atol=1e-10)


@pytest.fixture(scope="module")
def network():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(150, 3))
    y = rng.poisson(np.exp(0.3 + np.tanh(X[:, 0]) - 0.5 * X[:, 1] ** 2 / 2)).astype(float)
    return nnmle.fit(X, y, hidden=(3,), family="poisson", l2=0.05, n_starts=2, seed=1)


def test_average_marginal_effects_equal_finite_differences(network):
    res, h = network, 1e-5
    prob, th, X = network.problem, network.theta, network.problem.X
    fd = []
    for j in range(3):
        up, down = X.copy(), X.copy()
        up[:, j] += h
        down[:, j] -= h
        fd.append(np.mean(prob.mean(th, up) - prob.mean(th, down)) / (2 * h))
    np.testing.assert_allclose(res.get_margeff().margeff, fd, rtol=1e-6, atol=1e-9)


def test_effects_are_invariant_under_the_symmetry_group(network):
    prob, theta = network.problem, network.theta
    G = symmetry.group(prob)
    rows = data_rows(prob)
    Xs = np.stack([np.asarray(rows.X)] * 2)
    Xs[1][:, 0] += 1.0
    ref_s, ref_a = slopes(theta, rows, prob, jac=False), averages(theta, Xs, rows, prob, jac=False)
    base = network.get_margeff()
    for seed in range(3):
        twin = np.asarray(symmetry.act_flat(symmetry.random_element(G, seed), theta, G))
        assert np.max(np.abs(twin - theta)) > 1e-3  # really another point of the orbit
        np.testing.assert_allclose(slopes(twin, rows, prob, jac=False), ref_s, atol=1e-10)
        np.testing.assert_allclose(averages(twin, Xs, rows, prob, jac=False), ref_a, atol=1e-10)
        other = FitResult(dataclasses.replace(network.estimate, theta=twin), network.design)
        me = other.get_margeff()
        np.testing.assert_allclose(me.margeff, base.margeff, atol=1e-10)
        np.testing.assert_allclose(me.margeff_se, base.margeff_se, atol=1e-10)


def test_unidentified_directions_give_nan_not_numbers():
    rng = np.random.default_rng(4)
    x = rng.normal(size=100)
    X = np.column_stack([x, x, rng.normal(size=100)])  # x1 == x2: collinear
    res = nnmle.fit(X, x + 0.5 * X[:, 2] + rng.normal(size=100), hidden=(), family="gaussian")
    assert res.identification.tolist() == ["none", "none", "data", "data"]
    assert np.isnan(res.bse.iloc[:2]).all() and np.isfinite(res.bse.iloc[2:]).all()
    me = res.get_margeff()
    assert list(me.identification) == ["none", "none", "data"]
    assert np.isnan(me.margeff_se[:2]).all() and np.isfinite(me.margeff_se[2])
    frame = res.get_prediction(np.array([[1.0, 1.0, 0.0], [1.0, -1.0, 0.0]])).summary_frame()
    assert np.isfinite(frame.iloc[0]).all()  # along the data: identified
    assert frame.iloc[1, 1:].isna().all()  # x1 != x2: never seen, not identified
    assert np.isnan(res.wald_test_terms().table.loc["x1", "statistic"])


def test_penalized_network_effects_say_what_identifies_them(network):
    me = network.get_margeff()
    assert set(me.identification) <= {"data", "penalty"}
    assert np.all(np.isfinite(me.margeff_se))
    t = network.wald_test_terms()
    assert t.penalized and list(t.terms) == ["x1", "x2", "x3"] and list(t.df_constraint) == [3] * 3
    pdp = network.partial_dependence("x2", grid=np.linspace(-2, 2, 9))
    assert pdp.average.shape == (1, 9)
    assert np.all(pdp.ci_low <= pdp.average) and np.all(pdp.average <= pdp.ci_high)


def test_params_series_keeps_the_old_params_view_with_a_deprecation_warning(network):
    res = network
    with pytest.warns(DeprecationWarning, match="res.weights"):
        layers = res.params.layers
    np.testing.assert_array_equal(np.asarray(layers[0].W), np.asarray(res.weights.layers[0].W))
    G = symmetry.group(res.problem)
    with pytest.warns(DeprecationWarning, match="res.weights"):
        canon, _ = symmetry.canonicalize(res.params, G)
    ref, _ = symmetry.canonicalize(res.weights, G)
    np.testing.assert_allclose(np.asarray(canon.layers[0].W), np.asarray(ref.layers[0].W))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert type(res.params * 2) is pd.Series  # derived values are plain Series
        np.testing.assert_allclose(res.params.to_numpy(), res.infer().coef)


@pytest.mark.slow  # refits per bootstrap replicate (16 s cold)
def test_anova_bootstrap_and_nested_networks(rng):
    X = rng.normal(size=(80, 2))
    y = np.tanh(X[:, 0]) + 0.3 * rng.normal(size=80)
    small = nnmle.fit(X, y, hidden=(1,), family="gaussian", n_starts=2, seed=1)
    big = nnmle.fit(X, y, hidden=(2,), family="gaussian", n_starts=2, seed=1)
    a = anova(small, big)
    assert not a.rows[0]["regular"] and "chi-square(4) reference does not hold" in a.notes[0]
    b = anova(small, big, method="bootstrap", n_boot=4, n_starts=1)
    row = b.rows[0]
    assert row["n_boot"] == 4 and 1 / 5 <= row["pvalue"] <= 1
    glm = nnmle.fit(X, y, hidden=(), family="gaussian")
    c = anova(glm, method="bootstrap", n_boot=4, n_starts=1, terms=["x1"])
    assert list(c.table.index) == ["x1"] and c.rows[0]["pvalue"] == pytest.approx(1 / 5)


def test_bootstrap_effects_use_the_replicates(network):
    inf = network.infer(se="bootstrap", n_boot=8, seed=0)
    me = margins(network, inference=inf)
    pr = prediction(network, network.problem.X[:3], inference=inf)
    assert me.se_method == "bootstrap" and pr.se_method == "bootstrap"
    assert np.all(me.ci_low <= me.ci_high) and np.all(np.isfinite(me.margeff_se))
    ci = pr.conf_int()
    assert ci.shape == (3, 2) and np.all(ci[:, 0] <= ci[:, 1])


# --- bad input ---------------------------------------------------------------------------------


def test_bad_input_says_what_was_expected_received_and_the_fix(network, formula_fit, tmp_path):
    res = network
    with pytest.raises(ValueError, match=r"Unknown feature 'nope'.*expected.*Fix"):
        res.partial_dependence("nope")
    with pytest.raises(ValueError, match=r"index 7 is out of range.*Fix"):
        res.partial_dependence(7)
    with pytest.raises(ValueError, match=r"No term 'C\(k\)'.*expected one of.*Fix"):
        nnmle.anova(formula_fit[2], terms=["C(k)"])
    for alpha in (0, 1, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\).*got.*Fix"):
            res.get_margeff().summary_frame(alpha=alpha)
        with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\)"):
            res.conf_int(alpha=alpha)
        with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\)"):
            res.get_prediction(res.problem.X[:2]).summary_frame(alpha=alpha)
    with pytest.raises(ValueError, match=r"level must be in \(0, 1\).*Fix"):
        partial_dependence(res, "x1", level=1.0)
    with pytest.raises(ValueError, match=r"at='median' is not supported.*Fix"):
        res.get_margeff(at="median")
    with pytest.raises(ValueError, match=r"method='dxdy' is not a marginal effect.*Fix"):
        res.get_margeff(method="dxdy")
    with pytest.raises(ValueError, match=r"test='F' is not supported.*Fix"):
        nnmle.anova(res, test="F")
    with pytest.raises(ValueError, match=r"method='exact' is not supported.*Fix"):
        nnmle.anova(res, method="exact")
    with pytest.raises(ValueError, match=r"kind='mse' is not a pseudo R-squared.*Fix"):
        res.pseudo_rsquared(kind="mse")
    res.save(tmp_path / "m.nnmle")
    loaded = nnmle.load(tmp_path / "m.nnmle")
    assert loaded.params.index[0] == "x1->h1"  # the weights need no data
    for call in (loaded.get_margeff, lambda: loaded.partial_dependence("x1")):
        with pytest.raises(ValueError, match=r"averages over the fitted rows.*loaded.*Fix: refit"):
            call()


# --- coverage (slow) ---------------------------------------------------------------------------


@pytest.mark.slow
def test_coverage_of_mean_effect_and_observation_intervals():
    """The well-separated 1-2-1 tanh teacher of the inference tests (steps at x = -1 and 1),
    n = 200 inputs uniform on [-2.5, 2.5], gaussian noise 0.3, 500 replicates: 95% intervals
    for the mean at five points, for the average marginal effect (the sample AME at the
    replicate's inputs) and for a new observation at the five points cover in [0.93, 0.97]."""
    rng = np.random.default_rng(2024)
    n, reps, sigma = 200, 500, 0.3
    pts = np.linspace(-2, 2, 5)[:, None]

    def f(x):
        return np.tanh(2 * x - 2) + np.tanh(2 * x + 2) + 0.2

    def slope(x):
        return 2 / np.cosh(2 * x - 2) ** 2 + 2 / np.cosh(2 * x + 2) ** 2

    hits: dict[str, list] = {"mean": [], "ame": [], "obs": []}
    for r in range(reps):
        X = rng.uniform(-2.5, 2.5, size=(n, 1))
        y = f(X[:, 0]) + sigma * rng.normal(size=n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = nnmle.fit(X, y, hidden=(2,), family="gaussian", n_starts=4, seed=r, tol=1e-8)
        frame = res.get_prediction(pts).summary_frame()
        truth = f(pts[:, 0])
        hits["mean"] += list((frame.mean_ci_lower <= truth) & (truth <= frame.mean_ci_upper))
        new = truth + sigma * rng.normal(size=truth.size)
        hits["obs"] += list((frame.obs_ci_lower <= new) & (new <= frame.obs_ci_upper))
        me = res.get_margeff()
        ame = float(np.mean(slope(X[:, 0])))
        hits["ame"].append(bool(me.ci_low[0] <= ame <= me.ci_high[0]))
    rates = {k: float(np.mean(v)) for k, v in hits.items()}
    print("coverage of 95% intervals:", rates, f"({reps} replicates)")
    for k, rate in rates.items():
        assert 0.93 <= rate <= 0.97, (k, rate)
