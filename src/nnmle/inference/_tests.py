"""Tests and criteria: Wald tests of the inputs, likelihood-ratio tests, AIC/BIC with ``edf``."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from ..estimation import as_estimate
from ._covariance import Inference, resolve
from ._curvature import effective_df

__all__ = ["LRTest", "information_criteria", "lr_test", "wald_inputs"]


def _input_rows(arch) -> list[np.ndarray]:
    """Flat positions of each input's outgoing weights (first layer, and skip layer)."""
    first = np.arange(arch.n_inputs * arch.sizes[1]).reshape(arch.n_inputs, arch.sizes[1])
    if not arch.skip:
        return list(first)
    n_skip = arch.n_inputs * arch.n_outputs
    skip = (arch.n_total - n_skip + np.arange(n_skip)).reshape(arch.n_inputs, arch.n_outputs)
    return [np.concatenate([f, s]) for f, s in zip(first, skip, strict=True)]


def wald_inputs(result, se: str = "hessian", inference: Inference | None = None) -> list[dict]:
    """Wald test for each input: all of its outgoing weights are zero.

    The weights are the input's row of the first layer (to every unit of the
    first hidden layer, or to the outputs without hidden layer) and of the skip
    layer; ``W = b' Cov^-1 b`` is chi-square with as many degrees of freedom
    as free non-zero weights. Permutations and sign flips of hidden units only
    permute and negate those weights, so the statistic is invariant under the group.

    Parameters
    ----------
    result : Estimate or FitResult
    se : {"hessian", "sandwich", "bootstrap"}
        The covariance, when ``inference`` is not given.
    inference : Inference, optional
        Already computed for ``result``.

    Returns
    -------
    list of dict
        ``{"input", "df", "stat", "p"}``; ``stat`` and ``p`` are ``None`` with a
        ``"note"`` when one of the weights is not identified.

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2)); y = X[:, 0] + rng.normal(size=100)
    >>> rows = wald_inputs(nnmle.fit(X, y, hidden=(), family="gaussian"))
    >>> [r["df"] for r in rows], rows[0]["p"] < 1e-6 < rows[1]["p"]
    ([1, 1], True)
    """
    est = as_estimate(result)
    inf = resolve(est, se, None, inference)
    arch = est.arch
    ident = dict(zip(np.flatnonzero(est.problem.free), inf.identified, strict=True))
    out = []
    for name, rows in zip(arch.input_names, _input_rows(arch), strict=True):
        rows = rows[np.isin(rows, inf.index)]
        row: dict = {"input": name, "df": int(rows.size)}
        if rows.size == 0 or not all(ident[r] for r in rows):
            why = "no free non-zero weight" if rows.size == 0 else "a weight is not identified"
            row.update(stat=None, p=None, note=why)
        else:
            pos = np.searchsorted(inf.index, rows)
            b = inf.theta[rows]
            stat = float(b @ np.linalg.solve(inf.cov[np.ix_(pos, pos)], b))
            row.update(stat=stat, p=float(stats.chi2.sf(stat, rows.size)))
        out.append(row)
    return out


@dataclass(frozen=True)
class LRTest:
    """Likelihood-ratio test of a restricted fit within a fuller one.

    Attributes
    ----------
    stat : float
        ``2 (loglik_full - loglik_restricted)``.
    df : int
        Difference in free weights.
    p : float
        Chi-square(``df``) tail probability (valid only when ``regular``).
    regular : bool
        Whether the chi-square reference holds.
    notes : tuple of str
    """

    stat: float
    df: int
    p: float
    regular: bool
    notes: tuple[str, ...]

    def to_dict(self) -> dict:
        """Plain-Python view."""
        out = asdict(self)
        out["notes"] = list(self.notes)
        return out


def lr_test(restricted, full) -> LRTest:
    """Likelihood-ratio test ``2 (loglik_full - loglik_restricted) ~ chi2(k_full - k_restricted)``.

    The user vouches that ``restricted`` is nested in ``full`` (same data,
    family, fewer free weights). When the two differ in their hidden units the
    test is *non-regular*: the smaller network is reached on the boundary
    (an outgoing weight 0) where the incoming weights of the dropped units are
    not identified, so the chi-square reference does not hold (Davies'
    problem) and a ``UserWarning`` says so. Penalized fits are not maximum
    likelihood fits: the reference does not hold either.

    Parameters
    ----------
    restricted, full : Estimate or FitResult

    Returns
    -------
    LRTest

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(100, 2)); y = X[:, 0] + rng.normal(size=100)
    >>> small = nnmle.fit(X[:, :1], y, hidden=(), family="gaussian")
    >>> big = nnmle.fit(X, y, hidden=(), family="gaussian")
    >>> t = lr_test(small, big)
    >>> t.df, t.regular
    (1, True)
    """
    small, big = as_estimate(restricted), as_estimate(full)
    if small.family.name != big.family.name or small.n_obs != big.n_obs:
        raise ValueError(
            f"The fits are not nested: families {small.family.name}/{big.family.name}, "
            f"{small.n_obs}/{big.n_obs} observations. Fix: fit both models to the same "
            f"data with the same family."
        )
    df = big.n_params - small.n_params
    if df <= 0:
        raise ValueError(
            f"The restricted fit has {small.n_params} weights and the full one "
            f"{big.n_params}: expected fewer in the restricted fit. Fix: lr_test(small, big)."
        )
    stat = 2.0 * (big.loglik - small.loglik)
    notes = []
    regular = True
    if small.arch.hidden != big.arch.hidden:
        regular = False
        msg = (
            f"testing the number of hidden units ({small.arch.describe()} within "
            f"{big.arch.describe()}) is non-regular: the dropped units' weights are not "
            f"identified under the null, so the chi-square({df}) reference does not hold; "
            f"use a parametric bootstrap of the statistic instead"
        )
        notes.append(msg)
        warnings.warn(f"nnmle: {msg}.", UserWarning, stacklevel=2)
    if small.penalty.active or big.penalty.active:
        regular = False
        notes.append("a penalized fit is not an MLE: the chi-square reference does not hold")
    if stat < 0:
        notes.append("the full fit has the smaller likelihood: a local optimum; refit it")
    return LRTest(
        float(stat), int(df), float(stats.chi2.sf(max(stat, 0.0), df)), regular, tuple(notes)
    )


def information_criteria(result) -> dict:
    """AIC and BIC with the free weights ``k`` and with the effective number ``edf``.

    ``aic = -2 loglik + 2 k``, ``bic = -2 loglik + k log n`` (as the fit reports; ``n``
    the sum of the case weights, the number of rows for the binomial family);
    ``aic_edf``/``bic_edf`` replace ``k`` by ``edf = tr(I H^-1)``, which is
    smaller under a penalty and equals the rank of the information matrix
    without one.

    Parameters
    ----------
    result : Estimate or FitResult

    Returns
    -------
    dict
        ``loglik``, ``n_params``, ``edf``, ``aic``, ``bic``, ``aic_edf``, ``bic_edf``.
    """
    est = as_estimate(result)
    edf = effective_df(est)
    n = float(est.n_obs) if est.family.name == "binomial" else float(np.sum(est.problem.w))
    ll = est.loglik
    return {
        "loglik": ll,
        "n_params": est.n_params,
        "edf": edf,
        "aic": est.aic,
        "bic": est.bic,
        "aic_edf": -2 * ll + 2 * edf,
        "bic_edf": -2 * ll + edf * np.log(n),
    }
