"""The :class:`Family` type: a likelihood as a handful of pure, traceable functions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from ._targets import encode as encode_targets

__all__ = ["Family", "wsum"]

Array = jax.Array


def wsum(w: Array, values: Array) -> Array:
    """``sum(w * values)`` over the rows with ``w > 0`` (padded rows never give ``0 * inf``)."""
    return jnp.sum(jnp.where(w > 0, w * values, 0.0))


@dataclass(frozen=True, eq=False)
class Family:
    """A likelihood family (hashable by identity, so it can be a static argument under jit).

    The first eight fields keep their historical positions; the others are
    keywords with defaults that describe a family without dispersion,
    offsets or extra parameters.

    Attributes
    ----------
    name, link : str
    inverse_link : callable
        ``eta (n, q) -> mean (n, q_y)``; for the multinomial, the K class
        probabilities.
    loss_obs : callable
        ``(eta, Y) -> (n,)`` negative log-likelihood kernel per observation at
        weight 1 and unit dispersion (what the fit sums, times the case weights).
    loglik_const : callable
        ``(Y, w) -> float``: the constant that turns ``-sum(w * loss_obs)``
        into the full log-likelihood (``log y!``, binomial coefficients).
    saturated_loss : callable
        ``(Y) -> (n,)``: ``loss_obs`` of the saturated model, for the deviance
        (unused when ``unit_deviance`` is given).
    null_eta : callable
        ``(Y, w) -> (q,)``: the linear predictor of the intercept-only model
        without offset (also the centre of the starting values).
    has_dispersion : bool
        A dispersion parameter is estimated (gaussian σ², gamma φ).
    unit_deviance : callable, optional
        ``(eta, Y) -> (n,)``; default ``2 (loss_obs - saturated_loss)``.
    null_predictor : callable, optional
        ``(Y, w, offset, eta) -> (n, q)``: the intercept-only model's linear
        predictor with the offset (and the family's extra parameters taken
        from ``eta``); default ``null_eta`` broadcast plus the offset.
    variance : callable, optional
        ``(mu, eta) -> V(mu)``, the variance function (Pearson residuals);
        ``eta`` carries the family's extra parameters (the negative binomial's α).
    scale_method : {"ml", "pearson"}
        How the dispersion in the fit statistics is estimated: by maximum
        likelihood (gaussian σ̂², as statsmodels' GLM log-likelihood does) or as
        Pearson χ² / residual df (gamma, as statsmodels).
    loglik_scaled : callable, optional
        ``(eta, Y, w, phi) -> float``: the log-likelihood at dispersion ``phi``
        (for ``scale_method="pearson"``).
    n_extra : int
        Outputs of the network that carry family parameters rather than a
        mean: bias-only outputs appended after the mean's (the negative
        binomial's ``log(alpha)``); no symmetry of the network moves them.
    extra_names : tuple of str
        Names of those outputs.
    offsets : bool
        Whether an offset (``eta = f(x) + offset``) is accepted.
    exposure : bool
        Whether an exposure (``offset = log(exposure)``, log link) is accepted.
    multi_output : bool
        Whether ``y`` may have several columns (one linear predictor each).
    """

    name: str
    link: str
    inverse_link: Callable[[Array], Array]
    loss_obs: Callable[[Array, Array], Array]
    loglik_const: Callable[[Array, Array], Array]
    saturated_loss: Callable[[Array], Array]
    null_eta: Callable[[Array, Array], Array]
    has_dispersion: bool = False
    unit_deviance: Callable[[Array, Array], Array] | None = None
    null_predictor: Callable | None = None
    variance: Callable[[Array, Array], Array] | None = None
    scale_method: str = "ml"
    loglik_scaled: Callable | None = None
    n_extra: int = 0
    extra_names: tuple[str, ...] = ()
    offsets: bool = False
    exposure: bool = False
    multi_output: bool = False

    def __repr__(self) -> str:
        return f"Family({self.name!r}, link={self.link!r})"

    def __reduce__(self):
        # pickle by name: the functions it holds are module-level or lambdas
        return (_by_name, (self.name,))

    # -- statistics (traceable) -------------------------------------------------------
    def deviances(self, eta: Array, Y: Array) -> Array:
        """Unit deviances ``(n,)``: ``2 (l_saturated - l)`` per observation at weight 1."""
        if self.unit_deviance is not None:
            return self.unit_deviance(eta, Y)
        return 2.0 * (self.loss_obs(eta, Y) - self.saturated_loss(Y))

    def deviance(self, eta: Array, Y: Array, w: Array) -> Array:
        """Deviance ``2 Σ w (ℓ_saturated − ℓ)`` (the residual sum of squares for gaussian)."""
        return wsum(w, self.deviances(eta, Y))

    def null_linear_predictor(self, Y: Array, w: Array, offset=None, eta=None) -> Array:
        """The intercept-only model's ``eta (n, q)``, with the offset (and extra parameters)."""
        if self.null_predictor is not None:
            return self.null_predictor(Y, w, offset, eta)
        e0 = self.null_eta(Y, w)
        out = jnp.broadcast_to(e0, (Y.shape[0], e0.shape[0]))
        return out if offset is None else out + offset

    def null_deviance(self, Y: Array, w: Array, offset=None, eta=None) -> Array:
        """Deviance of the intercept-only model (with the same offset and extra parameters).

        With an offset this is the deviance of the intercept-only model *with*
        the offset, as statsmodels' ``GLMResults.null_deviance``.
        """
        return self.deviance(self.null_linear_predictor(Y, w, offset, eta), Y, w)

    def pearson_chi2(self, eta: Array, Y: Array, w: Array) -> Array:
        """Pearson's χ² ``Σ w (y − μ)² / V(μ)`` (NaN for a family without a variance function)."""
        if self.variance is None:
            return jnp.asarray(jnp.nan)
        mu = self.inverse_link(eta)
        r2 = (Y - mu) ** 2 / self.variance(mu, eta)
        return wsum(w, jnp.sum(r2, axis=1))

    def n_responses(self, Y: Array, w: Array) -> Array:
        """Number of response values ``q · Σ w`` (``Σ w`` for one column)."""
        q = Y.shape[1] if not self.name == "multinomial" else 1
        return q * jnp.sum(w)

    def scale(self, eta: Array, Y: Array, w: Array, n_params: int = 0) -> Array:
        """Dispersion in the fit statistics (traceable).

        σ̂² by maximum likelihood for the gaussian family (one variance common
        to every output: ``Σ w Σ_k r² / (q Σ w)``); Pearson χ² / (Σ w − k) for
        the gamma family (``k = n_params``, as statsmodels); 1 otherwise.
        """
        if not self.has_dispersion:
            return jnp.asarray(1.0)
        if self.scale_method == "pearson":
            return self.pearson_chi2(eta, Y, w) / (jnp.sum(w) - n_params)
        return self.deviance(eta, Y, w) / self.n_responses(Y, w)

    def dispersion(self, eta: Array, Y: Array, w: Array, edf) -> Array:
        """Pearson χ² / (q Σ w − edf): the dispersion that scales standard errors (else 1).

        As statsmodels' GLM (``scale``) for the gaussian and gamma families;
        ``edf`` is the number of (effective) parameters.
        """
        if not self.has_dispersion:
            return jnp.asarray(1.0)
        return self.pearson_chi2(eta, Y, w) / (self.n_responses(Y, w) - edf)

    def loglik(self, eta: Array, Y: Array, w: Array, n_params: int = 0) -> Array:
        """Full log-likelihood.

        Gaussian: at σ̂² (maximum likelihood, one variance for every output),
        ``-q Σw/2 (log 2πσ̂² + 1)``; gamma: at φ̂ = Pearson χ² / (Σ w − k) as
        statsmodels; otherwise ``-Σ w loss + const``.
        """
        if self.has_dispersion and self.scale_method == "pearson":
            assert self.loglik_scaled is not None
            return self.loglik_scaled(eta, Y, w, self.scale(eta, Y, w, n_params))
        if self.has_dispersion:
            n = self.n_responses(Y, w)
            sigma2 = self.deviance(eta, Y, w) / n
            return -0.5 * n * (jnp.log(2 * jnp.pi * sigma2) + 1.0)
        return -wsum(w, self.loss_obs(eta, Y)) + self.loglik_const(Y, w)

    # -- targets and outputs ---------------------------------------------------------
    def encode(self, y, weights=None) -> tuple:
        """Validate ``y`` and encode it as a float ``(n, q)`` target matrix.

        Returns the matrix and the class labels (empty for non-categorical
        families; the two levels of a factor response for bernoulli). Raises
        ``ValueError`` naming what was expected, what was received and the fix.
        """
        return encode_targets(self.name, y, weights)

    def n_outputs(self, classes: tuple = (), n_columns: int = 1) -> int:
        """Number of linear predictors the network needs (extra parameters included)."""
        if self.name == "multinomial":
            return len(classes) - 1
        return (n_columns if self.multi_output else 1) + self.n_extra


def _by_name(name: str) -> Family:
    from . import get_family  # the registry (same package)

    return get_family(name)
