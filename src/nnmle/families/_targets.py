"""Validation and encoding of targets, and the family a target suggests.

Every message names what was expected, what was received and the fix.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["encode", "infer_family"]

_COUNTS = ("poisson", "negative_binomial")


def _as_array(y) -> np.ndarray:
    if hasattr(y, "to_numpy") and not isinstance(y, np.ndarray):  # pandas (categorical too)
        y = y.to_numpy()
    return np.asarray(y)


def _labels(y: np.ndarray) -> bool:
    """Whether ``y`` holds labels (strings, booleans, objects) rather than numbers."""
    return y.dtype.kind in "OUSb"


def _one_column(y: np.ndarray, family: str) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            f"y must be one column (shape (n,)) for the {family} family; got shape {y.shape}. "
            f"Fix: pass a 1-D array of targets"
            + (", or family='gaussian' for several real-valued outputs." if y.ndim == 2 else ".")
        )
    if y.size == 0:
        raise ValueError("y is empty: expected at least one observation. Fix: pass data.")
    return y


def _finite_numbers(y: np.ndarray, family: str) -> np.ndarray:
    if y.dtype.kind == "O":  # numbers held as objects (a column that had None in it)
        try:
            y = y.astype(float)
        except (TypeError, ValueError):
            pass
    if y.dtype.kind not in "biuf":
        raise ValueError(
            f"y must be numeric for the {family} family; got dtype {y.dtype} (e.g. "
            f"{y.ravel()[:3].tolist()!r}). Fix: convert y to numbers"
            + (
                ", or use family='bernoulli' (two labels) or 'multinomial' (more) for labels."
                if family not in ("bernoulli", "multinomial")
                else "."
            )
        )
    y = y.astype(float)
    if not np.all(np.isfinite(y)):
        bad = int(np.sum(~np.isfinite(y)))
        raise ValueError(
            f"y contains {bad} NaN or infinite value(s); expected finite numbers. "
            f"Fix: drop or impute those rows (nnmle.fit(..., na_action='drop') drops NaN rows)."
        )
    return y


def _gaussian(y, weights):
    y = _as_array(y)
    if y.ndim == 2 and y.shape[1] >= 1:
        if y.shape[0] == 0:
            raise ValueError("y is empty: expected at least one observation. Fix: pass data.")
        return _finite_numbers(y, "gaussian"), ()
    if y.ndim != 1:
        raise ValueError(
            f"y must have shape (n,) or (n, q) for the gaussian family; got shape {y.shape}. "
            f"Fix: one row per observation, one column per output."
        )
    return _finite_numbers(_one_column(y, "gaussian"), "gaussian")[:, None], ()


def _bernoulli(y, weights):
    y = _one_column(_as_array(y), "bernoulli")
    if _labels(y) and y.dtype.kind != "b":
        if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in y):
            raise ValueError(
                "y contains missing labels (None/NaN); expected one of two levels per row. "
                "Fix: drop those rows (na_action='drop')."
            )
        levels = np.unique(y.astype(str) if y.dtype.kind == "O" else y)
        if levels.size != 2:
            raise ValueError(
                f"The bernoulli family needs a response with two levels; got {levels.size} "
                f"level(s): {levels[:6].tolist()!r}. Fix: use family='multinomial' for more than "
                f"two classes, or check the target column."
            )
        values = y.astype(str) if y.dtype.kind == "O" else y
        return (values == levels[1]).astype(float)[:, None], tuple(levels.tolist())
    if y.dtype.kind == "b":
        y = y.astype(float)
    y = _finite_numbers(y, "bernoulli")
    values = np.unique(y)
    if not np.all(np.isin(values, (0.0, 1.0))):
        raise ValueError(
            f"The bernoulli family needs 0/1 targets (or two labels); got values "
            f"{values[:6].tolist()}{'...' if values.size > 6 else ''}. Fix: use "
            f"family='gaussian' for real numbers, 'poisson' for counts, 'binomial' for "
            f"proportions (with the trials as weights), 'multinomial' for class codes, or "
            f"recode y as 0/1."
        )
    if values.size < 2:
        raise ValueError(
            f"y has a single class ({values[0]:g}): a bernoulli model needs both 0 and 1. "
            f"Fix: check the target column."
        )
    return y[:, None], (0, 1)


def _binomial(y, weights):
    y = _finite_numbers(_one_column(_as_array(y), "binomial"), "binomial")
    if np.any((y < 0) | (y > 1)):
        raise ValueError(
            f"The binomial family needs proportions in [0, 1]; got range [{y.min():g}, "
            f"{y.max():g}]. Fix: divide successes by trials and pass the trials as weights."
        )
    return y[:, None], ()


def _counts(family: str):
    def encode(y, weights):
        y = _finite_numbers(_one_column(_as_array(y), family), family)
        if np.any(y < 0):
            raise ValueError(
                f"The {family} family needs counts >= 0; got {int(np.sum(y < 0))} negative "
                f"value(s) (minimum {y.min():g}). Fix: check the target, or use "
                f"family='gaussian' for real numbers."
            )
        frac = y != np.round(y)
        if np.any(frac):
            warnings.warn(
                f"nnmle: y has {int(frac.sum())} non-integer value(s) (e.g. {y[frac][0]:g}) "
                f"for the {family} family: the fit is then a quasi-likelihood one (the "
                f"log-likelihood is not that of counts). Fix: round the counts, or use "
                f"family='gamma' or 'gaussian' for a continuous response.",
                UserWarning,
                stacklevel=6,
            )
        return y[:, None], ()

    return encode


def _gamma(y, weights):
    y = _finite_numbers(_one_column(_as_array(y), "gamma"), "gamma")
    if np.any(y <= 0):
        raise ValueError(
            f"The gamma family needs y > 0; got {int(np.sum(y <= 0))} value(s) <= 0 (minimum "
            f"{y.min():g}). Fix: use family='poisson' or 'negative_binomial' for counts with "
            f"zeros, 'gaussian' for any real numbers, or drop the non-positive rows."
        )
    return y[:, None], ()


def _multinomial(y, weights):
    y = _one_column(_as_array(y), "multinomial")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError(
            "y contains NaN or infinite labels; expected one label per row. "
            "Fix: drop those rows (na_action='drop')."
        )
    if y.dtype.kind == "O" and any(v is None for v in y):
        raise ValueError(
            "y contains missing labels (None); expected one label per row. "
            "Fix: drop those rows (na_action='drop')."
        )
    classes, codes = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ValueError(
            f"y has a single class ({classes[0]!r}): a multinomial model needs at least two. "
            f"Fix: check the target column."
        )
    Y = np.zeros((y.size, classes.size))
    Y[np.arange(y.size), codes] = 1.0
    return Y, tuple(classes.tolist())


_ENCODERS = {
    "gaussian": _gaussian,
    "bernoulli": _bernoulli,
    "binomial": _binomial,
    "poisson": _counts("poisson"),
    "negative_binomial": _counts("negative_binomial"),
    "gamma": _gamma,
    "multinomial": _multinomial,
}


def encode(family: str, y, weights=None) -> tuple[np.ndarray, tuple]:
    """``(Y, classes)`` for a built-in family's targets (see :meth:`Family.encode`)."""
    if family not in _ENCODERS:  # a family made by hand: numbers, one column
        return _finite_numbers(_one_column(_as_array(y), family), family)[:, None], ()
    return _ENCODERS[family](y, weights)


