"""Text and plots for singular learning theory: the learning coefficient, the criteria, the
choice of the number of hidden units (results of :mod:`nnmle.singular`)."""

from __future__ import annotations

import math

__all__ = [
    "plot_hidden_selection",
    "render_hidden_selection",
    "render_information_criteria",
    "render_learning_coefficient",
]


def _num(v, fmt: str = ".4g") -> str:
    return "—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, fmt)


def render_learning_coefficient(lc) -> str:
    """The estimate against BIC's ``d / 2``, the sampler's settings and diagnostics, warnings."""
    lo, hi = lc.interval()
    acc = [a for a in lc.acceptance if a == a]
    lines = [
        "Local learning coefficient (Lau et al. 2023): lambda_hat = n beta (E[L_n(w)] - L_n(w*))",
        f"  lambda_hat     {lc.estimate:.4g}  (MC se {lc.se:.3g}; 95% interval "
        f"{lo:.4g} to {hi:.4g})",
        f"  BIC's d/2      {lc.regular:g}  ({lc.n_params} free weights)",
        f"  regular model  {_num(lc.laplace)}  (lambda of a regular model with the fit's "
        f"Hessian at this gamma)",
        f"  n, beta, gamma {lc.n:g}, {lc.beta:.4g}, {lc.gamma:g}",
        f"  sampler        {lc.sampler}: {lc.chains} chains x {lc.draws} draws "
        f"(+{lc.warmup} warm-up), step size {float(lc.step_size.mean()):.3g}"
        + (f", acceptance {sum(acc) / len(acc):.2f}" if acc else ""),
        f"  diagnostics    ESS {_num(lc.ess, '.0f')}, R-hat {_num(lc.rhat, '.3f')}, "
        f"draws below the fit {lc.escaped}, {lc.seconds:.1f} s",
    ]
    if lc.estimate + 2 * lc.se < min(lc.regular, lc.laplace):
        lines.append(
            "  The network is singular: lambda_hat is below d/2 and below what its Hessian "
            "implies, so BIC over-counts its complexity (symmetries and redundant units leave "
            "directions along which the fit barely moves)."
        )
    lines += [f"  Warning: {w}" for w in lc.warnings]
    return "\n".join(lines)


def render_information_criteria(ic) -> str:
    """One line per criterion (value, Monte-Carlo se) and what it assumes."""
    lines = [
        f"Information criteria (-2 loglik scale; n = {ic.n:g}, d = {ic.n_params}, "
        f"edf = {ic.edf:.3g})",
        f"{'criterion':<11} {'value':>12} {'MC se':>8}  assumes",
    ]
    for r in ic.rows():
        lines.append(
            f"{r['criterion']:<11} {r['value']:>12.4f} {_num(r['se'], '.3g'):>8}  {r['assumes']}"
        )
    if ic.lc is not None:
        lines += ["", render_learning_coefficient(ic.lc)]
    return "\n".join(lines)


def render_hidden_selection(sel) -> str:
    """The table per number of hidden units, then each criterion's choice."""
    cols = [
        ("hidden", "{:>6}"),
        ("n_params", "{:>8}"),
        ("loglik", "{:>11.3f}"),
        ("aic", "{:>10.2f}"),
        ("bic", "{:>10.2f}"),
        ("d_over_2", "{:>8.1f}"),
        ("lambda_hat", "{:>10.3f}"),
        ("bic_lambda", "{:>10.2f}"),
        ("wbic", "{:>10.2f}"),
        ("free_energy", "{:>11.2f}"),
        ("cv_deviance", "{:>11.2f}"),
    ]
    width = {c: len(f.format(1.0 if "f" in f else 1)) for c, f in cols}
    head = "  ".join(f"{c:>{width[c]}}" for c, _ in cols)
    lines = [
        f"Number of hidden units ({sel.family}, {sel.activation}; n = {sel.n:g}; "
        f"wbic is 2 WBIC and free_energy 2 F_n, on BIC's scale)",
        head,
        "-" * len(head),
    ]
    for r in sel.rows:
        cells = []
        for c, f in cols:
            v = r.get(c)
            cells.append(f.format(v) if v is not None else f"{'—':>{width[c]}}")
        lines.append("  ".join(cells) + ("" if r["status"] == "converged" else f"  {r['status']}"))
    lines.append("-" * len(head))
    close, unsettled, evidence = sel.uncertain, sel.unsettled, sel.evidence
    for crit, h in sel.choices.items():
        extra = (
            f"  (chains not stationary at hidden = {unsettled[crit]}: not a decision)"
            if crit in unsettled
            else f"  (within Monte-Carlo error of hidden = {close[crit][1]}: not a decision)"
            if crit in close
            else f"  (over hidden = {evidence[crit][1]}: 2 log B = {evidence[crit][2]:.1f}, "
            f"{evidence[crit][3]})"
            if crit in evidence
            else ""
        )
        lines.append(f"chosen by {crit:<10}: hidden = {h}{extra}")
    return "\n".join(lines)


def plot_hidden_selection(sel, file) -> str:
    """Each criterion against the number of hidden units (less its minimum); writes ``file``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    hs = sel.column("hidden")
    for name, col in (
        ("AIC", "aic"),
        ("BIC", "bic"),
        ("BIC with lambda_hat", "bic_lambda"),
        ("2 WBIC", "wbic"),
        ("2 F_n (thermodynamic)", "free_energy"),
        ("CV deviance", "cv_deviance"),
    ):
        vals = sel.column(col)
        pts = [(h, v) for h, v in zip(hs, vals, strict=True) if v is not None]
        if pts:
            low = min(v for _, v in pts)
            ax1.plot([h for h, _ in pts], [v - low for _, v in pts], "o-", label=name)
    ax1.set_xlabel("hidden units")
    ax1.set_ylabel("criterion minus its minimum")
    ax1.legend(fontsize=8)
    ax2.plot(hs, sel.column("d_over_2"), "s--", label="d/2 (BIC)")
    lam = [(h, v, s) for h, v, s in zip(hs, sel.column("lambda_hat"), sel.column("lambda_se"),
                                         strict=True) if v is not None]  # fmt: skip
    if lam:
        ax2.errorbar([h for h, _, _ in lam], [v for _, v, _ in lam],
                     yerr=[2 * s for _, _, s in lam], fmt="o-", capsize=3,
                     label="lambda_hat (+-2 MC se)")  # fmt: skip
    ax2.set_xlabel("hidden units")
    ax2.set_ylabel("complexity")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(file, dpi=110)
    plt.close(fig)
    return str(file)
