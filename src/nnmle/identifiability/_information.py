"""The Fisher information at a fit and the attribution of its null space.

:func:`information_matrix` is the Fisher information ``J'WJ`` over the free
weights; its null space is exactly the set of directions along which no fitted
value moves. :func:`null_space` counts those directions and splits them among
candidate explanations (continuous function-preserving moves: relu rescaling,
identity-layer mixing; redundant units; collinear inputs), leaving the rest as
unexplained; the per-weight verdict (data, penalty, none) comes from
:func:`~nnmle.identifiability.identification` on the same matrices.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

from ..networks import Architecture, activation_fn
from ..penalties import Penalty
from ..problem import Problem
from ..symmetry import Group, Net, group
from ._identification import Identification, identification

__all__ = ["EIG_RTOL", "NullSpace", "information_matrix", "null_space"]

#: Relative threshold for a zero eigenvalue (see :func:`null_space`).
EIG_RTOL = 1e-8
#: A candidate explains a null direction when their principal angle's cosine exceeds this.
ANGLE_COS = 0.99


def information_matrix(problem: Problem, theta: np.ndarray) -> np.ndarray:
    """The matrix whose null space is analysed: the Fisher information ``J'WJ`` at ``theta``.

    Over the free weights, without the penalty
    (:meth:`Problem.information <nnmle.problem.Problem.information>`); for a
    GLM it equals the Hessian of the NLL.

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
    """Eigenvalues of the Fisher information and how its null space splits.

    Attributes
    ----------
    eigenvalues : ndarray
        Of the Fisher information over the free weights, ascending.
    threshold : float
        ``rtol * max(lambda)``: eigenvalues at or below it count as zero.
    grad_norm : float
        Gradient norm (free weights) at the point.
    nullity : int
        Zero eigenvalues of the Fisher information.
    n_negative : int
        Negative eigenvalues of the penalized Hessian (not a local minimum).
    explained : list of dict
        ``{"reason", "count", "units"}``, in the order the candidates were tried.
    unexplained : int
        Null directions that no candidate explains.
    identification : Identification
        The per-weight verdict on the same matrices.
    """

    eigenvalues: np.ndarray
    threshold: float
    grad_norm: float
    nullity: int
    n_negative: int
    explained: list[dict]
    unexplained: int
    identification: Identification

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
    """Count the zero eigenvalues of :func:`information_matrix` and explain them.

    An eigenvalue counts as zero when ``lambda <= rtol * lambda_max`` (the
    Fisher information does not depend on the gradient: a direction that leaves
    the fitted values unchanged has exactly zero information, at any point). A
    candidate subspace explains the null directions it nearly contains
    (principal-angle cosines above :data:`ANGLE_COS`); candidates are tried in
    order and each null direction is counted once.

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
    gnorm = float(np.linalg.norm(problem.gradient(theta)))
    ident = identification(problem, theta, gnorm, active=problem.free, rtol=rtol)
    lam, vec = np.linalg.eigh(ident.fisher)
    N = vec[:, lam <= ident.fisher_threshold]
    cands = _candidates(problem, theta, G, net, checks, tol)
    explained, unexplained = _attribute(N, cands, problem.free)
    return NullSpace(
        ident.fisher_eigenvalues, ident.fisher_threshold, gnorm, ident.nullity, ident.n_negative,
        explained, unexplained,
        ident,
    )  # fmt: skip


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
    """Tangents of the continuous function-preserving moves, one candidate per layer and kind.

    ``G`` is the group of the *unpenalized* problem: the moves that keep the
    fitted values (they are null directions of the Fisher information whether or
    not the penalty keeps them too).
    """
    for l, s in enumerate(G.layers):
        H, units = s.width, list(names[l + 1])
        eye = np.eye(H)
        if s.activation == "relu":
            scaled = np.flatnonzero(s.unit_scales())
            vecs = [c.mixing(net, l, np.outer(eye[j], eye[j])) for j in scaled]
            c.add(f"rescaling of relu units (continuous symmetry, layer {l + 1})", units, vecs)
        if s.mixing in ("GL", "O"):
            vecs = [c.mixing(net, l, np.outer(eye[i], eye[k])) for i in range(H) for k in range(H)]
            c.add(f"invertible mixing of identity units (GL({H}), layer {l + 1})", units, vecs)
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
    _continuous(c, group(problem.with_penalty(Penalty())), net, names)

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


def _attribute(N: np.ndarray, cands: _Candidates, free) -> tuple[list[dict], int]:
    """Split the null space (orthonormal columns ``N``) among the candidate explanations.

    A candidate subspace explains the directions of ``N`` it nearly contains: the
    principal angles between them have cosines above :data:`ANGLE_COS` (robust to
    near-redundancies, e.g. units equal to 1e-6, whose exact null directions are
    slightly rotated from the candidate's); each direction is counted once.
    """
    nullity = N.shape[1]
    E = np.zeros((N.shape[0], 0))
    out = []
    for reason, units, vecs in cands.items:
        if nullity - E.shape[1] <= 0:
            break
        Q = _orth(np.stack(vecs, axis=1)[free])
        if Q.shape[1] == 0:
            continue
        U, cos, _ = np.linalg.svd(N.T @ Q, full_matrices=False)
        inside = N @ U[:, cos > ANGLE_COS]
        if E.shape[1] and inside.shape[1]:
            inside = _orth(inside - E @ (E.T @ inside), rtol=0.5)
        count = min(inside.shape[1], nullity - E.shape[1])
        if count == 0:
            continue
        E = _orth(np.hstack([E, inside[:, :count]]))
        out.append({"reason": reason, "count": int(count), "units": units})
    return out, nullity - E.shape[1]
