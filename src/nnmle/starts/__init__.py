"""Running starts: one runner, executors (threads, Dask), the campaign store, divergence.

:func:`run_starts` is the only way nnmle runs an optimizer from starting
weights: fits, campaigns, paths, cross-validation folds, bootstrap replicates
and saddle escapes all call it, with an executor (:class:`LocalExecutor`,
:class:`DaskExecutor`) and optionally a :class:`Store` that keeps every
finished start and makes a rerun resume.
"""

from ._dask import DaskExecutor, dask_client, map_units, pin_workers
from ._divergence import DivergenceCheck, check_divergence, weight_norm_trace
from ._local import LocalExecutor
from ._result import StartingValues, StartResult, from_solution, starting_values
from ._runner import run_starts
from ._saddle import (
    SINGLE_THREAD_EIGH,
    HessianCheck,
    blas_threads,
    hessian_check,
    positive_definite,
)
from ._stationarity import KinkCheck, has_kinks, kink_stationarity, polish_kinks
from ._store import (
    SCHEMA_VERSION,
    Store,
    Unit,
    arch_dict,
    array_digest,
    data_fingerprint,
    default_store_path,
    jsonable,
    opened,
    problem_config,
    theta_digest,
)

__all__ = [
    "SCHEMA_VERSION",
    "SINGLE_THREAD_EIGH",
    "HessianCheck",
    "KinkCheck",
    "blas_threads",
    "has_kinks",
    "hessian_check",
    "kink_stationarity",
    "positive_definite",
    "DaskExecutor",
    "DivergenceCheck",
    "LocalExecutor",
    "StartResult",
    "StartingValues",
    "Store",
    "Unit",
    "arch_dict",
    "array_digest",
    "check_divergence",
    "dask_client",
    "data_fingerprint",
    "default_store_path",
    "from_solution",
    "jsonable",
    "map_units",
    "opened",
    "pin_workers",
    "polish_kinks",
    "problem_config",
    "run_starts",
    "starting_values",
    "theta_digest",
    "weight_norm_trace",
]
