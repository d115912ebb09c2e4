"""Plausible ranges (sim.scenario.plausible): inside the registry's ranges, each with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.scenario import registry
from sim.scenario.plausible import DEFAULT, PATHS, RULES, Rule, plausible_range, rule_for

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def baseline():
    return sim.load_scenario(ROOT / "scenarios" / "baseline.yaml")


def test_every_rule_has_a_reason():
    for name, rule in {**RULES, **PATHS, "default": DEFAULT}.items():
        assert rule.kind in ("rel", "add", "abs"), name
        assert len(rule.reason.split()) >= 5, name


def test_every_registry_array_has_a_rule():
    """Every parameter array the registry knows (but switches' arrays) has its own rule, not the default."""
    switches = {"has_public", "ratifies", "med_active", "pre_active", "rl_active", "cf_active", "cf_first",
                "guarantee_active", "inst_relief", "inst_stick_active"}
    arrays = (set(registry.GOV) | set(registry.PUB) | set(registry.SCALARS) | set(registry.RANGES)) - switches
    assert not sorted(arrays - set(RULES))


def test_rules_for_the_new_engine_parameters_are_ready():
    for name in ("pull", "inst_level", "inst_front", "inst_casualties", "inst_cost", "pd_rate", "pd_lapse",
                 "pd_value", "cf_hazard", "cf_casualty", "cf_gain_slope", "relapse_hazard", "relapse_gain_slope",
                 "guarantee_cut", "guarantee_value", "pace_shift_sd", "ev_hazard", "minimum"):
        assert name in RULES, name


def test_every_range_is_inside_the_registry_and_contains_the_value(baseline):
    slots = registry.parameter_slots(baseline)
    for path, slot in slots.items():
        if slot.kind != "number":
            continue
        low, high, why = plausible_range(slots, path)
        assert why, path
        assert low <= high, path
        assert registry.out_of_range(slot.name, low) is None, (path, low)
        assert registry.out_of_range(slot.name, high) is None, (path, high)
        if not slot.param.uncertain:
            v = float(slot.param.value)
            assert low <= v <= high or rule_for(slot, path).kind == "abs", (path, v, low, high)


def test_known_paths_get_their_rule(baseline):
    slots = registry.parameter_slots(baseline)
    low, high, why = plausible_range(slots, "actors.moscow.cost_sensitivity")
    assert (low, high) == pytest.approx((0.0096, 0.015)) and why == RULES["cost_sensitivity"].reason
    assert plausible_range(slots, "actors.kyiv.hurt_threshold")[2] == RULES["hurt_threshold"].reason
    assert plausible_range(slots, "actors.kyiv.discount")[:2] == (0.97, 0.99)
    # drawn per run: the middle half of its own distribution (uniform 0.5..1)
    low, high, why = plausible_range(slots, "actors.moscow.resolve")
    assert (low, high) == (0.625, 0.875) and "middle half" in why
    # a value given: the rule is centred on it
    assert plausible_range(slots, "actors.moscow.cost_sensitivity", 0.1)[:2] == pytest.approx((0.08, 0.125))


def test_ranges_are_clipped_to_the_registry():
    slot = registry.Slot("breakdown", (), None)
    assert plausible_range({"x": slot}, "x", 0.9)[:2] == (0.603, 1.0)  # x1.5 would leave 0..1
    slot = registry.Slot("hurt_decay", (), None)  # an open upper end: kept just inside
    assert registry.out_of_range("hurt_decay", plausible_range({"x": slot}, "x", 0.99)[1]) is None


def test_unknown_names_fall_to_the_default_rule():
    slot = registry.Slot("some_new_array", (), None)
    low, high, why = plausible_range({"x": slot}, "x", 2.0)
    assert (low, high, why) == (1.34, 3.0, DEFAULT.reason)
    assert plausible_range({"x": slot}, "x", 0.0)[:2] == (0.0, 0.0)  # collapses: the caller leaves it out


def test_rule_kinds():
    assert Rule("rel", 0.5, 2.0, "r").apply(-1.0) == (-2.0, -0.5)
    assert Rule("add", -0.1, 0.1, "r", (0.0, 1.0)).apply(0.05) == (0.0, 0.15000000000000002)
    assert Rule("abs", 1.0, 2.0, "r").apply(100.0) == (1.0, 2.0)
    with pytest.raises(ValueError):
        plausible_range({"x": registry.Slot("rl_active", (0,), None, "switch")}, "x")
