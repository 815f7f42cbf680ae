"""Local execution of starts: one thread per core, each running its share of the starts.

A thread runs its starts one at a time (``batch=1``, measured fastest on CPUs:
see the README) or as a *pool* of ``batch`` lanes advanced together under
``vmap`` for ``chunk`` iterations at a time, a finished lane being refilled with
the next start (for accelerators, where wide batches pay). With one lane a
start's result depends only on its starting vector (and its index, for
stochastic solvers), so any split of the starts gives identical results.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from ..solvers import (
    Solution,
    Solver,
    advance,
    init_state,
    refill,
    solution,
    solve,
    start_key,
    status_of,
)
from ._result import StartResult, from_solution

__all__ = ["LocalExecutor"]


@dataclass(frozen=True)
class LocalExecutor:
    """Run starts in threads of this process.

    Parameters
    ----------
    workers : int or None
        Threads; start ``k`` of the list goes to thread ``k % workers``.
        Default: the number of CPU cores (at most the number of starts).
    batch : int
        Lanes per thread (1: one start at a time).
    chunk : int
        Iterations between refills of finished lanes when ``batch > 1``.
    """

    workers: int | None = None
    batch: int = 1
    chunk: int = 50

    def identity(self) -> dict:
        """What a stored job must record about this executor (lanes change results)."""
        return {} if self.batch <= 1 else {"batch": int(self.batch), "chunk": int(self.chunk)}

    def map(self, fn: Callable, keys: Sequence, shared=None, on_result=None) -> list:
        """``fn(shared, [key])`` for every key, in threads; one result per key, in order.

        Units of work that are not starts (bootstrap replicates, CV folds) run here;
        each calls :func:`nnmle.starts.run_starts` itself.
        """
        keys = list(keys)
        out: list = [None] * len(keys)
        n_workers = max(1, min(len(keys), self.workers or os.cpu_count() or 1))
        lock = threading.Lock()

        def one(i: int) -> None:
            (res,) = fn(shared, [keys[i]])
            with lock:
                out[i] = res
                if on_result is not None:
                    on_result(keys[i], res)

        if n_workers == 1:
            for i in range(len(keys)):
                one(i)
        else:
            with ThreadPoolExecutor(n_workers) as pool:
                for fut in [pool.submit(one, i) for i in range(len(keys))]:
                    fut.result()
        return out

    def run(
        self,
        problem,
        solver: Solver,
        thetas0: np.ndarray,
        indices: Sequence[int],
        on_result: Callable[[StartResult], None] | None = None,
    ) -> list[StartResult]:
        """Run start ``indices[i]`` from ``thetas0[i]``; results in the order of ``indices``."""
        thetas0 = np.asarray(thetas0, dtype=np.float64)
        K = thetas0.shape[0]
        if K == 0:
            return []
        n_workers = max(1, min(K, self.workers or os.cpu_count() or 1))
        results: list[StartResult | None] = [None] * K
        lock = threading.Lock()

        def record(pos: int, res: StartResult) -> None:
            with lock:
                results[pos] = res
                if on_result is not None:
                    on_result(res)

        shares = [list(range(w, K, n_workers)) for w in range(n_workers)]
        args = (problem, solver, thetas0, list(indices), record)
        if n_workers == 1:
            _run_share(shares[0], *args, self.batch, self.chunk)
        else:
            with ThreadPoolExecutor(n_workers) as pool:
                futures = [
                    pool.submit(_run_share, sh, *args, self.batch, self.chunk) for sh in shares
                ]
                for fut in futures:
                    fut.result()
        return [r for r in results if r is not None]


def _run_share(share, problem, solver, thetas0, indices, record, batch, chunk) -> None:
    if batch <= 1:
        for pos in share:
            t0 = time.perf_counter()
            sol = solve(solver, thetas0[pos], problem, indices[pos])
            record(pos, from_solution(indices[pos], sol, time.perf_counter() - t0))
        return
    _run_lanes(share, problem, solver, thetas0, indices, record, batch, chunk)


def _run_lanes(share, problem, solver, thetas0, indices, record, batch, chunk) -> None:
    """A pool of ``batch`` vmapped lanes, refilled as starts finish."""
    methods, settings = solver.methods, solver.settings
    B = min(batch, len(share))
    lanes = list(share[:B])  # position per lane, -1 when idle
    queue = list(share[B:])
    started = [time.perf_counter()] * B

    def keys(positions):
        return jnp.stack([start_key(solver, indices[p] if p >= 0 else 0) for p in positions])

    state = init_state(
        methods, jnp.asarray(thetas0[lanes]), problem, settings, keys(lanes), batched=True
    )
    chunk_a = jnp.asarray(chunk, jnp.int32)
    while any(p >= 0 for p in lanes):
        state = advance(methods, state, problem, settings, chunk_a, batched=True)
        done = status_of(methods, state)
        finished = [b for b in range(B) if lanes[b] >= 0 and done[b]]
        if not finished:
            continue
        sols = Solution(
            *(None if v is None else np.asarray(v) for v in solution(methods, state, problem, True))
        )
        now = time.perf_counter()
        replace = np.zeros(B, dtype=bool)
        new_thetas = np.array(sols.theta)
        for b in finished:
            one = Solution(*(None if v is None else v[b] for v in sols))
            record(lanes[b], from_solution(indices[lanes[b]], one, now - started[b]))
            if queue:
                lanes[b] = queue.pop(0)
                new_thetas[b] = thetas0[lanes[b]]
                replace[b] = True
                started[b] = now
            else:
                lanes[b] = -1
        if replace.any():
            state = refill(
                methods, state, jnp.asarray(replace), jnp.asarray(new_thetas), problem,
                settings, keys(lanes),
            )  # fmt: skip
