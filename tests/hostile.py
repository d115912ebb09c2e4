"""A scenario whose every string is an injection payload, for the tests that show it in a page.

The baseline is rewritten: every name (scenario, actors, issues, options, preconditions, outcome classes) and
every free-form text (labels, description, assumptions, notes, evidence quotes) becomes a payload that would
run script if a page parsed it as HTML or as a template. Names are keys of key paths (``actors.NAME.resolve``),
so their payloads hold no dot: they call ``alert``, which a test sees as a dialog. The free-form texts set the
page's title or log a marker to the console. Evidence quotes must appear in a document of seeds/: the scenario
is written into a folder of its own with a seeds/ document that holds the quotes.
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

import yaml

MARK = "negsim-xss-ran"  # what a payload that runs logs on the console or sets as the title
ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"

# Payloads for names: no dot (key paths), each a different way into a page.
NAME_PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "$\\notacommand{$ ",  # a figure's text: matplotlib must not read it as math
    "</script><script>alert(2)</script>",
    "\" onmouseover=alert(3) x=\"",
    "' onfocus=alert(4) autofocus x='",
    "<svg onload=alert(5)>",
    "javascript:alert(6)",
    "{{alert(7)}}",
    "<iframe srcdoc='<script>alert(8)</script>'>",
    "${alert(9)}",
]
# Payloads for free-form texts: anything goes.
TEXT_PAYLOADS = [
    f"<img src=x onerror=\"document.title='{MARK}'\">",
    f"</script><script>console.log('{MARK}');document.title='{MARK}'</script>",
    f"\" onmouseover=\"document.title='{MARK}'\" data-x=\"",
    f"' onerror='console.log(`{MARK}`)' x='",
    f"javascript:console.log('{MARK}')",
    f"{{{{constructor.constructor('document.title=\"{MARK}\"')()}}}}",
    f"<a href=\"javascript:document.title='{MARK}'\">click</a>",
    f"<style>@import 'http://127.0.0.2/{MARK}.css';</style><b>bold</b>",
    f"[x](javascript:alert(1)) **{MARK}** <details open ontoggle=alert(10)>",
]
FREE_KEYS = ("label", "description", "assumption", "note")


def _names(data: dict[str, Any]) -> list[str]:
    """Every name in the baseline that the payload scenario renames: actors, issues, options, preconditions,
    outcome classes (in a stable order)."""
    names = list(data["actors"]) + list(data["issues"])
    for issue in data["issues"].values():
        names += [o for o in issue["options"] if o not in names]
    for actor in data["actors"].values():
        names += [p["name"] for p in actor.get("preconditions", []) if p["name"] not in names]
    names += [c["name"] for c in data.get("outcome_classes", [])]
    return names


def _rename(node: Any, names: dict[str, str]) -> Any:
    """Every key and string equal to a name, renamed; key paths (``a.b.c``) renamed part by part."""
    if isinstance(node, dict):
        return {_rename(k, names): _rename(v, names) for k, v in node.items()}
    if isinstance(node, list):
        return [_rename(v, names) for v in node]
    if isinstance(node, str):
        if node in names:
            return names[node]
        if "." in node and not node.startswith(("0", "1")):
            return ".".join(names.get(part, part) for part in node.split("."))
    return node


def _texts(node: Any, texts: itertools.cycle, quotes: list[str]) -> None:
    """Every free-form text set to the next payload; every evidence quote too (collected in ``quotes``)."""
    if isinstance(node, list):
        for v in node:
            _texts(v, texts, quotes)
        return
    if not isinstance(node, dict):
        return
    for k, v in list(node.items()):
        if k in FREE_KEYS and isinstance(v, str):
            node[k] = next(texts)
        elif k == "evidence" and isinstance(v, dict):
            quote = next(texts)
            quotes.append(quote)
            node[k] = {"doc": "payloads.txt", "quote": quote}
        else:
            _texts(v, texts, quotes)


def hostile_data() -> tuple[dict[str, Any], list[str], dict[str, str]]:
    """The baseline's data with every string a payload; the evidence quotes; and the names' new names."""
    data = yaml.safe_load(BASELINE.read_text())
    # an event that changes nothing (Kyiv's resolve, set to its value) but is told month by month, with a note
    data["events"] = [{"month": 1, "set": {"actors.kyiv.resolve": 0.35}, "note": "", "assumption": ""}]
    payloads = itertools.cycle(NAME_PAYLOADS)
    names = {name: f"{next(payloads)}{i}" for i, name in enumerate(_names(data))}
    data = _rename(copy.deepcopy(data), names)
    quotes: list[str] = []
    _texts(data, itertools.cycle(TEXT_PAYLOADS), quotes)
    for actor in data["actors"].values():  # every actor has a label, not only those the baseline labels
        actor.setdefault("label", TEXT_PAYLOADS[len(actor) % len(TEXT_PAYLOADS)])
    for issue in data["issues"].values():
        issue["label"] = TEXT_PAYLOADS[0] + " " + TEXT_PAYLOADS[5]
    data["name"] = TEXT_PAYLOADS[0]
    data["description"] = " ".join(TEXT_PAYLOADS)
    return data, quotes, names


def write_hostile(folder: Path) -> Path:
    """Write the payload scenario into ``folder`` (with its seeds/ document); returns the scenario file."""
    data, quotes, _ = hostile_data()
    (folder / "seeds").mkdir(parents=True, exist_ok=True)
    (folder / "seeds" / "payloads.txt").write_text("\n\n".join(quotes) + "\n", encoding="utf-8")
    path = folder / "hostile.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
