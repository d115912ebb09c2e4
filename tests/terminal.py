"""Start negsim as a terminal starts a command, for the tests that interrupt it with Ctrl-C."""

from __future__ import annotations

import signal


def as_a_terminal_starts_it() -> None:
    """``preexec_fn`` for a child that Ctrl-C must reach: SIGINT at its default disposition.

    A job started in the background of a non-interactive shell inherits SIGINT ignored (POSIX), and the
    test suite's children would inherit it from pytest started that way: Ctrl-C would then do nothing,
    and the test would see a batch run to its end. A terminal's foreground job has the default disposition.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
