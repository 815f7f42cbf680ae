"""The identifiability report of a fit, and the data of ``nnmle symmetry``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..estimation import as_estimate
from ..networks import Architecture, Params
from ..problem import flat_theta
from ..symmetry import act_flat, as_net, canonicalize, effective_np, flat_np, group, random_element
from ._information import EIG_RTOL, null_space
from ._minimality import WEIGHT_TOL, reduce_network, unit_checks, zero_tol

__all__ = ["IdentifiabilityReport", "identifiability", "symmetry_report"]


@dataclass(frozen=True)
class IdentifiabilityReport:
    """What is and is not identified at a fit (see :func:`identifiability`).

    Render it with :func:`nnmle.report.render_identifiability`; ``str(report)``
    is a one-line summary.

    Attributes
    ----------
    architecture : str
    n_params : int
        Free weights.
    group_order, continuous_dim : int
        Of the problem's symmetry group (:func:`nnmle.symmetry.group`: the
        moves that keep the penalized objective).
    group_exact : bool
        ``False`` when a mask restricted the group (the order is a lower bound).
    group_notes : list of str
    zero_outgoing, constant_units, dead_relu : list of str
        Unit names failing Sussmann's minimality conditions.
    saturated : list of str
        tanh/logistic units saturated on every observation (step functions on
        the data; not reducible, but the scale of their weights is not identified).
    relu_always_active : list of str
        relu units active on every observation (linear on the data).
    mergeable : list of dict
        ``{"units": [a, b], "relation": "equal" | "opposite" | "proportional"}``.
    reducible : bool
    reduction_steps : list of str
    reduced_architecture : str or None
    reduced_n_params : int or None
    reduced_loglik, loglik : float or None
        Log-likelihoods of the smaller network and of the fit, on the data.
    rank, nullity : int or None
        Of the Fisher information ``J'WJ`` over the free weights; ``None`` when
        not computed.
    n_negative : int or None
        Negative eigenvalues of the penalized Hessian (the fit is then not a
        local minimum).
    threshold : float or None
        Fisher eigenvalues at or below it count as zero.
    eigenvalues : list of float
        All eigenvalues of the Fisher information, ascending.
    weights : list of dict
        ``{"name", "identification"}`` per free weight: ``"data"`` (identified
        by the data), ``"penalty"`` (only by the penalty) or ``"none"``
        (:func:`~nnmle.identifiability.identification`).
    null_explained : list of dict
        ``{"reason", "count", "units"}``: how the null space splits.
    unexplained : int or None
        Null directions no known symmetry or redundancy explains.
    notes : list of str
    reduced_params : Params or None
    reduced_arch : Architecture or None
    """

    architecture: str
    n_params: int
    group_order: int
    continuous_dim: int
    group_exact: bool
    group_notes: list[str]
    zero_outgoing: list[str]
    constant_units: list[str]
    dead_relu: list[str]
    saturated: list[str]
    relu_always_active: list[str]
    mergeable: list[dict]
    reducible: bool
    reduction_steps: list[str]
    reduced_architecture: str | None
    reduced_n_params: int | None
    reduced_loglik: float | None
    loglik: float | None
    rank: int | None
    nullity: int | None
    n_negative: int | None
    threshold: float | None
    eigenvalues: list[float]
    null_explained: list[dict]
    unexplained: int | None
    weights: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reduced_params: Params | None = field(default=None, repr=False)
    reduced_arch: Architecture | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """Every field as plain JSON-able Python data (without the reduced weights)."""
        skip = {"reduced_params", "reduced_arch"}
        return {k: v for k, v in self.__dict__.items() if k not in skip}

    def __str__(self) -> str:
        """One line; the full text is :func:`nnmle.report.render_identifiability`."""
        if self.reducible:
            head = "REDUCIBLE" + (
                f" to {self.reduced_architecture}" if self.reduced_architecture else ""
            )
        else:
            head = "minimal"
        text = f"{self.architecture}: {head}, symmetry group of order {self.group_order}"
        if self.continuous_dim:
            text += f" x dimension {self.continuous_dim}"
        if self.rank is not None:
            text += (
                f"; Fisher information rank {self.rank} of {self.n_params} "
                f"({self.unexplained} unexplained null direction(s))"
            )
        return text

    def counts(self) -> dict:
        """Free weights per identification label (``data``, ``penalty``, ``none``)."""
        out = {"data": 0, "penalty": 0, "none": 0}
        for w in self.weights:
            out[w["identification"]] += 1
        return out


def identifiability(
    result,
    weight_tol: float = WEIGHT_TOL,
    rtol: float = EIG_RTOL,
    information: bool = True,
    max_params: int = 3000,
) -> IdentifiabilityReport:
    """Identifiability report of a fit: symmetry group, minimality, information rank.

    The group is the problem's (:func:`nnmle.symmetry.group`: penalty- and
    mask-aware). A network is *minimal* (Sussmann, 1992) when no hidden unit
    has zero outgoing weights, zero incoming weights (a constant) or incoming
    weights equal, opposite or proportional to another unit's; a reducible
    fit is reduced to a smaller network with the same log-likelihood
    (:func:`reduce_network`). Then the zero eigenvalues of the Fisher
    information ``J'WJ`` over the free weights (directions along which no
    fitted value moves) are counted and each is attributed to the symmetry or
    redundancy that explains it (relu rescaling, identity-layer mixing, zero
    outgoing weights, dead, saturated or constant units, duplicate units,
    collinear inputs); what is left is reported as unexplained. Every free
    weight is labelled identified by the data, only by the penalty, or not at
    all (:func:`~nnmle.identifiability.identification`); the minimality
    findings and the rank come from the same analysis.

    Parameters
    ----------
    result : FitResult or Estimate
        A fit (:func:`nnmle.fit`) that carries its data.
    weight_tol : float
        Relative tolerance for zero and equal weights: ``|w| <= weight_tol *
        max(1, max|w|)``; relu and identity units are compared after scaling
        their incoming vectors to unit norm.
    rtol : float
        Fisher eigenvalues ``lambda <= rtol * lambda_max`` count as zero.
    information : bool
        Compute the information matrix (skipped above ``max_params`` free weights).
    max_params : int

    Returns
    -------
    IdentifiabilityReport
        ``report.to_dict()`` is JSON-able; :func:`nnmle.report.render_identifiability`
        reads it in plain words.

    Raises
    ------
    ValueError
        When ``result`` is not a fit, or carries no data (a loaded model).

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2)); y = (X[:, 0] + 0.5 * rng.normal(size=60) > 0).astype(int)
    >>> rep = nnmle.identifiability(nnmle.fit(X, y, hidden=(2,), l2=0.1))
    >>> rep.group_order, rep.n_params
    (8, 9)
    """
    est = as_estimate(result)
    problem = est.problem
    problem.require_data()
    arch = problem.arch
    theta = effective_np(flat_theta(est.theta, arch), arch)
    net, _ = as_net(theta, arch)
    X = problem.X
    G = group(problem)
    tol = zero_tol(net, weight_tol)
    checks = unit_checks(net, arch, X, tol)
    lname = [list(n) for n in arch.unit_names()[1:-1]]
    notes: list[str] = []
    ll = problem.statistics(theta)["loglik"]
    reducible = any(checks[k] for k in ("zero_outgoing", "constant", "dead", "pairs"))
    steps: list[str] = []
    red_p = red_arch = red_ll = None
    if reducible and arch.mask is None:
        red_p, red_arch, steps = reduce_network(theta, arch, X, weight_tol)
        small = problem.replace(arch=red_arch)
        red_ll = small.statistics(flat_np(red_p, red_arch))["loglik"]
    elif reducible:
        notes.append("masked architecture: no smaller network is offered")
    ns = None
    if information and arch.n_params > max_params:
        notes.append(
            f"information matrix skipped: {arch.n_params} free weights > max_params={max_params}"
        )
    elif information:
        ns = null_space(problem, theta, G, net, checks, tol, rtol)
        notes += _information_notes(est, problem, theta, ns.grad_norm)
    return IdentifiabilityReport(
        architecture=arch.describe(),
        n_params=arch.n_params,
        group_order=G.order,
        continuous_dim=G.continuous_dim,
        group_exact=G.exact,
        group_notes=G.notes,
        zero_outgoing=[lname[l][j] for l, j in checks["zero_outgoing"]],
        constant_units=[lname[l][j] for l, j in checks["constant"]],
        dead_relu=[lname[l][j] for l, j in checks["dead"]],
        saturated=[lname[l][j] for l, j in checks["saturated"]],
        relu_always_active=[lname[l][j] for l, j in checks["active"]],
        mergeable=[
            {"units": [lname[l][i], lname[l][j]], "relation": rel}
            for l, i, j, rel, _ in checks["pairs"]
        ],
        reducible=reducible,
        reduction_steps=steps,
        reduced_architecture=None if red_arch is None else red_arch.describe(),
        reduced_n_params=None if red_arch is None else red_arch.n_params,
        reduced_loglik=red_ll,
        loglik=ll,
        rank=None if ns is None else ns.rank,
        nullity=None if ns is None else ns.nullity,
        n_negative=None if ns is None else ns.n_negative,
        threshold=None if ns is None else ns.threshold,
        eigenvalues=[] if ns is None else [float(v) for v in ns.eigenvalues],
        null_explained=[] if ns is None else ns.explained,
        unexplained=None if ns is None else ns.unexplained,
        weights=[] if ns is None else _weight_labels(arch, ns.identification),
        notes=notes,
        reduced_params=red_p,
        reduced_arch=red_arch,
    )


def _weight_labels(arch: Architecture, ident) -> list[dict]:
    names = arch.param_names()
    return [
        {"name": names[j], "identification": lab}
        for j, lab in zip(ident.positions, ident.labels, strict=True)
    ]


def _information_notes(est, problem, theta, grad_norm: float) -> list[str]:
    """Caveats on the information matrix: L1, convergence, separation."""
    notes = []
    if problem.penalty.l1:
        notes.append("the L1 term is not differentiable at zero: its curvature is left out")
    if not est.converged:
        notes.append(
            f"the fit did not converge (gradient norm {grad_norm:.2e}): the Hessian's "
            "zero threshold is widened to 10 x gradient norm"
        )
    if problem.family.name in ("bernoulli", "binomial", "multinomial"):
        mu = problem.mean(theta)
        n_sep = int(np.sum(np.all((mu < 1e-8) | (mu > 1 - 1e-8), axis=1)))
        if n_sep:
            notes.append(
                f"{n_sep} of {mu.shape[0]} observations are fitted with probability 0 or 1 "
                "(to 1e-8): (quasi-)separation, where the likelihood is flat"
            )
    return notes


def symmetry_report(result, n_twins: int = 3, seed: int = 0) -> dict:
    """Everything ``nnmle symmetry`` shows, as a JSON-able dict.

    Parameters
    ----------
    result : FitResult or Estimate
    n_twins : int
        Random members of the fit's orbit under the finite part of the
        problem's group (permutations and flips that keep the penalized
        objective) to evaluate.
    seed : int
        Twin ``k`` uses ``random_element(group(problem), seed + k + 1, continuous=False)``.

    Returns
    -------
    dict
        ``architecture``, ``group_order``, ``continuous_dim``, ``group_exact``,
        ``group_notes``, ``loglik``, ``objective``, ``canonical_weights``
        (``[{name, value}]``: the free weights of
        :func:`nnmle.symmetry.canonicalize` with the problem's group),
        ``twins`` (``[{loglik, objective, max_abs_pred_diff,
        max_abs_weight_diff}]``), ``identifiability`` (the report's dict).
        Render it with :func:`nnmle.report.render_symmetry_report`.

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2)); y = (X[:, 0] + 0.5 * rng.normal(size=60) > 0).astype(int)
    >>> d = symmetry_report(nnmle.fit(X, y, hidden=(2,), l2=0.1), n_twins=2)
    >>> d["group_order"], len(d["twins"]), len(d["canonical_weights"])
    (8, 2, 9)
    """
    est = as_estimate(result)
    problem = est.problem
    problem.require_data()
    arch = problem.arch
    G = group(problem)
    theta = flat_theta(est.theta, arch)

    def evaluate(th):
        return problem.statistics(th)["loglik"], problem.objective(th), problem.mean(th)

    ll, obj, mu = evaluate(theta)
    twins = []
    for k in range(n_twins):
        th = act_flat(random_element(G, seed + k + 1, continuous=False), theta, G)
        ll_k, obj_k, mu_k = evaluate(th)
        twins.append(
            {
                "loglik": ll_k,
                "objective": obj_k,
                "max_abs_pred_diff": float(np.max(np.abs(mu_k - mu), initial=0.0)),
                "max_abs_weight_diff": float(np.max(np.abs(th - theta), initial=0.0)),
            }
        )
    canon, _ = canonicalize(theta, G)
    names = arch.param_names()
    return {
        "architecture": arch.describe(),
        "group_order": G.order,
        "continuous_dim": G.continuous_dim,
        "group_exact": G.exact,
        "group_notes": G.notes,
        "loglik": ll,
        "objective": obj,
        "canonical_weights": [
            {"name": names[j], "value": float(canon[j])} for j in np.flatnonzero(problem.free)
        ],
        "twins": twins,
        "identifiability": identifiability(est).to_dict(),
    }
