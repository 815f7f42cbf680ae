"""The one start runner: every fit, campaign, path, CV fold, bootstrap replicate and saddle
escape runs its starts through :func:`run_starts`."""

from __future__ import annotations

import dataclasses
import heapq
import math
import os
from collections.abc import Callable, Mapping

import numpy as np

from .._config import release_compiled
from ..solvers import Solver, choose_solver
from ._local import LocalExecutor
from ._result import StartResult
from ._store import Store, opened, problem_config, theta_digest

__all__ = ["run_starts"]


def run_starts(
    problem,
    thetas0,
    solver: Solver | None = None,
    executor=None,
    store: Store | str | os.PathLike | None = None,
    on_result: Callable[[StartResult], None] | None = None,
    *,
    config: Mapping | None = None,
    kind: str = "start",
    chunk: int | None = None,
    keep: int | None = None,
) -> list[StartResult]:
    """Run ``solver`` from each row of ``thetas0`` on ``problem``.

    Parameters
    ----------
    problem : Problem
    thetas0 : array of shape (K, n_total), or a lazy source
        Starting weights, one start per row; start ``k`` is row ``k``. With
        ``chunk``, anything with ``len()`` and slicing works, e.g.
        :class:`nnmle.starts.StartingValues`, which draws the starts of a
        slice only when it is asked for.
    solver : Solver, optional
        Default :func:`nnmle.solvers.choose_solver(problem) <nnmle.solvers.choose_solver>`
        (L-BFGS; proximal gradient under an L1 penalty).
    executor : optional
        Where the starts run: a :class:`LocalExecutor` (threads; the default) or a
        :class:`DaskExecutor`. Anything with ``run(problem, solver, thetas0,
        indices, on_result)`` and ``identity()`` works.
    store : Store or path, optional
        A campaign store: finished starts of this job (:func:`problem_config`
        plus ``config``) are read from it, the others run and each is committed
        the moment it finishes, before ``on_result`` sees it. A killed process
        loses no finished start; running the same call again completes the job
        with the results of an uninterrupted run.
    on_result : callable, optional
        Called with each newly computed :class:`StartResult` as it finishes
        (from worker threads): a progress bar's hook.
    config : mapping, optional
        Extra identity of the job in the store, e.g. ``{"seed": 0, "init":
        "uniform", "rang": 0.7}``; a ``"seed"`` entry is also written in each
        unit's ``seed`` column.
    kind : str
        Unit kind in the store.
    chunk : int, optional
        Streaming: take the starts ``chunk`` at a time (``thetas0[a:a + chunk]``),
        running (and storing) each chunk before drawing the next, so memory
        does not grow with ``K``: with ``keep``, any number of starts runs in
        bounded memory (the store, if any, keeps every result).
    keep : int, optional
        Hold only the ``keep`` best starts (lowest finite objective) in memory
        and return those, in index order; default: every start.

    Returns
    -------
    list of StartResult
        One per row of ``thetas0``, in order (``index`` = row); with ``keep``,
        the ``keep`` best only.

    Raises
    ------
    ValueError
        For starting weights of the wrong shape, a bad ``chunk``/``keep``, or a
        store that holds start ``k`` of this job from a different starting vector.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.families import get_family
    >>> from nnmle.networks import Architecture
    >>> from nnmle.problem import Problem
    >>> X = np.arange(6.0)[:, None]; Y = 2 * X + 1
    >>> p = Problem.build(X, Y, np.ones(6), get_family("gaussian"), Architecture.build(1, ()))
    >>> run_starts(p, np.zeros((1, 2)))[0].theta.round(6).tolist()
    [2.0, 1.0]
    >>> [r.index for r in run_starts(p, np.zeros((5, 2)), chunk=2, keep=1)]
    [0]
    """
    release_compiled()  # a long process compiling many problems stays under the map limit
    n_total = problem.arch.n_total
    for name, value in (("chunk", chunk), ("keep", keep)):
        if value is not None and (not isinstance(value, int | np.integer) or value < 1):
            raise ValueError(
                f"{name} must be a positive integer or None; got {value!r}. Fix: e.g. {name}=1000."
            )
    if chunk is None:
        thetas0 = _block(thetas0, n_total)
    elif isinstance(thetas0, np.ndarray) and thetas0.ndim == 1:
        thetas0 = _block(thetas0, n_total)
    K = len(thetas0)
    step = K if chunk is None else int(chunk)
    blocks = ((a, min(a + step, K)) for a in range(0, K, max(step, 1)))  # lazily: any K
    solver = solver or choose_solver(problem)
    executor = executor or LocalExecutor()
    kept = _Kept(keep)
    if store is None:
        for a, b in blocks:
            block = _block(thetas0[a:b], n_total) if chunk is not None else thetas0
            kept.extend(executor.run(problem, solver, block, list(range(a, b)), on_result))
        return kept.results()
    extra = dict(config or {})
    job_conf = problem_config(problem, solver, executor.identity(), **extra)
    with opened(store) as st:
        job_id = st.job(job_conf)
        for a, b in blocks:
            block = _block(thetas0[a:b], n_total) if chunk is not None else thetas0
            digests = {a + i: theta_digest(t) for i, t in enumerate(block)}
            results: dict[int, StartResult] = {}
            for u in st.units(job_id, kind, keys=range(a, b)):
                if u.input_digest is not None and u.input_digest != digests[u.key]:
                    raise ValueError(
                        f"The store {str(st.path)!r} holds {kind} {u.key} of job {job_id} from "
                        f"a different starting vector. The job's configuration does not say how "
                        f"the starts were drawn. Fix: pass config={{'seed': ..., 'init': ...}} "
                        f"that identifies the starts, or use a new store."
                    )
                results[u.key] = u.to_start_result()
            missing = [k for k in range(a, b) if k not in results]

            def record(res: StartResult, results=results, digests=digests) -> None:
                st.put_start(
                    job_id, res, kind=kind, seed=extra.get("seed"),
                    input_digest=digests[res.index],
                )  # fmt: skip
                results[res.index] = res
                if on_result is not None:
                    on_result(res)

            if missing:
                rows = [k - a for k in missing]
                executor.run(problem, solver, block[rows], missing, record)
            kept.extend(dataclasses.replace(results[k], index=k) for k in range(a, b))
    return kept.results()


