"""Settings → Operators and Call centers in headless Chromium against the real platform:
the admin creates a call center and an operator on a shared extension who then takes a
call's pop-up, deactivates an operator whose open console logs out, and resets a password
the operator must replace at the next login; the Operators tab in Russian."""

from __future__ import annotations

import re
import shutil
import uuid
from datetime import UTC, datetime
from typing import Any

from live_platform import REPO, api_request, iso, screenshot, send_pbx
from playwright.sync_api import expect


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _wait_live(page: Any) -> None:
    """Wait until the page's notify WebSocket is connected."""
    expect(page.get_by_test_id("notify-state")).to_have_text(
        re.compile("Live calls on"), timeout=30_000
    )


def _operators_tab(page: Any) -> Any:
    page.goto("/settings")
    page.get_by_role("tab", name="Operators").click()
    return page.get_by_test_id("operators-table")


def _row(page: Any, name: str) -> Any:
    # By the row's own header: other rows name her too when they share her extension.
    return (
        page.get_by_test_id("operators-table")
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=name, exact=True))
    )


def _log_in(page: Any, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _operator_by_api(platform: Any, name: str) -> str:
    """A call centre operator at Central made through booking's API; its username, which
    is also its password (as the seeded logins)."""
    username = _unique("op")
    api_request(
        platform,
        "POST",
        "/api/booking/operators",
        "admin",
        {
            "name": name,
            "username": username,
            "password": username,
            "role": "call_centre",
            "call_center_id": "cc-central",
        },
    )
    return username


def test_a_new_call_center_and_operator_on_a_shared_extension_gets_the_pop_up(
    open_session: Any, platform: Any
) -> None:
    admin = open_session("admin")
    admin.goto("/settings")
    admin.get_by_role("tab", name="Call centers").click()
    center = _unique("North desk")
    admin.get_by_role("button", name="New call center").click()
    dialog = admin.get_by_role("dialog", name="New call center")
    dialog.get_by_label("Name").fill(center)
    dialog.get_by_label("Kind").select_option("internal")
    dialog.get_by_role("button", name="Create call center").click()
    center_row = admin.get_by_test_id("call-centers-table").get_by_role("row", name=center)
    expect(center_row).to_contain_text("The chain's own")
    expect(center_row).to_contain_text("Active")

    name, username, password = "Nina Volkova", _unique("nina"), "Nina-first-pass-1"
    admin.get_by_role("tab", name="Operators").click()
    admin.get_by_role("button", name="New operator").click()
    dialog = admin.get_by_role("dialog", name="New operator")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("Username", exact=True).fill(username)
    dialog.get_by_label("Password", exact=True).fill(password)
    dialog.get_by_label("Role").select_option("call_centre")
    dialog.get_by_label("Call center").select_option(label=center)
    dialog.get_by_label("Extension", exact=True).fill("101")
    # Anna and Boris sit on 101 already: the form says the extension will be shared.
    expect(dialog.get_by_test_id("extension-shared")).to_contain_text("Anna Smirnova")
    dialog.get_by_role("button", name="Create operator").click()
    expect(admin.get_by_role("status").filter(has_text=f"{name} saved.")).to_be_visible()

    row = _row(admin, name)
    expect(row).to_contain_text(username)
    expect(row).to_contain_text(center)
    expect(row).to_contain_text("101shared")
    expect(row).to_contain_text("Anna Smirnova")
    # The filters narrow the list to her: call center, extension, role, search.
    filters = admin.get_by_role("search", name="Filter operators")
    filters.get_by_label("Call center").select_option(label=center)
    filters.get_by_label("Extension").fill("101")
    filters.get_by_label("Role").select_option("call_centre")
    rows = admin.get_by_test_id("operators-table").locator("tr[data-operator-id]")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(name)
    filters.get_by_label("Call center").select_option("")
    filters.get_by_label("Search").fill(username)
    expect(rows).to_have_count(1)
    filters.get_by_label("Search").fill("")
    filters.get_by_label("Extension").fill("")
    filters.get_by_label("Role").select_option("")
    shot = screenshot(admin, "settings-operators", full_page=True)
    shutil.copyfile(shot, REPO / "docs" / "console" / "settings-operators.png")

    stored = api_request(platform, "GET", "/api/booking/operators", "admin")["items"]
    (nina,) = [o for o in stored if o["username"] == username]
    centers = api_request(platform, "GET", "/api/booking/call-centers", "admin")["items"]
    (created,) = [c for c in centers if c["name"] == center]
    assert (nina["call_center_id"], nina["extension"], nina["role"]) == (
        created["call_center_id"],
        "101",
        "call_centre",
    )

    # Nina logs in with the password the admin set and gets the pop-up of a call to 101.
    page = open_session(None)
    _log_in(page, username, password)
    expect(page.get_by_test_id("whoami")).to_contain_text(name)
    expect(page.get_by_test_id("whoami")).to_contain_text("ext. 101")
    _wait_live(page)
    call_id = _unique("e2e-directory")
    send_pbx(
        platform,
        [
            {
                "type": "call.started",
                "call_id": call_id,
                "timestamp": iso(datetime.now(UTC)),
                "from": "+74951112233",
                "to": "101",
                "extension": "101",
            }
        ],
    )
    popup = page.locator(f'[data-testid="call-popup"][data-call-id="{call_id}"]')
    expect(popup).to_be_visible(timeout=20_000)
    expect(popup).to_contain_text("+7 495 111-22-33")


def test_deactivating_an_operator_logs_their_open_console_out(
    open_session: Any, platform: Any
) -> None:
    name = "Oleg Deactivated"
    username = _operator_by_api(platform, name)
    oleg = open_session(username)
    _wait_live(oleg)

    admin = open_session("admin")
    _operators_tab(admin)
    admin.get_by_role("search", name="Filter operators").get_by_label("Search").fill(username)
    _row(admin, name).get_by_role("button", name="Deactivate").click()
    dialog = admin.get_by_role("dialog", name=f"Deactivate {name}")
    expect(dialog).to_contain_text("logged out of every open console at once")
    dialog.get_by_role("button", name="Deactivate").click()
    notice = admin.get_by_role("status").filter(has_text=f"{name} deactivated and logged out.")
    expect(notice).to_be_visible()
    expect(_row(admin, name)).to_contain_text("Inactive")

    # Oleg's console, left open, is back at the login page without anyone reloading it.
    expect(oleg.get_by_label("Username")).to_be_visible(timeout=20_000)
    expect(oleg.get_by_test_id("whoami")).to_have_count(0)
    _log_in(oleg, username, username)
    expect(oleg.get_by_role("alert")).to_have_text("Wrong username or password.")

    # Reactivated, he logs in again.
    _row(admin, name).get_by_role("button", name="Reactivate").click()
    expect(_row(admin, name)).to_contain_text("Active")
    oleg.get_by_role("button", name="Sign in").click()
    expect(oleg.get_by_test_id("whoami")).to_contain_text(name)


def test_a_reset_password_is_replaced_at_the_next_login_and_then_works(
    open_session: Any, platform: Any
) -> None:
    name = "Rita Reset"
    username = _operator_by_api(platform, name)
    admin = open_session("admin")
    _operators_tab(admin)
    admin.get_by_role("search", name="Filter operators").get_by_label("Search").fill(username)
    _row(admin, name).get_by_role("button", name="Reset password").click()
    dialog = admin.get_by_role("dialog", name=f"Reset the password of {name}")
    dialog.get_by_role("button", name="Reset password").click()
    temporary_text = dialog.get_by_test_id("temporary-password")
    expect(temporary_text).to_have_text(re.compile(r"^\w{12}$"))
    temporary = temporary_text.inner_text()
    dialog.get_by_role("button", name="Close").click()
    expect(_row(admin, name)).to_contain_text("Must choose a new password")

    page = open_session(None)
    _log_in(page, username, username)
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    _log_in(page, username, temporary)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("Rita-new-pass-1")
    page.get_by_label("New password again").fill("Rita-new-pass-2")
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The two new passwords differ.")
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password again").fill("short")
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("at least 10 characters")
    page.get_by_label("New password", exact=True).fill("Rita-new-pass-1")
    page.get_by_label("New password again").fill("Rita-new-pass-1")
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_test_id("whoami")).to_contain_text(name)
    expect(page.get_by_role("heading", name="Call log")).to_be_visible()
    _wait_live(page)
    admin.reload()
    admin.get_by_role("tab", name="Operators").click()
    expect(_row(admin, name)).not_to_contain_text("Must choose a new password")

    # The new password is the one now: it signs straight in, the temporary one no more.
    page.get_by_role("button", name="Log out").click()
    _log_in(page, username, temporary)
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    _log_in(page, username, "Rita-new-pass-1")
    expect(page.get_by_test_id("whoami")).to_contain_text(name)


def test_the_operators_tab_in_russian(open_session: Any) -> None:
    admin = open_session("admin")
    admin.get_by_label("Console language").select_option("ru")
    admin.goto("/settings")
    admin.get_by_role("tab", name="Операторы").click()
    expect(admin.get_by_role("heading", name="Операторы", exact=True)).to_be_visible()
    expect(admin.get_by_test_id("operators-table").locator("thead th")).to_have_text(
        ["Имя", "Логин", "Роль", "Колл-центр", "Внутренний номер", "Статус", "Действия"]
    )
    expect(_row(admin, "Anna Smirnova")).to_contain_text("Колл-центр")
    admin.get_by_label("Язык консоли").select_option("en")
