"""Covariate effects with intervals: average marginal effects and partial dependence.

Both are functions of the network's *function*, so the symmetry group leaves
them unchanged: they are identified (with standard errors) even where the
weights are not (:mod:`nnmle.inference._functionals` for the delta method and
the identification of each number).

* **Average marginal effect** (statsmodels' ``get_margeff(at="overall")``) of a
  numeric column ``j``: ``(1/n) sum_i d mu(x_i) / d x_ij`` (``method="dydx"``;
  ``eydx``, ``dyex``, ``eyex`` are the elasticities), the average over the
  fitted rows weighted by the case weights (each row once for the binomial
  family). Of a categorical term of a formula: for each level, the average
  discrete change ``(1/n) sum_i [mu(x_i | level) - mu(x_i | reference)]`` with
  the term's columns set to the level's coding (other columns, interactions
  included, as observed). ``at="mean"`` evaluates at the average row instead.
* **Partial dependence** (Friedman 2001; scikit-learn's
  ``partial_dependence(kind="average", method="brute")``): the average fitted
  mean with one feature (or two) set to each grid value, with pointwise bands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats.mstats import mquantiles

from ..data import Design
from ..estimation import Estimate, as_estimate
from ..problem import Problem
from ._covariance import Inference, resolve
from ._functionals import METHODS, Delta, averages, data_rows, delta, slopes
from ._terms import Term, _design_of, design_terms

__all__ = [
    "Margins",
    "PartialDependence",
    "check_alpha",
    "margins",
    "partial_dependence",
    "require_rows",
]

#: the statsmodels column name of each method
EFFECT_COLUMN = {"dydx": "dy/dx", "eydx": "d(lny)/dx", "dyex": "dy/d(lnx)", "eyex": "d(lny)/d(lnx)"}
_AT = ("overall", "mean")


def require_rows(result, what: str) -> Problem:
    """The problem of ``result``, or a ``ValueError`` when it carries no rows to average over."""
    est = as_estimate(result)
    if est.problem.data is None:
        raise ValueError(
            f"{what} averages over the fitted rows, and this model carries none (it was loaded "
            f"from a file): expected a fit with its data, received a model without. Fix: refit "
            f"on the data (nnmle.fit(...)), then ask for {what} again."
        )
    return est.problem


def _check_level(level: float) -> None:
    if not isinstance(level, int | float) or not 0 < level < 1:
        raise ValueError(
            f"level must be in (0, 1); got {level!r}. Fix: e.g. level=0.95 (alpha=0.05)."
        )


def check_alpha(alpha: float) -> float:
    """``1 - alpha`` for an ``alpha`` in (0, 1), or a ``ValueError`` that says so."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ValueError(
            f"alpha must be in (0, 1) (the intervals' level is 1 - alpha); got {alpha!r}. "
            f"Fix: e.g. alpha=0.05 for 95% intervals."
        )
    return 1.0 - float(alpha)


def _outputs(est: Estimate, design: Design | None) -> tuple[str, ...]:
    """Names of the mean's columns: ``y``, or ``y=<class>`` for the multinomial."""
    if est.family.name != "multinomial":
        return tuple(est.arch.output_names)
    K = est.arch.n_outputs + 1
    classes = tuple(design.classes) if design is not None and design.classes else tuple(range(K))
    return tuple(f"y={c}" for c in classes)


def _with_columns(X: np.ndarray, cols: Sequence[int], values) -> np.ndarray:
    out = X.copy()
    out[:, list(cols)] = values
    return out


def _replicate_values(fn, inf: Inference) -> np.ndarray | None:
    """The functions at every bootstrap replicate (``(B, m)``), or None without a bootstrap."""
    if inf.bootstrap is None:
        return None
    return np.stack([np.ravel(fn(th)) for th in inf.bootstrap.ok_replicates])


