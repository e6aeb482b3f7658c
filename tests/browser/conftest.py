"""Headless Chromium (Debian's, never Playwright's download) against pytest-django's live server.

The live server runs in another thread of this process and needs the data committed, so every
browser test is transactional. `tests.conftest.make_user` and its `departments` fixture ask for
`db`, but pytest-django gives a test one database helper that becomes transactional as soon as
`live_server` is among its fixtures, so those fixtures are reused here as they are.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from kefu.accounts.models import User
from tests.conftest import PASSWORD

# Playwright's sync API keeps an event loop running in this thread; without this Django refuses
# the ORM calls the tests make to set up their data.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("KEFU_TEST_SCREENSHOTS", "/tmp/kefu-browser-screenshots"))
TIMEOUT_MS = 10_000


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs it) or apt-get install chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _serialized_rollback(django_db_serialized_rollback: None) -> None:
    """Transactional tests empty every table afterwards; this puts back what the migrations loaded
    (the roles' rights, the SPEC default policies) for the next test."""


@pytest.fixture
def new_context(
    browser: Browser, live_server: Any, request: pytest.FixtureRequest
) -> Iterator[Callable[[], BrowserContext]]:
    """Fresh browser profiles (one per signed-in person); a screenshot of each page on failure."""
    contexts: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        for n, context in enumerate(contexts):
            for m, page in enumerate(context.pages):
                path = SCREENSHOTS / f"{name}-{n}-{m}.png"
                page.screenshot(path=str(path), full_page=True)
                print(f"screenshot: {path} ({page.url})")
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context: Callable[[], BrowserContext]) -> Page:
    return new_context().new_page()


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Through the real sign-in page, as a person would."""
    page.goto("/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()


def signed_in(page: Page, user: User) -> Page:
    sign_in(page, user.username)
    expect(page).not_to_have_url(re.compile(r"/login/"))
    expect(page.get_by_test_id("user-menu")).to_be_visible()
    return page


@pytest.fixture
def browser_user(make_user: Callable[..., User], live_server: Any) -> Callable[[str], User]:
    """A user of the given role (username == role code), created only when a test needs it."""

    def make(role: str) -> User:
        return make_user(role, username=role)

    return make
