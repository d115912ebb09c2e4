"""Scenario -> arrays: the package space, parameter slots, events, outcome classes.

Every number of a scenario becomes a *slot*: a named parameter array and an
index into it. Both engines read parameters as a dict ``name -> array`` whose
leading axis is the run (the vector engine) or absent (one Mesa run). Slots
are addressed by the scenario's key paths (``actors.moscow.resolve``), which
is how events, sweeps and the evidence table find them.

Government axis: index 0 is the ukraine side, 1 the russia side.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.errors import Problem
from sim.scenario import Param, Scenario

# Parameter arrays and their shapes (without the run axis). K issues, M
# mediators, C preconditions, L red lines; 2 governments.
GOV = ("resolve", "cost_sensitivity", "hurt_decay", "hurt_threshold", "belief_a", "belief_b",
       "casualty_mean", "casualty_sd")
PUB = ("has_public", "weariness0", "weariness_rate", "weariness_noise", "hurt_half", "pressure",
       "ratifies", "ratify_threshold", "ratify_spread", "ratify_weariness", "preference_weight")
SCALARS = ("territory0", "change_mean", "change_sd", "kursk0", "kursk_mean", "kursk_sd",
           "ground_scale", "casualty_scale", "ripeness_slope", "breakdown", "temperature",
           "lookahead", "belief_step")


# Allowed range of each parameter array: (low, high, low_open, high_open); None is unbounded.
UNIT, NONNEG, POS = (0.0, 1.0, False, False), (0.0, None, False, False), (0.0, None, True, False)
RANGES: dict[str, tuple[float | None, float | None, bool, bool]] = {
    **dict.fromkeys(("resolve", "weariness0", "weariness_rate", "preference_weight", "preference", "bias",
                     "trust", "ideal", "salience", "nd_position", "breakdown"), UNIT),
    **dict.fromkeys(("cost_sensitivity", "hurt_threshold", "casualty_mean", "casualty_sd", "weariness_noise",
                     "pressure", "ratify_weariness", "leverage", "territory0", "kursk0", "change_sd", "kursk_sd",
                     "ripeness_slope", "lookahead", "belief_step"), NONNEG),
    **dict.fromkeys(("belief_a", "belief_b", "hurt_half", "ratify_spread", "temperature", "ground_scale",
                     "casualty_scale"), POS),
    "hurt_decay": (0.0, 1.0, False, True),
}
# Starting values: read once when a run starts, so only a month-0 event can change them.
STARTING = ("territory0", "kursk0", "belief_a", "belief_b", "weariness0")


def out_of_range(name: str, value: float) -> str | None:
    """Why ``value`` is not allowed for parameter array ``name`` (None if it is)."""
    lo, hi, lo_open, hi_open = RANGES.get(name, (None, None, False, False))
    if (lo is not None and (value < lo or (lo_open and value == lo))) or (
            hi is not None and (value > hi or (hi_open and value == hi))):
        low = "" if lo is None else f"{'>' if lo_open else '>='} {lo:g}"
        high = "" if hi is None else f"{'<' if hi_open else '<='} {hi:g}"
        return f"must be {' and '.join(x for x in (low, high) if x)} (got {value:g})"
    return None


@dataclass(frozen=True)
class Slot:
    """Where one scenario number lives: parameter ``name`` at ``index``."""

    name: str
    index: tuple[int, ...]
    param: Param | None  # None for switches (active flags)
    kind: str = "number"  # "number" or "switch"


@dataclass
class Compiled:
    """A scenario as arrays, ready for the engines."""

    scenario: Scenario
    horizon: int
    issues: list[str]
    options: list[list[str]]
    packages: np.ndarray          # (P, K) positions
    package_options: np.ndarray   # (P, K) option index per issue
    governments: list[str]        # [ukraine side, russia side]
    publics: list[str | None]     # public of each government, or None
    mediators: list[str]
    preconditions: list[tuple[int, str, str, str]]  # (gov, name, variable, op)
    red_line_masks: np.ndarray    # (L, P) True where the package breaks red line l
    red_line_owner: np.ndarray    # (L,) government index
    controls: list[tuple[str, np.ndarray, np.ndarray] | None]  # per issue: (variable, km2, pos)
    outcome_classes: list[tuple[str, np.ndarray]]  # (name, (P,) mask)
    base: dict[str, np.ndarray]
    slots: dict[str, Slot]
    uncertain: list[str]          # slot paths of uncertain parameters, in draw order
    events: list[tuple[int, list[tuple[Slot, float]]]] = field(default_factory=list)

    @property
    def n_packages(self) -> int:
        return int(self.packages.shape[0])

    def term_names(self, package: int) -> dict[str, str]:
        return {k: self.options[i][self.package_options[package, i]] for i, k in enumerate(self.issues)}


def _slot_table(sc: Scenario) -> tuple[dict[str, Slot], dict[str, np.ndarray]]:
    m = sc.model
    issues = list(m.issues)
    gidx = sc.government_index()
    govs = sorted(gidx, key=gidx.get)
    meds = list(sc.actors_of("mediator"))
    K, M = len(issues), len(meds)
    pre = [(g, p) for g in govs for p in m.actors[g].preconditions]
    rls = [(g, r) for g in govs for r in m.actors[g].red_lines]
    base = {n: np.zeros(2) for n in GOV + PUB}
    base |= {n: np.zeros(()) for n in SCALARS}
    base |= {"ideal": np.zeros((2, K)), "salience": np.zeros((2, K)), "preference": np.zeros((2, M)),
             "bias": np.zeros(M), "med_active": np.zeros(M), "trust": np.zeros((M, 2)),
             "leverage": np.zeros((M, 2)), "pre_value": np.zeros(len(pre)),
             "pre_active": np.zeros(len(pre)), "rl_active": np.zeros(len(rls)),
             "nd_position": np.full(K, np.nan)}
    slots: dict[str, Slot] = {}

    def num(path: str, name: str, index: tuple[int, ...], p: Param) -> None:
        slots[path] = Slot(name, index, p)

    def switch(path: str, name: str, index: tuple[int, ...], on: bool) -> None:
        slots[path] = Slot(name, index, None, "switch")
        base[name][index] = float(on)

    bf = m.battlefield
    for path, name, p in (
        ("battlefield.territory_km2", "territory0", bf.territory_km2),
        ("battlefield.monthly_change_km2.mean", "change_mean", bf.monthly_change_km2.mean),
        ("battlefield.monthly_change_km2.sd", "change_sd", bf.monthly_change_km2.sd),
        ("battlefield.kursk_held_km2", "kursk0", bf.kursk_held_km2),
        ("battlefield.kursk_recapture_km2.mean", "kursk_mean", bf.kursk_recapture_km2.mean),
        ("battlefield.kursk_recapture_km2.sd", "kursk_sd", bf.kursk_recapture_km2.sd),
        ("battlefield.ground_scale_km2", "ground_scale", bf.ground_scale_km2),
        ("battlefield.casualty_scale", "casualty_scale", bf.casualty_scale),
        ("negotiation.ripeness_slope", "ripeness_slope", m.negotiation.ripeness_slope),
        ("negotiation.breakdown", "breakdown", m.negotiation.breakdown),
        ("negotiation.temperature", "temperature", m.negotiation.temperature),
        ("negotiation.lookahead_months", "lookahead", m.negotiation.lookahead_months),
        ("negotiation.belief_step_km2", "belief_step", m.negotiation.belief_step_km2),
    ):
        num(path, name, (), p)
    for k, (iname, issue) in enumerate(m.issues.items()):
        if issue.no_deal.position is not None:
            num(f"issues.{iname}.no_deal.position", "nd_position", (k,), issue.no_deal.position)
    ci = 0
    for g in govs:
        a, i, pa = m.actors[g], gidx[g], f"actors.{g}"
        for key in ("resolve", "cost_sensitivity", "hurt_decay", "hurt_threshold"):
            num(f"{pa}.{key}", key, (i,), getattr(a, key))
        num(f"{pa}.belief.a", "belief_a", (i,), a.belief.a)
        num(f"{pa}.belief.b", "belief_b", (i,), a.belief.b)
        num(f"{pa}.casualties.mean", "casualty_mean", (i,), a.casualties.mean)
        num(f"{pa}.casualties.sd", "casualty_sd", (i,), a.casualties.sd)
        for k, iname in enumerate(issues):
            num(f"{pa}.ideal.{iname}", "ideal", (i, k), a.ideal[iname])
            num(f"{pa}.salience.{iname}", "salience", (i, k), a.salience[iname])
        for j, p in enumerate(a.preconditions):
            for alias in (f"{pa}.preconditions[{j}]", f"{pa}.preconditions.{p.name}"):
                num(f"{alias}.value", "pre_value", (ci,), p.value)
                switch(f"{alias}.active", "pre_active", (ci,), p.active)
            ci += 1
    for li, (g, r) in enumerate(rls):
        j = m.actors[g].red_lines.index(r)
        switch(f"actors.{g}.red_lines[{j}].active", "rl_active", (li,), r.active)
    for pname, pub in sc.actors_of("public").items():
        i, pa = gidx[pub.government], f"actors.{pname}"
        base["has_public"][i] = 1.0
        switch(f"{pa}.ratifies", "ratifies", (i,), pub.ratifies)
        for key, name in (("weariness", "weariness0"), ("weariness_rate", "weariness_rate"),
                          ("weariness_noise", "weariness_noise"), ("hurt_half", "hurt_half"),
                          ("pressure", "pressure"), ("preference_weight", "preference_weight")):
            num(f"{pa}.{key}", name, (i,), getattr(pub, key))
        num(f"{pa}.ratification.threshold", "ratify_threshold", (i,), pub.ratification.threshold)
        num(f"{pa}.ratification.spread", "ratify_spread", (i,), pub.ratification.spread)
        num(f"{pa}.ratification.weariness_effect", "ratify_weariness", (i,), pub.ratification.weariness_effect)
        for mi, med in enumerate(meds):
            if med in pub.mediator_preference:
                num(f"{pa}.mediator_preference.{med}", "preference", (i, mi), pub.mediator_preference[med])
    for i in range(2):  # a government without a public: nothing to ratify, no pressure
        if base["has_public"][i] == 0.0:
            base["ratify_spread"][i] = 1.0
            base["hurt_half"][i] = 1.0
    for mi, mname in enumerate(meds):
        med, pa = m.actors[mname], f"actors.{mname}"
        num(f"{pa}.bias", "bias", (mi,), med.bias)
        switch(f"{pa}.active", "med_active", (mi,), med.active)
        for g in govs:
            num(f"{pa}.trust.{g}", "trust", (mi, gidx[g]), med.trust[g])
            num(f"{pa}.leverage.{g}", "leverage", (mi, gidx[g]), med.leverage[g])
    for s in slots.values():
        if s.param is not None and not s.param.uncertain:
            base[s.name][s.index] = s.param.value
    return slots, base


def parameter_slots(sc: Scenario) -> dict[str, Slot]:
    """Every addressable parameter of a scenario: key path -> slot."""
    return _slot_table(sc)[0]


def _matching(combos: np.ndarray, issues: list[str], options: list[list[str]],
              match: dict[str, str | list[str]]) -> np.ndarray:
    """Packages (rows of option indices) whose terms match ``{issue: option(s)}`` on every issue named."""
    hit = np.ones(len(combos), bool)
    for issue, chosen in match.items():
        k = issues.index(issue)
        hit &= np.isin(combos[:, k], [options[k].index(o) for o in ([chosen] if isinstance(chosen, str) else chosen)])
    return hit


def package_space(m: Any) -> tuple[list[str], list[list[str]], np.ndarray]:
    """(issues, options per issue, packages as rows of option indices): the product less exclusions."""
    issues = list(m.issues)
    options = [list(m.issues[k].options) for k in issues]
    combos = np.array(list(itertools.product(*[range(len(o)) for o in options])), dtype=np.int64)
    keep = np.ones(len(combos), bool)
    for ex in m.exclude:
        keep &= ~_matching(combos, issues, options, ex.match)
    return issues, options, combos[keep]


def compile_scenario(sc: Scenario, overrides: dict[str, float] | None = None) -> Compiled:
    """Turn a validated scenario into arrays. ``overrides`` fixes slots to values (sweeps)."""
    m = sc.model
    slots, base = _slot_table(sc)
    for path, value in (overrides or {}).items():
        target = slots[path]
        base[target.name][target.index] = value
        for alias, s in list(slots.items()):  # a precondition is reachable by index and by name
            if (s.name, s.index) == (target.name, target.index):
                slots[alias] = Slot(s.name, s.index, Param(value=float(value)) if s.param else None, s.kind)
    issues, options, combos = package_space(m)
    positions = [np.array(list(m.issues[k].options.values())) for k in issues]
    packages = np.stack([positions[k][combos[:, k]] for k in range(len(issues))], axis=1)
    gidx = sc.government_index()
    govs = sorted(gidx, key=gidx.get)
    pubs_by_gov = {p.government: name for name, p in sc.actors_of("public").items()}
    masks, owners, pre = [], [], []
    for g in govs:
        for r in m.actors[g].red_lines:
            masks.append(_matching(combos, issues, options, {r.issue: r.forbid}))
            owners.append(gidx[g])
        pre += [(gidx[g], p.name, p.variable, p.op) for p in m.actors[g].preconditions]
    controls = []
    for k in issues:
        nd = m.issues[k].no_deal
        if nd.control is None:
            controls.append(None)
        else:
            pts = sorted(nd.control)
            controls.append((nd.variable, np.array([p[0] for p in pts]), np.array([p[1] for p in pts])))
    classes = []
    for oc in m.outcome_classes:
        classes.append((oc.name, _matching(combos, issues, options, oc.when)))
    events = []
    for ev in sorted(m.events, key=lambda e: e.month):
        events.append((ev.month, [(slots[p], float(v)) for p, v in ev.set.items()]))
    return Compiled(
        scenario=sc, horizon=m.horizon_months, issues=issues, options=options,
        packages=packages, package_options=combos, governments=govs,
        publics=[pubs_by_gov.get(g) for g in govs], mediators=list(sc.actors_of("mediator")),
        preconditions=pre,
        red_line_masks=np.array(masks, bool).reshape(len(masks), len(combos)),
        red_line_owner=np.array(owners, dtype=np.int64), controls=controls,
        outcome_classes=classes, base=base, slots=slots,
        uncertain=sorted({_canonical(slots, p) for p, s in slots.items() if s.param is not None and s.param.uncertain}),
        events=events,
    )


def _canonical(slots: dict[str, Slot], path: str) -> str:
    """The first path naming a slot's location (precondition aliases share one draw)."""
    target = slots[path]
    return next(p for p, s in slots.items() if (s.name, s.index) == (target.name, target.index))


