"""The draft builder (sim/play/draft.py): its numbers are the kernel's own at that month."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
from sim.engine import rules
from sim.engine.model import run_one
from sim.engine.shocks import draw
from sim.errors import UsageError
from sim.play.draft import draft, package_of, single_changes, state_at
from sim.scenario.compile import compile_scenario

ROOT = Path(__file__).resolve().parents[1]
SEED = 1


@pytest.fixture(scope="module")
def baseline():
    return sim.load_scenario(ROOT / "scenarios" / "baseline.yaml")


@pytest.fixture(scope="module")
def logged(baseline):
    """(replicate, month entry) of every month with talks in the first 40 runs, as the engine logged them."""
    c = compile_scenario(baseline)
    out = []
    for r in range(40):
        model = run_one(c, draw(c, SEED, [r]).run(0))
        out += [(r, e) for e in model.log if "talks" in e]
    return c, out


def test_a_mediators_proposal_reads_as_the_engine_read_it(baseline, logged):
    """Where the lead mediator proposed, the draft of its package gives the engine's utilities, demands and chances."""
    c, entries = logged
    mediated = [(r, e) for r, e in entries if e["talks"]["proposer"] == 2]
    assert len(mediated) >= 20
    outcomes = set()
    for r, e in mediated[:25]:
        talk = e["talks"]
        d = draft(baseline, SEED, r, e["month"], c.term_names(talk["package"]))
        assert d.month == e["month"] and d.package == talk["package"] and d.lead == talk["lead"]
        for g, view in enumerate(d.governments):
            assert view.utility == talk["utilities"][g]
            assert view.side_payment == talk["leverage"][g]
            assert view.value == talk["values"][g]
            assert view.asks == talk["needs"][g]
            assert view.p_accept == talk["answers"][g][0]
        for pv, (_g, (prob, _ok, voted)) in zip(d.publics, sorted(talk["votes"].items()), strict=True):
            assert pv.votes == voted
            assert pv.p_ratify == prob
        expect = np.prod([a[0] for a in talk["answers"]]) * np.prod([v[0] for v in talk["votes"].values()])
        assert d.p_deal == pytest.approx(expect, rel=1e-12, abs=1e-300)
        outcomes.add(talk["agreed"])
    assert outcomes == {True, False}  # both accepted and refused proposals were checked


def test_a_month_without_talks_reads_the_months_values(baseline):
    """Before talks open, the values of fighting on are the engine's logged values of that month."""
    c = compile_scenario(baseline)
    model = run_one(c, draw(c, SEED, [7]).run(0))
    quiet = [e for e in model.log if e["stage"] == "war" and not e.get("opened")][:5]  # talks not open by its end
    assert quiet
    terms = {"crimea_status": "status_deferred", "land_returned": "freeze_line", "legal_recognition": "not_recognised"}
    for e in quiet:
        d = draft(baseline, SEED, 7, e["month"], terms)
        assert [g.value for g in d.governments] == e["values"]
        assert d.talks_open is False


def test_the_best_single_change_is_the_best_neighbour(baseline):
    """Every single change is listed with its chance; the best one beats the draft, and it is the largest."""
    state = state_at(baseline, SEED, 9, 5)
    c = state.compiled
    terms = {"crimea_status": "status_deferred", "land_returned": "freeze_line", "legal_recognition": "not_recognised"}
    x = package_of(c, terms)
    d = draft(baseline, SEED, 9, 5, terms)
    neighbours = single_changes(c, x)
    assert len(d.changes) == len(neighbours) == sum(len(o) - 1 for o in c.options)
    p = state.p_deal
    assert sorted(ch.p_deal for ch in d.changes) == sorted(float(p[y]) for _, _, y in neighbours)
    best = max(float(p[y]) for _, _, y in neighbours)
    if best > p[x]:
        assert d.best_change is not None and d.best_change.p_deal == best
        changed = dict(terms) | {d.best_change.issue: d.best_change.new}
        assert draft(baseline, SEED, 9, 5, changed).p_deal == pytest.approx(best)
    else:
        assert d.best_change is None


def test_red_lines_zero_the_chance_and_switching_them_off_restores_it(baseline):
    """Kyiv never accepts recognising Crimea as Russian while its red line is on; the override lifts it."""
    terms = {"crimea_status": "recognised_as_russian", "land_returned": "freeze_line",
             "legal_recognition": "not_recognised"}
    on = draft(baseline, SEED, 9, 5, terms)
    kyiv = on.governments[0]
    assert kyiv.red_line and kyiv.p_accept == 0.0 and on.p_deal == 0.0
    assert on.best_change is not None and on.best_change.issue == "crimea_status"
    off = draft(baseline, SEED, 9, 5, terms, {"actors.kyiv.red_lines[0].active": False})
    assert not off.governments[0].red_line and off.governments[0].p_accept > 0.0


def test_chances_follow_the_rules_for_every_package(baseline):
    """The (2, P) tables are expected_acceptance (over the types the others believe a side may be) and
    ratify_probability of the engine's readings."""
    s = state_at(baseline, SEED, 3, 10, {"actors.ukraine_public.weariness": 0.8})
    m = s.model
    temp = np.atleast_1d(np.asarray(m.p["temperature"], dtype=float))
    for g, gov in enumerate(m.governments):
        want = rules.expected_acceptance(s.readings[g].ub[None], s.need_types[g][None], s.belief[g][None], temp)[0]
        np.testing.assert_array_equal(s.accept[g], want * gov.allowed())
    for g, pb in m.public_of.items():
        want = rules.ratify_probability(pb.margins(s.readings[g]), pb.param("ratify_spread")) if pb.votes() else 1.0
        np.testing.assert_array_equal(s.ratify[g], np.broadcast_to(want, s.ratify[g].shape))


def test_a_settled_run_is_read_at_the_month_asked(baseline, logged):
    """The model runs on after a settlement (it may relapse), so a later month is read at that month."""
    c, entries = logged
    r, e = next((r, e) for r, e in entries if e["talks"]["agreed"] and e["month"] < c.horizon)
    s = state_at(baseline, SEED, r, c.horizon)
    assert s.month == c.horizon and int(s.model.kernel.s.agreement_month[0]) == e["month"]


@pytest.mark.parametrize("terms, message", [
    ({"crimea_status": "status_deferred"}, "no option chosen for issue 'land_returned'"),
    ({"crimea_status": "annexed", "land_returned": "freeze_line", "legal_recognition": "not_recognised"},
     "unknown option 'annexed' of issue 'crimea_status'"),
    ({"crimea": "status_deferred"}, "unknown issue 'crimea'"),
])
def test_bad_terms_are_named(baseline, terms, message):
    with pytest.raises(UsageError, match=message):
        draft(baseline, SEED, 0, 3, terms)


def test_month_out_of_range(baseline):
    with pytest.raises(UsageError, match="month must be between 1 and 36"):
        state_at(baseline, SEED, 0, 0)
