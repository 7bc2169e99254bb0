"""PATCH bodies of the directory: ``null`` for a field that must have a value is a 422 naming
the field, never a value handed on to the handlers (where it used to crash them: a
``meeting_methods: null`` or ``username: null`` was a 500)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from switchboard_booking.entrypoints.api.directory_bodies import (
    CallCenterPatch,
    ClinicPatch,
    OperatorPatch,
    PractitionerPatch,
    ReasonPatch,
    ServicePatch,
)

PATCHES: list[type[BaseModel]] = [
    ClinicPatch,
    ServicePatch,
    PractitionerPatch,
    CallCenterPatch,
    OperatorPatch,
    ReasonPatch,
]
#: Fields an admin may clear: an operator without a call center or an extension.
CLEARABLE = {OperatorPatch: {"call_center_id", "extension"}}


@pytest.mark.parametrize("model", PATCHES, ids=lambda m: m.__name__)
@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.data())
def test_null_is_refused_naming_the_field_unless_it_can_be_cleared(
    model: type[BaseModel], data: st.DataObject
) -> None:
    names = sorted(model.model_fields)
    nulls = data.draw(st.sets(st.sampled_from(names), min_size=1))
    body: dict[str, Any] = dict.fromkeys(nulls)
    refused = sorted(nulls - CLEARABLE.get(model, set()))
    if not refused:
        assert model.model_validate(body).model_dump(exclude_unset=True) == body
        return
    with pytest.raises(ValidationError) as error:
        model.model_validate(body)
    message = str(error.value)
    assert all(name in message for name in refused), message


def test_fields_left_out_are_left_alone() -> None:
    assert ServicePatch.model_validate({}).model_dump(exclude_unset=True) == {}
    assert ServicePatch.model_validate({"name": "Check-up"}).model_dump(exclude_unset=True) == {
        "name": "Check-up"
    }
    assert OperatorPatch.model_validate({"extension": None}).model_dump(exclude_unset=True) == {
        "extension": None
    }
