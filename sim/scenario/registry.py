"""The parameter registry: every addressable number of a scenario, in one place.

A scenario number lives in a *slot*: a named parameter array and an index
into it, reached by its key path (``actors.moscow.resolve``). This module is
the one statement of each array's allowed range and of the path -> slot
table. The schema (:mod:`sim.scenario.models`) builds its field validators from
:data:`RANGES`; compile, timed events, sweeps and overrides all check paths
and values with :func:`check_value`. It also owns the package space and term
matching, which validation and compile share.

This module imports nothing of negsim but the error types and the defaults, so the schema can
use it without an import circle.

Government axis: index 0 is the ukraine side, 1 the russia side.
"""

from __future__ import annotations

import difflib
import itertools
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.defaults import MAX_PACKAGES
from sim.errors import UsageError

if TYPE_CHECKING:  # types only: sim.scenario.models imports this module
    from sim.scenario.models import Public, Scenario

# Parameter arrays and their shapes (without the run axis). K issues, M
# mediators, C preconditions, L red lines; 2 governments.
GOV = ("resolve", "cost_sensitivity", "hurt_decay", "hurt_threshold", "drift_mean", "drift_sd",
       "casualty_mean", "casualty_sd", "discount")
PUB = ("has_public", "weariness0", "weariness_rate", "weariness_noise", "pressure",
       "ratifies", "ratify_threshold", "ratify_spread", "ratify_weariness", "preference_weight", "legitimacy")
SCALARS = ("territory0", "pre2022", "claimed", "change_mean", "change_sd", "kursk0", "kursk_mean", "kursk_sd",
           "ground_scale", "casualty_scale", "war_months", "ripeness_slope", "breakdown", "temperature",
           "lookahead", "pace_shift_sd", "cf_active", "cf_first", "cf_casualty", "cf_hazard", "cf_gain_slope",
           "relapse_hazard", "relapse_gain_slope", "guarantee_active", "guarantee_cut", "guarantee_cf_cut")

# Allowed range of each parameter array: (low, high, low_open, high_open); None is unbounded.
UNIT, NONNEG, POS, ANY = (0.0, 1.0, False, False), (0.0, None, False, False), (0.0, None, True, False), \
    (None, None, False, False)
RANGES: dict[str, tuple[float | None, float | None, bool, bool]] = {
    **dict.fromkeys(("resolve", "weariness0", "preference_weight", "preference", "bias",
                     "trust", "ideal", "salience", "nd_position", "breakdown", "discount", "pull", "cf_casualty",
                     "cf_hazard", "relapse_hazard", "guarantee_cut", "guarantee_cf_cut", "pd_rate", "pd_lapse",
                     "pd_cut", "pd_trust"), UNIT),
    **dict.fromkeys(("cost_sensitivity", "hurt_threshold", "casualty_mean", "casualty_sd", "weariness_noise",
                     "pressure", "ratify_weariness", "leverage", "territory0", "kursk0", "change_sd", "kursk_sd",
                     "ripeness_slope", "lookahead", "pre2022", "claimed", "war_months", "legitimacy",
                     "weariness_rate", "pace_shift_sd", "cf_gain_slope", "relapse_gain_slope", "inst_level",
                     "inst_stick"), NONNEG),
    **dict.fromkeys(("drift_sd", "ratify_spread", "temperature", "ground_scale", "casualty_scale"), POS),
    **dict.fromkeys(("drift_mean", "change_mean", "kursk_mean", "ratify_threshold", "pre_value", "minimum",
                     "guarantee_value", "inst_front", "inst_casualties", "inst_cost", "pd_value"), ANY),
    "hurt_decay": (0.0, 1.0, False, True),
}
# The engine draws one random column per partial deal and per event with a monthly chance (sim.engine.shocks).
MAX_PARTIAL_DEALS = 4
MAX_HAZARD_EVENTS = 8
NO_MINIMUM = -2.0  # an issue without a minimum term: below every level a term can take

