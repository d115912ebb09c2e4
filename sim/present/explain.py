"""One run, month by month, in plain words for students (the Mesa model: the kernel, one run, stepped).

:func:`explain` runs one replicate on the Mesa model (the kernel at R = 1) and tells it.
:func:`narrate` tells any stepped :class:`~sim.engine.model.NegotiationModel` from
its monthly log alone (``model.log``), so a run stepped by someone else (a
person playing a role) is told the same way; a month's ``talks`` entry may
carry ``"played"`` (which decisions a person made), and the narrative says so.

What it prints: a short glossary of the few terms kept, then each month (the
front and who gained it, casualties this month and in all, what fighting on
is worth to each government, war-weariness, why talks do or do not open,
each offer with its terms in words, each answer and vote, timed events with
the old and new value of what they change), the outcome, and a closing
"why" computed from the log. ``brief`` folds runs of months where nothing new
happens into one line. :func:`monthly_table` is the labelled monthly table
(``--csv``) and :func:`draw_run` the figure of one run (``--figure``).
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.engine import rules
from sim.engine.model import NegotiationModel, run_one
from sim.engine.records import Proposer, stack_runs, to_frame
from sim.engine.shocks import MAX_REPLICATE, draw
from sim.scenario.compile import Compiled, compile_scenario
from sim.scenario.models import Government, RedLine, Scenario
from sim.scenario.schema_text import TEXT

SIDES = ("Ukraine", "Russia")
OUTCOMES = ("agreement", "talks_failed", "no_talks")
SEARCH_LIMIT = 5000  # replicates --outcome looks through
SEARCH_BLOCK = 500
WIDTH = 110  # the narrative's lines are wrapped here


@dataclass
class Explanation:
    """The narrative of one replicate and its results row (identical to a batch's row)."""

    lines: list[str]
    row: pd.Series
    model: NegotiationModel
    why: list[str] = field(default_factory=list)

    def series(self) -> pd.DataFrame:
        """Monthly series collected by Mesa's DataCollector."""
        return self.model.datacollector.get_model_vars_dataframe()


def explain(scenario: Scenario, seed: int, replicate: int, brief: bool = False,
            words: bool | None = None) -> Explanation:
    c = compile_scenario(scenario)
    shocks = draw(c, seed, [replicate])
    model = run_one(c, shocks.run(0))
    row = result_row(c, model)
    return Explanation(narrate(c, model, row, brief=brief, words=words), row, model, why(c, model, row))


def result_row(c: Compiled, model: NegotiationModel) -> pd.Series:
    """The results row of a stepped model (identical to a batch's row once the run has ended)."""
    sh = model.shocks
    params = {k: np.asarray(v)[None] for k, v in sh.params.items()}
    return to_frame(c, stack_runs([model.record()]), np.atleast_1d(sh.replicates), params).iloc[0]


def find_replicate(scenario: Scenario, seed: int, outcome: str, start: int = 0,
                   limit: int | None = None) -> tuple[int | None, int]:
    """The first replicate from ``start`` upward whose outcome is ``outcome`` (vector engine), and how many were searched."""
    from sim.runs.batch import simulate_block

    c = compile_scenario(scenario)
    limit = min(SEARCH_LIMIT if limit is None else limit, MAX_REPLICATE - start)
    searched = 0
    while searched < limit:
        n = min(SEARCH_BLOCK, limit - searched)
        rows = simulate_block(c, seed, start + searched, start + searched + n)
        hit = np.flatnonzero((rows["outcome"] == outcome).to_numpy())
        if hit.size:
            return int(rows["replicate"].iloc[hit[0]]), searched + int(hit[0]) + 1
        searched += n
    return None, searched


# --------------------------------------------------------------------------- words


def month_label(start: str, t: int) -> str:
    year, month = (int(x) for x in start.split("-"))
    m = month - 1 + t
    return f"{year + m // 12}-{m % 12 + 1:02d}"


def actor_name(c: Compiled, name: str | None) -> str:
    """A government by its capital (Kyiv, Moscow); a public or mediator by its label."""
    if name is None:
        return "no one"
    actor = c.scenario.model.actors.get(name)
    if actor is not None and actor.role != "government" and actor.label:
        return actor.label
    return " ".join(w.upper() if len(w) <= 2 else w.capitalize() for w in name.split("_"))


def terms_in_words(c: Compiled, package: int) -> str:
    issues = c.scenario.model.issues
    return "; ".join(f"{issues[k].label or k.replace('_', ' ')}: {v.replace('_', ' ')}"
                     for k, v in c.term_names(package).items())


def km2_words(km2: float) -> str:
    """Land that changes hands, in words: km2 > 0 goes back to Ukraine, < 0 to Russia (as results store it)."""
    if not km2:
        return "no land changes hands"
    return f"Russia hands back {km2:,.0f} km2 to Ukraine" if km2 > 0 else f"Ukraine cedes {-km2:,.0f} km2 to Russia"


def land_words(c: Compiled, model: NegotiationModel, package: int, territory: float) -> str:
    """The km2 a package's land term moves at the line of the day, in words ('' without a land issue)."""
    if c.land_issue < 0:
        return ""
    return km2_words(float(rules.land_moved(c.land_share[package], territory, model.p["pre2022"], model.p["claimed"])))


def gained(change: float) -> str:
    if change == 0:
        return "the front does not move"
    return f"{SIDES[1] if change > 0 else SIDES[0]} gains {abs(change):,.0f} km2"


def chance(p: float) -> str:
    return f"{p:.0%}" if 0.005 <= p <= 0.995 or p in (0.0, 1.0) else ("under 1%" if p < 0.5 else "over 99%")


# Where a key path's words live in docs/scenarios.md's key tables (sim.scenario.schema_text).
_ROLE_MODEL = {"government": "Government", "public": "Public", "mediator": "Mediator"}
_TOP_MODEL = {"battlefield": "Battlefield", "negotiation": "Negotiation", "issues": "Issue"}
_SUB_MODEL = {"belief": "Belief", "casualties": "Casualties", "ratification": "Ratification",
              "red_lines": "RedLine", "preconditions": "Precondition", "no_deal": "NoDeal",
              "monthly_change_km2": "Normal", "kursk_recapture_km2": "Normal"}


def describe_path(c: Compiled, path: str) -> str:
    """What the parameter at a key path means, from the scenario key reference ('' if it has no entry)."""
    segs = [re.sub(r"\[\d+\]$", "", s) for s in path.split(".")]
    model, found = "ScenarioModel", ""
    if segs[0] == "actors" and len(segs) > 2 and segs[1] in c.scenario.model.actors:
        model, segs = _ROLE_MODEL.get(c.scenario.model.actors[segs[1]].role, "ScenarioModel"), segs[2:]
    elif segs[0] in _TOP_MODEL:
        model, segs = _TOP_MODEL[segs[0]], segs[1:]
    for s in segs:
        row = TEXT.get(model, {}).get(s)
        if row:
            found = f"{found}: {row['meaning']}" if found and model == "Normal" else row["meaning"]
        model = _SUB_MODEL.get(s, model)
    return found


def plain_path(c: Compiled, path: str) -> str:
    """A key path in words: 'actors.us.leverage.kyiv' -> 'United States, leverage for Kyiv'."""
    names = c.scenario.model.actors
    segs = path.split(".")
    if segs[0] == "actors" and len(segs) > 2:
        words = [f"for {actor_name(c, s)}" if s in names else s.replace("_", " ") for s in segs[2:]]
        return f"{actor_name(c, segs[1])}, {' '.join(words)}"
    return " ".join(s.replace("_", " ") for s in segs)


def _fmt(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "on" if v else "off"
    return f"{float(v):g}"


def event_changes(c: Compiled, model: NegotiationModel) -> dict[int, list[str]]:
    """Per month, each timed change in words: what it is, its old and new value, what the parameter means."""
    p = {k: np.array(v, copy=True) for k, v in model.shocks.params.items()}
    out: dict[int, list[str]] = {}
    for when, changes in c.events:
        notes = [ev.note for ev in c.scenario.model.events if ev.month == when and ev.note]
        for slot, value in changes:
            path = c.path_of(slot)
            old = p[slot.name][slot.index]
            every_run: tuple[Any, ...] = (Ellipsis, *slot.index)
            p[slot.name][every_run] = value
            switch = slot.kind == "switch"
            before, after = (_fmt(bool(old)), _fmt(bool(value))) if switch else (_fmt(old), _fmt(value))
            meaning = describe_path(c, path)
            out.setdefault(when, []).append(f"{plain_path(c, path)}: {before} -> {after}"
                                            + (f"; that is the {meaning}" if meaning else "") + f" [key {path}]")
        out.setdefault(when, []).extend(f"note: {n}" for n in notes)
    return out


def how_it_works(c: Compiled, model: NegotiationModel) -> list[str]:
    """The model's mechanisms in a paragraph: the month, the costs, offers and counter-offers, ratification."""
    med = ("the lead mediator offers first, with its reading of the war (each government believes it as far as it "
           "trusts the mediator, and remembers it), then the two governments in turn make counter-offers"
           if np.asarray(model.p["med_active"]).any() else "the governments take turns to make offers")
    voters = [actor_name(c, p) for g, p in enumerate(c.publics)
              if p is not None and float(np.asarray(model.p["ratifies"])[g]) > 0]
    vote = (f"the {' and the '.join(voters)} then ratif{'ies' if len(voters) == 1 else 'y'} it in a vote" if voters
            else "both sign it (no public votes on it)")
    return [
        "How a month works: the front moves and both sides take casualties; each government learns how fast "
        "the front is moving and counts its costs (lives and ground lost), which weigh on its value of "
        "fighting on and, through war-weariness, on its public. Talks open only in a hurting stalemate with a "
        f"way out. In talks {med}. A government accepts an offer worth at least what it wants (its value of "
        "fighting on, or of holding out for a better offer), give or take its own lean; a deal both "
        f"accept holds only if {vote}. Each month without a deal, talks break down with chance "
        f"{chance(float(model.p['breakdown']))}.",
    ]


def glossary(c: Compiled, lookahead: float) -> list[str]:
    """The few terms the narrative keeps, each in a line."""
    terms = [
        ("worth of a deal", "how close a deal's terms come to what a government wants, weighted by how much each "
                            "issue matters to it: 0 (nothing it wants) to 1 (all of it)."),
        ("value of fighting on", f"what a government expects from fighting on for the next {lookahead:.0f} months "
                                 "(the land and terms it expects to hold, less the cost it expects in lives and "
                                 "ground), on the same 0-to-1 scale. A government accepts a deal worth more."),
        ("side-payment", "what the lead mediator adds to a deal's worth for a government (aid, guarantees, "
                         "sanctions relief)."),
        ("red line", "terms a government refuses outright: it rejects any deal that crosses one."),
        ("hurting stalemate", "neither government expects a net gain from fighting on; only then can talks open, "
                              "and the more the war hurts them, the likelier."),
        ("way out / zone of agreement", "the deals both governments value above fighting on, within their red "
                                        "lines. When there are none, a mediator offers the deal most likely to be "
                                        "accepted anyway."),
        ("own lean", "each government's reading of offers in this run (drawn once): it adds to or takes from "
                     "what an offer seems worth to it."),
        ("war-weariness", "the share of a public tired of the war; it grows with its side's losses."),
        ("ratification", "a public's vote on a deal its government accepted; the deal stands only if every "
                         "voting public ratifies it. War-weariness lowers the bar."),
    ]
    return ["Words used here:"] + [f"  {t}: {d}" for t, d in terms]


# --------------------------------------------------------------------------- the narrative


def narrate(c: Compiled, model: NegotiationModel, row: pd.Series | None = None, brief: bool = False,
            words: bool | None = None) -> list[str]:
    """The run in plain words: a paragraph a month, or with ``brief`` a line or two a run of months where nothing
    new happens. ``words``: print the glossary (default: unless ``brief``)."""
    if row is None:
        row = result_row(c, model)
    start = c.scenario.model.start
    govs = [actor_name(c, g) for g in c.governments]
    active = [m for i, m in enumerate(c.mediators) if np.asarray(model.p["med_active"])[i] > 0]
    lines = [f"Scenario {c.scenario.name}, replicate {int(row['replicate'])}: starts {start}. Russia holds "
             f"{model.p['territory0']:,.0f} km2 of Ukraine; Ukraine holds {model.p['kursk0']:,.0f} km2 of "
             f"Russia's Kursk region. {govs[0]} governs Ukraine and {govs[1]} Russia"
             + (f"; mediators: {', '.join(actor_name(c, m) for m in active)}." if active else
                "; no mediator.")]
    if not brief:
        lines += how_it_works(c, model)
    if (not brief) if words is None else words:
        lines += glossary(c, float(model.p["lookahead"]))
    events = event_changes(c, model)
    if events.get(0):
        lines.append("Before month 1, timed events: " + "; ".join(events[0]) + ".")
    lines.append("")
    months = _months(c, model)
    if brief:
        lines += _brief(c, model, months, events)
    else:
        for m in months:
            lines += _month(c, model, m, events.get(m["month"], []))
            lines.append("")
    if model.running and row["outcome"] != "agreement":  # a run still being stepped (a game in play)
        lines.append(f"So far: month {len(model.log)} of {c.horizon}, no deal yet"
                     + (f"; talks first opened in month {int(row['talks_month'])}." if pd.notna(row["talks_month"]) else "."))
    else:
        lines.append(_outcome(c, row))
    lines += why(c, model, row)
    return wrap(lines)


def wrap(lines: list[str], width: int = WIDTH) -> list[str]:
    """Each line wrapped at ``width``, its continuation indented two more than its start."""
    out = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip(" ")) + 2)
        out += textwrap.wrap(line, width, subsequent_indent=indent, break_on_hyphens=False) or [""]
    return out


