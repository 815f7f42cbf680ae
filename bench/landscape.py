"""Landscape benchmarks: campaign overhead, extreme Hessian eigenvalues, saddle stalls.

1. campaign: 200 starts of the 30-10-1 breast-cancer network (standardized X,
   logistic hidden units, bernoulli, l2 = 0.01 with biases penalized) through
   nnmle.multistart: fitting, then canonicalization, dedup and one exact
   Hessian per distinct solution. Target: the campaign overhead (everything
   after the fits) under 20% of the fitting time.
2. spectrum: the largest and the most negative Hessian eigenvalue of a
   tanh network at a partly trained point (30 L-BFGS iterations from Glorot
   weights), by
   - Lanczos on exact Hessian-vector products (nnmle.landscape.hessian_spectrum,
     scipy eigsh, both ends in one Krylov space),
   - plain power iteration on the same products (PyHessian's method): it
     converges to the eigenvalue of largest magnitude only; the most negative
     needs a second, shifted run on ``H - lambda_max I``,
   - a dense eigendecomposition (about 5,000 parameters only).
   Accuracy against a reference: the dense spectrum at 5,000 parameters, a
   tight eigsh (tol 1e-12) at 100,000. Target: nnmle's most negative
   eigenvalue in less time than power iteration needs for the largest.
3. teacher-student: 200 starts of a 10-relu-unit teacher-student problem
   (20,000 rows): the analysis against the fitting time (target 25%).
4. saddles: gradient descent, Adam and L-BFGS from small weights on a linear
   autoencoder (closed-form critical values): how often and how long each
   stalls near a saddle.

One JSON line per measurement. The machine may be shared: the load average
is recorded with each line.

Usage: python bench/landscape.py [--starts 200] [--big 300]
       [--skip campaign,teacher,spectrum,saddles]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh
from sklearn.datasets import load_breast_cancer

import nnmle
from nnmle import landscape as L
from nnmle.networks import Architecture, init_params
from nnmle.penalties import Penalty
from nnmle.problem import Problem, objective
from nnmle.solvers import choose_solver
from nnmle.starts import LocalExecutor, run_starts


def emit(**rec):
    rec = {"bench": "landscape", **rec, "load_avg_1m": round(os.getloadavg()[0], 2)}
    print(json.dumps(rec), flush=True)


def breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y.astype(float)


# --- 1. the campaign ------------------------------------------------------------------------


def analysis_seconds(t: dict) -> float:
    """Wall seconds of a campaign's analysis (canonical forms, dedup, Hessian classes)."""
    return t["canonicalize"] + t["dedup"] + t["hessian"]


def campaign_fields(c) -> tuple[dict, object, float]:
    """A campaign's solutions and timings as benchmark fields, then the barrier between its two
    best solutions and the seconds it took (timed apart: barriers run only on request)."""
    t = c.timings
    overhead = analysis_seconds(t)
    classes: dict[str, int] = {}
    for s in c.solutions:
        classes[s.kind] = classes.get(s.kind, 0) + s.count
    t0 = time.perf_counter()
    bar = c.barrier()
    t_bar = time.perf_counter() - t0
    fields = dict(
        n_starts=c.n_starts,
        n_solutions=len(c.solutions),
        starts_by_class=classes,
        best_objective=c.best.objective,
        best_count=c.best.count,
        fit_s=round(t["fit"], 3),
        canonicalize_s=round(t["canonicalize"], 3),
        dedup_s=round(t["dedup"], 3),
        hessian_s=round(t["hessian"], 3),
        overhead_s=round(overhead, 3),
        overhead_frac=round(overhead / t["fit"], 4),
    )
    return fields, bar, t_bar


def campaign(n_starts: int) -> None:
    X, y = breast_cancer()
    c = nnmle.multistart(
        X,
        y,
        hidden=(10,),
        activation="logistic",
        family="bernoulli",
        l2=0.01,
        penalize_bias=True,
        n_starts=n_starts,
        seed=0,
    )
    t = c.timings
    cpu_overhead = t["cpu_canonicalize"] + t["cpu_dedup"] + t["cpu_hessian"]
    # the canonical weights must keep each start's objective (no flips under penalized biases)
    drift = max(
        abs(c.problem.objective(r.theta) - r.objective) / max(1.0, abs(r.objective))
        for r in c.starts
    )
    fields, bar, t_bar = campaign_fields(c)
    emit(
        measurement="campaign",
        network="30-10-1 logistic, bernoulli, l2=0.01 (biases penalized)",
        **fields,
        cpu_fit_s=round(t["cpu_fit"], 3),
        cpu_overhead_s=round(cpu_overhead, 3),
        cpu_overhead_frac=round(cpu_overhead / t["cpu_fit"], 4),
        target_frac=0.20,
        canonical_objective_drift=drift,
        group_order=c.group_order,
        barrier_raw=None if bar is None else bar.barrier_raw,
        barrier_aligned=None if bar is None else bar.barrier_aligned,
        barrier_s=round(t_bar, 3),
    )


