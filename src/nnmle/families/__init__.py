"""Likelihood families: the negative log-likelihood a network minimizes.

A family turns the network's linear predictor ``eta`` into the mean through
its inverse link, and gives the per-observation loss that the fit sums with
case weights. The losses are exactly the negative log-likelihoods of
classical statistics:

================= ======== ========================================== ======================
family            link     loss per observation (weight 1)            targets
================= ======== ========================================== ======================
gaussian          identity ½ Σ_k (y_k − μ_k)²  (NLL at unit variance)  reals, 1 or q columns
bernoulli         logit    −[y log μ + (1 − y) log(1 − μ)]            0/1, or two levels
binomial          logit    same, y a proportion, weight = trials      proportions in [0, 1]
poisson           log      μ − y log μ + log y!                       counts ≥ 0
negative_binomial log      −log NB2(y; μ, α), Var y = μ + α μ²        counts ≥ 0
gamma             log      y/μ + log μ  (NLL at unit dispersion)      y > 0
multinomial       softmax  −log μ_y, baseline category = first class  K ≥ 2 labels
================= ======== ========================================== ======================

Dispersion
    gaussian: one variance σ² common to every output, estimated by maximum
    likelihood (σ̂² = Σ w Σ_k r² / (q Σ w)) in the log-likelihood, as
    statsmodels' GLM; standard errors use Pearson χ² / (q Σ w − k). gamma:
    φ̂ = Pearson χ² / (Σ w − k) in the log-likelihood and the standard errors,
    as statsmodels' GLM.
Negative binomial
    α is estimated by maximum likelihood jointly with the weights: the network
    gets one more output, ``log(alpha)``, that has only a bias (every weight
    into it is frozen at zero), so the optimizers, Hessians and the symmetry
    group treat it as one more weight that no symmetry moves. Its summary
    row is ``bias->log(alpha)``; α = exp of it (standard error by the delta
    method).
Offsets
    ``eta = f(x) + offset`` for gaussian, poisson, negative_binomial and gamma;
    an exposure ``t`` is the offset ``log t`` (log-link families).
Non-integer counts
    poisson and negative_binomial accept them with a warning (a
    quasi-likelihood fit, as statsmodels allows); negative counts are rejected.

The multinomial uses K − 1 linear predictors (the first class is the
reference with predictor 0), exactly as a multinomial logit.
"""

from __future__ import annotations

from . import _kernels as k
from ._base import Family, wsum
from ._targets import infer_family

__all__ = ["FAMILIES", "Family", "get_family", "infer_family", "wsum"]


FAMILIES: dict[str, Family] = {
    "gaussian": Family(
        "gaussian", "identity", k.identity, k.gaussian_loss, k.zero_const, k.zeros,
        k.gaussian_null_eta, True, unit_deviance=k.gaussian_deviance,
        null_predictor=k.gaussian_null, variance=k.unit_variance, offsets=True,
        multi_output=True,
    ),
    # bernoulli and binomial share the likelihood; they differ in the targets they accept
    **{
        name: Family(
            name, "logit", k.sigmoid, k.binomial_loss, k.binomial_const, k.binomial_saturated,
            k.logit_mean, variance=k.binomial_variance,
        )
        for name in ("bernoulli", "binomial")
    },
    "poisson": Family(
        "poisson", "log", k.exp_mean, k.poisson_loss, k.poisson_const,
        k.poisson_saturated, k.log_mean, null_predictor=k.poisson_null,
        variance=k.mean_variance, offsets=True, exposure=True,
    ),
    "negative_binomial": Family(
        "negative_binomial", "log", k.exp_mean, k.nb_loss, k.poisson_const, k.zeros,
        k.nb_null_eta, unit_deviance=k.nb_deviance, null_predictor=k.nb_null,
        variance=k.nb_variance, n_extra=1, extra_names=("log(alpha)",), offsets=True,
        exposure=True,
    ),
    "gamma": Family(
        "gamma", "log", k.exp_mean, k.gamma_loss, k.zero_const, k.zeros, k.log_mean, True,
        unit_deviance=k.gamma_deviance, null_predictor=k.gamma_null,
        variance=k.gamma_variance, scale_method="pearson", loglik_scaled=k.gamma_loglik,
        offsets=True, exposure=True,
    ),
    "multinomial": Family(
        "multinomial", "softmax", k.softmax, k.multinomial_loss, k.zero_const, k.zeros,
        k.multinomial_null,
    ),
}  # fmt: skip


def get_family(family: str | Family) -> Family:
    """Look up a family by name (or pass a :class:`Family` through).

    Examples
    --------
    >>> get_family("poisson").link
    'log'
    >>> get_family("negative_binomial").extra_names
    ('log(alpha)',)
    """
    if isinstance(family, Family):
        return family
    if not isinstance(family, str) or family not in FAMILIES:
        raise ValueError(
            f"Unknown family {family!r}: expected one of {', '.join(FAMILIES)}. "
            f"Fix: e.g. family='bernoulli' for 0/1 targets, 'gaussian' for real numbers, "
            f"'poisson' for counts."
        )
    return FAMILIES[family]
