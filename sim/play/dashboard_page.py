"""The dashboard's page (solara components); ``negsim dashboard`` serves it (see :mod:`sim.play.dashboard`).

The scenario file comes from the environment variable NEGSIM_DASHBOARD_FILE
(set by :func:`sim.play.dashboard.serve`). Each browser tab has its own settings
and results. Every number shown is computed by :mod:`sim.play.dashboard`,
:mod:`sim.play.draft`, the batch API and ``sim.present.explain.explain``.
"""

from __future__ import annotations

import functools
import json
import math
import os
from typing import Any

import markupsafe
import solara
from markupsafe import Markup
from solara.lab import use_task

from sim.engine.records import OUTCOMES
from sim.errors import NegsimError
from sim.play import dashboard as dash
from sim.play import terms as words
from sim.play.draft import Draft, draft
from sim.present.explain import explain
from sim.scenario.loading import load_scenario

CSS = """
.negsim-table { border-collapse: collapse; font-size: 13px; margin: 4px 0 8px 0; }
.negsim-table th, .negsim-table td { border-bottom: 1px solid #e2e8f0; padding: 3px 8px; text-align: right; }
.negsim-table th:first-child, .negsim-table td:first-child { text-align: left; }
.negsim-explain { max-height: 420px; overflow-y: auto; font-size: 12px; background: #f8fafc; padding: 8px;
                  white-space: pre-wrap; }
.negsim-big { font-size: 20px; font-weight: 600; }
.negsim-note { color: #475569; font-size: 12px; }
.negsim-lever-label { font-size: 13px; margin-top: 6px; }
.negsim-lever .v-input { margin-top: 0; }
.negsim-sat { max-width: 720px; margin: 6px 0; font-size: 13px; }
.negsim-sat-row { display: flex; align-items: center; margin: 2px 0; }
.negsim-sat-label { width: 180px; }
.negsim-sat-track { position: relative; flex: 1; height: 14px; background: #eceff3; margin: 0 8px; }
.negsim-sat-zero { position: absolute; left: 50%; top: -2px; bottom: -2px; width: 1px; background: #333; }
.negsim-sat-bar { position: absolute; top: 0; height: 100%; }
.negsim-sat-bar.pos { background: #2e7d4f; }
.negsim-sat-bar.neg { background: #b3261e; }
.negsim-sat-value { width: 190px; white-space: nowrap; }
"""


def Html(content: str | Markup, tag: str = "div", **kwargs: Any) -> None:
    """The page's only way to put HTML in: a plain ``str`` is shown as text (escaped), and HTML comes as
    :class:`markupsafe.Markup` built with ``Markup(...).format(...)``, which escapes every value it is given.

    Every string that comes from a scenario (names, labels, option names) is therefore escaped, in text
    and in attributes alike (``'`` and ``"`` included).
    """
    solara.HTML(tag=tag, unsafe_innerHTML=str(markupsafe.escape(content)), **kwargs)


@functools.cache
def scenario() -> Any:
    return load_scenario(os.environ.get("NEGSIM_DASHBOARD_FILE", "scenarios/baseline.yaml"))


@functools.cache
def levers() -> list[dash.Control]:
    return dash.controls(scenario())


def pct(p: float) -> str:
    return f"{100 * p:.1f}%"


def slug(path: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in path)


def interval(s: dict[str, float]) -> str:
    return f"{pct(s['p'])} [{100 * s['lo']:.1f}, {100 * s['hi']:.1f}]"


def outcome_table(pair: dash.PairedRuns) -> Markup:
    """The outcome table: each cell carries its exact value in data-p for checks."""
    head = Markup("<tr><th>outcome</th><th>unchanged scenario</th><th>with your settings</th>"
                  "<th>difference, points (paired 95%)</th></tr>")
    row = Markup("<tr data-outcome='{o}'><td>{name}</td><td class='unchanged' data-p='{pu}'>{iu}</td>"
                 "<td class='changed' data-p='{pc}'>{ic}</td><td class='diff' data-diff='{d}'>{shown}</td></tr>")
    body = []
    for r in pair.outcome_rows():
        d, lo, hi = r["diff"]
        body.append(row.format(o=r["outcome"], name=r["outcome"].replace("_", " "), pu=repr(r["unchanged"]["p"]),
                               iu=interval(r["unchanged"]), pc=repr(r["changed"]["p"]), ic=interval(r["changed"]),
                               d=repr(d), shown=f"{100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"))
    return Markup("<table class='negsim-table negsim-outcomes'>{}{}</table>").format(head, Markup("").join(body))


