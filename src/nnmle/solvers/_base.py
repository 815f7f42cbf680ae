"""The contract every solver keeps: pure ``init``/``step``/``done``/``solution`` functions.

A solver is a :class:`Methods` tuple of pure functions (optax's
``GradientTransformation`` spirit) plus numeric :class:`Settings` that are
*traced* under ``jit`` (a new tolerance or learning rate compiles nothing):

- ``init(theta0, problem, settings, key) -> state``
- ``step(state, problem, settings) -> state``: one iteration; it sets the status
- ``done(state) -> bool``: the status is no longer :data:`RUNNING`
- ``iteration(state) -> int``
- ``solution(state, problem) -> Solution``

Under ``jit`` nothing raises: a failure is a status code with a message a user
reads (:data:`STATUS`), as optimistix's ``RESULTS``, so one diverging start of
a multi-start campaign never aborts the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["RUNNING", "STATUS", "Methods", "Settings", "Solution", "status_code", "status_message"]

#: Status code of a start that is still iterating.
RUNNING = -1

#: Status codes of one start, with the message a user reads.
STATUS = {
    0: ("converged", "gradient norm at or below the tolerance"),
    1: ("max_iter", "iteration limit reached before the gradient tolerance; raise max_iter"),
    2: (
        "non_finite",
        "the objective or gradient became NaN/inf; weights kept from the last "
        "finite iterate. Standardize X, lower the learning rate, or add a penalty",
    ),
    3: (
        "stalled",
        "the line search made no progress for many iterations; the gradient "
        "tolerance is below what float64 can resolve here, or the problem is ill-conditioned",
    ),
    4: (
        "mle_not_exist",
        "fitted probabilities numerically 0 or 1 (or an exact fit) occurred: the weights grow "
        "without bound while the objective approaches its infimum, so the maximum likelihood "
        "estimate does not exist (separated classes, an interpolating network). Fix: add a "
        "penalty, e.g. l2=0.01, chosen with nnmle.path(...)",
    ),
}


def status_code(name: str) -> int:
    """The code of a status name.

    Examples
    --------
    >>> status_code("stalled")
    3
    """
    for code, (n, _) in STATUS.items():
        if n == name:
            return code
    raise ValueError(f"Unknown status {name!r}: expected one of {[n for n, _ in STATUS.values()]}.")


def status_message(name: str) -> str:
    """The message of a status name."""
    return STATUS[status_code(name)][1]


class Solution(NamedTuple):
    """Outcome of one start: weights, objective, (sub)gradient norm, iterations, status code.

    JAX arrays inside a compiled loop; NumPy values once returned by :func:`nnmle.solvers.solve`.
    """

    theta: Any
    value: Any
    grad_norm: Any
    n_iter: Any
    status: Any


class Settings(NamedTuple):
    """Numeric settings, traced under jit: tolerance, iteration limit, learning rate (adam)."""

    tol: Any
    max_iter: Any
    learning_rate: Any


class Methods(NamedTuple):
    """A solver's pure functions (see the module docstring); hashable, a static jit argument."""

    name: str
    init: Callable
    step: Callable
    done: Callable
    iteration: Callable
    solution: Callable
