"""The report: one self-contained HTML page of batches, a sweep or a comparison (and the same page as PDF).

:func:`read_source` tells what a run directory holds (a batch of ``negsim
run``, a sweep of ``negsim sweep``, a comparison of ``negsim compare``) and
refuses anything else with a message naming the folder and what was expected.
:func:`build_report` turns one or more of them into the page:

- the question: scenario name and description, runs, seed, engine, dates;
- the assumptions: every parameter with its quote or stated assumption
  (:func:`sim.scenario.evidence.table`); for several batches, what differs from the first;
- outcome probabilities with their 95% Wilson intervals, the agreed terms, the
  timing of talks and agreements, the land that changes hands: all read from
  the run's own ``summary.json`` (:func:`sim.runs.summary.summarize`), never
  recomputed another way;
- the figures (:mod:`sim.present.plots`), embedded as ``data:`` URIs;
- what changed against the first batch (the baseline): the paired comparison of
  :mod:`sim.analysis.paired` when the batches share seed and runs (common random
  numbers), else the unpaired one, saying why.

The page is built as data (sections of :class:`Table`, :class:`Para`,
:class:`Figure` ... parts) and rendered by the Jinja2 template
``sim/present/templates/report.html.j2`` (with its style sheet ``report.css``),
shipped in the package. The template escapes every value (autoescape): no HTML
is written in Python, so a scenario or actor named ``<script>`` shows as text.

The page fetches nothing: no script, no external style sheet, font or image;
its Content-Security-Policy forbids any fetch but ``data:`` images.
:func:`write_pdf` renders the same page with WeasyPrint (the ``report``
extra), with a URL fetcher that refuses everything but ``data:``.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, cast

import jinja2
import markupsafe
import pandas as pd

from sim.engine.records import OUTCOMES
from sim.errors import ScenarioError, StoreError, UsageError
from sim.runs import store
from sim.scenario.models import Scenario, scenario_from_data

KINDS = ("batch", "sweep", "comparison")
EXPECTED = ("a run directory of `negsim run` (a batch), `negsim sweep` (a sweep) or `negsim compare` "
            "(a comparison), holding manifest.json")
OUTCOME_TEXT = {"no_talks": "no talks", "talks_failed": "talks failed", "agreement": "agreement"}
SUMMARY_KEYS = {"batch": ("outcomes", "outcome_classes", "talks_month", "agreement_month", "terms"),
                "sweep": ("points",), "comparison": ("comparisons",)}
TIMING = (("talks_month", "talks first open"), ("agreement_month", "agreement"),
          ("kursk_retaken_month", "Kursk area retaken"))


# --------------------------------------------------------------------------- reading run directories


@dataclass
class Source:
    """One run directory given to the report: its kind, manifest, scenario and summary."""

    path: Path
    kind: str
    manifest: dict[str, Any]
    summary: dict[str, Any]
    scenario: Scenario | None = None
    scenario_problem: str | None = None
    label: str = ""

    @property
    def name(self) -> str:
        return str(self.manifest.get("scenario", {}).get("name", self.path.name))


def read_source(path: str | Path) -> Source:
    """Read a run directory and tell its kind; :class:`UsageError` or :class:`StoreError` if it is none of them."""
    p = Path(path)
    if not p.is_dir():
        what = "does not exist" if not p.exists() else "is not a folder"
        raise UsageError(f"{path}: {what}; expected {EXPECTED}")
    if not (p / "manifest.json").is_file():
        raise UsageError(f"{path}: not a run directory (no manifest.json); expected {EXPECTED}")
    manifest = store.read_manifest(p)
    kind = manifest.get("kind")
    if kind not in KINDS:
        raise UsageError(f"{p / 'manifest.json'}: kind {kind!r} is not one the report reads; expected {EXPECTED}")
    status = manifest.get("status")
    if status != "complete":
        hint = f"; finish it with: negsim resume {p}" if kind != "comparison" else ""
        raise UsageError(f"{p}: the {kind} is not complete (status {status!r}){hint}")
    needed = {"batch": ("results.parquet", "summary.json"), "sweep": ("results.parquet", "points.parquet", "summary.json"),
              "comparison": ("comparison.json",)}[kind]
    missing = [f for f in needed if not (p / f).is_file()]
    if missing:
        raise StoreError(f"{p}: a complete {kind} without {', '.join(missing)}; expected {EXPECTED}")
    if kind != "comparison":
        store.check_manifest(p, manifest)
    name = "comparison.json" if kind == "comparison" else "summary.json"
    summary = _read_json(p / name)
    lacking = [k for k in SUMMARY_KEYS[kind] if not isinstance(summary.get(k), dict | list)]
    if lacking:
        raise StoreError(f"{p / name}: not the {name} of a {kind} (no {', '.join(lacking)}); "
                         f"it was edited or written by another program")
    source = Source(p, kind, manifest, summary)
    if kind != "comparison":
        _attach_scenario(source)
    return source


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise StoreError(f"{path}: cannot read ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise StoreError(f"{path}: corrupt JSON ({exc})") from None
    if not isinstance(data, dict):
        raise StoreError(f"{path}: expected a JSON object (got {type(data).__name__})")
    return data


def _attach_scenario(source: Source) -> None:
    """The scenario stored in the manifest; a scenario this negsim no longer reads is noted, not fatal."""
    sc = source.manifest["scenario"]
    try:
        source.scenario = scenario_from_data(sc["data"], sc.get("path", "scenario.yaml"), sc.get("text", ""))
    except ScenarioError as exc:
        source.scenario_problem = f"the stored scenario no longer validates ({exc.problems[0]})"
    except (KeyError, TypeError) as exc:
        source.scenario_problem = f"the manifest holds no scenario data ({exc})"


def _label(sources: list[Source]) -> None:
    """Each batch's label: its scenario name, with the folder's name when two batches share it."""
    names = [s.name for s in sources]
    for s in sources:
        s.label = s.name if names.count(s.name) == 1 else f"{s.name} ({s.path.name})"


# --------------------------------------------------------------------------- the page's parts
#
# The page is data: sections of parts (tables, paragraphs, figures ...), rendered by the Jinja2 template
# templates/report.html.j2 with autoescape. No HTML is written here, so nothing is escaped by hand.


@dataclass(frozen=True)
class Cell:
    """A table cell; ``data`` are its machine-readable ``data-`` attributes (exact values for tests and
    scrapers), ``cls`` its class (``None``: no class attribute)."""

    text: Any = ""
    data: tuple[tuple[str, str], ...] = ()
    cls: str | None = None
    kind: ClassVar[str] = "cell"


@dataclass(frozen=True)
class EvidenceCell:
    """The source of a parameter: what kind of source it is, above the quote or assumption itself."""

    label: str
    text: str
    cls: str
    kind: ClassVar[str] = "evidence"


@dataclass(frozen=True)
class Table:
    head: Sequence[str]
    rows: list[list[Cell | EvidenceCell]]
    cls: str = ""
    caption: str = ""
    scroll: bool = False  # in a box that scrolls sideways when the table is wider than the page
    kind: ClassVar[str] = "table"


@dataclass(frozen=True)
class Para:
    text: str
    cls: str = ""
    kind: ClassVar[str] = "para"


@dataclass(frozen=True)
class Heading:
    text: str
    kind: ClassVar[str] = "heading"


@dataclass(frozen=True)
class Facts:
    """A two-column table of facts (name, value)."""

    rows: list[tuple[str, Any]]
    kind: ClassVar[str] = "facts"


@dataclass(frozen=True)
class BatchList:
    """The batches compared: (label, scenario file, description) each."""

    items: list[tuple[str, str, str]]
    kind: ClassVar[str] = "batches"


@dataclass(frozen=True)
class Figure:
    src: str  # a data: URI
    alt: str
    kind: ClassVar[str] = "figure"


Part = Table | Para | Heading | Facts | BatchList | Figure


def pct(p: Any, digits: int = 1) -> str:
    return "–" if p is None or _nan(p) else f"{100 * float(p):.{digits}f}%"


def pts(d: Any) -> str:
    return "–" if d is None or _nan(d) else f"{100 * float(d):+.1f}"


def num(x: Any, fmt: str = ".1f") -> str:
    return "–" if x is None or _nan(x) else format(float(x), fmt)


def _nan(x: Any) -> bool:
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def interval(lo: Any, hi: Any) -> str:
    return f"{pct(lo)} – {pct(hi)}"


def cell(text: Any, **data: Any) -> Cell:
    """A table cell with ``data-`` attributes (a float is written with ``repr``: every digit)."""
    return Cell(text, tuple((k.replace("_", "-"), repr(float(v)) if isinstance(v, float) else str(v))
                            for k, v in data.items() if v is not None))


def table(head: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "", caption: str = "",
          scroll: bool = False) -> Table:
    """A table; a value that is not a :class:`Cell` becomes one without attributes."""
    body = [[c if isinstance(c, Cell | EvidenceCell) else Cell(c) for c in row] for row in rows]
    return Table(list(head), body, cls, caption, scroll)


def para(text: str, cls: str = "") -> Para:
    return Para(text, cls)


def img(png: bytes, alt: str) -> Figure:
    return Figure("data:image/png;base64," + base64.b64encode(png).decode("ascii"), alt)


@dataclass
class Page:
    """The page being built: its sections in order."""

    title: str
    sections: list[tuple[str, str, list[Part]]] = field(default_factory=list)
    figures: int = 0

    def section(self, anchor: str, heading: str, *parts: Part | None) -> None:
        self.sections.append((anchor, heading, [p for p in parts if p is not None]))

    def html(self, version: str) -> str:
        return _templates().get_template("report.html.j2").render(page=self, version=version)


@functools.cache
def _templates() -> jinja2.Environment:
    """The report's templates, shipped in the package (``sim/present/templates``), escaping every value."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("sim.present", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["wrap"] = wrap_hints
    return env