def _months(c: Compiled, model: NegotiationModel) -> list[dict[str, Any]]:
    """The log with this month's casualties added (the log holds running totals)."""
    out, before = [], [0.0, 0.0]
    for e in model.log:
        total = [float(x) for x in e["casualties"]]
        out.append(e | {"cas_month": [total[i] - before[i] for i in (0, 1)]})
        before = total
    return out


def _month(c: Compiled, model: NegotiationModel, e: dict[str, Any], events: list[str]) -> list[str]:
    t, govs = e["month"], [actor_name(c, g) for g in c.governments]
    out = [f"Month {t} ({month_label(c.scenario.model.start, t)})"]
    out += [f"  Timed event: {ev}." for ev in events]
    out.append(f"  Front: {gained(e['change'])} (Russia now holds {e['territory']:,.0f} km2 of Ukraine)"
               + (f"; Russia retakes {e['retaken']:,.0f} km2 of Kursk ("
                  + (f"{e['kursk']:,.0f} km2 still held by Ukraine)" if e["kursk"] > 0 else "none of it is left to Ukraine)")
                  if e["retaken"] > 0 or e["kursk"] > 0 else "") + ".")
    out.append("  Casualties this month: " + ", ".join(
        f"{SIDES[i]} {e['cas_month'][i]:,.0f} ({e['casualties'][i]:,.0f} since the start)" for i in (0, 1)) + ".")
    out.append("  Each side now expects the front to move " + ", ".join(
        f"{_drift(d)} ({govs[i]}'s view)" for i, d in enumerate(e["drift"])) + " a month.")
    out.append("  Value of fighting on: " + ", ".join(
        f"{govs[i]} {v:.3f} (after expected costs of {k:.3f})" for i, (v, k) in enumerate(zip(e["values"], e["costs"],
                                                                                           strict=True))) + ".")
    if e["weariness"]:
        out.append("  War-weariness: " + ", ".join(f"{actor_name(c, c.publics[int(g)])} {w:.0%}"
                                                  for g, w in e["weariness"].items()) + ".")
    out += [f"  {s}" for s in _opening(c, e)]
    if e.get("talks") is not None:
        out += _talks(c, model, e)
    return out


