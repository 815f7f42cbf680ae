"""Predictions with intervals for the mean and for a new observation (statsmodels'
``get_prediction(...).summary_frame()``).

The mean at ``x`` is an identified function of the weights; its standard
error is the delta method ``se(eta)^2 = g' Cov g`` (``g = d eta / d theta``),
the interval is computed on the link scale and mapped through the inverse
link (as statsmodels' GLM), and ``mean_se = |d mu / d eta| se(eta)``. A point
where the linear predictor is not identified (its gradient loads on the null
space of the Fisher information: e.g. a direction the data never varied) gets
NaN, not a number that looks like an interval.

**New observations** (``obs_ci_lower``, ``obs_ci_upper``):

* gaussian: ``mean -/+ z sqrt(mean_se^2 + scale)``, ``scale`` the dispersion
  ``pearson_chi2 / df_resid`` (statsmodels' OLS interval, with the normal
  quantile as the GLM's mean interval);
* bernoulli, binomial and poisson: the quantiles ``alpha/2`` and ``1 - alpha/2`` of
  the predictive distribution ``integral f(y | g^-1(eta)) N(eta; eta_hat, se(eta)^2) d eta``,
  the fitted distribution with the uncertainty of the identified linear
  predictor, by Gauss-Hermite quadrature (:data:`N_QUADRATURE` nodes). The
  interval is for a count (poisson), a 0/1 outcome (bernoulli) or a proportion
  of ``trials`` (binomial, one trial unless given). Being discrete, such an
  interval covers at least ``1 - alpha``;
* multinomial: none (an outcome is a class label); the class probabilities
  have mean intervals, clipped to [0, 1]. Several outputs (multi-output
  gaussian) have mean intervals per output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from scipy import stats

from ..estimation import Estimate, as_estimate
from ..families import get_family
from ._covariance import Inference, resolve
from ._effects import check_alpha
from ._functionals import delta

__all__ = ["N_QUADRATURE", "Prediction", "PredictionInterval", "predict_interval", "prediction"]

#: Gauss-Hermite nodes of the predictive distributions of discrete families
N_QUADRATURE = 40


@dataclass(frozen=True, eq=False)
class Prediction:
    """Predicted means with their standard errors (statsmodels' ``PredictionResults``).

    Attributes
    ----------
    predicted_mean, se_mean : ndarray of shape (n,) or (n, K)
    linpred, se_linpred : ndarray of shape (n,) or None
        The linear predictor and its standard error (one linear predictor only).
    identification : ndarray of str
        Per prediction: ``"data"``, ``"penalty"`` or ``"none"``.
    family : str
    scale : float
        Dispersion used by the gaussian observation interval.
    trials : ndarray or None
        Binomial trials of the new observations.
    row_labels : list or None
        The input's index (a DataFrame's), else ``0..n-1``.
    outputs : tuple of str
    se_method : str
        ``"delta"``, or ``"bootstrap"`` (percentile mean intervals).
    """

    predicted_mean: np.ndarray
    se_mean: np.ndarray
    linpred: np.ndarray | None
    se_linpred: np.ndarray | None
    identification: np.ndarray = field(repr=False)
    family: str = "gaussian"
    scale: float = 1.0
    trials: np.ndarray | None = field(default=None, repr=False)
    row_labels: list | None = field(default=None, repr=False)
    outputs: tuple[str, ...] = ("y",)
    se_method: str = "delta"
    replicates: np.ndarray | None = field(default=None, repr=False)

    @property
    def predicted(self) -> np.ndarray:
        """The predicted means (statsmodels' newer name)."""
        return self.predicted_mean

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        """Mean intervals at level ``1 - alpha``: shape ``(n, 2)`` (or ``(n, K, 2)``)."""
        level = check_alpha(alpha)
        bad = np.isnan(self.se_mean)
        if self.replicates is not None:
            lo, hi = np.quantile(self.replicates, [alpha / 2, 1 - alpha / 2], axis=0)
        elif self.linpred is not None:
            q = stats.norm.ppf(0.5 + level / 2)
            link = _inverse_link(self.family)
            lo = link(self.linpred - q * self.se_linpred)
            hi = link(self.linpred + q * self.se_linpred)
        else:
            q = stats.norm.ppf(0.5 + level / 2)
            lo, hi = self.predicted_mean - q * self.se_mean, self.predicted_mean + q * self.se_mean
            if self.family == "multinomial":
                lo, hi = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
        lo, hi = np.reshape(lo, bad.shape), np.reshape(hi, bad.shape)
        return np.stack([np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)], axis=-1)

    def obs_int(self, alpha: float = 0.05) -> np.ndarray | None:
        """Intervals for a new observation at level ``1 - alpha`` (``(n, 2)``), or None."""
        level = check_alpha(alpha)
        if self.linpred is None:
            return None
        q = stats.norm.ppf(0.5 + level / 2)
        if self.family == "gaussian":
            sd = np.sqrt(self.se_mean**2 + self.scale)
            out = np.stack([self.predicted_mean - q * sd, self.predicted_mean + q * sd], axis=1)
        elif self.family in ("bernoulli", "binomial", "poisson"):
            out = _predictive_quantiles(self, alpha)
        else:
            return None
        return np.where(np.isnan(self.se_mean)[:, None], np.nan, out)

    def summary_frame(self, alpha: float = 0.05):
        """``mean``, ``mean_se``, ``mean_ci_lower``, ``mean_ci_upper`` and, where defined,
        ``obs_ci_lower``, ``obs_ci_upper``; indexed like the input (by ``(row, class)``
        for class probabilities)."""
        import pandas as pd

        ci = self.conf_int(alpha)
        labels = self.row_labels if self.row_labels is not None else None
        if self.predicted_mean.ndim == 2:
            n, K = self.predicted_mean.shape
            rows = labels if labels is not None else list(range(n))
            idx = pd.MultiIndex.from_product([rows, list(self.outputs)], names=["row", "class"])
            return pd.DataFrame(
                {
                    "mean": self.predicted_mean.ravel(),
                    "mean_se": self.se_mean.ravel(),
                    "mean_ci_lower": ci[..., 0].ravel(),
                    "mean_ci_upper": ci[..., 1].ravel(),
                },
                index=idx,
            )
        frame = pd.DataFrame(
            {
                "mean": self.predicted_mean,
                "mean_se": self.se_mean,
                "mean_ci_lower": ci[:, 0],
                "mean_ci_upper": ci[:, 1],
            },
            index=labels,
        )
        obs = self.obs_int(alpha)
        if obs is not None:
            frame["obs_ci_lower"], frame["obs_ci_upper"] = obs[:, 0], obs[:, 1]
        return frame