# Where a long word of a table cell (LONG_WORD characters or more: an identifier, a path, a list of options) may
# wrap besides the spaces: after an underscore or a slash before a letter or digit (recognised_as_<wbr>russian,
# runs/<wbr>2026...), after a dot between letters (actors.<wbr>kyiv.<wbr>resolve). Never inside a number (0.001,
# 2,000, -21.6) nor a short identifier (hawkish_public): the style sheet lets a word break nowhere else, and a
# piece of a long word with a hyphen is kept on one line (20261206-093159-baseline).
WRAP_AT = re.compile(r"(?<=\w[_/])(?=\w)|(?<=[A-Za-z]\.)(?=[A-Za-z])")
LONG_WORD = 19
LONG_WORDS = re.compile(rf"\S{{{LONG_WORD},}}")


def wrap_hints(text: Any) -> markupsafe.Markup:
    """``text`` escaped, with a ``<wbr>`` at each place :data:`WRAP_AT` lets a long word wrap."""
    raw, done = str(text), 0
    out: list[str] = []
    for word in LONG_WORDS.finditer(raw):  # long as written, not as escaped
        out.append(markupsafe.escape(raw[done:word.start()]))
        out.append("<wbr>".join(f'<span class="nobr">{markupsafe.escape(p)}</span>' if "-" in p
                                else markupsafe.escape(p) for p in WRAP_AT.split(word.group())))
        done = word.end()
    out.append(markupsafe.escape(raw[done:]))
    return markupsafe.Markup("".join(out))


