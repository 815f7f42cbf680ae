"""Critical points found on purpose, escapes from saddles, the linear autoencoder
(a landscape with known critical points) and how optimizers stall near saddles."""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy.optimize import minimize

from ..families import Family
from ..networks import Architecture
from ..problem import Problem, as_problem, flat_theta, objective
from ..solvers import choose_solver
from ..starts import LocalExecutor, run_starts
from ._spectrum import Spectrum, _eigh, classify, hessian_spectrum

# --- critical points and saddles ---------------------------------------------


@dataclass(frozen=True)
class CriticalPoint:
    """A point where the gradient vanishes, found on purpose (saddles included)."""

    theta: np.ndarray
    objective: float
    grad_norm: float
    n_iter: int
    converged: bool
    method: str
    tol: float
    spectrum: Spectrum | None = None

    @property
    def index(self) -> int | None:
        """Number of negative Hessian eigenvalues."""
        return None if self.spectrum is None else self.spectrum.index

    @property
    def kind(self) -> str:
        """Class of the point (see :func:`classify`)."""
        return classify(self.grad_norm, self.spectrum, grad_tol=self.tol)


def critical_point(
    theta0,
    problem,
    *,
    method: str = "newton",
    tol: float = 1e-9,
    max_iter: int = 200,
    spectrum: bool = True,
) -> CriticalPoint:
    """Find a critical point (minimum, saddle or maximum) near ``theta0``.

    ``method="newton"``: Newton on the gradient, damped as Levenberg-Marquardt
    on ``||grad||^2 / 2``: ``s = -V diag(lambda / (lambda^2 + mu)) V' g`` with
    ``H = V diag(lambda) V'``; ``mu`` shrinks after a step that lowers
    ``||grad||`` and grows otherwise. It converges to the nearby critical
    point whatever its index (dense Hessian: up to a few thousand weights).
    ``method="gradnorm"``: minimize ``||grad||^2 / 2`` by L-BFGS with exact
    ``H g`` products (any size; it may stop at a non-critical minimum of the
    gradient norm, reported as ``converged=False``).

    The search stops when the gradient norm is at most ``tol``.

    Parameters
    ----------
    theta0 : array-like, Params, or an object with ``.theta``
    problem : Problem, or anything with a ``.problem``
    method : {"newton", "gradnorm"}
    tol : float
    max_iter : int
    spectrum : bool
        Also compute the Hessian spectrum at the point found (its index and class).

    Returns
    -------
    CriticalPoint
    """
    prob = as_problem(problem)
    th = flat_theta(theta0, prob.arch).copy()
    free = prob.free
    it = 0
    if method == "newton":
        g = prob.gradient(th)
        mu = None
        for it in range(1, max_iter + 1):  # noqa: B007
            if np.linalg.norm(g) <= tol:
                break
            lam, V = _eigh(prob.hessian(th))
            mu = mu if mu is not None else 1e-8 * float(np.max(lam**2))
            gt = V.T @ g
            for _ in range(40):
                step = np.zeros_like(th)
                step[free] = -V @ (lam / (lam**2 + mu) * gt)
                g_new = prob.gradient(th + step)
                if np.linalg.norm(g_new) < np.linalg.norm(g):
                    th, g, mu = th + step, g_new, mu / 10
                    break
                mu *= 10
            else:
                break
    elif method == "gradnorm":

        def fun(x):
            full = th.copy()
            full[free] = x
            gf = prob.gradient(full)
            return 0.5 * float(gf @ gf), prob.hvp(full)(gf)

        res = minimize(
            fun,
            th[free],
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": max_iter, "gtol": 0.0, "ftol": 0.5 * tol**2 * 1e-3},
        )
        th[free] = res.x
        it = int(res.nit)
    else:
        raise ValueError(
            f"Unknown method {method!r}: expected 'newton' (damped Newton, dense Hessian) or "
            f"'gradnorm' (L-BFGS on the squared gradient norm). Fix: method='newton'."
        )
    gn = float(np.linalg.norm(prob.gradient(th)))
    spec = hessian_spectrum(th, prob) if spectrum else None
    return CriticalPoint(th, prob.objective(th), gn, it, gn <= tol, method, tol, spec)


@dataclass(frozen=True)
class Escape:
    """One escape from a saddle: a step along negative curvature, then a re-fit.

    ``theta``, ``objective``, ``grad_norm``, ``status`` and ``n_iter`` describe
    the re-fit, run by ``solver`` (the name chosen by
    :func:`nnmle.solvers.choose_solver`: ``"proximal"`` under an L1 penalty).
    """

    theta_saddle: np.ndarray
    objective_saddle: float
    eigenvalue: float
    direction: np.ndarray
    step: float
    objective_after_step: float
    theta: np.ndarray
    objective: float
    grad_norm: float
    status: str
    n_iter: int
    solver: str = "lbfgs"


