"""Minibatch Adam for large data sets: one iteration is one epoch.

Each epoch shuffles the (padded) rows with the start's key and takes one Adam
step (optax) per minibatch of ``batch_size`` rows on

    (n / batch_size) * sum_{i in batch} w_i nll_i + penalty(theta),

an unbiased estimate of the full objective (padded rows have weight zero). After
each epoch the full objective and its gradient decide the status: ``converged``
(gradient norm at most ``tol``), ``non_finite`` or, after ``max_iter`` epochs,
``max_iter``. The L1 term, if any, enters through its subgradient (no exact
zeros: use the proximal solver for those).
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from ..data import Data
from ..networks import effective
from ..penalties import penalty_value
from ..problem import negloglik, objective
from ._base import RUNNING, Methods, Solution

__all__ = ["methods"]


class State(NamedTuple):
    """The loop's carry."""

    theta: jax.Array
    opt_state: Any
    key: jax.Array
    it: jax.Array
    status: jax.Array


@functools.cache
def methods(batch_size: int = 256) -> Methods:
    """The minibatch Adam :class:`~nnmle.solvers.Methods` (cached per ``batch_size``)."""

    def make(settings):
        return optax.adam(settings.learning_rate)

    def init(theta0, problem, settings, key):  # noqa: ARG001
        i0 = jnp.asarray(0, jnp.int32)
        return State(theta0, make(settings).init(theta0), key, i0, jnp.asarray(RUNNING, jnp.int32))

    def step(c: State, problem, settings) -> State:
        data = problem.data
        n = data.X.shape[0]
        bs = min(batch_size, n)
        n_batches = math.ceil(n / bs)
        opt = make(settings)
        key = jax.random.fold_in(c.key, c.it)
        perm = jax.random.permutation(key, n_batches * bs) % n
        wmask = (jnp.arange(n_batches * bs) < n).astype(c.theta.dtype)
        idx, wm = perm.reshape(n_batches, bs), wmask.reshape(n_batches, bs)

        def batch_obj(theta, rows, keep):
            off = None if data.offset is None else data.offset[rows]
            sub = problem.replace(data=Data(data.X[rows], data.Y[rows], data.w[rows] * keep, off))
            th = effective(theta, problem.arch)
            return negloglik(theta, sub) * (n / bs) + penalty_value(
                th, problem.arch, problem.penalty
            )

        def one(carry, xs):
            th, st = carry
            g = jax.grad(batch_obj)(th, *xs)
            upd, st = opt.update(g, st, th)
            return (optax.apply_updates(th, upd), st), None

        (theta, opt_state), _ = jax.lax.scan(one, (c.theta, c.opt_state), (idx, wm))
        value, grad = jax.value_and_grad(objective)(theta, problem)
        it = c.it + 1
        bad = ~jnp.isfinite(value) | ~jnp.all(jnp.isfinite(theta))
        status = jnp.select(
            [bad, jnp.linalg.norm(grad) <= settings.tol, it >= settings.max_iter],
            [2, 0, 1],
            RUNNING,
        ).astype(jnp.int32)
        theta = jnp.where(bad, c.theta, theta)
        return State(theta, opt_state, c.key, it, status)

    def done(c: State):
        return c.status != RUNNING

    def iteration(c: State):
        return c.it

    def solution(c: State, problem) -> Solution:
        value, grad = jax.value_and_grad(objective)(c.theta, problem)
        return Solution(c.theta, value, jnp.linalg.norm(grad), c.it, c.status)

    return Methods("adam", init, step, done, iteration, solution)
