"""The story's findings in words: one sentence per finding, from the story's numbers."""

from __future__ import annotations

from ._model import (
    EffectsSection,
    FinalSection,
    GLMSection,
    NetworkSection,
    PathSection,
    StoreSection,
    Story,
    fmt,
)
from ._singular import singular_findings


def _int(n: int) -> str:
    return f"{n:,}"


def _data_findings(s: Story) -> list[str]:
    out = [
        f"{s.source}: {s.n_obs} cases, {len(s.all_inputs)} inputs, {s.family} family; "
        f"the story uses {len(s.inputs)} of the inputs ({', '.join(s.inputs)})."
        if len(s.inputs) < len(s.all_inputs)
        else f"{s.source}: {s.n_obs} cases, {len(s.all_inputs)} inputs, {s.family} family."
    ]
    sep = s.separation
    if sep is not None and sep["separated"]:
        tail = (
            f" On the {len(s.inputs)} inputs used here no hyperplane separates them, "
            "so the MLE can exist."
            if sep.get("subset_separated") is False
            else ""
        )
        what = (
            "the two classes perfectly"
            if sep["n_classes"] == 2
            else f"class(es) {', '.join(sep['classes'])} from the others"
        )
        out.append(
            f"All {sep['n_inputs']} inputs separate {what} (a linear program finds a hyperplane "
            f"with every case on its side), so the {_GLM_NAMES.get(s.family, 'GLM')} MLE on "
            f"all of them does not exist: its weights race away to infinity.{tail}"
        )
    elif sep is not None:
        out.append(
            f"No hyperplane separates a class from the others with the {sep['n_inputs']} inputs "
            "(linear program), so complete separation does not prevent the MLE."
        )
    return out


_GLM_NAMES = {
    "bernoulli": "logistic-regression",
    "binomial": "logistic-regression",
    "multinomial": "multinomial-logit",
    "gaussian": "linear-regression",
    "poisson": "Poisson-regression",
}


_DEFAULT_REFERENCE = "statsmodels' GLM"
_REFERENCE = {
    "multinomial": "statsmodels' MNLogit",
    "gaussian": "statsmodels' GLM (with the Pearson dispersion)",
}


def _glm_findings(g: GLMSection, family: str) -> list[str]:
    name = _GLM_NAMES.get(family, "generalized-linear").replace("-", " ")
    if not g.mle_exists:
        return [
            f"Without hidden layer the network is a {name} model (a GLM), but here its MLE does "
            f"not exist (status {g.status}: {g.divergence or 'the weights race away'}); no "
            f"standard errors are reported."
        ]
    eig = g.hessian_eigenvalues
    starts = (
        f"all {g.n_starts} random starts reached the same solution (largest difference "
        f"between starts' coefficients {fmt(g.max_coef_spread, 2)})"
        if g.n_solutions == 1
        else f"{g.n_starts} random starts ended at {g.n_solutions} different weight vectors "
        f"with objectives within {fmt(max(g.start_objectives) - min(g.start_objectives), 2)}"
    )
    if g.positive_definite:
        hess = (
            f"Its Hessian is positive definite: all {len(eig)} eigenvalues lie between "
            f"{fmt(eig[0], 4)} and {fmt(eig[-1], 4)}, so the objective is strictly convex and "
            f"the maximum likelihood estimate is unique."
        )
    else:
        hess = (
            f"Its Hessian is singular or nearly so (eigenvalues from {fmt(eig[0], 3)} to "
            f"{fmt(eig[-1], 4)}): the likelihood is flat along some direction (collinear inputs "
            f"or quasi-separation), so even this convex objective does not pin down a unique "
            f"estimate."
        )
    return [
        f"Without hidden layer the network is a {name} model (a GLM): {starts}, "
        f"log-likelihood {fmt(g.loglik)}.",
        hess,
        "Its standard errors are the GLM's: the inverse Hessian of the negative "
        f"log-likelihood, as {_REFERENCE.get(family, _DEFAULT_REFERENCE)} computes them; "
        "nnmle's tests check the equality.",
    ]


