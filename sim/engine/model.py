"""The agent engine: a Mesa 3.5 model of one run, steppable a month at a time.

It is the reference implementation of the model: readable, inspectable, and
used by ``negsim explain`` and classroom play. Each month runs these phases,
in this fixed order (the vector engine follows the same order):

1. timed events of the month change parameters;
2. the battlefield moves (territory, Kursk area);
3. governments fight: casualties, learning of the front's pace, hurt;
4. publics drift: war-weariness accumulates with losses;
5. each government reads the month: package utilities at today's line, the
   value of fighting on (expected outcome less expected costs), the lead
   mediator's side-payment and credibility;
6. if talks are closed: preconditions, then ripeness (a mutually hurting
   stalemate with a way out), may open them, drawing each side's judgement
   and each public's mood for the round;
7. if talks are open: this month's proposer (the mediator, then the
   governments in turn) offers a package; both governments answer and the
   voting publics ratify; otherwise talks may break down.

No Mesa randomness is used (no ``shuffle_do``, no ``model.random``): the
month's draws come from the run's pre-drawn shocks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mesa
import numpy as np

from sim.engine import rules
from sim.engine.agents import GovernmentAgent, MediatorAgent, PublicAgent, Reading
from sim.engine.records import stack_runs, to_frame
from sim.engine.shocks import Shocks, apply_events
from sim.scenario.compile import Compiled


class Battlefield:
    """The environment: territory Russia holds, the Ukraine-held Kursk area."""

    def __init__(self, p: dict[str, Any]):
        self.territory = p["territory0"]
        self.kursk = p["kursk0"]
        self.kursk_month = -1

    def advance(self, p: dict[str, Any], z: np.ndarray, month: int) -> tuple[float, float]:
        """Move the front and the Kursk area one month; return (change km2, Kursk km2 retaken)."""
        change = rules.normal_draw(p["change_mean"], p["change_sd"], z[0])
        self.territory = rules.advance_territory(self.territory, change)
        retaken = rules.kursk_retaken(self.kursk, p["kursk_mean"], p["kursk_sd"], z[1])
        before, self.kursk = self.kursk, self.kursk - retaken
        if before > 0.0 and self.kursk <= 0.0:
            self.kursk_month = month
        return change, retaken


@dataclass
class Decision:
    """A move the model makes in talks, which a person may make instead (``negsim play``, the classroom).

    ``kind`` is ``propose`` (a government's or the lead mediator's offer), ``answer`` (a government accepts or
    rejects the package on the table) or ``ratify`` (a voting public ratifies or rejects it). ``default`` is
    the model's own choice (a package number, or True/False); ``options`` the packages the role may propose
    (its own red lines respected); ``view`` what the role may see (its own private information only).
    """

    kind: str
    role: str
    month: int
    default: int | bool
    package: int = -1
    options: np.ndarray | None = None
    view: dict[str, Any] = field(default_factory=dict)


# A decider is asked at each decision; it returns the move (a package number, or True/False) or None for
# the model's own choice. The model never asks otherwise, so a run with no decider is the batch run.
Decider = Callable[[Decision], "int | bool | None"]


class NegotiationModel(mesa.Model):
    """One run of a compiled scenario with one replicate's shocks."""

    def __init__(self, compiled: Compiled, shocks: Shocks, decide: Decider | None = None):
        super().__init__(rng=int(shocks.replicates))  # Mesa's own generators are never used
        self.compiled, self.shocks = compiled, shocks
        self.decide = decide
        self.p = {k: np.array(v, copy=True) for k, v in shocks.params.items()}
        apply_events(compiled, self.p, 0)
        self.battlefield = Battlefield(self.p)
        self.governments = [GovernmentAgent(self, name, g) for g, name in enumerate(compiled.governments)]
        self.public_of = {g: PublicAgent(self, name, self.governments[g])
                          for g, name in enumerate(compiled.publics) if name is not None}
        self.mediators = [MediatorAgent(self, name, i) for i, name in enumerate(compiled.mediators)]
        self.talks_open = False
        self.talks_month = self.agreement_month = -1
        self.talks_rounds = self.proposals = self.round_month = 0
        self.offers = [0, 0, 0]
        self.deal, self.u_deal, self.lead, self.land_km2 = -1, [0.0, 0.0], -1, 0.0
        self.round_lead = -1
        self.change = self.retaken = 0.0
        self.positions = compiled.packages
        self.d = shocks.month(1)
        self.log: list[dict[str, Any]] = []
        self.datacollector = mesa.DataCollector(model_reporters={
            "territory_km2": lambda m: float(m.battlefield.territory),
            "kursk_km2": lambda m: float(m.battlefield.kursk),
            **{f"hurt_{a.name}": (lambda m, g=a.index: float(m.governments[g].hurt)) for a in self.governments},
            **{f"drift_belief_{a.name}": (lambda m, g=a.index: float(m.governments[g].drift)) for a in self.governments},
            **{f"weariness_{a.name}": (lambda m, g=g: float(m.public_of[g].weariness)) for g, a in self.public_of.items()},
            "talks_open": lambda m: m.talks_open,
            "agreement": lambda m: m.deal >= 0,
        })

    @property
    def month(self) -> int:
        return self.steps

    def step(self) -> None:
        t, c = self.steps, self.compiled
        entry: dict[str, Any] = {"month": t, "events": [(c.path_of(slot), value) for when, ch in c.events if when == t
                                                         for slot, value in ch]}
        apply_events(c, self.p, t)
        self.d = self.shocks.month(t)
        self.change, self.retaken = self.battlefield.advance(self.p, self.d["front"], t)
        self.agents_by_type[GovernmentAgent].do("fight")
        if PublicAgent in self.agents_by_type:
            self.agents_by_type[PublicAgent].do("drift")
        bf = self.battlefield
        self.positions = rules.package_positions(c.packages, c.land_issue, c.land_share, bf.territory,
                                                 self.p["pre2022"], self.p["claimed"])
        lead = self.lead_mediator()
        readings = [g.read(lead) for g in self.governments]
        entry |= {"change": float(self.change), "retaken": float(self.retaken),
                  "territory": float(bf.territory), "kursk": float(bf.kursk),
                  "hurt": [float(g.hurt) for g in self.governments], "drift": [float(g.drift) for g in self.governments],
                  "casualties": [float(g.casualties) for g in self.governments],
                  "weariness": {g: float(pb.weariness) for g, pb in self.public_of.items()},
                  "values": [float(r.value) for r in readings], "gains": [float(r.gain) for r in readings],
                  "costs": [float(r.cost) for r in readings]}
        if not self.talks_open:
            self._try_open(entry, readings)
            if self.talks_open:  # the round's lead mediator was just drawn: read the month with it
                lead = self.lead_mediator()
                readings = [g.read(lead) for g in self.governments]
        if self.talks_open:
            self._negotiate(entry, lead, readings)
        self.log.append(entry)
        self.datacollector.collect(self)
        if self.deal >= 0 or t >= c.horizon:
            self.running = False

    def allowed(self) -> np.ndarray:
        """(P,) packages neither government's active red lines forbid."""
        return self.governments[0].allowed() & self.governments[1].allowed()

    def way_out(self, readings: list[Reading]) -> bool:
        """Zartman's way out: some package both sides prefer to fighting on, given their own beliefs."""
        both = self.allowed()
        return bool(rules.zone_of_agreement(readings[0].ub, readings[1].ub, readings[0].value, readings[1].value,
                                            both).any(axis=-1))

    def _try_open(self, entry: dict[str, Any], readings: list[Reading]) -> None:
        holds = [(g.name, name, ok) for g in self.governments for name, ok in g.preconditions_hold()]
        entry["preconditions"] = holds
        if not all(ok for _, _, ok in holds):
            return
        govs = self.governments
        stalemate = (readings[0].gain <= 0.0) & (readings[1].gain <= 0.0)
        way_out = self.way_out(readings)
        chance = rules.ripeness(govs[0].hurt, govs[1].hurt, self.p["hurt_threshold"][0], self.p["hurt_threshold"][1],
                                self.p["ripeness_slope"], stalemate, way_out)
        entry |= {"ripeness": float(chance), "stalemate": bool(stalemate), "way_out": way_out}
        if self.d["talks"][0] < chance:
            self.talks_open = True
            self.talks_rounds += 1
            self.round_month = 0
            entry["opened"] = True
            if self.talks_month < 0:
                self.talks_month = self.steps
            acc = self.acceptabilities()
            self.round_lead = int(rules.draw_lead(acc[0], acc[1], self.p["med_active"], self.d["mediation"][0]))

    def acceptabilities(self) -> list[np.ndarray]:
        """(M,) acceptability of each mediator to each side."""
        return [np.array([m.acceptability(g) for m in self.mediators]) for g in (0, 1)]

    def lead_mediator(self) -> MediatorAgent | None:
        """In talks, the round's lead (drawn when the round opened); otherwise the most acceptable mediator."""
        if not self.mediators:
            return None
        if self.talks_open and self.round_lead >= 0 and self.p["med_active"][self.round_lead] > 0.0:
            return self.mediators[self.round_lead]
        acc = self.acceptabilities()
        i = int(rules.lead_mediator(acc[0], acc[1], self.p["med_active"]))
        return self.mediators[i] if i >= 0 else None

    def ratification(self, readings: list[Reading]) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """Per package: the log-chance every voting public ratifies, and each public's margin."""
        log_ratify, margins = 0.0, {}
        for g, pb in self.public_of.items():
            margins[g] = pb.margins(readings[g])
        for g in (0, 1):
            pb = self.public_of.get(g)
            if pb is not None:
                prob = rules.ratify_probability(margins[g], pb.param("ratify_spread"))
                log_ratify = log_ratify + rules.log_vote_chance(prob, pb.votes())
            else:
                log_ratify = log_ratify + np.zeros(self.compiled.n_packages)
        return np.broadcast_to(log_ratify, (self.compiled.n_packages,)), margins

    def _ask(self, decision: Decision) -> tuple[int | bool, bool]:
        """(the move, made by a person?): the decider's move if it gives one, else the model's own choice."""
        move = self.decide(decision) if self.decide is not None else None
        return (decision.default, False) if move is None else (move, True)

    def _negotiate(self, entry: dict[str, Any], lead: MediatorAgent | None, readings: list[Reading]) -> None:
        p, govs = self.p, self.governments
        allowed = self.allowed()
        log_ratify, margins = self.ratification(readings)
        who = int(rules.proposer(self.round_month, (self.talks_rounds + 1) % 2, lead is not None))
        ratifiable = allowed.copy()  # a continuation offer must be one the voting publics are expected to ratify
        for g, pb in self.public_of.items():
            if pb.votes():
                ratifiable &= margins[g] >= 0.0
        zone, before = None, [float(g.drift) for g in govs]
        if who == 2:  # hearing the mediator moves each side's belief about the front (GovernmentAgent.listen)
            x, zone, need = lead.propose(readings, log_ratify, allowed, ratifiable)
            role, options = lead.name, allowed
        else:
            need = rules.demands(readings[0].ub, readings[1].ub, readings[0].value, readings[1].value,
                                 p["discount"][0], p["discount"][1], p["breakdown"], ratifiable)[:2]
            need = [need[0], need[1]]
            x = govs[who].propose(readings, need, log_ratify, allowed)
            role, options = govs[who].name, govs[who].allowed()
        played = {"proposal": False, "answers": [False, False], "votes": {}}
        if self.decide is not None:
            view = self._view_propose(who, lead, readings, need, margins, options) | {"proposer": role}
            x, played["proposal"] = self._ask(Decision("propose", role, self.steps, int(x), options=options, view=view))
            x = int(x)
        answers = [g.respond(x, readings[g.index], need[g.index], own=who == g.index) for g in govs]
        votes = {g: (*pb.ratify(float(margins[g][x])), pb.votes()) for g, pb in self.public_of.items()}
        if self.decide is not None:
            for g in govs:
                if who == g.index:  # the proposer accepts its own offer, a person's or the model's
                    continue
                view = self._view_answer(g.index, x, readings, need, answers[g.index][0]) | {"proposer": role}
                ok, played["answers"][g.index] = self._ask(Decision("answer", g.name, self.steps,
                                                                    answers[g.index][1], package=x, view=view))
                answers[g.index] = (answers[g.index][0], bool(ok))
            signed = all(ok for _, ok in answers)
            for g, pb in self.public_of.items():
                if signed and pb.votes():  # a public votes on a package both governments signed
                    prob, ok, voted = votes[g]
                    view = self._view_ratify(g, x, readings, margins, prob) | {"proposer": role}
                    ok, played["votes"][g] = self._ask(Decision("ratify", pb.name, self.steps, ok, package=x,
                                                                view=view))
                    votes[g] = (prob, bool(ok), voted)
        agreed = all(ok for _, ok in answers) and all(ok for _, ok, _voted in votes.values())
        self.proposals += 1
        self.offers[who] += 1
        self.lead = lead.index if lead is not None else -1
        entry["talks"] = {"lead": lead.name if lead else None, "proposer": who, "package": x, "zone": zone,
                          "utilities": [float(r.u[x]) for r in readings], "leverage": [float(r.leverage) for r in readings],
                          "needs": [float(n) for n in need], "values": [float(r.value) for r in readings],
                          "answers": answers, "votes": votes, "agreed": agreed,
                          "judgement": [float(p["temperature"] * g.judgement) for g in govs],
                          "round_month": self.round_month,
                          "heard": [[b, float(g.drift)] for b, g in zip(before, govs, strict=True)] if who == 2 else None}
        entry["talks"]["margins"] = {g: float(m[x]) for g, m in margins.items()}  # how far the deal clears each public's bar
        if self.decide is not None:
            entry["talks"]["played"] = played
        if agreed:
            bf = self.battlefield
            self.deal, self.agreement_month = x, self.steps
            self.u_deal = [readings[g].u[x] for g in (0, 1)]
            if self.compiled.land_issue >= 0:
                self.land_km2 = rules.land_moved(self.compiled.land_share[x], bf.territory, p["pre2022"], p["claimed"])
        elif self.d["breakdown"][0] < p["breakdown"]:
            self.talks_open = False
            entry["talks"]["breakdown"] = True
        self.round_month += 1

    # -- what a role sees at a decision (its own private information only)
    def _situation(self) -> dict[str, Any]:
        bf = self.battlefield
        return {"month": self.steps, "territory_km2": float(bf.territory), "change_km2": float(self.change),
                "kursk_km2": float(bf.kursk), "round_month": self.round_month}

    def _view_government(self, g: int, readings: list[Reading], need: list[float]) -> dict[str, Any]:
        r = readings[g]
        pb = self.public_of.get(g)
        return {**self._situation(), "utilities": [float(u) for u in r.ub], "value_of_fighting": float(r.value),
                "demand": float(need[g]), "expected_costs": float(r.cost), "casualties": float(self.governments[g].casualties),
                "weariness": float(pb.weariness) if pb is not None else None,
                "own_allowed": [bool(a) for a in self.governments[g].allowed()]}

    def _view_propose(self, who: int, lead: MediatorAgent | None, readings: list[Reading], need: list[float],
                      margins: dict[int, np.ndarray], options: np.ndarray) -> dict[str, Any]:
        if who < 2:
            view = self._view_government(who, readings, need)
            pb = self.public_of.get(who)
            if pb is not None and pb.votes():
                view["public_margins"] = [float(m) for m in margins[who]]
            return view
        # A mediator reads both sides as it itself hears them: its own assessment, not their private values.
        chance = [rules.acceptance_probability(readings[g].ub, need[g], self.p["temperature"]) for g in (0, 1)]
        log_ratify, _ = self.ratification(readings)
        joint = chance[0] * chance[1] * np.exp(log_ratify) * options
        return {**self._situation(), "mediator": lead.name, "chance_of_deal": [float(v) for v in joint]}

    def _view_answer(self, g: int, x: int, readings: list[Reading], need: list[float], prob: float) -> dict[str, Any]:
        return {**self._view_government(g, readings, need), "offer": x, "model_chance_accept": float(prob)}

    def _view_ratify(self, g: int, x: int, readings: list[Reading], margins: dict[int, np.ndarray],
                     prob: float) -> dict[str, Any]:
        pb = self.public_of[g]
        return {**self._situation(), "offer": x, "weariness": float(pb.weariness), "margin": float(margins[g][x]),
                "utility": float(readings[g].ub[x]), "model_chance_ratify": float(prob)}

    def record(self) -> dict[str, Any]:
        """The raw run record (see :mod:`sim.engine.records`)."""
        return {
            "talks_month": self.talks_month, "talks_rounds": self.talks_rounds,
            "agreement_month": self.agreement_month, "deal": self.deal, "u_deal": self.u_deal,
            "land_km2": self.land_km2, "lead": self.lead, "proposals": self.proposals, "offers": self.offers,
            "territory": self.battlefield.territory, "kursk": self.battlefield.kursk,
            "kursk_month": self.battlefield.kursk_month,
            "casualties": [g.casualties for g in self.governments], "hurt": [g.hurt for g in self.governments],
            "drift": [g.drift for g in self.governments],
            "weariness": [self.public_of[g].weariness if g in self.public_of else self.p["weariness0"][g] for g in (0, 1)],
        }


def run_one(compiled: Compiled, shocks: Shocks, decide: Decider | None = None) -> NegotiationModel:
    """Run one replicate to its end (agreement or horizon) and return the model."""
    model = NegotiationModel(compiled, shocks, decide)
    while model.running:
        model.step()
    return model


def run_block(compiled: Compiled, shocks: Shocks):
    """Run every replicate of a block with Mesa agents; same table as the vector engine."""
    records = [run_one(compiled, shocks.run(i)).record() for i in range(len(shocks.replicates))]
    return to_frame(compiled, stack_runs(records), shocks.replicates, shocks.params)
