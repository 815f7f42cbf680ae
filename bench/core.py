"""The core's compile budget: new penalty values and new fold sizes compile nothing.

Two measurements, each in a fresh process with the persistent compilation cache
off (so every compilation is paid and counted), for this tree and, side by side,
for a reference commit (``--compare-ref``, default ``main``) checked out in a
temporary git worktree:

1. ``l2_values``: breast cancer (standardized), a 30-10-1 tanh bernoulli
   network, one start per fit. One warm-up fit at l2 = 0.01, then ten fits at
   ten new l2 values, then the same ten fits again (same work, nothing new to
   compile). Target: the first pass takes at most 1.2x the second.
2. ``cv_folds``: 5-fold cross-validation of the same network at l2 = 0.01 via
   scikit-learn's ``cross_val_score(MLEClassifier(...), cv=5)`` (training folds
   of 455 and 456 rows). Reported: seconds per fold and, for this tree, the
   number of JAX traces (compilations) after the first fold (target: 0) and of
   the solver loop in total (target: 1).

Usage: python bench/core.py [--compare-ref main] [--no-compare]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def emit(**rec):
    print(json.dumps({"bench": "core", **rec}), flush=True)


def _data():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


class _Traces:
    def __init__(self):
        import jax

        self.events: list[str] = []
        jax.monitoring.register_event_duration_secs_listener(self._listen)

    def _listen(self, name, _duration, **kw):
        if name == "/jax/core/compile/jaxpr_trace_duration":
            self.events.append(str(kw.get("fun_name", "?")))


def child(label: str) -> None:
    """Run both measurements with whatever ``nnmle`` is importable; print JSON lines."""
    traces = _Traces()
    import nnmle

    X, y = _data()
    opts = dict(hidden=(10,), activation="tanh", family="bernoulli", seed=0)
    t0 = time.perf_counter()
    nnmle.fit(X, y, l2=0.01, **opts)
    warm = time.perf_counter() - t0
    values = [0.02, 0.03, 0.05, 0.07, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0]
    n0 = len(traces.events)
    t0 = time.perf_counter()
    for l2 in values:
        nnmle.fit(X, y, l2=l2, **opts)
    new = time.perf_counter() - t0
    n_new = len(traces.events) - n0
    t0 = time.perf_counter()
    for l2 in values:
        nnmle.fit(X, y, l2=l2, **opts)
    again = time.perf_counter() - t0
    emit(
        measurement="l2_values",
        code=label,
        first_fit_seconds=round(warm, 3),
        ten_new_l2_seconds=round(new, 3),
        same_ten_again_seconds=round(again, 3),
        ratio=round(new / again, 3),
        traces_during_new_l2=n_new,
        target="ratio <= 1.2",
    )

    from sklearn.model_selection import StratifiedKFold, cross_val_score

    clf = nnmle.MLEClassifier(hidden=(10,), l2=0.01)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    n1 = len(traces.events)
    times = []
    after_first = None
    for k, (train, test) in enumerate(folds):
        t0 = time.perf_counter()
        cross_val_score(clf, X, y, cv=[(train, test)])
        times.append(time.perf_counter() - t0)
        if k == 0:
            after_first = len(traces.events)
    solver_traces = sum(e in ("_solve", "_pool_advance", "_pool_init") for e in traces.events[n1:])
    emit(
        measurement="cv_folds",
        code=label,
        fold_rows=[int(len(tr)) for tr, _ in folds],
        seconds_per_fold=[round(t, 3) for t in times],
        traces_first_fold=after_first - n1,
        traces_after_first_fold=len(traces.events) - after_first,
        solver_loop_compilations=solver_traces,
        target="no trace after the first fold; one solver compilation",
    )


def _run_child(src: str, label: str) -> None:
    env = {**os.environ, "PYTHONPATH": src, "NNMLE_JAX_CACHE": "off"}
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", label],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        emit(code=label, failed=proc.stderr.strip()[-500:])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child")
    ap.add_argument("--compare-ref", default="main")
    ap.add_argument("--no-compare", action="store_true")
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    _run_child(os.path.join(ROOT, "src"), "this tree")
    if args.no_compare:
        return
    with tempfile.TemporaryDirectory() as tmp:
        wt = os.path.join(tmp, "ref")
        ok = subprocess.run(
            ["git", "-C", ROOT, "worktree", "add", "--detach", wt, args.compare_ref],
            capture_output=True,
            check=False,
        )
        if ok.returncode != 0:
            emit(code=args.compare_ref, skipped="git worktree failed")
            return
        try:
            _run_child(os.path.join(wt, "src"), f"ref {args.compare_ref}")
        finally:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", wt], check=False)


if __name__ == "__main__":
    main()
