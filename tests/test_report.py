"""The demo's story and its reports: numbers true to the computation, checked in a browser.

The story is computed once per module with small settings (few starts, a
two-point penalty grid, 2-fold CV). Its numbers are checked against
independent computations (statsmodels' GLM, the objective at twins and
midpoints), then the HTML report is opened in headless Chromium: every plot
must render with a non-zero size and the key numbers on the page must equal
the story's. A screenshot is kept in ``artifacts/report.png``.
"""

import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.datasets import load_breast_cancer

import nnmle
from nnmle.penalties import Penalty
from nnmle.problem import Problem
from nnmle.report import (
    canonical_table,
    figures,
    progress_bar,
    render_story_html,
    render_story_text,
    write_report,
)
from nnmle.report.story import (
    DEFAULT_INPUTS,
    Story,
    compute_story,
    fmt,
    key_numbers,
    story_from_store,
)
from nnmle.starts import DaskExecutor, LocalExecutor, Store, run_starts, starting_values

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
SMALL = dict(n_starts=4, seed=0, l2_grid=(1.0, 0.1), cv=2, n_twins=2, n_predictions=3)


def _breast_cancer_frame():
    """The bundled data as the CLI loads it: standardized, spaces in names as underscores."""
    bunch = load_breast_cancer(as_frame=True)
    X = bunch.data.rename(columns=lambda c: str(c).replace(" ", "_"))
    return (X - X.mean()) / X.std(ddof=0), bunch.target.to_numpy()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One small story of the breast-cancer data, recorded in a campaign store."""
    X, y = _breast_cancer_frame()
    store = tmp_path_factory.mktemp("store") / "demo.sqlite"
    calls = []
    story = compute_story(
        X,
        y,
        inputs=DEFAULT_INPUTS["breast_cancer"],
        source="breast_cancer",
        store=store,
        progress=lambda step, done, total: calls.append((step, done, total)),
        **SMALL,
    )
    return {"story": story, "X": X, "y": y, "store": store, "calls": calls}


@pytest.fixture(scope="module")
def report(built, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return write_report(built["story"], out)


def _subset(built):
    return built["X"][list(DEFAULT_INPUTS["breast_cancer"])].to_numpy(), built["y"]


# --- the numbers are true to the computation ---------------------------------------------------


def test_all_inputs_separate_the_classes_but_the_three_used_do_not(built):
    sep = built["story"].separation
    assert sep["separated"] is True and sep["n_inputs"] == 30
    assert sep["subset_separated"] is False
    assert "does not exist" in " ".join(built["story"].findings["data"])


def test_glm_section_equals_statsmodels_glm(built):
    g = built["story"].glm
    X, y = _subset(built)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit()
    coefs = {c["name"]: c for c in g.coefficients}
    names = [f"{n}->y" for n in DEFAULT_INPUTS["breast_cancer"]]
    ours_b = np.array([coefs["bias->y"]["value"]] + [coefs[n]["value"] for n in names])
    ours_se = np.array([coefs["bias->y"]["se"]] + [coefs[n]["se"] for n in names])
    np.testing.assert_allclose(ours_b, ref.params, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours_se, ref.bse, rtol=1e-6)
    assert g.loglik == pytest.approx(ref.llf, rel=1e-9)
    assert g.deviance == pytest.approx(ref.deviance, rel=1e-8)
    assert g.aic == pytest.approx(ref.aic, rel=1e-8)


def test_glm_has_one_solution_and_a_positive_definite_hessian(built):
    g = built["story"].glm
    assert g.mle_exists and g.status == "converged"
    assert g.n_solutions == 1 and g.counts == [g.n_starts] == [SMALL["n_starts"]]
    assert np.ptp(g.start_objectives) <= 1e-8 * abs(g.objective)
    assert g.max_coef_spread < 1e-4
    assert g.positive_definite and min(g.hessian_eigenvalues) > 0


def _network_problem(built):
    story = built["story"]
    X, y = _subset(built)
    arch = nnmle.Architecture.build(3, hidden=tuple(story.settings["hidden"]))
    fam = nnmle.get_family("bernoulli")
    Y = np.asarray(y, dtype=float)[:, None]
    return Problem.build(X, Y, np.ones(len(y)), fam, arch, Penalty(l2=story.network.l2))


def test_twins_have_equal_loglik_and_objective_with_other_weights(built):
    n = built["story"].network
    assert n.group_order == 2**5 * 120
    assert len(n.twins) == SMALL["n_twins"]
    for t in n.twins:
        assert t["loglik"] == pytest.approx(n.reference["loglik"], abs=1e-9)
        assert t["objective"] == pytest.approx(n.reference["objective"], abs=1e-9)
        assert t["max_abs_pred_diff"] < 1e-12
        assert t["max_abs_weight_diff"] > 0.1


def test_midpoint_of_two_twins_is_higher_than_both(built):
    c = built["story"].network.certificate
    assert c["holds"] and c["f_theta"] == pytest.approx(c["f_twin"], abs=1e-9)
    assert c["f_midpoint"] > max(c["f_theta"], c["f_twin"]) + 1e-6
    mid = len(c["t"]) // 2
    assert c["t"][mid] == 0.5 and c["values"][mid] == pytest.approx(c["f_midpoint"], rel=1e-12)


def test_network_solutions_are_true_to_the_objective(built):
    story = built["story"]
    n = story.network
    prob = _network_problem(built)
    # the final model is the campaign's best start: its objective is the best solution's
    assert story.final.objective == pytest.approx(n.solutions[0]["objective"], rel=1e-10)
    assert story.final.objective == pytest.approx(n.reference["objective"], rel=1e-10)
    assert sum(s["count"] for s in n.solutions) == n.n_starts == len(n.start_labels)
    assert sorted(set(n.start_labels)) == [s["id"] for s in n.solutions]
    for s in n.solutions:
        if s["class"] in ("strict_min", "degenerate_min"):
            assert s["index"] == 0 and s["lambda_min"] >= -1e-6 * abs(s["lambda_max"])
        if s["class"] == "saddle":
            assert s["index"] > 0
    # the final model's canonical weights give the reported objective
    theta = np.array([c["value"] for c in story.final.coefficients])
    assert prob.objective(theta) == pytest.approx(story.final.objective, rel=1e-10)


def test_weights_race_away_without_a_penalty_and_level_off_with_one(built):
    p = built["story"].path
    u = p.unpenalized
    assert not u["mle_exists"]
    assert u["norms"][-1] > 20 * u["norms"][0]
    assert u["objectives"][-1] < u["objectives"][0]
    assert u["max_abs_weight"] > 1e3
    t = p.penalized_trace
    assert t["norms"][0] == pytest.approx(u["norms"][0])
    assert t["norms"][-1] < u["norms"][-1] / 10
    norms = [r["weight_norm"] for r in p.rows]
    assert norms == sorted(norms)  # largest penalty first: the norm grows as l2 falls
    assert p.selected["cv_min"] in SMALL["l2_grid"]
    assert p.selected["evidence"] in SMALL["l2_grid"]
    assert built["story"].network.l2 == p.selected["cv_min"] == built["story"].final.l2


def test_final_inference_and_prediction_intervals(built):
    f = built["story"].final
    labels = [c["identification"] for c in f.coefficients]
    assert f.n_params == 26 == len(labels)
    assert (f.n_identified, f.n_penalty, f.n_none) == tuple(
        labels.count(k) for k in ("data", "penalty", "none")
    )
    for c in f.coefficients:
        if c["identification"] in ("data", "penalty"):
            assert c["se"] > 0 and c["ci_low"] < c["value"] < c["ci_high"]
        if c["identification"] == "penalty":  # a penalized interval, never a test
            assert c["z"] is None and c["p"] is None and c["interval"] == "penalized"
    assert len(f.predictions) == SMALL["n_predictions"]
    for pr in f.predictions:
        assert 0 <= pr["lower"] <= pr["mean"] <= pr["upper"] <= 1
        assert pr["observed"] in (0, 1)


def test_effects_section_beside_the_glm_with_bands_and_term_tests(built):
    e, story = built["story"].effects, built["story"]
    inputs = list(DEFAULT_INPUTS["breast_cancer"])
    assert [r["effect"] for r in e.network] == inputs == [r["effect"] for r in e.glm]
    for r in e.network + e.glm:  # identified: an interval around every effect
        assert r["ci_low"] < r["value"] < r["ci_high"]
    X, y = _subset(built)  # the GLM's effects are statsmodels' Logit margins
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0).get_margeff()
    np.testing.assert_allclose([r["value"] for r in e.glm], ref.margeff, rtol=1e-4)
    np.testing.assert_allclose([r["se"] for r in e.glm], ref.margeff_se, rtol=1e-4)
    pd_ = e.partial_dependence
    assert pd_["features"][0] in inputs and len(pd_["grid_values"][0]) == 25
    assert all(lo <= a <= hi for lo, a, hi in zip(pd_["ci_low"][0], pd_["average"][0],
                                                   pd_["ci_high"][0], strict=True))  # fmt: skip
    assert [t["term"] for t in e.term_tests] == inputs
    assert e.group_order == story.network.group_order
    assert "identified" in " ".join(story.findings["effects"])


def test_progress_reports_every_step_from_start_to_end(built):
    calls = built["calls"]
    steps = {s for s, _, _ in calls}
    # glm, unpenalized, path, campaign, landscape, final, effects, singular
    assert len(steps) == 8
    for step in steps:
        mine = [(d, t) for s, d, t in calls if s == step]
        assert mine[0][0] == 0
        assert mine[-1][0] == (mine[-1][1] or 1)


def test_story_json_round_trip_renders_the_same(built):
    story = built["story"]
    text = json.dumps(story.to_dict(), allow_nan=False)
    again = Story.from_dict(json.loads(text))
    assert again.to_dict() == story.to_dict()
    assert key_numbers(again) == key_numbers(story)
    assert render_story_text(again) == render_story_text(story)


def test_a_prediction_without_an_interval_is_drawn_and_told_without_one(built):
    """A mean the data do not identify has NaN bounds (None in the story): the figure has no
    bar for it and the findings quote a prediction that has one."""
    import dataclasses

    from nnmle.report.story import findings

    story = built["story"]
    rows = [dict(r) for r in story.final.predictions]
    rows[len(rows) // 2].update(lower=None, upper=None)
    final = dataclasses.replace(story.final, predictions=rows)
    blind = dataclasses.replace(story, final=final)
    assert figures(blind)["predictions"][:4] == b"\x89PNG"
    said = " ".join(findings(blind)["final"])
    assert "Predictions are identified" in said and "None" not in said


def test_text_report_has_findings_and_tables(built):
    story = built["story"]
    text = render_story_text(story, width=200)
    flat = " ".join(text.split())
    for sentences in story.findings.values():
        for s in sentences:
            assert " ".join(s.split()) in flat
    assert "distinct solution(s)" in text and "std err" in text and "CV deviance" in text


# --- the HTML report and the browser ----------------------------------------------------------


def test_report_files_are_self_contained(report, built):
    page = report["html"].read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert page.count('<img class="plot"') == len(figures(built["story"])) == 7
    doc = json.loads(report["json"].read_text())
    assert doc["key_numbers"] == key_numbers(built["story"])
    assert doc["glm"]["coefficients"] == built["story"].glm.coefficients


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (
            ["apt-get", "update"],
            ["apt-get", "install", "-y", "chromium", "chromium-driver"],
        ):
            subprocess.run(cmd, env=env, capture_output=True, timeout=900, check=False)
        path = shutil.which("chromium")
        if path:
            return path
    pytest.skip(
        "headless Chromium is missing and could not be installed (the test installs the Debian "
        "packages chromium and chromium-driver with apt-get when it runs as root); install them "
        "to run the browser check of the HTML report"
    )


def _browser(tmp_path, *args) -> subprocess.CompletedProcess:
    cmd = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--virtual-time-budget=3000", *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


class _Cells(HTMLParser):
    """Text of every element with a ``data-key``, and of every list item."""

    def __init__(self):
        super().__init__()
        self.keys: dict[str, str] = {}
        self.items: list[str] = []
        self._key: str | None = None
        self._li = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-key" in a:
            self._key = a["data-key"]
            self.keys[self._key] = ""
        if tag == "li":
            self._li = True
            self.items.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "span"):
            self._key = None
        if tag == "li":
            self._li = False

    def handle_data(self, data):
        if self._key is not None:
            self.keys[self._key] += data
        if self._li:
            self.items[-1] += data


def test_report_renders_in_a_real_browser(report, built, tmp_path):
    story = built["story"]
    url = report["html"].resolve().as_uri()
    run = _browser(tmp_path, "--dump-dom", url)
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    found = re.search(r'<pre id="render-check"[^>]*>(.*?)</pre>', dom, re.S)
    assert found, "the page's render check did not run"
    checks = json.loads(html.unescape(found.group(1)))
    assert {c["name"] for c in checks} == set(figures(story))
    for c in checks:  # every plot decoded and laid out with a non-zero size
        assert c["complete"] and c["naturalWidth"] > 0 and c["naturalHeight"] > 0, c
        assert c["width"] > 0 and c["height"] > 0, c
    cells = _Cells()
    cells.feed(dom)
    for key, value in key_numbers(story).items():  # the key numbers are on the page
        assert cells.keys[key] == fmt(value), key
        if isinstance(value, float):
            assert float(cells.keys[key]) == pytest.approx(value, rel=1e-5), key
    # the page's GLM standard errors are statsmodels' (to the digits shown)
    X, y = _subset(built)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit()
    for name, se in zip(["bias", *DEFAULT_INPUTS["breast_cancer"]], ref.bse, strict=True):
        assert float(cells.keys[f"glm.se.{name}->y"]) == pytest.approx(se, rel=1e-3)
    items = " ".join(" ".join(i.split()) for i in cells.items)
    for sentences in story.findings.values():
        for s in sentences:
            assert " ".join(s.split()) in items
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    run = _browser(tmp_path, f"--screenshot={shot}", "--window-size=1200,3000", url)
    assert run.returncode == 0 and shot.stat().st_size > 10_000, run.stderr[-2000:]


# --- the campaign store ------------------------------------------------------------------------


def _forbid_fitting(monkeypatch):
    """Every start runs through an executor (nnmle.starts.run_starts): make them all fail."""

    def no_fit(*args, **kwargs):
        raise AssertionError("story_from_store must not fit")

    for executor in (LocalExecutor, DaskExecutor):
        for name in ("run", "map"):
            monkeypatch.setattr(executor, name, no_fit)


def test_story_read_back_from_its_store_without_refitting(built, monkeypatch):
    _forbid_fitting(monkeypatch)
    story = story_from_store(built["store"])
    mine = built["story"].to_dict()
    assert {k: v for k, v in story.to_dict().items() if k != "notes"} == {
        k: v for k, v in mine.items() if k != "notes"
    }
    assert "campaign store" in story.notes[-1]


def test_stored_campaign_is_the_job_that_a_rerun_resumes(built, monkeypatch):
    """The campaign's starts are stored as the job nnmle.multistart(..., store=) would write:
    running the same starts against the store reads them all back, fitting nothing."""
    story = built["story"]
    problem, _ = Problem.from_data(
        built["X"][list(DEFAULT_INPUTS["breast_cancer"])], built["y"],
        hidden=tuple(story.settings["hidden"]), l2=story.network.l2,
    )  # fmt: skip
    thetas0 = starting_values(problem, SMALL["n_starts"], SMALL["seed"])
    _forbid_fitting(monkeypatch)
    starts = run_starts(
        problem, thetas0, store=built["store"],
        config={"seed": SMALL["seed"], "init": "uniform", "rang": 0.7, "init_scale": "data"},
    )  # fmt: skip
    np.testing.assert_allclose(
        [r.objective for r in starts], story.network.start_objectives, rtol=1e-12
    )


def test_store_with_starts_only_gives_a_reduced_story(built, tmp_path, monkeypatch):
    """A store written by other commands holds starts but no story: show what it has."""
    _forbid_fitting(monkeypatch)
    path = tmp_path / "starts.sqlite"
    with Store(built["store"]) as src, Store(path) as dst:
        job = next(j for j in src.jobs() if "start" in j["units"])
        new = dst.job(job["config"])
        for u in src.units(job["job_id"], "start"):
            dst.put_start(new, u.to_start_result(), input_digest=u.input_digest)
    story = story_from_store(path)
    assert story.glm is None and story.network is None and story.store is not None
    (j,) = story.store.jobs
    n = built["story"].network
    assert j["n_starts"] == n.n_starts and j["group_order"] == n.group_order
    assert sum(s["count"] for s in j["solutions"]) == n.n_starts
    assert len(j["solutions"]) >= n.n_solutions  # the data-free rule merges no more than dedup
    assert j["solutions"][0]["objective"] == pytest.approx(n.reference["objective"], rel=1e-10)
    assert "not the data" in story.notes[0]
    page = render_story_html(story)
    assert "The campaign store" in page and 'data-name="store"' in page
    assert "distinct solution(s)" in render_story_text(story)


def test_story_from_a_missing_store_says_what_is_expected(tmp_path):
    with pytest.raises(ValueError, match="No campaign store"):
        story_from_store(tmp_path / "nope.sqlite")


def test_a_formula_gives_the_same_story(built):
    """``compute_story("target ~ ...", data=df)``: the same inputs, the same GLM."""
    df = built["X"].assign(target=built["y"])
    formula = "target ~ " + " + ".join(DEFAULT_INPUTS["breast_cancer"])
    story = compute_story(formula, data=df, n_starts=2, l2_grid=(1.0,), cv=0, n_twins=1)
    assert story.inputs == list(DEFAULT_INPUTS["breast_cancer"])
    assert story.path.select == "evidence" and story.network.l2 == 1.0
    mine = {c["name"]: c for c in built["story"].glm.coefficients}
    for c in story.glm.coefficients:
        assert c["value"] == pytest.approx(mine[c["name"]]["value"], rel=1e-6)
        assert c["se"] == pytest.approx(mine[c["name"]]["se"], rel=1e-6)


# --- input checks and the terminal --------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden": ()}, "hidden layer"),
        ({"l2_grid": (1.0, 0.0)}, "positive weight decays"),
        ({"inputs": ["no_such_input"]}, "no input named"),
        ({"inputs": [99]}, "out of range"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, message):
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    with pytest.raises(ValueError, match=message):
        compute_story(X, np.array([0, 1, 0, 1]), **kwargs)


def test_progress_bar_writes_nothing_to_stdout(capsys):
    with progress_bar() as update:
        update("a step", 0, 3)
        update("a step", 3, 3)
        update("another step", 0, None)
        update("another step", 1, 1)
    assert capsys.readouterr().out == ""


# --- performance -------------------------------------------------------------------------------


@pytest.mark.slow
def test_demo_with_default_settings_runs_in_under_a_minute(tmp_path):
    """End to end (imports, computation, report), as `nnmle demo --report DIR` does it."""
    script = (
        "import sklearn.datasets\n"
        "from nnmle.report.story import compute_story, DEFAULT_INPUTS\n"
        "from nnmle.report import write_report, render_story_text\n"
        "b = sklearn.datasets.load_breast_cancer(as_frame=True)\n"
        "X = b.data.rename(columns=lambda c: c.replace(' ', '_'))\n"
        "X = (X - X.mean()) / X.std(ddof=0)\n"
        "s = compute_story(X, b.target.to_numpy(), inputs=DEFAULT_INPUTS['breast_cancer'],\n"
        "                  source='breast_cancer')\n"
        f"write_report(s, {str(tmp_path)!r})\n"
        "print(render_story_text(s))\n"
    )
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, check=False)  # fmt: skip
    seconds = time.perf_counter() - t0
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "report.html").exists() and "Key numbers" not in run.stdout
    assert seconds < 60, f"the demo took {seconds:.1f} s"


# --- the fit summary --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("activation", "penalty"),
    [
        ("logistic", {"l2": 0.05, "penalize_bias": True}),  # flips would move the penalized bias
        ("relu", {"l2": 0.05}),  # rescaling would change the L2 norm
        ("tanh", {"l1": 0.5}),
        ("softplus", {}),
    ],
)
def test_summary_weights_have_the_fits_objective(activation, penalty):
    X, y = load_breast_cancer(return_X_y=True)
    X = (X[:, :4] - X[:, :4].mean(0)) / X[:, :4].std(0)
    res = nnmle.fit(X, y, hidden=(3,), activation=activation, n_restarts=2, **penalty)
    table = canonical_table(res.estimate)
    theta = res.theta.copy()
    theta[res.problem.free] = [w["value"] for w in table]
    assert res.problem.objective(theta) == pytest.approx(res.objective, rel=1e-10)
    np.testing.assert_allclose(
        res.problem.linear_predictor(theta), res.problem.linear_predictor(res.theta), atol=1e-9
    )
    rows = res.summary().rows
    assert [r[1] for r in rows] == [w["value"] for w in table]
