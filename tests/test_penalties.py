"""Penalties: validation, the pytree contract (traced l2/l1, static penalize_bias), values."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnmle.networks import Architecture
from nnmle.penalties import Penalty, penalized_mask, penalty_value, smooth_penalty

ARCH = Architecture.build(2, hidden=(3,))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"l2": -1.0}, r"The penalty l2 must be a finite number >= 0; got -1.0.*Fix"),
        ({"l1": float("nan")}, r"The penalty l1 must be a finite number >= 0; got nan"),
        ({"l2": "0.1"}, r"l2 must be a finite number >= 0; got '0.1'"),
        ({"l1": True}, r"l1 must be a finite number >= 0; got True"),
    ],
)
def test_bad_penalties_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Penalty(**kwargs)


def test_penalty_is_a_pytree_with_traced_coefficients():
    p = Penalty(l2=0.5, l1=0.25, penalize_bias=True)
    leaves, tree = jax.tree_util.tree_flatten(p)
    assert leaves == [0.5, 0.25]
    q = jax.tree_util.tree_unflatten(tree, [1.0, 2.0])
    assert (q.l2, q.l1, q.penalize_bias) == (1.0, 2.0, True)
    theta = jnp.ones(ARCH.n_total)
    f = jax.jit(lambda th, pen: penalty_value(th, ARCH, pen))
    assert float(f(theta, p)) == pytest.approx(0.5 * 13 + 0.25 * 13)  # 13 entries, biases too
    assert float(f(theta, Penalty(l2=1.0))) == pytest.approx(9.0)  # 9 non-bias weights
    assert f._cache_size() == 2  # penalize_bias is static: two programs; values are traced


def test_values_and_masks_by_hand():
    rng = np.random.default_rng(0)
    theta = rng.normal(size=ARCH.n_total)
    free = penalized_mask(ARCH, Penalty())
    assert free.sum() == 2 * 3 + 3 * 1 and not free[ARCH.bias_mask()].any()
    assert penalized_mask(ARCH, Penalty(penalize_bias=True)).all()
    pen = Penalty(l2=0.3, l1=0.7)
    ref = 0.3 * np.sum(theta[free] ** 2) + 0.7 * np.sum(np.abs(theta[free]))
    assert float(penalty_value(jnp.asarray(theta), ARCH, pen)) == pytest.approx(ref, rel=1e-14)
    assert float(smooth_penalty(jnp.asarray(theta), ARCH, pen)) == pytest.approx(
        0.3 * np.sum(theta[free] ** 2), rel=1e-14
    )
    assert pen.describe() == "0.3*sum(w^2) + 0.7*sum(|w|) (biases free)"
    assert Penalty().describe() == "none" and not Penalty().active and pen.active
    assert pen.to_dict() == {"l2": 0.3, "l1": 0.7, "penalize_bias": False}


def test_norms_are_invariant_under_sign_flips_and_permutations():
    # the reason a penalty does not make a network identifiable
    rng = np.random.default_rng(1)
    W1, b1, W2 = rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=(3, 1))
    perm, sign = np.array([2, 0, 1]), np.array([1.0, -1.0, -1.0])
    a = np.concatenate([W1.ravel(), b1, W2.ravel(), [0.2]])
    b = np.concatenate([(W1[:, perm] * sign).ravel(), b1[perm] * sign,
                        (W2[perm] * sign[:, None]).ravel(), [0.2]])  # fmt: skip
    for pen in (Penalty(l2=1.0), Penalty(l1=1.0), Penalty(l2=1.0, penalize_bias=True)):
        va = float(penalty_value(jnp.asarray(a), ARCH, pen))
        assert va == pytest.approx(float(penalty_value(jnp.asarray(b), ARCH, pen)), rel=1e-14)
