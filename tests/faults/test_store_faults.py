"""Issue 11, defects 1, 2 and 4: concurrent resumes, the order of the final writes, verified parts."""

from __future__ import annotations

import json
import random
import shutil
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from terminal import wait_for_parts

import sim
from sim.cli import main
from sim.errors import StoreError
from sim.runs import store
from sim.runs.resumption import resume

from .conftest import (
    BASELINE,
    BLOCK,
    RUNS,
    SEED,
    cli,
    copy_dir,
    interrupted_dir,
    manifest,
    results,
    start,
)


def _race(trial_dir) -> tuple[list[int], list[str]]:
    """Two `negsim resume` of one directory started at the same moment."""
    procs = [start("resume", str(trial_dir), "--json") for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    return [p.returncode for p in procs], [err for _out, err in outs]


def _race_trials(tmp_path, reference, trials: int) -> None:
    base = interrupted_dir(tmp_path / "base", after_units=4)
    dirs = [copy_dir(base, tmp_path / f"trial{i}") for i in range(trials)]
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(_race, dirs))
    for run_dir, (codes, errs) in zip(dirs, outcomes, strict=True):
        assert 0 in codes, errs
        for code, err in zip(codes, errs, strict=True):
            assert code in (0, 2) and "Traceback" not in err, err
            if code == 2:
                assert "in use by another negsim (process " in err and "negsim resume" in err
        pd.testing.assert_frame_equal(results(run_dir), reference)
        assert manifest(run_dir)["status"] == "complete"
        assert not (run_dir / "parts").exists()
        resume(run_dir)  # a later resume of the finished directory still works
        pd.testing.assert_frame_equal(results(run_dir), reference)


def test_two_resumes_at_once_never_lose_data(tmp_path, reference):
    _race_trials(tmp_path, reference, trials=3)


@pytest.mark.slow
def test_two_resumes_at_once_never_lose_data_soak(tmp_path, reference):
    _race_trials(tmp_path, reference, trials=20)


def test_resume_while_the_original_runs_is_refused_naming_it(tmp_path, reference):
    proc = start("run", BASELINE, "--runs", str(RUNS), "--seed", str(SEED), "--block-size", str(BLOCK),
                 "--out", str(tmp_path), "--json", "--engine", "agents")
    run_dir = wait_for_parts(tmp_path, 1)
    second = cli("resume", str(run_dir))
    assert second.returncode == 2, second.stderr
    assert f"in use by another negsim (process {proc.pid}:" in second.stderr
    proc.kill()
    proc.communicate(timeout=60)
    m = manifest(run_dir)
    units = [(0, b, s, min(s + BLOCK, RUNS)) for b, s in enumerate(range(0, RUNS, BLOCK))]
    done, rejected = store.verified_parts(run_dir, units, m["job_sha256"])
    assert len(done) >= 1 and rejected == []  # what the original wrote is intact


def test_temporary_files_are_unique_per_writer(tmp_path):
    names = set()
    original = store.os.replace

    def spy(src, dst):
        names.add(str(src))
        return original(src, dst)

    store.os.replace = spy
    try:
        for _ in range(3):
            store.write_json(tmp_path / "manifest.json", {"a": 1})
    finally:
        store.os.replace = original
    assert len(names) == 3


# --------------------------------------------------------------------------- crash points of the ending


def _complete_dir(tmp_path, name="done"):
    return sim.run_batch(BASELINE, runs=RUNS, seed=SEED, out=tmp_path / name, block_size=BLOCK).run_dir


@pytest.mark.parametrize("point", ["after_merge", "after_summary", "after_manifest"])
def test_a_stop_at_any_step_of_the_ending_resumes_to_complete(tmp_path, reference, monkeypatch, point):
    """The kill -9 between the merge and the final manifest write, and its neighbours."""
    import sim.runs.batch as batch

    class Crash(BaseException):
        pass

    real_finish, real_write = batch.finish_batch, store.write_json

    def finish(job, run_dir, m):
        if point == "after_merge":
            raise Crash
        out = real_finish(job, run_dir, m)
        if point == "after_summary":
            raise Crash
        return out

    def remove(run_dir):
        raise Crash

    def write_json(path, obj):  # the crash must not let the library mark the directory interrupted
        if isinstance(obj, dict) and obj.get("status") == "interrupted":
            raise Crash
        return real_write(path, obj)

    monkeypatch.setattr(batch, "finish_batch", finish)
    monkeypatch.setattr(store, "write_json", write_json)
    if point == "after_manifest":
        monkeypatch.setattr(store, "remove_parts", remove)
    with pytest.raises(Crash):
        sim.run_batch(BASELINE, runs=RUNS, seed=SEED, out=tmp_path, block_size=BLOCK)
    monkeypatch.undo()
    run_dir = next(tmp_path.iterdir())
    status = manifest(run_dir)["status"]
    assert status == ("complete" if point == "after_manifest" else "running")
    rows = {r["run_dir"]: r["status"] for r in store.list_runs(tmp_path)}
    assert rows[str(run_dir)] in ("interrupted", "complete")
    assert main(["resume", str(run_dir)]) == 0
    pd.testing.assert_frame_equal(results(run_dir), reference)
    assert manifest(run_dir)["status"] == "complete"
    assert not (run_dir / "parts").exists()
    assert main(["compare", str(run_dir), str(run_dir), "--out", str(tmp_path / "compared"), "--json"]) == 0


