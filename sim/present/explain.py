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

import io
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
from sim.engine.shocks import MAX_REPLICATE
from sim.present.terms_table import (
    MANY_ISSUES,
    deal_table,
    satisfaction_words,
    settled_issue,
    text_lines,
)
from sim.runs import store
from sim.runs.batch import draw_shocks as draw
from sim.scenario.compile import Compiled, compile_scenario
from sim.scenario.models import Government, RedLine, Scenario
from sim.scenario.schema_text import TEXT
from sim.scenario.targets import month_label  # noqa: F401 - also read from here by the commands

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
    return km2_words(float(rules.land_moved(c.land_share_of(package), territory, model.p["pre2022"],
                                           model.p["claimed"])))


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


ON_THE_GROUND = "On the ground, "


def _event_line(ev: str) -> str:
    """A month's timed event, or an action a person took on the ground, as a line of the story."""
    return f"  {ev.rstrip('.')}." if ev.startswith(ON_THE_GROUND) else f"  Timed event: {ev.rstrip('.')}."


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
        "fighting on and, through war-weariness, on its public. Talks open in a hurting stalemate with a "
        "way out, or when a mediator's pull brings the sides to contacts. In talks partial deals may come first "
        "(exchanges of prisoners, a moratorium); a ceasefire freezes the line once each side gains no more by "
        "fighting on, and a side's preconditions must hold before a ceasefire or a settlement is put. On the "
        f"settlement {med}. A government accepts an offer worth at least what it wants (its value of "
        "fighting on, or of holding out for a better offer), give or take its own lean; a deal both "
        f"accept holds only if {vote}. Each month without a deal, talks break down with chance "
        f"{chance(float(model.p['breakdown']))}. A ceasefire can break down, and a settlement relapse into war, "
        "the likelier the more a side expects to gain by fighting again. Each side's resolve is its own secret: "
        "the other side reckons it from its answers.",
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
        ("hurting stalemate", "neither government expects a net gain from fighting on; then talks may open, "
                              "and the more the war hurts them, the likelier (a mediator's pull may open them "
                              "anyway)."),
        ("stages", "war; talks; partial deals (exchanges of prisoners, a moratorium on strikes; they can lapse); "
                   "a ceasefire that freezes the line (it can break down); a settlement, ratified and carried out; "
                   "relapse, when war resumes after it."),
        ("resolve", "how much a government will pay to fight on: its own secret; the other side reckons it, and "
                    "changes its reckoning when an offer is rejected or accepted."),
        ("instruments", "aid to Kyiv and sanctions on Moscow, each at a level (1: as now); a stick pauses one "
                        "while its target refuses talks."),
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
    for e in model.log:  # a game: the actions people took on the ground, told with the month's events
        for role, name in e.get("actions", []):
            a = c.actions[role][name]
            said = f"{ON_THE_GROUND}{actor_name(c, role)}: {a.label} ({a.effect.rstrip('.')})"
            events.setdefault(e["month"], []).append(said)
    if events.get(0):
        lines.append("Before month 1, timed events: " + "; ".join(events[0]) + ".")
    lines.append("")
    months = _months(c, model)
    if brief:
        lines += _brief(c, model, months, events)
    else:
        for i, m in enumerate(months):
            lines += _month(c, model, m, events.get(m["month"], []), months[i - 1] if i else None)
            lines.append("")
    if model.running and row["outcome"] == "agreement":  # a game in play goes on after its settlement
        relapse = row.get("relapse_month")
        lines.append(f"So far: month {len(model.log)} of {c.horizon}; a settlement in month "
                     f"{int(row['agreement_month'])}, " + (f"which broke down in month {int(relapse)}." if pd.notna(relapse)
                                                           else "in force."))
    elif model.running:  # a run still being stepped (a game in play)
        lines.append(f"So far: month {len(model.log)} of {c.horizon}, no deal yet"
                     + (f"; talks first opened in month {int(row['talks_month'])}." if pd.notna(row["talks_month"]) else "."))
    else:
        lines.append(_outcome(c, row))
        lines += deal_lines(c, row)
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
    log = list(model.log)
    end = [c.partial_deals[i] for i in np.flatnonzero(model.kernel.s.partial[0])] if c.partial_deals else []
    for i, e in enumerate(log):
        total = [float(x) for x in e["casualties"]]
        # a partial deal in force this month (or agreed in it) and not at the start of the next lapsed at its end
        held = list(dict.fromkeys([*(e.get("in_force") or []), *(e.get("partial") or [])]))
        after = (log[i + 1].get("in_force") or []) if i + 1 < len(log) else (end if not model.running else held)
        out.append(e | {"cas_month": [total[i] - before[i] for i in (0, 1)],
                        "lapsed": [d for d in held if d not in after]})
        before = total
    return out


