"""Proximal gradient for L1 and elastic-net penalties: exact zeros, no smoothing.

The problem is

    minimize F(theta) = s(theta) + l1 * sum_{j in P} |theta_j|
    s(theta) = sum_i w_i nll_i(theta) + l2 * sum_{j in P} theta_j**2

over the free weights, ``P`` the penalized entries
(:func:`nnmle.penalties.penalized_mask`). One iteration (SpaRSA: Wright,
Nowak & Figueiredo 2009) is a gradient step on the smooth part followed by the
proximal map of the L1 term, soft thresholding:

    theta+ = S(theta - t * grad s(theta), t * l1),
    S(v, c)_j = sign(v_j) * max(|v_j| - c, 0)   for j in P,  v_j otherwise.

The step ``t`` starts at the Barzilai-Borwein value ``d'd / d'y`` (``d``, ``y``
the last changes of ``theta`` and of the gradient) and is halved until the
nonmonotone sufficient decrease ``F(theta+) <= max(last 10 F) -
1e-4 / (2 t) ||theta+ - theta||^2`` holds. Soft thresholding sets weights to
*exactly* zero, which a smoothed ``|x|`` never does.

The fit stops when the minimum-norm subgradient of ``F`` is at most ``tol``:
its entry is ``g_j + l1 sign(theta_j)`` for a non-zero penalized weight,
``sign(g_j) max(|g_j| - l1, 0)`` for a zero one and ``g_j`` for an unpenalized
one (``g`` the gradient of ``s``). ``l1`` and ``l2`` are traced, not static:
a whole regularization path runs on one compiled solver.
"""

from __future__ import annotations

import functools
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .families import Family
from .fit import STATUS, StartResult
from .networks import Architecture
from .objective import Data, negloglik
from .penalties import Penalty, penalized_mask

__all__ = ["ProxSolution", "min_norm_subgradient", "prox_starts", "solve"]

_WINDOW = 10  # nonmonotone reference: the largest of the last _WINDOW objectives
_SIGMA = 1e-4  # sufficient-decrease constant
_MAX_HALVINGS = 60
_STALL_PATIENCE = 50  # iterations without a new best objective or subgradient: "stalled"
_RUNNING = -1


class ProxSolution(NamedTuple):
    """Outcome of one start: weights, objective ``F``, subgradient norm, iterations, status."""

    theta: jax.Array
    objective: jax.Array
    grad_norm: jax.Array
    n_iter: jax.Array
    status: jax.Array


class _State(NamedTuple):
    theta: jax.Array
    grad: jax.Array
    value: jax.Array
    theta_prev: jax.Array
    grad_prev: jax.Array
    step: jax.Array
    history: jax.Array
    best: jax.Array
    best_gnorm: jax.Array
    it: jax.Array
    status: jax.Array
    stall: jax.Array


def soft_threshold(v: jax.Array, c, pmask: jax.Array) -> jax.Array:
    """``sign(v) * max(|v| - c, 0)`` on penalized entries, ``v`` elsewhere.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> soft_threshold(jnp.array([3.0, -0.5, 2.0]), 1.0, jnp.array([1.0, 1.0, 0.0])).tolist()
    [2.0, -0.0, 2.0]
    """
    shrunk = jnp.sign(v) * jnp.maximum(jnp.abs(v) - c, 0.0)
    return jnp.where(pmask > 0, shrunk, v)


def min_norm_subgradient(theta, grad, l1, pmask) -> jax.Array:
    """The minimum-norm element of the subdifferential of ``F`` (zero at a stationary point)."""
    nonzero = grad + l1 * jnp.sign(theta)
    zero = jnp.sign(grad) * jnp.maximum(jnp.abs(grad) - l1, 0.0)
    return jnp.where(pmask > 0, jnp.where(theta != 0, nonzero, zero), grad)


