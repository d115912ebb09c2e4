"""Bad scenario input gives a clear ScenarioError, never another exception.

Every bad scenario here is a small edit of scenarios/baseline.yaml (or a tiny
file) written to pytest's tmp_path. Each test checks the line, the key path
and the message of the problem it expects; line numbers are computed from the
edited text, so the tests follow edits of the baseline.

Tests marked xfail(strict=True) pin down bugs found in sim/: each says what
goes wrong, and will fail (XPASS) once the bug is fixed, as a reminder to
drop the marker.
"""

from __future__ import annotations

import copy
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import sim
from sim.errors import Problem, ScenarioError
from sim.scenario.yamlsrc import EXPONENT, MAX_NODES, parse_yaml

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
BASELINE = ROOT / "scenarios" / "baseline.yaml"
BASE_TEXT = BASELINE.read_text(encoding="utf-8")
BASE_DATA = yaml.safe_load(BASE_TEXT)
ACTORS = BASE_DATA["actors"]
KYIV = next(k for k, a in ACTORS.items() if a["role"] == "government" and a["side"] == "ukraine")
MOSCOW = next(k for k, a in ACTORS.items() if a["role"] == "government" and a["side"] == "russia")
KYIV_PUBLIC = next(k for k, a in ACTORS.items() if a["role"] == "public" and a["government"] == KYIV)
ISSUES = list(BASE_DATA["issues"])


# --------------------------------------------------------------------------- helpers


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def block(text: str, *keys: str) -> tuple[int, int]:
    """0-based (first, end) lines of the block-style key path ``keys`` (``first`` is the key's line)."""
    lines = text.splitlines()
    lo, hi, first = 0, len(lines), -1
    for key in keys:
        body = [i for i in range(first + 1, hi) if _content(lines[i])]
        assert body, f"no block under {keys}"
        depth = _indent(lines[body[0]])
        hits = [i for i in body if _indent(lines[i]) == depth and re.match(rf"\s*{re.escape(key)}:(\s|$)", lines[i])]
        assert len(hits) == 1, f"key {key!r} of {keys} found {len(hits)} times"
        first = hits[0]
        hi = next((i for i in range(first + 1, hi) if _content(lines[i]) and _indent(lines[i]) <= depth), hi)
        lo = first
    return lo, hi


def replace_block(text: str, keys: tuple[str, ...], new: str) -> tuple[str, int]:
    """Replace the key ``keys[-1]`` and its block by ``new`` (indented like the key).

    Returns the new text and the 1-based line of the replacement.
    """
    first, end = block(text, *keys)
    lines = text.splitlines(keepends=True)
    pad = " " * _indent(lines[first])
    repl = "".join(pad + line + "\n" for line in new.splitlines())
    return "".join(lines[:first]) + repl + "".join(lines[end:]), first + 1


def edit_in_block(text: str, keys: tuple[str, ...], pattern: str, repl: str) -> tuple[str, int]:
    """Regex-substitute the first match of ``pattern`` (a single-line match) inside the block of ``keys``.

    Returns the new text and the 1-based line of the edit.
    """
    first, end = block(text, *keys)
    lines = text.splitlines(keepends=True)
    for i in range(first, end):
        new, n = re.subn(pattern, repl, lines[i], count=1)
        if n:
            lines[i] = new
            return "".join(lines), i + 1
    raise AssertionError(f"{pattern!r} not found under {keys}")


def col_of(text: str, line: int) -> int:
    """1-based column where the content of 1-based ``line`` starts."""
    return _indent(text.splitlines()[line - 1]) + 1


def line_of(text: str, needle: str) -> int:
    """1-based line where ``needle`` (which must occur once) starts."""
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times"
    return text[: text.index(needle)].count("\n") + 1


