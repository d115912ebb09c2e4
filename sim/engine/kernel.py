"""The engine's kernel: one month of R runs, its phases, masks and decisions written once.

The state is a :class:`State` of numpy arrays with a leading run axis R; the
parameters are the run's parameter arrays (``p``: one row per run, or a single
row shared by all runs), changed in place by events. Both ways of running the
model use this one kernel:

- a batch (:func:`run_block`) advances thousands of runs at once;
- the Mesa model (:class:`sim.engine.model.NegotiationModel`) is the kernel at
  R = 1, a month per ``step()``, with the month log written and a person's
  moves taken through the decision seam (:class:`Seam`).

A run is a peace process with stages (docs/model.md, "Stages"): war, talks,
partial deals, a ceasefire, a settlement, then implementation or relapse.
Each month (:meth:`Kernel.step`) runs the phases of :data:`PHASES` in order.
Work is done only where it can matter: the talks only on the runs that talk,
relapse only on settled runs. Every equation is a function of
:mod:`sim.engine.rules`; the draws are the run's pre-drawn
:class:`~sim.engine.shocks.Shocks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd

from sim.engine import heap, rules, search
from sim.engine import pool as pools
from sim.engine.lastaxis import last_any, last_sum
from sim.engine.records import (
    RAW_FIELDS,
    STAGE_NAMES,
    MonthEntry,
    PlayedEntry,
    Proposer,
    TalksEntry,
    to_frame,
)
from sim.engine.shocks import Shocks, apply_events, apply_hazard_events, change_slot
from sim.scenario.compile import Act, Compiled
from sim.scenario.registry import NO_MINIMUM

Params = dict[str, np.ndarray]
Kept = tuple["pools.Reader | None", np.ndarray, "np.ndarray | None"]  # a kernel's pools, runs, its barren runs
Index = slice | np.ndarray  # runs of a block: all (a slice) or some (their indices)

# The month's phases in the order Kernel.step calls them: (name, the function, what it does). docs/architecture.py
# draws them, and tests/test_architecture.py checks that Kernel.step calls these functions in this order.
PHASES = (
    ("events", "events", "timed events of the month, and events with a monthly chance (a leader change), change "
                         "parameters"),
    ("instruments", "instruments", "each instrument's level: as set, its stick's level while its target refuses "
                                   "talks, sanctions lifted by a settlement that relieves them"),
    ("battlefield", "battlefield", "the front and the Kursk area move (a ceasefire freezes them but for violations; "
                                   "a settlement stops them)"),
    ("fight", "fight", "each government takes casualties, learns the front's pace and accumulates hurt; its "
                       "public's war-weariness moves with its losses"),
    ("open talks", "open_talks", "runs not in talks: each side sees a way out or not; ripeness or a mediator's "
                                 "pull may open talks, and the round's lead mediator is drawn"),
    ("negotiate", "negotiate", "runs in talks: partial deals; where the preconditions hold, the settlement round "
                               "(proposer, report, demands, proposal, answers, beliefs, ratification), else or "
                               "then a ceasefire; or a chance of breakdown"),
    ("hold", "hold", "a ceasefire may break down and a settlement relapse into war"),
)
SIGN = (-1.0, 1.0)  # ukraine side, russia side: +1 when its gains raise Russia-held territory
MEDIATOR = int(Proposer.MEDIATOR)
STARTS = 3  # distinct candidates the proposal search of a searched space starts its local search from
TANGENTS = 1  # and its Frank-Wolfe steps from the frontier (one keeps the search exact for an objective of one
#   weighted sum; more found no better proposal in tests/test_agenda_search.py and cost 25% more CPU)
# Stages of a peace process, in order; a run's ``stage`` is the furthest it reached (relapse: after a settlement).
STAGES = STAGE_NAMES
WAR, TALKS, PARTIAL, CEASEFIRE, SETTLEMENT, RELAPSE = range(6)
WAR_STREAMS = ("casualties", "opinion")  # what the fighting draws, in the runs at war (the battlefield draws its own)


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
    satisfaction: np.ndarray  # (R, 4) each government's worth of the deal less its demand, then each public's margin
    land_km2: np.ndarray  # km2 the deal's land term moves
    stage: np.ndarray  # the furthest stage reached (STAGES)
    belief: np.ndarray  # (R, 2, N) what the others believe of government g's type (its resolve)
    kind: np.ndarray  # (R, 2) index of each government's true type on its grid
    level: np.ndarray  # (R, I) each instrument's level this month
    refusing: np.ndarray  # (R, 2) a side refused talks last month (talks closed, it saw no way out)
    partial: np.ndarray  # (R, D) partial deals in force
    partial_deals: np.ndarray  # partial deals agreed (each exchange of a repeating one counts)
    first_partial_month: np.ndarray  # -1: none
    ceasefire: np.ndarray  # a ceasefire holds
    ceasefire_month: np.ndarray  # month of the first ceasefire (-1: none)
    ceasefire_broken_month: np.ndarray  # month a ceasefire first broke down (-1: never)
    relapse_month: np.ndarray  # month war resumed after the settlement (-1: never)
    fired: np.ndarray  # (R, H) events with a monthly chance that have happened
    aid_front: np.ndarray  # km2 a month added to the advance by aid below its level 1 (this month)
    aid_casualties: np.ndarray  # Ukrainian casualties a month added by aid below its level 1
    sanctions: np.ndarray  # the russia side's monthly cost of sanctions (felt)
    relief: np.ndarray  # the part of it a settlement would lift (counted in its value of war)
    cut: np.ndarray  # (R, 2) share of each side's monthly cost removed by partial deals in force
    peace_gain: np.ndarray  # under a settlement: what the side keenest to fight again expects to gain (NaN: to read)

    def rows(self, idx: np.ndarray) -> State:
        """The state of runs ``idx``: a copy of each field, made when it is first read (most readers read few)."""
        return cast(State, _Rows(self, idx))


class _Rows:
    """Runs ``idx`` of a state, read as a :class:`State`: each field indexed (a copy) when first read.

    Rows of rows (``.rows(idx)`` again) read a field from these rows if it was read here already, else straight
    from the whole state at the composed run numbers: one copy, not two (the same numbers either way)."""

    def __init__(self, s: State, idx: np.ndarray, whole: tuple[State, np.ndarray] | None = None):
        self._s, self._idx, self._whole = s, idx, whole

    def __getattr__(self, name: str) -> Any:
        if name not in STATE_FIELDS:
            raise AttributeError(name)
        if self._whole is not None and name not in self._s.__dict__:
            value = gather(getattr(self._whole[0], name), self._whole[1])
        else:
            value = gather(getattr(self._s, name), self._idx)
        setattr(self, name, value)
        return value

    def rows(self, idx: np.ndarray) -> State:
        whole = self._whole or (self._s, self._idx)
        if not (_runs(idx) and _runs(whole[1])):
            return cast(State, _Rows(cast(State, self), idx))
        return cast(State, _Rows(cast(State, self), idx, (whole[0], whole[1].take(idx))))


def _runs(idx: Any) -> bool:
    """``idx`` holds run numbers (not a slice or a mask)."""
    return isinstance(idx, np.ndarray) and idx.dtype.kind in "iu"


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
    wcost: list[np.ndarray] = field(default_factory=list)  # (n,) expected cost of fighting on, with public pressure
    v_types: list[np.ndarray] = field(default_factory=list)  # (n, N) value of war of each type of g, as others see it
    v_bar: list[np.ndarray] = field(default_factory=list)  # (n,) the others' expected value of war of g
    sees: list[np.ndarray] = field(default_factory=list)  # (n,) g sees a way out: a package it prefers to fighting
    #   that it believes the other side prefers too
    way_out: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (n,) both sides see a way out
    pool: pools.Pool | None = None  # a searched space: each run's packages (its columns), None if enumerated


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
    need_types: list[np.ndarray]  # per government, (n, N) what each of its types would ask, as the others see it
    before: np.ndarray  # (n, 2) believed drifts before hearing a mediator
    bars: list[np.ndarray]  # per government, (n or 1,) its public's bar at the vote (:func:`public_bar`)
    u_nd: list[np.ndarray] = field(default_factory=list)  # per government, (n,) the utility of what fighting on
    #   is expected to bring, after hearing the mediator (a ceasefire's test reads it)
    x: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (n,) the proposal (a column)
    zone: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (n,) a mediator saw a zone of agreement
    answers: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # per government (chance, accepts)
    ballots: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # per public (chance, ratifies)
    played: PlayedEntry = field(default_factory=lambda: PlayedEntry(proposal=False, answers=[False, False], votes={}))
    likes: list[np.ndarray] | None = None  # per government, (N, n) the chance each of its types accepts the
    #   proposal, as the proposer worked it out (NaN where it did not: g's own offers); None: not worked out


class Seam(Protocol):
    """Where a person's move replaces the model's choice (R = 1): each returns the move, or None for the model's.

    The kernel calls :meth:`propose` once the model chose its proposal, :meth:`answer` for each government that
    did not make the offer, and :meth:`ratify` for each voting public once both governments signed. ``talks``
    holds the kernel's own reading of the month (row 0).
    """

    def propose(self, kernel: Kernel, talks: Talks) -> int | None: ...

    def answer(self, kernel: Kernel, talks: Talks, g: int) -> bool | None: ...

    def ratify(self, kernel: Kernel, talks: Talks, g: int) -> bool | None: ...

    # optional: ``act(kernel, t)`` returns the actions on the ground taken at the start of month t (see :func:`act`)


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
        self.s = initial_state(c, self.p, shocks, self.R)
        self.prior = np.full(c.type_values.shape[1], 1.0 / c.type_values.shape[1])
        self.month = 0
        self.new_events = np.zeros((self.R, len(c.hazard_events)), bool)  # events with a chance that fired this month
        self.last_talks: tuple[int, Talks] | None = None
        self.inputs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # what :func:`instruments` last read
        self.pools = pools.Reader(c, self.R, lazy=not full) if c.searched else None  # a searched space: the runs' pools, kept
        # a lazy reader's runs whose pool was read with the parameters they have now, where no package passes both
        # governments' filters: not read again while their parameters stand (see :func:`_pooled`). It and
        # ``bars`` follow ``p``: what writes ``p`` other than :meth:`step`'s events and actions must clear both
        self.barren = np.zeros(self.R, bool) if self.pools is not None and self.pools.lazy else None
        self.bars: list[np.ndarray] | None = None  # each public's bar at the vote (:func:`public_bar`), of every run
        self.peace_read: tuple[Assessment, bytes] | None = None  # run 0's reading in peace (see :meth:`reading`)

    def step(self, log: bool = False, seam: Seam | None = None) -> MonthEntry | None:
        """Advance every run one month; with ``log`` (R = 1), return the month's log entry."""
        if log and self.R != 1:
            raise ValueError(f"the month log is written one run at a time (R = 1, got R = {self.R})")
        s = self.s
        t = self.month + 1
        d = self.shocks.month(t)
        changed = events(self, t, d)
        chosen = seam.act(self, t) if seam is not None and hasattr(seam, "act") else None
        if chosen:  # a game (R = 1): the played roles' actions on the ground, applied after the month's events
            changed = act(self, chosen) or changed
        if changed:  # parameters may have changed: what is worked out from them is worked out again
            self.bars = None
            if self.barren is not None:  # each pool is read again
                self.barren[:] = False
        instruments(self, changed)
        p = self.p
        at_war = (s.deal < 0) | (s.relapse_month >= 0)  # a settlement stops the war until it relapses
        w: Index = slice(None) if at_war.all() else np.flatnonzero(at_war)  # all runs: views, no copies
        z = {m: d[m][w] for m in WAR_STREAMS}  # the war's draws of the month, made for the runs at war only
        q, cf = rows_of(p, w), s.ceasefire[w]  # their parameters and ceasefires, read once for both phases
        battlefield(s, q, cf, w, t, d["front"])
        fight(s, q, cf, z, w)
        # A logged run (R = 1) reads the month once, for its log and its talks (read again if talks open now).
        read = self.reading(changed) if log else None
        entry = month_entry(self, t, read) if read is not None else None
        was_open = s.open.copy()
        unsettled = s.deal < 0
        open_talks(self, np.flatnonzero(unsettled & ~s.open), d, t, entry, read)
        idx = np.flatnonzero(unsettled & s.open)  # every talking run negotiates, also those that just opened
        if len(idx):
            negotiate(self, idx, d, t, entry, seam, read if read is not None and was_open[0] else None)
        hold(self, d, t, entry)
        self.month = t
        return entry

    def reading(self, changed: bool) -> Assessment:
        """Run 0's reading of the month, for its log. Under a settlement that holds nothing of the war moves (no
        fighting, no learning, the line fixed), so the reading of the first month of peace stands until an event
        changes a parameter, a partial deal lapses or the war resumes."""
        s = self.s
        peace = bool(s.deal[0] >= 0 and s.relapse_month[0] < 0)
        in_force = s.partial[0].tobytes()  # a partial deal that lapses changes the costs of war
        if not peace or changed or self.peace_read is None or self.peace_read[1] != in_force:
            read = assess(self.c, self.p, s, full=self.full)
            self.peace_read = (read, in_force) if peace else None
            return read
        return self.peace_read[0]

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
    heap.keep_freed()  # the month's temporaries reuse the heap's pages (sim/engine/heap.py)
    return Kernel(c, shocks).run().raw()


