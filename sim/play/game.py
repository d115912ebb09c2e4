"""Games: one run of a scenario in which people make some of the moves (``negsim play``, the classroom).

A person takes one or more roles: a government proposes packages and accepts or rejects them, a mediator
proposes, a voting public ratifies or rejects. The model plays every other role, and a played role's
decision that gets no move gets the model's own choice, so a game with no moves is exactly the batch run
of the same seed and replicate (the Mesa model, :class:`sim.engine.model.NegotiationModel`, asks at each
:class:`~sim.engine.model.Decision`).

A game is its moves: the scenario, seed, replicate and the list of moves replay it exactly, so a game is
saved as a small replay file (``negsim explain --replay``) and a paused game (the classroom) is resumed by
running again from month 1 with the moves so far.

Moves files (``--moves``): one move per line, ``MONTH ROLE VERB [PACKAGE]``; ``#`` starts a comment.
VERB is ``propose`` (with a package), ``accept`` or ``reject`` for a government, ``propose`` for a mediator,
``ratify`` or ``reject`` for a public. PACKAGE is the package number or its terms ``issue=option,...``.
Any role with actions on the ground in the scenario (``actions:``) may also ``act ACTION`` at the start of a
month (``act none`` or ``act pass``: no action, the model's own choice); see :func:`role_actions`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.defaults import REFERENCE_RUNS
from sim.engine.model import Decision, NegotiationModel, actions_left
from sim.engine.records import STAGE_NAMES, stack_runs, to_frame
from sim.engine.shocks import check_replicate
from sim.errors import NegsimError, UsageError
from sim.play import replays
from sim.runs.batch import draw_shocks as draw
from sim.scenario.compile import Compiled, compile_scenario
from sim.scenario.models import Scenario, scenario_from_data
from sim.scenario.registry import max_packages
from sim.scenario.yamlsrc import read_bounded

KINDS = ("act", "propose", "answer", "ratify")  # the order of decisions within a month
VERBS = {"government": ("propose", "accept", "reject"), "mediator": ("propose",), "public": ("ratify", "reject")}
NO_ACTION = ("none", "pass")  # ``act none``: the role takes no action this month (the model's own choice)
Choice = int | bool | str | None  # a package, yes/no, an action's name; None: the model's
REPLAY_FORMAT = replays.REPLAY_FORMAT


class MoveError(UsageError):
    """A move that cannot be made: malformed, illegal, or out of turn. ``where`` is FILE:LINE when from a file."""

    def __init__(self, message: str, where: str | None = None):
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class Move:
    """A person's move: at ``month``, ``role`` makes a ``kind`` decision with ``choice`` (package, yes/no, or the
    name of an action on the ground).

    A choice of None is a decision a person left to the model (the classroom: the teacher advanced before
    the role moved): replayed, it is the model's own choice, and :func:`resume` does not wait for it."""

    month: int
    role: str
    kind: str
    choice: Choice
    where: str | None = None  # FILE:LINE of a moves file

    def key(self) -> tuple[int, str, str]:
        return self.month, self.role, self.kind

    def as_dict(self) -> dict[str, Any]:
        return {"month": self.month, "role": self.role, "kind": self.kind, "choice": self.choice}


def role_kinds(c: Compiled) -> dict[str, str]:
    """Every role a person may take -> government, mediator or public."""
    out = {g: "government" for g in c.governments}
    out |= {m: "mediator" for m in c.mediators}
    out |= {p: "public" for p in c.publics if p is not None}
    return out


def check_roles(c: Compiled, roles: list[str]) -> list[str]:
    known = role_kinds(c)
    if not roles:
        raise MoveError(f"name at least one role to play (one of {', '.join(known)})")
    for r in roles:
        if r not in known:
            raise MoveError(f"no role {r!r} in scenario {c.scenario.name}: expected one of {', '.join(known)}")
    if len(set(roles)) != len(roles):
        raise MoveError(f"a role is named twice in {','.join(roles)}")
    return roles


# --------------------------------------------------------------------------- packages