@pytest.fixture
def write(tmp_path):
    """Write a scenario into tmp_path (beside a copy of seeds/); returns its path."""
    shutil.copytree(SEEDS, tmp_path / "seeds")

    def _write(content: str | bytes, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write


def check_format(problem: Problem, file: str) -> None:
    """A Problem prints as FILE:LINE:COL: key.path: message, on one line."""
    assert isinstance(problem, Problem)
    assert problem.file == file
    assert problem.line >= 1 and problem.col >= 1
    assert problem.message
    key = f" {problem.path}:" if problem.path else ""
    assert str(problem) == f"{problem.file}:{problem.line}:{problem.col}:{key} {problem.message}"
    assert "\n" not in str(problem), f"problem spans lines: {str(problem)!r}"


def problems_of(path: Path, *, check_evidence: bool = True) -> list[Problem]:
    """Load ``path``, expect a ScenarioError, check every problem's format and return them."""
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(path, check_evidence=check_evidence)
    problems = info.value.problems
    assert problems, "a ScenarioError must hold at least one problem"
    for p in problems:
        check_format(p, str(path))
    assert str(info.value) == "\n".join(str(p) for p in problems)
    return problems


def the(problems: list[Problem], path: str) -> Problem:
    """The one problem at key path ``path``."""
    found = [p for p in problems if p.path == path]
    assert len(found) == 1, f"expected one problem at {path!r}, got {[str(p) for p in problems]}"
    return found[0]


# --------------------------------------------------------------------------- shipped scenarios


SHIPPED = sorted(p for p in (ROOT / "scenarios").rglob("*.yaml") if "targets" not in p.parts)  # records: test_hindcast


def test_shipped_scenarios_are_found():
    assert BASELINE in SHIPPED


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_scenario_loads(path):
    scenario = sim.load_scenario(path)
    assert scenario.name
    assert scenario.model.actors


# --------------------------------------------------------------------------- schema errors


def test_duplicate_key(write):
    first = block(BASE_TEXT, "horizon_months")[0] + 1
    text, _ = replace_block(BASE_TEXT, ("horizon_months",), "horizon_months: 36\nhorizon_months: 12")
    path = write(text)
    p = the(problems_of(path), "horizon_months")
    assert p.line == first + 1
    assert p.col == 1
    assert "duplicate key" in p.message
    assert f"first given at line {first}" in p.message


def test_unknown_key_suggests_nearest(write):
    text, line = edit_in_block(BASE_TEXT, ("actors", KYIV, "resolve"), r"^(\s*)resolve:", r"\1resolv:")
    problems = problems_of(write(text))
    p = the(problems, f"actors.{KYIV}.resolv")
    assert p.line == line
    assert p.col == col_of(text, line)
    assert "unknown key" in p.message
    assert "did you mean 'resolve'?" in p.message
    assert "valid keys:" in p.message and "cost_sensitivity" in p.message
    # ... and the key it replaced is reported missing.
    assert the(problems, f"actors.{KYIV}.resolve").message == "required key is missing"


@pytest.mark.parametrize(
    ("keys", "new", "path", "expected"),
    [
        (("actors", KYIV, "resolve"), "resolve: high", f"actors.{KYIV}.resolve", "expected a number"),
        (("actors", KYIV, "resolve"), "resolve: {value: high}", f"actors.{KYIV}.resolve", "must be a number"),
        (("horizon_months",), "horizon_months: thirty", "horizon_months", "valid integer"),
    ],
    ids=["param", "param-value", "int"],
)
def test_wrong_type(write, keys, new, path, expected):
    text, line = replace_block(BASE_TEXT, keys, new)
    p = the(problems_of(write(text)), path)
    assert p.line == line
    assert expected in p.message
    got = new.split(":", 1)[1].strip(" {}").removeprefix("value: ")
    assert f"(got {got!r})" in p.message


def test_wrong_type_bool_for_int(write):
    text, line = replace_block(BASE_TEXT, ("horizon_months",), "horizon_months: true")
    p = the(problems_of(write(text)), "horizon_months")
    assert p.line == line
    assert "integer" in p.message and "True" in p.message


@pytest.mark.parametrize("form", ["resolve: 1.3", "resolve: {value: 1.3, assumption: too much}"])
def test_out_of_range(write, form):
    text, line = replace_block(BASE_TEXT, ("actors", KYIV, "resolve"), form)
    p = the(problems_of(write(text)), f"actors.{KYIV}.resolve")
    assert p.line == line
    assert p.col == col_of(text, line)
    assert "between 0 and 1" in p.message
    assert "got 1.3" in p.message


def test_missing_required_key(write):
    gov_line = block(BASE_TEXT, "actors", KYIV)[0] + 1
    first, end = block(BASE_TEXT, "actors", KYIV, "resolve")
    lines = BASE_TEXT.splitlines(keepends=True)
    text = "".join(lines[:first] + lines[end:])
    p = the(problems_of(write(text)), f"actors.{KYIV}.resolve")
    assert p.line == gov_line  # the object that lacks the key
    assert p.message == "required key is missing"


def test_missing_top_level_key(write):
    first, end = block(BASE_TEXT, "horizon_months")
    lines = BASE_TEXT.splitlines(keepends=True)
    text = "".join(lines[:first] + lines[end:])
    p = the(problems_of(write(text)), "horizon_months")
    top = next(i for i, line in enumerate(text.splitlines()) if _content(line))
    assert (p.line, p.col) == (top + 1, 1)  # the top-level mapping starts there
    assert p.message == "required key is missing"


# --------------------------------------------------------------------------- references


def test_red_line_names_unknown_issue(write):
    keys = ("actors", KYIV, "red_lines")
    text, line = edit_in_block(BASE_TEXT, keys, r"- issue: \w+", "- issue: no_such_issue")
    p = the(problems_of(write(text)), f"actors.{KYIV}.red_lines[0].issue")
    assert p.line == line
    assert "unknown issue 'no_such_issue'" in p.message
    assert f"known: {', '.join(ISSUES)}" in p.message


def test_red_line_suggests_near_issue(write):
    keys = ("actors", KYIV, "red_lines")
    issue = BASE_DATA["actors"][KYIV]["red_lines"][0]["issue"]
    text, line = edit_in_block(BASE_TEXT, keys, rf"- issue: {issue}\b", f"- issue: {issue[:-1]}")
    p = the(problems_of(write(text)), f"actors.{KYIV}.red_lines[0].issue")
    assert p.line == line
    assert f"did you mean {issue!r}?" in p.message


def test_public_of_unknown_government(write):
    text, line = replace_block(BASE_TEXT, ("actors", KYIV_PUBLIC, "government"), "government: kiev")
    p = the(problems_of(write(text)), f"actors.{KYIV_PUBLIC}.government")
    assert p.line == line
    assert "unknown government 'kiev'" in p.message
    assert f"known: {KYIV}, {MOSCOW}" in p.message


def test_red_line_forbids_unknown_option(write):
    keys = ("actors", KYIV, "red_lines")
    issue = BASE_DATA["actors"][KYIV]["red_lines"][0]["issue"]
    text, line = edit_in_block(BASE_TEXT, keys, r"forbid: \[[^\]]*\]", "forbid: [no_such_option]")
    p = the(problems_of(write(text)), f"actors.{KYIV}.red_lines[0].forbid[0]")
    assert p.line == line
    assert f"unknown option of {issue} 'no_such_option'" in p.message
    assert ", ".join(BASE_DATA["issues"][issue]["options"]) in p.message


def test_saliences_not_summing_to_one(write):
    keys = ("actors", KYIV, "salience")
    values = [v for k, v in BASE_DATA["actors"][KYIV]["salience"].items() if k in ISSUES]
    text, _ = edit_in_block(
        BASE_TEXT, keys, r"^(\s+\w+: )([0-9.]+)\s*$", lambda m: f"{m.group(1)}{float(m.group(2)) + 0.1:g}\n"
    )
    p = the(problems_of(write(text)), f"actors.{KYIV}.salience")
    assert p.line == block(text, *keys)[0] + 1
    assert "saliences must sum to 1" in p.message
    assert f"(got {sum(values) + 0.1:g})" in p.message


# --------------------------------------------------------------------------- uncertain parameters


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("{dist: beta, a: -1, b: 2}", ["scipy cannot build beta", "'a': -1.0"]),
        ("{dist: uniform, low: 0.6, high: 0.5}", ["scipy cannot build uniform", "'low': 0.6"]),
        ("{dist: triangular, low: 0.5, mode: 0.5, high: 0.5}", ["scipy cannot build triangular"]),
        ("{dist: gaussian, mean: 0.5, sd: 0.1}", ["dist must be one of normal, truncnormal", "(got 'gaussian')"]),
        ("{dist: normal, mean: 0.5, sd: 0.1}", ["normal can draw values outside the allowed range between 0 and 1"]),
        ("{dist: lognormal, mu: -1, sigma: 0.5}", ["outside the allowed range between 0 and 1"]),
        ("{dist: beta, a: 2}", ["beta needs a, b", "missing b"]),
        ("{dist: beta, a: 2, b: 2, c: 1}", ["beta takes a, b, low, high", "unknown key 'c'"]),
        ("{dist: beta, a: two, b: 2}", ["beta parameter a must be a number", "(got 'two')"]),
    ],
    ids=["beta-negative", "uniform-reversed", "triangular-degenerate", "unknown-dist",
         "normal-unbounded", "lognormal-above-1", "missing-arg", "extra-arg", "string-arg"],
)
def test_bad_uncertain_parameter(write, spec, expected):
    text, line = replace_block(BASE_TEXT, ("actors", KYIV, "resolve"), f"resolve: {spec}")
    p = the(problems_of(write(text)), f"actors.{KYIV}.resolve")
    assert p.line == line
    for part in expected:
        assert part in p.message


def test_uncertain_parameter_in_range_loads(write):
    text, _ = replace_block(BASE_TEXT, ("actors", KYIV, "resolve"), "resolve: {dist: beta, a: 3, b: 5}")
    scenario = sim.load_scenario(write(text))
    resolve = scenario.model.actors[KYIV].resolve
    assert resolve.uncertain and resolve.dist == "beta"


def test_dist_name_not_a_string(write):
    text, line = replace_block(BASE_TEXT, ("actors", KYIV, "resolve"), "resolve: {dist: [beta], a: 2, b: 2}")
    p = the(problems_of(write(text)), f"actors.{KYIV}.resolve")
    assert p.line == line
    assert "dist must be one of" in p.message


def test_value_holding_a_dist_is_not_silently_dropped(write):
    text, _ = replace_block(BASE_TEXT, ("actors", KYIV, "resolve"), "resolve: {value: {dist: beta, a: 2, b: 2}}")
    try:
        scenario = sim.load_scenario(write(text))
    except ScenarioError:
        return  # refusing it is fine
    resolve = scenario.model.actors[KYIV].resolve
    assert resolve.value is not None or resolve.dist is not None


# --------------------------------------------------------------------------- malformed YAML


def test_tab_indentation(write):
    keys = ("issues", ISSUES[0], "options")
    text, line = edit_in_block(BASE_TEXT, keys, r"^ +options:", "\toptions:")
    p = the(problems_of(write(text)), "")
    assert p.line == line
    assert p.col == 1
    assert p.message.startswith("malformed YAML")
    assert "'\\t'" in p.message or "tab" in p.message


def test_tab_indentation_hint(write):
    text, _ = edit_in_block(BASE_TEXT, ("issues", ISSUES[0], "options"), r"^ +options:", "\toptions:")
    p = the(problems_of(write(text)), "")
    assert "use spaces" in p.message


def test_bad_indentation(write):
    keys = ("issues", ISSUES[0], "label")
    depth = _indent(BASE_TEXT.splitlines()[block(BASE_TEXT, *keys)[0]])
    text, line = edit_in_block(BASE_TEXT, keys, r"^( *label:.*)$", rf"\1\n{' ' * (depth - 1)}note: one space short")
    p = the(problems_of(write(text)), "")
    assert p.line == line + 1
    assert p.col == depth  # where the short-indented key starts
    assert p.message.startswith("malformed YAML")
    assert "expected" in p.message and "found" in p.message


