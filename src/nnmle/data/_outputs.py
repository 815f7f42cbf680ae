"""The network a family needs: its mean outputs plus bias-only outputs for extra parameters,
and offsets laid out on those outputs."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..families import Family
from ..networks import Architecture, Params, unravel

__all__ = ["family_architecture", "offset_matrix"]


def offset_matrix(offset, n: int, family: Family, arch: Architecture) -> np.ndarray:
    """An offset as ``(n, n_outputs)``: a vector goes to every mean output, none to extras."""
    off = np.asarray(offset, dtype=np.float64)
    if off.shape == (n, arch.n_outputs):
        return off
    if off.shape not in ((n,), (n, 1)):
        raise ValueError(
            f"offset must have one value per row ({n},) or shape ({n}, {arch.n_outputs}); got "
            f"shape {off.shape}. Fix: pass one offset per row."
        )
    out = np.zeros((n, arch.n_outputs))
    out[:, : arch.n_outputs - family.n_extra] = off.reshape(n, 1)
    return out


def family_architecture(
    family: Family,
    n_inputs: int,
    hidden,
    n_mean: int,
    activation="tanh",
    skip: bool = False,
    bias=True,
    mask: Params | None = None,
    input_names=None,
    output_names=None,
) -> Architecture:
    """The architecture for ``family``: ``n_mean`` mean outputs plus its extra parameters.

    A family's extra parameter (the negative binomial's ``log(alpha)``) is an
    output of its own with only a bias: every weight into it (and its skip
    weights) is frozen at zero, so optimizers, Hessians and the symmetry group
    see one more weight that no hidden-unit move touches. ``mask`` and ``bias``
    describe the mean outputs, as for any family; the extra bias is always free.

    Examples
    --------
    >>> from nnmle.families import get_family
    >>> arch = family_architecture(get_family("negative_binomial"), 2, (3,), 1)
    >>> arch.describe(), arch.n_params, arch.param_names()[-1]
    ('2-3-2 tanh', 14, 'bias->log(alpha)')
    """
    plain = Architecture.build(
        n_inputs, hidden, n_mean, activation, skip, bias, mask, input_names, output_names
    )
    if family.n_extra == 0:
        return plain
    names = tuple(plain.output_names) + tuple(family.extra_names)
    n_out = n_mean + family.n_extra
    biases = plain.bias[:-1] + (True,)
    full = Architecture.build(
        n_inputs, plain.hidden, n_out, plain.activation, plain.skip, biases, None,
        plain.input_names, names,
    )  # fmt: skip
    user = np.where(plain.free_mask(), np.nan, plain.fixed_values())
    flat = np.full(full.n_total, np.nan)
    a = b = 0
    out_bias = 2 * len(plain.hidden) + 1  # the block index of the output layer's bias
    for i, (sp, sf) in enumerate(zip(plain.shapes, full.shapes, strict=True)):
        size_p, size_f = int(np.prod(sp)), int(np.prod(sf))
        block = user[a : a + size_p].reshape(sp)
        out = np.full(sf, np.nan)
        if sp == sf:
            out[...] = block
        elif i == out_bias:  # the mean's biases as the user said; the extra biases free
            out[:n_mean] = block
        else:  # output or skip weights: frozen at zero into the extra outputs
            out[:, :n_mean] = block
            out[:, n_mean:] = 0.0
        flat[b : b + size_f] = out.ravel()
        a, b = a + size_p, b + size_f
    return Architecture.build(
        n_inputs, plain.hidden, n_out, plain.activation, plain.skip, biases,
        unravel(jnp.asarray(flat), full), plain.input_names, names,
    )  # fmt: skip
