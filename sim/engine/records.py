"""Run records: the one table the kernel produces, one row per run, in a block or one run at a time.

An engine returns a dict of raw arrays (leading run axis); :func:`to_frame`
turns it into the results table written to ``results.parquet``. Columns:

==========================  ================================================
``replicate``               replicate number (the run's seed key)
``outcome``                 ``no_talks`` (talks never opened), ``talks_failed``
                            (talks opened, no settlement ratified) or
                            ``agreement`` (a ratified settlement, whether or not it
                            later relapsed)
``stage_reached``           the furthest stage of the peace process: ``war``,
                            ``talks``, ``partial``, ``ceasefire``, ``settlement``,
                            or ``relapse`` (a settlement that broke down)
``outcome_class``           named class of an agreement's terms (the first
                            matching ``outcome_classes`` rule, else
                            ``agreement``); the outcome otherwise
``talks_month``             month talks first opened (null: never)
``talks_rounds``            times talks opened (they can break down and reopen)
``agreement_month``         month of the ratified agreement (null: none)
``settlement_month``        the same month (the stage's name)
``first_partial_month``     month of the first partial deal (null: none)
``partial_deals``           partial deals agreed (each exchange of a repeating one)
``ceasefire_month``         month of the first ceasefire (null: none)
``ceasefire_broken_month``  month a ceasefire first broke down (null: never)
``relapse_month``           month war resumed after the settlement (null: never)
``term_<issue>``            agreed option of each issue (null: no agreement)
``utility_<government>``    each government's utility of the deal
``utility_<public>``        each public's utility of the deal (its government's preferences)
``issues_settled``          issues whose agreed option differs from where no deal
                            leaves them (:func:`issues_settled`; null: no agreement)
``satisfaction_<actor>``    each government's and public's satisfaction with the
                            deal, in utility units: a government's worth of it
                            (terms and side-payment) less what it asked at those
                            talks; a public's margin at the vote (null: no agreement)
``land_km2``                km2 that change hands under the deal's land term, at
                            the line of the day: > 0 returned to the ukraine side,
                            < 0 ceded to the russia side, 0 a freeze (and no deal)
``lead_mediator``           lead mediator of the last proposal (null: none)
``proposals``               proposals made
``offers_<government>``     proposals made by each government
``offers_mediator``         proposals made by the lead mediator
``territory_end_km2``       territory held by Russia at the end (a settlement's land
                            term implemented)
``kursk_end_km2``           Ukraine-held Kursk area at the end
``kursk_retaken_month``     month the Kursk area reached 0 (null: never)
``casualties_<government>`` cumulative casualties of each side
``hurt_end_<government>``   hurt at the end
``drift_belief_<government>`` believed monthly drift of the front at the end (km2 to Russia)
``weariness_end_<public>``  war-weariness at the end
``param:<path>``            the value drawn for each uncertain parameter
==========================  ================================================

A settlement stops the battlefield; it moves again if the settlement relapses.

The module also types what the engine records of one run as it goes: the
month log (:class:`MonthEntry`, with :class:`TalksEntry` for a month of
talks), the moves a person may make instead of the model (:class:`Decision`)
and who proposes (:class:`Proposer`). The log entries are TypedDicts: at run
time they are plain dicts, so they compare and serialise as they always did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, NotRequired, TypedDict

import numpy as np
import pandas as pd

from sim.scenario.compile import Compiled


class Proposer(IntEnum):
    """Who makes this month's proposal in talks (the ``proposer`` of a :class:`TalksEntry`)."""

    UKRAINE_SIDE = 0  # the first government of the scenario
    RUSSIA_SIDE = 1  # the second government
    MEDIATOR = 2  # the round's lead mediator


class PlayedEntry(TypedDict):
    """Which moves of a month of talks a person made (only in runs with a decider)."""

    proposal: bool
    answers: list[bool]
    votes: dict[int, bool]


class TalksEntry(TypedDict):
    """A month of talks: the proposal, the answers and votes, and what each side weighed."""

    lead: str | None  # the lead mediator in view
    proposer: Proposer
    package: int
    zone: bool | None  # a mediator's proposal: was there a zone of agreement (None: a government proposed)
    utilities: list[float]  # each government's utility of the package (no side-payment)
    leverage: list[float]  # each government's side-payment from the lead mediator
    side_payments: list[float]  # what a deal adds to each government's utility beside its terms (leverage, guarantee)
    needs: list[float]  # what each government asked of the proposal
    values: list[float]  # each government's value of fighting on
    answers: list[tuple[float, bool]]  # (chance as the proposer saw it, accepted) of each government
    votes: dict[int, tuple[float, bool, bool]]  # per public: (chance, ratified, votes at all)
    agreed: bool
    judgement: list[float]  # temperature x each government's judgement of the round
    round_month: int
    heard: list[list[float]] | None  # a mediator's proposal: each side's believed drift before and after hearing it
    margins: dict[int, float]  # how far the package clears each public's bar
    played: NotRequired[PlayedEntry]
    breakdown: NotRequired[bool]


