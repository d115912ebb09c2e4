"""Execution: jobs in threads keep their own results; any Executor and Dask give the local table."""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.errors import UsageError
from sim.runs.batch import Job, run_unit

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ["baseline", "high_war_weariness", "eu_uk_mediation", "no_kursk_precondition"]


@pytest.fixture(scope="module")
def scenarios():
    return {n: sim.load_scenario(ROOT / "scenarios" / f"{n}.yaml") for n in SCENARIOS}


@pytest.fixture(scope="module")
def alone(scenarios):
    """Each scenario's table, run alone."""
    return {n: sim.run_batch(sc, runs=300, seed=3, out=None, block_size=50).runs for n, sc in scenarios.items()}


def test_batches_in_threads_return_their_own_results(scenarios, alone):
    for _trial in range(3):
        with cf.ThreadPoolExecutor(len(scenarios)) as pool:
            futures = {n: pool.submit(sim.run_batch, sc, runs=300, seed=3, out=None, block_size=50)
                       for n, sc in scenarios.items()}
            for n, fut in futures.items():
                pd.testing.assert_frame_equal(fut.result().runs, alone[n])


def test_run_unit_is_pure(scenarios, alone):
    a = Job(scenarios["baseline"], 3, 300)
    b = Job(scenarios["high_war_weariness"], 3, 300)
    interleaved = [run_unit(job, 0, s, s + 50) for s in range(0, 300, 50) for job in (a, b)]
    pd.testing.assert_frame_equal(pd.concat(interleaved[0::2], ignore_index=True), alone["baseline"])
    pd.testing.assert_frame_equal(pd.concat(interleaved[1::2], ignore_index=True), alone["high_war_weariness"])


@pytest.mark.parametrize("kind", ["threads", "processes"])
def test_any_executor_gives_the_same_table(scenarios, alone, kind, tmp_path):
    if kind == "threads":
        ex = cf.ThreadPoolExecutor(max_workers=2)
    else:
        ex = cf.ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("forkserver"))
    with ex:
        got = sim.run_batch(scenarios["baseline"], runs=300, seed=3, out=tmp_path, block_size=50, executor=ex)
        pd.testing.assert_frame_equal(got.runs, alone["baseline"])
        assert got.manifest["execution"]["workers"] == 2
        sweep = sim.run_sweep(scenarios["baseline"], {"actors.moscow.resolve": "0.6,0.9"}, runs=100, seed=1,
                              out=None, block_size=50, executor=ex)
    local = sim.run_sweep(scenarios["baseline"], {"actors.moscow.resolve": "0.6,0.9"}, runs=100, seed=1, out=None)
    pd.testing.assert_frame_equal(sweep.runs, local.runs)


def test_not_an_executor_is_refused(scenarios):
    with pytest.raises(UsageError, match="concurrent.futures.Executor"):
        sim.run_batch(scenarios["baseline"], runs=10, out=None, executor=4)


def test_scheduler_without_dask_backend_is_a_usage_error(tmp_path, capsys):
    from sim.cli import main

    code = main(["run", str(ROOT / "scenarios" / "baseline.yaml"), "--runs", "10", "--out", str(tmp_path),
                 "--backend", "local", "--scheduler", "tcp://127.0.0.1:1"])
    assert code == 2
    assert "--scheduler needs --backend dask" in capsys.readouterr().err


