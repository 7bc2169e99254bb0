"""The call log through real Kafka and PostgreSQL: every column, filter, sort and the CSV.

Expected rows come from the generated world (see ``conftest.py``), computed with plain
Python; the service's own code is never used to compute them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def _diff(got: dict[str, dict[str, Any]], want: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    for call_id in sorted(set(got) | set(want)):
        if call_id not in got:
            problems.append(f"{call_id}: missing")
        elif call_id not in want:
            problems.append(f"{call_id}: unexpected")
        else:
            for key in sorted(set(got[call_id]) | set(want[call_id])):
                if got[call_id].get(key, "<absent>") != want[call_id].get(key, "<absent>"):
                    problems.append(
                        f"{call_id}.{key}: got {got[call_id].get(key, '<absent>')!r}, "
                        f"want {want[call_id].get(key, '<absent>')!r}"
                    )
    return problems


async def test_every_call_shows_with_every_column(analytics: Any) -> None:
    world = analytics.world
    items = await analytics.all_calls()
    assert len(items) == len({i["call_id"] for i in items}), "a call listed twice"
    got = {item["call_id"]: item for item in items}
    want = {call.call_id: world.row(call) for call in world.calls}
    assert _diff(got, want) == []


async def test_the_tricky_rows_say_what_a_person_would_expect(analytics: Any) -> None:
    """Spelled out for the cases the generated expectations could get wrong together."""
    got = {item["call_id"]: item for item in await analytics.all_calls()}
    # New York's zone arrived after its calls: they moved from Moscow time to New York's.
    assert got["ny-1"]["started_at_local"] == "2026-03-08T00:30:00-05:00"
    assert got["ny-3"]["started_at_local"] == "2026-03-08T03:30:00-04:00"
    assert got["ny-1"]["clinic_name"] == "New York Midtown"
    # Berlin's stale "Asia/Tokyo" event lost to the newer one.
    assert got["be-1"]["started_at_local"] == "2026-03-29T01:30:00+01:00"
    assert got["be-2"]["time_zone"] == "Europe/Berlin"
    # A clinic nobody described, and a call with no clinic: the default zone.
    assert got["cb-m1"]["started_at_local"] == "2026-03-12T10:00:00+03:00"
    assert got["cb-m4"]["time_zone"] == "Europe/Moscow"
    # Called back: an outgoing call 2 h later, projected before the missed call itself.
    assert (got["cb-m1"]["called_back"], got["cb-m1"]["callback_call_id"]) == (True, "cb-c1")
    assert got["cb-m1"]["callback_delay_seconds"] == 7200
    assert got["cb-m2"]["called_back"] is False  # answered 30 h later: too late
    assert got["cb-m3"]["callback_call_id"] == "cb-c3"  # exactly 24 h: still in time
    assert got["cb-m3"]["callback_delay_seconds"] == 86400
    assert got["cb-x3"]["callback_delay_seconds"] == 23 * 3600
    assert got["cb-m4"]["callback_call_id"] == "cb-c4b"  # the earliest of two
    assert got["cb-m4b"]["callback_delay_seconds"] == 1800
    assert got["cb-m5"]["called_back"] is False  # internal / same instant: neither counts
    assert got["ny-2"]["callback_call_id"] == "ny-3"
    # The admin of a missed call is the operator its touch is assigned to.
    assert (got["ny-2"]["admin_id"], got["ny-2"]["admin"]) == ("op-5", "Eve Adams")
    assert got["ny-2"]["contact_name"] == "Мария Кузнецова"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _phone_matches(text: str) -> Callable[[Any, Any], bool]:
    typed = _digits(text)
    fragments = {typed}
    if typed.startswith("8") and len(typed) == 11:
        fragments.add("7" + typed[1:])  # the Russian trunk prefix for +7

    def match(world: Any, call: Any) -> bool:
        return any(f in _digits(call.src) or f in _digits(call.dst) for f in fragments)

    return match


def _search(text: str) -> Callable[[Any, Any], bool]:
    numbers = _phone_matches(text) if _digits(text) else (lambda w, c: False)
    needle = text.lower()

    def match(world: Any, call: Any) -> bool:
        row = world.row(call)
        names = [row["contact_name"], row["admin_name"]]
        return numbers(world, call) or any(n and needle in n.lower() for n in names)

    return match


def _local_between(start: datetime, end: datetime) -> Callable[[Any, Any], bool]:
    return lambda w, c: start <= w.local(c).replace(tzinfo=None) < end


FILTERS: list[tuple[str, dict[str, Any], Callable[[Any, Any], bool]]] = [
    (
        "instants",
        {"from": "2026-03-10T00:00:00Z", "to": "2026-03-20T03:00:00+03:00"},
        lambda w, c: (
            datetime(2026, 3, 10, tzinfo=UTC) <= c.started_at < datetime(2026, 3, 20, tzinfo=UTC)
        ),
    ),
    (
        "clinic-local day (each call in its own zone)",
        {"from": "2026-03-08", "to": "2026-03-08"},
        _local_between(datetime(2026, 3, 8), datetime(2026, 3, 9)),
    ),
    (
        "clinic-local hours",
        {"from": "2026-03-29T01:00", "to": "2026-03-29T04:00"},
        _local_between(datetime(2026, 3, 29, 1), datetime(2026, 3, 29, 4)),
    ),
    ("incoming", {"call_type": ["incoming"]}, lambda w, c: c.call_type == "incoming"),
    (
        "outgoing and internal",
        {"call_type": ["outgoing", "internal"]},
        lambda w, c: c.call_type in ("outgoing", "internal"),
    ),
    ("admins", {"admin": ["op-1", "op-5"]}, lambda w, c: w.admin_id(c) in ("op-1", "op-5")),
    ("clinic", {"clinic": ["clinic-ny"]}, lambda w, c: c.clinic_id == "clinic-ny"),
    (
        "dispositions",
        {"disposition": ["busy", "failed"]},
        lambda w, c: c.disposition in ("busy", "failed"),
    ),
    (
        "missed only",
        {"missed": "true"},
        lambda w, c: c.call_type == "incoming" and c.disposition == "missed",
    ),
    (
        "all but missed",
        {"missed": "false"},
        lambda w, c: not (c.call_type == "incoming" and c.disposition == "missed"),
    ),
    (
        "public numbers, any format",
        {"did": ["8 (495) 000-00-02", "+1 212 555 0100"]},
        lambda w, c: c.did in ("+74950000002", "+12125550100"),
    ),
    (
        "public number, a clinic's answered calls",
        {"did": ["+74950000001"], "clinic": ["clinic-msk"], "disposition": ["answered"]},
        lambda w, c: (
            c.did == "+74950000001" and c.clinic_id == "clinic-msk" and c.disposition == "answered"
        ),
    ),
    ("called back only", {"called_back": "true"}, lambda w, c: w.callback(c) is not None),
    ("not called back", {"called_back": "false"}, lambda w, c: w.callback(c) is None),
    ("phone, national format", {"phone": "8 (916) 999-00-01"}, _phone_matches("89169990001")),
    ("phone, partial", {"phone": "999-00"}, _phone_matches("999-00")),
    ("phone, international partial", {"phone": "+1 212 555"}, _phone_matches("+1 212 555")),
    ("search, admin name any case", {"q": "анна"}, _search("анна")),
    ("search, contact name", {"q": "o'brien"}, _search("o'brien")),
    ("search, part of a number", {"q": "9990002"}, _search("9990002")),
    ("tag", {"tag": ["complaint"]}, lambda w, c: "complaint" in w.tags(c)),
    (
        "any of two tags",
        {"tag": ["angry", "price"]},
        lambda w, c: bool({"angry", "price"} & set(w.tags(c))),
    ),
    (
        "talk duration range",
        {"talk_min": 60, "talk_max": 300},
        lambda w, c: 60 <= c.talk_seconds <= 300,
    ),
    ("total at least", {"total_min": 100}, lambda w, c: c.total_seconds >= 100),
    ("total at most", {"total_max": 30}, lambda w, c: c.total_seconds <= 30),
    (
        "combined",
        {
            "call_type": ["incoming"],
            "missed": "true",
            "called_back": "false",
            "clinic": ["clinic-msk"],
            "from": "2026-03-01",
            "to": "2026-03-31",
        },
        lambda w, c: (
            c.call_type == "incoming"
            and c.disposition == "missed"
            and w.callback(c) is None
            and c.clinic_id == "clinic-msk"
            and datetime(2026, 3, 1) <= w.local(c).replace(tzinfo=None) < datetime(2026, 4, 1)
        ),
    ),
]


@pytest.mark.parametrize(
    ("params", "predicate"), [f[1:] for f in FILTERS], ids=[f[0] for f in FILTERS]
)
async def test_each_filter_selects_exactly_the_matching_calls(
    analytics: Any, params: dict[str, Any], predicate: Callable[[Any, Any], bool]
) -> None:
    world = analytics.world
    items = await analytics.all_calls(**params)
    want = {c.call_id for c in world.calls if predicate(world, c)}
    assert want, "a filter case that selects nothing proves little"
    assert sorted(item["call_id"] for item in items) == sorted(want)


async def test_a_search_with_letters_is_a_name_not_a_number(analytics: Any) -> None:
    """A text with letters ("O'Brien 9990002") is a name: its digits find no number."""
    world = analytics.world
    by_number = {c.call_id for c in world.calls if _phone_matches("9990002")(world, c)}
    assert by_number, "calls whose number holds the digits"
    assert {i["call_id"] for i in await analytics.all_calls(q="9990002")} >= by_number
    assert await analytics.all_calls(q="O'Brien 9990002") == []


async def test_a_name_matching_many_contacts_finds_the_same_calls(
    analytics: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``LISTED_NAMES`` matching names, each call's own name is tested instead of
    the list of names: the same calls either way."""
    from switchboard_analytics.adapters import search

    world = analytics.world
    want = {c.call_id for c in world.calls if _search("ова")(world, c)}
    assert want
    assert {i["call_id"] for i in await analytics.all_calls(q="ова")} == want
    monkeypatch.setattr(search, "LISTED_NAMES", 0)
    assert {i["call_id"] for i in await analytics.all_calls(q="ова")} == want


SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "started_at": lambda r: r["started_at"],
    "started_at_local": lambda r: r["started_at_local"][:19],
    "call_type": lambda r: r["call_type"],
    "src": lambda r: r["src"],
    "dst": lambda r: r["dst"],
    "disposition": lambda r: r["disposition"],
    "admin": lambda r: r["admin"] or "",
    "contact": lambda r: r["contact_name"] or "",
    "clinic": lambda r: r["clinic_name"] or r["clinic_id"] or "",
    "extension": lambda r: r["extension"] or "",
    "talk_seconds": lambda r: r["talk_seconds"],
    "wait_seconds": lambda r: r["wait_seconds"],
    "total_seconds": lambda r: r["total_seconds"],
    "has_recording": lambda r: r["has_recording"],
    "tags": lambda r: ",".join(r["tags"]),
    "called_back": lambda r: r["called_back"],
    "callback_delay_seconds": lambda r: (
        -1 if r["callback_delay_seconds"] is None else r["callback_delay_seconds"]
    ),
}


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", list(SORT_KEYS))
async def test_sorting_by_any_column_pages_through_every_call_once(
    analytics: Any, sort: str, order: str
) -> None:
    world = analytics.world
    rows = [world.row(c) for c in world.calls]
    key = SORT_KEYS[sort]
    want = [
        r["call_id"]
        for r in sorted(rows, key=lambda r: (key(r), r["call_id"]), reverse=order == "desc")
    ]
    items = await analytics.all_calls(sort=sort, order=order, limit=60)
    assert [item["call_id"] for item in items] == want


