"""Scenario files: schema, loading, `extends:`, and errors with FILE:LINE:COL.

A scenario is a YAML mapping validated by the pydantic models below
(unknown keys are errors). Any number may be given three ways::

    resolve: 0.6                                   # a fixed number
    resolve: {value: 0.6, assumption: "why"}       # a number with its source
    resolve: {dist: beta, a: 6, b: 4}              # uncertain: drawn once per run

Loading reports every problem of a file at once, each as one line
``FILE:LINE:COL: key.path: message (got VALUE)``; see :class:`ScenarioError`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
)
from pydantic.functional_validators import PlainValidator, WrapValidator
from pydantic_core import CoreSchema, ErrorDetails, PydanticCustomError
from scipy import stats

from sim.defaults import SEED, SWEEP_RUNS
from sim.errors import Problem, ScenarioError, show_value
from sim.scenario import registry
from sim.scenario.yamlsrc import Key, dotted, read_yaml

ROLES = ("government", "public", "mediator")
SIDES = ("ukraine", "russia")
DISTS: dict[str, tuple[str, ...]] = {
    "normal": ("mean", "sd"),
    "truncnormal": ("mean", "sd", "low", "high"),
    "lognormal": ("mu", "sigma"),
    "uniform": ("low", "high"),
    "beta": ("a", "b"),
    "triangular": ("low", "mode", "high"),
    "posterior": ("values",),  # a calibration's samples: every posterior number of a scenario is drawn jointly
}
DIST_OPTIONAL = {"beta": ("low", "high")}
SOURCE_KEYS = ("evidence", "assumption")


# --------------------------------------------------------------------------- sources


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Evidence(Strict):
    """A quote that must appear in a document of the project's seeds/ folder."""

    doc: str = Field(description="file name in seeds/")
    quote: str = Field(min_length=3, description="text that appears in the document")

    @field_validator("doc")
    @classmethod
    def _file_name(cls, doc: str) -> str:
        if "/" in doc or "\\" in doc or doc in ("", ".", "..") or len(doc) > 255:
            raise _fail(f"evidence document {show_value(doc)} not found in seeds/ (give a file name in seeds/, without folders)")
        return doc


class Sourced(Strict):
    """Anything that may carry `evidence: {doc, quote}` or `assumption: "..."`."""

    evidence: Evidence | None = None
    assumption: str | None = None


# --------------------------------------------------------------------------- numbers


@dataclass(frozen=True)
class Param:
    """A number of the scenario: fixed (``value``) or uncertain (``dist`` + ``args``)."""

    value: float | None = None
    dist: str | None = None
    args: tuple[tuple[str, float], ...] = ()
    evidence: Evidence | None = None
    assumption: str | None = None
    values: tuple[float, ...] = ()  # dist: posterior, the samples in row order

    @property
    def uncertain(self) -> bool:
        return self.dist is not None

    def frozen(self) -> Any:
        """The scipy frozen distribution of an uncertain parameter (posterior: its samples' empirical one)."""
        if self.dist == "posterior":
            return Empirical(self.values)
        return build_dist(self.dist or "", dict(self.args))

    def central(self) -> float:
        """The fixed value, or the median of the distribution."""
        if self.dist is not None:
            return float(self.frozen().ppf(0.5))
        if self.value is None:
            raise ValueError("a Param holds a value or a distribution")
        return float(self.value)

    def describe(self) -> str:
        if self.dist is None:
            return f"{self.value:g}"
        if self.dist == "posterior":
            return f"posterior({len(self.values)} samples, median {self.central():g})"
        return f"{self.dist}(" + ", ".join(f"{k}={v:g}" for k, v in self.args) + ")"


class Empirical:
    """The distribution of a finite sample (``dist: posterior``): ``ppf(q)`` is the sample of rank
    ``floor(q * n)``, so the mid-rank ``(k + 0.5) / n`` gives the k-th smallest exactly (the joint draw of
    :func:`sim.runs.batch.joint_uniforms` relies on it)."""

    def __init__(self, values: tuple[float, ...] | list[float] | np.ndarray):
        self.values = np.sort(np.asarray(values, float))

    def ppf(self, q: Any) -> Any:
        n = len(self.values)
        k = np.clip(np.floor(np.asarray(q, float) * n).astype(np.int64), 0, n - 1)
        return self.values[k]

    def cdf(self, x: Any) -> Any:
        return np.searchsorted(self.values, np.asarray(x, float), side="right") / len(self.values)

    def mean(self) -> float:
        return float(self.values.mean())

    def std(self) -> float:
        return float(self.values.std())

    def median(self) -> float:
        return float(self.ppf(0.5))

    def support(self) -> tuple[float, float]:
        return float(self.values[0]), float(self.values[-1])


MAX_POSTERIOR_SAMPLES = 100_000


def _parse_posterior(raw: dict, lo: float | None, hi: float | None) -> tuple[float, ...]:
    unknown = sorted(set(raw) - {"dist", "values", *SOURCE_KEYS})
    if unknown:
        raise _fail(f"posterior takes values (got unknown key {unknown[0]!r})")
    values = raw.get("values")
    if not isinstance(values, list) or not 2 <= len(values) <= MAX_POSTERIOR_SAMPLES:
        raise _fail(f"posterior needs values: a list of 2 to {MAX_POSTERIOR_SAMPLES:,} numbers "
                    f"(got {show_value(values)})")
    for i, v in enumerate(values):
        if not _is_number(v) or registry.too_large(float(v)) or not _check_range(float(v), lo, hi, False, False):
            raise _fail(f"posterior values[{i}] must be a number {_range_text(lo, hi, False)} (got {show_value(v)})")
    return tuple(float(v) for v in values)


def build_dist(name: str, args: dict[str, float]) -> Any:
    """Build the scipy distribution of a `{dist: ...}` spec (no validation)."""
    if name == "normal":
        return stats.norm(args["mean"], args["sd"])
    if name == "truncnormal":
        m, s = args["mean"], args["sd"]
        return stats.truncnorm((args["low"] - m) / s, (args["high"] - m) / s, loc=m, scale=s)
    if name == "lognormal":
        return stats.lognorm(s=args["sigma"], scale=math.exp(args["mu"]))
    if name == "uniform":
        return stats.uniform(args["low"], args["high"] - args["low"])
    if name == "beta":
        lo, hi = args.get("low", 0.0), args.get("high", 1.0)
        return stats.beta(args["a"], args["b"], loc=lo, scale=hi - lo)
    if name == "triangular":
        lo, hi = args["low"], args["high"]
        return stats.triang((args["mode"] - lo) / (hi - lo), loc=lo, scale=hi - lo)
    raise KeyError(name)


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("negsim", message)


def _is_number(x: Any) -> bool:
    """A finite number that fits a float (a huge integer is not one)."""
    if not isinstance(x, int | float) or isinstance(x, bool):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:
        return False