def _small(x: float) -> str:
    return f"{x:.3f}" if x >= 0.0005 else "less than 0.001"


def _drift(d: float) -> str:
    return f"{abs(d):,.0f} km2 toward {'Russia' if d >= 0 else 'Ukraine'}"


def _opening(c: Compiled, e: dict[str, Any]) -> list[str]:
    """Why talks do or do not open this month (nothing when talks were already open)."""
    govs = [actor_name(c, g) for g in c.governments]
    if "preconditions" not in e:
        return []
    failed = [f"{govs[c.governments.index(gov)]}'s condition {name.replace('_', ' ')}"
              for gov, name, ok in e["preconditions"] if not ok]
    if failed:
        return [f"No talks: {' and '.join(failed)} is not met yet."]
    if "ripeness" not in e:
        return []
    if not e["stalemate"]:
        who = [f"{govs[i]} (by {_small(g)})" for i, g in enumerate(e["gains"]) if g > 0]
        return [f"No talks: {' and '.join(who)} still expects a net gain from fighting on, so there is no hurting "
                "stalemate."]
    if not e["way_out"]:
        return ["No talks: a stalemate, but no way out: no deal within the red lines is worth more to both "
                "governments than fighting on."]
    if e.get("opened"):
        return [f"Talks open: a hurting stalemate with a way out (this month they would open with chance "
                f"{chance(e['ripeness'])}, and they do)."]
    return [f"No talks yet: a hurting stalemate with a way out, but the war does not hurt enough yet (talks "
            f"would open this month with chance {chance(e['ripeness'])}, and they do not)."]


