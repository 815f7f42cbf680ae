"""Networks trained elsewhere: import scikit-learn MLPs and R nnet weight vectors.

Both importers return an :class:`Imported` (a light NamedTuple): the weights
as nnmle :class:`~nnmle.networks.Params`, the
:class:`~nnmle.networks.Architecture`, the nnmle family whose inverse link
matches the source's output layer, and a ``predict`` that reproduces the
source's predictions. With them a user can ask whether two models already
trained are the same network up to symmetry::

    a, b = nnmle.from_sklearn(model_a), nnmle.from_sklearn(model_b)
    nnmle.symmetry.equivalent(a.params, b.params, a.arch)

Output layers:

* identity outputs (``MLPRegressor``, nnet ``linout=TRUE``) map to the
  gaussian family (one output) or to no family (several outputs);
* one logistic output (binary ``MLPClassifier``, nnet's default) maps to the
  bernoulli family; several logistic outputs (multi-label) to no family.
  nnet without ``entropy=TRUE`` fits logistic outputs by least squares, which
  is not a likelihood nnmle has: the *function* is imported exactly, the
  fitting criterion is not;
* ``K`` softmax outputs (multiclass ``MLPClassifier``, nnet ``softmax=TRUE``)
  are converted to nnmle's multinomial, which has ``K - 1`` outputs measured
  against the first class: the first class's weights are subtracted from
  every other class's. Softmax is invariant to adding the same number to all
  logits, so the conversion is exact (it is the identification that
  statisticians use for the multinomial logit: the K-output form is itself
  not identified).

When ``family`` is ``None`` the weights and architecture are still exact, so
everything in :mod:`nnmle.symmetry` applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .families import Family, get_family
from .networks import Architecture, Layer, Params, forward, ravel

__all__ = ["Imported", "from_nnet", "from_sklearn"]


class Imported(NamedTuple):
    """A network imported from another library.

    Attributes
    ----------
    params : Params
    arch : Architecture
    family : Family or None
        The nnmle family matching the output layer; ``None`` when nnmle has no
        family for it (multi-output regression, multi-label classification).
    output : {"identity", "logistic", "softmax"}
        The source's output activation.
    classes : tuple
        Class labels (classifiers), else ``()``.
    source : str
        Where the weights came from.
    """

    params: Params
    arch: Architecture
    family: Family | None
    output: str
    classes: tuple = ()
    source: str = ""

    @property
    def theta(self) -> np.ndarray:
        """The weights as a flat vector (:func:`~nnmle.networks.ravel` order)."""
        return np.asarray(ravel(self.params, self.arch))

    def linear_predictor(self, X) -> np.ndarray:
        """``eta`` of shape ``(n, n_outputs)`` (nnmle's outputs, ``K - 1`` for softmax)."""
        return np.asarray(forward(self.params, jnp.asarray(np.asarray(X, dtype=float)), self.arch))

    def predict(self, X) -> np.ndarray:
        """The source's predictions: means, P(y=1), or ``(n, K)`` class probabilities."""
        eta = jnp.asarray(self.linear_predictor(X))
        if self.family is not None:
            mu = np.asarray(self.family.inverse_link(eta))
            return mu if self.family.name == "multinomial" else mu[:, 0]
        return np.asarray(jax.nn.sigmoid(eta) if self.output == "logistic" else eta)


def _softmax_to_baseline(V: np.ndarray, b: np.ndarray, S: np.ndarray | None):
    """K softmax outputs -> K - 1 outputs against the first class (exact)."""
    return (
        V[:, 1:] - V[:, :1],
        b[1:] - b[0],
        None if S is None else S[:, 1:] - S[:, :1],
    )


def _family_for(output: str, n_out: int) -> Family | None:
    if output == "softmax":
        return get_family("multinomial")
    if n_out != 1:
        return None
    return get_family("gaussian" if output == "identity" else "bernoulli")


def _build(
    Ws: list[np.ndarray],
    bs: list[np.ndarray],
    skip: np.ndarray | None,
    activation: str,
    output: str,
    classes: tuple,
    source: str,
) -> Imported:
    if output == "softmax":
        Ws[-1], bs[-1], skip = _softmax_to_baseline(Ws[-1], bs[-1], skip)
    n_out = Ws[-1].shape[1]
    hidden = tuple(W.shape[1] for W in Ws[:-1])
    out_names = tuple(f"y[{c}]" for c in classes[1:]) if output == "softmax" and classes else None
    arch = Architecture.build(
        Ws[0].shape[0],
        hidden,
        n_out,
        (activation,) * len(hidden),
        skip is not None,
        True,
        output_names=out_names,
    )
    params = Params(
        tuple(Layer(jnp.asarray(W), jnp.asarray(b)) for W, b in zip(Ws, bs, strict=True)),
        None if skip is None else jnp.asarray(skip),
    )
    return Imported(params, arch, _family_for(output, n_out), output, classes, source)


def from_sklearn(model) -> Imported:
    """Import a fitted scikit-learn ``MLPClassifier`` or ``MLPRegressor``.

    scikit-learn stores ``coefs_[i]`` with shape ``(fan_in, fan_out)`` and
    ``intercepts_[i]``, as nnmle does; the hidden activation (``identity``,
    ``logistic``, ``tanh``, ``relu``) keeps its name. A multiclass classifier's
    ``K`` softmax outputs become ``K - 1`` multinomial outputs (see the
    module docstring).

    Parameters
    ----------
    model : MLPClassifier or MLPRegressor
        Fitted (with ``coefs_``).

    Returns
    -------
    Imported
        ``predict(X)`` equals ``model.predict(X)`` (regressor),
        ``model.predict_proba(X)[:, 1]`` (binary) or ``model.predict_proba(X)``
        (multiclass), up to float64 rounding.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neural_network import MLPRegressor
    >>> X = np.random.default_rng(0).normal(size=(50, 3)); y = X[:, 0]
    >>> m = MLPRegressor(hidden_layer_sizes=(4,), max_iter=50, random_state=0).fit(X, y)
    >>> imp = from_sklearn(m)
    >>> imp.arch.describe(), bool(np.allclose(imp.predict(X), m.predict(X)))
    ('3-4-1 relu', True)
    """
    coefs = getattr(model, "coefs_", None)
    if coefs is None or not hasattr(model, "out_activation_"):
        raise ValueError(
            f"from_sklearn expects a fitted MLPClassifier or MLPRegressor; got "
            f"{type(model).__name__} without coefs_/out_activation_. Fix: call model.fit(X, y) "
            f"first, or pass a scikit-learn MLP."
        )
    Ws = [np.array(W, dtype=np.float64) for W in coefs]
    bs = [np.array(b, dtype=np.float64) for b in model.intercepts_]
    classes = tuple(np.asarray(model.classes_).tolist()) if hasattr(model, "classes_") else ()
    output = model.out_activation_
    if output not in ("identity", "logistic", "softmax"):
        raise ValueError(f"Unsupported output activation {output!r} of {type(model).__name__}.")
    return _build(Ws, bs, None, model.activation, output, classes, type(model).__name__)


def from_nnet(
    wts,
    sizes: Sequence[int],
    *,
    skip: bool = False,
    linout: bool = False,
    softmax: bool = False,
    classes: Sequence | None = None,
) -> Imported:
    """Import an R ``nnet`` network from its weight vector ``wts``.

    nnet's documented order (``summary(model)`` prints it): for each hidden
    unit its bias then its inputs (``b->h1 i1->h1 i2->h1 ...``); then for
    each output its bias, the hidden units, and, with ``skip = TRUE``, the
    inputs (``b->o h1->o h2->o i1->o ...``). Hidden units are logistic.

    Parameters
    ----------
    wts : array-like
        ``model$wts``.
    sizes : (int, int, int)
        ``model$n``: inputs, hidden units (0 allowed with ``skip``), outputs.
    skip, linout, softmax : bool
        The options the model was fitted with (``summary(model)`` lists them
        after "options were"; in the model object ``model$softmax``, and
        ``linout`` is ``model$nsunits < model$nunits``). Neither ``linout``
        nor ``softmax``: logistic outputs.
    classes : sequence, optional
        Class labels for a softmax model (``model$lev``).

    Returns
    -------
    Imported
        ``predict(X)`` equals nnet's ``predict(model, X)`` (``fitted(model)``
        on the training inputs) to rounding, except that nnet's C code
        rounds a hidden unit's ``sigmoid(z)`` to 0 or 1 when ``|z| > 15`` (an
        error of at most ``exp(-15) = 3.1e-7`` times the unit's outgoing
        weight) and nnmle computes the logistic exactly.

    Examples
    --------
    >>> import numpy as np
    >>> imp = from_nnet([0.0, 1.0, -1.0, 2.0], (1, 1, 1), linout=True)  # -1 + 2 sigmoid(x)
    >>> imp.arch.describe(), imp.predict(np.array([[0.0], [1e3]])).tolist()
    ('1-1-1 logistic', [0.0, 1.0])
    """
    if len(sizes) != 3:
        raise ValueError(
            f"sizes must be nnet's model$n: (inputs, hidden, outputs); got {tuple(sizes)!r}."
        )
    p, H, q = (int(v) for v in sizes)
    if linout and softmax:
        raise ValueError("linout and softmax are exclusive in nnet; pass at most one.")
    if H == 0 and not skip:
        raise ValueError("A nnet with size 0 needs skip=TRUE. Fix: pass skip=True.")
    w = np.asarray(wts, dtype=np.float64).ravel()
    expected = H * (p + 1) + q * (1 + H + (p if skip else 0))
    if w.size != expected:
        raise ValueError(
            f"wts has {w.size} entries; a {p}-{H}-{q} nnet"
            f"{' with skip' if skip else ''} has {expected}. Fix: check sizes (model$n) and skip."
        )
    W1, b1 = np.zeros((p, H)), np.zeros(H)
    pos = 0
    for j in range(H):
        b1[j], W1[:, j] = w[pos], w[pos + 1 : pos + 1 + p]
        pos += p + 1
    V, b2, S = np.zeros((H, q)), np.zeros(q), np.zeros((p, q))
    for k in range(q):
        b2[k], V[:, k] = w[pos], w[pos + 1 : pos + 1 + H]
        pos += 1 + H
        if skip:
            S[:, k] = w[pos : pos + p]
            pos += p
    output = "identity" if linout else "softmax" if softmax else "logistic"
    labels = tuple(classes) if classes is not None else ()
    if H == 0:
        return _build([S], [b2], None, "logistic", output, labels, "nnet")
    return _build([W1, V], [b1, b2], S if skip else None, "logistic", output, labels, "nnet")