class MonthEntry(TypedDict):
    """One month of a run's log (``NegotiationModel.log``)."""

    month: int
    events: list[tuple[str, Any]]  # (parameter path, new value) of the month's timed events
    change: float  # km2 the front moved towards Russia
    retaken: float  # km2 of the Kursk area retaken
    territory: float
    kursk: float
    hurt: list[float]
    drift: list[float]
    casualties: list[float]
    weariness: dict[int, float]  # per public (its government's index)
    values: list[float]  # each government's value of fighting on
    gains: list[float]  # each government's net gain of fighting on over settling on today's line
    costs: list[float]  # each government's expected cost of fighting on (before public pressure)
    stage: str  # the furthest stage reached so far (``STAGE_NAMES``)
    ceasefire_holds: bool  # a ceasefire holds after this month's fighting
    in_force: list[str]  # partial deals in force
    levels: dict[str, float]  # each instrument's level this month
    believed_resolve: list[float]  # what the others expect each government's resolve to be (their belief's mean)
    pull: NotRequired[float]  # talks closed: the mediators' chance of bringing the sides to talks
    sees: NotRequired[list[bool]]  # talks closed: each side sees a way out
    partial: NotRequired[list[str]]  # partial deals agreed this month
    ceasefire: NotRequired[bool]  # a ceasefire was put: agreed or not
    ceasefire_broken: NotRequired[bool]
    relapse: NotRequired[bool]  # the settlement broke down this month
    preconditions: NotRequired[list[tuple[str, str, bool]]]  # talks closed: (government, name, holds)
    ripeness: NotRequired[float]
    stalemate: NotRequired[bool]
    way_out: NotRequired[bool]
    opened: NotRequired[bool]
    talks: NotRequired[TalksEntry]
    actions: NotRequired[list[tuple[str, str]]]  # a game: (role, action) taken on the ground at the month's start


class ResultsRow(TypedDict, total=False):
    """The fixed columns of a row of the results table (per-actor and parameter columns are named by the scenario)."""

    replicate: int
    outcome: str
    outcome_class: str
    talks_month: int | None
    talks_rounds: int
    agreement_month: int | None
    land_km2: float
    lead_mediator: str | None
    proposals: int
    offers_mediator: int
    territory_end_km2: float
    kursk_end_km2: float
    kursk_retaken_month: int | None
    stage_reached: str
    settlement_month: int | None
    first_partial_month: int | None
    partial_deals: int
    ceasefire_month: int | None
    ceasefire_broken_month: int | None
    relapse_month: int | None


@dataclass
class Decision:
    """A move the model makes in talks, which a person may make instead (``negsim play``, the classroom).

    ``kind`` is ``act`` (an action on the ground at the start of the month: its name), ``propose`` (a
    government's or the lead mediator's offer), ``answer`` (a government accepts or rejects the package on the
    table) or ``ratify`` (a voting public ratifies or rejects it). ``default`` is the model's own choice (a
    package number, True/False, or None: the model takes no action on the ground); ``options`` the packages the
    role may propose (its own red lines respected); ``view`` what the role may see (its own private information
    only; for ``act``, its actions with their labels, effects and how many times each is left).
    """

    kind: str
    role: str
    month: int
    default: int | bool | str | None
    package: int = -1
    options: np.ndarray | None = None
    view: dict[str, Any] = field(default_factory=dict)


# A decider is asked at each decision; it returns the move (a package number, True/False, an action) or None for
# the model's own choice. The model never asks otherwise, so a run with no decider is the batch run.
Decider = Callable[[Decision], "int | bool | str | None"]

OUTCOMES = ("no_talks", "talks_failed", "agreement")
RAW_FIELDS = ("talks_month", "talks_rounds", "agreement_month", "deal", "u_deal", "satisfaction", "land_km2", "lead",
              "proposals", "offers", "territory", "kursk", "kursk_month", "casualties", "hurt", "drift", "weariness",
              "stage", "first_partial_month", "partial_deals", "ceasefire_month", "ceasefire_broken_month",
              "relapse_month")
STAGE_NAMES = ("war", "talks", "partial", "ceasefire", "settlement", "relapse")  # the kernel's STAGES


def _nullable(months: np.ndarray) -> pd.Series:
    return pd.Series(pd.array(np.where(months >= 0, months, 0), dtype="Int64")).mask(months < 0)


def _names(values: np.ndarray, names: list[str]) -> pd.Series:
    lookup = np.array([*names, None], dtype=object)
    return pd.Series(lookup[np.where(values >= 0, values, len(names))], dtype="string")


