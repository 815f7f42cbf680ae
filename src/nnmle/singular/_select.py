"""Choosing the number of hidden units: one row per width, each criterion's choice."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..estimation import Estimate, estimate
from ..problem import Problem
from ..solvers import choose_solver
from ..starts import LocalExecutor, run_starts, starting_values
from ._criteria import wbic
from ._diagnostics import RHAT_MAX
from ._free_energy import free_energy
from ._llc import learning_coefficient
from ._target import sample_size

__all__ = [
    "BAYES_SCALE",
    "DEFAULT_CRITERIA",
    "EVIDENCE",
    "SELECTION_CRITERIA",
    "SELECT_CRITERIA",
    "HiddenSelection",
    "choice_warnings",
    "cv_deviance",
    "evidence_strength",
    "hidden_row",
    "select_hidden",
]

#: what :func:`nnmle.select_hidden` can add to AIC and BIC
SELECT_CRITERIA = ("lambda", "wbic", "free_energy", "cv")
#: what it adds unless told (the free energy costs about 12 WBICs per width)
DEFAULT_CRITERIA = ("lambda", "wbic", "cv")

#: criterion -> (column of the table, what it assumes); the smallest value is chosen
SELECTION_CRITERIA = {
    "aic": ("aic", "regular model"),
    "bic": ("bic", "regular model: lambda = d/2"),
    "bic_lambda": ("bic_lambda", "-2 loglik + 2 lambda_hat log n: BIC with the estimated lambda"),
    "wbic": ("wbic", "2 WBIC: the Bayes free energy, singular or not"),
    "free_energy": ("free_energy", "2 F_n by thermodynamic integration: the Bayes free energy"),
    "cv": ("cv_deviance", "held-out deviance (K-fold cross-validation)"),
}


#: criteria on the scale of ``-2 log p(data)`` (BIC, and 2 WBIC estimating 2 F_n): the difference
#: of two widths' values is ``2 log B``, B the Bayes factor between them
BAYES_SCALE = ("bic", "bic_lambda", "wbic", "free_energy")

#: Kass and Raftery (1995), JASA 90, p. 777: upper bounds of ``2 log B`` and the evidence they name
EVIDENCE = (
    (2.0, "not worth more than a bare mention"),
    (6.0, "positive"),
    (10.0, "strong"),
    (math.inf, "very strong"),
)


def evidence_strength(two_log_b: float) -> str:
    """Kass and Raftery's name for the evidence ``2 log B`` (a Bayes factor ``B``) carries.

    Examples
    --------
    >>> evidence_strength(0.6), evidence_strength(14.7)
    ('not worth more than a bare mention', 'very strong')
    """
    return next(name for bound, name in EVIDENCE if two_log_b < bound)


#: sampled criteria -> the columns of their Monte-Carlo standard error (same scale) and R-hat
MC_SE = {"bic_lambda": "bic_lambda_se", "wbic": "wbic_se", "free_energy": "free_energy_se"}
MC_RHAT = {"bic_lambda": "lambda_rhat", "wbic": "wbic_rhat", "free_energy": "free_energy_rhat"}


def hidden_row(
    hidden: int, est, lc=None, wbic=None, cv_deviance=None, notes=(), free_energy=None
) -> dict:
    """One row of the selection table from a width's best fit and its (optional) criteria.

    ``est`` is the :class:`~nnmle.estimation.Estimate` of the best start, ``lc`` a
    :class:`LearningCoefficient`, ``wbic`` a :class:`WBIC` and ``free_energy`` a
    :class:`FreeEnergy` (``2 WBIC`` and ``2 F_n`` go in the table, on BIC's scale).
    """
    n = sample_size(est.problem)
    row = {
        "hidden": int(hidden),
        "n_params": int(est.n_params),
        "status": est.status,
        "objective": float(est.objective),
        "loglik": float(est.loglik),
        "aic": float(est.aic),
        "bic": float(est.bic),
        "d_over_2": est.n_params / 2,
        "lambda_hat": None,
        "lambda_se": None,
        "bic_lambda": None,
        "bic_lambda_se": None,
        "lambda_rhat": None,
        "wbic": None,
        "wbic_se": None,
        "wbic_rhat": None,
        "free_energy": None if free_energy is None else free_energy.bic_scale,
        "free_energy_se": None if free_energy is None else 2 * free_energy.se,
        "free_energy_rhat": None if free_energy is None else free_energy.rhat,
        "cv_deviance": None if cv_deviance is None else float(cv_deviance),
        "notes": list(notes),
    }
    if lc is not None:
        row.update(
            lambda_hat=lc.estimate,
            lambda_se=lc.se,
            bic_lambda=-2 * est.loglik + 2 * lc.estimate * math.log(n),
            bic_lambda_se=2 * lc.se * math.log(n),
            lambda_rhat=lc.rhat,
        )
    if wbic is not None:
        rhats = [sol.rhat for sol in wbic.solutions if math.isfinite(sol.rhat)]
        row.update(
            wbic=wbic.bic_scale, wbic_se=2 * wbic.se, wbic_rhat=max(rhats) if rhats else None
        )
    return row


@dataclass(frozen=True)
class HiddenSelection:
    """The number of hidden units chosen by each criterion.

    Attributes
    ----------
    rows : tuple of dict
        One per width (see :func:`hidden_row`): ``hidden``, ``n_params``,
        ``status``, ``objective``, ``loglik``, ``aic``, ``bic``, ``d_over_2``,
        ``lambda_hat`` (``lambda_se``), ``bic_lambda``, ``wbic`` (``2 WBIC``,
        ``wbic_se``), ``free_energy`` (``2 F_n``, ``free_energy_se``), ``cv_deviance``,
        ``notes``.
    family, activation : str
    n : float
    settings : dict
        Starts, folds, seed and sampling options used.
    """

    rows: tuple[dict, ...]
    family: str
    activation: str
    n: float
    settings: dict

    def ranked(self, name: str) -> list[tuple[float, float, int]]:
        """``(value, se, hidden)`` of criterion ``name`` for the widths that have a finite
        value, best first (``se`` 0 for criteria without a Monte-Carlo error)."""
        col = SELECTION_CRITERIA[name][0]
        se_col = MC_SE.get(name, "")
        vals = ((r.get(col), r.get(se_col) or 0.0, r["hidden"]) for r in self.rows)
        return sorted((v, s, h) for v, s, h in vals if v is not None and math.isfinite(v))

    @property
    def choices(self) -> dict:
        """``{criterion: hidden}``: the width with the smallest value of each criterion."""
        return {name: vals[0][2] for name in SELECTION_CRITERIA if (vals := self.ranked(name))}

    @property
    def uncertain(self) -> dict:
        """``{criterion: (chosen, runner_up)}`` for the sampled criteria (``bic_lambda``,
        ``wbic``, ``free_energy``) whose choice is within Monte-Carlo error: the runner-up's
        value is less than ``2 sqrt(se_1^2 + se_2^2)`` above the chosen width's."""
        out = {}
        for name in MC_SE:
            vals = self.ranked(name)
            if len(vals) >= 2:
                (v1, s1, h1), (v2, s2, h2) = vals[:2]
                if v2 - v1 < 2 * math.hypot(s1, s2):
                    out[name] = (h1, h2)
        return out

    @property
    def evidence(self) -> dict:
        """``{criterion: (chosen, runner_up, two_log_b, strength)}`` for the criteria in
        :data:`BAYES_SCALE`: how much the chosen width beats the runner-up.

        On these scales the runner-up's value less the chosen width's is ``2 log B``,
        ``B`` the (approximate) Bayes factor of the chosen width against the runner-up,
        named by :func:`evidence_strength` (Kass and Raftery 1995). Below 2 the data do
        not decide between the two widths, whatever the criterion's choice.
        """
        out = {}
        for name in BAYES_SCALE:
            vals = self.ranked(name)
            if len(vals) >= 2:
                (v1, _, h1), (v2, _, h2) = vals[:2]
                out[name] = (h1, h2, float(v2 - v1), evidence_strength(v2 - v1))
        return out

    @property
    def unsettled(self) -> dict:
        """``{criterion: widths}``: sampled criteria with widths whose chains are not
        stationary (R-hat above :data:`~nnmle.singular.RHAT_MAX`). Chains start at the
        minima and climb, so there the value is usually too small: the criterion's choice is
        then not a decision."""
        out = {}
        for name, col in MC_RHAT.items():
            bad = [r["hidden"] for r in self.rows if r.get(col) is not None and r[col] > RHAT_MAX]
            if bad:
                out[name] = bad
        return out

    def column(self, name: str) -> list:
        """One column of the table, e.g. ``selection.column("wbic")``."""
        return [r.get(name) for r in self.rows]

    def to_dict(self) -> dict:
        """Plain data."""
        return {
            "family": self.family,
            "activation": self.activation,
            "n": self.n,
            "rows": [dict(r) for r in self.rows],
            "choices": self.choices,
            "uncertain": {k: list(v) for k, v in self.uncertain.items()},
            "evidence": {
                k: dict(zip(("chosen", "runner_up", "two_log_b", "strength"), v, strict=True))
                for k, v in self.evidence.items()
            },
            "unsettled": dict(self.unsettled),
            "assumes": {k: v[1] for k, v in SELECTION_CRITERIA.items()},
            "settings": dict(self.settings),
        }


def cv_deviance(est: Estimate, folds: int, seed: int = 0) -> float:
    """Held-out deviance summed over ``folds`` random folds (case weights: held-out rows get 0).

    Each fold is refitted from the full-data fit (as
    :func:`nnmle.regularization.fit_path` does), so the folds share one compiled
    solver and stay in the fit's basin.
    """
    problem = est.problem
    w = problem.w
    order = np.random.default_rng(seed).permutation(problem.n_obs)
    fold = np.empty(problem.n_obs, dtype=int)
    fold[order] = np.arange(problem.n_obs) % folds
    solver = est.solver
    total = 0.0
    for k in range(folds):
        train = problem.with_weights(np.where(fold == k, 0.0, w))
        (res,) = run_starts(train, est.theta[None, :], solver, LocalExecutor(workers=1))
        held = problem.with_weights(np.where(fold == k, w, 0.0))
        total += held.statistics(res.theta)["deviance"]
    return float(total)


def select_hidden(
    X,
    y=None,
    *,
    data=None,
    hidden=(0, 1, 2, 3, 5, 8),
    activation: str = "tanh",
    family="bernoulli",
    l2: float = 0.0,
    weights=None,
    n_starts: int = 10,
    cv: int = 5,
    seed: int = 0,
    tol: float = 1e-6,
    max_iter: int = 5000,
    criteria=DEFAULT_CRITERIA,
    sampling: dict | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> HiddenSelection:
    """Choose the number of hidden units: AIC, BIC, ``lambda_hat``, WBIC and CV deviance per width.

    Each width in ``hidden`` (``0``: the GLM) is fitted from ``n_starts`` random
    starts (:func:`nnmle.estimation.estimate`); the best gives AIC and BIC;
    ``criteria`` adds the local learning coefficient with
    ``-2 loglik + 2 lambda_hat log n`` (``"lambda"``), ``2 WBIC`` from chains at
    the distinct minima among the starts (``"wbic"``) and the ``cv``-fold held-out
    deviance (``"cv"``, :func:`cv_deviance`); ``"free_energy"`` (not by default: about
    12 WBICs' worth of chains per width) adds ``2 F_n`` by thermodynamic integration
    (:func:`~nnmle.singular.free_energy`), the quantity WBIC estimates, for when
    WBIC's values are too close to decide. ``sampling`` goes to the samplers
    (``chains``, ``draws``, ``warmup``, ...); ``progress(done, total, hidden)``
    is called after each width. Warnings of each width are kept in its row's
    ``notes``.

    Returns
    -------
    HiddenSelection
        ``rows`` (one per width), ``choices`` (the width each criterion picks) and
        ``uncertain`` (sampled criteria whose choice is within Monte-Carlo error)
        and ``unsettled`` (sampled criteria with non-stationary chains), both also
        warned about.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = np.tanh(2 * X[:, 0]) + 0.3 * rng.normal(size=200)
    >>> sel = select_hidden(X, y, family="gaussian", hidden=[0, 1], n_starts=2, criteria=())
    >>> sel.choices["bic"]
    1
    """
    widths = [] if isinstance(hidden, int | str) else list(hidden)
    if len(widths) < 2 or any(
        not isinstance(h, int | np.integer) or isinstance(h, bool) or h < 0 for h in widths
    ):
        raise ValueError(
            f"hidden must list at least two numbers of hidden units (integers >= 0; 0 = GLM); "
            f"got {hidden!r}. Fix: hidden=[0, 1, 2, 3, 5, 8]."
        )
    if isinstance(criteria, str) or set(criteria) - set(SELECT_CRITERIA):
        raise ValueError(
            f"criteria must list some of {list(SELECT_CRITERIA)}; got {criteria!r}. "
            f"Fix: criteria=('lambda', 'wbic', 'cv'), or add 'free_energy'."
        )
    if "cv" in criteria and (not isinstance(cv, int) or cv < 2):
        raise ValueError(f"cv must be a number of folds >= 2; got {cv!r}. Fix: cv=5.")
    sampling = {"seed": seed, **(sampling or {})}
    rows, n = [], 0.0
    for i, width in enumerate(widths):
        problem, _ = Problem.from_data(
            X, y, data=data, family=family, hidden=(int(width),) if width else (),
            activation=activation, weights=weights, l2=l2,
        )  # fmt: skip
        n = sample_size(problem)
        notes: list[str] = []
        lc = w = cvd = fe = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            thetas0 = starting_values(problem, int(n_starts), seed)
            est = estimate(problem, thetas0, choose_solver(problem, tol=tol, max_iter=max_iter))
            if "lambda" in criteria:
                try:
                    lc = learning_coefficient(est, **sampling)
                except ValueError as exc:
                    notes.append(f"lambda_hat: {exc}")
            if "wbic" in criteria:
                w = wbic(est, **sampling)
            if "free_energy" in criteria:
                fe = free_energy(est, **sampling)
            if "cv" in criteria:
                cvd = cv_deviance(est, cv, seed)
        notes += sorted({str(c.message) for c in caught})
        rows.append(hidden_row(int(width), est, lc, w, cvd, notes, fe))
        if progress is not None:
            progress(i + 1, len(widths), int(width))
    fam = family if isinstance(family, str) else family.name
    settings = {"n_starts": n_starts, "cv": cv, "l2": l2, "criteria": list(criteria), **sampling}
    sel = HiddenSelection(tuple(rows), fam, activation, n, settings)
    for message in choice_warnings(sel):
        warnings.warn(message, UserWarning, stacklevel=2)
    return sel


def choice_warnings(sel: HiddenSelection) -> list[str]:
    """Sentences for choices that are not decisions: sampled criteria whose chains are not
    stationary or whose choice is within Monte-Carlo error, and criteria on the scale of
    ``-2 log p(data)`` whose choice beats the runner-up by ``2 log B < 2``."""
    out = [
        f"nnmle: {name}: the chains of hidden = {widths} are not stationary (R-hat > "
        f"{RHAT_MAX}): there the value is usually too small (the chains start at the "
        f"minima and climb), so its choice is not a decision. Fix: longer chains "
        f"(sampling={{'draws': 4000, 'warmup': 2000}}), or choose by BIC or CV deviance"
        for name, widths in sel.unsettled.items()
    ]
    close = sel.uncertain
    out += [
        f"nnmle: {name} prefers {h1} hidden units to {h2} by 2 log B = {two_log_b:.2f} "
        f"(a Bayes factor of {math.exp(two_log_b / 2):.2f}: {strength}, Kass and Raftery "
        f"1995): the data do not decide between the two widths. Fix: report both, or the "
        f"smaller as the simpler account; more data decide"
        for name, (h1, h2, two_log_b, strength) in sel.evidence.items()
        if two_log_b < EVIDENCE[0][0] and name not in close and name not in sel.unsettled
    ]
    out += [
        f"nnmle: {name}'s choice ({h1} hidden units) is within Monte-Carlo error of "
        f"{h2} units (values within twice their standard error): it is not a decision. "
        f"Fix: longer chains (sampling={{'chains': 8, 'draws': 8000}}), or choose by BIC "
        f"or CV deviance"
        for name, (h1, h2) in close.items()
    ]
    return out
