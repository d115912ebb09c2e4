"""The dashboard's computations (sim/play/dashboard.py) and `negsim dashboard`'s errors; the page is in tests/browser."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hostile import write_hostile

import sim
from sim.errors import UsageError
from sim.play.dashboard import (
    MAX_RUNS,
    HideRoutes,
    controls,
    outcome_line,
    overrides_of,
    run_pair,
    scenario_with,
)
from sim.play.draft import draft
from sim.present.explain import explain
from sim.scenario.compile import compile_scenario
from sim.scenario.registry import check_value, parameter_slots

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


@pytest.fixture(scope="module")
def baseline():
    return sim.load_scenario(ROOT / "scenarios" / "baseline.yaml")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_control_is_a_valid_override_with_its_value_on_the_grid(path):
    sc = sim.load_scenario(path)
    slots = parameter_slots(sc)
    ctrls = controls(sc)
    assert len({c.path for c in ctrls}) == len(ctrls)
    for c in ctrls:
        assert check_value(slots, c.path, c.value) is None, c.path
        if c.kind == "number":
            assert c.low <= c.value <= c.high
            assert check_value(slots, c.path, c.low) is None and check_value(slots, c.path, c.high) is None, c.path
            k = (c.value - c.low) / c.step
            assert abs(k - round(k)) < 1e-6, c.path  # a slider cannot move the value by snapping it to its grid
    assert overrides_of(ctrls, {c.path: c.value for c in ctrls}) == {}


def test_the_baseline_levers_include_the_live_ones_of_docs_levers(baseline):
    """The red lines, the precondition, resolve, weariness and the mediators' bias are all on the page."""
    paths = {c.path for c in controls(baseline)}
    for p in ("actors.kyiv.red_lines[0].active", "actors.moscow.preconditions[0].active", "actors.moscow.resolve",
              "actors.ukraine_public.weariness", "actors.ukraine_public.ratifies", "actors.us.bias",
              "actors.us.leverage.kyiv", "negotiation.breakdown"):
        assert p in paths
    moscow = next(c for c in controls(baseline) if c.path == "actors.moscow.resolve")
    assert moscow.uncertain and moscow.value == pytest.approx(0.75)


def test_overrides_are_the_moved_controls_only(baseline):
    ctrls = controls(baseline)
    values = {"actors.kyiv.resolve": 0.35, "actors.moscow.resolve": 0.6, "actors.kyiv.red_lines[0].active": True,
              "actors.moscow.preconditions[0].active": False}
    assert overrides_of(ctrls, values) == {"actors.moscow.resolve": 0.6,
                                           "actors.moscow.preconditions[0].active": False}


OVERRIDES = {"actors.moscow.resolve": 0.7, "actors.kyiv.red_lines[0].active": False, "actors.us.leverage.kyiv": 0.05,
             "actors.moscow.preconditions[0].active": False, "actors.ukraine_public.ratifies": False,
             "actors.ukraine_public.ratification.threshold": -0.02}


def test_scenario_with_overrides_compiles_as_the_overrides_do(baseline):
    written = compile_scenario(scenario_with(baseline, OVERRIDES))
    direct = compile_scenario(baseline, OVERRIDES)
    assert written.base.keys() == direct.base.keys()
    for k in direct.base:
        np.testing.assert_array_equal(written.base[k], direct.base[k], err_msg=k)
    assert written.uncertain == direct.uncertain and "actors.moscow.resolve" not in written.uncertain
    assert scenario_with(baseline, {}) is baseline


def test_one_run_with_the_settings_is_the_batchs_run(baseline):
    """explain of the written scenario gives the row the batch with the same overrides gives that replicate."""
    runs = sim.run_batch(baseline, runs=6, seed=1, out=None, overrides=OVERRIDES).runs
    for r in (0, 5):
        row = explain(scenario_with(baseline, OVERRIDES), 1, r).row
        want = runs.iloc[r]
        assert row["outcome"] == want["outcome"]
        assert (row["agreement_month"] == want["agreement_month"]) or (row.isna()["agreement_month"]
                                                                        and want.isna()["agreement_month"])
        assert row["territory_end_km2"] == pytest.approx(want["territory_end_km2"], abs=1e-9)


