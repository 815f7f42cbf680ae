"""The solver contract (optax's common test in spirit): every solver converges on a zoo of
problems with known minima, keeps float64, and does not recompile for a new penalty value or
a new number of rows; statuses mean what they say."""

import jax
import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.linear_model import Lasso

from nnmle.families import get_family
from nnmle.networks import Architecture
from nnmle.penalties import Penalty
from nnmle.problem import Problem
from nnmle.solvers import STATUS, Solver, choose_solver, proximal, solve, status_code

RNG = np.random.default_rng(7)
N, P = 120, 3
X = RNG.normal(size=(N, P))
BETA = np.array([0.8, -0.5, 0.0])
Y_GAUSS = X @ BETA + 0.3 + 0.5 * RNG.normal(size=N)
Y_BERN = (RNG.uniform(size=N) < 1 / (1 + np.exp(-(X @ BETA)))).astype(float)
Y_POIS = RNG.poisson(np.exp(0.2 + 0.4 * X[:, 0])).astype(float)
GLM = Architecture.build(P, hidden=())


def _problem(family, y, penalty=None, n=N):
    return Problem.build(X[:n], y[:n, None], np.ones(n), get_family(family), GLM, penalty)


def _ols(n=N):
    D = np.column_stack([X[:n], np.ones(n)])
    return np.linalg.lstsq(D, Y_GAUSS[:n], rcond=None)[0]


def _ridge(l2):
    # minimize 1/2 |y - D b|^2 + l2 |w|^2 (bias free): (D'D + 2 l2 P) b = D'y
    D = np.column_stack([X, np.ones(N)])
    pen = np.diag([2 * l2] * P + [0.0])
    return np.linalg.solve(D.T @ D + pen, D.T @ Y_GAUSS)


def _statsmodels(family, y):
    fam = {"bernoulli": sm.families.Binomial(), "poisson": sm.families.Poisson()}[family]
    return sm.GLM(y, sm.add_constant(X, prepend=False), family=fam).fit(tol=1e-14).params


def _lasso(l1):
    # sklearn: 1/(2n) |y - Xw - b|^2 + alpha |w|_1  ==  ours / n with alpha = l1 / n
    m = Lasso(alpha=l1 / N, tol=1e-14, max_iter=1_000_000).fit(X, Y_GAUSS)
    return np.append(m.coef_, m.intercept_)


ZOO = [
    ("ols", lambda: _problem("gaussian", Y_GAUSS), _ols),
    ("ridge", lambda: _problem("gaussian", Y_GAUSS, Penalty(l2=5.0)), lambda: _ridge(5.0)),
    ("logit", lambda: _problem("bernoulli", Y_BERN), lambda: _statsmodels("bernoulli", Y_BERN)),
    ("poisson", lambda: _problem("poisson", Y_POIS), lambda: _statsmodels("poisson", Y_POIS)),
]


@pytest.mark.parametrize(("name", "make", "truth"), ZOO, ids=[z[0] for z in ZOO])
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_every_solver_reaches_known_minima(name, make, truth, solver):
    problem = make()
    if solver == "adam":  # full batch, large steps: Adam too must reach the minimum
        s = choose_solver(problem, "adam", tol=1e-6, max_iter=20_000, batch_size=N,
                          learning_rate=0.05)  # fmt: skip
        atol = 1e-4
    else:
        s = choose_solver(problem, tol=1e-10)
        atol = 1e-8
    sol = solve(s, np.zeros(GLM.n_total), problem)
    assert sol.theta.dtype == np.float64 and sol.value.dtype == np.float64
    assert STATUS[int(sol.status)][0] == "converged", (name, solver, sol)
    np.testing.assert_allclose(sol.theta, truth(), atol=atol)


def test_proximal_solver_matches_sklearn_lasso_with_exact_zeros():
    problem = _problem("gaussian", Y_GAUSS, Penalty(l1=20.0))
    s = choose_solver(problem, tol=1e-10)
    assert s.name == "proximal"
    sol = solve(s, np.zeros(GLM.n_total), problem)
    assert STATUS[int(sol.status)][0] == "converged"
    np.testing.assert_allclose(sol.theta, _lasso(20.0), atol=1e-7)
    assert sol.theta[2] == 0.0  # exactly zero, not small
    g = problem.with_penalty(Penalty()).value_and_grad(sol.theta)[1]
    sub = proximal.min_norm_subgradient(sol.theta, g, 20.0, problem.penalized.astype(float))
    assert float(np.linalg.norm(sub)) <= 1e-10


def test_choose_solver_decides_in_one_place():
    assert choose_solver(_problem("gaussian", Y_GAUSS)).name == "lbfgs"
    assert choose_solver(_problem("gaussian", Y_GAUSS, Penalty(l1=0.1))).name == "proximal"
    assert choose_solver(_problem("gaussian", Y_GAUSS, Penalty(l1=0.1)), "adam").name == "adam"
    with pytest.raises(ValueError, match="Unknown solver 'newton'.*Fix"):
        choose_solver(_problem("gaussian", Y_GAUSS), "newton")
    with pytest.raises(ValueError, match="tol must be a positive number; got -1"):
        choose_solver(_problem("gaussian", Y_GAUSS), tol=-1)
    with pytest.raises(ValueError, match="max_iter must be a positive integer; got 0"):
        choose_solver(_problem("gaussian", Y_GAUSS), max_iter=0)


