"""Text tables and plots of covariate effects: average marginal effects, term tests, the
likelihood-ratio table and partial-dependence curves with their bands.

Everything here reads results computed in :mod:`nnmle.inference`
(:class:`~nnmle.inference.Margins`, :class:`~nnmle.inference.TermTests`,
:class:`~nnmle.inference.Anova`, :class:`~nnmle.inference.PartialDependence`)
and renders them; nothing is computed.
"""

from __future__ import annotations

import math

import numpy as np

from .story import fmt

__all__ = [
    "draw_story_partial_dependence",
    "plot_partial_dependence",
    "render_anova",
    "render_margins",
    "render_term_tests",
    "story_effect_tables",
]


def _num(v, fmt: str = "{:.4f}") -> str:
    if v is None:
        return ""
    v = float(v)
    if not math.isfinite(v):
        return ""
    return fmt.format(v) if abs(v) < 1e5 else f"{v:.4e}"


def _table(title: str, columns: list[str], rows: list[list[str]], notes=()) -> str:
    widths = [
        max(len(c), *(len(r[j]) for r in rows)) if rows else len(c) for j, c in enumerate(columns)
    ]

    def line(cells):
        return "  ".join(
            c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(cells)
        )

    head = line(columns)
    out = [title, head, "-" * len(head), *(line(r) for r in rows), "-" * len(head)]
    return "\n".join(out + [f"Note: {n}" for n in notes if n])


def render_margins(m) -> str:
    """A :class:`~nnmle.inference.Margins` as text (statsmodels' margins table)."""
    lo, hi = (1 - m.level) / 2, (1 + m.level) / 2
    cols = ["effect", "dy/dx" if m.method == "dydx" else m.method, "std err", "z", "P>|z|",
            f"[{lo:.4g}", f"{hi:.4g}]", "identified"]  # fmt: skip
    rows = []
    for r in m.to_dict()["effects"]:
        name = r["effect"] if len(m.outputs) == 1 else f"{r['effect']} ({r['output']})"
        rows.append(
            [name, _num(r["value"]), _num(r["se"]), _num(r["z"], "{:.3f}"), _num(r["p"]),
             _num(r["ci_low"]), _num(r["ci_high"]), r["identification"]]
        )  # fmt: skip
    notes = [
        f"average marginal effects at={m.at!r} ({m.se_method} standard errors); categorical "
        "levels: average discrete change from the reference level",
        "effects are functions of the fitted network, the same for every symmetric twin of the "
        "weights: identified where the weights are not",
    ]
    return _table("Average marginal effects", cols, rows, notes)


def render_term_tests(t) -> str:
    """A :class:`~nnmle.inference.TermTests` as text."""
    d = t.to_dict()
    rows = [
        [r["term"], str(r["df"]), _num(r["statistic"], "{:.3f}"), _num(r["pvalue"], "{:.4g}"),
         r["note"] or ""]
        for r in d["terms"]
    ]  # fmt: skip
    notes = [f"joint Wald chi-square per term ({t.method} covariance)"]
    if t.penalized:
        notes.append(
            "penalized fit: the covariance is the penalized (Bayesian) one and the df the term's "
            "weights; the test is approximate"
        )
    return _table("Wald tests per term", ["term", "df", "chi2", "P>chi2", "note"], rows, notes)


def render_anova(a) -> str:
    """An :class:`~nnmle.inference.Anova` as text."""
    p_col = "P>chi2" if a.method == "chi2" else "P(boot)"
    rows = []
    for r in a.rows:
        starts = "" if r["starts_at_best"] is None else f"{r['starts_at_best']}/{r['starts']}"
        rows.append(
            [r["name"], str(r["df"]), _num(r["deviance"], "{:.4f}"), _num(r["lr"], "{:.3f}"),
             _num(r["pvalue"], "{:.4g}"), starts, "yes" if r["regular"] else "no"]
        )  # fmt: skip
    cols = ["dropped", "df", "deviance", "LR", p_col, "starts at best", "chi2 valid"]
    return _table("Likelihood-ratio tests (refits)", cols, rows, a.notes)


def _axis(grid) -> tuple[np.ndarray, list[str] | None]:
    """Positions of a grid on an axis, and tick labels for the levels of a categorical term."""
    grid = np.asarray(grid)
    if grid.dtype == object:
        return np.arange(len(grid), dtype=float), [str(g) for g in grid]
    return grid.astype(float), None