# Starting values: read once when a run starts, so only a month-0 event can change them.
STARTING = ("territory0", "kursk0", "drift_mean", "drift_sd", "weariness0", "war_months")


def range_text(name: str) -> str:
    """The allowed range of parameter array ``name`` in words ('between 0 and 1')."""
    lo, hi, lo_open, hi_open = RANGES.get(name, ANY)
    if lo is not None and hi is not None:
        return f"between {lo:g} and {hi:g}" + (" (excluding the upper end)" if hi_open else "")
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f"{'<' if hi_open else '<='} {hi:g}"
    return "a finite number"


# No number of a scenario is larger than this in size: beyond it the model's arithmetic (squares, sums over
# months and packages) overflows to inf. The largest meaningful figure, territory in km2, is about 1e6.
MAX_MAGNITUDE = 1e12


def too_large(value: float) -> str | None:
    """Why ``value`` is too large in size for any number of a scenario, or None."""
    if abs(value) > MAX_MAGNITUDE:
        return f"must be at most {MAX_MAGNITUDE:g} in size (got {value:g}): larger numbers overflow the model"
    return None


def out_of_range(name: str, value: float) -> str | None:
    """Why ``value`` is not allowed for parameter array ``name`` (None if it is). NaN and inf never are."""
    if not math.isfinite(value):
        return f"must be a finite number (got {value})"
    if why := too_large(value):
        return why
    lo, hi, lo_open, hi_open = RANGES.get(name, ANY)
    if (lo is not None and (value < lo or (lo_open and value == lo))) or (
            hi is not None and (value > hi or (hi_open and value == hi))):
        return f"must be {range_text(name)} (got {value:g})"
    return None


def bounds(name: str) -> tuple[float, float]:
    """The closed interval a value of parameter array ``name`` is kept in when an action changes it relatively
    (an open end just inside it; no number beyond :data:`MAX_MAGNITUDE` in size)."""
    lo, hi, lo_open, hi_open = RANGES.get(name, ANY)
    low = -MAX_MAGNITUDE if lo is None else (math.nextafter(lo, math.inf) if lo_open else lo)
    high = MAX_MAGNITUDE if hi is None else (math.nextafter(hi, -math.inf) if hi_open else hi)
    return low, high


@dataclass(frozen=True)
class Slot:
    """Where one scenario number lives: parameter ``name`` at ``index``."""

    name: str
    index: tuple[int, ...]
    param: Any  # the scenario's Param; None for switches (active flags)
    kind: str = "number"  # "number" or "switch"


def check_value(slots: dict[str, Slot], path: str, value: Any) -> str | None:
    """Why ``value`` cannot be set at ``path`` (unknown path, wrong type, out of range); None if it can."""
    if path not in slots:
        near = difflib.get_close_matches(path, list(slots), n=3, cutoff=0.5)
        return "unknown parameter path" + (f"; nearest: {', '.join(near)}" if near else "")
    slot = slots[path]
    if slot.kind == "switch":
        return None if isinstance(value, bool) else f"expected true or false (got {value!r})"
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return f"expected a number (got {value!r})"
    return out_of_range(slot.name, float(value))


def slot_table(sc: Scenario) -> tuple[dict[str, Slot], dict[str, np.ndarray]]:
    """Every addressable number of scenario ``sc``: (key path -> slot, base arrays with fixed values set).

    The order of the paths is part of the result (the first path of a slot names it): battlefield and
    negotiation, no-deal positions, each government, red lines, each public, each mediator.
    """
    table = _SlotTable(sc)
    table.scalars()
    table.no_deal_positions()
    for g in table.govs:
        table.government(g)
    table.red_lines()
    table.instruments()
    table.partial_deals()
    for name, pub in sc.publics().items():
        table.public(name, pub)
    for i in range(2):  # a government without a public: nothing to ratify, no pressure
        if table.base["has_public"][i] == 0.0:
            table.base["ratify_spread"][i] = 1.0
    for mi, name in enumerate(table.meds):
        table.mediator(mi, name)
    for slot in table.slots.values():
        if slot.param is not None and not slot.param.uncertain:
            table.base[slot.name][slot.index] = slot.param.value
    return table.slots, table.base


