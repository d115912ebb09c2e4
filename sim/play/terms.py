"""Terms in plain words, and each stakeholder's satisfaction with a package: one place for every screen.

The classroom's pages, the dashboard's draft builder and ``negsim play`` word a package with
:func:`package_words` (each issue's label from the scenario, its option in words, and for the land term the
km2 it moves at the line of the day, worded as ``negsim explain`` words it: :func:`sim.present.explain.km2_words`).
The word functions themselves (:func:`words`, :func:`issue_words`, :func:`option_words` ...) live in
:mod:`sim.present.terms_table`, with the terms table of ``negsim run``, ``compare``, ``report`` and ``explain``.

Satisfaction (after the CSIS Futures Lab's peace-agreement simulator, 2025, which shows each stakeholder's
satisfaction with a deal): a package's worth to an actor less that actor's value of no deal, both in the
model's utility units, so every actor's bar is on one scale (0: no better than no deal; above 0 the actor
prefers the deal). A government's worth is the terms' utility plus what any deal brings it beside its terms
(the lead mediator's side-payment, a guarantee); its value of no deal is what it asks of a deal at those talks
(its value of fighting on as it judges it there). A public's worth is its government's, and its value of no
deal its bar at the vote, so its satisfaction is the margin by which the deal clears that bar. Who reckons
it is said in ``basis``: ``own`` (the actor's own numbers), ``reckoned`` (as the person deciding reckons the
others: a proposer knows the other side's value of war only through its belief) or ``true`` (the model's
numbers, once the game is over or in the teacher's draft builder).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sim.engine import rules
from sim.present.explain import km2_words
from sim.present.terms_table import PROPER as PROPER  # the word functions live with the terms table
from sim.present.terms_table import issue_words as issue_words
from sim.present.terms_table import land_share_words as land_share_words
from sim.present.terms_table import option_words as option_words
from sim.present.terms_table import short_km2 as short_km2
from sim.present.terms_table import words as words
from sim.scenario.compile import Compiled

SCALE = 1.0  # a satisfaction bar spans -SCALE .. +SCALE (the number beside it is never clipped)


# --------------------------------------------------------------------------- terms in words


def land_km2(c: Compiled, params: Mapping[str, Any], package: int, territory: float) -> float | None:
    """Km2 the package's land term moves at ``territory`` (the line of the day): > 0 back to Ukraine, < 0 to
    Russia, as results store it (``negsim explain`` computes the same); None without a land issue."""
    if c.land_issue < 0:
        return None
    moved = rules.land_moved(c.land_share_of(package), territory, _first(params["pre2022"]), _first(params["claimed"]))
    return float(np.asarray(moved).reshape(-1)[0]) + 0.0  # + 0.0: no -0.0


def _first(v: Any) -> float:
    return float(np.asarray(v).reshape(-1)[0])


def term_list(c: Compiled, package: int, km2: float | None = None, short: bool = False) -> list[dict[str, Any]]:
    """Each term of a package: the issue and option (identifiers), their words (``short``: a list's line),
    and the land term's km2."""
    out = []
    for k, (issue, option) in enumerate(c.term_names(package).items()):
        land = k == c.land_issue
        said = option_words(c, issue, option, short)
        if land and km2 is not None:
            said += f" ({short_km2(km2) if short else km2_words(km2)})"
        out.append({"issue": issue, "option": option, "issue_words": issue_words(c, issue, short), "words": said,
                    "km2": km2 if land else None})
    return out


def term_cells(c: Compiled, package: int, km2: float | None = None) -> list[str]:
    """Each issue's option of a package in a few words, in issue order (a table's row): the land term as the
    km2 it moves when ``km2`` is given (``6,890 km2 back to Ukraine``), else by its share."""
    return [short_km2(t["km2"]) if t["km2"] is not None else option_words(c, t["issue"], t["option"], short=True)
            for t in term_list(c, package, km2, short=True)]


def package_words(c: Compiled, package: int, km2: float | None = None, short: bool = False) -> str:
    """A package in plain words: ``Legal status of Crimea: returned to Ukraine; ...`` (``short``: the issues'
    short names and the land term's share, for a list's line)."""
    return "; ".join(f"{t['issue_words']}: {t['words']}" for t in term_list(c, package, km2, short))


def package_info(c: Compiled, package: int, params: Mapping[str, Any] | None, territory: float | None) -> dict[str, Any]:
    """A package as the screens show it: number, terms (identifiers), the terms in words, the land term's km2."""
    km2 = land_km2(c, params, package, territory) if params is not None and territory is not None else None
    return {"number": int(package), "terms": c.term_names(package), "words": package_words(c, package, km2, short=True),
            "term_words": term_list(c, package, km2), "km2": km2}


# --------------------------------------------------------------------------- satisfaction


@dataclass(frozen=True)
class Satisfaction:
    """One actor's satisfaction with a package: ``score`` = ``worth`` - ``no_deal`` (see the module's docstring)."""

    actor: str
    kind: str       # government or public
    worth: float    # the package's worth to it (terms, side-payment, guarantee)
    no_deal: float  # its value of no deal (a government's demand at the talks; a public's bar)
    basis: str      # own, reckoned or true
    score: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def satisfaction(actor: str, kind: str, worth: float, no_deal: float, basis: str) -> Satisfaction:
    """The one computation of a stakeholder's satisfaction: the package's worth less its value of no deal."""
    return Satisfaction(actor, kind, float(worth), float(no_deal), basis, float(worth) - float(no_deal))


def public_satisfaction(actor: str, worth: float, margin: float, basis: str) -> Satisfaction:
    """A public's: its government's worth against its bar at the vote (worth - margin), i.e. the margin."""
    return satisfaction(actor, "public", worth, float(worth) - float(margin), basis)


def from_view(c: Compiled, role: str, view: Mapping[str, Any], x: int) -> list[Satisfaction]:
    """Each stakeholder's satisfaction with package ``x`` as the role deciding sees it (a decision's view:
    a government its own numbers and the other side as it reckons it; the lead mediator both sides and the
    voting publics as it hears them)."""
    out: list[Satisfaction] = []
    if "sides" in view:  # the lead mediator
        for gov, side in view["sides"].items():
            out.append(satisfaction(gov, "government", side["utilities"][x], side["demand"], "reckoned"))
        for pub, margins in view.get("publics", {}).items():
            gov = c.governments[c.publics.index(pub)]
            out.append(public_satisfaction(pub, view["sides"][gov]["utilities"][x], margins[x], "reckoned"))
        return out
    if role in c.governments and "utilities" in view:
        worth = view["utilities"][x]
        out.append(satisfaction(role, "government", worth, view["demand"], "own"))
        other = view.get("other")
        if other is not None:
            h = c.governments[1 - c.governments.index(role)]
            out.append(satisfaction(h, "government", other["utilities"][x], other["demand"], "reckoned"))
        if "public_margins" in view:
            pub = c.publics[c.governments.index(role)]
            if pub is not None:
                out.append(public_satisfaction(pub, worth, view["public_margins"][x], "own"))
    elif role in c.publics and "margin" in view:
        out.append(public_satisfaction(role, view["utility"], view["margin"], "own"))
    return out


def at_talks(c: Compiled, talk: Mapping[str, Any]) -> list[Satisfaction]:
    """Each stakeholder's satisfaction with the package of a month of talks (the log's entry), by the model's
    own numbers: each government's worth (terms and side-payment) against what it asked, each voting public's
    margin."""
    worth = [talk["utilities"][g] + talk["side_payments"][g] for g in (0, 1)]
    out = [satisfaction(gov, "government", worth[g], talk["needs"][g], "true") for g, gov in enumerate(c.governments)]
    for g, (_p, _ok, voted) in talk["votes"].items():
        pub = c.publics[int(g)]
        if voted and pub is not None:
            out.append(public_satisfaction(pub, worth[int(g)], talk["margins"][g], "true"))
    return out


def deal_satisfaction(c: Compiled, log: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
    """Each stakeholder's satisfaction with the agreed settlement, at its month (None if none was agreed)."""
    for e in log:
        talk = e.get("talks")
        if talk and talk.get("agreed"):
            return [s.as_dict() for s in at_talks(c, talk)]
    return None
