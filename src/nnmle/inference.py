"""Statistical inference for fitted networks: standard errors, tests, intervals, bootstrap.

What is estimated
-----------------
A network's weights are identified at best up to its symmetry group, so
inference is done for the *canonical* weights (:func:`nnmle.symmetry.canonicalize`;
under a penalty only the permutation and signs of the canonical element are
applied, since rescaling a relu unit would move a penalized fit off its
optimum). Even then a weight may not be identified: when the observed
information matrix ``I`` (the Hessian of the negative log-likelihood over the
free weights) is singular, a weight with a non-zero component in its null
space is *not identified*, and the table says so instead of printing numbers.
An eigenvalue counts as zero when ``|lambda| <= max(1e-8 * max|lambda|, 10 * |grad|)``
(the rule of :mod:`nnmle.identifiability`); a weight is not identified when
its squared loading on the null space exceeds ``1e-6``. Predictions are
identified whatever the symmetry.

Covariances (``H`` the Hessian of the *penalized* objective, ``H = I + 2 l2 P``
with ``P`` the diagonal of penalized entries; ``H^-1`` its inverse, or the
pseudo-inverse on the non-null eigenvectors when ``I`` is singular):

* ``se="hessian"``: ``phi * H^-1``. The dispersion ``phi`` is 1, except for
  the gaussian family, whose objective is ``1/2 * sum of squared residuals``
  (the NLL at unit variance), so ``phi = sum w r^2 / (sum w - edf)``: the
  Pearson chi-square over the residual degrees of freedom, as statsmodels'
  GLM (``edf`` below equals the number of weights without a penalty).
* ``se="sandwich"``: ``H^-1 J H^-1`` with ``J = sum_i c_i s_i s_i'``, ``s_i``
  the gradient of observation ``i``'s loss and ``c_i`` its case weight
  (frequency weights; ``c_i = w_i^2`` for the binomial family, whose weights
  are numbers of trials of one observation). Robust to a wrong likelihood,
  needs no dispersion (statsmodels' ``cov_type="HC0"``).
* ``se="bootstrap"``: the covariance of aligned bootstrap replicates
  (:func:`bootstrap`), with percentile intervals.

``z = coef / se``, ``p = 2 * (1 - Phi(|z|))``, intervals ``coef -/+ z_(1+level)/2 se``
(normal reference, as statsmodels' GLM). Under an L1 penalty, weights set
exactly to zero get no standard error; the others use the Hessian over the
non-zero weights (a "post-selection" number, not a valid test).

The effective number of parameters is ``edf = tr(I H^-1)``; with every
weight penalized it equals ``sum_i e_i / (e_i + 2 l2)`` over the eigenvalues
``e_i`` of ``I``, and without a penalty the rank of ``I``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from . import symmetry
from .families import get_family
from .fit import FitResult, run_starts, starting_values
from .identifiability import EIG_RTOL
from .landscape import Problem, hessian
from .multistart import _canonical
from .networks import Architecture
from .objective import Data, linear_predictor
from .penalties import Penalty, penalized_mask

__all__ = [
    "Bootstrap",
    "Curvature",
    "Inference",
    "LRTest",
    "PredictionInterval",
    "bootstrap",
    "bootstrap_replicates",
    "canonical_theta",
    "curvature",
    "effective_df",
    "infer",
    "inference_table",
    "information_criteria",
    "lr_test",
    "predict_interval",
    "wald_inputs",
]

METHODS = ("hessian", "sandwich", "bootstrap")
#: a weight is not identified when its squared loading on the null space exceeds this
LOADING_TOL = 1e-6


# --- curvature ---------------------------------------------------------------------------------


def canonical_theta(result: FitResult) -> np.ndarray:
    """The fitted weights in canonical form (permutation and signs only under a penalty)."""
    return _canonical(np.asarray(result.theta), result.arch, result.penalty, symmetry)


def _active(theta: np.ndarray, arch: Architecture, penalty: Penalty) -> np.ndarray:
    """Flat mask of the weights inference is about: free, and not zeroed by the L1 penalty."""
    active = arch.free_mask().copy()
    if penalty.l1 > 0:
        active &= ~(penalized_mask(arch, penalty) & (theta == 0))
    return active


def _data(result: FitResult) -> Data:
    if result.data is None:
        raise ValueError(
            "The FitResult carries no data (result.data is None), which inference needs. "
            "Fix: pass a result of nnmle.fit(...), or refit a loaded model on its data."
        )
    return result.data


@functools.partial(jax.jit, static_argnames=("family", "arch"))
def _scores(theta, data, family, arch):
    """Gradients of each observation's loss (unit case weight): shape ``(n, n_total)``."""

    def losses(th):
        return family.loss_obs(linear_predictor(th, data.X, arch), data.Y)

    return jax.jacrev(losses)(theta)