# --- average marginal effects --------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Margins:
    """Average marginal effects with standard errors (statsmodels' ``DiscreteMargins``).

    Attributes
    ----------
    names : tuple of str
        One per effect: a numeric column, or ``term[level]`` for a level of a
        categorical term (``C(g)[T.b]``: the change from the reference level).
    terms : tuple of str
        The term of each effect.
    kinds : tuple of str
        ``"dydx"`` (or the elasticity asked for), or ``"discrete"``.
    outputs : tuple of str
        The mean's columns (``y``, or ``y=<class>`` for the multinomial).
    margeff, margeff_se, tvalues, pvalues : ndarray
        Shape ``(m,)`` for one mean, ``(m, K)`` for class probabilities; ``se`` NaN
        where an effect is not identified, ``z`` and ``p`` NaN unless the data
        identify it.
    margeff_cov : ndarray
        Covariance of the flattened effects (row-major: effect, then output).
    identification : ndarray of str
        ``"data"``, ``"penalty"`` or ``"none"`` per effect.
    at, method : str
    level : float
        Level of the stored intervals ``ci_low``, ``ci_high``.
    se_method : str
        ``"delta"`` or ``"bootstrap"`` (percentile intervals).
    """

    names: tuple[str, ...]
    terms: tuple[str, ...]
    kinds: tuple[str, ...]
    outputs: tuple[str, ...]
    margeff: np.ndarray
    margeff_se: np.ndarray
    tvalues: np.ndarray
    pvalues: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    margeff_cov: np.ndarray = field(repr=False)
    identification: np.ndarray = field(repr=False)
    at: str = "overall"
    method: str = "dydx"
    level: float = 0.95
    se_method: str = "delta"
    replicates: np.ndarray | None = field(default=None, repr=False)

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        """Intervals at level ``1 - alpha``: shape ``(m, 2)`` (or ``(m, K, 2)``)."""
        level = check_alpha(alpha)
        if self.replicates is not None:
            lo, hi = np.quantile(self.replicates, [alpha / 2, 1 - alpha / 2], axis=0)
            lo, hi = lo.reshape(self.margeff.shape), hi.reshape(self.margeff.shape)
        else:
            from scipy import stats

            q = stats.norm.ppf(0.5 + level / 2)
            lo, hi = self.margeff - q * self.margeff_se, self.margeff + q * self.margeff_se
        bad = np.isnan(self.margeff_se)
        return np.stack([np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)], axis=-1)

    def summary_frame(self, alpha: float = 0.05):
        """A pandas DataFrame with statsmodels' ``DiscreteMargins.summary_frame`` columns.

        Columns ``dy/dx`` (the method's name), ``Std. Err.``, ``z``, ``Pr(>|z|)``,
        ``Conf. Int. Low``, ``Cont. Int. Hi.`` (statsmodels' spelling, kept so that
        code written for it runs), and ``identification``; indexed by effect, or by
        ``(endog, exog)`` for class probabilities.
        """
        import pandas as pd

        ci = self.conf_int(alpha)
        cols = [EFFECT_COLUMN[self.method], "Std. Err.", "z", "Pr(>|z|)"]
        cols += ["Conf. Int. Low", "Cont. Int. Hi."]
        if self.margeff.ndim == 1:
            data = [self.margeff, self.margeff_se, self.tvalues, self.pvalues, ci[:, 0], ci[:, 1]]
            frame = pd.DataFrame(dict(zip(cols, data, strict=True)), index=list(self.names))
            frame["identification"] = self.identification
            return frame
        parts = []
        for k, out in enumerate(self.outputs):
            data = [a[:, k] for a in (self.margeff, self.margeff_se, self.tvalues, self.pvalues)]
            data += [ci[:, k, 0], ci[:, k, 1]]
            idx = pd.MultiIndex.from_product([[out], list(self.names)], names=["endog", "exog"])
            part = pd.DataFrame(dict(zip(cols, data, strict=True)), index=idx)
            part["identification"] = self.identification[:, k]
            parts.append(part)
        return pd.concat(parts)

    def to_dict(self) -> dict:
        """Plain-Python rows (``None`` where a number does not exist)."""

        def num(a, i):
            v = float(np.asarray(a).reshape(len(self.names), -1)[i][k])
            return v if np.isfinite(v) else None

        rows = []
        for i, name in enumerate(self.names):
            for k, out in enumerate(self.outputs):
                lab = np.asarray(self.identification).reshape(len(self.names), -1)[i][k]
                rows.append(
                    {
                        "effect": name, "term": self.terms[i], "kind": self.kinds[i],
                        "output": out, "value": num(self.margeff, i), "se": num(self.margeff_se, i),
                        "z": num(self.tvalues, i), "p": num(self.pvalues, i),
                        "ci_low": num(self.ci_low, i), "ci_high": num(self.ci_high, i),
                        "identification": str(lab),
                    }
                )  # fmt: skip
        return {
            "at": self.at, "method": self.method, "level": self.level,
            "se_method": self.se_method, "effects": rows,
        }  # fmt: skip


