"""Running starts (``nnmle.starts``): the one runner, starting values, the campaign store
(SQLite, resume after SIGKILL, concurrent writers), the Dask executor (results equal the local
run's), and the divergence check."""

import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import nnmle
from nnmle.families import get_family
from nnmle.networks import Architecture
from nnmle.penalties import Penalty
from nnmle.problem import Problem
from nnmle.solvers import choose_solver
from nnmle.starts import (
    DaskExecutor,
    LocalExecutor,
    Store,
    check_divergence,
    dask_client,
    map_units,
    pin_workers,
    run_starts,
    starting_values,
    weight_norm_trace,
)

# a second local cluster in one process serves its HTTP routes on another port: harmless
pytestmark = pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning")

# A small problem, defined once as code so that child processes build exactly the same one.
PROBLEM_CODE = textwrap.dedent(
    """
    import numpy as np
    import nnmle
    from nnmle.families import get_family
    from nnmle.networks import Architecture
    from nnmle.penalties import Penalty
    from nnmle.problem import Problem
    from nnmle.starts import LocalExecutor, Store, run_starts, starting_values

    _rng = np.random.default_rng(1)
    _X = _rng.normal(size=(60, 3))
    _y = (_X[:, 0] - _X[:, 1] ** 2 + 0.5 * _rng.normal(size=60) > 0).astype(float)
    ARCH = Architecture.build(3, (3,))
    PROBLEM = Problem.build(_X, _y[:, None], np.ones(60), get_family("bernoulli"), ARCH,
                            Penalty(l2=0.01))
    THETAS0 = starting_values(ARCH, 10, seed=3)
    """
)
_ns: dict = {}
exec(PROBLEM_CODE, _ns)
PROBLEM, ARCH, THETAS0, X, Y = (_ns[k] for k in ("PROBLEM", "ARCH", "THETAS0", "_X", "_y"))
L1_FIT = dict(hidden=(3,), l1=0.5, l2=0.01, n_starts=3, seed=2)  # proximal gradient


@pytest.fixture(scope="module")
def reference():
    """The uninterrupted run, in this process, without a store."""
    return run_starts(PROBLEM, THETAS0)


def solutions(results):
    """The solutions table: everything but the timings."""
    return [
        (r.index, r.theta.tobytes(), r.objective, r.grad_norm, r.n_iter, r.status) for r in results
    ]


def _child(script: str, *args, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", PROBLEM_CODE + textwrap.dedent(script), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


# ---------------------------------------------------------------- starting values and the runner


def test_start_k_does_not_depend_on_how_many_are_drawn():
    a = starting_values(ARCH, 5, seed=3)
    assert a.shape == (5, ARCH.n_total)
    np.testing.assert_array_equal(a, THETAS0[:5])
    np.testing.assert_array_equal(starting_values(ARCH, 2, seed=3, first=3), THETAS0[3:5])
    assert not np.array_equal(starting_values(ARCH, 1, seed=4)[0], THETAS0[0])
    assert starting_values(ARCH, 0).shape == (0, ARCH.n_total)


def test_glorot_init_has_zero_biases_and_bounded_weights():
    arch = Architecture.build(20, (30,), 1, "tanh")
    theta = starting_values(arch, 1, seed=0, init="glorot")[0]
    assert np.all(theta[arch.bias_mask()] == 0.0)
    assert np.abs(theta[:600]).max() <= np.sqrt(6 / 50)
    uniform = starting_values(arch, 1, seed=0)[0]
    assert np.abs(uniform).max() <= 0.7


def test_run_starts_results_in_order_and_any_thread_split_is_identical(reference):
    assert [r.index for r in reference] == list(range(len(THETAS0)))
    for r in reference:  # each result is the problem's objective at its weights
        assert r.objective == pytest.approx(PROBLEM.objective(r.theta), rel=1e-12)
    seen = []
    two = run_starts(PROBLEM, THETAS0, executor=LocalExecutor(workers=2), on_result=seen.append)
    assert solutions(two) == solutions(reference)
    assert sorted(r.index for r in seen) == list(range(len(THETAS0)))
    one = run_starts(PROBLEM, THETAS0[4], choose_solver(PROBLEM))  # a single flat vector
    assert solutions(one) == [(0, *solutions(reference)[4][1:])]


def test_run_starts_rejects_starts_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"must have shape \(K, 16\)"):
        run_starts(PROBLEM, np.zeros((2, 5)))


