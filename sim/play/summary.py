"""The class summary: one printable page of a game a class played (the classroom's ``/summary/CODE``, and
``negsim report --class REPLAY``).

The page is built from the parts of the report (:mod:`sim.present.report`: tables, paragraphs, a figure) and
rendered by its template, so it is self-contained, escapes every value and prints well (its print style
sheet): the game in a few facts, each month's front and talks, every decision with who made it (the class or
the model), the events beside the moves (roles taken and given up, and any other kind a replay file holds,
such as messages, shown alike), and the outcome set against the model's own distribution of the scenario.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.play import game
from sim.present.report import Cell, Facts, Page, Part, cell, img, para, table

Section = tuple[str, str, list[Part]]
DECISION_WORDS = {"act": "acts on the ground", "propose": "proposes", "answer": "answers", "ratify": "votes"}


def _facts_table(g: game.Game, rec: dict[str, Any], title: str) -> Part:
    c = g.compiled
    rows: list[tuple[str, Any]] = [
        ("game", title), ("scenario", c.scenario.name), ("seed, replicate", f"{g.seed}, {g.replicate}"),
        ("roles played by the class", ", ".join(g.roles) if g.moves else "none (the model made every decision)"),
        ("months played", f"{g.model.steps} of {c.horizon}"), ("decisions made by the class", str(len(g.moves))),
        ("outcome", str(rec.get("outcome_words") or rec["outcome"])),
    ]
    if rec.get("terms"):
        rows.append(("terms", ", ".join(f"{k} = {v}" for k, v in rec["terms"].items())))
    return Facts(rows)


def _months_table(g: game.Game) -> Part:
    from sim.play.classroom.room import public_month

    by_class = {m.key() for m in g.moves}
    rows = []
    for e in g.model.log:
        m = public_month(g.compiled, e, by_class)
        t = m["talks"]
        talk = "talks open" if m["opened"] else ""
        if t:
            talk = (f"{t['proposer']} offers package {t['package']}: "
                    + ", ".join(f"{k} = {v}" for k, v in t["terms"].items())
                    + (": AGREED" if t["agreed"] else ": no deal" + (", talks break down" if t["breakdown"] else "")))
        rows.append([cell(m["month"]), m["label"], cell(f"{m['territory_km2']:,.0f}", km2=m["territory_km2"]),
                     f"{m['change_km2']:+,.0f}", m["process"]["stage_words"], talk])
    return table(["#", "month", "Russia holds (km²)", "change", "stage", "talks"], rows, cls="months",
                 caption="Month by month: the front and the talks")


def _moves_table(g: game.Game) -> Part:
    from sim.play.classroom.room import public_month

    by_class = {m.key() for m in g.moves}
    rows = []
    for e in g.model.log:
        m = public_month(g.compiled, e, by_class)
        for a in m["actions"]:  # the actions on the ground at the start of the month
            rows.append([cell(m["month"]), m["label"], a["role"], DECISION_WORDS["act"], a["label"],
                         Cell(a["by"], cls=f"by-{a['by']}")])
        for mv in (m["talks"] or {}).get("moves", []):
            rows.append([cell(m["month"]), m["label"], mv["role"], DECISION_WORDS[mv["kind"]], mv["choice"],
                         Cell(mv["by"], cls=f"by-{mv['by']}")])
    if not rows:
        return para("No offer was made in this game: nobody had a decision.")
    return table(["#", "month", "role", "decision", "choice", "made by"], rows, cls="moves",
                 caption="Every action on the ground and decision in talks, and who made it")


def _events_part(events: Sequence[dict[str, Any]]) -> Part:
    if not events:
        return para("No events were recorded beside the moves.")
    rows = [[cell(e["month"]), e["role"], cell(e["kind"], kind=e["kind"]), e.get("to") or "",
             e["text"] + (f" (draft offer, not binding: {e['words']})" if e.get("words") else "")] for e in events]
    return table(["after month", "role", "kind", "to", "what happened"], rows, cls="events",
                 caption="Events beside the moves (roles taken and given up, the talk channel switched, messages "
                         "between roles with their draft offers), in order")


def _outcome_parts(g: game.Game, rec: dict[str, Any], figure: bool) -> list[Part]:
    cmp = rec.get("comparison")
    parts: list[Part] = []
    if cmp:
        words = {"agreement": "agreement", "talks_failed": "talks failed", "no_talks": "talks never opened"}
        rows = [[words[o], cell(f"{100 * share:.1f}%", share=share),
                 Cell("← the class" if o == rec["outcome"] else "", cls="ours" if o == rec["outcome"] else None)]
                for o, share in cmp["model_outcome_shares"].items()]
        parts.append(table(["outcome", f"share of {cmp['runs']:,} runs of the model", "the class"], rows,
                           cls="outcomes", caption="The class's outcome against the model's distribution"))
        if not rec.get("ending"):  # the end comparison's lines say the same and more
            parts += [para(s) for s in (rec.get("sentences") or game.sentences(g, cmp))]
    if rec.get("ending"):  # beside the model's own play of the same run (sim.play.ending)
        e = rec["ending"]
        parts.append(table(["", "the class", "the model, same run"],
                           [[r["what"], r["class"], r["model"]] for r in e["rows"]], cls="ending",
                           caption="The class's result beside the model's own play of the same run"))
        parts += [para(line) for line in e["lines"]]
    if figure:
        from sim.present.explain import draw_run

        with tempfile.TemporaryDirectory(prefix="negsim-class-") as tmp:
            png = draw_run(g.compiled, g.model, Path(tmp) / "run.png", g.row).read_bytes()
        parts.append(img(png, "The game month by month: the front, each government's value of fighting on "
                              "against the offers, and war-weariness"))
    return parts


def sections(g: game.Game, rec: dict[str, Any], events: Sequence[dict[str, Any]], title: str,
             figure: bool = True) -> list[Section]:
    """The summary's sections: the game, the outcome against the model, month by month, the decisions, the
    events. ``rec`` is the game's record (:func:`sim.play.game.record`) with its ``comparison``."""
    return [("class-game", f"The class: {title}", [_facts_table(g, rec, title)]),
            ("class-outcome", "The outcome against the model", _outcome_parts(g, rec, figure)),
            ("class-months", "Month by month", [_months_table(g)]),
            ("class-moves", "The decisions", [_moves_table(g)]),
            ("class-events", "Events and messages", [_events_part(events)])]


