"""The classroom for the teacher (issue 20): the machine's real addresses and their QR code, the dashboard's
address, removing a student and leaving a role, the projector's public view, and the class summary (the
classroom's page and ``negsim report --class``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from classroom_client import auth, client_of, new_class, state
from starlette.testclient import TestClient

from sim.errors import NegsimError
from sim.play import addresses, game, summary
from sim.play.classroom.room import Classroom
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="module")
def base():
    return compile_scenario(load_scenario(BASELINE))


def make(base, tmp_path: Path, **app_kw) -> tuple[Classroom, TestClient]:
    room = Classroom(base, 1, 9, state_dir=tmp_path / "classroom", runs=200)
    return room, client_of(room, **app_kw)


def to_decision(client: TestClient, code: str, teacher: str) -> dict:
    for _ in range(40):
        st = state(client, code, teacher)
        if st["phase"] != "waiting":
            return st
        client.post(f"/api/sessions/{code}/advance", json={"until": "decision"}, headers=auth(teacher))
    raise AssertionError("no decision within 40 advances")


def to_end(client: TestClient, code: str, teacher: str) -> None:
    for _ in range(200):
        res = client.post(f"/api/sessions/{code}/advance", json={"until": "decision"}, headers=auth(teacher))
        if res.status_code == 400 or res.json().get("finished"):
            return
    raise AssertionError("the game did not end")


# ---------------------------------------------------------------------------------------------- addresses

def fake_machine(monkeypatch, interfaces=(), hostname=(), route=()):
    monkeypatch.setattr(addresses, "interface_addresses", lambda: list(interfaces))
    monkeypatch.setattr(addresses, "hostname_addresses", lambda: list(hostname))
    monkeypatch.setattr(addresses, "route_addresses", lambda: list(route))


def test_a_wildcard_address_lists_the_machines_own_addresses_ipv4_first(monkeypatch):
    fake_machine(monkeypatch, interfaces=["127.0.0.1", "192.168.1.20", "fd00::5", "fe80::1", "::1", "169.254.3.4"],
                 hostname=["127.0.1.1", "10.0.0.7", "192.168.1.20"], route=["192.168.1.20", "fd00::5"])
    r = addresses.reach("0.0.0.0", 8126)
    assert r.urls == ["http://10.0.0.7:8126/", "http://192.168.1.20:8126/", "http://169.254.3.4:8126/"]
    assert not r.local_only and r.note == "" and "0.0.0.0" not in " ".join(r.urls)
    both = addresses.reach("::", 8126)  # an IPv6 socket on :: takes IPv4 too: both families, IPv4 first
    assert both.urls == [*r.urls, "http://[fd00::5]:8126/"]
    assert both.hosts[-1] == "[fd00::5]" and both.hosts[0] == "10.0.0.7"


def test_a_loopback_address_says_it_is_reachable_from_this_machine_only(monkeypatch):
    fake_machine(monkeypatch, interfaces=["192.168.1.20"])
    for host in ("127.0.0.1", "::1", "localhost"):
        r = addresses.reach(host, 8000)
        assert r.local_only and "this machine only" in r.note and "--host 0.0.0.0" in r.note
    assert addresses.reach("::1", 8000).urls == ["http://[::1]:8000/"]
    assert addresses.reach("192.168.1.20", 8000) == addresses.Reach(["http://192.168.1.20:8000/"], "", False)
    fake_machine(monkeypatch)  # on no network at all
    alone = addresses.reach("0.0.0.0", 8000)
    assert alone.urls == ["http://127.0.0.1:8000/"] and alone.local_only and "no network address" in alone.note


def test_addresses_are_found_without_sending_anything(monkeypatch, tmp_path):
    """The interfaces' IPv6 addresses come from /proc/net/if_inet6; the default route's from a UDP socket's own
    address after connect (which sends nothing: the fake socket would fail a send)."""
    inet6 = tmp_path / "if_inet6"
    inet6.write_text("00000000000000000000000000000001 01 80 10 80       lo\n"
                     "fd000000000000000000000000000005 02 40 00 80     eth0\n")
    monkeypatch.setattr(addresses, "IF_INET6", inet6)
    found = addresses.interface_addresses()
    assert "::1" in found and "fd00::5" in found

    class Probe:
        def __init__(self, family, kind):
            self.family = family

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def connect(self, where):
            if self.family == addresses.socket.AF_INET6:
                raise OSError("no IPv6 route")
            self.where = where

        def getsockname(self):
            return ("192.168.7.9", 40000)

        def send(self, data):  # pragma: no cover - never called
            raise AssertionError("a probe sent a packet")

    monkeypatch.setattr(addresses.socket, "socket", Probe)
    assert addresses.route_addresses() == ["192.168.7.9"]
    monkeypatch.setattr(addresses.socket, "getaddrinfo", lambda name, port: [(2, 1, 6, "", ("10.1.2.3", 0))])
    assert addresses.hostname_addresses() == ["10.1.2.3"]

    def nowhere(name, port):
        raise OSError("unknown host")
    monkeypatch.setattr(addresses.socket, "getaddrinfo", nowhere)
    assert addresses.hostname_addresses() == []


def test_qr_codes_of_an_address():
    svg = addresses.qr_svg("http://192.168.1.20:8126/")
    assert svg.startswith("<svg") and 'class="segno"' in svg and "<path" in svg and "<script" not in svg
    text = addresses.qr_text("http://192.168.1.20:8126/")
    lines = text.splitlines()
    assert len(lines) >= 12 and len({len(x) for x in lines}) == 1 and "█" in text  # a square of block characters
    assert addresses.qr_svg("http://a/") != addresses.qr_svg("http://b/")


def test_the_classroom_prints_the_real_addresses_and_a_qr_code(tmp_path, monkeypatch, capsys):
    import sim.play.classroom as classroom
    from sim.cli import main

    fake_machine(monkeypatch, interfaces=["127.0.0.1", "192.168.1.20"], route=["192.168.1.20", "10.0.0.7"])
    monkeypatch.setattr(classroom, "serve", lambda room, host, port, ready, **kw: ready(8126))
    assert main(["classroom", str(BASELINE), "--host", "0.0.0.0", "--state", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "Students: http://10.0.0.7:8126/ (enter the join code" in out and "or: http://192.168.1.20:8126/" in out
    assert "0.0.0.0" not in out and "Teacher: http://127.0.0.1:8126/teacher#secret=" in out
    assert "Projector: http://10.0.0.7:8126/projector" in out
    qr = out.split("QR code (http://10.0.0.7:8126/):\n")[1].split("Ctrl-C")[0]
    assert qr == addresses.qr_text("http://10.0.0.7:8126/")
    assert main(["classroom", str(BASELINE), "--state", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "Students: http://127.0.0.1:8126/" in out and "reachable from this machine only" in out
    assert "QR code" not in out  # no phone can open 127.0.0.1 of this machine


def test_the_teacher_page_shows_the_students_address_and_its_qr_code(base, tmp_path):
    urls = ["http://192.168.1.20:8126/", "http://10.0.0.7:8126/"]
    _room, client = make(base, tmp_path, join_urls=urls, hosts=["testserver", "192.168.1.20"])
    page = client.get("/teacher")
    assert page.status_code == 200 and page.headers["content-security-policy"].startswith("default-src 'self'")
    assert '<b id="address">http://192.168.1.20:8126/</b>' in page.text
    assert 'or: <span class="other-address">http://10.0.0.7:8126/</span>' in page.text
    qr = re.search(r'<div id="qr" data-url="([^"]+)">(<svg.*?</svg>)</div>', page.text, re.S)
    assert qr and qr.group(1) == urls[0] and qr.group(2) == addresses.qr_svg(urls[0])
    assert client.get("/teacher", headers={"Host": "192.168.1.20"}).status_code == 200  # the printed address is answered
    note = make(base, tmp_path / "b", join_urls=["http://127.0.0.1:8000/"], join_note="reachable from this machine only")[1]
    assert '<p class="join-note" id="join-note">reachable from this machine only</p>' in note.get("/teacher").text
    plain = make(base, tmp_path / "c")[1].get("/teacher").text  # no address given: the one the page was opened at
    assert '<b id="address">http://testserver/</b>' in plain and 'data-url="http://testserver/"' in plain


def test_serve_gives_the_app_the_machines_addresses(base, tmp_path, monkeypatch):
    import uvicorn

    import sim.play.classroom as classroom

    fake_machine(monkeypatch, interfaces=["192.168.1.20"])
    made = {}

    def fake_create_app(room, **kw):
        made.update(kw)
        raise SystemExit  # stop before uvicorn starts
    monkeypatch.setattr("sim.play.classroom.app.create_app", fake_create_app)
    monkeypatch.setattr(uvicorn, "Config", lambda *a, **k: pytest.fail("uvicorn started"))
    with pytest.raises(SystemExit):
        classroom.serve(Classroom(base, 1, 9, state_dir=tmp_path), "0.0.0.0", 0)
    assert made["join_urls"][0].startswith("http://192.168.1.20:") and made["join_note"] == ""
    assert "192.168.1.20" in made["hosts"] and "127.0.0.1" in made["hosts"]


def test_the_dashboard_prints_its_address(monkeypatch, capsys):
    from sim.cli import main
    from sim.play import dashboard

    called = []
    monkeypatch.setattr(dashboard, "serve", lambda file, host, port, resourcez, ready: (called.append(port), ready()))
    assert main(["dashboard", "--port", "8001"]) == 0
    out = capsys.readouterr().out
    assert called == [8001] and out.startswith("negsim dashboard: http://127.0.0.1:8001/ (reachable from this "
                                                "machine only")
    fake_machine(monkeypatch, interfaces=["192.168.1.20", "10.0.0.7"])
    assert main(["dashboard", "--host", "0.0.0.0", "--port", "8001"]) == 0
    out = capsys.readouterr().out
    assert "negsim dashboard: http://10.0.0.7:8001/\n" in out and "http://192.168.1.20:8001/" in out


def test_dashboard_serve_calls_ready_just_before_it_listens(monkeypatch):
    import uvicorn

    from sim.play import dashboard

    for key in ("NEGSIM_DASHBOARD_FILE", "SOLARA_APP", "SOLARA_MODE", "SOLARA_TELEMETRY_MIXPANEL_ENABLE",
                "SOLARA_SESSION_SECRET_KEY", "SERVER_NAME", "SERVER_PORT"):
        monkeypatch.delenv(key, raising=False)
    order = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: order.append("run"))
    dashboard.serve(BASELINE, "127.0.0.1", 8999, ready=lambda: order.append("ready"))
    assert order == ["ready", "run"]
    with pytest.raises(NegsimError):  # a bad file: nothing printed, nothing served
        dashboard.serve(ROOT / "no-such.yaml", "127.0.0.1", 8999, ready=lambda: order.append("ready"))
    assert order == ["ready", "run"]


# ---------------------------------------------------------------------------------------------- leaving a role

def test_the_teacher_removes_a_student_and_the_model_plays_the_role(base, tmp_path):
    room, client = make(base, tmp_path)
    code, teacher, tokens = new_class(client, ("kyiv", "us"))
    url = f"/api/sessions/{code}/remove"
    assert client.post(url, json={"role": "us"}).status_code == 401
    assert client.post(url, json={"role": "us"}, headers=auth(tokens["kyiv"])).status_code == 403
    assert client.post(url, json={}, headers=auth(teacher)).status_code == 400
    assert client.post(url, json={"role": "nobody"}, headers=auth(teacher)).status_code == 400
    assert client.post(url, json={"role": "observer"}, headers=auth(teacher)).status_code == 400
    assert client.post(url, json={"role": "moscow"}, headers=auth(teacher)).status_code == 409  # nobody holds it
    st = to_decision(client, code, teacher)
    assert st["waiting_for"] == ["us"] and st["stage"]["kind"] == "propose"
    res = client.post(url, json={"role": "us"}, headers=auth(teacher))
    assert res.status_code == 200 and res.json()["role"] == "us"
    st = state(client, code, teacher)
    assert st["roles"]["us"]["taken"] is False and "us" not in st["waiting_for"]  # the model made the offer
    assert client.get(f"/api/sessions/{code}/state", headers=auth(tokens["us"])).status_code == 401
    assert client.post(url, json={"role": "us"}, headers=auth(teacher)).status_code == 409
    again = client.post(f"/api/sessions/{code}/join", json={"role": "us"})  # the role is free for somebody else
    assert again.status_code == 200
    kinds = [(e["role"], e["kind"]) for e in room.sessions[code].events]
    assert kinds == [("kyiv", "joined"), ("us", "joined"), ("us", "removed"), ("us", "joined")]


def test_a_student_leaves_a_role_and_the_game_is_the_models_from_there(base, tmp_path):
    room, client = make(base, tmp_path)
    code, teacher, tokens = new_class(client, roles=("kyiv", "us", "observer"))
    url = f"/api/sessions/{code}/leave"
    assert client.post(url, json={}).status_code == 401
    assert client.post(url, json={}, headers=auth(teacher)).status_code == 403
    st = to_decision(client, code, teacher)
    while "kyiv" not in st.get("waiting_for", []):  # the US proposes (as a person), then Kyiv must answer
        role = st["waiting_for"][0]
        choice = None if st["stage"]["kind"] == "propose" else True
        assert client.post(f"/api/sessions/{code}/moves", json={"kind": st["stage"]["kind"], "choice": choice},
                           headers=auth(tokens[role])).status_code == 200
        st = to_decision(client, code, teacher)
    res = client.post(url, json={}, headers=auth(tokens["kyiv"]))
    assert res.status_code == 200 and res.json()["role"] == "kyiv"
    st = state(client, code, teacher)
    assert st["roles"]["kyiv"]["taken"] is False and "kyiv" not in st.get("waiting_for", [])
    assert client.post(url, json={}, headers=auth(tokens["kyiv"])).status_code == 401  # the token is spent
    assert client.post(url, json={}, headers=auth(tokens["observer"])).status_code == 200  # an observer stops watching
    assert state(client, code, teacher)["roles"]["observer"]["count"] == 0
    to_end(client, code, teacher)
    assert client.post(url, json={}, headers=auth(tokens["us"])).status_code == 409  # the game is over
    # the saved class (its events) comes back after a restart, and its replay reproduces with the role given up
    again = Classroom(base, 1, 9, state_dir=tmp_path / "classroom", runs=200)
    s = again.get(code)
    assert [e["kind"] for e in s.events] == ["joined", "joined", "left"]
    path = again.replay_path(s)
    rp = game.load_replay(path)
    assert "kyiv" not in rp.roles or any(m.role == "kyiv" for m in rp.moves)
    assert [e["kind"] for e in rp.events] == ["joined", "joined", "left"]
    assert game.replay(rp).row["outcome"] == s.result["outcome"]


def test_a_role_given_up_after_its_moves_keeps_them_in_the_replay(base, tmp_path):
    """A student who moved and then left: the moves stay the class's, and the replay file names the role."""
    room, client = make(base, tmp_path)
    code, teacher, tokens = new_class(client, roles=("us",))
    st = to_decision(client, code, teacher)
    offer = st["stage"]["kind"]
    assert offer == "propose" and st["waiting_for"] == ["us"]
    own = state(client, code, tokens["us"])["pending"]["options"][0]["number"]
    assert client.post(f"/api/sessions/{code}/moves", json={"kind": "propose", "choice": own},
                       headers=auth(tokens["us"])).status_code == 200
    assert client.post(f"/api/sessions/{code}/leave", json={}, headers=auth(tokens["us"])).status_code == 200
    to_end(client, code, teacher)
    s = room.sessions[code]
    rp = game.load_replay(room.replay_path(s))
    assert rp.roles == ["us"] and [m.choice for m in rp.moves] == [own]
    assert game.replay(rp).row["outcome"] == s.result["outcome"]


