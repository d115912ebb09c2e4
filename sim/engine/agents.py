"""Mesa agents, one class per role: governments, publics, mediators.

Agents keep their own state and call :mod:`sim.engine.rules` for every equation.
Parameters (possibly changed by timed events) are read from the model's
parameter dict ``model.p``; the month's random draws from ``model.d``
(one entry per mechanism, pre-drawn by :mod:`sim.engine.shocks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.engine import rules

if TYPE_CHECKING:
    from sim.engine.model import NegotiationModel

SIGN = (-1.0, 1.0)  # ukraine side, russia side


@dataclass
class Reading:
    """A government's reading of the month: what fighting on is worth and what each package is worth."""

    u: np.ndarray        # (P,) utility of each package's terms at today's line
    ub: np.ndarray       # (P,) the same plus the lead mediator's side-payment
    value: float         # value of fighting on (Fearon): its demand floor
    u_no_deal: float     # utility of the outcome it expects from fighting on
    cost: float          # discounted expected cost of fighting on, before public pressure
    gain: float          # net gain it expects from fighting on rather than settling on today's line
    leverage: float      # side-payment of the lead mediator
    legitimacy: float    # what the lead mediator adds at its public's vote


class GovernmentAgent(mesa.Agent):
    """A government: beliefs about the front, hurt, red lines, preconditions, a value of fighting on."""

    model: NegotiationModel

    def __init__(self, model: NegotiationModel, name: str, index: int):
        super().__init__(model)
        self.name, self.index, self.sign = name, index, SIGN[index]
        p = model.p
        self.drift = p["drift_mean"][index]
        self.precision = 1.0 / (p["drift_sd"][index] * p["drift_sd"][index])
        self.hurt = rules.initial_hurt(self.expected_cost(p["change_mean"]), self.param("hurt_decay"), p["war_months"])
        self.casualties = 0.0
        self.last_cost = 0.0
        self.judgement = model.shocks.draws["judgement"][0, index]  # how it reads proposals: drawn once a run

    def param(self, name: str):
        return self.model.p[name][self.index]

    def expected_cost(self, drift):
        """The monthly cost it expects at a given drift of the front."""
        p = self.model.p
        return rules.expected_month_cost(self.param("casualty_mean"), drift, self.sign, self.param("cost_sensitivity"),
                                         p["casualty_scale"], p["ground_scale"])

    # -- phase: fighting
    def fight(self) -> None:
        """Take the month's losses, learn the front's pace, accumulate hurt."""
        m, g = self.model, self.index
        cas = rules.casualties(self.param("casualty_mean"), self.param("casualty_sd"), m.d["casualties"][g])
        self.casualties += cas
        self.drift, self.precision = rules.update_drift_belief(self.drift, self.precision, m.change, m.p["change_sd"])
        lost = rules.ground_lost(m.change, self.sign, m.retaken if g == 0 else 0.0)
        self.last_cost = rules.month_cost(cas, lost, self.param("cost_sensitivity"), m.p["casualty_scale"],
                                          m.p["ground_scale"])
        self.hurt = rules.update_hurt(self.hurt, self.param("hurt_decay"), self.last_cost)

    # -- reading the month
    @property
    def public(self) -> PublicAgent | None:
        return self.model.public_of.get(self.index)

    def war(self, drift, gain: bool = True) -> tuple[float, float, float, float | None]:
        """(value of fighting on, utility of its expected outcome, plain cost, net gain) at a believed drift."""
        m, p = self.model, self.model.p
        c, bf = m.compiled, m.battlefield
        ideal, sal, resolve = self.param("ideal"), self.param("salience"), self.param("resolve")
        expected = rules.expected_territory(bf.territory, drift, p["lookahead"])
        nd = rules.no_deal_point(p["nd_position"], c.controls, expected, bf.kursk, c.land_issue, p["pre2022"], p["claimed"])
        u_nd = rules.utility(nd, ideal, sal)
        plain = rules.war_cost(self.expected_cost(drift), self.param("discount"), p["lookahead"])
        weariness = self.public.weariness if self.public is not None else self.param("weariness0")
        cost = rules.pressured_cost(plain, self.param("pressure") * self.param("has_public"), weariness)
        value = rules.war_value(u_nd, resolve, cost)
        if not gain:
            return value, u_nd, plain, None
        today = rules.no_deal_point(p["nd_position"], c.controls, bf.territory, bf.kursk, c.land_issue, p["pre2022"],
                                    p["claimed"])
        return value, u_nd, plain, rules.net_gain_of_fighting(u_nd, rules.utility(today, ideal, sal), resolve, cost)

    def heard_drift(self, lead: MediatorAgent, drift: float | None = None) -> float:
        """Its belief about the front after hearing the lead mediator's reading of the war (Kydd 2003),
        from its belief now or from ``drift``."""
        before = self.drift if drift is None else drift
        return float(rules.credible_drift(before, self.model.p["change_mean"], lead.credibility(self.index)))

    def value_heard(self, lead: MediatorAgent, drift: float | None = None) -> float:
        """Its value of fighting on if it heard the lead mediator (from ``drift`` if given); its belief is left as
        it is."""
        return self.war(self.heard_drift(lead, drift), gain=False)[0]

    def listen(self, lead: MediatorAgent) -> float:
        """Hear the lead mediator's reading of the war: the belief moves and stays moved; its new value of war."""
        self.drift = self.heard_drift(lead)
        return self.war(self.drift, gain=False)[0]

    def read(self, lead: MediatorAgent | None) -> Reading:
        """This month's reading: package utilities at today's line, its value of war, the lead mediator's effects."""
        m = self.model
        u = rules.package_utilities(m.positions, self.param("ideal"), self.param("salience"))
        value, u_nd, plain, gain = self.war(self.drift)
        lev = lead.leverage(self.index) if lead is not None else 0.0
        legit = self.public.legitimacy(lead) if self.public is not None else 0.0
        return Reading(u, u + lev, value, u_nd, plain, gain, lev, legit)

    def preconditions_hold(self) -> list[tuple[str, bool]]:
        """(name, holds) of each active precondition of this government."""
        m, out = self.model, []
        for i, (g, name, variable, op) in enumerate(m.compiled.preconditions):
            if g != self.index or m.p["pre_active"][i] == 0.0:
                continue
            value = m.steps if variable == "month" else (
                m.battlefield.territory if variable == "territory_km2" else m.battlefield.kursk)
            out.append((name, bool(rules.precondition_holds(value, op, m.p["pre_value"][i]))))
        return out

    def allowed(self) -> np.ndarray:
        """(P,) packages that break none of its active red lines."""
        c, mine = self.model.compiled, self.model.compiled.red_line_owner == self.index
        return rules.allowed_packages(self.model.p["rl_active"][mine], c.red_line_masks[mine])

    def propose(self, readings: list[Reading], needs: list[float], log_ratify: np.ndarray, allowed: np.ndarray) -> int:
        """Its own offer: the package with the best expected gain, given what the other side demands."""
        g, h = self.index, 1 - self.index
        return int(rules.government_proposal(readings[g].ub, readings[h].ub, needs[g], needs[h], log_ratify,
                                             self.model.p["temperature"], allowed)[0])

    def respond(self, x: int, reading: Reading, need: float, own: bool = False) -> tuple[float, bool]:
        """Accept or reject package x (``own``: the offer it made): (chance as a proposer saw it, accepted with its
        judgement of the round)."""
        u = reading.ub[x]
        prob = 1.0 if own else rules.acceptance_probability(u, need, self.model.p["temperature"]) * self.allowed()[x]
        noise = self.model.p["temperature"] * self.judgement
        return float(prob), bool(rules.accepts(u, need, noise, self.allowed()[x], own))


