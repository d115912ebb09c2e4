"""Plausible ranges for sensitivity work: a companion of the registry.

The registry's :data:`~sim.scenario.registry.RANGES` say what a parameter array
*may* hold (a resolve between 0 and 1); a sensitivity screen over those ranges
mostly measures corners where nothing is in doubt (P(agreement) at 0 or 1).
This table says what each parameter *plausibly* is, around the value a
scenario gives it, with the reason in one sentence: the ranges docs/levers.py
screens (Morris, Sobol) and the low and high settings of every lever
(:func:`sim.analysis.levers.default_levers`).

A rule is keyed by parameter-array name (the registry's names) and may be
overridden for one exact key path. Kinds:

* ``rel``: ``value x a .. value x b`` (a parameter known to within a factor);
* ``add``: ``value + a .. value + b`` (a share or a position known to within points);
* ``abs``: ``a .. b`` whatever the value (a judgement with its own plausible span).

Every range is then clipped to the registry's allowed range (and a rule's own
``clip``). An *uncertain* parameter (one the scenario draws per run) takes the
middle half (25th to 75th percentile) of its own distribution: the scenario
already states what it thinks plausible, and fixing it at either tail removes
the averaging the headline does over it. A name without a rule takes :data:`DEFAULT`
(two thirds to one and a half times the value). A range that collapses (a
relative rule around 0) is returned as ``low == high``: the caller leaves
such a parameter out and says why.

This module imports nothing of negsim but the registry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sim.scenario.registry import ANY, RANGES, Slot, out_of_range


@dataclass(frozen=True)
class Rule:
    """A plausible range around a value: ``kind`` rel, add or abs, bounds ``a`` and ``b``, and why."""

    kind: str
    a: float
    b: float
    reason: str
    clip: tuple[float, float] | None = None  # bounds of its own (a probability kept in 0..1)

    def apply(self, value: float) -> tuple[float, float]:
        if self.kind == "rel":
            ends = (value * self.a, value * self.b)
        elif self.kind == "add":
            ends = (value + self.a, value + self.b)
        elif self.kind == "abs":
            ends = (self.a, self.b)
        else:
            raise ValueError(f"unknown kind of plausible range {self.kind!r}")
        low, high = min(ends), max(ends)
        if self.clip is not None:
            low, high = max(low, self.clip[0]), min(high, self.clip[1])
        return low, high


_UNIT = (0.0, 1.0)
DEFAULT = Rule("rel", 0.67, 1.5, "no plausible range is written for this parameter: the default, two thirds to one "
                                 "and a half times its value, says only that it is known to within about half again")

# One rule per parameter array (the registry's names, and names the engine is adding).
RULES: dict[str, Rule] = {
    # Governments.
    "resolve": Rule("rel", 0.8, 1.25, "resolve is a judgement from each side's quoted will to fight on; a fifth "
                                      "either way keeps the order of the two sides the quotes give, short of "
                                      "certainty", (0.05, 0.95)),
    "cost_sensitivity": Rule("rel", 0.8, 1.25, "it is calibrated so two years of fighting at the current pace "
                                               "cost a stated share of the land at stake; a fifth either way is the "
                                               "slack in that calibration's figures (losses, pace)"),
    "hurt_decay": Rule("abs", 0.82, 0.88, "hurt that halves in three and a half to five and a half months without "
                                          "new losses brackets the four months assumed; war-weariness in the polls "
                                          "fades over seasons, not weeks or years"),
    "hurt_threshold": Rule("rel", 0.8, 1.25, "no source gives the hurt that brings a side to talks; it is set near "
                                             "the hurt the side's current losses hold it at, and a fifth either way "
                                             "keeps it there"),
    "discount": Rule("abs", 0.97, 0.99, "monthly patience of 0.97 to 0.99 values a deal a year later at 69% to 89% "
                                        "as much: governments at war plan in budget years, neither much shorter nor "
                                        "near indifference to delay"),
    "drift_mean": Rule("rel", 0.8, 1.25, "each side's expected pace of the front is an assumption of mutual "
                                         "optimism set against the recent pace the source reports (480 km2 a "
                                         "month); a fifth either way keeps each side on its side of that pace"),
    "drift_sd": Rule("rel", 0.67, 1.5, "how sure a side is of its belief is in no source: two thirds to half again the stated "
                                      "spread"),
    "casualty_mean": Rule("rel", 0.8, 1.25, "the source's count (78,329 killed in 33 months, losses up one and a "
                                            "half times on 2023) fixes the monthly rate to within about a fifth, the "
                                            "spread between counts in the public record"),
    "casualty_sd": Rule("rel", 0.67, 1.5, "the month-to-month spread of losses is in no source: two thirds to half again the "
                                         "stated spread"),
    "ideal": Rule("add", -0.15, 0.15, "a side's ideal is read from its quoted position; about a sixth of the scale "
                                      "either way is the widest reading the quotes allow", _UNIT),
    "salience": Rule("rel", 0.8, 1.25, "issue weights are judged from which positions a side repeats; a fifth "
                                       "either way keeps the order of the issues the quotes give", _UNIT),
    "nd_position": Rule("add", -0.15, 0.15, "where no deal leaves an issue is judged (held but unrecognised); "
                                            "about a sixth of the scale either way covers readings leaning to either "
                                            "side", _UNIT),
    "pre_value": Rule("abs", 0.0, 300.0, "Moscow asks for all of Kursk back (0 km2 held); a reading that tolerates a "
                                         "few hundred km2 still held is the loosest the quote allows"),
    # Publics.
    "weariness0": Rule("add", -0.1, 0.1, "polls of war-weariness differ by about ten points with wording and "
                                         "timing (Gallup's 'half want the war to end' against other 2024 polls)",
                       _UNIT),
    "weariness_rate": Rule("rel", 0.67, 1.5, "calibrated to Gallup's rise from about a quarter to a half within a "
                                            "year; two thirds to half again that rate spans slower and faster trends in other "
                                            "polls"),
    "weariness_noise": Rule("abs", 0.0, 0.1, "poll-to-poll noise of up to ten points, the spread between polls "
                                             "taken in the same month"),
    "pressure": Rule("rel", 0.67, 1.5, "how much a weary public weighs on its government is in no source: two thirds to "
                                      "half again the assumed weight"),
    "ratify_threshold": Rule("add", -0.03, 0.03, "the public's bar is an assumption (hawkish, as its leaders "
                                                 "speak); three hundredths either way moves it from lenient to strict "
                                                 "without leaving the range where votes are in doubt"),
    "ratify_spread": Rule("rel", 0.67, 1.5, "the spread of mood at a vote is in no source: two thirds to half again"),
    "ratify_weariness": Rule("rel", 0.67, 1.5, "how far weariness lowers the bar is in no source: two thirds to half again"),
    "legitimacy": Rule("rel", 0.67, 1.5, "what the public's choice of mediator is worth at a vote is in no source: "
                                        "two thirds to half again"),
    "preference": Rule("add", -0.15, 0.15, "polls of the preferred mediator move by about fifteen points between "
                                           "surveys and wordings", _UNIT),
    "preference_weight": Rule("abs", 0.0, 0.5, "the source says nothing of how a government weighs its public's "
                                               "choice of mediator: from not at all to half"),
    # Mediators.
    "bias": Rule("add", -0.15, 0.15, "a mediator's lean is judged from its stated positions; about a sixth of the "
                                     "scale either way keeps the US nearer Moscow's terms than the EU/UK, as the "
                                     "record has it", _UNIT),
    "trust": Rule("add", -0.15, 0.15, "trust is judged from each side's statements about a mediator; about a "
                                      "sixth of the scale either way keeps the order the statements give", _UNIT),
    "leverage": Rule("rel", 0.67, 1.5, "what a mediator's pressure is worth in utility is in no source: two thirds to half again"),
    # The battlefield and the negotiation.
    "territory0": Rule("rel", 0.98, 1.02, "estimates of the occupied area from different trackers differ by a "
                                          "percent or two"),
    "pre2022": Rule("rel", 0.95, 1.05, "the area held before 2022 is known to within a few percent (Crimea about "
                                       "27,000 km2, the rest from maps of the 2015 line)"),
    "claimed": Rule("rel", 0.97, 1.03, "the claimed regions' areas are known to within a few percent"),
    "change_mean": Rule("rel", 0.8, 1.25, "the source reports over 1,000 km2 taken in about two months (480 a "
                                          "month) and a pace that 'has accelerated': a fifth either way"),
    "change_sd": Rule("rel", 0.67, 1.5, "the month-to-month spread of the front is an assumption: two thirds to half again"),
    "kursk0": Rule("rel", 0.8, 1.2, "the area still held in Kursk is 1,171 seized less 593 retaken, each an estimate "
                                    "good to about a fifth"),
    "kursk_mean": Rule("rel", 0.8, 1.25, "593 km2 retaken in about 1.7 months (the source) is one reading of a pace "
                                         "that varied month to month: a fifth either way"),
    "kursk_sd": Rule("rel", 0.67, 1.5, "the spread of the monthly recapture is in no source: two thirds to half again"),
    "ground_scale": Rule("rel", 0.67, 1.5, "what a km2 lost costs against casualties is an assumption: two thirds to half again"),
    "casualty_scale": Rule("rel", 1.0, 1.0, "a unit (casualties counted in tens of thousands): its effect is "
                                            "cost_sensitivity's, so it is not varied"),
    "war_months": Rule("add", -1.0, 1.0, "February 2022 to November 2024, counted to within a month"),
    "ripeness_slope": Rule("rel", 0.67, 1.5, "how sharply a hurting stalemate brings sides to talks is in no "
                                             "source: two thirds to half again"),
    "breakdown": Rule("rel", 0.67, 1.5, "the monthly chance that open talks break down is judged from the 2022 "
                                        "Istanbul talks, which broke down within months", _UNIT),
    "temperature": Rule("rel", 0.67, 1.5, "how noisy a side's choice of offer is, is in no source: two thirds to "
                                          "half again"),
    "lookahead": Rule("abs", 18.0, 30.0, "governments weigh one and a half to two and a half years ahead (budget "
                                         "years, electoral cycles)"),
    # Names the engine is adding (mediators' pull, instruments, partial deals, ceasefires, guarantees, events).
    "pull": Rule("rel", 0.67, 1.5, "how often a mediator brings the sides to talks is in no source; the 2022 "
                                  "Istanbul and 2025 talks are single events: two thirds to half again", _UNIT),
    "inst_level": Rule("rel", 0.67, 1.5, "an instrument's level is set by policy and reported only roughly: two "
                                         "thirds to half again", _UNIT),
    "inst_front": Rule("rel", 0.67, 1.5, "what aid holds back at the front (km2 a month) is contested in the public "
                                        "record: two thirds to half again"),
    "inst_casualties": Rule("rel", 0.67, 1.5, "what an instrument does to casualties is contested: two thirds to half again"),
    "inst_cost": Rule("rel", 0.67, 1.5, "estimates of what sanctions cost Russia's economy differ by about a factor "
                                       "of two"),
    "pd_rate": Rule("rel", 0.67, 1.5, "partial deals (the Black Sea grain deal, prisoner exchanges) came a handful in "
                                     "three years: two thirds to half again the assumed rate", _UNIT),
    "pd_lapse": Rule("rel", 0.67, 1.5, "the grain deal lapsed after a year (July 2022 to July 2023): two thirds to half again "
                                      "the assumed chance of a lapse", _UNIT),
    "pd_value": Rule("rel", 0.67, 1.5, "what a partial deal is worth in utility is in no source: two thirds to half again"),
    "cf_hazard": Rule("rel", 0.67, 1.5, "the Minsk ceasefires broke down repeatedly, at rates the record gives only "
                                       "roughly: two thirds to half again", _UNIT),
    "cf_casualty": Rule("rel", 0.67, 1.5, "losses under a ceasefire (the Minsk years) are known only roughly: two thirds to "
                                         "half again"),
    "cf_gain_slope": Rule("rel", 0.67, 1.5, "how a ceasefire's gains weigh on its survival is in no source: two thirds to "
                                           "half again"),
    "relapse_hazard": Rule("rel", 0.67, 1.5, "Minsk I and II relapsed within months; the monthly chance is known only "
                                            "roughly: two thirds to half again", _UNIT),
    "relapse_gain_slope": Rule("rel", 0.67, 1.5, "how gains from fighting draw a side back to war is in no source: "
                                                "two thirds to half again"),
    "guarantee_cut": Rule("rel", 0.67, 1.5, "what a security guarantee cuts from the chance of relapse is contested "
                                           "(the Budapest Memorandum against NATO's record): two thirds to half again", _UNIT),
    "guarantee_value": Rule("rel", 0.67, 1.5, "what a guarantee is worth to Kyiv in utility is in no source: two thirds to "
                                             "half again"),
    "pace_shift_sd": Rule("rel", 0.67, 1.5, "how far the front's pace shifts (offensives, aid pauses) is known only "
                                           "roughly: two thirds to half again"),
    "ev_hazard": Rule("rel", 0.67, 1.5, "the monthly chance of a shock (an election, an aid pause) is judged, not "
                                       "measured: two thirds to half again", _UNIT),
    "minimum": Rule("add", -0.1, 0.1, "a side's minimum on an issue is read from its quoted red lines; a tenth of "
                                      "the scale either way", _UNIT),
    "guarantee_cf_cut": Rule("rel", 0.67, 1.5, "what monitoring cuts from a ceasefire's chance of breakdown is known "
                                              "only roughly (Fortna 2004 gives no single figure): two thirds to half "
                                              "again", _UNIT),
    "inst_stick": Rule("rel", 0.67, 1.5, "how hard a stick bites (sanctions raised) is set by policy: two thirds to "
                                        "half again; a full pause (level 0) has no range of its own"),
    "pd_cut": Rule("rel", 0.67, 1.5, "what a limited deal (an energy moratorium) takes off a side's cost of war is "
                                    "in no source: two thirds to half again", _UNIT),
    "pd_trust": Rule("rel", 0.67, 1.5, "how much a partial deal in force keeps talks alive is in no source: two thirds "
                                      "to half again", _UNIT),
}

# Overrides for one exact key path, where the array's rule does not fit.
PATHS: dict[str, Rule] = {
    "actors.kyiv.resolve": Rule("abs", 0.25, 0.5, "Kyiv 'will not spend dozens of thousands of our people' for "
                                                  "Crimea (the source): a moderate resolve, below Moscow's, from a "
                                                  "quarter to a half"),
    "actors.moscow.preconditions.kursk_withdrawal.value": RULES["pre_value"],
}


def rule_for(slot: Slot, path: str) -> Rule:
    """The rule of ``path``: its own override, else its array's, else :data:`DEFAULT`."""
    return PATHS.get(path) or RULES.get(slot.name) or DEFAULT