def package_label(c: Compiled, x: int) -> str:
    return ",".join(f"{k}={v}" for k, v in c.term_names(x).items())


MAX_DIGITS = 18  # a number typed in a move: more digits than this is refused before int() reads it


def whole_number(text: str) -> int | None:
    """``text`` as a whole number if it is 1 to 18 ASCII digits, else None.

    ``str.isdigit`` is true of "²" and "٢" too (``int`` fails on the first and reads the second as 2): moves
    take ASCII digits only."""
    if text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS:
        return int(text)
    return None


def parse_package(c: Compiled, text: str) -> int:
    """A package by number (0..P-1, ASCII digits) or by its terms ``issue=option,...`` (every issue named once)."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        x = whole_number(text)
        if x is None or x >= c.n_packages:
            got = f"a number of {len(text)} digits" if x is None else x
            raise MoveError(f"expected a package number from 0 to {c.n_packages - 1}, got {got}")
        return x
    if text and all(ch.isdigit() for ch in text):
        raise MoveError(f"expected a package number in ASCII digits 0-9, got {text[:40]!r}")
    terms: dict[str, str] = {}
    for part in text.split(","):
        issue, eq, option = (s.strip() for s in part.partition("="))
        if not eq or not issue or not option:
            raise MoveError(f"expected a package number or terms issue=option,issue=option, got {text!r}")
        if issue not in c.issues:
            raise MoveError(f"no issue {issue!r}: expected one of {', '.join(c.issues)}")
        k = c.issues.index(issue)
        if option not in c.options[k]:
            raise MoveError(f"no option {option!r} on issue {issue}: expected one of {', '.join(c.options[k])}")
        terms[issue] = option
    missing = [i for i in c.issues if i not in terms]
    if missing:
        raise MoveError(f"terms must name every issue: missing {', '.join(missing)} in {text!r}")
    found = c.package_index([c.options[k].index(terms[i]) for k, i in enumerate(c.issues)])
    if found is None:
        raise MoveError(f"no package has the terms {text!r} (the scenario's package space excludes them)")
    return found


def role_actions(c: Compiled, role: str, model: NegotiationModel | None = None) -> list[dict[str, Any]]:
    """The actions on the ground ``role`` may take: name, label, expected effect, and how many times it may still
    take each (None: every month; with ``model``, the game so far counted). What ``negsim play`` lists at the
    start of a month, and what a classroom page offers."""
    left = actions_left(model, role) if model is not None else {
        n: a.times for n, a in c.actions.get(role, {}).items()}
    return [{"name": a.name, "label": a.label, "effect": a.effect, "left": left[a.name]}
            for a in c.actions.get(role, {}).values()]


def parse_action(c: Compiled, role: str, text: str) -> str | None:
    """An action of ``role`` by name (``none``/``pass``: no action); MoveError lists its actions otherwise."""
    name = text.strip()
    acts = c.actions.get(role, {})
    if name.lower() in NO_ACTION:
        return None
    if name not in acts:
        listed = ", ".join([*acts, "none"]) if acts else "none (it has no actions in this scenario)"
        raise MoveError(f"{role} has no action {name[:40]!r}: expected one of {listed}")
    return name


def check_choice(c: Compiled, d: Decision, choice: Choice) -> None:
    """Raise MoveError if a move cannot answer this decision (e.g. a package across the role's own red line, an
    action the role has used up); ``None`` leaves the decision to the model."""
    if d.kind == "act" and choice is not None:
        left = {a["name"]: a["left"] for a in d.view.get("actions", [])}
        if not isinstance(choice, str) or choice not in left:
            raise MoveError(f"{d.role} has no action {str(choice)[:40]!r}: expected one of "
                            f"{', '.join([*left, 'none'])}")
        if left[choice] == 0:
            raise MoveError(f"{d.role} may {choice} only {c.actions[d.role][choice].times} time(s) in a game, "
                            "and has used them")
        return
    if d.kind != "propose" or choice is None:
        return
    if isinstance(choice, bool) or not isinstance(choice, int | np.integer) or not 0 <= choice < c.n_packages:
        raise MoveError(f"expected a package number from 0 to {c.n_packages - 1}, got {str(choice)[:40]}")
    if d.options is not None and not bool(d.options[int(choice)]):
        whose = "its own" if d.role in c.governments else "a government's"
        raise MoveError(f"{d.role} cannot propose package {choice} ({package_label(c, int(choice))}): "
                        f"it crosses {whose} red line")


# --------------------------------------------------------------------------- moves files

MAX_MOVES_BYTES = 1_000_000  # a moves file is a few lines; more is refused, never read to the end


def read_moves(path: str, stdin: Any = None) -> tuple[str, str]:
    """The text of a moves file and its name for messages: ``-`` reads ``stdin`` (a binary stream) up to the
    limit; a file goes through the bounded reader scenarios use (no FIFO, device or directory). UsageError
    (exit 2) naming the file otherwise."""
    if path == "-":
        name, raw = "<stdin>", stdin.read(MAX_MOVES_BYTES + 1)
    else:
        name = path
        try:
            raw = read_bounded(path, MAX_MOVES_BYTES, "a moves file")
        except NegsimError as e:
            raise UsageError(f"cannot read the moves file: {e}") from None
    if len(raw) > MAX_MOVES_BYTES:
        raise UsageError(f"{name}: too large for a moves file (more than {MAX_MOVES_BYTES:,} bytes)")
    try:
        return raw.decode("utf-8"), name
    except UnicodeDecodeError as e:
        raise UsageError(f"{name}: a moves file must be UTF-8 text ({e.reason} at byte {e.start})") from None



def parse_moves(text: str, name: str, c: Compiled, roles: list[str]) -> list[Move]:
    """Parse a moves file; MoveError names FILE:LINE, what was expected and what came."""
    kinds = role_kinds(c)
    moves: list[Move] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{name}:{n}"
        parts = line.split(None, 3)
        if len(parts) < 3:
            raise MoveError(f"expected MONTH ROLE VERB [PACKAGE], got {line!r}", where)
        month_s, role, verb = parts[0], parts[1], parts[2].lower()
        month = whole_number(month_s)
        if month is None or month < 1:
            raise MoveError(f"expected a month number from 1 (ASCII digits), got {month_s[:40]!r}", where)
        if role not in kinds:
            raise MoveError(f"expected a role ({', '.join(kinds)}), got {role!r}", where)
        if role not in roles:
            raise MoveError(f"{role} is not a role you play (--as {','.join(roles)})", where)
        allowed = (*VERBS[kinds[role]], *(("act",) if c.actions.get(role) else ()))
        if verb not in allowed:
            raise MoveError(f"a {kinds[role]} may {' / '.join(allowed)}, got {verb!r}", where)
        if verb == "act":
            if len(parts) < 4:
                raise MoveError(f"act needs an action: one of {', '.join([*c.actions[role], 'none'])}", where)
            try:
                moves.append(Move(month, role, "act", parse_action(c, role, parts[3]), where))
            except MoveError as e:
                raise MoveError(str(e), where) from None
            continue
        if verb == "propose":
            if len(parts) < 4:
                raise MoveError("propose needs a package (a number or issue=option,...)", where)
            try:
                choice: int | bool = parse_package(c, parts[3])
            except MoveError as e:
                raise MoveError(str(e), where) from None
            kind = "propose"
        else:
            if len(parts) > 3:
                raise MoveError(f"{verb} takes no package, got {parts[3]!r}", where)
            kind = "ratify" if kinds[role] == "public" else "answer"
            choice = verb in ("accept", "ratify")
        moves.append(Move(month, role, kind, choice, where))
    return moves


class ScriptedMoves:
    """A decider that plays the moves of a file in order, per role; the model decides where none is given."""

    def __init__(self, c: Compiled, moves: list[Move], roles: list[str]):
        self.c, self.roles = c, set(roles)
        self.queue = {r: [m for m in moves if m.role == r] for r in roles}
        self.made: list[Move] = []
        self.decisions = 0  # decisions that fell to the played roles, moved or left to the model

    def __call__(self, d: Decision) -> Choice:
        if d.role in self.roles:
            self.decisions += 1
        if d.role not in self.roles or not self.queue[d.role]:
            return None
        m = self.queue[d.role][0]
        here, there = (d.month, KINDS.index(d.kind)), (m.month, KINDS.index(m.kind))
        if there > here:
            return None  # a later decision of this role: the model decides this one
        if there < here:
            raise MoveError(f"{m.role} had no decision to {m.kind} in month {m.month}; its next decision was "
                            f"to {d.kind} in month {d.month}", m.where)
        try:
            check_choice(self.c, d, m.choice)
        except MoveError as e:
            raise MoveError(str(e), m.where) from None
        self.queue[d.role].pop(0)
        self.made.append(m)
        return m.choice

    def check_finished(self, last_month: int, outcome: str, settled: int | None = None) -> None:
        """Every move was made; else name the first that was not (after a settlement, no talks are held)."""
        for role, left in self.queue.items():
            if left:
                m = left[0]
                why = (f"the settlement of month {settled} closed the talks (the game ran on to month {last_month})"
                       if settled is not None and m.month > settled else
                       f"the game ended in month {last_month} ({outcome.replace('_', ' ')})")
                raise MoveError(f"{role} had no decision to {m.kind} in month {m.month}: {why}", m.where)


class Recorded:
    """A decider replaying recorded moves by (month, role, kind): a replay file's, or a paused game's."""

    def __init__(self, moves: list[Move]):
        self.moves = {m.key(): m for m in moves}
        self.used: set[tuple[int, str, str]] = set()

    def __call__(self, d: Decision) -> Choice:
        m = self.moves.get((d.month, d.role, d.kind))
        if m is None:
            return None
        self.used.add(m.key())
        return m.choice


# --------------------------------------------------------------------------- one game


@dataclass
class Game:
    """A finished game: the model after its last month, the results row, and the moves people made."""

    compiled: Compiled
    seed: int
    replicate: int
    roles: list[str]
    model: NegotiationModel
    row: pd.Series
    moves: list[Move] = field(default_factory=list)
    decisions: int | None = None  # decisions that fell to the played roles (None: not counted)


def check_playable(c: Compiled, what: str = "negsim play") -> None:
    """UsageError (exit 2) for a package space too large to list: a person's moves are package numbers chosen from
    every package, which only an enumerated space has (docs/model.md, "The proposal search")."""
    if c.searched:
        raise UsageError(f"{what} cannot play {c.scenario.name}: its issues' options make {c.n_packages:,} packages, "
                         f"more than the {max_packages():,} the engine lists (NEGSIM_MAX_PACKAGES), so the model "
                         f"searches its proposals instead, and a person's moves over every package cannot be offered "
                         f"yet; negsim run and negsim explain read it")


def play(c: Compiled, seed: int, replicate: int, roles: list[str], decide, on_month=None) -> Game:
    """Run one game to its end; ``decide`` is asked at every decision (it may answer None for the model's);
    ``on_month`` is given each month's log entry as the month ends."""
    check_playable(c)
    check_roles(c, roles)
    shocks = draw(c, seed, [replicate])
    model = NegotiationModel(c, shocks.run(0), decide=decide)
    while model.running:
        model.step()
        if on_month is not None:
            on_month(model.log[-1])
    row = to_frame(c, stack_runs([model.record()]), shocks.replicates, shocks.params).iloc[0]
    return Game(c, seed, replicate, roles, model, row)


def play_scripted(c: Compiled, seed: int, replicate: int, roles: list[str], moves: list[Move]) -> Game:
    script = ScriptedMoves(c, moves, check_roles(c, roles))
    game = play(c, seed, replicate, roles, script)
    settled = game.row["agreement_month"]
    script.check_finished(game.model.steps, str(game.row["outcome"]), None if pd.isna(settled) else int(settled))
    game.moves, game.decisions = script.made, script.decisions
    return game


# --------------------------------------------------------------------------- against the model's distribution


def distribution(c: Compiled, seed: int, runs: int = REFERENCE_RUNS) -> pd.DataFrame:
    """The model's own batch of the same scenario and seed (the kernel over a block; the same rows as run one at a time)."""
    from sim.runs.batch import simulate_block

    return simulate_block(c, seed, 0, runs)


def compare(game: Game, batch: pd.DataFrame) -> dict[str, Any]:
    """Set a game's result against the model's distribution of the same scenario."""
    c, row = game.compiled, game.row
    shares = batch["outcome"].value_counts(normalize=True)
    out: dict[str, Any] = {
        "runs": int(len(batch)),
        "model_outcome_shares": {o: float(shares.get(o, 0.0)) for o in ("no_talks", "talks_failed", "agreement")},
        "same_run_by_model": None,
        "better_than": {},
    }
    deals = batch[batch["outcome"] == "agreement"]
    if "relapse_month" in batch:
        out["model_relapse_share"] = float(deals["relapse_month"].notna().mean()) if len(deals) else 0.0
    if len(same := batch[batch["replicate"] == game.replicate]) and "relapse_month" in batch:
        out["same_run_words"] = outcome_words(same.iloc[0], c.horizon)
    same = batch[batch["replicate"] == game.replicate]
    if len(same):
        out["same_run_by_model"] = str(same["outcome"].iloc[0])
    if row["outcome"] == "agreement":
        deals = batch[batch["outcome"] == "agreement"]
        for gov in c.governments:
            u = float(row[f"utility_{gov}"])
            col = deals[f"utility_{gov}"].to_numpy()
            out["better_than"][gov] = float((col < u - 1e-12).mean()) if len(col) else None
    return out


def sentences(game: Game, cmp: dict[str, Any]) -> list[str]:
    """The comparison in plain words."""
    c, row = game.compiled, game.row
    shares = cmp["model_outcome_shares"]
    said = {"agreement": "an agreement", "talks_failed": "talks that failed", "no_talks": "no talks"}
    relapsed = cmp.get("model_relapse_share")
    lines = [f"Over {cmp['runs']:,} runs of the same scenario the model reached a settlement in "
             f"{shares['agreement']:.0%}"
             + (f" ({relapsed:.0%} of them broke down before month {c.horizon})" if relapsed is not None else "")
             + f", talks failed in {shares['talks_failed']:.0%}, talks never opened in {shares['no_talks']:.0%}."]
    lines.append(f"Your game ended in {outcome_words(row, c.horizon)}.")
    if cmp["same_run_by_model"] is not None:
        lines.append(f"Left to itself, the model's own play of this very run (seed {game.seed}, replicate "
                     f"{game.replicate}) ended in {cmp.get('same_run_words') or said[cmp['same_run_by_model']]}.")
    if row["outcome"] == "agreement":
        sides = [g for g in c.governments if any(role_side(c, r) == g for r in game.roles)] or list(c.governments)
        for gov in sides:
            share = cmp["better_than"].get(gov)
            if share is not None:
                lines.append(f"Your deal is better for {gov} than {share:.0%} of the model's deals.")
    return lines


# --------------------------------------------------------------------------- the peace process in words

STAGE_WORDS = {"war": "war", "talks": "talks", "partial": "partial deals", "ceasefire": "ceasefire",
               "settlement": "settlement", "relapse": "relapse (war again after a settlement)"}


def process(c: Compiled, e: Any) -> dict[str, Any]:
    """Where the peace process stands at the end of a month of the log, as everybody may see it: the furthest
    stage so far, whether a ceasefire holds, the partial deals in force, each instrument's level, and what
    happened this month (partial deals agreed, a ceasefire agreed or refused or broken, a relapse)."""
    stage = STAGE_NAMES.index(e.get("stage", "war")) if e.get("stage", "war") in STAGE_NAMES else 0
    talks = e.get("talks") or {}
    if e.get("opened"):
        stage = max(stage, STAGE_NAMES.index("talks"))
    if e.get("partial"):
        stage = max(stage, STAGE_NAMES.index("partial"))
    if e.get("ceasefire"):
        stage = max(stage, STAGE_NAMES.index("ceasefire"))
    if talks.get("agreed"):
        stage = STAGE_NAMES.index("settlement")
    if e.get("relapse"):
        stage = STAGE_NAMES.index("relapse")
    holds = (bool(e.get("ceasefire_holds")) or bool(e.get("ceasefire"))) and not e.get("ceasefire_broken") \
        and not talks.get("agreed")
    in_force = list(dict.fromkeys([*(e.get("in_force") or []), *(e.get("partial") or [])]))
    return {"stage": STAGE_NAMES[stage], "stage_words": STAGE_WORDS[STAGE_NAMES[stage]], "ceasefire_holds": holds,
            "in_force": in_force, "in_force_words": [deal_label(c, d) for d in in_force],
            "levels": {k: float(v) for k, v in (e.get("levels") or {}).items()},
            "partial_agreed": list(e.get("partial") or []),
            "partial_agreed_words": [deal_label(c, d) for d in e.get("partial") or []],
            "ceasefire": e.get("ceasefire"), "ceasefire_broken": bool(e.get("ceasefire_broken")),
            "relapse": bool(e.get("relapse"))}


def deal_label(c: Compiled, name: str) -> str:
    """A partial deal's label (its name when it has none)."""
    d = c.scenario.model.partial_deals.get(name)
    return d.label if d is not None and d.label else name.replace("_", " ")


def level_words(name: str, level: float) -> str:
    """An instrument's level in words: ``us_aid 0 (paused)``."""
    return f"{name} {level:g}" + (" (paused)" if level == 0 else "")


def process_line(c: Compiled, e: Any) -> str:
    """The peace process after a month, in a line (``negsim play``)."""
    p = process(c, e)
    said = [f"Stage: {p['stage_words']}"]
    if p["ceasefire"] is True:
        said.append("a ceasefire is agreed")
    elif p["ceasefire"] is False:
        said.append("a ceasefire is refused")
    if p["ceasefire_broken"]:
        said.append("the ceasefire breaks down")
    said.append("ceasefire holds" if p["ceasefire_holds"] else "no ceasefire")
    if p["partial_agreed"]:
        said.append("agreed now: " + ", ".join(deal_label(c, d) for d in p["partial_agreed"]))
    said.append("in force: " + (", ".join(p["in_force_words"]) if p["in_force"] else "no partial deal"))
    if p["levels"]:
        said.append("instruments: " + ", ".join(level_words(k, v) for k, v in p["levels"].items()))
    if p["relapse"]:
        said.append("THE SETTLEMENT BREAKS DOWN: war resumes")
    if e.get("actions"):
        said.append("on the ground: " + ", ".join(f"{role} {action_label(c, role, name)}"
                                                  for role, name in e["actions"]))
    return "  " + "; ".join(said) + "."


def action_label(c: Compiled, role: str, name: str) -> str:
    """An action's label, as the month line tells it (``(Pause US military aid)``)."""
    a = c.actions.get(role, {}).get(name)
    return f"({a.label})" if a is not None else name


def outcome_words(row: Any, horizon: int) -> str:
    """The outcome of a run in words: a settlement that held to the horizon or one that relapsed, failed talks
    (with the partial deals and ceasefire they brought), or no talks."""
    def month(name: str) -> int | None:
        v = row.get(name) if hasattr(row, "get") else None
        return None if v is None or pd.isna(v) else int(v)

    if row["outcome"] == "agreement":
        relapse = month("relapse_month")
        return (f"a settlement in month {month('agreement_month')} that broke down in month {relapse} (war resumed)"
                if relapse is not None else
                f"a settlement in month {month('agreement_month')} that held to month {horizon}")
    if row["outcome"] == "talks_failed":
        extra = []
        n = int(row.get("partial_deals", 0) or 0)
        if n:
            extra.append(f"{n} partial deal{'s' if n != 1 else ''}")
        if month("ceasefire_month") is not None:
            extra.append(f"a ceasefire from month {month('ceasefire_month')}"
                         + (f" that broke down in month {month('ceasefire_broken_month')}"
                            if month("ceasefire_broken_month") is not None else ""))
        return "talks that failed" + (f" ({' and '.join(extra)})" if extra else "")
    return "no talks"


def role_side(c: Compiled, role: str) -> str | None:
    """The government a role speaks for: itself, or a public's government; None for a mediator."""
    if role in c.governments:
        return role
    if role in c.publics:
        return c.governments[c.publics.index(role)]
    return None


def record(game: Game, cmp: dict[str, Any] | None) -> dict[str, Any]:
    """The final record of a game (``negsim play --json``)."""
    c, row = game.compiled, game.row
    agreed = row["outcome"] == "agreement"

    def month(v: Any) -> int | None:
        return None if pd.isna(v) else int(v)

    return {
        "scenario": c.scenario.name, "seed": game.seed, "replicate": game.replicate, "roles": game.roles,
        "outcome": str(row["outcome"]), "outcome_class": str(row["outcome_class"]),
        "talks_month": month(row["talks_month"]), "agreement_month": month(row["agreement_month"]),
        "stage_reached": str(row["stage_reached"]), "settlement_month": month(row["settlement_month"]),
        "relapse_month": month(row["relapse_month"]), "first_partial_month": month(row["first_partial_month"]),
        "partial_deals": int(row["partial_deals"]), "ceasefire_month": month(row["ceasefire_month"]),
        "ceasefire_broken_month": month(row["ceasefire_broken_month"]),
        "outcome_words": outcome_words(row, c.horizon),
        "terms": c.term_names(int(game.model.deal)) if agreed else None,
        "land_km2": float(row["land_km2"]),
        "utilities": {g: (float(row[f"utility_{g}"]) if agreed else None) for g in c.governments},
        "moves": [m.as_dict() for m in game.moves],
        "comparison": cmp,
    }


# --------------------------------------------------------------------------- replay files


def save_replay(game: Game, path: str | Path, rec: dict[str, Any], events: list[dict[str, Any]] | None = None) -> Path:
    """Write the game's replay file (scenario data, seed, replicate, roles, moves, final record, and the events
    that are not moves, such as the classroom's roles taken and given up: :class:`sim.play.replays.EventEntry`)."""
    sc = game.compiled.scenario
    doc = {"format": REPLAY_FORMAT, "scenario_path": str(sc.path), "scenario_text": sc.text,
           "scenario_sha256": hashlib.sha256(sc.text.encode()).hexdigest(), "scenario_data": sc.data,
           "seed": str(game.seed), "replicate": game.replicate, "roles": game.roles,
           "moves": [m.as_dict() for m in game.moves], "record": {k: v for k, v in rec.items() if k != "comparison"}}
    if events:
        doc["events"] = events
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=_plain) + "\n")
    tmp.replace(path)
    return path


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"cannot store {type(v).__name__} in a replay file")