def teacher_student(n_starts: int, n: int = 20_000, k: int = 10) -> None:
    """200 starts of a k-relu-unit teacher-student problem (issue 15, target 4).

    Inputs N(0, I_k), ``y = sum_j relu(x_j)`` (the teacher: identity hidden
    weights, output weights 1), a student with k relu units, no biases and its
    output weights frozen at 1, gaussian family. The analysis (canonical forms,
    dedup by hashing them, one Hessian and the kink check per distinct
    solution) against the fitting time; barriers are not part of it (only on
    request, between the best distinct solutions: timed separately).
    """
    from nnmle.multistart import run_campaign
    from nnmle.networks import Layer, Params
    from nnmle.starts import starting_values

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, k))
    y = np.maximum(X, 0).sum(1, keepdims=True)
    hidden = Layer(jnp.full((k, k), jnp.nan), jnp.full(k, jnp.nan))
    mask = Params((hidden, Layer(jnp.ones((k, 1)), jnp.full(1, jnp.nan))))
    arch = Architecture.build(k, (k,), activation="relu", bias=False, mask=mask)
    prob = Problem.build(X, y, np.ones(n), nnmle.get_family("gaussian"), arch)
    thetas0 = starting_values(prob, n_starts, seed=0)
    solver = choose_solver(prob, tol=1e-8, max_iter=3000)
    # compile outside the timings, as for the fits: a 4-start campaign (its analysis compiles
    # the Hessian, the kink check and the Newton steps; reported as the cold analysis)
    warm = run_campaign(prob, thetas0[:4], solver)
    c = run_campaign(prob, thetas0, solver)
    fields, bar, t_bar = campaign_fields(c)
    emit(
        measurement="campaign_teacher_student",
        network=f"{k}-{k}-1 relu, no biases, output weights frozen at 1, gaussian, n={n}",
        **fields,
        target_frac=0.25,
        first_campaign_analysis_s=round(analysis_seconds(warm.timings), 3),
        barrier_best_two_s=round(t_bar, 3),
        barrier_aligned=None if bar is None else bar.barrier_aligned,
    )


# --- 2. extreme eigenvalues -----------------------------------------------------------------


def partly_trained(hidden: tuple[int, ...]):
    X, y = breast_cancer()
    arch = Architecture.build(30, hidden, 1, "tanh")
    fam = nnmle.get_family("bernoulli")
    prob = Problem.build(X, y[:, None], np.ones(len(y)), fam, arch, Penalty(l2=0.01))
    theta0 = np.asarray(init_params(jax.random.PRNGKey(1), arch, "glorot"))
    solver = choose_solver(prob, tol=1e-8, max_iter=30)
    (res,) = run_starts(prob, theta0[None], solver, LocalExecutor(workers=1))
    return prob, res.theta


@jax.jit
def _plain_hvp(theta, v, problem):
    """A fresh forward-over-reverse product each call (what the usual tools do)."""
    return jax.jvp(lambda th: jax.grad(objective)(th, problem), (theta,), (v,))[1]


def power_iteration(matvec, n: int, tol: float, max_iter: int = 2000, shift: float = 0.0, seed=0):
    """Plain power iteration on ``H - shift I``: (eigenvalue of H, iterations, seconds)."""
    t0 = time.perf_counter()
    v = np.random.default_rng(seed).standard_normal(n)
    v /= np.linalg.norm(v)
    lam = np.inf
    for it in range(1, max_iter + 1):
        w = matvec(v) - shift * v
        new = float(v @ w)
        v = w / np.linalg.norm(w)
        if abs(new - lam) <= tol * abs(new):
            return new + shift, it, time.perf_counter() - t0
        lam = new
    return lam + shift, max_iter, time.perf_counter() - t0