def _network_findings(n: NetworkSection) -> list[str]:
    counts = ", ".join(str(s["count"]) for s in n.solutions)
    kinds = [s["class"] for s in n.solutions]
    n_min = sum(k in ("strict_min", "degenerate_min") for k in kinds)
    n_saddle = kinds.count("saddle")
    out = [
        f"The same data with a {n.architecture} network ({n.n_params} weights, weight decay "
        f"l2 = {fmt(n.l2)}): {n.n_starts} random starts reached {n.n_solutions} distinct "
        f"solution(s) modulo symmetry (starts per solution: {counts}); the best has "
        f"log-likelihood {fmt(n.reference['loglik'])}.",
        f"The estimate is not unique: each solution has {_int(n.group_order)} equivalent twins "
        f"({n.group_description.split(': ')[-1]}), with the same likelihood and predictions.",
    ]
    if n.twins:
        d_ll = max(abs(t["loglik"] - n.reference["loglik"]) for t in n.twins)
        d_obj = max(abs(t["objective"] - n.reference["objective"]) for t in n.twins)
        d_w = max(t["max_abs_weight_diff"] for t in n.twins)
        out.append(
            f"{len(n.twins)} random twins of the best solution have log-likelihood "
            f"{fmt(n.twins[0]['loglik'], 10)} (largest difference {fmt(d_ll, 2)}) although their "
            f"weights differ by up to {fmt(d_w, 3)}; their penalized objective is equal too "
            f"(difference {fmt(d_obj, 2)}): the L2 penalty is invariant under the group, so weight "
            f"decay does not restore identifiability."
        )
    c = n.certificate
    if c is not None and c["holds"]:
        out.append(
            f"The objective is not convex: the best solution and its twin by {c['element']} "
            f"both have objective {fmt(c['f_theta'])}, but their midpoint has "
            f"{fmt(c['f_midpoint'])} (higher by {fmt(c['gap'], 4)}); a convex function is never "
            f"higher at a midpoint than at both ends."
        )
    b = n.barrier
    if b is not None:
        al = b["barrier_aligned"]
        out.append(
            f"On the straight path between solutions {b['between'][0]} and {b['between'][1]} "
            f"the objective rises {fmt(b['barrier_raw'], 4)} above the chord"
            + (f" ({fmt(al, 4)} after aligning their twins)" if al is not None else "")
            + "."
        )
    out.append(
        "Hessian index (negative eigenvalues) at each solution: "
        + ", ".join(f"{s['id']}: {fmt(s['index'])}" for s in n.solutions)
        + f"; {n_min} minimum(s)"
        + (
            f" ({kinds.count('degenerate_min')} degenerate: a flat direction that the "
            f"second-order test cannot resolve)"
            if "degenerate_min" in kinds
            else ""
        )
        + (f" and {n_saddle} saddle point(s)" if n_saddle else ", no saddle point")
        + (
            f"; {len(kinds) - n_min - n_saddle} not classified (not converged or diverged)"
            if len(kinds) - n_min - n_saddle
            else ""
        )
        + "."
    )
    return out


