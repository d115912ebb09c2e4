"""Issue 11, defects 5 and 10: SIGTERM, SIGHUP, SIGKILL of a parent with workers, a dead worker, a full disk."""

from __future__ import annotations

import os
import resource
import signal
import time

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from terminal import wait_for_parts

import sim
from sim.runs import store
from sim.runs.batch import job_from_manifest
from sim.runs.resumption import resume

from .conftest import (
    BASELINE,
    cli,
    manifest,
    results,
    session_processes,
    start,
    wait_gone,
)

BIG = ("--runs", "20000", "--seed", "7", "--block-size", "250")


def _intact(run_dir) -> int:
    """Parts kept by a resume of ``run_dir`` (every part written must verify)."""
    m = manifest(run_dir)
    job = job_from_manifest(run_dir, m)
    done, rejected = store.verified_parts(run_dir, job.units(), m["job_sha256"])
    assert rejected == []
    return len(done)


def _stop_with(tmp_path, sig):
    proc = start("run", BASELINE, *BIG, "--workers", "2", "--out", str(tmp_path), "--json")
    run_dir = wait_for_parts(tmp_path, 3)
    assert len(session_processes(proc.pid)) >= 4  # parent, forkserver, two workers (and the tracker)
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert f"stopped by {signal.Signals(sig).name}; resume it with: negsim resume {run_dir}" in err
    assert "Traceback" not in err
    assert wait_gone(proc.pid) == []
    assert manifest(run_dir)["status"] == "interrupted"
    assert _intact(run_dir) >= 3
    return run_dir


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_like_ctrl_c(tmp_path, sig):
    _stop_with(tmp_path, sig)


@pytest.mark.slow
def test_a_batch_stopped_by_sigterm_resumes_to_identical_results(tmp_path):
    run_dir = _stop_with(tmp_path, signal.SIGTERM)
    resume(run_dir, workers=2)
    reference = sim.run_batch(BASELINE, runs=20000, seed=7, out=None, block_size=5000).runs
    pd.testing.assert_frame_equal(results(run_dir), reference)


def test_sigkill_of_the_parent_leaves_no_process_of_the_batch(tmp_path):
    proc = start("run", BASELINE, *BIG, "--workers", "2", "--out", str(tmp_path), "--json")
    wait_for_parts(tmp_path, 3)
    assert len(session_processes(proc.pid)) >= 4
    proc.kill()
    proc.communicate(timeout=60)
    left = wait_gone(proc.pid, timeout=10)
    assert left == [], f"processes of the batch still alive: {left}"


def test_a_dead_worker_is_reported_with_the_resume_command(tmp_path):
    proc = start("run", BASELINE, *BIG, "--workers", "2", "--out", str(tmp_path), "--json")
    run_dir = wait_for_parts(tmp_path, 3)
    workers = [p for p in session_processes(proc.pid) if p != proc.pid and _is_worker(p, proc.pid)]
    assert workers
    os.kill(workers[-1], signal.SIGKILL)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "a worker process died" in err and f"negsim resume {run_dir}" in err
    assert "internal error" not in err and "Traceback" not in err
    assert wait_gone(proc.pid) == []
    assert manifest(run_dir)["status"] == "interrupted"


def _is_worker(pid: int, parent: int) -> bool:
    """A worker is a child of the forkserver, itself a child of the parent."""
    try:
        ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[2])
        grand = int(open(f"/proc/{ppid}/stat").read().rsplit(")", 1)[1].split()[2])
    except (OSError, ValueError):
        return False
    return grand == parent


def _limited(limit_kb: int):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_kb * 1024, limit_kb * 1024))
    return limit


@pytest.mark.parametrize(("limit_kb", "block", "where"), [(100, 1000, "/parts/part-00000-000000.parquet"),
                                                          (200, 100, "/results.parquet")],
                         ids=["in-parts", "in-merge"])
def test_a_file_size_limit_mid_write_is_reported_as_a_full_disk(tmp_path, limit_kb, block, where, reference):
    """`ulimit -f`: writes fail with EFBIG; nothing written is lost and resume ends identical."""
    from .conftest import RUNS, SEED

    proc = cli("run", BASELINE, "--runs", str(RUNS), "--seed", str(SEED), "--block-size", str(block),
               "--out", str(tmp_path), preexec_fn=_limited(limit_kb))
    assert proc.returncode == 1, proc.stderr
    run_dir = next(tmp_path.iterdir())
    assert "File too large while writing" in proc.stderr and f"negsim resume {run_dir}" in proc.stderr
    assert where in proc.stderr.split("while writing")[1].split(";")[0]
    assert "interrupted" not in proc.stderr and "Traceback" not in proc.stderr
    assert manifest(run_dir)["status"] == "interrupted"
    resume(run_dir)
    pd.testing.assert_frame_equal(results(run_dir), reference)  # results do not depend on the block size


def test_a_file_size_limit_before_anything_is_written_leaves_nothing(tmp_path):
    proc = cli("run", BASELINE, "--runs", "100", "--out", str(tmp_path), preexec_fn=_limited(8))
    assert proc.returncode == 1, proc.stderr
    assert "File too large while writing" in proc.stderr and "manifest.json; nothing was run" in proc.stderr
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- property: kill anywhere, resume


def _kill_at(tmp_path, delay: float, sig: int) -> None:
    from .conftest import BLOCK, RUNS, SEED

    proc = start("run", BASELINE, "--runs", str(RUNS), "--seed", str(SEED), "--block-size", str(BLOCK),
                 "--out", str(tmp_path), "--json")
    time.sleep(delay)
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass  # it finished first
    proc.communicate(timeout=60)


def _resumed_equals_reference(tmp_path, reference) -> None:
    dirs = [d for d in tmp_path.iterdir() if (d / "manifest.json").exists()]
    if not dirs:
        return  # killed before its directory had a manifest: nothing to resume, nothing lost
    resume(dirs[0])
    pd.testing.assert_frame_equal(results(dirs[0]), reference)
    assert manifest(dirs[0])["status"] == "complete"


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(delay=st.floats(0.8, 3.5), sig=st.sampled_from([signal.SIGKILL, signal.SIGTERM]))
def test_a_kill_at_a_random_moment_then_resume_equals_an_uninterrupted_batch(tmp_path_factory, reference, delay, sig):
    tmp = tmp_path_factory.mktemp("kill")
    _kill_at(tmp, delay, sig)
    _resumed_equals_reference(tmp, reference)


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(delay=st.floats(0.5, 4.0), sig=st.sampled_from([signal.SIGKILL, signal.SIGTERM, signal.SIGINT]))
def test_a_kill_at_a_random_moment_then_resume_equals_an_uninterrupted_batch_soak(tmp_path_factory, reference,
                                                                                 delay, sig):
    tmp = tmp_path_factory.mktemp("kill")
    _kill_at(tmp, delay, sig)
    _resumed_equals_reference(tmp, reference)
