"""Identifiability of a fitted network: minimality checks and the information matrix.

A network's weights are identified at best up to its symmetry group
(:mod:`nnmle.symmetry`). Sussmann (1992) showed that for tanh networks that is
all, *provided the network is minimal*: no hidden unit with zero outgoing
weights, none with zero incoming weights (a constant, which the next bias
absorbs), and no two units with equal or opposite incoming weights (which can
be merged). A non-minimal (reducible) fit has whole manifolds of weights with
the same likelihood, and a smaller network that fits exactly as well.

:func:`identifiability` checks those conditions (and relu units dead on the
data), then looks at the observed information matrix: the Hessian of the
penalized objective over the free weights at the fit. Its (near) zero
eigenvalues are flat directions of the likelihood; each is attributed to the
symmetry or redundancy that explains it (relu rescaling, identity-layer
mixing, zero outgoing weights, dead units, constant units, duplicate units,
collinear inputs), and whatever is left is reported as unexplained.

Tolerances (documented defaults):

* a weight counts as zero when ``|w| <= weight_tol * max(1, max|θ|)``
  (``weight_tol = 1e-6``); two incoming vectors are equal/opposite when their
  difference/sum is that small (relu and identity units: after scaling
  each to unit norm);
* an eigenvalue counts as zero when ``|λ| <= max(rtol * λ_max, 10 * ‖∇‖)``
  with ``λ_max`` the largest absolute eigenvalue, ``rtol = 1e-8`` and ``‖∇‖``
  the gradient norm at the fit: at a point whose gradient is ``‖∇‖``, an exact
  symmetry direction has curvature of that order, not exactly zero;
* a candidate direction ``t`` explains a null direction when ``‖H t‖ / ‖t‖``
  is below the same threshold.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from .networks import Architecture, Layer, Params, activation_fn, ravel
from .objective import linear_predictor, objective
from .symmetry import (
    _as_net,
    _hidden_np,
    _Net,
    act_flat,
    canonical_weights,
    group,
    random_element,
)

__all__ = [
    "IdentifiabilityReport",
    "identifiability",
    "reduce_network",
    "render_symmetry_report",
    "symmetry_report",
]

WEIGHT_TOL = 1e-6
EIG_RTOL = 1e-8
#: |z| beyond which a unit is saturated: its slope is below 1e-6 of the slope at 0.
_SATURATION = {"tanh": 7.6, "logistic": 13.9}


# --- minimality checks ----------------------------------------------------------------------


def _zero_tol(net: _Net, weight_tol: float) -> float:
    m = max(float(np.abs(W).max(initial=0.0)) for W in net.Ws + net.bs)
    return weight_tol * max(1.0, m)


def _unit_checks(net: _Net, arch: Architecture, X, tol: float) -> dict:
    """Zero-outgoing, constant, dead-relu units and mergeable pairs, per layer."""
    zs = [z for z, _ in _hidden_np(net, X, arch)] if X is not None else None
    out: dict[str, list] = {
        "zero_outgoing": [],
        "constant": [],
        "dead": [],
        "pairs": [],
        "saturated": [],
        "active": [],
    }
    for l, a in enumerate(arch.activation):
        W, b, V = net.Ws[l], net.bs[l], net.Ws[l + 1]
        H = W.shape[1]
        for j in range(H):
            if np.abs(V[j]).max(initial=0.0) <= tol:
                out["zero_outgoing"].append((l, j))
            if np.abs(W[:, j]).max(initial=0.0) <= tol:
                out["constant"].append((l, j))
            if zs is None or not zs[l].shape[0]:
                continue
            z = zs[l][:, j]
            if a == "relu" and z.max() <= 0:
                out["dead"].append((l, j))
            if a == "relu" and z.min() > 0:
                out["active"].append((l, j))
            if a in ("tanh", "logistic") and np.abs(z).min() >= _SATURATION[a]:
                if np.abs(W[:, j]).max(initial=0.0) > tol:
                    out["saturated"].append((l, j))
        const = {j for (ll, j) in out["constant"] if ll == l}
        U = np.vstack([b[None, :], W])
        scaled = a in ("relu", "identity")
        nrm = np.linalg.norm(U, axis=0) if scaled else np.ones(H)
        U = U / np.where(nrm > 0, nrm, 1.0)
        utol = tol if not scaled else WEIGHT_TOL
        for i in range(H):
            for j in range(i + 1, H):
                if i in const or j in const:
                    continue
                if np.abs(U[:, i] - U[:, j]).max() <= utol:
                    c = nrm[j] / nrm[i] if scaled else 1.0
                    out["pairs"].append((l, i, j, "equal" if not scaled else "proportional", c))
                elif a in ("tanh", "logistic", "identity") and (
                    np.abs(U[:, i] + U[:, j]).max() <= utol
                ):
                    c = -nrm[j] / nrm[i] if scaled else -1.0
                    out["pairs"].append((l, i, j, "opposite", c))
    return out


# --- reduction to a smaller equivalent network -----------------------------------------------


def _drop_unit(net: _Net, l: int, j: int) -> _Net:
    Ws = list(net.Ws)
    bs = list(net.bs)
    Ws[l] = np.delete(Ws[l], j, axis=1)
    bs[l] = np.delete(bs[l], j)
    Ws[l + 1] = np.delete(Ws[l + 1], j, axis=0)
    return _Net(tuple(Ws), tuple(bs), net.skip)


def _with(net: _Net, l: int, V=None, b_next=None) -> _Net:
    Ws, bs = list(net.Ws), list(net.bs)
    if V is not None:
        Ws[l + 1] = V
    if b_next is not None:
        bs[l + 1] = b_next
    return _Net(tuple(Ws), tuple(bs), net.skip)


def _reduce_once(net: _Net, arch: Architecture, X, tol: float) -> tuple[_Net, str] | None:
    """One reduction step (remove or merge a unit), or ``None`` when minimal."""
    checks = _unit_checks(net, arch, X, tol)
    names = _unit_names(net, arch)
    deep = len(arch.hidden) > 1
    for l, j in checks["zero_outgoing"]:
        if not (deep and net.Ws[l].shape[1] == 1):
            return _drop_unit(net, l, j), f"removed {names[l][j]} (zero outgoing weights)"
    for l, j in checks["constant"]:
        if deep and net.Ws[l].shape[1] == 1:
            continue
        value = float(activation_fn(arch.activation[l])(net.bs[l][j]))
        shift = value * net.Ws[l + 1][j]
        if arch.bias[l + 1] or np.abs(shift).max() <= tol:
            red = _with(net, l, b_next=net.bs[l + 1] + shift)
            return _drop_unit(red, l, j), (
                f"removed {names[l][j]} (zero incoming weights: a constant {value:.4g}, "
                "absorbed into the next bias)"
            )
    for l, i, j, rel, c in checks["pairs"]:
        V = net.Ws[l + 1].copy()
        b_next = net.bs[l + 1]
        if rel == "opposite" and arch.activation[l] == "logistic":
            if not arch.bias[l + 1]:
                continue
            V[i] -= V[j]
            b_next = b_next + net.Ws[l + 1][j]
        else:
            V[i] += c * V[j]
        red = _with(net, l, V=V, b_next=b_next)
        return _drop_unit(red, l, j), f"merged {names[l][j]} into {names[l][i]} ({rel} incoming)"
    for l, j in checks["dead"]:
        if not (deep and net.Ws[l].shape[1] == 1):
            return _drop_unit(net, l, j), (
                f"removed {names[l][j]} (relu unit inactive on every observation; "
                "the function changes only off the data)"
            )
    return None


def _unit_names(net: _Net, arch: Architecture) -> list[list[str]]:
    names = arch.unit_names()[1:-1]
    return [list(names[l][: net.Ws[l].shape[1]]) for l in range(len(arch.hidden))]


def _params_of(net: _Net) -> Params:
    return Params(
        tuple(Layer(jnp.asarray(W), jnp.asarray(b)) for W, b in zip(net.Ws, net.bs, strict=True)),
        None if net.skip is None else jnp.asarray(net.skip),
    )


def _shrunk_arch(arch: Architecture, net: _Net) -> tuple[Architecture, Params]:
    hidden = tuple(W.shape[1] for W in net.Ws[:-1])
    if any(h == 0 for h in hidden):  # one hidden layer, emptied: a GLM (skip weights -> W)
        W = net.skip if net.skip is not None else np.zeros((arch.n_inputs, arch.n_outputs))
        small = Architecture.build(
            arch.n_inputs,
            (),
            arch.n_outputs,
            (),
            False,
            (arch.bias[-1],),
            input_names=arch.input_names,
            output_names=arch.output_names,
        )
        return small, Params((Layer(jnp.asarray(W), jnp.asarray(net.bs[-1])),))
    small = Architecture.build(
        arch.n_inputs,
        hidden,
        arch.n_outputs,
        arch.activation,
        arch.skip,
        arch.bias,
        input_names=arch.input_names,
        output_names=arch.output_names,
    )
    return small, _params_of(net)


def reduce_network(params, arch: Architecture, X=None, weight_tol: float = WEIGHT_TOL):
    """A smaller network with the same function (on ``X``), by Sussmann's reductions.

    Repeatedly removes units with zero outgoing weights, absorbs constant
    units (zero incoming weights) into the next bias, merges units with
    equal, opposite (tanh, logistic, identity) or proportional (relu,
    identity) incoming weights, and — when ``X`` is given — removes relu
    units inactive on every row of ``X``. A hidden layer of a deep network
    keeps at least one unit; a single hidden layer may vanish, leaving a GLM.

    Parameters
    ----------
    params : Params or array of shape (n_total,)
    arch : Architecture
        Without a mask (masks are not reduced; ``ValueError``).
    X : array of shape (n, n_inputs), optional
    weight_tol : float
        Relative tolerance for zero / equal weights (see the module docstring).

    Returns
    -------
    params : Params
    arch : Architecture
    steps : list of str
        What was removed or merged, in order (empty when already minimal).

    Examples
    --------
    >>> import numpy as np, jax.numpy as jnp
    >>> from nnmle.networks import Architecture, Layer, Params
    >>> arch = Architecture.build(1, hidden=(2,), activation="tanh")
    >>> p = Params((Layer(jnp.array([[1.0, -1.0]]), jnp.zeros(2)),
    ...             Layer(jnp.array([[2.0], [3.0]]), jnp.zeros(1))))
    >>> small, small_arch, steps = reduce_network(p, arch)
    >>> small_arch.hidden, np.asarray(small.layers[1].W).ravel().tolist()
    ((1,), [-1.0])
    """
    if arch.mask is not None:
        raise ValueError(
            "reduce_network does not handle masked architectures (the frozen entries would "
            "move). Fix: reduce the unmasked network, or remove units by hand."
        )
    net, _ = _as_net(params, arch)
    Xa = None if X is None else np.asarray(X, dtype=float)
    tol = _zero_tol(net, weight_tol)
    steps: list[str] = []
    for _ in range(sum(arch.hidden)):
        step = _reduce_once(net, arch, Xa, tol)
        if step is None:
            break
        net, what = step
        steps.append(what)
    small_arch, small = _shrunk_arch(arch, net)
    return small, small_arch, steps


# --- the information matrix and its null space -----------------------------------------------


@functools.partial(jax.jit, static_argnames=("family", "arch", "penalty"))
def _free_hessian(z, base, idx, data, family, arch, penalty):
    def f(zz):
        return objective(base.at[idx].set(zz), data, family, arch, penalty)

    return jax.hessian(f)(z), jnp.linalg.norm(jax.grad(f)(z))


@functools.partial(jax.jit, static_argnames=("arch",))
def _affine_jacobian(theta, arch):
    """Jacobian of the network's values at 0 and at the unit inputs (its affine map)."""
    E = jnp.vstack([jnp.zeros((1, arch.n_inputs)), jnp.eye(arch.n_inputs)])
    return jax.jacobian(lambda th: linear_predictor(th, E, arch).ravel())(theta)