def _played(talk: dict[str, Any], what: str, g: int | None = None) -> bool:
    played = talk.get("played") or {}
    if what == "proposal":
        return bool(played.get("proposal"))
    if what == "answers":
        answers = played.get("answers") or []
        return g is not None and g < len(answers) and bool(answers[g])
    votes = played.get("votes") or {}
    return bool(votes.get(g, votes.get(str(g), False)))


def _proposer(c: Compiled, talk: dict[str, Any]) -> str:
    who = talk["proposer"]
    name = f"the mediator {actor_name(c, talk['lead'])}" if who == Proposer.MEDIATOR else actor_name(c, c.governments[who])
    return name + (" (a player)" if _played(talk, "proposal") else "")


def _talks(c: Compiled, model: NegotiationModel, e: dict[str, Any]) -> list[str]:
    talk, govs = e["talks"], [actor_name(c, g) for g in c.governments]
    who, x = talk["proposer"], talk["package"]
    kind = "offers" if who == Proposer.MEDIATOR or talk["round_month"] == 0 else "makes a counter-offer"
    by = _proposer(c, talk)
    land = land_words(c, model, x, e["territory"])
    out = [f"  {by[0].upper() + by[1:]} {kind}: {terms_in_words(c, x)}" + (f" ({land})" if land else "") + "."]
    for g, (was, now) in enumerate(talk.get("heard") or []):
        if abs(now - was) >= 1.0:
            out.append(f"    {govs[g]} hears the mediator's reading of the war and believes it in part: it now expects "
                       f"the front to move {_drift(now)} a month (it expected {_drift(was)}), and keeps that view.")
    if who == Proposer.MEDIATOR and talk.get("zone") is False:
        out.append("    No deal is worth more than fighting on to both governments (no zone of agreement), so the "
                   "mediator offers the one most likely to be accepted and ratified anyway.")
    for g, (prob, ok) in enumerate(talk["answers"]):
        worth, lev, need, lean = (talk["utilities"][g] + talk["leverage"][g], talk["leverage"][g], talk["needs"][g],
                                  talk["judgement"][g])
        side_pay = f", {lev:.3f} of it the mediator's side-payment" if lev > 0 else ""
        bar = ("what fighting on is worth to it once it has heard the mediator" if who == Proposer.MEDIATOR else
               "what holding out for a better offer is worth to it")
        crossed = _red_lines_crossed(c, model, x, g)
        played = _played(talk, "answers", g)
        name = govs[g] + (" (a player)" if played else "")
        if crossed and not ok:
            out.append(f"    {name} rejects: the offer crosses its red line ({crossed}).")
            continue
        reckoning = (f"the offer is worth {worth:.3f} to it{side_pay}; it wants at least {need:.3f}, {bar}; "
                     f"its own lean this run adds {lean:+.3f}")
        out.append(f"    {name} {'accepts' if ok else 'rejects'}"
                   + (f". The model's reckoning for {govs[g]}: {reckoning}." if played else f": {reckoning}.")
                   + f" The proposer reckoned it would accept with chance {chance(prob)}.")
    for g, (prob, ok, voted) in talk["votes"].items():
        pub = actor_name(c, c.publics[int(g)]) + (" (a player)" if _played(talk, "votes", int(g)) else "")
        if not voted:
            continue
        if not all(a for _, a in talk["answers"]):
            continue  # a public votes only on a deal both governments accepted
        out.append(f"    {pub} {'ratifies' if ok else 'votes the deal down'} (before the vote it would ratify "
                   f"with chance {chance(prob)}).")
    if talk["agreed"]:
        out.append("  Agreement: the deal is signed.")
    elif talk.get("breakdown"):
        out.append("  No deal, and the talks break down; they can open again only when the conditions are met again.")
    else:
        out.append("  No deal; talks go on next month.")
    return out


def _red_lines_crossed(c: Compiled, model: NegotiationModel, x: int, g: int) -> str:
    """The active red lines of government g that package x crosses, in words."""
    owners = _red_line_owners(c)
    active = np.asarray(model.p["rl_active"]).reshape(-1)
    hits = [f"{r.issue.replace('_', ' ')} not {' or '.join(o.replace('_', ' ') for o in r.forbid)}"
            for li, (gov, r) in enumerate(owners)
            if c.governments.index(gov) == g and active[li] > 0 and c.red_line_masks[li, x]]
    return "; ".join(hits)


# --------------------------------------------------------------------------- brief


