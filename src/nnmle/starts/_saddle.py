"""Is a stationary point a minimum? The Hessian's index after a fit, and plateaus.

An optimizer stops where the gradient vanishes: a minimum, but also a saddle
point (the Hessian has negative eigenvalues: the objective still decreases in
some direction) or a plateau. :func:`hessian_check` counts the negative
eigenvalues of the exact Hessian of the penalized objective: a Cholesky test
certifies a minimum cheaply; otherwise the eigenvalues are computed, densely up
to ``dense_max`` free weights (2,000), or the most negative one by Lanczos
(``scipy.sparse.linalg.eigsh`` on exact Hessian-vector products) above. An
eigenvalue is negative when it is below ``-max(rtol * max|lambda|, 10 * grad)``
(``rtol = 1e-6``).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.sparse.linalg import LinearOperator, eigsh

__all__ = [
    "SINGLE_THREAD_EIGH",
    "HessianCheck",
    "blas_threads",
    "hessian_check",
    "positive_definite",
]

#: A dense ``eigh`` runs on one BLAS thread up to this size, and at every size on
#: machines with at most 4 cores: on a loaded 2-core machine one thread measured
#: 10-100x faster at 321 x 321, 8x at 2000 and 2x at 4951 (OpenBLAS threads spin
#: against XLA's and other processes').
SINGLE_THREAD_EIGH = 2000

_BLAS: list = []  # one cached threadpoolctl controller (building one costs ~5 ms)


def blas_threads(n: int):
    """A context with one BLAS thread for an ``n x n`` dense factorization (policy above)."""
    if n > SINGLE_THREAD_EIGH and (os.cpu_count() or 1) > 4:
        return contextlib.nullcontext()
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - installed with scikit-learn
            return contextlib.nullcontext()
        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


def positive_definite(H: np.ndarray, rtol: float = 1e-6, seed: int = 0) -> tuple[bool, float]:
    """Whether every eigenvalue of ``H`` exceeds ``rtol * max|lambda|``, without an ``eigh``.

    ``max|lambda|`` comes from power iteration on ``H`` (relative change below
    1e-6, at most 200 products); the test is a Cholesky factorization of
    ``H - rtol * max|lambda| * I``, about a tenth of the cost of the
    eigenvalues. Returns the verdict and the estimate of ``max|lambda|``.

    Examples
    --------
    >>> positive_definite(np.diag([2.0, 1.0]))[0], positive_definite(np.diag([2.0, 0.0]))[0]
    (True, False)
    """
    n = H.shape[0]
    if n == 0:
        return True, 0.0
    v = np.asarray(np.random.default_rng(seed).standard_normal(size=(n,)))
    lam = new = 0.0
    for _ in range(200):
        w = H @ v
        new = float(np.linalg.norm(w) / np.linalg.norm(v))
        v = w / (float(np.linalg.norm(w)) or 1e-300)
        if abs(new - lam) <= 1e-6 * new:
            break
        lam = new
    lam = max(lam, new)
    try:
        with blas_threads(n):
            scipy.linalg.cholesky(H - rtol * lam * np.eye(n), check_finite=False)
    except np.linalg.LinAlgError:
        return False, lam
    return True, lam


@dataclass(frozen=True)
class HessianCheck:
    """The Hessian at a point: how many negative eigenvalues, and the extremes.

    Attributes
    ----------
    index : int
        Negative eigenvalues (below ``-threshold``); with Lanczos, 0 or 1 (at least one).
    lambda_min, lambda_max : float
        The extreme eigenvalues (``lambda_min`` is ``nan`` when a Cholesky test
        certified the minimum without computing it).
    threshold : float
    method : {"cholesky", "dense", "lanczos"}
    """

    index: int
    lambda_min: float
    lambda_max: float
    threshold: float
    method: str

    @property
    def minimum(self) -> bool:
        """No negative eigenvalue."""
        return self.index == 0


def hessian_check(
    problem,
    theta,
    grad_norm: float = 0.0,
    *,
    active: np.ndarray | None = None,
    dense_max: int = 2000,
    rtol: float = 1e-6,
) -> HessianCheck:
    """Count the negative eigenvalues of the Hessian of ``problem``'s objective at ``theta``.

    Parameters
    ----------
    problem : Problem
    theta : array of shape (n_total,)
    grad_norm : float
        Gradient norm at ``theta`` (widens the threshold: at a point whose
        gradient is that large, curvature of that order is not evidence).
    active : array of bool, optional
        Over the free coordinates: the ones the objective is smooth in (default
        all). Under an L1 penalty, leave out the weights set to zero: there the
        objective has a kink, and curvature says nothing.
    dense_max : int
        Dense Hessian (Cholesky, then ``eigh`` if needed) up to this many free
        weights; the most negative eigenvalue by Lanczos above.
    rtol : float

    Returns
    -------
    HessianCheck

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.families import get_family
    >>> from nnmle.networks import Architecture
    >>> from nnmle.problem import Problem
    >>> X = np.array([[1.0], [2.0], [3.0]]); Y = np.array([[1.0], [0.0], [2.0]])
    >>> p = Problem.build(X, Y, np.ones(3), get_family("gaussian"), Architecture.build(1, ()))
    >>> hessian_check(p, np.zeros(2)).index
    0
    """
    act = np.ones(int(problem.n_params), dtype=bool) if active is None else np.asarray(active)
    n = int(act.sum())
    if n <= dense_max:
        H = problem.hessian(theta)[np.ix_(act, act)]
        ok, lam_max = positive_definite(H, rtol)
        if ok:
            return HessianCheck(0, float("nan"), lam_max, rtol * lam_max, "cholesky")
        with blas_threads(n):
            lam = scipy.linalg.eigvalsh(H)
        thr = max(rtol * float(np.abs(lam).max(initial=0.0)), 10.0 * grad_norm)
        return HessianCheck(int(np.sum(lam < -thr)), float(lam[0]), float(lam[-1]), thr, "dense")
    hvp = problem.hvp(theta)

    def matvec(v):
        full = np.zeros(act.size)
        full[act] = np.ravel(v)
        return hvp(full)[act]

    op = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(0).standard_normal(n)
    hi = float(eigsh(op, k=1, which="LA", v0=v0, tol=1e-6, return_eigenvectors=False)[0])
    lo = float(eigsh(op, k=1, which="SA", v0=v0, tol=1e-6, return_eigenvectors=False)[0])
    thr = max(rtol * max(abs(hi), abs(lo)), 10.0 * grad_norm)
    return HessianCheck(int(lo < -thr), lo, hi, thr, "lanczos")
