"""Campaign store (SQLite, resume, concurrency) and model files (safetensors + JSON)."""

import json
import math
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
import safetensors.numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnmle
from nnmle.fit import FitResult, StartResult, run_starts
from nnmle.networks import Architecture, unravel
from nnmle.store import FORMAT_VERSION, Store, load, run_starts_stored, save

# A small problem, defined once as code so that child processes build exactly the same one.
PROBLEM = textwrap.dedent(
    """
    import numpy as np, jax.numpy as jnp
    import nnmle
    from nnmle.families import get_family
    from nnmle.fit import starting_values
    from nnmle.networks import Architecture
    from nnmle.objective import Data
    from nnmle.penalties import Penalty

    _rng = np.random.default_rng(1)
    _X = _rng.normal(size=(60, 3))
    _y = (_X[:, 0] - _X[:, 1] ** 2 + 0.5 * _rng.normal(size=60) > 0).astype(float)
    DATA = Data(jnp.asarray(_X), jnp.asarray(_y[:, None]), jnp.ones(60))
    FAMILY = get_family("bernoulli")
    ARCH = Architecture.build(3, (3,))
    PENALTY = Penalty(l2=0.01)
    THETAS0 = starting_values(ARCH, 10, seed=3)
    """
)
_ns: dict = {}
exec(PROBLEM, _ns)
DATA, FAMILY, ARCH, PENALTY, THETAS0, X, Y = (
    _ns[k] for k in ("DATA", "FAMILY", "ARCH", "PENALTY", "THETAS0", "_X", "_y")
)
PROBLEM_ARGS = (DATA, FAMILY, ARCH, PENALTY)


@pytest.fixture(scope="module")
def reference():
    """The uninterrupted run, without a store."""
    return run_starts(THETAS0, *PROBLEM_ARGS)


def solutions(results):
    """The solutions table: everything but the timings."""
    return [
        (r.index, r.theta.tobytes(), r.objective, r.grad_norm, r.n_iter, r.status) for r in results
    ]