def _kind(e: dict[str, Any]) -> tuple:
    """What kind of month it is: months of one kind in a row, with no event, are folded by ``brief``.

    A quiet month's kind is why talks stay closed; a talks month's kind is whether anyone played it, so a
    round of talks is one block until it breaks down (or an event or the deal comes).
    """
    talk = e.get("talks")
    if talk is None:
        return ("quiet", *_opening_key(e))
    return ("talks", bool(talk.get("played")))


def _opening_key(e: dict[str, Any]) -> list:
    if "preconditions" not in e:
        return []
    failed = [name for _, name, ok in e["preconditions"] if not ok]
    if failed:
        return ["pre", *failed]
    if "ripeness" not in e:
        return []
    if not e["stalemate"]:
        return ["gain", *(g > 0 for g in e["gains"])]
    return ["wayout"] if not e["way_out"] else ["draw", bool(e.get("opened"))]


def _brief(c: Compiled, model: NegotiationModel, months: list[dict[str, Any]], events: dict[int, list[str]]) -> list[str]:
    """A block per run of months of one kind: no event, no talks opening, breaking down or agreeing inside it."""
    out: list[str] = []
    i = 0
    while i < len(months):
        j = i + 1
        if not events.get(months[i]["month"]) and not (months[i].get("talks") or {}).get("agreed"):
            while (j < len(months) and not events.get(months[j]["month"]) and _kind(months[j]) == _kind(months[i])
                   and not months[j].get("opened") and not (months[j].get("talks") or {}).get("agreed")
                   and not (months[j - 1].get("talks") or {}).get("breakdown")):
                j += 1
        out += _brief_block(c, model, months[i:j], events.get(months[i]["month"], []))
        i = j
    return out


def short_terms(c: Compiled, package: int) -> str:
    return ", ".join(f"{k.replace('_', ' ')}: {v.replace('_', ' ')}" for k, v in c.term_names(package).items())


def _month_list(months: list[int]) -> str:
    if len(months) == 1:
        return f"month {months[0]}"
    steps = {b - a for a, b in zip(months, months[1:], strict=False)}
    if len(steps) == 1 and len(months) > 2:
        step = steps.pop()
        every = {1: "each month", 2: "every other month", 3: "every third month"}.get(step, f"every {step} months")
        return f"months {months[0]} to {months[-1]}, {every}"
    return "months " + ", ".join(str(m) for m in months)


def _answers(c: Compiled, talk: dict[str, Any]) -> str:
    govs = [actor_name(c, g) for g in c.governments]
    said = [f"{govs[g]}{' (a player)' if _played(talk, 'answers', g) else ''} {'accepts' if ok else 'rejects'}"
            for g, (_, ok) in enumerate(talk["answers"])]
    if all(ok for _, ok in talk["answers"]):
        said += [f"the {actor_name(c, c.publics[int(g)])}{' (a player)' if _played(talk, 'votes', int(g)) else ''} "
                 f"{'ratifies' if ok else 'votes it down'}" for g, (_, ok, v) in talk["votes"].items() if v]
    return ", ".join(said)


def _brief_block(c: Compiled, model: NegotiationModel, block: list[dict[str, Any]], events: list[str]) -> list[str]:
    start, first, last = c.scenario.model.start, block[0], block[-1]
    many = len(block) > 1
    when = (f"Months {first['month']}-{last['month']} ({month_label(start, first['month'])} to "
            f"{month_label(start, last['month'])})" if many else
            f"Month {first['month']} ({month_label(start, first['month'])})")
    change = sum(m["change"] for m in block)
    cas = [sum(m["cas_month"][i] for m in block) for i in (0, 1)]
    out = [f"{when}: {gained(change)}{' in all' if many else ''}; casualties {SIDES[0]} {cas[0]:,.0f}, "
           f"{SIDES[1]} {cas[1]:,.0f}."]
    out += [f"  Timed event: {ev}." for ev in events]
    if first.get("talks") is None:
        out.append("  " + _quiet(c, block))
        return out
    said = []
    if first.get("opened"):
        said.append(f"Talks open (a hurting stalemate with a way out; chance {chance(first['ripeness'])})")
    # offers folded by what was offered and how it was answered; each with its proposers and months
    groups: dict[tuple, dict[str, Any]] = {}
    for m in block:
        talk = m["talks"]
        key = (talk["package"], _answers(c, talk))
        grp = groups.setdefault(key, {"who": [], "months": [], "territory": m["territory"]})
        if _proposer(c, talk) not in grp["who"]:
            grp["who"].append(_proposer(c, talk))
        grp["months"].append(m["month"])
        grp["territory"] = m["territory"]
    parts = []
    for (x, answers), grp in groups.items():
        land = land_words(c, model, x, grp["territory"])
        if land and len(grp["months"]) > 1 and not land.startswith("no land"):
            land += f" at the line of month {grp['months'][-1]}"
        offer = f"by {' and '.join(grp['who'])}: {short_terms(c, x)}" + (f" ({land})" if land else "")
        parts.append(f"{offer}. {answers[0].upper() + answers[1:]}" if not many else
                     f"{_month_list(grp['months'])[0].upper() + _month_list(grp['months'])[1:]}, {offer}. "
                     f"{answers[0].upper() + answers[1:]}{' each time' if len(grp['months']) > 1 else ''}")
    end = (". Agreement: the deal is signed" if last["talks"]["agreed"] else
           ". The talks break down" if last["talks"].get("breakdown") else "")
    if not many:
        said.append(f"An offer {parts[0]}")
        out.append("  " + ". ".join(said) + end + ".")
        return out
    if len(groups) == 1:
        out.append("  " + "".join(f"{s}. " for s in said) + f"The same offer, {parts[0][0].lower() + parts[0][1:]}{end}.")
        return out
    out.append("  " + "".join(f"{s}; " for s in said) + f"{len(block)} offers:")
    out += [f"  - {part}." for part in parts]
    out[-1] = out[-1][:-1] + end + "."
    return out