STAGE_WORDS = {"talks": "talks opened", "partial": "a partial deal", "ceasefire": "a ceasefire",
               "settlement": "a settlement", "relapse": "relapse (war again after the settlement)"}


def stages_table(pair: dash.PairedRuns) -> Markup:
    """The stages of the peace process: the share of runs that reached each; data-p carries it."""
    row = Markup("<tr data-stage='{st}'><td>{name}</td><td class='unchanged' data-p='{pu}'>{u}</td>"
                 "<td class='changed' data-p='{pc}'>{ch}</td></tr>")
    body = [row.format(st=r["stage"], name=STAGE_WORDS.get(r["stage"], r["stage"]), pu=repr(r["unchanged"]),
                       u=pct(r["unchanged"]), pc=repr(r["changed"]), ch=pct(r["changed"])) for r in pair.stage_rows()]
    return Markup("<table class='negsim-table negsim-stages'><tr><th>runs that reached</th>"
                  "<th>unchanged scenario</th><th>with your settings</th></tr>{}</table>").format(Markup("").join(body))


def timing_table(pair: dash.PairedRuns) -> Markup:
    rows = []
    for name, res in (("unchanged scenario", pair.unchanged), ("with your settings", pair.changed)):
        s = res.summary()
        am, tm = s["agreement_month"], s["talks_month"]
        med = f"{am['median']:.0f} (10-90%: {am['p10']:.0f}-{am['p90']:.0f})" if am["runs_with_value"] else "-"
        tmed = f"{tm['median']:.0f}" if tm["runs_with_value"] else "-"
        rows.append(Markup("<tr><td>{}</td><td>{}</td><td>{}</td></tr>").format(name, tmed, med))
    return Markup("<table class='negsim-table negsim-timing'><tr><th></th><th>median month talks open</th>"
                  "<th>median month of agreement</th></tr>{}</table>").format(Markup("").join(rows))


def terms_html(pair: dash.PairedRuns) -> Markup:
    t, sc = dash.terms_table(pair), pair.changed.scenario
    row = Markup("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>")
    rows = Markup("").join(row.format(words.issue_words(sc, r.issue, short=True), words.option_words(sc, r.issue, r.option),
                                      pct(r.unchanged), pct(r.changed)) for r in t.itertuples())
    return Markup("<table class='negsim-table negsim-terms'><tr><th>issue</th><th>option</th>"
                  "<th>share of agreements, unchanged</th><th>with your settings</th></tr>{}</table>").format(rows)


def governments_table(d: Draft) -> Markup:
    """The draft builder's table of governments; names escaped."""
    row = Markup("<tr data-actor='{name}'><td>{name}</td><td>{u:.3f}</td><td>{s:.3f}</td><td>{v:.3f}</td>"
                 "<td>{a:.3f}</td><td>{red}</td><td class='p-accept'>{p}</td></tr>")
    rows = Markup("").join(row.format(name=g.name, u=g.utility, s=g.side_payment, v=g.value, a=g.asks,
                                      red="breaks it" if g.red_line else "no", p=pct(g.p_accept))
                           for g in d.governments)
    return Markup("<table class='negsim-table negsim-draft-governments'><tr><th>government</th>"
                  "<th>utility of the terms</th><th>+ side-payment</th><th>value of no deal (fighting on)</th>"
                  "<th>asks (after the mediator)</th><th>red line</th><th>chance it accepts</th></tr>{}</table>"
                  ).format(rows)


