"""The agent engine: a Mesa 3.5 model of one run, steppable a month at a time.

It is the reference implementation of the model: readable, inspectable, and
used by ``negsim explain`` and classroom play. Each month runs these phases,
in this fixed order (the vector engine follows the same order):

1. timed events of the month change parameters;
2. the battlefield moves (territory, Kursk area);
3. governments fight: casualties, Beta belief update, hurt;
4. publics drift: war-weariness follows hurt;
5. if talks are closed: preconditions, then ripeness, may open them;
6. if talks are open: the lead mediator proposes, governments accept or
   reject, publics ratify; otherwise talks may break down.

No Mesa randomness is used (no ``shuffle_do``, no ``model.random``): the
month's draws come from the run's pre-drawn shocks.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np

from sim import rules
from sim.agents import GovernmentAgent, MediatorAgent, PublicAgent, propose
from sim.compile import Compiled
from sim.records import stack_runs, to_frame
from sim.shocks import Shocks, apply_events


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


class NegotiationModel(mesa.Model):
    """One run of a compiled scenario with one replicate's shocks."""

    def __init__(self, compiled: Compiled, shocks: Shocks):
        super().__init__(rng=int(shocks.replicates))  # Mesa's own generators are never used
        self.compiled, self.shocks = compiled, shocks
        self.p = {k: np.array(v, copy=True) for k, v in shocks.params.items()}
        apply_events(compiled, self.p, 0)
        self.battlefield = Battlefield(self.p)
        self.governments = [GovernmentAgent(self, name, g) for g, name in enumerate(compiled.governments)]
        self.public_of = {g: PublicAgent(self, name, self.governments[g])
                          for g, name in enumerate(compiled.publics) if name is not None}
        self.mediators = [MediatorAgent(self, name, i) for i, name in enumerate(compiled.mediators)]
        self.utilities = self._utilities()
        self.talks_open = False
        self.talks_month = self.agreement_month = -1
        self.talks_rounds = self.proposals = 0
        self.deal, self.u_deal, self.lead = -1, [0.0, 0.0], -1
        self.change = self.retaken = 0.0
        self.z, self.u = shocks.normal[0], shocks.uniform[0]
        self.log: list[dict[str, Any]] = []
        self.datacollector = mesa.DataCollector(model_reporters={
            "territory_km2": lambda m: float(m.battlefield.territory),
            "kursk_km2": lambda m: float(m.battlefield.kursk),
            **{f"hurt_{a.name}": (lambda m, g=a.index: float(m.governments[g].hurt)) for a in self.governments},
            **{f"belief_{a.name}": (lambda m, g=a.index: m.governments[g].belief()) for a in self.governments},
            **{f"weariness_{a.name}": (lambda m, g=g: float(m.public_of[g].weariness)) for g, a in self.public_of.items()},
            "talks_open": lambda m: m.talks_open,
            "agreement": lambda m: m.deal >= 0,
        })

    def _utilities(self) -> list[np.ndarray]:
        return [rules.package_utilities(self.compiled.packages, self.p["ideal"][g], self.p["salience"][g]) for g in (0, 1)]

    @property
    def month(self) -> int:
        return self.steps

    def step(self) -> None:
        t = self.steps
        entry: dict[str, Any] = {"month": t, "events": apply_events(self.compiled, self.p, t)}
        if entry["events"]:
            self.utilities = self._utilities()
        self.z, self.u = self.shocks.normal[t - 1], self.shocks.uniform[t - 1]
        self.change, self.retaken = self.battlefield.advance(self.p, self.z, t)
        self.agents_by_type[GovernmentAgent].do("fight")
        if PublicAgent in self.agents_by_type:
            self.agents_by_type[PublicAgent].do("drift")
        entry |= {"change": float(self.change), "retaken": float(self.retaken),
                  "territory": float(self.battlefield.territory), "kursk": float(self.battlefield.kursk),
                  "hurt": [float(g.hurt) for g in self.governments], "belief": [g.belief() for g in self.governments],
                  "weariness": {g: float(pb.weariness) for g, pb in self.public_of.items()}}
        if not self.talks_open:
            self._try_open(entry)
        if self.talks_open:
            self._negotiate(entry)
        self.log.append(entry)
        self.datacollector.collect(self)
        if self.deal >= 0 or t >= self.compiled.horizon:
            self.running = False

    def _try_open(self, entry: dict[str, Any]) -> None:
        holds = [(g.name, name, ok) for g in self.governments for name, ok in g.preconditions_hold()]
        entry["preconditions"] = holds
        if not all(ok for _, _, ok in holds):
            return
        chance = rules.ripeness(self.governments[0].hurt, self.governments[1].hurt,
                                self.p["hurt_threshold"][0], self.p["hurt_threshold"][1], self.p["ripeness_slope"])
        entry["ripeness"] = float(chance)
        if self.u[0] < chance:
            self.talks_open = True
            self.talks_rounds += 1
            entry["opened"] = True
            if self.talks_month < 0:
                self.talks_month = self.steps

    def lead_mediator(self) -> MediatorAgent | None:
        if not self.mediators:
            return None
        acc = [np.array([m.acceptability(g) for m in self.mediators]) for g in (0, 1)]
        active = np.array([self.p["med_active"][m.index] for m in self.mediators])
        i = int(rules.lead_mediator(acc[0], acc[1], active))
        return self.mediators[i] if i >= 0 else None

    def _negotiate(self, entry: dict[str, Any]) -> None:
        lead = self.lead_mediator()
        govs = self.governments
        u_nd = [g.no_deal_utility() for g in govs]
        res = [g.reservation(lead, u) for g, u in zip(govs, u_nd, strict=True)]
        allowed = govs[0].allowed() & govs[1].allowed()
        x, zone = lead.propose(res, allowed) if lead is not None else propose(self, 0.5, res, allowed)
        self.proposals += 1
        self.lead = lead.index if lead is not None else -1
        answers = [g.respond(x, r) for g, r in zip(govs, res, strict=True)]
        votes = {g: (*pb.ratify(x, u_nd[g]), pb.param("ratifies") > 0.0) for g, pb in self.public_of.items()}
        agreed = all(ok for _, ok in answers) and all(ok for _, ok, _voted in votes.values())
        entry["talks"] = {"lead": lead.name if lead else None, "package": x, "zone": zone,
                          "utilities": [float(self.utilities[g][x]) for g in (0, 1)],
                          "reservations": [float(r) for r in res], "answers": answers, "votes": votes,
                          "agreed": agreed}
        if agreed:
            self.deal, self.agreement_month = x, self.steps
            self.u_deal = [self.utilities[g][x] for g in (0, 1)]
        elif self.u[5] < self.p["breakdown"]:
            self.talks_open = False
            entry["talks"]["breakdown"] = True

    def record(self) -> dict[str, Any]:
        """The raw run record (see :mod:`sim.records`)."""
        return {
            "talks_month": self.talks_month, "talks_rounds": self.talks_rounds,
            "agreement_month": self.agreement_month, "deal": self.deal, "u_deal": self.u_deal,
            "lead": self.lead, "proposals": self.proposals, "territory": self.battlefield.territory,
            "kursk": self.battlefield.kursk, "kursk_month": self.battlefield.kursk_month,
            "casualties": [g.casualties for g in self.governments], "hurt": [g.hurt for g in self.governments],
            "weariness": [self.public_of[g].weariness if g in self.public_of else self.p["weariness0"][g] for g in (0, 1)],
        }


def run_one(compiled: Compiled, shocks: Shocks) -> NegotiationModel:
    """Run one replicate to its end (agreement or horizon) and return the model."""
    model = NegotiationModel(compiled, shocks)
    while model.running:
        model.step()
    return model


def run_block(compiled: Compiled, shocks: Shocks):
    """Run every replicate of a block with Mesa agents; same table as the vector engine."""
    records = [run_one(compiled, shocks.run(i)).record() for i in range(len(shocks.replicates))]
    return to_frame(compiled, stack_runs(records), shocks.replicates, shocks.params)
