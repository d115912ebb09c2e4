"""The end of a game set against the model: the player's result beside the model's own play of the same run, and
placed in the model's distribution counting what the wait cost (issue 20, part 4).

Two comparisons, for ``negsim play`` now and the classroom later:

- **the same run**: the model playing every role with the same seed and replicate (the same battlefield, the
  same private draws). Side by side: the outcome, the terms in words and km2, the month, each side's losses by
  the end of the run and each stakeholder's satisfaction with the deal (:func:`satisfaction`).
- **the model's distribution** of the scenario (``game.distribution``): among the model's settlements, the
  share the player's deal beats for a government in its terms only, and the share it beats once the losses of
  the months before the deal are counted (:func:`wait_weights`), with the months themselves.

The cost of the wait is the model's own cost of fighting (``rules.casualty_cost``, weighed by ``1 - resolve``
as ``rules.war_value`` weighs it), applied to the casualties a run actually recorded rather than expected over
the look-ahead. Ground lost while waiting is not counted again: a deal's terms are valued at the line of the
day it is agreed (a freeze after months of Russian advance is worth less to Kyiv), just as ``rules.war_cost``
leaves ground out because the expected line already counts it. Every run is weighed with the weights of the
player's own run (the same actor, judging each outcome the same way).

A game where the player made no move is the model's own play: its end says so instead of claiming credit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.engine import rules
from sim.play import game as games
from sim.play import terms
from sim.scenario.compile import Compiled


@dataclass(frozen=True)
class Result:
    """One run's end as the end screen shows it."""

    outcome: str                     # no_talks, talks_failed or agreement
    words: str                       # the outcome in words (games.outcome_words)
    month: int | None                # the settlement's month
    package: int | None
    terms: dict[str, str] | None     # issue -> option name
    terms_words: str | None          # the terms in words, the land term in km2
    land_km2: float                  # > 0 returned to Ukraine, < 0 ceded to Russia
    losses: dict[str, float]         # each government's casualties by the end of the run
    utility: dict[str, float | None]  # each government's utility of the deal's terms (None: no deal)
    with_wait: dict[str, float | None]  # the same less the felt cost of its losses (wait_weights)
    satisfaction: dict[str, float] = field(default_factory=dict)  # per stakeholder (no deal: empty)


@dataclass(frozen=True)
class Placement:
    """A government's result among the model's settlements of the scenario."""

    deals: int                 # the model's settlements
    better_terms: float        # share of them the player's deal beats in its terms only
    better_with_wait: float    # share it beats once the losses until the deal are counted
    earlier: float             # share of them that came before the player's deal (a later month is a longer war)
    median_month: float
    fewer_losses: float        # share of all the model's runs in which this side lost fewer than in the game


@dataclass
class Ending:
    """The end comparison of a game (see the module's docstring)."""

    scenario: str
    seed: int
    replicate: int
    roles: list[str]
    sides: list[str]             # the governments the player's roles speak for (a mediator: both)
    decisions: int | None        # decisions that fell to the player's roles (None: not counted)
    moves: int                   # moves the player made
    yours: Result
    model: Result
    runs: int
    shares: dict[str, float]     # the model's outcome shares
    horizon: int
    placement: dict[str, Placement] = field(default_factory=dict)
    median_month: float | None = None  # the model's settlements: their median month (None: no settlement)
    relapsed: float | None = None      # and the share of them that broke down before the horizon

    @property
    def played(self) -> bool:
        """The player made at least one move (else the game is the model's own play)."""
        return self.moves > 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"played": self.played}


def satisfaction(c: Compiled, talks: Any) -> dict[str, float]:
    """Each stakeholder's satisfaction with the package of a month of talks (its log entry): the package's
    utility against that actor's value of no deal, in utility units (> 0: better than no deal).

    A government: the terms' utility with the lead mediator's side-payment (what it weighed when it answered)
    less its value of fighting on that month. A public: how far the package clears its bar at a vote (its
    government's utility against the public's value of no deal, eased by its war-weariness:
    ``rules.ratify_margin``; a public that does not vote: the margin a vote would have had). Mediators value no
    terms in the model and have none."""
    worth = {g: float(talks["utilities"][i] + talks["leverage"][i]) for i, g in enumerate(c.governments)}
    out = {g: terms.satisfaction(g, "government", worth[g], talks["values"][i], "true").score
           for i, g in enumerate(c.governments)}
    for i, margin in talks["margins"].items():
        public = c.publics[int(i)]
        if public is not None:
            out[public] = terms.public_satisfaction(public, worth[c.governments[int(i)]], margin, "true").score
    return out


def wait_weights(c: Compiled, p: dict[str, Any]) -> np.ndarray:
    """(2,) the felt cost of one casualty to each government, in utility units, as its value of war weighs the
    costs of fighting: ``(1 - resolve) * rules.casualty_cost(1, cost_sensitivity, casualty_scale)``; ``p`` a
    run's parameters (``NegotiationModel.p``)."""
    resolve = np.asarray(p["resolve"], dtype=float)
    return (1.0 - resolve) * rules.casualty_cost(1.0, np.asarray(p["cost_sensitivity"], dtype=float),
                                                 float(p["casualty_scale"]))


