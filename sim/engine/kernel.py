"""The engine's kernel: one month of R runs, its phases, masks and decisions written once.

The state is a :class:`State` of numpy arrays with a leading run axis R; the
parameters are the run's parameter arrays (``p``: one row per run, or a single
row shared by all runs), changed in place by timed events. Both ways of
running the model use this one kernel:

- a batch (:func:`run_block`) advances thousands of runs at once;
- the Mesa model (:class:`sim.engine.model.NegotiationModel`) is the kernel at
  R = 1, a month per ``step()``, with the month log written and a person's
  moves taken through the decision seam (:class:`Seam`).

Each month (:meth:`Kernel.step`) runs these phases, in this order:

1. **events**: timed events of the month change parameters;
2. **battlefield**: the front and the Kursk area move;
3. **fight**: each government takes its casualties, learns the front's pace and
   accumulates hurt; its public's war-weariness moves with its losses;
4. **open talks** (runs not in talks): preconditions, then a hurting stalemate
   with a way out (ripeness) may open talks, and the round's lead mediator is
   drawn;
5. **negotiate** (runs in talks, also those that just opened): the month's
   proposer (mediator, then the governments in turn); with the mediator, each
   side hears its credible reading of the war; demands; the proposal; each
   government's answer; each voting public's ratification; the deal, or a
   chance of breakdown.

Runs that reached an agreement are masked: their state no longer changes.
Work is done only where it can matter: the stalemate only where the
preconditions hold, the way out only where there is a stalemate, the talks
only on the runs that talk. Every equation is a function of
:mod:`sim.engine.rules`; the draws are the run's pre-drawn
:class:`~sim.engine.shocks.Shocks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Protocol

import numpy as np
import pandas as pd

from sim.engine import rules
from sim.engine.records import RAW_FIELDS, MonthEntry, PlayedEntry, Proposer, TalksEntry, to_frame
from sim.engine.shocks import Shocks, apply_events
from sim.scenario.compile import Compiled

Params = dict[str, np.ndarray]

# The month's phases in the order Kernel.step calls them: (name, the function, what it does). docs/architecture.py
# draws them, and tests/test_architecture.py checks that Kernel.step calls these functions in this order.
PHASES = (
    ("events", "apply_events", "timed events of the month change parameters"),
    ("battlefield", "battlefield", "the front and the Kursk area move"),
    ("fight", "fight", "each government takes casualties, learns the front's pace and accumulates hurt; its "
                       "public's war-weariness moves with its losses"),
    ("open talks", "open_talks", "runs not in talks: preconditions, then a hurting stalemate with a way out may "
                                 "open talks, and the round's lead mediator is drawn"),
    ("negotiate", "negotiate", "runs in talks: the proposer, the mediator's credible reading heard, demands, the "
                               "proposal, answers, ratification, the deal or a chance of breakdown"),
)
SIGN = (-1.0, 1.0)  # ukraine side, russia side: +1 when its gains raise Russia-held territory
MEDIATOR = int(Proposer.MEDIATOR)


@dataclass
class State:
    """What the month changes, for R runs (leading axis); per-government columns are (R, 2)."""

    territory: np.ndarray  # km2 held by Russia
    kursk: np.ndarray  # Ukraine-held Kursk area, km2
    kursk_month: np.ndarray  # month the Kursk area reached 0 (-1: not yet)
    change: np.ndarray  # the month's move of the front (km2 towards Russia)
    retaken: np.ndarray  # the month's km2 of the Kursk area retaken
    casualties: np.ndarray  # (R, 2) cumulative
    drift: np.ndarray  # (R, 2) each government's believed monthly drift of the front
    precision: np.ndarray  # (R, 2) the precision of that belief
    hurt: np.ndarray  # (R, 2)
    weariness: np.ndarray  # (R, 2) each public's war-weariness (its starting value where there is no public)
    judgement: np.ndarray  # (R, 2) how a side reads proposals: drawn once a run
    mood: np.ndarray  # (R, 2) how a public leans at a vote: drawn once a run
    open: np.ndarray  # talks are open
    talks_month: np.ndarray  # month talks first opened (-1: never)
    talks_rounds: np.ndarray
    round_month: np.ndarray  # months since the round opened
    round_lead: np.ndarray  # the round's lead mediator (-1: none)
    lead: np.ndarray  # lead mediator of the last proposal (-1: none)
    proposals: np.ndarray
    offers: np.ndarray  # (R, 3) proposals by the governments and the mediator (Proposer order)
    agreement_month: np.ndarray  # -1: none
    deal: np.ndarray  # the agreed package (-1: none)
    u_deal: np.ndarray  # (R, 2) each government's utility of the deal
    land_km2: np.ndarray  # km2 the deal's land term moves

    def rows(self, idx: np.ndarray) -> State:
        """The state of runs ``idx`` (a copy)."""
        return State(**{name: getattr(self, name)[idx] for name in STATE_FIELDS})


STATE_FIELDS = tuple(f.name for f in fields(State))


@dataclass
class Assessment:
    """Each side's reading of the month, for n runs: packages are the columns ``cols`` of the package table."""

    lead: np.ndarray  # (n,) the lead mediator (-1: none)
    has_lead: np.ndarray
    bias: np.ndarray  # (n,) the lead's bias (0.5 without one)
    acc: list[np.ndarray]  # per government, (n, M) acceptability of each mediator
    cols: np.ndarray  # (C,) package numbers of the columns
    allowed: list[np.ndarray]  # per government, (n, C) packages its active red lines allow
    both: np.ndarray  # (n, C) allowed by both
    u: list[np.ndarray] = field(default_factory=list)  # per government, (n, C) utility at today's line
    ub: list[np.ndarray] = field(default_factory=list)  # the same plus the lead's side-payment
    v: list[np.ndarray] = field(default_factory=list)  # (n,) value of fighting on
    u_nd: list[np.ndarray] = field(default_factory=list)  # (n,) utility of the outcome fighting on is expected to bring
    cost: list[np.ndarray] = field(default_factory=list)  # (n,) expected cost of fighting on, before public pressure
    gain: list[np.ndarray | None] = field(default_factory=list)  # (n,) net gain of fighting on (None if not asked)
    lev: list[np.ndarray] = field(default_factory=list)  # (n,) the lead's side-payment
    legit: list[np.ndarray] = field(default_factory=list)  # (n,) what the lead adds at the public's vote
    cred: list[np.ndarray] = field(default_factory=list)  # (n,) the lead's credibility
    way_out: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (n,) a package both prefer to fighting


