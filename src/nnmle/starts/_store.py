"""The campaign store: finished units of long jobs in one SQLite file.

A long job (a multi-start campaign, bootstrap replicates, CV folds, the points
of a regularization path) is a set of *units*. A :class:`Store` is one SQLite
file (WAL mode) that records every finished unit the moment it finishes, in
its own transaction: its status, objective, gradient norm, iterations,
timings and arrays (the weights), the arrays as safetensors bytes.

A *job* is identified by a hash of its configuration (:func:`problem_config`:
a fingerprint of the data, the architecture, family, penalty, solver, seed,
...), a unit by ``(job_id, kind, key)``. Running the same job again on the same
store resumes it (:func:`nnmle.starts.run_starts` with ``store=``): only the
starts the store does not hold are computed, so a campaign killed at any moment
and restarted gives the results of an uninterrupted run. The file is safe for
several writer processes (SQLite locking; a unit written twice keeps its first
copy).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.numpy

from ..networks import Architecture
from ._result import StartResult

#: Version of the store's table layout.
SCHEMA_VERSION = 1

Key = int | str | tuple

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    job_id  TEXT PRIMARY KEY,
    config  TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS units (
    job_id       TEXT NOT NULL REFERENCES jobs (job_id),
    kind         TEXT NOT NULL,
    key          TEXT NOT NULL,
    seed         INTEGER,
    status       TEXT NOT NULL,
    objective    REAL,
    grad_norm    REAL,
    n_iter       INTEGER,
    seconds      REAL,
    tensors      BLOB,
    extra        TEXT,
    input_digest TEXT,
    written      REAL NOT NULL,
    host         TEXT,
    pid          INTEGER,
    PRIMARY KEY (job_id, kind, key)
);
"""


# ---------------------------------------------------------------- helpers


def jsonable(value):
    """``json.dumps`` default: numpy scalars and arrays to Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "__array__"):  # a jax array
        return np.asarray(value).tolist()
    raise TypeError(f"cannot store a {type(value).__name__} in a JSON configuration")


def _canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=jsonable)


def _encode_key(key: Key) -> str:
    if isinstance(key, tuple | list):
        parts = list(key)
    else:
        parts = [key]
    for p in parts:
        if isinstance(p, bool) or not isinstance(p, int | np.integer | str):
            raise ValueError(
                f"A unit key must be an int, a str or a tuple of them; got {key!r}. "
                f"Fix: e.g. key=3 for start 3, or key=(2, 'fold1')."
            )
    text = _canonical_json([int(p) if isinstance(p, np.integer) else p for p in parts])
    return text if isinstance(key, tuple | list) else text[1:-1]


def _decode_key(text: str) -> Key:
    value = json.loads(text)
    return tuple(value) if isinstance(value, list) else value


def _sort_key(key: Key):
    parts = key if isinstance(key, tuple) else (key,)
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in parts)


def _float(value) -> float:
    return math.nan if value is None else float(value)


def array_digest(*arrays: np.ndarray) -> str:
    """SHA-256 (hex) of arrays: their dtypes, shapes and bytes."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def data_fingerprint(problem) -> str:
    """SHA-256 of the problem's real rows (values, shapes, dtypes) as hex.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle.families import get_family
    >>> from nnmle.networks import Architecture
    >>> from nnmle.problem import Problem
    >>> p = Problem.build(np.zeros((2, 1)), np.zeros((2, 1)), np.ones(2),
    ...                   get_family("gaussian"), Architecture.build(1, hidden=()))
    >>> len(data_fingerprint(p))
    64
    """
    arrays = [problem.X, problem.Y, problem.w]
    if problem.require_data().offset is not None:  # an offset changes the fit
        arrays.append(problem.offset)
    return array_digest(*(np.asarray(a, dtype=np.float64) for a in arrays))


def arch_dict(arch: Architecture, names: bool = True) -> dict:
    """The architecture as JSON data (the store's job identity, model files)."""
    out: dict[str, Any] = {
        "n_inputs": arch.n_inputs,
        "hidden": list(arch.hidden),
        "n_outputs": arch.n_outputs,
        "activation": list(arch.activation),
        "skip": arch.skip,
        "bias": list(arch.bias),
        "mask": None if arch.mask is None else list(arch.mask),
        "mask_values": None if arch.mask_values is None else list(arch.mask_values),
    }
    if names:
        out["input_names"] = list(arch.input_names)
        out["output_names"] = list(arch.output_names)
    return out


