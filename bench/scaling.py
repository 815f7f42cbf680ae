"""Starts per second: locally and on a Dask LocalCluster with 1 and 2 worker processes.

The problem is the breast-cancer 30-10-1 network (standardized X, logistic
hidden units, bernoulli, l2 = 0.01 on every weight and bias, tol 1e-6); 200
starts by default. Measured side by side in one run:

* local, ``LocalExecutor(workers=1)``: one thread (the fair baseline for 1 worker);
* local, ``LocalExecutor(workers=2)``: the default pool of 2 threads on 2 cores;
* Dask ``LocalCluster`` on 127.0.0.1 with 1 and with 2 worker processes of one
  thread each (``DaskExecutor``), after a warm-up that compiles the problem on
  every worker (cluster start-up is reported separately); ``dask_client`` splits
  the cores evenly among the workers (the lone worker may use both cores);
* the per-core baseline: one Dask worker pinned to one core. XLA spreads a
  single start over every core it may use (a lone unpinned worker burns about
  1.3 cores), so "1 worker" and "1 core" differ.

The five settings run interleaved ``--repeat`` times (best time kept), so a
busy spell on a shared machine hits all of them. Prints one JSON line per
setting, then the speed-ups; every run is checked to be identical to the
first local one.

Usage: ``python bench/scaling.py [--starts 200] [--repeat 2]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer

import nnmle
from nnmle.families import get_family
from nnmle.networks import Architecture
from nnmle.penalties import Penalty
from nnmle.problem import Problem
from nnmle.solvers import choose_solver
from nnmle.starts import (
    DaskExecutor,
    LocalExecutor,
    dask_client,
    pin_workers,
    run_starts,
    starting_values,
)


def emit(**fields) -> None:
    """One JSON line on stdout (the run context added)."""
    fields = {
        "bench": "scaling",
        **fields,
        "cpu_count": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "machine": platform.machine(),
        "nnmle": nnmle.__version__,
    }
    print(json.dumps(fields), flush=True)


def solutions(results):
    return [(r.index, r.theta.tobytes(), r.objective, r.n_iter, r.status) for r in results]


def main() -> None:
    warnings.filterwarnings("ignore", message="Port .* is already in use")  # two clusters
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2, help="best of R interleaved runs")
    args = parser.parse_args()

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    arch = Architecture.build(30, (10,), 1, "logistic")
    problem = Problem.build(
        X,
        y[:, None].astype(float),
        np.ones(len(y)),
        get_family("bernoulli"),
        arch,
        Penalty(l2=0.01, penalize_bias=True),
    )
    solver = choose_solver(problem, tol=1e-6)
    thetas0 = starting_values(arch, args.starts, args.seed)
    common = {
        "problem": "breast-cancer 30-10-1 logistic, bernoulli, l2=0.01 (biases too), tol 1e-6",
        "starts": args.starts,
    }

    local1, local2 = LocalExecutor(workers=1), LocalExecutor(workers=2)
    run_starts(problem, thetas0[:2], solver, local1)  # compile before timing
    with contextlib.ExitStack() as stack:
        clients, startup = {}, {}
        for n in (1, 2):
            t0 = time.perf_counter()
            clients[n] = stack.enter_context(dask_client(n_workers=n))  # cores split evenly
            startup[n] = time.perf_counter() - t0
            DaskExecutor(clients[n]).warm_up(problem, solver, thetas0[0])  # compile per worker
        # the per-core baseline: one worker pinned to one core
        clients["1core"] = stack.enter_context(dask_client(n_workers=1, pin=False))
        pin_workers(clients["1core"], cores=[min(os.sched_getaffinity(0))])
        DaskExecutor(clients["1core"]).warm_up(problem, solver, thetas0[0])
        executors = {
            ("local", 1): local1,
            ("local", 2): local2,
            ("dask", 1): DaskExecutor(clients[1]),
            ("dask", 2): DaskExecutor(clients[2]),
            ("dask-1core", 1): DaskExecutor(clients["1core"]),
        }
        runs = {
            key: (lambda ex=ex: run_starts(problem, thetas0, solver, ex))
            for key, ex in executors.items()
        }
        best: dict = {}
        identical: dict = {}
        local = None
        for _ in range(args.repeat):  # interleaved, so that a busy spell hits every setting
            for key, run in runs.items():
                t0 = time.perf_counter()
                res = run()
                dt = time.perf_counter() - t0
                local = local or solutions(res)
                best[key] = min(best.get(key, np.inf), dt)
                identical[key] = identical.get(key, True) and solutions(res) == local
    names = {
        "local": "local threads",
        "dask": "dask LocalCluster (processes), cores split evenly (pinned)",
        "dask-1core": "dask LocalCluster (processes), 1 worker pinned to 1 core",
    }
    for (backend, n), dt in best.items():
        extra = {"cluster_start_s": round(startup[n], 2)} if backend == "dask" else {}
        emit(
            **common,
            backend=names[backend],
            workers=n,
            threads_per_worker=1,
            seconds=round(dt, 3),
            starts_per_s=round(args.starts / dt, 2),
            best_of=args.repeat,
            identical_to_local=identical[(backend, n)],
            **extra,
        )
    for backend in ("dask", "local"):
        emit(
            **common,
            measure=f"speed-up 1 -> 2 {'workers' if backend == 'dask' else 'threads'} ({backend})",
            value=round(best[(backend, 1)] / best[(backend, 2)], 3),
            target=1.8 if backend == "dask" else None,
        )
    emit(
        **common,
        measure="speed-up 1 worker on 1 core -> 2 workers on 1 core each (dask, per core)",
        value=round(best[("dask-1core", 1)] / best[("dask", 2)], 3),
        target=1.8,
    )
    print(f"scaling: done ({args.starts} starts)", file=sys.stderr)


if __name__ == "__main__":
    main()