def publics_table(d: Draft) -> Markup:
    """The draft builder's table of publics; names escaped."""
    row = Markup("<tr data-actor='{name}'><td>{name}</td><td>{votes}</td><td>{m:+.3f}</td>"
                 "<td class='p-ratify'>{p}</td></tr>")
    rows = Markup("").join(row.format(name=p.name, votes="yes" if p.votes else "no", m=p.margin,
                                      p=pct(p.p_ratify) if p.votes else "no vote") for p in d.publics)
    return Markup("<table class='negsim-table negsim-draft-publics'><tr><th>public</th><th>votes</th>"
                  "<th>margin</th><th>chance it ratifies</th></tr>{}</table>").format(rows)


def overrides_table(overrides: dict[str, Any]) -> Markup:
    """The overrides of a batch as a table: each parameter (its label and path), the value set and the
    scenario's default; data-path and data-value carry the exact override for checks."""
    known = {c.path: c for c in levers()}
    if not overrides:
        return Markup("<p class='negsim-overrides negsim-note'>No overrides: the levers are at the scenario's "
                      "values, so both batches are the scenario as written.</p>")
    row = Markup("<tr data-path='{path}' data-value='{raw}'><td>{label}<br><span class='negsim-note'>{path}</span>"
                 "</td><td class='value'>{value}</td><td class='default'>{default}</td></tr>")
    rows = []
    for path, v in sorted(overrides.items()):
        c = known.get(path)
        rows.append(row.format(path=path, raw=json.dumps(v), label=f"{c.group}: {c.label}" if c else path, value=_shown(v),
                               default=_shown(c.value) + (" (drawn per run)" if c.uncertain else "") if c else "-"))
    return Markup("<table class='negsim-table negsim-overrides'><tr><th>parameter</th><th>your value</th>"
                  "<th>scenario's value</th></tr>{}</table>").format(Markup("").join(rows))


def _shown(v: Any) -> str:
    return ("on" if v else "off") if isinstance(v, bool) else f"{float(v):.4g}"


def satisfaction_html(d: Draft) -> Markup:
    """Each stakeholder's satisfaction with the draft (sim.play.terms): a bar from -1 to +1 around 0 (no better
    than no deal); data-score carries the exact value."""
    row = Markup("<div class='negsim-sat-row' data-actor='{a}' data-score='{raw}'><span class='negsim-sat-label'>"
                 "{a}</span><span class='negsim-sat-track'><span class='negsim-sat-zero'></span>"
                 "<span class='negsim-sat-bar {sign}' style='left: {left:.1f}%; width: {width:.1f}%'></span></span>"
                 "<span class='negsim-sat-value'>{score:+.3f} {says}</span></div>")
    rows = []
    for s in d.satisfaction:
        width = min(1.0, abs(s.score) / words.SCALE) * 50
        rows.append(row.format(a=s.actor, raw=repr(s.score), sign="pos" if s.score >= 0 else "neg",
                               left=50 if s.score >= 0 else 50 - width, width=width, score=s.score,
                               says="better than no deal" if s.score >= 0 else "worse than no deal"))
    return Markup("<div class='negsim-sat'><div class='negsim-note'>Satisfaction: each stakeholder's worth of the "
                  "terms (with the side-payment) less its value of no deal (a government: what it asks at these "
                  "talks; a public: its bar at the vote)</div>{}</div>").format(Markup("").join(rows))


@solara.component
def Lever(c: dash.Control, values: solara.Reactive[dict[str, Any]]):
    current = values.value.get(c.path, c.value)

    def set_value(v: Any) -> None:  # a slider's float noise (0.1 + 0.2) is not a setting
        values.set({**values.value, c.path: v if c.kind == "switch" else float(f"{float(v):.10g}")})

    with solara.Div(classes=["negsim-lever", f"lever-{slug(c.path)}"]):
        if c.kind == "switch":
            solara.Switch(label=c.label, value=bool(current), on_value=set_value)
        else:
            moved = not math.isclose(float(current), float(c.value), rel_tol=0, abs_tol=1e-12)
            shown = f"{float(current):.4g}" + ("" if moved else (" (drawn per run)" if c.uncertain else ""))
            Html(Markup("{}: <b>{}</b>").format(c.label, shown), classes=["negsim-lever-label"])
            solara.SliderFloat("", value=float(current), min=c.low, max=c.high, step=c.step, on_value=set_value,
                               thumb_label=False)


