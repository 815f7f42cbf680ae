"""The ``nnmle`` command line. It uses the public API only.

Each subcommand is a function ``cmd_<name>(args) -> int``; data options are
shared (:func:`add_data_options`, :func:`load_data`). Errors in the user's
input print one clear line on stderr and exit with status 2, never a traceback;
flags are checked by their own types (``--starts must be a positive integer``),
warnings print as one line (``nnmle: warning: ...``), and files are written
only where an option asks for them (``--save``, ``--plot``, ``--plots``,
``--report``, ``--store``, ``--output``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    columns: dict = field(default_factory=dict)  # weights=/offset=/exposure= column names
    scaling: dict = field(default_factory=dict)  # column -> (center, scale) of --standardize


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``nnmle fit: error: argument --starts: must be ...``."""

    def error(self, message):
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help with the defaults shown, except empty ones (None, False)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or action.help is None:
            return action.help
        if action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def _number(kind: type, low: float, what: str, inclusive: bool = True, high: float | None = None):
    """An argparse type: a number of ``kind`` above ``low`` (and below ``high``), said plainly."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        ok = value is not None and (value >= low if inclusive else value > low)
        if ok and high is not None:
            ok = value < high
        if not ok:
            raise argparse.ArgumentTypeError(f"must be {what}; got {text}")
        return value

    return parse


_POSITIVE_INT = _number(int, 1, "a positive integer")
_NON_NEGATIVE = _number(float, 0.0, "a number >= 0")
_POSITIVE = _number(float, 0.0, "a number > 0", inclusive=False)
_LEVEL = _number(float, 0.0, "a number in (0, 1)", inclusive=False, high=1.0)


class _Deprecated(argparse.Action):
    """A deprecated alias of another flag: sets its destination and warns once."""

    def __init__(self, option_strings, dest, new: str = "", **kwargs):
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        warnings.warn(
            f"{option_string} is deprecated and will be removed in the next release; use "
            f"{self.new} (the same number of random starts).",
            FutureWarning,
            stacklevel=2,
        )
        setattr(namespace, self.dest, values)


def add_data_options(
    p: argparse.ArgumentParser, default_dataset: str | None = None, starts: int = 1
) -> None:
    """Options shared by every subcommand that fits: data, architecture, penalty, starts."""
    from nnmle.families import FAMILIES
    from nnmle.networks import ACTIVATIONS

    g = p.add_argument_group("data")
    g.add_argument("data_file", nargs="?", metavar="DATA.csv", help="a CSV file with a header")
    g.add_argument(
        "--dataset",
        choices=sorted(DATASETS),
        default=default_dataset,
        help="a scikit-learn bundled dataset instead of a file",
    )
    g.add_argument(
        "--formula",
        help='Wilkinson formula, e.g. "y ~ x1 + C(g)", "y ~ ." or "y ~ x + offset(log(t))"',
    )
    g.add_argument("--weights", metavar="COL", help="case weights from this column")
    g.add_argument("--offset", metavar="COL", help="offset added to the linear predictor")
    g.add_argument(
        "--exposure", metavar="COL", help="exposure column: offset log(COL) (log-link families)"
    )
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
        help="units per layer: 10 or 10,5; 0 = GLM (default: 10; 5 in the demo)",
    )
    m.add_argument("--activation", default="tanh", choices=ACTIVATIONS, help="hidden units")
    m.add_argument(
        "--family",
        choices=list(FAMILIES),
        help="likelihood (default: the dataset's; for a CSV, inferred from y when unambiguous)",
    )
    m.add_argument("--skip", action="store_true", help="skip-layer connections (R nnet)")
    m.add_argument("--l2", type=_NON_NEGATIVE, default=0.0, help="weight decay: l2 * sum(w^2)")
    m.add_argument("--l1", type=_NON_NEGATIVE, default=0.0, help="lasso: l1 * sum(|w|)")
    m.add_argument("--penalize-bias", action="store_true", help="penalize biases (R nnet)")
    m.add_argument(
        "--starts", type=_POSITIVE_INT, default=starts,
        help="random starts (more than 10000 are streamed in bounded memory)",
    )  # fmt: skip
    m.add_argument(
        "--restarts", dest="starts", type=_POSITIVE_INT, action=_Deprecated, new="--starts",
        help="deprecated alias of --starts",
    )  # fmt: skip
    m.add_argument("--seed", type=_number(int, 0, "an integer >= 0"), default=0, help="seed")
    m.add_argument("--tol", type=_POSITIVE, default=1e-6, help="gradient-norm tolerance")
    m.add_argument("--max-iter", type=_POSITIVE_INT, default=5000, help="iterations per start")
    m.add_argument("--init", default="uniform", choices=["uniform", "glorot"], help="draws")
    e = p.add_argument_group("execution")
    e.add_argument(
        "--store",
        help="SQLite campaign store: finished starts are kept, reruns resume "
        "(default: nnmle-store.sqlite in the output directory, if the command has one)",
    )
    e.add_argument(
        "--workers", type=_POSITIVE_INT, help="run starts on a local Dask cluster of N processes"
    )
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
        response = args.formula.split("~")[0].strip()
        scaling = {}
        if args.standardize:
            df, scaling = _standardize_frame(df, response, _columns(args).values())
        family = args.family or _infer_family(df, response)
        return LoadedData(args.formula, None, df, family, args.data_file, _columns(args), scaling)
    name = args.dataset or "breast_cancer"
    loader, family = DATASETS[name]
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader)(as_frame=True)
    X = bunch.data.rename(
        columns=lambda c: str(c).replace(" ", "_").replace("(", "").replace(")", "")
    )
    scaling = {}
    if args.standardize is not False:
        X, scaling = _standardize_frame(X, None, ())
    y = bunch.target.to_numpy()
    if args.formula:
        df = X.assign(target=y)
        family = args.family or family
        return LoadedData(args.formula, None, df, family, name, _columns(args), scaling)
    return LoadedData(X, y, None, args.family or family, name, _columns(args), scaling)


def _columns(args) -> dict:
    """``weights=`` / ``offset=`` / ``exposure=`` column names given on the command line."""
    names = {k: getattr(args, k, None) for k in ("weights", "offset", "exposure")}
    return {k: v for k, v in names.items() if v}


def _infer_family(df, response: str) -> str:
    """The family a CSV's response suggests (:func:`nnmle.families.infer_family`)."""
    from nnmle.families import infer_family

    if response not in df.columns:
        raise ValueError(
            f"Cannot infer the family from the response {response!r} (not a column of the CSV). "
            f"Fix: give --family, e.g. --family gaussian."
        )
    return infer_family(df[response], name=f"The response column {response!r}")


