"""The user's entry points: :func:`fit`, :func:`multistart`, :func:`path`, :func:`load`, and the
:class:`FitResult` façade.

Each function validates the user's data into a :class:`~nnmle.problem.Problem`
(:meth:`~nnmle.problem.Problem.from_data`) and calls the computing floors
below; :class:`FitResult` holds the :class:`~nnmle.estimation.Estimate` (frozen
data with its problem) and the :class:`~nnmle.data.Design`, and its methods
delegate downward (inference, summaries, model files). The façade caches what
it computes on demand; nothing below it mutates a result.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._results import StatsmodelsResults
from .data import Data, Design
from .estimation import Estimate, estimate
from .families import Family
from .networks import Params
from .problem import Problem
from .solvers import choose_solver
from .starts import LocalExecutor, StartingValues, StartResult, starting_values

__all__ = ["FitResult", "fit", "load", "multistart", "path"]


@dataclass
class FitResult(StatsmodelsResults):
    """A fitted network: the :class:`~nnmle.estimation.Estimate` and how data map to it.

    Attributes
    ----------
    estimate : Estimate
        The best start, its statistics and every start, with the
        :class:`~nnmle.problem.Problem` (``res.problem``).
    design : Design
        Input names, class labels, the formula and its spec.
    seed : int
        Seed of the starting weights.
    n_starts : int or None
        Starts run, when more than ``restarts`` holds (a streamed fit keeps the
        best :data:`STREAM_KEEP`; the store, if any, keeps every one).

    The statistics are read through: ``theta``, ``weights`` (the
    :class:`~nnmle.networks.Params` pytree), ``objective``, ``loglik``,
    ``deviance``, ``null_deviance``, ``aic``, ``bic``, ``grad_norm``, ``n_iter``,
    ``status``, ``message``, ``n_obs``, ``n_params``, ``restarts``, ``family``,
    ``arch``, ``penalty``, ``tol``. AIC = -2 loglik + 2 k, BIC = -2 loglik + k log(n)
    with k = ``n_params`` (the free weights; the gaussian σ² is not counted, as in
    statsmodels' GLM).

    statsmodels' names (:class:`nnmle._results.StatsmodelsResults`, computed on
    demand and cached): ``params`` (a pandas Series of the canonical weights by
    name), ``bse``, ``tvalues``, ``pvalues``, ``conf_int()``, ``cov_params()``,
    ``identification``, ``llf``, ``llnull``, ``pseudo_rsquared()``,
    ``pearson_chi2``, ``scale``, ``nobs``, ``df_model``, ``df_resid``,
    ``fittedvalues``, ``resid_response``/``_pearson``/``_deviance``/``_working``,
    ``get_prediction()``, ``get_margeff()``, ``partial_dependence()``,
    ``wald_test_terms()``; ``nnmle.anova(res)`` refits without each term.
    """

    estimate: Estimate
    design: Design
    seed: int = 0
    n_starts: int | None = None
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    # -- the estimate, read through
    @property
    def problem(self) -> Problem:
        """The :class:`~nnmle.problem.Problem` (data, family, architecture, penalty)."""
        return self.estimate.problem

    family = property(lambda self: self.estimate.family, doc="The likelihood family.")
    arch = property(lambda self: self.estimate.arch, doc="The architecture.")
    penalty = property(lambda self: self.estimate.penalty, doc="The penalty.")
    theta = property(lambda self: self.estimate.theta, doc="Best weights, flat.")
    objective = property(lambda self: self.estimate.objective, doc="Penalized objective.")
    loglik = property(lambda self: self.estimate.loglik, doc="Log-likelihood.")
    deviance = property(lambda self: self.estimate.deviance, doc="Deviance.")
    null_deviance = property(lambda self: self.estimate.null_deviance, doc="Null deviance.")
    aic = property(lambda self: self.estimate.aic, doc="AIC with k = free weights.")
    bic = property(lambda self: self.estimate.bic, doc="BIC with k = free weights.")
    grad_norm = property(lambda self: self.estimate.grad_norm, doc="Gradient norm.")
    n_iter = property(lambda self: self.estimate.n_iter, doc="Iterations of the best start.")
    status = property(lambda self: self.estimate.status, doc="Status of the best start.")
    message = property(lambda self: self.estimate.message, doc="What the status means.")
    n_obs = property(lambda self: self.estimate.n_obs, doc="Number of observations.")
    n_params = property(lambda self: self.estimate.n_params, doc="Free weights.")
    tol = property(lambda self: self.estimate.tol, doc="Gradient tolerance.")
    seconds = property(lambda self: self.estimate.seconds, doc="Seconds spent fitting.")
    divergence = property(lambda self: self.estimate.divergence, doc="Divergence check.")
    converged = property(lambda self: self.estimate.converged, doc="Reached the tolerance.")
    classes = property(lambda self: self.design.classes, doc="Class labels (categorical).")
    formula = property(lambda self: self.design.formula, doc="The formula, if any.")
    model_spec = property(lambda self: self.design.model_spec, doc="The formula's spec.")

    @property
    def restarts(self) -> list[StartResult]:
        """Every start, in seed order."""
        return list(self.estimate.starts)

    @property
    def data(self) -> Data | None:
        """The fitted rows (``X``, ``Y``, case weights ``w``), or ``None`` for a loaded model."""
        if self.problem.data is None:
            return None
        return Data(self.problem.X, self.problem.Y, self.problem.w)

    @property
    def inference(self):
        """The inference last computed through :meth:`infer` or ``summary(se=...)``, if any."""
        return self._cache.get("inference")

    def __repr__(self) -> str:
        return (
            f"FitResult({self.arch.describe()}, {self.family.name}, n_obs={self.n_obs}, "
            f"objective={self.objective:.6g}, status={self.status!r})"
        )

    # -- new data
    def design_matrix(self, X) -> np.ndarray:
        """The design matrix of new inputs (a data frame is run through the formula)."""
        return self.design.matrix(X, self.arch.n_inputs)

    def linear_predictor(self, X, offset=None, exposure=None) -> np.ndarray:
        """``eta`` for new inputs (with their offset), shape ``(n, n_outputs)``."""
        off = self.design.offset(X, offset, exposure)
        return self.problem.linear_predictor(self.theta, self.design_matrix(X), off)

    def predict(
        self,
        X,
        interval: str | None = None,
        level: float = 0.95,
        se: str = "hessian",
        offset=None,
        exposure=None,
    ):
        """Fitted mean for new inputs: probabilities (bernoulli/binomial: P(y=1);
        multinomial: ``(n, K)`` class probabilities), expected counts, or means
        (``(n, q)`` for several gaussian outputs).

        A formula model takes the raw data frame (checked against the fit: columns,
        kinds, levels); a model with an offset takes the new rows' ``offset=`` or
        ``exposure=`` (or finds its columns and ``offset(...)`` terms in the frame).
        With ``interval="confidence"`` returns a
        :class:`~nnmle.inference.PredictionInterval` ``(mean, lower, upper)``:
        delta-method intervals at ``level`` from the ``se`` covariance (see
        :func:`nnmle.inference.predict_interval`); ``interval="prediction"``, an
        interval for a new observation (``get_prediction``'s ``obs_ci``; gaussian
        without offset: mean -/+ z sqrt(se^2 + scale))."""
        Xd = self.design_matrix(X)
        off = self.design.offset(X, offset, exposure)
        if interval is not None:
            return self._interval(X, Xd, off, interval, level, se)
        mu = self.problem.mean(self.theta, Xd, off)
        if self.family.name == "multinomial" or (self.family.multi_output and mu.shape[1] > 1):
            return mu
        return mu[:, 0]

    def _interval(self, X, Xd, off, interval: str, level: float, se: str):
        from .inference import PredictionInterval, predict_interval

        if interval not in ("confidence", "prediction"):
            raise ValueError(
                f"interval={interval!r} is not an interval nnmle gives: expected 'confidence' "
                f"(for the mean) or 'prediction' (for a new observation). Fix: "
                f"interval='confidence'."
            )
        inf = self.infer(se=se, level=level)
        pi = predict_interval(self.estimate, Xd, interval="confidence", level=level, inference=inf)
        if off is not None:  # monotone inverse link: the interval of eta + o, mapped
            shift = np.exp(off) if self.family.link == "log" else None
            pi = PredictionInterval(*(v * shift if shift is not None else v + off for v in pi))
        if interval == "confidence":
            return pi
        get_prediction = getattr(self, "get_prediction", None)
        if off is None and get_prediction is not None and self.problem.data is not None:
            obs = get_prediction(X, se=se).obs_int(alpha=1 - level)
            if obs is not None:
                return PredictionInterval(pi.mean, obs[:, 0], obs[:, 1])
        if self.family.name != "gaussian" or self.arch.n_outputs != 1:
            raise ValueError(
                f"A prediction interval for a new observation of the {self.family.name} family "
                f"needs the data (res.get_prediction) and no offset; got "
                f"{'an offset' if off is not None else 'a model without data'}. Fix: "
                f"interval='confidence' (for the mean), or refit."
            )
        from scipy import stats

        q = stats.norm.ppf(0.5 + level / 2)
        half = np.sqrt(((pi.upper - pi.mean) / q) ** 2 + inf.scale) * q
        return PredictionInterval(pi.mean, pi.mean - half, pi.mean + half)

    # -- inference and summaries
    def infer(self, se: str = "hessian", level: float = 0.95, **bootstrap_options):
        """Standard errors, z, p and intervals (:func:`nnmle.inference.infer`), cached."""
        from .inference import infer

        key = ("inference", se, level, tuple(sorted(bootstrap_options.items())))
        saved = self._cache.get("saved_inference")
        if key not in self._cache and self.problem.data is None and saved is not None:
            from .modelfile import saved_inference

            self._cache[key] = saved_inference(saved, se, level, bootstrap_options)
        if key not in self._cache:
            self._cache[key] = infer(self.estimate, se=se, level=level, **bootstrap_options)
        self._cache["inference"] = self._cache[key]
        return self._cache[key]

    def weight_table(self) -> list[dict]:
        """One row per free weight: ``{"name", "value"}``."""
        from .inference import weight_names

        names = weight_names(self.arch, self.design)
        free = np.flatnonzero(self.problem.free)
        return [{"name": names[j], "value": float(self.theta[j])} for j in free]

    def summary(self, se: str | None = "hessian", level: float = 0.95):
        """A statsmodels-like summary (header, then one row per weight).

        Standard errors, z, P>|z| and intervals where the data identify the weights
        (``se="hessian"``, the default; ``"sandwich"`` or ``"bootstrap"``:
        :func:`nnmle.inference.infer`); ``se=None`` shows the inference last computed
        through this result, if any. A model without data (loaded from a file) or with
        non-finite weights shows the weights only."""
        from .report import fit_summary

        inf = self.inference
        computable = self.problem.data is not None and bool(np.all(np.isfinite(self.theta)))
        saved = self._cache.get("saved_inference")
        if se is not None and (computable or (saved is not None and se == saved.method)):
            inf = self.infer(se=se, level=level)
        out = fit_summary(self.estimate, self.design, inf)
        if self.n_starts is not None and self.n_starts > len(self.estimate.starts):
            out.notes.append(
                f"{self.n_starts} starts were streamed; the {len(self.estimate.starts)} best are "
                f"kept (res.restarts), every start is in the store if one was given"
            )
        return out

    def save(self, path, *, restarts: bool = True):
        """Write a model file (safetensors + JSON, no pickle); see :func:`nnmle.modelfile.save`."""
        from .modelfile import save

        inf = self.inference if self.inference is not None else self._cache.get("saved_inference")
        return save(
            self.estimate, self.design, path, seed=self.seed, restarts=restarts, inference=inf
        )

    def information_criteria(self, sampled=("lambda", "wbic", "waic"), **sampling):
        """AIC, BIC, the local learning coefficient, WBIC and WAIC, with what each assumes.

        See :func:`nnmle.singular.information_criteria` (``sampled`` names the
        criteria that need posterior chains; ``**sampling``: ``chains``, ``draws``,
        ``warmup``, ``seed``, ...)."""
        from .singular import information_criteria

        return information_criteria(self.estimate, sampled=sampled, **sampling)

    def to_dict(self) -> dict:
        """Every number as plain Python types (JSON-ready)."""
        return {
            "family": self.family.name,
            "link": self.family.link,
            "architecture": {
                "sizes": list(self.arch.sizes),
                "activation": list(self.arch.activation),
                "skip": self.arch.skip,
                "bias": list(self.arch.bias),
                "description": self.arch.describe(),
            },
            "penalty": {
                **self.penalty.to_dict(),
                "objective": "sum(w * nll) + " + self.penalty.describe(),
            },
            "n_obs": self.n_obs,
            "n_params": self.n_params,
            "objective": self.objective,
            "loglik": self.loglik,
            "deviance": self.deviance,
            "null_deviance": self.null_deviance,
            "aic": self.aic,
            "bic": self.bic,
            "scale": self.scale,
            "grad_norm": self.grad_norm,
            "n_iter": self.n_iter,
            "status": self.status,
            "message": self.message,
            "seed": self.seed,
            "solver": self.estimate.solver.name,
            "classes": [c if isinstance(c, int | float | str) else str(c) for c in self.classes],
            "weights": self.weight_table(),
            "restarts": [r.to_dict() for r in self.restarts],
        }


# --- fit ---------------------------------------------------------------------------------

#: A fit with more starts than this streams them (bounded memory; see nnmle.starts.run_starts).
STREAM_STARTS = 10_000
#: Starts per chunk of a streamed fit, and how many of the best it keeps.
STREAM_CHUNK, STREAM_KEEP = 1_000, 1_000

_FIT_OPTIONS = {
    "n_starts",
    "n_restarts",
    "seed",
    "init",
    "init_scale",
    "rang",
    "tol",
    "max_iter",
    "solver",
    "batch",
    "batch_size",
    "learning_rate",
    "start_values",
    "on_result",
    "workers",
    "store",
    "executor",
}

_OPTION_EXAMPLES = {
    "n_starts": 10,
    "n_restarts": 10,
    "max_iter": 5000,
    "batch": 8,
    "tol": 1e-6,
    "rang": 0.7,
    "seed": 0,
}


def _check_options(options: dict) -> None:
    unknown = set(options) - _FIT_OPTIONS
    if unknown:
        raise ValueError(
            f"Unknown option(s) {sorted(unknown)}; expected some of {sorted(_FIT_OPTIONS)}."
        )
    checks = {
        "n_starts": lambda v: isinstance(v, int | np.integer) and v >= 1 and v is not True,
        "n_restarts": lambda v: isinstance(v, int | np.integer) and v >= 1,
        "max_iter": lambda v: isinstance(v, int | np.integer) and v >= 1,
        "batch": lambda v: v is None or (isinstance(v, int | np.integer) and v >= 1),
        "tol": lambda v: isinstance(v, int | float) and v > 0,
        "rang": lambda v: isinstance(v, int | float) and v > 0,
        "seed": lambda v: isinstance(v, int | np.integer) and v >= 0,
    }
    for name, ok in checks.items():
        if name in options and not ok(options[name]):
            kind = "a positive number" if name in ("tol", "rang") else "a positive integer"
            raise ValueError(
                f"The option {name}={options[name]!r} is invalid: expected {kind}. "
                f"Fix: e.g. {name}={_OPTION_EXAMPLES[name]}."
            )


def starts_alias(n_starts, n_restarts, default: int, stacklevel: int = 3) -> int:
    """``n_starts``, or the deprecated ``n_restarts`` (with a ``FutureWarning``)."""
    if n_restarts is None:
        return default if n_starts is None else n_starts
    if n_starts is not None:
        raise ValueError(
            f"Give the number of starts once: got n_starts={n_starts!r} and n_restarts="
            f"{n_restarts!r}. Fix: n_starts={n_starts!r} (n_restarts is its deprecated alias)."
        )
    warnings.warn(
        "n_restarts is deprecated and will be removed in the next release; use n_starts "
        "(the same number of random starts).",
        FutureWarning,
        stacklevel=stacklevel + 1,
    )
    return n_restarts


def _starts(
    problem: Problem, n: int, seed: int, init: str, rang: float, start_values, init_scale="data"
):
    target = _scale_target(problem, init_scale)
    if start_values is None:
        if n > STREAM_STARTS:  # drawn chunk by chunk as the runner streams them
            return StartingValues(target, int(n), seed, init, rang)
        return starting_values(target, n, seed, init, rang)
    thetas0 = np.atleast_2d(np.asarray(start_values, dtype=float))
    if thetas0.shape[1] != problem.arch.n_total:
        raise ValueError(
            f"start_values must have {problem.arch.n_total} entries per start (the flat weight "
            f"vector); got shape {thetas0.shape}."
        )
    return thetas0


def _scale_target(problem: Problem, init_scale: str):
    """What :func:`~nnmle.starts.starting_values` draws for: the data's scale, or nnet's raw."""
    if init_scale not in ("data", "raw"):
        raise ValueError(
            f"init_scale must be 'data' (starts drawn on the standardized scale of the data) or "
            f"'raw' (R nnet's draws as they are); got {init_scale!r}. Fix: init_scale='data'."
        )
    return problem if init_scale == "data" else problem.arch


def fit_problem(
    problem: Problem,
    design: Design,
    *,
    n_starts: int = 1,
    seed: int = 0,
    init: str = "uniform",
    init_scale: str = "data",
    rang: float = 0.7,
    tol: float = 1e-6,
    max_iter: int = 5000,
    solver: str = "lbfgs",
    batch: int | None = None,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    start_values=None,
    on_result=None,
    workers: int | None = None,
    store=None,
    executor=None,
    stacklevel: int = 2,
) -> FitResult:
    """Fit a validated problem (the options of :func:`fit`).

    More than :data:`STREAM_STARTS` starts are streamed: drawn and run
    :data:`STREAM_CHUNK` at a time, the :data:`STREAM_KEEP` best kept (memory
    stays bounded for any count; a ``store`` keeps every start)."""
    thetas0 = _starts(problem, n_starts, seed, init, rang, start_values, init_scale)
    streamed = isinstance(thetas0, StartingValues)
    solv = choose_solver(
        problem, solver, tol=tol, max_iter=max_iter, batch_size=batch_size,
        learning_rate=learning_rate, seed=seed,
    )  # fmt: skip
    if executor is None:
        executor = LocalExecutor(workers=workers, batch=batch or 1)
    est = estimate(
        problem, thetas0, solv, executor, store, on_result,
        config={"seed": seed, "init": init, "rang": rang, "init_scale": init_scale},
        stacklevel=stacklevel + 1, chunk=STREAM_CHUNK if streamed else None,
        keep=STREAM_KEEP if streamed else None,
    )  # fmt: skip
    return FitResult(est, design, seed, n_starts=int(n_starts) if streamed else None)


def fit(
    X,
    y=None,
    *,
    data=None,
    hidden=(10,),
    activation: str = "tanh",
    family: str | Family = "bernoulli",
    l2: float = 0.0,
    l1: float = 0.0,
    penalize_bias: bool = False,
    skip: bool = False,
    bias: bool = True,
    mask: Params | None = None,
    weights=None,
    offset=None,
    exposure=None,
    na_action: str = "drop",
    **options,
) -> FitResult:
    """Fit a feed-forward network by maximum (penalized) likelihood.

    The objective minimized is ``sum_i w_i * nll_i + l2 * sum(w^2) + l1 * sum(|w|)``
    (sums, not means; biases unpenalized unless ``penalize_bias=True``).

    Parameters
    ----------
    X : array-like of shape (n, p), DataFrame, or str
        Inputs, or a formula such as ``"y ~ x1 + C(g)"`` with ``data=``.
    y : array-like of shape (n,) or (n, q), optional
        Targets (0/1 or two labels for bernoulli, proportions for binomial, counts
        for poisson and negative_binomial, y > 0 for gamma, labels for multinomial,
        numbers for gaussian: q columns give q outputs with one common variance).
    data : DataFrame, optional
        Data for a formula (``"y ~ x + C(g) + offset(log(t))"``).
    hidden : int or tuple of int
        Units per hidden layer; ``()`` fits a GLM.
    activation : str
        ``tanh``, ``logistic``, ``relu``, ``softplus`` or ``identity``.
    family : str
        ``gaussian``, ``bernoulli``, ``binomial``, ``poisson``,
        ``negative_binomial`` (NB2, α estimated with the weights), ``gamma``
        (log link) or ``multinomial`` (see :mod:`nnmle.families`).
    l2, l1 : float
        Penalty weights (``l1 > 0``, with or without ``l2``: lasso / elastic net,
        fitted by proximal gradient, :mod:`nnmle.solvers.proximal`, with exact
        zeros). Without a penalty, a fit whose weights race away (the MLE does not
        exist) gets status ``"mle_not_exist"`` and a warning.
    penalize_bias : bool
        Penalize biases too (R nnet's convention).
    skip : bool
        Skip-layer connections from inputs to outputs.
    bias : bool or sequence of bool
        Biases per layer.
    mask : Params, optional
        NaN where a weight is free, a number where it is frozen at that number.
    weights : array-like or str, optional
        Case weights (for binomial: the number of trials); a string names a
        column of ``data``.
    offset, exposure : array-like or str, optional
        An offset added to the linear predictor, or an exposure ``t`` (offset
        ``log t``) for the log-link families; a string names a column of ``data``.
    na_action : {"drop", "raise"}
        Rows with a missing value in any variable used are dropped with a
        warning giving the count (R's ``na.omit``), or make the call fail.
    **options
        ``n_starts`` (1; ``n_restarts`` is its deprecated alias; more than
        :data:`STREAM_STARTS` are streamed in bounded memory), ``seed`` (0), ``init``
        ("uniform" = nnet's U(-rang, rang), or "glorot"), ``init_scale`` ("data": the draws
        are on the standardized scale of the data, mapped exactly to its scale, see
        :mod:`nnmle.starts`; "raw": nnet's draws as they are), ``rang`` (0.7), ``tol``
        (1e-6, on the gradient norm), ``max_iter`` (5000), ``solver`` ("lbfgs" or "adam"),
        ``batch`` (pool lanes), ``batch_size`` and ``learning_rate`` (adam),
        ``start_values``, ``workers`` (threads), ``executor`` (where the starts run, e.g.
        ``nnmle.starts.DaskExecutor(client)``), ``store`` (a :class:`nnmle.starts.Store` or
        a path: finished starts are kept there and a rerun resumes), ``on_result`` (called
        with each finished start).

    Returns
    -------
    FitResult

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 1, 0, 1])
    >>> res = nnmle.fit(X, y, hidden=(), family="bernoulli")
    >>> res.status
    'converged'
    """
    _check_options(options)
    n_restarts = options.pop("n_restarts", None)
    options["n_starts"] = starts_alias(options.pop("n_starts", None), n_restarts, 1)
    problem, design = Problem.from_data(
        X, y, data=data, family=family, hidden=hidden, activation=activation, skip=skip,
        bias=bias, mask=mask, weights=weights, l2=l2, l1=l1, penalize_bias=penalize_bias,
        offset=offset, exposure=exposure, na_action=na_action,
    )  # fmt: skip
    return fit_problem(problem, design, stacklevel=3, **options)


def load(source: str | os.PathLike | bytes) -> FitResult:
    """Read a model file written by :meth:`FitResult.save` (see :func:`nnmle.modelfile.load`).

    The result has no training data: it predicts (a formula model from a raw data
    frame, as in the fit), summarizes with the saved standard errors, gives
    confidence intervals from the saved covariance of the identified weights,
    and converts to a dict like the fit that was saved. A version-1 file loads
    with a ``UserWarning`` naming what it lacks.
    """
    from .modelfile import load as load_file

    loaded = load_file(source)
    for note in loaded.notes:
        warnings.warn(f"nnmle: {note}", UserWarning, stacklevel=2)
    res = FitResult(loaded.estimate, loaded.design, loaded.seed)
    if loaded.inference is not None:
        res._cache["saved_inference"] = loaded.inference
    return res


# --- campaigns and paths -----------------------------------------------------------------


def multistart(
    X,
    y=None,
    *,
    data=None,
    hidden=(10,),
    activation: str = "tanh",
    family: str | Family = "bernoulli",
    l2: float = 0.0,
    l1: float = 0.0,
    penalize_bias: bool = False,
    skip: bool = False,
    bias: bool = True,
    mask=None,
    weights=None,
    offset=None,
    exposure=None,
    na_action: str = "drop",
    n_starts: int = 20,
    seed: int = 0,
    init: str = "uniform",
    init_scale: str = "data",
    rang: float = 0.7,
    tol: float = 1e-6,
    max_iter: int = 5000,
    workers: int | None = None,
    on_result=None,
    store=None,
    executor=None,
    **analysis,
):
    """Fit ``n_starts`` random starts and group them into distinct solutions modulo symmetry.

    Parameters
    ----------
    X, y, data, hidden, activation, family, l2, l1, penalize_bias, skip, bias, mask, weights
        As in :func:`fit` (a formula ``"y ~ x1 + x2"`` with ``data=`` works too).
    offset, exposure, na_action
        As in :func:`fit`.
    n_starts : int
        Random starts; start ``k`` uses ``fold_in(PRNGKey(seed), k)``.
    seed, init, rang, tol, max_iter, workers, executor, store, on_result
        As in :func:`fit`.
    **analysis
        Options of :func:`nnmle.multistart.analyze_starts` (``obj_rtol``,
        ``param_rtol``, ``grad_tol``, ``eig_rtol``, ``dense_max``, ``diverge_at``,
        ``hessian``).

    Returns
    -------
    Campaign
        Its ``result`` is the :class:`FitResult` of the best start.

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2)); y = (X[:, 0] + rng.normal(size=40) > 0).astype(float)
    >>> c = nnmle.multistart(X, y, hidden=(), n_starts=3)      # a GLM: one solution
    >>> len(c.solutions), c.best.kind, c.best.count
    (1, 'strict_min', 3)
    """
    from .multistart import run_campaign

    if not isinstance(n_starts, int | np.integer) or isinstance(n_starts, bool) or n_starts < 1:
        raise ValueError(
            f"n_starts must be a positive integer; got {n_starts!r}. Fix: n_starts=20."
        )
    problem, design = Problem.from_data(
        X, y, data=data, family=family, hidden=hidden, activation=activation, skip=skip,
        bias=bias, mask=mask, weights=weights, l2=l2, l1=l1, penalize_bias=penalize_bias,
        offset=offset, exposure=exposure, na_action=na_action,
    )  # fmt: skip
    thetas0 = starting_values(_scale_target(problem, init_scale), int(n_starts), seed, init, rang)
    campaign = run_campaign(
        problem, thetas0, choose_solver(problem, tol=tol, max_iter=max_iter),
        executor or LocalExecutor(workers=workers), store, on_result,
        config={"seed": seed, "init": init, "rang": rang, "init_scale": init_scale},
        workers=workers, **analysis,
    )  # fmt: skip
    assert campaign.estimate is not None  # run_campaign always fits
    return dataclasses.replace(campaign, result=FitResult(campaign.estimate, design, seed))


def path(
    X,
    y=None,
    *,
    data=None,
    hidden=(10,),
    activation: str = "tanh",
    family="bernoulli",
    l2=0.0,
    l1=0.0,
    penalize_bias: bool = False,
    skip: bool = False,
    bias=True,
    weights=None,
    offset=None,
    exposure=None,
    na_action: str = "drop",
    cv: int = 5,
    select: str = "cv_min",
    n_starts: int | None = None,
    n_restarts: int | None = None,
    seed: int = 0,
    init: str = "uniform",
    init_scale: str = "data",
    rang: float = 0.7,
    tol: float = 1e-6,
    max_iter: int = 5000,
):
    """Fit a regularization path with warm starts, cross-validation and the evidence.

    See :func:`nnmle.regularization.fit_path` for what is computed. Exactly one of
    ``l2``/``l1`` is a sequence of values (the grid); the other arguments are as
    in :func:`fit`; ``cv`` is the number of folds and ``select`` the rule
    (``cv_min``, ``cv_1se``, ``evidence``) whose value is refitted as the path's
    ``fit`` (a :class:`FitResult`); ``n_starts`` (1) random starts per grid
    value (``n_restarts``: its deprecated alias).

    Examples
    --------
    >>> import numpy as np, nnmle
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 3)); y = X[:, 0] + rng.normal(size=80)
    >>> p = nnmle.path(X, y, hidden=(), family="gaussian", l2=[100.0, 1.0, 0.01], cv=4)
    >>> bool(p.column("weight_norm")[0] < p.column("weight_norm")[-1])
    True
    """
    from .regularization import as_grid, check_path_options, fit_path

    check_path_options(cv, select)
    kind, values, other = as_grid(l2, l1)
    fixed_l2, fixed_l1 = (0.0, other) if kind == "l2" else (other, 0.0)
    problem, design = Problem.from_data(
        X, y, data=data, family=family, hidden=hidden, activation=activation, skip=skip,
        bias=bias, weights=weights, l2=fixed_l2, l1=fixed_l1, penalize_bias=penalize_bias,
        offset=offset, exposure=exposure, na_action=na_action,
    )  # fmt: skip
    n_starts = starts_alias(n_starts, n_restarts, 1)
    thetas0 = starting_values(_scale_target(problem, init_scale), n_starts, seed, init, rang)
    p = fit_path(
        problem, kind, values, thetas0, cv=cv, select=select, seed=seed, tol=tol,
        max_iter=max_iter,
    )  # fmt: skip
    return dataclasses.replace(p, fit=FitResult(p.fit, design, seed))
