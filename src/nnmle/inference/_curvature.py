"""Curvature at a fit: observed information, penalized Hessian, identification, ``edf``."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import symmetry
from ..estimation import Estimate, as_estimate
from ..identifiability import EIG_RTOL
from ..penalties import Penalty
from ..problem import Problem

__all__ = [
    "LOADING_TOL",
    "Curvature",
    "active_mask",
    "canonical_theta",
    "curvature",
    "effective_df",
]

#: a weight is not identified when its squared loading on the null space exceeds this
LOADING_TOL = 1e-6


def canonical_theta(result) -> np.ndarray:
    """The fitted weights in canonical form, under the group of the fit's problem.

    The group of the *penalized* objective (:func:`nnmle.symmetry.group`) keeps
    the objective: under a penalty a relu unit is not rescaled, so the
    canonical weights are still an optimum.

    Parameters
    ----------
    result : Estimate or FitResult

    Returns
    -------
    ndarray of shape (n_total,)
    """
    est = as_estimate(result)
    theta, _ = symmetry.canonicalize(
        np.asarray(est.theta, dtype=np.float64), symmetry.group(est.problem)
    )
    return np.asarray(theta, dtype=np.float64)


def active_mask(theta, problem: Problem) -> np.ndarray:
    """Flat mask of the weights inference is about: free, and not set to zero by the L1 penalty."""
    active = problem.free.copy()
    if problem.penalty.l1 > 0:
        active &= ~(problem.penalized & (np.asarray(theta) == 0))
    return active


class Curvature(NamedTuple):
    """Second-order quantities at a weight vector (see :func:`curvature`).

    Attributes
    ----------
    theta : ndarray
        Flat weights.
    positions : ndarray
        Flat positions of the active weights.
    info : ndarray
        NLL Hessian (observed information) on the active weights.
    hinv : ndarray
        (Pseudo-)inverse of the penalized Hessian on the active weights.
    hess_eigs : ndarray
        Eigenvalues of the penalized Hessian, ascending.
    n_penalized : int
        Active weights under the L2 penalty.
    identified : ndarray of bool
        Per active weight.
    nullity : int
        Zero eigenvalues of the information matrix.
    n_negative : int
        Negative eigenvalues of the penalized Hessian.
    edf : float
        ``tr(I H^-1)``.
    """

    theta: np.ndarray
    positions: np.ndarray
    info: np.ndarray
    hinv: np.ndarray
    hess_eigs: np.ndarray
    n_penalized: int
    identified: np.ndarray
    nullity: int
    n_negative: int
    edf: float


def _null_threshold(eigs: np.ndarray, grad_norm: float) -> float:
    """An eigenvalue counts as zero below ``max(EIG_RTOL * max|lambda|, 10 * grad_norm)``."""
    return max(EIG_RTOL * float(np.abs(eigs).max(initial=0.0)), 10.0 * float(grad_norm))


def _identification(info: np.ndarray, grad_norm: float) -> tuple[np.ndarray, int, float]:
    """Which weights are identified: the one place that decides.

    A weight is not identified when its squared loading on the null space of
    ``info`` exceeds :data:`LOADING_TOL`. Returns the per-weight verdict, the
    nullity and the zero threshold (also used for the Hessian's pseudo-inverse).
    """
    lam, vec = np.linalg.eigh(info)
    thr = _null_threshold(lam, grad_norm)
    null = vec[:, np.abs(lam) <= thr]
    return np.sum(null**2, axis=1) <= LOADING_TOL, int(null.shape[1]), thr


def curvature(theta, problem: Problem, grad_norm: float = 0.0) -> Curvature:
    """Information matrix, penalized Hessian, identification and ``edf`` at ``theta``.

    The active weights are the free ones not set to zero by an L1 penalty. The
    Hessian of the NLL on them is the observed information ``I``; the
    penalized Hessian is ``H = I + 2 l2 P`` (``P`` the penalized entries; the L1
    term has no curvature). Null directions of ``I`` use the threshold
    ``max(1e-8 max|lambda|, 10 grad_norm)``; ``H^-1`` is the pseudo-inverse on
    the eigenvectors of ``H`` above that threshold.

    Parameters
    ----------
    theta : array of shape (n_total,)
    problem : Problem
    grad_norm : float
        Gradient norm at ``theta`` (widens the zero threshold).

    Returns
    -------
    Curvature

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.families import get_family
    >>> from nnmle.networks import Architecture
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]); Y = np.array([[0.0], [1.0], [2.0]])
    >>> p = Problem.build(X, Y, np.ones(3), get_family("gaussian"), Architecture.build(2, ()))
    >>> cur = curvature(np.array([0.5, 0.5, 0.0]), p)   # x1 == x2: collinear
    >>> cur.nullity, cur.identified.tolist()
    (1, [False, False, True])
    """
    theta = np.asarray(theta, dtype=np.float64)
    active = active_mask(theta, problem)
    index = np.flatnonzero(active)
    pos = np.flatnonzero(active[problem.free])
    H = problem.with_penalty(Penalty()).hessian(theta)
    info = H[np.ix_(pos, pos)]
    pmask = problem.penalized[index]
    l2 = float(problem.penalty.l2)
    identified, nullity, thr = _identification(info, grad_norm)
    lam_p, vec_p = np.linalg.eigh(info + np.diag(2.0 * l2 * pmask.astype(float)))
    keep = lam_p > thr
    hinv = (vec_p[:, keep] / lam_p[keep]) @ vec_p[:, keep].T
    return Curvature(
        theta=theta,
        positions=index,
        info=info,
        hinv=hinv,
        hess_eigs=lam_p,
        n_penalized=int(pmask.sum()) if l2 > 0 else 0,
        identified=identified,
        nullity=nullity,
        n_negative=int(np.sum(lam_p < -thr)),
        edf=float(np.trace(info @ hinv)),
    )


def fit_curvature(est: Estimate) -> Curvature:
    """:func:`curvature` at the canonical weights of a fit."""
    return curvature(canonical_theta(est), est.problem, est.grad_norm)


def effective_df(result) -> float:
    """Effective number of parameters ``edf = tr(I H^-1)``.

    With every weight penalized it equals ``sum_i e_i / (e_i + 2 l2)`` over the
    eigenvalues ``e_i`` of ``I``; without a penalty, the rank of ``I``.

    Parameters
    ----------
    result : Estimate or FitResult

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> X = np.arange(8.0)[:, None]; y = np.array([0.1, 1.2, 1.9, 3.2, 4.1, 4.8, 6.3, 7.0])
    >>> round(effective_df(nnmle.fit(X, y, hidden=(), family="gaussian")), 6)
    2.0
    """
    return fit_curvature(as_estimate(result)).edf
