"""The console's security headers as the browser receives them, and the console working
under its Content-Security-Policy: no violation reported while an operator logs in and opens
the main pages (the live WebSocket, the report's chart, the booking calendar, settings)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect


def test_the_console_is_served_hardened_and_works_under_its_policy(
    open_session: Any, platform: Any
) -> None:
    page = open_session(None)
    reported: list[str] = []
    page.on("console", lambda message: reported.append(message.text))

    response = page.goto("/")
    assert response is not None and response.status == 200
    headers = response.headers
    policy = {
        name: sources
        for name, *sources in (p.split() for p in headers["content-security-policy"].split(";"))
    }
    host = platform.console_url.removeprefix("http://")
    assert policy == {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "connect-src": ["'self'", f"ws://{host}"],
    }
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    # Plain HTTP here: no HSTS, and the session cookie is HTTP-only but not Secure.
    assert "strict-transport-security" not in headers

    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin")
    with page.expect_response(re.compile("/api/booking/auth/login$")) as login:
        page.get_by_role("button", name="Sign in").click()
    assert login.value.headers["x-content-type-options"] == "nosniff"
    (session,) = [c for c in page.context.cookies() if c["name"] == "sb_session"]
    assert (session["httpOnly"], session["secure"], session["sameSite"]) == (True, False, "Lax")

    # The notify WebSocket connects (connect-src), the chart draws, every page renders.
    expect(page.get_by_test_id("notify-state")).to_have_text(
        re.compile("Live calls on"), timeout=30_000
    )
    page.goto("/calls")
    expect(page.get_by_test_id("call-log")).to_be_visible()
    page.goto("/reports")
    page.get_by_role("button", name="Chart", exact=True).click()
    expect(page.get_by_test_id("report-chart").locator("canvas")).to_be_visible()
    page.goto("/booking?clinic_id=clinic-msk-center")
    page.wait_for_load_state("networkidle")
    page.goto("/clients?q=Olga")
    expect(page.get_by_role("link", name="Olga Kuznetsova")).to_be_visible()
    page.goto("/settings")
    page.get_by_role("tab", name="Numbers and clinics").click()
    expect(page.get_by_role("region", name="Public numbers (DIDs)")).to_be_visible()

    violations = [text for text in reported if "Content Security Policy" in text]
    assert violations == []