UNCLOSED = 'name: "baseline\nstart: 2024-11\nhorizon_months: 36\n'


def test_unclosed_quote(write):
    p = the(problems_of(write(UNCLOSED)), "")
    assert p.message.startswith("malformed YAML")
    assert 1 <= p.line <= UNCLOSED.count("\n") + 1


def test_unclosed_quote_points_at_the_quote(write):
    p = the(problems_of(write(UNCLOSED)), "")
    assert p.line == 1 or "line 1" in p.message
    assert "quoted" in p.message


def test_unclosed_flow_sequence(write):
    text, line = replace_block(BASE_TEXT, ("start",), "start: [2024-11\nnote: 1")
    p = the(problems_of(write(text)), "")
    assert p.line == line + 1
    assert "expected ',' or ']'" in p.message


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n"], ids=["empty", "blank", "comment"])
def test_empty_file(write, content):
    p = the(problems_of(write(content)), "")
    assert (p.line, p.col) == (1, 1)
    assert p.message == "empty file: expected a scenario mapping"


@pytest.mark.parametrize(
    ("content", "kind"),
    [("- a\n- b\n", "(got a list: ['a', 'b'])"), ("hello\n", "(got a str: 'hello')"), ("42\n", "(got a int: 42)"),
     ("null\n", "None)"), ("---\n", "None)")],
    ids=["list", "string", "number", "null", "bare-marker"],
)
def test_document_not_a_mapping(write, content, kind):
    p = the(problems_of(write(content)), "")
    assert p.line <= 2
    assert p.message.startswith("expected a mapping of scenario keys at the top level")
    assert p.message.endswith(kind)


def test_python_object_tag_is_refused(write, tmp_path):
    marker = tmp_path / "pwned"
    text = f'!!python/object/apply:os.system ["touch {marker}"]\n'
    p = the(problems_of(write(text)), "")
    assert p.line == 1
    assert "tag:yaml.org,2002:python/object/apply:os.system" in p.message
    assert "not allowed" in p.message
    assert not marker.exists()


def test_python_object_tag_inside_scenario(write, tmp_path):
    marker = tmp_path / "pwned"
    text, line = replace_block(BASE_TEXT, ("horizon_months",), f'horizon_months: !!python/object/apply:os.system ["touch {marker}"]')
    p = the(problems_of(write(text)), "horizon_months")
    assert p.line == line
    assert "python/object/apply:os.system is not allowed" in p.message
    assert not marker.exists()


def _bomb(levels: int = 9, width: int = 10) -> str:
    text = "a0: &a0 [" + ", ".join(['"lol"'] * width) + "]\n"
    for i in range(1, levels):
        text += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]\n"
    return text  # expands to about width ** levels nodes


def test_alias_bomb_fails_fast(write, monkeypatch):
    """The bomb expands to about 10**9 nodes; the walker stops at the cap: its work is counted, not timed."""
    from sim.scenario import yamlsrc

    built = 0
    build = yamlsrc._Walker._build

    def counted(self, node, path):
        nonlocal built
        built += 1
        return build(self, node, path)

    monkeypatch.setattr(yamlsrc._Walker, "_build", counted)
    problems = problems_of(write(_bomb()))
    assert MAX_NODES < built < MAX_NODES + 1_000, f"{built} nodes built for an alias bomb"
    assert len(problems) == 1
    assert f"more than {MAX_NODES} nodes" in problems[0].message
    assert "alias bomb" in problems[0].message


def test_aliases_below_the_limit_are_fine():
    data = parse_yaml(_bomb(levels=3), "x.yaml").data
    assert len(data["a2"]) == 10 and data["a2"][0] == data["a1"] and data["a1"][0] == ["lol"] * 10


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"name: x\x00\x01\x02\xff", "binary file: expected YAML text (found NUL bytes)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", "binary file"),
        (b"name: caf\xe9\n", "not UTF-8 text (byte 0xe9 at offset 9)"),
    ],
    ids=["nul", "png", "latin-1"],
)
def test_binary_file(write, content, expected):
    p = the(problems_of(write(content)), "")
    assert p.line == 1
    assert expected in p.message


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    p = the(problems_of(path), "")
    assert "cannot read file" in p.message


# --------------------------------------------------------------------------- odd inputs


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a: !!float abc\n", id="float-tag"),
        pytest.param("a: !!int abc\n", id="int-tag"),
        pytest.param("a: !!bool abc\n", id="bool-tag"),
        pytest.param("a: " + "9" * 5000 + "\n", id="int-over-4300-digits"),
        pytest.param("? !!float abc\n: 1\n", id="float-key"),
        pytest.param("a: 1\n<<: 5\n", id="bad-merge"),
        pytest.param("a: &a [*a]\n", id="recursive-alias"),
        pytest.param("a: &a {b: *a}\n", id="recursive-map"),
        pytest.param("a: " + "[" * 1000 + "]" * 1000 + "\n", id="deep-nesting"),
        pytest.param("a: !!str 5\nb: !!null ''\n", id="valid-core-tags"),
        pytest.param("x: &x {p: 1}\ny:\n  <<: *x\n  q: 2\n", id="valid-merge"),
    ],
)
def test_odd_yaml_is_read_or_refused_cleanly(text):
    try:
        parse_yaml(text, "x.yaml")
    except ScenarioError as exc:
        for p in exc.problems:
            check_format(p, "x.yaml")


def test_control_character_is_one_clear_line():
    with pytest.raises(ScenarioError) as info:
        parse_yaml("name: x\nnote: bell \x07\n", "x.yaml")
    p = the(info.value.problems, "")
    check_format(p, "x.yaml")
    assert p.line == 2


def test_long_evidence_doc_name(write):
    text, line = edit_in_block(BASE_TEXT, ("actors", KYIV, "red_lines"), r"doc: \S+", "doc: " + "a" * 300)
    p = the(problems_of(write(text)), f"actors.{KYIV}.red_lines[0].evidence.doc")
    assert p.line == line


def test_long_extends_name(write):
    p = the(problems_of(write("extends: " + "b" * 300 + ".yaml\nname: x\n")), "extends")
    assert p.line == 1
    assert "no scenario file to extend" in p.message


# --------------------------------------------------------------------------- gaps in validation


def test_exclusions_removing_every_package(write):
    issue = ISSUES[0]
    options = ", ".join(BASE_DATA["issues"][issue]["options"])
    text = BASE_TEXT.rstrip("\n") + f"\nexclude:\n  - match: {{{issue}: [{options}]}}\n    assumption: all\n"
    problems = problems_of(write(text))
    assert any(p.path.startswith("exclude") for p in problems)


def test_event_value_out_of_range(write):
    text, _ = replace_block(BASE_TEXT, ("events",), f"events:\n  - month: 3\n    set: {{actors.{KYIV}.resolve: 5}}\n    assumption: x")
    p = the(problems_of(write(text)), f"events[0].set.actors.{KYIV}.resolve")
    assert p.line == line_of(text, "set: {")
    assert ("<= 1" in p.message or "between 0 and 1" in p.message) and "(got 5)" in p.message


def test_evidence_doc_outside_seeds_is_refused(write, tmp_path):
    secret = tmp_path / "private" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("The password is hunter2.", encoding="utf-8")
    text, _ = edit_in_block(BASE_TEXT, ("actors", KYIV, "red_lines"), r"doc: \S+", f"doc: {secret}")
    problems = problems_of(write(text))
    assert not any("hunter2" in p.message for p in problems)
    assert any("not found in seeds/" in p.message for p in problems)


# --------------------------------------------------------------------------- evidence