def infer_family(y, name: str = "y") -> str:
    """The family a target suggests, when that is unambiguous.

    0/1 values or two levels give ``"bernoulli"``; more than two labels
    ``"multinomial"``; real numbers (some not integers, or negative integers)
    ``"gaussian"``. Non-negative integers are ambiguous (counts or class codes
    or measurements): a ``ValueError`` lists the candidates.

    Parameters
    ----------
    y : array-like
        The target (missing values are ignored).
    name : str
        How to call ``y`` in messages (e.g. its column name).

    Returns
    -------
    str

    Examples
    --------
    >>> infer_family([0, 1, 1, 0]), infer_family(["benign", "malignant"]), infer_family([0.5, 2.1])
    ('bernoulli', 'bernoulli', 'gaussian')
    """
    y = _as_array(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return "gaussian"
    y = y.ravel()
    if _labels(y) and y.dtype.kind != "b":
        present = np.array([v for v in y if v is not None and v == v], dtype=object)
        levels = np.unique(present.astype(str))
        if levels.size == 2:
            return "bernoulli"
        if levels.size > 2:
            return "multinomial"
        raise ValueError(
            f"{name} has {levels.size} level(s) {levels.tolist()!r}: expected two levels "
            f"(bernoulli) or more (multinomial). Fix: check the response column."
        )
    y = y.astype(float)
    y = y[np.isfinite(y)]
    if y.size == 0:
        raise ValueError(f"{name} has no finite value. Fix: check the response column.")
    values = np.unique(y)
    if values.size == 2 and np.all(np.isin(values, (0.0, 1.0))):
        return "bernoulli"
    integers = bool(np.all(y == np.round(y)))
    if integers and np.all(y >= 0):
        raise ValueError(
            f"{name} holds non-negative integers ({values.size} distinct values, range "
            f"[{y.min():g}, {y.max():g}]): the family is ambiguous. Expected a choice among "
            f"poisson (counts), negative_binomial (overdispersed counts), multinomial (class "
            f"codes) and gaussian (measurements). Fix: name it, e.g. --family poisson "
            f"(family='poisson')."
        )
    return "gaussian"
