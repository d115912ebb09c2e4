"""``negsim classroom``: a class plays one game together from their browsers.

The teacher's page (``/teacher``) creates a session and shows its join code; students open the address,
enter the code and take a role. Roles nobody takes are played by the model. :mod:`sim.play.classroom.room`
holds the sessions and the month flow, :mod:`sim.play.classroom.talk` the talk channel between roles,
:mod:`sim.play.classroom.app` the web server (Starlette, run by uvicorn) and its JSON API; ``static/`` the pages (plain HTML and JavaScript, served by the app: no network needed).
See ``docs/classroom.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from types import FrameType

from sim.play.classroom.room import Classroom, ClassroomError

__all__ = ["Classroom", "ClassroomError", "serve"]


def serve(classroom: Classroom, host: str, port: int, ready: Callable[[int], None] | None = None, *,
          teacher_secrets: list[str] | None = None, hosts: list[str] | None = None) -> None:
    """Serve ``classroom`` on host:port until interrupted; ``ready`` is told the port once it listens
    (port 0 takes a free one). OSError if the address cannot be had.

    ``teacher_secrets``: creating a session needs one of them; ``hosts``: the Host values answered (default:
    the address listened on, and this machine's names for a wildcard address), and the addresses of
    :func:`sim.play.addresses.reach`, which the teacher's page gives the students. The open-file limit is raised
    where allowed and connections are capped well below it (:mod:`sim.play.classroom.net`)."""
    import uvicorn

    from sim.play.addresses import reach
    from sim.play.classroom.app import create_app
    from sim.play.classroom.guard import allowed_hosts
    from sim.play.classroom.net import connection_cap, protocol, raise_file_limit, settings

    soft, _hard = raise_file_limit()
    cap = connection_cap(soft)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # listening before "ready": a client told the address may connect at once
    except OSError:
        sock.close()
        raise
    students = reach(host, sock.getsockname()[1])  # the addresses the teacher's page shows (and its QR code)
    app = create_app(classroom, teacher_secrets=teacher_secrets, join_urls=students.urls, join_note=students.note,
                     hosts=[*(hosts or allowed_hosts(host)), *students.hosts])
    config = uvicorn.Config(app, http=protocol(cap, app.state.throttled), **settings(cap))
    if ready is not None:
        ready(sock.getsockname()[1])
    try:
        _server_class()(config, app.state.server).run(sockets=[sock])
    finally:
        sock.close()


def _server_class() -> type:
    import uvicorn

    class StoppingServer(uvicorn.Server):
        """uvicorn's server that, told to stop, first ends the app's live-update streams (so none is cancelled
        mid-write: no traceback per stream at SIGTERM)."""

        def __init__(self, config: uvicorn.Config, app_server: object):
            super().__init__(config)
            self.app_server = app_server
            self.loop: asyncio.AbstractEventLoop | None = None

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            self.loop = asyncio.get_running_loop()
            await super().startup(sockets)

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if self.loop is not None:
                with contextlib.suppress(RuntimeError):
                    self.loop.call_soon_threadsafe(self.app_server.shutdown)  # type: ignore[attr-defined]
            super().handle_exit(sig, frame)

    return StoppingServer
