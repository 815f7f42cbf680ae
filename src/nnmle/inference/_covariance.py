"""Covariances of the canonical weights and the :class:`Inference` they give: se, z, p, CIs."""

from __future__ import annotations

from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np
from scipy import stats

from ..estimation import Estimate, as_estimate
from ..identifiability import identifiability
from ._bootstrap import Bootstrap, bootstrap
from ._curvature import Curvature, fit_curvature

__all__ = ["METHODS", "Inference", "infer", "inference_table"]

#: the covariances :func:`infer` knows
METHODS = ("hessian", "sandwich", "bootstrap")


@dataclass(frozen=True, eq=False)
class Inference:
    """Standard errors, z, p and intervals for the canonical weights of a fit.

    Attributes
    ----------
    method : str
        ``"hessian"``, ``"sandwich"`` or ``"bootstrap"``.
    level : float
        Confidence level of the intervals.
    names : tuple of str
        Free weights, in :func:`nnmle.networks.ravel` order.
    coef : ndarray
        Canonical weights (what a summary shows).
    se, z, p, ci_low, ci_high : ndarray
        NaN where the weight is not identified or was set to zero by the L1
        penalty; ``z`` and ``p`` also NaN where only the penalty identifies it
        (its ``se`` and interval are then penalized, posterior-like numbers).
    identified : ndarray of bool
        ``True`` for weights identified by the data.
    identification : tuple of str
        Per weight: ``"data"``, ``"penalty"``, ``"none"`` or ``"zero"`` (set to
        zero by the L1 penalty).
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
    notes : tuple of str
    bootstrap : Bootstrap or None
    fit_theta : ndarray or None
        The fit's weights (before canonicalization) this inference is for.
    """

    method: str
    level: float
    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    identified: np.ndarray
    zero: np.ndarray
    identification: tuple[str, ...]
    cov: np.ndarray = field(repr=False)
    index: np.ndarray = field(repr=False)
    theta: np.ndarray = field(repr=False)
    edf: float = np.nan
    scale: float = 1.0
    nullity: int = 0
    n_negative: int = 0
    notes: tuple[str, ...] = ()
    bootstrap: Bootstrap | None = field(default=None, repr=False)
    fit_theta: np.ndarray | None = field(default=None, repr=False)

    @property
    def not_identified(self) -> list[str]:
        """Names of the weights identified neither by the data nor by the penalty."""
        return [n for n, lab in zip(self.names, self.identification, strict=True) if lab == "none"]

    @property
    def penalty_identified(self) -> list[str]:
        """Names of the weights identified only by the penalty."""
        return [
            n for n, lab in zip(self.names, self.identification, strict=True) if lab == "penalty"
        ]

    def table(self) -> list[dict]:
        """One dict per free weight (the ``--json`` rows; see :func:`inference_table`).

        Every row has ``name``, ``value`` and ``identification`` (``"data"``,
        ``"penalty"``, ``"none"``, ``"zero"``); a data-identified weight has
        ``se``, ``z``, ``p``, ``ci_low``, ``ci_high``; a penalty-identified one
        ``se``, ``ci_low``, ``ci_high`` and ``interval: "penalized"`` with ``z``
        and ``p`` None; the others None numbers (``identified: False`` where the
        weight is not identified, ``zero: True`` where L1 set it to zero).
        """
        rows = []
        for j, name in enumerate(self.names):
            lab = self.identification[j]
            row: dict = {"name": name, "value": float(self.coef[j]), "identification": lab}
            if lab == "none":
                row.update(se=None, z=None, p=None, ci_low=None, ci_high=None, identified=False)
            elif lab == "zero":
                row.update(se=None, z=None, p=None, ci_low=None, ci_high=None, zero=True)
            elif lab == "penalty":
                row.update(
                    se=float(self.se[j]), z=None, p=None, ci_low=float(self.ci_low[j]),
                    ci_high=float(self.ci_high[j]), interval="penalized",
                )  # fmt: skip
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
            "penalty_identified": self.penalty_identified,
            "weights": self.table(),
            "notes": list(self.notes),
        }


