"""Spectra of the Hessian: eigenvalues, index and nullity, stationary-point classes,
flat directions and the spectral density (stochastic Lanczos quadrature)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.sparse.linalg import LinearOperator, eigsh

from .. import symmetry
from ..problem import as_problem, flat_theta
from ..starts import blas_threads

CLASSES = ("strict_min", "degenerate_min", "saddle", "not_converged", "diverged")


# --- spectra -----------------------------------------------------------------


@dataclass(frozen=True)
class Spectrum:
    """Eigenvalues of the Hessian on the free coordinates, and what they say.

    Attributes
    ----------
    eigenvalues : ndarray
        Ascending. All of them (``complete``) or the extremes found by Lanczos.
    eigenvectors : ndarray or None
        Matching columns (free coordinates), when requested.
    method : {"dense", "lanczos"}
    n_params : int
        Number of free weights (the size of the Hessian).
    rtol, zero_tol : float
        ``zero_tol = rtol * max|lambda|``: the threshold for "zero".
    index : int
        Eigenvalues below ``-zero_tol``; with Lanczos, among those computed.
    nullity : int
        Eigenvalues within ``± zero_tol`` (with Lanczos: among those computed).
    nullity_symmetry : int
        Of those, the ones along continuous symmetries of the problem's group
        (:func:`nnmle.symmetry.symmetry_tangents`).
    complete : bool
        Whether ``eigenvalues`` is the whole spectrum.
    n_hvp : int
        Hessian-vector products spent (a dense Hessian costs one per free weight).
    seconds : float
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray | None
    method: str
    n_params: int
    rtol: float
    zero_tol: float
    index: int
    nullity: int
    nullity_symmetry: int
    complete: bool
    n_hvp: int = 0
    seconds: float = 0.0

    @property
    def lambda_min(self) -> float:
        """The smallest (most negative) eigenvalue."""
        return float(self.eigenvalues[0])

    @property
    def lambda_max(self) -> float:
        """The largest eigenvalue."""
        return float(self.eigenvalues[-1])

    @property
    def nullity_other(self) -> int:
        """Near-zero eigenvalues that no continuous symmetry explains."""
        return self.nullity - self.nullity_symmetry

    def to_dict(self) -> dict:
        """Plain data (eigenvalues as a list, no eigenvectors)."""
        return {
            "method": self.method,
            "n_params": self.n_params,
            "complete": self.complete,
            "n_hvp": self.n_hvp,
            "rtol": self.rtol,
            "zero_tol": self.zero_tol,
            "index": self.index,
            "nullity": self.nullity,
            "nullity_symmetry": self.nullity_symmetry,
            "lambda_min": self.lambda_min,
            "lambda_max": self.lambda_max,
            "eigenvalues": self.eigenvalues.tolist(),
        }


def _eigh(H: np.ndarray, vectors: bool = True):
    """``scipy.linalg.eigh`` with the BLAS thread policy above."""
    with blas_threads(H.shape[0]):
        return scipy.linalg.eigh(H, eigvals_only=not vectors)


