"""Singular learning theory (nnmle.singular): ground truth for the learning coefficient (GLMs:
d/2; reduced-rank regression: Aoyagi and Watanabe 2005), invariance under the symmetry group,
WBIC/WAIC against BIC/AIC for regular models, the selection of hidden units, bad input."""

import dataclasses
import math
import warnings

import numpy as np
import pytest
from scipy import stats

import nnmle
from nnmle import symmetry
from nnmle.networks import Layer, Params, ravel
from nnmle.singular import (
    EVIDENCE,
    HiddenSelection,
    chain_warnings,
    choice_warnings,
    evidence_strength,
    free_energy,
    information_criteria,
    learning_coefficient,
    linear_model_free_energy,
    product_model_wbic,
    reduced_rank_coefficient,
    regular_coefficient,
    select_hidden,
    waic,
    wbic,
)

FAST = {"chains": 4, "draws": 200, "warmup": 200}


@pytest.fixture(scope="module")
def glm_gaussian():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 4))
    y = X @ [1.0, -1.0, 0.5, 0.0] + 0.3 * rng.normal(size=2000)
    return nnmle.fit(X, y, hidden=(), family="gaussian")


@pytest.fixture(scope="module")
def tanh_fit():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    y = np.tanh(1.5 * X[:, 0]) - 0.5 * np.tanh(X[:, 1]) + 0.2 * rng.normal(size=300)
    return nnmle.fit(X, y, hidden=(3,), family="gaussian", l2=0.1, n_starts=3)


# --- exact learning coefficients ---------------------------------------------------------------


@pytest.mark.parametrize(
    "M, H, N, r, lam",
    [
        (5, 3, 5, 0, 6.5),  # M+H+N odd: (2MN + 2HN + 2MH - M^2 - N^2 - H^2 + 1) / 8
        (5, 4, 5, 0, 8.0),  # even
        (4, 3, 8, 0, 6.0),  # M + H < N: M H / 2
        (8, 3, 4, 0, 6.0),  # N + H < M: H N / 2
        (3, 8, 4, 0, 6.0),  # M + N < H: M N / 2
        (3, 4, 1, 1, 1.5),  # a rank-1 map of 3 inputs: M / 2
        (1, 1, 1, 1, 0.5),  # y = b a x: one function direction
        (5, 3, 5, 2, 9.5),  # general r (the published formula): odd
        (5, 4, 5, 3, 11.5),
        (4, 3, 8, 2, 11.0),  # M + H < N + r: (H M - H r + N r) / 2
        (8, 3, 4, 2, 11.0),  # N + H < M + r: (H N - H r + M r) / 2
        (3, 8, 4, 3, 6.0),  # M + N < H + r: M N / 2
    ],
)
def test_reduced_rank_coefficient_in_every_regime(M, H, N, r, lam):
    assert reduced_rank_coefficient(M, H, N, r) == lam
    assert lam < H * (M + N) / 2  # always singular


def test_exact_coefficients_reject_bad_input():
    with pytest.raises(ValueError, match="exceeds min"):
        reduced_rank_coefficient(2, 3, 4, r=3)
    with pytest.raises(ValueError, match="non-negative integer"):
        reduced_rank_coefficient(-1, 3, 4)
    with pytest.raises(ValueError, match="non-negative integer"):
        regular_coefficient(2.5)
    assert regular_coefficient(7) == 3.5
    with pytest.raises(ValueError, match="same length >= 3"):
        product_model_wbic([1.0, 2.0], [1.0, 2.0, 3.0])


# --- regular models: lambda = d / 2 -----------------------------------------------------------


def test_glm_gaussian_lambda_is_half_the_coefficients(glm_gaussian):
    lc = learning_coefficient(glm_gaussian)  # n = 2000, beta = 1/log n, 8 x 1000 draws
    assert lc.regular == 2.5
    assert abs(lc.estimate - 2.5) < 0.05 * 2.5
    assert lc.se < 0.1 and lc.rhat < 1.05 and lc.escaped == 0
    assert lc.laplace == pytest.approx(2.5, rel=0.01)  # the data curve every direction
    assert lc.beta == pytest.approx(1 / math.log(2000))
    # the ML sigma^2 (RSS / n) divides the loss, the NLL at unit variance
    assert lc.phi == pytest.approx(glm_gaussian.deviance / 2000)
    lo, hi = lc.interval()
    assert lo < lc.estimate < hi
    d = lc.to_dict()
    assert d["lambda_hat"] == lc.estimate and d["d_over_2"] == 2.5


