"""Text and plots of a regularization path (:class:`~nnmle.regularization.PathResult`) and
of the penalties' invariance under the symmetry group."""

from __future__ import annotations

import numpy as np

from ..regularization import path_report, penalty_symmetry_table

__all__ = ["plot_path", "render_path", "render_penalty_symmetry"]


def render_path(result) -> str:
    """The path as a text table, with the selected values below it."""
    rep = path_report(result)
    kind = rep["penalty"]
    cols = [
        (kind, "{:>10.4g}"),
        ("weight_norm", "{:>11.4g}"),
        ("n_nonzero", "{:>9d}"),
        ("deviance", "{:>10.4f}"),
        ("cv_deviance", "{:>11.4f}"),
        ("cv_se", "{:>8.3f}"),
        ("edf", "{:>8.3f}"),
        ("log_evidence", "{:>12.3f}"),
        ("status", "{:>10}"),
    ]
    head = "  ".join(
        f"{c:>{len(fmt.format(0) if c != 'status' else fmt.format('x'))}}" for c, fmt in cols
    )
    lines = [f"Regularization path ({kind}; fixed {rep['fixed']}; {rep['cv']}-fold CV)", head]
    lines.append("-" * len(head))
    for row in rep["rows"]:
        lines.append("  ".join(fmt.format(row[c]) for c, fmt in cols))
    lines.append("-" * len(head))
    for rule, v in rep["selected"].items():
        mark = "  <- fitted" if rule == rep["select"] else ""
        lines.append(f"selected by {rule:<8}: {kind} = {v if v is None else format(v, 'g')}{mark}")
    lines += [f"Note: {n}" for n in rep["notes"]]
    return "\n".join(lines)


def plot_path(result, file) -> str:
    """Deviance (training and cross-validated, +- 1 SE) and weight norm against the penalty.

    Writes ``file`` (any format matplotlib knows from the extension) and returns its path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.asarray(result.values)
    positive = x[x > 0]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
    ax1.plot(x, result.column("deviance"), "o-", label="training deviance")
    if result.cv:
        ax1.errorbar(
            x,
            result.column("cv_deviance"),
            yerr=result.column("cv_se"),
            fmt="s-",
            capsize=3,
            label=f"{result.cv}-fold CV deviance",
        )
    for rule, style in (("cv_min", "--"), ("cv_1se", ":"), ("evidence", "-.")):
        v = result.selected.get(rule)
        if v is not None:
            for ax in (ax1, ax2):
                ax.axvline(v, color="grey", ls=style, label=rule if ax is ax1 else None)
    ax1.set_ylabel("deviance")
    ax1.legend(fontsize=8)
    ax2.plot(x, result.column("weight_norm"), "o-", color="C2", label="weight norm")
    ax2.set_ylabel("norm of penalized weights")
    ax3 = ax2.twinx()
    ax3.plot(x, result.column("edf"), "^--", color="C3", label="edf")
    ax3.set_ylabel("effective df", color="C3")
    ax2.set_xscale("symlog", linthresh=float(positive.min()) if positive.size else 1.0)
    ax2.set_xlabel(f"{result.penalty} penalty")
    ax2.legend(loc="upper left", fontsize=8)
    ax3.legend(loc="upper right", fontsize=8)
    fig.suptitle(f"Regularization path ({result.fit.arch.describe()}, {result.fit.family.name})")
    fig.tight_layout()
    fig.savefig(file)
    plt.close(fig)
    return str(file)


def render_penalty_symmetry(rows: list[dict] | None = None) -> str:
    """:func:`penalty_symmetry_table` as text, with what it means."""
    rows = penalty_symmetry_table() if rows is None else rows
    head = (
        f"{'activation':<10}  {'transformation':<38}  {'max |d eta|':>11}  "
        f"{'sum w^2':>9}  {'sum |w|':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['activation']:<10}  {r['transformation']:<38}  {r['function_change']:>11.1e}  "
            f"{r['l2']:>9.5f}  {r['l1']:>9.5f}"
        )
    lines += [
        "",
        "Permutations and sign flips leave the function, the L2 and the L1 penalty unchanged:",
        "a penalty does not make the weights identifiable. Rescaling a relu unit",
        "(w_in, b, w_out) -> (c w_in, c b, w_out / c) keeps the function but not the penalty;",
        "at an L2-penalized optimum every relu unit is balanced (|w_in| = |w_out|), so the",
        "penalty fixes the scale and only the permutations remain (see relu_balance).",
    ]
    return "\n".join(lines)
