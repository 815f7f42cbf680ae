"""Multi-start fitting against peers, side by side in one run.

The problem: breast-cancer data standardized, a 30-10-1 network with logistic
hidden units, bernoulli family, objective = NLL + 0.01 * sum of squares of all
weights including biases (R nnet's size=10, decay=0.01, entropy=TRUE). Each
system runs the same N starting points (default 100; nnmle's starting weights,
passed to nnet as ``Wts=`` and to scikit-learn as ``coefs_`` before a
``warm_start`` fit) to a tight tolerance, and every system gets the same cores
(``--cores``, default 2: nnmle's worker threads, scikit-learn under
``joblib.Parallel(n_jobs=2)``, nnet under ``parallel::mclapply(mc.cores=2)``).
One JSON line per system / variant: ms per start, best, 10% quantile and median
objective in the system's own convention, and nnmle's objective (and gradient
norm) on the system's solutions where they can be imported.

Usage: python bench/restarts.py [--starts 100] [--cores 2]
       [--variants threads,sequential,pool8,vmap]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.datasets import load_breast_cancer

import nnmle
from nnmle.networks import Architecture
from nnmle.penalties import Penalty
from nnmle.problem import Problem
from nnmle.solvers import choose_solver
from nnmle.starts import LocalExecutor, run_starts, starting_values

DECAY = 0.01


def problem():
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    fam = nnmle.get_family("bernoulli")
    arch = Architecture.build(30, (10,), 1, "logistic")
    pen = Penalty(l2=DECAY, penalize_bias=True)
    prob = Problem.build(X, y[:, None].astype(float), np.ones(len(y)), fam, arch, pen)
    return X, y, prob


def emit(**rec):
    print(json.dumps({"bench": "restarts", **rec}), flush=True)


def nnmle_objective_and_grad(theta, prob):
    v, g = prob.value_and_grad(np.asarray(theta, dtype=np.float64))
    return v, float(np.linalg.norm(g))


VARIANTS = {
    # name: (batch lanes per worker, worker threads, chunk)
    "threads": (1, 2, 50),
    "sequential": (1, 1, 50),
    "pool8": (8, 1, 25),
    "vmap": (None, 1, 10**6),  # every start in one vmapped batch: waits for the slowest
}


def bench_nnmle(n_starts, variants, tol):
    X, y, prob = problem()
    arch = prob.arch
    thetas0 = starting_values(arch, n_starts, seed=0)
    solver = choose_solver(prob, tol=tol, max_iter=20000)
    # compile outside the timing: a short run (5 iterations; max_iter is traced, so the same
    # compiled code) per layout, with as many starts as the layout has lanes, plus one per
    # worker so that a finished lane is refilled (the refill compiles too)
    warm = choose_solver(prob, tol=tol, max_iter=5)
    for name in variants:
        b, w, c = VARIANTS[name]
        b = b or n_starts
        k = min(n_starts, w * b + w) if b > 1 else w
        run_starts(prob, thetas0[:k], warm, LocalExecutor(workers=w, batch=b, chunk=c))
    out = {}
    for name in variants:
        b, w, c = VARIANTS[name]
        b = b or n_starts
        executor = LocalExecutor(workers=w, batch=b, chunk=c)
        t0 = time.perf_counter()
        res = run_starts(prob, thetas0, solver, executor)
        el = time.perf_counter() - t0
        objs = np.array([r.objective for r in res])
        emit(
            system="nnmle",
            variant=name,
            batch=b,
            workers=w,
            n_starts=n_starts,
            ms_per_start=round(1000 * el / n_starts, 2),
            **_spread(objs),
            converged=int(sum(r.status == "converged" for r in res)),
            mean_iterations=float(np.mean([r.n_iter for r in res])),
            max_grad_norm=float(max(r.grad_norm for r in res)),
            tol=tol,
        )
        out[name] = el / n_starts
    return out


def profile(n_starts, tol):
    """Where one start's time goes, on one thread: the value-and-gradient alone (a compiled
    loop of 2,000 evaluations) against a whole L-BFGS iteration (the sequential run's time
    over its iterations); the rest is the optimizer's bookkeeping and its line search."""
    import jax
    import jax.numpy as jnp

    from nnmle.problem import objective

    _, _, prob = problem()
    thetas0 = starting_values(prob.arch, n_starts, seed=0)
    vg = jax.value_and_grad(objective)

    @jax.jit
    def loop(theta, p):
        def body(_, c):
            v, g = vg(c[0], p)
            return c[0] - 1e-12 * g, c[1] + v

        return jax.lax.fori_loop(0, 2000, body, (theta, jnp.zeros(())))

    th = jnp.asarray(thetas0[0])
    jax.block_until_ready(loop(th, prob))
    t0 = time.perf_counter()
    jax.block_until_ready(loop(th, prob))
    us_vg = 1e6 * (time.perf_counter() - t0) / 2000
    solver = choose_solver(prob, tol=tol, max_iter=20000)
    run_starts(
        prob, thetas0[:1], choose_solver(prob, tol=tol, max_iter=5), LocalExecutor(workers=1)
    )
    t0 = time.perf_counter()
    res = run_starts(prob, thetas0, solver, LocalExecutor(workers=1))
    el = time.perf_counter() - t0
    iters = sum(r.n_iter for r in res)
    us_it = 1e6 * el / iters
    emit(
        system="nnmle",
        measurement="profile",
        threads=1,
        us_value_and_grad=round(us_vg, 1),
        us_per_iteration=round(us_it, 1),
        us_optimizer_and_line_search=round(us_it - us_vg, 1),
        mean_iterations=round(iters / n_starts, 1),
        ms_value_and_grad_per_start=round(us_vg * iters / n_starts / 1000, 2),
    )


