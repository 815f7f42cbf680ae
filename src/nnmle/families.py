"""Likelihood families: the negative log-likelihood a network minimizes.

A family turns the network's linear predictor ``eta`` into the mean through
its inverse link, and gives the per-observation loss that the fit sums with
case weights. The losses are exactly the negative log-likelihoods of
classical statistics:

========== ========== ============================================ =====================
family     link       loss per observation (weight 1)              targets
========== ========== ============================================ =====================
gaussian   identity   ½ (y − μ)²  (NLL at unit variance, no const.) real numbers
bernoulli  logit      −[y log μ + (1 − y) log(1 − μ)]              0/1
binomial   logit      same, y a proportion, weight = trials         proportions in [0, 1]
poisson    log        μ − y log μ + log y!                          counts ≥ 0
multinomial softmax   −log μ_y, baseline category = first class     K ≥ 2 labels
========== ========== ============================================ =====================

For the gaussian family σ² is then estimated by maximum likelihood,
σ̂² = Σ w r² / Σ w, and used in the log-likelihood, as statsmodels does.
The multinomial uses K − 1 linear predictors (the first class is the
reference with predictor 0), exactly as a multinomial logit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln, xlogy

__all__ = ["FAMILIES", "Family", "get_family"]

Array = jax.Array


@dataclass(frozen=True, eq=False)
class Family:
    """A likelihood family (hashable, so it can be a static argument under jit).

    Attributes
    ----------
    name, link : str
    inverse_link : callable
        ``eta (n, q) -> mean (n, q)``; for the multinomial, the K class
        probabilities.
    loss_obs : callable
        ``(eta, Y) -> (n,)`` negative log-likelihood kernel per observation at
        weight 1 (what the fit sums, times the case weights).
    loglik_const : callable
        ``(Y, w) -> float``: the constant that turns ``-sum(w * loss_obs)``
        into the full log-likelihood (``log y!``, binomial coefficients).
    saturated_loss : callable
        ``(Y) -> (n,)``: ``loss_obs`` of the saturated model, for the deviance.
    null_eta : callable
        ``(Y, w) -> (q,)``: the linear predictor of the intercept-only model.
    """

    name: str
    link: str
    inverse_link: Callable[[Array], Array]
    loss_obs: Callable[[Array, Array], Array]
    loglik_const: Callable[[Array, Array], Array]
    saturated_loss: Callable[[Array], Array]
    null_eta: Callable[[Array, Array], Array]
    has_dispersion: bool = False

    def __repr__(self) -> str:
        return f"Family({self.name!r}, link={self.link!r})"

    def __reduce__(self):
        # pickle by name: the functions it holds are module-level or lambdas
        return (get_family, (self.name,))

    def loglik(self, eta: Array, Y: Array, w: Array) -> Array:
        """Full log-likelihood, with σ² at its MLE for the gaussian family."""
        if self.has_dispersion:
            n = jnp.sum(w)
            sigma2 = jnp.sum(w * (Y[:, 0] - eta[:, 0]) ** 2) / n
            return -0.5 * n * (jnp.log(2 * jnp.pi * sigma2) + 1.0)
        return -jnp.sum(w * self.loss_obs(eta, Y)) + self.loglik_const(Y, w)

    def deviance(self, eta: Array, Y: Array, w: Array) -> Array:
        """Deviance ``2 Σ w (ℓ_saturated − ℓ)`` (the residual sum of squares for gaussian)."""
        return 2.0 * jnp.sum(w * (self.loss_obs(eta, Y) - self.saturated_loss(Y)))

    def null_deviance(self, Y: Array, w: Array) -> Array:
        """Deviance of the intercept-only model."""
        eta_null = self.null_eta(Y, w)
        eta0 = jnp.broadcast_to(eta_null, (Y.shape[0], eta_null.shape[0]))
        return self.deviance(eta0, Y, w)

    def scale(self, eta: Array, Y: Array, w: Array) -> Array:
        """Dispersion: σ̂² (maximum likelihood) for gaussian, 1 otherwise (traceable)."""
        if not self.has_dispersion:
            return jnp.asarray(1.0)
        return jnp.sum(w * (Y[:, 0] - eta[:, 0]) ** 2) / jnp.sum(w)

    def encode(self, y, weights=None) -> tuple[np.ndarray, tuple]:
        """Validate ``y`` and encode it as a float ``(n, q)`` target matrix.

        Returns the matrix and the class labels (empty for non-categorical
        families). Raises ``ValueError`` naming the problem and the fix.
        """
        return _ENCODERS[self.name](np.asarray(y), weights)

    def n_outputs(self, classes: tuple) -> int:
        """Number of linear predictors the network needs."""
        return len(classes) - 1 if self.name == "multinomial" else 1


# --- per-family pieces -----------------------------------------------------


def _gaussian_loss(eta, Y):
    return 0.5 * (Y[:, 0] - eta[:, 0]) ** 2


def _zero_const(Y, w):
    return jnp.asarray(0.0)


def _zeros(Y):
    return jnp.zeros(Y.shape[0])


def _mean_eta(Y, w):
    return jnp.atleast_1d(jnp.sum(w * Y[:, 0]) / jnp.sum(w))


def _binomial_loss(eta, Y):
    e, y = eta[:, 0], Y[:, 0]
    # -[y log σ(e) + (1-y) log(1-σ(e))], computed without overflow.
    return y * jax.nn.softplus(-e) + (1.0 - y) * jax.nn.softplus(e)


def _binomial_const(Y, w):
    # log C(n, n y) with n = w trials; zero for 0/1 data.
    k = w * Y[:, 0]
    return jnp.sum(gammaln(w + 1.0) - gammaln(k + 1.0) - gammaln(w - k + 1.0))


def _binomial_saturated(Y):
    y = Y[:, 0]
    return -(xlogy(y, y) + xlogy(1.0 - y, 1.0 - y))


def _logit_mean(Y, w):
    p = jnp.sum(w * Y[:, 0]) / jnp.sum(w)
    return jnp.atleast_1d(jnp.log(p) - jnp.log1p(-p))


def _sigmoid(eta):
    return jax.nn.sigmoid(eta)


def _poisson_loss(eta, Y):
    return jnp.exp(eta[:, 0]) - Y[:, 0] * eta[:, 0]


def _poisson_const(Y, w):
    return -jnp.sum(w * gammaln(Y[:, 0] + 1.0))


def _poisson_saturated(Y):
    y = Y[:, 0]
    return y - xlogy(y, y)


def _log_mean(Y, w):
    return jnp.atleast_1d(jnp.log(jnp.sum(w * Y[:, 0]) / jnp.sum(w)))


def _full_logits(eta):
    return jnp.concatenate([jnp.zeros(eta.shape[:-1] + (1,)), eta], axis=-1)


def _softmax(eta):
    return jax.nn.softmax(_full_logits(eta), axis=-1)


def _multinomial_loss(eta, Y):
    logits = _full_logits(eta)
    return jax.nn.logsumexp(logits, axis=-1) - jnp.sum(Y * logits, axis=-1)


def _multinomial_null(Y, w):
    p = jnp.sum(w[:, None] * Y, axis=0) / jnp.sum(w)
    return jnp.log(p[1:]) - jnp.log(p[0])


# --- validation of targets -------------------------------------------------


def _check_finite_1d(y: np.ndarray, family: str) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            f"y must be one column (shape (n,)); got shape {y.shape}. "
            f"Fix: pass a 1-D array of targets for the {family} family."
        )
    if y.size == 0:
        raise ValueError("y is empty: expected at least one observation. Fix: pass data.")
    if y.dtype.kind not in "biuf":
        raise ValueError(
            f"y must be numeric for the {family} family; got dtype {y.dtype}. "
            f"Fix: convert y to numbers"
            + (" or use family='multinomial' for labels." if family != "multinomial" else ".")
        )
    y = y.astype(float)
    if not np.all(np.isfinite(y)):
        bad = int(np.sum(~np.isfinite(y)))
        raise ValueError(
            f"y contains {bad} NaN or infinite value(s); expected finite numbers. "
            f"Fix: drop or impute those rows before fitting."
        )
    return y


def _encode_gaussian(y, weights):
    return _check_finite_1d(y, "gaussian")[:, None], ()


def _encode_bernoulli(y, weights):
    if y.dtype.kind == "b":
        y = y.astype(float)
    y = _check_finite_1d(y, "bernoulli")
    values = np.unique(y)
    if not np.all(np.isin(values, (0.0, 1.0))):
        raise ValueError(
            f"The bernoulli family needs 0/1 targets; got values {values[:6].tolist()}"
            f"{'...' if values.size > 6 else ''}. Fix: recode y as 0/1, use family='binomial' "
            f"for proportions (with the trials as weights), or 'multinomial' for labels."
        )
    if values.size < 2:
        raise ValueError(
            f"y has a single class ({values[0]:g}): a bernoulli model needs both 0 and 1. "
            f"Fix: check the target column."
        )
    return y[:, None], (0, 1)


def _encode_binomial(y, weights):
    y = _check_finite_1d(y, "binomial")
    if np.any((y < 0) | (y > 1)):
        raise ValueError(
            f"The binomial family needs proportions in [0, 1]; got range [{y.min():g}, "
            f"{y.max():g}]. Fix: divide successes by trials and pass the trials as weights."
        )
    return y[:, None], ()


def _encode_poisson(y, weights):
    y = _check_finite_1d(y, "poisson")
    if np.any(y < 0):
        raise ValueError(
            f"The poisson family needs counts >= 0; got {int(np.sum(y < 0))} negative value(s)"
            f" (minimum {y.min():g}). Fix: check the target, or use family='gaussian'."
        )
    return y[:, None], ()


def _encode_multinomial(y, weights):
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.size == 0:
        raise ValueError(
            f"y must be a non-empty 1-D array of class labels; got shape {y.shape}. "
            f"Fix: pass one label per row."
        )
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinite labels. Fix: drop those rows.")
    if y.dtype.kind == "O" and any(v is None for v in y):
        raise ValueError("y contains missing labels (None). Fix: drop those rows.")
    classes, codes = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ValueError(
            f"y has a single class ({classes[0]!r}): a multinomial model needs at least two. "
            f"Fix: check the target column."
        )
    Y = np.zeros((y.size, classes.size))
    Y[np.arange(y.size), codes] = 1.0
    return Y, tuple(classes.tolist())


_ENCODERS = {
    "gaussian": _encode_gaussian,
    "bernoulli": _encode_bernoulli,
    "binomial": _encode_binomial,
    "poisson": _encode_poisson,
    "multinomial": _encode_multinomial,
}

_identity: Callable[[Array], Array] = lambda eta: eta  # noqa: E731

FAMILIES: dict[str, Family] = {
    "gaussian": Family(
        "gaussian", "identity", _identity, _gaussian_loss, _zero_const, _zeros, _mean_eta, True
    ),
    # bernoulli and binomial share the likelihood; they differ in the targets they accept
    **{
        name: Family(
            name,
            "logit",
            _sigmoid,
            _binomial_loss,
            _binomial_const,
            _binomial_saturated,
            _logit_mean,
        )
        for name in ("bernoulli", "binomial")
    },
    "poisson": Family(
        "poisson", "log", jnp.exp, _poisson_loss, _poisson_const, _poisson_saturated, _log_mean
    ),
    "multinomial": Family(
        "multinomial",
        "softmax",
        _softmax,
        _multinomial_loss,
        _zero_const,
        _zeros,
        _multinomial_null,
    ),
}


def get_family(family: str | Family) -> Family:
    """Look up a family by name (or pass a :class:`Family` through).

    Examples
    --------
    >>> get_family("poisson").link
    'log'
    """
    if isinstance(family, Family):
        return family
    if family not in FAMILIES:
        raise ValueError(
            f"Unknown family {family!r}: expected one of {', '.join(FAMILIES)}. "
            f"Fix: e.g. family='bernoulli' for 0/1 targets, 'gaussian' for real numbers."
        )
    return FAMILIES[family]