def _range_text(lo: float | None, hi: float | None, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"between {lo:g} and {hi:g}" + (" (excluding the upper end)" if hi_open else "")
    if lo is not None:
        return f">= {lo:g}" if lo != 0 or not hi_open else f"> {lo:g}"
    return f"<= {hi:g}"


def _check_range(x: float, lo: float | None, hi: float | None, hi_open: bool, lo_open: bool) -> bool:
    if lo is not None and (x < lo or (lo_open and x == lo)):
        return False
    return not (hi is not None and (x > hi or (hi_open and x == hi)))


def _parse_source(raw: dict) -> tuple[Evidence | None, str | None]:
    ev, assumption = raw.get("evidence"), raw.get("assumption")
    if ev is not None:
        if not isinstance(ev, dict) or set(ev) != {"doc", "quote"} or not all(isinstance(v, str) for v in ev.values()):
            raise _fail(f"evidence must be a mapping {{doc: FILE, quote: TEXT}} (got {show_value(ev)})")
        try:
            ev = Evidence(**ev)
        except ValidationError as exc:
            raise _fail(exc.errors()[0]["msg"]) from None
    if assumption is not None and not isinstance(assumption, str):
        raise _fail(f"assumption must be text (got {show_value(assumption)})")
    return ev, assumption


def _parse_dist(raw: dict, lo: float | None, hi: float | None) -> tuple[str, tuple[tuple[str, float], ...]]:
    name = raw.get("dist")
    if not isinstance(name, str) or name not in DISTS:
        near = difflib.get_close_matches(str(name), DISTS, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise _fail(f"dist must be one of {', '.join(DISTS)} (got {show_value(name)}){hint}")
    needed, optional = DISTS[name], DIST_OPTIONAL.get(name, ())
    given = {k: v for k, v in raw.items() if k not in ("dist", *SOURCE_KEYS)}
    unknown = sorted(set(given) - set(needed) - set(optional))
    if unknown:
        raise _fail(f"{name} takes {', '.join(needed + optional)} (got unknown key {unknown[0]!r})")
    missing = [k for k in needed if k not in given]
    if missing:
        raise _fail(f"{name} needs {', '.join(needed)} (missing {', '.join(missing)})")
    bad = [k for k, v in given.items() if not _is_number(v)]
    if bad:
        raise _fail(f"{name} parameter {bad[0]} must be a number (got {show_value(given[bad[0]])})")
    args = {k: float(v) for k, v in given.items()}
    for k, v in args.items():
        if why := registry.too_large(v):
            raise _fail(f"{name} parameter {k} {why}")
    try:
        with np.errstate(all="ignore"):
            d = build_dist(name, args)
            q = d.ppf([0.0, 0.01, 0.5, 0.99, 1.0])
    except (ValueError, ZeroDivisionError, OverflowError) as exc:
        raise _fail(f"scipy cannot build {name} with {args}: {exc}") from None
    if not np.all(np.isfinite(q[1:4])):
        raise _fail(f"scipy cannot build {name} with {args} (invalid parameters)")
    if why := registry.too_large(float(np.max(np.abs(q[1:4])))):
        raise _fail(f"{name} with {args} draws values that {why.removeprefix('must ')}")
    if (lo is not None and q[0] < lo) or (hi is not None and q[-1] > hi):
        rng = _range_text(lo, hi, False)
        raise _fail(f"{name} can draw values outside the allowed range {rng} "
                    f"(support {q[0]:g} to {q[-1]:g}); use truncnormal, beta or uniform bounds inside it")
    return name, tuple(sorted(args.items()))


@dataclass(frozen=True)
class Bounds:
    """The allowed range of a number: [lo, hi], either end open or absent.

    As the metadata of ``Annotated[Param, Bounds(...)]`` it is the field's
    validator: a number, ``{value: ...}`` or ``{dist: ...}`` inside the range
    (:func:`parse_param`). The JSON Schema (sim.scenario.schema) reads it too.
    """

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return PlainValidator(lambda raw: parse_param(raw, self)).__get_pydantic_core_schema__(source, handler)


@dataclass(frozen=True)
class SourcedMap:
    """Marks a mapping name -> number (with these bounds) that may carry its own source."""

    bounds: Bounds


def parse_param(raw: Any, b: Bounds) -> Param:
    """A Param from a scenario's number, ``{value: ...}`` or ``{dist: ...}``, restricted to the bounds ``b``."""
    if isinstance(raw, Param):
        return raw
    if _is_number(raw):
        if why := registry.too_large(float(raw)):
            raise _fail(why)
        if not _check_range(float(raw), b.lo, b.hi, b.hi_open, b.lo_open):
            raise _fail(f"must be {_range_text(b.lo, b.hi, b.hi_open)} (got {show_value(raw)})")
        return Param(value=float(raw))
    if not isinstance(raw, dict):
        raise _fail(f"expected a number, {{value: ...}} or {{dist: ...}} (got {show_value(raw)})")
    evidence, assumption = _parse_source(raw)
    if raw.get("dist") == "posterior":
        return Param(dist="posterior", values=_parse_posterior(raw, b.lo, b.hi), evidence=evidence,
                     assumption=assumption)
    if "dist" in raw:
        name, args = _parse_dist(raw, b.lo, b.hi)
        return Param(dist=name, args=args, evidence=evidence, assumption=assumption)
    extra = sorted(set(raw) - {"value", *SOURCE_KEYS})
    if extra:
        near = difflib.get_close_matches(extra[0], ["value", "dist", *SOURCE_KEYS], n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise _fail(f"unknown key {extra[0]!r} in a number (expected value, dist, evidence, assumption){hint}")
    if "value" not in raw:
        raise _fail("a number given as a mapping needs `value:` or `dist:`")
    if not _is_number(raw["value"]):
        raise _fail(f"value must be a number (got {show_value(raw['value'])}); an uncertain number is "
                    "{dist: ...} without `value:`")
    inner = parse_param(raw["value"], b)
    return Param(value=inner.value, evidence=evidence, assumption=assumption)


class ParamMap(dict):
    """A mapping name -> Param that may carry its own `evidence:` / `assumption:`."""

    evidence: Evidence | None = None
    assumption: str | None = None


def _sourced_map(raw: Any, handler: Any) -> ParamMap:
    if not isinstance(raw, dict):
        return handler(raw)
    evidence, assumption = _parse_source(raw)
    out = ParamMap(handler({k: v for k, v in raw.items() if k not in SOURCE_KEYS}))
    out.evidence, out.assumption = evidence, assumption
    return out


def P(name: str) -> Bounds:
    """The bounds of a number held in parameter array ``name`` (the registry's range): ``Annotated[Param, P(name)]``."""
    lo, hi, lo_open, hi_open = registry.RANGES[name]
    return Bounds(lo, hi, lo_open=lo_open, hi_open=hi_open)


Num = Annotated[Param, Bounds()]
Unit = Annotated[Param, Bounds(0.0, 1.0)]
NonNeg = Annotated[Param, Bounds(0.0)]
# Mappings name -> number that may also hold `evidence:` or `assumption:` for all of them.
UnitMap = Annotated[dict[str, Unit], WrapValidator(_sourced_map), SourcedMap(Bounds(0.0, 1.0))]
NonNegMap = Annotated[dict[str, NonNeg], WrapValidator(_sourced_map), SourcedMap(Bounds(0.0))]
NumMap = Annotated[dict[str, Num], WrapValidator(_sourced_map), SourcedMap(Bounds())]


# --------------------------------------------------------------------------- schema


class NoDeal(Sourced):
    """Where an issue ends up without a deal: a fixed position or a map from control on the ground."""

    position: Unit | None = Field(None, description="fixed no-deal position on [0, 1]")
    variable: Literal["territory_km2", "kursk_held_km2"] = "territory_km2"
    control: list[tuple[float, float]] | None = Field(
        None, description="[[km2, position], ...]: piecewise-linear map from control to position")


class Link(Sourced):
    """An issue whose options count only with another issue at or above an option (a guarantee and its forces)."""

    requires: str = Field(description="the issue this one depends on")
    at_least: str = Field(description="an option of `requires`: the link holds in a package whose option on "
                          "`requires` has a value at or above this option's")
    otherwise: str = Field(description="an option of this issue: where the link fails, the package's position on "
                           "this issue counts for no more than this option's (an option above it takes its position), "
                           "for every government (utility and minimum)")


class Issue(Sourced):
    label: str | None = None
    category: Literal["territory", "security", "economy", "justice"] | None = Field(
        None, description="territory (and sovereignty), security, economy or justice (and accountability)")
    separable: StrictBool | str = Field(False, description="the issue can be agreed on its own: the name of the "
                                        "partial deal it belongs to, or true")
    links: list[Link] = Field([], description="conditions on other issues under which this issue's options "
                              "count in full")
    kind: Literal["position", "land"] = Field(
        "position", description="position: options are points on [0, 1]; land: options are shares of land "
        "moved at the line of control of the day (>= 0 returns that share of the land taken since 2022, "
        "< 0 cedes that share of the rest of the claimed regions)")
    options: dict[str, Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]] = Field(
        description="option name -> position on [0, 1] (kind: position) or land share on [-1, 1] (kind: land)",
        min_length=2)
    no_deal: NoDeal | None = Field(None, description="required for a position issue; a land issue's no-deal "
                                   "point is the expected line of control")


class Exclusion(Sourced):
    match: dict[str, str | list[str]] = Field(description="issue -> option(s); packages matching all are excluded")


class RedLine(Sourced):
    issue: str
    forbid: list[str] = Field(min_length=1)
    active: StrictBool = True


class Precondition(Sourced):
    name: str
    variable: Literal["territory_km2", "kursk_held_km2", "month"]
    op: Literal["<=", "<", ">=", ">"]
    value: Annotated[Param, P("pre_value")]
    active: StrictBool = True


class Belief(Sourced):
    drift_km2: Annotated[Param, P("drift_mean")] = Field(description="prior mean of the front's monthly drift, km2 a month to Russia")
    sd_km2: Annotated[Param, P("drift_sd")] = Field(description="prior sd of that drift: how sure the side is (normal-normal learning)")


class Casualties(Sourced):
    mean: Annotated[Param, P("casualty_mean")]
    sd: Annotated[Param, P("casualty_sd")] = Field(Param(value=0.0), description="month-to-month spread; 0 (the default) fights at the mean")


class Government(Sourced):
    role: Literal["government"]
    side: Literal["ukraine", "russia"]
    label: str | None = None
    ideal: UnitMap = Field({}, description="ideal position per position issue; a position issue left out takes "
                           "the side's end of the scale (1 for the ukraine side, 0 for the russia side)")
    salience: UnitMap
    red_lines: list[RedLine] = []
    preconditions: list[Precondition] = []
    resolve: Annotated[Param, P("resolve")] = Field(description="0 counts the full expected cost of fighting on, 1 ignores it")
    cost_sensitivity: Annotated[Param, P("cost_sensitivity")]
    hurt_decay: Annotated[Param, P("hurt_decay")]
    hurt_threshold: Annotated[Param, P("hurt_threshold")]
    discount: Annotated[Param, P("discount")] = Field(Param(value=0.98), description="monthly discount factor: "
                                                       "bargaining patience only (not the value of war)")
    minimum: NumMap = Field({}, description="per issue, the least this side accepts whatever else it gets "
                            "(non-compensatory): on a position issue the level 1 - |option - ideal| on [0, 1]; on "
                            "the land issue the land share from this side's view (the ukraine side's share, minus "
                            "it for the russia side), -1 to 1")
    belief: Belief
    casualties: Casualties


class Ratification(Sourced):
    threshold: Annotated[Param, P("ratify_threshold")]
    spread: Annotated[Param, P("ratify_spread")]
    weariness_effect: Annotated[Param, P("ratify_weariness")] = Param(value=0.0)
    legitimacy: Annotated[Param, P("legitimacy")] = Field(Param(value=0.0), description="how much a preferred lead mediator adds at the vote")


class Public(Sourced):
    role: Literal["public"]
    government: str
    label: str | None = None
    weariness: Annotated[Param, P("weariness0")]
    weariness_rate: Annotated[Param, P("weariness_rate")]
    weariness_noise: Annotated[Param, P("weariness_noise")] = Field(Param(value=0.0), description="sd of the monthly noise of opinion")
    pressure: Annotated[Param, P("pressure")]
    ratifies: StrictBool = True
    ratification: Ratification | None = Field(None, description="required when ratifies is true")
    mediator_preference: UnitMap = {}
    preference_weight: Annotated[Param, P("preference_weight")] = Param(value=0.0)


class Mediator(Sourced):
    role: Literal["mediator"]
    label: str | None = None
    bias: Annotated[Param, P("bias")] = Field(description="0 leans to the ukraine side, 1 to the russia side")
    trust: UnitMap
    leverage: NonNegMap
    pull: Annotated[Param, P("pull")] = Field(Param(value=0.0), description="monthly chance this mediator brings "
                                              "both sides to talks (contacts) whether or not a zone of agreement "
                                              "is seen")
    active: StrictBool = True


Actor = Annotated[Government | Public | Mediator, Field(discriminator="role")]


class Normal(Sourced):
    mean: Num
    sd: NonNeg


class Battlefield(Sourced):
    territory_km2: Annotated[Param, P("territory0")]
    pace_shift_sd_km2: Annotated[Param, P("pace_shift_sd")] = Field(
        Param(value=0.0), description="how far the sides allow the front's pace to change in a month (km2 a month): "
        "the process noise of their beliefs, so beliefs follow a front that turns")
    pre2022_km2: Annotated[Param, P("pre2022")] = Field(Param(value=0.0), description="km2 Russia held before February 2022 (land scale 1)")
    claimed_km2: Annotated[Param, P("claimed")] = Field(Param(value=0.0), description="km2 of every region Russia claims (land scale 0)")
    war_months: Annotated[Param, P("war_months")] = Field(Param(value=0.0), description="months of war before the start month")
    monthly_change_km2: Normal
    kursk_held_km2: Annotated[Param, P("kursk0")]
    kursk_recapture_km2: Normal
    ground_scale_km2: Annotated[Param, P("ground_scale")] = Param(value=1000.0)
    casualty_scale: Annotated[Param, P("casualty_scale")] = Param(value=10000.0)


class Ceasefire(Sourced):
    """A ceasefire: the line frozen while talks on a settlement go on; it can be violated and break down."""

    active: StrictBool = Field(True, description="the sides may agree a ceasefire in talks")
    first: StrictBool = Field(False, description="settlement terms are put only once a ceasefire holds (ceasefire first)")
    casualties: Annotated[Param, P("cf_casualty")] = Field(Param(value=0.1), description="share of the monthly "
                                                          "casualties that violations still cause")
    hazard: Annotated[Param, P("cf_hazard")] = Field(Param(value=0.05), description="base monthly chance it breaks down")
    gain_slope: Annotated[Param, P("cf_gain_slope")] = Field(Param(value=1.0), description="how much a side's expected "
                                                            "gain from fighting on raises that chance")


class Relapse(Sourced):
    """After a settlement: the monthly chance that war resumes (the commitment problem)."""

    hazard: Annotated[Param, P("relapse_hazard")] = Field(Param(value=0.01), description="base monthly chance")
    gain_slope: Annotated[Param, P("relapse_gain_slope")] = Field(Param(value=0.5), description="how much a side's "
                                                                 "expected gain from fighting again raises it")


class Guarantee(Sourced):
    """A security guarantee (foreign forces, monitoring) offered with any settlement (Fortna 2004)."""

    active: StrictBool = False
    relapse_cut: Annotated[Param, P("guarantee_cut")] = Field(Param(value=0.5), description="share of the relapse "
                                                             "hazard it removes")
    ceasefire_cut: Annotated[Param, P("guarantee_cf_cut")] = Field(Param(value=0.3), description="share of the "
                                                                  "ceasefire hazard its monitoring removes")
    value: NumMap = Field({}, description="per government, what the guarantee adds to its utility of a settlement "
                          "(negative: it costs that side)")


class Negotiation(Sourced):
    ripeness_slope: Annotated[Param, P("ripeness_slope")]
    breakdown: Annotated[Param, P("breakdown")]
    temperature: Annotated[Param, P("temperature")] = Field(description="sd of a side's judgement of proposals, drawn once a run")
    lookahead_months: Annotated[Param, P("lookahead")]
    ceasefire: Ceasefire = Field(default_factory=lambda: Ceasefire.model_validate({}))
    relapse: Relapse = Field(default_factory=lambda: Relapse.model_validate({}))
    guarantee: Guarantee = Field(default_factory=lambda: Guarantee.model_validate({}))


class Stick(Sourced):
    """An instrument used as a stick: its level while the target refuses talks."""

    level: Annotated[Param, P("inst_stick")]
    active: StrictBool = True


class Instrument(Sourced):
    """Military aid to the ukraine side or sanctions on the russia side, acting on the war."""

    kind: Literal["aid", "sanctions"]
    owner: str | None = Field(None, description="the mediator who holds it (for the record)")
    level: Annotated[Param, P("inst_level")] = Field(Param(value=1.0), description="1: as in the battlefield's "
                                                     "figures; 0 paused; 2 doubled")
    front_km2: Annotated[Param, P("inst_front")] = Field(Param(value=0.0), description="aid: km2 a month of Russian "
                                                         "advance the aid holds back at level 1 (a pause adds it)")
    casualties: Annotated[Param, P("inst_casualties")] = Field(Param(value=0.0), description="aid: Ukrainian "
                                                               "casualties a month it averts at level 1")
    cost: Annotated[Param, P("inst_cost")] = Field(Param(value=0.0), description="sanctions: monthly cost to the "
                                                   "russia side at level 1, in utility units")
    relief_in_deal: StrictBool = Field(True, description="sanctions: a settlement lifts them (a carrot); false: "
                                       "they stay after a deal, so they weigh on war and peace alike")
    stick: Stick | None = Field(None, description="the level while the target refuses talks (aid: the ukraine "
                                "side; sanctions: the russia side)")


class PartialDeal(Sourced):
    """An agreement separable from the settlement: humanitarian (prisoners, children) or limited (energy, sea)."""

    kind: Literal["humanitarian", "limited"]
    label: str | None = None
    rate: Annotated[Param, P("pd_rate")] = Field(description="monthly chance it is agreed in talks when both sides gain")
    lapse: Annotated[Param, P("pd_lapse")] = Field(Param(value=0.0), description="monthly chance it lapses once in force")
    repeats: StrictBool = Field(False, description="it happens again and again while in force (exchanges): each "
                                "month with chance `rate` another counts")
    value: NumMap = Field(description="per government, what it gains from the deal (< 0: it would rather not)")
    cost_cut: UnitMap = Field({}, description="per government, share of its monthly cost of war removed while in force")
    breakdown_cut: Annotated[Param, P("pd_trust")] = Field(Param(value=0.0), description="share of the chance of "
                                                           "talks breaking down removed while in force")


class Event(Sourced):
    month: StrictInt | None = Field(None, ge=0, description="the month it happens (give month or hazard)")
    hazard: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] | None = Field(
        None, description="instead of a month: its monthly chance; it happens once, at an uncertain month")
    set: dict[str, StrictBool | float]
    note: str | None = None


ACTION_OPS = ("set", "add", "scale")
RESERVED_ACTIONS = ("none", "pass", "list", "help", "model")  # words a player types instead of an action's name


class Change(Sourced):
    """Parameter changes made by an action on the ground (or its cost), as an event makes them, and shifts of a
    public's war-weariness."""

    set: dict[str, StrictBool | float] = Field({}, description="parameter path -> new value (as an event sets it)")
    add: dict[str, float] = Field({}, description="parameter path -> amount added to its value (kept in its range)")
    scale: dict[str, Annotated[float, Field(gt=0.0)]] = Field(
        {}, description="parameter path -> factor its value is multiplied by (kept in its range)")
    weariness: dict[str, Annotated[float, Field(ge=-1.0, le=1.0)]] = Field(
        {}, description="public -> shift of its war-weariness this month (kept in 0..1), as a poll shock moves it")

    def empty(self) -> bool:
        return not (self.set or self.add or self.scale or self.weariness)


class Action(Change):
    """A move on the ground a role may make at the start of a month of a game (``negsim play``, the classroom)."""

    label: str = Field(min_length=1, max_length=80, description="what the action is, in a few words")
    effect: str = Field(min_length=1, max_length=300, description="its expected effect, in a sentence")
    cost: Change | None = Field(None, description="what the action costs the role, in the same form")
    times: StrictInt | None = Field(None, ge=1, description="how many times a role may take it in one game "
                                    "(default: every month)")


class OutcomeClass(Sourced):
    name: str
    when: dict[str, str | list[str]]


class SweepBlock(Strict):
    """A sweep stored with the scenario; `negsim sweep FILE` runs it when no --param is given."""

    design: Literal["grid", "lhs", "sobol", "morris"] = "grid"
    params: dict[str, str | list[StrictBool] | list[float]] = Field(
        min_length=1, description="key path -> values [..], range 'LOW:HIGH:N' or bounds 'LOW..HIGH'")
    points: StrictInt | None = Field(None, ge=2, description="points of a sampled design (values per parameter for a grid over bounds)")
    runs: StrictInt = Field(SWEEP_RUNS, ge=1, description="replicates at every point")
    seed: StrictInt = Field(SEED, ge=0)


class PlayRun(Sourced):
    """The run a game takes by default: ``negsim play``, ``negsim classroom`` and ``negsim explain`` read it when
    no ``--seed`` / ``--replicate`` is given, so a class plan, its answer key and the classroom name one run."""

    seed: StrictInt = Field(ge=0, lt=2**128, description="root seed of the run")
    replicate: StrictInt = Field(0, ge=0, lt=2**32, description="the run of that seed")


class ScenarioModel(Sourced):
    name: str
    description: str | None = None
    extends: str | None = None
    start: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="start month, YYYY-MM")
    horizon_months: StrictInt = Field(ge=1, le=600)
    issues: dict[str, Issue] = Field(min_length=1)
    exclude: list[Exclusion] = []
    battlefield: Battlefield
    actors: dict[str, Actor]
    negotiation: Negotiation
    instruments: dict[str, Instrument] = {}
    partial_deals: dict[str, PartialDeal] = Field({}, max_length=registry.MAX_PARTIAL_DEALS, description=(
        f"at most {registry.MAX_PARTIAL_DEALS}"))
    events: list[Event] = []
    actions: dict[str, dict[str, Action]] = Field({}, description="per role, the actions on the ground it may take "
                                                  "in a game")
    outcome_classes: list[OutcomeClass] = []
    sweep: SweepBlock | None = None
    play: PlayRun | None = Field(None, description="the run negsim play, classroom and explain take when no "
                                 "--seed / --replicate is given")