def problem_config(problem, solver, executor_identity: Mapping | None = None, **extra) -> dict:
    """The configuration that identifies a job of starts: what its results depend on.

    Parameters
    ----------
    problem : Problem
        The data enter through :func:`data_fingerprint`.
    solver : Solver
        Its method and settings (:meth:`~nnmle.solvers.Solver.to_dict`).
    executor_identity : mapping, optional
        What the executor changes in the results (pool lanes), if anything.
    **extra
        Anything else the caller wants in the identity (JSON values), e.g.
        ``seed``, ``init``, ``rang``, or ``bootstrap=17`` for the starts of a
        bootstrap replicate.

    Returns
    -------
    dict
        JSON-ready; :meth:`Store.job` hashes it into a job id.
    """
    config = {
        "data": data_fingerprint(problem),
        "family": problem.family.name,
        "architecture": arch_dict(problem.arch, names=False),
        "penalty": problem.penalty.to_dict(),
        "solver": {**solver.to_dict(), **dict(executor_identity or {})},
    }
    clash = set(extra) & set(config)
    if clash:
        raise ValueError(f"extra configuration keys {sorted(clash)} clash with the problem's.")
    config.update(extra)
    return config


def default_store_path(output_dir: str | os.PathLike) -> Path:
    """The store used when the CLI is not given ``--store``: ``<output_dir>/nnmle-store.sqlite``."""
    return Path(output_dir) / "nnmle-store.sqlite"


# ---------------------------------------------------------------- the store


@dataclasses.dataclass(frozen=True)
class Unit:
    """One finished unit read back from a :class:`Store`.

    Attributes
    ----------
    job_id, kind : str
    key : int, str or tuple
    status : str
    objective, grad_norm, seconds : float
        ``NaN`` where the writer gave none (SQLite stores NaN as NULL).
    n_iter : int
    seed : int or None
    arrays : dict of str to ndarray
        The unit's arrays (``"theta"`` for a start).
    extra : dict
        Further JSON fields the writer chose.
    input_digest : str or None
        Digest of the unit's input (a start's starting vector), to detect a
        store that holds a different unit under the same key.
    written : float
        Unix time of the write.
    """

    job_id: str
    kind: str
    key: Key
    status: str
    objective: float
    grad_norm: float
    n_iter: int
    seconds: float
    seed: int | None
    arrays: dict
    extra: dict
    input_digest: str | None
    written: float

    @property
    def theta(self) -> np.ndarray | None:
        """The ``"theta"`` array, if the unit has one."""
        return self.arrays.get("theta")

    def to_start_result(self) -> StartResult:
        """The :class:`~nnmle.starts.StartResult` this unit records (key = start index)."""
        if not isinstance(self.key, int) or self.theta is None:
            raise ValueError(
                f"unit {self.kind}:{self.key!r} is not a start (needs an int key and a theta)."
            )
        return StartResult(
            self.key,
            self.theta,
            self.objective,
            self.grad_norm,
            self.n_iter,
            self.status,
            self.seconds,
        )


