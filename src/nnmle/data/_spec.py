"""Formulaic's model spec as JSON (for model files, no pickle), and formulas read safely.

:func:`spec_to_json` keeps what re-evaluates a formula's right-hand side on new
data exactly as at fit time: the formula, its full-rank setting, the stateful
transforms' state (``center``, ``scale``, ``poly``, spline knots) and the
encoders' state (the levels of every categorical factor and its contrasts).
:func:`spec_from_json` rebuilds a :class:`formulaic.ModelSpec` from it through
a whitelist of types; nothing in the JSON is executed.

:func:`check_formula` refuses a formula whose factors are not plain column
names, numbers, arithmetic and calls of known transforms (``C``, ``center``,
``np.log``, ...): a model file could otherwise carry Python that formulaic
would evaluate on the next ``predict``.
"""

from __future__ import annotations

import ast
import math
from typing import Any

import numpy as np

__all__ = ["check_formula", "factor_variables", "spec_from_json", "spec_to_json"]

#: Callables a formula may use (formulaic's transforms and a few of numpy's functions).
SAFE_CALLS = frozenset(
    "C I Q center scale standardize poly bs cc cr cs lag hashed contr log log10 log2 exp "
    "exp10 exp2 Treatment Poly Sum Helmert Diff SAS Custom".split()
)
SAFE_NUMPY = frozenset(
    "log log10 log2 log1p exp expm1 sqrt square abs power sin cos tan tanh arcsinh cbrt "
    "floor ceil round sign minimum maximum clip where".split()
)
_SAFE_NODES = (
    ast.Expression, ast.Name, ast.Load, ast.Constant, ast.Call, ast.keyword, ast.Attribute,
    ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod,
    ast.FloorDiv, ast.USub, ast.UAdd, ast.List, ast.Tuple, ast.Compare, ast.Gt, ast.GtE,
    ast.Lt, ast.LtE, ast.Eq, ast.NotEq,
)  # fmt: skip


def _factor_exprs(formula: str) -> list[tuple[str, bool]]:
    """``(expression, is_python)`` of every factor of ``formula`` (parsed, never evaluated)."""
    from formulaic import Formula

    parsed = Formula(formula, _context={"__formulaic_variables_available__": []})
    parts = [parsed.lhs, parsed.rhs] if hasattr(parsed, "lhs") else [parsed]
    out = []
    for part in parts:
        for term in part:
            for factor in term.factors:
                method = str(getattr(factor.eval_method, "value", factor.eval_method))
                out.append((str(factor.expr), method == "python"))
    return out


def _check_expr(expr: str) -> None:
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise ValueError(f"the factor {expr!r} is not an expression") from None
    for node in ast.walk(tree):
        if not isinstance(node, _SAFE_NODES):
            raise ValueError(f"the factor {expr!r} uses {type(node).__name__}")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ValueError(f"the factor {expr!r} uses the private name {node.id!r}")
        if isinstance(node, ast.Attribute):
            base = node.value.id if isinstance(node.value, ast.Name) else ""
            if base not in ("np", "numpy", "contr") or node.attr.startswith("_"):
                raise ValueError(f"the factor {expr!r} uses the attribute {node.attr!r}")
            if base in ("np", "numpy") and node.attr not in SAFE_NUMPY:
                raise ValueError(f"the factor {expr!r} calls numpy.{node.attr}")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id not in SAFE_CALLS:
                raise ValueError(f"the factor {expr!r} calls {func.id!r}")
            if not isinstance(func, ast.Name | ast.Attribute):
                raise ValueError(f"the factor {expr!r} calls a computed function")


def check_formula(formula) -> str:
    """``formula`` when every factor is safe to evaluate, else a ``ValueError`` saying why.

    Examples
    --------
    >>> check_formula("y ~ center(x) + C(g) + np.log(t)")
    'y ~ center(x) + C(g) + np.log(t)'
    >>> check_formula("y ~ I(x.__class__)")
    Traceback (most recent call last):
    ...
    ValueError: unsafe formula: the factor 'I(x.__class__)' uses the attribute '__class__'
    """
    if not isinstance(formula, str):
        raise ValueError(f"a formula must be a string; got {type(formula).__name__}")
    try:
        exprs = _factor_exprs(formula)
    except ValueError as exc:
        raise ValueError(f"unsafe formula: {exc}") from None
    except Exception as exc:  # formulaic's parser errors
        raise ValueError(f"the formula {formula!r} does not parse ({exc})") from None
    for expr, is_python in exprs:
        if is_python:
            try:
                _check_expr(expr)
            except ValueError as exc:
                raise ValueError(f"unsafe formula: {exc}") from None
    return formula


def factor_variables(expr: str) -> set[str]:
    """Names an expression reads as data (not the functions it calls, not ``np``).

    Examples
    --------
    >>> sorted(factor_variables("C(g) + np.log(t) * center(x)"))
    ['g', 't', 'x']
    """
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return {expr}  # a quoted column name
    called: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called |= {id(n) for n in ast.walk(node.func)}
        if isinstance(node, ast.Attribute):
            called |= {id(n) for n in ast.walk(node.value)}
    return {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and id(n) not in called and n.id not in ("np", "numpy")
    }


# --- the spec as tagged JSON ---------------------------------------------------------------

_MAX_DEPTH = 32


