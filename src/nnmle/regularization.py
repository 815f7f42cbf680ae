"""Regularization: diverging weights, penalty paths, cross-validation, evidence.

Diverging weights
-----------------
Without a penalty the maximum likelihood estimate of a network often does not
exist: with separated classes (or a network flexible enough to interpolate),
the negative log-likelihood decreases towards its infimum as the weights go to
infinity, and an optimizer stops only because the gradient, which decays like
the loss, falls below the tolerance. :func:`check_divergence` (run by
:func:`nnmle.fit` on every unpenalized L-BFGS fit that converged or stalled)
continues the optimizer for up to 50 iterations and records the weight norm
at every iteration. The MLE is declared not to exist when the objective keeps
falling, the fitted means reach the boundary of the parameter space
(probabilities or class probabilities within 1e-8 of 0 or 1, Poisson means
below 1e-8, or a gaussian deviance below 1e-10 of the null deviance: an exact
fit, where the ML variance is 0), and either the weight norm races away
(growth above ``max(1, 10%)``, the second half of the trace growing at least a
quarter as much as the first) or the deviance at least halves (the fit is
already far out, where more norm buys a large relative drop of a tiny
deviance). R's ``glm`` says the same with "fitted probabilities numerically 0
or 1 occurred".

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
the continuous rescaling symmetry and picks the balanced representative of
each orbit; only the finite group (permutations) is left for
:func:`nnmle.symmetry.canonicalize`. Its unit-norm rescaling would move a
penalized fit off its optimum, so :mod:`nnmle.inference` applies only the
permutation and signs of the canonical element to relu units under a penalty.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax.tree_utils as otu

from .data import prepare
from .families import get_family
from .fit import (
    DEFAULT_MEMORY,
    STATUS,
    FitResult,
    _pool_advance,
    _pool_init,
    build_architecture,
    fit_prepared,
    run_starts,
    starting_values,
)
from .inference import curvature
from .objective import Data, linear_predictor
from .penalties import Penalty, penalized_mask
from .proximal import prox_starts
from .symmetry import group

__all__ = [
    "DivergenceCheck",
    "PathPoint",
    "PathResult",
    "check_divergence",
    "log_evidence",
    "path",
    "path_report",
    "plot_path",
    "render_path",
    "weight_norm_trace",
]

_CONTINUE_ITER = 50
_BOUNDARY_EPS = 1e-8
_EXACT_FIT = 1e-10


@dataclass
class DivergenceCheck:
    """Weight-norm trace of an unpenalized fit continued past its stopping point.

    Attributes
    ----------
    norms : ndarray
        Euclidean norm of the free weights at the fit, then after each further
        L-BFGS iteration.
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


@functools.partial(jax.jit, static_argnames=("family", "arch"))
def _fit_measures(theta, data: Data, family, arch):
    """Case-weighted NLL kernel, deviance and fitted means (one compiled call)."""
    eta = linear_predictor(theta, data.X, arch)
    nll = jnp.sum(data.w * family.loss_obs(eta, data.Y))
    return nll, family.deviance(eta, data.Y, data.w), family.inverse_link(eta)


def _boundary(theta, data: Data, result: FitResult) -> tuple[int, float]:
    """Observations with a fitted mean numerically on the boundary, and the deviance."""
    fam = result.family
    _, dev, mu = _fit_measures(jnp.asarray(theta), data, fam, result.arch)
    dev, mu = float(dev), np.asarray(mu)
    used = np.asarray(data.w) > 0
    if fam.name == "gaussian":
        exact = dev <= _EXACT_FIT * result.null_deviance
        return (int(used.sum()) if exact else 0), dev
    if fam.name == "poisson":
        return int(np.sum(used & (mu[:, 0] < _BOUNDARY_EPS))), dev
    near = np.minimum(mu, 1.0 - mu) < _BOUNDARY_EPS
    return int(np.sum(used & near.any(axis=1))), dev


