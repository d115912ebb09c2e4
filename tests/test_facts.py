"""One source for each fact: help defaults, library defaults, the traceback switch, UsageError, dead code."""

from __future__ import annotations

import argparse
import inspect
import re
from pathlib import Path

import pytest

import sim
from sim import defaults as d
from sim.cli import main
from sim.cli.parser import EXPLAINED_OUTCOMES, build_parser
from sim.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _constants() -> set[str]:
    values: set[str] = set()
    for name in dir(d):
        value = getattr(d, name)
        if name.isupper():
            items = value.values() if isinstance(value, dict) else value if isinstance(value, tuple) else [value]
            values |= {str(v) for v in items}
    return values


def test_every_default_a_help_text_names_is_a_constant_of_sim_defaults():
    named = 0
    for command, parser in _subparsers().items():
        for action in parser._actions:
            text = (action.help or "") % {"default": action.default, "prog": parser.prog}
            for said in re.findall(r"default:? ([^;)]*)", text):
                numbers = re.findall(r"(?<![\w.])\d[\d_]*(?![\w.])", said)
                for n in numbers:
                    named += 1
                    assert n in _constants(), f"negsim {command} {action.dest}: help says {n}, no constant is"
    assert named >= 15


def test_the_block_size_help_says_the_engine_blocks():
    from sim.runs.batch import BLOCK

    help_text = _subparsers()["run"].format_help()
    assert f"{BLOCK['vector']} vector" in help_text.replace("\n", " ")
    assert "2000 vector" not in help_text


def test_the_library_signatures_use_the_same_defaults():
    from sim.play import dashboard, game
    from sim.play.classroom.room import Classroom
    from sim.runs.batch import run_batch
    from sim.runs.sweep import run_sweep
    from sim.scenario.models import SweepBlock

    def defaults(f):
        return {k: p.default for k, p in inspect.signature(f).parameters.items()}

    batch = defaults(run_batch)
    assert (batch["runs"], batch["seed"], batch["workers"], batch["engine"], batch["out"]) == (
        d.RUNS, d.SEED, d.WORKERS, d.ENGINES[0], d.OUT)
    sweep = defaults(run_sweep)
    assert (sweep["runs"], sweep["seed"], sweep["design"], sweep["out"]) == (d.SWEEP_RUNS, d.SEED, d.DESIGNS[0], d.OUT)
    fields = SweepBlock.model_fields
    assert (fields["runs"].default, fields["seed"].default, fields["design"].default) == (
        d.SWEEP_RUNS, d.SEED, d.DESIGNS[0])
    assert defaults(game.distribution)["runs"] == d.REFERENCE_RUNS
    room = defaults(Classroom)
    assert (room["runs"], room["state_dir"]) == (d.REFERENCE_RUNS, d.CLASSROOM_STATE)
    assert (defaults(dashboard.serve)["host"], defaults(dashboard.serve)["port"]) == (d.HOST, d.DASHBOARD_PORT)


def test_explain_offers_every_outcome_of_the_engine():
    from sim.engine.records import OUTCOMES

    assert sorted(EXPLAINED_OUTCOMES) == sorted(OUTCOMES)


# --------------------------------------------------------------------------- unexpected errors


@pytest.fixture
def broken_schema(monkeypatch):
    """`negsim schema` with a bug in it."""
    import sim.cli.parser

    def boom(args):
        raise RuntimeError("a bug deep inside")

    monkeypatch.setattr(sim.cli.parser, "cmd_schema", boom)
    monkeypatch.delenv("NEGSIM_DEBUG", raising=False)


