"""The one loop every solver runs in (optimistix's ``_iterate`` spirit).

``solve`` is ``init``, then ``step`` in a ``lax.while_loop`` until ``done``,
then ``solution`` and the fit statistics at the solution: one compiled call per
start, the only compilation a fit needs besides its verdicts. The pool of vmapped lanes
(``init_lanes``/``advance_lanes``/``refill_lanes``) advances several starts
together for ``chunk`` iterations at a time. The solver's pure functions are a
static argument; the problem (data, penalty) and the settings are traced.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..problem import fit_statistics
from ._base import Methods, Solution
from ._solver import Solver

__all__ = ["advance", "init_state", "solution", "solve", "start_key", "trace"]


def start_key(solver: Solver, index: int) -> jax.Array:
    """The random key of start ``index`` (used by stochastic solvers only)."""
    return jax.random.fold_in(jax.random.PRNGKey(solver.seed), 10_000 + int(index))


@functools.partial(jax.jit, static_argnames=("methods",))
def _solve(methods: Methods, theta0, problem, settings, key):
    state = methods.init(theta0, problem, settings, key)
    state = jax.lax.while_loop(
        lambda s: ~methods.done(s), lambda s: methods.step(s, problem, settings), state
    )
    sol = methods.solution(state, problem)
    return sol._replace(statistics=fit_statistics(sol.theta, problem))


def solve(solver: Solver, theta0, problem, index: int = 0) -> Solution:
    """Run ``solver`` from ``theta0`` to its end; a :class:`Solution` of NumPy values."""
    sol = _solve(
        solver.methods,
        jnp.asarray(theta0, jnp.float64),
        problem,
        solver.settings,
        start_key(solver, index),
    )
    return Solution(*(None if v is None else np.asarray(v) for v in sol))


def _maybe_vmap(fn, batched: bool):
    return jax.vmap(fn) if batched else fn


@functools.partial(jax.jit, static_argnames=("methods", "batched"))
def init_state(methods: Methods, thetas0, problem, settings, keys, batched: bool = False):
    """The initial state (of every lane, when ``batched``)."""

    def one(theta0, key):
        return methods.init(theta0, problem, settings, key)

    return _maybe_vmap(one, batched)(thetas0, keys)


@functools.partial(jax.jit, static_argnames=("methods", "batched"))
def advance(methods: Methods, state, problem, settings, chunk, batched: bool = False):
    """Up to ``chunk`` more iterations (fewer when the solver is done)."""

    def one(s):
        until = methods.iteration(s) + chunk
        return jax.lax.while_loop(
            lambda c: ~methods.done(c) & (methods.iteration(c) < until),
            lambda c: methods.step(c, problem, settings),
            s,
        )

    return _maybe_vmap(one, batched)(state)


@functools.partial(jax.jit, static_argnames=("methods", "batched"))
def solution(methods: Methods, state, problem, batched: bool = False) -> Solution:
    """The :class:`Solution` of the state (of every lane, when ``batched``)."""
    return _maybe_vmap(lambda s: methods.solution(s, problem), batched)(state)


@functools.partial(jax.jit, static_argnames=("methods", "n_iter"))
def trace(methods: Methods, state, problem, settings, free, n_iter: int):
    """Up to ``n_iter`` more iterations in one compiled scan, recording each one.

    Returns the norm of the weights where ``free`` is true, the objective and
    whether the solver was done, after each iteration (a done solver stays put),
    and the weights at the end.
    """

    def body(s, _):
        s = jax.lax.cond(
            methods.done(s), lambda c: c, lambda c: methods.step(c, problem, settings), s
        )
        sol = methods.solution(s, problem)
        norm = jnp.linalg.norm(jnp.where(free, sol.theta, 0.0))
        return s, (norm, sol.value, methods.done(s))

    state, (norms, values, done) = jax.lax.scan(body, state, None, length=n_iter)
    return norms, values, done, methods.solution(state, problem).theta


@functools.partial(jax.jit, static_argnames=("methods",))
def refill(methods: Methods, state, replace, thetas0, problem, settings, keys):
    """Lanes where ``replace`` is true restart from ``thetas0`` (the pool's refill)."""
    fresh = jax.vmap(lambda th, k: methods.init(th, problem, settings, k))(thetas0, keys)

    def pick(old, new):
        r = replace.reshape(replace.shape + (1,) * (old.ndim - 1))
        return jnp.where(r, new, old)

    return jax.tree_util.tree_map(pick, state, fresh)


def status_of(methods: Methods, state) -> np.ndarray:
    """Whether each lane is done (NumPy bool array)."""
    return np.asarray(jax.vmap(methods.done)(state))
