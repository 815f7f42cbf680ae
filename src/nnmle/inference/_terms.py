"""Terms of a design and joint Wald tests per term.

A formula's term groups design columns (``C(g)`` gives one dummy column per
non-reference level); without a formula each input column is a term. A term
enters the network through the first-layer weights leaving its columns (and
the skip-layer weights), so "the term does not matter" is the hypothesis that
all of them are zero. Permutations and sign flips of hidden units only permute
and negate those weights, so the hypothesis and its Wald statistic are
invariant under the symmetry group.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ..data import Design
from ..estimation import as_estimate
from ..networks import Architecture
from ._covariance import Inference, resolve
from ._tests import _input_rows

__all__ = [
    "Term",
    "TermTests",
    "design_terms",
    "find_term",
    "term_positions",
    "wald_test_terms",
    "weight_names",
]

INTERCEPT = "Intercept"
_PENALTY_NOTE = "some weights identified only by the penalty: a penalized Wald test (conservative)"


@dataclass(frozen=True, eq=False)
class Term:
    """A term of the design: the input columns it owns and, if categorical, its levels.

    Attributes
    ----------
    name : str
        ``x1``, ``C(g)``, ``x:z``, or ``Intercept`` (a network without hidden layer).
    columns : tuple of int
        Positions of its columns among the inputs (empty for the intercept).
    levels : tuple
        Levels of a categorical term, the reference first; empty otherwise.
    coding : ndarray of shape (n_levels, n_columns) or None
        The design columns' values at each level (same order as ``levels``).
    """

    name: str
    columns: tuple[int, ...]
    levels: tuple = ()
    coding: np.ndarray | None = field(default=None, repr=False)

    @property
    def categorical(self) -> bool:
        """Whether the term is one categorical factor (a discrete change per level)."""
        return self.coding is not None


def _design_of(result, design: Design | None) -> Design | None:
    return design if design is not None else getattr(result, "design", None)


def _categorical(term, spec, cols: list[str]):
    """Levels (reference first) and coding rows of a one-factor categorical term, or None."""
    if len(term.factors) != 1 or term.factors[0] not in spec.factor_contrasts:
        return None
    state = spec.factor_contrasts[term.factors[0]]
    levels = list(state.levels)
    try:
        reduced = len(cols) == len(levels) - 1
        coding = np.asarray(state.contrasts.get_coding_matrix(levels, reduced_rank=reduced))
    except Exception:  # an exotic contrast: treat the term's columns as numbers
        return None
    if coding.shape != (len(levels), len(cols)):
        return None
    zero = np.flatnonzero(np.all(coding == 0, axis=1))
    ref = int(zero[0]) if zero.size else 0
    order = [ref] + [k for k in range(len(levels)) if k != ref]
    return tuple(levels[k] for k in order), coding[order]


def design_terms(design: Design | None, arch: Architecture, intercept: bool = False) -> list[Term]:
    """The terms of a design (its formula's, or one per input column).

    Parameters
    ----------
    design : Design or None
    arch : Architecture
    intercept : bool
        Include the ``Intercept`` term (a network without hidden layer whose
        output has a free bias): the test that the output bias is zero.

    Returns
    -------
    list of Term

    Examples
    --------
    >>> import numpy as np, pandas as pd, nnmle
    >>> df = pd.DataFrame({"y": [1, 0, 1, 1, 0, 1], "x": np.arange(6.0), "g": list("abcabc")})
    >>> res = nnmle.fit("y ~ x + C(g)", data=df, hidden=())
    >>> [(t.name, t.columns, t.levels) for t in design_terms(res.design, res.arch)]
    [('x', (0,), ()), ('C(g)', (1, 2), ('a', 'b', 'c'))]
    """
    names = list(arch.input_names)
    terms: list[Term] = []
    if intercept and not arch.hidden and arch.bias[-1]:
        terms.append(Term(INTERCEPT, ()))
    spec = None if design is None else design.model_spec
    if spec is None:
        return terms + [Term(n, (j,)) for j, n in enumerate(names)]
    all_cols = list(spec.column_names)
    for term, sl in spec.term_slices.items():
        cols = all_cols[sl]
        if str(term) == "1" or not cols:
            continue
        pos = tuple(names.index(c) for c in cols if c in names)
        cat = _categorical(term, spec, cols)
        if cat is None:
            terms.append(Term(str(term), pos))
        else:
            terms.append(Term(str(term), pos, cat[0], cat[1]))
    return terms


def find_term(terms: list[Term], name: str) -> Term:
    """The term called ``name``, or a ``ValueError`` listing the terms there are."""
    for t in terms:
        if t.name == name:
            return t
    raise ValueError(
        f"No term {name!r} in the model; expected one of {[t.name for t in terms]}. "
        f"Fix: use a term of the formula (or an input column name) as printed there."
    )


def term_positions(arch: Architecture, term: Term) -> np.ndarray:
    """Flat positions of the weights through which ``term`` enters (first layer and skip)."""
    if term.name == INTERCEPT and not term.columns:
        out_names = {f"bias->{o}" for o in arch.output_names}
        return np.array([j for j, n in enumerate(arch.param_names()) if n in out_names], int)
    rows = _input_rows(arch)
    return np.sort(np.concatenate([rows[c] for c in term.columns]))


def weight_names(arch: Architecture, design: Design | None = None) -> list[str]:
    """Names of every flat weight; a formula's intercept is called ``Intercept``.

    In a network without hidden layer fitted through a formula, the output bias
    is the formula's intercept: ``Intercept`` (``Intercept->y[k]`` for several
    outputs); every other name is :meth:`~nnmle.networks.Architecture.param_names`'.
    """
    names = arch.param_names()
    if arch.hidden or design is None or design.formula is None:
        return names
    outs = arch.output_names
    for j, n in enumerate(names):
        for o in outs:
            if n == f"bias->{o}":
                names[j] = INTERCEPT if len(outs) == 1 else f"{INTERCEPT}->{o}"
    return names


@dataclass(frozen=True)
class TermTests:
    """Joint Wald tests that a term's weights are all zero (statsmodels' ``wald_test_terms``).

    Attributes
    ----------
    terms : tuple of str
    statistic, pvalue : ndarray
        chi-square statistic and its tail probability (NaN where a weight is not
        identified by the data).
    df_constraint : ndarray of int
        Weights tested (free and non-zero).
    notes : tuple of str
        Per term: why there is no test, or ``""``.
    method : str
        The covariance (``hessian``, ``sandwich``, ``bootstrap``).
    penalized : bool
    """

    terms: tuple[str, ...]
    statistic: np.ndarray
    pvalue: np.ndarray
    df_constraint: np.ndarray
    notes: tuple[str, ...]
    method: str
    penalized: bool = False

    @property
    def table(self):
        """A pandas DataFrame with ``statistic``, ``pvalue``, ``df_constraint`` by term."""
        import pandas as pd

        return pd.DataFrame(
            {
                "statistic": self.statistic,
                "pvalue": self.pvalue,
                "df_constraint": self.df_constraint,
            },
            index=pd.Index(self.terms, name="term"),
        )

    def summary_frame(self):
        """The :attr:`table` (statsmodels' name)."""
        return self.table

    def to_dict(self) -> dict:
        """Plain-Python rows."""
        rows = []
        for k, t in enumerate(self.terms):
            ok = np.isfinite(self.statistic[k])
            rows.append(
                {
                    "term": t,
                    "df": int(self.df_constraint[k]),
                    "statistic": float(self.statistic[k]) if ok else None,
                    "pvalue": float(self.pvalue[k]) if ok else None,
                    "note": self.notes[k] or None,
                }
            )
        return {"method": self.method, "penalized": self.penalized, "terms": rows}


def wald_test_terms(
    result, design: Design | None = None, se: str = "hessian", inference: Inference | None = None
) -> TermTests:
    """Joint Wald test per term: every weight through which the term enters is zero.

    ``W = b' Cov_b^-1 b`` is referred to chi-square with as many degrees of
    freedom as the term has free non-zero weights (statsmodels' ``wald_test_terms``
    for a network without hidden layer, where they are the term's coefficients
    plus the ``Intercept``). A term with a weight the data do not identify gets
    no test. Under a penalty ``Cov`` is the penalized (Bayesian) covariance
    ``phi H^-1``, positive definite on the term's weights, so the statistic keeps
    the term's number of weights as its degrees of freedom; the penalty shrinks
    the weights and the test is approximate (Wood 2013 refers such statistics to
    the term's effective degrees of freedom instead). A term with weights
    identified only by the penalty (e.g. into duplicate hidden units) still gets
    the statistic, with a note: the data determine the term's effect through the
    identified combinations of its weights, and the directions only the penalty
    fixes (where the penalized estimate is near zero) add degrees of freedom but
    little to the statistic, so the test is conservative.

    Parameters
    ----------
    result : Estimate or FitResult
    design : Design, optional
        The formula's terms (default ``result.design``; none: one term per input).
    se : {"hessian", "sandwich", "bootstrap"}
    inference : Inference, optional

    Returns
    -------
    TermTests

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2)); y = X[:, 0] + rng.normal(size=100)
    >>> t = wald_test_terms(nnmle.fit(X, y, hidden=(), family="gaussian"))
    >>> t.terms, t.df_constraint.tolist(), bool(t.pvalue[1] < 1e-6 < t.pvalue[2])
    (('Intercept', 'x1', 'x2'), [1, 1, 1], True)
    """
    est = as_estimate(result)
    inf = resolve(est, se, None, inference)
    arch = est.arch
    terms = design_terms(_design_of(result, design), arch, intercept=True)
    label = dict(zip(np.flatnonzero(est.problem.free), inf.identification, strict=True))
    stat, pval, dfs, notes = [], [], [], []
    for term in terms:
        rows = term_positions(arch, term)
        rows = rows[np.isin(rows, inf.index)]
        dfs.append(int(rows.size))
        labels = {label[r] for r in rows}
        if rows.size == 0 or "none" in labels:
            why = "no free non-zero weight" if rows.size == 0 else "a weight is not identified"
            stat.append(np.nan)
            pval.append(np.nan)
            notes.append(why)
            continue
        pos = np.searchsorted(inf.index, rows)
        b = inf.theta[rows]
        w = float(b @ np.linalg.solve(inf.cov[np.ix_(pos, pos)], b))
        stat.append(w)
        pval.append(float(stats.chi2.sf(w, rows.size)))
        notes.append(_PENALTY_NOTE if "penalty" in labels else "")
    return TermTests(
        tuple(t.name for t in terms),
        np.array(stat),
        np.array(pval),
        np.array(dfs),
        tuple(notes),
        inf.method,
        bool(est.penalty.active),
    )
