"""The generalized gradient of relu objectives (nnmle.starts._stationarity): one-sided finite
differences at planted kinks, teacher-student spurious minima (Safran & Shamir 2018), smooth and
masked networks."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.linalg import norm

from nnmle.families import get_family
from nnmle.networks import Architecture, Layer, Params, activation_fn, effective, ravel, unravel
from nnmle.penalties import Penalty
from nnmle.problem import Problem
from nnmle.solvers import choose_solver
from nnmle.starts import has_kinks, kink_stationarity, polish_kinks, run_starts, starting_values

# --- 1. truth at planted kinks: one-sided directional derivatives ---------------------------


def _directional(prob, theta, k, sign, h=1e-6):
    """One-sided derivative of the objective along ``sign * e_k`` (second order, one side)."""
    e = np.zeros_like(theta)
    e[k] = sign * h
    f0, f1, f2 = (prob.objective(theta + m * e) for m in (0, 1, 2))
    return (-3 * f0 + 4 * f1 - f2) / (2 * h)


def _affine_pieces(prob, theta, dzs):
    """``g(s) = g00 + A s`` from one-sided finite differences at planted kinks.

    ``dzs[c][k]`` is dz_c/dtheta_k for kink ``c``; each coordinate moves at most one kink.
    Along ``+e_k`` with dz > 0 the unit becomes active (slope 1), with dz < 0 inactive
    (slope 0); along ``-e_k`` the other way. Returns ``g00`` (all slopes 0) and ``A``.
    """
    free = np.flatnonzero(prob.free)
    g00, A = np.zeros(free.size), np.zeros((free.size, len(dzs)))
    for n, k in enumerate(free):
        right = _directional(prob, theta, k, +1)
        left = -_directional(prob, theta, k, -1)
        moved = [c for c, dz in enumerate(dzs) if dz[k] != 0]
        assert len(moved) <= 1
        if not moved:
            assert right == pytest.approx(left, abs=1e-6)
            g00[n] = right
            continue
        c = moved[0]
        active, inactive = (right, left) if dzs[c][k] > 0 else (left, right)
        g00[n], A[n, c] = inactive, active - inactive
    return g00, A


def _dz(theta, prob, layer, row, unit):
    """Gradient in theta of the pre-activation ``z[row, unit]`` of hidden layer ``layer``."""

    def z(th):
        p = unravel(effective(th, prob.arch), prob.arch)
        h = jnp.asarray(prob.X[row : row + 1])
        for l, lay in enumerate(p.layers[: layer + 1]):
            zz = h @ lay.W + lay.b
            h = activation_fn(prob.arch.activation[l])(zz)
        return zz[0, unit]

    return np.asarray(jax.grad(z)(jnp.asarray(theta)))


def _planted(hidden, layer=0, seed=3):
    """A small relu problem, weights with ``z = 0`` exactly (dyadic numbers) on row 0, unit 0
    of hidden layer ``layer`` and nowhere else."""
    rng = np.random.default_rng(seed)
    X = np.vstack([[1.0, 2.0], rng.normal(size=(7, 2))])
    y = rng.normal(size=8) + 1.0
    arch = Architecture.build(2, hidden, activation="relu")
    W1 = np.array([[0.5, 0.75], [-0.25, 0.5]])  # row 0: x W1 = (0.5 - 0.5, 0.75 + 1) = (0, 1.75)
    if len(hidden) == 1:
        layers = (
            Layer(W1, np.array([0.0, -0.5])),
            Layer(np.array([[1.5], [-0.75]]), np.array([0.25])),
        )
    else:  # row 0: h1 = (0, 1.25) -> z2 = (0.25, 0.4375), or h1 = (0.5, 1.25) -> z2 = (0, 0.9375)
        layers = (
            Layer(W1, np.array([0.0 if layer == 0 else 0.5, -0.5])),
            Layer(np.array([[-0.5, 1.0], [0.5, 0.25]]), np.array([-0.375, 0.125])),
            Layer(np.array([[1.5], [-1.0]]), np.array([0.25])),
        )
    theta = np.asarray(
        ravel(Params(tuple(Layer(jnp.asarray(a), jnp.asarray(b)) for a, b in layers)), arch)
    )
    prob = Problem.build(X, y[:, None], np.ones(8), get_family("gaussian"), arch)
    return prob, theta


@pytest.mark.parametrize("hidden,layer,seed", [((2,), 0, 11), ((2, 2), 0, 7), ((2, 2), 1, 3)])
def test_one_kink_matches_the_segment_of_one_sided_gradients(hidden, layer, seed):
    prob, theta = _planted(hidden, layer, seed)
    chk = kink_stationarity(prob, theta)
    assert chk.done and chk.exact and chk.n_kinks == 1
    assert chk.kinks.tolist() == [[layer, 0, 0]]
    g0, A = _affine_pieces(prob, theta, [_dz(theta, prob, layer, 0, 0)])
    # the plain gradient takes relu'(0) = 0: the inactive piece
    assert np.linalg.norm(g0) == pytest.approx(chk.grad_norm, rel=1e-6)
    d = A[:, 0]
    t = float(np.clip(-(g0 @ d) / (d @ d), 0.0, 1.0))
    assert 0.3 < t < 0.5  # the seeds were chosen for an interior minimum
    assert chk.slopes[0] == pytest.approx(t, abs=1e-6)
    assert chk.generalized_grad_norm == pytest.approx(np.linalg.norm(g0 + t * d), rel=1e-6)
    assert chk.generalized_grad_norm < chk.grad_norm


def test_two_kinks_match_the_minimum_over_the_box():
    prob, theta = _planted((2,), seed=27)  # a seed with both optimal slopes inside (0, 1)
    # plant a second kink: unit 1 on row 1 (shift its bias by -z)
    z11 = float(prob.X[1] @ theta[[1, 3]] + theta[5])
    theta = theta.copy()
    theta[5] -= z11
    chk = kink_stationarity(prob, theta)
    assert chk.n_kinks == 2 and chk.exact
    g00, A = _affine_pieces(prob, theta, [_dz(theta, prob, 0, i, j) for _, i, j in chk.kinks])
    # minimum over [0, 1]^2 of |g00 + A s| by enumeration: interior, edges, vertices
    cands = [np.array(v, float) for v in itertools.product((0, 1), repeat=2)]
    cands.append(np.linalg.lstsq(A, -g00, rcond=None)[0])
    for k, v in itertools.product(range(2), (0.0, 1.0)):
        s = np.zeros(2)
        s[1 - k] = v
        r = g00 + A @ s
        s[k] = -(r @ A[:, k]) / (A[:, k] @ A[:, k])
        cands.append(s)
    best = min((s for s in cands if np.all((s >= 0) & (s <= 1))), key=lambda s: norm(g00 + A @ s))
    assert np.all((best > 0.5) & (best < 0.9))
    np.testing.assert_allclose(chk.slopes, best, atol=1e-5)
    assert chk.generalized_grad_norm == pytest.approx(norm(g00 + A @ best), rel=1e-6)
    assert chk.generalized_grad_norm < 0.7 * chk.grad_norm


# --- 2. teacher-student relu: spurious local minima on kinks --------------------------------


def _teacher_student(k, n, seed=0):
    """Safran & Shamir (2018): y = sum_j relu(e_j'x), x ~ N(0, I_k); a student with k relu units,
    no biases, output weights frozen at 1."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, k))
    y = np.maximum(X, 0.0).sum(1, keepdims=True)
    hidden = Layer(jnp.full((k, k), jnp.nan), jnp.full(k, jnp.nan))  # NaN: free
    mask = Params((hidden, Layer(jnp.ones((k, 1)), jnp.full(1, jnp.nan))))  # 1.0: frozen
    arch = Architecture.build(k, (k,), activation="relu", bias=False, mask=mask)
    return Problem.build(X, y, np.ones(n), get_family("gaussian"), arch)


def _hidden_W(theta, k):
    return theta[: k * k].reshape(k, k)


@pytest.fixture(scope="module")
def student():
    """k = 8, 10,000 rows, 32 starts: measured 4 spurious minima (starts 2, 9, 12, 26),
    objectives 205-212, plain gradient norms 0.5-1.6, all ``stalled``."""
    prob = _teacher_student(8, 10_000)
    thetas0 = starting_values(prob.arch, 32, seed=0)
    solver = choose_solver(prob, tol=1e-8, max_iter=3000)
    return prob, thetas0, run_starts(prob, thetas0, solver)


def test_teacher_student_global_minimum_is_the_teacher(student):
    prob, _, res = student
    best = min(res, key=lambda r: r.objective)
    assert best.objective < 1e-10 and best.status == "converged"
    W = _hidden_W(best.theta, 8)
    perm = np.argmax(W, axis=0)  # unit j copies teacher unit perm[j]
    assert sorted(perm.tolist()) == list(range(8))
    np.testing.assert_allclose(W, np.eye(8)[:, perm], atol=1e-6)
    chk = kink_stationarity(prob, best.theta)
    assert chk.generalized_grad_norm <= chk.grad_norm <= 1e-8


def test_spurious_minima_are_stationary_on_their_kinks(student):
    prob, thetas0, res = student
    spurious = [r for r in res if r.objective > 100.0]
    assert len(spurious) >= 2
    for r in spurious:
        assert r.status in ("stalled", "max_iter") and r.grad_norm > 0.1  # tol was 1e-8
        chk = kink_stationarity(prob, r.theta)
        assert chk.done and chk.exact and 1 <= chk.n_kinks <= 20
        assert chk.gap[0] < 1e-9 and chk.gap[1] > 1e-6  # kinks unambiguous
        # L-BFGS ends on the kinks but not at the minimum along them: measured 2e-5 to 2e-3
        assert chk.generalized_grad_norm < min(1e-2, r.grad_norm / 100)
        theta, polished = polish_kinks(prob, r.theta)
        assert polished.generalized_grad_norm <= 1e-8  # measured 1e-12
        assert -1e-6 < prob.objective(theta) - r.objective <= 0.0
        assert np.linalg.norm(theta - r.theta) < 1e-4
        assert polished.slopes.min() > 0 and polished.slopes.max() < 1  # interior multipliers


def test_the_check_is_not_vacuous(student):
    prob, thetas0, res = student
    r = next(r for r in res if r.objective > 100.0)
    # part-way: five iterations from the same start
    early = run_starts(prob, thetas0[[r.index]], choose_solver(prob, tol=1e-8, max_iter=5))[0]
    assert kink_stationarity(prob, early.theta).generalized_grad_norm > 100.0
    # on the kinks of a polished minimum, moved along them: the kinks stay, stationarity goes
    theta, chk = polish_kinks(prob, r.theta)
    k, X = 8, prob.X
    A = np.zeros((chk.n_kinks, prob.arch.n_total))
    for c, (_, i, j) in enumerate(chk.kinks):
        A[c, np.arange(k) * k + j] = X[i]  # dz_ij / dW[:, j] = x_i (no bias)
    free = prob.free
    null = np.linalg.svd(A[:, free])[2][chk.n_kinks :]
    moved = theta.copy()
    moved[free] += 1e-3 * null.T @ np.random.default_rng(0).standard_normal(null.shape[0])
    far = kink_stationarity(prob, moved)
    assert far.n_kinks == chk.n_kinks
    assert far.generalized_grad_norm > 0.1  # a curvature ~ 800-25,000 times 1e-3


@pytest.mark.slow
def test_teacher_student_k10():
    """k = 10, 20,000 rows, 48 starts: measured 20 spurious minima (objectives 360-683), raw
    generalized gradients 4e-4 to 1.4e-2, all ~5e-12 after polishing."""
    prob = _teacher_student(10, 20_000)
    res = run_starts(prob, starting_values(prob.arch, 48, seed=0), choose_solver(prob, tol=1e-8))
    spurious = [r for r in res if r.objective > 100.0]
    assert len(spurious) >= 5
    for r in spurious:
        theta, chk = polish_kinks(prob, r.theta)
        assert chk.generalized_grad_norm <= 1e-8 < 0.1 < r.grad_norm
        assert -1e-6 < prob.objective(theta) - r.objective <= 0.0


# --- 3. smooth and masked networks ---------------------------------------------------------


def test_smooth_network_gives_the_plain_gradient(breast_cancer):
    X, y = breast_cancer
    prob, _ = Problem.from_data(X[:100, :4], y[:100], hidden=(3,), activation="tanh", l2=0.1)
    theta = starting_values(prob.arch, 1, seed=1)[0]
    assert not has_kinks(prob.arch)
    chk = kink_stationarity(prob, theta)
    assert chk.done and chk.n_kinks == 0 and chk.eps == (0.0,)
    g = np.linalg.norm(prob.gradient(theta))
    assert chk.grad_norm == pytest.approx(g, rel=1e-12)
    assert chk.generalized_grad_norm == pytest.approx(g, rel=1e-12)


def test_masked_relu_keeps_frozen_entries_at_zero_gradient(student):
    prob, _, res = student
    r = next(r for r in res if r.objective > 100.0)
    chk = kink_stationarity(prob, r.theta)
    frozen = ~prob.free
    assert frozen.sum() == 8 + 8 + 1  # biases (absent) and the frozen output weights
    assert np.all(chk.generalized_grad[frozen] == 0.0)
    assert np.linalg.norm(chk.generalized_grad[prob.free]) == pytest.approx(
        chk.generalized_grad_norm
    )
    # frozen entries are held at their values whatever theta holds there
    garbage = r.theta.copy()
    garbage[frozen] = 5.0
    other = kink_stationarity(prob, garbage)
    assert other.n_kinks == chk.n_kinks
    assert other.generalized_grad_norm == pytest.approx(chk.generalized_grad_norm, rel=1e-9)


def test_l1_and_too_many_kinks_are_not_checked():
    prob, theta = _planted((2,))
    chk = kink_stationarity(prob.with_penalty(Penalty(l1=0.1)), theta)
    assert not chk.done and np.isnan(chk.generalized_grad_norm) and "L1" in chk.note
    assert chk.stationary(1e-6) is None
    over = kink_stationarity(prob, theta, max_kinks=0)
    assert not over.done and over.n_kinks == 1 and "limit" in over.note


def test_fits_and_campaigns_class_spurious_relu_minima_as_minima(student):
    """The verdicts use the check: a fit ending ``stalled`` on the kinks of a spurious minimum
    is ``converged`` (said so in its message), and a campaign's row for it is a minimum, not
    ``not_converged``; the global minimum stays the best."""
    from nnmle.estimation import estimate
    from nnmle.multistart import analyze_starts

    prob, thetas0, res = student
    r = next(r for r in res if r.objective > 100.0)
    est = estimate(prob, thetas0[[r.index]], choose_solver(prob, tol=1e-8, max_iter=3000))
    assert est.status in ("converged", "saddle"), est.message
    assert est.kinks is not None and est.kinks.stationary(1e-8)
    assert "generalized (Clarke)" in est.message or est.status == "saddle"
    camp = analyze_starts(res, prob, tol=1e-8)
    spurious = [s for s in camp.solutions if s.objective > 100.0]
    assert spurious and all(s.kind != "not_converged" for s in spurious)
    assert all(s.n_kinks and s.grad_norm <= 1e-7 for s in spurious)
    assert camp.best.objective < 1e-10
