"""The browser fixture drives Debian's Chromium, and Playwright's sync API lives next to
pytest-asyncio: the tests below alternate on purpose (order matters, keep it)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

PAGE = "data:text/html,<title>Rig</title><h1 id=greeting>Hello from the rig</h1>"


def test_renders_a_data_url_and_reads_its_text(page: Page) -> None:
    page.goto(PAGE)
    assert page.title() == "Rig"
    assert page.locator("#greeting").inner_text() == "Hello from the rig"
    assert page.viewport_size == {"width": 1280, "height": 800}


def test_it_is_debians_chromium(browser: Browser) -> None:
    assert browser.browser_type.name == "chromium"
    assert browser.version.split(".")[0].isdigit()


async def test_an_async_test_runs_after_a_browser_test() -> None:
    await asyncio.sleep(0)
    assert asyncio.get_running_loop().is_running()


def test_asyncio_run_works_after_a_browser_test() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert asyncio.run(answer()) == 42


@pytest.fixture
def greeted_page(page: Page) -> Iterator[Page]:
    """A fixture built on `page` that drives it during set-up and teardown."""
    page.goto(PAGE)
    yield page
    assert page.get_by_role("button").inner_text() == "clicked"  # teardown drives it too


def test_browser_after_async_tests_and_fixtures_built_on_page(greeted_page: Page) -> None:
    with greeted_page.expect_console_message() as message:
        greeted_page.evaluate("console.log('from the page')")
    assert message.value.text == "from the page"
    greeted_page.set_content("<button onclick=\"this.textContent='clicked'\">press</button>")
    greeted_page.get_by_role("button").click()
    assert greeted_page.get_by_role("button").inner_text() == "clicked"


async def test_async_again() -> None:
    await asyncio.sleep(0)
