"""Summaries and reports: compute plain data first, render it separately.

:func:`fit_summary` builds a :class:`Summary` (header pairs and a weight
table) from a :class:`~nnmle.fit.FitResult`; ``str(summary)`` renders the
statsmodels-like text, ``summary.to_dict()`` the same content as plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


def fit_summary(result) -> Summary:
    """Summary of a fit: family, link, architecture, fit statistics, one row per weight."""
    r = result
    n_conv = sum(s.status == "converged" for s in r.restarts)
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
        ("Starts converged", f"{n_conv}/{len(r.restarts)}"),
    ]
    if r.family.has_dispersion:
        header.append(("Scale (sigma^2, ML)", f"{r.scale:.6g}"))
    if r.arch.hidden:
        from .symmetry import canonical_weights, group

        grp = group(r.arch)
        header.append(
            (
                "Symmetry group",
                f"{grp.order}" + (f" x R^{grp.continuous_dim}" if grp.continuous_dim else ""),
            )
        )
    weights = canonical_weights(r) if r.arch.hidden else r.weight_table()
    rows = [[w["name"], w["value"]] for w in weights]
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
    inf = getattr(r, "inference", None)
    if inf is not None:
        header += [("Covariance type", inf.method), ("Effective params", f"{inf.edf:.4g}")]
        columns, rows = _inference_rows(inf)
        notes = [n for n in notes if "standard errors omitted" not in n] + inf.notes
    return Summary("Neural network MLE results (nnmle)", header, columns, rows, notes)


def _inference_rows(inf) -> tuple[list[str], list[list]]:
    """Columns and rows of the weight table with std err, z, P>|z| and the interval."""
    lo, hi = (1 - inf.level) / 2, (1 + inf.level) / 2
    columns = ["weight", "coef", "std err", "z", "P>|z|", f"[{lo:.4g}", f"{hi:.4g}]"]
    rows = []
    for w in inf.table():
        if w.get("identified") is False:
            rows.append([w["name"], w["value"], "not identified", "", "", "", ""])
        elif w.get("zero"):
            rows.append([w["name"], w["value"], "zero (L1)", "", "", "", ""])
        else:
            keys = ("se", "z", "p", "ci_low", "ci_high")
            rows.append([w["name"], w["value"], *(w[k] for k in keys)])
    return columns, rows
