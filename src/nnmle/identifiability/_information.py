"""The information matrix at a fit and the attribution of its null space.

:func:`information_matrix` computes the matrix whose (near) zero eigenvalues
are the flat directions reported by :func:`nnmle.identifiability.identifiability`;
:func:`null_space` counts them and splits them among candidate explanations
(continuous symmetries of the problem's group, redundant units, collinear
inputs), leaving the rest as unexplained.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

from ..networks import Architecture, activation_fn
from ..problem import Problem
from ..symmetry import Group, Net

__all__ = ["EIG_RTOL", "NullSpace", "information_matrix", "null_space"]

#: Relative threshold for a zero eigenvalue (see :func:`null_space`).
EIG_RTOL = 1e-8


def information_matrix(problem: Problem, theta: np.ndarray) -> np.ndarray:
    """The matrix whose null space is analysed: the observed information at ``theta``.

    For now the Hessian of the *penalized* objective over the free weights
    (:meth:`Problem.hessian <nnmle.problem.Problem.hessian>`; the L1 term has
    no curvature). Switching to the Fisher information ``J'WJ``
    (:meth:`Problem.information <nnmle.problem.Problem.information>`) is a
    change of this one function.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.families import get_family
    >>> from nnmle.networks import Architecture
    >>> p = Problem.build(np.array([[1.0], [2.0]]), np.array([[1.0], [0.0]]), np.ones(2),
    ...                   get_family("gaussian"), Architecture.build(1, hidden=()))
    >>> information_matrix(p, np.zeros(2)).tolist()
    [[5.0, 3.0], [3.0, 2.0]]
    """
    return problem.hessian(theta)


@dataclass(frozen=True)
class NullSpace:
    """Eigenvalues of the information matrix and how its null space splits.

    Attributes
    ----------
    eigenvalues : ndarray
        Ascending.
    threshold : float
        ``max(rtol * max|lambda|, 10 * grad_norm)``: eigenvalues with absolute
        value at or below it count as zero.
    grad_norm : float
        Gradient norm (free weights) at the point.
    nullity, n_negative : int
    explained : list of dict
        ``{"reason", "count", "units"}``, in the order the candidates were tried.
    unexplained : int
        Null directions that no candidate explains.
    """

    eigenvalues: np.ndarray
    threshold: float
    grad_norm: float
    nullity: int
    n_negative: int
    explained: list[dict]
    unexplained: int

    @property
    def rank(self) -> int:
        """Number of eigenvalues above the threshold in absolute value."""
        return int(self.eigenvalues.size - self.nullity)


def null_space(
    problem: Problem,
    theta: np.ndarray,
    G: Group,
    net: Net,
    checks: dict,
    tol: float,
    rtol: float = EIG_RTOL,
) -> NullSpace:
    """Count the (near) zero eigenvalues of :func:`information_matrix` and explain them.

    An eigenvalue counts as zero when ``|lambda| <= max(rtol * lambda_max,
    10 * ||grad||)`` (at a point whose gradient is ``||grad||``, an exact
    symmetry direction has curvature of that order, not exactly zero). A
    candidate direction ``t`` explains a null direction when ``||M t|| / ||t||``
    is below the same threshold; candidates are tried in order and each null
    direction is counted once.

    Parameters
    ----------
    problem : Problem
    theta : ndarray of shape (n_total,)
        The point (frozen entries at their values).
    G : Group
        The problem's group (:func:`nnmle.symmetry.group`).
    net : Net
        ``theta`` as a :class:`~nnmle.symmetry.Net`.
    checks : dict
        :func:`~nnmle.identifiability._minimality.unit_checks` of ``net`` on the data.
    tol : float
        Absolute threshold for a zero weight.
    rtol : float

    Returns
    -------
    NullSpace
    """
    M = information_matrix(problem, theta)
    gnorm = float(np.linalg.norm(problem.gradient(theta)))
    lam = np.linalg.eigvalsh(M)
    lam_max = float(np.abs(lam).max(initial=0.0))
    thr = max(rtol * lam_max, 10.0 * gnorm)
    nullity = int(np.sum(np.abs(lam) <= thr))
    cands = _candidates(problem, theta, G, net, checks, tol)
    explained, unexplained = _attribute(M, thr, nullity, cands, problem.free)
    n_neg = int(np.sum(lam < -thr))
    return NullSpace(lam, thr, gnorm, nullity, n_neg, explained, unexplained)


# --- candidate null directions -------------------------------------------------------------


def _orth(T: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    if T.size == 0:
        return T
    U, s, _ = np.linalg.svd(T, full_matrices=False)
    return U[:, s > rtol * max(float(s.max(initial=0.0)), 1e-300)]


def _flat_index(arch: Architecture):
    """Flat positions of every entry: ``(Ws, bs, skip)`` as integer arrays."""
    idx = np.arange(arch.n_total)
    Ws, bs, off = [], [], 0
    for sh_w, sh_b in zip(arch.shapes[0::2], arch.shapes[1::2], strict=False):
        n_w = sh_w[0] * sh_w[1]
        Ws.append(idx[off : off + n_w].reshape(sh_w))
        bs.append(idx[off + n_w : off + n_w + sh_b[0]])
        off += n_w + sh_b[0]
    skip = idx[off:].reshape(arch.n_inputs, arch.n_outputs) if arch.skip else None
    return Ws[: len(arch.hidden) + 1], bs[: len(arch.hidden) + 1], skip


class _Candidates:
    """Candidate null directions (in full flat coordinates) with their reasons."""

    def __init__(self, arch: Architecture):
        self.arch = arch
        self.W, self.b, self.skip = _flat_index(arch)
        self.items: list[tuple[str, list[str], list[np.ndarray]]] = []

    def vec(self) -> np.ndarray:
        return np.zeros(self.arch.n_total)

    def add(self, reason: str, units: list[str], vecs: list[np.ndarray]) -> None:
        if vecs:
            self.items.append((reason, units, vecs))

    def mixing(self, net: Net, l: int, E: np.ndarray) -> np.ndarray:
        """Tangent of ``(W_l, b_l, W_{l+1}) -> (W_l A, b_l A, A^-1 W_{l+1})`` at ``A = I + tE``."""
        t = self.vec()
        t[self.W[l]] = net.Ws[l] @ E
        t[self.b[l]] = net.bs[l] @ E
        t[self.W[l + 1]] = -E @ net.Ws[l + 1]
        return t

    def unit(self, l: int, j: int, outgoing: bool) -> list[np.ndarray]:
        """Unit vectors along unit ``j``'s incoming weights and bias (and outgoing weights)."""
        pos = [*self.W[l][:, j], self.b[l][j]] + (list(self.W[l + 1][j]) if outgoing else [])
        vecs = []
        for p in pos:
            t = self.vec()
            t[p] = 1.0
            vecs.append(t)
        return vecs