@functools.partial(jax.jit, static_argnames=("family", "arch"))
def _solve(theta0, data, l1, l2, pmask, tol, max_iter, family, arch):
    free = jnp.asarray(arch.free_mask(), dtype=theta0.dtype)

    def smooth(th):
        return negloglik(th, data, family, arch) + l2 * jnp.sum(pmask * th**2)

    value_grad = jax.value_and_grad(smooth)

    def l1_term(th):
        return l1 * jnp.sum(pmask * jnp.abs(th))

    def evaluate(th):
        s, g = value_grad(th)
        return s + l1_term(th), g * free

    value0, grad0 = evaluate(theta0)
    step0 = jnp.minimum(1.0, 1.0 / jnp.maximum(jnp.linalg.norm(grad0), 1e-12))
    i0 = jnp.asarray(0, jnp.int32)
    status0 = jnp.where(jnp.isfinite(value0), _RUNNING, 2).astype(jnp.int32)
    state0 = _State(
        theta0,
        grad0,
        value0,
        theta0,
        grad0,
        step0,
        jnp.full(_WINDOW, value0),
        value0,
        jnp.asarray(jnp.inf, dtype=value0.dtype),
        i0,
        status0,
        i0,
    )

    def cond(c: _State):
        return c.status == _RUNNING

    def body(c: _State):
        d, y = c.theta - c.theta_prev, c.grad - c.grad_prev
        dy, dd = d @ y, d @ d
        bb = jnp.where(dy > 0, dd / jnp.where(dy > 0, dy, 1.0), 2.0 * c.step)
        step = jnp.where(c.it == 0, c.step, jnp.clip(bb, 1e-12, 1e12))
        reference = jnp.max(c.history)

        def trial(t):
            th = soft_threshold(c.theta - t * c.grad, t * l1, pmask)
            value, grad = evaluate(th)
            decrease = _SIGMA / (2.0 * t) * jnp.sum((th - c.theta) ** 2)
            ok = jnp.isfinite(value) & (value <= reference - decrease)
            return th, value, grad, ok

        def inner_cond(s):
            return ~s[4] & (s[5] < _MAX_HALVINGS)

        def inner_body(s):
            t = s[0] * 0.5
            return (t, *trial(t), s[5] + 1)

        t, th, value, grad, ok, _ = jax.lax.while_loop(
            inner_cond, inner_body, (step, *trial(step), 0)
        )
        theta = jnp.where(ok, th, c.theta)
        grad_new = jnp.where(ok, grad, c.grad)
        value = jnp.where(ok, value, c.value)
        it = c.it + 1
        gnorm = jnp.linalg.norm(min_norm_subgradient(theta, grad_new, l1, pmask))
        improved = (value < c.best) | (gnorm < c.best_gnorm)
        stall = jnp.where(improved, 0, c.stall + 1)
        status = jnp.select(
            [gnorm <= tol, stall >= _STALL_PATIENCE, it >= max_iter],
            [0, 3, 1],
            _RUNNING,
        ).astype(jnp.int32)
        history = jnp.roll(c.history, 1).at[0].set(value)
        return _State(
            theta,
            grad_new,
            value,
            c.theta,
            c.grad,
            jnp.where(ok, t, c.step),
            history,
            jnp.minimum(c.best, value),
            jnp.minimum(c.best_gnorm, gnorm),
            it,
            status,
            stall,
        )

    c = jax.lax.while_loop(cond, body, state0)
    gnorm = jnp.linalg.norm(min_norm_subgradient(c.theta, c.grad, l1, pmask))
    return ProxSolution(c.theta, c.value, gnorm, c.it, c.status)


def solve(
    theta0,
    data: Data,
    family: Family,
    arch: Architecture,
    penalty: Penalty,
    tol: float = 1e-6,
    max_iter: int = 5000,
) -> ProxSolution:
    """Minimize the penalized objective from ``theta0`` by proximal gradient.

    Parameters
    ----------
    theta0 : array of shape (n_total,)
        Starting weights (frozen entries at their values).
    data, family, arch, penalty
        The problem (see :func:`nnmle.objective.objective`).
    tol : float
        Stop when the minimum-norm subgradient has norm at most ``tol``.
    max_iter : int
        Iteration limit.

    Returns
    -------
    ProxSolution
        ``status`` is a code of :data:`nnmle.fit.STATUS` (0 converged,
        1 max_iter, 2 non_finite, 3 stalled).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from nnmle.families import get_family
    >>> X = jnp.array([[-1.0, 0.1], [0.0, -0.2], [1.0, 0.1]]); Y = jnp.array([[-1.0], [0.0], [1.0]])
    >>> arch = Architecture.build(2, hidden=())
    >>> sol = solve(jnp.zeros(3), Data(X, Y, jnp.ones(3)), get_family("gaussian"), arch,
    ...             Penalty(l1=0.5))
    >>> [round(float(v), 6) for v in sol.theta]  # the second input is set exactly to zero
    [0.75, 0.0, 0.0]
    """
    pmask = jnp.asarray(penalized_mask(arch, penalty), dtype=jnp.float64)
    return _solve(
        jnp.asarray(theta0, dtype=jnp.float64),
        data,
        jnp.asarray(penalty.l1, dtype=jnp.float64),
        jnp.asarray(penalty.l2, dtype=jnp.float64),
        pmask,
        jnp.asarray(tol, dtype=jnp.float64),
        jnp.asarray(max_iter, jnp.int32),
        family=family,
        arch=arch,
    )


def prox_starts(
    thetas0: np.ndarray,
    data: Data,
    family: Family,
    arch: Architecture,
    penalty: Penalty,
    tol: float = 1e-6,
    max_iter: int = 5000,
    on_result=None,
) -> list[StartResult]:
    """Run :func:`solve` from each row of ``thetas0`` (the L1 counterpart of
    :func:`nnmle.fit.run_starts`); ``grad_norm`` is the minimum-norm subgradient's norm."""
    out = []
    for k, theta0 in enumerate(np.atleast_2d(thetas0)):
        t0 = time.perf_counter()
        sol = solve(theta0, data, family, arch, penalty, tol, max_iter)
        res = StartResult(
            k,
            np.asarray(sol.theta),
            float(sol.objective),
            float(sol.grad_norm),
            int(sol.n_iter),
            STATUS[int(sol.status)][0],
            time.perf_counter() - t0,
        )
        if on_result is not None:
            on_result(res)
        out.append(res)
    return out