def _predictor(theta, X, family, arch, mean):
    """Linear predictor (``mean=False``) or fitted mean at ``theta``."""
    eta = linear_predictor(theta, X, arch)
    return family.inverse_link(eta) if mean else eta


_predict = jax.jit(_predictor, static_argnames=("family", "arch", "mean"))


@functools.partial(jax.jit, static_argnames=("family", "arch", "mean"))
def _jacobian(theta, X, family, arch, mean):
    """Jacobian of :func:`_predictor` in the weights: ``(n, q, n_total)``."""
    return jax.jacrev(_predictor)(theta, X, family, arch, mean)


class Curvature(NamedTuple):
    """Second-order quantities at a weight vector (see :func:`curvature`)."""

    theta: np.ndarray  # flat weights
    positions: np.ndarray  # flat positions of the active weights
    info: np.ndarray  # NLL Hessian (observed information) on the active weights
    hinv: np.ndarray  # (pseudo-)inverse of the penalized Hessian
    hess_eigs: np.ndarray  # eigenvalues of the penalized Hessian, ascending
    n_penalized: int  # active weights under the L2 penalty
    identified: np.ndarray  # per active weight
    nullity: int  # zero eigenvalues of the information matrix
    n_negative: int  # negative eigenvalues of the penalized Hessian
    edf: float


def curvature(
    theta, data: Data, family, arch: Architecture, penalty: Penalty, grad_norm: float = 0.0
) -> Curvature:
    """Information matrix, penalized Hessian, identification and ``edf`` at ``theta``.

    The active weights are the free ones not set to zero by an L1 penalty. The
    Hessian of the NLL on them is the observed information ``I``; the
    penalized Hessian is ``I + 2 l2 P``. Null directions of ``I`` use the
    threshold ``max(1e-8 max|lambda|, 10 grad_norm)``.
    """
    theta = np.asarray(theta, dtype=float)
    active = _active(theta, arch, penalty)
    index = np.flatnonzero(active)
    free = arch.free_mask()
    H = hessian(theta, Problem(data, family, arch, Penalty()))
    pos = np.flatnonzero(active[free])
    info = H[np.ix_(pos, pos)]
    pmask = penalized_mask(arch, penalty)[index]
    pen = 2.0 * penalty.l2 * pmask.astype(float)
    lam, vec = np.linalg.eigh(info)
    thr = max(EIG_RTOL * float(np.abs(lam).max(initial=0.0)), 10.0 * grad_norm)
    null = vec[:, np.abs(lam) <= thr]
    identified = np.sum(null**2, axis=1) <= LOADING_TOL
    lam_p, vec_p = np.linalg.eigh(info + np.diag(pen))
    keep = lam_p > thr
    hinv = (vec_p[:, keep] / lam_p[keep]) @ vec_p[:, keep].T
    return Curvature(
        theta,
        index,
        info,
        hinv,
        lam_p,
        int(pmask.sum()) if penalty.l2 > 0 else 0,
        identified,
        int(null.shape[1]),
        int(np.sum(lam_p < -thr)),
        float(np.trace(info @ hinv)),
    )


def _curvature(result: FitResult) -> Curvature:
    return curvature(
        canonical_theta(result),
        _data(result),
        result.family,
        result.arch,
        result.penalty,
        result.grad_norm,
    )


