"""The exception tree of negsim.

Every error the library raises on purpose derives from :class:`NegsimError`
(a plain ``Exception``)::

    NegsimError
    ├── ScenarioError      bad scenario input; holds one Problem per finding
    │                      (file, line, column, key path, message, value).
    │                      The CLI prints them one per line and exits 2.
    ├── UsageError         bad arguments to a command or API call (exit 2);
    │                      also a ValueError, as Python's own bad-argument
    │                      errors are.
    ├── StoreError         a run directory that cannot be read or resumed
    │                      (older, corrupt or edited manifest, a directory in
    │                      use by another process) (exit 2).
    ├── Interrupted        a job stopped by Ctrl-C, SIGTERM or SIGHUP; its run
    │                      directory can be resumed (exit 128 + the signal:
    │                      130, 143, 129).
    ├── DiskFull           the disk or a file size limit ran out while writing
    │                      a run directory; it can be resumed (exit 1).
    └── WorkerDied         a worker process died (killed, out of memory); the
                           run directory can be resumed (exit 1).

:class:`Stopped` (a ``KeyboardInterrupt``, not a NegsimError) is SIGTERM or
SIGHUP turned into an exception by the CLI's handler; a job turns it into
:class:`Interrupted`.

Anything else that escapes is a bug: the CLI reports it on one line and
exits 1 (with ``NEGSIM_DEBUG=1`` or ``--traceback``, the full traceback).
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One finding about an input file, printable as ``FILE:LINE:COL: key: message``."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        key = f" {self.path}:" if self.path else ""
        return f"{self.file}:{self.line}:{self.col}:{key} {self.message}"


class NegsimError(Exception):
    """Base class of every error negsim raises on purpose."""


class ScenarioError(NegsimError):
    """A scenario file (or a value given for one) is invalid.

    ``problems`` lists every finding of the file, in file order.
    """

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.col, p.path))
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(NegsimError, ValueError):
    """Bad arguments to a command or an API call (a ``ValueError`` too, so ``except ValueError`` catches it)."""


class StoreError(NegsimError):
    """A run directory cannot be used (corrupt, older format, incomplete)."""


class Interrupted(NegsimError):
    """A job stopped before it finished; its run directory can be resumed."""

    def __init__(self, run_dir: Any, signum: int = signal.SIGINT):
        self.run_dir = run_dir
        self.exit_code = 128 + signum
        cause = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
        hint = f"; resume it with: negsim resume {run_dir}" if run_dir is not None else ""
        super().__init__(f"{cause}{hint}")


class DiskFull(NegsimError):
    """No space left (or a file size limit reached) while writing a run directory."""


class WorkerDied(NegsimError):
    """A worker process of a batch died; the finished units are kept."""


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP turned into an exception (by the handler the CLI installs): stops a job like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def clean_text(text: str) -> str:
    """``text`` with control characters shown as escapes (safe for a terminal and a log line)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def show_value(value: object, limit: int = 60) -> str:
    """Render a value for an error message, shortened to ``limit`` characters."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
