"""Tests of nnmle.symmetry: the group, its action, canonical forms, alignment, equivalence."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnmle
from nnmle import symmetry as S
from nnmle.networks import Architecture, Layer, Params, forward, ravel, unravel
from nnmle.penalties import Penalty, penalty_value

ACTS = ("tanh", "logistic", "relu", "softplus", "identity")
PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def networks(draw, max_depth=3, max_width=4):
    """A random architecture (depth, widths, activations, skip, biases) and flat weights."""
    depth = draw(st.integers(1, max_depth))
    hidden = tuple(draw(st.integers(1, max_width)) for _ in range(depth))
    acts = tuple(draw(st.sampled_from(ACTS)) for _ in range(depth))
    n_inputs = draw(st.integers(1, 3))
    bias = [draw(st.booleans()) or l == depth for l in range(depth + 1)]
    # every hidden unit gets at least two incoming entries (weights + bias): with one, all
    # relu/identity units of a layer are proportional (a reducible network, whose canonical
    # form is not unique; see canonicalize)
    fan_in = (n_inputs, *hidden)
    bias = [b or (l < depth and fan_in[l] < 2) for l, b in enumerate(bias)]
    arch = Architecture.build(
        n_inputs,
        hidden,
        draw(st.integers(1, 2)),
        acts,
        skip=draw(st.booleans()),
        bias=tuple(bias),
    )
    seed = draw(st.integers(0, 2**31 - 1))
    theta = np.random.default_rng(seed).normal(size=arch.n_total) * arch.free_mask()
    return arch, theta, seed


NP_ACT = {
    "tanh": np.tanh,
    "logistic": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "relu": lambda z: np.maximum(z, 0.0),
    "softplus": lambda z: np.log1p(np.exp(z)),
    "identity": lambda z: z,
}


def eta(theta, arch, X):
    """The linear predictor, written out independently in NumPy (fast for many shapes)."""
    p = unravel(jnp.asarray(theta), arch)
    h = X
    for l, layer in enumerate(p.layers):
        h = h @ np.asarray(layer.W) + np.asarray(layer.b)
        if l < len(arch.hidden):
            h = NP_ACT[arch.activation[l]](h)
    return h + X @ np.asarray(p.skip) if arch.skip else h


def test_numpy_forward_of_the_tests_is_nnmle_forward():
    for act in ACTS:
        arch = Architecture.build(3, (4, 2), 2, act, skip=True)
        theta = np.random.default_rng(0).normal(size=arch.n_total)
        X = data(arch)
        truth = forward(unravel(jnp.asarray(theta), arch), jnp.asarray(X), arch)
        np.testing.assert_allclose(eta(theta, arch, X), np.asarray(truth), rtol=1e-12, atol=1e-12)


def data(arch, n=64, seed=0):
    return np.random.default_rng(seed).normal(size=(n, arch.n_inputs)) * 2.0


def assert_identity(g):
    for e in g.layers:
        np.testing.assert_array_equal(e.perm, np.arange(e.perm.size))
        np.testing.assert_array_equal(e.signs, 1.0)
        np.testing.assert_allclose(e.scales, 1.0, rtol=1e-12)


# --- the group -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("act", "hidden", "skip", "bias", "order", "cdim"),
    [
        ("tanh", (3,), False, True, 2**3 * 6, 0),
        ("tanh", (3, 2), False, True, 2**3 * 6 * 2**2 * 2, 0),
        ("identity", (2,), False, True, 2**2 * 2, 4),
        ("logistic", (4,), False, True, 2**4 * 24, 0),
        ("logistic", (4,), False, (True, False), 24, 0),  # no next bias: no flips
        ("relu", (3, 2), False, True, 6 * 2, 5),
        ("relu", (3,), True, True, 2**3 * 6, 3),  # skip flips
        ("relu", (3, 2), True, True, 6 * 2, 5),  # skip but two layers: no flips
        ("softplus", (4,), False, True, 24, 0),
        ("softplus", (4,), True, True, 2**4 * 24, 0),
        ("softplus", (2,), True, (True, False), 2, 0),  # hidden bias, no output bias
    ],
)
def test_group_order_closed_forms(act, hidden, skip, bias, order, cdim):
    arch = Architecture.build(3, hidden, 1, act, skip=skip, bias=bias)
    grp = S.group(arch)
    assert grp.order == order
    assert grp.continuous_dim == cdim
    assert grp.exact
    assert sum(1 for _ in S.elements(arch)) == order


def test_group_of_glm_is_trivial():
    grp = S.group(Architecture.build(3, ()))
    assert grp.order == 1 and grp.continuous_dim == 0
    assert "GLM" in grp.describe()


def test_mask_restricts_the_group():
    arch0 = Architecture.build(2, (3, 2), 1, "tanh")
    mask = unravel(jnp.full(arch0.n_total, jnp.nan), arch0)
    W = np.full((2, 3), np.nan)
    W[0, 0] = 0.0
    mask = mask._replace(layers=(Layer(jnp.asarray(W), mask.layers[0].b), *mask.layers[1:]))
    arch = Architecture.build(2, (3, 2), 1, "tanh", mask=mask)
    grp = S.group(arch)
    assert not grp.exact
    assert grp.layers[0].order == 1 and grp.layers[0].restricted
    assert grp.order == 2**2 * 2  # the second layer is untouched by the mask
    assert "frozen" in grp.notes[0]


def test_act_rejects_elements_outside_the_group():
    arch = Architecture.build(2, (3,), 1, "relu")
    theta = np.ones(arch.n_total)
    bad = S.GroupElement((S.LayerElement(np.arange(3), np.array([1.0, -1.0, 1.0]), np.ones(3)),))
    with pytest.raises(ValueError, match="no flips"):
        S.act(bad, theta, arch)
    with pytest.raises(ValueError, match="not a permutation"):
        S.act(
            S.GroupElement((S.LayerElement(np.zeros(3, int), np.ones(3), np.ones(3)),)), theta, arch
        )
    tanh = Architecture.build(2, (3,), 1, "tanh")
    scaled = S.GroupElement((S.LayerElement(np.arange(3), np.ones(3), np.full(3, 2.0)),))
    with pytest.raises(ValueError, match="equal to 1"):
        S.act(scaled, theta, tanh)


@PROPS
@given(networks())
def test_action_keeps_the_network_function(net):
    arch, theta, seed = net
    X = data(arch)
    g = S.random_element(arch, seed)
    twin = S.act_flat(g, theta, arch)
    np.testing.assert_allclose(eta(twin, arch, X), eta(theta, arch, X), rtol=1e-10, atol=1e-10)
    # Params in, Params out, same values
    p = S.act(g, unravel(jnp.asarray(theta), arch), arch)
    assert isinstance(p, Params)
    np.testing.assert_array_equal(np.asarray(ravel(p, arch)), twin)


@PROPS
@given(networks())
def test_compose_and_inverse_laws(net):
    arch, theta, seed = net
    g, h, k = (S.random_element(arch, seed + i) for i in range(3))
    gh = S.compose(g, h)
    np.testing.assert_allclose(
        S.act_flat(gh, theta, arch), S.act_flat(g, S.act_flat(h, theta, arch), arch), atol=1e-10
    )
    assert_identity(S.compose(S.inverse(g), g))
    assert_identity(S.compose(g, S.inverse(g)))
    np.testing.assert_allclose(
        S.act_flat(S.inverse(g), S.act_flat(g, theta, arch), arch), theta, atol=1e-10
    )
    left, right = S.compose(S.compose(g, h), k), S.compose(g, S.compose(h, k))
    for a, b in zip(left.layers, right.layers, strict=True):
        np.testing.assert_array_equal(a.perm, b.perm)
        np.testing.assert_array_equal(a.signs, b.signs)
        np.testing.assert_allclose(a.scales, b.scales, rtol=1e-12)
    assert_identity(S.compose(S.identity(arch), S.identity(arch)))


def test_orbit_enumerates_distinct_equivalent_networks():
    arch = Architecture.build(2, (2,), 1, "tanh")
    theta = np.random.default_rng(0).normal(size=arch.n_total)
    members = S.orbit(theta, arch)
    assert len(members) == 8
    flat = np.array([np.asarray(m) for m in members])
    assert len({tuple(np.round(r, 12)) for r in flat}) == 8
    X = data(arch)
    for m in members:
        np.testing.assert_allclose(eta(m, arch, X), eta(theta, arch, X), atol=1e-12)
    with pytest.raises(ValueError, match="max_size"):
        S.orbit(theta, Architecture.build(2, (8,), 1, "tanh"))


def test_penalty_and_likelihood_invariant_on_orbit():
    for act in ("tanh", "logistic", "relu"):
        arch = Architecture.build(3, (4, 3), 1, act)
        theta = np.random.default_rng(1).normal(size=arch.n_total)
        pen = Penalty(l2=0.3, l1=0.1)
        for seed in range(5):
            twin = S.act_flat(S.random_element(arch, seed, continuous=False), theta, arch)
            if act != "logistic":  # logistic flips move weight into the (unpenalized) bias
                assert float(penalty_value(jnp.asarray(twin), arch, pen)) == pytest.approx(
                    float(penalty_value(jnp.asarray(theta), arch, pen)), rel=1e-14
                )


# --- canonical form --------------------------------------------------------------------------


@PROPS
@given(networks())
def test_canonicalize_laws(net):
    arch, theta, seed = net
    X = data(arch)
    canon, g = S.canonicalize(theta, arch)
    np.testing.assert_array_equal(S.act_flat(g, theta, arch), canon)
    again, g2 = S.canonicalize(canon, arch)  # idempotent
    np.testing.assert_array_equal(again, canon)
    assert_identity(g2)
    np.testing.assert_allclose(eta(canon, arch, X), eta(theta, arch, X), rtol=1e-10, atol=1e-10)
    for k in range(3):  # the same for every orbit member
        twin = S.act_flat(S.random_element(arch, seed + 100 + k), theta, arch)
        np.testing.assert_allclose(S.canonicalize(twin, arch)[0], canon, rtol=1e-9, atol=1e-10)


def test_canonical_rules_are_the_documented_ones():
    arch = Architecture.build(2, (3,), 1, "tanh")
    W = np.array([[0.1, -3.0, 0.5], [0.2, 1.0, -0.5]])
    b = np.array([0.0, 0.0, -2.0])
    p = Params((Layer(jnp.asarray(W), jnp.asarray(b)), Layer(jnp.ones((3, 1)), jnp.zeros(1))))
    canon, _ = S.canonicalize(p, arch)
    U = np.vstack([np.asarray(canon.layers[0].b)[None], np.asarray(canon.layers[0].W)])
    norms = np.linalg.norm(U, axis=0)
    assert np.all(np.diff(norms) <= 0)  # decreasing norm
    for j in range(3):  # the largest-magnitude entry is positive
        assert U[np.argmax(np.abs(U[:, j])), j] > 0
    relu = Architecture.build(2, (3,), 1, "relu")
    c, _ = S.canonicalize(ravel(p, relu), relu)
    Ur = np.vstack(
        [np.asarray(unravel(c, relu).layers[0].b)[None], np.asarray(unravel(c, relu).layers[0].W)]
    )
    np.testing.assert_allclose(np.linalg.norm(Ur, axis=0), 1.0)  # relu: unit incoming norm


def test_near_ties_are_resolved_the_same_on_the_orbit():
    # two units with exactly equal incoming norms and one with a sign tie (|b| == |w1|)
    arch = Architecture.build(2, (3,), 2, "tanh")
    W = np.array([[1.0, 0.3, -0.7], [0.3, 1.0, 0.2]])
    b = np.array([0.5, 0.5, 0.7])
    V = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, 0.3]])
    theta = np.asarray(ravel(Params((Layer(W, b), Layer(V, np.zeros(2)))), arch))
    canon, _ = S.canonicalize(theta, arch)
    for g in S.elements(arch):
        np.testing.assert_array_equal(S.canonicalize(S.act_flat(g, theta, arch), arch)[0], canon)
    # perturbations far below the tolerance do not change the canonical order or signs
    tiny = theta + 1e-13 * np.random.default_rng(0).normal(size=theta.size)
    np.testing.assert_allclose(S.canonicalize(tiny, arch)[0], canon, atol=1e-12)


def test_canonical_weights_of_a_fit_and_summary():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    y = (np.tanh(X[:, 0] - X[:, 1]) + 0.3 * rng.normal(size=80) > 0).astype(int)
    res = nnmle.fit(X, y, hidden=(3,), l2=0.1)
    rows = S.canonical_weights(res)
    canon, _ = S.canonicalize(res.theta, res.arch)
    np.testing.assert_allclose([r["value"] for r in rows], canon[res.arch.free_mask()])
    summ = res.summary()
    assert dict(summ.header)["Symmetry group"] == str(2**3 * 6)
    np.testing.assert_allclose([r[1] for r in summ.rows], [r["value"] for r in rows])
    # a user can watch the invariance on the fit: loglik, penalty, predictions
    from nnmle.objective import objective

    for seed in range(3):
        twin = S.act_flat(S.random_element(res.arch, seed), res.theta, res.arch)
        obj = float(objective(jnp.asarray(twin), res.data, res.family, res.arch, res.penalty))
        assert obj == pytest.approx(res.objective, rel=1e-12)
        mu = res.family.inverse_link(
            forward(unravel(jnp.asarray(twin), res.arch), res.data.X, res.arch)
        )
        np.testing.assert_allclose(np.asarray(mu)[:, 0], res.predict(X), atol=1e-14)


# --- alignment and equivalence ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("act", "hidden", "skip"),
    [
        ("tanh", (6, 5, 4), False),
        ("logistic", (5, 4), False),
        ("relu", (6, 4), False),
        ("relu", (5,), True),
        ("softplus", (5,), True),
        ("identity", (4,), False),
    ],
)
def test_align_recovers_a_planted_element_exactly(act, hidden, skip):
    arch = Architecture.build(4, hidden, 2, act, skip=skip)
    for seed in range(5):
        ref = np.random.default_rng(seed).normal(size=arch.n_total)
        g = S.random_element(arch, seed + 10)
        aligned, h = S.align(ref, S.act_flat(g, ref, arch), arch)
        assert_identity(S.compose(h, g))
        np.testing.assert_allclose(aligned, ref, atol=1e-10)


@PROPS
@given(networks(max_depth=2, max_width=5))
def test_align_recovers_planted_elements_on_random_networks(net):
    arch, theta, seed = net
    g = S.random_element(arch, seed + 1)
    aligned, h = S.align(theta, S.act_flat(g, theta, arch), arch)
    X = data(arch)
    np.testing.assert_allclose(eta(aligned, arch, X), eta(theta, arch, X), atol=1e-9)
    np.testing.assert_allclose(aligned, theta, atol=1e-8)


def test_permutation_only_alignment_cannot_recover_signs():
    arch = Architecture.build(4, (8,), 1, "tanh")
    ref = np.random.default_rng(0).normal(size=arch.n_total)
    g = S.random_element(arch, 3)
    assert np.any(g.layers[0].signs < 0)
    other = S.act_flat(g, ref, arch)
    U_ref = np.asarray(unravel(jnp.asarray(ref), arch).layers[0].W)
    U_oth = np.asarray(unravel(jnp.asarray(other), arch).layers[0].W)
    from scipy.optimize import linear_sum_assignment

    _, cols = linear_sum_assignment(U_ref.T @ U_oth, maximize=True)
    assert not np.array_equal(cols, S.inverse(g).layers[0].perm)  # fooled by the flips
    _, h = S.align(ref, other, arch)
    assert_identity(S.compose(h, g))


def test_equivalent():
    arch = Architecture.build(3, (4, 3), 1, "tanh")
    a = np.random.default_rng(0).normal(size=arch.n_total)
    twin = S.act_flat(S.random_element(arch, 1), a, arch)
    res = S.equivalent(a, twin, arch)
    assert res and res.weight_diff < 1e-12 and res.function_diff < 1e-12
    assert S.equivalent(unravel(jnp.asarray(a), arch), unravel(jnp.asarray(twin), arch), arch)
    other = a + 1e-3 * np.random.default_rng(1).normal(size=a.size)
    res2 = S.equivalent(a, other, arch)
    assert not res2 and res2.weight_diff > 1e-6
    assert not S.equivalent(a, np.random.default_rng(2).normal(size=a.size), arch)


def test_group_methods_delegate():
    arch = Architecture.build(2, (3,), 1, "relu")
    grp = S.group(arch)
    theta = np.random.default_rng(0).normal(size=arch.n_total)
    g = grp.random_element(4)
    np.testing.assert_array_equal(np.asarray(grp.act(g, theta)), S.act_flat(g, theta, arch))
    assert_identity(grp.compose(grp.inverse(g), g))
    assert_identity(grp.identity())
    assert sum(1 for _ in grp.elements()) == grp.order == math.factorial(3)
    assert "rescaling" in grp.describe()
