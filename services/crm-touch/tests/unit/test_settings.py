"""crm-touch's settings: the Calltouch default and the phone region."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from switchboard_crm_touch.settings import CrmTouchSettings


def test_touch_creation_is_off_until_telephony_or_the_environment_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CRM_TOUCH_CALLTOUCH_ENABLED_DEFAULT", raising=False)
    assert CrmTouchSettings().calltouch_enabled_default is False
    monkeypatch.setenv("CRM_TOUCH_CALLTOUCH_ENABLED_DEFAULT", "true")
    assert CrmTouchSettings().calltouch_enabled_default is True


def test_the_default_region_must_be_a_known_one() -> None:
    assert CrmTouchSettings(default_region="kz").default_region == "KZ"
    with pytest.raises(ValidationError):
        CrmTouchSettings(default_region="Moscow")


def test_the_openapi_document_builds() -> None:
    from switchboard_crm_touch.bootstrap import build_app

    paths = build_app(CrmTouchSettings()).openapi()["paths"]
    assert {
        "/api/crm/identify",
        "/api/crm/touches",
        "/api/crm/touches/{touch_id}",
        "/api/crm/contacts/{contact_id}",
        "/api/crm/contacts/{contact_id}/timeline",
        "/api/crm/settings",
    } <= set(paths)
    assert "patch" in paths["/api/crm/touches/{touch_id}"]