@dataclass
class Talks:
    """A month of talks of the runs that talk (rows ``j`` of the state), as the kernel works it out."""

    j: np.ndarray
    q: Params  # the parameters of those runs
    a: Assessment
    who: np.ndarray  # (n,) the proposer (Proposer)
    log_rat: np.ndarray  # (n, C) log-chance every voting public ratifies each package
    margins: list[np.ndarray]  # per government, (n, C) its public's margin at the vote
    votes: list[np.ndarray]  # per government, (n,) its public votes on a deal
    need: list[np.ndarray]  # per government, (n,) what it asks of this proposal
    before: np.ndarray  # (n, 2) believed drifts before hearing a mediator
    x: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (n,) the proposal (a column)
    zone: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (n,) a mediator saw a zone of agreement
    answers: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # per government (chance, accepts)
    ballots: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # per public (chance, ratifies)
    played: PlayedEntry = field(default_factory=lambda: PlayedEntry(proposal=False, answers=[False, False], votes={}))


class Seam(Protocol):
    """Where a person's move replaces the model's choice (R = 1): each returns the move, or None for the model's.

    The kernel calls :meth:`propose` once the model chose its proposal, :meth:`answer` for each government that
    did not make the offer, and :meth:`ratify` for each voting public once both governments signed. ``talks``
    holds the kernel's own reading of the month (row 0).
    """

    def propose(self, kernel: Kernel, talks: Talks) -> int | None: ...

    def answer(self, kernel: Kernel, talks: Talks, g: int) -> bool | None: ...

    def ratify(self, kernel: Kernel, talks: Talks, g: int) -> bool | None: ...


