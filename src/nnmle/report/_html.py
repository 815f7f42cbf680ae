"""Render a :class:`~nnmle.report.story.Story`: terminal text (rich tables) and one HTML file.

Rendering only reads the story's plain numbers; nothing is fitted here.

- :func:`render_story_text` (or :func:`story_renderables` for a colored
  console): the findings in sentences and rich tables.
- :func:`render_story_html`: one self-contained HTML page (inline CSS, the
  plots embedded as base64 PNG data URIs drawn by matplotlib's Agg backend,
  no external resource), each finding in a sentence and the key numbers in a
  table whose cells carry ``data-key`` attributes. A small script writes, on
  load, the rendered size of every plot into ``<pre id="render-check">`` so a
  headless browser can check that the page really rendered.
- :func:`write_report`: ``report.html`` and ``results.json`` (every number shown).
- :func:`progress_bar`: rich progress bars on stderr for
  :func:`~nnmle.report.story.compute_story`'s ``progress`` argument.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
import math
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ._effects import draw_story_partial_dependence, story_effect_tables
from .story import Story, fmt, key_numbers, singular_table

__all__ = [
    "KEY_LABELS",
    "figures",
    "progress_bar",
    "render_story_html",
    "render_story_text",
    "story_renderables",
    "write_report",
]

#: Labels of :func:`nnmle.report.story.key_numbers` in the reports.
KEY_LABELS = {
    "data.n_obs": "cases",
    "data.n_inputs": "inputs used",
    "glm.n_starts": "GLM (no hidden layer): random starts",
    "glm.n_solutions": "GLM: distinct solutions",
    "glm.loglik": "GLM: log-likelihood",
    "glm.lambda_min": "GLM: smallest Hessian eigenvalue",
    "network.l2": "network: weight decay of the campaign",
    "network.n_starts": "network: random starts",
    "network.n_solutions": "network: distinct solutions modulo symmetry",
    "network.group_order": "network: equivalent twins of every solution (group order)",
    "network.best_loglik": "network: best log-likelihood",
    "network.best_objective": "network: best penalized objective",
    "network.midpoint_objective": "network: objective at the midpoint of two twins",
    "network.barrier_raw": "network: barrier between the two best solutions",
    "path.unpenalized_norm_start": "no penalty: weight norm at the start",
    "path.unpenalized_norm_end": "no penalty: weight norm after the traced iterations",
    "path.cv_min": "penalty chosen by cross-validation",
    "path.evidence": "penalty chosen by the evidence",
    "final.l2": "final model: weight decay",
    "final.loglik": "final model: log-likelihood",
    "final.edf": "final model: effective degrees of freedom",
    "final.n_identified": "final model: weights identified by the data",
    "final.n_penalty": "final model: weights identified only by the penalty",
    "final.n_none": "final model: weights not identified",
}

_SECTION_TITLES = {
    "data": "The data",
    "glm": "No hidden layer: a GLM",
    "network": "A network with hidden units: not unique, not convex",
    "path": "Weight decay: weights racing away, and shrinking",
    "final": "The final model: identified by the data, by the penalty, or not at all",
    "effects": "Covariate effects: identified where the weights are not",
    "singular": "Singular learning theory: BIC's d/2 against the learning coefficient",
    "store": "The campaign store",
}

_CLASS_COLORS = {
    "strict_min": "tab:green",
    "degenerate_min": "tab:olive",
    "saddle": "tab:red",
    "not_converged": "tab:gray",
    "diverged": "black",
}


# --- progress ------------------------------------------------------------------------------------


@contextlib.contextmanager
def progress_bar(console=None, enabled: bool = True) -> Iterator[Callable | None]:
    """Rich progress bars (on stderr by default) for :func:`~nnmle.report.story.compute_story`.

    Yields ``None`` when ``enabled`` is false, else a callable
    ``progress(step, completed, total)``; each step gets its own bar (a pulsing
    one when ``total`` is ``None``), shown while it runs.

    Examples
    --------
    >>> with progress_bar(enabled=False) as cb:
    ...     cb is None
    True
    """
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        SpinnerColumn(),
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, Any] = {}
    lock = threading.Lock()  # steps report from worker threads

    def update(step: str, completed: int, total: int | None) -> None:
        with lock:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=completed, total=total)
            if total is not None and completed >= total:
                bar.remove_task(tasks.pop(step))  # a later report of the step starts a new bar

    with bar:
        yield update


# --- terminal text -------------------------------------------------------------------------------


def _rich_table(title: str, columns: list[str], rows: list[list[str]]):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for j, c in enumerate(columns):
        table.add_column(c, justify="left" if j == 0 else "right")
    for r in rows:
        table.add_row(*r)
    return table


def _coef_rows(coefficients: list[dict]) -> tuple[list[str], list[list[str]]]:
    cols = ["weight", "coef", "std err", "z", "P>|z|", "CI low", "CI high"]
    rows = []
    for c in coefficients:
        lab = c.get("identification", "none" if c.get("identified") is False else "data")
        if lab == "none":
            rows.append([c["name"], fmt(c["value"]), "not identified", "", "", "", ""])
        elif lab == "zero" or c.get("zero"):
            rows.append([c["name"], fmt(c["value"]), "zero (L1)", "", "", "", ""])
        elif lab == "penalty":
            rows.append(
                [c["name"], fmt(c["value"]), fmt(c["se"], 4), "penalty only", "",
                 fmt(c["ci_low"], 4), fmt(c["ci_high"], 4)]
            )  # fmt: skip
        else:
            rows.append(
                [c["name"], fmt(c["value"])]
                + [fmt(c.get(k), 4) for k in ("se", "z", "p", "ci_low", "ci_high")]
            )
    return cols, rows


def _tables(story: Story) -> dict[str, list[tuple[str, list[str], list[list[str]]]]]:
    """The story's tables by section: ``(title, columns, rows)`` of formatted cells."""
    out: dict[str, list[tuple[str, list[str], list[list[str]]]]] = {}
    g, n, p, f, st = story.glm, story.network, story.path, story.final, story.store
    if g is not None and g.coefficients:
        cols, rows = _coef_rows(g.coefficients)
        out["glm"] = [(f"Logistic regression ({g.n_starts} starts)", cols, rows)]
    if n is not None:
        sols = [
            [
                str(s["id"]),
                fmt(s["objective"], 8),
                fmt(s["loglik"], 8),
                str(s["count"]),
                fmt(s["grad_norm"], 2),
                fmt(s["index"]),
                fmt(s["nullity"]),
                s["class"],
            ]
            for s in n.solutions
        ]
        twins = [["original", fmt(n.reference["loglik"], 12), fmt(n.reference["objective"], 12),
                  "", ""]]  # fmt: skip
        twins += [
            [
                f"twin {k + 1}: {t['element']}",
                fmt(t["loglik"], 12),
                fmt(t["objective"], 12),
                fmt(t["max_abs_pred_diff"], 2),
                fmt(t["max_abs_weight_diff"], 4),
            ]
            for k, t in enumerate(n.twins)
        ]
        out["network"] = [
            (
                f"{n.n_solutions} distinct solution(s) from {n.n_starts} starts "
                f"({n.architecture}, l2 = {fmt(n.l2)})",
                ["id", "objective", "loglik", "starts", "grad norm", "index", "nullity", "class"],
                sols,
            ),
            (
                f"Twins of the best solution ({n.group_order:,} in all)",
                ["weights", "log-likelihood", "objective", "max |pred diff|", "max |w diff|"],
                twins,
            ),
        ]
    if p is not None:
        rows = [
            [
                fmt(r["l2"]),
                fmt(r["weight_norm"], 4),
                fmt(r["deviance"], 6),
                fmt(r["cv_deviance"], 6),
                fmt(r["cv_se"], 3),
                fmt(r["edf"], 4),
                fmt(r["log_evidence"], 6),
                r["status"],
            ]
            for r in p.rows
        ]
        out["path"] = [
            (
                f"Weight-decay path ({p.cv}-fold CV)",
                ["l2", "weight norm", "deviance", "CV deviance", "CV se", "edf", "log evidence",
                 "status"],
                rows,
            )
        ]  # fmt: skip
    if f is not None:
        cols, rows = _coef_rows(f.coefficients)
        lvl = f"{round(100 * f.level)}%"
        preds = []
        for pr in f.predictions:
            if isinstance(pr["mean"], list):
                cells = [", ".join(fmt(v, 3) for v in pr[k]) for k in ("mean", "lower", "upper")]
            else:
                cells = [fmt(pr[k], 4) for k in ("mean", "lower", "upper")]
            preds.append([str(pr["row"]), str(pr["observed"]), *cells])
        out["final"] = [
            (
                f"Final model (l2 = {fmt(f.l2)}): standard errors where the data identify the "
                f"weights; 'penalty only': a penalized interval, no test",
                cols,
                rows,
            ),
            (
                f"Predictions with {lvl} confidence intervals",
                ["case", "observed", "fitted mean", "lower", "upper"],
                preds,
            ),
        ]
    if story.effects is not None:
        out["effects"] = story_effect_tables(story.effects)
    if story.singular is not None:
        out["singular"] = [singular_table(story.singular)]
    if st is not None:
        out["store"] = [
            (
                f"Job {j['job_id']}: {j['architecture']}, {j['family']}, {j['penalty']}",
                ["id", "objective", "starts", "status", "grad norm", "max |w|"],
                [
                    [
                        str(s["id"]),
                        fmt(s["objective"], 8),
                        str(s["count"]),
                        s["status"],
                        fmt(s["grad_norm"], 2),
                        fmt(s["max_abs_weight"], 4),
                    ]
                    for s in j["solutions"]
                ],
            )
            for j in st.jobs
            if "solutions" in j
        ]
    return out


