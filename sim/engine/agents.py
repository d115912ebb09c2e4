"""Mesa agents, one class per role: governments, publics, mediators, as views of the kernel's state.

The Mesa model (:mod:`sim.engine.model`) is the kernel (:mod:`sim.engine.kernel`)
at R = 1. Its agents hold no state and no equation of their own: each
attribute (a government's hurt, believed drift, casualties, judgement; a
public's weariness and mood) reads the kernel's state at run 0 and the agent's
own index, and each reading (:meth:`GovernmentAgent.read`, the value of war
after hearing a mediator, a public's margins) is the kernel's own function
for that index. They are the actors' interface for code that inspects a run
(``negsim explain``, the draft builder, play).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np

from sim.engine import kernel, rules
from sim.scenario.compile import Compiled

SIGN = kernel.SIGN  # ukraine side, russia side


@dataclass
class Reading:
    """A government's reading of the month: what fighting on is worth and what each package is worth."""

    u: np.ndarray        # (P,) utility of each package's terms at today's line
    ub: np.ndarray       # (P,) the same plus the lead mediator's side-payment
    value: float         # value of fighting on (Fearon): its demand floor
    u_no_deal: float     # utility of the outcome it expects from fighting on
    cost: float          # discounted expected cost of fighting on, before public pressure
    gain: float | None   # net gain it expects from fighting on rather than settling on today's line (None: not read)
    leverage: float      # side-payment of the lead mediator
    legitimacy: float    # what the lead mediator adds at its public's vote


def reading_of(a: kernel.Assessment, g: int) -> Reading:
    """Government g's reading in the kernel's assessment of run 0 (over every package)."""
    gain = a.gain[g]
    return Reading(a.u[g][0], a.ub[g][0], float(a.v[g][0]), float(a.u_nd[g][0]), float(a.cost[g][0]),
                   None if gain is None else float(gain[0]), float(a.lev[g][0]), float(a.legit[g][0]))


class KernelModel(mesa.Model):
    """What the agents read of their model: the kernel of one run and its compiled scenario, the month
    (``steps``) and the publics by government. :class:`sim.engine.model.NegotiationModel` is the one such model;
    declaring it here keeps the agents below the model that makes them (no import circle)."""

    kernel: kernel.Kernel
    compiled: Compiled
    public_of: dict[int, PublicAgent]


class _View(mesa.Agent):
    """An actor of the run: a name and an index into the kernel's per-government columns."""

    model: KernelModel

    def __init__(self, model: KernelModel, name: str, index: int):
        super().__init__(model)
        self.name, self.index = name, index

    @property
    def _s(self) -> kernel.State:
        return self.model.kernel.s

    def param(self, name: str) -> Any:
        """This actor's value of a per-government parameter, as it is now (after events)."""
        return self.model.kernel.p[name][0][self.index]


class GovernmentAgent(_View):
    """A government: beliefs about the front, hurt, red lines, preconditions, a value of fighting on."""

    def __init__(self, model: KernelModel, name: str, index: int):
        super().__init__(model, name, index)
        self.sign = SIGN[index]

    @property
    def drift(self) -> float:
        """Its believed monthly drift of the front (km2 towards Russia)."""
        return float(self._s.drift[0, self.index])

    @property
    def precision(self) -> float:
        return float(self._s.precision[0, self.index])

    @property
    def hurt(self) -> float:
        return float(self._s.hurt[0, self.index])

    @property
    def casualties(self) -> float:
        return float(self._s.casualties[0, self.index])

    @property
    def judgement(self) -> float:
        """How it reads proposals: drawn once a run."""
        return float(self._s.judgement[0, self.index])

    @property
    def public(self) -> PublicAgent | None:
        return self.model.public_of.get(self.index)

    def read(self, lead: MediatorAgent | None = None) -> Reading:
        """This month's reading (the kernel's, with the lead mediator in view: ``lead`` is the model's own)."""
        return reading_of(self.model.kernel.assess(), self.index)

    def value_heard(self, lead: MediatorAgent | None = None, drift: float | None = None) -> float:
        """Its value of fighting on if it heard the lead mediator now (from belief ``drift`` if given); its belief is
        left as it is."""
        k, g = self.model.kernel, self.index
        before = np.array([self.drift if drift is None else drift])
        cred = k.assess(gain=False).cred[g]
        return float(kernel.hear(k.c, k.p, g, cred, k.s, before)[1][0])

    def preconditions_hold(self) -> list[tuple[str, bool]]:
        """(name, holds) of each active precondition of this government, now."""
        k = self.model.kernel
        return [(name, holds) for gov, name, holds in kernel.preconditions(k, self.model.steps)
                if gov == self.name]

    def allowed(self) -> np.ndarray:
        """(P,) packages that break none of its active red lines."""
        return kernel.allowed_packages(self.model.compiled, self.model.kernel.p)[self.index][0]


class PublicAgent(_View):
    """A public: war-weariness, pressure on its government, ratification, mediator preference."""

    def __init__(self, model: KernelModel, name: str, government: GovernmentAgent):
        super().__init__(model, name, government.index)
        self.government = government

    @property
    def weariness(self) -> float:
        return float(self._s.weariness[0, self.index])

    @property
    def mood(self) -> float:
        """How it leans at a vote: drawn once a run."""
        return float(self._s.mood[0, self.index])

    def votes(self) -> bool:
        return bool(kernel.votes_of(self.model.kernel.p, self.index)[0])

    def margins(self, reading: Reading) -> np.ndarray:
        """(P,) how far each package clears this public's bar, for its government's ``reading``."""
        k = self.model.kernel
        return kernel.public_margin(k.p, self.index, reading.ub[None], np.array([reading.u_no_deal]),
                                    np.array([reading.cost]), k.s.weariness[:, self.index],
                                    np.array([reading.legitimacy]))[0]


class MediatorAgent(_View):
    """A mediator: bias, trust, leverage (a side-payment)."""

    def param(self, name: str) -> Any:
        """This mediator's value of a per-mediator parameter, as it is now."""
        return self.model.kernel.p[name][0][self.index]

    def acceptability(self, g: int) -> float:
        """Its acceptability to government g."""
        return float(kernel.acceptabilities(self.model.kernel.p, 1)[g][0, self.index])

    def leverage(self, g: int) -> float:
        return float(self.model.kernel.p["leverage"][0, self.index, g])

    def credibility(self, g: int) -> float:
        p = self.model.kernel.p
        return float(rules.credibility(p["trust"][0, self.index, g], p["bias"][0, self.index], float(g)))
