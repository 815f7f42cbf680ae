"""Exact learning coefficients: the ground truth that the estimators are tested against."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = [
    "linear_model_free_energy",
    "product_model_wbic",
    "reduced_rank_coefficient",
    "regular_coefficient",
]


def regular_coefficient(d: int) -> float:
    """The learning coefficient ``d / 2`` of a regular model with ``d`` parameters.

    A regular model (a unique optimum with a positive definite Fisher information,
    such as a GLM with a full-rank design) has ``lambda = d / 2``: the penalty of
    BIC is ``lambda log n`` with this value.

    Examples
    --------
    >>> regular_coefficient(4)
    2.0
    """
    if not isinstance(d, int) or d < 0:
        raise ValueError(f"d must be a non-negative integer; got {d!r}. Fix: e.g. d=4.")
    return d / 2


def reduced_rank_coefficient(M: int, H: int, N: int, r: int = 0) -> float:
    """The learning coefficient of reduced-rank regression (Aoyagi and Watanabe, 2005).

    A linear network ``x -> B A x`` with ``M`` inputs, ``H`` hidden units and ``N``
    outputs (identity activation, no biases, gaussian noise, inputs with a
    positive definite covariance), whose true map ``B0 A0`` has rank ``r``, has
    the real log canonical threshold (Aoyagi and Watanabe 2005, Main Theorem):

    * if ``N + r <= M + H``, ``M + r <= N + H`` and ``H + r <= M + N``:
      ``lambda = [2 (H + r)(M + N) - (M - N)^2 - (H + r)^2] / 8``, plus ``1/8``
      when ``M + H + N + r`` is odd;
    * if ``M + H < N + r``: ``lambda = (H M - H r + N r) / 2``;
    * if ``N + H < M + r``: ``lambda = (H N - H r + M r) / 2``;
    * if ``M + N < H + r``: ``lambda = M N / 2``.

    With ``r = 0`` (outputs independent of the inputs) these are the formulas
    ``M H / 2``, ``H N / 2``, ``M N / 2`` and
    ``(2MN + 2HN + 2MH - M^2 - N^2 - H^2) / 8`` (+1/8 when ``M + H + N`` is odd).
    The model has ``d = H (M + N)`` weights and always ``lambda < d / 2``: the
    ``GL(H)`` symmetry ``(A, B) -> (G A, B G^-1)`` alone leaves ``H^2`` directions flat.

    References
    ----------
    M. Aoyagi and S. Watanabe, "Stochastic complexities of reduced rank regression
    in Bayesian estimation", Neural Networks 18(7), 924-933 (2005).

    Examples
    --------
    >>> reduced_rank_coefficient(5, 3, 5), reduced_rank_coefficient(3, 8, 4)
    (6.5, 6.0)
    >>> reduced_rank_coefficient(3, 4, 1, r=1)   # a rank-1 map of 3 inputs: M/2
    1.5
    """
    for name, v in (("M", M), ("H", H), ("N", N), ("r", r)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{name} must be a non-negative integer; got {v!r}.")
    if r > min(M, H, N):
        raise ValueError(
            f"The true rank r={r} exceeds min(M, H, N)={min(M, H, N)}: a map through "
            f"{H} hidden units has rank at most min(M, H, N). Fix: r <= {min(M, H, N)}."
        )
    if M + H < N + r:
        return (H * M - H * r + N * r) / 2
    if N + H < M + r:
        return (H * N - H * r + M * r) / 2
    if M + N < H + r:
        return M * N / 2
    lam = (2 * (H + r) * (M + N) - (M - N) ** 2 - (H + r) ** 2) / 8
    return lam + (1 / 8 if (M + H + N + r) % 2 else 0.0)


def product_model_wbic(x, y, beta: float | None = None, prior_scale: float = 10.0) -> float:
    """The exact WBIC of the product model ``y = a b x + noise`` by quadrature.

    The network 1 -> 1 -> 1 (identity activation, no biases, gaussian) is the
    smallest singular model: at the true map 0 its tempered posterior is a funnel
    along both axes ``a = 0`` and ``b = 0``. Its WBIC, ``E_beta[n L_n(a, b)]`` under
    ``exp(-beta n L_n) N(0, prior_scale^2 I)`` with ``n L_n`` the gaussian negative
    log-likelihood at the fit's ``sigma^2`` (as :func:`nnmle.singular.wbic`
    defines it), is a two-dimensional integral, computed here on a grid that is
    geometric towards the axes (3,000 points per half-axis out to 4 prior standard
    deviations): the value a sampler must reach.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=1000), rng.normal(size=1000)
    >>> round(product_model_wbic(x, y), 1)
    1442.9
    """
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape or x.size < 3:
        raise ValueError(
            f"x and y must be two arrays of the same length >= 3; got shapes {x.shape} and "
            f"{y.shape}. Fix: pass one input column and its response."
        )
    n = x.size
    beta = 1 / math.log(n) if beta is None else float(beta)
    sxx, sxy, syy = x @ x, x @ y, y @ y
    phi = (syy - sxy**2 / sxx) / n  # the fit's sigma^2 (the fit is a b = sxy / sxx)
    g = np.geomspace(1e-6, 4 * prior_scale, 3000)
    g = np.concatenate([-g[::-1], [0.0], g])
    A, B = np.meshgrid(g, g, indexing="ij")
    P = A * B
    loss = 0.5 * (syy - 2 * P * sxy + P * P * sxx) / phi + 0.5 * n * math.log(2 * math.pi * phi)
    log_w = -beta * loss - 0.5 * (A**2 + B**2) / prior_scale**2
    dg = np.gradient(g)
    W = np.exp(log_w - log_w.max()) * dg[:, None] * dg[None, :]
    return float((W * loss).sum() / W.sum())


def linear_model_free_energy(X, y, prior_scale: float = 10.0) -> float:
    """The exact Bayes free energy of a gaussian linear model (a network without hidden layer).

    With ``y = X w + b + e``, ``e ~ N(0, sigma^2 I)``, sigma^2 at the least-squares fit's
    ``sigma_hat^2`` (maximum likelihood, as :func:`nnmle.singular.wbic` and
    :func:`nnmle.singular.free_energy` define ``n L_n``) and the prior
    ``N(0, prior_scale^2)`` on every weight and the bias, the marginal likelihood is
    Gaussian: ``F_n = -log N(y; 0, sigma_hat^2 I + prior_scale^2 X1 X1')``, ``X1 = [X, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 1)); y = X[:, 0] + rng.normal(size=50)
    >>> bool(linear_model_free_energy(X, y) > 0)
    True
    """
    X1 = np.column_stack([np.asarray(X, dtype=np.float64), np.ones(len(X))])
    y = np.asarray(y, dtype=np.float64).ravel()
    if X1.ndim != 2 or y.shape != (X1.shape[0],) or X1.shape[0] <= X1.shape[1]:
        raise ValueError(
            f"X must be a design matrix (n, p) and y its n responses, n > p + 1; got shapes "
            f"{np.shape(X)} and {np.shape(y)}. Fix: X of shape (n, p), y of shape (n,)."
        )
    resid = y - X1 @ np.linalg.lstsq(X1, y, rcond=None)[0]
    phi = float(resid @ resid) / y.size
    cov = phi * np.eye(y.size) + prior_scale**2 * X1 @ X1.T
    return float(-stats.multivariate_normal(np.zeros(y.size), cov).logpdf(y))
