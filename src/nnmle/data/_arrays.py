"""Checked arrays: inputs, case weights, offsets, and the rows with missing values."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "NA_ACTIONS",
    "Data",
    "check_X",
    "check_na_action",
    "check_offset",
    "check_weights",
    "missing_rows",
]

#: What to do with rows holding missing values (NaN, None, NA).
NA_ACTIONS = ("drop", "raise")


class Data(NamedTuple):
    """Validated arrays: inputs ``X (n, p)``, targets ``Y (n, q)``, case weights ``w (n,)`` and
    the offset ``(n, n_outputs)`` added to the linear predictor (``None``: no offset).

    JAX arrays in a :class:`~nnmle.problem.Problem`; NumPy arrays where a user reads them.
    """

    X: Any
    Y: Any
    w: Any
    offset: Any = None


def check_na_action(na_action) -> str:
    """``na_action`` itself, or a ``ValueError`` that names the choices."""
    if na_action not in NA_ACTIONS:
        raise ValueError(
            f"na_action must be 'drop' (rows with missing values are left out, as R's "
            f"na.omit) or 'raise'; got {na_action!r}. Fix: na_action='drop'."
        )
    return na_action


def missing_rows(value) -> np.ndarray | None:
    """Boolean ``(n,)``: rows of ``value`` (array, Series, DataFrame) with a NaN/None/NA.

    ``None`` when ``value`` is ``None`` or not row-shaped.
    """
    if value is None or isinstance(value, str):
        return None
    if hasattr(value, "isna"):  # pandas
        na = np.asarray(value.isna(), dtype=bool)
        return np.asarray(na.any(axis=1) if na.ndim == 2 else na, dtype=bool)
    arr = np.asarray(value)
    if arr.ndim == 0:
        return None
    if arr.dtype.kind == "f":
        na = np.isnan(arr)
    elif arr.dtype.kind == "O":
        import pandas as pd

        na = np.asarray(pd.isna(arr))
    else:
        return np.zeros(arr.shape[0], dtype=bool)
    return np.asarray(na.any(axis=tuple(range(1, na.ndim))) if na.ndim > 1 else na, dtype=bool)


def check_X(X, n_inputs: int | None = None, what: str = "X") -> np.ndarray:
    """Return ``X`` as a finite float64 matrix, or raise a ``ValueError`` that explains.

    Examples
    --------
    >>> check_X([[1, 2], [3, 4]]).shape
    (2, 2)
    """
    if isinstance(X, str):
        raise ValueError(
            f"{what} is a string ({X!r}) but no data frame was given. "
            f"Fix: nnmle.fit('y ~ x1 + x2', data=df)."
        )
    if hasattr(X, "dtypes") and hasattr(X, "columns"):
        bad = [str(c) for c, t in zip(X.columns, X.dtypes, strict=True) if t.kind not in "biuf"]
        if bad:
            raise ValueError(
                f"{what} has non-numeric column(s) {bad}; expected numbers. "
                f"Fix: use a formula such as 'y ~ x1 + C(g)' (data=df) to encode categories, "
                f"or convert the columns yourself."
            )
    arr = np.asarray(X)
    if arr.dtype.kind == "b":
        arr = arr.astype(float)
    if arr.dtype.kind not in "iuf":
        raise ValueError(
            f"{what} must be numeric; got dtype {arr.dtype}. Fix: encode categorical columns "
            f"with a formula ('y ~ x1 + C(g)', data=df) or convert them to numbers."
        )
    if arr.ndim == 1:
        raise ValueError(
            f"{what} must be 2-D (n_samples, n_features); got a 1-D array of shape {arr.shape}. "
            f"Fix: X.reshape(-1, 1) for a single feature, X.reshape(1, -1) for a single sample."
        )
    if arr.ndim != 2:
        raise ValueError(f"{what} must be 2-D (n_samples, n_features); got shape {arr.shape}.")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"{what} is empty (shape {arr.shape}): expected at least one row and one column."
        )
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        rows = np.unique(np.nonzero(~np.isfinite(arr))[0])
        raise ValueError(
            f"{what} contains NaN or infinite values in {rows.size} row(s) (first: {rows[:5]}). "
            f"Fix: drop or impute those rows before fitting."
        )
    if n_inputs is not None and arr.shape[1] != n_inputs:
        raise ValueError(
            f"{what} has {arr.shape[1]} columns but the model was fitted with {n_inputs}. "
            f"Fix: pass the same columns, in the same order, as in the fit."
        )
    return arr


def check_weights(weights, n: int) -> np.ndarray:
    """Case weights: ``None`` means all ones; else finite, non-negative, length ``n``.

    Examples
    --------
    >>> check_weights(None, 3).tolist()
    [1.0, 1.0, 1.0]
    """
    if weights is None:
        return np.ones(n)
    try:
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"weights must be numbers (one per row); got {np.asarray(weights).dtype} values. "
            f"Fix: pass numeric case weights."
        ) from None
    if w.shape != (n,):
        raise ValueError(
            f"weights must have shape ({n},) (one per row); got shape {w.shape}. "
            f"Fix: pass one case weight per row."
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(
            f"weights must be finite and >= 0; got {int(np.sum(~np.isfinite(w)))} non-finite "
            f"and {int(np.sum(w < 0))} negative value(s). Fix: check the weight column."
        )
    if w.sum() <= 0:
        raise ValueError("weights sum to zero: no observation would count. Fix: check them.")
    return w


def check_offset(offset, exposure, n: int, family) -> np.ndarray | None:
    """The offset ``(n,)`` from ``offset=`` and ``exposure=`` (``log(exposure)``), or ``None``.

    Raises a ``ValueError`` for a family without offsets, a wrong length, a
    non-finite offset or a non-positive exposure.

    Examples
    --------
    >>> from nnmle.families import get_family
    >>> check_offset(None, [1.0, 10.0], 2, get_family("poisson")).round(4).tolist()
    [0.0, 2.3026]
    """
    if offset is None and exposure is None:
        return None
    name = family.name
    if exposure is not None and not family.exposure:
        raise ValueError(
            f"exposure= is for log-link families (poisson, negative_binomial, gamma); the "
            f"{name} family has link {family.link!r}. Fix: drop exposure=, or pass "
            f"offset=log(exposure) for a log link family."
        )
    if offset is not None and not family.offsets:
        raise ValueError(
            f"An offset is supported for the gaussian, poisson, negative_binomial and gamma "
            f"families; got family={name!r}. Fix: drop the offset, or add the column as an "
            f"input."
        )
    out = np.zeros(n)
    for label, value in (("offset", offset), ("exposure", exposure)):
        if value is None:
            continue
        try:
            v = np.asarray(value, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(
                f"{label} must be numbers (one per row); got {np.asarray(value).dtype} values. "
                f"Fix: pass a numeric column."
            ) from None
        if v.shape != (n,):
            raise ValueError(
                f"{label} must have one value per row ({n}); got shape {v.shape}. "
                f"Fix: pass a column of the data (same rows as X)."
            )
        if label == "exposure":
            if not np.all(np.isfinite(v)) or np.any(v <= 0):
                raise ValueError(
                    f"exposure must be finite and > 0 (the offset is log(exposure)); got "
                    f"{int(np.sum(~(v > 0)))} value(s) <= 0 or NaN (minimum {np.nanmin(v):g}). "
                    f"Fix: check the exposure column, or pass offset= on the log scale."
                )
            v = np.log(v)
        elif not np.all(np.isfinite(v)):
            raise ValueError(
                f"offset must be finite; got {int(np.sum(~np.isfinite(v)))} NaN or infinite "
                f"value(s). Fix: drop those rows (na_action='drop') or check the column."
            )
        out = out + v
    return out
