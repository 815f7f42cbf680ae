"""One estimation (``nnmle.estimation``): the best start as a frozen ``Estimate`` holding its
problem, its statistics against closed forms, the divergence verdict as a new value."""

import dataclasses
import math
import warnings

import numpy as np
import pytest

import nnmle
from nnmle.estimation import Estimate, as_estimate, best_start, estimate, verdicts
from nnmle.families import get_family
from nnmle.networks import Architecture
from nnmle.penalties import Penalty
from nnmle.problem import Problem
from nnmle.solvers import choose_solver
from nnmle.starts import StartResult, starting_values

SEPARATED = (np.array([[-2.0], [-1.0], [1.0], [2.0]]), np.array([[0.0], [0.0], [1.0], [1.0]]))


def _problem(X, Y, family="gaussian", hidden=(), penalty=None, w=None):
    arch = Architecture.build(X.shape[1], hidden)
    w = np.ones(len(X)) if w is None else w
    return Problem.build(X, Y, w, get_family(family), arch, penalty)


@pytest.fixture(scope="module")
def ols():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(50, 2))
    y = 0.5 + X @ [1.0, -2.0] + 0.3 * rng.normal(size=50)
    problem = _problem(X, y[:, None])
    est = estimate(problem, np.zeros((2, 3)), choose_solver(problem, tol=1e-10))
    return X, y, problem, est


def test_estimate_is_frozen_data_holding_its_problem(ols):
    _, _, problem, est = ols
    assert isinstance(est, Estimate) and est.problem is problem
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.status = "converged"
    assert (est.family, est.arch, est.penalty) == (problem.family, problem.arch, problem.penalty)
    assert est.n_obs == 50 and est.n_params == 3 and est.tol == 1e-10
    assert est.converged and est.status == "converged" and est.message
    assert [r.index for r in est.starts] == [0, 1] and isinstance(est.starts, tuple)
    np.testing.assert_array_equal(np.asarray(est.params.layers[0].W)[:, 0], est.theta[:2])
    assert as_estimate(est) is est


def test_statistics_equal_the_closed_form_least_squares_fit(ols):
    X, y, _, est = ols
    D = np.column_stack([X, np.ones(50)])  # nnmle order: weights, then the bias
    beta, *_ = np.linalg.lstsq(D, y, rcond=None)
    np.testing.assert_allclose(est.theta, beta, atol=1e-8)
    rss = float(np.sum((y - D @ beta) ** 2))
    loglik = -25 * (math.log(2 * math.pi * rss / 50) + 1)
    assert est.deviance == pytest.approx(rss, rel=1e-9)
    assert est.null_deviance == pytest.approx(np.sum((y - y.mean()) ** 2), rel=1e-12)
    assert est.scale == pytest.approx(rss / 50, rel=1e-9)
    assert est.loglik == pytest.approx(loglik, rel=1e-9)
    assert est.aic == pytest.approx(-2 * loglik + 2 * 3, rel=1e-9)
    assert est.bic == pytest.approx(-2 * loglik + 3 * math.log(50), rel=1e-9)
    assert est.objective == pytest.approx(rss / 2, rel=1e-9)  # the unit-variance gaussian NLL
    assert est.divergence is not None and not est.divergence.diverged  # the MLE exists


def test_best_start_ignores_non_finite_starts():
    th = np.zeros(2)
    starts = [
        StartResult(0, th, math.nan, math.nan, 1, "non_finite"),
        StartResult(1, th, 5.0, 1e-7, 9, "converged"),
        StartResult(2, th, -math.inf, math.nan, 3, "non_finite"),
        StartResult(3, th, 3.0, 1e-2, 50, "max_iter"),
        StartResult(4, th, 4.0, 1e-7, 9, "converged"),
    ]
    assert best_start(starts).index == 3  # lowest finite objective
    assert best_start(starts[:3]).index == 1
    assert best_start([starts[0], starts[2]]).index in (0, 2)  # none is finite: still a start


def test_estimate_keeps_the_best_finite_start():
    X = np.array([[0.0], [1.0], [2.0]])
    problem = _problem(X, np.array([[1.0], [2.0], [3.0]]), family="poisson")
    # exp(800) overflows at the first start: its loss is inf; the second start is fine
    est = estimate(problem, np.array([[800.0, 0.0], [0.0, 0.0]]), check=False)
    assert [r.status for r in est.starts][0] == "non_finite"
    assert est.status == "converged" and np.isfinite(est.objective)
    assert est.objective == min(r.objective for r in est.starts if np.isfinite(r.objective))


