"""Conventions of the command: python -m sim, a fast --version, progress lines, --quiet, exit codes, pipes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")


def negsim(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, **kw)


def test_python_m_sim_and_a_fast_version_that_loads_no_model():
    started = time.perf_counter()
    done = negsim("--version")
    took = time.perf_counter() - started
    assert done.returncode == 0 and done.stdout.startswith("negsim ")
    assert took < 1.5, f"--version took {took:.2f} s"
    probe = ("import sys, sim.cli.parser; p = sim.cli.parser.build_parser(); "
             "print(sorted(m for m in ('numpy', 'pandas', 'mesa', 'scipy', 'sim.runs.batch') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr


def test_public_names_load_on_first_use():
    import sim

    assert set(sim.__all__) >= {"run_batch", "run_sweep", "resume", "compare", "compare_many", "run_unit",
                                "load_scenario", "ScenarioError", "UsageError"}
    assert callable(sim.run_unit)


def test_progress_lines_when_stderr_is_not_a_terminal_and_quiet(tmp_path):
    done = negsim("run", BASELINE, "--runs", "400", "--block-size", "100", "--out", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[-1].startswith("negsim: baseline: 400 of 400 runs (100%), ")
    assert len(lines) == 5  # 0%, 25%, 50%, 75%, 100%
    quiet = negsim("run", BASELINE, "--runs", "400", "--out", str(tmp_path), "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_an_out_folder_that_cannot_be_made_is_bad_input():
    done = negsim("run", BASELINE, "--runs", "10", "--out", "/proc/nope")
    assert done.returncode == 2
    assert done.stderr.startswith("negsim: --out /proc/nope: cannot create a run directory there")
    assert "internal error" not in done.stderr


def test_a_closed_pipe_is_not_an_error():
    proc = subprocess.Popen([sys.executable, "-m", "sim", "evidence", BASELINE], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdout.close()  # like `| head` that has stopped reading
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_license_file():
    assert "MIT License" in (ROOT / "LICENSE").read_text()


@pytest.mark.slow
def test_the_wheel_ships_scenarios_seeds_and_license(tmp_path):
    import zipfile

    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    names = zipfile.ZipFile(next(tmp_path.glob("negsim-*.whl"))).namelist()
    data = {n.split("/data/", 1)[1] for n in names if "/data/share/negsim/" in n}
    assert {f"share/negsim/scenarios/{p.name}" for p in (ROOT / "scenarios").glob("*.yaml")} <= data
    assert {f"share/negsim/seeds/{p.name}" for p in (ROOT / "seeds").glob("*.txt")} <= data
    assert any(n.endswith("licenses/LICENSE") for n in names)
