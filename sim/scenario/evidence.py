"""Evidence: quotes checked against the source documents in seeds/.

Every position, red line, precondition and calibration figure of a shipped
scenario carries ``evidence: {doc, quote}`` (the quote must appear in the
document, whitespace and quote marks normalised) or ``assumption: "..."``.
An entry without its own source inherits the source of the nearest enclosing
object (a ``casualties:`` block with evidence covers its ``mean`` and ``sd``).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from sim.errors import Problem, ScenarioError
from sim.scenario.models import (
    Change,
    Event,
    Evidence,
    Exclusion,
    Issue,
    Link,
    NoDeal,
    OutcomeClass,
    Param,
    Precondition,
    RedLine,
    Scenario,
    ScenarioFile,
)
from sim.scenario.yamlsrc import Key, dotted, read_bounded
from sim.shipped import folder as shipped_folder

QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
                        "\u00ab": '"', "\u00bb": '"', "\u00a0": " "})
LEAVES = (RedLine, Precondition, Exclusion, OutcomeClass, Issue, Link, NoDeal, Event, Change)
SWITCHES = ("active", "ratifies")


def normalise(text: str) -> str:
    """Straighten quote marks and collapse whitespace."""
    return re.sub(r"\s+", " ", text.translate(QUOTES)).strip()


@dataclass(frozen=True)
class Entry:
    """One row of the evidence table."""

    path: str
    value: str
    kind: str  # "evidence", "assumption" or "none"
    source: str  # the quote (with its document) or the assumption
    inherited: bool


SEEDS_ENV = "NEGSIM_SEEDS"
MAX_DOC_BYTES = 50_000_000


def seed_folders(scenario_file: str, extra: list[str | Path] | None = None) -> list[Path]:
    """Where evidence documents of a scenario are looked for, in order.

    The scenario's own folder, the ``seeds/`` folder of that folder and of
    each parent, the folders given (``--seeds DIR``), those in the
    ``NEGSIM_SEEDS`` environment variable (separated by ``os.pathsep``), and
    the seeds shipped with negsim (package data found with importlib.resources:
    :func:`sim.shipped.folder`; in a source checkout, the top-level ``seeds/``).
    """
    here = Path(scenario_file).resolve().parent
    folders = [here, *(f / "seeds" for f in (here, *here.parents))]
    folders += [Path(p) for p in extra or []]
    folders += [Path(p) for p in os.environ.get(SEEDS_ENV, "").split(os.pathsep) if p]
    shipped = shipped_folder("seeds")
    folders += [shipped] if shipped is not None else []
    return list(dict.fromkeys(folders))


def find_doc(scenario_file: str, doc: str, extra: list[str | Path] | None = None) -> Path | None:
    """The first of :func:`seed_folders` that holds the document."""
    for folder in seed_folders(scenario_file, extra):
        candidate = folder / doc
        try:
            if candidate.is_symlink() or candidate.is_file():
                return candidate
        except OSError:  # a name the file system cannot hold
            return None
    return None


def read_doc(doc: Path) -> str:
    """A seeds/ document's text: a regular file (not a symbolic link), at most MAX_DOC_BYTES."""
    if doc.is_symlink():
        raise ScenarioError([Problem(str(doc), 1, 1, "", "is a symbolic link; put the document itself in seeds/")])
    return read_bounded(doc, MAX_DOC_BYTES, "a seeds/ document").decode("utf-8", errors="replace")


def written(data: object, path: Key) -> bool:
    """Whether the scenario's merged data (``Scenario.data``) gives the key at ``path``.

    The one test of "the file sets it" for the evidence table: a scenario loaded from its file and the same
    scenario rebuilt from a run's manifest (:func:`sim.scenario.models.scenario_from_data`, which has no
    positions) hold the same data, so ``negsim evidence`` and ``negsim report`` list the same entries.
    """
    for key in path:
        if isinstance(data, dict):
            if key not in data and str(key) not in data:  # a JSON manifest holds every mapping key as text
                return False
            data = data[key] if key in data else data[str(key)]
        elif isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            data = data[key]
        else:
            return False
    return True


