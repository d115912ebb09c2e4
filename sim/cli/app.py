"""The `negsim` command: a thin shell over the library.

Exit codes: 0 success, 2 bad input (one line per problem,
``FILE:LINE:COL: key.path: message``), 1 any other failure (a full disk, a
worker that died), 130 interrupted (Ctrl-C), 143 stopped by SIGTERM, 129 by
SIGHUP. Text from input files is printed literally: no rich markup, no emoji.
An unexpected error (a bug) is one line, or its full traceback with
``NEGSIM_DEBUG=1`` in the environment or ``--traceback``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence

from rich.console import Console

from sim.cli.output import console, silence_stdout
from sim.cli.parser import build_parser
from sim.errors import (
    Interrupted,
    NegsimError,
    ScenarioError,
    Stopped,
    StoreError,
    UsageError,
)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    err = console(stderr=True, soft_wrap=True)
    if getattr(args, "seeds", None):  # folders of evidence documents, before those of NEGSIM_SEEDS
        given = os.environ.get("NEGSIM_SEEDS")
        os.environ["NEGSIM_SEEDS"] = os.pathsep.join([*args.seeds, *([given] if given else [])])
    with _stop_signals():
        return _run(args, err)


DEBUG_ENV = "NEGSIM_DEBUG"  # set (and not 0) like --traceback: an unexpected error prints its traceback


def debugging(args: argparse.Namespace) -> bool:
    """Whether an unexpected error prints its full traceback: ``--traceback`` or ``NEGSIM_DEBUG`` set, not 0."""
    return bool(getattr(args, "traceback", False)) or os.environ.get(DEBUG_ENV, "0").strip() not in ("", "0")


def _run(args: argparse.Namespace, err: Console) -> int:
    try:
        code = args.func(args) or 0
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # `negsim evidence FILE | head`: the reader has all it wanted
        silence_stdout()
        return 0
    except Interrupted as exc:
        err.print(f"negsim: {exc}", markup=False)
        return exc.exit_code
    except ScenarioError as exc:
        for p in exc.problems:
            err.print(str(p), markup=False)
        return 2
    except (UsageError, StoreError) as exc:
        err.print(f"negsim: {exc}", markup=False)
        return 2
    except NegsimError as exc:
        err.print(f"negsim: {exc}", markup=False)
        return 1
    except KeyboardInterrupt as exc:
        err.print("negsim: interrupted", markup=False)
        return 128 + getattr(exc, "signum", signal.SIGINT)
    except Exception as exc:  # a bug: one line, or the traceback when asked for
        if debugging(args):
            sys.stderr.write("".join(traceback.format_exception(exc)))
        err.print(f"negsim: internal error: {type(exc).__name__}: {exc}", markup=False)
        if not debugging(args):
            err.print(f"negsim: {DEBUG_ENV}=1 or --traceback prints the traceback", markup=False)
        return 1


class _stop_signals:
    """SIGTERM and SIGHUP stop a command like Ctrl-C (in the main thread): a resumable directory, exit 128 + N.

    A second such signal ends the process at once (the run directory stays resumable).
    """

    SIGNALS = (signal.SIGTERM, signal.SIGHUP)

    def __enter__(self) -> None:
        self.previous = {}
        if threading.current_thread() is threading.main_thread():
            self.previous = {sig: signal.signal(sig, self._raise) for sig in self.SIGNALS}

    def _raise(self, signum: int, _frame: object) -> None:
        signal.signal(signum, signal.SIG_DFL)
        raise Stopped(signum)

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