def to_frame(c: Compiled, raw: dict[str, np.ndarray], replicates: np.ndarray,
             params: dict[str, np.ndarray]) -> pd.DataFrame:
    """Build the results table of a block of runs from an engine's raw arrays."""
    deal = raw["deal"]
    agreed = deal >= 0
    outcome = np.where(agreed, 2, np.where(raw["talks_month"] >= 0, 1, 0))
    cls = np.array(OUTCOMES, dtype=object)[outcome]
    for name, hit in reversed(c.class_hits(np.where(agreed, deal, 0))):  # first matching rule wins
        cls = np.where(agreed & hit, name, cls)
    out: dict[str, object] = {
        "replicate": np.asarray(replicates, dtype=np.int64),
        "outcome": pd.Series(np.array(OUTCOMES, dtype=object)[outcome], dtype="string"),
        "outcome_class": pd.Series(cls, dtype="string"),
        "talks_month": _nullable(raw["talks_month"]),
        "talks_rounds": raw["talks_rounds"].astype(np.int64),
        "agreement_month": _nullable(raw["agreement_month"]),
        "stage_reached": pd.Series(np.array(STAGE_NAMES, dtype=object)[raw["stage"]], dtype="string"),
        "settlement_month": _nullable(raw["agreement_month"]),
        "first_partial_month": _nullable(raw["first_partial_month"]),
        "partial_deals": raw["partial_deals"].astype(np.int64),
        "ceasefire_month": _nullable(raw["ceasefire_month"]),
        "ceasefire_broken_month": _nullable(raw["ceasefire_broken_month"]),
        "relapse_month": _nullable(raw["relapse_month"]),
    }
    chosen = np.where(agreed[:, None], c.options_of(np.where(agreed, deal, 0)), -1)  # (R, K), -1: no deal
    for k, issue in enumerate(c.issues):
        out[f"term_{issue}"] = _names(chosen[:, k], c.options[k])
    out["issues_settled"] = pd.Series(pd.array(issues_settled(c, chosen, params), dtype="Int64")).mask(~agreed)
    for g, gov in enumerate(c.governments):
        out[f"utility_{gov}"] = np.where(agreed, raw["u_deal"][:, g], np.nan)
    for g, pub in enumerate(c.publics):
        if pub is not None:
            out[f"utility_{pub}"] = np.where(agreed, raw["u_deal"][:, g], np.nan)
    for i, actor in enumerate([*c.governments, *c.publics]):
        if actor is not None:
            out[f"satisfaction_{actor}"] = np.where(agreed, raw["satisfaction"][:, i], np.nan)
    out["land_km2"] = np.where(agreed, raw["land_km2"], 0.0)
    out["lead_mediator"] = _names(raw["lead"], c.mediators)
    out["proposals"] = raw["proposals"].astype(np.int64)
    for g, gov in enumerate(c.governments):
        out[f"offers_{gov}"] = raw["offers"][:, g].astype(np.int64)
    out["offers_mediator"] = raw["offers"][:, 2].astype(np.int64)
    out["territory_end_km2"] = raw["territory"]
    out["kursk_end_km2"] = raw["kursk"]
    out["kursk_retaken_month"] = _nullable(raw["kursk_month"])
    for g, gov in enumerate(c.governments):
        out[f"casualties_{gov}"] = raw["casualties"][:, g]
    for g, gov in enumerate(c.governments):
        out[f"hurt_end_{gov}"] = raw["hurt"][:, g]
    for g, gov in enumerate(c.governments):
        out[f"drift_belief_{gov}"] = raw["drift"][:, g]
    for g, pub in enumerate(c.publics):
        if pub is not None:
            out[f"weariness_end_{pub}"] = raw["weariness"][:, g]
    for path in c.uncertain:
        s = c.slots[path]
        at: tuple[Any, ...] = (slice(None), *s.index)
        out[f"param:{path}"] = params[s.name][at]
    frame = pd.DataFrame({k: (v.reset_index(drop=True) if isinstance(v, pd.Series) else v) for k, v in out.items()})
    return frame


SETTLED_TOLERANCE = 1e-9  # an option this close to the no-deal position leaves the issue where no deal leaves it


def issues_settled(c: Compiled, chosen: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """(R,) how many issues each run's deal settles; ``chosen`` (R, K) is each issue's agreed option (-1: no deal).

    An issue is settled when the deal's option differs from where no deal leaves it: a position issue whose
    option's position is not its no-deal position (the run's value, as drawn), and the land issue always (a deal
    fixes the line of control, a freeze included). An issue whose no-deal point follows control on the ground
    counts as settled. 0 without a deal.
    """
    R, K = chosen.shape
    out = np.zeros(R, np.int64)
    nd = np.broadcast_to(params["nd_position"], (R, K)) if "nd_position" in params else np.full((R, K), np.nan)
    issues = c.scenario.model.issues
    for k, name in enumerate(c.issues):
        agreed = chosen[:, k] >= 0
        spec = issues[name]
        if spec.kind == "land" or c.controls[k] is not None or spec.no_deal is None:
            out += agreed
            continue
        pos = np.array(list(spec.options.values()))[np.maximum(chosen[:, k], 0)]
        out += agreed & ~(np.abs(pos - nd[:, k]) <= SETTLED_TOLERANCE)
    return out


def stack_runs(runs: list[dict[str, object]]) -> dict[str, np.ndarray]:
    """Stack per-run raw records (scalars, small arrays) into arrays with a run axis."""
    return {k: np.array([r[k] for r in runs]) for k in RAW_FIELDS}