def plot_partial_dependence(pd_, file=None, ax=None):
    """Partial dependence with its pointwise band (error bars for a categorical term; a
    contour of the first output for two features).

    Parameters
    ----------
    pd_ : PartialDependence
    file : str or path, optional
        Write the figure there (any format matplotlib knows) and return the path.
    ax : matplotlib Axes, optional
        Draw into it (returns the Axes).

    Returns
    -------
    str or Axes or Figure
    """
    import matplotlib

    if ax is None and file is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    if len(pd_.features) == 2:
        axes = [_axis(g) for g in pd_.grid_values]
        cs = ax.contourf(axes[0][0], axes[1][0], pd_.average[0].T, levels=12)
        ax.figure.colorbar(cs, ax=ax, label=f"average {pd_.outputs[0]}")
        for (x, labels), setter in zip(axes, (ax.set_xticks, ax.set_yticks), strict=True):
            if labels is not None:
                setter(x, labels)
        ax.set_xlabel(pd_.features[0])
        ax.set_ylabel(pd_.features[1])
    else:
        x, labels = _axis(pd_.grid_values[0])
        categorical = labels is not None
        for k, out in enumerate(pd_.outputs):
            mean, lo, hi = pd_.average[k], pd_.ci_low[k], pd_.ci_high[k]
            if categorical:
                err = np.vstack([mean - lo, hi - mean])
                ax.errorbar(x + 0.05 * k, mean, yerr=err, fmt="o", capsize=4, label=out)
            else:
                ax.plot(x, mean, color=f"C{k}", label=out)
                ax.fill_between(x, lo, hi, color=f"C{k}", alpha=0.25)
        if labels is not None:
            ax.set_xticks(x, labels)
        ax.set_xlabel(pd_.features[0])
        ax.set_ylabel("average fitted mean")
        if len(pd_.outputs) > 1:
            ax.legend(fontsize=8)
        ax.set_title(
            f"Partial dependence with {pd_.level:.0%} pointwise bands ({pd_.se_method})",
            fontsize=10,
        )
    if file is not None and fig is not None:
        fig.tight_layout()
        fig.savefig(file)
        plt.close(fig)
        return str(file)
    return fig if fig is not None else ax


# --- the demo's effects section (story data: plain numbers) ------------------------------------


def story_effect_tables(e) -> list[tuple[str, list[str], list[list[str]]]]:
    """The story's average marginal effects (network beside GLM) and its Wald tests per input,
    as ``(title, columns, rows)`` of formatted cells."""
    lvl = f"{round(100 * e.level)}%"
    glm = {(r["effect"], r["output"]): r for r in e.glm}

    def cell(r: dict | None) -> str:
        if r is None:
            return ""
        if r["ci_low"] is None:
            return f"{fmt(r['value'], 4)} (not identified)"
        return f"{fmt(r['value'], 4)} [{fmt(r['ci_low'], 3)}, {fmt(r['ci_high'], 3)}]"

    multi = len({r["output"] for r in e.network}) > 1
    rows = [
        [
            r["effect"] + (f" ({r['output']})" if multi else ""),
            cell(r),
            fmt(r["p"], 3) if r["p"] is not None else r["identification"],
            cell(glm.get((r["effect"], r["output"]))) or "n/a",
        ]
        for r in e.network
    ]
    tests = [
        [t["term"], str(t["df"]), fmt(t["statistic"], 4), fmt(t["pvalue"], 3)] for t in e.term_tests
    ]
    return [
        (
            f"Average marginal effects on the fitted mean with {lvl} intervals (delta method)",
            ["input", "network", "P>|z|", "GLM (no hidden layer)"],
            rows,
        ),
        ("Wald tests per input (network)", ["input", "df", "chi2", "P>chi2"], tests),
    ]


def draw_story_partial_dependence(e, family: str, plt):
    """The story's partial-dependence curve with its band (a matplotlib Figure), or None."""
    pd_ = None if e is None else e.partial_dependence
    if pd_ is None or len(pd_["features"]) != 1:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.4))
    grid = pd_["grid_values"][0]
    numeric = all(isinstance(v, int | float) for v in grid)
    x = grid if numeric else list(range(len(grid)))
    for k, out in enumerate(pd_["outputs"]):
        mean = pd_["average"][k]
        lo = [m if v is None else v for m, v in zip(mean, pd_["ci_low"][k], strict=True)]
        hi = [m if v is None else v for m, v in zip(mean, pd_["ci_high"][k], strict=True)]
        ax.plot(x, mean, color=f"C{k}", label=out)
        ax.fill_between(x, lo, hi, color=f"C{k}", alpha=0.25)
    if not numeric:
        ax.set_xticks(x, [str(v) for v in grid])
    ax.set_xlabel(pd_["features"][0])
    ax.set_ylabel("P(y = 1)" if family in ("bernoulli", "binomial") else "average mean")
    ax.set_title(f"Partial dependence, {round(100 * pd_['level'])}% pointwise bands", fontsize=10)
    if len(pd_["outputs"]) > 1:
        ax.legend(fontsize=8)
    return fig
