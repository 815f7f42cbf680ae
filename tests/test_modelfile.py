"""Model files (``nnmle.modelfile``: safetensors weights + JSON, never pickle): round trips
through the module and the façade (``res.save`` / ``nnmle.load``), clear errors for broken
files, and a fuzzed loader (``NNMLE_FUZZ_EXAMPLES`` inputs per fuzz test)."""

import dataclasses
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import pytest
import safetensors.numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnmle
from nnmle.api import FitResult
from nnmle.data import Design
from nnmle.estimation import Estimate
from nnmle.modelfile import FORMAT_VERSION, load, save
from nnmle.networks import Architecture, unravel
from nnmle.problem import Problem
from nnmle.solvers import choose_solver
from nnmle.starts import StartResult, array_digest


def solutions(results):
    """Every start's numbers but the timings."""
    return [
        (r.index, r.theta.tobytes(), r.objective, r.grad_norm, r.n_iter, r.status) for r in results
    ]


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] - X[:, 1] ** 2 + 0.5 * rng.normal(size=60) > 0).astype(float)
    return nnmle.fit(X, y, hidden=(3,), l2=0.01, n_starts=3, seed=4), X


def handmade(arch, family="bernoulli", classes=(), formula=None, seed=0) -> FitResult:
    """A FitResult built by hand (no optimizer to compile): enough for file round trips."""
    rng = np.random.default_rng(seed)
    theta = np.where(arch.free_mask(), rng.normal(size=arch.n_total), arch.fixed_values())
    start = StartResult(0, theta, 3.5, 1e-7, 12, "converged", 0.01)
    other = StartResult(1, -theta, 4.5, 1e-3, 5000, "max_iter", 0.02)
    problem = Problem(None, nnmle.get_family(family), arch, nnmle.Penalty(l2=0.1), 20)
    est = Estimate(
        problem=problem, theta=theta, objective=3.5, grad_norm=1e-7, n_iter=12,
        status="converged", message="ok", starts=(start, other),
        solver=choose_solver(problem), loglik=-3.0, deviance=6.0, null_deviance=9.0,
        scale=1.0, aic=12.0, bic=13.0,
    )  # fmt: skip
    return FitResult(est, Design(tuple(arch.input_names), tuple(classes), formula), seed=7)


# ---------------------------------------------------------------- round trips


def test_model_round_trip(tmp_path, fitted):
    res, X = fitted
    path = res.save(tmp_path / "model.nnmle")
    loaded = nnmle.load(path)
    assert loaded.data is None and loaded.problem.data is None
    assert np.array_equal(loaded.theta, res.theta)
    assert np.array_equal(loaded.predict(X), res.predict(X))
    a, b = loaded.summary(), res.summary()
    assert a.rows == b.rows and a.notes == b.notes  # the saved standard errors
    assert set(a.header) <= set(b.header)  # header lines computed from data are left out
    assert loaded.to_dict() == res.to_dict()
    assert solutions(loaded.restarts) == solutions(res.restarts)
    assert loaded.arch == res.arch and loaded.penalty == res.penalty
    assert loaded.seed == res.seed == 4
    # the module level: (estimate, design, seed, inference, notes)
    est, design, seed, inf, notes = load(path)
    assert inf is not None and inf.method == "hessian" and notes == ()
    assert isinstance(est, Estimate) and isinstance(design, Design) and seed == 4
    assert design.input_names == res.design.input_names and design.classes == res.design.classes
    assert est.solver.tol == res.estimate.solver.tol and est.status == res.status
    lean = save(res.estimate, res.design, tmp_path / "lean.nnmle", seed=4, restarts=False)
    est = load(lean).estimate
    assert est.starts == () and np.array_equal(est.theta, res.theta)
    assert nnmle.load(lean).restarts == []
    assert load(path.read_bytes())[0].objective == res.objective  # bytes work too
    assert not list(tmp_path.glob("*.tmp"))  # written atomically


