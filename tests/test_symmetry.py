"""Tests of nnmle.symmetry: the group of a penalized, masked objective, its action,
canonical forms, alignment, equivalence and the continuous part's tangents."""

import functools
import math

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnmle import symmetry as S
from nnmle.families import get_family
from nnmle.networks import Architecture, Layer, Params, forward, ravel, unravel
from nnmle.penalties import Penalty
from nnmle.problem import Problem

ACTS = ("tanh", "logistic", "relu", "softplus", "identity")
PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROBLEM_PROPS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
PENALTIES = {
    "none": {},
    "l2": {"l2": 0.3},
    "l1": {"l1": 0.2},
    "both": {"l2": 0.3, "l1": 0.2},
}


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


def data(arch, n=64, seed=0):
    return np.random.default_rng(seed).normal(size=(n, arch.n_inputs)) * 2.0


def test_numpy_forward_of_the_tests_is_nnmle_forward():
    for act in ACTS:
        arch = Architecture.build(3, (4, 2), 2, act, skip=True)
        theta = np.random.default_rng(0).normal(size=arch.n_total)
        X = data(arch)
        truth = forward(unravel(jnp.asarray(theta), arch), jnp.asarray(X), arch)
        np.testing.assert_allclose(eta(theta, arch, X), np.asarray(truth), rtol=1e-12, atol=1e-12)
        net, _ = S.as_net(theta, arch)
        np.testing.assert_allclose(S.forward_np(net, X, arch), np.asarray(truth), atol=1e-12)


def assert_identity(g):
    for e in g.layers:
        np.testing.assert_array_equal(e.perm, np.arange(e.perm.size))
        np.testing.assert_array_equal(e.signs, 1.0)
        np.testing.assert_allclose(e.scales, 1.0, rtol=1e-12)


# --- problems: a small fixed menu of architectures, so JAX compiles few kernels ------------


def _mask(arch: Architecture, kind: str, seed: int) -> Params | None:
    """A mask (NaN free, number frozen) of the given kind, the same for the same arguments.

    ``random``: some entries frozen at 0, 0.5 or -1; ``zero``: some entries frozen at 0;
    ``equal_out``: the outgoing weights of all but the last unit of each hidden layer frozen
    at one common row (and, with two hidden layers, the first column between them at 0.7).
    The first input's weight into each hidden unit stays free (no unit is left with all
    incoming weights frozen: a reducible network).
    """
    if kind == "none":
        return None
    rng = np.random.default_rng(seed)
    shapes = arch.shapes
    blocks = [np.full(sh, np.nan) for sh in shapes]
    n_layers = len(arch.hidden) + 1
    if kind in ("random", "zero"):
        values = (0.0, 0.5, -1.0) if kind == "random" else (0.0,)
        for blk in blocks:
            frozen = rng.random(blk.shape) < 0.3
            blk[frozen] = rng.choice(values, size=int(frozen.sum()))
    else:  # equal_out
        for l in range(1, n_layers):
            W = blocks[2 * l]
            W[:-1, :] = np.linspace(1.0, -0.5, W.shape[1])
        if n_layers == 3:
            blocks[2][:, 0] = 0.7
    for l in range(n_layers - 1):
        blocks[2 * l][0, :] = np.nan  # the first input's weight stays free
    layers = tuple(Layer(blocks[2 * i], blocks[2 * i + 1]) for i in range(n_layers))
    return Params(layers, blocks[-1] if arch.skip else None)


@functools.cache
def menu_arch(act: str, depth: int, skip: bool, bias: bool, mask: str, seed: int):
    hidden = (4,) if depth == 1 else (3, 3)
    biases = (bias,) * depth + (True,)
    arch = Architecture.build(3, hidden, 2, act, skip=skip, bias=biases)
    m = _mask(arch, mask, seed)
    return arch if m is None else Architecture.build(3, hidden, 2, act, skip, biases, mask=m)


@functools.cache
def base_problem(arch: Architecture) -> Problem:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, arch.n_inputs)) * 1.5
    Y = rng.normal(size=(30, arch.n_outputs))
    return Problem.build(X, Y, rng.uniform(0.5, 2.0, 30), get_family("gaussian"), arch)


def generic_theta(arch: Architecture, seed: int) -> np.ndarray:
    """Random weights, frozen entries at their values: no ties (generic)."""
    free = arch.free_mask()
    return np.where(
        free, np.random.default_rng(seed).normal(size=arch.n_total), arch.fixed_values()
    )