@dataclass
class Replay:
    scenario: Scenario
    seed: int
    replicate: int
    roles: list[str]
    moves: list[Move]
    record: dict[str, Any]
    name: str = "replay"
    checked: replays.RecordEntry | None = None  # the recorded result the replay must reproduce
    events: list[dict[str, Any]] = field(default_factory=list)  # what happened beside the moves (replays.EventEntry)


def load_replay(path: str | Path) -> Replay:
    """Read a replay file through the bounded reader and its schema (:mod:`sim.play.replays`); UsageError
    naming the file and the field for anything that is not a replay file."""
    rf = replays.read_replay_file(path)
    sc = scenario_from_data(rf.scenario_data, rf.scenario_path, rf.scenario_text)
    moves = [Move(m.month, m.role, m.kind, m.choice, f"{path}: moves[{i}]") for i, m in enumerate(rf.moves)]
    keys = [m.key() for m in moves]
    if len(set(keys)) != len(keys):
        dup = next(m for i, m in enumerate(moves) if m.key() in keys[:i])
        raise MoveError(f"a second move for {dup.role} to {dup.kind} in month {dup.month}", dup.where)
    return Replay(sc, int(rf.seed), check_replicate(rf.replicate, f"{path}: replicate"), list(rf.roles), moves,
                  rf.record.model_dump(), str(path), rf.record, [e.model_dump(exclude_none=True) for e in rf.events])


