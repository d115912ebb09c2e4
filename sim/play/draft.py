"""The draft builder: a package of terms put to the sides at one month of one run.

A teacher picks the terms issue by issue; for a run (scenario, seed,
replicate, parameter overrides) stepped by the Mesa model (the kernel, one run) to a chosen
month, :func:`draft` tells, with the model's own equations and its own
reading of that month:

- each government's utility of the terms (with the side-payment of the lead
  mediator in view), its value of fighting on, and what it asks of a
  proposal;
- the chance each government accepts as the others see it: over the types
  they believe it may be (its resolve is its own secret;
  ``rules.expected_acceptance`` with their belief as it stood when the
  month's proposal was made), zero for a package that breaks one of its
  active red lines;
- the chance each voting public ratifies (``rules.ratify_probability`` of its
  margin); a public that does not vote always "ratifies";
- the chance of a ratified deal, the product of these chances;
- the single change of one issue's option that most raises that chance.

The draft is put to the sides as the model puts a mediator's proposal: as
the alternative to fighting on, judged against each side's value of war
after hearing the mediator in view (``sim.engine.kernel.hear``); with
no mediator, against its plain value of fighting on. Every number is read
through the engine's kernel (:mod:`sim.engine.kernel`): its assessment of the
month, the talks it held, its functions for hearing and ratifying. At a month where the
lead mediator proposed in the run, the numbers are the ones the model used
for its own proposal (``tests/test_draft.py`` checks this against the
engine's log).

Pure: nothing here draws randomness beyond the run's own shocks, and nothing
is written.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.engine import kernel, rules
from sim.engine.agents import MediatorAgent, Reading, reading_of
from sim.engine.model import Decision, NegotiationModel
from sim.errors import UsageError
from sim.play import terms as terms_
from sim.play.game import check_playable
from sim.runs.batch import draw_shocks as draw
from sim.scenario.compile import Compiled, compile_scenario
from sim.scenario.models import Scenario


@dataclass
class MonthState:
    """A run stepped to a month: the model, the lead mediator in view and each government's reading."""

    compiled: Compiled
    model: NegotiationModel
    month: int              # the month reached (the run's last month if it ended earlier)
    lead: MediatorAgent | None
    readings: list[Reading]
    needs: np.ndarray       # (2,) what each side asks of a proposal put against fighting on
    accept: np.ndarray      # (2, P) chance each government accepts each package, as the others see it
    ratify: np.ndarray      # (2, P) chance each government's public ratifies (1 where it does not vote)
    margins: dict[int, np.ndarray]
    need_types: list[np.ndarray] = field(default_factory=list)  # per government, (N,) what each of its types asks
    belief: np.ndarray | None = None  # (2, N) the others' belief over each government's type

    @property
    def p_deal(self) -> np.ndarray:
        """(P,) chance of a ratified deal for every package."""
        return self.accept[0] * self.accept[1] * self.ratify[0] * self.ratify[1]


@dataclass
class GovernmentView:
    name: str
    utility: float          # the terms' utility at the month's line of control
    side_payment: float     # the lead mediator's leverage, counted in a deal
    value: float            # value of fighting on (its value of no deal)
    asks: float             # what it asks of the proposal: value of war after hearing the mediator
    red_line: bool          # the terms break one of its active red lines
    p_accept: float


@dataclass
class PublicView:
    name: str
    votes: bool
    margin: float
    p_ratify: float


@dataclass
class Change:
    issue: str
    old: str
    new: str
    p_deal: float


@dataclass
class Draft:
    """The draft's reading at one month (see the module's docstring)."""

    month: int
    terms: dict[str, str]
    package: int
    lead: str | None
    talks_open: bool
    governments: list[GovernmentView]
    publics: list[PublicView]
    p_deal: float
    best_change: Change | None  # None when no single change raises the chance
    changes: list[Change] = field(default_factory=list)  # every single change, best first
    words: str = ""  # the terms in plain words, the land term's km2 at the month's line (sim.play.terms)
    satisfaction: list[terms_.Satisfaction] = field(default_factory=list)  # each stakeholder's, by the model's numbers