def _dispersion(est: Estimate, theta: np.ndarray, edf: float) -> float:
    """Pearson chi2 / (q sum w - edf) for a family with a dispersion, else 1."""
    problem = est.problem
    if not problem.family.has_dispersion:
        return 1.0
    eta, Y, w = (jnp.asarray(a) for a in (problem.linear_predictor(theta), problem.Y, problem.w))
    return float(problem.family.dispersion(eta, Y, w, edf))


def _meat(est: Estimate, theta: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``J = sum_i c_i s_i s_i'`` on the active weights (``c_i = w_i^2`` for the binomial)."""
    problem = est.problem
    S = problem.scores(theta)[:, index]
    w = problem.w
    c = w**2 if problem.family.name == "binomial" else w
    return (S * c[:, None]).T @ S


def infer(result, se: str = "hessian", level: float = 0.95, **bootstrap_options) -> Inference:
    """Standard errors, z, p and confidence intervals for the canonical weights.

    Nothing is stored on ``result``: the :class:`~nnmle.api.FitResult` façade
    caches what it asks for (``res.infer(se=...)``, ``res.summary(se=...)``).

    Parameters
    ----------
    result : Estimate or FitResult
    se : {"hessian", "sandwich", "bootstrap"}
        The covariance (see :mod:`nnmle.inference`).
    level : float
        Confidence level of the intervals.
    **bootstrap_options
        For ``se="bootstrap"``: passed to :func:`~nnmle.inference.bootstrap`
        (``n_boot``, ``seed``, ``start``, ``executor``, ...).

    Returns
    -------
    Inference

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = rng.poisson(np.exp(0.3 + 0.5 * X[:, 0]))
    >>> inf = infer(nnmle.fit(X, y, hidden=(), family="poisson"))
    >>> inf.names, bool(inf.p[1] > 0.01)
    (('x1->y', 'x2->y', 'bias->y'), True)
    """
    if se not in METHODS:
        raise ValueError(
            f"se={se!r} is not a covariance nnmle knows: expected one of {', '.join(METHODS)}. "
            f"Fix: e.g. se='hessian' (inverse Hessian) or se='sandwich' (robust)."
        )
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level!r}. Fix: e.g. level=0.95.")
    if bootstrap_options and se != "bootstrap":
        raise ValueError(
            f"Options {sorted(bootstrap_options)} are for se='bootstrap'; got se={se!r}. "
            f"Fix: drop them, or pass se='bootstrap'."
        )
    est = as_estimate(result)
    cur = fit_curvature(est)
    arch = est.arch
    free_pos = np.flatnonzero(est.problem.free)
    all_names = arch.param_names()
    names = tuple(all_names[j] for j in free_pos)
    active_free = np.isin(free_pos, cur.positions)
    labels = np.full(len(names), "zero", dtype=object)
    labels[active_free] = cur.identification
    identified = labels == "data"
    scale = 1.0
    boot = None
    if se == "hessian":
        scale = _dispersion(est, cur.theta, cur.edf)
        cov = scale * cur.hinv
    elif se == "sandwich":
        cov = cur.hinv @ _meat(est, cur.theta, cur.positions) @ cur.hinv
    else:
        boot = bootstrap(est, level=level, **bootstrap_options)
        reps = boot.ok_replicates[:, cur.positions]
        cov = np.cov(reps, rowvar=False).reshape(cur.positions.size, cur.positions.size)
    coef = cur.theta[free_pos]
    se_v = np.full(len(names), np.nan)
    se_v[active_free] = np.sqrt(np.maximum(np.diag(cov), 0.0))
    se_v[(labels == "none") | (labels == "zero")] = np.nan
    z = np.where(identified, coef / se_v, np.nan)
    p = 2.0 * stats.norm.sf(np.abs(z))
    q = stats.norm.ppf(0.5 + level / 2)
    lo, hi = coef - q * se_v, coef + q * se_v
    if boot is not None:
        lo = np.where(np.isnan(se_v), np.nan, boot.ci_low[free_pos])
        hi = np.where(np.isnan(se_v), np.nan, boot.ci_high[free_pos])
    return Inference(
        method=se,
        level=float(level),
        names=names,
        coef=coef,
        se=se_v,
        z=z,
        p=p,
        ci_low=lo,
        ci_high=hi,
        identified=identified,
        zero=~active_free,
        identification=tuple(str(v) for v in labels),
        cov=cov,
        index=cur.positions,
        theta=cur.theta,
        edf=cur.edf,
        scale=scale,
        nullity=cur.nullity,
        n_negative=cur.n_negative,
        notes=tuple(_notes(est, cur, se, scale, labels, names)),
        bootstrap=boot,
        fit_theta=np.array(est.theta),
    )


