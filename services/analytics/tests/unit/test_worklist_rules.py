"""Who may claim, release and close a call-back, and how old it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from switchboard_analytics.domain.worklist import (
    ClaimedByAnother,
    Holder,
    age_seconds,
    check_action,
)
from switchboard_runtime.auth import Principal

AT = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)
ANNA = Principal("op-anna", "Anna", "call_centre", "cc-a")
BORIS = Principal("op-boris", "Boris", "call_centre", "cc-a")
ADMIN = Principal("op-admin", "Admin", "admin", None)
HELD_BY_ANNA = Holder("op-anna", "Anna", AT)


@pytest.mark.parametrize("action", ["claim", "release", "close"])
def test_anyone_acts_on_a_free_call_back_and_the_holder_on_theirs(action: str) -> None:
    check_action(action, BORIS, None)  # type: ignore[arg-type]
    check_action(action, ANNA, HELD_BY_ANNA)  # type: ignore[arg-type]


@pytest.mark.parametrize("action", ["claim", "release", "close"])
def test_someone_elses_claim_is_refused_naming_them(action: str) -> None:
    with pytest.raises(ClaimedByAnother, match="claimed by Anna"):
        check_action(action, BORIS, HELD_BY_ANNA)  # type: ignore[arg-type]


def test_an_admin_releases_anyones_claim_but_never_closes_in_their_name() -> None:
    check_action("release", ADMIN, HELD_BY_ANNA)
    for action in ("claim", "close"):
        with pytest.raises(ClaimedByAnother):
            check_action(action, ADMIN, HELD_BY_ANNA)  # type: ignore[arg-type]


def test_age_in_whole_seconds_never_negative() -> None:
    assert age_seconds(AT, AT + timedelta(minutes=20, seconds=59, milliseconds=900)) == 1259
    assert age_seconds(AT, AT - timedelta(seconds=5)) == 0  # a PBX clock ahead of ours