@st.composite
def problems(draw):
    """A problem from the menu, a penalty, generic weights and a seed."""
    arch = menu_arch(
        draw(st.sampled_from(ACTS)),
        draw(st.sampled_from((1, 2))),
        draw(st.booleans()),
        draw(st.booleans()),
        draw(st.sampled_from(("none", "random", "zero", "equal_out"))),
        draw(st.integers(0, 2)),
    )
    pen = Penalty(
        **PENALTIES[draw(st.sampled_from(tuple(PENALTIES)))], penalize_bias=draw(st.booleans())
    )
    seed = draw(st.integers(0, 2**31 - 1))
    return base_problem(arch).with_penalty(pen), generic_theta(arch, seed), seed


def frozen_kept(out: np.ndarray, theta: np.ndarray, arch: Architecture) -> None:
    frozen = ~arch.free_mask()
    np.testing.assert_array_equal(np.asarray(out)[frozen], theta[frozen])


# --- the group ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("act", "hidden", "skip", "bias", "order", "cdim"),
    [
        ("tanh", (3,), False, True, 2**3 * 6, 0),
        ("tanh", (3, 2), False, True, 2**3 * 6 * 2**2 * 2, 0),
        ("identity", (2,), False, True, 2**2 * 2, 4 + 2),  # GL(2) and two bias shifts
        ("identity", (2,), False, (False, True), 2**2 * 2, 4),  # no hidden bias: no shifts
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


@pytest.mark.parametrize(
    ("act", "skip", "penalty", "order", "cdim"),
    [
        ("tanh", False, Penalty(l2=1.0, l1=1.0, penalize_bias=True), 2**3 * 6, 0),
        ("logistic", False, Penalty(l2=0.05), 2**3 * 6, 0),  # biases free: flips stay
        ("logistic", False, Penalty(l2=0.05, penalize_bias=True), 6, 0),  # penalized: no flips
        ("logistic", False, Penalty(l1=0.05, penalize_bias=True), 6, 0),
        ("relu", False, Penalty(l2=0.1), 6, 0),  # no rescaling under a penalty
        ("relu", True, Penalty(l1=0.1), 6, 0),  # nor skip flips
        ("softplus", True, Penalty(l2=0.1), 6, 0),
        ("identity", False, Penalty(l2=0.1), 2**3 * 6, 3 + 3),  # O(3) and shifts
        ("identity", False, Penalty(l2=0.1, penalize_bias=True), 2**3 * 6, 3),  # O(3)
        ("identity", False, Penalty(l1=0.1), 2**3 * 6, 3),  # no mixing, shifts
        ("identity", False, Penalty(l1=0.1, l2=0.1, penalize_bias=True), 2**3 * 6, 0),
    ],
)
def test_group_of_a_penalized_problem(act, skip, penalty, order, cdim):
    arch = Architecture.build(3, (3,), 1, act, skip=skip)
    grp = S.group(base_problem(arch).with_penalty(penalty))
    assert (grp.order, grp.continuous_dim) == (order, cdim)
    assert grp.exact
    assert sum(1 for _ in grp.elements()) == order


def test_group_accepts_problem_architecture_group_and_caches():
    arch = Architecture.build(3, (3,), 1, "logistic")
    prob = base_problem(arch).with_penalty(Penalty(l2=0.1, penalize_bias=True))
    grp = S.group(prob)
    assert S.group(grp) is grp
    assert S.group(prob.with_penalty(Penalty(l2=7.0, penalize_bias=True))) is grp  # flags only
    assert S.group(arch) is S.group(base_problem(arch))  # no penalty: the arch's group
    assert S.group(base_problem(arch).with_penalty(Penalty(penalize_bias=True))) is S.group(arch)
    assert grp.penalty == S.PenaltyFlags(l2=True, l1=False, penalize_bias=True)
    assert "penalized" in grp.describe()
    with pytest.raises(ValueError, match="Expected a Problem, an Architecture or a Group"):
        S.group("tanh")


def test_group_of_glm_is_trivial():
    grp = S.group(Architecture.build(3, ()))
    assert grp.order == 1 and grp.continuous_dim == 0
    assert "GLM" in grp.describe()


def test_mask_restricts_permutations_to_classes():
    arch0 = Architecture.build(2, (3, 2), 1, "tanh")
    mask = unravel(jnp.full(arch0.n_total, jnp.nan), arch0)
    W = np.full((2, 3), np.nan)
    W[0, 0] = 0.0  # frozen at 0: unit 1 is alone in its class but may still flip
    V = np.full((2, 1), np.nan)
    V[0, 0] = 0.5  # frozen at 0.5: unit 1 of layer 2 may not flip
    mask = mask._replace(
        layers=(Layer(jnp.asarray(W), mask.layers[0].b), mask.layers[1], Layer(V, mask.layers[2].b))
    )
    arch = Architecture.build(2, (3, 2), 1, "tanh", mask=mask)
    grp = S.group(arch)
    assert grp.exact
    assert grp.layers[0].classes == ((0,), (1, 2)) and grp.layers[0].class_flips == (True, True)
    assert grp.layers[0].order == 2 * (2 * 2**2)
    assert grp.layers[1].classes == ((0,), (1,)) and grp.layers[1].class_flips == (False, True)
    assert grp.order == 16 * 2
    assert "classes" in grp.notes[0] and "frozen" in grp.notes[1]
    theta = generic_theta(arch, 0)
    for g in grp.elements():
        frozen_kept(S.act_flat(g, theta, grp), theta, arch)
    swap = S.GroupElement(
        (S.LayerElement(np.array([1, 0, 2]), np.ones(3), np.ones(3)), S.identity(grp).layers[1])
    )
    with pytest.raises(ValueError, match="within their classes"):
        S.act(swap, theta, grp)


def test_proportional_frozen_weights_make_a_lower_bound():
    # tanh units 1 and 2 have outgoing weights frozen at +1 and -1: different classes, but a
    # flip of unit 2 followed by the swap keeps the mask too (reported, not counted)
    arch0 = Architecture.build(2, (3,), 1, "tanh")
    m = unravel(jnp.full(arch0.n_total, jnp.nan), arch0)
    V = np.array([[1.0], [-1.0], [np.nan]])
    arch = Architecture.build(
        2, (3,), 1, "tanh", mask=m._replace(layers=(m.layers[0], Layer(V, m.layers[1].b)))
    )
    grp = S.group(arch)
    assert grp.layers[0].classes == ((0,), (1,), (2,)) and grp.order == 2
    assert not grp.exact and "lower bound" in grp.describe()
    theta = generic_theta(arch, 0)
    net, _ = S.as_net(theta, arch)
    W, b, Vn = net.Ws[0].copy(), net.bs[0].copy(), net.Ws[1].copy()
    W[:, [0, 1]], b[[0, 1]], Vn[[0, 1]] = -W[:, [1, 0]], -b[[1, 0]], -Vn[[1, 0]]
    twin = S.from_net(S.Net((W, Vn), (b, net.bs[1]), None), arch, True)
    frozen_kept(twin, theta, arch)
    prob = base_problem(arch)
    assert prob.objective(twin) == pytest.approx(prob.objective(theta), rel=1e-12)


def test_masked_identity_layer_counts_a_lower_bound():
    arch0 = Architecture.build(3, (2,), 1, "identity")
    m = unravel(jnp.full(arch0.n_total, jnp.nan), arch0)
    W = np.full((3, 2), np.nan)
    W[0, 0] = 0.0
    arch = Architecture.build(
        3, (2,), 1, "identity", mask=m._replace(layers=(Layer(W, m.layers[0].b), m.layers[1]))
    )
    grp = S.group(arch)
    assert not grp.exact and 0 < grp.continuous_dim < 2 * 2 + 2
    T = S.symmetry_tangents(generic_theta(arch, 4), grp)
    assert T.shape == (arch.n_params, grp.continuous_dim)


def relu_frozen_output_arch() -> Architecture:
    """3 relu units, no biases, every hidden->output weight frozen at 1."""
    arch0 = Architecture.build(2, (3,), 1, "relu", bias=False)
    m = unravel(jnp.full(arch0.n_total, jnp.nan), arch0)
    m = m._replace(layers=(m.layers[0], Layer(jnp.ones((3, 1)), m.layers[1].b)))
    return Architecture.build(2, (3,), 1, "relu", bias=False, mask=m)


def test_relu_with_frozen_equal_outputs_keeps_its_permutations():
    arch = relu_frozen_output_arch()
    grp = S.group(arch)
    assert (grp.order, grp.continuous_dim, grp.exact) == (6, 0, True)
    assert not grp.layers[0].scale and grp.layers[0].flip is None
    theta = generic_theta(arch, 3)
    prob = base_problem(arch)
    for g in grp.elements():
        twin = S.act_flat(g, theta, grp)
        frozen_kept(twin, theta, arch)
        res = S.equivalent(theta, twin, grp)
        assert res.same and res.function_diff < 1e-12 and res.weight_diff < 1e-12
        assert prob.objective(twin) == pytest.approx(prob.objective(theta), rel=1e-13)
    rescale = S.GroupElement((S.LayerElement(np.arange(3), np.ones(3), np.full(3, 2.0)),))
    with pytest.raises(ValueError, match="equal to 1"):
        S.act(rescale, theta, grp)


def test_logistic_with_penalized_biases_has_no_flips():
    arch = Architecture.build(3, (4,), 1, "logistic")
    prob = base_problem(arch).with_penalty(Penalty(l2=0.05, penalize_bias=True))
    grp = S.group(prob)
    assert grp.order == math.factorial(4) and grp.layers[0].flip is None
    assert S.group(prob.with_penalty(Penalty(l2=0.05))).order == 2**4 * math.factorial(4)
    theta = generic_theta(arch, 0)
    canon, g = S.canonicalize(theta, prob)
    assert all(np.all(e.signs == 1) for e in g.layers)
    assert prob.objective(canon) == pytest.approx(prob.objective(theta), rel=1e-12)
    # the network's group (no penalty) would flip and change the penalized objective
    canon_net, g_net = S.canonicalize(theta, arch)
    assert any(np.any(e.signs < 0) for e in g_net.layers)
    assert abs(prob.objective(canon_net) - prob.objective(theta)) > 1e-6
    with pytest.raises(ValueError, match="no flips"):
        S.act(g_net, theta, prob)


def test_relu_under_l2_has_no_rescaling():
    arch = Architecture.build(3, (4,), 1, "relu")
    prob = base_problem(arch).with_penalty(Penalty(l2=0.1))
    grp = S.group(prob)
    assert not grp.layers[0].scale and grp.continuous_dim == 0
    assert "no rescaling" in grp.notes[0]
    g = S.random_element(grp, 1)
    np.testing.assert_array_equal(g.layers[0].scales, 1.0)
    theta = generic_theta(arch, 1)
    canon, _ = S.canonicalize(theta, grp)
    U = np.vstack([canon[12:16][None], canon[:12].reshape(3, 4)])
    assert not np.allclose(np.linalg.norm(U, axis=0), 1.0)  # no unit-norm scaling
    assert prob.objective(canon) == pytest.approx(prob.objective(theta), rel=1e-12)
    assert S.symmetry_tangents(theta, prob).shape == (arch.n_params, 0)
    assert S.symmetry_tangents(theta, arch).shape == (arch.n_params, 4)


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
    with pytest.raises(ValueError, match="hidden layer"):
        S.act(S.GroupElement(()), theta, tanh)
    with pytest.raises(ValueError, match="flat weight vector of 13 entries"):
        S.act(S.identity(tanh), np.ones(5), tanh)


# --- the action (no penalty: fast NumPy properties over many shapes) ------------------------


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
    assert len(S.group(arch).orbit(theta)) == 8


# --- the group of a problem: properties over activation x penalty x mask x depth x skip ------


@PROBLEM_PROPS
@given(problems())
def test_penalized_objective_and_function_are_constant_on_the_orbit(case):
    prob, theta, seed = case
    grp = S.group(prob)
    twins = [S.act_flat(S.random_element(grp, seed + k), theta, grp) for k in range(4)]
    values = prob.objectives(np.stack([theta, *twins]))
    np.testing.assert_allclose(values, values[0], rtol=1e-10, atol=0)
    X = data(prob.arch)
    eff = S.effective_np(theta, prob.arch)
    for twin in twins:
        np.testing.assert_allclose(
            eta(S.effective_np(twin, prob.arch), prob.arch, X),
            eta(eff, prob.arch, X),
            rtol=1e-10,
            atol=1e-10,
        )
        frozen_kept(twin, theta, prob.arch)


@PROBLEM_PROPS
@given(problems())
def test_canonical_form_of_a_problem(case):
    prob, theta, seed = case
    grp = S.group(prob)
    canon, g = S.canonicalize(theta, grp)
    np.testing.assert_array_equal(S.act_flat(g, theta, grp), canon)
    frozen_kept(canon, theta, prob.arch)
    again, g2 = S.canonicalize(canon, grp)  # idempotent
    np.testing.assert_array_equal(again, canon)
    assert_identity(g2)
    twins = [S.act_flat(S.random_element(grp, seed + 1 + k), theta, grp) for k in range(3)]
    for twin in twins:  # the same for every orbit member
        np.testing.assert_allclose(S.canonicalize(twin, grp)[0], canon, rtol=1e-9, atol=1e-10)
    values = prob.objectives(np.stack([theta, canon, *twins]))
    np.testing.assert_allclose(values, values[0], rtol=1e-10, atol=0)  # nothing to strip


@PROBLEM_PROPS
@given(problems())
def test_align_recovers_a_planted_element_of_a_problem(case):
    prob, theta, seed = case
    grp = S.group(prob)
    other = S.act_flat(S.random_element(grp, seed + 1), theta, grp)
    aligned, h = S.align(theta, other, grp)
    np.testing.assert_allclose(aligned, theta, atol=1e-8)
    np.testing.assert_allclose(S.act_flat(h, other, grp), aligned, rtol=1e-12, atol=1e-14)
    frozen_kept(aligned, theta, prob.arch)
    # aligning a different point moves it within its orbit only: same objective, same mask
    far = generic_theta(prob.arch, seed + 2)
    moved, _ = S.align(theta, far, grp)
    frozen_kept(moved, far, prob.arch)
    values = prob.objectives(np.stack([far, moved]))
    np.testing.assert_allclose(values, values[0], rtol=1e-10, atol=0)


@PROBLEM_PROPS
@given(problems())
def test_tangents_of_the_continuous_part(case):
    prob, theta, _ = case
    grp = S.group(prob)
    T = S.symmetry_tangents(theta, prob)
    assert T.shape[0] == prob.arch.n_params
    np.testing.assert_allclose(T.T @ T, np.eye(T.shape[1]), atol=1e-10)
    if "identity" in prob.arch.activation and prob.arch.mask is None:
        # GL(H) acts with a stabilizer when the layer is reducible (here: 3 inputs, 4 units)
        assert T.shape[1] <= grp.continuous_dim
    else:  # masked identity layers: both are ranks at generic points
        assert T.shape[1] == grp.continuous_dim
    if T.shape[1] and not prob.penalty.l1:  # the objective is flat along each tangent
        grad = prob.gradient(theta)
        np.testing.assert_allclose(T.T @ grad, 0.0, atol=1e-8 * (1 + np.abs(grad).sum()))


# --- canonical form (no penalty) -------------------------------------------------------------


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
    assert isinstance(canon, Params)
    U = np.vstack([np.asarray(canon.layers[0].b)[None], np.asarray(canon.layers[0].W)])
    norms = np.linalg.norm(U, axis=0)
    assert np.all(np.diff(norms) <= 0)  # decreasing norm
    for j in range(3):  # the largest-magnitude entry is positive
        assert U[np.argmax(np.abs(U[:, j])), j] > 0
    relu = Architecture.build(2, (3,), 1, "relu")
    c, _ = S.canonicalize(ravel(p, relu), relu)
    assert isinstance(c, np.ndarray)
    Ur = np.vstack(
        [np.asarray(unravel(c, relu).layers[0].b)[None], np.asarray(unravel(c, relu).layers[0].W)]
    )
    np.testing.assert_allclose(np.linalg.norm(Ur, axis=0), 1.0)  # relu: unit incoming norm


def test_canonical_order_stays_within_classes():
    arch = relu_frozen_output_arch()
    base = Architecture.build(2, (3,), 1, "relu", bias=False)
    W = np.array([[0.1, -3.0, 0.5], [0.2, 1.0, -0.5]])
    theta = np.asarray(ravel(Params((Layer(W, np.zeros(3)), Layer(np.ones((3, 1)), 0.0))), base))
    canon, g = S.canonicalize(theta, arch)
    assert g.layers[0].perm.tolist() == [1, 2, 0]  # by decreasing incoming norm
    np.testing.assert_array_equal(g.layers[0].scales, 1.0)  # no rescaling: outputs are frozen
    frozen_kept(canon, theta, arch)


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


def test_canonical_weights_of_a_penalized_problem_keep_objective_and_predictions():
    arch = Architecture.build(2, (3,), 1, "tanh")
    prob = base_problem(arch).with_penalty(Penalty(l2=0.1))
    grp = S.group(prob)
    assert grp.order == 2**3 * 6
    theta = generic_theta(arch, 5)
    canon, _ = grp.canonicalize(theta)
    assert prob.objective(canon) == pytest.approx(prob.objective(theta), rel=1e-12)
    np.testing.assert_allclose(
        prob.linear_predictor(canon), prob.linear_predictor(theta), atol=1e-12
    )
    for seed in range(3):
        twin = S.act_flat(S.random_element(grp, seed), theta, grp)
        assert prob.objective(twin) == pytest.approx(prob.objective(theta), rel=1e-12)
        np.testing.assert_allclose(grp.canonicalize(twin)[0], canon, atol=1e-10)


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
    np.testing.assert_array_equal(grp.canonicalize(theta)[0], S.canonicalize(theta, arch)[0])
    twin = S.act_flat(g, theta, arch)
    np.testing.assert_array_equal(grp.align(theta, twin)[0], S.align(theta, twin, arch)[0])
    assert grp.equivalent(theta, twin)
