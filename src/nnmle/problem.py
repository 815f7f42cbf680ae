"""The estimation problem ``(data, family, arch, penalty)`` and its only compiled kernels.

Every feature of nnmle takes a :class:`Problem`: the objective

    f(theta) = sum_i w_i * loss(eta_i(theta), y_i) + l2 * sum_P theta_j^2 + l1 * sum_P |theta_j|,
    eta_i(theta) = f(x_i; theta) + offset_i

(:mod:`nnmle.families` for ``loss``, :mod:`nnmle.penalties` for the penalized
set ``P``), its gradient, Hessian-vector products, dense Hessians, the Fisher
information ``J'WJ`` and the fit statistics are computed here and nowhere else.

A :class:`Problem` is a registered JAX pytree: the data arrays, the penalty's
``l2``/``l1`` and the number of rows are *leaves* (traced under ``jit``), the
family and architecture are static. So a new penalty value, new case weights
(bootstrap, cross-validation) or a new data set of the same bucketed size reuse
every compiled function.

Row buckets
-----------
Data are padded with rows of case weight zero (``X = 0``, ``Y = 0``) to the
next size in :func:`bucket_rows` (``m * 2^k`` with ``8 <= m <= 15``: at most
12.5% padding), so folds of 455 and 456 rows share one compilation. A padded
row adds exactly ``0 * loss`` to every sum: results are those of the unpadded
data up to the order of floating-point summation (tested to 1e-12).

Offsets
-------
An offset (``Data.offset``, shape ``(rows, n_outputs)``, padded like the rows)
is added to the network's output before the loss, in every kernel: it is a
data array, so a new offset of the same bucketed size compiles nothing. Its
columns for a family's extra outputs (the negative binomial's ``log(alpha)``)
are zero. A problem without offset has ``Data.offset = None``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .data import Data, Design, family_architecture, offset_matrix, prepare
from .families import Family, get_family
from .networks import Architecture, Params, activation_fn, effective, linear_predictor, ravel
from .penalties import Penalty, penalized_mask, penalty_value, smooth_penalty

__all__ = [
    "Problem",
    "as_problem",
    "STATISTICS",
    "bucket_rows",
    "data_eta",
    "fit_statistics",
    "flat_theta",
    "negloglik",
    "objective",
    "smooth_objective",
]


def bucket_rows(n: int) -> int:
    """The padded number of rows for ``n`` rows: 16, or the smallest ``m * 2^k >= n``, m in 8..15.

    Examples
    --------
    >>> [bucket_rows(n) for n in (3, 17, 455, 456, 569)]
    [16, 18, 480, 480, 576]
    """
    if n <= 16:
        return 16
    k = max(0, math.floor(math.log2(n)) - 3)
    m = -(-n // 2**k)  # ceil(n / 2^k), in 8..16
    return m * 2**k


def _pad(a: np.ndarray, rows: int) -> np.ndarray:
    extra = rows - a.shape[0]
    if extra <= 0:
        return a
    return np.concatenate([a, np.zeros((extra,) + a.shape[1:], dtype=a.dtype)])


@jax.tree_util.register_pytree_node_class
@dataclass(frozen=True, eq=False)
class Problem:
    """Data, likelihood family, architecture and penalty: the objective of a fit.

    Build one with :meth:`build` (which validates shapes and pads the rows to a
    bucket); ``data`` holds the padded arrays and ``n_obs`` the number of real
    rows (the first ``n_obs``). A problem without data (a model loaded from a
    file) can still predict; anything needing data raises a ``ValueError``.

    Attributes
    ----------
    data : Data or None
    family : Family
    arch : Architecture
    penalty : Penalty
    n_obs : int
    """

    data: Data | None
    family: Family
    arch: Architecture
    penalty: Penalty = dataclasses.field(default_factory=Penalty)
    n_obs: Any = 0

    # -- pytree protocol: arrays, penalty and n_obs are leaves; family, arch static
    def tree_flatten(self):
        return (self.data, self.penalty, self.n_obs), (self.family, self.arch)

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(children[0], aux[0], aux[1], children[1], children[2])

    # -- construction
    @classmethod
    def build(
        cls,
        X,
        Y,
        w,
        family: Family,
        arch: Architecture,
        penalty: Penalty | None = None,
        pad: bool = True,
        offset=None,
    ) -> Problem:
        """A problem from validated arrays, rows padded to :func:`bucket_rows` (zero weight).

        ``offset`` (``(n,)``, added to every mean output, or ``(n, n_outputs)``)
        is added to the linear predictor; ``None`` means no offset.

        Examples
        --------
        >>> import numpy as np
        >>> from nnmle.families import get_family
        >>> p = Problem.build(np.ones((5, 2)), np.zeros((5, 1)), np.ones(5),
        ...                   get_family("gaussian"), Architecture.build(2, hidden=()))
        >>> p.n_obs, p.data.X.shape
        (5, (16, 2))
        """
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64)
        n = X.shape[0]
        if Y.shape[0] != n or w.shape != (n,):
            raise ValueError(
                f"X, Y and w must have one row per observation; got {X.shape}, {Y.shape}, "
                f"{w.shape}. Fix: pass arrays of the same length."
            )
        rows = bucket_rows(n) if pad else n
        off = None if offset is None else offset_matrix(offset, n, family, arch)
        Xp, Yp, wp = (jnp.asarray(_pad(a, rows)) for a in (X, Y, w))
        data = Data(Xp, Yp, wp, None if off is None else jnp.asarray(_pad(off, rows)))
        return cls(data, family, arch, penalty or Penalty(), int(n))

    @classmethod
    def from_data(
        cls,
        X,
        y=None,
        *,
        data=None,
        family: str | Family = "bernoulli",
        hidden=(10,),
        activation="tanh",
        skip: bool = False,
        bias=True,
        mask: Params | None = None,
        weights=None,
        l2: float = 0.0,
        l1: float = 0.0,
        penalize_bias: bool = False,
        offset=None,
        exposure=None,
        na_action: str = "drop",
    ) -> tuple[Problem, Design]:
        """Validate user data (arrays, or a formula with ``data=``) into a problem and its design.

        The arguments are those of :func:`nnmle.fit`; every error names what was
        expected, what was received and the fix.

        Examples
        --------
        >>> import numpy as np
        >>> prob, design = Problem.from_data(np.eye(3), [0, 1, 1], hidden=(2,), l2=0.1)
        >>> prob.arch.describe(), design.input_names
        ('3-2-1 tanh', ('x1', 'x2', 'x3'))
        """
        fam = get_family(family)
        penalty = Penalty(l2=l2, l1=l1, penalize_bias=penalize_bias)
        prep = prepare(
            X, y, fam, weights=weights, data=data, offset=offset, exposure=exposure,
            na_action=na_action,
        )  # fmt: skip
        out_names = prep.design.output_names or None
        if fam.name == "multinomial":
            out_names = tuple(f"y[{c}]" for c in prep.classes[1:])
        n_mean = fam.n_outputs(prep.classes, prep.Y.shape[1]) - fam.n_extra
        arch = family_architecture(
            fam, prep.X.shape[1], hidden, n_mean, activation, skip, bias, mask,
            input_names=prep.input_names, output_names=out_names,
        )  # fmt: skip
        problem = cls.build(prep.X, prep.Y, prep.w, fam, arch, penalty, offset=prep.offset)
        return problem, prep.design

    def replace(self, **changes) -> Problem:
        """A copy with some fields changed (``penalty=``, ``arch=``, ...)."""
        return dataclasses.replace(self, **changes)

    def with_penalty(self, penalty: Penalty) -> Problem:
        """The same problem under another penalty (compiles nothing new)."""
        return dataclasses.replace(self, penalty=penalty)

    def with_weights(self, w) -> Problem:
        """The same problem with new case weights for the ``n_obs`` real rows (bootstrap, CV)."""
        data = self.require_data()
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (self.n_obs,):
            raise ValueError(f"expected {self.n_obs} case weights; got shape {w.shape}.")
        w_pad = jnp.asarray(_pad(w, data.w.shape[0]))
        return dataclasses.replace(self, data=data._replace(w=w_pad))

    def require_data(self) -> Data:
        """The padded data, or a ``ValueError`` that explains why there is none."""
        if self.data is None:
            raise ValueError(
                "This model carries no data (it was loaded from a file), which this "
                "computation needs. Fix: refit on the data, e.g. nnmle.fit(X, y, ...)."
            )
        return self.data

    # -- the real rows, as NumPy
    @property
    def X(self) -> np.ndarray:
        """Inputs of the real rows."""
        return np.asarray(self.require_data().X)[: self.n_obs]

    @property
    def Y(self) -> np.ndarray:
        """Targets of the real rows."""
        return np.asarray(self.require_data().Y)[: self.n_obs]

    @property
    def w(self) -> np.ndarray:
        """Case weights of the real rows."""
        return np.asarray(self.require_data().w)[: self.n_obs]

    @property
    def offset(self) -> np.ndarray | None:
        """The offset of the real rows ``(n_obs, n_outputs)``, or ``None`` (no offset)."""
        off = self.require_data().offset
        return None if off is None else np.asarray(off)[: self.n_obs]

    # -- coordinates
    @property
    def free(self) -> np.ndarray:
        """Flat boolean mask of the free (estimated) entries."""
        return self.arch.free_mask()

    @property
    def penalized(self) -> np.ndarray:
        """Flat boolean mask of the penalized entries."""
        return penalized_mask(self.arch, self.penalty)

    @property
    def n_params(self) -> int:
        """Number of free weights."""
        return self.arch.n_params

    def __repr__(self) -> str:
        return (
            f"Problem({self.arch.describe()}, {self.family.name}, n_obs={self.n_obs}, "
            f"penalty={self.penalty.describe()})"
        )

    # -- values and derivatives
    def objective(self, theta) -> float:
        """The penalized objective at ``theta``."""
        self.require_data()
        return float(_value_and_grad(_as_jnp(theta, self.arch), self)[0])

    def value_and_grad(self, theta) -> tuple[float, np.ndarray]:
        """Objective and full-length gradient (zero on frozen entries)."""
        self.require_data()
        v, g = _value_and_grad(_as_jnp(theta, self.arch), self)
        return float(v), np.asarray(g)

    def gradient(self, theta) -> np.ndarray:
        """Gradient on the free coordinates."""
        return self.value_and_grad(theta)[1][self.free]

    def objectives(self, thetas) -> np.ndarray:
        """The objective at each row of ``thetas`` (one vectorized call)."""
        self.require_data()
        return np.asarray(_objectives(jnp.asarray(np.atleast_2d(thetas), jnp.float64), self))

    def logliks(self, thetas) -> np.ndarray:
        """The log-likelihood at each row of ``thetas`` (one vectorized call)."""
        self.require_data()
        return np.asarray(_logliks(jnp.asarray(np.atleast_2d(thetas), jnp.float64), self))

    def statistics(self, theta) -> dict:
        """``loglik``, ``deviance``, ``null_deviance``, ``scale`` and ``nll`` at ``theta``."""
        self.require_data()
        vals = np.asarray(_statistics(_as_jnp(theta, self.arch), self))
        return dict(zip(STATISTICS, map(float, vals), strict=True))

    def linear_predictor(self, theta, X=None, offset=None) -> np.ndarray:
        """``eta`` of shape ``(n, n_outputs)`` for the data's rows (default, with their offset)
        or new inputs ``X`` (with ``offset``: ``(n,)`` or ``(n, n_outputs)``, default none)."""
        if X is None:
            X = self.X
            if offset is None and self.require_data().offset is not None:
                offset = self.offset
        X = np.asarray(X, dtype=np.float64)
        n = X.shape[0]
        Xp = jnp.asarray(_pad(X, bucket_rows(n)))
        eta = np.asarray(_eta(_as_jnp(theta, self.arch), Xp, self.arch))[:n]
        if offset is not None:
            eta = eta + offset_matrix(offset, n, self.family, self.arch)
        return eta

    def linear_predictors(self, thetas) -> np.ndarray:
        """``eta`` on the data's rows at each row of ``thetas``: ``(K, n_obs, n_outputs)``."""
        data = self.require_data()
        out = _etas(jnp.asarray(np.atleast_2d(thetas), jnp.float64), data.X, self.arch)
        out = np.asarray(out)[:, : self.n_obs]
        offset = self.offset
        return out if offset is None else out + offset[None]

    def mean(self, theta, X=None, offset=None) -> np.ndarray:
        """Fitted means ``(n, q)`` (class probabilities ``(n, K)`` for the multinomial)."""
        eta = self.linear_predictor(theta, X, offset)
        return np.asarray(self.family.inverse_link(jnp.asarray(eta)))

    def hvp(self, theta) -> Callable[[np.ndarray], np.ndarray]:
        """Exact Hessian-vector product ``v -> H v`` on the free coordinates.

        The gradient is linearized once at ``theta`` (``jax.linearize``), so each
        product runs only the tangent part.

        Examples
        --------
        >>> import numpy as np
        >>> from nnmle.families import get_family
        >>> prob = Problem.build(np.array([[1.0], [2.0]]), np.array([[1.0], [0.0]]), np.ones(2),
        ...                      get_family("gaussian"), Architecture.build(1, hidden=()))
        >>> prob.hvp(np.zeros(2))(np.array([1.0, 0.0])).tolist()   # [X'X, X'1] column
        [5.0, 3.0]
        """
        self.require_data()
        linear = _linearized_gradient(_as_jnp(theta, self.arch), self)
        free = self.free
        n = self.arch.n_total

        def matvec(v):
            full = np.zeros(n)
            full[free] = np.ravel(v)
            return np.asarray(_apply_linear(linear, jnp.asarray(full)))[free]

        return matvec

    def hessian(self, theta, method: str = "auto", batch: int | None = None) -> np.ndarray:
        """The exact Hessian of the penalized objective on the free coordinates (float64).

        Two exact algorithms:

        - ``"hvp"``: one Hessian-vector product per free weight, in blocks of
          ``batch`` (default: sized so a block's activations stay near 160 MB);
        - ``"factored"``: the first layer is affine in the inputs,
          ``z_i = W1' x_i + b1``, so with ``u = (W1, b1)``, ``r`` the other weights
          and ``L_i(z, r)`` observation ``i``'s weighted loss,
          ``H_uu = sum_i (x~_i x~_i') (x) d2L_i/dz2``, ``H_ur = sum_i x~_i (x) d2L_i/dz dr``,
          ``H_rr = sum_i d2L_i/dr2`` (``x~ = (x, 1)``), plus the penalty's diagonal.

        ``"auto"`` takes ``factored`` when ``h1 + len(r)`` is at most half the
        number of weights, else ``hvp``. The L1 term has no curvature.

        Examples
        --------
        >>> import numpy as np
        >>> from nnmle.families import get_family
        >>> prob = Problem.build(np.array([[1.0], [2.0]]), np.array([[1.0], [0.0]]), np.ones(2),
        ...                      get_family("gaussian"), Architecture.build(1, hidden=()))
        >>> prob.hessian(np.zeros(2)).tolist()   # [X 1]'[X 1]
        [[5.0, 3.0], [3.0, 2.0]]
        """
        arch = self.arch
        data = self.require_data()
        idx = np.flatnonzero(self.free)
        th = _as_jnp(theta, arch)
        m = arch.sizes[1] + arch.n_total - (arch.n_inputs + 1) * arch.sizes[1]
        if method == "auto":
            method = "factored" if 2 * m <= arch.n_total else "hvp"
        rows = int(data.X.shape[0])
        if method == "factored":
            chunk = _divisor_chunk(rows, int(np.clip(4e6 // (m * m), 1, rows)))
            full = np.asarray(_hessian_factored(th, self, chunk=chunk))
            H = full[np.ix_(idx, idx)]
        elif method == "hvp":
            if batch is None:
                batch = int(np.clip(2e7 // max(1, rows * sum(arch.sizes)), 1, max(1, idx.size)))
            H = np.asarray(_hessian_rows(th, jnp.asarray(idx), self, batch=batch))[:, idx]
        else:
            raise ValueError(
                f"Unknown method {method!r}: expected 'auto', 'factored' or 'hvp'. "
                f"Fix: method='auto'."
            )
        return 0.5 * (H + H.T)

    def information(self, theta) -> np.ndarray:
        """The Fisher information ``J'WJ`` on the free coordinates (case weights included).

        ``J_i = d eta_i / d theta`` and ``W_i = w_i * d2 loss_i / d eta_i^2`` (the
        family's working weights; for the canonical links nnmle uses this is the
        expected information, which does not depend on ``y``). Positive
        semi-definite; its null space is exactly the set of directions along which
        no fitted value moves to first order. The penalty is not included.
        """
        data = self.require_data()
        rows = int(data.X.shape[0])
        per = max(1, self.arch.n_total * self.arch.n_outputs)
        chunk = _divisor_chunk(rows, int(np.clip(2e6 // per, 1, rows)))
        full = np.asarray(_information(_as_jnp(theta, self.arch), self, chunk=chunk))
        idx = np.flatnonzero(self.free)
        H = full[np.ix_(idx, idx)]
        return 0.5 * (H + H.T)

    def scores(self, theta) -> np.ndarray:
        """Per-observation gradients of the loss at unit case weight: ``(n_obs, n_total)``."""
        self.require_data()
        return np.asarray(_scores(_as_jnp(theta, self.arch), self))[: self.n_obs]

    def eta_jacobian(self, theta, X=None, mean: bool = False) -> np.ndarray:
        """``d eta / d theta`` (or ``d mu / d theta``) on the rows of ``X``: ``(n, q, n_total)``."""
        if X is None:
            X = self.X
        X = np.asarray(X, dtype=np.float64)
        n = X.shape[0]
        Xp = jnp.asarray(_pad(X, bucket_rows(n)))
        J = _eta_jacobian(_as_jnp(theta, self.arch), Xp, self.family, self.arch, mean)
        return np.asarray(J)[:n]


# --- the objective as pure (traceable) functions of (theta, problem) -------------


def data_eta(theta: jax.Array, data: Data, arch: Architecture) -> jax.Array:
    """``eta = f(X; theta) + offset`` on the rows of ``data`` (traceable)."""
    eta = linear_predictor(theta, data.X, arch)
    return eta if data.offset is None else eta + data.offset


def negloglik(theta: jax.Array, problem: Problem) -> jax.Array:
    """Sum of case-weighted loss (the NLL kernel; see :mod:`nnmle.families`)."""
    data = problem.require_data()
    eta = data_eta(theta, data, problem.arch)
    return jnp.sum(data.w * problem.family.loss_obs(eta, data.Y))


def smooth_objective(theta: jax.Array, problem: Problem) -> jax.Array:
    """The NLL plus the L2 part of the penalty (what a gradient method minimizes)."""
    th = effective(theta, problem.arch)
    return negloglik(theta, problem) + smooth_penalty(th, problem.arch, problem.penalty)


def objective(theta: jax.Array, problem: Problem) -> jax.Array:
    """The penalized objective ``sum w * nll + l2 |theta|^2 + l1 |theta|_1`` (traceable).

    Examples
    --------
    >>> import numpy as np, jax.numpy as jnp
    >>> from nnmle.families import get_family
    >>> p = Problem.build(np.array([[0.0], [1.0]]), np.array([[0.0], [1.0]]), np.ones(2),
    ...                   get_family("gaussian"), Architecture.build(1, hidden=()))
    >>> float(objective(jnp.array([1.0, 0.0]), p))
    0.0
    """
    th = effective(theta, problem.arch)
    return negloglik(theta, problem) + penalty_value(th, problem.arch, problem.penalty)


# --- compiled kernels (private: reached through Problem's methods) -----------------

_value_and_grad = jax.jit(jax.value_and_grad(objective))


@jax.jit
def _objectives(thetas, problem):
    return jax.vmap(lambda th: objective(th, problem))(thetas)


def _loglik(theta, problem):
    data = problem.require_data()
    eta = data_eta(theta, data, problem.arch)
    return problem.family.loglik(eta, data.Y, data.w, problem.n_params)


@jax.jit
def _logliks(thetas, problem):
    return jax.vmap(lambda th: _loglik(th, problem))(thetas)


#: The names of :func:`fit_statistics`' entries, in order.
STATISTICS = ("loglik", "deviance", "null_deviance", "scale", "nll")


def fit_statistics(theta: jax.Array, problem: Problem) -> jax.Array:
    """``[loglik, deviance, null_deviance, scale, nll]`` at ``theta`` (traceable; a solver's
    compiled loop computes them at its end, so a fit needs no second compilation)."""
    data, fam, k = problem.require_data(), problem.family, problem.n_params
    eta = data_eta(theta, data, problem.arch)
    return jnp.stack(
        [
            fam.loglik(eta, data.Y, data.w, k),
            fam.deviance(eta, data.Y, data.w),
            fam.null_deviance(data.Y, data.w, data.offset, eta),
            fam.scale(eta, data.Y, data.w, k),
            jnp.sum(data.w * fam.loss_obs(eta, data.Y)),
        ]
    )


_statistics = jax.jit(fit_statistics)


_eta = jax.jit(linear_predictor, static_argnames=("arch",))


@functools.partial(jax.jit, static_argnames=("arch",))
def _etas(thetas, X, arch):
    return jax.vmap(lambda th: linear_predictor(th, X, arch))(thetas)


def _hvp_full(theta, v, problem):
    return jax.jvp(lambda th: jax.grad(objective)(th, problem), (theta,), (v,))[1]


@functools.partial(jax.jit, static_argnames=("batch",))
def _hessian_rows(theta, idx, problem, batch):
    n = theta.shape[0]

    def row(i):
        return _hvp_full(theta, jax.nn.one_hot(i, n, dtype=theta.dtype), problem)

    return jax.lax.map(row, idx, batch_size=batch)


@jax.jit
def _linearized_gradient(theta, problem):
    return jax.linearize(lambda th: jax.grad(objective)(th, problem), theta)[1]


@jax.jit
def _apply_linear(linear, v):
    return linear(v)


def _divisor_chunk(rows: int, chunk: int) -> int:
    """The largest divisor of ``rows`` not above ``chunk`` (rows are bucketed: many divisors)."""
    chunk = max(1, min(chunk, rows))
    while rows % chunk:
        chunk -= 1
    return chunk


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


def _chunked(data: Data, n_outputs: int, chunk: int):
    """``(X, Y, w, offset)`` cut into chunks of rows (a zero offset when there is none)."""
    off = data.offset if data.offset is not None else jnp.zeros((data.X.shape[0], n_outputs))
    return tuple(a.reshape((-1, chunk) + a.shape[1:]) for a in (data.X, data.Y, data.w, off))


@functools.partial(jax.jit, static_argnames=("chunk",))
def _hessian_factored(theta, problem, chunk):
    arch, family, penalty = problem.arch, problem.family, problem.penalty
    th = effective(theta, arch)
    d, h1 = arch.n_inputs, arch.sizes[1]
    n_u = (d + 1) * h1
    W1, b1, r = th[: d * h1].reshape(d, h1), th[d * h1 : n_u], th[n_u:]
    X, Y, w, O = _chunked(problem.data, arch.n_outputs, chunk)

    def loss(v, x, y, wi, oi):
        eta = _forward_from_first(v[:h1], v[h1:], x, arch) + oi
        return wi * family.loss_obs(eta[None, :], y[None, :])[0]

    def ex_hessian(x, y, wi, oi):
        return jax.hessian(loss)(jnp.concatenate([x @ W1 + b1, r]), x, y, wi, oi)

    # both x~ x~' and d2L/dz2 are symmetric: accumulate upper triangles only
    ia, ib = np.triu_indices(d + 1)
    ij, ik = np.triu_indices(h1)

    def body(acc, xs):
        Xc, Yc, wc, Oc = xs
        Hc = jax.vmap(ex_hessian)(Xc, Yc, wc, Oc)
        Xt = jnp.concatenate([Xc, jnp.ones((chunk, 1), Xc.dtype)], axis=1)
        Huu = (Xt[:, ia] * Xt[:, ib]).T @ Hc[:, ij, ik]
        Hur = Xt.T @ Hc[:, :h1, h1:].reshape(chunk, -1)
        uu, ur, rr = acc
        return (uu + Huu, ur + Hur, rr + Hc[:, h1:, h1:].sum(0)), None

    m_r = r.shape[0]
    zero = (jnp.zeros((ia.size, ij.size)), jnp.zeros((d + 1, h1 * m_r)), jnp.zeros((m_r, m_r)))
    (uu, ur, rr), _ = jax.lax.scan(body, zero, (X, Y, w, O))
    pair_a, pair_j = _pair_index(d + 1), _pair_index(h1)
    uu = uu[pair_a[:, None, :, None], pair_j[None, :, None, :]].reshape(n_u, n_u)
    ur = ur.reshape(n_u, m_r)
    H = jnp.block([[uu, ur], [ur.T, rr]])
    pmask = jnp.asarray(penalized_mask(arch, penalty), H.dtype)
    return H + jnp.diag(2.0 * penalty.l2 * pmask)


@functools.partial(jax.jit, static_argnames=("chunk",))
def _information(theta, problem, chunk):
    arch, family = problem.arch, problem.family
    X, Y, w, O = _chunked(problem.data, arch.n_outputs, chunk)
    P = theta.shape[0]

    def eta_one(th, x):
        return linear_predictor(th, x[None, :], arch)[0]

    def curvature(eta, y):
        return jax.hessian(lambda e: family.loss_obs(e[None, :], y[None, :])[0])(eta)

    def body(acc, xs):
        Xc, Yc, wc, Oc = xs
        J = jax.vmap(lambda x: jax.jacfwd(eta_one)(theta, x))(Xc)  # (c, q, P)
        E = jax.vmap(lambda x: eta_one(theta, x))(Xc) + Oc
        C = jax.vmap(curvature)(E, Yc) * wc[:, None, None]  # (c, q, q)
        return acc + jnp.einsum("cqp,cqr,crs->ps", J, C, J), None

    out, _ = jax.lax.scan(body, jnp.zeros((P, P), theta.dtype), (X, Y, w, O))
    return out


@jax.jit
def _scores(theta, problem):
    data = problem.data

    def losses(th):
        return problem.family.loss_obs(data_eta(th, data, problem.arch), data.Y)

    return jax.jacrev(losses)(theta)


def _predictor(theta, X, family, arch, mean):
    eta = linear_predictor(theta, X, arch)
    return family.inverse_link(eta) if mean else eta


@functools.partial(jax.jit, static_argnames=("family", "arch", "mean"))
def _eta_jacobian(theta, X, family, arch, mean):
    return jax.jacrev(_predictor)(theta, X, family, arch, mean)


# --- helpers ------------------------------------------------------------------------


def flat_theta(theta, arch: Architecture) -> np.ndarray:
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


def _as_jnp(theta, arch: Architecture) -> jax.Array:
    return jnp.asarray(flat_theta(theta, arch))


def as_problem(obj) -> Problem:
    """The :class:`Problem` of ``obj``: a Problem, or anything with a ``.problem`` (a fit, a
    campaign, an estimate).

    Raises
    ------
    ValueError
        When ``obj`` carries no problem.
    """
    if isinstance(obj, Problem):
        return obj
    problem = getattr(obj, "problem", None)
    if isinstance(problem, Problem):
        return problem
    raise ValueError(
        f"Expected a fitted result (nnmle.fit(...)), a Campaign or a Problem; got "
        f"{type(obj).__name__}. Fix: pass the result of nnmle.fit or nnmle.multistart."
    )
