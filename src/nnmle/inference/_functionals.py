"""Identified functions of the weights: values, Jacobians, delta-method and bootstrap errors.

A prediction, an average marginal effect or a partial-dependence value is a
function ``f(theta)`` of the weights that the symmetry group leaves unchanged,
so it has a standard error even where the weights have none. Its covariance is
the delta method ``G Cov G'`` with ``G = d f / d theta`` on the active weights
and ``Cov`` the fit's covariance (the pseudo-inverse of the penalized Hessian,
:func:`nnmle.inference.infer`), or the spread of ``f`` over the bootstrap
replicates.

Each row of ``f`` gets the label a weight would get
(:mod:`nnmle.identifiability`): ``"data"`` when ``G``'s row has no component
(squared loading at most :data:`~nnmle.identifiability.LOADING_TOL` of its squared
norm) along the null space of the Fisher information ``F`` (an eigenvalue is zero
when at most :data:`~nnmle.identifiability.EIG_RTOL` times the largest);
``"penalty"`` when it loads there but not on the null space of the covariance
(the penalized Hessian curves it); ``"none"`` otherwise (no number).
"""

from __future__ import annotations

import functools
import weakref
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from ..identifiability import EIG_RTOL, LOADING_TOL
from ..networks import linear_predictor
from ..problem import Problem, bucket_rows
from ._covariance import Inference

__all__ = [
    "Delta",
    "Rows",
    "average_weights",
    "averages",
    "data_rows",
    "delta",
    "pad_rows",
    "slopes",
]

#: the marginal effects :func:`slopes` computes (statsmodels' names)
METHODS = ("dydx", "eydx", "dyex", "eyex")


class Delta(NamedTuple):
    """Values of identified functions with their errors (one row per function, flat).

    Attributes
    ----------
    value, se, z, p, ci_low, ci_high : ndarray of shape (m,)
        ``se`` is NaN where the function is not identified; ``z`` and ``p`` are
        NaN unless the data identify it.
    cov : ndarray of shape (m, m) or None
        None when not asked for (``delta(..., full_cov=False)``).
    identification : tuple of str
        ``"data"``, ``"penalty"`` or ``"none"`` per function.
    method : str
        ``"delta"`` or ``"bootstrap"`` (percentile intervals).
    """

    value: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    cov: np.ndarray | None
    identification: tuple[str, ...]
    method: str


class Rows(NamedTuple):
    """Rows to average over, padded to :func:`~nnmle.problem.bucket_rows`.

    Attributes
    ----------
    X : jax.Array of shape (rows, p)
    a : jax.Array of shape (rows,)
        Averaging weights, summing to one (zero on padded rows).
    offset : jax.Array of shape (rows, n_outputs)
        Added to the linear predictor (zeros without an offset).
    """

    X: jax.Array
    a: jax.Array
    offset: jax.Array


def pad_rows(X: np.ndarray, weights: np.ndarray, n_outputs: int, offset=None) -> Rows:
    """:class:`Rows` from ``X``, averaging ``weights`` (normalized here) and an offset."""
    n = X.shape[0]
    rows = bucket_rows(n)
    Xp = np.zeros((rows, X.shape[1]))
    Xp[:n] = X
    a = np.zeros(rows)
    a[:n] = weights / np.sum(weights)
    off = np.zeros((rows, n_outputs))
    if offset is not None:
        off[:n] = offset
    return Rows(jnp.asarray(Xp), jnp.asarray(a), jnp.asarray(off))


def data_rows(problem: Problem, at: str = "overall") -> Rows:
    """The fitted rows with :func:`average_weights` (``at="mean"``: their weighted mean row)."""
    X, a, off = problem.X, average_weights(problem), problem.offset
    if at == "mean":
        X = (a @ X / a.sum())[None, :]
        off = None if off is None else (a @ off / a.sum())[None, :]
        a = np.ones(1)
    return pad_rows(X, a, problem.arch.n_outputs, off)


def average_weights(problem: Problem) -> np.ndarray:
    """How rows count in an average: the case weights (frequency weights), or each row
    once for the binomial family (its weights are numbers of trials)."""
    w = problem.w
    return (w > 0).astype(float) if problem.family.name == "binomial" else w


