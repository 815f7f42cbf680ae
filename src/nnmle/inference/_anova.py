"""Likelihood-ratio tests by refitting: drop one term (R's ``drop1(test="LRT")``), or two
nested fits (``anova(m1, m2)``), with a chi-square or a parametric-bootstrap p-value.

Dropping a term refits the network with the term's first-layer (and skip)
weights frozen at zero: a mask on the same architecture, so the restricted
network is nested in the full one and every refit runs through
:func:`nnmle.estimation.estimate` with several starts (the full fit's weights
with the term's set to zero, then random starts drawn on the data's scale). The
table says how many starts reached the best restricted objective.

When the chi-square reference holds
-----------------------------------
``LR = 2 (loglik_full - loglik_restricted)`` is chi-square with as many degrees
of freedom as weights dropped when the null is an interior point of a regular
model: true for a term of a GLM (a network without hidden layer) and for an
input of an identified network. It is **not** valid

* when the models differ in their hidden units: under the null the extra
  units' incoming weights are not identified (the null lies on the boundary of
  a singular model; Davies' problem), and the statistic's distribution is not
  chi-square;
* for penalized fits, which are not maximum-likelihood fits.

There ``method="bootstrap"`` calibrates the statistic by a parametric bootstrap:
``n_boot`` data sets are simulated from the restricted fit, both models are
refitted to each (multi-start), and the p-value is
``(1 + #{LR* >= LR}) / (n_boot + 1)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
from scipy import stats

from ..data import Data, Design
from ..estimation import Estimate, as_estimate, estimate
from ..problem import Problem
from ..solvers import choose_solver
from ..starts import starting_values
from ._terms import _design_of, design_terms, find_term, term_positions

__all__ = ["Anova", "anova", "restricted_problem", "simulate"]

TESTS = ("LR",)
ANOVA_METHODS = ("chi2", "bootstrap")
#: starts whose objective is within this relative distance of the best reached it
OBJ_RTOL = 1e-6


@dataclass(frozen=True)
class Anova:
    """Likelihood-ratio tests (one row per dropped term, or one for two nested fits).

    Attributes
    ----------
    rows : tuple of dict
        ``name`` (the term, or ``"model 2 vs 1"``), ``df`` (weights dropped),
        ``deviance`` and ``loglik`` of the restricted fit, ``lr`` (the
        statistic), ``pvalue``, ``regular`` (whether the chi-square reference
        holds), ``starts`` and ``starts_at_best`` (refit starts, and how many
        reached the best restricted objective), ``n_boot`` (replicates used).
    method : str
        ``"chi2"`` or ``"bootstrap"``.
    notes : tuple of str
    """

    rows: tuple[dict, ...]
    method: str
    notes: tuple[str, ...] = ()

    @property
    def table(self):
        """A pandas DataFrame indexed by term: ``df``, ``deviance``, ``lr``, ``pvalue``,
        ``starts_at_best``, ``starts``, ``regular``."""
        import pandas as pd

        cols = ["df", "deviance", "loglik", "lr", "pvalue", "starts_at_best", "starts", "regular"]
        frame = pd.DataFrame([{c: r[c] for c in cols} for r in self.rows], columns=cols)
        frame.index = pd.Index([r["name"] for r in self.rows], name="term")
        return frame

    def summary_frame(self):
        """The :attr:`table`."""
        return self.table

    def to_dict(self) -> dict:
        """Plain-Python view."""
        return {
            "method": self.method,
            "rows": [dict(r) for r in self.rows],
            "notes": list(self.notes),
        }


def restricted_problem(problem: Problem, positions) -> Problem:
    """``problem`` with the weights at ``positions`` frozen at zero (a mask: the same shapes).

    Examples
    --------
    >>> import numpy as np
    >>> prob, _ = Problem.from_data(np.eye(4)[:, :2], [0, 1, 1, 0], hidden=())
    >>> restricted_problem(prob, [0]).n_params
    2
    """
    arch = problem.arch
    free = arch.free_mask()
    values = arch.fixed_values()
    free[np.asarray(positions, dtype=int)] = False
    values[np.asarray(positions, dtype=int)] = 0.0
    new = dataclasses.replace(
        arch, mask=tuple(bool(f) for f in free), mask_values=tuple(float(v) for v in values)
    )
    return problem.replace(arch=new)


def simulate(problem: Problem, theta, rng: np.random.Generator) -> Problem:
    """``problem`` with new targets drawn from the fitted distribution at ``theta``.

    Gaussian: ``mu + sigma N(0, 1)`` with ``sigma^2`` the ML estimate; bernoulli,
    binomial (the case weights are the trials), poisson and multinomial: draws
    from the fitted means. The case weights and inputs are kept.
    """
    data = problem.require_data()
    fam = problem.family.name
    mu = problem.mean(theta)
    n = problem.n_obs
    if fam == "gaussian":
        sigma = np.sqrt(problem.statistics(theta)["scale"])
        Y = mu + sigma * rng.standard_normal(mu.shape)
    elif fam == "bernoulli":
        Y = (rng.random(mu.shape) < mu).astype(float)
    elif fam == "binomial":
        m = np.round(problem.w).astype(int)
        Y = (rng.binomial(m, mu[:, 0]) / np.maximum(m, 1))[:, None]
    elif fam == "poisson":
        Y = rng.poisson(mu).astype(float)
    elif fam == "multinomial":
        u = rng.random((n, 1))
        k = np.minimum((np.cumsum(mu, axis=1) < u).sum(axis=1), mu.shape[1] - 1)
        Y = np.eye(mu.shape[1])[k]
    else:
        raise ValueError(
            f"method='bootstrap' simulates data from the fitted family; the {fam} family is not "
            f"supported: expected gaussian, bernoulli, binomial, poisson or multinomial. "
            f"Fix: method='chi2'."
        )
    Yp = np.zeros(data.Y.shape)
    Yp[:n] = Y
    return problem.replace(data=Data(data.X, jnp.asarray(Yp), data.w))


def _refit(problem: Problem, starts0: list[np.ndarray], n_starts: int, seed: int, solver):
    """Fit ``problem`` from ``starts0`` plus random starts; the estimate and the count at best."""
    extra = max(n_starts - len(starts0), 0)
    rand = starting_values(problem, extra, seed=seed) if extra else np.zeros((0, len(starts0[0])))
    thetas0 = np.vstack([np.atleast_2d(s) for s in starts0] + [rand])
    est = estimate(problem, thetas0, solver, check=False)
    objs = np.array([r.objective for r in est.starts])
    best = est.objective
    at_best = int(np.sum(np.isfinite(objs) & (objs <= best + OBJ_RTOL * max(1.0, abs(best)))))
    return est, at_best


def _solver(est: Estimate, problem: Problem):
    return choose_solver(problem, tol=est.solver.tol, max_iter=est.solver.max_iter)


def _zeroed(theta, positions) -> np.ndarray:
    out = np.array(theta, dtype=np.float64)
    out[positions] = 0.0
    return out


def _bootstrap_p(lr, small, big, make_big_starts, n_starts, n_boot, seed) -> tuple[float, int]:
    """Parametric bootstrap p-value of ``lr`` under ``small`` (an Estimate) against ``big``."""
    exceed, used = 0, 0
    s_solver, b_solver = _solver(small, small.problem), _solver(big, big.problem)
    for b in range(n_boot):
        rng = np.random.default_rng([seed, b])
        ps = simulate(small.problem, small.theta, rng)
        pb = big.problem.replace(data=ps.data)
        es, _ = _refit(ps, [small.theta], n_starts, seed + b + 1, s_solver)
        eb, _ = _refit(pb, make_big_starts(es.theta), n_starts, seed + b + 1, b_solver)
        if not (np.isfinite(es.loglik) and np.isfinite(eb.loglik)):
            continue
        used += 1
        exceed += 2.0 * (eb.loglik - es.loglik) >= lr - 1e-9 * max(1.0, abs(lr))
    return (1.0 + exceed) / (used + 1.0), used


def _check(test, method, n_starts, n_boot) -> None:
    if test not in TESTS:
        raise ValueError(
            f"test={test!r} is not supported: expected 'LR' (likelihood ratio, by refitting). "
            f"Fix: nnmle.anova(res, test='LR'); Wald tests per term: res.wald_test_terms()."
        )
    if method not in ANOVA_METHODS:
        raise ValueError(
            f"method={method!r} is not supported: expected 'chi2' or 'bootstrap'. "
            f"Fix: method='chi2', or method='bootstrap' where the chi-square does not hold."
        )
    for name, v in (("n_starts", n_starts), ("n_boot", n_boot)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(
                f"{name} must be a positive integer; got {v!r}. Fix: e.g. {name}="
                f"{5 if name == 'n_starts' else 99}."
            )


def anova(
    *results,
    test: str = "LR",
    method: str = "chi2",
    terms=None,
    design: Design | None = None,
    n_starts: int = 5,
    n_boot: int = 99,
    seed: int = 0,
) -> Anova:
    """Likelihood-ratio tests: drop each term of one fit, or compare two nested fits.

    See the module docstring for what is refitted and when the chi-square
    reference holds.

    Parameters
    ----------
    *results : FitResult or Estimate
        One fit (drop-one tests of its terms) or two nested fits of the same
        data (the one with fewer weights is the null).
    test : {"LR"}
    method : {"chi2", "bootstrap"}
    terms : sequence of str, optional
        The terms to drop (default all but the intercept).
    design : Design, optional
        The formula's terms (default ``result.design``).
    n_starts : int
        Starts per refit.
    n_boot : int
        Parametric-bootstrap replicates (``method="bootstrap"``).
    seed : int

    Returns
    -------
    Anova

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2)); y = X[:, 0] + rng.normal(size=100)
    >>> a = anova(nnmle.fit(X, y, hidden=(), family="gaussian"), n_starts=2)
    >>> [r["name"] for r in a.rows], a.rows[0]["pvalue"] < 1e-6 < a.rows[1]["pvalue"]
    (['x1', 'x2'], True)
    """
    _check(test, method, n_starts, n_boot)
    if len(results) == 2:
        return _compare(results[0], results[1], method, n_starts, n_boot, seed)
    if len(results) != 1:
        raise ValueError(
            f"anova takes one fit (drop-one tests) or two nested fits; got {len(results)}. "
            f"Fix: nnmle.anova(res) or nnmle.anova(small, big)."
        )
    result = results[0]
    est = as_estimate(result)
    problem = est.problem
    problem.require_data()
    all_terms = design_terms(_design_of(result, design), est.arch)
    chosen = all_terms if terms is None else [find_term(all_terms, t) for t in terms]
    solver = _solver(est, problem)
    rows, notes = [], []
    regular = not est.penalty.active
    if not regular:
        notes.append(
            "a penalized fit is not a maximum-likelihood fit: the chi-square reference does not "
            "hold" + ("" if method == "bootstrap" else "; method='bootstrap' calibrates it")
        )
    for k, term in enumerate(chosen):
        pos = term_positions(est.arch, term)
        pos = pos[est.problem.free[pos]]
        restricted = restricted_problem(problem, pos)
        er, at_best = _refit(restricted, [_zeroed(est.theta, pos)], n_starts, seed + k, solver)
        lr = 2.0 * (est.loglik - er.loglik)
        row = {
            "name": term.name, "df": int(pos.size), "deviance": float(er.deviance),
            "loglik": float(er.loglik), "lr": float(lr), "regular": regular,
            "starts": len(er.starts), "starts_at_best": at_best, "n_boot": None,
        }  # fmt: skip
        if method == "chi2":
            row["pvalue"] = float(stats.chi2.sf(max(lr, 0.0), pos.size))
        else:
            full = est

            def big_starts(theta_r, full=full):
                return [theta_r, full.theta]

            row["pvalue"], row["n_boot"] = _bootstrap_p(
                lr, er, full, big_starts, n_starts, n_boot, seed + 1000 * (k + 1)
            )
        if lr < 0:
            notes.append(
                f"{term.name}: the restricted refit has the larger likelihood, so the full fit is "
                f"not its best optimum; refit it with more starts (n_restarts)"
            )
        rows.append(row)
    return Anova(tuple(rows), method, tuple(notes))


def _compare(a, b, method, n_starts, n_boot, seed) -> Anova:
    ea, eb = as_estimate(a), as_estimate(b)
    small, big = (ea, eb) if ea.n_params <= eb.n_params else (eb, ea)
    same = (
        small.family.name == big.family.name
        and small.n_obs == big.n_obs
        and small.problem.data is not None
        and big.problem.data is not None
        and np.array_equal(small.problem.Y, big.problem.Y)
    )
    if not same or small.n_params == big.n_params:
        raise ValueError(
            "anova(small, big) needs two fits of the same data and family, one with fewer "
            f"weights; got {small.family.name}/{big.family.name}, {small.n_obs}/{big.n_obs} "
            f"rows, {small.n_params}/{big.n_params} weights. Fix: fit both models to the "
            f"same data (nnmle.fit(X, y, hidden=...))."
        )
    df = big.n_params - small.n_params
    lr = 2.0 * (big.loglik - small.loglik)
    notes = []
    regular = small.arch.hidden == big.arch.hidden and not (
        small.penalty.active or big.penalty.active
    )
    if small.arch.hidden != big.arch.hidden:
        notes.append(
            f"the fits differ in their hidden units ({small.arch.describe()} within "
            f"{big.arch.describe()}): under the null the extra units' weights are not "
            f"identified, so the chi-square({df}) reference does not hold"
            + ("" if method == "bootstrap" else "; use method='bootstrap'")
        )
    if small.penalty.active or big.penalty.active:
        notes.append("a penalized fit is not an MLE: the chi-square reference does not hold")
    row = {
        "name": f"{big.arch.describe()} vs {small.arch.describe()}", "df": int(df),
        "deviance": float(small.deviance), "loglik": float(small.loglik), "lr": float(lr),
        "regular": regular, "starts": len(small.starts), "starts_at_best": None, "n_boot": None,
    }  # fmt: skip
    if method == "chi2":
        row["pvalue"] = float(stats.chi2.sf(max(lr, 0.0), df))
    else:

        def big_starts(theta_small, big=big):
            return [big.theta]

        row["pvalue"], row["n_boot"] = _bootstrap_p(
            lr, small, big, big_starts, n_starts, n_boot, seed
        )
    return Anova((row,), method, tuple(notes))