def test_quote_not_in_document(write):
    keys = ("actors", KYIV, "red_lines")
    quote = BASE_DATA["actors"][KYIV]["red_lines"][0]["evidence"]["quote"]
    words = quote.split()
    changed = " ".join([*words[:2], "NEVER", *words[3:]])
    text, line = edit_in_block(BASE_TEXT, keys, re.escape(f'quote: "{quote}"'), f'quote: "{changed}"')
    p = the(problems_of(write(text)), f"actors.{KYIV}.red_lines[0].evidence.quote")
    assert p.line == line
    doc = BASE_DATA["actors"][KYIV]["red_lines"][0]["evidence"]["doc"]
    assert f"quote not found in {doc}" in p.message
    assert f"(got {changed[:60]!r})" in p.message
    passage = p.message.split("closest passage: ", 1)[1]
    assert " ".join(words[3:8]) in passage  # the sentence the quote came from


def test_quote_not_in_document_for_a_number(write):
    keys = ("battlefield", "territory_km2", "evidence", "quote")
    text, _ = edit_in_block(BASE_TEXT, keys, r"\d[\d,]*", "999,999")
    p = the(problems_of(write(text)), "battlefield.territory_km2.evidence.quote")
    assert p.line == block(text, "battlefield", "territory_km2", "evidence", "quote")[0] + 1
    assert "quote not found" in p.message and "999,999" in p.message
    assert "closest passage:" in p.message


def test_quotes_normalise_whitespace_and_quote_marks(write):
    keys = ("actors", KYIV, "red_lines")
    quote = BASE_DATA["actors"][KYIV]["red_lines"][0]["evidence"]["quote"]
    spaced = quote.replace(" ", "   ", 2)
    text, _ = edit_in_block(BASE_TEXT, keys, re.escape(f'quote: "{quote}"'), f'quote: "{spaced}"')
    assert sim.load_scenario(write(text)).name


def test_evidence_document_missing(write):
    keys = ("actors", KYIV, "red_lines")
    text, line = edit_in_block(BASE_TEXT, keys, r"doc: \S+", "doc: no_such_document.txt")
    p = the(problems_of(write(text)), f"actors.{KYIV}.red_lines[0].evidence.doc")
    assert p.line == line
    assert p.message.startswith("evidence document 'no_such_document.txt' not found in seeds/ (looked in ")


def test_evidence_without_seeds_folder(tmp_path, monkeypatch):
    """A copy outside the project finds the installed seeds; a document found nowhere names every folder tried."""
    path = tmp_path / "scenario.yaml"
    path.write_text(BASE_TEXT, encoding="utf-8")
    assert sim.load_scenario(path).name  # the seeds installed with negsim
    path.write_text(BASE_TEXT.replace("000_73fce2beaa62e326.txt", "elsewhere.txt"), encoding="utf-8")
    monkeypatch.setenv("NEGSIM_SEEDS", str(tmp_path / "from_env"))
    problems = problems_of(path)
    assert len(problems) == 1  # once per missing document, not once per quote
    message = problems[0].message
    cited = sum(1 for line in BASE_TEXT.splitlines() if line.strip().startswith("doc: 000_73fce2beaa62e326.txt"))
    assert cited > 1
    assert "not found in seeds/" in message and f"cited by {cited} evidence entries" in message
    for folder in (tmp_path, tmp_path / "seeds", tmp_path.parent / "seeds", tmp_path / "from_env"):
        assert f"{folder}," in message or f"{folder};" in message
    sim.load_scenario(path, check_evidence=False)  # the rest of the file is fine
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "elsewhere.txt").write_text((ROOT / "seeds" / "000_73fce2beaa62e326.txt").read_text())
    assert sim.load_scenario(path, seeds=[tmp_path / "docs"]).name
    monkeypatch.setenv("NEGSIM_SEEDS", str(tmp_path / "docs"))
    assert sim.load_scenario(path).name


# --------------------------------------------------------------------------- all problems at once


def test_three_schema_errors_reported_together(write):
    text, l1 = replace_block(BASE_TEXT, ("horizon_months",), "horizon_months: 0")
    text, l2 = replace_block(text, ("actors", KYIV, "resolve"), "resolve: 1.3")
    text, l3 = replace_block(text, ("actors", MOSCOW, "cost_sensitivity"), "cost_sensitivity: -1")
    problems = problems_of(write(text))
    assert [(p.path, p.line) for p in problems] == [
        ("horizon_months", l1), (f"actors.{KYIV}.resolve", l2), (f"actors.{MOSCOW}.cost_sensitivity", l3)]
    assert "(got 0)" in problems[0].message and "1.3" in problems[1].message and "-1" in problems[2].message


def test_three_reference_errors_reported_together(write):
    text, l1 = edit_in_block(BASE_TEXT, ("actors", KYIV, "red_lines"), r"- issue: \w+", "- issue: nowhere")
    text, l2 = replace_block(text, ("actors", KYIV_PUBLIC, "government"), "government: kiev")
    text, l3 = edit_in_block(text, ("actors", MOSCOW, "red_lines"), r"forbid: \[[^\]]*\]", "forbid: [never]")
    problems = problems_of(write(text))
    assert len(problems) == 3
    assert [(p.path, p.line) for p in problems] == sorted(
        [(f"actors.{KYIV}.red_lines[0].issue", l1), (f"actors.{KYIV_PUBLIC}.government", l2),
         (f"actors.{MOSCOW}.red_lines[0].forbid[0]", l3)], key=lambda t: t[1])


def test_three_evidence_errors_reported_together(write):
    text, l1 = edit_in_block(BASE_TEXT, ("actors", KYIV, "red_lines"), r"doc: \S+", "doc: gone1.txt")
    text, l2 = edit_in_block(text, ("actors", MOSCOW, "red_lines"), r"doc: \S+", "doc: gone2.txt")
    text, l3 = edit_in_block(text, ("issues",), r"doc: \S+", "doc: gone3.txt")
    problems = problems_of(write(text))
    assert sorted(p.line for p in problems) == sorted([l1, l2, l3])


def test_key_with_a_line_break_is_one_line(write):
    text, line = edit_in_block(BASE_TEXT, ("issues",), r"^issues:$", lambda m: 'issues:\n  "bad\\nkey": 5')
    problems = problems_of(write(text))  # checks that every problem prints on one line
    assert any(p.line == line + 1 for p in problems)


def test_schema_and_quote_problems_reported_together(write):
    text, _ = replace_block(BASE_TEXT, ("horizon_months",), "horizon_months: 0")
    text, _ = edit_in_block(text, ("actors", MOSCOW, "red_lines"), r"doc: \S+", "doc: gone.txt")
    problems = problems_of(write(text))
    assert len(problems) == 2
    assert {p.path for p in problems} == {"horizon_months", f"actors.{MOSCOW}.red_lines[0].evidence.doc"}


@pytest.mark.xfail(strict=True, reason="sim/scenario/models.py load_scenario: cross-reference checks run only when the "
                   "schema validates (schema and quote problems are reported together); a file with errors of all "
                   "three kinds reports two")
def test_errors_of_different_kinds_reported_together(write):
    text, _ = replace_block(BASE_TEXT, ("horizon_months",), "horizon_months: 0")
    text, _ = replace_block(text, ("actors", KYIV_PUBLIC, "government"), "government: kiev")
    text, _ = edit_in_block(text, ("actors", MOSCOW, "red_lines"), r"doc: \S+", "doc: gone.txt")
    problems = problems_of(write(text))
    assert len(problems) == 3


# --------------------------------------------------------------------------- properties

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODEST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# control characters in text are refused (issue 11), so the round trip is over printable text
texts = st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**9), 10**9), st.floats(allow_nan=False), st.text(texts, max_size=20)
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(texts, max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
SCHEMA_WORDS = ["name", "start", "horizon_months", "issues", "actors", "battlefield", "negotiation", "events",
                "role", "government", "public", "mediator", "side", "ukraine", "russia", "dist", "beta", "value",
                "options", "no_deal", "extends", "evidence", "doc", "quote", "exclude", "match"]
schema_like = st.recursive(
    scalars | st.sampled_from(SCHEMA_WORDS),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from(SCHEMA_WORDS), children, max_size=5)
    ),
    max_leaves=25,
)


