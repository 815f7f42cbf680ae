"""Tests of nnmle.identifiability: minimality checks, reduction, the information matrix.

Networks with known redundancies are built by hand and given noise-free binomial
targets ``y = sigmoid(eta(x))``: the planted weights are then an exact maximum of
the likelihood (zero gradient) and the Hessian is ``J^T W J``, so its null space is
exactly the set of flat directions the checks must explain.
"""

import dataclasses
import json

import jax.numpy as jnp
import numpy as np
import pytest

import nnmle
from nnmle.estimation import Estimate
from nnmle.families import get_family
from nnmle.identifiability import (
    IdentifiabilityReport,
    identifiability,
    reduce_network,
    symmetry_report,
)
from nnmle.networks import Architecture, Layer, Params, forward, ravel
from nnmle.penalties import Penalty
from nnmle.problem import Problem
from nnmle.report import render_identifiability, render_symmetry_report
from nnmle.solvers import Solver
from nnmle.starts import StartResult

RNG = np.random.default_rng(0)
X3 = RNG.normal(size=(300, 3))


def net(W, b, V, c, skip=None):
    layers = (Layer(jnp.asarray(W), jnp.asarray(b)), Layer(jnp.asarray(V), jnp.asarray(c)))
    return Params(layers, None if skip is None else jnp.asarray(skip))


def planted(arch, params, X=X3, l2=0.0):
    """An :class:`Estimate` at an exact maximum of a noise-free binomial likelihood."""
    eta = forward(params, jnp.asarray(X), arch)
    mu = 1.0 / (1.0 + np.exp(-np.asarray(eta)))
    fam = get_family("binomial")
    problem = Problem.build(X, mu, np.ones(X.shape[0]), fam, arch, Penalty(l2=l2))
    theta = np.asarray(ravel(params, arch))
    value, gnorm = problem.objective(theta), float(np.linalg.norm(problem.gradient(theta)))
    st = problem.statistics(theta)
    start = StartResult(0, theta, value, gnorm, 0, "converged")
    return Estimate(
        problem, theta, value, gnorm, 0, "converged", "planted", (start,), Solver(),
        st["loglik"], st["deviance"], st["null_deviance"], st["scale"], np.nan, np.nan,
    )  # fmt: skip


def base(act="tanh", H=3, seed=1):
    r = np.random.default_rng(seed)
    return r.normal(size=(3, H)), 0.5 * r.normal(size=H), r.normal(size=(H, 1)), np.array([0.2])


def explained(rep) -> dict:
    return {e["reason"].split(" (")[0]: e["count"] for e in rep.null_explained}


def test_minimal_tanh_network_has_full_rank():
    arch = Architecture.build(3, (3,), 1, "tanh")
    rep = identifiability(planted(arch, net(*base())))
    assert not rep.reducible
    assert rep.group_order == 2**3 * 6
    assert rep.nullity == 0 and rep.rank == arch.n_params and rep.n_negative == 0
    assert "minimal" in str(rep)
    assert "The fit is minimal" in render_identifiability(rep)


def test_zero_outgoing_unit():
    W, b, V, c = base()
    V[2] = 0.0
    arch = Architecture.build(3, (3,), 1, "tanh")
    rep = identifiability(planted(arch, net(W, b, V, c)))
    assert rep.zero_outgoing == ["h3"] and rep.reducible
    assert rep.nullity == 4 and rep.unexplained == 0  # 3 incoming weights + bias
    assert explained(rep) == {"units with zero outgoing weights": 4}
    assert rep.reduced_arch.hidden == (2,)
    assert rep.reduced_loglik == pytest.approx(rep.loglik, rel=1e-12)
    assert "REDUCIBLE" in str(rep) and "3-2-1 tanh" in str(rep)
    text = render_identifiability(rep)
    assert "REDUCIBLE" in text and "zero outgoing weights: h3" in text
    assert render_identifiability(rep.to_dict()) == text


def test_constant_unit_is_absorbed_into_the_bias():
    W, b, V, c = base()
    W[:, 2], b[2] = 0.0, 0.3
    arch = Architecture.build(3, (3,), 1, "tanh")
    rep = identifiability(planted(arch, net(W, b, V, c)))
    assert rep.constant_units == ["h3"]
    assert rep.nullity == 2 and rep.unexplained == 0
    assert rep.reduced_arch.hidden == (2,)
    assert rep.reduced_loglik == pytest.approx(rep.loglik, rel=1e-12)


@pytest.mark.parametrize(
    ("act", "sign", "relation"),
    [("tanh", 1.0, "equal"), ("tanh", -1.0, "opposite"), ("logistic", -1.0, "opposite")],
)
def test_duplicate_units_merge(act, sign, relation):
    W, b, V, c = base()
    W[:, 1], b[1] = sign * W[:, 0], sign * b[0]
    arch = Architecture.build(3, (3,), 1, act)
    rep = identifiability(planted(arch, net(W, b, V, c)))
    assert rep.mergeable == [{"units": ["h1", "h2"], "relation": relation}]
    # one outgoing direction, and (one output) the 3 + 1 incoming weights moving in opposition
    assert rep.nullity == 1 + 4 and rep.unexplained == 0
    assert rep.reduced_arch.hidden == (2,)
    assert rep.reduced_loglik == pytest.approx(rep.loglik, rel=1e-12)


