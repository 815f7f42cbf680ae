"""The group of a problem and the public functions that use it."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..networks import Architecture
from ..problem import Problem
from ._canonical import align_net, canonical_net
from ._elements import (
    act_net,
    compose_elements,
    identity_element,
    invert,
    iter_elements,
    random_layer,
)
from ._net import as_net, effective_np, flat_np, forward_np, from_net
from ._rules import layer_symmetries
from ._tangents import tangent_basis
from ._types import GroupElement, LayerSymmetry, PenaltyFlags

__all__ = [
    "TIE_TOL",
    "Equivalence",
    "Group",
    "act",
    "act_flat",
    "align",
    "canonicalize",
    "compose",
    "elements",
    "equivalent",
    "group",
    "identity",
    "inverse",
    "orbit",
    "random_element",
    "symmetry_tangents",
]

#: Default relative tolerance for near-ties in :func:`canonicalize`.
TIE_TOL = 1e-8


@dataclass(frozen=True)
class Group:
    """The symmetry group of a penalized objective: weight moves that keep it unchanged.

    Build one with :func:`group`. Every function of :mod:`nnmle.symmetry`
    takes it (or an Architecture or a Problem, converted with :func:`group`).

    Attributes
    ----------
    arch : Architecture
    penalty : PenaltyFlags
        Which penalty terms are on (``l2``, ``l1``) and whether biases are
        penalized: all the group depends on.
    layers : tuple of LayerSymmetry
        One per hidden layer.
    exact : bool
        ``False`` when the true group may be larger than reported (a mask on
        an identity layer, units with proportional frozen weights): ``order``
        and ``continuous_dim`` are then lower bounds.
    """

    arch: Architecture = field(repr=False)
    penalty: PenaltyFlags
    layers: tuple[LayerSymmetry, ...]

    @property
    def exact(self) -> bool:
        """Whether ``order`` and ``continuous_dim`` are exact (else lower bounds)."""
        return all(s.exact for s in self.layers)

    @property
    def order(self) -> int:
        """Order of the finite part (product of the layers' orders)."""
        return math.prod(s.order for s in self.layers)

    @property
    def continuous_dim(self) -> int:
        """Dimension of the continuous part (relu rescaling, identity-layer mixing)."""
        return sum(s.continuous_dim for s in self.layers)

    @property
    def notes(self) -> list[str]:
        """One sentence per hidden layer."""
        return [s.note for s in self.layers]

    def describe(self) -> str:
        """Plain-words description: the order, then one line per hidden layer.

        Examples
        --------
        >>> print(group(Architecture.build(2, hidden=(3,))).describe())
        symmetry group of 2-3-1 tanh, no penalty: finite part of order 48
        layer 1: 3 tanh units: 3! permutations x 2^3 sign flips = 48
        """
        head = (
            f"symmetry group of {self.arch.describe()}, {self.penalty.describe()}: "
            f"finite part of order {self.order}"
        )
        if self.continuous_dim:
            head += f", continuous part of dimension {self.continuous_dim}"
        if not self.exact:
            head += " (lower bounds: see the notes)"
        if not self.layers:
            return head + " (no hidden layer: the weights are identified as in a GLM)"
        return "\n".join([head] + [f"layer {l + 1}: {n}" for l, n in enumerate(self.notes)])

    def act(self, g: GroupElement, params):
        """Apply ``g`` (see :func:`act`)."""
        return act(g, params, self)

    def compose(self, g: GroupElement, h: GroupElement) -> GroupElement:
        """``g ∘ h``: apply ``h`` first, then ``g`` (see :func:`compose`)."""
        return compose(g, h)

    def inverse(self, g: GroupElement) -> GroupElement:
        """The inverse element (see :func:`inverse`)."""
        return inverse(g)

    def identity(self) -> GroupElement:
        """The neutral element."""
        return identity(self)

    def random_element(self, seed: int = 0, continuous: bool = True) -> GroupElement:
        """A random element (see :func:`random_element`)."""
        return random_element(self, seed, continuous)

    def elements(self) -> Iterator[GroupElement]:
        """Every element of the finite part (see :func:`elements`)."""
        return elements(self)

    def canonicalize(self, params, tol: float = TIE_TOL):
        """Canonical form and the element reaching it (see :func:`canonicalize`)."""
        return canonicalize(params, self, tol)

    def align(self, reference, other, max_sweeps: int = 20):
        """``other`` aligned to ``reference`` (see :func:`align`)."""
        return align(reference, other, self, max_sweeps)

    def orbit(self, params, max_size: int = 10_000) -> list:
        """The finite orbit of ``params`` (see :func:`orbit`)."""
        return orbit(params, self, max_size)

    def equivalent(self, a, b, atol: float = 1e-6, rtol: float = 1e-6, X=None, seed: int = 0):
        """Whether ``a`` and ``b`` are the same network (see :func:`equivalent`)."""
        return equivalent(a, b, self, atol, rtol, X, seed)


@functools.lru_cache(maxsize=512)
def _group(arch: Architecture, pen: PenaltyFlags) -> Group:
    return Group(arch, pen, layer_symmetries(arch, pen))


def group(obj) -> Group:
    """The stabilizer of the penalized objective: every weight move that keeps it unchanged.

    Per hidden layer (details in :mod:`nnmle.symmetry`):

    - **permutations** always, within classes of units whose frozen entries
      (incoming column, bias, outgoing row) agree;
    - **odd flips** (tanh, identity) always; **logistic flips** when the next
      bias is free and unpenalized; **skip flips** (relu, softplus with skip
      connections and one hidden layer) without penalty;
    - **rescaling** (relu; identity) without penalty;
    - a flip or a rescaling only for units whose frozen entries it moves are 0;
    - identity layers: ``GL(H)`` without penalty, ``O(H)`` under L2 only,
      plus bias shifts when both biases are free and unpenalized.

    Parameters
    ----------
    obj : Problem, Architecture or Group
        A :class:`~nnmle.problem.Problem` (its ``arch`` and concrete
        ``penalty``; an object with a ``.problem``, such as a fit, is read
        the same way), an Architecture (meaning: no penalty), or a Group
        (returned as is). Cached on the architecture and which penalty terms
        are on.

    Returns
    -------
    Group

    Examples
    --------
    >>> from nnmle.networks import Architecture
    >>> group(Architecture.build(2, hidden=(3, 2), activation="tanh")).order
    384
    >>> g = group(Architecture.build(2, hidden=(4,), activation="relu"))
    >>> g.order, g.continuous_dim
    (24, 4)
    """
    if isinstance(obj, Group):
        return obj
    if isinstance(obj, Architecture):
        return _group(obj, PenaltyFlags())
    problem = obj if isinstance(obj, Problem) else getattr(obj, "problem", None)
    if isinstance(problem, Problem):
        p = problem.penalty
        l2, l1 = bool(float(p.l2) > 0), bool(float(p.l1) > 0)
        return _group(problem.arch, PenaltyFlags(l2, l1, bool(p.penalize_bias) and (l2 or l1)))
    raise ValueError(
        f"Expected a Problem, an Architecture or a Group; got {type(obj).__name__}. "
        f"Fix: pass result.problem (the group of the penalized objective) or result.arch "
        f"(the group of the unpenalized network)."
    )


# --- elements -------------------------------------------------------------------------------


def identity(G) -> GroupElement:
    """The neutral element of the group of ``G`` (a Group, Problem or Architecture).

    Examples
    --------
    >>> from nnmle.networks import Architecture
    >>> identity(Architecture.build(2, hidden=(3,))).layers[0].perm.tolist()
    [0, 1, 2]
    """
    return identity_element(group(G).layers)


def compose(g: GroupElement, h: GroupElement) -> GroupElement:
    """The product ``g ∘ h``: ``act(compose(g, h), p, G) == act(g, act(h, p, G), G)``.

    Examples
    --------
    >>> from nnmle.networks import Architecture
    >>> G = group(Architecture.build(2, hidden=(3,)))
    >>> g = random_element(G, seed=1)
    >>> e = compose(inverse(g), g)
    >>> e.layers[0].perm.tolist(), e.layers[0].signs.tolist()
    ([0, 1, 2], [1.0, 1.0, 1.0])
    """
    return compose_elements(g, h)


def inverse(g: GroupElement) -> GroupElement:
    """The inverse element: ``compose(inverse(g), g)`` is the identity."""
    return invert(g)


def random_element(
    G, seed: int = 0, continuous: bool = True, scale_sd: float = 0.5
) -> GroupElement:
    """A random element: uniform permutations within classes and signs, log-normal scales.

    Parameters
    ----------
    G : Group, Problem or Architecture
    seed : int
    continuous : bool
        Draw rescalings (``exp(N(0, scale_sd²))``) where they are in the group;
        ``False`` keeps scales at 1 (an element of the finite part).
    scale_sd : float

    Examples
    --------
    >>> from nnmle.networks import Architecture
    >>> G = group(Architecture.build(2, hidden=(4,), activation="relu"))
    >>> g = random_element(G, seed=0)
    >>> sorted(g.layers[0].perm.tolist()), bool((g.layers[0].signs == 1).all())
    ([0, 1, 2, 3], True)
    """
    rng = np.random.default_rng(seed)
    return GroupElement(tuple(random_layer(s, rng, continuous, scale_sd) for s in group(G).layers))


def elements(G) -> Iterator[GroupElement]:
    """Iterate over every element of the finite part (scales 1), ``group(G).order`` of them.

    Examples
    --------
    >>> from nnmle.networks import Architecture
    >>> sum(1 for _ in elements(Architecture.build(2, hidden=(3,), activation="softplus")))
    6
    """
    return iter_elements(group(G).layers)


# --- the action -----------------------------------------------------------------------------


def act(g: GroupElement, params, G):
    """Apply a group element to the weights; the penalized objective is unchanged.

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
    G : Group, Problem or Architecture

    Returns
    -------
    Params or ndarray
        A Params for a Params, a flat NumPy vector for a flat vector.

    Raises
    ------
    ValueError
        When ``g`` is not an element of the group (e.g. a flip the penalty
        does not allow, a permutation across classes).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from nnmle.networks import Architecture, forward, init_params, unravel
    >>> arch = Architecture.build(3, hidden=(4,), activation="logistic")
    >>> theta = init_params(jax.random.PRNGKey(0), arch)
    >>> twin = act(random_element(arch, seed=3), theta, arch)
    >>> X = jnp.ones((2, 3))
    >>> bool(jnp.allclose(forward(unravel(theta, arch), X, arch),
    ...                   forward(unravel(jnp.asarray(twin), arch), X, arch)))
    True
    """
    G = group(G)
    net, flat = as_net(params, G.arch)
    return from_net(act_net(net, g, G.layers), G.arch, flat)


def act_flat(g: GroupElement, theta, G) -> np.ndarray:
    """:func:`act` on a flat parameter vector (``ravel`` order); returns a NumPy vector."""
    G = group(G)
    return np.asarray(act(g, flat_np(theta, G.arch), G))


def orbit(params, G, max_size: int = 10_000) -> list:
    """Every member of the finite orbit of ``params`` (scales held at 1).

    Raises ``ValueError`` when the group order exceeds ``max_size``.

    Examples
    --------
    >>> import jax
    >>> from nnmle.networks import Architecture, init_params
    >>> arch = Architecture.build(2, hidden=(2,), activation="tanh")
    >>> len(orbit(init_params(jax.random.PRNGKey(0), arch), arch))
    8
    """
    G = group(G)
    if G.order > max_size:
        raise ValueError(
            f"The orbit has {G.order} members, more than max_size={max_size}. "
            f"Fix: draw members with random_element(G, seed) instead, or raise max_size."
        )
    return [act(g, params, G) for g in elements(G)]


# --- canonical form and alignment -----------------------------------------------------------


def canonicalize(params, G, tol: float = TIE_TOL):
    """One representative per orbit, and the element that maps ``params`` to it.

    Hidden layers are processed from the input side; for each layer:

    1. **scale** (units that may be rescaled: relu, identity, without
       penalty): the incoming vector ``(b_j, w_j)`` is rescaled to unit norm
       (an all-zero one is left alone);
    2. **sign** (units that may flip): the incoming vector is flipped so that
       its largest-magnitude entry is positive; entries within a relative
       ``tol`` of the largest count as tied and the first (bias first, then
       inputs in order) decides. A unit with zero incoming weights takes the
       sign of its largest outgoing weight;
    3. **order**: within each class of interchangeable units (the positions
       of a class stay those of the class), units are sorted by decreasing
       norm of ``(b_j, w_j)``; norms equal within ``tol`` (relative to the
       layer's largest weight) are ordered by the entries of ``(b_j, w_j)``,
       larger first, then by the outgoing weights (last hidden layer) or their
       norm (earlier layers).

    With the group of a problem, the canonical form has the same penalized
    objective as ``params``: nothing needs to be undone afterwards. It is
    idempotent and the same for every member of an orbit. A reducible network
    (duplicate or proportional units, zero incoming weights; see
    :mod:`nnmle.identifiability`) or one within ``tol`` of a tie may have
    more than one canonical form. For identity layers only the monomial part
    of the continuous group is divided out.

    Parameters
    ----------
    params : Params or array of shape (n_total,)
    G : Group, Problem or Architecture
    tol : float
        Relative tolerance for near-ties (default ``1e-8``).

    Returns
    -------
    canonical : Params or ndarray
        The same kind as ``params``.
    g : GroupElement
        With ``act(g, params, G) == canonical``.

    Examples
    --------
    >>> import jax, numpy as np
    >>> from nnmle.networks import Architecture, init_params
    >>> arch = Architecture.build(2, hidden=(3,), activation="tanh")
    >>> theta = init_params(jax.random.PRNGKey(0), arch)
    >>> twin = act_flat(random_element(arch, seed=5), theta, arch)
    >>> bool(np.allclose(canonicalize(theta, arch)[0], canonicalize(twin, arch)[0]))
    True
    """
    G = group(G)
    net, flat = as_net(params, G.arch)
    net, g = canonical_net(net, G.layers, tol)
    return from_net(net, G.arch, flat), g


def align(reference, other, G, max_sweeps: int = 20):
    """The group element that brings ``other`` closest to ``reference`` (weight matching).

    For each hidden layer and each class of interchangeable units, a
    linear-assignment problem (:func:`scipy.optimize.linear_sum_assignment`)
    maximizes the summed inner products of matched units' incoming vectors
    ``(b, w)`` and outgoing weights; for units that may flip, the sign of each
    pair is chosen inside the cost (the better of ``+`` and ``-``); units that
    may be rescaled are compared after normalizing incoming vectors to unit
    norm, then given the reference's scale. The first sweep goes from the
    input side using incoming weights only (exact when ``other`` is in the
    orbit of ``reference``); further sweeps use both sides until no layer
    changes. With the group of a problem the aligned weights have the
    objective of ``other``.

    Parameters
    ----------
    reference, other : Params or array of shape (n_total,)
    G : Group, Problem or Architecture
    max_sweeps : int
        Limit on the coordinate-descent sweeps after the first.

    Returns
    -------
    aligned : Params or ndarray
        ``act(g, other, G)``, the same kind as ``other``.
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
    G = group(G)
    ref, _ = as_net(reference, G.arch)
    cur, flat = as_net(other, G.arch)
    cur, g = align_net(ref, cur, G.layers, max_sweeps)
    return from_net(cur, G.arch, flat), g


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
    a, b, G, atol: float = 1e-6, rtol: float = 1e-6, X=None, seed: int = 0
) -> Equivalence:
    """Whether two weight sets are the same network up to the group.

    ``b`` is aligned to ``a`` (:func:`align`); they are equivalent when the
    aligned weights agree *and* the linear predictors agree on ``X``, both in
    the sense ``|x - y| <= atol + rtol * |y|``. Frozen entries count at their
    fixed values.

    Parameters
    ----------
    a, b : Params or array of shape (n_total,)
    G : Group, Problem or Architecture
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
    G = group(G)
    arch = G.arch
    fa = effective_np(flat_np(a, arch), arch)
    fb = effective_np(flat_np(b, arch), arch)
    aligned, g = align(fa, fb, G)
    Xc = (
        np.random.default_rng(seed).standard_normal((256, arch.n_inputs))
        if X is None
        else np.asarray(X, dtype=np.float64)
    )
    ea = forward_np(as_net(fa, arch)[0], Xc, arch)
    eb = forward_np(as_net(fb, arch)[0], Xc, arch)
    w_ok = bool(np.allclose(aligned, fa, atol=atol, rtol=rtol))
    f_ok = bool(np.allclose(eb, ea, atol=atol, rtol=rtol))
    return Equivalence(
        w_ok and f_ok,
        float(np.max(np.abs(aligned - fa), initial=0.0)),
        float(np.max(np.abs(eb - ea), initial=0.0)),
        g,
    )


def symmetry_tangents(theta, G) -> np.ndarray:
    """Tangents at ``theta`` of the continuous part of the group, on the free coordinates.

    An orthonormal basis (columns) of the directions along which the
    penalized objective is exactly constant because of a continuous group
    acting on hidden units:

    - relu units that may be rescaled (no penalty): ``(w_in, b) -> c (w_in, b)``,
      ``w_out -> w_out / c``, one per unit;
    - identity units: ``W_l -> W_l A``, ``b_l -> b_l A``,
      ``W_{l+1} -> A^{-1} W_{l+1}`` with ``A`` in ``GL(H)`` (no penalty,
      ``H²``) or ``O(H)`` (L2 only, ``H(H-1)/2``); and shifts
      ``b_l[j] += c``, ``b_{l+1} -= c W_{l+1}[j]`` when both biases exist
      and are unpenalized (``H``).

    A tangent that would move a frozen entry is dropped. At a generic point
    of a minimal network the number of columns is ``group(G).continuous_dim``.

    Parameters
    ----------
    theta : Params or array of shape (n_total,)
    G : Group, Problem or Architecture

    Returns
    -------
    ndarray of shape (n_free, k)

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.networks import Architecture
    >>> arch = Architecture.build(3, hidden=(2,), activation="relu")
    >>> symmetry_tangents(np.random.default_rng(0).normal(size=arch.n_total), arch).shape
    (11, 2)
    """
    G = group(G)
    return tangent_basis(theta, G.arch, G.layers)
