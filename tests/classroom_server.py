"""A classroom server on 127.0.0.1 for the tests that need a real one (browser and load tests)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from sim.play.classroom.app import create_app
from sim.play.classroom.net import connection_cap, protocol, raise_file_limit, settings
from sim.play.classroom.room import Classroom

SECRET = "test-teacher-secret"


@contextmanager
def serving(room: Classroom, cap: int | None = None, header_seconds: float | None = None, **kw) -> Iterator[str]:
    """Serve ``room`` with uvicorn in a thread on a free port of 127.0.0.1, with the settings of ``negsim
    classroom`` (its protocol, limits and timeouts; teacher secret SECRET; ``kw`` to create_app); yields the
    base address."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(room, teacher_secrets=[SECRET], **kw)
    cap = cap or connection_cap(raise_file_limit()[0])
    proto = protocol(cap, app.state.throttled)
    if header_seconds is not None:
        proto.header_seconds = header_seconds
    config = uvicorn.Config(app, http=proto, **{**settings(cap),
                                                                            "timeout_graceful_shutdown": 1})
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        end = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > end or not thread.is_alive():
                raise RuntimeError("the classroom server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
