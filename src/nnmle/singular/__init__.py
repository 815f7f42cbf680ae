"""Singular learning theory: the learning coefficient, WBIC and WAIC of a fitted network.

AIC and BIC assume a *regular* model: a unique optimum and a nonsingular Fisher
information, so that the Bayes free energy is
``F_n = n L_n(w0) + (d / 2) log n + O_p(1)``. A network is singular (the
symmetry group, redundant units and flat directions that the rest of nnmle
shows), and Watanabe's theory replaces ``d / 2`` by the real log canonical
threshold ``lambda`` (the learning coefficient):
``F_n = n L_n(w0) + lambda log n - (m - 1) log log n + O_p(1)``, with
``lambda = d / 2`` for a regular model and ``lambda < d / 2`` for a singular one.

What is estimated
-----------------
* :func:`learning_coefficient`: the local learning coefficient at a fit
  ``w*`` (Lau et al. 2023),
  ``lambda_hat = n beta (E[L_n(w)] - L_n(w*))``, the expectation under the
  tempered posterior localized at ``w*``,
  ``exp(-n beta L_n(w) - gamma / 2 |w - w*|^2)``, ``beta = 1 / log n``.
* :func:`wbic`: ``WBIC = E_beta[n L_n(w)]`` at ``beta = 1 / log n`` under the
  global tempered posterior (Watanabe 2013), which estimates ``F_n`` without
  knowing ``lambda``; chains start at the distinct solutions of a campaign.
* :func:`free_energy`: ``F_n`` itself, by thermodynamic integration over power
  posteriors (Friel and Pettitt 2008) with WBIC's model and prior: the check of
  WBIC, and the criterion when two models' WBICs are too close to decide.
* :func:`waic`: ``-2 (lppd - p_waic)`` from draws at ``beta = 1`` (Watanabe
  2010), an estimate of the generalization loss, on AIC's scale.
* :func:`information_criteria`: AIC, BIC, ``lambda_hat``, WBIC and WAIC side by
  side with what each assumes; :func:`select_hidden`: the criteria per number of
  hidden units, each choice with the strength of its evidence (``2 log B`` on Kass
  and Raftery's scale).

``n L_n`` and nnmle's objective
-------------------------------
nnmle minimizes the *sum* ``f(w) = sum_i c_i loss_i(w) + penalty(w)`` (case
weights ``c_i``), where ``loss`` is the NLL at unit dispersion. Here
``n L_n(w) = f(w) / phi`` up to a constant, ``phi`` being the dispersion at the
fit (σ̂² for the gaussian family, Pearson's for the gamma, 1 otherwise), so
``L_n`` is the average negative log-likelihood per unit of case weight and ``n``
is the sum of the case weights (the rows for the binomial family, whose weights
are trials), as in BIC. For the learning coefficient the penalty is part of the
loss (it is what makes ``w*`` a minimum); for WBIC and WAIC it is the prior
``exp(-penalty / phi)`` (times a broad ``N(0, prior_scale^2)``).

Samplers
--------
blackjax's MALA (default) or NUTS with full-batch gradients, or SGLD on
minibatches for large ``n``; chains in parallel (``jax.vmap``), float64,
reproducible from a seed, in coordinates whitened by the Hessian at the fit and
then by the warm-up draws' covariance (:mod:`nnmle.singular._sampler`). Each
result carries its diagnostics (step size, acceptance, effective sample size,
rank-normalized split R-hat of the trace of ``n L_n``) and warns when the chains
are not stationary or a draw falls below the fit (another basin within reach).

Ground truth (the tests)
------------------------
A GLM with ``d`` coefficients has ``lambda = d / 2``
(:func:`regular_coefficient`); a linear network ``M -> H -> N`` (reduced-rank
regression) has the exact ``lambda`` of Aoyagi and Watanabe (2005)
(:func:`reduced_rank_coefficient`).

References
----------
S. Watanabe, *Algebraic Geometry and Statistical Learning Theory*, Cambridge
University Press (2009). S. Watanabe, "A widely applicable Bayesian information
criterion", JMLR 14 (2013). S. Watanabe, "Asymptotic equivalence of Bayes cross
validation and widely applicable information criterion", JMLR 11 (2010).
E. Lau, Z. Furman, G. Wang, D. Murfet, S. Wei, "The local learning coefficient:
a singularity-aware complexity measure", arXiv:2308.12108 (2023). M. Aoyagi and
S. Watanabe, "Stochastic complexities of reduced rank regression in Bayesian
estimation", Neural Networks 18 (2005).
"""

from ._criteria import (
    ASSUMES,
    SAMPLED,
    WAIC,
    WBIC,
    InformationCriteria,
    PosteriorSolution,
    distinct_solutions,
    information_criteria,
    waic,
    wbic,
)
from ._diagnostics import RHAT_MAX, chain_warnings
from ._free_energy import FreeEnergy, free_energy
from ._llc import LearningCoefficient, learning_coefficient
from ._sampler import SAMPLERS
from ._select import (
    BAYES_SCALE,
    DEFAULT_CRITERIA,
    EVIDENCE,
    SELECT_CRITERIA,
    SELECTION_CRITERIA,
    HiddenSelection,
    choice_warnings,
    cv_deviance,
    evidence_strength,
    hidden_row,
    select_hidden,
)
from ._target import sample_size
from ._theory import (
    linear_model_free_energy,
    product_model_wbic,
    reduced_rank_coefficient,
    regular_coefficient,
)

__all__ = [
    "ASSUMES",
    "BAYES_SCALE",
    "DEFAULT_CRITERIA",
    "EVIDENCE",
    "RHAT_MAX",
    "SAMPLED",
    "SAMPLERS",
    "SELECTION_CRITERIA",
    "SELECT_CRITERIA",
    "WAIC",
    "WBIC",
    "FreeEnergy",
    "HiddenSelection",
    "InformationCriteria",
    "LearningCoefficient",
    "PosteriorSolution",
    "chain_warnings",
    "choice_warnings",
    "cv_deviance",
    "distinct_solutions",
    "evidence_strength",
    "free_energy",
    "hidden_row",
    "information_criteria",
    "learning_coefficient",
    "linear_model_free_energy",
    "product_model_wbic",
    "reduced_rank_coefficient",
    "regular_coefficient",
    "sample_size",
    "select_hidden",
    "waic",
    "wbic",
]
