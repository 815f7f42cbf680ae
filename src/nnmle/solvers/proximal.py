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
one (``g`` the gradient of ``s``). ``l1`` and ``l2`` are leaves of the
problem's penalty, traced: a whole regularization path runs on one compilation.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ..problem import smooth_objective
from ._base import RUNNING, Methods, Solution

__all__ = ["methods", "min_norm_subgradient", "soft_threshold"]

_WINDOW = 10  # nonmonotone reference: the largest of the last _WINDOW objectives
_SIGMA = 1e-4  # sufficient-decrease constant
_MAX_HALVINGS = 60
_STALL_PATIENCE = 50  # iterations without a new best objective or subgradient: "stalled"


class State(NamedTuple):
    """The loop's carry."""

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


def _parts(problem, theta):
    """``(F, grad s)`` at ``theta``, the gradient zero on frozen entries."""
    pmask = jnp.asarray(problem.penalized, theta.dtype)
    s, g = jax.value_and_grad(smooth_objective)(theta, problem)
    return s + problem.penalty.l1 * jnp.sum(pmask * jnp.abs(theta)), g, pmask


@functools.cache
def methods() -> Methods:
    """The proximal-gradient :class:`~nnmle.solvers.Methods` (cached: one object)."""

    def init(theta0, problem, settings, key):  # noqa: ARG001
        value0, grad0, _ = _parts(problem, theta0)
        step0 = jnp.minimum(1.0, 1.0 / jnp.maximum(jnp.linalg.norm(grad0), 1e-12))
        i0 = jnp.asarray(0, jnp.int32)
        status0 = jnp.where(jnp.isfinite(value0), RUNNING, 2).astype(jnp.int32)
        return State(
            theta0, grad0, value0, theta0, grad0, step0, jnp.full(_WINDOW, value0), value0,
            jnp.asarray(jnp.inf, dtype=value0.dtype), i0, status0, i0,
        )  # fmt: skip

    def step(c: State, problem, settings) -> State:
        l1 = problem.penalty.l1
        pmask = jnp.asarray(problem.penalized, c.theta.dtype)
        d, y = c.theta - c.theta_prev, c.grad - c.grad_prev
        dy, dd = d @ y, d @ d
        bb = jnp.where(dy > 0, dd / jnp.where(dy > 0, dy, 1.0), 2.0 * c.step)
        t0 = jnp.where(c.it == 0, c.step, jnp.clip(bb, 1e-12, 1e12))
        reference = jnp.max(c.history)

        def trial(t):
            th = soft_threshold(c.theta - t * c.grad, t * l1, pmask)
            value, grad, _ = _parts(problem, th)
            decrease = _SIGMA / (2.0 * t) * jnp.sum((th - c.theta) ** 2)
            ok = jnp.isfinite(value) & (value <= reference - decrease)
            return th, value, grad, ok

        def inner_cond(s):
            return ~s[4] & (s[5] < _MAX_HALVINGS)

        def inner_body(s):
            t = s[0] * 0.5
            return (t, *trial(t), s[5] + 1)

        t, th, value, grad, ok, _ = jax.lax.while_loop(inner_cond, inner_body, (t0, *trial(t0), 0))
        theta = jnp.where(ok, th, c.theta)
        grad_new = jnp.where(ok, grad, c.grad)
        value = jnp.where(ok, value, c.value)
        it = c.it + 1
        gnorm = jnp.linalg.norm(min_norm_subgradient(theta, grad_new, l1, pmask))
        improved = (value < c.best) | (gnorm < c.best_gnorm)
        stall = jnp.where(improved, 0, c.stall + 1)
        status = jnp.select(
            [gnorm <= settings.tol, stall >= _STALL_PATIENCE, it >= settings.max_iter],
            [0, 3, 1],
            RUNNING,
        ).astype(jnp.int32)
        history = jnp.roll(c.history, 1).at[0].set(value)
        return State(
            theta, grad_new, value, c.theta, c.grad, jnp.where(ok, t, c.step), history,
            jnp.minimum(c.best, value), jnp.minimum(c.best_gnorm, gnorm), it, status, stall,
        )  # fmt: skip

    def done(c: State):
        return c.status != RUNNING

    def iteration(c: State):
        return c.it

    def solution(c: State, problem) -> Solution:
        pmask = jnp.asarray(problem.penalized, c.theta.dtype)
        gnorm = jnp.linalg.norm(min_norm_subgradient(c.theta, c.grad, problem.penalty.l1, pmask))
        return Solution(c.theta, c.value, gnorm, c.it, c.status)

    return Methods("proximal", init, step, done, iteration, solution)