@pytest.mark.slow  # 17 s cold; the gaussian GLM case runs by default
def test_glm_binomial_lambda_is_half_the_coefficients():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1500, 3))
    trials = rng.integers(1, 20, size=1500)
    p = 1 / (1 + np.exp(-(X @ [1.0, -0.5, 0.3] + 0.2)))
    y = rng.binomial(trials, p) / trials
    res = nnmle.fit(X, y, hidden=(), family="binomial", weights=trials)
    lc = learning_coefficient(res)
    assert lc.n == 1500  # rows: the binomial's weights are trials
    assert abs(lc.estimate - 2.0) < 0.05 * 2.0


def test_sgld_on_minibatches(glm_gaussian):
    lc = learning_coefficient(glm_gaussian, sampler="sgld", batch_size=256, step_size=0.02)
    assert np.isnan(lc.acceptance).all()
    assert abs(lc.estimate - 2.5) < 0.15 * 2.5  # no Metropolis correction: a looser check


def test_same_seed_same_draws(glm_gaussian):
    a = learning_coefficient(glm_gaussian, seed=3, **FAST)
    b = learning_coefficient(glm_gaussian, seed=3, **FAST)
    c = learning_coefficient(glm_gaussian, seed=4, **FAST)
    np.testing.assert_array_equal(a.trace, b.trace)
    assert a.estimate == b.estimate != c.estimate


# --- singular models ---------------------------------------------------------------------------


def test_lambda_is_invariant_under_the_symmetry_group(tanh_fit):
    est = tanh_fit.estimate
    assert est.status == "converged"
    G = symmetry.group(est.problem)
    g = symmetry.random_element(G, seed=5, continuous=False)
    twin = symmetry.act_flat(g, est.theta, G)
    assert not np.allclose(twin, est.theta)
    assert est.problem.objective(twin) == pytest.approx(est.objective, rel=1e-12)
    a = learning_coefficient(est, seed=0)
    b = learning_coefficient(dataclasses.replace(est, theta=twin), seed=1)
    assert abs(a.estimate - b.estimate) < 4 * math.hypot(a.se, b.se)
    assert a.estimate < a.regular  # singular: 13 weights, lambda below 6.5


