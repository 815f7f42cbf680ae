"""One estimation: starts run on a problem, the best kept, its statistics and verdicts.

:func:`estimate` runs the starts (:func:`nnmle.starts.run_starts`), keeps the
start with the lowest objective among the finite ones, computes the fit
statistics at it, and then says what the point is (:func:`verdicts`), each
verdict a new value (``dataclasses.replace``), never a mutation:

1. **kinks** (relu): a fit the optimizer left ``stalled``/``max_iter`` on the
   kinks of a piecewise-smooth objective is ``converged`` when, after Newton
   steps along the kinks (:func:`nnmle.starts.polish_kinks`), its minimal-norm
   generalized (Clarke) gradient is at most the solver's tolerance
   (:func:`nnmle.starts.kink_stationarity`);
2. **existence** (unpenalized fits, whatever the optimizer's status): weights
   racing away give ``mle_not_exist`` (with separation named); a gaussian
   exact fit with bounded weights gives ``exact_fit``, never "divergent"
   (:func:`nnmle.starts.check_divergence`);
3. **curvature** (fits that stopped at a stationary point: ``converged`` or
   ``stalled``): a Hessian with negative eigenvalues makes it a ``saddle``
   (:func:`nnmle.starts.hessian_check`: dense up to 2,000 weights, Lanczos
   above); otherwise a network fitting no better than the intercept-only model
   is on a ``plateau`` (saturated or dead units).

Statuses 4–7 come with a ``UserWarning`` that names the fix. The outcome is an
:class:`Estimate`: frozen data holding its :class:`~nnmle.problem.Problem` (as
statsmodels' results hold ``.model``).
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
from .problem import STATISTICS, Problem
from .solvers import Solver, choose_solver, status_message
from .starts import (
    DivergenceCheck,
    HessianCheck,
    KinkCheck,
    StartResult,
    check_divergence,
    has_kinks,
    hessian_check,
    polish_kinks,
    run_starts,
)

__all__ = ["Estimate", "as_estimate", "best_start", "estimate", "verdicts"]

#: Deviance at least this fraction of the null deviance: a network on a plateau.
PLATEAU_RTOL = 1e-9


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
    hessian : HessianCheck or None
        The Hessian's index at a stationary point, when it was checked.
    kinks : KinkCheck or None
        The generalized-gradient check of a relu fit the optimizer left stalled.
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
    hessian: HessianCheck | None = field(default=None, repr=False)
    kinks: KinkCheck | None = field(default=None, repr=False)

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
    chunk: int | None = None,
    keep: int | None = None,
) -> Estimate:
    """Run the starts ``thetas0`` on ``problem`` and keep the best as an :class:`Estimate`.

    Parameters
    ----------
    problem : Problem
    thetas0 : array of shape (K, n_total)
    solver, executor, store, on_result, config, chunk, keep
        As in :func:`nnmle.starts.run_starts` (``chunk``/``keep``: streamed starts, of
        which only the ``keep`` best are held, so ``starts`` has those only).
    check : bool
        Give the verdicts of :func:`verdicts` (kinks, existence, curvature) and
        warn where they find a problem.
    stacklevel : int
        For the warnings.

    Returns
    -------
    Estimate
    """
    t0 = time.perf_counter()
    solver = solver or choose_solver(problem)
    starts = run_starts(
        problem, thetas0, solver, executor, store, on_result, config=config, chunk=chunk, keep=keep
    )
    best = best_start(starts)
    stats = (
        dict(zip(STATISTICS, best.statistics, strict=True))
        if best.statistics is not None
        else problem.statistics(best.theta)
    )
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
    return verdicts(est, stacklevel=stacklevel + 1) if check else est


def verdicts(est: Estimate, stacklevel: int = 2) -> Estimate:
    """``est`` with the verdicts of the module docstring (a new value; warns on a problem)."""
    if est.problem.data is None:
        return est
    if est.status in ("stalled", "max_iter") and has_kinks(est.arch) and est.penalty.l1 == 0:
        est = _kinks(est)
    if not est.problem.penalty.active and est.status in ("converged", "stalled", "max_iter"):
        est = _existence(est, stacklevel + 1)
    if est.status in ("converged", "stalled"):
        est = _curvature(est, stacklevel + 1)
    return est


def _warn(est: Estimate, stacklevel: int) -> None:
    warnings.warn(f"nnmle: {est.status}: {est.message}", UserWarning, stacklevel=stacklevel + 1)


def _kinks(est: Estimate) -> Estimate:
    """A relu fit stalled on kinks: stationary when its generalized gradient vanishes.

    :func:`nnmle.starts.polish_kinks` takes Newton steps along the kinks first (they
    never raise the objective; on a minimum they move it by ~1e-8); the verdict
    compares the minimal-norm generalized gradient with the solver's tolerance.
    """
    theta, check = polish_kinks(est.problem, est.theta)
    if not check.stationary(est.tol):
        return dataclasses.replace(est, kinks=check)
    stats = est.problem.statistics(theta)
    n_eff = est.n_obs if est.family.name == "binomial" else float(np.sum(est.problem.w))
    k = est.n_params
    return dataclasses.replace(
        est,
        theta=np.asarray(theta),
        objective=est.problem.objective(theta),
        grad_norm=check.generalized_grad_norm,
        status="converged",
        message=(
            f"stationary in the generalized (Clarke) sense: on {check.n_kinks} relu kink(s) "
            f"the minimal-norm generalized gradient is {check.generalized_grad_norm:.2e} <= "
            f"tol {est.tol:g} (the plain gradient, {check.grad_norm:.2e}, does not vanish on a "
            f"kink; see nnmle.starts.kink_stationarity)"
        ),
        loglik=stats["loglik"],
        deviance=stats["deviance"],
        scale=stats["scale"],
        aic=-2 * stats["loglik"] + 2 * k,
        bic=-2 * stats["loglik"] + k * math.log(n_eff),
        kinks=check,
    )


def _existence(est: Estimate, stacklevel: int) -> Estimate:
    """Weights racing away (the MLE does not exist) or an exact fit (gaussian)."""
    check = check_divergence(est.problem, est.theta)
    est = dataclasses.replace(est, divergence=check)
    # an optimizer stopped by its iteration limit may still be travelling to a finite optimum:
    # then a growing norm is not enough, the means must reach the boundary or the weights explode;
    # and a fit that did not converge with implausibly large weights has raced away already
    diverged = check.diverged if est.status != "max_iter" else check.strong
    if diverged or (est.status != "converged" and check.huge):
        fam = est.family.name
        separated = check.n_boundary and fam in ("bernoulli", "binomial", "multinomial")
        what = (
            "separation of the classes, fitted probabilities numerically 0 or 1: "
            if separated
            else ""
        )
        est = dataclasses.replace(
            est,
            status="mle_not_exist",
            message=f"{status_message('mle_not_exist')} [{what}{check.describe()}]",
        )
        _warn(est, stacklevel + 1)
    elif check.exact_fit:
        est = dataclasses.replace(
            est, status="exact_fit", message=f"{status_message('exact_fit')} [{check.describe()}]"
        )
        _warn(est, stacklevel + 1)
    elif check.n_boundary and check.max_abs_weight > check.limit / 10:
        # means on the boundary and large weights that no longer move: an extreme but finite
        # estimate, or a separation the optimizer cannot follow in float64; say what is seen
        note = (
            f"fitted probabilities numerically 0 or 1 occurred for {check.n_boundary} "
            f"observation(s) (largest weight {check.max_abs_weight:.4g}): possible "
            f"(quasi-)separation, where the MLE does not exist; a penalty (l2=..., chosen with "
            f"nnmle.path) gives a finite estimate"
        )
        est = dataclasses.replace(est, message=f"{est.message}; {note}")
        warnings.warn(f"nnmle: {note}", UserWarning, stacklevel=stacklevel + 1)
    return est


def _curvature(est: Estimate, stacklevel: int) -> Estimate:
    """A saddle (negative curvature) or a plateau (no better than the intercept-only model)."""
    problem = est.problem
    active = None
    if problem.penalty.l1 > 0:  # the L1 kinks at zero weights: judge the smooth part only
        zero = problem.penalized & (np.asarray(est.theta) == 0)
        active = ~zero[problem.free]
    check = hessian_check(problem, est.theta, est.grad_norm, active=active)
    est = dataclasses.replace(est, hessian=check)
    if check.index > 0:
        est = dataclasses.replace(
            est,
            status="saddle",
            message=f"{status_message('saddle')} [{check.index} negative eigenvalue(s), the "
            f"most negative {check.lambda_min:.4g}; largest {check.lambda_max:.4g}]",
        )
        _warn(est, stacklevel + 1)
    elif problem.arch.hidden and est.deviance >= (1.0 - PLATEAU_RTOL) * est.null_deviance:
        est = dataclasses.replace(
            est,
            status="plateau",
            message=f"{status_message('plateau')} [deviance {est.deviance:.6g}, null deviance "
            f"{est.null_deviance:.6g}]",
        )
        _warn(est, stacklevel + 1)
    return est
