"""Covariate effects on the breast-cancer 30-10-1 fit: ``get_margeff`` and ``partial_dependence``.

Target (issue 12): each under 1 s after compilation. The fit is the README's
30-10-1 tanh bernoulli network at l2 = 0.01 (standardized inputs, 569 rows,
321 weights). Measured, each ``--repeat`` times (the median is reported):

1. ``get_margeff`` (30 average marginal effects with delta-method standard
   errors) and ``partial_dependence`` (20 grid points with pointwise bands)
   on a result whose inference is cached: the effects themselves;
2. the same on a fresh result over the same estimate: the inference (the
   Hessian, the Fisher information and their eigen-decompositions) computed
   again, the compiled programs reused.

The first call of each (compilation included) is reported too. One JSON line
per measurement.

Usage: python bench/effects.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time


def emit(**rec) -> None:
    print(json.dumps({"bench": "effects", **rec}), flush=True)


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    from sklearn.datasets import load_breast_cancer

    import nnmle
    from nnmle.api import FitResult

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    res = nnmle.fit(X, y, hidden=(10,), activation="tanh", family="bernoulli", l2=0.01, seed=0)
    common = dict(
        arch=res.arch.describe(), n_obs=res.n_obs, n_params=res.n_params, l2=0.01,
        cores=os.cpu_count(), load_1min=round(os.getloadavg()[0], 2), target_seconds=1.0,
    )  # fmt: skip

    def margeff(r):
        return lambda: r.get_margeff()

    def pdp(r):
        return lambda: r.partial_dependence(0, grid_resolution=20)

    first = {"get_margeff": _timed(margeff(res)), "partial_dependence": _timed(pdp(res))}
    for name, make in (("get_margeff", margeff), ("partial_dependence", pdp)):
        cached = [_timed(make(res)) for _ in range(args.repeat)]
        fresh = []
        for _ in range(args.repeat):
            other = FitResult(res.estimate, res.design, res.seed)
            fresh.append(_timed(make(other)))
        emit(
            measurement=name,
            first_call_seconds=round(first[name], 3),
            cached_inference_seconds=round(statistics.median(cached), 4),
            with_inference_seconds=round(statistics.median(fresh), 4),
            repeat=args.repeat,
            grid_points=20 if name == "partial_dependence" else None,
            **common,
        )


if __name__ == "__main__":
    main()
