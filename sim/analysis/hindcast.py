"""Hindcast: how well a scenario's runs agree with a record of what happened (a targets file).

Each target of a record is a binary event: the event named happened within
its window (``by`` with ``observed: true``, or ``between``), or had not
happened by a month (``observed: false``). Over a batch of runs, ``p`` is the
share of runs consistent with the record on that target: the scenario's
probability of what was observed. The scores are the usual proper scores of a
probability forecast of a binary outcome (Gneiting and Raftery 2007):

- the **log score** ``ln p`` (0 is perfect; it is ``-inf`` when no run agrees,
  so it is reported with ``p`` floored at half a run, ``0.5 / n``, and marked);
- the **Brier score** ``(1 - p)^2`` (0 is perfect, 1 the worst).

The **joint** share is the share of runs consistent with every target at
once: the probability of the whole record as a path.

``--from MONTH`` conditions on the record up to that month: only the runs
consistent with every target whose window ends by that month are kept
(rejection, so each kept run has equal weight), and the targets after it are
scored on those runs. The same filter is what ``negsim run --given`` applies.

A record's prior entries (``priors:``, figures from before the scenario's
start) are not events: they are not scored here, and the result names them
(``priors_not_scored``); ``negsim calibrate`` uses them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.errors import UsageError
from sim.runs.summary import wilson
from sim.scenario.targets import EVENTS, Target, Targets, window


def consistent(runs: pd.DataFrame, t: Target, start: str) -> np.ndarray:
    """Per run, whether it agrees with the record on target ``t``."""
    month = runs[EVENTS[t.event]].to_numpy(float)
    first, last = window(t, start)
    happened = ~np.isnan(month)
    if t.between is not None:
        return happened & (month >= first) & (month <= last)
    by = happened & (month <= last)
    return by if t.observed else ~by


def keep_given(runs: pd.DataFrame, targets: Targets, start: str, upto: int | None = None) -> np.ndarray:
    """The runs consistent with every target whose window ends by scenario month ``upto`` (all: None)."""
    keep = np.ones(len(runs), bool)
    for _, t in targets.items():
        if upto is None or window(t, start)[1] <= upto:
            keep &= consistent(runs, t, start)
    return keep


@dataclass
class Score:
    name: str
    label: str
    event: str
    window: tuple[int, int]  # scenario months
    observed: str  # the observation in words
    p: float  # share of runs consistent with it
    low: float
    high: float
    log_score: float
    floored: bool  # no run agreed: the log score uses p = 0.5 / n
    brier: float
    median_month: float | None  # the event's median month over the runs where it happens (None: never)


@dataclass
class Hindcast:
    record: str
    scenario: str
    runs: int  # runs simulated
    kept: int  # runs kept after conditioning (all runs without --from)
    from_month: int | None
    conditioned_on: list[str]
    scores: list[Score] = field(default_factory=list)
    joint: float = 0.0  # share of the kept runs consistent with every scored target
    priors: list[str] = field(default_factory=list)  # the record's prior entries: not scored

    @property
    def log_score(self) -> float:
        """Sum of the targets' log scores (the log-probability of the record if its events were independent)."""
        return float(sum(s.log_score for s in self.scores))

    def to_dict(self) -> dict:
        return {"record": self.record, "scenario": self.scenario, "runs": self.runs, "kept": self.kept,
                "from_month": self.from_month, "conditioned_on": self.conditioned_on, "joint": self.joint,
                "log_score": self.log_score, "brier_mean": float(np.mean([s.brier for s in self.scores])),
                "targets": [s.__dict__ | {"window": list(s.window)} for s in self.scores],
                "priors_not_scored": self.priors}


def hindcast(runs: pd.DataFrame, targets: Targets, start: str, scenario: str,
             from_month: int | None = None) -> Hindcast:
    """Score a batch's results table against a record (conditioned on it up to ``from_month``)."""
    items = targets.items()
    if not items:
        raise UsageError(f"{targets.path}: no event targets to score (its {len(targets.priors())} entries are "
                         "priors: bounds on parameters, which negsim calibrate uses)")
    before = [n for n, t in items if from_month is not None and window(t, start)[1] <= from_month]
    keep = keep_given(runs, targets, start, from_month) if from_month is not None else np.ones(len(runs), bool)
    after = [(n, t) for n, t in items if n not in before]
    if not after:
        raise UsageError(f"--from {from_month}: every target of {targets.path} ends by then; nothing is left to score")
    kept = runs[keep]
    out = Hindcast(targets.name, scenario, len(runs), int(keep.sum()), from_month, before,
                   priors=[n for n, _ in targets.priors()])
    if not len(kept):
        return out
    joint = np.ones(len(kept), bool)
    for name, t in after:
        ok = consistent(kept, t, start)
        joint &= ok
        out.scores.append(_score(kept, name, t, start, ok))
    out.joint = float(joint.mean())
    return out


def _score(kept: pd.DataFrame, name: str, t: Target, start: str, ok: np.ndarray) -> Score:
    n, hits = len(kept), int(ok.sum())
    p = hits / n
    _, low, high = wilson(hits, n)
    floored = hits == 0
    month = kept[EVENTS[t.event]].to_numpy(float)
    month = month[~np.isnan(month)]
    return Score(name, t.label, t.event, window(t, start), _observed(t), p, low, high,
                 math.log(p if hits else 0.5 / n), floored, (1.0 - p) ** 2,
                 float(np.median(month)) if len(month) else None)


def _observed(t: Target) -> str:
    if t.between is not None:
        first, last = t.between
        return f"first {first}" if first == last else f"first between {first} and {last}"
    return f"by {t.by}" if t.observed else f"not by {t.by}"
