"""One estimation: starts run on a problem, the best kept, its statistics and verdict.

:func:`estimate` runs the starts (:func:`nnmle.starts.run_starts`), keeps the
start with the lowest objective among the finite ones, computes the fit
statistics at it and, for an unpenalized fit that stopped at the tolerance,
whether the maximum likelihood estimate exists
(:func:`nnmle.starts.check_divergence`). The outcome is an :class:`Estimate`:
frozen data holding its :class:`~nnmle.problem.Problem` (as statsmodels'
results hold ``.model``). A later verdict is a new value
(``dataclasses.replace``), never a mutation.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np

from .networks import Params, unravel
from .problem import Problem
from .solvers import Solver, choose_solver, status_message
from .starts import DivergenceCheck, StartResult, check_divergence, run_starts

__all__ = ["Estimate", "as_estimate", "best_start", "estimate"]


@dataclass(frozen=True)
class Estimate:
    """A fitted network as data: the best start, its statistics, every start, its problem.

    Attributes
    ----------
    problem : Problem
    theta : ndarray
        Weights of the best start (flat, :func:`~nnmle.networks.ravel` order).
    objective : float
        Penalized objective: sum of case-weighted NLL + penalty.
    grad_norm, n_iter, status, message
        Convergence of the best start (``status`` a name of :data:`nnmle.solvers.STATUS`).
    starts : tuple of StartResult
        Every start, in seed order.
    solver : Solver
    loglik, deviance, null_deviance, scale : float
        At ``theta``; ``scale`` is σ̂² (maximum likelihood) for the gaussian family, else 1.
    aic, bic : float
        ``-2 loglik + 2 k`` and ``-2 loglik + k log n`` with ``k`` the free weights
        (the gaussian σ² is not counted, as in statsmodels' GLM) and ``n`` the sum
        of the case weights (the rows for the binomial family).
    seconds : float
    divergence : DivergenceCheck or None
        The weight-norm trace of an unpenalized fit, when it was checked.
    """

    problem: Problem = field(repr=False)
    theta: np.ndarray = field(repr=False, compare=False)
    objective: float
    grad_norm: float
    n_iter: int
    status: str
    message: str
    starts: tuple[StartResult, ...] = field(repr=False)
    solver: Solver
    loglik: float
    deviance: float
    null_deviance: float
    scale: float
    aic: float
    bic: float
    seconds: float = 0.0
    divergence: DivergenceCheck | None = field(default=None, repr=False)

    @property
    def family(self):
        """The likelihood family."""
        return self.problem.family

    @property
    def arch(self):
        """The architecture."""
        return self.problem.arch

    @property
    def penalty(self):
        """The penalty."""
        return self.problem.penalty

    @property
    def tol(self) -> float:
        """The solver's gradient tolerance."""
        return self.solver.tol

    @property
    def n_obs(self) -> int:
        """Number of observations (rows)."""
        return int(self.problem.n_obs)

    @property
    def n_params(self) -> int:
        """Free weights ``k`` (the gaussian σ² is not counted, as in statsmodels' GLM)."""
        return self.problem.n_params

    @property
    def params(self) -> Params:
        """The weights as a :class:`~nnmle.networks.Params` pytree."""
        return unravel(jnp.asarray(self.theta), self.problem.arch)

    @property
    def converged(self) -> bool:
        """Whether the best start reached the gradient tolerance."""
        return self.status == "converged"


def as_estimate(obj) -> Estimate:
    """The :class:`Estimate` of ``obj`` (an Estimate, or a result with ``.estimate``).

    Raises
    ------
    ValueError
        When ``obj`` is neither.
    """
    if isinstance(obj, Estimate):
        return obj
    est = getattr(obj, "estimate", None)
    if isinstance(est, Estimate):
        return est
    raise ValueError(
        f"Expected a fitted result (nnmle.fit(...)); got {type(obj).__name__}. "
        f"Fix: pass the result of nnmle.fit."
    )


def best_start(starts) -> StartResult:
    """The start with the lowest objective among the finite ones (any start if none is)."""
    finite = [r for r in starts if np.isfinite(r.objective)]
    return min(finite or list(starts), key=lambda r: (r.status == "non_finite", r.objective))


def estimate(
    problem: Problem,
    thetas0,
    solver: Solver | None = None,
    executor=None,
    store=None,
    on_result: Callable[[StartResult], None] | None = None,
    *,
    config: Mapping | None = None,
    check: bool = True,
    stacklevel: int = 2,
) -> Estimate:
    """Run the starts ``thetas0`` on ``problem`` and keep the best as an :class:`Estimate`.

    Parameters
    ----------
    problem : Problem
    thetas0 : array of shape (K, n_total)
    solver, executor, store, on_result, config
        As in :func:`nnmle.starts.run_starts`.
    check : bool
        Check whether the MLE exists (unpenalized fits that converged or stalled)
        and warn when it does not.
    stacklevel : int
        For the warnings.

    Returns
    -------
    Estimate
    """
    t0 = time.perf_counter()
    solver = solver or choose_solver(problem)
    starts = run_starts(problem, thetas0, solver, executor, store, on_result, config=config)
    best = best_start(starts)
    stats = problem.statistics(best.theta)
    k, n = problem.n_params, int(problem.n_obs)
    n_eff = float(n) if problem.family.name == "binomial" else float(np.sum(problem.w))
    if k > n:
        warnings.warn(
            f"The network has {k} parameters for {n} observations: more parameters than "
            f"observations, so the MLE is not unique even up to symmetry and the fit can "
            f"interpolate. Fix: fewer hidden units, or a penalty (l2=...).",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
    est = Estimate(
        problem=problem,
        theta=np.asarray(best.theta),
        objective=best.objective,
        grad_norm=best.grad_norm,
        n_iter=best.n_iter,
        status=best.status,
        message=status_message(best.status),
        starts=tuple(starts),
        solver=solver,
        loglik=stats["loglik"],
        deviance=stats["deviance"],
        null_deviance=stats["null_deviance"],
        scale=stats["scale"],
        aic=-2 * stats["loglik"] + 2 * k,
        bic=-2 * stats["loglik"] + k * math.log(n_eff),
        seconds=time.perf_counter() - t0,
    )
    if check and solver.name == "lbfgs" and not problem.penalty.active:
        est = with_divergence_verdict(est, stacklevel=stacklevel + 1)
    return est


def with_divergence_verdict(est: Estimate, stacklevel: int = 2) -> Estimate:
    """``est`` with the divergence check's verdict (a new value; warns when the MLE does not
    exist). Applies to fits that converged or stalled; others are returned as they are."""
    if est.status not in ("converged", "stalled") or est.problem.data is None:
        return est
    check = check_divergence(est.problem, est.theta, solver=est.solver)
    est = dataclasses.replace(est, divergence=check)
    if not check.diverged:
        return est
    warnings.warn(
        f"nnmle: fitted probabilities numerically 0 or 1 occurred ({check.describe()}): "
        f"the maximum likelihood estimate does not exist (separated classes or an "
        f"interpolating network), and the reported weights are only where the optimizer "
        f"stopped. Fix: add a penalty, e.g. nnmle.fit(..., l2=0.01), and choose it with "
        f"nnmle.path(X, y, l2=[...], cv=5).",
        UserWarning,
        stacklevel=stacklevel + 1,
    )
    return dataclasses.replace(
        est,
        status="mle_not_exist",
        message=f"{status_message('mle_not_exist')} [{check.describe()}]",
    )