def escape_saddle(
    theta,
    problem,
    *,
    step: float | None = None,
    spectrum: Spectrum | None = None,
    tol: float = 1e-6,
    max_iter: int = 5000,
) -> Escape:
    """Leave a saddle along its most negative curvature direction and re-optimize.

    With ``v`` the unit eigenvector of the smallest eigenvalue ``lambda < 0``,
    tries ``theta ± a v`` for ``a = step, step/2, ...`` (``step`` defaults to
    ``max(1, ||theta||) / 2``) and takes the first sign and length that lower
    the objective by at least a quarter of the quadratic prediction
    ``|lambda| a^2 / 2``; then re-fits from there with the problem's solver
    (:func:`nnmle.solvers.choose_solver`: L-BFGS, or proximal gradient when the
    penalty has an L1 term) through :func:`nnmle.starts.run_starts`.

    Parameters
    ----------
    theta : array-like, Params, or an object with ``.theta``
        The saddle.
    problem : Problem, or anything with a ``.problem``
    step : float, optional
        The first step length tried.
    spectrum : Spectrum, optional
        The spectrum at ``theta`` with eigenvectors (computed when absent).
    tol, max_iter
        Of the re-fit's solver.

    Returns
    -------
    Escape

    Raises
    ------
    ValueError
        When the smallest eigenvalue is not negative (not a saddle).
    """
    prob = as_problem(problem)
    th = flat_theta(theta, prob.arch)
    spec = spectrum if spectrum is not None and spectrum.eigenvectors is not None else None
    spec = spec or hessian_spectrum(th, prob, k=1)
    lam = spec.lambda_min
    if lam >= -spec.zero_tol:
        raise ValueError(
            f"The smallest Hessian eigenvalue is {lam:.3g} (zero threshold {spec.zero_tol:.2g}): "
            f"no direction of negative curvature, so this is not a saddle. "
            f"Fix: check the point's class with hessian_spectrum first."
        )
    vecs = spec.eigenvectors
    assert vecs is not None  # both branches above keep eigenvectors
    v = np.zeros(prob.arch.n_total)
    v[prob.free] = vecs[:, 0]
    f0 = prob.objective(th)
    a = step if step is not None else max(1.0, float(np.linalg.norm(th))) / 2
    for _ in range(60):
        cands = np.stack([th + a * v, th - a * v])
        vals = prob.objectives(cands)
        j = int(np.nanargmin(vals))
        if vals[j] <= f0 - 0.125 * abs(lam) * a * a:
            break
        a /= 2
    else:
        raise ValueError(
            "No step along the negative-curvature direction lowers the objective (60 halvings "
            "of the step). Fix: pass a larger step=..., or check the point with hessian_spectrum."
        )
    solver = choose_solver(prob, tol=tol, max_iter=max_iter)
    res = run_starts(prob, cands[j][None], solver, LocalExecutor(workers=1))[0]
    return Escape(
        th,
        f0,
        lam,
        v,
        float(a if j == 0 else -a),
        float(vals[j]),
        res.theta,
        res.objective,
        res.grad_norm,
        res.status,
        res.n_iter,
        solver.name,
    )


# --- a known example: the linear autoencoder ----------------------------------


def _squared_error_loss(eta, Y):
    return 0.5 * jnp.sum((Y - eta) ** 2, axis=-1)


#: Half the sum of squared errors over every output (no dispersion): the linear
#: autoencoder's loss. One module-level object, so its compilations are shared.
_SQUARED_ERROR = Family(
    "squared_error",
    "identity",
    lambda eta: eta,
    _squared_error_loss,
    lambda Y, w: jnp.asarray(0.0),
    lambda Y: jnp.zeros(Y.shape[0]),
    lambda Y, w: jnp.sum(w[:, None] * Y, axis=0) / jnp.sum(w),
)


@dataclass(frozen=True, eq=False)
class LinearAutoencoder:
    """``x -> x W1 W2`` with ``p < d`` identity hidden units, no biases, squared error.

    With ``S = X'X = U diag(lam) U'`` (``lam`` descending), every subset ``I``
    of at most ``p`` principal directions gives critical points
    ``W1 = U_I C``, ``W2 = C^-1 U_I'`` (rank ``|I|`` padded with zero units)
    with objective ``(sum(lam) - sum(lam_I)) / 2``; only the top-``p``
    subset is a minimum (Baldi and Hornik, 1989).
    """

    problem: Problem
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray

    @property
    def p(self) -> int:
        """Hidden units."""
        return self.problem.arch.hidden[0]

    def critical_value(self, subset: Sequence[int]) -> float:
        """Objective at the critical points of ``subset`` (0-based, descending order)."""
        return 0.5 * float(self.eigenvalues.sum() - self.eigenvalues[list(subset)].sum())

    def critical_values(self) -> np.ndarray:
        """Objective of every subset of at most ``p`` directions, ascending and unique."""
        d = self.eigenvalues.size
        subsets = itertools.chain.from_iterable(
            itertools.combinations(range(d), r) for r in range(self.p + 1)
        )
        return np.unique([self.critical_value(s) for s in subsets])