def initial_state(c: Compiled, p: Params, shocks: Shocks, R: int) -> State:
    minus = np.full(R, -1, dtype=np.int64)

    def per_run(v: np.ndarray) -> np.ndarray:
        return np.broadcast_to(v, (R, *v.shape[1:])).copy()

    hurt = np.stack([rules.initial_hurt(start_cost(c, p, g), p["hurt_decay"][:, g], p["war_months"]) for g in (0, 1)],
                    -1)
    return State(
        territory=per_run(p["territory0"]), kursk=per_run(p["kursk0"]), kursk_month=minus.copy(),
        change=np.zeros(R), retaken=np.zeros(R), casualties=np.zeros((R, 2)),
        drift=per_run(p["drift_mean"]), precision=per_run(1.0 / (p["drift_sd"] * p["drift_sd"])),
        hurt=per_run(hurt), weariness=per_run(p["weariness0"]),
        judgement=shocks.draws["judgement"][:, 0].copy(), mood=shocks.draws["mood"][:, 0].copy(),
        open=np.zeros(R, bool), talks_month=minus.copy(), talks_rounds=np.zeros(R, np.int64),
        round_month=np.zeros(R, np.int64), round_lead=minus.copy(), lead=minus.copy(),
        proposals=np.zeros(R, np.int64), offers=np.zeros((R, 3), np.int64), agreement_month=minus.copy(),
        deal=minus.copy(), u_deal=np.zeros((R, 2)), satisfaction=np.zeros((R, 4)), land_km2=np.zeros(R), stage=np.zeros(R, np.int64),
        belief=np.full((R, 2, c.type_values.shape[1]), 1.0 / c.type_values.shape[1]),
        kind=np.stack([np.abs(per_run(p["resolve"])[:, g, None] - c.type_values[g]).argmin(axis=-1)
                       for g in (0, 1)], -1),
        level=per_run(p["inst_level"]), refusing=np.zeros((R, 2), bool),
        partial=np.zeros((R, len(c.partial_deals)), bool), partial_deals=np.zeros(R, np.int64),
        first_partial_month=minus.copy(), ceasefire=np.zeros(R, bool), ceasefire_month=minus.copy(),
        ceasefire_broken_month=minus.copy(), relapse_month=minus.copy(),
        fired=np.zeros((R, len(c.hazard_events)), bool), aid_front=np.zeros(R), aid_casualties=np.zeros(R),
        sanctions=np.zeros(R), relief=np.zeros(R), cut=np.zeros((R, 2)), peace_gain=np.full(R, np.nan))


def start_cost(c: Compiled, p: Params, g: int) -> Any:
    """A side's felt monthly cost at the start, at the scenario's means (and, for the russia side, the sanctions at
    their starting levels): what the war so far has cost it a month."""
    felt = rules.expected_month_cost(p["casualty_mean"][..., g], p["change_mean"], SIGN[g],
                                     p["cost_sensitivity"][..., g], p["casualty_scale"], p["ground_scale"])
    return felt + sanctions_cost(c, p, p["inst_level"], False) if g == 1 else felt


def rows_of(p: Params, idx: Index) -> Params:
    """The parameters of runs ``idx`` (shared single-row arrays as they are), each indexed when first read."""
    return _ParamRows(p, idx)


class _ParamRows(dict):
    """Runs ``idx`` of parameter arrays: a per-run array is indexed (a copy) when first read; most readers read few.

    Rows of rows read an array from these rows if it was read here already, else from the whole parameters at the
    composed run numbers (one copy, not two)."""

    def __init__(self, p: Params, idx: Index):
        super().__init__()
        self._p, self._idx = p, idx
        self._whole: tuple[Params, np.ndarray] | None = None
        if isinstance(p, _ParamRows) and isinstance(idx, np.ndarray) and _runs(idx):
            base, at = p._whole or (p._p, p._idx)
            if isinstance(at, np.ndarray) and _runs(at):
                self._whole = (base, at.take(idx))

    def __missing__(self, key: str) -> np.ndarray:
        idx: Index
        if self._whole is not None and not dict.__contains__(self._p, key):
            v, idx = self._whole[0][key], self._whole[1]
        else:
            v, idx = self._p[key], self._idx
        v = gather(v, idx) if len(v) > 1 else v
        self[key] = v
        return v