def effective_df(result: FitResult) -> float:
    """Effective number of parameters ``tr(I H^-1)`` (module docstring).

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> X = np.arange(8.0)[:, None]; y = np.array([0.1, 1.2, 1.9, 3.2, 4.1, 4.8, 6.3, 7.0])
    >>> round(effective_df(nnmle.fit(X, y, hidden=(), family="gaussian")), 6)
    2.0
    """
    return _curvature(result).edf


def _dispersion(result: FitResult, theta: np.ndarray, edf: float) -> float:
    if not result.family.has_dispersion:
        return 1.0
    data = _data(result)
    eta = np.asarray(_predict(jnp.asarray(theta), data.X, result.family, result.arch, False))
    w = np.asarray(data.w)
    resid = np.asarray(data.Y)[:, 0] - eta[:, 0]
    return float(np.sum(w * resid**2) / (np.sum(w) - edf))


def _meat(result: FitResult, theta: np.ndarray, index: np.ndarray) -> np.ndarray:
    data = _data(result)
    S = np.asarray(_scores(jnp.asarray(theta), data, result.family, result.arch))[:, index]
    w = np.asarray(data.w)
    c = w**2 if result.family.name == "binomial" else w
    return (S * c[:, None]).T @ S


# --- the inference object -----------------------------------------------------------------------


@dataclass
class Inference:
    """Standard errors, z, p and intervals for the canonical weights of a fit.

    Attributes
    ----------
    method : str
        ``"hessian"``, ``"sandwich"`` or ``"bootstrap"``.
    level : float
        Confidence level of the intervals.
    names : list of str
        Free weights, in :func:`nnmle.networks.ravel` order.
    coef : ndarray
        Canonical weights (what the table shows).
    se, z, p, ci_low, ci_high : ndarray
        NaN where the weight is not identified or was set to zero by the L1 penalty.
    identified : ndarray of bool
        ``False`` for weights along a null direction of the information matrix.
    zero : ndarray of bool
        Weights set exactly to zero by the L1 penalty (no standard error).
    cov : ndarray
        Covariance of the active (non-zero) weights, in the order of ``index``
        (pseudo-inverse based where the information is singular; meaningful only
        for identified combinations such as predictions).
    index : ndarray
        Flat positions of the active weights.
    theta : ndarray
        Canonical flat weights.
    edf, scale : float
        Effective number of parameters; dispersion used by ``"hessian"``.
    nullity, n_negative : int
        Zero eigenvalues of the information matrix; negative eigenvalues of the
        penalized Hessian (the fit is then not a local minimum).
    notes : list of str
    bootstrap : Bootstrap or None
    """

    method: str
    level: float
    names: list[str]
    coef: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    identified: np.ndarray
    zero: np.ndarray
    cov: np.ndarray = field(repr=False)
    index: np.ndarray = field(repr=False)
    theta: np.ndarray = field(repr=False)
    edf: float = np.nan
    scale: float = 1.0
    nullity: int = 0
    n_negative: int = 0
    notes: list[str] = field(default_factory=list)
    bootstrap: Any = field(default=None, repr=False)
    fit_theta: np.ndarray | None = field(default=None, repr=False)

    @property
    def not_identified(self) -> list[str]:
        """Names of the weights that are not identified."""
        return [n for n, ok in zip(self.names, self.identified, strict=True) if not ok]

    def table(self) -> list[dict]:
        """One dict per free weight (the ``--json`` rows; see :func:`inference_table`)."""
        rows = []
        for j, name in enumerate(self.names):
            row: dict = {"name": name, "value": float(self.coef[j])}
            if not self.identified[j]:
                row["identified"] = False
            elif self.zero[j]:
                row.update(se=None, z=None, p=None, ci_low=None, ci_high=None, zero=True)
            else:
                for key in ("se", "z", "p", "ci_low", "ci_high"):
                    row[key] = float(getattr(self, key)[j])
            rows.append(row)
        return rows

    def to_dict(self) -> dict:
        """Plain-Python view."""
        return {
            "method": self.method,
            "level": self.level,
            "edf": self.edf,
            "scale": self.scale,
            "nullity": self.nullity,
            "n_negative": self.n_negative,
            "not_identified": self.not_identified,
            "weights": self.table(),
            "notes": self.notes,
        }