# --------------------------------------------------------------------------- a real Dask cluster


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(address: str, procs: list[subprocess.Popen]) -> None:
    """Ask the scheduler to close itself and its workers; kill whatever is still up after 10 s."""
    from distributed import Client

    try:
        with Client(address, timeout=10) as client:
            client.shutdown()
    except (OSError, TimeoutError):
        pass
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A scheduler and two single-threaded worker processes on 127.0.0.1, stopped afterwards."""
    distributed = pytest.importorskip("distributed")
    logs = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rsplit(":", 1)[1]

    def spawn(name: str, *args: str) -> subprocess.Popen:
        log = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        return subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                start_new_session=True)

    procs = [spawn("scheduler", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", port,
                   "--no-dashboard")]
    try:
        for i in range(2):
            procs.append(spawn(f"worker{i}", "distributed.cli.dask_worker", address, "--host", "127.0.0.1",
                               "--nthreads", "1", "--nworkers", "1", "--no-dashboard", "--no-nanny"))
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
            assert len(client.scheduler_info()["workers"]) == 2
        yield address
    finally:
        _stop(address, procs)
    assert all(p.poll() is not None for p in procs)


@pytest.mark.slow  # a cluster of three processes and 18,000 runs (68 s of the default run on the shared machine);
# test_calibrate's Dask test keeps a local cluster's equality with the process pool in the default run
def test_dask_cluster_gives_the_local_table_and_resumes_after_kill(dask_cluster, tmp_path):
    baseline = str(ROOT / "scenarios" / "baseline.yaml")
    local = sim.run_batch(baseline, runs=6000, seed=5, out=None, block_size=250).runs
    # The command line through the cluster: bit for bit the local table.
    out = tmp_path / "cli"
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", baseline, "--runs", "6000", "--seed", "5",
                           "--block-size", "250", "--scheduler", dask_cluster, "--out", str(out), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    run_dir = Path(json.loads(done.stdout)["run_dir"])
    pd.testing.assert_frame_equal(pd.read_parquet(run_dir / "results.parquet"), local)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["execution"] == {"backend": "dask", "scheduler": dask_cluster, "workers": 2}
    # kill -9 of the driver mid-batch leaves parts written by the driver; resume on the cluster finishes it.
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", baseline, "--runs", "6000", "--seed", "5",
                             "--block-size", "100", "--scheduler", dask_cluster, "--out", str(out), "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)
    deadline = time.time() + 120
    while not list(out.glob("*/parts/part-*.parquet")) and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    run_dir = next(out.glob("*/manifest.json")).parent
    assert not (run_dir / "results.parquet").exists()
    assert sim.runs.store.list_runs(out)[0]["status"] == "interrupted"
    from distributed import Client

    with Client(dask_cluster, timeout=30) as client:
        result = sim.resume(run_dir, executor=client.get_executor())
    pd.testing.assert_frame_equal(result.runs, local)


# --------------------------------------------------------------------------- overrides


@pytest.mark.parametrize("overrides, message", [
    ({"actors.moscow.resolv": 0.8}, "overrides: actors.moscow.resolv: unknown parameter path; nearest: actors.moscow.resolve"),
    ({"actors.kyiv.resolve": 5.0}, "overrides: actors.kyiv.resolve: must be between 0 and 1 (got 5)"),
    ({"actors.kyiv.resolve": "0.5"}, "overrides: actors.kyiv.resolve: expected a number (got '0.5')"),
    ({"actors.kyiv.resolve": True}, "overrides: actors.kyiv.resolve: expected a number (got True)"),
    ({"actors.us.active": 0}, "overrides: actors.us.active: expected true or false (got 0)"),
    ({"actors.kyiv.resolve": float("nan")}, "overrides: actors.kyiv.resolve: must be a finite number (got nan)"),
])
def test_overrides_are_checked_like_the_command_line(scenarios, overrides, message):
    with pytest.raises(UsageError) as info:
        sim.run_batch(scenarios["baseline"], runs=10, out=None, overrides=overrides)
    assert message in str(info.value)


def test_good_overrides_change_the_runs(scenarios):
    low = sim.run_batch(scenarios["baseline"], runs=300, seed=1, out=None, overrides={"actors.moscow.resolve": 0.0})
    high = sim.run_batch(scenarios["baseline"], runs=300, seed=1, out=None, overrides={"actors.moscow.resolve": 1})
    off = sim.run_batch(scenarios["baseline"], runs=300, seed=1, out=None, overrides={"actors.us.active": False})
    assert not low.runs.equals(high.runs)
    assert (off.runs["lead_mediator"] != "us").all()


def _malloc_env() -> str | None:
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_local_dask_workers_keep_the_allocator_defaults(scenarios):
    """Dask's nanny sets MALLOC_TRIM_THRESHOLD_, which makes the vector engine about 4x slower."""
    from sim.runs.executors import dask_executor

    with dask_executor(None, 1) as ex:
        assert set(ex.client.run(_malloc_env).values()) == {None}
        got = sim.run_batch(scenarios["baseline"], runs=300, seed=3, out=None, block_size=50, executor=ex)
    pd.testing.assert_frame_equal(got.runs, sim.run_batch(scenarios["baseline"], runs=300, seed=3, out=None).runs)


# --------------------------------------------------------------------------- units and workers


@pytest.mark.parametrize("runs, workers, blocks", [
    (40_000, 2, [20_000, 20_000]),  # a worker each, blocks as large as the cap allows
    (40_000, 1, [20_000, 20_000]),
    (2_000, 2, [1_000, 1_000]),  # a small batch still spreads over the workers
    (1_500, 2, [1_500]),  # ... but not into blocks under BLOCK_SPREAD runs
    (100_000, 2, [16_667] * 5 + [16_665]),  # capped, so a long batch's progress moves; a multiple of the workers
    (200_000, 2, [20_000] * 10),
    (10, 2, [10]),
])
def test_the_default_block_spreads_a_batch_over_the_workers(scenarios, runs, workers, blocks):
    job = Job(scenarios["baseline"], 1, runs, workers=workers)
    assert [e - s for _p, _b, s, e in job.units()] == blocks


@settings(max_examples=300, deadline=None)
@given(runs=st.integers(1, 3_000_000), points=st.integers(1, 60), workers=st.integers(1, 64),
       cap=st.sampled_from([100, 5_000, 20_000]))
