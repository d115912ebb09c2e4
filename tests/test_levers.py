"""Every lever docs/levers.md publishes as live still moves an outcome (and the list covers every actor parameter).

The published list, tests/data/levers.json, is written by docs/levers.py. A
change that kills a lever (the model stops responding to a parameter a user
can turn) fails here; so does a new actor parameter nobody has measured.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import sim
from sim.analysis.levers import Lever, default_levers, lever_effect

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = json.loads((ROOT / "tests" / "data" / "levers.json").read_text())


@pytest.fixture(scope="module")
def baseline():
    return sim.load_scenario(ROOT / "scenarios" / "baseline.yaml")


@pytest.mark.parametrize("entry", PUBLISHED["live"], ids=lambda e: e["path"])
def test_published_lever_is_live(baseline, entry):
    effect = lever_effect(baseline, Lever(entry["path"], entry["low"], entry["high"]), PUBLISHED["runs"],
                          PUBLISHED["seed"])
    assert effect.live, (f"{entry['path']} ({entry['low']} -> {entry['high']}) no longer moves any outcome: "
                         f"agreement {effect.agreement}, no_talks {effect.no_talks}, terms {effect.terms}, "
                         f"month {effect.month}")


def test_every_actor_parameter_is_measured(baseline):
    measured = {e["path"] for e in PUBLISHED["live"]} | set(PUBLISHED["dead"])
    missing = [lv.path for lv in default_levers(baseline) if lv.path not in measured]
    assert not missing, f"actor parameters not in docs/levers.md (run docs/levers.py): {missing}"


def test_every_dead_lever_has_a_stated_reason():
    assert all(PUBLISHED["dead"].values()), {k: v for k, v in PUBLISHED["dead"].items() if not v}


def test_document_positions_are_levers():
    measured = {e["path"] for e in PUBLISHED["live"]} | set(PUBLISHED["dead"])
    assert set(PUBLISHED["positions"].values()) <= measured


def test_removed_parameters_are_not_set_and_take_their_default(baseline):
    """A parameter docs/levers.md lists as left out of the baseline is not written there, is not a lever,
    and (but for a mediator preference: a map left out has no keys) still has a slot, so events and sweeps can
    set it, holding the schema's default."""
    from sim.analysis.levers import is_set
    from sim.scenario import registry

    removed = PUBLISHED["removed"]
    assert removed
    slots, base = registry.slot_table(baseline)
    levers = {lv.path for lv in default_levers(baseline)}
    for path in removed:
        assert not is_set(baseline.data, path), path
        assert path not in levers, path
        assert path in slots or ".mediator_preference." in path, path  # a preference map left out has no keys
    assert is_set(baseline.data, "actors.kyiv.resolve") and is_set(baseline.data, "actors.moscow.preconditions[0].value")
    assert is_set(baseline.data, "actors.moscow.preconditions.kursk_withdrawal.value")
    sides = {"kyiv": 1.0, "moscow": 0.0}
    for path in [p for p in removed if p in slots]:
        slot = slots[path]
        if ".ideal." in path:  # a position ideal left out: the side's end of the scale
            assert base["ideal"][slot.index] == sides[path.split(".")[1]]
        elif path.endswith(("noise", ".sd", "preference_weight")):
            assert base[slot.name][slot.index] == 0.0
