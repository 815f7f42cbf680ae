"""Formulas on data frames: offsets, the variables a formula reads, missing values, response.

``y ~ x1 + C(g) + offset(log(t))`` is evaluated by formulaic without its
``offset(...)`` terms, which are evaluated apart and added to the linear
predictor. Rows with a missing value in any variable the fit reads (response,
predictors, offsets, weights) are dropped first (``na_action="drop"``, R's
``na.omit``) or make the call fail (``"raise"``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._spec import factor_variables

__all__ = ["FormulaFrame", "evaluate_formula", "offset_values", "split_offsets"]

_OFFSET = re.compile(r"^\s*offset\((.*)\)\s*$", re.DOTALL)


def _top_level_terms(rhs: str) -> list[tuple[str, str]]:
    """``[(sign, text)]``: ``rhs`` cut at the ``+``/``-`` outside parentheses and quotes."""
    out, depth, quote, start, sign = [], 0, "", 0, "+"
    for i, ch in enumerate(rhs):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "`'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch in "+-" and depth == 0:
            out.append((sign, rhs[start:i]))
            sign, start = ch, i + 1
    out.append((sign, rhs[start:]))
    return out


def split_offsets(formula: str) -> tuple[str, tuple[str, ...]]:
    """The formula without its ``offset(...)`` terms, and their expressions.

    Examples
    --------
    >>> split_offsets("y ~ x + offset(np.log(t)) + C(g)")
    ('y ~ x + C(g)', ('np.log(t)',))
    >>> split_offsets("y ~ offset(log(t))")
    ('y ~ 1', ('log(t)',))
    """
    if "~" not in formula:
        return formula, ()
    lhs, rhs = formula.split("~", 1)
    kept, offsets = [], []
    for sign, text in _top_level_terms(rhs):
        m = _OFFSET.match(text)
        if m and sign == "+":
            offsets.append(m.group(1).strip())
        elif text.strip() or sign == "-":
            kept.append((sign, text.strip()))
    if not offsets:
        return formula, ()
    pieces = []
    for i, (sign, text) in enumerate(kept):
        pieces.append(text if i == 0 and sign == "+" else f"{sign} {text}")
    body = " ".join(pieces) or "1"
    return f"{lhs.strip()} ~ {body}", tuple(offsets)


def offset_values(exprs, data) -> np.ndarray:
    """The sum of the offset expressions evaluated on ``data`` (formulaic's ``I(...)``)."""
    from formulaic import model_matrix

    total = np.zeros(len(data))
    for expr in exprs:
        try:
            mm = model_matrix(f"0 + I({expr})", data, na_action="ignore")
        except Exception as exc:
            raise ValueError(
                f"Could not evaluate the offset {expr!r}: {exc}. Fix: check the column names "
                f"({list(data.columns)[:10]})."
            ) from None
        v = np.asarray(mm, dtype=float)
        if v.shape != (len(data), 1) or not np.all(np.isfinite(v)):
            raise ValueError(
                f"The offset {expr!r} must give one finite number per row; got "
                f"{int(np.sum(~np.isfinite(v)))} non-finite value(s) in {v.shape[0]} rows. "
                f"Fix: check the column (a log of zero is -inf)."
            )
        total += v[:, 0]
    return total


@dataclass
class FormulaFrame:
    """What a formula gives on a data frame (rows with missing values already left out)."""

    X: Any
    y: Any
    weights: Any
    offset: Any
    exposure: Any
    spec: Any
    output_names: tuple
    offset_terms: tuple
    variables: dict = field(default_factory=dict)
    levels: dict = field(default_factory=dict)
    n_dropped: int = 0
    term_offset: Any = None


def _formula_variables(formula: str, available: list[str]) -> tuple[set, set]:
    """Data columns read by the left- and the right-hand side (``.`` expanded to ``available``)."""
    from formulaic import Formula

    parsed = Formula(formula, _context={"__formulaic_variables_available__": available})
    sides = []
    for part in (parsed.lhs, parsed.rhs):
        names: set[str] = set()
        for term in part:
            for factor in term.factors:
                method = str(getattr(factor.eval_method, "value", factor.eval_method))
                if method == "lookup":
                    names.add(str(factor.expr))
                elif method == "python":
                    names |= factor_variables(str(factor.expr))
        sides.append(names)
    return sides[0], sides[1]


def _column(data, name: str, what: str):
    if name not in data.columns:
        raise ValueError(
            f"{what}={name!r} names no column of the data; it has {list(data.columns)[:12]}. "
            f"Fix: pass an existing column name, or an array with one value per row."
        )
    return data[name]


def drop_missing(parts: dict, na_action: str, where: str = "") -> tuple[np.ndarray | None, dict]:
    """Rows to keep (no NA in any part) and, per part with NAs, how many rows had one."""
    from ._arrays import missing_rows

    n = None
    bad = None
    counts = {}
    for name, value in parts.items():
        na = missing_rows(value)
        if na is None:
            continue
        if n is not None and na.shape[0] != n:  # lengths differ: the checks after say so
            return None, {}
        n = na.shape[0]
        if na.any():
            counts[name] = int(na.sum())
        bad = na if bad is None else (bad | na)
    if bad is None or not bad.any():
        return (np.ones(n or 0, dtype=bool) if n is not None else None), {}
    if na_action == "raise":
        raise ValueError(
            f"Missing values (NA){where}: {counts} row(s) per variable; expected complete rows "
            f"(na_action='raise'). Fix: na_action='drop' leaves those rows out (as R's "
            f"na.omit), or impute them."
        )
    return ~bad, counts


def warn_dropped(n_dropped: int, n: int, counts: dict) -> None:
    """The note on rows left out for missing values (R's ``na.omit``)."""
    warnings.warn(
        f"nnmle: {n_dropped} of {n} rows with missing values (NA) were dropped "
        f"(na_action='drop'; per variable: {counts}); the fit uses {n - n_dropped} rows. "
        f"Fix: na_action='raise' to stop instead, or impute the values.",
        UserWarning,
        stacklevel=6,
    )


def evaluate_formula(
    formula: str, data, family, weights=None, offset=None, exposure=None, na_action="drop"
) -> FormulaFrame:
    """Evaluate ``formula`` on ``data`` (see the module docstring)."""
    from formulaic import model_matrix

    if not hasattr(data, "columns"):
        raise ValueError(
            f"data must be a data frame (pandas) for the formula {formula!r}; got "
            f"{type(data).__name__}. Fix: nnmle.fit({formula!r}, data=pd.DataFrame(...))."
        )
    if "~" not in formula or not formula.split("~", 1)[0].strip():
        raise ValueError(
            f"The formula {formula!r} has no response: expected 'y ~ predictors'. "
            f"Fix: e.g. 'y ~ x1 + x2' or 'y ~ .'."
        )
    main, offset_terms = split_offsets(formula)
    named = {}
    for what, value in (("weights", weights), ("offset", offset), ("exposure", exposure)):
        if isinstance(value, str):
            named[what] = _column(data, value, what)
    columns = [str(c) for c in data.columns]
    try:
        lhs_vars, explicit = _formula_variables(main, [])
        offset_vars = set().union(*(factor_variables(e) for e in offset_terms)) & set(columns)
        aside = ({str(v.name) for v in named.values()} | offset_vars) - explicit - lhs_vars
        available = [c for c in columns if c not in aside]
        lhs_vars, rhs_vars = _formula_variables(main, available)
    except Exception as exc:  # formulaic parser errors
        raise ValueError(
            f"Could not parse the formula {formula!r}: {exc}. Fix: write it as 'y ~ x1 + C(g)'."
        ) from None
    read = (lhs_vars | rhs_vars | offset_vars) & set(columns)
    used = sorted(read | {str(v.name) for v in named.values()})
    parts = {c: data[c] for c in used}
    for what, value in (("weights", weights), ("offset", offset), ("exposure", exposure)):
        if value is not None and not isinstance(value, str):
            parts[what] = np.asarray(value)
            if parts[what].shape[:1] != (len(data),):
                raise ValueError(
                    f"{what} must have one value per row of data ({len(data)}); got shape "
                    f"{parts[what].shape}. Fix: pass a column of data, e.g. {what}='col'."
                )
    keep, counts = drop_missing(parts, na_action, " in the formula's variables")
    n_dropped = 0 if keep is None else int((~keep).sum())
    frame = data[available]
    if n_dropped:
        warn_dropped(n_dropped, len(data), counts)
        frame = frame[keep]

    def rows(value):
        if value is None:
            return None
        arr = np.asarray(value)
        return arr if keep is None else arr[keep]

    try:
        mm = model_matrix(main, frame, na_action="raise")
    except Exception as exc:  # formulaic raises many types; re-raise one clear error
        raise ValueError(
            f"Could not evaluate the formula {formula!r}: {exc}. "
            f"Fix: check the column names ({columns[:10]}...)."
        ) from None
    if not hasattr(mm, "lhs"):
        raise ValueError(
            f"The formula {formula!r} has no response: expected 'y ~ predictors'. "
            f"Fix: e.g. 'y ~ x1 + x2' or 'y ~ .'."
        )
    spec = mm.rhs.model_spec
    rhs = mm.rhs.drop(columns="Intercept") if "Intercept" in mm.rhs.columns else mm.rhs
    lhs = mm.lhs
    resp = main.split("~")[0].strip()
    out_names: tuple = ()
    numeric = all(t.kind in "biuf" for t in lhs.dtypes)
    if lhs.shape[1] > 1 and family.multi_output and numeric and resp not in frame.columns:
        y = lhs.to_numpy(dtype=float)
        out_names = tuple(str(c) for c in lhs.columns)
    elif lhs.shape[1] != 1 or (resp in frame.columns and frame[resp].dtype.kind not in "biuf"):
        # a categorical response is expanded into indicator columns; take the labels instead
        if resp not in frame.columns:
            raise ValueError(
                f"The response of {formula!r} must be one column (or several numeric columns "
                f"for the gaussian family); got {lhs.shape[1]} columns. Fix: e.g. 'y ~ x'."
            )
        y = np.asarray(frame.loc[lhs.index, resp])
    else:
        y = np.asarray(lhs.iloc[:, 0])
    kinds, levels = _variable_kinds(spec, frame, rhs_vars)
    return FormulaFrame(
        X=rhs,
        y=y,
        weights=rows(named["weights"] if "weights" in named else weights),
        offset=rows(named["offset"] if "offset" in named else offset),
        exposure=rows(named["exposure"] if "exposure" in named else exposure),
        spec=spec,
        output_names=out_names,
        offset_terms=offset_terms,
        variables=kinds,
        levels=levels,
        n_dropped=n_dropped,
        term_offset=offset_values(offset_terms, data if keep is None else data[keep])
        if offset_terms
        else None,
    )


def _variable_kinds(spec, frame, variables) -> tuple[dict, dict]:
    """Per data column the formula reads: its kind at fit time and, if categorical, its levels."""
    kinds = {
        str(v): ("numeric" if frame[v].dtype.kind in "biuf" else "categorical")
        for v in sorted(variables)
        if v in frame.columns
    }
    levels: dict[str, tuple] = {}
    for expr, (kind, state) in spec.encoder_state.items():
        if str(getattr(kind, "value", kind)) != "categorical" or "categories" not in state:
            continue
        names = factor_variables(str(expr)) & set(kinds)
        if len(names) == 1:
            (name,) = names
            kinds[name] = "categorical"
            levels[name] = tuple(_plain(c) for c in state["categories"])
    return kinds, levels


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
