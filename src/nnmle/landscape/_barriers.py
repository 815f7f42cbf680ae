"""Loss barriers between solutions (raw and aligned modulo the problem's symmetry group)
and the non-convexity certificate."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import symmetry
from ..problem import as_problem, flat_theta

# --- barriers and the non-convexity certificate ------------------------------


@dataclass(frozen=True)
class Barrier:
    """The objective along the straight path between two weight vectors.

    ``barrier = max_t f((1-t) a + t b) - ((1-t) f(a) + t f(b))``; ``raw`` uses
    ``b`` as given, ``aligned`` the twin of ``b`` closest to ``a`` (``element``
    is the group element that made it; ``None`` without alignment).
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
    problem : Problem, or anything with a ``.problem`` (a fit, an Estimate, a Campaign)
    steps : int
        Points on the path, ends included.
    align : bool
        Also measure the path to ``b``'s twin aligned to ``a``:
        :func:`nnmle.symmetry.align` with the problem's group
        (:func:`nnmle.symmetry.group`), whose moves all keep the penalized
        objective, so the aligned twin has ``b``'s objective.

    Returns
    -------
    Barrier
        A positive barrier along a straight segment between two points proves
        the objective is not convex there; for a convex objective (a GLM)
        both barriers are <= 0.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.families import get_family
    >>> from nnmle.networks import Architecture
    >>> from nnmle.problem import Problem
    >>> X = np.linspace(-2, 2, 9)[:, None]
    >>> glm = Problem.build(X, X + 1, np.ones(9), get_family("gaussian"), Architecture.build(1, ()))
    >>> loss_barrier(np.zeros(2), np.array([2.0, 1.0]), glm, steps=5).barrier_raw
    0.0
    """
    prob = as_problem(problem)
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (the two ends); got {steps}.")
    ta, tb = flat_theta(a, prob.arch), flat_theta(b, prob.arch)
    t = np.linspace(0.0, 1.0, steps)

    def path(end):
        vals = prob.objectives((1 - t)[:, None] * ta + t[:, None] * end)
        return vals, float(np.max(vals - ((1 - t) * vals[0] + t * vals[-1])))

    raw, bar_raw = path(tb)
    aligned, bar_al, g = None, None, None
    if align:
        tb_al, g = symmetry.align(ta, tb, symmetry.group(prob))
        aligned, bar_al = path(np.asarray(tb_al))
    return Barrier(t, raw, bar_raw, aligned, bar_al, float(raw[0]), float(raw[-1]), g)


@dataclass(frozen=True)
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


def _twins(th: np.ndarray, G: symmetry.Group) -> list[tuple[str, np.ndarray]]:
    """Images of ``th`` under each transposition (within a class of interchangeable units)
    and each sign flip of the group ``G``: every one keeps the penalized objective."""
    base = list(symmetry.identity(G).layers)
    out = []
    for l, s in enumerate(G.layers):
        layer = f"layer {l + 1} " if len(G.layers) > 1 else ""
        ones = np.ones(s.width)
        moves = []
        for cls in s.classes:
            for i, j in itertools.combinations(cls, 2):
                perm = np.arange(s.width)
                perm[[i, j]] = perm[[j, i]]
                moves.append((f"swapping hidden units {layer}{i + 1} and {j + 1}", perm, ones))
        for k in np.flatnonzero(s.unit_flips()):
            signs = ones.copy()
            signs[k] = -1.0
            desc = f"flipping the sign of hidden unit {layer}{k + 1}"
            moves.append((desc, np.arange(s.width), signs))
        for desc, perm, signs in moves:
            parts = list(base)
            parts[l] = symmetry.LayerElement(perm, signs, ones)
            out.append((desc, symmetry.act_flat(symmetry.GroupElement(tuple(parts)), th, G)))
    return out


def nonconvexity_certificate(theta, problem) -> NonConvexityCertificate | None:
    """Prove on the user's data that the objective is not convex.

    Among the twins of ``theta`` by one transposition or one sign flip of
    hidden units in the problem's group (:func:`nnmle.symmetry.group`: the
    moves that keep the penalized objective and the mask), picks the one
    whose midpoint with ``theta`` has the highest objective. Returns ``None``
    when there is no such twin (a network without hidden units, a GLM: convex).

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.families import get_family
    >>> from nnmle.networks import Architecture
    >>> from nnmle.problem import Problem
    >>> X = np.linspace(-2, 2, 9)[:, None]
    >>> net = Problem.build(X, np.tanh(2 * X), np.ones(9), get_family("gaussian"),
    ...                     Architecture.build(1, (2,)))
    >>> cert = nonconvexity_certificate(np.array([2.0, 0.5, 0, 0, 1.0, 0.1, 0]), net)
    >>> cert.element, cert.holds
    ('flipping the sign of hidden unit 1', True)
    """
    prob = as_problem(problem)
    th = flat_theta(theta, prob.arch)
    twins = _twins(th, symmetry.group(prob))
    if not twins:
        return None
    mids = np.stack([(th + x) / 2 for _, x in twins])
    f_mid = prob.objectives(mids)
    best = int(np.nanargmax(f_mid))
    desc, twin = twins[best]
    return NonConvexityCertificate(
        th, twin, desc, prob.objective(th), prob.objective(twin), float(f_mid[best])
    )
