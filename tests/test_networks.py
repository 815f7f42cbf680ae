"""Architectures, parameter layout and the forward pass (against plain NumPy)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnmle.networks import (
    Architecture,
    Layer,
    Params,
    activation_fn,
    effective,
    forward,
    init_params,
    linear_predictor,
    ravel,
    unravel,
)

NP_ACT = {
    "tanh": np.tanh,
    "logistic": lambda z: 1 / (1 + np.exp(-z)),
    "relu": lambda z: np.maximum(z, 0),
    "softplus": lambda z: np.log1p(np.exp(z)),
    "identity": lambda z: z,
}


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 4),
    st.lists(st.integers(1, 4), max_size=2),
    st.integers(1, 3),
    st.sampled_from(sorted(NP_ACT)),
    st.booleans(),
)
def test_ravel_unravel_and_forward_match_numpy(n_in, hidden, n_out, act, skip):
    arch = Architecture.build(n_in, tuple(hidden), n_out, act, skip=skip)
    theta = np.asarray(init_params(jax.random.PRNGKey(len(hidden)), arch))
    params = unravel(jnp.asarray(theta), arch)
    np.testing.assert_array_equal(np.asarray(ravel(params, arch)), theta)
    X = np.random.default_rng(0).normal(size=(5, n_in))
    h = X
    for l, layer in enumerate(params.layers):
        z = h @ np.asarray(layer.W) + np.asarray(layer.b)
        h = NP_ACT[act](z) if l < len(hidden) else z
    if skip:
        h = h + X @ np.asarray(params.skip)
    np.testing.assert_allclose(np.asarray(forward(params, jnp.asarray(X), arch)), h, rtol=1e-12)
    np.testing.assert_allclose(linear_predictor(jnp.asarray(theta), jnp.asarray(X), arch), h,
                               rtol=1e-12)  # fmt: skip
    assert arch.n_total == theta.size


def test_frozen_entries_and_names():
    mask = Params(
        (Layer(jnp.array([[jnp.nan, 1.5]]), jnp.array([jnp.nan, 0.0])),
         Layer(jnp.full((2, 1), jnp.nan), jnp.array([jnp.nan]))),
    )  # fmt: skip
    arch = Architecture.build(1, (2,), mask=mask, input_names=["age"])
    assert arch.n_params == arch.n_total - 2
    theta = jnp.arange(arch.n_total, dtype=float)
    eff = np.asarray(effective(theta, arch))
    assert eff[1] == 1.5 and eff[3] == 0.0 and eff[0] == 0.0 and eff[2] == 2.0
    assert arch.param_names() == ["age->h1", "age->h2", "bias->h1", "bias->h2", "h1->y",
                                  "h2->y", "bias->y"]  # fmt: skip
    assert arch.describe() == "1-2-1 tanh"
    no_bias = Architecture.build(2, (3,), bias=False)
    assert no_bias.n_params == 2 * 3 + 3 and not no_bias.free_mask()[no_bias.bias_mask()].any()
    assert hash(arch) == hash(Architecture.build(1, (2,), mask=mask, input_names=["x"]))


def test_init_params():
    arch = Architecture.build(4, (3,))
    u = np.asarray(init_params(jax.random.PRNGKey(0), arch, "uniform", rang=0.3))
    assert np.all(np.abs(u) <= 0.3)
    g = np.asarray(init_params(jax.random.PRNGKey(0), arch, "glorot"))
    assert np.all(g[arch.bias_mask()] == 0) and np.all(np.abs(g[:12]) <= np.sqrt(6 / 7))
    with pytest.raises(ValueError, match="Unknown init 'he'.*Fix"):
        init_params(jax.random.PRNGKey(0), arch, "he")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: Architecture.build(0, (2,)), "n_inputs must be a positive integer; got 0"),
        (lambda: Architecture.build(2, (0,)), r"hidden must be a positive integer.*Fix"),
        (lambda: Architecture.build(2, (2, 2), activation=("tanh",)), "one per hidden layer"),
        (lambda: Architecture.build(2, (2,), bias=(True,)), "one flag per layer"),
        (lambda: activation_fn("gelu"), r"Unknown activation 'gelu'.*Fix"),
    ],
)
def test_bad_architectures_are_explained(call, message):
    with pytest.raises(ValueError, match=message):
        call()
