"""The classroom's web server: a Starlette app (served by uvicorn) with its JSON API, live updates and pages.

Every handler runs on the event loop and does its (short) work there, so requests to a session are served
one at a time and a session never sees two changes at once; the one long computation, the model's
distribution of the scenario, runs once in a worker thread. Live updates are server-sent events: the
stream tells the session's version whenever it changes, and the page then reads its state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from sim.jsonsafe import strict
from sim.play.classroom.room import Classroom, ClassroomError, Session

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 16_384  # bytes: every request body of the API is a small JSON object
STREAM_SECONDS = 300  # an event stream ends after this; the page opens another
MAX_STREAMS = 1000  # event streams open at once, over all sessions
HEARTBEAT_SECONDS = 15
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
}


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


def holder(s: Session, request: Request) -> str:
    """The role the request's token holds in this session (or "teacher"); 401 otherwise."""
    token = bearer(request)
    if token is None:
        raise ClassroomError(401, "send the token you were given: Authorization: Bearer TOKEN")
    role = s.role_of(token)
    if role is None:
        raise ClassroomError(401, f"that token holds no role in session {s.code}")
    return role


async def body_json(request: Request) -> dict[str, Any]:
    """The request's JSON object, read up to MAX_BODY bytes; 400/413 with a message otherwise."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ClassroomError(413, f"the request body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ClassroomError(400, f"the request body is not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ClassroomError(400, f"expected a JSON object, got {type(doc).__name__}")
    return doc


Endpoint = Callable[[Request], Awaitable[Response]]


def handle(fn: Endpoint) -> Endpoint:
    """The endpoint answering a :class:`ClassroomError` with its status and message as JSON."""
    async def endpoint(request: Request) -> Response:
        try:
            return await fn(request)
        except ClassroomError as e:
            return error(e.status, str(e))
    return endpoint


class Server:
    """The app's state (the classroom, the change signals of live updates, the distribution's lock) and its
    routes: one method per endpoint of the API."""

    def __init__(self, classroom: Classroom):
        self.classroom = classroom
        self.changed: dict[str, asyncio.Event] = {}
        self.batch_lock = threading.Lock()
        self.streams = 0

    def batch(self) -> Any:
        with self.batch_lock:
            return self.classroom.batch()

    def notify(self, s: Session) -> None:
        s.touch(self.classroom.clock())
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
        return [
            Route("/", page("student.html")),
            Route("/teacher", page("teacher.html")),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            Route(api, handle(self.create), methods=["POST"]),
            Route(api + "/{code}", handle(self.info), methods=["GET"]),
            Route(api + "/{code}/join", handle(self.join), methods=["POST"]),
            Route(api + "/{code}/state", handle(self.state), methods=["GET"]),
            Route(api + "/{code}/moves", handle(self.moves), methods=["POST"]),
            Route(api + "/{code}/advance", handle(self.advance), methods=["POST"]),
            Route(api + "/{code}/results", handle(self.results), methods=["GET"]),
            Route(api + "/{code}/events", handle(self.events), methods=["GET"]),
            Route(api + "/{code}/game.csv", handle(self.download_csv), methods=["GET"]),
            Route(api + "/{code}/game.replay.json", handle(self.download_replay), methods=["GET"]),
        ]

    def session_of(self, request: Request) -> Session:
        return self.classroom.get(request.path_params["code"])

    # ------------------------------------------------------------------ the API's endpoints

    async def create(self, request: Request) -> Response:
        await body_json(request)
        s, token = self.classroom.create()
        return json_response({"code": s.code, "teacher_token": token}, 201)

    async def info(self, request: Request) -> Response:
        s = self.session_of(request)
        c = self.classroom.compiled
        return json_response({"code": s.code, "scenario": c.scenario.name, "phase": s.phase,
                              "finished": s.finished, "roles": s.roles()})

    async def join(self, request: Request) -> Response:
        doc = await body_json(request)
        code = request.path_params["code"]
        if "role" not in doc:
            raise ClassroomError(400, "expected {\"role\": ROLE}")
        token = self.classroom.join(code, doc["role"])
        s = self.classroom.get(code)
        self.notify(s)
        return json_response({"token": token, "role": doc["role"], "code": s.code})

    async def state(self, request: Request) -> Response:
        s = self.session_of(request)
        role = holder(s, request)
        await self.settle(s)
        return json_response(s.state(role))

    async def moves(self, request: Request) -> Response:
        s = self.session_of(request)
        role = holder(s, request)
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
        role = holder(s, request)
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

    async def results(self, request: Request) -> Response:
        s = self.session_of(request)
        if bearer(request) is not None:
            holder(s, request)  # a token given must be one of this session's
        if not s.finished:
            raise ClassroomError(409, f"the game is not finished (month {s.month}, phase {s.phase})")
        await self.settle(s)
        return json_response(s.result)

    def finished_for_teacher(self, request: Request) -> Session:
        """The request's session, if the teacher asks and the game is over (403, 409 otherwise)."""
        s = self.session_of(request)
        if holder(s, request) != "teacher":
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

    # ------------------------------------------------------------------ live updates

    async def events(self, request: Request) -> Response:
        s = self.session_of(request)
        holder(s, request)
        if self.streams >= MAX_STREAMS:
            raise ClassroomError(503, f"the server holds {MAX_STREAMS} live-update streams, its limit: the page "
                                      "polls instead")
        return StreamingResponse(self.stream(s.code), media_type="text/event-stream",
                                 headers={**SECURITY_HEADERS, "X-Accel-Buffering": "no"})

    async def stream(self, code: str) -> AsyncIterator[str]:
        """The session's event stream, counted among the streams open while it runs."""
        self.streams += 1
        try:
            async for chunk in self.changes(code):
                yield chunk
        finally:
            self.streams -= 1

    async def changes(self, code: str) -> AsyncIterator[str]:
        """The session's version whenever it changes, a heartbeat while it does not, for STREAM_SECONDS."""
        loop = asyncio.get_running_loop()
        end = loop.time() + STREAM_SECONDS
        last = -1
        while loop.time() < end:
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
                continue
            yield ": still here\n\n"


def page(name: str) -> Endpoint:
    """The endpoint serving one of the classroom's pages (static/NAME)."""
    async def endpoint(request: Request) -> Response:
        return FileResponse(STATIC / name, headers=SECURITY_HEADERS)
    return endpoint


def create_app(classroom: Classroom, warm: bool = True) -> Starlette:
    """The app serving ``classroom``; ``warm`` computes the model's distribution in the background at start."""
    server = Server(classroom)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(asyncio.to_thread(server.batch)) if warm else None
        yield
        if task is not None and not task.done():
            task.cancel()

    app = Starlette(routes=server.routes(), lifespan=lifespan)
    app.state.server = server
    return app