def plausible_range(slots: dict[str, Slot], path: str, value: float | None = None) -> tuple[float, float, str]:
    """(low, high, reason): the plausible range of the number at ``path``, inside the registry's range.

    ``value`` is the value to centre a relative rule on (the scenario's, by
    default: its fixed value or its distribution's median). An uncertain
    parameter takes the 25th to 75th percentile of its own distribution.
    """
    slot = slots[path]
    if slot.kind != "number":
        raise ValueError(f"{path} is a switch: it has no range, only off and on")
    p: Any = slot.param
    if p is not None and p.uncertain and value is None:
        d = p.frozen()
        low, high = float(d.ppf(0.25)), float(d.ppf(0.75))
        why = "the scenario draws it per run: the middle half of its own distribution (25th to 75th percentile)"
        if getattr(p, "assumption", None):
            why += f" ({p.assumption.rstrip('.')})"
        return (*_rounded(slot.name, *clip(slot.name, low, high)), why)
    if value is None:
        value = float(p.central()) if p is not None else 0.0
    rule = rule_for(slot, path)
    return (*_rounded(slot.name, *clip(slot.name, *rule.apply(float(value)))), rule.reason)


def clip(name: str, low: float, high: float) -> tuple[float, float]:
    """``[low, high]`` inside the registry's allowed range of array ``name`` (an open end kept just inside)."""
    lo, hi, lo_open, hi_open = RANGES.get(name, ANY)
    if lo is not None:
        floor = lo + (1e-6 if lo_open else 0.0)
        low, high = max(low, floor), max(high, floor)
    if hi is not None:
        ceiling = hi - (1e-6 if hi_open else 0.0)
        low, high = min(low, ceiling), min(high, ceiling)
    return low, high


def _rounded(name: str, low: float, high: float) -> tuple[float, float]:
    """Both ends to 4 significant digits, unless rounding would take one out of the allowed range."""
    def r(x: float) -> float:
        y = float(f"{x:.4g}") if math.isfinite(x) else x
        return x if out_of_range(name, y) else y

    return r(low), r(high)