class _SlotTable:
    """The slots of one scenario as they are found, and the base arrays they index."""

    def __init__(self, sc: Scenario):
        self.sc, self.m = sc, sc.model
        self.issues = list(self.m.issues)
        self.gidx = sc.government_index()
        self.govs = sorted(self.gidx, key=lambda g: self.gidx[g])
        self.meds = list(sc.mediators())
        governments = sc.governments()
        K, M = len(self.issues), len(self.meds)
        self.pre = [(g, p) for g in self.govs for p in governments[g].preconditions]
        self.rls = [(g, r) for g in self.govs for r in governments[g].red_lines]
        self.base = {n: np.zeros(2) for n in GOV + PUB}
        self.base |= {n: np.zeros(()) for n in SCALARS}
        self.base |= {"ideal": np.zeros((2, K)), "salience": np.zeros((2, K)), "preference": np.zeros((2, M)),
                      "bias": np.zeros(M), "med_active": np.zeros(M), "trust": np.zeros((M, 2)),
                      "leverage": np.zeros((M, 2)), "pre_value": np.zeros(len(self.pre)),
                      "pre_active": np.zeros(len(self.pre)), "rl_active": np.zeros(len(self.rls)),
                      "nd_position": np.full(K, np.nan), "minimum": np.full((2, K), NO_MINIMUM),
                      "pull": np.zeros(M), "guarantee_value": np.zeros(2)}
        n_inst, n_deals = len(self.m.instruments), len(self.m.partial_deals)
        self.base |= {n: np.zeros(n_inst) for n in ("inst_level", "inst_front", "inst_casualties", "inst_cost",
                                                    "inst_relief", "inst_stick", "inst_stick_active")}
        self.base |= {"pd_rate": np.zeros(n_deals), "pd_lapse": np.zeros(n_deals), "pd_trust": np.zeros(n_deals),
                      "pd_value": np.zeros((n_deals, 2)), "pd_cut": np.zeros((n_deals, 2))}
        self.slots: dict[str, Slot] = {}
        self.ci = 0  # the next precondition's index, over both governments

    def num(self, path: str, name: str, index: tuple[int, ...], p: Any) -> None:
        self.slots[path] = Slot(name, index, p)

    def switch(self, path: str, name: str, index: tuple[int, ...], on: bool) -> None:
        self.slots[path] = Slot(name, index, None, "switch")
        self.base[name][index] = float(on)

    def scalars(self) -> None:
        bf, neg = self.m.battlefield, self.m.negotiation
        for path, name, p in (
            ("battlefield.territory_km2", "territory0", bf.territory_km2),
            ("battlefield.pre2022_km2", "pre2022", bf.pre2022_km2),
            ("battlefield.claimed_km2", "claimed", bf.claimed_km2),
            ("battlefield.monthly_change_km2.mean", "change_mean", bf.monthly_change_km2.mean),
            ("battlefield.monthly_change_km2.sd", "change_sd", bf.monthly_change_km2.sd),
            ("battlefield.kursk_held_km2", "kursk0", bf.kursk_held_km2),
            ("battlefield.kursk_recapture_km2.mean", "kursk_mean", bf.kursk_recapture_km2.mean),
            ("battlefield.kursk_recapture_km2.sd", "kursk_sd", bf.kursk_recapture_km2.sd),
            ("battlefield.ground_scale_km2", "ground_scale", bf.ground_scale_km2),
            ("battlefield.casualty_scale", "casualty_scale", bf.casualty_scale),
            ("battlefield.war_months", "war_months", bf.war_months),
            ("negotiation.ripeness_slope", "ripeness_slope", neg.ripeness_slope),
            ("negotiation.breakdown", "breakdown", neg.breakdown),
            ("negotiation.temperature", "temperature", neg.temperature),
            ("negotiation.lookahead_months", "lookahead", neg.lookahead_months),
            ("battlefield.pace_shift_sd_km2", "pace_shift_sd", bf.pace_shift_sd_km2),
            ("negotiation.ceasefire.casualties", "cf_casualty", neg.ceasefire.casualties),
            ("negotiation.ceasefire.hazard", "cf_hazard", neg.ceasefire.hazard),
            ("negotiation.ceasefire.gain_slope", "cf_gain_slope", neg.ceasefire.gain_slope),
            ("negotiation.relapse.hazard", "relapse_hazard", neg.relapse.hazard),
            ("negotiation.relapse.gain_slope", "relapse_gain_slope", neg.relapse.gain_slope),
            ("negotiation.guarantee.relapse_cut", "guarantee_cut", neg.guarantee.relapse_cut),
            ("negotiation.guarantee.ceasefire_cut", "guarantee_cf_cut", neg.guarantee.ceasefire_cut),
        ):
            self.num(path, name, (), p)
        self.switch("negotiation.ceasefire.active", "cf_active", (), neg.ceasefire.active)
        self.switch("negotiation.ceasefire.first", "cf_first", (), neg.ceasefire.first)
        self.switch("negotiation.guarantee.active", "guarantee_active", (), neg.guarantee.active)
        for g in self.govs:
            if g in neg.guarantee.value:
                self.num(f"negotiation.guarantee.value.{g}", "guarantee_value", (self.gidx[g],),
                         neg.guarantee.value[g])

    def instruments(self) -> None:
        for i, (name, ins) in enumerate(self.m.instruments.items()):
            pa = f"instruments.{name}"
            self.num(f"{pa}.level", "inst_level", (i,), ins.level)
            if ins.kind == "aid":  # each kind has only the knobs that act on the war through it
                self.num(f"{pa}.front_km2", "inst_front", (i,), ins.front_km2)
                self.num(f"{pa}.casualties", "inst_casualties", (i,), ins.casualties)
            else:
                self.num(f"{pa}.cost", "inst_cost", (i,), ins.cost)
                self.switch(f"{pa}.relief_in_deal", "inst_relief", (i,), ins.relief_in_deal)
            if ins.stick is not None:
                self.num(f"{pa}.stick.level", "inst_stick", (i,), ins.stick.level)
                self.switch(f"{pa}.stick.active", "inst_stick_active", (i,), ins.stick.active)

    def partial_deals(self) -> None:
        for d, (name, pd) in enumerate(self.m.partial_deals.items()):
            pa = f"partial_deals.{name}"
            self.num(f"{pa}.rate", "pd_rate", (d,), pd.rate)
            self.num(f"{pa}.lapse", "pd_lapse", (d,), pd.lapse)
            self.num(f"{pa}.breakdown_cut", "pd_trust", (d,), pd.breakdown_cut)
            for g in self.govs:
                if g in pd.value:
                    self.num(f"{pa}.value.{g}", "pd_value", (d, self.gidx[g]), pd.value[g])
                if g in pd.cost_cut:
                    self.num(f"{pa}.cost_cut.{g}", "pd_cut", (d, self.gidx[g]), pd.cost_cut[g])

    def no_deal_positions(self) -> None:
        for k, (iname, issue) in enumerate(self.m.issues.items()):
            if issue.kind == "position" and issue.no_deal is not None and issue.no_deal.position is not None:
                self.num(f"issues.{iname}.no_deal.position", "nd_position", (k,), issue.no_deal.position)

    def government(self, g: str) -> None:
        a, i, pa = self.sc.governments()[g], self.gidx[g], f"actors.{g}"
        for key in ("resolve", "cost_sensitivity", "hurt_decay", "hurt_threshold", "discount"):
            self.num(f"{pa}.{key}", key, (i,), getattr(a, key))
        self.num(f"{pa}.belief.drift_km2", "drift_mean", (i,), a.belief.drift_km2)
        self.num(f"{pa}.belief.sd_km2", "drift_sd", (i,), a.belief.sd_km2)
        self.num(f"{pa}.casualties.mean", "casualty_mean", (i,), a.casualties.mean)
        self.num(f"{pa}.casualties.sd", "casualty_sd", (i,), a.casualties.sd)
        for k, iname in enumerate(self.issues):
            if iname in a.minimum:
                self.num(f"{pa}.minimum.{iname}", "minimum", (i, k), a.minimum[iname])
        for k, iname in enumerate(self.issues):
            end = 1.0 if i == 0 else 0.0  # the side's end of the scale
            if iname in a.ideal:
                self.num(f"{pa}.ideal.{iname}", "ideal", (i, k), a.ideal[iname])
            elif self.m.issues[iname].kind == "land":  # more land is better for its holder
                self.base["ideal"][i, k] = end
            else:  # an ideal left out: the side's end of the scale, still addressable
                self.num(f"{pa}.ideal.{iname}", "ideal", (i, k), _param(end))
            self.num(f"{pa}.salience.{iname}", "salience", (i, k), a.salience[iname])
        for j, p in enumerate(a.preconditions):
            for alias in (f"{pa}.preconditions[{j}]", f"{pa}.preconditions.{p.name}"):
                self.num(f"{alias}.value", "pre_value", (self.ci,), p.value)
                self.switch(f"{alias}.active", "pre_active", (self.ci,), p.active)
            self.ci += 1

    def red_lines(self) -> None:
        governments = self.sc.governments()
        for li, (g, r) in enumerate(self.rls):
            j = governments[g].red_lines.index(r)
            self.switch(f"actors.{g}.red_lines[{j}].active", "rl_active", (li,), r.active)

    def public(self, pname: str, pub: Public) -> None:
        i, pa = self.gidx[pub.government], f"actors.{pname}"
        self.base["has_public"][i] = 1.0
        self.switch(f"{pa}.ratifies", "ratifies", (i,), pub.ratifies)
        for key, name in (("weariness", "weariness0"), ("weariness_rate", "weariness_rate"),
                          ("weariness_noise", "weariness_noise"), ("pressure", "pressure"),
                          ("preference_weight", "preference_weight")):
            self.num(f"{pa}.{key}", name, (i,), getattr(pub, key))
        rat = pub.ratification or DEFAULT_RATIFICATION
        self.num(f"{pa}.ratification.threshold", "ratify_threshold", (i,), rat.threshold)
        self.num(f"{pa}.ratification.spread", "ratify_spread", (i,), rat.spread)
        self.num(f"{pa}.ratification.weariness_effect", "ratify_weariness", (i,), rat.weariness_effect)
        self.num(f"{pa}.ratification.legitimacy", "legitimacy", (i,), rat.legitimacy)
        for mi, med in enumerate(self.meds):
            if med in pub.mediator_preference:
                self.num(f"{pa}.mediator_preference.{med}", "preference", (i, mi), pub.mediator_preference[med])

    def mediator(self, mi: int, mname: str) -> None:
        med, pa = self.sc.mediators()[mname], f"actors.{mname}"
        self.num(f"{pa}.bias", "bias", (mi,), med.bias)
        self.switch(f"{pa}.active", "med_active", (mi,), med.active)
        for g in self.govs:
            self.num(f"{pa}.trust.{g}", "trust", (mi, self.gidx[g]), med.trust[g])
            self.num(f"{pa}.leverage.{g}", "leverage", (mi, self.gidx[g]), med.leverage[g])
        self.num(f"{pa}.pull", "pull", (mi,), med.pull)


