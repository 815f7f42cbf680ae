"""Computing the story: the steps of the demo, each a call to nnmle's public functions."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jax.numpy as jnp
import numpy as np
import pandas as pd
from scipy.optimize import linprog

from ... import symmetry
from ...data import prepare
from ...estimation import Estimate, estimate
from ...families import get_family
from ...inference import infer, margins, partial_dependence, predict_interval, wald_test_terms
from ...landscape import loss_barrier
from ...multistart import Campaign, run_campaign
from ...networks import Architecture, unravel
from ...penalties import Penalty
from ...problem import Problem
from ...regularization import fit_path, path_report
from ...starts import check_divergence, data_fingerprint, weight_norm_trace
from ._findings import findings
from ._model import (
    DEFAULT_L2_GRID,
    DIVERGE_AT,
    EIG_RTOL,
    START_CONFIG,
    TRACE_ITER,
    EffectsSection,
    FinalSection,
    GLMSection,
    NetworkSection,
    PathSection,
    Progress,
    Story,
    _plain,
)
from ._singular import singular_section
from ._store import draw_starts, record_campaign, save_story


class _Steps:
    """Progress reporting and timing of the story's steps."""

    def __init__(self, progress: Progress | None):
        self.progress = progress
        self.timings: dict[str, float] = {}

    def run(self, key: str, label: str, total: int | None, fn: Callable):
        """Run ``fn(advance)`` as one step; ``advance()`` moves the bar by one."""
        done = [0]

        def advance(*_args) -> None:
            done[0] += 1
            if self.progress is not None:
                self.progress(label, done[0], total)

        if self.progress is not None:
            self.progress(label, 0, total)
        t0 = time.perf_counter()
        out = fn(advance)
        self.timings[key] = time.perf_counter() - t0
        if self.progress is not None:
            self.progress(label, total if total is not None else 1, total or 1)
        return out


def _norm_name(name: str) -> str:
    return str(name).replace(" ", "_").replace("(", "").replace(")", "")


def _design(X, y, data, family) -> tuple[Any, np.ndarray, list[str]]:
    """A DataFrame of inputs, the raw targets and the input names (formulas evaluated)."""
    fam = get_family(family)
    prep = prepare(X, y, fam, data=data)
    names = [_norm_name(n) for n in prep.input_names]
    frame = pd.DataFrame(prep.X, columns=names)
    if isinstance(X, str):  # a formula: take the response back from its encoding
        if fam.name == "multinomial":
            target = np.asarray(prep.classes, dtype=object)[np.argmax(prep.Y, axis=1)]
        else:
            target = prep.Y[:, 0]
        return frame, np.asarray(target), names
    return frame, np.asarray(y), names


def _select_inputs(names: list[str], inputs: Sequence[str] | Sequence[int] | None) -> list[str]:
    if inputs is None:
        return list(names)
    out = []
    for item in inputs:
        if isinstance(item, int | np.integer):
            if not 0 <= int(item) < len(names):
                raise ValueError(
                    f"inputs: index {item} is out of range for {len(names)} inputs. "
                    f"Fix: indices 0..{len(names) - 1}, or column names."
                )
            out.append(names[int(item)])
        elif _norm_name(item) in names:
            out.append(_norm_name(item))
        else:
            raise ValueError(
                f"inputs: no input named {item!r}; expected some of {names[:8]}... "
                f"Fix: pass column names of X (spaces may be written as underscores)."
            )
    if not out:
        raise ValueError("inputs is empty: expected at least one input name or index.")
    return out


def _separable(X: np.ndarray, positive: np.ndarray) -> bool:
    """Whether a hyperplane puts every ``positive`` case strictly on one side (an LP).

    Feasibility of ``s_i (x_i' w + b) >= 1`` for all ``i`` (``s = +1`` for positive
    cases, ``-1`` otherwise) is complete separation.
    """
    s = np.where(positive, 1.0, -1.0)
    A = -s[:, None] * np.hstack([X, np.ones((X.shape[0], 1))])
    res = linprog(
        np.zeros(A.shape[1]),
        A_ub=A,
        b_ub=-np.ones(A.shape[0]),
        bounds=[(None, None)] * A.shape[1],
        method="highs",
    )
    return bool(res.status == 0)