def _titles(story: Story) -> dict[str, str]:
    """Section titles, with the GLM's name and what it showed."""
    titles = dict(_SECTION_TITLES)
    g = story.glm
    if g is not None:
        name = {"bernoulli": "logistic regression", "multinomial": "multinomial logit",
                "gaussian": "linear regression", "poisson": "Poisson regression"}.get(
            story.family, "a GLM")  # fmt: skip
        titles["glm"] = f"No hidden layer: {name}" + (
            ", one solution, a convex objective"
            if g.mle_exists and g.n_solutions == 1 and g.positive_definite
            else ""
        )
    return titles


def story_renderables(story: Story) -> list:
    """Rich renderables of the story (for ``Console().print(*story_renderables(story))``)."""
    from rich.padding import Padding
    from rich.rule import Rule
    from rich.text import Text

    tables = _tables(story)
    out: list = [Rule(f"nnmle: maximum likelihood for a neural network, honestly ({story.source})")]
    number = 0
    for key, title in _titles(story).items():
        if key not in story.findings:
            continue
        number += 1
        out.append(Text(f"\n{number}. {title}", style="bold"))
        for sentence in story.findings[key]:
            out.append(Padding(Text(f"- {sentence}"), (0, 0, 0, 2)))
        for title_t, cols, rows in tables.get(key, []):
            out.append(_rich_table(title_t, cols, rows))
    for note in story.notes:
        out.append(Text(f"Note: {note}", style="italic"))
    if story.timings:
        out.append(Text("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in story.timings.items())))
    return out


def render_story_text(story: Story, width: int = 110) -> str:
    """The story as plain text: findings in sentences and rich tables, ``width`` columns."""
    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=False, color_system=None)
    for r in story_renderables(story):
        console.print(r)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()).strip() + "\n"