def _standardize_frame(df, response: str | None, keep):
    """Numeric inputs centered and scaled (sd with ddof=0), and the scaling used."""
    skip = {response, *keep}
    num = [c for c in df.columns if c not in skip and df[c].dtype.kind in "if"]
    out = df.copy()
    center, scale = df[num].mean(), df[num].std(ddof=0)
    scale = scale.where(scale > 0, 1.0)
    out[num] = (df[num] - center) / scale
    return out, {str(c): (float(center[c]), float(scale[c])) for c in num}


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
        n_starts=args.starts,
        seed=args.seed,
        tol=args.tol,
        max_iter=args.max_iter,
        init=args.init,
        **d.columns,
    )
    if progress is not None:
        kwargs["on_result"] = progress
    with execution(args) as extra:  # d.y is None for a formula, d.data None for arrays
        res = nnmle.fit(d.X, d.y, data=d.data, **kwargs, **extra)
    if d.scaling:  # raw data given to the saved model are standardized alike
        design = dataclasses.replace(res.design, scaling=d.scaling)
        res = dataclasses.replace(res, design=design)
    return res, d


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
    total = getattr(args, "starts", 1)
    with _progress(args, total, label) as bar:
        if bar is None:
            return run(None)
        task = bar.add_task(label, total=total)
        return run(lambda _res: bar.advance(task))


