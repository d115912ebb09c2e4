"""The JSON Schema of scenario files (draft 2020-12), built from the pydantic models.

What ``negsim schema`` prints, for editors (the YAML language server) and
for tools such as ``check-jsonschema``:

* every key has a title and a description, taken from the key reference of
  docs/scenarios.md (held in :mod:`sim.scenario.schema_text`; a test keeps the two
  the same text: regenerate with ``python -m sim.scenario.schema docs/scenarios.md``),
  or, for a key those tables do not list yet, from its pydantic field's
  ``description``;
* a number's range holds in all three forms: plain, ``{value: ...}`` and
  ``{dist: ...}``, whose arguments must keep the distribution's support
  inside the range (a normal distribution is refused for a bounded number);
* each distribution takes exactly its own arguments (``if``/``then`` on
  ``dist``), and each actor exactly its role's keys (``if``/``then`` on
  ``role``);
* a file with ``extends:`` is a variant: the same keys, none required, and
  an actor override may leave out ``role``.

``negsim validate`` stays the authority: references between keys, sums of
saliences, quotes and event paths are checked there, not here.
"""

from __future__ import annotations

import copy
import re
import sys
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter

from sim.scenario import models as S

SCHEMA_ID = "urn:negsim:scenario-schema:1"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

# Headings of docs/scenarios.md whose "| Key | Type | Default | Meaning |" table describes a model.
SECTIONS = {
    "Top level": "ScenarioModel", "Issues": "Issue", "No-deal": "NoDeal", "Links": "Link", "Exclusions": "Exclusion",
    "Battlefield": "Battlefield", "Normal blocks": "Normal", "Government": "Government", "Belief": "Belief",
    "Casualties": "Casualties", "Red line": "RedLine", "Precondition": "Precondition", "Public": "Public",
    "Ratification": "Ratification", "Mediator": "Mediator", "Negotiation": "Negotiation",
    "Events: timed changes": "Event", "Ceasefire": "Ceasefire", "Relapse": "Relapse", "Guarantee": "Guarantee",
    "Instruments": "Instrument", "Stick": "Stick", "Partial deals": "PartialDeal", "A stored sweep": "SweepBlock", "The run a game takes": "PlayRun", "Outcome classes": "OutcomeClass",
    "Source keys": "Sourced", "Evidence": "Evidence", "Actions on the ground": "Action", "Cost of an action": "Change",
}
MODELS: dict[str, type[BaseModel]] = {
    name: getattr(S, name) for name in set(SECTIONS.values())
}


