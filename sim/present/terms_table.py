"""Terms in plain words, and the terms table: the agreements' most common packages, readable for many issues.

The word functions (an identifier, an issue, an option, a land share, km2 in words) are the one place every
screen words terms: ``negsim run``, ``compare``, ``report`` and ``explain`` here, and the classroom, the
dashboard and ``negsim play`` through :mod:`sim.play.terms`.

:func:`terms_table` turns the ``packages`` part of a batch's summary (:func:`sim.runs.summary.packages`, read
from the ``term_<issue>`` columns) into a table with one column per package (the commonest first) and one row
per issue that varies across the agreements, then the median km2 the land term moved, the issues settled and
each stakeholder's mean satisfaction; the issues settled the same way in every agreement are listed under it,
so the table stays narrow whatever the number of issues (19 in ``scenarios/agenda_2025.yaml``). The table is
data (:class:`TermsTable`); the terminal (:func:`rich_terms`), the report and ``explain`` render it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.scenario.compile import Compiled
from sim.scenario.models import Issue, Scenario

PROPER = {"russia": "Russia", "russian": "Russian", "ukraine": "Ukraine", "ukrainian": "Ukrainian",
          "crimea": "Crimea", "kursk": "Kursk", "kyiv": "Kyiv", "moscow": "Moscow", "nato": "NATO", "eu": "EU",
          "uk": "UK", "us": "US", "g8": "G8", "iaea": "IAEA", "npp": "NPP", "dnipro": "Dnipro"}  # names in identifiers, written as names in words
WIDTH = 80  # the terminal's terms table fits this many columns
LABEL_WIDTH = 23  # its row labels (an issue's short name) are cut to this many


# --------------------------------------------------------------------------- terms in words


def words(identifier: str) -> str:
    """An identifier in words: ``returned_to_ukraine`` -> ``returned to Ukraine``."""
    return " ".join(PROPER.get(w, w) for w in identifier.split("_"))


def _issues(source: Compiled | Scenario) -> Mapping[str, Issue]:
    return (source.scenario if isinstance(source, Compiled) else source).model.issues


def issue_words(source: Compiled | Scenario, issue: str, short: bool = False) -> str:
    """An issue's name: its label in the scenario (the identifier in words when short or unlabelled)."""
    label = _issues(source)[issue].label
    name = words(issue) if short or not label else label
    return name[:1].upper() + name[1:]


def land_share_words(share: float, short: bool = False) -> str:
    """A land term's share in words (the scale of the land issue: 1 returns all taken since February 2022,
    -1 cedes the rest of the regions Russia claims)."""
    if share == 0:
        return "freeze the line"
    if short:
        return f"return {share:.0%}" if share > 0 else f"cede {-share:.0%}"
    if share > 0:
        return f"return {share:.0%} of the land taken since February 2022"
    return f"cede {-share:.0%} of the rest of the claimed regions"


def short_km2(km2: float) -> str:
    """Land that changes hands, in a few words (a list's line): ``6,890 km2 back to Ukraine``."""
    if not km2:
        return "no land moves"
    return f"{km2:,.0f} km2 back to Ukraine" if km2 > 0 else f"{-km2:,.0f} km2 to Russia"


def option_words(source: Compiled | Scenario, issue: str, option: str, short: bool = False) -> str:
    """One option of an issue in words (a land option by its share, from the scenario's option value)."""
    spec = _issues(source)[issue]
    return land_share_words(float(spec.options[option]), short) if spec.kind == "land" else words(option)


# --------------------------------------------------------------------------- the terms table