def _effect_inputs(result, what: str, se, level, inference, design):
    """What an effect needs: the estimate, its problem with rows, the inference and the
    design with its terms (the level and the rows checked)."""
    _check_level(level)
    est = as_estimate(result)
    problem = require_rows(est, what)
    inf = resolve(est, se, level, inference)
    design = _design_of(result, design)
    return est, problem, inf, design, design_terms(design, est.arch)


def _effect_plan(terms: list[Term], X: np.ndarray, dummy: bool) -> list[tuple]:
    """``(name, term, kind, column or (cols, coding rows))`` per effect, in design order."""
    plan: list[tuple] = []
    for t in terms:
        if t.categorical and t.coding is not None:
            for k in range(1, len(t.levels)):
                row = t.coding[k]
                unit = np.count_nonzero(row) == 1 and np.max(np.abs(row)) == 1
                name = f"{t.name}[T.{t.levels[k]}]" if unit else f"{t.name}[{t.levels[k]}]"
                plan.append((name, t.name, "discrete", (t.columns, t.coding[0], row)))
            continue
        for j in t.columns:
            binary = dummy and np.all(np.isin(X[:, j], (0.0, 1.0)))
            name = t.name if len(t.columns) == 1 else f"{t.name}[{j}]"
            if binary:
                plan.append((name, t.name, "discrete", ((j,), np.zeros(1), np.ones(1))))
            else:
                plan.append((name, t.name, "slope", j))
    return plan


