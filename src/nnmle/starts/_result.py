"""What one start produces (:class:`StartResult`) and how starts are drawn.

Starting weights are drawn on the *standardized* scale of the data, then mapped
exactly to the data's own scale: a first-layer weight is ``u / sd(x_j)`` and its
bias is shifted by ``- sum_j mean(x_j) u_j / sd(x_j)`` (so every hidden unit
starts with a pre-activation of spread ~``rang`` whatever the inputs' units), and
the output layer starts around the intercept-only model: its bias is the null
model's linear predictor plus a draw, its weights are multiplied by ``sd(y)``
(gaussian). This is a convention about *starts* only (in the spirit of glmnet's
internal standardization): the objective, its penalty and the estimate's scale
stay those of the data as given. ``starting_values(problem.arch, ...)`` gives R
nnet's raw draws (``fit(..., init_scale="raw")``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from ..networks import Architecture, Layer, Params, effective, init_params, ravel, unravel
from ..solvers import STATUS, Solution

__all__ = ["StartResult", "StartingValues", "from_solution", "starting_values"]


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
    statistics : tuple of float or None
        :data:`nnmle.problem.STATISTICS` at ``theta``, when the solver computed them.
    """

    index: int
    theta: np.ndarray = field(repr=False, compare=False)
    objective: float
    grad_norm: float
    n_iter: int
    status: str
    seconds: float = 0.0
    statistics: tuple | None = field(default=None, repr=False, compare=False)

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
        None if sol.statistics is None else tuple(float(v) for v in np.ravel(sol.statistics)),
    )


def starting_values(
    target, n: int, seed: int = 0, init: str = "uniform", rang: float = 0.7, first=0
) -> np.ndarray:
    """Starting vectors ``first .. first + n - 1``; start ``k`` uses ``fold_in(PRNGKey(seed), k)``,
    so it does not depend on how many starts are drawn.

    Parameters
    ----------
    target : Problem or Architecture
        A problem: draws on the standardized scale of its data, mapped to the
        data's scale (module docstring). An architecture: raw draws (R nnet's).
    n, seed, init, rang, first
        How many, the seed, ``"uniform"`` (U(-rang, rang)) or ``"glorot"``, the
        uniform half-width, the first start's index.

    Examples
    --------
    >>> arch = Architecture.build(2, hidden=(3,))
    >>> a = starting_values(arch, 3, seed=1); b = starting_values(arch, 1, seed=1, first=2)
    >>> bool(np.array_equal(a[2], b[0]))
    True
    """
    arch = target if isinstance(target, Architecture) else target.arch
    if n == 0:
        return np.zeros((0, arch.n_total))
    base = jax.random.PRNGKey(seed)
    raw = np.stack(
        [
            np.asarray(init_params(jax.random.fold_in(base, k), arch, init, rang))
            for k in range(first, first + n)
        ]
    ).reshape(n, arch.n_total)
    if isinstance(target, Architecture) or target.data is None:
        return raw
    return np.stack([to_data_scale(target, th) for th in raw])


@dataclass(frozen=True)
class StartingValues:
    """``n`` starting vectors of :func:`starting_values`, drawn only when sliced.

    ``len(sv)`` is ``n`` and ``sv[a:b]`` draws starts ``a .. b - 1`` (the same
    vectors as ``starting_values(target, n, ...)[a:b]``), so
    :func:`~nnmle.starts.run_starts` with ``chunk=`` streams any number of
    starts without holding them all.

    Examples
    --------
    >>> arch = Architecture.build(2, hidden=(3,))
    >>> sv = StartingValues(arch, 10**12, seed=1)
    >>> len(sv), bool(np.array_equal(sv[2:3][0], starting_values(arch, 3, seed=1)[2]))
    (1000000000000, True)
    """

    target: object
    n: int
    seed: int = 0
    init: str = "uniform"
    rang: float = 0.7

    def __len__(self) -> int:
        return int(self.n)

    def __getitem__(self, key) -> np.ndarray:
        if not isinstance(key, slice):
            raise TypeError("StartingValues are read by slices: sv[a:b]")
        start, stop, step = key.indices(self.n)
        if step != 1:
            raise ValueError("StartingValues slices must be contiguous (step 1)")
        count = max(0, stop - start)
        return starting_values(self.target, count, self.seed, self.init, self.rang, first=start)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return np.asarray(self[0 : self.n], dtype=dtype)


def data_scale(problem) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Weighted input means and sds, the null model's linear predictor and ``sd(y)``.

    ``sd(y)`` is the gaussian residual sd of the intercept-only model (1 for the
    other families); a constant input keeps sd 1.
    """
    X, w = problem.X, problem.w
    tot = float(np.sum(w))
    m = (w @ X) / tot
    sd = np.sqrt((w @ (X - m) ** 2) / tot)
    sd = np.where(sd > 0, sd, 1.0)
    data = problem.require_data()  # the padded rows (zero weight): a new row count compiles nothing
    eta0 = np.asarray(problem.family.null_eta(data.Y, data.w), dtype=np.float64)
    sy = 1.0
    if problem.family.has_dispersion and problem.family.link == "identity":
        r2 = np.mean((problem.Y - eta0[None, : problem.Y.shape[1]]) ** 2, axis=1)
        sy = float(np.sqrt(np.sum(w * r2) / tot)) or 1.0
    return m, sd, eta0, sy


def to_data_scale(problem, theta: np.ndarray) -> np.ndarray:
    """A start drawn on the standardized scale, mapped to the data's (module docstring)."""
    arch = problem.arch
    m, sd, eta0, sy = data_scale(problem)
    p = unravel(jnp.asarray(theta), arch)
    layers = [(np.array(la.W), np.array(la.b)) for la in p.layers]
    W, b = layers[0]
    if arch.bias[0]:
        b = b - (m / sd) @ W
    layers[0] = (W / sd[:, None], b)
    V, c = layers[-1]
    layers[-1] = (V * sy, eta0 + c * sy if arch.bias[-1] else c)
    skip = p.skip
    if skip is not None:
        S = np.asarray(skip)
        skip = jnp.asarray(S * sy / sd[:, None])
        if arch.bias[-1]:
            V, c = layers[-1]
            layers[-1] = (V, c - sy * ((m / sd) @ S))
    out = Params(tuple(Layer(jnp.asarray(a), jnp.asarray(bb)) for a, bb in layers), skip)
    return np.asarray(effective(ravel(out, arch), arch))