def state_at(scenario: Scenario, seed: int, replicate: int, month: int,
             overrides: dict[str, Any] | None = None) -> MonthState:
    """Step run ``replicate`` of ``seed`` (the Mesa model, with ``overrides``) to ``month`` and read it."""
    c = compile_scenario(scenario, overrides or None)
    check_playable(c, "the draft builder")
    if not 1 <= int(month) <= c.horizon:
        raise UsageError(f"month must be between 1 and {c.horizon} (got {month})")
    proposed: dict[int, Any] = {}

    def snapshot(d: Decision) -> None:  # the run's state as a proposal is made (the others' beliefs, deals in force)
        if d.kind == "propose":
            proposed[model.kernel.month + 1] = copy.deepcopy(model.kernel.s)
        return None  # the model's own move: the run is the batch run

    model = NegotiationModel(c, draw(c, seed, [replicate]).run(0), decide=snapshot)
    while model.running and model.steps < month:
        model.step()
    t, k = model.steps, model.kernel
    if k.last_talks is not None and k.last_talks[0] == t:  # the reading its talks used; each belief before hearing
        a, before = k.last_talks[1].a, k.last_talks[1].before
    else:  # no talks this month: the month's reading is unchanged since the step made it
        a, before = k.assess(gain=False), k.s.drift
    readings = [reading_of(a, g) for g in (0, 1)]
    lead = model.mediators[int(a.lead[0])] if a.lead[0] >= 0 else None
    at = proposed.get(t, k.s)  # the state the month's proposal was made in (no talks: the state now)
    heard_from = at.rows(np.zeros(1, np.int64))  # each belief of the pace as before hearing the mediator
    heard_from.drift = before
    if lead is not None:  # each side's value of war, and each of its types', after hearing the mediator
        heard = [kernel.hear(c, k.p, g, a.cred[g], heard_from) for g in (0, 1)]
        needs = np.array([float(h[1][0]) for h in heard])
        need_types = [h[2][0] for h in heard]
    else:
        needs = np.array([readings[g].value for g in (0, 1)])
        need_types = [a.v_types[g][0] for g in (0, 1)]
    belief = at.belief[0]
    govs, p = model.governments, model.p
    temp = np.atleast_1d(np.asarray(p["temperature"], dtype=float))
    accept = np.stack([rules.expected_acceptance(readings[g].ub[None], need_types[g][None], belief[g][None], temp)[0]
                       * govs[g].allowed() for g in (0, 1)])
    _, margins = model.ratification(readings)
    ratify = np.ones((2, c.n_packages))
    for g, pb in model.public_of.items():
        if pb.votes():
            ratify[g] = rules.ratify_probability(margins[g], pb.param("ratify_spread"))
    return MonthState(c, model, t, lead, readings, needs, accept, ratify, margins, need_types, belief)


def package_of(c: Compiled, terms: dict[str, str]) -> int:
    """The package with these terms (one option per issue); UsageError naming the bad issue or option."""
    unknown = [k for k in terms if k not in c.issues]
    if unknown:
        raise UsageError(f"unknown issue {unknown[0]!r}; issues: {', '.join(c.issues)}")
    row = []
    for k, issue in enumerate(c.issues):
        if issue not in terms:
            raise UsageError(f"no option chosen for issue {issue!r}; options: {', '.join(c.options[k])}")
        if terms[issue] not in c.options[k]:
            raise UsageError(f"unknown option {terms[issue]!r} of issue {issue!r}; options: {', '.join(c.options[k])}")
        row.append(c.options[k].index(terms[issue]))
    x = c.package_index(row)
    if x is None:
        raise UsageError("these terms are excluded by the scenario (exclude:): "
                         + ", ".join(f"{k} = {v}" for k, v in terms.items()))
    return x


def single_changes(c: Compiled, x: int) -> list[tuple[int, int, int]]:
    """(issue, new option, package) of every package that differs from x in one issue's option."""
    row = c.package_options[x]
    out = []
    for k in range(len(c.issues)):
        for o in range(len(c.options[k])):
            if o == row[k]:
                continue
            want = row.copy()
            want[k] = o
            hit = np.flatnonzero((c.package_options == want).all(axis=1))
            if len(hit):
                out.append((k, o, int(hit[0])))
    return out


def read_draft(state: MonthState, terms: dict[str, str]) -> Draft:
    """The draft ``terms`` at the state's month."""
    c, m = state.compiled, state.model
    x = package_of(c, terms)
    govs = [GovernmentView(name=g.name, utility=float(state.readings[g.index].u[x]),
                           side_payment=float(state.readings[g.index].leverage),
                           value=float(state.readings[g.index].value), asks=float(state.needs[g.index]),
                           red_line=not bool(g.allowed()[x]), p_accept=float(state.accept[g.index, x]))
            for g in m.governments]
    pubs = [PublicView(name=pb.name, votes=pb.votes(), margin=float(state.margins[g][x]),
                       p_ratify=float(state.ratify[g, x]))
            for g, pb in sorted(m.public_of.items())]
    p_deal = state.p_deal
    row = c.package_options[x]
    changes = sorted((Change(c.issues[k], c.options[k][row[k]], c.options[k][o], float(p_deal[y]))
                      for k, o, y in single_changes(c, x)), key=lambda ch: -ch.p_deal)
    best = changes[0] if changes and changes[0].p_deal > p_deal[x] else None
    worth = {g.name: g.utility + g.side_payment for g in govs}
    happy = [terms_.satisfaction(g.name, "government", worth[g.name], g.asks, "true") for g in govs]
    happy += [terms_.public_satisfaction(pb.name, worth[c.governments[g]], float(state.margins[g][x]), "true")
              for g, pb in sorted(m.public_of.items()) if pb.votes()]
    km2 = terms_.land_km2(c, m.p, x, float(m.battlefield.territory))
    return Draft(month=state.month, terms=c.term_names(x), package=x,
                 lead=state.lead.name if state.lead is not None else None, talks_open=bool(m.talks_open),
                 governments=govs, publics=pubs, p_deal=float(p_deal[x]), best_change=best, changes=changes,
                 words=terms_.package_words(c, x, km2), satisfaction=happy)


def draft(scenario: Scenario, seed: int, replicate: int, month: int, terms: dict[str, str],
          overrides: dict[str, Any] | None = None) -> Draft:
    """Put ``terms`` to the sides at ``month`` of one run: see the module's docstring."""
    return read_draft(state_at(scenario, seed, replicate, month, overrides), terms)
