"""Checks shared by the estimators: arguments, the fit, and whether the chains can be trusted."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from blackjax.diagnostics import effective_sample_size, rhat

from ._sampler import SAMPLERS

__all__ = ["RHAT_MAX", "check_fit", "check_run", "mc_se", "mixing", "warn_all"]

#: R-hat (rank-normalized split, Vehtari et al. 2021) above this: chains not stationary
RHAT_MAX = 1.01
#: effective draws below this: the standard error itself is unreliable
ESS_MIN = 100

#: statuses at which no local minimum exists to sample around
_REFUSED = {
    "mle_not_exist": "the weights race away, so there is no local minimum to sample around",
    "saddle": "the fit is a saddle point (negative curvature), not a local minimum",
    "non_finite": "the fit produced non-finite values",
    "exact_fit": "the gaussian fit interpolates the data (σ̂² = 0), so the likelihood is unbounded",
}
_FIX = {
    "mle_not_exist": "add a penalty (l2=...) or drop the separating inputs, then refit",
    "saddle": "refit with more starts (n_starts=20) or escape the saddle (nnmle.escape_saddle)",
    "non_finite": "refit with standardized inputs or a smaller initial range",
    "exact_fit": "use fewer hidden units or a penalty",
}


def _int(name: str, value, low: int, example: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(
            f"{name} must be an integer >= {low}; got {value!r}. Fix: e.g. {name}={example}."
        )
    return int(value)


def _positive(name: str, value, example: str, zero: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not zero):
        kind = "a finite number >= 0" if zero else "a finite positive number"
        raise ValueError(f"{name} must be {kind}; got {value!r}. Fix: {example}.")
    return float(value)


def check_run(
    *,
    sampler: str,
    chains,
    draws,
    warmup,
    seed,
    thin,
    batch_size,
    step_size,
    beta=None,
    n: float | None = None,
) -> float | None:
    """Validate the sampling arguments; return ``beta`` (``1 / log n`` when ``None``)."""
    if sampler not in SAMPLERS:
        raise ValueError(
            f"Unknown sampler {sampler!r}: expected one of {sorted(SAMPLERS)}. "
            f"Fix: sampler='mala' (full batch) or 'sgld' (minibatches, large n)."
        )
    _int("chains", chains, 2, 8)  # a standard error over chains needs two
    _int("draws", draws, 20, 1000)
    _int("warmup", warmup, 0, 500)
    _int("seed", seed, 0, 0)
    _int("thin", thin, 1, 1)
    _int("batch_size", batch_size, 1, 256)
    if step_size is not None:
        _positive("step_size", step_size, "leave step_size=None (tuned during warm-up)")
    if beta is None:
        if n is None:
            return None
        if n <= 1:
            raise ValueError(
                f"beta = 1/log(n) needs more than one observation; got n = {n:g}. "
                f"Fix: pass beta explicitly or use more data."
            )
        return 1.0 / math.log(n)
    return _positive("beta", beta, "leave beta=None for 1/log(n), the WBIC temperature")


def check_fit(est, what: str, stacklevel: int = 3, refuse=tuple(_REFUSED)) -> None:
    """Refuse a fit that is not at a local minimum (statuses ``refuse``), warn for one that
    stopped early."""
    est.problem.require_data()
    status = est.status
    if status in refuse:
        raise ValueError(
            f"{what} is defined at a local minimum, but this fit has status {status!r}: "
            f"{_REFUSED[status]}. Fix: {_FIX[status]}."
        )
    if status in ("max_iter", "stalled"):
        warnings.warn(
            f"nnmle: the fit stopped with status {status!r} (gradient norm "
            f"{est.grad_norm:.3g} > tol {est.tol:g}), so it may not be a local minimum and "
            f"{what} may be biased. Fix: refit with a larger max_iter.",
            UserWarning,
            stacklevel=stacklevel,
        )


def mixing(trace: np.ndarray) -> tuple[float, float]:
    """``(ess, rhat)`` of a (chains, draws) trace: blackjax's ESS and rank-normalized R-hat."""
    if not np.all(np.isfinite(trace)):
        return float("nan"), float("nan")
    if np.ptp(trace) == 0:
        return 0.0, float("nan")
    ess = float(effective_sample_size(trace, chain_axis=0, sample_axis=1))
    return ess, float(rhat(trace, chain_axis=0, sample_axis=1))


def mc_se(trace: np.ndarray, ess: float) -> float:
    """Monte-Carlo standard error of a (chains, draws) trace's mean: the larger of the spread of
    the chains' means (``sd / sqrt(chains)``) and ``sd(all draws) / sqrt(ess)`` (with few chains
    the first alone is itself noisy; the second counts autocorrelation within chains).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.random.default_rng(0).normal(size=(4, 1000))   # independent draws
    >>> bool(mc_se(t, 4000.0) >= 1 / np.sqrt(4000))
    True
    """
    between = float(np.std(trace.mean(axis=1), ddof=1) / np.sqrt(trace.shape[0]))
    within = float(np.std(trace) / np.sqrt(ess)) if ess > 0 else float("inf")
    return max(between, within) if math.isfinite(ess) else between


def chain_warnings(ess: float, r: float, acceptance: np.ndarray, target: float | None) -> list[str]:
    """Sentences for chains that are not stationary, poorly mixed or badly tuned."""
    out = []
    if not math.isfinite(r) or r > RHAT_MAX:
        out.append(
            f"the chains are not stationary or disagree (R-hat {r:.3f} > {RHAT_MAX}); "
            f"lambda_hat is then usually too small (the chains start at the fit and climb); "
            f"fix: more warmup and draws, or a larger gamma"
        )
    if math.isfinite(ess) and ess < ESS_MIN:
        out.append(
            f"only {ess:.0f} effective draws (< {ESS_MIN}): the standard error is itself "
            f"uncertain; fix: more draws or chains"
        )
    if target is not None and np.nanmean(acceptance) < 0.5 * target:
        out.append(
            f"mean acceptance {np.nanmean(acceptance):.2f} is far below the target {target}; "
            f"fix: a longer warmup"
        )
    return out


def warn_all(messages, stacklevel: int = 3) -> None:
    """Issue each message as a ``UserWarning``."""
    for m in messages:
        warnings.warn(f"nnmle: {m}.", UserWarning, stacklevel=stacklevel)
