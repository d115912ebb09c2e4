"""The classroom in a real browser: a teacher and four students play a whole game in five browser contexts,
watched on the projector view (a sixth); a seventh student leaves a role and an eighth is removed by the
teacher; at the end the class summary page is opened, on screen and as printed.

The server (uvicorn, 127.0.0.1, a free port) starts and stops inside the test; the pages are driven by
Playwright on Debian's chromium. Seed 1 replicate 9 of the baseline: talks open in month 2 with the US
leading, so every student has a move within a few months.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from classroom_server import SECRET, serving
from matplotlib import image

from browser.chromium import artifact, browser, join_as
from sim.play.classroom.room import CODE_PATTERN, Classroom
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
STUDENTS = ["kyiv", "moscow", "us", "ukraine_public"]
WAIT = 15_000  # ms


def until(page, expression: str, timeout: float = WAIT / 1000) -> None:
    """Wait until a JavaScript expression is true on the page (polled with evaluate: the pages' Content
    Security Policy forbids the eval that Playwright's wait_for_function needs, and the test keeps it)."""
    end = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > end:
            raise AssertionError(f"never true on {page.url}: {expression}")
        time.sleep(0.05)


def looks_like_a_page(path: Path, min_height: int) -> np.ndarray:
    """A real screenshot: a PNG of the page's size, not blank, with the header's navy band at the top."""
    px = image.imread(str(path))
    assert px.shape[0] >= min_height and px.shape[1] >= 1000, px.shape
    assert px[..., :3].std() > 0.05  # not a blank page
    band = px[2:30, :, :3].reshape(-1, 3)
    navy = np.abs(band - np.array([0x1F, 0x3A, 0x5F]) / 255).max(axis=1) < 0.03
    assert navy.mean() > 0.7, navy.mean()  # the header is drawn across the top
    return px


def raw_options(c) -> list[str]:
    """The scenario's option identifiers that are more than one word (cede_quarter): a page must word them."""
    return sorted({o for opts in c.options for o in opts if "_" in o})


def check_panel(page, c, role: str, shots: dict[str, int]) -> None:
    """What a student reads at a glance on a decision panel (issue 20): terms in words, who offered, one value
    of no deal, satisfaction bars, a dropdown inside its card; a screenshot of the first panel of each kind."""
    panel = page.text_content("#decision")
    assert not [o for o in raw_options(c) if o in panel], panel
    kind = "propose" if page.locator("#propose").count() else ("answer" if page.locator("#accept").count() else "ratify")
    if kind == "propose":  # a select per issue, each inside its card
        box = page.locator("#decision .private").bounding_box()
        assert page.locator("#decision .issue-select").count() == len(c.issues)
        for sel in page.locator("#decision .issue-select").all():
            select = sel.bounding_box()
            assert select["x"] >= box["x"] and select["x"] + select["width"] <= box["x"] + box["width"] + 0.5, (box,
                                                                                                            select)
        assert page.locator("#option-satisfaction .sat-row").count() >= 2  # both governments at least
    else:
        assert "offered by " in panel and page.locator("#decision .term-list li").count() == 3
        assert page.locator("#decision .sat-row").count() == 1  # the role's own
    if role in ("kyiv", "moscow"):
        assert panel.count("No deal is worth") == 1 and page.text_content("#own") == ""  # one value on the screen
    if shots.get(f"{role}-{kind}", 0) == 0:
        page.screenshot(path=str(artifact(f"classroom_{role}_{kind}.png")), full_page=True)
        shots[f"{role}-{kind}"] = 1


def check_chart(page) -> None:
    """The territory chart has axes with labels and ticks."""
    assert page.text_content("#front svg.chart .x-label") == "month of the game"
    assert page.text_content("#front svg.chart .y-label") == "km² held by Russia"
    assert page.locator("#front svg.chart .x-tick").count() >= 2
    assert page.locator("#front svg.chart .y-tick").count() >= 2


def test_a_class_plays_a_whole_game(tmp_path):
    c = compile_scenario(load_scenario(BASELINE))
    room = Classroom(c, seed=1, replicate=9, state_dir=tmp_path / "classroom", runs=300)
    with serving(room) as base, browser() as b:
        contexts = [b.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True) for _ in range(5)]
        big = b.new_context(viewport={"width": 1600, "height": 1000})  # the projector's screen
        teacher = contexts[0].new_page()
        teacher.goto(f"{base}/teacher")  # without the secret: the page asks for it
        teacher.click("#create")
        assert "teacher secret" in teacher.text_content("#start-error")
        teacher.fill("#secret", "not-the-secret")
        teacher.click("#create")
        teacher.wait_for_function("document.querySelector('#start-error').textContent.includes('secret')",
                                  timeout=WAIT)
        assert teacher.locator("#lobby.hidden").count() == 1
        teacher.close()
        teacher = contexts[0].new_page()
        teacher.goto(f"{base}/teacher#secret={SECRET}")  # the address the server prints
        assert "secret" not in teacher.evaluate("location.href")  # taken out of the address bar at once
        assert teacher.locator("#secret-row.hidden").count() == 1
        teacher.click("#create")
        teacher.wait_for_selector("#lobby:not(.hidden)", timeout=WAIT)
        code = teacher.text_content("#code-big")
        assert CODE_PATTERN.fullmatch(code), code
        assert teacher.text_content("#address") == f"{base}/"
        qr = teacher.locator("#qr svg.segno")  # the students' address as a QR code, drawn inline
        assert qr.count() == 1 and teacher.get_attribute("#qr", "data-url") == f"{base}/"
        assert qr.bounding_box()["width"] >= 100 and teacher.locator("#qr svg path").count() >= 1
        assert teacher.get_attribute("#projector-link", "href") == f"/projector#code={code}"

        students = {}
        for role, ctx in zip(STUDENTS, contexts[1:], strict=True):
            page = ctx.new_page()
            page.goto(f"{base}/")
            page.fill("#code", code.lower())  # typed in lower case: the page reads it as the code
            page.click("#find")
            page.wait_for_selector("#role-box:not(.hidden)", timeout=WAIT)
            page.select_option("#role", role)
            page.click("#take")
            page.wait_for_selector("#game:not(.hidden)", timeout=WAIT)
            assert f"{role} · class {code}" in page.text_content("#who")
            students[role] = page
        # a fifth person may not take a role already taken: the page says so
        late = contexts[1].new_page()
        late.goto(f"{base}/")
        late.fill("#code", code)
        late.click("#find")
        late.wait_for_selector("#role-box:not(.hidden)", timeout=WAIT)
        assert late.locator("#role option[value=kyiv]").is_disabled()
        late.close()
        until(teacher, "document.querySelectorAll('#roles li.taken').length === 4")
        assert "kyiv (government): a student" in teacher.text_content("#roles")
        assert "eu_uk (mediator): the model" in teacher.text_content("#roles")
        leaver, removed = join_as(contexts[2].new_page(), base, code, "eu_uk"), join_as(contexts[3].new_page(), base,
                                                                                          code, "russia_public")
        until(teacher, "document.querySelectorAll('#roles li.taken').length === 6")
        leaver.click("#leave")  # a student gives the role up: the page is the join form again
        leaver.wait_for_selector("#join:not(.hidden)", timeout=WAIT)
        until(teacher, "document.querySelector('#roles li[data-role=eu_uk]').textContent.includes('the model')")
        teacher.click("#roles button.remove[data-role=russia_public]")  # the teacher takes a role back
        until(teacher, "document.querySelectorAll('#roles li.taken').length === 4")
        assert "russia_public (public): the model" in teacher.text_content("#roles")
        until(removed, "document.querySelector('#move-error').textContent.includes('holds no role')")
        leaver.close()
        removed.close()
        teacher.screenshot(path=str(artifact("classroom_teacher_lobby.png")), full_page=True)
        looks_like_a_page(artifact("classroom_teacher_lobby.png"), 900)
        projector = big.new_page()
        projector.goto(f"{base}/projector#code={code}")  # read only: it joins as an observer
        until(projector, "document.body.dataset.phase === 'waiting'")
        assert "month 0 of" in projector.text_content("#month-big")
        assert "Waiting for the teacher" in projector.text_content("#awaiting")
        projector_shot = False

        kyiv_answers = 0
        shot_taken = False
        shots: dict[str, int] = {}
        for _ in range(60):
            until(teacher, "document.body.dataset.phase !== undefined")
            phase = teacher.evaluate("document.body.dataset.phase")
            if phase == "finished":
                break
            version = teacher.evaluate("document.body.dataset.version")
            if phase == "waiting":
                teacher.click("#advance-decision")
            else:
                role = teacher.evaluate("document.body.dataset.waiting").split(",")[0]
                page = students[role]
                page.wait_for_selector("#decision .private button", timeout=WAIT)
                panel = page.text_content("#decision")
                check_panel(page, c, role, shots)
                if page.locator("#propose").count():
                    assert page.locator("#decision .issue-select option").count() >= len(c.issues)
                    page.click("#propose")
                elif page.locator("#accept").count():
                    assert "Only you see this. No deal is worth" in panel and "On the table" in panel
                    if role == "kyiv":
                        if not shot_taken:
                            page.screenshot(path=str(artifact("classroom_student_decision.png")), full_page=True)
                            shot_taken = True
                        if not projector_shot:  # the big screen: whose move is awaited, the offer on the table
                            until(projector, "document.querySelector('#awaiting').textContent.includes('kyiv')")
                            assert "answer the offer" in projector.text_content("#awaiting")
                            table = projector.text_content("#on-table")  # the terms in words, no identifiers
                            assert "package" in table and ": " in projector.text_content("#on-table li")
                            assert not [o for o in raw_options(c) if o in table] and "=" not in table, table
                            assert projector.locator("#chart svg text").count() >= 6  # ticks and axis titles
                            assert "km² Russia holds" in projector.text_content("#chart")
                            assert "Only you see" not in projector.text_content("body")
                            projector.screenshot(path=str(artifact("classroom_projector.png")), full_page=True)
                            projector_shot = True
                        kyiv_answers += 1
                        page.click("#reject" if kyiv_answers == 1 else "#accept")
                    else:
                        page.click("#accept")
                else:
                    assert "Both governments signed it" in panel
                    page.click("#ratify")
                try:
                    page.wait_for_selector("#decision .private", state="detached", timeout=WAIT)
                except Exception:
                    page.screenshot(path=str(artifact("classroom_failed_move.png")), full_page=True)
                    raise AssertionError(f"{role}'s move did not go through: {page.text_content('#move-error')!r} "
                                         f"{page.text_content('#status')!r}") from None
            until(teacher, f"document.body.dataset.version !== '{version}'")
        else:
            raise AssertionError("the game did not end within 60 steps")

        teacher.wait_for_selector("#results-box:not(.hidden)", timeout=WAIT)
        result = teacher.text_content("#results")
        assert "Result:" in result and "runs of the model" in result and "← the class" in result
        assert "Over 300 runs of the same scenario" in result
        for role, page in students.items():
            page.wait_for_selector("#results-box:not(.hidden)", timeout=WAIT)
            assert page.text_content("#results").startswith(result.split(" in month")[0].split("Terms")[0][:20]), role
        # the others' moves, shown once their month resolved: Kyiv's refusal of the US offer on Moscow's page
        months = students["moscow"].text_content("#months")
        assert "kyiv: reject (class)" in months and "us offered package" in months
        assert "us: proposes package" in months
        assert kyiv_answers >= 1 and shot_taken
        assert "Your own numbers at the end of month" in students["kyiv"].text_content("#own")
        assert students["kyiv"].text_content("#decision") == "The game is over."
        assert shots.get("us-propose") and shots.get("kyiv-answer")
        # the ended page says how the game ended, never that talks are open; the chart has its axes
        for page in (teacher, *students.values()):
            check_chart(page)
            front = page.text_content("#front .front-now")
            assert "The game is over: it ended in " in front and "Talks are open" not in front, front
            assert not [o for o in raw_options(c) if o in page.text_content("body")]
        assert "it ended in " in students["kyiv"].text_content("#status")
        assert students["us"].text_content("#own") == ""  # a mediator has no private numbers between decisions
        # the peace process: its stage now, on every page, as the server's game.process says
        for page in (teacher, *students.values()):
            now = page.locator("#front .process-now")
            assert now.count() == 1 and now.inner_text().startswith("Stage: ")
            assert now.get_attribute("data-stage") in ("talks", "partial", "ceasefire", "settlement", "relapse")
        assert "The game ended in " in result and ("held to month" in result or "broke down in month" in result
                                                  or "talks that failed" in result)
        if "AGREEMENT" in result:  # each stakeholder's satisfaction with the settlement
            assert teacher.locator("#results .sat-row").count() >= 2

        until(projector, "document.body.dataset.phase === 'finished'")
        projector.wait_for_selector("#end:not(.hidden)", timeout=WAIT)
        assert projector.text_content("#end-result").startswith("Result: ")
        assert projector.text_content("#summary-address") == f"{base}/summary/{code}"
        assert "The last offer" in projector.text_content("#on-table")
        projector.screenshot(path=str(artifact("classroom_projector_end.png")), full_page=True)
        looks_like_a_page(artifact("classroom_projector.png"), 900)
        looks_like_a_page(artifact("classroom_projector_end.png"), 900)
        assert projector_shot

        summary = big.new_page()
        summary.goto(teacher.evaluate("document.querySelector('#summary-link').href"))
        text = summary.text_content("body")
        for part in (f"Class summary: class {code}", "The outcome against the model", "← the class", "Month by month",
                     "The decisions", "Events and messages", "the student playing eu_uk leaves",
                     "the teacher removes the student playing russia_public", "kyiv"):
            assert part in text, part
        assert summary.locator("#class-moves td.by-class").count() >= 4 and summary.locator("figure img").count() == 1
        summary.screenshot(path=str(artifact("classroom_summary.png")), full_page=True)
        summary.emulate_media(media="print")
        summary.screenshot(path=str(artifact("classroom_summary_print.png")), full_page=True)
        for name in ("classroom_summary.png", "classroom_summary_print.png"):
            px = image.imread(str(artifact(name)))
            assert px.shape[0] >= 900 and px[..., :3].std() > 0.05, name
        pdf = summary.pdf()  # headless chromium prints it: a PDF of a few pages
        assert pdf.startswith(b"%PDF") and len(pdf) > 20_000

        teacher_shot, student_shot = artifact("classroom_teacher.png"), artifact("classroom_student.png")
        teacher.screenshot(path=str(teacher_shot), full_page=True)
        students["kyiv"].screenshot(path=str(student_shot), full_page=True)
        looks_like_a_page(teacher_shot, 900)
        looks_like_a_page(student_shot, 900)
        looks_like_a_page(artifact("classroom_student_decision.png"), 900)

        with teacher.expect_download() as got:
            teacher.click("#csv")
        rows = list(csv.DictReader(open(got.value.path(), newline="")))
        assert rows[0]["role"] == "us" and rows[0]["made_by"] == "class"
        assert rows[-1]["kind"] == "outcome"
        with teacher.expect_download() as got:
            teacher.click("#replay")
        replay = tmp_path / "class.replay.json"
        got.value.save_as(str(replay))
        old_code = code
        teacher.click("#new")  # the next class: a new session and code
        teacher.click("#create")
        teacher.wait_for_selector("#lobby:not(.hidden)", timeout=WAIT)
        assert CODE_PATTERN.fullmatch(teacher.text_content("#code-big")) and teacher.text_content("#code-big") != old_code
        for ctx in [*contexts, big]:
            ctx.close()
    rec = json.loads(replay.read_text())
    assert [m["role"] for m in rec["moves"]][:3] == ["us", "kyiv", "moscow"]
    told = subprocess.run([sys.executable, "-m", "sim.cli", "explain", "--replay", str(replay)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert told.returncode == 0 and "moves were theirs" in told.stdout, told.stderr
    assert rows[-1]["choice"] == rec["record"]["outcome"]
