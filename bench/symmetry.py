"""Canonical forms and alignment modulo symmetry on a wide two-hidden-layer network.

The network: 64 inputs, two hidden layers of 512 units, 10 outputs (Glorot-scaled
normal weights). A random group element (a permutation and signs per layer, and
positive scales for relu) is planted: ``other = act(g, reference)``. Measured:

* ``canonicalize``: time to canonicalize one network; whether the reference and
  its twin get the same canonical form;
* ``align``: time for :func:`nnmle.symmetry.align` to find the element bringing
  ``other`` back; ``exact_recovery`` is true when the recovered element is exactly
  the inverse of the planted one (permutations and signs equal, scales to 1e-10);
  target under 1 s on a 2-core CPU;
* ``align_permutation_only``: the same weight matching without the sign choice,
  which is what permutation-only tools (e.g. Git Re-Basin's weight matching) do:
  it cannot recover the signs of tanh units.

Each measurement is the median of ``--repeats`` runs after one warm-up. One JSON
line per measurement.

Usage: python bench/symmetry.py [--repeats 5] [--width 512]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax.numpy as jnp
import numpy as np
from scipy.optimize import linear_sum_assignment

from nnmle import symmetry as S
from nnmle.networks import Architecture, unravel


def emit(**fields) -> None:
    print(
        json.dumps({"bench": "symmetry", "cpu_count": os.cpu_count(), **fields}),
        flush=True,
    )


def network(arch: Architecture, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    parts = []
    for sh in arch.shapes:
        scale = 1.0 / np.sqrt(sh[0]) if len(sh) == 2 else 0.5
        parts.append(rng.normal(scale=scale, size=sh).ravel())
    return np.concatenate(parts)


def timed(fn, repeats: int):
    fn()  # warm-up
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, float(np.median(times)), float(np.min(times))


def recovered(h, g) -> bool:
    e = S.compose(h, g)
    return all(
        np.array_equal(x.perm, np.arange(x.perm.size))
        and bool(np.all(x.signs == 1))
        and bool(np.allclose(x.scales, 1.0, rtol=1e-10, atol=0))
        for x in e.layers
    )


def permutation_only(ref: np.ndarray, other: np.ndarray, arch: Architecture):
    """Weight matching without signs (incoming side, layer by layer), in plain NumPy."""
    r, c = unravel(jnp.asarray(ref), arch), unravel(jnp.asarray(other), arch)
    rW = [np.asarray(L.W) for L in r.layers]
    rb = [np.asarray(L.b) for L in r.layers]
    cW = [np.asarray(L.W).copy() for L in c.layers]
    cb = [np.asarray(L.b).copy() for L in c.layers]
    parts = []
    for l, width in enumerate(arch.hidden):
        Ur, Uc = np.vstack([rb[l][None], rW[l]]), np.vstack([cb[l][None], cW[l]])
        _, perm = linear_sum_assignment(Ur.T @ Uc, maximize=True)
        cW[l], cb[l], cW[l + 1] = cW[l][:, perm], cb[l][perm], cW[l + 1][perm]
        parts.append(S.LayerElement(perm, np.ones(width), np.ones(width)))
    aligned = np.concatenate([a.ravel() for W, b in zip(cW, cb, strict=True) for a in (W, b)])
    return aligned, S.GroupElement(tuple(parts))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--width", type=int, default=512)
    args = ap.parse_args()
    H = args.width
    for act in ("tanh", "relu"):
        arch = Architecture.build(64, (H, H), 10, act)
        G = S.group(arch)  # the group of the network function (no penalty)
        ref = network(arch, 0)
        g = S.random_element(G, seed=1)
        other = S.act_flat(g, ref, G)
        common = {"architecture": arch.describe(), "n_params": arch.n_params}

        (canon, _), med, best = timed(lambda ref=ref, G=G: S.canonicalize(ref, G), args.repeats)
        same = bool(np.allclose(S.canonicalize(other, G)[0], canon, rtol=1e-9, atol=1e-12))
        emit(
            measurement="canonicalize",
            **common,
            seconds=med,
            seconds_min=best,
            twin_same_canonical_form=same,
        )

        (aligned, h), med, best = timed(
            lambda ref=ref, other=other, G=G: S.align(ref, other, G), args.repeats
        )
        emit(
            measurement="align",
            **common,
            planted="permutation, scales" if act == "relu" else "permutation, signs",
            seconds=med,
            seconds_min=best,
            target_seconds=1.0,
            exact_recovery=recovered(h, g),
            max_abs_weight_diff=float(np.max(np.abs(aligned - ref))),
        )

        if act == "tanh":
            (aligned_p, hp), med, best = timed(
                lambda ref=ref, other=other, arch=arch: permutation_only(ref, other, arch),
                args.repeats,
            )
            emit(
                measurement="align_permutation_only",
                **common,
                planted="permutation, signs",
                seconds=med,
                seconds_min=best,
                exact_recovery=recovered(hp, g),
                max_abs_weight_diff=float(np.max(np.abs(aligned_p - ref))),
            )


if __name__ == "__main__":
    main()
