"""The story as plain data: constants, the section dataclasses, :class:`Story`, formatting."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Inputs of the story for a bundled data set whose full design separates the classes.
DEFAULT_INPUTS: dict[str, tuple[str, ...]] = {
    "breast_cancer": ("mean_radius", "mean_texture", "mean_smoothness"),
}
#: Weight-decay grid of the path (largest first, as :func:`nnmle.regularization.fit_path` fits it).
DEFAULT_L2_GRID: tuple[float, ...] = (10.0, 3.0, 1.0, 0.3, 0.1, 0.03, 0.01)
#: L-BFGS iterations recorded in the weight-norm traces.
TRACE_ITER = 300
#: Largest absolute weight of a finite estimate (as :func:`nnmle.multistart.analyze_starts`).
DIVERGE_AT = 1e3
#: Relative size below which a Hessian eigenvalue counts as zero (as :mod:`nnmle.landscape`).
EIG_RTOL = 1e-6
#: How the starts are drawn (:func:`nnmle.starts.starting_values`, as :func:`nnmle.fit` draws
#: them by default); with ``seed``, the job configuration of the campaign in a store.
START_CONFIG: dict[str, Any] = {"init": "uniform", "rang": 0.7, "init_scale": "data"}
#: Version of the story's JSON layout.
STORY_SCHEMA = 1

#: ``progress(step, completed, total)``: called when a step starts (``completed=0``),
#: as it advances, and when it ends (``completed == total``); ``total`` may be ``None``.
Progress = Callable[[str, int, int | None], None]


def fmt(value: Any, digits: int = 6) -> str:
    """A number as the report prints it: ``digits`` significant digits, ``n/a`` for None/NaN.

    Examples
    --------
    >>> fmt(3.14159265), fmt(3840), fmt(None), fmt(1.5e-9, 2)
    ('3.14159', '3840', 'n/a', '1.5e-09')
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    v = float(value)
    if not math.isfinite(v):
        return "n/a"
    return f"{v:.{digits}g}"


# --- the story as plain data -------------------------------------------------------------------


@dataclass
class GLMSection:
    """Logistic regression (or the family's GLM): the network without hidden layer.

    Attributes
    ----------
    inputs : list of str
    n_starts, n_solutions : int
        Random starts and the distinct solutions they reached.
    counts : list of int
        Starts per distinct solution.
    start_objectives : list of float
        Final objective of every start (seed order).
    max_coef_spread : float
        Largest absolute difference between a converged start's weights and the best's.
    status : str
        Status of the best start (``mle_not_exist`` when the weights race away).
    mle_exists : bool
    objective, loglik, deviance, null_deviance, aic, bic : float
    hessian_eigenvalues : list of float
        Eigenvalues of the Hessian at the solution, ascending.
    positive_definite : bool
        Smallest eigenvalue above ``EIG_RTOL`` times the largest.
    coefficients : list of dict
        ``name, value, se, z, p, ci_low, ci_high`` (Hessian standard errors), empty
        when the MLE does not exist.
    level : float
    divergence : str or None
        The divergence check's sentence when the MLE does not exist.
    """

    inputs: list[str]
    n_starts: int
    n_solutions: int
    counts: list[int]
    start_objectives: list[float]
    max_coef_spread: float
    status: str
    mle_exists: bool
    objective: float
    loglik: float
    deviance: float
    null_deviance: float
    aic: float
    bic: float
    hessian_eigenvalues: list[float]
    positive_definite: bool
    coefficients: list[dict]
    level: float
    divergence: str | None = None


@dataclass
class NetworkSection:
    """The multi-start campaign of the network at a fixed weight decay.

    Attributes
    ----------
    architecture : str
    n_params : int
    l2 : float
        The weight decay of the campaign (the path's CV choice).
    n_starts, n_solutions : int
    solutions : list of dict
        ``id, objective, loglik, count, grad_norm, index, nullity, nullity_symmetry,
        class, lambda_min, lambda_max, eigenvalues`` per distinct solution, best first.
    start_objectives : list of float
    start_labels : list of int
        Solution id of every start.
    group_order : int
        Order of the finite symmetry group: equivalent twins of every solution.
    group_description : str
    reference : dict
        ``loglik`` and ``objective`` of the best solution (the twins' original).
    twins : list of dict
        ``element, loglik, objective, max_abs_pred_diff, max_abs_weight_diff``.
    certificate : dict or None
        ``element, f_theta, f_twin, f_midpoint, gap, holds, t, values``: the
        objective along the segment from the best solution to a twin.
    barrier : dict or None
        ``between, barrier_raw, barrier_aligned, t, values_raw, values_aligned,
        f_a, f_b``: the straight path between the two best distinct solutions.
    """

    architecture: str
    n_params: int
    l2: float
    n_starts: int
    n_solutions: int
    solutions: list[dict]
    start_objectives: list[float]
    start_labels: list[int]
    group_order: int
    group_description: str
    reference: dict
    twins: list[dict]
    certificate: dict | None
    barrier: dict | None