def test_outcome_line_reads_the_row(baseline):
    runs = pd.concat([sim.run_batch(baseline, runs=40, seed=1, out=None).runs,  # the baseline always talks
                      sim.run_batch(ROOT / "scenarios" / "direct_talks.yaml", runs=5, seed=1, out=None).runs])
    issues = list(baseline.model.issues)
    seen = set()
    for _, row in runs.iterrows():
        line = outcome_line(row, issues, 36)
        seen.add(row["outcome"])
        if row["outcome"] == "agreement":
            assert line.startswith(f"agreement in month {int(row['agreement_month'])}: ")
            assert all(f"{k} = {row[f'term_{k}']}" in line for k in issues)
            seen.add("relapsed" if pd.notna(row["relapse_month"]) else "held")
            assert line.endswith(f"; the settlement broke down in month {int(row['relapse_month'])} and the war resumed"
                                 if pd.notna(row["relapse_month"]) else "; the settlement held to month 36")
        elif row["outcome"] == "talks_failed":
            assert line.startswith(f"talks failed: they first opened in month {int(row['talks_month'])}")
            if row["partial_deals"]:
                assert f"({int(row['partial_deals'])} partial deals" in line
        else:
            assert line == "no talks: talks never opened in 36 months"
    assert seen == {"agreement", "talks_failed", "no_talks", "held", "relapsed"}


def test_stage_rows_are_the_shares_of_runs_that_reached_each_stage(baseline):
    pair = run_pair(baseline, {"actors.moscow.resolve": 0.6}, 300, 1)
    rows = {r["stage"]: r for r in pair.stage_rows()}
    assert list(rows) == ["talks", "partial", "ceasefire", "settlement", "relapse"]
    for side, runs in (("changed", pair.changed.runs), ("unchanged", pair.unchanged.runs)):
        assert rows["settlement"][side] == (runs["outcome"] == "agreement").mean()
        assert rows["relapse"][side] == runs["relapse_month"].notna().mean()
        assert rows["partial"][side] == runs["first_partial_month"].notna().mean()


def test_paired_runs_are_the_batch_api_with_and_without_the_overrides(baseline):
    seen = []
    pair = run_pair(baseline, {"actors.moscow.resolve": 0.6}, 3000, 2, progress=lambda d, t: seen.append((d, t)))
    changed = sim.run_batch(baseline, runs=3000, seed=2, out=None, overrides={"actors.moscow.resolve": 0.6})
    unchanged = sim.run_batch(baseline, runs=3000, seed=2, out=None)
    assert pair.changed.summary()["outcomes"] == changed.summary()["outcomes"]
    assert pair.unchanged.summary()["outcomes"] == unchanged.summary()["outcomes"]
    rows = {r["outcome"]: r for r in pair.outcome_rows()}
    a, b = unchanged.runs["outcome"] == "agreement", changed.runs["outcome"] == "agreement"
    assert rows["agreement"]["diff"][0] == pytest.approx(b.mean() - a.mean())
    lo, hi = rows["agreement"]["diff"][1:]
    assert lo <= rows["agreement"]["diff"][0] <= hi
    assert seen[-1] == (6000, 6000) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_without_overrides_both_sides_are_one_batch(baseline):
    pair = run_pair(baseline, {}, 500, 3)
    assert pair.changed is pair.unchanged
    assert all(r["diff"] == (0.0, 0.0, 0.0) for r in pair.outcome_rows())


@pytest.mark.parametrize("runs", [0, MAX_RUNS + 1])
def test_runs_out_of_range(baseline, runs):
    with pytest.raises(UsageError, match="runs must be between 1 and"):
        run_pair(baseline, {}, runs, 1)