def _rrr(M, H, N, r, n, seed):
    """A linear network fitted to data from a rank-``r`` map, at its balanced representative.

    The minimum set of a linear network is a ``GL(H)`` orbit, along which the *local* learning
    coefficient varies; the representative ``A = U sqrt(S)``, ``B = sqrt(S) V'`` (``A B = U S V'``)
    is the minimal-norm one, which gradient flow from small weights reaches.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, M))
    A0, B0 = rng.normal(size=(M, r)), rng.normal(size=(r, N))
    Y = X @ A0 @ B0 + rng.normal(size=(n, N))
    res = nnmle.fit(
        X, Y[:, 0] if N == 1 else Y, family="gaussian", hidden=(H,), activation="identity",
        bias=False, n_starts=2, seed=seed, tol=1e-8, max_iter=20000,
    )  # fmt: skip
    est = res.estimate
    W1, W2 = (np.asarray(layer.W) for layer in est.params.layers)
    U, S, Vt = np.linalg.svd(W1 @ W2, full_matrices=False)
    k = min(H, S.size)
    A, B = np.zeros_like(W1), np.zeros_like(W2)
    A[:, :k], B[:k] = U[:, :k] * np.sqrt(S[:k]), np.sqrt(S[:k])[:, None] * Vt[:k]
    b1, b2 = (layer.b for layer in est.params.layers)
    theta = np.asarray(ravel(Params((Layer(A, b1), Layer(B, b2))), est.arch))
    assert est.problem.objective(theta) == pytest.approx(est.objective, rel=1e-9)
    return dataclasses.replace(est, theta=theta)


@pytest.mark.slow
@pytest.mark.parametrize(
    "M, H, N, r",
    [(5, 3, 5, 2), (5, 4, 5, 3), (4, 3, 8, 2), (8, 3, 4, 2), (3, 8, 4, 3), (3, 4, 1, 1),
     (4, 2, 1, 0), (2, 5, 1, 0)],
)  # fmt: skip
def test_reduced_rank_regression_lambda_within_ten_percent(M, H, N, r):
    """Every regime of Aoyagi and Watanabe (2005), true rank r: n = 10,000, beta = 1/log n,
    gamma = 10, 8 chains x 3000 draws after 2000 warm-up steps, three data sets."""
    lam = reduced_rank_coefficient(M, H, N, r)
    for seed in range(3):
        est = _rrr(M, H, N, r, n=10_000, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a flat linear network's fit may stall at its minimum
            lc = learning_coefficient(est, gamma=10.0, warmup=2000, draws=3000, seed=seed)
        assert abs(lc.estimate - lam) < 0.10 * lam, (seed, lc.estimate, lam)


# --- warnings and diagnostics -----------------------------------------------------------------


def test_a_draw_below_the_fit_is_reported(glm_gaussian):
    est = glm_gaussian.estimate
    moved = dataclasses.replace(est, theta=est.theta + np.r_[0.05, np.zeros(4)])
    with pytest.warns(UserWarning, match="fell below the fit"):
        lc = learning_coefficient(moved, **FAST)
    assert lc.escaped > 0 and lc.min_excess < -1
    assert any("below the fit" in w for w in lc.warnings)


def test_chain_warnings_name_the_problem():
    notes = chain_warnings(50.0, 1.3, np.array([0.1, 0.1]), 0.574)
    text = " ".join(notes)
    assert "not stationary" in text and "effective draws" in text and "acceptance" in text
    assert chain_warnings(2000.0, 1.001, np.array([0.6]), 0.574) == []


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"beta": 0.0}, "beta must be a finite positive number"),
        ({"beta": -1.0}, "beta must be"),
        ({"gamma": 0.0}, "gamma must be"),
        ({"chains": 1}, "chains must be an integer >= 2"),
        ({"draws": 5}, "draws must be an integer >= 20"),
        ({"sampler": "hmc"}, "Unknown sampler"),
        ({"warmup": -1}, "warmup must be"),
        ({"step_size": 0}, "step_size must be"),
    ],
)
def test_bad_sampling_arguments(glm_gaussian, kwargs, match):
    with pytest.raises(ValueError, match=match):
        learning_coefficient(glm_gaussian, **kwargs)


def test_a_result_without_data_is_refused(glm_gaussian, tmp_path):
    loaded = nnmle.load(glm_gaussian.save(tmp_path / "m.nnmle"))
    with pytest.raises(ValueError, match="carries no data"):
        learning_coefficient(loaded)
    with pytest.raises(ValueError, match="Expected a fitted result"):
        learning_coefficient("not a fit")


@pytest.mark.parametrize("status", ["saddle", "mle_not_exist", "exact_fit", "non_finite"])
def test_a_fit_that_is_not_a_minimum_is_refused(glm_gaussian, status):
    est = dataclasses.replace(glm_gaussian.estimate, status=status)
    with pytest.raises(ValueError, match=f"status '{status}'.*Fix:"):
        learning_coefficient(est)


def test_a_fit_that_stopped_early_warns(glm_gaussian):
    est = dataclasses.replace(glm_gaussian.estimate, status="max_iter")
    with pytest.warns(UserWarning, match="may not be a local minimum"):
        learning_coefficient(est, **FAST)


# --- WBIC, WAIC, information criteria ----------------------------------------------------------


@pytest.mark.slow  # 36 s with an empty JAX cache (NUTS compiles slowly); wbic's and waic's
# doctests check the same on a smaller GLM in the default run
def test_wbic_and_waic_of_a_regular_model_match_bic_and_aic(glm_gaussian):
    w = wbic(glm_gaussian)
    assert abs(w.bic_scale - glm_gaussian.bic) < 2.0  # Watanabe: 2 WBIC = BIC + O_p(1)
    assert w.solutions[0].weight == pytest.approx(1.0)
    a = waic(glm_gaussian)
    assert abs(a.value - glm_gaussian.aic) < 2.0
    assert abs(a.p_waic - 5) < 1.0  # the functional variance counts the 5 coefficients


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wbic_of_a_singular_model_equals_its_quadrature(seed):
    """y = a b x + noise with the true map 0 (n = 1000): the tempered posterior is a funnel
    along both axes; the default sampler (NUTS, acceptance 0.99, 4 x 1000 draws) reaches the
    exact WBIC within its Monte-Carlo error (MALA was 5 standard errors low here)."""
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=1000), rng.normal(size=1000)
    res = nnmle.fit(x[:, None], y, family="gaussian", hidden=(1,), activation="identity",
                    bias=False, n_starts=2, seed=0, tol=1e-10)  # fmt: skip
    exact = product_model_wbic(x, y, beta=1 / math.log(1000), prior_scale=10.0)
    w = wbic(res, seed=seed)
    assert abs(w.value - exact) < 3 * w.se + 0.05, (w.value, exact, w.se)


def test_wbic_weighs_the_distinct_solutions(tanh_fit):
    w = wbic(tanh_fit, solutions=[tanh_fit.theta, tanh_fit.theta], sampler="mala", **FAST)
    assert len(w.solutions) == 2
    assert sum(s.weight for s in w.solutions) == pytest.approx(1.0)
    assert w.value == pytest.approx(sum(s.weight * s.mean for s in w.solutions))


def test_information_criteria_side_by_side(glm_gaussian):
    ic = glm_gaussian.information_criteria(sampler="mala", **FAST)  # NUTS: the test above
    names = [r["criterion"] for r in ic.rows()]
    assert names == ["aic", "bic", "aic_edf", "bic_edf", "bic_lambda", "wbic", "waic"]
    assert all(r["assumes"] for r in ic.rows())
    assert ic.values["aic"] == glm_gaussian.aic
    assert abs(ic.values["bic_lambda"] - glm_gaussian.bic) < 2.0  # lambda_hat ~ d/2
    d = ic.to_dict()
    assert d["lambda_hat"]["lambda_hat"] == ic.lc.estimate
    with pytest.raises(ValueError, match="sampled must be"):
        information_criteria(glm_gaussian, sampled="wbic")


# --- the free energy by thermodynamic integration --------------------------------------------


def _bayes_linear_regression(n=100, seed=0):
    """A gaussian GLM whose free energy is closed form, and that value."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = 0.5 + X @ [1.0, -0.5] + rng.normal(size=n)
    return nnmle.fit(X, y, hidden=(), family="gaussian"), linear_model_free_energy(X, y)