def test_divergence_verdict_is_a_new_value():
    problem = _problem(*SEPARATED, family="bernoulli")
    thetas0 = starting_values(problem.arch, 1, seed=0)
    est = estimate(problem, thetas0, check=False)
    assert est.status == "converged" and est.divergence is None
    with pytest.warns(
        UserWarning,
        match="mle_not_exist: the objective approaches its infimum only as weights go to infinity",
    ):
        judged = verdicts(est)
    assert judged is not est
    assert judged.status == "mle_not_exist" and not judged.converged
    assert "does not exist" in judged.message and judged.divergence.diverged
    assert "separation of the classes" in judged.message
    assert est.status == "converged" and est.divergence is None  # the input is unchanged
    assert np.array_equal(judged.theta, est.theta) and judged.starts == est.starts
    with pytest.warns(UserWarning, match="mle_not_exist"):  # estimate's own check agrees
        direct = estimate(problem, thetas0)
    assert direct.status == "mle_not_exist" and direct.divergence.diverged


def test_penalized_and_l1_estimates_are_not_checked_for_divergence():
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="nnmle: mle_not_exist")
        l2 = estimate(_problem(*SEPARATED, "bernoulli", penalty=Penalty(l2=0.1)), np.zeros((1, 2)))
        l1 = estimate(_problem(*SEPARATED, "bernoulli", penalty=Penalty(l1=0.1)), np.zeros((1, 2)))
    assert l2.divergence is None and l2.status == "converged"
    assert l1.divergence is None and l1.solver.name == "proximal"


def test_as_estimate_accepts_a_fit_and_rejects_other_objects():
    X, y = SEPARATED
    res = nnmle.fit(X, y[:, 0], hidden=(), l2=0.1)
    assert as_estimate(res) is res.estimate
    for other in (None, res.problem, res.theta, {"estimate": res.estimate}):
        with pytest.raises(ValueError, match="Expected a fitted result") as exc:
            as_estimate(other)
        assert type(other).__name__ in str(exc.value) and "nnmle.fit" in str(exc.value)


# --- honest verdicts ---------------------------------------------------------------------------


def test_an_exact_fit_is_not_divergent():
    """Zero residual with bounded weights: the weights are a finite minimizer; only the
    likelihood (sigma^2 -> 0) is unbounded. Never 'diverged'."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    problem = _problem(X, (X @ [1.0, -2.0] + 0.5)[:, None])
    with pytest.warns(UserWarning, match="exact_fit: exact fit"):
        est = estimate(problem, np.zeros((1, 3)))
    assert est.status == "exact_fit" and "sigma^2 -> 0" in est.message
    assert est.divergence.exact_fit and not est.divergence.diverged
    np.testing.assert_allclose(est.theta, [1.0, -2.0, 0.5], atol=1e-8)


def test_racing_weights_are_flagged_whatever_the_optimizer_said():
    """Separated classes: at the iteration limit the weights are still racing away; the
    verdict is the same as after convergence, with the fix."""
    problem = _problem(*SEPARATED, family="bernoulli")
    solver = choose_solver(problem, max_iter=3)
    est = estimate(problem, np.zeros((1, 2)), solver, check=False)
    assert est.status == "max_iter"
    with pytest.warns(UserWarning, match="mle_not_exist"):
        judged = verdicts(est)
    assert judged.status == "mle_not_exist" and "nnmle.path" in judged.message


def test_a_stationary_point_that_is_not_a_minimum_is_a_saddle():
    """A tanh network started at the origin: every gradient vanishes there (a critical point),
    and for correlated data the origin is a saddle of the least-squares objective."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    y = np.tanh(X @ [1.5, -1.0]) + 0.1 * rng.normal(size=200)
    problem = _problem(X, y[:, None], hidden=(2,))
    theta0 = np.zeros((1, problem.arch.n_total))
    theta0[0, -1] = y.mean()  # the output bias at its optimum: the gradient is 0 there
    with pytest.warns(UserWarning, match="saddle"):
        est = estimate(problem, theta0)
    assert est.status == "saddle" and est.hessian.index > 0 and est.hessian.lambda_min < 0
    assert "escape_saddle" in est.message


def test_a_network_stuck_on_the_null_model_is_on_a_plateau():
    """Hidden units saturated on the data: the fit is the intercept-only model."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(100, 2))
    y = X[:, 0] + 0.2 * rng.normal(size=100)
    problem = _problem(X, y[:, None], hidden=(2,))
    theta0 = np.zeros(problem.arch.n_total)
    theta0[4:6] = 50.0  # biases of both hidden units: tanh = 1 on every row
    with pytest.warns(UserWarning, match="plateau"):
        est = estimate(problem, theta0[None, :])
    assert est.status == "plateau" and est.deviance == pytest.approx(est.null_deviance)