# --- figures -------------------------------------------------------------------------------------


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def _fig_glm(story: Story, plt) -> bytes | None:
    g = story.glm
    if g is None:
        return None
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
    objs = sorted(g.start_objectives)
    a1.plot(range(1, len(objs) + 1), objs, "o-", color="tab:green", ms=4)
    a1.set_xlabel("start (sorted by objective)")
    a1.set_ylabel("negative log-likelihood")
    a1.set_title(f"{g.n_starts} starts, {g.n_solutions} solution(s)")
    a1.ticklabel_format(useOffset=False, axis="y")
    eig = g.hessian_eigenvalues
    if eig:
        a2.bar(range(1, len(eig) + 1), eig, color="tab:green")
        a2.set_yscale("log" if min(eig) > 0 else "symlog")
    a2.set_xlabel("eigenvalue number")
    a2.set_ylabel("Hessian eigenvalue")
    a2.set_title("all positive: strictly convex" if g.positive_definite else "Hessian")
    return _png(fig)


def _fig_network_starts(story: Story, plt) -> bytes | None:
    n = story.network
    if n is None:
        return None
    import numpy as np

    kinds = {s["id"]: s["class"] for s in n.solutions}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
    objs = np.array(n.start_objectives, dtype=float)
    labels = np.array(n.start_labels)
    order = np.argsort(objs, kind="stable")
    for sid in sorted(set(labels.tolist())):
        pos = [j for j, i in enumerate(order) if labels[i] == sid]
        a1.scatter(np.array(pos) + 1, objs[order][pos], s=16, label=f"solution {sid}")
    a1.set_xlabel("start (sorted by objective)")
    a1.set_ylabel("penalized objective")
    a1.set_title(f"{n.n_starts} starts, {n.n_solutions} distinct solutions")
    a1.ticklabel_format(useOffset=False, axis="y")
    if len(kinds) <= 8:
        a1.legend(fontsize=7)
    big = max((abs(v) for s in n.solutions for v in s["eigenvalues"] if v is not None),
              default=1.0)  # fmt: skip
    for s in n.solutions:
        ev = np.array([v for v in s["eigenvalues"] if v is not None], dtype=float)
        if ev.size:
            a2.scatter(np.full(ev.size, s["id"]), ev, s=8, alpha=0.7,
                       color=_CLASS_COLORS.get(s["class"], "tab:blue"))  # fmt: skip
    a2.axhline(0.0, color="k", lw=0.5)
    # eigenvalues below 1e-4 of the largest sit in the linear band around zero
    a2.set_yscale("symlog", linthresh=10.0 ** math.floor(math.log10(max(1e-4 * big, 1e-300))))
    a2.set_xticks([s["id"] for s in n.solutions])
    a2.set_xlabel("solution id")
    a2.set_ylabel("Hessian eigenvalue (symlog)")
    a2.set_title("Hessian spectrum: index = # negative")
    return _png(fig)


