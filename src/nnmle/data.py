"""Input validation and formulas: from user data to checked float64 arrays.

Everything that reaches the numerical core has passed through here, so bad
input fails at the public boundary with a message that names what was
expected, what was received and the fix, never deep inside JAX.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .families import Family

__all__ = ["Data", "Design", "Prepared", "check_X", "check_weights", "formula_X", "prepare"]


class Data(NamedTuple):
    """Validated arrays: inputs ``X (n, p)``, targets ``Y (n, q)``, case weights ``w (n,)``.

    JAX arrays in a :class:`~nnmle.problem.Problem`; NumPy arrays where a user reads them.
    """

    X: Any
    Y: Any
    w: Any


@dataclass(frozen=True)
class Design:
    """How raw data became the design: input names, class labels, the formula and its spec.

    A fitted model keeps it to treat new data the same way (``predict`` on a data
    frame re-evaluates the formula's right-hand side with ``model_spec``).
    """

    input_names: tuple[str, ...]
    classes: tuple = ()
    formula: str | None = None
    model_spec: Any = field(default=None, repr=False, compare=False)

    def matrix(self, X, n_inputs: int) -> np.ndarray:
        """The design matrix of new inputs ``X`` (array, or a data frame for a formula)."""
        if self.model_spec is not None and hasattr(X, "columns"):
            return formula_X(self.model_spec, X)
        if self.formula is not None and hasattr(X, "columns"):  # loaded from a model file
            missing = [c for c in self.input_names if c not in X.columns]
            if missing:
                raise ValueError(
                    f"This model was loaded from a file; its formula {self.formula!r} is not "
                    f"re-evaluated, so X needs its design columns {list(self.input_names)}; "
                    f"missing: {missing}. Fix: pass the design matrix (same column order)."
                )
            X = X[list(self.input_names)]
        return check_X(X, n_inputs)


@dataclass
class Prepared:
    """Checked arrays and what is needed to treat new data the same way."""

    X: np.ndarray
    Y: np.ndarray
    w: np.ndarray
    input_names: tuple[str, ...]
    classes: tuple = ()
    formula: str | None = None
    model_spec: Any = field(default=None, repr=False)

    @property
    def design(self) -> Design:
        """The :class:`Design` part (everything but the arrays)."""
        return Design(self.input_names, self.classes, self.formula, self.model_spec)


def _column_names(X) -> tuple[str, ...] | None:
    cols = getattr(X, "columns", None)
    return tuple(str(c) for c in cols) if cols is not None else None


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
    """Case weights: ``None`` means all ones; else finite, non-negative, length ``n``."""
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"weights must have shape ({n},) (one per row); got shape {w.shape}.")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and >= 0. Fix: check the weight column.")
    if w.sum() <= 0:
        raise ValueError("weights sum to zero: no observation would count. Fix: check them.")
    return w


def prepare(X, y, family: Family, weights=None, data=None) -> Prepared:
    """Validate ``(X, y)`` or a formula with ``data`` for ``family``.

    Parameters
    ----------
    X : array-like, DataFrame or str
        The design, or a Wilkinson formula such as ``"y ~ x1 + C(g)"``.
    y : array-like or None
        Targets; ``None`` when ``X`` is a formula.
    family : Family
    weights : array-like or None
        Case weights (frequency weights; for the binomial family the number of trials).
    data : DataFrame or None
        The data frame a formula refers to.
    """
    formula, spec = None, None
    if isinstance(X, str):
        if data is None:
            raise ValueError(
                f"The formula {X!r} needs a data frame. Fix: nnmle.fit({X!r}, data=df, ...)."
            )
        if y is not None:
            raise ValueError("Pass either a formula with data=, or X and y, not both.")
        formula = X
        X, y, spec = _formula_matrices(formula, data)
    elif y is None:
        raise ValueError("y is missing. Fix: nnmle.fit(X, y, ...) or a formula with data=df.")
    names = _column_names(X)
    Xa = check_X(X)
    Y, classes = family.encode(y, weights)
    if Y.shape[0] != Xa.shape[0]:
        raise ValueError(
            f"X has {Xa.shape[0]} rows but y has {Y.shape[0]}: expected one target per row. "
            f"Fix: pass X and y of the same length."
        )
    w = check_weights(weights, Xa.shape[0])
    if names is None:
        names = tuple(f"x{i + 1}" for i in range(Xa.shape[1]))
    return Prepared(Xa, Y, w, names, classes, formula, spec)


def _formula_matrices(formula: str, data):
    try:
        from formulaic import model_matrix

        mm = model_matrix(formula, data, na_action="raise")
    except Exception as exc:  # formulaic raises many types; re-raise one clear error
        raise ValueError(
            f"Could not evaluate the formula {formula!r}: {exc}. "
            f"Fix: check the column names ({list(getattr(data, 'columns', []))[:10]}...)."
        ) from None
    if not hasattr(mm, "lhs"):
        raise ValueError(
            f"The formula {formula!r} has no response: expected 'y ~ predictors'. "
            f"Fix: e.g. 'y ~ x1 + x2' or 'y ~ .'."
        )
    spec = mm.rhs.model_spec
    rhs = mm.rhs.drop(columns="Intercept") if "Intercept" in mm.rhs.columns else mm.rhs
    lhs = mm.lhs
    if lhs.shape[1] != 1:
        # a categorical response is expanded into indicator columns; take the labels instead
        resp = formula.split("~")[0].strip()
        if resp in data.columns:
            return rhs, np.asarray(data.loc[lhs.index, resp]), spec
        raise ValueError(f"The response of {formula!r} must be one column; got {lhs.shape[1]}.")
    return rhs, np.asarray(lhs.iloc[:, 0]), spec


def formula_X(spec, data) -> np.ndarray:
    """Design matrix for new data from a fitted formula's model spec (no intercept)."""
    mm = spec.get_model_matrix(data)
    if "Intercept" in mm.columns:
        mm = mm.drop(columns="Intercept")
    return check_X(mm)
