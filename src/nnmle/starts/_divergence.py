"""Diverging weights: does the maximum likelihood estimate exist?

Without a penalty the MLE of a network often does not exist: with separated
classes (or a network flexible enough to interpolate), the negative
log-likelihood decreases towards its infimum as the weights go to infinity,
and an optimizer stops only because the gradient, which decays like the loss,
falls below the tolerance. :func:`check_divergence` continues the optimizer
for up to 50 iterations and records the weight norm at every iteration. The
MLE is declared not to exist when the objective keeps falling, the fitted
means reach the boundary of the parameter space (probabilities or class
probabilities within 1e-8 of 0 or 1, Poisson means below 1e-8, or a gaussian
deviance below 1e-10 of the null deviance: an exact fit, where the ML variance
is 0), and either the weight norm races away (growth above ``max(1, 10%)``,
the second half of the trace growing at least a quarter as much as the first)
or the deviance at least halves. R's ``glm`` says the same with "fitted
probabilities numerically 0 or 1 occurred".

The check computes a :class:`DivergenceCheck` (a value); it never changes a
result: the caller builds a new one with the verdict.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from ..solvers import advance, choose_solver, init_state, solution, start_key

__all__ = ["DivergenceCheck", "check_divergence", "weight_norm_trace"]

CONTINUE_ITER = 50
BOUNDARY_EPS = 1e-8
EXACT_FIT = 1e-10


@dataclass(frozen=True)
class DivergenceCheck:
    """Weight-norm trace of a fit continued past its stopping point.

    Attributes
    ----------
    norms : ndarray
        Euclidean norm of the free weights at the fit, then after each further
        iteration.
    objectives : ndarray
        The objective at the same iterates.
    n_boundary : int
        Observations whose fitted mean is numerically on the boundary at the
        last iterate (probability 0 or 1, Poisson mean 0; for gaussian: all,
        when the fit is exact).
    diverged : bool
        Whether the MLE does not exist by the rule in the module docstring.
    """

    norms: np.ndarray
    objectives: np.ndarray
    n_boundary: int
    diverged: bool

    def describe(self) -> str:
        """One sentence on the trace."""
        n0, n1 = self.norms[0], self.norms[-1]
        return (
            f"weight norm {n0:.4g} -> {n1:.4g} in {self.norms.size - 1} more iterations while "
            f"the objective fell {self.objectives[0]:.3g} -> {self.objectives[-1]:.3g}; "
            f"{self.n_boundary} fitted mean(s) numerically on the boundary"
        )

    def to_dict(self) -> dict:
        """Plain-Python view."""
        return {
            "norms": self.norms.tolist(),
            "objectives": self.objectives.tolist(),
            "n_boundary": self.n_boundary,
            "diverged": self.diverged,
        }


def weight_norm_trace(problem, theta, n_iter: int = CONTINUE_ITER, solver=None):
    """Continue the problem's solver from ``theta`` (gradient tolerance 0) for ``n_iter``
    iterations.

    Returns the free-weight norms, the objectives (the start first) and the last iterate.
    """
    solver = solver or choose_solver(problem)
    solver = dataclasses.replace(solver, tol=0.0, max_iter=n_iter + 1)
    methods, settings = solver.methods, solver.settings
    free = problem.free
    theta = np.asarray(theta, dtype=np.float64)
    state = init_state(methods, jnp.asarray(theta), problem, settings, start_key(solver, 0))
    one = jnp.asarray(1, jnp.int32)
    norms = [float(np.linalg.norm(theta[free]))]
    values = [float(solution(methods, state, problem).value)]
    last = theta
    for _ in range(n_iter):
        state = advance(methods, state, problem, settings, one)
        sol = solution(methods, state, problem)
        last = np.asarray(sol.theta)
        norms.append(float(np.linalg.norm(last[free])))
        values.append(float(sol.value))
        if bool(methods.done(state)):
            break
    return np.array(norms), np.array(values), last


def _boundary(problem, theta) -> tuple[int, float]:
    """Observations with a fitted mean numerically on the boundary, and the deviance."""
    fam = problem.family
    stats = problem.statistics(theta)
    used = problem.w > 0
    if fam.name == "gaussian":
        exact = stats["deviance"] <= EXACT_FIT * stats["null_deviance"]
        return (int(used.sum()) if exact else 0), stats["deviance"]
    mu = problem.mean(theta)
    if fam.name == "poisson":
        return int(np.sum(used & (mu[:, 0] < BOUNDARY_EPS))), stats["deviance"]
    near = np.minimum(mu, 1.0 - mu) < BOUNDARY_EPS
    return int(np.sum(used & near.any(axis=1))), stats["deviance"]


def check_divergence(problem, theta, n_iter: int = CONTINUE_ITER, solver=None) -> DivergenceCheck:
    """Decide whether the MLE exists at ``theta`` (rules in the module docstring).

    Parameters
    ----------
    problem : Problem
        Usually unpenalized (a penalty keeps the weights bounded).
    theta : array
        Where the fit stopped.
    n_iter : int
        Iterations of the continuation.
    solver : Solver, optional
        Default :func:`~nnmle.solvers.choose_solver`.

    Returns
    -------
    DivergenceCheck

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.families import get_family
    >>> from nnmle.networks import Architecture
    >>> from nnmle.problem import Problem
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]]); Y = np.array([[0.0], [0.0], [1.0], [1.0]])
    >>> p = Problem.build(X, Y, np.ones(4), get_family("bernoulli"), Architecture.build(1, ()))
    >>> check_divergence(p, np.array([20.0, 0.0])).diverged
    True
    """
    norms, values, last = weight_norm_trace(problem, theta, n_iter, solver)
    half = norms[norms.size // 2]
    growth = norms[-1] - norms[0]
    racing = growth > max(1.0, 0.1 * norms[0]) and norms[-1] - half >= 0.25 * (half - norms[0])
    dev0 = problem.statistics(theta)["deviance"]
    n_boundary, deviance = _boundary(problem, last)
    collapsing = deviance <= 0.5 * dev0
    diverged = bool(values[-1] < values[0] and n_boundary > 0 and (racing or collapsing))
    return DivergenceCheck(norms, values, n_boundary, diverged)