def hessian_spectrum(
    theta,
    problem,
    *,
    method: str = "auto",
    k: int = 6,
    rtol: float = 1e-6,
    dense_max: int = 5000,
    vectors: bool | str = True,
    lanczos_tol: float = 1e-8,
    ncv: int | None = None,
    seed: int = 0,
) -> Spectrum:
    """Eigen-decompose the exact Hessian at ``theta`` and count index and nullity.

    Parameters
    ----------
    theta : array-like, Params, or an object with ``.theta``
    problem : Problem, or anything with a ``.problem`` (a fit, an Estimate, a Campaign)
    method : {"auto", "dense", "lanczos"}
        ``auto``: dense when the free weights are at most ``dense_max``.
    k : int
        Lanczos: eigenvalues computed at each end of the spectrum.
    rtol : float
        An eigenvalue is zero when ``|lambda| <= rtol * max|lambda|``.
    vectors : bool or "auto"
        Keep the eigenvectors (needed to split the nullity by symmetry and to
        name flat directions); ``"auto"``: only when some eigenvalue is zero.
    lanczos_tol : float
        Relative accuracy asked of ``eigsh``.
    ncv : int or None
        Lanczos basis size between restarts (``eigsh``'s ``ncv``; default
        ``max(4k + 1, 20)``).
    seed : int
        Seed of the Lanczos starting vector.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.families import get_family
    >>> from nnmle.networks import Architecture
    >>> from nnmle.problem import Problem
    >>> X = np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]])   # x2 = 2 x1
    >>> prob = Problem.build(X, np.array([[1.0], [2.0], [0.0]]), np.ones(3),
    ...                      get_family("gaussian"), Architecture.build(2, hidden=()))
    >>> s = hessian_spectrum(np.zeros(3), prob)
    >>> s.index, s.nullity
    (0, 1)
    """
    prob = as_problem(problem)
    t0 = time.perf_counter()
    th = flat_theta(theta, prob.arch)
    n = int(prob.free.sum())
    if method not in ("auto", "dense", "lanczos"):
        raise ValueError(
            f"Unknown method {method!r}: expected 'auto', 'dense' (eigh of the full Hessian) or "
            f"'lanczos' (extremes by Hessian-vector products)."
        )
    if method == "auto":
        method = "dense" if n <= dense_max else "lanczos"
    if method == "dense" or n <= 2 * k + 1:
        H = prob.hessian(th)
        if vectors is True:
            vals, vecs = _eigh(H)
        else:
            vals, vecs = _eigh(H, vectors=False), None
            tol = rtol * float(np.max(np.abs(vals), initial=0.0))
            if vectors == "auto" and np.any(np.abs(vals) <= tol):
                vals, vecs = _eigh(H)
        method, complete, n_hvp = "dense", True, n
    else:
        matvec, count = prob.hvp(th), [0]

        def counted(v):
            count[0] += 1
            return matvec(v)

        op = LinearOperator((n, n), matvec=counted, dtype=np.float64)
        v0 = np.random.default_rng(seed).standard_normal(n)
        kk = min(2 * k, n - 1)
        ncv = None if ncv is None else min(n, max(2 * kk + 1, ncv))
        vals, vecs = eigsh(op, k=kk, which="BE", tol=lanczos_tol, v0=v0, ncv=ncv)
        order = np.argsort(vals)
        vals, vecs = vals[order], vecs[:, order]
        vecs = vecs if vectors else None  # "auto" keeps them: Lanczos computes them anyway
        complete, n_hvp = False, count[0]
    zero_tol = rtol * float(np.max(np.abs(vals))) if vals.size else 0.0
    null = np.abs(vals) <= zero_tol
    n_sym = 0
    if vecs is not None and null.any():
        T = symmetry.symmetry_tangents(th, symmetry.group(prob))
        if T.shape[1]:
            s = np.linalg.svd(vecs[:, null].T @ T, compute_uv=False)
            n_sym = int(np.sum(s > 0.9))
    return Spectrum(
        eigenvalues=np.asarray(vals),
        eigenvectors=vecs,
        method=method,
        n_params=n,
        rtol=rtol,
        zero_tol=zero_tol,
        index=int(np.sum(vals < -zero_tol)),
        nullity=int(null.sum()),
        nullity_symmetry=n_sym,
        complete=complete,
        n_hvp=n_hvp,
        seconds=time.perf_counter() - t0,
    )


def classify(
    grad_norm: float,
    spectrum: Spectrum | None,
    *,
    grad_tol: float = 1e-5,
    finite: bool = True,
    max_abs_weight: float = 0.0,
    diverge_at: float = 1e3,
) -> str:
    """Class of a point: ``strict_min``, ``degenerate_min``, ``saddle``, ``not_converged``
    or ``diverged`` (rules in the :mod:`nnmle.landscape` docstring).

    Examples
    --------
    >>> classify(1e-9, None, finite=False)
    'diverged'
    >>> classify(0.3, None)
    'not_converged'
    """
    if not finite or not np.isfinite(grad_norm) or max_abs_weight > diverge_at:
        return "diverged"
    if grad_norm > grad_tol or spectrum is None:
        return "not_converged"
    if spectrum.index > 0:
        return "saddle"
    return "degenerate_min" if spectrum.nullity_other > 0 else "strict_min"


@dataclass(frozen=True)
class FlatDirection:
    """A direction along which the Hessian vanishes, in the parameters' names.

    Attributes
    ----------
    vector : ndarray
        On the free coordinates, scaled so that its pivot entry is 1.
    terms : list of (str, float)
        Non-negligible ``(parameter name, coefficient)`` pairs.
    text : str
        For a GLM the linear relation among the design's columns that makes
        it flat (``x1 + x2 - x3 = 0``); otherwise the parameter combination.
    """

    vector: np.ndarray
    terms: list[tuple[str, float]]
    text: str


