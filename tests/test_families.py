"""Families against scipy.stats (log-likelihoods) and closed forms (deviances)."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from nnmle.families import FAMILIES, get_family


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
        ("gaussian", [[1.0, 2.0], [3.0, 4.0]], "one column"),
    ],
)
def test_bad_targets_raise_clear_errors(family, y, message):
    with pytest.raises(ValueError, match=message):
        get_family(family).encode(np.asarray(y))


def test_unknown_family_names_the_choices():
    with pytest.raises(ValueError, match="gaussian, bernoulli"):
        get_family("gamma")


def test_every_family_is_hashable_for_jit():
    assert len({hash(f) for f in FAMILIES.values()}) == len(FAMILIES)
