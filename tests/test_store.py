"""The run store: interrupted batches resume to identical results; bad directories are refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from terminal import as_a_terminal_starts_it, wait_for_parts

import sim
from sim.cli import main
from sim.errors import StoreError
from sim.runs import store
from sim.runs.resumption import resume

ROOT = Path(__file__).resolve().parents[1]
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")
# The interrupted batches: 40 parts, each long enough (about 0.1 s of one core) that the signal, sent once a few
# parts are written, lands seconds before the batch could end (with 300-run parts the batch sometimes ended first).
RUNS, BLOCK = 120_000, 3_000


def start(out: Path, *args: str) -> subprocess.Popen:
    """`negsim run` in its own process group, as a terminal would start it."""
    return subprocess.Popen([sys.executable, "-m", "sim.cli", "run", BASELINE, "--out", str(out), "--json", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            start_new_session=True, preexec_fn=as_a_terminal_starts_it)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    result = sim.run_batch(BASELINE, runs=RUNS, seed=3, out=out, block_size=BLOCK, workers=2)
    return pd.read_parquet(result.run_dir / "results.parquet")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "Ctrl-C"])
def test_interrupted_batch_resumes_to_identical_results(tmp_path, reference, sig):
    proc = start(tmp_path, "--runs", str(RUNS), "--seed", "3", "--block-size", str(BLOCK))
    run_dir = wait_for_parts(tmp_path, 5)
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=60)
    assert not (run_dir / "results.parquet").exists()
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err[-4000:]
        assert f"negsim resume {run_dir}" in err and "Traceback" not in err
        assert json.loads((run_dir / "manifest.json").read_text())["status"] == "interrupted"
    done = len(list((run_dir / "parts").glob("part-*.parquet")))
    assert 5 <= done < 40
    result = resume(run_dir)
    runs = pd.read_parquet(run_dir / "results.parquet")
    pd.testing.assert_frame_equal(runs, reference)
    assert runs["replicate"].is_unique and len(runs) == RUNS
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete" and len(manifest["resumed"]) == 1
    assert result.summary()["runs"] == RUNS
    assert not (run_dir / "parts").exists()


def test_corrupt_part_is_run_again(tmp_path):
    full = sim.run_batch(BASELINE, runs=600, seed=2, out=tmp_path / "a", block_size=200)
    proc_dir = tmp_path / "b"
    # a directory as an interrupted batch leaves it: manifest, two good parts, one corrupt
    sim.run_batch(BASELINE, runs=600, seed=2, out=proc_dir, block_size=200)
    run_dir = next(proc_dir.iterdir())
    table = pd.read_parquet(run_dir / "results.parquet")
    (run_dir / "results.parquet").unlink()
    (run_dir / "parts").mkdir()
    table.iloc[:200].to_parquet(run_dir / "parts" / "part-00000-000000.parquet", index=False)
    (run_dir / "parts" / "part-00000-000001.parquet").write_bytes(b"PAR1 truncated")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["status"] = "interrupted"
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    resume(run_dir)
    pd.testing.assert_frame_equal(pd.read_parquet(run_dir / "results.parquet"), pd.read_parquet(full.run_dir / "results.parquet"))


def test_corrupt_or_old_manifest_is_refused(tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json")
    with pytest.raises(StoreError, match="corrupt manifest"):
        resume(bad)
    old = tmp_path / "old"
    old.mkdir()
    (old / "manifest.json").write_text(json.dumps({"format": 0, "kind": "batch"}))
    assert main(["resume", str(old)]) == 2
    assert "format 0 is not a format this negsim reads" in capsys.readouterr().err
    assert main(["resume", str(tmp_path / "missing")]) == 2


def test_runs_lists_directories_with_status(tmp_path, capsys):
    sim.run_batch(BASELINE, runs=100, seed=1, out=tmp_path)
    broken = tmp_path / "20000101-000000-x"
    broken.mkdir()
    manifest = json.loads(next(tmp_path.glob("*-baseline/manifest.json")).read_text())
    manifest |= {"status": "running", "pid": 2**22 + 12345}  # a process that is not there
    (broken / "manifest.json").write_text(json.dumps(manifest))
    assert main(["runs", "--out", str(tmp_path), "--json"]) == 0
    rows = {Path(r["run_dir"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert rows[broken.name]["status"] == "interrupted"
    complete = [r for r in rows.values() if r["status"] == "complete"]
    assert len(complete) == 1 and complete[0]["scenario"] == "baseline" and complete[0]["size_bytes"] > 0


def test_a_default_block_batch_resumes_into_its_own_blocks_on_any_workers(tmp_path):
    """The default block depends on the workers: a batch stopped on 2 workers (2 blocks of 2,000) resumes on 1
    into the blocks its manifest records, to the table of an uninterrupted batch on 1 worker (1 block of 4,000)."""
    from sim.runs.batch import Interrupted

    whole = sim.run_batch(BASELINE, runs=4000, seed=4, out=tmp_path / "whole")

    def stop(done: int, total: int) -> None:
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as info:
        sim.run_batch(BASELINE, runs=4000, seed=4, out=tmp_path / "stopped", workers=2, progress=stop)
    run_dir = info.value.run_dir
    assert len(list((run_dir / "parts").glob("part-*.parquet"))) == 1
    resume(run_dir, workers=1)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["units"] == {"block_size": 2000, "total": 2} and whole.manifest["units"]["block_size"] == 4000
    assert manifest["resumed"][0]["kept"] == 1 and manifest["resumed"][0]["run_again"] == 1
    pd.testing.assert_frame_equal(pd.read_parquet(run_dir / "results.parquet"),
                                  pd.read_parquet(whole.run_dir / "results.parquet"))


def test_resume_of_a_complete_run_changes_nothing(tmp_path):
    first = sim.run_batch(BASELINE, runs=300, seed=9, out=tmp_path)
    before = (first.run_dir / "results.parquet").read_bytes()
    again = resume(first.run_dir)
    assert (first.run_dir / "results.parquet").read_bytes() == before
    assert again.summary() == first.summary()


def test_parallel_interrupt_leaves_resumable_directory(tmp_path, reference):
    proc = start(tmp_path, "--runs", str(RUNS), "--seed", "3", "--block-size", str(BLOCK), "--workers", "2")
    run_dir = wait_for_parts(tmp_path, 4)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole group: the parent and its workers
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    resume(run_dir, workers=2)
    pd.testing.assert_frame_equal(pd.read_parquet(run_dir / "results.parquet"), reference)


@pytest.mark.slow
def test_full_size_batch_killed_halfway_resumes_identically(tmp_path):
    """The issue's soak: a 200,000-run batch killed with SIGKILL about halfway, resumed, equals an uninterrupted one."""
    runs = int(os.environ.get("NEGSIM_SOAK_RUNS", "200000"))
    whole = sim.run_batch(BASELINE, runs=runs, seed=11, out=tmp_path / "whole", workers=2)
    units = whole.manifest["units"]["total"]  # the default blocks of 2 workers: 10 of 20,000 runs
    proc = start(tmp_path / "killed", "--runs", str(runs), "--seed", "11", "--workers", "2")
    run_dir = wait_for_parts(tmp_path / "killed", units // 2, timeout=600)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    parts = len(list((run_dir / "parts").glob("part-*.parquet")))
    assert 0 < parts < units
    resume(run_dir, workers=2)
    pd.testing.assert_frame_equal(pd.read_parquet(run_dir / "results.parquet"),
                                  pd.read_parquet(whole.run_dir / "results.parquet"))


# --------------------------------------------------------------------------- file modes (issue 20, part 8)


@pytest.fixture
def umask():
    """Set the process's umask for one test, and put the old one back."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def modes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mode & 0o777 for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


def test_atomic_writes_get_the_users_umask(tmp_path, umask):
    """Not mkstemp's 0600: a result the user shares is as readable as the user's other files."""
    from sim.runs import store

    for mask, mode in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
        umask(mask)
        path = tmp_path / f"file-{mask:03o}.json"
        store.write_atomic(path, "{}\n")
        store.write_atomic(path, "{}\n")  # replacing a file: the new one's mode, from the umask again
        assert path.stat().st_mode & 0o777 == mode, (oct(mask), oct(path.stat().st_mode))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file-002.json", "file-022.json", "file-077.json"]


def test_a_run_directory_and_its_figures_get_the_users_umask(tmp_path, umask):
    umask(0o022)
    run_dir = sim.run_batch(BASELINE, runs=200, seed=1, out=tmp_path, block_size=50).run_dir
    sweep = sim.run_sweep(BASELINE, {"actors.moscow.resolve": "0.5,0.9"}, runs=40, seed=1, out=tmp_path).run_dir
    found = modes(run_dir) | {f"sweep/{k}": v for k, v in modes(sweep).items()}
    assert {"manifest.json", "results.parquet", "summary.json", "sweep/points.parquet"} <= set(found)
    assert any(k.endswith(".png") for k in found)  # the sweep's figures
    assert {k: oct(v) for k, v in found.items() if v != 0o644} == {}


def test_versions_are_read_once_a_process_and_handed_out_as_copies(monkeypatch):
    """make_manifest reads the packages' metadata and hashes negsim's sources once a process, not once a batch."""
    from importlib import metadata

    store.versions()
    store.code_version()
    calls = []
    monkeypatch.setattr(metadata, "version", lambda name: calls.append(name) or "0")
    first = store.versions()
    first["numpy"] = "changed by a caller"
    assert store.versions()["numpy"] != "changed by a caller" and calls == []
    assert store.code_version() == store.code_version() and calls == []
