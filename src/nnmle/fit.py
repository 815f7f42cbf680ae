"""Fitting: penalized maximum likelihood by full-batch L-BFGS (or minibatch Adam).

One start is a pure function of (starting weights, data): a jitted
``lax.while_loop`` around optax's L-BFGS with a zoom line search, in float64,
until the gradient norm of the penalized objective is at most ``tol``. Under
jit nothing raises: the outcome is a status code (see :data:`STATUS`).

Many starts run as a *pool*: ``batch`` lanes advance together under ``vmap``
for ``chunk`` iterations at a time; a lane whose start has finished is
refilled with the next start, so the batch does not wait for its slowest
member. ``batch=1`` is the plain one-start-at-a-time loop.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.tree_utils as otu

from .data import Prepared, check_X, formula_X, prepare
from .families import Family, get_family
from .networks import Architecture, Params, init_params, unravel
from .objective import Data, linear_predictor, objective
from .penalties import Penalty, penalty_value

__all__ = ["STATUS", "FitResult", "StartResult", "fit", "fit_prepared", "run_starts"]

#: Status codes of one start, with the message a user reads.
STATUS = {
    0: ("converged", "gradient norm at or below the tolerance"),
    1: ("max_iter", "iteration limit reached before the gradient tolerance; raise max_iter"),
    2: (
        "non_finite",
        "the objective or gradient became NaN/inf; weights kept from the last "
        "finite iterate. Standardize X, lower the learning rate, or add a penalty",
    ),
    3: (
        "stalled",
        "the line search made no progress for many iterations; the gradient "
        "tolerance is below what float64 can resolve here, or the problem is ill-conditioned",
    ),
    4: (
        "mle_not_exist",
        "fitted probabilities numerically 0 or 1 (or an exact fit) occurred: the weights grow "
        "without bound while the objective approaches its infimum, so the maximum likelihood "
        "estimate does not exist (separated classes, an interpolating network). Fix: add a "
        "penalty, e.g. l2=0.01, chosen with nnmle.path(...)",
    ),
}
_RUNNING = -1
#: L-BFGS history length: 50 measured fastest of 10, 20, 30, 50, 80, 120 (breast-cancer bench).
DEFAULT_MEMORY = 50
_STALL_PATIENCE = 20


class _Carry(NamedTuple):
    theta: jax.Array
    state: Any
    it: jax.Array
    status: jax.Array
    stall: jax.Array


def _lbfgs(memory: int):
    return optax.lbfgs(
        memory_size=memory, linesearch=optax.scale_by_zoom_linesearch(max_linesearch_steps=30)
    )


def _init_carry(theta, data, family, arch, penalty, memory):  # noqa: ARG001
    state = _lbfgs(memory).init(theta)
    i0 = jnp.asarray(0, dtype=jnp.int32)
    return _Carry(theta, state, i0, jnp.asarray(_RUNNING, jnp.int32), i0)


def _advance(carry: _Carry, data, tol, max_iter, until, family, arch, penalty, memory):
    """Run L-BFGS iterations on one start until done or ``it == until``."""
    opt = _lbfgs(memory)

    def f(th):
        return objective(th, data, family, arch, penalty)

    value_and_grad = optax.value_and_grad_from_state(f)

    def cond(c):
        return (c.status == _RUNNING) & (c.it < until)

    def body(c):
        value, grad = value_and_grad(c.theta, state=c.state)
        updates, state = opt.update(grad, c.state, c.theta, value=value, grad=grad, value_fn=f)
        theta = optax.apply_updates(c.theta, updates)
        new_value = otu.tree_get(state, "value")
        gnorm = jnp.linalg.norm(otu.tree_get(state, "grad"))
        it = c.it + 1
        bad = ~jnp.isfinite(new_value) | ~jnp.isfinite(gnorm) | ~jnp.all(jnp.isfinite(theta))
        stall = jnp.where(new_value < value, 0, c.stall + 1)
        status = jnp.select(
            [bad, gnorm <= tol, stall >= _STALL_PATIENCE, it >= max_iter],
            [2, 0, 3, 1],
            _RUNNING,
        ).astype(jnp.int32)
        theta = jnp.where(bad, c.theta, theta)
        return _Carry(theta, state, it, status, stall)

    return jax.lax.while_loop(cond, body, carry)


_STATIC = ("family", "arch", "penalty", "memory")


def _maybe_vmap(fn, batched: bool):
    return jax.vmap(fn) if batched else fn


@functools.partial(jax.jit, static_argnames=(*_STATIC, "batched"))
def _pool_init(thetas, data, family, arch, penalty, memory, batched=True):
    init = functools.partial(
        _init_carry, data=data, family=family, arch=arch, penalty=penalty, memory=memory
    )
    return _maybe_vmap(init, batched)(thetas)


@functools.partial(jax.jit, static_argnames=(*_STATIC, "batched"))
def _pool_advance(carry, data, tol, max_iter, chunk, family, arch, penalty, memory, batched=True):
    def adv(c):
        return _advance(c, data, tol, max_iter, c.it + chunk, family, arch, penalty, memory)

    return _maybe_vmap(adv, batched)(carry)


@functools.partial(jax.jit, static_argnames=_STATIC)
def _pool_refill(carry, replace, thetas, data, family, arch, penalty, memory):
    fresh = _pool_init(thetas, data, family, arch, penalty, memory)

    def pick(old, new):
        r = replace.reshape(replace.shape + (1,) * (old.ndim - 1))
        return jnp.where(r, new, old)

    return jax.tree_util.tree_map(pick, carry, fresh)


@functools.partial(jax.jit, static_argnames=("family", "arch", "penalty"))
def _value_grad(theta, data, family, arch, penalty):
    return jax.value_and_grad(objective)(theta, data, family, arch, penalty)


_linear_predictor_jit = jax.jit(linear_predictor, static_argnames=("arch",))


@dataclass
class StartResult:
    """Outcome of one start of a multi-start fit."""

    index: int
    theta: np.ndarray
    objective: float
    grad_norm: float
    n_iter: int
    status: str
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """Plain-Python view (without the weights)."""
        return {
            "index": self.index,
            "objective": self.objective,
            "grad_norm": self.grad_norm,
            "n_iter": self.n_iter,
            "status": self.status,
        }


def run_starts(
    thetas0: np.ndarray,
    data: Data,
    family: Family,
    arch: Architecture,
    penalty: Penalty,
    tol: float = 1e-6,
    max_iter: int = 5000,
    batch: int | None = None,
    chunk: int = 50,
    memory: int = DEFAULT_MEMORY,
    workers: int | None = None,
    on_result=None,
) -> list[StartResult]:
    """Run L-BFGS from each row of ``thetas0``.

    Parameters
    ----------
    thetas0 : ndarray of shape (K, n_total)
        Starting weights, one start per row.
    data, family, arch, penalty
        The problem (see :func:`nnmle.objective.objective`).
    tol : float
        Stop a start when the gradient norm is at most ``tol``.
    max_iter : int
        Iteration limit per start.
    batch : int or None
        Lanes advanced together under ``vmap`` in each worker; default 1 (one
        start at a time, which measured fastest on CPUs: see the README).
    chunk : int
        Iterations between refills of finished lanes when ``batch > 1``.
    memory : int
        L-BFGS history length.
    workers : int or None
        Threads, each running its own share of the starts (start ``k`` goes to
        worker ``k % workers``); default: the number of CPU cores, at most K.
    on_result : callable or None
        Called with each :class:`StartResult` as soon as its start finishes.

    Returns
    -------
    list of StartResult, in the order of ``thetas0``. The result of a start
    depends only on its starting vector when ``batch == 1``.
    """
    thetas0 = np.asarray(thetas0, dtype=np.float64)
    K = thetas0.shape[0]
    n_workers = max(1, min(K, workers if workers is not None else (os.cpu_count() or 1)))
    results: list[StartResult | None] = [None] * K
    lock = threading.Lock()

    def record(res: StartResult) -> None:
        with lock:
            results[res.index] = res
            if on_result is not None:
                on_result(res)

    problem = (data, family, arch, penalty, tol, max_iter, memory)
    shares = [list(range(w, K, n_workers)) for w in range(n_workers)]
    if n_workers == 1:
        _run_pool(thetas0, shares[0], problem, batch or 1, chunk, record)
    else:
        with ThreadPoolExecutor(n_workers) as pool:
            futures = [
                pool.submit(_run_pool, thetas0, sh, problem, batch or 1, chunk, record)
                for sh in shares
            ]
            for fut in futures:
                fut.result()
    return [r for r in results if r is not None]


def _finish(k, theta, value, grad, it, status, seconds, data, family, arch, penalty):
    gnorm = float(np.linalg.norm(grad))
    if status == 2:  # the state holds the non-finite point; report the kept iterate
        v, g = _value_grad(jnp.asarray(theta), data, family, arch, penalty)
        value, gnorm = float(v), float(jnp.linalg.norm(g))
    return StartResult(
        k, np.array(theta), float(value), gnorm, int(it), STATUS[int(status)][0], seconds
    )


def _run_pool(thetas0, indices, problem, B, chunk, record) -> None:
    """Run the starts ``indices`` with ``B`` lanes, calling ``record`` as each finishes."""
    data, family, arch, penalty, tol, max_iter, memory = problem
    static = dict(family=family, arch=arch, penalty=penalty, memory=memory)
    tol_a, max_a = jnp.asarray(tol), jnp.asarray(max_iter, jnp.int32)
    if B == 1:
        for k in indices:
            t0 = time.perf_counter()
            c = _pool_init(jnp.asarray(thetas0[k]), data, batched=False, **static)
            c = _pool_advance(c, data, tol_a, max_a, max_a, batched=False, **static)
            record(
                _finish(
                    k,
                    np.asarray(c.theta),
                    otu.tree_get(c.state, "value"),
                    np.asarray(otu.tree_get(c.state, "grad")),
                    c.it,
                    int(c.status),
                    time.perf_counter() - t0,
                    data,
                    family,
                    arch,
                    penalty,
                )
            )
        return
    B = min(B, len(indices))
    lanes = list(indices[:B])  # start index per lane, -1 when idle
    queue = list(indices[B:])
    started = [time.perf_counter()] * B
    carry = _pool_init(jnp.asarray(thetas0[lanes]), data, **static)
    chunk_a = jnp.asarray(chunk, jnp.int32)
    while any(i >= 0 for i in lanes):
        carry = _pool_advance(carry, data, tol_a, max_a, chunk_a, **static)
        status = np.asarray(carry.status)
        finished = [b for b in range(B) if lanes[b] >= 0 and status[b] != _RUNNING]
        if not finished:
            continue
        thetas = np.asarray(carry.theta)
        its = np.asarray(carry.it)
        values = np.asarray(otu.tree_get(carry.state, "value"))
        grads = np.asarray(otu.tree_get(carry.state, "grad"))
        now = time.perf_counter()
        replace = np.zeros(B, dtype=bool)
        new_thetas = np.array(thetas)
        for b in finished:
            record(
                _finish(
                    lanes[b],
                    thetas[b],
                    values[b],
                    grads[b],
                    its[b],
                    status[b],
                    now - started[b],
                    data,
                    family,
                    arch,
                    penalty,
                )
            )
            if queue:
                lanes[b] = queue.pop(0)
                new_thetas[b] = thetas0[lanes[b]]
                replace[b] = True
                started[b] = now
            else:
                lanes[b] = -1
        if replace.any():
            carry = _pool_refill(
                carry, jnp.asarray(replace), jnp.asarray(new_thetas), data, **static
            )


def _adam_starts(thetas0, data, family, arch, penalty, tol, max_iter, batch_size, lr, seed):
    """Minibatch Adam for large n: one start at a time, ``max_iter`` epochs."""
    n = data.X.shape[0]
    bs = min(batch_size, n)
    n_batches = math.ceil(n / bs)
    opt = optax.adam(lr)

    def batch_obj(theta, idx, wmask):
        sub = Data(data.X[idx], data.Y[idx], data.w[idx] * wmask)
        # the minibatch sum scaled to the full sample, plus the penalty once
        nll = objective(theta, sub, family, arch, Penalty()) * (n / bs)
        return nll + penalty_value(theta, arch, penalty)

    @jax.jit
    def epoch(theta, state, key):
        perm = jax.random.permutation(key, n_batches * bs) % n
        wmask = (jnp.arange(n_batches * bs) < n).astype(theta.dtype)
        idx = perm.reshape(n_batches, bs)
        wm = wmask.reshape(n_batches, bs)

        def step(carry, xs):
            th, st = carry
            g = jax.grad(batch_obj)(th, *xs)
            upd, st = opt.update(g, st, th)
            return (optax.apply_updates(th, upd), st), None

        (theta, state), _ = jax.lax.scan(step, (theta, state), (idx, wm))
        return theta, state

    results = []
    for k, theta0 in enumerate(thetas0):
        t0 = time.perf_counter()
        theta = jnp.asarray(theta0)
        state = opt.init(theta)
        key = jax.random.fold_in(jax.random.PRNGKey(seed), 10_000 + k)
        status, it = 1, 0
        for it in range(1, max_iter + 1):
            theta, state = epoch(theta, state, jax.random.fold_in(key, it))
            v, g = _value_grad(theta, data, family, arch, penalty)
            if not (np.isfinite(float(v)) and bool(jnp.all(jnp.isfinite(theta)))):
                status = 2
                break
            if float(jnp.linalg.norm(g)) <= tol:
                status = 0
                break
        results.append(
            StartResult(
                k,
                np.asarray(theta),
                float(v),
                float(jnp.linalg.norm(g)),
                it,
                STATUS[status][0],
                time.perf_counter() - t0,
            )
        )
    return results


@dataclass
class FitResult:
    """A fitted network: the best start, its statistics and every start's outcome.

    Attributes
    ----------
    params : Params
        Weights of the best start.
    theta : ndarray
        The same weights as a flat vector (:func:`nnmle.networks.ravel` order).
    objective : float
        Penalized objective: sum of case-weighted NLL + penalty.
    loglik, deviance, null_deviance, aic, bic : float
        AIC = -2 loglik + 2 k, BIC = -2 loglik + k log(n) with k = ``n_params``
        (the free weights; the gaussian σ² is not counted, as in statsmodels' GLM).
    scale : float
        σ̂² (maximum likelihood) for the gaussian family, 1 otherwise.
    grad_norm, n_iter, status, message
        Convergence of the best start.
    restarts : list of StartResult
        Every start, in seed order.
    """

    family: Family
    arch: Architecture
    penalty: Penalty
    theta: np.ndarray
    objective: float
    loglik: float
    deviance: float
    null_deviance: float
    aic: float
    bic: float
    scale: float
    grad_norm: float
    n_iter: int
    status: str
    message: str
    n_obs: int
    n_params: int
    restarts: list[StartResult]
    classes: tuple = ()
    seed: int = 0
    tol: float = 1e-6
    formula: str | None = None
    seconds: float = 0.0
    data: Data | None = field(default=None, repr=False)
    model_spec: Any = field(default=None, repr=False)
    #: weight-norm trace of an unpenalized fit (:func:`nnmle.regularization.check_divergence`)
    divergence: Any = field(default=None, repr=False)
    #: standard errors etc. once :func:`nnmle.inference.infer` attached them
    inference: Any = field(default=None, repr=False)

    @property
    def params(self) -> Params:
        """Weights of the best start as a :class:`Params` pytree."""
        return unravel(jnp.asarray(self.theta), self.arch)

    @property
    def converged(self) -> bool:
        """Whether the best start reached the gradient tolerance."""
        return self.status == "converged"

    def _design(self, X) -> np.ndarray:
        if self.model_spec is not None and hasattr(X, "columns"):
            return formula_X(self.model_spec, X)
        if self.formula is not None and hasattr(X, "columns"):  # loaded from a model file
            missing = [c for c in self.arch.input_names if c not in X.columns]
            if missing:
                raise ValueError(
                    f"This model was loaded from a file; its formula {self.formula!r} is not "
                    f"re-evaluated, so X needs its design columns {list(self.arch.input_names)}; "
                    f"missing: {missing}. Fix: pass the design matrix (same column order)."
                )
            X = X[list(self.arch.input_names)]
        return check_X(X, self.arch.n_inputs)

    def save(self, path) -> Any:
        """Write a model file (safetensors + JSON, no pickle); see :func:`nnmle.store.save`."""
        from .store import save

        return save(self, path)

    def linear_predictor(self, X) -> np.ndarray:
        """``eta`` for new inputs, shape ``(n, n_outputs)``."""
        return np.asarray(
            _linear_predictor_jit(jnp.asarray(self.theta), jnp.asarray(self._design(X)), self.arch)
        )

    def predict(self, X, interval: str | None = None, level: float = 0.95, se: str = "hessian"):
        """Fitted mean for new inputs: probabilities (bernoulli/binomial: P(y=1);
        multinomial: ``(n, K)`` class probabilities), expected counts, or means.

        With ``interval="confidence"`` returns a :class:`~nnmle.inference.PredictionInterval`
        ``(mean, lower, upper)``: delta-method intervals at ``level`` from the ``se``
        covariance (see :func:`nnmle.inference.predict_interval`)."""
        if interval is not None:
            from .inference import predict_interval

            return predict_interval(self, X, interval=interval, level=level, se=se)
        mu = np.asarray(self.family.inverse_link(jnp.asarray(self.linear_predictor(X))))
        return mu if self.family.name == "multinomial" else mu[:, 0]

    def weight_table(self) -> list[dict]:
        """One row per free weight: ``{"name", "value"}``."""
        names = self.arch.param_names()
        free = self.arch.free_mask()
        return [{"name": names[j], "value": float(self.theta[j])} for j in np.flatnonzero(free)]

    def summary(self, se: str | None = None, level: float = 0.95):
        """A statsmodels-like summary (header, then one row per weight).

        ``se="hessian"``, ``"sandwich"`` or ``"bootstrap"`` adds std err, z, P>|z| and
        interval columns (:func:`nnmle.inference.infer`); without it, inference already
        attached to the result is shown."""
        from .report import fit_summary

        if se is not None:
            from .inference import infer

            infer(self, se=se, level=level)
        return fit_summary(self)

    def to_dict(self) -> dict:
        """Every number as plain Python types (JSON-ready)."""
        return {
            "family": self.family.name,
            "link": self.family.link,
            "architecture": {
                "sizes": list(self.arch.sizes),
                "activation": list(self.arch.activation),
                "skip": self.arch.skip,
                "bias": list(self.arch.bias),
                "description": self.arch.describe(),
            },
            "penalty": {
                "l2": self.penalty.l2,
                "l1": self.penalty.l1,
                "penalize_bias": self.penalty.penalize_bias,
                "objective": "sum(w * nll) + " + self.penalty.describe(),
            },
            "n_obs": self.n_obs,
            "n_params": self.n_params,
            "objective": self.objective,
            "loglik": self.loglik,
            "deviance": self.deviance,
            "null_deviance": self.null_deviance,
            "aic": self.aic,
            "bic": self.bic,
            "scale": self.scale,
            "grad_norm": self.grad_norm,
            "n_iter": self.n_iter,
            "status": self.status,
            "message": self.message,
            "seed": self.seed,
            "classes": [c if isinstance(c, int | float | str) else str(c) for c in self.classes],
            "weights": self.weight_table(),
            "restarts": [r.to_dict() for r in self.restarts],
        }


@functools.partial(jax.jit, static_argnames=("family", "arch"))
def _statistics_jit(theta, data: Data, family: Family, arch: Architecture):
    eta = linear_predictor(theta, data.X, arch)
    return jnp.stack(
        [
            family.loglik(eta, data.Y, data.w),
            family.deviance(eta, data.Y, data.w),
            family.null_deviance(data.Y, data.w),
            family.scale(eta, data.Y, data.w),
        ]
    )


def _statistics(theta, data: Data, family: Family, arch: Architecture):
    """Log-likelihood, deviance, null deviance and scale at ``theta`` (one compiled call)."""
    ll, dev, null, scale = (
        float(v) for v in _statistics_jit(jnp.asarray(theta), data, family, arch)
    )
    return ll, dev, null, scale


def starting_values(
    arch: Architecture, n: int, seed: int, init: str = "uniform", rang: float = 0.7
) -> np.ndarray:
    """``n`` starting vectors; start ``k`` uses ``fold_in(PRNGKey(seed), k)``, so it does
    not depend on how many starts are drawn."""
    base = jax.random.PRNGKey(seed)
    return np.stack(
        [np.asarray(init_params(jax.random.fold_in(base, k), arch, init, rang)) for k in range(n)]
    )


def fit_prepared(
    prep: Prepared,
    family: Family,
    arch: Architecture,
    penalty: Penalty,
    n_restarts: int = 1,
    seed: int = 0,
    init: str = "uniform",
    rang: float = 0.7,
    tol: float = 1e-6,
    max_iter: int = 5000,
    solver: str = "lbfgs",
    batch: int | None = None,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    start_values: np.ndarray | None = None,
    workers: int | None = None,
    on_result=None,
    store=None,
    runner=None,
) -> FitResult:
    """Fit validated data (see :func:`fit` for the parameters)."""
    t0 = time.perf_counter()
    data = Data(jnp.asarray(prep.X), jnp.asarray(prep.Y), jnp.asarray(prep.w))
    if start_values is not None:
        thetas0 = np.atleast_2d(np.asarray(start_values, dtype=float))
        if thetas0.shape[1] != arch.n_total:
            raise ValueError(
                f"start_values must have {arch.n_total} entries per start (the flat weight "
                f"vector); got shape {thetas0.shape}."
            )
    else:
        thetas0 = starting_values(arch, n_restarts, seed, init, rang)
    if solver == "lbfgs" and penalty.l1 > 0:
        from .proximal import prox_starts  # the L1 solver builds on this module

        starts = prox_starts(thetas0, data, family, arch, penalty, tol, max_iter, on_result)
    elif solver == "lbfgs" and store is not None:
        from .store import run_starts_stored

        config = {"seed": seed, "init": init, "rang": rang}
        starts = run_starts_stored(
            thetas0, data, family, arch, penalty, store, tol=tol, max_iter=max_iter,
            batch=batch, workers=workers, on_result=on_result, config=config, runner=runner,
        )  # fmt: skip
    elif solver == "lbfgs":
        starts = (runner or run_starts)(
            thetas0,
            data,
            family,
            arch,
            penalty,
            tol,
            max_iter,
            batch,
            workers=workers,
            on_result=on_result,
        )
    elif solver == "adam":
        starts = _adam_starts(
            thetas0, data, family, arch, penalty, tol, max_iter, batch_size, learning_rate, seed
        )
    else:
        raise ValueError(
            f"Unknown solver {solver!r}: expected 'lbfgs' (full batch) or 'adam' (minibatch)."
        )
    finite = [r for r in starts if np.isfinite(r.objective)]
    best = min(finite or starts, key=lambda r: (r.status == "non_finite", r.objective))
    ll, dev, null, scale = _statistics(best.theta, data, family, arch)
    k = arch.n_params
    n_eff = float(np.sum(prep.w)) if family.name != "binomial" else float(prep.X.shape[0])
    message = STATUS[{v[0]: c for c, v in STATUS.items()}[best.status]][1]
    if k > prep.X.shape[0]:
        warnings.warn(
            f"The network has {k} parameters for {prep.X.shape[0]} observations: more "
            f"parameters than observations, so the MLE is not unique even up to symmetry and "
            f"the fit can interpolate. Fix: fewer hidden units, or a penalty (l2=...).",
            UserWarning,
            stacklevel=3,
        )
    result = FitResult(
        family=family,
        arch=arch,
        penalty=penalty,
        theta=np.asarray(best.theta),
        objective=best.objective,
        loglik=ll,
        deviance=dev,
        null_deviance=null,
        aic=-2 * ll + 2 * k,
        bic=-2 * ll + k * math.log(n_eff),
        scale=scale,
        grad_norm=best.grad_norm,
        n_iter=best.n_iter,
        status=best.status,
        message=message,
        n_obs=int(prep.X.shape[0]),
        n_params=k,
        restarts=starts,
        classes=prep.classes,
        seed=seed,
        tol=tol,
        formula=prep.formula,
        seconds=time.perf_counter() - t0,
        data=data,
        model_spec=prep.model_spec,
    )
    if solver == "lbfgs" and penalty.l1 == 0 and penalty.l2 == 0:
        from .regularization import check_divergence  # builds on this module

        check_divergence(result, stacklevel=4)
    return result


_FIT_OPTIONS = {
    "n_restarts",
    "seed",
    "init",
    "rang",
    "tol",
    "max_iter",
    "solver",
    "batch",
    "batch_size",
    "learning_rate",
    "start_values",
    "on_result",
    "workers",
    "store",
    "runner",
}


def build_architecture(
    prep: Prepared,
    family: Family,
    hidden=(10,),
    activation="tanh",
    skip=False,
    bias=True,
    mask=None,
) -> Architecture:
    """The :class:`Architecture` for validated data and a family."""
    n_out = family.n_outputs(prep.classes)
    out_names = None
    if family.name == "multinomial":
        out_names = tuple(f"y[{c}]" for c in prep.classes[1:])
    return Architecture.build(
        prep.X.shape[1],
        hidden,
        n_out,
        activation,
        skip,
        bias,
        mask,
        input_names=prep.input_names,
        output_names=out_names,
    )


def fit(
    X,
    y=None,
    *,
    data=None,
    hidden=(10,),
    activation: str = "tanh",
    family: str | Family = "bernoulli",
    l2: float = 0.0,
    l1: float = 0.0,
    penalize_bias: bool = False,
    skip: bool = False,
    bias: bool = True,
    mask: Params | None = None,
    weights=None,
    **options,
) -> FitResult:
    """Fit a feed-forward network by maximum (penalized) likelihood.

    The objective minimized is ``sum_i w_i * nll_i + l2 * sum(w^2) + l1 * sum(|w|)``
    (sums, not means; biases unpenalized unless ``penalize_bias=True``).

    Parameters
    ----------
    X : array-like of shape (n, p), DataFrame, or str
        Inputs, or a formula such as ``"y ~ x1 + C(g)"`` with ``data=``.
    y : array-like of shape (n,), optional
        Targets (0/1 for bernoulli, proportions for binomial, counts for
        poisson, labels for multinomial, numbers for gaussian).
    data : DataFrame, optional
        Data for a formula.
    hidden : int or tuple of int
        Units per hidden layer; ``()`` fits a GLM.
    activation : str
        ``tanh``, ``logistic``, ``relu``, ``softplus`` or ``identity``.
    family : str
        ``gaussian``, ``bernoulli``, ``binomial``, ``poisson`` or ``multinomial``.
    l2, l1 : float
        Penalty weights (``l1 > 0``, with or without ``l2``: lasso / elastic net,
        fitted by proximal gradient, :mod:`nnmle.proximal`, with exact zeros).
        Without a penalty, a fit whose weights race away (the MLE does not exist)
        gets status ``"mle_not_exist"`` and a warning.
    penalize_bias : bool
        Penalize biases too (R nnet's convention).
    skip : bool
        Skip-layer connections from inputs to outputs.
    bias : bool or sequence of bool
        Biases per layer.
    mask : Params, optional
        NaN where a weight is free, a number where it is frozen at that number.
    weights : array-like, optional
        Case weights (for binomial: the number of trials).
    **options
        ``n_restarts`` (1), ``seed`` (0), ``init`` ("uniform" = nnet's U(-rang, rang),
        or "glorot"), ``rang`` (0.7), ``tol`` (1e-6, on the gradient norm),
        ``max_iter`` (5000), ``solver`` ("lbfgs" or "adam"), ``batch`` (pool lanes),
        ``batch_size`` and ``learning_rate`` (adam), ``start_values``, ``store``
        (a :class:`nnmle.store.Store` or a path: finished starts are kept there
        and a rerun resumes; see :func:`nnmle.store.run_starts_stored`), ``runner``
        (runs the starts instead of :func:`run_starts`, same signature, e.g.
        ``nnmle.distributed.dask_runner(client)``).

    Returns
    -------
    FitResult

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 1, 0, 1])
    >>> res = nnmle.fit(X, y, hidden=(), family="bernoulli")
    >>> res.status
    'converged'
    """
    unknown = set(options) - _FIT_OPTIONS
    if unknown:
        raise ValueError(
            f"Unknown option(s) {sorted(unknown)}; expected some of {sorted(_FIT_OPTIONS)}."
        )
    fam = get_family(family)
    penalty = Penalty(l2=l2, l1=l1, penalize_bias=penalize_bias)
    _check_options(options)
    prep = prepare(X, y, fam, weights=weights, data=data)
    arch = build_architecture(prep, fam, hidden, activation, skip, bias, mask)
    return fit_prepared(prep, fam, arch, penalty, **options)


_OPTION_EXAMPLES = {
    "n_restarts": 10,
    "max_iter": 5000,
    "batch": 8,
    "tol": 1e-6,
    "rang": 0.7,
    "seed": 0,
}


def _check_options(options: dict) -> None:
    checks = {
        "n_restarts": lambda v: isinstance(v, int | np.integer) and v >= 1,
        "max_iter": lambda v: isinstance(v, int | np.integer) and v >= 1,
        "batch": lambda v: v is None or (isinstance(v, int | np.integer) and v >= 1),
        "tol": lambda v: isinstance(v, int | float) and v > 0,
        "rang": lambda v: isinstance(v, int | float) and v > 0,
        "seed": lambda v: isinstance(v, int | np.integer) and v >= 0,
    }
    for name, ok in checks.items():
        if name in options and not ok(options[name]):
            kind = "a positive number" if name in ("tol", "rang") else "a positive integer"
            raise ValueError(
                f"The option {name}={options[name]!r} is invalid: expected {kind}. "
                f"Fix: e.g. {name}={_OPTION_EXAMPLES[name]}."
            )