class _Traces:
    """Counts JAX traces (each jit cache miss traces the function once)."""

    def __init__(self):
        self.n = 0
        jax.monitoring.register_event_duration_secs_listener(self._listen)

    def _listen(self, name, _duration, **_kw):
        if name == "/jax/core/compile/jaxpr_trace_duration":
            self.n += 1


TRACES = _Traces()


@pytest.mark.parametrize("kind", ["l2", "l1", "adam"])
def test_no_recompilation_for_a_new_penalty_or_a_new_fold_size(kind):
    arch = Architecture.build(P, hidden=(3,))
    theta0 = np.asarray(RNG.uniform(-0.5, 0.5, size=arch.n_total))

    def prob(value, n):
        pen = Penalty(**{"l2" if kind == "adam" else kind: value})
        return Problem.build(X[:n], Y_GAUSS[:n, None], np.ones(n), get_family("gaussian"),
                             arch, pen)  # fmt: skip

    first = prob(0.1, 100)
    if kind == "adam":  # minibatch Adam: a short run (a few epochs) is enough to count traces
        solver = choose_solver(first, "adam", tol=1e-8, max_iter=30, batch_size=32)
    else:
        solver = choose_solver(first, tol=1e-8)
    solve(solver, theta0, first)  # compiles
    first.objective(theta0)
    before = TRACES.n
    for value, n in [(0.2, 100), (0.37, 100), (0.2, 97), (1.5, 99)]:  # 97..100 share a bucket
        p = prob(value, n)
        sol = solve(solver, theta0, p)
        assert np.isfinite(sol.value)
        p.objective(theta0)
    assert TRACES.n == before, "a new penalty value or fold size recompiled"


def test_a_whole_fit_at_a_new_penalty_and_fold_size_compiles_nothing():
    """The public fit (data-scaled starts, solver, verdicts, statistics), not only the solver:
    97..100 rows share a bucket."""
    import nnmle

    def fit(n, l2):
        return nnmle.fit(X[:n], Y_BERN[:n], hidden=(3,), l2=l2, n_starts=2, seed=0)

    fit(100, 0.1)  # compiles
    before = TRACES.n
    for n, l2 in [(97, 0.2), (99, 0.35)]:
        assert np.isfinite(fit(n, l2).objective)
    assert TRACES.n == before, "a new penalty value or fold size recompiled part of a fit"


def test_padding_changes_the_objective_only_by_rounding():
    """Breast-cancer, 379 rows padded to 384: the objective and gradient at random weights
    agree with the unpadded problem's to a few ulps (the sums' order of rounding differs)."""
    from sklearn.datasets import load_breast_cancer

    Xb, yb = load_breast_cancer(return_X_y=True)
    Xb = (Xb - Xb.mean(0)) / Xb.std(0)
    n = 379
    arch = Architecture.build(Xb.shape[1], hidden=(3,), activation="logistic")
    args = (Xb[:n], yb[:n, None].astype(float), np.ones(n), get_family("bernoulli"), arch)
    padded = Problem.build(*args, Penalty(l2=0.05, penalize_bias=True))
    plain = Problem.build(*args, Penalty(l2=0.05, penalize_bias=True), pad=False)
    assert padded.data.X.shape[0] == 384 and plain.data.X.shape[0] == n
    for seed in range(5):
        theta = np.random.default_rng(seed).normal(size=arch.n_total)
        np.testing.assert_allclose(padded.objective(theta), plain.objective(theta), rtol=1e-13)
        np.testing.assert_allclose(padded.gradient(theta), plain.gradient(theta), rtol=1e-11,
                                   atol=1e-13)  # fmt: skip


def test_padding_never_changes_a_fit():
    arch = Architecture.build(P, hidden=(2,), activation="tanh")
    theta0 = np.asarray(RNG.uniform(-0.5, 0.5, size=arch.n_total))
    n = 101  # bucketed to 104 rows
    args = (X[:n], Y_BERN[:n, None], RNG.uniform(0.5, 2.0, size=n), get_family("bernoulli"), arch)
    padded = Problem.build(*args, Penalty(l2=0.1))
    plain = Problem.build(*args, Penalty(l2=0.1), pad=False)
    assert padded.data.X.shape[0] > n == plain.data.X.shape[0]
    s = choose_solver(padded, tol=1e-9)
    a, b = solve(s, theta0, padded), solve(s, theta0, plain)
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.value, b.value, rtol=1e-12)


def test_statuses_mean_what_they_say():
    problem = _problem("bernoulli", Y_BERN)
    short = choose_solver(problem, tol=1e-12, max_iter=2)
    assert STATUS[int(solve(short, np.zeros(GLM.n_total), problem).status)][0] == "max_iter"
    nan_start = np.full(GLM.n_total, np.nan)
    sol = solve(choose_solver(problem), nan_start, problem)
    assert STATUS[int(sol.status)][0] == "non_finite"
    assert status_code("converged") == 0
    with pytest.raises(ValueError, match="Unknown status"):
        status_code("fine")


def test_solver_is_plain_data():
    s = Solver("lbfgs", tol=1e-5, max_iter=10)
    assert s.methods is Solver("lbfgs", tol=1e-3).methods  # same compiled functions
    assert s.to_dict() == {"name": "lbfgs", "tol": 1e-5, "max_iter": 10, "memory": 50}
