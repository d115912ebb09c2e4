"""The browser set-up itself: the system Chromium renders a local page and Playwright reads it back."""

from __future__ import annotations

from browser.chromium import artifact, browser


def test_chromium_renders_a_local_page(tmp_path):
    page_file = tmp_path / "page.html"
    page_file.write_text("<html><body><h1 id='t'>negsim</h1><button onclick=\"this.textContent='clicked'\">go"
                         "</button></body></html>")
    with browser() as b:
        page = b.new_page()
        page.goto(page_file.as_uri())
        page.click("button")
        assert page.text_content("button") == "clicked"
        assert page.text_content("#t") == "negsim"
        shot = artifact("chromium_smoke.png")
        page.screenshot(path=str(shot))
    assert shot.stat().st_size > 1000