def _month(v: Any) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


def result_of(g: games.Game, weights: np.ndarray) -> Result:
    """A finished game's end (the model's own play of a run is a game with no moves)."""
    c, row, model = g.compiled, g.row, g.model
    agreed = row["outcome"] == "agreement"
    x = int(model.deal) if agreed else None
    land = float(row["land_km2"])
    losses = {gov: float(row[f"casualties_{gov}"]) for gov in c.governments}
    utility = {gov: (float(row[f"utility_{gov}"]) if agreed else None) for gov in c.governments}
    with_wait = {gov: (None if u is None else u - float(weights[i]) * losses[gov])
                 for i, (gov, u) in enumerate(utility.items())}
    month = _month(row["agreement_month"])
    talks = next((e["talks"] for e in model.log if e["month"] == month and e.get("talks", {}).get("agreed")), None)
    return Result(outcome=str(row["outcome"]), words=games.outcome_words(row, c.horizon), month=month, package=x,
                  terms=c.term_names(x) if x is not None else None,
                  terms_words=terms.package_words(c, x, land, short=True) if x is not None else None, land_km2=land,
                  losses=losses, utility=utility, with_wait=with_wait,
                  satisfaction=satisfaction(c, talks) if talks is not None else {})


def place(c: Compiled, yours: Result, batch: pd.DataFrame, weights: np.ndarray, gov: str) -> Placement:
    """Government ``gov``'s result among the model's runs (``batch``); the terms shares need a deal of yours."""
    i = c.governments.index(gov)
    deals = batch[batch["outcome"] == "agreement"]
    u = deals[f"utility_{gov}"].to_numpy(dtype=float)
    cas = deals[f"casualties_{gov}"].to_numpy(dtype=float)
    months = deals["agreement_month"].to_numpy(dtype=float)
    mine, waited = yours.utility[gov], yours.with_wait[gov]
    n = len(deals)

    def share(mask: np.ndarray) -> float:
        return float(mask.mean()) if n else float("nan")

    nan = float("nan")
    return Placement(
        deals=n,
        better_terms=share(u < mine - 1e-12) if mine is not None else nan,
        better_with_wait=share(u - weights[i] * cas < waited - 1e-12) if waited is not None else nan,
        earlier=share(months < yours.month) if yours.month is not None else nan,
        median_month=float(np.median(months)) if n else nan,
        fewer_losses=float((batch[f"casualties_{gov}"].to_numpy(dtype=float) < yours.losses[gov]).mean()),
    )


def sides_of(c: Compiled, roles: list[str]) -> list[str]:
    """The governments the roles speak for (a government, a public's government); a mediator speaks for both."""
    out = [s for s in (games.role_side(c, r) for r in roles) if s is not None]
    return list(dict.fromkeys(out)) or list(c.governments)


def compare(g: games.Game, batch: pd.DataFrame, model_game: games.Game | None = None) -> Ending:
    """The end comparison of game ``g``: beside ``model_game`` (the model's own play of the same run; played here
    when not given) and placed in ``batch`` (the model's distribution of the scenario, ``game.distribution``)."""
    c = g.compiled
    if model_game is None:
        model_game = games.play(c, g.seed, g.replicate, g.roles, None)
    weights = wait_weights(c, g.model.p)
    yours, model = result_of(g, weights), result_of(model_game, weights)
    counts = batch["outcome"].value_counts(normalize=True)
    deals = batch[batch["outcome"] == "agreement"]
    sides = sides_of(c, g.roles)
    return Ending(scenario=c.scenario.name, seed=g.seed, replicate=g.replicate, roles=list(g.roles), sides=sides,
                  decisions=g.decisions, moves=len(g.moves), yours=yours, model=model, runs=int(len(batch)),
                  shares={o: float(counts.get(o, 0.0)) for o in ("no_talks", "talks_failed", "agreement")},
                  horizon=c.horizon, placement={gov: place(c, yours, batch, weights, gov) for gov in sides},
                  median_month=float(np.median(deals["agreement_month"])) if len(deals) else None,
                  relapsed=float(deals["relapse_month"].notna().mean()) if len(deals) else None)


# --------------------------------------------------------------------------- in words


SIDE_OF = ("Ukrainian", "Russian")


