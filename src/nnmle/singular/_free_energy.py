"""The Bayes free energy by thermodynamic integration: what WBIC estimates, computed.

With a normalized prior ``pi``, the free energy ``F_n = -log integral exp(-n L_n(w)) pi(w) dw``
is an integral over the inverse temperature ``t`` of the power posterior
``p_t(w) ~ exp(-t n L_n(w)) pi(w)``:

    F_n = -log Z(t_c) + integral_{t_c}^1 E_t[n L_n(w)] dt,

because ``d/dt log Z(t) = -E_t[n L_n]`` (Ogata 1989; Gelman and Meng 1998; Friel and
Pettitt 2008). Near the prior ``E_t`` falls by orders of magnitude, where a quadrature
in ``t`` is least accurate; there the prior is sampled exactly and
``Z(t_c) = E_prior[exp(-t_c n L_n)]`` is averaged directly, ``t_c`` the largest
inverse temperature at which those draws keep an effective sample size of
:data:`MIN_PRIOR_ESS`. From ``t_c`` to 1 the expectations come from WBIC's chains
(:func:`~nnmle.singular.wbic`) at ``K`` temperatures spaced evenly in ``log t``, and
the integral is the trapezoid rule corrected by the variances (``d E_t / dt = -Var_t``;
Friel, Hurn and Wyse 2014):

    sum_k h_k (E_k + E_{k+1}) / 2 + h_k^2 / 12 (V_{k+1} - V_k).

On a Bayesian linear regression, whose ``F_n`` is closed form, 24 temperatures leave a
quadrature error near 0.01 (the tests). It costs ``K`` runs of chains half as long as
WBIC's (about ``K / 2`` WBICs): a check of WBIC, or the criterion when the difference
between two models is what matters and WBIC's approximation error
(``O_p(sqrt(log n))``, Watanabe 2013) is not small against it.

With several distinct solutions each temperature mixes their chains with WBIC's
approximate basin weights (:func:`~nnmle.singular.wbic`); the result is then exact
only as far as those weights are (one dominant solution, or basins the chains cross).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import logsumexp

from ..problem import negloglik
from ._criteria import _common, _posterior, loss_offset, mixture
from ._diagnostics import _int, warn_all
from ._target import dispersion, sample_size

__all__ = ["FreeEnergy", "free_energy"]

#: exact draws from the prior
PRIOR_DRAWS = 20000
#: the effective sample size the prior draws keep at ``t_c``
MIN_PRIOR_ESS = 1000


@dataclass(frozen=True)
class FreeEnergy:
    """The Bayes free energy ``F_n = -log p(data)`` by thermodynamic integration.

    Attributes
    ----------
    value : float
        ``F_n`` (the scale of WBIC and of ``BIC / 2``).
    se : float
        Monte-Carlo standard error (each temperature's, through the rule's weights, and
        that of ``log Z(t_c)``).
    trapezoid : float
        The same with the plain trapezoid rule; ``value - trapezoid`` (the variance
        correction) estimates the plain rule's quadrature error.
    prior_part : float
        ``-log Z(t_c)``, from the prior draws.
    temperatures, means, variances, ses : ndarray
        ``t_k`` (``t_1 = t_c``, ``t_K = 1``) with ``E_t[n L_n]``, ``Var_t[n L_n]`` and
        the standard error of each mean.
    rhat : float
        The largest R-hat of ``n L_n`` over the temperatures and solutions.
    n, prior_scale : float
    chains, draws : int
    warnings : tuple of str
    seconds : float
    """

    value: float
    se: float
    trapezoid: float
    prior_part: float
    temperatures: np.ndarray = field(repr=False)
    means: np.ndarray = field(repr=False)
    variances: np.ndarray = field(repr=False)
    ses: np.ndarray = field(repr=False)
    rhat: float
    n: float
    prior_scale: float
    chains: int
    draws: int
    warnings: tuple[str, ...]
    seconds: float

    @property
    def bic_scale(self) -> float:
        """``2 F_n``: comparable with BIC and ``2 WBIC``."""
        return 2 * self.value

    def to_dict(self) -> dict:
        """Plain data."""
        out = dict(self.__dict__)
        for key in ("temperatures", "means", "variances", "ses"):
            out[key] = np.asarray(out[key]).tolist()
        out["warnings"] = list(self.warnings)
        return out


def trapezoid_weights(t: np.ndarray) -> np.ndarray:
    """Weights ``c`` of the trapezoid rule on the points ``t``: ``integral f ~ c @ f(t)``."""
    h = np.diff(t)
    c = np.zeros_like(t, dtype=np.float64)
    c[:-1] += h / 2
    c[1:] += h / 2
    return c


def integrate(t: np.ndarray, mean: np.ndarray, var: np.ndarray) -> tuple[float, float]:
    """``(corrected, trapezoid)``: the integral of ``mean`` over ``t`` (``d mean / dt = -var``).

    Examples
    --------
    >>> t = np.linspace(0, 1, 5)          # E_t = exp(-t), Var_t = exp(-t): exact 1 - 1/e
    >>> corrected, plain = integrate(t, np.exp(-t), np.exp(-t))
    >>> bool(abs(corrected - (1 - np.exp(-1))) < abs(plain - (1 - np.exp(-1))) / 50)
    True
    """
    plain = float(trapezoid_weights(t) @ mean)
    return plain + float(np.sum(np.diff(t) ** 2 / 12 * np.diff(var))), plain


def prior_losses(est, prior_scale: float, phi: float, seed: int) -> np.ndarray:
    """``n L_n`` at :data:`PRIOR_DRAWS` exact draws from the prior (a Gaussian: an L2 penalty
    and ``N(0, prior_scale^2)`` on every free weight)."""
    problem = est.problem
    free = np.flatnonzero(problem.free)
    prec = 1.0 / prior_scale**2 + 2.0 * problem.penalty.l2 * problem.penalized[free] / phi
    draws = np.random.default_rng(seed).normal(size=(PRIOR_DRAWS, free.size)) / np.sqrt(prec)
    theta = np.tile(np.asarray(est.theta, dtype=np.float64), (PRIOR_DRAWS, 1))
    theta[:, free] = draws
    nll = jax.lax.map(lambda th: negloglik(th, problem), jnp.asarray(theta), batch_size=1000)
    return np.asarray(nll) / phi + loss_offset(est, phi)


class PriorPart(NamedTuple):
    """The stretch ``[0, t_c]`` of the integral, from exact prior draws."""

    t_c: float
    value: float  # -log Z(t_c)
    se: float
    mean: float  # E_{t_c}[n L_n] by importance weights, to check the chains' first mean
    mean_se: float


def prior_part(losses: np.ndarray) -> PriorPart:
    """``-log Z(t_c)`` from ``n L_n`` at exact prior draws (module docstring).

    ``t_c`` is the largest inverse temperature of a geometric ladder from ``1e-12``
    to 1 at which the weights ``exp(-t n L_n)`` keep an effective sample size of
    :data:`MIN_PRIOR_ESS`. Infinite losses (zero likelihood) get weight 0.

    Examples
    --------
    >>> losses = np.random.default_rng(0).normal(1000.0, 10.0, size=20000)
    >>> p = prior_part(losses)     # Gaussian losses: -log Z(t) = t m - t^2 s^2 / 2
    >>> bool(abs(p.value - (p.t_c * 1000.0 - p.t_c**2 * 100.0 / 2)) < 3 * p.se + 1e-9)
    True
    """
    if np.any(np.isnan(losses)):
        raise ValueError(
            f"The likelihood is NaN at {int(np.isnan(losses).sum())} of {losses.size} draws "
            f"from the prior: expected a number or +inf (zero likelihood) at every weight "
            f"vector. Fix: a smaller prior_scale, or wbic() (it samples near the fit only)."
        )
    best = None
    for t in np.geomspace(1e-12, 1.0, 241):
        logw = -t * (losses - losses.min())
        w = np.exp(logw - logw.max())
        ess = w.sum() ** 2 / np.sum(w**2)
        if ess < MIN_PRIOR_ESS:
            break
        log_z = logsumexp(-t * losses) - math.log(losses.size)
        p = w / w.sum()
        finite = np.where(p > 0, losses, 0.0)
        mean = float(np.sum(p * finite))
        sd = math.sqrt(float(np.sum(p * (finite - mean) ** 2)))
        se = float(np.std(w / w.mean()) / math.sqrt(losses.size))  # delta method on log Z
        best = PriorPart(float(t), float(-log_z), se, mean, sd / math.sqrt(ess))
    if best is None:
        raise ValueError(
            f"The prior draws' losses n L_n spread over {np.ptp(losses[np.isfinite(losses)]):.3g}:"
            f" expected an effective sample of {MIN_PRIOR_ESS} at t = 1e-12. Fix: a smaller "
            f"prior_scale."
        )
    return best


def free_energy(
    result,
    *,
    temperatures: int = 24,
    solutions=None,
    prior_scale: float = 10.0,
    progress: Callable[[int, int], None] | None = None,
    **sampling,
) -> FreeEnergy:
    """The Bayes free energy ``-log p(data)`` by thermodynamic integration (module docstring).

    The model is WBIC's: the likelihood with σ² at the fit's σ̂² (gaussian family), the
    prior ``exp(-penalty(w) / phi)`` times ``N(0, prior_scale^2)`` on every free weight
    (an L2 penalty or none: the prior is sampled exactly).

    Parameters
    ----------
    result : FitResult, Estimate or Campaign
    temperatures : int
        ``K``: inverse temperatures from ``t_c`` to 1, evenly spaced in ``log t``
        (at least 4).
    solutions, prior_scale, progress, **sampling
        As in :func:`~nnmle.singular.wbic` (chains per solution at each temperature;
        ``draws`` and ``warmup`` default to 500 here).

    Returns
    -------
    FreeEnergy

    References
    ----------
    N. Friel and A. N. Pettitt, "Marginal likelihood estimation via power posteriors",
    JRSS B 70 (2008). N. Friel, M. Hurn and J. Wyse, "Improving power posterior
    estimation of statistical evidence", Statistics and Computing 24 (2014).

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 1)); y = X[:, 0] + rng.normal(size=100)
    >>> res = nnmle.fit(X, y, hidden=(), family="gaussian")
    >>> fe = free_energy(res, temperatures=4, chains=2, draws=50, warmup=50, sampler="mala")
    >>> fe.temperatures.shape, bool(fe.value > -res.loglik)
    ((4,), True)
    """
    _int("temperatures", temperatures, 4, 24)
    if "beta" in sampling:
        raise ValueError(
            f"free_energy integrates over every inverse temperature in (0, 1]; got "
            f"beta={sampling['beta']!r}. Fix: drop beta (wbic(res, beta=...) gives one)."
        )
    sampling = {"draws": 500, "warmup": 500, **sampling}
    est, thetas, prior_scale, run, _ = _common(result, solutions, prior_scale, sampling)
    if est.problem.penalty.l1 > 0:
        raise ValueError(
            f"free_energy samples the prior exactly, a Gaussian: an L2 penalty or none; got "
            f"l1={est.problem.penalty.l1!r}. Fix: refit with l2 instead, or use wbic()."
        )
    phi = dispersion(est.problem, est.theta)
    prior = prior_part(prior_losses(est, prior_scale, phi, run["seed"]))
    # t_c = 1: the prior draws alone give Z(1), no chains are needed
    grid = np.geomspace(prior.t_c, 1.0, temperatures) if prior.t_c < 1 else np.ones(1)
    means, variances, ses, rhats, notes, seconds = [], [], [], [], [], 0.0
    for i, t in enumerate(grid if prior.t_c < 1 else ()):
        # a seed per temperature: with one, every temperature would reuse the same whitened
        # draws and their Monte-Carlo errors would add up instead of averaging out
        sols, chains, found, _ = _posterior(
            est, thetas, beta=t, prior_scale=prior_scale, pointwise=False,
            run={**run, "seed": run["seed"] + i + 1}, progress=None,
        )  # fmt: skip
        mean, mean_se = mixture(sols)
        var = sum(
            s.weight * (float(np.var(s.loss + np.asarray(c.dnll))) + (s.mean - mean) ** 2)
            for s, c in zip(sols, chains, strict=True)
        )
        means.append(float(mean))
        variances.append(float(var))
        ses.append(mean_se)
        rhats += [s.rhat for s in sols if math.isfinite(s.rhat)]
        notes += found
        seconds += sum(c.seconds for c in chains)
        if progress is not None:
            progress(i + 1, len(grid))
    if not means:
        means, variances, ses = [prior.mean], [0.0], [prior.mean_se]
    elif abs(means[0] - prior.mean) > 4 * math.hypot(ses[0], prior.mean_se):
        notes.append(
            f"at t_c = {prior.t_c:.3g} the chains' mean of n L_n ({means[0]:.2f}) is not the "
            f"prior draws' ({prior.mean:.2f} +- {prior.mean_se:.2f}): one of them misses part "
            f"of the posterior (the prior draws a region near the minimum, or the chains a "
            f"basin); fix: more draws, or chains at every distinct solution"
        )
    m, v, se = map(np.asarray, (means, variances, ses))
    value, plain = integrate(grid, m, v)
    chains_se = float(np.sqrt(np.sum((trapezoid_weights(grid) * se) ** 2)))
    notes = sorted(set(notes))
    warn_all(notes)
    return FreeEnergy(
        prior.value + value, math.hypot(chains_se, prior.se),
        prior.value + plain, prior.value, grid, m, v, se, max(rhats, default=float("nan")),
        sample_size(est.problem), prior_scale, run["chains"], run["draws"], tuple(notes),
        seconds,
    )  # fmt: skip
