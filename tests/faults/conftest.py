"""Helpers of the fault-injection suite: small batches, interrupted run directories, processes of a session."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from terminal import as_a_terminal_starts_it

import sim
from sim.runs.batch import Interrupted

ROOT = Path(__file__).resolve().parents[2]
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")
RUNS, BLOCK, SEED = 1500, 100, 5


def cli(*args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """`negsim ARGS` in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, **kw)


def start(*args: str, **kw) -> subprocess.Popen:
    """`negsim ARGS` in its own session (as a terminal starts it, Ctrl-C included), not waited for."""
    kw.setdefault("preexec_fn", as_a_terminal_starts_it)
    return subprocess.Popen([sys.executable, "-m", "sim.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True, **kw)


_STOPPED: dict[tuple[int, int, int, int], Path] = {}  # one stopped batch per kind, copied for each test
_STOPPED_HOME: list[Path] = []


def _stopped_home() -> Path:
    """A temporary folder for the stopped batches, made on first use and removed when the tests end."""
    if not _STOPPED_HOME:
        _STOPPED_HOME.append(Path(tempfile.mkdtemp(prefix="negsim-stopped-")))
        atexit.register(shutil.rmtree, _STOPPED_HOME[0], ignore_errors=True)
    return _STOPPED_HOME[0]


def interrupted_dir(out: Path, after_units: int, runs: int = RUNS, block: int = BLOCK, seed: int = SEED) -> Path:
    """A run directory as a stopped batch leaves it: ``after_units`` parts written, status interrupted.

    The batch is stopped once per test session for each set of arguments; every caller gets its own copy under
    ``out`` (as `_race_trials` copies one for each race: a copy resumes like the original)."""
    key = (after_units, runs, block, seed)
    if key not in _STOPPED:
        _STOPPED[key] = _stop_a_batch(_stopped_home() / "-".join(map(str, key)), after_units, runs, block, seed)
    return copy_dir(_STOPPED[key], Path(out) / _STOPPED[key].name)


def _stop_a_batch(out: Path, after_units: int, runs: int, block: int, seed: int) -> Path:
    count = {"n": 0}

    def progress(done: int, total: int) -> None:
        if done > 0:
            count["n"] += 1
            if count["n"] >= after_units:
                raise KeyboardInterrupt

    with pytest.raises(Interrupted) as info:
        sim.run_batch(BASELINE, runs=runs, seed=seed, out=out, block_size=block, progress=progress)
    return info.value.run_dir


def results(run_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(run_dir / "results.parquet")


def manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def copy_dir(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    (dst / ".lock").unlink(missing_ok=True)
    return dst


def session_processes(sid: int) -> list[int]:
    """Process ids of every live (not zombie) process of session ``sid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            found.append(int(stat.parent.name))
    return found


def wait_gone(sid: int, timeout: float = 10) -> list[int]:
    deadline = time.time() + timeout
    while (left := session_processes(sid)) and time.time() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> pd.DataFrame:
    """The uninterrupted batch every stopped one must resume to."""
    out = tmp_path_factory.mktemp("reference")
    return results(sim.run_batch(BASELINE, runs=RUNS, seed=SEED, out=out, block_size=BLOCK).run_dir)


@pytest.fixture()
def no_env_limits(monkeypatch):
    for name in ("RUNS", "POINTS", "LEVELS"):
        monkeypatch.delenv(f"NEGSIM_MAX_{name}", raising=False)
    return os.environ
