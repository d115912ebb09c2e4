"""The classroom's sessions: who holds which role, the moves made, where the game stands (no web code here).

A session is its moves: the scenario, seed and replicate are the server's, and the game is replayed from
month 1 with the moves so far at every change (:func:`sim.play.game.resume`, about 15 ms), so the state kept is
the list of moves, the token hashes of the people who joined, and the month the class has reached.

Month flow (``docs/classroom.md``): the class is at month M (0 at the start, phase ``waiting``). The
teacher advances: the game runs to the end of month M+1 or to the first stage of talks where a person has
a decision (phase ``deciding``). Each move is recorded; when every pending decision of the stage is in,
the game runs on to the next stage or the end of the month. The teacher advancing while decisions are
pending leaves them to the model (a move of None: the model's own choice) and finishes the month. When
the game ends the phase is ``finished``.

Every change is saved under the state folder (``Classroom.keep``), so a server restarted on the same
folder, scenario and seed takes each class up where it stood, tokens included; a finished game stays
there, an unfinished one expires when idle, as in memory.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import hmac
import io
import json
import logging
import os
import re
import secrets
import socket
import stat
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sim.engine.model import Decision, NegotiationModel
from sim.engine.records import Proposer
from sim.play import ending, game, terms
from sim.present.explain import month_label
from sim.runs.batch import draw_shocks as draw
from sim.scenario.compile import Compiled

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed by a class
CODE_LENGTH = 6
CODE_PATTERN = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
STATE_FORMAT = "negsim-classroom/1"
OBSERVER = "observer"
MAX_OBSERVERS = 200  # per session: observer may be joined any number of times, within reason
MAX_EVENTS = 1000  # a class's own events kept (roles taken and given up)
MAX_MESSAGES = 400  # messages of the talk channel a class may send (sim.play.classroom.talk)
log = logging.getLogger("negsim.classroom")
ADVANCE_LIMIT = 1000  # stages one advance may run through (a game has at most a few per month)


class StateLocked(Exception):
    """The state folder is held by another server."""


class ClassroomError(Exception):
    """A request that cannot be served: ``status`` is the HTTP status, the message says why."""

    def __init__(self, status: int, message: str, retry_after: float | None = None):
        self.status = status
        self.retry_after = retry_after  # seconds, for a 429
        super().__init__(message)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def valid_code(code: str) -> bool:
    return isinstance(code, str) and CODE_PATTERN.fullmatch(code) is not None


@dataclass
class Session:
    """One class playing one game."""

    code: str
    compiled: Compiled
    seed: int
    replicate: int
    teacher: str  # sha256 of the teacher's token
    created: float
    last_used: float
    holders: dict[str, str] = field(default_factory=dict)  # token hash -> role ("observer" for observers)
    moves: list[game.Move] = field(default_factory=list)
    by_class: set[tuple[int, str, str]] = field(default_factory=set)  # keys of moves people made
    month: int = 0  # months resolved
    version: int = 0  # bumped at every change; live updates tell it
    position: game.Position | None = None
    result: dict[str, Any] | None = None  # the final record, once finished and compared
    owner: str = ""  # sha256 of the teacher secret that created it (the session cap counts per secret)
    saved_used: float = 0.0  # last_used as last saved
    events: list[dict[str, Any]] = field(default_factory=list)  # the class's own events: roles taken and given up,
    # the talk channel switched, messages (sim.play.classroom.talk)
    talk: dict[str, bool] = field(default_factory=lambda: {"on": True, "projector": False})
    sent: dict[str, list[float]] = field(default_factory=dict)  # role -> times of its recent messages (not saved)

    # -- who is who
    def role_of(self, token: str | None) -> str | None:
        """The role a token holds here ("teacher" for the teacher's), or None; compared in constant time."""
        if not token:
            return None
        h = token_hash(token)
        if hmac.compare_digest(h, self.teacher):
            return "teacher"
        found = None
        for held, role in self.holders.items():
            if hmac.compare_digest(h, held):
                found = role
        return found

    @property
    def humans(self) -> set[str]:
        return {r for r in self.holders.values() if r != OBSERVER}

    @property
    def phase(self) -> str:
        if self.position is not None and self.position.finished:
            return "finished"
        if self.position is not None and self.position.pending:
            return "deciding"
        return "waiting"

    @property
    def finished(self) -> bool:
        return self.phase == "finished"

    def touch(self, now: float) -> None:
        self.last_used = now
        self.version += 1

    # -- the game
    def _resume(self, until: int) -> game.Position:
        self.position = game.resume(self.compiled, self.seed, self.replicate, self.humans, self.moves, until, act=True)
        return self.position

    def refresh(self) -> None:
        """Where the game stands with the moves so far, within the month being played."""
        if self.position is None or not self.position.pending:
            if self.month == 0 and self.position is None:
                self.position = self._resume(0)
            return
        pos = self._resume(self.month + 1)
        if not pos.pending:
            self._month_done(pos)

    def _month_done(self, pos: game.Position) -> None:
        self.month = pos.model.steps

    def join(self, role: str) -> None:
        """A person takes ``role``: its decisions already made by the model stay the model's."""
        for d_key in self._decisions_so_far(role):
            if d_key not in {m.key() for m in self.moves}:
                self.moves.append(game.Move(d_key[0], role, d_key[2], None))
        if self.position is not None and self.position.pending:
            self._resume(self.month + 1)  # the role may have a decision in the stage being played

    def _decisions_so_far(self, role: str) -> list[tuple[int, str, str]]:
        """The keys of ``role``'s decisions before the point the class has reached."""
        pending = self.position.pending if self.position is not None else []
        stop = (pending[0].month, game.KINDS.index(pending[0].kind)) if pending else (self.month + 1, -1)
        recorded = game.Recorded(self.moves)
        seen: list[tuple[int, str, str]] = []

        def decide(d: Decision) -> game.Choice:
            if (d.month, game.KINDS.index(d.kind)) >= stop:
                raise game.Paused
            if d.role == role:
                seen.append((d.month, d.role, d.kind))
            return recorded(d)

        model = NegotiationModel(self.compiled, draw(self.compiled, self.seed, [self.replicate]).run(0), decide=decide)
        try:
            while model.running and model.steps < stop[0]:
                model.step()
        except game.Paused:
            pass
        return seen

    def note(self, role: str, kind: str, text: str) -> None:
        """An event of the class (not a move): kept with the session and written to its replay file."""
        if len(self.events) < MAX_EVENTS:
            self.events.append({"month": self.month, "role": role, "kind": kind, "text": text})

    def release(self, role: str) -> None:
        """Nobody holds ``role`` any more (its tokens stop working): its moves so far stay, and the model plays it
        from here as it plays every role nobody took; a decision of the stage being played becomes the model's."""
        for h in [h for h, r in self.holders.items() if r == role]:
            del self.holders[h]
        if self.position is not None and self.position.pending:
            pos = self._resume(self.month + 1)
            if not pos.pending:
                self._month_done(pos)

    def pending_for(self, role: str) -> Decision | None:
        if self.position is None:
            return None
        done = {m.key() for m in self.moves}
        for d in self.position.pending:
            if d.role == role and (d.month, d.role, d.kind) not in done:
                return d
        return None

    def move(self, role: str, body: dict[str, Any]) -> game.Move:
        """Record ``role``'s move for its pending decision; ClassroomError 400 says what is wrong with it."""
        if self.finished:
            raise ClassroomError(400, "the game is over: no more moves")
        d = self.pending_for(role)
        if d is None:
            raise ClassroomError(400, f"{role} has no decision to make now (phase {self.phase}, month "
                                      f"{self.month}): wait for the teacher or the other roles")
        kind = body.get("kind")
        if kind not in game.KINDS:
            raise ClassroomError(400, f"expected \"kind\" to be one of {', '.join(game.KINDS)}, got {kind!r}")
        if kind != d.kind:
            raise ClassroomError(400, f"it is {role}'s turn to {d.kind}, not to {kind}")
        month = body.get("month", d.month)
        if type(month) is not int or month != d.month:
            raise ClassroomError(400, f"this decision is for month {d.month}, got month {month!r}")
        if "choice" not in body:
            raise ClassroomError(400, "expected \"choice\": an action's name (or \"none\") to act, a package (number "
                                      "or issue=option,...) to propose, true/false to answer or ratify, or null to "
                                      "leave it to the model")
        choice = self._read_choice(d, body["choice"])
        m = game.Move(d.month, role, d.kind, choice)
        self.moves.append(m)
        if choice is not None:
            self.by_class.add(m.key())
        waiting = {p.role for p in self.position.pending} if self.position is not None else set()
        if all(self.pending_for(r) is None for r in waiting):
            self.refresh()
        return m

    def _read_choice(self, d: Decision, raw: Any) -> game.Choice:
        c = self.compiled
        if raw is None:
            return None
        try:
            if d.kind == "act":  # an action on the ground by name; "none" or "pass": no action this month
                if not isinstance(raw, str) or len(raw) > 200:
                    raise game.MoveError(f"expected the name of one of {d.role}'s actions (or \"none\"), got "
                                         f"{raw!r:.80}")
                name = game.parse_action(c, d.role, raw)
                game.check_choice(c, d, name)
                return name
            if d.kind == "propose":
                if type(raw) is int:
                    if not 0 <= raw < c.n_packages:
                        raise game.MoveError(f"expected a package number from 0 to {c.n_packages - 1}, got {raw}")
                    x = raw
                elif isinstance(raw, str) and len(raw) <= 500:
                    if raw.strip().isdigit() and not raw.strip().isascii():
                        raise game.MoveError(f"a package number is written in the digits 0-9, got {raw!r:.80}")
                    x = game.parse_package(c, raw)
                else:
                    raise game.MoveError(f"expected a package number or terms issue=option,..., got {raw!r:.80}")
                game.check_choice(c, d, x)
                return x
        except game.MoveError as e:
            raise ClassroomError(400, str(e)) from None
        if type(raw) is not bool:
            yes, no = ("accept", "reject") if d.kind == "answer" else ("ratify", "reject")
            raise ClassroomError(400, f"expected true ({yes}) or false ({no}), got {raw!r:.80}")
        return raw

    def advance(self, until_decision: bool = False) -> None:
        """The teacher moves the class on: through the month being played (pending decisions left to the
        model), or into the next month; with ``until_decision``, on until a person has a decision or the end."""
        if self.finished:
            raise ClassroomError(400, "the game is over: nothing to advance")
        for _ in range(ADVANCE_LIMIT):
            pos = self.position
            if pos is not None and pos.pending:
                done = {m.key() for m in self.moves}
                for d in pos.pending:
                    if (d.month, d.role, d.kind) not in done:
                        self.moves.append(game.Move(d.month, d.role, d.kind, None))
                pos = self._resume(self.month + 1)
                if pos.pending:
                    continue
                self._month_done(pos)
                if not until_decision or pos.finished:
                    return
            pos = self._resume(self.month + 1)
            if not pos.pending:
                self._month_done(pos)
            if pos.finished or pos.pending or not until_decision:
                return

    # -- what people see
    def public_months(self) -> list[dict[str, Any]]:
        """Each resolved month as everybody may see it: the front, the offer, the answers, the votes."""
        if self.position is None:
            return []
        model = self.position.model
        return [public_month(self.compiled, e, self.by_class, model.p) for e in model.log]

    def situation(self) -> dict[str, Any]:
        """The front now (after the last month resolved)."""
        model = self.position.model if self.position is not None else None
        if model is None or not model.log:
            p = draw(self.compiled, self.seed, [self.replicate]).run(0).params
            return {"month": 0, "territory_km2": float(p["territory0"]), "kursk_km2": float(p["kursk0"]),
                    "talks_open": False, "label": month_label(self.compiled.scenario.model.start, 0),
                    "process": game.process(self.compiled, {"stage": "war"})}
        return {"month": model.steps, "territory_km2": float(model.battlefield.territory),
                "kursk_km2": float(model.battlefield.kursk), "talks_open": bool(model.talks_open),
                "label": month_label(self.compiled.scenario.model.start, model.steps),
                "process": game.process(self.compiled, model.log[-1])}

    def awaiting(self) -> dict[str, Any] | None:
        """The stage of talks the class is playing, as everybody may see it: its month and kind, the roles whose
        move is awaited, and the offer on the table (the package the governments answer or the publics vote
        on, once it is made)."""
        pos = self.position
        if pos is None or not pos.pending:
            return None
        c, d = self.compiled, pos.pending[0]
        done = {m.key() for m in self.moves}
        out: dict[str, Any] = {"month": d.month, "label": month_label(c.scenario.model.start, d.month), "kind": d.kind,
                               "roles": sorted(p.role for p in pos.pending if (p.month, p.role, p.kind) not in done),
                               "on_table": None}
        if d.package >= 0:  # the offer in words, its land term's km2 at the line of the day
            info = terms.package_info(c, int(d.package), pos.model.p, d.view.get("territory_km2"))
            out["on_table"] = {"package": int(d.package), "terms": info["terms"], "words": info["words"],
                               "term_words": info["term_words"]}
        return out

    def roles(self) -> dict[str, dict[str, Any]]:
        held = set(self.holders.values())
        return {r: {"kind": k, "taken": r in held} for r, k in game.role_kinds(self.compiled).items()} | {
            OBSERVER: {"kind": OBSERVER, "taken": False,
                       "count": sum(1 for r in self.holders.values() if r == OBSERVER)}}

    def state(self, role: str) -> dict[str, Any]:
        """What ``role`` (a role, "observer" or "teacher") sees now."""
        c = self.compiled
        out: dict[str, Any] = {
            "code": self.code, "scenario": c.scenario.name, "role": role, "month": self.month,
            "horizon": c.horizon, "phase": self.phase, "finished": self.finished, "version": self.version,
            "situation": self.situation(), "months": self.public_months(), "roles": self.roles(),
            "issues": {i: list(c.options[k]) for k, i in enumerate(c.issues)},
            "pending": None, "moved": False, "awaiting": self.awaiting(),
        }
        if role == "teacher":
            pos = self.position
            done = {m.key() for m in self.moves}
            out["waiting_for"] = sorted(d.role for d in pos.pending
                                        if (d.month, d.role, d.kind) not in done) if pos is not None else []
            out["stage"] = ({"month": pos.pending[0].month, "kind": pos.pending[0].kind}
                            if pos is not None and pos.pending else None)
        elif role != OBSERVER:
            log = self.position.model.log if self.position is not None else []
            out["own"] = own_numbers(c, role, log[-1]) if log else None
            d = self.pending_for(role)
            if d is not None:
                out["pending"] = decision_view(c, d, self.position.model if self.position is not None else None)
            elif self.position is not None and any(p.role == role for p in self.position.pending):
                out["moved"] = True  # moved this stage: waiting for the others
        if self.finished and self.result is not None:
            out["results"] = self.result
        return out

    # -- the end
    def final_game(self) -> game.Game:
        c = self.compiled
        moved = [m for m in self.moves if m.choice is not None]
        played = sorted(self.humans | {m.role for m in moved}) or list(c.governments)  # a role given up played too
        g = game.play(c, self.seed, self.replicate, played, game.Recorded(self.moves))
        g.moves = moved
        return g

    def conclude(self, batch) -> dict[str, Any]:
        """The outcome set against the model's distribution (``batch``: game.distribution of this scenario)."""
        g = self.final_game()
        cmp = game.compare(g, batch)
        rec = game.record(g, cmp)
        rec["sentences"] = game.sentences(g, cmp)
        if g.row["outcome"] == "agreement":  # the settlement in words, each stakeholder's satisfaction with it
            x = int(g.model.deal)
            rec["terms_words"] = terms.package_words(c := self.compiled, x, float(g.row["land_km2"]))
            rec["satisfaction"] = terms.deal_satisfaction(c, g.model.log)
        else:
            rec["terms_words"], rec["satisfaction"] = None, None
        rec["moves"] = [m.as_dict() | {"by": "class" if m.key() in self.by_class else "model"} for m in self.moves]
        g.decisions = len(self.moves)  # the decisions that fell to the class's roles, made or left to the model
        rec["ending"] = ending_json(self.compiled, ending.compare(g, batch))
        self.result = rec
        return rec

    def csv_text(self) -> str:
        """Every decision of the game (the class's and the model's), then the outcome: one CSV."""
        g = self.final_game()
        c = g.compiled
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["month", "role", "kind", "choice", "package", "terms", "made_by"])
        for e in g.model.log:
            for a in actions_taken(c, e, self.by_class):
                w.writerow([e["month"], a["role"], "act", a["name"], "", a["label"], a["by"]])
            t = e.get("talks")
            if not t:
                continue
            played = t.get("played", {})
            proposer = t["lead"] if t["proposer"] == Proposer.MEDIATOR else c.governments[t["proposer"]]
            x = int(t["package"])
            terms = game.package_label(c, x)
            w.writerow([e["month"], proposer, "propose", "propose", x, terms, _by(played.get("proposal"))])
            for gi, gov in enumerate(c.governments):
                ok = bool(t["answers"][gi][1])
                own = played.get("proposal") and t["proposer"] == gi  # a person accepts the offer they made
                w.writerow([e["month"], gov, "answer", "accept" if ok else "reject", x, terms,
                            _by(own or played.get("answers", [False, False])[gi])])
            if all(bool(a[1]) for a in t["answers"]):
                for gi, (_prob, ok, voted) in t["votes"].items():
                    if voted:
                        w.writerow([e["month"], c.publics[gi], "ratify", "ratify" if ok else "reject", x, terms,
                                    _by(played.get("votes", {}).get(gi))])
        row = g.row
        agreed = row["outcome"] == "agreement"
        month = int(row["agreement_month"]) if agreed else g.model.steps
        w.writerow([month, "", "outcome", str(row["outcome"]), int(g.model.deal) if agreed else "",
                    game.package_label(c, int(g.model.deal)) if agreed else "", ""])
        return buf.getvalue()

    # -- saving
    def to_json(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "code": self.code, "scenario": self.compiled.scenario.name,
                "scenario_sha256": scenario_sha(self.compiled), "seed": str(self.seed), "replicate": self.replicate,
                "teacher": self.teacher, "holders": self.holders, "month": self.month,
                "moves": [m.as_dict() for m in self.moves], "by_class": [list(k) for k in sorted(self.by_class)],
                "created": self.created, "last_used": self.last_used, "result": self.result, "owner": self.owner,
                "deciding": self.phase == "deciding", "events": self.events, "talk": self.talk}


