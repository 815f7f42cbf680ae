"""Chains on a tempered posterior with blackjax's samplers, vectorized over chains.

Three samplers, all from blackjax (no sampler is written here):

* ``"mala"`` (default): the Metropolis-adjusted Langevin algorithm, full-batch
  gradients, step size tuned during warm-up by dual averaging to an acceptance
  rate of 0.574 (Roberts and Rosenthal 1998);
* ``"nuts"``: the No-U-Turn sampler, step size tuned to an acceptance of 0.99
  (see :data:`SAMPLERS`); the default of WBIC and WAIC, whose global posterior
  is a funnel that MALA does not cross;
* ``"sgld"``: stochastic-gradient Langevin dynamics on minibatches of
  ``batch_size`` rows (for large ``n``), a fixed step size, no Metropolis
  correction (its discretization bias grows with the step size).

Every sampler runs in the whitened coordinates of
:class:`~nnmle.singular._target.Tempered`, where a unit step size is the scale
of the posterior. Chains start at the fit, run ``warmup`` steps that are
discarded, then ``draws`` recorded steps (``thin`` steps between records).
During warm-up the chains are rescaled four times by the covariance of the
draws of a window (windows of 1, 1, 2 and 3 tenths of the warm-up, doubling as
in Stan's adaptation); the last three tenths tune the step size only. SGLD,
whose step size is fixed, is rescaled once, halfway (see ``_rescale_points``).
Chain ``c`` uses ``fold_in(PRNGKey(seed), c)``: the same seed gives the same
draws, bit for bit on the CPU. The work runs in blocks (one compiled function
for warm-up, one for sampling) so that a progress callback can report.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
from blackjax.adaptation.step_size import dual_averaging_adaptation

from ._target import Tempered, batch_log_density, excess, log_density, pointwise_loglik

__all__ = ["SAMPLERS", "Chains", "run_chains"]

#: sampler -> target acceptance rate of the step-size adaptation (None: not adapted). NUTS
#: aims at 0.99, not Stan's 0.8: a singular posterior is a funnel (along the set where a unit's
#: incoming weights vanish, its outgoing ones are free, and vice versa), and a step size tuned to
#: 0.8 keeps the chains out of its narrow neck. On y = a b x + noise (n = 1000, the true map 0,
#: exact WBIC by quadrature) WBIC's error was -0.59, -0.53 at 0.8; -0.06, -0.26 at 0.95; -0.03,
#: -0.03 at 0.99 (tests/test_singular.py pins it).
SAMPLERS = {"mala": 0.574, "nuts": 0.99, "sgld": None}

#: blocks per phase (progress granularity)
_BLOCKS = 10


@dataclass(frozen=True)
class Chains:
    """What the chains recorded.

    Attributes
    ----------
    dnll : ndarray (chains, draws)
        ``(nll(w) - nll(w_fit)) / phi`` at each draw: ``n (L_n(w) - L_n(w_fit))``.
    penalty : ndarray (chains, draws)
        ``penalty(w) / phi`` at each draw.
    acceptance : ndarray (chains,)
        Mean acceptance probability over the recorded steps (NaN for SGLD).
    step_size : ndarray (chains,)
        The step size used for the recorded steps (whitened units).
    pointwise : dict or None
        Per row, over each chain's draws: ``lse`` (log-sum-exp of ``log p_i``),
        ``s1``/``s2`` (sums of ``log p_i`` and of its square); arrays (chains, rows).
    sampler : str
    seconds : float
        Wall time of warm-up and sampling (compilation included on a first call).
    """

    dnll: np.ndarray = field(repr=False)
    penalty: np.ndarray = field(repr=False)
    acceptance: np.ndarray
    step_size: np.ndarray
    pointwise: dict | None = field(repr=False)
    sampler: str
    seconds: float


class _Spec(NamedTuple):
    """The static part of a run (what a compiled block depends on)."""

    sampler: str
    block: int
    thin: int
    batch: int
    pointwise: bool


def _kernel(spec: _Spec, t: Tempered):
    """``step(key, state, eps) -> (state, acceptance)`` for one chain."""

    def logp(u):
        return log_density(t, u)

    if spec.sampler == "mala":
        mala = blackjax.mcmc.mala.build_kernel()

        def mala_step(key, state, eps):
            state, info = mala(key, state, logp, eps)
            return state, info.acceptance_rate

        return mala_step
    if spec.sampler == "nuts":
        nuts = blackjax.mcmc.nuts.build_kernel()

        def nuts_step(key, state, eps):
            state, info = nuts(key, state, logp, eps, jnp.ones_like(state.position))
            return state, info.acceptance_rate

        return nuts_step
    sgld = blackjax.sgmcmc.sgld.build_kernel()
    n_obs = t.problem.n_obs

    def grad(u, rows):
        return jax.grad(batch_log_density, argnums=1)(t, u, rows)

    def sgld_step(key, state, eps):
        k_rows, k_move = jax.random.split(key)
        rows = jax.random.randint(k_rows, (spec.batch,), 0, n_obs)
        return sgld(k_move, state, grad, rows, eps), jnp.nan

    return sgld_step


def _init(spec: _Spec, t: Tempered, u0):
    if spec.sampler == "mala":
        return blackjax.mcmc.mala.init(u0, lambda u: log_density(t, u))
    if spec.sampler == "nuts":
        return blackjax.mcmc.hmc.init(u0, lambda u: log_density(t, u))
    return u0


def _position(spec: _Spec, state):
    return state if spec.sampler == "sgld" else state.position


@functools.partial(jax.jit, static_argnames=("spec", "target"))
def _warm_block(spec: _Spec, target: float | None, t: Tempered, states, tuning, keys):
    """``spec.block`` warm-up steps per chain; ``tuning`` is the dual-averaging state (adapted
    samplers) or the fixed step size (SGLD)."""
    step = _kernel(spec, t)
    _, update, _ = dual_averaging_adaptation(target or 0.5)

    def chain(state, tune, key):
        def body(carry, k):
            state, tune = carry
            eps = jnp.exp(tune.log_step_size) if target else tune
            state, acc = step(k, state, eps)
            if target:
                tune = update(tune, jnp.where(jnp.isfinite(acc), acc, 0.0))
            return (state, tune), _position(spec, state)

        key, sub = jax.random.split(key)
        (state, tune), path = jax.lax.scan(body, (state, tune), jax.random.split(sub, spec.block))
        return state, tune, key, path

    return jax.vmap(chain)(states, tuning, keys)


@functools.partial(jax.jit, static_argnames=("spec",))
def _sample_block(spec: _Spec, t: Tempered, states, eps, keys, acc_pw, n_valid):
    """``spec.block`` records per chain (``spec.thin`` steps each); records from ``n_valid`` on
    are not added to the pointwise sums."""
    step = _kernel(spec, t)

    def chain(state, eps, key, acc_pw):
        def move(carry, k):
            state, a = carry
            state, acc = step(k, state, eps)
            return (state, a + acc), None

        def record(carry, xs):
            ks, i = xs
            state, acc_sum, pw = carry
            (state, acc_sum), _ = jax.lax.scan(move, (state, acc_sum), ks)
            u = _position(spec, state)
            logd = None if spec.sampler == "sgld" else state.logdensity
            dnll, pen = excess(t, u, logd)
            if spec.pointwise:
                lp = jnp.where(i < n_valid, pointwise_loglik(t, u), 0.0)
                lse, s1, s2 = pw
                new = jnp.where(i < n_valid, jnp.logaddexp(lse, lp), lse)
                pw = (new, s1 + lp, s2 + lp**2)
            return (state, acc_sum, pw), (dnll, pen)

        key, sub = jax.random.split(key)
        ks = jax.random.split(sub, spec.block * spec.thin).reshape(spec.block, spec.thin, -1)
        acc, pw = acc_pw
        (state, acc, pw), (dnll, pen) = jax.lax.scan(
            record, (state, acc, pw), (ks, jnp.arange(spec.block))
        )
        return state, key, (acc, pw), dnll, pen

    return jax.vmap(chain, in_axes=(0, 0, 0, 0))(states, eps, keys, acc_pw)


def _rescale(spec: _Spec, t: Tempered, states, path: np.ndarray):
    """Whiten ``t`` further by the covariance of warm-up draws ``path`` (chains, steps, k);
    the chains' positions are mapped to the new coordinates and their states rebuilt."""
    k = path.shape[-1]
    draws = path.reshape(-1, k)
    m = draws.shape[0]
    cov = np.cov(draws, rowvar=False).reshape(k, k)
    cov = (m / (m + 5.0)) * cov + 1e-3 * (5.0 / (m + 5.0)) * np.eye(k)  # as Stan's warm-up
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        return t, states
    t = t._replace(root=t.root @ jnp.asarray(chol))
    u = np.linalg.solve(chol, np.asarray(_position(spec, states)).T).T
    return t, jax.vmap(lambda v: _init(spec, t, v))(jnp.asarray(u))


