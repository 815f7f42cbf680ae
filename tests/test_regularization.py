"""Regularization: the proximal L1/elastic-net solver against scikit-learn and the KKT
conditions, penalties under the symmetry group, the penalty path (warm starts, CV, edf,
evidence) against closed forms. (Diverging weights: tests/test_api.py and test_starts.py.)"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.linear_model import ElasticNet, Lasso

import nnmle
from nnmle.families import get_family
from nnmle.networks import Architecture, init_params, unravel
from nnmle.penalties import Penalty, penalized_mask, penalty_value
from nnmle.problem import Problem, negloglik, objective
from nnmle.regularization import (
    fit_path,
    grid_edges,
    log_evidence,
    path_report,
    penalty_symmetry_table,
    relu_balance,
)
from nnmle.report import plot_path, render_path, render_penalty_symmetry
from nnmle.solvers import choose_solver, solve, status_code
from nnmle.solvers.proximal import min_norm_subgradient
from nnmle.starts import starting_values
from nnmle.symmetry import act_flat, group, random_element

TIGHT = dict(tol=1e-10, max_iter=50000)
SEPARATED = (np.array([[-2.0], [-1.0], [1.0], [2.0]]), np.array([0.0, 0.0, 1.0, 1.0]))
path = nnmle.path


def _glm_data(family, seed=0):
    """200 rows, 3 inputs, the third without effect (the shapes of tests/test_inference.py,
    so that the compiled solvers are shared)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 3))
    eta = 0.3 + X @ np.array([0.8, -0.4, 0.0])
    if family == "gaussian":
        return X, eta + rng.normal(size=200)
    return X, (eta + rng.logistic(size=200) > 0).astype(float)


@pytest.fixture(scope="module")
def sparse_gaussian():
    return _glm_data("gaussian")


def _kkt(res):
    """Minimum-norm subgradient of the penalized objective at the fit."""
    th = jnp.asarray(res.theta)
    pm = jnp.asarray(penalized_mask(res.arch, res.penalty), dtype=float)

    def smooth(t):
        return negloglik(t, res.problem) + res.penalty.l2 * jnp.sum(pm * t**2)

    g = jax.grad(smooth)(th) * jnp.asarray(res.arch.free_mask(), dtype=float)
    return np.asarray(min_norm_subgradient(th, g, res.penalty.l1, pm))


# --- L1 and elastic net -------------------------------------------------------------------------


