"""Diverging weights and exact fits: does the maximum likelihood estimate exist?

Without a penalty the MLE of a network often does not exist: with separated
classes, or saturating units that approach a step function, the negative
log-likelihood decreases towards its infimum as the weights go to infinity,
and an optimizer stops only because the gradient, which decays like the loss,
falls below the tolerance (or at its iteration limit). :func:`check_divergence`
continues the optimizer for up to 50 iterations from where the fit stopped and
records the weight norm at every iteration. The verdicts, in order:

``diverged`` (the MLE does not exist)
    the objective keeps falling and either the weight norm races away (growth
    above ``max(1, 10%)``, the second half of the trace growing at least a
    quarter as much as the first), or (families other than gaussian) fitted
    means sit on the boundary of the parameter space (probabilities within 1e-8
    of 0 or 1, Poisson means below 1e-8) while the deviance at least halves, or
    the weights are already beyond :data:`DIVERGE_AT` (on the data's scale: see
    :attr:`DivergenceCheck.limit`) with means on the boundary (the optimizer can
    no longer move them). R's ``glm`` says "fitted probabilities numerically 0
    or 1 occurred". A fit that did not converge with weights beyond the limit is
    judged divergent by :mod:`nnmle.estimation` too.
``exact_fit`` (gaussian)
    the deviance is below 1e-10 of the null deviance while the weights stay
    bounded: the fitted values equal the observations, the weights are a finite
    minimizer of the squared error, and only the likelihood (profiled over
    sigma^2 -> 0) is unbounded. Never called divergent.

The check computes a :class:`DivergenceCheck` (a value); it never changes a
result: the caller builds a new one with the verdict.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from ..solvers import choose_solver, init_state, solution, start_key, trace
from ._result import data_scale

__all__ = ["DivergenceCheck", "check_divergence", "weight_norm_trace"]

CONTINUE_ITER = 50
BOUNDARY_EPS = 1e-8
EXACT_FIT = 1e-10
#: Weights beyond this (in absolute value) with means on the boundary: diverged.
DIVERGE_AT = 1e3


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
        last iterate (probability 0 or 1, Poisson mean 0; gaussian: 0).
    diverged : bool
        Whether the MLE does not exist (module docstring).
    exact_fit : bool
        Gaussian: the fitted values equal the observations, weights bounded.
    racing : bool
        Whether the weight norm raced away along the continuation.
    max_abs_weight : float
        The largest absolute weight at the last iterate.
    limit : float
        :data:`DIVERGE_AT` on the data's scale: ``1e3 * max(1, 1 / min sd(x_j)) *
        max(1, sd(y))`` (gaussian ``sd(y)``; 1 otherwise), the size beyond which a
        weight is implausible for a finite estimate.
    """

    norms: np.ndarray
    objectives: np.ndarray
    n_boundary: int
    diverged: bool
    exact_fit: bool = False
    racing: bool = False
    max_abs_weight: float = 0.0
    limit: float = DIVERGE_AT

    @property
    def huge(self) -> bool:
        """Whether the weights are beyond :attr:`limit`."""
        return self.max_abs_weight > self.limit

    def describe(self) -> str:
        """One sentence on the trace."""
        n0, n1 = self.norms[0], self.norms[-1]
        text = (
            f"weight norm {n0:.4g} -> {n1:.4g} in {self.norms.size - 1} more iterations while "
            f"the objective went {self.objectives[0]:.3g} -> {self.objectives[-1]:.3g}"
        )
        if self.huge and not self.racing:
            text += (
                f"; the weights no longer move but are already implausibly large (max |w| "
                f"{self.max_abs_weight:.3g} > {self.limit:.3g}): saturated units"
            )
        if self.n_boundary:
            text += f"; {self.n_boundary} fitted mean(s) numerically 0 or 1 (or a count of 0)"
        if self.exact_fit:
            text += "; residual sum of squares 0: an exact fit"
        return text

    def to_dict(self) -> dict:
        """Plain-Python view."""
        return {
            "norms": self.norms.tolist(),
            "objectives": self.objectives.tolist(),
            "n_boundary": self.n_boundary,
            "diverged": self.diverged,
            "exact_fit": self.exact_fit,
            "racing": self.racing,
            "max_abs_weight": self.max_abs_weight,
        }

    @property
    def strong(self) -> bool:
        """Divergence with evidence beyond a growing norm: means on the boundary or weights
        beyond :data:`DIVERGE_AT` (what a fit stopped early by ``max_iter`` must show, since
        an unfinished optimizer may still be travelling towards a finite optimum)."""
        return self.diverged and (self.n_boundary > 0 or self.huge)


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
    norms, values, done, last = (
        np.asarray(a)
        for a in trace(methods, state, problem, settings, jnp.asarray(free), int(n_iter))
    )
    stop = int(np.argmax(done)) + 1 if done.any() else len(done)  # the iteration it finished
    norm0 = float(np.linalg.norm(theta[free]))
    value0 = float(solution(methods, state, problem).value)
    return np.r_[norm0, norms[:stop]], np.r_[value0, values[:stop]], last


def _boundary(problem, theta) -> tuple[int, float]:
    """Observations with a fitted mean numerically on the boundary, and the deviance."""
    fam = problem.family
    stats = problem.statistics(theta)
    used = problem.w > 0
    if fam.name == "gaussian":
        return 0, stats["deviance"]
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
    >>> gaussian = get_family("gaussian")
    >>> g = Problem.build(X, 2 * X + 1, np.ones(4), gaussian, Architecture.build(1, ()))
    >>> c = check_divergence(g, np.array([2.0, 1.0]))
    >>> c.diverged, c.exact_fit
    (False, True)
    """
    norms, values, last = weight_norm_trace(problem, theta, n_iter, solver)
    half = norms[norms.size // 2]
    growth = norms[-1] - norms[0]
    racing = bool(
        growth > max(1.0, 0.1 * norms[0]) and norms[-1] - half >= 0.25 * (half - norms[0])
    )
    stats0 = problem.statistics(theta)
    n_boundary, deviance = _boundary(problem, last)
    falling = bool(values[-1] < values[0])
    collapsing = deviance <= 0.5 * stats0["deviance"]
    _, sd, _, sy = data_scale(problem)
    limit = DIVERGE_AT * max(1.0, 1.0 / float(np.min(sd))) * max(1.0, sy)
    huge = float(np.max(np.abs(theta), initial=0.0)) > limit
    diverged = bool((falling and racing) or (n_boundary > 0 and ((falling and collapsing) or huge)))
    exact = bool(
        problem.family.name == "gaussian"
        and not diverged
        and stats0["deviance"] <= EXACT_FIT * stats0["null_deviance"]
    )
    biggest = float(np.max(np.abs(last), initial=0.0))
    return DivergenceCheck(norms, values, n_boundary, diverged, exact, racing, biggest, limit)