def entries(sc: Scenario) -> list[tuple[Key, object, Evidence | None, str | None, bool]]:
    """(path, leaf, evidence, assumption, inherited) for every sourced leaf of the scenario."""
    out: list = []

    def walk(obj: object, path: Key, ev: Evidence | None, assumption: str | None) -> None:
        own_ev, own_as = getattr(obj, "evidence", None), getattr(obj, "assumption", None)
        has_own = own_ev is not None or own_as is not None
        if has_own:
            ev, assumption = own_ev, own_as
        if isinstance(obj, Param) and ev is None and assumption is None and not written(sc.data, path):
            pass  # a default the file does not give (a knob its scenario leaves alone): not a claim of the file
        elif isinstance(obj, Param) or isinstance(obj, LEAVES):
            out.append((path, obj, ev, assumption, not has_own))
        elif isinstance(obj, bool) and path and path[-1] in SWITCHES and written(sc.data, path):
            out.append((path, obj, ev, assumption, True))  # a switch written in the file
        if isinstance(obj, BaseModel):
            for name in type(obj).model_fields:
                if name not in ("evidence", "assumption"):
                    walk(getattr(obj, name), (*path, name), ev, assumption)
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, (*path, k), ev, assumption)
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                walk(v, (*path, i), ev, assumption)

    walk(sc.model, (), None, None)
    return out


def check_quotes(sc: ScenarioFile, seeds: list[str | Path] | None = None) -> list[Problem]:
    """Every evidence quote must be found in its document; report the closest passage if not.

    Works on the scenario's plain data, so quotes are checked even when other
    keys of the file fail validation.
    """
    problems = []
    texts: dict[Path, str] = {}
    missing: dict[str, list[Key]] = {}
    for path, doc_name, quote in _evidence_blocks(sc.data, ()):
        loc = (*path, "evidence")
        if not _plain_name(doc_name):
            continue  # the schema reports it
        doc = find_doc(sc.where((*loc, "doc"))[0], doc_name, seeds)
        if doc is None:
            missing.setdefault(doc_name, []).append(loc)
            continue
        if doc not in texts:
            try:
                texts[doc] = normalise(read_doc(doc))
            except ScenarioError as exc:
                problems.append(sc.problem((*loc, "doc"), f"evidence document {doc_name!r}: {exc.problems[0].message}"))
                continue
        text = texts[doc]
        if normalise(quote) not in text:
            problems.append(sc.problem((*loc, "quote"), f"quote not found in {doc_name} (got {quote[:60]!r}); "
                                                        f"closest passage: {closest(text, quote)!r}"))
    for doc_name, locs in missing.items():  # once per document, at its first use
        file = sc.where((*locs[0], "doc"))[0]
        looked = ", ".join(str(f) for f in seed_folders(file, seeds))
        uses = f"; cited by {len(locs)} evidence entries" if len(locs) > 1 else ""
        problems.append(sc.problem((*locs[0], "doc"), f"evidence document {doc_name!r} not found in seeds/ "
                                   f"(looked in {looked}{uses}); give its folder with --seeds DIR or {SEEDS_ENV}"))
    return problems