def test_an_unexpected_error_is_one_line_with_a_hint(broken_schema, capsys):
    assert main(["schema"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines() == ["negsim: internal error: RuntimeError: a bug deep inside",
                                "negsim: NEGSIM_DEBUG=1 or --traceback prints the traceback"]


@pytest.mark.parametrize("how", ["env", "flag before", "flag after"])
def test_negsim_debug_or_traceback_prints_the_full_traceback(broken_schema, capsys, monkeypatch, how):
    argv = ["schema"]
    if how == "env":
        monkeypatch.setenv("NEGSIM_DEBUG", "1")
    else:
        argv = ["--traceback", "schema"] if how == "flag before" else ["schema", "--traceback"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert 'raise RuntimeError("a bug deep inside")' in err and "in boom" in err
    assert err.rstrip().endswith("negsim: internal error: RuntimeError: a bug deep inside")


def test_negsim_debug_0_is_off(broken_schema, capsys, monkeypatch):
    monkeypatch.setenv("NEGSIM_DEBUG", "0")
    assert main(["schema"]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_expected_errors_never_print_a_traceback(capsys, monkeypatch):
    monkeypatch.setenv("NEGSIM_DEBUG", "1")
    assert main(["run", str(ROOT / "scenarios" / "baseline.yaml"), "--runs", "0", "--out", "/proc/nope"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("negsim: ")


# --------------------------------------------------------------------------- errors and dead code


def test_usage_error_is_a_value_error():
    assert issubclass(UsageError, ValueError) and issubclass(sim.UsageError, sim.NegsimError)
    with pytest.raises(ValueError, match="engine must be one of"):
        sim.run_batch(ROOT / "scenarios" / "baseline.yaml", runs=10, engine="nope", out=None)


def test_a_sweep_over_the_level_limit_says_so(monkeypatch):
    from sim.runs.sweep import parse_spec

    monkeypatch.setenv("NEGSIM_MAX_LEVELS", "3")
    with pytest.raises(UsageError, match="more than the limit of 3"):
        parse_spec("actors.moscow.resolve", "0.1,0.2,0.3,0.4")
    with pytest.raises(UsageError, match="cannot read"):
        parse_spec("actors.moscow.resolve", "0.1,,0.3")


def test_dead_names_are_gone():
    import sim.scenario.models as models

    assert not hasattr(models, "VARIABLES")


def test_the_defaults_in_docs_scenarios_md_are_the_models():
    """docs/scenarios.md's key tables (held in schema_text) say the default each field of the schema has."""
    from pydantic_core import PydanticUndefined

    import sim.scenario.models as models
    from sim.scenario.schema_text import TEXT

    checked = 0
    for model, rows in TEXT.items():
        fields = getattr(models, model).model_fields
        for key, row in rows.items():
            default = fields[key].default
            if row["default"] == "required":
                assert default is PydanticUndefined and fields[key].default_factory is None, f"{model}.{key}"
                continue
            try:
                said = float(row["default"])
            except ValueError:
                continue  # words: "none", "[]", "all issues" ...
            value = default.value if isinstance(default, models.Param) else default
            assert float(value) == said, f"{model}.{key}: docs say {row['default']}, the schema has {value}"
            checked += 1
    assert checked >= 10


def test_a_checkout_that_is_not_installed_reads_the_version_of_its_pyproject(monkeypatch, tmp_path):
    import tomllib
    from importlib.metadata import PackageNotFoundError

    import sim.version as v

    def not_installed(name):
        raise PackageNotFoundError(name)

    monkeypatch.setattr(v, "_installed", not_installed)
    v.version.cache_clear()
    try:
        assert v.version() == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
        monkeypatch.setattr(v, "PYPROJECT", tmp_path / "pyproject.toml")
        v.version.cache_clear()
        assert v.version() == v.UNKNOWN
        (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\nversion = "9"\n')
        v.version.cache_clear()
        assert v.version() == v.UNKNOWN  # another project's file says nothing of negsim
    finally:
        v.version.cache_clear()


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_the_option_tables_of_docs_cli_md_give_the_parser_s_defaults(command):
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text[text.index(f"## `negsim {command} FILE`"):]
    section = section[:section.index("\n## ", 1)]
    parser = _subparsers()[command]
    options = {s: a for a in parser._actions for s in a.option_strings}
    checked = 0
    for option, said in re.findall(r"^\| `(--[\w-]+)[^`|]*` \| ([^|]+?) \|", section, flags=re.M):
        action = options[option]
        if action.dest == "block_size":
            expected = " / ".join(str(n) for n in d.BLOCK.values())
        elif action.dest == "backend":  # None: --scheduler decides, else local
            expected = d.BACKENDS[0]
        elif action.default is not None:
            expected = str(action.default)
        else:  # given by the scenario's sweep: block, else the constant the help names
            expected = re.findall(r"else (\w+)", action.help or "")[-1]
        assert said.strip("`") == expected, f"docs/cli.md, negsim {command} {option}: {said} (the parser: {expected})"
        checked += 1
    assert checked >= (6 if command == "run" else 2)
