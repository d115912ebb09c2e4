"""The Mesa model: one run of the kernel (R = 1), steppable a month at a time.

:class:`NegotiationModel` runs :class:`sim.engine.kernel.Kernel` over a single
run: ``step()`` is one kernel month (the phases are listed in
:mod:`sim.engine.kernel`), written to the month log ``model.log`` (typed in
:mod:`sim.engine.records`). Its agents (:mod:`sim.engine.agents`) are views of
the kernel's state at run 0. It is the model a person plays (``negsim play``,
the classroom, replays): with a decider, the kernel's decision seam asks the
decider at each proposal, answer and ratification, and a move it returns
replaces the model's own choice (:class:`Decision` says what the role sees).

No Mesa randomness is used (no ``shuffle_do``, no ``model.random``): the
month's draws come from the run's pre-drawn shocks.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np

from sim.engine import kernel, rules
from sim.engine.agents import (
    GovernmentAgent,
    KernelModel,
    MediatorAgent,
    PublicAgent,
    Reading,
    reading_of,
)
from sim.engine.kernel import Kernel, Talks
from sim.engine.records import Decider, Decision, MonthEntry, stack_runs, to_frame
from sim.engine.shocks import Shocks
from sim.scenario.compile import Act, Compiled

__all__ = ["Battlefield", "Decider", "Decision", "NegotiationModel", "run_block", "run_one"]


class Battlefield:
    """The environment, a view of the kernel's state: territory Russia holds, the Ukraine-held Kursk area."""

    def __init__(self, k: Kernel):
        self._k = k

    @property
    def territory(self) -> float:
        return float(self._k.s.territory[0])

    @property
    def kursk(self) -> float:
        return float(self._k.s.kursk[0])

    @property
    def kursk_month(self) -> int:
        return int(self._k.s.kursk_month[0])


def one_run(shocks: Shocks) -> Shocks:
    """The shocks of one run (no run axis) as a block of one run (R = 1)."""
    if np.ndim(shocks.replicates):
        if len(shocks.replicates) != 1:
            raise ValueError(f"NegotiationModel runs one run (got the shocks of {len(shocks.replicates)})")
        return shocks
    return Shocks(np.asarray(shocks.replicates).reshape(1), {k: v[None] for k, v in shocks.draws.items()},
                  {k: np.asarray(v)[None] for k, v in shocks.params.items()},
                  {k: np.asarray(v).reshape(1) for k, v in shocks.keys.items()}, shocks.used, shocks.horizon)


