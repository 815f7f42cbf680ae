"""Singular learning theory benchmarks: the learning coefficient's cost and accuracy.

1. demo: lambda_hat for the demo's network (breast cancer, the inputs mean_radius,
   mean_texture, mean_smoothness standardized, 3-5-1 tanh, bernoulli, l2 = 1,
   569 rows, 26 weights) with the default sampler (MALA, 8 chains x 2000 draws
   after 1000 warm-up steps). Target: under 10 s after compilation (the first
   call, which compiles, is reported separately).
2. reduced rank: a linear network 5 -> 4 -> 5 (identity activation, no biases,
   gaussian, inputs N(0, I), a true map of rank 3, n = 10,000), whose exact
   learning coefficient is 11.5 (Aoyagi and Watanabe 2005), against d/2 = 20, at
   the fit's balanced representative: nnmle (MALA, and SGLD on minibatches) and
   devinterp's LLCEstimator (PyTorch, SGLD on minibatches and full batch, the same
   weights, loss (the NLL per row at the ML sigma^2), n beta and localization
   gamma = 10), each given the machine's cores. Error against the exact lambda and
   wall time (after compilation for nnmle).

devinterp is a benchmark-only peer: ``pip install torch==2.13.0`` then
``pip install --no-deps devinterp==1.3.2 einops tqdm`` (1.3.2 is the last release
with ``LLCEstimator``; 2.x replaced it by an xarray/datasets pipeline). Without
it the peer line says so.

One JSON line per measurement, with the machine's load average.

3. wbic: WBIC of the smallest singular model, y = a b x + noise at the true map 0
   (n = 1000), against its exact value by quadrature
   (:func:`nnmle.singular.product_model_wbic`), MALA and NUTS side by side.

4. free: the Bayes free energy by thermodynamic integration
   (:func:`nnmle.singular.free_energy`, 24 temperatures) against the closed form of a
   Bayesian linear regression, then next to WBIC and BIC / 2 for widths 2 and 3 on data
   from a teacher with 2 tanh units (n = 400, noise sd 1, the data sets of the README's
   width table): does the exact free energy separate the widths that WBIC does not?

Usage: python bench/singular.py [--skip demo,rrr,wbic,free] [--n 10000] [--seeds 4,18,3,19]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer

import nnmle
from nnmle.networks import Layer, Params, ravel
from nnmle.singular import (
    free_energy,
    learning_coefficient,
    linear_model_free_energy,
    product_model_wbic,
    reduced_rank_coefficient,
    wbic,
)


def emit(**rec):
    rec = {"bench": "singular", **rec, "load_avg_1m": round(os.getloadavg()[0], 2)}
    print(json.dumps(rec), flush=True)


def demo() -> None:
    data = load_breast_cancer(as_frame=True)
    X = data.data[["mean radius", "mean texture", "mean smoothness"]].to_numpy()
    X = (X - X.mean(0)) / X.std(0)
    res = nnmle.fit(X, data.target.to_numpy(), hidden=(5,), l2=1.0, n_starts=10)
    t0 = time.perf_counter()
    learning_coefficient(res, seed=0)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    lc = learning_coefficient(res, seed=1)
    emit(
        case="demo_lambda_hat", network="3-5-1 tanh, l2=1", n=569, d=res.n_params,
        d_over_2=res.n_params / 2, lambda_hat=round(lc.estimate, 4), se=round(lc.se, 4),
        laplace=round(lc.laplace, 3), gamma=lc.gamma,
        ess=round(lc.ess), rhat=round(lc.rhat, 4), chains=lc.chains, draws=lc.draws,
        warmup=lc.warmup, seconds=round(time.perf_counter() - t0, 3),
        first_call_seconds=round(first, 2), target_seconds=10,
    )  # fmt: skip


def _rrr(n: int, M: int, H: int, N: int, r: int, seed: int = 0):
    """Data from a rank-r map plus N(0, I) noise; the fit at its balanced (minimal-norm)
    representative A = U sqrt(S), B = sqrt(S) V' (the local coefficient varies along GL(H))."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, M))
    Y = X @ rng.normal(size=(M, r)) @ rng.normal(size=(r, N)) + rng.normal(size=(n, N))
    res = nnmle.fit(X, Y, family="gaussian", hidden=(H,), activation="identity", bias=False,
                    n_starts=2, seed=seed, tol=1e-8, max_iter=20000)  # fmt: skip
    est = res.estimate
    W1, W2 = (np.asarray(layer.W) for layer in est.params.layers)
    U, S, Vt = np.linalg.svd(W1 @ W2, full_matrices=False)
    k = min(H, S.size)
    A, B = np.zeros_like(W1), np.zeros_like(W2)
    A[:, :k], B[:k] = U[:, :k] * np.sqrt(S[:k]), np.sqrt(S[:k])[:, None] * Vt[:k]
    b1, b2 = (layer.b for layer in est.params.layers)
    theta = np.asarray(ravel(Params((Layer(A, b1), Layer(B, b2))), est.arch))
    return X, Y, dataclasses.replace(est, theta=theta)