@dataclass(frozen=True)
class Default:
    """A number a scenario leaves out, at its default: read as the scenario's Param is (value, uncertain,
    central, describe), without importing sim.scenario.models, which imports this module."""

    value: float
    dist: None = None
    args: tuple = ()
    evidence: None = None
    assumption: None = None

    @property
    def uncertain(self) -> bool:
        return False

    def central(self) -> float:
        return float(self.value)

    def describe(self) -> str:
        return f"{self.value:g}"


def _param(value: float) -> Default:
    return Default(value)


class _Ratification:
    """A vote left out (``ratifies: false``): the bar and spread a switch to ratifies: true would use."""

    @property
    def threshold(self):
        return _param(0.0)

    @property
    def spread(self):
        return _param(0.05)

    @property
    def weariness_effect(self):
        return _param(0.0)

    @property
    def legitimacy(self):
        return _param(0.0)


DEFAULT_RATIFICATION = _Ratification()


def parameter_slots(sc: Scenario) -> dict[str, Slot]:
    """Every addressable parameter of a scenario: key path -> slot."""
    return slot_table(sc)[0]


def matching(combos: np.ndarray, issues: list[str], options: list[list[str]],
             match: dict[str, str | list[str]]) -> np.ndarray:
    """Packages (rows of option indices) whose terms match ``{issue: option(s)}`` on every issue named."""
    hit = np.ones(len(combos), bool)
    for issue, chosen in match.items():
        k = issues.index(issue)
        hit &= np.isin(combos[:, k], [options[k].index(o) for o in ([chosen] if isinstance(chosen, str) else chosen)])
    return hit


