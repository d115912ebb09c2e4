"""Drive negsim as a terminal does: start it as a terminal starts a command (for the tests that interrupt it
with Ctrl-C, and watch its parts appear), and read a game's screens in a tmux session of a given size (the
tests of ``negsim play``)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def as_a_terminal_starts_it() -> None:
    """``preexec_fn`` for a child that Ctrl-C must reach: SIGINT at its default disposition.

    A job started in the background of a non-interactive shell inherits SIGINT ignored (POSIX), and the
    test suite's children would inherit it from pytest started that way: Ctrl-C would then do nothing,
    and the test would see a batch run to its end. A terminal's foreground job has the default disposition.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_parts(out: Path, at_least: int, timeout: float = 120) -> Path:
    """The run directory under ``out`` of a batch started in another process, once it has written ``at_least``
    parts (the tests that stop a batch part-way)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for d in out.glob("*/parts"):
            if len(list(d.glob("part-*.parquet"))) >= at_least:
                return d.parent
        time.sleep(0.05)
    raise AssertionError(f"no run directory with {at_least} parts appeared under {out} in {timeout:g} s")


class Tmux:
    """A command in a detached tmux session of a given size, read as a person sees it (the tmux tests of play).

    ``screen()`` is the visible pane (what fits the terminal now); ``history()`` the pane with its scrollback,
    whitespace folded (the terminal wraps long lines at its own width); ``styled()`` the visible pane with its
    escape sequences (colours, bold)."""

    def __init__(self, command: str, cwd: str, width: int = 80, height: int = 24):
        self.session = f"negsim-{os.getpid()}-{time.monotonic_ns()}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.session, "-x", str(width), "-y", str(height),
                        "-c", cwd, command], check=True)

    def _capture(self, *flags: str) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", *flags, "-t", self.session], capture_output=True,
                              text=True).stdout

    def screen(self) -> str:
        return self._capture()

    def styled(self) -> str:
        return self._capture("-e")

    def history(self) -> str:
        return " ".join(self._capture("-J", "-S", "-2000").split())

    def send(self, keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.session, "-l", keys], check=True)
        subprocess.run(["tmux", "send-keys", "-t", self.session, "Enter"], check=True)

    def wait_for(self, text: str, timeout: float = 90, visible: bool = False) -> str:
        """Wait until ``text`` is on the screen (``visible``: in the visible pane), whitespace folded; return it."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            screen = " ".join(self.screen().split()) if visible else self.history()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared on the screen:\n{self.history()}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)
