"""The batch engine's old name: the kernel (:mod:`sim.engine.kernel`) run over a block of runs."""

from __future__ import annotations

from sim.engine.kernel import MEDIATOR, SIGN, assess, run_block, simulate, start_cost, war

__all__ = ["MEDIATOR", "SIGN", "assess", "run_block", "simulate", "start_cost", "war"]