@dataclass
class PathSection:
    """Weights without a penalty, and the weight-decay path.

    Attributes
    ----------
    unpenalized : dict
        ``status, mle_exists, divergence, objective, max_abs_weight`` of an
        unpenalized fit from one start, and ``norms`` / ``objectives``: the weight
        norm and objective along L-BFGS iterations from that start.
    penalized_trace : dict
        ``l2, norms, objectives`` from the same start with the selected weight decay.
    rows : list of dict
        One row per penalty (:func:`nnmle.regularization.path_report` rows).
    cv : int
    selected : dict
        ``cv_min, cv_1se, evidence``: the penalty each rule chose.
    select : str
        The rule whose choice the campaign and the final model use.
    path_objective : float
        The path's (warm-started) objective at the selected penalty.
    edges : list of str
        Rules that chose an end of the grid (the optimum may lie outside).
    """

    unpenalized: dict
    penalized_trace: dict
    rows: list[dict]
    cv: int
    selected: dict
    select: str
    path_objective: float
    edges: list[str] = field(default_factory=list)


@dataclass
class FinalSection:
    """The final model: the best start at the selected penalty, with inference.

    Attributes
    ----------
    l2 : float
    objective, loglik, deviance, aic, bic, edf : float
    status : str
    level : float
    coefficients : list of dict
        :meth:`nnmle.inference.Inference.table` rows; ``identification`` is
        ``"data"``, ``"penalty"``, ``"none"`` or ``"zero"``.
    n_identified, n_params, nullity, n_negative : int
        Weights identified by the data, free weights, zero eigenvalues of the
        Fisher information, negative eigenvalues of the penalized Hessian.
    n_penalty, n_none : int
        Weights identified only by the penalty, and not identified at all.
    notes : list of str
    predictions : list of dict
        ``row, observed, mean, lower, upper`` for a few cases (delta-method intervals).
    duplicates : list of dict
        ``layer, units`` (1-based): hidden units with the same incoming weights
        (up to sign for odd activations), which act as one unit.
    """

    l2: float
    objective: float
    loglik: float
    deviance: float
    aic: float
    bic: float
    edf: float
    status: str
    level: float
    coefficients: list[dict]
    n_identified: int
    n_params: int
    nullity: int
    n_negative: int
    notes: list[str]
    predictions: list[dict]
    duplicates: list[dict] = field(default_factory=list)
    n_penalty: int = 0
    n_none: int = 0


@dataclass
class EffectsSection:
    """Covariate effects of the final network beside the GLM's, with intervals.

    Attributes
    ----------
    level : float
    network, glm : list of dict
        :meth:`nnmle.inference.Margins.to_dict` rows (average marginal effects
        with delta-method standard errors); ``glm`` is empty when its MLE does not
        exist.
    term_tests : list of dict
        :meth:`nnmle.inference.TermTests.to_dict` rows of the network.
    partial_dependence : dict or None
        :meth:`nnmle.inference.PartialDependence.to_dict` of the input with the
        largest ``|z|`` of its effect.
    group_order : int
        Symmetric twins of the network's weights that share every number here.
    """

    level: float
    network: list[dict]
    glm: list[dict]
    term_tests: list[dict]
    partial_dependence: dict | None = None
    group_order: int = 1


@dataclass
class SingularSection:
    """The local learning coefficient of the final model against BIC's count.

    Attributes
    ----------
    lambda_hat, se, ci_low, ci_high : float
        Estimate, Monte-Carlo standard error and 95% interval.
    n_params : int
    d_over_2 : float
    laplace : float
        What a regular model with the fit's Hessian would give at this ``gamma``.
    n, beta, gamma : float
    sampler : str
    chains, draws, warmup : int
    ess, rhat : float
    escaped : int
    bic, bic_lambda : float
        ``-2 loglik + d log n`` and ``-2 loglik + 2 lambda_hat log n``.
    seconds : float
    warnings : list of str
    """

    lambda_hat: float
    se: float
    ci_low: float
    ci_high: float
    n_params: int
    d_over_2: float
    laplace: float
    n: float
    beta: float
    gamma: float
    sampler: str
    chains: int
    draws: int
    warmup: int
    ess: float
    rhat: float
    escaped: int
    bic: float
    bic_lambda: float
    seconds: float
    warnings: list[str] = field(default_factory=list)