class NegotiationModel(KernelModel):
    """One run of a compiled scenario with one replicate's shocks: the kernel at R = 1."""

    def __init__(self, compiled: Compiled, shocks: Shocks, decide: Decider | None = None, *, log: bool = True):
        block = one_run(shocks)
        self.keep_log = log  # write the month log (False: a batch run one at a time, which needs only the record)
        super().__init__(rng=int(block.replicates[0]))  # Mesa's own generators are never used
        self.compiled, self.shocks = compiled, shocks
        self.decide = decide
        self.kernel = Kernel(compiled, block, full=True)
        self.battlefield = Battlefield(self.kernel)
        self.governments = [GovernmentAgent(self, name, g) for g, name in enumerate(compiled.governments)]
        self.public_of = {g: PublicAgent(self, name, self.governments[g])
                          for g, name in enumerate(compiled.publics) if name is not None}
        self.mediators = [MediatorAgent(self, name, i) for i, name in enumerate(compiled.mediators)]
        self.log: list[MonthEntry] = []
        self.acted: list[tuple[int, str, str]] = []  # actions on the ground taken: (month, role, action)
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())

    def _reporters(self) -> dict[str, Any]:
        out: dict[str, Any] = {"territory_km2": lambda m: m.battlefield.territory, "kursk_km2": lambda m: m.battlefield.kursk}
        for a in self.governments:
            out[f"hurt_{a.name}"] = lambda m, g=a.index: m.governments[g].hurt
        for a in self.governments:
            out[f"drift_belief_{a.name}"] = lambda m, g=a.index: m.governments[g].drift
        for g, a in self.public_of.items():
            out[f"weariness_{a.name}"] = lambda m, g=g: m.public_of[g].weariness
        return out | {"talks_open": lambda m: m.talks_open, "agreement": lambda m: m.deal >= 0}

    # -- the run's state (run 0 of the kernel)
    @property
    def month(self) -> int:
        return self.steps

    @property
    def p(self) -> dict[str, Any]:
        """The run's parameters as they are now (after events), without the run axis."""
        return {k: v[0] for k, v in self.kernel.p.items()}

    def _int(self, name: str) -> int:
        return int(getattr(self.kernel.s, name)[0])

    talks_open = property(lambda self: bool(self.kernel.s.open[0]), doc="talks are open")
    talks_month = property(lambda self: self._int("talks_month"), doc="month talks first opened (-1: never)")
    talks_rounds = property(lambda self: self._int("talks_rounds"))
    round_month = property(lambda self: self._int("round_month"), doc="months since the round opened")
    round_lead = property(lambda self: self._int("round_lead"), doc="the round's lead mediator (-1: none)")
    agreement_month = property(lambda self: self._int("agreement_month"))
    deal = property(lambda self: self._int("deal"), doc="the agreed package (-1: none)")
    lead = property(lambda self: self._int("lead"), doc="lead mediator of the last proposal (-1: none)")
    proposals = property(lambda self: self._int("proposals"))
    offers = property(lambda self: [int(v) for v in self.kernel.s.offers[0]])
    u_deal = property(lambda self: [float(v) for v in self.kernel.s.u_deal[0]])
    land_km2 = property(lambda self: float(self.kernel.s.land_km2[0]))
    change = property(lambda self: float(self.kernel.s.change[0]), doc="the month's move of the front, km2")
    retaken = property(lambda self: float(self.kernel.s.retaken[0]), doc="the month's km2 of the Kursk area retaken")

    def step(self) -> None:
        """One kernel month, logged; the run goes on to the horizon (a settlement may relapse)."""
        entry = self.kernel.step(log=self.keep_log, seam=_PersonSeam(self) if self.decide is not None else None)
        assert self.kernel.month == self.steps
        if entry is not None:
            if acted := [(role, name) for t, role, name in self.acted if t == self.steps]:
                entry["actions"] = acted
            self.log.append(entry)
        self.datacollector.collect(self)
        if self.steps >= self.compiled.horizon:
            self.running = False

    # -- readings of the month, through the kernel's own functions
    def readings(self) -> list[Reading]:
        """Each government's reading of the state as it is now."""
        a = self.kernel.assess()
        return [reading_of(a, g) for g in (0, 1)]

    def allowed(self) -> np.ndarray:
        """(P,) packages neither government's active red lines forbid."""
        allowed = kernel.allowed_packages(self.compiled, self.kernel.p)
        return allowed[0][0] & allowed[1][0]

    def acceptabilities(self) -> list[np.ndarray]:
        """(M,) acceptability of each mediator to each side."""
        return [a[0] for a in kernel.acceptabilities(self.kernel.p, 1)]

    def lead_mediator(self) -> MediatorAgent | None:
        """In talks, the round's lead (drawn when the round opened); otherwise the most acceptable mediator."""
        i = int(kernel.lead_of(self.kernel.p, self.kernel.s, kernel.acceptabilities(self.kernel.p, 1))[0])
        return self.mediators[i] if i >= 0 else None

    def ratification(self, readings: list[Reading]) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """Per package: the log-chance every voting public ratifies, and each public's margin."""
        log_rat, margins = kernel.ratification(self.kernel.p, [r.ub[None] for r in readings],
                                               [np.array([r.u_no_deal]) for r in readings],
                                               [np.array([r.cost]) for r in readings],
                                               [np.array([r.legitimacy]) for r in readings], self.kernel.s.weariness)
        return log_rat[0], {g: margins[g][0] for g in self.public_of}

    def record(self) -> dict[str, Any]:
        """The raw run record (see :mod:`sim.engine.records`): Python values."""
        return {k: v[0].tolist() for k, v in self.kernel.raw().items()}


