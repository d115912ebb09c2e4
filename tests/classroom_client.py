"""The classroom app under Starlette's test client, for the tests that talk to its API in-process (a real server on
127.0.0.1 is tests/classroom_server.py): a client with generous rate limits, a teacher's class with students
joined, a state read, and a clock the tests move by hand."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.testclient import TestClient

from sim.play.classroom.app import create_app
from sim.play.classroom.guard import Buckets, Misses
from sim.play.classroom.room import Classroom

SECRET = "test-teacher-secret"
JSON = {"Content-Type": "application/json"}


class Clock:
    """A clock that stands still until a test moves ``now``."""

    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def client_of(room: Classroom, secrets: Iterable[str] = (SECRET,), hosts=("testserver",), **app_kw: Any) -> TestClient:
    """A test client of ``room``'s app: no warm-up, the teacher secrets given, rate limits too generous to be met
    unless ``app_kw`` sets them (misses, per_client, per_token) along with any other create_app setting."""
    limits = {"misses": Misses(limit=10_000), "per_client": Buckets(1000, 10_000), "per_token": Buckets(1000, 10_000)}
    app = create_app(room, warm=False, teacher_secrets=list(secrets), hosts=list(hosts), **{**limits, **app_kw})
    return TestClient(app, headers=JSON)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_class(client: TestClient, roles: Iterable[str], secret: str = SECRET) -> tuple[str, str, dict[str, str]]:
    """A class made by the teacher, with a student joined in each role: (code, teacher token, role -> token)."""
    res = client.post("/api/sessions", headers=auth(secret))
    assert res.status_code == 201, res.text
    code, teacher = res.json()["code"], res.json()["teacher_token"]
    tokens = {}
    for r in roles:
        res = client.post(f"/api/sessions/{code}/join", json={"role": r})
        assert res.status_code == 200, res.text
        tokens[r] = res.json()["token"]
    return code, teacher, tokens


def state(client: TestClient, code: str, token: str) -> dict:
    res = client.get(f"/api/sessions/{code}/state", headers=auth(token))
    assert res.status_code == 200, res.text
    return res.json()