def test_relu_rescaling_directions():
    W, b, V, c = base()
    arch = Architecture.build(3, (3,), 1, "relu")
    rep = identifiability(planted(arch, net(W, b, V, c)))
    assert not rep.reducible and rep.continuous_dim == 3
    assert rep.nullity == 3 and rep.unexplained == 0
    assert explained(rep) == {"rescaling of relu units": 3}


def at_penalized_optimum(est, penalty):
    """``est`` moved to the optimum of its problem under ``penalty`` (from its weights)."""
    prob = est.problem.with_penalty(penalty)
    res = nnmle.starts.run_starts(prob, est.theta[None], Solver(tol=1e-8))[0]
    assert res.status == "converged", res
    st = prob.statistics(res.theta)
    return dataclasses.replace(
        est, problem=prob, theta=res.theta, grad_norm=res.grad_norm, loglik=st["loglik"]
    )


def test_weight_decay_identifies_the_relu_scale_the_data_do_not():
    """Under L2 rescaling leaves the group, but the fitted values still do not see it: the
    Fisher information keeps its null directions, and only the penalty pins the scale."""
    W, b, V, c = base()
    arch = Architecture.build(3, (3,), 1, "relu")
    est = at_penalized_optimum(planted(arch, net(W, b, V, c)), Penalty(l2=0.1))
    rep = identifiability(est)
    assert rep.continuous_dim == 0 and rep.group_order == 6
    assert rep.nullity == 3 and rep.unexplained == 0 and rep.n_negative == 0
    assert explained(rep) == {"rescaling of relu units": 3}
    labels = {w["name"]: w["identification"] for w in rep.weights}
    assert labels["bias->y"] == "data"
    assert {labels[f"x1->h{j}"] for j in (1, 2, 3)} == {"penalty"}
    assert rep.counts()["none"] == 0


def test_dead_relu_unit():
    W, b, V, c = base()
    b[2] = -100.0
    arch = Architecture.build(3, (3,), 1, "relu")
    rep = identifiability(planted(arch, net(W, b, V, c)))
    assert rep.dead_relu == ["h3"] and rep.reducible
    assert rep.nullity == 2 + 5 and rep.unexplained == 0  # two rescalings, all 5 weights of h3
    assert rep.reduced_loglik == pytest.approx(rep.loglik, rel=1e-12)


def test_identity_layer_only_the_product_is_identified():
    W, b, V, c = base(H=2)
    arch = Architecture.build(3, (2,), 1, "identity")
    rep = identifiability(planted(arch, net(W, b, V, c)))
    assert rep.continuous_dim == 4 + 2  # GL(2) and the two bias shifts
    assert rep.rank == 4  # 3 slopes and an intercept
    assert rep.nullity == arch.n_params - 4 and rep.unexplained == 0
    assert explained(rep)["invertible mixing of identity units"] == 4


def test_identity_layer_under_weight_decay_keeps_the_rotations():
    """Under L2 only O(2) of GL(2) keeps the objective; with free biases, the shifts too."""
    W, b, V, c = base(H=2)
    arch = Architecture.build(3, (2,), 1, "identity")
    rep = identifiability(at_penalized_optimum(planted(arch, net(W, b, V, c)), Penalty(l2=0.5)))
    assert rep.continuous_dim == 1 + 2  # O(2) and the two bias shifts
    # the fitted values see only the end-to-end affine map: GL(2) and the shifts are null
    # directions of the Fisher information; the penalty pins all but O(2) and the shifts
    assert rep.nullity == arch.n_params - 4 and rep.unexplained == 0 and rep.n_negative == 0
    # O(2) and the shifts still move every weight without changing the penalized
    # objective: no single weight is identified, by the data or by the penalty
    assert rep.counts() == {"data": 0, "penalty": 0, "none": arch.n_params}
    assert explained(rep)["invertible mixing of identity units"] == 4
    assert sum(explained(rep).values()) == 7


def test_collinear_inputs():
    X = X3.copy()
    X[:, 2] = X[:, 0] - 2 * X[:, 1]
    W, b, V, c = base(H=2)
    arch = Architecture.build(3, (2,), 1, "tanh")
    rep = identifiability(planted(arch, net(W, b, V, c), X=X))
    assert rep.nullity == 2 and rep.unexplained == 0  # one direction per hidden unit
    assert list(explained(rep)) == ["collinear inputs"]
    glm = Architecture.build(3, (), 1)
    p = Params((Layer(jnp.asarray(V[:1].T.repeat(3, 0)), jnp.asarray(c)),))
    rep0 = identifiability(planted(glm, p, X=X))
    assert rep0.group_order == 1 and rep0.nullity == 1 and rep0.unexplained == 0


