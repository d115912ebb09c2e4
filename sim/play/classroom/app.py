"""The classroom's web server: a Starlette app (served by uvicorn) with its JSON API, live updates and pages.

Every handler runs on the event loop and does its (short) work there, so requests to a session are served
one at a time and a session never sees two changes at once; the one long computation, the model's
distribution of the scenario, runs once in a worker thread. Live updates are server-sent events: the
stream tells the session's version whenever it changes, and the page then reads its state.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import html
import json
import logging
import math
import secrets
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from sim.jsonsafe import strict
from sim.play.classroom import talk
from sim.play.classroom.guard import (
    SECURITY_HEADERS,
    BodyError,
    Buckets,
    Gate,
    Headers,
    Misses,
    Throttled,
    client_of,
    loop_errors,
    parse_object,
)
from sim.play.classroom.room import OBSERVER, Classroom, ClassroomError, Session

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 16_384  # bytes: every request body of the API is a small JSON object
STREAM_SECONDS = 300  # an event stream ends after this; the page opens another
MAX_STREAMS = 1000  # event streams open at once, over all sessions
STREAMS_PER_SESSION = 250  # a class: its roles, the teacher, up to 200 observers
STREAMS_PER_CLIENT = 60  # from one address (a classroom's machines each have their own)
STREAMS_PER_TOKEN = 3  # one page, and a tab or two opened on it
HEARTBEAT_SECONDS = 15
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
JOIN_MARK = "<!--join-->"  # where the teacher's page gets the students' addresses and their QR code
SUMMARY_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'; "
               "base-uri 'none'; form-action 'none'")  # the summary page: the report's template, no script
MAX_SUMMARIES = 100  # summary pages kept in memory (each is drawn once: a figure takes a second)


def json_response(obj: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(strict(obj), status_code=status, headers=SECURITY_HEADERS)


def error(status: int, message: str) -> JSONResponse:
    return json_response({"error": message}, status)


def bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_role(s: Session, request: Request) -> str:
    """The role the request's token holds in this session (or "teacher"); 401 otherwise."""
    token = bearer(request)
    if token is None:
        raise ClassroomError(401, "send the token you were given: Authorization: Bearer TOKEN")
    role = s.role_of(token)
    if role is None:
        raise ClassroomError(401, f"that token holds no role in session {s.code}")
    return role