@pytest.mark.parametrize(
    ("sort", "order"), [("admin", "asc"), ("admin", "desc"), ("talk_seconds", "desc")]
)
@pytest.mark.parametrize(
    ("params", "predicate"), [f[1:] for f in FILTERS], ids=[f[0] for f in FILTERS]
)
async def test_sorted_pages_under_each_filter_list_the_matching_calls_in_order(
    analytics: Any,
    params: dict[str, Any],
    predicate: Callable[[Any, Any], bool],
    sort: str,
    order: str,
) -> None:
    """Sorted by admin, a page walks the admins a few at a time; by talk time it finds the
    page's calls first: small pages cross admins and cursors in every way."""
    world = analytics.world
    rows = [world.row(c) for c in world.calls if predicate(world, c)]
    key = SORT_KEYS[sort]
    want = [
        r["call_id"]
        for r in sorted(rows, key=lambda r: (key(r), r["call_id"]), reverse=order == "desc")
    ]
    items = await analytics.all_calls(sort=sort, order=order, limit=7, **params)
    assert [item["call_id"] for item in items] == want


async def test_default_order_is_newest_first_and_pages_are_stable(analytics: Any) -> None:
    world = analytics.world
    want = sorted(world.calls, key=lambda c: (c.started_at, c.call_id), reverse=True)
    first = (await analytics.get("/api/analytics/calls", limit=10)).json()
    assert [i["call_id"] for i in first["items"]] == [c.call_id for c in want[:10]]
    second = (
        await analytics.get("/api/analytics/calls", limit=10, cursor=first["next_cursor"])
    ).json()
    assert [i["call_id"] for i in second["items"]] == [c.call_id for c in want[10:20]]
    # The same cursor gives the same page again.
    again = (
        await analytics.get("/api/analytics/calls", limit=10, cursor=first["next_cursor"])
    ).json()
    assert again["items"] == second["items"]


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