class Store:
    """A SQLite file of finished units, safe to share between processes.

    Parameters
    ----------
    path : str or path-like
        The file; created (with its directory) when missing. Keep it on a
        local disk: SQLite's WAL mode does not work on network filesystems.
    timeout : float
        Seconds a writer waits for another process's lock before failing.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "campaign.sqlite")
    >>> with Store(path) as store:
    ...     job = store.job({"what": "example", "seed": 0})
    ...     store.put_unit(job, "start", 0, status="converged", objective=1.5,
    ...                    arrays={"theta": np.zeros(3)})
    ...     sorted(store.done_units(job, "start"))
    True
    [0]
    """

    def __init__(self, path: str | os.PathLike, timeout: float = 60.0):
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(
                f"The store path {str(self.path)!r} is a directory; expected a file. "
                f"Fix: e.g. --store {self.path / 'nnmle-store.sqlite'}."
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._host = socket.gethostname()
        self._conn = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self._setup()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise ValueError(
                f"{str(self.path)!r} is not an nnmle store (SQLite said: {exc}). "
                f"Fix: pass a new file name or an existing store."
            ) from None

    def _setup(self) -> None:
        c = self._conn
        mode = c.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.DatabaseError(f"cannot switch to WAL mode (got {mode!r})")
        c.execute("PRAGMA synchronous = FULL")
        c.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    c.execute(statement)
            c.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        version = c.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()[0]
        if int(version) > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"store schema {version} is newer than this nnmle ({SCHEMA_VERSION}); upgrade"
            )

    # -- life cycle
    def close(self) -> None:
        """Close the connection (the file stays)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- jobs
    def job(self, config: Mapping) -> str:
        """Register a job by its configuration and return its id.

        The id is the first 20 hex digits of the SHA-256 of the canonical JSON
        of ``config``: the same configuration always gives the same job, so
        re-running a command finds its finished units.
        """
        text = _canonical_json(dict(config))
        job_id = hashlib.sha256(text.encode()).hexdigest()[:20]
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO jobs VALUES (?, ?, ?)", (job_id, text, time.time())
            )
        return job_id

    def job_config(self, job_id: str) -> dict:
        """The configuration a job was registered with."""
        with self._lock:
            row = self._conn.execute(
                "SELECT config FROM jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
        if row is None:
            raise ValueError(f"No job {job_id!r} in {str(self.path)!r}.")
        return json.loads(row[0])

    def jobs(self) -> list[dict]:
        """Every job: ``{"job_id", "config", "created", "units": {kind: count}}``."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT job_id, config, created FROM jobs ORDER BY created"
            ).fetchall()
            counts = self._conn.execute(
                "SELECT job_id, kind, COUNT(*) FROM units GROUP BY job_id, kind"
            ).fetchall()
        units: dict[str, dict[str, int]] = {}
        for job_id, kind, n in counts:
            units.setdefault(job_id, {})[kind] = n
        return [
            {"job_id": j, "config": json.loads(c), "created": t, "units": units.get(j, {})}
            for j, c, t in rows
        ]

    # -- units
    def put_unit(
        self,
        job_id: str,
        kind: str,
        key: Key,
        *,
        status: str,
        objective: float = math.nan,
        grad_norm: float = math.nan,
        n_iter: int = 0,
        seconds: float = 0.0,
        seed: int | None = None,
        arrays: Mapping[str, np.ndarray] | None = None,
        extra: Mapping | None = None,
        input_digest: str | None = None,
    ) -> bool:
        """Write one finished unit in its own transaction.

        Returns
        -------
        bool
            ``True`` if written, ``False`` if the store already held the unit
            (the first copy is kept: units are deterministic, so a second
            writer computed the same thing).
        """
        blob = safetensors.numpy.save(
            {k: np.ascontiguousarray(v) for k, v in (arrays or {}).items()}
        )
        row = (
            job_id,
            str(kind),
            _encode_key(key),
            None if seed is None else int(seed),
            str(status),
            float(objective),
            float(grad_norm),
            int(n_iter),
            float(seconds),
            blob,
            _canonical_json(dict(extra or {})),
            input_digest,
            time.time(),
            self._host,
            os.getpid(),
        )
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO units VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (job_id, kind, key) DO NOTHING",
                row,
            )
        return cur.rowcount == 1

    def put_start(
        self,
        job_id: str,
        result: StartResult,
        *,
        kind: str = "start",
        seed: int | None = None,
        input_digest: str | None = None,
    ) -> bool:
        """Write a :class:`~nnmle.starts.StartResult` as the unit ``(kind, result.index)``."""
        return self.put_unit(
            job_id,
            kind,
            int(result.index),
            status=result.status,
            objective=result.objective,
            grad_norm=result.grad_norm,
            n_iter=result.n_iter,
            seconds=result.seconds,
            seed=seed,
            arrays={"theta": np.asarray(result.theta, dtype=np.float64)},
            input_digest=input_digest,
        )

    def done_units(self, job_id: str, kind: str) -> set:
        """Keys of the finished units of ``kind`` in the job."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT key FROM units WHERE job_id = ? AND kind = ?", (job_id, kind)
            ).fetchall()
        return {_decode_key(r[0]) for r in rows}

    def units(self, job_id: str, kind: str, keys: Iterable[Key] | None = None) -> list[Unit]:
        """The finished units of ``kind`` (only ``keys`` if given), sorted by key."""
        wanted = None if keys is None else {_encode_key(k) for k in keys}
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, status, objective, grad_norm, n_iter, seconds, seed, tensors, "
                "extra, input_digest, written FROM units WHERE job_id = ? AND kind = ?",
                (job_id, kind),
            ).fetchall()
        out = []
        for key, status, obj, gn, it, sec, seed, blob, extra, digest, written in rows:
            if wanted is not None and key not in wanted:
                continue
            out.append(
                Unit(
                    job_id,
                    kind,
                    _decode_key(key),
                    status,
                    _float(obj),
                    _float(gn),
                    int(it or 0),
                    _float(sec),
                    seed,
                    dict(safetensors.numpy.load(blob)) if blob else {},
                    json.loads(extra) if extra else {},
                    digest,
                    written,
                )
            )
        return sorted(out, key=lambda u: _sort_key(u.key))

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``"ok"`` for a sound file."""
        with self._lock:
            return self._conn.execute("PRAGMA integrity_check").fetchone()[0]


@contextlib.contextmanager
def opened(store: Store | str | os.PathLike):
    """A context giving a :class:`Store`: the one passed, or a path opened and closed here."""
    if isinstance(store, Store):
        yield store
    else:
        s = Store(store)
        try:
            yield s
        finally:
            s.close()


def theta_digest(theta: np.ndarray) -> str:
    """Digest of a starting vector, recorded with each start (first 32 hex digits)."""
    return array_digest(np.asarray(theta, dtype=np.float64))[:32]