class PublicAgent(mesa.Agent):
    """A public: war-weariness, pressure on its government, ratification, mediator preference."""

    model: NegotiationModel

    def __init__(self, model: NegotiationModel, name: str, government: GovernmentAgent):
        super().__init__(model)
        self.name, self.government, self.index = name, government, government.index
        self.weariness = model.p["weariness0"][self.index]
        self.mood = model.shocks.draws["mood"][0, self.index]  # how it leans at a vote: drawn once a run

    def param(self, name: str):
        return self.model.p[name][self.index]

    def drift(self) -> None:
        """War-weariness accumulates with its side's losses, plus noise."""
        self.weariness = rules.update_weariness(self.weariness, self.government.last_cost, self.param("weariness_rate"),
                                                self.param("weariness_noise"), self.model.d["opinion"][self.index])

    def votes(self) -> bool:
        return bool(self.param("ratifies") > 0.0)

    def legitimacy(self, lead: MediatorAgent | None) -> float:
        pref = self.model.p["preference"][self.index]
        if lead is None:
            return 0.0
        mean = pref.mean(axis=-1) if pref.shape[-1] else 0.0
        return rules.legitimacy(pref[lead.index], mean, self.param("legitimacy"))

    def margins(self, reading: Reading) -> np.ndarray:
        """(P,) how far each package clears this public's bar."""
        return rules.ratify_margin(reading.ub, reading.u_no_deal, reading.cost, self.weariness,
                                   self.param("ratify_threshold"), self.param("ratify_weariness"), reading.legitimacy)

    def ratify(self, margin: float) -> tuple[float, bool]:
        """Vote on a package: (chance as a proposer saw it, ratified with its mood of the round)."""
        prob = rules.ratify_probability(margin, self.param("ratify_spread"))
        if not self.votes():
            return 1.0, True
        return float(prob), bool(margin + self.param("ratify_spread") * self.mood >= 0.0)


class MediatorAgent(mesa.Agent):
    """A mediator: bias, trust, leverage (a side-payment); proposes the Nash package that publics will ratify."""

    model: NegotiationModel

    def __init__(self, model: NegotiationModel, name: str, index: int):
        super().__init__(model)
        self.name, self.index = name, index

    def acceptability(self, g: int) -> float:
        p, gov = self.model.p, self.model.governments[g]
        return rules.acceptability(p["trust"][self.index, g], p["preference"][g, self.index],
                                   gov.param("preference_weight"))

    def leverage(self, g: int) -> float:
        return self.model.p["leverage"][self.index, g]

    def credibility(self, g: int) -> float:
        p = self.model.p
        return rules.credibility(p["trust"][self.index, g], p["bias"][self.index], float(g))

    def propose(self, readings: list[Reading], log_ratify: np.ndarray, allowed: np.ndarray,
                ratifiable: np.ndarray) -> tuple[int, bool, list[float]]:
        """The Nash package, read with its credible advice; returns (package, zone non-empty, demands it faced)."""
        p = self.model.p
        u0, u1 = readings[0].ub, readings[1].ub
        govs = self.model.governments
        need = [govs[0].listen(self), govs[1].listen(self)]  # its package against fighting on
        w0, w1 = rules.nash_weights(p["bias"][self.index])
        x, zone = rules.mediator_proposal(u0, u1, need[0], need[1], w0, w1, log_ratify, p["temperature"], allowed)
        return int(x), bool(zone), [need[0], need[1]]