# --------------------------------------------------------------------------- loading


@dataclass
class ScenarioFile:
    """A scenario file read and merged (``extends:``), valid or not: its text, data and where each key came from.

    The evidence quotes are checked on this, so they are checked even when the
    file fails validation; a file that validates is a :class:`Scenario`.
    """

    path: Path
    text: str
    origin: dict[Key, tuple[str, int, int]] = field(repr=False)
    data: dict = field(default_factory=dict, repr=False)  # the merged plain data the model came from

    def where(self, path: Key) -> tuple[str, int, int]:
        path = tuple(path)
        while path and path not in self.origin:
            path = path[:-1]
        return self.origin.get(path, (str(self.path), 1, 1))

    def problem(self, path: Key, message: str) -> Problem:
        file, line, col = self.where(path)
        return Problem(file, line, col, dotted(path), message)


@dataclass(kw_only=True)
class Scenario(ScenarioFile):
    """A validated scenario: its model (never None), its file, its text and where each key came from."""

    model: ScenarioModel

    @property
    def name(self) -> str:
        return self.model.name

    def actors_of(self, role: str) -> dict[str, Actor]:
        return {k: a for k, a in self.model.actors.items() if a.role == role}

    def governments(self) -> dict[str, Government]:
        return {k: a for k, a in self.model.actors.items() if isinstance(a, Government)}

    def publics(self) -> dict[str, Public]:
        return {k: a for k, a in self.model.actors.items() if isinstance(a, Public)}

    def mediators(self) -> dict[str, Mediator]:
        return {k: a for k, a in self.model.actors.items() if isinstance(a, Mediator)}

    def government_index(self) -> dict[str, int]:
        """Government name -> 0 for the ukraine side, 1 for the russia side."""
        return {k: SIDES.index(a.side) for k, a in self.governments().items()}


