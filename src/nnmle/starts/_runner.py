"""The one start runner: every fit, campaign, path, CV fold, bootstrap replicate and saddle
escape runs its starts through :func:`run_starts`."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping

import numpy as np

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
) -> list[StartResult]:
    """Run ``solver`` from each row of ``thetas0`` on ``problem``.

    Parameters
    ----------
    problem : Problem
    thetas0 : array of shape (K, n_total)
        Starting weights, one start per row; start ``k`` is row ``k``.
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

    Returns
    -------
    list of StartResult
        One per row of ``thetas0``, in order (``index`` = row).

    Raises
    ------
    ValueError
        For starting weights of the wrong shape, or a store that holds start
        ``k`` of this job from a different starting vector.

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
    """
    thetas0 = np.asarray(thetas0, dtype=np.float64)
    n_total = problem.arch.n_total
    if thetas0.ndim == 1 and thetas0.shape == (n_total,):
        thetas0 = thetas0[None, :]
    if thetas0.ndim != 2 or thetas0.shape[1] != n_total:
        raise ValueError(
            f"The starting weights must have shape (K, {n_total}) (one flat weight vector per "
            f"start); got shape {thetas0.shape}. Fix: e.g. nnmle.starts.starting_values(arch, K)."
        )
    solver = solver or choose_solver(problem)
    executor = executor or LocalExecutor()
    K = thetas0.shape[0]
    if store is None:
        return executor.run(problem, solver, thetas0, list(range(K)), on_result)
    extra = dict(config or {})
    job_conf = problem_config(problem, solver, executor.identity(), **extra)
    digests = [theta_digest(t) for t in thetas0]
    with opened(store) as st:
        job_id = st.job(job_conf)
        results: dict[int, StartResult] = {}
        for u in st.units(job_id, kind, keys=range(K)):
            if u.input_digest is not None and u.input_digest != digests[u.key]:
                raise ValueError(
                    f"The store {str(st.path)!r} holds {kind} {u.key} of job {job_id} from a "
                    f"different starting vector. The job's configuration does not say how the "
                    f"starts were drawn. Fix: pass config={{'seed': ..., 'init': ...}} that "
                    f"identifies the starts, or use a new store."
                )
            results[u.key] = u.to_start_result()
        missing = [k for k in range(K) if k not in results]

        def record(res: StartResult) -> None:
            st.put_start(
                job_id, res, kind=kind, seed=extra.get("seed"), input_digest=digests[res.index]
            )
            results[res.index] = res
            if on_result is not None:
                on_result(res)

        if missing:
            executor.run(problem, solver, thetas0[missing], missing, record)
    return [dataclasses.replace(results[k], index=k) for k in range(K)]
