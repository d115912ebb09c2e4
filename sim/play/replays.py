"""Replay files read with the same discipline as scenarios: bounded, validated by a schema, and reproduced.

A replay file (``negsim play --save``, the classroom's download) is untrusted input: it is read through the
bounded reader scenarios use (at most :data:`MAX_REPLAY_BYTES`, no FIFO or device), checked against
:class:`ReplayFile` (nesting depth, types, ranges), every move is put through :func:`sim.play.game.check_choice`
as it is replayed, and the recorded result (outcome, months, terms, land, utilities) and the scenario text
(its SHA-256, and its data when the text is one file) must come out the same. Anything else is a UsageError
naming the field (exit 2).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from sim.engine.shocks import MAX_REPLICATE, MAX_SEED
from sim.errors import NegsimError, UsageError
from sim.scenario.yamlsrc import MAX_BYTES, parse_yaml, read_bounded

MAX_REPLAY_BYTES = 3 * MAX_BYTES  # the scenario's text and data, and the moves
MAX_DEPTH = 64  # JSON nesting deeper than this is refused before the schema sees it
MAX_MOVES = 10_000
MAX_EVENTS = 10_000
REPLAY_FORMAT = "negsim-replay/1"


class MoveEntry(BaseModel):
    """One recorded move: a propose takes a package number, an answer or a vote true/false, an act an action's
    name; null is the model's."""

    model_config = ConfigDict(extra="forbid")
    month: StrictInt = Field(ge=1, le=10_000)
    role: StrictStr = Field(min_length=1, max_length=200)
    kind: Literal["act", "propose", "answer", "ratify"]
    choice: StrictBool | StrictInt | StrictStr | None

    @model_validator(mode="after")
    def _choice_fits_kind(self) -> MoveEntry:
        c = self.choice
        if (self.kind == "act") != isinstance(c, str) and c is not None:
            raise ValueError("choice: an act takes an action's name (or null for none)" if self.kind == "act"
                             else "choice: only an act takes a name")
        if isinstance(c, str):
            if len(c) > 200:
                raise ValueError("choice: an action's name has at most 200 characters")
            return self
        if self.kind == "propose" and (isinstance(c, bool) or (c is not None and not 0 <= c < 2**31)):
            raise ValueError("choice: a propose takes a package number from 0 (or null for the model's)")
        if self.kind != "propose" and c is not None and not isinstance(c, bool):
            raise ValueError(f"choice: {'an answer' if self.kind == 'answer' else 'a vote'} takes true or false "
                             "(or null for the model's)")
        return self


class EventEntry(BaseModel):
    """Something that happened in a game beside the moves, told in words: the classroom writes the roles taken
    and given up (``kind`` joined, left, removed); any other kind (a message between roles, say) is kept and
    shown the same way; a message of the talk channel has its addressee and any draft offer's terms. Not replayed:
    it changes nothing in the game."""

    model_config = ConfigDict(extra="forbid")
    month: StrictInt = Field(ge=0, le=10_000)
    role: StrictStr = Field(max_length=200)
    kind: StrictStr = Field(min_length=1, max_length=40)
    text: StrictStr = Field(max_length=4000)
    to: StrictStr | None = Field(default=None, max_length=200)  # a message's addressee (a role, or "all")
    terms: dict[StrictStr, StrictStr] | None = Field(default=None, max_length=200)  # a message's draft offer
    words: StrictStr | None = Field(default=None, max_length=8000)  # the draft's terms in words


class RecordEntry(BaseModel):
    """The recorded result the replay must reproduce (other keys of the record are kept but not checked)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    outcome: Literal["no_talks", "talks_failed", "agreement"]
    talks_month: StrictInt | None
    agreement_month: StrictInt | None
    terms: dict[str, StrictStr] | None
    land_km2: float
    utilities: dict[str, float | None]


class ReplayFile(BaseModel):
    """The schema of a replay file (``format: negsim-replay/1``)."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["negsim-replay/1"]
    scenario_path: StrictStr = Field(max_length=4096)
    scenario_text: StrictStr
    scenario_sha256: StrictStr = Field(pattern=r"^[0-9a-f]{64}$")
    scenario_data: dict[str, Any]
    seed: StrictStr = Field(pattern=r"^[0-9]{1,39}$")
    replicate: StrictInt = Field(ge=0, lt=MAX_REPLICATE)
    roles: list[StrictStr] = Field(min_length=1, max_length=100)
    moves: list[MoveEntry] = Field(max_length=MAX_MOVES)
    record: RecordEntry
    events: list[EventEntry] = Field(default_factory=list, max_length=MAX_EVENTS)