def infer(
    result: FitResult,
    se: str = "hessian",
    level: float = 0.95,
    attach: bool = True,
    **bootstrap_options,
) -> Inference:
    """Standard errors, z, p and confidence intervals for the canonical weights.

    Parameters
    ----------
    result : FitResult
    se : {"hessian", "sandwich", "bootstrap"}
        The covariance (module docstring).
    level : float
        Confidence level of the intervals.
    attach : bool
        Store the result in ``result.inference``, so that ``result.summary()``
        shows the std err, z, P>|z| and interval columns.
    **bootstrap_options
        For ``se="bootstrap"``: passed to :func:`bootstrap` (``n_boot``, ``seed``, ...).

    Returns
    -------
    Inference

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = rng.poisson(np.exp(0.3 + 0.5 * X[:, 0]))
    >>> inf = nnmle.infer(nnmle.fit(X, y, hidden=(), family="poisson"))
    >>> inf.names, bool(inf.p[1] > 0.01)
    (['x1->y', 'x2->y', 'bias->y'], True)
    """
    if se not in METHODS:
        raise ValueError(
            f"se={se!r} is not a covariance nnmle knows: expected one of {', '.join(METHODS)}. "
            f"Fix: e.g. se='hessian' (inverse Hessian) or se='sandwich' (robust)."
        )
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level!r}. Fix: e.g. level=0.95.")
    cur = _curvature(result)
    arch = result.arch
    free = arch.free_mask()
    names = [arch.param_names()[j] for j in np.flatnonzero(free)]
    active_free = np.isin(np.flatnonzero(free), cur.positions)
    identified = np.ones(len(names), dtype=bool)
    identified[active_free] = cur.identified
    scale = 1.0
    boot = None
    if se == "hessian":
        scale = _dispersion(result, cur.theta, cur.edf)
        cov = scale * cur.hinv
    elif se == "sandwich":
        cov = cur.hinv @ _meat(result, cur.theta, cur.positions) @ cur.hinv
    else:
        boot = bootstrap(result, level=level, **bootstrap_options)
        reps = boot.replicates[:, cur.positions]
        ok = np.all(np.isfinite(reps), axis=1)
        cov = np.cov(reps[ok], rowvar=False).reshape(cur.positions.size, cur.positions.size)
    coef = cur.theta[np.flatnonzero(free)]
    se_v = np.full(len(names), np.nan)
    se_v[active_free] = np.sqrt(np.maximum(np.diag(cov), 0.0))
    se_v[~identified] = np.nan
    z = coef / se_v
    p = 2.0 * stats.norm.sf(np.abs(z))
    q = stats.norm.ppf(0.5 + level / 2)
    lo, hi = coef - q * se_v, coef + q * se_v
    if boot is not None:
        lo = np.where(np.isnan(se_v), np.nan, boot.ci_low[np.flatnonzero(free)])
        hi = np.where(np.isnan(se_v), np.nan, boot.ci_high[np.flatnonzero(free)])
    inf = Inference(
        method=se,
        level=level,
        names=names,
        coef=coef,
        se=se_v,
        z=z,
        p=p,
        ci_low=lo,
        ci_high=hi,
        identified=identified,
        zero=~active_free,
        cov=cov,
        index=cur.positions,
        theta=cur.theta,
        edf=cur.edf,
        scale=scale,
        nullity=cur.nullity,
        n_negative=cur.n_negative,
        notes=_notes(result, cur, se, scale, identified, names),
        bootstrap=boot,
        fit_theta=np.array(result.theta),
    )
    if attach:
        result.inference = inf
    return inf