@dataclass
class StoreSection:
    """What a campaign store holds, summarized without the data (no refitting).

    Attributes
    ----------
    path : str
    jobs : list of dict
        Per job of starts: ``job_id, architecture, family, penalty, n_starts,
        statuses, group_order, solutions`` (grouped by objective and canonical
        weights); other jobs: ``job_id`` and unit counts.
    """

    path: str
    jobs: list[dict]


_SECTIONS = {
    "glm": GLMSection,
    "network": NetworkSection,
    "path": PathSection,
    "final": FinalSection,
    "effects": EffectsSection,
    "singular": SingularSection,
    "store": StoreSection,
}


@dataclass
class Story:
    """Every number ``nnmle demo`` shows, section by section, as plain data.

    Attributes
    ----------
    source : str
        Where the data came from (a bundled data set's name, a file, a store).
    family : str
    n_obs : int or None
    inputs, all_inputs : list of str
        The inputs the story uses, and every input of the data.
    settings : dict
        ``hidden, activation, n_starts, seed, l2_grid, cv, level``.
    separation : dict or None
        For class targets: ``separated``, ``classes`` (those a hyperplane separates
        from the others), ``n_classes``, ``n_inputs``, ``method``, and
        ``subset_separated`` for the inputs used when they are fewer.
    glm, network, path, final, effects, singular : section dataclasses or None
    store : StoreSection or None
        For a story read from a store that holds starts only.
    findings : dict of str to list of str
        One sentence per finding, by section (``data, glm, network, path, final, store``).
    notes : list of str
    timings : dict of str to float
        Seconds per step.
    """

    source: str
    family: str
    n_obs: int | None
    inputs: list[str]
    all_inputs: list[str]
    settings: dict
    separation: dict | None = None
    glm: GLMSection | None = None
    network: NetworkSection | None = None
    path: PathSection | None = None
    final: FinalSection | None = None
    effects: EffectsSection | None = None
    singular: SingularSection | None = None
    store: StoreSection | None = None
    findings: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Every number as JSON-ready Python (NaN and infinities become ``None``)."""
        return _plain({"schema": STORY_SCHEMA, **dataclasses.asdict(self)})

    @classmethod
    def from_dict(cls, d: dict) -> Story:
        """The inverse of :meth:`to_dict`."""
        d = {k: v for k, v in d.items() if k != "schema"}
        for name, kind in _SECTIONS.items():
            if d.get(name) is not None:
                d[name] = kind(**d[name])
        return cls(**d)


def _plain(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return v if math.isfinite(v) else None
    return value


def key_numbers(story: Story) -> dict[str, Any]:
    """The headline numbers, by dotted key (the report's summary table, checked by the tests).

    Examples
    --------
    >>> key_numbers(Story("x", "bernoulli", 10, ["a"], ["a"], {}))
    {'data.n_obs': 10, 'data.n_inputs': 1}
    """
    out: dict[str, Any] = {"data.n_obs": story.n_obs, "data.n_inputs": len(story.inputs)}
    g, n, p, f = story.glm, story.network, story.path, story.final
    if g is not None:
        out.update(
            {
                "glm.n_starts": g.n_starts,
                "glm.n_solutions": g.n_solutions,
                "glm.loglik": g.loglik,
                "glm.lambda_min": g.hessian_eigenvalues[0] if g.hessian_eigenvalues else None,
            }
        )
    if n is not None:
        out.update(
            {
                "network.l2": n.l2,
                "network.n_starts": n.n_starts,
                "network.n_solutions": n.n_solutions,
                "network.group_order": n.group_order,
                "network.best_loglik": n.reference["loglik"],
                "network.best_objective": n.reference["objective"],
            }
        )
        if n.certificate is not None:
            out["network.midpoint_objective"] = n.certificate["f_midpoint"]
        if n.barrier is not None:
            out["network.barrier_raw"] = n.barrier["barrier_raw"]
    if p is not None:
        norms = p.unpenalized["norms"]
        out.update(
            {
                "path.unpenalized_norm_start": norms[0],
                "path.unpenalized_norm_end": norms[-1],
                "path.cv_min": p.selected.get("cv_min"),
                "path.evidence": p.selected.get("evidence"),
            }
        )
    if f is not None:
        out.update(
            {
                "final.l2": f.l2,
                "final.loglik": f.loglik,
                "final.edf": f.edf,
                "final.n_identified": f.n_identified,
                "final.n_penalty": f.n_penalty,
                "final.n_none": f.n_none,
            }
        )
    return _plain(out)