def _child(script: str, *args, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", PROBLEM + textwrap.dedent(script), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


# ---------------------------------------------------------------- the store


def test_units_round_trip(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        job = store.job({"b": 1, "a": [1, 2]})
        assert store.job({"a": [1, 2], "b": 1}) == job  # canonical JSON: key order is irrelevant
        theta = np.linspace(-1, 1, 7)
        assert store.put_unit(job, "start", 3, status="converged", objective=1.25, n_iter=9,
                              seed=5, arrays={"theta": theta}, extra={"note": "x"})  # fmt: skip
        assert not store.put_unit(job, "start", 3, status="max_iter")  # first copy kept
        store.put_unit(job, "start", 1, status="non_finite", objective=math.nan)
        store.put_unit(job, "fold", (2, "a"), status="converged", objective=math.inf)
        assert store.done_units(job, "start") == {1, 3}
        assert store.done_units(job, "fold") == {(2, "a")}
        u1, u3 = store.units(job, "start")
        assert (u1.key, u3.key) == (1, 3)
        assert math.isnan(u1.objective) and u1.theta is None
        assert np.array_equal(u3.theta, theta) and u3.theta.dtype == np.float64
        assert (u3.status, u3.objective, u3.n_iter, u3.seed, u3.extra) == (
            "converged", 1.25, 9, 5, {"note": "x"})  # fmt: skip
        assert store.units(job, "fold")[0].objective == math.inf
        assert store.units(job, "start", keys=[3])[0].key == 3
        with pytest.raises(ValueError, match="unit key"):
            store.put_unit(job, "start", 1.5, status="converged")
    with Store(path) as store:  # reopened: everything is still there
        assert store.job_config(job) == {"a": [1, 2], "b": 1}
        assert store.jobs()[0]["units"] == {"start": 2, "fold": 1}
        assert store.integrity_check() == "ok"


def test_not_a_store(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello, this is not SQLite " * 40)
    with pytest.raises(ValueError, match="not an nnmle store"):
        Store(bad)
    with pytest.raises(ValueError, match="is a directory"):
        Store(tmp_path)


def test_run_starts_stored_resumes(tmp_path, reference):
    path = tmp_path / "s.sqlite"
    first = run_starts_stored(THETAS0[:4], *PROBLEM_ARGS, path, workers=1, config={"seed": 3})
    assert solutions(first) == solutions(reference[:4])
    seen = []
    full = run_starts_stored(
        THETAS0, *PROBLEM_ARGS, path, config={"seed": 3}, on_result=seen.append
    )
    assert sorted(r.index for r in seen) == list(range(4, 10))  # only the missing starts ran
    assert solutions(full) == solutions(reference)
    seen.clear()
    again = run_starts_stored(
        THETAS0, *PROBLEM_ARGS, path, config={"seed": 3}, on_result=seen.append
    )
    assert seen == [] and solutions(again) == solutions(reference)
    with pytest.raises(ValueError, match="different starting vector"):
        run_starts_stored(THETAS0[::-1], *PROBLEM_ARGS, path, config={"seed": 3})


def test_fit_with_store(tmp_path):
    path = tmp_path / "fit.sqlite"
    kw = dict(hidden=(3,), l2=0.01, n_restarts=3, seed=2)  # the compiled problem of PROBLEM
    plain = nnmle.fit(X, Y, **kw)
    stored = nnmle.fit(X, Y, store=path, **kw)
    seen = []
    resumed = nnmle.fit(X, Y, store=path, on_result=seen.append, **{**kw, "n_restarts": 4})
    assert [r.index for r in seen] == [3]
    assert solutions(stored.restarts) == solutions(plain.restarts)
    assert solutions(resumed.restarts[:3]) == solutions(plain.restarts)


def test_sigkill_loses_nothing_and_resume_completes(tmp_path, reference):
    path = tmp_path / "campaign.sqlite"
    child = _child(
        """
        import sys, time
        from nnmle.store import run_starts_stored

        def report(r):
            print(r.index, flush=True)  # after the unit is committed
            time.sleep(0.3)

        run_starts_stored(THETAS0, DATA, FAMILY, ARCH, PENALTY, sys.argv[1], workers=1,
                          config={"seed": 3}, on_result=report)
        """,
        path,
    )
    reported = []
    while len(reported) < 3:
        line = child.stdout.readline()
        assert line, child.stderr.read()
        reported.append(int(line))
    child.send_signal(signal.SIGKILL)
    out, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    reported += [int(x) for x in out.split()]
    assert len(reported) < len(THETAS0)  # killed mid-campaign

    with Store(path) as store:
        assert store.integrity_check() == "ok"
        (job,) = [j["job_id"] for j in store.jobs()]
        done = store.done_units(job, "start")
        assert set(reported) <= done  # nothing finished is lost
        before = {u.key: u for u in store.units(job, "start")}
        seen = []
        resumed = run_starts_stored(
            THETAS0, *PROBLEM_ARGS, store, config={"seed": 3}, on_result=seen.append
        )
        assert sorted(r.index for r in seen) == sorted(set(range(len(THETAS0))) - done)
        assert solutions(resumed) == solutions(reference)
        for k, u in before.items():  # the units written before the kill are untouched
            assert store.units(job, "start", keys=[k])[0].written == u.written


def test_two_processes_write_one_store(tmp_path):
    path = tmp_path / "shared.sqlite"
    script = """
        import sys
        import numpy as np
        from nnmle.store import Store

        store = Store(sys.argv[1])
        job = store.job({"test": "concurrent writers"})
        for k in range(150):
            for kind in ("shared", "own" + sys.argv[2]):
                store.put_unit(job, kind, k, status="converged", objective=float(k),
                               arrays={"theta": np.full(4, float(k))})
        print("ok")
        """
    children = [_child(script, path, i) for i in (1, 2)]
    for c in children:
        out, err = c.communicate(timeout=120)
        assert c.returncode == 0 and out.strip() == "ok", err
    with Store(path) as store:
        assert store.integrity_check() == "ok"
        (job,) = [j["job_id"] for j in store.jobs()]
        for kind in ("shared", "own1", "own2"):
            units = store.units(job, kind)
            assert [u.key for u in units] == list(range(150))
            assert all(u.objective == u.key and np.all(u.theta == u.key) for u in units)


# ---------------------------------------------------------------- model files


@pytest.fixture(scope="module")
def fitted():
    return nnmle.fit(X, Y, hidden=(3,), l2=0.01, n_restarts=3), X


def handmade(arch, family="bernoulli", classes=(), formula=None, seed=0):
    """A FitResult built by hand (no optimizer to compile): enough for file round trips."""
    rng = np.random.default_rng(seed)
    theta = np.where(arch.free_mask(), rng.normal(size=arch.n_total), arch.fixed_values())
    start = StartResult(0, theta, 3.5, 1e-7, 12, "converged", 0.01)
    other = StartResult(1, -theta, 4.5, 1e-3, 5000, "max_iter", 0.02)
    stats = dict(objective=3.5, loglik=-3.0, deviance=6.0, null_deviance=9.0, aic=12.0, bic=13.0)
    return FitResult(
        family=nnmle.get_family(family), arch=arch, penalty=nnmle.Penalty(l2=0.1), theta=theta,
        scale=1.0, grad_norm=1e-7, n_iter=12, status="converged", message="ok", n_obs=20,
        n_params=arch.n_params, restarts=[start, other], classes=classes, formula=formula,
        **stats,
    )  # fmt: skip


def test_model_round_trip(tmp_path, fitted):
    res, X = fitted
    path = res.save(tmp_path / "model.nnmle")
    loaded = nnmle.load(path)
    assert loaded.data is None
    assert np.array_equal(loaded.theta, res.theta)
    assert np.array_equal(loaded.predict(X), res.predict(X))
    assert str(loaded.summary()) == str(res.summary())
    assert loaded.to_dict() == res.to_dict()
    assert solutions(loaded.restarts) == solutions(res.restarts)
    assert loaded.arch == res.arch and loaded.penalty == res.penalty
    lean = load(save(res, tmp_path / "lean.nnmle", restarts=False))
    assert lean.restarts == [] and np.array_equal(lean.theta, res.theta)
    assert load(path.read_bytes()).objective == res.objective  # bytes work too
    assert not list(tmp_path.glob("*.tmp"))  # written atomically


def test_model_round_trip_multinomial_mask_skip_formula(tmp_path, rng):
    plain = Architecture.build(2, (2,), 2, skip=True)
    flat = np.full(plain.n_total, np.nan)
    flat[[0, 5]] = (0.0, 1.5)  # two weights frozen
    mask = unravel(flat, plain)
    arch = Architecture.build(2, (2,), 2, "tanh", skip=True, bias=(False, True), mask=mask)
    res = handmade(arch, "multinomial", classes=("a", "b", "c"))
    loaded = load(res.save(tmp_path / "m.nnmle"))
    assert loaded.arch == arch and loaded.arch.mask == arch.mask
    assert loaded.classes == ("a", "b", "c") and loaded.family.name == "multinomial"
    X = rng.normal(size=(5, 2))
    assert np.array_equal(loaded.predict(X), res.predict(X))
    assert loaded.predict(X).shape == (5, 3)
    # a formula fit: a DataFrame is matched to the design columns by name
    farch = Architecture.build(2, (), input_names=("u", "v"))
    fres = handmade(farch, "gaussian", formula="y ~ u + v")
    floaded = load(fres.save(tmp_path / "f.nnmle"))
    df = pd.DataFrame({"y": X[:, 0], "v": X[:, 1], "u": X[:, 0]})
    assert np.allclose(floaded.predict(df), X @ fres.theta[:2] + fres.theta[2], rtol=1e-14)
    with pytest.raises(ValueError, match="design columns"):
        floaded.predict(df.rename(columns={"u": "w"}))


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
        save(_with_family(res), tmp_path / "x.nnmle")


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


def _valid_blob() -> bytes:
    if "blob" not in _VALID:
        res = handmade(Architecture.build(2, (2,), input_names=("a", "b")))
        _VALID["blob"] = save(res, os.path.join(tempfile.mkdtemp(), "fuzz.nnmle")).read_bytes()
    return _VALID["blob"]


def _metadata(blob: bytes) -> dict:
    (n,) = struct.unpack("<Q", blob[:8])
    return json.loads(json.loads(blob[8 : 8 + n])["__metadata__"]["nnmle"])


def _rebuild(blob: bytes, meta, tensors=None) -> bytes:
    tensors = dict(safetensors.numpy.load(blob)) if tensors is None else tensors
    text = meta if isinstance(meta, str) else json.dumps(meta)
    return safetensors.numpy.save(tensors, metadata={"nnmle": text})


def _with_family(res):
    import dataclasses

    from nnmle.families import Family

    f = res.family
    fam = Family(f.name, f.link, f.inverse_link, f.loss_obs, f.loglik_const,
                 f.saturated_loss, f.null_eta)  # fmt: skip
    return dataclasses.replace(res, family=fam)


def _check_load(blob: bytes) -> None:
    """The loader's contract: a FitResult that predicts, or a ValueError; nothing else."""
    FUZZ_COUNT["inputs"] += 1
    try:
        res = load(blob)
    except ValueError as exc:
        assert "not a valid nnmle model file" in str(exc)
        return
    assert np.all(np.isfinite(res.predict(np.zeros((2, res.arch.n_inputs)))))


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
    blob = bytearray(_valid_blob())
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
    blob = _valid_blob()
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
    blob = _valid_blob()
    tensors = dict(safetensors.numpy.load(blob))
    name = data.draw(st.sampled_from(["theta", "restarts", "extra"]))
    dtype = data.draw(st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.bool_]))
    shape = data.draw(st.lists(st.integers(0, 12), max_size=3))
    values = data.draw(st.sampled_from([0.0, 1.0, np.nan, np.inf]))
    with np.errstate(invalid="ignore"):
        tensors[name] = np.full(shape, values).astype(dtype)
    meta = _metadata(blob)
    if data.draw(st.booleans()):  # a hostile file with a consistent checksum
        from nnmle.store._campaign import _digest

        meta["sha256"] = _digest(*(tensors[k] for k in sorted(tensors)))
    _check_load(_rebuild(blob, meta, tensors))


def test_fuzz_count_report():
    """Runs last in this module: how many inputs the fuzz tests fed the loader."""
    print(f"\nmodel-file fuzz: {FUZZ_COUNT['inputs']} inputs tried", file=sys.stderr)
    assert FUZZ_COUNT["inputs"] >= 4 * min(FUZZ_EXAMPLES, 10) or FUZZ_COUNT["inputs"] == 0


def test_store_survives_time_and_reopen(tmp_path):
    """A store written, closed and reopened keeps WAL mode and its units."""
    path = tmp_path / "w.sqlite"
    with Store(path) as s:
        job = s.job({"x": 1})
        s.put_unit(job, "point", 0, status="converged", seconds=0.5)
    time.sleep(0.01)
    with Store(path) as s:
        assert s._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.units(job, "point")[0].seconds == 0.5