def read_scenario(path: str | Path) -> tuple[ScenarioFile, list[Problem]]:
    """Load, merge (`extends:`) and validate a scenario file, without its evidence quotes.

    Returns the file (a :class:`Scenario` when the schema validates) and the
    problems found (schema, then references when the schema validates).
    :func:`sim.scenario.loading.load_scenario` adds the quote check of the next
    stage and raises.
    """
    data, origin, text = _load_merged(Path(path), set())
    model, problems = _validate(data, origin, str(path))
    if model is None:  # references need a valid schema; quotes are checked either way
        return ScenarioFile(path=Path(path), text=text, origin=origin, data=data), problems
    scenario = Scenario(model=model, path=Path(path), text=text, origin=origin, data=data)
    return scenario, problems + check_references(scenario)


def scenario_from_data(data: dict, path: str | Path, text: str) -> Scenario:
    """Rebuild a scenario from its merged data (as stored in a run manifest)."""
    model, problems = _validate(data, {}, str(path))
    if model is None:
        raise ScenarioError(problems)
    sc = Scenario(model=model, path=Path(path), text=text, origin={}, data=data)
    problems = check_references(sc)
    if problems:
        raise ScenarioError(problems)
    return sc


def _load_merged(path: Path, seen: set[Path]) -> tuple[dict, dict, str]:
    doc = read_yaml(path)
    origin = {k: (doc.file, *v) for k, v in doc.positions.items()}
    text = doc.text
    base_name = doc.data.get("extends")
    if base_name is None:
        return doc.data, origin, text
    line, col = doc.positions.get(("extends",), (1, 1))

    def fail(message: str) -> ScenarioError:
        return ScenarioError([Problem(doc.file, line, col, "extends", message)])

    if not isinstance(base_name, str) or not base_name.endswith((".yaml", ".yml")):
        raise fail(f"must name a scenario file ending in .yaml or .yml (got {show_value(base_name)})")
    root = project_root(path)
    try:
        base_path = (path.parent / base_name).resolve()
        inside = base_path.is_relative_to(root)
        found = inside and base_path.is_file()
    except (OSError, ValueError):  # e.g. a name too long for the file system
        inside, found = True, False
    if not inside:
        raise fail(f"must name a scenario file inside the scenario's project {root} (got {show_value(base_name)})")
    if not found:
        raise fail(f"no scenario file to extend (got {show_value(base_name)})")
    if base_path in seen:
        raise fail(f"circular extends (got {show_value(base_name)})")
    base, base_origin, base_text = _load_merged(base_path, seen | {path.resolve()})
    merged = deep_merge(base, {k: v for k, v in doc.data.items() if k != "extends"})
    merged_origin = {**base_origin, **origin}
    return merged, merged_origin, f"# --- {base_name}\n{base_text}\n# --- {path.name}\n{text}"