def test_lasso_equals_sklearn_with_exact_zeros(sparse_gaussian):
    X, y = sparse_gaussian
    n, l1 = X.shape[0], 30.0
    res = nnmle.fit(X, y, hidden=(), family="gaussian", l1=l1, **TIGHT)
    ref = Lasso(alpha=l1 / n, tol=1e-14, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(res.theta[:-1], ref.coef_, atol=1e-6)
    assert res.theta[-1] == pytest.approx(ref.intercept_, abs=1e-6)
    assert res.status == "converged"
    zeros = ref.coef_ == 0
    assert zeros.sum() >= 1 and np.all(res.theta[:-1][zeros] == 0.0)  # exactly zero
    assert np.linalg.norm(_kkt(res)) <= 1e-9


def test_elastic_net_equals_sklearn(sparse_gaussian):
    X, y = sparse_gaussian
    n, l1, l2 = X.shape[0], 15.0, 5.0
    res = nnmle.fit(X, y, hidden=(), family="gaussian", l1=l1, l2=l2, **TIGHT)
    # sklearn: 1/(2n)|r|^2 + a r |w|_1 + a (1 - r)/2 |w|^2, ours divided by n
    alpha = (l1 + 2 * l2) / n
    ref = ElasticNet(alpha=alpha, l1_ratio=(l1 / n) / alpha, tol=1e-14, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(res.theta[:-1], ref.coef_, atol=1e-6)
    assert res.theta[-1] == pytest.approx(ref.intercept_, abs=1e-6)
    assert res.objective == pytest.approx(float(objective(jnp.asarray(res.theta), res.problem)))


def test_l1_logistic_and_network_satisfy_kkt_with_exact_zeros():
    X, y = _glm_data("bernoulli")
    glm = nnmle.fit(X, y, hidden=(), l1=5.0, **TIGHT)
    assert glm.status == "converged" and np.linalg.norm(_kkt(glm)) <= 1e-9
    assert glm.theta[2] == 0.0 and np.all(glm.theta[:2] != 0.0)
    net = nnmle.fit(X, y, hidden=(3,), l1=2.0, n_restarts=2, tol=1e-7)
    assert net.status == "converged"
    assert np.linalg.norm(_kkt(net)) <= 1e-7
    assert np.any(net.theta[penalized_mask(net.arch, net.penalty)] == 0.0)
    assert [r.index for r in net.restarts] == [0, 1]


def test_solver_from_a_frozen_mask_keeps_frozen_entries():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ [1.0, 0.0, -1.0] + 0.2 * rng.normal(size=50)
    arch0 = Architecture.build(3, hidden=())
    mask = np.full(arch0.n_total, np.nan)
    mask[1] = 0.25
    res = nnmle.fit(X, y, hidden=(), family="gaussian", l1=1.0, mask=unravel(mask, arch0))
    assert res.theta[1] == 0.25 and res.status == "converged"


def test_solve_reports_non_finite_start():
    arch = Architecture.build(1, hidden=())
    X, Y = np.array([[0.0], [1.0]]), np.array([[1.0], [2.0]])
    problem = Problem.build(X, Y, np.ones(2), get_family("poisson"), arch, Penalty(l1=1.0))
    solver = choose_solver(problem)
    assert solver.name == "proximal"
    sol = solve(solver, jnp.array([800.0, 0.0]), problem)
    assert int(sol.status) == status_code("non_finite")


# --- penalties and the symmetry group -----------------------------------------------------------


@pytest.mark.parametrize("activation", ["tanh", "logistic", "relu", "softplus"])
@pytest.mark.parametrize("seed", range(4))
def test_penalties_invariant_under_permutations_and_flips(activation, seed):
    arch = Architecture.build(3, hidden=(4, 3), activation=activation)
    theta = init_params(jax.random.PRNGKey(seed), arch)
    twin = jnp.asarray(act_flat(random_element(arch, seed, continuous=False), theta, arch))
    for pen in (Penalty(l2=0.7), Penalty(l1=0.3), Penalty(l2=0.2, l1=0.5)):
        assert float(penalty_value(twin, arch, pen)) == pytest.approx(
            float(penalty_value(theta, arch, pen)), rel=1e-12
        )


def test_relu_rescaling_changes_the_penalty_and_the_demo_shows_it():
    rows = penalty_symmetry_table(seed=1)
    for r in rows:
        assert r["function_change"] < 1e-12  # every row is a symmetry of the function
        rescale = "rescaling" in r["transformation"]
        assert r["l2_invariant"] is not rescale and r["l1_invariant"] is not rescale
    text = render_penalty_symmetry(rows)
    assert "permutation and sign flips" in text and "balanced" in text


@pytest.mark.parametrize(("l2", "l1"), [(0.5, 0.0), (0.0, 0.5)])
def test_penalized_relu_optimum_is_balanced(l2, l1):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 2))
    y = np.maximum(X[:, 0], 0) - 0.5 * np.maximum(-X[:, 1], 0) + 0.1 * rng.normal(size=100)
    res = nnmle.fit(X, y, hidden=(3,), activation="relu", family="gaussian", l2=l2, l1=l1, tol=1e-9)
    assert res.converged
    for unit in relu_balance(res):
        if unit["outgoing"] > 1e-6:
            assert unit["incoming"] == pytest.approx(unit["outgoing"], rel=1e-4), unit


# --- the path -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ridge_path(sparse_gaussian):
    X, y = sparse_gaussian
    grid = [300.0, 30.0, 3.0, 0.3]
    return (
        X,
        y,
        path(X, y, hidden=(), family="gaussian", l2=grid, penalize_bias=True, cv=4, tol=1e-9),
    )


