"""Curvature at a fit: observed information, penalized Hessian, identification, ``edf``."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import symmetry
from ..estimation import Estimate, as_estimate
from ..identifiability import identification
from ..problem import Problem
from ..starts import blas_threads

__all__ = [
    "Curvature",
    "active_mask",
    "canonical_theta",
    "curvature",
    "effective_df",
]


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
        The Fisher information ``J'WJ`` on the active weights.
    hinv : ndarray
        (Pseudo-)inverse of the penalized Hessian on the active weights.
    hess_eigs : ndarray
        Eigenvalues of the penalized Hessian, ascending.
    n_penalized : int
        Active weights under the L2 penalty.
    identified : ndarray of bool
        Per active weight: identified by the data.
    identification : tuple of str
        Per active weight: ``"data"``, ``"penalty"`` or ``"none"``
        (:func:`nnmle.identifiability.identification`).
    nullity : int
        Zero eigenvalues of the Fisher information.
    n_negative : int
        Negative eigenvalues of the penalized Hessian.
    edf : float
        ``tr(F H^-1)``.
    """

    theta: np.ndarray
    positions: np.ndarray
    info: np.ndarray
    hinv: np.ndarray
    hess_eigs: np.ndarray
    n_penalized: int
    identified: np.ndarray
    identification: tuple[str, ...]
    nullity: int
    n_negative: int
    edf: float


def curvature(theta, problem: Problem, grad_norm: float = 0.0) -> Curvature:
    """Fisher information, penalized Hessian, identification and ``edf`` at ``theta``.

    The active weights are the free ones not set to zero by an L1 penalty.
    Identification comes from the Fisher information ``F = J'WJ`` on them
    (:func:`nnmle.identifiability.identification`: identified by the data, only
    by the penalty, or not at all). The covariance uses the penalized observed
    Hessian ``H = H_nll + 2 l2 P`` (``P`` the penalized entries; the L1 term has
    no curvature), pseudo-inverted on its eigenvectors above the zero threshold
    ``max(1e-8 max|lambda|, 10 grad_norm)``. ``edf = tr(F H^-1)``: with every
    weight penalized, ``sum_i e_i / (e_i + 2 l2)`` over the eigenvalues of ``F``
    (at an optimum where ``H_nll = F``); without a penalty, the rank of ``F``.

    Parameters
    ----------
    theta : array of shape (n_total,)
    problem : Problem
    grad_norm : float
        Gradient norm at ``theta`` (widens the zero threshold of ``H``).

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
    >>> cur.nullity, cur.identification
    (1, ('none', 'none', 'data'))
    """
    theta = np.asarray(theta, dtype=np.float64)
    ident = identification(problem, theta, grad_norm, active=active_mask(theta, problem))
    pmask = problem.penalized[ident.positions]
    l2 = float(problem.penalty.l2)
    with blas_threads(ident.hessian.shape[0]):
        lam_p, vec_p = np.linalg.eigh(ident.hessian)
    keep = lam_p > ident.hessian_threshold
    hinv = (vec_p[:, keep] / lam_p[keep]) @ vec_p[:, keep].T
    return Curvature(
        theta=theta,
        positions=ident.positions,
        info=ident.fisher,
        hinv=hinv,
        hess_eigs=lam_p,
        n_penalized=int(pmask.sum()) if l2 > 0 else 0,
        identified=ident.identified,
        identification=ident.labels,
        nullity=ident.nullity,
        n_negative=ident.n_negative,
        edf=float(np.trace(ident.fisher @ hinv)),
    )


def fit_curvature(est: Estimate) -> Curvature:
    """:func:`curvature` at the canonical weights of a fit."""
    return curvature(canonical_theta(est), est.problem, est.grad_norm)


def effective_df(result) -> float:
    """Effective number of parameters ``edf = tr(F H^-1)``.

    With every weight penalized it equals ``sum_i e_i / (e_i + 2 l2)`` over the
    eigenvalues ``e_i`` of the Fisher information; without a penalty, its rank.

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
