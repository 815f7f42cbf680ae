"""The statistics of a GLM's results, for any network: degrees of freedom, Pearson chi-square,
dispersion, the null log-likelihood, pseudo R-squared and residuals (statsmodels' definitions).

A network without hidden layer is a GLM, and every number here then equals
statsmodels' ``GLM(...).fit()`` (tested). For a network, the degrees of freedom
count the effective number of parameters:

* ``edf``: the rank of the Fisher information without a penalty (the symmetry
  group's continuous part and redundant units do not count), ``tr(F H^-1)``
  with one (:func:`nnmle.inference.effective_df`);
* ``df_model = edf - (free output biases)`` (the intercepts, as statsmodels
  does not count the constant), ``df_resid = wnobs - edf`` where ``wnobs`` is
  the sum of the case weights (frequency weights; the rows for the binomial
  family, whose weights are numbers of trials).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..estimation import Estimate, as_estimate
from ._covariance import Inference, resolve

__all__ = ["FitStatistics", "RESIDUALS", "fit_statistics", "pseudo_rsquared", "residuals"]

#: the residuals :func:`residuals` computes
RESIDUALS = ("response", "pearson", "deviance", "working")


class FitStatistics(NamedTuple):
    """Fit statistics with statsmodels' names (see the module docstring).

    Attributes
    ----------
    nobs : int
        Rows (statsmodels' ``nobs``).
    wnobs : float
        Sum of the case weights (the rows for the binomial family).
    edf, df_model, df_resid : float
    llf, llnull : float
        Log-likelihood at the fit and of the intercept-only model.
    deviance, null_deviance, pearson_chi2 : float
    scale : float
        ``pearson_chi2 / df_resid`` for the gaussian family (statsmodels' GLM),
        1 otherwise.
    aic, bic : float
        ``-2 llf + 2 k`` and ``-2 llf + k log(wnobs)``, ``k`` the free weights.
    """

    nobs: int
    wnobs: float
    edf: float
    df_model: float
    df_resid: float
    llf: float
    llnull: float
    deviance: float
    null_deviance: float
    pearson_chi2: float
    scale: float
    aic: float
    bic: float


def _arrays(est: Estimate):
    """``eta`` (with the offset), ``Y`` and ``w`` of the real rows, as JAX arrays."""
    problem = est.problem
    eta = problem.linear_predictor(est.theta)
    return jnp.asarray(eta), jnp.asarray(problem.Y), jnp.asarray(problem.w)


def _wnobs(est: Estimate, Y, w) -> float:
    """Responses counted by the residual degrees of freedom (rows for the binomial family)."""
    if est.family.name == "binomial":
        return float(w.shape[0])
    return float(est.family.n_responses(Y, w))


def _edf(est: Estimate, inf: Inference) -> float:
    """The rank of the Fisher information without a penalty, ``tr(F H^-1)`` with one."""
    if est.penalty.active:
        return float(inf.edf)
    return float(inf.index.size - inf.nullity)


def _intercepts(est: Estimate) -> int:
    """Free biases of the mean outputs (the model's intercepts)."""
    arch = est.arch
    means = arch.output_names[: arch.n_outputs - est.family.n_extra]
    wanted = {f"bias->{o}" for o in means}
    free = est.problem.free
    return sum(bool(free[j]) for j, n in enumerate(arch.param_names()) if n in wanted)


def _llnull(est: Estimate, eta, Y, w, scale: float) -> float:
    """Log-likelihood of the intercept-only model, at the fit's ``scale`` (as statsmodels)."""
    problem, fam = est.problem, est.family
    off = problem.offset
    eta0 = fam.null_linear_predictor(Y, w, None if off is None else jnp.asarray(off), eta)
    if fam.loglik_scaled is not None:
        return float(fam.loglik_scaled(eta0, Y, w, scale))
    if not fam.has_dispersion:
        return float(fam.loglik(eta0, Y, w))
    dev = np.asarray(fam.deviances(eta0, Y))  # gaussian: the squared residuals
    n = float(fam.n_responses(Y, w))
    wn = np.asarray(w)
    return float(-0.5 * (np.sum(wn * dev) / scale + n * np.log(2 * np.pi * scale)))


def fit_statistics(
    result, se: str = "hessian", inference: Inference | None = None
) -> FitStatistics:
    """Degrees of freedom, Pearson chi-square, dispersion and the null log-likelihood.

    Parameters
    ----------
    result : Estimate or FitResult
    se : str
        The covariance of the inference whose ``edf`` is used, when ``inference``
        is not given (the degrees of freedom do not depend on it).
    inference : Inference, optional

    Returns
    -------
    FitStatistics

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> X = np.arange(8.0)[:, None]; y = np.array([0.1, 1.2, 1.9, 3.2, 4.1, 4.8, 6.3, 7.0])
    >>> st = fit_statistics(nnmle.fit(X, y, hidden=(), family="gaussian"))
    >>> st.df_model, st.df_resid, round(st.scale, 6)
    (1.0, 6.0, 0.032143)
    """
    est = as_estimate(result)
    inf = resolve(est, se, None, inference)
    fam = est.family
    eta, Y, w = _arrays(est)
    edf = _edf(est, inf)
    wnobs = _wnobs(est, Y, w)
    pearson = float(fam.pearson_chi2(eta, Y, w))
    scale = float(fam.dispersion(eta, Y, w, edf)) if fam.has_dispersion else 1.0
    return FitStatistics(
        nobs=int(est.n_obs),
        wnobs=wnobs,
        edf=edf,
        df_model=edf - _intercepts(est),
        df_resid=wnobs - edf,
        llf=float(est.loglik),
        llnull=_llnull(est, eta, Y, w, scale),
        deviance=float(est.deviance),
        null_deviance=float(est.null_deviance),
        pearson_chi2=pearson,
        scale=float(scale),
        aic=float(est.aic),
        bic=float(est.bic),
    )


def pseudo_rsquared(stats: FitStatistics, kind: str = "cs") -> float:
    """Cox-Snell (``"cs"``: ``1 - exp(2 (llnull - llf) / nobs)``) or McFadden (``"mcf"``:
    ``1 - llf / llnull``) pseudo R-squared, as statsmodels.

    Examples
    --------
    >>> st = FitStatistics(10, 10.0, 2.0, 1.0, 8.0, -4.0, -6.0, 0, 0, 0, 1.0, 0, 0)
    >>> round(pseudo_rsquared(st, "mcf"), 4), round(pseudo_rsquared(st, "cs"), 4)
    (0.3333, 0.3297)
    """
    if kind == "mcf":
        return 1.0 - stats.llf / stats.llnull
    if kind == "cs":
        return float(1.0 - np.exp((stats.llnull - stats.llf) * 2.0 / stats.nobs))
    raise ValueError(
        f"kind={kind!r} is not a pseudo R-squared nnmle knows: expected 'cs' (Cox-Snell) or "
        f"'mcf' (McFadden). Fix: e.g. res.pseudo_rsquared(kind='cs')."
    )


def residuals(result, kind: str = "response") -> np.ndarray:
    """Residuals on the data's rows, as statsmodels' GLM defines them.

    ``response``: ``y - mu`` (``(n, K)`` for the multinomial); ``pearson``:
    ``(y - mu) / sqrt(V(mu))``; ``deviance``: ``sign(y - mu) sqrt(d_i)``, ``d_i``
    the unit deviance; ``working``: ``(y - mu) d eta / d mu`` (the IRLS working
    residual). For the binomial family the trials ``m`` (case weights) enter as
    in statsmodels' GLM with a two-column response: ``m (y - mu)`` (successes
    minus their expectation) and ``sqrt(m)`` times the pearson and deviance
    residuals; the working residual stays on the proportion scale (R's; statsmodels
    multiplies it by ``m^2``).

    Parameters
    ----------
    result : Estimate or FitResult
    kind : {"response", "pearson", "deviance", "working"}

    Returns
    -------
    ndarray of shape (n,) (or (n, K) for the multinomial response residuals)
    """
    if kind not in RESIDUALS:
        raise ValueError(
            f"kind={kind!r} is not a residual nnmle knows: expected one of "
            f"{', '.join(RESIDUALS)}. Fix: e.g. kind='pearson'."
        )
    est = as_estimate(result)
    problem, fam = est.problem, est.family
    eta, Y, w = _arrays(est)
    mu = np.asarray(fam.inverse_link(eta))
    r = problem.Y - mu
    if kind != "response" and fam.name == "multinomial":
        raise ValueError(
            f"{kind} residuals are defined for one linear predictor per response; the "
            f"multinomial family has {mu.shape[1]} class probabilities. Fix: res.resid_response."
        )
    m = (problem.w if fam.name == "binomial" else np.ones(r.shape[0]))[:, None]
    if kind == "response":
        out = m * r
        return out[:, 0] if out.shape[1] == 1 else out
    if kind == "pearson":
        if fam.variance is None:
            out = np.full_like(r, np.nan)
        else:
            out = np.sqrt(m) * r / np.sqrt(np.asarray(fam.variance(jnp.asarray(mu), eta)))
    elif kind == "working":
        n_mean = r.shape[1]
        slope = jax.vmap(jax.jacfwd(lambda e: fam.inverse_link(e[None, :])[0]))(eta)  # (n, q, q)
        out = r / np.diagonal(np.asarray(slope)[:, :n_mean, :n_mean], axis1=1, axis2=2)
    else:
        unit = np.asarray(fam.deviances(eta, Y))  # summed over the outputs
        out = (np.sign(r[:, 0]) * np.sqrt(np.maximum(m[:, 0] * unit, 0.0)))[:, None]
    return out[:, 0] if out.shape[1] == 1 else out