class _PersonSeam:
    """The kernel's decision seam for a person: builds each role's :class:`Decision` and asks the decider."""

    def __init__(self, model: NegotiationModel):
        self.m = model

    def _ask(self, decision: Decision) -> Any:
        assert self.m.decide is not None
        return self.m.decide(decision)

    def _role(self, talks: Talks) -> str:
        who = int(talks.who[0])
        return self.m.compiled.mediators[int(talks.a.lead[0])] if who == kernel.MEDIATOR \
            else self.m.compiled.governments[who]

    def act(self, k: Kernel, t: int) -> list[Act]:
        """Each role with actions on the ground may take one at the start of month t (the model takes none)."""
        chosen = []
        for role, acts in self.m.compiled.actions.items():
            left = actions_left(self.m, role)
            view = {**self._situation(), "actions": [
                {"name": a.name, "label": a.label, "effect": a.effect, "left": left[a.name]} for a in acts.values()]}
            move = self._ask(Decision("act", role, t, None, view=view))
            if move is not None:
                if move not in acts or left[move] == 0:
                    raise ValueError(f"{role} has no action {move!r} left in month {t}")
                chosen.append(acts[move])
                self.m.acted.append((t, role, move))
        return chosen

    def propose(self, k: Kernel, talks: Talks) -> int | None:
        who, a = int(talks.who[0]), talks.a
        options = a.both[0] if who == kernel.MEDIATOR else a.allowed[who][0]
        if who == kernel.MEDIATOR and not options.any():  # nothing passes both sides: an offer either may sign
            options = a.allowed[0][0] | a.allowed[1][0]
        view = self._view_propose(who, talks, options) | {"proposer": self._role(talks)}
        move = self._ask(Decision("propose", self._role(talks), self.m.steps, int(talks.x[0]), options=options,
                                  view=view))
        return None if move is None else int(move)

    def answer(self, k: Kernel, talks: Talks, g: int) -> bool | None:
        prob, ok = talks.answers[g]
        x = int(talks.x[0])
        view = self._view_government(g, talks) | {"offer": x, "model_chance_accept": float(prob[0]),
                                                  "proposer": self._role(talks)}
        move = self._ask(Decision("answer", self.m.compiled.governments[g], self.m.steps, bool(ok[0]), package=x,
                                  view=view))
        return None if move is None else bool(move)

    def ratify(self, k: Kernel, talks: Talks, g: int) -> bool | None:
        prob, ok = talks.ballots[g]
        x, a = int(talks.x[0]), talks.a
        view = {**self._situation(), "offer": x, "weariness": float(k.s.weariness[0, g]),
                "margin": float(talks.margins[g][0, x]), "utility": float(a.ub[g][0, x]),
                "model_chance_ratify": float(prob[0]), "proposer": self._role(talks)}
        name = self.m.compiled.publics[g]
        assert name is not None
        move = self._ask(Decision("ratify", name, self.m.steps, bool(ok[0]), package=x, view=view))
        return None if move is None else bool(move)

    # -- what a role sees at a decision (its own private information only)
    def _situation(self) -> dict[str, Any]:
        s = self.m.kernel.s
        return {"month": self.m.steps, "territory_km2": float(s.territory[0]), "change_km2": float(s.change[0]),
                "kursk_km2": float(s.kursk[0]), "round_month": int(s.round_month[0])}

    def _view_government(self, g: int, talks: Talks) -> dict[str, Any]:
        a, s = talks.a, self.m.kernel.s
        return {**self._situation(), "utilities": [float(u) for u in a.ub[g][0]], "value_of_fighting": float(a.v[g][0]),
                "demand": float(talks.need[g][0]), "expected_costs": float(a.cost[g][0]),
                "casualties": float(s.casualties[0, g]),
                "weariness": float(s.weariness[0, g]) if g in self.m.public_of else None,
                "own_allowed": [bool(v) for v in a.allowed[g][0]], "both_allowed": [bool(v) for v in a.both[0]],
                # the terms alone (0 = worst, 1 = best terms) and what any deal adds (side-payment, guarantee)
                "terms_utilities": [float(u) for u in a.u[g][0]], "side_payment": float(a.ub[g][0, 0] - a.u[g][0, 0])}

    def _view_propose(self, who: int, talks: Talks, options: np.ndarray) -> dict[str, Any]:
        if who != kernel.MEDIATOR:
            view = self._view_government(who, talks)
            if who in self.m.public_of and talks.votes[who][0]:
                view["public_margins"] = [float(m) for m in talks.margins[who][0]]
            h = 1 - who  # the other side as the proposer reckons it: its utilities, its demand expected over its types
            view["other"] = {"utilities": [float(u) for u in talks.a.ub[h][0]],
                             "demand": float(rules.expect(self.m.kernel.s.belief[0:1, h], talks.need_types[h][0:1])[0])}
            return view
        # A mediator reads both sides as it itself hears them: its own assessment, not their private values.
        a, temp = talks.a, talks.q["temperature"][0]
        chance = [rules.acceptance_probability(a.ub[g][0], talks.need[g][0], temp) for g in (0, 1)]
        joint = chance[0] * chance[1] * np.exp(talks.log_rat[0]) * a.both[0]  # a package one side forbids: 0
        # each side as the mediator reckons it: its utilities, its demand expected over its types (the mediator's
        # proposal weighs these); each voting public's margin
        govs, belief = self.m.compiled.governments, self.m.kernel.s.belief
        sides = {govs[g]: {"utilities": [float(u) for u in a.ub[g][0]],
                           "demand": float(rules.expect(belief[0:1, g], talks.need_types[g][0:1])[0])} for g in (0, 1)}
        margins = {self.m.compiled.publics[g]: [float(m) for m in talks.margins[g][0]]
                   for g in self.m.public_of if talks.votes[g][0]}
        return {**self._situation(), "mediator": self._role(talks), "chance_of_deal": [float(v) for v in joint],
                "sides": sides, "publics": margins}


def actions_left(model: NegotiationModel, role: str) -> dict[str, int | None]:
    """How many more times ``role`` may take each of its actions on the ground in this game (None: no limit)."""
    acts = model.compiled.actions.get(role, {})
    taken = [name for _t, r, name in model.acted if r == role]
    return {n: None if a.times is None else max(0, a.times - taken.count(n)) for n, a in acts.items()}


def run_one(compiled: Compiled, shocks: Shocks, decide: Decider | None = None, *, log: bool = True) -> NegotiationModel:
    """Run one replicate to its end (agreement or horizon) and return the model."""
    model = NegotiationModel(compiled, shocks, decide, log=log)
    while model.running:
        model.step()
    return model


def run_block(compiled: Compiled, shocks: Shocks) -> Any:
    """Run every replicate of a block one at a time with the Mesa model; same table as a block run."""
    records = [run_one(compiled, shocks.run(i), log=False).record() for i in range(len(shocks.replicates))]
    return to_frame(compiled, stack_runs(records), shocks.replicates, shocks.params)