def check_event_paths(sc: Scenario) -> list[Problem]:
    """Each event's `set:` keys must name a parameter slot, switches take true/false."""
    import difflib

    slots, _ = _slot_table(sc)
    out = []
    for i, ev in enumerate(sc.model.events):
        if ev.month > sc.model.horizon_months:
            out.append(sc.problem(("events", i, "month"), f"is after the horizon of {sc.model.horizon_months} months (got {ev.month})"))
        for path, value in ev.set.items():
            loc = ("events", i, "set", path)
            if path not in slots:
                near = difflib.get_close_matches(path, list(slots), n=3)
                hint = f"; nearest: {', '.join(near)}" if near else ""
                out.append(sc.problem(loc, f"unknown parameter path{hint}"))
            elif (slots[path].kind == "switch") != isinstance(value, bool):
                want = "true or false" if slots[path].kind == "switch" else "a number"
                out.append(sc.problem(loc, f"expected {want} (got {value!r})"))
            elif slots[path].kind == "number" and (why := out_of_range(slots[path].name, value)):
                out.append(sc.problem(loc, why))
            elif slots[path].name in STARTING and ev.month > 0:
                out.append(sc.problem(loc, f"is a starting value, read when the run starts: only a month-0 event can set it (got month {ev.month})"))
    return out