class Kernel:
    """R runs of a compiled scenario, advanced a month at a time.

    ``full``: work over every package (the Mesa model: a person may propose any
    package their own red lines allow). Otherwise packages that no run's two
    governments can both accept are dropped before any arithmetic (column
    order is kept, so ties resolve as over all packages).
    """

    def __init__(self, c: Compiled, shocks: Shocks, *, full: bool = False):
        self.c, self.shocks, self.full = c, shocks, full
        self.p: Params = {k: v.copy() for k, v in shocks.params.items()}
        self.R = len(shocks.replicates)
        apply_events(c, self.p, 0)
        self.s = initial_state(self.p, shocks, self.R)
        self.month = 0
        self.last_talks: tuple[int, Talks] | None = None  # (month, talks) of the last logged or played month of talks

    def step(self, log: bool = False, seam: Seam | None = None) -> MonthEntry | None:
        """Advance every run one month; with ``log`` (R = 1), return the month's log entry."""
        if log and self.R != 1:
            raise ValueError(f"the month log is written one run at a time (R = 1, got R = {self.R})")
        c, p, s = self.c, self.p, self.s
        t = self.month + 1
        apply_events(c, p, t)
        d = self.shocks.month(t)
        live = s.deal < 0
        battlefield(s, p, d, live, t)
        for g in (0, 1):
            fight(s, p, g, d, live)
        # A logged run (R = 1) reads the month once, for its log and its talks (read again if talks open now).
        read = assess(c, p, s, full=self.full) if log else None
        entry = month_entry(self, t, read) if read is not None else None
        was_open = s.open.copy()
        open_talks(self, np.flatnonzero(live & ~s.open), d, t, entry, read)
        idx = np.flatnonzero(live & s.open)  # every talking run negotiates, also those that just opened
        if len(idx):
            negotiate(self, idx, d, t, entry, seam, read if read is not None and was_open[0] else None)
        self.month = t
        return entry

    def run(self) -> Kernel:
        """Advance to the horizon."""
        while self.month < self.c.horizon:
            self.step()
        return self

    def raw(self) -> dict[str, np.ndarray]:
        """The raw run records (see :mod:`sim.engine.records`)."""
        return {name: getattr(self.s, name) for name in RAW_FIELDS}

    def assess(self, gain: bool = True) -> Assessment:
        """Every run's reading of the state as it is now."""
        return assess(self.c, self.p, self.s, gain=gain, full=self.full)


def run_block(c: Compiled, shocks: Shocks) -> pd.DataFrame:
    """Simulate the runs of ``shocks`` together and return their results table."""
    return to_frame(c, simulate(c, shocks), shocks.replicates, shocks.params)


def simulate(c: Compiled, shocks: Shocks) -> dict[str, np.ndarray]:
    """Advance all runs of the block to the horizon; return the raw run records."""
    return Kernel(c, shocks).run().raw()


def initial_state(p: Params, shocks: Shocks, R: int) -> State:
    minus = np.full(R, -1, dtype=np.int64)

    def per_run(v: np.ndarray) -> np.ndarray:
        return np.broadcast_to(v, (R, *v.shape[1:])).copy()

    hurt = np.stack([rules.initial_hurt(start_cost(p, g), p["hurt_decay"][:, g], p["war_months"]) for g in (0, 1)], -1)
    return State(
        territory=per_run(p["territory0"]), kursk=per_run(p["kursk0"]), kursk_month=minus.copy(),
        change=np.zeros(R), retaken=np.zeros(R), casualties=np.zeros((R, 2)),
        drift=per_run(p["drift_mean"]), precision=per_run(1.0 / (p["drift_sd"] * p["drift_sd"])),
        hurt=per_run(hurt), weariness=per_run(p["weariness0"]),
        judgement=shocks.draws["judgement"][:, 0].copy(), mood=shocks.draws["mood"][:, 0].copy(),
        open=np.zeros(R, bool), talks_month=minus.copy(), talks_rounds=np.zeros(R, np.int64),
        round_month=np.zeros(R, np.int64), round_lead=minus.copy(), lead=minus.copy(),
        proposals=np.zeros(R, np.int64), offers=np.zeros((R, 3), np.int64), agreement_month=minus.copy(),
        deal=minus.copy(), u_deal=np.zeros((R, 2)), land_km2=np.zeros(R))


def start_cost(p: Params, g: int) -> Any:
    """A side's monthly cost at the start, at the scenario's means: what the war so far has cost it a month."""
    return rules.expected_month_cost(p["casualty_mean"][..., g], p["change_mean"], SIGN[g], p["cost_sensitivity"][..., g],
                                     p["casualty_scale"], p["ground_scale"])


def rows_of(p: Params, idx: np.ndarray) -> Params:
    """The parameters of runs ``idx`` (shared single-row arrays as they are)."""
    return {k: (v[idx] if len(v) > 1 else v) for k, v in p.items()}


