"""Dask backend: run starts (and any other batch of units) on Dask workers.

The client splits a job into tasks of ``units_per_task`` units, ships the
data once to every worker (``scatter(broadcast=True)``), and collects tasks
as they complete. Each task runs its starts with :func:`nnmle.fit.run_starts`
(one thread, ``batch=1``), so a start's result depends only on its starting
vector and the results equal the local run's, bit for bit on the same kind of
CPU. A worker process compiles the objective once (JAX's cache in the process
and the persistent compilation cache on disk) and reuses it for every later
task of the same problem.

With a store (:mod:`nnmle.store`), the *client* writes every unit of a task
the moment the task completes: the store never has to be reachable from the
workers, and a worker that dies loses only the units of its unfinished task,
which Dask reruns elsewhere.

Dask moves tasks and results between the client and the workers with pickle:
connect only to a scheduler you trust (model files, by contrast, never use
pickle).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

from .families import Family, get_family
from .fit import DEFAULT_MEMORY, StartResult, run_starts
from .networks import Architecture
from .objective import Data
from .penalties import Penalty
from .store import Store, run_starts_stored

__all__ = ["dask_client", "dask_runner", "map_units", "run_starts_dask", "warm_up"]


@contextlib.contextmanager
def dask_client(
    client=None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    *,
    processes: bool = True,
    threads_per_worker: int = 1,
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
        yield c


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

    This is the building block for any kind of unit (starts, bootstrap
    replicates, CV folds, path points): ``fn`` must be importable on the
    workers (a module-level function) and return one result per key, in
    order; ``shared`` (the data) is sent once to every worker.

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


def _starts_fn(shared, indices):
    """Worker side: run the starts ``indices`` of the shared problem in one thread."""
    (X, Y, w), thetas0, family_name, arch, penalty, opts = shared
    data = Data(jnp.asarray(X), jnp.asarray(Y), jnp.asarray(w))
    family = get_family(family_name)  # the module's instance: one jit cache entry per worker
    res = run_starts(thetas0[indices], data, family, arch, penalty, workers=1, **opts)
    return [dataclasses.replace(r, index=int(indices[r.index])) for r in res]


def _shared(thetas0, data, family, arch, penalty, tol, max_iter, batch, chunk, memory):
    if family is not get_family(family.name):
        raise ValueError(
            f"Only the built-in families run on Dask workers; got {family!r}. "
            f"Fix: family=nnmle.get_family('<name>')."
        )
    arrays = tuple(np.asarray(a, dtype=np.float64) for a in data)
    opts = {"tol": tol, "max_iter": max_iter, "batch": batch, "chunk": chunk, "memory": memory}
    return arrays, np.asarray(thetas0, dtype=np.float64), family.name, arch, penalty, opts


def dask_runner(client, units_per_task: int | None = None) -> Callable[..., list[StartResult]]:
    """A function with :func:`nnmle.fit.run_starts`'s signature that runs on ``client``.

    Pass it as ``runner=`` to :func:`nnmle.fit` / ``fit_prepared`` or
    :func:`nnmle.store.run_starts_stored` to put their starts on Dask workers;
    the client must stay open while it is used.

    For example, 200 starts on two local worker processes, kept in a store::

        with dask_client(n_workers=2) as client:
            res = nnmle.fit(X, y, n_restarts=200, runner=dask_runner(client), store="s.sqlite")
    """

    def runner(
        thetas0,
        data,
        family,
        arch,
        penalty,
        tol=1e-6,
        max_iter=5000,
        batch=None,
        chunk=50,
        memory=DEFAULT_MEMORY,
        workers=None,  # noqa: ARG001  (Dask decides)
        on_result=None,
    ):
        shared = _shared(thetas0, data, family, arch, penalty, tol, max_iter, batch, chunk, memory)
        return map_units(
            client,
            _starts_fn,
            list(range(len(thetas0))),
            shared,
            units_per_task=units_per_task,
            on_result=None if on_result is None else (lambda _k, r: on_result(r)),
        )

    return runner


def run_starts_dask(
    thetas0: np.ndarray,
    data: Data,
    family: Family,
    arch: Architecture,
    penalty: Penalty,
    *,
    client=None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    store: Store | str | os.PathLike | None = None,
    config: dict | None = None,
    units_per_task: int | None = None,
    tol: float = 1e-6,
    max_iter: int = 5000,
    batch: int | None = None,
    chunk: int = 50,
    memory: int = DEFAULT_MEMORY,
    on_result: Callable[[StartResult], None] | None = None,
    kind: str = "start",
) -> list[StartResult]:
    """:func:`nnmle.fit.run_starts` on Dask workers, optionally resuming from a store.

    Parameters
    ----------
    thetas0 : ndarray of shape (K, n_total)
        Starting weights, one start per row.
    data, family, arch, penalty
        The problem.
    client, scheduler, n_workers
        Exactly one: a ``distributed.Client``, a scheduler address
        (``--scheduler tcp://HOST:PORT``) or a number of local workers
        (``--workers N``: a ``LocalCluster`` of processes on 127.0.0.1 with
        one thread each, started and closed here).
    store : Store or path, optional
        Finished starts are read from it and new ones written to it by the
        client as their tasks complete (see :func:`nnmle.store.run_starts_stored`).
    config : dict, optional
        Extra identity of the job in the store (e.g. ``{"seed": 0}``).
    units_per_task : int, optional
        Starts per Dask task (see :func:`map_units`).
    tol, max_iter, batch, chunk, memory
        As in :func:`nnmle.fit.run_starts`; keep ``batch=1`` (default) for
        results identical to a local run.
    on_result : callable, optional
        Called in the client with each newly computed start.
    kind : str
        Unit kind in the store.

    Returns
    -------
    list of StartResult
        In the order of ``thetas0``; identical to
        ``run_starts(thetas0, ...)`` run locally.
    """
    thetas0 = np.asarray(thetas0, dtype=np.float64)
    with dask_client(client, scheduler, n_workers) as c:
        runner = dask_runner(c, units_per_task)
        if store is None:
            return runner(
                thetas0, data, family, arch, penalty, tol, max_iter, batch, chunk, memory,
                on_result=on_result,
            )  # fmt: skip
        return run_starts_stored(
            thetas0, data, family, arch, penalty, store, tol=tol, max_iter=max_iter,
            batch=batch, chunk=chunk, memory=memory, on_result=on_result, config=config,
            kind=kind, runner=runner,
        )  # fmt: skip


def _warm_fn(shared, indices):
    return [len(r.theta) for r in _starts_fn(shared, indices)]


def warm_up(
    client,
    thetas0: np.ndarray,
    data: Data,
    family: Family,
    arch: Architecture,
    penalty: Penalty,
    **opts,
) -> None:
    """Compile the problem on every worker (run the first start there) before timing.

    ``opts`` are ``tol``, ``max_iter``, ``batch``, ``chunk``, ``memory`` as in
    :func:`run_starts_dask`.
    """
    settings = {"tol": 1e-6, "max_iter": 5000, "batch": None, "chunk": 50}
    settings.update(opts)
    settings.setdefault("memory", DEFAULT_MEMORY)
    shared = _shared(thetas0[:1], data, family, arch, penalty, **settings)
    client.run(_warm_fn, shared, [0])
