"""Settings → Numbers and clinics in the browser: the chain's public numbers (DIDs) and the
clinic each extension rings in, added, refused, edited and deleted through the forms, then
checked through telephony's API and by a call to the new number in the call log."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from live_platform import api_get, iso, screenshot, send_pbx
from playwright.sync_api import expect

# Numbers and an extension of this test's own (the seed configures none in telephony; the
# seeded operators' extensions 101 and 201 are left alone for the other tests).
ADS_LINE = "+74957000011"
EKB_LINE = "+73432000022"
EXTENSION = "305"


def _open_numbers_tab(page: Any) -> None:
    page.goto("/settings")
    page.get_by_role("tab", name="Numbers and clinics").click()


def test_numbers_and_extensions_by_clinic_through_the_forms(
    open_session: Any, platform: Any
) -> None:
    page = open_session("admin")
    _open_numbers_tab(page)
    dids = page.get_by_role("region", name="Public numbers (DIDs)")
    add_did = dids.get_by_role("form", name="Add number")

    # Added as people write it; listed as the platform stores and shows it.
    add_did.get_by_label("Number").fill("8 (495) 700-00-11")
    add_did.get_by_label("Clinic").select_option(label="Moscow North")
    add_did.get_by_label("Description").fill("Ads line")
    add_did.get_by_role("button", name="Add number").click()
    expect(dids.get_by_role("status")).to_have_text("Number +7 495 700-00-11 added.")
    ads_row = dids.locator(f'tr[data-key="{ADS_LINE}"]')
    expect(ads_row).to_contain_text("+7 495 700-00-11")
    expect(ads_row).to_contain_text("Moscow North")
    expect(ads_row).to_contain_text("Ads line")

    # The API's refusals, readable and beside the field they are about.
    add_did.get_by_label("Number").fill("phone me")
    add_did.get_by_label("Clinic").select_option(label="Yekaterinburg")
    add_did.get_by_role("button", name="Add number").click()
    expect(add_did.get_by_text("Number is not a phone number.")).to_be_visible()
    expect(add_did.get_by_label("Number")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "30-settings-did-refused")
    add_did.get_by_label("Number").fill("+7 495 700 00 11")
    add_did.get_by_role("button", name="Add number").click()
    expect(add_did.get_by_text(f"DID {ADS_LINE} is already configured.")).to_be_visible()
    add_did.get_by_label("Number").fill("+7 343 200-00-22")
    add_did.get_by_role("button", name="Add number").click()
    expect(dids.locator(f'tr[data-key="{EKB_LINE}"]')).to_contain_text("Yekaterinburg")

    # An extension and its clinic; a malformed one refused first.
    extensions = page.get_by_role("region", name="Extensions by clinic")
    add_extension = extensions.get_by_role("form", name="Add extension")
    add_extension.get_by_label("Extension").fill("3O5")
    add_extension.get_by_role("button", name="Add extension").click()
    expect(add_extension.get_by_text("Extension must be 1 to 16 digits.")).to_be_visible()
    add_extension.get_by_label("Extension").fill(EXTENSION)
    add_extension.get_by_label("Clinic").select_option(label="Moscow North")
    add_extension.get_by_label("Description").fill("North reception")
    add_extension.get_by_role("button", name="Add extension").click()
    expect(extensions.locator(f'tr[data-key="{EXTENSION}"]')).to_contain_text("Moscow North")

    # Edit: the ads line moves to Moscow Center.
    ads_row.get_by_role("button", name="Edit").click()
    edit = dids.get_by_role("form", name="Edit number")
    expect(edit.get_by_label("Number")).to_have_value(ADS_LINE)
    edit.get_by_label("Clinic").select_option(label="Moscow Center")
    edit.get_by_label("Description").fill("Ads line, Center")
    edit.get_by_role("button", name="Save changes").click()
    expect(ads_row).to_contain_text("Moscow Center")
    expect(ads_row).to_contain_text("Ads line, Center")

    # Delete, after saying what it means.
    dids.locator(f'tr[data-key="{EKB_LINE}"]').get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("dialog", name="Delete number")
    expect(confirm).to_contain_text("+7 343 200-00-22")
    confirm.get_by_role("button", name="Delete number").click()
    expect(dids.locator(f'tr[data-key="{EKB_LINE}"]')).to_have_count(0)
    expect(dids.get_by_role("status")).to_have_text("Number +7 343 200-00-22 deleted.")
    screenshot(page, "31-settings-numbers-and-clinics")

    # What telephony now holds.
    held = {d["did"]: d for d in api_get(platform, "/api/telephony/dids", "admin")["items"]}
    assert EKB_LINE not in held
    assert {k: held[ADS_LINE][k] for k in ("clinic_id", "description")} == {
        "clinic_id": "clinic-msk-center",
        "description": "Ads line, Center",
    }
    extension = api_get(platform, f"/api/telephony/extensions/{EXTENSION}", "admin")
    assert {k: extension[k] for k in ("clinic_id", "description", "configured")} == {
        "clinic_id": "clinic-msk-north",
        "description": "North reception",
        "configured": True,
    }

    # A call to the ads line belongs to its clinic (the number's, over the extension's).
    call_id = f"e2e-did-{uuid.uuid4().hex[:10]}"
    start = datetime.now(UTC) - timedelta(minutes=2)
    send_pbx(
        platform,
        [
            {
                "type": "call.started",
                "call_id": call_id,
                "timestamp": iso(start),
                "from": "+79165550101",
                "to": ADS_LINE,
                "extension": EXTENSION,
            },
            {
                "type": "call.ended",
                "call_id": call_id,
                "timestamp": iso(start + timedelta(seconds=20)),
                "status": "missed",
            },
        ],
    )
    # The condition is checked in the page, with its session, until analytics has the call.
    page.wait_for_function(
        """async (id) => {
            const answer = await fetch("/api/analytics/calls?limit=500");
            return answer.ok && (await answer.json()).items.some((c) => c.call_id === id);
        }""",
        arg=call_id,
        polling=250,
        timeout=30_000,
    )
    page.goto("/calls")
    row = page.get_by_test_id("call-log").locator(f'tr[data-call-id="{call_id}"]')
    expect(row).to_contain_text("Moscow Center")
    expect(row).not_to_contain_text("Moscow North")


def test_numbers_and_clinics_are_for_admins_only(open_session: Any) -> None:
    anna = open_session("anna")
    anna.goto("/settings")
    expect(anna.get_by_role("heading", name="Not available")).to_be_visible()
    expect(anna.get_by_role("tab", name=re.compile("Numbers"))).to_have_count(0)
