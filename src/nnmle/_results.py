"""statsmodels' results surface on :class:`~nnmle.api.FitResult` (a mixin at the api floor).

Every attribute is computed on demand from :mod:`nnmle.inference` and cached on
the result; pandas in, pandas out: weights are a Series indexed by their names
(``x1->h1``, ``bias->y``; ``Intercept`` for a formula's intercept in a network
without hidden layer), predictions keep the input's index.

``res.params`` is a pandas Series of the **canonical** weights (one
representative of the symmetry group's orbit, the weights the standard errors
are for), as statsmodels' ``params``. Weights the data do not identify get NaN
standard errors, z, p and intervals; ``res.identification`` says why
(``"penalty"``: identified only by the penalty; ``"none"``: by nothing;
``"zero"``: set to zero by the L1 penalty).

The weights as a :class:`~nnmle.networks.Params` pytree (what ``res.params`` was
before) are ``res.weights``. During the deprecation period ``res.params`` still
answers ``.layers`` and ``.skip``, and the symmetry API still accepts it (it
takes ``res.weights``'s place there), each time with a ``DeprecationWarning``.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from .inference import (
    FitStatistics,
    Inference,
    Margins,
    PartialDependence,
    Prediction,
    TermTests,
    canonical_theta,
    check_alpha,
    fit_statistics,
    margins,
    partial_dependence,
    prediction,
    pseudo_rsquared,
    require_rows,
    residuals,
    wald_test_terms,
    weight_names,
)
from .networks import Params

__all__ = ["StatsmodelsResults", "weights_series"]

_PARAMS_MOVED = (
    "FitResult.params is now a pandas Series of the weights by name (statsmodels' params); "
    "the Params pytree is FitResult.weights. Fix: use res.weights (res.weights.layers, "
    "symmetry.canonicalize(res.weights, G))."
)


@functools.cache
def _series_class():
    """The pandas Series subclass of ``res.params`` (built on first use: pandas loads lazily)."""
    import pandas as pd

    class WeightSeries(pd.Series):
        """Weights by name; ``.layers``/``.skip`` and the symmetry API reach the deprecated
        Params view (with a ``DeprecationWarning``)."""

        _metadata = ["_weights"]

        @property
        def _constructor(self):
            return pd.Series  # derived results are plain Series

        @property
        def _constructor_expanddim(self):
            return pd.DataFrame

        def __nnmle_params__(self) -> Params:
            warnings.warn(_PARAMS_MOVED, DeprecationWarning, stacklevel=3)
            return self._weights

        @property
        def layers(self):
            """Deprecated: ``res.weights.layers``."""
            warnings.warn(_PARAMS_MOVED, DeprecationWarning, stacklevel=2)
            return self._weights.layers

        @property
        def skip(self):
            """Deprecated: ``res.weights.skip``."""
            warnings.warn(_PARAMS_MOVED, DeprecationWarning, stacklevel=2)
            return self._weights.skip

    return WeightSeries


def weights_series(values, names, weights: Params | None = None):
    """A pandas Series of weights by name (``weights``: the deprecated Params view)."""
    s = _series_class()(np.asarray(values, dtype=np.float64), index=list(names), name="params")
    s._weights = weights
    return s


class StatsmodelsResults:
    """statsmodels' names on a fit (mixed into :class:`~nnmle.api.FitResult`).

    The class using it provides ``estimate``, ``design``, ``problem``, ``_cache``
    and ``infer(se=..., level=...)``. Standard errors are the ``"hessian"`` ones
    (``res.infer(se="sandwich")`` for the others).
    """

    # -- helpers ----------------------------------------------------------------------
    def _cached(self, key, compute):
        cache = self._cache  # type: ignore[attr-defined]
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    def _hessian(self) -> Inference:
        return self._cached(("surface", "inference"), lambda: self.infer(se="hessian"))  # type: ignore[attr-defined]

    def _statistics(self) -> FitStatistics:
        return self._cached(
            ("surface", "statistics"), lambda: fit_statistics(self, inference=self._hessian())
        )

    def _names(self) -> list[str]:
        names = weight_names(self.arch, self.design)  # type: ignore[attr-defined]
        return [names[j] for j in np.flatnonzero(self.problem.free)]  # type: ignore[attr-defined]

    def _series(self, values, name: str):
        import pandas as pd

        return pd.Series(np.asarray(values), index=self._names(), name=name)

    def _data_only(self, values, inf: Inference) -> np.ndarray:
        return np.where(np.array(inf.identification) == "data", values, np.nan)

    # -- weights ----------------------------------------------------------------------
    @property
    def weights(self) -> Params:
        """The fitted weights as a :class:`~nnmle.networks.Params` pytree (not canonicalized)."""
        return self.estimate.params  # type: ignore[attr-defined]

    @property
    def params(self):
        """The canonical weights by name (a pandas Series; see the module docstring)."""

        def compute():
            theta = canonical_theta(self.estimate)  # type: ignore[attr-defined]
            free = np.flatnonzero(self.problem.free)  # type: ignore[attr-defined]
            return weights_series(theta[free], self._names(), self.weights)

        return self._cached(("surface", "params"), compute)

    @property
    def identification(self):
        """Per weight: ``"data"``, ``"penalty"``, ``"none"`` or ``"zero"`` (a pandas Series)."""
        return self._series(
            np.array(self._hessian().identification, dtype=object), "identification"
        )

    @property
    def bse(self):
        """Standard errors (NaN where the data do not identify the weight)."""
        inf = self._hessian()
        return self._series(self._data_only(inf.se, inf), "bse")

    @property
    def tvalues(self):
        """z statistics (NaN where the data do not identify the weight)."""
        inf = self._hessian()
        return self._series(self._data_only(inf.z, inf), "tvalues")

    @property
    def pvalues(self):
        """Two-sided normal p-values (NaN where the data do not identify the weight)."""
        inf = self._hessian()
        return self._series(self._data_only(inf.p, inf), "pvalues")

    def conf_int(self, alpha: float = 0.05):
        """Wald intervals at level ``1 - alpha`` (a DataFrame with columns 0 and 1)."""
        import pandas as pd
        from scipy import stats

        level = check_alpha(alpha)
        inf = self._hessian()
        se = self._data_only(inf.se, inf)
        q = stats.norm.ppf(0.5 + level / 2)
        return pd.DataFrame({0: inf.coef - q * se, 1: inf.coef + q * se}, index=self._names())

    def cov_params(self):
        """Covariance of the canonical weights (a DataFrame; NaN rows and columns where the
        data do not identify a weight)."""
        import pandas as pd

        inf = self._hessian()
        free = np.flatnonzero(self.problem.free)  # type: ignore[attr-defined]
        at = np.searchsorted(free, inf.index)
        cov = np.full((free.size, free.size), np.nan)
        cov[np.ix_(at, at)] = inf.cov
        ok = np.array(inf.identification) == "data"
        cov[~ok, :] = np.nan
        cov[:, ~ok] = np.nan
        names = self._names()
        return pd.DataFrame(cov, index=names, columns=names)

    # -- fit statistics ---------------------------------------------------------------
    llf = property(lambda self: float(self.estimate.loglik), doc="Log-likelihood.")
    llnull = property(lambda self: self._statistics().llnull, doc="Intercept-only log-likelihood.")
    pearson_chi2 = property(lambda self: self._statistics().pearson_chi2, doc="Pearson chi2.")
    nobs = property(lambda self: int(self.estimate.n_obs), doc="Rows.")
    df_model = property(lambda self: self._statistics().df_model, doc="edf minus intercepts.")
    df_resid = property(lambda self: self._statistics().df_resid, doc="wnobs minus edf.")

    @property
    def scale(self) -> float:
        """statsmodels' ``scale``: Pearson chi2 / df_resid (gaussian), 1 otherwise (the
        log-likelihood's σ̂² by maximum likelihood is ``res.estimate.scale``)."""
        if not self.estimate.family.has_dispersion:  # type: ignore[attr-defined]
            return 1.0
        return self._statistics().scale

    def pseudo_rsquared(self, kind: str = "cs") -> float:
        """Cox-Snell (``"cs"``) or McFadden (``"mcf"``) pseudo R-squared, as statsmodels."""
        return pseudo_rsquared(self._statistics(), kind)

    # -- fitted values and residuals --------------------------------------------------
    def _rows(self, values, name: str):
        import pandas as pd

        values = np.asarray(values)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim == 1:
            return pd.Series(values, name=name)
        classes = self.design.classes or range(values.shape[1])  # type: ignore[attr-defined]
        return pd.DataFrame(values, columns=[f"y={c}" for c in classes])

    @property
    def fittedvalues(self):
        """Fitted means on the data's rows (class probabilities for the multinomial)."""
        return self._rows(self.problem.mean(self.estimate.theta), "fittedvalues")  # type: ignore[attr-defined]

    resid_response = property(
        lambda self: self._rows(residuals(self, "response"), "resid_response"), doc="y - mu."
    )
    resid_pearson = property(
        lambda self: self._rows(residuals(self, "pearson"), "resid_pearson"),
        doc="(y - mu) / sqrt(V(mu)).",
    )
    resid_deviance = property(
        lambda self: self._rows(residuals(self, "deviance"), "resid_deviance"),
        doc="sign(y - mu) sqrt(unit deviance).",
    )
    resid_working = property(
        lambda self: self._rows(residuals(self, "working"), "resid_working"),
        doc="(y - mu) d eta / d mu.",
    )

    # -- predictions, effects, tests ---------------------------------------------------
    def get_prediction(self, exog=None, se: str = "hessian", trials=None) -> Prediction:
        """Predicted means with intervals (:func:`nnmle.inference.prediction`).

        ``exog``: new inputs (a DataFrame runs through the formula; its index is
        kept), or None for the fitted rows. ``.summary_frame(alpha=0.05)`` gives
        ``mean``, ``mean_se``, ``mean_ci_*`` and, where defined, ``obs_ci_*``.
        """
        if exog is None:
            X, labels = self.problem.X, None  # type: ignore[attr-defined]
        else:
            X = self.design_matrix(exog)  # type: ignore[attr-defined]
            labels = list(exog.index) if hasattr(exog, "index") else None
        inf = self._hessian() if se == "hessian" else self.infer(se=se)  # type: ignore[attr-defined]
        return prediction(
            self, X, inference=inf, trials=trials, row_labels=labels,
            classes=self.design.classes,  # type: ignore[attr-defined]
        )  # fmt: skip

    def get_margeff(
        self, at: str = "overall", method: str = "dydx", dummy: bool = False, se: str = "hessian"
    ) -> Margins:
        """Average marginal effects with delta-method errors (:func:`nnmle.inference.margins`)."""
        require_rows(self, "get_margeff")
        inf = self._hessian() if se == "hessian" else self.infer(se=se)  # type: ignore[attr-defined]
        return margins(self, at=at, method=method, dummy=dummy, inference=inf)

    def partial_dependence(self, features, grid=None, kind: str = "average", se: str = "hessian",
                           **options) -> PartialDependence:  # fmt: skip
        """Partial dependence with pointwise bands (:func:`nnmle.inference.partial_dependence`)."""
        require_rows(self, "partial_dependence")
        inf = self._hessian() if se == "hessian" else self.infer(se=se)  # type: ignore[attr-defined]
        return partial_dependence(self, features, grid=grid, kind=kind, inference=inf, **options)

    def wald_test_terms(self, se: str = "hessian") -> TermTests:
        """Joint Wald test per term (:func:`nnmle.inference.wald_test_terms`)."""
        inf = self._hessian() if se == "hessian" else self.infer(se=se)  # type: ignore[attr-defined]
        return wald_test_terms(self, inference=inf)
