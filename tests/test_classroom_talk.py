"""The classroom's moves beyond the talks (issue 20): actions on the ground, the talk channel between roles, the
end screen beside the model's own play of the same run, and the propose screen's issue-by-issue options; played
through the API on scenarios/classroom.yaml (every role has actions there). The talk channel's bounds are the
attacks an open network brings (tests/test_classroom_abuse.py's concern): long, malformed or hostile messages,
floods, a channel switched off."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from classroom_client import Clock, auth, client_of, new_class, state
from starlette.testclient import TestClient

from sim.play import game, summary
from sim.play.classroom import talk
from sim.play.classroom.room import Classroom
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[1]
CLASSROOM = ROOT / "scenarios" / "classroom.yaml"
STUDENTS = ("kyiv", "moscow", "us", "ukraine_public")
PAYLOAD = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


@pytest.fixture(scope="module")
def compiled():
    return compile_scenario(load_scenario(CLASSROOM))


def make(compiled, tmp_path: Path, clock=None) -> tuple[Classroom, TestClient]:
    room = Classroom(compiled, 1, 0, state_dir=tmp_path / "classroom", runs=100, **({"clock": clock} if clock else {}))
    return room, client_of(room)


def post(client: TestClient, code: str, what: str, token: str, body) -> tuple[int, dict]:
    res = client.post(f"/api/sessions/{code}/{what}", headers=auth(token), content=json.dumps(body))  # \ud800 too
    return res.status_code, res.json()


def to_end(client: TestClient, code: str, teacher: str) -> dict:
    for _ in range(200):
        if state(client, code, teacher)["finished"]:
            break
        assert post(client, code, "advance", teacher, {"until": "decision"})[0] == 200
    res = client.get(f"/api/sessions/{code}/results")
    assert res.status_code == 200, res.text
    return res.json()


# --------------------------------------------------------------------------- actions on the ground


def test_students_act_on_the_ground_and_the_replay_keeps_it(compiled, tmp_path):
    room, client = make(compiled, tmp_path)
    code, teacher, tokens = new_class(client, STUDENTS)
    assert post(client, code, "advance", teacher, {"until": "decision"})[0] == 200
    st = state(client, code, teacher)
    assert st["phase"] == "deciding" and st["stage"] == {"month": 1, "kind": "act"}
    assert st["waiting_for"] == sorted(STUDENTS)  # every student acts in the same stage, together
    assert st["awaiting"]["kind"] == "act"
    us = state(client, code, tokens["us"])["pending"]
    assert us["kind"] == "act"
    offered = {a["name"]: a for a in us["actions"]}
    assert offered == {a["name"]: a for a in game.role_actions(compiled, "us")}  # the same list as negsim play
    assert all(a["effect"] and a["label"] for a in us["actions"])  # each with its expected effect
    # an action of another role, a made-up one, a wrong type: 400 naming what is expected
    for bad in ("intensify", "launch_missiles", 3, ["pause_aid"], "x" * 300):
        status, doc = post(client, code, "moves", tokens["us"], {"kind": "act", "choice": bad})
        assert status == 400 and ("pause_aid" in doc["error"] or "action" in doc["error"]), (bad, doc)
    status, doc = post(client, code, "moves", tokens["us"], {"kind": "propose", "choice": 1})
    assert status == 400 and "to act, not to propose" in doc["error"]
    assert post(client, code, "moves", tokens["us"], {"kind": "act", "choice": "pause_aid", "month": 1})[0] == 200
    assert post(client, code, "moves", tokens["moscow"], {"kind": "act", "choice": "intensify"})[0] == 200
    assert post(client, code, "moves", tokens["kyiv"], {"kind": "act", "choice": "pass"})[0] == 200
    assert state(client, code, teacher)["waiting_for"] == ["ukraine_public"]
    assert post(client, code, "moves", tokens["ukraine_public"], {"kind": "act", "choice": None})[0] == 200
    st = state(client, code, teacher)
    month1 = st["months"][0]
    assert {(a["role"], a["name"], a["by"]) for a in month1["actions"]} == {("us", "pause_aid", "class"),
                                                                          ("moscow", "intensify", "class")}
    assert month1["process"]["levels"].get("us_aid") == 0  # the action went through the game's own code
    # the next month: Moscow may intensify only twice in a game
    assert post(client, code, "advance", teacher, {"until": "decision"})[0] == 200
    for role in STUDENTS:
        if role != "moscow":
            post(client, code, "moves", tokens[role], {"kind": "act", "choice": "none"})
    assert post(client, code, "moves", tokens["moscow"], {"kind": "act", "choice": "intensify"})[0] == 200
    results = to_end(client, code, teacher)
    acts = [m for m in results["moves"] if m["kind"] == "act" and m["choice"] is not None]
    assert [(m["month"], m["role"], m["choice"]) for m in acts][:3] == [(1, "us", "pause_aid"), (1, "moscow", "intensify"),
                                                                       (2, "moscow", "intensify")]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/api/sessions/{code}/game.csv", headers=auth(teacher)).text)))
    assert {"month": "1", "role": "us", "kind": "act", "choice": "pause_aid", "package": "",
            "terms": "Pause US military aid", "made_by": "class"} in rows
    page = client.get(f"/summary/{code}").text  # the summary's decisions: the actions too, with who took them
    assert "acts on the ground" in page and "Pause US military aid" in page
    # the replay file records the actions and plays to the same end; a restarted server keeps them
    replay = room.replay_path(room.sessions[code])
    doc = json.loads(replay.read_text())
    assert {"month": 1, "role": "moscow", "kind": "act", "choice": "intensify"} in doc["moves"]
    g = game.replay(game.load_replay(replay))
    assert g.model.acted[:3] == [(1, "us", "pause_aid"), (1, "moscow", "intensify"), (2, "moscow", "intensify")]
    again = Classroom(compiled, 1, 0, state_dir=tmp_path / "classroom", runs=100).get(code)
    assert [m for m in again.moves if m.kind == "act" and m.choice] == \
        [m for m in room.sessions[code].moves if m.kind == "act" and m.choice]


def test_a_restart_mid_action_takes_the_class_up_where_it_stood(compiled, tmp_path):
    room, client = make(compiled, tmp_path)
    code, teacher, tokens = new_class(client, roles=("kyiv", "us"))
    assert post(client, code, "advance", teacher, {"until": "decision"})[0] == 200
    assert post(client, code, "moves", tokens["us"], {"kind": "act", "choice": "offer_guarantee"})[0] == 200
    assert post(client, code, "messages", tokens["us"], {"to": "kyiv", "text": "A guarantee is on offer."})[0] == 201
    _again, client2 = make(compiled, tmp_path)  # a new server on the same state folder
    st = state(client2, code, teacher)
    assert st["phase"] == "deciding" and st["waiting_for"] == ["kyiv"] and st["stage"]["kind"] == "act"
    assert [m["text"] for m in st["messages"]] == ["A guarantee is on offer."]
    pending = state(client2, code, tokens["kyiv"])["pending"]
    assert pending["kind"] == "act"
    assert post(client2, code, "moves", tokens["us"], {"kind": "act", "choice": "pause_aid"})[0] == 400  # moved
    assert post(client2, code, "moves", tokens["kyiv"], {"kind": "act", "choice": pending["actions"][0]["name"]})[0] == 200
    month1 = state(client2, code, teacher)["months"][0]
    assert {(a["role"], a["name"], a["by"]) for a in month1["actions"]} == {
        ("us", "offer_guarantee", "class"), ("kyiv", pending["actions"][0]["name"], "class")}


def test_an_action_used_up_is_refused(compiled, tmp_path):
    _room, client = make(compiled, tmp_path)
    code, teacher, tokens = new_class(client, roles=("moscow",))
    for month in (1, 2, 3):
        assert post(client, code, "advance", teacher, {"until": "decision"})[0] == 200
        pending = state(client, code, tokens["moscow"])["pending"]
        assert pending["kind"] == "act" and pending["month"] == month
        left = {a["name"]: a["left"] for a in pending["actions"]}["intensify"]
        assert left == 3 - month if month < 3 else left == 0
        status, doc = post(client, code, "moves", tokens["moscow"], {"kind": "act", "choice": "intensify"})
        if month < 3:
            assert status == 200, doc
        else:
            assert status == 400 and "only 2 time(s)" in doc["error"], doc


# --------------------------------------------------------------------------- the talk channel


def test_messages_and_draft_offers_between_roles(compiled, tmp_path):
    room, client = make(compiled, tmp_path)
    code, teacher, tokens = new_class(client, STUDENTS)
    watcher = client.post(f"/api/sessions/{code}/join", json={"role": "observer"}).json()["token"]
    issue, k = compiled.issues[-1], len(compiled.issues) - 1
    option = compiled.options[k][-1]
    status, doc = post(client, code, "messages", tokens["kyiv"], {"to": "moscow", "text": "  Freeze the line? ",
                                                                  "terms": {issue: option}})
    assert status == 201 and doc["message"]["text"] == "Freeze the line?" and doc["message"]["terms"] == {issue: option}
    assert doc["message"]["words"] == talk.draft_words(compiled, {issue: option}) and "_" not in doc["message"]["words"]
    assert post(client, code, "messages", tokens["us"], {"to": "all", "text": PAYLOAD})[0] == 201
    seen = {r: [m["text"] for m in state(client, code, tokens[r])["messages"]] for r in STUDENTS}
    assert seen["kyiv"] == seen["moscow"] == ["Freeze the line?", PAYLOAD]  # the sender, the addressee, everybody's
    assert seen["ukraine_public"] == [PAYLOAD]  # not a message between two others
    assert len(state(client, code, teacher)["messages"]) == 2  # the teacher reads every one
    assert state(client, code, watcher)["messages"] == []  # the projector only when the teacher shows them there
    assert post(client, code, "talk", teacher, {"projector": True})[1]["talk"] == {"on": True, "projector": True}
    assert len(state(client, code, watcher)["messages"]) == 2
    # the state says the agenda in words for a draft, every issue of the scenario
    agenda = state(client, code, tokens["kyiv"])["agenda"]
    assert [a["issue"] for a in agenda] == list(compiled.issues)
    assert all(len(a["options"]) == len(compiled.options[i]) for i, a in enumerate(agenda))
    # the teacher switches the channel off: a message is refused with 409 saying why; on again, it goes through
    assert post(client, code, "talk", tokens["kyiv"], {"on": False})[0] == 403
    assert post(client, code, "talk", teacher, {"on": False})[1]["talk"]["on"] is False
    status, doc = post(client, code, "messages", tokens["moscow"], {"to": "kyiv", "text": "no"})
    assert status == 409 and "switched the talk channel off" in doc["error"]
    assert state(client, code, tokens["moscow"])["talk"]["on"] is False
    assert post(client, code, "talk", teacher, {"on": True})[0] == 200
    assert post(client, code, "messages", tokens["moscow"], {"to": "kyiv", "text": "Not yet."})[0] == 201
    # saved in the replay, shown in the summary page (escaped) and the report; the replay plays to the same end
    results = to_end(client, code, teacher)
    assert post(client, code, "messages", tokens["kyiv"], {"to": "all", "text": "late"})[0] == 409  # the game is over
    replay = room.replay_path(room.sessions[code])
    events = json.loads(replay.read_text())["events"]
    said = [e for e in events if e["kind"] == "message"]
    assert [(e["role"], e["to"], e["text"]) for e in said] == [("kyiv", "moscow", "Freeze the line?"),
                                                               ("us", "all", PAYLOAD), ("moscow", "kyiv", "Not yet.")]
    assert any(e["kind"] == "talk" and "off" in e["text"] for e in events)
    rp = game.load_replay(replay)
    assert [e["text"] for e in rp.events if e["kind"] == "message"][1] == PAYLOAD
    assert game.record(game.replay(rp), None)["outcome"] == results["outcome"]
    page = client.get(f"/summary/{code}").text
    assert PAYLOAD not in page and "&lt;script&gt;alert(2)&lt;/script&gt;" in page and "<img src=x" not in page
    assert "Freeze the line?" in page and talk.draft_words(compiled, {issue: option}) in page
    anchors = [a for a, _h, _p in summary.from_replay(replay, runs=50)]
    assert anchors[-1] == "class-events"
    out = tmp_path / "class.html"
    res = subprocess.run([sys.executable, "-m", "sim", "report", "--class", str(replay), "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr
    report = out.read_text()
    assert "Not yet." in report and "Freeze the line?" in report and "&lt;script&gt;" in report
    assert "<script>alert" not in report and "the model, same run" in report


@pytest.mark.parametrize(("body", "status", "said"), [
    ({"to": "moscow", "text": "x" * 501}, 400, "at most 500 characters"),
    ({"to": "moscow", "text": "   "}, 400, "at least one character"),
    ({"to": "moscow", "text": 7}, 400, "a string"),
    ({"to": "moscow"}, 400, "a string"),
    ({"to": "moscow", "text": "hi\u202eevil"}, 400, "U+202E"),
    ({"to": "moscow", "text": "bell\x07"}, 400, "U+0007"),
    ({"to": "moscow", "text": "half \ud800 a pair"}, 400, "U+D800"),
    ({"to": "kremlin", "text": "hi"}, 400, "expected \"to\""),
    ({"to": "kyiv", "text": "hi"}, 400, "not to yourself"),
    ({"to": "observer", "text": "hi"}, 400, "expected \"to\""),
    ({"to": ["moscow"], "text": "hi"}, 400, "expected \"to\""),
    ({"to": "moscow", "text": "hi", "terms": {"no_such_issue": "x"}}, 400, "no issue"),
    ({"to": "moscow", "text": "hi", "terms": []}, 400, "issue: option"),
    ({"to": "moscow", "text": "hi", "terms": {}}, 400, "issue: option"),
])
def test_a_malformed_message_is_a_400(compiled, tmp_path, body, status, said):
    _room, client = make(compiled, tmp_path)
    code, _teacher, tokens = new_class(client, roles=("kyiv",))
    got, doc = post(client, code, "messages", tokens["kyiv"], body)
    assert got == status and said in doc["error"], doc


def test_the_channel_is_bounded(compiled, tmp_path, monkeypatch):
    clock = Clock()
    room, client = make(compiled, tmp_path, clock)
    code, teacher, tokens = new_class(client, roles=("kyiv", "moscow"))
    watcher = client.post(f"/api/sessions/{code}/join", json={"role": "observer"}).json()["token"]
    for who in (teacher, watcher):  # only a role talks
        assert post(client, code, "messages", who, {"to": "kyiv", "text": "hi"})[0] == 403
    assert post(client, code, "messages", "forged", {"to": "kyiv", "text": "hi"})[0] == 401
    issue = compiled.issues[0]
    assert post(client, code, "messages", tokens["kyiv"], {"to": "moscow", "text": "hi",
                                                           "terms": {issue: "no_such_option"}})[0] == 400
    for _ in range(talk.RATE):
        assert post(client, code, "messages", tokens["kyiv"], {"to": "moscow", "text": "flood"})[0] == 201
    res = client.post(f"/api/sessions/{code}/messages", headers=auth(tokens["kyiv"]), json={"to": "all", "text": "x"})
    assert res.status_code == 429 and int(res.headers["Retry-After"]) >= 1 and "at most" in res.json()["error"]
    assert post(client, code, "messages", tokens["moscow"], {"to": "kyiv", "text": "mine"})[0] == 201  # per role
    clock.now += talk.WINDOW + 1
    assert post(client, code, "messages", tokens["kyiv"], {"to": "moscow", "text": "later"})[0] == 201
    monkeypatch.setattr("sim.play.classroom.talk.MAX_MESSAGES", len(talk.visible(room.sessions[code], "teacher")))
    status, doc = post(client, code, "messages", tokens["moscow"], {"to": "kyiv", "text": "one more"})
    assert status == 409 and "limit" in doc["error"]
    for bad in ({}, {"on": "yes"}, {"projector": 1}):
        assert post(client, code, "talk", teacher, bad)[0] == 400, bad


# --------------------------------------------------------------------------- the end screen and the propose screen


def test_the_end_screen_sets_the_class_beside_the_models_own_play(compiled, tmp_path):
    _room, client = make(compiled, tmp_path)
    code, teacher, tokens = new_class(client, roles=("us",))
    assert post(client, code, "advance", teacher, {"until": "decision"})[0] == 200
    assert post(client, code, "moves", tokens["us"], {"kind": "act", "choice": "pause_aid"})[0] == 200
    e = to_end(client, code, teacher)["ending"]
    assert e["played"] and e["moves"] == 1
    what = [r["what"] for r in e["rows"]]
    assert what[0] == "outcome" and "Ukrainian losses by month 24" in what and "Russian losses by month 24" in what
    if compiled.land_issue >= 0:  # the land term in km2 (or "-" for a game without a deal)
        land = next(r for r in e["rows"] if r["what"] == "land")
        assert all(cell == "-" or "km2" in cell or cell == "no land moves" for cell in (land["class"], land["model"]))
    assert e["lines"][1].startswith("Your game ended in ") and "the model's own play of this run" in e["lines"][1]
    if e["class"]["outcome"] == "agreement":
        assert "counting the losses until the deal" in " ".join(e["lines"])
        assert {s["actor"] for s in e["class"]["satisfaction"]} >= set(compiled.governments)
    # a class that made no move: the model's own play, said so
    _room2, client2 = make(compiled, tmp_path / "second")
    code2, teacher2, _t = new_class(client2, roles=())
    e2 = to_end(client2, code2, teacher2)["ending"]
    assert not e2["played"] and e2["lines"][1].startswith("You had no move in this run")


def test_the_propose_screen_offers_no_option_across_a_red_line(compiled, tmp_path):
    room, client = make(compiled, tmp_path)
    code, teacher, tokens = new_class(client, roles=list(game.role_kinds(compiled)))  # every role: so a student
    for _ in range(200):  # proposes in the first round of talks; they pass on the ground and reject until then
        st = state(client, code, teacher)
        if st["phase"] == "deciding" and st["stage"]["kind"] == "propose":
            break
        assert not st["finished"], "the game ended before any offer"
        if st["phase"] == "deciding":
            for role in st["waiting_for"]:
                post(client, code, "moves", tokens[role], {"kind": st["stage"]["kind"],
                                                          "choice": "none" if st["stage"]["kind"] == "act" else False})
        else:
            post(client, code, "advance", teacher, {"until": "decision"})
    assert st["phase"] == "deciding" and st["stage"]["kind"] == "propose"
    role = st["waiting_for"][0]
    d = state(client, code, tokens[role])["pending"]
    decision = room.sessions[code].pending_for(role)
    for o in d["options"]:
        assert decision.options is None or bool(decision.options[o["number"]])  # never across its own red line
        assert [t["issue"] for t in o["term_words"]] == list(compiled.issues)  # every issue, in words
        assert all("_" not in t["words"] for t in o["term_words"])
    assert d["options"][0]["score"] == max(o["score"] for o in d["options"])  # pre-selected: the best legal one
