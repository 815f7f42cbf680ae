"""Model files: safetensors weights + a JSON description, never pickle.

:func:`save` writes a fitted model as one safetensors file: the weights (and
the covariance of the canonical weights) as float64 tensors and everything else
as JSON in the safetensors header: architecture, family, penalty, fit
statistics, the design (formulaic's model spec of the formula — terms, levels,
contrasts, stateful transforms — the response's class labels, offsets, the
kinds and levels of the data columns), the inference (standard errors and
identification of every weight) and the format version. :func:`load` reads it
back after validating every field. No pickle is used anywhere, so loading a
file never runs code, and a formula is accepted only if its factors are column
names, numbers and known transforms (:func:`nnmle.data.check_formula`); a
malformed, truncated or hostile file raises a ``ValueError`` that says what is
wrong.

Format versions: 2 (this one) keeps the design and the covariance, so a loaded
formula model predicts from a raw data frame, with intervals; 1 (nnmle 0.1)
files still load, with a note that they keep neither.
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
from typing import Any, NamedTuple

import numpy as np
import safetensors
import safetensors.numpy

from .data import Design, spec_from_json, spec_to_json
from .estimation import Estimate
from .families import FAMILIES, get_family
from .inference import Inference, infer
from .networks import ACTIVATIONS, Architecture
from .penalties import Penalty
from .problem import Problem
from .solvers import STATUS, choose_solver
from .starts import StartResult, arch_dict, array_digest, jsonable

__all__ = ["FORMAT_VERSION", "ModelFile", "load", "save", "saved_inference"]

#: Version of the model-file format written by :func:`save`.
FORMAT_VERSION = 2

#: What a version-1 file lacks, said when it is loaded.
V1_NOTE = (
    "this is a version-1 model file: it keeps neither the formula's encoding (a data frame "
    "must hold the design columns, not raw data) nor the covariance (no standard errors or "
    "intervals after loading). Fix: refit and save again to get a version-2 file"
)


class ModelFile(NamedTuple):
    """What :func:`load` reads: the estimate (without data), the design, the seed, the saved
    inference (``None`` if the file has none) and notes on what the file lacks."""

    estimate: Estimate
    design: Design
    seed: int
    inference: Inference | None = None
    notes: tuple[str, ...] = ()


_MAGIC = "nnmle-model"
_STATUSES = frozenset(v[0] for v in STATUS.values())


def save(
    estimate: Estimate,
    design: Design,
    path: str | os.PathLike,
    *,
    seed: int = 0,
    restarts: bool = True,
    inference: Inference | None = None,
    covariance: bool = True,
) -> Path:
    """Write a fit to a model file: safetensors weights, JSON description, no pickle.

    The file is written to a temporary name and renamed, so a crash never
    leaves a half-written model. Also available as ``result.save(path)``.

    Parameters
    ----------
    estimate : Estimate
    design : Design
        Input names, class labels, the formula and its model spec, offsets.
    path : str or path-like
        Conventionally ``*.nnmle`` or ``*.safetensors``.
    seed : int
        The seed of the starts (recorded).
    restarts : bool
        Also keep every start's weights (tensor ``"restarts"``).
    inference : Inference, optional
        The inference to keep (its method's covariance); by default the
        ``"hessian"`` inference is computed when the estimate has its data.
    covariance : bool
        Keep an inference at all (``False``: weights only; no standard errors
        or intervals after loading).

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
    inf_meta = None
    if covariance:
        inference = inference if inference is not None else _default_inference(result)
        if inference is not None and inference.bootstrap is None:
            inf_meta = _inference_meta(inference, tensors)
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
        "design": _design_meta(design),
        "inference": inf_meta,
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


def load(source: str | os.PathLike | bytes) -> ModelFile:
    """Read a model file written by :func:`save` (``nnmle.load`` wraps it in a ``FitResult``).

    Every field is checked before use; nothing in the file is executed (no
    pickle; a formula must pass :func:`nnmle.data.check_formula`). The result
    has no training data (``data=None``): it predicts, summarizes and converts
    to a dict like the fit that was saved. A model fitted from a formula
    predicts from a raw data frame (version 2), re-evaluated with the saved
    model spec; a version-1 file needs the design columns and comes with a
    note (:data:`V1_NOTE`).

    Parameters
    ----------
    source : str, path-like or bytes
        The file, or its content.

    Returns
    -------
    ModelFile
        ``(estimate, design, seed, inference, notes)``; the estimate's problem
        has no data.

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


def _load_bytes(blob: bytes) -> ModelFile:
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
    v2 = isinstance(version, int) and version >= 2
    allowed = {"theta", "restarts"} | ({"cov", "canonical"} if v2 else set())
    _expect(
        "theta" in tensors and set(tensors) <= allowed,
        "tensors",
        "'theta' [+ 'restarts'] [+ 'cov', 'canonical']",
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
    if version == 1:
        design = Design(tuple(arch.input_names), tuple(classes), formula)
        return ModelFile(estimate, design, values["seed"], None, (V1_NOTE,))
    design = _read_design(_field(meta, "design", dict), arch, tuple(classes), formula)
    inf = _read_inference(meta.get("inference"), tensors, arch, np.asarray(theta))
    _expect(inf is not None or not {"cov", "canonical"} & set(tensors), "inference",
            "an inference for the tensors 'cov' and 'canonical'", None)  # fmt: skip
    return ModelFile(estimate, design, values["seed"], inf, ())


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


# --- version 2: the design and the inference ----------------------------------------------


def _default_inference(est: Estimate) -> Inference | None:
    """The ``"hessian"`` inference of a fit that has its data (``None`` otherwise)."""
    if est.problem.data is None or not np.all(np.isfinite(est.theta)):
        return None
    return infer(est, se="hessian")


def _inference_meta(inf: Inference, tensors: dict) -> dict:
    tensors["cov"] = np.ascontiguousarray(inf.cov, dtype=np.float64)
    tensors["canonical"] = np.ascontiguousarray(inf.theta, dtype=np.float64)
    return {
        "method": inf.method,
        "level": float(inf.level),
        "names": list(inf.names),
        "index": [int(i) for i in inf.index],
        "se": [None if not math.isfinite(v) else float(v) for v in inf.se],
        "identification": list(inf.identification),
        "edf": float(inf.edf) if math.isfinite(inf.edf) else None,
        "scale": float(inf.scale),
        "nullity": int(inf.nullity),
        "n_negative": int(inf.n_negative),
        "notes": list(inf.notes),
    }


def _design_meta(design: Design) -> dict:
    spec = None
    if design.model_spec is not None:
        try:
            spec = spec_to_json(design.model_spec)
        except ValueError as exc:
            raise ValueError(
                f"The formula's state cannot be saved ({exc}). Fix: use formulaic's built-in "
                f"transforms and contrasts in the formula."
            ) from None
    return {
        "model_spec": spec,
        "output_names": list(design.output_names),
        "offset_terms": list(design.offset_terms),
        "offset_column": design.offset_column,
        "exposure_column": design.exposure_column,
        "has_offset": bool(design.has_offset),
        "variables": dict(design.variables),
        "levels": {k: [_plain(v) for v in lv] for k, lv in design.levels.items()},
        "scaling": {k: [float(c), float(sc)] for k, (c, sc) in design.scaling.items()},
        "n_dropped": int(design.n_dropped),
    }


def _strings(value, where: str, n: int | None = None) -> list:
    _expect(
        isinstance(value, list) and all(isinstance(v, str) for v in value)
        and (n is None or len(value) == n),
        where, "a list of strings" + (f" ({n})" if n is not None else ""), value,
    )  # fmt: skip
    return value


def _read_design(d: dict, arch: Architecture, classes: tuple, formula) -> Design:
    p = "design."
    spec = None
    spec_d = d.get("model_spec")
    if spec_d is not None:
        _expect(isinstance(formula, str), "fit.formula", "the formula of the model spec", formula)
        try:
            spec, columns = spec_from_json(spec_d)
        except ValueError as exc:
            raise _Invalid(f"{p}model_spec: {exc}") from None
        names = [c for c in columns if c != "Intercept"]
        _expect(names == list(arch.input_names), p + "model_spec.columns",
                f"the network's inputs {list(arch.input_names)[:6]}", names)  # fmt: skip
    terms = _strings(_field(d, "offset_terms", list, p), p + "offset_terms")
    if terms:
        from .data import check_formula

        try:
            check_formula("y ~ " + " + ".join(f"I({t})" for t in terms))
        except ValueError as exc:
            raise _Invalid(f"{p}offset_terms: {exc}") from None
    cols = {}
    for k in ("offset_column", "exposure_column"):
        cols[k] = d.get(k)
        _expect(cols[k] is None or isinstance(cols[k], str), p + k, "a string or null", cols[k])
    variables = _field(d, "variables", dict, p)
    _expect(all(v in ("numeric", "categorical") for v in variables.values()), p + "variables",
            "'numeric' or 'categorical' per column", variables)  # fmt: skip
    levels = _field(d, "levels", dict, p)
    for k, lv in levels.items():
        _expect(isinstance(lv, list) and all(isinstance(v, bool | int | float | str) for v in lv),
                f"{p}levels[{k!r}]", "a list of numbers or strings", lv)  # fmt: skip
    scaling = _field(d, "scaling", dict, p)
    for k, v in scaling.items():
        ok = isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v)
        _expect(ok and math.isfinite(v[0]) and v[1] > 0, f"{p}scaling[{k!r}]",
                "[center, positive scale]", v)  # fmt: skip
    n_out = arch.n_outputs
    outs = _strings(_field(d, "output_names", list, p), p + "output_names")
    _expect(len(outs) in (0, n_out), p + "output_names", f"0 or {n_out} names", len(outs))
    return Design(
        tuple(arch.input_names), classes, formula, spec, tuple(outs), tuple(terms),
        cols["offset_column"], cols["exposure_column"],
        bool(_field(d, "has_offset", bool, p)), dict(variables),
        {k: tuple(v) for k, v in levels.items()},
        {k: (float(v[0]), float(v[1])) for k, v in scaling.items()},
        _field(d, "n_dropped", _is_count, p),
    )  # fmt: skip


def _read_inference(d, tensors: dict, arch: Architecture, theta: np.ndarray):
    if d is None:
        return None
    p = "inference."
    _expect(isinstance(d, dict), "inference", "a JSON object or null", d)
    _expect(
        {"cov", "canonical"} <= set(tensors), "tensors", "'cov' and 'canonical'", sorted(tensors)
    )
    free = np.flatnonzero(arch.free_mask())
    k = free.size
    method = _field(d, "method", str, p)
    _expect(method in ("hessian", "sandwich"), p + "method", "'hessian' or 'sandwich'", method)
    level = float(_field(d, "level", _is_number, p))
    _expect(0 < level < 1, p + "level", "a number in (0, 1)", level)
    names = _strings(_field(d, "names", list, p), p + "names", k)
    labels = _strings(_field(d, "identification", list, p), p + "identification", k)
    _expect(all(v in ("data", "penalty", "none", "zero") for v in labels), p + "identification",
            "'data', 'penalty', 'none' or 'zero' per weight", labels)  # fmt: skip
    index = _field(d, "index", list, p)
    _expect(all(_is_count(i) and i < arch.n_total for i in index) and len(set(index)) == len(index)
            and set(index) <= set(free.tolist()), p + "index", "distinct free weight positions",
            index)  # fmt: skip
    se = _field(d, "se", list, p)
    _expect(len(se) == k and all(v is None or (_is_number(v) and v >= 0) for v in se), p + "se",
            f"{k} non-negative numbers or null", se)  # fmt: skip
    cov, canon = tensors["cov"], tensors["canonical"]
    _expect(cov.shape == (len(index), len(index)) and bool(np.all(np.isfinite(cov))),
            "tensor 'cov'", f"a finite ({len(index)}, {len(index)}) matrix", cov.shape)  # fmt: skip
    _expect(canon.shape == (arch.n_total,) and bool(np.all(np.isfinite(canon))),
            "tensor 'canonical'", f"{arch.n_total} finite weights", canon.shape)  # fmt: skip
    extra = {}
    for key, check in (("scale", _is_number), ("nullity", _is_count), ("n_negative", _is_count)):
        extra[key] = _field(d, key, check, p)
    edf = d.get("edf")
    _expect(edf is None or _is_number(edf), p + "edf", "a number or null", edf)
    notes = _strings(_field(d, "notes", list, p), p + "notes")
    coef = canon[free]
    se_v = np.array([np.nan if v is None else float(v) for v in se])
    lab = np.array(labels, dtype=object)
    inf = Inference(
        method=method, level=level, names=tuple(names), coef=coef, se=se_v,
        z=se_v, p=se_v, ci_low=se_v, ci_high=se_v, identified=lab == "data",
        zero=lab == "zero", identification=tuple(labels), cov=np.array(cov),
        index=np.asarray(index, dtype=int), theta=np.array(canon),
        edf=math.nan if edf is None else float(edf), scale=float(extra["scale"]),
        nullity=extra["nullity"], n_negative=extra["n_negative"], notes=tuple(notes),
        fit_theta=np.array(theta),
    )  # fmt: skip
    return _at_level(inf, level)


def _at_level(inf: Inference, level: float) -> Inference:
    """``inf`` with z, p and intervals at ``level`` from its standard errors."""
    from scipy import stats

    ident = np.asarray(inf.identification, dtype=object)
    z = np.where(ident == "data", inf.coef / inf.se, np.nan)
    q = stats.norm.ppf(0.5 + level / 2)
    return dataclasses.replace(
        inf, level=float(level), z=z, p=2.0 * stats.norm.sf(np.abs(z)),
        ci_low=inf.coef - q * inf.se, ci_high=inf.coef + q * inf.se,
    )  # fmt: skip


def saved_inference(inf: Inference, se: str, level: float, bootstrap_options=None) -> Inference:
    """The inference saved in a model file, at confidence ``level`` (for a model without data).

    Raises
    ------
    ValueError
        When another covariance than the saved one is asked for (it needs the data).
    """
    if se != inf.method or bootstrap_options:
        raise ValueError(
            f"This model carries no data (it was loaded from a file), which se={se!r} needs; "
            f"the file keeps the {inf.method!r} covariance. Fix: se={inf.method!r}, or refit on "
            f"the data for another covariance."
        )
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level!r}. Fix: e.g. level=0.95.")
    return _at_level(inf, level)


def _plain(value):
    """A level as a JSON scalar (numpy scalars to Python, anything else to its text)."""
    value = value.item() if isinstance(value, np.generic) else value
    return value if isinstance(value, bool | int | float | str) else str(value)
