"""A real headless Chromium for the web UI tests (skipped where Chromium is not installed)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.harness import ROOT, BotServer

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"chromium not found at {CHROMIUM}: apt-get install -y chromium chromium-driver",
    ),
]


def launch() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def sign_in(browser: Any, web: BotServer, who: str, start: str = "/ui/", width: int = 1280) -> Any:
    """A page signed in as ``who`` through the emulator's Slack sign-in, at ``start``."""
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(web.base + start)
    assert "/ui/signin" in page.url
    page.click("#sign-in")
    page.click(f"button[value='{who}']")  # the emulator's Slack sign-in page
    page.wait_for_url(web.base + start)
    return page
