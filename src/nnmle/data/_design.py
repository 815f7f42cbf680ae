"""From user data to checked arrays (:func:`prepare`), and back for new data (:class:`Design`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._arrays import check_na_action, check_offset, check_weights, check_X, missing_rows
from ._formula import drop_missing, evaluate_formula, offset_values, warn_dropped

__all__ = ["Design", "Prepared", "formula_X", "prepare"]


@dataclass(frozen=True)
class Design:
    """How raw data became the design: everything a fitted model needs to treat new data alike.

    A formula model keeps formulaic's ``model_spec`` (terms, levels, contrasts,
    stateful transforms) and re-evaluates the right-hand side on a new data
    frame; its ``offset(...)`` terms and offset/exposure columns are evaluated
    on it too. Before that, :meth:`matrix` checks the frame: a missing column,
    a column of another kind than at fit time, an unseen level or a missing
    value raises a ``ValueError`` naming the column (and the levels seen at fit
    time).

    Attributes
    ----------
    input_names : tuple of str
        The design columns (the network's inputs).
    classes : tuple
        Class labels of a categorical response (for bernoulli: the two levels,
        the second one modelled as "1").
    formula : str or None
    model_spec : formulaic.ModelSpec or None
        The right-hand side's spec.
    output_names : tuple of str
        Names of several gaussian outputs.
    offset_terms : tuple of str
        Expressions of the formula's ``offset(...)`` terms.
    offset_column, exposure_column : str or None
        The data columns named by ``offset=`` / ``exposure=``.
    has_offset : bool
        The fit had an offset (new data need one too).
    variables : dict
        Data column -> ``"numeric"`` or ``"categorical"`` (at fit time).
    levels : dict
        Categorical data column -> the levels seen at fit time.
    scaling : dict
        Data column -> ``(center, scale)`` applied to raw data before the
        formula (the command line's ``--standardize``).
    n_dropped : int
        Rows left out of the fit for missing values.
    """

    input_names: tuple[str, ...]
    classes: tuple = ()
    formula: str | None = None
    model_spec: Any = field(default=None, repr=False, compare=False)
    output_names: tuple = ()
    offset_terms: tuple = ()
    offset_column: str | None = None
    exposure_column: str | None = None
    has_offset: bool = False
    variables: dict = field(default_factory=dict, compare=False)
    levels: dict = field(default_factory=dict, compare=False)
    scaling: dict = field(default_factory=dict, compare=False)
    n_dropped: int = 0

    # -- new data ------------------------------------------------------------------------
    def frame(self, X):
        """A data frame of new data checked against the fit's variables and scaled as then."""
        self._check_frame(X)
        if not self.scaling:
            return X
        X = X.copy()
        for col, (center, scale) in self.scaling.items():
            if col in X.columns:
                X[col] = (X[col] - center) / scale
        return X

    def _check_frame(self, X) -> None:
        cols = [str(c) for c in X.columns]
        needed = list(self.variables) or [c for c in self.input_names if self.formula is None]
        missing = [c for c in needed if c not in cols]
        if missing:
            where = f"the formula {self.formula!r}" if self.formula else "the fit"
            raise ValueError(
                f"The new data lack column(s) {missing} used by {where}; they have "
                f"{cols[:12]}{'...' if len(cols) > 12 else ''}. Fix: add the column(s), with the "
                f"names used in the fit."
            )
        for col, kind in self.variables.items():
            values = X[col]
            na = missing_rows(values)
            if na is not None and na.any():
                raise ValueError(
                    f"Column {col!r} has {int(na.sum())} missing value(s) (NA) in the rows to "
                    f"predict (first rows: {np.flatnonzero(na)[:5].tolist()}); expected complete "
                    f"rows. Fix: drop or impute them, e.g. df.dropna(subset=[{col!r}])."
                )
            if kind == "numeric" and values.dtype.kind not in "biuf":
                raise ValueError(
                    f"Column {col!r} has dtype {values.dtype} (e.g. {values.iloc[0]!r}) but was "
                    f"numeric at fit time. Fix: convert it, e.g. "
                    f"df[{col!r}] = pd.to_numeric(df[{col!r}])."
                )
            seen = self.levels.get(col)
            if seen is not None:
                unseen = sorted({_plain(v) for v in values.unique()} - set(seen), key=str)
                if unseen:
                    raise ValueError(
                        f"Column {col!r} has level(s) {unseen} not seen at fit time; the levels "
                        f"seen were {list(seen)}. Fix: map them to one of these levels (or drop "
                        f"those rows), or refit on data that contain them."
                    )

    def matrix(self, X, n_inputs: int) -> np.ndarray:
        """The design matrix of new inputs ``X`` (array, or a data frame: formula, names)."""
        frame = hasattr(X, "columns")
        if frame and self.model_spec is not None:
            return formula_X(self.model_spec, self.frame(X))
        if frame and self.formula is not None:  # loaded from a version-1 model file
            missing = [c for c in self.input_names if c not in X.columns]
            if missing:
                raise ValueError(
                    f"This model was loaded from a version-1 file, which does not keep the "
                    f"formula's encoding: its formula {self.formula!r} is not re-evaluated, so X "
                    f"needs its design columns {list(self.input_names)}; missing: {missing}. "
                    f"Fix: pass the design matrix (same column order), or refit and save again."
                )
            return check_X(X[list(self.input_names)], n_inputs)
        if frame and all(c in X.columns for c in self.input_names):
            X = self.frame(X)[list(self.input_names)]
        return check_X(X, n_inputs)

    def offset(self, X, offset=None, exposure=None) -> np.ndarray | None:
        """The offset of new rows (formula terms, columns, or ``offset=``/``exposure=``)."""
        n = len(X) if hasattr(X, "columns") else np.asarray(X).shape[0]
        if not self.has_offset:
            if offset is not None or exposure is not None:
                raise ValueError(
                    "This model was fitted without an offset, so none can be added to new rows; "
                    "got offset=/exposure=. Fix: drop them, or refit with an offset."
                )
            return None
        frame = hasattr(X, "columns")
        total = np.zeros(n)
        if self.offset_terms:
            if not frame:
                raise ValueError(
                    f"This model's formula has offset term(s) {list(self.offset_terms)}, which "
                    f"need a data frame; got {type(X).__name__}. Fix: pass the raw data frame."
                )
            total += offset_values(self.offset_terms, self.frame(X))
        given = False
        for what, value, col in (
            ("offset", offset, self.offset_column),
            ("exposure", exposure, self.exposure_column),
        ):
            if value is None and col is not None and frame:
                if col not in X.columns:
                    raise ValueError(
                        f"The new data lack the {what} column {col!r} of the fit. Fix: add it, "
                        f"or pass {what}= with one value per row."
                    )
                value = X[col]
            if value is not None:
                given = True
                v = np.asarray(value, dtype=float).reshape(-1)
                if v.shape != (n,) or not np.all(np.isfinite(v)):
                    raise ValueError(
                        f"{what} must be one finite number per new row ({n}); got shape "
                        f"{v.shape}. Fix: pass the column for these rows."
                    )
                if what == "exposure":
                    if np.any(v <= 0):
                        raise ValueError(
                            f"exposure must be > 0 (the offset is its log); got minimum "
                            f"{v.min():g}. Fix: check the exposure of the new rows."
                        )
                    v = np.log(v)
                total += v
        if not given and not self.offset_terms:
            raise ValueError(
                "This model was fitted with an offset (or exposure), so new rows need one: "
                "expected offset= (or exposure=) with one value per row; got none. Fix: "
                "res.predict(X, offset=...) or res.predict(X, exposure=...)."
            )
        return total


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class Prepared:
    """Checked arrays and what is needed to treat new data the same way."""

    X: np.ndarray
    Y: np.ndarray
    w: np.ndarray
    offset: np.ndarray | None
    design: Design

    @property
    def input_names(self) -> tuple[str, ...]:
        """The design's column names."""
        return self.design.input_names

    @property
    def classes(self) -> tuple:
        """Class labels (categorical responses)."""
        return self.design.classes


def _column_names(X) -> tuple[str, ...] | None:
    cols = getattr(X, "columns", None)
    return tuple(str(c) for c in cols) if cols is not None else None


def _lookup(value, what: str, X, data):
    """``value``, or the column it names (in ``data``, else in a data frame ``X``)."""
    if not isinstance(value, str):
        return value, X
    for frame in (data, X):
        if frame is not None and hasattr(frame, "columns") and value in frame.columns:
            col = frame[value]
            if frame is X:
                X = X.drop(columns=value)  # a weight/offset column is not an input
            return col, X
    raise ValueError(
        f"{what}={value!r} names a column, but no data frame with that column was given. "
        f"Fix: pass data=df holding {value!r}, or an array with one value per row."
    )


def prepare(
    X, y, family, weights=None, data=None, offset=None, exposure=None, na_action="drop"
) -> Prepared:
    """Validate ``(X, y)`` or a formula with ``data`` for ``family``.

    Parameters
    ----------
    X : array-like, DataFrame or str
        The design, or a Wilkinson formula such as ``"y ~ x1 + C(g) + offset(log(t))"``.
    y : array-like or None
        Targets (``(n, q)`` for several gaussian outputs); ``None`` for a formula.
    family : Family
    weights, offset, exposure : array-like, str or None
        Case weights (frequency weights; for the binomial family the number of
        trials), an offset added to the linear predictor, an exposure (offset
        ``log(exposure)``); a string names a column of ``data`` (or of ``X``).
    data : DataFrame or None
        The data frame a formula refers to.
    na_action : {"drop", "raise"}
        Rows with a missing value in any variable used are left out with a
        warning giving the count (R's ``na.omit``), or raise.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.families import get_family
    >>> prep = prepare([[1.0], [np.nan], [3.0]], [1.0, 2.0, 3.0], get_family("gaussian"))
    >>> prep.X.shape, prep.design.n_dropped
    ((2, 1), 1)
    """
    check_na_action(na_action)
    formula, spec = None, None
    out_names: tuple = ()
    offset_terms: tuple = ()
    variables: dict = {}
    levels: dict = {}
    offset_column = offset if isinstance(offset, str) else None
    exposure_column = exposure if isinstance(exposure, str) else None
    term_offset = None
    if isinstance(X, str):
        if data is None:
            raise ValueError(
                f"The formula {X!r} needs a data frame. Fix: nnmle.fit({X!r}, data=df, ...)."
            )
        if y is not None:
            raise ValueError(
                "Pass either a formula with data=, or X and y, not both. "
                "Fix: nnmle.fit('y ~ x', data=df) or nnmle.fit(X, y)."
            )
        formula = X
        ff = evaluate_formula(formula, data, family, weights, offset, exposure, na_action)
        X, y, weights, offset, exposure = ff.X, ff.y, ff.weights, ff.offset, ff.exposure
        spec, out_names, offset_terms = ff.spec, ff.output_names, ff.offset_terms
        variables, levels, n_dropped = ff.variables, ff.levels, ff.n_dropped
        term_offset = ff.term_offset
    else:
        if y is None:
            raise ValueError("y is missing. Fix: nnmle.fit(X, y, ...) or a formula with data=df.")
        weights, X = _lookup(weights, "weights", X, data)
        offset, X = _lookup(offset, "offset", X, data)
        exposure, X = _lookup(exposure, "exposure", X, data)
        X, y, weights, offset, exposure, n_dropped = _drop_array_na(
            X, y, weights, offset, exposure, na_action
        )
        if hasattr(y, "columns"):
            out_names = tuple(str(c) for c in y.columns)
    names = _column_names(X)
    Xa = check_X(X)
    Y, classes = family.encode(y, weights)
    if Y.shape[0] != Xa.shape[0]:
        raise ValueError(
            f"X has {Xa.shape[0]} rows but y has {Y.shape[0]}: expected one target per row. "
            f"Fix: pass X and y of the same length."
        )
    n = Xa.shape[0]
    w = check_weights(weights, n)
    off = check_offset(offset, exposure, n, family)
    if term_offset is not None:
        if not family.offsets:
            check_offset(term_offset, None, n, family)  # the family's message
        off = term_offset if off is None else off + term_offset
    if names is None:
        names = tuple(f"x{i + 1}" for i in range(Xa.shape[1]))
    if Y.shape[1] > 1 and family.multi_output and not out_names:
        out_names = tuple(f"y{k + 1}" for k in range(Y.shape[1]))
    design = Design(
        names, classes, formula, spec, out_names, offset_terms, has_offset=off is not None,
        variables=variables, levels=levels, n_dropped=n_dropped, offset_column=offset_column,
        exposure_column=exposure_column,
    )  # fmt: skip
    return Prepared(Xa, Y, w, off, design)


def _drop_array_na(X, y, weights, offset, exposure, na_action):
    parts = {"X": X, "y": y, "weights": weights, "offset": offset, "exposure": exposure}
    keep, counts = drop_missing(parts, na_action)
    if keep is None or keep.all():
        return X, y, weights, offset, exposure, 0
    n_dropped = int((~keep).sum())
    warn_dropped(n_dropped, keep.size, counts)

    def rows(value):
        if value is None:
            return None
        if hasattr(value, "iloc"):
            return value.iloc[np.flatnonzero(keep)]
        return np.asarray(value)[keep]

    return rows(X), rows(y), rows(weights), rows(offset), rows(exposure), n_dropped


def formula_X(spec, data) -> np.ndarray:
    """Design matrix for new data from a fitted formula's model spec (no intercept)."""
    mm = spec.get_model_matrix(data)
    if "Intercept" in mm.columns:
        mm = mm.drop(columns="Intercept")
    return check_X(mm)
