"""Multi-start campaigns: dedup modulo symmetry, classes, the convex contrast, reports."""

import json
import os

import numpy as np
import pandas as pd
import pytest

import nnmle
from nnmle import symmetry
from nnmle.api import FitResult
from nnmle.multistart import analyze_starts, run_campaign
from nnmle.problem import Problem
from nnmle.report import campaign_plots, render_landscape, solutions_table
from nnmle.solvers import choose_solver
from nnmle.starts import StartResult, starting_values


@pytest.fixture(scope="module")
def glm_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = (X @ np.array([1.0, -1.0, 0.5]) + rng.logistic(size=80) > 0).astype(float)
    return X, y


@pytest.fixture(scope="module")
def campaign():
    """Six starts of a 2-2-1 tanh network on data with an interaction."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] * X[:, 1] + 0.3 * rng.normal(size=60) > 0).astype(float)
    calls = []
    c = nnmle.multistart(X, y, hidden=(2,), l2=0.01, n_starts=6, seed=3, on_result=calls.append)
    return c, calls, (X, y)


# --- the convex contrast ------------------------------------------------------------------


def test_glm_every_start_reaches_one_solution_with_a_positive_definite_hessian(glm_data):
    sm = pytest.importorskip("statsmodels.api")
    X, y = glm_data
    c = nnmle.multistart(X, y, hidden=(), n_starts=4, tol=1e-9)
    (sol,) = c.solutions
    assert sol.count == 4 and sol.best and sol.kind == "strict_min"
    spec = c.spectrum(sol)  # certified by Cholesky during the campaign, eigenvalues on demand
    assert (sol.index, sol.nullity) == (0, 0) == (spec.index, spec.nullity)
    assert spec.lambda_min > 0 and sol.lambda_max == pytest.approx(spec.lambda_max, rel=1e-4)
    assert c.group_order == 1
    ref = sm.GLM(y, np.column_stack([X, np.ones(80)]), family=sm.families.Binomial()).fit()
    assert sol.loglik == pytest.approx(ref.llf, rel=1e-9)
    np.testing.assert_allclose(sol.theta, ref.params, rtol=1e-6, atol=1e-7)
    # the Hessian's spectrum is that of X'WX (statsmodels' information matrix)
    ev = np.linalg.eigvalsh(
        -sm.GLM(y, ref.model.exog, family=sm.families.Binomial()).hessian(ref.params)
    )
    np.testing.assert_allclose(spec.eigenvalues, ev, rtol=1e-6)
    assert c.barrier() is None and c.certificate() is None


def test_rank_deficient_glm_names_its_flat_direction_and_a_penalty_restores_uniqueness(glm_data):
    X, y = glm_data
    Xd = np.column_stack([X[:, :2], X[:, 0] + X[:, 1]])  # x3 = x1 + x2
    c = nnmle.multistart(Xd, y, hidden=(), n_starts=4)
    (sol,) = c.solutions  # the starts land on one valley of minimizers: one solution
    assert sol.kind == "degenerate_min" and (sol.index, sol.nullity) == (0, 1)
    (flat,) = sol.flat
    assert {n for n, _ in flat.terms} == {"x1->y", "x2->y", "x3->y"}
    assert flat.text.startswith("x1 + x2 - x3 = 0")
    pen = nnmle.multistart(Xd, y, hidden=(), n_starts=4, l2=0.1)
    (sol,) = pen.solutions
    assert sol.kind == "strict_min" and sol.nullity == 0 and sol.count == 4


def test_separated_glm_is_reported_as_diverged(glm_data):
    X, _ = glm_data
    y = (X[:, 0] > 0).astype(float)
    c = nnmle.multistart(X, y, hidden=(), n_starts=2)
    assert [s.kind for s in c.solutions] == ["diverged"]
    assert c.solutions[0].count == 2


def test_formula_form(glm_data):
    X, y = glm_data
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y})
    c = nnmle.multistart("y ~ a + b + c", data=df, hidden=(), n_starts=2)
    assert len(c.solutions) == 1 and c.problem.arch.input_names == ("a", "b", "c")


# --- dedup modulo symmetry -------------------------------------------------------------------


def test_twins_merge_and_different_solutions_with_equal_objective_stay_distinct():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 1))
    X, y = np.vstack([x, -x]), np.concatenate([x[:, 0] ** 2] * 2)  # mirror-symmetric data
    res = nnmle.fit(X, y, hidden=(1,), family="gaussian", l2=0.01, tol=1e-10)
    theta = res.theta
    prob = res.problem
    flip = symmetry.GroupElement((symmetry.LayerElement(np.array([0]), -np.ones(1), np.ones(1)),))
    twin = symmetry.act_flat(flip, theta, prob)  # a flip is in the group of the L2 objective
    mirror = theta.copy()
    mirror[0] = -mirror[0]  # x -> -x: same objective on these data, a different function
    assert prob.objective(twin) == pytest.approx(prob.objective(theta), rel=1e-12)
    assert prob.objective(mirror) == pytest.approx(prob.objective(theta), rel=1e-12)
    assert not symmetry.equivalent(theta, mirror, prob)
    assert not np.allclose(twin, theta)
    starts = [
        StartResult(
            k, th, prob.objective(th), float(np.linalg.norm(prob.gradient(th))), 1, "converged"
        )
        for k, th in enumerate([theta, twin, mirror])
    ]
    c = analyze_starts(starts, prob, tol=1e-8)
    assert sorted(s.count for s in c.solutions) == [1, 2]
    a, b = c.solutions
    assert a.objective == pytest.approx(b.objective, rel=1e-12)
    assert c.labels[0] == c.labels[1] != c.labels[2]
    assert all(s.kind == "strict_min" for s in c.solutions)
    bar = c.barrier(steps=11)
    assert bar.barrier_raw > 0 and bar.barrier_aligned > 0  # a real barrier between them


# --- a network campaign ----------------------------------------------------------------------


def test_campaign_accounts_for_every_start(campaign):
    c, calls, _ = campaign
    assert c.n_starts == 6 and len(calls) == 6
    assert sum(s.count for s in c.solutions) == 6
    assert sorted(i for s in c.solutions for i in s.starts) == list(range(6))
    for s in c.solutions:
        assert all(c.labels[i] == s.id for i in s.starts)
    assert [s.id for s in c.solutions] == list(range(1, len(c.solutions) + 1))
    assert c.best is c.solutions[0] and c.best.best
    finite = [s.objective for s in c.solutions if s.kind != "diverged"]
    assert c.best.objective == min(finite)
    assert c.group_order == 8  # 2! permutations x 2^2 sign flips


def test_starts_are_canonical_and_classes_agree_with_the_hessian(campaign):
    c, _, _ = campaign
    for r in c.starts:
        canon, _ = symmetry.canonicalize(r.theta, c.problem)  # the penalized objective's group
        np.testing.assert_allclose(canon, r.theta, atol=1e-12)
        assert c.problem.objective(r.theta) == pytest.approx(r.objective, rel=1e-9)
    for s in c.solutions:
        assert s.kind in ("strict_min", "degenerate_min", "saddle", "not_converged", "diverged")
        if s.kind == "diverged":
            continue
        spec = c.spectrum(s)  # the full eigendecomposition agrees with the campaign's verdict
        assert (s.index, s.nullity) == (spec.index, spec.nullity)
        if s.kind == "strict_min":
            assert s.index == 0 and spec.lambda_min > spec.zero_tol
        if s.kind == "saddle":
            assert s.index > 0


def test_same_seed_same_campaign(campaign):
    c, _, (X, y) = campaign
    again = nnmle.multistart(X, y, hidden=(2,), l2=0.01, n_starts=6, seed=3)
    assert [s.objective for s in again.solutions] == [s.objective for s in c.solutions]
    np.testing.assert_array_equal(again.labels, c.labels)


def test_run_campaign_on_a_problem_is_what_multistart_runs(campaign):
    c, _, (X, y) = campaign
    problem, _ = Problem.from_data(X, y, hidden=(2,), l2=0.01)
    thetas0 = starting_values(problem, 6, seed=3)  # on the data's scale, as multistart draws
    low = run_campaign(problem, thetas0, choose_solver(problem))
    assert [s.objective for s in low.solutions] == [s.objective for s in c.solutions]
    np.testing.assert_array_equal(low.labels, c.labels)
    assert low.result is None and low.estimate.objective == c.estimate.objective
    assert isinstance(c.result, FitResult) and c.result.estimate is c.estimate
    assert c.result.objective == min(r.objective for r in c.starts)
    assert c.best.objective == pytest.approx(c.result.objective, rel=1e-9)


def test_report_json_and_text(campaign, tmp_path):
    c, _, _ = campaign
    rep = nnmle.landscape_report(c)
    for key in ("n_starts", "solutions", "group_order", "barrier_raw", "barrier_aligned"):
        assert key in rep
    for row in rep["solutions"]:
        assert {"id", "objective", "count", "index", "nullity", "class"} <= set(row)
    assert rep["n_starts"] == 6
    json.dumps(rep)  # plain data
    assert rep["certificate"]["holds"]
    text = render_landscape(c)
    assert "distinct solution" in text and "certificate" in text
    assert solutions_table(c).count("\n") >= 3 + len(c.solutions)
    paths = campaign_plots(c, tmp_path / "plots")
    names = {os.path.basename(p) for p in paths}
    assert {"objectives.png", "spectra.png"} <= names
    for p in paths:
        assert os.path.getsize(p) > 1000


def test_bad_n_starts_raises():
    with pytest.raises(ValueError, match="n_starts"):
        nnmle.multistart(np.zeros((3, 1)), np.array([0, 1, 0]), n_starts=0)


def test_an_exact_fit_is_the_campaigns_best_not_a_divergent_row():
    """y is an exact linear function of X: every start reaches the zero-residual solution,
    a finite minimizer with bounded weights. It is a strict minimum and the best row."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    c = nnmle.multistart(X, X @ [1.0, -2.0] + 0.5, hidden=(), family="gaussian", n_starts=3)
    assert [s.kind for s in c.solutions] == ["strict_min"]
    assert c.best.best and c.best.count == 3 and c.best.objective < 1e-12
    assert c.result.status == "exact_fit"


def test_best_is_the_lowest_minimum_whatever_the_other_rows():
    """The order of the table: minima by objective, then saddles, then points that did not
    converge, diverged last; ``best`` is the lowest minimum."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 2))
    y = (np.tanh(2 * X[:, 0]) + X[:, 1] + 0.5 * rng.normal(size=120) > 0).astype(float)
    c = nnmle.multistart(X, y, hidden=(3,), l2=0.05, n_starts=8, seed=0)
    rank = {"strict_min": 0, "degenerate_min": 0, "saddle": 1, "not_converged": 2, "diverged": 3}
    keys = [(rank[s.kind], s.objective) for s in c.solutions]
    assert keys == sorted(keys)
    minima = [s for s in c.solutions if rank[s.kind] == 0]
    assert c.best is c.solutions[0] and c.best.objective == min(s.objective for s in minima)