def _rows(v: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Rows ``idx`` of a per-run array; a single-row (shared) array as it is."""
    return gather(v, idx) if len(v) > 1 else v


def gather(v: np.ndarray, idx: Index) -> np.ndarray:
    """Rows ``idx`` of ``v`` (a copy; a slice gives a view): ``v[idx]``, by ``take`` for run numbers from a contiguous
    array, which copies rows of a 2-d or 3-d array several times faster than indexing does (the same values; ``take``
    would first copy a strided array whole, so that one is indexed)."""
    if isinstance(idx, np.ndarray) and idx.dtype.kind in "iu" and v.flags.c_contiguous:
        return v.take(idx, axis=0)
    return v[idx]


def side(a: np.ndarray, runs: np.ndarray, g: int) -> np.ndarray:
    """``a[runs, g]`` of a per-government array (R, 2, ...): a copy, taken as rows of its (R x 2, ...) view, which
    copies only side g's rows (the same values)."""
    if not a.flags.c_contiguous:
        return a[runs, g]
    return a.reshape(-1, *a.shape[2:]).take(runs * 2 + g, axis=0)


def set_side(a: np.ndarray, runs: np.ndarray, g: int, values: np.ndarray) -> None:
    """``a[runs, g] = values`` of a per-government array (R, 2, ...), written as rows of its (R x 2, ...) view."""
    if not a.flags.c_contiguous:
        a[runs, g] = values
        return
    a.reshape(-1, *a.shape[2:])[runs * 2 + g] = values


# --------------------------------------------------------------------------- phases 2-3: battlefield, fight


def events(k: Kernel, t: int, d: dict[str, np.ndarray]) -> bool:
    """Timed events of month t, then events with a monthly chance (each fires once, at its own month).

    A settlement's temptation is read again after a change of parameters. A government whose resolve an event
    changed (a new leader) has a new type, unknown to the others: their belief over it starts again from the prior.
    Returns whether any event fired.
    """
    resolve = k.p["resolve"].copy()
    changed = apply_events(k.c, k.p, t)
    if changed:
        k.s.peace_gain[:] = np.nan
    if k.c.hazard_events:
        before = k.s.fired.copy()
        now = apply_hazard_events(k.c, k.p, k.s.fired, d["events"])
        k.new_events = k.s.fired & ~before
        k.s.peace_gain[now] = np.nan
        changed = changed or bool(now.any())
    if changed:
        leader = np.broadcast_to(k.p["resolve"] != resolve, (k.R, 2))
        new = np.broadcast_to(k.p["resolve"], (k.R, 2))
        for g in (0, 1):
            runs = np.flatnonzero(leader[:, g])
            k.s.kind[runs, g] = np.abs(new[runs, g, None] - k.c.type_values[g]).argmin(axis=-1)
            k.s.belief[runs, g] = k.prior
    return changed


def act(k: Kernel, chosen: list[Act]) -> bool:
    """Actions on the ground taken at the start of month t of a game (R = 1), after the month's events: each sets,
    adds to or scales parameters as an event sets them (a relative change kept in the parameter's range), and
    shifts a public's war-weariness as a month's opinion shock does (kept in [0, 1]). Returns whether anything
    changed (the month's reading, and a settlement's temptation, are then read again)."""
    if k.R != 1:
        raise ValueError(f"actions on the ground are taken one run at a time (R = 1, got R = {k.R})")
    changed = False
    for a in chosen:
        for slot, op, value in a.changes:
            change_slot(k.p, slot, op, value)
            changed = True
        for g, shift in a.weariness:
            if k.p["has_public"][0, g] > 0.0:
                k.s.weariness[:, g] = np.clip(k.s.weariness[:, g] + shift, 0.0, 1.0)
                changed = True
    if changed:
        k.s.peace_gain[:] = np.nan
    return changed


def instruments(k: Kernel, changed: bool = True) -> None:
    """Each instrument's level this month: as set (events may change it), or its stick's level while its target
    refuses talks; sanctions that a settlement relieves are lifted once a settlement holds. Then what the levels
    and the partial deals in force do to the war this month.

    A run's levels and cuts follow from the deals in force, whether each stick's target refuses and whether a
    settlement holds: they are worked out again only for the runs where one of these moved since the last month,
    and for every run the first time and after ``changed`` (an event or an action changed parameters)."""
    c, p, s = k.c, k.p, k.s
    target = np.where(c.instrument_kinds == 0, 0, 1)  # aid: the ukraine side; sanctions: the russia side
    stick = (p["inst_stick_active"] > 0.0) & s.refusing.take(target, axis=1)  # (R, I)
    peace = (s.deal >= 0) & (s.relapse_month < 0)
    last, k.inputs = k.inputs, (s.partial.copy(), stick, peace)
    rows: Index = slice(None)
    if last is not None and not changed:
        moved = (last[2] != peace) | last_any(last[0] != s.partial) | last_any(last[1] != stick)
        rows = np.flatnonzero(moved)
        if not len(rows):
            return
    if s.partial.shape[1]:  # a run with no deal in force has a cut of 0: the cuts are added up where one is
        partial = gather(s.partial, rows)
        cut = np.zeros((len(partial), 2))
        held = np.flatnonzero(last_any(partial))
        if len(held):
            runs = held if isinstance(rows, slice) else rows[held]
            cut[held] = np.stack([partial_cut(rows_of(p, runs), gather(partial, held), g) for g in (0, 1)], -1)
        s.cut[rows] = cut
    if len(c.instruments):
        levels(c, rows_of(p, rows), s, rows, gather(stick, rows), peace[rows])


def levels(c: Compiled, q: Params, s: State, rows: Index, stick: np.ndarray, peace: np.ndarray) -> None:
    """The instruments' levels of runs ``rows`` (``q`` their parameters; ``stick`` (n, I) where a stick's target
    refuses, ``peace`` where a settlement holds), and what they do to the war (see :func:`instruments`)."""
    relieved = (c.instrument_kinds == 1) & (q["inst_relief"] > 0.0)
    lifted = relieved & peace[:, None]
    unlifted = np.where(stick, q["inst_stick"], q["inst_level"])
    level = np.broadcast_to(np.where(lifted, 0.0, unlifted), stick.shape)
    s.level[rows] = level
    s.aid_front[rows], s.aid_casualties[rows] = aid_shift(c, q, level)
    s.sanctions[rows] = sanctions_cost(c, q, level, False)
    # what a settlement would lift, at the levels before any lift: under a settlement, what a relapse brings back
    s.relief[rows] = sanctions_cost(c, q, np.broadcast_to(unlifted, level.shape), True)


def aid_shift(c: Compiled, p: Params, level: np.ndarray) -> tuple[Any, Any]:
    """(km2 a month added to Russia's advance, casualties a month added to Ukraine's) by aid below level 1."""
    if not len(c.instruments):
        return np.zeros(len(level)), np.zeros(len(level))
    aid = c.instrument_kinds == 0
    short = np.where(aid, 1.0 - level, 0.0)
    return _dot(short, p["inst_front"]), _dot(short, p["inst_casualties"])


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise sum of a * b over the last (short) axis, added in order from the first column; b a shared row
    (1, I) or one per run. Not a matrix product: BLAS rounds a row's sum differently with the rows around it
    (fused multiply-adds over blocks of rows), so a row alone and the same row in a block could differ."""
    return last_sum(a * b)


def sanctions_cost(c: Compiled, p: Params, level: np.ndarray, relief_only: bool) -> Any:
    """The russia side's monthly cost of sanctions at their levels (``relief_only``: those a deal would lift)."""
    if not len(c.instruments):
        return np.zeros(len(level))
    on = (c.instrument_kinds == 1) & ((p["inst_relief"] > 0.0) if relief_only else True)
    return _dot(np.where(on, level, 0.0), p["inst_cost"])


def partial_cut(p: Params, partial: np.ndarray, g: int) -> Any:
    """Share of government g's monthly cost of war that the partial deals in force remove (at most all)."""
    if not partial.shape[-1]:
        return 0.0
    cut = p["pd_cut"][:, :, g]
    total: Any = 0.0  # the deals' cuts added in order from 0, as numpy's sum over a few (at most 4) deals adds them
    for i in range(partial.shape[-1]):
        total = total + partial[:, i] * cut[:, i]
    return np.minimum(1.0, total)


def battlefield(s: State, q: Params, cf: np.ndarray, w: Index, t: int, front: Any) -> None:
    """The front and the Kursk area move in the runs at war ``w`` (``q``: their parameters, ``cf``: where a
    ceasefire holds; ``front``: the month's draws of the front, made here for the runs that need them): a
    ceasefire's violations move the line by a fraction and freeze the Kursk front; a settlement stops both (those
    runs are not in ``w``)."""
    share = np.where(cf, q["cf_casualty"], 1.0)  # a ceasefire holds the war to its violations
    change = share * rules.normal_draw(q["change_mean"] + s.aid_front[w], q["change_sd"], front[w, 0])
    s.change = np.zeros(len(s.change))
    s.change[w] = change
    s.territory[w] = rules.advance_territory(s.territory[w], change)
    before = s.kursk[w]
    # Only a Kursk area still held (>= 0 always) and not frozen by a ceasefire can be retaken: elsewhere the
    # retaken km2 are 0 whatever the draw, so the draws are made for those runs only.
    live = np.flatnonzero((before > 0.0) & ~cf)
    retaken = np.zeros(len(before))
    if len(live):
        runs = live if isinstance(w, slice) else w[live]
        retaken[live] = rules.kursk_retaken(before[live], _rows(q["kursk_mean"], live), _rows(q["kursk_sd"], live),
                                            front[runs, 1])
    s.retaken = np.zeros(len(s.retaken))
    s.retaken[w] = retaken
    after = before - retaken
    s.kursk_month[w] = np.where((before > 0.0) & (after <= 0.0), t, s.kursk_month[w])  # before is a view of all
    s.kursk[w] = after


def fight(s: State, q: Params, cf: np.ndarray, z: dict[str, np.ndarray], w: Index) -> None:
    """In the runs at war ``w`` (``q``: their parameters, ``cf``: where a ceasefire holds, ``z``: their draws of the
    month), each government takes its losses, learns the front's pace (not from a ceasefire's violations),
    accumulates hurt; its public's weariness moves. What both sides read of the month is read once."""
    share = np.where(cf, q["cf_casualty"], 1.0)
    change = s.change[w]
    observed = change - s.aid_front[w]  # the sides know the aid's level: they learn the pace without it
    for g in (0, 1):
        _fight_side(s, q, g, cf, z, w, share, change, observed)


def _fight_side(s: State, q: Params, g: int, cf: np.ndarray, z: dict[str, np.ndarray], w: Index, share: np.ndarray,
                change: np.ndarray, observed: np.ndarray) -> None:
    """Government g's month of war (:func:`fight`): one column at a time, each a 1-d array (numpy works an (n, 2)
    array with a broadcast operand two numbers at a time, several times more slowly)."""
    # g's columns, as views: rows w of a column are read and written without indexing two axes at once
    casualties, drift, precision, hurt, weariness = (x[:, g] for x in (s.casualties, s.drift, s.precision, s.hurt,
                                                                       s.weariness))
    extra = s.aid_casualties[w] if g == 0 else 0.0
    cas = share * rules.casualties(q["casualty_mean"][:, g] + extra, q["casualty_sd"][:, g], z["casualties"][:, g])
    casualties[w] += cas
    was = drift[w], precision[w]
    new = rules.update_drift_belief(was[0], was[1], observed, q["change_sd"], q["pace_shift_sd"])
    drift[w] = np.where(cf, was[0], new[0])
    precision[w] = np.where(cf, was[1], new[1])
    lost = rules.ground_lost(change, SIGN[g], s.retaken[w] if g == 0 else 0.0)
    cost = rules.month_cost(cas, lost, q["cost_sensitivity"][:, g], q["casualty_scale"], q["ground_scale"])
    if g == 1:
        cost = cost + s.sanctions[w]
    cost = cost * (1.0 - s.cut[w, g])
    hurt[w] = rules.update_hurt(hurt[w], q["hurt_decay"][:, g], cost)
    before = weariness[w]
    weary = rules.update_weariness(before, cost, q["weariness_rate"][:, g], q["weariness_noise"][:, g],
                                   z["opinion"][:, g])
    weariness[w] = np.where(q["has_public"][:, g] > 0.0, weary, before)


# --------------------------------------------------------------------------- reading the month


def lead_of(q: Params, s: State, acc: list[np.ndarray]) -> np.ndarray:
    """In talks, the round's lead (drawn when the round opened, if still active); else the most acceptable (``acc``:
    per government, (n or 1, M) acceptabilities)."""
    n, M = len(s.territory), q["trust"].shape[1]
    lead = rules.lead_mediator(acc[0], acc[1], q["med_active"])
    drawn = s.round_lead
    active = _pick(q["med_active"], np.maximum(drawn, 0)) if M else np.zeros(n)
    return np.where(s.open & (drawn >= 0) & (active > 0.0), drawn, lead)


def _pick(a: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Column ``col[i]`` of row i of ``a`` ((n, K), or (1, K) shared by all rows): (n,)."""
    return a[np.arange(len(col)), col] if len(a) > 1 else a[0].take(col)


def acceptabilities(q: Params, n: int | None) -> list[np.ndarray]:
    """Per government, (n, M) acceptability of each mediator (``n`` None: as the parameters' rows give it, one row
    where they are shared by every run)."""
    M = q["trust"].shape[1]
    acc = [rules.acceptability(q["trust"][:, :, g], q["preference"][:, g, :], q["preference_weight"][:, g, None])
           for g in (0, 1)]
    return acc if n is None else [np.broadcast_to(x, (n, M)) for x in acc]


def assess(c: Compiled, q: Params, s: State, gain: bool = True, full: bool = False, ways: bool = True,
           mediation: bool = True, kept: Kept | None = None) -> Assessment:
    """Each side's reading of the month, for the runs of ``s``: values of war, package utilities, the lead mediator,
    what the others believe of each side's value of war (its types), and (``ways``) whether each side sees a way out.
    Without ``mediation`` the lead's legitimacy and credibility are left out (``legit``, ``cred`` empty): only talks
    read them, not whether a way out is seen.

    ``q`` are the parameters of those runs (leading axis n, or 1 for shared parameters). ``kept``: a searched
    space's pools kept by the kernel, the run numbers of these runs (:class:`sim.engine.pool.Reader`) and the
    kernel's barren runs (:attr:`Kernel.barren`).
    """
    n = len(s.territory)
    rows = acceptabilities(q, None)  # the lead is read on these rows (one when shared), then broadcast
    acc = [np.broadcast_to(x, (n, x.shape[1])) for x in rows]
    lead = lead_of(q, s, rows)
    has_lead = lead >= 0
    pick = np.where(has_lead, lead, 0)

    def of_lead(a: np.ndarray) -> np.ndarray:
        return _pick(a, pick) if a.shape[1] else np.zeros(n)

    bias = np.where(has_lead, of_lead(q["bias"]), 0.5)
    cols, allowed, utilities, found = _packages(c, q, s, full) if not c.searched else _pooled(c, q, s, kept)
    a = Assessment(lead=lead, has_lead=has_lead, bias=bias, acc=acc, cols=cols, allowed=allowed,
                   both=allowed[0] & allowed[1], pool=found)
    guarantee = q["guarantee_active"] * q["guarantee_value"]  # (n or 1, 2): comes with any settlement
    for g in (0, 1):
        u = utilities[g]
        lev = np.where(has_lead, of_lead(q["leverage"][:, :, g]), 0.0)
        v, u_nd, cost, net, wcost = war(c, q, g, s, gain=gain)
        a.u.append(u)
        a.ub.append(u + (lev + guarantee[:, g])[:, None])
        a.v.append(v)
        a.u_nd.append(u_nd)
        a.cost.append(cost)
        a.wcost.append(wcost)
        a.gain.append(net)
        a.lev.append(lev)
        if mediation:
            pref = q["preference"][:, g, :]
            mean_pref = pref.mean(axis=-1) if pref.shape[-1] else np.zeros(n)
            a.legit.append(np.where(has_lead, rules.legitimacy(of_lead(pref), mean_pref, q["legitimacy"][:, g]), 0.0))
            a.cred.append(np.where(has_lead, rules.credibility(of_lead(q["trust"][:, :, g]), bias, float(g)), 0.0))
        a.v_types.append(value_types(c, g, u_nd, wcost))
        a.v_bar.append(rules.expect(s.belief[:, g], a.v_types[g]))
    if ways:  # talks that are open do not ask whether a way out is seen
        for g in (0, 1):
            h = 1 - g
            a.sees.append(last_any(a.both & (a.ub[g] >= a.v[g][:, None]) & (a.ub[h] >= a.v_bar[h][:, None])))
        a.way_out = a.sees[0] & a.sees[1]
    return a


def _packages(c: Compiled, q: Params, s: State, full: bool
              ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray], None]:
    """The enumerated packages' columns, each government's (n, C) allowed packages and utilities at today's line."""
    n = len(s.territory)
    allowed = allowed_packages(c, q)  # (n, P), or one row (1, P) shared by every run: read before broadcasting
    # Packages that no run's governments can both accept are never proposed nor accepted: drop them
    # before any arithmetic (column order is kept, so argmax ties resolve as over all packages).
    if full:
        cols = np.arange(c.n_packages)
    else:
        cols = np.flatnonzero((allowed[0] & allowed[1]).any(axis=0)) if n else np.zeros(0, np.int64)
    cols = cols if len(cols) else np.zeros(1, np.int64)
    sel: slice | np.ndarray = slice(None) if full else cols  # every package: no copy
    allowed = [np.broadcast_to(x[:, sel], (n, len(cols))) for x in allowed]
    land = rules.package_land(c.land_issue, c.land_share[sel], s.territory, q["pre2022"], q["claimed"])
    u = [rules.utilities_at(c.packages[sel], land, q["ideal"][:, g], q["salience"][:, g], c.land_issue, n)
         for g in (0, 1)]
    return cols, allowed, u, None


def _pooled(c: Compiled, q: Params, s: State, kept: Kept | None = None
            ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray], pools.Pool]:
    """A searched space: each run's pool of packages (:mod:`sim.engine.pool`) as its columns (``kept``: the
    kernel's kept pools, these runs' numbers and the kernel's barren runs)."""
    if kept is not None and kept[0] is not None:
        return _kept(q, s.territory, kept[0], kept[1], kept[2])
    found = pools.read(c, _per_run(q, len(s.territory)), s.territory)
    return np.zeros(0, np.int64), found.allows(found.x), found.utilities(found.x), found


def _kept(q: Params, territory: np.ndarray, reader: pools.Reader, runs: np.ndarray, barren: np.ndarray | None
          ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray], pools.Pool]:
    """:func:`_pooled` from the kernel's reader. A lazy reader leaves the columns of a run where no package passes
    both governments' filters unread (utilities 0, nothing allowed) whatever the line, and that holds while the
    run's parameters stand: such a run (``barren``, learnt from its last reading) is not read again, its columns
    are those numbers. Its pool keeps the line of its last reading: a batch reads nothing else of it (its rounds of
    talks are :func:`_barren_round`'s, which read no pool)."""
    skip = barren[runs] if barren is not None else np.zeros(len(runs), bool)
    if not skip.any():
        pool, u, ok = reader.read(q, territory, runs)
        if barren is not None:
            barren[runs] = ~reader.feasible[runs]
        return np.zeros(0, np.int64), ok, u, pool
    shape = (len(runs), reader.u.shape[2])
    u, ok = [np.zeros(shape), np.zeros(shape)], [np.zeros(shape, bool), np.zeros(shape, bool)]
    assert barren is not None
    rows = np.flatnonzero(~skip)
    if len(rows):
        _, read_u, read_ok = reader.read(rows_of(q, rows), territory[rows], runs[rows])
        for g in (0, 1):
            u[g][rows], ok[g][rows] = read_u[g], read_ok[g]
        barren[runs[rows]] = ~reader.feasible[runs[rows]]
    return np.zeros(0, np.int64), ok, u, pools.Kept(reader, runs)