def _separation(X: np.ndarray, y: np.ndarray) -> dict:
    """Classes a hyperplane separates from the others; the logit MLE does not exist if any.

    For two classes one linear program; for more, one per class against the rest
    (a class separated from the others has no finite multinomial-logit MLE).
    """
    classes, labels = np.unique(np.asarray(y), return_inverse=True)
    tested = [1] if len(classes) == 2 else list(range(len(classes)))
    sep = [str(classes[k]) for k in tested if _separable(X, labels == k)]
    return {
        "separated": bool(sep),
        "classes": sep,
        "n_classes": int(len(classes)),
        "n_inputs": int(X.shape[1]),
        "method": "linear program: is there w, b with s (x'w + b) >= 1 for every case, "
        "s = +1 in the class and -1 outside?",
    }


def _campaign(problem: Problem, n_starts: int, seed: int, advance) -> Campaign:
    """``n_starts`` random starts on ``problem``, deduplicated and classified (as
    ``nnmle.multistart`` runs them: the same starts and job configuration)."""
    thetas0 = draw_starts(problem, n_starts, seed)
    return run_campaign(problem, thetas0, on_result=advance, config={"seed": seed, **START_CONFIG})


def _glm_section(problem, n_starts, seed, level, separated, advance) -> tuple[GLMSection, Estimate]:
    camp = _campaign(problem, n_starts, seed, advance)
    est = camp.estimate
    assert est is not None
    best = camp.best
    # separated classes (a linear program's certificate) leave no finite MLE, whatever the fit
    exists = (
        best.kind in ("strict_min", "degenerate_min")
        and est.status == "converged"
        and not separated
    )
    ok = [r.theta for r in camp.starts if r.status == "converged"]
    spread = max((float(np.max(np.abs(t - best.theta))) for t in ok), default=math.nan)
    coefs: list[dict] = []
    if exists:
        coefs = infer(est, se="hessian", level=level).table()
    eig = [float(v) for v in camp.spectrum(best).eigenvalues] if _finite(best.theta) else []
    section = GLMSection(
        inputs=list(problem.arch.input_names),
        n_starts=camp.n_starts,
        n_solutions=sum(s.kind != "diverged" for s in camp.solutions) or len(camp.solutions),
        counts=[s.count for s in camp.solutions],
        start_objectives=[float(r.objective) for r in camp.starts],
        max_coef_spread=spread,
        status=est.status,
        mle_exists=exists,
        objective=est.objective,
        loglik=est.loglik,
        deviance=est.deviance,
        null_deviance=est.null_deviance,
        aic=est.aic,
        bic=est.bic,
        hessian_eigenvalues=eig,
        positive_definite=bool(eig) and eig[0] > EIG_RTOL * max(abs(eig[0]), abs(eig[-1])),
        coefficients=coefs,
        level=level,
        divergence=(
            "a hyperplane separates the classes (linear program)"
            if separated
            else None
            if est.divergence is None
            else est.divergence.describe()
        ),
    )
    return section, est


def _finite(theta) -> bool:
    return bool(np.all(np.isfinite(np.asarray(theta))))


def _trace(problem: Problem, theta0: np.ndarray, n_iter: int) -> dict:
    """Weight norm and objective along L-BFGS iterations from ``theta0`` on ``problem``."""
    norms, values, _ = weight_norm_trace(problem, theta0, n_iter)
    return {"l2": float(problem.penalty.l2), "norms": norms.tolist(), "objectives": values.tolist()}