def parse_reference(markdown: str) -> dict[str, dict[str, dict[str, str]]]:
    """{model: {key: {type, default, meaning}}} from the key tables of docs/scenarios.md."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    model, fenced = None, False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if fenced:
            continue
        if line.startswith("#"):
            title = line.lstrip("#").strip()
            model = next((m for h, m in SECTIONS.items() if title == h or title.startswith((h + " (", h + ":"))),
                         None)
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("| `") else []
        if model is not None and len(cells) == 4:
            key = cells[0].strip("`")
            out.setdefault(model, {})[key] = {"type": _plain(cells[1]), "default": _plain(cells[2]),
                                              "meaning": _plain(cells[3])}
    return out


def _plain(md: str) -> str:
    """Markdown cell text without links and backticks."""
    return re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", md).replace("`", "")


# --------------------------------------------------------------------------- numbers


def _bound(schema: dict, b: S.Bounds, exclusive: bool = True) -> dict:
    if b.lo is not None:
        schema["exclusiveMinimum" if b.lo_open and exclusive else "minimum"] = b.lo
    if b.hi is not None:
        schema["exclusiveMaximum" if b.hi_open and exclusive else "maximum"] = b.hi
    return schema


def _support_ok(dist: str, b: S.Bounds) -> bool:
    """Can this distribution be used at all within the bounds (an unbounded support cannot)?"""
    if dist == "normal":
        return b.lo is None and b.hi is None
    if dist == "lognormal":  # support (0, inf)
        return (b.lo is None or b.lo <= 0) and b.hi is None
    return True


def _dist_branch(dist: str, b: S.Bounds) -> dict:
    needed, optional = S.DISTS[dist], S.DIST_OPTIONAL.get(dist, ())
    props: dict[str, Any] = {}
    required = list(needed)
    for end, default in (("low", 0.0), ("high", 1.0)):
        if end not in needed + optional:
            continue
        arg: dict[str, Any] = {}
        if end == "low" and b.lo is not None:
            arg["minimum"] = b.lo
        if end == "high" and b.hi is not None:
            arg["maximum"] = b.hi
        props[end] = arg
        if end in optional and ((end == "low" and b.lo is not None and default < b.lo)
                                or (end == "high" and b.hi is not None and default > b.hi)):
            required.append(end)  # its default would leave the range
    if dist == "triangular":
        for k in ("mode",):
            props[k] = _bound({}, S.Bounds(b.lo, b.hi), exclusive=False)
    if dist in ("truncnormal", "normal", "lognormal"):
        positive = "sd" if dist != "lognormal" else "sigma"
        props[positive] = {"exclusiveMinimum": 0}
    if dist == "beta":
        props |= {"a": {"exclusiveMinimum": 0}, "b": {"exclusiveMinimum": 0}}
    allowed = ["dist", *needed, *optional, *S.SOURCE_KEYS]
    return {"if": {"properties": {"dist": {"const": dist}}, "required": ["dist"]},
            "then": {"required": required, "propertyNames": {"enum": allowed}, "properties": props}}


def param_schema(b: S.Bounds) -> dict:
    """A number in its three forms, with the range enforced in each."""
    dists = [d for d in S.DISTS if _support_ok(d, b)]
    args = sorted({a for d in dists for a in S.DISTS[d] + S.DIST_OPTIONAL.get(d, ())})
    value = _bound({"type": "number"}, b)
    return {"anyOf": [
        value,
        {"type": "object", "required": ["value"], "additionalProperties": False,
         "properties": {"value": value, **_source_props()}},
        {"type": "object", "required": ["dist"], "additionalProperties": False,
         "properties": {"dist": {"enum": dists}, **{a: ({"type": "array", "items": {"type": "number"}, "minItems": 2} if a == "values"
                                                   else {"type": "number"}) for a in args}, **_source_props()},
         "allOf": [_dist_branch(d, b) for d in dists]},
    ]}


def _source_props() -> dict:
    return {"evidence": {"$ref": "#/$defs/Evidence"}, "assumption": {"type": "string"}}


def _range_words(b: S.Bounds) -> str:
    if b.lo is None and b.hi is None:
        return "any number"
    if b.lo is not None and b.hi is not None:
        return f"a number from {b.lo:g} to {b.hi:g}" + (" (excluded)" if b.hi_open else "")
    return f"a number {'>' if b.lo_open else '>='} {b.lo:g}"


# --------------------------------------------------------------------------- models


def _marker(metadata: Any, kind: type) -> Any:
    return next((m for m in metadata if isinstance(m, kind)), None)


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _contains_model(t: Any) -> bool:
    return _is_model(t) or any(_contains_model(a) for a in get_args(t))


class _Builder:
    def __init__(self, text: dict[str, dict[str, dict[str, str]]]):
        self.text = text
        self.defs: dict[str, dict] = {}
        self.missing: list[str] = []

    def ref(self, model: type[BaseModel], variant: bool) -> dict:
        name = model.__name__ + ("Variant" if variant else "")
        if name not in self.defs:
            self.defs[name] = {}  # placeholder against recursion
            self.defs[name] = self.model(model, variant)
        return {"$ref": f"#/$defs/{name}"}

    def model(self, model: type[BaseModel], variant: bool) -> dict:
        props, required = {}, []
        for key, info in model.model_fields.items():
            schema = self.field(info.annotation, info.metadata, variant)
            owner = next((c.__name__ for c in model.__mro__ if key in getattr(c, "__annotations__", {})),
                         model.__name__)
            row = self.text.get(owner, {}).get(key) or self.text.get(model.__name__, {}).get(key)
            if row is None and info.description:  # a key the docs' tables do not list yet: its field's own text
                row = {"type": "", "default": "", "meaning": info.description}
            if row is None:
                self.missing.append(f"{model.__name__}.{key}")
                row = {"type": "", "default": "", "meaning": ""}
            desc = row["meaning"] or key
            extra = f" ({row['type']}; {row['default']})" if row["type"] else ""
            schema = {"title": key.replace("_", " "), "description": desc + extra, **schema}
            props[key] = schema
            if info.is_required() and not variant:
                required.append(key)
        out: dict[str, Any] = {"type": "object", "title": model.__name__,
                               "description": (model.__doc__ or model.__name__).strip().splitlines()[0],
                               "properties": props, "additionalProperties": False}
        if required:
            out["required"] = required
        return out

    def field(self, ann: Any, metadata: list, variant: bool) -> dict:
        if get_origin(ann) is Annotated:
            base, *meta = get_args(ann)
            return self.field(base, [*meta, *metadata], variant)
        if (b := _marker(metadata, S.Bounds)) is not None:
            return {"$comment": _range_words(b), **param_schema(b)}
        if (m := _marker(metadata, S.SourcedMap)) is not None:
            return {"type": "object", "properties": _source_props(), "additionalProperties": param_schema(m.bounds)}
        if _is_model(ann):
            return self.ref(ann, variant)
        origin, args = get_origin(ann), get_args(ann)
        if origin in (Union, types.UnionType) and any(_is_model(a) for a in args):
            models = [a for a in args if _is_model(a)]
            if set(models) == {S.Government, S.Public, S.Mediator}:
                return self.actor(variant)
            parts = [self.field(a, [], variant) for a in args if a is not type(None)]
            if type(None) in args:
                parts.append({"type": "null"})
            return parts[0] if len(parts) == 1 else {"anyOf": parts}
        if origin is list and _contains_model(args[0]):
            return {"type": "array", "items": self.field(args[0], [], variant), **_lengths(metadata, "Items")}
        if origin is dict and _contains_model(args[1]):
            return {"type": "object", "additionalProperties": self.field(args[1], [], variant),
                    **_lengths(metadata, "Properties")}
        plain = TypeAdapter(Annotated[ann, *metadata]) if metadata else TypeAdapter(ann)
        schema = plain.json_schema()
        schema.pop("title", None)
        return schema

    def actor(self, variant: bool) -> dict:
        roles: dict[str, type[BaseModel]] = {"government": S.Government, "public": S.Public, "mediator": S.Mediator}
        branches = [{"if": {"properties": {"role": {"const": r}}, "required": ["role"]},
                     "then": self.ref(m, variant)} for r, m in roles.items()]
        out: dict[str, Any] = {"type": "object", "properties": {"role": {"enum": list(roles)}}, "allOf": branches}
        if variant:  # an override of an inherited actor may leave out its role
            branches.append({"if": {"not": {"required": ["role"]}},
                             "then": {"anyOf": [self.ref(m, True) for m in roles.values()]}})
        else:
            out["required"] = ["role"]
        return out


def _lengths(metadata: list, what: str) -> dict:
    out = {}
    for m in metadata:
        if getattr(m, "min_length", None) is not None:
            out[f"min{what}"] = m.min_length
        if getattr(m, "max_length", None) is not None:
            out[f"max{what}"] = m.max_length
    return out


def build_schema() -> dict:
    """The JSON Schema of a scenario file: a full scenario, or a variant when it has ``extends:``."""
    from sim.scenario.schema_text import TEXT

    b = _Builder(TEXT)
    full = b.ref(S.ScenarioModel, False)
    variant = b.ref(S.ScenarioModel, True)
    b.ref(S.Evidence, False)
    evidence = b.defs["Evidence"]["properties"]["doc"]
    evidence |= {"minLength": 1, "maxLength": 255, "pattern": r"^[^/\\]+$", "not": {"enum": [".", ".."]}}
    b.defs["Evidence"]["properties"]["quote"]["minLength"] = 3
    if "kind" in b.defs.get("Issue", {}).get("properties", {}):  # a position issue (the default kind): [0, 1], no_deal
        b.defs["Issue"]["if"] = {"not": {"required": ["kind"], "properties": {"kind": {"const": "land"}}}}
        b.defs["Issue"]["then"] = {"required": ["no_deal"],
                                   "properties": {"options": {"additionalProperties": {"minimum": 0, "maximum": 1}}}}
        b.defs["Issue"]["else"] = {"not": {"required": ["no_deal"]}}
    if "Event" in b.defs:  # exactly one of month and hazard (a variant's events replace the base's: whole too)
        for name in ("Event", "EventVariant"):
            b.defs[name]["oneOf"] = [{"required": ["month"]}, {"required": ["hazard"]}]
    if b.missing:
        raise RuntimeError(f"keys without a description (docs/scenarios.md or the field): {', '.join(b.missing)}")
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "negsim scenario",
        "description": "A negsim scenario file (YAML). A file with `extends:` is a variant of its base: "
                       "the same keys, none required. `negsim validate` also checks references, sums, "
                       "quotes and event paths.",
        "type": "object",
        # the keys once more at the top, for editors that complete from `properties` only
        "properties": copy.deepcopy(b.defs["ScenarioModelVariant"]["properties"]),
        "if": {"required": ["extends"]},
        "then": variant,
        "else": full,
        "$defs": copy.deepcopy(b.defs),
    }


def _write_text(markdown_path: str) -> None:
    """``python -m sim.scenario.schema docs/scenarios.md``: print sim/scenario/schema_text.py for the docs' key tables."""
    with open(markdown_path, encoding="utf-8") as fh:
        text = parse_reference(fh.read())
    lines = ['"""Descriptions of scenario keys: generated from docs/scenarios.md by `python -m sim.scenario.schema '
             'docs/scenarios.md`."""', "", "TEXT = {"]
    for model in sorted(text):
        lines.append(f"    {model!r}: {{")
        for key, row in text[model].items():
            lines.append(f"        {key!r}: {row!r},")
        lines.append("    },")
    lines.append("}")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":  # pragma: no cover
    _write_text(sys.argv[1])

