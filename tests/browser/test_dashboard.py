"""`negsim dashboard` in Chromium: move a lever, set N, run, read the bars' numbers, use the draft builder.

The server runs in a subprocess on 127.0.0.1 and a free port, started and
stopped here. The browser may reach nothing but that server (every other
request is aborted and counted), and the server's own outgoing HTTP goes to
a closed local port, so the page must render from what is installed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

import sim
from browser.chromium import artifact, browser
from browser.dashboard_server import dashboard
from sim.analysis.paired import compare_tables
from sim.engine.records import OUTCOMES
from sim.play.draft import draft

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
RUNS, SEED = 3000, 1


@pytest.fixture
def server() -> Iterator[str]:
    with dashboard(BASELINE, "dashboard_server.log", start_seconds=40) as url:
        yield url


def test_dashboard_runs_paired_batches_and_drafts(server):
    sc = sim.load_scenario(BASELINE)
    outside, failed = [], []
    with browser() as b:
        page = b.new_page(viewport={"width": 1400, "height": 2000})

        def only_local(route):
            if route.request.url.startswith(server):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_local)
        page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)
        page.goto(server)
        page.wait_for_selector("text=Draft builder", timeout=30_000)
        started = time.monotonic()
        page.screenshot(path=str(artifact("dashboard_start.png")))

        # a lever: Kyiv's resolve, five steps of 0.01 up with the keyboard
        lever = page.locator(".lever-actors-kyiv-resolve")
        assert "0.35" in lever.locator(".negsim-lever-label").inner_text()
        lever.locator(".v-slider__thumb-container").focus()
        for _ in range(5):
            page.keyboard.press("ArrowRight")
        page.wait_for_function("document.querySelector('.lever-actors-kyiv-resolve .negsim-lever-label')"
                               ".innerText.includes('0.4')")
        # N runs
        runs = page.locator(".negsim-runs input")
        runs.fill(str(RUNS))
        runs.press("Enter")
        page.wait_for_selector(f"button.negsim-run:has-text('Run {RUNS:,}')")
        page.click("button.negsim-run")
        page.wait_for_selector(".negsim-outcomes", timeout=60_000)
        page.wait_for_selector("button.negsim-run:not([disabled])")

        # Solara draws the result's widgets one after another: the checks that read a whole list (a count, every
        # header) wait for it with Playwright's retrying assertions, as a reader's eye would (CI once read the
        # overrides table between its rows and its headers)
        rows = page.locator(".negsim-overrides tr[data-path]")  # parameter, your value, the scenario's value
        expect(page.locator(".negsim-overrides th")).to_have_text(["parameter", "your value", "scenario's value"])
        expect(rows).to_have_count(1)
        shown = {rows.nth(i).get_attribute("data-path"): json.loads(rows.nth(i).get_attribute("data-value"))
                 for i in range(rows.count())}
        assert shown == {"actors.kyiv.resolve": 0.4}
        row = rows.first.locator("td")
        assert "resolve" in row.nth(0).inner_text() and "actors.kyiv.resolve" in row.nth(0).inner_text()
        assert row.nth(1).inner_text() == "0.4" and row.nth(2).inner_text().startswith("0.35")
        changed = sim.run_batch(sc, runs=RUNS, seed=SEED, out=None, overrides=shown)
        unchanged = sim.run_batch(sc, runs=RUNS, seed=SEED, out=None)
        want_changed, want_unchanged = changed.summary()["outcomes"], unchanged.summary()["outcomes"]
        diffs = compare_tables(unchanged.runs, changed.runs, paired=True).outcomes.set_index("outcome")
        moved = 0
        for o in OUTCOMES:
            cells = page.locator(f".negsim-outcomes tr[data-outcome='{o}']")
            for side, want in (("changed", want_changed[o]), ("unchanged", want_unchanged[o])):
                cell = cells.locator(f"td.{side}")
                assert float(cell.get_attribute("data-p")) == want["p"]
                assert cell.inner_text() == (f"{100 * want['p']:.1f}% [{100 * want['lo']:.1f}, "
                                             f"{100 * want['hi']:.1f}]")
            d, lo, hi = (float(diffs.loc[o, k]) for k in ("diff", "lo", "hi"))
            assert float(cells.locator("td.diff").get_attribute("data-diff")) == d
            assert cells.locator("td.diff").inner_text() == f"{100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"
            moved += want_changed[o]["p"] != want_unchanged[o]["p"]
        assert moved  # the lever moved the outcomes: the comparison is not of a batch with itself
        from sim.play.dashboard import reached_share

        for stage in ("talks", "partial", "ceasefire", "settlement", "relapse"):  # the stages of the peace process
            row = page.locator(f".negsim-stages tr[data-stage='{stage}']")
            for side, runs_ in (("changed", changed.runs), ("unchanged", unchanged.runs)):
                assert float(row.locator(f"td.{side}").get_attribute("data-p")) == reached_share(runs_, stage)
        outcomes_card = page.locator(".v-card", has_text="Outcomes, terms and timing")
        outcomes_card.scroll_into_view_if_needed()
        outcomes_card.screenshot(path=str(artifact("dashboard_outcomes.png")))
        page.wait_for_function("document.querySelectorAll('.v-card img').length >= 2")  # the bars and the timing

        # the draft builder: replicate 3, month 6; pick the land term (a return of a quarter), then apply the best
        # single change (Model v3: a freeze, which the model's own package already is, has no better neighbour)
        rep = page.locator(".negsim-replicate input")
        rep.fill("3")
        rep.press("Enter")
        terms = {"crimea_status": "status_deferred", "land_returned": "return_25",
                 "legal_recognition": "not_recognised"}
        page.locator(".draft-land-returned .v-select__slot").click()
        page.locator(".menuable__content__active .v-list-item", has_text="return 25%").first.click()
        want = draft(sc, SEED, 3, 6, terms, shown)
        page.wait_for_function(f"document.querySelector('.negsim-p-deal')?.dataset.p === '{want.p_deal!r}'",
                               timeout=15_000)
        for g in want.governments:
            assert page.inner_text(f".negsim-draft-governments tr[data-actor='{g.name}'] td.p-accept") \
                == f"{100 * g.p_accept:.1f}%"
        for s_ in want.satisfaction:  # each stakeholder's satisfaction bar, the draft's own number
            bar = page.locator(f".negsim-sat-row[data-actor='{s_.actor}']")
            assert float(bar.get_attribute("data-score")) == s_.score
        assert page.inner_text(".negsim-draft-words") == "The draft: " + want.words
        draft_card = page.locator(".v-card", has_text="Draft builder")
        draft_card.scroll_into_view_if_needed()
        draft_card.screenshot(path=str(artifact("dashboard_draft.png")))
        text = draft_card.inner_text()
        raw = sorted({o for issue in sc.model.issues.values() for o in issue.options if "_" in o})
        assert not [o for o in raw if o in text], text  # every option in words
        # nothing covers the Apply button (Solara's corner badge was drawn over it): the page's own element
        # is what a click at its centre reaches, scrolled to the bottom of the window as a user would see it
        page.evaluate("document.querySelector('button.negsim-apply').scrollIntoView({block: 'end'})")
        page.screenshot(path=str(artifact("dashboard_apply_button.png")))
        assert page.evaluate("""(() => { const b = document.querySelector('button.negsim-apply');
            const r = b.getBoundingClientRect();
            return [[0.5, 0.5], [0.05, 0.5], [0.95, 0.5], [0.5, 0.1], [0.5, 0.9]].every(([fx, fy]) =>
              b.contains(document.elementFromPoint(r.left + fx * r.width, r.top + fy * r.height))); })()""")
        assert want.best_change is not None
        assert f"raises it to {100 * want.best_change.p_deal:.1f}%" in page.inner_text(".negsim-best")
        page.click("button.negsim-apply")
        after = draft(sc, SEED, 3, 6, terms | {want.best_change.issue: want.best_change.new}, shown)
        assert after.p_deal == want.best_change.p_deal
        page.wait_for_function(f"document.querySelector('.negsim-p-deal')?.dataset.p === '{after.p_deal!r}'",
                               timeout=15_000)

        run_card = page.locator(".v-card", has_text="One run, month by month")
        run_card.scroll_into_view_if_needed()
        assert "Scenario baseline, replicate 3" in page.inner_text(".negsim-explain")
        assert page.get_attribute(".negsim-run-outcome", "data-outcome") == changed.runs.iloc[3]["outcome"]
        assert page.get_attribute(".negsim-run-outcome-unchanged", "data-outcome") == unchanged.runs.iloc[3]["outcome"]
        run_card.screenshot(path=str(artifact("dashboard_one_run.png")))
        print(f"page loaded to last check: {time.monotonic() - started:.1f} s")
    assert outside == []
    assert failed == []