def weight_norm_trace(result: FitResult, n_iter: int = _CONTINUE_ITER):
    """Continue L-BFGS from ``result.theta`` (gradient tolerance 0) for ``n_iter`` iterations.

    Returns the free-weight norms, the objectives (fit first) and the last iterate.
    """
    free = result.arch.free_mask()
    static = dict(
        family=result.family, arch=result.arch, penalty=result.penalty, memory=DEFAULT_MEMORY
    )
    carry = _pool_init(jnp.asarray(result.theta), result.data, batched=False, **static)
    tol, until, one = jnp.asarray(0.0), jnp.asarray(n_iter, jnp.int32), jnp.asarray(1, jnp.int32)
    norms = [float(np.linalg.norm(result.theta[free]))]
    values = [result.objective]
    for _ in range(n_iter):
        carry = _pool_advance(carry, result.data, tol, until, one, batched=False, **static)
        theta = np.asarray(carry.theta)
        norms.append(float(np.linalg.norm(theta[free])))
        values.append(float(otu.tree_get(carry.state, "value")))
        if int(carry.status) != -1:
            break
    return np.array(norms), np.array(values), theta


def check_divergence(
    result: FitResult, n_iter: int = _CONTINUE_ITER, stacklevel: int = 2
) -> DivergenceCheck | None:
    """Decide whether the MLE of an unpenalized fit exists; mark and warn when it does not.

    Runs only on fits that stopped at the tolerance or stalled (``status`` in
    ``converged``/``stalled``). It stores the :class:`DivergenceCheck` in
    ``result.divergence``; when the weights diverge it sets ``result.status``
    to ``"mle_not_exist"`` with its message and emits a ``UserWarning``.

    Parameters
    ----------
    result : FitResult
    n_iter : int
        Iterations of the continuation.
    stacklevel : int
        For the warning.

    Returns
    -------
    DivergenceCheck or None
        ``None`` when the check does not apply.

    Examples
    --------
    >>> import numpy as np, nnmle, warnings
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array([0, 0, 1, 1])
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = nnmle.fit(X, y, hidden=(), family="bernoulli")
    >>> res.status, res.divergence.diverged
    ('mle_not_exist', True)
    """
    if result.status not in ("converged", "stalled") or result.data is None:
        return None
    norms, values, last = weight_norm_trace(result, n_iter)
    half = norms[norms.size // 2]
    growth = norms[-1] - norms[0]
    racing = growth > max(1.0, 0.1 * norms[0]) and norms[-1] - half >= 0.25 * (half - norms[0])
    n_boundary, deviance = _boundary(last, result.data, result)
    collapsing = deviance <= 0.5 * result.deviance
    diverged = bool(values[-1] < values[0] and n_boundary > 0 and (racing or collapsing))
    check = DivergenceCheck(norms, values, n_boundary, diverged)
    result.divergence = check
    if diverged:
        result.status, result.message = STATUS[4]
        result.message = f"{result.message} [{check.describe()}]"
        warnings.warn(
            f"nnmle: fitted probabilities numerically 0 or 1 occurred ({check.describe()}): "
            f"the maximum likelihood estimate does not exist (separated classes or an "
            f"interpolating network), and the reported weights are only where the optimizer "
            f"stopped. Fix: add a penalty, e.g. nnmle.fit(..., l2=0.01), and choose it with "
            f"nnmle.path(X, y, l2=[...], cv=5).",
            UserWarning,
            stacklevel=stacklevel,
        )
    return check


# --- the regularization path ---------------------------------------------------------------------


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
        Effective number of parameters ``tr(I (I + 2 l2 P)^-1)`` on the non-zero
        weights (:func:`nnmle.inference.curvature`).
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
    fit : FitResult
        The fit at the selected value.
    group_order : int
        Order of the architecture's symmetry group (in the evidence).
    notes : list of str
    """

    penalty: str
    values: np.ndarray
    fixed: dict
    points: list[PathPoint]
    cv: int
    selected: dict
    select: str
    fit: FitResult
    group_order: int
    notes: list[str]

    def column(self, name: str) -> np.ndarray:
        """One attribute of every point as an array, e.g. ``path.column("cv_deviance")``."""
        return np.array([getattr(p, name) for p in self.points], dtype=float)


def _penalty_at(kind: str, value: float, fixed: dict) -> Penalty:
    other = "l1" if kind == "l2" else "l2"
    return Penalty(**{kind: value, other: fixed[other]}, penalize_bias=fixed["penalize_bias"])


def _solve_point(thetas0, data: Data, family, arch, penalty: Penalty, tol, max_iter, workers=1):
    """The best start for one penalty value, on a solver compiled once for the whole path.

    An L2-only problem is solved as ``objective / l2`` (case weights ``w / l2``,
    penalty ``1 * |theta|^2``, gradient tolerance ``tol / l2``): the same
    minimizer, and the penalty (a static argument of the jitted L-BFGS) stays
    the same along the path. L1 and elastic net go to the proximal solver,
    whose coefficients are traced.
    """
    scale = 1.0
    if penalty.l1 > 0:
        starts = prox_starts(thetas0, data, family, arch, penalty, tol, max_iter)
    elif penalty.l2 > 0:
        scale = penalty.l2
        scaled = Data(data.X, data.Y, data.w / scale)
        unit = Penalty(l2=1.0, penalize_bias=penalty.penalize_bias)
        starts = run_starts(
            thetas0, scaled, family, arch, unit, tol / scale, max_iter, workers=workers
        )
    else:
        starts = run_starts(thetas0, data, family, arch, penalty, tol, max_iter, workers=workers)
    best = min(starts, key=lambda r: (not np.isfinite(r.objective), r.objective))
    return np.asarray(best.theta), best.objective * scale, best.status


def log_evidence(theta, data: Data, family, arch, penalty: Penalty, curv=None) -> float:
    """Laplace approximation to the log marginal likelihood of an L2 penalty (MacKay 1992).

    The penalty ``l2 |w|^2`` is a normal prior ``N(0, 1 / (2 l2))`` on each of
    the ``k_p`` penalized weights (the other ``k - k_p``, biases by default,
    get a flat prior of density 1: a constant along a path). With ``F`` the
    penalized objective at its minimum and ``H`` its Hessian,

        log Z = -F + C + (k/2) log(2 pi) - 1/2 log det H + (k_p/2) log(l2 / pi) + log |G|

    where ``C`` is the family's log-likelihood constant (``log y!`` terms) and
    ``|G|`` the order of the symmetry group: the posterior has ``|G|``
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
    if penalty.l1 > 0 or penalty.l2 == 0:
        return math.nan
    curv = curv if curv is not None else curvature(theta, data, family, arch, penalty)
    if curv.hess_eigs.size == 0 or curv.hess_eigs[0] <= 0:
        return math.nan
    k, kp = curv.positions.size, curv.n_penalized
    logdet = float(np.sum(np.log(curv.hess_eigs)))
    pmask = penalized_mask(arch, penalty)
    nll = float(_fit_measures(jnp.asarray(theta), data, family, arch)[0])
    F = nll + penalty.l2 * float(np.sum(np.asarray(theta)[pmask] ** 2))
    log_g = math.log(group(arch).order)
    if family.has_dispersion:
        N = float(np.sum(np.asarray(data.w)))
        beta = (N - k + kp) / (2.0 * F)
        return (
            -beta * F
            + 0.5 * k * math.log(2 * math.pi)
            - 0.5 * (logdet + k * math.log(beta))
            + 0.5 * kp * math.log(penalty.l2 * beta / math.pi)
            + 0.5 * N * math.log(beta / (2 * math.pi))
            + log_g
        )
    const = float(family.loglik_const(data.Y, data.w))
    return (
        -F
        + const
        + 0.5 * k * math.log(2 * math.pi)
        - 0.5 * logdet
        + 0.5 * kp * math.log(penalty.l2 / math.pi)
        + log_g
    )


def _folds(prep, family, cv: int, seed: int) -> list[np.ndarray]:
    """Held-out index sets: stratified by class for 0/1 and multinomial targets."""
    from sklearn.model_selection import KFold, StratifiedKFold

    n = prep.X.shape[0]
    if family.name in ("bernoulli", "multinomial"):
        labels = np.argmax(prep.Y, axis=1) if prep.Y.shape[1] > 1 else prep.Y[:, 0]
        if np.min(np.bincount(labels.astype(int))) >= cv:
            splitter = StratifiedKFold(cv, shuffle=True, random_state=seed)
            return [test for _, test in splitter.split(prep.X, labels)]
    return [test for _, test in KFold(cv, shuffle=True, random_state=seed).split(np.zeros(n))]


def _as_grid(l2, l1) -> tuple[str, np.ndarray, float]:
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


def path(
    X,
    y=None,
    *,
    data=None,
    hidden=(10,),
    activation: str = "tanh",
    family="bernoulli",
    l2=0.0,
    l1=0.0,
    penalize_bias: bool = False,
    skip: bool = False,
    bias=True,
    weights=None,
    cv: int = 5,
    select: str = "cv_min",
    n_restarts: int = 1,
    seed: int = 0,
    init: str = "uniform",
    rang: float = 0.7,
    tol: float = 1e-6,
    max_iter: int = 5000,
) -> PathResult:
    """Fit a regularization path with warm starts, cross-validation and the evidence.

    The grid (``l2=[...]`` or ``l1=[...]``; the other coefficient fixed) is
    fitted from the largest value down, each fit starting from the previous
    solution (the first from ``n_restarts`` random starts). For every value:
    the weight norm, training deviance, held-out deviance by ``cv``-fold
    cross-validation (each fold runs its own warm-started path from the
    full-data fit at the first value), the effective degrees of freedom and
    the log evidence (:func:`log_evidence`).

    Selection rules: ``cv_min`` (smallest CV deviance), ``cv_1se`` (the largest
    penalty whose CV deviance is within one standard error of the minimum)
    and ``evidence`` (largest log evidence; L2 paths only).

    Parameters
    ----------
    X, y, data, hidden, activation, family, penalize_bias, skip, bias, weights
        As for :func:`nnmle.fit`.
    l2, l1 : float or sequence of float
        Exactly one is a sequence (the grid).
    cv : int
        Folds (0 or 1: no cross-validation; then only ``select="evidence"``).
    select : {"cv_min", "cv_1se", "evidence"}
        The rule whose value is refitted as ``PathResult.fit``.
    n_restarts, seed, init, rang, tol, max_iter
        As for :func:`nnmle.fit`; ``seed`` also shuffles the folds.

    Returns
    -------
    PathResult

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 3)); y = X[:, 0] + rng.normal(size=80)
    >>> p = nnmle.path(X, y, hidden=(), family="gaussian", l2=[100.0, 1.0, 0.01], cv=4)
    >>> bool(p.column("weight_norm")[0] < p.column("weight_norm")[-1])
    True
    """
    if select not in ("cv_min", "cv_1se", "evidence"):
        raise ValueError(
            f"select={select!r} is not a rule: expected 'cv_min', 'cv_1se' or 'evidence'."
        )
    if not isinstance(cv, int | np.integer) or cv < 0:
        raise ValueError(f"cv must be an integer >= 0 (folds); got {cv!r}. Fix: cv=5.")
    kind, values, other = _as_grid(l2, l1)
    if select == "evidence" and (kind == "l1" or other > 0):
        raise ValueError(
            "select='evidence' needs an L2 grid without L1 (the evidence of an L1 prior is not "
            "computed). Fix: nnmle.path(X, y, l2=[...], select='evidence'), or select='cv_min'."
        )
    if select != "evidence" and cv < 2:
        raise ValueError(
            f"select={select!r} needs cross-validation with cv >= 2 folds; got cv={cv}. "
            f"Fix: cv=5, or select='evidence' on an L2 grid."
        )
    fam = get_family(family)
    fixed = {"l2" if kind == "l1" else "l1": other, "penalize_bias": bool(penalize_bias)}
    prep = prepare(X, y, fam, weights=weights, data=data)
    arch = build_architecture(prep, fam, hidden, activation, skip, bias)
    full = Data(jnp.asarray(prep.X), jnp.asarray(prep.Y), jnp.asarray(prep.w))
    thetas0 = starting_values(arch, n_restarts, seed, init, rang)
    pmask = penalized_mask(arch, _penalty_at(kind, 1.0, fixed))
    free = arch.free_mask()

    fits = []
    for v in values:
        pen = _penalty_at(kind, v, fixed)
        theta, obj, status = _solve_point(thetas0, full, fam, arch, pen, tol, max_iter, None)
        fits.append((pen, theta, obj, status))
        thetas0 = theta[None, :]

    folds = _folds(prep, fam, cv, seed) if cv >= 2 else []
    held = np.full((len(values), len(folds)), np.nan)
    for f, test in enumerate(folds):
        train = np.ones(prep.X.shape[0])
        train[test] = 0.0
        fold = Data(full.X, full.Y, full.w * train)
        held_out = Data(full.X, full.Y, full.w * (1.0 - train))
        start = fits[0][1][None, :]
        for i, (pen, *_) in enumerate(fits):
            theta, _, _ = _solve_point(start, fold, fam, arch, pen, tol, max_iter)
            held[i, f] = float(_fit_measures(jnp.asarray(theta), held_out, fam, arch)[1])
            start = theta[None, :]

    points = []
    for i, (pen, theta, obj, status) in enumerate(fits):
        curv = curvature(theta, full, fam, arch, pen)
        points.append(
            PathPoint(
                l2=pen.l2,
                l1=pen.l1,
                theta=theta,
                weight_norm=float(np.linalg.norm(theta[pmask])),
                n_nonzero=int(np.sum(theta[free] != 0)),
                objective=float(obj),
                deviance=float(_fit_measures(jnp.asarray(theta), full, fam, arch)[1]),
                cv_deviance=float(held[i].sum()) if folds else math.nan,
                cv_se=float(math.sqrt(len(folds)) * np.std(held[i], ddof=1)) if folds else math.nan,
                edf=curv.edf,
                log_evidence=log_evidence(theta, full, fam, arch, pen, curv),
                status=status,
            )
        )
    selected = _select(values, points)
    notes = _path_notes(kind, fixed, cv, points)
    rule = selected[select]
    if rule is None:
        raise ValueError(
            f"The rule select={select!r} does not apply to this path ({notes[-1]}). "
            f"Fix: select='cv_min' with cv >= 2, or an L2 grid for 'evidence'."
        )
    i_sel = int(np.flatnonzero(values == rule)[0])
    result = fit_prepared(
        prep, fam, arch, fits[i_sel][0], start_values=fits[i_sel][1], tol=tol, max_iter=max_iter
    )
    return PathResult(
        kind, values, fixed, points, len(folds), selected, select, result, group(arch).order, notes
    )


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
        "edf = tr(I (I + 2 l2 P)^-1) on the non-zero weights",
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
    }


