"""Browser tests against the real platform: fixtures for the processes and Chromium.

Debian's Chromium (``apt-get install -y chromium``) is driven by Playwright for Python
through its executable path, since browser downloads are impossible here. The tests skip,
saying so, only when ``/usr/bin/chromium`` is missing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

# The helpers module sits beside this file (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))

from live_platform import Platform

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}

# CI shares two cores between Kafka, PostgreSQL, Redis, six services and Chromium: give every
# expectation room beyond Playwright's 5 s default (they still wait on a condition).
expect.set_options(timeout=15_000)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: drives the console in headless Chromium")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.integration)
            if not CHROMIUM.exists():
                item.add_marker(
                    pytest.mark.skip(
                        reason="Debian's Chromium is not installed at /usr/bin/chromium "
                        "(apt-get install -y chromium)"
                    )
                )


@pytest.fixture(scope="session")
def platform(settings_env: dict[str, str]) -> Iterator[Platform]:
    """Every service and the console gateway, started for this run and seeded."""
    # Topics and databases of its own: other packages' long-lived services and saved
    # settings (a time lag, a Calltouch switch) must not leak into the browser's platform.
    env = dict(settings_env)
    env["TOPIC_PREFIX"] = f"{settings_env['TOPIC_PREFIX']}e2e."
    env["DATABASE_SUFFIX"] = f"_e2e{settings_env['DATABASE_SUFFIX']}"
    running = Platform(env=env)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser(platform: Platform) -> Iterator[Any]:
    """Headless Debian Chromium under Playwright.

    Module-scoped and set up after ``platform``: Playwright's sync API keeps an event loop
    running while it is open, so it must be closed before other (asyncio) tests run and
    before the session's own teardown."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def open_session(browser: Any, platform: Platform) -> Iterator[Callable[..., Any]]:
    """``open_session("anna")``: a fresh browser context logged in as that user, on ``/``."""
    contexts: list[Any] = []

    def open_as(username: str | None, viewport: dict[str, int] = DESKTOP) -> Any:
        context = browser.new_context(
            base_url=platform.console_url, viewport=viewport, accept_downloads=True
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/")
        if username is not None:
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(username)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_test_id("whoami").wait_for()
        return page

    yield open_as
    for context in contexts:
        context.close()