def _only_scenario_errors(call) -> None:
    try:
        call()
    except ScenarioError as exc:
        assert exc.problems
        for p in exc.problems:
            assert isinstance(p, Problem) and p.line >= 1 and p.col >= 1 and p.message


@FAST
@given(st.text())
def test_parse_random_text(text):
    _only_scenario_errors(lambda: parse_yaml(text, "x.yaml"))


@FAST
@given(st.binary())
def test_parse_random_bytes(raw):
    _only_scenario_errors(lambda: parse_yaml(raw, "x.yaml"))


@MODEST
@given(st.dictionaries(st.text(texts, max_size=12), documents, max_size=5))
def test_dumped_mappings_round_trip(data):
    # By design a plain 1e3 is a number in a scenario (YAML 1.1 would read text); such text must be quoted.
    assume(not any(isinstance(v, str) and EXPONENT.match(v) for v in _leaves(data)))
    assert parse_yaml(yaml.safe_dump(data), "x.yaml").data == data


def _leaves(data):
    if isinstance(data, dict):
        for k, v in data.items():
            yield k
            yield from _leaves(v)
    elif isinstance(data, list):
        for v in data:
            yield from _leaves(v)
    else:
        yield data


@MODEST
@given(documents)
def test_parse_dumped_documents(data):
    _only_scenario_errors(lambda: parse_yaml(yaml.safe_dump(data), "x.yaml"))


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(SEEDS, folder / "seeds")
    return folder


@MODEST
@given(st.one_of(st.text(), schema_like.map(yaml.safe_dump)))
def test_load_random_files(fuzz_dir, text):
    path = fuzz_dir / "random.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _only_scenario_errors(lambda: sim.load_scenario(path))


def _paths(data, prefix=()):
    yield prefix
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for k, v in items:
        yield from _paths(v, (*prefix, k))


BASE_PATHS = list(_paths(BASE_DATA))[1:]


mutations = st.lists(
    st.tuples(st.sampled_from(BASE_PATHS), st.sampled_from(["set", "delete", "add"]), schema_like),
    min_size=1, max_size=3,
)


def _mutate(data, muts):
    data = copy.deepcopy(data)
    for path, op, value in muts:
        node = data
        try:
            for part in path[:-1]:
                node = node[part]
            if op == "set":
                node[path[-1]] = value
            elif op == "delete":
                del node[path[-1]]
            elif isinstance(node[path[-1]], dict):
                node[path[-1]][f"extra_{len(node[path[-1]])}"] = value
            elif isinstance(node[path[-1]], list):
                node[path[-1]].append(value)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation removed or replaced this path
    return data


def _load_mutated(folder: Path, muts) -> None:
    path = folder / "mutated.yaml"
    path.write_text(yaml.safe_dump(_mutate(BASE_DATA, muts), allow_unicode=True), encoding="utf-8")
    _only_scenario_errors(lambda: sim.load_scenario(path, check_evidence=False))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations)
def test_load_mutated_baseline(fuzz_dir, muts):
    _load_mutated(fuzz_dir, muts)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations)
def test_load_mutated_baseline_long(fuzz_dir, muts):
    _load_mutated(fuzz_dir, muts)


# --------------------------------------------------------------------------- the package cap


def _with_extra_issues(tmp_path: Path, count: int, options: int) -> Path:
    data = copy.deepcopy(BASE_DATA)
    for i in range(count):
        data["issues"][f"extra{i}"] = {"options": {f"o{j}": j / (options - 1) for j in range(options)},
                                       "no_deal": {"position": 0.5}, "assumption": "a test of the package cap"}
        for actor in data["actors"].values():
            if actor["role"] == "government":  # weightless issues: the scenario stays valid and its runs unchanged
                actor["salience"][f"extra{i}"] = 0.0
                actor.setdefault("ideal", {})[f"extra{i}"] = 0.5
    path = tmp_path / "many_issues.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds", dirs_exist_ok=True)
    return path


def test_a_package_space_too_large_to_enumerate_is_searched(tmp_path):
    """A 3 KB file of many issues once made 48 million packages and used 7 GB before failing (issue 21, 6).

    Above the limit the engine enumerates (NEGSIM_MAX_PACKAGES) it searches (issue 18): 4.8 billion packages
    compile in seconds, issue by issue, with no package listed, and run.
    """
    from sim.runs.batch import simulate_block
    from sim.scenario.compile import compile_scenario

    path = _with_extra_issues(tmp_path, count=8, options=10)  # 48 x 10**8 packages
    started = time.perf_counter()
    c = compile_scenario(sim.load_scenario(path))
    assert time.perf_counter() - started < 30
    assert c.searched and c.n_packages == 4_800_000_000 and c.packages.shape[0] == 0
    assert len(simulate_block(c, 1, 0, 20)) == 20


def test_a_package_space_beyond_int64_is_refused_at_its_issues_key(tmp_path):
    from sim.scenario.compile import compile_scenario

    path = _with_extra_issues(tmp_path, count=19, options=10)  # 48 x 10**19 packages: no int64 numbers them
    with pytest.raises(ScenarioError) as err:
        compile_scenario(sim.load_scenario(path))
    (problem,) = err.value.problems
    check_format(problem, str(path))
    assert problem.path == "issues" and problem.line > 0
    assert "480,000,000,000,000,000,000 packages" in problem.message and "int64" in problem.message


def test_negsim_max_packages_sets_the_limit_of_the_enumeration(tmp_path, monkeypatch):
    from sim.scenario.compile import compile_scenario

    path = _with_extra_issues(tmp_path, count=1, options=3)  # 48 x 3 = 144 packages
    monkeypatch.setenv("NEGSIM_MAX_PACKAGES", "143")
    searched = compile_scenario(sim.load_scenario(path))
    assert searched.searched and searched.n_packages == 144
    monkeypatch.setenv("NEGSIM_MAX_PACKAGES", "144")
    listed = compile_scenario(sim.load_scenario(path))
    assert not listed.searched and listed.n_packages == 144 and listed.packages.shape == (144, 4)


def test_a_bad_negsim_max_packages_is_bad_input():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "sim", "validate", str(BASELINE)], capture_output=True, text=True,
                          env={**__import__("os").environ, "NEGSIM_MAX_PACKAGES": "٢"}, cwd=ROOT, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "NEGSIM_MAX_PACKAGES must be a whole number >= 1 (got '٢')" in done.stderr
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- numbers too large for the model


@pytest.mark.parametrize("value", [1e308, -1e308, 1e13])
def test_a_number_too_large_for_the_model_is_refused_where_it_is_written(tmp_path, value):
    """±1e308 in an unbounded position used to overflow to inf in the results (issue 21, point 13)."""
    data = copy.deepcopy(BASE_DATA)
    data["battlefield"]["monthly_change_km2"]["mean"]["value"] = value
    mediator = next(k for k, a in ACTORS.items() if a["role"] == "mediator")
    data["actors"][mediator]["leverage"][KYIV] = abs(value)
    path = tmp_path / "large.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds", dirs_exist_ok=True)
    with pytest.raises(ScenarioError) as err:
        sim.load_scenario(path)
    found = {p.path: p.message for p in err.value.problems}
    assert "must be at most 1e+12 in size" in found["battlefield.monthly_change_km2.mean"]
    assert "must be at most 1e+12 in size" in found[f"actors.{mediator}.leverage.{KYIV}"]


def test_a_distribution_drawing_numbers_too_large_for_the_model_is_refused(tmp_path):
    data = copy.deepcopy(BASE_DATA)
    data["battlefield"]["monthly_change_km2"]["mean"] = {"dist": "normal", "mean": 480, "sd": 1e300,
                                                         "assumption": "a test"}
    path = tmp_path / "wide.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds", dirs_exist_ok=True)
    with pytest.raises(ScenarioError, match="normal parameter sd must be at most 1e"):
        sim.load_scenario(path)