def cmd_fit(args) -> int:
    """``nnmle fit``: fit and print the summary (or the JSON object); ``--effects`` adds the
    average marginal effects and the Wald tests per term, ``--anova`` the likelihood-ratio
    tests by refitting without each term."""
    res, _ = _with_progress(args, "fitting starts", lambda cb: fit_from_args(args, cb))
    saved = str(res.save(args.save)) if args.save else None
    effects = anova = None
    if args.effects:
        se = args.se or "hessian"
        effects = (res.get_margeff(se=se), res.wald_test_terms(se=se))
    if args.anova:
        import nnmle

        anova = nnmle.anova(res, method=args.anova, seed=args.seed)
    if args.json:
        out = res.to_dict()
        if args.se:
            out["weights"] = res.infer(se=args.se, level=args.level).table()
            out["se_type"] = args.se
        if effects is not None:
            out["effects"] = effects[0].to_dict()
            out["term_tests"] = effects[1].to_dict()
        if anova is not None:
            out["anova"] = anova.to_dict()
        if saved:
            out["model"] = saved
        print(json.dumps(_finite(out)))
        return 0
    print(res.summary(se=args.se or "hessian", level=args.level))  # std errors by default
    if saved:
        print(f"model written to {saved}")
    if effects is not None or anova is not None:
        from nnmle.report import render_anova, render_margins, render_term_tests

        if effects is not None:
            print()
            print(render_margins(effects[0]))
            print()
            print(render_term_tests(effects[1]))
        if anova is not None:
            print()
            print(render_anova(anova))
    return 0


def cmd_predict(args) -> int:
    """``nnmle predict MODEL DATA.csv``: predictions of a saved model for raw data (CSV out)."""
    import numpy as np
    import pandas as pd

    import nnmle

    res = nnmle.load(args.model)
    try:
        df = pd.read_csv(args.data_file)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"Could not read {args.data_file!r} as CSV: {exc}") from None
    if args.interval:
        pi = res.predict(df, interval=args.interval, level=args.level)
        cols = {"mean": pi.mean, "lower": pi.lower, "upper": pi.upper}
        if np.ndim(pi.mean) == 2:
            raise ValueError(
                "--interval gives one interval per row for a single output; this model has "
                f"{np.shape(pi.mean)[1]}. Fix: drop --interval."
            )
    else:
        mu = res.predict(df)
        if np.ndim(mu) == 2:
            labels = res.classes or res.design.output_names
            cols = {f"{'P(' if res.classes else ''}{c}{')' if res.classes else ''}": mu[:, j]
                    for j, c in enumerate(labels)}  # fmt: skip
        else:
            cols = {"mean": mu}
    out = pd.DataFrame(cols)
    if args.output:
        out.to_csv(args.output, index=False)
        if not args.json:
            print(f"{len(out)} predictions written to {args.output}")
    if args.json:
        print(json.dumps({"predictions": out.to_dict(orient="list"), "output": args.output}))
    elif not args.output:
        print(out.to_csv(index=False), end="")
    return 0


