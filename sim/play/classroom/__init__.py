"""``negsim classroom``: a class plays one game together from their browsers.

The teacher's page (``/teacher``) creates a session and shows its join code; students open the address,
enter the code and take a role. Roles nobody takes are played by the model. :mod:`sim.play.classroom.room`
holds the sessions and the month flow, :mod:`sim.play.classroom.app` the web server (Starlette, run by uvicorn)
and its JSON API; ``static/`` the pages (plain HTML and JavaScript, served by the app: no network needed).
See ``docs/classroom.md``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from sim.play.classroom.room import Classroom, ClassroomError

__all__ = ["Classroom", "ClassroomError", "serve"]


def serve(classroom: Classroom, host: str, port: int, ready: Callable[[int], None] | None = None) -> None:
    """Serve ``classroom`` on host:port until interrupted; ``ready`` is told the port once it listens
    (port 0 takes a free one). OSError if the address cannot be had."""
    import uvicorn

    from sim.play.classroom.app import create_app

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # listening before "ready": a client told the address may connect at once
    except OSError:
        sock.close()
        raise
    config = uvicorn.Config(create_app(classroom), log_level="warning", timeout_graceful_shutdown=2,
                            lifespan="on")
    if ready is not None:
        ready(sock.getsockname()[1])
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
