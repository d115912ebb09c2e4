"""The classroom server on an open network (issue 21): who may create and act, rate limits, connections and
their deadlines, streams, the state folder, and the headers on every answer. Servers listen on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from classroom_client import Clock, client_of
from classroom_server import SECRET as SERVER_SECRET
from classroom_server import serving

from sim.play.classroom import app as app_module
from sim.play.classroom.app import create_app
from sim.play.classroom.guard import Buckets, Misses, Throttled, allowed_hosts, parse_object
from sim.play.classroom.net import connection_cap, raise_file_limit
from sim.play.classroom.room import Classroom, StateLocked
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SECRET = "net-teacher-secret"
OTHER = "another-teacher-secret"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def base():
    return compile_scenario(load_scenario(BASELINE))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **JSON}


def make(base, tmp_path: Path, app_kw=None, **kw):
    room = Classroom(base, 1, 9, state_dir=tmp_path / "classroom", runs=100, **kw)
    return room, client_of(room, secrets=(SECRET, OTHER), **(app_kw or {}))


def create(client, secret=SECRET):
    return client.post("/api/sessions", headers=auth(secret))


# ---------------------------------------------------------------------------------------------- who may act

def test_creating_a_session_needs_the_teacher_secret(base, tmp_path):
    _room, client = make(base, tmp_path)
    assert client.post("/api/sessions").status_code == 401
    assert "teacher secret" in client.post("/api/sessions").json()["error"]
    assert create(client, "guess-" + SECRET).status_code == 401
    assert create(client).status_code == 201 and create(client, OTHER).status_code == 201


def test_the_session_cap_counts_per_teacher_secret(base, tmp_path):
    _room, client = make(base, tmp_path, max_per_teacher=2, max_sessions=10)
    assert [create(client).status_code for _ in range(3)] == [201, 201, 503]
    assert "teacher secret" in create(client).json()["error"]
    assert create(client, OTHER).status_code == 201  # another teacher is not locked out


def test_another_origin_a_wrong_type_or_host_is_refused(base, tmp_path):
    _room, client = make(base, tmp_path)
    # the attack: a page elsewhere posting "no-cors" (text/plain, its own Origin)
    res = client.post("/api/sessions", content=b"{}", headers={"Authorization": f"Bearer {SECRET}",
                                                               "Content-Type": "text/plain",
                                                               "Origin": "http://evil.example"})
    assert res.status_code == 403 and "origin" in res.json()["error"]
    res = client.post("/api/sessions", content=b"{}", headers={"Authorization": f"Bearer {SECRET}",
                                                               "Content-Type": "text/plain"})
    assert res.status_code == 415 and "application/json" in res.json()["error"]
    assert client.post("/api/sessions", headers={**auth(SECRET), "Origin": "null"}).status_code == 403
    assert client.post("/api/sessions", headers={**auth(SECRET), "Origin": "http://testserver"}).status_code == 201
    res = client.get("/teacher", headers={"Host": "evil.example"})  # DNS rebinding
    assert res.status_code == 400 and res.headers["x-content-type-options"] == "nosniff"
    assert "testserver" not in allowed_hosts("127.0.0.1")
    assert {"127.0.0.1", "localhost"} <= set(allowed_hosts("127.0.0.1")) and "evil.example" not in allowed_hosts(
        "0.0.0.0")


def test_join_code_guessing_is_answered_429(base, tmp_path):
    clock = Clock()
    _room, client = make(base, tmp_path, app_kw={"misses": Misses(limit=5, window=60, clock=clock)})
    code = create(client).json()["code"]
    statuses = [client.get(f"/api/sessions/{c}").status_code for c in ("AAAAAA", "BBBBBB", "CCCCCC", "DDDDDD",
                                                                         "EEEEEE", "FFFFFF", code)]
    assert statuses == [404] * 5 + [429, 429]  # after five misses even the right code waits
    assert client.post(f"/api/sessions/{code}/join", json={"role": "kyiv"}).status_code == 429
    teacher = create(client).json()
    url = f"/api/sessions/{teacher['code']}/state"
    assert client.get(url, headers=auth(teacher["teacher_token"])).status_code == 200  # a valid token goes on
    clock.now += 61
    assert client.get(f"/api/sessions/{code}").status_code == 200
    for _ in range(5):  # wrong tokens count as misses too
        assert client.get(f"/api/sessions/{code}/state", headers=auth("forged")).status_code == 401
    assert client.get(f"/api/sessions/{code}/state", headers=auth("forged")).status_code == 429


def test_requests_are_rate_limited_per_client_and_per_token(base, tmp_path):
    clock = Clock()
    _room, client = make(base, tmp_path, app_kw={"per_client": Buckets(rate=1, burst=5, clock=clock),
                                                 "per_token": Buckets(rate=2, burst=4, clock=clock)})
    made = create(client).json()
    statuses = [client.get(f"/api/sessions/{made['code']}").status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429, 429]  # the create sent a token: not counted per client
    res = client.get(f"/api/sessions/{made['code']}")
    assert int(res.headers["retry-after"]) >= 1 and "slow down" in res.json()["error"]
    url = f"/api/sessions/{made['code']}/state"
    assert [client.get(url, headers=auth(made["teacher_token"])).status_code for _ in range(5)] == [200] * 4 + [429]
    clock.now += 1
    assert client.get(f"/api/sessions/{made['code']}").status_code == 200
    assert client.get(url, headers=auth(made["teacher_token"])).status_code == 200


def test_only_the_teacher_or_a_role_keeps_a_session_alive(base, tmp_path):
    clock = Clock()
    room, client = make(base, tmp_path, idle_seconds=60, clock=clock)
    made = [create(client).json() for _ in range(2)]
    kyiv = client.post(f"/api/sessions/{made[1]['code']}/join", json={"role": "kyiv"}).json()["token"]
    watcher = client.post(f"/api/sessions/{made[0]['code']}/join", json={"role": "observer"}).json()["token"]
    for _ in range(3):
        clock.now += 40
        client.get(f"/api/sessions/{made[0]['code']}")  # the code alone
        client.get(f"/api/sessions/{made[0]['code']}/results")
        client.get(f"/api/sessions/{made[0]['code']}/state", headers=auth(watcher))  # an observer
        client.post(f"/api/sessions/{made[0]['code']}/join", json={"role": "observer"})
        assert client.get(f"/api/sessions/{made[1]['code']}/state", headers=auth(kyiv)).status_code == 200
    assert client.get(f"/api/sessions/{made[0]['code']}").status_code == 404
    assert set(room.sessions) == {made[1]["code"]}


# ---------------------------------------------------------------------------------------------- bodies, headers

def test_bodies_that_crashed_the_server_are_400(base, tmp_path):
    from sim.play.classroom.guard import BodyError

    for raw in (b"[" * 5000 + b"]" * 5000, b"1" * 4400, b'{"a": 1e999}', b'{"a": NaN}', b"\xff"):
        with pytest.raises(BodyError):
            parse_object(raw)
    assert parse_object(b'{"a": [1, 2.5, "\\u00b2"]}') == {"a": [1, 2.5, "\u00b2"]}


def test_every_answer_has_the_security_headers(base, tmp_path):
    _room, client = make(base, tmp_path)
    for method, path, status in [("GET", "/static/common.js", 200), ("GET", "/static/style.css", 200),
                                 ("GET", "/static/nope.js", 404), ("GET", "/nowhere", 404),
                                 ("DELETE", "/api/sessions", 405), ("GET", "/api/sessions", 405),
                                 ("GET", "/", 200), ("GET", "/api/sessions/AAAAAA", 404)]:
        res = client.request(method, path)
        assert res.status_code == status, path
        assert "default-src 'self'" in res.headers["content-security-policy"], path
        assert res.headers["x-content-type-options"] == "nosniff", path
        assert res.headers["cache-control"] == "no-store", path
        if path.startswith("/api/") or path == "/nowhere":
            assert "error" in res.json(), path


def test_a_repeated_error_is_logged_once_a_second_with_a_count(caplog):
    clock = Clock()
    log = Throttled(logging.getLogger("negsim.test"), every=1.0, clock=clock)
    with caplog.at_level(logging.ERROR, "negsim.test"):
        for _ in range(1000):
            log("emfile", "accept failed: Too many open files")
        clock.now += 1.5
        log("emfile", "accept failed: Too many open files")
    assert len(caplog.records) == 2
    assert "999 more" in caplog.records[1].getMessage()
    assert all(r.exc_info is None for r in caplog.records)


# ---------------------------------------------------------------------------------------------- connections

def test_open_files_are_raised_and_connections_capped_below_them():
    soft_before = __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)[0]
    soft, hard = raise_file_limit()
    assert soft >= soft_before and (hard == -1 or soft <= hard)
    assert connection_cap(1024) < 1024 // 2 and connection_cap(soft) < soft


def idle(port: int, send: bytes = b"") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if send:
        s.sendall(send)
    return s


def closed_within(s: socket.socket, seconds: float) -> bool:
    s.settimeout(seconds)
    try:
        s.recv(1024)  # b"" (closed) or an answer the server closes after: either way the file is freed
        return True
    except TimeoutError:
        return False
    except OSError:
        return True


def test_idle_and_half_sent_connections_are_closed(base, tmp_path, caplog):
    room = Classroom(base, 1, 9, state_dir=tmp_path / "c", runs=100)
    with caplog.at_level(logging.WARNING), serving(room, header_seconds=1.0) as url:
        port = int(url.rsplit(":", 1)[1])
        silent, partial = idle(port), idle(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        # Closed by the server's deadline for a request's head (its log says so below), not timed: the 60 s only
        # guard against a hang on a loaded machine.
        assert closed_within(silent, 60) and closed_within(partial, 60)
        assert httpx.get(f"{url}/api/sessions/AAAAAA", timeout=10).status_code == 404  # the server goes on
    assert any("sent no complete request head within 1 s" in r.getMessage() for r in caplog.records)


def test_connections_beyond_the_cap_are_closed_at_once(base, tmp_path, caplog):
    room = Classroom(base, 1, 9, state_dir=tmp_path / "c", runs=100)
    with caplog.at_level(logging.WARNING), serving(room, cap=8, header_seconds=30) as url:
        port = int(url.rsplit(":", 1)[1])
        held = [idle(port) for _ in range(8)]
        time.sleep(0.3)
        extra = [idle(port) for _ in range(20)]
        assert all(closed_within(s, 3) for s in extra)
        for s in held:
            s.close()
        time.sleep(0.3)
        assert httpx.get(f"{url}/api/sessions/AAAAAA", timeout=10).status_code == 404
    refused = [r for r in caplog.records if "refused a connection" in r.getMessage()]
    assert 1 <= len(refused) <= 3  # once a second with a count, not once per connection


def test_streams_are_capped_per_token(base, tmp_path, monkeypatch):
    monkeypatch.setattr(app_module, "STREAMS_PER_TOKEN", 2)
    room = Classroom(base, 1, 9, state_dir=tmp_path / "c", runs=100)
    with serving(room) as url, httpx.Client(base_url=url, timeout=20) as http:
        made = http.post("/api/sessions", headers=auth(SERVER_SECRET), json={}).json()
        h = auth(made["teacher_token"])
        opened, lines = [], []
        for _ in range(2):
            cm = http.stream("GET", f"/api/sessions/{made['code']}/events", headers=h)
            res = cm.__enter__()
            assert res.status_code == 200
            lines.append(res.iter_lines())  # kept: a dropped line iterator closes its stream
            assert next(lines[-1]).startswith("data: ")
            opened.append(cm)
        res = http.get(f"/api/sessions/{made['code']}/events", headers=h)
        assert res.status_code == 429 and "live-update streams" in res.json()["error"]
        for cm in opened:
            cm.__exit__(None, None, None)


def start_server(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "classroom", str(BASELINE), "--host", "127.0.0.1",
                             "--port", "0", "--runs", "50", "--state", str(tmp_path / "state"), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", "NEGSIM_CLASSROOM_SECRET": SERVER_SECRET})
    end = time.monotonic() + 60
    while time.monotonic() < end:
        line = proc.stdout.readline()
        if line.startswith("Teacher: "):
            assert f"#secret={SERVER_SECRET}" in line
            return proc, line.split()[1].split("/teacher")[0]
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"the server did not start: {proc.stderr.read()}")


def test_sigterm_with_open_streams_prints_no_traceback(tmp_path):
    proc, url = start_server(tmp_path)
    try:
        made = httpx.post(f"{url}/api/sessions", headers=auth(SERVER_SECRET), json={}, timeout=20).json()
        got = []

        def listen():
            try:
                with httpx.stream("GET", f"{url}/api/sessions/{made['code']}/events",
                                  headers=auth(made["teacher_token"]), timeout=30) as res:
                    for line in res.iter_lines():
                        got.append(line)
            except httpx.HTTPError as e:
                got.append(repr(e))
        threads = [threading.Thread(target=listen, daemon=True) for _ in range(3)]
        for t in threads:
            t.start()
        end = time.monotonic() + 20
        while sum(1 for x in got if x.startswith("data:")) < 3 and time.monotonic() < end:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in err and "CancelledError" not in err, err
    assert "event: closing" in got  # each stream was ended by the server, not cut


def test_a_second_server_on_the_state_folder_exits_2(base, tmp_path):
    room = Classroom(base, 1, 9, state_dir=tmp_path / "state", runs=100)
    held = room.lock()
    try:
        with pytest.raises(StateLocked, match=f"pid {os.getpid()}"):
            Classroom(base, 1, 9, state_dir=tmp_path / "state").lock()
        res = subprocess.run([sys.executable, "-m", "sim.cli", "classroom", str(BASELINE), "--port", "0",
                              "--state", str(tmp_path / "state")], capture_output=True, text=True, cwd=ROOT,
                             timeout=120)
        assert res.returncode == 2 and "in use by another classroom server" in res.stderr
        assert f"pid {os.getpid()}" in res.stderr and "Traceback" not in res.stderr
    finally:
        held.close()
    Classroom(base, 1, 9, state_dir=tmp_path / "state").lock().close()  # free again


def test_host_0000_is_warned_about(tmp_path, monkeypatch, capsys):
    import sim.play.classroom as classroom
    from sim.cli import main

    monkeypatch.setattr(classroom, "serve", lambda room, host, port, ready, **kw: ready(8123))
    assert main(["classroom", str(BASELINE), "--host", "0.0.0.0", "--state", str(tmp_path / "s")]) == 0
    out = capsys.readouterr()
    assert "warning: --host 0.0.0.0" in out.err and "Teacher secret: " in out.out
    assert main(["classroom", str(BASELINE), "--state", str(tmp_path / "s")]) == 0
    assert "warning" not in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- the state folder

def test_a_planted_symlink_is_not_followed(base, tmp_path):
    room, client = make(base, tmp_path)
    code = create(client).json()["code"]
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    for name in (f"{code}.json.tmp", f".{code}.tmp"):
        (room.state_dir / name).symlink_to(target)
    client.post(f"/api/sessions/{code}/join", json={"role": "kyiv"})
    assert target.read_text() == "keep me"
    assert json.loads((room.state_dir / f"{code}.json").read_text())["code"] == code
    # a symlink planted as the state file itself is not read either
    other = tmp_path / "other"
    (room.state_dir / f"{code}.json").replace(other)
    (room.state_dir / f"{code}.json").symlink_to(other)
    room.sessions.clear()
    assert client.get(f"/api/sessions/{code}").status_code == 404


def test_a_file_that_does_not_load_is_set_aside(base, tmp_path, caplog):
    room, client = make(base, tmp_path)
    codes = [create(client).json()["code"] for _ in range(4)]
    edits = [lambda d: d | {"moves": "oops"}, lambda d: d | {"month": "x" * 5000},
             lambda d: d | {"holders": [1, 2]}, lambda d: d | {"moves": [{"month": 1, "role": "kyiv",
                                                                             "kind": "propose", "choice": 10 ** 9}]}]
    for code, edit in zip(codes, edits, strict=True):
        path = room.state_dir / f"{code}.json"
        path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    room.sessions.clear()
    with caplog.at_level(logging.WARNING):
        for code in codes:
            res = client.get(f"/api/sessions/{code}")
            assert res.status_code in (200, 404), res.text
    for code in codes:
        if code not in room.sessions:
            assert list(room.state_dir.glob(f"{code}.json.bad-*")), code
    assert any("set aside" in r.getMessage() for r in caplog.records)


def test_a_watched_class_survives_a_restart(base, tmp_path):
    clock = Clock()
    room, client = make(base, tmp_path, idle_seconds=3600, clock=clock)
    made = create(client).json()
    for _ in range(4):  # the teacher watches for two hours: reads only
        clock.now += 1800
        assert client.get(f"/api/sessions/{made['code']}/state", headers=auth(made["teacher_token"])).status_code == 200
    clock.now += 1800  # half an hour after the last look: a restart
    _room2, client2 = make(base, tmp_path, idle_seconds=3600, clock=clock)
    assert client2.get(f"/api/sessions/{made['code']}/state", headers=auth(made["teacher_token"])).status_code == 200


def test_the_accept_loop_s_errors_are_logged_once_a_second(caplog):
    """asyncio reports "Too many open files" from its accept loop through the loop's exception handler: the
    server's handler logs it once a second with a count, never with a traceback."""
    import asyncio

    from sim.play.classroom.guard import loop_errors

    clock = Clock()
    handler = loop_errors(Throttled(logging.getLogger("negsim.test"), clock=clock))
    err = OSError(24, "Too many open files")
    with caplog.at_level(logging.ERROR, "negsim.test"):
        for _ in range(500):
            handler(None, {"message": "socket.accept() out of system resource", "exception": err})
        clock.now += 1.1
        handler(None, {"message": "socket.accept() out of system resource", "exception": err})
    assert [r.exc_info for r in caplog.records] == [None, None] and "499 more" in caplog.records[1].getMessage()

    async def installed() -> object:
        room = Classroom(compile_scenario(load_scenario(BASELINE)), 1, 9, runs=10)
        app = create_app(room, warm=False, teacher_secrets=[SECRET])
        async with app.router.lifespan_context(app):
            return asyncio.get_running_loop().get_exception_handler()
    assert asyncio.run(installed()) is not None