def test_model_round_trip_multinomial_mask_skip_formula(tmp_path, rng):
    plain = Architecture.build(2, (2,), 2, skip=True)
    flat = np.full(plain.n_total, np.nan)
    flat[[0, 5]] = (0.0, 1.5)  # two weights frozen
    mask = unravel(flat, plain)
    arch = Architecture.build(2, (2,), 2, "tanh", skip=True, bias=(False, True), mask=mask)
    res = handmade(arch, "multinomial", classes=("a", "b", "c"))
    loaded = nnmle.load(res.save(tmp_path / "m.nnmle"))
    assert loaded.arch == arch and loaded.arch.mask == arch.mask
    assert loaded.classes == ("a", "b", "c") and loaded.family.name == "multinomial"
    assert loaded.seed == 7 and loaded.to_dict() == res.to_dict()
    X = rng.normal(size=(5, 2))
    assert np.array_equal(loaded.predict(X), res.predict(X))
    assert loaded.predict(X).shape == (5, 3)
    # a formula fit: a DataFrame is matched to the design columns by name
    farch = Architecture.build(2, (), input_names=("u", "v"))
    fres = handmade(farch, "gaussian", formula="y ~ u + v")
    floaded = nnmle.load(fres.save(tmp_path / "f.nnmle"))
    assert floaded.formula == "y ~ u + v"
    df = pd.DataFrame({"y": X[:, 0], "v": X[:, 1], "u": X[:, 0]})
    assert np.allclose(floaded.predict(df), X @ fres.theta[:2] + fres.theta[2], rtol=1e-14)
    with pytest.raises(ValueError, match="design columns"):
        floaded.predict(df.rename(columns={"u": "w"}))


def test_a_loaded_model_explains_what_needs_data(tmp_path, fitted):
    res, X = fitted
    loaded = nnmle.load(res.save(tmp_path / "model.nnmle"))
    with pytest.raises(ValueError, match=r"carries no data.*se='sandwich'.*Fix: se='hessian'"):
        loaded.infer(se="sandwich")  # another covariance needs the data
    with pytest.raises(ValueError, match="carries no data"):
        loaded.problem.hessian(loaded.theta)
    # the saved covariance of the identified weights: standard errors and intervals
    inf, want = loaded.infer(), res.infer()
    np.testing.assert_allclose(inf.se, want.se, rtol=1e-12)
    assert inf.identification == want.identification
    for a, b in zip(loaded.predict(X[:4], interval="confidence"),
                    res.predict(X[:4], interval="confidence"), strict=True):  # fmt: skip
        np.testing.assert_allclose(a, b, rtol=1e-12)
    lean = nnmle.load(res.save(tmp_path / "lean.nnmle", restarts=False))
    assert lean.predict(loaded_inputs(lean)).shape == (4,)


def loaded_inputs(res) -> np.ndarray:
    return np.zeros((4, res.arch.n_inputs))


# ---------------------------------------------------------------- broken and hostile files


def test_model_file_errors(tmp_path, fitted):
    res, _ = fitted
    blob = res.save(tmp_path / "ok.nnmle").read_bytes()
    for n in (0, 1, 7, 8, 50, len(blob) // 2, len(blob) - 1):
        with pytest.raises(ValueError, match="not a valid nnmle model file"):
            load(blob[:n])
    flipped = bytearray(blob)
    flipped[-3] ^= 0xFF  # inside the weights
    with pytest.raises(ValueError, match="checksum"):
        load(bytes(flipped))
    with pytest.raises(ValueError, match="Cannot read"):
        load(tmp_path / "missing.nnmle")
    plain = safetensors.numpy.save({"theta": res.theta})
    with pytest.raises(ValueError, match="no nnmle description"):
        load(plain)
    meta = _metadata(blob)
    meta["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(ValueError, match="newer than this nnmle"):
        load(_rebuild(blob, meta))
    meta = _metadata(blob)
    meta["architecture"]["hidden"] = [10**12]  # must fail on the size check, not allocate
    with pytest.raises(ValueError, match="shape"):
        load(_rebuild(blob, meta))
    with pytest.raises(ValueError, match="built-in families"):
        save(_with_family(res.estimate), res.design, tmp_path / "x.nnmle")
    with pytest.raises(ValueError, match="not a valid nnmle model file"):
        nnmle.load(blob[:50])  # the façade says the same


def test_hostile_pickle_never_runs(tmp_path):
    sentinel = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {sentinel}",))

    for payload in (pickle.dumps(Evil()), pickle.dumps({"theta": Evil()}, protocol=0)):
        path = tmp_path / "evil.nnmle"
        path.write_bytes(payload)
        with pytest.raises(ValueError, match="not a valid nnmle model file"):
            load(path)
    npz = tmp_path / "evil.npz"
    np.savez(npz, theta=np.array([Evil()], dtype=object))
    with pytest.raises(ValueError):
        load(npz)
    assert not sentinel.exists()


# ---------------------------------------------------------------- fuzzing the loader

FUZZ_EXAMPLES = int(os.environ.get("NNMLE_FUZZ_EXAMPLES", "150"))
FUZZ_COUNT = {"inputs": 0}
_fuzz = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_VALID: dict = {}


def _valid_blob(kind: str = "handmade") -> bytes:
    if kind not in _VALID:
        if kind == "handmade":
            res = handmade(Architecture.build(2, (2,), input_names=("a", "b")))
        else:  # a formula fit with categories, an offset and its saved inference
            res = nnmle.fit("y ~ x + C(g) + offset(np.log(t))", data=_frame(), hidden=(),
                            family="poisson")  # fmt: skip
        path = os.path.join(tempfile.mkdtemp(), "fuzz.nnmle")
        _VALID[kind] = res.save(path).read_bytes()
    return _VALID[kind]


def _frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b", "c"], n),
                       "t": rng.uniform(1, 3, n)})  # fmt: skip
    df["y"] = rng.poisson(df.t * np.exp(0.3 * df.x + (df.g == "b")))
    return df


