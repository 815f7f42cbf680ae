"""The ``nnmle`` command line. It uses the public API only.

Each subcommand is a function ``cmd_<name>(args) -> int``; data options are
shared (:func:`add_data_options`, :func:`load_data`). Errors in the user's
input print one clear line on stderr and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["main"]

DATASETS = {
    "breast_cancer": ("load_breast_cancer", "bernoulli"),
    "diabetes": ("load_diabetes", "gaussian"),
    "iris": ("load_iris", "multinomial"),
    "wine": ("load_wine", "multinomial"),
}


@dataclass
class LoadedData:
    """What a subcommand fits: arrays, or a formula with its data frame."""

    X: Any
    y: Any
    data: Any
    family: str
    source: str


def add_data_options(p: argparse.ArgumentParser, default_dataset: str | None = None) -> None:
    """Options shared by every subcommand that fits: data, architecture, penalty, starts."""
    g = p.add_argument_group("data")
    g.add_argument("data_file", nargs="?", metavar="DATA.csv", help="a CSV file with a header")
    g.add_argument(
        "--dataset",
        choices=sorted(DATASETS),
        default=default_dataset,
        help="a scikit-learn bundled dataset instead of a file",
    )
    g.add_argument("--formula", help='Wilkinson formula, e.g. "y ~ x1 + C(g)" or "y ~ ."')
    g.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="standardize numeric inputs (default: on for --dataset, off for files)",
    )
    m = p.add_argument_group("model")
    m.add_argument(
        "--hidden",
        type=_int_tuple,
        default=None,
        help="units per layer: 10 or 10,5; 0 = GLM (default 10; 5 in the demo)",
    )
    m.add_argument("--activation", default="tanh", help="tanh, logistic, relu, softplus, identity")
    m.add_argument("--family", help="gaussian, bernoulli, binomial, poisson, multinomial")
    m.add_argument("--skip", action="store_true", help="skip-layer connections (R nnet)")
    m.add_argument("--l2", type=float, default=0.0, help="weight decay: l2 * sum(w^2)")
    m.add_argument("--l1", type=float, default=0.0, help="lasso: l1 * sum(|w|)")
    m.add_argument("--penalize-bias", action="store_true", help="penalize biases (R nnet)")
    m.add_argument("--restarts", type=int, default=1, help="number of random starts")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--tol", type=float, default=1e-6, help="gradient-norm tolerance")
    m.add_argument("--max-iter", type=int, default=5000)
    m.add_argument("--init", default="uniform", choices=["uniform", "glorot"])
    e = p.add_argument_group("execution")
    e.add_argument(
        "--store",
        help="SQLite campaign store: finished starts are kept, reruns resume "
        "(default: nnmle-store.sqlite in the output directory, if the command has one)",
    )
    e.add_argument("--workers", type=int, help="run starts on a local Dask cluster of N processes")
    e.add_argument("--scheduler", help="run starts on a Dask cluster, e.g. tcp://HOST:8786")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def hidden_layers(args, default: tuple[int, ...] = (10,)) -> tuple[int, ...]:
    """The ``--hidden`` option, or the subcommand's default when it was not given."""
    return default if args.hidden is None else args.hidden


def _int_tuple(text: str) -> tuple[int, ...]:
    try:
        vals = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 10 or 10,5; got {text!r}"
        ) from None
    return () if vals in ((), (0,)) else vals


def load_data(args) -> LoadedData:
    """Read the data named by the options: a CSV file or a bundled dataset."""
    import pandas as pd

    if args.data_file and args.dataset:
        raise ValueError("Give either DATA.csv or --dataset, not both.")
    if args.data_file:
        try:
            df = pd.read_csv(args.data_file)
        except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise ValueError(f"Could not read {args.data_file!r} as CSV: {exc}") from None
        if not args.formula:
            raise ValueError(
                "A CSV file needs --formula naming the response, e.g. --formula 'y ~ .'."
            )
        if args.standardize:
            df = _standardize_frame(df, response=args.formula.split("~")[0].strip())
        return LoadedData(args.formula, None, df, args.family or "bernoulli", args.data_file)
    name = args.dataset or "breast_cancer"
    loader, family = DATASETS[name]
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader)(as_frame=True)
    X = bunch.data.rename(
        columns=lambda c: str(c).replace(" ", "_").replace("(", "").replace(")", "")
    )
    if args.standardize is not False:
        X = (X - X.mean()) / X.std(ddof=0)
    y = bunch.target.to_numpy()
    if args.formula:
        df = X.assign(target=y)
        return LoadedData(args.formula, None, df, args.family or family, name)
    return LoadedData(X, y, None, args.family or family, name)


def _standardize_frame(df, response: str):
    num = [c for c in df.columns if c != response and df[c].dtype.kind in "if"]
    out = df.copy()
    out[num] = (df[num] - df[num].mean()) / df[num].std(ddof=0)
    return out