def _devinterp(X, Y, res, *, lr, gamma, chains, draws, burnin, batch, seed):
    """devinterp's LLCEstimator at nnmle's fitted weights (loss: NLL per row at sigma-hat)."""
    import torch
    from devinterp.optim.sgld import SGLD
    from devinterp.slt.llc import LLCEstimator
    from devinterp.slt.sampler import sample

    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(seed)
    n, M = X.shape
    p = res.params
    W1, W2 = np.asarray(p.layers[0].W), np.asarray(p.layers[1].W)
    model = torch.nn.Sequential(
        torch.nn.Linear(M, W1.shape[1], bias=False), torch.nn.Linear(W1.shape[1], Y.shape[1],
                                                                     bias=False),
    ).double()  # fmt: skip
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(W1.T))
        model[1].weight.copy_(torch.from_numpy(W2.T))
    sigma2 = float(np.sum((X @ W1 @ W2 - Y) ** 2)) / Y.size  # the ML sigma^2 at the fit
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)

    class Rows(torch.utils.data.TensorDataset):
        def __getitems__(self, idx):  # a whole batch in one indexing (no per-row collate)
            return tuple(t[idx] for t in self.tensors)

    loader = torch.utils.data.DataLoader(
        Rows(Xt, Yt), batch_size=batch, shuffle=True, collate_fn=lambda b: b
    )

    def evaluate(model, data):
        x, y = data
        return ((model(x) - y) ** 2).sum(1).mean() / (2 * sigma2)

    with torch.no_grad():
        init_loss = evaluate(model, (Xt, Yt)).item()
    nbeta = n / math.log(n)
    est = LLCEstimator(chains, draws, torch.tensor(init_loss), nbeta=nbeta)
    t0 = time.perf_counter()
    sample(
        model, loader, callbacks=[est], evaluate=evaluate, sampling_method=SGLD,
        optimizer_kwargs={"lr": lr, "localization": gamma, "nbeta": nbeta},
        num_draws=draws, num_chains=chains, num_burnin_steps=burnin, cores=1, seed=seed,
        verbose=False, init_loss=init_loss,
    )  # fmt: skip
    out = est.get_results()
    return (
        float(out["llc/mean"]),
        float(out["llc/std"]) / math.sqrt(chains),
        (time.perf_counter() - t0),
    )


def rrr(n: int) -> None:
    M, H, N, r = 5, 4, 5, 3
    lam = reduced_rank_coefficient(M, H, N, r)
    X, Y, est = _rrr(n, M, H, N, r)
    common = {"case": f"reduced_rank_{M}_{H}_{N}_r{r}", "n": n, "exact_lambda": lam,
              "d_over_2": est.n_params / 2}  # fmt: skip
    runs = [("mala", {}), ("sgld", {"batch_size": 512, "step_size": 5e-3})]  # gamma = 10 below
    for sampler, extra in runs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            learning_coefficient(est, sampler=sampler, gamma=10.0, seed=0, draws=20, warmup=10,
                                 **extra)  # fmt: skip
            t0 = time.perf_counter()
            lc = learning_coefficient(est, sampler=sampler, gamma=10.0, seed=1, **extra)
        emit(
            **common, tool="nnmle", sampler=sampler, lambda_hat=round(lc.estimate, 4),
            se=round(lc.se, 4), rel_error=round(abs(lc.estimate - lam) / lam, 4),
            chains=lc.chains, draws=lc.draws, warmup=lc.warmup, gamma=lc.gamma,
            batch=extra.get("batch_size", n), seconds=round(time.perf_counter() - t0, 2),
        )  # fmt: skip
    try:
        import devinterp  # noqa: F401
    except ImportError as exc:
        emit(**common, tool="devinterp", error=f"not installed: {exc}")
        return
    for lr, batch in ((1e-4, 512), (1e-4, n), (3e-5, n)):
        kw = {"gamma": 10.0, "chains": 8, "draws": 2000, "burnin": 1000, "batch": batch}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lam_hat, se, secs = _devinterp(X, Y, est, lr=lr, seed=1, **kw)
        emit(
            **common, tool="devinterp 1.3.2", sampler="sgld", lr=lr, lambda_hat=round(lam_hat, 4),
            se=round(se, 4), rel_error=round(abs(lam_hat - lam) / lam, 4), chains=kw["chains"],
            draws=kw["draws"], warmup=kw["burnin"], gamma=kw["gamma"], batch=batch,
            seconds=round(secs, 2),
        )  # fmt: skip