def _per_run(q: Params, n: int) -> Params:
    """The parameters the pool reads, one row per run."""
    return {name: np.broadcast_to(q[name], (n, *q[name].shape[1:]))
            for name in ("pre2022", "claimed", "ideal", "salience", "rl_active", "minimum")}


def value_types(c: Compiled, g: int, u_nd: np.ndarray, wcost: np.ndarray) -> np.ndarray:
    """(n, N) government g's value of war at each of its types (resolves), as the others reckon it (worked out as
    (N, n), whose rows are long, and handed back as (n, N): the same numbers)."""
    keep = 1.0 - c.type_values[g]
    return np.ascontiguousarray((u_nd - keep[:, None] * wcost).T)


def gains(a: Assessment) -> list[np.ndarray]:
    """Each side's net gain of fighting on over freezing today's line, of an assessment made with ``gain=True``."""
    out = [g for g in a.gain if g is not None]
    if len(out) != 2:
        raise ValueError("this assessment was made without the net gains of fighting on (gain=False)")
    return out


def war(c: Compiled, q: Params, g: int, s: State, drift: Any = None, *,
        gain: bool = True) -> tuple[Any, Any, Any, Any, Any]:
    """Side g's value of fighting on, over the look-ahead, for the runs of ``s`` (``drift``: its belief, if not
    the state's): (value, utility of the expected outcome, plain cost, net gain over today's line or None,
    cost with its public's pressure).

    The expected line is today's plus the believed pace (with aid below its level added) times the look-ahead;
    the cost is the casualties (with aid's) and, for the russia side, sanctions a deal would lift, times the
    look-ahead, less what partial deals in force remove. Neither is discounted (docs/model.md, section 6).
    """
    u_nd = expected_utility(c, q, g, s, drift)
    extra = s.relief if g == 1 else 0.0
    cas = q["casualty_mean"][:, g] + (s.aid_casualties if g == 0 else 0.0)
    monthly = rules.casualty_cost(cas, q["cost_sensitivity"][:, g], q["casualty_scale"], extra) * (1.0 - s.cut[:, g])
    plain = rules.war_cost(monthly, q["lookahead"])
    cost = rules.pressured_cost(plain, q["pressure"][:, g] * q["has_public"][:, g], s.weariness[:, g])
    v = rules.war_value(u_nd, q["resolve"][:, g], cost)
    if not gain:
        return v, u_nd, plain, None, cost
    return v, u_nd, plain, gain_over_today(c, q, g, s, u_nd, cost), cost


def expected_utility(c: Compiled, q: Params, g: int, s: State, drift: Any = None) -> Any:
    """Side g's utility of the outcome fighting on is expected to bring: the line its belief of the pace (``drift``,
    if not the state's; with aid below its level added) reaches over the look-ahead, the other issues where the
    war leaves them."""
    drift = s.drift[:, g] if drift is None else drift
    expected = rules.expected_territory(s.territory, drift + s.aid_front, q["lookahead"])
    return rules.no_deal_utility(q["nd_position"], c.controls, expected, s.kursk, c.land_issue, q["pre2022"],
                                 q["claimed"], q["ideal"][:, g], q["salience"][:, g])


