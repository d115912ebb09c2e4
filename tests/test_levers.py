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
    effect = lever_effect(baseline, Lever(entry["path"], entry["low"], entry["high"],
                                          tuple(entry.get("given", {}).items())), PUBLISHED["runs"],
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


def test_every_document_position_moves_an_outcome():
    """Each position of the source document moves some outcome: at the baseline, or (a red line another
    constraint makes redundant there) where it binds, with the settings docs/levers.md states."""
    live = {e["path"]: e for e in PUBLISHED["live"]}
    assert set(PUBLISHED["positions"].values()) <= set(live), set(PUBLISHED["positions"].values()) - set(live)
    held = [e for e in live.values() if e.get("given")]
    assert all(e["path"] not in PUBLISHED["dead"] for e in held)


def test_stage_outcomes_are_measured(baseline):
    """The lever measure reads the stages, not only the settlement: the relapse hazard moves P(relapse) alone."""
    effect = lever_effect(baseline, Lever("negotiation.relapse.hazard", 0.0, 0.05), 2000, 7)
    assert effect.moved() == ["relapse"], effect
    assert effect.relapse[1] > 0.05 and effect.agreement == (0.0, 0.0, 0.0)


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


def test_levers_use_the_plausible_ranges(baseline):
    from sim.scenario import registry
    from sim.scenario.plausible import plausible_range

    slots = registry.parameter_slots(baseline)
    levers = default_levers(baseline)
    paths = {lv.path for lv in levers}
    assert {"battlefield.monthly_change_km2.mean", "negotiation.temperature", "actors.moscow.resolve"} <= paths
    for lv in levers:
        if not isinstance(lv.low, bool):
            assert (lv.low, lv.high) == plausible_range(slots, lv.path)[:2], lv.path
    assert "battlefield.casualty_scale" not in paths  # a unit: its plausible range is its value


def test_doc_pipeline_on_a_tiny_budget(tmp_path):
    """docs/levers.py end to end (levers, Morris, Sobol, the tables and the headline file) on a tiny budget."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("levers_doc", ROOT / "docs" / "levers.py")
    doc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(doc)
    md, js, head = tmp_path / "levers.md", tmp_path / "levers.json", tmp_path / "sensitivity.json"
    assert doc.main(["--max-levers", "8", "--lever-runs", "100", "--trajectories", "2", "--morris-runs", "20",
                     "--sobol-top", "3", "--sobol-n", "2", "--sobol-runs", "20", "--workers", "1",
                     "--md", str(md), "--json", str(js), "--headline", str(head)]) == 0
    text = md.read_text()
    for section in ("## What the headline rests on", "## Morris screening", "## Sobol indices",
                    "## Plausible ranges and their reasons"):
        assert section in text
    data = json.loads(js.read_text())
    ranking = data["morris"]["ranking"]
    numeric = [lv for lv in default_levers(doc.sim.load_scenario(ROOT / "scenarios" / "baseline.yaml"))[:8]
               if not isinstance(lv.low, bool)]
    assert len(ranking) == len(numeric)
    assert all("mu_star_conf" in r and r["mu_star_conf"] >= 0 for r in ranking)
    assert [r["mu_star"] for r in ranking] == sorted((r["mu_star"] for r in ranking), reverse=True)
    assert len(data["sobol"]["rows"]) == 3 and all({"S1", "S1_conf", "ST", "ST_conf"} <= set(r)
                                                    for r in data["sobol"]["rows"])
    top = json.loads(head.read_text())
    assert top["scenario"] == "baseline" and len(top["top"]) == min(doc.HEADLINE, len(numeric))
    assert top["top"][0]["path"] == ranking[0]["path"]


def test_doc_pipeline_measures_a_mechanism_where_it_acts(tmp_path):
    """A lever whose mechanism the baseline leaves idle (a guarantee's relapse cut) is measured again with the
    mechanism on, and published as live with the settings held."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("levers_doc", ROOT / "docs" / "levers.py")
    doc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(doc)
    md, js, head = tmp_path / "levers.md", tmp_path / "levers.json", tmp_path / "sensitivity.json"
    assert doc.main(["--only", "negotiation.guarantee.relapse_cut,negotiation.relapse.hazard", "--lever-runs", "1500",
                     "--trajectories", "2", "--morris-runs", "20", "--sobol-top", "2", "--sobol-n", "2",
                     "--sobol-runs", "20", "--workers", "1", "--md", str(md), "--json", str(js),
                     "--headline", str(head)]) == 0
    data = json.loads(js.read_text())
    cut = next(e for e in data["live"] if e["path"] == "negotiation.guarantee.relapse_cut")
    assert cut["given"] == {"negotiation.guarantee.active": True} and cut["moves"] == ["relapse"]
    text = md.read_text()
    assert "### Mechanisms the baseline leaves idle, measured where they act" in text
    assert "`negotiation.guarantee.active` = True" in text


def test_evidence_names_what_the_headline_rests_on(baseline):
    """`negsim evidence` reads the shipped sensitivity.json written by docs/levers.py."""
    from sim.scenario.evidence import headline_assumptions, headline_line

    info = headline_assumptions(baseline)
    assert info is not None and info["top"], "sim/shipped/sensitivity.json is missing: run docs/levers.py"
    line = headline_line(info)
    assert line.startswith("The headline rests most on: ") and info["top"][0]["path"] in line
    assert info["current"], "sim/shipped/sensitivity.json was measured on another version of the baseline"
