"""Multi-start campaigns: many fits, deduplicated modulo symmetry, each solution classified.

:func:`analyze_starts` takes the finished starts of a problem (``nnmle.multistart``
runs them), puts every start's final weights in canonical form under the
problem's group (:func:`nnmle.symmetry.canonicalize` with
:func:`nnmle.symmetry.group`, which keeps the penalized objective) and groups
the starts into distinct solutions. Two starts reach the same solution when

1. their objectives agree: ``|f_a - f_b| <= obj_rtol * max(1, |f_a|)``, and
2. their weights agree modulo the symmetry group: the canonical forms, or
   ``b`` aligned to ``a`` (:func:`nnmle.symmetry.align`), are within
   ``param_rtol * max(1, max|theta_a|)`` entrywise; or else
3. (flat valleys) their fitted linear predictors agree within
   ``param_rtol * max(1, max|eta_a|)`` and the objective is flat along the
   segment between them (loss barrier at most the objective tolerance): one
   connected set of minimizers, as in a rank-deficient GLM.

Twins (points related by a group element) merge; two different solutions
with equal objective stay distinct. Each distinct solution is then classified
by the exact Hessian at its representative (the start with the smallest
gradient norm): see :mod:`nnmle.landscape` for the classes and thresholds.
Diverged starts (non-finite, weights beyond ``diverge_at``, or an MLE that
does not exist: :func:`nnmle.starts.check_divergence`) share one row.

Rendering (tables, plots) lives in :mod:`nnmle.report`.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import symmetry
from .estimation import Estimate, estimate
from .landscape import (
    Barrier,
    FlatDirection,
    NonConvexityCertificate,
    Spectrum,
    classify,
    flat_directions,
    hessian_spectrum,
    loss_barrier,
    nonconvexity_certificate,
)
from .problem import Problem
from .starts import StartResult, check_divergence, has_kinks, polish_kinks, positive_definite

__all__ = ["Campaign", "Solution", "analyze_starts", "landscape_report", "run_campaign"]


#: Order of the solutions table: minima (exact fits included) by objective, then saddles, then
#: points that did not converge, then diverged starts; ``best`` is the first row.
_CLASS_RANK = {"strict_min": 0, "degenerate_min": 0, "saddle": 1, "not_converged": 2, "diverged": 3}


@dataclass
class Solution:
    """One distinct solution of a campaign (a row of the solutions table).

    Attributes
    ----------
    id : int
        1 for the best, then by class (minima, saddles, not converged,
        diverged) and objective.
    objective, loglik : float
        Penalized objective and log-likelihood at the representative.
    starts : list of int
        Indices of the starts that reached it.
    grad_norm : float
        Gradient norm at the representative (the start closest to stationary); for
        relu networks stalled on kinks, the minimal-norm generalized gradient after
        Newton steps along the kinks (:func:`nnmle.starts.polish_kinks`).
    index, nullity, nullity_symmetry : int or None
        Negative and near-zero Hessian eigenvalues (``None`` when not computed).
    kind : str
        ``strict_min``, ``degenerate_min``, ``saddle``, ``not_converged`` or ``diverged``.
    theta : ndarray
        Canonical weights of the representative.
    spectrum : Spectrum or None
        The Hessian's eigenvalues. A strict minimum certified by Cholesky
        (:func:`~nnmle.starts.positive_definite`) has none until
        :meth:`Campaign.spectrum` computes them.
    flat : list of FlatDirection
        Named near-zero directions not explained by continuous symmetries.
    best : bool
    lambda_max : float or None
        Largest Hessian eigenvalue in magnitude (power iteration when certified by Cholesky).
    n_kinks : int or None
        Relu kinks of a solution found stationary in the generalized sense.
    """

    id: int
    objective: float
    loglik: float
    starts: list[int]
    grad_norm: float
    index: int | None
    nullity: int | None
    nullity_symmetry: int | None
    kind: str
    theta: np.ndarray = field(repr=False)
    spectrum: Spectrum | None = field(default=None, repr=False)
    flat: list[FlatDirection] = field(default_factory=list, repr=False)
    best: bool = False
    lambda_max: float | None = None
    n_kinks: int | None = None

    @property
    def count(self) -> int:
        """Number of starts that reached this solution."""
        return len(self.starts)

    def to_dict(self) -> dict:
        """Plain data (without weights and eigenvectors)."""
        s = self.spectrum
        return {
            "id": self.id,
            "objective": self.objective,
            "loglik": self.loglik,
            "count": self.count,
            "starts": list(self.starts),
            "grad_norm": self.grad_norm,
            "index": self.index,
            "nullity": self.nullity,
            "nullity_symmetry": self.nullity_symmetry,
            "class": self.kind,
            "best": self.best,
            "lambda_min": None if s is None else s.lambda_min,
            "lambda_max": self.lambda_max if s is None else s.lambda_max,
            "flat_directions": [d.text for d in self.flat],
            "n_kinks": self.n_kinks,
        }


@dataclass
class Campaign:
    """The outcome of a multi-start campaign (plain data; see the module docstring).

    Attributes
    ----------
    problem : Problem
        Data, family, architecture and penalty.
    starts : list of StartResult
        Every start, in seed order, with its final weights in canonical form.
    labels : ndarray of int
        Solution id of each start.
    solutions : list of Solution
        Distinct solutions, best first.
    group_order : int
        Order of the finite symmetry group of the problem (penalty and mask included).
    group_description : str
    tolerances : dict
        The dedup and classification tolerances used.
    timings : dict
        Seconds spent fitting, canonicalizing, deduplicating, in Hessians.
    estimate : Estimate or None
        The underlying fit (best start), when the campaign ran the fits.
    result : object or None
        The user-facing fit (``nnmle.multistart`` puts its ``FitResult`` here).
    """

    problem: Problem
    starts: list[StartResult]
    labels: np.ndarray
    solutions: list[Solution]
    group_order: int
    group_description: str
    tolerances: dict
    timings: dict
    estimate: Estimate | None = field(default=None, repr=False)
    result: Any = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def best(self) -> Solution:
        """The minimum with the lowest objective (exact fits included); when no start reached a
        minimum, the lowest saddle, then the lowest non-converged point; diverged last."""
        return self.solutions[0]

    @property
    def n_starts(self) -> int:
        """Number of starts."""
        return len(self.starts)

    def pair(self) -> tuple[Solution, Solution] | None:
        """The two best distinct solutions (stationary points first), or ``None``."""
        stat = [s for s in self.solutions if _CLASS_RANK[s.kind] <= 1]
        pool = stat if len(stat) >= 2 else [s for s in self.solutions if s.kind != "diverged"]
        return (pool[0], pool[1]) if len(pool) >= 2 else None

    def barrier(self, steps: int = 25) -> Barrier | None:
        """:func:`~nnmle.landscape.loss_barrier` between the two best distinct solutions."""
        pair = self.pair()
        if pair is None:
            return None
        key = ("barrier", steps)
        if key not in self._cache:
            self._cache[key] = loss_barrier(pair[0].theta, pair[1].theta, self.problem, steps)
        return self._cache[key]

    def spectrum(self, solution: Solution) -> Spectrum:
        """The Hessian eigenvalues of a solution (computed once, then kept by the campaign)."""
        if solution.spectrum is not None:
            return solution.spectrum
        key = ("spectrum", solution.id)
        if key not in self._cache:
            self._cache[key] = hessian_spectrum(
                solution.theta,
                self.problem,
                rtol=self.tolerances["eig_rtol"],
                dense_max=self.tolerances["dense_max"],
                vectors=False,
            )
        return self._cache[key]

    def certificate(self) -> NonConvexityCertificate | None:
        """:func:`~nnmle.landscape.nonconvexity_certificate` at the best solution."""
        key = ("certificate",)
        if key not in self._cache:
            self._cache[key] = nonconvexity_certificate(self.best.theta, self.problem)
        return self._cache[key]

    def to_dict(self) -> dict:
        """Everything as plain Python (the JSON of ``nnmle landscape --json``)."""
        return landscape_report(self)


# --- the campaign -----------------------------------------------------------------------------


def run_campaign(
    problem: Problem,
    thetas0,
    solver=None,
    executor=None,
    store=None,
    on_result=None,
    *,
    config=None,
    workers: int | None = None,
    **analysis,
) -> Campaign:
    """Run the starts ``thetas0`` (:func:`nnmle.estimation.estimate`) and analyze them.

    Parameters
    ----------
    problem : Problem
    thetas0 : array of shape (K, n_total)
    solver, executor, store, on_result, config
        As in :func:`nnmle.starts.run_starts`.
    workers : int, optional
        Threads for the per-solution Hessians.
    **analysis
        Options of :func:`analyze_starts` (``tol`` defaults to the solver's).

    Returns
    -------
    Campaign
    """
    cpu0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # per-start divergence is reported per row
        est = estimate(problem, thetas0, solver, executor, store, on_result, config=config)
    analysis.setdefault("tol", est.solver.tol)
    return analyze_starts(
        list(est.starts), problem, estimate=est, workers=workers, fit_seconds=est.seconds,
        fit_cpu_seconds=time.process_time() - cpu0, **analysis,
    )  # fmt: skip


# --- the analysis ---------------------------------------------------------------------------


def analyze_starts(
    starts: list[StartResult],
    problem: Problem,
    *,
    estimate: Estimate | None = None,
    tol: float = 1e-6,
    grad_tol: float | None = None,
    obj_rtol: float = 1e-6,
    param_rtol: float = 1e-3,
    eig_rtol: float = 1e-6,
    dense_max: int = 5000,
    diverge_at: float = 1e3,
    hessian: bool = True,
    workers: int | None = None,
    fit_seconds: float = 0.0,
    fit_cpu_seconds: float | None = None,
) -> Campaign:
    """Canonicalize, deduplicate and classify finished starts (the analysis of a campaign).

    Parameters
    ----------
    starts : list of StartResult
        Finished starts (any order; ``index`` identifies them).
    problem : Problem
    estimate : Estimate, optional
        The fit the starts come from (kept on the campaign).
    tol : float
        The fit's gradient tolerance; ``grad_tol`` defaults to ``10 * tol``.
    grad_tol : float
        A start is stationary when its gradient norm is at most this.
    obj_rtol, param_rtol : float
        Dedup tolerances (module docstring).
    eig_rtol : float
        Zero threshold of Hessian eigenvalues, relative to the largest in magnitude.
    dense_max : int
        Dense Hessian up to this many free weights, Lanczos extremes above.
    diverge_at : float
        Largest absolute weight beyond which a start counts as diverged.
    hessian : bool
        Compute the Hessian of every distinct solution (needed for the classes).
    workers : int or None
        Threads for the per-solution Hessians (default: the number of cores).
    fit_seconds, fit_cpu_seconds : float
        Wall and process CPU time the fits took (recorded in ``timings``).

    Returns
    -------
    Campaign
    """
    grad_tol = 10 * tol if grad_tol is None else grad_tol
    G = symmetry.group(problem)
    timings = {"fit": fit_seconds}
    if fit_cpu_seconds is not None:
        timings["cpu_fit"] = fit_cpu_seconds
    clock = _Clock(timings)
    starts = sorted(starts, key=lambda r: r.index)
    canon = [dataclasses.replace(r, theta=_canonical(r.theta, G)) for r in starts]
    clock.lap("canonicalize")

    thetas = np.stack([r.theta for r in canon])
    finite = np.array(
        [np.isfinite(r.objective) and np.all(np.isfinite(r.theta)) for r in canon], dtype=bool
    )
    eta = np.full((len(canon), int(problem.n_obs), problem.arch.n_outputs), np.nan)
    if finite.any():
        eta[finite] = problem.linear_predictors(thetas[finite])
    diverged = [
        (not finite[i]) or r.status in ("non_finite", "mle_not_exist")
        or float(np.max(np.abs(r.theta))) > diverge_at
        for i, r in enumerate(canon)
    ]  # fmt: skip
    groups = _group(canon, eta, diverged, problem, G, obj_rtol, param_rtol)
    clock.lap("dedup")

    # representative of each solution: the start closest to stationary
    reps = [min(m, key=lambda i: (canon[i].grad_norm, canon[i].objective)) for m in groups]
    lls = problem.logliks(thetas[reps]) if reps else np.zeros(0)
    check = estimate is not None and not problem.penalty.active

    def one(j):
        return _solution(
            groups[j], reps[j], float(lls[j]), canon, problem, check, hessian, grad_tol,
            eig_rtol, dense_max, diverge_at,
        )  # fmt: skip

    n_workers = max(1, min(len(groups), workers if workers is not None else os.cpu_count() or 1))
    with warnings.catch_warnings():  # divergence is reported per row, not warned
        warnings.simplefilter("ignore", UserWarning)
        if n_workers == 1:
            sols = [one(j) for j in range(len(groups))]
        else:  # JAX and LAPACK release the GIL: one solution per core at a time
            with ThreadPoolExecutor(n_workers) as pool:
                sols = list(pool.map(one, range(len(groups))))
    # starts found to diverge (here or by the Hessian-time check) share one row
    gone = [i for i, d in enumerate(diverged) if d]
    gone += [i for s, m in zip(sols, groups, strict=True) if s.kind == "diverged" for i in m]
    sols = [s for s in sols if s.kind != "diverged"]
    if gone:
        sols.append(_diverged_row(sorted(gone), canon, problem))
    clock.lap("hessian")

    sols.sort(
        key=lambda s: (_CLASS_RANK[s.kind], s.objective if np.isfinite(s.objective) else np.inf)
    )
    sols = [dataclasses.replace(s, id=k, best=k == 1) for k, s in enumerate(sols, start=1)]
    labels = np.zeros(len(canon), dtype=int)
    pos = {r.index: i for i, r in enumerate(canon)}
    for s in sols:
        for i in s.starts:
            labels[pos[i]] = s.id
    tolerances = {
        "grad_tol": grad_tol,
        "obj_rtol": obj_rtol,
        "param_rtol": param_rtol,
        "eig_rtol": eig_rtol,
        "diverge_at": diverge_at,
        "dense_max": dense_max,
    }
    return Campaign(
        problem, canon, labels, sols, int(G.order), G.describe(), tolerances, timings, estimate
    )


class _Clock:
    """Wall (``name``) and process CPU (``cpu_name``) seconds of successive phases."""

    def __init__(self, timings: dict):
        self.timings = timings
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.timings[name], self.timings[f"cpu_{name}"] = wall - self.wall, cpu - self.cpu
        self.wall, self.cpu = wall, cpu


def _canonical(theta: np.ndarray, G) -> np.ndarray:
    theta = np.asarray(theta, dtype=np.float64)
    if not G.layers or not np.all(np.isfinite(theta)):
        return theta
    return np.asarray(symmetry.canonicalize(theta, G)[0])


def _close(a: np.ndarray, b: np.ndarray, rtol: float) -> bool:
    return float(np.max(np.abs(a - b), initial=0.0)) <= rtol * max(
        1.0, float(np.max(np.abs(a), initial=0.0))
    )


def _group(canon, eta, diverged, problem, G, obj_rtol, param_rtol) -> list[list[int]]:
    """Positions of starts per distinct solution (diverged starts left out)."""
    order = sorted((i for i, d in enumerate(diverged) if not d), key=lambda i: canon[i].objective)
    reps: list[int] = []
    members: list[list[int]] = []
    for i in order:
        th, f = canon[i].theta, canon[i].objective
        ftol = obj_rtol * max(1.0, abs(f))
        for s in sorted(
            (s for s, r in enumerate(reps) if abs(canon[r].objective - f) <= ftol),
            key=lambda s: abs(canon[reps[s]].objective - f),
        ):
            ref = canon[reps[s]].theta
            if _close(ref, th, param_rtol) or (
                G.layers and _close(ref, np.asarray(symmetry.align(ref, th, G)[0]), param_rtol)
            ):
                members[s].append(i)
                break
        else:
            reps.append(i)
            members.append([i])
    # flat valleys: same function, equal objective, no barrier between them
    parent = list(range(len(reps)))

    def root(s):
        while parent[s] != s:
            s = parent[s]
        return s

    for a in range(len(reps)):
        for b in range(a + 1, len(reps)):
            ra, rb = canon[reps[a]], canon[reps[b]]
            ftol = obj_rtol * max(1.0, abs(ra.objective))
            if root(a) == root(b) or abs(ra.objective - rb.objective) > ftol:
                continue
            if not _close(eta[reps[a]], eta[reps[b]], param_rtol):
                continue
            bar = loss_barrier(ra.theta, rb.theta, problem, steps=9, align=bool(G.layers))
            height = bar.barrier_raw if bar.barrier_aligned is None else bar.barrier_aligned
            if height <= ftol:
                parent[root(b)] = root(a)
    merged: dict[int, list[int]] = {}
    for s, m in enumerate(members):
        merged.setdefault(root(s), []).extend(m)
    return list(merged.values())


def _solution(
    members, rep, ll, canon, problem, check, hessian, grad_tol, eig_rtol, dense_max, diverge_at
) -> Solution:
    r = canon[rep]
    n_kinks = None
    if r.grad_norm > grad_tol and has_kinks(problem.arch) and problem.penalty.l1 == 0:
        # relu: stationary on its kinks? (the generalized gradient, after Newton steps along them)
        theta, kc = polish_kinks(problem, r.theta)
        if kc.stationary(grad_tol):
            r = dataclasses.replace(
                r,
                theta=theta,
                objective=problem.objective(theta),
                grad_norm=kc.generalized_grad_norm,
            )
            n_kinks = kc.n_kinks
    spec, flat, lam_max = None, [], None
    index = nullity = n_sym = None
    kind = classify(r.grad_norm, None, grad_tol=grad_tol)
    big = float(np.max(np.abs(r.theta)))
    if hessian and problem.arch.n_params <= dense_max and r.grad_norm <= grad_tol:
        # the common case, a strict minimum, is certified by a Cholesky factorization
        ok, lam_max = positive_definite(problem.hessian(r.theta), eig_rtol)
        if ok:
            index, nullity, n_sym = 0, 0, 0
            kind = "diverged" if big > diverge_at else "strict_min"  # as classify would say
    if hessian and index is None:
        spec = hessian_spectrum(
            r.theta, problem, rtol=eig_rtol, dense_max=dense_max, vectors="auto"
        )
        index, nullity, n_sym, lam_max = (
            spec.index, spec.nullity, spec.nullity_symmetry, spec.lambda_max
        )  # fmt: skip
        kind = classify(
            r.grad_norm, spec, grad_tol=grad_tol, max_abs_weight=big, diverge_at=diverge_at
        )
        if spec.nullity_other and spec.eigenvectors is not None:
            flat = flat_directions(spec, problem, r.theta)
        spec = dataclasses.replace(spec, eigenvectors=None)  # keep campaigns light
    if check and kind in ("strict_min", "degenerate_min"):
        if check_divergence(problem, r.theta).diverged:
            kind = "diverged"
    return Solution(
        0,
        r.objective,
        ll,
        sorted(canon[i].index for i in members),
        r.grad_norm,
        index,
        nullity,
        n_sym,
        kind,
        r.theta,
        spec,
        flat,
        lambda_max=lam_max,
        n_kinks=n_kinks,
    )


def _diverged_row(idx, canon, problem) -> Solution:
    objs = [canon[i].objective for i in idx]
    k = idx[int(np.nanargmin(objs))] if np.any(np.isfinite(objs)) else idx[0]
    r = canon[k]
    ll = float(problem.logliks(r.theta)[0]) if np.all(np.isfinite(r.theta)) else float("nan")
    return Solution(
        0,
        r.objective,
        ll,
        sorted(canon[i].index for i in idx),
        r.grad_norm,
        None,
        None,
        None,
        "diverged",
        r.theta,
    )


# --- the campaign as plain data ----------------------------------------------------------------


def landscape_report(campaign: Campaign, barrier: bool = True) -> dict:
    """The campaign as plain data: the JSON of ``nnmle landscape --json``.

    Keys: ``n_starts``, ``n_solutions``, ``solutions`` (``id``, ``objective``,
    ``loglik``, ``count``, ``starts``, ``grad_norm``, ``index``, ``nullity``,
    ``nullity_symmetry``, ``class``, ``best``, ``lambda_min``, ``lambda_max``,
    ``flat_directions``), ``group_order``, ``group``, ``barrier_raw``,
    ``barrier_aligned``, ``barrier_between`` (the two solution ids),
    ``certificate``, ``architecture``, ``family``, ``penalty``, ``tolerances``,
    ``timings``.
    """
    c = campaign
    bar = c.barrier() if barrier else None
    pair = c.pair()
    cert = c.certificate()
    p = c.problem
    return {
        "n_starts": c.n_starts,
        "n_solutions": len(c.solutions),
        "solutions": [s.to_dict() for s in c.solutions],
        "best": c.best.id,
        "group_order": c.group_order,
        "group": c.group_description,
        "barrier_raw": None if bar is None else bar.barrier_raw,
        "barrier_aligned": None if bar is None else bar.barrier_aligned,
        "barrier_between": None if bar is None or pair is None else [pair[0].id, pair[1].id],
        "barrier_curve": None if bar is None else bar.to_dict(),
        "certificate": None
        if cert is None
        else {
            "element": cert.element,
            "f_theta": cert.f_theta,
            "f_twin": cert.f_twin,
            "f_midpoint": cert.f_midpoint,
            "gap": cert.gap,
            "holds": cert.holds,
        },
        "architecture": p.arch.describe(),
        "n_params": p.arch.n_params,
        "family": p.family.name,
        "penalty": p.penalty.to_dict(),
        "tolerances": dict(c.tolerances),
        "timings": dict(c.timings),
        "starts": [
            {**r.to_dict(), "solution": int(lab)} for r, lab in zip(c.starts, c.labels, strict=True)
        ],
    }