def _inverse_link(family: str):
    link = get_family(family).inverse_link
    return lambda eta: np.asarray(link(jnp.asarray(np.asarray(eta)[:, None])))[:, 0]


def _predictive_quantiles(pred: Prediction, alpha: float) -> np.ndarray:
    """Quantiles of the mixture ``integral f(y | mu(eta)) N(eta; eta_hat, se^2)`` (integers)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(N_QUADRATURE)
    weights = weights / weights.sum()
    assert pred.linpred is not None and pred.se_linpred is not None  # one linear predictor
    se = np.nan_to_num(pred.se_linpred)  # rows without a number are masked by the caller
    eta = pred.linpred[:, None] + se[:, None] * nodes[None, :]  # (n, Q)
    mu = _inverse_link(pred.family)(eta.ravel()).reshape(eta.shape)
    if pred.family == "poisson":
        dist, m = stats.poisson(mu), np.ones(len(mu))
    else:
        m = np.ones(len(mu)) if pred.trials is None else np.asarray(pred.trials, dtype=float)
        dist = stats.binom(np.round(m)[:, None].astype(int), mu)
    out = np.empty((len(mu), 2))
    for j, prob in enumerate((alpha / 2, 1 - alpha / 2)):
        lo = np.min(dist.ppf(prob), axis=1)  # a mixture's quantile lies between its parts'
        hi = np.max(dist.ppf(prob), axis=1)
        while np.any(hi > lo):  # bisection on the integers: smallest k with cdf(k) >= prob
            mid = np.floor((lo + hi) / 2)
            cdf = np.sum(weights * dist.cdf(mid[:, None]), axis=1)
            ok = cdf >= prob - 1e-12
            hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid + 1)
        out[:, j] = lo
    return out / (m[:, None] if pred.family == "binomial" else 1.0)


def prediction(
    result,
    X_design,
    se: str = "hessian",
    inference: Inference | None = None,
    trials=None,
    row_labels=None,
    classes=None,
) -> Prediction:
    """Predicted means at new inputs with delta-method standard errors (module docstring).

    Parameters
    ----------
    result : Estimate or FitResult
    X_design : array of shape (n, n_inputs)
        A design matrix (``FitResult.get_prediction`` converts data frames).
    se : {"hessian", "sandwich", "bootstrap"}
    inference : Inference, optional
    trials : array-like of shape (n,), optional
        Binomial trials of the new observations (default 1).
    row_labels : sequence, optional
    classes : sequence, optional
        Class labels (the multinomial's outputs are named ``y=<class>``).

    Returns
    -------
    Prediction

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> X = np.arange(8.0)[:, None]; y = np.array([0.1, 1.2, 1.9, 3.2, 4.1, 4.8, 6.3, 7.0])
    >>> p = prediction(nnmle.fit(X, y, hidden=(), family="gaussian"), [[3.5]])
    >>> list(p.summary_frame().columns)[-2:]
    ['obs_ci_lower', 'obs_ci_upper']
    """
    est: Estimate = as_estimate(result)
    problem = est.problem
    X = np.asarray(X_design, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != est.arch.n_inputs:
        raise ValueError(
            f"X_design must be a design matrix of shape (n, {est.arch.n_inputs}); got shape "
            f"{X.shape}. Fix: result.design_matrix(X) converts a data frame or 1-D input."
        )
    inf = resolve(est, se, None, inference)
    theta = inf.theta
    mu = problem.mean(theta, X)
    multi = mu.shape[1] > 1
    Jm = problem.eta_jacobian(theta, X, mean=True)  # (n, q, P)
    reps = None
    if inf.bootstrap is not None:
        reps = np.stack([problem.mean(th, X).ravel() for th in inf.bootstrap.ok_replicates])
    dm = delta(mu.ravel(), Jm.reshape(-1, Jm.shape[-1]), problem, inf, 0.95, reps, full_cov=False)
    shape = mu.shape
    ident = np.array(dm.identification, dtype=object).reshape(shape)
    outputs = tuple(est.arch.output_names)
    if multi:
        K = shape[1]
        if est.family.name == "multinomial":
            outputs = tuple(f"y={c}" for c in (classes if classes else range(K)))
        return Prediction(
            mu, dm.se.reshape(shape), None, None, ident, est.family.name, row_labels=row_labels,
            outputs=outputs, se_method=dm.method,
            replicates=None if reps is None else reps.reshape(-1, *shape),
        )  # fmt: skip
    eta = problem.linear_predictor(theta, X)[:, 0]
    Je = problem.eta_jacobian(theta, X)[:, 0, :]
    de = delta(eta, Je, problem, inf, 0.95, full_cov=False)
    scale = inf.scale if est.family.has_dispersion else 1.0  # (no data needed: a loaded model)
    if trials is not None:
        trials = np.asarray(trials, dtype=float)
        if trials.shape != (X.shape[0],) or np.any(trials < 1):
            raise ValueError(
                f"trials must be one positive number of trials per row ({X.shape[0]}); got "
                f"{np.shape(trials)}. Fix: trials=np.ones(len(X)) for one trial each."
            )
    return Prediction(
        predicted_mean=mu[:, 0],
        se_mean=np.where(ident[:, 0] == "none", np.nan, dm.se),
        linpred=eta,
        se_linpred=de.se,
        identification=ident[:, 0],
        family=est.family.name,
        scale=float(scale),
        trials=trials,
        row_labels=row_labels,
        outputs=outputs,
        se_method=dm.method,
        replicates=reps,
    )


class PredictionInterval(NamedTuple):
    """Fitted means with pointwise confidence bounds (shape ``(n,)`` or ``(n, K)``)."""

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def predict_interval(
    result,
    X_design,
    interval: str = "confidence",
    level: float = 0.95,
    se: str = "hessian",
    inference: Inference | None = None,
) -> PredictionInterval:
    """Confidence intervals for the fitted mean: :func:`prediction`'s ``conf_int`` as a tuple.

    For one linear predictor the interval is computed on the link scale,
    ``eta -/+ z se(eta)`` with ``se(eta)^2 = g' Cov g``, ``g = d eta / d theta``, and
    mapped through the inverse link (as statsmodels' ``get_prediction``); for
    several outputs, on the means directly (class probabilities clipped to
    [0, 1]). A bootstrap inference uses the percentiles of the replicates'
    predictions. A mean that the data do not identify gets NaN bounds.

    Parameters
    ----------
    result : Estimate or FitResult
    X_design : array of shape (n, n_inputs)
        A design matrix (``FitResult.predict`` converts data frames first).
    interval : {"confidence"}
    level : float
    se : {"hessian", "sandwich", "bootstrap"}
        The covariance, when ``inference`` is not given.
    inference : Inference, optional
        Already computed for ``result`` (its method wins over ``se``).

    Returns
    -------
    PredictionInterval

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> X = np.arange(8.0)[:, None]; y = np.array([0.1, 1.2, 1.9, 3.2, 4.1, 4.8, 6.3, 7.0])
    >>> pi = predict_interval(nnmle.fit(X, y, hidden=(), family="gaussian"), [[3.5]])
    >>> bool(pi.lower[0] < pi.mean[0] < pi.upper[0])
    True
    """
    if interval != "confidence":
        raise ValueError(
            f"interval={interval!r} is not supported: expected 'confidence' (for the mean). "
            f"Fix: result.predict(X, interval='confidence', level=0.95)."
        )
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level!r}. Fix: e.g. level=0.95.")
    est = as_estimate(result)
    inf = resolve(est, se, level, inference)
    pred = prediction(est, X_design, inference=inf)
    ci = pred.conf_int(1 - level)
    return PredictionInterval(pred.predicted_mean, ci[..., 0], ci[..., 1])
