"""Conventions of the command: python -m sim, a fast --version, progress lines, --quiet, exit codes, pipes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")


def negsim(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, **kw)


def test_python_m_sim_and_a_fast_version_that_loads_no_model():
    # Fast by what it does not load, not by a clock (a loaded machine makes any limit flaky): -X importtime lists
    # every module `python -m sim --version` imports, and the model's libraries are not among them.
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "sim", "--version"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("negsim ")
    imported = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert {"sim", "sim.cli.parser"} <= imported, done.stderr[-2000:]
    assert not imported & {"numpy", "pandas", "mesa", "scipy", "sim.runs.batch", "sim.engine.kernel"}
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
def test_the_wheel_ships_scenarios_seeds_types_and_license_found_by_a_user_install(tmp_path):
    import shutil
    import zipfile

    # Built from a copy of what the wheel is made of: pip builds in the source tree, and would leave build/ and
    # negsim.egg-info/ in the user's checkout.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    for folder in ("sim", "scenarios", "seeds"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(source)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    wheel = next(tmp_path.glob("negsim-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"sim/shipped/scenarios/{p.name}" for p in (ROOT / "scenarios").glob("*.yaml")} <= names
    assert {f"sim/shipped/seeds/{p.name}" for p in (ROOT / "seeds").glob("*.txt")} <= names
    assert "sim/py.typed" in names and "sim/version.py" in names
    assert not any("/data/" in n for n in names)  # nothing outside the package: no <prefix>/share
    assert any(n.endswith("licenses/LICENSE") for n in names)
    # pip install --user: the package lands in the user's site-packages and finds its data there
    user = tmp_path / "user"
    env = {**os.environ, "PYTHONUSERBASE": str(user), "PYTHONNOUSERSITE": ""}
    python = sys.executable if sys.prefix == sys.base_prefix else str(Path(sys.base_prefix) / "bin" / "python3")
    done = subprocess.run([python, "-m", "pip", "install", "--quiet", "--user", "--no-deps", str(wheel)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    probe = ("import sim.shipped as s, sim.version as v; "
             "print(s.folder('scenarios') / 'baseline.yaml', s.folder('seeds'), v.version())")
    found = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60, env=env,
                           cwd=tmp_path)
    scenario, seeds, version = found.stdout.split()
    assert scenario.startswith(str(user)) and Path(scenario).is_file(), found.stdout + found.stderr
    assert seeds.startswith(str(user)) and {p.name for p in (ROOT / "seeds").glob("*.txt")} <= {
        p.name for p in Path(seeds).iterdir()}
    assert version == _pyproject_version()


def _pyproject_version() -> str:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_the_version_is_written_once_in_pyproject():
    import sim
    from sim.version import version

    assert sim.__version__ == version() == _pyproject_version()
    assert negsim("--version").stdout.strip() == f"negsim {_pyproject_version()}"
    literal = f'"{_pyproject_version()}"'
    assert not [p for p in (ROOT / "sim").rglob("*.py") if literal in p.read_text()]


def test_shipped_scenarios_and_seeds_are_package_data_found_with_importlib_resources(tmp_path, monkeypatch):
    from sim.scenario.evidence import seed_folders
    from sim.shipped import folder

    assert (folder("scenarios") / "baseline.yaml").samefile(ROOT / "scenarios" / "baseline.yaml")
    assert folder("seeds").samefile(ROOT / "seeds")
    assert folder("nothing") is None
    monkeypatch.chdir(tmp_path)  # a scenario copied anywhere still finds the shipped documents
    assert seed_folders(str(tmp_path / "copy.yaml"))[-1].samefile(ROOT / "seeds")
    from sim.play.dashboard import default_scenario

    assert default_scenario().samefile(ROOT / "scenarios" / "baseline.yaml")
    # the installed package (this environment's editable install), imported from elsewhere
    probe = "import sim.shipped as s; print(s.__file__); print(s.folder('scenarios')); print(s.folder('seeds'))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    where, scenarios, seeds = done.stdout.split()
    assert Path(where).is_relative_to(ROOT / "sim"), done.stderr
    assert Path(scenarios).samefile(ROOT / "scenarios") and Path(seeds).samefile(ROOT / "seeds")


def test_every_package_of_sim_is_in_the_wheel_and_py_typed_ships():
    import tomllib

    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "sim").rglob("__init__.py")}
    assert found <= set(setup["packages"])
    data = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "sim").rglob("*")  # folders of data files
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    assert data <= set(setup["packages"]), "a folder of data files is missing from [tool.setuptools] packages"
    assert (ROOT / "sim" / "py.typed").is_file() and "py.typed" in setup["package-data"]["sim"]
