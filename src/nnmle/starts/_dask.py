"""Dask execution: run starts (and any other batch of units) on Dask workers.

The client splits a job into tasks of ``units_per_task`` units, ships the
problem once to every worker (``scatter(broadcast=True)``), and collects tasks
as they complete. Each task runs its starts one at a time in one thread, so a
start's result depends only on its starting vector and the results equal the
local run's, bit for bit on the same kind of CPU. A worker process compiles the
objective once (the problem's row count is bucketed and its penalty traced) and
reuses it for every later task.

With a store (:func:`nnmle.starts.run_starts` with ``store=``), the *client*
writes every unit the moment its task completes: the store never has to be
reachable from the workers, and a worker that dies loses only the units of its
unfinished task, which Dask reruns elsewhere.

Dask moves tasks and results between the client and the workers with pickle:
connect only to a scheduler you trust (model files, by contrast, never use
pickle).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np

from ..data import Data
from ..families import get_family
from ..problem import Problem
from ._local import LocalExecutor
from ._result import StartResult

__all__ = ["DaskExecutor", "dask_client", "map_units", "pin_workers"]


@contextlib.contextmanager
def dask_client(
    client=None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    *,
    processes: bool = True,
    threads_per_worker: int = 1,
    pin: bool = True,
) -> Iterator[Any]:
    """A ``distributed.Client``: the one given, one connected to ``scheduler``, or a new
    ``LocalCluster`` of ``n_workers`` on 127.0.0.1 (closed on exit).

    Parameters
    ----------
    client : distributed.Client, optional
        Used as is (not closed).
    scheduler : str, optional
        Address such as ``"tcp://10.0.0.5:8786"`` of a running ``dask scheduler``.
    n_workers : int, optional
        Workers of a new local cluster (the CLI's ``--workers N``).
    processes : bool
        Local workers as processes (default) or threads of this process.
    threads_per_worker : int
        Threads per local worker; 1 keeps one start per core.
    pin : bool
        Local worker processes (Linux): split this process's cores evenly among
        the workers and pin each worker to its share (:func:`pin_workers`). XLA
        spreads a single start over every core it may use, so an unpinned lone
        worker borrows idle cores and unpinned workers steal from each other.
    """
    given = sum(x is not None for x in (client, scheduler, n_workers))
    if given != 1:
        raise ValueError(
            f"Give exactly one of client=, scheduler= or n_workers=; got {given}. "
            f"Fix: n_workers=2 for a local cluster, or scheduler='tcp://HOST:8786'."
        )
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        if not isinstance(scheduler, str) or "://" not in scheduler:
            raise ValueError(
                f"scheduler must be an address such as 'tcp://HOST:8786'; got {scheduler!r}."
            )
        with Client(scheduler) as c:
            yield c
        return
    if not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"n_workers must be a positive integer; got {n_workers!r}.")
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=processes,
            protocol="tcp://",
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as c,
    ):
        if pin and processes:
            pin_workers(c)
        yield c


def _cores() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def _pin_process(cores: list[int]) -> list[int]:
    """Worker side: pin every thread of this process to ``cores`` (later threads inherit)."""
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):  # a thread that has just exited
            os.sched_setaffinity(int(tid), cores)
    return sorted(os.sched_getaffinity(0))


def pin_workers(client, cores: Sequence[int] | None = None) -> dict:
    """Pin the worker processes of a local cluster to disjoint, equal shares of the cores.

    With ``W`` workers and ``C`` cores (``cores``, default: those available to
    this process), worker ``i`` gets cores ``i * (C // W)`` to
    ``(i + 1) * (C // W) - 1`` (Linux only; nothing happens elsewhere, or when
    there are more workers than cores). Returns the cores of each worker by address.
    """
    cores = sorted(cores) if cores is not None else _cores()
    workers = sorted(client.scheduler_info()["workers"])
    if (
        not cores
        or not workers
        or len(workers) > len(cores)
        or not os.path.isdir("/proc/self/task")
    ):
        return {}
    share = len(cores) // len(workers)
    out = {}
    for i, addr in enumerate(workers):
        mine = cores[i * share : (i + 1) * share]
        out.update(client.run(_pin_process, mine, workers=[addr]))
    return out


def _n_threads(client) -> int:
    return max(1, sum(client.nthreads().values()))


def _run_batch(fn, shared, keys):
    return list(zip(keys, fn(shared, keys), strict=True))


def map_units(
    client,
    fn: Callable[[Any, list], Sequence],
    keys: Sequence,
    shared: Any = None,
    *,
    units_per_task: int | None = None,
    on_result: Callable[[Any, Any], None] | None = None,
) -> list:
    """Run ``fn(shared, batch_of_keys)`` on the workers and return one result per key.

    The building block for any kind of unit (starts, bootstrap replicates, CV
    folds, path points): ``fn`` must be importable on the workers (a
    module-level function) and return one result per key, in order; ``shared``
    (the data) is sent once to every worker.

    Parameters
    ----------
    client : distributed.Client
    fn : callable
        ``fn(shared, keys) -> results``.
    keys : sequence
        The units to compute.
    shared : object, optional
        Sent to every worker once (scattered, broadcast).
    units_per_task : int, optional
        Units per Dask task; default ``ceil(len(keys) / (8 * threads))`` capped
        at 16, which balances the load while keeping the per-task overhead
        (a few milliseconds) small next to a start.
    on_result : callable, optional
        ``on_result(key, result)`` in the client as each task completes (this
        is where a store is written).

    Returns
    -------
    list
        Results in the order of ``keys``.
    """
    from distributed import as_completed

    keys = list(keys)
    if not keys:
        return []
    size = units_per_task or min(16, math.ceil(len(keys) / (8 * _n_threads(client))))
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"units_per_task must be a positive integer; got {units_per_task!r}.")
    (shared_f,) = client.scatter([shared], broadcast=True, hash=True)
    batches = [keys[i : i + size] for i in range(0, len(keys), size)]
    futures = [client.submit(_run_batch, fn, shared_f, b, pure=False) for b in batches]
    position = {k: i for i, k in enumerate(keys)}
    out: list = [None] * len(keys)
    for fut in as_completed(futures):
        for key, res in fut.result():
            out[position[key]] = res
            if on_result is not None:
                on_result(key, res)
        fut.release()
    return out


def _plain_problem(problem) -> tuple:
    """The problem as NumPy arrays and names (the built-in family's name, not its object)."""
    if problem.family is not get_family(problem.family.name):
        raise ValueError(
            f"Only the built-in families run on Dask workers; got {problem.family!r}. "
            f"Fix: family=nnmle.get_family('<name>')."
        )
    arrays = tuple(
        None if a is None else np.asarray(a, dtype=np.float64) for a in problem.require_data()
    )
    return arrays, problem.family.name, problem.arch, problem.penalty, int(problem.n_obs)


def _rebuild(plain) -> Problem:
    arrays, family_name, arch, penalty, n_obs = plain
    data = Data(*(None if a is None else jnp.asarray(a) for a in arrays))
    return Problem(data, get_family(family_name), arch, penalty, n_obs)


def _starts_fn(shared, positions):
    """Worker side: run the starts at ``positions`` of the shared problem in one thread."""
    plain, solver, thetas0, indices = shared
    problem = _rebuild(plain)
    idx = [indices[p] for p in positions]
    return LocalExecutor(workers=1).run(problem, solver, thetas0[positions], idx)


@dataclass(frozen=True)
class DaskExecutor:
    """Run starts on the workers of a Dask ``client`` (which must stay open while used).

    For example, 200 starts on two local worker processes, kept in a store::

        with dask_client(n_workers=2) as client:
            res = nnmle.fit(X, y, n_starts=200, executor=DaskExecutor(client), store="s.sqlite")

    Parameters
    ----------
    client : distributed.Client
    units_per_task : int, optional
        Starts per Dask task (see :func:`map_units`).
    """

    client: Any
    units_per_task: int | None = None

    def identity(self) -> dict:
        """Dask runs one start at a time per thread: results equal a local run's."""
        return {}

    def map(self, fn: Callable, keys: Sequence, shared=None, on_result=None) -> list:
        """``fn(shared, batch_of_keys)`` on the workers (:func:`map_units`); results in order."""
        return map_units(
            self.client, fn, keys, shared, units_per_task=self.units_per_task, on_result=on_result
        )

    def run(
        self,
        problem,
        solver,
        thetas0: np.ndarray,
        indices: Sequence[int],
        on_result: Callable[[StartResult], None] | None = None,
    ) -> list[StartResult]:
        """Run start ``indices[i]`` from ``thetas0[i]`` on the workers."""
        shared = (_plain_problem(problem), solver, np.asarray(thetas0, np.float64), list(indices))
        return map_units(
            self.client,
            _starts_fn,
            list(range(len(indices))),
            shared,
            units_per_task=self.units_per_task,
            on_result=None if on_result is None else (lambda _k, r: on_result(r)),
        )

    def warm_up(self, problem, solver, theta0) -> None:
        """Compile the problem on every worker (run one start there) before timing."""
        shared = (_plain_problem(problem), solver, np.asarray(theta0, np.float64)[None, :], [0])
        self.client.run(_starts_fn, shared, [0])