def test_bad_override_is_named(baseline):
    with pytest.raises(UsageError, match="actors.kyiv.resolv"):
        run_pair(baseline, {"actors.kyiv.resolv": 0.5}, 10, 1)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_cli_rejects_a_bad_port_and_a_missing_file_with_exit_2(tmp_path):
    bad = run_cli("dashboard", "scenarios/baseline.yaml", "--port", "70000")
    assert bad.returncode == 2 and "--port must be a whole number from 1 to 65535 (got 70000)" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = run_cli("dashboard", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr and "Traceback" not in missing.stderr


# --------------------------------------------------------------------------- what the page puts in HTML

class _Tags(HTMLParser):
    """The elements and attributes of an HTML fragment, as a browser's parser reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(fragment: str) -> _Tags:
    p = _Tags()
    p.feed(str(fragment))
    p.close()
    return p


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return sim.load_scenario(write_hostile(tmp_path_factory.mktemp("hostile")))


def test_draft_tables_show_payload_names_as_text(hostile):
    """Issue 21, point 4: the draft builder wrote actor names into the page's HTML unescaped."""
    from sim.play.dashboard_page import governments_table, publics_table

    terms = {k: list(v.options)[0] for k, v in hostile.model.issues.items()}
    d = draft(hostile, 1, 0, 6, terms)
    for table, rows in ((governments_table(d), d.governments), (publics_table(d), d.publics)):
        p = parsed(table)
        assert {tag for tag, _ in p.tags} <= {"table", "tr", "th", "td"}, p.tags  # no <img>, <svg>, <script>
        assert all(set(attrs) <= {"class", "data-actor"} for _, attrs in p.tags), p.tags  # no on...= attribute
        actors = [attrs["data-actor"] for tag, attrs in p.tags if "data-actor" in attrs]
        assert actors == [r.name for r in rows] and len(actors) >= 2
        assert all(r.name in p.text for r in rows)  # each name shown as written
    assert any("onerror" in g.name for g in d.governments)  # the test did carry payloads


def test_the_page_tables_escape_what_they_are_given(hostile):
    from sim.play.dashboard_page import outcome_table, terms_html, timing_table

    pair = run_pair(hostile, {}, 30, 1)
    for fragment in (outcome_table(pair), timing_table(pair), terms_html(pair)):
        p = parsed(fragment)
        assert {tag for tag, _ in p.tags} <= {"table", "tr", "th", "td"}, p.tags
        assert all(set(attrs) <= {"class", "data-outcome", "data-p", "data-diff"} for _, attrs in p.tags)
    shown = "".join(parsed(terms_html(pair)).text)
    assert any(k in shown for k in hostile.model.issues)  # the issue names, as text


def test_html_goes_into_the_page_through_one_escaping_helper():
    """Every unsafe_innerHTML of the dashboard is the helper's, which escapes any plain string it is given."""
    from markupsafe import Markup

    from sim.play import dashboard_page

    source = Path(dashboard_page.__file__).read_text()
    assert source.count("unsafe_innerHTML") == 1 and "import html\n" not in source
    seen = []
    real = dashboard_page.solara.HTML
    try:
        dashboard_page.solara.HTML = lambda **kw: seen.append(kw["unsafe_innerHTML"])
        dashboard_page.Html("<b onclick='x'>a</b>")
        dashboard_page.Html(Markup("<b>{}</b>").format("<i>"))
    finally:
        dashboard_page.solara.HTML = real
    assert seen == ["&lt;b onclick=&#39;x&#39;&gt;a&lt;/b&gt;", "<b>&lt;i&gt;</b>"]


# --------------------------------------------------------------------------- /resourcez: off unless asked for

def _stats_app():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    return Starlette(routes=[Route("/resourcez", lambda r: PlainTextResponse("threads: 12")),
                             Route("/{path:path}", lambda r: PlainTextResponse("page"))])


def test_resourcez_is_hidden_behind_the_gate():
    from starlette.testclient import TestClient

    app = _stats_app()
    with TestClient(HideRoutes(app)) as c:
        for path in ("/resourcez", "/resourcez/", "/resourcez?verbose", "/resourcez//"):
            r = c.get(path)
            assert r.status_code == 404 and "threads" not in r.text, path
            assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"
        assert c.get("/").text == "page" and c.get("/readyz").text == "page"
    with TestClient(HideRoutes(app), root_path="/app") as c:
        assert c.get("/app/resourcez").status_code == 404
    with TestClient(app) as c:  # the app alone serves it: the gate is what hides it
        assert c.get("/resourcez").text == "threads: 12"


@pytest.mark.parametrize("asked", [False, True])
def test_serve_hides_resourcez_unless_asked(monkeypatch, asked):
    import uvicorn

    from sim.play import dashboard

    for key in ("NEGSIM_DASHBOARD_FILE", "SOLARA_APP", "SOLARA_MODE", "SOLARA_TELEMETRY_MIXPANEL_ENABLE",
                "SOLARA_SESSION_SECRET_KEY", "SERVER_NAME", "SERVER_PORT"):
        monkeypatch.delenv(key, raising=False)  # serve() sets them: restored after the test
    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(app))
    dashboard.serve(ROOT / "scenarios" / "baseline.yaml", "127.0.0.1", 8999, resourcez=asked)
    from solara.server.starlette import app

    assert served == [app] if asked else isinstance(served[0], HideRoutes) and served[0].app is app


def test_cli_has_the_resourcez_switch():
    out = run_cli("dashboard", "--help")
    assert out.returncode == 0 and "--resourcez" in out.stdout


def test_figures_draw_names_with_dollars_as_written(hostile):
    """A ``$`` in an actor's name is text in the dashboard's figures, not matplotlib math (which would fail)."""
    import io

    from sim.play.dashboard import figure_outcomes, figure_series, figure_timing

    govs, pubs = list(hostile.actors_of("government")), list(hostile.actors_of("public"))
    assert any("$" in g for g in govs)
    fig = figure_series(explain(hostile, 1, 3).series(), govs, pubs)
    fig.savefig(io.BytesIO(), format="png")
    assert set(govs) <= {t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()}
    pair = run_pair(hostile, {}, 20, 1)
    for f in (figure_outcomes(pair), figure_timing(pair)):
        f.savefig(io.BytesIO(), format="png")
