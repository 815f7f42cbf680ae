"""Multi-start campaigns: many fits, deduplicated modulo symmetry, each solution classified.

:func:`multistart` fits ``n_starts`` random starts (nnmle's L-BFGS engine),
puts every start's final weights in canonical form
(:func:`nnmle.symmetry.canonicalize`) and groups the starts into distinct
solutions. Two starts reach the same solution when

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
does not exist: :func:`nnmle.regularization.check_divergence`) share one row.

Under a penalty the canonical form keeps only the moves that leave the
penalized objective unchanged (:func:`nnmle.landscape.objective_element`):
relu/identity units are not rescaled to unit norm, and logistic units are not
flipped when biases are penalized (a flip moves weight into the next bias).
"""

from __future__ import annotations

import dataclasses
import io
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from .data import prepare
from .families import Family, get_family
from .fit import FitResult, StartResult, build_architecture, fit_prepared
from .landscape import (
    Barrier,
    FlatDirection,
    NonConvexityCertificate,
    Problem,
    Spectrum,
    align_theta,
    as_problem,
    classify,
    flat_directions,
    hessian_spectrum,
    loss_barrier,
    nonconvexity_certificate,
    objective_element,
    positive_definite,
)
from .landscape import hessian as hessian_matrix
from .networks import Architecture
from .objective import linear_predictor
from .penalties import Penalty

__all__ = [
    "Campaign",
    "Solution",
    "analyze_starts",
    "landscape_report",
    "multistart",
    "plots",
    "render_landscape",
]


_CLASS_RANK = {"strict_min": 0, "degenerate_min": 0, "saddle": 0, "not_converged": 1, "diverged": 2}


@dataclass
class Solution:
    """One distinct solution of a campaign (a row of the solutions table).

    Attributes
    ----------
    id : int
        1 for the best, then by class (stationary points, not converged,
        diverged) and objective.
    objective, loglik : float
        Penalized objective and log-likelihood at the representative.
    starts : list of int
        Indices of the starts that reached it.
    grad_norm : float
        Gradient norm at the representative (the start closest to stationary).
    index, nullity, nullity_symmetry : int or None
        Negative and near-zero Hessian eigenvalues (``None`` when not computed).
    kind : str
        ``strict_min``, ``degenerate_min``, ``saddle``, ``not_converged`` or ``diverged``.
    theta : ndarray
        Canonical weights of the representative.
    spectrum : Spectrum or None
        The Hessian's eigenvalues. A strict minimum certified by Cholesky
        (:func:`~nnmle.landscape.positive_definite`) has none until
        :meth:`Campaign.spectrum` computes them.
    flat : list of FlatDirection
        Named near-zero directions not explained by continuous symmetries.
    best : bool
    lambda_max : float or None
        Largest Hessian eigenvalue in magnitude (power iteration when certified by Cholesky).
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
        Order of the finite symmetry group of the architecture.
    group_description : str
    tolerances : dict
        The dedup and classification tolerances used.
    timings : dict
        Seconds spent fitting, canonicalizing, deduplicating, in Hessians.
    result : FitResult or None
        The underlying fit (best start), when the campaign ran the fits.
    """

    problem: Problem
    starts: list[StartResult]
    labels: np.ndarray
    solutions: list[Solution]
    group_order: int
    group_description: str
    tolerances: dict
    timings: dict
    result: FitResult | None = field(default=None, repr=False)
    _barrier: Barrier | None = field(default=None, repr=False)

    @property
    def best(self) -> Solution:
        """The solution with the lowest objective (not diverged when possible)."""
        return self.solutions[0]

    @property
    def n_starts(self) -> int:
        """Number of starts."""
        return len(self.starts)

    def pair(self) -> tuple[Solution, Solution] | None:
        """The two best distinct solutions (stationary points first), or ``None``."""
        stat = [s for s in self.solutions if _CLASS_RANK[s.kind] == 0]
        pool = stat if len(stat) >= 2 else [s for s in self.solutions if s.kind != "diverged"]
        return (pool[0], pool[1]) if len(pool) >= 2 else None

    def barrier(self, steps: int = 25) -> Barrier | None:
        """:func:`~nnmle.landscape.loss_barrier` between the two best distinct solutions."""
        pair = self.pair()
        if pair is None:
            return None
        if self._barrier is None or self._barrier.t.size != steps:
            self._barrier = loss_barrier(pair[0].theta, pair[1].theta, self.problem, steps)
        return self._barrier

    def spectrum(self, solution: Solution) -> Spectrum:
        """The Hessian eigenvalues of a solution (computed once, then kept on it)."""
        if solution.spectrum is None:
            solution.spectrum = hessian_spectrum(
                solution.theta,
                self.problem,
                rtol=self.tolerances["eig_rtol"],
                dense_max=self.tolerances["dense_max"],
                vectors=False,
            )
        return solution.spectrum

    def certificate(self) -> NonConvexityCertificate | None:
        """:func:`~nnmle.landscape.nonconvexity_certificate` at the best solution."""
        return nonconvexity_certificate(self.best.theta, self.problem)

    def to_dict(self) -> dict:
        """Everything as plain Python (the JSON of ``nnmle landscape --json``)."""
        return landscape_report(self)

    def solutions_table(self, width: int = 110, max_rows: int | None = None) -> str:
        """The solutions table as text (rich); ``max_rows`` keeps the best rows only."""
        from rich.console import Console
        from rich.table import Table

        table = Table(
            title=f"{len(self.solutions)} distinct solution(s) from {self.n_starts} starts"
        )
        for col in ("id", "objective", "loglik", "starts", "grad norm", "index", "nullity"):
            table.add_column(col, justify="right")
        table.add_column("class")
        table.add_column("best")
        rows = self.solutions if max_rows is None else self.solutions[:max_rows]
        if len(rows) < len(self.solutions):
            table.caption = f"{len(self.solutions) - len(rows)} more solution(s) not shown"
        for s in rows:
            null = "-" if s.nullity is None else str(s.nullity)
            if s.nullity_symmetry:
                null += f" ({s.nullity_symmetry} sym)"
            table.add_row(
                str(s.id),
                f"{s.objective:.6f}",
                f"{s.loglik:.4f}",
                str(s.count),
                f"{s.grad_norm:.1e}",
                "-" if s.index is None else str(s.index),
                null,
                s.kind,
                "*" if s.best else "",
            )
        buf = io.StringIO()
        Console(file=buf, width=width, force_terminal=False, color_system=None).print(table)
        return buf.getvalue().rstrip()

    def plots(self, directory) -> list[str]:
        """Write PNGs to ``directory``: objectives across starts, Hessian spectra, barriers."""
        return plots(self, directory)


