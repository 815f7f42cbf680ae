"""Time to first fit: import, compilation for a new architecture, a cold grid search.

Each measurement runs in a fresh process; "cold" means an empty JAX compilation
cache (``NNMLE_JAX_CACHE`` pointing to a new directory), "second process" the
same command again with the cache the first one filled. One JSON line each:

1. ``import``: ``import nnmle`` (target <= 1 s).
2. ``new_architecture``: in a warm process (nnmle imported, one fit done), the
   seconds of the first fit of a new architecture and the part of it spent in
   compilation, per compiled function (target: compilation <= 1 s).
3. ``grid_search``: ``GridSearchCV(Pipeline(StandardScaler, MLEClassifier), 12
   candidates, cv=3)`` on breast cancer (hidden (5,), (10,), (20,) x l2 0.001,
   0.01, 0.1, 1), cold and in a second process (targets <= 10 s and <= 3 s), and
   scikit-learn's ``MLPClassifier`` on the same grid (alpha for l2) for
   reference.

Usage: python bench/first_fit.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

GRID = {"clf__hidden": [(5,), (10,), (20,)], "clf__l2": [0.001, 0.01, 0.1, 1.0]}


def emit(**rec):
    print(json.dumps({"bench": "first_fit", **rec}), flush=True)


def _child(what: str) -> None:
    t0 = time.perf_counter()
    if what == "import":
        import nnmle  # noqa: F401

        print(json.dumps({"seconds": time.perf_counter() - t0}))
        return
    import collections

    import jax

    comp: dict = collections.defaultdict(float)

    def listen(name, dur, **kw):
        if name.startswith("/jax/core/compile/"):
            comp[str(kw.get("fun_name", "?"))] += dur
            comp["total"] += dur

    jax.monitoring.register_event_duration_secs_listener(listen)
    import numpy as np
    from sklearn.datasets import load_breast_cancer

    import nnmle

    X, y = load_breast_cancer(return_X_y=True)
    if what == "new_architecture":
        X = (X - X.mean(0)) / X.std(0)
        nnmle.fit(X, y, hidden=(10,), l2=0.01)
        comp.clear()
        t0 = time.perf_counter()
        nnmle.fit(X, y, hidden=(7,), l2=0.01)
        top = sorted(((k, v) for k, v in comp.items() if k != "total"), key=lambda kv: -kv[1])
        print(
            json.dumps(
                {
                    "seconds": time.perf_counter() - t0,
                    "compile_seconds": comp["total"],
                    "largest": [[k, round(v, 3)] for k, v in top[:6]],
                }
            )
        )
        return
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if what == "grid_nnmle":
        pipe = Pipeline([("sc", StandardScaler()), ("clf", nnmle.MLEClassifier())])
        grid = GRID
    else:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = Pipeline([("sc", StandardScaler()), ("clf", MLPClassifier(solver="lbfgs"))])
        grid = {
            "clf__hidden_layer_sizes": GRID["clf__hidden"],
            "clf__alpha": [2 * v for v in GRID["clf__l2"]],
        }
    gs = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - t0,
                "compile_seconds": comp["total"],
                "best": {k: str(v) for k, v in gs.best_params_.items()},
                "score": float(gs.best_score_),
                "n_candidates": int(np.prod([len(v) for v in grid.values()])),
            }
        )
    )


def _run(what: str, cache: str) -> dict:
    env = {**os.environ, "NNMLE_JAX_CACHE": cache}
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", what],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return {"failed": proc.stderr[-500:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
        return
    load = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory() as cache:
        emit(measurement="import", load=load, **_run("import", cache), target="<= 1 s")
        emit(measurement="new_architecture", load=load, **_run("new_architecture", cache),
             target="compilation <= 1 s")  # fmt: skip
    with tempfile.TemporaryDirectory() as cache:
        for label in ("cold", "second process"):
            emit(measurement="grid_search", system="nnmle", run=label, load=load,
                 **_run("grid_nnmle", cache), target="cold <= 10 s, second <= 3 s")  # fmt: skip
    emit(measurement="grid_search", system="sklearn MLPClassifier(lbfgs)", load=load,
         **_run("grid_sklearn", "off"))  # fmt: skip


if __name__ == "__main__":
    main()