def margins(
    result,
    design: Design | None = None,
    at: str = "overall",
    method: str = "dydx",
    dummy: bool = False,
    se: str = "hessian",
    level: float = 0.95,
    inference: Inference | None = None,
) -> Margins:
    """Average marginal effects of the inputs on the mean, with delta-method errors.

    See the module docstring for the definitions. The standard errors are the
    delta method with the fit's covariance (or the bootstrap replicates' spread
    with ``se="bootstrap"``); with one hidden layer or more they exist although
    the weights are not identified, because the effects do not depend on which
    symmetric twin of the weights is used.

    Parameters
    ----------
    result : Estimate or FitResult
    design : Design, optional
        The formula's terms (default ``result.design``); categorical terms get
        discrete changes from their reference level.
    at : {"overall", "mean"}
        Average of the effects over the rows, or the effect at the average row.
    method : {"dydx", "eydx", "dyex", "eyex"}
    dummy : bool
        Treat a 0/1 numeric column as a discrete change from 0 to 1 (statsmodels'
        ``dummy=True``).
    se : {"hessian", "sandwich", "bootstrap"}
    level : float
    inference : Inference, optional

    Returns
    -------
    Margins

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] + rng.logistic(size=200) > 0).astype(float)
    >>> m = margins(nnmle.fit(X, y, hidden=()))
    >>> m.names, bool(m.pvalues[0] < 1e-6 < m.pvalues[1])
    (('x1', 'x2'), True)
    """
    if at not in _AT:
        raise ValueError(f"at={at!r} is not supported: expected one of {_AT}. Fix: at='overall'.")
    if method not in METHODS:
        raise ValueError(
            f"method={method!r} is not a marginal effect nnmle knows: expected one of "
            f"{', '.join(METHODS)}. Fix: method='dydx' (the derivative of the mean)."
        )
    est, problem, inf, design, terms = _effect_inputs(
        result, "get_margeff", se, level, inference, design
    )
    rows = data_rows(problem, at)
    plan = _effect_plan(terms, problem.X, dummy)

    slope_cols = [e[3] for e in plan if e[2] == "slope"]
    disc = [e[3] for e in plan if e[2] == "discrete"]
    Xp_np = np.asarray(rows.X)
    Xs = np.stack(
        [_with_columns(Xp_np, c, r) for c, _r0, r in disc]
        + [_with_columns(Xp_np, c, r0) for c, r0, _r in disc]
    ) if disc else None  # fmt: skip
    order = _plan_order(plan)

    def evaluate(theta, with_jac: bool):
        parts, jacs = [], []
        if slope_cols:
            out = slopes(theta, rows, problem, method, jac=with_jac)
            v = out[0] if with_jac else out
            parts.append(v[slope_cols])
            if with_jac:
                jacs.append(out[1][slope_cols])
        if Xs is not None:
            m = len(disc)
            out = averages(theta, Xs, rows, problem, jac=with_jac)
            v = out[0] if with_jac else out
            parts.append(v[:m] - v[m:])
            if with_jac:
                jacs.append(out[1][:m] - out[1][m:])
        value = np.concatenate(parts)[order]
        return (value, np.concatenate(jacs)[order]) if with_jac else value

    value, jac = evaluate(inf.theta, True)
    shape = value.shape
    reps = _replicate_values(lambda th: evaluate(th, False), inf)
    d = delta(value.ravel(), jac.reshape(-1, jac.shape[-1]), problem, inf, level, reps)
    single = shape[1] == 1

    def out(a):
        a = np.asarray(a).reshape(shape)
        return a[:, 0] if single else a

    return Margins(
        names=tuple(e[0] for e in plan),
        terms=tuple(e[1] for e in plan),
        kinds=tuple(method if e[2] == "slope" else "discrete" for e in plan),
        outputs=_outputs(est, design),
        margeff=out(d.value),
        margeff_se=out(d.se),
        tvalues=out(d.z),
        pvalues=out(d.p),
        ci_low=out(d.ci_low),
        ci_high=out(d.ci_high),
        margeff_cov=np.asarray(d.cov),  # full_cov (the default): always there
        identification=out(np.array(d.identification, dtype=object)),
        at=at,
        method=method,
        level=float(level),
        se_method=d.method,
        replicates=reps,
    )


def _plan_order(plan: list[tuple]) -> np.ndarray:
    """Positions in the concatenation (slopes first, then discrete changes) of each effect."""
    slope = [i for i, e in enumerate(plan) if e[2] == "slope"]
    disc = [i for i, e in enumerate(plan) if e[2] == "discrete"]
    where = np.empty(len(plan), dtype=int)
    where[slope + disc] = np.arange(len(plan))
    return where


# --- partial dependence --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PartialDependence:
    """A partial-dependence curve (or surface) with pointwise bands.

    Attributes
    ----------
    features : tuple of str
        One or two features (input columns, or categorical terms).
    grid_values : tuple of ndarray
        The grid of each feature (levels for a categorical term).
    average : ndarray of shape (n_outputs, *grid shape)
        The average fitted mean (scikit-learn's ``average``: one output for a
        bernoulli fit, ``P(y = 1)``; K class probabilities for the multinomial).
    se, ci_low, ci_high : ndarray
        Same shape; pointwise delta-method (or bootstrap) numbers.
    identification : ndarray of str
    outputs : tuple of str
    level : float
    se_method : str
    """

    features: tuple[str, ...]
    grid_values: tuple[np.ndarray, ...]
    average: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    identification: np.ndarray = field(repr=False)
    outputs: tuple[str, ...] = ("y",)
    level: float = 0.95
    se_method: str = "delta"

    def to_frame(self):
        """Long pandas DataFrame: feature values, ``output``, ``average``, ``se``, bounds."""
        import pandas as pd

        mesh = np.meshgrid(*self.grid_values, indexing="ij")
        rows = []
        for k, out in enumerate(self.outputs):
            part = {f: m.ravel() for f, m in zip(self.features, mesh, strict=True)}
            part.update(
                output=out, average=self.average[k].ravel(), se=self.se[k].ravel(),
                ci_low=self.ci_low[k].ravel(), ci_high=self.ci_high[k].ravel(),
                identification=self.identification[k].ravel(),
            )  # fmt: skip
            rows.append(pd.DataFrame(part))
        return pd.concat(rows, ignore_index=True)

    def to_dict(self) -> dict:
        """Plain-Python view."""
        return {
            "features": list(self.features),
            "grid_values": [np.asarray(g).tolist() for g in self.grid_values],
            "outputs": list(self.outputs),
            "average": self.average.tolist(),
            "se": _nullable(self.se),
            "ci_low": _nullable(self.ci_low),
            "ci_high": _nullable(self.ci_high),
            "level": self.level,
            "se_method": self.se_method,
        }