# --------------------------------------------------------------------------- sections shared by every kind


def _facts(rows: Sequence[tuple[str, Any]]) -> Facts:
    return Facts([(k, v) for k, v in rows if v not in (None, "")])


def _description(source: Source) -> str:
    data = source.manifest.get("scenario", {}).get("data") or {}
    text = data.get("description") if isinstance(data, dict) else None
    return str(text) if text else ""


def _run_facts(source: Source) -> list[tuple[str, Any]]:
    m = source.manifest
    timing = m.get("timing", {})
    wall = timing.get("wall_seconds")
    return [("scenario", source.name), ("scenario file", m.get("scenario", {}).get("path")),
            ("runs per point" if source.kind == "sweep" else "runs",
             f"{m.get('runs'):,}" if isinstance(m.get("runs"), int) else m.get("runs")),
            ("seed", m.get("seed")), ("engine", m.get("engine")),
            ("started", timing.get("started")), ("finished", timing.get("finished")),
            ("wall time", f"{wall:.1f} s" if isinstance(wall, int | float) else None),
            ("negsim", m.get("code_version")), ("command", m.get("command")), ("run directory", str(source.path))]


def evidence_rows(sc: Scenario) -> list[Any]:
    from sim.scenario.evidence import table as evidence_table

    return evidence_table(sc)


def _evidence_cell(kind: str, source: str, inherited: bool) -> EvidenceCell:
    label = {"evidence": "quote", "assumption": "assumption", "none": "no source"}[kind]
    via = " (inherited)" if inherited and kind != "none" else ""
    cls = "quote" if kind == "evidence" else ("none" if kind == "none" else "")
    return EvidenceCell(label + via, source or "no quote or assumption given", cls)


def assumptions_section(page: Page, sources: list[Source], swept: Sequence[str] = ()) -> None:
    """Every parameter of the first scenario with its quote or assumption; what the others change."""
    from sim.scenario.evidence import coverage

    base = sources[0]
    if base.scenario is None:
        page.section("assumptions", "Assumptions and their sources",
                     para(f"The assumptions of {base.label} cannot be listed: {base.scenario_problem}.", "note"))
        return
    rows = evidence_rows(base.scenario)
    cov = coverage(rows)
    intro = para(f"{cov['entries']} entries of {base.label}: {cov['evidence']:.0%} backed by a quote from the "
                 f"source document, {cov['assumption']:.0%} by a stated assumption, {cov['none']:.0%} without "
                 f"a source (as `negsim evidence` lists them).")
    note = para("Swept parameters take the values of each point instead of those below: "
                + ", ".join(swept) + ".", "note") if swept else None
    parts: list[Part | None] = [intro, note, _evidence_table(rows)]
    for other in sources[1:]:
        parts += _changed_assumptions(base, other, rows)
    page.section("assumptions", "Assumptions and their sources", *parts)


def _evidence_table(rows: list[Any]) -> Table:
    body = [[cell(r.path, param=r.path), r.value, _evidence_cell(r.kind, r.source, r.inherited)] for r in rows]
    return table(["parameter", "value", "source"], body, "evidence")


def _changed_assumptions(base: Source, other: Source, base_rows: list[Any]) -> list[Part]:
    if other.scenario is None:
        return [para(f"The assumptions of {other.label} cannot be listed: {other.scenario_problem}.", "note")]
    mine = {r.path: r for r in evidence_rows(other.scenario)}
    theirs = {r.path: r for r in base_rows}
    changed = [p for p in mine if p not in theirs or (mine[p].value, mine[p].source) != (theirs[p].value, theirs[p].source)]
    gone = [p for p in theirs if p not in mine]
    head = Heading(f"{other.label}: what differs from {base.label}")
    if not changed and not gone:
        return [head, para("The same parameters, values and sources as the baseline.")]
    body = [[p, theirs[p].value if p in theirs else "(not set)", mine[p].value,
             _evidence_cell(mine[p].kind, mine[p].source, mine[p].inherited)] for p in changed]
    body += [[p, theirs[p].value, "(not set)", Cell()] for p in gone]
    return [head, table(["parameter", f"in {base.label}", f"in {other.label}", "source"], body, "evidence")]


# --------------------------------------------------------------------------- batches


def outcomes_table(sources: list[Source]) -> Table:
    """One row per outcome (and class seen): each batch's probability with its 95% interval."""
    names = list(OUTCOMES)
    for s in sources:
        names += [k for k, v in s.summary["outcome_classes"].items() if v["n"] > 0 and k not in names]
    one = len(sources) == 1
    head = ["outcome", "probability", "95% interval", "runs"] if one else \
        ["outcome", *[f"{s.label}: probability (95% interval)" for s in sources]]
    rows = []
    for name in names:
        kind = "outcome" if name in OUTCOMES else "class"
        row: list[Any] = [OUTCOME_TEXT.get(name, f"class: {name}")]
        for s in sources:
            v = s.summary["outcomes"].get(name) if kind == "outcome" else s.summary["outcome_classes"].get(name)
            if v is None:
                row += ["–"] * (3 if one else 1)
            elif one:
                row += [cell(pct(v["p"]), outcome=name, p=v["p"]), cell(interval(v["lo"], v["hi"]), lo=v["lo"], hi=v["hi"]),
                        cell(f"{int(v['n']):,}", n=int(v["n"]))]
            else:
                row.append(cell(f"{pct(v['p'])} ({interval(v['lo'], v['hi'])})", outcome=name, batch=s.label,
                                p=v["p"], lo=v["lo"], hi=v["hi"], n=int(v["n"])))
        rows.append(row)
    return table(head, rows, "outcomes")