def project_root(scenario: Path) -> Path:
    """The scenario's project: its folder's nearest ancestor (or itself) holding seeds/ or .git, else its folder."""
    here = scenario.resolve().parent
    for folder in (here, *here.parents):
        try:
            if (folder / "seeds").is_dir() or (folder / ".git").exists():
                return folder
        except OSError:
            continue
    return here


def deep_merge(base: Any, over: Any) -> Any:
    """Mappings merge key by key; anything else in ``over`` replaces ``base``.

    A number given as a mapping (``{value: ...}`` or ``{dist: ...}``) is one
    value: it replaces the base's number whole, sources included. A mapping
    whose ``value:`` is itself a mapping (a partial deal's or a guarantee's
    ``value: {gov: x}``) is not a number: it merges key by key.
    """
    number = isinstance(over, dict) and ("dist" in over or ("value" in over and not isinstance(over["value"], dict)))
    if isinstance(base, dict) and isinstance(over, dict) and not number:
        out = dict(base)
        for k, v in over.items():
            out[k] = deep_merge(base[k], v) if k in base else v
        return out
    return over


def _validate(data: dict, origin: dict, file: str) -> tuple[ScenarioModel | None, list[Problem]]:
    try:
        return ScenarioModel.model_validate(data), []
    except ValidationError as exc:
        return None, [_problem_from(err, data, origin, file) for err in exc.errors(include_url=False)]