def gain_over_today(c: Compiled, q: Params, g: int, s: State, u_nd: Any, cost: Any) -> Any:
    """Side g's net gain of fighting on over freezing today's line, from ``u_nd`` (the utility of the outcome
    fighting on is expected to bring) and ``cost`` (its cost of fighting on, with public pressure)."""
    today = rules.no_deal_utility(q["nd_position"], c.controls, s.territory, s.kursk, c.land_issue, q["pre2022"],
                                  q["claimed"], q["ideal"][:, g], q["salience"][:, g])
    return rules.net_gain_of_fighting(u_nd, today, q["resolve"][:, g], cost)


def hear(c: Compiled, q: Params, g: int, cred: np.ndarray, s: State, drift: np.ndarray | None = None,
         wcost: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Side g hears the lead mediator's credible report of the war (Kydd 2003): (its belief of the pace, its value
    of war, what the others reckon each of its types' value of war to be, the utility of what fighting on is
    expected to bring, after hearing).

    ``cred`` is the lead's credibility to it; ``s`` the state of the same runs as ``q``; ``drift`` its belief
    before hearing, if not the state's; ``wcost`` its cost of fighting on with public pressure, if known (the
    report moves the expected line, not the cost).
    """
    heard = rules.credible_drift(s.drift[:, g] if drift is None else drift, q["change_mean"], cred)
    if wcost is None:
        v, u_nd, _, _, wcost = war(c, q, g, s, heard, gain=False)
    else:
        u_nd = expected_utility(c, q, g, s, heard)
        v = rules.war_value(u_nd, q["resolve"][:, g], wcost)
    return heard, v, value_types(c, g, u_nd, wcost), u_nd


_ALLOWED: dict[int, tuple[Compiled, dict[bytes, list[np.ndarray]]]] = {}  # scenario -> parameters -> packages


def allowed_packages(c: Compiled, p: Params) -> list[np.ndarray]:
    """Per government, (R or 1, P): packages that break none of its active red lines and meet its minimum terms.

    Where the parameters it reads are one row shared by every run, the answer (read-only) is kept for the scenario
    and their values: they change only with an event, and the kernel asks every month."""
    read = [p[name] for name in ("rl_active", "minimum", "ideal")]
    if any(len(x) != 1 for x in read):
        return _allowed_packages(c, p)
    key = b"".join(x.dtype.str.encode() + repr(x.shape).encode() + x.tobytes() for x in read)
    kept = _ALLOWED.get(id(c))
    if kept is None or kept[0] is not c:  # the entry holds the scenario, so its id is not another's
        if len(_ALLOWED) >= 8:
            _ALLOWED.clear()
        kept = _ALLOWED[id(c)] = (c, {})
    if key not in kept[1]:
        if len(kept[1]) >= 64:
            kept[1].clear()
        out = _allowed_packages(c, p)
        for x in out:
            x.setflags(write=False)
        kept[1][key] = out
    return list(kept[1][key])


def _allowed_packages(c: Compiled, p: Params) -> list[np.ndarray]:
    out = [rules.allowed_packages(p["rl_active"][:, c.red_line_owner == g], c.red_line_masks[c.red_line_owner == g])
           for g in (0, 1)]
    if (p["minimum"] > NO_MINIMUM).any():
        for g in (0, 1):
            out[g] = out[g] & meets_minimum(c, p, g)
    return out


def meets_minimum(c: Compiled, p: Params, g: int) -> np.ndarray:
    """(R or 1, P) packages whose every term is at least government g's minimum on that issue (non-compensatory)."""
    ok: Any = True
    for k in range(len(c.issues)):
        floor = p["minimum"][:, g, k]
        if not (floor > NO_MINIMUM).any():
            continue
        if k == c.land_issue:  # the land share from g's view: returned land for the ukraine side, ceded for russia
            level = np.broadcast_to(c.land_share * (1.0 if g == 0 else -1.0), (len(floor), c.n_packages))
        else:
            level = rules.term_value(c.packages[None, :, k], p["ideal"][:, g, k, None])
        ok = ok & (level >= floor[:, None])
    return np.asarray(ok)


def public_bar(q: Params, g: int) -> np.ndarray:
    """(n or 1,) public g's bar at the vote, a share of what is in dispute: the threshold times
    :func:`rules.stake_share` of side g, so an issue both governments want settled the same way does not raise the
    bar by diluting the contested ones."""
    return q["ratify_threshold"][:, g] * rules.stake_share(q["salience"][:, g], q["ideal"][:, 0], q["ideal"][:, 1])


def _bars(k: Kernel, j: np.ndarray) -> list[np.ndarray]:
    """Each public's bar (:func:`public_bar`) of runs ``j``: worked out for every run once, and again after an event
    changed a parameter (a run's bar is read in every month of talks)."""
    if k.bars is None:
        k.bars = [public_bar(k.p, g) for g in (0, 1)]
    return [_rows(bar, j) for bar in k.bars]


def public_margin(q: Params, g: int, ub: np.ndarray, u_nd: np.ndarray, cost: np.ndarray, weariness: np.ndarray,
                  legit: np.ndarray, bar: np.ndarray | None = None) -> np.ndarray:
    """(n, C) how far each package clears public g's bar (``u_nd``, ``cost``, ``weariness``, ``legit``: (n,);
    ``bar``: :func:`public_bar`, if known).
    """
    bar = public_bar(q, g) if bar is None else bar
    # worked out on the transposed (C, n) array, whose rows are long, and handed back as (n, C): the same numbers
    return np.ascontiguousarray(rules.ratify_margin(ub.T, u_nd, cost, weariness, bar, q["ratify_weariness"][:, g],
                                                    legit).T)


def votes_of(q: Params, g: int) -> np.ndarray:
    """(n or 1,) public g votes on a deal (it exists and ratifies)."""
    return (q["has_public"][:, g] > 0.0) & (q["ratifies"][:, g] > 0.0)


