"""Solvers: L-BFGS, proximal gradient (L1, elastic net) and minibatch Adam.

Every solver keeps one contract (:mod:`nnmle.solvers._base`): pure
``init``/``step``/``done``/``solution`` functions and traced settings, run by
one loop (:func:`solve`); a failure is a status code with a message, never an
exception under ``jit``. :func:`choose_solver` decides in one place which
solver a problem gets.
"""

from . import adam, lbfgs, proximal
from ._base import RUNNING, STATUS, Methods, Settings, Solution, status_code, status_message
from ._loop import advance, init_state, refill, solution, solve, start_key, status_of, trace
from ._solver import SOLVERS, Solver, choose_solver

__all__ = [
    "RUNNING",
    "SOLVERS",
    "STATUS",
    "Methods",
    "Settings",
    "Solution",
    "Solver",
    "adam",
    "advance",
    "choose_solver",
    "init_state",
    "lbfgs",
    "proximal",
    "refill",
    "solution",
    "solve",
    "start_key",
    "status_code",
    "status_message",
    "status_of",
    "trace",
]