CSV_HEADER = [
    "call_id",
    "started_at_local",
    "started_at",
    "time_zone",
    "clinic_id",
    "clinic_name",
    "call_type",
    "src",
    "dst",
    "disposition",
    "admin_id",
    "admin_name",
    "extension",
    "contact_id",
    "contact_kind",
    "contact_name",
    "talk_seconds",
    "wait_seconds",
    "total_seconds",
    "has_recording",
    "tags",
    "called_back",
    "callback_call_id",
    "callback_delay_seconds",
]


@pytest.mark.parametrize(
    ("params", "predicate"),
    [
        ({}, lambda w, c: True),
        (
            {"call_type": ["incoming"], "talk_min": 1, "sort": "talk_seconds", "order": "asc"},
            lambda w, c: c.call_type == "incoming" and c.talk_seconds >= 1,
        ),
    ],
    ids=["everything", "filtered and sorted"],
)
async def test_csv_streams_the_whole_filtered_result(
    analytics: Any, params: dict[str, Any], predicate: Callable[[Any, Any], bool]
) -> None:
    world = analytics.world
    response = await analytics.get("/api/analytics/calls", format="csv", limit=1, **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0] == CSV_HEADER
    key = SORT_KEYS[params.get("sort", "started_at")]
    rows = sorted(
        (world.row(c) for c in world.calls if predicate(world, c)),
        key=lambda r: (key(r), r["call_id"]),
        reverse=params.get("order", "desc") == "desc",
    )
    want = [
        [";".join(r["tags"]) if column == "tags" else _csv_cell(r[column]) for column in CSV_HEADER]
        for r in rows
    ]
    assert table[1:] == want