def _strip_tags(loc: tuple) -> Key:
    """Drop the discriminator tag pydantic inserts after an actor's name."""
    loc = tuple(loc)
    if len(loc) > 2 and loc[0] == "actors" and loc[2] in ROLES:
        loc = loc[:2] + loc[3:]
    return loc


def _lookup(data: Any, path: Key) -> tuple[bool, Any]:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, data


def _problem_from(err: ErrorDetails, data: dict, origin: dict, file: str) -> Problem:
    path = _strip_tags(err["loc"])
    kind, msg = err["type"], err["msg"]
    where = origin.get(path)
    probe = path
    while where is None and probe:
        probe = probe[:-1]
        where = origin.get(probe)
    file, line, col = where or (file, 1, 1)
    found, value = _lookup(data, path)
    if kind == "extra_forbidden":
        parent = _model_for(path[:-1], data)
        near = difflib.get_close_matches(str(path[-1]), parent, n=1) if parent else []
        msg = "unknown key" + (f"; did you mean {near[0]!r}?" if near else "")
        if parent:
            msg += f" (valid keys: {', '.join(parent)})"
        return Problem(file, line, col, dotted(path), msg)
    if kind == "missing":
        return Problem(file, line, col, dotted(path), "required key is missing")
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return Problem(file, line, col, dotted(path + ("role",)), f"role must be one of {', '.join(ROLES)} (got {show_value(_lookup(data, path + ('role',))[1])})")
    if kind == "negsim":
        return Problem(file, line, col, dotted(path), msg)
    if kind == "too_long" and path == ("partial_deals",) and isinstance(value, dict):
        return Problem(file, line, col, dotted(path), f"at most {registry.MAX_PARTIAL_DEALS} partial deals "
                       f"(got {len(value)}: {', '.join(map(str, value))})")
    got = f" (got {show_value(value)})" if found else ""
    return Problem(file, line, col, dotted(path), msg[0].lower() + msg[1:] + got)


def _model_for(path: Key, data: dict) -> list[str]:
    """Valid keys of the schema object at ``path`` (for 'did you mean')."""
    model: Any = ScenarioModel
    for i, part in enumerate(path):
        if isinstance(part, int):
            continue
        if model is None:
            return []
        info = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if info is None:
            if path[0] == "actors" and i == 1:
                role = _lookup(data, ("actors", part, "role"))[1]
                model = {"government": Government, "public": Public, "mediator": Mediator}.get(role)
                continue
            if model is not None and hasattr(model, "model_fields"):
                return []
            continue
        model = _inner_model(info.annotation)
    return list(model.model_fields) if model is not None and hasattr(model, "model_fields") else []


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------- references


def check_references(sc: Scenario) -> list[Problem]:
    """Checks across keys: references resolve, saliences sum to 1, two governments.

    One method of :class:`_References` per concern, in file order. The checks
    that need a sound scenario (the package space left by the exclusions,
    events, saliences over time, sweep paths) run only when the earlier ones
    found nothing. No check enumerates a package space larger than the engine's
    limit: such a scenario validates, and compiling it is refused
    (:func:`sim.scenario.compile.compile_scenario`).
    """
    check = _References(sc)
    check.sides_and_land()
    check.issues()
    check.links()
    check.exclusions()
    check.governments()
    check.publics()
    check.mediators()
    check.instruments()
    check.partial_deals()
    check.events()
    check.outcome_classes()
    if not check.out:
        check.out += check_event_paths(sc)
        check.out += check_actions(sc)
        if not check.out and (why := zero_salience(sc, {})):
            check.out.append(sc.problem(("events",), why))
        check.sweep_paths()
    return check.out


