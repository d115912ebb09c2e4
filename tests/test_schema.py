"""The JSON Schema `negsim schema` prints: draft 2020-12, exact, and in agreement with `negsim validate`."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from sim.cli import main
from sim.errors import ScenarioError
from sim.scenario.loading import load_scenario
from sim.scenario.schema import build_schema, parse_reference
from sim.scenario.schema_text import TEXT
from sim.scenario.yamlsrc import read_yaml

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
BASE = yaml.safe_load((ROOT / "scenarios" / "baseline.yaml").read_text())


@pytest.fixture(scope="module")
def validator():
    schema = build_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_is_2020_12_with_an_id_and_printed_by_the_cli(capsys):
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert printed["$id"] and printed["title"] and printed["description"]
    assert "discriminator" not in json.dumps(printed)


def test_every_key_has_a_title_and_a_description_from_the_docs():
    schema = build_schema()
    keys = 0
    for name, d in schema["$defs"].items():
        for key, prop in d.get("properties", {}).items():
            keys += 1
            assert prop.get("title") and prop.get("description") and prop["description"] != key, f"{name}.{key}"
    assert keys > 100
    assert parse_reference((ROOT / "docs" / "scenarios.md").read_text()) == TEXT, (
        "sim/scenario/schema_text.py is out of date: python -m sim.scenario.schema docs/scenarios.md > sim/scenario/schema_text.py")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_scenario_is_valid(validator, path):
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(read_yaml(path).data)]
    assert not errors


def _set(data: dict, path: str, value: object) -> dict:
    data = copy.deepcopy(data)
    *parents, last = path.split(".")
    node = data
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


DELETE = object()
BAD = {
    "plain number out of range": ("actors.kyiv.resolve", 1.3),
    "value form out of range": ("actors.kyiv.resolve", {"value": 1.3}),
    "uniform with normal's arguments": ("actors.kyiv.resolve", {"dist": "uniform", "mean": 0.5, "sd": 0.1}),
    "normal for a bounded number": ("actors.kyiv.resolve", {"dist": "normal", "mean": 0.5, "sd": 0.1}),
    "lognormal for a number in [0, 1]": ("actors.kyiv.resolve", {"dist": "lognormal", "mu": 0, "sigma": 1}),
    "beta beyond the range": ("actors.kyiv.resolve", {"dist": "beta", "a": 2, "b": 2, "high": 1.5}),
    "uniform beyond the range": ("negotiation.breakdown", {"dist": "uniform", "low": 0.2, "high": 1.4}),
    "unknown key": ("actors.kyiv.resolv", 0.5),
    "missing required key": ("horizon_months", DELETE),
    "horizon 0": ("horizon_months", 0),
    "month 13": ("start", "2024-13"),
    "unknown role": ("actors.kyiv.role", "king"),
    "number as text": ("actors.us.bias", "0.5"),
    "evidence doc with a folder": ("actors.kyiv.resolve", {"value": 0.5, "evidence": {"doc": "a/b.txt", "quote": "xyz"}}),
    "hurt_decay at its open end": ("actors.kyiv.hurt_decay", 1.0),
    "scale of 0 (must be > 0)": ("battlefield.ground_scale_km2", 0),
    "switch as text": ("actors.kyiv.red_lines.0.active", "yes"),
    "one option only": ("issues.crimea_status.options", {"only": 0.5}),
    "public key on a mediator": ("actors.us.weariness", 0.5),
    "unknown dist": ("actors.kyiv.resolve", {"dist": "gamma", "a": 1}),
    "position option below 0": ("issues.crimea_status.options.recognised_as_russian", -0.5),
    "position issue without no_deal": ("issues.crimea_status.no_deal", DELETE),
    "event with month and hazard": ("events.0.hazard", 0.1),
    "event with neither month nor hazard": ("events.0.month", DELETE),
    "hazard above 1": ("events", [{"hazard": 1.5, "set": {"actors.kyiv.resolve": 0.4}}]),
    "five partial deals": ("partial_deals", {f"d{i}": {"kind": "limited", "rate": 0.1, "value": {"kyiv": 0.01}}
                                             for i in range(5)}),
    "instrument of an unknown kind": ("instruments.us_aid.kind", "loans"),
    "stick without a level": ("instruments.us_aid.stick", {"active": True}),
    "pull above 1": ("actors.us.pull", 1.5),
    "ceasefire hazard above 1": ("negotiation.ceasefire.hazard", 2),
    "partial deal without value": ("partial_deals.black_sea.value", DELETE),
}
GOOD = {
    "beta": ("actors.kyiv.resolve", {"dist": "beta", "a": 2, "b": 3}),
    "value with assumption": ("actors.kyiv.resolve", {"value": 0.4, "assumption": "x"}),
    "uniform inside": ("actors.kyiv.resolve", {"dist": "uniform", "low": 0.2, "high": 0.9}),
    "triangular inside": ("actors.kyiv.resolve", {"dist": "triangular", "low": 0.1, "mode": 0.5, "high": 0.9}),
    "normal for an unbounded number": ("battlefield.monthly_change_km2.mean", {"dist": "normal", "mean": 400, "sd": 100}),
    "lognormal for a number >= 0": ("battlefield.territory_km2", {"dist": "lognormal", "mu": 11, "sigma": 0.1}),
    "event with a hazard": ("events", [{"hazard": 0.02, "set": {"actors.moscow.resolve": 0.5}}]),
    "ceasefire first": ("negotiation.ceasefire.first", True),
    "guarantee on": ("negotiation.guarantee.active", True),
    "uncertain pull": ("actors.us.pull", {"dist": "uniform", "low": 0.1, "high": 0.4}),
}
VARIANTS = {
    "override without role": ({"actors": {"kyiv": {"resolve": 0.7}}}, True),
    "override out of range": ({"actors": {"kyiv": {"resolve": {"value": 1.3}}}}, False),
    "misspelt override": ({"actors": {"kyiv": {"resolv": 0.7}}}, False),
    "dist override": ({"negotiation": {"breakdown": {"dist": "beta", "a": 1, "b": 9}}}, True),
}


def _negsim_accepts(tmp_path: Path, data: dict) -> bool:
    if not (tmp_path / "seeds").exists():
        shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
        shutil.copy(ROOT / "scenarios" / "baseline.yaml", tmp_path / "baseline.yaml")
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    try:
        load_scenario(path)
        return True
    except ScenarioError:
        return False


@pytest.mark.parametrize("case", list(BAD) + list(GOOD))
def test_schema_agrees_with_validate(validator, tmp_path, case):
    path, value = BAD.get(case) or GOOD[case]
    data = _set(BASE, path, value)
    expected = case in GOOD
    assert _negsim_accepts(tmp_path, data) is expected
    errors = list(validator.iter_errors(json.loads(json.dumps(data))))
    assert (not errors) is expected, [e.message for e in errors]


@pytest.mark.parametrize("case", list(VARIANTS))
def test_variants_need_nothing_and_are_still_checked(validator, tmp_path, case):
    body, expected = VARIANTS[case]
    data = {"extends": "baseline.yaml", "name": "v", **body}
    assert _negsim_accepts(tmp_path, data) is expected
    assert (not list(validator.iter_errors(data))) is expected
