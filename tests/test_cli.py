"""The command line: output formats, data options and clear errors."""

import json

import numpy as np
import pandas as pd
import pytest

from nnmle.cli import main


def test_fit_json_has_the_documented_keys(capsys):
    assert main(["fit", "--dataset", "iris", "--hidden", "0", "--restarts", "2", "--json"]) == 0
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
        (["fit", "--dataset", "iris", "--activation", "swish"], "Unknown activation"),
        (["fit", "--dataset", "iris", "--l2", "-1"], "l2 must be"),
        (["fit", "--dataset", "iris", "--workers", "-1"], "--workers must be a positive"),
        (["fit", "--dataset", "iris", "--workers", "0"], "--workers must be a positive"),
    ],
)
def test_bad_input_gives_one_line_error_and_status_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.slow
def test_workers_run_the_starts_on_a_local_dask_cluster(capsys):
    pytest.importorskip("distributed")
    argv = ["fit", "--dataset", "iris", "--hidden", "2", "--l2", "0.1", "--restarts", "3", "--json"]
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