def _fig_network_convexity(story: Story, plt) -> bytes | None:
    n = story.network
    if n is None or (n.certificate is None and n.barrier is None):
        return None
    panels = [x for x in (n.certificate, n.barrier) if x is not None]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6), squeeze=False)
    ax = axes[0]
    k = 0
    c = n.certificate
    if c is not None:
        ax[k].plot(c["t"], c["values"], color="tab:red", label="objective on the segment")
        ax[k].plot([0, 1], [c["f_theta"], c["f_twin"]], "k--", lw=0.8, label="chord")
        ax[k].plot([0.5], [c["f_midpoint"]], "o", color="tab:red", label="midpoint")
        ax[k].set_xlabel("t (solution -> its twin)")
        ax[k].set_ylabel("penalized objective")
        ax[k].set_title("twins: equal ends, higher midpoint", fontsize=10)
        ax[k].legend(fontsize=7)
        k += 1
    b = n.barrier
    if b is not None:
        ax[k].plot(b["t"], b["values_raw"], label="straight path")
        if b["values_aligned"] is not None:
            ax[k].plot(b["t"], b["values_aligned"], label="after aligning twins")
        ax[k].plot([0, 1], [b["f_a"], b["f_b"]], "k--", lw=0.8, label="chord")
        ax[k].set_xlabel(f"t (solution {b['between'][0]} -> solution {b['between'][1]})")
        ax[k].set_ylabel("penalized objective")
        ax[k].set_title("barrier between distinct solutions", fontsize=10)
        ax[k].legend(fontsize=7)
    return _png(fig)


