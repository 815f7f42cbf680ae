"""Stationarity of a piecewise-smooth (relu) objective: the generalized gradient at kinks.

With relu units ``f(theta) = sum_i w_i loss_i + l2 |theta|_P^2`` is piecewise smooth. A
minimum of a finite sum typically sits *on* kinks, entries (row ``i``, unit ``j``) with
pre-activation ``z_ij = 0``, where the gradient jumps and does not vanish: L-BFGS ends
``stalled`` or ``max_iter`` and a gradient-norm test says "not converged" at a minimum.

:func:`kink_stationarity` gives relu a free slope ``s_ij in [0, 1]`` (its Clarke
subdifferential at 0) at every kink entry, ``1[z > 0]`` elsewhere, and reports the norm of
the minimal-norm element of ``{g(s) : s_K in [0, 1]^K}`` on the free coordinates (``g(s)``
the gradient under these slopes): 0 at a Clarke-stationary point. ``g`` is affine in one
layer's slopes (a backward path crosses each layer once), so the set is exact when the
kinks lie in one hidden layer; with kinks in several layers ``g`` is multilinear and is
replaced by its linearization at the observed slopes (``exact=False``).
``min |g0 + J (s - s0)|, 0 <= s <= 1``, ``J = dg/ds_K`` (column ``(i, j)``: one
forward-over-reverse pass on row ``i``) is solved by :func:`scipy.optimize.lsq_linear`.

Kinks: ``|z_ij| <= eps_l = rtol * max(1, median |z_l|)`` (hidden layer ``l``, real rows of
positive weight). Measured at stalled L-BFGS ends, relative to ``max(1, median)``: kinks
<= 3e-11 and the next entry >= 4e-5 (teacher-student relu, 10,000 rows); kinks <= 4e-8,
next >= 6e-7 (a 20,000-row regression); a continuum from 1e-16 to ~1e-6 at worse-settled
ends (breast cancer, 569 rows). ``rtol = 1e-6`` covers them; a fraction ~``0.8 rtol`` of a
unit-scale layer's entries falls below it by chance, and such an entry only widens the set
to gradients within ``|z| <= eps`` (Goldstein's eps-subdifferential), never narrows it.

L-BFGS stops *at* the kinks (``|z| ~ 1e-12``) but not yet at the minimum *along* them
(generalized gradient 2e-5 to 1.4e-2 at teacher-student minima); :func:`polish_kinks` takes
Newton steps on the kink manifold, after which it was ~1e-12. Stationarity is necessary,
not sufficient, for a minimum. An L1 penalty (kinks of its own) is out of scope: the
check is then not done.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import lsq_linear

from ..networks import Architecture, activation_fn, effective, unravel
from ..penalties import smooth_penalty
from ..problem import flat_theta
from ._saddle import blas_threads

__all__ = ["DEFAULT_RTOL", "KinkCheck", "has_kinks", "kink_stationarity", "polish_kinks"]

#: Kink threshold relative to ``max(1, median |z|)`` of a layer (module docstring).
DEFAULT_RTOL = 1e-6
#: Most kink entries examined; beyond it the check is not done.
MAX_KINKS = 4000
_MAX_J_ENTRIES = 4_000_000  # dense dg/ds_K: 32 MB; BVLS took ~1 min at 1000 x 4000


@dataclass(frozen=True)
class KinkCheck:
    """The generalized gradient of a piecewise-smooth objective at one point.

    Attributes
    ----------
    grad_norm : float
        Gradient norm on the free coordinates (relu'(0) = 0, as the solvers).
    generalized_grad_norm : float
        Norm of the minimal-norm element of ``{g(s) : s_K in [0, 1]^K}``; ``nan`` when
        ``done`` is False; ``grad_norm`` when there is no kink.
    n_kinks : int
        Number of kink entries.
    eps : tuple of float
        Kink threshold of each hidden layer (0.0 for a layer without relu).
    gap : tuple of float
        Largest ``|z| / max(1, median |z|)`` counted as a kink and smallest not counted
        (``nan`` when none): a wide gap says the kinks are unambiguous.
    exact : bool
        Whether the set is exact (kinks in at most one layer), not linearized.
    done : bool
        Whether the check was carried out; if not, ``note`` says why.
    note : str
    kinks : ndarray of int, shape (n_kinks, 3)
        ``(layer, row, unit)`` of each kink entry.
    slopes : ndarray, shape (n_kinks,)
        The minimizing slopes ``s*``.
    generalized_grad : ndarray, shape (n_total,)
        The minimal-norm element ``g(s*)``, full length (exactly 0 on frozen entries);
        ``nan`` when not done.
    """

    grad_norm: float
    generalized_grad_norm: float
    n_kinks: int
    eps: tuple[float, ...]
    gap: tuple[float, float]
    exact: bool
    done: bool
    note: str
    kinks: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), int), repr=False)
    slopes: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    generalized_grad: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    def stationary(self, tol: float) -> bool | None:
        """``generalized_grad_norm <= tol``, or None when the check was not done."""
        return bool(self.generalized_grad_norm <= tol) if self.done else None

    def to_dict(self) -> dict:
        """Plain-Python view (without the arrays)."""
        names = ("grad_norm", "generalized_grad_norm", "n_kinks", "exact", "done", "note")
        return {n: getattr(self, n) for n in names} | {"eps": [*self.eps], "gap": [*self.gap]}


def has_kinks(arch: Architecture) -> bool:
    """Whether any hidden layer is relu (the objective is then only piecewise smooth).

    Examples
    --------
    >>> has_kinks(Architecture.build(2, (3, 2), activation=("tanh", "relu")))
    True
    """
    return "relu" in arch.activation


def _forward(theta, X, arch: Architecture, slopes):
    """The linear predictor and the hidden pre-activations, relu's derivative ``slopes[l]``.

    ``sg(relu(z)) + s * (z - sg(z))`` (``sg`` = stop_gradient) has the value ``relu(z)``
    exactly (``z - z == 0``), derivative ``s`` in ``z`` and no tangent in ``s``: the slopes
    move the gradient, never the fitted values. ``slopes[l] is None``: the plain activation.
    """
    params = unravel(effective(theta, arch), arch)
    h, sg = X, jax.lax.stop_gradient
    zs: list[jax.Array] = []
    for l, layer in enumerate(params.layers):
        z = h @ layer.W + layer.b
        if l == len(arch.hidden):
            return (z + X @ params.skip if arch.skip else z), zs
        zs.append(z)
        if slopes[l] is None:
            h = activation_fn(arch.activation[l])(z)
        else:
            h = sg(jax.nn.relu(z)) + slopes[l] * (z - sg(z))


def _loss(theta, problem, X, Y, w, slopes, offset=None):
    eta = _forward(theta, X, problem.arch, slopes)[0]
    eta = eta if offset is None else eta + offset
    return jnp.sum(w * problem.family.loss_obs(eta, Y))


def _hidden_z(theta, X, arch: Architecture):
    return _forward(theta, X, arch, (None,) * len(arch.hidden))[1]


@jax.jit
def _pre_activations(theta, problem):
    return _hidden_z(theta, problem.data.X, problem.arch)


@jax.jit
def _gradient(theta, problem, slopes):
    d, arch = problem.data, problem.arch

    def f(th):
        pen = smooth_penalty(effective(th, arch), arch, problem.penalty)
        return _loss(th, problem, d.X, d.Y, d.w, slopes, d.offset) + pen

    return jax.grad(f)(theta)


@functools.partial(jax.jit, static_argnames=("batch",))
def _columns(theta, problem, slopes, layer, row, unit, batch):
    """``dg / ds_(layer, row, unit)`` for each kink: one jvp on one row each."""
    d = problem.data

    def column(l, i, j):
        s_row = tuple(None if s is None else s[i][None] for s in slopes)
        t_row = tuple(
            None if s is None else jnp.where(l == k, jax.nn.one_hot(j, s.shape[1]), 0.0)[None]
            for k, s in enumerate(slopes)
        )

        def g(s):
            o = None if d.offset is None else d.offset[i][None]
            return jax.grad(_loss)(theta, problem, d.X[i][None], d.Y[i][None], d.w[i][None], s, o)

        return jax.jvp(g, (s_row,), (t_row,))[1]

    return jax.lax.map(lambda a: column(*a), (layer, row, unit), batch_size=batch)


def _index(kinks):
    """Kink indices, padded with the first kink to a power of two (fewer compilations)."""
    size = max(8, 1 << (len(kinks) - 1).bit_length())
    padded = np.concatenate([kinks, np.repeat(kinks[:1], size - len(kinks), axis=0)])
    return [jnp.asarray(padded[:, c], jnp.int32) for c in range(3)]


@jax.jit
def _constraints(theta, problem, layer, row, unit):
    """Each kink's ``z`` and its gradient in ``theta`` (the kink manifold's equations)."""
    offsets = jnp.asarray(np.cumsum((0, *problem.arch.hidden))[:-1])

    def z_one(th, l, i, j):
        zs = _hidden_z(th, problem.data.X[i][None], problem.arch)
        return jnp.concatenate([z[0] for z in zs])[offsets[l] + j]

    return jax.vmap(jax.value_and_grad(z_one), (None, 0, 0, 0))(theta, layer, row, unit)


def kink_stationarity(
    problem, theta, *, rtol: float = DEFAULT_RTOL, max_kinks: int = MAX_KINKS
) -> KinkCheck:
    """The generalized (Clarke) gradient norm of the objective at ``theta``.

    Parameters
    ----------
    problem : Problem
        With data; an L2 penalty is included, an L1 penalty is out of scope.
    theta : array or Params
        Flat weights (:func:`~nnmle.networks.ravel` order) or a :class:`Params`.
    rtol : float
        Kink threshold: ``|z_ij| <= rtol * max(1, median |z_l|)`` in hidden layer ``l``.
    max_kinks : int
        Most kink entries examined; with more the check is not done (``done=False``).

    Returns
    -------
    KinkCheck
        ``generalized_grad_norm``: exact for kinks in one layer, linearized in the
        slopes otherwise; compare it with the solver's ``tol``.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.families import get_family
    >>> from nnmle.problem import Problem
    >>> X = np.array([[1.0], [2.0]]); Y = np.array([[1.0], [0.0]])
    >>> arch = Architecture.build(1, (1,), activation="relu")
    >>> prob = Problem.build(X, Y, np.ones(2), get_family("gaussian"), arch)
    >>> theta = np.array([1.0, -1.0, 1.0, 0.0])   # z = x - 1: row 0 on the kink
    >>> chk = kink_stationarity(prob, theta)     # g(s) = (2 - s, 1 - s, 1, 0), best s = 1
    >>> chk.n_kinks, round(chk.grad_norm, 4), round(chk.generalized_grad_norm, 4)
    (1, 2.4495, 1.4142)
    """
    data, arch = problem.require_data(), problem.arch
    th = jnp.asarray(flat_theta(theta, arch))
    free = arch.free_mask()
    real = np.zeros(data.X.shape[0], bool)
    real[: problem.n_obs] = np.asarray(data.w)[: problem.n_obs] > 0
    eps: list[float] = []
    s_np: list[np.ndarray | None] = []
    parts: list[np.ndarray] = []
    at: list[np.ndarray] = []  # the observed slopes s0 at the kinks
    inside: list[float] = []
    outside: list[float] = []
    for l, z in enumerate(np.asarray(z) for z in _pre_activations(th, problem)):
        if arch.activation[l] != "relu":
            eps.append(0.0)
            s_np.append(None)
            continue
        scale = max(1.0, float(np.median(np.abs(z[real])))) if real.any() else 1.0
        eps.append(rtol * scale)
        s_np.append((z > 0).astype(np.float64))
        az = np.abs(z[real]) / scale
        is_kink = az <= rtol
        inside += [az[is_kink].max()] if is_kink.any() else []
        outside += [az[~is_kink].min()] if not is_kink.all() else []
        rows, units = np.nonzero((np.abs(z) <= eps[-1]) & real[:, None])
        parts.append(np.column_stack([np.full(rows.size, l), rows, units]))
        at.append((z[rows, units] > 0).astype(np.float64))
    slopes = tuple(None if s is None else jnp.asarray(s) for s in s_np)
    gap = (float(max(inside, default=np.nan)), float(min(outside, default=np.nan)))
    kinks = np.concatenate(parts) if parts else np.zeros((0, 3), int)
    g_full = np.asarray(_gradient(th, problem, slopes))
    g0 = g_full[free]
    K, gnorm = kinks.shape[0], float(np.linalg.norm(g0))
    layers = sorted(set(kinks[:, 0].tolist()))

    def result(vec, done, note, s=None):
        s, gen = np.zeros(0) if s is None else s, float(np.linalg.norm(vec[free]))
        exact = len(layers) <= 1
        return KinkCheck(gnorm, gen, K, tuple(eps), gap, exact, done, note, kinks, s, vec)

    nan = np.full(arch.n_total, np.nan)
    if problem.penalty.l1 > 0:
        return result(nan, False, "an L1 penalty is out of scope: not checked")
    if not has_kinks(arch):
        return result(g_full, True, "no relu unit: the objective is smooth")
    if K == 0:
        return result(g_full, True, "no kink entry: the gradient is the generalized gradient")
    limit = min(max_kinks, _MAX_J_ENTRIES // max(1, int(free.sum())))
    if K > limit:
        return result(nan, False, f"{K} kink entries, over the limit {limit}: not checked")
    batch = int(np.clip(2_000_000 // max(1, arch.n_total * sum(arch.sizes)), 1, 512))
    J = np.asarray(_columns(th, problem, slopes, *_index(kinks), batch=batch))[:K].T
    s0 = np.concatenate(at)
    with blas_threads(int(free.sum())):
        fit = lsq_linear(J[free], J[free] @ s0 - g0, bounds=(0.0, 1.0), method="bvls", tol=1e-12)
    s = np.clip(fit.x, 0.0, 1.0)
    where = ", ".join(f"layer {l + 1}" for l in layers)
    note = f"{K} kink entries ({where})" + ("" if len(layers) <= 1 else "; slopes linearized")
    return result(g_full + J @ (s - s0), True, note, s)


def polish_kinks(
    problem, theta, *, steps: int = 20, gtol: float = 1e-10, rtol: float = DEFAULT_RTOL,
    max_kinks: int = MAX_KINKS, max_params: int = 2000,
) -> tuple[np.ndarray, KinkCheck]:  # fmt: skip
    """Newton steps on the kink manifold ``{z_K(theta) = 0}``, then :func:`kink_stationarity`.

    A step solves ``[H A'; A 0] [d; mu] = -[g; z_K]`` (``H``: Hessian of the smooth
    objective, ``A = dz_K/dtheta``) for all kinks and for those with ``0 < s* < 1``, and
    keeps the better if, backtracked, it lowers the objective (or, at an equal one, the
    generalized gradient); it stops at ``generalized_grad_norm <= gtol``. The returned
    weights never have a higher objective than ``theta``.

    Parameters
    ----------
    problem, theta, rtol, max_kinks
        As in :func:`kink_stationarity`.
    steps : int
        Most Newton steps.
    gtol : float
        Stop once ``generalized_grad_norm <= gtol``.
    max_params : int
        No step with more free weights (the dense Hessian).

    Returns
    -------
    theta : ndarray
        The polished weights (a copy of ``theta`` when no step was kept).
    check : KinkCheck
        :func:`kink_stationarity` at the returned weights.
    """
    free = problem.arch.free_mask()
    th = flat_theta(theta, problem.arch).copy()
    check = kink_stationarity(problem, th, rtol=rtol, max_kinks=max_kinks)
    f = problem.objective(th)
    for _ in range(steps):
        if not check.done or check.n_kinks == 0 or free.sum() > max_params:
            break
        if check.generalized_grad_norm <= gtol:
            break
        inner = (check.slopes > 1e-6) & (check.slopes < 1 - 1e-6)
        H, g = problem.hessian(th), problem.gradient(th)  # once for both candidate steps
        tries = [
            _newton_step(problem, th, f, k, free, H, g) for k in (check.kinks, check.kinks[inner])
        ]
        tries = [t for t in tries if t is not None]
        if not tries:
            break
        new, f_new = min(tries, key=lambda t: t[1])
        new_check = kink_stationarity(problem, new, rtol=rtol, max_kinks=max_kinks)
        if not (f_new < f or new_check.generalized_grad_norm < check.generalized_grad_norm):
            break
        th, f, check = new, f_new, new_check
    return th, check


def _newton_step(problem, th, f, kinks, free, H, g):
    """A backtracked Newton step on ``{z_kinks = 0}`` (``H``, ``g``: the Hessian and gradient
    at ``th``): ``(theta, f)``, or None."""
    if len(kinks) == 0:
        return None
    z, A = (
        np.asarray(a)[: len(kinks)] for a in _constraints(jnp.asarray(th), problem, *_index(kinks))
    )
    A = A[:, free]
    kkt = np.block([[H, A.T], [A, np.zeros((len(z), len(z)))]])
    rhs = -np.concatenate([g, z])
    step = np.zeros_like(th)
    with blas_threads(kkt.shape[0]):  # multithreaded BLAS measured 100x slower on 110 x 110
        step[free] = np.linalg.lstsq(kkt, rhs, rcond=None)[0][: free.sum()]
    for _ in range(20):  # backtrack: never a higher objective
        f_new = problem.objective(th + step)
        if f_new <= f:
            return th + step, f_new
        step /= 2
    return None