def _notes(result, cur: Curvature, se: str, scale, identified, names) -> list[str]:
    notes = []
    if result.arch.hidden:
        notes.append(
            "coefficients are the canonical weights (nnmle.symmetry.canonicalize): each "
            "interval is for one representative of the symmetry group's orbit"
        )
    if se == "hessian" and result.family.has_dispersion:
        notes.append(
            f"gaussian dispersion phi = sum w r^2 / (sum w - edf) = {scale:.6g} "
            f"(Pearson chi2 / residual df, as statsmodels GLM)"
        )
    if se == "sandwich":
        notes.append("sandwich covariance H^-1 J H^-1 (HC0); J from the per-observation scores")
    if se == "bootstrap":
        notes.append("bootstrap: case resampling, replicates aligned to this fit; percentile CIs")
    if result.penalty.l2 > 0 or result.penalty.l1 > 0:
        notes.append(
            f"penalized fit: H includes the penalty's curvature; edf = tr(I H^-1) = {cur.edf:.4g}"
        )
    if result.penalty.l1 > 0:
        notes.append("weights set to zero by the L1 penalty have no standard error")
    if not identified.all():
        bad = [n for n, ok in zip(names, identified, strict=True) if not ok]
        notes.append(
            f"information matrix singular (nullity {cur.nullity}): not identified: "
            + ", ".join(bad)
            + _reasons(result)
        )
    if cur.n_negative:
        notes.append(
            f"the Hessian of the objective has {cur.n_negative} negative eigenvalue(s): the fit "
            "is not a local minimum (a saddle point); standard errors are not valid"
        )
    if not result.converged:
        notes.append(f"the fit did not converge ({result.status}): standard errors are doubtful")
    return notes


def _reasons(result: FitResult) -> str:
    """Why the null directions exist, from :func:`nnmle.identifiability.identifiability`."""
    from .identifiability import identifiability

    rep = identifiability(result)
    parts = [f"{e['reason']} ({', '.join(e['units'])})" for e in rep.null_explained]
    return (" [" + "; ".join(parts) + "]") if parts else ""


def _attached(result: FitResult, se: str, level: float | None = None) -> Inference | None:
    """The inference attached to ``result`` when it is for this covariance and these weights."""
    inf = getattr(result, "inference", None)
    if (
        inf is None
        or inf.method != se
        or (level is not None and inf.level != level)
        or not np.array_equal(inf.fit_theta, result.theta)
    ):
        return None
    return inf


def inference_table(result: FitResult, se: str = "hessian", level: float = 0.95) -> list[dict]:
    """The ``weights`` entries of ``nnmle fit --json`` with inference.

    Each dict has ``name`` and ``value`` (canonical weight) and either ``se``, ``z``,
    ``p``, ``ci_low``, ``ci_high`` or ``identified: False``; weights set to zero by
    the L1 penalty have ``zero: True`` and ``None`` numbers.
    """
    inf = _attached(result, se, level)
    return (inf or infer(result, se=se, level=level)).table()


# --- predictions -------------------------------------------------------------------------------


class PredictionInterval(NamedTuple):
    """Fitted means with pointwise confidence bounds (shape ``(n,)`` or ``(n, K)``)."""

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def predict_interval(
    result: FitResult, X, interval: str = "confidence", level: float = 0.95, se: str = "hessian"
) -> PredictionInterval:
    """Delta-method (or bootstrap percentile) confidence intervals for the fitted mean.

    For one linear predictor the interval is computed on the link scale,
    ``eta -/+ z se(eta)`` with ``se(eta)^2 = g' Cov g``, ``g = d eta / d theta``, and
    mapped through the inverse link (as statsmodels' ``get_prediction``); for the
    multinomial family, on the probabilities directly (clipped to [0, 1]).
    Predictions are identified whatever the symmetry: ``g`` is orthogonal to
    the flat directions of the likelihood, so the pseudo-inverse covariance
    gives the right variance. ``se="bootstrap"`` uses the percentiles of the
    replicates' predictions.

    Parameters
    ----------
    result : FitResult
    X : array-like or DataFrame
        New inputs (as for :meth:`~nnmle.fit.FitResult.predict`).
    interval : {"confidence"}
    level : float
    se : {"hessian", "sandwich", "bootstrap"}

    Returns
    -------
    PredictionInterval
    """
    if interval != "confidence":
        raise ValueError(
            f"interval={interval!r} is not supported: expected 'confidence' (for the mean). "
            f"Fix: result.predict(X, interval='confidence', level=0.95)."
        )
    Xd = jnp.asarray(result._design(X))
    inf = _attached(result, se) or infer(result, se=se, level=level, attach=False)
    multi = result.family.name == "multinomial"
    q = stats.norm.ppf(0.5 + level / 2)
    if se == "bootstrap":
        mu = np.stack([_mean(th, Xd, result) for th in inf.bootstrap.ok_replicates])
        lo, hi = np.quantile(mu, [0.5 - level / 2, 0.5 + level / 2], axis=0)
        mean = _mean(inf.theta, Xd, result)
        return PredictionInterval(mean, lo, hi)
    th = jnp.asarray(inf.theta)
    f = np.asarray(_predict(th, Xd, result.family, result.arch, multi))
    J = np.asarray(_jacobian(th, Xd, result.family, result.arch, multi))[..., inf.index]
    sd = np.sqrt(np.maximum(np.einsum("nqk,kl,nql->nq", J, inf.cov, J), 0.0))
    if multi:
        return PredictionInterval(f, np.clip(f - q * sd, 0, 1), np.clip(f + q * sd, 0, 1))
    link = result.family.inverse_link
    mean, lo, hi = (np.asarray(link(jnp.asarray(e)))[:, 0] for e in (f, f - q * sd, f + q * sd))
    return PredictionInterval(mean, lo, hi)


