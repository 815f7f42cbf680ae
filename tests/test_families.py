"""Families against scipy.stats (log-likelihoods), statsmodels (deviances, null models with
offsets) and closed forms; targets validated with messages that say what was expected, what
came and the fix; the family a target suggests."""

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from nnmle.families import FAMILIES, get_family, infer_family


def _eta(rng, n, q=1):
    return rng.normal(size=(n, q))


def test_bernoulli_loglik_matches_scipy(rng):
    eta = _eta(rng, 50)
    y = rng.integers(0, 2, size=50).astype(float)
    fam = get_family("bernoulli")
    p = 1 / (1 + np.exp(-eta[:, 0]))
    want = stats.bernoulli.logpmf(y, p).sum()
    got = float(fam.loglik(jnp.asarray(eta), jnp.asarray(y[:, None]), jnp.ones(50)))
    assert got == pytest.approx(want, rel=1e-12)


def test_binomial_proportions_with_trials_match_scipy(rng):
    n_trials = rng.integers(1, 12, size=40).astype(float)
    eta = _eta(rng, 40)
    p = 1 / (1 + np.exp(-eta[:, 0]))
    k = rng.binomial(n_trials.astype(int), p)
    fam = get_family("binomial")
    got = float(fam.loglik(jnp.asarray(eta), jnp.asarray((k / n_trials)[:, None]), n_trials))
    assert got == pytest.approx(stats.binom.logpmf(k, n_trials, p).sum(), rel=1e-10)


def test_poisson_loglik_matches_scipy(rng):
    eta = _eta(rng, 60)
    y = rng.poisson(np.exp(eta[:, 0])).astype(float)
    fam = get_family("poisson")
    got = float(fam.loglik(jnp.asarray(eta), jnp.asarray(y[:, None]), jnp.ones(60)))
    assert got == pytest.approx(stats.poisson.logpmf(y, np.exp(eta[:, 0])).sum(), rel=1e-12)


def test_gaussian_loglik_uses_ml_sigma(rng):
    eta = _eta(rng, 30)
    y = eta[:, 0] + rng.normal(size=30)
    fam = get_family("gaussian")
    sigma2 = np.mean((y - eta[:, 0]) ** 2)
    want = stats.norm.logpdf(y, eta[:, 0], np.sqrt(sigma2)).sum()
    got = float(fam.loglik(jnp.asarray(eta), jnp.asarray(y[:, None]), jnp.ones(30)))
    assert got == pytest.approx(want, rel=1e-12)
    assert fam.scale(jnp.asarray(eta), jnp.asarray(y[:, None]), jnp.ones(30)) == pytest.approx(
        sigma2
    )


def test_multinomial_loglik_matches_scipy(rng):
    eta = _eta(rng, 25, q=2)  # K = 3 classes, first class is the baseline
    logits = np.column_stack([np.zeros(25), eta])
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(3, p=p) for p in probs])
    fam = get_family("multinomial")
    Y, classes = fam.encode(labels)
    assert classes == (0, 1, 2)
    want = sum(stats.multinomial.logpmf(Y[i], 1, probs[i]) for i in range(25))
    got = float(fam.loglik(jnp.asarray(eta), jnp.asarray(Y), jnp.ones(25)))
    assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("name", ["bernoulli", "poisson", "gaussian"])