def test_linear_model_free_energy_is_the_gaussian_marginal_likelihood():
    """Against quadrature of the marginal likelihood of y = w x + b over (w, b) on a grid."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=30)
    y = 0.4 + 0.8 * x + rng.normal(size=30)
    X1 = np.column_stack([x, np.ones(30)])
    r = y - X1 @ np.linalg.lstsq(X1, y, rcond=None)[0]
    phi = r @ r / 30
    g = np.linspace(-3, 3, 1201)  # the posterior lies well inside (prior sd 10, n = 30)
    W, B = np.meshgrid(g, g, indexing="ij")
    rss = ((y[None, None, :] - W[..., None] * x - B[..., None]) ** 2).sum(-1)
    log_f = -rss / (2 * phi) - 15 * math.log(2 * math.pi * phi)
    log_prior = stats.norm(0, 10).logpdf(W) + stats.norm(0, 10).logpdf(B)
    quad = -(np.log(np.sum(np.exp(log_f + log_prior - (log_f + log_prior).max())))
             + (log_f + log_prior).max() + 2 * math.log(g[1] - g[0]))  # fmt: skip
    assert linear_model_free_energy(x[:, None], y) == pytest.approx(quad, abs=1e-6)


def test_free_energy_of_a_bayesian_linear_regression_equals_its_closed_form():
    res, exact = _bayes_linear_regression()
    fe = free_energy(res, temperatures=12, draws=200, warmup=200, sampler="mala")
    quadrature = abs(fe.value - fe.trapezoid)  # the variance correction bounds the rule's error
    assert abs(fe.value - exact) < 4 * fe.se + quadrature, (fe.value, exact, fe.se, quadrature)
    assert fe.temperatures[-1] == 1.0 and 0 < fe.temperatures[0] < 1e-2
    assert np.all(np.diff(fe.means) < 0)  # E_t[n L_n] decreases in t (its derivative is -Var)
    # WBIC is one point of the same curve: E_t at t = 1 / log n, between the prior and t = 1
    assert fe.means[-1] < wbic(res, sampler="mala", **FAST).value < fe.means[0]


def test_free_energy_bad_input(glm_gaussian):
    with pytest.raises(ValueError, match="temperatures must be an integer >= 4"):
        free_energy(glm_gaussian, temperatures=2)
    with pytest.raises(ValueError, match="every inverse temperature.*Fix: drop beta"):
        free_energy(glm_gaussian, beta=0.5)
    from nnmle.singular._free_energy import prior_part

    with pytest.raises(ValueError, match="NaN at 1 of 3000 draws"):
        prior_part(np.r_[np.ones(2999), np.nan])
    with pytest.raises(ValueError, match="smaller prior_scale"):
        prior_part(np.r_[np.zeros(10), np.full(2990, 1e16)])
    part = prior_part(np.r_[np.full(1500, np.inf), np.full(1500, 3.0)])  # zero likelihood
    assert part.t_c == 1.0 and part.value == pytest.approx(3.0 + math.log(2.0))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    lasso = nnmle.fit(X, X[:, 0] + rng.normal(size=50), hidden=(), family="gaussian", l1=0.5)
    with pytest.raises(ValueError, match="an L2 penalty or none"):
        free_energy(lasso)


# --- choosing the number of hidden units -------------------------------------------------------


def test_select_hidden_table_and_choices():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = np.tanh(2 * X[:, 0]) + 0.3 * rng.normal(size=300)
    sel = select_hidden(
        X,
        y,
        family="gaussian",
        hidden=[0, 1],
        n_starts=2,
        cv=3,
        l2=0.01,
        sampling={**FAST, "sampler": "mala"},
    )  # the table, not the sampler
    assert isinstance(sel, HiddenSelection)
    assert sel.column("hidden") == [0, 1]
    row = sel.rows[1]
    assert row["lambda_hat"] is not None and row["wbic"] is not None
    assert row["cv_deviance"] > 0
    assert set(sel.choices) == {"aic", "bic", "bic_lambda", "wbic", "cv"}
    assert sel.choices["bic"] == sel.choices["wbic"] == sel.choices["cv"] == 1
    assert sel.to_dict()["choices"] == sel.choices


def _selection(wbic_values, wbic_se):
    rows = tuple(
        {"hidden": h, "n_params": 4 * h + 1, "status": "converged", "loglik": -100.0,
         "aic": 1.0, "bic": 1.0 + h, "d_over_2": 2.0 * h + 0.5, "lambda_hat": None,
         "bic_lambda": None, "wbic": v, "wbic_se": wbic_se, "cv_deviance": None}
        for h, v in zip((1, 2, 3), wbic_values, strict=True)
    )  # fmt: skip
    return HiddenSelection(rows, "gaussian", "tanh", 400.0, {})


def test_a_choice_within_monte_carlo_error_is_flagged():
    # runner-up 1.0 above the best, twice the standard error of the difference 2 * sqrt(2)
    close = _selection([201.0, 200.0, 230.0], wbic_se=1.0)
    assert close.choices["wbic"] == 2 and close.uncertain == {"wbic": (2, 1)}
    assert close.to_dict()["uncertain"] == {"wbic": [2, 1]}
    # 10 apart: a decision
    assert _selection([210.0, 200.0, 230.0], wbic_se=1.0).uncertain == {}
    from nnmle.report import render_hidden_selection

    assert "within Monte-Carlo error of hidden = 1" in render_hidden_selection(close)


@pytest.mark.parametrize(
    "two_log_b, strength",
    [(0.0, "not worth more than a bare mention"), (1.99, "not worth more than a bare mention"),
     (2.0, "positive"), (5.9, "positive"), (6.0, "strong"), (9.9, "strong"),
     (10.0, "very strong"), (150.0, "very strong")],
)  # fmt: skip
def test_evidence_is_named_as_kass_and_raftery(two_log_b, strength):
    # Kass and Raftery (1995), JASA 90, 773-795, section 3.2: 2 log B in 0-2, 2-6, 6-10, > 10
    assert evidence_strength(two_log_b) == strength


def test_a_choice_the_data_barely_prefer_is_flagged_on_the_bayes_scale_only():
    # 2 WBIC: width 2 beats width 1 by 1.0 (a Bayes factor of e^0.5 = 1.65), well outside the
    # Monte-Carlo error; BIC (1 + h) picks width 1 over 2 by 1.0; AIC (all 1.0) is no Bayes factor
    sel = _selection([201.0, 200.0, 230.0], wbic_se=0.1)
    assert sel.uncertain == {}
    weak = "not worth more than a bare mention"
    assert sel.evidence == {"wbic": (2, 1, 1.0, weak), "bic": (1, 2, 1.0, weak)}
    assert sel.to_dict()["evidence"]["wbic"] == {
        "chosen": 2, "runner_up": 1, "two_log_b": 1.0, "strength": weak,
    }  # fmt: skip
    messages = choice_warnings(sel)
    assert len(messages) == 2 and all("do not decide" in m for m in messages)
    assert any("wbic prefers 2 hidden units to 1" in m and "1.65" in m for m in messages)
    decided = _selection([215.0, 200.0, 230.0], wbic_se=0.1)
    assert decided.evidence["wbic"] == (2, 1, 15.0, "very strong")
    assert not any(m.startswith("nnmle: wbic") for m in choice_warnings(decided))
    # within Monte-Carlo error: that warning, not both
    close = _selection([201.0, 200.0, 230.0], wbic_se=1.0)
    assert [m for m in choice_warnings(close) if "wbic" in m] == [
        m for m in choice_warnings(close) if "Monte-Carlo" in m
    ]
    from nnmle.report import render_hidden_selection

    text = render_hidden_selection(decided)
    assert "hidden = 2  (over hidden = 1: 2 log B = 15.0, very strong)" in text


def test_a_choice_from_chains_that_are_not_stationary_is_flagged():
    sel = _selection([210.0, 200.0, 230.0], wbic_se=1.0)
    rows = tuple({**r, "wbic_rhat": 1.002 if r["hidden"] == 1 else 1.08} for r in sel.rows)
    moving = dataclasses.replace(sel, rows=rows)
    assert moving.unsettled == {"wbic": [2, 3]} and sel.unsettled == {}
    assert moving.to_dict()["unsettled"] == {"wbic": [2, 3]}
    from nnmle.report import render_hidden_selection

    assert "chains not stationary at hidden = [2, 3]" in render_hidden_selection(moving)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hidden": [1]}, "at least two"),
        ({"hidden": [0, -1]}, "at least two"),
        ({"criteria": "wbic"}, "criteria must list"),
        ({"criteria": ["aic", "lambda"]}, "criteria must list"),
        ({"cv": 1}, "cv must be"),
    ],
)
def test_select_hidden_bad_input(kwargs, match):
    X = np.zeros((10, 2))
    with pytest.raises(ValueError, match=match):
        select_hidden(X, np.zeros(10), family="gaussian", **kwargs)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="not met (2026-12-01): BIC picks the true width 6/6, WBIC 5/6 here; at noise 1.0 "
    "(20 data sets) BIC 20/20, WBIC 7/20. The sampler matches exact values; the exact free "
    "energy (nnmle.free_energy) picks 2 units where WBIC picks 3 (2 F(3) - 2 F(2) = +0.7, "
    "+2.6; WBIC's -2.0, -1.0): WBIC's own O_p(sqrt(log n)) error, and F's evidence is weak "
    "where BIC's over-charge of the redundant unit makes it 'strong' (README, 'Choosing the "
    "width')",
)
def test_wbic_picks_the_true_width_at_least_as_often_as_bic():
    """A teacher with 2 tanh units; widths 1, 2, 3; 6 data sets. Rates are printed."""
    hits = {"bic": 0, "wbic": 0}
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        X = rng.normal(size=(400, 2))
        y = np.tanh(2 * X[:, 0] - X[:, 1]) - np.tanh(X[:, 0] + 2 * X[:, 1])
        y = y + 0.3 * rng.normal(size=400)
        sel = select_hidden(X, y, family="gaussian", hidden=[1, 2, 3], n_starts=4, l2=1e-3,
                            seed=seed, criteria=("wbic",), sampling={"chains": 4})  # fmt: skip
        for crit in hits:
            hits[crit] += sel.choices[crit] == 2
    print(f"true width chosen: BIC {hits['bic']}/6, WBIC {hits['wbic']}/6")
    assert hits["wbic"] >= hits["bic"]


@pytest.mark.slow
def test_wbic_and_the_exact_free_energy_agree_that_two_and_three_units_are_close():
    """The 2-unit teacher of the width table (n = 400, noise sd 1, data set 4): the free
    energy by thermodynamic integration (chains at the best minimum, 16 temperatures) and
    WBIC give the same difference between 3 and 2 units up to WBIC's error, and it is no
    decision (2 log B below 6, 'positive' at most; the benchmark measured 2 F(3) - 2 F(2) =
    0.74 here, 2 WBIC's difference -2.0), while BIC picks 2 units."""
    rng = np.random.default_rng(1004)
    X = rng.normal(size=(400, 2))
    y = np.tanh(2 * X[:, 0] - X[:, 1]) - np.tanh(X[:, 0] + 2 * X[:, 1]) + rng.normal(size=400)
    out = {}
    for width in (2, 3):
        res = nnmle.fit(X, y, hidden=(width,), family="gaussian", l2=1e-3, n_starts=4, seed=4)
        w = wbic(res, seed=4)
        fe = free_energy(res, solutions=[res.theta], temperatures=16, draws=300, warmup=300)
        out[width] = (res.bic, 2 * w.value, 2 * w.se, fe.bic_scale, 2 * fe.se)
    (b2, w2, ws2, f2, fs2), (b3, w3, ws3, f3, fs3) = out[2], out[3]
    se = math.sqrt(ws2**2 + ws3**2 + fs2**2 + fs3**2)
    assert abs((w3 - w2) - (f3 - f2)) < 3 * se + 2.0, out
    assert evidence_strength(abs(f3 - f2)) in (EVIDENCE[0][1], "positive"), out
    assert b3 > b2, out  # BIC picks 2 units: it charges the third unit's 4 weights in full


# --- rendering ----------------------------------------------------------------------------------


def test_renderers_show_lambda_against_d_over_2(tanh_fit, tmp_path):
    from nnmle.report import (
        plot_hidden_selection,
        render_hidden_selection,
        render_information_criteria,
        render_learning_coefficient,
    )

    lc = learning_coefficient(tanh_fit, **FAST)
    text = render_learning_coefficient(lc)
    assert "lambda_hat" in text and "d/2" in text and "6.5" in text
    ic = information_criteria(tanh_fit, sampled=["lambda"], **FAST)
    assert "bic_lambda" in render_information_criteria(ic)
    sel = HiddenSelection(
        tuple(
            {"hidden": h, "n_params": 3 * h, "status": "converged", "loglik": -10.0 * h,
             "aic": 5.0 - h, "bic": 5.0 + h, "d_over_2": 1.5 * h, "lambda_hat": 0.7 * h,
             "lambda_se": 0.1, "bic_lambda": 4.0, "wbic": 4.5 + h, "cv_deviance": 9.0,
             "wbic_se": 0.1, "notes": []}
            for h in (1, 2)
        ),
        "gaussian", "tanh", 100.0, {},
    )  # fmt: skip
    assert "chosen by bic" in render_hidden_selection(sel)
    out = plot_hidden_selection(sel, tmp_path / "sel.png")
    assert (tmp_path / "sel.png").stat().st_size > 1000 and out.endswith("sel.png")