def test_a_stray_file_in_parts_does_not_stop_completion(tmp_path, reference):
    run_dir = interrupted_dir(tmp_path, after_units=3)
    (run_dir / "parts" / "notes.txt").write_text("mine")
    resume(run_dir)
    assert manifest(run_dir)["status"] == "complete"
    assert (run_dir / "parts" / "notes.txt").read_text() == "mine"
    pd.testing.assert_frame_equal(results(run_dir), reference)


# --------------------------------------------------------------------------- verified parts


def _parts(run_dir):
    return sorted((run_dir / "parts").glob("part-*.parquet"))


def _flip_trials(tmp_path, reference, flips: int, seed: int) -> None:
    base = interrupted_dir(tmp_path / "base", after_units=3, runs=600, block=200)
    ref = sim.run_batch(BASELINE, runs=600, seed=SEED, out=None, block_size=200).runs
    target = _parts(base)[1]
    size = target.stat().st_size
    rng = random.Random(seed)
    positions = rng.sample(range(size), min(flips, size))
    detected = 0
    for i, pos in enumerate(positions):
        trial = copy_dir(base, tmp_path / f"flip{i}")
        part = trial / "parts" / target.name
        data = bytearray(part.read_bytes())
        data[pos] ^= 1 << rng.randrange(8)
        part.write_bytes(bytes(data))
        result = resume(trial)
        rejected = result.manifest["resumed"][-1]["rejected"]
        detected += any(target.name in r and "checksum mismatch" in r for r in rejected)
        pd.testing.assert_frame_equal(results(trial), ref)
        shutil.rmtree(trial)
    assert detected == len(positions)


def test_every_single_byte_flip_of_a_part_is_detected_and_redone(tmp_path, reference):
    _flip_trials(tmp_path, reference, flips=12, seed=1)


@pytest.mark.slow
def test_every_single_byte_flip_of_a_part_is_detected_and_redone_soak(tmp_path, reference):
    _flip_trials(tmp_path, reference, flips=400, seed=2)


def test_a_part_copied_over_another_block_is_redone(tmp_path, reference, capsys):
    run_dir = interrupted_dir(tmp_path, after_units=4)
    a, b = _parts(run_dir)[:2]
    shutil.copyfile(a, b)
    assert main(["resume", str(run_dir), "--json"]) == 0
    err = capsys.readouterr().err
    assert f"{b.name}: checksum mismatch" in err and "run again" in err
    pd.testing.assert_frame_equal(results(run_dir), reference)


def test_a_part_from_another_seed_is_redone(tmp_path, reference):
    run_dir = interrupted_dir(tmp_path / "a", after_units=4)
    other = interrupted_dir(tmp_path / "b", after_units=4, seed=SEED + 1)
    for part in _parts(other):  # its parts and their journal, copied in whole
        shutil.copyfile(part, run_dir / "parts" / part.name)
    shutil.copyfile(other / "parts" / "index.jsonl", run_dir / "parts" / "index.jsonl")
    result = resume(run_dir)
    rejected = result.manifest["resumed"][-1]["rejected"]
    assert len(rejected) == 4 and all("another job" in r for r in rejected)
    pd.testing.assert_frame_equal(results(run_dir), reference)


def test_a_torn_journal_line_only_redoes_that_part(tmp_path, reference):
    run_dir = interrupted_dir(tmp_path, after_units=4)
    journal = run_dir / "parts" / "index.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    journal.write_text("".join(lines[:-1]) + lines[-1][:20])
    result = resume(run_dir)
    assert result.manifest["resumed"][-1]["kept"] == 3
    pd.testing.assert_frame_equal(results(run_dir), reference)


@pytest.mark.parametrize("edit", ["seed", "runs", "scenario_data", "scenario_text", "points"])
def test_an_edited_manifest_is_refused(tmp_path, edit, capsys):
    run_dir = interrupted_dir(tmp_path, after_units=3)
    m = manifest(run_dir)
    if edit == "seed":
        m["seed"] += 1
    elif edit == "runs":
        m["runs"] -= BLOCK
    elif edit == "scenario_data":
        m["scenario"]["data"]["actors"]["kyiv"]["resolve"]["value"] = 0.9
    elif edit == "scenario_text":
        m["scenario"]["text"] += "\n# edited\n"
    else:
        m["points"] = [{"actors.kyiv.resolve": 0.9}]
    (run_dir / "manifest.json").write_text(json.dumps(m))
    assert main(["resume", str(run_dir)]) == 2
    assert "manifest was edited or damaged" in capsys.readouterr().err
    assert len(_parts(run_dir)) == 3  # nothing written was touched


def test_damaged_results_of_a_complete_run_are_refused(tmp_path):
    run_dir = _complete_dir(tmp_path)
    data = bytearray((run_dir / "results.parquet").read_bytes())
    data[len(data) // 2] ^= 0x10
    (run_dir / "results.parquet").write_bytes(bytes(data))
    with pytest.raises(StoreError, match="does not match the checksum"):
        resume(run_dir)
    assert main(["compare", str(run_dir), str(run_dir), "--out", str(tmp_path)]) == 2


def test_manifest_size_does_not_grow_with_the_units_done(tmp_path):
    sizes = {}
    for blocks in (3, 15):
        run_dir = interrupted_dir(tmp_path / str(blocks), after_units=blocks, runs=2000, block=100)
        sizes[blocks] = (run_dir / "manifest.json").stat().st_size
    assert abs(sizes[15] - sizes[3]) < 64, sizes