def _nullable(a: np.ndarray) -> list:
    """Nested lists with ``None`` for NaN (JSON has no NaN)."""
    out = np.asarray(a, dtype=object)
    out[np.isnan(np.asarray(a, dtype=float))] = None
    return out.tolist()


def _feature(
    terms: list[Term], names: list[str], feature
) -> tuple[str, tuple[int, ...], Term | None]:
    """``(name, columns, categorical term or None)`` of a feature given by name or index."""
    if isinstance(feature, int | np.integer) and not isinstance(feature, bool):
        if not 0 <= int(feature) < len(names):
            raise ValueError(
                f"Feature index {feature} is out of range: expected 0..{len(names) - 1} "
                f"(the model has {len(names)} input columns). Fix: an index in that range, or "
                f"a column name such as {names[0]!r}."
            )
        return names[int(feature)], (int(feature),), None
    for t in terms:
        if t.name == feature and t.categorical:
            return t.name, t.columns, t
    if feature in names:
        return str(feature), (names.index(feature),), None
    known = names + [t.name for t in terms if t.categorical]
    raise ValueError(
        f"Unknown feature {feature!r}: expected an input column or a categorical term of the "
        f"model, one of {known[:12]}{'...' if len(known) > 12 else ''}. Fix: pass one of those "
        f"names, or a column index."
    )


class _GridDesigns:
    """The designs of a grid, built a slice at a time (``len`` and ``[start:stop]``)."""

    def __init__(self, X: np.ndarray, columns: list, values: list):
        self.X, self.columns, self.values = X, columns, values
        self.shape = tuple(len(v) for v in values)
        self.combos = list(np.ndindex(*self.shape))

    def __len__(self) -> int:
        return len(self.combos)

    def __getitem__(self, sl: slice) -> np.ndarray:
        out = []
        for idx in self.combos[sl]:
            X = self.X
            for cols, v, i in zip(self.columns, self.values, idx, strict=True):
                X = _with_columns(X, cols, v[i])
            out.append(X)
        return np.stack(out)


def _default_grid(x: np.ndarray, percentiles, resolution: int) -> np.ndarray:
    """scikit-learn's grid: the unique values if fewer than ``resolution``, else evenly spaced
    between the ``percentiles`` (``scipy.stats.mstats.mquantiles``)."""
    uniques = np.unique(x)
    if uniques.size < resolution:
        return uniques
    lo, hi = mquantiles(x, prob=percentiles, axis=0)
    if np.allclose(lo, hi):
        raise ValueError(
            f"The percentiles {tuple(percentiles)} of the feature are equal ({lo:g}): no grid "
            f"between them. Fix: percentiles=(0.0, 1.0), or pass grid=[...]."
        )
    return np.linspace(lo, hi, num=resolution, endpoint=True)