class Checked(Recorded):
    """Recorded moves put through :func:`check_choice` as they are replayed (a package out of range, across the
    role's red line, or a move of the wrong kind is refused, naming the move)."""

    def __init__(self, c: Compiled, moves: list[Move]):
        super().__init__(moves)
        self.c = c

    def __call__(self, d: Decision) -> Choice:
        m = self.moves.get((d.month, d.role, d.kind))
        if m is not None:
            try:
                check_choice(self.c, d, m.choice)
            except MoveError as e:
                raise MoveError(f"choice: {e}", m.where) from None
        return super().__call__(d)


def replay(rp: Replay) -> Game:
    """Play a replay's moves again; UsageError naming the field if a move is illegal or the recorded result
    does not come out the same."""
    c = compile_scenario(rp.scenario)
    kinds = role_kinds(c)
    for r in rp.roles:
        if r not in kinds:
            raise UsageError(f"{rp.name}: roles: no role {r!r} in scenario {c.scenario.name}")
    check_roles(c, rp.roles)
    for m in rp.moves:
        if m.role not in rp.roles:
            raise MoveError(f"role: {m.role!r} is not one of the roles played ({', '.join(rp.roles)})", m.where)
        if m.kind not in {"government": ("act", "propose", "answer"), "mediator": ("act", "propose"),
                          "public": ("act", "ratify")}[kinds[m.role]]:
            raise MoveError(f"kind: a {kinds[m.role]} cannot {m.kind}", m.where)
    decider = Checked(c, rp.moves)
    game = play(c, rp.seed, rp.replicate, rp.roles, decider)
    unused = [m for m in rp.moves if m.key() not in decider.used]
    if unused:
        m = unused[0]
        raise MoveError(f"{m.role} had no decision to {m.kind} in month {m.month} in the replayed game", m.where)
    game.moves = list(rp.moves)
    if rp.checked is not None:
        replays.check_record(rp.checked, record(game, None), rp.name)
    return game


