"""Landscape: exact Hessians against truth, saddles of the linear autoencoder, barriers."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnmle
from nnmle import landscape as L
from nnmle import symmetry
from nnmle.families import get_family
from nnmle.networks import Architecture, init_params
from nnmle.penalties import Penalty
from nnmle.problem import Problem, as_problem, objective

# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def autoencoder():
    """A linear autoencoder with 4 inputs, 2 hidden units and distinct eigenvalues."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4)) * np.array([3.0, 2.0, 1.5, 1.0])
    return L.linear_autoencoder(X, 2)


def _ae_point(X, subset, p, rng):
    """Closed form: W1 = U_S C, W2 = C^-1 U_S' for a random invertible C.

    C is a rotation times scales in [0.8, 1.25]: a wildly unbalanced C makes the
    Hessian's largest eigenvalue huge and the relative zero threshold swallows
    the small negative ones (the threshold is relative by design).
    """
    lam, U = np.linalg.eigh(X.T @ X)
    lam, U = lam[::-1], U[:, ::-1]
    Q, _ = np.linalg.qr(rng.normal(size=(p, p)))
    C = Q @ np.diag(rng.uniform(0.8, 1.25, size=p))
    W1, W2 = U[:, list(subset)] @ C, np.linalg.inv(C) @ U[:, list(subset)].T
    d = X.shape[1]
    return np.concatenate([W1.ravel(), np.zeros(p), W2.ravel(), np.zeros(d)]), lam