def linear_autoencoder(X, n_hidden: int) -> LinearAutoencoder:
    """The linear autoencoder of ``X`` (rows are reconstructed) as a landscape problem.

    Examples
    --------
    >>> import numpy as np
    >>> ae = linear_autoencoder(np.diag([3.0, 2.0, 1.0]), 1)
    >>> ae.problem.arch.describe(), ae.critical_values().tolist()
    ('3-1-3 identity', [2.5, 5.0, 6.5, 7.0])
    """
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    if not 1 <= n_hidden < d:
        raise ValueError(
            f"n_hidden must be in [1, {d - 1}] (fewer units than inputs); got {n_hidden}."
        )
    arch = Architecture.build(d, (n_hidden,), d, "identity", bias=False)
    problem = Problem.build(X, X, np.ones(X.shape[0]), _SQUARED_ERROR, arch)
    lam, U = np.linalg.eigh(X.T @ X)
    return LinearAutoencoder(problem, lam[::-1], U[:, ::-1])


# --- how optimizers stall near saddles ----------------------------------------


@dataclass(frozen=True)
class SaddleStudy:
    """Trajectories of several optimizers from the same starts, and their stalls.

    An iteration *stalls* when the gradient norm is at most ``grad_tol`` while
    the objective is more than ``saddle_gap`` above ``f_star``: the optimizer
    creeps past a critical point that is not the best one. A run *reaches*
    the optimum at the first iteration with ``f <= f_star + f_tol``.
    ``rows`` holds one summary per optimizer: runs, runs that stalled (an
    episode of at least ``min_stall`` consecutive stalled iterations), stall
    episodes, mean stalled iterations per run, runs that reached the optimum,
    mean iterations to reach it, seconds, and the known critical values the
    episodes sat at. Trajectories stop once the gradient norm is at most
    ``stop_tol`` (or L-BFGS makes no progress for 20 iterations) and are
    padded with their last value.
    """

    objectives: dict[str, np.ndarray]
    grad_norms: dict[str, np.ndarray]
    f_star: float
    f_tol: float
    saddle_gap: float
    grad_tol: float
    min_stall: int
    rows: list[dict]


def _optimizer(name: str, lr: float):
    if name == "gd":
        return optax.sgd(lr)
    if name == "adam":
        return optax.adam(lr)
    if name == "lbfgs":
        return optax.lbfgs(linesearch=optax.scale_by_zoom_linesearch(max_linesearch_steps=30))
    raise ValueError(f"Unknown optimizer {name!r}: expected 'gd', 'adam' or 'lbfgs'.")


@functools.partial(jax.jit, static_argnames=("name", "n_iter"))
def _trajectories(thetas0, lr, stop_tol, problem, name, n_iter):
    def f(th):
        return objective(th, problem)

    opt = _optimizer(name, lr)
    lbfgs = name == "lbfgs"
    vg = optax.value_and_grad_from_state(f) if lbfgs else jax.value_and_grad(f)

    def run(theta0):
        def cond(c):
            return (c[2] < n_iter) & ~c[6]

        def body(c):
            th, st, i, vals, gns, stall, _ = c
            value, grad = vg(th, state=st) if lbfgs else vg(th)
            gn = jnp.linalg.norm(grad)
            vals, gns = vals.at[i].set(value), gns.at[i].set(gn)
            upd, st = opt.update(grad, st, th, value=value, grad=grad, value_fn=f)
            prev = vals[jnp.maximum(i - 1, 0)]
            stall = jnp.where(lbfgs & (i > 0) & (value >= prev), stall + 1, 0)
            done = (gn <= stop_tol) | ~jnp.isfinite(value) | (stall >= 20)
            return optax.apply_updates(th, upd), st, i + 1, vals, gns, stall, done

        nan = jnp.full(n_iter, jnp.nan, dtype=theta0.dtype)
        init = (theta0, opt.init(theta0), 0, nan, nan, 0, False)
        _, _, i, vals, gns, _, _ = jax.lax.while_loop(cond, body, init)
        used = jnp.arange(n_iter) < i
        return jnp.where(used, vals, vals[i - 1]), jnp.where(used, gns, gns[i - 1])

    return jax.vmap(run)(thetas0)


