"""Headless Chromium for browser tests: Debian's `chromium` package driven by Playwright.

Playwright's own browser download cannot work on machines without network, so the
tests launch the system browser through ``executable_path``. Outside CI a missing
browser skips the test; in CI (``CI=true``) it fails: `.ci/run` installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# Flags of a quiet headless browser on a closed network: no background fetches, no first-run pages.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"


def chromium_path() -> str:
    """The system Chromium, or skip (fail in CI) when it is missing."""
    path = os.environ.get("NEGSIM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "Debian's chromium package is not installed (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + ": browser tests must run in CI")
        pytest.skip(message)
    return path


@contextmanager
def browser() -> Iterator[object]:
    """A Playwright Browser on the system Chromium; closed on exit."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("playwright is not installed: browser tests must run in CI")
        pytest.skip("playwright is not installed")
    path = chromium_path()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


def artifact(name: str) -> Path:
    """Where a test keeps a screenshot for people to look at (tests/artifacts/, not committed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


def join_as(page, base: str, code: str, role: str, wait: int = 15_000):
    """A student's page that has taken ``role`` in class ``code`` (``wait``: ms for each step to show)."""
    page.goto(f"{base}/?code={code}")
    page.click("#find")
    page.wait_for_selector("#role-box:not(.hidden)", timeout=wait)
    page.select_option("#role", role)
    page.click("#take")
    page.wait_for_selector("#game:not(.hidden)", timeout=wait)
    return page
