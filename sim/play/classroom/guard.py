"""What stands between the classroom's API and the open network: the bounded JSON reader, per-client rate
limits, the join-code miss counter, a log that says a repeated error once a second with a count, and the
ASGI middleware that checks Host, Origin and Content-Type and puts the security headers on every answer.

Nothing here knows about sessions or games (that is :mod:`sim.play.classroom.room`); the app
(:mod:`sim.play.classroom.app`) wires it around its routes.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_DEPTH = 16  # nesting of a request body: the API's bodies are flat objects
MAX_DIGITS = 40  # characters of one JSON number
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)

log = logging.getLogger("negsim.classroom")


class BodyError(ValueError):
    """A request body the API does not take; the message says why (answered 400)."""


def _no_constant(name: str) -> Any:
    raise BodyError(f"{name} is not a number the API takes")


def _int(text: str) -> int:
    if len(text) > MAX_DIGITS:
        raise BodyError(f"a number of {len(text)} digits: at most {MAX_DIGITS}")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_DIGITS:
        raise BodyError(f"a number of {len(text)} characters: at most {MAX_DIGITS}")
    x = float(text)
    if not math.isfinite(x):
        raise BodyError(f"the number {text} is out of range")
    return x


def depth(text: str) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings skipped)."""
    deepest = level = 0
    for ch in _STRING.sub('""', text):
        if ch in "[{":
            level += 1
            deepest = max(deepest, level)
        elif ch in "]}":
            level -= 1
    return deepest


def parse_object(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object ({} for an empty body); BodyError for anything else: not UTF-8, not JSON,
    nested deeper than MAX_DEPTH, a number longer than MAX_DIGITS, NaN or Infinity, not an object."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BodyError(f"the request body is not UTF-8: {e}") from None
    if not text.strip():
        return {}
    if depth(text) > MAX_DEPTH:
        raise BodyError(f"the request body is nested more than {MAX_DEPTH} deep")
    try:
        doc = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_no_constant)
    except BodyError:
        raise
    except (ValueError, RecursionError) as e:
        raise BodyError(f"the request body is not JSON: {str(e)[:200]}") from None
    if not isinstance(doc, dict):
        raise BodyError(f"expected a JSON object, got {type(doc).__name__}")
    return doc