def _orth(T: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    if T.size == 0:
        return T
    U, s, _ = np.linalg.svd(T, full_matrices=False)
    return U[:, s > rtol * max(float(s.max(initial=0.0)), 1e-300)]


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


def _candidates(net: _Net, arch: Architecture, checks: dict, X, tol: float) -> _Candidates:
    c = _Candidates(arch)
    names = arch.unit_names()
    sym = group(arch)
    for l, s in enumerate(sym.layers):
        H, W, b, V = s.width, net.Ws[l], net.bs[l], net.Ws[l + 1]
        units = list(names[l + 1])
        if s.activation == "relu" and s.scale:
            vecs = []
            for j in range(H):
                t = c.vec()
                t[c.W[l][:, j]], t[c.b[l][j]], t[c.W[l + 1][j]] = W[:, j], b[j], -V[j]
                vecs.append(t)
            c.add(f"rescaling of relu units (continuous symmetry, layer {l + 1})", units, vecs)
        if s.activation == "identity" and s.scale:
            vecs = []
            for i in range(H):
                for k in range(H):
                    t = c.vec()
                    t[c.W[l][:, k]] += W[:, i]
                    t[c.b[l][k]] += b[i]
                    t[c.W[l + 1][i]] -= V[k]
                    vecs.append(t)
            c.add(f"invertible mixing of identity units (GL({H}), layer {l + 1})", units, vecs)

    if arch.hidden and all(a == "identity" for a in arch.activation):
        vecs = []
        free = arch.free_mask()
        J = np.asarray(_affine_jacobian(ravel(_params_of(net), arch), arch))
        _, sv, Vt = np.linalg.svd(J[:, free], full_matrices=True)
        rank = int(np.sum(sv > 1e-10 * max(float(sv.max(initial=0.0)), 1e-300)))
        for n in Vt[rank:]:
            t = c.vec()
            t[free] = n
            vecs.append(t)
        c.add(
            "a linear network: only its end-to-end affine map is identified",
            [u for layer in names[1:-1] for u in layer],
            vecs,
        )

    def unit_dirs(l: int, j: int, outgoing: bool) -> list[np.ndarray]:
        pos = [*c.W[l][:, j], c.b[l][j]] + (list(c.W[l + 1][j]) if outgoing else [])
        vecs = []
        for p in pos:
            t = c.vec()
            t[p] = 1.0
            vecs.append(t)
        return vecs

    lname = [list(n) for n in names[1:-1]]
    zo = checks["zero_outgoing"]
    c.add(
        "units with zero outgoing weights (their incoming weights and bias are free)",
        [lname[l][j] for l, j in zo],
        [t for l, j in zo for t in unit_dirs(l, j, False)],
    )
    dead = checks["dead"]
    c.add(
        "relu units inactive on every observation (all their weights are free)",
        [lname[l][j] for l, j in dead],
        [t for l, j in dead for t in unit_dirs(l, j, True)],
    )
    sat = checks["saturated"]
    c.add(
        "saturated units (a step function on the data: the scale of their incoming "
        "weights is not identified and tends to diverge)",
        [lname[l][j] for l, j in sat],
        [t for l, j in sat for t in unit_dirs(l, j, False)],
    )
    vecs, units = [], []
    for l in range(len(arch.hidden)):
        act_units = [j for ll, j in checks["active"] if ll == l]
        for i in act_units:
            for k in act_units:
                t = c.vec()
                t[c.W[l][:, k]] += net.Ws[l][:, i]
                t[c.b[l][k]] += net.bs[l][i]
                t[c.W[l + 1][i]] -= net.Ws[l + 1][k]
                vecs.append(t)
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
    if X is not None:
        D = np.hstack([np.ones((X.shape[0], 1)), X]) if arch.bias[0] else X
        _, sv, Vt = np.linalg.svd(D, full_matrices=True)
        rank = int(np.sum(sv > 1e-10 * max(float(sv.max(initial=0.0)), 1e-300)))
        null = Vt[rank:]
        vecs = []
        width0 = arch.sizes[1]
        for n in null:
            nb, nw = (n[0], n[1:]) if arch.bias[0] else (0.0, n)
            for j in range(width0):
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
    return c


def _attribute(Hm, thr, nullity, cands: _Candidates, free) -> tuple[list[dict], int]:
    """Split the null space of ``Hm`` among the candidate explanations."""
    E = np.zeros((Hm.shape[0], 0))
    out = []
    for reason, units, vecs in cands.items:
        if nullity - E.shape[1] <= 0:
            break
        Q = _orth(np.stack(vecs, axis=1)[free])
        if E.shape[1]:
            Q = _orth(Q - E @ (E.T @ Q))
        if Q.shape[1] == 0:
            continue
        _, s, Vt = np.linalg.svd(Hm @ Q, full_matrices=True)
        s_full = np.concatenate([s, np.zeros(Q.shape[1] - s.size)])
        keep = Vt[s_full <= thr]
        count = min(keep.shape[0], nullity - E.shape[1])
        if count == 0:
            continue
        E = _orth(np.hstack([E, Q @ keep.T[:, :count]]))
        out.append({"reason": reason, "count": int(count), "units": units})
    return out, nullity - E.shape[1]


# --- the report -------------------------------------------------------------------------------


@dataclass
class IdentifiabilityReport:
    """What is and is not identified at a fit (see :func:`identifiability`).

    Attributes
    ----------
    architecture : str
    n_params : int
        Free weights.
    group_order, continuous_dim : int
        Of the symmetry group (:func:`nnmle.symmetry.group`).
    group_exact : bool
        ``False`` when a mask restricted the group (the order is a lower bound).
    group_notes : list of str
    zero_outgoing, constant_units, dead_relu : list of str
        Unit names failing Sussmann's minimality conditions.
    saturated : list of str
        tanh/logistic units saturated on every observation (step functions on
        the data; not reducible, but the scale of their weights is not identified).
    relu_always_active : list of str
        relu units active on every observation (linear on the data).
    mergeable : list of dict
        ``{"units": [a, b], "relation": "equal" | "opposite" | "proportional"}``.
    reducible : bool
    reduction_steps : list of str
    reduced_architecture : str or None
    reduced_n_params : int or None
    reduced_loglik, loglik : float or None
        Log-likelihoods of the smaller network and of the fit, on the data.
    rank, nullity, n_negative : int or None
        Of the observed information matrix (Hessian of the penalized
        objective over the free weights); ``None`` when not computed.
    threshold : float or None
        Eigenvalues with absolute value at or below it count as zero.
    eigenvalues : list of float
        All eigenvalues, ascending.
    null_explained : list of dict
        ``{"reason", "count", "units"}``: how the null space splits.
    unexplained : int or None
        Null directions no known symmetry or redundancy explains.
    notes : list of str
    reduced_params : Params or None
    reduced_arch : Architecture or None
    """

    architecture: str
    n_params: int
    group_order: int
    continuous_dim: int
    group_exact: bool
    group_notes: list[str]
    zero_outgoing: list[str]
    constant_units: list[str]
    dead_relu: list[str]
    saturated: list[str]
    relu_always_active: list[str]
    mergeable: list[dict]
    reducible: bool
    reduction_steps: list[str]
    reduced_architecture: str | None
    reduced_n_params: int | None
    reduced_loglik: float | None
    loglik: float | None
    rank: int | None
    nullity: int | None
    n_negative: int | None
    threshold: float | None
    eigenvalues: list[float]
    null_explained: list[dict]
    unexplained: int | None
    notes: list[str] = field(default_factory=list)
    reduced_params: Params | None = field(default=None, repr=False)
    reduced_arch: Architecture | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """Every field as plain JSON-able Python data (without the reduced weights)."""
        skip = {"reduced_params", "reduced_arch"}
        return {k: v for k, v in self.__dict__.items() if k not in skip}

    def __str__(self) -> str:
        return render_identifiability(self)


def render_identifiability(r: IdentifiabilityReport) -> str:
    """Plain-words text of an :class:`IdentifiabilityReport`."""
    lines = [f"Identifiability of {r.architecture} ({r.n_params} free weights)"]
    if r.group_order > 1 or r.continuous_dim:
        g = f"  Symmetry group: {r.group_order} weight settings per network function"
        if r.continuous_dim:
            g += f", times a continuous family of dimension {r.continuous_dim}"
        lines.append(g + ("" if r.group_exact else " (at least: the mask restricts it)"))
        lines += [f"    - {n}" for n in r.group_notes]
        lines.append(
            "  The likelihood and the (L2/L1) penalty are the same on all of them: "
            "the weights are identified at best up to this group."
        )
    else:
        lines.append("  No hidden-unit symmetry: the weights are identified as in a GLM.")
    if r.reducible:
        lines.append("  The fit is REDUCIBLE (not minimal):")
        for label, units in (
            ("zero outgoing weights", r.zero_outgoing),
            ("zero incoming weights (constant)", r.constant_units),
            ("relu inactive on all data", r.dead_relu),
        ):
            if units:
                lines.append(f"    - {label}: {', '.join(units)}")
        for m in r.mergeable:
            lines.append(f"    - {m['units'][0]} and {m['units'][1]}: {m['relation']} incoming")
        if r.reduced_architecture is not None:
            ll = (
                f" with log-likelihood {r.reduced_loglik:.6g} (fit: {r.loglik:.6g})"
                if r.reduced_loglik is not None and r.loglik is not None
                else ""
            )
            lines.append(
                f"  A smaller equivalent network: {r.reduced_architecture} "
                f"({r.reduced_n_params} weights){ll}."
            )
            lines += [f"    {s}" for s in r.reduction_steps]
    else:
        lines.append(
            "  The fit is minimal (no zero, constant, dead or duplicate units): "
            "only the symmetry group is left."
        )
    if r.saturated:
        lines.append(
            f"  Saturated on all data (step functions; weight scale not identified): "
            f"{', '.join(r.saturated)}"
        )
    if r.relu_always_active:
        lines.append(
            f"  relu units active on all data (linear there): {', '.join(r.relu_always_active)}"
        )
    if r.rank is not None:
        lines.append(
            f"  Information matrix: rank {r.rank} of {r.n_params}, {r.nullity} (near) zero "
            f"eigenvalue(s) (|lambda| <= {r.threshold:.2e}), {r.n_negative} negative."
        )
        for e in r.null_explained:
            lines.append(f"    - {e['count']} from {e['reason']}")
        if r.unexplained:
            lines.append(
                f"    - {r.unexplained} unexplained (flat directions of the likelihood itself: "
                "too few data, separation, or a near-redundancy below the checks' tolerance)"
            )
        if r.n_negative:
            lines.append(
                "  Negative eigenvalues: the fit is not a local minimum (a saddle point or "
                "not converged)."
            )
    lines += [f"  Note: {n}" for n in r.notes]
    return "\n".join(lines)


def identifiability(
    result,
    weight_tol: float = WEIGHT_TOL,
    rtol: float = EIG_RTOL,
    information: bool = True,
    max_params: int = 3000,
) -> IdentifiabilityReport:
    """Identifiability report of a fit: symmetry group, minimality, information rank.

    Parameters
    ----------
    result : FitResult
        A fit from :func:`nnmle.fit` (its ``data`` is used for the checks
        and the Hessian).
    weight_tol : float
        Relative tolerance for zero and equal weights (module docstring).
    rtol : float
        Eigenvalues ``|λ| <= max(rtol * λ_max, 10 * ‖∇‖)`` count as zero.
    information : bool
        Compute the information matrix (skipped above ``max_params`` free weights).
    max_params : int

    Returns
    -------
    IdentifiabilityReport
        ``str(report)`` reads in plain words; ``report.to_dict()`` is JSON-able.

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2)); y = (X[:, 0] + 0.5 * rng.normal(size=60) > 0).astype(int)
    >>> rep = nnmle.identifiability(nnmle.fit(X, y, hidden=(2,), l2=0.1))
    >>> rep.group_order
    8
    """
    arch, data = result.arch, result.data
    if data is None:
        raise ValueError(
            "The FitResult carries no data (result.data is None), which the checks need. "
            "Fix: pass a result from nnmle.fit(...)."
        )
    theta = np.asarray(result.theta, dtype=float)
    net, _ = _as_net(theta, arch)
    X = np.asarray(data.X)
    sym = group(arch)
    tol = _zero_tol(net, weight_tol)
    checks = _unit_checks(net, arch, X, tol)
    lname = [list(n) for n in arch.unit_names()[1:-1]]
    notes: list[str] = []
    ll = float(
        result.family.loglik(linear_predictor(jnp.asarray(theta), data.X, arch), data.Y, data.w)
    )
    reducible = any(checks[k] for k in ("zero_outgoing", "constant", "dead", "pairs"))
    steps: list[str] = []
    red_p = red_arch = None
    red_ll = None
    if reducible and arch.mask is None:
        red_p, red_arch, steps = reduce_network(theta, arch, X, weight_tol)
        eta = linear_predictor(ravel(red_p, red_arch), data.X, red_arch)
        red_ll = float(result.family.loglik(eta, data.Y, data.w))
    elif reducible:
        notes.append("masked architecture: no smaller network is offered")
    report = IdentifiabilityReport(
        architecture=arch.describe(),
        n_params=arch.n_params,
        group_order=sym.order,
        continuous_dim=sym.continuous_dim,
        group_exact=sym.exact,
        group_notes=sym.notes,
        zero_outgoing=[lname[l][j] for l, j in checks["zero_outgoing"]],
        constant_units=[lname[l][j] for l, j in checks["constant"]],
        dead_relu=[lname[l][j] for l, j in checks["dead"]],
        saturated=[lname[l][j] for l, j in checks["saturated"]],
        relu_always_active=[lname[l][j] for l, j in checks["active"]],
        mergeable=[
            {"units": [lname[l][i], lname[l][j]], "relation": rel}
            for l, i, j, rel, _ in checks["pairs"]
        ],
        reducible=reducible,
        reduction_steps=steps,
        reduced_architecture=None if red_arch is None else red_arch.describe(),
        reduced_n_params=None if red_arch is None else red_arch.n_params,
        reduced_loglik=red_ll,
        loglik=ll,
        rank=None,
        nullity=None,
        n_negative=None,
        threshold=None,
        eigenvalues=[],
        null_explained=[],
        unexplained=None,
        notes=notes,
        reduced_params=red_p,
        reduced_arch=red_arch,
    )
    if not information:
        return report
    if arch.n_params > max_params:
        notes.append(
            f"information matrix skipped: {arch.n_params} free weights > max_params={max_params}"
        )
        return report
    free = arch.free_mask()
    idx = np.flatnonzero(free)
    Hm, gnorm = _free_hessian(
        jnp.asarray(theta[idx]),
        jnp.asarray(theta),
        jnp.asarray(idx),
        data,
        result.family,
        arch,
        result.penalty,
    )
    Hm = np.asarray(Hm)
    Hm = (Hm + Hm.T) / 2
    lam = np.linalg.eigvalsh(Hm)
    lam_max = float(np.abs(lam).max(initial=0.0))
    thr = max(rtol * lam_max, 10.0 * float(gnorm))
    nullity = int(np.sum(np.abs(lam) <= thr))
    explained, unexplained = _attribute(
        Hm, thr, nullity, _candidates(net, arch, checks, X, tol), free
    )
    if result.penalty.l1:
        notes.append("the L1 term is not differentiable at zero: its curvature is left out")
    if not result.converged:
        notes.append(
            f"the fit did not converge (gradient norm {float(gnorm):.2e}): the zero-eigenvalue "
            "threshold is widened to 10 x gradient norm and the counts are approximate"
        )
    if result.family.name in ("bernoulli", "binomial", "multinomial"):
        mu = np.asarray(
            result.family.inverse_link(linear_predictor(jnp.asarray(theta), data.X, arch))
        )
        n_sep = int(np.sum(np.all((mu < 1e-8) | (mu > 1 - 1e-8), axis=1)))
        if n_sep:
            notes.append(
                f"{n_sep} of {mu.shape[0]} observations are fitted with probability 0 or 1 "
                "(to 1e-8): (quasi-)separation, where the likelihood is flat"
            )
    report.rank = int(lam.size - nullity)
    report.nullity = nullity
    report.n_negative = int(np.sum(lam < -thr))
    report.threshold = thr
    report.eigenvalues = [float(v) for v in lam]
    report.null_explained = explained
    report.unexplained = unexplained
    return report


# --- the `nnmle symmetry` report ------------------------------------------------------------


def symmetry_report(result, n_twins: int = 3, seed: int = 0) -> dict:
    """Everything ``nnmle symmetry`` shows, as a JSON-able dict.

    Parameters
    ----------
    result : FitResult
    n_twins : int
        Random members of the fit's orbit (finite part: permutations and
        flips) to evaluate.
    seed : int
        Twin ``k`` uses ``random_element(arch, seed + k + 1, continuous=False)``.

    Returns
    -------
    dict
        ``architecture``, ``group_order``, ``continuous_dim``, ``group_notes``,
        ``loglik``, ``objective``, ``canonical_weights`` (``[{name, value}]``),
        ``twins`` (``[{loglik, objective, max_abs_pred_diff,
        max_abs_weight_diff}]``), ``identifiability`` (the report's dict).
        Render it with :func:`render_symmetry_report`.
    """
    arch, data, fam = result.arch, result.data, result.family
    theta = np.asarray(result.theta, dtype=float)

    def evaluate(th):
        eta = linear_predictor(jnp.asarray(th), data.X, arch)
        mu = np.asarray(fam.inverse_link(eta))
        obj = float(objective(jnp.asarray(th), data, fam, arch, result.penalty))
        return float(fam.loglik(eta, data.Y, data.w)), obj, mu

    ll, obj, mu = evaluate(theta)
    twins = []
    for k in range(n_twins):
        th = act_flat(random_element(arch, seed + k + 1, continuous=False), theta, arch)
        ll_k, obj_k, mu_k = evaluate(th)
        twins.append(
            {
                "loglik": ll_k,
                "objective": obj_k,
                "max_abs_pred_diff": float(np.max(np.abs(mu_k - mu), initial=0.0)),
                "max_abs_weight_diff": float(np.max(np.abs(th - theta), initial=0.0)),
            }
        )
    sym = group(arch)
    return {
        "architecture": arch.describe(),
        "group_order": sym.order,
        "continuous_dim": sym.continuous_dim,
        "group_exact": sym.exact,
        "group_notes": sym.notes,
        "loglik": ll,
        "objective": obj,
        "canonical_weights": canonical_weights(result),
        "twins": twins,
        "identifiability": identifiability(result).to_dict(),
    }


def render_symmetry_report(d: dict) -> str:
    """Fixed-width text of a :func:`symmetry_report` dict."""
    lines = [
        f"Symmetry of {d['architecture']}",
        f"  group order (finite part): {d['group_order']}"
        + (f"; continuous dimension: {d['continuous_dim']}" if d["continuous_dim"] else ""),
    ]
    lines += [f"    - {n}" for n in d["group_notes"]]
    lines.append("  Canonical weights (one representative of the orbit):")
    width = max((len(w["name"]) for w in d["canonical_weights"]), default=6)
    lines += [f"    {w['name']:<{width}}  {w['value']: .6f}" for w in d["canonical_weights"]]
    lines.append(f"  Fit: log-likelihood {d['loglik']:.10g}, objective {d['objective']:.10g}")
    if d["twins"]:
        lines.append("  Random twins (other weights, same network):")
        lines.append(
            f"    {'#':>2}  {'log-likelihood':>18}  {'objective':>18}  "
            f"{'max |pred diff|':>15}  {'max |weight diff|':>17}"
        )
        for k, t in enumerate(d["twins"]):
            lines.append(
                f"    {k + 1:>2}  {t['loglik']:>18.10g}  {t['objective']:>18.10g}  "
                f"{t['max_abs_pred_diff']:>15.2e}  {t['max_abs_weight_diff']:>17.4f}"
            )
    rep = IdentifiabilityReport(**d["identifiability"])
    lines.append(render_identifiability(rep))
    return "\n".join(lines)
