"""Records and targets: what was observed, as statistics the model produces (``scenarios/targets/*.yaml``).

A targets file names events of a peace process and when they happened (or
did not), each with its source::

    name: 2025h1
    description: The public record from December 2024 to May 2025.
    targets:
      us_russia_contacts:
        label: US-Russia contacts in Riyadh
        event: talks              # a stage (or Kursk retaken) the results record with its month
        by: 2025-02               # happened by the end of this calendar month ...
        observed: true            # ... (false: had not happened by then)
        source:
          public: US and Russian delegations met in Riyadh
          date: 2025-02-18
          reason: the model's talks are any contacts a mediator brings the sides to

An event target is either ``by: MONTH`` with ``observed: true`` (it had
happened by the end of that month) or ``false`` (it had not), or
``between: [FIRST, LAST]`` (it first happened within those months). Months are
calendar months ``YYYY-MM``; a scenario's ``start`` turns them into its
months (the start month is month 0, the next month 1). Sources are a quote
from a document in ``seeds/`` (``evidence: {doc, quote}``, checked like a
scenario's) or a named public source with its date and the reason it is read
this way (``source: {public, date, reason}``).

A record may also hold **prior entries** (``priors:``): figures from before a
scenario's start, which the model cannot score as events, read as bounds on
one of its parameters. Each quotes its figure from a document in ``seeds/`` and
gives the reason the interval follows from it::

    priors:
      front_pace:
        label: Russia's recent monthly advance
        param: battlefield.monthly_change_km2.mean   # a scenario parameter's key path
        between: [450, 650]
        evidence: {doc: 000_73fce2beaa62e326.txt, quote: "with over 1,000 square kilometres taken ..."}
        reason: over 1,000 km2 in the 64 days from 1 September is 470 to 610 km2 a month

``negsim calibrate`` truncates an uncertain parameter's prior to the interval
and checks that a fixed parameter lies in it (:func:`prior_bounds`);
``negsim hindcast`` scores only the events.

Errors name the file, line and key (``FILE:LINE:COL: key: message``), like a
scenario's.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.errors import Problem, ScenarioError, show_value
from sim.scenario.evidence import check_quotes
from sim.scenario.models import Evidence, Scenario, ScenarioFile
from sim.scenario.registry import parameter_slots
from sim.scenario.yamlsrc import dotted, read_yaml

# The events a record can name, and the results column holding the month each first happened (null: never).
EVENTS = {
    "talks": "talks_month",
    "partial": "first_partial_month",
    "ceasefire": "ceasefire_month",
    "ceasefire_broken": "ceasefire_broken_month",
    "settlement": "settlement_month",
    "relapse": "relapse_month",
    "kursk_retaken": "kursk_retaken_month",
}
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class PublicSource(_Strict):
    """A source outside seeds/: what it says, when, and why the target reads it this way."""

    public: str = Field(min_length=3, description="the public source and what it reports")
    date: dt.date = Field(description="when (YYYY-MM-DD)")
    reason: str = Field(min_length=3, description="why the target reads it this way")


def _month(value: Any) -> str:
    text = str(value)
    if not MONTH.match(text):
        raise ValueError(f"must be a calendar month YYYY-MM (got {show_value(value)})")
    return text


class Target(_Strict):
    """One observed event of a record."""

    label: str = Field(min_length=1)
    event: Literal[tuple(EVENTS)]  # type: ignore[valid-type]
    by: str | None = Field(default=None, description="the event had (or had not) happened by the end of this month")
    between: tuple[str, str] | None = Field(default=None, description="the event first happened within these months")
    observed: bool = Field(default=True, description="with `by`: whether it had happened by then")
    source: PublicSource | None = None
    evidence: Evidence | None = None

    @field_validator("by", mode="before")
    @classmethod
    def _by(cls, v: Any) -> Any:
        return None if v is None else _month(v)

    @field_validator("between", mode="before")
    @classmethod
    def _between(cls, v: Any) -> Any:
        if v is None:
            return None
        if not isinstance(v, list | tuple) or len(v) != 2:
            raise ValueError(f"must be two calendar months [FIRST, LAST] (got {show_value(v)})")
        first, last = _month(v[0]), _month(v[1])
        if first > last:
            raise ValueError(f"the first month must not come after the last (got {first} after {last})")
        return first, last

    @model_validator(mode="after")
    def _one_window(self) -> Target:
        if (self.by is None) == (self.between is None):
            raise ValueError("give exactly one of `by: YYYY-MM` or `between: [YYYY-MM, YYYY-MM]`")
        if self.between is not None and not self.observed:
            raise ValueError("`between` says when the event happened: `observed: false` goes with `by`")
        if (self.source is None) == (self.evidence is None):
            raise ValueError("give exactly one source: `evidence: {doc, quote}` (a document in seeds/) or "
                             "`source: {public, date, reason}`")
        return self


class Prior(_Strict):
    """A figure from before the scenario's start, read as bounds on one of its parameters."""

    label: str = Field(min_length=1)
    param: str = Field(min_length=1, description="the parameter's key path (negsim sweep FILE --list-params)")
    between: tuple[float, float] = Field(description="[LOW, HIGH]: the values the figure allows")
    evidence: Evidence = Field(description="the figure, quoted from a document in seeds/")
    reason: str = Field(min_length=3, description="how the interval follows from the figure")

    @field_validator("between", mode="before")
    @classmethod
    def _between(cls, v: Any) -> Any:
        ok = isinstance(v, list | tuple) and len(v) == 2 and all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in v)
        if not ok:
            raise ValueError(f"must be two numbers [LOW, HIGH] (got {show_value(v)})")
        if v[0] >= v[1]:
            raise ValueError(f"LOW must be below HIGH (got {v[0]:g} and {v[1]:g})")
        return float(v[0]), float(v[1])


