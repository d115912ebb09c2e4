"""Issue 21, point 4: a scenario whose every string is an injection payload, in Chromium, runs nothing.

The payload scenario (tests/hostile.py) is loaded into the dashboard, the classroom's teacher and student
pages and the report. In each page nothing may execute: no dialog (the names' payloads call ``alert``), no
console line with the marker and no change of the title (the free texts' payloads log or set it), no script
refused by a Content-Security-Policy (an injection the policy stopped is still an injection), and no element
that a payload would have made (an ``on...`` attribute, an ``<img src=x>``, a ``javascript:`` link, a frame).
The payloads must be shown as text. Screenshots go to tests/artifacts/injection_*.png.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from classroom_server import serving
from hostile import MARK, write_hostile

from browser.chromium import artifact, browser
from browser.dashboard_server import dashboard
from sim.play.classroom.room import Classroom
from sim.present.report import write_report
from sim.runs.batch import run_batch
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[2]
WAIT = 20_000  # ms

# Elements and attributes a payload would have made, had a page parsed a string as HTML.
INJECTED = """() => {
  const bad = [];
  for (const e of document.querySelectorAll('*')) {
    const tag = e.tagName.toLowerCase();
    for (const a of e.attributes) {
      if (a.name.startsWith('on')) bad.push(`${tag}[${a.name}]`);
      if (['href', 'src', 'action', 'formaction', 'xlink:href'].includes(a.name) && /^\\s*javascript:/i.test(a.value))
        bad.push(`${tag}[${a.name}=javascript:]`);
    }
    if (['iframe', 'object', 'embed', 'details'].includes(tag)) bad.push(tag);
    if (tag === 'img' && e.getAttribute('src') === 'x') bad.push('img[src=x]');
    if ((tag === 'script' || tag === 'style') && /alert\\(|MARK/.test(e.textContent)) bad.push(tag);
  }
  return bad;
}""".replace("MARK", MARK)


class Watch:
    """What a page did that it should not: dialogs, marked console lines, CSP refusals."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def attach(self, page) -> None:
        def dialog(d) -> None:
            self.ran.append(f"dialog {d.type}: {d.message}")
            d.dismiss()

        def console(m) -> None:
            text = m.text
            if MARK in text or "Content Security Policy" in text or "Content-Security-Policy" in text:
                self.ran.append(f"console {m.type}: {text[:300]}")

        page.on("dialog", dialog)
        page.on("console", console)
        page.on("pageerror", lambda e: self.ran.append(f"page error: {e}") if MARK in str(e) else None)

    def check(self, page, title: str) -> None:
        """Nothing ran on ``page`` and nothing was injected into it; its title is still ``title``."""
        found = {"ran": self.ran, "injected": page.evaluate(INJECTED), "title": page.title()}
        assert found == {"ran": [], "injected": [], "title": title}, (page.url, found)


def hover_everything(page, selector: str) -> None:
    """Move the mouse over each matching element (an injected onmouseover would fire)."""
    for el in page.locator(selector).all()[:60]:
        try:
            el.hover(timeout=2000)
        except Exception:  # noqa: BLE001 (hidden or detached: nothing to hover)
            continue


def open_options(page) -> str:
    """Open the draft builder's first issue's list of options; its text (the option names, as shown).
    Retried: the page may draw itself again (and close the list) while a batch's results come in."""
    for _ in range(5):
        page.locator(".v-card", has_text="Draft builder").locator(".v-select__slot").first.click()
        try:
            page.wait_for_selector(".menuable__content__active .v-list-item", timeout=5000)
        except Exception:  # noqa: BLE001 (not open yet: click again)
            continue
        text = page.evaluate("document.querySelector('.menuable__content__active')?.innerText ?? null")
        page.keyboard.press("Escape")
        if text:
            return text
    raise AssertionError("the draft builder's list of options never opened")


def settled_title(page, title: str, timeout: float = 15) -> None:
    """Wait until the page has set its own title (solara sets it after the first drawing)."""
    end = time.monotonic() + timeout
    while page.title() != title and time.monotonic() < end:
        time.sleep(0.2)


# About a minute in all: run in make test's slow step (which CI runs too), to keep the default run near 10 min.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hostile_file(tmp_path_factory) -> Path:
    return write_hostile(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def hostile(hostile_file):
    return load_scenario(hostile_file)


# --------------------------------------------------------------------------- the dashboard

def test_dashboard_shows_every_payload_as_text(hostile_file, hostile):
    watch = Watch()
    governments = list(hostile.actors_of("government"))
    with dashboard(hostile_file, "injection_dashboard_server.log") as url, browser() as b:
        with pytest.raises(urllib.error.HTTPError) as stats:  # solara's machine statistics: off by default
            urllib.request.urlopen(url + "resourcez", timeout=10)  # noqa: S310 (local)
        assert stats.value.code == 404
        page = b.new_page(viewport={"width": 1400, "height": 2400})
        watch.attach(page)
        page.goto(url)
        page.wait_for_selector(".negsim-draft-governments", timeout=60_000)
        runs = page.locator(".negsim-runs input")
        runs.fill("200")
        runs.press("Enter")
        page.wait_for_selector("button.negsim-run:has-text('Run 200')")
        page.click("button.negsim-run")
        page.wait_for_selector(".negsim-terms", timeout=60_000)
        page.wait_for_selector("button.negsim-run:not([disabled])")
        options = open_options(page)
        hover_everything(page, ".negsim-draft-governments td, .negsim-draft-publics td, .negsim-terms td, "
                               ".negsim-lever-label, h2, h4")
        page.screenshot(path=str(artifact("injection_dashboard.png")), full_page=True)

        settled_title(page, f"negsim dashboard: {hostile.name}")
        watch.check(page, f"negsim dashboard: {hostile.name}")
        assert page.inner_text(".negsim-title") == f"negsim dashboard: {hostile.name}"
        shown = page.inner_text(".negsim-draft-governments")
        assert all(g in shown for g in governments), shown
        rows = [page.get_attribute(f".negsim-draft-governments tr:nth-child({i + 2})", "data-actor")
                for i in range(len(governments))]
        assert rows == governments  # the names, whole, in the attribute too
        first = next(iter(hostile.model.issues.values()))
        assert all(o in options for o in first.options), options
        labels = page.inner_text(".v-navigation-drawer")
        assert any(a.label and a.label in labels for a in hostile.model.actors.values())  # the levers' groups
        assert "onerror" in page.inner_text(".negsim-explain")  # the run's story names the payload actors


# --------------------------------------------------------------------------- the classroom

def _until(page, expression: str, timeout: float = WAIT / 1000) -> None:
    end = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > end:
            raise AssertionError(f"never true on {page.url}: {expression}")
        time.sleep(0.05)


def test_classroom_pages_show_every_payload_as_text(hostile, tmp_path):
    c = compile_scenario(hostile)
    room = Classroom(c, seed=1, replicate=9, state_dir=tmp_path / "classroom", runs=60)
    kyiv = list(hostile.actors_of("government"))[0]
    watch = Watch()
    with serving(room) as base, browser() as b:
        # the session and Kyiv's seat are made here, and the pages told of them as they keep them
        session, teacher_token = room.create()
        student_token = room.join(session.code, kyiv)
        teacher_ctx, student_ctx, lobby_ctx = (b.new_context(viewport={"width": 1200, "height": 900})
                                               for _ in range(3))
        teacher_ctx.add_init_script("sessionStorage.setItem('negsim.teacher', "
                                    f"{json.dumps(json.dumps({'code': session.code, 'token': teacher_token}))})")
        student_ctx.add_init_script("sessionStorage.setItem('negsim.student', " + json.dumps(json.dumps(
            {"code": session.code, "token": student_token, "role": kyiv})) + ")")
        teacher, student, lobby = teacher_ctx.new_page(), student_ctx.new_page(), lobby_ctx.new_page()
        titles = {}
        for page, path in ((teacher, "/teacher"), (student, "/"), (lobby, "/")):
            watch.attach(page)
            page.goto(base + path)
            titles[page] = page.title()
        # a newcomer sees every role by name in the role list
        lobby.fill("#code", session.code)
        lobby.click("#find")
        lobby.wait_for_selector("#role-box:not(.hidden)", timeout=WAIT)
        listed = lobby.locator("#role option").all_inner_texts()
        for role in [*hostile.actors_of("government"), *hostile.actors_of("mediator")]:
            assert any(t.startswith(role) for t in listed), (role, listed)
        values = [o.get_attribute("value") for o in lobby.locator("#role option").all()]
        assert kyiv in values

        teacher.wait_for_selector("#lobby:not(.hidden)", timeout=WAIT)
        _until(teacher, "document.querySelectorAll('#roles li.taken').length === 1")
        assert f"{kyiv} (government): a student" in teacher.text_content("#roles")
        seen_panel = ""
        for _ in range(80):
            _until(teacher, "document.body.dataset.phase !== undefined")
            phase = teacher.evaluate("document.body.dataset.phase")
            if phase == "finished":
                break
            version = teacher.evaluate("document.body.dataset.version")
            if phase == "waiting":
                teacher.click("#advance-decision")
            else:
                student.wait_for_selector("#decision .private button", timeout=WAIT)
                if not seen_panel:
                    seen_panel = student.text_content("#decision")
                    hover_everything(student, "#decision *, #months td")
                    student.screenshot(path=str(artifact("injection_student_decision.png")), full_page=True)
                student.locator("#decision .private button").first.click()
                student.wait_for_selector("#decision .private", state="detached", timeout=WAIT)
            _until(teacher, f"document.body.dataset.version !== '{version}'")
        else:
            raise AssertionError("the game did not end within 80 steps")
        teacher.wait_for_selector("#results-box:not(.hidden)", timeout=WAIT)
        student.wait_for_selector("#results-box:not(.hidden)", timeout=WAIT)
        for page in (teacher, student):
            hover_everything(page, "#roles li, #months td, #results *")
        teacher.screenshot(path=str(artifact("injection_teacher.png")), full_page=True)
        student.screenshot(path=str(artifact("injection_student.png")), full_page=True)

        for page in (teacher, student, lobby):
            watch.check(page, titles[page])
        assert seen_panel, "Kyiv never had a move"
        options = [o for i in hostile.model.issues.values() for o in i.options]
        labels = [i.label for i in hostile.model.issues.values() if i.label]
        assert labels and all(f"{k}: " in seen_panel for k in labels), seen_panel  # the terms, by their labels
        assert any(o in seen_panel for o in options), seen_panel  # ... and their options, as written
        months = teacher.text_content("#months")
        assert f"{kyiv}: " in months and any(o in months for o in options), months
        assert f"actors.{kyiv}.resolve is now 0.35" in months  # the event, by its key path
        for ctx in (teacher_ctx, student_ctx, lobby_ctx):
            ctx.close()


# --------------------------------------------------------------------------- the report

def test_report_shows_every_payload_as_text(hostile, tmp_path):
    run_dir = run_batch(hostile, runs=60, seed=1, out=tmp_path / "runs").run_dir
    out = write_report([run_dir], tmp_path / "report.html").html
    watch = Watch()
    with browser() as b:
        page = b.new_page(viewport={"width": 1200, "height": 1600})
        watch.attach(page)
        page.goto(Path(out).resolve().as_uri())
        hover_everything(page, "td, th, h1, h2, p, li")
        page.screenshot(path=str(artifact("injection_report.png")), full_page=True)
        watch.check(page, f"negsim report: {hostile.name}")
        body = page.inner_text("body")
    assert f"negsim report: {hostile.name}" in body
    assert hostile.model.description.split("  ")[0][:60] in body
    evidence = (Path(hostile.path).parent / "seeds" / "payloads.txt").read_text().split("\n\n")
    assert sum(q.strip() in body for q in evidence) >= 3  # the assumptions' quotes, as written
    assert all(a in body for a in hostile.model.actors)