def _mean(theta, X, offset, arch, family):
    return family.inverse_link(linear_predictor(theta, X, arch) + offset)


def _averages(theta, Xs, rows, arch, family):
    """Average fitted mean over the rows of each design in ``Xs``: ``(m, q)``."""
    mu = jax.vmap(lambda X: _mean(theta, X, rows.offset, arch, family))(Xs)
    return jnp.einsum("n,mnq->mq", rows.a, mu)


def _slopes(theta, rows, arch, family, method):
    """Average of ``d mu / d x`` (or an elasticity) over the rows: ``(p, q)``."""

    def mu_row(x, off):
        return _mean(theta, x[None, :], off[None, :], arch, family)[0]

    D = jax.vmap(jax.jacfwd(mu_row))(rows.X, rows.offset)  # (n, q, p)
    if method in ("eydx", "eyex"):
        D = D / _mean(theta, rows.X, rows.offset, arch, family)[:, :, None]
    if method in ("dyex", "eyex"):
        D = D * rows.X[:, None, :]
    return jnp.einsum("n,nqp->pq", rows.a, D)


@functools.partial(jax.jit, static_argnames=("arch", "family"))
def _averages_vj(theta, Xs, rows, arch, family):
    f = functools.partial(_averages, Xs=Xs, rows=rows, arch=arch, family=family)
    return f(theta), jax.jacrev(f)(theta)


_averages_v = jax.jit(_averages, static_argnames=("arch", "family"))
_slopes_v = jax.jit(_slopes, static_argnames=("arch", "family", "method"))


@functools.partial(jax.jit, static_argnames=("arch", "family", "method"))
def _slopes_vj(theta, rows, arch, family, method):
    f = functools.partial(_slopes, rows=rows, arch=arch, family=family, method=method)
    return f(theta), jax.jacrev(f)(theta)