def test_deviance_is_twice_loglik_gap_to_saturated(name, rng):
    fam = get_family(name)
    eta = _eta(rng, 20)
    mu = np.asarray(fam.inverse_link(jnp.asarray(eta)))[:, 0]
    draw = {
        "bernoulli": lambda: rng.integers(0, 2, 20).astype(float),
        "poisson": lambda: rng.poisson(mu).astype(float),
        "gaussian": lambda: mu + rng.normal(size=20),
    }
    y = draw[name]()
    dev = float(fam.deviance(jnp.asarray(eta), jnp.asarray(y[:, None]), jnp.ones(20)))
    if name == "bernoulli":
        want = -2 * stats.bernoulli.logpmf(y, mu).sum()
    elif name == "poisson":
        want = 2 * (stats.poisson.logpmf(y, y).sum() - stats.poisson.logpmf(y, mu).sum())
    else:
        want = np.sum((y - mu) ** 2)
    assert dev == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize(
    ("family", "y", "message"),
    [
        ("bernoulli", [0, 1, 2], "0/1 targets"),
        ("bernoulli", [1, 1, 1], "single class"),
        ("poisson", [1, -1, 2], "negative"),
        ("binomial", [0.2, 1.5], r"proportions in \[0, 1\]"),
        ("multinomial", ["a", "a"], "single class"),
        ("gaussian", [1.0, np.nan], "NaN"),
        ("gaussian", ["a", "b"], "numeric"),
        ("gaussian", [], "empty"),
        ("poisson", [[1.0, 2.0], [3.0, 4.0]], "one column.*or family='gaussian' for several"),
        ("gaussian", np.zeros((2, 2, 2)), r"shape \(n,\) or \(n, q\).*Fix"),
        ("gamma", [1.0, 0.0, 2.0], r"needs y > 0; got 1 value\(s\) <= 0.*Fix: use"),
        ("negative_binomial", [1, -2], r"counts >= 0; got 1 negative.*Fix"),
        ("bernoulli", ["a", "b", "c"], r"two levels; got 3 level\(s\).*Fix: use family='multi"),
        ("bernoulli", [0.5, 2.5], "Fix: use family='gaussian' for real numbers"),
    ],
)
def test_bad_targets_raise_clear_errors(family, y, message):
    with pytest.raises(ValueError, match=message):
        get_family(family).encode(np.asarray(y))


def test_unknown_family_names_the_choices():
    with pytest.raises(ValueError, match=r"Unknown family 'tweedie': expected one of .*gamma.*Fix"):
        get_family("tweedie")


@pytest.mark.parametrize("family", ["poisson", "negative_binomial"])
def test_non_integer_counts_are_warned_about_not_rejected(family):
    with pytest.warns(UserWarning, match=r"1 non-integer value\(s\) \(e.g. 2.5\).*quasi.*Fix"):
        Y, _ = get_family(family).encode(np.array([1.0, 2.5, 0.0]))
    assert Y[:, 0].tolist() == [1.0, 2.5, 0.0]


def test_negative_binomial_loglik_matches_scipy(rng):
    eta = np.column_stack([rng.normal(size=40), np.full(40, np.log(0.7))])
    mu, alpha = np.exp(eta[:, 0]), 0.7
    y = rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mu)).astype(float)
    fam = get_family("negative_binomial")
    got = float(fam.loglik(jnp.asarray(eta), jnp.asarray(y[:, None]), jnp.ones(40)))
    want = stats.nbinom.logpmf(y, 1 / alpha, 1 / (1 + alpha * mu)).sum()
    assert got == pytest.approx(want, rel=1e-12)
    dev = float(fam.deviance(jnp.asarray(eta), jnp.asarray(y[:, None]), jnp.ones(40)))
    want = sm.families.NegativeBinomial(alpha=alpha).deviance(y, mu)
    assert dev == pytest.approx(want, rel=1e-10)


def test_gamma_loglik_at_the_pearson_dispersion_matches_scipy(rng):
    eta = rng.normal(size=(50, 1))
    mu = np.exp(eta[:, 0])
    y = rng.gamma(3.0, mu / 3.0)
    fam, w = get_family("gamma"), jnp.ones(50)
    E, Y = jnp.asarray(eta), jnp.asarray(y[:, None])
    phi = float(fam.scale(E, Y, w, n_params=2))
    assert phi == pytest.approx(np.sum(((y - mu) / mu) ** 2) / 48, rel=1e-12)
    got = float(fam.loglik(E, Y, w, n_params=2))
    assert got == pytest.approx(stats.gamma.logpdf(y, 1 / phi, scale=mu * phi).sum(), rel=1e-12)
    dev = float(fam.deviance(E, Y, w))
    assert dev == pytest.approx(sm.families.Gamma().deviance(y, mu), rel=1e-10)


