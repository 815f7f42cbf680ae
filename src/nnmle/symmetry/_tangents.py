"""Tangents of the continuous symmetries (relu rescaling, identity-layer mixing and shifts)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ..networks import Architecture
from ._net import Net, as_net, effective_np, flat_np
from ._types import LayerSymmetry

__all__ = ["layer_generators", "moves_frozen", "orthonormal", "tangent_basis"]


def _embed(net: Net, arch: Architecture, l: int, dW, db, dWn, dbn=None) -> np.ndarray:
    """A flat tangent that moves ``W_l, b_l, W_{l+1}`` (and ``b_{l+1}``) only."""
    parts = [np.zeros_like(a) for W, b in zip(net.Ws, net.bs, strict=True) for a in (W, b)]
    parts[2 * l], parts[2 * l + 1], parts[2 * l + 2] = dW, db, dWn
    if dbn is not None:
        parts[2 * l + 3] = dbn
    if arch.skip:
        parts.append(np.zeros((arch.n_inputs, arch.n_outputs)))
    return np.concatenate([p.ravel() for p in parts])


def layer_generators(
    net: Net,
    arch: Architecture,
    l: int,
    scale_units: Sequence[int],
    mixing: str | None,
    shifts: bool,
) -> list[np.ndarray]:
    """Flat tangents at ``net`` of hidden layer ``l``'s continuous symmetries (not orthonormal).

    A mixing ``A = I + tE`` acts as ``(W_l, b_l, W_{l+1}) -> (W_l A, b_l A, A^{-1} W_{l+1})``,
    with tangent ``(W_l E, b_l E, -E W_{l+1})``; ``E`` runs over ``e_j e_j'`` for
    the rescaled units (``mixing=None``), every ``e_a e_b'`` (``"GL"``) or
    ``e_a e_b' - e_b e_a'`` (``"O"``). A shift of unit ``j`` has tangent
    ``(0, e_j, 0, -W_{l+1}[j])``.
    """
    W, b, Wn = net.Ws[l], net.bs[l], net.Ws[l + 1]
    eye = np.eye(W.shape[1])
    if mixing == "GL":
        gens = [np.outer(e1, e2) for e1 in eye for e2 in eye]
    elif mixing == "O":
        gens = [np.outer(e1, e2) - np.outer(e2, e1) for e1, e2 in itertools.combinations(eye, 2)]
    else:
        gens = [np.outer(eye[j], eye[j]) for j in scale_units]
    out = [_embed(net, arch, l, W @ E, b @ E, -E @ Wn) for E in gens]
    if shifts:
        zW, zWn = np.zeros_like(W), np.zeros_like(Wn)
        out += [_embed(net, arch, l, zW, e, zWn, -Wn[j]) for j, e in enumerate(eye)]
    return out


def moves_frozen(t: np.ndarray, free: np.ndarray) -> bool:
    """Whether the tangent ``t`` moves a frozen entry (beyond rounding)."""
    return bool(np.linalg.norm(t[~free]) > 1e-12 * (1.0 + np.linalg.norm(t)))


def orthonormal(tangents: list[np.ndarray], free: np.ndarray) -> np.ndarray:
    """An orthonormal basis (columns, free coordinates) of the tangents that keep the mask."""
    kept = [t[free] for t in tangents if not moves_frozen(t, free)]
    if not kept:
        return np.zeros((int(free.sum()), 0))
    U, s, _ = np.linalg.svd(np.stack(kept, axis=1), full_matrices=False)
    return U[:, s > 1e-10 * max(1.0, s[0])]


def tangent_basis(theta, arch: Architecture, layers: Sequence[LayerSymmetry]) -> np.ndarray:
    """Orthonormal basis of the continuous symmetries' tangents at ``theta`` (free coordinates)."""
    net, _ = as_net(effective_np(flat_np(theta, arch), arch), arch)
    tangents = [
        t
        for l, s in enumerate(layers)
        for t in layer_generators(
            net, arch, l, np.flatnonzero(s.unit_scales()).tolist(), s.mixing, s.shifts
        )
    ]
    return orthonormal(tangents, arch.free_mask())
