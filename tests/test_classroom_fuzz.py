"""Fuzzing the classroom's API: every operation of docs/classroom-api.json gets bodies, codes and tokens drawn
by Hypothesis (from the operation's schema, arbitrary JSON, and the known attacks: deep nesting, numbers of
thousands of digits, non-ASCII digits, bad UTF-8, NaN). No answer may be a 500, every refusal is a JSON
``{"error": ...}``, and the log holds no traceback and no internal error.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route
from starlette.testclient import TestClient

from sim.play.classroom import app as app_module
from sim.play.classroom.app import create_app
from sim.play.classroom.guard import Buckets, Misses
from sim.play.classroom.room import Classroom
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[1]
API = json.loads((ROOT / "docs" / "classroom-api.json").read_text())
OPERATIONS = [(path, method) for path, item in API["paths"].items() for method in item]
SECRET = "fuzz-teacher-secret"
JSON = {"Content-Type": "application/json"}

ATTACKS = [
    b"[" * 3000 + b"]" * 3000,
    b"[" * 8000 + b"]" * 8000,
    b'{"a":' * 2000 + b"1" + b"}" * 2000,
    b'{"role": ' + b"9" * 5000 + b"}",
    b'{"kind": "propose", "choice": ' + b"1" * 4400 + b"}",
    b'{"kind": "propose", "choice": "\xc2\xb2"}',  # "²": isdigit() but not int()
    '{"kind": "propose", "choice": "٢"}'.encode(),
    b'{"kind": "propose", "choice": 1e999}',
    b'{"kind": "answer", "choice": NaN}',
    b'{"until": -Infinity}',
    b"\xff\xfe\x00",
    b'{"role": "kyiv"',
    b"[]",
    b'"observer"',
    b'{"kind": ["propose"], "choice": {"a": []}, "month": 1.5, "role": ["kyiv"]}',
    b'{"kind": "propose", "choice": "' + b"land=" + b"x" * 600 + b'"}',
    b'{"kind": "propose", "choice": -3, "month": 99999999999999999999}',
    b'{"until": {"month": 1}}',
    b'{"role": {"$ne": null}}',
]

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10 ** 39), max_value=10 ** 39),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
                    st.sampled_from(["²", "٢", "１", "0", "-1", "kyiv", "observer", "month", "decision", "propose",
                                     "answer", "ratify", "land=none"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)


def schema_body(op: dict) -> st.SearchStrategy:
    """Objects with the operation's own keys (any values, or the enum's) and arbitrary extra keys."""
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    props = schema.get("properties", {})
    fields = {k: st.one_of(st.sampled_from(p["enum"]), values) if "enum" in p else values for k, p in props.items()}
    return st.fixed_dictionaries({}, optional=fields).flatmap(
        lambda d: st.dictionaries(st.text(max_size=6), values, max_size=2).map(lambda extra: {**extra, **d}))


def raw_bodies(op: dict) -> st.SearchStrategy[bytes]:
    return st.one_of(st.sampled_from(ATTACKS), schema_body(op).map(lambda d: json.dumps(d).encode()),
                     values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=64))


def a_class_deciding(state_dir: Path):
    """A class in the middle of a game (kyiv, moscow, us and ukraine_public held; a proposal pending)."""
    base = compile_scenario(load_scenario(ROOT / "scenarios" / "baseline.yaml"))
    room = Classroom(base, 1, 9, state_dir=state_dir, runs=100)
    app = create_app(room, warm=False, teacher_secrets=[SECRET], hosts=["testserver"], misses=Misses(limit=10 ** 6),
                     per_client=Buckets(10 ** 6, 10 ** 6), per_token=Buckets(10 ** 6, 10 ** 6))
    client = TestClient(app, headers=JSON)
    made = client.post("/api/sessions", headers={"Authorization": f"Bearer {SECRET}"}).json()
    tokens = {"teacher": made["teacher_token"], "secret": SECRET}
    for role in ("kyiv", "moscow", "us", "ukraine_public", "observer"):
        tokens[role] = client.post(f"/api/sessions/{made['code']}/join", json={"role": role}).json()["token"]
    for _ in range(40):
        if client.get(f"/api/sessions/{made['code']}/state", headers={"Authorization": f"Bearer {tokens['teacher']}"}
                      ).json()["phase"] == "deciding":
            break
        client.post(f"/api/sessions/{made['code']}/advance", json={"until": "decision"},
                    headers={"Authorization": f"Bearer {tokens['teacher']}"})
    return client, made["code"], tokens


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    client, code, tokens = a_class_deciding(tmp_path_factory.mktemp("fuzz"))
    with pytest.MonkeyPatch.context() as mp, client:  # one event loop for every request
        mp.setattr(app_module, "STREAM_SECONDS", 0)  # a live-update stream ends at once: the client reads it whole
        yield client, code, tokens


@pytest.fixture(scope="module")
def deciding(tmp_path_factory):
    return a_class_deciding(tmp_path_factory.mktemp("attacks"))


def test_the_description_covers_every_api_route(served):
    client, _code, _tokens = served
    routes = {(r.path, m.lower()) for r in client.app.state.server.routes() if isinstance(r, Route)
              for m in (r.methods or []) if m != "HEAD" and r.path.startswith("/api/")}
    assert routes == set(OPERATIONS)


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                        HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_requests_never_get_a_500(served, caplog, path, method, data):
    client, code, tokens = served
    op = API["paths"][path][method]
    which = data.draw(st.sampled_from(["live", "live", "other", "garbage"]), label="code")
    other = data.draw(st.text(max_size=12), label="text") if which == "garbage" else "ABCDEF"
    url = path.replace("{code}", code if which == "live" else urllib.parse.quote(other or "X", safe=""))
    who = data.draw(st.sampled_from([*tokens, None, "forged"]), label="token")
    headers = dict(JSON)
    if who is not None:
        headers["Authorization"] = f"Bearer {tokens.get(who, 'forged-token')}"
    body = data.draw(raw_bodies(op), label="body") if method == "post" else None
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        res = client.request(method.upper(), url, content=body, headers=headers)
    assert res.status_code != 500, (url, body, res.text)
    if res.status_code >= 400:
        assert isinstance(res.json().get("error"), str), res.text
    for rec in caplog.records:
        assert rec.exc_info is None and "Traceback" not in rec.getMessage(), rec.getMessage()
        assert "internal error" not in rec.getMessage(), rec.getMessage()


@pytest.mark.parametrize("body", ATTACKS)
def test_each_attack_on_a_pending_move_is_a_400(deciding, body):
    client, code, tokens = deciding
    state = client.get(f"/api/sessions/{code}/state", headers={"Authorization": f"Bearer {tokens['teacher']}"}).json()
    assert state["phase"] == "deciding" and state["stage"]["kind"] == "propose"
    role = state["waiting_for"][0]
    res = client.post(f"/api/sessions/{code}/moves", content=body, headers={**JSON, "Authorization":
                                                                             f"Bearer {tokens.get(role, '')}"})
    assert res.status_code in (400, 403), res.text
    assert isinstance(res.json()["error"], str)