def _metadata(blob: bytes) -> dict:
    (n,) = struct.unpack("<Q", blob[:8])
    return json.loads(json.loads(blob[8 : 8 + n])["__metadata__"]["nnmle"])


def _rebuild(blob: bytes, meta, tensors=None) -> bytes:
    tensors = dict(safetensors.numpy.load(blob)) if tensors is None else tensors
    text = meta if isinstance(meta, str) else json.dumps(meta)
    return safetensors.numpy.save(tensors, metadata={"nnmle": text})


def _with_family(est: Estimate) -> Estimate:
    """The estimate with a family equal to a built-in one but not that object."""
    fam = dataclasses.replace(est.family)
    return dataclasses.replace(est, problem=est.problem.replace(family=fam))


def _check_load(blob: bytes) -> None:
    """The loader's contract: a model that predicts, or a ValueError; nothing else."""
    FUZZ_COUNT["inputs"] += 1
    try:
        est, design, seed, inf, _ = load(blob)
    except ValueError as exc:
        assert "not a valid nnmle model file" in str(exc)
        return
    assert isinstance(seed, int) and est.problem.data is None
    res = FitResult(est, design, seed)
    if inf is not None:
        res._cache["saved_inference"] = inf
    X = np.zeros((2, res.arch.n_inputs))
    try:
        assert np.all(np.isfinite(res.predict(X)))
    except ValueError as exc:  # a model with an offset asks for one, saying so
        assert "offset" in str(exc)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


@_fuzz
@given(st.binary(max_size=1500))
def test_fuzz_random_bytes(blob):
    _check_load(blob)


@_fuzz
@given(st.data())
def test_fuzz_truncated_and_mutated_files(data):
    blob = bytearray(_valid_blob(data.draw(st.sampled_from(["handmade", "formula"]))))
    edits = data.draw(
        st.lists(st.tuples(st.integers(0, len(blob) - 1), st.integers(0, 255)), max_size=6)
    )
    for pos, byte in edits:
        blob[pos] = byte
    cut = data.draw(st.integers(0, len(blob)))
    _check_load(bytes(blob[:cut]) if data.draw(st.booleans()) else bytes(blob))


@_fuzz
@given(st.data())
def test_fuzz_hostile_metadata(data):
    blob = _valid_blob(data.draw(st.sampled_from(["handmade", "formula"])))
    meta = _metadata(blob)
    paths = list(_paths(meta))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        if not path:
            meta = data.draw(json_values)
            break
        parent = meta
        for p in path[:-1]:
            parent = parent[p] if _has(parent, p) else None
        if parent is None or not _has(parent, path[-1]):
            continue
        if isinstance(parent, dict) and data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(json_values)
    _check_load(_rebuild(blob, meta))


def _has(container, key) -> bool:
    if isinstance(container, dict):
        return key in container
    return isinstance(container, list) and isinstance(key, int) and 0 <= key < len(container)


