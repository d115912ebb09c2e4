"""negsim classroom: the JSON API (every status it answers), the month flow, expiry, limits, saved games."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from classroom_client import SECRET, Clock, auth, client_of, new_class, state
from rows import same_row
from starlette.testclient import TestClient

from sim.play import game
from sim.play.classroom.room import CODE_PATTERN, Classroom
from sim.runs.batch import simulate_block
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
STUDENTS = ["kyiv", "moscow", "us", "ukraine_public"]
RUNS = 200


@pytest.fixture(scope="module")
def base():
    return compile_scenario(load_scenario(BASELINE))


def make(base, tmp_path: Path, seed: int = 1, replicate: int = 9, app_kw=None, **kw) -> tuple[Classroom, TestClient]:
    """A classroom and a test client of its app (generous rate limits unless ``app_kw`` sets them)."""
    room = Classroom(base, seed, replicate, state_dir=tmp_path / "classroom", runs=RUNS, **kw)
    return room, client_of(room, **(app_kw or {}))


def new_session(client: TestClient, roles=STUDENTS) -> tuple[str, str, dict[str, str]]:
    return new_class(client, roles)




def test_sessions_and_joining(base, tmp_path):
    _room, client = make(base, tmp_path)
    res = client.post("/api/sessions", headers=auth(SECRET))
    assert res.status_code == 201
    code, teacher = res.json()["code"], res.json()["teacher_token"]
    assert CODE_PATTERN.fullmatch(code) and len(teacher) >= 32
    info = client.get(f"/api/sessions/{code}").json()
    assert set(info["roles"]) == {"kyiv", "moscow", "us", "eu_uk", "ukraine_public", "russia_public", "observer"}
    assert not any(r["taken"] for r in info["roles"].values())
    kyiv = client.post(f"/api/sessions/{code}/join", json={"role": "kyiv"})
    assert kyiv.status_code == 200 and kyiv.json()["token"] != teacher
    again = client.post(f"/api/sessions/{code}/join", json={"role": "kyiv"})
    assert again.status_code == 409 and "taken" in again.json()["error"]
    unknown = client.post(f"/api/sessions/{code}/join", json={"role": "nato"})
    assert unknown.status_code == 400 and "no role 'nato'" in unknown.json()["error"]
    assert client.post(f"/api/sessions/{code}/join", json={"role": ["kyiv"]}).status_code == 400
    assert client.post(f"/api/sessions/{code}/join", json={}).status_code == 400
    assert client.post(f"/api/sessions/{code}/join", content=b"{role").status_code == 400
    assert client.post(f"/api/sessions/{code}/join", content=b"x" * 20_000).status_code == 413
    observers = [client.post(f"/api/sessions/{code}/join", json={"role": "observer"}) for _ in range(3)]
    assert all(o.status_code == 200 for o in observers) and len({o.json()["token"] for o in observers}) == 3
    info = client.get(f"/api/sessions/{code}").json()
    assert info["roles"]["kyiv"]["taken"] and not info["roles"]["moscow"]["taken"]
    assert info["roles"]["observer"]["count"] == 3
    # unknown codes, and codes that try to be paths, are 404s that never touch the file system
    for bad in ("ZZZZZZ", "..%2F..%2Fetc", "abcdef", "A" * 7, "%2E%2E"):
        res = client.post(f"/api/sessions/{bad}/join", json={"role": "kyiv"})
        assert res.status_code == 404, bad


def test_tokens(base, tmp_path):
    _room, client = make(base, tmp_path)
    code, teacher, tokens = new_session(client, ["kyiv"])
    other, other_teacher, other_tokens = new_session(client, ["kyiv"])
    url = f"/api/sessions/{code}/state"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get(url, headers=auth("forged-" + tokens["kyiv"][7:])).status_code == 401
    assert client.get(url, headers=auth(other_tokens["kyiv"])).status_code == 401  # another session's token
    assert client.get(url, headers=auth(other_teacher)).status_code == 401
    assert client.post(f"/api/sessions/{code}/advance", headers=auth(other_teacher)).status_code == 401
    assert client.get(url, headers=auth(tokens["kyiv"])).json()["role"] == "kyiv"
    assert client.get(url, headers=auth(teacher)).json()["role"] == "teacher"
    assert client.get(f"/api/sessions/{code}/results", headers=auth(other_teacher)).status_code == 401
    for path in ("events", "game.csv", "game.replay.json"):
        assert client.get(f"/api/sessions/{code}/{path}", headers=auth(other_teacher)).status_code == 401, path
        assert client.get(f"/api/sessions/{code}/{path}").status_code == 401, path
    assert client.get(f"/api/sessions/{code}/game.csv", headers=auth(tokens["kyiv"])).status_code == 403
    assert client.get(f"/api/sessions/{code}/game.csv", headers=auth(teacher)).status_code == 409  # not over yet


def test_a_whole_game_through_the_api(base, tmp_path):
    """Seed 1 replicate 67: talks open in month 2 with the US leading; every student gets a decision (Kyiv's
    rejection keeps the talks open into month 3, when Kyiv proposes)."""
    room, client = make(base, tmp_path, replicate=67)
    code, teacher, tokens = new_session(client)
    st = state(client, code, tokens["kyiv"])
    assert st["month"] == 0 and st["phase"] == "waiting" and not st["finished"] and st["pending"] is None
    assert client.get(f"/api/sessions/{code}/results").status_code == 409
    res = client.post(f"/api/sessions/{code}/advance", headers=auth(tokens["kyiv"]))
    assert res.status_code == 403
    res = client.post(f"/api/sessions/{code}/advance", headers=auth(teacher), json={"until": "next week"})
    assert res.status_code == 400
    res = client.post(f"/api/sessions/{code}/advance", headers=auth(teacher))
    assert res.status_code == 200 and res.json()["month"] == 1 and res.json()["phase"] == "waiting"
    assert len(state(client, code, teacher)["months"]) == 1
    # a move when the role has none to make
    res = client.post(f"/api/sessions/{code}/moves", headers=auth(tokens["kyiv"]), json={"kind": "answer", "choice": True})
    assert res.status_code == 400 and "no decision to make now" in res.json()["error"]
    res = client.post(f"/api/sessions/{code}/advance", headers=auth(teacher), json={"until": "decision"})
    assert res.json()["phase"] == "deciding"
    us = state(client, code, tokens["us"])
    d = us["pending"]
    assert d["kind"] == "propose" and d["month"] == 2 and "chance_of_deal" in d["view"]
    assert "value_of_fighting" not in d["view"] and "utilities" not in d["view"]  # no side's private numbers
    teacher_view = state(client, code, teacher)
    assert teacher_view["waiting_for"] == ["us"] and teacher_view["stage"] == {"month": 2, "kind": "propose"}
    assert teacher_view["pending"] is None
    kyiv = state(client, code, tokens["kyiv"])
    assert kyiv["pending"] is None and kyiv["phase"] == "deciding"
    moves = f"/api/sessions/{code}/moves"
    # bad moves: 400 with a clear message, 403 for a role the token does not hold
    for body, message in [({"kind": "answer", "choice": True}, "turn to propose, not to answer"),
                          ({"kind": "propose"}, "expected \"choice\""),
                          ({"kind": "propose", "choice": 99}, "from 0 to 47"),
                          ({"kind": "propose", "choice": True}, "expected a package"),
                          ({"kind": "propose", "choice": "territory=all"}, "no issue 'territory'"),
                          ({"kind": "propose", "choice": 5, "month": 3}, "for month 2"),
                          ({"kind": "vote", "choice": 5}, "expected \"kind\"")]:
        res = client.post(moves, headers=auth(tokens["us"]), json=body)
        assert res.status_code == 400 and message in res.json()["error"], (body, res.text)
    illegal = next(x for x in range(base.n_packages) if x not in {o["number"] for o in d["options"]})
    res = client.post(moves, headers=auth(tokens["us"]), json={"kind": "propose", "choice": illegal})
    assert res.status_code == 400 and "red line" in res.json()["error"]
    assert client.post(moves, headers=auth(tokens["kyiv"]), json={"role": "us", "kind": "propose", "choice": 3}
                       ).status_code == 403
    assert client.post(moves, headers=auth(teacher), json={"kind": "propose", "choice": 3}).status_code == 403
    observer = client.post(f"/api/sessions/{code}/join", json={"role": "observer"}).json()["token"]
    assert client.post(moves, headers=auth(observer), json={"kind": "propose", "choice": 3}).status_code == 403
    assert client.post(moves, json={"kind": "propose", "choice": 3}).status_code == 401
    offer = d["options"][0]["number"]
    res = client.post(moves, headers=auth(tokens["us"]), json={"kind": "propose", "month": 2, "choice": offer})
    assert res.status_code == 200 and res.json()["move"] == {"month": 2, "role": "us", "kind": "propose", "choice": offer}
    # both governments answer the same offer, each seeing only its own numbers
    kyiv, moscow = state(client, code, tokens["kyiv"])["pending"], state(client, code, tokens["moscow"])["pending"]
    assert kyiv["kind"] == moscow["kind"] == "answer" and kyiv["package"]["number"] == offer
    assert kyiv["view"]["value_of_fighting"] != moscow["view"]["value_of_fighting"]
    assert state(client, code, tokens["us"])["pending"] is None
    res = client.post(moves, headers=auth(tokens["kyiv"]), json={"kind": "answer", "choice": False})
    assert res.status_code == 200
    st = state(client, code, tokens["kyiv"])
    assert st["moved"] and st["pending"] is None and st["month"] == 1  # the month resolves when all are in
    res = client.post(moves, headers=auth(tokens["kyiv"]), json={"kind": "answer", "choice": True})
    assert res.status_code == 400  # already moved
    client.post(moves, headers=auth(tokens["moscow"]), json={"kind": "answer", "choice": True})
    st = state(client, code, tokens["moscow"])
    assert st["month"] == 2 and st["phase"] == "waiting"
    # each role's own numbers of the month, its own only: Moscow's are the log's for Moscow, the US has none
    log = room.sessions[code].position.model.log[-1]
    assert st["own"]["value_of_fighting"] == pytest.approx(log["values"][1])
    assert state(client, code, tokens["kyiv"])["own"]["value_of_fighting"] == pytest.approx(log["values"][0])
    assert state(client, code, tokens["ukraine_public"])["own"] == {"month": 2, "weariness": log["weariness"][0]}
    assert state(client, code, tokens["us"])["own"] is None and "own" not in state(client, code, teacher)
    month2 = st["months"][-1]["talks"]
    assert month2["proposer"] == "us" and month2["package"] == offer and not month2["agreed"]
    assert month2["answers"] == {"kyiv": False, "moscow": True}
    assert {(m["role"], m["by"]) for m in month2["moves"]} == {("us", "class"), ("kyiv", "class"), ("moscow", "class")}
    assert "utilities" not in json.dumps(st["months"])  # the public record holds no private numbers
    # month 3: Kyiv proposes; the teacher advances before Moscow answers: the model answers for it
    client.post(f"/api/sessions/{code}/advance", headers=auth(teacher), json={"until": "decision"})
    kyiv = state(client, code, tokens["kyiv"])["pending"]
    assert kyiv["kind"] == "propose" and kyiv["month"] == 3
    client.post(moves, headers=auth(tokens["kyiv"]), json={"kind": "propose", "choice": kyiv["options"][0]["number"]})
    assert state(client, code, tokens["moscow"])["pending"]["kind"] == "answer"
    for _ in range(200):
        if client.post(f"/api/sessions/{code}/advance", headers=auth(teacher)).json()["finished"]:
            break
    st = state(client, code, tokens["ukraine_public"])
    assert st["finished"] and st["phase"] == "finished"
    res = client.post(f"/api/sessions/{code}/advance", headers=auth(teacher))
    assert res.status_code == 400 and "over" in res.json()["error"]
    results = client.get(f"/api/sessions/{code}/results").json()
    assert results == st["results"]
    assert results["outcome"] in ("agreement", "talks_failed", "no_talks")
    shares = results["comparison"]["model_outcome_shares"]
    assert results["comparison"]["runs"] == RUNS and sum(shares.values()) == pytest.approx(1.0)
    assert results["sentences"][0].startswith(f"Over {RUNS} runs of the same scenario")
    # the class's game is the game of its moves
    made = [game.Move(m["month"], m["role"], m["kind"], m["choice"]) for m in results["moves"]]
    whole = game.play(base, 1, 67, STUDENTS, game.Recorded(made))
    assert results["outcome"] == whole.row["outcome"]
    by = {(m["month"], m["role"], m["kind"]): m["by"] for m in results["moves"]}
    assert by[(2, "us", "propose")] == "class" and by[(3, "moscow", "answer")] == "model"
    # downloads: the teacher's only
    assert client.get(f"/api/sessions/{code}/game.csv", headers=auth(tokens["kyiv"])).status_code == 403
    text = client.get(f"/api/sessions/{code}/game.csv", headers=auth(teacher)).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0] == {"month": "2", "role": "us", "kind": "propose", "choice": "propose", "package": str(offer),
                       "terms": game.package_label(base, offer), "made_by": "class"}
    assert {"month": "2", "role": "kyiv", "kind": "answer", "choice": "reject"}.items() <= rows[1].items()
    assert rows[-1]["kind"] == "outcome" and rows[-1]["choice"] == results["outcome"]
    replay = tmp_path / "class.replay.json"
    replay.write_bytes(client.get(f"/api/sessions/{code}/game.replay.json", headers=auth(teacher)).content)
    told = subprocess.run([sys.executable, "-m", "sim.cli", "explain", "--replay", str(replay), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert told.returncode == 0, told.stderr
    assert json.loads(told.stdout)["row"]["outcome"] == results["outcome"]
    assert (room.state_dir / f"{code}.json").is_file()


@pytest.mark.parametrize("replicate", [0, 3, 9, 29])
def test_nobody_moves_is_the_batch_run(base, tmp_path, replicate):
    """Every role held, nobody moves, the teacher advances: each decision is the model's, the batch row's."""
    room, client = make(base, tmp_path, seed=1, replicate=replicate)
    code, teacher, tokens = new_session(client, STUDENTS + ["eu_uk", "russia_public"])
    for _ in range(200):
        if client.post(f"/api/sessions/{code}/advance", headers=auth(teacher)).json()["finished"]:
            break
    s = room.sessions[code]
    assert s.finished and all(m.choice is None for m in s.moves)
    batch = simulate_block(base, 1, 0, replicate + 1)
    same_row(s.final_game().row, batch.iloc[replicate])
    results = client.get(f"/api/sessions/{code}/results").json()
    assert results["outcome"] == results["comparison"]["same_run_by_model"] == batch.iloc[replicate]["outcome"]
    # the game went on to the horizon; each month and the situation carry the peace process, as everyone sees it
    row = batch.iloc[replicate]
    st = state(client, code, tokens["kyiv"])
    assert st["month"] == base.horizon and len(st["months"]) == base.horizon
    assert st["situation"]["process"]["stage"] == row["stage_reached"]
    assert [m["process"]["stage"] for m in st["months"]] == [game.process(base, e)["stage"]
                                                              for e in s.final_game().model.log]
    assert results["outcome_words"] == game.outcome_words(row, base.horizon)
    assert results["stage_reached"] == row["stage_reached"]


def test_a_late_joiner_does_not_change_the_past(base, tmp_path):
    # a run of seed 1 whose talks open in month 16 and settle that month, so the Ukrainian public votes then
    # (checked here: it moves with calibration)
    late_run, opens = 408, 16
    row = simulate_block(base, 1, 0, late_run + 1).iloc[late_run]
    assert row["talks_month"] == row["agreement_month"] == opens
    room, client = make(base, tmp_path, seed=1, replicate=late_run)
    code, teacher, tokens = new_session(client, ["ukraine_public"])
    for _ in range(opens - 1):
        client.post(f"/api/sessions/{code}/advance", headers=auth(teacher))
    client.post(f"/api/sessions/{code}/advance", headers=auth(teacher), json={"until": "decision"})
    late = client.post(f"/api/sessions/{code}/join", json={"role": "moscow"}).json()["token"]
    st = state(client, code, late)
    assert st["month"] == opens - 1 or st["pending"] is not None
    for _ in range(200):
        if client.post(f"/api/sessions/{code}/advance", headers=auth(teacher)).json()["finished"]:
            break
    same_row(room.sessions[code].final_game().row, row)


def test_expiry_and_the_bounded_count(base, tmp_path):
    clock = Clock()
    room, client = make(base, tmp_path, max_sessions=3, idle_seconds=60, clock=clock)
    made = [client.post("/api/sessions", headers=auth(SECRET)).json() for _ in range(3)]
    codes = [m["code"] for m in made]
    res = client.post("/api/sessions", headers=auth(SECRET))
    assert res.status_code == 503 and "limit" in res.json()["error"]
    clock.now += 30
    assert client.get(f"/api/sessions/{codes[1]}").status_code == 200  # asked for by code alone: not activity
    state(client, codes[0], made[0]["teacher_token"])  # the teacher's: its idle time starts again
    clock.now += 45
    assert client.post("/api/sessions", headers=auth(SECRET)).status_code == 201  # the two idle sessions expired
    assert client.get(f"/api/sessions/{codes[1]}").status_code == 404
    assert client.get(f"/api/sessions/{codes[0]}").status_code == 200
    assert len(room.sessions) == 2


def test_a_saved_game_survives_a_restart(base, tmp_path):
    room, client = make(base, tmp_path, seed=1, replicate=0)
    code, teacher, tokens = new_session(client, ["kyiv"])
    unfinished, unfinished_teacher, _ = new_session(client, ["moscow"])
    for _ in range(60):
        if client.post(f"/api/sessions/{code}/advance", headers=auth(teacher)).json()["finished"]:
            break
    before = state(client, code, tokens["kyiv"])
    assert before["finished"] and (room.state_dir / f"{code}.json").is_file()
    # a new server on the same state folder: the finished game and its tokens are back, and so is the unfinished one
    room2, client2 = make(base, tmp_path, seed=1, replicate=0)
    after = state(client2, code, tokens["kyiv"])
    assert after["finished"] and after["results"] == before["results"] and after["months"] == before["months"]
    assert client2.get(f"/api/sessions/{code}/results").json()["outcome"] == before["results"]["outcome"]
    assert client2.get(f"/api/sessions/{code}/game.csv", headers=auth(teacher)).status_code == 200
    assert state(client2, unfinished, unfinished_teacher)["phase"] == "waiting"
    # a damaged state file is no session, and another scenario's server will not show the game
    (room.state_dir / "ABCDEF.json").write_text("{not json")
    assert client2.get("/api/sessions/ABCDEF").status_code == 404
    other = compile_scenario(load_scenario(ROOT / "scenarios" / "hawkish_public.yaml"))
    _room3, client3 = make(other, tmp_path, seed=1, replicate=0)
    assert client3.get(f"/api/sessions/{code}").status_code == 410


def test_an_unfinished_game_survives_a_restart_where_it_stood(base, tmp_path):
    """A server restarted mid-class (on the same folder, scenario and seed) takes the class up where it stood:
    the same phase, month and pending decision, the same tokens; played on, it ends as the class without the
    restart does. Left idle past the limit, a saved unfinished game expires as one in memory does."""
    clock = Clock()

    phases = []

    def play(restart: bool) -> dict:
        folder = tmp_path / ("restarted" if restart else "straight")
        room, client = make(base, folder, seed=1, replicate=0, clock=clock)
        code, teacher, tokens = new_session(client, ["kyiv", "moscow"])
        for step in range(400):
            if state(client, code, teacher)["finished"]:
                break
            if restart and step in (1, 3):  # once mid-decision (or between months), once more later
                seen = {r: state(client, code, t) for r, t in [("teacher", teacher), *tokens.items()]}
                phases.append(seen["teacher"]["phase"])
                room, client = make(base, folder, seed=1, replicate=0, clock=clock)
                for r, t in [("teacher", teacher), *tokens.items()]:
                    again = state(client, code, t)
                    for key in ("phase", "month", "pending", "moved", "months", "stage", "waiting_for", "own"):
                        assert again.get(key) == seen[r].get(key), (r, key)
            pending = [r for r, t in tokens.items() if state(client, code, t)["pending"]]
            if pending:  # both refuse every offer the other makes, and propose the model's package
                for r in pending:
                    d = state(client, code, tokens[r])["pending"]
                    choice = False if d["kind"] == "answer" else None
                    res = client.post(f"/api/sessions/{code}/moves", headers=auth(tokens[r]),
                                      json={"kind": d["kind"], "choice": choice})
                    assert res.status_code == 200, res.text
            else:
                client.post(f"/api/sessions/{code}/advance", headers=auth(teacher), json={"until": "decision"})
        final = state(client, code, teacher)
        assert final["finished"]
        return final["results"] | {"months": final["months"]}

    straight, restarted = play(False), play(True)
    assert restarted == straight and "deciding" in phases, phases
    # idle past the limit: the saved unfinished game is dropped, on disk too
    room, client = make(base, tmp_path / "idle", seed=1, replicate=0, clock=clock, idle_seconds=60)
    code, teacher, _tokens = new_session(client, ["kyiv"])
    clock.now += 61
    _room2, client2 = make(base, tmp_path / "idle", seed=1, replicate=0, clock=clock, idle_seconds=60)
    assert client2.get(f"/api/sessions/{code}/state", headers=auth(teacher)).status_code == 404
    assert not (room.state_dir / f"{code}.json").exists()


def test_pages_are_served_without_network(base, tmp_path):
    _room, client = make(base, tmp_path)
    for path, needle in [("/", "Join your class"), ("/teacher", "Start a class session"),
                         ("/static/common.js", "negsim"), ("/static/student.js", "/moves"),
                         ("/static/teacher.js", "/advance"), ("/static/style.css", "body")]:
        res = client.get(path)
        assert res.status_code == 200 and needle in res.text, path
        text = res.text.replace("http://www.w3.org/2000/svg", "").replace("http://testserver/", "")  # the teacher's
        assert "http://" not in text and "https://" not in text  # page shows the students' address: nothing else
    assert "default-src 'self'" in client.get("/").headers["content-security-policy"]
    assert client.get("/static/../room.py").status_code == 404


def test_cli_rejects_bad_options(tmp_path):
    for args, message in [(["--port", "70000"], "--port must be"), (["--runs", "0"], "--runs must be")]:
        res = subprocess.run([sys.executable, "-m", "sim.cli", "classroom", str(BASELINE), *args],
                             capture_output=True, text=True, cwd=tmp_path, timeout=60)
        assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
    res = subprocess.run([sys.executable, "-m", "sim.cli", "classroom", "nope.yaml"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=60)
    assert res.returncode == 2 and "nope.yaml" in res.stderr


def test_live_updates_are_server_sent_events(base, tmp_path):
    """On a real server: the stream tells the session's version at once, then again at each change."""
    import httpx
    from classroom_server import serving

    room = Classroom(base, 1, 9, state_dir=tmp_path / "classroom", runs=RUNS)
    with serving(room) as url, httpx.Client(base_url=url, timeout=20) as http:
        made = http.post("/api/sessions", headers=auth(SECRET), json={}).json()
        code, teacher = made["code"], made["teacher_token"]
        with http.stream("GET", f"/api/sessions/{code}/events", headers=auth(teacher)) as res:
            assert res.status_code == 200 and res.headers["content-type"].startswith("text/event-stream")
            lines = (line for line in res.iter_lines() if line.startswith("data: "))
            first = json.loads(next(lines)[6:])
            assert first["phase"] == "waiting" and first["month"] == 0
            http.post(f"/api/sessions/{code}/join", json={"role": "kyiv"})
            joined = json.loads(next(lines)[6:])
            assert joined["version"] > first["version"]
            http.post(f"/api/sessions/{code}/advance", headers=auth(teacher), json={})
            advanced = json.loads(next(lines)[6:])
            assert advanced["version"] > joined["version"] and advanced["month"] == 1