def _quiet(c: Compiled, block: list[dict[str, Any]]) -> str:
    """Why talks stayed closed over a run of months of one kind."""
    first = block[0]
    if "ripeness" in first and first["stalemate"] and first["way_out"] and not first.get("opened") and len(block) > 1:
        lo, hi = min(m["ripeness"] for m in block), max(m["ripeness"] for m in block)
        return (f"No talks yet: a hurting stalemate with a way out, but the war does not hurt enough yet (the "
                f"chance talks open was {chance(lo)} to {chance(hi)} a month, and the draw never came).")
    if "ripeness" in first and not first["stalemate"] and len(block) > 1:
        govs = [actor_name(c, g) for g in c.governments]
        who = [f"{govs[i]} (by {_small(min(m['gains'][i] for m in block))} to "
               f"{_small(max(m['gains'][i] for m in block))})" for i in (0, 1) if first["gains"][i] > 0]
        return f"No talks: {' and '.join(who)} still expects a net gain from fighting on, so there is no hurting stalemate."
    reason = _opening(c, first)
    return reason[0] if reason else "Talks continue."


# --------------------------------------------------------------------------- outcome and why


def _outcome(c: Compiled, row: pd.Series) -> str:
    if row["outcome"] == "agreement":
        issues = c.scenario.model.issues
        terms = "; ".join(f"{issues[k].label or k}: {str(row[f'term_{k}']).replace('_', ' ')}" for k in c.issues)
        land = row.get("land_km2", 0.0)
        moved = km2_words(land)
        cls = "" if pd.isna(row.get("outcome_class")) else f" ({str(row['outcome_class']).replace('_', ' ')})"
        lead = row.get("lead_mediator")
        by = "" if lead is None or pd.isna(lead) or lead == "" else f"; lead mediator {actor_name(c, str(lead))}"
        return (f"Outcome: agreement in month {int(row['agreement_month'])}{cls}: {terms}; {moved}{by}.")
    if row["outcome"] == "talks_failed":
        return (f"Outcome: talks failed: talks first opened in month {int(row['talks_month'])}, "
                f"{int(row['proposals'])} offers, no ratified deal by month {c.horizon}.")
    return f"Outcome: no talks: talks never opened in {c.horizon} months."


def why(c: Compiled, model: NegotiationModel, row: pd.Series | None = None) -> list[str]:
    """The closing "why", computed from the log."""
    if row is None:
        row = result_row(c, model)
    log, govs = model.log, [actor_name(c, g) for g in c.governments]
    talks = [e for e in log if e.get("talks") is not None]
    if talks and talks[-1]["talks"]["agreed"]:
        return _why_agreement(c, talks[-1], govs)
    if talks:
        return _why_failed(c, model, talks, govs, len(log))
    return _why_no_talks(c, model, log, govs)


def _why_agreement(c: Compiled, e: Mapping[str, Any], govs: list[str]) -> list[str]:
    talk = e["talks"]
    out = [f"Why: in month {e['month']} both governments accepted and every voting public ratified."]
    for g in (0, 1):
        worth, need, lean = talk["utilities"][g] + talk["leverage"][g], talk["needs"][g], talk["judgement"][g]
        margin = worth - need
        tipped = "" if margin >= 0 else f" (short of it by {-margin:.3f}, but its own lean of {lean:+.3f} tipped it)"
        out.append(f"  {govs[g]}: the deal was worth {worth:.3f} to it against {need:.3f} for holding out"
                   f"{tipped}; margin {margin + lean:+.3f} after its own lean.")
    for g, (prob, _ok, voted) in talk["votes"].items():
        if voted:
            out.append(f"  {actor_name(c, c.publics[int(g)])} ratified (it would with chance {chance(prob)}"
                       + (f", margin {talk['margins'][g]:+.3f} over its bar" if "margins" in talk and g in talk["margins"]
                          else "") + ").")
    return out


def _why_failed(c: Compiled, model: NegotiationModel, talks: Sequence[Mapping[str, Any]], govs: list[str],
                months: int) -> list[str]:
    n = len(talks)
    out = [f"Why: {n} offers in {months} months, none both accepted and ratified."]
    for g in (0, 1):
        rejected = [e for e in talks if not e["talks"]["answers"][g][1]]
        if not rejected:
            out.append(f"  {govs[g]} accepted every offer.")
            continue
        shortfall = [(e["talks"]["utilities"][g] + e["talks"]["leverage"][g] - e["talks"]["needs"][g], e)
                     for e in rejected]
        best, e = max(shortfall, key=lambda s: s[0])
        red = sorted({r for e2 in rejected if (r := _red_lines_crossed(c, model, e2["talks"]["package"], g))})
        line = (f"  {govs[g]} rejected {len(rejected)} of {n} offers: what it wanted (its value of fighting on, or "
                f"of holding out for its own offer) stayed above every offer it rejected; the best of them for it "
                f"(month {e['month']}) fell short by {-best:.3f}" if best < 0 else
                f"  {govs[g]} rejected {len(rejected)} of {n} offers; the best of them for it (month {e['month']}) "
                f"cleared what it wanted by {best:.3f} but its own lean this run "
                f"({e['talks']['judgement'][g]:+.3f}) held it back")
        out.append(line + (f"; red lines crossed: {'; '.join(red)}" if red else "") + ".")
    down = [(g, e) for e in talks if all(ok for _, ok in e["talks"]["answers"])
            for g, (_, ok, voted) in e["talks"]["votes"].items() if voted and not ok]
    for g in sorted({int(g) for g, _ in down}):
        k = sum(1 for h, _ in down if int(h) == g)
        out.append(f"  {actor_name(c, c.publics[g])} voted down {k} deal{'s' if k > 1 else ''} both governments had "
                   "accepted.")
    out += _red_lines_left(c, model)
    breaks = sum(1 for e in talks if e["talks"].get("breakdown"))
    if breaks:
        out.append(f"  Talks broke down {breaks} time{'s' if breaks > 1 else ''}.")
    return out


