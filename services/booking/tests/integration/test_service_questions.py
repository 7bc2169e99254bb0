"""A service's appointment questions say whether they must be answered and what kind of
answer they take; booking refuses an answer of the wrong kind with a readable 422. Uses the
Berlin clinic, practitioner and service of ``test_time_off`` (its clock on 1 March 2026)."""

from __future__ import annotations

from datetime import datetime

import test_time_off
from test_time_off import BERLIN, World

#: The Berlin world of ``test_time_off``, a fixture here too.
world = test_time_off.world

QUESTIONS = [
    {
        "question_id": "temperature",
        "text": "Temperature?",
        "required": True,
        "answer_type": "number",
    },
    {
        "question_id": "first_visit",
        "text": "First visit?",
        "required": False,
        "answer_type": "yes_no",
    },
    {"question_id": "since", "text": "Since when?", "required": False, "answer_type": "date"},
    {"question_id": "notes", "text": "Anything else?", "required": False, "answer_type": "text"},
]


async def _book(world: World, answers: dict[str, str]) -> tuple[int, dict[str, object]]:
    starts_at = datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN)
    answer = await world.call(
        "anna",
        "POST",
        "/appointments",
        {
            "clinic_id": world.clinic_id,
            "service_id": world.service_id,
            "practitioner_id": world.practitioner_id,
            "meeting_method": "in_person",
            "starts_at": starts_at.isoformat(),
            "new_client": {"first_name": "Quest", "last_name": "Ions", "email": "q@example.org"},
            "answers": answers,
        },
    )
    return answer.status_code, answer.json()


async def test_questions_keep_their_answer_type_and_answers_must_fit_it(world: World) -> None:
    changed = await world.call(
        "admin", "PATCH", f"/services/{world.service_id}", {"questions": QUESTIONS}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["questions"] == QUESTIONS
    listed = await world.call("anna", "GET", "/services")
    [service] = [s for s in listed.json()["items"] if s["service_id"] == world.service_id]
    assert service["questions"] == QUESTIONS

    status, body = await _book(world, {"temperature": "high", "first_visit": "maybe"})
    assert status == 422
    assert body["detail"] == (
        "appointment answers of the wrong kind: temperature (a number), first_visit (yes or no)"
    )
    status, body = await _book(world, {"temperature": "37.2", "since": "2026-02-27"})
    assert status == 201, body
    assert body["answers"] == {"temperature": "37.2", "since": "2026-02-27"}
    read = await world.call("anna", "GET", f"/appointments/{body['appointment_id']}")
    assert read.json()["answers"] == {"temperature": "37.2", "since": "2026-02-27"}


async def test_a_question_id_twice_or_an_unknown_answer_type_is_refused(world: World) -> None:
    twice = await world.call(
        "admin",
        "PATCH",
        f"/services/{world.service_id}",
        {"questions": [QUESTIONS[0], {**QUESTIONS[1], "question_id": "temperature"}]},
    )
    assert twice.status_code == 422
    assert twice.json()["detail"] == "question ids must differ: temperature repeated"
    odd = await world.call(
        "admin",
        "PATCH",
        f"/services/{world.service_id}",
        {"questions": [{**QUESTIONS[0], "answer_type": "colour"}]},
    )
    assert odd.status_code == 422
    assert "answer_type" in str(odd.json()["detail"])