def _mean(theta, Xd, result: FitResult) -> np.ndarray:
    mu = np.asarray(_predict(jnp.asarray(theta), Xd, result.family, result.arch, True))
    return mu if result.family.name == "multinomial" else mu[:, 0]


# --- tests -------------------------------------------------------------------------------------


def wald_inputs(result: FitResult, se: str = "hessian") -> list[dict]:
    """Wald test for each input: all of its outgoing weights are zero.

    The weights are the input's row of the first layer (to every unit of the
    first hidden layer, or to the outputs without hidden layer) and of the skip
    layer; ``W = b' Cov^-1 b`` is chi-square with as many degrees of freedom
    as free weights. Permutations and sign flips of hidden units only permute
    and negate those weights, so the statistic is invariant under the group.

    Returns
    -------
    list of dict
        ``{"input", "df", "stat", "p"}``; ``stat`` and ``p`` are ``None`` with a
        ``"note"`` when one of the weights is not identified.
    """
    inf = _attached(result, se) or infer(result, se=se, attach=False)
    arch = result.arch
    first = np.arange(arch.n_inputs * arch.sizes[1]).reshape(arch.n_inputs, arch.sizes[1])
    skip = (
        arch.n_total - arch.n_inputs * arch.n_outputs + np.arange(arch.n_inputs * arch.n_outputs)
    ).reshape(arch.n_inputs, arch.n_outputs)
    free_pos = np.flatnonzero(arch.free_mask())
    ident = dict(zip(free_pos, inf.identified, strict=True))
    out = []
    for i, name in enumerate(arch.input_names):
        rows = np.concatenate([first[i], skip[i]]) if arch.skip else first[i]
        rows = rows[np.isin(rows, inf.index)]
        row: dict = {"input": name, "df": int(rows.size)}
        if rows.size == 0 or not all(ident[r] for r in rows):
            why = "no free non-zero weight" if rows.size == 0 else "a weight is not identified"
            row.update(stat=None, p=None, note=why)
        else:
            pos = np.searchsorted(inf.index, rows)
            b = inf.theta[rows]
            stat = float(b @ np.linalg.solve(inf.cov[np.ix_(pos, pos)], b))
            row.update(stat=stat, p=float(stats.chi2.sf(stat, rows.size)))
        out.append(row)
    return out


@dataclass
class LRTest:
    """Likelihood-ratio test of a restricted fit within a fuller one."""

    stat: float
    df: int
    p: float
    regular: bool
    notes: list[str]

    def to_dict(self) -> dict:
        """Plain-Python view."""
        return dict(self.__dict__)