def test_path_points_equal_closed_form_ridge(ridge_path):
    X, y, p = ridge_path
    D = np.column_stack([X, np.ones(len(y))])  # nnmle order: weights then bias
    eig = np.linalg.eigvalsh(D.T @ D)
    assert list(p.values) == [300.0, 30.0, 3.0, 0.3]
    for pt in p.points:
        beta = np.linalg.solve(D.T @ D + 2 * pt.l2 * np.eye(D.shape[1]), D.T @ y)
        np.testing.assert_allclose(pt.theta, beta, atol=1e-7)
        assert pt.weight_norm == pytest.approx(np.linalg.norm(beta), rel=1e-7)
        assert pt.deviance == pytest.approx(np.sum((y - D @ beta) ** 2), rel=1e-8)
        assert pt.edf == pytest.approx(np.sum(eig / (eig + 2 * pt.l2)), rel=1e-8)
    norms = p.column("weight_norm")
    assert np.all(np.diff(norms) > 0)  # less shrinkage as the penalty falls


def test_gaussian_evidence_is_the_exact_marginal_likelihood(ridge_path):
    X, y, p = ridge_path
    D = np.column_stack([X, np.ones(len(y))])
    n = D.shape[0]

    def exact(l2, beta):  # log density of y ~ N(0, I / beta + D D' / (2 l2 beta))
        L = np.linalg.cholesky(np.eye(n) / beta + D @ D.T / (2 * l2 * beta))
        z = np.linalg.solve(L, y)
        return -0.5 * (z @ z + n * np.log(2 * np.pi)) - np.sum(np.log(np.diag(L)))

    for pt in p.points:
        F = 0.5 * pt.deviance + pt.l2 * pt.weight_norm**2
        beta = n / (2 * F)  # every weight penalized: k_p = k
        assert pt.log_evidence == pytest.approx(exact(pt.l2, beta), rel=1e-9)
        # beta maximizes the exact evidence at this penalty ratio
        h = 1e-4 * beta
        assert exact(pt.l2, beta) >= max(exact(pt.l2, beta + h), exact(pt.l2, beta - h))
    assert p.selected["evidence"] == p.values[int(np.argmax(p.column("log_evidence")))]