class Buckets:
    """Token buckets by key (a client's address, a token's hash): ``rate`` requests a second, ``burst`` at once.
    At most ``max_keys`` are kept; beyond, the fullest (idlest) are forgotten."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000):
        self.rate, self.burst, self.clock, self.max_keys = rate, burst, clock, max_keys
        self.level: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)

    def take(self, key: str) -> float:
        """0 if the request may go ahead (a token taken), else the seconds until it may."""
        now = self.clock()
        tokens, when = self.level.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - when) * self.rate)
        if tokens < 1:
            self.level[key] = (tokens, now)
            return (1 - tokens) / self.rate
        self.level[key] = (tokens - 1, now)
        if len(self.level) > self.max_keys:
            self._prune(now)
        return 0.0

    def _prune(self, now: float) -> None:
        full = [k for k, (t, w) in self.level.items() if t + (now - w) * self.rate >= self.burst]
        for k in full or list(self.level)[: len(self.level) // 2]:
            del self.level[k]


class Misses:
    """Join codes asked for that name no session, by client: after ``limit`` misses within ``window`` seconds
    the client is refused (429) until the oldest of them is ``window`` seconds old."""

    def __init__(self, limit: int = 10, window: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000):
        self.limit, self.window, self.clock, self.max_keys = limit, window, clock, max_keys
        self.seen: dict[str, list[float]] = {}

    def _recent(self, key: str) -> list[float]:
        now = self.clock()
        kept = [t for t in self.seen.get(key, []) if now - t < self.window]
        if kept:
            self.seen[key] = kept
        else:
            self.seen.pop(key, None)
        return kept

    def blocked(self, key: str) -> float:
        """Seconds the client must wait before asking for a code again (0: it may)."""
        recent = self._recent(key)
        if len(recent) < self.limit:
            return 0.0
        return max(0.1, self.window - (self.clock() - recent[-self.limit]))

    def miss(self, key: str) -> None:
        if len(self.seen) >= self.max_keys and key not in self.seen:
            for k in list(self.seen):
                self._recent(k)
            if len(self.seen) >= self.max_keys:
                self.seen.pop(next(iter(self.seen)))
        self.seen.setdefault(key, []).append(self.clock())
        del self.seen[key][: -self.limit]


class Throttled:
    """A log that says each kind of repeated error at most once every ``every`` seconds, with the count of the
    ones it held back since; never a traceback."""

    def __init__(self, logger: logging.Logger = log, every: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.logger, self.every, self.clock = logger, every, clock
        self.last: dict[str, float] = {}
        self.held: dict[str, int] = {}

    def __call__(self, kind: str, message: str, level: int = logging.ERROR) -> bool:
        """Log ``message`` unless ``kind`` was logged less than ``every`` seconds ago; True if it was logged."""
        now = self.clock()
        if now - self.last.get(kind, -math.inf) < self.every:
            self.held[kind] = self.held.get(kind, 0) + 1
            return False
        more = self.held.pop(kind, 0)
        self.last[kind] = now
        if len(self.last) > 1000:
            self.last = {kind: now}
        self.logger.log(level, "%s%s", message, f" ({more} more like it since the last report)" if more else "")
        return True


def loop_errors(throttled: Throttled) -> Callable[[Any, dict[str, Any]], None]:
    """An asyncio loop exception handler that logs through ``throttled`` (e.g. "Too many open files" from the
    accept loop, once a second with a count instead of a traceback per refused connection)."""
    def handler(_loop: Any, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        what = context.get("message", "error")
        kind = f"{what}:{type(exc).__name__ if exc else ''}"
        throttled(kind, f"{what}: {exc!r}" if exc else str(what))
    return handler


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k == name:
            return v.decode("latin-1")
    return None


def client_of(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "?"


async def _answer(send: Send, status: int, message: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(k.lower().encode(), v.encode()) for k, v in {**SECURITY_HEADERS, **(extra or {})}.items()]
    headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Headers:
    """ASGI middleware: the security headers on every answer (pages, /static/*, 404, 405, errors)."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.extra = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in self.extra if h[0] not in have)]
            await send(message)

        await self.app(scope, receive, with_headers)


class Gate:
    """ASGI middleware in front of the API: a POST must be ``application/json``; a request that carries
    ``Origin`` must come from the server's own origin (scheme and the Host it was sent to, which
    TrustedHostMiddleware has checked); a request without a token is rate-limited by the client's address."""

    def __init__(self, app: ASGIApp, per_client: Buckets, throttled: Throttled):
        self.app, self.per_client, self.throttled = app, per_client, throttled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refuse(scope)
        if refusal is not None:
            status, message, extra = refusal
            await _answer(send, status, message, extra)
            return
        await self.app(scope, receive, send)

    def refuse(self, scope: Scope) -> tuple[int, str, dict[str, str]] | None:
        method, path = scope["method"], scope["path"]
        origin = _header(scope, b"origin")
        host = _header(scope, b"host") or ""
        if origin is not None and method not in ("GET", "HEAD") and origin not in own_origins(host):
            return 403, f"requests from the origin {origin[:80]!r} are refused: only this server's own pages " \
                        "may send them", {}
        if method == "POST" and path.startswith("/api/"):
            ctype = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
            if ctype != "application/json":
                return 415, "send the request body as Content-Type: application/json", {}
        if _header(scope, b"authorization"):
            return None  # the app rate-limits by token once it knows the token (and counts a wrong one as a miss)
        wait = self.per_client.take(client_of(scope))
        if wait > 0:
            self.throttled("rate", f"rate limit: refused requests from {client_of(scope)}", logging.WARNING)
            return 429, "too many requests: slow down", {"Retry-After": str(math.ceil(wait))}
        return None


def own_origins(host: str) -> set[str]:
    """The origins of this server's own pages, for a request sent to ``host`` (the Host header)."""
    return {f"http://{host}", f"https://{host}"} if host else set()


def allowed_hosts(bind: str, extra: Iterable[str] = ()) -> list[str]:
    """The Host values a server listening on ``bind`` answers to: the address itself, the loopback names
    for a loopback or wildcard address, this machine's names and addresses for a wildcard, and ``extra``."""
    import socket

    hosts = {bind.strip("[]"), *extra}
    if bind in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "::", ""):
        hosts |= {"127.0.0.1", "localhost", "[::1]", "::1"}
    if bind in ("0.0.0.0", "::", ""):
        name = socket.gethostname()
        hosts |= {name, socket.getfqdn()}
        try:
            hosts |= {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
        except OSError:
            pass
        hosts |= set(local_addresses())
    hosts.discard("0.0.0.0")
    hosts.discard("::")
    hosts.discard("")
    return sorted(hosts | {f"[{h}]" for h in hosts if ":" in h and not h.startswith("[")})


def local_addresses() -> list[str]:
    """This machine's address on its default route (a UDP socket's own address: no packet is sent)."""
    from sim.play.addresses import route_addresses

    return route_addresses()
