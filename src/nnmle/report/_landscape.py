"""Text and plots of a multi-start campaign (:class:`~nnmle.multistart.Campaign`)."""

from __future__ import annotations

import io
import os

import numpy as np

__all__ = ["campaign_plots", "render_landscape", "solutions_table"]


def solutions_table(campaign, width: int = 110, max_rows: int | None = None) -> str:
    """The solutions table as text (rich); ``max_rows`` keeps the best rows only."""
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{len(campaign.solutions)} distinct solution(s) from {campaign.n_starts} starts"
    )
    for col in ("id", "objective", "loglik", "starts", "grad norm", "index", "nullity"):
        table.add_column(col, justify="right")
    table.add_column("class")
    table.add_column("best")
    rows = campaign.solutions if max_rows is None else campaign.solutions[:max_rows]
    if len(rows) < len(campaign.solutions):
        table.caption = f"{len(campaign.solutions) - len(rows)} more solution(s) not shown"
    for s in rows:
        null = "-" if s.nullity is None else str(s.nullity)
        if s.nullity_symmetry:
            null += f" ({s.nullity_symmetry} sym)"
        table.add_row(
            str(s.id),
            f"{s.objective:.6f}",
            f"{s.loglik:.4f}",
            str(s.count),
            f"{s.grad_norm:.1e}",
            "-" if s.index is None else str(s.index),
            null,
            s.kind,
            "*" if s.best else "",
        )
    buf = io.StringIO()
    Console(file=buf, width=width, force_terminal=False, color_system=None).print(table)
    return buf.getvalue().rstrip()


def render_landscape(campaign, width: int = 110, max_rows: int | None = 30) -> str:
    """Text for ``nnmle landscape``: the table (best ``max_rows``), the barrier, the
    certificate, the named flat directions and the time spent."""
    c = campaign
    lines = [
        f"{c.problem.arch.describe()}, {c.problem.family.name}, "
        f"{c.problem.arch.n_params} parameters, penalty {c.problem.penalty.describe()}",
        c.group_description,
        solutions_table(c, width, max_rows=max_rows),
    ]
    bar, pair = c.barrier(), c.pair()
    if bar is not None and pair is not None:
        al = "n/a" if bar.barrier_aligned is None else f"{bar.barrier_aligned:.6g}"
        lines.append(
            f"loss barrier between solutions {pair[0].id} and {pair[1].id} "
            f"(straight path): raw {bar.barrier_raw:.6g}, aligned {al}"
        )
    else:
        lines.append("a single distinct solution: no barrier to measure")
    cert = c.certificate()
    if cert is not None:
        lines.append(f"non-convexity certificate at solution {c.best.id}: {cert}")
    else:
        lines.append("no hidden layer: the objective is that of a GLM (convex)")
    for s in c.solutions:
        for d in s.flat:
            lines.append(f"solution {s.id}: flat direction {d.text}")
    walls = {k: v for k, v in c.timings.items() if not k.startswith("cpu_")}
    lines.append("time: " + ", ".join(f"{k} {v:.2f}s" for k, v in walls.items()))
    return "\n".join(lines)


_COLORS = {
    "strict_min": "tab:green",
    "degenerate_min": "tab:olive",
    "saddle": "tab:red",
    "not_converged": "tab:gray",
    "diverged": "black",
}


def campaign_plots(campaign, directory) -> list[str]:
    """PNG files: ``objectives.png``, ``spectra.png``, ``barrier.png`` (when there is a pair)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = campaign
    os.makedirs(directory, exist_ok=True)
    paths = []
    kinds = {s.id: s.kind for s in c.solutions}

    fig, ax = plt.subplots(figsize=(7, 4))
    objs = np.array([r.objective for r in c.starts])
    order = np.argsort(objs)
    for kind, color in _COLORS.items():
        sel = [j for j, i in enumerate(order) if kinds[int(c.labels[i])] == kind]
        if sel:
            ax.scatter(sel, objs[order][sel], s=12, color=color, label=kind)
    ax.set_xlabel("start (sorted by objective)")
    ax.set_ylabel("penalized objective")
    ax.set_title(f"{c.n_starts} starts, {len(c.solutions)} distinct solutions")
    ax.legend(fontsize=8)
    paths.append(_save(fig, directory, "objectives.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    shown = [s for s in c.solutions if s.kind != "diverged"][:30]
    specs = [c.spectrum(s) for s in shown]
    for s, sp in zip(shown, specs, strict=True):
        ev = sp.eigenvalues
        ax.scatter(np.full(ev.size, s.id), ev, s=6, color=_COLORS[s.kind], alpha=0.7)
    nonzero = [np.abs(sp.eigenvalues)[np.abs(sp.eigenvalues) > sp.zero_tol] for sp in specs]
    smallest = min((float(m.min()) for m in nonzero if m.size), default=1e-8)
    ax.set_yscale("symlog", linthresh=10.0 ** np.floor(np.log10(smallest)))
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xlabel("solution id")
    ax.set_ylabel("Hessian eigenvalue (symlog)")
    ax.set_title("Hessian spectrum per distinct solution")
    paths.append(_save(fig, directory, "spectra.png"))

    bar, pair = c.barrier(), c.pair()
    if bar is not None and pair is not None:
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.plot(bar.t, bar.values_raw, label=f"raw (barrier {bar.barrier_raw:.4g})")
        if bar.values_aligned is not None:
            ax.plot(bar.t, bar.values_aligned, label=f"aligned (barrier {bar.barrier_aligned:.4g})")
        ax.plot(bar.t, bar.chord, "k--", lw=0.8, label="chord")
        ax.set_xlabel(f"t (solution {pair[0].id} -> solution {pair[1].id})")
        ax.set_ylabel("penalized objective")
        ax.legend(fontsize=8)
        paths.append(_save(fig, directory, "barrier.png"))
    return paths


def _save(fig, directory, name: str) -> str:
    path = os.path.join(directory, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