def test_multi_output_gaussian_has_one_common_variance(rng):
    eta = rng.normal(size=(30, 3))
    Y = eta + rng.normal(size=(30, 3))
    fam = get_family("gaussian")
    Yenc, _ = fam.encode(Y)
    assert Yenc.shape == (30, 3) and fam.n_outputs((), 3) == 3
    sigma2 = np.mean((Y - eta) ** 2)
    got = float(fam.loglik(jnp.asarray(eta), jnp.asarray(Y), jnp.ones(30)))
    want = stats.norm.logpdf(Y, eta, np.sqrt(sigma2)).sum()
    assert got == pytest.approx(want, rel=1e-12)
    disp = float(fam.dispersion(jnp.asarray(eta), jnp.asarray(Y), jnp.ones(30), 6))
    assert disp == pytest.approx(np.sum((Y - eta) ** 2) / (90 - 6), rel=1e-12)


@pytest.mark.parametrize(
    ("name", "sm_family"),
    [
        ("poisson", sm.families.Poisson()),
        ("gamma", sm.families.Gamma(sm.families.links.Log())),
        ("negative_binomial", sm.families.NegativeBinomial(alpha=0.5)),
        ("gaussian", sm.families.Gaussian()),
    ],
)
def test_null_deviance_with_an_offset_is_statsmodels(name, sm_family, rng):
    n = 60
    offset = rng.normal(scale=0.5, size=n)
    mu = np.exp(0.3 + offset)
    y = {"gamma": rng.gamma(2.0, mu / 2.0), "gaussian": mu + rng.normal(size=n)}.get(
        name, rng.poisson(mu).astype(float)
    )
    fam = get_family(name)
    q = fam.n_outputs()
    eta = np.zeros((n, q))
    if name == "negative_binomial":
        eta[:, 1] = np.log(0.5)
    off = np.zeros((n, q))
    off[:, 0] = offset
    got = float(fam.null_deviance(jnp.asarray(y[:, None]), jnp.ones(n), jnp.asarray(off),
                                  jnp.asarray(eta)))  # fmt: skip
    want = sm.GLM(y, np.ones((n, 1)), family=sm_family, offset=offset).fit(tol=1e-12)
    assert got == pytest.approx(want.deviance, rel=1e-8)


def test_a_factor_response_encodes_its_second_sorted_level_as_one():
    Y, classes = get_family("bernoulli").encode(pd.Series(["no", "yes", "no"], dtype="category"))
    assert classes == ("no", "yes") and Y[:, 0].tolist() == [0.0, 1.0, 0.0]


@pytest.mark.parametrize(
    ("y", "family"),
    [
        ([0, 1, 1, 0], "bernoulli"),
        ([0.0, 1.0], "bernoulli"),
        (["benign", "malignant", "benign"], "bernoulli"),
        (["a", "b", "c"], "multinomial"),
        ([0.5, 2.25, -1.0], "gaussian"),
        ([-3, 2, 5], "gaussian"),
        ([1.5, np.nan, 2.0], "gaussian"),
    ],
)
def test_the_family_a_target_suggests(y, family):
    assert infer_family(y) == family


def test_counts_are_ambiguous_and_the_message_lists_the_candidates():
    with pytest.raises(
        ValueError,
        match=r"'n' holds non-negative integers.*range \[0, 7\].*"
        r"poisson.*negative_binomial.*multinomial.*gaussian.*Fix: .*--family",
    ):
        infer_family([0, 3, 7, 2], name="'n'")


def test_every_family_is_hashable_for_jit():
    assert len({hash(f) for f in FAMILIES.values()}) == len(FAMILIES)