def test_an_override_too_large_for_the_model_is_refused():
    from sim.errors import UsageError

    with pytest.raises(UsageError, match="at most 1e\\+12 in size"):
        sim.run_batch(sim.load_scenario(BASELINE), runs=10, out=None,
                      overrides={"battlefield.monthly_change_km2.mean": -1e308})


@pytest.mark.slow  # a 20,000-event file takes several seconds to validate
def test_a_long_document_without_aliases_is_not_taken_for_an_alias_bomb(tmp_path):
    """20,000 timed events (about 120,000 nodes, written out) were refused as an 'alias bomb?' (issue 21, 13)."""
    data = copy.deepcopy(BASE_DATA)
    data["events"] = [{"month": 1 + i % 36, "set": {f"actors.{KYIV}.resolve": 0.5 + (i % 7) / 100},
                       "assumption": "a long list of events"} for i in range(20_000)]
    path = tmp_path / "many_events.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds", dirs_exist_ok=True)
    assert len(sim.load_scenario(path).model.events) == 20_000


# --------------------------------------------------------------------------- model v3: instruments, partial deals, events with a chance


@pytest.fixture
def variant(write):
    """Write baseline.yaml and a variant of it (``extends: baseline.yaml`` + ``body``); returns (path, text)."""

    def _variant(body: str) -> tuple[Path, str]:
        write(BASE_TEXT, "baseline.yaml")
        text = "extends: baseline.yaml\nname: v3\n" + body
        return write(text), text

    return _variant


def test_event_needs_exactly_one_of_month_or_hazard(variant):
    path, text = variant(f"events:\n  - month: 3\n    hazard: 0.1\n    set: {{actors.{KYIV}.resolve: 0.4}}\n"
                         f"  - set: {{actors.{KYIV}.resolve: 0.4}}\n")
    problems = problems_of(path)
    both, neither = the(problems, "events[0]"), the(problems, "events[1]")
    assert both.line == line_of(text, "- month: 3") and "exactly one of `month`" in both.message
    assert "(got both)" in both.message
    assert neither.line == line_of(text, "  - set:") and "(got neither)" in neither.message


def test_at_most_eight_events_with_a_hazard(variant):
    from sim.engine.shocks import STREAMS
    from sim.scenario.registry import MAX_HAZARD_EVENTS

    assert len(STREAMS["events"][1]) == MAX_HAZARD_EVENTS == 8
    events = "".join(f"  - hazard: 0.0{i + 1}\n    set: {{actors.{KYIV}.resolve: 0.4}}\n" for i in range(9))
    path, text = variant("events:\n" + events)
    p = the(problems_of(path), "events[8].hazard")
    assert p.line == line_of(text, "hazard: 0.09")
    assert p.message == "at most 8 events with a `hazard` (got 9)"


def test_an_event_with_a_hazard_cannot_set_a_starting_value(variant):
    path, _ = variant("events:\n  - hazard: 0.1\n    set: {battlefield.territory_km2: 100000}\n")
    p = the(problems_of(path), "events[0].set.battlefield.territory_km2")
    assert "only a month-0 event can set it (got an event with a hazard)" in p.message


def test_instrument_owner_must_name_a_mediator(variant):
    path, text = variant("instruments:\n  us_aid:\n    owner: usa\n")
    p = the(problems_of(path), "instruments.us_aid.owner")
    assert p.line == line_of(text, "owner: usa")
    assert "unknown mediator 'usa'; did you mean 'us'?" in p.message
    assert "(known: us, eu_uk)" in p.message


def test_a_stick_must_mean_something(variant):
    path, text = variant("instruments:\n"
                         "  us_aid:\n    stick: {level: 2}\n"
                         "  sanctions:\n    stick: {level: 0.5}\n"
                         "  idle_aid:\n    kind: aid\n    stick: {level: 0}\n"
                         "  cheap_sanctions:\n    kind: sanctions\n    front_km2: 50\n")
    problems = problems_of(path)
    aid = the(problems, "instruments.us_aid.stick.level")
    assert aid.line == line_of(text, "stick: {level: 2}")
    assert aid.message == "a stick on aid must lower its level while the target refuses talks (below level 1; got 2)"
    assert "must raise its level" in the(problems, "instruments.sanctions.stick.level").message
    assert "means nothing: the aid has no effect" in the(problems, "instruments.idle_aid.stick").message
    assert "means nothing for sanctions" in the(problems, "instruments.cheap_sanctions.front_km2").message


def test_partial_deal_and_guarantee_values_name_governments(variant):
    path, text = variant("partial_deals:\n  prisoner_exchange:\n    value: {kiev: 0.01}\n"
                         "  energy_moratorium:\n    cost_cut: {moscou: 0.1}\n"
                         "negotiation:\n  guarantee:\n    value: {ukraine: 0.02}\n")
    problems = problems_of(path)
    p = the(problems, "partial_deals.prisoner_exchange.value.kiev")
    assert p.line == line_of(text, "{kiev: 0.01}")
    assert "unknown government 'kiev'; did you mean 'kyiv'?" in p.message
    assert "did you mean 'moscow'?" in the(problems, "partial_deals.energy_moratorium.cost_cut.moscou").message
    assert "unknown government 'ukraine'" in the(problems, "negotiation.guarantee.value.ukraine").message


def test_minimum_names_an_issue_and_stays_in_its_range(variant):
    path, text = variant(f"actors:\n  {KYIV}:\n    minimum:\n      land_returned: -1.5\n      crimea_status: 1.2\n"
                         f"      crimea: 0.5\n")
    problems = problems_of(path)
    land = the(problems, f"actors.{KYIV}.minimum.land_returned")
    assert land.line == line_of(text, "land_returned: -1.5")
    assert land.message == "a land minimum is a land share between -1 and 1 (got -1.5)"
    pos = the(problems, f"actors.{KYIV}.minimum.crimea_status")
    assert pos.message == "a position minimum is a level between 0 and 1 (got 1.2)"
    assert "unknown issue 'crimea'" in the(problems, f"actors.{KYIV}.minimum.crimea").message


def test_an_uncertain_minimum_must_stay_in_its_range(variant):
    path, _ = variant(f"actors:\n  {KYIV}:\n    minimum:\n      crimea_status: {{dist: uniform, low: -0.5, high: 0.5}}\n")
    p = the(problems_of(path), f"actors.{KYIV}.minimum.crimea_status")
    assert "a position minimum is a level between 0 and 1 (got uniform(high=0.5, low=-0.5))" == p.message


def test_at_most_four_partial_deals(variant):
    deals = "".join(f"  deal{i}:\n    kind: humanitarian\n    rate: 0.1\n    value: {{{KYIV}: 0.01}}\n" for i in range(2))
    path, text = variant("partial_deals:\n" + deals)
    p = the(problems_of(path), "partial_deals")
    assert p.line == line_of(text, "partial_deals:")
    assert p.message == ("at most 4 partial deals (got 5: prisoner_exchange, energy_moratorium, black_sea, "
                         "deal0, deal1)")


def test_a_variant_setting_a_partial_deals_value_keeps_the_rest_of_the_deal(variant):
    """`value: {gov: x}` of a partial deal (or a guarantee) is a mapping, not a number given as `{value: ...}`:
    a variant overriding it merges into the base's deal instead of replacing the whole deal (which dropped its
    `kind` and `rate`, or silently reset a guarantee's cuts to their defaults)."""
    path, _ = variant(f"partial_deals:\n  prisoner_exchange:\n    value: {{{KYIV}: 0.02}}\n"
                      f"negotiation:\n  guarantee:\n    active: true\n    value: {{{KYIV}: 0.05}}\n")
    m = sim.load_scenario(path).model
    deal = m.partial_deals["prisoner_exchange"]
    assert deal.kind == "humanitarian" and deal.rate.value == 0.35 and deal.value[KYIV].value == 0.02
    assert deal.value[MOSCOW].value == 0.005
    g = m.negotiation.guarantee
    assert g.active and g.value[KYIV].value == 0.05 and g.relapse_cut.value == 0.5 and g.value[MOSCOW].value == -0.02


