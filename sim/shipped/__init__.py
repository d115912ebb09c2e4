"""The scenarios and evidence documents shipped with negsim, found with :mod:`importlib.resources`.

pyproject.toml maps the repository's ``scenarios/`` and ``seeds/`` folders into
this package as ``sim.shipped.scenarios`` and ``sim.shipped.seeds``: a wheel (and
so a ``pip install --user``) holds them as ``sim/shipped/scenarios/`` and
``sim/shipped/seeds/``. In a source checkout (an editable install, or ``sim/`` on
the path) they are the top-level folders themselves: the checkout's root is part
of this package's path, so the same lookup finds them there.
"""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
if (_ROOT / "pyproject.toml").is_file() and (_ROOT / "scenarios").is_dir():  # a source checkout
    __path__.append(str(_ROOT))


def folder(name: str) -> Path | None:
    """The folder of the shipped ``name`` (``"scenarios"`` or ``"seeds"``), or None if this install has none."""
    from importlib.resources import files

    try:
        found = files(f"{__name__}.{name}")
    except ModuleNotFoundError:
        return None
    if isinstance(found, Path):
        return found
    # A folder without __init__.py is a namespace package: its files are real paths (wheels are unpacked).
    first = next(iter(found.iterdir()), None)
    return first.parent if isinstance(first, Path) else None