def _settled(model: NegotiationModel) -> int | None:
    month = int(model.kernel.s.agreement_month[0])
    return month if month >= 0 else None


def _month(c: Compiled, model: NegotiationModel, e: dict[str, Any], events: list[str],
           prev: Mapping[str, Any] | None = None) -> list[str]:
    t, govs = e["month"], [actor_name(c, g) for g in c.governments]
    out = [f"Month {t} ({month_label(c.scenario.model.start, t)})"]
    out += [_event_line(ev) for ev in events]
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
    out += [f"  {s}" for s in _opening(c, e, model)]
    news = stage_lines(c, model, e, prev, _settled(model))
    out += [f"  {s}" for s in news if not s.startswith(("Settlement", "Relapse", "Ceasefire breaks"))]
    if e.get("talks") is not None:
        out += _talks(c, model, e)
    out += [f"  {s}" for s in news if s.startswith(("Settlement", "Relapse", "Ceasefire breaks"))]
    if e.get("stage") in ("settlement", "relapse") and "ripeness" not in e and not news:
        out.append("  " + _peace(e, _settled(model)))
    return out


def _peace(e: Mapping[str, Any], settled: int | None) -> str:
    """A month after the settlement: peace holds, or the war is back after a relapse."""
    if e.get("stage") == "relapse":
        return "War again: the settlement broke down; no new talks."
    return f"Peace: the settlement of month {settled} holds (each month it may still break down)."


def _small(x: float) -> str:
    return f"{x:.3f}" if x >= 0.0005 else "less than 0.001"


def _drift(d: float) -> str:
    return f"{abs(d):,.0f} km2 toward {'Russia' if d >= 0 else 'Ukraine'}"


def _opening(c: Compiled, e: Mapping[str, Any], model: NegotiationModel | None = None) -> list[str]:
    """Why talks do or do not open this month (nothing when talks were already open).

    Talks open with ripeness (a hurting stalemate with a way out both sides see) or when a mediator's pull
    brings the sides to contacts; preconditions do not gate talks (they gate a ceasefire and a settlement)."""
    govs = [actor_name(c, g) for g in c.governments]
    if "ripeness" not in e:
        return []
    pull = float(e.get("pull", 0.0))
    if e.get("opened"):
        by = _opened_by(c, model, e) if model is not None else None
        if by is not None and by != "ripeness":
            blind = [govs[g] for g, sees in enumerate(e.get("sees") or [True, True]) if not sees]
            return [f"Talks open, brought by the pull of the {actor_name(c, by)}: its pressure brings both sides to "
                    f"contacts (the mediators' pull this month: chance {chance(pull)})"
                    + (f", though {' and '.join(blind)} see{'s' if len(blind) == 1 else ''} no way out" if blind else
                       f", before the war is ripe (ripeness alone: chance {chance(e['ripeness'])})") + "."]
        return [f"Talks open: a hurting stalemate with a way out (this month they would open with chance "
                f"{chance(e['ripeness'])}" + (f", with the mediators' pull {chance(pull)}" if pull > 0 else "")
                + ", and they do)."]
    pulled = (f" The mediators' pull (chance {chance(pull)} this month) does not bring them either." if pull > 0
              else "")
    if not e["stalemate"]:
        who = [f"{govs[i]} (by {_small(g)})" for i, g in enumerate(e["gains"]) if g > 0]
        if not who:
            return ["No talks: neither side sees a way out: no deal within the red lines it believes the other "
                    "side would prefer to fighting on." + pulled]
        return [f"No talks: {' and '.join(who)} still expects a net gain from fighting on, so there is no hurting "
                "stalemate." + pulled]
    if not e["way_out"]:
        blind = [govs[g] for g, sees in enumerate(e.get("sees") or []) if not sees]
        return [("No talks: a stalemate, but no way out: " + (f"{' and '.join(blind)} sees no deal within the red "
                 "lines that it prefers to fighting on and believes the other side prefers too." if blind else
                 "no deal within the red lines is worth more to both governments than fighting on.")) + pulled]
    return [f"No talks yet: a hurting stalemate with a way out, but the war does not hurt enough yet (talks "
            f"would open this month with chance {chance(1 - (1 - e['ripeness']) * (1 - pull))}, and they do "
            "not)."]


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
            if c.governments.index(gov) == g and active[li] > 0 and c.breaks(li, x)]
    return "; ".join(hits)


