"""The classroom server's connections: uvicorn's settings, the open-file limit, a cap on connections and a
deadline for a request's headers (uvicorn has none: a client that sends nothing, or half its headers, would
otherwise hold its connection for ever).

Imported only by :func:`sim.play.classroom.serve` (it needs uvicorn).
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from sim.play.classroom.guard import Throttled

HEADER_SECONDS = 10.0  # a request's headers must be in within this of the connection (or the last answer)
KEEP_ALIVE_SECONDS = 5  # an idle kept-alive connection is closed after this
MAX_HEADER_BYTES = 16_384  # h11's limit on an incomplete request head
WANT_FILES = 65_536  # the open-file soft limit asked for at start (up to the hard limit)
MAX_CONNECTIONS = 4_000  # connections at once, whatever the open-file limit


def raise_file_limit(want: int = WANT_FILES) -> tuple[int, int]:
    """Raise the open-file soft limit towards ``want`` where the hard limit allows; (soft, hard) after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft, hard


def connection_cap(soft: int) -> int:
    """Connections held at once: well below the open-file limit (half of it, less what the server itself keeps
    open), so accepting never runs out of files."""
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, soft // 2 - 64))


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a connection cap (a connection beyond it is closed at once, which frees its
    file) and a deadline for each request's headers. Set ``cap`` and ``throttled`` on a subclass."""

    cap = 1000
    header_seconds = HEADER_SECONDS
    throttled = Throttled()
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.cap:
            self.throttled("connections", f"refused a connection: {self.cap} connections are open, the limit")
            transport.abort()
            return
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.throttled("slow", f"closed a connection that sent no complete request head within "
                                   f"{self.header_seconds:g} s")
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        before = self.cycle
        super().data_received(data)
        if self.cycle is not None and self.cycle is not before:
            self._disarm()  # a request's head is in: the app's own deadlines take over

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def protocol(cap: int, throttled: Throttled) -> type[GuardedH11]:
    return type("ClassroomH11", (GuardedH11,), {"cap": cap, "throttled": throttled})


def settings(cap: int) -> dict[str, Any]:
    """uvicorn.Config's keywords for the classroom (beside the app and its protocol)."""
    return {"timeout_keep_alive": KEEP_ALIVE_SECONDS, "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
            "limit_concurrency": cap, "timeout_graceful_shutdown": 2, "log_level": "warning", "lifespan": "on",
            "backlog": 2048}