@_fuzz
@given(st.data())
def test_fuzz_hostile_tensors(data):
    blob = _valid_blob(data.draw(st.sampled_from(["handmade", "formula"])))
    tensors = dict(safetensors.numpy.load(blob))
    name = data.draw(st.sampled_from(["theta", "restarts", "extra", "cov", "canonical"]))
    dtype = data.draw(st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.bool_]))
    shape = data.draw(st.lists(st.integers(0, 12), max_size=3))
    values = data.draw(st.sampled_from([0.0, 1.0, np.nan, np.inf]))
    with np.errstate(invalid="ignore"):
        tensors[name] = np.full(shape, values).astype(dtype)
    meta = _metadata(blob)
    if data.draw(st.booleans()):  # a hostile file with a consistent checksum
        meta["sha256"] = array_digest(*(tensors[k] for k in sorted(tensors)))
    _check_load(_rebuild(blob, meta, tensors))


def test_fuzz_count_report():
    """Runs last in this module: how many inputs the fuzz tests fed the loader."""
    print(f"\nmodel-file fuzz: {FUZZ_COUNT['inputs']} inputs tried", file=sys.stderr)
    assert FUZZ_COUNT["inputs"] >= 4 * min(FUZZ_EXAMPLES, 10) or FUZZ_COUNT["inputs"] == 0


# ---------------------------------------------------------------- format version 2: complete models

NEW_PROCESS = """
import sys, numpy as np, pandas as pd, nnmle
res = nnmle.load(sys.argv[1])
new = pd.read_csv(sys.argv[2])
pi = res.predict(new, interval="confidence", level=0.9)
np.save(sys.argv[3], np.vstack([res.predict(new), *pi]))
"""


def test_a_loaded_formula_model_predicts_raw_data_in_a_new_process(tmp_path):
    df = _frame(120, seed=1)
    res = nnmle.fit("y ~ x + C(g) + offset(np.log(t))", data=df, hidden=(2,), family="poisson",
                    l2=0.1, n_starts=2)  # fmt: skip
    path = res.save(tmp_path / "model.nnmle")
    new = _frame(15, seed=2)
    new.to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "out.npy"
    run = subprocess.run([sys.executable, "-c", NEW_PROCESS, str(path), str(tmp_path / "new.csv"),
                          str(out)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    new = pd.read_csv(tmp_path / "new.csv")  # what the child read
    pi = res.predict(new, interval="confidence", level=0.9)
    np.testing.assert_allclose(np.load(out), np.vstack([res.predict(new), *pi]), rtol=1e-12,
                               atol=1e-12)  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d.assign(g="z"),
            r"Column 'g' has level\(s\) \['z'\] not seen.*\['a', 'b', 'c'\]",
        ),
        (lambda d: d.drop(columns="x"), r"lack column\(s\) \['x'\] used by the formula.*Fix"),
        (lambda d: d.assign(x=d.x.astype(str)), r"Column 'x' has dtype .* was numeric.*Fix"),
        (lambda d: d.drop(columns="t"), r"Could not evaluate the offset 'np.log\(t\)'.*Fix"),
    ],
)
def test_a_loaded_model_checks_raw_data_against_the_fit(tmp_path, change, message):
    loaded = nnmle.load(_valid_blob("formula"))
    with pytest.raises(ValueError, match=message):
        loaded.predict(change(_frame(5, seed=3)))


def test_a_version_1_file_still_loads_and_says_what_it_lacks():
    blob = _valid_blob("formula")
    tensors = {k: v for k, v in safetensors.numpy.load(blob).items() if k in ("theta", "restarts")}
    meta = _metadata(blob)
    meta["format_version"] = 1
    del meta["design"], meta["inference"]
    meta["sha256"] = array_digest(*(tensors[k] for k in sorted(tensors)))
    old = _rebuild(blob, meta, tensors)
    loaded = load(old)
    assert loaded.inference is None and "version-1 model file" in loaded.notes[0]
    with pytest.warns(UserWarning, match="version-1 model file.*Fix: refit and save"):
        res = nnmle.load(old)
    with pytest.raises(ValueError, match="version-1 file.*design columns"):
        res.predict(_frame(3))
    assert res.predict(np.zeros((3, res.arch.n_inputs))).shape == (3,)


def test_a_file_with_code_in_its_formula_is_refused():
    blob = _valid_blob("formula")
    meta = _metadata(blob)
    meta["design"]["model_spec"]["formula"] = "1 + I(__import__('os').system('true'))"
    with pytest.raises(ValueError, match="not a valid nnmle model file.*unsafe formula"):
        load(_rebuild(blob, meta))
    meta = _metadata(blob)
    meta["design"]["offset_terms"] = ["open('x').read()"]
    with pytest.raises(ValueError, match="not a valid nnmle model file.*offset_terms.*unsafe"):
        load(_rebuild(blob, meta))