# --------------------------------------------------------------------------- the stages of the peace process


def instrument_words(c: Compiled, name: str) -> str:
    """An instrument in words: 'aid from the United States', 'sanctions of the EU and UK'."""
    ins = c.scenario.model.instruments.get(name)
    if ins is None:
        return name.replace("_", " ")
    owner = f"the {actor_name(c, ins.owner)}" if ins.owner else ""
    return (f"aid from {owner}" if ins.kind == "aid" else f"sanctions of {owner}") if owner else ins.kind


def deal_words(c: Compiled, name: str) -> str:
    """A partial deal in words (its label, lower case)."""
    pd_ = c.scenario.model.partial_deals.get(name)
    label = pd_.label if pd_ is not None and pd_.label else name.replace("_", " ")
    return label[0].lower() + label[1:]


def _lean(model: NegotiationModel) -> list[float]:
    """Each government's own lean this run (temperature x its judgement, drawn once a run)."""
    return [float(np.asarray(model.p["temperature"]) * model.kernel.s.judgement[0, g]) for g in (0, 1)]


def _pulls(c: Compiled, model: NegotiationModel) -> list[tuple[str, float]]:
    """(mediator, its monthly pull) of each active mediator that pulls, at the end of the run."""
    pull = np.asarray(model.p.get("pull", np.zeros(0))).reshape(-1)
    active = np.asarray(model.p["med_active"]).reshape(-1)
    return [(m, float(pull[i])) for i, m in enumerate(c.mediators) if i < len(pull) and pull[i] > 0 and active[i] > 0]


def _opened_by(c: Compiled, model: NegotiationModel, e: Mapping[str, Any]) -> str | None:
    """What opened talks in a month they opened: 'ripeness', or the mediator whose pull brought them.

    One draw opens talks with chance 1 - (1 - ripeness)(1 - pull): read as ripeness first, then each
    mediator's pull in turn (the pulls as at the end of the run, in proportion when they changed)."""
    try:
        u = float(model.kernel.shocks.month(int(e["month"]))["talks"][0, 0])
    except (AttributeError, KeyError, IndexError, TypeError):
        return None
    ripe = float(e.get("ripeness", 0.0))
    if u < ripe:
        return "ripeness"
    pulls = _pulls(c, model)
    total = 1.0 - float(np.prod([1.0 - p for _, p in pulls])) if pulls else 0.0
    if not pulls or total <= 0:
        return "ripeness"
    scale = float(e.get("pull", total)) / total  # the month's pull against the pulls at the end of the run
    rest, left = (u - ripe) / max(1.0 - ripe, 1e-12), 1.0
    for m, p in pulls:
        share = left * p * scale
        if rest < share:
            return m
        rest, left = rest - share, left * (1.0 - p * scale)
    return pulls[-1][0]


