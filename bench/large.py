"""Larger data: 200,000 rows, 20 inputs, a 20-16-1 tanh network, bernoulli, side by side with
scikit-learn, both given the machine's two cores.

1. ``lbfgs``: full-batch L-BFGS, the same number of iterations for both systems
   (``--iters``, 300), 4 starts: nnmle on two threads (one start each), scikit-learn's
   ``MLPClassifier(solver="lbfgs")`` under ``joblib.Parallel(n_jobs=2)`` (its BLAS
   limited to one thread per process, so two processes use two cores). Reported: seconds
   per start, and each system's final training objective on nnmle's scale (sum NLL +
   l2 sum W^2, biases free; alpha = 2 l2 in scikit-learn). Target: nnmle >= 2x faster.
2. ``adam``: minibatch Adam, batch 256, learning rate 1e-3, ``--epochs`` (5) epochs, one
   start each: held-out deviance on 50,000 further rows (target: equal) and seconds.

Usage: python bench/large.py [--iters 300] [--epochs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np

N, P, H, L2 = 200_000, 20, 16, 1e-3


def emit(**rec):
    print(json.dumps({"bench": "large", **rec}), flush=True)


def data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N + 50_000, P))
    W, v = rng.normal(size=(P, H)) / np.sqrt(P), rng.normal(size=H) * 2
    eta = np.tanh(X @ W) @ v
    y = (rng.uniform(size=len(X)) < 1 / (1 + np.exp(-eta))).astype(float)
    return X[:N], y[:N], X[N:], y[N:]


def nll_sum(p, y):
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))


def sk_theta(m):
    return np.concatenate(
        [m.coefs_[0].ravel(), m.intercepts_[0], m.coefs_[1].ravel(), m.intercepts_[1]]
    )


def _sk_fit(X, y, k, iters, solver, epochs):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    warnings.simplefilter("ignore", ConvergenceWarning)
    with threadpool_limits(1):
        t0 = time.perf_counter()
        if solver == "lbfgs":
            m = MLPClassifier(
                (H,), activation="tanh", solver="lbfgs", alpha=2 * L2, max_iter=iters,
                max_fun=10 * iters, tol=0.0, random_state=k,
            )  # fmt: skip
        else:
            m = MLPClassifier(
                (H,), activation="tanh", solver="adam", alpha=2 * L2, batch_size=256,
                learning_rate_init=1e-3, max_iter=epochs, tol=0.0, n_iter_no_change=10**6,
                shuffle=True, random_state=k,
            )  # fmt: skip
        m.fit(X, y)
        return m, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--starts", type=int, default=4)
    args = ap.parse_args()
    from joblib import Parallel, delayed

    import nnmle

    X, y, Xt, yt = data()
    load = round(os.getloadavg()[0], 2)
    # nnmle L-BFGS: a fixed number of iterations (tol 0: it never stops early)
    kw = dict(hidden=(H,), family="bernoulli", l2=L2, tol=1e-300, max_iter=args.iters)
    nnmle.fit(X, y, **{**kw, "max_iter": 2})  # compile the kernels for these shapes
    t0 = time.perf_counter()
    res = nnmle.fit(X, y, n_restarts=args.starts, workers=2, **kw)
    el = time.perf_counter() - t0
    objs = [r.objective for r in res.restarts]
    emit(measurement="lbfgs", system="nnmle", threads=2, n_starts=args.starts, iters=args.iters,
         seconds_per_start=round(el / args.starts, 3), median_objective=float(np.median(objs)),
         load=load)  # fmt: skip
    ours = el / args.starts
    # scikit-learn L-BFGS, two processes with one BLAS thread each
    t0 = time.perf_counter()
    out = Parallel(n_jobs=2)(
        delayed(_sk_fit)(X, y, k, args.iters, "lbfgs", 0) for k in range(args.starts)
    )
    el = time.perf_counter() - t0
    pen = res.problem  # nnmle's objective on scikit-learn's solutions (biases free, as theirs)
    sk_objs = [pen.objective(sk_theta(m)) for m, _ in out]
    emit(measurement="lbfgs", system="sklearn", processes=2, n_starts=args.starts,
         iters=args.iters, seconds_per_start=round(el / args.starts, 3),
         median_objective=float(np.median(sk_objs)), load=load)  # fmt: skip
    emit(measurement="lbfgs", system="ratio", speedup=round((el / args.starts) / ours, 2),
         target=">= 2")  # fmt: skip
    # minibatch Adam: held-out deviance (compiled first on the same shapes)
    adam = dict(hidden=(H,), family="bernoulli", l2=L2, solver="adam", batch_size=256,
                learning_rate=1e-3, tol=1e-300)  # fmt: skip
    nnmle.fit(X, y, max_iter=1, **adam)
    t0 = time.perf_counter()
    ad = nnmle.fit(X, y, max_iter=args.epochs, **adam)
    el_n = time.perf_counter() - t0
    dev_n = 2 * nll_sum(ad.predict(Xt), yt)
    m, el_s = _sk_fit(X, y, 0, 0, "adam", args.epochs)
    dev_s = 2 * nll_sum(m.predict_proba(Xt)[:, 1], yt)
    emit(measurement="adam", system="nnmle", epochs=args.epochs, seconds=round(el_n, 2),
         heldout_deviance=dev_n, load=load)  # fmt: skip
    emit(measurement="adam", system="sklearn", epochs=args.epochs, seconds=round(el_s, 2),
         heldout_deviance=dev_s, load=load)  # fmt: skip


if __name__ == "__main__":
    main()
