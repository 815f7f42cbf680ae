"""Group elements: the algebra (identity, product, inverse), drawing them, and their action."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import numpy as np

from ._net import Net
from ._types import GroupElement, LayerElement, LayerSymmetry

__all__ = [
    "act_layer",
    "act_net",
    "as_element",
    "compose_elements",
    "compose_layer",
    "identity_element",
    "identity_layer",
    "invert",
    "iter_elements",
    "layer_is_identity",
    "random_layer",
]


def identity_layer(H: int) -> LayerElement:
    """The neutral element of a layer of ``H`` units."""
    return LayerElement(np.arange(H), np.ones(H), np.ones(H))


def identity_element(layers: Sequence[LayerSymmetry]) -> GroupElement:
    """The neutral element."""
    return GroupElement(tuple(identity_layer(s.width) for s in layers))


def compose_layer(g: LayerElement, h: LayerElement) -> LayerElement:
    """``g ∘ h`` on one layer (``h`` first)."""
    return LayerElement(h.perm[g.perm], g.signs * h.signs[g.perm], g.scales * h.scales[g.perm])


def compose_elements(g: GroupElement, h: GroupElement) -> GroupElement:
    """``g ∘ h`` (``h`` first)."""
    if len(g.layers) != len(h.layers):
        raise ValueError(
            f"Cannot compose elements of {len(g.layers)} and {len(h.layers)} hidden layers. "
            f"Fix: compose elements of the same group."
        )
    return GroupElement(tuple(compose_layer(a, b) for a, b in zip(g.layers, h.layers, strict=True)))


def invert(g: GroupElement) -> GroupElement:
    """The inverse element."""
    out = []
    for e in g.layers:
        q = np.argsort(e.perm)
        out.append(LayerElement(q, e.signs[q], 1.0 / e.scales[q]))
    return GroupElement(tuple(out))


def layer_is_identity(e: LayerElement) -> bool:
    """Whether ``e`` is the neutral element (scales within ``1e-12``)."""
    return (
        np.array_equal(e.perm, np.arange(e.perm.size))
        and bool(np.all(e.signs > 0))
        and bool(np.allclose(e.scales, 1.0, rtol=1e-12, atol=0.0))
    )


def as_element(g: GroupElement) -> GroupElement:
    """``g`` with NumPy arrays of the right dtypes (accepts lists and JAX arrays)."""
    return GroupElement(
        tuple(
            LayerElement(
                np.asarray(e.perm, dtype=int),
                np.asarray(e.signs, dtype=float),
                np.asarray(e.scales, dtype=float),
            )
            for e in g.layers
        )
    )


def random_layer(
    s: LayerSymmetry, rng: np.random.Generator, continuous: bool, scale_sd: float
) -> LayerElement:
    """A random element of one layer: uniform within classes, log-normal scales."""
    H = s.width
    perm = np.arange(H)
    for c in s.classes:
        idx = np.asarray(c)
        perm[idx] = idx[rng.permutation(idx.size)]
    flips = s.unit_flips()[perm]
    signs = np.where(flips, rng.choice([-1.0, 1.0], size=H), 1.0)
    scalable = s.unit_scales()[perm] & continuous
    scales = np.where(scalable, np.exp(rng.normal(0.0, scale_sd, size=H)), 1.0)
    return LayerElement(perm, signs, scales)


def _layer_elements(s: LayerSymmetry) -> list[LayerElement]:
    """Every element of one layer's finite part (scales 1)."""
    per_class = []
    for c, flip in zip(s.classes, s.class_flips, strict=True):
        patterns = itertools.product((1.0, -1.0), repeat=len(c)) if flip else [(1.0,) * len(c)]
        per_class.append(list(itertools.product(itertools.permutations(c), patterns)))
    out = []
    for combo in itertools.product(*per_class):
        perm, signs = np.arange(s.width), np.ones(s.width)
        for c, (p, sg) in zip(s.classes, combo, strict=True):
            perm[list(c)], signs[list(c)] = p, sg
        out.append(LayerElement(perm, signs, np.ones(s.width)))
    return out