@dataclass
class TermsTable:
    """The most common packages as rows of words: ``head`` names the packages' columns; each row is a label and
    one cell per package; ``kinds`` says what each row is (share, interval, issue, land, settled, satisfaction);
    ``fixed`` the issues settled the same way in every agreement, as (issue, option) words; ``notes`` the lines
    that go under the table."""

    title: str
    head: list[str]
    rows: list[tuple[str, list[str]]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    fixed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fixed_title: str = "The same in every agreement ({n} of {k} issues; the table shows the {v} that vary):"

    def add(self, kind: str, label: str, cells: list[str]) -> None:
        self.rows.append((label, cells))
        self.kinds.append(kind)


def _issue_name(sc: Scenario | None, issue: str) -> str:
    return issue_words(sc, issue, short=True) if sc is not None and issue in sc.model.issues else \
        words(issue)[:1].upper() + words(issue)[1:]


def _option_name(sc: Scenario | None, issue: str, option: str) -> str:
    if sc is not None and issue in sc.model.issues and option in sc.model.issues[issue].options:
        return option_words(sc, issue, option, short=True)
    return words(option)


def _is_land(sc: Scenario | None, issue: str) -> bool:
    return sc is not None and issue in sc.model.issues and sc.model.issues[issue].kind == "land"


def km2_cell(km2: float | None) -> str:
    """The median km2 a package's land term moved, in a table's few words."""
    if km2 is None or km2 != km2:
        return "-"
    if abs(km2) < 0.5:
        return "none"
    return f"{km2:,.0f} to Ukraine" if km2 > 0 else f"{-km2:,.0f} to Russia"


def signed(x: float | None) -> str:
    """A satisfaction in a cell: signed, two decimals ('-' where not recorded)."""
    return "-" if x is None or x != x else f"{x:+.2f}"


def settled_cell(x: float | None) -> str:
    if x is None or x != x:
        return "-"
    return f"{x:.0f}" if abs(x - round(x)) < 0.005 else f"{x:.1f}"


def pct_cell(p: float) -> str:
    return f"{100 * p:.1f}%"


def terms_table(pk: Mapping[str, Any], sc: Scenario | None = None, title: str = "") -> TermsTable | None:
    """The terms table of a batch's ``packages`` summary (None without agreements or issues)."""
    packages = pk.get("packages") or []
    if not pk.get("agreements") or not packages:
        return None
    n, issues = int(pk["agreements"]), list(pk["issues"])
    t = TermsTable(title or f"Most common packages: {len(packages)} of {pk['distinct']:,} in {n:,} agreements",
                   [f"#{i + 1}" for i in range(len(packages))])
    t.add("share", "share of deals", [pct_cell(p["p"]) for p in packages])
    t.add("interval", "95% interval", [f"{100 * p['lo']:.0f}-{100 * p['hi']:.0f}%" for p in packages])
    for issue in pk.get("varying", issues):
        t.add("issue", _issue_name(sc, issue), [_option_name(sc, issue, p["terms"][issue]) for p in packages])
        if _is_land(sc, issue) and any("land_km2" in p for p in packages):
            t.add("land", "  km2 (median)", [km2_cell(p.get("land_km2")) for p in packages])
    fixed_land = [i for i in pk.get("fixed", {}) if _is_land(sc, i)]
    if fixed_land and any(p.get("land_km2") for p in packages):
        t.add("land", "km2 moved (median)", [km2_cell(p.get("land_km2")) for p in packages])
    if any(p.get("issues_settled") is not None for p in packages):
        t.add("settled", f"issues settled (of {len(issues)})", [settled_cell(p.get("issues_settled")) for p in packages])
    actors = list(packages[0].get("satisfaction") or {})
    if actors:
        t.add("heading", "satisfaction", ["" for _ in packages])
    for actor in actors:
        name = words(actor)
        t.add("satisfaction", f"  {name[:1].upper() + name[1:]}",
              [signed((p.get("satisfaction") or {}).get(actor)) for p in packages])
    t.fixed = [(_issue_name(sc, i), _option_name(sc, i, o)) for i, o in pk.get("fixed", {}).items()]
    t.notes = _notes(pk, len(issues))
    return t


def _notes(pk: Mapping[str, Any], k: int) -> list[str]:
    out = []
    other = pk.get("other") or {}
    if other.get("n"):
        rest = int(pk["distinct"]) - len(pk["packages"])
        out.append(f"Other packages: {pct_cell(other['p'])} of agreements ({rest:,} more package"
                   f"{'s' if rest != 1 else ''}).")
    settled = pk.get("settled") or {}
    if settled:
        out.append(f"Issues settled: {settled['mean']:.1f} on average ({settled['min']} to {settled['max']}); an issue "
                   "is settled when the deal moves it from where no deal leaves it (the land issue always).")
    if pk.get("satisfaction"):
        out.append("Satisfaction: each stakeholder's worth of the deal less its value of no deal, in its utility "
                   "units (0: no better than no deal; 1: the whole distance from nothing to everything it wants).")
    return out


def fixed_heading(t: TermsTable) -> str:
    """The line over the issues settled the same way in every agreement."""
    k = len(t.fixed) + sum(kind == "issue" for kind in t.kinds)
    if len(t.fixed) == k and t.fixed_title == TermsTable.fixed_title:
        return f"The same in every agreement (all {k} issues):"
    vary = k - len(t.fixed)
    return t.fixed_title.format(n=len(t.fixed), k=k, v=vary).replace("the 1 that vary", "the one that varies")


def rich_terms(t: TermsTable) -> list[Any]:
    """The terms table for a terminal: a rich table no wider than :data:`WIDTH`, the fixed issues, the notes."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=t.title, title_justify="left", box=None, padding=(0, 1), show_edge=False, pad_edge=False,
                  collapse_padding=True, header_style="bold")
    table.add_column("", no_wrap=True, overflow="ellipsis", max_width=LABEL_WIDTH)
    for h in t.head:
        table.add_column(h, overflow="fold")
    for (label, cells), kind in zip(t.rows, t.kinds, strict=True):
        table.add_row(label, *cells, end_section=kind in ("interval",))
    out: list[Any] = [table]
    out += [Text(line) for line in t.notes[:1] if line.startswith("Other packages")]
    if t.fixed:
        out.append(Text(fixed_heading(t)))
        out += [Text(f"  {issue}: {option}") for issue, option in t.fixed]
    out += [Text(line) for line in t.notes if not line.startswith("Other packages")]
    return out


def text_lines(t: TermsTable, width: int = WIDTH) -> list[str]:
    """The terms table as plain text lines (``explain``): rendered by rich at ``width`` columns, no styles."""
    from io import StringIO

    from rich.console import Console

    buf = StringIO()
    con = Console(file=buf, width=width, no_color=True, highlight=False, markup=False, emoji=False)
    for part in rich_terms(t):
        con.print(part)
    return [line.rstrip() for line in buf.getvalue().splitlines()]


# --------------------------------------------------------------------------- one deal (negsim explain)

MANY_ISSUES = 4  # more issues than this: a deal is shown as a table, not a sentence


def settled_issue(sc: Scenario, row: Mapping[str, Any], issue: str) -> bool:
    """Whether a run's deal settles ``issue``: as ``issues_settled`` counts it (sim.engine.records.issues_settled):
    the land issue always, a position issue when its option is not where no deal leaves it (the run's drawn value
    where the no-deal position is uncertain)."""
    spec = sc.model.issues[issue]
    if spec.kind == "land" or spec.no_deal is None or spec.no_deal.position is None:
        return True
    drawn = row.get(f"param:issues.{issue}.no_deal.position")
    stated = spec.no_deal.position.value
    if drawn is not None and drawn == drawn:
        nd = float(drawn)
    elif stated is not None:
        nd = float(stated)
    else:
        return True
    return abs(float(spec.options[str(row[f"term_{issue}"])]) - nd) > 1e-9


def satisfaction_words(row: Mapping[str, Any]) -> str:
    """Each stakeholder's satisfaction with a run's deal in a line ('' if the row records none)."""
    said = [f"{words(k.removeprefix('satisfaction_'))} {signed(float(v))}" for k, v in row.items()
            if str(k).startswith("satisfaction_") and v is not None and v == v]
    return ("Satisfaction with the deal (worth less the value of no deal, in utility units): " + ", ".join(said)
            + ".") if said else ""


def deal_table(sc: Scenario, row: Mapping[str, Any]) -> TermsTable:
    """A run's deal as a table: the issues it settles (each agreed term in words, the land term's km2), the issues
    it leaves where no deal leaves them listed under it, and each stakeholder's satisfaction."""
    issues = list(sc.model.issues)
    t = TermsTable("Terms of the deal", ["agreed"])
    t.fixed_title = "Left where no deal leaves them ({n} of {k} issues):"
    for issue in issues:
        said = _option_name(sc, issue, str(row[f"term_{issue}"]))
        if not settled_issue(sc, row, issue):
            t.fixed.append((_issue_name(sc, issue), said))
            continue
        t.add("issue", _issue_name(sc, issue), [said])
        if _is_land(sc, issue) and row.get("land_km2") is not None:
            t.add("land", "  km2", [km2_cell(float(row["land_km2"]))])
    t.add("settled", f"issues settled (of {len(issues)})", [str(len(issues) - len(t.fixed))])
    actors = [str(k).removeprefix("satisfaction_") for k in row if str(k).startswith("satisfaction_")]
    if actors:
        t.add("heading", "satisfaction", [""])
    for actor in actors:
        name = words(actor)
        t.add("satisfaction", f"  {name[:1].upper() + name[1:]}", [signed(float(row[f"satisfaction_{actor}"]))])
    return t
