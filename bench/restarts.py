"""Multi-start fitting against peers, side by side in one run.

The problem: breast-cancer data standardized, a 30-10-1 network with logistic
hidden units, bernoulli family, objective = NLL + 0.01 * sum of squares of all
weights including biases (R nnet's size=10, decay=0.01, entropy=TRUE). Each
system runs N starts (default 100) to a tight tolerance. One JSON line per
system / variant: ms per start, best and median objective in the system's own
convention, and nnmle's objective (and gradient norm) on the system's
solutions where they can be imported.

Usage: python bench/restarts.py [--starts 100] [--variants threads,sequential,pool8,vmap]
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
            best_objective=float(objs.min()),
            median_objective=float(np.median(objs)),
            converged=int(sum(r.status == "converged" for r in res)),
            mean_iterations=float(np.mean([r.n_iter for r in res])),
            max_grad_norm=float(max(r.grad_norm for r in res)),
            tol=tol,
        )
        out[name] = el / n_starts
    return out


def bench_sklearn(n_starts, tol):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X, y, prob = problem()
    n = len(y)
    objs, nn_objs, gnorms = [], [], []
    t0 = time.perf_counter()
    models = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in range(n_starts):
            # sklearn's loss is mean NLL + alpha/(2n) * sum(W^2) (biases free):
            # alpha = 2 * decay gives the same weight penalty on the sum scale.
            m = MLPClassifier(
                hidden_layer_sizes=(10,),
                activation="logistic",
                solver="lbfgs",
                alpha=2 * DECAY,
                tol=tol / n,
                max_iter=20000,
                max_fun=200000,
                random_state=k,
            ).fit(X, y)
            models.append(m)
    el = time.perf_counter() - t0
    for m in models:
        objs.append(m.loss_ * n)  # its own convention, on the sum scale
        theta = np.concatenate(
            [m.coefs_[0].ravel(), m.intercepts_[0], m.coefs_[1].ravel(), m.intercepts_[1]]
        )
        v, g = nnmle_objective_and_grad(theta, prob)
        nn_objs.append(v)
        gnorms.append(g)
    emit(
        system="sklearn",
        variant="MLPClassifier(lbfgs, logistic)",
        n_starts=n_starts,
        ms_per_start=round(1000 * el / n_starts, 2),
        best_objective=float(min(objs)),
        median_objective=float(np.median(objs)),
        objective_convention="n * loss_ = NLL + 0.01*sum(W^2), biases unpenalized",
        nnmle_objective_best=float(min(nn_objs)),
        nnmle_objective_median=float(np.median(nn_objs)),
        nnmle_grad_norm_median=float(np.median(gnorms)),
    )
    return el / n_starts


R_SCRIPT = r"""
suppressMessages(library(nnet))
d <- as.matrix(read.csv(commandArgs(TRUE)[1], header=FALSE))
W0 <- as.matrix(read.csv(commandArgs(TRUE)[2], header=FALSE))
K <- nrow(W0); p <- ncol(d) - 1
X <- d[, 1:p]; y <- d[, p + 1]
W <- matrix(0, K, 10 * (p + 1) + 11); vals <- numeric(K)
t0 <- proc.time()[["elapsed"]]
for (k in 1:K) {
  # the same starting weights as nnmle's start k (Wts=), so best objectives compare
  m <- nnet(X, y, size=10, decay=0.01, entropy=TRUE, maxit=100000, Wts=W0[k, ],
            abstol=1e-300, reltol=1e-15, trace=FALSE)
  vals[k] <- m$value; W[k, ] <- m$wts
}
el <- proc.time()[["elapsed"]] - t0
cat(el, "\n"); write.table(cbind(vals, W), stdout(), row.names=FALSE, col.names=FALSE)
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


def bench_nnet(n_starts):
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
            ["Rscript", script, csv, starts], capture_output=True, text=True, check=False
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
        variant="nnet(size=10, decay=0.01, entropy=TRUE, maxit=1e5, reltol=1e-15)",
        starts="nnmle's starting weights, passed as Wts=",
        n_starts=n_starts,
        ms_per_start=round(1000 * el / n_starts, 2),
        best_objective=float(vals.min()),
        median_objective=float(np.median(vals)),
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
    ap.add_argument("--skip", default="", help="comma list of: sklearn,nnet,demo")
    args = ap.parse_args()
    skip = set(args.skip.split(","))
    ours = bench_nnmle(args.starts, args.variants.split(","), args.tol)
    sk = None if "sklearn" in skip else bench_sklearn(args.starts, args.tol)
    nn = None if "nnet" in skip else bench_nnet(args.starts)
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