def _why_no_talks(c: Compiled, model: NegotiationModel, log: Sequence[Mapping[str, Any]],
                  govs: list[str]) -> list[str]:
    n = len(log)
    out = [f"Why: talks need every precondition met, a hurting stalemate, a way out, and then a draw that the war "
           f"makes likelier the more it hurts; in {n} months that never came together."]
    pre: dict[str, int] = {}
    gain: dict[int, list[float]] = {0: [], 1: []}
    no_way = 0
    draws: list[float] = []
    for e in log:
        failed = [f"{govs[c.governments.index(gov)]}'s condition {name.replace('_', ' ')}"
                  for gov, name, ok in e.get("preconditions", []) if not ok]
        for f in failed:
            pre[f] = pre.get(f, 0) + 1
        if failed or "ripeness" not in e:
            continue
        if not e["stalemate"]:
            for g in (0, 1):
                if e["gains"][g] > 0:
                    gain[g].append(e["gains"][g])
        elif not e["way_out"]:
            no_way += 1
        else:
            draws.append(e["ripeness"])
    for f, k in pre.items():
        out.append(f"  {f[0].upper() + f[1:]} was not met in {k} of {n} months.")
    for g in (0, 1):
        if gain[g]:
            out.append(f"  In {len(gain[g])} months {govs[g]} still expected a net gain from fighting on "
                       f"(by {_small(min(gain[g]))} at the least, {_small(max(gain[g]))} at the most), so there was no "
                       "hurting stalemate.")
    if no_way:
        out.append(f"  In {no_way} months there was a stalemate but no way out: no deal within the red lines both "
                   "governments valued above fighting on.")
        out += _red_lines_left(c, model)
    if draws:
        out.append(f"  In {len(draws)} months everything was in place but the draw did not open talks (the chance "
                   f"was at most {chance(max(draws))}).")
    return out


def _red_line_owners(c: Compiled) -> list[tuple[str, RedLine]]:
    """Every red line with the government that holds it, in the order of the compiled red-line masks."""
    govs = [(gov, c.scenario.model.actors[gov]) for gov in c.governments]
    return [(gov, r) for gov, actor in govs if isinstance(actor, Government) for r in actor.red_lines]


def _red_lines_left(c: Compiled, model: NegotiationModel) -> list[str]:
    """How many packages the active red lines leave on the table, and whose red lines they are."""
    owners = _red_line_owners(c)
    active = np.asarray(model.p["rl_active"]).reshape(-1) > 0
    if not active.any():
        return []
    left = int((~c.red_line_masks[active].any(axis=0)).sum())
    whose = []
    for g, gov in enumerate(c.governments):
        lines = [f"{r.issue.replace('_', ' ')} not {' or '.join(o.replace('_', ' ') for o in r.forbid)}"
                 for li, (owner, r) in enumerate(owners) if owner == gov and active[li]]
        if lines:
            whose.append(f"{actor_name(c, c.governments[g])}'s ({'; '.join(lines)})")
    return [f"  Red lines left {left} of {c.n_packages} possible deals on the table: {' and '.join(whose)}."]


# --------------------------------------------------------------------------- table and figure


def monthly_table(c: Compiled, model: NegotiationModel) -> pd.DataFrame:
    """The labelled monthly table of one run (what ``--csv`` writes)."""
    start = c.scenario.model.start
    events = event_changes(c, model)
    rows = []
    for e in _months(c, model):
        talk = e.get("talks")
        r: dict[str, Any] = {
            "month": e["month"], "date": month_label(start, e["month"]),
            "russia_holds_km2": round(e["territory"], 1), "front_change_km2": round(e["change"], 1),
            "ground_gained_by": "" if e["change"] == 0 else SIDES[1] if e["change"] > 0 else SIDES[0],
            "kursk_held_by_ukraine_km2": round(e["kursk"], 1), "kursk_retaken_km2": round(e["retaken"], 1),
        }
        for i in (0, 1):
            r[f"casualties_{SIDES[i].lower()}_month"] = round(e["cas_month"][i])
            r[f"casualties_{SIDES[i].lower()}_total"] = round(e["casualties"][i])
        for i, g in enumerate(c.governments):
            r[f"value_of_fighting_on_{g}"] = round(e["values"][i], 4)
            r[f"expected_costs_{g}"] = round(e["costs"][i], 4)
        for j, pub in enumerate(c.publics):
            if pub is not None:
                w = e["weariness"].get(j, e["weariness"].get(str(j)))
                r[f"war_weariness_{pub}"] = None if w is None else round(w, 4)
        r["talks_open"] = talk is not None
        r["proposer"] = "" if talk is None else (f"mediator {talk['lead']}" if talk["proposer"] == Proposer.MEDIATOR
                                                 else c.governments[talk["proposer"]])
        names = c.term_names(talk["package"]) if talk is not None else {}
        for k in c.issues:
            r[f"offer_{k}"] = names.get(k, "")
        for i, g in enumerate(c.governments):
            r[f"offer_worth_{g}"] = None if talk is None else round(talk["utilities"][i] + talk["leverage"][i], 4)
            r[f"wants_at_least_{g}"] = None if talk is None else round(talk["needs"][i], 4)
            r[f"answer_{g}"] = "" if talk is None else ("accepts" if talk["answers"][i][1] else "rejects")
        both_accept = talk is not None and all(a for _, a in talk["answers"])
        for j, pub in enumerate(c.publics):
            if pub is not None:
                v = None if talk is None else talk["votes"].get(j, talk["votes"].get(str(j)))
                r[f"vote_{pub}"] = ("" if v is None or not v[2] or not both_accept else
                                    "ratifies" if v[1] else "votes down")
        r["agreement"] = bool(talk and talk["agreed"])
        r["talks_break_down"] = bool(talk and talk.get("breakdown"))
        r["timed_event"] = " | ".join(events.get(e["month"], []))
        rows.append(r)
    return pd.DataFrame(rows)