def _sklearn_fit(X, y, theta0, tol):
    """One MLPClassifier(lbfgs) fit from nnmle's starting weights ``theta0``.

    The estimator is initialized by a one-iteration fit (which builds its
    label binarizer and layers), then its weights are replaced by ``theta0``
    and it is refitted with ``warm_start=True``: the same starting point as
    nnmle's and nnet's start.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    p, h = X.shape[1], 10
    # sklearn's loss is mean NLL + alpha/(2n) * sum(W^2) (biases free):
    # alpha = 2 * decay gives the same weight penalty on the sum scale.
    m = MLPClassifier(
        hidden_layer_sizes=(h,),
        activation="logistic",
        solver="lbfgs",
        alpha=2 * DECAY,
        tol=tol / len(y),
        max_iter=1,
        max_fun=200000,
        warm_start=True,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m.fit(X, y)
        W1 = theta0[: p * h].reshape(p, h)
        b1 = theta0[p * h : p * h + h]
        W2 = theta0[p * h + h : p * h + 2 * h].reshape(h, 1)
        b2 = theta0[-1:]
        m.coefs_ = [W1.copy(), W2.copy()]
        m.intercepts_ = [b1.copy(), b2.copy()]
        m.set_params(max_iter=20000)
        m.fit(X, y)
    theta = np.concatenate(
        [m.coefs_[0].ravel(), m.intercepts_[0], m.coefs_[1].ravel(), m.intercepts_[1]]
    )
    return m.loss_ * len(y), theta


def _spread(objs):
    objs = np.asarray(objs, dtype=float)
    return {
        "best_objective": float(objs.min()),
        "q10_objective": float(np.quantile(objs, 0.1)),
        "median_objective": float(np.median(objs)),
    }


def bench_sklearn(n_starts, tol, n_jobs):
    from joblib import Parallel, delayed

    X, y, prob = problem()
    thetas0 = starting_values(prob.arch, n_starts, seed=0)
    Parallel(n_jobs=n_jobs)(delayed(_sklearn_fit)(X, y, t, tol) for t in thetas0[:n_jobs])
    t0 = time.perf_counter()
    fits = Parallel(n_jobs=n_jobs)(delayed(_sklearn_fit)(X, y, t, tol) for t in thetas0)
    el = time.perf_counter() - t0
    objs = [o for o, _ in fits]
    nn = [nnmle_objective_and_grad(th, prob) for _, th in fits]
    emit(
        system="sklearn",
        variant=f"MLPClassifier(lbfgs, logistic), joblib n_jobs={n_jobs}",
        starts="nnmle's starting weights (coefs_ set, then warm_start)",
        n_starts=n_starts,
        ms_per_start=round(1000 * el / n_starts, 2),
        **_spread(objs),
        objective_convention="n * loss_ = NLL + 0.01*sum(W^2), biases unpenalized",
        nnmle_objective_best=float(min(v for v, _ in nn)),
        nnmle_objective_median=float(np.median([v for v, _ in nn])),
        nnmle_grad_norm_median=float(np.median([g for _, g in nn])),
    )
    return el / n_starts


R_SCRIPT = r"""
suppressMessages(library(nnet)); suppressMessages(library(parallel))
args <- commandArgs(TRUE)
d <- as.matrix(read.csv(args[1], header=FALSE))
W0 <- as.matrix(read.csv(args[2], header=FALSE))
cores <- as.integer(args[3])
K <- nrow(W0); p <- ncol(d) - 1
X <- d[, 1:p]; y <- d[, p + 1]
one <- function(k) {
  # the same starting weights as nnmle's start k (Wts=), so objectives compare
  m <- nnet(X, y, size=10, decay=0.01, entropy=TRUE, maxit=100000, Wts=W0[k, ],
            abstol=1e-300, reltol=1e-15, trace=FALSE)
  c(m$value, m$wts)
}
t0 <- proc.time()[["elapsed"]]
res <- mclapply(1:K, one, mc.cores=cores)
el <- proc.time()[["elapsed"]] - t0
cat(el, "\n"); write.table(do.call(rbind, res), stdout(), row.names=FALSE, col.names=FALSE)
"""


def nnet_to_theta(wts, p=30, h=10):
    """R nnet's order (per hidden unit: bias, inputs; output: bias, hidden) -> nnmle's."""
    hid = wts[: h * (p + 1)].reshape(h, p + 1)
    out = wts[h * (p + 1) :]
    return np.concatenate([hid[:, 1:].T.ravel(), hid[:, 0], out[1:], out[:1]])


def theta_to_nnet(theta, p=30, h=10):
    """nnmle's flat order -> R nnet's (per hidden unit: bias, inputs; output: bias, hidden)."""
    W1 = theta[: p * h].reshape(p, h)
    b1 = theta[p * h : p * h + h]
    rest = theta[p * h + h :]
    hid = np.column_stack([b1, W1.T]).ravel()
    return np.concatenate([hid, rest[-1:], rest[:h]])


def bench_nnet(n_starts, cores):
    if shutil.which("Rscript") is None:
        emit(system="nnet", skipped="Rscript not found (apt-get install r-base-core r-cran-nnet)")
        return None
    X, y, prob = problem()
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "bc.csv")
        np.savetxt(csv, np.column_stack([X, y]), delimiter=",", fmt="%.17g")
        starts = os.path.join(tmp, "starts.csv")
        thetas0 = starting_values(prob.arch, n_starts, seed=0)
        np.savetxt(starts, [theta_to_nnet(t) for t in thetas0], delimiter=",", fmt="%.17g")
        script = os.path.join(tmp, "nnet.R")
        with open(script, "w") as fh:
            fh.write(R_SCRIPT)
        proc = subprocess.run(
            ["Rscript", script, csv, starts, str(cores)],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        emit(system="nnet", skipped=f"R failed: {proc.stderr.strip()[:300]}")
        return None
    lines = proc.stdout.strip().splitlines()
    el = float(lines[0])
    table = np.array([[float(v) for v in ln.split()] for ln in lines[1:]])
    vals, W = table[:, 0], table[:, 1:]
    nn = [nnmle_objective_and_grad(nnet_to_theta(w), prob) for w in W]
    emit(
        system="nnet",
        variant=f"nnet(size=10, decay=0.01, entropy=TRUE, maxit=1e5, reltol=1e-15), "
        f"mclapply mc.cores={cores}",
        starts="nnmle's starting weights, passed as Wts=",
        n_starts=n_starts,
        ms_per_start=round(1000 * el / n_starts, 2),
        **_spread(vals),
        objective_convention="same as nnmle (entropy + decay * sum of squares incl. biases)",
        nnmle_objective_best=float(min(v for v, _ in nn)),
        nnmle_grad_norm_median=float(np.median([g for _, g in nn])),
    )
    return el / n_starts


def bench_demo_cold():
    exe = os.path.join(os.path.dirname(sys.executable), "nnmle")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NNMLE_JAX_CACHE": cache}
        for label in ("cold (empty compilation cache)", "warm (cache filled by the run before)"):
            t0 = time.perf_counter()
            proc = subprocess.run([exe, "demo"], env=env, capture_output=True, text=True)
            emit(
                system="nnmle",
                variant="nnmle demo wall time, " + label,
                seconds=round(time.perf_counter() - t0, 2),
                ok=proc.returncode == 0,
            )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=100)
    ap.add_argument("--variants", default="threads,sequential,pool8,vmap")
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--skip", default="", help="comma list of: profile,sklearn,nnet,demo")
    ap.add_argument("--cores", type=int, default=2, help="cores given to each peer")
    args = ap.parse_args()
    skip = set(args.skip.split(","))
    if "profile" not in skip:
        profile(min(args.starts, 20), args.tol)
    ours = bench_nnmle(args.starts, args.variants.split(","), args.tol)
    sk = None if "sklearn" in skip else bench_sklearn(args.starts, args.tol, args.cores)
    nn = None if "nnet" in skip else bench_nnet(args.starts, args.cores)
    best = min(ours.values())
    emit(
        system="ratio",
        nnmle_best_variant=min(ours, key=ours.get),
        speedup_vs_sklearn=None if sk is None else round(sk / best, 2),
        speedup_vs_nnet=None if nn is None else round(nn / best, 2),
    )
    if "demo" not in skip:
        bench_demo_cold()


if __name__ == "__main__":
    main()