# --------------------------------------------------------------------------- categories, separable issues, links


LINKED = ("issues:\n  forces:\n    options: {none: 0.0, monitors: 0.5, force: 1.0}\n    no_deal: {position: 0.0}\n"
          "  guarantee:\n    category: security\n    options: {none: 0.0, assurances: 0.4, article5: 1.0}\n"
          "    no_deal: {position: 0.0}\n    links:\n      - requires: {requires}\n        at_least: {at_least}\n"
          "        otherwise: {otherwise}\n        assumption: a guarantee needs forces\n"
          f"actors:\n  {KYIV}:\n    salience: {{forces: 0.0, guarantee: 0.0}}\n"
          f"  {MOSCOW}:\n    salience: {{forces: 0.0, guarantee: 0.0}}\n")


def _linked(requires: str = "forces", at_least: str = "force", otherwise: str = "assurances") -> str:
    return (LINKED.replace("{requires}", requires).replace("{at_least}", at_least)
            .replace("{otherwise}", otherwise))


def test_an_issue_category_must_be_one_of_the_four(variant):
    path, text = variant(f"issues:\n  {ISSUES[0]}:\n    category: military\n")
    p = the(problems_of(path), f"issues.{ISSUES[0]}.category")
    assert p.line == line_of(text, "category: military")
    assert "'territory', 'security', 'economy' or 'justice'" in p.message and "(got 'military')" in p.message


def test_a_separable_issue_names_a_partial_deal_or_is_true(variant):
    path, text = variant(f"issues:\n  {ISSUES[0]}:\n    separable: prisoner_exchnage\n"
                         f"  {ISSUES[2]}:\n    separable: black_sea\n")
    p = the(problems_of(path), f"issues.{ISSUES[0]}.separable")
    assert p.line == line_of(text, "separable: prisoner_exchnage")
    assert p.message == ("unknown partial deal 'prisoner_exchnage'; did you mean 'prisoner_exchange'? "
                         "(known: prisoner_exchange, energy_moratorium, black_sea)")
    path, _ = variant(f"issues:\n  {ISSUES[0]}:\n    separable: true\n  {ISSUES[2]}:\n    separable: black_sea\n")
    m = sim.load_scenario(path).model
    assert m.issues[ISSUES[0]].separable is True and m.issues[ISSUES[2]].separable == "black_sea"
    assert m.issues[ISSUES[1]].separable is False


def test_a_link_names_an_issue_an_option_of_it_and_an_option_of_its_own(variant):
    path, text = variant(_linked(requires="forcse"))
    p = the(problems_of(path), "issues.guarantee.links[0].requires")
    assert p.line == line_of(text, "requires: forcse")
    assert p.message.startswith("unknown issue 'forcse'; did you mean 'forces'?")
    path, text = variant(_linked(at_least="army", otherwise="article_5"))
    problems = problems_of(path)
    p = the(problems, "issues.guarantee.links[0].at_least")
    assert p.line == line_of(text, "at_least: army")
    assert p.message == "unknown option of forces 'army' (known: none, monitors, force)"
    p = the(problems, "issues.guarantee.links[0].otherwise")
    assert p.line == line_of(text, "otherwise: article_5")
    assert p.message == "unknown option of guarantee 'article_5'; did you mean 'article5'? (known: none, assurances, article5)"


def test_a_link_cannot_sit_on_the_land_issue_nor_depend_on_its_own_issue(variant):
    land = next(k for k, v in BASE_DATA["issues"].items() if v.get("kind") == "land")
    body = _linked(requires="guarantee").replace("issues:\n", f"issues:\n  {land}:\n    links:\n      - {{requires: "
                                                  "forces, at_least: force, otherwise: freeze_line}\n", 1)
    path, _ = variant(body)
    text = path.read_text()
    problems = problems_of(path)
    p = the(problems, f"issues.{land}.links[0]")
    assert p.line == line_of(text, "- {requires: forces")
    assert p.message.startswith("the land issue cannot be linked")
    p = the(problems, "issues.guarantee.links[0].requires")
    assert p.line == line_of(text, "requires: guarantee")
    assert p.message == "an issue cannot depend on itself (got 'guarantee')"


def test_linked_positions_adjust_each_package_by_the_rule(variant):
    """Where `forces` is below `force` (by value) a guarantee above `assurances` counts as assurances (0.4); one at
    or below it (none) keeps its own position."""
    import numpy as np

    from sim.scenario.registry import linked_positions

    path, _ = variant(_linked(at_least="monitors"))
    m = sim.load_scenario(path).model
    issues = ["forces", "guarantee"]
    combos = np.array([(f, g) for f in range(3) for g in range(3)])
    positions = np.array([[(0.0, 0.5, 1.0)[f], (0.0, 0.4, 1.0)[g]] for f, g in combos])
    out = linked_positions(m, issues, combos, positions)
    expected = positions.copy()
    expected[(combos[:, 0] == 0) & (combos[:, 1] == 2), 1] = 0.4  # no forces: Article 5 counts as assurances
    np.testing.assert_array_equal(out, expected)
    assert out[2, 1] == 0.4 and out[5, 1] == 1.0 and out[8, 1] == 1.0 and out[0, 1] == 0.0
    assert positions[2, 1] == 1.0  # the input is not changed
    rows = [4, 6, 2]  # any subset of packages, in any order: the rule is per package
    np.testing.assert_array_equal(linked_positions(m, issues, combos[rows], positions[rows]), expected[rows])


def test_a_scenario_with_links_compiles_and_runs_both_ways(variant, capsys, tmp_path, monkeypatch):
    """An enumerated space adjusts each package's positions; a searched one joins the linked issues into one group
    whose combinations carry the adjusted positions: the same utilities, package by package."""
    import numpy as np

    from sim.cli import main
    from sim.engine import pool
    from sim.runs.batch import simulate_block
    from sim.scenario.compile import compile_scenario

    path, _ = variant(_linked())
    sc = sim.load_scenario(path)
    listed = compile_scenario(sc)
    forces, guarantee = listed.issues.index("forces"), listed.issues.index("guarantee")
    article5 = listed.options[guarantee].index("article5")
    no_force = (listed.package_options[:, forces] < listed.options[forces].index("force"))
    hit = no_force & (listed.package_options[:, guarantee] == article5)
    assert hit.any() and (listed.packages[hit, guarantee] == 0.4).all()
    assert (listed.packages[~no_force & (listed.package_options[:, guarantee] == article5), guarantee] == 1.0).all()
    monkeypatch.setenv("NEGSIM_MAX_PACKAGES", "1")
    searched = compile_scenario(sc)
    assert searched.searched and (forces, guarantee) in [tuple(g) for g in searched.space.groups]
    shocks = __import__("sim.engine.shocks", fromlist=["draw"]).draw(searched, 1, range(5))
    k = __import__("sim.engine.kernel", fromlist=["Kernel"]).Kernel(searched, shocks)
    read = pool.read(searched, {n: np.broadcast_to(k.p[n], (5, *k.p[n].shape[1:])) for n in
                                ("pre2022", "claimed", "ideal", "salience", "rl_active", "minimum")}, k.s.territory)
    x = searched.space.ungroup(read.x[:, :, :])  # the pool's packages, their utilities against the enumeration's
    numbers = searched.space.encode(x)
    combos = listed.package_options
    rows = np.array([[np.flatnonzero((combos == row).all(axis=1))[0] for row in run] for run in x])
    rules = __import__("sim.engine.rules", fromlist=["x"])
    for g in (0, 1):
        pos = rules.package_positions(listed.packages, listed.land_issue, listed.land_share, k.s.territory,
                                      k.p["pre2022"], k.p["claimed"])
        want = rules.package_utilities(pos, k.p["ideal"][:, g], k.p["salience"][:, g], listed.land_issue)
        got = read.utilities(read.x)[g]
        np.testing.assert_allclose(got, np.take_along_axis(want, rows, 1), atol=1e-12)
    assert (numbers == rows).all()  # without exclusions a package's number is its row of the enumeration
    assert len(simulate_block(searched, 1, 0, 20)) == 20
    monkeypatch.delenv("NEGSIM_MAX_PACKAGES")
    assert main(["validate", str(path)]) == 0
    assert "not runnable" not in capsys.readouterr().out
    assert main(["run", str(path), "--runs", "10", "--out", str(tmp_path / "runs")]) == 0


