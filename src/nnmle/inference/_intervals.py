"""Confidence intervals for the fitted mean: delta method, or bootstrap percentiles."""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from scipy import stats

from ..estimation import as_estimate
from ._covariance import Inference, resolve

__all__ = ["PredictionInterval", "predict_interval"]


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
    """Delta-method (or bootstrap percentile) confidence intervals for the fitted mean.

    For one linear predictor the interval is computed on the link scale,
    ``eta -/+ z se(eta)`` with ``se(eta)^2 = g' Cov g``, ``g = d eta / d theta``, and
    mapped through the inverse link (as statsmodels' ``get_prediction``); for the
    multinomial family, on the probabilities directly (clipped to [0, 1]).
    Predictions are identified whatever the symmetry: ``g`` is orthogonal to
    the flat directions of the likelihood, so the pseudo-inverse covariance
    gives the right variance. A bootstrap inference uses the percentiles of the
    replicates' predictions.

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
    problem = est.problem
    X = np.asarray(X_design, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != est.arch.n_inputs:
        raise ValueError(
            f"X_design must be a design matrix of shape (n, {est.arch.n_inputs}); got shape "
            f"{X.shape}. Fix: result.design_matrix(X) converts a data frame or 1-D input."
        )
    inf = resolve(est, se, level, inference)
    multi = est.family.name == "multinomial"
    if inf.bootstrap is not None:
        mu = np.stack([_mean(problem, th, X, multi) for th in inf.bootstrap.ok_replicates])
        lo, hi = np.quantile(mu, [0.5 - level / 2, 0.5 + level / 2], axis=0)
        return PredictionInterval(_mean(problem, inf.theta, X, multi), lo, hi)
    q = stats.norm.ppf(0.5 + level / 2)
    f = problem.mean(inf.theta, X) if multi else problem.linear_predictor(inf.theta, X)
    J = problem.eta_jacobian(inf.theta, X, mean=multi)[..., inf.index]
    sd = np.sqrt(np.maximum(np.einsum("nqk,kl,nql->nq", J, inf.cov, J), 0.0))
    if multi:
        return PredictionInterval(f, np.clip(f - q * sd, 0, 1), np.clip(f + q * sd, 0, 1))
    link = est.family.inverse_link
    mean, lo, hi = (np.asarray(link(jnp.asarray(e)))[:, 0] for e in (f, f - q * sd, f + q * sd))
    return PredictionInterval(mean, lo, hi)


def _mean(problem, theta, X: np.ndarray, multi: bool) -> np.ndarray:
    mu = problem.mean(theta, X)
    return mu if multi else mu[:, 0]
