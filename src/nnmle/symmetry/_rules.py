"""Which moves of a hidden layer keep the penalized, masked objective: the rules of the group.

A move of hidden unit ``j`` of layer ``l`` (``W_l[:, j]``, ``b_l[j]``,
``W_{l+1}[j, :]``) keeps the constrained objective when

* it leaves every frozen entry (``mask``; an absent bias is frozen at 0) where
  it is: a permutation only exchanges units whose frozen entries agree (the
  *classes*); a sign flip or a rescaling only touches frozen entries equal to 0;
  a weight *added* by a flip (logistic: the next bias; skip flip: the skip
  weights and the output bias) lands on free entries, or is structurally 0;
* and it leaves the penalty unchanged: permutations and negations keep every
  L2 and L1 norm; an added weight must land on an unpenalized entry; a
  rescaling changes the norms, so it needs an unpenalized objective.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np

from ..networks import Architecture
from ._net import Net, as_net
from ._tangents import layer_generators, orthonormal
from ._types import LayerSymmetry, PenaltyFlags

__all__ = ["layer_symmetries"]


class _Mask:
    """Free flags and fixed values of layer ``l``'s unit blocks (absent biases frozen at 0)."""

    def __init__(self, free: Net, values: Net, l: int):
        self.f_in, self.v_in = free.Ws[l] > 0.5, values.Ws[l]
        self.f_b, self.v_b = free.bs[l] > 0.5, values.bs[l]
        self.f_out, self.v_out = free.Ws[l + 1] > 0.5, values.Ws[l + 1]
        self.f_next = free.bs[l + 1] > 0.5
        self.f_skip = None if free.skip is None else free.skip > 0.5

    def signature(self, j: int) -> tuple:
        """What a permutation must preserve: unit ``j``'s free flags and frozen values."""
        return tuple(
            np.concatenate(
                [
                    self.f_in[:, j],
                    self.v_in[:, j],
                    [self.f_b[j], self.v_b[j]],
                    self.f_out[j],
                    self.v_out[j],
                ]
            ).tolist()
        )

    def zero(self, j: int) -> tuple[np.ndarray, bool, np.ndarray]:
        """Frozen-at-0 flags of unit ``j``'s incoming weights, bias and outgoing weights."""
        return (
            ~self.f_in[:, j] & (self.v_in[:, j] == 0),
            bool(~self.f_b[j] & (self.v_b[j] == 0)),
            ~self.f_out[j] & (self.v_out[j] == 0),
        )

    def negatable(self, j: int, outgoing: bool) -> bool:
        """Whether negating unit ``j``'s incoming weights and bias (and outgoing) keeps the mask."""
        z_in, z_b, z_out = self.zero(j)
        ok = bool(np.all(self.f_in[:, j] | z_in)) and bool(self.f_b[j] or z_b)
        return ok and (not outgoing or bool(np.all(self.f_out[j] | z_out)))


def _flip_kind(arch: Architecture, l: int) -> str | None:
    a = arch.activation[l]
    if a in ("tanh", "identity"):
        return "odd"
    if a == "logistic":
        return "logistic"
    return "skip" if arch.skip and len(arch.hidden) == 1 else None  # relu, softplus


def _may_flip(kind: str | None, m: _Mask, j: int, pen: PenaltyFlags) -> bool:
    """Whether flipping unit ``j`` keeps the mask and the penalty."""
    if kind is None or not m.negatable(j, outgoing=kind != "skip"):
        return False
    z_in, z_b, z_out = m.zero(j)
    if kind == "logistic":  # b_{l+1}[k] += W_{l+1}[j, k]
        moved = ~z_out
        return bool(np.all(m.f_next[moved])) and not (moved.any() and pen.penalizes(bias=True))
    if kind == "skip":  # skip[i, k] += W[i, j] W_out[j, k]; b_out[k] += b[j] W_out[j, k]
        assert m.f_skip is not None
        skip_moved = np.outer(~z_in, ~z_out)
        bias_moved = ~z_out if not z_b else np.zeros_like(z_out)
        return (
            bool(np.all(m.f_skip[skip_moved]))
            and bool(np.all(m.f_next[bias_moved]))
            and not (skip_moved.any() and pen.penalizes(bias=False))
            and not (bias_moved.any() and pen.penalizes(bias=True))
        )
    return True


