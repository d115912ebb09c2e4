"""What a student reads at a glance (issue 20, part 5): terms in words with km2, who made the offer, one value of
no deal, each stakeholder's satisfaction, no package across a red line offered, nothing above the scale's top.

Through the classroom's JSON API (seed 1, replicate 67 of the baseline: the US proposes in month 2, Kyiv in
month 3; the deal Kyiv offers is agreed), and the shared functions of :mod:`sim.play.terms` directly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from classroom_client import auth, client_of
from starlette.testclient import TestClient

from sim.engine import rules
from sim.play import terms
from sim.play.classroom.room import Classroom
from sim.play.draft import draft
from sim.present.explain import km2_words
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SECRET = "test-teacher-secret"
STUDENTS = ["kyiv", "moscow", "us", "ukraine_public"]
RAW = re.compile(r"[a-z]+_[a-z0-9_]+")  # an identifier such as cede_quarter


@pytest.fixture(scope="module")
def base():
    return compile_scenario(load_scenario(BASELINE))


def room_and_client(base, tmp_path: Path) -> tuple[Classroom, TestClient]:
    room = Classroom(base, 1, 67, state_dir=tmp_path / "classroom", runs=100)
    return room, client_of(room)


def check_words(said: str) -> None:
    assert said and not RAW.search(said), said


def check_satisfaction(items: list[dict], actors: set[str], basis: str | dict[str, str]) -> None:
    """The actors' satisfaction, each worth less its value of no deal, reckoned on the basis named."""
    assert {s["actor"] for s in items} == actors
    for s in items:
        assert s["basis"] == (basis if isinstance(basis, str) else basis[s["actor"]])
        assert s["score"] == pytest.approx(s["worth"] - s["no_deal"], abs=1e-12)


def test_terms_in_words_with_the_land_terms_km2(base):
    """Every package's words name no identifier; the land term's km2 is the engine's (as negsim explain says it)."""
    territory = 110_649.0
    for x in range(base.n_packages):
        km2 = terms.land_km2(base, base.base, x, territory)
        moved = float(rules.land_moved(base.land_share[x], territory, base.base["pre2022"], base.base["claimed"]))
        assert km2 == pytest.approx(moved)
        said = terms.package_words(base, x, km2)
        check_words(said)
        assert km2_words(km2) in said
    assert "return 100% of the land taken since February 2022 (Russia hands back 67,049 km2 to Ukraine)" in \
        terms.package_words(base, 47, terms.land_km2(base, base.base, 47, territory))
    assert terms.option_words(base, "land_returned", "cede_quarter") == "cede 25% of the rest of the claimed regions"
    assert terms.option_words(base, "crimea_status", "returned_to_ukraine") == "returned to Ukraine"


