"""The local learning coefficient at a fit (Lau et al. 2023)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np
from scipy import stats

from ..estimation import as_estimate
from ..networks import effective
from ..penalties import penalty_value
from ._diagnostics import _positive, chain_warnings, check_fit, check_run, mc_se, mixing, warn_all
from ._sampler import SAMPLERS, run_chains
from ._target import dispersion, sample_size, tempered

__all__ = ["LearningCoefficient", "learning_coefficient"]

#: free weights up to which the chains are preconditioned by the dense Hessian
DENSE_MAX = 2000
#: warn when the localization alone would bring a regular model below this share of d/2
LOCALIZATION_SHARE = 0.75


@dataclass(frozen=True)
class LearningCoefficient:
    """The estimated local learning coefficient and how far to trust it.

    Attributes
    ----------
    estimate : float
        ``lambda_hat = n beta (E[L_n(w)] - L_n(w*))``.
    se : float
        Monte-Carlo standard error: the standard deviation of the chains'
        estimates over the square root of the number of chains.
    chain_estimates : ndarray
        ``lambda_hat`` of each chain.
    n_params : int
        Free weights ``d``; ``regular = d / 2`` is what BIC counts.
    n, beta, gamma : float
        Sample size, inverse temperature and localization strength.
    phi : float
        The dispersion dividing nnmle's loss (σ̂² for the gaussian family, else 1).
    loss : float
        ``n L_n(w*)``: the fit's objective over ``phi``.
    sampler : str
    chains, draws, warmup, thin : int
    step_size, acceptance : ndarray
        Per chain (acceptance NaN for SGLD).
    laplace : float
        ``1/2 sum_i c_i / (c_i + gamma)`` over the eigenvalues ``c_i`` of the tempered
        curvature ``n beta d2L_n(w*)``: what ``lambda_hat`` would be for a *regular*
        model with this Hessian at this ``gamma`` (``d / 2`` when every ``c_i >> gamma``).
        ``d/2 - laplace`` is what the localization takes; ``laplace - lambda_hat``
        what the singularity does beyond the Hessian.
    ess, rhat : float
        Effective draws and rank-normalized split R-hat of the trace of ``n L_n``.
    escaped : int
        Draws with ``n beta (L_n(w) - L_n(w*)) < -escape_margin``: below the fit.
    min_excess : float
        The smallest ``n beta (L_n(w) - L_n(w*))`` over the draws.
    trace : ndarray (chains, draws)
        ``n (L_n(w) - L_n(w*))`` at each draw.
    warnings : tuple of str
    seconds : float
    status : str
        The fit's status.
    """

    estimate: float
    se: float
    chain_estimates: np.ndarray = field(repr=False)
    n_params: int
    n: float
    beta: float
    gamma: float
    phi: float
    loss: float
    sampler: str
    chains: int
    draws: int
    warmup: int
    thin: int
    step_size: np.ndarray = field(repr=False)
    acceptance: np.ndarray = field(repr=False)
    laplace: float
    ess: float
    rhat: float
    escaped: int
    min_excess: float
    trace: np.ndarray = field(repr=False)
    warnings: tuple[str, ...]
    seconds: float
    status: str

    @property
    def regular(self) -> float:
        """``d / 2``: the learning coefficient of a regular model with these weights (BIC's)."""
        return self.n_params / 2

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """A normal Monte-Carlo interval ``estimate -/+ z se`` (the chains' error only)."""
        z = float(stats.norm.ppf(0.5 + level / 2))
        return self.estimate - z * self.se, self.estimate + z * self.se

    def to_dict(self) -> dict:
        """Plain data (JSON-ready; the trace as per-chain means)."""
        lo, hi = self.interval()
        return {
            "lambda_hat": self.estimate,
            "se": self.se,
            "ci95": [lo, hi],
            "d_over_2": self.regular,
            "n_params": self.n_params,
            "chain_estimates": [float(v) for v in self.chain_estimates],
            "n": self.n,
            "beta": self.beta,
            "gamma": self.gamma,
            "phi": self.phi,
            "laplace": self.laplace,
            "n_loss": self.loss,
            "sampler": self.sampler,
            "chains": self.chains,
            "draws": self.draws,
            "warmup": self.warmup,
            "thin": self.thin,
            "step_size": [float(v) for v in self.step_size],
            "acceptance": [None if np.isnan(v) else float(v) for v in self.acceptance],
            "ess": self.ess,
            "rhat": self.rhat,
            "escaped": self.escaped,
            "min_excess": self.min_excess,
            "warnings": list(self.warnings),
            "seconds": self.seconds,
            "status": self.status,
        }


def learning_coefficient(
    result,
    *,
    beta: float | None = None,
    gamma: float = 1.0,
    sampler: str = "mala",
    chains: int = 8,
    draws: int = 2000,
    warmup: int = 1000,
    seed: int = 0,
    step_size: float | None = None,
    batch_size: int = 256,
    thin: int = 1,
    escape_margin: float = 1.0,
    precondition: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LearningCoefficient:
    """The local learning coefficient ``lambda_hat`` at a fit (Lau et al. 2023).

    ``lambda_hat = n beta (E[L_n(w)] - L_n(w*))``, the expectation under the
    tempered posterior localized at the fit ``w*``::

        p(w) ∝ exp(-n beta L_n(w) - gamma / 2 |w - w*|^2)

    ``n L_n(w)`` is nnmle's objective (the sum of case-weighted losses plus the
    penalty) divided by ``phi`` (σ̂² of the fit for the gaussian family, whose
    loss is the NLL at unit variance; 1 otherwise): the negative
    log-likelihood up to a constant, so ``L_n`` is the average NLL per unit of
    case weight. A penalty is part of the loss (it is what makes ``w*`` a
    minimum); without one this is Lau et al.'s estimator exactly. ``n`` is the
    sum of the case weights (rows for the binomial family), as in BIC. Only the
    free weights move.

    For a regular model ``lambda = d / 2`` (BIC's count); a network is singular
    (symmetries, redundant units, flat directions) and has ``lambda < d / 2``.

    ``lambda_hat`` is *local*: the same under the finite symmetry group
    (permutations, sign flips: a twin gives the same distribution), but it can
    change along a continuous family of equivalent weights of an unpenalized fit
    (relu or identity rescalings, the ``GL(H)`` of an identity layer); the
    balanced representative (which an L2 penalty, or gradient flow from small
    weights, gives) is the most singular one. At finite ``n`` a fit that
    matches noise at scale ``n^(-1/2)`` near a singular point reads a value
    between the local and the global coefficient.

    Parameters
    ----------
    result : FitResult or Estimate
        A fit at a local minimum (status ``converged`` or ``plateau``). Fits that
        stopped early (``max_iter``, ``stalled``) give a warning; saddles, fits
        whose MLE does not exist, exact fits and non-finite fits are refused.
    beta : float, optional
        Inverse temperature; ``1 / log n`` by default.
    gamma : float
        Localization strength (prior standard deviation ``1 / sqrt(gamma)``
        around ``w*`` in the units of the weights). A direction whose tempered
        curvature ``n beta d2L_n`` is not well above ``gamma`` counts less than 1/2
        (``laplace`` in the result says how much; a warning when the localization
        alone takes a quarter of ``d / 2``). Larger keeps the chains in the fit's
        basin and mixes faster; smaller lets flat directions spread (longer chains
        needed, and another basin may come within reach: the escape check).
    sampler : {"mala", "nuts", "sgld"}
        blackjax's MALA or NUTS (full batch), or SGLD on minibatches of
        ``batch_size`` rows for large ``n``.
    chains, draws, warmup, thin : int
        Chains run in parallel (``jax.vmap``); recorded draws per chain; discarded
        warm-up steps (step size tuned); steps between records.
    seed : int
        Chain ``c`` uses ``fold_in(PRNGKey(seed), c)``.
    step_size : float, optional
        Initial step size of the adaptation (MALA, NUTS), or SGLD's step size
        (default ``1e-3``), in whitened units.
    escape_margin : float
        A draw with ``n beta (L_n(w) - L_n(w*))`` below ``-escape_margin`` has
        escaped to a lower basin: counted and warned about.
    precondition : bool, optional
        Whiten the chains with the Hessian at the fit (default: up to
        :data:`DENSE_MAX` free weights).
    progress : callable, optional
        ``progress(done, total)`` after each block of steps.

    Returns
    -------
    LearningCoefficient

    References
    ----------
    E. Lau, Z. Furman, G. Wang, D. Murfet, S. Wei, "The local learning
    coefficient: a singularity-aware complexity measure", arXiv:2308.12108 (2023).
    S. Watanabe, "A widely applicable Bayesian information criterion", JMLR 14 (2013).

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2)); y = X @ [1.0, -1.0] + rng.normal(size=500)
    >>> res = nnmle.fit(X, y, hidden=(), family="gaussian")
    >>> lc = learning_coefficient(res, chains=4, draws=400, warmup=200)
    >>> round(lc.regular, 1), bool(abs(lc.estimate - 1.5) < 0.15)   # a GLM: d / 2
    (1.5, True)
    """
    est = as_estimate(result)
    problem = est.problem
    problem.require_data()
    n = sample_size(problem)
    beta = check_run(
        sampler=sampler, chains=chains, draws=draws, warmup=warmup, seed=seed, thin=thin,
        batch_size=batch_size, step_size=step_size, beta=beta, n=n,
    )  # fmt: skip
    assert beta is not None
    gamma = _positive("gamma", gamma, "gamma=1.0 (the localization strength)")
    margin = _positive("escape_margin", escape_margin, "escape_margin=1.0", zero=True)
    check_fit(est, "The local learning coefficient")
    theta = np.asarray(est.theta, dtype=np.float64)
    phi = dispersion(problem, theta)
    if precondition is None:
        precondition = problem.n_params <= DENSE_MAX
    t = tempered(
        problem, theta, beta=beta, gamma=gamma, center=None, temper_penalty=True, phi=phi,
        precondition=bool(precondition),
    )  # fmt: skip
    ch = run_chains(
        t, sampler=sampler, chains=chains, draws=draws, warmup=warmup, seed=seed,
        step_size=step_size, batch_size=batch_size, thin=thin, progress=progress,
    )  # fmt: skip
    pen0 = float(penalty_value(effective(jnp.asarray(theta), problem.arch), problem.arch,
                               problem.penalty)) / phi  # fmt: skip
    trace = ch.dnll + (ch.penalty - pen0)  # n (L_n(w) - L_n(w*)), penalty included
    per_chain = beta * trace.mean(axis=1)
    ess, r = mixing(trace)
    excess = beta * trace
    min_excess = float(np.min(excess)) if np.all(np.isfinite(excess)) else float("nan")
    escaped = int(np.sum(excess < -margin))
    notes = chain_warnings(ess, r, ch.acceptance, SAMPLERS[sampler])
    if not np.all(np.isfinite(trace)):
        notes.insert(0, "some draws are not finite; fix: a smaller step_size or a larger gamma")
    if escaped:
        notes.insert(
            0,
            f"{escaped} draws fell below the fit (n beta (L_n(w) - L_n(w*)) down to "
            f"{min_excess:.3g} < -{margin:g}): a lower basin is within reach of the chains, "
            f"so the fit is not the local minimum it seemed; fix: refit (more restarts) or "
            f"localize more (a larger gamma)",
        )
    curv = np.asarray(t.curvature)
    laplace = float(0.5 * np.sum(curv / (curv + gamma))) if precondition else float("nan")
    if laplace < LOCALIZATION_SHARE * problem.n_params / 2:
        notes.append(
            f"the localization takes {problem.n_params / 2 - laplace:.3g} of d/2 = "
            f"{problem.n_params / 2:g} even for a regular model with the fit's Hessian "
            f"(laplace = {laplace:.3g}): the data barely curve some directions at this n, so "
            f"lambda_hat depends on gamma; compare lambda_hat with laplace, or lower gamma "
            f"(with longer chains)"
        )
    warn_all(notes)
    return LearningCoefficient(
        float(per_chain.mean()), float(beta) * mc_se(trace, ess), per_chain,
        problem.n_params, n, float(beta), gamma, phi, float(est.objective) / phi, sampler,
        int(chains), int(draws), int(warmup), int(thin), ch.step_size, ch.acceptance, laplace,
        ess, r, escaped, min_excess, trace, tuple(notes), ch.seconds, est.status,
    )  # fmt: skip
