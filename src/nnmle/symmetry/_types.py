"""The plain data of the symmetry package: penalty flags, layer symmetries, group elements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = ["GroupElement", "LayerElement", "LayerSymmetry", "PenaltyFlags"]


class PenaltyFlags(NamedTuple):
    """What of the penalty matters to the group: which terms are on, and whether biases pay.

    Only the signs of the strengths matter (a symmetry of ``l2 = 0.1`` is one of
    ``l2 = 5``), so the group of a problem is cached on these flags.

    Examples
    --------
    >>> PenaltyFlags(l2=True, l1=False, penalize_bias=False).describe()
    'L2 (biases free)'
    """

    l2: bool = False
    l1: bool = False
    penalize_bias: bool = False

    @property
    def active(self) -> bool:
        """Whether any penalty term is on."""
        return self.l2 or self.l1

    def penalizes(self, bias: bool) -> bool:
        """Whether a free entry (a bias when ``bias``) is penalized."""
        return self.active and (self.penalize_bias or not bias)

    def describe(self) -> str:
        """``"no penalty"``, ``"L2 (biases free)"``, ``"L2 + L1 (biases penalized)"``, ..."""
        if not self.active:
            return "no penalty"
        terms = " + ".join(t for t, on in (("L2", self.l2), ("L1", self.l1)) if on)
        return terms + (" (biases penalized)" if self.penalize_bias else " (biases free)")


@dataclass(frozen=True)
class LayerSymmetry:
    """The symmetries of one hidden layer of the penalized, possibly masked, objective.

    Attributes
    ----------
    width : int
        Number of units ``H``.
    activation : str
    flip : {None, "odd", "logistic", "skip"}
        How a sign flip acts: ``"odd"`` negates incoming weights, bias and
        outgoing weights (tanh, identity); ``"logistic"`` does too and adds the
        old outgoing weights to the next bias; ``"skip"`` negates the incoming
        weights and bias only and corrects the skip weights and output bias
        (relu, softplus with skip connections and one hidden layer). ``None``
        when no unit may be flipped.
    scale : bool
        Whether some unit may be rescaled (relu; the diagonal of ``GL(H)`` for
        identity), which needs the objective to be unpenalized.
    classes : tuple of tuple of int
        Units that may be permuted among themselves: their frozen (masked)
        entries agree. One class of ``H`` units without a mask.
    class_flips, class_scales : tuple of bool
        Per class, whether its units may be flipped / rescaled.
    mixing : {None, "GL", "O"}
        Identity layers: invertible mixing ``GL(H)`` (no penalty) or rotations
        ``O(H)`` (L2 only) of the units; ``None`` otherwise.
    shifts : bool
        Identity layers: the bias shifts ``b_l[j] += c, b_{l+1} -= c W_{l+1}[j]``.
    order : int
        Order of the finite part: the product over classes of ``k!`` (times
        ``2^k`` when the class flips).
    continuous_dim : int
        Dimension of the continuous part (relu rescaling, identity mixing and
        shifts).
    note : str
        The same in words.
    exact : bool
        ``False`` when the true group may be larger (then ``order`` and
        ``continuous_dim`` are lower bounds).
    """

    width: int
    activation: str
    flip: str | None
    scale: bool
    classes: tuple[tuple[int, ...], ...]
    class_flips: tuple[bool, ...]
    class_scales: tuple[bool, ...]
    mixing: str | None
    shifts: bool
    order: int
    continuous_dim: int
    note: str
    exact: bool = True

    def unit_flips(self) -> np.ndarray:
        """Boolean vector: whether unit ``j`` may be flipped."""
        return self._per_unit(self.class_flips)

    def unit_scales(self) -> np.ndarray:
        """Boolean vector: whether unit ``j`` may be rescaled."""
        return self._per_unit(self.class_scales)

    def unit_class(self) -> np.ndarray:
        """Integer vector: the class of unit ``j``."""
        return self._per_unit(tuple(range(len(self.classes))))

    def _per_unit(self, values: tuple) -> np.ndarray:
        out = np.empty(self.width, dtype=np.asarray(values).dtype)
        for c, v in zip(self.classes, values, strict=True):
            out[list(c)] = v
        return out


class LayerElement(NamedTuple):
    """The part of a group element acting on one hidden layer.

    New unit ``j`` is old unit ``perm[j]``; its incoming weights and bias are
    multiplied by ``signs[j] * scales[j]`` (see :func:`~nnmle.symmetry.act` for
    the outgoing side).
    """

    perm: np.ndarray
    signs: np.ndarray
    scales: np.ndarray


class GroupElement(NamedTuple):
    """A group element: one :class:`LayerElement` per hidden layer, input side first."""

    layers: tuple[LayerElement, ...]