def terms_tables(sources: list[Source], sc: Scenario | None, per_issue: bool = True) -> list[Part]:
    """Per issue, each option's share of agreements (``per_issue``), then who led the talks."""
    issues = list(dict.fromkeys(i for s in sources for i in s.summary.get("terms", {}))) if per_issue else []
    parts: list[Part] = []
    for issue in issues:
        given = list(sc.model.issues[issue].options) if sc is not None and issue in sc.model.issues else []
        seen = list(dict.fromkeys(o for s in sources for o in s.summary["terms"].get(issue, {})))
        options = [o for o in given if o in seen] + [o for o in seen if o not in given]
        label = sc.model.issues[issue].label if sc is not None and issue in sc.model.issues else None
        rows = [[o, *[cell(pct(s.summary["terms"].get(issue, {}).get(o)), issue=issue, option=o,
                           share=s.summary["terms"].get(issue, {}).get(o)) for s in sources]] for o in options]
        if rows:
            parts.append(table(["option", *[f"{s.label}: share of agreements" for s in sources]], rows, "terms",
                               caption=f"{issue}" + (f" ({label})" if label else "")))
    if not parts and (per_issue or not any(s.summary["packages"]["packages"] for s in sources)):
        parts.append(para("No run reached an agreement: there are no agreed terms."))
    mediators = [s for s in sources if s.summary.get("lead_mediator")]
    if mediators:
        names = list(dict.fromkeys(k for s in mediators for k in s.summary["lead_mediator"]))
        parts.append(table(["lead mediator", *[f"{s.label}: share of runs with talks" for s in mediators]],
                           [[n, *[pct(s.summary["lead_mediator"].get(n)) for s in mediators]] for n in names],
                           caption="Who led the talks"))
    return parts


def many_issues(sources: list[Source]) -> bool:
    """More issues than a bar or table each can show readably: the packages' terms table replaces them (where
    every summary has it: a batch run before it keeps the tables and bars per issue)."""
    from sim.present.terms_table import MANY_ISSUES

    return any(len(s.summary.get("terms", {})) > MANY_ISSUES for s in sources) and \
        all(isinstance(s.summary.get("packages"), dict) for s in sources)


def packages_tables(sources: list[Source]) -> list[Part]:
    """Each batch's most common packages in words (sim.present.terms_table), with the issues settled the same way
    in every agreement and the notes under it; nothing for a batch whose summary has no packages (older runs)."""
    from sim.present.terms_table import fixed_heading, terms_table

    parts: list[Part] = []
    for s in sources:
        pk = s.summary.get("packages")
        t = terms_table(pk, s.scenario) if isinstance(pk, dict) else None
        if t is None:
            continue
        rows = [[label.strip() if kind != "satisfaction" else f"satisfaction: {label.strip()}",
                 *[cell(c, package=i + 1, row=kind) for i, c in enumerate(cells)]]
                for (label, cells), kind in zip(t.rows, t.kinds, strict=True) if kind != "heading"]
        parts.append(table(["", *t.head], rows, "packages", caption=f"{s.label}: {t.title}"))
        if t.fixed:
            parts.append(para(fixed_heading(t) + " " + "; ".join(f"{i}: {o}" for i, o in t.fixed) + "."))
        parts += [para(line, "note") for line in t.notes]
    return parts


def timing_table(sources: list[Source]) -> Table:
    head = ["event", "batch", "share of runs", "10th pct", "25th pct", "median", "75th pct", "90th pct", "mean"]
    rows = []
    for key, what in TIMING:
        for s in sources:
            d = s.summary.get(key)
            if not d:
                continue
            if not d.get("runs_with_value"):
                rows.append([what, s.label, cell(pct(d.get("share", 0.0)), measure=key, share=d.get("share")),
                             *["–"] * 6])
                continue
            rows.append([what, s.label, cell(pct(d["share"]), measure=key, share=d["share"]),
                         *[cell(num(d[k], ".0f"), **{k: d[k]}) for k in ("p10", "p25", "median", "p75", "p90")],
                         cell(num(d["mean"]), mean=d["mean"])])
    return table(head, rows, "timing", caption="Months from the start of the scenario")


def land_table(sources: list[Source]) -> Part:
    rows = []
    for s in sources:
        land = s.summary.get("land_km2")
        if land:
            rows.append([s.label, *[cell(f"{land[k]:+,.0f}", **{k: land[k]}) for k in ("p5", "median", "p95", "mean")]])
        elif "land_km2" in s.summary:
            rows.append([s.label, "no agreements", "", "", ""])
    if not rows:
        return para("These runs record no land terms (`land_km2`).", "note")
    return table(["batch", "5th pct", "median", "95th pct", "mean"], rows, "land",
                 caption="km2 changing hands in agreements (+ returned to Ukraine, − ceded to Russia)")


def batch_figures(sources: list[Source], folder: Path) -> list[tuple[Path, str]]:
    from sim.present.plots import batch_outcome_figure, batch_terms_figure, batch_timing_figure

    summaries = {s.label: s.summary for s in sources}
    sc = sources[0].scenario
    options = {k: list(v.options) for k, v in sc.model.issues.items()} if sc is not None else None
    out = [(batch_outcome_figure(summaries, folder / "outcomes.png"),
            "Outcome probabilities with 95% Wilson intervals"),
           (batch_timing_figure(summaries, folder / "timing.png"),
            "Share of runs in which talks first open and an agreement comes, by month")]
    if not many_issues(sources):  # many issues: the packages' terms table instead of a bar per issue
        out.append((batch_terms_figure(summaries, folder / "terms.png", options),
                    "Agreed terms: share of agreements on each option"))
    return out


