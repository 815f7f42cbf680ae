"""The loss landscape: exact Hessians, stationary-point classes, saddles, barriers.

Everything here is a pure function of a flat weight vector ``theta`` and a
:class:`Problem` (data, family, architecture, penalty): the penalized
objective ``f(theta) = sum_i w_i nll_i + penalty`` of :mod:`nnmle.objective`.
Derivatives are exact (JAX autodiff, float64) and restricted to the *free*
entries (``arch.free_mask()``): frozen weights have zero gradient and are not
coordinates of the problem.

Spectra and thresholds
----------------------
:func:`hessian_spectrum` computes the eigenvalues of the Hessian ``H`` on the
free coordinates: all of them by a dense ``eigh`` when there are at most
``dense_max`` (5,000) free weights, else the ``k`` largest and ``k`` smallest
(most negative) by Lanczos (``scipy.sparse.linalg.eigsh`` on a
``LinearOperator`` of exact Hessian-vector products). An eigenvalue counts as
zero when ``|lambda| <= rtol * max|lambda|`` (``rtol = 1e-6`` by default):

- the **index** is the number of eigenvalues below ``-rtol * max|lambda|``;
- the **nullity** the number within ``± rtol * max|lambda|``; of those,
  ``nullity_symmetry`` lie along a *continuous* symmetry of the objective
  (relu unit scaling ``(w_in, b, w_out) -> (c w_in, c b, w_out / c)``; the
  ``GL(p)`` of identity units, ``O(p)`` under an L2 penalty), which are flat
  at every critical point and do not make a minimum less strict.

The dense Hessian is computed by :func:`hessian`, exactly, either column by
column from Hessian-vector products or (when cheaper, e.g. one hidden layer)
from per-observation Hessians in the first layer's pre-activations
("factored"); small ``eigh`` calls run on one BLAS thread
(:data:`SINGLE_THREAD_EIGH`).

Stationary-point classes (:func:`classify`): ``diverged`` (non-finite, or
weights beyond ``diverge_at``), ``not_converged`` (gradient norm above
``grad_tol``), ``saddle`` (index > 0), ``degenerate_min`` (index 0 and
near-zero eigenvalues not explained by continuous symmetries: the
second-order test cannot certify a minimum), ``strict_min`` (index 0, every
other eigenvalue positive: a strict minimum modulo symmetry).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.linalg
from scipy.sparse.linalg import LinearOperator, eigsh

from . import symmetry
from .families import Family
from .networks import Architecture, Params, activation_fn, ravel
from .objective import Data, objective
from .penalties import Penalty, penalized_mask

__all__ = [
    "Barrier",
    "CriticalPoint",
    "Escape",
    "FlatDirection",
    "LinearAutoencoder",
    "NonConvexityCertificate",
    "Problem",
    "SaddleStudy",
    "SpectralDensity",
    "Spectrum",
    "align_theta",
    "as_problem",
    "classify",
    "critical_point",
    "escape_saddle",
    "flat_directions",
    "hessian",
    "hessian_spectrum",
    "hvp",
    "linear_autoencoder",
    "loss_barrier",
    "nonconvexity_certificate",
    "objective_element",
    "positive_definite",
    "saddle_study",
    "spectral_density",
    "symmetry_tangents",
]

CLASSES = ("strict_min", "degenerate_min", "saddle", "not_converged", "diverged")


# --- the problem -------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Problem:
    """The objective's ingredients: ``f(theta) = objective(theta, data, family, arch, penalty)``.

    Build one from a :class:`~nnmle.fit.FitResult` or a campaign with
    :func:`as_problem`.
    """

    data: Data
    family: Family
    arch: Architecture
    penalty: Penalty = field(default_factory=Penalty)

    @property
    def free(self) -> np.ndarray:
        """Flat boolean mask of the free (estimated) entries."""
        return self.arch.free_mask()

    def objective(self, theta) -> float:
        """The penalized objective at ``theta``."""
        return float(_value_grad(jnp.asarray(_flat(theta, self.arch)), *self._args)[0])

    def gradient(self, theta) -> np.ndarray:
        """Gradient on the free coordinates."""
        g = _value_grad(jnp.asarray(_flat(theta, self.arch)), *self._args)[1]
        return np.asarray(g)[self.free]

    def objectives(self, thetas) -> np.ndarray:
        """The objective at each row of ``thetas`` (vectorized)."""
        return np.asarray(_values(jnp.asarray(np.atleast_2d(thetas)), *self._args))

    @property
    def _args(self):
        return (self.data, self.family, self.arch, self.penalty)


def as_problem(obj) -> Problem:
    """A :class:`Problem` from a Problem, a ``FitResult``/``Campaign``, or a 4-tuple.

    Raises
    ------
    ValueError
        When ``obj`` does not carry data, family, architecture and penalty.
    """
    if isinstance(obj, Problem):
        return obj
    if isinstance(obj, tuple) and len(obj) == 4:
        return Problem(*obj)
    problem = getattr(obj, "problem", None)
    if isinstance(problem, Problem):
        return problem
    if all(hasattr(obj, a) for a in ("data", "family", "arch", "penalty")) and obj.data is not None:
        return Problem(obj.data, obj.family, obj.arch, obj.penalty)
    raise ValueError(
        f"Expected a fitted result (nnmle.fit(...)), a Campaign, a Problem or a tuple "
        f"(data, family, arch, penalty); got {type(obj).__name__}. "
        f"Fix: pass the result of nnmle.fit or nnmle.multistart."
    )


def _flat(theta, arch: Architecture) -> np.ndarray:
    """A flat float64 vector from a flat array, a :class:`Params` or an object with ``.theta``."""
    if isinstance(theta, Params):
        return np.asarray(ravel(theta, arch), dtype=np.float64)
    theta = getattr(theta, "theta", theta)
    out = np.asarray(theta, dtype=np.float64)
    if out.shape != (arch.n_total,):
        raise ValueError(
            f"theta must be a flat weight vector of {arch.n_total} entries (nnmle.networks.ravel "
            f"order) or a Params; got shape {out.shape}."
        )
    return out


_STATIC = ("family", "arch", "penalty")


@functools.partial(jax.jit, static_argnames=_STATIC)
def _value_grad(theta, data, family, arch, penalty):
    return jax.value_and_grad(objective)(theta, data, family, arch, penalty)


@functools.partial(jax.jit, static_argnames=_STATIC)
def _values(thetas, data, family, arch, penalty):
    return jax.vmap(lambda th: objective(th, data, family, arch, penalty))(thetas)


def _hvp_full(theta, v, data, family, arch, penalty):
    def grad(th):
        return jax.grad(objective)(th, data, family, arch, penalty)

    return jax.jvp(grad, (theta,), (v,))[1]


_hvp_jit = jax.jit(_hvp_full, static_argnames=_STATIC)


@functools.partial(jax.jit, static_argnames=(*_STATIC, "batch"))
def _hessian_rows(theta, idx, data, family, arch, penalty, batch):
    n = theta.shape[0]

    def row(i):
        return _hvp_full(
            theta, jax.nn.one_hot(i, n, dtype=theta.dtype), data, family, arch, penalty
        )

    return jax.lax.map(row, idx, batch_size=batch)


@functools.partial(jax.jit, static_argnames=_STATIC)
def _linearized_gradient(theta, data, family, arch, penalty):
    def grad(th):
        return jax.grad(objective)(th, data, family, arch, penalty)

    return jax.linearize(grad, theta)[1]


@jax.jit
def _apply_linear(linear, v):
    return linear(v)


def hvp(theta, problem) -> Any:
    """Exact Hessian-vector product ``v -> H v`` on the free coordinates.

    The gradient is linearized once at ``theta`` (``jax.linearize``: the
    forward and backward passes are stored), so each product only runs the
    tangent part: about half the cost of a fresh forward-over-reverse product.

    Examples
    --------
    >>> import numpy as np, jax.numpy as jnp
    >>> from nnmle.families import get_family
    >>> X = jnp.array([[1.0], [2.0]]); Y = jnp.array([[1.0], [0.0]])
    >>> prob = Problem(Data(X, Y, jnp.ones(2)), get_family("gaussian"),
    ...                Architecture.build(1, hidden=()))
    >>> hvp(np.zeros(2), prob)(np.array([1.0, 0.0])).tolist()   # [X'X, X'1] column
    [5.0, 3.0]
    """
    prob = as_problem(problem)
    linear = _linearized_gradient(jnp.asarray(_flat(theta, prob.arch)), *prob._args)
    free = prob.free
    n = prob.arch.n_total

    def matvec(v):
        full = np.zeros(n)
        full[free] = np.ravel(v)
        return np.asarray(_apply_linear(linear, jnp.asarray(full)))[free]

    return matvec


def hessian(theta, problem, method: str = "auto", batch: int | None = None) -> np.ndarray:
    """The exact Hessian of the penalized objective on the free coordinates (float64).

    Two exact algorithms:

    - ``"hvp"``: one Hessian-vector product per free weight, in blocks of
      ``batch`` (default: sized so a block's activations stay near 160 MB);
    - ``"factored"``: the first layer is affine in the inputs,
      ``z_i = W1' x_i + b1``, so with ``u = (W1, b1)``, ``r`` the other weights
      and ``L_i(z, r)`` observation ``i``'s weighted loss,
      ``H_uu = sum_i (x~_i x~_i') (x) d2L_i/dz2``, ``H_ur = sum_i x~_i (x) d2L_i/dz dr``,
      ``H_rr = sum_i d2L_i/dr2`` (``x~ = (x, 1)``), plus the penalty's diagonal.
      The per-observation Hessians are small (``h1 + len(r)``) and the sums are
      matrix products: about 4x fewer flops for a 30-10-1 network.

    ``"auto"`` takes ``factored`` when ``h1 + len(r)`` is at most half the
    number of weights, else ``hvp``.

    Examples
    --------
    >>> import numpy as np, jax.numpy as jnp
    >>> from nnmle.families import get_family
    >>> X = jnp.array([[1.0], [2.0]]); Y = jnp.array([[1.0], [0.0]])
    >>> prob = Problem(Data(X, Y, jnp.ones(2)), get_family("gaussian"),
    ...                Architecture.build(1, hidden=()))
    >>> hessian(np.zeros(2), prob).tolist()   # [X 1]'[X 1]
    [[5.0, 3.0], [3.0, 2.0]]
    """
    prob = as_problem(problem)
    arch = prob.arch
    idx = np.flatnonzero(prob.free)
    th = jnp.asarray(_flat(theta, arch))
    m = arch.sizes[1] + arch.n_total - (arch.n_inputs + 1) * arch.sizes[1]
    if method == "auto":
        method = "factored" if 2 * m <= arch.n_total else "hvp"
    if method == "factored":
        n_obs = int(prob.data.X.shape[0])
        chunk = int(np.clip(4e6 // (m * m), 1, n_obs))
        full = np.asarray(_hessian_factored(th, *prob._args, chunk=chunk))
        H = full[np.ix_(idx, idx)]
    elif method == "hvp":
        if batch is None:
            n_obs = int(prob.data.X.shape[0])
            batch = int(np.clip(2e7 // max(1, n_obs * sum(arch.sizes)), 1, max(1, idx.size)))
        H = np.asarray(_hessian_rows(th, jnp.asarray(idx), *prob._args, batch=batch))[:, idx]
    else:
        raise ValueError(f"Unknown method {method!r}: expected 'auto', 'factored' or 'hvp'.")
    return 0.5 * (H + H.T)


def _forward_from_first(z, r, x, arch: Architecture):
    """The linear predictor of one observation from its first-layer pre-activation ``z``."""
    sizes, n_hidden = arch.sizes, len(arch.hidden)
    h, off = z, 0
    for l in range(1, n_hidden + 1):
        h = activation_fn(arch.activation[l - 1])(h)
        a, b = sizes[l], sizes[l + 1]
        W, bias = r[off : off + a * b].reshape(a, b), r[off + a * b : off + a * b + b]
        h, off = h @ W + bias, off + a * b + b
    if arch.skip:
        h = h + x @ r[off : off + arch.n_inputs * arch.n_outputs].reshape(arch.n_inputs, -1)
    return h


def _pair_index(k: int) -> np.ndarray:
    """``out[a, b]``: the position of ``(min(a, b), max(a, b))`` in ``np.triu_indices(k)``."""
    out = np.zeros((k, k), dtype=int)
    a, b = np.triu_indices(k)
    out[a, b] = out[b, a] = np.arange(a.size)
    return out


@functools.partial(jax.jit, static_argnames=(*_STATIC, "chunk"))
def _hessian_factored(theta, data, family, arch, penalty, chunk):
    free = jnp.asarray(arch.free_mask())
    th = jnp.where(free, theta, jnp.asarray(arch.fixed_values(), dtype=theta.dtype))
    d, h1 = arch.n_inputs, arch.sizes[1]
    n_u = (d + 1) * h1
    W1, b1, r = th[: d * h1].reshape(d, h1), th[d * h1 : n_u], th[n_u:]
    n = data.X.shape[0]
    pad = (-n) % chunk

    def padded(a):
        return jnp.concatenate([a, jnp.zeros((pad,) + a.shape[1:], a.dtype)]).reshape(
            (-1, chunk) + a.shape[1:]
        )

    X, Y, w = padded(data.X), padded(data.Y), padded(data.w)

    def loss(v, x, y, wi):
        eta = _forward_from_first(v[:h1], v[h1:], x, arch)
        return wi * family.loss_obs(eta[None, :], y[None, :])[0]

    def ex_hessian(x, y, wi):
        return jax.hessian(loss)(jnp.concatenate([x @ W1 + b1, r]), x, y, wi)

    # both x~ x~' and d2L/dz2 are symmetric: accumulate upper triangles only
    ia, ib = np.triu_indices(d + 1)
    ij, ik = np.triu_indices(h1)

    def body(acc, xs):
        Xc, Yc, wc = xs
        Hc = jax.vmap(ex_hessian)(Xc, Yc, wc)
        Xt = jnp.concatenate([Xc, jnp.ones((chunk, 1), Xc.dtype)], axis=1)
        Huu = (Xt[:, ia] * Xt[:, ib]).T @ Hc[:, ij, ik]
        Hur = Xt.T @ Hc[:, :h1, h1:].reshape(chunk, -1)
        uu, ur, rr = acc
        return (uu + Huu, ur + Hur, rr + Hc[:, h1:, h1:].sum(0)), None

    m_r = r.shape[0]
    zero = (
        jnp.zeros((ia.size, ij.size)),
        jnp.zeros((d + 1, h1 * m_r)),
        jnp.zeros((m_r, m_r)),
    )
    (uu, ur, rr), _ = jax.lax.scan(body, zero, (X, Y, w))
    pair_a, pair_j = _pair_index(d + 1), _pair_index(h1)
    uu = uu[pair_a[:, None, :, None], pair_j[None, :, None, :]].reshape(n_u, n_u)
    ur = ur.reshape(n_u, m_r)
    H = jnp.block([[uu, ur], [ur.T, rr]])
    if penalty.l2:
        H = H + jnp.diag(2.0 * penalty.l2 * jnp.asarray(penalized_mask(arch, penalty), H.dtype))
    return H


# --- continuous symmetries ---------------------------------------------------


def _blocks(arch: Architecture) -> list[slice]:
    out, offset = [], 0
    for sh in arch.shapes:
        size = int(np.prod(sh))
        out.append(slice(offset, offset + size))
        offset += size
    return out


def _tangent(arch, blocks, l, dW, db, dWn, dbn=None) -> np.ndarray:
    t = np.zeros(arch.n_total)
    t[blocks[2 * l]], t[blocks[2 * l + 1]], t[blocks[2 * l + 2]] = dW.ravel(), db, dWn.ravel()
    if dbn is not None:
        t[blocks[2 * l + 3]] = dbn
    return t


def symmetry_tangents(theta, arch: Architecture, penalty: Penalty | None = None) -> np.ndarray:
    """Tangents at ``theta`` of the continuous symmetries of the objective.

    On the free coordinates, an orthonormal basis (columns) of the directions
    along which the objective is exactly constant because of a continuous
    group acting on hidden units:

    - relu units, without penalty: scaling ``(w_in, b) -> c (w_in, b)``,
      ``w_out -> w_out / c`` (one per unit);
    - identity units, without penalty: ``GL(p)``, ``W_l -> W_l A``,
      ``b_l -> b_l A``, ``W_{l+1} -> A^{-1} W_{l+1}`` (``p^2``), and shifts
      ``b_l[j] += c``, ``b_{l+1} -= c W_{l+1}[j]`` when both biases are free
      and unpenalized;
    - identity units under an L2 penalty: the rotations ``O(p)`` (``p(p-1)/2``).

    A tangent that would move a frozen entry is dropped (the mask breaks it).
    """
    penalty = penalty or Penalty()
    th = _flat(theta, arch)
    blocks = _blocks(arch)
    sizes = arch.sizes
    penalized = penalty.l2 > 0 or penalty.l1 > 0
    tangents: list[np.ndarray] = []
    for l, act in enumerate(arch.activation):
        W, b = th[blocks[2 * l]].reshape(sizes[l], sizes[l + 1]), th[blocks[2 * l + 1]]
        Wn = th[blocks[2 * l + 2]].reshape(sizes[l + 1], sizes[l + 2])
        eye = np.eye(sizes[l + 1])
        if act == "relu" and not penalized:
            gens = [np.outer(e, e) for e in eye]
        elif act == "identity" and not penalized:
            gens = [np.outer(e1, e2) for e1 in eye for e2 in eye]
        elif act == "identity" and penalty.l1 == 0:
            gens = [
                np.outer(e1, e2) - np.outer(e2, e1) for e1, e2 in itertools.combinations(eye, 2)
            ]
        else:
            gens = []
        tangents += [_tangent(arch, blocks, l, W @ E, b @ E, -E @ Wn) for E in gens]
        biases_free = (
            arch.bias[l] and arch.bias[l + 1] and not (penalized and penalty.penalize_bias)
        )
        if act == "identity" and biases_free:
            zW, zWn = np.zeros_like(W), np.zeros_like(Wn)
            tangents += [_tangent(arch, blocks, l, zW, e, zWn, -Wn[j]) for j, e in enumerate(eye)]
    free = arch.free_mask()
    kept = [
        t[free] for t in tangents if np.linalg.norm(t[~free]) <= 1e-12 * (1 + np.linalg.norm(t))
    ]
    if not kept:
        return np.zeros((int(free.sum()), 0))
    U, s, _ = np.linalg.svd(np.stack(kept, axis=1), full_matrices=False)
    return U[:, s > 1e-10 * max(1.0, s[0])]


# --- spectra -----------------------------------------------------------------


@dataclass
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
        Of those, the ones along continuous symmetries (:func:`symmetry_tangents`).
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


#: A dense ``eigh`` runs on one BLAS thread up to this size, and at every size on
#: machines with at most 4 cores: on a loaded 2-core machine one thread measured
#: 10-100x faster at 321 x 321, 8x at 2000 and 2x at 4951 (OpenBLAS threads spin
#: against XLA's and other processes').
SINGLE_THREAD_EIGH = 2000


_BLAS: list = []  # one cached threadpoolctl controller (building one costs ~5 ms)


def _blas_threads(n: int):
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


def _eigh(H: np.ndarray, vectors: bool = True):
    """``scipy.linalg.eigh`` with the BLAS thread policy above."""
    with _blas_threads(H.shape[0]):
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
    problem : Problem, FitResult or Campaign
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
    >>> import numpy as np, jax.numpy as jnp
    >>> from nnmle.families import get_family
    >>> X = jnp.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]])   # x2 = 2 x1
    >>> prob = Problem(Data(X, jnp.array([[1.0], [2.0], [0.0]]), jnp.ones(3)),
    ...                get_family("gaussian"), Architecture.build(2, hidden=()))
    >>> s = hessian_spectrum(np.zeros(3), prob)
    >>> s.index, s.nullity
    (0, 1)
    """
    prob = as_problem(problem)
    t0 = time.perf_counter()
    th = _flat(theta, prob.arch)
    n = int(prob.free.sum())
    if method not in ("auto", "dense", "lanczos"):
        raise ValueError(
            f"Unknown method {method!r}: expected 'auto', 'dense' (eigh of the full Hessian) or "
            f"'lanczos' (extremes by Hessian-vector products)."
        )
    if method == "auto":
        method = "dense" if n <= dense_max else "lanczos"
    if method == "dense" or n <= 2 * k + 1:
        H = hessian(th, prob)
        if vectors is True:
            vals, vecs = _eigh(H)
        else:
            vals, vecs = _eigh(H, vectors=False), None
            tol = rtol * float(np.max(np.abs(vals), initial=0.0))
            if vectors == "auto" and np.any(np.abs(vals) <= tol):
                vals, vecs = _eigh(H)
        method, complete, n_hvp = "dense", True, n
    else:
        matvec, count = hvp(th, prob), [0]

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
        T = symmetry_tangents(th, prob.arch, prob.penalty)
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


def positive_definite(H: np.ndarray, rtol: float = 1e-6, seed: int = 0) -> tuple[bool, float]:
    """Whether every eigenvalue of ``H`` exceeds ``rtol * max|lambda|``, without an ``eigh``.

    ``max|lambda|`` comes from power iteration on ``H`` (relative change below
    1e-6, at most 200 products); the test is a Cholesky factorization of
    ``H - rtol * max|lambda| * I``, about a tenth of the cost of the
    eigenvalues. Returns the verdict and the estimate of ``max|lambda|``. A
    ``True`` certifies index 0 and nullity 0 at :func:`hessian_spectrum`'s
    threshold (up to the power iteration's accuracy on the threshold itself).

    Examples
    --------
    >>> positive_definite(np.diag([2.0, 1.0]))[0], positive_definite(np.diag([2.0, 0.0]))[0]
    (True, False)
    """
    n = H.shape[0]
    v = np.asarray(np.random.default_rng(seed).standard_normal(size=(n,)))
    lam = 0.0
    for _ in range(200):
        w = H @ v
        new = float(np.linalg.norm(w) / np.linalg.norm(v))
        v = w / (float(np.linalg.norm(w)) or 1e-300)
        if abs(new - lam) <= 1e-6 * new:
            break
        lam = new
    lam = max(lam, new)
    try:
        with _blas_threads(n):
            scipy.linalg.cholesky(H - rtol * lam * np.eye(n), check_finite=False)
    except np.linalg.LinAlgError:
        return False, lam
    return True, lam


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
    or ``diverged`` (rules in the module docstring).

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


@dataclass
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
        T = symmetry_tangents(theta, prob.arch, prob.penalty)
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


@dataclass
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
    th = _flat(theta, prob.arch)
    mv = hvp(th, prob)
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


# --- critical points and saddles ---------------------------------------------


@dataclass
class CriticalPoint:
    """A point where the gradient vanishes, found on purpose (saddles included)."""

    theta: np.ndarray
    objective: float
    grad_norm: float
    n_iter: int
    converged: bool
    method: str
    tol: float
    spectrum: Spectrum | None = None

    @property
    def index(self) -> int | None:
        """Number of negative Hessian eigenvalues."""
        return None if self.spectrum is None else self.spectrum.index

    @property
    def kind(self) -> str:
        """Class of the point (see :func:`classify`)."""
        return classify(self.grad_norm, self.spectrum, grad_tol=self.tol)


def critical_point(
    theta0,
    problem,
    *,
    method: str = "newton",
    tol: float = 1e-9,
    max_iter: int = 200,
    spectrum: bool = True,
) -> CriticalPoint:
    """Find a critical point (minimum, saddle or maximum) near ``theta0``.

    ``method="newton"``: Newton on the gradient, damped as Levenberg-Marquardt
    on ``||grad||^2 / 2``: ``s = -V diag(lambda / (lambda^2 + mu)) V' g`` with
    ``H = V diag(lambda) V'``; ``mu`` shrinks after a step that lowers
    ``||grad||`` and grows otherwise. It converges to the nearby critical
    point whatever its index (dense Hessian: up to a few thousand weights).
    ``method="gradnorm"``: minimize ``||grad||^2 / 2`` by L-BFGS with exact
    ``H g`` products (any size; it may stop at a non-critical minimum of the
    gradient norm, reported as ``converged=False``).

    The search stops when the gradient norm is at most ``tol``.
    """
    prob = as_problem(problem)
    th = _flat(theta0, prob.arch).copy()
    free = prob.free
    it = 0
    if method == "newton":
        g = prob.gradient(th)
        mu = None
        for it in range(1, max_iter + 1):  # noqa: B007
            if np.linalg.norm(g) <= tol:
                break
            lam, V = _eigh(hessian(th, prob))
            mu = mu if mu is not None else 1e-8 * float(np.max(lam**2))
            gt = V.T @ g
            for _ in range(40):
                step = np.zeros_like(th)
                step[free] = -V @ (lam / (lam**2 + mu) * gt)
                g_new = prob.gradient(th + step)
                if np.linalg.norm(g_new) < np.linalg.norm(g):
                    th, g, mu = th + step, g_new, mu / 10
                    break
                mu *= 10
            else:
                break
    elif method == "gradnorm":
        from scipy.optimize import minimize

        mv_args = prob._args

        def fun(x):
            full = th.copy()
            full[free] = x
            _, gfull = _value_grad(jnp.asarray(full), *mv_args)
            hg = np.asarray(_hvp_jit(jnp.asarray(full), gfull, *mv_args))[free]
            gf = np.asarray(gfull)[free]
            return 0.5 * float(gf @ gf), hg

        res = minimize(
            fun,
            th[free],
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": max_iter, "gtol": 0.0, "ftol": 0.5 * tol**2 * 1e-3},
        )
        th[free] = res.x
        it = int(res.nit)
    else:
        raise ValueError(f"Unknown method {method!r}: expected 'newton' or 'gradnorm'.")
    gn = float(np.linalg.norm(prob.gradient(th)))
    spec = hessian_spectrum(th, prob) if spectrum else None
    return CriticalPoint(th, prob.objective(th), gn, it, gn <= tol, method, tol, spec)


@dataclass
class Escape:
    """One escape from a saddle: a step along negative curvature, then a re-fit."""

    theta_saddle: np.ndarray
    objective_saddle: float
    eigenvalue: float
    direction: np.ndarray
    step: float
    objective_after_step: float
    theta: np.ndarray
    objective: float
    grad_norm: float
    status: str
    n_iter: int


def escape_saddle(
    theta,
    problem,
    *,
    step: float | None = None,
    spectrum: Spectrum | None = None,
    tol: float = 1e-6,
    max_iter: int = 5000,
) -> Escape:
    """Leave a saddle along its most negative curvature direction and re-optimize.

    With ``v`` the unit eigenvector of the smallest eigenvalue ``lambda < 0``,
    tries ``theta ± a v`` for ``a = step, step/2, ...`` (``step`` defaults to
    ``max(1, ||theta||) / 2``) and takes the first sign and length that lower
    the objective by at least a quarter of the quadratic prediction
    ``|lambda| a^2 / 2``; then runs nnmle's L-BFGS from there.

    Raises
    ------
    ValueError
        When the smallest eigenvalue is not negative (not a saddle).
    """
    from .fit import run_starts

    prob = as_problem(problem)
    th = _flat(theta, prob.arch)
    spec = spectrum if spectrum is not None and spectrum.eigenvectors is not None else None
    spec = spec or hessian_spectrum(th, prob, k=1)
    lam = spec.lambda_min
    if lam >= -spec.zero_tol:
        raise ValueError(
            f"The smallest Hessian eigenvalue is {lam:.3g} (zero threshold {spec.zero_tol:.2g}): "
            f"no direction of negative curvature, so this is not a saddle. "
            f"Fix: check the point's class with hessian_spectrum first."
        )
    vecs = spec.eigenvectors
    assert vecs is not None  # both branches above keep eigenvectors
    v = np.zeros(prob.arch.n_total)
    v[prob.free] = vecs[:, 0]
    f0 = prob.objective(th)
    a = step if step is not None else max(1.0, float(np.linalg.norm(th))) / 2
    for _ in range(60):
        cands = np.stack([th + a * v, th - a * v])
        vals = prob.objectives(cands)
        j = int(np.nanargmin(vals))
        if vals[j] <= f0 - 0.125 * abs(lam) * a * a:
            break
        a /= 2
    else:
        raise ValueError("No step along the negative-curvature direction lowers the objective.")
    start = cands[j]
    res = run_starts(
        start[None], prob.data, prob.family, prob.arch, prob.penalty, tol, max_iter, workers=1
    )[0]
    return Escape(
        th,
        f0,
        lam,
        v,
        float(a if j == 0 else -a),
        float(vals[j]),
        res.theta,
        res.objective,
        res.grad_norm,
        res.status,
        res.n_iter,
    )


# --- barriers and the non-convexity certificate ------------------------------


def _kept_moves(arch: Architecture, penalty: Penalty | None) -> list[tuple[bool, bool, bool]]:
    """Per hidden layer: (permute, flip, scale) that also keep the *penalized* objective.

    Permutations and odd (tanh, identity) flips keep every penalty; a logistic
    flip moves weight into the next bias (kept unless biases are penalized);
    skip flips and relu/identity rescalings change the weights' norms.
    """
    penalty = penalty or Penalty()
    pen = penalty.l2 > 0 or penalty.l1 > 0
    out = []
    for s in symmetry.group(arch).layers:
        flip = s.flip == "odd" or (
            (s.flip == "logistic" and not (pen and penalty.penalize_bias))
            or (s.flip == "skip" and not pen)
        )
        out.append((s.permute, bool(flip), s.scale and not pen))
    return out


def objective_element(g, arch: Architecture, penalty: Penalty | None):
    """The part of a group element that keeps the penalized objective.

    Drops the sign flips and rescalings the penalty does not tolerate (see
    :func:`_kept_moves`), keeping the permutation. With no penalty ``g`` is
    returned as is.
    """
    parts = []
    for e, (_, flip, scale) in zip(g.layers, _kept_moves(arch, penalty), strict=True):
        signs = e.signs if flip else np.ones_like(e.signs)
        scales = e.scales if scale else np.ones_like(e.scales)
        parts.append(symmetry.LayerElement(e.perm, signs, scales))
    return symmetry.GroupElement(tuple(parts))


def align_theta(
    reference, other, arch: Architecture, penalty: Penalty | None = None
) -> tuple[np.ndarray, Any]:
    """``other`` moved by the group element that brings it closest to ``reference``.

    Uses :func:`nnmle.symmetry.align`, then keeps only the moves that leave the
    penalized objective unchanged (:func:`objective_element`), so the aligned
    point is a true twin. A network without hidden layer is returned as is.
    """
    other = _flat(other, arch)
    if not arch.hidden:
        return other, None
    _, g = symmetry.align(_flat(reference, arch), other, arch)
    g = objective_element(g, arch, penalty)
    return symmetry.act_flat(g, other, arch), g


@dataclass
class Barrier:
    """The objective along the straight path between two weight vectors.

    ``barrier = max_t f((1-t) a + t b) - ((1-t) f(a) + t f(b))``; ``raw`` uses
    ``b`` as given, ``aligned`` the twin of ``b`` closest to ``a``.
    """

    t: np.ndarray
    values_raw: np.ndarray
    barrier_raw: float
    values_aligned: np.ndarray | None
    barrier_aligned: float | None
    f_a: float
    f_b: float
    element: Any = None

    @property
    def chord(self) -> np.ndarray:
        """The straight line ``(1-t) f(a) + t f(b)``."""
        return (1 - self.t) * self.f_a + self.t * self.f_b

    def to_dict(self) -> dict:
        """Plain data."""
        return {
            "t": self.t.tolist(),
            "values_raw": self.values_raw.tolist(),
            "barrier_raw": self.barrier_raw,
            "values_aligned": None if self.values_aligned is None else self.values_aligned.tolist(),
            "barrier_aligned": self.barrier_aligned,
            "f_a": self.f_a,
            "f_b": self.f_b,
        }


def loss_barrier(a, b, problem, steps: int = 25, align: bool = True) -> Barrier:
    """Loss barrier between ``a`` and ``b`` along the straight path, raw and aligned.

    Parameters
    ----------
    a, b : array-like, Params, or objects with ``.theta`` (starts, solutions)
    problem : FitResult, Campaign or Problem
    steps : int
        Points on the path, ends included.
    align : bool
        Also measure the path to ``b``'s twin aligned to ``a``
        (:func:`nnmle.symmetry.align`).

    Returns
    -------
    Barrier
        A positive barrier along a straight segment between two points proves
        the objective is not convex there; for a convex objective (a GLM)
        both barriers are <= 0.
    """
    prob = as_problem(problem)
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (the two ends); got {steps}.")
    ta, tb = _flat(a, prob.arch), _flat(b, prob.arch)
    t = np.linspace(0.0, 1.0, steps)

    def path(end):
        vals = prob.objectives((1 - t)[:, None] * ta + t[:, None] * end)
        return vals, float(np.max(vals - ((1 - t) * vals[0] + t * vals[-1])))

    raw, bar_raw = path(tb)
    aligned, bar_al, g = None, None, None
    if align:
        tb_al, g = align_theta(ta, tb, prob.arch, prob.penalty)
        aligned, bar_al = path(tb_al)
    return Barrier(t, raw, bar_raw, aligned, bar_al, float(raw[0]), float(raw[-1]), g)


@dataclass
class NonConvexityCertificate:
    """Two twins of one point and their midpoint: ``f(mid) > f(theta) = f(twin)``.

    If ``f`` were convex, ``f((a + b)/2) <= (f(a) + f(b))/2``; a midpoint
    strictly higher than two points of equal objective proves it is not.
    """

    theta: np.ndarray
    twin: np.ndarray
    element: str
    f_theta: float
    f_twin: float
    f_midpoint: float

    @property
    def gap(self) -> float:
        """``f(midpoint) - max(f(theta), f(twin))``: positive proves non-convexity."""
        return self.f_midpoint - max(self.f_theta, self.f_twin)

    @property
    def holds(self) -> bool:
        """Whether the gap exceeds the rounding error of the objective."""
        return self.gap > 1e-9 * max(1.0, abs(self.f_theta))

    def __str__(self) -> str:
        return (
            f"twin by {self.element}: f(theta) = {self.f_theta:.6g}, f(twin) = {self.f_twin:.6g}, "
            f"f(midpoint) = {self.f_midpoint:.6g} (+{self.gap:.4g}): "
            + ("the objective is not convex" if self.holds else "no certificate")
        )


def _twins(th: np.ndarray, arch: Architecture, penalty: Penalty) -> list[tuple[str, np.ndarray]]:
    """Images of ``th`` under each transposition and each sign flip that keep the objective."""
    base = list(symmetry.identity(arch).layers)
    out = []
    for l, (permute, flip, _) in enumerate(_kept_moves(arch, penalty)):
        width = arch.hidden[l]
        layer = f"layer {l + 1} " if len(arch.hidden) > 1 else ""
        ones = np.ones(width)
        moves = []
        if permute:
            for i, j in itertools.combinations(range(width), 2):
                perm = np.arange(width)
                perm[[i, j]] = perm[[j, i]]
                moves.append((f"swapping hidden units {layer}{i + 1} and {j + 1}", perm, ones))
        if flip:
            for j in range(width):
                signs = ones.copy()
                signs[j] = -1.0
                desc = f"flipping the sign of hidden unit {layer}{j + 1}"
                moves.append((desc, np.arange(width), signs))
        for desc, perm, signs in moves:
            parts = list(base)
            parts[l] = symmetry.LayerElement(perm, signs, ones)
            out.append((desc, symmetry.act_flat(symmetry.GroupElement(tuple(parts)), th, arch)))
    return out


def nonconvexity_certificate(theta, problem) -> NonConvexityCertificate | None:
    """Prove on the user's data that the objective is not convex.

    Among the twins of ``theta`` by one transposition or sign flip of hidden
    units that keep the penalized objective (:func:`objective_element`),
    picks the one whose midpoint with ``theta`` has the highest objective.
    Returns ``None`` for a network without hidden units (a GLM: convex).
    """
    prob = as_problem(problem)
    th = _flat(theta, prob.arch)
    twins = _twins(th, prob.arch, prob.penalty)
    if not twins:
        return None
    mids = np.stack([(th + x) / 2 for _, x in twins])
    f_mid = prob.objectives(mids)
    best = int(np.nanargmax(f_mid))
    desc, twin = twins[best]
    return NonConvexityCertificate(
        th, twin, desc, prob.objective(th), prob.objective(twin), float(f_mid[best])
    )


# --- a known example: the linear autoencoder ----------------------------------


def _squared_error_family() -> Family:
    def zeros_n(Y):
        return jnp.zeros(Y.shape[0])

    return Family(
        "squared_error",
        "identity",
        lambda eta: eta,
        lambda eta, Y: 0.5 * jnp.sum((Y - eta) ** 2, axis=-1),
        lambda Y, w: jnp.asarray(0.0),
        zeros_n,
        lambda Y, w: jnp.sum(w[:, None] * Y, axis=0) / jnp.sum(w),
    )


@dataclass(eq=False)
class LinearAutoencoder:
    """``x -> x W1 W2`` with ``p < d`` identity hidden units, no biases, squared error.

    With ``S = X'X = U diag(lam) U'`` (``lam`` descending), every subset ``I``
    of at most ``p`` principal directions gives critical points
    ``W1 = U_I C``, ``W2 = C^-1 U_I'`` (rank ``|I|`` padded with zero units)
    with objective ``(sum(lam) - sum(lam_I)) / 2``; only the top-``p``
    subset is a minimum (Baldi and Hornik, 1989).
    """

    problem: Problem
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray

    @property
    def p(self) -> int:
        """Hidden units."""
        return self.problem.arch.hidden[0]

    def critical_value(self, subset: Sequence[int]) -> float:
        """Objective at the critical points of ``subset`` (0-based, descending order)."""
        return 0.5 * float(self.eigenvalues.sum() - self.eigenvalues[list(subset)].sum())

    def critical_values(self) -> np.ndarray:
        """Objective of every subset of at most ``p`` directions, ascending and unique."""
        d = self.eigenvalues.size
        subsets = itertools.chain.from_iterable(
            itertools.combinations(range(d), r) for r in range(self.p + 1)
        )
        return np.unique([self.critical_value(s) for s in subsets])


def linear_autoencoder(X, n_hidden: int) -> LinearAutoencoder:
    """The linear autoencoder of ``X`` (rows are reconstructed) as a landscape problem."""
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    if not 1 <= n_hidden < d:
        raise ValueError(
            f"n_hidden must be in [1, {d - 1}] (fewer units than inputs); got {n_hidden}."
        )
    arch = Architecture.build(d, (n_hidden,), d, "identity", bias=False)
    data = Data(jnp.asarray(X), jnp.asarray(X), jnp.ones(X.shape[0]))
    lam, U = np.linalg.eigh(X.T @ X)
    return LinearAutoencoder(Problem(data, _squared_error_family(), arch), lam[::-1], U[:, ::-1])


# --- how optimizers stall near saddles ----------------------------------------


@dataclass
class SaddleStudy:
    """Trajectories of several optimizers from the same starts, and their stalls.

    An iteration *stalls* when the gradient norm is at most ``grad_tol`` while
    the objective is more than ``saddle_gap`` above ``f_star``: the optimizer
    creeps past a critical point that is not the best one. A run *reaches*
    the optimum at the first iteration with ``f <= f_star + f_tol``.
    ``rows`` holds one summary per optimizer: runs, runs that stalled (an
    episode of at least ``min_stall`` consecutive stalled iterations), stall
    episodes, mean stalled iterations per run, runs that reached the optimum,
    mean iterations to reach it, seconds, and the known critical values the
    episodes sat at. Trajectories stop once the gradient norm is at most
    ``stop_tol`` (or L-BFGS makes no progress for 20 iterations) and are
    padded with their last value.
    """

    objectives: dict[str, np.ndarray]
    grad_norms: dict[str, np.ndarray]
    f_star: float
    f_tol: float
    saddle_gap: float
    grad_tol: float
    min_stall: int
    rows: list[dict]


def _optimizer(name: str, lr: float):
    if name == "gd":
        return optax.sgd(lr)
    if name == "adam":
        return optax.adam(lr)
    if name == "lbfgs":
        return optax.lbfgs(linesearch=optax.scale_by_zoom_linesearch(max_linesearch_steps=30))
    raise ValueError(f"Unknown optimizer {name!r}: expected 'gd', 'adam' or 'lbfgs'.")


@functools.partial(jax.jit, static_argnames=("name", "n_iter", *_STATIC))
def _trajectories(thetas0, lr, stop_tol, name, n_iter, data, family, arch, penalty):
    def f(th):
        return objective(th, data, family, arch, penalty)

    opt = _optimizer(name, lr)
    lbfgs = name == "lbfgs"
    vg = optax.value_and_grad_from_state(f) if lbfgs else jax.value_and_grad(f)

    def run(theta0):
        def cond(c):
            return (c[2] < n_iter) & ~c[6]

        def body(c):
            th, st, i, vals, gns, stall, _ = c
            value, grad = vg(th, state=st) if lbfgs else vg(th)
            gn = jnp.linalg.norm(grad)
            vals, gns = vals.at[i].set(value), gns.at[i].set(gn)
            upd, st = opt.update(grad, st, th, value=value, grad=grad, value_fn=f)
            prev = vals[jnp.maximum(i - 1, 0)]
            stall = jnp.where(lbfgs & (i > 0) & (value >= prev), stall + 1, 0)
            done = (gn <= stop_tol) | ~jnp.isfinite(value) | (stall >= 20)
            return optax.apply_updates(th, upd), st, i + 1, vals, gns, stall, done

        nan = jnp.full(n_iter, jnp.nan, dtype=theta0.dtype)
        init = (theta0, opt.init(theta0), 0, nan, nan, 0, False)
        _, _, i, vals, gns, _, _ = jax.lax.while_loop(cond, body, init)
        used = jnp.arange(n_iter) < i
        return jnp.where(used, vals, vals[i - 1]), jnp.where(used, gns, gns[i - 1])

    return jax.vmap(run)(thetas0)


def saddle_study(
    problem,
    thetas0,
    *,
    optimizers: Sequence[str] = ("gd", "adam", "lbfgs"),
    n_iter: int = 2000,
    learning_rates: dict | None = None,
    f_star: float | None = None,
    f_tol: float | None = None,
    saddle_gap: float | None = None,
    grad_tol: float | None = None,
    stop_tol: float = 1e-8,
    min_stall: int = 10,
    critical_values=None,
) -> SaddleStudy:
    """Run gradient descent, Adam and L-BFGS from the same starts; measure stalls near saddles.

    Parameters
    ----------
    problem : Problem
    thetas0 : ndarray (K, n_total)
        Starting weights (small ones start next to the saddle at the origin).
    optimizers : sequence of {"gd", "adam", "lbfgs"}
    n_iter : int
        Iterations per run (an L-BFGS iteration includes its line search).
    learning_rates : dict
        ``{"gd": ..., "adam": ...}``; gradient descent defaults to
        ``1 / lambda_max`` of the Hessian at the lowest L-BFGS end point, Adam to 0.01.
    f_star, f_tol : float
        The optimum (default: the lowest objective any run reached) and the
        tolerance for reaching it (default ``1e-6 * max(1, |f_star|)``).
    saddle_gap : float
        Stalls count only more than this above ``f_star`` (default
        ``1e-3 * max(1, |f_star|)``), so the slow final approach to the
        optimum is not taken for a saddle.
    grad_tol : float
        Stationary iterations: gradient norm at most this (default ``1e-3``
        times the median over runs of the largest gradient norm).
    stop_tol : float
        A run stops when its gradient norm is at most this.
    min_stall : int
        Shortest episode of consecutive stalled iterations that counts.
    critical_values : array-like, optional
        Known critical objective values; each episode is attributed to the nearest.

    Returns
    -------
    SaddleStudy
    """
    prob = as_problem(problem)
    thetas0 = jnp.asarray(np.atleast_2d(thetas0), dtype=jnp.float64)
    lrs = {"adam": 1e-2, **(learning_rates or {})}
    objs, gns, secs = {}, {}, {}
    for name in sorted(optimizers, key=lambda o: o != "lbfgs"):
        if name == "gd" and "gd" not in lrs:
            end = _trajectory_end(prob, thetas0, n_iter)
            lrs["gd"] = 1.0 / hessian_spectrum(end, prob, vectors=False).lambda_max
        t0 = time.perf_counter()
        v, g = _trajectories(thetas0, lrs.get(name, 0.0), stop_tol, name, n_iter, *prob._args)
        objs[name], gns[name] = np.asarray(v), np.asarray(g)
        secs[name] = time.perf_counter() - t0
    fs = float(min(np.nanmin(o) for o in objs.values())) if f_star is None else float(f_star)
    ft = 1e-6 * max(1.0, abs(fs)) if f_tol is None else f_tol
    gap = 1e-3 * max(1.0, abs(fs)) if saddle_gap is None else saddle_gap
    peaks = np.concatenate([np.nanmax(g, axis=1) for g in gns.values()])
    gt = grad_tol if grad_tol is not None else 1e-3 * float(np.median(peaks))
    cv = None if critical_values is None else np.asarray(critical_values, dtype=float)
    rows = [
        _stall_row(name, objs[name], gns[name], fs, ft, gap, gt, min_stall, cv)
        | {"learning_rate": lrs.get(name), "seconds": secs[name]}
        for name in optimizers
    ]
    return SaddleStudy(objs, gns, fs, ft, gap, gt, min_stall, rows)


def _stall_row(name, o, g, fs, ft, gap, gt, min_stall, cv) -> dict:
    stalled = (g <= gt) & (o > fs + gap)
    episodes, visited = [], set()
    for r in range(o.shape[0]):
        for ok, grp in itertools.groupby(enumerate(stalled[r]), key=lambda e: e[1]):
            its = [i for i, _ in grp]
            if ok and len(its) >= min_stall:
                episodes.append((r, len(its)))
                if cv is not None:
                    visited.add(float(cv[np.argmin(np.abs(cv - o[r, its[0]]))]))
    reached = o <= fs + ft
    first = [int(np.argmax(rr)) for rr in reached if rr.any()]
    return {
        "optimizer": name,
        "runs": int(o.shape[0]),
        "runs_stalled": len({r for r, _ in episodes}),
        "stall_episodes": len(episodes),
        "mean_stalled_iters": float(sum(n for _, n in episodes) / o.shape[0]),
        "runs_reached": len(first),
        "mean_iters_to_reach": float(np.mean(first)) if first else None,
        "critical_values_visited": sorted(visited),
    }


def _trajectory_end(prob: Problem, thetas0, n_iter: int) -> np.ndarray:
    """The end point of the L-BFGS run (fit engine) with the lowest objective."""
    from .fit import run_starts

    args = (prob.data, prob.family, prob.arch, prob.penalty)
    res = run_starts(np.asarray(thetas0), *args, 1e-10, n_iter, workers=1)
    return min(res, key=lambda r: r.objective).theta
