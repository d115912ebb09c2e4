"""What every command prints with: consoles that print text as given, JSON on stdout, number formats."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from rich.console import Console


def console(stderr: bool = False, **options: Any) -> Console:
    """A console that prints text as given: no markup, no emoji, no highlighting."""
    return Console(stderr=stderr, highlight=False, markup=False, emoji=False, **options)


def silence_stdout() -> None:
    """Point stdout at /dev/null so that the flush at exit does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class _Stdout(Console):
    """The console of a command's output: a reader that closed the pipe ends the command quietly."""

    def on_broken_pipe(self) -> None:  # rich's own exits with status 1
        silence_stdout()
        raise BrokenPipeError


def stdout_console(args: argparse.Namespace) -> Console:
    """The console a command prints its output on (stdout)."""
    if sys.stdout.isatty():
        return _Stdout(highlight=False, markup=False, emoji=False)
    return _Stdout(highlight=False, markup=False, emoji=False, width=140)  # files and pipes: wide enough for every table


def emit_json(obj: Any) -> None:
    """Strict JSON on stdout: null, never NaN."""
    from sim.jsonsafe import dumps

    sys.stdout.write(dumps(obj) + "\n")


def pct(x: float) -> str:
    """A share as a percentage: ``0.123`` is `` 12.3%``."""
    return f"{100 * x:5.1f}%"


def num(x: float | None, sign: str = "") -> str:
    """A number with two decimals (``sign="+"``: always signed); ``-`` for None or NaN."""
    return "-" if x is None or x != x else f"{x:{sign}.2f}"


def isna(v: Any) -> bool:
    """Whether pandas calls ``v`` missing (None, NaN, NaT); False for what it cannot judge."""
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