def page(g: game.Game, rec: dict[str, Any], events: Sequence[dict[str, Any]], title: str, figure: bool = True) -> str:
    """The summary as one self-contained HTML page."""
    from sim.version import version

    p = Page(f"Class summary: {title}")
    for anchor, heading, parts in sections(g, rec, events, title, figure):
        p.section(anchor, heading, *parts)
    return p.html(version())


def from_replay(path: str | Path, runs: int | None = None) -> list[Section]:
    """The summary's sections of a replay file (``negsim report --class``): the game replayed and checked, set
    against ``runs`` runs of the model (default: as many as the classroom uses) with the replay's seed."""
    rp = game.load_replay(path)
    g = game.replay(rp)
    batch = game.distribution(g.compiled, g.seed, runs) if runs else game.distribution(g.compiled, g.seed)
    cmp = game.compare(g, batch)
    rec = game.record(g, cmp)
    rec["sentences"] = game.sentences(g, cmp)
    from sim.play import ending
    from sim.play.classroom.room import ending_json

    made = dataclasses.replace(g, moves=[m for m in rp.moves if m.choice is not None], decisions=len(rp.moves))
    rec["ending"] = ending_json(g.compiled, ending.compare(made, batch))
    return sections(g, rec, rp.events, Path(path).name)
