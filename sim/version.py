"""negsim's version: pyproject.toml is its one source.

An installed negsim (a wheel, ``--user``, editable) reads it from the package's
metadata, which pip wrote from pyproject.toml; ``sim/`` run from a source
checkout without installing it reads the checkout's pyproject.toml. This
module imports no other part of negsim, so every wing (and ``negsim
--version``) can use it.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _installed
from pathlib import Path

UNKNOWN = "0+unknown"  # neither installed nor in a checkout with its pyproject.toml
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


@cache
def version() -> str:
    """The installed negsim's version (``importlib.metadata``), else the checkout's pyproject.toml's."""
    try:
        return _installed("negsim")
    except PackageNotFoundError:
        pass
    try:
        project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    except (OSError, ValueError, KeyError):
        return UNKNOWN
    return str(project["version"]) if project.get("name") == "negsim" and "version" in project else UNKNOWN
