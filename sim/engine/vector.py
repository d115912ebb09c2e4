"""The vector engine: R runs advance together as arrays, month by month.

It applies the same functions of :mod:`sim.engine.rules` as the Mesa agents, in the
same phase order (see :mod:`sim.engine.model`), to arrays with a leading run axis,
and consumes the same pre-drawn :class:`~sim.engine.shocks.Shocks`. Runs that have
reached an agreement are masked: their state no longer changes. Talks are
computed only on the runs that are talking.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine import rules
from sim.engine.records import to_frame
from sim.engine.shocks import Shocks, apply_events
from sim.scenario.compile import Compiled

SIGN = (-1.0, 1.0)  # ukraine side, russia side: +1 when its gains raise Russia-held territory
MEDIATOR = 2  # proposer code of the lead mediator


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
    s["judgement"] = shocks.draws["judgement"][:, 0].copy()  # how a side reads proposals: once a run
    s["mood"] = shocks.draws["mood"][:, 0].copy()  # how a public leans at a vote: once a run
    for t in range(1, c.horizon + 1):
        apply_events(c, p, t)
        d = shocks.month(t)
        live = s["deal"] < 0
        change, retaken = _battlefield(s, p, d, live, t)
        for g in (0, 1):
            _fight(s, p, g, change, retaken if g == 0 else 0.0, d, live)
        _open_talks(c, s, p, np.flatnonzero(live & ~s["open"]), d, t)
        idx = np.flatnonzero(live & s["open"])  # every talking run negotiates, also those that just opened
        if len(idx):
            _negotiate(c, s, p, assess(c, _rows_of(p, idx), _state_of(s, idx), gain=False), idx, d, t)
    return s


def _state_of(s: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in s.items()}


def _initial_state(p: dict[str, np.ndarray], R: int) -> dict[str, np.ndarray]:
    minus = np.full(R, -1, dtype=np.int64)

    def per_run(v: np.ndarray) -> np.ndarray:
        return np.broadcast_to(v, (R, *v.shape[1:])).copy()

    hurt = np.stack([rules.initial_hurt(start_cost(p, g), p["hurt_decay"][:, g], p["war_months"]) for g in (0, 1)], -1)
    return {
        "territory": per_run(p["territory0"]), "kursk": per_run(p["kursk0"]),
        "kursk_month": minus.copy(), "casualties": np.zeros((R, 2)),
        "drift": per_run(p["drift_mean"]), "precision": per_run(1.0 / (p["drift_sd"] * p["drift_sd"])),
        "hurt": per_run(hurt), "weariness": per_run(p["weariness0"]), "open": np.zeros(R, bool),
        "talks_month": minus.copy(), "talks_rounds": np.zeros(R, np.int64), "round_month": np.zeros(R, np.int64),
        "judgement": np.zeros((R, 2)), "mood": np.zeros((R, 2)),
        "agreement_month": minus.copy(), "deal": minus.copy(), "u_deal": np.zeros((R, 2)),
        "land_km2": np.zeros(R), "lead": minus.copy(), "round_lead": minus.copy(), "proposals": np.zeros(R, np.int64),
        "offers": np.zeros((R, 3), np.int64),
    }


def start_cost(p: dict, g: int):
    """A side's monthly cost at the start, at the scenario's means: what the war so far has cost it a month."""
    return rules.expected_month_cost(p["casualty_mean"][..., g], p["change_mean"], SIGN[g], p["cost_sensitivity"][..., g],
                                     p["casualty_scale"], p["ground_scale"])


def _rows_of(p: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: (v[idx] if len(v) > 1 else v) for k, v in p.items()}


def _battlefield(s: dict, p: dict, d: dict, live: np.ndarray, t: int):
    change = np.where(live, rules.normal_draw(p["change_mean"], p["change_sd"], d["front"][:, 0]), 0.0)
    s["territory"] = np.where(live, rules.advance_territory(s["territory"], change), s["territory"])
    retaken = np.where(live, rules.kursk_retaken(s["kursk"], p["kursk_mean"], p["kursk_sd"], d["front"][:, 1]), 0.0)
    before = s["kursk"]
    s["kursk"] = before - retaken
    s["kursk_month"] = np.where((before > 0.0) & (s["kursk"] <= 0.0), t, s["kursk_month"])
    return change, retaken


def _fight(s: dict, p: dict, g: int, change, kursk_lost, d: dict, live: np.ndarray) -> None:
    sign = SIGN[g]
    cas = rules.casualties(p["casualty_mean"][:, g], p["casualty_sd"][:, g], d["casualties"][:, g])
    s["casualties"][:, g] += np.where(live, cas, 0.0)
    drift, prec = rules.update_drift_belief(s["drift"][:, g], s["precision"][:, g], change, p["change_sd"])
    s["drift"][:, g] = np.where(live, drift, s["drift"][:, g])
    s["precision"][:, g] = np.where(live, prec, s["precision"][:, g])
    lost = rules.ground_lost(change, sign, kursk_lost)
    cost = rules.month_cost(cas, lost, p["cost_sensitivity"][:, g], p["casualty_scale"], p["ground_scale"])
    s["hurt"][:, g] = np.where(live, rules.update_hurt(s["hurt"][:, g], p["hurt_decay"][:, g], cost), s["hurt"][:, g])
    w = rules.update_weariness(s["weariness"][:, g], cost, p["weariness_rate"][:, g], p["weariness_noise"][:, g],
                               d["opinion"][:, g])
    s["weariness"][:, g] = np.where(live & (p["has_public"][:, g] > 0.0), w, s["weariness"][:, g])


def assess(c: Compiled, q: dict[str, np.ndarray], s: dict[str, np.ndarray], gain: bool = True) -> dict[str, object]:
    """Each side's reading of the month, for the runs given: values of war, package utilities, the lead mediator.

    ``q`` are the parameters and ``s`` the state of those runs (leading axis
    n, or 1 for shared parameters).
    """
    terr, kursk = s["territory"], s["kursk"]
    n, M = len(terr), q["trust"].shape[1]
    acc = [np.broadcast_to(rules.acceptability(q["trust"][:, :, g], q["preference"][:, g, :],
                                               q["preference_weight"][:, g, None]), (n, M)) for g in (0, 1)]
    lead = rules.lead_mediator(acc[0], acc[1], q["med_active"])
    drawn = s["round_lead"]
    active = np.take_along_axis(np.broadcast_to(q["med_active"], (n, M)), np.maximum(drawn, 0)[:, None], 1)[:, 0] \
        if M else np.zeros(n)
    lead = np.where(s["open"] & (drawn >= 0) & (active > 0.0), drawn, lead)  # in talks: the round's lead
    has_lead = lead >= 0
    pick = np.where(has_lead, lead, 0)[:, None]

    def of_lead(a: np.ndarray) -> np.ndarray:
        return np.take_along_axis(np.broadcast_to(a, (len(lead), a.shape[1])), pick, 1)[:, 0] if a.shape[1] else \
            np.zeros(len(lead))

    bias = np.where(has_lead, of_lead(q["bias"]), 0.5)
    allowed = [np.broadcast_to(x, (n, c.n_packages)) for x in _allowed(c, q)]
    # Packages that no run's governments can both accept are never proposed nor accepted: drop them
    # before any arithmetic (column order is kept, so argmax ties resolve as over all packages).
    cols = np.flatnonzero((allowed[0] & allowed[1]).any(axis=0))
    cols = cols if len(cols) else np.zeros(1, np.int64)
    positions = rules.package_positions(c.packages[cols], c.land_issue, c.land_share[cols], terr, q["pre2022"],
                                        q["claimed"])
    out: dict[str, object] = {"lead": lead, "has_lead": has_lead, "bias": bias, "acc": acc, "u": [], "ub": [], "v": [],
                              "u_nd": [], "cost": [], "gain": [], "lev": [], "legit": [], "cred": [], "cols": cols,
                              "allowed": [x[:, cols] for x in allowed]}
    for g in (0, 1):
        ideal, sal = q["ideal"][:, g], q["salience"][:, g]
        u = rules.package_utilities(positions, ideal, sal)
        lev = np.where(has_lead, of_lead(q["leverage"][:, :, g]), 0.0)
        v, u_nd, cost, net = war(c, q, g, s["drift"][:, g], terr, kursk, s["weariness"][:, g], gain=gain)
        cred = np.where(has_lead, rules.credibility(of_lead(q["trust"][:, :, g]), bias, float(g)), 0.0)
        pref = q["preference"][:, g, :]
        mean_pref = pref.mean(axis=-1) if pref.shape[-1] else np.zeros(len(lead))
        legit = np.where(has_lead, rules.legitimacy(of_lead(pref), mean_pref, q["legitimacy"][:, g]), 0.0)
        for key, val in (("u", u), ("ub", u + lev[:, None]), ("v", v), ("u_nd", u_nd), ("cost", cost),
                         ("gain", net), ("lev", lev), ("legit", legit), ("cred", cred)):
            out[key].append(val)
    ub, v = out["ub"], out["v"]
    both = out["allowed"][0] & out["allowed"][1]
    out["both"] = both
    out["way_out"] = rules.zone_of_agreement(ub[0], ub[1], v[0], v[1], both).any(axis=-1)
    return out


def war(c: Compiled, q: dict, g: int, drift, terr, kursk, weariness, *, gain: bool = True):
    """(value of fighting on, utility of its expected outcome, its plain cost, net gain over today's line)."""
    ideal, sal, resolve = q["ideal"][:, g], q["salience"][:, g], q["resolve"][:, g]
    expected = rules.expected_territory(terr, drift, q["lookahead"])
    nd = rules.no_deal_point(q["nd_position"], c.controls, expected, kursk, c.land_issue, q["pre2022"], q["claimed"])
    u_nd = rules.utility(nd, ideal, sal)
    monthly = rules.expected_month_cost(q["casualty_mean"][:, g], drift, SIGN[g], q["cost_sensitivity"][:, g],
                                        q["casualty_scale"], q["ground_scale"])
    plain = rules.war_cost(monthly, q["discount"][:, g], q["lookahead"])
    cost = rules.pressured_cost(plain, q["pressure"][:, g] * q["has_public"][:, g], weariness)
    v = rules.war_value(u_nd, resolve, cost)
    if not gain:
        return v, u_nd, plain, None
    today = rules.no_deal_point(q["nd_position"], c.controls, terr, kursk, c.land_issue, q["pre2022"], q["claimed"])
    return v, u_nd, plain, rules.net_gain_of_fighting(u_nd, rules.utility(today, ideal, sal), resolve, cost)


def _open_talks(c: Compiled, s: dict, p: dict, idx: np.ndarray, d: dict, t: int) -> None:
    """Closed runs: preconditions, then ripeness (a hurting stalemate with a way out) may open talks.

    Work is done only where it can matter: the stalemate only where the
    preconditions hold, the package-level way out only where there is a
    stalemate (elsewhere the chance of opening is 0, as in the agent engine).
    """
    ready = np.ones(len(idx), bool)
    for i, (_g, _name, variable, op) in enumerate(c.preconditions):
        value = t if variable == "month" else s["territory" if variable == "territory_km2" else "kursk"][idx]
        holds = rules.precondition_holds(value, op, _rows(p["pre_value"], idx)[:, i])
        ready &= (_rows(p["pre_active"], idx)[:, i] == 0.0) | holds
    idx = idx[ready]
    if not len(idx):
        return
    q = _rows_of(p, idx)
    stalemate = np.ones(len(idx), bool)
    for g in (0, 1):
        gain = war(c, q, g, s["drift"][idx, g], s["territory"][idx], s["kursk"][idx], s["weariness"][idx, g])[3]
        stalemate &= gain <= 0.0
    idx = idx[stalemate]
    if not len(idx):
        return
    a = assess(c, _rows_of(p, idx), _state_of(s, idx), gain=False)
    th = _rows(p["hurt_threshold"], idx)
    chance = rules.ripeness(s["hurt"][idx, 0], s["hurt"][idx, 1], th[:, 0], th[:, 1], _rows(p["ripeness_slope"], idx),
                            np.ones(len(idx), bool), a["way_out"])
    opening = d["talks"][idx, 0] < chance
    j = idx[opening]
    acc = a["acc"]
    s["round_lead"][j] = rules.draw_lead(acc[0][opening], acc[1][opening], _rows(p["med_active"], j), d["mediation"][j, 0])
    s["open"][j] = True
    s["talks_rounds"][j] += 1
    s["round_month"][j] = 0
    s["talks_month"][j] = np.where(s["talks_month"][j] < 0, t, s["talks_month"][j])


def _negotiate(c: Compiled, s: dict, p: dict, a: dict, j: np.ndarray, d: dict, t: int) -> None:
    """One month of talks for the runs that are talking (computed on that subset only)."""
    q = _rows_of(p, j)
    ub, v, both, allowed = a["ub"], a["v"], a["both"], a["allowed"]
    temp = q["temperature"]
    log_rat, margins = _ratification(c, q, a, s["weariness"][j])
    who = rules.proposer(s["round_month"][j], (s["talks_rounds"][j] + 1) % 2, a["has_lead"])
    med = np.flatnonzero(who == MEDIATOR)
    if len(med):  # the sides read the mediator's proposal with its credible reading of the war (Kydd)
        jm, qm = j[med], _rows_of(q, med)
        v = [v[0].copy(), v[1].copy()]
        for g in (0, 1):
            heard = rules.credible_drift(s["drift"][jm, g], qm["change_mean"], a["cred"][g][med])
            s["drift"][jm, g] = heard  # a belief moved by a credible mediator stays moved
            v[g][med] = war(c, qm, g, heard, s["territory"][jm], s["kursk"][jm], s["weariness"][jm, g], gain=False)[0]
    ratifiable = both.copy()  # a continuation offer must be one the voting publics are expected to ratify
    for g in (0, 1):
        votes = (q["has_public"][:, g] > 0.0) & (q["ratifies"][:, g] > 0.0)
        ratifiable &= ~votes[:, None] | (margins[g] >= 0.0)
    need = [v[0].copy(), v[1].copy()]  # the mediator puts its package as the alternative to fighting on
    govs = np.flatnonzero(who != MEDIATOR)  # a government's offer is judged against alternating-offers demands
    if len(govs):
        qg = _rows_of(q, govs)
        dem = rules.demands(ub[0][govs], ub[1][govs], v[0][govs], v[1][govs], qg["discount"][:, 0],
                            qg["discount"][:, 1], qg["breakdown"], ratifiable[govs])
        need[0][govs], need[1][govs] = dem[0], dem[1]
    x = np.zeros(len(j), np.int64)
    if len(med):
        w0, w1 = rules.nash_weights(a["bias"][med])
        x[med] = rules.mediator_proposal(ub[0][med], ub[1][med], need[0][med], need[1][med], w0, w1, log_rat[med],
                                         _rows(temp, med), both[med])[0]
    for g in (0, 1):
        mine = np.flatnonzero(who == g)
        if len(mine):
            x[mine] = rules.government_proposal(ub[g][mine], ub[1 - g][mine], need[g][mine], need[1 - g][mine],
                                                log_rat[mine], _rows(temp, mine), both[mine])[0]
    need_used = need
    xi = x[:, None]
    agreed = np.ones(len(j), bool)
    for g in (0, 1):
        u_x = np.take_along_axis(ub[g], xi, 1)[:, 0]
        ok = np.take_along_axis(allowed[g], xi, 1)[:, 0]
        agreed &= rules.accepts(u_x, need_used[g], temp * s["judgement"][j, g], ok, own=who == g)
        votes = (q["has_public"][:, g] > 0.0) & (q["ratifies"][:, g] > 0.0)
        margin = np.take_along_axis(margins[g], xi, 1)[:, 0]
        agreed &= ~votes | (margin + q["ratify_spread"][:, g] * s["mood"][j, g] >= 0.0)
    s["proposals"][j] += 1
    np.add.at(s["offers"], (j, who), 1)
    s["lead"][j] = a["lead"]
    done = j[agreed]
    s["deal"][done] = a["cols"][x[agreed]]
    s["agreement_month"][done] = t
    s["u_deal"][done] = np.stack([np.take_along_axis(a["u"][g], xi, 1)[:, 0] for g in (0, 1)], axis=1)[agreed]
    s["land_km2"][done] = rules.land_moved(c.land_share[a["cols"][x[agreed]]], s["territory"][done], _rows(q["pre2022"], agreed),
                                           _rows(q["claimed"], agreed)) if c.land_issue >= 0 else 0.0
    broke = ~agreed & (d["breakdown"][j, 0] < q["breakdown"])
    s["open"][j[broke]] = False
    s["round_month"][j] += 1


def _ratification(c: Compiled, q: dict, a: dict, weariness: np.ndarray):
    """Per package, each public's margin at the vote and the log-chance that every voting public ratifies."""
    margins, log_rat = [], 0.0
    for g in (0, 1):
        ub = a["ub"][g]
        margin = rules.ratify_margin(ub, a["u_nd"][g][:, None], a["cost"][g][:, None], weariness[:, g, None],
                                     q["ratify_threshold"][:, g, None], q["ratify_weariness"][:, g, None],
                                     a["legit"][g][:, None])
        votes = ((q["has_public"][:, g] > 0.0) & (q["ratifies"][:, g] > 0.0))[:, None]
        prob = rules.ratify_probability(margin, q["ratify_spread"][:, g, None])
        log_rat = log_rat + rules.log_vote_chance(prob, votes)
        margins.append(margin)
    return np.broadcast_to(log_rat, margins[0].shape), margins


def _rows(v: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Rows ``idx`` of a per-run array; a single-row (shared) array as it is."""
    return v[idx] if len(v) > 1 else v


def _allowed(c: Compiled, p: dict) -> list[np.ndarray]:
    """Per government, (R or 1, P): packages that break none of its active red lines."""
    return [rules.allowed_packages(p["rl_active"][:, c.red_line_owner == g], c.red_line_masks[c.red_line_owner == g])
            for g in (0, 1)]