def _rescale_points(n_blocks: int, adapted: bool = True) -> tuple[tuple[int, int], ...]:
    """``(block, first)`` pairs: at the start of warm-up block ``block`` the chains are rescaled
    by the covariance of the draws of blocks ``first`` to ``block - 1``.

    With an adapted step size (MALA, NUTS): windows of 1, 1, 2, 3 tenths of the warm-up
    (doubling, as Stan's), the last three tenths tune the step size only. With a fixed step
    size (SGLD) one rescaling halfway, by the draws of the second quarter: each rescaling
    shrinks the coordinates to the draws' spread and a fixed step does not follow, so repeated
    ones would stall the chains.

    Examples
    --------
    >>> _rescale_points(10)
    ((1, 0), (2, 1), (4, 2), (7, 4))
    >>> _rescale_points(10, adapted=False), _rescale_points(2)
    (((5, 2),), ())
    """
    if n_blocks < 4:
        return ()
    if not adapted:
        return ((n_blocks // 2, n_blocks // 4),)
    ends = sorted({max(1, round(n_blocks * f)) for f in (0.1, 0.2, 0.4, 0.7)})
    return tuple(zip(ends, [0, *ends[:-1]], strict=True))


def run_chains(
    t: Tempered,
    *,
    sampler: str = "mala",
    chains: int = 8,
    draws: int = 1000,
    warmup: int = 500,
    seed: int = 0,
    step_size: float | None = None,
    batch_size: int = 256,
    thin: int = 1,
    pointwise: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Chains:
    """Run ``chains`` chains on ``t`` (arguments validated by the caller).

    ``step_size`` is the initial step size of the adaptation (MALA, NUTS) or the
    fixed step size (SGLD; default ``1e-3``). ``progress(done, total)`` is
    called after each block of steps.
    """
    target = SAMPLERS[sampler]
    k = int(t.free.shape[0])
    if step_size is None:
        step_size = {"mala": k ** (-1 / 3), "nuts": 0.5, "sgld": 1e-3}[sampler]
    rows = int(t.problem.require_data().X.shape[0])
    w_block = max(1, math.ceil(warmup / _BLOCKS)) if warmup else 0
    d_block = max(1, math.ceil(draws / _BLOCKS))
    w_spec = _Spec(sampler, w_block, 1, int(min(batch_size, t.problem.n_obs)), False)
    d_spec = w_spec._replace(block=d_block, thin=int(thin), pointwise=bool(pointwise))
    n_w = math.ceil(warmup / w_block) if warmup else 0
    n_d = math.ceil(draws / d_block)
    total, done = n_w * w_block + n_d * d_block * thin, 0
    start = time.perf_counter()

    base = jax.random.PRNGKey(seed)
    keys = jax.vmap(lambda c: jax.random.fold_in(base, c))(jnp.arange(chains))
    states = jax.vmap(lambda u: _init(w_spec, t, u))(jnp.zeros((chains, k)))
    if target:
        da_init, _, da_final = dual_averaging_adaptation(target)
    # warm-up: tune the step size; at the start of each block of `windows`, rescale the chains
    # by the covariance of the draws of its window (_rescale_points; a linear map: the target's
    # expectations are unchanged) and restart the step-size tuning
    windows = dict(_rescale_points(n_w, adapted=bool(target)))
    path: list[np.ndarray] = []
    for b in range(n_w):
        if b == 0 or b in windows:
            if b in windows:
                t, states = _rescale(w_spec, t, states, np.concatenate(path, axis=1))
                path = []
            tuning = (
                jax.vmap(da_init)(jnp.full(chains, float(step_size)))
                if target
                else jnp.full(chains, float(step_size))
            )
        states, tuning, keys, steps = _warm_block(w_spec, target, t, states, tuning, keys)
        nxt = min((e for e in windows if e > b), default=None)
        if nxt is not None and b >= windows[nxt]:
            path.append(np.asarray(steps))
        done += w_block
        if progress is not None:
            progress(done, total)
    if n_w == 0:
        tuning = jnp.full(chains, float(step_size))
    eps = jax.vmap(da_final)(tuning) if target and n_w else tuning

    pw0 = (jnp.full((chains, rows), -jnp.inf), jnp.zeros((chains, rows)), jnp.zeros((chains, rows)))
    acc_pw = (jnp.zeros(chains), pw0)
    dnll, pen = [], []
    for b in range(n_d):
        n_valid = jnp.asarray(draws - b * d_block)
        states, keys, acc_pw, dn, pe = _sample_block(d_spec, t, states, eps, keys, acc_pw, n_valid)
        dnll.append(np.asarray(dn))
        pen.append(np.asarray(pe))
        done += d_block * thin
        if progress is not None:
            progress(done, total)
    dnll_all = np.concatenate(dnll, axis=1)[:, :draws]
    pen_all = np.concatenate(pen, axis=1)[:, :draws]
    acc, pw = acc_pw
    acceptance = np.asarray(acc) / (n_d * d_block * thin) if target else np.full(chains, np.nan)
    pointwise_out = None
    if pointwise:
        lse, s1, s2 = (np.asarray(a) for a in pw)
        pointwise_out = {"lse": lse, "s1": s1, "s2": s2, "count": draws}
    return Chains(
        dnll_all, pen_all, acceptance, np.asarray(eps), pointwise_out, sampler,
        time.perf_counter() - start,
    )  # fmt: skip