@pytest.fixture(scope="module")
def small_net():
    """A 3-3-1 tanh bernoulli problem with a penalty and a frozen (absent) output bias."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 3))
    y = (X[:, 0] * X[:, 1] + 0.3 * rng.normal(size=50) > 0).astype(float)
    arch = Architecture.build(3, (3,), 1, "tanh", bias=(True, False))
    prob = Problem.build(
        X, y[:, None], np.ones(50), get_family("bernoulli"), arch, Penalty(l2=0.05)
    )
    theta = np.asarray(init_params(jax.random.PRNGKey(3), arch))
    return prob, theta


# --- derivatives --------------------------------------------------------------------------


def test_hvp_matches_finite_differences_of_the_gradient(small_net):
    prob, theta = small_net
    rng = np.random.default_rng(0)
    v = rng.normal(size=prob.arch.n_params)
    full = np.zeros(prob.arch.n_total)
    full[prob.free] = v
    h = 1e-5
    fd = (prob.gradient(theta + h * full) - prob.gradient(theta - h * full)) / (2 * h)
    np.testing.assert_allclose(prob.hvp(theta)(v), fd, rtol=1e-6, atol=1e-7)


def test_hessian_is_restricted_to_free_entries_and_matches_jax_hessian(small_net):
    prob, theta = small_net
    H = prob.hessian(theta)
    assert H.shape == (prob.arch.n_params, prob.arch.n_params) == (15, 15)
    full = jax.jit(jax.hessian(objective))(jnp.asarray(theta), prob)
    free = prob.free
    np.testing.assert_allclose(H, np.asarray(full)[np.ix_(free, free)], rtol=1e-10, atol=1e-10)
    for method in ("factored", "hvp"):
        np.testing.assert_allclose(
            prob.hessian(theta, method=method, batch=4), H, rtol=1e-12, atol=1e-12
        )


def test_glm_hessian_equals_statsmodels_information():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(4)
    X = rng.normal(size=(120, 3))
    y = (X @ np.array([1.0, -0.5, 0.2]) + rng.logistic(size=120) > 0).astype(float)
    arch = Architecture.build(3, ())
    prob = Problem.build(X, y[:, None], np.ones(120), get_family("bernoulli"), arch)
    theta = np.array([0.3, -0.2, 0.1, 0.05])  # W (x1, x2, x3) then the bias
    exog = np.column_stack([X, np.ones(120)])
    H_sm = -sm.GLM(y, exog, family=sm.families.Binomial()).hessian(theta)
    np.testing.assert_allclose(prob.hessian(theta), H_sm, rtol=1e-10)
    mu = 1 / (1 + np.exp(-exog @ theta))
    np.testing.assert_allclose(prob.hessian(theta), exog.T @ ((mu * (1 - mu))[:, None] * exog))


# --- the linear autoencoder: every critical point, its index ------------------------------


def test_linear_autoencoder_critical_points_have_the_closed_form_index(autoencoder):
    X = autoencoder.problem.X
    d, p = 4, 2
    rng = np.random.default_rng(5)
    for subset in itertools.combinations(range(d), p):
        theta, lam = _ae_point(X, subset, p, rng)
        # loss = (total variance - sum of the chosen eigenvalues) / 2  (sums of squares)
        assert autoencoder.problem.objective(theta) == pytest.approx(
            0.5 * (lam.sum() - lam[list(subset)].sum()), rel=1e-12
        )
        assert np.linalg.norm(autoencoder.problem.gradient(theta)) < 1e-9
        spec = L.hessian_spectrum(theta, autoencoder.problem)
        expected = sum(1 for i in subset for j in range(d) if j not in subset and lam[j] > lam[i])
        assert spec.index == expected
        # GL(p) flat directions: p^2 zero eigenvalues, all explained by the symmetry
        assert spec.nullity == spec.nullity_symmetry == p * p
        kind = L.classify(0.0, spec)
        assert kind == ("strict_min" if subset == (0, 1) else "saddle")


def test_lanczos_extremes_agree_with_the_dense_spectrum(autoencoder):
    X = autoencoder.problem.X
    theta, _ = _ae_point(X, (2, 3), 2, np.random.default_rng(6))
    dense = L.hessian_spectrum(theta, autoencoder.problem)
    lanczos = L.hessian_spectrum(theta, autoencoder.problem, method="lanczos", k=4)
    assert lanczos.method == "lanczos" and not lanczos.complete
    np.testing.assert_allclose(lanczos.eigenvalues[:4], dense.eigenvalues[:4], rtol=1e-7)
    np.testing.assert_allclose(lanczos.eigenvalues[-4:], dense.eigenvalues[-4:], rtol=1e-7)
    assert lanczos.index == dense.index == 4


def test_spectral_density_is_a_density_over_the_spectrum(autoencoder):
    X = autoencoder.problem.X
    theta, _ = _ae_point(X, (1, 3), 2, np.random.default_rng(7))
    dense = L.hessian_spectrum(theta, autoencoder.problem)
    dens = L.spectral_density(theta, autoencoder.problem, n_probes=4, n_steps=16)
    assert np.trapezoid(dens.density, dens.grid) == pytest.approx(1.0, abs=1e-3)
    assert dens.weights.sum() == pytest.approx(1.0)
    # with as many steps as dimensions the Lanczos nodes are the eigenvalues
    assert dens.nodes.min() == pytest.approx(dense.lambda_min, rel=1e-6)
    assert dens.nodes.max() == pytest.approx(dense.lambda_max, rel=1e-6)


def test_critical_point_finders_land_on_the_saddle_they_start_near(autoencoder):
    X = autoencoder.problem.X
    rng = np.random.default_rng(8)
    theta, lam = _ae_point(X, (1, 3), 2, rng)
    start = theta + 1e-3 * rng.normal(size=theta.size) * autoencoder.problem.free
    value = 0.5 * (lam.sum() - lam[1] - lam[3])
    newton = L.critical_point(start, autoencoder.problem)
    assert newton.converged and newton.grad_norm <= 1e-9
    assert newton.objective == pytest.approx(value, rel=1e-10)
    assert newton.index == 3 and newton.kind == "saddle"
    gradnorm = L.critical_point(start, autoencoder.problem, method="gradnorm", tol=1e-6)
    assert gradnorm.objective == pytest.approx(value, rel=1e-8)
    assert gradnorm.index == 3


def test_escape_saddle_reaches_the_global_minimum(autoencoder):
    X = autoencoder.problem.X
    theta, lam = _ae_point(X, (0, 2), 2, np.random.default_rng(9))
    esc = nnmle.escape_saddle(theta, autoencoder.problem)
    assert esc.solver == "lbfgs" and esc.status == "converged"
    assert esc.eigenvalue < 0
    assert esc.objective_after_step < esc.objective_saddle
    assert esc.objective == pytest.approx(0.5 * (lam[2] + lam[3]), rel=1e-8)
    top, _ = _ae_point(X, (0, 1), 2, np.random.default_rng(9))
    with pytest.raises(ValueError, match="not a saddle"):
        nnmle.escape_saddle(top, autoencoder.problem)


def test_escape_saddle_under_l1_refits_with_the_proximal_solver(autoencoder):
    """An L1 objective is not smooth: the re-fit is proximal gradient, with exact zeros."""
    prob = autoencoder.problem.with_penalty(Penalty(l1=20.0))
    theta = np.zeros(prob.arch.n_total)  # the origin: a critical point of every penalty
    esc = L.escape_saddle(theta, prob, tol=1e-8)
    assert esc.solver == "proximal"
    assert esc.eigenvalue < 0 and esc.objective < esc.objective_after_step < esc.objective_saddle
    assert esc.objective == pytest.approx(prob.objective(esc.theta), rel=1e-12)
    zeros = int(np.sum(esc.theta[prob.free] == 0.0))
    assert 0 < zeros < prob.arch.n_params  # exact zeros (L-BFGS never lands on 0.0)


def test_gradient_descent_stalls_at_the_saddles_adam_does_not(autoencoder):
    rng = np.random.default_rng(10)
    thetas0 = 1e-6 * rng.normal(size=(4, autoencoder.problem.arch.n_total))
    study = L.saddle_study(
        autoencoder.problem,
        thetas0,
        optimizers=("gd", "adam"),
        n_iter=1500,
        learning_rates={"gd": 2e-4, "adam": 1e-2},
        f_star=autoencoder.critical_value((0, 1)),
        critical_values=autoencoder.critical_values(),
    )
    gd, adam = study.rows
    assert gd["runs_stalled"] == 4 and gd["mean_stalled_iters"] > 20
    # saddle to saddle: the origin (nothing learned), then the top direction alone
    visited = gd["critical_values_visited"]
    assert autoencoder.critical_value(()) in visited
    assert autoencoder.critical_value((0,)) in visited
    assert adam["runs_stalled"] <= gd["runs_stalled"]
    assert adam["runs_reached"] == 4


@pytest.mark.slow
def test_saddle_study_with_lbfgs(autoencoder):
    rng = np.random.default_rng(11)
    thetas0 = 1e-6 * rng.normal(size=(8, autoencoder.problem.arch.n_total))
    study = L.saddle_study(autoencoder.problem, thetas0, n_iter=3000)
    rows = {r["optimizer"]: r for r in study.rows}
    assert rows["lbfgs"]["runs_reached"] == 8
    assert rows["lbfgs"]["mean_iters_to_reach"] < rows["gd"]["mean_iters_to_reach"]
    assert study.f_star == pytest.approx(autoencoder.critical_value((0, 1)), rel=1e-8)


# --- continuous symmetries ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("activation", "penalty", "expected"),
    [
        ("relu", Penalty(), 3),
        # GL(3) and the bias shifts span the whole 10-dim fibre of the 3 affine coefficients
        ("identity", Penalty(), 13 - 3),
        ("identity", Penalty(l2=0.1), 3 + 3),  # O(3) and the (unpenalized) bias shifts
        ("tanh", Penalty(), 0),
    ],
)
def test_symmetry_tangents_leave_the_objective_flat(activation, penalty, expected):
    rng = np.random.default_rng(12)
    X = rng.normal(size=(30, 2))
    arch = Architecture.build(2, (3,), 1, activation)
    Y = rng.normal(size=(30, 1))
    prob = Problem.build(X, Y, np.ones(30), get_family("gaussian"), arch, penalty)
    theta = rng.normal(size=arch.n_total)
    T = symmetry.symmetry_tangents(theta, symmetry.group(prob))
    assert T.shape == (arch.n_params, expected)
    # the objective is constant along each orbit, so its gradient is orthogonal to the tangents
    g = prob.gradient(theta)
    np.testing.assert_allclose(T.T @ g, 0.0, atol=1e-9 * (1 + np.linalg.norm(g)))


def test_relu_scaling_is_counted_apart_at_an_unpenalized_fit():
    rng = np.random.default_rng(13)
    X = rng.normal(size=(40, 2))
    y = np.maximum(X[:, 0], 0) - 0.5 * np.maximum(X[:, 1] + 0.3, 0) + 0.05 * rng.normal(size=40)
    res = nnmle.fit(X, y, hidden=(2,), activation="relu", family="gaussian", tol=1e-10, seed=1)
    spec = L.hessian_spectrum(res.theta, res, rtol=1e-7)
    alive = sum(
        np.linalg.norm(res.weights.layers[1].W[j]) > 1e-6 for j in range(2)
    )  # units with an output
    assert spec.nullity_symmetry == alive
    assert spec.nullity >= spec.nullity_symmetry


# --- barriers and the certificate ---------------------------------------------------------


def test_barrier_of_a_glm_is_not_positive():
    rng = np.random.default_rng(14)  # shapes as in test_multistart (shared compilations)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] + rng.logistic(size=80) > 0).astype(float)
    res = nnmle.fit(X, y, hidden=())
    far = res.theta + np.array([2.0, -1.0, 0.5, 0.3])
    bar = nnmle.loss_barrier(res.theta, far, res, steps=11)
    assert bar.barrier_raw <= 1e-9 and bar.barrier_aligned <= 1e-9
    assert bar.values_raw[0] == pytest.approx(res.objective)
    assert nnmle.nonconvexity_certificate(res.theta, res) is None


def test_twins_have_a_raw_barrier_and_none_after_alignment(small_net):
    prob, theta = small_net
    twin = symmetry.act_flat(symmetry.random_element(prob, seed=0), theta, prob)
    assert prob.objective(twin) == pytest.approx(prob.objective(theta), rel=1e-12)
    bar = L.loss_barrier(theta, twin, prob, steps=9)
    assert bar.t.size == 9
    assert bar.barrier_raw > 1e-3
    assert abs(bar.barrier_aligned) < 1e-9
    np.testing.assert_allclose(bar.values_aligned, bar.values_aligned[0], rtol=1e-10)
    np.testing.assert_allclose(bar.chord[[0, -1]], [bar.f_a, bar.f_b])


def test_nonconvexity_certificate_on_a_fitted_network():
    rng = np.random.default_rng(15)  # shapes as in test_multistart (shared compilations)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(float)
    res = nnmle.fit(X, y, hidden=(2,), l2=0.01, seed=2)
    cert = nnmle.nonconvexity_certificate(res.theta, res)
    assert cert.f_twin == pytest.approx(cert.f_theta, rel=1e-12)
    assert cert.holds and cert.gap > 0
    midpoint = (cert.theta + cert.twin) / 2
    assert as_problem(res).objective(midpoint) == pytest.approx(cert.f_midpoint)
    assert "not convex" in str(cert)


def test_penalized_biases_rule_out_logistic_flips():
    rng = np.random.default_rng(17)
    X = rng.normal(size=(30, 2))
    arch = Architecture.build(2, (3,), 1, "logistic")
    y = (X[:, :1] > 0).astype(float)
    prob = Problem.build(
        X, y, np.ones(30), get_family("bernoulli"), arch, Penalty(l2=0.1, penalize_bias=True)
    )
    theta = rng.normal(size=arch.n_total)
    ones = np.ones(3)
    swap = np.array([1, 0, 2])
    flip = symmetry.GroupElement((symmetry.LayerElement(swap, np.array([-1.0, 1, 1]), ones),))
    twin = symmetry.act_flat(flip, theta, arch)  # in the group of the network function
    # the likelihood is the same, the penalty is not: the flip moved weight into the output bias
    assert prob.objective(twin) != pytest.approx(prob.objective(theta), rel=1e-6)
    G = symmetry.group(prob)
    assert not G.layers[0].unit_flips().any()
    with pytest.raises(ValueError):
        symmetry.act_flat(flip, theta, G)
    # alignment with the problem's group only permutes: the aligned twin keeps its objective
    bar = L.loss_barrier(theta, twin, prob, steps=5)
    np.testing.assert_array_equal(bar.element.layers[0].signs, 1.0)
    assert bar.values_aligned[-1] == pytest.approx(prob.objective(twin), rel=1e-12)
    swapped = symmetry.act_flat(
        symmetry.GroupElement((symmetry.LayerElement(swap, ones, ones),)), theta, G
    )
    bar = L.loss_barrier(theta, swapped, prob, steps=5)
    assert abs(bar.barrier_aligned) < 1e-9
    np.testing.assert_allclose(bar.values_aligned, bar.values_aligned[0], rtol=1e-12)
    cert = L.nonconvexity_certificate(theta, prob)
    assert cert.f_twin == pytest.approx(cert.f_theta, rel=1e-12)
    assert cert.element.startswith("swapping")


def test_certificate_twins_stay_within_the_classes_of_a_mask():
    """Units whose frozen weights differ cannot be swapped: the certificate flips instead."""
    rng = np.random.default_rng(18)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(float)
    mask = nnmle.Params(
        (
            nnmle.Layer(jnp.array([[0.0, np.nan], [np.nan, np.nan]]), jnp.full(2, np.nan)),
            nnmle.Layer(jnp.full((2, 1), np.nan), jnp.full(1, np.nan)),
        )
    )
    arch = Architecture.build(2, (2,), 1, "tanh", mask=mask)
    prob = Problem.build(X, y[:, None], np.ones(40), get_family("bernoulli"), arch)
    assert symmetry.group(prob).layers[0].classes == ((0,), (1,))
    theta = np.where(arch.free_mask(), rng.normal(size=arch.n_total), arch.fixed_values())
    cert = L.nonconvexity_certificate(theta, prob)
    assert cert.element.startswith("flipping") and cert.holds
    assert cert.f_twin == pytest.approx(cert.f_theta, rel=1e-12)
    np.testing.assert_array_equal(cert.twin[~arch.free_mask()], theta[~arch.free_mask()])


def test_flat_directions_name_the_collinear_columns():
    rng = np.random.default_rng(16)
    X = rng.normal(size=(50, 2))
    Xd = np.column_stack([X, X[:, 0] - 2 * X[:, 1]])
    y = X[:, 0] + rng.normal(size=50)
    arch = Architecture.build(3, (), input_names=("a", "b", "c"))
    prob = Problem.build(Xd, y[:, None], np.ones(50), get_family("gaussian"), arch)
    spec = L.hessian_spectrum(np.zeros(4), prob)
    assert (spec.index, spec.nullity, spec.nullity_symmetry) == (0, 1, 0)
    (flat,) = L.flat_directions(spec, prob)
    assert {name for name, _ in flat.terms} == {"a->y", "b->y", "c->y"}
    coef = dict(flat.terms)
    v = np.array([coef["a->y"], coef["b->y"], coef["c->y"]])
    np.testing.assert_allclose(Xd @ v, 0.0, atol=1e-8)
    assert "collinear" in flat.text


def test_bad_inputs_raise_teaching_errors(small_net):
    prob, theta = small_net
    with pytest.raises(ValueError, match="flat weight vector"):
        L.hessian_spectrum(theta[:-1], prob)
    with pytest.raises(ValueError, match="Unknown method"):
        L.hessian_spectrum(theta, prob, method="qr")
    with pytest.raises(ValueError, match="Expected a fitted result"):
        L.hessian_spectrum(theta, object())
    with pytest.raises(ValueError, match="Unknown method"):
        L.critical_point(theta, prob, method="bfgs")