def question_section(page: Page, sources: list[Source], extra: Sequence[tuple[str, Any]] = ()) -> None:
    """What was run: one table of facts for one run directory, one row per batch for several."""
    if len(sources) == 1:
        s = sources[0]
        page.section("question", "The question", para(_description(s)) if _description(s) else None,
                     _facts([*_run_facts(s), *extra]))
        return
    rows, described = [], []
    for s in sources:
        m = s.manifest
        rows.append([s.label, "baseline" if s is sources[0] else "compared", f"{m.get('runs', 0):,}", m.get("seed"),
                     m.get("engine"), m.get("timing", {}).get("started", ""), str(s.path)])
        path = m.get("scenario", {}).get("path", "")
        described.append((s.label, path, _description(s)))
    page.section("question", "The question",
                 para(f"{sources[0].label} is the baseline; each other batch is compared with it below."),
                 BatchList(described),
                 table(["batch", "role", "runs", "seed", "engine", "started", "run directory"], rows, "batches"))


def batches_report(sources: list[Source], folder: Path, paired: bool | None = None) -> Page:
    """The page of one batch, or of several with what changed against the first."""
    _label(sources)
    base = sources[0]
    title = f"negsim report: {base.label}" if len(sources) == 1 else \
        f"negsim report: {', '.join(s.label for s in sources[1:])} against {base.label}"
    page = Page(title)
    question_section(page, sources)
    page.section("outcomes", "Outcome probabilities",
                 para("Share of runs with each outcome, and with each class of agreement the scenario names; "
                      "95% Wilson score intervals."), outcomes_table(sources))
    if many_issues(sources):
        page.section("terms", "Agreed terms", para("The packages the agreements settle on most often: each in "
                                                  "plain words, with its share of agreements, the land it moves, "
                                                  "the issues it settles and each stakeholder's satisfaction."),
                     *packages_tables(sources), *terms_tables(sources, base.scenario, per_issue=False))
    else:
        page.section("terms", "Agreed terms", para("Among the runs that end in an agreement, the share that settles "
                                                  "each issue on each option."), *terms_tables(sources, base.scenario),
                     *packages_tables(sources))
    page.section("timing", "Timing", timing_table(sources))
    page.section("land", "Land moved", land_table(sources))
    figures = batch_figures(sources, folder)
    if len(sources) > 1:
        changed, figure = what_changed(sources, folder, paired)
        figures.append(figure)
        page.section("changed", f"What changed against {base.label}", *changed)
    page.section("figures", "Figures", *[img(p.read_bytes(), alt) for p, alt in figures])
    page.figures = len(figures)
    assumptions_section(page, sources)
    return page


def pairing(base: Source, other: Source) -> tuple[bool, str]:
    """Whether ``other`` can be paired with ``base`` by replicate (same seed and runs), and the words for it."""
    b, o = base.manifest, other.manifest
    if (o.get("seed"), o.get("runs")) == (b.get("seed"), b.get("runs")):
        return True, (f"Paired by replicate: both ran seed {b.get('seed')} with {b.get('runs'):,} runs, so run r of "
                      "each met the same battlefield and dice (common random numbers).")
    return False, (f"Unpaired (independent samples, wider intervals): {other.label} ran seed {o.get('seed')} with "
                   f"{o.get('runs')} runs, the baseline seed {b.get('seed')} with {b.get('runs')} runs; rerun it "
                   "with the baseline's --seed and --runs to pair them.")


def what_changed(sources: list[Source], folder: Path, paired: bool | None) -> tuple[list[Part], tuple[Path, str]]:
    """The comparison of every other batch with the first (paired where they share seed and runs), and its figure.

    ``paired=False`` compares every batch unpaired (as a comparison saved with --unpaired was made).
    """
    from sim.analysis.comparison import ComparisonSet, compare_many

    base = sources[0]
    results: list[Any] = []
    parts: list[Part] = []
    for other in sources[1:]:
        can_pair, why = pairing(base, other)
        pair = can_pair and paired is not False
        if can_pair and not pair:
            why = "Unpaired (independent samples), as the saved comparison was made."
        result = compare_many(base.path, [other.path], paired=pair, out=None, save=False).results[0]
        result.label_a, result.label_b = base.label, other.label
        results.append(result)
        data = result.to_dict()
        parts += [Heading(f"{other.label} against {base.label}"), para(why),
                  *comparison_tables(data, bool(data["paired"]))]
    first = base.manifest
    combined = ComparisonSet(base.label, results, int(first.get("seed", 0)), int(first.get("runs", 0)),
                             all(r.comparison.paired for r in results))
    from sim.present.figures import draw_comparison

    figure = draw_comparison(combined, folder / "comparison.png")
    parts.insert(0, para("Changes are the other batch minus the baseline, in percentage points of probability "
                         "(months for timing), with 95% intervals; a change in bold has an interval that "
                         "excludes 0. A is the baseline, B the other batch."))
    return parts, (figure, f"Change in outcome probabilities against {base.label}, with 95% intervals")


def comparison_parts(data: Mapping[str, Any]) -> list[Part]:
    """Tables of a saved comparison (comparison.json, the form of ``ComparisonSet.to_dict``)."""
    parts: list[Part] = []
    for comp in data.get("comparisons", []):
        parts.append(Heading(f"{comp['b']['label']} against {comp['a']['label']}"))
        parts += comparison_tables(comp, bool(comp.get("paired", data.get("paired"))))
    return parts