def flat_directions(spectrum: Spectrum, problem, theta=None) -> list[FlatDirection]:
    """Name the near-zero directions of ``spectrum`` not explained by a continuous symmetry.

    The null eigenvectors are reduced to a sparse basis (each direction has one
    pivot weight with coefficient 1 and zero on the other pivots). For a
    network without hidden layer (a GLM) a flat direction ``v`` satisfies
    ``[X 1] v = 0``: it names the collinear columns of the design.
    """
    prob = as_problem(problem)
    if spectrum.eigenvectors is None:
        raise ValueError(
            "The spectrum has no eigenvectors. Fix: hessian_spectrum(..., vectors=True)."
        )
    null = np.abs(spectrum.eigenvalues) <= spectrum.zero_tol
    N = spectrum.eigenvectors[:, null]
    if N.shape[1] == 0:
        return []
    if theta is not None and spectrum.nullity_symmetry:
        T = symmetry.symmetry_tangents(flat_theta(theta, prob.arch), symmetry.group(prob))
        N = N - T @ (T.T @ N)
        U, s, _ = np.linalg.svd(N, full_matrices=False)
        N = U[:, s > 0.5]
    if N.shape[1] == 0:
        return []
    _, _, piv = scipy.linalg.qr(N.T, pivoting=True)
    piv = piv[: N.shape[1]]
    B = np.linalg.solve(N.T[:, piv], N.T)
    B[np.abs(B) < 1e-8] = 0.0
    B *= np.sign(B[np.arange(B.shape[0]), np.argmax(B != 0, axis=1)])[:, None]  # first term > 0
    names = [nm for nm, f in zip(prob.arch.param_names(), prob.free, strict=True) if f]
    glm = not prob.arch.hidden and prob.arch.n_outputs == 1
    out = []
    for row in B:
        terms = [(names[j], float(row[j])) for j in np.flatnonzero(row)]
        if glm:
            parts = [
                (("1" if nm.startswith("bias->") else nm.split("->")[0]), c) for nm, c in terms
            ]
            text = _linear_text(parts) + " = 0 (collinear columns of the design)"
        else:
            text = _linear_text(terms)
        out.append(FlatDirection(row, terms, text))
    return out


def _linear_text(terms: Sequence[tuple[str, float]]) -> str:
    text = ""
    for i, (name, c) in enumerate(terms):
        sign = "-" if c < 0 else ("+" if i else "")
        mag = "" if math.isclose(abs(c), 1.0, rel_tol=1e-9) else f"{abs(c):.4g}*"
        text += (f" {sign} " if i else sign) + mag + name
    return text.strip()


# --- spectral density (stochastic Lanczos quadrature) -------------------------


@dataclass(frozen=True)
class SpectralDensity:
    """A smoothed eigenvalue density: ``density`` integrates to 1 over ``grid``."""

    grid: np.ndarray
    density: np.ndarray
    nodes: np.ndarray
    weights: np.ndarray
    sigma: float


def _lanczos(matvec, v0: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """``m`` Lanczos steps with full reorthogonalization: the tridiagonal (alpha, beta)."""
    n = v0.size
    Q = np.zeros((m, n))
    alpha, beta = np.zeros(m), np.zeros(m)
    q = v0 / np.linalg.norm(v0)
    for j in range(m):
        Q[j] = q
        w = matvec(q)
        alpha[j] = q @ w
        w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)
        w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)
        beta[j] = np.linalg.norm(w)
        if beta[j] < 1e-12 * max(1.0, abs(alpha[j])):
            return alpha[: j + 1], beta[:j]
        q = w / beta[j]
    return alpha, beta[: m - 1]


def spectral_density(
    theta,
    problem,
    *,
    n_probes: int = 8,
    n_steps: int = 60,
    n_grid: int = 400,
    sigma: float | None = None,
    seed: int = 0,
) -> SpectralDensity:
    """Eigenvalue density of the Hessian by stochastic Lanczos quadrature.

    For each Rademacher probe ``v``, ``n_steps`` Lanczos steps give a
    tridiagonal ``T = U diag(nodes) U'``; ``v' g(H) v / n ~ sum_i U[0,i]^2 g(nodes_i)``.
    The density averages Gaussian kernels of width ``sigma`` (default 1% of the
    spectral range) at the nodes with those weights (Ghorbani et al., 2019).
    """
    prob = as_problem(problem)
    mv = prob.hvp(flat_theta(theta, prob.arch))
    n = int(prob.free.sum())
    rng = np.random.default_rng(seed)
    nodes, weights = [], []
    for _ in range(n_probes):
        a, b = _lanczos(mv, rng.choice([-1.0, 1.0], size=n), min(n_steps, n))
        ev, U = scipy.linalg.eigh_tridiagonal(a, b)
        nodes.append(ev)
        weights.append(U[0] ** 2 / n_probes)
    nodes_a, weights_a = np.concatenate(nodes), np.concatenate(weights)
    lo, hi = nodes_a.min(), nodes_a.max()
    span = max(hi - lo, 1e-12 * max(1.0, abs(hi)))
    sigma = sigma or 0.01 * span
    grid = np.linspace(lo - 3 * sigma, hi + 3 * sigma, n_grid)
    kern = np.exp(-0.5 * ((grid[:, None] - nodes_a[None]) / sigma) ** 2) / (
        sigma * math.sqrt(2 * math.pi)
    )
    return SpectralDensity(grid, kern @ weights_a, nodes_a, weights_a, float(sigma))