def saddle_study(
    problem,
    thetas0,
    *,
    optimizers: Sequence[str] = ("gd", "adam", "lbfgs"),
    n_iter: int = 2000,
    learning_rates: dict | None = None,
    f_star: float | None = None,
    f_tol: float | None = None,
    saddle_gap: float | None = None,
    grad_tol: float | None = None,
    stop_tol: float = 1e-8,
    min_stall: int = 10,
    critical_values=None,
) -> SaddleStudy:
    """Run gradient descent, Adam and L-BFGS from the same starts; measure stalls near saddles.

    Parameters
    ----------
    problem : Problem
    thetas0 : ndarray (K, n_total)
        Starting weights (small ones start next to the saddle at the origin).
    optimizers : sequence of {"gd", "adam", "lbfgs"}
    n_iter : int
        Iterations per run (an L-BFGS iteration includes its line search).
    learning_rates : dict
        ``{"gd": ..., "adam": ...}``; gradient descent defaults to
        ``1 / lambda_max`` of the Hessian at the lowest L-BFGS end point, Adam to 0.01.
    f_star, f_tol : float
        The optimum (default: the lowest objective any run reached) and the
        tolerance for reaching it (default ``1e-6 * max(1, |f_star|)``).
    saddle_gap : float
        Stalls count only more than this above ``f_star`` (default
        ``1e-3 * max(1, |f_star|)``), so the slow final approach to the
        optimum is not taken for a saddle.
    grad_tol : float
        Stationary iterations: gradient norm at most this (default ``1e-3``
        times the median over runs of the largest gradient norm).
    stop_tol : float
        A run stops when its gradient norm is at most this.
    min_stall : int
        Shortest episode of consecutive stalled iterations that counts.
    critical_values : array-like, optional
        Known critical objective values; each episode is attributed to the nearest.

    Returns
    -------
    SaddleStudy
    """
    prob = as_problem(problem)
    thetas0 = jnp.asarray(np.atleast_2d(thetas0), dtype=jnp.float64)
    lrs = {"adam": 1e-2, **(learning_rates or {})}
    objs, gns, secs = {}, {}, {}
    for name in sorted(optimizers, key=lambda o: o != "lbfgs"):
        if name == "gd" and "gd" not in lrs:
            end = _trajectory_end(prob, thetas0, n_iter)
            lrs["gd"] = 1.0 / hessian_spectrum(end, prob, vectors=False).lambda_max
        t0 = time.perf_counter()
        v, g = _trajectories(thetas0, lrs.get(name, 0.0), stop_tol, prob, name, n_iter)
        objs[name], gns[name] = np.asarray(v), np.asarray(g)
        secs[name] = time.perf_counter() - t0
    fs = float(min(np.nanmin(o) for o in objs.values())) if f_star is None else float(f_star)
    ft = 1e-6 * max(1.0, abs(fs)) if f_tol is None else f_tol
    gap = 1e-3 * max(1.0, abs(fs)) if saddle_gap is None else saddle_gap
    peaks = np.concatenate([np.nanmax(g, axis=1) for g in gns.values()])
    gt = grad_tol if grad_tol is not None else 1e-3 * float(np.median(peaks))
    cv = None if critical_values is None else np.asarray(critical_values, dtype=float)
    rows = [
        _stall_row(name, objs[name], gns[name], fs, ft, gap, gt, min_stall, cv)
        | {"learning_rate": lrs.get(name), "seconds": secs[name]}
        for name in optimizers
    ]
    return SaddleStudy(objs, gns, fs, ft, gap, gt, min_stall, rows)


def _stall_row(name, o, g, fs, ft, gap, gt, min_stall, cv) -> dict:
    stalled = (g <= gt) & (o > fs + gap)
    episodes, visited = [], set()
    for r in range(o.shape[0]):
        for ok, grp in itertools.groupby(enumerate(stalled[r]), key=lambda e: e[1]):
            its = [i for i, _ in grp]
            if ok and len(its) >= min_stall:
                episodes.append((r, len(its)))
                if cv is not None:
                    visited.add(float(cv[np.argmin(np.abs(cv - o[r, its[0]]))]))
    reached = o <= fs + ft
    first = [int(np.argmax(rr)) for rr in reached if rr.any()]
    return {
        "optimizer": name,
        "runs": int(o.shape[0]),
        "runs_stalled": len({r for r, _ in episodes}),
        "stall_episodes": len(episodes),
        "mean_stalled_iters": float(sum(n for _, n in episodes) / o.shape[0]),
        "runs_reached": len(first),
        "mean_iters_to_reach": float(np.mean(first)) if first else None,
        "critical_values_visited": sorted(visited),
    }


def _trajectory_end(prob: Problem, thetas0, n_iter: int) -> np.ndarray:
    """The end point with the lowest objective of the problem's solver from ``thetas0``."""
    solver = choose_solver(prob, tol=1e-10, max_iter=n_iter)
    res = run_starts(prob, np.asarray(thetas0), solver, LocalExecutor(workers=1))
    return min(res, key=lambda r: r.objective).theta
