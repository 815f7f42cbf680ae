"""What one start produces (:class:`StartResult`) and how starts are drawn."""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import numpy as np

from ..networks import Architecture, init_params
from ..solvers import STATUS, Solution

__all__ = ["StartResult", "from_solution", "starting_values"]


@dataclass(frozen=True)
class StartResult:
    """Outcome of one start of a multi-start fit.

    Attributes
    ----------
    index : int
        The start's position (start ``k`` is drawn from ``fold_in(key(seed), k)``).
    theta : ndarray
        Final weights (flat, :func:`~nnmle.networks.ravel` order).
    objective, grad_norm : float
        Penalized objective and (minimum-norm sub)gradient norm at ``theta``.
    n_iter : int
    status : str
        A name of :data:`nnmle.solvers.STATUS`.
    seconds : float
    """

    index: int
    theta: np.ndarray = field(repr=False, compare=False)
    objective: float
    grad_norm: float
    n_iter: int
    status: str
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """Plain-Python view (without the weights)."""
        return {
            "index": self.index,
            "objective": self.objective,
            "grad_norm": self.grad_norm,
            "n_iter": self.n_iter,
            "status": self.status,
        }


def from_solution(index: int, sol: Solution, seconds: float = 0.0) -> StartResult:
    """A :class:`StartResult` from a solver's :class:`~nnmle.solvers.Solution` (NumPy values)."""
    return StartResult(
        int(index),
        np.array(sol.theta, dtype=np.float64),
        float(sol.value),
        float(sol.grad_norm),
        int(sol.n_iter),
        STATUS[int(sol.status)][0],
        float(seconds),
    )


def starting_values(
    arch: Architecture, n: int, seed: int = 0, init: str = "uniform", rang: float = 0.7, first=0
) -> np.ndarray:
    """Starting vectors ``first .. first + n - 1``; start ``k`` uses ``fold_in(PRNGKey(seed), k)``,
    so it does not depend on how many starts are drawn.

    Examples
    --------
    >>> arch = Architecture.build(2, hidden=(3,))
    >>> a = starting_values(arch, 3, seed=1); b = starting_values(arch, 1, seed=1, first=2)
    >>> bool(np.array_equal(a[2], b[0]))
    True
    """
    if n == 0:
        return np.zeros((0, arch.n_total))
    base = jax.random.PRNGKey(seed)
    return np.stack(
        [
            np.asarray(init_params(jax.random.fold_in(base, k), arch, init, rang))
            for k in range(first, first + n)
        ]
    ).reshape(n, arch.n_total)