# ---------------------------------------------------------------------------------------------- the projector

def test_everybody_sees_whose_move_is_awaited_and_the_offer_on_the_table(base, tmp_path):
    _room, client = make(base, tmp_path)
    code, teacher, tokens = new_class(client, roles=("kyiv", "moscow", "observer"))
    st = to_decision(client, code, teacher)
    watching = state(client, code, tokens["observer"])
    assert watching["awaiting"] == st["awaiting"] and st["awaiting"]["roles"] == st["waiting_for"]
    assert watching["pending"] is None and "own" not in watching and "waiting_for" not in watching
    assert st["awaiting"]["kind"] == "answer" and st["awaiting"]["on_table"]["package"] >= 0  # the US offered
    terms = st["awaiting"]["on_table"]["terms"]
    assert state(client, code, tokens["kyiv"])["pending"]["package"]["terms"] == terms
    assert set(terms) == set(st["issues"])
    for role in ("kyiv", "moscow"):
        client.post(f"/api/sessions/{code}/moves", json={"kind": "answer", "choice": False}, headers=auth(tokens[role]))
    assert state(client, code, tokens["observer"])["awaiting"] is None  # the month resolved
    page = client.get("/projector")
    assert page.status_code == 200 and "projector.js" in page.text and "default-src 'self'" in page.headers[
        "content-security-policy"]
    js = client.get("/static/projector.js").text
    assert "innerHTML" not in js and '"observer"' in js and "/moves" not in js and "/advance" not in js


