"""The command line: output formats, data options and clear errors."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from nnmle.cli import main


def test_fit_json_has_the_documented_keys(capsys):
    assert main(["fit", "--dataset", "iris", "--hidden", "0", "--starts", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in (
        "family", "architecture", "n_obs", "n_params", "objective", "loglik", "deviance",
        "aic", "bic", "status", "n_iter", "weights", "restarts",
    ):  # fmt: skip
        assert key in out
    assert out["family"] == "multinomial" and out["n_obs"] == 150
    assert len(out["restarts"]) == 2 and {"objective", "status"} <= set(out["restarts"][0])
    assert out["weights"][0]["name"] == "sepal_length_cm->y[1]"


def test_fit_csv_with_formula_prints_summary(tmp_path, capsys):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x1": rng.normal(size=50), "g": rng.choice(["a", "b"], 50)})
    df["y"] = (df.x1 + rng.normal(size=50) > 0).astype(int)
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    rc = main(["fit", str(path), "--formula", "y ~ x1 + C(g)", "--hidden", "2", "--l2", "0.1"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Log-Likelihood" in out and "C(g)[T.b]->h1" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "missing.csv", "--formula", "y ~ ."], "Could not read"),
        (["fit", "--dataset", "iris", "--family", "bernoulli"], "0/1 targets"),
        (["fit", "--dataset", "iris", "--activation", "swish"], "invalid choice: 'swish'"),
        (["fit", "--dataset", "iris", "--l2", "-1"], "--l2: must be a number >= 0; got -1"),
        (["fit", "--dataset", "iris", "--workers", "-1"], "--workers: must be a positive integer"),
        (["fit", "--dataset", "iris", "--workers", "0"], "--workers: must be a positive integer"),
        (
            ["fit", "--dataset", "iris", "--starts", "0"],
            "--starts: must be a positive integer; got",
        ),
        (["fit", "--dataset", "iris", "--restarts", "0"], "--restarts: must be a positive integer"),
        (["fit", "--dataset", "iris", "--tol", "0"], "--tol: must be a number > 0; got 0"),
        (["fit", "--dataset", "iris", "--level", "1.5"], "--level: must be a number in (0, 1)"),
        (["fit", "--dataset", "iris", "--family", "gamma2"], "invalid choice: 'gamma2'"),
        (["predict", "missing.nnmle", "x.csv"], "Cannot read the model file"),
    ],
)
def test_bad_input_gives_one_line_error_and_status_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1  # one line, no usage block


@pytest.mark.slow
@pytest.mark.parametrize("penalty", [["--l2", "0.1"], ["--l1", "0.5"]])  # L-BFGS, proximal
def test_workers_run_the_starts_on_a_local_dask_cluster(penalty, capsys):
    pytest.importorskip("distributed")
    argv = ["fit", "--dataset", "iris", "--hidden", "2", *penalty, "--starts", "3", "--json"]
    assert main(argv) == 0
    local = json.loads(capsys.readouterr().out)
    assert main([*argv, "--workers", "2"]) == 0  # a DaskExecutor on a local cluster
    dask = json.loads(capsys.readouterr().out)
    assert dask["restarts"] == local["restarts"] and dask["weights"] == local["weights"]


def test_csv_without_formula_asks_for_one(tmp_path, capsys):
    path = tmp_path / "d.csv"
    pd.DataFrame({"a": [1, 2], "y": [0, 1]}).to_csv(path, index=False)
    assert main(["fit", str(path)]) == 2
    assert "--formula" in capsys.readouterr().err


def test_fit_se_json_adds_inference_to_every_weight(capsys):
    argv = ["fit", "--dataset", "diabetes", "--hidden", "0", "--family", "gaussian"]
    assert main([*argv, "--se", "hessian", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["se_type"] == "hessian"
    assert all({"se", "z", "p", "ci_low", "ci_high"} <= set(w) for w in out["weights"])


def test_fit_effects_and_anova_in_text_and_json(capsys):
    argv = ["fit", "--dataset", "diabetes", "--hidden", "0", "--family", "gaussian", "--effects"]
    assert main([*argv, "--anova"]) == 0
    text = capsys.readouterr().out
    for key in ("Average marginal effects", "Wald tests per term", "Likelihood-ratio tests"):
        assert key in text
    assert main([*argv, "--anova", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    effects = out["effects"]["effects"]
    assert [e["effect"] for e in effects][:2] == ["age", "sex"]
    keys = {"value", "se", "p", "ci_low", "ci_high", "identification"}
    assert all(keys <= set(e) for e in effects)
    assert out["term_tests"]["terms"][0]["term"] == "Intercept"
    assert [r["name"] for r in out["anova"]["rows"]][:2] == ["age", "sex"]
    assert all(r["starts_at_best"] >= 1 and 0 <= r["pvalue"] <= 1 for r in out["anova"]["rows"])


def test_symmetry_json_reports_group_order_and_identical_twins(capsys):
    argv = ["symmetry", "--dataset", "iris", "--hidden", "2", "--l2", "0.1", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["group_order"] == 8  # 2! * 2^2 for two tanh units
    lls = [t["loglik"] for t in out["twins"]]
    assert np.allclose(lls, out["loglik"], rtol=1e-12, atol=1e-10)


def test_landscape_json_has_the_documented_keys(tmp_path, capsys):
    argv = ["landscape", "--dataset", "iris", "--hidden", "2", "--l2", "0.1", "--starts", "4"]
    assert main([*argv, "--json", "--plots", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"n_starts", "solutions", "group_order", "barrier_raw", "barrier_aligned"} <= set(out)
    assert out["n_starts"] == 4
    assert sum(s["count"] for s in out["solutions"]) == 4
    assert {"id", "objective", "count", "index", "nullity", "class"} <= set(out["solutions"][0])
    assert all((tmp_path / f).stat().st_size > 0 for f in ("objectives.png", "spectra.png"))


def test_path_writes_the_plot_and_selects_a_value(tmp_path, capsys):
    plot = tmp_path / "path.png"
    argv = ["path", "--dataset", "diabetes", "--family", "gaussian", "--hidden", "0"]
    assert main([*argv, "--l2-grid", "0.1,10,1000", "--cv", "3", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "selected by cv_min" in out
    assert plot.stat().st_size > 0


def test_path_needs_exactly_one_grid(capsys):
    assert main(["path", "--dataset", "iris"]) == 2
    assert "--l2-grid" in capsys.readouterr().err


def test_output_directory_gets_a_store_and_a_rerun_resumes_from_it(tmp_path, capsys):
    from nnmle.starts import Store

    argv = ["landscape", "--dataset", "iris", "--hidden", "2", "--l2", "0.1", "--starts", "3"]
    argv += ["--json", "--plots", str(tmp_path)]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    store = tmp_path / "nnmle-store.sqlite"
    with Store(store) as s:
        (job,) = s.jobs()
        assert len(s.done_units(job["job_id"], "start")) == 3
    assert main(argv) == 0  # resumed: every start is read back, none refitted
    second = json.loads(capsys.readouterr().out)
    assert first["solutions"] == second["solutions"]


# --- issue 13: save and predict, one name for starts, flags, family inference, files ----------


def _csv(tmp_path, df, name="d.csv"):
    path = tmp_path / name
    df.to_csv(path, index=False)
    return str(path)


def test_version(capsys):
    import nnmle

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"nnmle {nnmle.__version__}"


def test_help_shows_defaults_and_choices(capsys):
    assert main(["fit", "--help"]) == 0
    out = capsys.readouterr().out
    assert "(default: 1)" in out and "(default: tanh)" in out and "negative_binomial" in out


def test_fit_saves_and_predict_reads_raw_csv(tmp_path, capsys):
    import nnmle

    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.normal(size=60), "site": rng.choice(["a", "b"], 60),
                       "t": rng.uniform(1, 3, 60)})  # fmt: skip
    df["count"] = rng.poisson(df.t * np.exp(0.3 * df.x))
    data, model = _csv(tmp_path, df), str(tmp_path / "m.nnmle")
    argv = ["fit", data, "--formula", "count ~ x + C(site)", "--family", "poisson", "--hidden",
            "0", "--exposure", "t", "--save", model]  # fmt: skip
    assert main(argv) == 0
    assert f"model written to {model}" in capsys.readouterr().out
    res = nnmle.load(model)
    out_csv = str(tmp_path / "p.csv")
    assert main(["predict", model, data, "--interval", "confidence", "--output", out_csv]) == 0
    got = pd.read_csv(out_csv)
    assert list(got.columns) == ["mean", "lower", "upper"] and len(got) == 60
    np.testing.assert_allclose(got["mean"], res.predict(df), rtol=1e-12)
    capsys.readouterr()
    assert main(["predict", model, data]) == 0  # CSV on stdout
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "mean" and len(lines) == 61
    bad = _csv(tmp_path, df.assign(site="zz"), "bad.csv")
    assert main(["predict", model, bad]) == 2
    assert "level(s) ['zz'] not seen at fit time" in capsys.readouterr().err


def test_restarts_is_a_deprecated_alias_warned_in_one_line(capsys):
    assert main(["fit", "--dataset", "iris", "--hidden", "0", "--restarts", "2"]) == 0
    err = capsys.readouterr().err
    assert "nnmle: warning: --restarts is deprecated" in err and "use --starts" in err
    assert "warnings.warn" not in err and ".py:" not in err  # no source line


def test_warnings_print_one_clean_line(tmp_path, capsys):
    df = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5], "y": [0, 1, 0, 1, 0, 1]})
    assert main(["fit", _csv(tmp_path, df), "--formula", "y ~ x", "--hidden", "3"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if line]
    assert err and all(line.startswith("nnmle: warning: ") for line in err)


@pytest.mark.parametrize(
    ("y", "family", "message"),
    [
        ([0.5, 1.7, -0.2, 3.1, 2.2, 0.9], "gaussian", None),
        (["no", "yes", "no", "yes", "yes", "no"], "bernoulli", None),
        ([0, 3, 1, 7, 2, 4], None, r"non-negative integers.*poisson.*negative_binomial.*Fix: "),
    ],
)
def test_the_family_is_inferred_from_a_csv_response(tmp_path, capsys, y, family, message):
    df = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5], "y": y})
    rc = main(["fit", _csv(tmp_path, df), "--formula", "y ~ x", "--hidden", "0", "--json"])
    if family is None:
        assert rc == 2
        assert re.search(message, capsys.readouterr().err)
    else:
        assert rc == 0 and json.loads(capsys.readouterr().out)["family"] == family


def test_weights_and_offset_columns_equal_the_api(tmp_path, capsys):
    import nnmle

    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x": rng.normal(size=50), "w": rng.integers(1, 4, 50),
                       "o": rng.normal(scale=0.2, size=50)})  # fmt: skip
    df["y"] = rng.poisson(np.exp(0.2 + 0.5 * df.x + df.o))
    argv = ["fit", _csv(tmp_path, df), "--formula", "y ~ .", "--family", "poisson", "--hidden",
            "0", "--weights", "w", "--offset", "o", "--json"]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    want = nnmle.fit("y ~ x", data=df, family="poisson", hidden=(), weights="w", offset="o")
    assert [w["name"] for w in out["weights"]] == ["x->y", "Intercept"]
    np.testing.assert_allclose([w["value"] for w in out["weights"]], want.theta, rtol=1e-9)


def test_demo_takes_a_csv_with_a_formula(tmp_path):
    from nnmle.cli import build_parser, load_data

    df = pd.DataFrame({"x": np.arange(8.0), "y": [0, 1, 0, 1, 1, 0, 1, 1]})
    args = build_parser().parse_args(["demo", _csv(tmp_path, df), "--formula", "y ~ x"])
    d = load_data(args)  # was "Give either DATA.csv or --dataset, not both"
    assert d.source.endswith("d.csv") and d.family == "bernoulli"


def test_path_writes_no_file_unless_asked(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["path", "--dataset", "diabetes", "--family", "gaussian", "--hidden", "0"]
    assert main([*argv, "--l2-grid", "0.1,10", "--cv", "3"]) == 0
    assert list(tmp_path.iterdir()) == []


def test_lc_prints_lambda_against_d_over_2_and_json(capsys):
    argv = ["lc", "--dataset", "diabetes", "--family", "gaussian", "--hidden", "2", "--l2", "1",
            "--chains", "2", "--draws", "50", "--warmup", "50"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "lambda_hat" in out and "BIC's d/2" in out
    assert main([*argv, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["d_over_2"] == 12.5 and d["chains"] == 2 and d["draws"] == 50
    assert main([*argv, "--chains", "1"]) == 2
    assert "chains must be an integer >= 2" in capsys.readouterr().err


@pytest.mark.slow  # compiles a sampler per width (20 s cold); the API path is in test_singular
def test_select_compares_widths_and_writes_the_plot(tmp_path, capsys):
    plot = tmp_path / "sel.png"
    argv = ["select", "--dataset", "diabetes", "--family", "gaussian", "--widths", "0,1",
            "--l2", "1", "--chains", "2", "--draws", "50", "--warmup", "50", "--cv", "2",
            "--plot", str(plot), "--json"]  # fmt: skip
    assert main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    assert [r["hidden"] for r in d["rows"]] == [0, 1]
    assert set(d["choices"]) == {"aic", "bic", "bic_lambda", "wbic", "cv"}
    assert set(d["evidence"]) == {"bic", "bic_lambda", "wbic"}
    assert plot.stat().st_size > 1000


def test_select_free_energy_flag_adds_the_criterion(monkeypatch, capsys):
    import nnmle

    seen = {}

    def fake(X, y, **kwargs):
        seen.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(nnmle, "select_hidden", fake)
    argv = ["select", "--dataset", "diabetes", "--family", "gaussian", "--widths", "0,1"]
    with pytest.raises(SystemExit):
        main([*argv, "--free-energy"])
    assert seen["criteria"] == ("lambda", "wbic", "cv", "free_energy")
    with pytest.raises(SystemExit):
        main(argv)
    assert seen["criteria"] == ("lambda", "wbic", "cv")