def lr_test(restricted: FitResult, full: FitResult) -> LRTest:
    """Likelihood-ratio test ``2 (loglik_full - loglik_restricted) ~ chi2(k_full - k_restricted)``.

    The user vouches that ``restricted`` is nested in ``full`` (same data,
    family, fewer free weights). When the two differ in their hidden units the
    test is *non-regular*: the smaller network is reached on the boundary
    (an outgoing weight 0) where the incoming weights of the dropped units are
    not identified, so the chi-square reference does not hold (Davies'
    problem) and a ``UserWarning`` says so. Penalized fits are not maximum
    likelihood fits: the reference does not hold either.

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(100, 2)); y = X[:, 0] + rng.normal(size=100)
    >>> small = nnmle.fit(X[:, :1], y, hidden=(), family="gaussian")
    >>> big = nnmle.fit(X, y, hidden=(), family="gaussian")
    >>> t = lr_test(small, big)
    >>> t.df, t.regular
    (1, True)
    """
    if restricted.family.name != full.family.name or restricted.n_obs != full.n_obs:
        raise ValueError(
            f"The fits are not nested: families {restricted.family.name}/{full.family.name}, "
            f"{restricted.n_obs}/{full.n_obs} observations. Fix: fit both models to the same "
            f"data with the same family."
        )
    df = full.n_params - restricted.n_params
    if df <= 0:
        raise ValueError(
            f"The restricted fit has {restricted.n_params} weights and the full one "
            f"{full.n_params}: expected fewer in the restricted fit. Fix: lr_test(small, big)."
        )
    stat = 2.0 * (full.loglik - restricted.loglik)
    notes = []
    regular = True
    if restricted.arch.hidden != full.arch.hidden:
        regular = False
        msg = (
            f"testing the number of hidden units ({restricted.arch.describe()} within "
            f"{full.arch.describe()}) is non-regular: the dropped units' weights are not "
            f"identified under the null, so the chi-square({df}) reference does not hold; "
            f"use a parametric bootstrap of the statistic instead"
        )
        notes.append(msg)
        warnings.warn(f"nnmle: {msg}.", UserWarning, stacklevel=2)
    for r in (restricted, full):
        if r.penalty.l2 > 0 or r.penalty.l1 > 0:
            regular = False
            notes.append("a penalized fit is not an MLE: the chi-square reference does not hold")
            break
    if stat < 0:
        notes.append("the full fit has the smaller likelihood: a local optimum; refit it")
    return LRTest(stat, df, float(stats.chi2.sf(max(stat, 0.0), df)), regular, notes)


def information_criteria(result: FitResult) -> dict:
    """AIC and BIC with the free weights ``k`` and with the effective number ``edf``.

    ``aic = -2 loglik + 2 k``, ``bic = -2 loglik + k log n`` (as the fit reports; ``n``
    the sum of the case weights, the number of rows for the binomial family);
    ``aic_edf``/``bic_edf`` replace ``k`` by ``edf = tr(I H^-1)``, which is
    smaller under a penalty and equals the rank of the information matrix
    without one.
    """
    edf = effective_df(result)
    w = np.asarray(_data(result).w)
    n = float(result.n_obs) if result.family.name == "binomial" else float(np.sum(w))
    ll = result.loglik
    return {
        "loglik": ll,
        "n_params": result.n_params,
        "edf": edf,
        "aic": result.aic,
        "bic": result.bic,
        "aic_edf": -2 * ll + 2 * edf,
        "bic_edf": -2 * ll + edf * np.log(n),
    }


# --- bootstrap -----------------------------------------------------------------------------------


class _BootProblem(NamedTuple):
    """Everything one replicate needs (plain data: sendable to a worker)."""

    X: np.ndarray
    Y: np.ndarray
    w: np.ndarray
    family: str
    arch: Architecture
    penalty: Penalty
    reference: np.ndarray
    seed: int
    start: str
    n_restarts: int
    tol: float
    max_iter: int