def store_path(args) -> str | None:
    """``--store``, or by default ``nnmle-store.sqlite`` in the output directory
    (``--plots DIR`` / ``--report DIR``) when the command has one."""
    if getattr(args, "store", None):
        return args.store
    out_dir = getattr(args, "plots", None) or getattr(args, "report", None)
    if not out_dir:
        return None
    from nnmle.starts import default_store_path

    os.makedirs(out_dir, exist_ok=True)
    return str(default_store_path(out_dir))


@contextmanager
def execution(args):
    """Keyword arguments for where starts run and are kept (``store=``, ``executor=``)."""
    extra: dict[str, Any] = {}
    store = store_path(args)
    if store:
        extra["store"] = store
    workers = getattr(args, "workers", None)
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be a positive integer; got {workers}.")
    if workers is not None or getattr(args, "scheduler", None):
        from nnmle.starts import DaskExecutor, dask_client

        with dask_client(scheduler=args.scheduler, n_workers=args.workers) as client:
            yield {**extra, "executor": DaskExecutor(client)}
        return
    yield extra


def fit_from_args(args, progress: Callable | None = None):
    """Fit the model the options describe (the public :func:`nnmle.fit`)."""
    import nnmle

    d = load_data(args)
    kwargs = dict(
        hidden=hidden_layers(args),
        activation=args.activation,
        family=d.family,
        l2=args.l2,
        l1=args.l1,
        penalize_bias=args.penalize_bias,
        skip=args.skip,
        n_restarts=args.restarts,
        seed=args.seed,
        tol=args.tol,
        max_iter=args.max_iter,
        init=args.init,
    )
    if progress is not None:
        kwargs["on_result"] = progress
    with execution(args) as extra:  # d.y is None for a formula, d.data None for arrays
        return nnmle.fit(d.X, d.y, data=d.data, **kwargs, **extra), d


def _progress(args, total: int, label: str):
    """A rich progress bar on stderr (nothing on stdout), or a no-op context."""
    from contextlib import nullcontext

    if total <= 1 or not sys.stderr.isatty():
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _with_progress(args, label: str, run: Callable):
    total = getattr(args, "restarts", 1)
    with _progress(args, total, label) as bar:
        if bar is None:
            return run(None)
        task = bar.add_task(label, total=total)
        return run(lambda _res: bar.advance(task))


def cmd_fit(args) -> int:
    """``nnmle fit``: fit and print the summary (or the JSON object)."""
    res, _ = _with_progress(args, "fitting starts", lambda cb: fit_from_args(args, cb))
    if args.json:
        out = res.to_dict()
        if args.se:
            out["weights"] = res.infer(se=args.se, level=args.level).table()
            out["se_type"] = args.se
        print(json.dumps(out))
    else:
        print(res.summary(se=args.se, level=args.level))
    return 0


