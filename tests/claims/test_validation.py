"""Validation problems reach people in plain words, with the key path, never the failed value."""

from datetime import date

import pytest
from pydantic import BaseModel, Field, ValidationError

from claims.models import Claim, Patient
from claims.validation import fields_of, plain_problems


class _Sample(BaseModel):
    when: date
    count: int = Field(ge=1)
    code: str = Field(pattern=r"^\d{2}$")
    name: str = Field(min_length=1)


def test_plain_words_name_the_key_and_never_the_input() -> None:
    with pytest.raises(ValidationError) as raised:
        _Sample.model_validate({"when": "Quillfeather", "count": "Marisol", "code": "SUN77120433", "extra": 1})
    problems = {p.key: p.message for p in plain_problems(raised.value)}
    assert problems == {
        "when": "expected a date (YYYY-MM-DD)",
        "count": "expected a whole number",
        "code": "is not in the expected format",
        "name": "is required",
    }
    text = " ".join(problems.values()) + fields_of(raised.value)
    for leaked in ("Quillfeather", "Marisol", "SUN77120433", "Input should", "type=", "pydantic.dev"):
        assert leaked not in text


def test_our_own_rules_keep_their_words() -> None:
    with pytest.raises(ValidationError) as raised:
        Claim.model_validate(
            {
                "claim_id": "C1",
                "payer_id": "P",
                "patient": Patient(last_name="A", first_name="B", date_of_birth=date(1980, 1, 1), member_id="M"),
                "rendering_npi": "1234567890",
                "diagnosis_codes": ["E11.9"],
                "lines": [],
            }
        )
    messages = {p.key: p.message for p in plain_problems(raised.value)}
    assert messages["rendering_npi"] == "an NPI is 10 digits with a valid check digit"
    assert messages["lines"] == "needs at least 1 item"
