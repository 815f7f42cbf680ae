"""Regularization: penalty paths, cross-validation, the evidence; penalties and the group.

Penalty paths
-------------
:func:`fit_path` fits a grid of penalty values (``l2`` or ``l1``; the other
coefficient fixed) from the largest down, each fit warm-started from the
previous solution, on one compiled solver (the penalty is traced: a new value
compiles nothing). Every value gets the weight norm, training deviance,
held-out deviance by K-fold cross-validation (folds are case weights: the
held-out rows get weight zero, so every fold has the data's shapes), the
effective degrees of freedom and the log evidence (:func:`log_evidence`).

Penalties and the symmetry group
--------------------------------
The L2 and L1 norms are invariant under permutations and sign flips of tanh
units (:func:`penalty_symmetry_table` shows it), so a penalty never makes a
network identifiable. For relu units the positive rescaling
``(w_in, b, w_out) -> (c w_in, c b, w_out / c)`` keeps the function but not
the penalty: ``l2 (c^2 |w_in|^2 + |w_out|^2 / c^2)`` is smallest at
``c^2 = |w_out| / |w_in|``, so *at an L2-penalized optimum every relu unit is
balanced*: the norm of its penalized incoming weights equals the norm of its
outgoing weights (for L1: the same with L1 norms). The penalty thus removes
the continuous rescaling symmetry: :func:`nnmle.symmetry.group` of a penalized
problem has no rescaling, only the finite moves that keep the penalty.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import symmetry
from .estimation import as_estimate, best_start, estimate
from .inference import curvature
from .networks import Architecture, init_params, linear_predictor
from .penalties import Penalty, penalty_value
from .problem import Problem
from .solvers import choose_solver
from .starts import LocalExecutor, run_starts

__all__ = [
    "PathPoint",
    "PathResult",
    "as_grid",
    "check_path_options",
    "fit_path",
    "grid_edges",
    "log_evidence",
    "path_report",
    "penalty_symmetry_table",
    "relu_balance",
]

RULES = ("cv_min", "cv_1se", "evidence")


@dataclass
class PathPoint:
    """One penalty value of a path.

    Attributes
    ----------
    l2, l1 : float
        The penalty.
    theta : ndarray
        Weights fitted on all the data.
    weight_norm : float
        Euclidean norm of the penalized weights.
    n_nonzero : int
        Free weights that are not exactly zero.
    objective, deviance : float
        Penalized objective and training deviance.
    cv_deviance, cv_se : float
        Held-out deviance summed over the folds, and its standard error
        ``sqrt(K) * sd(fold deviances)``; NaN without cross-validation.
    edf : float
        Effective number of parameters ``tr(F H^-1)`` on the non-zero weights
        (:func:`nnmle.inference.curvature`).
    log_evidence : float
        Laplace approximation to the log marginal likelihood (:func:`log_evidence`);
        NaN where it is not defined.
    status : str
        Status of the fit on all the data.
    """

    l2: float
    l1: float
    theta: np.ndarray
    weight_norm: float
    n_nonzero: int
    objective: float
    deviance: float
    cv_deviance: float
    cv_se: float
    edf: float
    log_evidence: float
    status: str

    def to_dict(self) -> dict:
        """Plain-Python view (without the weights)."""
        return {k: v for k, v in self.__dict__.items() if k != "theta"}


@dataclass
class PathResult:
    """A regularization path: one :class:`PathPoint` per penalty value, largest first.

    Attributes
    ----------
    penalty : {"l2", "l1"}
        Which coefficient varies along the path.
    values : ndarray
        Its values, in decreasing order (the order of the warm starts).
    fixed : dict
        The other coefficient and ``penalize_bias``.
    points : list of PathPoint
    cv : int
        Number of folds (0: none).
    selected : dict
        ``{"cv_min", "cv_1se", "evidence"}``: the value each rule selects (None
        where it does not apply).
    select : str
        The rule used for ``fit``.
    fit : Estimate or FitResult
        The fit at the selected value (an :class:`~nnmle.estimation.Estimate`;
        ``nnmle.path`` puts its ``FitResult`` façade here).
    group_order : int
        Order of the architecture's symmetry group (in the evidence).
    notes : list of str
    edges : list of str
        For every rule that chose an end of the grid: the optimum may lie outside
        (also in ``notes``, and warned).
    """

    penalty: str
    values: np.ndarray
    fixed: dict
    points: list[PathPoint]
    cv: int
    selected: dict
    select: str
    fit: Any
    group_order: int
    notes: list[str]
    edges: list[str] = field(default_factory=list)

    def column(self, name: str) -> np.ndarray:
        """One attribute of every point as an array, e.g. ``path.column("cv_deviance")``."""
        return np.array([getattr(p, name) for p in self.points], dtype=float)


def _penalty_at(kind: str, value: float, fixed: dict) -> Penalty:
    other = "l1" if kind == "l2" else "l2"
    return Penalty(**{kind: value, other: fixed[other]}, penalize_bias=fixed["penalize_bias"])


def _solve_point(problem: Problem, thetas0, tol: float, max_iter: int, executor=None):
    """The best start for one penalty value (the problem carries the penalty; the solver is
    chosen by :func:`~nnmle.solvers.choose_solver`, compiled once for the whole path)."""
    solver = choose_solver(problem, tol=tol, max_iter=max_iter)
    best = best_start(run_starts(problem, thetas0, solver, executor))
    return np.asarray(best.theta), best.objective, best.status


def log_evidence(theta, problem: Problem, curv=None) -> float:
    """Laplace approximation to the log marginal likelihood of an L2 penalty (MacKay 1992).

    The penalty ``l2 |w|^2`` is a normal prior ``N(0, 1 / (2 l2))`` on each of
    the ``k_p`` penalized weights (the other ``k - k_p``, biases by default,
    get a flat prior of density 1: a constant along a path). With ``F`` the
    penalized objective at its minimum and ``H`` its Hessian,

        log Z = -F + C + (k/2) log(2 pi) - 1/2 log det H + (k_p/2) log(l2 / pi) + log |G|

    where ``C`` is the family's log-likelihood constant (``log y!`` terms) and
    ``|G|`` the order of the problem's symmetry group (:func:`nnmle.symmetry.group`:
    the moves that keep the penalized objective): the posterior has ``|G|``
    equivalent modes with the same mass (distinct when the fit is minimal;
    at a reducible fit the term over-counts). For the gaussian family the
    objective is the NLL at unit variance, so the noise precision ``beta`` is
    profiled: ``log Z(beta) = -beta F + (k/2) log(2 pi) - 1/2 log det(beta H)
    + (k_p/2) log(l2 beta / pi) + (N/2) log(beta / 2 pi) + log |G|``, maximal at
    ``beta = (N - k + k_p) / (2 F)`` (``N`` the sum of the case weights). For a
    linear gaussian model the Laplace approximation is exact.

    Returns NaN without an L2 penalty, with an L1 penalty (the prior is not
    smooth), or when ``H`` is not positive definite.
    """
    penalty, family = problem.penalty, problem.family
    if penalty.l1 > 0 or penalty.l2 == 0:
        return math.nan
    curv = curv if curv is not None else curvature(theta, problem)
    if curv.hess_eigs.size == 0 or curv.hess_eigs[0] <= 0:
        return math.nan
    k, kp = curv.positions.size, curv.n_penalized
    logdet = float(np.sum(np.log(curv.hess_eigs)))
    pmask = problem.penalized
    nll = problem.statistics(theta)["nll"]
    F = nll + penalty.l2 * float(np.sum(np.asarray(theta)[pmask] ** 2))
    log_g = math.log(symmetry.group(problem).order)
    if family.has_dispersion and family.scale_method != "ml":
        return math.nan  # no closed form over the gamma shape yet
    if family.has_dispersion:
        N = float(np.sum(problem.w))
        beta = (N - k + kp) / (2.0 * F)
        return (
            -beta * F
            + 0.5 * k * math.log(2 * math.pi)
            - 0.5 * (logdet + k * math.log(beta))
            + 0.5 * kp * math.log(penalty.l2 * beta / math.pi)
            + 0.5 * N * math.log(beta / (2 * math.pi))
            + log_g
        )
    const = float(family.loglik_const(jnp.asarray(problem.Y), jnp.asarray(problem.w)))
    return (
        -F
        + const
        + 0.5 * k * math.log(2 * math.pi)
        - 0.5 * logdet
        + 0.5 * kp * math.log(penalty.l2 / math.pi)
        + log_g
    )


def _folds(problem: Problem, cv: int, seed: int) -> list[np.ndarray]:
    """Held-out index sets: stratified by class for 0/1 and multinomial targets."""
    from sklearn.model_selection import KFold, StratifiedKFold

    n, Y = int(problem.n_obs), problem.Y
    if problem.family.name in ("bernoulli", "multinomial"):
        labels = np.argmax(Y, axis=1) if Y.shape[1] > 1 else Y[:, 0]
        if np.min(np.bincount(labels.astype(int))) >= cv:
            splitter = StratifiedKFold(cv, shuffle=True, random_state=seed)
            return [test for _, test in splitter.split(np.zeros(n), labels)]
    return [test for _, test in KFold(cv, shuffle=True, random_state=seed).split(np.zeros(n))]


def as_grid(l2, l1) -> tuple[str, np.ndarray, float]:
    """``(kind, values, other)``: which penalty varies, its grid (decreasing), the fixed other.

    Examples
    --------
    >>> as_grid([0.1, 1.0], 0.0)
    ('l2', array([1. , 0.1]), 0.0)
    """
    grids = {k: v for k, v in (("l2", l2), ("l1", l1)) if np.ndim(v) == 1}
    if len(grids) != 1:
        raise ValueError(
            f"path needs exactly one penalty given as a sequence of values (the grid); got "
            f"l2={l2!r}, l1={l1!r}. Fix: e.g. nnmle.path(X, y, l2=[1, 0.1, 0.01]) or "
            f"nnmle.path(X, y, l1=[10, 1, 0.1], l2=0.01) for an elastic-net path."
        )
    kind, grid = next(iter(grids.items()))
    values = np.asarray(grid, dtype=float)
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(
            f"The {kind} grid must be non-empty, finite and >= 0; got {list(grid)!r}. "
            f"Fix: e.g. {kind}=np.logspace(1, -3, 9)."
        )
    other = l1 if kind == "l2" else l2
    return kind, np.unique(values)[::-1], float(other)


def check_path_options(cv, select: str) -> None:
    """Validate ``cv`` and ``select`` (errors name what was expected and the fix)."""
    if select not in RULES:
        raise ValueError(
            f"select={select!r} is not a rule: expected 'cv_min', 'cv_1se' or 'evidence'."
        )
    if not isinstance(cv, int | np.integer) or isinstance(cv, bool) or cv < 0:
        raise ValueError(f"cv must be an integer >= 0 (folds); got {cv!r}. Fix: cv=5.")


def _fold_path(shared, keys):
    """One unit per fold: the warm-started path on the fold's training rows (held-out weights 0),
    returning the held-out deviance at every penalty value."""
    problem, penalties, start, folds, tol, max_iter = shared
    out = []
    for f in keys:
        train = np.ones(int(problem.n_obs))
        train[folds[f]] = 0.0
        fold = problem.with_weights(problem.w * train)
        held_out = problem.with_weights(problem.w * (1.0 - train))
        theta, devs = start, []
        for pen in penalties:
            theta, _, _ = _solve_point(
                fold.with_penalty(pen), theta[None, :], tol, max_iter, LocalExecutor(workers=1)
            )
            devs.append(held_out.statistics(theta)["deviance"])
        out.append(np.array(devs))
    return out


def fit_path(
    problem: Problem,
    kind: str,
    values,
    thetas0,
    *,
    cv: int = 5,
    select: str = "cv_min",
    seed: int = 0,
    tol: float = 1e-6,
    max_iter: int = 5000,
    executor=None,
) -> PathResult:
    """Fit a regularization path with warm starts, cross-validation and the evidence.

    The grid (``kind`` is ``"l2"`` or ``"l1"``; the problem's penalty gives the
    other coefficient and ``penalize_bias``) is fitted from the largest value
    down, each fit starting from the previous solution (the first from the rows
    of ``thetas0``). For every value: the weight norm, training deviance,
    held-out deviance by ``cv``-fold cross-validation (each fold runs its own
    warm-started path from the full-data fit at the first value; the folds are
    units of work of ``executor``), the effective degrees of freedom and the log
    evidence (:func:`log_evidence`). Every fit runs through
    :func:`nnmle.starts.run_starts` on the same compiled solver.

    Selection rules: ``cv_min`` (smallest CV deviance), ``cv_1se`` (the largest
    penalty whose CV deviance is within one standard error of the minimum)
    and ``evidence`` (largest log evidence; L2 paths only).

    Parameters
    ----------
    problem : Problem
    kind : {"l2", "l1"}
    values : sequence of float
        The grid (fitted in decreasing order).
    thetas0 : array of shape (K, n_total)
        Starts of the first (largest) value.
    cv : int
        Folds (0 or 1: no cross-validation; then only ``select="evidence"``).
    select : {"cv_min", "cv_1se", "evidence"}
        The rule whose value is refitted as ``PathResult.fit``.
    seed : int
        Shuffles the folds.
    tol, max_iter : float, int
        As for :func:`nnmle.fit`.
    executor : optional
        Runs the folds (default: local threads).

    Returns
    -------
    PathResult
    """
    check_path_options(cv, select)
    values = np.unique(np.asarray(values, dtype=float))[::-1]
    other = "l1" if kind == "l2" else "l2"
    fixed = {other: float(getattr(problem.penalty, other)),
             "penalize_bias": problem.penalty.penalize_bias}  # fmt: skip
    if select == "evidence" and (kind == "l1" or fixed[other] > 0):
        raise ValueError(
            "select='evidence' needs an L2 grid without L1 (the evidence of an L1 prior is not "
            "computed). Fix: nnmle.path(X, y, l2=[...], select='evidence'), or select='cv_min'."
        )
    if select != "evidence" and cv < 2:
        raise ValueError(
            f"select={select!r} needs cross-validation with cv >= 2 folds; got cv={cv}. "
            f"Fix: cv=5, or select='evidence' on an L2 grid."
        )
    penalties = [_penalty_at(kind, v, fixed) for v in values]
    pmask = problem.with_penalty(_penalty_at(kind, 1.0, fixed)).penalized
    free = problem.free

    fits = []
    for pen in penalties:
        theta, obj, status = _solve_point(problem.with_penalty(pen), thetas0, tol, max_iter)
        fits.append((pen, theta, obj, status))
        thetas0 = theta[None, :]

    folds = _folds(problem, cv, seed) if cv >= 2 else []
    held = np.full((len(values), len(folds)), np.nan)
    if folds:
        shared = (problem, penalties, fits[0][1], folds, tol, max_iter)
        per_fold = (executor or LocalExecutor()).map(_fold_path, range(len(folds)), shared)
        held = np.stack(per_fold, axis=1)

    points = []
    for i, (pen, theta, obj, status) in enumerate(fits):
        at = problem.with_penalty(pen)
        curv = curvature(theta, at)
        points.append(
            PathPoint(
                l2=pen.l2,
                l1=pen.l1,
                theta=theta,
                weight_norm=float(np.linalg.norm(theta[pmask])),
                n_nonzero=int(np.sum(theta[free] != 0)),
                objective=float(obj),
                deviance=at.statistics(theta)["deviance"],
                cv_deviance=float(held[i].sum()) if folds else math.nan,
                cv_se=float(math.sqrt(len(folds)) * np.std(held[i], ddof=1)) if folds else math.nan,
                edf=curv.edf,
                log_evidence=log_evidence(theta, at, curv),
                status=status,
            )
        )
    selected = _select(values, points)
    edges = grid_edges(kind, values, selected)
    notes = _path_notes(kind, fixed, cv, points) + edges
    if edges:
        warnings.warn("nnmle: " + "; ".join(edges), UserWarning, stacklevel=2)
    rule = selected[select]
    if rule is None:
        raise ValueError(
            f"The rule select={select!r} does not apply to this path ({notes[-1]}). "
            f"Fix: select='cv_min' with cv >= 2, or an L2 grid for 'evidence'."
        )
    i_sel = int(np.flatnonzero(values == rule)[0])
    at = problem.with_penalty(fits[i_sel][0])
    result = estimate(at, fits[i_sel][1][None, :], choose_solver(at, tol=tol, max_iter=max_iter))
    return PathResult(
        kind, values, fixed, points, len(folds), selected, select, result,
        symmetry.group(problem).order, notes, edges,
    )  # fmt: skip


def grid_edges(kind: str, values: np.ndarray, selected: dict) -> list[str]:
    """Sentences for every rule that chose the largest or the smallest (non-zero) value of
    the grid: the best penalty may lie outside it.

    Examples
    --------
    >>> edges = grid_edges("l2", np.array([10.0, 1.0, 0.1]), {"cv_min": 10.0, "evidence": 1.0})
    >>> len(edges), edges[0][:50]
    (1, 'cv_min chose l2 = 10, the largest value of the gri')
    """
    out: list[str] = []
    if values.size < 2:
        return out
    hi, lo = float(values.max()), float(values.min())
    for rule, v in selected.items():
        if v is None:
            continue
        if v == hi:
            out.append(
                f"{rule} chose {kind} = {v:g}, the largest value of the grid: the best penalty "
                f"may be larger; extend the grid (e.g. {kind}=[{10 * v:g}, {v:g}, ...])"
            )
        elif v == lo and v > 0:
            out.append(
                f"{rule} chose {kind} = {v:g}, the smallest value of the grid: the best penalty "
                f"may be smaller; extend the grid (e.g. {kind}=[..., {v:g}, {v / 10:g}])"
            )
    return out


def _select(values: np.ndarray, points: list[PathPoint]) -> dict:
    cvd = np.array([p.cv_deviance for p in points])
    cvs = np.array([p.cv_se for p in points])
    ev = np.array([p.log_evidence for p in points])
    out: dict = {"cv_min": None, "cv_1se": None, "evidence": None}
    if np.any(np.isfinite(cvd)):
        i = int(np.nanargmin(cvd))
        out["cv_min"] = float(values[i])
        within = np.flatnonzero(cvd <= cvd[i] + cvs[i])
        out["cv_1se"] = float(values[within.min()])  # values are decreasing: the largest
    if np.any(np.isfinite(ev)):
        out["evidence"] = float(values[int(np.nanargmax(ev))])
    return out


def _path_notes(kind: str, fixed: dict, cv: int, points: list[PathPoint]) -> list[str]:
    notes = [
        "objective = sum(w * nll) + l2 * sum(w^2) + l1 * sum(|w|) over penalized weights "
        + ("(biases included)" if fixed["penalize_bias"] else "(biases free)"),
        "cv_deviance: held-out deviance summed over the folds; cv_se = sqrt(K) sd(fold deviances)",
        "edf = tr(F H^-1) (F the Fisher information, H the penalized Hessian) on the "
        "non-zero weights",
        "log_evidence: Laplace approximation + log|G| (symmetry group order); "
        "see nnmle.regularization.log_evidence",
    ]
    if kind == "l1" or fixed.get("l1", 0) > 0:
        notes.append("the evidence is computed for pure L2 paths only (NaN here)")
    if any(p.status != "converged" for p in points):
        bad = [f"{getattr(p, kind):g} ({p.status})" for p in points if p.status != "converged"]
        notes.append("not converged at: " + ", ".join(bad))
    return notes


def path_report(result: PathResult) -> dict:
    """The path as plain data (the ``nnmle path --json`` output)."""
    return {
        "penalty": result.penalty,
        "fixed": result.fixed,
        "cv": result.cv,
        "group_order": result.group_order,
        "rows": [
            {result.penalty: getattr(p, result.penalty), **p.to_dict()} for p in result.points
        ],
        "selected": result.selected,
        "select": result.select,
        "notes": result.notes,
        "edges": result.edges,
    }


# --- penalties and the symmetry group ------------------------------------------------------------


def penalty_symmetry_table(seed: int = 0, n_inputs: int = 3, width: int = 4) -> list[dict]:
    """Penalties of a random network and of its transformed twins (a demonstration).

    For a tanh and a relu network with ``width`` hidden units: the identity,
    a random permutation with sign flips (tanh) or a random permutation
    (relu), and for relu a random positive rescaling of every unit (the
    continuous symmetry). Each row gives the largest change of the network
    function on random inputs (zero: a symmetry) and the L2 and L1 penalties
    over the weights (biases free): equal for permutations and flips, not for
    rescaling.

    Examples
    --------
    >>> rows = penalty_symmetry_table()
    >>> [(r["activation"], r["transformation"], r["l2_invariant"]) for r in rows][-1]
    ('relu', 'rescaling of every unit (continuous)', False)
    """
    rows = []
    X = jnp.asarray(np.random.default_rng(seed).standard_normal((64, n_inputs)))
    for activation in ("tanh", "relu"):
        arch = Architecture.build(n_inputs, hidden=(width,), activation=activation)
        theta = np.asarray(init_params(jax.random.PRNGKey(seed), arch))
        twins = [
            ("identity", theta),
            (
                "permutation and sign flips" if activation == "tanh" else "permutation",
                symmetry.act_flat(
                    symmetry.random_element(arch, seed + 1, continuous=False), theta, arch
                ),
            ),
        ]
        if activation == "relu":
            g = symmetry.random_element(arch, seed + 2, continuous=True)
            twins.append(
                ("rescaling of every unit (continuous)", symmetry.act_flat(g, theta, arch))
            )
        eta = linear_predictor(jnp.asarray(theta), X, arch)
        unit = (Penalty(l2=1.0), Penalty(l1=1.0))
        pens = [float(penalty_value(jnp.asarray(theta), arch, pen)) for pen in unit]
        for name, twin in twins:
            tw = jnp.asarray(twin)
            l2v, l1v = (float(penalty_value(tw, arch, pen)) for pen in unit)
            rows.append(
                {
                    "activation": activation,
                    "transformation": name,
                    "function_change": float(jnp.max(jnp.abs(linear_predictor(tw, X, arch) - eta))),
                    "l2": l2v,
                    "l1": l1v,
                    "l2_invariant": bool(np.isclose(l2v, pens[0], rtol=1e-12)),
                    "l1_invariant": bool(np.isclose(l1v, pens[1], rtol=1e-12)),
                }
            )
    return rows


def relu_balance(result) -> list[dict]:
    """Incoming and outgoing weight norms of every relu unit of a fit.

    At an optimum of an L2-penalized fit the two are equal for each unit (the
    penalized incoming weights: without ``penalize_bias`` the bias is not
    counted); under L1 the L1 norms are equal.
    """
    arch = result.arch
    params = as_estimate(result).params
    norm = 1 if result.penalty.l1 > 0 and result.penalty.l2 == 0 else 2
    out = []
    for l, activation in enumerate(arch.activation):
        if activation != "relu":
            continue
        W, b = np.asarray(params.layers[l].W), np.asarray(params.layers[l].b)
        V = np.asarray(params.layers[l + 1].W)
        for j in range(W.shape[1]):
            inc = np.append(W[:, j], b[j]) if result.penalty.penalize_bias else W[:, j]
            out.append(
                {
                    "unit": arch.unit_names()[l + 1][j],
                    "incoming": float(np.linalg.norm(inc, norm)),
                    "outgoing": float(np.linalg.norm(V[j], norm)),
                }
            )
    return out
