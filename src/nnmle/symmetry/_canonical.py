"""Canonical forms and alignment, one class of interchangeable units at a time."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from ._elements import act_layer, compose_layer, identity_layer, layer_is_identity
from ._net import Net
from ._types import GroupElement, LayerElement, LayerSymmetry

__all__ = ["align_net", "canonical_net"]


def _incoming(net: Net, l: int) -> np.ndarray:
    """Columns ``(b_j, W[:, j])`` of hidden layer ``l``: shape ``(fan_in + 1, H)``."""
    return np.vstack([net.bs[l][None, :], net.Ws[l]])


def _lead_sign(x: np.ndarray, tol: float) -> float:
    """Sign of the largest-magnitude entry; near-ties (within ``tol``) go to the first."""
    a = np.abs(x)
    m = a.max() if a.size else 0.0
    if m == 0.0:
        return 0.0
    k = int(np.argmax(a >= (1.0 - tol) * m))
    return float(np.sign(x[k]))


def _cmp_vectors(x: list[float], y: list[float], atol: float) -> int:
    """Lexicographic comparison, larger first, entries equal within ``atol``."""
    for a, b in zip(x, y, strict=True):
        if abs(a - b) > atol:
            return -1 if a > b else 1
    return 0


def _unit_norm_scales(U: np.ndarray, units: np.ndarray) -> np.ndarray:
    """Scales bringing the incoming vectors of ``units`` to unit norm (others, and zeros: 1)."""
    norms = np.linalg.norm(U, axis=0)
    scales = np.where(units & (norms > 0), 1.0 / np.where(norms > 0, norms, 1.0), 1.0)
    return np.where(np.abs(scales - 1.0) <= 1e-12, 1.0, scales)


def canonical_layer(net: Net, l: int, s: LayerSymmetry, tol: float) -> LayerElement:
    """The element bringing layer ``l`` to canonical form (scale, sign, order within classes)."""
    H = s.width
    U, V = _incoming(net, l), net.Ws[l + 1]
    scales = _unit_norm_scales(U, s.unit_scales())
    signs = np.ones(H)
    for j in np.flatnonzero(s.unit_flips()):
        sg = _lead_sign(U[:, j], tol)
        if sg == 0.0 and s.flip != "skip":
            sg = _lead_sign(V[j], tol)
        signs[j] = -1.0 if sg < 0 else 1.0
    Un = U * (signs * scales)
    out = 1.0 / scales if s.flip == "skip" else signs / scales
    Vn = V * out[:, None]
    last = l == len(net.Ws) - 2
    Vkey = Vn if last else np.linalg.norm(Vn, axis=1, keepdims=True)
    atol = tol * max(1.0, float(np.abs(Un).max(initial=0.0)))
    vtol = tol * max(1.0, float(np.abs(Vkey).max(initial=0.0)))
    norms = np.linalg.norm(Un, axis=0).tolist()
    cols, outs = Un.T.tolist(), Vkey.tolist()

    def cmp(i: int, j: int) -> int:
        if abs(norms[i] - norms[j]) > atol:
            return -1 if norms[i] > norms[j] else 1
        c = _cmp_vectors(cols[i], cols[j], atol)
        return c if c else _cmp_vectors(outs[i], outs[j], vtol)

    perm = np.arange(H)
    for c in s.classes:
        perm[list(c)] = sorted(c, key=functools.cmp_to_key(cmp))
    return LayerElement(perm, signs[perm], scales[perm])


def canonical_net(
    net: Net, layers: Sequence[LayerSymmetry], tol: float
) -> tuple[Net, GroupElement]:
    """Canonical form of ``net`` and the element that maps ``net`` to it (input side first)."""
    parts = []
    for l, s in enumerate(layers):
        e = canonical_layer(net, l, s, tol)
        net = act_layer(net, e, l, s)
        parts.append(e)
    return net, GroupElement(tuple(parts))


def _match_layer(ref: Net, cur: Net, l: int, s: LayerSymmetry, use_out: bool) -> LayerElement:
    """Best element for layer ``l`` bringing ``cur`` to ``ref`` (one assignment per class)."""
    H = s.width
    Ur, Uc = _incoming(ref, l), _incoming(cur, l)
    Vr, Vc = ref.Ws[l + 1], cur.Ws[l + 1]
    units = s.unit_scales()
    nr = np.where(units, np.linalg.norm(Ur, axis=0), 1.0)
    nc = np.where(units, np.linalg.norm(Uc, axis=0), 1.0)
    nr, nc = np.where(nr > 0, nr, 1.0), np.where(nc > 0, nc, 1.0)
    Ur, Vr = Ur / nr, Vr * nr[:, None]
    Uc, Vc = Uc / nc, Vc * nc[:, None]
    A = Ur.T @ Uc
    B = Vr @ Vc.T if use_out else np.zeros_like(A)
    perm, signs = np.arange(H), np.ones(H)
    for c, flip in zip(s.classes, s.class_flips, strict=True):
        idx = np.asarray(c)
        Ak, Bk = A[np.ix_(idx, idx)], B[np.ix_(idx, idx)]
        S, sgn = Ak + Bk, np.ones_like(Ak)
        if flip:
            S_minus = -Ak + Bk if s.flip == "skip" else -Ak - Bk
            sgn = np.where(S >= S_minus, 1.0, -1.0)
            S = np.maximum(S, S_minus)
        rows, cols = linear_sum_assignment(S, maximize=True)
        cols = cols[np.argsort(rows)]
        perm[idx], signs[idx] = idx[cols], sgn[np.arange(idx.size), cols]
    scales = np.where(units, nr / nc[perm], 1.0)
    return LayerElement(perm, signs, scales)


def align_net(
    ref: Net, cur: Net, layers: Sequence[LayerSymmetry], max_sweeps: int
) -> tuple[Net, GroupElement]:
    """``cur`` moved by the element that brings it closest to ``ref``, and that element."""
    parts = [identity_layer(s.width) for s in layers]
    for sweep in range(max_sweeps + 1):
        changed = False
        for l, s in enumerate(layers):
            e = _match_layer(ref, cur, l, s, use_out=sweep > 0)
            changed = changed or not layer_is_identity(e)
            cur = act_layer(cur, e, l, s)
            parts[l] = compose_layer(e, parts[l])
        if sweep > 0 and not changed:
            break
    return cur, GroupElement(tuple(parts))