def _frozen_values(m: _Mask, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Frozen values of unit ``j``: incoming weights and bias, and outgoing weights."""
    inc = np.append(m.v_in[~m.f_in[:, j], j], m.v_b[j] if not m.f_b[j] else [])
    return inc, m.v_out[j, ~m.f_out[j]]


def _merges(m: _Mask, classes: list[tuple[int, ...]], odd: bool, scalable: bool) -> list[str]:
    """Pairs of classes a flip or a rescaling could also exchange: frozen values ``c``-proportional.

    Units ``i`` and ``j`` with the same free entries, frozen incoming values
    ``in_j = c in_i`` and outgoing ``out_j = out_i / c`` are exchanged by a
    permutation composed with the move ``c`` (a flip: ``c = -1``; a rescaling:
    ``c > 0``). Such pairs are reported, not counted.
    """
    out = []
    for A, B in itertools.combinations(classes, 2):
        i, j = A[0], B[0]
        if not (
            np.array_equal(m.f_in[:, i], m.f_in[:, j])
            and m.f_b[i] == m.f_b[j]
            and np.array_equal(m.f_out[i], m.f_out[j])
        ):
            continue
        (in_i, out_i), (in_j, out_j) = _frozen_values(m, i), _frozen_values(m, j)
        if np.any(in_i):
            k = int(np.flatnonzero(in_i)[0])
            c = in_j[k] / in_i[k]
        else:
            k = int(np.flatnonzero(out_j)[0]) if np.any(out_j) else -1
            c = out_i[k] / out_j[k] if k >= 0 else 0.0
        if c == 0.0 or not (
            np.allclose(in_j, c * in_i, rtol=1e-12, atol=0.0)
            and np.allclose(c * out_j, out_i, rtol=1e-12, atol=0.0)
        ):
            continue
        if (c == -1.0 and odd) or (c > 0 and scalable) or (c < 0 and scalable and odd):
            out.append(f"units {i + 1} and {j + 1}")
    return out


def _continuous(arch: Architecture, l: int, scale_units, mixing, shifts, masked) -> int:
    H, a = arch.hidden[l], arch.activation[l]
    if a == "relu":
        return len(scale_units)
    if a != "identity":
        return 0
    if masked:  # the rank of the generators that keep the mask, at a generic point
        rng = np.random.default_rng(0)
        theta = np.where(arch.free_mask(), rng.standard_normal(arch.n_total), arch.fixed_values())
        gens = layer_generators(as_net(theta, arch)[0], arch, l, scale_units, mixing, shifts)
        return int(orthonormal(gens, arch.free_mask()).shape[1])
    dim = {"GL": H * H, "O": H * (H - 1) // 2, None: 0}[mixing]
    return dim + (H if shifts else 0)


_WHY_FLIP = {
    "odd": "sign flips",
    "logistic": "flips (sigma(-z) = 1 - sigma(z); the next bias absorbs the change)",
    "skip": "flips (f(-z) = f(z) - z; the skip weights absorb the linear term)",
}


def _why_no_flip(kind: str | None, pen: PenaltyFlags) -> str:
    if kind is None:
        return "flips would need skip connections and a single hidden layer"
    if kind == "logistic":
        where = "penalized" if pen.penalizes(bias=True) else "frozen or absent"
        return f"a flip moves weight into the next bias, which is {where}"
    if kind == "skip" and pen.active:
        return "a flip changes the skip weights, which the penalty charges"
    return "a flip would move frozen non-zero weights"


def _note(s: LayerSymmetry, kind: str | None, pen: PenaltyFlags, merges, masked: bool) -> str:
    H, a, k = s.width, s.activation, len(s.classes)
    if k == 1:
        perm = f"{H}! permutations"
    else:
        sizes = " x ".join(f"{len(c)}!" for c in s.classes)
        perm = f"permutations within {k} classes of units with equal frozen weights ({sizes})"
    n_flip = int(s.unit_flips().sum())
    if n_flip:
        flips = f"2^{n_flip} {_WHY_FLIP[kind or 'odd']}"
        if n_flip < H:
            flips += f" (the other {H - n_flip} unit(s): {_why_no_flip(kind, pen)})"
    else:
        flips = f"no sign flips ({_why_no_flip(kind, pen)})"
    note = f"{H} {a} units: {perm} x {flips} = {s.order}"
    if a == "relu":
        if s.scale:
            note += f"; plus positive rescaling of {s.continuous_dim} unit(s) (continuous)"
        else:
            why = "the penalty changes with the scale" if pen.active else "frozen weights"
            note += f"; no rescaling ({why})"
    if a == "identity":
        note += (
            "; "
            + {
                "GL": f"any invertible {H}x{H} mixing (GL({H}))",
                "O": f"any rotation of the units (O({H}), which keeps the L2 norm)",
                None: "no continuous mixing (the L1 norm is not rotation invariant)",
            }[s.mixing]
        )
        note += (", plus bias shifts" if s.shifts else "") + (
            f": continuous part of dimension {s.continuous_dim}"
        )
        if masked:
            note += " (the mask may break part of it: the dimension is a lower bound)"
    if merges:
        note += (
            "; " + ", ".join(merges) + " have proportional frozen weights and could also be "
            "exchanged with a flip or rescaling: not counted, the order is a lower bound"
        )
    return note


def layer_symmetry(
    arch: Architecture, pen: PenaltyFlags, free: Net, values: Net, raw: Net | None, l: int
) -> LayerSymmetry:
    """The :class:`LayerSymmetry` of hidden layer ``l`` (``raw``: the mask's own free flags)."""
    H, a = arch.hidden[l], arch.activation[l]
    m = _Mask(free, values, l)
    by_signature: dict[tuple, list[int]] = {}
    for j in range(H):
        by_signature.setdefault(m.signature(j), []).append(j)
    classes = [tuple(c) for c in by_signature.values()]
    kind = _flip_kind(arch, l)
    flips = tuple(_may_flip(kind, m, c[0], pen) for c in classes)
    scalable = a in ("relu", "identity") and not pen.active
    scales = tuple(scalable and m.negatable(c[0], outgoing=True) for c in classes)
    mixing = None if a != "identity" or pen.l1 else "O" if pen.l2 else "GL"
    shifts = a == "identity" and arch.bias[l] and arch.bias[l + 1] and not pen.penalizes(bias=True)
    masked = raw is not None and not all(
        bool(np.all(x > 0.5)) for x in (raw.Ws[l], raw.bs[l], raw.Ws[l + 1], raw.bs[l + 1])
    )
    scale_units = [j for c, ok in zip(classes, scales, strict=True) if ok for j in c]
    merges = _merges(m, classes, odd=kind == "odd", scalable=scalable)
    s = LayerSymmetry(
        width=H,
        activation=a,
        flip=kind if any(flips) else None,
        scale=any(scales),
        classes=tuple(classes),
        class_flips=flips,
        class_scales=scales,
        mixing=mixing,
        shifts=bool(shifts),
        order=math.prod(
            math.factorial(len(c)) * (2 ** len(c) if f else 1)
            for c, f in zip(classes, flips, strict=True)
        ),
        continuous_dim=_continuous(arch, l, scale_units, mixing, shifts, masked),
        note="",
        exact=not merges and not (a == "identity" and masked),
    )
    return replace(s, note=_note(s, kind, pen, merges, masked and a == "identity"))


def layer_symmetries(arch: Architecture, pen: PenaltyFlags) -> tuple[LayerSymmetry, ...]:
    """One :class:`LayerSymmetry` per hidden layer of ``arch`` under the penalty ``pen``.

    Examples
    --------
    >>> from nnmle.networks import Architecture
    >>> [s.order for s in layer_symmetries(Architecture.build(2, (3, 2)), PenaltyFlags())]
    [48, 8]
    """
    free, _ = as_net(arch.free_mask().astype(np.float64), arch)
    values, _ = as_net(arch.fixed_values(), arch)
    raw = None if arch.mask is None else as_net(np.asarray(arch.mask, dtype=np.float64), arch)[0]
    return tuple(layer_symmetry(arch, pen, free, values, raw, l) for l in range(len(arch.hidden)))
