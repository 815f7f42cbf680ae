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
from ..inference import fit_statistics, pseudo_rsquared, weight_names

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
        The formula: its intercept is called ``Intercept`` (a network without
        hidden layer).
    inference : Inference, optional
        Adds std err, z, P>|z| and the interval columns, and statsmodels' header
        lines (Df Residuals, Df Model, Pearson chi2, Pseudo R-squ., Scale).
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
        pearson = r.family.scale_method == "pearson"
        label = "Scale (phi, Pearson)" if pearson else "Scale (sigma^2, ML)"
        header.append((label, f"{r.scale:.6g}"))
    grp = symmetry.group(problem)
    if r.arch.hidden:
        header.append(
            (
                "Symmetry group",
                f"{grp.order}" + (f" x R^{grp.continuous_dim}" if grp.continuous_dim else ""),
            )
        )
    rows = [[w["name"], w["value"]] for w in canonical_table(r)]
    header.append(("Method", "penalized MLE" if r.penalty.active else "MLE"))
    notes = [
        "objective = sum(case weight * negative log-likelihood) + "
        + r.penalty.describe()
        + (" (gaussian: 1/2 * sum of squared residuals)" if r.family.name == "gaussian" else ""),
        f"AIC/BIC count k = {r.n_params} free weights"
        + (
            "; the dispersion is not counted (as statsmodels GLM)"
            if r.family.has_dispersion
            else ""
        ),
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
        if problem.data is not None:
            st = fit_statistics(r, inference=inference)
            header += [
                ("Df Residuals", f"{st.df_resid:.6g}"),
                ("Df Model", f"{st.df_model:.6g}"),
                ("Pearson chi2", f"{st.pearson_chi2:.6g}"),
                ("Pseudo R-squ. (CS)", f"{pseudo_rsquared(st, 'cs'):.4g}"),
                ("Scale", f"{st.scale:.6g}"),
            ]
        columns, rows = _inference_rows(inference)
        notes = [n for n in notes if "standard errors omitted" not in n] + list(inference.notes)
    if design is not None and design.formula is not None:
        names = weight_names(r.arch, design)
        rename = dict(zip(r.arch.param_names(), names, strict=True))
        rows = [[rename.get(row[0], row[0]), *row[1:]] for row in rows]
    notes += _data_notes(r, design, inference)
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


def _data_notes(estimate, design=None, inference=None) -> list[str]:
    """What the data handling did: the response's coding, dropped rows, offsets, outputs,
    and a family's extra parameter (the negative binomial's alpha, with its standard error)."""
    fam, notes = estimate.family, []
    if design is not None:
        classes = tuple(design.classes)
        if fam.name == "bernoulli" and classes and classes != (0, 1):
            notes.append(
                f"y = 1 means {classes[1]!r}, y = 0 means {classes[0]!r} (the second level in "
                f"sorted order is modelled, as R does)"
            )
        if design.n_dropped:
            notes.append(
                f"{design.n_dropped} row(s) with missing values were dropped (na_action='drop', "
                f"as R's na.omit)"
            )
        if design.has_offset:
            what = [f"offset({t})" for t in design.offset_terms]
            what += [f"{k}={c!r}" for k, c in (("offset", design.offset_column),
                     ("exposure", design.exposure_column)) if c]  # fmt: skip
            notes.append(
                "an offset is added to the linear predictor"
                + (f": {', '.join(what)}" if what else "")
                + " (new data need it too)"
            )
    q = estimate.arch.n_outputs - fam.n_extra
    if fam.name == "gaussian" and q > 1:
        notes.append(f"{q} gaussian outputs with one common variance sigma^2")
    if fam.n_extra and fam.name == "negative_binomial":
        j = estimate.arch.param_names().index("bias->log(alpha)")
        alpha = float(np.exp(estimate.theta[j]))
        se = ""
        if inference is not None and "bias->log(alpha)" in inference.names:
            k = inference.names.index("bias->log(alpha)")
            if np.isfinite(inference.se[k]):
                se = f", std err {alpha * inference.se[k]:.4g} (delta method)"
        notes.append(
            f"alpha (NB2: Var y = mu + alpha mu^2) = exp(bias->log(alpha)) = {alpha:.6g}{se}"
        )
    return notes
