"""Mesa agents, one class per role: governments, publics, mediators.

Agents keep their own state and call :mod:`sim.rules` for every equation.
Parameters (possibly changed by timed events) are read from the model's
parameter dict ``model.p``; the month's random draws from ``model.z``
(standard normals) and ``model.u`` (uniforms), both pre-drawn by
:mod:`sim.shocks`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim import rules

if TYPE_CHECKING:
    from sim.model import NegotiationModel

SIGN = (-1.0, 1.0)  # ukraine side, russia side


class GovernmentAgent(mesa.Agent):
    """A government: beliefs about the war, hurt, red lines, preconditions, a reservation value."""

    model: NegotiationModel

    def __init__(self, model: NegotiationModel, name: str, index: int):
        super().__init__(model)
        self.name, self.index, self.sign = name, index, SIGN[index]
        p = model.p
        self.a, self.b = p["belief_a"][index], p["belief_b"][index]
        self.hurt = 0.0
        self.casualties = 0.0
        self.last_cost = 0.0

    def param(self, name: str):
        return self.model.p[name][self.index]

    # -- phase: fighting
    def fight(self) -> None:
        """Take the month's losses, update beliefs from the battlefield, accumulate hurt."""
        m, g = self.model, self.index
        cas = rules.casualties(self.param("casualty_mean"), self.param("casualty_sd"), m.z[2 + g])
        self.casualties += cas
        gained = rules.gained_ground(m.change, self.sign)
        self.a, self.b = rules.update_belief(self.a, self.b, gained)
        lost = rules.ground_lost(m.change, self.sign, m.retaken if g == 0 else 0.0)
        self.last_cost = rules.month_cost(cas, lost, self.param("cost_sensitivity"), m.p["casualty_scale"],
                                          m.p["ground_scale"])
        self.hurt = rules.update_hurt(self.hurt, self.param("hurt_decay"), self.last_cost)

    # -- talks
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

    @property
    def public(self) -> PublicAgent | None:
        return self.model.public_of.get(self.index)

    def belief(self) -> float:
        return float(rules.belief_mean(self.a, self.b))

    def no_deal_utility(self) -> float:
        """Utility of the outcome it expects from fighting on (its own beliefs)."""
        m = self.model
        expected = rules.expected_territory(m.battlefield.territory, self.a, self.b, self.sign,
                                            m.p["belief_step"], m.p["lookahead"])
        point = rules.no_deal_point(m.p["nd_position"], m.compiled.controls, expected, m.battlefield.kursk)
        return rules.utility(point, self.param("ideal"), self.param("salience"))

    def reservation(self, lead: MediatorAgent | None, u_no_deal: float) -> float:
        """Its reservation value this month, given its utility of fighting on."""
        leverage = lead.leverage(self.index) if lead is not None else 0.0
        pressure = self.public.pressure() if self.public is not None else 0.0
        return rules.reservation(u_no_deal, self.param("resolve"), self.hurt, pressure, leverage)

    def allowed(self) -> np.ndarray:
        """(P,) packages that break none of its active red lines."""
        c, mine = self.model.compiled, self.model.compiled.red_line_owner == self.index
        return rules.allowed_packages(self.model.p["rl_active"][mine], c.red_line_masks[mine])

    def respond(self, x: int, reservation: float) -> tuple[float, bool]:
        """Accept or reject package x: (probability, accepted)."""
        m = self.model
        u = m.utilities[self.index][x]
        prob = rules.accept_probability(u, reservation, m.p["temperature"], self.allowed()[x])
        return float(prob), bool(m.u[1 + self.index] < prob)


class PublicAgent(mesa.Agent):
    """A public: war-weariness, pressure on its government, ratification, mediator preference."""

    model: NegotiationModel

    def __init__(self, model: NegotiationModel, name: str, government: GovernmentAgent):
        super().__init__(model)
        self.name, self.government, self.index = name, government, government.index
        self.weariness = model.p["weariness0"][self.index]

    def param(self, name: str):
        return self.model.p[name][self.index]

    def drift(self) -> None:
        """War-weariness follows its side's hurt, plus noise."""
        self.weariness = rules.update_weariness(
            self.weariness, self.government.hurt, self.param("weariness_rate"), self.param("hurt_half"),
            self.param("weariness_noise"), self.model.z[4 + self.index])

    def pressure(self) -> float:
        return rules.public_pressure(self.weariness, self.param("pressure"))

    def ratify(self, x: int, u_no_deal: float) -> tuple[float, bool]:
        """Vote on package x: (probability, ratified). A public without a vote always ratifies."""
        u = self.model.utilities[self.index][x]
        prob = rules.ratify_probability(u, u_no_deal, self.param("ratify_threshold"), self.param("ratify_weariness"),
                                        self.weariness, self.param("ratify_spread"))
        if self.param("ratifies") == 0.0:
            return 1.0, True
        return float(prob), bool(self.model.u[3 + self.index] < prob)


class MediatorAgent(mesa.Agent):
    """A mediator: bias, trust with each side, leverage; proposes Nash-product packages (Kydd 2003, 2006)."""

    model: NegotiationModel

    def __init__(self, model: NegotiationModel, name: str, index: int):
        super().__init__(model)
        self.name, self.index = name, index

    @property
    def active(self) -> bool:
        return bool(self.model.p["med_active"][self.index] > 0.0)

    def acceptability(self, g: int) -> float:
        """How acceptable this mediator is to government g (trust blended with its public's preference)."""
        p = self.model.p
        return rules.acceptability(p["trust"][self.index, g], p["preference"][g, self.index], p["preference_weight"][g])

    def leverage(self, g: int) -> float:
        return self.model.p["leverage"][self.index, g]

    def propose(self, reservations: list[float], allowed: np.ndarray) -> tuple[int, bool]:
        return propose(self.model, self.model.p["bias"][self.index], reservations, allowed)


def propose(model: NegotiationModel, bias: float, reservations: list[float], allowed: np.ndarray) -> tuple[int, bool]:
    """Nash-product proposal for the given bias (0.5 when the sides talk without a mediator)."""
    w0, w1 = rules.nash_weights(bias)
    x, zone = rules.propose(model.utilities[0], model.utilities[1], reservations[0], reservations[1], w0, w1, allowed)
    return int(x), bool(zone)