def spectrum(hidden: tuple[int, ...], dense: bool) -> None:
    t0 = time.perf_counter()
    prob, theta = partly_trained(hidden)
    n = prob.arch.n_params
    free, th = prob.free, jnp.asarray(theta)

    def plain(v):  # the usual tool's product: a fresh forward-over-reverse pass each time
        full = np.zeros(prob.arch.n_total)
        full[free] = v
        return np.asarray(_plain_hvp(th, jnp.asarray(full), prob))[free]

    fast = prob.hvp(theta)  # nnmle's: the gradient linearized once
    for mv in (plain, fast):
        mv(np.zeros(n))  # compile outside every timing
    setup = time.perf_counter() - t0
    label = prob.arch.describe()
    per_hvp = {}
    for name, mv in (("plain", plain), ("linearized", fast)):
        t1 = time.perf_counter()
        for _ in range(5):
            mv(np.ones(n))
        per_hvp[name] = (time.perf_counter() - t1) / 5
    emit(
        measurement="hvp_cost", network=label, n_params=n,
        plain_ms=round(1e3 * per_hvp["plain"], 2),
        linearized_ms=round(1e3 * per_hvp["linearized"], 2),
    )  # fmt: skip
    if dense:
        L.hessian_spectrum(theta, prob, method="dense", vectors=False)  # compile
        d = L.hessian_spectrum(theta, prob, method="dense", vectors=False)
        ref_min, ref_max, ref = d.lambda_min, d.lambda_max, "dense"
        emit(
            measurement="spectrum", method="dense_eigh", network=label, n_params=n,
            seconds=round(d.seconds, 3), lambda_max=d.lambda_max, lambda_min=d.lambda_min,
            index=d.index,
        )  # fmt: skip
    else:
        t1 = time.perf_counter()
        op = LinearOperator((n, n), matvec=fast, dtype=np.float64)
        v0 = np.random.default_rng(7).standard_normal(n)
        vals = eigsh(op, k=2, which="BE", tol=1e-12, ncv=60, v0=v0, return_eigenvectors=False)
        ref_min, ref_max, ref = float(vals.min()), float(vals.max()), "eigsh_tol1e-12"
        emit(
            measurement="spectrum", method="reference_eigsh", network=label, n_params=n,
            seconds=round(time.perf_counter() - t1, 3), lambda_max=ref_max, lambda_min=ref_min,
        )  # fmt: skip

    def err(a, b):
        return abs(a - b) / max(abs(b), 1e-300)

    lanczos = {}
    for tol in (1e-4, 1e-8):
        s = L.hessian_spectrum(theta, prob, method="lanczos", k=1, lanczos_tol=tol, vectors=False)
        lanczos[tol] = s.seconds
        emit(
            measurement="spectrum", method="nnmle_lanczos", lanczos_tol=tol, network=label,
            n_params=n, seconds=round(s.seconds, 3), n_hvp=s.n_hvp, lambda_max=s.lambda_max,
            lambda_min=s.lambda_min, rel_err_max=err(s.lambda_max, ref_max),
            rel_err_min=err(s.lambda_min, ref_min), reference=ref,
        )  # fmt: skip
    power = {}
    for name, mv in (("plain", plain), ("linearized", fast)):
        for tol in (1e-3, 1e-6):
            top, it, sec = power_iteration(mv, n, tol)
            power[name, tol] = sec
            emit(
                measurement="spectrum", method="power_iteration", hvp=name, tol=tol,
                network=label, n_params=n, seconds=round(sec, 3), n_hvp=it, eigenvalue=top,
                rel_err_max=err(top, ref_max),
                note="converges to the largest |eigenvalue| only",
            )  # fmt: skip
            low, it2, sec2 = power_iteration(mv, n, tol, shift=top)
            emit(
                measurement="spectrum", method="power_iteration_shifted", hvp=name, tol=tol,
                network=label, n_params=n, seconds=round(sec2, 3), n_hvp=it2, lambda_min=low,
                rel_err_min=err(low, ref_min),
                note="a second run on H - lambda_max I, for the most negative eigenvalue",
            )  # fmt: skip
    emit(
        measurement="spectrum_target",
        network=label,
        n_params=n,
        nnmle_both_ends_s=round(lanczos[1e-8], 3),
        power_largest_only_s=round(power["plain", 1e-6], 3),
        met=lanczos[1e-8] < power["plain", 1e-6],
        setup_s=round(setup, 3),
        note="target: nnmle's most negative eigenvalue (Lanczos, tol 1e-8) in less time than "
        "plain power iteration (tol 1e-6) needs for the largest",
    )


# --- 3. saddles -----------------------------------------------------------------------------


def saddles() -> None:
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(200, 6))
    X = (Z - Z.mean(0)) * np.array([3.0, 2.0, 1.4, 1.0, 0.7, 0.5])
    ae = L.linear_autoencoder(X, 3)
    thetas0 = 1e-6 * rng.normal(size=(20, ae.problem.arch.n_total))
    st = L.saddle_study(
        ae.problem,
        thetas0,
        n_iter=5000,
        f_star=ae.critical_value((0, 1, 2)),
        critical_values=ae.critical_values(),
    )
    for row in st.rows:
        emit(
            measurement="saddle_stalls",
            example="linear autoencoder 6-3-6, 200 rows, starts ~1e-6",
            f_star=st.f_star,
            grad_tol=st.grad_tol,
            **row,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--starts", type=int, default=200)
    ap.add_argument("--big", type=int, default=300, help="width of the two hidden layers")
    ap.add_argument("--skip", default="")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if "campaign" not in skip:
        campaign(args.starts)
    if "teacher" not in skip:
        teacher_student(args.starts)
    if "spectrum" not in skip:
        spectrum((150,), dense=True)  # 4,951 parameters
        spectrum((args.big, args.big), dense=False)  # 99,901 parameters at width 300
    if "saddles" not in skip:
        saddles()


if __name__ == "__main__":
    main()