# --- the campaign ---------------------------------------------------------------------------


def multistart(
    X,
    y=None,
    *,
    data=None,
    hidden=(10,),
    activation: str = "tanh",
    family: str | Family = "bernoulli",
    l2: float = 0.0,
    l1: float = 0.0,
    penalize_bias: bool = False,
    skip: bool = False,
    bias: bool = True,
    mask=None,
    weights=None,
    n_starts: int = 20,
    seed: int = 0,
    init: str = "uniform",
    rang: float = 0.7,
    tol: float = 1e-6,
    max_iter: int = 5000,
    workers: int | None = None,
    on_result=None,
    store=None,
    runner=None,
    **analysis,
) -> Campaign:
    """Fit ``n_starts`` random starts and group them into distinct solutions modulo symmetry.

    Parameters
    ----------
    X, y, data, hidden, activation, family, l2, l1, penalize_bias, skip, bias, mask, weights
        As in :func:`nnmle.fit` (a formula ``"y ~ x1 + x2"`` with ``data=`` works too).
    n_starts : int
        Random starts; start ``k`` uses ``fold_in(PRNGKey(seed), k)``.
    seed, init, rang, tol, max_iter, workers
        As in :func:`nnmle.fit`.
    on_result : callable, optional
        Called with each :class:`~nnmle.fit.StartResult` as its start finishes
        (from worker threads): a progress bar's hook.
    store, runner : optional
        A campaign store (finished starts are kept; a rerun resumes) and a start
        runner such as :func:`nnmle.distributed.dask_runner`; see :func:`nnmle.fit`.
    **analysis
        Options of :func:`analyze_starts` (``obj_rtol``, ``param_rtol``,
        ``grad_tol``, ``eig_rtol``, ``dense_max``, ``diverge_at``, ``hessian``).

    Returns
    -------
    Campaign

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2)); y = (X[:, 0] + rng.normal(size=40) > 0).astype(float)
    >>> c = nnmle.multistart(X, y, hidden=(), n_starts=3)      # a GLM: one solution
    >>> len(c.solutions), c.best.kind, c.best.count
    (1, 'strict_min', 3)
    """
    if not isinstance(n_starts, int | np.integer) or n_starts < 1:
        raise ValueError(
            f"n_starts must be a positive integer; got {n_starts!r}. Fix: n_starts=20."
        )
    fam = get_family(family)
    penalty = Penalty(l2=l2, l1=l1, penalize_bias=penalize_bias)
    prep = prepare(X, y, fam, weights=weights, data=data)
    arch = build_architecture(prep, fam, hidden, activation, skip, bias, mask)
    cpu0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # per-start divergence is reported per row
        result = fit_prepared(
            prep,
            fam,
            arch,
            penalty,
            n_restarts=int(n_starts),
            seed=seed,
            init=init,
            rang=rang,
            tol=tol,
            max_iter=max_iter,
            workers=workers,
            on_result=on_result,
            store=store,
            runner=runner,
        )
    return analyze_starts(
        result.restarts,
        as_problem(result),
        result=result,
        tol=tol,
        workers=workers,
        fit_seconds=result.seconds,
        fit_cpu_seconds=time.process_time() - cpu0,
        **analysis,
    )