def test_reduce_network_to_a_glm_keeps_the_skip_weights():
    W, b, V, c = base(H=2)
    V[:] = 0.0
    skip = np.array([[1.0], [-2.0], [0.5]])
    arch = Architecture.build(3, (2,), 1, "tanh", skip=True)
    small, small_arch, steps = reduce_network(net(W, b, V, c, skip), arch)
    assert small_arch.hidden == () and len(steps) == 2
    np.testing.assert_allclose(
        np.asarray(forward(small, jnp.asarray(X3), small_arch)),
        np.asarray(forward(net(W, b, V, c, skip), jnp.asarray(X3), arch)),
    )


def test_reduce_network_rejects_masks():
    arch0 = Architecture.build(2, (2,), 1, "tanh")
    mask = Params(
        (
            Layer(jnp.array([[0.0, np.nan], [np.nan, np.nan]]), jnp.full(2, np.nan)),
            Layer(jnp.full((2, 1), np.nan), jnp.full(1, np.nan)),
        )
    )
    arch = Architecture.build(2, (2,), 1, "tanh", mask=mask)
    assert arch0.n_params == arch.n_params + 1
    with pytest.raises(ValueError, match="masked"):
        reduce_network(np.zeros(arch.n_total), arch)


def test_report_on_a_real_fit_and_the_cli_payload():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = (np.tanh(2 * X[:, 0] - X[:, 1]) + 0.4 * rng.normal(size=120) > 0).astype(int)
    res = nnmle.fit(X, y, hidden=(3,), l2=0.05)
    rep = nnmle.identifiability(res)
    # weight decay pulled two units onto each other: the fit is reducible, as it says, and
    # the Fisher information agrees: by hand, the two units' outgoing weights can trade
    # (1 direction) and so can their incoming weights and biases (2 inputs + 1 bias: 3)
    assert rep.group_order == 48 and rep.nullity == 4 and rep.unexplained == 0
    assert explained(rep) == {"duplicate units": 4}
    labels = {w["name"]: w["identification"] for w in rep.weights}
    assert {labels[n] for n in ("x1->h2", "x1->h3", "h2->y", "h3->y")} == {"penalty"}
    assert labels["bias->y"] == "data"
    assert rep.reducible and rep.mergeable[0]["relation"] == "equal"
    assert rep.reduced_arch.hidden == (2,)
    assert rep.reduced_loglik == pytest.approx(res.loglik, rel=1e-6)
    json.dumps(rep.to_dict())
    d = symmetry_report(res, n_twins=3, seed=0)
    json.dumps(d)
    assert d["group_order"] == 48 and len(d["twins"]) == 3
    assert len(d["canonical_weights"]) == res.arch.n_params
    for t in d["twins"]:
        assert t["loglik"] == pytest.approx(res.loglik, rel=1e-12)
        assert t["objective"] == pytest.approx(res.objective, rel=1e-12)
        assert t["max_abs_pred_diff"] < 1e-12
        assert t["max_abs_weight_diff"] > 0
    canon = np.array([w["value"] for w in d["canonical_weights"]])
    twin = nnmle.symmetry.act_flat(nnmle.symmetry.random_element(res.problem, 5), res.theta, res)
    assert res.problem.objective(twin) == pytest.approx(res.objective, rel=1e-12)
    d_twin = symmetry_report(dataclasses.replace(res.estimate, theta=twin), n_twins=0)
    np.testing.assert_allclose([w["value"] for w in d_twin["canonical_weights"]], canon)
    text = render_symmetry_report(d)
    assert "Random twins" in text and "group order (finite part): 48" in text
    assert IdentifiabilityReport(**d["identifiability"]).group_order == 48


def test_penalized_biases_leave_logistic_flips_out_of_the_report():
    """The twins and canonical weights use the problem's group: every move keeps the objective."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 2))
    y = (X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=80) > 0).astype(int)
    res = nnmle.fit(X, y, hidden=(2,), activation="logistic", l2=0.1, penalize_bias=True)
    d = symmetry_report(res, n_twins=4)
    assert d["group_order"] == 2 and d["identifiability"]["group_order"] == 2
    for t in d["twins"]:
        assert t["objective"] == pytest.approx(res.objective, rel=1e-12)
    canon = np.zeros(res.arch.n_total)
    canon[res.problem.free] = [w["value"] for w in d["canonical_weights"]]
    assert res.problem.objective(canon) == pytest.approx(res.objective, rel=1e-12)


def test_identifiability_needs_a_fit_with_data():
    with pytest.raises(ValueError, match="Expected a fitted result"):
        identifiability(object())
    W, b, V, c = base()
    est = planted(Architecture.build(3, (3,), 1, "tanh"), net(W, b, V, c))
    loaded = dataclasses.replace(est, problem=est.problem.replace(data=None))
    with pytest.raises(ValueError, match="no data"):
        identifiability(loaded)
    with pytest.raises(ValueError, match="no data"):
        symmetry_report(loaded)


def test_information_can_be_skipped():
    W, b, V, c = base()
    rep = identifiability(
        planted(Architecture.build(3, (3,), 1, "tanh"), net(W, b, V, c)), max_params=5
    )
    assert rep.rank is None and rep.eigenvalues == [] and "skipped" in rep.notes[0]
    assert "information rank" not in str(rep)
