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
a multi-start campaign never aborts the others. Solvers end with codes 0–3;
codes 4–7 are verdicts given after a fit (:mod:`nnmle.estimation`): the MLE does
not exist, an exact fit, a saddle, a plateau.
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
        "the objective approaches its infimum only as weights go to infinity (they grow "
        "along the continuation, or are already so large that the units saturate and the "
        "optimizer no longer moves them), so the maximum likelihood estimate does not exist "
        "(separated classes, saturating units, an interpolating network); the reported weights "
        "are only where the optimizer stopped. Fix: add a penalty, e.g. l2=0.01, chosen with "
        "nnmle.path(X, y, l2=[...], cv=5)",
    ),
    5: (
        "exact_fit",
        "exact fit: the fitted values equal the observations (residual variance 0), so the "
        "gaussian likelihood is unbounded as sigma^2 -> 0; the weights minimize the squared "
        "error (they are finite) but sigma^2, AIC, BIC and standard errors are degenerate",
    ),
    6: (
        "saddle",
        "a stationary point that is not a minimum: the Hessian of the objective has negative "
        "eigenvalues, a direction in which it still decreases (optimizers stall near saddles). "
        "Fix: more starts (n_starts=10), standardized inputs, or nnmle.escape_saddle(theta, res)",
    ),
    7: (
        "plateau",
        "stationary on a plateau: the network fits no better than the intercept-only model "
        "(its hidden units are saturated or dead on the data), which is not a useful maximum of "
        "the likelihood. Fix: more starts (n_starts=10), standardized inputs, or "
        "nnmle.escape_saddle(theta, res)",
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
    """Outcome of one start: weights, objective, (sub)gradient norm, iterations, status code,
    and the fit statistics at the weights (:func:`nnmle.problem.fit_statistics`; ``None``
    where not computed).

    JAX arrays inside a compiled loop; NumPy values once returned by :func:`nnmle.solvers.solve`.
    """

    theta: Any
    value: Any
    grad_norm: Any
    n_iter: Any
    status: Any
    statistics: Any = None


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
