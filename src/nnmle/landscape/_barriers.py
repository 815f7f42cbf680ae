"""Loss barriers between solutions (raw and aligned modulo symmetry), the group
elements that keep the penalized objective, and the non-convexity certificate."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import symmetry
from ..networks import Architecture
from ..penalties import Penalty
from ._problem import _flat, as_problem

# --- barriers and the non-convexity certificate ------------------------------


def _kept_moves(arch: Architecture, penalty: Penalty | None) -> list[tuple[bool, bool, bool]]:
    """Per hidden layer: (permute, flip, scale) that also keep the *penalized* objective.

    Permutations and odd (tanh, identity) flips keep every penalty; a logistic
    flip moves weight into the next bias (kept unless biases are penalized);
    skip flips and relu/identity rescalings change the weights' norms.
    """
    penalty = penalty or Penalty()
    pen = penalty.l2 > 0 or penalty.l1 > 0
    out = []
    for s in symmetry.group(arch).layers:
        flip = s.flip == "odd" or (
            (s.flip == "logistic" and not (pen and penalty.penalize_bias))
            or (s.flip == "skip" and not pen)
        )
        out.append((s.permute, bool(flip), s.scale and not pen))
    return out


def objective_element(g, arch: Architecture, penalty: Penalty | None):
    """The part of a group element that keeps the penalized objective.

    Drops the sign flips and rescalings the penalty does not tolerate (see
    :func:`_kept_moves`), keeping the permutation. With no penalty ``g`` is
    returned as is.
    """
    parts = []
    for e, (_, flip, scale) in zip(g.layers, _kept_moves(arch, penalty), strict=True):
        signs = e.signs if flip else np.ones_like(e.signs)
        scales = e.scales if scale else np.ones_like(e.scales)
        parts.append(symmetry.LayerElement(e.perm, signs, scales))
    return symmetry.GroupElement(tuple(parts))


def align_theta(
    reference, other, arch: Architecture, penalty: Penalty | None = None
) -> tuple[np.ndarray, Any]:
    """``other`` moved by the group element that brings it closest to ``reference``.

    Uses :func:`nnmle.symmetry.align`, then keeps only the moves that leave the
    penalized objective unchanged (:func:`objective_element`), so the aligned
    point is a true twin. A network without hidden layer is returned as is.
    """
    other = _flat(other, arch)
    if not arch.hidden:
        return other, None
    _, g = symmetry.align(_flat(reference, arch), other, arch)
    g = objective_element(g, arch, penalty)
    return symmetry.act_flat(g, other, arch), g


@dataclass
class Barrier:
    """The objective along the straight path between two weight vectors.

    ``barrier = max_t f((1-t) a + t b) - ((1-t) f(a) + t f(b))``; ``raw`` uses
    ``b`` as given, ``aligned`` the twin of ``b`` closest to ``a``.
    """

    t: np.ndarray
    values_raw: np.ndarray
    barrier_raw: float
    values_aligned: np.ndarray | None
    barrier_aligned: float | None
    f_a: float
    f_b: float
    element: Any = None

    @property
    def chord(self) -> np.ndarray:
        """The straight line ``(1-t) f(a) + t f(b)``."""
        return (1 - self.t) * self.f_a + self.t * self.f_b

    def to_dict(self) -> dict:
        """Plain data."""
        return {
            "t": self.t.tolist(),
            "values_raw": self.values_raw.tolist(),
            "barrier_raw": self.barrier_raw,
            "values_aligned": None if self.values_aligned is None else self.values_aligned.tolist(),
            "barrier_aligned": self.barrier_aligned,
            "f_a": self.f_a,
            "f_b": self.f_b,
        }


def loss_barrier(a, b, problem, steps: int = 25, align: bool = True) -> Barrier:
    """Loss barrier between ``a`` and ``b`` along the straight path, raw and aligned.

    Parameters
    ----------
    a, b : array-like, Params, or objects with ``.theta`` (starts, solutions)
    problem : FitResult, Campaign or Problem
    steps : int
        Points on the path, ends included.
    align : bool
        Also measure the path to ``b``'s twin aligned to ``a``
        (:func:`nnmle.symmetry.align`).

    Returns
    -------
    Barrier
        A positive barrier along a straight segment between two points proves
        the objective is not convex there; for a convex objective (a GLM)
        both barriers are <= 0.
    """
    prob = as_problem(problem)
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (the two ends); got {steps}.")
    ta, tb = _flat(a, prob.arch), _flat(b, prob.arch)
    t = np.linspace(0.0, 1.0, steps)

    def path(end):
        vals = prob.objectives((1 - t)[:, None] * ta + t[:, None] * end)
        return vals, float(np.max(vals - ((1 - t) * vals[0] + t * vals[-1])))

    raw, bar_raw = path(tb)
    aligned, bar_al, g = None, None, None
    if align:
        tb_al, g = align_theta(ta, tb, prob.arch, prob.penalty)
        aligned, bar_al = path(tb_al)
    return Barrier(t, raw, bar_raw, aligned, bar_al, float(raw[0]), float(raw[-1]), g)


@dataclass
class NonConvexityCertificate:
    """Two twins of one point and their midpoint: ``f(mid) > f(theta) = f(twin)``.

    If ``f`` were convex, ``f((a + b)/2) <= (f(a) + f(b))/2``; a midpoint
    strictly higher than two points of equal objective proves it is not.
    """

    theta: np.ndarray
    twin: np.ndarray
    element: str
    f_theta: float
    f_twin: float
    f_midpoint: float

    @property
    def gap(self) -> float:
        """``f(midpoint) - max(f(theta), f(twin))``: positive proves non-convexity."""
        return self.f_midpoint - max(self.f_theta, self.f_twin)

    @property
    def holds(self) -> bool:
        """Whether the gap exceeds the rounding error of the objective."""
        return self.gap > 1e-9 * max(1.0, abs(self.f_theta))

    def __str__(self) -> str:
        return (
            f"twin by {self.element}: f(theta) = {self.f_theta:.6g}, f(twin) = {self.f_twin:.6g}, "
            f"f(midpoint) = {self.f_midpoint:.6g} (+{self.gap:.4g}): "
            + ("the objective is not convex" if self.holds else "no certificate")
        )


def _twins(th: np.ndarray, arch: Architecture, penalty: Penalty) -> list[tuple[str, np.ndarray]]:
    """Images of ``th`` under each transposition and each sign flip that keep the objective."""
    base = list(symmetry.identity(arch).layers)
    out = []
    for l, (permute, flip, _) in enumerate(_kept_moves(arch, penalty)):
        width = arch.hidden[l]
        layer = f"layer {l + 1} " if len(arch.hidden) > 1 else ""
        ones = np.ones(width)
        moves = []
        if permute:
            for i, j in itertools.combinations(range(width), 2):
                perm = np.arange(width)
                perm[[i, j]] = perm[[j, i]]
                moves.append((f"swapping hidden units {layer}{i + 1} and {j + 1}", perm, ones))
        if flip:
            for j in range(width):
                signs = ones.copy()
                signs[j] = -1.0
                desc = f"flipping the sign of hidden unit {layer}{j + 1}"
                moves.append((desc, np.arange(width), signs))
        for desc, perm, signs in moves:
            parts = list(base)
            parts[l] = symmetry.LayerElement(perm, signs, ones)
            out.append((desc, symmetry.act_flat(symmetry.GroupElement(tuple(parts)), th, arch)))
    return out


def nonconvexity_certificate(theta, problem) -> NonConvexityCertificate | None:
    """Prove on the user's data that the objective is not convex.

    Among the twins of ``theta`` by one transposition or sign flip of hidden
    units that keep the penalized objective (:func:`objective_element`),
    picks the one whose midpoint with ``theta`` has the highest objective.
    Returns ``None`` for a network without hidden units (a GLM: convex).
    """
    prob = as_problem(problem)
    th = _flat(theta, prob.arch)
    twins = _twins(th, prob.arch, prob.penalty)
    if not twins:
        return None
    mids = np.stack([(th + x) / 2 for _, x in twins])
    f_mid = prob.objectives(mids)
    best = int(np.nanargmax(f_mid))
    desc, twin = twins[best]
    return NonConvexityCertificate(
        th, twin, desc, prob.objective(th), prob.objective(twin), float(f_mid[best])
    )
