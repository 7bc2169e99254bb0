"""Caller identification: ranking, ambiguity, and matching a number typed any way."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import phonenumbers
from hypothesis import given
from hypothesis import strategies as st

from switchboard_crm_touch.domain.identification import Contact, identify, rank
from switchboard_phones import distinct_numbers, normalise

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _contact(cid: str, kind: str = "patient", minutes: int | None = 0) -> Contact:
    when = None if minutes is None else T0 + timedelta(minutes=minutes)
    return Contact(contact_id=cid, kind=kind, display_name=cid.upper(), last_active_at=when)  # type: ignore[arg-type]


def test_nobody_holds_the_number() -> None:
    found = identify("+74951234567", [])
    assert (found.known, found.ambiguous, found.best) == (False, False, None)


def test_one_holder_is_not_ambiguous() -> None:
    found = identify("+74951234567", [_contact("a")])
    assert found.known and not found.ambiguous
    assert found.best is not None and found.best.contact_id == "a"


def test_shared_number_lists_everyone_most_recent_patient_first() -> None:
    found = identify(
        "+74951234567",
        [_contact("old", minutes=1), _contact("lead", "lead", 99), _contact("new", minutes=5)],
    )
    assert found.ambiguous
    assert [c.contact_id for c in found.matches] == ["new", "old", "lead"]


def test_repeated_holders_count_once() -> None:
    found = identify("+74951234567", [_contact("a"), _contact("a")])
    assert not found.ambiguous and len(found.matches) == 1


def test_never_active_ranks_after_active_then_by_id() -> None:
    assert [
        c.contact_id
        for c in rank([_contact("b", minutes=None), _contact("c"), _contact("a", minutes=None)])
    ] == ["c", "a", "b"]


contacts_strategy = st.lists(
    st.builds(
        _contact,
        st.text(alphabet="abcdefgh", min_size=1, max_size=3),
        st.sampled_from(["patient", "lead"]),
        st.one_of(st.none(), st.integers(min_value=-1000, max_value=1000)),
    ),
    max_size=8,
)


@given(contacts=contacts_strategy, data=st.data())
def test_ranking_ignores_input_order(contacts: list[Contact], data: st.DataObject) -> None:
    # Holders come from one row per contact, so ids are unique.
    unique = list({c.contact_id: c for c in contacts}.values())
    shuffled = data.draw(st.permutations(unique))
    assert rank(shuffled) == rank(unique)


@given(contacts=contacts_strategy)
def test_best_is_a_patient_when_any_and_the_most_recent_of_its_kind(
    contacts: list[Contact],
) -> None:
    unique = list({c.contact_id: c for c in contacts}.values())
    found = identify("+74951234567", unique)
    assert found.ambiguous == (len(unique) > 1)
    assert found.known == bool(unique)
    if not unique:
        return
    best = found.best
    assert best is not None
    patients = [c for c in unique if c.kind == "patient"]
    pool = patients or unique
    assert best.kind == pool[0].kind
    latest = max((c.last_active_at or datetime.min.replace(tzinfo=UTC)) for c in pool)
    assert (best.last_active_at or datetime.min.replace(tzinfo=UTC)) == latest


# --- matching: the directory as a reference index (what the projection stores) -------------

POOL = ["+74951234567", "+74997654321", "+79161112233", "+78125550000", "+79035554433"]


def _renderings(e164: str) -> list[str]:
    parsed = phonenumbers.parse(e164)
    nsn = e164[2:]
    return [
        e164,
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL),
        "8" + nsn,
        "7" + nsn,
        f"+7 ({nsn[:3]}) {nsn[3:6]}-{nsn[6:8]}-{nsn[8:]}",
    ]


@given(
    clients=st.lists(
        st.lists(st.tuples(st.sampled_from(POOL), st.integers(0, 5)), max_size=3),
        max_size=6,
    ),
    looked_up=st.sampled_from(POOL),
    rendering=st.integers(0, 5),
)
def test_a_number_typed_any_way_finds_exactly_the_clients_holding_it(
    clients: list[list[tuple[str, int]]], looked_up: str, rendering: int
) -> None:
    # Each client's numbers as booking might have sent them, in any rendering.
    index: dict[str, list[Contact]] = defaultdict(list)
    holders_expected = set()
    for n, numbers in enumerate(clients):
        contact = _contact(f"c{n}", minutes=n)
        raws = [_renderings(p)[r] for p, r in numbers]
        for phone in distinct_numbers(raws, "RU"):
            index[phone].append(contact)
        if looked_up in {p for p, _ in numbers}:
            holders_expected.add(contact.contact_id)
    phone = normalise(_renderings(looked_up)[rendering], "RU")
    found = identify(phone, index.get(phone, []))
    assert {c.contact_id for c in found.matches} == holders_expected
    assert found.ambiguous == (len(holders_expected) > 1)
