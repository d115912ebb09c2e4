"""Scenario -> arrays: the package space, parameter slots, events, outcome classes.

Every number of a scenario becomes a *slot*: a named parameter array and an
index into it. Both engines read parameters as a dict ``name -> array`` whose
leading axis is the run (the vector engine) or absent (one Mesa run). Slots
are addressed by the scenario's key paths (``actors.moscow.resolve``), which
is how events, sweeps and the evidence table find them.

Government axis: index 0 is the ukraine side, 1 the russia side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.errors import Problem, ScenarioError, UsageError
from sim.scenario.models import Param, Scenario
from sim.scenario.options import OptionSpace, option_space, search_refusal
from sim.scenario.registry import (
    Slot,
    check_value,
    linked_positions,
    matching,
    max_packages,
    package_count,
    package_space,
    slot_table,
)

N_TYPES = 3  # types of each government's resolve that the other side tells apart
TYPE_QUANTILES = (1.0 / 6.0, 0.5, 5.0 / 6.0)  # the types: mid-quantiles of three equally likely thirds


@dataclass(frozen=True)
class Act:
    """An action on the ground, compiled: its parameter changes (slot, ``set``/``add``/``scale``, value), its cost's
    among them, and its shifts of each public's war-weariness (government index, shift)."""

    role: str
    name: str
    label: str
    effect: str
    changes: tuple[tuple[Slot, str, float], ...]
    weariness: tuple[tuple[int, float], ...]
    times: int | None = None


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
    land_issue: int               # column of the land issue, -1 if none
    land_share: np.ndarray        # (P,) share of each package's land term (0 without a land issue)
    outcome_classes: list[tuple[str, np.ndarray]]  # (name, (P,) mask)
    base: dict[str, np.ndarray]
    slots: dict[str, Slot]
    uncertain: list[str]          # slot paths of uncertain parameters, in draw order
    events: list[tuple[int, list[tuple[Slot, float]]]] = field(default_factory=list)
    hazard_events: list[tuple[float, list[tuple[Slot, float]]]] = field(default_factory=list)  # (monthly chance, changes)
    instrument_kinds: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (I,) 0 aid, 1 sanctions
    instruments: list[str] = field(default_factory=list)
    partial_deals: list[str] = field(default_factory=list)
    partial_repeats: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (D,)
    type_values: np.ndarray = field(default_factory=lambda: np.full((2, N_TYPES), 0.5))  # (2, N) resolve of each type
    actions: dict[str, dict[str, Act]] = field(default_factory=dict)  # per role, its actions on the ground
    # A space above the enumeration's limit is searched (docs/model.md, "The proposal search"): ``space`` holds its
    # options issue by issue and the tables above are empty (no package listed); a package is an option vector and
    # its number the vector's mixed-radix index. None: the packages are enumerated.
    space: OptionSpace | None = None
    red_line_options: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), bool))  # (L, K, O) searched
    class_options: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (name, (K, O) option passes) searched

    @property
    def searched(self) -> bool:
        """The proposal search, not the enumeration, finds this scenario's proposals."""
        return self.space is not None

    @property
    def n_packages(self) -> int:
        if self.space is not None:  # the product of the groups' combinations: exclusions taken out
            return math.prod(len(c) for c in self.space.combos)
        return int(self.packages.shape[0])

    def options_of(self, package: Any) -> np.ndarray:
        """The option index of each issue, (..., K), of package numbers ``package``."""
        if self.space is not None:
            return self.space.decode(package)
        return self.package_options[np.asarray(package, np.int64)]

    def land_share_of(self, package: Any) -> np.ndarray:
        """The land share of the land terms of package numbers ``package`` (0 without a land issue)."""
        if self.land_issue < 0:
            return np.zeros(np.shape(package))
        if self.space is not None:
            return self.space.land_share[self.options_of(package)[..., self.land_issue]]
        return self.land_share[np.asarray(package, np.int64)]

    def breaks(self, line: int, package: int) -> bool:
        """Package ``package`` crosses red line ``line``."""
        if self.space is not None:
            x = self.options_of(package)
            return bool(self.red_line_options[line, np.arange(len(x)), x].any())
        return bool(self.red_line_masks[line, package])

    def packages_left(self, lines: np.ndarray) -> int:
        """Packages that cross none of the red lines ``lines`` (a boolean mask over red lines); a searched space's
        are counted group by group."""
        if self.space is not None:
            ok = ~self.red_line_options[lines].any(axis=0)  # (K, O)
            sp = self.space
            return math.prod(int(ok[np.array(g)[:, None], c.T].all(axis=0).sum())
                             for g, c in zip(sp.groups, sp.combos, strict=True))
        return int((~self.red_line_masks[lines].any(axis=0)).sum())

    def class_hits(self, deal: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """(name, (n,) the package matches the class) for each outcome class, of package numbers ``deal``."""
        if self.space is None:
            return [(name, mask[deal]) for name, mask in self.outcome_classes]
        x = self.options_of(deal)
        issues = np.arange(x.shape[-1])
        return [(name, ok[issues, x].all(axis=-1)) for name, ok in self.class_options]

    def path_of(self, slot: Slot) -> str:
        """The key path that names a slot (the first, for a precondition reachable by index and by name)."""
        return next(p for p, s in self.slots.items() if (s.name, s.index) == (slot.name, slot.index))

    def package_index(self, options: list[int]) -> int | None:
        """The package whose option on each issue (in issue order) is ``options``; None if the space excludes it."""
        if self.space is not None:
            x = np.asarray(options, np.int64)
            for j, issues in enumerate(self.space.groups):
                if not (self.space.combos[j] == x[list(issues)]).all(axis=1).any():
                    return None
            return int(self.space.encode(x))
        hits = np.flatnonzero((self.package_options == np.array(options)).all(axis=1))
        return int(hits[0]) if len(hits) else None

    def term_names(self, package: int) -> dict[str, str]:
        x = self.options_of(package)
        return {k: self.options[i][int(x[i])] for i, k in enumerate(self.issues)}


def searched(sc: Scenario) -> bool:
    """A package space above the limit the engine enumerates (:func:`sim.scenario.registry.max_packages`) is
    searched instead (the proposal search of issue 18)."""
    return package_count(sc.model) > max_packages()


def refusal(sc: Scenario) -> list[Problem]:
    """Why the engine cannot compile a valid scenario (empty if it can), each problem at its key: a searched space
    whose package numbers would not fit int64, or whose links and exclusions join too many issues into one.
    Checked before any array is built."""
    if not searched(sc):
        return []
    return [sc.problem(key, why) for key, why in search_refusal(sc.model)]


def compile_scenario(sc: Scenario, overrides: dict[str, float] | None = None) -> Compiled:
    """Turn a validated scenario into arrays. ``overrides`` fixes slots to values (sweeps).

    Raises ScenarioError (FILE:LINE, exit 2 at the command line) for a scenario the engine cannot run
    (:func:`refusal`).
    """
    if problems := refusal(sc):
        raise ScenarioError(problems)
    m = sc.model
    slots, base = slot_table(sc)
    _override(slots, base, overrides or {})
    if searched(sc):
        return _compile_searched(sc, slots, base)
    issues, options, combos = package_space(m)
    positions = [np.array([0.0] * len(m.issues[k].options) if m.issues[k].kind == "land"
                          else list(m.issues[k].options.values())) for k in issues]
    land = [k for k, name in enumerate(issues) if m.issues[name].kind == "land"]
    land_issue = land[0] if land else -1
    land_share = (np.array(list(m.issues[issues[land_issue]].options.values()))[combos[:, land_issue]]
                  if land else np.zeros(len(combos)))
    packages = np.stack([positions[k][combos[:, k]] for k in range(len(issues))], axis=1)
    packages = linked_positions(m, issues, combos, packages)  # a link adjusts positions package by package
    govs = _governments(sc)
    masks, owners, pre = _red_lines(sc, govs, combos, issues, options)
    classes = [(oc.name, matching(combos, issues, options, oc.when)) for oc in m.outcome_classes]
    return Compiled(
        **_common(sc, slots, base, govs), issues=issues, options=options,
        packages=packages, package_options=combos, preconditions=pre,
        red_line_masks=np.array(masks, bool).reshape(len(masks), len(combos)),
        red_line_owner=np.array(owners, dtype=np.int64), land_issue=land_issue, land_share=land_share,
        outcome_classes=classes)


def _governments(sc: Scenario) -> list[str]:
    gidx = sc.government_index()
    return sorted(gidx, key=lambda g: gidx[g])


def _common(sc: Scenario, slots: dict[str, Slot], base: dict[str, np.ndarray], govs: list[str]) -> dict[str, Any]:
    """The fields of :class:`Compiled` that do not depend on how the package space is held."""
    m = sc.model
    pubs_by_gov = {p.government: name for name, p in sc.publics().items()}
    timed = [ev for ev in m.events if ev.month is not None]
    events = [(int(ev.month or 0), [(slots[p], float(v)) for p, v in ev.set.items()])
              for ev in sorted(timed, key=lambda e: int(e.month or 0))]
    hazard_events = [(float(ev.hazard), [(slots[p], float(v)) for p, v in ev.set.items()])
                     for ev in m.events if ev.month is None and ev.hazard is not None]
    return dict(
        scenario=sc, horizon=m.horizon_months, governments=govs,
        publics=[pubs_by_gov.get(g) for g in govs], mediators=list(sc.mediators()),
        controls=_controls(sc, list(m.issues)), base=base, slots=slots, uncertain=uncertain_paths(slots),
        events=events, hazard_events=hazard_events,
        instrument_kinds=np.array([0 if ins.kind == "aid" else 1 for ins in m.instruments.values()], np.int64),
        instruments=list(m.instruments), partial_deals=list(m.partial_deals),
        partial_repeats=np.array([pd.repeats for pd in m.partial_deals.values()], bool),
        type_values=_types(slots, govs), actions=_actions(sc, slots, govs))


def _compile_searched(sc: Scenario, slots: dict[str, Slot], base: dict[str, np.ndarray]) -> Compiled:
    """A space too large to enumerate: its options issue by issue, red lines and outcome classes as option masks."""
    m = sc.model
    issues = list(m.issues)
    options = [list(m.issues[k].options) for k in issues]
    space = option_space(m)
    K, W = space.positions.shape
    land = [k for k, name in enumerate(issues) if m.issues[name].kind == "land"]
    govs = _governments(sc)
    gidx, governments = sc.government_index(), sc.governments()
    lines: list[np.ndarray] = []
    owners: list[int] = []
    pre: list[tuple[int, str, str, str]] = []
    for g in govs:
        for r in governments[g].red_lines:
            mask = np.zeros((K, W), bool)
            mask[issues.index(r.issue), [options[issues.index(r.issue)].index(o) for o in r.forbid]] = True
            lines.append(mask)
            owners.append(gidx[g])
        pre += [(gidx[g], p.name, p.variable, p.op) for p in governments[g].preconditions]
    classes = []
    for oc in m.outcome_classes:
        ok = np.ones((K, W), bool)
        for issue, chosen in oc.when.items():
            k = issues.index(issue)
            ok[k] = False
            ok[k, [options[k].index(o) for o in ([chosen] if isinstance(chosen, str) else chosen)]] = True
        classes.append((oc.name, ok))
    return Compiled(
        **_common(sc, slots, base, govs), issues=issues, options=options,
        packages=np.zeros((0, K)), package_options=np.zeros((0, K), np.int64), preconditions=pre,
        red_line_masks=np.zeros((len(lines), 0), bool), red_line_owner=np.array(owners, dtype=np.int64),
        land_issue=land[0] if land else -1, land_share=np.zeros(0), outcome_classes=[],
        space=space, red_line_options=np.array(lines, bool).reshape(len(lines), K, W), class_options=classes)


def _actions(sc: Scenario, slots: dict[str, Slot], govs: list[str]) -> dict[str, dict[str, Act]]:
    """Each role's actions on the ground, their cost's changes after their own."""
    side = {name: govs.index(p.government) for name, p in sc.publics().items()}
    out: dict[str, dict[str, Act]] = {}
    for role, acts in sc.model.actions.items():
        out[role] = {}
        for name, a in acts.items():
            parts = [a] if a.cost is None else [a, a.cost]
            changes = tuple((slots[path], op, float(v)) for part in parts for op in ("set", "add", "scale")
                            for path, v in getattr(part, op).items())
            shifts = tuple((side[pub], float(v)) for part in parts for pub, v in part.weariness.items())
            out[role][name] = Act(role, name, a.label, a.effect, changes, shifts, a.times)
    return out


def _override(slots: dict[str, Slot], base: dict[str, np.ndarray], overrides: dict[str, float]) -> None:
    """Fix the slots of ``overrides`` (key path -> value) in ``base`` and in ``slots``; UsageError if one is bad."""
    bad = [f"{path}: {why}" for path, value in overrides.items() if (why := check_value(slots, path, value))]
    if bad:
        raise UsageError("bad override: " + "; ".join(bad))
    for path, value in overrides.items():
        target = slots[path]
        base[target.name][target.index] = value
        for alias, s in list(slots.items()):  # a precondition is reachable by index and by name
            if (s.name, s.index) == (target.name, target.index):
                slots[alias] = Slot(s.name, s.index, Param(value=float(value)) if s.param else None, s.kind)


def _red_lines(sc: Scenario, govs: list[str], combos: np.ndarray, issues: list[str], options: list[list[str]]
               ) -> tuple[list[np.ndarray], list[int], list[tuple[int, str, str, str]]]:
    """Each red line's mask of the packages breaking it and its owner; the preconditions (gov, name, variable, op)."""
    gidx, governments = sc.government_index(), sc.governments()
    masks: list[np.ndarray] = []
    owners: list[int] = []
    pre: list[tuple[int, str, str, str]] = []
    for g in govs:
        for r in governments[g].red_lines:
            masks.append(matching(combos, issues, options, {r.issue: r.forbid}))
            owners.append(gidx[g])
        pre += [(gidx[g], p.name, p.variable, p.op) for p in governments[g].preconditions]
    return masks, owners, pre


def _controls(sc: Scenario, issues: list[str]) -> list[tuple[str, np.ndarray, np.ndarray] | None]:
    """Per issue: the no-deal position as a map from control on the ground (variable, km2, position), or None."""
    controls: list[tuple[str, np.ndarray, np.ndarray] | None] = []
    for k in issues:
        nd = sc.model.issues[k].no_deal
        if nd is None or nd.control is None:
            controls.append(None)
        else:
            pts = sorted(nd.control)
            controls.append((nd.variable, np.array([p[0] for p in pts]), np.array([p[1] for p in pts])))
    return controls


def uncertain_paths(slots: dict[str, Slot]) -> list[str]:
    """The key paths of the uncertain parameters, one per slot, in draw order."""
    return sorted({_canonical(slots, p) for p, s in slots.items() if s.param is not None and s.param.uncertain})


def _canonical(slots: dict[str, Slot], path: str) -> str:
    """The first path naming a slot's location (precondition aliases share one draw)."""
    target = slots[path]
    return next(p for p, s in slots.items() if (s.name, s.index) == (target.name, target.index))


def _types(slots: dict[str, Slot], govs: list[str]) -> np.ndarray:
    """(2, N) each government's resolve types as the other side tells them apart: quantiles of its resolve.

    A fixed resolve gives N equal types (the other side knows it); an uncertain one the mid-quantiles of
    its distribution's three equally likely thirds.
    """
    out = np.zeros((2, N_TYPES))
    for i, g in enumerate(govs):
        param = slots[f"actors.{g}.resolve"].param
        out[i] = param.frozen().ppf(TYPE_QUANTILES) if param.uncertain else float(param.value)
    return out
