"""Levers: does turning a parameter move any outcome? Paired checks on common random numbers.

A *lever* is a parameter path with a low and a high setting. Its effect is
measured on paired runs (the same seed, so replicate r meets the same front,
the same dice and the same uncertain parameters at both settings), in the
outcomes a user reads, four of the settlement and six of the stages before
and after it:

- ``agreement``: the change in P(agreement), with Newcombe's paired 95%
  interval (:func:`sim.analysis.paired.newcombe_paired`);
- ``no_talks``: the change in P(no_talks), the same way;
- ``terms``: the total variation distance between the two distributions of
  results, where a result is an outcome without a deal or the agreed terms
  on every issue, with the largest paired share change and its interval;
- ``month``: the paired change in the month of agreement (runs that agree
  at both settings; the mean of their differences, with its t interval);
- ``talks_month``: the paired change in the month talks open, the same way;
- ``partial``: the change in P(at least one partial deal), in points;
- ``partial_month``: the paired change in the month of the first partial deal;
- ``ceasefire``: the change in P(a ceasefire is agreed), in points;
- ``ceasefire_broken``: the change in P(a ceasefire breaks down), in points;
- ``relapse``: the change in P(a settlement relapses into war), in points.

A lever is *live* when at least one of them moves by at least its threshold
(1 point for a share, 0.05 of total variation, 0.5 months for a month) and its
95% interval excludes 0.
:func:`default_levers` lists every parameter a scenario sets, with low and
high settings at the ends of its plausible range (:mod:`sim.scenario.plausible`). The published list
and its measurements are docs/levers.md, written by docs/levers.py; a test
fails if a lever in that list goes dead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.analysis.paired import newcombe_paired
from sim.runs.batch import simulate_block
from sim.scenario import registry
from sim.scenario.compile import compile_scenario
from sim.scenario.models import Scenario
from sim.scenario.plausible import plausible_range

THRESHOLDS = {"agreement": 0.01, "no_talks": 0.01, "terms": 0.05, "month": 0.5,
              "talks_month": 0.5, "partial": 0.01, "partial_month": 0.5, "ceasefire": 0.01, "ceasefire_broken": 0.01,
              "relapse": 0.01}
# The stage outcomes: (results column, "share" of runs where it is set, or "month": its paired change).
STAGE_OUTCOMES = {"talks_month": ("talks_month", "month"), "partial": ("first_partial_month", "share"),
                  "partial_month": ("first_partial_month", "month"), "ceasefire": ("ceasefire_month", "share"),
                  "ceasefire_broken": ("ceasefire_broken_month", "share"), "relapse": ("relapse_month", "share")}


@dataclass(frozen=True)
class Lever:
    """A parameter path with a low and a high setting; ``given`` holds other settings at both ends: where the
    mechanism the lever belongs to acts (a guarantee's parameters with a guarantee on, an aid's effect with the
    aid cut, a red line with the other side's overlapping constraint relaxed)."""

    path: str
    low: Any
    high: Any
    given: tuple[tuple[str, Any], ...] = ()


@dataclass
class Effect:
    """The measured effect of one lever: per outcome, (change, lo, hi); live if any clears its threshold."""

    lever: Lever
    agreement: tuple[float, float, float]
    no_talks: tuple[float, float, float]
    terms: tuple[float, float, float]  # (total variation, lo, hi) of the largest paired class-share change
    month: tuple[float, float, float]
    talks_month: tuple[float, float, float] = (0.0, 0.0, 0.0)
    partial: tuple[float, float, float] = (0.0, 0.0, 0.0)
    partial_month: tuple[float, float, float] = (0.0, 0.0, 0.0)
    ceasefire: tuple[float, float, float] = (0.0, 0.0, 0.0)
    ceasefire_broken: tuple[float, float, float] = (0.0, 0.0, 0.0)
    relapse: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def moved(self) -> list[str]:
        """The outcomes this lever moves beyond threshold and noise."""
        out = []
        for name, threshold in THRESHOLDS.items():
            d, lo, hi = getattr(self, name)
            if name == "terms":
                if d >= threshold and (lo > 0 or hi < 0):
                    out.append(name)
            elif abs(d) >= threshold and (lo > 0 or hi < 0):
                out.append(name)
        return out

    @property
    def live(self) -> bool:
        return bool(self.moved())


def default_levers(sc: Scenario) -> list[Lever]:
    """Every number and switch a scenario sets, with a low and a high setting.

    Numbers anywhere in the scenario (actors, negotiation, battlefield, issues
    and any other block with slots in the registry) that the scenario writes,
    each once (the first of its paths), at the ends of its plausible range
    (:func:`sim.scenario.plausible.plausible_range`). A number the scenario
    leaves at its default (a key it does not write) is not one it sets, and is
    left out, as is one whose plausible range collapses to its value (a unit);
    switches (a red line, a precondition, a mediator, a vote) are always
    listed, off and on.
    """
    slots = registry.parameter_slots(sc)
    seen, out = set(), []
    for path, slot in slots.items():
        if (slot.name, slot.index) in seen:
            continue
        if slot.kind != "switch" and not is_set(sc.data, path):
            continue
        seen.add((slot.name, slot.index))
        if slot.kind == "switch":
            out.append(Lever(path, False, True))
            continue
        low, high, _ = plausible_range(slots, path)
        if low < high:
            out.append(Lever(path, low, high))
    return out


def is_set(data: dict, path: str) -> bool:
    """Whether the scenario's (merged) data writes the key ``path`` (``a.b[0].c`` or ``a.b.name.c``)."""
    node: Any = data
    for part in path.split("."):
        name, _, index = part.partition("[")
        if isinstance(node, list):  # a list item reached by name (a precondition's alias)
            node = next((x for x in node if isinstance(x, dict) and x.get("name") == name), None)
        elif isinstance(node, dict) and name in node:
            node = node[name]
        else:
            return False
        if index:
            i = int(index.rstrip("]"))
            if not isinstance(node, list) or i >= len(node):
                return False
            node = node[i]
        if node is None:
            return False
    return True


def lever_effect(sc: Scenario, lever: Lever, runs: int = 5000, seed: int = 7, engine: str = "vector") -> Effect:
    """Run ``runs`` paired replicates at the lever's low and high settings and measure the change."""
    given = dict(lever.given)
    a = simulate_block(compile_scenario(sc, given | {lever.path: lever.low}), seed, 0, runs, engine)
    b = simulate_block(compile_scenario(sc, given | {lever.path: lever.high}), seed, 0, runs, engine)
    return measure(lever, a, b)


def measure(lever: Lever, a: pd.DataFrame, b: pd.DataFrame) -> Effect:
    """The effect of a lever from the paired tables of its low (a) and high (b) settings."""
    def paired(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
        return newcombe_paired(int((x & y).sum()), int((~x & y).sum()), int((x & ~y).sum()), int((~x & ~y).sum()))

    oa, ob = a["outcome"].to_numpy(str), b["outcome"].to_numpy(str)
    ca, cb = _terms(a), _terms(b)
    classes = sorted(set(ca) | set(cb))
    diffs = [paired(ca == k, cb == k) for k in classes]
    tv = 0.5 * sum(abs(d[0]) for d in diffs)
    biggest = max(diffs, key=lambda d: abs(d[0]))
    terms = (tv, biggest[1], biggest[2]) if biggest[0] >= 0 else (tv, -biggest[2], -biggest[1])
    stages = {}
    for name, (col, kind) in STAGE_OUTCOMES.items():
        x, y = a[col].to_numpy(float), b[col].to_numpy(float)
        stages[name] = paired(~np.isnan(x), ~np.isnan(y)) if kind == "share" else _month_change(x, y)
    return Effect(lever, paired(oa == "agreement", ob == "agreement"), paired(oa == "no_talks", ob == "no_talks"),
                  terms, _month_change(a["agreement_month"].to_numpy(float), b["agreement_month"].to_numpy(float)),
                  **stages)


def _terms(t: pd.DataFrame) -> np.ndarray:
    """Each run's outcome, and for an agreement its terms on every issue: the categories of the terms mix."""
    out = pd.Series(t["outcome"].to_numpy(str), dtype=object)
    agreed = out == "agreement"
    for col in [c for c in t.columns if c.startswith("term_")]:
        out = out.where(~agreed, out + "|" + t[col].astype(object).astype(str).to_numpy(dtype=object))
    return out.to_numpy(dtype=object).astype(str)


def _month_change(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Paired change in the month of an event: over the runs where it happens at both settings (the same
    replicate meets the same front and dice), the mean of month_y - month_x with its t interval."""
    both = ~np.isnan(x) & ~np.isnan(y)
    d = y[both] - x[both]
    if len(d) < 2 or d.var() == 0:
        m = float(d.mean()) if len(d) else 0.0
        return m, m, m
    m = float(d.mean())
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    return m, m - half, m + half