def _grid(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(
            f"A penalty grid is comma-separated numbers such as 0,0.001,0.01,0.1; got {text!r}."
        ) from None


def cmd_path(args) -> int:
    """``nnmle path``: a regularization path with CV and the evidence; writes the plot."""
    import nnmle
    from nnmle.regularization import path_report
    from nnmle.report import plot_path, render_path

    l2_grid, l1_grid = _grid(args.l2_grid), _grid(args.l1_grid)
    if (l2_grid is None) == (l1_grid is None):
        raise ValueError("Give exactly one of --l2-grid or --l1-grid, e.g. --l2-grid 0,0.01,0.1,1.")
    d = load_data(args)
    kwargs = dict(
        hidden=hidden_layers(args), activation=args.activation, family=d.family,
        l2=l2_grid if l2_grid is not None else args.l2,
        l1=l1_grid if l1_grid is not None else args.l1,
        penalize_bias=args.penalize_bias, skip=args.skip, cv=args.cv, select=args.select,
        n_restarts=args.restarts, seed=args.seed, tol=args.tol, max_iter=args.max_iter,
        init=args.init,
    )  # fmt: skip
    p = nnmle.path(d.X, d.y, data=d.data, **kwargs)
    plot = plot_path(p, args.plot) if args.plot else None
    if args.json:
        print(json.dumps({**path_report(p), "plot": plot}))
    else:
        print(render_path(p))
        if plot:
            print(f"plot written to {plot}")
    return 0


def cmd_symmetry(args) -> int:
    """``nnmle symmetry``: group order, canonical weights, twins, identifiability report."""
    from nnmle.identifiability import symmetry_report
    from nnmle.report import render_symmetry_report

    res, _ = _with_progress(args, "fitting starts", lambda cb: fit_from_args(args, cb))
    report = symmetry_report(res, n_twins=args.twins, seed=args.seed)
    print(json.dumps(report) if args.json else render_symmetry_report(report))
    return 0


def cmd_landscape(args) -> int:
    """``nnmle landscape``: a multi-start campaign deduplicated modulo symmetry."""
    import nnmle
    from nnmle.multistart import landscape_report
    from nnmle.report import campaign_plots, render_landscape

    d = load_data(args)
    kwargs = dict(
        hidden=hidden_layers(args), activation=args.activation, family=d.family, l2=args.l2,
        l1=args.l1, penalize_bias=args.penalize_bias, skip=args.skip, n_starts=args.starts,
        seed=args.seed, tol=args.tol, max_iter=args.max_iter, init=args.init,
    )  # fmt: skip
    args.restarts = args.starts  # the progress bar's total

    def run(progress):
        with execution(args) as extra:
            if progress is not None:
                extra["on_result"] = progress
            return nnmle.multistart(d.X, d.y, data=d.data, **kwargs, **extra)

    campaign = _with_progress(args, "starts", run)
    plots = campaign_plots(campaign, args.plots) if args.plots else []
    if args.json:
        print(json.dumps({**landscape_report(campaign), "plots": [str(p) for p in plots]}))
    else:
        print(render_landscape(campaign))
        for p in plots:
            print(f"plot written to {p}")
    return 0


def cmd_demo(args) -> int:
    """``nnmle demo``: the whole story on real data (GLM, network, symmetry, convexity,
    weight decay, inference), in the terminal and optionally as an HTML report."""
    import time

    from nnmle.report import DEFAULT_INPUTS, compute_story, progress_bar

    t0 = time.perf_counter()
    d = load_data(args)
    hidden = hidden_layers(args, default=(5,))
    with progress_bar(enabled=not args.json) as cb:
        story = compute_story(
            d.X,
            d.y,
            data=d.data,
            family=d.family,
            hidden=hidden,
            activation=args.activation,
            inputs=None if d.data is not None else DEFAULT_INPUTS.get(d.source),
            n_starts=args.starts,
            seed=args.seed,
            source=d.source,
            store=store_path(args),
            progress=cb,
        )
    _show_story(story, args)
    if not args.json:
        print(f"demo finished in {time.perf_counter() - t0:.1f} s")
    return 0


def _show_story(story, args) -> None:
    """Write the report files asked for, then print the story (or its JSON object)."""
    from nnmle.report import render_story_text, write_report

    paths = write_report(story, args.report) if args.report else {}
    if args.json:
        print(json.dumps(story.to_dict()))
        return
    print(render_story_text(story))
    for kind, path in paths.items():
        print(f"{kind} written to {path}")


def cmd_report(args) -> int:
    """``nnmle report STORE``: render the report from a campaign store, without refitting."""
    from nnmle.report import story_from_store

    _show_story(story_from_store(args.store_file), args)
    return 0


COMMANDS: dict[str, tuple[Callable[[Any], int], str, str | None]] = {
    "fit": (cmd_fit, "fit a network by maximum (penalized) likelihood", None),
    "symmetry": (
        cmd_symmetry,
        "fit, then show the symmetry group, twins and identifiability",
        None,
    ),
    "landscape": (
        cmd_landscape,
        "multi-start campaign: distinct solutions, Hessians, barriers",
        None,
    ),
    "path": (cmd_path, "regularization path: CV, evidence, effective df", None),
    "demo": (
        cmd_demo,
        "the whole story on bundled data (or a CSV), with a report",
        "breast_cancer",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="nnmle",
        description="Maximum-likelihood estimation of neural-network weights, honestly.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text, default_dataset) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_data_options(p, default_dataset)
        if name == "demo":
            p.add_argument("--starts", type=int, default=20, help="random starts of the network")
            p.add_argument("--report", metavar="DIR", help="write report.html and results.json")
        if name == "fit":
            p.add_argument(
                "--se",
                choices=["hessian", "sandwich", "bootstrap"],
                help="standard errors, z, p and intervals (where the weights are identified)",
            )
            p.add_argument("--level", type=float, default=0.95, help="confidence level")
        if name == "path":
            p.add_argument("--l2-grid", help="comma-separated l2 values, e.g. 0,0.001,0.01,0.1,1")
            p.add_argument("--l1-grid", help="comma-separated l1 values")
            p.add_argument("--cv", type=int, default=5, help="folds of cross-validation")
            p.add_argument("--select", default="cv_min", choices=["cv_min", "cv_1se", "evidence"])
            p.add_argument("--plot", default="nnmle_path.png", help="where to write the plot")
        if name == "landscape":
            p.add_argument("--starts", type=int, default=20, help="number of random starts")
            p.add_argument("--plots", metavar="DIR", help="write PNG plots to DIR")
        if name == "symmetry":
            p.add_argument("--twins", type=int, default=3, help="random twins to show")
    rep = sub.add_parser(
        "report",
        help="render the report from a campaign store without refitting",
        description="Render the report from a campaign store (nnmle demo --store FILE) "
        "without refitting.",
    )
    rep.add_argument("store_file", metavar="STORE", help="a campaign store (SQLite file)")
    rep.add_argument("--report", metavar="DIR", help="write report.html and results.json")
    rep.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nnmle`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = cmd_report if args.command == "report" else COMMANDS[args.command][0]
    try:
        with warnings.catch_warnings():
            if getattr(args, "json", False):
                warnings.simplefilter("ignore")  # nothing but the JSON object on stdout
            return func(args)
    except ValueError as exc:
        print(f"nnmle {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `nnmle fit ... | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