def iter_elements(layers: Sequence[LayerSymmetry]) -> Iterator[GroupElement]:
    """Every element of the finite part, the product of the layers' orders of them."""
    for combo in itertools.product(*(_layer_elements(s) for s in layers)):
        yield GroupElement(tuple(combo))


def check_layer(e: LayerElement, s: LayerSymmetry, l: int) -> None:
    """Raise a ``ValueError`` when ``e`` is not in the group of layer ``l``."""
    H, where = s.width, f"hidden layer {l + 1}"
    if e.perm.shape != (H,) or e.signs.shape != (H,) or e.scales.shape != (H,):
        raise ValueError(
            f"The group element for {where} must have perm, signs and scales of length {H}; "
            f"got {e.perm.shape}, {e.signs.shape}, {e.scales.shape}. Fix: draw elements of "
            f"this group (random_element, elements, canonicalize, align)."
        )
    if not np.array_equal(np.sort(e.perm), np.arange(H)):
        raise ValueError(
            f"perm of {where} is not a permutation of 0..{H - 1}; got {e.perm.tolist()}."
        )
    cls = s.unit_class()
    if not np.array_equal(cls[e.perm], cls):
        raise ValueError(
            f"perm of {where} ({e.perm.tolist()}) exchanges units whose frozen weights differ; "
            f"units may be permuted only within their classes {[list(c) for c in s.classes]} "
            f"({s.note}). Fix: permute units within a class."
        )
    flips = s.unit_flips()[e.perm]
    if not np.all(np.abs(e.signs) == 1) or np.any((e.signs < 0) & ~flips):
        detail = (
            ""
            if flips.all()
            else f" (no flips for {'this layer' if not flips.any() else 'some units'}: {s.note})"
        )
        raise ValueError(
            f"signs of {where} must be +1 or -1, and -1 only for units that may flip{detail}; "
            f"got {e.signs.tolist()}. Fix: set those signs to +1."
        )
    scales = s.unit_scales()[e.perm]
    fixed = ~scales & ~np.isclose(e.scales, 1.0, rtol=1e-12, atol=0.0)
    if not np.all(e.scales > 0) or np.any(fixed):
        detail = (
            "" if scales.all() else f" and equal to 1 where rescaling is not a symmetry ({s.note})"
        )
        raise ValueError(
            f"scales of {where} must be positive{detail}; got {e.scales.tolist()}. "
            f"Fix: use scales of 1 (or draw random_element from the group of the problem)."
        )


def act_layer(net: Net, e: LayerElement, l: int, s: LayerSymmetry) -> Net:
    """Apply the layer-``l`` part of an element (pure; ``e`` already checked)."""
    p, f = e.perm, e.signs * e.scales
    Win, b_in, Wout, b_out = net.Ws[l], net.bs[l], net.Ws[l + 1], net.bs[l + 1]
    out_factor = 1.0 / e.scales if s.flip == "skip" else e.signs / e.scales
    new_Win = Win[:, p] * f
    new_b = b_in[p] * f
    new_Wout = Wout[p, :] * out_factor[:, None]
    flipped = p[e.signs < 0]
    skip, new_bout = net.skip, b_out
    if flipped.size and s.flip == "logistic":
        new_bout = b_out + Wout[flipped].sum(axis=0)
    if flipped.size and s.flip == "skip":
        assert skip is not None
        skip = skip + Win[:, flipped] @ Wout[flipped]
        new_bout = b_out + b_in[flipped] @ Wout[flipped]
    Ws = net.Ws[:l] + (new_Win, new_Wout) + net.Ws[l + 2 :]
    bs = net.bs[:l] + (new_b, new_bout) + net.bs[l + 2 :]
    return Net(Ws, bs, skip)


def act_net(net: Net, g: GroupElement, layers: Sequence[LayerSymmetry]) -> Net:
    """Check ``g`` against the group's layers and apply it, input side first."""
    g = as_element(g)
    if len(g.layers) != len(layers):
        raise ValueError(
            f"The element has {len(g.layers)} layer part(s); the network has {len(layers)} "
            f"hidden layer(s). Fix: use an element of this network's group."
        )
    for l, (e, s) in enumerate(zip(g.layers, layers, strict=True)):
        check_layer(e, s, l)
        net = act_layer(net, e, l, s)
    return net
