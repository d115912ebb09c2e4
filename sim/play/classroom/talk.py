"""The classroom's talk channel: roles send each other messages and non-binding draft offers (issue 20, part 2).

A message goes from a role a student holds to another role or to everybody (``"all"``); it may carry a draft
offer, terms issue by issue (any number of the scenario's issues, each with one of its options), which binds
nobody and changes nothing in the game. The teacher sees every message and can switch the channel off (a
message sent then is refused with 409) and show the messages on the projector view (observers see them only
then). Messages are events of the class (``kind`` ``message``), kept with the session and written to its
replay file, where they are shown and never replayed: a replay with messages plays to the same end.

The server runs on an open network, so a message is bounded and checked before it is kept: text of 1 to
:data:`MAX_TEXT` characters with no control or formatting characters but newlines and tabs, at most
:data:`RATE` messages per role in :data:`WINDOW` seconds (429 beyond) and :data:`MAX_MESSAGES` per class
(409 beyond). Pages set every text with ``textContent`` and the summary page escapes it, so a message is never
markup.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from sim.play import terms
from sim.play.classroom.room import MAX_MESSAGES, OBSERVER, ClassroomError, Session
from sim.scenario.compile import Compiled

MAX_TEXT = 500  # characters of a message
RATE, WINDOW = 6, 30.0  # at most RATE messages per role within WINDOW seconds
EVERYBODY = "all"
ALLOWED_CONTROLS = {"\n", "\t"}


def agenda(c: Compiled) -> list[dict[str, Any]]:
    """The issues and their options in words (a draft's selects, any number of issues)."""
    return [{"issue": issue, "label": terms.issue_words(c, issue),
             "options": [{"option": o, "words": terms.option_words(c, issue, o)} for o in c.options[k]]}
            for k, issue in enumerate(c.issues)]


def read_text(raw: Any) -> str:
    """A message's text, checked: 400 naming what is wrong."""
    if not isinstance(raw, str):
        raise ClassroomError(400, f"expected \"text\" to be a string of 1 to {MAX_TEXT} characters, got "
                                  f"{type(raw).__name__}")
    text = raw.strip()
    if not text:
        raise ClassroomError(400, "expected \"text\": a message of at least one character, got an empty one")
    if len(text) > MAX_TEXT:
        raise ClassroomError(400, f"a message has at most {MAX_TEXT} characters, got {len(text)}")
    bad = next((ch for ch in text if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co")
                and ch not in ALLOWED_CONTROLS), None)
    if bad is not None:
        raise ClassroomError(400, f"a message may not hold control or formatting characters, got U+{ord(bad):04X}")
    return text


def read_terms(c: Compiled, raw: Any) -> dict[str, str] | None:
    """A draft offer's terms (issue -> option, any of the scenario's issues), checked: 400 naming what is wrong."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw:
        raise ClassroomError(400, "expected \"terms\" to be an object of issue: option (at least one issue), got "
                                  f"{str(raw)[:60]!r}")
    out: dict[str, str] = {}
    for issue, option in raw.items():
        if issue not in c.issues:
            raise ClassroomError(400, f"a draft names no issue {str(issue)[:40]!r}: expected some of "
                                      f"{', '.join(c.issues)}")
        k = c.issues.index(issue)
        if not isinstance(option, str) or option not in c.options[k]:
            raise ClassroomError(400, f"no option {str(option)[:40]!r} on issue {issue}: expected one of "
                                      f"{', '.join(c.options[k])}")
        out[issue] = option
    return {i: out[i] for i in c.issues if i in out}  # in the scenario's order


def draft_words(c: Compiled, draft: Mapping[str, str]) -> str:
    """A draft's terms in words: ``Legal status of Crimea: returned to Ukraine; ...``."""
    return "; ".join(f"{terms.issue_words(c, i)}: {terms.option_words(c, i, o)}" for i, o in draft.items())


def send(s: Session, role: str, body: Mapping[str, Any], now: float) -> dict[str, Any]:
    """``role`` sends a message (``body``: ``to``, ``text``, ``terms``?); the message kept, or ClassroomError."""
    c = s.compiled
    if not s.talk["on"]:
        raise ClassroomError(409, "the teacher has switched the talk channel off: no messages now")
    if s.finished:
        raise ClassroomError(409, "the game is over: the talk channel is closed")
    if sum(1 for e in s.events if e["kind"] == "message") >= MAX_MESSAGES:
        raise ClassroomError(409, f"this class has sent {MAX_MESSAGES} messages, the channel's limit")
    roles = [r for r in s.roles() if r != OBSERVER]
    to = body.get("to", EVERYBODY)
    if not isinstance(to, str) or (to not in roles and to != EVERYBODY):
        raise ClassroomError(400, f"expected \"to\" to be one of {', '.join([EVERYBODY, *roles])}, got {str(to)[:40]!r}")
    if to == role:
        raise ClassroomError(400, "a message goes to another role (or to all), not to yourself")
    text, draft = read_text(body.get("text")), read_terms(c, body.get("terms"))
    recent = [t for t in s.sent.get(role, []) if now - t < WINDOW]
    if len(recent) >= RATE:
        raise ClassroomError(429, f"at most {RATE} messages in {WINDOW:g} s: try again in "
                                  f"{WINDOW - (now - recent[0]):.0f} s", retry_after=WINDOW - (now - recent[0]))
    s.sent[role] = [*recent, now]
    msg: dict[str, Any] = {"month": s.month, "role": role, "kind": "message", "text": text, "to": to}
    if draft:
        msg |= {"terms": draft, "words": draft_words(c, draft)}
    s.events.append(msg)
    return msg


def visible(s: Session, role: str) -> list[dict[str, Any]]:
    """The messages ``role`` may read: the teacher every one, a role those it sent or got or sent to all,
    an observer (the projector) every one while the teacher shows them there."""
    def readable(e: Mapping[str, Any]) -> bool:
        if role == "teacher":
            return True
        if role == OBSERVER:
            return bool(s.talk["projector"])
        return role in (e["role"], e.get("to")) or e.get("to") == EVERYBODY

    return [e for e in s.events if e["kind"] == "message" and readable(e)]


def switch(s: Session, body: Mapping[str, Any]) -> dict[str, bool]:
    """The teacher switches the channel on or off (``on``) and its display on the projector (``projector``)."""
    if not any(k in body for k in ("on", "projector")):
        raise ClassroomError(400, "expected {\"on\": true|false} and/or {\"projector\": true|false}")
    for key in ("on", "projector"):
        if key in body:
            if type(body[key]) is not bool:
                raise ClassroomError(400, f"expected \"{key}\" to be true or false, got {str(body[key])[:40]!r}")
            s.talk[key] = body[key]
    s.note("teacher", "talk", "the teacher switches the talk channel " + ("on" if s.talk["on"] else "off")
           + (", shown on the projector" if s.talk["projector"] else ""))
    return dict(s.talk)
