"""Weight penalties: a :class:`Penalty` pytree and pure functions of the flat weights.

The penalized objective is ``sum_i w_i * loss_i + penalty(theta)`` with

    penalty(theta) = l2 * sum_j theta_j**2 + l1 * sum_j |theta_j|

over the *penalized* entries: every free weight, and the biases only when
``penalize_bias=True`` (R nnet's ``decay`` penalizes biases too). Neither
term is rescaled by n. Both norms are invariant under permutations and sign
flips of hidden units, so a penalty does not make a network identifiable.

:class:`Penalty` is a registered JAX pytree: ``l2`` and ``l1`` are *leaves*
(traced under ``jit``, so a new penalty value never recompiles a solver),
``penalize_bias`` is static (it changes which entries are penalized).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .networks import Architecture

__all__ = ["Penalty", "penalized_mask", "penalty_value", "smooth_penalty"]


@jax.tree_util.register_pytree_node_class
@dataclass(frozen=True)
class Penalty:
    """Penalty weights; a pytree whose leaves ``l2`` and ``l1`` are traced under jit.

    Parameters
    ----------
    l2 : float
        Weight decay: coefficient of the sum of squares.
    l1 : float
        Coefficient of the sum of absolute values (lasso).
    penalize_bias : bool
        Also penalize biases (R nnet's convention); default False.

    Examples
    --------
    >>> import jax
    >>> jax.tree_util.tree_leaves(Penalty(l2=0.5))
    [0.5, 0.0]
    """

    l2: float = 0.0
    l1: float = 0.0
    penalize_bias: bool = False

    def __post_init__(self):
        for name in ("l2", "l1"):
            v = getattr(self, name)
            if (
                not isinstance(v, int | float | np.floating | np.integer)
                or isinstance(v, bool)
                or not np.isfinite(v)
                or v < 0
            ):
                raise ValueError(
                    f"The penalty {name} must be a finite number >= 0; got {v!r}. "
                    f"Fix: pass e.g. {name}=0.01, or {name}=0 for none."
                )
        object.__setattr__(self, "l2", float(self.l2))
        object.__setattr__(self, "l1", float(self.l1))
        object.__setattr__(self, "penalize_bias", bool(self.penalize_bias))

    # -- pytree protocol: l2, l1 are children; penalize_bias is static
    def tree_flatten(self):
        return (self.l2, self.l1), self.penalize_bias

    @classmethod
    def tree_unflatten(cls, penalize_bias, children):
        out = object.__new__(cls)  # no validation: the leaves may be tracers
        object.__setattr__(out, "l2", children[0])
        object.__setattr__(out, "l1", children[1])
        object.__setattr__(out, "penalize_bias", penalize_bias)
        return out

    @property
    def active(self) -> bool:
        """Whether any coefficient is positive (concrete penalties only)."""
        return self.l2 > 0 or self.l1 > 0

    def describe(self) -> str:
        """Text for summaries, e.g. ``0.01*sum(w^2)``."""
        parts = []
        if self.l2:
            parts.append(f"{self.l2:g}*sum(w^2)")
        if self.l1:
            parts.append(f"{self.l1:g}*sum(|w|)")
        if not parts:
            return "none"
        return " + ".join(parts) + (
            " (biases included)" if self.penalize_bias else " (biases free)"
        )

    def to_dict(self) -> dict:
        """Plain-Python view."""
        return {"l2": float(self.l2), "l1": float(self.l1), "penalize_bias": self.penalize_bias}


def penalized_mask(arch: Architecture, penalty: Penalty) -> np.ndarray:
    """Flat boolean vector of the entries the penalty applies to."""
    mask = arch.free_mask()
    if not penalty.penalize_bias:
        mask = mask & ~arch.bias_mask()
    return mask


def smooth_penalty(theta: jax.Array, arch: Architecture, penalty: Penalty) -> jax.Array:
    """The differentiable (L2) part of the penalty, ``l2 * sum(theta_j^2)`` (traceable)."""
    m = jnp.asarray(penalized_mask(arch, penalty), dtype=theta.dtype)
    return penalty.l2 * jnp.sum(m * theta**2)


def penalty_value(theta: jax.Array, arch: Architecture, penalty: Penalty) -> jax.Array:
    """Full penalty ``l2 * ||theta||^2 + l1 * ||theta||_1`` over penalized entries (traceable).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from nnmle.networks import Architecture
    >>> arch = Architecture.build(1, hidden=())
    >>> float(penalty_value(jnp.array([2.0, 1.0]), arch, Penalty(l2=0.5)))
    2.0
    """
    m = jnp.asarray(penalized_mask(arch, penalty), dtype=theta.dtype)
    return penalty.l2 * jnp.sum(m * theta**2) + penalty.l1 * jnp.sum(m * jnp.abs(theta))