async def body_json(request: Request) -> dict[str, Any]:
    """The request's JSON object, read up to MAX_BODY bytes; 400/413 with a message otherwise (never a 500: see
    :func:`sim.play.classroom.guard.parse_object`)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ClassroomError(413, f"the request body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    try:
        return parse_object(b"".join(chunks))
    except BodyError as e:
        raise ClassroomError(400, str(e)) from None


Endpoint = Callable[[Request], Awaitable[Response]]


def handle(fn: Endpoint, throttled: Throttled) -> Endpoint:
    """The endpoint answering a :class:`ClassroomError` with its status and message as JSON, and anything else
    with a 500 whose log line (once a second at most, never a traceback) names the exception."""
    async def endpoint(request: Request) -> Response:
        try:
            return await fn(request)
        except ClassroomError as e:
            res = error(e.status, str(e))
            if e.retry_after is not None:
                res.headers["Retry-After"] = str(max(1, math.ceil(e.retry_after)))
            return res
        except Exception as e:  # noqa: BLE001 - the server answers every request; the log says what failed
            throttled(f"500:{type(e).__name__}", f"internal error on {request.method} {request.url.path}: {e!r:.300}")
            return error(500, "internal error: the server's log says more")
    return endpoint


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


class Server:
    """The app's state (the classroom, the change signals of live updates, the distribution's lock) and its
    routes: one method per endpoint of the API."""

    def __init__(self, classroom: Classroom, teacher_secrets: list[str], throttled: Throttled | None = None,
                 per_token: Buckets | None = None, misses: Misses | None = None, join_urls: Sequence[str] = (),
                 join_note: str = ""):
        self.classroom = classroom
        self.join_urls, self.join_note = list(join_urls), join_note
        self.summaries: dict[str, str] = {}
        self.changed: dict[str, asyncio.Event] = {}
        self.batch_lock = threading.Lock()
        self.streams = 0
        self.stream_count: dict[str, int] = {}  # "session:CODE", "client:ADDRESS", "token:HASH" -> open streams
        self.secrets = [secret_hash(x) for x in teacher_secrets]
        self.throttled = throttled or Throttled()
        self.per_token = per_token or Buckets(rate=20, burst=60)
        self.misses = misses or Misses()
        self.closing = False

    def batch(self) -> Any:
        with self.batch_lock:
            return self.classroom.batch()

    def notify(self, s: Session) -> None:
        s.version += 1
        self.classroom.keep(s)  # a restarted server takes the class up here
        ev = self.changed.pop(s.code, None)
        if ev is not None:
            ev.set()

    async def settle(self, s: Session) -> None:
        """A game that has just finished: set it against the distribution, save it."""
        if s.finished and s.result is None:
            batch = await asyncio.to_thread(self.batch)
            if s.result is None:
                s.conclude(batch)
                self.notify(s)  # saved with its result (in memory only if the folder cannot be written)

    def routes(self) -> list[BaseRoute]:
        api = "/api/sessions"

        def h(fn: Endpoint) -> Endpoint:
            return handle(fn, self.throttled)
        return [
            Route("/", page("student.html")),
            Route("/teacher", self.teacher_page),
            Route("/projector", page("projector.html")),
            Route("/summary/{code}", h(self.summary)),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            Route(api, h(self.create), methods=["POST"]),
            Route(api + "/{code}", h(self.info), methods=["GET"]),
            Route(api + "/{code}/join", h(self.join), methods=["POST"]),
            Route(api + "/{code}/state", h(self.state), methods=["GET"]),
            Route(api + "/{code}/moves", h(self.moves), methods=["POST"]),
            Route(api + "/{code}/advance", h(self.advance), methods=["POST"]),
            Route(api + "/{code}/leave", h(self.leave), methods=["POST"]),
            Route(api + "/{code}/remove", h(self.remove), methods=["POST"]),
            Route(api + "/{code}/messages", h(self.send_message), methods=["POST"]),
            Route(api + "/{code}/talk", h(self.switch_talk), methods=["POST"]),
            Route(api + "/{code}/results", h(self.results), methods=["GET"]),
            Route(api + "/{code}/events", h(self.events), methods=["GET"]),
            Route(api + "/{code}/game.csv", h(self.download_csv), methods=["GET"]),
            Route(api + "/{code}/game.replay.json", h(self.download_replay), methods=["GET"]),
        ]

    def session_of(self, request: Request, code: str | None = None) -> Session:
        """The session a request names; 404 for a code that names none, and 429 once a client has asked for
        a handful of those (or sent a handful of wrong tokens) within a minute: join codes are not guessed."""
        client = client_of(request.scope)
        code = code if code is not None else request.path_params["code"]
        wait = self.misses.blocked(client)
        live = self.classroom.sessions.get(code)
        if wait > 0 and live is not None and live.role_of(bearer(request)) is not None:
            wait = 0  # a token of this session: its holder is not held up by a guesser at the same address
        if wait > 0:
            self.throttled("misses", f"refused {client}: too many unknown join codes or tokens", logging.WARNING)
            raise ClassroomError(429, f"too many unknown join codes or tokens from your address: try again in "
                                      f"{wait:.0f} s")
        try:
            return self.classroom.get(code)
        except ClassroomError as e:
            if e.status == 404:
                self.misses.miss(client)
            raise

    def holder(self, s: Session, request: Request) -> str:
        """The role the request's token holds in this session (or "teacher"); 401 otherwise (a miss for the
        client), 429 for a token past its rate. A teacher's or a role's request keeps the session alive."""
        try:
            role = token_role(s, request)
        except ClassroomError:
            self.misses.miss(client_of(request.scope))
            raise
        wait = self.per_token.take(f"{s.code}:{role}:{bearer(request)}")
        if wait > 0:
            raise ClassroomError(429, f"too many requests with this token: try again in {wait:.1f} s")
        if role != OBSERVER:
            self.classroom.seen(s)
        return role

    # ------------------------------------------------------------------ the API's endpoints

    async def create(self, request: Request) -> Response:
        secret = bearer(request)
        if secret is None or not any(hmac.compare_digest(secret_hash(secret), h) for h in self.secrets):
            self.misses.miss(client_of(request.scope))
            raise ClassroomError(401, "creating a session needs the teacher secret the server printed at start: "
                                      "Authorization: Bearer SECRET")
        await body_json(request)
        s, token = self.classroom.create(owner=secret_hash(secret))
        return json_response({"code": s.code, "teacher_token": token}, 201)

    async def info(self, request: Request) -> Response:
        s = self.session_of(request)
        c = self.classroom.compiled
        return json_response({"code": s.code, "scenario": c.scenario.name, "phase": s.phase,
                              "finished": s.finished, "roles": s.roles()})

    async def join(self, request: Request) -> Response:
        doc = await body_json(request)
        if "role" not in doc:
            raise ClassroomError(400, "expected {\"role\": ROLE}")
        s = self.session_of(request)
        token = self.classroom.join(s.code, doc["role"])
        self.notify(s)
        return json_response({"token": token, "role": doc["role"], "code": s.code})

    async def state(self, request: Request) -> Response:
        s = self.session_of(request)
        role = self.holder(s, request)
        await self.settle(s)
        return json_response(s.state(role) | {"talk": dict(s.talk), "messages": talk.visible(s, role),
                                               "agenda": talk.agenda(s.compiled)})

    async def moves(self, request: Request) -> Response:
        s = self.session_of(request)
        role = self.holder(s, request)
        doc = await body_json(request)
        if role == "teacher":
            raise ClassroomError(403, "the teacher's token makes no moves: a student holds each role")
        claimed = doc.get("role", role)
        if claimed != role:
            raise ClassroomError(403, f"your token holds {role}, not {str(claimed)[:40]}")
        if role == "observer":
            raise ClassroomError(403, "an observer makes no moves")
        m = s.move(role, doc)
        self.notify(s)
        await self.settle(s)
        return json_response({"ok": True, "move": m.as_dict(), "phase": s.phase, "month": s.month})

    async def advance(self, request: Request) -> Response:
        s = self.session_of(request)
        role = self.holder(s, request)
        if role != "teacher":
            raise ClassroomError(403, "only the teacher advances the month")
        doc = await body_json(request)
        until = doc.get("until", "month")
        if until not in ("month", "decision"):
            raise ClassroomError(400, f"expected \"until\" to be \"month\" or \"decision\", got {str(until)[:40]!r}")
        s.advance(until_decision=until == "decision")
        self.notify(s)
        await self.settle(s)
        return json_response({"ok": True, "phase": s.phase, "month": s.month, "finished": s.finished})

    async def leave(self, request: Request) -> Response:
        s = self.session_of(request)
        role = self.holder(s, request)
        await body_json(request)
        if role == "teacher":
            raise ClassroomError(403, "the teacher's token holds no role to leave: remove a student instead")
        self.classroom.leave(s, bearer(request) or "")
        self.notify(s)
        return json_response({"ok": True, "role": role, "phase": s.phase, "month": s.month})

    async def remove(self, request: Request) -> Response:
        s = self.session_of(request)
        if self.holder(s, request) != "teacher":
            raise ClassroomError(403, "only the teacher removes a student from a role")
        doc = await body_json(request)
        if "role" not in doc:
            raise ClassroomError(400, "expected {\"role\": ROLE}")
        self.classroom.remove(s, doc["role"])
        self.notify(s)
        return json_response({"ok": True, "role": doc["role"], "phase": s.phase, "month": s.month})

    async def send_message(self, request: Request) -> Response:
        """A role sends a message (and perhaps a draft offer) to another role or to all: the talk channel."""
        s = self.session_of(request)
        role = self.holder(s, request)
        doc = await body_json(request)
        if role in ("teacher", OBSERVER):
            raise ClassroomError(403, f"the {'teacher' if role == 'teacher' else 'observer'}'s token sends no "
                                      "messages: the roles talk to each other")
        msg = talk.send(s, role, doc, self.classroom.clock())
        self.notify(s)
        return json_response({"ok": True, "message": msg}, 201)

    async def switch_talk(self, request: Request) -> Response:
        """The teacher switches the talk channel on or off, and its messages on the projector view."""
        s = self.session_of(request)
        if self.holder(s, request) != "teacher":
            raise ClassroomError(403, "only the teacher switches the talk channel")
        doc = await body_json(request)
        now = talk.switch(s, doc)
        self.notify(s)
        return json_response({"ok": True, "talk": now})

    async def results(self, request: Request) -> Response:
        s = self.session_of(request)
        if bearer(request) is not None:
            self.holder(s, request)  # a token given must be one of this session's
        if not s.finished:
            raise ClassroomError(409, f"the game is not finished (month {s.month}, phase {s.phase})")
        await self.settle(s)
        return json_response(s.result)

    def finished_for_teacher(self, request: Request) -> Session:
        """The request's session, if the teacher asks and the game is over (403, 409 otherwise)."""
        s = self.session_of(request)
        if self.holder(s, request) != "teacher":
            raise ClassroomError(403, "only the teacher downloads the game")
        if not s.finished:
            raise ClassroomError(409, "the game is not finished")
        return s

    async def download_csv(self, request: Request) -> Response:
        s = self.finished_for_teacher(request)
        return Response(s.csv_text(), media_type="text/csv", headers={
            **SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="negsim-class-{s.code}.csv"'})

    async def download_replay(self, request: Request) -> Response:
        s = self.finished_for_teacher(request)
        await self.settle(s)
        try:
            path = self.classroom.replay_path(s)
        except OSError as e:
            raise ClassroomError(500, f"cannot write the replay file: {e}") from None
        return Response(path.read_bytes(), media_type="application/json", headers={
            **SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="negsim-class-{s.code}.replay.json"'})

    async def summary(self, request: Request) -> Response:
        """The class summary page of a finished game (readable with the join code, like its results)."""
        s = self.session_of(request)
        if not s.finished:
            raise ClassroomError(409, f"the game is not finished (month {s.month}, phase {s.phase}): its summary "
                                      "comes at the end")
        await self.settle(s)
        text = self.summaries.get(s.code)
        if text is None:
            text = await asyncio.to_thread(self.summary_text, s)
            if len(self.summaries) >= MAX_SUMMARIES:
                self.summaries.pop(next(iter(self.summaries)))
            self.summaries[s.code] = text
        return HTMLResponse(text, headers={**SECURITY_HEADERS, "Content-Security-Policy": SUMMARY_CSP})

    def summary_text(self, s: Session) -> str:
        from sim.play import summary

        return summary.page(s.final_game(), dict(s.result or {}), s.events,
                            f"class {s.code}, {self.classroom.compiled.scenario.name}")

    async def teacher_page(self, request: Request) -> Response:
        """The teacher's page with the students' address (the first of those the server printed, else the one
        the teacher used) and its QR code, drawn inline as SVG."""
        text = (STATIC / "teacher.html").read_text()
        urls = self.join_urls or [str(request.base_url)]
        return HTMLResponse(text.replace('<b id="address"></b>', f'<b id="address">{html.escape(urls[0])}</b>')
                            .replace(JOIN_MARK, join_markup(urls, self.join_note)), headers=SECURITY_HEADERS)

    # ------------------------------------------------------------------ live updates

    async def events(self, request: Request) -> Response:
        s = self.session_of(request)
        self.holder(s, request)
        keys = (f"session:{s.code}", f"client:{client_of(request.scope)}", f"token:{secret_hash(bearer(request) or '')}")
        for key, cap, whose in zip(keys, (STREAMS_PER_SESSION, STREAMS_PER_CLIENT, STREAMS_PER_TOKEN),
                                   ("this session", "your address", "this token"), strict=True):
            if self.stream_count.get(key, 0) >= cap:
                raise ClassroomError(429, f"{whose} holds {cap} live-update streams, its limit: the page polls instead")
        if self.streams >= MAX_STREAMS:
            raise ClassroomError(503, f"the server holds {MAX_STREAMS} live-update streams, its limit: the page "
                                      "polls instead")
        if self.closing:
            raise ClassroomError(503, "the server is stopping")
        return StreamingResponse(self.stream(s.code, keys), media_type="text/event-stream",
                                 headers={**SECURITY_HEADERS, "X-Accel-Buffering": "no"})

    async def stream(self, code: str, keys: tuple[str, ...] = ()) -> AsyncIterator[str]:
        """The session's event stream, counted (in all and under ``keys``) while it runs."""
        self.streams += 1
        for key in keys:
            self.stream_count[key] = self.stream_count.get(key, 0) + 1
        try:
            async for chunk in self.changes(code):
                yield chunk
        finally:
            self.streams -= 1
            for key in keys:
                left = self.stream_count.get(key, 1) - 1
                if left > 0:
                    self.stream_count[key] = left
                else:
                    self.stream_count.pop(key, None)

    def shutdown(self) -> None:
        """The server is stopping: every stream ends now (no stream is left to be cancelled mid-write)."""
        self.closing = True
        for ev in list(self.changed.values()):
            ev.set()

    async def changes(self, code: str) -> AsyncIterator[str]:
        """The session's version whenever it changes, a heartbeat while it does not, for STREAM_SECONDS."""
        loop = asyncio.get_running_loop()
        end = loop.time() + STREAM_SECONDS
        last = -1
        while loop.time() < end and not self.closing:
            live = self.classroom.sessions.get(code)
            if live is None:
                yield "event: gone\ndata: {}\n\n"
                return
            if live.version != last:
                last = live.version
                yield f"data: {json.dumps({'version': last, 'phase': live.phase, 'month': live.month})}\n\n"
                continue
            ev = self.changed.setdefault(code, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ev.wait(), HEARTBEAT_SECONDS)
                if self.closing:
                    yield "event: closing\ndata: {}\n\n"
                continue
            yield ": still here\n\n"


def join_markup(urls: Sequence[str], note: str) -> str:
    """The students' other addresses, the note on who can reach them, and the QR code of the first (segno's SVG,
    or a line saying it is missing); every text escaped."""
    from sim.play.addresses import qr_svg

    out = ""
    if len(urls) > 1:
        out += ('<p class="quiet">or: ' + ", ".join(f'<span class="other-address">{html.escape(u)}</span>'
                                                  for u in urls[1:]) + "</p>")
    if note:
        out += f'<p class="join-note" id="join-note">{html.escape(note)}</p>'
    svg = qr_svg(urls[0])
    out += (f'<div id="qr" data-url="{html.escape(urls[0])}">{svg}</div>' if svg is not None else
            '<p class="quiet" id="qr">(no QR code: pip install segno)</p>')
    return out


def page(name: str) -> Endpoint:
    """The endpoint serving one of the classroom's pages (static/NAME)."""
    async def endpoint(request: Request) -> Response:
        return FileResponse(STATIC / name, headers=SECURITY_HEADERS)
    return endpoint


async def not_found(request: Request, exc: Exception) -> Response:
    """404/405 (no such path, a method the path does not take) as JSON, like every other refusal."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return error(status, "no such page or API address" if status == 404 else
                 f"{request.method} is not taken here" if status == 405 else "refused")


def create_app(classroom: Classroom, warm: bool = True, *, teacher_secrets: list[str] | None = None,
               hosts: Sequence[str] = LOOPBACK_HOSTS, per_client: Buckets | None = None,
               per_token: Buckets | None = None, misses: Misses | None = None, join_urls: Sequence[str] = (),
               join_note: str = "") -> Starlette:
    """The app serving ``classroom``; ``warm`` computes the model's distribution in the background at start.

    ``teacher_secrets``: creating a session needs one of them (one is made up if none is given:
    ``app.state.teacher_secret``). ``hosts``: the Host values answered (TrustedHostMiddleware).
    ``per_client``, ``per_token`` and ``misses``: the rate limits (defaults in :mod:`sim.play.classroom.guard`).
    ``join_urls``: the students' addresses the teacher's page shows (the first with its QR code), ``join_note``
    what to say of them (:func:`sim.play.addresses.reach`); none: the address the teacher's page was opened at."""
    keys = list(teacher_secrets or [secrets.token_urlsafe(16)])
    throttled = Throttled()
    server = Server(classroom, keys, throttled, per_token, misses, join_urls, join_note)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        asyncio.get_running_loop().set_exception_handler(loop_errors(throttled))
        task = asyncio.create_task(asyncio.to_thread(server.batch)) if warm else None
        yield
        server.shutdown()
        if task is not None and not task.done():
            task.cancel()

    middleware = [Middleware(Headers),
                  Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts), www_redirect=False),
                  Middleware(Gate, per_client=per_client or Buckets(rate=20, burst=100), throttled=throttled)]
    app = Starlette(routes=server.routes(), lifespan=lifespan, middleware=middleware,
                    exception_handlers={HTTPException: not_found})
    app.state.server = server
    app.state.teacher_secret = keys[0]
    app.state.throttled = throttled
    return app
