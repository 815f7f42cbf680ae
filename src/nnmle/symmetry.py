"""The symmetry group of a network: transformations of the weights that keep its function.

Why the MLE of a network is never unique: for a hidden layer of ``H`` units,

* **permutations** of the units (with their incoming and outgoing weights)
  leave the network function unchanged, for every activation;
* **sign flips** of a ``tanh`` (or identity) unit, ``(w, b, v) -> (-w, -b, -v)``,
  keep it because ``tanh(-z) = -tanh(z)``;
* a **logistic** unit flips too, because ``σ(-z) = 1 - σ(z)``: its incoming
  weights, bias and outgoing weights change sign *and its old outgoing weights
  are added to the next layer's bias*. Without a bias in the next layer the
  flip is not representable and only permutations remain;
* a **relu** unit can be rescaled: ``relu(c z) = c relu(z)`` for ``c > 0``, so
  ``(w, b, v) -> (c w, c b, v / c)`` is a *continuous* symmetry, one dimension
  per unit (``continuous_dim``);
* **softplus** and **relu** satisfy ``f(-z) = f(z) - z``. A flip
  ``(w, b, v) -> (-w, -b, v)`` then adds ``-v z`` to the output, which only a
  linear path from the inputs to the outputs can absorb: with skip-layer
  connections and a single hidden layer the flip *is* a symmetry
  (``skip += w v^T``, output bias ``+= b v``); otherwise softplus units have
  only permutations and relu units permutations and rescalings;
* an **identity** (linear) hidden layer is invariant under any invertible
  mixing ``(W_l, b_l, W_{l+1}) -> (W_l A, b_l A, A^{-1} W_{l+1})``: the group is
  ``GL(H)`` of dimension ``H²``. :func:`act` and :func:`canonicalize` use only
  its monomial part (signed, scaled permutations), so canonical forms of
  identity layers are not unique representatives of the whole orbit.

The L2 and L1 norms of the weights are invariant under permutations and the
odd flips, so a penalty does not restore identifiability. (Logistic flips
move weight into the next bias, so they change the penalty only when biases
are penalized; relu rescaling and skip flips change the L2 norm.)

Masks (frozen weights): a symmetry that moves a frozen weight is not a
symmetry of the constrained model. nnmle keeps it simple: a hidden layer whose
incoming, outgoing or next-bias weights contain a frozen entry (from the
``mask``) gets the trivial group, and :attr:`Group.exact` is ``False`` (the
order reported is then a lower bound). Layers without bias (``bias=False``)
are not masks in this sense and are handled exactly.

A group element is plain data: :class:`GroupElement` holds one
:class:`LayerElement` ``(perm, signs, scales)`` per hidden layer, meaning *new
unit j is old unit perm[j], multiplied by signs[j] * scales[j]*. All
functions are pure; they accept :class:`~nnmle.networks.Params` or flat
vectors (:func:`~nnmle.networks.ravel` order) and return the same kind.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.special import expit

from .networks import Architecture, Layer, Params

__all__ = [
    "Equivalence",
    "Group",
    "GroupElement",
    "LayerElement",
    "LayerSymmetry",
    "act",
    "act_flat",
    "align",
    "canonical_weights",
    "canonicalize",
    "compose",
    "elements",
    "equivalent",
    "group",
    "identity",
    "inverse",
    "orbit",
    "random_element",
]

#: Default relative tolerance for near-ties in :func:`canonicalize`.
TIE_TOL = 1e-8


class LayerElement(NamedTuple):
    """The part of a group element acting on one hidden layer.

    New unit ``j`` is old unit ``perm[j]``; its incoming weights and bias are
    multiplied by ``signs[j] * scales[j]`` (see :func:`act` for the outgoing side).
    """

    perm: np.ndarray
    signs: np.ndarray
    scales: np.ndarray


class GroupElement(NamedTuple):
    """A group element: one :class:`LayerElement` per hidden layer, input side first."""

    layers: tuple[LayerElement, ...]


@dataclass(frozen=True)
class LayerSymmetry:
    """The symmetries of one hidden layer.

    Attributes
    ----------
    width : int
        Number of units ``H``.
    activation : str
    flip : {None, "odd", "logistic", "skip"}
        How a sign flip acts: ``"odd"`` negates incoming and outgoing weights
        (tanh, identity); ``"logistic"`` does too and adds the old outgoing
        weights to the next bias; ``"skip"`` negates the incoming weights only
        and corrects the skip weights and output bias (relu, softplus with
        skip connections and one hidden layer); ``None``: no flips.
    permute, scale : bool
        Whether unit permutations / positive rescalings are symmetries.
    order : int
        Order of the finite part: ``H!`` times ``2^H`` when flips exist.
    continuous_dim : int
        ``H`` for relu (rescaling), ``H²`` for identity (``GL(H)``), else 0.
    note : str
        The same in words.
    restricted : bool
        ``True`` when a mask reduced this layer to the trivial group.
    """

    width: int
    activation: str
    flip: str | None
    permute: bool
    scale: bool
    order: int
    continuous_dim: int
    note: str
    restricted: bool = False


@dataclass(frozen=True)
class Group:
    """The symmetry group of an :class:`~nnmle.networks.Architecture`.

    Attributes
    ----------
    arch : Architecture
    layers : tuple of LayerSymmetry
        One per hidden layer.
    exact : bool
        ``False`` when a mask restricted some layer to the trivial group (the
        true group of the constrained model may be larger than reported).
    """

    arch: Architecture = field(repr=False)
    layers: tuple[LayerSymmetry, ...]
    exact: bool = True

    @property
    def order(self) -> int:
        """Exact order of the finite part (product of the layers' orders)."""
        return math.prod(s.order for s in self.layers)

    @property
    def continuous_dim(self) -> int:
        """Dimension of the continuous part (relu rescaling, identity-layer mixing)."""
        return sum(s.continuous_dim for s in self.layers)

    @property
    def notes(self) -> list[str]:
        """One sentence per hidden layer."""
        return [s.note for s in self.layers]

    def act(self, g: GroupElement, params):
        """Apply ``g`` (see :func:`act`)."""
        return act(g, params, self.arch)

    def compose(self, g: GroupElement, h: GroupElement) -> GroupElement:
        """``g ∘ h``: apply ``h`` first, then ``g`` (see :func:`compose`)."""
        return compose(g, h)

    def inverse(self, g: GroupElement) -> GroupElement:
        """The inverse element (see :func:`inverse`)."""
        return inverse(g)

    def identity(self) -> GroupElement:
        """The neutral element."""
        return identity(self.arch)

    def random_element(self, seed: int = 0, continuous: bool = True) -> GroupElement:
        """A random element (see :func:`random_element`)."""
        return random_element(self.arch, seed, continuous)

    def elements(self) -> Iterator[GroupElement]:
        """Every element of the finite part (see :func:`elements`)."""
        return elements(self.arch)

    def describe(self) -> str:
        """Plain-words description, e.g. ``order 2^3 * 3! = 48``."""
        parts = [f"layer {l + 1}: {s.note}" for l, s in enumerate(self.layers)]
        head = f"symmetry group of {self.arch.describe()}: finite part of order {self.order}"
        if self.continuous_dim:
            head += f", continuous part of dimension {self.continuous_dim}"
        if not self.layers:
            return head + " (no hidden layer: the weights are identified as in a GLM)"
        return head + "\n" + "\n".join(parts)


# --- the group of an architecture ---------------------------------------------------------


def _frozen_by_mask(arch: Architecture, l: int, flip: str | None) -> bool:
    """Whether the mask freezes an entry that layer ``l``'s symmetries would move."""
    if arch.mask is None:
        return False
    free, _ = _as_net(np.asarray(arch.mask, dtype=float), arch)
    blocks = [free.Ws[l], free.Ws[l + 1]]
    if arch.bias[l]:
        blocks.append(free.bs[l])
    if flip in ("logistic", "skip"):
        blocks.append(free.bs[l + 1])
    if flip == "skip" and free.skip is not None:
        blocks.append(free.skip)
    return not all(bool(np.all(b == 1.0)) for b in blocks)


def _layer_symmetry(arch: Architecture, l: int) -> LayerSymmetry:
    H, a = arch.hidden[l], arch.activation[l]
    one_hidden_skip = arch.skip and len(arch.hidden) == 1 and (arch.bias[1] or not arch.bias[0])
    flip: str | None
    if a in ("tanh", "identity"):
        flip = "odd"
    elif a == "logistic":
        flip = "logistic" if arch.bias[l + 1] else None
    else:  # relu, softplus
        flip = "skip" if one_hidden_skip else None
    scale = a in ("relu", "identity")
    if _frozen_by_mask(arch, l, flip):
        return LayerSymmetry(
            H,
            a,
            None,
            False,
            False,
            1,
            0,
            f"{H} {a} units with frozen weights (mask): restricted to the identity; "
            f"symmetries that keep the frozen values are not counted",
            restricted=True,
        )
    order = math.factorial(H) * (2**H if flip else 1)
    cdim = H if a == "relu" else H * H if a == "identity" else 0
    words = {
        "odd": f"2^{H} sign flips",
        "logistic": f"2^{H} flips (sigma(-z) = 1 - sigma(z); the next bias absorbs the change)",
        "skip": f"2^{H} flips (f(-z) = f(z) - z; the skip weights absorb the linear term)",
        None: "no sign flips",
    }[flip]
    note = f"{H} {a} units: {H}! permutations x {words} = {order}"
    if a == "logistic" and flip is None:
        note += " (the next layer has no bias, so flips are not representable)"
    if a in ("relu", "softplus") and flip is None:
        note += " (flips would need skip connections and a single hidden layer)"
    if a == "relu":
        note += f"; plus positive rescaling of each unit (continuous, dimension {H})"
    if a == "identity":
        note += (
            f"; in fact any invertible {H}x{H} mixing is a symmetry (GL({H}), dimension {H * H}):"
            " only the product of the layer's weight matrices is identified"
        )
    return LayerSymmetry(H, a, flip, True, scale, order, cdim, note)


@functools.lru_cache(maxsize=256)
def group(arch: Architecture) -> Group:
    """The symmetry group of a network architecture.

    Parameters
    ----------
    arch : Architecture

    Returns
    -------
    Group
        With ``.order`` (exact integer order of the finite part: ``2^H H!``
        per tanh layer, multiplied over layers), ``.continuous_dim``,
        ``.layers`` and the methods ``act``, ``random_element``, ``compose``,
        ``inverse``, ``elements``.

    Examples
    --------
    >>> from nnmle.networks import Architecture
    >>> group(Architecture.build(2, hidden=(3, 2), activation="tanh")).order
    384
    >>> g = group(Architecture.build(2, hidden=(4,), activation="relu"))
    >>> g.order, g.continuous_dim
    (24, 4)
    """
    layers = tuple(_layer_symmetry(arch, l) for l in range(len(arch.hidden)))
    return Group(arch, layers, exact=not any(s.restricted for s in layers))


# --- elements -------------------------------------------------------------------------------


def _layer_identity(H: int) -> LayerElement:
    return LayerElement(np.arange(H), np.ones(H), np.ones(H))


def identity(arch: Architecture) -> GroupElement:
    """The neutral element of the group of ``arch``."""
    return GroupElement(tuple(_layer_identity(H) for H in arch.hidden))


def _compose_layer(g: LayerElement, h: LayerElement) -> LayerElement:
    return LayerElement(h.perm[g.perm], g.signs * h.signs[g.perm], g.scales * h.scales[g.perm])


def compose(g: GroupElement, h: GroupElement) -> GroupElement:
    """The product ``g ∘ h``: ``act(compose(g, h), p) == act(g, act(h, p))``.

    Examples
    --------
    >>> from nnmle.networks import Architecture
    >>> arch = Architecture.build(2, hidden=(3,))
    >>> g = random_element(arch, seed=1)
    >>> e = compose(inverse(g), g)
    >>> e.layers[0].perm.tolist(), e.layers[0].signs.tolist()
    ([0, 1, 2], [1.0, 1.0, 1.0])
    """
    return GroupElement(
        tuple(_compose_layer(a, b) for a, b in zip(g.layers, h.layers, strict=True))
    )


def inverse(g: GroupElement) -> GroupElement:
    """The inverse element: ``compose(inverse(g), g)`` is the identity."""
    out = []
    for e in g.layers:
        q = np.argsort(e.perm)
        out.append(LayerElement(q, e.signs[q], 1.0 / e.scales[q]))
    return GroupElement(tuple(out))


def random_element(
    arch: Architecture, seed: int = 0, continuous: bool = True, scale_sd: float = 0.5
) -> GroupElement:
    """A random element: uniform permutation and signs, log-normal scales.

    Parameters
    ----------
    arch : Architecture
    seed : int
    continuous : bool
        Draw rescalings for relu/identity layers (``exp(N(0, scale_sd²))``);
        ``False`` keeps scales at 1 (an element of the finite part only).
    scale_sd : float
    """
    rng = np.random.default_rng(seed)
    out = []
    for s in group(arch).layers:
        H = s.width
        perm = rng.permutation(H) if s.permute else np.arange(H)
        signs = rng.choice([-1.0, 1.0], size=H) if s.flip else np.ones(H)
        scales = np.exp(rng.normal(0.0, scale_sd, size=H)) if s.scale and continuous else np.ones(H)
        out.append(LayerElement(perm, signs, scales))
    return GroupElement(tuple(out))


def elements(arch: Architecture) -> Iterator[GroupElement]:
    """Iterate over every element of the finite part (scales 1), ``group(arch).order`` of them."""
    per_layer = []
    for s in group(arch).layers:
        H = s.width
        perms = list(itertools.permutations(range(H))) if s.permute else [tuple(range(H))]
        signs = list(itertools.product((1.0, -1.0), repeat=H)) if s.flip else [(1.0,) * H]
        per_layer.append(
            [
                LayerElement(np.array(p, dtype=int), np.array(sg), np.ones(H))
                for p in perms
                for sg in signs
            ]
        )
    for combo in itertools.product(*per_layer):
        yield GroupElement(tuple(combo))


# --- the action ----------------------------------------------------------------------------


class _Net(NamedTuple):
    Ws: tuple[np.ndarray, ...]
    bs: tuple[np.ndarray, ...]
    skip: np.ndarray | None


def _as_net(params, arch: Architecture) -> tuple[_Net, bool]:
    """Weights as NumPy float64 arrays (plain NumPy: no JAX dispatch on this path)."""
    flat = not isinstance(params, Params)
    if flat:
        theta = np.asarray(params, dtype=np.float64)
        if theta.shape != (arch.n_total,):
            raise ValueError(
                f"Expected a flat weight vector of {arch.n_total} entries for "
                f"{arch.describe()}; got shape {theta.shape}."
            )
        blocks, off = [], 0
        for sh in arch.shapes:
            size = math.prod(sh)
            blocks.append(theta[off : off + size].reshape(sh).copy())
            off += size
        n = len(arch.hidden) + 1
        net = _Net(
            tuple(blocks[0 : 2 * n : 2]),
            tuple(blocks[1 : 2 * n : 2]),
            blocks[-1] if arch.skip else None,
        )
        return net, True
    net = _Net(
        tuple(np.array(L.W, dtype=np.float64) for L in params.layers),
        tuple(np.array(L.b, dtype=np.float64) for L in params.layers),
        None if params.skip is None else np.array(params.skip, dtype=np.float64),
    )
    return net, False


def _from_net(net: _Net, arch: Architecture, flat: bool):
    if flat:
        parts = [a.ravel() for W, b in zip(net.Ws, net.bs, strict=True) for a in (W, b)]
        return np.concatenate(parts + ([net.skip.ravel()] if net.skip is not None else []))
    return Params(
        tuple(Layer(jnp.asarray(W), jnp.asarray(b)) for W, b in zip(net.Ws, net.bs, strict=True)),
        None if net.skip is None else jnp.asarray(net.skip),
    )


_NP_ACTIVATIONS = {
    "tanh": np.tanh,
    "logistic": expit,
    "relu": lambda z: np.maximum(z, 0.0),
    "softplus": lambda z: np.logaddexp(0.0, z),
    "identity": lambda z: z,
}


def _hidden_np(net: _Net, X: np.ndarray, arch: Architecture) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(z, h)`` of every hidden layer on ``X``, in NumPy."""
    out, h = [], X
    for l, a in enumerate(arch.activation):
        z = h @ net.Ws[l] + net.bs[l]
        h = _NP_ACTIVATIONS[a](z)
        out.append((z, h))
    return out


def _forward_np(net: _Net, X: np.ndarray, arch: Architecture) -> np.ndarray:
    """The linear predictor in NumPy (the same as :func:`~nnmle.networks.forward`)."""
    h = _hidden_np(net, X, arch)[-1][1] if arch.hidden else X
    eta = h @ net.Ws[-1] + net.bs[-1]
    return eta + X @ net.skip if net.skip is not None else eta


def _check_layer(e: LayerElement, s: LayerSymmetry, l: int) -> None:
    H = s.width
    if e.perm.shape != (H,) or e.signs.shape != (H,) or e.scales.shape != (H,):
        raise ValueError(
            f"The group element for hidden layer {l + 1} must have perm, signs and scales of "
            f"length {H}; got {e.perm.shape}, {e.signs.shape}, {e.scales.shape}."
        )
    if not np.array_equal(np.sort(e.perm), np.arange(H)):
        raise ValueError(f"perm of hidden layer {l + 1} is not a permutation of 0..{H - 1}.")
    if not s.permute and not np.array_equal(e.perm, np.arange(H)):
        raise ValueError(f"Hidden layer {l + 1} has no permutation symmetry ({s.note}).")
    if not np.all(np.abs(e.signs) == 1) or (not s.flip and np.any(e.signs < 0)):
        raise ValueError(
            f"signs of hidden layer {l + 1} must be +1"
            + (" or -1" if s.flip else f" (no flips for this layer: {s.note})")
            + "."
        )
    if not np.all(e.scales > 0) or (not s.scale and not np.allclose(e.scales, 1.0)):
        raise ValueError(
            f"scales of hidden layer {l + 1} must be positive"
            + ("" if s.scale else f" and equal to 1 (no rescaling for {s.activation} units)")
            + "."
        )


def _act_layer(net: _Net, e: LayerElement, l: int, s: LayerSymmetry) -> _Net:
    """Apply the layer-``l`` part of an element (pure)."""
    p, f = e.perm, e.signs * e.scales
    Win, b_in, Wout, b_out = net.Ws[l], net.bs[l], net.Ws[l + 1], net.bs[l + 1]
    out_factor = 1.0 / e.scales if s.flip == "skip" else e.signs / e.scales
    new_Win = Win[:, p] * f
    new_b = b_in[p] * f
    new_Wout = Wout[p, :] * out_factor[:, None]
    flipped = p[e.signs < 0]
    skip = net.skip
    new_bout = b_out
    if flipped.size and s.flip == "logistic":
        new_bout = b_out + Wout[flipped].sum(axis=0)
    if flipped.size and s.flip == "skip":
        assert skip is not None
        skip = skip + Win[:, flipped] @ Wout[flipped]
        new_bout = b_out + b_in[flipped] @ Wout[flipped]
    Ws = net.Ws[:l] + (new_Win, new_Wout) + net.Ws[l + 2 :]
    bs = net.bs[:l] + (new_b, new_bout) + net.bs[l + 2 :]
    return _Net(Ws, bs, skip)


def _as_element(g: GroupElement) -> GroupElement:
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


def act(g: GroupElement, params, arch: Architecture):
    """Apply a group element to the weights; the network function is unchanged.

    Layer by layer from the input side, for hidden layer ``l`` with element
    ``(perm, signs, scales)``: new unit ``j`` is old unit ``k = perm[j]`` with
    incoming weights and bias times ``signs[j] * scales[j]`` and outgoing
    weights times ``signs[j] / scales[j]`` (times ``1 / scales[j]`` for skip
    flips). A flipped logistic unit adds its old outgoing weights to the next
    layer's bias; a flipped relu/softplus unit (skip flip) adds ``w_k v_k^T``
    to the skip weights and ``b_k v_k`` to the output bias.

    Parameters
    ----------
    g : GroupElement
    params : Params or array of shape (n_total,)
    arch : Architecture

    Returns
    -------
    Params or array
        The same kind as ``params``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from nnmle.networks import Architecture, forward, init_params, unravel
    >>> arch = Architecture.build(3, hidden=(4,), activation="logistic")
    >>> theta = init_params(jax.random.PRNGKey(0), arch)
    >>> twin = act(random_element(arch, seed=3), theta, arch)
    >>> X = jnp.ones((2, 3))
    >>> bool(jnp.allclose(forward(unravel(theta, arch), X, arch),
    ...                   forward(unravel(twin, arch), X, arch)))
    True
    """
    sym = group(arch)
    g = _as_element(g)
    if len(g.layers) != len(sym.layers):
        raise ValueError(
            f"The element has {len(g.layers)} layer part(s); the architecture "
            f"{arch.describe()} has {len(sym.layers)} hidden layer(s)."
        )
    net, flat = _as_net(params, arch)
    for l, (e, s) in enumerate(zip(g.layers, sym.layers, strict=True)):
        _check_layer(e, s, l)
        net = _act_layer(net, e, l, s)
    return _from_net(net, arch, flat)


def act_flat(g: GroupElement, theta, arch: Architecture) -> np.ndarray:
    """:func:`act` on a flat parameter vector (``ravel`` order); returns a NumPy vector."""
    return np.asarray(act(g, np.asarray(theta, dtype=np.float64), arch))


def orbit(params, arch: Architecture, max_size: int = 10_000) -> list:
    """All members of the finite orbit of ``params`` (relu scales held at 1).

    Raises ``ValueError`` when the group order exceeds ``max_size``.

    Examples
    --------
    >>> import jax
    >>> from nnmle.networks import Architecture, init_params
    >>> arch = Architecture.build(2, hidden=(2,), activation="tanh")
    >>> len(orbit(init_params(jax.random.PRNGKey(0), arch), arch))
    8
    """
    n = group(arch).order
    if n > max_size:
        raise ValueError(
            f"The orbit has {n} members, more than max_size={max_size}. "
            f"Fix: draw members with random_element(arch, seed) instead, or raise max_size."
        )
    return [act(g, params, arch) for g in elements(arch)]


# --- canonical form ------------------------------------------------------------------------


def _incoming(net: _Net, l: int) -> np.ndarray:
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


def _canonical_layer(net: _Net, l: int, s: LayerSymmetry, tol: float) -> LayerElement:
    H = s.width
    if not s.permute:
        return _layer_identity(H)
    U = _incoming(net, l)
    V = net.Ws[l + 1]
    scales = np.ones(H)
    if s.scale:
        norms = np.linalg.norm(U, axis=0)
        scales = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 1.0)
        scales = np.where(np.abs(scales - 1.0) <= 1e-12, 1.0, scales)
    signs = np.ones(H)
    if s.flip:
        for j in range(H):
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

    perm = np.array(sorted(range(H), key=functools.cmp_to_key(cmp)), dtype=int)
    return LayerElement(perm, signs[perm], scales[perm])


def canonicalize(params, arch: Architecture, tol: float = TIE_TOL):
    """One representative per orbit, and the element that maps ``params`` to it.

    Hidden layers are processed from the input side; for each layer:

    1. **scale** (relu, identity): each unit's incoming vector ``(b_j, w_j)``
       is rescaled to unit Euclidean norm (units with an all-zero incoming
       vector are left alone);
    2. **sign** (layers with flips): the incoming vector ``(b_j, w_j)`` is
       flipped so that its largest-magnitude entry is positive; entries
       within a relative ``tol`` of the largest count as tied and the first
       (bias first, then inputs in order) decides. A unit with zero incoming
       weights takes the sign of its largest outgoing weight;
    3. **order**: units are sorted by decreasing norm of ``(b_j, w_j)``
       (all 1 for relu after step 1); norms equal within ``tol`` (relative
       to the layer's largest weight) are ordered by the entries of
       ``(b_j, w_j)``, larger first, then by the outgoing weights (last
       hidden layer) or their norm (earlier layers).

    The canonical form is idempotent, the same for every member of an orbit
    and has the same network function. Near-ties are resolved with ``tol``;
    a reducible network (duplicate or proportional units, zero incoming
    weights: see :func:`nnmle.identifiability`) and a network within ``tol``
    of a tie may have more than one canonical form. For identity layers only
    the monomial part of ``GL(H)`` is divided out.

    Parameters
    ----------
    params : Params or array of shape (n_total,)
    arch : Architecture
    tol : float
        Relative tolerance for near-ties (default ``1e-8``).

    Returns
    -------
    canonical : Params or array
        The same kind as ``params``.
    g : GroupElement
        With ``act(g, params, arch) == canonical``.

    Examples
    --------
    >>> import jax
    >>> from nnmle.networks import Architecture, init_params
    >>> arch = Architecture.build(2, hidden=(3,), activation="tanh")
    >>> theta = init_params(jax.random.PRNGKey(0), arch)
    >>> twin = act_flat(random_element(arch, seed=5), theta, arch)
    >>> import numpy as np
    >>> bool(np.allclose(canonicalize(theta, arch)[0], canonicalize(twin, arch)[0]))
    True
    """
    sym = group(arch)
    net, flat = _as_net(params, arch)
    parts = []
    for l, s in enumerate(sym.layers):
        e = _canonical_layer(net, l, s, tol)
        net = _act_layer(net, e, l, s)
        parts.append(e)
    return _from_net(net, arch, flat), GroupElement(tuple(parts))


def canonical_weights(result) -> list[dict]:
    """The free weights of a fit in canonical form: ``[{"name", "value"}]``.

    ``result`` is a :class:`~nnmle.fit.FitResult`; the rows follow
    :meth:`~nnmle.fit.FitResult.weight_table`. Under a penalty, rescaling is
    not a symmetry of the penalized objective, so only the permutation and
    signs of :func:`canonicalize` are applied (the fit's scales are kept).
    """
    theta = np.asarray(result.theta, dtype=np.float64)
    canon, g = canonicalize(theta, result.arch)
    if result.penalty.l2 or result.penalty.l1:
        g = GroupElement(tuple(e._replace(scales=np.ones_like(e.scales)) for e in g.layers))
        canon = act_flat(g, theta, result.arch)
    names = result.arch.param_names()
    free = result.arch.free_mask()
    return [{"name": names[j], "value": float(canon[j])} for j in np.flatnonzero(free)]


# --- alignment -----------------------------------------------------------------------------


def _match_layer(ref: _Net, cur: _Net, l: int, s: LayerSymmetry, use_out: bool) -> LayerElement:
    """Best element for layer ``l`` bringing ``cur`` to ``ref`` (linear assignment)."""
    H = s.width
    if not s.permute:
        return _layer_identity(H)
    Ur, Uc = _incoming(ref, l), _incoming(cur, l)
    Vr, Vc = ref.Ws[l + 1], cur.Ws[l + 1]
    if s.scale:
        nr = np.linalg.norm(Ur, axis=0)
        nc = np.linalg.norm(Uc, axis=0)
        nr, nc = np.where(nr > 0, nr, 1.0), np.where(nc > 0, nc, 1.0)
        Ur, Vr = Ur / nr, Vr * nr[:, None]
        Uc, Vc = Uc / nc, Vc * nc[:, None]
    A = Ur.T @ Uc
    B = Vr @ Vc.T if use_out else np.zeros_like(A)
    S = A + B
    sgn = np.ones_like(S)
    if s.flip:
        S_minus = -A + B if s.flip == "skip" else -A - B
        sgn = np.where(S >= S_minus, 1.0, -1.0)
        S = np.maximum(S, S_minus)
    rows, cols = linear_sum_assignment(S, maximize=True)
    perm = cols[np.argsort(rows)]
    signs = sgn[np.arange(H), perm]
    scales = nr / nc[perm] if s.scale else np.ones(H)
    return LayerElement(perm, signs, scales)


def _is_identity_layer(e: LayerElement) -> bool:
    return (
        np.array_equal(e.perm, np.arange(e.perm.size))
        and bool(np.all(e.signs > 0))
        and bool(np.allclose(e.scales, 1.0, rtol=1e-12, atol=0.0))
    )


def align(reference, other, arch: Architecture, max_sweeps: int = 20):
    """The group element that brings ``other`` closest to ``reference`` (weight matching).

    For each hidden layer, a linear-assignment problem
    (:func:`scipy.optimize.linear_sum_assignment`) maximizes the summed
    inner products of matched units' incoming vectors ``(b, w)`` and
    outgoing weights; the sign of each pair is chosen inside the cost (the
    better of ``+`` and ``-``), and relu/identity units are compared after
    normalizing incoming vectors to unit norm, then given the reference's
    scale. The first sweep goes from the input side using incoming weights
    only (exact when ``other`` is in the orbit of ``reference``); further
    sweeps (coordinate descent over layers) use both sides until no layer
    changes.

    Parameters
    ----------
    reference, other : Params or array of shape (n_total,)
    arch : Architecture
    max_sweeps : int
        Limit on the coordinate-descent sweeps after the first.

    Returns
    -------
    aligned : Params or array
        ``act(g, other, arch)``, the same kind as ``other``.
    g : GroupElement

    Examples
    --------
    >>> import jax, numpy as np
    >>> from nnmle.networks import Architecture, init_params
    >>> arch = Architecture.build(3, hidden=(5, 4), activation="tanh")
    >>> ref = init_params(jax.random.PRNGKey(0), arch)
    >>> g = random_element(arch, seed=7)
    >>> aligned, h = align(ref, act_flat(g, ref, arch), arch)
    >>> bool(np.allclose(aligned, ref)), [e.perm.tolist() for e in compose(h, g).layers]
    (True, [[0, 1, 2, 3, 4], [0, 1, 2, 3]])
    """
    sym = group(arch)
    ref, _ = _as_net(reference, arch)
    cur, flat = _as_net(other, arch)
    parts = list(identity(arch).layers)
    for sweep in range(max_sweeps + 1):
        changed = False
        for l, s in enumerate(sym.layers):
            e = _match_layer(ref, cur, l, s, use_out=sweep > 0)
            changed = changed or not _is_identity_layer(e)
            cur = _act_layer(cur, e, l, s)
            parts[l] = _compose_layer(e, parts[l])
        if sweep > 0 and not changed:
            break
    return _from_net(cur, arch, flat), GroupElement(tuple(parts))


@dataclass(frozen=True)
class Equivalence:
    """Outcome of :func:`equivalent`; true in a boolean context when the networks match.

    Attributes
    ----------
    same : bool
    weight_diff : float
        Largest absolute difference between the aligned weights.
    function_diff : float
        Largest absolute difference between the linear predictors on the data.
    g : GroupElement
        The element aligning ``b`` to ``a``.
    """

    same: bool
    weight_diff: float
    function_diff: float
    g: GroupElement = field(repr=False)

    def __bool__(self) -> bool:
        return self.same


def equivalent(
    a, b, arch: Architecture, atol: float = 1e-6, rtol: float = 1e-6, X=None, seed: int = 0
) -> Equivalence:
    """Whether two weight sets are the same network up to symmetry.

    ``b`` is aligned to ``a`` (:func:`align`); they are equivalent when the
    aligned weights agree *and* the linear predictors agree on ``X``, both
    in the sense ``|x - y| <= atol + rtol * |y|``.

    Parameters
    ----------
    a, b : Params or array of shape (n_total,)
    arch : Architecture
    atol, rtol : float
    X : array of shape (n, n_inputs), optional
        Data to compare the functions on; default 256 standard-normal rows.
    seed : int
        Seed of the default ``X``.

    Returns
    -------
    Equivalence
        Truthy when equivalent; with the differences and the aligning element.

    Examples
    --------
    >>> import jax
    >>> from nnmle.networks import Architecture, init_params
    >>> arch = Architecture.build(2, hidden=(3,), activation="relu")
    >>> a = init_params(jax.random.PRNGKey(0), arch)
    >>> bool(equivalent(a, act_flat(random_element(arch, seed=1), a, arch), arch))
    True
    """
    aligned, g = align(a, b, arch)
    na, _ = _as_net(a, arch)
    nb, _ = _as_net(b, arch)
    fa, fb = _from_net(na, arch, True), np.asarray(_from_net(_as_net(aligned, arch)[0], arch, True))
    Xc = (
        np.random.default_rng(seed).standard_normal((256, arch.n_inputs))
        if X is None
        else np.asarray(X, dtype=float)
    )
    ea, eb = _forward_np(na, Xc, arch), _forward_np(nb, Xc, arch)
    w_ok = bool(np.allclose(fb, fa, atol=atol, rtol=rtol))
    f_ok = bool(np.allclose(eb, ea, atol=atol, rtol=rtol))
    return Equivalence(
        w_ok and f_ok,
        float(np.max(np.abs(fb - fa), initial=0.0)),
        float(np.max(np.abs(eb - ea), initial=0.0)),
        g,
    )