def _path_findings(p: PathSection, network: NetworkSection | None) -> list[str]:
    u, t = p.unpenalized, p.penalized_trace
    norms = u["norms"]
    out = []
    stop = (
        f"the fit stopped after {u['n_iter']} iterations (status '{u['status']}') at weight "
        f"norm {fmt(u['norm'], 4)}"
    )
    if not u["mle_exists"]:
        boundary = (
            f", {u['n_boundary']} fitted probabilities numerically 0 or 1"
            if u["n_boundary"]
            else ""
        )
        out.append(
            f"Without a penalty the network's weights race away: from a random start the weight "
            f"norm grows from {fmt(norms[0], 3)} to {fmt(norms[-1], 4)} in {len(norms) - 1} "
            f"L-BFGS iterations while the objective falls from {fmt(u['objectives'][0], 5)} to "
            f"{fmt(u['objectives'][-1], 5)}; {stop} (largest weight "
            f"{fmt(u['max_abs_weight'], 3)}, beyond nnmle's divergence threshold "
            f"{fmt(u['diverge_at'])}{boundary}), objective {fmt(u['objective'], 5)}: no finite "
            f"maximum likelihood estimate is in sight."
        )
    out.append(
        f"With weight decay l2 = {fmt(t['l2'])} the same start levels off at weight norm "
        f"{fmt(t['norms'][-1], 4)}."
    )
    rows = p.rows
    if rows:
        first, last = rows[0], rows[-1]
        out.append(
            f"Along the path (l2 from {fmt(first['l2'])} down to {fmt(last['l2'])}) the weight "
            f"norm grows from {fmt(first['weight_norm'], 4)} to {fmt(last['weight_norm'], 4)} and "
            f"the training deviance falls from {fmt(first['deviance'], 5)} to "
            f"{fmt(last['deviance'], 5)}: the penalty shrinks the weights."
        )
    sel = p.selected
    if sel.get("cv_min") is not None:
        best = next(r for r in rows if r["l2"] == sel["cv_min"])
        out.append(
            f"Held-out deviance ({p.cv}-fold cross-validation) is smallest at l2 = "
            f"{fmt(sel['cv_min'])} ({fmt(best['cv_deviance'], 5)} ± {fmt(best['cv_se'], 3)}); "
            f"the one-standard-error rule picks l2 = {fmt(sel['cv_1se'])}."
        )
    if sel.get("evidence") is not None:
        out.append(
            f"The evidence (Laplace approximation to the marginal likelihood) picks l2 = "
            f"{fmt(sel['evidence'])}; the story continues with the choice of "
            f"{'cross-validation' if p.select != 'evidence' else 'the evidence'}, "
            f"l2 = {fmt(sel[p.select])}."
        )
    out += [f"Edge of the grid: {e}." for e in p.edges]
    if network is not None:
        f_best = network.reference["objective"]
        tol = 1e-6 * max(1.0, abs(f_best))
        if p.path_objective > f_best + tol:
            same = [
                s["id"] for s in network.solutions if abs(s["objective"] - p.path_objective) <= tol
            ]
            which = f" (the campaign's solution {same[0]})" if same else ""
            out.append(
                f"The warm-started path's fit at l2 = {fmt(network.l2)} has objective "
                f"{fmt(p.path_objective)}{which}, worse than the best of {network.n_starts} fresh "
                f"starts ({fmt(f_best)}): a path follows one local solution, and the landscape is "
                f"not convex."
            )
    return out