def analyze_starts(
    starts: list[StartResult],
    problem: Problem,
    *,
    result: FitResult | None = None,
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
    """Canonicalize, deduplicate and classify finished starts (the analysis of :func:`multistart`).

    Parameters
    ----------
    starts : list of StartResult
        Finished starts (any order; ``index`` identifies them).
    problem : Problem
    result : FitResult, optional
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
    """
    from . import symmetry

    grad_tol = 10 * tol if grad_tol is None else grad_tol
    arch, penalty = problem.arch, problem.penalty
    timings = {"fit": fit_seconds}
    if fit_cpu_seconds is not None:
        timings["cpu_fit"] = fit_cpu_seconds
    clock = _Clock(timings)
    starts = sorted(starts, key=lambda r: r.index)
    canon = [
        dataclasses.replace(r, theta=_canonical(r.theta, arch, penalty, symmetry)) for r in starts
    ]
    clock.lap("canonicalize")

    thetas = np.stack([r.theta for r in canon])
    finite = np.array(
        [np.isfinite(r.objective) and np.all(np.isfinite(r.theta)) for r in canon], dtype=bool
    )
    eta = np.full((len(canon),) + (int(problem.data.X.shape[0]), arch.n_outputs), np.nan)
    if finite.any():
        eta[finite] = np.asarray(_etas(jnp.asarray(thetas[finite]), problem.data.X, arch=arch))
    diverged = [
        (not finite[i]) or r.status in ("non_finite", "mle_not_exist")
        or float(np.max(np.abs(r.theta))) > diverge_at
        for i, r in enumerate(canon)
    ]  # fmt: skip
    groups = _group(canon, eta, diverged, problem, obj_rtol, param_rtol)
    clock.lap("dedup")

    # representative of each solution: the start closest to stationary
    reps = [min(m, key=lambda i: (canon[i].grad_norm, canon[i].objective)) for m in groups]
    lls = _logliks(thetas[reps], problem) if reps else np.zeros(0)

    def one(j):
        return _solution(
            groups[j], reps[j], float(lls[j]), canon, problem, result, hessian, grad_tol,
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
    sols[0].best = True  # the lowest objective, diverged only when all diverged
    labels = np.zeros(len(canon), dtype=int)
    pos = {r.index: i for i, r in enumerate(canon)}
    for k, s in enumerate(sols, start=1):
        s.id = k
        for i in s.starts:
            labels[pos[i]] = k
    grp = symmetry.group(arch)
    tolerances = {
        "grad_tol": grad_tol,
        "obj_rtol": obj_rtol,
        "param_rtol": param_rtol,
        "eig_rtol": eig_rtol,
        "diverge_at": diverge_at,
        "dense_max": dense_max,
    }
    return Campaign(
        problem, canon, labels, sols, int(grp.order), grp.describe(), tolerances, timings, result
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


def _canonical(theta: np.ndarray, arch: Architecture, penalty: Penalty, symmetry) -> np.ndarray:
    theta = np.asarray(theta, dtype=np.float64)
    if not arch.hidden or not np.all(np.isfinite(theta)):
        return theta
    canon, g = symmetry.canonicalize(theta, arch)
    if penalty.l2 == 0 and penalty.l1 == 0:
        return np.asarray(canon)
    # keep the penalized objective: no rescaling, no flips the penalty does not tolerate
    return symmetry.act_flat(objective_element(g, arch, penalty), theta, arch)


def _etas_fn(thetas, X, arch):
    return jax.vmap(lambda th: linear_predictor(th, X, arch))(thetas)


_etas = jax.jit(_etas_fn, static_argnames=("arch",))


def _close(a: np.ndarray, b: np.ndarray, rtol: float) -> bool:
    return float(np.max(np.abs(a - b), initial=0.0)) <= rtol * max(
        1.0, float(np.max(np.abs(a), initial=0.0))
    )


def _group(canon, eta, diverged, problem, obj_rtol, param_rtol) -> list[list[int]]:
    """Positions of starts per distinct solution (diverged starts left out)."""
    arch, penalty = problem.arch, problem.penalty
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
                arch.hidden and _close(ref, align_theta(ref, th, arch, penalty)[0], param_rtol)
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
            bar = loss_barrier(ra.theta, rb.theta, problem, steps=9, align=bool(arch.hidden))
            height = bar.barrier_raw if bar.barrier_aligned is None else bar.barrier_aligned
            if height <= ftol:
                parent[root(b)] = root(a)
    merged: dict[int, list[int]] = {}
    for s, m in enumerate(members):
        merged.setdefault(root(s), []).extend(m)
    return list(merged.values())


def _solution(
    members, rep, ll, canon, problem, result, hessian, grad_tol, eig_rtol, dense_max, diverge_at
) -> Solution:
    r = canon[rep]
    spec, flat, lam_max = None, [], None
    index = nullity = n_sym = None
    kind = classify(r.grad_norm, None, grad_tol=grad_tol)
    big = float(np.max(np.abs(r.theta)))
    if hessian and problem.arch.n_params <= dense_max and r.grad_norm <= grad_tol:
        # the common case, a strict minimum, is certified by a Cholesky factorization
        ok, lam_max = positive_definite(hessian_matrix(r.theta, problem), eig_rtol)
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
        spec.eigenvectors = None  # keep campaigns light
    if kind in ("strict_min", "degenerate_min") and _mle_not_exist(r, problem, result):
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
    )


def _diverged_row(idx, canon, problem) -> Solution:
    objs = [canon[i].objective for i in idx]
    k = idx[int(np.nanargmin(objs))] if np.any(np.isfinite(objs)) else idx[0]
    r = canon[k]
    ll = float(_logliks(r.theta, problem)[0]) if np.all(np.isfinite(r.theta)) else float("nan")
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


def _loglik_fn(thetas, data, family, arch):
    def one(theta):
        return family.loglik(linear_predictor(theta, data.X, arch), data.Y, data.w)

    return jax.vmap(one)(thetas)


_loglik_jit = jax.jit(_loglik_fn, static_argnames=("family", "arch"))


def _logliks(thetas, problem: Problem) -> np.ndarray:
    """Log-likelihoods at each row of ``thetas`` (one vectorized call)."""
    args = (problem.data, problem.family, problem.arch)
    return np.asarray(_loglik_jit(jnp.asarray(np.atleast_2d(thetas)), *args))


def _mle_not_exist(r: StartResult, problem: Problem, result: FitResult | None) -> bool:
    """Unpenalized fits only: does the objective keep falling as the weights grow?"""
    if result is None or problem.penalty.l2 > 0 or problem.penalty.l1 > 0:
        return False
    from .regularization import check_divergence

    probe = dataclasses.replace(
        result, theta=np.asarray(r.theta), objective=r.objective, status="converged"
    )
    check = check_divergence(probe)  # its warning is silenced by the caller
    return bool(check is not None and check.diverged)


# --- reports ---------------------------------------------------------------------------------


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
        "penalty": {
            "l2": p.penalty.l2,
            "l1": p.penalty.l1,
            "penalize_bias": p.penalty.penalize_bias,
        },
        "tolerances": dict(c.tolerances),
        "timings": dict(c.timings),
        "starts": [
            {**r.to_dict(), "solution": int(lab)} for r, lab in zip(c.starts, c.labels, strict=True)
        ],
    }


def render_landscape(campaign: Campaign, width: int = 110, max_rows: int | None = 30) -> str:
    """Text for ``nnmle landscape``: the table (best ``max_rows``), the barrier, the
    certificate, the named flat directions and the time spent."""
    c = campaign
    lines = [
        f"{c.problem.arch.describe()}, {c.problem.family.name}, "
        f"{c.problem.arch.n_params} parameters, penalty {c.problem.penalty.describe()}",
        c.group_description,
        c.solutions_table(width, max_rows=max_rows),
    ]
    bar, pair = c.barrier(), c.pair()
    if bar is not None and pair is not None:
        al = "n/a" if bar.barrier_aligned is None else f"{bar.barrier_aligned:.6g}"
        lines.append(
            f"loss barrier between solutions {pair[0].id} and {pair[1].id} "
            f"(straight path): raw {bar.barrier_raw:.6g}, aligned {al}"
        )
    else:
        lines.append("a single distinct solution: no barrier to measure")
    cert = c.certificate()
    if cert is not None:
        lines.append(f"non-convexity certificate at solution {c.best.id}: {cert}")
    else:
        lines.append("no hidden layer: the objective is that of a GLM (convex)")
    for s in c.solutions:
        for d in s.flat:
            lines.append(f"solution {s.id}: flat direction {d.text}")
    walls = {k: v for k, v in c.timings.items() if not k.startswith("cpu_")}
    lines.append("time: " + ", ".join(f"{k} {v:.2f}s" for k, v in walls.items()))
    return "\n".join(lines)


_COLORS = {
    "strict_min": "tab:green",
    "degenerate_min": "tab:olive",
    "saddle": "tab:red",
    "not_converged": "tab:gray",
    "diverged": "black",
}


def plots(campaign: Campaign, directory) -> list[str]:
    """PNG files: ``objectives.png``, ``spectra.png``, ``barrier.png`` (when there is a pair)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = campaign
    os.makedirs(directory, exist_ok=True)
    paths = []
    kinds = {s.id: s.kind for s in c.solutions}

    fig, ax = plt.subplots(figsize=(7, 4))
    objs = np.array([r.objective for r in c.starts])
    order = np.argsort(objs)
    for kind, color in _COLORS.items():
        sel = [j for j, i in enumerate(order) if kinds[int(c.labels[i])] == kind]
        if sel:
            ax.scatter(sel, objs[order][sel], s=12, color=color, label=kind)
    ax.set_xlabel("start (sorted by objective)")
    ax.set_ylabel("penalized objective")
    ax.set_title(f"{c.n_starts} starts, {len(c.solutions)} distinct solutions")
    ax.legend(fontsize=8)
    paths.append(_save(fig, directory, "objectives.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    shown = [s for s in c.solutions if s.kind != "diverged"][:30]
    specs = [c.spectrum(s) for s in shown]
    for s, sp in zip(shown, specs, strict=True):
        ev = sp.eigenvalues
        ax.scatter(np.full(ev.size, s.id), ev, s=6, color=_COLORS[s.kind], alpha=0.7)
    nonzero = [np.abs(sp.eigenvalues)[np.abs(sp.eigenvalues) > sp.zero_tol] for sp in specs]
    smallest = min((float(m.min()) for m in nonzero if m.size), default=1e-8)
    ax.set_yscale("symlog", linthresh=10.0 ** np.floor(np.log10(smallest)))
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xlabel("solution id")
    ax.set_ylabel("Hessian eigenvalue (symlog)")
    ax.set_title("Hessian spectrum per distinct solution")
    paths.append(_save(fig, directory, "spectra.png"))

    bar, pair = c.barrier(), c.pair()
    if bar is not None and pair is not None:
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.plot(bar.t, bar.values_raw, label=f"raw (barrier {bar.barrier_raw:.4g})")
        if bar.values_aligned is not None:
            ax.plot(bar.t, bar.values_aligned, label=f"aligned (barrier {bar.barrier_aligned:.4g})")
        ax.plot(bar.t, bar.chord, "k--", lw=0.8, label="chord")
        ax.set_xlabel(f"t (solution {pair[0].id} -> solution {pair[1].id})")
        ax.set_ylabel("penalized objective")
        ax.legend(fontsize=8)
        paths.append(_save(fig, directory, "barrier.png"))
    return paths


def _save(fig, directory, name: str) -> str:
    path = os.path.join(directory, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