def render_path(result: PathResult) -> str:
    """The path as a text table, with the selected values below it."""
    rep = path_report(result)
    kind = rep["penalty"]
    cols = [
        (kind, "{:>10.4g}"),
        ("weight_norm", "{:>11.4g}"),
        ("n_nonzero", "{:>9d}"),
        ("deviance", "{:>10.4f}"),
        ("cv_deviance", "{:>11.4f}"),
        ("cv_se", "{:>8.3f}"),
        ("edf", "{:>8.3f}"),
        ("log_evidence", "{:>12.3f}"),
        ("status", "{:>10}"),
    ]
    head = "  ".join(
        f"{c:>{len(fmt.format(0) if c != 'status' else fmt.format('x'))}}" for c, fmt in cols
    )
    lines = [f"Regularization path ({kind}; fixed {rep['fixed']}; {rep['cv']}-fold CV)", head]
    lines.append("-" * len(head))
    for row in rep["rows"]:
        lines.append("  ".join(fmt.format(row[c]) for c, fmt in cols))
    lines.append("-" * len(head))
    for rule, v in rep["selected"].items():
        mark = "  <- fitted" if rule == rep["select"] else ""
        lines.append(f"selected by {rule:<8}: {kind} = {v if v is None else format(v, 'g')}{mark}")
    lines += [f"Note: {n}" for n in rep["notes"]]
    return "\n".join(lines)


