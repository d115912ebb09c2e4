"""A package's terms in plain words, with the km2 its land term moves at the line of the day.

``negsim play`` and its end screen (:mod:`sim.play.ending`) word terms here: issue and option names without
underscores, and the land term as the land that changes hands and to whom (``10,151 km2 to Ukraine``) rather
than its share. One function words an option (:func:`option_words`); the rest build on it. Until the game layer has a
shared labelling function for every screen (issue 20, part 5), this is the terminal's.
"""

from __future__ import annotations

from typing import Any

from sim.engine import rules
from sim.scenario.compile import Compiled


def land_km2(c: Compiled, x: int, territory: float, p: dict[str, Any] | None = None) -> float:
    """Km2 package ``x``'s land term moves at a line where Russia holds ``territory`` km2 (> 0 back to Ukraine,
    < 0 ceded to Russia, as results store it); ``p`` the run's parameters (default: the scenario's own)."""
    if c.land_issue < 0:
        return 0.0
    p = c.base if p is None else p
    return float(rules.land_moved(c.land_share[x], territory, p["pre2022"], p["claimed"]))


def issue_words(c: Compiled, k: int) -> str:
    """An issue's name in words: ``crimea status`` (the land issue: ``land at today's line``)."""
    return "land at today's line" if k == c.land_issue else c.issues[k].replace("_", " ")


def option_words(c: Compiled, k: int, option: int, km2: float | None = None) -> str:
    """Option ``option`` of issue ``k`` in plain words; the land issue's with the km2 it moves (``km2``: as
    :func:`land_km2` gives it), e.g. ``9,012 km2 to Russia`` or ``line frozen``."""
    if k == c.land_issue and km2 is not None:
        if round(km2) == 0:
            return "line frozen"
        return f"{abs(km2):,.0f} km2 to {'Ukraine' if km2 > 0 else 'Russia'}"
    return c.options[k][option].replace("_", " ")


def term_cells(c: Compiled, x: int, km2: float | None) -> list[str]:
    """Each issue's option of package ``x`` in words, in issue order (a table row)."""
    return [option_words(c, k, int(o), km2) for k, o in enumerate(c.package_options[x])]


def package_words(c: Compiled, x: int, km2: float | None) -> str:
    """Package ``x`` in a line: ``crimea status: status deferred; land: line frozen; ...``."""
    cells = term_cells(c, x, km2)
    names = ["land" if k == c.land_issue else c.issues[k].replace("_", " ") for k in range(len(c.issues))]
    return "; ".join(f"{n}: {v}" for n, v in zip(names, cells, strict=True))


__all__ = ["issue_words", "land_km2", "option_words", "package_words", "term_cells"]
