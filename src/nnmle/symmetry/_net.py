"""Weights as plain NumPy arrays, and the forward pass in NumPy.

The group acts on weights far more often than it evaluates them, and on small
arrays: plain NumPy (no JAX dispatch) is the fast path. :class:`Net` is the
working form; :func:`as_net` and :func:`from_net` convert from and back to a
:class:`~nnmle.networks.Params` or a flat vector (:func:`~nnmle.networks.ravel`
order).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from scipy.special import expit

from ..networks import Architecture, Layer, Params

__all__ = ["Net", "as_net", "effective_np", "flat_np", "forward_np", "from_net", "hidden_np"]


class Net(NamedTuple):
    """Weights of every layer as NumPy float64 arrays.

    Attributes
    ----------
    Ws : tuple of ndarray
        ``W`` of each layer, shape ``(fan_in, fan_out)``, input side first.
    bs : tuple of ndarray
        ``b`` of each layer (zeros for a layer without bias).
    skip : ndarray or None
        The skip-layer matrix ``(n_inputs, n_outputs)``.
    """

    Ws: tuple[np.ndarray, ...]
    bs: tuple[np.ndarray, ...]
    skip: np.ndarray | None


def as_net(params, arch: Architecture) -> tuple[Net, bool]:
    """The weights as a :class:`Net` (copies), and whether ``params`` was a flat vector.

    Parameters
    ----------
    params : Params or array of shape (n_total,)
    arch : Architecture

    Returns
    -------
    net : Net
    flat : bool
        ``True`` when ``params`` was a flat vector (give it to :func:`from_net`).

    Raises
    ------
    ValueError
        When a flat vector does not have ``arch.n_total`` entries.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.networks import Architecture
    >>> arch = Architecture.build(2, hidden=(3,))
    >>> net, flat = as_net(np.arange(arch.n_total, dtype=float), arch)
    >>> net.Ws[0].shape, net.bs[1].tolist(), flat
    ((2, 3), [12.0], True)
    """
    if hasattr(type(params), "__nnmle_params__"):  # FitResult.params, deprecated here: it warns
        params = params.__nnmle_params__()
    if isinstance(params, Params):
        net = Net(
            tuple(np.array(L.W, dtype=np.float64) for L in params.layers),
            tuple(np.array(L.b, dtype=np.float64) for L in params.layers),
            None if params.skip is None else np.array(params.skip, dtype=np.float64),
        )
        return net, False
    theta = np.asarray(params, dtype=np.float64)
    if theta.shape != (arch.n_total,):
        raise ValueError(
            f"Expected a flat weight vector of {arch.n_total} entries for {arch.describe()} "
            f"(nnmle.networks.ravel order) or a Params; got shape {theta.shape}. Fix: pass "
            f"the weights of this architecture, e.g. result.theta with result.arch."
        )
    blocks, off = [], 0
    for sh in arch.shapes:
        size = math.prod(sh)
        blocks.append(theta[off : off + size].reshape(sh).copy())
        off += size
    n = len(arch.hidden) + 1
    net = Net(
        tuple(blocks[0 : 2 * n : 2]),
        tuple(blocks[1 : 2 * n : 2]),
        blocks[-1] if arch.skip else None,
    )
    return net, True


def from_net(net: Net, arch: Architecture, flat: bool):
    """Back from a :class:`Net`: a flat NumPy vector when ``flat``, else a :class:`Params`.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.networks import Architecture
    >>> arch = Architecture.build(2, hidden=(3,), skip=True)
    >>> theta = np.arange(arch.n_total, dtype=float)
    >>> bool(np.array_equal(from_net(as_net(theta, arch)[0], arch, True), theta))
    True
    """
    if flat:
        parts = [a.ravel() for W, b in zip(net.Ws, net.bs, strict=True) for a in (W, b)]
        if arch.skip and net.skip is not None:
            parts.append(net.skip.ravel())
        return np.concatenate(parts)
    return Params(
        tuple(Layer(jnp.asarray(W), jnp.asarray(b)) for W, b in zip(net.Ws, net.bs, strict=True)),
        None if net.skip is None else jnp.asarray(net.skip),
    )


def flat_np(params, arch: Architecture) -> np.ndarray:
    """A flat float64 NumPy vector (:func:`~nnmle.networks.ravel` order) from Params or a vector.

    Examples
    --------
    >>> from nnmle.networks import Architecture, unravel
    >>> arch = Architecture.build(1, hidden=())
    >>> flat_np(unravel(np.array([2.0, 1.0]), arch), arch).tolist()
    [2.0, 1.0]
    """
    return from_net(as_net(params, arch)[0], arch, True)


def effective_np(theta, arch: Architecture) -> np.ndarray:
    """A flat vector with frozen entries (mask, absent biases) at their fixed values.

    The NumPy twin of :func:`nnmle.networks.effective`.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.networks import Architecture
    >>> arch = Architecture.build(1, hidden=(), bias=False)
    >>> effective_np(np.array([2.0, 5.0]), arch).tolist()
    [2.0, 0.0]
    """
    theta = np.asarray(theta, dtype=np.float64)
    return np.where(arch.free_mask(), theta, arch.fixed_values())


ACTIVATIONS_NP = {
    "tanh": np.tanh,
    "logistic": expit,
    "relu": lambda z: np.maximum(z, 0.0),
    "softplus": lambda z: np.logaddexp(0.0, z),
    "identity": lambda z: z,
}


def hidden_np(net: Net, X: np.ndarray, arch: Architecture) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pre-activations and activations ``(z, h)`` of every hidden layer on ``X``, in NumPy.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.networks import Architecture
    >>> arch = Architecture.build(1, hidden=(2,), activation="relu")
    >>> net, _ = as_net(np.array([1.0, -1.0, 0.0, 0.0, 1.0, 1.0, 0.0]), arch)
    >>> [a.tolist() for a in hidden_np(net, np.array([[2.0]]), arch)[0]]
    [[[2.0, -2.0]], [[2.0, 0.0]]]
    """
    out, h = [], np.asarray(X, dtype=np.float64)
    for l, a in enumerate(arch.activation):
        z = h @ net.Ws[l] + net.bs[l]
        h = ACTIVATIONS_NP[a](z)
        out.append((z, h))
    return out


def forward_np(net: Net, X: np.ndarray, arch: Architecture) -> np.ndarray:
    """The linear predictor in NumPy (the same as :func:`~nnmle.networks.forward`).

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.networks import Architecture
    >>> arch = Architecture.build(1, hidden=(2,), activation="relu")
    >>> net, _ = as_net(np.array([1.0, -1.0, 0.0, 0.0, 1.0, 1.0, 0.5]), arch)
    >>> forward_np(net, np.array([[2.0], [-3.0]]), arch).tolist()
    [[2.5], [3.5]]
    """
    X = np.asarray(X, dtype=np.float64)
    h = hidden_np(net, X, arch)[-1][1] if arch.hidden else X
    eta = h @ net.Ws[-1] + net.bs[-1]
    return eta + X @ net.skip if net.skip is not None else eta
