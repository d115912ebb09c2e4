"""The vector engine: R runs advance together as arrays, month by month.

It applies the same functions of :mod:`sim.rules` as the Mesa agents, in the
same phase order (see :mod:`sim.model`), to arrays with a leading run axis,
and consumes the same pre-drawn :class:`~sim.shocks.Shocks`. Runs that have
reached an agreement are masked: their state no longer changes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim import rules
from sim.compile import Compiled
from sim.records import to_frame
from sim.shocks import Shocks, apply_events

SIGN = (-1.0, 1.0)  # ukraine side, russia side: +1 when its gains raise Russia-held territory


def run_block(c: Compiled, shocks: Shocks) -> pd.DataFrame:
    """Simulate the runs of ``shocks`` and return their results table."""
    raw = simulate(c, shocks)
    return to_frame(c, raw, shocks.replicates, shocks.params)


def simulate(c: Compiled, shocks: Shocks) -> dict[str, np.ndarray]:
    """Advance all runs of the block to the horizon; return the raw run records."""
    p = {k: v.copy() for k, v in shocks.params.items()}
    R = len(shocks.replicates)
    apply_events(c, p, 0)
    s = _initial_state(p, R)
    utilities = _package_utilities(c, p)
    for t in range(1, c.horizon + 1):
        if apply_events(c, p, t):
            utilities = _package_utilities(c, p)
        z, u = shocks.normal[:, t - 1], shocks.uniform[:, t - 1]
        live = s["deal"] < 0
        change, retaken = _battlefield(s, p, z, live, t)
        for g in (0, 1):
            _fight(s, p, g, change, retaken if g == 0 else 0.0, z, live)
        _open_talks(c, s, p, u, live, t)
        _negotiate(c, s, p, utilities, u, live & s["open"], t)
    return s


def _initial_state(p: dict[str, np.ndarray], R: int) -> dict[str, np.ndarray]:
    minus = np.full(R, -1, dtype=np.int64)

    def per_run(v: np.ndarray) -> np.ndarray:
        return np.broadcast_to(v, (R, *v.shape[1:])).copy()

    return {
        "territory": per_run(p["territory0"]), "kursk": per_run(p["kursk0"]),
        "kursk_month": minus.copy(), "casualties": np.zeros((R, 2)),
        "a": per_run(p["belief_a"]), "b": per_run(p["belief_b"]), "hurt": np.zeros((R, 2)),
        "weariness": per_run(p["weariness0"]), "open": np.zeros(R, bool),
        "talks_month": minus.copy(), "talks_rounds": np.zeros(R, np.int64),
        "agreement_month": minus.copy(), "deal": minus.copy(), "u_deal": np.zeros((R, 2)),
        "lead": minus.copy(), "proposals": np.zeros(R, np.int64),
    }


def _package_utilities(c: Compiled, p: dict) -> list[np.ndarray]:
    return [rules.package_utilities(c.packages, p["ideal"][:, g], p["salience"][:, g]) for g in (0, 1)]


def _battlefield(s: dict, p: dict, z: np.ndarray, live: np.ndarray, t: int):
    change = np.where(live, rules.normal_draw(p["change_mean"], p["change_sd"], z[:, 0]), 0.0)
    s["territory"] = np.where(live, rules.advance_territory(s["territory"], change), s["territory"])
    retaken = np.where(live, rules.kursk_retaken(s["kursk"], p["kursk_mean"], p["kursk_sd"], z[:, 1]), 0.0)
    before = s["kursk"]
    s["kursk"] = before - retaken
    s["kursk_month"] = np.where((before > 0.0) & (s["kursk"] <= 0.0), t, s["kursk_month"])
    return change, retaken


def _fight(s: dict, p: dict, g: int, change, kursk_lost, z: np.ndarray, live: np.ndarray) -> None:
    sign = SIGN[g]
    cas = rules.casualties(p["casualty_mean"][:, g], p["casualty_sd"][:, g], z[:, 2 + g])
    s["casualties"][:, g] += np.where(live, cas, 0.0)
    gained = rules.gained_ground(change, sign)
    a, b = rules.update_belief(s["a"][:, g], s["b"][:, g], gained)
    s["a"][:, g] = np.where(live, a, s["a"][:, g])
    s["b"][:, g] = np.where(live, b, s["b"][:, g])
    lost = rules.ground_lost(change, sign, kursk_lost)
    cost = rules.month_cost(cas, lost, p["cost_sensitivity"][:, g], p["casualty_scale"], p["ground_scale"])
    s["hurt"][:, g] = np.where(live, rules.update_hurt(s["hurt"][:, g], p["hurt_decay"][:, g], cost), s["hurt"][:, g])
    w = rules.update_weariness(s["weariness"][:, g], s["hurt"][:, g], p["weariness_rate"][:, g],
                               p["hurt_half"][:, g], p["weariness_noise"][:, g], z[:, 4 + g])
    s["weariness"][:, g] = np.where(live & (p["has_public"][:, g] > 0.0), w, s["weariness"][:, g])


def _open_talks(c: Compiled, s: dict, p: dict, u: np.ndarray, live: np.ndarray, t: int) -> None:
    ready = live & ~s["open"]
    for i, (_g, _name, variable, op) in enumerate(c.preconditions):
        value = t if variable == "month" else s["territory" if variable == "territory_km2" else "kursk"]
        holds = rules.precondition_holds(value, op, p["pre_value"][:, i])
        ready &= (p["pre_active"][:, i] == 0.0) | holds
    chance = rules.ripeness(s["hurt"][:, 0], s["hurt"][:, 1], p["hurt_threshold"][:, 0],
                            p["hurt_threshold"][:, 1], p["ripeness_slope"])
    opening = ready & (u[:, 0] < chance)
    s["open"] |= opening
    s["talks_rounds"] += opening
    s["talks_month"] = np.where(opening & (s["talks_month"] < 0), t, s["talks_month"])


def _negotiate(c: Compiled, s: dict, p: dict, utilities: list, u: np.ndarray, talking: np.ndarray, t: int) -> None:
    """One round of talks for the runs that are talking (computed on that subset only)."""
    idx = np.flatnonzero(talking)
    if not len(idx):
        return
    q = {k: _rows(v, idx) for k, v in p.items()}
    terr, kursk, a, b = s["territory"][idx], s["kursk"][idx], s["a"][idx], s["b"][idx]
    hurt, wear, uu = s["hurt"][idx], s["weariness"][idx], u[idx]
    utils = [_rows(utilities[0], idx), _rows(utilities[1], idx)]
    acc = [rules.acceptability(q["trust"][:, :, g], q["preference"][:, g, :], q["preference_weight"][:, g, None])
           for g in (0, 1)]
    lead = rules.lead_mediator(acc[0], acc[1], q["med_active"])
    has_lead = lead >= 0
    pick = np.where(has_lead, lead, 0)[:, None]
    allowed_by = _allowed(c, q)
    u_nd, res = [], []
    for g in (0, 1):
        expected = rules.expected_territory(terr, a[:, g], b[:, g], SIGN[g], q["belief_step"], q["lookahead"])
        point = rules.no_deal_point(q["nd_position"], c.controls, expected, kursk)
        u_nd.append(rules.utility(point, q["ideal"][:, g], q["salience"][:, g]))
        leverage = np.where(has_lead, np.take_along_axis(q["leverage"][:, :, g], pick, 1)[:, 0], 0.0)
        pressure = rules.public_pressure(wear[:, g], q["pressure"][:, g])
        res.append(rules.reservation(u_nd[g], q["resolve"][:, g], hurt[:, g], pressure, leverage))
    bias = np.where(has_lead, np.take_along_axis(q["bias"], pick, 1)[:, 0], 0.5)
    w0, w1 = rules.nash_weights(bias)
    x, _zone = rules.propose(utils[0], utils[1], res[0], res[1], w0, w1, allowed_by[0] & allowed_by[1])
    xi = x[:, None]
    agreed = np.ones(len(idx), bool)
    u_x = []
    for g in (0, 1):
        u_x.append(np.take_along_axis(utils[g], xi, 1)[:, 0])
        ok = np.take_along_axis(allowed_by[g], xi, 1)[:, 0]
        accept = rules.accept_probability(u_x[g], res[g], q["temperature"], ok)
        ratify = rules.ratify_probability(u_x[g], u_nd[g], q["ratify_threshold"][:, g], q["ratify_weariness"][:, g],
                                          wear[:, g], q["ratify_spread"][:, g])
        needs_vote = (q["has_public"][:, g] > 0.0) & (q["ratifies"][:, g] > 0.0)
        agreed &= (uu[:, 1 + g] < accept) & (~needs_vote | (uu[:, 3 + g] < ratify))
    s["proposals"][idx] += 1
    s["lead"][idx] = lead
    deal_idx = idx[agreed]
    s["deal"][deal_idx] = x[agreed]
    s["agreement_month"][deal_idx] = t
    s["u_deal"][deal_idx] = np.stack(u_x, axis=1)[agreed]
    broke = ~agreed & (uu[:, 5] < q["breakdown"])
    s["open"][idx[broke]] = False


def _rows(v: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Rows ``idx`` of a per-run array; a single-row (shared) array as it is."""
    return v[idx] if len(v) > 1 else v


def _allowed(c: Compiled, p: dict) -> list[np.ndarray]:
    """Per government, (R or 1, P): packages that break none of its active red lines."""
    return [rules.allowed_packages(p["rl_active"][:, c.red_line_owner == g], c.red_line_masks[c.red_line_owner == g])
            for g in (0, 1)]