def write_csv(c: Compiled, model: NegotiationModel, path: str | Path) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    monthly_table(c, model).to_csv(tmp, index=False)
    os.replace(tmp, path)
    return path


COLOURS = ("tab:blue", "tab:red")  # the two governments (and their publics) in the figure of a run


def draw_run(c: Compiled, model: NegotiationModel, path: str | Path, row: pd.Series | None = None) -> Path:
    """One run as a PNG: territory, each government's value of fighting on against the offers, weariness.

    Names from the scenario are drawn as written: a ``$`` never starts matplotlib's math text."""
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False}):
        return _draw_run(c, model, path, row)


def _draw_run(c: Compiled, model: NegotiationModel, path: str | Path, row: pd.Series | None) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if row is None:
        row = result_row(c, model)
    t = monthly_table(c, model)
    months = t["month"].to_numpy()
    fig = Figure(figsize=(11, 9.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, 1, sharex=True)
    _draw_territory(axes[0], t, months)
    _draw_offers(axes[1], c, t, months)
    _draw_weariness(axes[2], c, t, months)
    talks = t["talks_open"].to_numpy()
    for a in axes:
        for m in months[talks]:
            a.axvspan(m - 0.5, m + 0.5, color="gold", alpha=0.25, linewidth=0, zorder=0)
        if row["outcome"] == "agreement":
            a.axvline(int(row["agreement_month"]), color="tab:green", linewidth=2)
    if row["outcome"] == "agreement":
        axes[0].annotate(f"deal, month {int(row['agreement_month'])} ", (int(row["agreement_month"]),
                         axes[0].get_ylim()[0]), color="tab:green", ha="right", va="bottom", fontsize=9)
    shade = " (shaded: months with talks)" if talks.any() else ""
    fig.suptitle(f"{c.scenario.name}, replicate {int(row['replicate'])}: "
                 f"{str(row['outcome']).replace('_', ' ')}{shade}", fontsize=11)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)
    return path


def _draw_territory(ax: Any, t: pd.DataFrame, months: np.ndarray) -> None:
    """The land of Ukraine Russia holds, and Kursk held by Ukraine on a second axis when there is any."""
    ax.plot(months, t["russia_holds_km2"] / 1000, color="black", label="Ukraine held by Russia")
    ax.set_ylabel("thousand km2")
    ax.set_title("Territory of Ukraine held by Russia")
    handles, labels = ax.get_legend_handles_labels()
    if t["kursk_held_by_ukraine_km2"].max() > 0:
        ax2 = ax.twinx()
        ax2.plot(months, t["kursk_held_by_ukraine_km2"], color="tab:green", linestyle="--",
                 label="Kursk held by Ukraine (right, km2)")
        ax2.set_ylabel("Kursk km2 held by Ukraine", color="tab:green")
        ax2.set_ylim(bottom=0)
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="center left", bbox_to_anchor=(1.08, 0.5), fontsize=8)


def _draw_offers(ax: Any, c: Compiled, t: pd.DataFrame, months: np.ndarray) -> None:
    """Each government's value of fighting on and expected costs, against the offers when talks are open."""
    govs = [actor_name(c, g) for g in c.governments]
    talks = t["talks_open"].to_numpy()
    for i, g in enumerate(c.governments):
        ax.plot(months, t[f"value_of_fighting_on_{g}"], color=COLOURS[i], label=f"{govs[i]}: value of fighting on")
        ax.plot(months, t[f"expected_costs_{g}"], color=COLOURS[i], linestyle=":", alpha=0.8,
                label=f"{govs[i]}: expected costs of fighting on")
        if talks.any():
            ax.scatter(months[talks], t[f"offer_worth_{g}"][talks], color=COLOURS[i], marker="o", s=22,
                       label=f"{govs[i]}: worth of the offer on the table")
            ax.scatter(months[talks], t[f"wants_at_least_{g}"][talks], color=COLOURS[i], marker="_", s=90,
                       label=f"{govs[i]}: the least it accepts")
    ax.set_ylabel("0 to 1 (worth to each government)")
    ax.set_title("Fighting on against the deals on offer" if talks.any() else
                 "Value of fighting on (talks never opened: no offers)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)


def _draw_weariness(ax: Any, c: Compiled, t: pd.DataFrame, months: np.ndarray) -> None:
    for g, pub in enumerate(c.publics):
        if pub is not None:
            ax.plot(months, t[f"war_weariness_{pub}"] * 100, color=COLOURS[g], label=actor_name(c, pub))
    ax.set_ylabel("% weary of the war")
    ax.set_title("War-weariness")
    ax.set_xlabel(f"month (1 = {month_label(c.scenario.model.start, 1)})")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