def _fig_racing(story: Story, plt) -> bytes | None:
    p = story.path
    if p is None:
        return None
    u, t = p.unpenalized, p.penalized_trace
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
    a1.plot(u["norms"], color="black", label="no penalty")
    a1.plot(t["norms"], color="tab:blue", label=f"l2 = {fmt(t['l2'])}")
    a1.set_yscale("log")
    a1.set_xlabel("L-BFGS iteration (same start)")
    a1.set_ylabel("weight norm")
    a1.set_title("weights race away without a penalty", fontsize=10)
    a1.legend(fontsize=8)
    a2.plot(u["objectives"], color="black", label="no penalty (NLL)")
    a2.plot(t["objectives"], color="tab:blue", label=f"l2 = {fmt(t['l2'])} (NLL + penalty)")
    a2.set_yscale("log")
    a2.set_xlabel("L-BFGS iteration")
    a2.set_ylabel("objective")
    a2.legend(fontsize=8)
    return _png(fig)


def _fig_path(story: Story, plt) -> bytes | None:
    p = story.path
    if p is None or not p.rows:
        return None
    import numpy as np

    def col(name):
        return np.array([np.nan if r[name] is None else r[name] for r in p.rows], dtype=float)

    x = col("l2")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
    a1.plot(x, col("weight_norm"), "o-", color="tab:green")
    a1.set_xscale("log")
    a1.set_xlabel("l2 (weight decay)")
    a1.set_ylabel("norm of penalized weights")
    a1.set_title("the penalty shrinks the weights", fontsize=10)
    a2.plot(x, col("deviance"), "o-", label="training deviance")
    if p.cv:
        a2.errorbar(x, col("cv_deviance"), yerr=col("cv_se"), fmt="s-", capsize=3,
                    label=f"{p.cv}-fold CV deviance")  # fmt: skip
    for rule, style in (("cv_min", "--"), ("evidence", "-.")):
        v = p.selected.get(rule)
        if v is not None:
            for ax in (a1, a2):
                ax.axvline(v, color="grey", ls=style, label=rule if ax is a2 else None)
    a2.set_xscale("log")
    a2.set_xlabel("l2 (weight decay)")
    a2.set_ylabel("deviance")
    a2.set_title("held-out deviance and the chosen penalty", fontsize=10)
    a2.legend(fontsize=7, loc="best")
    return _png(fig)


def _fig_predictions(story: Story, plt) -> bytes | None:
    f = story.final
    if f is None or not f.predictions or isinstance(f.predictions[0]["mean"], list):
        return None
    fig, ax = plt.subplots(figsize=(6, 3.4))
    rows = f.predictions
    xs = list(range(len(rows)))
    mean = [r["mean"] for r in rows]
    nan = float("nan")  # a mean the data do not identify has no interval: no bar
    lo = [nan if r["lower"] is None else r["mean"] - r["lower"] for r in rows]
    hi = [nan if r["upper"] is None else r["upper"] - r["mean"] for r in rows]
    ax.errorbar(xs, mean, yerr=[lo, hi], fmt="o", capsize=4, label="fitted mean and CI")
    ax.plot(xs, [r["observed"] for r in rows], "x", color="tab:red", label="observed")
    ax.set_xticks(xs, [f"case {r['row']}" for r in rows], fontsize=8)
    ax.set_ylabel("P(y = 1)" if story.family in ("bernoulli", "binomial") else "fitted mean")
    ax.set_title(f"{round(100 * f.level)}% confidence intervals (delta method)", fontsize=10)
    ax.legend(fontsize=8)
    return _png(fig)


def _fig_partial_dependence(story: Story, plt) -> bytes | None:
    fig = draw_story_partial_dependence(story.effects, story.family, plt)
    return None if fig is None else _png(fig)