def _evidence_blocks(data: object, path: Key):
    """(path, doc, quote) of every `evidence: {doc, quote}` mapping in plain scenario data."""
    if isinstance(data, dict):
        ev = data.get("evidence")
        if isinstance(ev, dict) and isinstance(ev.get("doc"), str) and isinstance(ev.get("quote"), str):
            yield path, ev["doc"], ev["quote"]
        for k, v in data.items():
            if k != "evidence":
                yield from _evidence_blocks(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _evidence_blocks(v, (*path, i))


def _plain_name(doc: str) -> bool:
    return bool(doc) and "/" not in doc and "\\" not in doc and doc not in (".", "..") and len(doc) <= 255


def closest(text: str, quote: str) -> str:
    """The sentence of ``text`` most like ``quote``."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s]
    q = normalise(quote).lower()
    best = max(sentences, key=lambda s: difflib.SequenceMatcher(None, q, s.lower()).ratio(), default="")
    return best if len(best) <= 160 else best[:157] + "..."


def describe(obj: object) -> str:
    if isinstance(obj, Param):
        return obj.describe()
    if isinstance(obj, RedLine):
        return f"forbid {obj.issue} = {', '.join(obj.forbid)}" + ("" if obj.active else " (inactive)")
    if isinstance(obj, Precondition):
        return f"{obj.name}: {obj.variable} {obj.op} {obj.value.describe()}" + ("" if obj.active else " (inactive)")
    if isinstance(obj, Exclusion):
        return f"exclude {obj.match}"
    if isinstance(obj, OutcomeClass):
        return f"{obj.name} when {obj.when}"
    if isinstance(obj, Issue):
        marks = ([obj.category] if obj.category else []) + (
            [f"separable: {'yes' if obj.separable is True else obj.separable}"] if obj.separable else [])
        return ", ".join(f"{k}={v:g}" for k, v in obj.options.items()) + (f" ({'; '.join(marks)})" if marks else "")
    if isinstance(obj, Link):
        return f"counts only with {obj.requires} at or above {obj.at_least}; otherwise {obj.otherwise}"
    if isinstance(obj, Event):
        when = f"month {obj.month}" if obj.month is not None else f"chance {obj.hazard:g} a month"
        return f"{when}: " + ", ".join(f"{k} = {v}" for k, v in obj.set.items())
    if isinstance(obj, Change):  # an action on the ground, or its cost
        said = [f"{k} {op} {v}" for op in ("set", "add", "scale") for k, v in getattr(obj, op).items()]
        return ", ".join(said + [f"{k} weariness {v:+g}" for k, v in obj.weariness.items()])
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, NoDeal):
        return f"position {obj.position.describe()}" if obj.position is not None else f"{obj.variable} -> {obj.control}"
    return str(obj)


def table(sc: Scenario) -> list[Entry]:
    """The evidence table: every parameter with its value and its quote or assumption."""
    rows = []
    for path, obj, ev, assumption, inherited in entries(sc):
        if isinstance(obj, NoDeal) and obj.position is not None:
            continue  # its position is listed as a parameter
        if ev is not None:
            kind, source = "evidence", f"{ev.doc}: \u201c{ev.quote}\u201d"
            if assumption is not None:
                source += f"; assumption: {assumption}"
        elif assumption is not None:
            kind, source = "assumption", assumption
        else:
            kind, source = "none", ""
        rows.append(Entry(dotted(path), describe(obj), kind, source, inherited))
    return rows


def coverage(rows: list[Entry]) -> dict[str, float]:
    """Shares of entries backed by evidence, by a stated assumption, and by nothing."""
    n = max(len(rows), 1)
    return {k: sum(r.kind == k for r in rows) / n for k in ("evidence", "assumption", "none")} | {"entries": len(rows)}


SENSITIVITY_FILE = "sensitivity.json"  # in sim.shipped; written by docs/levers.py


def data_digest(sc: Scenario) -> str:
    """A digest of a scenario's merged data: whether a measurement was made on this version of it."""
    text = json.dumps(sc.data, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def headline_assumptions(sc: Scenario) -> dict | None:
    """What the headline numbers of ``sc`` rest on most, as docs/levers.py measured it, or None.

    Read from the shipped ``sensitivity.json`` (the top of the Morris ranking
    of P(agreement) over plausible ranges) when it was written for a scenario
    of this name; ``current`` says whether it was measured on this version of
    the scenario's data (False: re-run docs/levers.py).
    """
    from importlib.resources import files

    try:
        found = files("sim.shipped").joinpath(SENSITIVITY_FILE)
        data = json.loads(found.read_text(encoding="utf-8"))
    except (FileNotFoundError, ModuleNotFoundError, OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("scenario") != sc.name or not isinstance(data.get("top"), list):
        return None
    return data | {"current": data.get("scenario_digest") == data_digest(sc)}


def headline_line(info: dict) -> str:
    """``The headline rests most on: ...`` in one line, from :func:`headline_assumptions`."""
    names = "; ".join(f"{t['path']} ({t['low']:g}..{t['high']:g}: mu* {t['mu_star']:.3f} \u00b1 "
                      f"{t['mu_star_conf']:.3f})" for t in info["top"])
    line = (f"The headline rests most on: {names}. mu* is the mean absolute change in {info.get('output', 'the output')} "
            f"across each plausible range (docs/levers.md).")
    if not info.get("current", True):
        line += " Measured on an earlier version of this scenario: re-run docs/levers.py."
    return line