def _rows(v: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Rows ``idx`` of a per-run array; a single-row (shared) array as it is."""
    return v[idx] if len(v) > 1 else v


# --------------------------------------------------------------------------- phases 2-3: battlefield, fight


def battlefield(s: State, p: Params, d: dict[str, np.ndarray], live: np.ndarray, t: int) -> None:
    """The front and the Kursk area move (runs still live)."""
    s.change = np.where(live, rules.normal_draw(p["change_mean"], p["change_sd"], d["front"][:, 0]), 0.0)
    s.territory = np.where(live, rules.advance_territory(s.territory, s.change), s.territory)
    s.retaken = np.where(live, rules.kursk_retaken(s.kursk, p["kursk_mean"], p["kursk_sd"], d["front"][:, 1]), 0.0)
    before = s.kursk
    s.kursk = before - s.retaken
    s.kursk_month = np.where((before > 0.0) & (s.kursk <= 0.0), t, s.kursk_month)


def fight(s: State, p: Params, g: int, d: dict[str, np.ndarray], live: np.ndarray) -> None:
    """Government g takes its losses, learns the front's pace, accumulates hurt; its public's weariness moves."""
    cas = rules.casualties(p["casualty_mean"][:, g], p["casualty_sd"][:, g], d["casualties"][:, g])
    s.casualties[:, g] += np.where(live, cas, 0.0)
    drift, prec = rules.update_drift_belief(s.drift[:, g], s.precision[:, g], s.change, p["change_sd"])
    s.drift[:, g] = np.where(live, drift, s.drift[:, g])
    s.precision[:, g] = np.where(live, prec, s.precision[:, g])
    lost = rules.ground_lost(s.change, SIGN[g], s.retaken if g == 0 else 0.0)
    cost = rules.month_cost(cas, lost, p["cost_sensitivity"][:, g], p["casualty_scale"], p["ground_scale"])
    s.hurt[:, g] = np.where(live, rules.update_hurt(s.hurt[:, g], p["hurt_decay"][:, g], cost), s.hurt[:, g])
    w = rules.update_weariness(s.weariness[:, g], cost, p["weariness_rate"][:, g], p["weariness_noise"][:, g],
                               d["opinion"][:, g])
    s.weariness[:, g] = np.where(live & (p["has_public"][:, g] > 0.0), w, s.weariness[:, g])


# --------------------------------------------------------------------------- reading the month


def lead_of(q: Params, s: State, acc: list[np.ndarray]) -> np.ndarray:
    """In talks, the round's lead (drawn when the round opened, if still active); else the most acceptable."""
    n, M = len(s.territory), q["trust"].shape[1]
    lead = rules.lead_mediator(acc[0], acc[1], q["med_active"])
    drawn = s.round_lead
    active = _pick(q["med_active"], np.maximum(drawn, 0)) if M else np.zeros(n)
    return np.where(s.open & (drawn >= 0) & (active > 0.0), drawn, lead)


def _pick(a: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Column ``col[i]`` of row i of ``a`` ((n, K), or (1, K) shared by all rows): (n,)."""
    return a[np.arange(len(col)) if len(a) > 1 else np.zeros(len(col), np.intp), col]


def acceptabilities(q: Params, n: int) -> list[np.ndarray]:
    """Per government, (n, M) acceptability of each mediator."""
    M = q["trust"].shape[1]
    return [np.broadcast_to(rules.acceptability(q["trust"][:, :, g], q["preference"][:, g, :],
                                                q["preference_weight"][:, g, None]), (n, M)) for g in (0, 1)]


def assess(c: Compiled, q: Params, s: State, gain: bool = True, full: bool = False) -> Assessment:
    """Each side's reading of the month, for the runs of ``s``: values of war, package utilities, the lead mediator.

    ``q`` are the parameters of those runs (leading axis n, or 1 for shared parameters).
    """
    n = len(s.territory)
    acc = acceptabilities(q, n)
    lead = lead_of(q, s, acc)
    has_lead = lead >= 0
    pick = np.where(has_lead, lead, 0)

    def of_lead(a: np.ndarray) -> np.ndarray:
        return _pick(a, pick) if a.shape[1] else np.zeros(n)

    bias = np.where(has_lead, of_lead(q["bias"]), 0.5)
    allowed = [np.broadcast_to(x, (n, c.n_packages)) for x in allowed_packages(c, q)]
    # Packages that no run's governments can both accept are never proposed nor accepted: drop them
    # before any arithmetic (column order is kept, so argmax ties resolve as over all packages).
    cols = np.arange(c.n_packages) if full else np.flatnonzero((allowed[0] & allowed[1]).any(axis=0))
    cols = cols if len(cols) else np.zeros(1, np.int64)
    sel: slice | np.ndarray = slice(None) if full else cols  # every package: no copy
    positions = rules.package_positions(c.packages[sel], c.land_issue, c.land_share[sel], s.territory, q["pre2022"],
                                        q["claimed"])
    allowed = [x[:, sel] for x in allowed]
    a = Assessment(lead=lead, has_lead=has_lead, bias=bias, acc=acc, cols=cols, allowed=allowed,
                   both=allowed[0] & allowed[1])
    for g in (0, 1):
        u = rules.package_utilities(positions, q["ideal"][:, g], q["salience"][:, g])
        lev = np.where(has_lead, of_lead(q["leverage"][:, :, g]), 0.0)
        v, u_nd, cost, net = war(c, q, g, s.drift[:, g], s.territory, s.kursk, s.weariness[:, g], gain=gain)
        pref = q["preference"][:, g, :]
        mean_pref = pref.mean(axis=-1) if pref.shape[-1] else np.zeros(n)
        a.u.append(u)
        a.ub.append(u + lev[:, None])
        a.v.append(v)
        a.u_nd.append(u_nd)
        a.cost.append(cost)
        a.gain.append(net)
        a.lev.append(lev)
        a.legit.append(np.where(has_lead, rules.legitimacy(of_lead(pref), mean_pref, q["legitimacy"][:, g]), 0.0))
        a.cred.append(np.where(has_lead, rules.credibility(of_lead(q["trust"][:, :, g]), bias, float(g)), 0.0))
    a.way_out = rules.zone_of_agreement(a.ub[0], a.ub[1], a.v[0], a.v[1], a.both).any(axis=-1)
    return a


def gains(a: Assessment) -> list[np.ndarray]:
    """Each side's net gain of fighting on, of an assessment made with ``gain=True``."""
    out = [g for g in a.gain if g is not None]
    if len(out) != 2:
        raise ValueError("this assessment was made without the net gains of fighting on (gain=False)")
    return out


def war(c: Compiled, q: Params, g: int, drift: Any, terr: Any, kursk: Any, weariness: Any, *,
        gain: bool = True) -> tuple[Any, Any, Any, Any]:
    """(value of fighting on, utility of its expected outcome, its plain cost, net gain over today's line or None)."""
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


def hear(c: Compiled, q: Params, g: int, cred: np.ndarray, drift: np.ndarray, terr: np.ndarray, kursk: np.ndarray,
         weariness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Side g hears the lead mediator's credible reading of the war (Kydd 2003): (its belief, its value of war).

    ``cred`` is the lead's credibility to it, ``drift`` its belief before hearing; all of the same runs as ``q``.
    """
    heard = rules.credible_drift(drift, q["change_mean"], cred)
    return heard, war(c, q, g, heard, terr, kursk, weariness, gain=False)[0]


def allowed_packages(c: Compiled, p: Params) -> list[np.ndarray]:
    """Per government, (R or 1, P): packages that break none of its active red lines."""
    return [rules.allowed_packages(p["rl_active"][:, c.red_line_owner == g], c.red_line_masks[c.red_line_owner == g])
            for g in (0, 1)]


def public_margin(q: Params, g: int, ub: np.ndarray, u_nd: np.ndarray, cost: np.ndarray, weariness: np.ndarray,
                  legit: np.ndarray) -> np.ndarray:
    """(n, C) how far each package clears public g's bar (``u_nd``, ``cost``, ``weariness``, ``legit``: (n,))."""
    return rules.ratify_margin(ub, u_nd[:, None], cost[:, None], weariness[:, None], q["ratify_threshold"][:, g, None],
                               q["ratify_weariness"][:, g, None], legit[:, None])


def votes_of(q: Params, g: int) -> np.ndarray:
    """(n or 1,) public g votes on a deal (it exists and ratifies)."""
    return (q["has_public"][:, g] > 0.0) & (q["ratifies"][:, g] > 0.0)


def ratification(q: Params, ub: list[np.ndarray], u_nd: list[np.ndarray], cost: list[np.ndarray],
                 legit: list[np.ndarray], weariness: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per package, the log-chance that every voting public ratifies, and each public's margin at the vote.

    Per government g: ``ub[g]`` (n, C), ``u_nd[g]``, ``cost[g]``, ``legit[g]`` (n,); ``weariness`` (n, 2).
    """
    margins: list[np.ndarray] = []
    log_rat: Any = 0.0
    for g in (0, 1):
        margin = public_margin(q, g, ub[g], u_nd[g], cost[g], weariness[:, g], legit[g])
        prob = rules.ratify_probability(margin, q["ratify_spread"][:, g, None])
        log_rat = log_rat + rules.log_vote_chance(prob, votes_of(q, g)[:, None])
        margins.append(margin)
    return np.broadcast_to(log_rat, margins[0].shape), margins


# --------------------------------------------------------------------------- phase 4: open talks


def open_talks(k: Kernel, idx: np.ndarray, d: dict[str, np.ndarray], t: int, entry: MonthEntry | None,
               read: Assessment | None = None) -> None:
    """Closed runs: preconditions, then ripeness (a hurting stalemate with a way out) may open talks.

    The stalemate is computed only where the preconditions hold, the way out only where there is a stalemate
    (elsewhere the chance of opening is 0); a logged run (R = 1, ``entry``) logs them all, from the month's
    reading ``read``.
    """
    c, p, s = k.c, k.p, k.s
    if not len(idx):
        return
    held = _preconditions(k, idx, t)
    ready = np.ones(len(idx), bool)
    for active, holds in held:
        ready &= ~active | holds
    if entry is not None:
        entry["preconditions"] = _held_at_0(c, held)
    idx = idx[ready]
    if not len(idx):
        return
    if entry is not None and read is not None:
        gain = gains(read)
        a, stalemate = read, (gain[0] <= 0.0) & (gain[1] <= 0.0)
    else:
        q = rows_of(p, idx)
        stalemate = np.ones(len(idx), bool)
        for g in (0, 1):
            stalemate &= war(c, q, g, s.drift[idx, g], s.territory[idx], s.kursk[idx], s.weariness[idx, g])[3] <= 0.0
        idx, stalemate = idx[stalemate], stalemate[stalemate]
        if not len(idx):
            return
        a = assess(c, rows_of(p, idx), s.rows(idx), gain=False, full=k.full)
    th = _rows(p["hurt_threshold"], idx)
    chance = rules.ripeness(s.hurt[idx, 0], s.hurt[idx, 1], th[:, 0], th[:, 1], _rows(p["ripeness_slope"], idx),
                            stalemate, a.way_out)
    opening = d["talks"][idx, 0] < chance
    if entry is not None:
        entry["ripeness"], entry["stalemate"], entry["way_out"] = float(chance[0]), bool(stalemate[0]), bool(a.way_out[0])
        if opening[0]:
            entry["opened"] = True
    j = idx[opening]
    s.round_lead[j] = rules.draw_lead(a.acc[0][opening], a.acc[1][opening], _rows(p["med_active"], j),
                                      d["mediation"][j, 0])
    s.open[j] = True
    s.talks_rounds[j] += 1
    s.round_month[j] = 0
    s.talks_month[j] = np.where(s.talks_month[j] < 0, t, s.talks_month[j])


def _preconditions(k: Kernel, idx: np.ndarray, t: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(active, holds) of each precondition of the scenario, for runs ``idx`` at month t."""
    p, s, out = k.p, k.s, []
    for i, (_g, _name, variable, op) in enumerate(k.c.preconditions):
        value = t if variable == "month" else (s.territory if variable == "territory_km2" else s.kursk)[idx]
        holds = np.asarray(rules.precondition_holds(value, op, _rows(p["pre_value"], idx)[:, i]))
        out.append((_rows(p["pre_active"], idx)[:, i] != 0.0, holds))
    return out


def _held_at_0(c: Compiled, held: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[str, str, bool]]:
    return [(c.governments[g], name, bool(held[i][1][0])) for g in (0, 1)
            for i, (gg, name, _v, _op) in enumerate(c.preconditions) if gg == g and held[i][0][0]]


def preconditions(k: Kernel, t: int) -> list[tuple[str, str, bool]]:
    """(government, name, holds) of each active precondition of run 0 at month t, government by government."""
    return _held_at_0(k.c, _preconditions(k, np.zeros(1, np.int64), t))


# --------------------------------------------------------------------------- phase 5: negotiate


def negotiate(k: Kernel, j: np.ndarray, d: dict[str, np.ndarray], t: int, entry: MonthEntry | None,
              seam: Seam | None, read: Assessment | None = None) -> None:
    """One month of talks for the runs that are talking (computed on that subset only; ``read``: their reading of
    the month if already made)."""
    if seam is not None and (k.R != 1 or not k.full):
        raise ValueError("a person's moves are taken one run at a time, over every package (R = 1, full)")
    detail = entry is not None or seam is not None
    talks = table(k, j, read)
    propose(k, talks)
    if seam is not None:
        move = seam.propose(k, talks)
        if move is not None:
            talks.x[0], talks.played["proposal"] = int(move), True
    answer(k, talks, detail, seam)
    ratify(k, talks, detail, seam)
    agreed = settle(k, talks, d, t)
    if detail:
        k.last_talks = (t, talks)
    if entry is not None:
        entry["talks"] = talks_entry(k, talks, bool(agreed[0]), seam is not None)


def table(k: Kernel, j: np.ndarray, read: Assessment | None = None) -> Talks:
    """The month's reading of the talking runs: who proposes, what each public would ratify, what each side asks."""
    c, s = k.c, k.s
    q, sj = rows_of(k.p, j), s.rows(j)
    a = assess(c, q, sj, gain=False, full=k.full) if read is None else read
    log_rat, margins = ratification(q, a.ub, a.u_nd, a.cost, a.legit, sj.weariness)
    who = rules.proposer(sj.round_month, (sj.talks_rounds + 1) % 2, a.has_lead)
    talks = Talks(j=j, q=q, a=a, who=who, log_rat=log_rat, margins=margins, votes=[votes_of(q, g) for g in (0, 1)],
                  need=[a.v[0].copy(), a.v[1].copy()], before=sj.drift)
    med = np.flatnonzero(who == MEDIATOR)
    if len(med):  # the sides read the mediator's proposal with its credible reading of the war (Kydd)
        qm, terr, kursk = rows_of(q, med), sj.territory[med], sj.kursk[med]
        for g in (0, 1):
            heard, talks.need[g][med] = hear(c, qm, g, a.cred[g][med], sj.drift[med, g], terr, kursk,
                                             sj.weariness[med, g])
            s.drift[j[med], g] = heard  # a belief moved by a credible mediator stays moved
    govs = np.flatnonzero(who != MEDIATOR)  # a government's offer is judged against alternating-offers demands
    if len(govs):
        ratifiable = a.both.copy()  # a continuation offer must be one the voting publics are expected to ratify
        for g in (0, 1):
            ratifiable &= ~talks.votes[g][:, None] | (margins[g] >= 0.0)
        qg, v = rows_of(q, govs), a.v
        dem = rules.demands(a.ub[0][govs], a.ub[1][govs], v[0][govs], v[1][govs], qg["discount"][:, 0],
                            qg["discount"][:, 1], qg["breakdown"], ratifiable[govs])
        talks.need[0][govs], talks.need[1][govs] = dem[0], dem[1]
    return talks


def propose(k: Kernel, talks: Talks) -> None:
    """The proposer's package: the mediator's Nash package, or a government's best expected gain."""
    a, who, need, temp = talks.a, talks.who, talks.need, talks.q["temperature"]
    talks.x = np.zeros(len(talks.j), np.int64)
    talks.zone = np.zeros(len(talks.j), bool)
    med = np.flatnonzero(who == MEDIATOR)
    if len(med):
        w0, w1 = rules.nash_weights(a.bias[med])
        talks.x[med], talks.zone[med] = rules.mediator_proposal(a.ub[0][med], a.ub[1][med], need[0][med], need[1][med],
                                                                w0, w1, talks.log_rat[med], _rows(temp, med), a.both[med])
    for g in (0, 1):
        mine = np.flatnonzero(who == g)
        if len(mine):
            talks.x[mine] = rules.government_proposal(a.ub[g][mine], a.ub[1 - g][mine], need[g][mine],
                                                      need[1 - g][mine], talks.log_rat[mine], _rows(temp, mine),
                                                      a.both[mine])[0]


def _at(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Package ``x[i]`` (a column) of row i of ``a`` (n, C): (n,)."""
    return a[np.arange(len(x)), x]


def answer(k: Kernel, talks: Talks, detail: bool, seam: Seam | None) -> None:
    """Each government accepts or rejects the proposal with its judgement of the round (its own: it accepts)."""
    a, x, temp = talks.a, talks.x, talks.q["temperature"]
    for g in (0, 1):
        u_x, ok_x, own = _at(a.ub[g], x), _at(a.allowed[g], x), talks.who == g
        ok = rules.accepts(u_x, talks.need[g], temp * k.s.judgement[talks.j, g], ok_x, own=own)
        prob = np.where(own, 1.0, rules.acceptance_probability(u_x, talks.need[g], temp) * ok_x) if detail else ok
        talks.answers.append((prob, ok))
    if seam is not None:
        for g in (0, 1):
            if talks.who[0] == g:  # the proposer accepts its own offer, a person's or the model's
                continue
            move = seam.answer(k, talks, g)
            if move is not None:
                talks.answers[g][1][0], talks.played["answers"][g] = bool(move), True


def ratify(k: Kernel, talks: Talks, detail: bool, seam: Seam | None) -> None:
    """Each voting public ratifies or rejects the proposal with its mood of the round (a public not voting: yes)."""
    q, x = talks.q, talks.x
    for g in (0, 1):
        margin = _at(talks.margins[g], x)
        ok = ~talks.votes[g] | (margin + q["ratify_spread"][:, g] * k.s.mood[talks.j, g] >= 0.0)
        prob = np.where(talks.votes[g], rules.ratify_probability(margin, q["ratify_spread"][:, g]), 1.0) if detail \
            else ok
        talks.ballots.append((prob, ok))
    if seam is not None and talks.answers[0][1][0] and talks.answers[1][1][0]:  # both governments signed
        for g in (0, 1):
            if k.c.publics[g] is not None and talks.votes[g][0]:
                move = seam.ratify(k, talks, g)
                talks.played["votes"][g] = move is not None  # every public asked is listed, as a person's or not
                if move is not None:
                    talks.ballots[g][1][0] = bool(move)


def settle(k: Kernel, talks: Talks, d: dict[str, np.ndarray], t: int) -> np.ndarray:
    """Count the proposal; a deal if both governments and every voting public said yes, else a chance of breakdown."""
    c, s, a, j, x, q = k.c, k.s, talks.a, talks.j, talks.x, talks.q
    agreed = talks.answers[0][1] & talks.answers[1][1] & talks.ballots[0][1] & talks.ballots[1][1]
    s.proposals[j] += 1
    np.add.at(s.offers, (j, talks.who), 1)
    s.lead[j] = a.lead
    done = j[agreed]
    s.deal[done] = a.cols[x[agreed]]
    s.agreement_month[done] = t
    s.u_deal[done] = np.stack([_at(a.u[g], x) for g in (0, 1)], axis=1)[agreed]
    s.land_km2[done] = rules.land_moved(c.land_share[a.cols[x[agreed]]], s.territory[done], _rows(q["pre2022"], agreed),
                                        _rows(q["claimed"], agreed)) if c.land_issue >= 0 else 0.0
    broke = ~agreed & (d["breakdown"][j, 0] < q["breakdown"])
    s.open[j[broke]] = False
    s.round_month[j] += 1
    return agreed


# --------------------------------------------------------------------------- the month log (R = 1)


def month_entry(k: Kernel, t: int, a: Assessment) -> MonthEntry:
    """Month t's log entry (run 0) after the fighting: its events, the battlefield, each side's reading of the war
    (``a``). Talks add their part as they happen (:func:`open_talks`, :func:`talks_entry`)."""
    c, s = k.c, k.s
    return {"month": t, "events": [(c.path_of(slot), value) for when, ch in c.events if when == t for slot, value in ch],
            "change": float(s.change[0]), "retaken": float(s.retaken[0]), "territory": float(s.territory[0]),
            "kursk": float(s.kursk[0]), "hurt": [float(h) for h in s.hurt[0]], "drift": [float(v) for v in s.drift[0]],
            "casualties": [float(v) for v in s.casualties[0]],
            "weariness": {g: float(s.weariness[0, g]) for g in (0, 1) if c.publics[g] is not None},
            "values": [float(a.v[g][0]) for g in (0, 1)], "gains": [float(v[0]) for v in gains(a)],
            "costs": [float(a.cost[g][0]) for g in (0, 1)]}


def talks_entry(k: Kernel, talks: Talks, agreed: bool, played: bool) -> TalksEntry:
    """The log's record of a month of talks (run 0)."""
    c, a, x, who = k.c, talks.a, int(talks.x[0]), int(talks.who[0])
    lead = int(a.lead[0])
    med = who == MEDIATOR
    publics = [g for g in (0, 1) if c.publics[g] is not None]
    out: TalksEntry = {
        "lead": c.mediators[lead] if lead >= 0 else None, "proposer": Proposer(who), "package": int(a.cols[x]),
        "zone": bool(talks.zone[0]) if med else None,
        "utilities": [float(a.u[g][0, x]) for g in (0, 1)], "leverage": [float(a.lev[g][0]) for g in (0, 1)],
        "needs": [float(talks.need[g][0]) for g in (0, 1)], "values": [float(a.v[g][0]) for g in (0, 1)],
        "answers": [(float(talks.answers[g][0][0]), bool(talks.answers[g][1][0])) for g in (0, 1)],
        "votes": {g: (float(talks.ballots[g][0][0]), bool(talks.ballots[g][1][0]), bool(talks.votes[g][0]))
                  for g in publics},
        "agreed": agreed,
        "judgement": [float(talks.q["temperature"][0] * k.s.judgement[0, g]) for g in (0, 1)],
        "round_month": int(k.s.round_month[0]) - 1,
        "heard": [[float(talks.before[0, g]), float(k.s.drift[0, g])] for g in (0, 1)] if med else None,
        "margins": {g: float(talks.margins[g][0, x]) for g in publics},
    }
    if played:
        out["played"] = talks.played
    if not agreed and not k.s.open[0]:
        out["breakdown"] = True
    return out