def _fig_store(story: Story, plt) -> bytes | None:
    st = story.store
    jobs = [] if st is None else [j for j in st.jobs if j.get("solutions")]
    if not jobs:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for j in jobs:
        objs = sorted(s["objective"] for s in j["solutions"] for _ in range(s["count"]))
        ax.plot(range(1, len(objs) + 1), objs, "o-", ms=3, label=f"job {j['job_id'][:8]}")
    ax.set_xlabel("start (sorted by objective)")
    ax.set_ylabel("objective")
    ax.legend(fontsize=7)
    return _png(fig)


_FIGURES: dict[str, tuple[str, str, Callable]] = {
    "glm": ("glm", "Logistic regression: every start ends at one objective; the Hessian's "
            "eigenvalues are all positive.", _fig_glm),
    "network_starts": ("network", "Network: final objective of every start, coloured by "
                       "distinct solution; Hessian eigenvalues per solution.", _fig_network_starts),
    "network_convexity": ("network", "Left: the objective along the segment from a solution to "
                          "its twin (equal ends, higher midpoint: not convex). Right: the path "
                          "between the two best distinct solutions.", _fig_network_convexity),
    "racing": ("path", "The weight norm along L-BFGS iterations from one start, without a "
               "penalty and with weight decay.", _fig_racing),
    "path": ("path", "The weight-decay path: weight norm, training and cross-validated "
             "deviance; vertical lines mark the chosen penalties.", _fig_path),
    "predictions": ("final", "Fitted probabilities with confidence intervals for a few cases.",
                    _fig_predictions),
    "partial_dependence": ("effects", "Partial dependence of the fitted mean on the strongest "
                           "input, with pointwise delta-method bands.", _fig_partial_dependence),
    "store": ("store", "Objectives of the stored starts.", _fig_store),
}  # fmt: skip


def figures(story: Story) -> dict[str, bytes]:
    """The story's plots as PNG bytes, by name (only those the story has data for)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    for name, (_, _, draw) in _FIGURES.items():
        png = draw(story, plt)
        if png is not None:
            out[name] = png
    return out


# --- HTML ----------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1000px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
caption { text-align: left; font-weight: bold; padding: .3em 0; }
ul.findings li { margin: .35em 0; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: .9em; color: #555; }
.note { color: #555; font-size: .9em; }
"""

_SCRIPT = """
window.addEventListener("load", function () {
  var out = [];
  document.querySelectorAll("img.plot").forEach(function (img) {
    var r = img.getBoundingClientRect();
    out.push({name: img.dataset.name, complete: img.complete,
              naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
              width: r.width, height: r.height});
  });
  document.getElementById("render-check").textContent = JSON.stringify(out);
});
"""


def _e(text: Any) -> str:
    return html.escape(str(text))