class TargetsModel(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    targets: dict[str, Target] = Field(default_factory=dict, description="events, scored and calibrated to")
    priors: dict[str, Prior] = Field(default_factory=dict, description="figures before the start: bounds on a "
                                                                        "parameter's prior")

    @model_validator(mode="after")
    def _not_empty(self) -> TargetsModel:
        if not self.targets and not self.priors:
            raise ValueError("a record needs at least one entry: `targets:` (events) or `priors:` (bounds on "
                             "parameters)")
        return self


@dataclass
class Targets:
    """A loaded targets file."""

    model: TargetsModel
    path: Path

    @property
    def name(self) -> str:
        return self.model.name

    def items(self) -> list[tuple[str, Target]]:
        """The event targets (what is scored)."""
        return list(self.model.targets.items())

    def priors(self) -> list[tuple[str, Prior]]:
        """The prior entries (bounds on parameters; never scored)."""
        return list(self.model.priors.items())

    def last_month(self, start: str) -> int:
        """The last scenario month the record's events speak of (0 when it holds none)."""
        return max((window(t, start)[1] for _, t in self.items()), default=0)


def month_index(month: str, start: str) -> int:
    """Scenario month of calendar month ``month`` (``start`` is month 0)."""
    y, m = (int(x) for x in month.split("-"))
    y0, m0 = (int(x) for x in start.split("-"))
    return (y - y0) * 12 + (m - m0)


def window(t: Target, start: str) -> tuple[int, int]:
    """(first, last) scenario months of a target's window: ``by`` is (0, its month)."""
    if t.between is not None:
        return month_index(t.between[0], start), month_index(t.between[1], start)
    assert t.by is not None
    return 0, month_index(t.by, start)


def read_targets(path: str | Path, *, seeds: list[str | Path] | None = None) -> Targets:
    """Read and validate a targets file; raise ScenarioError listing every problem with FILE:LINE:COL."""
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise ScenarioError([Problem(doc.file, 1, 1, "", f"a targets file is a mapping with name and targets "
                                                         f"(got {show_value(doc.data)})")])
    try:
        model = TargetsModel.model_validate(doc.data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            line, col = doc.where(loc)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            elif err["type"] == "literal_error" and loc and loc[-1] == "event":
                msg = f"must be one of {', '.join(EVENTS)} (got {show_value(err.get('input'))})"
            problems.append(Problem(doc.file, line, col, dotted(loc), msg))
        raise ScenarioError(problems) from None
    sc = ScenarioFile(path=Path(path), text=doc.text, origin={k: (doc.file, *v) for k, v in doc.positions.items()},
                      data=doc.data)
    quotes = check_quotes(sc, seeds)
    if quotes:
        raise ScenarioError(quotes)
    return Targets(model=model, path=Path(path))


def check_against(targets: Targets, start: str, horizon: int) -> None:
    """Every target's window lies within the scenario's months (1 to the horizon); else a FILE:LINE error."""
    doc = read_yaml(targets.path)
    problems = []
    for name, t in targets.items():
        first, last = window(t, start)
        key = "between" if t.between is not None else "by"
        if first < (1 if t.between is not None else 0) or last < 1 or last > horizon:
            line, col = doc.where(("targets", name, key))
            problems.append(Problem(str(targets.path), line, col, f"targets.{name}.{key}",
                                    f"must fall within the scenario's months, {month_label(start, 1)} to "
                                    f"{month_label(start, horizon)} (it starts {start}; got scenario month "
                                    f"{first if first < 1 else last})"))
    if problems:
        raise ScenarioError(problems)


def month_label(start: str, t: int) -> str:
    """Calendar month YYYY-MM of scenario month ``t`` (``start`` is month 0): the inverse of :func:`month_index`."""
    y, m = (int(x) for x in start.split("-"))
    k = m - 1 + t
    return f"{y + k // 12}-{k % 12 + 1:02d}"


@dataclass
class Bound:
    """What the prior entries of records say of one parameter: the intersection of their intervals."""

    param: str
    low: float
    high: float
    entries: list[tuple[str, str, str]]  # (record, entry, label)
    fixed: float | None  # the scenario's value of a fixed parameter (it lies within); None: uncertain
    kept: float = 1.0  # an uncertain parameter's prior probability within [low, high]


def prior_bounds(records: list[Targets], sc: Scenario) -> dict[str, Bound]:
    """The prior entries of ``records`` checked against scenario ``sc``, by parameter; a FILE:LINE error when an
    entry names no number of the scenario, a fixed number lies outside its interval, an uncertain one's prior
    has no probability within it, or two entries of one parameter do not overlap."""
    slots = parameter_slots(sc)
    out: dict[str, Bound] = {}
    problems = []
    for rec in records:
        doc = read_yaml(rec.path) if rec.priors() else None
        for name, pr in rec.priors():
            assert doc is not None
            msg = _bound_problem(slots, pr, sc, out.get(pr.param))
            if msg is not None:
                line, col = doc.where(("priors", name, msg[0]))
                problems.append(Problem(str(rec.path), line, col, f"priors.{name}.{msg[0]}", msg[1]))
                continue
            b = out.get(pr.param)
            low, high = (max(b.low, pr.between[0]), min(b.high, pr.between[1])) if b else pr.between
            param = slots[pr.param].param
            kept = 1.0
            if param.uncertain:
                d = param.frozen()
                kept = float(d.cdf(high)) - float(d.cdf(low))
            out[pr.param] = Bound(pr.param, low, high, (b.entries if b else []) + [(rec.name, name, pr.label)],
                                  None if param.uncertain else float(param.central()), kept)
    if problems:
        raise ScenarioError(problems)
    return out


def _bound_problem(slots: dict, pr: Prior, sc: Scenario, before: Bound | None) -> tuple[str, str] | None:
    """(key, message) of what is wrong with a prior entry against the scenario; None if nothing."""
    if pr.param not in slots:
        near = difflib.get_close_matches(pr.param, list(slots), n=3, cutoff=0.5)
        return "param", (f"not a parameter of scenario {sc.name} (got {pr.param!r})"
                         + (f"; nearest: {', '.join(near)}" if near else "; `negsim sweep FILE --list-params` "
                            "lists them"))
    param = slots[pr.param].param
    if param is None:
        return "param", f"{pr.param} is a switch, not a number: a prior entry bounds a number"
    low, high = pr.between
    if before is not None:
        low, high = max(low, before.low), min(high, before.high)
        if low >= high:
            others = ", ".join(f"{r}:{e}" for r, e, _ in before.entries)
            return "between", (f"does not overlap the interval [{before.low:g}, {before.high:g}] that {others} "
                               f"gives {pr.param}")
    if not param.uncertain:
        value = float(param.central())
        if not low <= value <= high:
            return "between", (f"{pr.param} is fixed at {value:g} in {sc.path}, outside [{low:g}, {high:g}]: the "
                               "figure contradicts the scenario (change the scenario's number or the interval)")
        return None
    d = param.frozen()
    if float(d.cdf(high)) - float(d.cdf(low)) <= 0:
        return "between", (f"the prior of {pr.param} in {sc.path} ({param.describe()}) has no probability within "
                           f"[{low:g}, {high:g}]")
    return None
