"""Durable results: a SQLite campaign store and safetensors model files.

Campaign store
--------------
A long job (a multi-start campaign, bootstrap replicates, CV folds, the points
of a regularization path) is a set of *units*. A :class:`Store` is one SQLite
file (WAL mode) that records every finished unit the moment it finishes, in
its own transaction: its status, objective, gradient norm, iterations,
timings and arrays (the weights), the arrays as safetensors bytes.

A *job* is identified by a hash of its configuration (see
:func:`problem_config`: a fingerprint of the data, the architecture, family,
penalty, tolerances, seed, ...), a unit by ``(job_id, kind, key)``. Running
the same job again on the same store resumes it: :func:`run_starts_stored`
computes only the starts the store does not hold and returns all of them, so
a campaign killed at any moment and restarted gives the results of an
uninterrupted run (with ``batch=1``, the default, a start's result depends
only on its starting vector). The file is safe for several writer processes
(SQLite locking; a unit written twice keeps its first copy).

Model files
-----------
:func:`save` writes a :class:`~nnmle.fit.FitResult` as one safetensors file:
the weights as float64 tensors and everything else (architecture, family,
penalty, fit statistics, format version) as JSON in the safetensors header.
:func:`load` reads it back after validating every field. No pickle is used
anywhere, so loading a file never runs code; a malformed, truncated or
hostile file raises a ``ValueError`` that says what is wrong.
"""

from ._campaign import (
    SCHEMA_VERSION,
    Store,
    Unit,
    data_fingerprint,
    default_store_path,
    problem_config,
    run_starts_stored,
    theta_digest,
)
from ._modelfile import FORMAT_VERSION, load, save

__all__ = [
    "FORMAT_VERSION",
    "SCHEMA_VERSION",
    "Store",
    "Unit",
    "data_fingerprint",
    "default_store_path",
    "load",
    "problem_config",
    "run_starts_stored",
    "save",
    "theta_digest",
]
