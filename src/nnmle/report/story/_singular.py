"""The story's singular-learning-theory section: BIC's d/2 against the learning coefficient."""

from __future__ import annotations

import math
import warnings

from ...estimation import Estimate
from ...singular import learning_coefficient
from ._model import SingularSection, fmt

__all__ = ["singular_findings", "singular_section", "singular_table"]


def singular_section(est: Estimate, seed: int = 0) -> SingularSection | None:
    """:func:`nnmle.singular.learning_coefficient` at the final fit (``None`` if it is refused)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kept in the section's warnings
        try:
            lc = learning_coefficient(est, seed=seed, warmup=2000, draws=4000)
        except ValueError:
            return None
    lo, hi = lc.interval()
    return SingularSection(
        lambda_hat=lc.estimate, se=lc.se, ci_low=lo, ci_high=hi, n_params=lc.n_params,
        d_over_2=lc.regular, laplace=lc.laplace, n=lc.n, beta=lc.beta, gamma=lc.gamma,
        sampler=lc.sampler,
        chains=lc.chains, draws=lc.draws, warmup=lc.warmup, ess=lc.ess, rhat=lc.rhat,
        escaped=lc.escaped, bic=est.bic, seconds=lc.seconds, warnings=list(lc.warnings),
        bic_lambda=-2 * est.loglik + 2 * lc.estimate * math.log(lc.n),
    )  # fmt: skip


def singular_findings(s: SingularSection, group_order: int | None) -> list[str]:
    """The comparison in sentences."""
    twins = f"its {group_order} symmetric twins, " if group_order and group_order > 1 else ""
    out = [
        f"BIC counts d/2 = {fmt(s.d_over_2)} for the {s.n_params} free weights; the local "
        f"learning coefficient at the final fit (singular learning theory, Lau et al. 2023) is "
        f"lambda_hat = {fmt(s.lambda_hat, 3)}, 95% Monte-Carlo interval "
        f"[{fmt(s.ci_low, 3)}, {fmt(s.ci_high, 3)}] (n = {fmt(s.n)}, beta = 1/log n, "
        f"{s.chains} chains x {s.draws} draws, gamma = {fmt(s.gamma)})."
    ]
    out.append(
        f"A regular model with the fit's Hessian would read {fmt(s.laplace, 3)} at this "
        f"localization: the {fmt(s.d_over_2 - s.laplace, 3)} between it and d/2 are directions "
        f"the data barely curve at n = {fmt(s.n)}."
    )
    if s.ci_high < min(s.d_over_2, s.laplace):
        out.append(
            f"The network is singular: {twins}redundant units and flat directions make the "
            f"likelihood fall off more slowly than its Hessian says, so its effective "
            f"complexity is below d/2 and BIC over-penalizes it (-2 loglik + 2 lambda_hat log n "
            f"= {fmt(s.bic_lambda, 6)} against BIC = {fmt(s.bic, 6)})."
        )
    out += [f"Sampler warning: {w}." for w in s.warnings]
    return out


def singular_table(s: SingularSection) -> tuple[str, list[str], list[list[str]]]:
    """``(title, header, rows)`` for the HTML report."""
    return (
        "BIC's count against the learning coefficient",
        ["quantity", "value"],
        [
            ["d/2 (BIC)", fmt(s.d_over_2)],
            ["regular model with the fit's Hessian", fmt(s.laplace, 4)],
            ["lambda_hat", fmt(s.lambda_hat, 4)],
            ["MC std err", fmt(s.se, 3)],
            ["95% interval", f"[{fmt(s.ci_low, 4)}, {fmt(s.ci_high, 4)}]"],
            ["BIC", fmt(s.bic, 6)],
            ["-2 loglik + 2 lambda_hat log n", fmt(s.bic_lambda, 6)],
            ["n, beta, gamma", f"{fmt(s.n)}, {fmt(s.beta, 4)}, {fmt(s.gamma)}"],
            ["sampler", f"{s.sampler}: {s.chains} x {s.draws} (+{s.warmup} warm-up)"],
            ["ESS, R-hat", f"{fmt(s.ess, 4)}, {fmt(s.rhat, 4)}"],
        ],
    )