def _html_table(title: str, columns: list[str], rows: list[list[str]], keys=None) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = []
    for i, r in enumerate(rows):
        cells = []
        for j, c in enumerate(r):
            key = keys(i, j) if keys is not None else None
            attr = f' data-key="{_e(key)}"' if key else ""
            cells.append(f"<td{attr}>{_e(c)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<table><caption>{_e(title)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _coef_keys(prefix: str, coefficients: list[dict]):
    names = [c["name"] for c in coefficients]
    col = {1: "coef", 2: "se"}

    def keys(i: int, j: int) -> str | None:
        return f"{prefix}.{col[j]}.{names[i]}" if j in col else None

    return keys


def render_story_html(story: Story, pngs: dict[str, bytes] | None = None) -> str:
    """One self-contained HTML page: findings, key numbers, tables and embedded plots.

    Parameters
    ----------
    story : Story
    pngs : dict, optional
        Plots already drawn by :func:`figures` (drawn here otherwise).
    """
    pngs = figures(story) if pngs is None else pngs
    tables = _tables(story)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>nnmle report: {_e(story.source)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Maximum likelihood for a neural network, honestly: {_e(story.source)}</h1>",
        "<p>Network weights can be estimated by maximum likelihood, but the estimate is not "
        "unique, the objective is not convex, unpenalized weights run away, and penalties help "
        "prediction without restoring identifiability. Each section shows one step on these "
        "data.</p>",
    ]
    keys = key_numbers(story)
    rows = "".join(
        f'<tr><td>{_e(KEY_LABELS.get(k, k))}</td><td data-key="{_e(k)}">{_e(fmt(v))}</td></tr>'
        for k, v in keys.items()
    )
    parts.append(
        f'<section id="key-numbers"><h2>Key numbers</h2><table><thead><tr><th>quantity</th>'
        f"<th>value</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )
    number = 0
    for key, title in _titles(story).items():
        if key not in story.findings:
            continue
        number += 1
        parts.append(f'<section id="{key}"><h2>{number}. {_e(title)}</h2><ul class="findings">')
        parts += [f"<li>{_e(s)}</li>" for s in story.findings[key]]
        parts.append("</ul>")
        for k, (title_t, cols, trows) in enumerate(tables.get(key, [])):
            kf = None
            if key == "glm" and k == 0 and story.glm is not None:
                kf = _coef_keys("glm", story.glm.coefficients)
            if key == "final" and k == 0 and story.final is not None:
                kf = _coef_keys("final", story.final.coefficients)
            parts.append(_html_table(title_t, cols, trows, kf))
        for name, (section, caption, _) in _FIGURES.items():
            if section == key and name in pngs:
                data = base64.b64encode(pngs[name]).decode("ascii")
                parts.append(
                    f'<figure><img class="plot" data-name="{name}" alt="{_e(caption)}" '
                    f'src="data:image/png;base64,{data}"><figcaption>{_e(caption)}'
                    f"</figcaption></figure>"
                )
        parts.append("</section>")
    if story.final is not None and story.final.notes:
        parts.append('<section id="notes"><h2>Notes</h2><ul class="note">')
        parts += [f"<li>{_e(n)}</li>" for n in story.final.notes]
        parts.append("</ul></section>")
    parts.append('<section id="about"><h2>How this was computed</h2><ul class="note">')
    parts += [f"<li>{_e(n)}</li>" for n in story.notes]
    if story.settings:
        parts.append(f"<li>settings: {_e(json.dumps(story.settings))}</li>")
    if story.timings:
        t = ", ".join(f"{k} {v:.1f} s" for k, v in story.timings.items())
        parts.append(f"<li>time: {_e(t)}</li>")
    parts.append("<li>objective = sum of negative log-likelihoods + l2 * sum of squared "
                 "weights (biases unpenalized); every number is in results.json.</li>")  # fmt: skip
    parts.append("</ul></section>")
    parts.append('<pre id="render-check" hidden>pending</pre>')
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts)


def write_report(story: Story, directory, figures_dir: bool = False) -> dict[str, Path]:
    """Write ``report.html`` (self-contained) and ``results.json`` into ``directory``.

    Parameters
    ----------
    story : Story
    directory : str or path-like
        Created when missing.
    figures_dir : bool
        Also write each plot as ``figures/<name>.png`` (for documentation).

    Returns
    -------
    dict
        ``{"html": path, "json": path}`` plus ``"figure:<name>"`` entries.
    """
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = figures(story)
    paths = {"html": out_dir / "report.html", "json": out_dir / "results.json"}
    paths["html"].write_text(render_story_html(story, pngs), encoding="utf-8")
    doc = {**story.to_dict(), "key_numbers": key_numbers(story)}
    paths["json"].write_text(json.dumps(doc, indent=1, allow_nan=False), encoding="utf-8")
    if figures_dir:
        fig_dir = out_dir / "figures"
        os.makedirs(fig_dir, exist_ok=True)
        for name, png in pngs.items():
            paths[f"figure:{name}"] = fig_dir / f"{name}.png"
            paths[f"figure:{name}"].write_bytes(png)
    return paths