def averages(theta, Xs, rows: Rows, problem: Problem, jac: bool = True, chunk: int | None = None):
    """Average means over the rows of each design ``Xs[k]`` (and their Jacobian).

    Parameters
    ----------
    theta : array of shape (n_total,)
    Xs : array of shape (m, rows, p), or anything with ``len`` and ``Xs[start:stop]``
        Designs (padded rows are fine: their averaging weight is zero); built a
        chunk at a time when lazy, so a large grid never lives in memory at once.
    rows : Rows
        Averaging weights and the offset (its ``X`` is not used).
    problem : Problem
    jac : bool
        Also the Jacobian.
    chunk : int, optional
        Designs per compiled call (the last chunk is padded, so one compilation
        serves every ``m``); default: about 4 million numbers per chunk.

    Returns
    -------
    value : ndarray of shape (m, q)
    jac : ndarray of shape (m, q, n_total)
        When ``jac``.
    """
    m = len(Xs)
    n_rows = int(rows.a.shape[0])
    if chunk is None:
        size = n_rows * max(problem.arch.n_inputs, problem.arch.n_total)
        chunk = int(np.clip(4e6 // size, 1, 64))
    chunk = min(chunk, m)
    th = jnp.asarray(theta, dtype=jnp.float64)
    vals, jacs = [], []
    for start in range(0, m, chunk):
        block = np.asarray(Xs[start : start + chunk], dtype=np.float64)
        k = block.shape[0]
        if k < chunk:
            block = np.concatenate([block, np.repeat(block[-1:], chunk - k, axis=0)])
        if jac:
            v, J = _averages_vj(th, jnp.asarray(block), rows, problem.arch, problem.family)
            jacs.append(np.asarray(J)[:k])
        else:
            v = _averages_v(th, jnp.asarray(block), rows, problem.arch, problem.family)
        vals.append(np.asarray(v)[:k])
    value = np.concatenate(vals)
    return (value, np.concatenate(jacs)) if jac else value


def slopes(theta, rows: Rows, problem: Problem, method: str = "dydx", jac: bool = True):
    """Average derivatives of the mean in each input (``method``) and their Jacobian.

    Returns
    -------
    value : ndarray of shape (p, q)
    jac : ndarray of shape (p, q, n_total)
        When ``jac``.
    """
    th = jnp.asarray(theta, dtype=jnp.float64)
    if not jac:
        return np.asarray(_slopes_v(th, rows, problem.arch, problem.family, method))
    v, J = _slopes_vj(th, rows, problem.arch, problem.family, method)
    return np.asarray(v), np.asarray(J)


# --- identification of functions and the delta method -----------------------------------

#: Fisher null-space bases, by inference object (computed once per inference)
_NULL_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _null_bases(problem: Problem, inf: Inference) -> tuple[np.ndarray, np.ndarray]:
    """Bases of the null spaces of the Fisher information and of the covariance on ``index``."""
    if inf in _NULL_CACHE:
        return _NULL_CACHE[inf]
    free_pos = np.flatnonzero(problem.free)
    pos = np.searchsorted(free_pos, inf.index)
    lam_c, vec_c = np.linalg.eigh(inf.cov)
    cov_null = vec_c[:, lam_c <= 1e-12 * max(float(np.abs(lam_c).max(initial=0.0)), 1e-300)]
    # a loaded model has no data for F: the covariance's null space stands for F's (a direction
    # only the penalty identifies then reads "data"; "none" is still found)
    if problem.data is None:
        N_F = cov_null if inf.method != "bootstrap" else np.zeros((pos.size, 0))
    else:
        F = problem.information(inf.theta)[np.ix_(pos, pos)]
        lam, vec = np.linalg.eigh(F)
        N_F = vec[:, lam <= EIG_RTOL * max(float(lam.max(initial=0.0)), 0.0)]
    if inf.method == "bootstrap" or not N_F.shape[1]:
        N_C = np.zeros((pos.size, 0))
    else:
        N_C = cov_null
    _NULL_CACHE[inf] = (N_F, N_C)
    return N_F, N_C


def _labels(G: np.ndarray, N_F: np.ndarray, N_C: np.ndarray) -> tuple[str, ...]:
    norm = np.sum(G**2, axis=1)
    safe = np.where(norm > 0, norm, 1.0)
    weak = np.sum((G @ N_F) ** 2, axis=1) / safe > LOADING_TOL
    none = np.sum((G @ N_C) ** 2, axis=1) / safe > LOADING_TOL
    return tuple(
        "none" if n else "penalty" if w else "data" for n, w in zip(none, weak, strict=True)
    )


def delta(
    value: np.ndarray,
    jac: np.ndarray,
    problem: Problem,
    inf: Inference,
    level: float,
    replicates: np.ndarray | None = None,
    full_cov: bool = True,
) -> Delta:
    """Standard errors, z, p and intervals of functions ``value`` with Jacobian ``jac``.

    Parameters
    ----------
    value : array of shape (m,)
    jac : array of shape (m, n_total)
        ``d value / d theta`` at ``inf.theta``.
    problem : Problem
    inf : Inference
    level : float
    replicates : array of shape (B, m), optional
        The functions at the bootstrap replicates (``inf.method == "bootstrap"``):
        their standard deviation and percentiles replace the delta method.
    full_cov : bool
        Also the ``(m, m)`` covariance of the functions; without it ``Delta.cov`` is
        None and memory stays linear in ``m`` (predictions at many rows).

    Returns
    -------
    Delta
    """
    value = np.asarray(value, dtype=np.float64)
    G = np.asarray(jac)[:, inf.index]
    labels = _labels(G, *_null_bases(problem, inf))
    lab = np.array(labels)
    q = stats.norm.ppf(0.5 + level / 2)
    cov = None
    if replicates is not None:
        if full_cov:
            cov = np.atleast_2d(np.cov(replicates, rowvar=False))
        se = np.std(replicates, axis=0, ddof=1)
        lo, hi = np.quantile(replicates, [0.5 - level / 2, 0.5 + level / 2], axis=0)
        method = "bootstrap"
    else:
        if full_cov:
            cov = G @ inf.cov @ G.T
        se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", G, inf.cov, G), 0.0))
        lo, hi = value - q * se, value + q * se
        method = "delta"
    se = np.where(lab == "none", np.nan, se)
    lo, hi = np.where(lab == "none", np.nan, lo), np.where(lab == "none", np.nan, hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(lab == "data", value / se, np.nan)
    p = 2.0 * stats.norm.sf(np.abs(z))
    return Delta(value, se, z, p, lo, hi, cov, labels, method)
