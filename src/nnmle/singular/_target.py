"""The tempered posterior of a problem, as a pytree of arrays the samplers share.

The log density, in whitened coordinates ``u`` (``w = w_fit + R u`` on the
free weights, ``R`` the inverse square root of the log density's curvature at
the fit, so that a Gaussian approximation of the target is ``N(0, I)``):

    log p(u) = -beta * (nll(w) - nll(w_fit)) / phi - c * penalty(w) / phi - gamma / 2 * |w - m|^2

``nll`` is nnmle's sum of case-weighted losses (:func:`nnmle.problem.negloglik`),
``phi`` the dispersion (σ̂² of the fit for the gaussian family, whose loss is the
NLL at unit variance; 1 otherwise), so ``nll / phi`` is the negative
log-likelihood ``n L_n`` up to a constant. The penalty is tempered with the
likelihood (``c = beta``, the local learning coefficient: the fit stays a
stationary point) or is the prior (``c = 1``, WBIC and WAIC). The Gaussian term
is the localization (centre ``m = w_fit``) or a broad prior (``m = 0``).
A linear change of variables has a constant Jacobian: expectations under ``u``
are those under ``w``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..data import Data
from ..networks import effective
from ..penalties import Penalty, penalty_value
from ..problem import Problem, data_eta, negloglik

__all__ = ["Tempered", "dispersion", "sample_size", "tempered"]


class Tempered(NamedTuple):
    """A tempered posterior (a pytree: every field is an array or the problem).

    Attributes
    ----------
    problem : Problem
    theta : array (n_total,)
        The weights of the fit (frozen entries at their values).
    free : int array (k,)
        Positions of the free weights.
    root : array (k, k)
        ``R``: ``w = theta[free] + R u``.
    center : array (k,)
        Centre ``m`` of the Gaussian term.
    beta, gamma, phi, penalty_weight, nll0 : scalar arrays
        Inverse temperature, precision of the Gaussian term, dispersion, ``c``
        and the NLL at the fit.
    unit, mult, const : arrays (rows,)
        Per row: the case weight inside one observation's likelihood (the
        binomial's trials, else 1), the number of times the observation counts
        (1 for the binomial, else its case weight; 0 for padding rows) and its
        log-likelihood constant. ``log p_i = -unit * loss_i / phi + const``.
    curvature : array (k,)
        Eigenvalues of the tempered log density's curvature at the fit without the
        Gaussian term (negative ones clipped to 0; NaN when not preconditioned).
    """

    problem: Problem
    theta: jax.Array
    free: jax.Array
    root: jax.Array
    center: jax.Array
    beta: jax.Array
    gamma: jax.Array
    phi: jax.Array
    penalty_weight: jax.Array
    nll0: jax.Array
    unit: jax.Array
    mult: jax.Array
    const: jax.Array
    curvature: jax.Array


def sample_size(problem: Problem) -> float:
    """``n`` of ``beta = 1 / log n``: the sum of the case weights (rows for the binomial), as BIC.

    Examples
    --------
    >>> import numpy as np
    >>> prob, _ = Problem.from_data(np.eye(4), [0, 1, 1, 0], hidden=())
    >>> sample_size(prob)
    4.0
    """
    if problem.family.name == "binomial":
        return float(problem.n_obs)
    return float(np.sum(problem.w))


def dispersion(problem: Problem, theta) -> float:
    """``phi``: the family's dispersion at ``theta`` (σ̂² by maximum likelihood for the gaussian
    family, Pearson's for the gamma), 1 for families without one."""
    if not problem.family.has_dispersion:
        return 1.0
    return float(problem.statistics(theta)["scale"])