def bootstrap_replicates(shared: _BootProblem, indices) -> list[tuple[np.ndarray, str]]:
    """Fit the case-resampling replicates ``indices`` (independent units of work).

    Replicate ``b`` draws ``n`` rows with replacement from
    ``numpy.random.default_rng([seed, b])`` (the counts multiply the case
    weights, so every replicate has the data's shapes and reuses the compiled
    solver) and refits from the reference weights (``start="reference"``) or
    from ``n_restarts`` random starts (``start="random"``, the whole estimation
    procedure). Returns ``(theta, status)`` per replicate, unaligned.
    """
    fam = get_family(shared.family)
    n = shared.X.shape[0]
    out = []
    for b in indices:
        rng = np.random.default_rng([shared.seed, int(b)])
        counts = np.bincount(rng.integers(0, n, n), minlength=n)
        data = Data(jnp.asarray(shared.X), jnp.asarray(shared.Y), jnp.asarray(shared.w * counts))
        if shared.start == "reference":
            thetas0 = shared.reference[None, :]
        else:
            thetas0 = starting_values(shared.arch, shared.n_restarts, seed=int(rng.integers(2**31)))
        if shared.penalty.l1 > 0:
            from .proximal import prox_starts

            starts = prox_starts(
                thetas0, data, fam, shared.arch, shared.penalty, shared.tol, shared.max_iter
            )
        else:
            starts = run_starts(
                thetas0, data, fam, shared.arch, shared.penalty, shared.tol, shared.max_iter,
                workers=1,
            )  # fmt: skip
        best = min(starts, key=lambda r: (not np.isfinite(r.objective), r.objective))
        out.append((np.asarray(best.theta), best.status))
    return out


@dataclass
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
    status : list of str
        Each replicate's fit status.
    aligned : bool
    level : float
    ci_low, ci_high : ndarray of shape (n_total,)
        Percentile intervals of the (aligned) weights.
    """

    replicates: np.ndarray
    raw: np.ndarray
    reference: np.ndarray
    status: list[str]
    aligned: bool
    level: float
    ci_low: np.ndarray
    ci_high: np.ndarray

    @property
    def ok_replicates(self) -> np.ndarray:
        """Replicates with finite weights."""
        return self.replicates[np.all(np.isfinite(self.replicates), axis=1)]


def bootstrap(
    result: FitResult,
    n_boot: int = 200,
    seed: int = 0,
    align_replicates: bool = True,
    start: str = "random",
    n_restarts: int | None = None,
    level: float = 0.95,
    map_units: Callable | None = None,
) -> Bootstrap:
    """Case-resampling bootstrap with every replicate aligned to the reference fit.

    A replicate refit lands anywhere in the orbit of its optimum (its hidden
    units permuted and sign-flipped: label switching), so raw replicate
    weights mix different representatives and their percentiles are
    meaningless. Each replicate is therefore aligned to the canonical
    weights of the fit (:func:`nnmle.symmetry.align`) before the percentile
    intervals are computed.

    Parameters
    ----------
    result : FitResult
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
    map_units : callable, optional
        ``map_units(fn, keys, shared) -> results``, e.g. a Dask runner; by
        default ``fn(shared, keys)`` runs here.

    Returns
    -------
    Bootstrap
    """
    if start not in ("random", "reference"):
        raise ValueError(f"start must be 'random' or 'reference'; got {start!r}.")
    if not isinstance(n_boot, int | np.integer) or n_boot < 2:
        raise ValueError(f"n_boot must be an integer >= 2; got {n_boot!r}. Fix: n_boot=200.")
    data = _data(result)
    reference = canonical_theta(result)
    shared = _BootProblem(
        np.asarray(data.X),
        np.asarray(data.Y),
        np.asarray(data.w),
        result.family.name,
        result.arch,
        result.penalty,
        reference,
        int(seed),
        start,
        int(n_restarts or max(1, len(result.restarts))),
        float(result.tol),
        5000,
    )
    keys = list(range(int(n_boot)))
    outs = (
        bootstrap_replicates(shared, keys)
        if map_units is None
        else map_units(bootstrap_replicates, keys, shared)
    )
    raw = np.stack([th for th, _ in outs])
    reps = raw
    if align_replicates and result.arch.hidden:
        reps = np.stack(
            [
                np.asarray(symmetry.align(reference, th, result.arch)[0])
                if np.all(np.isfinite(th))
                else th
                for th in raw
            ]
        )
    ok = reps[np.all(np.isfinite(reps), axis=1)]
    lo, hi = np.quantile(ok, [0.5 - level / 2, 0.5 + level / 2], axis=0)
    return Bootstrap(
        reps, raw, reference, [s for _, s in outs], bool(align_replicates), level, lo, hi
    )
