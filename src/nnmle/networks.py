"""Architectures, parameter pytrees and the forward pass.

A network maps an input row ``x`` (length ``n_inputs``) to a linear predictor
``eta`` (length ``n_outputs``); the family's inverse link turns ``eta`` into the
mean. Hidden layers apply an activation; the output layer is linear, and an
optional skip layer adds ``x @ S`` to ``eta`` (R nnet's ``skip=TRUE``).

Parameters are a :class:`Params` pytree: a tuple of :class:`Layer` ``(W, b)``
with ``W`` of shape ``(fan_in, fan_out)`` plus an optional skip matrix. The
optimizer works on a flat vector; :func:`ravel` and :func:`unravel` convert,
in the fixed order: for each layer ``W`` (row-major) then ``b``, then ``skip``.

Weights can be frozen at given values (R nnet's ``mask``): a frozen entry is
held at its value and is not counted as a parameter. A layer without bias is
a layer whose bias is frozen at zero.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "ACTIVATIONS",
    "Architecture",
    "Layer",
    "Params",
    "activation_fn",
    "effective",
    "forward",
    "init_params",
    "linear_predictor",
    "ravel",
    "unravel",
]

ACTIVATIONS = ("tanh", "logistic", "relu", "softplus", "identity")


class Layer(NamedTuple):
    """One affine layer: ``z = h @ W + b`` with ``W`` of shape ``(fan_in, fan_out)``."""

    W: jax.Array
    b: jax.Array


class Params(NamedTuple):
    """Network weights: a tuple of :class:`Layer` plus the optional skip matrix."""

    layers: tuple[Layer, ...]
    skip: jax.Array | None = None


def activation_fn(name: str):
    """Return the elementwise activation called ``name``.

    Examples
    --------
    >>> float(activation_fn("logistic")(0.0))
    0.5
    """
    if name == "tanh":
        return jnp.tanh
    if name == "logistic":
        return jax.nn.sigmoid
    if name == "relu":
        return jax.nn.relu
    if name == "softplus":
        return jax.nn.softplus
    if name == "identity":
        return lambda z: z
    raise ValueError(
        f"Unknown activation {name!r}: expected one of {', '.join(ACTIVATIONS)}. "
        f"Fix: pass activation='tanh' (or another name from that list)."
    )


@dataclass(frozen=True)
class Architecture:
    """Sizes and options of a feed-forward network.

    Parameters
    ----------
    n_inputs : int
        Number of input columns.
    hidden : tuple of int
        Units per hidden layer; ``()`` is a network without hidden layer (a GLM).
    n_outputs : int
        Number of linear predictors (1, or K-1 for a K-class multinomial).
    activation : tuple of str
        Activation per hidden layer (one name is broadcast by :meth:`build`).
    skip : bool
        Skip-layer connections from the inputs to the outputs.
    bias : tuple of bool
        Whether each of the ``len(hidden) + 1`` layers has a bias.
    mask : tuple of bool or None
        Flat (in :func:`ravel` order) free/frozen flags; ``True`` is free.
    mask_values : tuple of float or None
        Flat values at which frozen entries are held.
    input_names, output_names : tuple of str
        Names used in summaries (``x1``, ``y`` by default).
    """

    n_inputs: int
    hidden: tuple[int, ...]
    n_outputs: int = 1
    activation: tuple[str, ...] = ()
    skip: bool = False
    bias: tuple[bool, ...] = ()
    mask: tuple[bool, ...] | None = field(default=None, repr=False)
    mask_values: tuple[float, ...] | None = field(default=None, repr=False)
    input_names: tuple[str, ...] = field(default=(), compare=False)
    output_names: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def build(
        cls,
        n_inputs: int,
        hidden: int | Sequence[int] = (),
        n_outputs: int = 1,
        activation: str | Sequence[str] = "tanh",
        skip: bool = False,
        bias: bool | Sequence[bool] = True,
        mask: Params | None = None,
        input_names: Sequence[str] | None = None,
        output_names: Sequence[str] | None = None,
    ) -> Architecture:
        """Validate options and build an :class:`Architecture`.

        ``mask`` is a :class:`Params` whose entries are ``NaN`` where the
        weight is free and a number where it is frozen at that number.

        Examples
        --------
        >>> arch = Architecture.build(3, hidden=(4,), activation="tanh")
        >>> arch.n_params
        21
        """
        hidden_t = _as_int_tuple(hidden, "hidden")
        for name, v in (("n_inputs", n_inputs), ("n_outputs", n_outputs)):
            if not isinstance(v, int | np.integer) or v < 1:
                raise ValueError(f"{name} must be a positive integer; got {v!r}.")
        acts = (activation,) * len(hidden_t) if isinstance(activation, str) else tuple(activation)
        if len(acts) != len(hidden_t):
            raise ValueError(
                f"activation must be one name or one per hidden layer ({len(hidden_t)}); "
                f"got {len(acts)} names: {acts!r}."
            )
        for a in acts:
            activation_fn(a)
        n_layers = len(hidden_t) + 1
        biases = (bool(bias),) * n_layers if isinstance(bias, bool) else tuple(map(bool, bias))
        if len(biases) != n_layers:
            raise ValueError(
                f"bias must be a bool or one flag per layer ({n_layers} = hidden layers + output);"
                f" got {len(biases)} flags."
            )
        in_names = tuple(input_names) if input_names is not None else _default_inputs(n_inputs)
        if len(in_names) != n_inputs:
            raise ValueError(f"input_names has {len(in_names)} names for {n_inputs} inputs.")
        out_names = (
            tuple(output_names)
            if output_names is not None
            else (("y",) if n_outputs == 1 else tuple(f"y{k + 1}" for k in range(n_outputs)))
        )
        arch = cls(
            int(n_inputs),
            hidden_t,
            int(n_outputs),
            acts,
            bool(skip),
            biases,
            None,
            None,
            in_names,
            out_names,
        )
        if mask is not None:
            flat = np.asarray(ravel(mask, arch), dtype=float)
            if flat.shape != (arch.n_total,):
                raise ValueError(
                    f"mask must have the shapes of the network's Params ({arch.n_total} entries);"
                    f" got {flat.size}."
                )
            free = np.isnan(flat)
            values = np.where(free, 0.0, flat)
            arch = cls(
                arch.n_inputs,
                arch.hidden,
                arch.n_outputs,
                arch.activation,
                arch.skip,
                arch.bias,
                tuple(bool(f) for f in free),
                tuple(float(v) for v in values),
                in_names,
                out_names,
            )
        return arch

    def __hash__(self) -> int:
        return self._hash

    @functools.cached_property
    def _hash(self) -> int:  # a jit cache key: hashed on every compiled call, so cached
        return hash(
            (self.n_inputs, self.hidden, self.n_outputs, self.activation, self.skip, self.bias,
             self.mask, self.mask_values)
        )  # fmt: skip

    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer widths from input to output, e.g. ``(30, 10, 1)``."""
        return (self.n_inputs, *self.hidden, self.n_outputs)

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        """Shapes of the flat blocks in :func:`ravel` order."""
        s = self.sizes
        out: list[tuple[int, ...]] = []
        for i in range(len(s) - 1):
            out += [(s[i], s[i + 1]), (s[i + 1],)]
        if self.skip:
            out.append((self.n_inputs, self.n_outputs))
        return out

    @property
    def n_total(self) -> int:
        """Number of entries of the flat parameter vector, free or frozen."""
        return int(sum(np.prod(sh) for sh in self.shapes))

    def free_mask(self) -> np.ndarray:
        """Flat boolean vector: ``True`` for estimated (free) entries."""
        free = np.ones(self.n_total, dtype=bool) if self.mask is None else np.array(self.mask)
        offset = 0
        for i, sh in enumerate(self.shapes[: 2 * (len(self.hidden) + 1)]):
            size = int(np.prod(sh))
            if i % 2 == 1 and not self.bias[i // 2]:
                free[offset : offset + size] = False
            offset += size
        return free

    def fixed_values(self) -> np.ndarray:
        """Flat vector of the values at which frozen entries are held."""
        vals = np.zeros(self.n_total) if self.mask_values is None else np.array(self.mask_values)
        return np.where(self.free_mask(), 0.0, vals)

    def bias_mask(self) -> np.ndarray:
        """Flat boolean vector: ``True`` for bias entries."""
        out = np.zeros(self.n_total, dtype=bool)
        offset = 0
        for i, sh in enumerate(self.shapes):
            size = int(np.prod(sh))
            if i % 2 == 1 and i < 2 * (len(self.hidden) + 1):
                out[offset : offset + size] = True
            offset += size
        return out

    @property
    def n_params(self) -> int:
        """Number of estimated (free) weights."""
        return int(self.free_mask().sum())

    def unit_names(self) -> list[tuple[str, ...]]:
        """Names of the units of every layer, inputs first, outputs last."""
        names: list[tuple[str, ...]] = [self.input_names]
        for l, width in enumerate(self.hidden):
            prefix = "h" if len(self.hidden) == 1 else f"h{l + 1}."
            names.append(tuple(f"{prefix}{j + 1}" for j in range(width)))
        names.append(self.output_names)
        return names

    def param_names(self) -> list[str]:
        """Readable name of every flat entry: ``x1->h1``, ``bias->h1``, ``h1->y``."""
        units = self.unit_names()
        out: list[str] = []
        for l in range(len(self.hidden) + 1):
            out += [f"{a}->{b}" for a in units[l] for b in units[l + 1]]
            out += [f"bias->{b}" for b in units[l + 1]]
        if self.skip:
            out += [f"{a}->{b} (skip)" for a in units[0] for b in units[-1]]
        return out

    def describe(self) -> str:
        """Short text such as ``30-10-1 tanh`` (``+skip`` when skip layers are on)."""
        core = "-".join(str(s) for s in self.sizes)
        acts = ",".join(self.activation) if self.activation else "linear"
        return f"{core} {acts}" + (" +skip" if self.skip else "")


def _default_inputs(n: int) -> tuple[str, ...]:
    return tuple(f"x{i + 1}" for i in range(n))


def _as_int_tuple(value, name: str) -> tuple[int, ...]:
    vals = (value,) if isinstance(value, int | np.integer) else tuple(value)
    for v in vals:
        if not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(
                f"{name} must be a positive integer or a tuple of them (units per hidden layer);"
                f" got {value!r}. Fix: e.g. {name}=(10,) or {name}=() for no hidden layer."
            )
    return tuple(int(v) for v in vals)


def ravel(params: Params, arch: Architecture) -> jax.Array:
    """Flatten ``params`` into one vector in the documented order."""
    parts = []
    for layer in params.layers:
        parts += [jnp.ravel(layer.W), jnp.ravel(layer.b)]
    if arch.skip:
        if params.skip is None:
            raise ValueError("The architecture has skip=True but the params have no skip matrix.")
        parts.append(jnp.ravel(params.skip))
    return jnp.concatenate(parts)


def unravel(theta: jax.Array, arch: Architecture) -> Params:
    """Inverse of :func:`ravel`: split a flat vector into a :class:`Params`."""
    blocks = []
    offset = 0
    for sh in arch.shapes:
        size = int(np.prod(sh))
        blocks.append(jnp.reshape(theta[..., offset : offset + size], theta.shape[:-1] + sh))
        offset += size
    n_layers = len(arch.hidden) + 1
    layers = tuple(Layer(blocks[2 * i], blocks[2 * i + 1]) for i in range(n_layers))
    return Params(layers, blocks[-1] if arch.skip else None)


def forward(params: Params, X: jax.Array, arch: Architecture) -> jax.Array:
    """Linear predictor ``eta`` of shape ``(n, n_outputs)`` for inputs ``X``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> arch = Architecture.build(2, hidden=())
    >>> p = Params((Layer(jnp.array([[1.0], [2.0]]), jnp.array([0.5])),))
    >>> forward(p, jnp.array([[1.0, 1.0]]), arch).tolist()
    [[3.5]]
    """
    h = X
    n_hidden = len(arch.hidden)
    for l, layer in enumerate(params.layers):
        z = h @ layer.W + layer.b
        h = activation_fn(arch.activation[l])(z) if l < n_hidden else z
    if arch.skip and params.skip is not None:
        h = h + X @ params.skip
    return h


def effective(theta: jax.Array, arch: Architecture) -> jax.Array:
    """``theta`` with frozen entries (mask, absent biases) replaced by their fixed values.

    The gradient of anything computed from ``effective(theta)`` is exactly zero on
    the frozen entries, so an optimizer never moves them.
    """
    if arch.mask is None and all(arch.bias):
        return theta
    free = jnp.asarray(arch.free_mask())
    return jnp.where(free, theta, jnp.asarray(arch.fixed_values(), dtype=theta.dtype))


def linear_predictor(theta: jax.Array, X: jax.Array, arch: Architecture) -> jax.Array:
    """``eta`` of shape ``(n, n_outputs)`` from flat weights (frozen entries at their values).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> arch = Architecture.build(1, hidden=())
    >>> linear_predictor(jnp.array([2.0, 1.0]), jnp.array([[1.0], [3.0]]), arch).tolist()
    [[3.0], [7.0]]
    """
    return forward(unravel(effective(theta, arch), arch), X, arch)


def init_params(key: jax.Array, arch: Architecture, method: str = "uniform", rang: float = 0.7):
    """Draw a flat starting vector (free entries random, frozen at their values).

    Parameters
    ----------
    key : jax.Array
        A ``jax.random`` key.
    arch : Architecture
    method : {"uniform", "glorot"}
        ``"uniform"`` is R nnet's uniform(-rang, rang) for every weight;
        ``"glorot"`` is Glorot/Xavier uniform for ``W`` (limit
        sqrt(6 / (fan_in + fan_out))) with zero biases.
    rang : float
        Half-width of nnet's uniform initialization.
    """
    if method == "uniform":
        theta = jax.random.uniform(key, (arch.n_total,), minval=-rang, maxval=rang)
    elif method == "glorot":
        keys = jax.random.split(key, len(arch.shapes))
        parts = []
        for i, sh in enumerate(arch.shapes):
            if len(sh) == 2:
                lim = float(np.sqrt(6.0 / (sh[0] + sh[1])))
                parts.append(jax.random.uniform(keys[i], (sh[0] * sh[1],), minval=-lim, maxval=lim))
            else:
                parts.append(jnp.zeros(sh))
        theta = jnp.concatenate(parts)
    else:
        raise ValueError(
            f"Unknown init {method!r}: expected 'uniform' (R nnet) or 'glorot'. "
            f"Fix: pass init='uniform' or init='glorot'."
        )
    free = jnp.asarray(arch.free_mask())
    return jnp.where(free, theta, jnp.asarray(arch.fixed_values()))
