"""The symmetry group of a penalized objective: weight moves that leave it unchanged.

Why the MLE of a network is never unique: for a hidden layer of ``H`` units,

* **permutations** of the units (with their incoming and outgoing weights)
  leave the network function unchanged, for every activation;
* **sign flips** of a ``tanh`` (or identity) unit, ``(w, b, v) -> (-w, -b, -v)``,
  keep it because ``tanh(-z) = -tanh(z)``;
* a **logistic** unit flips too, because ``σ(-z) = 1 - σ(z)``: its incoming
  weights, bias and outgoing weights change sign *and its old outgoing weights
  are added to the next layer's bias*;
* a **relu** unit can be rescaled: ``relu(c z) = c relu(z)`` for ``c > 0``, so
  ``(w, b, v) -> (c w, c b, v / c)`` is a *continuous* symmetry, one dimension
  per unit;
* **softplus** and **relu** satisfy ``f(-z) = f(z) - z``: with skip-layer
  connections and a single hidden layer, ``(w, b, v) -> (-w, -b, v)`` with
  ``skip += w v^T`` and output bias ``+= b v`` is a symmetry;
* an **identity** (linear) hidden layer is invariant under any invertible
  mixing ``(W_l, b_l, W_{l+1}) -> (W_l A, b_l A, A^{-1} W_{l+1})`` (``GL(H)``)
  and under bias shifts.

nnmle's group is that of the *penalized, masked* objective,
:func:`group(problem) <group>`, not only of the network function:

* the L2 and L1 norms are invariant under permutations and odd flips, so they
  always stay; a logistic flip moves weight into the next bias, so it stays
  only when that bias is free and unpenalized; a skip flip changes the skip
  weights and a rescaling changes the norms, so they need an unpenalized
  objective; under L2 an identity layer keeps the rotations ``O(H)`` only,
  under L1 no continuous mixing;
* a mask (frozen weights) restricts permutations to *classes* of units whose
  frozen entries (incoming column, bias, outgoing row) agree, and allows a
  flip or a rescaling only where every frozen entry it moves is 0.

So with the group of a problem, :func:`canonicalize` and :func:`align` never
change the penalized objective or a frozen weight: nothing needs to be
stripped or undone afterwards. ``group(arch)`` is the group of the
unpenalized network.

A group element is plain data: :class:`GroupElement` holds one
:class:`LayerElement` ``(perm, signs, scales)`` per hidden layer, meaning *new
unit j is old unit perm[j], multiplied by signs[j] * scales[j]*. All
functions are pure; they accept :class:`~nnmle.networks.Params` or flat
vectors (:func:`~nnmle.networks.ravel` order) and return the same kind (a
flat vector comes back as NumPy). :class:`Net` and its helpers are the NumPy
form of the weights that the group acts on.
"""

from ._group import (
    TIE_TOL,
    Equivalence,
    Group,
    act,
    act_flat,
    align,
    canonicalize,
    compose,
    elements,
    equivalent,
    group,
    identity,
    inverse,
    orbit,
    random_element,
    symmetry_tangents,
)
from ._net import Net, as_net, effective_np, flat_np, forward_np, from_net, hidden_np
from ._types import GroupElement, LayerElement, LayerSymmetry, PenaltyFlags

__all__ = [
    "TIE_TOL",
    "Equivalence",
    "Group",
    "GroupElement",
    "LayerElement",
    "LayerSymmetry",
    "Net",
    "PenaltyFlags",
    "act",
    "act_flat",
    "align",
    "as_net",
    "canonicalize",
    "compose",
    "effective_np",
    "elements",
    "equivalent",
    "flat_np",
    "forward_np",
    "from_net",
    "group",
    "hidden_np",
    "identity",
    "inverse",
    "orbit",
    "random_element",
    "symmetry_tangents",
]
