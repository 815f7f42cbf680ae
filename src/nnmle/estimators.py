"""scikit-learn estimators: :class:`MLERegressor` and :class:`MLEClassifier`.

The scikit-learn layer only: input validation (``validate_data``), label
encoding, fitted attributes and tags. Every number comes from
:func:`nnmle.fit` and the :class:`~nnmle.api.FitResult` it returns, kept as
``result_``; the objective is nnmle's (a *sum* of case-weighted negative
log-likelihoods plus the penalty, not a mean).

scikit-learn's names: ``random_state`` (``seed`` is its deprecated alias: two
names for one parameter would both show in ``get_params``), ``n_starts``
(``n_restarts``: deprecated alias), ``class_weight`` (classifier),
``warm_start`` and ``verbose``. Both estimators pass
``parametrize_with_checks``.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .api import fit

__all__ = ["MLEClassifier", "MLERegressor"]

_REGRESSION_FAMILIES = ("gaussian", "poisson", "negative_binomial", "gamma")
_DEPRECATED = "deprecated"
#: Statuses that mean "stopped early" (a diverging MLE is warned about by nnmle.fit itself).
_UNFINISHED = ("max_iter", "non_finite", "stalled")

_PARAMETERS_DOC = """
    hidden : int or tuple of int, default=(10,)
        Units per hidden layer; ``()`` fits a GLM.
    activation : str, default="tanh"
        ``tanh``, ``logistic``, ``relu``, ``softplus`` or ``identity``.
    l2 : float, default=0.0
        Weight decay: coefficient of the sum of squared weights.
    l1 : float, default=0.0
        Lasso coefficient: the sum of absolute weights (fitted by proximal
        gradient, with exact zeros).
    penalize_bias : bool, default=False
        Penalize biases too (R nnet's convention).
    skip : bool, default=False
        Skip-layer connections from the inputs to the outputs.
    bias : bool or sequence of bool, default=True
        Biases per layer.
    n_starts : int, default=1
        Random starts; the fit with the smallest objective is kept.
    random_state : int, RandomState instance or None, default=0
        Seed of the starting weights (the same seed gives the same fit; None
        draws one from NumPy's global generator).
    init : str, default="uniform"
        ``uniform`` (nnet's U(-rang, rang)) or ``glorot``.
    rang : float, default=0.7
        Half-width of the uniform starting weights.
    tol : float, default=1e-6
        Stop when the gradient norm of the objective is at most ``tol``.
    max_iter : int, default=5000
        Iteration limit per start (epochs for ``solver="adam"``).
    solver : str, default="lbfgs"
        ``lbfgs`` (full batch) or ``adam`` (minibatch).
    batch_size : int, default=256
        Minibatch size for ``solver="adam"``.
    learning_rate : float, default=1e-3
        Step size for ``solver="adam"``.
    warm_start : bool, default=False
        Start from the previous fit's weights (one start) when the network is
        the same; otherwise start afresh, with a warning.
    verbose : int, default=0
        Print one line per finished start (and a last line) on stdout.
    n_restarts : int, default="deprecated"
        Deprecated alias of ``n_starts`` (removed in the next release).
    seed : int, default="deprecated"
        Deprecated alias of ``random_state`` (removed in the next release).
"""

_ATTRIBUTES_DOC = """
    result_ : FitResult
        The full fit: log-likelihood, deviance, AIC/BIC, every start,
        :meth:`~nnmle.api.FitResult.summary`.
    n_features_in_ : int
        Number of input columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.
    coefs_ : list of ndarray
        Weight matrix of each layer, shape ``(fan_in, fan_out)`` (as in
        ``MLPRegressor``); the skip layer is ``result_.weights.skip``.
    intercepts_ : list of ndarray
        Bias vector of each layer.
    objective_ : float
        Penalized objective at the optimum: sum of case-weighted NLL + penalty.
    loglik_ : float
        Log-likelihood at the optimum.
    n_iter_ : int
        Iterations of the best start.
"""


def _with_docs(cls):
    doc = cls.__doc__.replace("    {parameters}", _PARAMETERS_DOC.strip("\n"))
    cls.__doc__ = doc.replace("    {attributes}", _ATTRIBUTES_DOC.strip("\n"))
    return cls


class _MLEBase(BaseEstimator):
    """Hyper-parameters, fitting and fitted attributes shared by both estimators."""

    def __init__(
        self,
        hidden=(10,),
        activation="tanh",
        l2=0.0,
        l1=0.0,
        penalize_bias=False,
        skip=False,
        bias=True,
        n_starts=1,
        random_state=0,
        init="uniform",
        rang=0.7,
        tol=1e-6,
        max_iter=5000,
        solver="lbfgs",
        batch_size=256,
        learning_rate=1e-3,
        warm_start=False,
        verbose=0,
        n_restarts=_DEPRECATED,
        seed=_DEPRECATED,
    ):
        self.hidden = hidden
        self.activation = activation
        self.l2 = l2
        self.l1 = l1
        self.penalize_bias = penalize_bias
        self.skip = skip
        self.bias = bias
        self.n_starts = n_starts
        self.random_state = random_state
        self.init = init
        self.rang = rang
        self.tol = tol
        self.max_iter = max_iter
        self.solver = solver
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.warm_start = warm_start
        self.verbose = verbose
        self.n_restarts = n_restarts
        self.seed = seed

    def _options(self) -> tuple[int, int]:
        """``(n_starts, seed)`` from the parameters, deprecated aliases warned about."""
        n_starts, seed = self.n_starts, None
        if self.n_restarts != _DEPRECATED:
            warnings.warn(
                f"{type(self).__name__}(n_restarts=...) is deprecated and will be removed in "
                f"the next release; use n_starts (the same number of random starts).",
                FutureWarning,
                stacklevel=4,
            )
            n_starts = self.n_restarts
        if self.seed != _DEPRECATED:
            warnings.warn(
                f"{type(self).__name__}(seed=...) is deprecated and will be removed in the next "
                f"release; use random_state (scikit-learn's name).",
                FutureWarning,
                stacklevel=4,
            )
            seed = self.seed
        if seed is None:
            rs = self.random_state
            seed = (
                rs
                if isinstance(rs, int | np.integer) and not isinstance(rs, bool) and rs >= 0
                else None
            )
            if seed is None:
                seed = int(check_random_state(rs).randint(np.iinfo(np.int32).max))
        return n_starts, int(seed)

    def _warm_theta(self, key):
        """The previous weights for ``warm_start`` (``None`` to start afresh)."""
        if not self.warm_start or not hasattr(self, "result_"):
            return None
        if getattr(self, "_warm_key", None) != key:
            warnings.warn(
                f"{type(self).__name__}(warm_start=True): the network or the data changed shape "
                f"since the last fit, so it starts afresh. Fix: keep hidden, skip, bias, the "
                f"features and the classes/outputs, or warm_start=False.",
                UserWarning,
                stacklevel=4,
            )
            return None
        return self.result_.theta[None, :]

    def _fit(self, X: np.ndarray, y, family: str, sample_weight) -> None:
        """Run :func:`nnmle.fit` on validated data and set the fitted attributes."""
        n_starts, seed = self._options()
        key = (family, X.shape[1], np.shape(y)[1:], tuple(np.unique(y)) if family in
               ("bernoulli", "multinomial") else (), repr(self.hidden), self.skip,
               repr(self.bias), self.activation)  # fmt: skip
        start = self._warm_theta(key)
        if hasattr(self, "feature_names_in_"):
            import pandas as pd

            X = pd.DataFrame(X, columns=self.feature_names_in_)  # names for summary()
        options = {}
        if start is not None:
            options["start_values"] = start
        if self.verbose:
            options["on_result"] = self._report
        self.result_ = fit(
            X,
            y,
            hidden=self.hidden,
            activation=self.activation,
            family=family,
            l2=self.l2,
            l1=self.l1,
            penalize_bias=self.penalize_bias,
            skip=self.skip,
            bias=self.bias,
            weights=sample_weight,
            n_starts=n_starts,
            seed=seed,
            init=self.init,
            rang=self.rang,
            tol=self.tol,
            max_iter=self.max_iter,
            solver=self.solver,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            **options,
        )
        self._warm_key = key
        if self.verbose:
            r = self.result_
            print(
                f"[{type(self).__name__}] best of {len(r.restarts)} start(s): objective "
                f"{r.objective:.6g}, log-likelihood {r.loglik:.6g}, {r.status}"
            )
        layers = self.result_.estimate.params.layers
        self.coefs_ = [np.asarray(layer.W) for layer in layers]
        self.intercepts_ = [np.asarray(layer.b) for layer in layers]
        self.objective_ = self.result_.objective
        self.loglik_ = self.result_.loglik
        self.n_iter_ = self.result_.n_iter
        if self.result_.status in _UNFINISHED:
            warnings.warn(
                f"{type(self).__name__} did not converge ({self.result_.status}): "
                f"{self.result_.message}.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _report(self, r) -> None:
        print(
            f"[{type(self).__name__}] start {r.index}: objective {r.objective:.6g}, {r.status} "
            f"({r.n_iter} iterations, {r.seconds:.2f} s)"
        )

    def _check_X(self, X) -> np.ndarray:
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=np.float64)

    def summary(self, **options):
        """Statsmodels-like summary of the fit (see :meth:`nnmle.api.FitResult.summary`).

        Parameters
        ----------
        **options
            Passed to :meth:`~nnmle.api.FitResult.summary` (e.g. ``se="hessian"``).

        Returns
        -------
        Summary
            ``print`` it for the text table, ``.to_dict()`` for plain data.
        """
        check_is_fitted(self)
        return self.result_.summary(**options)

    # A Family holds its functions (some are lambdas or jax ufuncs, which pickle
    # cannot store by reference): pickle the family's name and look it up again.


@_with_docs
class MLERegressor(RegressorMixin, _MLEBase):
    """Neural network regression fitted by maximum (penalized) likelihood.

    A scikit-learn front end to :func:`nnmle.fit` for the gaussian (squared
    error) and poisson (counts, log link) families. ``score`` is R², as for
    every scikit-learn regressor; the deviance and the log-likelihood are in
    ``result_``.

    Parameters
    ----------
    family : {"gaussian", "poisson"}, default="gaussian"
        Likelihood; ``poisson`` needs targets >= 0 and predicts ``exp(eta)``.
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    MLEClassifier : the classifier (bernoulli / multinomial families).
    nnmle.fit : the function behind both.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle import MLERegressor
    >>> X = np.linspace(-2, 2, 40).reshape(-1, 1)
    >>> y = np.tanh(1.5 * X[:, 0]) + 0.1 * np.cos(7 * X[:, 0])
    >>> reg = MLERegressor(hidden=(2,)).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> bool(reg.score(X, y) > 0.99)
    True
    """

    def __init__(
        self,
        family="gaussian",
        hidden=(10,),
        activation="tanh",
        l2=0.0,
        l1=0.0,
        penalize_bias=False,
        skip=False,
        bias=True,
        n_starts=1,
        random_state=0,
        init="uniform",
        rang=0.7,
        tol=1e-6,
        max_iter=5000,
        solver="lbfgs",
        batch_size=256,
        learning_rate=1e-3,
        warm_start=False,
        verbose=0,
        n_restarts=_DEPRECATED,
        seed=_DEPRECATED,
    ):
        self.family = family
        super().__init__(
            hidden=hidden, activation=activation, l2=l2, l1=l1, penalize_bias=penalize_bias,
            skip=skip, bias=bias, n_starts=n_starts, random_state=random_state, init=init,
            rang=rang, tol=tol, max_iter=max_iter, solver=solver, batch_size=batch_size,
            learning_rate=learning_rate, warm_start=warm_start, verbose=verbose,
            n_restarts=n_restarts, seed=seed,
        )  # fmt: skip

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = self.family in ("poisson", "negative_binomial", "gamma")
        tags.target_tags.multi_output = self.family == "gaussian"
        return tags

    def fit(self, X, y, sample_weight=None):
        """Fit the network by maximum (penalized) likelihood.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs (a DataFrame's column names are kept for the summary).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets: real numbers (gaussian, one or several columns with one
            common variance), counts >= 0 (poisson, negative_binomial), or y > 0
            (gamma).
        sample_weight : array-like of shape (n_samples,), default=None
            Case (frequency) weights: weight 2 counts a row twice.

        Returns
        -------
        self : MLERegressor
        """
        if self.family not in _REGRESSION_FAMILIES:
            raise ValueError(
                f"MLERegressor(family={self.family!r}) is not a regression family: expected "
                f"one of {_REGRESSION_FAMILIES}. Fix: MLERegressor(family='gaussian'), or "
                f"MLEClassifier() for class labels."
            )
        multi = self.family == "gaussian"
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, multi_output=multi)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        self._fit(X, y, self.family, sample_weight)
        self._y_columns = y.shape[1] if y.ndim == 2 else None
        return self

    def predict(self, X):
        """Fitted mean: ``eta`` (gaussian) or ``exp(eta)`` (log-link families).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The shape of ``y`` in ``fit``.
        """
        X = self._check_X(X)
        mu = self.result_.predict(X)
        q = getattr(self, "_y_columns", None)
        return mu.reshape(-1, q) if q is not None else mu


@_with_docs
class MLEClassifier(ClassifierMixin, _MLEBase):
    """Neural network classifier fitted by maximum (penalized) likelihood.

    Two classes use the bernoulli family (one logit output, modelling the
    probability of ``classes_[1]``); more classes use the multinomial family
    with ``classes_[0]`` as the baseline (K - 1 outputs), as a multinomial
    logit does. With ``hidden=()`` it is the (unpenalized, unless ``l2 > 0``)
    logistic regression.

    Parameters
    ----------
    class_weight : "balanced", dict or None, default=None
        Weights of the classes, multiplying the case weights (scikit-learn's
        convention): ``"balanced"`` gives class ``c`` the weight
        ``n_samples / (n_classes * n_c)``; a dict ``{label: weight}`` sets
        them (classes absent from it weigh 1).
    {parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    {attributes}

    See Also
    --------
    MLERegressor : the regressor (gaussian / poisson families).
    nnmle.fit : the function behind both.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmle import MLEClassifier
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    >>> y = np.array(["no", "no", "yes", "no", "yes", "yes"])
    >>> clf = MLEClassifier(hidden=()).fit(X, y)
    >>> clf.classes_.tolist()
    ['no', 'yes']
    >>> clf.predict([[0.5], [4.5]]).tolist()
    ['no', 'yes']
    >>> clf.predict_proba([[2.5]]).round(2).tolist()
    [[0.5, 0.5]]
    """

    def __init__(
        self,
        class_weight=None,
        hidden=(10,),
        activation="tanh",
        l2=0.0,
        l1=0.0,
        penalize_bias=False,
        skip=False,
        bias=True,
        n_starts=1,
        random_state=0,
        init="uniform",
        rang=0.7,
        tol=1e-6,
        max_iter=5000,
        solver="lbfgs",
        batch_size=256,
        learning_rate=1e-3,
        warm_start=False,
        verbose=0,
        n_restarts=_DEPRECATED,
        seed=_DEPRECATED,
    ):
        self.class_weight = class_weight
        super().__init__(
            hidden=hidden, activation=activation, l2=l2, l1=l1, penalize_bias=penalize_bias,
            skip=skip, bias=bias, n_starts=n_starts, random_state=random_state, init=init,
            rang=rang, tol=tol, max_iter=max_iter, solver=solver, batch_size=batch_size,
            learning_rate=learning_rate, warm_start=warm_start, verbose=verbose,
            n_restarts=n_restarts, seed=seed,
        )  # fmt: skip

    def fit(self, X, y, sample_weight=None):
        """Fit the network by maximum (penalized) likelihood.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs (a DataFrame's column names are kept for the summary).
        y : array-like of shape (n_samples,)
            Class labels of any type (numbers, strings, booleans).
        sample_weight : array-like of shape (n_samples,), default=None
            Case (frequency) weights: weight 2 counts a row twice.

        Returns
        -------
        self : MLEClassifier
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        if self.class_weight is not None:
            cw = compute_sample_weight(self._class_weight(), y)
            sample_weight = cw if sample_weight is None else sample_weight * cw
        weighted = np.bincount(
            codes, weights=sample_weight, minlength=self.classes_.size
        )  # rows per class, or their total weight
        present = self.classes_[weighted > 0]
        if present.size < 2:
            raise ValueError(
                f"y has only one class ({present.tolist()!r}) with positive weight among "
                f"{self.classes_.tolist()!r}: a classifier needs at least two classes. "
                f"Fix: check the target column (and sample_weight)."
            )
        if self.classes_.size == 2:
            self._fit(X, codes.astype(np.float64), "bernoulli", sample_weight)
        else:
            self._fit(X, y, "multinomial", sample_weight)  # its baseline: the first class
        return self

    def _class_weight(self):
        cw = self.class_weight
        if isinstance(cw, dict):
            unknown = [k for k in cw if k not in set(self.classes_.tolist())]
            bad = [k for k, v in cw.items() if not (isinstance(v, int | float) and v >= 0)]
            if unknown or bad:
                raise ValueError(
                    f"class_weight must map the classes {self.classes_.tolist()!r} to weights "
                    f">= 0; got {'unknown labels ' + repr(unknown) if unknown else ''}"
                    f"{' and ' if unknown and bad else ''}"
                    f"{'bad weights for ' + repr(bad) if bad else ''}. Fix: e.g. class_weight="
                    f"{{{self.classes_.tolist()[0]!r}: 1.0, {self.classes_.tolist()[-1]!r}: 2.0}}."
                )
            return cw
        if cw != "balanced":
            raise ValueError(
                f"class_weight must be None, 'balanced' or a dict {{label: weight}}; got {cw!r}. "
                f"Fix: class_weight='balanced'."
            )
        return cw

    def decision_function(self, X):
        """Linear predictor of the output layer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            Two classes: the logit of ``classes_[1]``. More classes: the logits
            of every class, 0 for the baseline ``classes_[0]``.
        """
        X = self._check_X(X)
        eta = self.result_.linear_predictor(X)
        if self.classes_.size == 2:
            return eta[:, 0]
        return np.hstack([np.zeros((eta.shape[0], 1)), eta])

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to one.
        """
        X = self._check_X(X)
        mu = self.result_.predict(X)
        if self.classes_.size == 2:
            return np.column_stack([1.0 - mu, mu])
        return mu

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else np.argmax(scores, axis=1)
        return self.classes_[index]

    def summary(self, **options):
        """Statsmodels-like summary of the fit, with the class coding in a note.

        Parameters
        ----------
        **options
            Passed to :meth:`~nnmle.api.FitResult.summary` (e.g. ``se="hessian"``).

        Returns
        -------
        Summary
        """
        s = super().summary(**options)
        if self.classes_.size == 2:
            s.notes.append(
                f"output y models P(class = {self.classes_.tolist()[1]!r}) (bernoulli, logit)"
            )
        else:
            s.notes.append(f"baseline class: {self.classes_.tolist()[0]!r} (multinomial, softmax)")
        return s