@pytest.fixture(scope="module")
def network_path():
    """The path's lower level: ``fit_path`` on a Problem (its ``fit`` is an Estimate)."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 2))
    y = (np.tanh(2 * X[:, 0]) - X[:, 1] + 0.5 * rng.normal(size=80) > 0).astype(float)
    problem, _ = Problem.from_data(X, y, hidden=(2,))
    thetas0 = starting_values(problem.arch, 2, seed=0)
    return fit_path(problem, "l2", [3.0, 0.3, 0.03], thetas0, cv=3, select="evidence", tol=1e-9)


def test_evidence_formula_for_a_network_includes_the_group_order(network_path):
    p = network_path
    res = p.fit
    arch, problem = res.arch, res.problem
    free, pm = arch.free_mask(), penalized_mask(arch, res.penalty)
    k, kp = int(free.sum()), int(pm.sum())
    hess = jax.jit(jax.hessian(negloglik))
    nll = jax.jit(negloglik)
    for pt in p.points:
        th = jnp.asarray(pt.theta)
        H = np.asarray(hess(th, problem)) + 2 * pt.l2 * np.diag(pm.astype(float))
        F = float(nll(th, problem)) + pt.l2 * float(np.sum(pt.theta[pm] ** 2))
        expected = (
            -F
            + 0.5 * k * np.log(2 * np.pi)
            - 0.5 * np.linalg.slogdet(H[np.ix_(free, free)])[1]
            + 0.5 * kp * np.log(pt.l2 / np.pi)
            + np.log(8)  # 2^2 * 2! twins of every mode
        )
        assert pt.log_evidence == pytest.approx(expected, rel=1e-8)
    assert p.group_order == group(problem).order == group(arch).order == 8
    assert np.isnan(log_evidence(res.theta, problem.with_penalty(Penalty(l1=1.0))))
    assert np.isnan(log_evidence(res.theta, problem.with_penalty(Penalty())))
    at = problem.with_penalty(Penalty(l2=p.points[0].l2))
    assert log_evidence(p.points[0].theta, at) == pytest.approx(p.points[0].log_evidence, rel=1e-12)


def test_path_warm_starts_match_separate_fits_and_cv_selects():
    X, y = _glm_data("bernoulli")
    p = path(X, y, hidden=(), l2=[300.0, 30.0, 3.0, 0.3], cv=5, seed=2, tol=1e-9)
    assert all(pt.status == "converged" for pt in p.points)
    direct = nnmle.fit(X, y, hidden=(), l2=3.0, tol=1e-10)  # a cold start, the same optimum
    np.testing.assert_allclose(p.points[2].theta, direct.theta, atol=1e-6)
    cvd = p.column("cv_deviance")
    assert np.all(np.isfinite(cvd)) and np.all(p.column("cv_se") > 0)
    i = int(np.argmin(cvd))
    assert p.selected["cv_min"] == p.values[i]
    assert p.selected["cv_1se"] >= p.selected["cv_min"]  # the 1-SE rule picks more penalty
    assert p.fit.penalty.l2 == p.selected["cv_min"]
    np.testing.assert_allclose(p.fit.theta, p.points[i].theta, atol=1e-6)
    assert np.all(cvd > p.column("deviance"))  # held-out deviance exceeds training


def test_l1_path_sparsity_edf_report_and_plot(tmp_path):
    X, y = _glm_data("bernoulli")
    p = path(X, y, hidden=(), l1=[40.0, 10.0, 2.0, 0.5], cv=3, select="cv_1se")
    nz = [pt.n_nonzero for pt in p.points]
    assert nz == sorted(nz) and nz[0] < nz[-1]
    np.testing.assert_allclose(p.column("edf"), nz, rtol=1e-8)  # lasso: edf = non-zeros
    assert np.all(np.isnan(p.column("log_evidence"))) and p.selected["evidence"] is None
    rep = path_report(p)
    assert json.loads(json.dumps(rep))["rows"][0]["l1"] == 40.0 and nz[0] == 1  # the bias
    text = render_path(p)
    assert "selected by cv_1se" in text and "<- fitted" in text
    out = plot_path(p, tmp_path / "path.png")
    assert (tmp_path / "path.png").stat().st_size > 1000 and out.endswith("path.png")


def test_network_path_selects_by_evidence(network_path):
    p = network_path
    assert p.fit.penalty.l2 == p.selected["evidence"]
    assert np.all(np.isfinite(p.column("log_evidence")))
    edf = p.column("edf")
    assert np.all(edf > 0) and np.all(edf <= p.fit.n_params + 1e-9)
    assert np.all(np.diff(edf) > 0)  # less penalty, more effective parameters


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(l2=0.1), "exactly one penalty"),
        (dict(l2=[1.0], l1=[1.0]), "exactly one penalty"),
        (dict(l2=[1.0, -1.0]), "finite and >= 0"),
        (dict(l2=[1.0], cv=-1), "cv must be"),
        (dict(l2=[1.0], select="aic"), "not a rule"),
        (dict(l1=[1.0], select="evidence"), "L2 grid"),
        (dict(l2=[1.0], cv=0), "cv >= 2"),
    ],
)
def test_path_bad_input_raises_clear_errors(kwargs, message):
    X, y = SEPARATED
    with pytest.raises(ValueError, match=message):
        path(X, y, hidden=(), **kwargs)


def test_a_choice_at_the_edge_of_the_grid_is_said():
    """Diabetes (standardized): every rule picks the largest l2 of this grid."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    with pytest.warns(UserWarning, match="largest value of the grid"):
        p = nnmle.path(X, y, hidden=(2,), family="gaussian", l2=[0.1, 1, 10], cv=3)
    assert p.selected["cv_min"] == 10.0 and p.edges
    assert all("extend the grid" in e for e in p.edges)
    assert p.edges[0] in p.notes and path_report(p)["edges"] == p.edges
    inside = grid_edges("l2", np.array([10.0, 1.0, 0.0]), {"cv_min": 1.0, "evidence": 0.0})
    assert inside == []  # an interior choice, or no penalty at all, is not an edge
