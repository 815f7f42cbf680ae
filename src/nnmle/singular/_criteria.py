"""WBIC and WAIC from chains at a fit's distinct solutions; the criteria side by side."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np
from scipy.special import logsumexp

from ..estimation import Estimate, as_estimate
from ..inference import information_criteria as regular_criteria
from ..networks import effective
from ..penalties import penalty_value
from ..problem import negloglik
from ._diagnostics import _positive, chain_warnings, check_fit, check_run, mc_se, mixing, warn_all
from ._llc import LearningCoefficient, learning_coefficient
from ._sampler import SAMPLERS, run_chains
from ._target import dispersion, sample_size, tempered

__all__ = [
    "WAIC",
    "WBIC",
    "InformationCriteria",
    "PosteriorSolution",
    "distinct_solutions",
    "information_criteria",
    "waic",
    "wbic",
]

#: at most this many distinct solutions get chains
MAX_SOLUTIONS = 5
#: the criteria that need chains
SAMPLED = ("lambda", "wbic", "waic")


@dataclass(frozen=True)
class PosteriorSolution:
    """The chains started at one distinct solution.

    Attributes
    ----------
    objective : float
        nnmle's penalized objective at the solution.
    loss : float
        ``n L_n`` there (the negative log-likelihood, σ² at the fit's σ̂²).
    mean : float
        ``E[n L_n(w)]`` over these chains.
    se : float
        Monte-Carlo standard error of ``mean`` over the chains.
    lambda_hat : float
        ``beta (mean - loss)``: the solution's learning coefficient under the
        (unlocalized) tempered posterior.
    weight : float
        Its share of the posterior (see :func:`wbic`).
    ess, rhat : float
    """

    objective: float
    loss: float
    mean: float
    se: float
    lambda_hat: float
    weight: float
    ess: float
    rhat: float

    def to_dict(self) -> dict:
        """Plain data."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class WBIC:
    """Watanabe's widely applicable Bayesian information criterion.

    Attributes
    ----------
    value : float
        ``WBIC = E_beta[n L_n(w)]`` at ``beta = 1 / log n``: an estimate of the
        Bayes free energy ``-log p(data)`` (the scale of ``BIC / 2``).
    se : float
        Monte-Carlo standard error.
    solutions : tuple of PosteriorSolution
    n, beta, prior_scale : float
    chains, draws : int
        Per solution.
    warnings : tuple of str
    seconds : float
    """

    value: float
    se: float
    solutions: tuple[PosteriorSolution, ...]
    n: float
    beta: float
    prior_scale: float
    chains: int
    draws: int
    warnings: tuple[str, ...]
    seconds: float

    @property
    def bic_scale(self) -> float:
        """``2 WBIC``: comparable with BIC."""
        return 2 * self.value

    def to_dict(self) -> dict:
        """Plain data."""
        out = {k: v for k, v in self.__dict__.items() if k != "solutions"}
        out["solutions"] = [s.to_dict() for s in self.solutions]
        out["warnings"] = list(self.warnings)
        return out


@dataclass(frozen=True)
class WAIC:
    """Watanabe's widely applicable information criterion, on the deviance scale.

    Attributes
    ----------
    value : float
        ``WAIC = -2 (lppd - p_waic)``: comparable with AIC.
    se : float
        Its standard error over observations (``2 sqrt(n var_i(elpd_i))``).
    lppd : float
        ``sum_i log E[p(y_i | w)]`` (log pointwise predictive density).
    p_waic : float
        ``sum_i Var[log p(y_i | w)]``: the functional variance, the effective
        number of parameters.
    solutions : tuple of PosteriorSolution
    n, prior_scale : float
    chains, draws : int
    warnings : tuple of str
    seconds : float
    """

    value: float
    se: float
    lppd: float
    p_waic: float
    solutions: tuple[PosteriorSolution, ...]
    n: float
    prior_scale: float
    chains: int
    draws: int
    warnings: tuple[str, ...]
    seconds: float

    def to_dict(self) -> dict:
        """Plain data."""
        out = {k: v for k, v in self.__dict__.items() if k != "solutions"}
        out["solutions"] = [s.to_dict() for s in self.solutions]
        out["warnings"] = list(self.warnings)
        return out


def distinct_solutions(result, solutions=None, rtol: float = 1e-6, limit: int = MAX_SOLUTIONS):
    """Weights of the distinct local minima to start chains from, best first.

    ``solutions`` may be a campaign (anything with ``.solutions`` whose items have
    ``.theta`` and ``.kind``: its minima), a sequence of weight vectors, or
    ``None``: then ``result``'s own campaign solutions if it has them, else the
    converged starts of the fit with distinct objectives (equal objectives up to
    ``rtol`` are taken as one solution: twins under the symmetry group have
    equal objectives), else the fit.

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> X = np.random.default_rng(0).normal(size=(30, 2)); y = (X[:, 0] > 0).astype(float)
    >>> res = nnmle.fit(X, y, hidden=(), n_starts=3, l2=0.1)
    >>> len(distinct_solutions(res))       # a GLM: every start reaches one solution
    1
    """
    est = as_estimate(result)
    if solutions is None and hasattr(result, "solutions"):
        solutions = result
    if solutions is not None:
        items = getattr(solutions, "solutions", solutions)
        thetas = []
        for s in items:
            if hasattr(s, "kind") and s.kind not in ("strict_min", "degenerate_min"):
                continue
            thetas.append(np.asarray(getattr(s, "theta", s), dtype=np.float64))
        return thetas[:limit] or [np.asarray(est.theta, dtype=np.float64)]
    starts = sorted(
        (s for s in est.starts if s.status == "converged" and np.isfinite(s.objective)),
        key=lambda s: s.objective,
    )
    thetas, seen = [np.asarray(est.theta, dtype=np.float64)], [est.objective]
    for s in starts:
        if all(abs(s.objective - o) > rtol * max(1.0, abs(o)) for o in seen):
            thetas.append(np.asarray(s.theta, dtype=np.float64))
            seen.append(s.objective)
    return thetas[:limit]


def loss_offset(est: Estimate, phi: float) -> float:
    """The constant with ``n L_n = nll / phi + offset`` and ``n L_n(fit) = -loglik``."""
    return -est.loglik - float(negloglik(jnp.asarray(est.theta), est.problem)) / phi


def mixture(sols: Sequence[PosteriorSolution]) -> tuple[float, float]:
    """``(mean, se)`` of ``n L_n`` over the solutions' chains, by their posterior weights."""
    mean = sum(s.weight * s.mean for s in sols)
    return float(mean), math.sqrt(sum((s.weight * s.se) ** 2 for s in sols))


def _posterior(est: Estimate, thetas, *, beta, prior_scale, pointwise, run: dict, progress):
    """Chains at each solution under ``exp(-beta n L_n(w)) prior(w)``; the mixture weights."""
    problem = est.problem
    phi = dispersion(problem, est.theta)
    n = sample_size(problem)
    gamma = 1.0 / prior_scale**2
    arch, pen = problem.arch, problem.penalty
    offset = loss_offset(est, phi)
    out, notes, chains_out = [], [], []
    total = len(thetas)
    for i, theta in enumerate(thetas):
        t = tempered(
            problem, theta, beta=beta, gamma=gamma, center=np.zeros(problem.n_params),
            temper_penalty=False, phi=phi,
        )  # fmt: skip

        def step(done, tot, i=i):
            if progress is not None:
                progress(i * tot + done, total * tot)

        ch = run_chains(t, pointwise=pointwise, progress=step, **run)
        nll0 = float(t.nll0) / phi
        loss = nll0 + offset
        trace = loss + ch.dnll
        ess, r = mixing(trace)
        per_chain = trace.mean(axis=1)
        mean = float(per_chain.mean())
        se = mc_se(trace, ess)
        lam = beta * (mean - loss)
        th = effective(jnp.asarray(theta), arch)
        log_prior = -float(penalty_value(th, arch, pen)) / phi - 0.5 * gamma * float(th @ th)
        log_w = -beta * loss - lam * math.log(n * beta) + log_prior
        notes += chain_warnings(ess, r, ch.acceptance, SAMPLERS[run["sampler"]])
        out.append([problem.objective(theta), loss, mean, se, lam, log_w, ess, r])
        chains_out.append(ch)
    log_w = np.array([row[5] for row in out])
    weights = np.exp(log_w - logsumexp(log_w))
    sols = tuple(
        PosteriorSolution(o, lo, m, s, lam, float(w), e, r)
        for (o, lo, m, s, lam, _, e, r), w in zip(out, weights, strict=True)
    )
    return sols, chains_out, sorted(set(notes)), n


def _common(result, solutions, prior_scale, sampling: dict, beta=None):
    est = as_estimate(result)
    est.problem.require_data()
    # the global posterior needs no minimum (the prior keeps it proper), only finite weights
    check_fit(est, "WBIC/WAIC", stacklevel=4, refuse=("non_finite", "exact_fit"))
    prior_scale = _positive("prior_scale", prior_scale, "prior_scale=10.0")
    run = {
        "sampler": "nuts", "chains": 4, "draws": 1000, "warmup": 1000, "seed": 0,
        "step_size": None, "batch_size": 256, "thin": 1, **sampling,
    }  # fmt: skip
    b = check_run(**run, beta=beta, n=sample_size(est.problem))
    return est, distinct_solutions(result, solutions), prior_scale, run, b


def wbic(
    result,
    *,
    solutions=None,
    prior_scale: float = 10.0,
    beta: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    **sampling,
) -> WBIC:
    """WBIC (Watanabe 2013): ``E_beta[n L_n(w)]``, tempered posterior at ``beta = 1/log n``.

    ``n L_n`` is the negative log-likelihood (with σ² at the fit's σ̂² for the
    gaussian family), so that ``n L_n`` at the fit is ``-loglik``; the
    posterior is ``exp(-beta n L_n(w)) prior(w)`` with the prior
    ``exp(-penalty(w) / phi)`` times ``N(0, prior_scale^2)`` on every free weight
    (not tempered). WBIC estimates the Bayes free energy
    ``n L_n(w0) + lambda log n + O_p(sqrt(log n))`` without ``lambda``: compare
    ``2 WBIC`` with BIC.

    Chains start at each distinct solution (:func:`distinct_solutions`: a
    campaign's minima, or the fit's converged starts); each solution's basin is
    weighted by ``exp(-F_k)``, its local free energy at ``beta`` approximated by
    ``F_k = beta n L_n(w_k) + lambda_k log(n beta) - log prior(w_k)`` with
    ``lambda_k`` from its own chains. When one solution dominates (weight near
    1) the approximation does not matter; otherwise read each solution's value.

    Parameters
    ----------
    result : FitResult, Estimate or Campaign
    solutions : Campaign or sequence of weight vectors, optional
    prior_scale : float
    beta : float, optional
        ``1 / log n`` by default (Watanabe's choice; other values do not estimate
        the free energy).
    progress : callable, optional
    **sampling
        ``sampler`` (``"nuts"``: the global tempered posterior is a funnel that
        MALA does not cross, see :data:`~nnmle.singular._sampler.SAMPLERS`),
        ``chains`` (4 per solution), ``draws`` (1000), ``warmup`` (1000),
        ``seed``, ``step_size``, ``batch_size``, ``thin``: as in
        :func:`learning_coefficient`.

    Returns
    -------
    WBIC

    References
    ----------
    S. Watanabe, "A widely applicable Bayesian information criterion", JMLR 14,
    867-897 (2013).

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2)); y = X[:, 0] + rng.normal(size=400)
    >>> res = nnmle.fit(X, y, hidden=(), family="gaussian")
    >>> w = wbic(res, chains=4, draws=300, warmup=200)
    >>> bool(abs(w.bic_scale - res.bic) < 3)         # regular: 2 WBIC ~ BIC
    True
    """
    est, thetas, prior_scale, run, b = _common(result, solutions, prior_scale, sampling, beta)
    sols, chains, notes, n = _posterior(
        est, thetas, beta=b, prior_scale=prior_scale, pointwise=False, run=run, progress=progress
    )
    warn_all(notes)
    value, se = mixture(sols)
    return WBIC(
        value, se, sols, n, float(b), prior_scale, run["chains"], run["draws"],
        tuple(notes), sum(c.seconds for c in chains),
    )  # fmt: skip


def waic(
    result,
    *,
    solutions=None,
    prior_scale: float = 10.0,
    progress: Callable[[int, int], None] | None = None,
    **sampling,
) -> WAIC:
    """WAIC (Watanabe 2010) from posterior draws at ``beta = 1``, on the deviance scale.

    ``WAIC = -2 (lppd - p_waic)``, ``lppd = sum_i log E[p(y_i | w)]``,
    ``p_waic = sum_i Var[log p(y_i | w)]`` (Gelman, Hwang and Vehtari 2014), the
    expectations under the posterior ``exp(-n L_n(w)) prior(w)`` of :func:`wbic`
    (a mixture over the distinct solutions, weighted as there). An observation
    with case weight ``c`` counts ``c`` times (the binomial's weights are its
    trials: one observation per row). Compare with AIC.

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2)); y = X[:, 0] + rng.normal(size=400)
    >>> res = nnmle.fit(X, y, hidden=(), family="gaussian")
    >>> w = waic(res, chains=4, draws=300, warmup=200)
    >>> bool(abs(w.value - res.aic) < 3), bool(abs(w.p_waic - 3) < 1)   # regular: ~ AIC
    (True, True)
    """
    est, thetas, prior_scale, run, _ = _common(result, solutions, prior_scale, sampling, 1.0)
    sols, chains, notes, n = _posterior(
        est, thetas, beta=1.0, prior_scale=prior_scale, pointwise=True, run=run, progress=progress
    )
    warn_all(notes)
    count = run["chains"] * run["draws"]
    log_w = np.log(np.maximum([s.weight for s in sols], 1e-300))
    lse = np.stack([logsumexp(c.pointwise["lse"], axis=0) for c in chains])  # (K, rows)
    m1 = np.stack([c.pointwise["s1"].sum(0) / count for c in chains])
    m2 = np.stack([c.pointwise["s2"].sum(0) / count for c in chains])
    w = np.array([s.weight for s in sols])[:, None]
    lppd_i = logsumexp(lse - math.log(count) + log_w[:, None], axis=0)
    mean = (w * m1).sum(0)
    var_i = np.maximum((w * m2).sum(0) - mean**2, 0.0)
    mult = _multiplicity(est)
    elpd_i = lppd_i - var_i
    total = float(mult.sum())
    lppd, p_waic = float(mult @ lppd_i), float(mult @ var_i)
    centre = float(mult @ elpd_i) / total
    se = 2 * math.sqrt(total * float(mult @ (elpd_i - centre) ** 2) / total)
    return WAIC(
        -2 * (lppd - p_waic), se, lppd, p_waic, sols, n, prior_scale, run["chains"],
        run["draws"], tuple(notes), sum(c.seconds for c in chains),
    )  # fmt: skip


def _multiplicity(est: Estimate) -> np.ndarray:
    w = np.asarray(est.problem.require_data().w)
    return (w > 0).astype(float) if est.family.name == "binomial" else w


#: what each criterion assumes (one sentence each)
ASSUMES = {
    "aic": "a regular model (unique MLE, nonsingular Fisher information): 2 d corrects the "
    "training deviance",
    "bic": "a regular model: the free energy is n L_n + (d / 2) log n",
    "aic_edf": "a regular model with d replaced by the effective number tr(F H^-1)",
    "bic_edf": "as BIC, with the effective number of parameters in place of d",
    "bic_lambda": "the free energy n L_n + lambda log n of singular learning theory, with the "
    "estimated local learning coefficient at the fit (multiplicity term ignored)",
    "wbic": "nothing about regularity: 2 E_beta[n L_n] at beta = 1/log n estimates 2x the "
    "Bayes free energy under the prior (the posterior sampled well)",
    "waic": "nothing about regularity: -2 x the expected log predictive density of a new "
    "observation under the posterior at beta = 1 (observations independent)",
}


@dataclass(frozen=True)
class InformationCriteria:
    """AIC, BIC, the learning coefficient, WBIC and WAIC of one fit, on BIC's scale.

    Every value is on the scale ``-2 log(likelihood) + penalty`` (``2 WBIC``),
    so that they read side by side; smaller is better for each; only
    differences between models fitted to the same data mean anything.

    Attributes
    ----------
    loglik : float
    n : float
    n_params : int
    edf : float
        Effective number of parameters ``tr(F H^-1)``.
    values : dict
        ``aic``, ``bic``, ``aic_edf``, ``bic_edf``, and when computed ``bic_lambda``
        (``-2 loglik + 2 lambda_hat log n``), ``wbic`` (``2 WBIC``) and ``waic``.
    lc : LearningCoefficient or None
    wbic : WBIC or None
    waic : WAIC or None
    """

    loglik: float
    n: float
    n_params: int
    edf: float
    values: dict
    lc: LearningCoefficient | None = field(default=None, repr=False)
    wbic: WBIC | None = field(default=None, repr=False)
    waic: WAIC | None = field(default=None, repr=False)

    def rows(self) -> list[dict]:
        """One row per criterion: ``criterion``, ``value``, ``se`` (Monte Carlo), ``assumes``."""
        se = {
            "bic_lambda": None if self.lc is None else 2 * self.lc.se * math.log(self.n),
            "wbic": None if self.wbic is None else 2 * self.wbic.se,
            "waic": None if self.waic is None else self.waic.se,
        }
        return [
            {"criterion": k, "value": v, "se": se.get(k), "assumes": ASSUMES[k]}
            for k, v in self.values.items()
        ]

    def to_dict(self) -> dict:
        """Plain data."""
        return {
            "loglik": self.loglik,
            "n": self.n,
            "n_params": self.n_params,
            "edf": self.edf,
            "criteria": self.rows(),
            "lambda_hat": None if self.lc is None else self.lc.to_dict(),
            "wbic": None if self.wbic is None else self.wbic.to_dict(),
            "waic": None if self.waic is None else self.waic.to_dict(),
        }


def information_criteria(
    result,
    *,
    sampled: Sequence[str] = SAMPLED,
    solutions=None,
    progress: Callable[[str, int, int], None] | None = None,
    **sampling,
) -> InformationCriteria:
    """AIC, BIC (with ``d`` and with the effective ``edf``), ``lambda_hat``, WBIC and WAIC of a fit.

    ``sampled`` names the criteria that need chains (some of ``"lambda"``,
    ``"wbic"``, ``"waic"``; ``()`` for none); ``solutions`` is as in :func:`wbic`;
    ``**sampling`` goes to each (``chains``, ``draws``, ``warmup``, ``seed``, ...);
    ``progress(name, done, total)`` reports each. See :data:`ASSUMES` (and the
    table of :meth:`InformationCriteria.rows`) for what each assumes.

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2)); y = X[:, 0] + rng.normal(size=300)
    >>> res = nnmle.fit(X, y, hidden=(), family="gaussian")
    >>> ic = information_criteria(res, sampled=["lambda"], chains=4, draws=200)
    >>> sorted(ic.values)
    ['aic', 'aic_edf', 'bic', 'bic_edf', 'bic_lambda']
    """
    unknown = set(sampled) - set(SAMPLED)
    if unknown or isinstance(sampled, str):
        raise ValueError(
            f"sampled must be a list of some of {list(SAMPLED)}; got {sampled!r}. "
            f"Fix: e.g. sampled=['lambda', 'wbic']."
        )
    est = as_estimate(result)
    base = regular_criteria(est)
    n = sample_size(est.problem)
    values = {k: float(base[k]) for k in ("aic", "bic", "aic_edf", "bic_edf")}

    def report(name):
        return None if progress is None else (lambda d, t: progress(name, d, t))

    lc_res = wbic_res = waic_res = None
    if "lambda" in sampled:
        lc_res = learning_coefficient(est, progress=report("lambda"), **sampling)
        values["bic_lambda"] = -2 * est.loglik + 2 * lc_res.estimate * math.log(n)
    if "wbic" in sampled:
        wbic_res = wbic(result, solutions=solutions, progress=report("wbic"), **sampling)
        values["wbic"] = wbic_res.bic_scale
    if "waic" in sampled:
        waic_res = waic(result, solutions=solutions, progress=report("waic"), **sampling)
        values["waic"] = waic_res.value
    return InformationCriteria(
        float(est.loglik), n, est.n_params, float(base["edf"]), values, lc_res, wbic_res, waic_res
    )