def _notes(est: Estimate, cur: Curvature, se: str, scale, labels, names) -> list[str]:
    """What a reader of the numbers must know (method, dispersion, penalty, identification)."""
    notes = []
    if est.arch.hidden:
        notes.append(
            "coefficients are the canonical weights (nnmle.symmetry.canonicalize): each "
            "interval is for one representative of the symmetry group's orbit"
        )
    if se == "hessian" and est.family.has_dispersion:
        notes.append(
            f"{est.family.name} dispersion phi = Pearson chi2 / (n - edf) = {scale:.6g} "
            f"(Pearson chi2 / residual df, as statsmodels GLM)"
        )
    if se == "sandwich":
        notes.append("sandwich covariance H^-1 J H^-1 (HC0); J from the per-observation scores")
    if se == "bootstrap":
        notes.append("bootstrap: case resampling, replicates aligned to this fit; percentile CIs")
    if est.penalty.active:
        notes.append(
            f"penalized fit: H includes the penalty's curvature; edf = tr(F H^-1) = {cur.edf:.4g}"
        )
    if est.penalty.l1 > 0:
        notes.append("weights set to zero by the L1 penalty have no standard error")
    pen = [n for n, lab in zip(names, labels, strict=True) if lab == "penalty"]
    none = [n for n, lab in zip(names, labels, strict=True) if lab == "none"]
    if pen or none:
        notes.append(
            f"the Fisher information J'WJ is singular (nullity {cur.nullity}): the data do not "
            "determine every weight" + _reasons(est)
        )
    if pen:
        notes.append(
            "identified only by the penalty (std err and a penalized, posterior-like interval; "
            "no z or p: the data do not test them): " + ", ".join(pen)
        )
    if none:
        notes.append("not identified (neither by the data nor by the penalty): " + ", ".join(none))
    if cur.n_negative:
        notes.append(
            f"the Hessian of the objective has {cur.n_negative} negative eigenvalue(s): the fit "
            "is not a local minimum (a saddle point); standard errors are not valid"
        )
    if not est.converged:
        notes.append(f"the fit did not converge ({est.status}): standard errors are doubtful")
    return notes


def _reasons(est: Estimate) -> str:
    """Why the null directions exist, from :func:`nnmle.identifiability.identifiability`."""
    rep = identifiability(est)
    parts = [f"{e['reason']} ({', '.join(e['units'])})" for e in rep.null_explained]
    return (" [" + "; ".join(parts) + "]") if parts else ""


def resolve(result, se: str, level: float | None, inference: Inference | None) -> Inference:
    """``inference`` when given (checked to be for ``result``'s weights), else :func:`infer`."""
    est = as_estimate(result)
    if inference is None:
        return infer(est, se=se) if level is None else infer(est, se=se, level=level)
    if not isinstance(inference, Inference):
        raise ValueError(
            f"inference must be an Inference (nnmle.inference.infer(...)); got "
            f"{type(inference).__name__}. Fix: inference=nnmle.inference.infer(result)."
        )
    if inference.fit_theta is not None and not np.array_equal(inference.fit_theta, est.theta):
        raise ValueError(
            "The inference was computed for other weights than this fit's. "
            "Fix: inference=nnmle.inference.infer(result) for this result."
        )
    return inference


def inference_table(
    result, se: str = "hessian", level: float = 0.95, inference: Inference | None = None
) -> list[dict]:
    """The ``weights`` entries of ``nnmle fit --json`` with inference.

    Each dict has ``name`` and ``value`` (canonical weight) and either ``se``, ``z``,
    ``p``, ``ci_low``, ``ci_high`` or ``identified: False``; weights set to zero by
    the L1 penalty have ``zero: True`` and ``None`` numbers.

    Parameters
    ----------
    result : Estimate or FitResult
    se, level
        As in :func:`infer` (used when ``inference`` is not given).
    inference : Inference, optional
        Already computed for ``result``.

    Returns
    -------
    list of dict
    """
    return resolve(result, se, level, inference).table()