# --------------------------------------------------------------------------- paused games (the classroom)


class Paused(Exception):
    """Raised out of a run when it reaches decisions that people still have to make."""


@dataclass
class Position:
    """Where a paused game stands: the model so far, the decisions people must make now, whether it ended."""

    model: NegotiationModel
    pending: list[Decision]
    finished: bool


def resume(c: Compiled, seed: int, replicate: int, humans: set[str], moves: list[Move], until_month: int,
           act: bool = False) -> Position:
    """Run from month 1 with the moves so far, up to the end of ``until_month`` or the first stage of talks at
    which a person in ``humans`` has a decision with no move yet (every such decision of that stage is
    returned together: e.g. both governments answering the same offer). Recorded actions on the ground are
    taken; with ``act`` the start of a month at which a person may act is a stage too (else a person's action
    with no move is none, and the game does not wait for it)."""
    recorded = Recorded(moves)
    pending: list[Decision] = []

    def decide(d: Decision) -> Choice:
        move = recorded(d)
        left = (d.month, d.role, d.kind) in recorded.moves  # a recorded move of None: left to the model
        if move is not None or left or d.role not in humans or (d.kind == "act" and not act):
            if pending and (pending[0].month, pending[0].kind) != (d.month, d.kind):
                raise Paused  # a later stage began: stop before it (the model's moves of this stage go on)
            return move
        if pending and (pending[0].month, pending[0].kind) != (d.month, d.kind):
            raise Paused
        pending.append(d)
        return None  # provisionally the model's: not kept, the run stops at the end of this stage

    shocks = draw(c, seed, [replicate])
    model = NegotiationModel(c, shocks.run(0), decide=decide)
    try:
        while model.running and model.steps < until_month:
            model.step()
            if pending:
                break
    except Paused:
        pass
    if pending and model.log and model.log[-1]["month"] == pending[0].month:
        model.log.pop()  # that month holds provisional choices: it is played again once the moves are in
    return Position(model, pending, finished=not model.running and not pending)
