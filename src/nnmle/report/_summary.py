"""The fit summary: compute plain data first, render it separately.

:func:`fit_summary` builds a :class:`Summary` (header pairs and a weight
table) from an :class:`~nnmle.estimation.Estimate` (and its design and, when
computed, its :class:`~nnmle.inference.Inference`); ``str(summary)`` renders
the statsmodels-like text, ``summary.to_dict()`` the same content as plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import symmetry

__all__ = ["Summary", "fit_summary"]


@dataclass
class Summary:
    """A header (label/value pairs), a table of weights and notes below it."""

    title: str
    header: list[tuple[str, str]]
    columns: list[str]
    rows: list[list]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Header and rows as plain data."""
        return {
            "title": self.title,
            "header": dict(self.header),
            "columns": self.columns,
            "rows": self.rows,
            "notes": self.notes,
        }

    def __str__(self) -> str:
        return render_text(self)

    def __repr__(self) -> str:
        return render_text(self)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1e5 else f"{v:.4e}"
    return str(v)


def render_text(s: Summary, width: int = 78) -> str:
    """Render a :class:`Summary` as fixed-width text."""
    lines = [s.title.center(width), "=" * width]
    half = (len(s.header) + 1) // 2
    left, right = s.header[:half], s.header[half:]
    for i in range(half):
        a = f"{left[i][0] + ':':<20}{left[i][1]:>18}"
        b = f"{right[i][0] + ':':<20}{right[i][1]:>18}" if i < len(right) else ""
        lines.append(f"{a}  {b}".rstrip())
    lines.append("=" * width)
    cells = [[_fmt(c) for c in row] for row in s.rows]
    widths = [
        max(len(col), *(len(r[j]) for r in cells)) if cells else len(col)
        for j, col in enumerate(s.columns)
    ]
    lines.append(
        "  ".join(
            c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(s.columns)
        )
    )
    lines.append("-" * width)
    for r in cells:
        lines.append(
            "  ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(r))
        )
    lines.append("=" * width)
    lines += [f"Note: {n}" for n in s.notes]
    return "\n".join(lines)


def canonical_table(estimate) -> list[dict]:
    """The free weights in canonical form under the problem's group: ``[{"name", "value"}]``.

    The group of the problem (:func:`nnmle.symmetry.group`) holds only the moves
    that keep the penalized objective, so the canonical weights have the fit's
    objective (tested).
    """
    problem = estimate.problem
    theta = np.asarray(estimate.theta, dtype=np.float64)
    if problem.arch.hidden:
        theta = np.asarray(symmetry.canonicalize(theta, symmetry.group(problem))[0])
    names = problem.arch.param_names()
    return [{"name": names[j], "value": float(theta[j])} for j in np.flatnonzero(problem.free)]


def fit_summary(estimate, design=None, inference=None) -> Summary:
    """Summary of a fit: family, link, architecture, fit statistics, one row per weight.

    Parameters
    ----------
    estimate : Estimate
    design : Design, optional
        For the class coding and the formula (not used yet beyond the header).
    inference : Inference, optional
        Adds std err, z, P>|z| and the interval columns.
    """
    r = estimate
    problem = r.problem
    n_conv = sum(s.status == "converged" for s in r.starts)
    header = [
        ("Family", r.family.name),
        ("Link", r.family.link),
        ("Architecture", r.arch.describe()),
        ("No. Observations", str(r.n_obs)),
        ("No. Parameters", str(r.n_params)),
        ("Penalty", f"l2={r.penalty.l2:g}, l1={r.penalty.l1:g}"),
        ("Objective", f"{r.objective:.6g}"),
        ("Log-Likelihood", f"{r.loglik:.6g}"),
        ("Deviance", f"{r.deviance:.6g}"),
        ("Null deviance", f"{r.null_deviance:.6g}"),
        ("AIC", f"{r.aic:.6g}"),
        ("BIC", f"{r.bic:.6g}"),
        ("Converged", "yes" if r.converged else f"no ({r.status})"),
        ("Iterations", str(r.n_iter)),
        ("Gradient norm", f"{r.grad_norm:.2e}"),
        ("Starts converged", f"{n_conv}/{len(r.starts)}"),
    ]
    if r.family.has_dispersion:
        header.append(("Scale (sigma^2, ML)", f"{r.scale:.6g}"))
    grp = symmetry.group(problem)
    if r.arch.hidden:
        header.append(
            (
                "Symmetry group",
                f"{grp.order}" + (f" x R^{grp.continuous_dim}" if grp.continuous_dim else ""),
            )
        )
    rows = [[w["name"], w["value"]] for w in canonical_table(r)]
    notes = [
        "objective = sum(case weight * negative log-likelihood) + "
        + r.penalty.describe()
        + (" (gaussian: 1/2 * sum of squared residuals)" if r.family.has_dispersion else ""),
        f"AIC/BIC count k = {r.n_params} free weights"
        + ("; sigma^2 is not counted (as statsmodels GLM)" if r.family.has_dispersion else ""),
    ]
    if not r.converged:
        notes.append(f"the best start did not converge: {r.message}")
    if r.arch.hidden:
        notes.append(
            "weights of a network with hidden units are not identified: permuting or "
            "sign-flipping hidden units gives the same likelihood (standard errors omitted); "
            "they are shown in canonical form (nnmle.symmetry.canonicalize), one "
            f"representative of {grp.order} equivalent weight settings"
        )
    columns = ["weight", "coef"]
    if inference is not None:
        header += [
            ("Covariance type", inference.method),
            ("Effective params", f"{inference.edf:.4g}"),
        ]
        columns, rows = _inference_rows(inference)
        notes = [n for n in notes if "standard errors omitted" not in n] + list(inference.notes)
    return Summary("Neural network MLE results (nnmle)", header, columns, rows, notes)


def _inference_rows(inf) -> tuple[list[str], list[list]]:
    """Columns and rows of the weight table with std err, z, P>|z| and the interval."""
    lo, hi = (1 - inf.level) / 2, (1 + inf.level) / 2
    columns = ["weight", "coef", "std err", "z", "P>|z|", f"[{lo:.4g}", f"{hi:.4g}]"]
    rows = []
    for w in inf.table():
        lab = w.get("identification", "data")
        if lab == "none":
            rows.append([w["name"], w["value"], "not identified", "", "", "", ""])
        elif lab == "zero":
            rows.append([w["name"], w["value"], "zero (L1)", "", "", "", ""])
        elif lab == "penalty":
            rows.append([w["name"], w["value"], w["se"], "penalty", "", w["ci_low"], w["ci_high"]])
        else:
            keys = ("se", "z", "p", "ci_low", "ci_high")
            rows.append([w["name"], w["value"], *(w[k] for k in keys)])
    return columns, rows
