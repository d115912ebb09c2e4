"""negsim's version: pyproject.toml is its one source, read here from the installed package's metadata.

This module imports no other part of negsim, so every wing (and ``negsim --version``) can use it.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _installed

UNKNOWN = "0+unknown"  # sim/ on the path without negsim installed: no metadata to read


@cache
def version() -> str:
    """The installed negsim's version (``importlib.metadata``), or ``0+unknown`` when it is not installed."""
    try:
        return _installed("negsim")
    except PackageNotFoundError:
        return UNKNOWN