def partial_dependence(
    result,
    features,
    grid=None,
    design: Design | None = None,
    kind: str = "average",
    percentiles=(0.05, 0.95),
    grid_resolution: int = 100,
    se: str = "hessian",
    level: float = 0.95,
    inference: Inference | None = None,
) -> PartialDependence:
    """Partial dependence of the mean on one or two features, with pointwise bands.

    ``PD(v) = sum_i a_i mu(x_i with the feature at v)`` (``a`` the averaging
    weights of the module docstring); the grid is scikit-learn's by default, so the
    values equal ``sklearn.inspection.partial_dependence(kind="average",
    method="brute")`` on the same network (tested to 1e-10). A categorical term
    of a formula takes its levels as grid. Bands: delta method at each grid
    value (or the bootstrap replicates' percentiles).

    Parameters
    ----------
    result : Estimate or FitResult
    features : str, int, or a sequence of one or two of them
        Input columns (name or index) or categorical terms.
    grid : sequence, or a sequence of two sequences, optional
        Grid values (default: scikit-learn's, from ``percentiles`` and
        ``grid_resolution``).
    design : Design, optional
    kind : {"average"}
    percentiles : (float, float)
    grid_resolution : int
    se : {"hessian", "sandwich", "bootstrap"}
    level : float
    inference : Inference, optional

    Returns
    -------
    PartialDependence

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2)); y = X[:, 0] + 0.1 * rng.normal(size=100)
    >>> pd_ = partial_dependence(nnmle.fit(X, y, hidden=(), family="gaussian"), "x1", grid=[0, 1])
    >>> pd_.average.shape, bool(pd_.ci_low[0, 1] < pd_.average[0, 1] < pd_.ci_high[0, 1])
    ((1, 2), True)
    """
    if kind != "average":
        raise ValueError(
            f"kind={kind!r} is not supported: expected 'average' (the partial dependence). "
            f"Fix: kind='average'."
        )
    est, problem, inf, design, terms = _effect_inputs(
        result, "partial_dependence", se, level, inference, design
    )
    names = list(est.arch.input_names)
    feats = [features] if isinstance(features, str | int | np.integer) else list(features)
    if not 1 <= len(feats) <= 2:
        raise ValueError(
            f"features must name one or two features; got {len(feats)}. "
            f"Fix: e.g. features='x1' or features=('x1', 'x2')."
        )
    specs = [_feature(terms, names, f) for f in feats]
    if grid is not None and len(feats) == 1:
        grid = [grid]
    X = problem.X
    grids, values = [], []
    for k, (_, cols, term) in enumerate(specs):
        if term is not None:
            grids.append(np.asarray(term.levels, dtype=object))
            values.append(term.coding)
        else:
            g = np.asarray(
                grid[k] if grid is not None else _default_grid(X[:, cols[0]], percentiles,
                                                               grid_resolution),
                dtype=np.float64,
            )  # fmt: skip
            if g.ndim != 1 or g.size == 0:
                raise ValueError(
                    f"The grid of {specs[k][0]!r} must be a non-empty 1-D sequence of numbers; "
                    f"got shape {g.shape}. Fix: e.g. grid=np.linspace(-2, 2, 20)."
                )
            grids.append(g)
            values.append(g[:, None])
    rows = data_rows(problem)
    grid_designs = _GridDesigns(np.asarray(rows.X), [s[1] for s in specs], values)
    shape = grid_designs.shape
    value, jac = averages(inf.theta, grid_designs, rows, problem)  # (m, q), (m, q, P)
    q = value.shape[1]

    def at_replicate(th):
        return averages(th, grid_designs, rows, problem, jac=False).T

    d: Delta = delta(
        value.T.ravel(), np.swapaxes(jac, 0, 1).reshape(-1, jac.shape[-1]), problem, inf,
        level, _replicate_values(at_replicate, inf),
    )  # fmt: skip
    outputs = _outputs(est, design)

    def out(arr):
        return np.asarray(arr).reshape((q, *shape))

    if est.family.name == "bernoulli":  # scikit-learn keeps P(y = 1) only
        outputs = outputs[:1]
    return PartialDependence(
        features=tuple(s[0] for s in specs),
        grid_values=tuple(grids),
        average=out(d.value),
        se=out(d.se),
        ci_low=out(d.ci_low),
        ci_high=out(d.ci_high),
        identification=out(np.array(d.identification, dtype=object)),
        outputs=outputs,
        level=float(level),
        se_method=d.method,
    )
