"""Signing out in a real headless Chromium: here, and everywhere (another browser is signed out).

Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import ARTIFACTS, BROWSER_MARKS, launch
from tests.support.browser import sign_in as _sign_in
from tests.support.harness import BotServer
from tests.support.overview_seed import add_incident

pytestmark = BROWSER_MARKS


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from launch()


def test_sign_out_everywhere_signs_out_the_other_browser(
    browser: Any, web: BotServer, people: dict[str, str]
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    add_incident(web.services.repo, 1, title="Checkout down")
    laptop = _sign_in(browser, web, people["alice"])
    phone = _sign_in(browser, web, people["alice"], width=420)
    header = phone.locator("header.top")
    assert header.locator("button", has_text="Sign out everywhere").is_visible()
    assert header.locator(".who").inner_text() == "Alice Adams"
    phone.screenshot(path=str(ARTIFACTS / "web-sign-out-everywhere.png"))

    phone.click("text=Sign out everywhere")
    phone.wait_for_url("**/ui/signin")
    assert phone.locator("#sign-in").is_visible() and "Alice Adams" not in phone.content()

    laptop.reload()
    assert "/ui/signin" in laptop.url, "the other browser's session ended too"
    assert laptop.locator("#sign-in").is_visible() and "Checkout down" not in laptop.content()


def test_sign_out_here_keeps_the_other_browser_signed_in(
    browser: Any, web: BotServer, people: dict[str, str]
) -> None:
    add_incident(web.services.repo, 1, title="Checkout down")
    laptop = _sign_in(browser, web, people["alice"])
    phone = _sign_in(browser, web, people["alice"])
    phone.click("header.top button:text-is('Sign out')")
    phone.wait_for_url("**/ui/signin")
    phone.goto(web.base + "/ui/")
    assert "/ui/signin" in phone.url
    laptop.reload()
    assert "Checkout down" in laptop.content()
