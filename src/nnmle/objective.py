"""The penalized negative log-likelihood as a pure function of the weights.

    objective(theta) = sum_i w_i * loss(eta_i(theta), y_i) + penalty(theta)

where ``loss`` is the family's negative log-likelihood kernel (see
:mod:`nnmle.families`) and ``penalty`` is :func:`nnmle.penalties.penalty_value`.
Frozen entries of ``theta`` (mask, absent biases) are replaced by their fixed
values, so their gradient is exactly zero and an optimizer never moves them.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .families import Family
from .networks import Architecture, forward, unravel
from .penalties import Penalty, penalty_value, smooth_penalty

__all__ = ["Data", "linear_predictor", "make_objective", "negloglik", "objective"]


class Data(NamedTuple):
    """Validated arrays: inputs ``X (n, p)``, targets ``Y (n, q)``, case weights ``w (n,)``."""

    X: jax.Array
    Y: jax.Array
    w: jax.Array


def _effective(theta: jax.Array, arch: Architecture) -> jax.Array:
    if arch.mask is None and all(arch.bias):
        return theta
    free = jnp.asarray(arch.free_mask())
    return jnp.where(free, theta, jnp.asarray(arch.fixed_values(), dtype=theta.dtype))


def linear_predictor(theta: jax.Array, X: jax.Array, arch: Architecture) -> jax.Array:
    """``eta(theta)`` of shape ``(n, n_outputs)``, frozen entries at their values."""
    return forward(unravel(_effective(theta, arch), arch), X, arch)


def negloglik(theta, data: Data, family: Family, arch: Architecture) -> jax.Array:
    """Sum of case-weighted loss (the NLL kernel; see :mod:`nnmle.families`)."""
    eta = linear_predictor(theta, data.X, arch)
    return jnp.sum(data.w * family.loss_obs(eta, data.Y))


def objective(
    theta, data: Data, family: Family, arch: Architecture, penalty: Penalty, smooth=False
):
    """Penalized objective; ``smooth=True`` leaves out the L1 term (handled by a prox)."""
    pen = smooth_penalty if smooth else penalty_value
    return negloglik(theta, data, family, arch) + pen(_effective(theta, arch), arch, penalty)


def make_objective(family: Family, arch: Architecture, penalty: Penalty, data: Data):
    """Return the pure function ``f(theta) -> objective`` for fixed data.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from nnmle.families import get_family
    >>> from nnmle.networks import Architecture
    >>> arch = Architecture.build(1, hidden=())
    >>> data = Data(jnp.array([[0.0], [1.0]]), jnp.array([[0.0], [1.0]]), jnp.ones(2))
    >>> f = make_objective(get_family("gaussian"), arch, Penalty(), data)
    >>> float(f(jnp.array([1.0, 0.0])))
    0.0
    """
    return functools.partial(objective, data=data, family=family, arch=arch, penalty=penalty)