@solara.component
def Controls(values: solara.Reactive[dict[str, Any]]):
    groups: dict[str, list[dash.Control]] = {}
    for c in levers():
        groups.setdefault(c.group, []).append(c)
    solara.Button("Reset to the scenario", on_click=lambda: values.set({}), text=True, classes=["negsim-reset"])
    for group, items in groups.items():
        Html(group, tag="h4", style="margin: 10px 0 16px 0")
        for c in items:
            Lever(c, values)


@solara.component
def Outcomes(pair: dash.PairedRuns):
    Html(overrides_table(pair.overrides))
    Html(outcome_table(pair))
    solara.FigureMatplotlib(dash.figure_outcomes(pair), format="png", dependencies=[id(pair)])
    Html("Stages of the peace process", tag="h4")
    Html(stages_table(pair))
    Html("Timing", tag="h4")
    Html(timing_table(pair))
    solara.FigureMatplotlib(dash.figure_timing(pair), format="png", dependencies=[id(pair)])
    Html("Terms of the agreements", tag="h4")
    Html(terms_html(pair))


@solara.component
def OneRun(overrides: dict[str, Any], seed: int, replicate: solara.Reactive[int]):
    key = json.dumps(overrides, sort_keys=True)

    def run() -> Any:
        try:
            return explain(dash.scenario_with(scenario(), overrides), seed, replicate.value)
        except NegsimError as e:
            return e

    ex = solara.use_memo(run, dependencies=[key, seed, replicate.value])
    same = solara.use_memo(lambda: explain(scenario(), seed, replicate.value) if overrides and not isinstance(ex, Exception) else None,
                           dependencies=[bool(overrides), seed, replicate.value, isinstance(ex, Exception)])
    solara.InputInt("Replicate", value=replicate, classes=["negsim-replicate"])
    if isinstance(ex, Exception):
        solara.Error(str(ex))
        return
    c = dash.scenario_with(scenario(), overrides)
    govs = [g for g in c.actors_of("government")]
    pubs = list(c.actors_of("public"))
    outcome = str(ex.row["outcome"])
    issues, horizon = list(c.model.issues), c.model.horizon_months
    Html(Markup("Replicate {} with your settings: <b>{}</b>").format(
        replicate.value, dash.outcome_line(ex.row, issues, horizon)),
        attributes={"data-outcome": outcome}, classes=["negsim-run-outcome"])
    if same is not None:
        Html("The same replicate of the unchanged scenario: " + dash.outcome_line(same.row, issues, horizon),
             attributes={"data-outcome": str(same.row["outcome"])}, classes=["negsim-run-outcome-unchanged"])
    solara.FigureMatplotlib(dash.figure_series(ex.series(), govs, pubs), format="png",
                            dependencies=[key, seed, replicate.value])
    Html("\n".join(ex.lines), classes=["negsim-explain"])


