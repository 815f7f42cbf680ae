"""The per-family pieces: losses, constants, unit deviances, null models, variances.

All functions are pure and traceable; ``eta`` is ``(n, q)``, ``Y`` ``(n, q_y)``,
``w`` ``(n,)`` and an offset ``(n, q)`` or ``None``. Padded rows have ``w = 0``
and ``Y = 0``: every sum over rows goes through :func:`wsum`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln, xlogy

from ._base import wsum

# --- shared ---------------------------------------------------------------------------------


def identity(eta):
    return eta


def zero_const(Y, w):
    return jnp.asarray(0.0)


def zeros(Y):
    return jnp.zeros(Y.shape[0])


def _total(w):
    return jnp.sum(w)


def _plus(eta, offset):
    return eta if offset is None else eta + offset


# --- gaussian: one or several outputs, one common variance ------------------------------------


def gaussian_loss(eta, Y):
    return 0.5 * jnp.sum((Y - eta) ** 2, axis=1)


def gaussian_deviance(eta, Y):
    return jnp.sum((Y - eta) ** 2, axis=1)


def gaussian_null_eta(Y, w):
    return jnp.sum(w[:, None] * Y, axis=0) / _total(w)


def gaussian_null(Y, w, offset, eta):
    if offset is None:
        return jnp.broadcast_to(gaussian_null_eta(Y, w), Y.shape)
    b = jnp.sum(w[:, None] * (Y - offset), axis=0) / _total(w)
    return b + offset


def unit_variance(mu, eta):
    return jnp.ones_like(mu)


# --- bernoulli / binomial --------------------------------------------------------------------


def binomial_loss(eta, Y):
    e, y = eta[:, 0], Y[:, 0]
    # -[y log σ(e) + (1-y) log(1-σ(e))], computed without overflow.
    return y * jax.nn.softplus(-e) + (1.0 - y) * jax.nn.softplus(e)


def binomial_const(Y, w):
    # log C(n, n y) with n = w trials; zero for 0/1 data.
    k = w * Y[:, 0]
    return jnp.sum(gammaln(w + 1.0) - gammaln(k + 1.0) - gammaln(w - k + 1.0))


def binomial_saturated(Y):
    y = Y[:, 0]
    return -(xlogy(y, y) + xlogy(1.0 - y, 1.0 - y))


def logit_mean(Y, w):
    p = jnp.sum(w * Y[:, 0]) / _total(w)
    return jnp.atleast_1d(jnp.log(p) - jnp.log1p(-p))


def sigmoid(eta):
    return jax.nn.sigmoid(eta)


def binomial_variance(mu, eta):
    return mu * (1.0 - mu)


# --- poisson ---------------------------------------------------------------------------------


def poisson_loss(eta, Y):
    return jnp.exp(eta[:, 0]) - Y[:, 0] * eta[:, 0]


def poisson_const(Y, w):
    return -wsum(w, gammaln(Y[:, 0] + 1.0))


def poisson_saturated(Y):
    y = Y[:, 0]
    return y - xlogy(y, y)


def log_mean(Y, w):
    return jnp.atleast_1d(jnp.log(jnp.sum(w * Y[:, 0]) / _total(w)))


def poisson_null(Y, w, offset, eta):
    """``exp(b) = Σ w y / Σ w exp(o)``: the intercept-only MLE with the offset."""
    o = jnp.zeros((Y.shape[0], 1)) if offset is None else offset
    b = jnp.log(jnp.sum(w * Y[:, 0])) - jnp.log(jnp.sum(w * jnp.exp(o[:, 0])))
    return b + o


def exp_mean(eta):
    return jnp.exp(eta[:, :1])


def mean_variance(mu, eta):
    return mu


# --- multinomial -----------------------------------------------------------------------------


def _full_logits(eta):
    return jnp.concatenate([jnp.zeros(eta.shape[:-1] + (1,)), eta], axis=-1)


def softmax(eta):
    return jax.nn.softmax(_full_logits(eta), axis=-1)


def multinomial_loss(eta, Y):
    logits = _full_logits(eta)
    return jax.nn.logsumexp(logits, axis=-1) - jnp.sum(Y * logits, axis=-1)


def multinomial_null(Y, w):
    p = jnp.sum(w[:, None] * Y, axis=0) / _total(w)
    return jnp.log(p[1:]) - jnp.log(p[0])


# --- gamma (log link) --------------------------------------------------------------------------


def gamma_loss(eta, Y):
    """``y/μ + log μ``: the gamma NLL at unit dispersion, without the terms free of μ."""
    return Y[:, 0] * jnp.exp(-eta[:, 0]) + eta[:, 0]


def gamma_deviance(eta, Y):
    y, e = Y[:, 0], eta[:, 0]
    ratio = y * jnp.exp(-e)
    return 2.0 * (ratio - 1.0 - jnp.log(jnp.where(y > 0, ratio, 1.0)))


def gamma_null(Y, w, offset, eta):
    """``exp(b) = Σ w y exp(-o) / Σ w``: the intercept-only MLE with the offset."""
    o = jnp.zeros((Y.shape[0], 1)) if offset is None else offset
    b = jnp.log(jnp.sum(w * Y[:, 0] * jnp.exp(-o[:, 0]))) - jnp.log(_total(w))
    return b + o


def gamma_variance(mu, eta):
    return mu**2


def gamma_loglik(eta, Y, w, phi):
    """Σ w [ν log(ν y/μ) − ν y/μ − log Γ(ν) − log y], ν = 1/φ (statsmodels' ``Gamma.loglike``)."""
    y = jnp.where(w > 0, Y[:, 0], 1.0)
    ratio = y * jnp.exp(-eta[:, 0])
    nu = 1.0 / phi
    return wsum(w, nu * jnp.log(nu * ratio) - nu * ratio - gammaln(nu) - jnp.log(y))


# --- negative binomial (NB2, log link; eta[:, 1] = log alpha) ------------------------------------


def nb_loss(eta, Y):
    """``-log P(y)`` without ``log y!``: NB2 with mean ``exp(eta0)``, ``alpha = exp(eta1)``.

    ``log P = lgamma(y + r) - lgamma(r) - lgamma(y + 1) + y (eta0 + la)
    - (y + r) log(1 + alpha mu)`` with ``r = 1 / alpha`` and ``la = log alpha``.
    """
    e, la, y = eta[:, 0], eta[:, 1], Y[:, 0]
    r = jnp.exp(-la)
    return -gammaln(y + r) + gammaln(r) - y * (e + la) + (y + r) * jax.nn.softplus(la + e)


def nb_deviance(eta, Y):
    """``2 [y log(y/μ) − (y + 1/α) log((1 + α y)/(1 + α μ))]`` at the fitted α."""
    e, la, y = eta[:, 0], eta[:, 1], Y[:, 0]
    alpha = jnp.exp(la)
    return 2.0 * (
        xlogy(y, y) - y * e - (y + 1.0 / alpha) * (jnp.log1p(alpha * y) - jax.nn.softplus(la + e))
    )


def nb_null_eta(Y, w):
    """``(log ȳ, log α₀)`` with the moment estimate ``α₀ = (s² − ȳ)/ȳ²`` clipped to [0.01, 100]."""
    tot = _total(w)
    m = jnp.sum(w * Y[:, 0]) / tot
    v = jnp.sum(w * (Y[:, 0] - m) ** 2) / tot
    alpha0 = jnp.clip((v - m) / m**2, 0.01, 100.0)
    return jnp.stack([jnp.log(m), jnp.log(alpha0)])


def nb_null(Y, w, offset, eta):
    """The intercept-only model at the fitted α (with the offset: Newton steps on the intercept).

    The log-likelihood is concave in the intercept ``b``: ``ℓ'(b) = Σ w (y − μ)/(1 + α μ)``,
    ``ℓ''(b) = −Σ w μ (1 + α y)/(1 + α μ)²``; the steps start at the poisson solution.
    """
    y = Y[:, 0]
    tot = _total(w)
    la = jnp.sum(w * eta[:, 1]) / tot if eta is not None else nb_null_eta(Y, w)[1]
    alpha = jnp.exp(la)
    o = jnp.zeros(Y.shape[0]) if offset is None else offset[:, 0]
    b0 = jnp.log(jnp.sum(w * y)) - jnp.log(jnp.sum(w * jnp.exp(o)))

    def newton(_, b):
        mu = jnp.exp(b + o)
        grad = jnp.sum(w * (y - mu) / (1.0 + alpha * mu))
        hess = jnp.sum(w * mu * (1.0 + alpha * y) / (1.0 + alpha * mu) ** 2)
        return b + jnp.clip(grad / hess, -5.0, 5.0)

    b = jax.lax.fori_loop(0, 50, newton, b0)
    return jnp.stack([b + o, jnp.broadcast_to(la, o.shape)], axis=1)


def nb_variance(mu, eta):
    """``V(μ) = μ + α μ²`` with α from ``eta[:, 1]``."""
    return mu + jnp.exp(eta[:, 1:2]) * mu**2
