"""A :class:`Solver`: which method, its static options and its traced settings;
:func:`choose_solver` decides in one place which method a problem gets."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import jax.numpy as jnp
import numpy as np

from . import adam, lbfgs, proximal
from ._base import Methods, Settings

__all__ = ["SOLVERS", "Solver", "choose_solver"]

#: Solver names a user may ask for: ``lbfgs`` means "full batch" (the proximal
#: method takes over when the problem has an L1 term), ``adam`` minibatch.
SOLVERS = ("lbfgs", "adam")


@dataclass(frozen=True)
class Solver:
    """A solver method with its options (plain data: picklable, hashable).

    Attributes
    ----------
    name : {"lbfgs", "proximal", "adam"}
    tol : float
        Stop when the (minimum-norm sub)gradient norm is at most ``tol``.
    max_iter : int
        Iterations (epochs for adam).
    memory : int
        L-BFGS history (static: it shapes the state).
    batch_size : int
        Adam minibatch size (static).
    learning_rate : float
        Adam step size (traced).
    seed : int
        Adam: seeds the minibatch shuffles (start ``k`` uses ``fold_in(key(seed), k)``).
    """

    name: str = "lbfgs"
    tol: float = 1e-6
    max_iter: int = 5000
    memory: int = lbfgs.DEFAULT_MEMORY
    batch_size: int = 256
    learning_rate: float = 1e-3
    seed: int = 0

    @property
    def methods(self) -> Methods:
        """The pure functions (the same object for the same static options)."""
        if self.name == "lbfgs":
            return lbfgs.methods(int(self.memory))
        if self.name == "proximal":
            return proximal.methods()
        if self.name == "adam":
            return adam.methods(int(self.batch_size))
        raise ValueError(
            f"Unknown solver {self.name!r}: expected 'lbfgs', 'proximal' or 'adam'. "
            f"Fix: nnmle.solvers.choose_solver(problem)."
        )

    @property
    def settings(self) -> Settings:
        """The traced settings as float64/int32 arrays."""
        return Settings(
            jnp.asarray(self.tol, jnp.float64),
            jnp.asarray(self.max_iter, jnp.int32),
            jnp.asarray(self.learning_rate, jnp.float64),
        )

    def to_dict(self) -> dict:
        """What a stored job's identity records about the solver."""
        out = asdict(self)
        if self.name != "lbfgs":
            out.pop("memory")
        if self.name != "adam":
            for k in ("batch_size", "learning_rate", "seed"):
                out.pop(k)
        return out


def choose_solver(
    problem,
    name: str | None = None,
    *,
    tol: float = 1e-6,
    max_iter: int = 5000,
    memory: int = lbfgs.DEFAULT_MEMORY,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    seed: int = 0,
) -> Solver:
    """The solver for a problem: the one place that decides.

    ``name=None`` or ``"lbfgs"`` (full batch): L-BFGS for a smooth objective,
    proximal gradient when the penalty has an L1 term (exact zeros). ``"adam"``:
    minibatch Adam, whatever the penalty.

    Examples
    --------
    >>> from nnmle.penalties import Penalty
    >>> from types import SimpleNamespace
    >>> choose_solver(SimpleNamespace(penalty=Penalty(l1=0.1))).name
    'proximal'
    """
    name = "lbfgs" if name is None else name
    if name not in SOLVERS:
        raise ValueError(
            f"Unknown solver {name!r}: expected 'lbfgs' (full batch) or 'adam' (minibatch). "
            f"Fix: solver='lbfgs'."
        )
    for label, v, lo in (("tol", tol, 0.0), ("learning_rate", learning_rate, 0.0)):
        if not isinstance(v, int | float | np.floating) or not np.isfinite(v) or v <= lo:
            raise ValueError(
                f"{label} must be a positive number; got {v!r}. Fix: e.g. {label}=1e-6."
            )
    for label, v in (("max_iter", max_iter), ("memory", memory), ("batch_size", batch_size)):
        if not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 1:
            raise ValueError(
                f"{label} must be a positive integer; got {v!r}. Fix: e.g. {label}=100."
            )
    if name == "lbfgs" and problem.penalty.l1 > 0:
        name = "proximal"
    return Solver(
        name, float(tol), int(max_iter), int(memory), int(batch_size), float(learning_rate),
        int(seed),
    )  # fmt: skip