def _finite(value):
    """JSON-ready: non-finite floats become ``None``."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


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
        n_starts=args.starts, seed=args.seed, tol=args.tol, max_iter=args.max_iter,
        init=args.init, **d.columns,
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
        seed=args.seed, tol=args.tol, max_iter=args.max_iter, init=args.init, **d.columns,
    )  # fmt: skip

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
    if d.columns:
        raise ValueError(
            f"demo does not use {', '.join('--' + k for k in d.columns)}. Fix: drop them, or "
            f"run nnmle fit with them."
        )
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


def _run_sampled(args, label: str, fn):
    """``fn(progress)`` under a progress bar fed by ``([name,] done, total, ...)`` callbacks."""
    with _progress(args, 2, label) as bar:
        task = None if bar is None else bar.add_task(label, total=1)

        def cb(*a):
            i = 1 if isinstance(a[0], str) else 0
            if bar is not None:
                bar.update(task, completed=a[i], total=a[i + 1])

        return fn(cb)


def cmd_lc(args) -> int:
    """``nnmle lc``: fit, then the local learning coefficient against BIC's d/2 (``--criteria``:
    AIC, BIC, lambda-hat, WBIC and WAIC side by side)."""
    import nnmle
    from nnmle.report import render_information_criteria, render_learning_coefficient

    res, _ = _with_progress(args, "fitting starts", lambda cb: fit_from_args(args, cb))
    opts = {k: v for k, v in vars(args).items() if k in _SAMPLING and v is not None}
    if args.criteria:
        out = _run_sampled(args, "sampling", lambda cb: res.information_criteria(
            progress=cb, seed=args.seed, **opts))  # fmt: skip
    else:
        out = _run_sampled(args, "sampling", lambda cb: nnmle.learning_coefficient(
            res, beta=args.beta, gamma=args.gamma, seed=args.seed, progress=cb, **opts,
        ))  # fmt: skip
    render = render_information_criteria if args.criteria else render_learning_coefficient
    print(json.dumps(_finite(out.to_dict())) if args.json else render(out))
    return 0


def cmd_select(args) -> int:
    """``nnmle select``: the number of hidden units chosen by AIC, BIC, lambda-hat, WBIC and CV."""
    import nnmle
    from nnmle.report import plot_hidden_selection, render_hidden_selection

    d = load_data(args)
    opts = {k: v for k, v in vars(args).items() if k in _SAMPLING and v is not None}
    sel = _run_sampled(args, "hidden units", lambda cb: nnmle.select_hidden(
        d.X, d.y, data=d.data, hidden=args.widths, activation=args.activation, family=d.family,
        l2=args.l2, weights=d.columns.get("weights"), n_starts=args.starts, cv=args.cv,
        seed=args.seed, tol=args.tol, max_iter=args.max_iter, sampling=opts, progress=cb,
        criteria=(*nnmle.singular.DEFAULT_CRITERIA, *("free_energy",) * args.free_energy),
    ))  # fmt: skip
    plot = plot_hidden_selection(sel, args.plot) if args.plot else None
    text = render_hidden_selection(sel) + (f"\nplot written to {plot}" if plot else "")
    print(json.dumps(_finite({**sel.to_dict(), "plot": plot})) if args.json else text)
    return 0


_SAMPLING = ("chains", "draws", "warmup", "sampler")


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
    "lc": (cmd_lc, "fit, then the local learning coefficient (singular learning theory)", None),
    "select": (cmd_select, "choose the number of hidden units: AIC, BIC, lambda, WBIC, CV", None),
    "demo": (
        cmd_demo,
        "the whole story on bundled data (or a CSV), with a report",
        None,  # breast_cancer unless a CSV is given
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    from nnmle import __version__

    parser = _Parser(
        prog="nnmle",
        description="Maximum-likelihood estimation of neural-network weights, honestly.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"nnmle {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text, default_dataset) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, formatter_class=_Formatter)
        add_data_options(p, default_dataset, starts=20 if name in ("demo", "landscape") else 1)
        if name == "demo":
            p.add_argument("--report", metavar="DIR", help="write report.html and results.json")
        if name == "fit":
            p.add_argument(
                "--se",
                choices=["hessian", "sandwich", "bootstrap"],
                help="standard errors, z, p and intervals where the weights are identified "
                "(the summary shows hessian ones unless told; --json weights gain them with --se)",
            )
            p.add_argument("--level", type=_LEVEL, default=0.95, help="confidence level")
            p.add_argument("--save", metavar="MODEL", help="write the model file (e.g. m.nnmle)")
            p.add_argument(
                "--effects",
                action="store_true",
                help="average marginal effects with intervals and Wald tests per term",
            )
            p.add_argument(
                "--anova",
                nargs="?",
                const="chi2",
                choices=["chi2", "bootstrap"],
                help="likelihood-ratio tests refitting without each term (p-value: chi2, the "
                "default, or a parametric bootstrap)",
            )
        if name == "path":
            p.add_argument("--l2-grid", help="comma-separated l2 values, e.g. 0,0.001,0.01,0.1,1")
            p.add_argument("--l1-grid", help="comma-separated l1 values")
            p.add_argument(
                "--cv", type=_number(int, 2, "an integer >= 2"), default=5, help="CV folds"
            )
            p.add_argument(
                "--select", default="cv_min", choices=["cv_min", "cv_1se", "evidence"],
                help="the rule that picks the penalty",
            )  # fmt: skip
            p.add_argument("--plot", metavar="PNG", help="write the path's plot to this file")
        if name in ("lc", "select"):
            g = p.add_argument_group("posterior sampling (blackjax)")
            g.add_argument("--sampler", choices=["mala", "nuts", "sgld"])
            for opt in ("chains", "draws", "warmup"):
                g.add_argument(f"--{opt}", type=_number(int, 0, "an integer >= 0"))
        if name == "lc":
            p.add_argument("--beta", type=float, help="inverse temperature (default 1/log n)")
            p.add_argument("--gamma", type=float, default=1.0, help="localization strength")
            p.add_argument("--criteria", action="store_true", help="AIC, BIC, WBIC, WAIC too")
        if name == "select":
            p.add_argument("--widths", type=lambda t: list(_int_tuple(t)) or [0],
                           default=[0, 1, 2, 3, 5, 8], help="hidden units to compare")  # fmt: skip
            p.add_argument("--cv", type=_number(int, 2, "an integer >= 2"), default=5)
            p.add_argument("--plot", metavar="PNG", help="write the criteria's plot here")
            p.add_argument("--free-energy", action="store_true",
                           help="add 2 F_n by thermodynamic integration")  # fmt: skip
        if name == "landscape":
            p.add_argument("--plots", metavar="DIR", help="write PNG plots to DIR")
        if name == "symmetry":
            p.add_argument("--twins", type=_POSITIVE_INT, default=3, help="random twins to show")
    pred = sub.add_parser(
        "predict",
        help="predict raw data (CSV) with a saved model",
        description="Predict the rows of a CSV file with a model saved by nnmle fit --save "
        "(a formula model takes the raw columns, as in the fit).",
        formatter_class=_Formatter,
    )
    pred.add_argument("model", metavar="MODEL", help="a model file (nnmle fit --save MODEL)")
    pred.add_argument("data_file", metavar="DATA.csv", help="a CSV file with a header")
    pred.add_argument(
        "--interval", choices=["confidence", "prediction"],
        help="add lower/upper bounds: for the mean, or for a new observation",
    )  # fmt: skip
    pred.add_argument("--level", type=_LEVEL, default=0.95, help="confidence level")
    pred.add_argument("--output", metavar="CSV", help="write the predictions here (else stdout)")
    pred.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    rep = sub.add_parser(
        "report",
        help="render the report from a campaign store without refitting",
        description="Render the report from a campaign store (nnmle demo --store FILE) "
        "without refitting.",
        formatter_class=_Formatter,
    )
    rep.add_argument("store_file", metavar="STORE", help="a campaign store (SQLite file)")
    rep.add_argument("--report", metavar="DIR", help="write report.html and results.json")
    rep.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nnmle`` command."""
    parser = build_parser()
    with warnings.catch_warnings():
        warnings.showwarning = _one_line
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help, --version, or a flag error already printed
            return int(exc.code or 0)
    extra: dict[str, Callable[[Any], int]] = {"report": cmd_report, "predict": cmd_predict}
    func = extra[args.command] if args.command in extra else COMMANDS[args.command][0]
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line
            if getattr(args, "json", False):
                warnings.simplefilter("ignore")  # nothing but the JSON object on stdout
            return func(args)
    except ValueError as exc:
        print(f"nnmle {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `nnmle fit ... | head`
        return 0


def _one_line(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one clean line on stderr: ``nnmle: warning: ...`` (no source line)."""
    text = " ".join(str(message).split())
    text = text[len("nnmle: ") :] if text.startswith("nnmle: ") else text
    print(f"nnmle: warning: {text}", file=file or sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
