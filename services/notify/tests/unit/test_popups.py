"""The pure core: what a pop-up says, and what one session is shown."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard_contracts import ContactRef, TouchContact
from switchboard_notify.domain.directory import (
    OperatorInactive,
    OperatorRecord,
    resolve_extensions,
)
from switchboard_notify.domain.popups import (
    SessionView,
    call_details,
    clinic_ref,
    contact_link,
    format_number,
    identification,
    render_closed,
)

T0 = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "number", "display"),
    [
        ("+79161234567", "+79161234567", "+7 916 123-45-67"),
        ("8 (916) 123-45-67", "+79161234567", "+7 916 123-45-67"),
        ("+74951234567", "+74951234567", "+7 495 123-45-67"),
        ("+442079460958", "+442079460958", "+44 20 7946 0958"),
        ("101", "101", "101"),
        ("anonymous", "anonymous", "anonymous"),
    ],
)
def test_caller_numbers_are_formatted_for_humans(raw: str, number: str, display: str) -> None:
    assert format_number(raw, "RU") == {"number": number, "display": display}


def test_no_number_is_none() -> None:
    assert format_number(None, "RU") is None
    assert format_number("  ", "RU") is None


def test_links_point_at_clients_or_leads() -> None:
    assert contact_link("patient", "p-1") == "/clients/p-1"
    assert contact_link("lead", "l-1") == "/leads/l-1"
    assert contact_link("patient", "a/b c") == "/clients/a%2Fb%20c"


def test_identification_of_a_known_patient() -> None:
    contact = TouchContact(
        id="p-1", kind="patient", display_name="Anna Petrova", key_details={"Next visit": "2 Dec"}
    )
    assert identification(contact, "+79161234567", "RU") == {
        "identification": "known",
        "contact": {
            "id": "p-1",
            "kind": "patient",
            "name": "Anna Petrova",
            "key_details": {"Next visit": "2 Dec"},
            "link": "/clients/p-1",
        },
        "candidates": [],
        "caller": {"number": "+79161234567", "display": "+7 916 123-45-67"},
    }


def test_identification_of_an_unknown_and_an_ambiguous_number() -> None:
    unknown = identification(None, "+79161234567", "RU")
    assert unknown["identification"] == "unknown"
    assert unknown["contact"] is None
    ambiguous = identification(
        TouchContact(
            id="p-1",
            kind="patient",
            display_name="Anna",
            ambiguous=True,
            candidates=[
                ContactRef(id="p-1", kind="patient", display_name="Anna"),
                ContactRef(id="l-7", kind="lead", display_name="Boris"),
            ],
        ),
        None,
        "RU",
    )
    assert ambiguous["identification"] == "ambiguous"
    assert [c["link"] for c in ambiguous["candidates"]] == ["/clients/p-1", "/leads/l-7"]
    assert ambiguous["caller"] is None


def _popup(call_id: str, version: int, ext: str = "101", ident: dict | None = None) -> dict:
    return {
        "kind": "popup",
        "call_id": call_id,
        "version": version,
        "extension": ext,
        "call": call_details(
            caller="+79161234567",
            clinic=clinic_ref("c-1", "Tverskaya"),
            ringing_since=T0,
            region="RU",
        ),
        "ident": ident,
    }


def _closed(call_id: str, version: int, reason: str = "answered") -> dict:
    return {
        "kind": "closed",
        "call_id": call_id,
        "version": version,
        "close": {"reason": reason, "handled_by": None, "closed_at": "2026-11-25T07:00:09Z"},
    }


def test_a_session_sees_a_popup_then_its_update_then_its_close() -> None:
    view = SessionView({"101"})
    first = view.popup(_popup("c1", 1))
    assert first is not None
    assert first["type"] == "call.popup"
    assert (first["update"], first["identification"]) == (False, "pending")
    assert first["caller"] == {"number": "+79161234567", "display": "+7 916 123-45-67"}
    assert first["clinic"] == {"id": "c-1", "name": "Tverskaya"}
    assert first["ringing_since"] == "2026-11-25T07:00:00Z"
    ident = identification(None, "+79161234567", "RU")
    second = view.popup(_popup("c1", 2, ident=ident))
    assert second is not None
    assert (second["update"], second["identification"]) == (True, "unknown")
    closed = view.closed(_closed("c1", 3))
    assert closed is not None
    assert closed["type"] == "call.popup.closed"
    assert closed["reason"] == "answered"
    assert view.showing == {}


def test_other_extensions_stale_and_repeated_messages_are_dropped() -> None:
    view = SessionView({"101"})
    assert view.popup(_popup("c1", 1, ext="202")) is None
    assert view.popup(_popup("c1", 5)) is not None
    assert view.popup(_popup("c1", 5)) is None
    assert view.popup(_popup("c1", 4)) is None
    assert view.closed(_closed("c1", 3)) is None
    assert view.closed(_closed("c1", 6)) is not None
    # A snapshot read before the close must not reopen it.
    assert view.popup(_popup("c1", 5), resumed=True) is None


def test_a_close_the_session_never_showed_is_not_sent_but_blocks_older_popups() -> None:
    view = SessionView({"101"})
    assert view.closed(_closed("c9", 7)) is None
    assert view.popup(_popup("c9", 6), resumed=True) is None


def test_leaving_an_extension_closes_its_popups_for_that_session() -> None:
    view = SessionView({"101", "102"})
    view.popup(_popup("a", 1, ext="101"))
    view.popup(_popup("b", 1, ext="102"))
    closed = view.reassign({"102"}, T0)
    assert [(m["call_id"], m["reason"]) for m in closed] == [("a", "unassigned")]
    assert view.popup(_popup("c", 1, ext="101")) is None


def test_render_closed_defaults() -> None:
    assert render_closed({"call_id": "c", "version": 1, "close": None})["reason"] == "ended"


@given(st.lists(st.tuples(st.sampled_from(["p", "c"]), st.integers(1, 30)), max_size=40))
def test_any_delivery_order_shows_each_version_at_most_once_and_never_after_close(
    deliveries: list[tuple[str, int]],
) -> None:
    view = SessionView({"101"})
    sent: list[dict] = []
    for kind, version in deliveries:
        out = (
            view.popup(_popup("c1", version))
            if kind == "p"
            else view.closed(_closed("c1", version))
        )
        if out is not None:
            sent.append(out)
    versions = [m["version"] for m in sent]
    assert versions == sorted(set(versions))
    for earlier, later in itertools.pairwise(sent):
        # Nothing follows a close unless it is a newer opening (not an "update").
        if earlier["type"] == "call.popup.closed":
            assert later["type"] == "call.popup"
            assert later["update"] is False


def test_directory_decides_the_extensions_token_is_the_fallback() -> None:
    record = OperatorRecord("op", "Anna", "admin", "101", True)
    assert resolve_extensions(record, "999") == (frozenset({"101"}), "directory")
    no_ext = OperatorRecord("op", "Anna", "admin", None, True)
    assert resolve_extensions(no_ext, "999") == (frozenset(), "directory")
    assert resolve_extensions(None, "999") == (frozenset({"999"}), "token")
    assert resolve_extensions(None, None) == (frozenset(), "token")
    with pytest.raises(OperatorInactive):
        resolve_extensions(OperatorRecord("op", "Anna", "admin", "101", False), "101")