def _row_terms(problem: Problem, phi: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = problem.require_data()
    w = np.asarray(data.w)
    binomial = problem.family.name == "binomial"
    unit = w if binomial else np.ones_like(w)
    mult = (w > 0).astype(float) if binomial else w
    Y = jnp.asarray(data.Y)
    const = np.asarray(
        jax.vmap(lambda y, u: problem.family.loglik_const(y[None, :], u[None]))(
            Y, jnp.asarray(unit)
        )
    )
    if problem.family.has_dispersion:  # gaussian: q outputs share sigma^2 = phi
        const = const - 0.5 * unit * data.Y.shape[1] * np.log(2 * np.pi * phi)
    return unit, mult, const


def tempered(
    problem: Problem,
    theta: np.ndarray,
    *,
    beta: float,
    gamma: float,
    center: np.ndarray | None,
    temper_penalty: bool,
    phi: float,
    precondition: bool = True,
) -> Tempered:
    """The tempered posterior at the fit ``theta`` (see the module docstring).

    ``center=None`` localizes at the fit. With ``precondition``, ``R`` is the
    inverse square root of ``beta H_nll / phi + c * 2 l2 P / phi + gamma I`` (``H_nll``
    the NLL's Hessian on the free weights, negative eigenvalues clipped to zero,
    ``P`` the penalized entries); otherwise ``R = I``.
    """
    theta = np.asarray(theta, dtype=np.float64)
    free = np.flatnonzero(problem.free)
    k = free.size
    c = beta if temper_penalty else 1.0
    if precondition:
        nll_hessian = problem.with_penalty(Penalty()).hessian(theta)
        l2_diag = 2.0 * problem.penalty.l2 * problem.penalized[free]
        curv = beta * nll_hessian / phi + np.diag(c * l2_diag / phi)
        vals, vecs = np.linalg.eigh(0.5 * (curv + curv.T))
        curvature = np.maximum(vals, 0.0)
        vals = np.maximum(curvature + gamma, 1e-12 * (curvature.max() + gamma))
        root = (vecs / np.sqrt(vals)) @ vecs.T
    else:
        root, curvature = np.eye(k), np.full(k, np.nan)
    nll0 = float(negloglik(jnp.asarray(theta), problem))
    unit, mult, const = _row_terms(problem, phi)
    m = theta[free] if center is None else np.asarray(center, dtype=np.float64)

    def arr(v):
        return jnp.asarray(v, dtype=jnp.float64)

    return Tempered(
        problem, arr(theta), jnp.asarray(free), arr(root), arr(m), arr(beta), arr(gamma),
        arr(phi), arr(c), arr(nll0), arr(unit), arr(mult), arr(const), arr(curvature),
    )  # fmt: skip


# --- traceable pieces -----------------------------------------------------------------


def weights(t: Tempered, u: jax.Array) -> jax.Array:
    """Free weights ``w = theta[free] + R u``."""
    return t.theta[t.free] + t.root @ u


def full_theta(t: Tempered, w: jax.Array) -> jax.Array:
    """The full weight vector with the free entries set to ``w``."""
    return t.theta.at[t.free].set(w)


def prior_terms(t: Tempered, w: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(penalty(w) / phi, gamma / 2 |w - m|^2)``: the parts of the log density without data."""
    arch, pen = t.problem.arch, t.problem.penalty
    th = effective(full_theta(t, w), arch)
    return penalty_value(th, arch, pen) / t.phi, 0.5 * t.gamma * jnp.sum((w - t.center) ** 2)


def log_density(t: Tempered, u: jax.Array) -> jax.Array:
    """``log p(u)`` up to a constant (module docstring)."""
    w = weights(t, u)
    pen, loc = prior_terms(t, w)
    nll = negloglik(full_theta(t, w), t.problem)
    return -t.beta * (nll - t.nll0) / t.phi - t.penalty_weight * pen - loc


def batch_log_density(t: Tempered, u: jax.Array, rows: jax.Array) -> jax.Array:
    """An unbiased estimate of :func:`log_density` from the rows ``rows`` (drawn uniformly)."""
    w = weights(t, u)
    pen, loc = prior_terms(t, w)
    rows_data = Data(*(None if a is None else a[rows] for a in t.problem.require_data()))
    eta = data_eta(full_theta(t, w), rows_data, t.problem.arch)
    losses = rows_data.w * t.problem.family.loss_obs(eta, rows_data.Y)
    nll = t.problem.n_obs * jnp.mean(losses)
    return -t.beta * nll / t.phi - t.penalty_weight * pen - loc


def excess(t: Tempered, u: jax.Array, logdensity: jax.Array | None = None):
    """``((nll(w) - nll(w_fit)) / phi, penalty(w) / phi)`` at ``u``.

    With the sampler's ``logdensity`` at ``u`` the NLL is read off it (no pass
    over the data); without it, it is computed.
    """
    w = weights(t, u)
    pen, loc = prior_terms(t, w)
    if logdensity is None:
        dnll = (negloglik(full_theta(t, w), t.problem) - t.nll0) / t.phi
    else:
        dnll = -(logdensity + t.penalty_weight * pen + loc) / t.beta
    return dnll, pen


def pointwise_loglik(t: Tempered, u: jax.Array) -> jax.Array:
    """``log p(y_i | w)`` per row (one observation each; see :class:`Tempered`)."""
    data, fam = t.problem.require_data(), t.problem.family
    eta = data_eta(full_theta(t, weights(t, u)), data, t.problem.arch)
    scaled = fam.loglik_scaled
    if fam.has_dispersion and scaled is not None:  # gamma: its own density at phi
        return jax.vmap(lambda e, y, c: scaled(e[None], y[None], c[None], t.phi))(
            eta, data.Y, t.unit
        )
    return -t.unit * fam.loss_obs(eta, data.Y) / t.phi + t.const