class _References:
    """The cross-key checks of one scenario; each method appends its problems to ``out``."""

    def __init__(self, sc: Scenario):
        self.sc, self.m = sc, sc.model
        self.out: list[Problem] = []
        self.govs, self.pubs, self.meds = sc.governments(), sc.publics(), sc.mediators()
        self.land = [name for name, issue in self.m.issues.items() if issue.kind == "land"]

    def problem(self, path: Key, message: str) -> None:
        self.out.append(self.sc.problem(path, message))

    def ref(self, path: Key, name: str, valid: Collection[str], what: str) -> bool:
        """Whether ``name`` is one of ``valid``; if not, a problem naming the nearest."""
        if name in valid:
            return True
        near = difflib.get_close_matches(name, list(valid), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        self.problem(path, f"unknown {what} {name!r}{hint} (known: {', '.join(valid) or 'none'})")
        return False

    def options(self, path: Key, issue: str, chosen: str | list[str]) -> None:
        """An issue and one option (or a list of options) of it."""
        if self.ref(path, issue, self.m.issues, "issue"):
            for i, opt in enumerate([chosen] if isinstance(chosen, str) else chosen):
                where = (*path, i) if not isinstance(chosen, str) else path
                self.ref(where, opt, self.m.issues[issue].options, f"option of {issue}")

    def sides_and_land(self) -> None:
        sides = sorted(g.side for g in self.govs.values())
        if sides != ["russia", "ukraine"]:
            self.problem(("actors",), "needs exactly two governments, one with side: ukraine and one with side: "
                                      f"russia (got sides {sides})")
        if len(self.land) > 1:
            self.problem(("issues", self.land[1], "kind"),
                         f"only one issue can be the land issue (got {', '.join(self.land)})")
        if self.land:
            bf = self.m.battlefield
            lo, hi = bf.pre2022_km2.central(), bf.claimed_km2.central()
            if not hi > lo:
                self.problem(("battlefield", "claimed_km2"),
                             f"a land issue needs claimed_km2 above pre2022_km2 (got {hi:g} and {lo:g})")

    def issues(self) -> None:
        for name, issue in self.m.issues.items():
            path = ("issues", name, "no_deal")
            if issue.kind == "land":
                if issue.no_deal is not None:
                    self.problem(path, "a land issue has no `no_deal`: without a deal the expected line of control "
                                       "decides it")
                continue
            bad = [(k, v) for k, v in issue.options.items() if not 0.0 <= v <= 1.0]
            if bad:
                self.problem(("issues", name, "options", bad[0][0]),
                             f"a position must be between 0 and 1 (got {bad[0][1]:g})")
            if issue.no_deal is None:
                self.problem(("issues", name), "no_deal is required for a position issue")
            else:
                self.no_deal(path, issue.no_deal)
        for name, issue in self.m.issues.items():
            if isinstance(issue.separable, str):
                self.ref(("issues", name, "separable"), issue.separable, self.m.partial_deals, "partial deal")

    def links(self) -> None:
        """A link names another issue and an option of it, and an option of its own issue (not the land issue)."""
        for name, issue in self.m.issues.items():
            for i, link in enumerate(issue.links):
                path = ("issues", name, "links", i)
                if issue.kind == "land":
                    self.problem(path, "the land issue cannot be linked: its term follows the line of control "
                                       "(link a position issue)")
                    continue
                if link.requires == name:
                    self.problem((*path, "requires"), f"an issue cannot depend on itself (got {name!r})")
                elif self.ref((*path, "requires"), link.requires, self.m.issues, "issue"):
                    self.ref((*path, "at_least"), link.at_least, self.m.issues[link.requires].options,
                             f"option of {link.requires}")
                self.ref((*path, "otherwise"), link.otherwise, issue.options, f"option of {name}")

    def no_deal(self, path: Key, nd: NoDeal) -> None:
        if (nd.position is None) == (nd.control is None):
            self.problem(path, "give exactly one of `position` or `control`")
        if nd.control is not None:
            xs = [p[0] for p in nd.control]
            if len(xs) < 2 or len(set(xs)) != len(xs):
                self.problem((*path, "control"),
                             f"needs at least two points with distinct km2 values (got {nd.control})")
            if any(not 0.0 <= p[1] <= 1.0 for p in nd.control):
                self.problem((*path, "control"), f"positions must be between 0 and 1 (got {nd.control})")

    def exclusions(self) -> None:
        for i, ex in enumerate(self.m.exclude):
            for issue, opt in ex.match.items():
                self.options(("exclude", i, "match", issue), issue, opt)
        if (self.m.exclude and not self.out and not registry.too_many_packages(self.m)
                and len(registry.package_space(self.m)[2]) == 0):
            self.problem(("exclude",), "the exclusions remove every package: nothing is left to negotiate")

    def governments(self) -> None:
        for name, g in self.govs.items():
            base = ("actors", name)
            for issue in g.ideal:
                if self.ref((*base, "ideal", issue), issue, self.m.issues, "issue") and issue in self.land:
                    self.problem((*base, "ideal", issue), "a land issue takes no ideal: more land is always "
                                                          "better for its holder (remove this key)")
            for issue in g.salience:
                self.ref((*base, "salience", issue), issue, self.m.issues, "issue")
            for issue in self.m.issues:
                if issue not in g.salience:
                    self.problem((*base, "salience"), f"missing issue {issue!r}")
            fixed = [p.value for p in g.salience.values() if p.value is not None]
            if len(fixed) == len(g.salience) and abs(sum(fixed) - 1.0) > 1e-6:
                self.problem((*base, "salience"), f"saliences must sum to 1 (got {sum(fixed):g})")
            self.minimum(base, g)
            for i, rl in enumerate(g.red_lines):
                path = (*base, "red_lines", i)
                if self.ref((*path, "issue"), rl.issue, self.m.issues, "issue"):
                    for j, opt in enumerate(rl.forbid):
                        self.ref((*path, "forbid", j), opt, self.m.issues[rl.issue].options, f"option of {rl.issue}")

    def minimum(self, base: Key, g: Government) -> None:
        """A minimum names an issue; a land minimum is a land share (-1 to 1), a position one a level (0 to 1)."""
        for issue, p in g.minimum.items():
            path = (*base, "minimum", issue)
            if not self.ref(path, issue, self.m.issues, "issue"):
                continue
            lo = -1.0 if issue in self.land else 0.0
            low, high = p.frozen().support() if p.uncertain else (float(p.central()), float(p.central()))
            if low < lo or high > 1.0:
                what = "a land minimum is a land share" if issue in self.land else "a position minimum is a level"
                got = p.describe() if p.uncertain else f"{p.value:g}"
                self.problem(path, f"{what} between {lo:g} and 1 (got {got})")

    def governments_of(self, path: Key, given: Collection[str]) -> None:
        for gov in given:
            self.ref((*path, gov), gov, self.govs, "government")

    def instruments(self) -> None:
        for name, ins in self.m.instruments.items():
            base = ("instruments", name)
            if ins.owner is not None:
                self.ref((*base, "owner"), ins.owner, self.meds, "mediator")
            aid = ins.kind == "aid"
            given = ins.model_fields_set
            for key in ("cost", "relief_in_deal") if aid else ("front_km2", "casualties"):
                if key in given:
                    self.problem((*base, key), f"means nothing for {ins.kind} (it is a key of "
                                               f"{'sanctions' if aid else 'aid'}; remove it)")
            if ins.stick is not None:
                self.stick(base, ins)

    def stick(self, base: Key, ins: Instrument) -> None:
        """A stick must punish its target: aid below its level while Kyiv refuses, sanctions above it on Moscow."""
        aid, stick = ins.kind == "aid", ins.stick
        assert stick is not None
        idle = (ins.front_km2.value == 0 and ins.casualties.value == 0) if aid else ins.cost.value == 0
        if idle:
            what = "front_km2 and casualties" if aid else "cost"
            self.problem((*base, "stick"), f"means nothing: the {ins.kind} has no effect ({what} 0), so "
                                           "withholding or adding it punishes no one")
            return
        level, at = ins.level.value, stick.level.value
        if level is None or at is None:
            return
        if (aid and at >= level) or (not aid and at <= level):
            self.problem((*base, "stick", "level"),
                         f"a stick on {ins.kind} must {'lower' if aid else 'raise'} its level while the target "
                         f"refuses talks ({'below' if aid else 'above'} level {level:g}; got {at:g})")

    def partial_deals(self) -> None:
        for name, pd in self.m.partial_deals.items():
            for key in ("value", "cost_cut"):
                self.governments_of(("partial_deals", name, key), getattr(pd, key))
        self.governments_of(("negotiation", "guarantee", "value"), self.m.negotiation.guarantee.value)

    def events(self) -> None:
        chances = [i for i, ev in enumerate(self.m.events) if ev.hazard is not None]
        for i, ev in enumerate(self.m.events):
            if (ev.month is None) == (ev.hazard is None):
                self.problem(("events", i), "give exactly one of `month` (a timed event) or `hazard` (its monthly "
                                            f"chance) (got {'both' if ev.month is not None else 'neither'})")
        if len(chances) > registry.MAX_HAZARD_EVENTS:
            self.problem(("events", chances[registry.MAX_HAZARD_EVENTS], "hazard"),
                         f"at most {registry.MAX_HAZARD_EVENTS} events with a `hazard` (got {len(chances)})")

    def publics(self) -> None:
        for name, p in self.pubs.items():
            base = ("actors", name)
            self.ref((*base, "government"), p.government, self.govs, "government")
            if p.ratifies and p.ratification is None:
                self.problem(base, "a public that ratifies (ratifies: true) needs `ratification:` "
                                   "(threshold and spread of its vote)")
            for med in p.mediator_preference:
                self.ref((*base, "mediator_preference", med), med, self.meds, "mediator")
            missing = [m for m in self.meds if m not in p.mediator_preference]
            if p.mediator_preference and missing:
                self.problem((*base, "mediator_preference"),
                             f"missing mediator {missing[0]!r} (give a preference for every mediator, or none)")
        owners = [p.government for p in self.pubs.values()]
        for gname in set(owners):
            if owners.count(gname) > 1:
                self.problem(("actors",), f"government {gname!r} has more than one public")

    def mediators(self) -> None:
        for name, med in self.meds.items():
            for key in ("trust", "leverage"):
                given = getattr(med, key)
                for gov in given:
                    self.ref(("actors", name, key, gov), gov, self.govs, "government")
                for gov in self.govs:
                    if gov not in given:
                        self.problem(("actors", name, key), f"missing government {gov!r}")

    def outcome_classes(self) -> None:
        for i, oc in enumerate(self.m.outcome_classes):
            for issue, opt in oc.when.items():
                self.options(("outcome_classes", i, "when", issue), issue, opt)

    def sweep_paths(self) -> None:
        if self.m.sweep is None:
            return
        slots = registry.parameter_slots(self.sc)
        for path in self.m.sweep.params:
            if path not in slots:
                near = difflib.get_close_matches(path, list(slots), n=3, cutoff=0.5)
                hint = f"; nearest: {', '.join(near)}" if near else ""
                self.problem(("sweep", "params", path), f"unknown parameter path{hint}")


def check_event_paths(sc: Scenario) -> list[Problem]:
    """Each event's `set:` keys must name a parameter slot with a value it can take."""
    slots = registry.parameter_slots(sc)
    out = []
    for i, ev in enumerate(sc.model.events):
        if ev.month is not None and ev.month > sc.model.horizon_months:
            out.append(sc.problem(("events", i, "month"), f"is after the horizon of {sc.model.horizon_months} months (got {ev.month})"))
        for path, value in ev.set.items():
            loc = ("events", i, "set", path)
            if why := registry.check_value(slots, path, value):
                out.append(sc.problem(loc, why))
            elif slots[path].name in registry.STARTING and ev.month is None:
                out.append(sc.problem(loc, "is a starting value, read when the run starts: only a month-0 event can set it (got an event with a hazard)"))
            elif slots[path].name in registry.STARTING and ev.month is not None and ev.month > 0:
                out.append(sc.problem(loc, f"is a starting value, read when the run starts: only a month-0 event can set it (got month {ev.month})"))
    return out


def check_actions(sc: Scenario) -> list[Problem]:
    """Each action's role is an actor, its name a word a player can type, its parameter paths and values ones an
    event could set (not a starting value, nor a government's resolve: its private type), its weariness shifts
    name publics, and it and its cost each carry their evidence or assumption."""
    slots, roles, out = registry.parameter_slots(sc), sc.model.actors, []
    for role, acts in sc.model.actions.items():
        if role not in roles:
            near = difflib.get_close_matches(role, list(roles), n=1)
            out.append(sc.problem(("actions", role), f"no actor {role!r}: expected one of {', '.join(roles)}"
                                  + (f" (nearest: {near[0]})" if near else "")))
            continue
        for name, a in acts.items():
            base: Key = ("actions", role, name)
            if not name.isidentifier() or name.lower() in RESERVED_ACTIONS:
                out.append(sc.problem(base, "an action's name must be a word of letters, digits and _ (not "
                                            f"{', '.join(RESERVED_ACTIONS)}) (got {name!r})"))
            if a.empty():
                out.append(sc.problem(base, "changes nothing: give set, add, scale or weariness"))
            for at, part in ((base, a), ((*base, "cost"), a.cost)):
                if part is not None:
                    out += _change_problems(sc, slots, at, part)
    return out


def _change_problems(sc: Scenario, slots: dict[str, registry.Slot], at: Key, ch: Change) -> list[Problem]:
    out = []
    if ch.evidence is None and ch.assumption is None:
        out.append(sc.problem(at, "give its evidence or assumption (why the numbers are what they are)"))
    for op in ACTION_OPS:
        for path, value in getattr(ch, op).items():
            loc = (*at, op, path)
            if op == "set":
                why = registry.check_value(slots, path, value)
            elif path not in slots:
                why = registry.check_value(slots, path, 0.0)
            else:
                why = f"{op} needs a number, and {path} is a switch (use set)" if slots[path].kind == "switch" \
                    else registry.too_large(float(value))
            if why is None and slots[path].name in (*registry.STARTING, "resolve"):
                why = ("is a government's resolve, its private type: no action changes it"
                       if slots[path].name == "resolve" else "is a starting value, read when the run starts: "
                       "no action changes it")
            if why:
                out.append(sc.problem(loc, why))
    for public in ch.weariness:
        if public not in sc.publics():
            out.append(sc.problem((*at, "weariness", public), f"no public {public!r}: expected one of "
                                  f"{', '.join(sc.publics())}"))
    return out


def zero_salience(sc: Scenario, overrides: dict[str, Any]) -> str | None:
    """Why a government's saliences would all be 0 (at the start, or after an event), or None.

    ``overrides`` fixes values by key path (a sweep point); an uncertain
    salience counts as one that can be above 0.
    """
    for gov, actor in sc.governments().items():
        base = f"actors.{gov}.salience."
        state = {k: (p.uncertain or p.value != 0) for k, p in actor.salience.items()}
        state |= {k[len(base):]: float(v) != 0 for k, v in overrides.items() if k.startswith(base)}
        if not any(state.values()):
            return f"{base[:-1]}: every salience is 0, so no package matters to {gov} (give at least one above 0)"
        # An event with a hazard can fire at any month: counted after the timed ones (the latest it can come).
        for ev in sorted(sc.model.events, key=lambda e: math.inf if e.month is None else e.month):
            state |= {k[len(base):]: float(v) != 0 for k, v in ev.set.items() if k.startswith(base)}
            if not any(state.values()):
                when = f"month {ev.month}" if ev.month is not None else "an uncertain month"
                return f"{base[:-1]}: every salience is 0 from {when} (set by an event), so no package matters to {gov}"
    return None