# ---------------------------------------------------------------- the store


def test_units_round_trip(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        job = store.job({"b": 1, "a": [1, 2]})
        assert store.job({"a": [1, 2], "b": 1}) == job  # canonical JSON: key order is irrelevant
        theta = np.linspace(-1, 1, 7)
        assert store.put_unit(job, "start", 3, status="converged", objective=1.25, n_iter=9,
                              seed=5, arrays={"theta": theta}, extra={"note": "x"})  # fmt: skip
        assert not store.put_unit(job, "start", 3, status="max_iter")  # first copy kept
        store.put_unit(job, "start", 1, status="non_finite", objective=math.nan)
        store.put_unit(job, "fold", (2, "a"), status="converged", objective=math.inf)
        assert store.done_units(job, "start") == {1, 3}
        assert store.done_units(job, "fold") == {(2, "a")}
        u1, u3 = store.units(job, "start")
        assert (u1.key, u3.key) == (1, 3)
        assert math.isnan(u1.objective) and u1.theta is None
        assert np.array_equal(u3.theta, theta) and u3.theta.dtype == np.float64
        assert (u3.status, u3.objective, u3.n_iter, u3.seed, u3.extra) == (
            "converged", 1.25, 9, 5, {"note": "x"})  # fmt: skip
        assert store.units(job, "fold")[0].objective == math.inf
        assert store.units(job, "start", keys=[3])[0].key == 3
        with pytest.raises(ValueError, match="unit key"):
            store.put_unit(job, "start", 1.5, status="converged")
    with Store(path) as store:  # reopened: everything is still there
        assert store.job_config(job) == {"a": [1, 2], "b": 1}
        assert store.jobs()[0]["units"] == {"start": 2, "fold": 1}
        assert store.integrity_check() == "ok"


def test_not_a_store(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello, this is not SQLite " * 40)
    with pytest.raises(ValueError, match="not an nnmle store"):
        Store(bad)
    with pytest.raises(ValueError, match="is a directory"):
        Store(tmp_path)


def test_store_survives_time_and_reopen(tmp_path):
    """A store written, closed and reopened keeps WAL mode and its units."""
    path = tmp_path / "w.sqlite"
    with Store(path) as s:
        job = s.job({"x": 1})
        s.put_unit(job, "point", 0, status="converged", seconds=0.5)
    time.sleep(0.01)
    with Store(path) as s:
        assert s._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.units(job, "point")[0].seconds == 0.5


def test_run_starts_with_a_store_resumes(tmp_path, reference):
    path = tmp_path / "s.sqlite"
    solver = choose_solver(PROBLEM)
    local = LocalExecutor(workers=1)
    first = run_starts(PROBLEM, THETAS0[:4], solver, local, store=path, config={"seed": 3})
    assert solutions(first) == solutions(reference[:4])
    seen = []
    full = run_starts(
        PROBLEM, THETAS0, solver, store=path, config={"seed": 3}, on_result=seen.append
    )
    assert sorted(r.index for r in seen) == list(range(4, 10))  # only the missing starts ran
    assert solutions(full) == solutions(reference)
    seen.clear()
    again = run_starts(
        PROBLEM, THETAS0, solver, store=path, config={"seed": 3}, on_result=seen.append
    )
    assert seen == [] and solutions(again) == solutions(reference)
    with pytest.raises(ValueError, match="different starting vector"):
        run_starts(PROBLEM, THETAS0[::-1], solver, store=path, config={"seed": 3})


def test_fit_with_store(tmp_path):
    path = tmp_path / "fit.sqlite"
    kw = dict(hidden=(3,), l2=0.01, n_starts=3, seed=2)  # the compiled problem of PROBLEM
    plain = nnmle.fit(X, Y, **kw)
    stored = nnmle.fit(X, Y, store=path, **kw)
    seen = []
    resumed = nnmle.fit(X, Y, store=path, on_result=seen.append, **{**kw, "n_starts": 4})
    assert [r.index for r in seen] == [3]
    assert solutions(stored.restarts) == solutions(plain.restarts)
    assert solutions(resumed.restarts[:3]) == solutions(plain.restarts)


def test_l1_fit_with_store_resumes_like_an_lbfgs_fit(tmp_path):
    path = tmp_path / "l1.sqlite"
    plain = nnmle.fit(X, Y, **L1_FIT)
    assert plain.estimate.solver.name == "proximal"
    seen = []
    stored = nnmle.fit(X, Y, store=path, on_result=seen.append, **L1_FIT)
    assert sorted(r.index for r in seen) == [0, 1, 2]
    seen.clear()
    again = nnmle.fit(X, Y, store=path, on_result=seen.append, **L1_FIT)
    assert seen == []  # a second identical call computes nothing ...
    assert solutions(again.restarts) == solutions(stored.restarts) == solutions(plain.restarts)
    assert np.array_equal(again.theta, plain.theta)  # ... and gives the uninterrupted fit
    assert again.objective == plain.objective and again.status == plain.status
    with Store(path) as store:  # one job, whose identity records the proximal solver
        (job,) = store.jobs()
        assert job["config"]["solver"]["name"] == "proximal"
        assert job["config"]["penalty"]["l1"] == 0.5


def test_l1_fit_on_two_threads_equals_the_serial_fit():
    serial = nnmle.fit(X, Y, workers=1, **L1_FIT)
    threads = nnmle.fit(X, Y, workers=2, **L1_FIT)
    assert threads.estimate.solver.name == "proximal"
    assert solutions(threads.restarts) == solutions(serial.restarts)
    assert np.array_equal(threads.theta, serial.theta) and threads.status == serial.status


def test_sigkill_loses_nothing_and_resume_completes(tmp_path, reference):
    path = tmp_path / "campaign.sqlite"
    child = _child(
        """
        import sys, time

        def report(r):
            print(r.index, flush=True)  # after the unit is committed
            time.sleep(0.3)

        run_starts(PROBLEM, THETAS0, None, LocalExecutor(workers=1), sys.argv[1], report,
                   config={"seed": 3})
        """,
        path,
    )
    reported = []
    while len(reported) < 3:
        line = child.stdout.readline()
        assert line, child.stderr.read()
        reported.append(int(line))
    child.send_signal(signal.SIGKILL)
    out, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    reported += [int(x) for x in out.split()]
    assert len(reported) < len(THETAS0)  # killed mid-campaign

    with Store(path) as store:
        assert store.integrity_check() == "ok"
        (job,) = [j["job_id"] for j in store.jobs()]
        done = store.done_units(job, "start")
        assert set(reported) <= done  # nothing finished is lost
        before = {u.key: u for u in store.units(job, "start")}
        seen = []
        resumed = run_starts(
            PROBLEM, THETAS0, store=store, config={"seed": 3}, on_result=seen.append
        )
        assert sorted(r.index for r in seen) == sorted(set(range(len(THETAS0))) - done)
        assert solutions(resumed) == solutions(reference)
        for k, u in before.items():  # the units written before the kill are untouched
            assert store.units(job, "start", keys=[k])[0].written == u.written


def test_two_processes_write_one_store(tmp_path):
    path = tmp_path / "shared.sqlite"
    script = """
        import sys

        store = Store(sys.argv[1])
        job = store.job({"test": "concurrent writers"})
        for k in range(150):
            for kind in ("shared", "own" + sys.argv[2]):
                store.put_unit(job, kind, k, status="converged", objective=float(k),
                               arrays={"theta": np.full(4, float(k))})
        print("ok")
        """
    children = [_child(script, path, i) for i in (1, 2)]
    for c in children:
        out, err = c.communicate(timeout=120)
        assert c.returncode == 0 and out.strip() == "ok", err
    with Store(path) as store:
        assert store.integrity_check() == "ok"
        (job,) = [j["job_id"] for j in store.jobs()]
        for kind in ("shared", "own1", "own2"):
            units = store.units(job, kind)
            assert [u.key for u in units] == list(range(150))
            assert all(u.objective == u.key and np.all(u.theta == u.key) for u in units)


# ---------------------------------------------------------------- Dask


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, one thread each, on the loopback interface."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cl:
        yield cl


@pytest.fixture(scope="module")
def client(cluster):
    from distributed import Client

    with Client(cluster) as c:
        yield c


def test_dask_identical_to_local(client, reference):
    results = run_starts(PROBLEM, THETAS0, executor=DaskExecutor(client, units_per_task=2))
    assert solutions(results) == solutions(reference)
    assert len(client.nthreads()) == 2


def test_dask_scheduler_address_and_store_resume(cluster, reference, tmp_path):
    path = tmp_path / "dask.sqlite"
    solver = choose_solver(PROBLEM)
    run_starts(PROBLEM, THETAS0[:5], solver, store=path, config={"seed": 3})  # local, partial
    seen = []
    with dask_client(scheduler=cluster.scheduler_address) as c:
        dask = DaskExecutor(c)
        results = run_starts(
            PROBLEM, THETAS0, solver, dask, store=path, config={"seed": 3}, on_result=seen.append
        )
        assert sorted(r.index for r in seen) == list(range(5, 10))  # only the missing ones ran
        assert solutions(results) == solutions(reference)
        with Store(path) as store:
            (job,) = [j["job_id"] for j in store.jobs()]
            assert store.done_units(job, "start") == set(range(10))
        seen.clear()
        again = run_starts(
            PROBLEM, THETAS0, solver, dask, store=path, config={"seed": 3}, on_result=seen.append
        )
    assert seen == [] and solutions(again) == solutions(reference)


def test_l1_fit_on_dask_equals_the_local_fit(client):
    local = nnmle.fit(X, Y, **L1_FIT)
    dask = nnmle.fit(X, Y, executor=DaskExecutor(client), **L1_FIT)
    assert dask.estimate.solver.name == "proximal"
    assert solutions(dask.restarts) == solutions(local.restarts)
    assert np.array_equal(dask.theta, local.theta) and dask.objective == local.objective


def _square_all(shared, keys):
    return [shared * k * k for k in keys]


def _one_start(problem, keys):
    """A unit of work that is not a start runs its own starts in one thread."""
    return [
        run_starts(problem, THETAS0[k], executor=LocalExecutor(workers=1))[0].theta for k in keys
    ]


def test_map_on_dask_equals_map_in_threads(client, reference):
    keys = [7, 0, 3]
    local = LocalExecutor(workers=2).map(_one_start, keys, PROBLEM)
    got = []
    dask = DaskExecutor(client, units_per_task=2).map(
        _one_start, keys, PROBLEM, on_result=lambda k, r: got.append(k)
    )
    assert sorted(got) == sorted(keys)
    for k, a, b in zip(keys, local, dask, strict=True):
        assert np.array_equal(a, b) and np.array_equal(a, reference[k].theta)
    squares = [2 * k * k for k in range(7)]
    assert LocalExecutor(workers=2).map(_square_all, range(7), 2) == squares
    assert DaskExecutor(client, units_per_task=3).map(_square_all, range(7), 2) == squares


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity (not Linux)")
def test_pin_workers_gives_each_worker_its_own_cores(client):
    cores = sorted(os.sched_getaffinity(0))
    pinned = pin_workers(client)
    if len(cores) < 2:  # more workers than cores: nothing is pinned
        assert pinned == {}
        return
    share = len(cores) // 2
    assert sorted(pinned.values()) == [cores[:share], cores[share : 2 * share]]
    # every thread of a worker is pinned, including those its libraries made before
    per_thread = client.run(
        lambda: {tuple(sorted(os.sched_getaffinity(int(t)))) for t in os.listdir("/proc/self/task")}
    )
    assert {tuple(v) for v in pinned.values()} == {next(iter(t)) for t in per_thread.values()}
    assert all(len(t) == 1 for t in per_thread.values())
    assert pin_workers(client, cores=cores[:1]) == {}  # two workers, one core: left as they are


def test_map_units_and_local_threads():
    pytest.importorskip("distributed")
    with dask_client(n_workers=2, processes=False) as c:
        got = []
        out = map_units(
            c, _square_all, range(7), 2, units_per_task=3, on_result=lambda k, r: got.append(k)
        )
        assert out == [2 * k * k for k in range(7)]
        assert sorted(got) == list(range(7))
        assert map_units(c, _square_all, [], 2) == []


def test_client_arguments():
    with pytest.raises(ValueError, match="exactly one"):
        with dask_client():
            pass
    with pytest.raises(ValueError, match="exactly one"):
        with dask_client(scheduler="tcp://127.0.0.1:1", n_workers=2):
            pass
    with pytest.raises(ValueError, match="address"):
        with dask_client(scheduler="localhost"):
            pass
    with pytest.raises(ValueError, match="positive integer"):
        with dask_client(n_workers=0):
            pass


@pytest.mark.slow
def test_killed_worker_loses_nothing(tmp_path):
    pytest.importorskip("distributed")
    thetas0 = starting_values(ARCH, 40, seed=5)
    expected = run_starts(PROBLEM, thetas0)
    solver = choose_solver(PROBLEM)
    path = tmp_path / "killed.sqlite"
    with dask_client(n_workers=2) as c:
        dask = DaskExecutor(c, units_per_task=1)
        dask.warm_up(PROBLEM, solver, thetas0[0])
        victim = next(iter(c.run(os.getpid).values()))
        killed = []

        def kill_once(_result):
            if not killed:
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        results = run_starts(PROBLEM, thetas0, solver, dask, store=path, on_result=kill_once)
        assert killed and victim not in c.run(os.getpid).values()
    assert solutions(results) == solutions(expected)
    with Store(path) as store:
        (job,) = [j["job_id"] for j in store.jobs()]
        assert store.done_units(job, "start") == set(range(40))


# ---------------------------------------------------------------- divergence

SEPARATED = (np.array([[-2.0], [-1.0], [1.0], [2.0]]), np.array([[0.0], [0.0], [1.0], [1.0]]))


def _glm(X, Y, family="bernoulli", penalty=None):
    arch = Architecture.build(X.shape[1], ())
    return Problem.build(X, Y, np.ones(len(X)), get_family(family), arch, penalty)


def test_separated_data_weights_race_away():
    """With separated classes the likelihood has no maximum: the continued fit keeps
    lowering the objective while the slope grows and the fitted probabilities reach 0/1."""
    p = _glm(*SEPARATED)
    theta = np.array([20.0, 0.0])
    before = theta.copy()
    check = check_divergence(p, theta)
    assert np.array_equal(theta, before)  # a value is computed, nothing is changed
    assert check.diverged and check.n_boundary == 4
    assert check.norms[-1] > check.norms[0] + 1
    assert np.all(np.diff(check.objectives) <= 0) and check.objectives[-1] < check.objectives[0]
    assert "weight norm" in check.describe()
    assert check.to_dict()["diverged"] is True
    norms, values, last = weight_norm_trace(p, theta, n_iter=10)
    assert norms.size == values.size <= 11 and norms[0] == pytest.approx(20.0)
    assert np.linalg.norm(last) == pytest.approx(norms[-1])
    assert p.objective(last) == pytest.approx(values[-1], rel=1e-12)


def test_overlapping_data_and_a_penalty_keep_the_mle():
    rng = np.random.default_rng(0)
    Xo = rng.normal(size=(200, 2))
    Yo = (Xo @ [0.8, -0.4] + rng.logistic(size=200) > 0).astype(float)[:, None]
    sm = pytest.importorskip("statsmodels.api")
    ref = sm.GLM(Yo[:, 0], np.column_stack([Xo, np.ones(200)]), family=sm.families.Binomial())
    mle = np.asarray(ref.fit(tol=1e-12).params)  # the MLE exists: statsmodels' estimate
    check = check_divergence(_glm(Xo, Yo), mle)
    assert not check.diverged and check.n_boundary == 0
    assert check.norms[-1] == pytest.approx(check.norms[0], abs=1e-4)
    pen = check_divergence(_glm(*SEPARATED, penalty=Penalty(l2=0.1)), np.array([1.0, 0.0]))
    assert not pen.diverged  # the penalized objective has a minimum at finite weights


# ---------------------------------------------------------------- streaming in bounded memory


def test_streamed_starts_keep_the_best_and_equal_the_full_run(reference, tmp_path):
    from nnmle.starts import StartingValues

    best = sorted(reference, key=lambda r: r.objective)[:3]
    kept = run_starts(PROBLEM, THETAS0, chunk=4, keep=3)
    assert solutions(kept) == solutions(sorted(best, key=lambda r: r.index))
    lazy = StartingValues(ARCH, 10, seed=3)
    assert len(lazy) == 10 and np.array_equal(lazy[4:7], THETAS0[4:7])
    assert solutions(run_starts(PROBLEM, lazy, chunk=3)) == solutions(reference)
    # with a store every start is kept there, and a rerun resumes chunk by chunk
    path = tmp_path / "stream.sqlite"
    seen = []
    run_starts(PROBLEM, lazy, store=path, config={"seed": 3}, chunk=4, keep=1,
               on_result=seen.append)  # fmt: skip
    assert sorted(r.index for r in seen) == list(range(10))
    seen.clear()
    again = run_starts(PROBLEM, lazy, store=path, config={"seed": 3}, chunk=4,
                       on_result=seen.append)  # fmt: skip
    assert seen == [] and solutions(again) == solutions(reference)
    with pytest.raises(ValueError, match=r"chunk must be a positive integer or None; got 0.*Fix"):
        run_starts(PROBLEM, lazy, chunk=0)


MEMORY_SCRIPT = """
import resource, numpy as np
from nnmle.families import get_family
from nnmle.networks import Architecture
from nnmle.problem import Problem
from nnmle.starts import LocalExecutor, StartingValues, run_starts

X = np.arange(8.0)[:, None]
problem = Problem.build(X, 2 * X + 1, np.ones(8), get_family("gaussian"), Architecture.build(1, ()))
K = 10**12  # starts: K * 2 * 8 bytes = 16 TB of starting weights alone
starts = StartingValues(problem.arch, K, seed=0)
run_starts(problem, starts[0:8], executor=LocalExecutor(workers=1))  # compile first

def vm_bytes():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmSize")) * 1024

cap = vm_bytes() + 1024**3  # 1 GiB above what the process holds now
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
try:
    np.ones((K, 2))
    print("allocated")
except MemoryError:
    print("the starts do not fit")

class Enough(Exception):
    pass

count = [0]
def stop(res):
    count[0] += 1
    if count[0] in (300, 3000):
        print("rss", count[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    if count[0] == 3000:
        raise Enough

try:
    run_starts(problem, starts, executor=LocalExecutor(workers=1), chunk=100, keep=5,
               on_result=stop)
except Enough:
    print("streamed", count[0])
"""


def test_streaming_runs_more_starts_than_fit_in_memory_in_bounded_memory():
    out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], capture_output=True, text=True,
                         timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.split("\n")
    assert "the starts do not fit" in lines  # 10^12 starts exceed the 1 GiB cap
    assert "streamed 3000" in lines  # yet the runner takes them, chunk by chunk, under the cap
    rss = {int(a): int(b) for _, a, b in (line.split() for line in lines if line.startswith("rss"))}
    assert rss[3000] - rss[300] < 20_000  # kB: ten times the starts, no growth beyond 20 MB
