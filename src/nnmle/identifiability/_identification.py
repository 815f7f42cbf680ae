"""Which weights the data identify: the Fisher information, and what the penalty adds.

Identification is judged on the Fisher information ``F = J'WJ`` (Rothenberg
1971): ``J`` the Jacobian of the linear predictor over the weights, ``W`` the
family's working weights (:meth:`nnmle.problem.Problem.information`). ``F`` is
positive semi-definite and its null space is exactly the set of directions along
which no fitted value moves to first order, at any point, optimum or not, with or
without a penalty. (The observed Hessian of the NLL at a *penalized* fit is not
that: the fit is not a critical point of the likelihood, and that Hessian is
indefinite with no null space; it stays in use for the minimum/saddle question.)

Each analysed weight gets one label:

``"data"``
    it has no component (squared loading at most :data:`LOADING_TOL`) along the
    null space of ``F``: the likelihood identifies it (up to the symmetry group);
``"penalty"``
    it loads on the null space of ``F``, and the penalized Hessian ``H`` (the
    observed NLL Hessian plus ``2 l2`` on penalized weights) is positive
    definite there: only the penalty pins it down. Its interval is a penalized
    (posterior-like) interval, never a data-based test;
``"none"``
    it loads on a direction along which neither the data nor the penalty curve
    the objective (no penalty, L1 only, or an unpenalized flat direction).

Thresholds: an eigenvalue of ``F`` is zero when ``lambda <= rtol * max(lambda)``
(``rtol = 1e-8``: ``F`` does not depend on the gradient, so no widening); a
direction of ``H`` is flat when its curvature is at most ``max(rtol *
max|lambda(H)|, 10 * grad_norm)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..penalties import Penalty
from ..problem import Problem
from ..starts import blas_threads

__all__ = ["LABELS", "LOADING_TOL", "Identification", "identification"]

#: The labels, in the order of confidence.
LABELS = ("data", "penalty", "none")
#: A weight loads on a subspace when its squared loading exceeds this.
LOADING_TOL = 1e-6
#: Default relative threshold for a zero eigenvalue.
IDENT_RTOL = 1e-8

#: What each label means, in the words summaries print.
MEANING = {
    "data": "identified by the data",
    "penalty": "identified only by the penalty (penalized interval, no test)",
    "none": "not identified (neither the data nor the penalty determine it)",
}


@dataclass(frozen=True)
class Identification:
    """The identification of the analysed weights at a point (see the module docstring).

    Attributes
    ----------
    positions : ndarray of int
        Flat positions of the analysed weights (free, not zeroed by an L1 penalty).
    labels : tuple of str
        ``"data"``, ``"penalty"`` or ``"none"`` per analysed weight.
    fisher : ndarray
        ``F`` on the analysed weights.
    fisher_eigenvalues : ndarray
        Ascending.
    fisher_threshold : float
    hessian : ndarray
        The penalized observed Hessian ``H`` on the analysed weights.
    hessian_eigenvalues : ndarray
        Ascending.
    hessian_threshold : float
    """

    positions: np.ndarray
    labels: tuple[str, ...]
    fisher: np.ndarray
    fisher_eigenvalues: np.ndarray
    fisher_threshold: float
    hessian: np.ndarray
    hessian_eigenvalues: np.ndarray
    hessian_threshold: float

    @property
    def rank(self) -> int:
        """Rank of the Fisher information."""
        return int(np.sum(self.fisher_eigenvalues > self.fisher_threshold))

    @property
    def nullity(self) -> int:
        """Dimension of the null space of the Fisher information."""
        return int(self.fisher_eigenvalues.size - self.rank)

    @property
    def n_negative(self) -> int:
        """Negative eigenvalues of the penalized Hessian (a saddle, or not converged)."""
        return int(np.sum(self.hessian_eigenvalues < -self.hessian_threshold))

    @property
    def identified(self) -> np.ndarray:
        """Per analysed weight: identified by the data."""
        return np.array([lab == "data" for lab in self.labels], dtype=bool)

    def counts(self) -> dict:
        """How many weights carry each label."""
        return {lab: int(sum(v == lab for v in self.labels)) for lab in LABELS}


def _null_basis(M: np.ndarray, thr: float) -> tuple[np.ndarray, np.ndarray]:
    lam, vec = np.linalg.eigh(M)
    return lam, vec[:, lam <= thr]


def _loads(basis: np.ndarray) -> np.ndarray:
    return np.sum(basis**2, axis=1) > LOADING_TOL


def identification(
    problem: Problem,
    theta,
    grad_norm: float = 0.0,
    active: np.ndarray | None = None,
    rtol: float = IDENT_RTOL,
) -> Identification:
    """Label every analysed weight ``"data"``, ``"penalty"`` or ``"none"`` (module docstring).

    Parameters
    ----------
    problem : Problem
    theta : array of shape (n_total,)
    grad_norm : float
        Gradient norm at ``theta`` (widens the penalized Hessian's zero threshold).
    active : array of bool, optional
        Flat mask of the weights to analyse; default the free weights not set to
        zero by an L1 penalty.
    rtol : float

    Returns
    -------
    Identification

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.families import get_family
    >>> from nnmle.networks import Architecture
    >>> from nnmle.penalties import Penalty
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]); Y = np.array([[0.0], [1.0], [2.0]])
    >>> p = Problem.build(X, Y, np.ones(3), get_family("gaussian"), Architecture.build(2, ()))
    >>> identification(p, np.array([0.5, 0.5, 0.0])).labels   # x1 == x2: collinear
    ('none', 'none', 'data')
    >>> identification(p.with_penalty(Penalty(l2=1.0)), np.array([0.4, 0.4, 0.1])).labels
    ('penalty', 'penalty', 'data')
    """
    theta = np.asarray(theta, dtype=np.float64)
    if active is None:
        active = problem.free.copy()
        if problem.penalty.l1 > 0:
            active &= ~(problem.penalized & (theta == 0))
    positions = np.flatnonzero(active)
    pos = np.flatnonzero(active[problem.free])
    F = problem.information(theta)[np.ix_(pos, pos)]
    H_nll = problem.with_penalty(Penalty()).hessian(theta)[np.ix_(pos, pos)]
    pmask = problem.penalized[positions].astype(float)
    H = H_nll + np.diag(2.0 * float(problem.penalty.l2) * pmask)
    with blas_threads(F.shape[0]):  # small dense problems: one BLAS thread (see starts)
        lam_F = np.linalg.eigvalsh(F)
        thr_F = rtol * max(float(lam_F.max(initial=0.0)), 0.0)
        _, N_F = _null_basis(F, thr_F)
        lam_H = np.linalg.eigvalsh(H)
        thr_H = max(rtol * float(np.abs(lam_H).max(initial=0.0)), 10.0 * float(grad_norm))
        flat = N_F
        if N_F.shape[1] and problem.penalty.l2 > 0:
            mu, V = np.linalg.eigh(N_F.T @ H @ N_F)
            flat = N_F @ V[:, mu <= thr_H]  # directions the penalty does not curve either
    none, weak = _loads(flat), _loads(N_F)
    labels = tuple(
        "none" if n else "penalty" if w else "data" for n, w in zip(none, weak, strict=True)
    )
    return Identification(positions, labels, F, lam_F, thr_F, H, lam_H, thr_H)