def plot_path(result: PathResult, file) -> str:
    """Deviance (training and cross-validated, +- 1 SE) and weight norm against the penalty.

    Writes ``file`` (any format matplotlib knows from the extension) and returns its path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.asarray(result.values)
    positive = x[x > 0]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
    ax1.plot(x, result.column("deviance"), "o-", label="training deviance")
    if result.cv:
        ax1.errorbar(
            x,
            result.column("cv_deviance"),
            yerr=result.column("cv_se"),
            fmt="s-",
            capsize=3,
            label=f"{result.cv}-fold CV deviance",
        )
    for rule, style in (("cv_min", "--"), ("cv_1se", ":"), ("evidence", "-.")):
        v = result.selected.get(rule)
        if v is not None:
            for ax in (ax1, ax2):
                ax.axvline(v, color="grey", ls=style, label=rule if ax is ax1 else None)
    ax1.set_ylabel("deviance")
    ax1.legend(fontsize=8)
    ax2.plot(x, result.column("weight_norm"), "o-", color="C2", label="weight norm")
    ax2.set_ylabel("norm of penalized weights")
    ax3 = ax2.twinx()
    ax3.plot(x, result.column("edf"), "^--", color="C3", label="edf")
    ax3.set_ylabel("effective df", color="C3")
    ax2.set_xscale("symlog", linthresh=float(positive.min()) if positive.size else 1.0)
    ax2.set_xlabel(f"{result.penalty} penalty")
    ax2.legend(loc="upper left", fontsize=8)
    ax3.legend(loc="upper right", fontsize=8)
    fig.suptitle(f"Regularization path ({result.fit.arch.describe()}, {result.fit.family.name})")
    fig.tight_layout()
    fig.savefig(file)
    plt.close(fig)
    return str(file)


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
    from .networks import Architecture, init_params
    from .penalties import penalty_value
    from .symmetry import act_flat, random_element

    rows = []
    X = jnp.asarray(np.random.default_rng(seed).standard_normal((64, n_inputs)))
    for activation in ("tanh", "relu"):
        arch = Architecture.build(n_inputs, hidden=(width,), activation=activation)
        theta = np.asarray(init_params(jax.random.PRNGKey(seed), arch))
        twins = [
            ("identity", theta),
            (
                "permutation and sign flips" if activation == "tanh" else "permutation",
                act_flat(random_element(arch, seed + 1, continuous=False), theta, arch),
            ),
        ]
        if activation == "relu":
            g = random_element(arch, seed + 2, continuous=True)
            twins.append(("rescaling of every unit (continuous)", act_flat(g, theta, arch)))
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


def render_penalty_symmetry(rows: list[dict] | None = None) -> str:
    """:func:`penalty_symmetry_table` as text, with what it means."""
    rows = penalty_symmetry_table() if rows is None else rows
    head = (
        f"{'activation':<10}  {'transformation':<38}  {'max |d eta|':>11}  "
        f"{'sum w^2':>9}  {'sum |w|':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['activation']:<10}  {r['transformation']:<38}  {r['function_change']:>11.1e}  "
            f"{r['l2']:>9.5f}  {r['l1']:>9.5f}"
        )
    lines += [
        "",
        "Permutations and sign flips leave the function, the L2 and the L1 penalty unchanged:",
        "a penalty does not make the weights identifiable. Rescaling a relu unit",
        "(w_in, b, w_out) -> (c w_in, c b, w_out / c) keeps the function but not the penalty;",
        "at an L2-penalized optimum every relu unit is balanced (|w_in| = |w_out|), so the",
        "penalty fixes the scale and only the permutations remain (see relu_balance).",
    ]
    return "\n".join(lines)


def relu_balance(result: FitResult) -> list[dict]:
    """Incoming and outgoing weight norms of every relu unit of a fit.

    At an optimum of an L2-penalized fit the two are equal for each unit (the
    penalized incoming weights: without ``penalize_bias`` the bias is not
    counted); under L1 the L1 norms are equal.
    """
    arch = result.arch
    params = result.params
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