def _by(flag: Any) -> str:
    return "class" if flag else "model"


def ending_json(c: Compiled, e: ending.Ending) -> dict[str, Any]:
    """The end screen's comparison (:mod:`sim.play.ending`) as the pages read it: the side-by-side table (terms in
    words and km2, month, losses, satisfaction), each game's satisfaction per stakeholder as bars, the lines
    placing the class's result in the distribution counting the cost of waiting (or saying it had no move)."""
    def side(r: ending.Result) -> dict[str, Any]:
        return {"outcome": r.outcome, "words": r.words, "month": r.month, "terms_words": r.terms_words,
                "land_km2": r.land_km2, "losses": r.losses, "utility": r.utility, "with_wait": r.with_wait,
                "satisfaction": [{"actor": a, "kind": "public" if a in c.publics else "government", "score": v,
                                  "basis": "true"} for a, v in r.satisfaction.items()]}

    return {"played": e.played, "decisions": e.decisions, "moves": e.moves, "runs": e.runs,
            "rows": [{"what": w, "class": y, "model": m} for w, y, m in ending.rows(c, e)],
            "lines": ending.lines(c, e), "class": side(e.yours), "model": side(e.model),
            "placement": {g: asdict(p) for g, p in e.placement.items()}}


def saved_event(e: Mapping[str, Any]) -> dict[str, Any]:
    """A saved event of the class: month, role, kind, text; a message also its addressee and any draft terms."""
    out = {"month": int(e["month"]), "role": str(e["role"]), "kind": str(e["kind"]), "text": str(e["text"])}
    if e.get("to") is not None:
        out["to"] = str(e["to"])
    if e.get("terms"):
        out |= {"terms": {str(k): str(v) for k, v in dict(e["terms"]).items()}, "words": str(e.get("words", ""))}
    return out