def _continuous(c: _Candidates, G: Group, net: Net, names) -> None:
    """Tangents of the continuous part of the group, one candidate per layer and kind."""
    for l, s in enumerate(G.layers):
        H, units = s.width, list(names[l + 1])
        eye = np.eye(H)
        if s.activation == "relu":
            scaled = np.flatnonzero(s.unit_scales())
            vecs = [c.mixing(net, l, np.outer(eye[j], eye[j])) for j in scaled]
            c.add(f"rescaling of relu units (continuous symmetry, layer {l + 1})", units, vecs)
        if s.mixing == "GL":
            vecs = [c.mixing(net, l, np.outer(eye[i], eye[k])) for i in range(H) for k in range(H)]
            c.add(f"invertible mixing of identity units (GL({H}), layer {l + 1})", units, vecs)
        elif s.mixing == "O":
            vecs = [
                c.mixing(net, l, np.outer(eye[i], eye[k]) - np.outer(eye[k], eye[i]))
                for i in range(H)
                for k in range(i + 1, H)
            ]
            c.add(f"rotations of identity units (O({H}), layer {l + 1})", units, vecs)
        if s.shifts:
            vecs = []
            for j in range(H):
                t = c.vec()
                t[c.b[l][j]], t[c.b[l + 1]] = 1.0, -net.Ws[l + 1][j]
                vecs.append(t)
            c.add(f"bias shifts of identity units into the next bias (layer {l + 1})", units, vecs)