def test_the_default_block_keeps_its_bounds(runs, points, workers, cap):
    from sim.defaults import BLOCK_SPREAD
    from sim.runs.batch import default_block

    size = default_block(runs, points, workers, cap)
    units = points * -(-runs // size)
    fewest = -(-runs // -(-runs // cap))  # the block of as few blocks as the cap allows
    assert min(BLOCK_SPREAD, cap, fewest) <= size <= min(cap, runs)
    assert units >= min(workers, points * max(1, runs // BLOCK_SPREAD))  # every worker a unit, where runs allow
    assert -(-runs // cap) <= units // points <= max(-(-runs // cap), runs // BLOCK_SPREAD, 1) + workers


def test_the_vector_block_fits_the_package_space_and_the_agents_block_is_fixed(scenarios):
    job = Job(scenarios["baseline"], 1, 100_000, workers=2)
    assert replace(job, block_size=777).size == 777 and replace(job, engine="agents").size == 25
    assert job.size == 16_667


def test_a_unit_carries_only_its_point(scenarios):
    """At the 50,000-point cap a unit's pickle stays under 64 kB, even with the job inline (not shipped once)."""
    import pickle

    from sim.runs.batch import shell, unit_call

    points = [{"actors.moscow.resolve": 0.5 + i * 1e-6, "negotiation.breakdown": 0.1 + i * 1e-7} for i in range(50_000)]
    job = Job(scenarios["baseline"], 1, 200, points=points, kind="sweep")
    fn, args = unit_call(shell(job), job, (49_999, 0, 0, 200))
    assert len(pickle.dumps((fn, args))) < 96_000  # the scenario (its text and data, larger with Model v3) and one point
    assert args[2] == points[49_999] and args[0].points == []
    fn, args = unit_call("a-token", job, (7, 0, 0, 200))  # a local pool's worker holds the job: a few hundred bytes
    assert len(pickle.dumps((fn, args))) < 1_000
    # the unit computes what run_unit computes from the whole job
    small = Job(scenarios["baseline"], 1, 60, points=points[:3], kind="sweep")
    fn, args = unit_call(shell(small), small, (2, 0, 0, 60))
    pd.testing.assert_frame_equal(fn(*args), run_unit(small, 2, 0, 60))


def test_a_job_written_to_disk_gets_its_parts_encoded_where_the_units_ran(scenarios, tmp_path, monkeypatch):
    """A unit of a job on disk returns its Parquet part (the worker encodes it; the driver only writes the bytes),
    which decodes to the unit's table; the driver encodes no table itself, and the results are the in-memory
    table's."""
    import io

    from sim.runs import store
    from sim.runs.batch import run_point_part, unit_call

    job = Job(scenarios["baseline"], 3, 300, block_size=50)
    fn, args = unit_call("a-token", job, (0, 2, 100, 150), part=True)
    assert fn is run_point_part and args[1:] == (0, {}, 100, 150)
    data = run_point_part(job, 0, {}, 100, 150)
    assert isinstance(data, bytes) and data == store.frame_bytes(run_unit(job, 0, 100, 150))
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(data)), run_unit(job, 0, 100, 150))
    encoded = []
    real = store.frame_bytes
    monkeypatch.setattr(store, "frame_bytes", lambda frame: encoded.append(len(frame)) or real(frame))
    with cf.ThreadPoolExecutor(2) as pool:  # units in threads of this process: each encodes its own part
        r = sim.run_batch(scenarios["baseline"], runs=300, seed=3, out=tmp_path, block_size=50, executor=pool)
    assert encoded.count(50) == 6  # one encoding a unit, by run_point_part; none of a whole table by write_part
    assert r.manifest["results"]["rows"] == 300 and not (r.run_dir / "parts").exists()
    pd.testing.assert_frame_equal(r.runs, sim.run_batch(scenarios["baseline"], runs=300, seed=3, out=None,
                                                        block_size=50).runs)


def test_a_part_given_as_bytes_records_its_replicates_as_rows(scenarios, tmp_path):
    from sim.runs import store

    job = Job(scenarios["baseline"], 3, 300, block_size=50)
    frame = run_unit(job, 0, 50, 100)
    store.write_part(tmp_path, (0, 1, 50, 100), store.frame_bytes(frame), "job-1")
    store.write_part(tmp_path, (0, 2, 100, 150), run_unit(job, 0, 100, 150), "job-1")
    journal = store.read_journal(tmp_path)
    assert journal[(0, 1)]["rows"] == journal[(0, 2)]["rows"] == 50
    assert journal[(0, 1)]["sha256"] == store.sha256_file(store.part_path(tmp_path, 0, 1))
    done, rejected = store.verified_parts(tmp_path, [(0, 1, 50, 100), (0, 2, 100, 150)], "job-1")
    assert done == {(0, 1), (0, 2)} and rejected == []


def test_workers_do_not_need_the_callers_main_module(tmp_path):
    """A script piped to `python -` has no file for workers to re-import; its workers must still run."""
    script = (f"import sim\n"
              f"r = sim.run_batch({str(ROOT / 'scenarios' / 'baseline.yaml')!r}, runs=400, seed=3, workers=2,\n"
              f"                  block_size=50, out=None)\n"
              f"print(len(r.runs), int((r.runs['outcome'] == 'agreement').sum()))\n")
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, cwd=tmp_path,
                          timeout=180, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    alone = sim.run_batch(ROOT / "scenarios" / "baseline.yaml", runs=400, seed=3, out=None).runs
    assert done.stdout.split() == ["400", str(int((alone["outcome"] == "agreement").sum()))]