# ---------------------------------------------------------------------------------------------- the summary

def test_the_class_summary_page(base, tmp_path):
    _room, client = make(base, tmp_path)
    code, teacher, tokens = new_class(client, roles=("kyiv", "us"))
    assert client.get(f"/summary/{code}").status_code == 409
    assert client.get("/summary/AAAAAA").status_code == 404
    client.post(f"/api/sessions/{code}/remove", json={"role": "us"}, headers=auth(teacher))
    to_end(client, code, teacher)
    res = client.get(f"/summary/{code}")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    assert res.headers["content-security-policy"].startswith("default-src 'none'") and "script" not in \
        res.headers["content-security-policy"]
    text = res.text
    for part in (f"Class summary: class {code}", "The outcome against the model", "Month by month", "The decisions",
                 "Events and messages", "← the class", "the teacher removes the student playing us", "@media print",
                 "data:image/png;base64,"):
        assert part in text, part
    assert "<script" not in text
    results = client.get(f"/api/sessions/{code}/results").json()
    shares = results["comparison"]["model_outcome_shares"]
    for share in shares.values():
        assert f'data-share="{share!r}"' in text


def test_report_includes_a_class_from_its_replay(base, tmp_path):
    room, client = make(base, tmp_path)
    code, teacher, _tokens = new_class(client, roles=("kyiv",))
    to_end(client, code, teacher)
    replay = room.replay_path(room.sessions[code])
    out = tmp_path / "class.html"
    res = subprocess.run([sys.executable, "-m", "sim", "report", "--class", str(replay), "--out", str(out), "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["kind"] == "class"
    text = out.read_text()
    assert "The decisions" in text and "a student takes kyiv" in text and "runs of the model" in text
    sections = summary.from_replay(replay, runs=50)
    assert [a for a, _h, _p in sections] == ["class-game", "class-outcome", "class-months", "class-moves",
                                            "class-events"]
    bad = tmp_path / "bad.replay.json"
    doc = json.loads(replay.read_text())
    doc["events"] = [{"month": 1, "role": "kyiv", "kind": "", "text": "x"}]
    bad.write_text(json.dumps(doc))
    res = subprocess.run([sys.executable, "-m", "sim", "report", "--class", str(bad), "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 2 and "events[0].kind" in res.stderr and "Traceback" not in res.stderr
    res = subprocess.run([sys.executable, "-m", "sim", "report", "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 2 and "--class REPLAY" in res.stderr


def test_a_report_of_a_batch_with_the_class_after_it(base, tmp_path):
    room, client = make(base, tmp_path)
    code, teacher, _tokens = new_class(client, roles=("moscow",))
    to_end(client, code, teacher)
    replay = room.replay_path(room.sessions[code])
    run = subprocess.run([sys.executable, "-m", "sim", "run", str(BASELINE), "--runs", "40", "--seed", "1", "--quiet",
                          "--out", str(tmp_path / "runs"), "--json"], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    run_dir = json.loads(run.stdout)["run_dir"]
    out = tmp_path / "both.html"
    res = subprocess.run([sys.executable, "-m", "sim", "report", run_dir, "--class", str(replay), "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert text.index('id="class-game"') > text.index('id="outcomes"') and "a student takes moscow" in text
