"""Dask backend: results identical to the local run, resume from a store, killed workers."""

import os
import signal

import jax.numpy as jnp
import numpy as np
import pytest

from nnmle.distributed import dask_client, map_units, run_starts_dask, warm_up
from nnmle.families import get_family
from nnmle.fit import run_starts, starting_values
from nnmle.networks import Architecture
from nnmle.objective import Data
from nnmle.penalties import Penalty
from nnmle.store import Store, run_starts_stored

pytest.importorskip("distributed")
# a second local cluster in one process serves its HTTP routes on another port: harmless
pytestmark = pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning")

_rng = np.random.default_rng(2)
_X = _rng.normal(size=(60, 3))
_y = (_X[:, 0] * _X[:, 2] + 0.5 * _rng.normal(size=60) > 0).astype(float)
DATA = Data(jnp.asarray(_X), jnp.asarray(_y[:, None]), jnp.ones(60))
ARCH = Architecture.build(3, (3,))
PROBLEM = (DATA, get_family("bernoulli"), ARCH, Penalty(l2=0.01))
THETAS0 = starting_values(ARCH, 12, seed=5)


def solutions(results):
    """Everything but the timings."""
    return [
        (r.index, r.theta.tobytes(), r.objective, r.grad_norm, r.n_iter, r.status) for r in results
    ]


@pytest.fixture(scope="module")
def reference():
    return run_starts(THETAS0, *PROBLEM)


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, one thread each, on the loopback interface."""
    from distributed import LocalCluster

    with LocalCluster(
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


def test_identical_to_local(client, reference):
    results = run_starts_dask(THETAS0, *PROBLEM, client=client, units_per_task=2)
    assert solutions(results) == solutions(reference)
    assert len(client.nthreads()) == 2


def test_scheduler_address_and_store_resume(cluster, reference, tmp_path):
    path = tmp_path / "dask.sqlite"
    run_starts_stored(THETAS0[:5], *PROBLEM, path, config={"seed": 5})  # a local, partial run
    seen = []
    results = run_starts_dask(
        THETAS0,
        *PROBLEM,
        scheduler=cluster.scheduler_address,
        store=path,
        config={"seed": 5},
        on_result=seen.append,
    )
    assert sorted(r.index for r in seen) == list(range(5, 12))  # only the missing ones ran
    assert solutions(results) == solutions(reference)
    with Store(path) as store:
        (job,) = [j["job_id"] for j in store.jobs()]
        assert store.done_units(job, "start") == set(range(12))
    seen.clear()
    again = run_starts_dask(
        THETAS0, *PROBLEM, scheduler=cluster.scheduler_address, store=path, config={"seed": 5}
    )
    assert seen == [] and solutions(again) == solutions(reference)


def _square_all(shared, keys):
    return [shared * k * k for k in keys]


def test_map_units_and_local_threads():
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
def test_killed_worker_loses_nothing(tmp_path, reference):
    thetas0 = starting_values(ARCH, 40, seed=5)
    expected = run_starts(thetas0, *PROBLEM)
    path = tmp_path / "killed.sqlite"
    with dask_client(n_workers=2) as c:
        warm_up(c, thetas0, *PROBLEM)
        victim = next(iter(c.run(os.getpid).values()))
        killed = []

        def kill_once(_result):
            if not killed:
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        results = run_starts_dask(
            thetas0, *PROBLEM, client=c, store=path, units_per_task=1, on_result=kill_once
        )
        assert killed and victim not in c.run(os.getpid).values()
    assert solutions(results) == solutions(expected)
    with Store(path) as store:
        (job,) = [j["job_id"] for j in store.jobs()]
        assert store.done_units(job, "start") == set(range(40))