def comparison_tables(comp: Mapping[str, Any], paired: bool) -> list[Part]:
    """Outcomes, timing and terms of one comparison (``ComparisonResult.to_dict``)."""
    a, b = comp["a"]["label"], comp["b"]["label"]
    parts: list[Part] = []
    rows = []
    shown = [r for r in comp.get("outcomes", []) if r.get("kind") != "class"
             or (r["outcome"] not in OUTCOMES and (r.get("p_a") or r.get("p_b")))]  # not the catch-all, nor unseen
    for r in shown:
        is_class = r.get("kind") == "class"
        name = f"class: {r['outcome']}" if is_class else OUTCOME_TEXT.get(r["outcome"], r["outcome"])
        rows.append([name, cell(pct(r["p_a"]), p_a=r["p_a"]), cell(pct(r["p_b"]), p_b=r["p_b"]),
                     _diff_cell(r), cell(f"{pts(r['lo'])} to {pts(r['hi'])}", lo=r["lo"], hi=r["hi"]),
                     _pval(r.get("p_value")), _test_cell(r.get("test"))])
    parts.append(table(["outcome", f"P({a})", f"P({b})", "change (points)", "95% interval", "p-value", "test"],
                       rows, "changes", caption="Outcomes"))
    rows = []
    for r in comp.get("timing", []):
        mean_a, mean_b = (r.get("pair_mean_a"), r.get("pair_mean_b")) if paired else (r.get("mean_a"), r.get("mean_b"))
        rows.append([r["measure"], num(mean_a, ".2f"), num(mean_b, ".2f"), _diff_cell(r, "+.2f", "measure"),
                     f"{num(r.get('lo'), '+.2f')} to {num(r.get('hi'), '+.2f')}", _pval(r.get("p_value")),
                     _test_cell(r.get("test")), str(r.get("covers", ""))])
    parts.append(table(["measure", f"mean in {a}", f"mean in {b}", "change (months)", "95% interval", "p-value",
                        "test", "over"], rows, "changes timing-changes", caption="Timing (months)"))
    terms = [r for r in comp.get("terms", []) if r.get("diff") is not None and not _nan(r["diff"]) and r["diff"] != 0]
    if terms:
        parts.append(table(["issue", "option", a, b, "change (points)"],
                           [[r["issue"], r["option"], pct(r["share_a"]), pct(r["share_b"]), pts(r["diff"])]
                            for r in terms[:15]], "changes", caption="Agreed terms that change (share of agreements)"))
    elif comp.get("terms"):
        parts.append(para("Agreed terms: the same shares in both."))
    return parts + _test_notes([r.get("test") for r in [*shown, *comp.get("timing", [])]])


def _test_cell(name: Any) -> Cell:
    """A test's name for people (``data-test``: the name in comparison.json)."""
    from sim.analysis.paired import TESTS

    if not isinstance(name, str) or not name:
        return Cell("–")
    return Cell(TESTS.get(name, (name.replace("_", " "), ""))[0], (("test", name),))


def _test_notes(names: Sequence[Any]) -> list[Part]:
    """One plain line for each test the tables above name: what it asks, what a small p-value means."""
    from sim.analysis.paired import TESTS

    used = [n for n in dict.fromkeys(names) if isinstance(n, str) and n in TESTS]
    return [para(f"{TESTS[n][0]}: {TESTS[n][1]}", "note test") for n in used]


def _diff_cell(r: Mapping[str, Any], fmt: str = "", key: str = "outcome") -> Cell:
    """The change, in bold when its 95% interval excludes 0 (``data-outcome`` or ``data-measure``: what changed)."""
    d, lo, hi = r.get("diff", math.nan), r.get("lo", math.nan), r.get("hi", math.nan)  # None counts as NaN
    clear = not any(_nan(x) for x in (d, lo, hi)) and (lo > 0 or hi < 0)
    data = [(key, str(r.get(key, "")))] + ([("diff", repr(float(d)))] if d is not None and not _nan(d) else [])
    return Cell(num(d, fmt) if fmt else pts(d), tuple(data), "clear" if clear else "")