# --------------------------------------------------------------------------- the agenda of 2025


AGENDA = ROOT / "scenarios" / "agenda_2025.yaml"


@pytest.fixture(scope="module")
def agenda():
    return sim.load_scenario(AGENDA)


def test_the_agenda_has_15_to_20_issues_in_the_four_categories(agenda):
    import math

    m = agenda.model
    assert yaml.safe_load(AGENDA.read_text())["extends"] == "baseline.yaml" and set(BASE_DATA["issues"]) <= set(m.issues)
    assert 15 <= len(m.issues) <= 20
    cats = [i.category for i in m.issues.values()]
    assert set(cats) == {"territory", "security", "economy", "justice"}
    assert math.prod(len(i.options) for i in m.issues.values()) >= 10**9
    separable = {k: i.separable for k, i in m.issues.items() if i.separable}
    assert {"prisoner_exchange", "energy_moratorium", "black_sea"} <= set(separable.values())
    assert [(k, link.requires) for k, i in m.issues.items() for link in i.links] == [
        ("security_guarantee", "foreign_forces")]
    for gov, actor in agenda.governments().items():
        assert set(actor.salience) == set(m.issues), gov
        positions = {k for k, i in m.issues.items() if i.kind == "position"}
        assert set(actor.ideal) == positions, gov  # every ideal stated, none left to the default
    kyiv = agenda.governments()[KYIV]
    assert abs(sum(p.central() for p in kyiv.salience.values()) - 1) < 1e-9  # the stated weights; drawn per run
    for gov, actor in agenda.governments().items():  # every salience an assumption, drawn around its stated value
        assert all(p.uncertain for p in actor.salience.values()), gov
    assert kyiv.minimum["army_cap"].value == 0.5  # the 800,000 of the European counter-proposal


def test_the_agenda_zone_of_agreement_is_not_empty(agenda):
    """Red lines and minima act issue by issue, and the one link joins two issues: some package passes both sides
    where the drawn minimums are at the soft end of their ranges. At the hard end the zone is empty on land alone:
    Moscow's least land is then Ukraine's withdrawal from the rest of Donetsk, which Kyiv's minimum (no cession)
    refuses (the stated minimums of 2025 are disjoint in those runs; docs/scenarios.md)."""
    import itertools

    import numpy as np

    from sim.scenario.registry import linked_positions

    m, govs = agenda.model, agenda.governments()
    groups = [["foreign_forces", "security_guarantee"]] + [[k] for k in m.issues
                                                            if k not in ("foreign_forces", "security_guarantee")]
    drawn = {(g, k) for g, a in govs.items() for k, p in a.minimum.items() if p.uncertain}
    assert drawn == {("moscow", "land_returned"), ("moscow", "third_party_recognition")}

    def floor(gov: str, issue: str, end: float) -> float:
        p = govs[gov].minimum[issue]
        return float(p.frozen().ppf(end)) if p.uncertain else float(p.value)

    def passes(gov: str, issue: str, option: str, position: float, end: float) -> bool:
        actor, spec = govs[gov], m.issues[issue]
        if any(r.active and r.issue == issue and option in r.forbid for r in actor.red_lines):
            return False
        if issue not in actor.minimum:
            return True
        if spec.kind == "land":
            share = spec.options[option] * (1 if actor.side == "ukraine" else -1)
            return share >= floor(gov, issue, end) - 1e-12
        return 1 - abs(position - actor.ideal[issue].value) >= floor(gov, issue, end) - 1e-12

    def zone(group: list[str], end: float) -> bool:
        names = [list(m.issues[k].options) for k in group]
        combos = np.array(list(itertools.product(*[range(len(n)) for n in names])))
        positions = np.array([[list(m.issues[k].options.values())[i] for k, i in zip(group, row, strict=True)]
                              for row in combos])
        positions = linked_positions(m, group, combos, positions) if len(group) > 1 else positions
        return any(all(passes(g, k, names[j][row[j]], positions[r, j], end) for g in govs
                       for j, k in enumerate(group)) for r, row in enumerate(combos))

    for group in groups:
        assert zone(group, 0.0), group  # the softest draws: some option of every issue passes both
        assert zone(group, 1.0) == (group != ["land_returned"]), group  # the hardest: land alone is disjoint
    # and the link binds: an Article-5-like guarantee without a European force does not count as one
    forces, guarantee = m.issues["foreign_forces"].options, m.issues["security_guarantee"].options
    row = np.array([[list(forces).index("monitors_only"), list(guarantee).index("article5_like")]])
    adjusted = linked_positions(m, ["foreign_forces", "security_guarantee"], row, np.array([[0.5, 1.0]]))
    assert adjusted[0, 1] == guarantee["assurances"]


def test_the_agenda_validates_and_lists_its_evidence(capsys):
    from sim.cli import main

    started = time.perf_counter()
    assert main(["validate", "--json", str(AGENDA)]) == 0
    (report,) = __import__("json").loads(capsys.readouterr().out)["files"]
    assert report["ok"] and report["issues"] == 19 and report["packages"] == 1_836_660_096
    assert report["runnable"] is True and report["not_runnable"] == []
    assert main(["evidence", "--json", str(AGENDA)]) == 0
    rows = __import__("json").loads(capsys.readouterr().out)["rows"]
    assert time.perf_counter() - started < 60
    by_path = {r["path"]: r for r in rows}
    assert all(r["kind"] != "none" for r in rows)
    assert by_path["actors.kyiv.ideal.crimea_status"]["kind"] == "evidence"
    assert "28-point plan (November 2025, point 6)" in by_path["issues.army_cap"]["source"]
    land, recognition = (by_path[f"actors.moscow.minimum.{k}"] for k in ("land_returned", "third_party_recognition"))
    assert land["kind"] == "evidence" and land["value"] == "uniform(high=0.25, low=-0.25)"
    assert "memorandum" in land["source"] and "28-point plan (November 2025, point 21" in land["source"]
    assert recognition["value"] == "uniform(high=1, low=0)" and "memorandum of 2 June 2025" in recognition["source"]
    assert by_path["issues.prisoners"]["value"].endswith("(justice; separable: prisoner_exchange)")
    assert "counts only with foreign_forces at or above european_force" in by_path[
        "issues.security_guarantee.links[0]"]["value"]


def test_the_agenda_runs_and_is_explained_in_bounded_memory(tmp_path, capsys):
    """1.8 billion packages of 19 issues would take over 270 GB to list; searched, a batch runs under 3 GB."""
    import resource
    import subprocess
    import sys

    from sim.cli import main

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))

    done = subprocess.run([sys.executable, "-m", "sim", "run", str(AGENDA), "--runs", "50", "--out", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, preexec_fn=cap)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "agreement" in done.stdout
    (run_dir,) = list(tmp_path.iterdir())
    assert (run_dir / "results.parquet").exists() and (run_dir / "summary.json").exists()
    assert main(["explain", str(AGENDA), "--brief"]) == 0
    assert "Month 1" in capsys.readouterr().out
    assert main(["play", str(AGENDA), "--as", "kyiv"]) == 2  # a person's moves over every package: not yet
    err = capsys.readouterr().err
    assert "1,836,660,096 packages" in err and "cannot be offered yet" in err and "Traceback" not in err