def _final_findings(f: FinalSection, group_order: int | None) -> list[str]:
    out = [
        f"Final model (best start at l2 = {fmt(f.l2)}): log-likelihood {fmt(f.loglik)}, "
        f"deviance {fmt(f.deviance)}, effective degrees of freedom {fmt(f.edf, 4)}, "
        f"AIC {fmt(f.aic)}."
    ]
    twins = f" (one representative of {_int(group_order)} twins)" if group_order else ""
    if f.n_identified == f.n_params:
        out.append(
            f"All {f.n_params} weights are identified by the data (the Fisher information "
            f"J'WJ has full rank) and have standard errors, z and p: they are for the canonical "
            f"weights{twins}; a twin has the same errors, permuted and sign-flipped."
        )
    else:
        parts = [f"{f.n_identified} of {f.n_params} weights are identified by the data "
                 f"(standard errors, z, p)"]  # fmt: skip
        if f.n_penalty:
            parts.append(
                f"{f.n_penalty} only by the penalty (a penalized interval, but no test: the data "
                f"do not determine them)"
            )
        if f.n_none:
            parts.append(f"{f.n_none} not at all (no numbers)")
        out.append(
            "; ".join(parts) + f". The Fisher information J'WJ has {f.nullity} zero "
            f"eigenvalue(s): directions along which no fitted value moves. The errors are for "
            f"the canonical weights{twins}."
        )
    for d in f.duplicates:
        layer = f" of layer {d['layer']}" if d["layer"] > 1 else ""
        units = ", ".join(str(u) for u in d["units"][:-1]) + f" and {d['units'][-1]}"
        out.append(
            f"Hidden units {units}{layer} have the same incoming weights: they act as one unit, "
            f"so the network is not minimal, and the likelihood sees their outgoing weights only "
            f"through their sum; the penalty, not the data, makes those weights equal."
        )
    if f.n_negative:
        out.append(
            f"The information matrix has {f.n_negative} negative eigenvalue(s): the likelihood "
            f"alone is not at a local maximum here (the penalty makes the objective's Hessian "
            f"positive definite), so the weights' Wald standard errors are doubtful."
        )
    bounded = [p for p in f.predictions if p["lower"] is not None]
    if bounded:
        p = bounded[len(bounded) // 2]
        if not isinstance(p["mean"], list):
            out.append(
                f"Predictions are identified whatever the symmetry: e.g. case {p['row']} has "
                f"fitted mean {fmt(p['mean'], 3)} with a {round(100 * f.level)}% confidence "
                f"interval [{fmt(p['lower'], 3)}, {fmt(p['upper'], 3)}] (delta method)."
            )
    return out


def _ci(row: dict) -> str:
    if row.get("ci_low") is None:
        return "no interval (not identified)"
    return f"[{fmt(row['ci_low'], 3)}, {fmt(row['ci_high'], 3)}]"


def _effects_findings(e: EffectsSection) -> list[str]:
    lvl = f"{round(100 * e.level)}%"
    out = []
    if e.network:
        glm = {(r["effect"], r["output"]): r for r in e.glm}
        best = max(e.network, key=lambda r: abs(r["z"] or 0.0))
        text = (
            f"The strongest input is {best['effect']}: its average marginal effect on the "
            f"fitted mean ({best['output']}) is {fmt(best['value'], 3)} in the network, "
            f"{lvl} interval {_ci(best)} (delta method)"
        )
        g = glm.get((best["effect"], best["output"]))
        if g is not None:
            text += f"; the GLM's is {fmt(g['value'], 3)}, {_ci(g)}"
        out.append(text + ".")
    out.append(
        f"Effects, predictions and tests per input are functions of the fitted network, which "
        f"all {_int(e.group_order)} symmetric twins of the weights share: they are identified "
        f"(and get intervals) although the weights are not."
    )
    tested = [t for t in e.term_tests if t["pvalue"] is not None]
    if tested:
        t = min(tested, key=lambda r: r["pvalue"])
        out.append(
            f"Wald tests per input (all first-layer weights leaving it are zero, invariant under "
            f"the symmetry group): {t['term']} has chi2 = {fmt(t['statistic'], 4)} on "
            f"{t['df']} df, p = {fmt(t['pvalue'], 3)}."
        )
    return out


def findings(story: Story) -> dict[str, list[str]]:
    """One sentence per finding, by section, from the story's numbers."""
    out: dict[str, list[str]] = {}
    if story.n_obs is not None:
        out["data"] = _data_findings(story)
    if story.glm is not None:
        out["glm"] = _glm_findings(story.glm, story.family)
    if story.network is not None:
        out["network"] = _network_findings(story.network)
    if story.path is not None:
        out["path"] = _path_findings(story.path, story.network)
    if story.final is not None:
        order = story.network.group_order if story.network is not None else None
        out["final"] = _final_findings(story.final, order)
    if story.effects is not None:
        out["effects"] = _effects_findings(story.effects)
    if story.singular is not None:
        order = story.network.group_order if story.network is not None else None
        out["singular"] = singular_findings(story.singular, order)
    if story.store is not None:
        out["store"] = _store_findings(story.store)
    return out


def _store_findings(s: StoreSection) -> list[str]:
    out = []
    for j in s.jobs:
        if "solutions" not in j:
            units = ", ".join(f"{n} {k}" for k, n in j["units"].items())
            out.append(f"Job {j['job_id']}: {units or 'no units'} (not starts of a network).")
            continue
        counts = ", ".join(str(x["count"]) for x in j["solutions"])
        out.append(
            f"Job {j['job_id']} ({j['architecture']}, {j['family']}, penalty {j['penalty']}): "
            f"{j['n_starts']} starts reached {len(j['solutions'])} distinct solution(s) by "
            f"objective and canonical weights (starts per solution: {counts})"
            + (
                f"; each has {_int(j['group_order'])} equivalent twins."
                if j["group_order"] > 1
                else "."
            )
        )
    return out or ["The store holds no jobs."]