def _pval(p: Any) -> str:
    return "–" if p is None or _nan(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


# --------------------------------------------------------------------------- sweep


def sweep_report(source: Source, folder: Path) -> Page:
    from sim.runs.summary import numeric
    from sim.runs.sweep import SweepResult

    source.label = source.name
    m = source.manifest
    sw = m.get("sweep") or {}
    params = list(sw.get("params") or [])
    points = pd.read_parquet(source.path / "points.parquet")
    page = Page(f"negsim report: {source.label}, {sw.get('design', '?')} sweep")
    specs = sw.get("specs") or {}
    question_section(page, [source], [("design", sw.get("design")), ("points", f"{len(points):,}"),
                                      *[(f"swept: {p}", specs.get(p, "")) for p in params]])
    scenario = cast(Scenario, source.scenario)  # None if it no longer validates: SweepResult only keeps it
    result = SweepResult(scenario, int(m["seed"]), m.get("engine", "vector"), sw.get("design", "grid"), params,
                         points, source.path, m, source.summary.get("points", []), source.summary.get("sensitivity", {}))
    parts: list[Part] = [para("Each point runs the same replicates (common random numbers). Probabilities with "
                             "95% Wilson intervals.")]
    for param in params:
        marg = result.marginal(param)
        rows = [[r["value"], f"{int(r['runs']):,}",
                 *[x for k in OUTCOMES for x in (cell(pct(r[f"p_{k}"]), outcome=k, p=r[f"p_{k}"]),
                                                  interval(r[f"lo_{k}"], r[f"hi_{k}"]))]] for _, r in marg.iterrows()]
        parts.append(table(["value", "runs", *[x for k in OUTCOMES for x in (f"P({OUTCOME_TEXT[k]})", "95% interval")]],
                           rows, "outcomes", caption=f"By {param} (pooled over the other parameters)"))
    results = store.read_results(source.path, columns=["point", "outcome", "land_km2"]
                                 if "land_km2" in store.results_columns(source.path) else ["point", "outcome"])
    land = {int(p): numeric(g.loc[g["outcome"] == "agreement", "land_km2"]) if "land_km2" in g else {}
            for p, g in results.groupby("point")}
    rows = []
    for s in source.summary.get("points", [])[:200]:
        o, am = s["outcomes"], s["agreement_month"]
        lm = land.get(int(s["point"])) or {}
        rows.append([str(s["point"]), *[f"{v:.4g}" for v in s["params"].values()],
                     *[cell(pct(o[k]["p"]), point=s["point"], outcome=k, p=o[k]["p"]) for k in OUTCOMES],
                     interval(o["agreement"]["lo"], o["agreement"]["hi"]),
                     num(am.get("median"), ".0f"),
                     f"{num(am['p10'], '.0f')} – {num(am['p90'], '.0f')}" if am.get("runs_with_value") else "–",
                     f"{lm['median']:+,.0f}" if lm else "–"])
    head = ["point", *params, *[f"P({OUTCOME_TEXT[k]})" for k in OUTCOMES],
            "agreement 95%", "median agreement month", "10th – 90th pct", "median land km2"]
    parts.append(table(head, rows, "points", caption="Every point", scroll=True))
    if len(source.summary.get("points", [])) > 200:
        parts.append(para(f"The first 200 of {len(source.summary['points'])} points; all are in summary.json.", "note"))
    page.section("outcomes", "Outcome probabilities, timing and land by point", *parts)
    if sens := source.summary.get("sensitivity"):
        page.section("sensitivity", "Sensitivity", *_sensitivity_parts(sw.get("design", ""), sens))
    figures = _sweep_figures(source, result, folder)
    page.section("figures", "Figures", *[img(p.read_bytes(), alt) for p, alt in figures])
    page.figures = len(figures)
    assumptions_section(page, [source], params)
    return page


def _sweep_figures(source: Source, result: Any, folder: Path) -> list[tuple[Path, str]]:
    """The sweep's own figures (drawn again, by the same code, when it was run with --no-figures)."""
    names = [n for n in source.manifest.get("figures") or [] if isinstance(n, str)]
    paths = [source.path / n for n in names if "/" not in n and (source.path / n).is_file()]
    if not paths:
        from sim.present.plots import sweep_figures

        options = ({k: list(v.options) for k, v in source.scenario.model.issues.items()}
                   if source.scenario is not None else None)
        paths = sweep_figures(result.points, result.runs, result.params, folder,
                              title=f"{source.name}: {result.design} sweep", options=options)
    return [(p, _sweep_caption(p.stem, result.params)) for p in paths]


def _sweep_caption(stem: str, params: Sequence[str]) -> str:
    """What a sweep figure shows, from its file name (as :func:`sim.present.plots.sweep_figures` names them)."""
    from sim.present.plots import safe_name

    names = {safe_name(p): p for p in params}
    first = params[0] if params else "the first parameter"
    if stem.startswith("outcome_vs_"):
        return f"Outcome probabilities against {names.get(stem.removeprefix('outcome_vs_'), stem)}, with 95% Wilson bands"
    if stem.startswith("heatmap_"):
        a, _, b = stem.removeprefix("heatmap_").partition("__")
        return f"P(agreement) by {names.get(a, a)} and {names.get(b, b)}"
    if stem == "agreement_month":
        return f"Month of agreement by {first}"
    if stem == "terms":
        return f"Agreed terms by {first}"
    return stem.replace("_", " ")


def _sensitivity_parts(design: str, sens: Mapping[str, Any]) -> list[Part]:
    parts: list[Part] = []
    keys = ["S1", "S1_conf", "ST", "ST_conf"] if design == "sobol" else ["mu_star", "mu_star_conf", "sigma"]
    for output, rep in sens.items():
        idx = rep.get("indices") or {}
        rows = [[p, *[num(v.get(k), ".3f") for k in keys]] for p, v in idx.items()]
        if rows:
            parts.append(table(["parameter", *[k.replace("_conf", " ±95%") for k in keys]], rows,
                               caption=f"Sensitivity of {output} ({design})"))
        if rep.get("verdict"):
            parts.append(para(str(rep["verdict"]), "note"))
    if parts:
        parts.append(para(SENSITIVITY_WORDS["sobol" if design == "sobol" else "morris"], "note"))
    return parts


SENSITIVITY_WORDS = {
    "morris": "mu_star: the mean size of the change in the output when one parameter takes a step across its range "
              "(Morris's elementary effects); the larger, the more the output rests on it. sigma: how much that "
              "change varies with the other parameters (interactions). ±95%: the bootstrap interval of mu_star.",
    "sobol": "S1: the share of the output's variance that the parameter causes alone; ST: with its interactions "
             "with the others (Sobol indices). ±95%: the bootstrap interval of each index.",
}


# --------------------------------------------------------------------------- comparison directory


def comparison_sides(source: Source) -> list[Path] | None:
    """The batch directories a saved comparison was made from, if they are all still there."""
    sides = []
    for side in source.manifest.get("sides") or []:
        given = side.get("run_dir") if isinstance(side, dict) else None
        if not given:
            return None
        candidates = [Path(given), source.path.parent / Path(given).name]
        found = next((c for c in candidates if (c / "manifest.json").is_file()), None)
        if found is None:
            return None
        sides.append(found)
    return sides or None


def comparison_report(source: Source, folder: Path) -> Page:
    sides = comparison_sides(source)
    paired = bool(source.manifest.get("paired", True))
    if sides is not None:
        try:
            sources = [read_source(p) for p in sides]
        except (UsageError, StoreError):  # a batch changed since: show the comparison as saved
            sources = []
        if sources and all(s.kind == "batch" for s in sources):
            page = batches_report(sources, folder, paired=paired)
            page.sections[0][2].insert(0, para(f"The comparison saved in {source.path}; its batches are read from "
                                                f"their own run directories."))
            return page
    page = Page(f"negsim report: comparison against {source.name}")
    page.section("question", "The question",
                 para("The batches of this comparison are no longer all in their run directories: the page shows "
                      "the comparison as saved (comparison.json), without each batch's assumptions and summaries.",
                      "note"),
                 _facts([("baseline", source.name), ("runs", source.manifest.get("runs")),
                         ("seed", source.manifest.get("seed")), ("paired", "yes" if paired else "no"),
                         ("made", source.manifest.get("timing", {}).get("finished")),
                         ("comparison directory", str(source.path))]))
    page.section("changed", f"What changed against {source.name}", *comparison_parts(source.summary))
    png = source.path / "comparison.png"
    if png.is_file():
        page.section("figures", "Figures", img(png.read_bytes(), f"Change in outcome probabilities against {source.name}"))
        page.figures = 1
    return page


# --------------------------------------------------------------------------- entry points


@dataclass
class Report:
    """A written report: the HTML file, the PDF (if asked), the kind and the number of figures."""

    html: Path
    pdf: Path | None
    kind: str
    figures: int
    sources: list[str]


Section = tuple[str, str, list[Part]]


def build_report(run_dirs: Sequence[str | Path], extra: Sequence[Section] = (),
                 extra_title: str = "Class summary") -> tuple[str, str, int]:
    """(HTML text, kind, figures) of the report of ``run_dirs`` (the first is the baseline); ``extra``: sections
    put after the report's own (``negsim report --class``: a class's game), or the whole page (titled
    ``extra_title``, kind "class") when there is no run directory."""
    from sim.version import version

    if not run_dirs and extra:
        page = Page(extra_title)
        for anchor, heading, parts in extra:
            page.section(anchor, heading, *parts)
        return page.html(version()), "class", sum(1 for _a, _h, ps in extra for p in ps if isinstance(p, Figure))
    if not run_dirs:
        raise UsageError("report needs at least one run directory (or --class REPLAY)")
    sources = [read_source(p) for p in run_dirs]
    if len(sources) > 1:
        odd = [s for s in sources if s.kind != "batch"]
        if odd:
            raise UsageError(f"{odd[0].path}: a {odd[0].kind}; several run directories must all be batches "
                             f"(the first is the baseline the others are compared with); report a {odd[0].kind} "
                             f"on its own")
    with tempfile.TemporaryDirectory(prefix="negsim-report-") as tmp:
        folder = Path(tmp)
        kind = sources[0].kind if len(sources) == 1 else "batches"
        build: Callable[[], Page] = {
            "batch": lambda: batches_report(sources, folder),
            "batches": lambda: batches_report(sources, folder),
            "sweep": lambda: sweep_report(sources[0], folder),
            "comparison": lambda: comparison_report(sources[0], folder),
        }[kind]
        page = build()
        for anchor, heading, parts in extra:
            page.section(anchor, heading, *parts)
        figures = page.figures + sum(1 for _a, _h, ps in extra for p in ps if isinstance(p, Figure))
        return page.html(version()), kind, figures


def write_report(run_dirs: Sequence[str | Path], out: str | Path, pdf: bool = False,
                 extra: Sequence[Section] = (), extra_title: str = "Class summary") -> Report:
    """Write the report of ``run_dirs`` to ``out`` (HTML), and with ``pdf`` the same page beside it as PDF;
    ``extra``: sections after the report's own (:func:`build_report`)."""
    out = Path(out)
    if out.is_dir():
        raise UsageError(f"--out {out}: a folder; expected the name of the HTML file to write")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: the folder {out.parent} does not exist")
    if pdf:
        _weasyprint()  # before any work: a missing extra is bad input
    text, kind, figures = build_report(run_dirs, extra, extra_title)
    store.write_atomic(out, text)
    pdf_path = None
    if pdf:
        pdf_path = out.with_suffix(".pdf")
        store.write_atomic(pdf_path, write_pdf(text))
    return Report(out, pdf_path, kind, figures, [str(p) for p in run_dirs])


def _weasyprint() -> Any:
    try:
        import weasyprint
    except ImportError:
        raise UsageError("--pdf needs WeasyPrint: install negsim's report extra "
                         "(pip install 'negsim[report]'; WeasyPrint needs the pango library)") from None
    except OSError as exc:  # the package is there but pango is not
        raise UsageError(f"--pdf: WeasyPrint cannot load its libraries ({exc}); install pango "
                         "(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0)") from None
    return weasyprint


def write_pdf(text: str) -> bytes:
    """The page as PDF bytes (WeasyPrint); only ``data:`` URLs may be fetched."""
    weasyprint = _weasyprint()
    if hasattr(weasyprint, "URLFetcher"):
        fetcher: Any = weasyprint.URLFetcher(allowed_protocols=["data"])
    else:  # WeasyPrint before 68: a function
        def fetcher(url: str, *args: Any, **kwargs: Any) -> Any:
            if not url.startswith("data:"):
                raise ValueError(f"negsim reports fetch nothing but data: URLs (got {url[:60]})")
            return weasyprint.default_url_fetcher(url, *args, **kwargs)
    return weasyprint.HTML(string=text, url_fetcher=fetcher, media_type="print").write_pdf()