def _block(thetas0, n_total: int) -> np.ndarray:
    """Starting weights as a ``(K, n_total)`` float64 array, or a ``ValueError``."""
    thetas0 = np.asarray(thetas0, dtype=np.float64)
    if thetas0.ndim == 1 and thetas0.shape == (n_total,):
        thetas0 = thetas0[None, :]
    if thetas0.ndim != 2 or thetas0.shape[1] != n_total:
        raise ValueError(
            f"The starting weights must have shape (K, {n_total}) (one flat weight vector per "
            f"start); got shape {thetas0.shape}. Fix: e.g. nnmle.starts.starting_values(arch, K)."
        )
    return thetas0


class _Kept:
    """Every start (``keep=None``), or the ``keep`` best in a bounded heap."""

    def __init__(self, keep: int | None):
        self.keep = keep
        self.heap: list = []
        self.count = 0

    def extend(self, results) -> None:
        for r in results:
            self.count += 1
            if self.keep is None:
                self.heap.append(r)
                continue
            bad = r.status == "non_finite" or not math.isfinite(r.objective)
            key = (-float(bad), -(r.objective if not bad else math.inf), -r.index)
            if len(self.heap) < self.keep:
                heapq.heappush(self.heap, (key, r.index, r))
            elif key > self.heap[0][0]:
                heapq.heapreplace(self.heap, (key, r.index, r))

    def results(self) -> list[StartResult]:
        if self.keep is None:
            return sorted(self.heap, key=lambda r: r.index)
        return sorted((r for _, _, r in self.heap), key=lambda r: r.index)
