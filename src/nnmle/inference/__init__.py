"""Statistical inference for fitted networks: standard errors, tests, intervals, bootstrap.

Every function takes a fit (an :class:`~nnmle.estimation.Estimate`, or the
:class:`~nnmle.api.FitResult` façade) and works on its
:class:`~nnmle.problem.Problem`; nothing is stored on the fit, and nothing
here renders (the summary table is :mod:`nnmle.report`'s).

What is estimated
-----------------
A network's weights are identified at best up to its symmetry group, so
inference is done for the *canonical* weights (:func:`canonical_theta`:
:func:`nnmle.symmetry.canonicalize` under the group of the fit's penalized
objective, :func:`nnmle.symmetry.group`, so the canonical weights are still an
optimum). Even then a weight may not be identified. Identification is judged
on the Fisher information ``F = J'WJ`` (:func:`nnmle.identifiability.identification`),
never on the observed Hessian at a penalized fit, and each weight is one of:

* **identified by the data** (no component along the null space of ``F``):
  std err, z, P>|z| and a confidence interval;
* **identified only by the penalty** (it loads on the null space of ``F``, where
  the penalized Hessian is positive definite): a std err and a *penalized*
  (posterior-like) interval, but no z and no p: the data do not test it;
* **not identified** (neither the data nor the penalty curve the objective along
  it): no numbers.

A Fisher eigenvalue is zero when ``lambda <= 1e-8 * max(lambda)``; a weight loads
on a subspace when its squared loading exceeds :data:`LOADING_TOL` (``1e-6``).
Predictions and other identified functions of the weights (effects) get
intervals whatever the symmetry.

Covariances (``H`` the observed Hessian of the *penalized* objective,
``H = H_nll + 2 l2 P`` with ``P`` the diagonal of penalized entries; ``H^-1`` its
inverse, or the pseudo-inverse on its eigenvectors above the zero threshold
``max(1e-8 max|lambda|, 10 |grad|)``):

* ``se="hessian"``: ``phi * H^-1``. The dispersion ``phi`` is 1, except for
  the gaussian family, whose objective is ``1/2 * sum of squared residuals``
  (the NLL at unit variance), so ``phi = sum w r^2 / (sum w - edf)``: the
  Pearson chi-square over the residual degrees of freedom, as statsmodels'
  GLM (``edf`` below equals the number of weights without a penalty).
* ``se="sandwich"``: ``H^-1 J H^-1`` with ``J = sum_i c_i s_i s_i'``, ``s_i``
  the gradient of observation ``i``'s loss and ``c_i`` its case weight
  (frequency weights; ``c_i = w_i^2`` for the binomial family, whose weights
  are numbers of trials of one observation). Robust to a wrong likelihood,
  needs no dispersion (statsmodels' ``cov_type="HC0"``).
* ``se="bootstrap"``: the covariance of aligned bootstrap replicates
  (:func:`bootstrap`), with percentile intervals.

``z = coef / se``, ``p = 2 * (1 - Phi(|z|))``, intervals ``coef -/+ z_(1+level)/2 se``
(normal reference, as statsmodels' GLM). Under an L1 penalty, weights set
exactly to zero get no standard error; the others use the Hessian over the
non-zero weights (a "post-selection" number, not a valid test).

The effective number of parameters is ``edf = tr(F H^-1)``; with every
weight penalized it equals ``sum_i e_i / (e_i + 2 l2)`` over the eigenvalues
``e_i`` of ``F``, and without a penalty the rank of ``F``.

Identified functions of the weights (:mod:`._functionals`): predictions
(:func:`prediction`, statsmodels' ``get_prediction``), average marginal
effects (:func:`margins`, ``get_margeff``) and partial dependence
(:func:`partial_dependence`) get delta-method (or bootstrap) standard errors
whatever the symmetry, each number labelled by whether the data identify it
(its gradient has no component along the Fisher null space). Tests per term:
:func:`wald_test_terms` (joint Wald tests of the weights leaving a term's
columns) and :func:`anova` (likelihood-ratio tests by refitting, chi-square or
parametric bootstrap). :func:`fit_statistics` and :func:`residuals` give
statsmodels' degrees of freedom, Pearson chi-square, dispersion, null
log-likelihood and residuals.

Bootstrap replicates are units of work run by an executor's ``map``
(:class:`nnmle.starts.LocalExecutor` threads by default,
:class:`nnmle.starts.DaskExecutor` for a cluster); each refits its reweighted
problem with :func:`nnmle.starts.run_starts` and the solver
:func:`nnmle.solvers.choose_solver` picks (proximal gradient under L1).
"""

from ..identifiability import LOADING_TOL
from ._anova import Anova, anova, restricted_problem, simulate
from ._bootstrap import Bootstrap, BootstrapJob, bootstrap, bootstrap_replicates
from ._covariance import METHODS, Inference, infer, inference_table
from ._curvature import (
    Curvature,
    active_mask,
    canonical_theta,
    curvature,
    effective_df,
)
from ._effects import (
    Margins,
    PartialDependence,
    check_alpha,
    margins,
    partial_dependence,
    require_rows,
)
from ._prediction import Prediction, PredictionInterval, predict_interval, prediction
from ._statistics import RESIDUALS, FitStatistics, fit_statistics, pseudo_rsquared, residuals
from ._terms import Term, TermTests, design_terms, find_term, wald_test_terms, weight_names
from ._tests import LRTest, information_criteria, lr_test, wald_inputs

__all__ = [
    "LOADING_TOL",
    "METHODS",
    "RESIDUALS",
    "Anova",
    "Bootstrap",
    "BootstrapJob",
    "Curvature",
    "FitStatistics",
    "Inference",
    "LRTest",
    "Margins",
    "PartialDependence",
    "Prediction",
    "PredictionInterval",
    "Term",
    "TermTests",
    "active_mask",
    "anova",
    "bootstrap",
    "bootstrap_replicates",
    "canonical_theta",
    "check_alpha",
    "curvature",
    "design_terms",
    "effective_df",
    "find_term",
    "fit_statistics",
    "infer",
    "inference_table",
    "information_criteria",
    "lr_test",
    "margins",
    "partial_dependence",
    "predict_interval",
    "prediction",
    "pseudo_rsquared",
    "require_rows",
    "residuals",
    "restricted_problem",
    "simulate",
    "wald_inputs",
    "wald_test_terms",
    "weight_names",
]
