"""Minimality of a network (Sussmann, 1992) and its reduction to a smaller equivalent one.

A hidden unit breaks minimality when its outgoing weights are zero, when its
incoming weights are zero (a constant, which the next bias absorbs), when
another unit of its layer has equal or opposite (tanh, logistic, identity) or
proportional (relu, identity) incoming weights, and, on given data, when it is
a relu unit inactive on every observation. :func:`unit_checks` finds those
units; :func:`reduce_network` removes or merges them one at a time.
"""

from __future__ import annotations

import numpy as np

from ..networks import Architecture, Params, activation_fn
from ..symmetry import Net, as_net, from_net, hidden_np

__all__ = ["WEIGHT_TOL", "reduce_network", "unit_checks", "unit_names", "zero_tol"]

#: Relative tolerance for zero and equal weights (see :func:`zero_tol`).
WEIGHT_TOL = 1e-6
#: |z| beyond which a unit is saturated: its slope is below 1e-6 of the slope at 0.
_SATURATION = {"tanh": 7.6, "logistic": 13.9}


def zero_tol(net: Net, weight_tol: float = WEIGHT_TOL) -> float:
    """The absolute threshold for a zero weight: ``weight_tol * max(1, max|w|)``.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.symmetry import Net
    >>> zero_tol(Net((np.array([[3.0]]),), (np.array([-40.0]),), None), weight_tol=0.25)
    10.0
    """
    m = max(float(np.abs(W).max(initial=0.0)) for W in net.Ws + net.bs)
    return weight_tol * max(1.0, m)


def unit_checks(net: Net, arch: Architecture, X, tol: float) -> dict[str, list]:
    """The units that break minimality, and those saturated or linear on ``X``, per layer.

    Parameters
    ----------
    net : Net
        The weights (frozen entries at their values).
    arch : Architecture
    X : array of shape (n, n_inputs) or None
        Data for the checks that depend on it (dead, always-active and
        saturated units); ``None`` skips them.
    tol : float
        Absolute threshold for a zero weight (:func:`zero_tol`).

    Returns
    -------
    dict
        ``zero_outgoing``, ``constant``, ``dead`` (relu inactive on every row),
        ``active`` (relu active on every row), ``saturated`` (tanh/logistic with
        ``|z|`` beyond saturation on every row): lists of ``(layer, unit)``;
        ``pairs``: ``(layer, i, j, relation, c)`` with ``relation`` one of
        ``"equal"``, ``"opposite"``, ``"proportional"`` and ``h_j = c h_i``
        (up to the logistic's ``1 - h``).

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.symmetry import as_net
    >>> arch = Architecture.build(1, hidden=(2,))
    >>> net, _ = as_net(np.array([1.0, -1.0, 0.5, -0.5, 2.0, 3.0, 0.0]), arch)
    >>> unit_checks(net, arch, None, 1e-6)["pairs"]
    [(0, 0, 1, 'opposite', -1.0)]
    """
    zs = [z for z, _ in hidden_np(net, X, arch)] if X is not None else None
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
                    c = float(nrm[j] / nrm[i]) if scaled else 1.0
                    out["pairs"].append((l, i, j, "equal" if not scaled else "proportional", c))
                elif a in ("tanh", "logistic", "identity") and (
                    np.abs(U[:, i] + U[:, j]).max() <= utol
                ):
                    c = float(-nrm[j] / nrm[i]) if scaled else -1.0
                    out["pairs"].append((l, i, j, "opposite", c))
    return out


def unit_names(net: Net, arch: Architecture) -> list[list[str]]:
    """Names of the hidden units still in ``net`` (the first ones of each layer of ``arch``)."""
    names = arch.unit_names()[1:-1]
    return [list(names[l][: net.Ws[l].shape[1]]) for l in range(len(arch.hidden))]


# --- reduction to a smaller equivalent network -----------------------------------------------


def _drop_unit(net: Net, l: int, j: int) -> Net:
    Ws, bs = list(net.Ws), list(net.bs)
    Ws[l] = np.delete(Ws[l], j, axis=1)
    bs[l] = np.delete(bs[l], j)
    Ws[l + 1] = np.delete(Ws[l + 1], j, axis=0)
    return Net(tuple(Ws), tuple(bs), net.skip)


def _with(net: Net, l: int, V=None, b_next=None) -> Net:
    Ws, bs = list(net.Ws), list(net.bs)
    if V is not None:
        Ws[l + 1] = V
    if b_next is not None:
        bs[l + 1] = b_next
    return Net(tuple(Ws), tuple(bs), net.skip)


def _reduce_once(net: Net, arch: Architecture, X, tol: float) -> tuple[Net, str] | None:
    """One reduction step (remove or merge a unit), or ``None`` when minimal."""
    checks = unit_checks(net, arch, X, tol)
    names = unit_names(net, arch)
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


def _shrunk_arch(arch: Architecture, net: Net) -> tuple[Architecture, Params]:
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
        return small, from_net(Net((W,), (net.bs[-1],), None), small, False)
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
    return small, from_net(net, small, False)


def reduce_network(
    params, arch: Architecture, X=None, weight_tol: float = WEIGHT_TOL
) -> tuple[Params, Architecture, list[str]]:
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
        Relative tolerance for zero / equal weights (:func:`zero_tol`).

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
    net, _ = as_net(params, arch)
    Xa = None if X is None else np.asarray(X, dtype=float)
    tol = zero_tol(net, weight_tol)
    steps: list[str] = []
    for _ in range(sum(arch.hidden)):
        step = _reduce_once(net, arch, Xa, tol)
        if step is None:
            break
        net, what = step
        steps.append(what)
    small_arch, small = _shrunk_arch(arch, net)
    return small, small_arch, steps