@solara.component
def DraftBuilder(overrides: dict[str, Any], seed: int, replicate: int):
    sc = scenario()
    issues = sc.model.issues
    horizon = sc.model.horizon_months
    month = solara.use_reactive(6)
    terms = solara.use_reactive({k: list(v.options)[len(v.options) // 2] for k, v in issues.items()})
    key = json.dumps(overrides, sort_keys=True)

    def choose(k: str, said: dict[str, str], label: str) -> None:  # an option picked by its words
        terms.set({**terms.value, k: said[label]})

    def read() -> Any:
        try:
            return draft(sc, seed, replicate, month.value, terms.value, overrides)
        except NegsimError as e:
            return e

    d = solara.use_memo(read, dependencies=[key, seed, replicate, month.value, json.dumps(terms.value)])
    Html(f"Replicate {replicate} with your settings, read at a month by the Mesa model (the kernel, one run). The terms are put to both "
         "sides as a mediator's proposal is: against fighting on, after hearing the mediator in view.",
         classes=["negsim-note"])
    with solara.Div(style="margin-top: 32px"):  # room for the month's label, drawn above the thumb
        solara.SliderInt("Month", value=month, min=1, max=horizon, thumb_label="always")
    with solara.Row():
        for k, issue in issues.items():  # each option in plain words (sim.play.terms), mapped back to its name
            said = {words.option_words(sc, k, o, short=True): o for o in issue.options}
            with solara.Div(classes=[f"draft-{slug(k)}"], style="min-width: 220px"):
                solara.Select(issue.label or k, values=list(said),
                              value=words.option_words(sc, k, terms.value[k], short=True),
                              on_value=functools.partial(choose, k, said))
    if isinstance(d, Exception):
        solara.Error(str(d))
        return
    note = "" if d.month == month.value else f" (the run ended in month {d.month})"
    lead = d.lead or "none"
    Html(f"Month {d.month}{note}; mediator in view: {lead}; talks {'open' if d.talks_open else 'closed'}.",
         classes=["negsim-note", "negsim-draft-month"])
    Html("The draft: " + d.words, classes=["negsim-draft-words"])
    Html(governments_table(d))
    Html(publics_table(d))
    Html(satisfaction_html(d))
    Html(f"Chance of a ratified deal: {pct(d.p_deal)}", classes=["negsim-big", "negsim-p-deal"],
         attributes={"data-p": repr(d.p_deal)})
    if d.best_change is None:
        Html("No single change of one issue raises it.", classes=["negsim-best"])
    else:
        b = d.best_change
        Html(Markup("Best single change: {} from {} to <b>{}</b> raises it to {}.").format(
            words.issue_words(sc, b.issue, short=True), words.option_words(sc, b.issue, b.old),
            words.option_words(sc, b.issue, b.new), pct(b.p_deal)), classes=["negsim-best"])
        solara.Button("Apply this change", on_click=lambda: terms.set({**terms.value, b.issue: b.new}),
                      classes=["negsim-apply"], outlined=True)


@solara.component
def Page():
    sc = scenario()
    values = solara.use_reactive({})
    runs = solara.use_reactive(2000)
    seed = solara.use_reactive(1)
    replicate = solara.use_reactive(0)
    done = solara.use_reactive(0.0)
    pair = solara.use_reactive(None)
    error = solara.use_reactive("")
    overrides = dash.overrides_of(levers(), values.value)

    def work() -> None:
        error.set("")
        done.set(0.0)
        try:
            result = dash.run_pair(sc, overrides, int(runs.value or 0), int(seed.value or 0),
                                   progress=lambda d, t: done.set(100.0 * d / t))
        except NegsimError as e:
            error.set(str(e))
            return
        pair.set(result)

    task = use_task(work, dependencies=None)
    solara.Title(f"negsim dashboard: {sc.name}")
    solara.Style(CSS)
    with solara.Sidebar():
        Html("Levers", tag="h3")
        Controls(values)
    with solara.Column(style="padding: 8px 16px; max-width: 1100px"):
        Html(f"negsim dashboard: {sc.name}", tag="h2", classes=["negsim-title"])
        Html((
            "Results are explorations of the scenario's stated assumptions, not forecasts. Every batch runs your "
            "settings and the unchanged scenario with the same seed: replicate r meets the same front and the same "
            "dice on both sides (paired runs)."), classes=["negsim-note"])
        with solara.Row(style="align-items: center"):
            solara.InputInt("Runs (N)", value=runs, classes=["negsim-runs"])
            solara.InputInt("Seed", value=seed, classes=["negsim-seed"])
            solara.Button(f"Run {int(runs.value or 0):,}", on_click=task, color="primary", classes=["negsim-run"],
                          disabled=task.pending)
        if task.pending:
            solara.ProgressLinear(done.value)
            Html(f"running: {done.value:.0f}% of {2 * int(runs.value or 0):,} runs", classes=["negsim-progress"])
        if error.value:
            solara.Error(error.value)
        with solara.Card("Outcomes, terms and timing"):
            if pair.value is None:
                Html("Set the levers and press Run.")
            else:
                Outcomes(pair.value)
        with solara.Card("Draft builder"):
            DraftBuilder(overrides, int(seed.value or 0), int(replicate.value or 0))
        with solara.Card("One run, month by month"):
            OneRun(overrides, int(seed.value or 0), replicate)
        Html("This dashboard runs on Solara.", classes=["negsim-note", "negsim-footer"])


__all__ = ["Page", "OUTCOMES"]