def ratification(q: Params, ub: list[np.ndarray], u_nd: list[np.ndarray], cost: list[np.ndarray],
                 legit: list[np.ndarray], weariness: np.ndarray, bars: list[np.ndarray] | None = None
                 ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per package, the log-chance that every voting public ratifies, and each public's margin at the vote.

    Per government g: ``ub[g]`` (n, C), ``u_nd[g]``, ``cost[g]``, ``legit[g]`` (n,); ``weariness`` (n, 2); ``bars``:
    each public's bar (:func:`public_bar`), if known.
    """
    margins: list[np.ndarray] = []
    log_rat: Any = 0.0
    for g in (0, 1):
        margin = public_margin(q, g, ub[g], u_nd[g], cost[g], weariness[:, g], legit[g],
                               None if bars is None else bars[g])
        votes = votes_of(q, g)
        if votes.any():  # a public that votes in none of these runs adds log 1 = 0 to every package's log-chance
            prob = rules.ratify_probability(margin, q["ratify_spread"][:, g, None])
            log_rat = log_rat + rules.log_vote_chance(prob, votes[:, None])
        margins.append(margin)
    return np.broadcast_to(log_rat, margins[0].shape), margins


# --------------------------------------------------------------------------- phase 4: open talks


def open_talks(k: Kernel, idx: np.ndarray, d: dict[str, np.ndarray], t: int, entry: MonthEntry | None,
               read: Assessment | None = None) -> None:
    """Closed runs: ripeness (a hurting stalemate with a way out both sides see) or a mediator's pull opens talks.

    Each side sees a way out when some package it prefers to fighting is one it believes the other side prefers
    too (fighting is worth less than its demand within the range). Ripeness is then sigmoid(slope x the lesser
    hurt over its threshold) where both see one, else 0 (Zartman 2000). A mediator who pulls brings both sides
    to contacts whether or not they see a way out, with its monthly chance: the chance of opening is
    1 - (1 - ripeness)(1 - pull). Preconditions do not gate talks: they gate a ceasefire and a settlement
    (:func:`negotiate`). A logged run (R = 1, ``entry``) logs the month's reading ``read``.
    """
    c, p, s = k.c, k.p, k.s
    if not len(idx):
        return
    if entry is not None:
        entry["preconditions"] = _held_at_0(c, _preconditions(k, idx, t))
    q, sj = rows_of(p, idx), s.rows(idx)
    th, hurt = q["hurt_threshold"], sj.hurt
    felt = rules.ripeness(hurt[:, 0], hurt[:, 1], th[:, 0], th[:, 1], q["ripeness_slope"], True, True)
    pull = 1.0 - np.prod(1.0 - q["pull"] * (q["med_active"] > 0.0), axis=-1) if p["pull"].shape[-1] \
        else np.zeros(1)
    u = d["talks"][idx, 0]
    # Below the pull's chance a run opens whatever the sides see; above it, only ripeness can open it, and only
    # where the felt hurt is keen enough for this month's draw: the way out is read only there.
    logged = read is not None and entry is not None
    way_out = np.zeros(len(idx), bool)
    if logged:
        assert read is not None
        way_out = read.way_out
    else:
        look = np.flatnonzero((u >= pull) & (u < 1.0 - (1.0 - felt) * (1.0 - pull)))
        if len(look):
            way_out[look] = assess(c, rows_of(p, idx[look]), s.rows(idx[look]), gain=False, full=k.full,
                                   mediation=False, kept=(k.pools, idx[look], k.barren)).way_out
    ripe = np.where(way_out, felt, 0.0)
    chance = 1.0 - (1.0 - ripe) * (1.0 - pull)
    # A side refuses talks when it feels no hurting stalemate: its hurt is below its threshold, or it expects
    # fighting on to pay better than freezing today's line (a stick may punish it next month).
    for g in (0, 1):  # what fighting on is expected to bring is read only where the hurt does not already decide
        calm = hurt[:, g] < th[:, g]
        s.refusing[idx, g] = calm | (_net_gain(c, q, g, sj, np.flatnonzero(~calm)) > 0.0)
    opening = u < chance
    if entry is not None:
        assert read is not None
        entry["ripeness"], entry["stalemate"], entry["way_out"] = float(ripe[0]), not bool(s.refusing[0].any()), \
            bool(way_out[0])
        entry["pull"], entry["sees"] = float(pull.reshape(-1)[0]), [bool(read.sees[g][0]) for g in (0, 1)]
        if opening[0]:
            entry["opened"] = True
    j = idx[opening]
    s.refusing[j] = False
    acc = acceptabilities(rows_of(p, j), len(j))
    s.round_lead[j] = rules.draw_lead(acc[0], acc[1], _rows(p["med_active"], j), d["mediation"][j, 0])
    s.open[j] = True
    s.talks_rounds[j] += 1
    s.round_month[j] = 0
    s.talks_month[j] = np.where(s.talks_month[j] < 0, t, s.talks_month[j])
    s.stage[j] = np.maximum(s.stage[j], TALKS)


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
    the month if already made).

    Partial deals first (they need no precondition); then, where every active precondition holds (and, with
    ``ceasefire.first``, a ceasefire holds), a round on the settlement; where no settlement was reached and no
    ceasefire holds, a ceasefire; where nothing was settled, a chance that talks break down.
    """
    if seam is not None and (k.R != 1 or not k.full or k.c.searched):
        raise ValueError("a person's moves are taken one run at a time, over every package (R = 1, full, and a "
                         "package space small enough to enumerate)")
    p, s = k.p, k.s
    detail = entry is not None or seam is not None
    partial_deals(k, j, d, t, entry)
    held = np.ones(len(j), bool)
    for active, holds in _preconditions(k, j, t):
        held &= ~active | holds
    ready = held & ((_rows(p["cf_first"], j) == 0.0) | s.ceasefire[j])
    agreed = np.zeros(len(j), bool)
    talks: Talks | None = None
    read_of: tuple[list[np.ndarray], list[np.ndarray]] | None = None
    if ready.any():
        talks, read_of = _rounds(k, j, ready, agreed, t, read, detail, seam)
    truce = ~agreed & ~s.ceasefire[j] & held & (_rows(p["cf_active"], j) > 0.0)
    if truce.any():
        known = None
        if read_of is not None and not (truce & ~ready).any():  # what fighting on would bring, as the round read it
            known = ([read_of[0][g][truce] for g in (0, 1)], [read_of[1][g][truce] for g in (0, 1)])
        ceasefire(k, j[truce], t, entry, known)
    trust = 1.0 - np.minimum(1.0, last_sum(gather(s.partial, j) * _rows(p["pd_trust"], j))) if s.partial.shape[1] \
        else 1.0
    broke = ~agreed & (d["breakdown"][j, 0] < _rows(p["breakdown"], j) * trust)
    s.open[j[broke | agreed]] = False
    s.round_month[j[ready]] += 1  # the turns count the months terms were put: the mediator puts the first
    if entry is not None and talks is not None and ready[0]:
        entry["talks"] = talks_entry(k, talks, bool(agreed[0]), seam is not None)


def _rounds(k: Kernel, j: np.ndarray, ready: np.ndarray, agreed: np.ndarray, t: int, read: Assessment | None,
            detail: bool, seam: Seam | None) -> tuple[Talks | None, tuple[list[np.ndarray], list[np.ndarray]]]:
    """The settlement round of the runs ``j[ready]``: ``agreed`` (over ``j``) set where both governments and every
    voting public said yes. Returns the talks (None if every such run is barren) and, per government and over
    ``j``, the utility of what fighting on is expected to bring after hearing the mediator and its cost with
    public pressure (as the round read them). Barren runs (:attr:`Kernel.barren`) take :func:`_barren_round`;
    ``detail`` (a logged or played run) reads every run in full."""
    pos = np.flatnonzero(ready)
    barren = k.barren[j[pos]] if k.barren is not None and not detail else np.zeros(len(pos), bool)
    full, bare = pos[~barren], pos[barren]
    u_nd, wcost = [np.zeros(len(j)), np.zeros(len(j))], [np.zeros(len(j)), np.zeros(len(j))]
    talks: Talks | None = None
    if len(full):
        talks = table(k, j[full], read if read is not None and ready[0] else None, detail)
        propose(k, talks)
        if seam is not None:
            move = seam.propose(k, talks)
            if move is not None:
                talks.x[0], talks.played["proposal"] = int(move), True
        answer(k, talks, detail, seam)
        learn(k, talks)
        ratify(k, talks, detail, seam)
        agreed[full] = settle(k, talks, t)
        if detail:
            k.last_talks = (t, talks)
        for g in (0, 1):
            u_nd[g][full], wcost[g][full] = talks.u_nd[g], talks.a.wcost[g]
    if len(bare):
        heard = _barren_round(k, j[bare])
        for g in (0, 1):
            u_nd[g][bare], wcost[g][bare] = heard[0][g], heard[1][g]
    return talks, (u_nd, wcost)


def _barren_round(k: Kernel, j: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The settlement round of barren runs ``j`` (no package passes both governments' filters: :attr:`Kernel.barren`),
    reduced to what outlasts the month. Its proposal cannot settle (no package passes both filters, so no
    proposal passes both governments) and no answer tells anything of a side's type (:func:`learn` reads only
    offers both sides' filters pass): what remains is the proposer and the counts of proposals, the lead, and
    the mediator's report heard. Returns what :func:`_rounds` returns of these runs."""
    c, s = k.c, k.s
    q, sj = rows_of(k.p, j), s.rows(j)
    a = assess(c, q, sj, gain=False, full=k.full, ways=False, kept=(k.pools, j, k.barren))
    who = rules.proposer(sj.round_month, (sj.talks_rounds + 1) % 2, a.has_lead)
    u_nd = [a.u_nd[0].copy(), a.u_nd[1].copy()]
    _hear_mediator(k, j, q, sj, a, who, ([a.v[0].copy(), a.v[1].copy()], [a.v_types[0].copy(), a.v_types[1].copy()],
                                         u_nd))
    s.proposals[j] += 1
    np.add.at(s.offers, (j, who), 1)
    s.lead[j] = a.lead
    return u_nd, a.wcost


def partial_deals(k: Kernel, j: np.ndarray, d: dict[str, np.ndarray], t: int, entry: MonthEntry | None) -> None:
    """Runs in talks: each partial deal that both sides gain from is agreed with its monthly chance; one in force
    that repeats (an exchange of prisoners) happens again with that chance. Each agreement counts."""
    c, p, s = k.c, k.p, k.s
    D = len(c.partial_deals)
    if not D:
        return
    value = _rows(p["pd_value"], j)
    agree = (value[..., 0] >= 0.0) & (value[..., 1] >= 0.0) & (d["partial"][j, :D] < _rows(p["pd_rate"], j))
    inforce = gather(s.partial, j)
    new = agree & ~inforce
    count = last_sum(new.astype(np.int64)) + last_sum((agree & inforce & c.partial_repeats).astype(np.int64))
    s.partial[j] = inforce | new
    s.partial_deals[j] += count
    done = count > 0
    s.first_partial_month[j[done]] = np.where(s.first_partial_month[j[done]] < 0, t, s.first_partial_month[j[done]])
    s.stage[j[done]] = np.maximum(s.stage[j[done]], PARTIAL)
    if entry is not None and done[0]:
        entry["partial"] = [c.partial_deals[i] for i in np.flatnonzero(agree[0])]


def ceasefire(k: Kernel, j: np.ndarray, t: int, entry: MonthEntry | None,
              known: tuple[list[np.ndarray], list[np.ndarray]] | None = None) -> None:
    """A ceasefire is put to the runs ``j``: each side accepts when its judgement of the round finds that freezing
    today's line is worth at least fighting on (its net gain of fighting is at most its noise). ``known``: per
    government, the utility of what fighting on is expected to bring and its cost, as the month's round of talks
    read them (after hearing the mediator), else worked out here."""
    c, p, s = k.c, k.p, k.s
    q, sj = rows_of(p, j), s.rows(j)
    ok = np.ones(len(j), bool)
    for g in (0, 1):  # the russia side is asked only where the ukraine side accepted
        read = None if known is None else (known[0][g], known[1][g])
        ok &= _net_gain(c, q, g, sj, np.flatnonzero(ok), read) <= q["temperature"] * sj.judgement[:, g]
    done = j[ok]
    s.ceasefire[done] = True
    s.ceasefire_month[done] = np.where(s.ceasefire_month[done] < 0, t, s.ceasefire_month[done])
    s.stage[done] = np.maximum(s.stage[done], CEASEFIRE)
    if entry is not None:
        entry["ceasefire"] = bool(ok[0])


def _net_gain(c: Compiled, q: Params, g: int, s: State, runs: np.ndarray,
              known: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(n,) side g's net gain of fighting on over freezing today's line, worked out for the runs ``runs`` of ``s``
    alone (NaN elsewhere, which no comparison passes); ``known``: (n,) the utility of what fighting on is expected
    to bring and its cost with public pressure, if already read."""
    n = len(s.territory)

    def gain(q: Params, s: State, at: Index) -> Any:
        if known is None:
            return war(c, q, g, s)[3]
        return gain_over_today(c, q, g, s, known[0][at], known[1][at])

    if n and len(runs) == n:  # every run (runs is then 0..n-1): no rows to copy
        return gain(q, s, slice(None))
    out = np.full(n, np.nan)
    if len(runs):
        out[runs] = gain(rows_of(q, runs), s.rows(runs), runs)
    return out


def hold(k: Kernel, d: dict[str, np.ndarray], t: int, entry: MonthEntry | None) -> None:
    """A ceasefire may break down, a settlement relapse into war, a partial deal lapse (each with its hazard)."""
    c, p, s = k.c, k.p, k.s
    lapse(s, p, d)
    cf = np.flatnonzero(s.ceasefire & (s.deal < 0))
    if len(cf):
        q, sj = rows_of(p, cf), s.rows(cf)
        gain = np.maximum(war(c, q, 0, sj)[3], war(c, q, 1, sj)[3])
        chance = rules.hazard_chance(q["cf_hazard"], q["guarantee_active"] * q["guarantee_cf_cut"],
                                     q["cf_gain_slope"], gain)
        broke = cf[d["hold"][cf, 0] < chance]
        s.ceasefire[broke] = False
        s.ceasefire_broken_month[broke] = np.where(s.ceasefire_broken_month[broke] < 0, t,
                                                   s.ceasefire_broken_month[broke])
        if entry is not None and len(broke):
            entry["ceasefire_broken"] = True
    peace = np.flatnonzero((s.deal >= 0) & (s.relapse_month < 0))
    if len(peace):
        # Nothing of the war moves under a settlement (no fighting, no learning), so what fighting again is
        # expected to bring is read once, and again only after an event changed a parameter.
        read = peace[np.isnan(s.peace_gain[peace])]
        if len(read):
            q, sj = rows_of(p, read), s.rows(read)
            s.peace_gain[read] = np.maximum(war(c, q, 0, sj, gain=False)[0] - sj.u_deal[:, 0],
                                            war(c, q, 1, sj, gain=False)[0] - sj.u_deal[:, 1])
        q = rows_of(p, peace)
        chance = rules.hazard_chance(q["relapse_hazard"], q["guarantee_active"] * q["guarantee_cut"],
                                     q["relapse_gain_slope"], s.peace_gain[peace])
        back = peace[d["hold"][peace, 1] < chance]
        s.relapse_month[back] = t
        s.stage[back] = RELAPSE
        if entry is not None and len(back):
            entry["relapse"] = True


def lapse(s: State, p: Params, d: dict[str, np.ndarray]) -> None:
    """Each partial deal in force lapses where its draw falls below its hazard; the draws are made only for the runs
    where it is in force, and not at all for a deal that never lapses (a draw is above a hazard of 0)."""
    for i in range(s.partial.shape[1]):
        hazard = p["pd_lapse"][:, i]
        if (hazard <= 0.0).all():
            continue
        runs = np.flatnonzero(s.partial[:, i])
        if len(runs):
            s.partial[runs, i] = d["lapse"][runs, i] >= _rows(hazard, runs)


def table(k: Kernel, j: np.ndarray, read: Assessment | None = None, detail: bool = False) -> Talks:
    """The month's reading of the talking runs: who proposes, what each public would ratify, what each side asks,
    and what the others reckon each of its types would ask. With ``detail`` (a logged or played month, which reads
    barren runs in full too) every run's pool is read at today's line, none skipped as barren."""
    c, s = k.c, k.s
    q, sj = rows_of(k.p, j), s.rows(j)
    kept = (k.pools, j, None if detail else k.barren)
    a = assess(c, q, sj, gain=False, full=k.full, ways=False, kept=kept) if read is None else read
    bars = _bars(k, j)
    log_rat, margins = ratification(q, a.ub, a.u_nd, a.cost, a.legit, sj.weariness, bars)
    who = rules.proposer(sj.round_month, (sj.talks_rounds + 1) % 2, a.has_lead)
    talks = Talks(j=j, q=q, a=a, who=who, log_rat=log_rat, margins=margins, votes=[votes_of(q, g) for g in (0, 1)],
                  need=[a.v[0].copy(), a.v[1].copy()], need_types=[a.v_types[0].copy(), a.v_types[1].copy()],
                  before=sj.drift, bars=bars)
    talks.u_nd = [a.u_nd[0].copy(), a.u_nd[1].copy()]
    _hear_mediator(k, j, q, sj, a, who, (talks.need, talks.need_types, talks.u_nd))
    govs = np.flatnonzero(who != MEDIATOR)  # a government's offer is judged against alternating-offers demands
    if len(govs):
        _demands(k, talks, govs)
    return talks


def _hear_mediator(k: Kernel, j: np.ndarray, q: Params, sj: State, a: Assessment, who: np.ndarray,
                   out: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]) -> None:
    """Where the mediator proposes (``who``), the sides of runs ``j`` read its proposal with its credible report of
    the war (Kydd): each one's belief of the pace moves, and stays moved; what each asks, what the others reckon
    each of its types would ask and what it expects of fighting on move with it (written into ``out``: per
    government, (n,), (n, N) and (n,) arrays). Each side also hears what the mediator knows of the other's
    resolve, as far as it believes it."""
    med = np.flatnonzero(who == MEDIATOR)
    if not len(med):
        return
    c, s = k.c, k.s
    need, need_types, u_nd = out
    qm, sm = rows_of(q, med), sj.rows(med)
    for g in (0, 1):
        heard, need[g][med], need_types[g][med], u_nd[g][med] = hear(c, qm, g, a.cred[g][med], sm,
                                                                     wcost=a.wcost[g][med])
        s.drift[j[med], g] = heard  # a belief moved by a credible mediator stays moved
        h = 1 - g
        truth = np.eye(c.type_values.shape[1])[sm.kind[:, h]]
        set_side(s.belief, j[med], h, rules.hear_type(sm.belief[:, h], truth, a.cred[g][med]))


def _demands(k: Kernel, talks: Talks, govs: np.ndarray) -> None:
    """Alternating-offers demands of the runs ``govs`` where a government proposes.

    The proposer computes them with its own value of war and what it expects of the other's; the other side's
    demand is its value of war plus the premium that patience gives it, and the others reckon each of its
    types' demand the same way (type's value plus that premium).
    """
    a, who = talks.a, talks.who[govs]
    ok = gather(a.both, govs).copy()  # a continuation offer must be one the voting publics are expected to ratify
    for g in (0, 1):
        ok &= ~_rows(talks.votes[g], govs)[:, None] | (gather(talks.margins[g], govs) >= 0.0)
    v_eff = [np.where(who == g, a.v[g][govs], a.v_bar[g][govs]) for g in (0, 1)]
    dem = _demands_of(talks, govs, ok, v_eff)
    for g in (0, 1):
        mine = who == g
        premium = dem[g] - v_eff[g]  # what patience adds to a responder's value of war
        talks.need[g][govs] = np.where(mine, dem[g], a.v[g][govs] + premium)
        talks.need_types[g][govs] = gather(a.v_types[g], govs) + premium[:, None]


def _demands_of(talks: Talks, govs: np.ndarray, ok: np.ndarray, v_eff: list[np.ndarray]) -> list[np.ndarray]:
    """Both sides' demands of :func:`rules.demands` in the runs ``govs`` (``ok``: their packages an offer can be).

    A searched space's pool: a run with no such package (most runs that talk on in agenda_2025) has demands
    that no column's utilities enter (no package is a candidate, an offer or a best reply: the same numbers
    over any columns), so those runs are read over one column, the others over all of them."""
    a, q = talks.a, talks.q
    some = ok.any(axis=1)
    every, one = slice(None), slice(0, 1)
    parts = [(np.arange(len(govs)), every)] if a.pool is None or some.all() else \
        [(np.flatnonzero(some), every), (np.flatnonzero(~some), one)]
    out = [np.zeros(len(govs)), np.zeros(len(govs))]
    for part, cols in parts:
        if not len(part):
            continue
        rows = govs[part]
        qg = rows_of(q, rows)
        dem = rules.demands(gather(a.ub[0], rows)[:, cols], gather(a.ub[1], rows)[:, cols], v_eff[0][part],
                            v_eff[1][part], qg["discount"][:, 0], qg["discount"][:, 1], qg["breakdown"],
                            ok[part][:, cols])
        for g in (0, 1):
            out[g][part] = dem[g]
    return out


def propose(k: Kernel, talks: Talks) -> None:
    """The proposer's package: the mediator's, or a government's best expected gain, both under private
    information: the chance that each side accepts is its expected acceptance over its types, as the others
    believe them (the risk-return trade-off of Fearon 1995)."""
    a, who, temp, s = talks.a, talks.who, talks.q["temperature"], k.s
    talks.x = np.zeros(len(talks.j), np.int64)
    talks.zone = np.zeros(len(talks.j), bool)
    if a.pool is not None:
        _propose_searched(k, talks)
        return
    talks.likes = [np.full((s.belief.shape[2], len(who)), np.nan) for _g in (0, 1)]
    med = np.flatnonzero(who == MEDIATOR)
    if len(med):
        qm = rows_of(talks.q, med)
        ub, types = [gather(a.ub[g], med) for g in (0, 1)], [gather(talks.need_types[g], med) for g in (0, 1)]
        belief = gather(s.belief, talks.j[med])
        w0, w1 = rules.nash_weights(a.bias[med], qm["discount"][:, 0], qm["discount"][:, 1])
        n_bar = [rules.expect(belief[:, g], types[g]) for g in (0, 1)]
        phi: list[list[np.ndarray]] = [[], []]
        chance = gather(talks.log_rat, med) + sum(
            np.log(np.maximum(rules.expected_acceptance(ub[g], types[g], belief[:, g], _rows(temp, med), phi[g]),
                              rules.TINY)) for g in (0, 1))
        talks.x[med], talks.zone[med] = rules.mediator_proposal(ub[0], ub[1], n_bar[0], n_bar[1], w0, w1, chance,
                                                                gather(a.both, med),
                                                                either=gather(a.allowed[0] | a.allowed[1], med))
        for g in (0, 1):
            _keep_likes(talks, g, med, phi[g])
    for g in (0, 1):
        mine = np.flatnonzero(who == g)
        if len(mine):
            h = 1 - g
            phi_h: list[np.ndarray] = []
            p_other = rules.expected_acceptance(gather(a.ub[h], mine), gather(talks.need_types[h], mine),
                                                side(s.belief, talks.j[mine], h), _rows(temp, mine), phi_h)
            talks.x[mine] = rules.government_proposal(gather(a.ub[g], mine), p_other, talks.need[g][mine],
                                                      gather(talks.log_rat, mine), gather(a.both, mine),
                                                      own=gather(a.allowed[g], mine))[0]
            _keep_likes(talks, h, mine, phi_h)


def _keep_likes(talks: Talks, g: int, rows: np.ndarray, phi: list[np.ndarray]) -> None:
    """Keep, for rows ``rows`` of the talks, the chance that each type of government g accepts the proposal, from
    ``phi`` (per type, (n, C): of every column, as :func:`rules.expected_acceptance` worked them out): what
    :func:`learn` reads (the same numbers as :func:`rules.type_likelihood` of the proposal)."""
    assert talks.likes is not None
    x = talks.x[rows]
    for k, per_column in enumerate(phi):
        talks.likes[g][k, rows] = _at(per_column, x)


def _chances(k: Kernel, talks: Talks, sub: np.ndarray) -> search.Chances:
    """What the chance that runs ``sub`` of the talks accept and ratify a package depends on (:func:`propose`)."""
    a, q, n = talks.a, rows_of(talks.q, sub), len(sub)
    sj = k.s.rows(talks.j[sub])

    def per_gov(f: Any) -> np.ndarray:
        return np.stack([np.broadcast_to(f(g), (n,)) for g in (0, 1)])

    return search.Chances(
        need_types=np.stack([gather(talks.need_types[g], sub) for g in (0, 1)]),
        belief=np.stack([sj.belief[:, g] for g in (0, 1)]),
        temperature=np.broadcast_to(q["temperature"], (n,)),
        u_nd=per_gov(lambda g: a.u_nd[g][sub]), cost=per_gov(lambda g: a.cost[g][sub]),
        weariness=per_gov(lambda g: sj.weariness[:, g]), threshold=per_gov(lambda g: q["ratify_threshold"][:, g]),
        weariness_effect=per_gov(lambda g: q["ratify_weariness"][:, g]), legitimacy=per_gov(lambda g: a.legit[g][sub]),
        spread=per_gov(lambda g: q["ratify_spread"][:, g]), votes=per_gov(lambda g: votes_of(q, g)))


def _propose_searched(k: Kernel, talks: Talks) -> None:
    """A searched space: each proposer's objective (the mediator's Nash product times the chances, a government's
    expected gain) maximised over the whole space by :func:`sim.engine.search.search`, not over the pool; the
    package found becomes the pool's last column. Where no package passes both sides' filters, the pool's first
    package stands (both reject it, as over an enumerated space): the search is not called there (it finds
    nothing in such a run, and reads each run apart)."""
    a, who = talks.a, talks.who
    assert a.pool is not None
    found = a.pool.column(0)
    guarantee = talks.q["guarantee_active"] * talks.q["guarantee_value"]  # as assess adds it to the side-payment
    offset = np.stack([np.broadcast_to(a.lev[g] + guarantee[:, g], (len(who),)) for g in (0, 1)])
    feasible = a.pool.feasible()
    for proposer in (MEDIATOR, 0, 1):
        sub = np.flatnonzero((who == proposer) & feasible)
        if not len(sub):
            continue
        space = a.pool.space(sub, offset[:, sub])
        chances = _chances(k, talks, sub)
        if proposer == MEDIATOR:
            qm = rows_of(talks.q, sub)
            w = rules.nash_weights(a.bias[sub], qm["discount"][:, 0], qm["discount"][:, 1])
            n_bar = [rules.expect(chances.belief[g], chances.need_types[g]) for g in (0, 1)]
            objective = search.mediator_objective(chances, np.stack(n_bar), np.stack(np.broadcast_arrays(*w)))
        else:
            objective = search.government_objective(chances, proposer, talks.need[proposer][sub])
        best = search.search(space, objective, tangents=TANGENTS, starts=STARTS,
                             supported=a.pool.frontier(sub),
                             known=np.stack([a.ub[g][sub, :pools.DIVISIONS + 1] for g in (0, 1)]))
        ok = best.x[:, 0] >= 0
        found[sub[ok]] = best.x[ok]
        if proposer == MEDIATOR:
            talks.zone[sub] = ok & (best.tier == 1)
    _add_column(talks, found[:, None, :], offset, gather(k.s.weariness, talks.j))
    talks.x[:] = a.pool.width() - 1


def _add_column(talks: Talks, x: np.ndarray, offset: np.ndarray, weariness: np.ndarray) -> None:
    """Add packages ``x`` (n, 1, G) to the pool as its last column, with everything read over the columns."""
    a = talks.a
    assert a.pool is not None
    a.pool.add(x)
    u, allowed = a.pool.utilities(x), a.pool.allows(x)
    ub = [u[g] + offset[g][:, None] for g in (0, 1)]
    log_rat, margins = ratification(talks.q, ub, a.u_nd, a.cost, a.legit, weariness, talks.bars)
    for g in (0, 1):
        a.u[g] = np.concatenate([a.u[g], u[g]], axis=1)
        a.ub[g] = np.concatenate([a.ub[g], ub[g]], axis=1)
        a.allowed[g] = np.concatenate([a.allowed[g], allowed[g]], axis=1)
        talks.margins[g] = np.concatenate([talks.margins[g], margins[g]], axis=1)
    a.both = a.allowed[0] & a.allowed[1]
    talks.log_rat = np.concatenate([talks.log_rat, log_rat], axis=1)


def _at(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Package ``x[i]`` (a column) of row i of ``a`` (n, C): (n,), taken from the flat array (the same values as
    ``a[np.arange(n), x]``, a few times faster)."""
    if a.ndim != 2 or not a.flags.c_contiguous:
        return a[np.arange(len(x)), x]
    at = np.arange(0, a.size, a.shape[1])
    at += x
    return a.reshape(-1).take(at)


def answer(k: Kernel, talks: Talks, detail: bool, seam: Seam | None) -> None:
    """Each government accepts or rejects the proposal with its judgement of the round (its own: it accepts)."""
    a, x, temp = talks.a, talks.x, talks.q["temperature"]
    for g in (0, 1):
        u_x, ok_x = _at(a.ub[g], x), _at(a.allowed[g], x)
        # the proposer signs its own offer when it is worth its demand (or a person made it); an offer below its
        # demand is its best package stated for the record, and one its own red lines or minimum terms forbid
        # (the stand-in where no package is allowed to it) is not one it would sign either
        own = (talks.who == g) & ok_x & ((u_x >= talks.need[g]) | talks.played["proposal"])
        ok = rules.accepts(u_x, talks.need[g], temp * k.s.judgement[talks.j, g], ok_x, own=own)
        if detail:  # the chance as the others saw it: over the types they believe g may be
            seen = rules.expected_acceptance(u_x[:, None], talks.need_types[g], k.s.belief[talks.j, g],
                                             temp * np.ones(len(x)))[:, 0]
            prob = np.where(own, 1.0, seen * ok_x)
        else:
            prob = ok
        talks.answers.append((prob, ok))
    if seam is not None:
        for g in (0, 1):
            if talks.who[0] == g:  # the proposer accepts its own offer, a person's or the model's
                continue
            move = seam.answer(k, talks, g)
            if move is not None:
                talks.answers[g][1][0], talks.played["answers"][g] = bool(move), True


def learn(k: Kernel, talks: Talks) -> None:
    """Each answer is evidence of the answering side's type: the others' belief over it follows Bayes' rule
    (a rejection shifts it toward the types that ask more; Fearon 1995, Powell 2004)."""
    s, a, x = k.s, talks.a, talks.x
    temp = talks.q["temperature"]
    for g in (0, 1):
        # its own offer, or one its red lines forbid, tells nothing: the belief moves only where g was asked; nor
        # does an offer the other side's red lines or minimum terms forbid (made only where no package is allowed
        # to both: it fails whatever g answers, and which package stands in depends on the block's columns)
        asked = np.flatnonzero((talks.who != g) & _at(a.allowed[g], x) & _at(a.both, x))
        if not len(asked):
            continue
        if talks.likes is not None and not talks.played["proposal"]:  # as the proposer worked it out
            like = np.ascontiguousarray(talks.likes[g][:, asked].T)
        else:
            like = rules.type_likelihood(a.ub[g][asked, x[asked]], gather(talks.need_types[g], asked),
                                         _rows(np.broadcast_to(temp, len(x)), asked))
        runs = talks.j[asked]
        set_side(s.belief, runs, g, rules.update_type_belief(side(s.belief, runs, g), k.prior, like,
                                                             talks.answers[g][1][asked]))


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


def settle(k: Kernel, talks: Talks, t: int) -> np.ndarray:
    """Count the proposal; a settlement if both governments and every voting public said yes: its terms are
    implemented (the land term moves the line) and the war stops, until it relapses."""
    c, s, a, j, x, q = k.c, k.s, talks.a, talks.j, talks.x, talks.q
    agreed = talks.answers[0][1] & talks.answers[1][1] & talks.ballots[0][1] & talks.ballots[1][1]
    s.proposals[j] += 1
    np.add.at(s.offers, (j, talks.who), 1)
    s.lead[j] = a.lead
    done = j[agreed]
    s.deal[done] = package_numbers(c, a, np.flatnonzero(agreed), x[agreed])
    s.agreement_month[done] = t
    s.u_deal[done] = np.stack([_at(a.u[g], x) for g in (0, 1)], axis=1)[agreed]
    # each stakeholder's satisfaction (records.py): a government's worth (terms and side-payment) less what it asked,
    # a public's margin at the vote
    s.satisfaction[done] = np.stack([_at(a.ub[g], x) - talks.need[g] for g in (0, 1)]
                                    + [_at(talks.margins[g], x) for g in (0, 1)], axis=1)[agreed]
    s.land_km2[done] = rules.land_moved(c.land_share_of(s.deal[done]), s.territory[done], _rows(q["pre2022"], agreed),
                                        _rows(q["claimed"], agreed)) if c.land_issue >= 0 else 0.0
    s.territory[done] -= s.land_km2[done]
    s.ceasefire[done] = False
    s.stage[done] = SETTLEMENT
    return agreed


def package_numbers(c: Compiled, a: Assessment, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The package numbers of columns ``x`` of runs ``rows`` of an assessment (a searched space: of its pools)."""
    if a.pool is None:
        return a.cols[x]
    return pools.packages(c, a.pool.at(rows, x))


# --------------------------------------------------------------------------- the month log (R = 1)


def month_entry(k: Kernel, t: int, a: Assessment) -> MonthEntry:
    """Month t's log entry (run 0) after the fighting: its events, the battlefield, each side's reading of the war
    (``a``). Talks add their part as they happen (:func:`open_talks`, :func:`talks_entry`)."""
    c, s = k.c, k.s
    chance = [(c.path_of(slot), value) for j, (_h, ch) in enumerate(c.hazard_events) if k.new_events[0, j]
              for slot, value in ch]
    believed = [float(s.belief[0, g] @ c.type_values[g]) for g in (0, 1)]
    return {"month": t, "events": [(c.path_of(slot), value) for when, ch in c.events if when == t
                                   for slot, value in ch] + chance,
            "stage": STAGES[int(s.stage[0])], "ceasefire_holds": bool(s.ceasefire[0]),
            "in_force": [c.partial_deals[i] for i in np.flatnonzero(s.partial[0])],
            "levels": {name: float(s.level[0, i]) for i, name in enumerate(c.instruments)},
            "believed_resolve": believed,
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
        "lead": c.mediators[lead] if lead >= 0 else None, "proposer": Proposer(who),
        "package": int(package_numbers(c, a, np.zeros(1, np.int64), np.array([x]))[0]),
        "zone": bool(talks.zone[0]) if med else None,
        "utilities": [float(a.u[g][0, x]) for g in (0, 1)], "leverage": [float(a.lev[g][0]) for g in (0, 1)],
        "side_payments": [float(a.ub[g][0, x] - a.u[g][0, x]) for g in (0, 1)],
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