def test_the_student_screens_through_the_api(base, tmp_path):
    room, client = room_and_client(base, tmp_path)
    res = client.post("/api/sessions", headers=auth(SECRET))
    code, teacher = res.json()["code"], res.json()["teacher_token"]
    tokens = {r: client.post(f"/api/sessions/{code}/join", json={"role": r}).json()["token"] for r in STUDENTS}

    def pending(role: str) -> dict:
        return client.get(f"/api/sessions/{code}/state", headers=auth(tokens[role])).json()["pending"]

    moves = f"/api/sessions/{code}/moves"
    client.post(f"/api/sessions/{code}/advance", headers=auth(teacher), json={"until": "decision"})
    us = pending("us")  # the lead mediator: both sides and the voting public as it hears them
    assert us["kind"] == "propose" and us["score_name"] == "chance of a ratified deal"
    for o in us["options"]:
        check_words(o["words"])
        check_satisfaction(o["satisfaction"], {"kyiv", "moscow", "ukraine_public"}, "reckoned")
        for s in o["satisfaction"]:  # the sides as the mediator reckons them, through its belief of their types
            side = us["view"]["sides"].get(s["actor"])
            if side is not None:
                assert (s["worth"], s["no_deal"]) == (side["utilities"][o["number"]], side["demand"])
    offer = us["options"][0]["number"]
    client.post(moves, headers=auth(tokens["us"]), json={"kind": "propose", "choice": offer})
    # both governments answer: who made the offer, its terms in words, one value of no deal, their satisfaction
    for role in ("kyiv", "moscow"):
        d = pending(role)
        assert d["proposer"] == "us" and d["package"]["number"] == offer
        check_words(d["package"]["words"])
        assert [t["km2"] is not None for t in d["package"]["term_words"]] == [False, True, False]
        assert d["no_deal"]["value"] == d["view"]["demand"]  # the number the model compares the offer with
        assert f"month {d['month']}" in d["no_deal"]["name"]
        check_satisfaction(d["satisfaction"], {role}, "own")
        mine = d["satisfaction"][0]
        assert mine["worth"] == pytest.approx(d["view"]["utilities"][offer])
        assert mine["worth"] == pytest.approx(d["view"]["terms_utilities"][offer] + d["view"]["side_payment"])
    client.post(moves, headers=auth(tokens["kyiv"]), json={"kind": "answer", "choice": False})
    client.post(moves, headers=auth(tokens["moscow"]), json={"kind": "answer", "choice": True})
    # month 3: Kyiv proposes
    client.post(f"/api/sessions/{code}/advance", headers=auth(teacher), json={"until": "decision"})
    st = client.get(f"/api/sessions/{code}/state", headers=auth(tokens["kyiv"])).json()
    kyiv = st["pending"]
    assert kyiv["kind"] == "propose" and kyiv["month"] == 3
    assert st["own"]["month"] == 2  # the end of the last month: the page shows the decision's value instead
    v = kyiv["view"]
    offered = [o["number"] for o in kyiv["options"]]
    own = {x for x, ok in enumerate(v["own_allowed"]) if ok}
    both = {x for x, ok in enumerate(v["both_allowed"]) if ok}
    assert set(offered) == both and both < own  # nothing across either side's red line; some of Kyiv's left out
    assert kyiv["left_out"]["count"] == len(own - both) > 0 and "moscow's red lines" in kyiv["left_out"]["why"]
    scores = [o["score"] for o in kyiv["options"]]
    assert scores == sorted(scores, reverse=True) and max(scores) <= 1.0  # the terms alone, on their 0-1 scale
    assert max(v["utilities"][x] for x in own) > 1.0  # with the side-payment the old score went past the top
    assert kyiv["side_payment"] == pytest.approx(v["utilities"][0] - v["terms_utilities"][0])
    for o in kyiv["options"]:
        check_words(o["words"])
        check_satisfaction(o["satisfaction"], {"kyiv", "moscow", "ukraine_public"},
                           {"kyiv": "own", "ukraine_public": "own", "moscow": "reckoned"})
        happy = {s["actor"]: s for s in o["satisfaction"]}
        assert happy["kyiv"]["score"] == pytest.approx(v["utilities"][o["number"]] - v["demand"])
        assert happy["ukraine_public"]["score"] == pytest.approx(v["public_margins"][o["number"]])
        assert happy["moscow"]["worth"] == pytest.approx(v["other"]["utilities"][o["number"]])
    client.post(moves, headers=auth(tokens["kyiv"]), json={"kind": "propose", "choice": offered[0]})
    assert pending("moscow")["proposer"] == "kyiv"
    client.post(moves, headers=auth(tokens["moscow"]), json={"kind": "answer", "choice": True})
    public = pending("ukraine_public")
    assert public["kind"] == "ratify" and public["proposer"] == "kyiv"
    check_satisfaction(public["satisfaction"], {"ukraine_public"}, "own")
    assert public["satisfaction"][0]["score"] == pytest.approx(public["view"]["margin"])
    client.post(moves, headers=auth(tokens["ukraine_public"]), json={"kind": "ratify", "choice": True})
    for _ in range(100):
        if client.post(f"/api/sessions/{code}/advance", headers=auth(teacher)).json()["finished"]:
            break
    st = client.get(f"/api/sessions/{code}/state", headers=auth(tokens["kyiv"])).json()
    r = st["results"]
    assert r["outcome"] == "agreement" and r["agreement_month"] == 3
    check_words(r["terms_words"])
    assert km2_words(r["land_km2"]) in r["terms_words"]
    check_satisfaction(r["satisfaction"], {"kyiv", "moscow", "ukraine_public"}, "true")
    talk = next(e["talks"] for e in room.sessions[code].final_game().model.log if e.get("talks", {}).get("agreed"))
    happy = {s["actor"]: s for s in r["satisfaction"]}
    for g, gov in enumerate(base.governments):
        assert happy[gov]["worth"] == pytest.approx(talk["utilities"][g] + talk["side_payments"][g])
        assert happy[gov]["no_deal"] == pytest.approx(talk["needs"][g])
    assert happy["ukraine_public"]["score"] == pytest.approx(talk["margins"][0])
    month3 = next(m for m in st["months"] if m["month"] == 3)["talks"]
    check_words(month3["words"])
    assert month3["proposer"] == "kyiv" and terms.short_km2(r["land_km2"]) in month3["words"]
    assert "utilities" not in json.dumps(st["months"])  # the public record holds no private numbers


def test_the_draft_builders_satisfaction_and_words(base):
    d = draft(base.scenario, 1, 3, 6, {"crimea_status": "status_deferred", "land_returned": "return_25",
                                       "legal_recognition": "not_recognised"})
    check_words(d.words)
    happy = {s.actor: s for s in d.satisfaction}
    assert set(happy) == {"kyiv", "moscow", "ukraine_public"}  # the Russian public does not vote in the baseline
    for g in d.governments:
        assert happy[g.name].score == pytest.approx(g.utility + g.side_payment - g.asks)
    assert happy["ukraine_public"].score == pytest.approx(d.publics[0].margin)
    assert all(np.isfinite(s.score) for s in d.satisfaction)


def test_the_dashboards_overrides_are_a_table_of_parameter_value_and_default():
    from sim.play.dashboard_page import levers, overrides_table

    default = next(c for c in levers() if c.path == "actors.kyiv.resolve")
    html = str(overrides_table({"actors.kyiv.resolve": 0.4, "actors.us.active": False}))
    assert "<th>parameter</th><th>your value</th><th>scenario's value</th>" in html
    assert "data-path='actors.kyiv.resolve' data-value='0.4'" in html
    drawn = " (drawn per run)" if default.uncertain else ""
    assert f"<td class='value'>0.4</td><td class='default'>{default.value:.4g}{drawn}</td>" in html
    assert "<td class='value'>off</td><td class='default'>on</td>" in html  # a switch, in words
    assert f"{default.group}: {default.label}" in html  # whose parameter, in words
    assert "{" not in html  # no JSON
    assert "No overrides" in str(overrides_table({}))