def wbic_exact() -> None:
    """WBIC of the product model y = a b x + noise (true map 0, n = 1000) against its exact
    value by quadrature, MALA and NUTS (4 chains x 1000 draws after 1000 warm-up), three data
    sets: the error, the Monte-Carlo standard error and the time after compilation."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        x, y = rng.normal(size=1000), rng.normal(size=1000)
        res = nnmle.fit(x[:, None], y, family="gaussian", hidden=(1,), activation="identity",
                        bias=False, n_starts=2, seed=0, tol=1e-10)  # fmt: skip
        exact = product_model_wbic(x, y)
        for sampler in ("mala", "nuts"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if seed == 0:
                    wbic(res, sampler=sampler, seed=99)  # compile (the same block sizes)
                t0 = time.perf_counter()
                w = wbic(res, sampler=sampler, seed=seed)
            emit(
                case="wbic_product_model", n=1000, seed=seed, sampler=sampler,
                exact=round(exact, 4), wbic=round(w.value, 4), error=round(w.value - exact, 4),
                se=round(w.se, 4), z=round((w.value - exact) / w.se, 2),
                rhat=round(w.solutions[0].rhat, 4), chains=w.chains, draws=w.draws,
                seconds=round(time.perf_counter() - t0, 2),
            )  # fmt: skip


def free(seeds: list[int]) -> None:
    """Thermodynamic integration: the closed-form check, then widths 2 and 3 of a 2-unit teacher."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = 0.5 + X @ [1.0, -0.5] + rng.normal(size=200)
    res = nnmle.fit(X, y, hidden=(), family="gaussian")
    exact = linear_model_free_energy(X, y)
    t0 = time.perf_counter()
    fe = free_energy(res)
    emit(
        case="free_energy_linear", n=200, exact=round(exact, 3), free_energy=round(fe.value, 3),
        se=round(fe.se, 3), error=round(fe.value - exact, 3), temperatures=24,
        seconds=round(time.perf_counter() - t0, 1),
    )  # fmt: skip
    for seed in seeds:
        rng = np.random.default_rng(1000 + seed)
        X = rng.normal(size=(400, 2))
        f = np.tanh(2 * X[:, 0] - X[:, 1]) - np.tanh(X[:, 0] + 2 * X[:, 1])
        y = f + rng.normal(size=400)
        for width in (2, 3):
            res = nnmle.fit(X, y, hidden=(width,), family="gaussian", l2=1e-3, n_starts=4,
                            seed=seed)  # fmt: skip
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                w = wbic(res, seed=seed)
                t1 = time.perf_counter()
                fe = free_energy(res, seed=seed)
            emit(
                case="free_energy_width", n=400, seed=seed, hidden=width,
                bic_half=round(res.bic / 2, 2), wbic=round(w.value, 2), wbic_se=round(w.se, 2),
                free_energy=round(fe.value, 2), free_energy_se=round(fe.se, 2),
                trapezoid=round(fe.trapezoid, 2), t_c=float(fe.temperatures[0]),
                wbic_seconds=round(t1 - t0, 1),
                free_energy_seconds=round(time.perf_counter() - t1, 1),
            )  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip", default="")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seeds", default="4,18,3,19")
    args = ap.parse_args()
    skip = set(args.skip.split(","))
    if "demo" not in skip:
        demo()
    if "rrr" not in skip:
        rrr(args.n)
    if "wbic" not in skip:
        wbic_exact()
    if "free" not in skip:
        free([int(v) for v in args.seeds.split(",")])


if __name__ == "__main__":
    main()
