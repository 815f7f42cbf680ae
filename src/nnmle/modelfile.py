"""Model files: safetensors weights + a JSON description, never pickle.

:func:`save` writes a fitted model as one safetensors file: the weights as
float64 tensors and everything else (architecture, family, penalty, fit
statistics, format version) as JSON in the safetensors header. :func:`load`
reads it back after validating every field. No pickle is used anywhere, so
loading a file never runs code; a malformed, truncated or hostile file raises a
``ValueError`` that says what is wrong.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.numpy

from .data import Design
from .estimation import Estimate
from .families import FAMILIES, get_family
from .networks import ACTIVATIONS, Architecture
from .penalties import Penalty
from .problem import Problem
from .solvers import STATUS, choose_solver
from .starts import StartResult, arch_dict, array_digest, jsonable

__all__ = ["FORMAT_VERSION", "load", "save"]

#: Version of the model-file format written by :func:`save`.
FORMAT_VERSION = 1
_MAGIC = "nnmle-model"
_STATUSES = frozenset(v[0] for v in STATUS.values())


def save(
    estimate: Estimate,
    design: Design,
    path: str | os.PathLike,
    *,
    seed: int = 0,
    restarts: bool = True,
) -> Path:
    """Write a fit to a model file: safetensors weights, JSON description, no pickle.

    The file is written to a temporary name and renamed, so a crash never
    leaves a half-written model. Also available as ``result.save(path)``.

    Parameters
    ----------
    estimate : Estimate
    design : Design
        Input names, class labels and the formula.
    path : str or path-like
        Conventionally ``*.nnmle`` or ``*.safetensors``.
    seed : int
        The seed of the starts (recorded).
    restarts : bool
        Also keep every start's weights (tensor ``"restarts"``).

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import numpy as np, nnmle, tempfile, os
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 1, 0, 1])
    >>> res = nnmle.fit(X, y, hidden=())
    >>> path = os.path.join(tempfile.mkdtemp(), "glm.nnmle")
    >>> _ = save(res.estimate, res.design, path)
    >>> bool(np.allclose(nnmle.load(path).predict(X), res.predict(X)))
    True
    """
    result = estimate
    if result.family.name not in FAMILIES or FAMILIES[result.family.name] is not result.family:
        raise ValueError(
            f"Only the built-in families ({', '.join(FAMILIES)}) can be saved; this fit uses "
            f"{result.family!r}. Fix: fit with family='<name>'."
        )
    tensors = {"theta": np.ascontiguousarray(result.theta, dtype=np.float64)}
    starts = list(result.starts) if restarts else []
    if starts:
        tensors["restarts"] = np.ascontiguousarray(
            np.stack([np.asarray(r.theta, dtype=np.float64) for r in starts])
        )
    meta = {
        "format": _MAGIC,
        "format_version": FORMAT_VERSION,
        "nnmle_version": _version(),
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "architecture": arch_dict(result.arch),
        "family": result.family.name,
        "penalty": result.penalty.to_dict(),
        "fit": {
            **{name: getattr(result, name) for name in (*_FLOAT_FIELDS, *_INT_FIELDS[:-1])},
            "seed": int(seed),
            "status": result.status,
            "message": result.message,
            "formula": design.formula,
            "seconds": result.seconds,
        },
        "classes": [
            c if isinstance(c, bool | int | float | str) else str(c) for c in design.classes
        ],
        "restarts": [{**r.to_dict(), "seconds": r.seconds} for r in starts],
        "sha256": array_digest(*(tensors[k] for k in sorted(tensors))),
    }
    header = {"format": _MAGIC, "format_version": str(FORMAT_VERSION), "nnmle": _dumps(meta)}
    blob = safetensors.numpy.save(tensors, metadata=header)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


_FLOAT_FIELDS = (
    "objective",
    "loglik",
    "deviance",
    "null_deviance",
    "aic",
    "bic",
    "scale",
    "grad_norm",
    "tol",
)
_INT_FIELDS = ("n_iter", "n_obs", "n_params", "seed")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("nnmle")
    except Exception:  # not installed (running from a source tree)
        return "unknown"


def _dumps(value) -> str:
    return json.dumps(value, default=jsonable)


class _Invalid(ValueError):
    """A model file failed validation (the message names the field)."""


def load(source: str | os.PathLike | bytes) -> tuple[Estimate, Design, int]:
    """Read a model file written by :func:`save` (``nnmle.load`` wraps it in a ``FitResult``).

    Every field is checked before use; nothing in the file is executed (no
    pickle). The result has no training data (``data=None``): it predicts,
    summarizes and converts to a dict like the fit that was saved. A model
    fitted from a formula predicts from a DataFrame holding its design
    columns (``arch.input_names``), or from a design matrix; the formula's
    encoding of categories is not saved.

    Parameters
    ----------
    source : str, path-like or bytes
        The file, or its content.

    Returns
    -------
    estimate : Estimate
        Its problem has no data.
    design : Design
    seed : int

    Raises
    ------
    ValueError
        If the file is missing, malformed, truncated, corrupt (checksum), of a
        newer format version, or describes an inconsistent model.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        blob, name = bytes(source), "the model bytes"
    else:
        name = repr(str(source))
        try:
            with open(source, "rb") as f:
                blob = f.read()
        except OSError as exc:
            raise ValueError(f"Cannot read the model file {name}: {exc.strerror}.") from None
    try:
        return _load_bytes(blob)
    except _Invalid as exc:
        raise ValueError(f"{name} is not a valid nnmle model file: {exc}") from None


