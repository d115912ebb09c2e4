"""`negsim dashboard` as a user starts it, in a subprocess on a free port of 127.0.0.1, for the browser tests: every
proxy points at a closed port, so a fetch from outside the machine fails at once; stopped with Ctrl-C (SIGINT) as
a user stops it, killed if it does not stop in 10 s."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from browser.chromium import artifact

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dashboard(file: Path, log_name: str, start_seconds: float = 60) -> Iterator[str]:
    """Serve the dashboard of scenario ``file``; yields its address once it answers 200. Its output goes to
    tests/artifacts/``log_name``."""
    port = free_port()
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there: any fetch from outside fails at once
    env = os.environ | {"HTTP_PROXY": closed, "HTTPS_PROXY": closed, "http_proxy": closed, "https_proxy": closed,
                        "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    log = artifact(log_name).open("w")
    proc = subprocess.Popen([sys.executable, "-m", "sim", "dashboard", str(file), "--host", "127.0.0.1",
                             "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 (local)
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the dashboard did not start (exit {proc.poll()}); see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