def _candidates(
    problem: Problem, theta: np.ndarray, G: Group, net: Net, checks: dict, tol: float
) -> _Candidates:
    arch = problem.arch
    c = _Candidates(arch)
    names = arch.unit_names()
    _continuous(c, G, net, names)

    if arch.hidden and all(a == "identity" for a in arch.activation):
        free = problem.free
        E = np.vstack([np.zeros((1, arch.n_inputs)), np.eye(arch.n_inputs)])
        J = problem.eta_jacobian(theta, X=E).reshape(-1, arch.n_total)  # the affine map
        _, sv, Vt = np.linalg.svd(J[:, free], full_matrices=True)
        rank = int(np.sum(sv > 1e-10 * max(float(sv.max(initial=0.0)), 1e-300)))
        vecs = []
        for n in Vt[rank:]:
            t = c.vec()
            t[free] = n
            vecs.append(t)
        c.add(
            "a linear network: only its end-to-end affine map is identified",
            [u for layer in names[1:-1] for u in layer],
            vecs,
        )

    lname = [list(n) for n in names[1:-1]]
    zo = checks["zero_outgoing"]
    c.add(
        "units with zero outgoing weights (their incoming weights and bias are free)",
        [lname[l][j] for l, j in zo],
        [t for l, j in zo for t in c.unit(l, j, False)],
    )
    dead = checks["dead"]
    c.add(
        "relu units inactive on every observation (all their weights are free)",
        [lname[l][j] for l, j in dead],
        [t for l, j in dead for t in c.unit(l, j, True)],
    )
    sat = checks["saturated"]
    c.add(
        "saturated units (a step function on the data: the scale of their incoming "
        "weights is not identified and tends to diverge)",
        [lname[l][j] for l, j in sat],
        [t for l, j in sat for t in c.unit(l, j, False)],
    )
    vecs, units = [], []
    for l in range(len(arch.hidden)):
        act_units = [j for ll, j in checks["active"] if ll == l]
        for i in act_units:
            for k in act_units:
                E = np.zeros((arch.hidden[l], arch.hidden[l]))
                E[i, k] = 1.0
                vecs.append(c.mixing(net, l, E))
        units += [lname[l][j] for j in act_units]
    c.add(
        "relu units active on every observation (linear on the data: they mix freely)",
        units,
        vecs,
    )
    vecs, units = [], []
    for l, j in checks["constant"]:
        if not arch.bias[l + 1]:
            continue
        f = activation_fn(arch.activation[l])
        value, slope = float(f(net.bs[l][j])), float(jax.grad(f)(float(net.bs[l][j])))
        t = c.vec()
        t[c.b[l][j]], t[c.b[l + 1]] = 1.0, -slope * net.Ws[l + 1][j]
        vecs.append(t)
        for k in range(net.Ws[l + 1].shape[1]):
            t = c.vec()
            t[c.W[l + 1][j, k]], t[c.b[l + 1][k]] = 1.0, -value
            vecs.append(t)
        units.append(lname[l][j])
    c.add("constant units (zero incoming weights; the next bias absorbs them)", units, vecs)
    vecs, units = [], []
    for l, i, j, rel, cst in checks["pairs"]:
        logistic_opp = rel == "opposite" and arch.activation[l] == "logistic"
        if logistic_opp and not arch.bias[l + 1]:
            continue
        for k in range(net.Ws[l + 1].shape[1]):
            t = c.vec()
            if logistic_opp:
                t[c.W[l + 1][i, k]], t[c.W[l + 1][j, k]], t[c.b[l + 1][k]] = 1.0, 1.0, -1.0
            else:  # h_j = cst * h_i
                t[c.W[l + 1][i, k]], t[c.W[l + 1][j, k]] = cst, -1.0
            vecs.append(t)
        vi, vj = net.Ws[l + 1][i], net.Ws[l + 1][j]
        beta = -float(vi @ vj) / max(float(vj @ vj), 1e-300)
        if np.abs(vi + beta * vj).max() <= tol:  # parallel outgoing weights: the incoming
            for pi, pj in zip(  # weights can move against each other (f' is the same)
                [*c.W[l][:, i], c.b[l][i]], [*c.W[l][:, j], c.b[l][j]], strict=True
            ):
                t = c.vec()
                t[pi], t[pj] = 1.0, beta
                vecs.append(t)
        units.append(f"{lname[l][i]}~{lname[l][j]}")
    c.add("duplicate units (equal, opposite or proportional incoming weights)", units, vecs)
    if problem.data is not None:
        _collinear(c, arch, problem.X, names)
    return c


def _collinear(c: _Candidates, arch: Architecture, X: np.ndarray, names) -> None:
    """Directions of the first layer (and skip weights) along the null space of the design."""
    D = np.hstack([np.ones((X.shape[0], 1)), X]) if arch.bias[0] else X
    _, sv, Vt = np.linalg.svd(D, full_matrices=True)
    rank = int(np.sum(sv > 1e-10 * max(float(sv.max(initial=0.0)), 1e-300)))
    vecs = []
    for n in Vt[rank:]:
        nb, nw = (n[0], n[1:]) if arch.bias[0] else (0.0, n)
        for j in range(arch.sizes[1]):
            t = c.vec()
            t[c.W[0][:, j]] = nw
            if arch.bias[0]:
                t[c.b[0][j]] = nb
            vecs.append(t)
        if c.skip is not None:
            for k in range(arch.n_outputs):
                t = c.vec()
                t[c.skip[:, k]] = nw
                if arch.bias[-1]:
                    t[c.b[-1][k]] = nb
                vecs.append(t)
    c.add("collinear inputs (the design matrix is rank deficient)", list(names[0]), vecs)


def _attribute(M, thr, nullity, cands: _Candidates, free) -> tuple[list[dict], int]:
    """Split the null space of ``M`` among the candidate explanations."""
    E = np.zeros((M.shape[0], 0))
    out = []
    for reason, units, vecs in cands.items:
        if nullity - E.shape[1] <= 0:
            break
        Q = _orth(np.stack(vecs, axis=1)[free])
        if E.shape[1]:
            Q = _orth(Q - E @ (E.T @ Q))
        if Q.shape[1] == 0:
            continue
        _, s, Vt = np.linalg.svd(M @ Q, full_matrices=True)
        s_full = np.concatenate([s, np.zeros(Q.shape[1] - s.size)])
        keep = Vt[s_full <= thr]
        count = min(keep.shape[0], nullity - E.shape[1])
        if count == 0:
            continue
        E = _orth(np.hstack([E, Q @ keep.T[:, :count]]))
        out.append({"reason": reason, "count": int(count), "units": units})
    return out, nullity - E.shape[1]