def _load_bytes(blob: bytes) -> tuple[Estimate, Design, int]:
    try:
        tensors = dict(safetensors.numpy.load(blob))
    except (safetensors.SafetensorError, ValueError, TypeError, KeyError, OverflowError) as exc:
        raise _Invalid(f"not a readable safetensors file ({exc})") from None
    meta = _read_metadata(blob)
    _expect(meta.get("format") == _MAGIC, "format", "the string 'nnmle-model'", meta.get("format"))
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        _expect(False, "format_version", "an integer >= 1", version)
    elif version > FORMAT_VERSION:
        raise _Invalid(
            f"format version {version} is newer than this nnmle reads ({FORMAT_VERSION}). "
            f"Fix: upgrade nnmle."
        )
    _expect(
        set(tensors) in ({"theta"}, {"theta", "restarts"}),
        "tensors",
        "'theta' [+ 'restarts']",
        sorted(tensors),
    )
    for k, t in tensors.items():
        _expect(t.dtype == np.float64, f"tensor {k!r}", "float64", t.dtype)
    digest = array_digest(*(tensors[k] for k in sorted(tensors)))
    if meta.get("sha256") != digest:
        raise _Invalid("the weights do not match their checksum: the file is corrupt")
    theta = tensors["theta"]
    arch = _read_arch(_field(meta, "architecture", dict), theta)
    _expect(bool(np.all(np.isfinite(theta))), "theta", "finite weights", "NaN or inf")
    family_name = _field(meta, "family", str)
    _expect(family_name in FAMILIES, "family", f"one of {list(FAMILIES)}", family_name)
    family = get_family(family_name)
    penalty = _read_penalty(_field(meta, "penalty", dict))
    fit = _field(meta, "fit", dict)
    values: dict[str, Any] = {}
    for k in _FLOAT_FIELDS:
        values[k] = float(_field(fit, k, _is_number, "fit."))
    for k in _INT_FIELDS:
        values[k] = _field(fit, k, _is_count, "fit.")
    values["seconds"] = float(_field(fit, "seconds", _is_number, "fit."))
    tol = values["tol"]
    _expect(math.isfinite(tol) and tol > 0, "fit.tol", "a positive number", tol)
    values["status"] = _field(fit, "status", _is_status, "fit.")
    values["message"] = _field(fit, "message", str, "fit.")
    formula = fit.get("formula")
    _expect(formula is None or isinstance(formula, str), "fit.formula", "a string or null", formula)
    _expect(
        values["n_params"] == arch.n_params,
        "fit.n_params",
        f"{arch.n_params} (the architecture's free weights)",
        values["n_params"],
    )
    classes = _field(meta, "classes", list)
    for c in classes:
        _expect(isinstance(c, bool | int | float | str), "classes", "numbers or strings", c)
    if family.name == "multinomial":
        _expect(
            len(classes) == arch.n_outputs + 1,
            "classes",
            f"{arch.n_outputs + 1} labels",
            len(classes),
        )
    restarts = _read_restarts(_field(meta, "restarts", list), tensors.get("restarts"), arch)
    problem = Problem(None, family, arch, penalty, values["n_obs"])
    estimate = Estimate(
        problem=problem,
        theta=np.array(theta),
        objective=values["objective"],
        grad_norm=values["grad_norm"],
        n_iter=values["n_iter"],
        status=values["status"],
        message=values["message"],
        starts=tuple(restarts),
        solver=choose_solver(problem, tol=values["tol"]),
        loglik=values["loglik"],
        deviance=values["deviance"],
        null_deviance=values["null_deviance"],
        scale=values["scale"],
        aic=values["aic"],
        bic=values["bic"],
        seconds=values["seconds"],
    )
    design = Design(tuple(arch.input_names), tuple(classes), formula)
    return estimate, design, values["seed"]


def _read_metadata(blob: bytes) -> dict:
    (n,) = struct.unpack("<Q", blob[:8])  # safetensors has checked the header already
    try:
        header = json.loads(blob[8 : 8 + n].decode("utf-8"))
        meta = json.loads(header["__metadata__"]["nnmle"])
    except (KeyError, TypeError, ValueError, RecursionError):  # JSON and UTF-8 errors too
        raise _Invalid("no nnmle description (JSON) in the safetensors header") from None
    if not isinstance(meta, dict):
        raise _Invalid(f"the nnmle description must be a JSON object; got {type(meta).__name__}")
    return meta