def max_packages() -> int:
    """The most packages a scenario may enumerate: NEGSIM_MAX_PACKAGES if set, else the default.

    The engine holds arrays of (runs in a block) x (packages) floats, so the
    package space is bounded before any array is built.
    """
    raw = os.environ.get("NEGSIM_MAX_PACKAGES")
    if raw is None:
        return MAX_PACKAGES
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise UsageError(f"NEGSIM_MAX_PACKAGES must be a whole number >= 1 (got {raw!r})")
    return int(raw)


def package_count(m: Any) -> int:
    """Packages before exclusions: the product of the issues' option counts (no array is built)."""
    return math.prod(len(issue.options) for issue in m.issues.values())


def too_many_packages(m: Any) -> str | None:
    """Why the package space is too large to enumerate (the engine then searches it), or None."""
    count, cap = package_count(m), max_packages()
    if count <= cap:
        return None
    counts = " x ".join(str(len(issue.options)) for issue in m.issues.values())
    return (f"the issues' options make {count:,} packages ({counts}), more than the limit of {cap:,} the engine "
            f"enumerates (NEGSIM_MAX_PACKAGES): the engine searches a space this large, issue by issue, and lists "
            f"none of its packages")


def package_space(m: Any) -> tuple[list[str], list[list[str]], np.ndarray]:
    """(issues, options per issue, packages as rows of option indices): the product less exclusions."""
    if why := too_many_packages(m):
        raise UsageError(why)
    issues = list(m.issues)
    options = [list(m.issues[k].options) for k in issues]
    combos = np.array(list(itertools.product(*[range(len(o)) for o in options])), dtype=np.int64)
    keep = np.ones(len(combos), bool)
    for ex in m.exclude:
        keep &= ~matching(combos, issues, options, ex.match)
    return issues, options, combos[keep]


def linked_positions(m: Any, issues: list[str], combos: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Package positions (N, K) with every issue's ``links`` applied; the input is not changed.

    ``combos`` holds the packages as rows of option indices in the order of ``issues`` and ``positions``
    their positions. For a link of issue k on issue r (``requires``), a package whose option on r has a
    value (position or land share) below that of ``at_least`` counts on k for no more than ``otherwise``: an
    option above it (by value) takes its position, an option at or below it keeps its own (no guarantee stays
    none; an Article-5-like one counts as assurances).
    Links read the packages' own options, not positions another link replaced, so they do not chain; where
    several links of one issue fail, the last in file order decides. Any subset of packages may be given
    (the proposal search evaluates packages it draws): the rule is per package.
    """
    out = np.array(positions, dtype=float, copy=True)
    for k, name in enumerate(issues):
        for link in m.issues[name].links:
            r = issues.index(link.requires)
            values = np.array(list(m.issues[link.requires].options.values()), dtype=float)
            fails = values[combos[:, r]] < m.issues[link.requires].options[link.at_least]
            cap = m.issues[name].options[link.otherwise]
            own = np.array(list(m.issues[name].options.values()), dtype=float)[combos[:, k]]
            out[fails & (own > cap), k] = cap
    return out
