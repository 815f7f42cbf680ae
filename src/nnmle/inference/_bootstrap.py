"""Case-resampling bootstrap: replicates refitted through the start runner, aligned to the fit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .. import symmetry
from ..estimation import as_estimate, best_start
from ..families import Family, get_family
from ..networks import Architecture
from ..penalties import Penalty
from ..problem import Problem
from ..solvers import Solver, choose_solver
from ..starts import LocalExecutor, run_starts, starting_values
from ._curvature import canonical_theta

__all__ = ["Bootstrap", "BootstrapJob", "bootstrap", "bootstrap_replicates"]

STARTS = ("random", "reference")


class BootstrapJob(NamedTuple):
    """Everything a replicate needs, as plain picklable data (sent once to every worker).

    Attributes
    ----------
    X, Y, w : ndarray
        The fit's real rows and case weights.
    family : str or Family
        A built-in family's name (its object for a custom family, local runs only).
    arch : Architecture
    penalty : Penalty
    solver : Solver
    reference : ndarray
        The canonical weights of the fit (the ``"reference"`` start).
    seed : int
    start : {"random", "reference"}
    n_restarts : int
        Random starts per replicate.
    offset : ndarray or None
        The fit's offset rows (``None``: no offset).
    """

    X: np.ndarray
    Y: np.ndarray
    w: np.ndarray
    family: str | Family
    arch: Architecture
    penalty: Penalty
    solver: Solver
    reference: np.ndarray
    seed: int
    start: str
    n_restarts: int
    offset: np.ndarray | None = None


def _job_family(family: Family) -> str | Family:
    try:
        return family.name if get_family(family.name) is family else family
    except ValueError:
        return family


def bootstrap_replicates(shared: BootstrapJob, keys) -> list[tuple[np.ndarray, str]]:
    """Fit the case-resampling replicates ``keys``: independent units of work.

    Replicate ``b`` draws ``n`` rows with replacement from
    ``numpy.random.default_rng([seed, b])``; the counts multiply the case
    weights (:meth:`~nnmle.problem.Problem.with_weights`), so every replicate
    has the data's shapes and reuses the compiled solver. It is refitted with
    :func:`nnmle.starts.run_starts` (one thread) from the reference weights
    (``start="reference"``) or from ``n_restarts`` random starts
    (``start="random"``: the whole estimation procedure), and the best start is
    kept. This is the ``fn`` of an executor's ``map(fn, keys, shared)``.

    Parameters
    ----------
    shared : BootstrapJob
    keys : sequence of int
        Replicate numbers.

    Returns
    -------
    list of (ndarray, str)
        ``(theta, status)`` per replicate, unaligned.
    """
    problem = Problem.build(
        shared.X,
        shared.Y,
        shared.w,
        get_family(shared.family),
        shared.arch,
        shared.penalty,
        offset=shared.offset,
    )
    n = problem.n_obs
    out = []
    for b in keys:
        rng = np.random.default_rng([shared.seed, int(b)])
        counts = np.bincount(rng.integers(0, n, n), minlength=n)
        replicate = problem.with_weights(shared.w * counts)
        if shared.start == "reference":
            thetas0 = np.asarray(shared.reference)[None, :]
        else:
            seed = int(rng.integers(2**31))
            thetas0 = starting_values(replicate, shared.n_restarts, seed=seed)
        starts = run_starts(replicate, thetas0, shared.solver, LocalExecutor(workers=1))
        best = best_start(starts)
        out.append((np.asarray(best.theta), best.status))
    return out


@dataclass(frozen=True, eq=False)
class Bootstrap:
    """Case-resampling bootstrap of a fit.

    Attributes
    ----------
    replicates : ndarray of shape (n_boot, n_total)
        Replicate weights, aligned to ``reference`` when ``aligned``.
    raw : ndarray of shape (n_boot, n_total)
        The same before alignment.
    reference : ndarray
        The canonical weights of the fit.
    status : tuple of str
        Each replicate's fit status.
    aligned : bool
    level : float
    ci_low, ci_high : ndarray of shape (n_total,)
        Percentile intervals of the (aligned) weights.
    solver : Solver
        The solver every replicate ran (proximal gradient under an L1 penalty).
    """

    replicates: np.ndarray = field(repr=False)
    raw: np.ndarray = field(repr=False)
    reference: np.ndarray = field(repr=False)
    status: tuple[str, ...]
    aligned: bool
    level: float
    ci_low: np.ndarray = field(repr=False)
    ci_high: np.ndarray = field(repr=False)
    solver: Solver | None = None

    @property
    def ok_replicates(self) -> np.ndarray:
        """Replicates with finite weights."""
        return self.replicates[np.all(np.isfinite(self.replicates), axis=1)]


def bootstrap(
    result,
    n_boot: int = 200,
    seed: int = 0,
    align_replicates: bool = True,
    start: str = "random",
    n_restarts: int | None = None,
    level: float = 0.95,
    max_iter: int = 5000,
    executor=None,
    on_result: Callable[[Any, Any], None] | None = None,
) -> Bootstrap:
    """Case-resampling bootstrap with every replicate aligned to the reference fit.

    A replicate refit lands anywhere in the orbit of its optimum (its hidden
    units permuted and sign-flipped: label switching), so raw replicate
    weights mix different representatives and their percentiles are
    meaningless. Each replicate is therefore aligned to the canonical weights
    of the fit (:func:`nnmle.symmetry.align`, with the group of the fit's
    problem) before the percentile intervals are computed.

    Parameters
    ----------
    result : Estimate or FitResult
    n_boot : int
        Number of replicates.
    seed : int
        Replicate ``b`` uses ``default_rng([seed, b])``.
    align_replicates : bool
        Align to the reference (turn off only to see label switching).
    start : {"random", "reference"}
        Refit from random starts (the whole procedure; default) or from the fit.
    n_restarts : int, optional
        Random starts per replicate; default: as many as the fit used.
    level : float
        Level of the percentile intervals.
    max_iter : int
        Iterations per replicate start; the tolerance is the fit's.
    executor : optional
        Where the replicates run: anything with ``map(fn, keys, shared,
        on_result)``, e.g. :class:`nnmle.starts.LocalExecutor` (threads; the
        default) or :class:`nnmle.starts.DaskExecutor`. Every replicate runs
        its starts in one thread, so the results do not depend on the executor.
    on_result : callable, optional
        ``on_result(b, (theta, status))`` as each replicate finishes.

    Returns
    -------
    Bootstrap

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 1)); y = 1 + X[:, 0] + rng.normal(size=60)
    >>> res = nnmle.fit(X, y, hidden=(), family="gaussian")
    >>> boot = bootstrap(res, n_boot=20, start="reference")
    >>> boot.replicates.shape, bool(boot.ci_low[0] < 1.0 < boot.ci_high[0])
    ((20, 2), True)
    """
    if start not in STARTS:
        raise ValueError(
            f"start must be 'random' or 'reference'; got {start!r}. Fix: start='random' "
            f"(the whole procedure) or start='reference' (refit from the fitted weights)."
        )
    if not isinstance(n_boot, int | np.integer) or isinstance(n_boot, bool) or n_boot < 2:
        raise ValueError(f"n_boot must be an integer >= 2; got {n_boot!r}. Fix: n_boot=200.")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level!r}. Fix: e.g. level=0.95.")
    est = as_estimate(result)
    problem = est.problem
    reference = canonical_theta(est)
    solver = choose_solver(problem, tol=est.tol, max_iter=max_iter)
    shared = BootstrapJob(
        X=problem.X,
        Y=problem.Y,
        w=problem.w,
        family=_job_family(problem.family),
        arch=problem.arch,
        penalty=problem.penalty,
        solver=solver,
        reference=reference,
        seed=int(seed),
        start=start,
        n_restarts=int(n_restarts or max(1, len(est.starts))),
        offset=problem.offset,
    )
    executor = executor if executor is not None else LocalExecutor()
    outs = executor.map(bootstrap_replicates, list(range(int(n_boot))), shared, on_result)
    raw = np.stack([np.asarray(th, dtype=np.float64) for th, _ in outs])
    reps = raw
    if align_replicates and problem.arch.hidden:
        G = symmetry.group(problem)
        reps = np.stack(
            [
                np.asarray(symmetry.align(reference, th, G)[0]) if np.all(np.isfinite(th)) else th
                for th in raw
            ]
        )
    ok = reps[np.all(np.isfinite(reps), axis=1)]
    if ok.shape[0]:
        lo, hi = np.quantile(ok, [0.5 - level / 2, 0.5 + level / 2], axis=0)
    else:  # every replicate failed: no interval
        lo = hi = np.full(reps.shape[1], np.nan)
    return Bootstrap(
        replicates=reps,
        raw=raw,
        reference=reference,
        status=tuple(str(s) for _, s in outs),
        aligned=bool(align_replicates),
        level=float(level),
        ci_low=lo,
        ci_high=hi,
        solver=solver,
    )