def _expect(ok: bool, where: str, expected: str, got) -> None:
    if not ok:
        shown = repr(got)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise _Invalid(f"{where}: expected {expected}, got {shown}")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_count(v) -> bool:
    return _is_int(v) and v >= 0


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_status(v) -> bool:
    return isinstance(v, str) and v in _STATUSES


_CHECK_NAMES = {
    dict: "a JSON object",
    list: "a JSON array",
    str: "a string",
    bool: "true or false",
    _is_int: "an integer",
    _is_count: "an integer >= 0",
    _is_number: "a number",
}


def _field(d: dict, name: str, check, prefix: str = ""):
    if name not in d:
        raise _Invalid(f"{prefix}{name}: missing")
    value = d[name]
    if check is _is_status:
        expected = f"one of {sorted(_STATUSES)}"
    else:
        expected = _CHECK_NAMES[check]
    ok = isinstance(value, check) if isinstance(check, type) else check(value)
    _expect(bool(ok), prefix + name, expected, value)
    return value


def _read_arch(d: dict, theta: np.ndarray) -> Architecture:
    p = "architecture."
    n_in = _field(d, "n_inputs", _is_count, p)
    hidden = _field(d, "hidden", list, p)
    n_out = _field(d, "n_outputs", _is_count, p)
    for h in [n_in, n_out, *hidden]:
        _expect(_is_int(h) and h >= 1, p + "sizes", "positive integers", h)
    acts = _field(d, "activation", list, p)
    _expect(
        len(acts) == len(hidden) and all(a in ACTIVATIONS for a in acts),
        p + "activation",
        f"one of {ACTIVATIONS} per hidden layer",
        acts,
    )
    skip = _field(d, "skip", bool, p)
    bias = _field(d, "bias", list, p)
    _expect(
        len(bias) == len(hidden) + 1 and all(isinstance(b, bool) for b in bias),
        p + "bias",
        f"{len(hidden) + 1} booleans",
        bias,
    )
    sizes = [n_in, *hidden, n_out]
    n_total = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    n_total += n_in * n_out if skip else 0
    _expect(
        theta.shape == (n_total,),
        "tensor 'theta'",
        f"shape ({n_total},) for this architecture",
        theta.shape,
    )
    mask, values = d.get("mask"), d.get("mask_values")
    if mask is not None or values is not None:
        _expect(
            isinstance(mask, list)
            and len(mask) == n_total
            and all(isinstance(m, bool) for m in mask),
            p + "mask",
            f"{n_total} booleans",
            mask,
        )
        _expect(
            isinstance(values, list)
            and len(values) == n_total
            and all(_is_number(v) and math.isfinite(v) for v in values),
            p + "mask_values",
            f"{n_total} finite numbers",
            values,
        )
    names = {}
    for k, n in (("input_names", n_in), ("output_names", n_out)):
        v = _field(d, k, list, p)
        _expect(len(v) == n and all(isinstance(s, str) for s in v), p + k, f"{n} strings", v)
        names[k] = v
    try:
        arch = Architecture.build(
            n_in, tuple(hidden), n_out, tuple(acts), skip, tuple(bias), **names
        )
    except ValueError as exc:
        raise _Invalid(f"architecture: {exc}") from None
    if mask is not None:
        arch = dataclasses.replace(
            arch, mask=tuple(mask), mask_values=tuple(float(v) for v in values or ())
        )
    return arch


def _read_penalty(d: dict) -> Penalty:
    p = "penalty."
    l2 = _field(d, "l2", _is_number, p)
    l1 = _field(d, "l1", _is_number, p)
    pb = _field(d, "penalize_bias", bool, p)
    try:
        return Penalty(l2=l2, l1=l1, penalize_bias=pb)
    except ValueError as exc:
        raise _Invalid(f"penalty: {exc}") from None


def _read_restarts(rows: list, thetas: np.ndarray | None, arch: Architecture) -> list:
    if thetas is None:
        _expect(
            not rows, "restarts", "no entries when the file has no 'restarts' tensor", len(rows)
        )
        return []
    _expect(
        thetas.shape == (len(rows), arch.n_total),
        "tensor 'restarts'",
        f"shape ({len(rows)}, {arch.n_total})",
        thetas.shape,
    )
    out = []
    for i, r in enumerate(rows):
        _expect(isinstance(r, dict), f"restarts[{i}]", "a JSON object", r)
        p = f"restarts[{i}]."
        out.append(
            StartResult(
                _field(r, "index", _is_count, p),
                np.array(thetas[i]),
                float(_field(r, "objective", _is_number, p)),
                float(_field(r, "grad_norm", _is_number, p)),
                _field(r, "n_iter", _is_count, p),
                _field(r, "status", _is_status, p),
                float(_field(r, "seconds", _is_number, p)),
            )
        )
    return out
