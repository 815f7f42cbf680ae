"""The Problem and its kernels: padding, values against scipy.stats, derivatives against finite
differences, the Fisher information, the pytree contract."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from nnmle.data import Data
from nnmle.families import get_family
from nnmle.networks import Architecture, Layer, Params, forward, init_params, ravel
from nnmle.penalties import Penalty
from nnmle.problem import Problem, as_problem, bucket_rows, flat_theta, objective

RNG = np.random.default_rng(3)
N = 37
X = RNG.normal(size=(N, 3))
W = RNG.uniform(0.5, 2.0, size=N)


TARGETS = {
    "gaussian": (X[:, 0] + RNG.normal(size=N))[:, None],
    "bernoulli": (RNG.uniform(size=N) < 0.5).astype(float)[:, None],
    "poisson": RNG.poisson(2.0, size=N).astype(float)[:, None],
    "multinomial": np.eye(3)[RNG.integers(0, 3, size=N)],
}


def _targets(family):
    return TARGETS[family]


def _problem(family, hidden=(3,), activation="tanh", penalty=None, mask=None, pad=True):
    Y = _targets(family)
    n_out = 2 if family == "multinomial" else 1
    arch = Architecture.build(3, hidden, n_out, activation, mask=mask)
    return Problem.build(X, Y, W, get_family(family), arch, penalty or Penalty(), pad=pad)


def _theta(problem, seed=0):
    return np.asarray(init_params(jax.random.PRNGKey(seed), problem.arch, rang=0.5))


@given(st.integers(1, 10**6))
def test_buckets_are_few_and_tight(n):
    b = bucket_rows(n)
    assert b >= n
    assert b == 16 or b <= 1.125 * n + 1
    assert bucket_rows(b) == b  # a bucket is its own bucket


def test_padding_is_invisible():
    p = _problem("bernoulli")
    assert p.data.X.shape[0] == bucket_rows(N) > N and p.n_obs == N
    assert np.all(np.asarray(p.data.w)[N:] == 0)
    q = _problem("bernoulli", pad=False)
    th = _theta(p)
    assert p.objective(th) == pytest.approx(q.objective(th), rel=1e-13)
    np.testing.assert_allclose(p.hessian(th), q.hessian(th), rtol=1e-11, atol=1e-11)
    assert p.X.shape == (N, 3) and p.scores(th).shape == (N, p.arch.n_total)


@pytest.mark.parametrize("family", ["gaussian", "bernoulli", "poisson", "multinomial"])
def test_loglik_equals_scipy_stats(family):
    p = _problem(family, hidden=())
    th = _theta(p)
    eta = np.column_stack([np.asarray(X), np.ones(N)]) @ th.reshape(4, -1)
    Y = p.Y
    if family == "gaussian":
        mu, y = eta[:, 0], Y[:, 0]
        s2 = np.sum(W * (y - mu) ** 2) / W.sum()
        ll = np.sum(W * stats.norm.logpdf(y, mu, np.sqrt(s2)))
    elif family == "bernoulli":
        ll = np.sum(W * stats.bernoulli.logpmf(Y[:, 0], 1 / (1 + np.exp(-eta[:, 0]))))
    elif family == "poisson":
        ll = np.sum(W * stats.poisson.logpmf(Y[:, 0], np.exp(eta[:, 0])))
    else:
        logits = np.column_stack([np.zeros(N), eta])
        prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        ll = np.sum(W * np.log(np.sum(Y * prob, axis=1)))
    assert p.statistics(th)["loglik"] == pytest.approx(ll, rel=1e-10)
    assert p.logliks(th[None])[0] == pytest.approx(ll, rel=1e-10)


def _fd_grad(f, th, h=1e-6):
    g = np.zeros_like(th)
    for j in range(th.size):
        e = np.zeros_like(th)
        e[j] = h
        g[j] = (f(th + e) - f(th - e)) / (2 * h)
    return g


@pytest.mark.parametrize(
    ("family", "activation"),
    [("gaussian", "tanh"), ("bernoulli", "logistic"), ("poisson", "softplus"),
     ("multinomial", "tanh")],
)  # fmt: skip
def test_gradient_hessian_and_hvp_against_finite_differences(family, activation):
    p = _problem(family, hidden=(3,), activation=activation, penalty=Penalty(l2=0.3))
    th = _theta(p)
    _, g = p.value_and_grad(th)
    np.testing.assert_allclose(g, _fd_grad(p.objective, th), rtol=1e-6, atol=1e-6)
    H = p.hessian(th)
    fd = np.stack([_fd_grad(lambda t, j=j: p.value_and_grad(t)[1][j], th) for j in range(th.size)])
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(p.hessian(th, method="hvp"), p.hessian(th, "factored"), atol=1e-10)
    v = RNG.normal(size=th.size)
    np.testing.assert_allclose(p.hvp(th)(v), H @ v, rtol=1e-10, atol=1e-10)


def test_frozen_entries_are_not_coordinates():
    mask = Params(
        (Layer(jnp.full((3, 2), jnp.nan), jnp.array([0.5, jnp.nan])),
         Layer(jnp.full((2, 1), jnp.nan), jnp.array([jnp.nan]))),
    )  # fmt: skip
    p = _problem("gaussian", hidden=(2,), mask=mask)
    th = _theta(p)
    assert p.free.sum() == p.arch.n_total - 1
    g = p.value_and_grad(th)[1]
    assert g[~p.free].tolist() == [0.0]
    assert p.hessian(th).shape == (p.n_params, p.n_params)


@pytest.mark.parametrize("family", ["gaussian", "bernoulli", "poisson", "multinomial"])
def test_information_is_jwj(family):
    p = _problem(family, hidden=(2,))
    th = _theta(p, 1)
    J = p.eta_jacobian(th)  # (n, q, P)
    eta = p.linear_predictor(th)
    fam = p.family

    def curvature(e, y):
        return jax.hessian(lambda z: fam.loss_obs(z[None], y[None])[0])(e)

    C = np.stack([np.asarray(curvature(jnp.asarray(eta[i]), jnp.asarray(p.Y[i])))
                  for i in range(N)])  # fmt: skip
    ref = np.einsum("nqp,n,nqr,nrs->ps", J, W, C, J)
    np.testing.assert_allclose(p.information(th), ref, rtol=1e-10, atol=1e-10)
    assert np.linalg.eigvalsh(p.information(th)).min() > -1e-10  # PSD


@pytest.mark.parametrize("family", ["gaussian", "bernoulli", "poisson"])
def test_information_equals_hessian_for_a_glm(family):
    p = _problem(family, hidden=())
    th = _theta(p, 2)
    np.testing.assert_allclose(p.information(th), p.hessian(th), rtol=1e-10, atol=1e-10)


def test_information_sees_duplicate_units():
    # two identical tanh units: fitted values move the same way along (v1, -v2) and
    # along the difference of their incoming weights -> rank deficit (4 inputs+bias: 4 + 1)
    arch = Architecture.build(3, (2,), activation="tanh")
    p = Problem.build(X, _targets("gaussian"), W, get_family("gaussian"), arch)
    w1, b1, v = RNG.normal(size=3), 0.3, 0.7
    theta = ravel(
        Params((Layer(jnp.asarray(np.column_stack([w1, w1])), jnp.array([b1, b1])),
                Layer(jnp.array([[v], [v]]), jnp.array([0.1])))),
        arch,
    )  # fmt: skip
    ev = np.linalg.eigvalsh(p.information(np.asarray(theta)))
    assert np.sum(ev < 1e-10 * ev.max()) == 5


def test_problem_is_a_pytree_with_traced_penalty_and_rows():
    p = _problem("gaussian", penalty=Penalty(l2=0.5, penalize_bias=True))
    leaves = jax.tree_util.tree_leaves(p)
    scalars = [v for v in leaves if np.ndim(v) == 0]
    assert scalars == [0.5, 0.0, N]  # l2, l1, n_obs
    q = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(p), leaves)
    assert q.family is p.family and q.arch == p.arch and q.penalty.penalize_bias

    @jax.jit
    def f(theta, problem):
        return objective(theta, problem)

    th = jnp.asarray(_theta(p))
    assert float(f(th, p)) == pytest.approx(p.objective(th), rel=1e-13)
    assert float(f(th, p.with_penalty(Penalty(l2=2.0, penalize_bias=True)))) > float(f(th, p))


def test_new_inputs_and_weights():
    p = _problem("bernoulli", hidden=(2,))
    th = _theta(p)
    Xn = RNG.normal(size=(5, 3))
    ref = forward(_params(th, p), jnp.asarray(Xn), p.arch)
    np.testing.assert_allclose(p.linear_predictor(th, Xn), ref, rtol=1e-13)
    q = p.with_weights(np.ones(N))
    assert np.all(q.w == 1) and q.data.w.shape == p.data.w.shape
    with pytest.raises(ValueError, match=f"expected {N} case weights"):
        p.with_weights(np.ones(3))


def _params(th, p):
    from nnmle.networks import unravel

    return unravel(jnp.asarray(th), p.arch)


def test_helpers_and_errors():
    p = _problem("gaussian", hidden=())
    assert as_problem(p) is p
    with pytest.raises(ValueError, match="Expected a fitted result"):
        as_problem(3)
    with pytest.raises(ValueError, match="flat weight vector of 4 entries"):
        flat_theta(np.zeros(3), p.arch)
    empty = Problem(None, p.family, p.arch, Penalty(), 0)
    for method in ("hessian", "objective", "statistics", "scores", "hvp", "value_and_grad"):
        with pytest.raises(ValueError, match="carries no data"):
            getattr(empty, method)(np.zeros(4))
    with pytest.raises(ValueError, match="one row per observation"):
        Problem.build(X, np.zeros((3, 1)), W, p.family, p.arch)
    prob, design = Problem.from_data(X, _targets("gaussian")[:, 0], family="gaussian",
                                     hidden=(2,), l2=0.1)  # fmt: skip
    assert prob.penalty == Penalty(l2=0.1) and design.input_names == ("x1", "x2", "x3")
    assert isinstance(prob.data, Data)
    with pytest.raises(ValueError, match="Unknown family"):
        Problem.from_data(X, _targets("gaussian")[:, 0], family="normal")


# --- offsets: eta = f(x; theta) + offset, in every kernel ------------------------------------

OFFSET = RNG.normal(scale=0.3, size=N)


def _offset_problem(family="poisson", hidden=(3,), offset=OFFSET, pad=True):
    return Problem.build(
        X, _targets(family), W, get_family(family), Architecture.build(3, hidden),
        pad=pad, offset=offset,
    )  # fmt: skip


def test_an_offset_enters_every_kernel():
    p, plain = _offset_problem(), _problem("poisson")
    th = _theta(p)
    eta = plain.linear_predictor(th)[:, 0] + OFFSET
    y = p.Y[:, 0]
    nll = np.sum(W * (np.exp(eta) - y * eta))
    assert p.objective(th) == pytest.approx(nll, rel=1e-12)
    assert p.statistics(th)["loglik"] == pytest.approx(
        np.sum(W * stats.poisson.logpmf(y, np.exp(eta))), rel=1e-12
    )
    np.testing.assert_allclose(p.linear_predictor(th)[:, 0], eta, rtol=1e-12)
    np.testing.assert_allclose(p.linear_predictors(th[None])[0, :, 0], eta, rtol=1e-12)
    np.testing.assert_allclose(p.mean(th, X[:4], OFFSET[:4])[:, 0], np.exp(eta[:4]), rtol=1e-12)
    # derivatives: finite differences of the objective with the offset
    np.testing.assert_allclose(p.gradient(th), _fd_grad(p.objective, th), rtol=1e-5, atol=1e-6)
    H = p.hessian(th, method="hvp")
    np.testing.assert_allclose(p.hessian(th, method="factored"), H, rtol=1e-9, atol=1e-9)
    # scores sum to the gradient; the GLM's information is its Hessian
    np.testing.assert_allclose(W @ p.scores(th), p.gradient(th), rtol=1e-9, atol=1e-9)
    glm = _offset_problem(hidden=())
    th0 = _theta(glm)
    np.testing.assert_allclose(glm.information(th0), glm.hessian(th0), rtol=1e-9, atol=1e-9)
    # padding stays invisible with an offset
    q = _offset_problem(pad=False)
    assert q.objective(th) == pytest.approx(p.objective(th), rel=1e-13)


def test_a_new_offset_compiles_nothing():
    from nnmle.problem import _value_and_grad

    p = _offset_problem()
    th = _theta(p)
    p.value_and_grad(th)
    before = _value_and_grad._cache_size()
    q = _offset_problem(offset=-OFFSET)
    assert q.data.offset.shape == p.data.offset.shape
    q.value_and_grad(th)
    assert _value_and_grad._cache_size() == before
    assert q.objective(th) != pytest.approx(p.objective(th))


def test_offset_shape_errors_say_what_is_expected():
    with pytest.raises(ValueError, match=r"offset must have one value per row \(37,\).*Fix"):
        _offset_problem(offset=np.zeros(5))


def test_negative_binomial_alpha_is_a_bias_only_output():
    from nnmle.data import family_architecture

    fam = get_family("negative_binomial")
    mask = Params((Layer(np.full((3, 2), np.nan), np.array([np.nan, 0.5])),
                   Layer(np.full((2, 1), np.nan), np.array([np.nan]))))  # fmt: skip
    arch = family_architecture(fam, 3, (2,), 1, "tanh", bias=(True, False), mask=mask)
    names = arch.param_names()
    free = dict(zip(names, arch.free_mask(), strict=True))
    assert free["bias->log(alpha)"] and not free["bias->y"]  # bias=False for the mean only
    assert not free["h1->log(alpha)"] and not free["h2->log(alpha)"]
    assert not free["bias->h2"]  # the user's mask is kept
    p = Problem.build(X, _targets("poisson"), W, fam, arch, offset=OFFSET)
    assert p.offset.shape == (N, 2) and np.all(p.offset[:, 1] == 0)  # no offset on log(alpha)
