"""Issue 11, defects 3 and 6-11: finite numbers, bounded inputs, safe names, confined extends, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import sim
from sim.cli import main
from sim.errors import UsageError
from sim.runs import store

from .conftest import BASELINE, ROOT

# The baseline without its own `events:` block (the last key of the file), so a test can give its own.
TEXT = Path(BASELINE).read_text().split("\nevents:\n")[0] + "\n"


@pytest.fixture()
def project(tmp_path) -> Path:
    """A project folder of its own: seeds/ for the quotes, and scenarios written into it."""
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    return tmp_path


def write(project: Path, text: str, name: str = "s.yaml") -> str:
    path = project / name
    path.write_text(text)
    return str(path)


def err_of(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    return err


# --------------------------------------------------------------------------- 3: finite numbers


EVENT = "events:\n  - month: 3\n    set: {{{path}: {value}}}\n    assumption: test\n"


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_nan_and_inf_in_an_event_are_refused_with_their_position(project, capsys, value):
    path = write(project, TEXT + EVENT.format(path="actors.us.bias", value=value))
    assert main(["validate", path]) == 2
    err = err_of(capsys)
    line = TEXT.count("\n") + 3
    assert f"{path}:{line}:" in err and "events[0].set.actors.us.bias" in err and "finite number" in err


def test_nan_in_a_control_point_is_refused(project, capsys):
    no_deal = "    no_deal:\n      position:\n        value: 0.5\n"
    assert no_deal in TEXT
    control = "    no_deal:\n      variable: territory_km2\n      control: [[.nan, 1.0], [130000, 0.0]]\n      assumption: t\n"
    path = write(project, TEXT.replace(no_deal + "        assumption:", control + "      x_assumption:", 1)
                 .replace("      x_assumption:", "      #", 1))
    assert main(["validate", path]) == 2
    err = err_of(capsys)
    assert "crimea_status.no_deal.control" in err and "finite number" in err


def test_nan_in_a_distribution_is_refused(project, capsys):
    path = write(project, TEXT.replace("dist: uniform\n      low: 0.5", "dist: uniform\n      low: .nan", 1))
    assert main(["validate", path]) == 2
    assert "actors.moscow.resolve" in err_of(capsys)


def test_an_event_setting_every_salience_to_0_is_refused(project, capsys):
    event = ("events:\n  - month: 2\n    set: {actors.kyiv.salience.crimea_status: 0, actors.kyiv.salience.land_returned: 0,"
             " actors.kyiv.salience.legal_recognition: 0}\n    assumption: test\n")
    assert main(["validate", write(project, TEXT + event)]) == 2
    assert "every salience is 0 from month 2" in err_of(capsys)


@pytest.mark.parametrize("spec", ["nan,0.5", "0.2,inf", "-inf..0"])
def test_nan_and_inf_in_a_sweep_are_refused_naming_the_option(capsys, tmp_path, spec):
    assert main(["sweep", BASELINE, "--param", f"actors.kyiv.resolve={spec}", "--design", "lhs" if ".." in spec else "grid",
                 "--points", "4", "--out", str(tmp_path)]) == 2
    assert "actors.kyiv.resolve: must be a finite number" in err_of(capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("overrides", "why"), [
    ({"actors.kyiv.resolve": 5.0}, "must be between 0 and 1 (got 5)"),
    ({"actors.kyiv.resolve": float("nan")}, "must be a finite number"),
    ({"actors.kyiv.resolv": 0.5}, "unknown parameter path"),
    ({"actors.us.active": 0.5}, "expected true or false"),
    ({"actors.kyiv.salience.crimea_status": 0.0, "actors.kyiv.salience.land_returned": 0.0,
      "actors.kyiv.salience.legal_recognition": 0.0}, "every salience is 0"),
])
def test_run_batch_overrides_are_checked(overrides, why):
    with pytest.raises(UsageError, match=why.replace("(", r"\(").replace(")", r"\)")):
        sim.run_batch(BASELINE, runs=10, out=None, overrides=overrides)


# --------------------------------------------------------------------------- 8: bounded inputs


def test_special_files_are_refused_without_reading(tmp_path, capsys):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert main(["validate", "/dev/zero", str(fifo), str(tmp_path)]) == 2
    err = err_of(capsys)
    assert "/dev/zero:1:1: is a character device, not a regular file" in err
    assert f"{fifo}:1:1: is a FIFO (named pipe), not a regular file" in err
    assert f"{tmp_path}:1:1: is a directory, not a regular file" in err


def test_the_size_limit_applies_while_reading(tmp_path, capsys):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:
        fh.truncate(2_000_000_000)  # 2 GB (sparse): refused after reading 5 MB, not after reading it all
    assert main(["validate", str(big)]) == 2
    assert "file too large for a scenario (more than 5,000,000 bytes)" in err_of(capsys)


@pytest.mark.parametrize("args", [
    ["run", BASELINE, "--runs", "1000000000"],
    ["sweep", BASELINE, "--param", "actors.kyiv.resolve=0:1:100000000"],
    ["sweep", BASELINE, "--param", "actors.kyiv.resolve=0..1", "--design", "lhs", "--points", "100000"],
    ["sweep", BASELINE, "--param", "actors.kyiv.resolve=0..1", "--design", "sobol", "--points", "131072"],
    ["sweep", BASELINE, "--param", "actors.kyiv.resolve=0:1:900", "--param", "actors.moscow.resolve=0:1:900"],
    ["sweep", BASELINE, "--param", "actors.kyiv.resolve=0:1:50", "--runs", "200000"],
], ids=["runs", "levels", "lhs-points", "sobol-points", "grid-points", "sweep-runs"])
def test_caps_on_runs_points_and_levels(args, tmp_path, capsys, no_env_limits):
    assert main([*args, "--out", str(tmp_path)]) == 2
    err = err_of(capsys)
    assert "is more than the limit of" in err and "NEGSIM_MAX_" in err
    assert list(tmp_path.iterdir()) == []


def test_a_cap_is_raised_by_its_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("NEGSIM_MAX_RUNS", "50")
    with pytest.raises(UsageError, match="100 runs in all .* more than the limit of 50; set NEGSIM_MAX_RUNS"):
        sim.run_batch(BASELINE, runs=100, out=None)
    monkeypatch.setenv("NEGSIM_MAX_RUNS", "100")
    assert len(sim.run_batch(BASELINE, runs=100, out=None).runs) == 100
    monkeypatch.setenv("NEGSIM_MAX_RUNS", "lots")
    with pytest.raises(UsageError, match="NEGSIM_MAX_RUNS must be a whole number"):
        sim.run_batch(BASELINE, runs=100, out=None)


# --------------------------------------------------------------------------- 6, 9: names


def test_markup_and_emoji_in_names_are_printed_literally(project, capsys):
    path = write(project, TEXT.replace("name: baseline", 'name: "bad[/] [link=http://example.invalid]x[/link] :x:"', 1))
    out = project / "runs"
    assert main(["run", path, "--runs", "50", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "bad[/] [link=http://example.invalid]x[/link] :x:" in printed and "\u274c" not in printed
    assert main(["runs", "--out", str(out)]) == 0
    assert "bad[/]" in capsys.readouterr().out
    bad = TEXT.replace("horizon_months: 36", "horizon_months: ':x: [bold]y[/]'", 1)
    assert main(["validate", write(project, bad, "t.yaml")]) == 2
    err = capsys.readouterr().err
    assert "':x: [bold]y[/]'" in err and "\u274c" not in err


def test_control_characters_in_names_are_refused(project, capsys):
    path = write(project, TEXT.replace("name: baseline", 'name: "red\\e[31m\\u202e"', 1))
    assert main(["validate", path]) == 2
    assert "name: control character U+001B is not allowed in text" in err_of(capsys)


def test_a_400_character_scenario_name_runs(project, capsys):
    path = write(project, TEXT.replace("name: baseline", "name: " + "n" * 400, 1))
    assert main(["run", path, "--runs", "20", "--out", str(project / "runs"), "--json"]) == 0
    run_dir = Path(json.loads(capsys.readouterr().out)["run_dir"])
    assert len(run_dir.name) < 120 and (run_dir / "results.parquet").is_file()


def test_a_240_character_precondition_name_sweeps_with_figures(project, capsys):
    long = "k" * 240
    path = write(project, TEXT.replace("name: kursk_withdrawal", f"name: {long}"))
    assert main(["sweep", path, "--param", f"actors.moscow.preconditions.{long}.value=0:200:2", "--runs", "20",
                 "--out", str(project / "runs"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["figures"] and all(len(Path(f).name) < 120 for f in data["figures"])
    assert json.loads((Path(data["run_dir"]) / "manifest.json").read_text())["status"] == "complete"


# --------------------------------------------------------------------------- 7: extends


def test_extends_outside_the_project_is_refused_without_echoing_it(project, capsys):
    assert main(["validate", write(project, "extends: /etc/passwd\nname: x\n")]) == 2
    err = err_of(capsys)
    assert "extends: must name a scenario file ending in .yaml" in err and "root:" not in err
    outside = project.parent / f"{project.name}-outside.yaml"
    outside.write_text("secret: 'do not copy me'\n")
    try:
        assert main(["validate", write(project, f"extends: ../{outside.name}\nname: x\n")]) == 2
        err = err_of(capsys)
        assert "must name a scenario file inside the scenario's project" in err and "do not copy me" not in err
    finally:
        outside.unlink()


def test_extends_inside_the_project_works(project, capsys):
    (project / "scenarios").mkdir()
    shutil.copy(BASELINE, project / "scenarios" / "baseline.yaml")
    sub = project / "scenarios" / "variants"
    sub.mkdir()
    (sub / "v.yaml").write_text("extends: ../baseline.yaml\nname: v\n")
    assert main(["validate", str(sub / "v.yaml")]) == 0


# --------------------------------------------------------------------------- 10: exit codes


def test_out_that_is_a_file_or_cannot_be_written_exits_2(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["run", BASELINE, "--runs", "10", "--out", str(afile)]) == 2
    assert f"--out {afile}: cannot create a run directory there (it is a file, not a folder)" in err_of(capsys)
    if os.geteuid() == 0:  # root writes anywhere a mode allows nothing: use a file system that refuses
        readonly = Path("/sys/negsim-readonly-test")
    else:
        readonly = tmp_path / "ro"
        readonly.mkdir(mode=0o555)
    assert main(["run", BASELINE, "--runs", "10", "--out", str(readonly / "runs")]) == 2
    assert f"--out {readonly / 'runs'}: cannot create a run directory there" in err_of(capsys)


@pytest.mark.parametrize("args", [
    ["sweep", BASELINE, "--param", "actors.kyiv.resolve=,,"],
    ["sweep", BASELINE, "--param", "actors.kyiv.resolve=0..1", "--design", "lhs", "--points", "4", "--seed", "-1"],
    ["sweep", BASELINE, "--param", "actors.kyiv.resolve=0..1", "--design", "sobol", "--points", "4", "--seed", "-1"],
    ["explain", BASELINE, "--replicate", str(10**23)],
    ["explain", BASELINE, "--seed", str(2**130)],
], ids=["param-empty", "lhs-seed", "sobol-seed", "replicate", "explain-seed"])
def test_bad_options_exit_2_with_a_message(args, tmp_path, capsys):
    assert main([*args, "--out", str(tmp_path)] if args[0] == "sweep" else args) == 2
    assert err_of(capsys).strip()


def test_a_huge_integer_in_a_scenario_exits_2(project, capsys):
    assert "value: 0.011\n" in TEXT  # Kyiv's cost sensitivity
    assert main(["validate", write(project, TEXT.replace("value: 0.011\n", "value: " + "9" * 400 + "\n", 1))]) == 2
    assert "actors.kyiv.cost_sensitivity" in err_of(capsys)


def test_one_unreadable_manifest_does_not_stop_runs(tmp_path, capsys):
    sim.run_batch(BASELINE, runs=20, out=tmp_path)
    (tmp_path / "20000101-000000-folder" / "manifest.json").mkdir(parents=True)
    (tmp_path / "20000101-000000-eio").mkdir()  # a regular file whose read fails (EIO), even for root
    (tmp_path / "20000101-000000-eio" / "manifest.json").symlink_to("/proc/self/mem")
    assert main(["runs", "--out", str(tmp_path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["status"].split(":")[0] for r in rows) == ["complete", "unreadable", "unreadable"]


# --------------------------------------------------------------------------- 11: smaller


def test_yes_is_not_a_switch(project, capsys):
    assert main(["validate", write(project, TEXT.replace("ratifies: true", "ratifies: yes", 1))]) == 2
    assert "actors.ukraine_public.ratifies: write true or false (got yes" in err_of(capsys)


def test_two_merge_keys_in_one_mapping_are_refused(tmp_path, capsys):
    doc = "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: *a\n  <<: *b\n"
    assert main(["validate", write(tmp_path, doc)]) == 2
    assert "duplicate merge key `<<`" in err_of(capsys)


def test_a_symlink_in_seeds_is_refused(project, capsys):
    doc = next((project / "seeds").iterdir())
    real = project / "elsewhere.txt"
    shutil.move(doc, real)
    doc.symlink_to(real)
    assert main(["validate", write(project, TEXT)]) == 2
    assert "is a symbolic link" in err_of(capsys)


def test_code_version_comes_from_the_package_not_from_git(monkeypatch):
    def no_git(*args, **kwargs):
        raise AssertionError("code_version must not ask git")

    monkeypatch.setattr(subprocess, "run", no_git)
    version = store.code_version()
    assert version.startswith(sim.__version__ + "+src.") and len(version.split("+src.")[1]) == 12


def test_pyarrow_with_the_parquet_cve_is_not_admitted():
    assert '"pyarrow>=15"' in (ROOT / "pyproject.toml").read_text()