def _preconditions_at(c: Compiled, model: NegotiationModel, e: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """(government, name, holds) of each active precondition in month ``e`` (the log's own reading when talks
    were closed, else read from the month's line and Kursk area)."""
    if "preconditions" in e:
        return list(e["preconditions"])
    value = np.asarray(model.p["pre_value"]).reshape(-1)
    active = np.asarray(model.p["pre_active"]).reshape(-1)
    out = []
    for i, (g, name, variable, op) in enumerate(c.preconditions):
        if i < len(active) and active[i]:
            v = e["month"] if variable == "month" else (e["territory"] if variable == "territory_km2" else e["kursk"])
            out.append((c.governments[g], name, bool(rules.precondition_holds(v, op, value[i]))))
    return out


def _gain_words(govs: list[str], gains: Sequence[float]) -> str:
    return ", ".join(f"{govs[g]} {gains[g]:+.3f}" for g in (0, 1))


def stage_lines(c: Compiled, model: NegotiationModel, e: Mapping[str, Any], prev: Mapping[str, Any] | None,
                settled: int | None) -> list[str]:
    """What happened this month to the peace process, in words (each line without its indent): instruments'
    levels that changed, partial deals agreed or lapsed, a ceasefire put (agreed or refused, and why), broken,
    a settlement's land term implemented, a relapse, and how beliefs about the other side's resolve moved."""
    govs = [actor_name(c, g) for g in c.governments]
    t = int(e["month"])
    out = _instrument_lines(c, model, e, prev, settled) + _belief_lines(e, prev, govs)
    # partial deals agreed this month, and those that lapsed at its end
    in_force = set(e.get("in_force") or [])
    for name in e.get("partial") or []:
        out.append(f"Partial deal: {'another round of ' if name in in_force else ''}{deal_words(c, name)} "
                   f"{'goes ahead' if name in in_force else 'is agreed'}.")
    for name in e.get("lapsed") or []:
        out.append(f"Partial deal lapses: {deal_words(c, name)} is no longer in force.")
    out += _ceasefire_lines(c, model, e, prev, govs)
    if e.get("ceasefire_broken"):
        out.append("Ceasefire breaks down: the war resumes (the chance of a breakdown rises with what a side expects "
                   f"to gain by fighting on: {_gain_words(govs, e['gains'])}).")
    talk = e.get("talks") or {}
    if talk.get("agreed"):
        land = km2_words(float(model.kernel.s.land_km2[0])) if c.land_issue >= 0 else ""
        out.append("Settlement: ratified and implemented" + (f" ({land})" if land else "")
                   + "; the war stops.")
    if e.get("relapse"):
        out.append(f"Relapse: the settlement of month {settled} breaks down and the war resumes in month {t}.")
    return out


def _instrument_lines(c: Compiled, model: NegotiationModel, e: Mapping[str, Any], prev: Mapping[str, Any] | None,
                      settled: int | None) -> list[str]:
    """Each instrument whose level changed this month (the first month: one not at its set level), and why."""
    govs = [actor_name(c, g) for g in c.governments]
    out: list[str] = []
    t = int(e["month"])
    levels = e.get("levels") or {}
    set_level = np.asarray(model.shocks.params.get("inst_level", np.zeros(0))).reshape(-1)
    stick = np.asarray(model.p.get("inst_stick", np.zeros(0))).reshape(-1)
    sticks = np.asarray(model.p.get("inst_stick_active", np.zeros(0))).reshape(-1) > 0
    peace = settled is not None and t > settled and e.get("stage") == "settlement"
    for i, (name, level) in enumerate(levels.items()):
        before = (prev.get("levels") or {}).get(name) if prev is not None else (
            float(set_level[i]) if i < len(set_level) else None)
        if before is None or abs(level - before) < 1e-9:
            continue
        what, kind = instrument_words(c, name), c.instrument_kinds[i] if i < len(c.instrument_kinds) else 0
        target = govs[0] if kind == 0 else govs[1]
        if kind == 1 and level == 0 and peace:
            why_ = " (relief under the settlement)"
        elif kind == 1 and before == 0 and settled is not None and t > settled:
            why_ = " (the settlement broke down)"
        elif i < len(sticks) and sticks[i] and abs(level - stick[i]) < 1e-9 and level < before:
            why_ = f" (a stick: {target} refused talks last month)"
        elif prev is not None and i < len(sticks) and sticks[i] and abs(before - stick[i]) < 1e-9:
            why_ = f" (the stick is lifted: {target} no longer refuses talks)"
        else:
            why_ = ""
        if kind == 1:
            word = ("lifted" if level == 0 else "eased") if level < before else ("reimposed" if before == 0 else
                                                                              "tightened")
        else:
            word = ("paused" if level == 0 else "cut") if level < before else ("resumed" if before == 0 else "raised")
        are = "are" if kind == 1 else "is"
        out.append(f"Instruments: {what} {are} {word}{why_}: level {before:g} -> {level:g}"
                   + (" (the Russian advance speeds up)." if kind == 0 and level < before else "."))
    return out


def _belief_lines(e: Mapping[str, Any], prev: Mapping[str, Any] | None, govs: list[str]) -> list[str]:
    """How the others' belief about each side's resolve moved with what it answered last month."""
    out: list[str] = []
    if prev is not None and prev.get("believed_resolve") and e.get("believed_resolve"):
        talk = prev.get("talks") or {}
        for g in (0, 1):
            was, now = prev["believed_resolve"][g], e["believed_resolve"][g]
            if abs(now - was) < 0.005:
                continue
            answers = talk.get("answers") or []
            said = (f"after its rejection in month {prev['month']}" if g < len(answers) and not answers[g][1] else
                    f"after the talks of month {prev['month']} (it accepted)")
            out.append(f"Beliefs: {govs[1 - g]} now reckons {govs[g]}'s resolve at {now:.2f} (it reckoned {was:.2f}) "
                       f"{said}: {govs[g]} looks "
                       f"{'more' if now > was else 'less'} determined to fight on than it thought.")
    return out


def _ceasefire_lines(c: Compiled, model: NegotiationModel, e: Mapping[str, Any], prev: Mapping[str, Any] | None,
                     govs: list[str]) -> list[str]:
    """A ceasefire put this month (agreed, or refused and by whom), or none put because a precondition fails."""
    out: list[str] = []
    if "ceasefire" in e:
        lean = _lean(model)
        gains = e["gains"]
        if e["ceasefire"]:
            out.append(f"Ceasefire agreed: neither side expects to gain by fighting on rather than freezing today's "
                       f"line (net gain of fighting on: {_gain_words(govs, gains)}). The line is frozen; fighting "
                       "drops to violations.")
        else:
            refuse = [g for g in (0, 1) if gains[g] > lean[g]] or [int(np.argmax(gains))]
            out.append("Ceasefire refused: " + " and ".join(
                f"{govs[g]} expects {gains[g]:+.3f} from fighting on rather than freezing today's line, more than "
                f"its own lean ({lean[g]:+.3f}) lets it give up" for g in refuse)
                + f" (net gain of fighting on: {_gain_words(govs, gains)}).")
    elif prev is not None and _talking(e) and "talks" not in e and not e.get("ceasefire_holds"):
        failed = [f"{govs[c.governments.index(gov)]}'s condition {name.replace('_', ' ')}"
                  for gov, name, ok in _preconditions_at(c, model, e) if not ok]
        if failed:
            out.append(f"No ceasefire or settlement is put: {' and '.join(failed)} is not met yet.")
    return out


def _talking(e: Mapping[str, Any]) -> bool:
    """Talks were open this month: they opened now, or earlier (a month in talks has no opening reading)."""
    return bool(e.get("opened")) or ("ripeness" not in e and e.get("stage") in ("talks", "partial", "ceasefire"))


# --------------------------------------------------------------------------- brief


def _kind(e: dict[str, Any]) -> tuple:
    """What kind of month it is: months of one kind in a row, with no event, are folded by ``brief``.

    A quiet month's kind is why talks stay closed; a talks month's kind is whether anyone played it, so a
    round of talks is one block until it breaks down (or an event or the deal comes).
    """
    talk = e.get("talks")
    if talk is None and "ripeness" not in e and e.get("stage") in ("settlement", "relapse"):
        return ("peace", e.get("stage"))
    refused = e.get("ceasefire") is False
    if talk is None:
        return ("quiet", *_opening_key(e), _talking(e), refused)
    return ("talks", bool(talk.get("played")), refused)


def _opening_key(e: dict[str, Any]) -> list:
    if "ripeness" not in e:
        return []
    if not e["stalemate"]:
        return ["gain", *(g > 0 for g in e["gains"])]
    return ["wayout"] if not e["way_out"] else ["draw", bool(e.get("opened"))]


def _brief(c: Compiled, model: NegotiationModel, months: list[dict[str, Any]], events: dict[int, list[str]]) -> list[str]:
    """A block per run of months of one kind: no event, no talks opening, breaking down or agreeing inside it."""
    out: list[str] = []
    settled = _settled(model)
    news = [stage_lines(c, model, m, months[i - 1] if i else None, settled) for i, m in enumerate(months)]
    # lines that go on month after month (a ceasefire refused, a precondition not met, another exchange) fold;
    # the others start a block of their own
    breaking = [[line for line in n if not line.startswith(_STEADY)] for n in news]
    i = 0
    while i < len(months):
        j = i + 1
        if not events.get(months[i]["month"]) and not (months[i].get("talks") or {}).get("agreed") and not breaking[i]:
            while (j < len(months) and not events.get(months[j]["month"]) and _kind(months[j]) == _kind(months[i])
                   and not months[j].get("opened") and not (months[j].get("talks") or {}).get("agreed")
                   and not (months[j - 1].get("talks") or {}).get("breakdown") and not breaking[j]):
                j += 1
        out += _brief_block(c, model, months[i:j], events.get(months[i]["month"], []))
        if j == i + 1:
            out += [f"  {line}" for line in news[i] if not line.startswith("Settlement")]
        else:
            out += [f"  {line}" for line in _steady(c, model, months[i:j], news[i:j])]
        i = j
    return out


_STEADY = ("Ceasefire refused", "No ceasefire or settlement", "Partial deal: another round", "Beliefs")


def _steady(c: Compiled, model: NegotiationModel, block: list[dict[str, Any]], news: list[list[str]]) -> list[str]:
    """The lines that went on over a folded block of months, told once."""
    govs = [actor_name(c, g) for g in c.governments]
    out: list[str] = []
    blocked = next((line for n in news for line in n if line.startswith("No ceasefire or settlement")), None)
    if blocked:
        out.append(blocked)
    refused = [m for m in block if m.get("ceasefire") is False]
    if refused:
        lean = _lean(model)
        who = [g for g in (0, 1) if any(m["gains"][g] > lean[g] for m in refused)] or [0]
        out.append(f"Ceasefire refused in {_month_list([m['month'] for m in refused])}: " + " and ".join(
            f"{govs[g]} expects {min(m['gains'][g] for m in refused):+.3f} to {max(m['gains'][g] for m in refused):+.3f} "
            f"from fighting on rather than freezing the line (its own lean: {lean[g]:+.3f})" for g in who) + ".")
    for g in (0, 1):
        was, now = block[0].get("believed_resolve"), block[-1].get("believed_resolve")
        moved = [n for n in news if any(line.startswith(f"Beliefs: {govs[1 - g]} now reckons") for line in n)]
        if moved and was and now:
            first = next(line for line in moved[0] if line.startswith(f"Beliefs: {govs[1 - g]} now reckons"))
            start = re.search(r"it reckoned ([\d.]+)", first)
            out.append(f"Beliefs: {govs[1 - g]}'s reckoning of {govs[g]}'s resolve moves from "
                       f"{start.group(1) if start else f'{was[g]:.2f}'} to {now[g]:.2f} with its answers.")
    again: dict[str, list[int]] = {}
    for m in block:
        for name in m.get("partial") or []:
            again.setdefault(name, []).append(m["month"])
    for name, when in again.items():
        out.append(f"Partial deal: another round of {deal_words(c, name)} goes ahead in {_month_list(when)}.")
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
    out += [_event_line(ev) for ev in events]
    if first.get("talks") is None:
        out.append("  " + _quiet(c, block, model))
        return out
    said = []
    if first.get("opened"):
        said += [line.rstrip(".") for line in _opening(c, first, model)]
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


def _quiet(c: Compiled, block: list[dict[str, Any]], model: NegotiationModel | None = None) -> str:
    """Why talks stayed closed over a run of months of one kind."""
    first = block[0]
    if _kind(first)[0] == "peace":
        if first.get("relapse"):
            return "The settlement breaks down this month."
        return ("War again: the settlement broke down; no new talks." if first.get("stage") == "relapse" else
                "Peace: the settlement holds (each month it may still break down).")
    if _talking(first) and "ripeness" not in first:
        wait = (model is not None and float(np.asarray(model.p["cf_first"])) > 0 and not first.get("ceasefire_holds"))
        return "Talks go on" + ("; settlement terms wait for a ceasefire (ceasefire first)." if wait else ".")
    if "ripeness" in first and first["stalemate"] and first["way_out"] and not first.get("opened") and len(block) > 1:
        lo, hi = min(m["ripeness"] for m in block), max(m["ripeness"] for m in block)
        return (f"No talks yet: a hurting stalemate with a way out, but the war does not hurt enough yet (the "
                f"chance talks open was {chance(lo)} to {chance(hi)} a month, and the draw never came).")
    if "ripeness" in first and not first["stalemate"] and len(block) > 1:
        govs = [actor_name(c, g) for g in c.governments]
        who = [f"{govs[i]} (by {_small(min(m['gains'][i] for m in block))} to "
               f"{_small(max(m['gains'][i] for m in block))})" for i in (0, 1) if first["gains"][i] > 0]
        return f"No talks: {' and '.join(who)} still expects a net gain from fighting on, so there is no hurting stalemate."
    reason = _opening(c, first, model)
    return reason[0] if reason else "Talks continue."


# --------------------------------------------------------------------------- outcome and why


def _outcome(c: Compiled, row: pd.Series) -> str:
    if row["outcome"] == "agreement":
        issues = c.scenario.model.issues
        if len(c.issues) > MANY_ISSUES:  # the terms follow as a table (deal_lines)
            settled = sum(settled_issue(c.scenario, row, k) for k in c.issues)
            terms = f"it settles {settled} of {len(c.issues)} issues (the terms below)"
        else:
            terms = "; ".join(f"{issues[k].label or k}: {str(row[f'term_{k}']).replace('_', ' ')}" for k in c.issues)
        land = row.get("land_km2", 0.0)
        moved = km2_words(land)
        cls = "" if pd.isna(row.get("outcome_class")) else f" ({str(row['outcome_class']).replace('_', ' ')})"
        lead = row.get("lead_mediator")
        by = "" if lead is None or pd.isna(lead) or lead == "" else f"; lead mediator {actor_name(c, str(lead))}"
        relapse = row.get("relapse_month")
        held = (f"; it broke down in month {int(relapse)} and the war resumed (relapse)" if relapse is not None
                and not pd.isna(relapse) else f"; it held to month {c.horizon}")
        return (f"Outcome: agreement, a settlement in month {int(row['agreement_month'])}{cls}: {terms}; {moved}{by}{held}.")
    if row["outcome"] == "talks_failed":
        n_partial = int(row.get("partial_deals", 0) or 0)
        got = (f"; {n_partial} partial deal{'s' if n_partial != 1 else ''} agreed (the first in month "
               f"{int(row['first_partial_month'])})" if n_partial else "")
        cf = row.get("ceasefire_month")
        if cf is not None and not pd.isna(cf):
            got += f"; a ceasefire from month {int(cf)}"
        broke = row.get("ceasefire_broken_month")
        if broke is not None and not pd.isna(broke):
            got += f"; a ceasefire broke down in month {int(broke)}"
        return (f"Outcome: talks failed: talks first opened in month {int(row['talks_month'])}, "
                f"{int(row['proposals'])} offers, no ratified settlement by month {c.horizon}{got}.")
    return f"Outcome: no talks: talks never opened in {c.horizon} months."


def deal_lines(c: Compiled, row: pd.Series) -> list[str]:
    """An agreement's terms as a table when there are many issues (at most 80 columns), and each stakeholder's
    satisfaction with the deal ([] without an agreement)."""
    if row["outcome"] != "agreement":
        return []
    if len(c.issues) > MANY_ISSUES:
        return text_lines(deal_table(c.scenario, row.to_dict()))
    said = satisfaction_words(row.to_dict())
    return [said] if said else []


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
    if any(_talking(e) for e in log):
        return _why_no_offer(c, model, log, govs)
    return _why_no_talks(c, model, log, govs)


def _why_no_offer(c: Compiled, model: NegotiationModel, log: Sequence[Mapping[str, Any]],
                  govs: list[str]) -> list[str]:
    """Talks opened but no settlement was ever put: a precondition never held, or (ceasefire first) no
    ceasefire held."""
    talking = [e for e in log if _talking(e)]
    out = [f"Why: talks ran in {len(talking)} months but no settlement was ever put to the sides."]
    failed: dict[str, int] = {}
    for e in talking:
        for gov, name, ok in _preconditions_at(c, model, e):
            if not ok:
                who = f"{govs[c.governments.index(gov)]}'s condition {name.replace('_', ' ')}"
                failed[who] = failed.get(who, 0) + 1
    for who, k in failed.items():
        out.append(f"  {who[0].upper() + who[1:]} was not met in {k} of those months: no ceasefire or settlement "
                   "could be put.")
    refused = [e for e in talking if e.get("ceasefire") is False]
    if refused:
        gains = [max(e["gains"][g] for e in refused) for g in (0, 1)]
        keen = int(np.argmax(gains))
        first = " (settlement terms are put only once a ceasefire holds)" if float(np.asarray(model.p["cf_first"])) else ""
        out.append(f"  A ceasefire was refused in {len(refused)} months{first}: {govs[keen]} still expected to gain "
                   f"by fighting on (up to {gains[keen]:.3f}).")
    deals = sum(len(e.get("partial") or []) for e in log)
    if deals:
        out.append(f"  Partial deals were agreed {deals} time{'s' if deals != 1 else ''}; they do not end the war.")
    return out


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
    out = [f"Why: talks need a hurting stalemate with a way out and then a draw that the war makes likelier the "
           f"more it hurts, or a mediator's pull; in {n} months that never came together."]
    gain: dict[int, list[float]] = {0: [], 1: []}
    no_way = 0
    draws: list[float] = []
    pulls = [float(e.get("pull", 0.0)) for e in log if "ripeness" in e]
    for e in log:
        if "ripeness" not in e:
            continue
        if not e["stalemate"]:
            for g in (0, 1):
                if e["gains"][g] > 0:
                    gain[g].append(e["gains"][g])
        elif not e["way_out"]:
            no_way += 1
        else:
            draws.append(e["ripeness"])
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
    if pulls and max(pulls) > 0:
        out.append(f"  The mediators' pull did not bring the sides to talks either (its chance was at most "
                   f"{chance(max(pulls))} a month).")
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
    left = c.packages_left(active)
    whose = []
    for g, gov in enumerate(c.governments):
        lines = [f"{r.issue.replace('_', ' ')} not {' or '.join(o.replace('_', ' ') for o in r.forbid)}"
                 for li, (owner, r) in enumerate(owners) if owner == gov and active[li]]
        if lines:
            whose.append(f"{actor_name(c, c.governments[g])}'s ({'; '.join(lines)})")
    return [f"  Red lines left {left:,} of {c.n_packages:,} possible deals on the table: {' and '.join(whose)}."]


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
        r["stage"] = e.get("stage", "")
        r["ceasefire_holds"] = bool(e.get("ceasefire_holds", False))
        r["partial_deals_in_force"] = " | ".join(e.get("in_force") or [])
        for name, level in (e.get("levels") or {}).items():
            r[f"level_{name}"] = level
        rows.append(r)
    return pd.DataFrame(rows)


def write_csv(c: Compiled, model: NegotiationModel, path: str | Path) -> Path:
    path = Path(path)
    store.write_atomic(path, monthly_table(c, model).to_csv(index=False))
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
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110)
    store.write_atomic(path, png.getvalue())
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