def _unpenalized(problem: Problem, seed: int, advance) -> tuple[dict, np.ndarray]:
    """An unpenalized fit from one start, its divergence check, and its weight-norm trace."""
    theta0 = draw_starts(problem, 1, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the story reports the divergence
        est = estimate(problem, theta0)
    # the fit checks itself when it stopped at the tolerance; here wherever it stopped
    check = est.divergence
    if check is None and _finite(est.theta):
        check = check_divergence(problem, est.theta, solver=est.solver)
    advance()
    trace = _trace(problem, theta0[0], TRACE_ITER)
    advance()
    free = problem.free
    out = {
        "status": est.status,
        "n_iter": est.n_iter,
        "objective": est.objective,
        "norm": float(np.linalg.norm(est.theta[free])),
        "max_abs_weight": float(np.max(np.abs(est.theta))),
        "diverge_at": DIVERGE_AT,
        # a fit that stopped short of the tolerance with huge weights is racing away too
        "mle_exists": not (
            (check is not None and check.diverged)
            or est.status in ("non_finite", "mle_not_exist")
            or (est.status != "converged" and float(np.max(np.abs(est.theta))) > DIVERGE_AT)
        ),
        "divergence": None if check is None else check.describe(),
        "check_norms": None if check is None else [check.norms[0], check.norms[-1]],
        "n_boundary": None if check is None else check.n_boundary,
        **{k: trace[k] for k in ("norms", "objectives")},
    }
    return out, theta0[0]


def _path(problem: Problem, grid: list[float], folds: int, select: str, seed: int):
    """The weight-decay path from one start (as ``nnmle.path`` fits it by default)."""
    return fit_path(
        problem, "l2", grid, draw_starts(problem, 1, seed), cv=folds, select=select, seed=seed
    )


def _twins(camp: Campaign, n_twins: int, seed: int) -> tuple[dict, list[dict]]:
    """Random members of the best solution's orbit: equal likelihood and objective."""
    prob, theta = camp.problem, np.asarray(camp.best.theta)
    G = symmetry.group(prob)  # the moves that keep the penalized objective
    mu = prob.mean(theta)
    ref = {"loglik": prob.statistics(theta)["loglik"], "objective": prob.objective(theta)}
    twins = []
    for k in range(n_twins):
        g = symmetry.random_element(G, seed + k + 1, continuous=False)
        th = symmetry.act_flat(g, theta, G)
        twins.append(
            {
                "element": _describe_element(g),
                "loglik": prob.statistics(th)["loglik"],
                "objective": prob.objective(th),
                "max_abs_pred_diff": float(np.max(np.abs(prob.mean(th) - mu), initial=0.0)),
                "max_abs_weight_diff": float(np.max(np.abs(th - theta), initial=0.0)),
            }
        )
    return ref, twins


def _describe_element(g: symmetry.GroupElement) -> str:
    parts = []
    for l, e in enumerate(g.layers):
        layer = f"layer {l + 1}: " if len(g.layers) > 1 else ""
        order = " ".join(str(int(p) + 1) for p in e.perm)
        flips = [str(j + 1) for j, s in enumerate(e.signs) if s < 0]
        parts.append(
            f"{layer}units reordered as ({order})"
            + (f", signs of units {', '.join(flips)} flipped" if flips else "")
        )
    return "; ".join(parts)


def _network_section(camp: Campaign, n_twins: int, seed: int) -> NetworkSection:
    prob = camp.problem
    ref, twins = _twins(camp, n_twins, seed)
    cert = camp.certificate()
    cert_d = None
    if cert is not None:
        line = loss_barrier(cert.theta, cert.twin, prob, steps=41, align=False)
        cert_d = {
            "element": cert.element,
            "f_theta": cert.f_theta,
            "f_twin": cert.f_twin,
            "f_midpoint": cert.f_midpoint,
            "gap": cert.gap,
            "holds": cert.holds,
            "t": line.t.tolist(),
            "values": line.values_raw.tolist(),
        }
    bar, pair = camp.barrier(), camp.pair()
    bar_d = None
    if bar is not None and pair is not None:
        bar_d = {"between": [pair[0].id, pair[1].id], **bar.to_dict()}
    sols = []
    for s in camp.solutions:
        spec = camp.spectrum(s) if _finite(s.theta) else None
        row = s.to_dict()
        row["eigenvalues"] = [] if spec is None else spec.eigenvalues.tolist()
        if spec is not None and row["lambda_min"] is None:  # certified by Cholesky: now known
            row["lambda_min"] = spec.lambda_min
        row.pop("starts")
        row.pop("flat_directions")
        sols.append(row)
    return NetworkSection(
        architecture=prob.arch.describe(),
        n_params=prob.arch.n_params,
        l2=float(prob.penalty.l2),
        n_starts=camp.n_starts,
        n_solutions=len(camp.solutions),
        solutions=sols,
        start_objectives=[float(r.objective) for r in camp.starts],
        start_labels=[int(v) for v in camp.labels],
        group_order=int(camp.group_order),
        group_description=camp.group_description,
        reference=ref,
        twins=twins,
        certificate=cert_d,
        barrier=bar_d,
    )


def _prediction_rows(est: Estimate, n: int) -> list[int]:
    """``n`` cases spread over the fitted means (at their quantiles), lowest mean first."""
    score = est.problem.mean(est.theta).max(axis=1)  # the mean, or the largest class probability
    order = np.argsort(score, kind="stable")
    q = np.linspace(0.05, 0.95, n) if n > 1 else np.array([0.5])
    picks = order[np.round(q * (len(order) - 1)).astype(int)]
    return list(dict.fromkeys(int(i) for i in picks))


def _duplicate_units(theta, arch: Architecture, rtol: float = 1e-6) -> list[dict]:
    """Hidden units whose incoming weights and bias coincide (up to sign for tanh/identity)."""
    params = unravel(jnp.asarray(theta), arch)
    out = []
    for l, act in enumerate(arch.activation):
        layer = params.layers[l]
        cols = np.vstack([np.asarray(layer.W), np.asarray(layer.b)[None, :]]).T  # unit x fan-in
        if act in ("tanh", "identity"):
            lead = cols[np.arange(len(cols)), np.argmax(np.abs(cols), axis=1)]
            cols = cols * np.where(lead < 0, -1.0, 1.0)[:, None]
        tol = rtol * max(1.0, float(np.max(np.abs(cols), initial=0.0)))
        seen: list[list[int]] = []
        for j in range(len(cols)):
            for grp in seen:
                if np.max(np.abs(cols[grp[0]] - cols[j])) <= tol:
                    grp.append(j)
                    break
            else:
                seen.append([j])
        out += [{"layer": l + 1, "units": [j + 1 for j in g]} for g in seen if len(g) > 1]
    return out


def _final_section(est: Estimate, frame, y, level: float, n_predictions: int) -> FinalSection:
    inf = infer(est, se="hessian", level=level)
    rows = _prediction_rows(est, n_predictions)
    pi = predict_interval(est, frame.iloc[rows].to_numpy(), interval="confidence", level=level,
                          inference=inf)  # fmt: skip
    preds = []
    for k, i in enumerate(rows):
        preds.append(
            {
                "row": int(i),
                "observed": _plain(y[i]) if not isinstance(y[i], str) else y[i],
                "mean": _plain(pi.mean[k]),
                "lower": _plain(pi.lower[k]),
                "upper": _plain(pi.upper[k]),
            }
        )
    return FinalSection(
        l2=float(est.penalty.l2),
        objective=est.objective,
        loglik=est.loglik,
        deviance=est.deviance,
        aic=est.aic,
        bic=est.bic,
        edf=float(inf.edf),
        status=est.status,
        level=level,
        coefficients=inf.table(),
        n_identified=int(np.sum(inf.identified)),
        n_params=len(inf.names),
        nullity=int(inf.nullity),
        n_negative=int(inf.n_negative),
        notes=list(inf.notes),
        predictions=preds,
        duplicates=_duplicate_units(inf.theta, est.arch),
        n_penalty=len(inf.penalty_identified),
        n_none=len(inf.not_identified),
    )


def _effects_section(
    est: Estimate, glm_est: Estimate | None, level: float, group_order: int
) -> EffectsSection:
    """The network's average marginal effects beside the GLM's, its term tests and the partial
    dependence of its strongest input (largest ``|z|``), with pointwise bands."""
    inf = infer(est, se="hessian", level=level)
    net = margins(est, inference=inf, level=level)
    glm = [] if glm_est is None else margins(glm_est, level=level).to_dict()["effects"]
    z = np.abs(np.nan_to_num(np.asarray(net.tvalues, dtype=float).reshape(len(net.names), -1)))
    strongest = net.terms[int(np.argmax(z.max(axis=1)))]
    pd_ = partial_dependence(est, strongest, grid_resolution=25, inference=inf, level=level)
    return EffectsSection(
        level=level,
        network=net.to_dict()["effects"],
        glm=glm,
        term_tests=wald_test_terms(est, inference=inf).to_dict()["terms"],
        partial_dependence=pd_.to_dict(),
        group_order=int(group_order),
    )


def compute_story(
    X,
    y=None,
    *,
    data=None,
    family: str = "bernoulli",
    hidden: int | Sequence[int] = (5,),
    activation: str = "tanh",
    inputs: Sequence[str] | Sequence[int] | None = None,
    n_starts: int = 20,
    seed: int = 0,
    l2_grid: Sequence[float] = DEFAULT_L2_GRID,
    cv: int = 5,
    level: float = 0.95,
    n_twins: int = 3,
    n_predictions: int = 5,
    source: str = "data",
    store=None,
    progress: Progress | None = None,
) -> Story:
    """Compute every step of the demo's argument on ``(X, y)`` (see the module docstring).

    Parameters
    ----------
    X : array-like, DataFrame or str
        Inputs, or a formula such as ``"y ~ x1 + x2"`` with ``data=``.
    y : array-like, optional
        Targets (not with a formula).
    data : DataFrame, optional
        The data of a formula.
    family : str
        As in :func:`nnmle.fit`.
    hidden, activation
        The network of steps 3-6 (default one layer of 5 tanh units).
    inputs : sequence of str or int, optional
        The inputs every step uses (names or column indices); default all. For
        the bundled breast-cancer data pass ``DEFAULT_INPUTS["breast_cancer"]``
        (its 30 inputs separate the classes, so their logistic MLE does not exist).
    n_starts : int
        Random starts of the logistic regression and of the network campaign.
    seed : int
        Seeds the starts, the twins and the CV folds.
    l2_grid : sequence of float
        Weight decays of the path.
    cv : int
        Folds of the path's cross-validation (below 2: the evidence chooses).
    level : float
        Confidence level of intervals.
    n_twins, n_predictions : int
        Random twins shown, cases with prediction intervals.
    source : str
        A name for the data in the report.
    store : Store or path, optional
        Also write the campaign's starts and the story into this campaign store,
        so that ``nnmle report STORE`` (:func:`story_from_store`) renders it later.
    progress : callable, optional
        ``progress(step, completed, total)`` (see :data:`Progress`), e.g.
        :func:`nnmle.report.progress_bar`.

    Returns
    -------
    Story
    """
    t_start = time.perf_counter()
    hidden_t = (hidden,) if isinstance(hidden, int) else tuple(hidden)
    if not hidden_t:
        raise ValueError(
            "compute_story needs a network with a hidden layer to contrast with the GLM; got "
            "hidden=(). Fix: e.g. hidden=(5,)."
        )
    grid = [float(v) for v in l2_grid]
    if not grid or min(grid) <= 0:
        raise ValueError(
            f"l2_grid must hold positive weight decays (the unpenalized fit is always shown); "
            f"got {list(l2_grid)!r}. Fix: e.g. l2_grid=(10, 1, 0.1, 0.01)."
        )
    steps = _Steps(progress)
    frame_all, y, names = _design(X, y, data, family)
    used = _select_inputs(names, inputs)
    frame = frame_all[used]
    settings = {
        "hidden": list(hidden_t),
        "activation": activation,
        "n_starts": n_starts,
        "seed": seed,
        "l2_grid": grid,
        "cv": cv,
        "level": level,
        "n_twins": n_twins,
        "n_predictions": n_predictions,
    }
    story = Story(source, family, int(len(frame)), used, names, settings)

    if family in ("bernoulli", "multinomial"):
        story.separation = _separation(frame_all.to_numpy(), np.asarray(y))
        if len(used) < len(names):
            sub = _separation(frame.to_numpy(), np.asarray(y))
            story.separation["subset_separated"] = sub["separated"]

    sep = story.separation
    sep_used = sep is not None and sep.get("subset_separated", sep["separated"])
    select = "cv_min" if cv >= 2 else "evidence"
    folds = cv if cv >= 2 else 0
    glm, _ = Problem.from_data(frame, y, family=family, hidden=())
    net, _ = Problem.from_data(frame, y, family=family, hidden=hidden_t, activation=activation)
    # three independent steps run side by side: each compiles its own XLA programs
    with ThreadPoolExecutor(3) as pool:
        glm_f = pool.submit(
            steps.run,
            "glm",
            f"logistic regression / GLM: {n_starts} starts",
            n_starts,
            lambda adv: _glm_section(glm, n_starts, seed, level, sep_used, adv),
        )
        unpen_f = pool.submit(
            steps.run,
            "unpenalized",
            f"network without penalty: {TRACE_ITER} iterations",
            2,
            lambda adv: _unpenalized(net, seed, adv),
        )
        path_f = pool.submit(
            steps.run,
            "path",
            f"weight-decay path: {len(grid)} penalties x {1 + folds} fits",
            None,
            lambda adv: _path(net, grid, folds, select, seed),
        )
        story.glm, glm_est = glm_f.result()
        unpen, theta0 = unpen_f.result()
        pres = path_f.result()
    l2_star = float(pres.selected[select])
    penalized = net.with_penalty(Penalty(l2=l2_star))
    story.path = PathSection(
        unpenalized=unpen,
        penalized_trace=_trace(penalized, theta0, TRACE_ITER),
        rows=path_report(pres)["rows"],
        cv=pres.cv,
        selected=dict(pres.selected),
        select=select,
        path_objective=float(pres.fit.objective),
        edges=list(pres.edges),
    )
    camp = steps.run(
        "campaign",
        f"network at l2={l2_star:g}: {n_starts} starts",
        n_starts,
        lambda adv: _campaign(penalized, n_starts, seed, adv),
    )
    story.network = steps.run(
        "landscape",
        "twins, midpoint and barrier",
        None,
        lambda adv: _network_section(camp, n_twins, seed),
    )
    assert camp.estimate is not None
    story.final = steps.run(
        "final",
        "standard errors and prediction intervals",
        None,
        lambda adv: _final_section(camp.estimate, frame, y, level, n_predictions),
    )
    glm_ok = glm_est if story.glm is not None and story.glm.mle_exists else None
    order = story.network.group_order if story.network is not None else 1
    story.effects = steps.run(
        "effects",
        "covariate effects with intervals",
        None,
        lambda adv: _effects_section(camp.estimate, glm_ok, level, order),
    )
    story.singular = steps.run(
        "singular",
        "learning coefficient (singular learning theory)",
        None,
        lambda adv: singular_section(camp.estimate, seed),
    )
    story.timings = {**steps.timings, "total": time.perf_counter() - t_start}
    story.findings = findings(story)
    if store is not None:
        record_campaign(store, camp, seed)
        save_story(story, store, fingerprint=data_fingerprint(camp.problem))
    return story