def depth(doc: Any) -> int:
    """The nesting depth of JSON data (iterative: a deep document cannot exhaust the stack here)."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, d)
            if d > MAX_DEPTH:
                return d
            stack.extend((v, d + 1) for v in (node.values() if isinstance(node, dict) else node))
    return deepest


def field_name(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(the file)"


def read_replay_file(path: str | Path) -> ReplayFile:
    """Read and validate a replay file; UsageError naming the file and the field."""
    name = str(path)
    try:
        raw = read_bounded(path, MAX_REPLAY_BYTES, "a replay file")
    except NegsimError as e:
        missing = not Path(path).exists() and not Path(path).is_symlink()
        raise UsageError(f"{name}: no such replay file" if missing else str(e)) from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise UsageError(f"{name}: not a replay file: JSON nested too deep (limit {MAX_DEPTH})") from None
    except (UnicodeDecodeError, ValueError) as e:  # JSONDecodeError, or a number of over 4,300 digits
        raise UsageError(f"{name}: not a replay file (expected JSON written by negsim play): {str(e)[:200]}") from None
    if not isinstance(doc, dict) or doc.get("format") != REPLAY_FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise UsageError(f"{name}: not a replay file (expected format {REPLAY_FORMAT!r}, got {str(got)[:80]!r})")
    if depth(doc) > MAX_DEPTH:
        raise UsageError(f"{name}: a damaged replay file: JSON nested deeper than {MAX_DEPTH}")
    try:
        rf = ReplayFile.model_validate(doc)
    except ValidationError as e:
        errs = e.errors(include_input=False, include_url=False)
        said = "; ".join(f"{field_name(err['loc'])}: {err['msg']}" for err in errs[:5])
        more = f" (and {len(errs) - 5} more)" if len(errs) > 5 else ""
        raise UsageError(f"{name}: a damaged replay file: {said}{more}") from None
    if int(rf.seed) >= MAX_SEED:
        raise UsageError(f"{name}: a damaged replay file: seed: must be below 2**128")
    check_scenario_text(rf, name)
    return rf


def check_scenario_text(rf: ReplayFile, name: str) -> None:
    """The scenario text must be the one its SHA-256 names, and (one file, no ``extends``) the data's source."""
    if hashlib.sha256(rf.scenario_text.encode()).hexdigest() != rf.scenario_sha256:
        raise UsageError(f"{name}: scenario_text does not reproduce: its SHA-256 is not scenario_sha256")
    if rf.scenario_text.startswith("# --- "):  # merged from several files (extends): the data is checked by
        return  # rebuilding the scenario from it and reproducing the record
    try:
        data = parse_yaml(rf.scenario_text, f"{name}: scenario_text").data
    except NegsimError as e:
        raise UsageError(f"{name}: scenario_text does not reproduce: {str(e)[:300]}") from None
    if data != rf.scenario_data:
        raise UsageError(f"{name}: scenario_data does not reproduce: it is not the data of scenario_text")


def same(recorded: Any, replayed: Any) -> bool:
    if isinstance(recorded, float) or isinstance(replayed, float):
        if recorded is None or replayed is None:
            return recorded is replayed
        return math.isclose(float(recorded), float(replayed), rel_tol=1e-12, abs_tol=1e-9)
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        return recorded.keys() == replayed.keys() and all(same(recorded[k], replayed[k]) for k in recorded)
    return bool(recorded == replayed)


CHECKED = ("outcome", "talks_month", "agreement_month", "terms", "land_km2", "utilities")


def check_record(recorded: RecordEntry, replayed: dict[str, Any], name: str) -> None:
    """Every checked field of the record must come out the same; UsageError naming the first that does not."""
    for key in CHECKED:
        was, now = getattr(recorded, key), replayed[key]
        if not same(was, now):
            raise UsageError(f"{name}: record.{key} does not reproduce (recorded {str(was)[:120]}, replayed "
                             f"{str(now)[:120]}): was the file edited, or written by another version of negsim?")