def rows(c: Compiled, e: Ending) -> list[tuple[str, str, str]]:
    """The side-by-side table: (what, your game, the model's play of the same run)."""
    def outcome(r: Result) -> str:
        return {"agreement": f"settlement, month {r.month}", "talks_failed": "talks failed",
                "no_talks": "no talks"}[r.outcome] + (" (broke down)" if "broke down" in r.words and r.month else "")

    def land(r: Result) -> str:
        return terms.short_km2(r.land_km2) if r.package is not None and c.land_issue >= 0 \
            else "-"

    def option(r: Result, k: int) -> str:
        if r.package is None:
            return "-"
        return terms.option_words(c, c.issues[k], c.options[k][int(c.package_options[r.package, k])], short=True)

    def satisfied(r: Result, who: str) -> str:
        return f"{r.satisfaction[who]:+.3f}" if who in r.satisfaction else "-"

    out = [("outcome", outcome(e.yours), outcome(e.model))]
    out += [(issue.replace("_", " "), option(e.yours, k), option(e.model, k))
            for k, issue in enumerate(c.issues) if k != c.land_issue]
    if c.land_issue >= 0:
        out.append(("land", land(e.yours), land(e.model)))
    out += [(f"{SIDE_OF[i]} losses by month {e.horizon}", f"{e.yours.losses[gov]:,.0f}", f"{e.model.losses[gov]:,.0f}")
            for i, gov in enumerate(c.governments)]
    out += [(f"{who}'s satisfaction", satisfied(e.yours, who), satisfied(e.model, who))
            for who in dict.fromkeys([*e.yours.satisfaction, *e.model.satisfaction])]
    return out


def lines(c: Compiled, e: Ending) -> list[str]:
    """The end comparison in plain words."""
    shares = e.shares
    timing = (f" (median month {e.median_month:g}; {e.relapsed:.0%} of them broke down before month {e.horizon})"
              if e.median_month is not None and e.relapsed is not None else "")
    out = [f"Over {e.runs:,} runs of the same scenario the model reached a settlement in {shares['agreement']:.0%}"
           f"{timing}, talks failed in {shares['talks_failed']:.0%}, talks never opened in {shares['no_talks']:.0%}."]
    same = f"the model's own play of this run (seed {e.seed}, replicate {e.replicate})"
    if not e.played:
        who = ", ".join(e.roles)
        if not e.decisions:
            out.append(f"You had no move in this run: no decision fell to {who}, so the result is {same}, and "
                       "there is nothing of yours to compare.")
        else:
            out.append(f"You left all {e.decisions} of your decisions to the model: the result is {same}.")
        return out
    out.append(f"Your game ended in {e.yours.words}; {same} ended in {e.model.words}.")
    for gov in e.sides:
        out += _side_lines(c, e, gov)
    return out


def _side_lines(c: Compiled, e: Ending, gov: str) -> list[str]:
    """For one government: your result against the model's same run, then among the model's settlements."""
    i = c.governments.index(gov)
    y, m, pl = e.yours, e.model, e.placement[gov]
    loss = f"{SIDE_OF[i]} losses"
    diff = y.losses[gov] - m.losses[gov]
    losses = (f"{abs(diff):,.0f} {'more' if diff > 0 else 'fewer'} {loss}" if round(diff) else f"the same {loss}")
    out = []
    if y.utility[gov] is not None and m.utility[gov] is not None:
        yu, mu, yw, mw = y.utility[gov], m.utility[gov], y.with_wait[gov], m.with_wait[gov]
        assert yu is not None and mu is not None and yw is not None and mw is not None
        terms_said = "better" if yu > mu + 1e-9 else "worse" if yu < mu - 1e-9 else "the same"
        months = (f"{abs(y.month - m.month)} month{'s' if abs(y.month - m.month) != 1 else ''} "
                  f"{'earlier' if y.month < m.month else 'later'}" if y.month != m.month else "in the same month") \
            if y.month is not None and m.month is not None else ""
        counted = "better" if yw > mw + 1e-9 else "worse" if yw < mw - 1e-9 else "the same"
        out.append(f"For {gov}, your deal is {terms_said} in its terms than the model's deal of this run "
                   f"({yu:.3f} against {mu:.3f}), came {months}, with {losses} by month {e.horizon}; counting "
                   f"those losses it is {counted} ({yw:.3f} against {mw:.3f}).")
    elif y.utility[gov] is None and m.utility[gov] is not None:
        out.append(f"For {gov}: your game ended without a settlement, where the model's play of this run settled "
                   f"in month {m.month}; your game cost {losses} by month {e.horizon}.")
    elif y.utility[gov] is not None:
        out.append(f"For {gov}: your game reached a settlement in month {y.month} where the model's play of this "
                   f"run reached none; it cost {losses} by month {e.horizon}.")
    else:
        out.append(f"For {gov}: neither game reached a settlement; yours cost {losses} by month {e.horizon}.")
    if y.utility[gov] is not None and pl.deals:
        out.append(f"Among the model's {pl.deals:,} settlements your deal is better for {gov} than "
                   f"{pl.better_terms:.0%} in its terms only, and than {pl.better_with_wait:.0%} counting the "
                   f"losses until the deal; {pl.earlier:.0%} of them came before month {y.month} "
                   f"(their median month: {pl.median_month:g}).")
    out.append(f"{pl.fewer_losses:.0%} of the model's {e.runs:,} runs cost fewer {loss} than your game "
               f"({y.losses[gov]:,.0f}).")
    return out


__all__ = ["Ending", "Placement", "Result", "compare", "lines", "rows", "satisfaction", "wait_weights"]