def saved_choice(m: Mapping[str, Any]) -> game.Choice:
    """A saved move's choice: a package number, yes/no, or an action's name (None: the model's)."""
    raw = m["choice"]
    if raw is None:
        return None
    if m["kind"] == "act":
        return str(raw)
    return int(raw) if m["kind"] == "propose" else bool(raw)


def scenario_sha(c: Compiled) -> str:
    return hashlib.sha256(c.scenario.text.encode()).hexdigest()


def public_month(c: Compiled, e: Mapping[str, Any], by_class: set[tuple[int, str, str]],
                 params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A month of the log as every role may see it: never another role's private numbers (the offer's terms in
    words, with the km2 of its land term at the month's line when ``params`` are given)."""
    t = e["month"]
    out: dict[str, Any] = {"month": t, "label": month_label(c.scenario.model.start, t),
                           "change_km2": float(e["change"]), "territory_km2": float(e["territory"]),
                           "kursk_km2": float(e["kursk"]), "opened": bool(e.get("opened", False)),
                           "events": [f"{p} is now {v:g}" for p, v in e.get("events", [])], "talks": None,
                           "process": game.process(c, e), "actions": actions_taken(c, e, by_class)}
    talks = e.get("talks")
    if talks:
        proposer = talks["lead"] if talks["proposer"] == Proposer.MEDIATOR else c.governments[talks["proposer"]]
        x = int(talks["package"])
        signed = all(bool(a[1]) for a in talks["answers"])
        votes = {c.publics[g]: bool(ok) for g, (_p, ok, voted) in talks["votes"].items() if voted and signed}
        moves = [{"role": proposer, "kind": "propose", "choice": f"package {x}",
                  "by": "class" if (t, proposer, "propose") in by_class else "model"}]
        own = proposer if (t, proposer, "propose") in by_class else None  # a person accepts the offer they made
        moves += [{"role": g, "kind": "answer", "choice": "accept" if a[1] else "reject",
                   "by": "class" if (t, g, "answer") in by_class or g == own else "model"}
                  for g, a in zip(c.governments, talks["answers"], strict=True)]
        moves += [{"role": p, "kind": "ratify", "choice": "ratify" if ok else "reject",
                   "by": "class" if (t, p, "ratify") in by_class else "model"} for p, ok in votes.items()]
        out["talks"] = {"proposer": proposer, "package": x, "terms": c.term_names(x),
                        "words": terms.package_info(c, x, params, float(e["territory"]))["words"],
                        "answers": {g: bool(a[1]) for g, a in zip(c.governments, talks["answers"], strict=True)},
                        "votes": votes, "agreed": bool(talks["agreed"]), "breakdown": bool(talks.get("breakdown")),
                        "moves": moves}
    return out


def actions_taken(c: Compiled, e: Mapping[str, Any], by_class: set[tuple[int, str, str]]) -> list[dict[str, Any]]:
    """The actions on the ground taken at the start of a month of the log: role, action, its label and effect, and
    who chose it (the class or the model)."""
    out = []
    for role, name in e.get("actions") or []:
        a = c.actions.get(role, {}).get(name)
        out.append({"role": role, "name": name, "label": a.label if a is not None and a.label else terms.words(name),
                    "effect": a.effect if a is not None else "",
                    "by": "class" if (e["month"], role, "act") in by_class else "model"})
    return out


def own_numbers(c: Compiled, role: str, e: Mapping[str, Any]) -> dict[str, Any] | None:
    """What ``role`` alone sees of a resolved month: a government its value of fighting on, expected costs,
    losses and its public's mood; a public its war-weariness; a mediator nothing more than everybody."""
    if role in c.governments:
        g = c.governments.index(role)
        return {"month": e["month"], "value_of_fighting": float(e["values"][g]), "expected_costs": float(e["costs"][g]),
                "casualties": float(e["casualties"][g]), "weariness": e["weariness"].get(g)}
    if role in c.publics and c.publics.index(role) in e["weariness"]:
        return {"month": e["month"], "weariness": float(e["weariness"][c.publics.index(role)])}
    return None


def decision_view(c: Compiled, d: Decision, model: NegotiationModel | None = None) -> dict[str, Any]:
    """A pending decision as its own role sees it (Decision.view: its private numbers only), with the terms in
    words (the land term's km2 at the line of the day when ``model`` is given), who made the offer, the one value
    of no deal the role decides with, and each stakeholder's satisfaction (:mod:`sim.play.terms`)."""
    v = d.view
    params, territory = (model.p, v.get("territory_km2")) if model is not None else (None, None)
    out: dict[str, Any] = {"kind": d.kind, "month": d.month, "role": d.role,
                           "label": month_label(c.scenario.model.start, d.month), "view": v,
                           "proposer": v.get("proposer")}
    if "demand" in v:  # the number the model compares an offer with: what the role asks of a deal at these talks
        out["no_deal"] = {"value": float(v["demand"]), "name": "what you ask of a deal at these talks (your value "
                          f"of fighting on as you judge it in month {d.month})"}
    if d.package >= 0:
        x = int(d.package)
        out["package"] = terms.package_info(c, x, params, territory)
        out["satisfaction"] = [s.as_dict() for s in terms.from_view(c, d.role, v, x)]
    if d.kind == "propose":
        out |= _propose_options(c, d, params, territory)
    if d.kind == "act":  # the role's actions on the ground, each with its expected effect and the times left
        out["actions"] = [dict(a) for a in v.get("actions", [])]
    return out


def _propose_options(c: Compiled, d: Decision, params: Any, territory: float | None) -> dict[str, Any]:
    """The packages a proposer is offered: those no active red line of either government forbids (a package
    across the other side's red line is certain to be rejected), best first. A government scores the terms
    alone (0 = worst, 1 = best terms; what any deal adds beside them, a side-payment, is the same for every
    package and is counted in the satisfaction); the lead mediator the chance of a ratified deal."""
    v = d.view
    own = [x for x in range(c.n_packages) if d.options is None or bool(d.options[x])]
    both = v.get("both_allowed")
    legal = [x for x in own if both is None or bool(both[x])]
    why = f"{' and '.join(g for g in c.governments if g != d.role)}'s red lines forbid them: they would be " \
        "rejected whatever else they bring"
    if not legal:  # no package meets both sides' red lines and minimum terms: any offer is one side's to refuse
        legal, why = list(own), "no package meets both governments' red lines and minimum terms in this run"
    if "terms_utilities" in v:
        score_name, score = "your worth of the terms (0 = worst, 1 = best)", v["terms_utilities"]
    else:
        score_name, score = "chance of a ratified deal", v["chance_of_deal"]
    legal.sort(key=lambda x: -score[x])
    options = [terms.package_info(c, x, params, territory) | {
        "score": float(score[x]), "satisfaction": [s.as_dict() for s in terms.from_view(c, d.role, v, x)]}
        for x in legal]
    return {"options": options, "score_name": score_name, "side_payment": v.get("side_payment"),
            "left_out": {"count": len(own) - len(legal), "why": why}}


MAX_STATE_BYTES = 20_000_000  # a saved session: its moves and result are a few KB


def read_state(path: Path) -> bytes | None:
    """A state file's bytes; None if there is none; ValueError for a symlink, a FIFO or a device, or a file
    larger than MAX_STATE_BYTES (never followed, never waited on)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ValueError(f"cannot open it ({e.strerror}; a symlink is never followed)") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file")
        raw = f.read(MAX_STATE_BYTES + 1)
    if len(raw) > MAX_STATE_BYTES:
        raise ValueError(f"larger than {MAX_STATE_BYTES} bytes")
    return raw


class Classroom:
    """Every session of one server: bounded in count, expired when idle, saved to ``state_dir`` at every change."""

    def __init__(self, compiled: Compiled, seed: int = 0, replicate: int = 0, state_dir: str | Path = "runs/classroom",
                 max_sessions: int = 100, idle_seconds: float = 6 * 3600, runs: int = 2000,
                 clock: Callable[[], float] = time.time, max_per_teacher: int = 40):
        game.check_playable(compiled, "negsim classroom")
        self.compiled, self.seed, self.replicate = compiled, seed, replicate
        self.state_dir = Path(state_dir)
        self.max_sessions, self.idle_seconds, self.runs = max_sessions, idle_seconds, runs
        self.max_per_teacher = max_per_teacher
        self.clock = clock
        self.sessions: dict[str, Session] = {}
        self._batch = None

    def batch(self):
        """The model's distribution of the scenario (computed once, shared by every session)."""
        if self._batch is None:
            self._batch = game.distribution(self.compiled, self.seed, self.runs)
        return self._batch

    def expire(self) -> None:
        now = self.clock()
        for code in [k for k, s in self.sessions.items() if now - s.last_used > self.idle_seconds]:
            del self.sessions[code]

    def create(self, owner: str = "") -> tuple[Session, str]:
        """A new session and the teacher's token (only its hash is kept); ``owner``: the hash of the teacher
        secret it was created with, whose sessions are capped at ``max_per_teacher``."""
        self.expire()
        if len(self.sessions) >= self.max_sessions:
            raise ClassroomError(503, f"the server holds {self.max_sessions} sessions, its limit: try again when "
                                      "one has been idle long enough to expire")
        if sum(1 for s in self.sessions.values() if s.owner == owner) >= self.max_per_teacher:
            raise ClassroomError(503, f"this teacher secret holds {self.max_per_teacher} sessions, its limit: "
                                      "try again when one has been idle long enough to expire")
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if code not in self.sessions and not os.path.lexists(self._saved_path(code)):
                break
        token = secrets.token_urlsafe(32)
        now = self.clock()
        s = Session(code, self.compiled, self.seed, self.replicate, token_hash(token), now, now, owner=owner)
        s.refresh()
        self.sessions[code] = s
        self.keep(s)
        return s, token

    def get(self, code: str) -> Session:
        """The session of a join code: in memory, or saved by this or an earlier server; 404 otherwise."""
        if not valid_code(code):
            raise ClassroomError(404, f"no session {code[:20]!r}: a join code is {CODE_LENGTH} letters and digits")
        self.expire()
        s = self.sessions.get(code)
        if s is None:
            s = self._load(code)
        if s is None:
            raise ClassroomError(404, f"no session {code}: it may have expired (sessions idle for "
                                      f"{self.idle_seconds / 3600:g} h are dropped)")
        return s

    def seen(self, s: Session, save_every: float = 60.0) -> None:
        """The teacher or a role used the session: it stays alive (only they keep it so: a request with the
        code alone, or an observer's, does not). The time is saved at most every ``save_every`` seconds, so a
        class that is only watched is not taken for idle after a restart."""
        s.last_used = self.clock()
        if s.last_used - s.saved_used >= save_every:
            self.keep(s)

    def join(self, code: str, role: Any) -> str:
        s = self.get(code)
        kinds = game.role_kinds(self.compiled)
        if not isinstance(role, str) or (role not in kinds and role != OBSERVER):
            raise ClassroomError(400, f"no role {str(role)[:40]!r} in this game: expected one of "
                                      f"{', '.join([*kinds, OBSERVER])}")
        if role != OBSERVER and role in s.holders.values():
            raise ClassroomError(409, f"the role {role} is taken: pick another one (or observer)")
        if role == OBSERVER and sum(1 for r in s.holders.values() if r == OBSERVER) >= MAX_OBSERVERS:
            raise ClassroomError(409, f"this session has {MAX_OBSERVERS} observers, its limit")
        if s.finished and role != OBSERVER:
            raise ClassroomError(409, "the game is over: join as observer to see it")
        token = secrets.token_urlsafe(32)
        s.holders[token_hash(token)] = role
        if role != OBSERVER:
            s.join(role)
            s.note(role, "joined", f"a student takes {role}")
            s.last_used = self.clock()  # a role taken is activity; an observer joining is not
        s.version += 1
        return token

    def leave(self, s: Session, token: str) -> str:
        """The holder of ``token`` gives its role up (an observer stops watching); the role it held."""
        h = token_hash(token)
        role = s.holders.get(h)
        if role is None:
            raise ClassroomError(403, "the teacher's token holds no role to leave")
        if role == OBSERVER:
            del s.holders[h]
        else:
            self._free(s, role, "left", f"the student playing {role} leaves: the model plays it")
        return role

    def remove(self, s: Session, role: Any) -> None:
        """The teacher takes ``role`` from the student holding it: the model plays it until somebody takes it."""
        kinds = game.role_kinds(self.compiled)
        if not isinstance(role, str) or role not in kinds:
            raise ClassroomError(400, f"no role {str(role)[:40]!r} to remove a student from: expected one of "
                                      f"{', '.join(kinds)}")
        if role not in s.holders.values():
            raise ClassroomError(409, f"nobody holds {role}: the model plays it already")
        self._free(s, role, "removed", f"the teacher removes the student playing {role}: the model plays it")

    def _free(self, s: Session, role: str, kind: str, text: str) -> None:
        if s.finished:
            raise ClassroomError(409, "the game is over: its roles stay as they were played")
        s.release(role)
        s.note(role, kind, text)
        s.last_used = self.clock()

    # -- saved games
    def _saved_path(self, code: str) -> Path:
        assert valid_code(code)  # the only way a request reaches the file system: a checked code
        return self.state_dir / f"{code}.json"

    def save(self, s: Session) -> Path:
        """Write ``s`` to its state file: a temporary file created exclusively in the folder (never one that
        is already there, such as a planted symlink), then renamed over the state file."""
        path = self._saved_path(s.code)
        path.parent.mkdir(parents=True, exist_ok=True)
        from sim.jsonsafe import dumps

        fd, tmp = tempfile.mkstemp(prefix=f".{s.code}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(dumps(s.to_json()) + "\n")
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        s.saved_used = s.last_used
        return path

    def lock(self) -> Any:
        """Hold the state folder for this server (released when the returned file is closed, or the process
        ends); StateLocked naming the holder if another server holds it."""
        import fcntl

        self.state_dir.mkdir(parents=True, exist_ok=True)
        f = open(self.state_dir / ".lock", "a+")  # noqa: SIM115 - held open while the server runs
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            who = f.read().strip()[:200] or "another process"
            f.close()
            raise StateLocked(f"the state folder {self.state_dir} is in use by another classroom server ({who}): "
                              "stop it, or give this one another --state folder") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        f.flush()
        return f

    def keep(self, s: Session) -> bool:
        """Save ``s`` after a change, so that a restarted server takes the class up where it was; False (and the
        game goes on in memory) if the state folder cannot be written."""
        try:
            self.save(s)
        except OSError:
            return False
        return True

    def replay_path(self, s: Session) -> Path:
        """Write the game's replay file for ``negsim explain --replay`` beside its state file."""
        g = s.final_game()
        rec = dict(s.result or game.record(g, None))
        return game.save_replay(g, self.state_dir / f"{s.code}.replay.json", rec, s.events)

    def _load(self, code: str) -> Session | None:
        path = self._saved_path(code)
        try:
            raw = read_state(path)
            if raw is None:
                return None
            doc = json.loads(raw)
            if doc.get("format") != STATE_FORMAT or doc.get("code") != code:
                raise ValueError("not a saved classroom session of this code")
            if doc["scenario_sha256"] != scenario_sha(self.compiled) or int(doc["seed"]) != self.seed:
                raise ClassroomError(410, f"session {code} was played with another scenario or seed than this "
                                          "server's: start the server with that scenario to see it")
            moves = [game.Move(int(m["month"]), str(m["role"]), str(m["kind"]), saved_choice(m)) for m in doc["moves"]]
            now = self.clock()
            s = Session(code, self.compiled, self.seed, game.check_replicate(doc["replicate"]), str(doc["teacher"]),
                        float(doc["created"]), now, holders={str(k): str(v) for k, v in doc["holders"].items()},
                        moves=moves, by_class={(int(a), str(b), str(c)) for a, b, c in doc["by_class"]},
                        month=int(doc["month"]), result=doc.get("result"), owner=str(doc.get("owner", "")),
                        events=[saved_event(e) for e in doc.get("events", [])][:MAX_EVENTS + MAX_MESSAGES],
                        talk={k: bool(doc.get("talk", {}).get(k, v)) for k, v in (("on", True), ("projector", False))})
            last_used, deciding = float(doc.get("last_used", s.created)), bool(doc.get("deciding", False))
            s.saved_used = last_used
            # where the class stood: at the end of month M, or deciding within month M + 1
            s.position = game.resume(self.compiled, s.seed, s.replicate, s.humans, s.moves, s.month + deciding,
                                     act=True)
        except ClassroomError:
            raise
        except Exception as e:  # noqa: BLE001 - whatever is wrong with the file, the class is not served from it
            self._set_aside(path, e)
            return None
        if not s.position.finished:
            if now - last_used > self.idle_seconds:  # an unfinished game left idle expires, as in memory
                path.unlink(missing_ok=True)
                return None
            if deciding and not s.position.pending:
                return None  # the file does not describe a game this server can reach
        self.expire()
        if len(self.sessions) >= self.max_sessions:
            raise ClassroomError(503, f"the server holds {self.max_sessions} sessions, its limit")
        self.sessions[code] = s
        return s

    def _set_aside(self, path: Path, why: Exception) -> None:
        """A state file that does not load: renamed to CODE.json.bad-TIME (kept for a look), with a warning."""
        aside = path.with_name(f"{path.name}.bad-{int(self.clock())}")
        try:
            os.replace(path, aside)
        except OSError:
            aside = path
        log.warning("set aside the state file %s, which does not load (%s: %.200s)", aside, type(why).__name__, why)