def _enc(value: Any, depth: int = 0):
    from formulaic.parser.types import Factor
    from formulaic.transforms import contrasts as c
    from formulaic.utils.sentinels import UNSET

    if depth > _MAX_DEPTH:
        raise ValueError("the model spec is nested too deeply to save")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return v if math.isfinite(v) else {"__float__": repr(v)}
    if value is UNSET:
        return {"__unset__": True}
    if isinstance(value, Factor.Kind):
        return {"__kind__": value.value}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            return {"__tuple__": [_enc(v, depth + 1) for v in value.tolist()]}
        return {"__ndarray__": _enc(value.ravel().tolist(), depth + 1), "shape": list(value.shape)}
    if isinstance(value, tuple):
        return {"__tuple__": [_enc(v, depth + 1) for v in value]}
    if isinstance(value, list):
        return [_enc(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[_enc(k, depth + 1), _enc(v, depth + 1)] for k, v in value.items()]}
    if isinstance(value, c.ContrastsState):
        return {"__contrasts_state__": _enc({"contrasts": value.contrasts, "levels": value.levels})}
    name = type(value).__name__
    if name in _CONTRASTS and isinstance(value, getattr(c, name)):
        import dataclasses

        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"__contrasts__": name, "fields": _enc(fields, depth + 1)}
    raise ValueError(f"cannot save a {type(value).__name__} of the formula's state")


_CONTRASTS = (
    "TreatmentContrasts", "SumContrasts", "HelmertContrasts", "DiffContrasts",
    "PolyContrasts", "CustomContrasts", "SASContrasts",
)  # fmt: skip


def _dec(value: Any, depth: int = 0):
    from formulaic.parser.types import Factor
    from formulaic.transforms import contrasts as c
    from formulaic.utils.sentinels import UNSET

    if depth > _MAX_DEPTH:
        raise ValueError("nested too deeply")
    if value is None or isinstance(value, bool | str | int | float):
        return value
    if isinstance(value, list):
        return [_dec(v, depth + 1) for v in value]
    if not isinstance(value, dict) or len(value) not in (1, 2):
        raise ValueError(f"unexpected value {str(value)[:40]!r}")
    key = next(iter(value))
    body = value[key]
    if key == "__float__" and body in ("nan", "inf", "-inf"):
        return float(body)
    if key == "__unset__":
        return UNSET
    if key == "__kind__":
        return Factor.Kind(body)
    if key == "__tuple__" and isinstance(body, list):
        return tuple(_dec(v, depth + 1) for v in body)
    if key == "__dict__" and isinstance(body, list):
        out = {}
        for item in body:
            if not (isinstance(item, list) and len(item) == 2):
                raise ValueError("a dict entry is not a [key, value] pair")
            k = _dec(item[0], depth + 1)
            if isinstance(k, list | dict):
                raise ValueError("a dict key is not a scalar")
            out[k] = _dec(item[1], depth + 1)
        return out
    if key == "__ndarray__" and isinstance(body, list) and isinstance(value.get("shape"), list):
        arr = np.asarray(_dec(body, depth + 1))
        if arr.dtype.kind not in "biuf":
            raise ValueError("an array is not numeric")
        return arr.reshape([int(s) for s in value["shape"]])
    if key == "__contrasts_state__":
        d = _dec(body, depth + 1)
        if not isinstance(d, dict):
            raise ValueError("contrasts state is not an object")
        return c.ContrastsState(contrasts=d["contrasts"], levels=d["levels"])
    if key == "__contrasts__" and body in _CONTRASTS:
        fields = _dec(value.get("fields"), depth + 1)
        if not isinstance(fields, dict) or not all(isinstance(k, str) for k in fields):
            raise ValueError("contrasts fields are not an object")
        return getattr(c, body)(**fields)
    raise ValueError(f"unexpected tag {key!r}")


def spec_to_json(spec) -> dict:
    """JSON data that :func:`spec_from_json` turns back into an equivalent ``ModelSpec``."""
    return {
        "formula": str(spec.formula),
        "ensure_full_rank": bool(spec.ensure_full_rank),
        "transform_state": _enc(dict(spec.transform_state)),
        "encoder_state": _enc(dict(spec.encoder_state)),
        "columns": [str(c) for c in spec.column_names],
    }


def spec_from_json(d) -> tuple[Any, list[str]]:
    """``(ModelSpec, column names)`` from :func:`spec_to_json`'s data (``ValueError`` if malformed).

    The formula is checked by :func:`check_formula` first; the state is decoded
    through a whitelist of types (numbers, strings, arrays, factor kinds,
    formulaic's contrasts).
    """
    from formulaic import ModelSpec

    if not isinstance(d, dict):
        raise ValueError("the model spec must be a JSON object")
    formula = check_formula(d.get("formula"))
    full_rank = d.get("ensure_full_rank")
    columns = d.get("columns")
    if not isinstance(full_rank, bool):
        raise ValueError("ensure_full_rank must be true or false")
    if not (isinstance(columns, list) and all(isinstance(c, str) for c in columns)):
        raise ValueError("columns must be a list of strings")
    try:
        transform_state = _dec(d.get("transform_state"))
        encoder_state = _dec(d.get("encoder_state"))
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise ValueError(f"the formula's state is malformed ({exc})") from None
    if not isinstance(transform_state, dict) or not isinstance(encoder_state, dict):
        raise ValueError("the formula's state must be JSON objects")
    try:
        return ModelSpec(
            formula=formula,
            materializer="pandas",
            ensure_full_rank=full_rank,
            transform_state=transform_state,
            encoder_state=encoder_state,
        ), columns
    except Exception as exc:  # formulaic's own validation
        raise ValueError(f"formulaic rejects the saved spec ({exc})") from None
